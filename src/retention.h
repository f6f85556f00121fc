/* NODEPROF_KEEP: keep the newest N files of each kind (extension) that
 * this process wrote, deleting older ones. Only files this process wrote
 * itself are ever deleted: they are remembered here, never found by
 * listing the directory. */
#ifndef NP_RETENTION_H
#define NP_RETENTION_H

/* Records path (of kind ext) and deletes the oldest files of that kind
 * beyond keep. Any thread. */
void np_retention_apply(const char *path, const char *ext, long keep);

#endif
