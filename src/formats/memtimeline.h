/* The memory timeline (NODEPROF_MEMORY): its samples, the reader of the
 * `.memory.jsonl` file, and the analysis that tells a leak from a
 * high-water mark. Pure C, shared by the agent (`ctl PID memory`, over the
 * samples it keeps) and the CLI (`nodeprof memory FILE`).
 *
 * The file is one JSON object per line: first a header
 * ({"type":"header","format":"nodeprof-memory",...}), then one
 * {"type":"sample",...} per period (memory.c writes them; README "Memory
 * timeline" lists the fields). Lines are read one at a time with cJSON (a
 * line is under 4 KB; a week at 10 s is 60,000 of them), and only numbers
 * are kept: about 400 bytes a sample.
 *
 * The verdict is drawn from the heap used after full (mark-compact) GCs,
 * not from heapUsed, which saws up and down between collections. When the
 * file has fewer than NP_MEMTL_MIN_POINTS samples with a fresh after-GC
 * figure (a quiet process may run for minutes without a full GC), the
 * floor of heapUsed less the new space (young objects, whose garbage comes
 * and goes between scavenges) is used instead: its minimum over each of up to
 * NP_MEMTL_FLOOR_WINDOWS equal stretches of time, with at least four
 * samples in each (so that each holds a trough of the saw). The growth rate is the
 * Theil-Sen slope (the median of the slopes between every pair of points):
 * one outlier (a burst, a cache filled once) moves it far less than a least
 * squares fit. Thresholds (documented in README):
 *   - growth over the whole span below max(2 MiB, 10% of the starting
 *     level): "steady";
 *   - otherwise, if the last third of the points still rises at least 30%
 *     as fast as the whole: "growing N MB/h for H hours (R² r): likely a
 *     leak";
 *   - otherwise: "grew, then flat: a high-water mark, not a leak". */
#ifndef NP_MEMTIMELINE_H
#define NP_MEMTIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define NP_MEM_SPACES 12
#define NP_MEM_SPACE_NAME 32
#define NP_MEMTL_LINE_MAX 65536
#define NP_MEMTL_MIN_POINTS 4
#define NP_MEMTL_FLOOR_WINDOWS 12

/* GC kinds, in the file's order. */
enum np_gc_kind { NP_GC_SCAVENGE, NP_GC_MARK_COMPACT, NP_GC_INCREMENTAL, NP_GC_WEAK, NP_GC_KINDS };
extern const char *const np_gc_kind_names[NP_GC_KINDS]; /* "scavenge", "markCompact", ... */

/* One sample. Byte counts and milliseconds as doubles; -1 is "unknown". */
struct np_mem_sample {
    double t_ms;                 /* wall clock, ms since the epoch */
    double rss, heap_total, heap_used, external, array_buffers;
    double heap_after_gc;        /* after the last full GC so far; -1 before the first */
    bool after_gc_fresh;         /* a full GC ended since the previous sample */
    double gc_count[NP_GC_KINDS], gc_ms[NP_GC_KINDS];
    double gc_max_ms;            /* the longest single pause since the previous sample */
    double loop_p50_ms, loop_p99_ms, loop_max_ms;
    double space_used[NP_MEM_SPACES], space_committed[NP_MEM_SPACES];
};

struct np_mem_timeline {
    bool have_header;
    long pid;
    char node[32];
    double start_ms, period_ms;
    int nspaces;
    char space_names[NP_MEM_SPACES][NP_MEM_SPACE_NAME];
    struct np_mem_sample *samples;
    size_t n, cap;
    size_t max_samples;          /* 0: no limit; else the oldest are dropped (a ring) */
    size_t bad_lines;            /* lines that were not a header or a sample */
};

void np_memtl_init(struct np_mem_timeline *tl, size_t max_samples);
void np_memtl_free(struct np_mem_timeline *tl);

/* Adds a sample (copied); with max_samples, the oldest is dropped. Space
 * figures are matched by name: names not seen yet are added (up to
 * NP_MEM_SPACES). Returns 0 or -1 (no memory). */
int np_memtl_add(struct np_mem_timeline *tl, const struct np_mem_sample *s);
/* The slot of a heap space by name, added if new; -1 when full. */
int np_memtl_space(struct np_mem_timeline *tl, const char *name);

/* Reads one line of a .memory.jsonl file (without its newline). A header
 * fills the timeline's fields; a sample is added. Returns 1 for a header, 2
 * for a sample, 0 for a line that is neither (counted in bad_lines; a file
 * cut by a crash ends in whole lines, but a foreign line is skipped, not
 * fatal), -1 for no memory. */
int np_memtl_read_line(struct np_mem_timeline *tl, const char *line, size_t len);

enum np_mem_verdict { NP_MEM_TOO_SHORT, NP_MEM_STEADY, NP_MEM_LEAK, NP_MEM_HIGH_WATER };

#define NP_MEMTL_WORST 5

struct np_mem_summary {
    size_t samples;
    double duration_ms;
    size_t points;               /* after-GC points the fit used */
    bool from_floor;             /* too few full GCs: the heapUsed floor was used */
    double start_level, end_level; /* heap after full GC (fit line at start and end), bytes */
    double first_after_gc, last_after_gc; /* as measured; -1 if none */
    double slope_per_h;          /* bytes per hour (Theil-Sen) */
    double tail_slope_per_h;     /* over the last third of the points */
    double r2;                   /* of the Theil-Sen line over the points */
    double growth;               /* slope over the whole span, bytes */
    double threshold;            /* growth that counts, bytes */
    double gc_ms, gc_share;      /* total pause and its share of the duration */
    double gc_count[NP_GC_KINDS], gc_total_ms[NP_GC_KINDS];
    size_t nworst;
    struct { double at_ms, pause_ms; } worst[NP_MEMTL_WORST]; /* at: since the first sample */
    double loop_p50_ms, loop_p99_ms, loop_max_ms; /* median p50, largest p99, largest max; -1 none */
    double rss_start, rss_end, rss_max;
    enum np_mem_verdict verdict;
    char verdict_text[256];
};

/* Analyses the samples. Never fails; with fewer than two samples the
 * verdict is NP_MEM_TOO_SHORT. */
void np_memtl_summarize(const struct np_mem_timeline *tl, struct np_mem_summary *out);

/* The summary as text (for humans) or one JSON object. */
void np_memtl_print_text(const struct np_mem_timeline *tl, const struct np_mem_summary *s, FILE *out);
void np_memtl_print_json(const struct np_mem_timeline *tl, const struct np_mem_summary *s, FILE *out);

/* The self-contained HTML page with the charts. Returns 0 or -1. */
int np_memtl_write_html(const struct np_mem_timeline *tl, const struct np_mem_summary *s, FILE *out);

/* Theil-Sen over (x, y): slope and intercept; 0 with fewer than 2 points.
 * Uses at most 1000 points (evenly picked). Exposed for the unit test. */
int np_theil_sen(const double *x, const double *y, size_t n, double *slope, double *intercept);

#endif
