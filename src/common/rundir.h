/* The per-user runtime directory, /tmp/nodeprof-<uid>: it holds the control
 * FIFOs and the reply FIFOs of `nodeprof ctl`, nothing that node loads.
 * Created 0700 and refused if it is a symlink, not a directory, or not
 * owned by us. */
#ifndef NP_RUNDIR_H
#define NP_RUNDIR_H

#include <stddef.h>
#include <sys/types.h>

/* "/tmp/nodeprof-<uid>", of our effective uid */
void np_rundir_path(char *out, size_t len);

/* The same directory of another user (root's `nodeprof list --all`). */
void np_rundir_path_of(uid_t uid, char *out, size_t len);

/* Creates (if needed) and checks the directory. 0, or -1 with err set. */
int np_rundir_ensure(const char *dir, char *err, size_t errlen);

#endif
