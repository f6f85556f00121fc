/* nodeprof memory FILE.memory.jsonl [--json] [--html OUT]: the summary of
 * a memory timeline (formats/memtimeline.h) and its verdict. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "formats/memtimeline.h"

static const char memory_usage[] =
    "usage: nodeprof memory FILE.memory.jsonl [--json] [--html OUT]\n"
    "Summarises a memory timeline written with NODEPROF_MEMORY: duration, heap after full GC\n"
    "at start and end, its growth per hour (Theil-Sen fit over the after-GC points), GC time\n"
    "share and worst pauses, event-loop delay, and a verdict: steady, likely a leak, or a\n"
    "high-water mark. --json prints it as one JSON object; --html OUT also writes a\n"
    "self-contained page with the charts.\n";

/* Reads the file line by line; a last line without its newline (the writer
 * was killed mid-way, which one write per line makes unlikely) is read too. */
static int read_file(const char *path, struct np_mem_timeline *tl)
{
    FILE *in = fopen(path, "rb");
    if (!in) {
        fprintf(stderr, "nodeprof memory: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&line, &cap, in)) >= 0) {
        if (n > 0 && line[n - 1] == '\n') n--;
        if (n == 0) continue;
        if (np_memtl_read_line(tl, line, (size_t)n) < 0) {
            fprintf(stderr, "nodeprof memory: out of memory\n");
            rc = -1;
            break;
        }
    }
    if (ferror(in)) {
        fprintf(stderr, "nodeprof memory: %s: read error\n", path);
        rc = -1;
    }
    free(line);
    fclose(in);
    if (rc == 0 && !tl->have_header && tl->n == 0) {
        fprintf(stderr, "nodeprof memory: %s: not a memory timeline (no header, no samples)\n", path);
        rc = -1;
    }
    return rc;
}

static int write_html(const char *path, const struct np_mem_timeline *tl, const struct np_mem_summary *s)
{
    FILE *out = fopen(path, "wb");
    if (!out) {
        fprintf(stderr, "nodeprof memory: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = np_memtl_write_html(tl, s, out);
    if (fclose(out) != 0) rc = -1;
    if (rc) fprintf(stderr, "nodeprof memory: cannot write %s\n", path);
    return rc;
}

int cli_memory(int argc, char **argv)
{
    const char *file = NULL, *html = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { fputs(memory_usage, stdout); return 0; }
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--html") && i + 1 < argc) html = argv[++i];
        else if (argv[i][0] != '-' && !file) file = argv[i];
        else { fputs(memory_usage, stderr); return 2; }
    }
    if (!file) { fputs(memory_usage, stderr); return 2; }
    struct np_mem_timeline tl;
    struct np_mem_summary s;
    np_memtl_init(&tl, 0);
    int rc = read_file(file, &tl);
    if (rc == 0) {
        np_memtl_summarize(&tl, &s);
        if (json) np_memtl_print_json(&tl, &s, stdout);
        else np_memtl_print_text(&tl, &s, stdout);
        if (tl.bad_lines) fprintf(stderr, "nodeprof memory: %zu line(s) skipped (not a header or a sample)\n", tl.bad_lines);
        if (html && write_html(html, &tl, &s)) rc = -1;
    }
    np_memtl_free(&tl);
    return rc ? 1 : 0;
}
