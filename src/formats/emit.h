/* Helpers the writers (pprof, collapsed, speedscope) and the CPU folder
 * share to emit a profile: JSON string literals and a node's stack. Kept
 * apart from the dispatcher (formats.c), which only chooses a writer, so
 * that no writer includes the file that includes it. */
#ifndef NP_EMIT_H
#define NP_EMIT_H

#include <stdint.h>
#include <stdio.h>

#include "formats/profile.h"

/* Writes s as a JSON string literal, quotes included. Bytes are copied as
 * they are (the model holds UTF-8); quotes, backslashes and control
 * characters are escaped. */
void np_json_string(FILE *out, const char *s);

/* The path from the root's child down to node (the root left out), as frame
 * indices, root side first. Fills *frames (grown as needed, *cap its size)
 * and returns the length, or -1 without memory. */
long np_stack_frames(const struct np_profile *p, uint32_t node, uint32_t **frames, size_t *cap);

#endif
