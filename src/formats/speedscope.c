/* speedscope's file format (https://www.speedscope.app/file-format-schema.json):
 * the frames once in "shared", then one "sampled" profile whose samples
 * are stacks of frame indices (root side first, "(root)" left out) with a
 * weight each.
 *
 * CPU: one sample per V8 sample in time order, weighted by its time in
 * microseconds (consecutive samples of the same node are joined, which
 * changes nothing on screen but the file's size), so speedscope's time
 * order view is the real timeline. Heap, and CPU profiles without samples:
 * one sample per node with a cost, in bytes or microseconds. */
#include <stdlib.h>

#include "formats/emit.h"
#include "formats/writers.h"

struct speedscope_writer {
    const struct np_profile *p;
    FILE *out;
    uint32_t *stack;
    size_t cap;
    char *text;    /* one stack's text */
    size_t text_cap;
    int first;     /* no sample written yet */
};

static void write_frame(FILE *out, const struct np_profile *p, const struct np_frame *f)
{
    fputs("{\"name\":", out);
    np_json_string(out, np_frame_name(p, f));
    if (*np_frame_url(p, f)) {
        fputs(",\"file\":", out);
        np_json_string(out, np_frame_url(p, f));
    }
    if (f->line > 0) fprintf(out, ",\"line\":%d", (int)f->line);
    if (f->column > 0) fprintf(out, ",\"col\":%d", (int)f->column);
    putc('}', out);
}

static void write_frames(FILE *out, const struct np_profile *p)
{
    fputs("\"shared\":{\"frames\":[", out);
    for (size_t i = 0; i < p->nframes; i++) {
        if (i) putc(',', out);
        write_frame(out, p, &p->frames[i]);
    }
    fputs("]}", out);
}

/* Decimal digits of v into out (at least 20 bytes); returns the length. */
static size_t format_uint(char *out, uint64_t v)
{
    char tmp[20];
    size_t n = 0, len = 0;
    do tmp[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
    while (n > 0) out[len++] = tmp[--n];
    return len;
}

/* The stack of one sample, for the "samples" array: formatted in memory
 * and written at once, as stacks are long and there are millions. */
static int write_stack(struct speedscope_writer *w, uint32_t node)
{
    long depth = np_stack_frames(w->p, node, &w->stack, &w->cap);
    if (depth < 0) return -1;
    size_t need = (size_t)depth * 11 + 3;
    if (need > w->text_cap) {
        char *grown = realloc(w->text, need);
        if (!grown) return -1;
        w->text = grown;
        w->text_cap = need;
    }
    size_t n = 0;
    if (!w->first) w->text[n++] = ',';
    w->first = 0;
    w->text[n++] = '[';
    for (long d = 0; d < depth; d++) {
        if (d) w->text[n++] = ',';
        n += format_uint(w->text + n, w->stack[d]);
    }
    w->text[n++] = ']';
    fwrite(w->text, 1, n, w->out);
    return 0;
}

/* Calls visit(w, node, weight) for each sample, in order; see the top. */
typedef int (*sample_fn)(struct speedscope_writer *w, uint32_t node, int64_t weight);

static int each_sample(struct speedscope_writer *w, sample_fn visit)
{
    const struct np_profile *p = w->p;
    if (p->kind == NP_PROFILE_CPU && p->nsamples > 0) {
        for (size_t i = 0; i < p->nsamples;) {
            uint32_t node = p->sample_node[i];
            int64_t weight = 0;
            for (; i < p->nsamples && p->sample_node[i] == node; i++) weight += p->sample_weight[i];
            if (visit(w, node, weight)) return -1;
            if (ferror(w->out)) return 0; /* the caller sees it; the rest may be huge */
        }
        return 0;
    }
    for (uint32_t i = 0; i < p->nnodes && !ferror(w->out); i++)
        if (p->nodes[i].self_weight > 0 && visit(w, i, p->nodes[i].self_weight)) return -1;
    return 0;
}

static int visit_stack(struct speedscope_writer *w, uint32_t node, int64_t weight)
{
    (void)weight;
    return write_stack(w, node);
}

static int visit_weight(struct speedscope_writer *w, uint32_t node, int64_t weight)
{
    (void)node;
    fprintf(w->out, w->first ? "%lld" : ",%lld", (long long)weight);
    w->first = 0;
    return 0;
}

static int write_profile(struct speedscope_writer *w)
{
    const struct np_profile *p = w->p;
    int cpu = p->kind == NP_PROFILE_CPU;
    FILE *out = w->out;
    fputs("\"profiles\":[{\"type\":\"sampled\",\"name\":", out);
    np_json_string(out, cpu ? "CPU profile" : "Heap profile");
    fprintf(out, ",\"unit\":\"%s\",\"startValue\":0,\"endValue\":%lld,\"samples\":[",
            cpu ? "microseconds" : "bytes", (long long)p->total_weight);
    w->first = 1;
    if (each_sample(w, visit_stack)) return -1;
    fputs("],\"weights\":[", out);
    w->first = 1;
    if (each_sample(w, visit_weight)) return -1;
    fputs("]}]", out);
    return 0;
}

int np_speedscope_write(const struct np_profile *p, FILE *out, char *err, size_t errlen)
{
    struct speedscope_writer w = { p, out, NULL, 0, NULL, 0, 1 };
    fputs("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",", out);
    write_frames(out, p);
    putc(',', out);
    int rc = write_profile(&w);
    fputs(",\"name\":", out);
    np_json_string(out, p->kind == NP_PROFILE_CPU ? "CPU profile" : "Heap profile");
    fputs(",\"activeProfileIndex\":0,\"exporter\":\"nodeprof\"}\n", out);
    free(w.stack);
    free(w.text);
    if (rc) snprintf(err, errlen, "out of memory");
    return rc;
}
