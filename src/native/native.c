#include "native/native.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dispatch.h"
#include "common/log.h"
#include "common/outfile.h"
#include "native/symbolize.h"
#include "native/threads.h"
#include "reply.h"
#include "output.h"
#include "process.h"
#include "wake.h"

static uv_timer_t fallback;
static bool fallback_ready;
static bool fallback_armed;
static int fallback_rounds;
static bool seen_native; /* the previous sample was outside V8's code */

static void send_text(struct np_request *req, char *text, size_t len)
{
    if (req->cmd.reply[0]) np_reply_send(req->cmd.reply, text, len);
    else free(text);
    free(req);
}

/* The block of one thread or all, after a status line: "ok", or the error
 * when the main thread's stack could not be had (the block says why). */
struct taken {
    enum np_capture_status status;
    struct np_native_stack stack;
    char why[256];
};

/* taken: the main thread's stack, already captured (NULL: take it now). */
static void answer(struct np_request *req, bool all, struct taken *taken, const char *ok_line, const char *error_line)
{
    char *block = NULL, *text = NULL;
    size_t blen = 0, len = 0;
    int rc = -1;
    FILE *b = open_memstream(&block, &blen);
    if (b) {
        if (all) { np_threads_write_all(b); rc = 0; }
        else if (taken) rc = np_threads_write_captured(getpid(), taken->status, &taken->stack, taken->why, b);
        else rc = np_threads_write_one(getpid(), NP_THREAD_WAIT_MS, b);
        fclose(b);
    }
    FILE *out = open_memstream(&text, &len);
    if (out) {
        fprintf(out, "%s\n%s", rc == 0 ? ok_line : error_line, block ? block : "");
        fclose(out);
    }
    free(block);
    send_text(req, text, len);
}

/* Whether the main thread is busy in JavaScript, for which the rescue
 * path's interrupt will be served: it runs (state R), and no addon's code
 * lies between it and the innermost JavaScript frame (V8's own C++, a GC,
 * libc's memcpy under them, are part of running JavaScript). A thread
 * that sleeps in the kernel, or runs an addon's code, is stuck outside. */
static bool running_javascript(const struct np_native_stack *st)
{
    struct np_symbolizer *sym = np_threads_symbolizer();
    char state = st->state ? st->state : np_threadstack_state(getpid());
    if (!sym || st->depth == 0 || state != 'R') return false;
    for (int i = 0; i < st->depth; i++) {
        enum np_code_kind kind = np_symbolize_kind(sym, st->ip[i] - (i > 0));
        if (kind == NP_CODE_JAVASCRIPT) return true;
        if (kind == NP_CODE_ADDON) return false;
    }
    return false;
}

static void answer_with_native(struct np_request *req, struct taken *taken)
{
    answer(req, false, taken,
           "ok\n(the main thread is not running JavaScript: stuck in native code or waiting; its native stack:)",
           "error: the main thread is not running JavaScript, and its native stack could not be had:");
}

static void on_fallback(uv_timer_t *timer)
{
    fallback_armed = false;
    if (!np_dispatch_waiting_verb(NP_CMD_STACK)) return; /* the main thread answered */
    static struct taken main_stack; /* agent thread only */
    main_stack.status = np_threadstack_capture(getpid(), NP_THREAD_WAIT_MS, &main_stack.stack, main_stack.why,
                                               sizeof main_stack.why);
    bool ok = main_stack.status == NP_CAPTURE_OK;
    bool js = ok && running_javascript(&main_stack.stack);
    /* Busy in JavaScript: the rescue path answers (the helper may still be
     * booting), for as long as NP_STACK_JS_WAIT_MS. Outside it: a second
     * look NP_STACK_CONFIRM_MS later, as a thread may be between two. */
    long js_wait = np_cfg()->helper ? NP_STACK_JS_WAIT_MS : NP_STACK_FALLBACK_MS * 25;
    if ((js && (long)fallback_rounds * NP_STACK_FALLBACK_MS < js_wait) || (ok && !js && !seen_native)) {
        seen_native = !js;
        fallback_rounds += js;
        fallback_armed = true;
        uv_timer_start(timer, on_fallback, js ? NP_STACK_FALLBACK_MS : NP_STACK_CONFIRM_MS, 0);
        return;
    }
    struct np_request *req;
    while ((req = np_dispatch_withdraw(NP_CMD_STACK))) answer_with_native(req, &main_stack);
}

static void arm_fallback(void)
{
    if (!fallback_ready) {
        if (uv_timer_init(np_agent_loop(), &fallback)) return;
        uv_unref((uv_handle_t *)&fallback);
        fallback_ready = true;
    }
    if (fallback_armed) return;
    fallback_armed = true;
    fallback_rounds = 0;
    seen_native = false;
    uv_timer_start(&fallback, on_fallback, NP_STACK_FALLBACK_MS, 0);
}

bool np_native_take(struct np_request *req)
{
    switch (req->cmd.verb) {
    case NP_CMD_STACK_NATIVE:
    case NP_CMD_STACK_ALL:
        if (req->cmd.verb == NP_CMD_STACK_ALL) answer(req, true, NULL, "ok", "error");
        else answer(req, false, NULL, "ok", "error: the main thread's native stack could not be had:");
        return true;
    case NP_CMD_STACK:
        arm_fallback();
        return false;
    default:
        return false;
    }
}

static int fill_stacks(FILE *out, void *ctx, char *err, size_t errlen)
{
    (void)ctx; (void)err; (void)errlen;
    np_threads_write_all(out);
    return 0;
}

void np_native_write_stacks_file(void)
{
    struct np_written w = { .count = 0 };
    struct np_target target;
    if (np_target_open(0, &target, &w)) return;
    char name[NAME_MAX + 1], path[PATH_MAX + NAME_MAX + 2], err[1200];
    if (snprintf(name, sizeof name, "%s.stacks.txt", target.name) >= (int)sizeof name) {
        np_written_fail(&w, "NODEPROF_NAME: the file name is too long");
    } else if (np_write_new_at(target.dirfd, np_output_dir(), name, sizeof name, np_output_mode(), fill_stacks,
                               NULL, err, sizeof err)) {
        np_written_fail(&w, err);
    } else {
        snprintf(path, sizeof path, "%s/%s", np_output_dir(), name);
        np_file_written(path, ".stacks.txt", &w);
    }
    np_target_close(&target);
}
