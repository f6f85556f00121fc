/* CPU sample times. V8 records before each sample the time since the one
 * before it (timeDeltas); the model gives each sample the time it stands
 * for, which is that same delta once the samples are in time order (see
 * profile.h). */
#ifndef NP_SAMPLETIME_H
#define NP_SAMPLETIME_H

#include <stddef.h>
#include <stdint.h>

/* Turns deltas[0..n) into weights, in place: their times from start, put
 * back in time order together with nodes[] (stable) if a delta is
 * negative, then each time minus the latest before it (0 if none is
 * later). *last gets the latest time. Returns 0, or -1 with *why if a time
 * leaves [-limit, limit] or memory runs out. */
int np_deltas_to_weights(int64_t start, int64_t limit, int64_t *deltas, uint32_t *nodes, size_t n,
                         int64_t *last, const char **why);

/* The median of the positive values of w (0 if none), in linear time for
 * values below 65536, which sample times in µs nearly always are. */
int64_t np_median_positive(const int64_t *w, size_t n);

#endif
