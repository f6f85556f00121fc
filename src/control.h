/* The control FIFO (issue 3): commands from `nodeprof ctl` and scripts. */
#ifndef NODEPROF_CONTROL_H
#define NODEPROF_CONTROL_H

/* Creates the FIFO and starts reading it on the agent thread. */
void np_control_open(void);
/* Removes the FIFO (at exit, any path). */
void np_control_close(void);
/* On the main thread: runs the commands waiting for it. */
void np_control_run_pending(void);

#endif
