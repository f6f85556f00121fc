/* libFuzzer harness: any bytes into np_pprof_parse (formats/pprofread.h);
 * whatever it accepts must satisfy the model's invariants (profile.h), go
 * through the writers that need no source text, and come back from its own
 * pprof with the same totals. Built and run by `make fuzz-pprof`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "formats/formats.h"
#include "formats/pprofread.h"
#include "formats/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_model(const struct np_profile *p)
{
    if (p->nnodes == 0 || p->nodes[0].parent != NP_NO_NODE || p->nodes[0].end != p->nnodes) abort();
    if (p->nstrings == 0 || p->strings[0][0] != '\0' || p->nsamples != 0) abort();
    int64_t count = 0, weight = 0;
    for (size_t i = 0; i < p->nnodes; i++) {
        const struct np_node *n = &p->nodes[i];
        if (i > 0 && (n->parent >= i || n->depth != p->nodes[n->parent].depth + 1)) abort();
        if (n->end <= i || n->end > p->nnodes || n->frame >= p->nframes) abort();
        if (i > 0 && n->end > p->nodes[n->parent].end) abort();
        if (n->self_count < 0 || n->self_weight < 0) abort();
        count += n->self_count;
        weight += n->self_weight;
    }
    if (count != p->total_count || weight != p->total_weight) abort();
    for (size_t i = 0; i < p->nframes; i++)
        if (p->frames[i].name >= p->nstrings || p->frames[i].url >= p->nstrings) abort();
}

/* Its own pprof, read back: the same totals. */
static void check_round_trip(const struct np_profile *p)
{
    char *buf = NULL, err[256];
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem || np_format_write(p, NULL, 0, NP_FMT_PPROF, mem, err, sizeof err) || fclose(mem)) abort();
    struct np_profile *q = np_pprof_parse(buf, len, err, sizeof err);
    if (!q) {
        fprintf(stderr, "own pprof refused: %s\n", err);
        abort();
    }
    if (q->kind != p->kind || q->total_count != p->total_count || q->total_weight != p->total_weight) abort();
    np_profile_free(q);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    struct np_profile *p = np_pprof_parse(data, size, err, sizeof err);
    if (!p) return 0;
    check_model(p);
    FILE *sink = fopen("/dev/null", "w");
    if (!sink) abort();
    static const unsigned formats[] = { NP_FMT_PPROF, NP_FMT_COLLAPSED, NP_FMT_SPEEDSCOPE, NP_FMT_TOP };
    for (size_t f = 0; f < sizeof formats / sizeof *formats; f++)
        if (np_format_write(p, NULL, 0, formats[f], sink, err, sizeof err)) abort();
    fclose(sink);
    check_round_trip(p);
    np_profile_free(p);
    return 0;
}
