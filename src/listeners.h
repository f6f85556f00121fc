/* Our 'exit' listener on the main thread's `process`, kept there.
 *
 * The profile at exit comes from an 'exit' listener. An app may remove it:
 * process.removeAllListeners('exit') (seen in apps that reset their own
 * shutdown), or removeAllListeners() with no name. Then no profile was
 * written at exit and the FIFO stayed behind. So its removal (signals.c
 * watches removals) puts it back at once, in front (prependListener: ours
 * runs before the app's, whose 'exit' listener may call process.exit(),
 * which ends the emit); and again on the next tick, for
 * removeAllListeners() with no name replaces the whole table after its
 * removals (an app that exits in the same tick gets no profile). Main
 * thread only. signals.c's own watchers are not kept: see there. */
#ifndef NP_LISTENERS_H
#define NP_LISTENERS_H

#include "napi_weak.h"

/* Prepends fn as a listener of event on process, to be kept there. At most
 * NP_KEPT_MAX listeners. Returns 0 or -1. */
#define NP_KEPT_MAX 4
int np_listeners_keep(napi_env env, const char *event, napi_value fn);

/* Puts back any kept listener that is gone, now and on the next tick;
 * called by the 'removeListener' watcher (signals.c) when an 'exit'
 * listener is removed. */
void np_listeners_restore(napi_env env);

#endif
