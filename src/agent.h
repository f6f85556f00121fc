/* The agent's entry points: node calls napi_register_module_v1 when the
 * loader (common/loader.h) runs process.dlopen on this object, once per
 * JavaScript thread, before any user code of that thread. On the main
 * thread it reads the configuration, starts the helper worker, the
 * profilers and the agent thread; on a worker thread (NODEPROF_WORKERS=on)
 * the profilers of that thread. The README's module map shows the layers
 * below. */
#ifndef NP_AGENT_H
#define NP_AGENT_H

#include <stdint.h>

#include "napi_weak.h"

napi_value napi_register_module_v1(napi_env env, napi_value exports);
int32_t node_api_module_get_api_version_v1(void);

#endif
