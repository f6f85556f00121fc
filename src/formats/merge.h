/* Merging parsed profiles of one kind into one (nodeprof top A B C): the
 * trees are laid over each other from their roots, so that the same stack
 * in two profiles becomes one node with both costs, and the frames and
 * strings are shared. CPU samples are the profiles' samples one after the
 * other; startTime is the earliest, endTime the latest. The wall-clock
 * span (wall_start_ns, duration_ns) covers every input's; the labels are
 * those all inputs share; the heap interval is the largest. */
#ifndef NP_MERGE_H
#define NP_MERGE_H

#include <stddef.h>

#include "formats/profile.h"

/* A new profile (free with np_profile_free), or NULL with err set: no
 * profiles, profiles of different kinds, out of memory, totals too large.
 * The inputs are left as they were. */
struct np_profile *np_profile_merge(const struct np_profile *const *in, size_t n, char *err, size_t errlen);

#endif
