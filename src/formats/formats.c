/* np_format_write's dispatch, file extensions, and helpers shared by the
 * writers. */
#include <stdlib.h>
#include <string.h>

#include "formats/writers.h"

int np_format_write(const struct np_profile *p, const char *json, size_t len,
                    unsigned format, FILE *out, char *err, size_t errlen)
{
    switch (format) {
    case NP_FMT_CPUPROFILE:
        /* The source text is already that format. */
        if (len && fwrite(json, 1, len, out) != len) {
            snprintf(err, errlen, "cannot write the profile");
            return -1;
        }
        return 0;
    case NP_FMT_PPROF: return np_pprof_write(p, out, err, errlen);
    case NP_FMT_COLLAPSED: return np_collapsed_write(p, out, err, errlen);
    case NP_FMT_SPEEDSCOPE: return np_speedscope_write(p, out, err, errlen);
    case NP_FMT_HTML: return np_html_write(p, json, len, out, err, errlen);
    case NP_FMT_TOP: return np_top_write(p, out, 25, NP_TOP_BY_SELF, err, errlen);
    }
    snprintf(err, errlen, "unknown output format %#x", format);
    return -1;
}

const char *np_format_extension(unsigned format, enum np_profile_kind kind)
{
    switch (format) {
    case NP_FMT_CPUPROFILE: return kind == NP_PROFILE_HEAP ? ".heapprofile" : ".cpuprofile";
    case NP_FMT_PPROF: return ".pb.gz";
    case NP_FMT_COLLAPSED: return ".collapsed.txt";
    case NP_FMT_SPEEDSCOPE: return ".speedscope.json";
    case NP_FMT_HTML: return ".html";
    case NP_FMT_TOP: return ".top.txt";
    }
    return NULL;
}

void np_json_string(FILE *out, const char *s)
{
    putc('"', out);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*c < 0x20) fprintf(out, "\\u%04x", *c);
            else putc(*c, out);
        }
    }
    putc('"', out);
}

long np_stack_frames(const struct np_profile *p, uint32_t node, uint32_t **frames, size_t *cap)
{
    size_t depth = p->nodes[node].depth;
    if (depth > *cap) {
        uint32_t *grown = realloc(*frames, depth * sizeof **frames);
        if (!grown) return -1;
        *frames = grown;
        *cap = depth;
    }
    for (size_t i = depth; i-- > 0; node = p->nodes[node].parent) (*frames)[i] = p->nodes[node].frame;
    return (long)depth;
}
