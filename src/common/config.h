/* Configuration: every NODEPROF_* variable, parsed and validated in one place
 * from one table (config.c). Bad values are reported, never fatal: the
 * default is used instead. */
#ifndef NP_CONFIG_H
#define NP_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "formats/kind.h" /* enum np_format */

#define NP_PATH_MAX 4096

/* NODEPROF_S3_ADDRESSING, in its table's order. */
enum np_s3_addressing { NP_S3_AUTO, NP_S3_PATH, NP_S3_VIRTUAL };

enum np_signal_action { NP_SIGACT_DUMP, NP_SIGACT_TOGGLE, NP_SIGACT_HEAPSNAPSHOT, NP_SIGACT_STACKS };

struct np_config {
    bool disable;
    char dir[NP_PATH_MAX];
    long file_mode;                /* permission bits of every file written */
    char name[256];
    bool cpu;
    long cpu_interval_us;
    long cpu_window_ms;            /* fold older CPU samples; 0 = off */
    bool workers;
    char match[1024];
    int log_level;                 /* enum np_log_level */
    char log_file[NP_PATH_MAX];
    char manifest[NP_PATH_MAX];
    char fifo[NP_PATH_MAX];        /* "on", "off" or a path */
    int signal;                    /* 0 = off */
    int signal_action;             /* enum np_signal_action */
    bool heap;
    long heap_interval;            /* bytes */
    long heapsnapshot_near_limit;  /* snapshots, 0 = off */
    long period_ms;                /* 0 = off */
    long keep;                     /* 0 = keep all */
    unsigned formats;              /* enum np_format bits */
    int helper;                    /* the helper worker (rescue path): 0 off, 1 on, 2 eager */
    long snapshot_factor;          /* snapshot peak memory / used heap; 0 = no check */
    bool sourcemaps;               /* map derived formats' frames (formats/remap.h) */
    long memory_ms;                /* NODEPROF_MEMORY: timeline period; 0 = off (memory.h) */
    long memory_file_size;         /* a new timeline file past this many bytes */
    bool crash;                    /* crash reports (src/native/crash.h) */
    bool leak_watch;               /* NODEPROF_LEAK_WATCH (src/leakwatch.h) */
    long leak_growth_pct;          /* percent over the level at the end of start-up */
    long leak_settle_ms;           /* the end of start-up; 0: the first full GC */
    char http[256];                /* NODEPROF_HTTP: "off" or an address (http.h) */
    char http_token_file[NP_PATH_MAX];
    /* Export to S3-compatible storage (src/export.h, common/s3.h). */
    char export_url[1024];         /* s3://bucket/prefix/; empty = off */
    char s3_endpoint[512];
    char s3_region[64];            /* empty: AWS_REGION, else us-east-1 */
    int s3_addressing;             /* enum np_s3_addressing */
    bool export_keep_local;
    long export_exit_wait_ms;      /* 0 = do not wait */
    long export_spool_max;         /* files waiting for upload */
    char labels[512];              /* NODEPROF_LABELS, expanded and checked (labels.h) */
};

/* Called once per problem found, with a complete message (no prefix). */
typedef void (*np_config_report_fn)(void *ctx, const char *msg);

/* Fills cfg from envp (NULL-terminated "NAME=value" strings). Never fails:
 * every bad value is reported and replaced by its default; unknown
 * NODEPROF_* names are reported with the closest known name. report may be
 * NULL: then nothing is reported. */
void np_config_load(struct np_config *cfg, char *const *envp,
                    np_config_report_fn report, void *ctx);

/* Sets cfg to the defaults of every variable. */
void np_config_defaults(struct np_config *cfg);

/* The documentation table (markdown rows, as in README.md). */
void np_config_print_markdown(FILE *out);

/* Writes "NAME=value" lines of the configuration in force (for `status`). */
void np_config_print(const struct np_config *cfg, FILE *out);

/* Parsers shared with the command line and the control commands. Each
 * returns 0, or -1 with a reason in *why. */
int np_parse_long(const char *s, long min, long max, long *out, const char **why);
int np_parse_duration_ms(const char *s, long *out, const char **why);
int np_parse_bytes(const char *s, long *out, const char **why);
int np_parse_signal(const char *s, int *out, const char **why);
int np_parse_formats(const char *s, unsigned *out, const char **why);
int np_parse_file_mode(const char *s, long *out, const char **why);
const char *np_format_name(unsigned one_format);
const char *np_signal_name(int sig);

#endif
