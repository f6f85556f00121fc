/* Reading a pprof profile (profile.proto, gzipped or not) into the model
 * (profile.h), for `nodeprof merge` and `nodeprof top`: nodeprof's own
 * .pb.gz files, and Go's or another tool's, as long as they hold CPU time
 * (a sample type in nanoseconds: cpu, wall) or live heap (inuse_space).
 *
 * Each sample's stack (locations leaf first; a location's lines leaf
 * first, the inlined before their caller) becomes a path from the root;
 * equal paths become one node (tree.h), with the sample's values as its
 * self cost: CPU time in microseconds (the model's unit), heap bytes.
 * pprof has no timeline, so the model has no samples (nsamples = 0).
 * time_nanos, duration_nanos and period come back as wall_start_ns,
 * duration_ns and the interval; the string labels that every sample
 * carries with one value come back as the profile's labels.
 *
 * Outside input: bounded (at most NP_PPROF_MAX_INFLATED bytes once
 * inflated, at most NP_PPROF_NODES_PER_BYTE stack frames a byte of it and
 * NP_PPROF_MAX_NODES in all: a file's stack frames take 8 bytes each),
 * checked, and fuzzed (tests/fuzz/fuzz_pprof.c). */
#ifndef NP_PPROFREAD_H
#define NP_PPROFREAD_H

#include <stddef.h>

#include "formats/profile.h"

#define NP_PPROF_MAX_INFLATED (1UL << 30)
#define NP_PPROF_NODES_PER_BYTE 16
#define NP_PPROF_MAX_NODES (1UL << 27)

/* 1 if data starts as a pprof file does: the gzip magic, or a Profile
 * message's first field (sample_type, field 1, length-delimited). */
int np_pprof_sniff(const void *data, size_t len);

/* A new profile (free with np_profile_free), or NULL with a one-line
 * reason in err. */
struct np_profile *np_pprof_parse(const void *data, size_t len, char *err, size_t errlen);

#endif
