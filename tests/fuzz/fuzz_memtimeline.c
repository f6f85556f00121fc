/* libFuzzer harness for memtimeline.h: any bytes, split into lines, are
 * read as a .memory.jsonl file (also into a ring of 7 samples), then
 * summarised and written as text, JSON and HTML. Nothing may crash, and
 * the JSON summary must be valid JSON. Built and run by `make
 * fuzz-memtimeline`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "formats/memtimeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_all(struct np_mem_timeline *tl, const char *text, size_t size)
{
    const char *p = text, *end = text + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (np_memtl_read_line(tl, p, len) < 0) abort();
        p += len + 1;
    }
}

static void summarise(struct np_mem_timeline *tl)
{
    struct np_mem_summary s;
    np_memtl_summarize(tl, &s);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out) abort();
    np_memtl_print_json(tl, &s, out);
    fclose(out);
    cJSON *json = cJSON_ParseWithLength(text, len);
    if (!json) abort(); /* the JSON summary is always valid */
    cJSON_Delete(json);
    free(text);
    FILE *sink = fopen("/dev/null", "w");
    if (!sink) abort();
    np_memtl_print_text(tl, &s, sink);
    np_memtl_write_html(tl, &s, sink);
    fclose(sink);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct np_mem_timeline tl, ring;
    np_memtl_init(&tl, 0);
    np_memtl_init(&ring, 7);
    read_all(&tl, (const char *)data, size);
    read_all(&ring, (const char *)data, size);
    if (ring.n > 7 || (tl.n >= 7 ? ring.n != 7 : ring.n != tl.n)) abort();
    summarise(&tl);
    summarise(&ring);
    np_memtl_free(&tl);
    np_memtl_free(&ring);
    return 0;
}
