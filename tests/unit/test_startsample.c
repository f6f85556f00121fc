/* np_drop_start_sample: the first sample, V8's stack inside our own
 * Profiler.start, is dropped; anything else is left alone. */
#include <stdlib.h>

#include "check.h"
#include "formats/startsample.h"

#define NODES_H(first, hits) \
    "{\"nodes\":[{\"id\":1,\"callFrame\":{\"functionName\":\"(root)\",\"scriptId\":\"0\",\"url\":\"\",\"lineNumber\":-1,\"columnNumber\":-1},\"hitCount\":0,\"children\":[2,3]}," \
    "{\"id\":2,\"callFrame\":{\"functionName\":\"" first "\",\"scriptId\":\"0\",\"url\":\"\",\"lineNumber\":-1,\"columnNumber\":-1},\"hitCount\":" hits "}," \
    "{\"id\":3,\"callFrame\":{\"functionName\":\"hot\",\"scriptId\":\"9\",\"url\":\"file:///a \\\"},\\\"hitCount\\\":7\",\"lineNumber\":1,\"columnNumber\":2},\"hitCount\":3}],"

#define NODES(first) NODES_H(first, "2")

static int drop(const char *in, const char *want)
{
    size_t len = strlen(in);
    char *buf = malloc(len + 1);
    memcpy(buf, in, len + 1);
    int r = np_drop_start_sample(buf, &len);
    CHECK(len == strlen(buf), "length %zu, text %zu", len, strlen(buf));
    CHECK_STR(buf, want);
    free(buf);
    return r;
}

int main(void)
{
    CHECK(drop(NODES("dispatch") "\"startTime\":1000,\"endTime\":9000,\"samples\":[2,3,3,2,3],\"timeDeltas\":[500,40,10,10,10]}",
               NODES("dispatch") "\"startTime\":1540,\"endTime\":9000,\"samples\":[3,3,2,3],\"timeDeltas\":[0,10,10,10]}")
                  == 1, "dispatch: dropped");
    /* V8 does not count the sample in its node's hitCount: kept */
    const char *post = NODES("post") "\"startTime\":7,\"endTime\":90,\"samples\":[2,3],\"timeDeltas\":[3,4]}";
    size_t len = strlen(post);
    char buf[2048];
    memcpy(buf, post, len + 1);
    CHECK(np_drop_start_sample(buf, &len) == 1, "post: dropped");
    CHECK(strstr(buf, "\"functionName\":\"post\",\"scriptId\":\"0\",\"url\":\"\",\"lineNumber\":-1,\"columnNumber\":-1},\"hitCount\":2}") != NULL, "%s", buf);
    CHECK(strstr(buf, "\"startTime\":14,") && strstr(buf, "\"samples\":[3]") && strstr(buf, "\"timeDeltas\":[0]}"), "%s", buf);
    /* then dlopen and the loader: dropped too, up to the app's first sample */
    const char *more = "{\"nodes\":[{\"id\":1,\"callFrame\":{\"functionName\":\"(root)\",\"scriptId\":\"0\",\"url\":\"\",\"lineNumber\":-1,\"columnNumber\":-1},\"hitCount\":0,\"children\":[4]},"
        "{\"id\":4,\"callFrame\":{\"functionName\":\"\",\"scriptId\":\"5\",\"url\":\"file:///x/nodeprof-loader.cjs\",\"lineNumber\":0,\"columnNumber\":0},\"hitCount\":1,\"children\":[5]},"
        "{\"id\":5,\"callFrame\":{\"functionName\":\"dlopen\",\"scriptId\":\"0\",\"url\":\"\",\"lineNumber\":-1,\"columnNumber\":-1},\"hitCount\":1,\"children\":[6]},"
        "{\"id\":6,\"callFrame\":{\"functionName\":\"dispatch\",\"scriptId\":\"0\",\"url\":\"\",\"lineNumber\":-1,\"columnNumber\":-1},\"hitCount\":0},"
        "{\"id\":7,\"callFrame\":{\"functionName\":\"hot\",\"scriptId\":\"8\",\"url\":\"file:///app.js\",\"lineNumber\":-1,\"columnNumber\":-1},\"hitCount\":1}],";
    char big[4096];
    snprintf(big, sizeof big, "%s\"startTime\":100,\"endTime\":900,\"samples\":[6,5,4,7,5],\"timeDeltas\":[10,20,30,40,50]}", more);
    len = strlen(big);
    CHECK(np_drop_start_sample(big, &len) == 3, "%s", big);
    CHECK(strstr(big, "\"startTime\":200,\"endTime\":900,\"samples\":[7,5],\"timeDeltas\":[0,50]}") != NULL, "%s", big);
    CHECK(len == strlen(big), "length");
    /* the app's own frame first: untouched */
    const char *app = NODES("hot") "\"startTime\":1,\"endTime\":9,\"samples\":[2,3],\"timeDeltas\":[1,1]}";
    CHECK(drop(app, app) == 0, "app frame");
    /* one sample: nothing to move the start to */
    const char *one = NODES("dispatch") "\"startTime\":1,\"endTime\":9,\"samples\":[2],\"timeDeltas\":[1]}";
    CHECK(drop(one, one) == 0, "one sample");
    /* not a profile */
    CHECK(drop("{}", "{}") == 0, "empty object");
    CHECK(drop("", "") == 0, "empty text");
    return END();
}
