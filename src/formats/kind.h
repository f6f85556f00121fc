/* What a profile is and what it can be written as: the two enums that the
 * configuration (NODEPROF_FORMATS, common/config.h) and the agent's writer
 * share with the formats library. They live here so that formats/ includes
 * nothing outside formats/. */
#ifndef NP_FORMATS_KIND_H
#define NP_FORMATS_KIND_H

/* Output formats (NODEPROF_FORMATS), one bit each. */
enum np_format {
    NP_FMT_CPUPROFILE = 1u << 0, /* the inspector's own JSON (.cpuprofile / .heapprofile) */
    NP_FMT_PPROF      = 1u << 1,
    NP_FMT_COLLAPSED  = 1u << 2,
    NP_FMT_SPEEDSCOPE = 1u << 3,
    NP_FMT_HTML       = 1u << 4,
    NP_FMT_TOP        = 1u << 5,
};

enum np_profile_kind { NP_PROFILE_CPU, NP_PROFILE_HEAP };

#endif
