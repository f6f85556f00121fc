/* The HTML flame graph: one self-contained page (html/page.html with
 * html/flame.css and html/flame.js inlined, embedded at build time by
 * scripts/embed.sh) with the source profile JSON copied in as data.
 *
 * The profile is not re-encoded: the page parses it itself (JSON.parse in
 * a browser is faster and leaner than building a tree here), so writing is
 * a streaming copy whatever the profile's size. The only change is that
 * every '<' becomes the JSON escape \u003c: '<' can legally occur only
 * inside JSON strings, where the escape means the same character, and
 * without it no "</script" or "<!--" can end the data block early. When
 * source maps rewrote frames (remap.h), a second block lists the rewritten
 * call frames, and the page looks each frame it reads up there. */
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "formats/profile.h"
#include "html_assets.h"

#define MARK "@@"

/* Copies the profile text, escaping '<'. */
static void write_data(FILE *out, const char *json, size_t len)
{
    const char *p = json, *end = json + len;
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        size_t run = lt ? (size_t)(lt - p) : (size_t)(end - p);
        fwrite(p, 1, run, out);
        if (!lt)
            break;
        fputs("\\u003c", out);
        p = lt + 1;
    }
}

/* A JSON string for a <script> data block: escaped as JSON, and '<' too. */
static void write_string(FILE *out, const char *s)
{
    putc('"', out);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') fprintf(out, "\\%c", *c);
        else if (*c < 0x20 || *c == '<') fprintf(out, "\\u%04x", *c);
        else putc(*c, out);
    }
    putc('"', out);
}

static void write_frame(FILE *out, const struct np_profile *p, const struct np_frame *f)
{
    write_string(out, p->strings[f->name]);
    putc(',', out);
    write_string(out, p->strings[f->url]);
    fprintf(out, ",%ld,%ld", (long)f->line - 1, (long)f->column - 1);
}

/* The frames that source maps rewrote (remap.h), which the page applies to
 * the profile text it reads: [[generated name, url, line, column, then the
 * same of the original], ...], lines and columns 0-based as in the text. */
static void write_frame_map(FILE *out, const struct np_profile *p)
{
    putc('[', out);
    for (size_t i = 0; p && i < p->nremapped; i++) {
        fputs(i ? ",[" : "[", out);
        write_frame(out, p, &p->remap_from[i]);
        putc(',', out);
        write_frame(out, p, &p->frames[p->remap_to[i]]);
        putc(']', out);
    }
    putc(']', out);
}

/* The model's self time of each node of the text's "nodes" array, in µs,
 * as top and every other writer count it (profile.h: a sample stands for
 * the time since the one before it): the page takes these rather than
 * computing its own, so that page and top agree. A node merged into an
 * earlier one (same stack) has 0, and the earlier one the sum. null when
 * there is no model (p NULL), no samples, or a heap profile (whose costs
 * are the text's own selfSize). */
static void write_node_costs(FILE *out, const struct np_profile *p)
{
    int64_t *cost = p && p->kind == NP_PROFILE_CPU && p->source_index && p->nsamples
                        ? calloc(p->nsource ? p->nsource : 1, sizeof *cost)
                        : NULL;
    if (!cost) {
        fputs("null", out);
        return;
    }
    for (size_t k = 0; k < p->nnodes; k++)
        if (p->source_index[k] < p->nsource) cost[p->source_index[k]] += p->nodes[k].self_weight;
    putc('[', out);
    for (size_t i = 0; i < p->nsource; i++) fprintf(out, i ? ",%lld" : "%lld", (long long)cost[i]);
    putc(']', out);
    free(cost);
}

/* The text a "@@NAME@@" marker of the template stands for; 0 if unknown. */
static int write_marker(FILE *out, const struct np_profile *p, const char *name, size_t n, const char *json,
                        size_t len)
{
    if (n == 5 && !memcmp(name, "STYLE", 5))
        fputs(np_asset_flame_css, out);
    else if (n == 6 && !memcmp(name, "SCRIPT", 6))
        fputs(np_asset_flame_js, out);
    else if (n == 4 && !memcmp(name, "DATA", 4))
        write_data(out, json, len);
    else if (n == 8 && !memcmp(name, "FRAMEMAP", 8))
        write_frame_map(out, p);
    else if (n == 9 && !memcmp(name, "NODECOSTS", 9))
        write_node_costs(out, p);
    else
        return 0;
    return 1;
}

/* Writes the template, replacing each known "@@NAME@@" marker. */
static void write_page(FILE *out, const struct np_profile *prof, const char *json, size_t len)
{
    const char *p = np_asset_page_html; /* the template */
    for (;;) {
        const char *m = strstr(p, MARK);
        if (!m) {
            fputs(p, out);
            return;
        }
        const char *name = m + strlen(MARK);
        const char *close = strstr(name, MARK);
        size_t n = close ? (size_t)(close - name) : 0;
        fwrite(p, 1, (size_t)(m - p), out);
        if (close && write_marker(out, prof, name, n, json, len)) {
            p = close + strlen(MARK);
        } else {
            fputs(MARK, out);
            p = name;
        }
    }
}

/* A profile is a JSON object: a cheap check that catches wrong input (the
 * caller has parsed it already; the page reports anything subtler). */
static int looks_like_object(const char *json, size_t len)
{
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", json[i]) && json[i])
        i++;
    return i < len && json[i] == '{';
}

int np_html_write(const struct np_profile *p, const char *json, size_t len,
                  FILE *out, char *err, size_t errlen)
{
    if (json && len >= 3 && !memcmp(json, "\xEF\xBB\xBF", 3)) { /* a UTF-8 BOM */
        json += 3;
        len -= 3;
    }
    if (!json || !out || !looks_like_object(json, len)) {
        if (err && errlen)
            snprintf(err, errlen, "html: the profile is not a JSON object");
        return -1;
    }
    write_page(out, p, json, len);
    return 0;
}
