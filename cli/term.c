#include "term.h"

#include <stddef.h>

static bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

int cli_put_untrusted(FILE *out, const char *s, bool keep_lines)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool kept = keep_lines && (*p == '\n' || *p == '\t');
        if (putc(is_control(*p) && !kept ? '?' : *p, out) == EOF) return EOF;
    }
    return 0;
}

void cli_print_cmdline(long pid, const char *instead)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    FILE *f = fopen(path, "re");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    for (size_t k = 0; k < n; k++)
        if (is_control((unsigned char)buf[k])) buf[k] = ' ';
    while (n > 0 && buf[n - 1] == ' ') n--;
    buf[n] = '\0';
    fputs(n ? buf : instead, stdout);
}
