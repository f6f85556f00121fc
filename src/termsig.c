#include "termsig.h"

#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

static struct np_termsig {
    atomic_int first; /* the first signal noted, or 0 */
} termsig;

void np_termsig_note(int sig)
{
    int none = 0;
    atomic_compare_exchange_strong(&termsig.first, &none, sig);
}

int np_termsig_arrived(void) { return atomic_load(&termsig.first); }

void np_die_by_signal(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    /* Only if the signal is somehow survived (it cannot be with SIG_DFL
     * for these signals): end as a shell would report it. */
    _exit(128 + sig);
}
