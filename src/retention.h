/* NODEPROF_KEEP: keep the newest N files of each kind (extension) that
 * this process wrote, deleting older ones. Only files this process wrote
 * itself are ever deleted: they are remembered here, never found by
 * listing the directory. */
#ifndef NP_RETENTION_H
#define NP_RETENTION_H

#include <pthread.h>

struct np_retained {
    char *path;
    const char *ext;  /* static string from np_format_extension */
    struct np_retained *next;
};

struct np_retention {
    pthread_mutex_t lock;
    struct np_retained *head; /* oldest first */
};

/* Records path (of kind ext) and deletes the oldest files of that kind
 * beyond keep. Uses the retention list in np_agent. */
void np_retention_apply(const char *path, const char *ext, long keep);

#endif
