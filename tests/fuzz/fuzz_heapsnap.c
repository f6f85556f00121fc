/* libFuzzer harness for heapsnap.h and heapgraph.h: any bytes are read as a
 * heap snapshot; whatever the reader accepts must go through the dominator
 * tree and the classes, and the root must retain every byte. Built and run
 * by `make fuzz-heapsnap`. */
#include <stdint.h>
#include <stdlib.h>

#include "formats/heapgraph.h"
#include "formats/heapsnap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    struct np_heapsnap *hs = np_heapsnap_read_mem(data, size, err, sizeof err);
    if (!hs) return 0;
    uint32_t *idom = NULL;
    uint64_t *ret = NULL;
    if (np_heapgraph_propagate_detachedness(hs) || np_heapgraph_dominators(hs, &idom, &ret, err, sizeof err)) abort();
    uint64_t total = 0;
    for (uint32_t i = 0; i < hs->node_count; i++) {
        total += hs->node_self[i];
        if (idom[i] >= hs->node_count) abort();
    }
    if (ret[0] != total) abort();
    struct np_heapclasses c;
    if (np_heapgraph_classes(hs, idom, ret, &c, err, sizeof err)) abort();
    np_heapgraph_classes_free(&c);
    free(idom);
    free(ret);
    np_heapsnap_free(hs);
    return 0;
}
