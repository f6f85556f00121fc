/* Helpers the writers share (emit.h). */
#include "formats/emit.h"

#include <stdlib.h>

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
