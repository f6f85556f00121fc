/* The main thread's JavaScript stack, as V8 sees it now: captured with
 * Error.captureStackTrace and a temporary Error.prepareStackTrace that
 * reads the call sites. Run through the rescue path, "now" is wherever the
 * app's code was interrupted. */
#ifndef NP_STACK_H
#define NP_STACK_H

#include <stdio.h>

#include "napi_weak.h"

/* Writes one frame per line: "function (file:line:column)". Returns the
 * number of app frames (0: the thread was idle in its event loop). */
int np_stack_write(napi_env env, FILE *out);

#endif
