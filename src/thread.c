#include "thread.h"

#include <stddef.h>

/* Set and cleared on the main thread; read there too (requests run on it). */
static struct np_thread *main_thread;

struct np_thread *np_main_thread(void) { return main_thread; }
void np_set_main_thread(struct np_thread *t) { main_thread = t; }
