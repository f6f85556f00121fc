#include "export.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/outfile.h"
#include "common/s3.h"
#include "common/spool.h"
#include "process.h"

extern char **environ;

#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 30000
#define ABORT_WAIT_MS 2000
#define GROWING_MAX 4

struct job {
    struct np_spool_entry e;
    struct job *next;
};

/* enabled, s3 and the meta template are set on the main thread before the
 * uploader exists; the rest is under lock. */
static struct np_export {
    bool enabled;
    char dir[4096];                /* NODEPROF_DIR, absolute */
    struct np_s3 s3;
    struct np_s3_meta base;        /* host, pid, node version, keep_local */
    pthread_mutex_t lock;
    pthread_cond_t work;           /* uploader: a job, or stop */
    pthread_cond_t idle;           /* drain: a job done, or the uploader stopped */
    struct job *head, *tail;
    struct job *current;           /* the uploader's job: never dropped under it */
    long queued;
    bool in_curl;                  /* the uploader is inside libcurl */
    bool stopped;                  /* the uploader is gone (or never could upload) */
    atomic_bool abort;
    /* This process's files that still grow (np_export_file_growing): their
     * markers are not leftovers of an earlier process of the same pid (a
     * container's PID 1 has the same one every time). */
    char growing[GROWING_MAX][NAME_MAX + 1];
} ex = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void iso_time(double ms, char *out, size_t len)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char day[24];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, len, "%s.%03dZ", day, (int)((long long)ms % 1000));
}

static int open_dir(void)
{
    char why[600];
    int fd = np_dir_open_trusted(ex.dir, true, 0700, why, sizeof why);
    if (fd < 0) np_warn("NODEPROF_EXPORT: NODEPROF_DIR=%s: %s", ex.dir, why);
    return fd;
}

/* ---- the queue (lock held) ------------------------------------------------ */

/* Under ex.lock. */
static bool growing(const char *name)
{
    for (int i = 0; i < GROWING_MAX; i++)
        if (!strcmp(ex.growing[i], name)) return true;
    return false;
}

/* Under ex.lock: name grows from now on, or (done) no longer. */
static void set_growing(const char *name, bool done)
{
    for (int i = 0; i < GROWING_MAX; i++) {
        if (done ? !strcmp(ex.growing[i], name) : !ex.growing[i][0]) {
            snprintf(ex.growing[i], sizeof ex.growing[i], "%s", done ? "" : name);
            return;
        }
    }
}

static bool queued_already(const char *name)
{
    for (struct job *j = ex.head; j; j = j->next)
        if (!strcmp(j->e.name, name)) return true;
    return false;
}

static void push(struct job *j, bool front)
{
    if (front) {
        j->next = ex.head;
        ex.head = j;
        if (!ex.tail) ex.tail = j;
    } else {
        j->next = NULL;
        if (ex.tail) ex.tail->next = j;
        else ex.head = j;
        ex.tail = j;
    }
    ex.queued++;
}

static void unlink_job(struct job *j)
{
    struct job **p = &ex.head, *prev = NULL;
    while (*p && *p != j) { prev = *p; p = &(*p)->next; }
    if (!*p) return;
    *p = j->next;
    if (ex.tail == j) ex.tail = prev;
    ex.queued--;
}

/* Past NODEPROF_EXPORT_SPOOL_MAX: the oldest waiting file goes (not the
 * one the uploader holds, which is the head). */
static void bound_spool(int dirfd)
{
    while (ex.queued > np_cfg()->export_spool_max) {
        struct job *victim = ex.head && ex.head == ex.current ? ex.head->next : ex.head;
        if (!victim) return;
        unlink_job(victim);
        bool keep = victim->e.meta.keep_local;
        np_spool_done(dirfd, victim->e.name, !keep);
        np_warn("NODEPROF_EXPORT_SPOOL_MAX=%ld reached: %s dropped without upload%s",
                np_cfg()->export_spool_max, victim->e.name, keep ? " (kept on disk)" : " and deleted");
        free(victim);
    }
}

/* ---- any thread: a new file ------------------------------------------------- */

static void mark(const char *path, const char *kind_ext, double start_ms, double end_ms, bool queue)
{
    if (!ex.enabled) return;
    struct job *j = calloc(1, sizeof *j);
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (!j || snprintf(j->e.name, sizeof j->e.name, "%s", name) >= (int)sizeof j->e.name) {
        np_warn("NODEPROF_EXPORT: cannot queue %s", path);
        free(j);
        return;
    }
    j->e.meta = ex.base;
    snprintf(j->e.meta.kind, sizeof j->e.meta.kind, "%s", kind_ext[0] == '.' ? kind_ext + 1 : kind_ext);
    iso_time(start_ms > 0 ? start_ms : end_ms, j->e.meta.start, sizeof j->e.meta.start);
    iso_time(end_ms, j->e.meta.end, sizeof j->e.meta.end);
    char err[900];
    int dirfd = open_dir();
    if (dirfd < 0 || np_spool_mark(dirfd, ex.dir, j->e.name, &j->e.meta, err, sizeof err)) {
        if (dirfd >= 0) np_warn("NODEPROF_EXPORT: %s; %s is not uploaded", err, name);
        if (dirfd >= 0) close(dirfd);
        free(j);
        return;
    }
    pthread_mutex_lock(&ex.lock);
    set_growing(j->e.name, queue);
    if (ex.stopped || !queue) {
        free(j); /* the marker stays, for `nodeprof upload` */
    } else {
        push(j, false);
        bound_spool(dirfd);
        pthread_cond_signal(&ex.work);
    }
    pthread_mutex_unlock(&ex.lock);
    close(dirfd);
}

