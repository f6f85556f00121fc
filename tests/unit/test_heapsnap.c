/* The heap snapshot reader (formats/heapsnap.h) and the graph analysis
 * (formats/heapgraph.h) on small snapshots written here: fields found by
 * the meta whatever their order, escapes, every kind of broken input, and
 * dominators on graphs whose answer is known. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "formats/heapgraph.h"
#include "formats/heapsnap.h"

/* Fields in an unusual order (id first, edge fields reversed). The graph:
 * root(0) -> (GC roots)(1) -> A(2) -> B(3) -> S(4); A -weak-> C(5);
 * root -shortcut-> C; C -> B. B is retained by A and C, but C is reached
 * only through the root's shortcut (and a weak edge), so it is not flagged
 * while B is, and memlab's rule drops the unflagged-to-flagged edge C -> B:
 * B's dominator is A. */
static const char SNAP[] =
    "{\"snapshot\":{\"meta\":{\"node_fields\":[\"id\",\"type\",\"name\",\"edge_count\",\"self_size\"],"
    "\"node_types\":[[\"hidden\",\"array\",\"string\",\"object\",\"code\",\"closure\",\"regexp\",\"number\",\"native\",\"synthetic\"],\"string\"],"
    "\"edge_fields\":[\"to_node\",\"name_or_index\",\"type\"],"
    "\"edge_types\":[[\"context\",\"element\",\"property\",\"internal\",\"hidden\",\"shortcut\",\"weak\"],\"x\"],"
    "\"location_fields\":[\"object_index\"]},\"node_count\":6,\"edge_count\":7,\"extra\":{\"a\":[1,{\"b\":null}]}},\n"
    "\"nodes\":[1,9,0,2,0,  3,9,1,1,0,  5,3,2,2,100,  7,3,3,1,40,  9,2,4,0,16,  11,3,5,1,8],\n"
    "\"edges\":[5,1,1, 25,5,5,  10,1,1,  15,6,2, 25,7,6,  20,6,2,  15,8,2],\n"
    "\"trace_tree\":[],\"samples\":[],\"locations\":[],\n"
    "\"strings\":[\"\",\"(GC roots)\",\"Alpha\",\"Beta\",\"caf\\u00e9 \\ud83d\\ude00\\n\",\"Gamma\",\"b\",\"w\",\"s\"]}";

static struct np_heapsnap *parse(const char *s, char *err, size_t len)
{
    return np_heapsnap_read_mem(s, strlen(s), err, len);
}

static void test_reader(void)
{
    char err[256] = "";
    struct np_heapsnap *hs = parse(SNAP, err, sizeof err);
    CHECK(hs != NULL, "%s", err);
    if (!hs) return;
    CHECK(hs->node_count == 6 && hs->edge_count == 7, "%u %u", hs->node_count, hs->edge_count);
    CHECK(hs->node_id[2] == 5 && hs->node_self[2] == 100 && hs->node_type[2] == hs->nt_object, "A");
    CHECK_STR(np_hs_str(hs, hs->node_name[2]), "Alpha");
    CHECK_STR(np_hs_str(hs, hs->node_name[4]), "caf\xc3\xa9 \xf0\x9f\x98\x80\n");
    CHECK(hs->first_edge[0] == 0 && hs->first_edge[1] == 2 && hs->first_edge[2] == 3 && hs->first_edge[6] == 7, "first_edge");
    CHECK(hs->edge_to[1] == 5 && hs->edge_type[1] == hs->et_shortcut, "root shortcut to C");
    CHECK(hs->edge_to[4] == 5 && hs->edge_type[4] == hs->et_weak, "A weak to C");
    CHECK(hs->node_detached == NULL, "no detachedness field");

    uint32_t *idom;
    uint64_t *ret;
    CHECK(np_heapgraph_dominators(hs, &idom, &ret, err, sizeof err) == 0, "%s", err);
    CHECK(idom[0] == 0 && idom[1] == 0 && idom[2] == 1, "A under (GC roots): %u", idom[2]);
    CHECK(idom[3] == 2, "B under A: %u", idom[3]);
    CHECK(idom[4] == 3 && idom[5] == 0, "S under B, C under the root");
    CHECK(ret[0] == 164 && ret[2] == 156 && ret[3] == 56 && ret[5] == 8, "retained %llu %llu %llu", (unsigned long long)ret[0],
          (unsigned long long)ret[2], (unsigned long long)ret[3]);

    struct np_heapclasses c;
    CHECK(np_heapgraph_classes(hs, idom, ret, &c, err, sizeof err) == 0, "%s", err);
    CHECK(c.n == 4, "classes %u", c.n); /* Alpha, Beta, (string), Gamma; synthetic nodes have no size */
    CHECK(c.class_of[0] == NP_NO_CLASS && c.class_of[1] == NP_NO_CLASS, "synthetic left out");
    CHECK_STR(c.classes[c.class_of[4]].name, "(string)");
    CHECK(c.classes[c.class_of[3]].retained == 56, "Beta retained");
    np_heapgraph_classes_free(&c);
    free(idom);
    free(ret);
    np_heapsnap_free(hs);
}

