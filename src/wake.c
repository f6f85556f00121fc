#include "wake.h"

#include <pthread.h>
#include <stdatomic.h>

struct np_waker {
    napi_threadsafe_function fn;
    atomic_bool alive;              /* bound, and not finalized since */
    void (*run)(napi_env env);
};

static struct np_wake_state {
    /* Held while calling a thread-safe function and while its finalizer
     * marks it dead. */
    pthread_mutex_t lock;
    struct np_waker wakers[NP_NWAKERS];
    atomic_bool shutting_down;
    uv_loop_t loop;                 /* the agent thread's */
    uv_async_t agent_async;
    atomic_bool agent_ready;
    void (*on_agent_wake)(void);
} wake = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void call_run(napi_env env, napi_value js_cb, void *context, void *data)
{
    (void)js_cb; (void)data;
    struct np_waker *w = context;
    if (env) w->run(env); /* NULL: node is tearing the environment down */
}

static void mark_dead(napi_env env, void *data, void *hint)
{
    (void)env; (void)hint;
    struct np_waker *w = data;
    pthread_mutex_lock(&wake.lock);
    atomic_store(&w->alive, false);
    pthread_mutex_unlock(&wake.lock);
}

int np_wake_bind(enum np_waker_id id, napi_env env, void (*run)(napi_env env), bool keep_alive)
{
    static const char *const names[NP_NWAKERS] = { "nodeprof", "nodeprof-helper" };
    struct np_waker *w = &wake.wakers[id];
    napi_value name;
    w->run = run;
    if (napi_create_string_utf8(env, names[id], NAPI_AUTO_LENGTH, &name) != napi_ok ||
        napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, w, mark_dead, w, call_run, &w->fn) != napi_ok)
        return -1;
    if (!keep_alive) napi_unref_threadsafe_function(env, w->fn);
    atomic_store(&w->alive, true);
    return 0;
}

bool np_wake(enum np_waker_id id)
{
    struct np_waker *w = &wake.wakers[id];
    bool sent = false;
    pthread_mutex_lock(&wake.lock);
    if (atomic_load(&w->alive) && !atomic_load(&wake.shutting_down))
        sent = napi_call_threadsafe_function(w->fn, NULL, napi_tsfn_nonblocking) == napi_ok;
    pthread_mutex_unlock(&wake.lock);
    return sent;
}

bool np_wake_bound(enum np_waker_id id) { return atomic_load(&wake.wakers[id].alive); }

void np_wake_forget(enum np_waker_id id) { mark_dead(NULL, &wake.wakers[id], NULL); }

static void on_agent_async(uv_async_t *handle)
{
    (void)handle;
    wake.on_agent_wake();
}

int np_agent_loop_init(void (*on_wake)(void))
{
    wake.on_agent_wake = on_wake;
    if (uv_loop_init(&wake.loop) || uv_async_init(&wake.loop, &wake.agent_async, on_agent_async)) return -1;
    atomic_store(&wake.agent_ready, true);
    return 0;
}

uv_loop_t *np_agent_loop(void) { return &wake.loop; }

void np_wake_agent(void)
{
    if (atomic_load(&wake.agent_ready)) uv_async_send(&wake.agent_async);
}

bool np_shutting_down(void) { return atomic_load(&wake.shutting_down); }
void np_begin_shutdown(void) { atomic_store(&wake.shutting_down, true); }
