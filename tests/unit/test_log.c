/* Logging: one whole line per message, and the rate limit of repeated
 * warnings (similar = equal but for digits; a gap that doubles; counts). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "common/log.h"

static void test_admit(void)
{
    unsigned long n = 99;
    np_log_reset_limits();
    CHECK(np_log_admit("cannot write /d/p-1.cpuprofile", 0, &n) && n == 0, "first line printed");
    /* Ten a second for 4 s: printed at 0, 1000 (9 dropped), 3000 (19). */
    int printed = 0;
    unsigned long counts[8] = { 0 };
    for (int t = 100; t <= 4000; t += 100) {
        char text[64];
        snprintf(text, sizeof text, "cannot write /d/p-%d.cpuprofile", t);
        if (np_log_admit(text, t, &n)) counts[printed++ % 8] = n;
    }
    CHECK(printed == 2, "%d printed in 4 s", printed);
    CHECK(counts[0] == 9 && counts[1] == 19, "counts %lu %lu", counts[0], counts[1]);
    /* Another kind of line is not held back by the first. */
    CHECK(np_log_admit("cannot write /d/p.heapprofile", 4000, &n) && n == 0, "other kind");
    /* A day at ten a second: the gap grows to an hour. */
    int day = 0;
    unsigned long total = 0;
    for (int64_t t = 4100; t < 24LL * 3600 * 1000; t += 100)
        if (np_log_admit("cannot write /d/x.cpuprofile", t, &n)) { day++; total += n; }
    CHECK(day >= 10 && day <= 40, "%d lines in a day", day);
    CHECK(total > 800000, "counts add up: %lu", total);
    /* Quiet for longer than the gap: printed at once, with the rest counted. */
    CHECK(np_log_admit("cannot write /d/x.cpuprofile", 30LL * 3600 * 1000, &n), "after a quiet spell");
    CHECK(np_log_admit("cannot write /d/x.cpuprofile", 40LL * 3600 * 1000, &n) && n == 0, "reset");
    CHECK(!np_log_admit("cannot write /d/x.cpuprofile", 40LL * 3600 * 1000 + 10, &n), "gap back to 1 s");
    /* More kinds than slots: the stalest is forgotten, nothing breaks. */
    for (int i = 0; i < 500; i++) {
        char text[64];
        snprintf(text, sizeof text, "kind %c%c", 'a' + i % 26, 'a' + i / 26);
        np_log_admit(text, 50LL * 3600 * 1000 + i, &n);
    }
    CHECK(np_log_admit("kind zz", 50LL * 3600 * 1000 + 600, &n), "new kind");
}

static char *read_all(int fd)
{
    static char buf[1 << 16];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void test_lines(void)
{
    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    struct np_log sink = { NP_LOG_INFO, p[1] };
    np_log_attach(&sink);
    np_log_reset_limits();
    for (int i = 0; i < 5; i++) np_warn("cannot write /x/%d: No space left on device", i);
    for (int i = 0; i < 3; i++) np_info("wrote /x/%d", i);
    char *out = read_all(p[0]);
    CHECK_STR(out, "nodeprof: cannot write /x/0: No space left on device\n"
                   "nodeprof: wrote /x/0\nnodeprof: wrote /x/1\nnodeprof: wrote /x/2\n");
    /* A quoted reply's newlines do not make more lines. */
    np_log_reset_limits();
    np_warn("period command: %s", "error: disk full\n/x/y\n");
    CHECK_STR(read_all(p[0]), "nodeprof: period command: error: disk full /x/y\n");
    /* A long message is cut to one line. */
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    np_err("%s", big);
    out = read_all(p[0]);
    CHECK(strlen(out) == 1023 && out[1022] == '\n' && !strchr(out, '\n')[1], "one line of %zu", strlen(out));
    np_log_attach(NULL);
    close(p[0]);
    close(p[1]);
}

static void test_count_in_line(void)
{
    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    struct np_log sink = { NP_LOG_WARN, p[1] };
    np_log_attach(&sink);
    np_log_reset_limits();
    np_warn("disk full %d", 1);
    np_warn("disk full %d", 2);
    np_warn("disk full %d", 3);
    read_all(p[0]);
    usleep(1100 * 1000);
    np_warn("disk full %d", 4);
    CHECK_STR(read_all(p[0]), "nodeprof: disk full 4 (2 similar lines suppressed)\n");
    np_log_attach(NULL);
    close(p[0]);
    close(p[1]);
}

/* Lines of one kind are limited together, whatever their texts. */
static void test_kind(void)
{
    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    struct np_log sink = { NP_LOG_WARN, p[1] };
    np_log_attach(&sink);
    np_log_reset_limits();
    np_log_kind(NP_LOG_WARN, "rejected", "rejected: unknown command '%s'", "aa");
    np_log_kind(NP_LOG_WARN, "rejected", "rejected: unknown command '%s'", "bb");
    np_log_kind(NP_LOG_WARN, "rejected", "rejected: busy");
    np_warn("another kind");
    CHECK_STR(read_all(p[0]), "nodeprof: rejected: unknown command 'aa'\nnodeprof: another kind\n");
    usleep(1100 * 1000);
    np_log_kind(NP_LOG_WARN, "rejected", "rejected: empty command");
    CHECK_STR(read_all(p[0]), "nodeprof: rejected: empty command (2 similar lines suppressed)\n");
    np_log_attach(NULL);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    test_admit();
    test_lines();
    test_count_in_line();
    test_kind();
    np_log_reset_limits(); /* nothing held back to print at exit */
    return END();
}
