/* test.h — the unit-test harness: one program per lib module.
 *
 *   #include "test.h"
 *   static void test_roundtrip(void) { CHECK(x == 1); CHECK_EQ_INT(a, b); }
 *   int main(void) { RUN(test_roundtrip); return test_summary(); }
 *
 * Prints TAP-like lines ("ok N - name" / "not ok N - name") per test
 * function and exits non-zero if any check failed. Input data for tests:
 * test_shared_dir() is ../shared seen from the repo root (env MM_SHARED
 * overrides), test_repo_dir() the repo root.
 */
#ifndef MM_TEST_H
#define MM_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures_in_current;
static int test_total_failed;
static int test_count;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);  \
            test_failures_in_current++;                                                  \
        }                                                                                \
    } while (0)

#define CHECK_MSG(cond, ...)                                                             \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "  %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                                \
            fputc('\n', stderr);                                                         \
            test_failures_in_current++;                                                  \
        }                                                                                \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                               \
    do {                                                                                 \
        long long va_ = (long long)(a), vb_ = (long long)(b);                            \
        if (va_ != vb_) {                                                                \
            fprintf(stderr, "  %s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, \
                    #b, va_, vb_);                                                       \
            test_failures_in_current++;                                                  \
        }                                                                                \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                               \
    do {                                                                                 \
        const char *sa_ = (a), *sb_ = (b);                                               \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                     \
            fprintf(stderr, "  %s:%d: %s == %s: \"%s\" != \"%s\"\n", __FILE__, __LINE__, \
                    #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                 \
            test_failures_in_current++;                                                  \
        }                                                                                \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                            \
    do {                                                                                 \
        double va_ = (double)(a), vb_ = (double)(b);                                     \
        if (!(fabs(va_ - vb_) <= (tol))) {                                               \
            fprintf(stderr, "  %s:%d: |%s - %s| = |%.9g - %.9g| > %g\n", __FILE__,       \
                    __LINE__, #a, #b, va_, vb_, (double)(tol));                          \
            test_failures_in_current++;                                                  \
        }                                                                                \
    } while (0)

/* A test that cannot run here (a CPU without the instruction set it
 * tests) calls test_skip("why") and returns: it prints "ok N - name # SKIP
 * why" (TAP's directive), so a skip is visible, not a silent pass. */
static const char *test_skip_reason;
static inline void test_skip(const char *why) { test_skip_reason = why; }

#define RUN(fn)                                                                          \
    do {                                                                                 \
        test_failures_in_current = 0;                                                    \
        test_skip_reason = NULL;                                                         \
        fn();                                                                            \
        test_count++;                                                                    \
        printf("%s %d - %s%s%s\n", test_failures_in_current ? "not ok" : "ok",          \
               test_count, #fn, test_skip_reason ? " # SKIP " : "",                     \
               test_skip_reason ? test_skip_reason : "");                               \
        fflush(stdout);                                                                  \
        if (test_failures_in_current) test_total_failed++;                               \
    } while (0)

static inline int test_summary(void)
{
    printf("1..%d\n", test_count);
    return test_total_failed ? 1 : 0;
}

static inline const char *test_shared_dir(void)
{
    const char *s = getenv("MM_SHARED");
    return s ? s : "../shared";
}

/* Deterministic generator for test data (xorshift64*). */
static inline unsigned long long test_rand_u64(unsigned long long *state)
{
    unsigned long long x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 2685821657736338717ULL;
}
static inline double test_rand_unit(unsigned long long *state)
{
    return (double)(test_rand_u64(state) >> 11) / 9007199254740992.0;
}

#endif
