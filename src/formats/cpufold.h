/* Folding a long CPU profile: older windows of a .cpuprofile are merged
 * into an aggregate whose size depends on the distinct stacks, not on time,
 * and the aggregate is written back, together with the current window at
 * full resolution, as one ordinary .cpuprofile.
 *
 * Why: V8 keeps every sample of a running profile. An idle server profiled
 * from start to exit grows by about 25 MB an hour in V8's memory, all of it
 * serialised at exit. The agent stops and restarts the profile every window
 * (NODEPROF_CPU_WINDOW) and folds what it got here.
 *
 * The aggregate is a tree keyed by (parent, call frame): function name, URL,
 * line and column. Each node keeps its folded samples (hits) and time (µs).
 * Times are chained across windows: the first sample of a window is given
 * the time since the last sample of the window before it, as it would have
 * had in one long profile, so the folded times add up to exactly
 * (last folded sample - start of the first window).
 *
 * The merged .cpuprofile (np_cpufold_merge):
 * - nodes: the aggregate tree with the window's nodes merged in; hitCount is
 *   folded + window samples;
 * - samples/timeDeltas: for each node with folded cost, a pair of stand-in
 *   samples with deltas 0 and that node's folded time, then the window's
 *   own samples. A pair gives the node its folded time whether a reader
 *   credits each sample with the delta before it (our formats) or with the
 *   one after it (DevTools, our HTML page); the node of the last folded
 *   sample goes last, so the window's first delta goes where it would in an
 *   unfolded profile under either reading;
 * - startTime: the first window's; endTime: the current window's;
 * - "nodeprofFolded": {folds, foldedSamples, standInSamples}, which tells
 *   our reader (parse.c) to take sample counts from hitCount.
 * - positionTicks: each node's hits per line of its function (DevTools'
 *   source view), the folded ones added to the window's.
 * So every node's samples, time and per-line hits, and the profile's span,
 * are those of the unfolded profile. What is not kept once something is
 * folded: the timeline before the window, scriptId and deoptReason. Pure C,
 * no Node-API: unit-tested and fuzzed. */
#ifndef NP_CPUFOLD_H
#define NP_CPUFOLD_H

#include <stddef.h>
#include <stdint.h>

struct np_cpufold;

struct np_cpufold *np_cpufold_new(void);
void np_cpufold_free(struct np_cpufold *f);

/* Folds one window (.cpuprofile JSON; windows in time order) into the
 * aggregate. Returns 0, or -1 with err set (the aggregate is unchanged on
 * a malformed window, but may hold part of it without memory). */
int np_cpufold_add(struct np_cpufold *f, const char *json, size_t len, char *err, size_t errlen);

/* Writes aggregate ⊕ window (window may be NULL: the aggregate alone) as
 * one .cpuprofile into *out (malloc'd, *outlen bytes, NUL-terminated).
 * The aggregate itself is left as it was but for new zero-cost nodes;
 * call np_cpufold_reset after. Returns 0, or -1 with err set. */
int np_cpufold_merge(struct np_cpufold *f, const char *window, size_t len, char **out, size_t *outlen,
                     char *err, size_t errlen);

/* Forgets everything folded. */
void np_cpufold_reset(struct np_cpufold *f);

/* Windows folded since the last reset (0: merging would only copy). */
unsigned long np_cpufold_folds(const struct np_cpufold *f);
/* Nodes of the aggregate tree, and its samples. */
size_t np_cpufold_nodes(const struct np_cpufold *f);
int64_t np_cpufold_samples(const struct np_cpufold *f);

#endif