void np_export_file_written(const char *path, const char *kind_ext, double start_ms, double end_ms)
{
    mark(path, kind_ext, start_ms, end_ms, true);
}

void np_export_file_growing(const char *path, const char *kind_ext, double start_ms)
{
    mark(path, kind_ext, start_ms, np_wall_ms(), false);
}

/* ---- the uploader thread ---------------------------------------------------- */

/* Markers left by earlier processes, queued before this process's own
 * files (they are older). Those of a live process on this host are its
 * own business. */
static void take_leftovers(int dirfd)
{
    struct np_spool_entry *v;
    long n = np_spool_list(dirfd, &v);
    pthread_mutex_lock(&ex.lock);
    for (long i = n - 1; i >= 0; i--) {
        const struct np_s3_meta *m = &v[i].meta;
        bool live = m->pid != getpid() && m->pid > 0 && !strcmp(m->host, ex.base.host) &&
                    (kill((pid_t)m->pid, 0) == 0 || errno == EPERM);
        if (live || queued_already(v[i].name) || growing(v[i].name)) continue;
        struct job *j = calloc(1, sizeof *j);
        if (!j) break;
        j->e = v[i];
        push(j, true);
    }
    if (n > 0) np_info("NODEPROF_EXPORT: %ld file(s) left by earlier processes found in %s", n, ex.dir);
    bound_spool(dirfd);
    pthread_mutex_unlock(&ex.lock);
    free(v);
}

static bool retried(int status)
{
    return status == -1 || status >= 500 || status == 408 || status == 429;
}

/* Sleeps ms unless asked to stop. Returns false when stopping. */
static bool backoff(long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
    pthread_mutex_lock(&ex.lock);
    while (!atomic_load(&ex.abort) && pthread_cond_timedwait(&ex.work, &ex.lock, &until) != ETIMEDOUT) {}
    pthread_mutex_unlock(&ex.lock);
    return !atomic_load(&ex.abort);
}

static void set_in_curl(bool in)
{
    pthread_mutex_lock(&ex.lock);
    ex.in_curl = in;
    pthread_cond_broadcast(&ex.idle);
    pthread_mutex_unlock(&ex.lock);
}

/* Returns true when the job is finished with (uploaded, gone, or given
 * up by this process), false when stopping. */
static bool upload(int dirfd, struct job *j)
{
    char why[600];
    for (long wait_ms = BACKOFF_FIRST_MS;; wait_ms = wait_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : wait_ms * 2) {
        set_in_curl(true);
        int status = np_s3_put(&ex.s3, dirfd, j->e.name, &j->e.meta, &ex.abort, why, sizeof why);
        set_in_curl(false);
        if (status == 200) {
            if (np_spool_done(dirfd, j->e.name, !j->e.meta.keep_local))
                np_warn("NODEPROF_EXPORT: %s uploaded, but: %s", j->e.name, strerror(errno));
            np_info("uploaded %s to s3://%s/%s%s", j->e.name, ex.s3.bucket, ex.s3.prefix, j->e.name);
            return true;
        }
        if (atomic_load(&ex.abort)) return false;
        if (faccessat(dirfd, j->e.name, F_OK, AT_SYMLINK_NOFOLLOW) && errno == ENOENT) {
            np_spool_done(dirfd, j->e.name, 0);
            np_warn("NODEPROF_EXPORT: %s was deleted before it was uploaded", j->e.name);
            return true;
        }
        if (!retried(status)) {
            np_warn("NODEPROF_EXPORT: upload of %s refused: %s; left on disk for `nodeprof upload`", j->e.name, why);
            return true;
        }
        np_warn("NODEPROF_EXPORT: upload of %s failed: %s; retrying in %ld s", j->e.name, why, wait_ms / 1000);
        if (!backoff(wait_ms)) return false;
    }
}

/* The uploader is gone: drain and file_written stop waiting for it. */
static void stop(const char *why)
{
    if (why) np_warn("NODEPROF_EXPORT: %s; files are left in %s for `nodeprof upload`", why, ex.dir);
    pthread_mutex_lock(&ex.lock);
    ex.stopped = true;
    ex.in_curl = false;
    pthread_cond_broadcast(&ex.idle);
    pthread_mutex_unlock(&ex.lock);
}

