#include "control.h"

void np_control_open(void) {}
void np_control_close(void) {}
void np_control_run_pending(void) {}
