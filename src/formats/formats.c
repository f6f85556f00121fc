/* np_format_write's dispatch and the file extension of each format. The
 * helpers the writers share are in emit.c. */
#include "formats/formats.h"
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

/* Every kind has its own extension in every format, so that a reader (and
 * NODEPROF_KEEP, which counts files by extension) tells them apart. */
const char *np_format_extension(unsigned format, enum np_profile_kind kind)
{
    int heap = kind == NP_PROFILE_HEAP;
    switch (format) {
    case NP_FMT_CPUPROFILE: return heap ? ".heapprofile" : ".cpuprofile";
    case NP_FMT_PPROF: return heap ? ".heap.pb.gz" : ".cpu.pb.gz";
    case NP_FMT_COLLAPSED: return heap ? ".heap.collapsed.txt" : ".cpu.collapsed.txt";
    case NP_FMT_SPEEDSCOPE: return heap ? ".heap.speedscope.json" : ".cpu.speedscope.json";
    case NP_FMT_HTML: return heap ? ".heap.html" : ".cpu.html";
    case NP_FMT_TOP: return heap ? ".heap.top.txt" : ".cpu.top.txt";
    }
    return NULL;
}

int np_format_is_binary(unsigned format)
{
    return format == NP_FMT_PPROF;
}
