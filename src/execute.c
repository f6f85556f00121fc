#include "execute.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "cpu.h"
#include "fifo.h"
#include "heap.h"
#include "js.h"
#include "memory.h"
#include "output.h"
#include "process.h"
#include "rescue.h"
#include "snapshot.h"
#include "stack.h"
#include "thread.h"
#include "trace.h"

static unsigned long commands_run; /* main thread */

/* One command's outcome: error text, or the files written. */
static void finish(struct np_request *req, FILE *out, const struct np_written *w, const char *error)
{
    if (!error && w->count == 0 && w->error[0]) error = w->error;
    if (error) {
        req->failed = true;
        fprintf(out, "error: %s\n", error);
        return;
    }
    fprintf(out, "ok\n");
    if (w->count) fprintf(out, "%s\n", w->paths);
}

static void do_cpu(struct np_thread *t, struct np_request *req, FILE *out)
{
    struct np_written w = { .count = 0 };
    const char *error = NULL;
    switch (req->cmd.verb) {
    case NP_CMD_CPU_START:
        if (t->cpu_running) error = "the CPU profiler is already running";
        else if (np_cpu_start(t, req->cmd.interval ? req->cmd.interval : np_cfg()->cpu_interval_us))
            error = "cannot start the CPU profiler";
        break;
    case NP_CMD_CPU_STOP:
        if (!t->cpu_running) error = "the CPU profiler is not running";
        else np_cpu_stop_and_write(t, &w);
        break;
    case NP_CMD_CPU_TOGGLE:
        if (t->cpu_running) np_cpu_stop_and_write(t, &w);
        else if (np_cpu_start(t, np_cfg()->cpu_interval_us)) error = "cannot start the CPU profiler";
        break;
    default: /* dump */
        if (!t->cpu_running) error = "the CPU profiler is not running (cpu start)";
        else np_cpu_dump(t, &w);
        break;
    }
    finish(req, out, &w, error);
}

static void do_heap(struct np_thread *t, struct np_request *req, FILE *out)
{
    struct np_written w = { .count = 0 };
    const char *error = NULL;
    switch (req->cmd.verb) {
    case NP_CMD_HEAP_SNAPSHOT:
        np_snapshot_write(t, req->cmd.force, &w);
        break;
    case NP_CMD_HEAP_START:
        if (t->heap_running) error = "the sampling heap profiler is already running";
        else if (np_heap_start(t, req->cmd.interval ? req->cmd.interval : np_cfg()->heap_interval))
            error = "cannot start the sampling heap profiler";
        break;
    case NP_CMD_HEAP_STOP:
    case NP_CMD_HEAP_DUMP:
        if (!t->heap_running) error = "the sampling heap profiler is not running (heap start)";
        else np_heap_write(t, req->cmd.verb == NP_CMD_HEAP_DUMP, &w);
        break;
    default:
        break;
    }
    finish(req, out, &w, error);
}

static void do_trace(struct np_thread *t, struct np_request *req, FILE *out)
{
    struct np_written w = { .count = 0 };
    if (req->cmd.verb == NP_CMD_TRACE_START) {
        if (np_trace_start(t, req->cmd.categories, &w) == 0)
            fprintf(out, "ok\nrecording %s\n", t->trace_categories);
        else finish(req, out, &w, w.error);
        return;
    }
    np_trace_stop(t, &w);
    finish(req, out, &w, NULL);
}

static void do_stack(struct np_thread *t, struct np_request *req, FILE *out)
{
    (void)req;
    char *text = NULL;
    size_t len = 0;
    FILE *frames = open_memstream(&text, &len);
    int n = frames ? np_stack_write(t->env, frames) : 0;
    if (frames) fclose(frames);
    fprintf(out, "ok\n");
    if (n == 0) fprintf(out, "(idle: the main thread is waiting in its event loop)\n");
    else fputs(text, out);
    free(text);
}

static void print_since(FILE *out, const char *what, bool running, double since_ms)
{
    if (!running) { fprintf(out, "%s: off\n", what); return; }
    char when[64];
    time_t secs = (time_t)(since_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(out, "%s: running since %s\n", what, when);
}

static void do_status(struct np_thread *t, FILE *out)
{
    size_t len;
    napi_value version = js_get(t->env, js_get(t->env, js_global(t->env), "process"), "version");
    char *v = js_to_utf8(t->env, version, &len);
    fprintf(out, "ok\npid: %ld\nnode: %s\n", (long)getpid(), v ? v : "?");
    free(v);
    print_since(out, "cpu", t->cpu_running, t->cpu_started_ms);
    print_since(out, "heap sampling", t->heap_running, t->heap_started_ms);
    print_since(out, "trace", np_trace_running(t), t->trace_started_ms);
    fprintf(out, "files written: %lu\n", np_output_files_written());
    fprintf(out, "commands run: %lu\n", commands_run);
    fprintf(out, "fifo: %s\n", np_fifo_path()[0] ? np_fifo_path() : "off");
    fprintf(out, "helper thread: %s\n", np_rescue_ready() ? "ready" : "off");
    fprintf(out, "directory: %s\n", np_output_dir());
    np_config_print(np_cfg(), out);
}

void np_execute(struct np_request *req)
{
    struct np_thread *t = np_main_thread();
    if (req->run && t && !t->finished) { /* http.h */
        req->run(req);
        commands_run++;
        return;
    }
    FILE *out = open_memstream(&req->reply, &req->reply_len);
    if (!out) return;
    if (!t || t->finished) {
        req->failed = true;
        fprintf(out, "error: the process is exiting\n");
    } else {
        switch (req->cmd.verb) {
        case NP_CMD_CPU_START: case NP_CMD_CPU_STOP: case NP_CMD_CPU_DUMP: case NP_CMD_CPU_TOGGLE:
            do_cpu(t, req, out); break;
        case NP_CMD_HEAP_SNAPSHOT: case NP_CMD_HEAP_START: case NP_CMD_HEAP_STOP: case NP_CMD_HEAP_DUMP:
            do_heap(t, req, out); break;
        case NP_CMD_TRACE_START: case NP_CMD_TRACE_STOP: do_trace(t, req, out); break;
        case NP_CMD_STACK: do_stack(t, req, out); break;
        case NP_CMD_STACK_NATIVE: case NP_CMD_STACK_ALL: break; /* answered by the agent thread (native.h) */
        case NP_CMD_STATUS: do_status(t, out); break;
        case NP_CMD_HELP: fprintf(out, "ok\n%s", np_command_help); break;
        case NP_CMD_MEMORY: req->failed = np_memory_reply(t, out) != 0; break;
        }
    }
    fclose(out);
    commands_run++;
    np_debug("%s command %d: %s", req->cmd.origin, (int)req->cmd.verb, req->failed ? "failed" : "done");
}
