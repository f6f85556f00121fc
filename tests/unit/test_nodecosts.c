/* The HTML page's node costs (html.c, #node-costs): each node of the
 * text's "nodes" array gets the model's self time, the time top shows, and
 * a node merged into an earlier sibling (same function) gives its time to
 * that one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "formats/formats.h"
#include "formats/profile.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0;
    FILE *mem = open_memstream(&buf, &cap);
    char chunk[4096];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0) fwrite(chunk, 1, n, mem);
    if (f) fclose(f);
    fclose(mem);
    *len = cap;
    return buf;
}

/* The text of the page's block with this id (caller frees). */
static char *block(const char *page, const char *id)
{
    char open[64];
    snprintf(open, sizeof open, "id=\"%s\">", id);
    const char *at = strstr(page, open);
    if (!at) return NULL;
    at += strlen(open);
    const char *close = strstr(at, "</script>");
    return close ? strndup(at, (size_t)(close - at)) : NULL;
}

static char *page_of(const char *json, size_t len, const struct np_profile *p)
{
    char *page = NULL, err[200] = "";
    size_t size = 0;
    FILE *out = open_memstream(&page, &size);
    CHECK(np_html_write(p, json, len, out, err, sizeof err) == 0, "html: %s", err);
    fclose(out);
    return page;
}

int main(void)
{
    size_t len;
    char *json = read_file("tests/fixtures/profiles/small.cpuprofile", &len);
    char err[200];
    struct np_profile *p = json ? np_profile_parse(json, len, err, sizeof err) : NULL;
    CHECK(p != NULL, "parse");
    if (!p) return END();
    char *page = page_of(json, len, p);
    char *costs = page ? block(page, "node-costs") : NULL;
    /* Nodes 6 and 9 are both hot() under main: 9 joins 6 (3 + 1 samples of
     * 100 µs); 7 is hot() under hot(); (root) and main have no samples. */
    CHECK_STR(costs, "[0,100,100,100,0,400,200,100,0]");
    free(costs);
    free(page);
    /* No model (a driver with the text alone), a heap profile: null, and
     * the page counts the text itself. */
    page = page_of(json, len, NULL);
    costs = page ? block(page, "node-costs") : NULL;
    CHECK_STR(costs, "null");
    free(costs);
    free(page);
    np_profile_free(p);
    free(json);
    json = read_file("tests/fixtures/profiles/small.heapprofile", &len);
    p = np_profile_parse(json, len, err, sizeof err);
    CHECK(p != NULL, "parse heap");
    page = p ? page_of(json, len, p) : NULL;
    costs = page ? block(page, "node-costs") : NULL;
    CHECK_STR(costs, "null");
    free(costs);
    free(page);
    np_profile_free(p);
    free(json);
    return END();
}