/* A class's retained size leaves out objects dominated by one of its own. */
static void test_class_retained(void)
{
    const char *s =
        "{\"snapshot\":{\"meta\":{\"node_fields\":[\"type\",\"name\",\"id\",\"self_size\",\"edge_count\"],"
        "\"node_types\":[[\"object\",\"synthetic\",\"native\"]],\"edge_fields\":[\"type\",\"name_or_index\",\"to_node\"],"
        "\"edge_types\":[[\"property\",\"weak\",\"shortcut\",\"element\",\"hidden\"]]}},"
        "\"nodes\":[1,0,1,0,1, 0,1,3,10,2, 0,1,5,20,0, 0,2,7,30,0],"
        "\"edges\":[0,3,5, 0,3,10, 0,3,15],\"strings\":[\"\",\"Node\",\"Leaf\",\"next\"]}";
    char err[256];
    struct np_heapsnap *hs = parse(s, err, sizeof err);
    CHECK(hs != NULL, "%s", err);
    if (!hs) return;
    uint32_t *idom;
    uint64_t *ret;
    struct np_heapclasses c;
    CHECK(np_heapgraph_dominators(hs, &idom, &ret, err, sizeof err) == 0, "%s", err);
    CHECK(np_heapgraph_classes(hs, idom, ret, &c, err, sizeof err) == 0, "%s", err);
    const struct np_heapclass *node = &c.classes[c.class_of[1]];
    CHECK(node->count == 2 && node->shallow == 30 && node->retained == 60, "Node %llu %llu %llu",
          (unsigned long long)node->count, (unsigned long long)node->shallow, (unsigned long long)node->retained);
    np_heapgraph_classes_free(&c);
    free(idom);
    free(ret);
    np_heapsnap_free(hs);
}

static void expect_error(const char *input, size_t len, const char *want)
{
    char err[256] = "";
    struct np_heapsnap *hs = np_heapsnap_read_mem(input, len, err, sizeof err);
    CHECK(hs == NULL && strstr(err, want), "input %.40s: '%s' lacks '%s'", input, err, want);
    np_heapsnap_free(hs);
}

static void test_errors(void)
{
    expect_error("", 0, "empty file");
    expect_error("  \n", 3, "empty file");
    expect_error("[1]", 3, "not a V8 heap snapshot");
    expect_error("{}", 2, "not a V8 heap snapshot");
    expect_error("{\"nodes\":[1,2]}", 15, "not a V8 heap snapshot");
    expect_error("{\"snapshot\":{}}", 15, "no snapshot.meta");
    /* every prefix of a good snapshot is refused, never crashes */
    size_t n = strlen(SNAP);
    for (size_t i = 0; i < n; i++) {
        char err[256] = "";
        char *copy = malloc(i ? i : 1);
        memcpy(copy, SNAP, i);
        struct np_heapsnap *hs = np_heapsnap_read_mem(copy, i, err, sizeof err);
        CHECK(hs == NULL && err[0], "prefix %zu accepted", i);
        np_heapsnap_free(hs);
        free(copy);
    }
    char *bad = strdup(SNAP);
    char *p = strstr(bad, "\"node_count\":6");
    p[13] = '7';
    expect_error(bad, strlen(bad), "node_count says 7");
    strcpy(bad, SNAP);
    p = strstr(bad, "15,8,2]");
    p[0] = '9'; p[1] = '9'; /* to_node 99: not a multiple of 5 */
    expect_error(bad, strlen(bad), "bad to_node");
    strcpy(bad, SNAP);
    p = strstr(bad, "15,8,2]");
    p[0] = '5'; p[1] = '0'; /* to_node 50: node 10 of 6 */
    expect_error(bad, strlen(bad), "points past the last node");
    strcpy(bad, SNAP);
    p = strstr(bad, "11,3,5,1,8");
    p[5] = '9'; /* name 9 of 9 strings */
    expect_error(bad, strlen(bad), "not a string index");
    strcpy(bad, SNAP);
    p = strstr(bad, "11,3,5,1,8");
    p[3] = '7'; /* type 7 = number, fine; then type 99 */
    p[3] = 'x';
    expect_error(bad, strlen(bad), "expected an unsigned integer");
    strcpy(bad, SNAP);
    p = strstr(bad, "11,3,5,1,8");
    p[7] = '2'; /* C claims 2 edges: 8 in all */
    expect_error(bad, strlen(bad), "add up to");
    strcpy(bad, SNAP);
    p = strstr(bad, "\\u00e9");
    p[2] = 'z';
    expect_error(bad, strlen(bad), "malformed \\u escape");
    free(bad);
    /* deep nesting in a skipped value is bounded */
    size_t deep = 5000;
    char *d = malloc(deep * 2 + 32);
    strcpy(d, "{\"x\":");
    memset(d + 5, '[', deep);
    d[5 + deep] = '\0';
    expect_error(d, strlen(d), "nested too deeply");
    free(d);
}

int main(void)
{
    test_reader();
    test_class_retained();
    test_errors();
    return END();
}
