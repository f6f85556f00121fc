/* Where and how files are written: NODEPROF_DIR (absolute, fixed at
 * start-up), the mode of every file (NODEPROF_FILE_MODE), the host and the
 * sequence number of NODEPROF_NAME, and what happens after each file
 * (NODEPROF_MANIFEST, NODEPROF_KEEP). Engines open a target, create their
 * files relative to its directory fd, and report each finished file here.
 * Errors are logged as one line each; the app is never told. */
#ifndef NP_OUTPUT_H
#define NP_OUTPUT_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/config.h"
#include "common/namepat.h"
#include "napi_weak.h"

/* What a write produced, for replies to control commands. */
struct np_written {
    char paths[4096]; /* newline-separated */
    int count;
    char error[1024]; /* first error, if any */
};

/* Where one write goes: NODEPROF_DIR, created if missing and opened once
 * (np_dir_open_trusted: refused when another user could swap it), and the
 * next expanded NODEPROF_NAME. Every file of the write is created and
 * renamed relative to dirfd. */
struct np_target {
    int dirfd;
    char base[PATH_MAX];  /* directory + name, no extension */
    const char *name;     /* the name alone, in base */
};

/* Main thread, once, from the configuration (a relative NODEPROF_DIR is
 * taken against the working directory of this moment). */
void np_output_init(const struct np_config *cfg);

/* Main thread, once, before any file: NODEPROF_NAME's %s and %c from
 * process.argv (common/procname.h). Until then they are "node". */
void np_output_name_process(napi_env env);

/* The parts of a name that are the same for every file of the process:
 * host, script, command (precomputed: the crash handler uses them). */
void np_output_name_vars(struct np_name_vars *v);

const char *np_output_dir(void);
const char *np_output_host(void);
mode_t np_output_mode(void);
unsigned long np_output_files_written(void);

/* Returns 0, or -1 with the error (naming NODEPROF_DIR and its value)
 * logged and stored in w. Close with np_target_close. */
int np_target_open(int thread_id, struct np_target *t, struct np_written *w);
void np_target_close(struct np_target *t);

/* Logs msg as one line and keeps it as w's error (the first one wins).
 * Returns -1, for `return np_written_fail(w, msg);`. */
int np_written_fail(struct np_written *w, const char *msg);

/* Records a finished file: manifest, retention, export, and w. */
void np_file_written(const char *path, const char *kind_ext, struct np_written *w);
/* The same for a file that is created now and grows in place (the memory
 * timeline): it is announced now (log, manifest, retention), and exported
 * only when complete (export.h, np_export_file_growing). */
void np_file_created(const char *path, const char *kind_ext, struct np_written *w);

/* This thread's next files hold data from wall_ms (np_wall_ms) on, up to
 * the moment each is written: the export's start metadata. Engines call it
 * before a write; np_target_close forgets it (a heap snapshot is an
 * instant: start = end). */
void np_output_span_start(double wall_ms);
double np_output_span_start_ms(void); /* 0: not set */

#endif
