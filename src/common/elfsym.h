/* Function symbols of an ELF file, for native stacks: dladdr() sees only
 * the dynamic symbols (.dynsym), and node's own internals (uv__io_poll,
 * V8's Builtins_*, node::worker::Worker::Run) are only in .symtab (node 20's
 * binary: 107,000 .symtab entries against 76,000 in .dynsym). A small
 * reader of our own: the file is mmap'd read-only, every offset checked
 * against its size, and the functions sorted by address; names stay in
 * the mapping. No libelf.
 *
 * Addresses are the file's own (st_value): subtract the module's load bias
 * (link_map l_addr) from a run-time address first. */
#ifndef NP_ELFSYM_H
#define NP_ELFSYM_H

#include <stddef.h>
#include <stdint.h>

struct np_elfsym;

/* Reads path's .symtab and .dynsym (both, merged). Returns NULL with a
 * message in err (not ELF64, no symbols, unreadable). */
struct np_elfsym *np_elfsym_open(const char *path, char *err, size_t errlen);
void np_elfsym_close(struct np_elfsym *e);

/* The function containing addr (within its st_size; a symbol without a
 * size covers up to the next one), and addr's offset into it. NULL when
 * none does. */
const char *np_elfsym_lookup(const struct np_elfsym *e, uint64_t addr, uint64_t *offset);

/* The ELF address of a file offset (a crash report's module+offset), from
 * the PT_LOAD program header that maps it. Returns 0, or -1 when no
 * loaded segment holds that offset. */
int np_elfsym_offset_to_address(const struct np_elfsym *e, uint64_t offset, uint64_t *addr);

/* How many function symbols were read. */
size_t np_elfsym_count(const struct np_elfsym *e);

#endif
