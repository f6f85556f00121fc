/* libFuzzer harness for the control FIFO's lines (common/command.h): any
 * bytes are parsed as a command line, and the reply path is looked for
 * under every cut a reader may have made. Nothing may crash; a parsed
 * command's reply path is one np_command_reply_ok accepts, its verb is
 * known, and a rejected line always says why. Built and run by `make
 * fuzz-command`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/command.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reply(const char *reply)
{
    if (reply[0] && !np_command_reply_ok(reply, strlen(reply))) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data;
    struct np_command cmd;
    char why[256] = "";
    if (np_command_parse(line, size, &cmd, why, sizeof why) == 0) {
        if (memchr(line, '\0', size)) abort(); /* not text: must be refused */
        if (strlen(cmd.origin) == 0) abort();
    } else if (!why[0]) {
        abort();
    }
    check_reply(cmd.reply);
    char reply[NP_REPLY_MAX];
    for (int cut = 0; cut <= (NP_CUT_BEFORE | NP_CUT_AFTER); cut++) {
        np_command_find_reply(line, size, (enum np_cut)cut, reply, sizeof reply);
        check_reply(reply);
    }
    return 0;
}
