/* Trace events through the inspector's NodeTracing domain, written as
 * Chrome trace JSON ({"traceEvents": [...]}) that Perfetto and
 * chrome://tracing open. Events are streamed to the file as the inspector
 * delivers them; `trace stop` (or exit) completes and renames it. */
#ifndef NP_TRACE_H
#define NP_TRACE_H

#include "thread.h"
#include "writer.h"

#define NP_TRACE_DEFAULT_CATEGORIES "v8,node,node.async_hooks"

int np_trace_start(struct np_thread *t, const char *categories, struct np_written *w);
int np_trace_stop(struct np_thread *t, struct np_written *w);
bool np_trace_running(const struct np_thread *t);

#endif
