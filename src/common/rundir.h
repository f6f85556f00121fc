/* The per-user runtime directory, /tmp/nodeprof-<uid>: it holds the control
 * FIFOs and the reply FIFOs of `nodeprof ctl`, nothing that node loads.
 * Created 0700 and refused if it is a symlink, not a directory, or not
 * owned by us. */
#ifndef NP_RUNDIR_H
#define NP_RUNDIR_H

#include <stddef.h>

/* "/tmp/nodeprof-<uid>" */
void np_rundir_path(char *out, size_t len);

/* Creates (if needed) and checks the directory. 0, or -1 with err set. */
int np_rundir_ensure(const char *dir, char *err, size_t errlen);

#endif
