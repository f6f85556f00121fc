/* A minimal unit-test frame: CHECK(cond, ...) records a result; END()
 * prints "N passed, N failed" and returns the exit status. */
#ifndef NP_CHECK_H
#define NP_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond, ...) do { \
    if (cond) check_passed++; \
    else { check_failed++; fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
           fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } \
} while (0)

#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
    CHECK(a_ && b_ && !strcmp(a_, b_), "'%s' != '%s'", a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)

#define END() (printf("%s: %d passed, %d failed\n", __FILE__, check_passed, check_failed), check_failed != 0)

#endif