static void *uploader_main(void *arg)
{
    void (*on_thread_start)(void) = (void (*)(void))(uintptr_t)arg;
    char why[400];
    if (on_thread_start) on_thread_start();
    int dirfd = open_dir();
    if (dirfd < 0) { stop(NULL); return NULL; }
    set_in_curl(true);
    int loaded = np_s3_load(why, sizeof why);
    set_in_curl(false);
    if (loaded) { stop(why); close(dirfd); return NULL; }
    take_leftovers(dirfd);
    for (;;) {
        pthread_mutex_lock(&ex.lock);
        while (!ex.head && !atomic_load(&ex.abort)) pthread_cond_wait(&ex.work, &ex.lock);
        struct job *j = atomic_load(&ex.abort) ? NULL : ex.head;
        ex.current = j;
        pthread_mutex_unlock(&ex.lock);
        if (!j || !upload(dirfd, j)) break;
        pthread_mutex_lock(&ex.lock);
        unlink_job(j);
        ex.current = NULL;
        pthread_cond_broadcast(&ex.idle);
        pthread_mutex_unlock(&ex.lock);
        free(j);
    }
    stop(NULL);
    close(dirfd);
    return NULL;
}

/* ---- main thread -------------------------------------------------------------- */

static void node_version(napi_env env, char *out, size_t len)
{
    const napi_node_version *v = NULL;
    if (napi_get_node_version(env, &v) == napi_ok && v)
        snprintf(out, len, "v%u.%u.%u", v->major, v->minor, v->patch);
}

void np_export_start(napi_env env, const char *dir, void (*on_thread_start)(void))
{
    const struct np_config *cfg = np_cfg();
    if (!cfg->export_url[0]) return;
    char why[600];
    if (np_s3_init(&ex.s3, cfg, environ, why, sizeof why)) {
        np_warn("%s; nothing is exported", why);
        return;
    }
    snprintf(ex.dir, sizeof ex.dir, "%s", dir);
    if (!ex.s3.has_credentials)
        np_warn("NODEPROF_EXPORT: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set; files are left in %s for `nodeprof upload`",
                ex.dir);
    if (gethostname(ex.base.host, sizeof ex.base.host)) strcpy(ex.base.host, "localhost");
    ex.base.host[sizeof ex.base.host - 1] = '\0';
    ex.base.pid = (long)getpid();
    ex.base.keep_local = cfg->export_keep_local;
    node_version(env, ex.base.node_version, sizeof ex.base.node_version);
    /* NODEPROF_LABELS, checked printable ASCII (common/labels.h): markers
     * keep it and s3.c sends it as x-amz-meta-labels. */
    snprintf(ex.base.labels, sizeof ex.base.labels, "%s", cfg->labels);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&ex.work, &ca);
    pthread_cond_init(&ex.idle, &ca);
    ex.enabled = true;
    if (!ex.s3.has_credentials) { ex.stopped = true; return; }
    /* No signal is ever delivered to the uploader. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t thread;
    int rc = pthread_create(&thread, NULL, uploader_main, (void *)(uintptr_t)on_thread_start);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        np_warn("NODEPROF_EXPORT: cannot start the uploader thread: %s", strerror(rc));
        ex.stopped = true;
        return;
    }
    pthread_setname_np(thread, "nodeprof-s3");
    pthread_detach(thread);
}

static void deadline_in(struct timespec *t, long ms)
{
    clock_gettime(CLOCK_REALTIME, t);
    t->tv_sec += ms / 1000;
    t->tv_nsec += (ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) { t->tv_sec++; t->tv_nsec -= 1000000000L; }
}

void np_export_drain(void)
{
    if (!ex.enabled) return;
    struct timespec until;
    deadline_in(&until, np_cfg()->export_exit_wait_ms);
    pthread_mutex_lock(&ex.lock);
    while (ex.queued > 0 && !ex.stopped && pthread_cond_timedwait(&ex.idle, &ex.lock, &until) != ETIMEDOUT) {}
    long left = ex.queued;
    atomic_store(&ex.abort, true);
    pthread_cond_broadcast(&ex.work);
    /* exit() runs libcurl's and OpenSSL's exit handlers: the uploader must
     * be out of libcurl by then. The progress callback sees abort at
     * least once a second. */
    deadline_in(&until, ABORT_WAIT_MS);
    while (ex.in_curl && pthread_cond_timedwait(&ex.idle, &ex.lock, &until) != ETIMEDOUT) {}
    pthread_mutex_unlock(&ex.lock);
    if (left > 0)
        np_warn("NODEPROF_EXPORT: %ld file(s) not uploaded within NODEPROF_EXPORT_EXIT_WAIT; left in %s for `nodeprof upload`",
                left, ex.dir);
}
