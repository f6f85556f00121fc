/* Collapsed stacks (Brendan Gregg's FlameGraph input, also read by
 * speedscope): one line per distinct stack with a cost,
 *
 *     frame;frame;frame count
 *
 * root side first, "(root)" left out. A frame reads "function (url:line)",
 * or just "function" for frames without a script (native, "(program)",
 * "(garbage collector)"); lines are 1-based as DevTools shows them. The
 * count is samples for a CPU profile and bytes for a heap profile.
 *
 * Escape: in function names and URLs, ';' (the frame separator) and control
 * characters (a newline would end the line) are written as %XX, the byte in
 * two upper-case hex digits. Spaces are kept: the frame format itself has
 * one, and both FlameGraph and speedscope take the count after the last
 * space of the line. '%' is kept too, so URLs keep their own escapes. */
#include <stdlib.h>
#include <string.h>

#include "formats/emit.h"
#include "formats/writers.h"

static void put_escaped(FILE *out, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == ';' || *c < 0x20 || *c == 0x7f) fprintf(out, "%%%02X", *c);
        else putc(*c, out);
    }
}

static void put_frame(FILE *out, const struct np_profile *p, const struct np_frame *f)
{
    put_escaped(out, np_frame_name(p, f));
    if (!*np_frame_url(p, f)) return;
    fputs(" (", out);
    put_escaped(out, np_frame_url(p, f));
    if (f->line > 0) fprintf(out, ":%d", (int)f->line);
    putc(')', out);
}

/* Each frame's text, made once: a frame appears in many stacks. */
static char **frame_labels(const struct np_profile *p)
{
    char **labels = calloc(p->nframes ? p->nframes : 1, sizeof *labels);
    if (!labels) return NULL;
    for (size_t i = 0; i < p->nframes; i++) {
        size_t len;
        FILE *mem = open_memstream(&labels[i], &len);
        if (!mem) goto fail;
        put_frame(mem, p, &p->frames[i]);
        if (fclose(mem) || !labels[i]) goto fail;
    }
    return labels;
fail:
    for (size_t i = 0; i < p->nframes; i++) free(labels[i]);
    free(labels);
    return NULL;
}

static int64_t line_value(const struct np_profile *p, const struct np_node *n)
{
    return p->kind == NP_PROFILE_CPU ? n->self_count : n->self_weight;
}

int np_collapsed_write(const struct np_profile *p, FILE *out, char *err, size_t errlen)
{
    char **labels = frame_labels(p);
    uint32_t *stack = NULL;
    size_t cap = 0;
    int rc = labels ? 0 : -1;
    /* A write error (full disk, an output cap) ends the loop: the rest
     * could be gigabytes of stacks nested deep. */
    for (uint32_t i = 0; rc == 0 && !ferror(out) && i < p->nnodes; i++) {
        int64_t value = line_value(p, &p->nodes[i]);
        if (value <= 0) continue;
        long depth = np_stack_frames(p, i, &stack, &cap);
        if (depth < 0) { rc = -1; break; }
        if (depth == 0) fputs(labels[p->nodes[i].frame], out); /* cost on the root itself */
        for (long d = 0; d < depth; d++) {
            if (d) putc(';', out);
            fputs(labels[stack[d]], out);
        }
        fprintf(out, " %lld\n", (long long)value);
    }
    if (rc) snprintf(err, errlen, "out of memory");
    if (labels)
        for (size_t i = 0; i < p->nframes; i++) free(labels[i]);
    free(labels);
    free(stack);
    return rc;
}
