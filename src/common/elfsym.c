#include "common/elfsym.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* A symbol without a size (assembler labels) covers at most this much. */
#define UNSIZED_SPAN 4096

struct np_elfsym_fn {
    uint64_t addr, size;
    const char *name; /* in the mapping */
};

struct np_elfsym {
    void *map;
    size_t map_len;
    struct np_elfsym_fn *fns;
    size_t n;
};

static int fail(char *err, size_t errlen, const char *path, const char *why)
{
    snprintf(err, errlen, "%s: %s", path, why);
    return -1;
}

static bool in_file(const struct np_elfsym *e, uint64_t off, uint64_t len)
{
    return off <= e->map_len && len <= e->map_len - off;
}

static int by_addr(const void *a, const void *b)
{
    const struct np_elfsym_fn *x = a, *y = b;
    if (x->addr != y->addr) return x->addr < y->addr ? -1 : 1;
    /* Of aliases, the sized one first: it is the one kept. */
    return (x->size == 0) - (y->size == 0);
}

/* Appends the functions of one symbol table section (SYMTAB or DYNSYM). */
static int read_table(struct np_elfsym *e, const Elf64_Shdr *sh, const Elf64_Shdr *shdrs, uint16_t shnum)
{
    if (sh->sh_entsize != sizeof(Elf64_Sym) || sh->sh_offset % 8 || !in_file(e, sh->sh_offset, sh->sh_size) || sh->sh_link >= shnum)
        return 0;
    const Elf64_Shdr *str = &shdrs[sh->sh_link];
    if (str->sh_type != SHT_STRTAB || !in_file(e, str->sh_offset, str->sh_size) || str->sh_size == 0) return 0;
    const char *strtab = (const char *)e->map + str->sh_offset;
    if (strtab[str->sh_size - 1] != '\0') return 0; /* names must end inside */
    size_t count = sh->sh_size / sizeof(Elf64_Sym);
    struct np_elfsym_fn *fns = realloc(e->fns, (e->n + count) * sizeof *fns);
    if (!fns) return -1;
    e->fns = fns;
    const Elf64_Sym *syms = (const Elf64_Sym *)((const char *)e->map + sh->sh_offset);
    for (size_t i = 0; i < count; i++) {
        const Elf64_Sym *s = &syms[i];
        if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF || s->st_value == 0 ||
            s->st_name == 0 || s->st_name >= str->sh_size)
            continue;
        fns[e->n++] = (struct np_elfsym_fn){ s->st_value, s->st_size, strtab + s->st_name };
    }
    return 0;
}

/* Sorts and drops duplicates (a function in both tables, aliases). */
static void sort_unique(struct np_elfsym *e)
{
    if (e->n == 0) return;
    qsort(e->fns, e->n, sizeof *e->fns, by_addr);
    size_t k = 0;
    for (size_t i = 1; i < e->n; i++)
        if (e->fns[i].addr != e->fns[k].addr) e->fns[++k] = e->fns[i];
    e->n = k + 1;
}

static int read_sections(struct np_elfsym *e, const char *path, char *err, size_t errlen)
{
    const Elf64_Ehdr *eh = e->map;
    if (e->map_len < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64)
        return fail(err, errlen, path, "not a 64-bit ELF file");
    if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shnum == 0 || eh->e_shoff % 8 ||
        !in_file(e, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)))
        return fail(err, errlen, path, "no section headers");
    const Elf64_Shdr *shdrs = (const Elf64_Shdr *)((const char *)e->map + eh->e_shoff);
    for (uint16_t i = 0; i < eh->e_shnum; i++)
        if ((shdrs[i].sh_type == SHT_SYMTAB || shdrs[i].sh_type == SHT_DYNSYM) &&
            read_table(e, &shdrs[i], shdrs, eh->e_shnum))
            return fail(err, errlen, path, "out of memory");
    sort_unique(e);
    if (e->n == 0) return fail(err, errlen, path, "no function symbols");
    return 0;
}

struct np_elfsym *np_elfsym_open(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
        fail(err, errlen, path, fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0) close(fd);
        return NULL;
    }
    struct np_elfsym *e = calloc(1, sizeof *e);
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (!e || map == MAP_FAILED) {
        fail(err, errlen, path, map == MAP_FAILED ? strerror(errno) : "out of memory");
        if (map != MAP_FAILED) munmap(map, (size_t)st.st_size);
        free(e);
        return NULL;
    }
    e->map = map;
    e->map_len = (size_t)st.st_size;
    if (read_sections(e, path, err, errlen)) {
        np_elfsym_close(e);
        return NULL;
    }
    return e;
}

void np_elfsym_close(struct np_elfsym *e)
{
    if (!e) return;
    if (e->map) munmap(e->map, e->map_len);
    free(e->fns);
    free(e);
}

const char *np_elfsym_lookup(const struct np_elfsym *e, uint64_t addr, uint64_t *offset)
{
    if (!e || e->n == 0 || addr < e->fns[0].addr) return NULL;
    size_t lo = 0, hi = e->n; /* the last function starting at or before addr */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->fns[mid].addr <= addr) lo = mid;
        else hi = mid;
    }
    const struct np_elfsym_fn *f = &e->fns[lo];
    uint64_t span = f->size;
    if (span == 0) {
        span = lo + 1 < e->n ? e->fns[lo + 1].addr - f->addr : UNSIZED_SPAN;
        if (span > UNSIZED_SPAN) span = UNSIZED_SPAN;
    }
    if (addr - f->addr >= span) return NULL;
    *offset = addr - f->addr;
    return f->name;
}

int np_elfsym_offset_to_address(const struct np_elfsym *e, uint64_t offset, uint64_t *addr)
{
    const Elf64_Ehdr *eh = e->map;
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff % 8 ||
        !in_file(e, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)))
        return -1;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)e->map + eh->e_phoff);
    for (uint16_t i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && offset >= ph[i].p_offset && offset - ph[i].p_offset < ph[i].p_filesz) {
            *addr = offset - ph[i].p_offset + ph[i].p_vaddr;
            return 0;
        }
    return -1;
}

size_t np_elfsym_count(const struct np_elfsym *e)
{
    return e ? e->n : 0;
}
