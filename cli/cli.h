/* The nodeprof command: one function per subcommand, each taking the
 * arguments after the subcommand name (argv[0] is the subcommand). */
#ifndef NP_CLI_H
#define NP_CLI_H

int cli_run(int argc, char **argv);      /* run.c */
int cli_convert(int argc, char **argv);  /* convert.c */
int cli_top(int argc, char **argv);      /* convert.c */
int cli_merge(int argc, char **argv);    /* convert.c */
int cli_ctl(int argc, char **argv);      /* ctl.c */
int cli_list(int argc, char **argv);     /* ctl.c */
int cli_config(int argc, char **argv);   /* main.c */
int cli_memory(int argc, char **argv);   /* memory.c */
int cli_symbolize(int argc, char **argv); /* symbolize.c */
int cli_upload(int argc, char **argv);   /* upload.c */
int cli_heap(int argc, char **argv);     /* heap.c */

/* --source-maps DIR and --no-source-maps (sourcemaps.c). */
struct np_profile;
struct cli_sourcemaps {
    int off;
    const char *dir;
};
/* 1 if argv[*i] was one of them (*i moved past its value), 0 if not, -1
 * (reported) if its value is missing. */
int cli_sourcemap_option(int argc, char **argv, int *i, struct cli_sourcemaps *sm);
/* Maps p's frames; problems with single maps are reported and skipped.
 * 0, or -1 (reported) if nothing could be done (no memory, bad DIR). */
int cli_sourcemap_apply(struct np_profile *p, const struct cli_sourcemaps *sm);

/* Where the library is: next to the command (build/) or PREFIX/lib. */
int cli_find_library(char *out, size_t len);

#endif
