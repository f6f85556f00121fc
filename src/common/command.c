#include "common/command.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"

const char np_command_help[] =
    "cpu start [interval=US]     start CPU profiling\n"
    "cpu stop                    stop CPU profiling and write the profile\n"
    "cpu dump                    write the CPU profile so far and keep profiling\n"
    "heap snapshot [force]       write a heap snapshot (refused if memory is short, unless force)\n"
    "heap start [interval=BYTES] start the sampling heap profiler\n"
    "heap stop                   stop it and write the .heapprofile\n"
    "heap dump                   write the .heapprofile so far and keep sampling\n"
    "trace start [categories=..] record trace events (default v8,node,node.async_hooks)\n"
    "trace stop                  stop and write the Chrome trace JSON\n"
    "stack                       the main thread's JavaScript stack now (its native stack when it is stuck in native code)\n"
    "stack native                the main thread's native stack now\n"
    "stack all                   every thread's native stack, named, with its state (alias: threads)\n"
    "status                      what is running, what was written, the configuration\n"
    "memory                      memory now and its trend (NODEPROF_MEMORY)\n"
    "help                        this text\n";

static const struct { const char *words; enum np_verb verb; } verbs[] = {
    { "cpu start", NP_CMD_CPU_START }, { "cpu stop", NP_CMD_CPU_STOP },
    { "cpu dump", NP_CMD_CPU_DUMP }, { "heap snapshot", NP_CMD_HEAP_SNAPSHOT },
    { "heap start", NP_CMD_HEAP_START }, { "heap stop", NP_CMD_HEAP_STOP },
    { "heap dump", NP_CMD_HEAP_DUMP }, { "trace start", NP_CMD_TRACE_START },
    { "trace stop", NP_CMD_TRACE_STOP },
    { "stack native", NP_CMD_STACK_NATIVE }, { "stack all", NP_CMD_STACK_ALL }, { "threads", NP_CMD_STACK_ALL },
    { "stack", NP_CMD_STACK },
    { "status", NP_CMD_STATUS }, { "help", NP_CMD_HELP },
    { "memory", NP_CMD_MEMORY },
};

#define MAX_WORDS 8

/* Splits on spaces/tabs into at most MAX_WORDS words (copied into buf). */
static int split_words(const char *line, size_t len, char *buf, char **words)
{
    int n = 0;
    memcpy(buf, line, len);
    buf[len] = '\0';
    for (char *p = buf; *p;) {
        while (*p == ' ' || *p == '\t' || *p == '\r') *p++ = '\0';
        if (!*p) break;
        if (n == MAX_WORDS) return -1;
        words[n++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r') p++;
    }
    return n;
}

static int printable(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isprint((unsigned char)line[i]) && line[i] != '\t' && line[i] != '\r') return 0;
    return 1;
}

