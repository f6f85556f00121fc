/* NODEPROF_EXPORT: every file written is uploaded to S3-compatible storage.
 *
 * Uploads run on a dedicated uploader thread with blocking libcurl easy
 * calls (common/s3.h), one file at a time, with timeouts. Not on the app's
 * thread, and not on the agent thread either: a slow or silent server
 * then cannot delay a signal, a FIFO command or a period's dump, and the
 * code stays a loop that reads in order (curl's multi interface on the
 * agent's uv loop would need uv_poll/uv_timer glue for no gain: one
 * upload at a time is enough for a few files a minute).
 *
 * Nothing lost: a file is written locally first, as always; then its
 * spool marker (common/spool.h), then it is queued. Failures are retried
 * with exponential backoff (1 s doubling to 30 s) while the process runs:
 * no answer, 5xx, 408 and 429. Another 4xx (403: bad credentials) is not
 * retried by this process; the file stays with its marker for `nodeprof
 * upload`. The local copy is deleted only after a 200, and only with
 * NODEPROF_EXPORT_KEEP_LOCAL=off. At most NODEPROF_EXPORT_SPOOL_MAX files
 * wait; the oldest goes first, with a line. At start-up the uploader also
 * takes the markers that earlier processes left in NODEPROF_DIR. */
#ifndef NP_EXPORT_H
#define NP_EXPORT_H

#include "napi_weak.h"

/* Main thread, once, when the process is profiled: starts the uploader
 * thread if NODEPROF_EXPORT is set (nothing at all otherwise). dir:
 * NODEPROF_DIR made absolute (output.h). The thread runs on_thread_start
 * first, if given: the crash reporter's set-up for nodeprof's own threads
 * (native/crash.h, a later layer), so that a fault in the uploader (in
 * libcurl, say) is reported rather than forced to its default action by
 * the blocked signal mask. */
void np_export_start(napi_env env, const char *dir, void (*on_thread_start)(void));

/* Any thread, after a file is in place in NODEPROF_DIR: writes its marker
 * and queues it. start_ms/end_ms: wall-clock span of its data (start 0:
 * unknown, taken as end). */
void np_export_file_written(const char *path, const char *kind_ext, double start_ms, double end_ms);

/* Any thread, for a file that grows in place (the memory timeline): its
 * marker now, so that `nodeprof upload` or a later process's uploader
 * takes it if this process is killed (an OOM kill is when it matters), but
 * no upload of a file that is not complete: np_export_file_written queues
 * it once it is (rotated, or at exit). */
void np_export_file_growing(const char *path, const char *kind_ext, double start_ms);

/* Main thread, once its final profiles are written (exit, or a signal it
 * dies of): waits at most NODEPROF_EXPORT_EXIT_WAIT for the queue, then
 * stops the uploader (an upload in flight is aborted within about a
 * second, before libcurl's and OpenSSL's exit handlers run) and leaves
 * the rest on disk, with one line. */
void np_export_drain(void);

#endif
