/* Control command parsing: every verb, options, and what must be refused. */
#include <stdlib.h>

#include "check.h"
#include "common/command.h"
#include "common/headroom.h"

static int parse(const char *line, struct np_command *cmd, char *why)
{
    return np_command_parse(line, strlen(line), cmd, why, 256);
}

static void test_verbs(void)
{
    static const struct { const char *line; enum np_verb verb; } cases[] = {
        { "cpu start", NP_CMD_CPU_START }, { "cpu stop", NP_CMD_CPU_STOP },
        { "cpu dump", NP_CMD_CPU_DUMP }, { "heap snapshot", NP_CMD_HEAP_SNAPSHOT },
        { "heap start", NP_CMD_HEAP_START }, { "heap stop", NP_CMD_HEAP_STOP },
        { "heap dump", NP_CMD_HEAP_DUMP }, { "trace start", NP_CMD_TRACE_START },
        { "trace stop", NP_CMD_TRACE_STOP }, { "stack", NP_CMD_STACK },
        { "status", NP_CMD_STATUS }, { "help", NP_CMD_HELP },
        { "  cpu \t dump  \r", NP_CMD_CPU_DUMP },
        { "stack native", NP_CMD_STACK_NATIVE }, { "stack all", NP_CMD_STACK_ALL },
        { "threads", NP_CMD_STACK_ALL }, { "stack all reply=/tmp/r", NP_CMD_STACK_ALL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct np_command cmd;
        char why[256] = "";
        CHECK(parse(cases[i].line, &cmd, why) == 0, "'%s': %s", cases[i].line, why);
        CHECK(cmd.verb == cases[i].verb, "'%s' verb %d", cases[i].line, (int)cmd.verb);
        CHECK_STR(cmd.origin, "fifo");
    }
}

static void test_options(void)
{
    struct np_command cmd;
    char why[256];
    CHECK(parse("cpu start interval=250 reply=/tmp/r", &cmd, why) == 0, "%s", why);
    CHECK(cmd.interval == 250, "interval %ld", cmd.interval);
    CHECK_STR(cmd.reply, "/tmp/r");
    CHECK(parse("heap start interval=64k", &cmd, why) == 0, "%s", why);
    CHECK(cmd.interval == 65536, "bytes %ld", cmd.interval);
    CHECK(parse("heap snapshot force", &cmd, why) == 0 && cmd.force, "%s", why);
    CHECK(parse("trace start categories=v8,node.fs.sync", &cmd, why) == 0, "%s", why);
    CHECK_STR(cmd.categories, "v8,node.fs.sync");
    /* The attach path's `cpu dump SECONDS` is refused here with why. */
    CHECK(parse("cpu dump 30", &cmd, why) == -1 && strstr(why, "30: cpu dump takes no SECONDS in a profiled process"),
          "%s", why);
}

static void test_refusals(void)
{
    static const char *bad[] = {
        "", "   ", "cpu", "cpu explode", "bogus", "heap snapshot now", "cpu dump force",
        "cpu start interval=0", "cpu start interval=abc", "cpu start interval=99999999999",
        "heap start interval=-5", "trace start categories=a;rm", "trace start categories=",
        "status reply=relative/path", "status reply=/a/../etc/x", "stack stack stack stack stack stack stack stack stack",
        "cpu stop interval=5", "stack sideways", "stack all native", "threads all", "stack native force",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct np_command cmd;
        char why[256] = "";
        CHECK(parse(bad[i], &cmd, why) == -1, "'%s' accepted", bad[i]);
        CHECK(why[0] != '\0', "'%s' has no reason", bad[i]);
    }
    /* A bad command still tells where its error should go. */
    struct np_command cmd;
    char why[256];
    CHECK(parse("bogus reply=/tmp/x", &cmd, why) == -1, "accepted");
    CHECK_STR(cmd.reply, "/tmp/x");
}

/* A reply path that is not valid, or may have been cut, names nothing: an
 * error reply must go nowhere rather than to some other path. */
static void test_reply_paths(void)
{
    static const char *good[] = { "/tmp/r", "/tmp/a.b/..c/...", "/", "/x/.hidden" };
    static const char *bad[] = { "", "tmp/r", "/x/../y", "/x/..", "/x/./y", "/x/.", "/./x", "/a\x01b" };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK(np_command_reply_ok(good[i], strlen(good[i])), "'%s' refused", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(!np_command_reply_ok(bad[i], strlen(bad[i])), "'%s' accepted", bad[i]);
    char longpath[NP_REPLY_MAX + 2];
    memset(longpath, 'a', sizeof longpath);
    longpath[0] = '/';
    longpath[NP_REPLY_MAX + 1] = '\0';
    CHECK(np_command_reply_ok(longpath, NP_REPLY_MAX - 1), "511 bytes refused");
    CHECK(!np_command_reply_ok(longpath, NP_REPLY_MAX), "512 bytes accepted");

    struct np_command cmd;
    char why[256];
    static const char *nowhere[] = {
        "bogus reply=/x/../y", "status reply=/x/../y", "status reply=/x/./y", "bogus reply=y",
        "bogus reply=/ok reply=/x/../y", /* the last reply= counts, as when parsed */
    };
    for (size_t i = 0; i < sizeof nowhere / sizeof *nowhere; i++) {
        CHECK(parse(nowhere[i], &cmd, why) == -1, "'%s' accepted", nowhere[i]);
        CHECK_STR(cmd.reply, "");
    }
    char line[700];
    snprintf(line, sizeof line, "bogus reply=%s", longpath);
    CHECK(parse(line, &cmd, why) == -1, "too long a reply path accepted");
    CHECK_STR(cmd.reply, "");

    /* Pieces of an overlong line: a path touching a cut may be a fragment. */
    char reply[NP_REPLY_MAX];
    const char head[] = "status reply=/tmp/ok xx reply=/tmp/cut-he";
    np_command_find_reply(head, strlen(head), NP_CUT_AFTER, reply, sizeof reply);
    CHECK_STR(reply, "");
    np_command_find_reply(head, strlen(head) - 20, NP_CUT_AFTER, reply, sizeof reply);
    CHECK_STR(reply, "/tmp/ok");
    const char tail[] = "reply=/tmp/frag yy reply=/tmp/whole";
    np_command_find_reply(tail, strlen(tail), NP_CUT_BEFORE, reply, sizeof reply);
    CHECK_STR(reply, "/tmp/whole");
    np_command_find_reply(tail, 15, NP_CUT_BEFORE, reply, sizeof reply);
    CHECK_STR(reply, "");
    np_command_find_reply(tail, 15, NP_CUT_NONE, reply, sizeof reply);
    CHECK_STR(reply, "/tmp/frag");
}

static void test_binary_and_length(void)
{
    struct np_command cmd;
    char why[256];
    const char binary[] = { 's', 't', 'a', 't', 'u', 's', '\0', '\x01', '\xff' };
    CHECK(np_command_parse(binary, sizeof binary, &cmd, why, sizeof why) == -1, "binary accepted");
    char *longline = malloc(NP_COMMAND_MAX + 2);
    memset(longline, 'a', NP_COMMAND_MAX + 1);
    longline[NP_COMMAND_MAX + 1] = '\0';
    CHECK(np_command_parse(longline, NP_COMMAND_MAX + 1, &cmd, why, sizeof why) == -1, "long accepted");
    free(longline);
}

static void test_headroom(void)
{
    char why[512] = "";
    CHECK(np_headroom_check(1e6, 0, why, sizeof why) == 0, "factor 0 refused");
    CHECK(np_headroom_check(1.0, 10, why, sizeof why) == 0, "10 bytes refused: %s", why);
    double room = np_headroom_bytes();
    CHECK(room > 0, "no headroom figure on this machine");
    CHECK(np_headroom_check(room, 10, why, sizeof why) == -1, "10x the free memory accepted");
    CHECK(strstr(why, "force") != NULL, "refusal does not mention force: %s", why);
}

int main(void)
{
    test_verbs();
    test_options();
    test_refusals();
    test_reply_paths();
    test_binary_and_length();
    test_headroom();
    return END();
}
