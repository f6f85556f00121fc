#include "escalate.h"

#include <stdatomic.h>

#include "rescue.h"
#include "wake.h"

static struct np_escalation {
    uv_timer_t timer;            /* agent thread */
    bool (*work_waiting)(void);
    atomic_bool serving;         /* a pass is under way */
    atomic_bool wanted;          /* arm the timer (agent thread) */
    atomic_bool wanted_now;      /* ... with no delay */
} esc;

bool np_escalate(bool now)
{
    /* Armed even if the wake fails: the rescue path may still serve. */
    np_wake(NP_WAKE_MAIN);
    if (np_shutting_down()) return false;
    if (now) atomic_store(&esc.wanted_now, true);
    atomic_store(&esc.wanted, true);
    np_wake_agent();
    return true;
}

static void on_timer(uv_timer_t *timer)
{
    if (atomic_load(&esc.serving)) {
        uv_timer_start(timer, on_timer, NP_ESCALATE_MS, 0);
        return;
    }
    if (esc.work_waiting()) np_rescue_request();
}

void np_escalate_on_agent_wake(void)
{
    bool now = atomic_exchange(&esc.wanted_now, false);
    if (!atomic_exchange(&esc.wanted, false)) return;
    /* A later request does not put off an earlier one's deadline. */
    if (now || !uv_is_active((uv_handle_t *)&esc.timer))
        uv_timer_start(&esc.timer, on_timer, now ? 0 : NP_ESCALATE_MS, 0);
}

int np_escalate_init(bool (*work_waiting)(void))
{
    esc.work_waiting = work_waiting;
    return uv_timer_init(np_agent_loop(), &esc.timer);
}

void np_escalate_serving(bool serving)
{
    atomic_store(&esc.serving, serving);
}
