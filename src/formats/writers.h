/* The writers behind np_format_write, and helpers they share. Each writes
 * one profile to a stream and returns 0, or -1 with err set; stream errors
 * (ferror) are left to the caller, as np_write_atomic checks them. */
#ifndef NP_WRITERS_H
#define NP_WRITERS_H

#include <stdio.h>

#include "formats/profile.h"

int np_pprof_write(const struct np_profile *p, FILE *out, char *err, size_t errlen);
int np_collapsed_write(const struct np_profile *p, FILE *out, char *err, size_t errlen);
int np_speedscope_write(const struct np_profile *p, FILE *out, char *err, size_t errlen);

/* Writes s as a JSON string literal, quotes included. Bytes are copied as
 * they are (the model holds UTF-8); quotes, backslashes and control
 * characters are escaped. */
void np_json_string(FILE *out, const char *s);

/* The path from the root's child down to node (the root left out), as frame
 * indices, root side first. Fills *frames (grown as needed, *cap its size)
 * and returns the length, or -1 without memory. */
long np_stack_frames(const struct np_profile *p, uint32_t node, uint32_t **frames, size_t *cap);

#endif
