/* nodeprof symbolize FILE: names the frames of a crash report
 * (src/native/crash.h), offline. Each frame line
 *   "  #3  0x00007f...  /path/to/module+0xOFFSET"
 * gets the function at that file offset, from the module's .symtab and
 * .dynsym (common/elfsym.h), demangled when libstdc++ is at hand:
 *   "  #3  0x00007f...  /path/to/module+0xOFFSET  compute_digest+0x42"
 * Other lines are printed as they are. The binaries must be the ones that
 * crashed: a module rebuilt since gives wrong names. */
#include <dlfcn.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/elfsym.h"

#define MAX_MODULES 64

struct module {
    char *path;
    struct np_elfsym *syms; /* NULL: unreadable */
};

static struct module modules[MAX_MODULES];
static int nmodules;

static struct np_elfsym *symbols_of(const char *path)
{
    for (int i = 0; i < nmodules; i++)
        if (!strcmp(modules[i].path, path)) return modules[i].syms;
    if (nmodules == MAX_MODULES) return NULL;
    char err[600];
    struct np_elfsym *e = np_elfsym_open(path, err, sizeof err);
    if (!e) fprintf(stderr, "nodeprof: %s\n", err);
    modules[nmodules].path = strdup(path);
    modules[nmodules++].syms = e;
    return e;
}

static char *(*demangle)(const char *, char *, size_t *, int *);

static void load_demangler(void)
{
    void *lib = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
    if (lib) *(void **)&demangle = dlsym(lib, "__cxa_demangle");
}

/* "  #N  0xADDR /path+0xOFF": the frame number, path and offset; -1 if
 * the line is not a frame. */
static int parse_frame(char *line, char **path, uint64_t *offset)
{
    char *p = line;
    while (*p == ' ') p++;
    if (*p != '#') return -1;
    int number = atoi(p + 1);
    char *slash = strstr(p, " /");
    char *plus = slash ? strrchr(slash, '+') : NULL;
    if (!plus || strncmp(plus, "+0x", 3)) return -1;
    char *end;
    *offset = strtoull(plus + 3, &end, 16);
    if (end == plus + 3 || (*end && *end != '\n')) return -1;
    *plus = '\0';
    *path = slash + 1;
    return number;
}

static void symbolize_line(char *line, FILE *out)
{
    char copy[8192], *path;
    uint64_t offset, addr, off;
    line[strcspn(line, "\n")] = '\0';
    snprintf(copy, sizeof copy, "%s", line);
    int number = parse_frame(copy, &path, &offset);
    struct np_elfsym *e = number >= 0 ? symbols_of(path) : NULL;
    /* Below the innermost frame, a return address: the call is just
     * before it (and may end its function). */
    uint64_t back = number > 0 && offset > 0 ? 1 : 0;
    const char *name = e && np_elfsym_offset_to_address(e, offset - back, &addr) == 0 ? np_elfsym_lookup(e, addr, &off) : NULL;
    off += back;
    if (!name) {
        fprintf(out, "%s\n", line);
        return;
    }
    int status = -1;
    char *plain = demangle && name[0] == '_' && name[1] == 'Z' ? demangle(name, NULL, NULL, &status) : NULL;
    fprintf(out, "%s  %s+0x%" PRIx64 "\n", line, status == 0 && plain ? plain : name, off);
    free(plain);
}

int cli_symbolize(int argc, char **argv)
{
    if (argc != 2 || !strcmp(argv[1], "--help")) {
        fputs("usage: nodeprof symbolize CRASH.txt\n"
              "Names the functions of a crash report's frames (module+offset) from the binaries on this\n"
              "machine, which must be those that crashed.\n", argc == 2 ? stdout : stderr);
        return argc == 2 ? 0 : 2;
    }
    FILE *in = fopen(argv[1], "re");
    if (!in) {
        fprintf(stderr, "nodeprof: cannot read %s: %m\n", argv[1]);
        return 1;
    }
    load_demangler();
    char line[8192];
    while (fgets(line, sizeof line, in)) symbolize_line(line, stdout);
    fclose(in);
    for (int i = 0; i < nmodules; i++) {
        np_elfsym_close(modules[i].syms);
        free(modules[i].path);
    }
    return 0;
}
