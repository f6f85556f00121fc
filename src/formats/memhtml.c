/* The memory timeline's HTML page (html/memory.html, with the flame graph
 * page's stylesheet and html/memory.css and html/memory.js inlined): the
 * samples and the summary as one JSON data block, charts drawn by the page
 * as SVG. No network: the page's CSP allows nothing outside it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats/memtimeline.h"
#include "html_assets.h"

#define MARK "@@"

/* A JSON string safe inside <script>: escaped, and '<' too. */
static void put_string(FILE *out, const char *s)
{
    putc('"', out);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') fprintf(out, "\\%c", *c);
        else if (*c < 0x20 || *c == '<' || *c >= 0x7f) fprintf(out, "\\u%04x", *c);
        else putc(*c, out);
    }
    putc('"', out);
}

static void put_num(FILE *out, double v)
{
    if (v < 0 || !isfinite(v)) fputs("null", out);
    else if (v < 9e15 && v == (double)(long long)v) fprintf(out, "%lld", (long long)v);
    else fprintf(out, "%.4f", v);
}

static void put_sample(FILE *out, const struct np_mem_timeline *tl, const struct np_mem_sample *s)
{
    double gc_ms = 0;
    for (int k = 0; k < NP_GC_KINDS; k++) gc_ms += s->gc_ms[k];
    fputs("{\"t\":", out); put_num(out, s->t_ms);
    fputs(",\"rss\":", out); put_num(out, s->rss);
    fputs(",\"heapTotal\":", out); put_num(out, s->heap_total);
    fputs(",\"heapUsed\":", out); put_num(out, s->heap_used);
    fputs(",\"external\":", out); put_num(out, s->external);
    fputs(",\"arrayBuffers\":", out); put_num(out, s->array_buffers);
    fputs(",\"heapAfterGC\":", out); put_num(out, s->heap_after_gc);
    fprintf(out, ",\"fresh\":%s,\"gcMs\":", s->after_gc_fresh ? "true" : "false"); put_num(out, gc_ms);
    fputs(",\"gcMax\":", out); put_num(out, s->gc_max_ms);
    fputs(",\"p50\":", out); put_num(out, s->loop_p50_ms);
    fputs(",\"p99\":", out); put_num(out, s->loop_p99_ms);
    fputs(",\"max\":", out); put_num(out, s->loop_max_ms);
    fputs(",\"spaces\":[", out);
    for (int i = 0; i < tl->nspaces; i++) {
        if (i) putc(',', out);
        put_num(out, s->space_used[i]);
    }
    fputs("]}", out);
}

static void put_data(FILE *out, const struct np_mem_timeline *tl, const struct np_mem_summary *sum)
{
    fprintf(out, "{\"pid\":%ld,\"node\":", tl->have_header ? tl->pid : -1L);
    put_string(out, tl->node);
    fputs(",\"spaces\":[", out);
    for (int i = 0; i < tl->nspaces; i++) {
        if (i) putc(',', out);
        put_string(out, tl->space_names[i]);
    }
    fputs("],\"summary\":", out);
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (mem) {
        np_memtl_print_json(tl, sum, mem);
        fclose(mem);
    }
    /* the summary's JSON: numbers and fixed words; '<' cannot occur */
    if (text && len && text[len - 1] == '\n') text[--len] = '\0';
    fputs(text && len ? text : "{}", out);
    free(text);
    fputs(",\"samples\":[", out);
    for (size_t i = 0; i < tl->n; i++) {
        if (i) putc(',', out);
        put_sample(out, tl, &tl->samples[i]);
    }
    fputs("]}", out);
}

int np_memtl_write_html(const struct np_mem_timeline *tl, const struct np_mem_summary *s, FILE *out)
{
    const char *p = np_asset_memory_html;
    for (;;) {
        const char *m = strstr(p, MARK);
        if (!m) {
            fputs(p, out);
            break;
        }
        const char *name = m + strlen(MARK);
        const char *close = strstr(name, MARK);
        size_t n = close ? (size_t)(close - name) : 0;
        fwrite(p, 1, (size_t)(m - p), out);
        if (!close) { fputs(MARK, out); p = name; continue; }
        if (n == 5 && !memcmp(name, "STYLE", 5)) fputs(np_asset_flame_css, out);
        else if (n == 8 && !memcmp(name, "MEMSTYLE", 8)) fputs(np_asset_memory_css, out);
        else if (n == 6 && !memcmp(name, "SCRIPT", 6)) fputs(np_asset_memory_js, out);
        else if (n == 4 && !memcmp(name, "DATA", 4)) put_data(out, tl, s);
        else { fputs(MARK, out); p = name; continue; }
        p = close + strlen(MARK);
    }
    return ferror(out) ? -1 : 0;
}
