/* Telling from its first bytes what a file given as a profile really is,
 * so that `nodeprof top x.heapsnapshot` says "a V8 heap snapshot: open it
 * in Chrome DevTools" rather than "malformed JSON at byte 880" (where the
 * parser first met something a profile does not have). Only the first
 * bytes are looked at: a 300 MB snapshot is refused at once. */
#ifndef NP_SNIFF_H
#define NP_SNIFF_H

#include <stddef.h>

/* NULL if data may be a .cpuprofile or .heapprofile (the parser then
 * decides), else one line saying what the file is and what reads it. */
const char *np_sniff_not_profile(const char *data, size_t len);

#endif
