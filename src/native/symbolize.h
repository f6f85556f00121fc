/* Names for the addresses of a native stack, on the agent thread, after
 * the capture: dladdr() first (exported symbols), then the ELF symbol
 * tables of the module (common/elfsym.h: node's .symtab names its
 * internals, uv__io_poll or Builtins_*); C++ names are demangled with the
 * process's own __cxa_demangle when it has one. An address in no module is
 * V8's generated code (JavaScript, regular expressions, wasm).
 *
 * Each frame also gets its module and offset in it, which stay valid for
 * a stripped binary and can be resolved later, offline. */
#ifndef NP_SYMBOLIZE_H
#define NP_SYMBOLIZE_H

#include <stdint.h>
#include <stdio.h>

#include "native/threadstack.h"

struct np_symbolizer;

/* One per report: it caches the modules' symbol tables (node's .symtab
 * takes about 10 ms and 2.5 MB to read) and is freed with everything it
 * read by np_symbolizer_free. */
struct np_symbolizer *np_symbolizer_new(void);
void np_symbolizer_free(struct np_symbolizer *s);

/* Writes the stack, innermost first, one frame a line:
 *   "  #0  0x00007f3a1c2e4e2e epoll_wait+0x4e (libc.so.6+0x10ee2e)"
 *   "  #7  0x00001f5d2e0c4a1b ?? (JavaScript or generated code)" */
void np_symbolize_write(struct np_symbolizer *s, const struct np_native_stack *stack, FILE *out);

/* Our signal may find the thread entering another signal handler (V8's
 * profiler signal, every millisecond while it samples), before its first
 * instruction: those frames say nothing of where the thread was, and are
 * dropped, down to the interrupted code below the trampoline. */
void np_symbolize_skip_handler_entry(struct np_symbolizer *s, struct np_native_stack *stack);

/* The first frame (after the innermost) that is a signal trampoline, -1
 * if none: the frame below it was interrupted, its address is exact. */
int np_symbolize_signal_frame(const struct np_native_stack *stack);

/* Whose code ip is in. */
enum np_code_kind {
    NP_CODE_JAVASCRIPT, /* V8's generated code, or an embedded builtin (Builtins_*) */
    NP_CODE_NODE,       /* the node executable's own C++ (V8, node, libuv) */
    NP_CODE_SYSTEM,     /* a library of /lib, /usr/lib, the vdso, nodeprof itself */
    NP_CODE_ADDON,      /* anything else: an addon, a library it brought */
};
enum np_code_kind np_symbolize_kind(struct np_symbolizer *s, uintptr_t ip);

/* The name of the function at ip, demangled ("" if none); ip is looked up
 * as is. */
const char *np_symbolize_name(struct np_symbolizer *s, uintptr_t ip, char *buf, size_t len);

#endif