/* Handles one key=value or flag word after the verb. */
static int parse_option(struct np_command *cmd, const char *word, char *why, size_t whylen)
{
    const char *eq = strchr(word, '=');
    const char *value = eq ? eq + 1 : "";
    size_t keylen = eq ? (size_t)(eq - word) : strlen(word);
    const char *reason = NULL;
    if (keylen == 5 && !strncmp(word, "reply", 5) && eq) {
        if (!np_command_reply_ok(value, strlen(value)))
            reason = "reply= needs an absolute path without . or .. (at most 511 bytes)";
        else strcpy(cmd->reply, value);
    } else if (keylen == 8 && !strncmp(word, "interval", 8) && eq &&
               (cmd->verb == NP_CMD_CPU_START || cmd->verb == NP_CMD_HEAP_START)) {
        int bad = cmd->verb == NP_CMD_CPU_START ? np_parse_long(value, 1, 1000000, &cmd->interval, &reason)
                                                : np_parse_bytes(value, &cmd->interval, &reason);
        if (!bad && cmd->interval <= 0) reason = "must be positive";
    } else if (keylen == 10 && !strncmp(word, "categories", 10) && eq && cmd->verb == NP_CMD_TRACE_START) {
        if (!*value || strlen(value) >= sizeof cmd->categories || strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-,*") != strlen(value))
            reason = "categories= takes a comma list of names";
        else strcpy(cmd->categories, value);
    } else if (!eq && !strcmp(word, "force") && cmd->verb == NP_CMD_HEAP_SNAPSHOT) {
        cmd->force = true;
    } else if (cmd->verb == NP_CMD_CPU_DUMP && word[0] >= '0' && word[0] <= '9') {
        /* `nodeprof ctl PID cpu dump SECONDS` attaches to an unprofiled
         * process; here the profile runs all along. */
        reason = "cpu dump takes no SECONDS in a profiled process: its profile runs all along, and `cpu dump` "
                 "writes it so far";
    } else {
        reason = "unexpected argument";
    }
    if (!reason) return 0;
    snprintf(why, whylen, "%s: %s", word, reason);
    return -1;
}

bool np_command_reply_ok(const char *path, size_t len)
{
    if (len == 0 || len >= NP_REPLY_MAX || path[0] != '/') return false;
    for (size_t i = 0; i < len; i++) {
        if (!isgraph((unsigned char)path[i])) return false;
        if (path[i] != '/') continue;
        /* No "." or ".." component: the path names what it says. */
        size_t n = 0;
        while (i + 1 + n < len && path[i + 1 + n] != '/') n++;
        if ((n == 1 && path[i + 1] == '.') || (n == 2 && path[i + 1] == '.' && path[i + 2] == '.'))
            return false;
    }
    return true;
}

void np_command_find_reply(const char *line, size_t len, enum np_cut cut, char *reply, size_t replylen)
{
    reply[0] = '\0';
    for (size_t i = 0; i + 7 <= len; i++) {
        bool word_start = i > 0 ? line[i - 1] == ' ' || line[i - 1] == '\t' : !(cut & NP_CUT_BEFORE);
        if (!word_start || memcmp(line + i, "reply=/", 7)) continue;
        size_t start = i + 6, end = start;
        while (end < len && isgraph((unsigned char)line[end])) end++;
        /* The last reply= wins, as in a parsed line; one that is not valid,
         * or that the cut may have shortened, names no path at all. */
        reply[0] = '\0';
        if (end == len && (cut & NP_CUT_AFTER)) continue;
        if (np_command_reply_ok(line + start, end - start) && end - start < replylen) {
            memcpy(reply, line + start, end - start);
            reply[end - start] = '\0';
        }
    }
}

int np_command_parse(const char *line, size_t len, struct np_command *cmd,
                     char *why, size_t whylen)
{
    char buf[NP_COMMAND_MAX + 1];
    char *words[MAX_WORDS];
    memset(cmd, 0, sizeof *cmd);
    strcpy(cmd->origin, "fifo");
    /* The reply path first, so that every rejected line gets its error back. */
    np_command_find_reply(line, len, NP_CUT_NONE, cmd->reply, sizeof cmd->reply);
    if (len > NP_COMMAND_MAX) { snprintf(why, whylen, "command too long"); return -1; }
    if (!printable(line, len)) { snprintf(why, whylen, "command is not text"); return -1; }
    int n = split_words(line, len, buf, words);
    if (n < 0) { snprintf(why, whylen, "too many words"); return -1; }
    if (n == 0) { snprintf(why, whylen, "empty command"); return -1; }
    size_t k;
    int used = 0;
    for (k = 0; k < sizeof verbs / sizeof *verbs; k++) {
        const char *w = verbs[k].words;
        const char *space = strchr(w, ' ');
        if (space) {
            if (n >= 2 && !strncmp(words[0], w, (size_t)(space - w)) && !words[0][space - w] &&
                !strcmp(words[1], space + 1)) { used = 2; break; }
        } else if (!strcmp(words[0], w)) { used = 1; break; }
    }
    if (k == sizeof verbs / sizeof *verbs) {
        snprintf(why, whylen, "unknown command '%.40s' (try: help)", words[0]);
        return -1;
    }
    cmd->verb = verbs[k].verb;
    for (int i = used; i < n; i++)
        if (parse_option(cmd, words[i], why, whylen)) return -1;
    return 0;
}
