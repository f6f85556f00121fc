/* NODE_OPTIONS from an --env-file's text, as node's dotenv parser reads it. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "common/envfile.h"

static char out[256];

#define PARSES(text, want) do { memset(out, 'Z', sizeof out); \
    int r_ = np_envfile_parse(text, strlen(text), out, sizeof out); \
    CHECK(r_ == 1, "'%s': result %d", text, r_); \
    if (r_ == 1) CHECK_STR(out, want); } while (0)
#define NONE(text) CHECK(np_envfile_parse(text, strlen(text), out, sizeof out) == 0, "'%s'", text)

int main(void)
{
    PARSES("NODE_OPTIONS=--max-old-space-size=100", "--max-old-space-size=100");
    PARSES("NODE_OPTIONS=--a # comment\n", "--a");
    PARSES("  NODE_OPTIONS = --a --b  \r\nX=1\n", "--a --b");
    PARSES("export NODE_OPTIONS=\"--require ./x.js --a\"\n", "--require ./x.js --a");
    PARSES("NODE_OPTIONS='--a # kept'\n", "--a # kept");
    PARSES("NODE_OPTIONS=`--a`", "--a");
    PARSES("NODE_OPTIONS=\"--a\\n--b\"", "--a\n--b");
    PARSES("NODE_OPTIONS=\"--a\n--b\"\nX=2", "--a\n--b");          /* a quoted value over two lines */
    PARSES("NODE_OPTIONS=\"--a\nX=2\n", "\"--a");                   /* no closing quote: the line */
    PARSES("NODE_OPTIONS=--first\n# NODE_OPTIONS=--no\nNODE_OPTIONS=--last\n", "--last");
    PARSES("A=\"x\ny\"\nNODE_OPTIONS=--after-multiline\n", "--after-multiline");
    PARSES("NODE_OPTIONS=", "");
    NONE("");
    NONE("# NODE_OPTIONS=--x\n");
    NONE("NODE_OPTIONS_X=--x\nXNODE_OPTIONS=--y\n");
    NONE("A=1\nB=2");
    /* Checked against node 22 and 24's own parser. */
    PARSES("no equals sign NODE_OPTIONS\nNODE_OPTIONS=--after-a-bad-line\n", "--after-a-bad-line");
    PARSES("\tNODE_OPTIONS=--tab", "--tab");
    PARSES("NODE_OPTIONS=   '--x' # c\nY=1", "--x");
    PARSES("NODE_OPTIONS=\"a\" junk\nY=1", "a");
    PARSES("NODE_OPTIONS=a#b", "a");
    PARSES("export  NODE_OPTIONS=1", "1");
    PARSES("NODE_OPTIONS=\nX=1", "");
    PARSES("#c\n  # c2\nNODE_OPTIONS=v", "v");
    /* too long for out */
    char big[600] = "NODE_OPTIONS=";
    memset(big + 13, 'a', 500);
    big[513] = '\0';
    CHECK(np_envfile_parse(big, strlen(big), out, sizeof out) == -1, "overflow");
    /* Only the last value counts: one too long before it does not matter. */
    char twice[700];
    snprintf(twice, sizeof twice, "%s\nNODE_OPTIONS=--short\n", big);
    PARSES(twice, "--short");
    snprintf(twice, sizeof twice, "NODE_OPTIONS=--short\n%s\n", big);
    CHECK(np_envfile_parse(twice, strlen(twice), out, sizeof out) == -1, "overflow last");
    return END();
}
