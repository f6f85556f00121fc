/* libFuzzer harness for cpufold.h: any bytes are folded twice as windows
 * and merged with themselves as the current window. Whatever is accepted
 * must merge into a profile that the reader accepts, with three times the
 * window's samples. Built and run by `make fuzz-cpufold`. */
#include <stdint.h>
#include <stdlib.h>

#include "formats/cpufold.h"
#include "formats/formats.h"
#include "formats/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    const char *json = (const char *)data;
    struct np_profile *w = np_profile_parse(json, size, err, sizeof err);
    struct np_cpufold *f = np_cpufold_new();
    if (!f) abort();
    int a = np_cpufold_add(f, json, size, err, sizeof err);
    int b = np_cpufold_add(f, json, size, err, sizeof err);
    /* a window is accepted exactly when it is a CPU profile the reader accepts */
    int cpu = w && np_profile_kind(w) == NP_PROFILE_CPU;
    if ((a == 0) != cpu || (b == 0) != cpu) abort();
    char *out = NULL;
    size_t len = 0;
    int m = np_cpufold_merge(f, json, size, &out, &len, err, sizeof err);
    if (cpu && m != 0) abort();
    /* times far out of range may make the merged deltas overflow the
     * reader's bounds; only small ones must read back */
    if (m == 0 && w->end_us - w->start_us < ((int64_t)1 << 40) && w->start_us > -((int64_t)1 << 40) &&
        w->start_us < ((int64_t)1 << 40) && w->total_weight < ((int64_t)1 << 40)) {
        struct np_profile *p = np_profile_parse(out, len, err, sizeof err);
        if (!p || p->total_count != 3 * w->total_count) abort();
        np_profile_free(p);
    }
    free(out);
    np_cpufold_free(f);
    np_profile_free(w);
    return 0;
}
