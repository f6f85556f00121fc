#include "native/altstack.h"

#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

#define ALTSTACK_SIZE (64 * 1024)

int np_altstack_ensure(void)
{
    stack_t old;
    if (sigaltstack(NULL, &old) != 0) return -1;
    if (!(old.ss_flags & SS_DISABLE)) return 0;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *mem = mmap(NULL, ALTSTACK_SIZE + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                     -1, 0);
    if (mem == MAP_FAILED) return -1;
    /* The guard page: an overflow of the signal stack itself faults there
     * instead of writing over whatever lies below. */
    mprotect(mem, page, PROT_NONE);
    stack_t ss = { .ss_sp = mem + page, .ss_size = ALTSTACK_SIZE, .ss_flags = 0 };
    if (sigaltstack(&ss, NULL) != 0) {
        munmap(mem, ALTSTACK_SIZE + page);
        return -1;
    }
    return 1;
}
