#include "native/symbolize.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/elfsym.h"

#define MAX_MODULES 64

struct module {
    uintptr_t bias;         /* link_map l_addr */
    char path[PATH_MAX];
    struct np_elfsym *syms; /* NULL: not read (yet, or unreadable) */
    bool tried;
};

struct np_symbolizer {
    struct module modules[MAX_MODULES];
    int n;
    char *(*demangle)(const char *, char *, size_t *, int *);
};

struct np_symbolizer *np_symbolizer_new(void)
{
    struct np_symbolizer *s = calloc(1, sizeof *s);
    if (s) *(void **)&s->demangle = dlsym(RTLD_DEFAULT, "__cxa_demangle");
    return s;
}

void np_symbolizer_free(struct np_symbolizer *s)
{
    if (!s) return;
    for (int i = 0; i < s->n; i++) np_elfsym_close(s->modules[i].syms);
    free(s);
}

/* The module holding ip; the main program (l_name "") is /proc/self/exe. */
static struct module *module_of(struct np_symbolizer *s, uintptr_t ip, Dl_info *info)
{
    struct link_map *lm = NULL;
    if (!dladdr1((void *)ip, info, (void **)&lm, RTLD_DL_LINKMAP) || !lm) return NULL;
    char path[PATH_MAX];
    if (lm->l_name && lm->l_name[0]) snprintf(path, sizeof path, "%s", lm->l_name);
    else {
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        path[n > 0 ? n : 0] = '\0';
    }
    for (int i = 0; i < s->n; i++)
        if (s->modules[i].bias == lm->l_addr && !strcmp(s->modules[i].path, path)) return &s->modules[i];
    if (s->n == MAX_MODULES) return NULL;
    struct module *m = &s->modules[s->n++];
    m->bias = lm->l_addr;
    snprintf(m->path, sizeof m->path, "%s", path);
    return m;
}

static const char *from_elf(struct module *m, uintptr_t ip, uint64_t *off)
{
    if (!m->tried) {
        char err[PATH_MAX + 64];
        m->tried = true;
        m->syms = np_elfsym_open(m->path, err, sizeof err); /* vdso, deleted files: none */
    }
    return m->syms ? np_elfsym_lookup(m->syms, (uint64_t)(ip - m->bias), off) : NULL;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* name, its offset and module for the function containing ip. */
static const char *lookup(struct np_symbolizer *s, uintptr_t ip, uint64_t *off, struct module **mod)
{
    Dl_info info;
    memset(&info, 0, sizeof info);
    *mod = module_of(s, ip, &info);
    if (!*mod) return NULL;
    if (info.dli_sname && info.dli_saddr) {
        *off = (uint64_t)(ip - (uintptr_t)info.dli_saddr);
        return info.dli_sname;
    }
    return from_elf(*mod, ip, off);
}

static void write_name(struct np_symbolizer *s, const char *name, FILE *out)
{
    int status = -1;
    char *plain = s->demangle && name[0] == '_' && name[1] == 'Z' ? s->demangle(name, NULL, NULL, &status) : NULL;
    fputs(status == 0 && plain ? plain : name, out);
    free(plain);
}

void np_symbolize_write(struct np_symbolizer *s, const struct np_native_stack *stack, FILE *out)
{
    int signal_frame = np_symbolize_signal_frame(stack);
    for (int i = 0; i < stack->depth; i++) {
        uintptr_t ip = stack->ip[i];
        /* A return address may be just past its call's function (a call
         * to a noreturn function ends it): look up the call itself. The
         * frame under a signal trampoline was interrupted: ip is exact. */
        uintptr_t at = i > 0 && i != signal_frame + 1 ? ip - 1 : ip;
        uint64_t off = 0;
        struct module *m = NULL;
        const char *name = lookup(s, at, &off, &m);
        fprintf(out, "  #%-2d 0x%016lx ", i, (unsigned long)ip);
        if (name) {
            write_name(s, name, out);
            fprintf(out, "+0x%llx", (unsigned long long)(off + (ip - at)));
        } else {
            fputs("??", out);
        }
        if (m) fprintf(out, " (%s+0x%lx)\n", base_name(m->path), (unsigned long)(ip - m->bias));
        else fputs(" (JavaScript or generated code)\n", out);
    }
    if (stack->truncated) fprintf(out, "  ... (deeper frames not shown)\n");
}

/* glibc's __restore_rt on x86-64, where a signal handler returns to:
 * mov $15, %rax (rt_sigreturn); syscall. */
static const unsigned char sigreturn_code[] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 };

