/* libFuzzer harness: any bytes into np_profile_parse; whatever it accepts
 * must satisfy the model's invariants (profile.h) and go through every
 * writer. Built and run by `make fuzz`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "formats/formats.h"
#include "formats/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_model(const struct np_profile *p)
{
    if (p->nnodes == 0 || p->nodes[0].parent != NP_NO_NODE || p->nodes[0].end != p->nnodes) abort();
    if (p->nstrings == 0 || p->strings[0][0] != '\0') abort();
    int64_t count = 0;
    for (size_t i = 0; i < p->nnodes; i++) {
        const struct np_node *n = &p->nodes[i];
        if (i > 0 && (n->parent >= i || n->depth != p->nodes[n->parent].depth + 1)) abort();
        if (n->end <= i || n->end > p->nnodes || n->frame >= p->nframes) abort();
        if (i > 0 && n->end > p->nodes[n->parent].end) abort();
        if (n->self_count < 0 || n->self_weight < 0) abort();
        count += n->self_count;
    }
    if (count != p->total_count) abort();
    for (size_t i = 0; i < p->nframes; i++)
        if (p->frames[i].name >= p->nstrings || p->frames[i].url >= p->nstrings) abort();
    for (size_t i = 0; i < p->nsamples; i++)
        if (p->sample_node[i] >= p->nnodes || p->sample_weight[i] < 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    struct np_profile *p = np_profile_parse((const char *)data, size, err, sizeof err);
    if (!p) return 0;
    check_model(p);
    FILE *sink = fopen("/dev/null", "w");
    if (!sink) abort();
    for (unsigned f = NP_FMT_PPROF; f <= NP_FMT_TOP; f <<= 1)
        if (np_format_write(p, (const char *)data, size, f, sink, err, sizeof err)) abort();
    fclose(sink);
    np_profile_free(p);
    return 0;
}
