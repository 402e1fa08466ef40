/* test_xalloc.c — lib/core/xalloc.c: an allocation that cannot be met ends
 * the process with status 1 and "PROG: out of memory (N bytes)" on stderr
 * (xmalloc, xcalloc, whose overflowing product is reported as SIZE_MAX
 * bytes, xrealloc, xmemalign, xalloc_die).
 * Each case runs in a child (re-executed, so that under ASan the allocator
 * may return NULL instead of reporting the size itself). */
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/xalloc.h"
#include "test.h"

static const size_t HUGE_SIZE = (size_t)1 << 62;

static int child(const char *which)
{
    cli_prog = "test_xalloc";
    void *p = NULL;
    if (strcmp(which, "malloc") == 0) p = xmalloc(HUGE_SIZE);
    else if (strcmp(which, "calloc") == 0) p = xcalloc(HUGE_SIZE / 8, 8);
    else if (strcmp(which, "realloc") == 0) p = xrealloc(xmalloc(16), HUGE_SIZE);
    else if (strcmp(which, "memalign") == 0) p = xmemalign(64, HUGE_SIZE);
    else if (strcmp(which, "calloc-overflow") == 0) p = xcalloc(SIZE_MAX / 2, 3);
    else if (strcmp(which, "die") == 0) xalloc_die(HUGE_SIZE);
    free(p);
    return 0; /* not reached when xalloc works */
}

/* Runs the child case, returns its exit status (-1 if it did not exit) and
 * what it wrote to stderr. */
static int run_child(const char *which, char *out, size_t cap)
{
    int fd[2];
    if (pipe(fd)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        close(fd[1]);
        const char *old = getenv("ASAN_OPTIONS");
        char opts[512];
        snprintf(opts, sizeof opts, "%s%sallocator_may_return_null=1:detect_leaks=0", old ? old : "", old ? ":" : "");
        setenv("ASAN_OPTIONS", opts, 1);
        execl("/proc/self/exe", "test_xalloc", "--child", which, (char *)NULL);
        /* no re-exec (qemu-user without binfmt_misc, under scripts/check-cross):
         * the case in this child as it is, which is enough without ASan */
        _exit(child(which));
    }
    close(fd[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fd[0], out + n, cap - 1 - n)) > 0) n += (size_t)r;
    out[n] = '\0';
    close(fd[0]);
    int st;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_dies(void)
{
    static const char *const cases[] = {"malloc", "calloc", "realloc", "memalign", "die",
                                        "calloc-overflow"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char want[128];
        /* a product that overflows is reported as SIZE_MAX bytes, not wrapped */
        snprintf(want, sizeof want, "test_xalloc: out of memory (%zu bytes)\n",
                 strcmp(cases[i], "calloc-overflow") == 0 ? SIZE_MAX : HUGE_SIZE);
        char out[4096];
        int rc = run_child(cases[i], out, sizeof out);
        CHECK_MSG(rc == 1, "%s: exit status %d", cases[i], rc);
        /* under ASan the child's stderr also carries the allocator's warning */
        if (getenv("MM_SAN")) CHECK_MSG(strstr(out, want) != NULL, "%s: stderr \"%s\"", cases[i], out);
        else CHECK_MSG(strcmp(out, want) == 0, "%s: stderr \"%s\"", cases[i], out);
    }
}

static void test_works(void)
{
    char *s = xstrdup("abc");
    CHECK_EQ_STR(s, "abc");
    s = xrealloc(s, 1000);
    CHECK_EQ_STR(s, "abc");
    free(s);
    int *z = xcalloc(10, sizeof *z);
    CHECK(z[0] == 0 && z[9] == 0);
    free(z);
    free(xmalloc(0)); /* size 0 gives a pointer, not NULL */
    char *n = xstrndup("abcdef", 3);
    CHECK_EQ_STR(n, "abc");
    free(n);
    n = xstrndup("ab", 10); /* stops at the NUL */
    CHECK_EQ_STR(n, "ab");
    free(n);
    void *a = xmemalign(64, 100);
    CHECK(((uintptr_t)a & 63) == 0);
    free(a);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0) return child(argv[2]);
    RUN(test_dies);
    RUN(test_works);
    return test_summary();
}
