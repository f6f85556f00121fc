/* The writers behind np_format_write (formats.c). Each writes
 * one profile to a stream and returns 0, or -1 with err set; stream errors
 * (ferror) are left to the caller, as np_write_atomic checks them. */
#ifndef NP_WRITERS_H
#define NP_WRITERS_H

#include <stdio.h>

#include "formats/profile.h"

int np_pprof_write(const struct np_profile *p, FILE *out, char *err, size_t errlen);
int np_collapsed_write(const struct np_profile *p, FILE *out, char *err, size_t errlen);
int np_speedscope_write(const struct np_profile *p, FILE *out, char *err, size_t errlen);

#endif
