/* A sampling heap profile whose every sample names a node of its tree.
 *
 * V8 (SamplingHeapProfiler::GetAllocationProfile) first copies its tree of
 * allocation nodes, then lists the samples. An allocation sampled in
 * between, made while the profile itself is being built, is listed with a
 * node that is not in the copied tree. A reader that looks each sample's
 * node up finds none (our tests' did), and the allocation was the
 * profiler's, not the app's: it is dropped. Seen with the inspector
 * binding's Connection (session.h); our tests had not met it with
 * node:inspector's Session. */
#ifndef NP_HEAPTIDY_H
#define NP_HEAPTIDY_H

#include "napi_weak.h"

/* Drops, in place, the samples of profile (HeapProfiler's
 * SamplingHeapProfile object) whose nodeId is not in its head's tree.
 * Returns how many were dropped, or -1 if the object is not of that form
 * (left as it was). */
long np_heap_profile_tidy(napi_env env, napi_value profile);

#endif
