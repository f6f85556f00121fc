/* The ELF symbol reader (src/common/elfsym.c): lookups in this very test
 * binary, and files that are not what they claim. */
#include <elf.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "common/elfsym.h"

/* Not exported, not inlined: only .symtab names it. */
__attribute__((noinline)) int np_test_hidden_function(int x);
__attribute__((noinline)) int np_test_hidden_function(int x)
{
    return x * 3 + 1;
}

static uint64_t file_address(void *fn)
{
    Dl_info info;
    struct link_map *lm = NULL;
    if (!dladdr1(fn, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm) return 0;
    return (uint64_t)(uintptr_t)fn - lm->l_addr;
}

static void test_own_binary(void)
{
    char err[256];
    struct np_elfsym *e = np_elfsym_open("/proc/self/exe", err, sizeof err);
    CHECK(e != NULL, "%s", err);
    if (!e) return;
    CHECK(np_elfsym_count(e) > 10, "%zu symbols", np_elfsym_count(e));
    uint64_t off = 99, at = file_address((void *)np_test_hidden_function);
    CHECK_STR(np_elfsym_lookup(e, at, &off), "np_test_hidden_function");
    CHECK(off == 0, "offset %llu", (unsigned long long)off);
    CHECK_STR(np_elfsym_lookup(e, at + 3, &off), "np_test_hidden_function");
    CHECK(off == 3, "offset %llu", (unsigned long long)off);
    at = file_address((void *)np_elfsym_lookup);
    CHECK_STR(np_elfsym_lookup(e, at + 1, &off), "np_elfsym_lookup");
    CHECK(np_elfsym_lookup(e, 1, &off) == NULL, "address 1 is in no function");
    CHECK(np_elfsym_lookup(e, UINT64_MAX, &off) == NULL, "the last address is in no function");
    CHECK(np_test_hidden_function(1) == 4, "keeps the function");
    /* A crash report's file offset, back to the function: the offset of
     * the function in /proc/self/maps terms is its address in the file. */
    uint64_t addr = 0, fn = file_address((void *)np_test_hidden_function);
    CHECK(np_elfsym_offset_to_address(e, fn, &addr) == 0, "offset of the function is mapped");
    CHECK(addr == fn, "PIE text: offset and address agree (%llx, %llx)", (unsigned long long)addr, (unsigned long long)fn);
    CHECK(np_elfsym_offset_to_address(e, UINT64_MAX / 2, &addr) == -1, "an offset past the file");
    np_elfsym_close(e);
}

static void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return;
    if (write(fd, data, len) != (ssize_t)len) { /* checked by the open below */ }
    close(fd);
}

/* Truncated and corrupted copies of a real ELF file: NULL or a usable
 * table, never a read outside the file (ASan watches). */
static void test_bad_files(void)
{
    char err[256], path[] = "/tmp/np-elfsym-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0) return;
    close(fd);
    CHECK(np_elfsym_open("/nonexistent/x", err, sizeof err) == NULL, "missing file");
    CHECK(strstr(err, "No such file") != NULL, "%s", err);
    CHECK(np_elfsym_open("/tmp", err, sizeof err) == NULL, "a directory");
    write_file(path, "not an elf file at all", 22);
    CHECK(np_elfsym_open(path, err, sizeof err) == NULL, "text");
    CHECK(strstr(err, "not a 64-bit ELF") != NULL, "%s", err);

    int in = open("/proc/self/exe", O_RDONLY);
    off_t size = lseek(in, 0, SEEK_END);
    char *buf = malloc((size_t)size);
    CHECK(buf && pread(in, buf, (size_t)size, 0) == size, "read self");
    close(in);
    if (!buf) return;
    /* Cut anywhere: the section headers (at the end) are then outside. */
    for (off_t cut = 16; cut < size; cut = cut * 3 + 1) {
        write_file(path, buf, (size_t)cut);
        struct np_elfsym *e = np_elfsym_open(path, err, sizeof err);
        uint64_t off;
        if (e) np_elfsym_lookup(e, 0x1000, &off);
        np_elfsym_close(e);
    }
    /* Flipped bytes all over the section headers and symbol tables. */
    srand(7);
    for (int round = 0; round < 200; round++) {
        char *copy = malloc((size_t)size);
        memcpy(copy, buf, (size_t)size);
        for (int k = 0; k < 64; k++) copy[(size_t)rand() % (size_t)size] ^= (char)(1 + rand() % 255);
        Elf64_Ehdr *eh = (Elf64_Ehdr *)copy;
        if (round % 2 && (off_t)eh->e_shoff < size) /* hit the headers themselves */
            for (int k = 0; k < 16; k++) copy[eh->e_shoff + (size_t)rand() % ((size_t)size - eh->e_shoff)] ^= 0x5a;
        write_file(path, copy, (size_t)size);
        struct np_elfsym *e = np_elfsym_open(path, err, sizeof err);
        uint64_t off;
        if (e) for (uint64_t a = 0; a < 0x100000; a += 0x1357) np_elfsym_lookup(e, a, &off);
        np_elfsym_close(e);
        free(copy);
    }
    CHECK(1, "survived corrupted files");
    free(buf);
    unlink(path);
}

int main(void)
{
    test_own_binary();
    test_bad_files();
    return END();
}
