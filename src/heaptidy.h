/* A sampling heap profile whose every sample names a node of its tree.
 *
 * V8 (SamplingHeapProfiler::GetAllocationProfile) first copies its tree of
 * allocation nodes, then lists the samples. An allocation sampled in
 * between, made while the profile itself is being built, is listed with a
 * node that is not in the copied tree. Readers choke on such a sample
 * (DevTools and our own tests check that samples name nodes of the tree),
 * and the allocation was the profiler's, not the app's: it is dropped.
 * Seen on the inspector binding's Connection (session.h), which leaves
 * V8 fewer frames of its own to have nodes for already. */
#ifndef NP_HEAPTIDY_H
#define NP_HEAPTIDY_H

#include "napi_weak.h"

/* Drops, in place, the samples of profile (HeapProfiler's
 * SamplingHeapProfile object) whose nodeId is not in its head's tree.
 * Returns how many were dropped, or -1 if the object is not of that form
 * (left as it was). */
long np_heap_profile_tidy(napi_env env, napi_value profile);

#endif
