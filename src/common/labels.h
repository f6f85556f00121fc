/* NODEPROF_LABELS: `service=checkout,version=%{GIT_SHA}`, the labels that
 * tell a fleet's profiles apart in Pyroscope and Grafana. They go on every
 * pprof sample (formats/pprof.c), into the S3 metadata (x-amz-meta-labels)
 * and into every pprof the HTTP endpoints serve.
 *
 * Checked once at start-up, after %{VAR} is expanded, into one canonical
 * text "key=value,key=value" that fits the S3 metadata field (512 bytes):
 * keys as Prometheus names them ([A-Za-z_][A-Za-z0-9_.-]*), values
 * printable ASCII without ',' (an HTTP header carries them), both
 * non-empty and bounded, no key twice. */
#ifndef NP_LABELS_H
#define NP_LABELS_H

#include <stddef.h>

#define NP_LABELS_MAX 16        /* labels */
#define NP_LABEL_KEY_MAX 63     /* bytes */
#define NP_LABEL_VALUE_MAX 127  /* bytes, after expansion */
#define NP_LABELS_TEXT_MAX 512  /* the canonical text, with its NUL */

/* Expands %{VAR} (from envp) and %% in spec and checks the result into out
 * ("" for an empty spec). Returns 0, or -1 with *why (which names the
 * label) and out left empty. */
int np_labels_expand(const char *spec, char *const *envp, char *out, size_t outlen, const char **why);

#endif
