/* Profile formats: reading inspector profiles (.cpuprofile, .heapprofile)
 * and writing them as pprof, collapsed stacks, speedscope, HTML and a
 * top-functions table. Pure C (cJSON, zlib): used by the agent inside node
 * and by the `nodeprof` command. */
#ifndef NP_FORMATS_H
#define NP_FORMATS_H

#include <stddef.h>
#include <stdio.h>

#include "formats/kind.h"

struct np_profile; /* parsed profile; see profile.h */

/* Parses a .cpuprofile or .heapprofile (detected from its content).
 * Returns NULL with a one-line reason in err on malformed input. */
struct np_profile *np_profile_parse(const char *json, size_t len, char *err, size_t errlen);
void np_profile_free(struct np_profile *p);
enum np_profile_kind np_profile_kind(const struct np_profile *p);

/* Writes p in one format (one NP_FMT_* bit other than NP_FMT_CPUPROFILE).
 * json/len is the source text, which some writers embed (HTML).
 * Returns 0, or -1 with err set; stream write errors are the caller's. */
int np_format_write(const struct np_profile *p, const char *json, size_t len,
                    unsigned format, FILE *out, char *err, size_t errlen);

/* File name extension for a format and kind, one for each pair:
 * ".cpu.pb.gz", ".heap.collapsed.txt"; NP_FMT_CPUPROFILE gives
 * ".cpuprofile" or ".heapprofile". */
const char *np_format_extension(unsigned format, enum np_profile_kind kind);

/* 1 if the format is not text (pprof: gzip), which a terminal cannot show. */
int np_format_is_binary(unsigned format);

/* The top-functions table (also NP_FMT_TOP with n = 25, by self). */
enum np_top_order { NP_TOP_BY_SELF, NP_TOP_BY_TOTAL };
int np_top_write(const struct np_profile *p, FILE *out, int n, enum np_top_order by,
                 char *err, size_t errlen);

/* HTML flame graph page (html.c): one self-contained file. */
int np_html_write(const struct np_profile *p, const char *json, size_t len,
                  FILE *out, char *err, size_t errlen);

#endif