static bool is_trampoline(uintptr_t ip)
{
    Dl_info info;
    /* Only code of a loaded module is read: it is mapped. */
    return dladdr((void *)ip, &info) && !memcmp((const void *)ip, sigreturn_code, sizeof sigreturn_code);
}

int np_symbolize_signal_frame(const struct np_native_stack *stack)
{
    for (int i = 1; i < stack->depth; i++)
        if (is_trampoline(stack->ip[i])) return i;
    return -1;
}

void np_symbolize_skip_handler_entry(struct np_symbolizer *s, struct np_native_stack *stack)
{
    uint64_t off = 1;
    struct module *m;
    if (stack->depth < 3 || !is_trampoline(stack->ip[1]) || !lookup(s, stack->ip[0], &off, &m) || off != 0) return;
    memmove(stack->ip, stack->ip + 2, (size_t)(stack->depth - 2) * sizeof *stack->ip);
    stack->depth -= 2;
}

/* nodeprof's two objects: this agent, and the preloaded libnodeprof.so
 * that loaded it (RTLD_LOCAL), whose trampoline is the global scope's
 * napi_register_module_v1: it is on the stack during the agent's start-up.
 * Their paths as the dynamic loader names them, looked up once. */
static struct {
    pthread_once_t once;
    char agent[PATH_MAX], preload[PATH_MAX];
} self = { .once = PTHREAD_ONCE_INIT };

static void find_self(void)
{
    Dl_info info;
    if (dladdr((void *)np_symbolize_kind, &info) && info.dli_fname)
        snprintf(self.agent, sizeof self.agent, "%s", info.dli_fname);
    void *trampoline = dlsym(RTLD_DEFAULT, "napi_register_module_v1");
    if (trampoline && dladdr(trampoline, &info) && info.dli_fname)
        snprintf(self.preload, sizeof self.preload, "%s", info.dli_fname);
}

static bool is_self(const char *path)
{
    pthread_once(&self.once, find_self);
    return (self.agent[0] && !strcmp(self.agent, path)) || (self.preload[0] && !strcmp(self.preload, path));
}

enum np_code_kind np_symbolize_kind(struct np_symbolizer *s, uintptr_t ip)
{
    uint64_t off;
    struct module *m = NULL;
    const char *name = lookup(s, ip, &off, &m);
    if (!m || (name && !strncmp(name, "Builtins_", 9))) return NP_CODE_JAVASCRIPT;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    if (!strcmp(m->path, exe)) return NP_CODE_NODE;
    if (!strncmp(m->path, "/lib", 4) || !strncmp(m->path, "/usr/lib", 8) || !strchr(m->path, '/') || is_self(m->path))
        return NP_CODE_SYSTEM;
    return NP_CODE_ADDON;
}

const char *np_symbolize_name(struct np_symbolizer *s, uintptr_t ip, char *buf, size_t len)
{
    uint64_t off;
    struct module *m;
    const char *name = lookup(s, ip, &off, &m);
    int status = -1;
    char *plain = name && s->demangle && name[0] == '_' && name[1] == 'Z' ? s->demangle(name, NULL, NULL, &status) : NULL;
    snprintf(buf, len, "%s", status == 0 && plain ? plain : name ? name : "");
    free(plain);
    return buf;
}
