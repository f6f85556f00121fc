/* Clocks, in milliseconds as doubles (the inspector's own unit for
 * timestamps is microseconds; ours are for file names, status and logs). */
#ifndef NP_CLOCK_H
#define NP_CLOCK_H

/* Wall clock, since the epoch. */
double np_wall_ms(void);
/* CPU time of the calling thread. */
double np_thread_cpu_ms(void);

#endif
