/* The per-user runtime directory, /tmp/nodeprof-<uid>: it holds the agent
 * loader (a one-line .js file that node's --require can load, since node
 * will not --require a file named *.so) and, later, the control FIFOs.
 * Created 0700 and refused if it is a symlink, not a directory, or not
 * owned by us. */
#ifndef NP_RUNDIR_H
#define NP_RUNDIR_H

#include <stddef.h>

/* "/tmp/nodeprof-<uid>" */
void np_rundir_path(char *out, size_t len);

/* Creates (if needed) and checks the directory. 0, or -1 with err set. */
int np_rundir_ensure(const char *dir, char *err, size_t errlen);

/* Makes sure <dir>/agent-<hash of lib_path>.js exists, is ours, and loads
 * lib_path with process.dlopen. Writes its path to out. */
int np_loader_ensure(const char *dir, const char *lib_path, char *out, size_t outlen,
                     char *err, size_t errlen);

#endif
