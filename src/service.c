#include "service.h"

#include "dispatch.h"
#include "escalate.h"
#include "signals.h"
#include "thread.h"
#include "wake.h"

void np_service_run(napi_env env)
{
    (void)env;
    struct np_thread *t = np_main_thread();
    /* After the exit listener, node is tearing the environment down. */
    if (np_shutting_down() || !t || t->finished) return;
    np_escalate_serving(true);
    np_signals_handle();
    np_dispatch_run_pending();
    np_escalate_serving(false);
}

bool np_service_waiting(void)
{
    return np_signals_waiting() || np_dispatch_waiting();
}
