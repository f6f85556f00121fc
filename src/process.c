#include "process.h"

struct np_process np_process = {
    .log = { NP_LOG_WARN, 2 },
};
