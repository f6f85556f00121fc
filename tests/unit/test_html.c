/* The HTML flame graph writer (src/formats/html.c): one self-contained file,
 * no web addresses, and profile text that cannot end its data block. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "formats/formats.h"
#include "html_assets.h"

struct page {
    char *text;
    size_t len;
    int rc;
    char err[256];
};

static struct page render(const char *json, size_t len)
{
    struct page pg = { NULL, 0, 0, "" };
    FILE *out = open_memstream(&pg.text, &pg.len);
    if (!out) {
        pg.rc = -2;
        return pg;
    }
    pg.rc = np_html_write(NULL, json, len, out, pg.err, sizeof pg.err);
    fclose(out);
    return pg;
}

/* Occurrences of needle in s, ignoring case. */
static int count_ci(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    int count = 0;
    for (; *s; s++)
        if (!strncasecmp(s, needle, n))
            count++;
    return count;
}

/* The text between the data block's tags, or NULL (caller frees). */
static char *data_block(const char *html)
{
    const char *open = strstr(html, "id=\"profile-data\">");
    if (!open)
        return NULL;
    open = strchr(open, '>') + 1;
    const char *close = strstr(open, "</script>");
    if (!close)
        return NULL;
    return strndup(open, (size_t)(close - open));
}

/* s with every "\u003c" turned back into '<' (caller frees). */
static char *unescape_lt(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    while (out && *s) {
        if (!strncmp(s, "\\u003c", 6)) {
            *o++ = '<';
            s += 6;
        } else {
            *o++ = *s++;
        }
    }
    if (out)
        *o = '\0';
    return out;
}

static const char CPU[] =
    "{\"nodes\":[{\"id\":1,\"callFrame\":{\"functionName\":\"(root)\",\"scriptId\":\"0\",\"url\":\"\","
    "\"lineNumber\":-1,\"columnNumber\":-1},\"hitCount\":0,\"children\":[2]},"
    "{\"id\":2,\"callFrame\":{\"functionName\":\"</script><script>alert(1)</script><!--x\",\"scriptId\":\"1\","
    "\"url\":\"file:///app/a<b>.js\",\"lineNumber\":3,\"columnNumber\":1},\"hitCount\":2}],"
    "\"startTime\":0,\"endTime\":3000,\"samples\":[2,2],\"timeDeltas\":[1000,1000]}";

static void test_one_file(void)
{
    struct page pg = render(CPU, strlen(CPU));
    CHECK(pg.rc == 0, "rc %d: %s", pg.rc, pg.err);
    CHECK(pg.text && strlen(pg.text) == pg.len, "no NUL in the page");
    if (!pg.text)
        return;
    CHECK(count_ci(pg.text, "<!doctype html>") == 1, "one document");
    CHECK(count_ci(pg.text, "</html>") == 1, "one document end");
    CHECK(!strstr(pg.text, "@@"), "every template marker replaced");
    CHECK(strstr(pg.text, np_asset_flame_css) != NULL, "the CSS is inline");
    CHECK(strstr(pg.text, np_asset_flame_js) != NULL, "the JS is inline");
    /* Nothing to fetch: no web address, no external script, style or font. */
    CHECK(count_ci(pg.text, "http://") == 0, "no http:// address");
    CHECK(count_ci(pg.text, "https://") == 0, "no https:// address");
    CHECK(count_ci(pg.text, "src=") == 0, "no src attribute");
    CHECK(count_ci(pg.text, "@import") == 0 && count_ci(np_asset_flame_css, "url(") == 0, "no CSS fetches");
    CHECK(count_ci(pg.text, "fetch(") == 0 && count_ci(pg.text, "XMLHttpRequest") == 0 &&
          count_ci(pg.text, "WebSocket") == 0, "no JS fetches");
    CHECK(strstr(pg.text, "default-src 'none'") != NULL, "a CSP forbids loading anything");
    free(pg.text);
}

static void test_script_escape(void)
{
    struct page pg = render(CPU, strlen(CPU));
    if (!pg.text)
        return;
    /* The page's own four script ends only: the data block's, the frame
     * map's (source maps, empty here), the node costs' and the code's. */
    CHECK(count_ci(pg.text, "</script") == 4, "%d script ends", count_ci(pg.text, "</script"));
    CHECK(count_ci(pg.text, "<!--") == 0, "no comment opener");
    CHECK(strstr(pg.text, "\\u003c/script>\\u003cscript>alert(1)") != NULL, "the name is escaped");
    char *data = data_block(pg.text);
    CHECK(data != NULL, "the data block is found");
    CHECK(data && !strchr(data, '<'), "no '<' in the data");
    char *back = data ? unescape_lt(data) : NULL;
    CHECK(back && !strcmp(back, CPU), "the data is the profile, '<' aside");
    free(back);
    free(data);
    free(pg.text);
}

static void test_assets(void)
{
    CHECK(count_ci(np_asset_flame_js, "</script") == 0, "the JS cannot end its block");
    CHECK(count_ci(np_asset_flame_js, "<!--") == 0, "the JS opens no comment");
    CHECK(count_ci(np_asset_flame_css, "</style") == 0, "the CSS cannot end its block");
    CHECK(strstr(np_asset_page_html, "@@DATA@@") && strstr(np_asset_page_html, "@@SCRIPT@@") &&
          strstr(np_asset_page_html, "@@STYLE@@"), "the template has its markers");
}

static void test_rejects(void)
{
    struct page pg = render(NULL, 0);
    CHECK(pg.rc == -1 && pg.err[0], "NULL json: rc %d", pg.rc);
    free(pg.text);
    pg = render("", 0);
    CHECK(pg.rc == -1 && pg.err[0], "empty json");
    free(pg.text);
    pg = render("  [1,2]", 7);
    CHECK(pg.rc == -1 && strstr(pg.err, "JSON object"), "an array: %s", pg.err);
    free(pg.text);
    /* Only len bytes are read: the object starts past the end. */
    pg = render("   {}", 3);
    CHECK(pg.rc == -1, "object past len");
    free(pg.text);
}

static void test_bom_and_whitespace(void)
{
    const char in[] = "\xEF\xBB\xBF\n {\"head\":{}}";
    struct page pg = render(in, sizeof in - 1);
    CHECK(pg.rc == 0, "rc %d", pg.rc);
    char *data = pg.text ? data_block(pg.text) : NULL;
    CHECK(data && !strcmp(data, "\n {\"head\":{}}"), "the BOM is dropped: '%s'", data ? data : "");
    free(data);
    free(pg.text);
}

/* A big profile is a straight copy: the size adds up exactly. */
static void test_large(void)
{
    size_t n = 4u << 20, lts = 0;
    char *in = malloc(n + 1);
    if (!in)
        return;
    memcpy(in, "{\"x\":\"", 6);
    for (size_t i = 6; i < n - 2; i++) {
        in[i] = (i % 97 == 0) ? '<' : 'a';
        lts += in[i] == '<';
    }
    memcpy(in + n - 2, "\"}", 2);
    in[n] = '\0';
    struct page empty = render("{}", 2);
    struct page pg = render(in, n);
    CHECK(pg.rc == 0 && empty.rc == 0, "rc");
    CHECK(pg.len == empty.len - 2 + n + 5 * lts, "size %zu", pg.len);
    free(empty.text);
    free(pg.text);
    free(in);
}

int main(void)
{
    test_one_file();
    test_script_escape();
    test_assets();
    test_rejects();
    test_bom_and_whitespace();
    test_large();
    return END();
}
