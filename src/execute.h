/* Runs one control request on the main thread and writes its reply:
 * "ok" or "error: <why>" on the first line, then the paths written or the
 * text asked for. */
#ifndef NP_EXECUTE_H
#define NP_EXECUTE_H

#include "request.h"

void np_execute(struct np_request *req);

#endif
