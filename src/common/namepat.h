/* File name patterns (NODEPROF_NAME): %p pid, %t UTC time, %n sequence,
 * %h host name, %w worker thread id, %s script, %c command (procname.h),
 * %{VAR} environment variable, %%. */
#ifndef NP_NAMEPAT_H
#define NP_NAMEPAT_H

#include <stddef.h>
#include <time.h>

struct np_name_vars {
    long pid;
    time_t when;
    unsigned long seq;
    int thread_id;          /* 0 on the main thread */
    const char *host;
    const char *script;     /* %s, %c: NULL gives "node" */
    const char *command;
    char *const *envp;      /* for %{VAR} */
};

/* Expands pattern into out. Characters that cannot be in a file name
 * ('/' and NUL from variables) become '_'. Returns 0, or -1 with *why set
 * when the pattern is malformed or the result does not fit. */
int np_name_expand(const char *pattern, const struct np_name_vars *v,
                   char *out, size_t outlen, const char **why);

#endif
