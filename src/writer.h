/* Writing an inspector profile in every format of NODEPROF_FORMATS, each
 * file atomically, into the next target (output.h); with
 * NODEPROF_SOURCEMAPS=on the derived formats are mapped first. */
#ifndef NP_WRITER_H
#define NP_WRITER_H

#include <limits.h>
#include <stddef.h>

#include "formats/formats.h"
#include "output.h"

/* Writes an inspector profile (.cpuprofile or .heapprofile JSON) in every
 * configured format. thread_id is 0 for the main thread. Returns the number
 * of files written (0 on total failure). */
int np_write_profile(enum np_profile_kind kind, int thread_id, const char *json, size_t len,
                     struct np_written *w);

#endif
