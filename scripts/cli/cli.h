/* The nodeprof command: one function per subcommand, each taking the
 * arguments after the subcommand name (argv[0] is the subcommand). */
#ifndef NP_CLI_H
#define NP_CLI_H

int cli_run(int argc, char **argv);      /* run.c */
int cli_convert(int argc, char **argv);  /* convert.c */
int cli_top(int argc, char **argv);      /* convert.c */
int cli_ctl(int argc, char **argv);      /* ctl.c */
int cli_list(int argc, char **argv);     /* ctl.c */
int cli_config(int argc, char **argv);   /* main.c */

/* Where the library is: next to the command (build/) or PREFIX/lib. */
int cli_find_library(char *out, size_t len);

#endif
