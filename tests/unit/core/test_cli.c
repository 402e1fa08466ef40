/* test_cli.c — the conventions every program shares (lib/core/cli.c):
 * option-argument numbers, atomic -o outputs (committed, aborted, failed,
 * interrupted: the old file stays and no temporary is left), the message,
 * usage, version and progress texts, and the SIGPIPE policy.
 *
 * Functions that exit or die by a signal run in a forked child whose stdout
 * and stderr go to files; the parent checks the exit status and the texts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cli.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------------ */

static char tmpdir[] = "/tmp/test_cli.XXXXXX";

static void path_in(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", tmpdir, name);
}

/* The whole file as a string ("" when it cannot be read). */
static void slurp(const char *path, char *buf, size_t cap)
{
    buf[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    fputs(text, f);
    fclose(f);
}

/* Files in the test directory whose names start with `prefix`. */
static int count_prefixed(const char *prefix)
{
    DIR *d = opendir(tmpdir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) n++;
    closedir(d);
    return n;
}

typedef struct child_result {
    int status; /* as waitpid gives it */
    char out[8192], err[8192];
} child_result;

/* Runs fn(ctx) in a child process with stdout/stderr captured; a child
 * whose fn returns exits with status 0 (through exit, so atexit runs). */
static void run_child(void (*fn)(void *), void *ctx, child_result *r)
{
    char out_path[256], err_path[256];
    path_in(out_path, sizeof out_path, "child.stdout");
    path_in(err_path, sizeof err_path, "child.stderr");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) abort();
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0) _exit(98);
        dup2(o, STDOUT_FILENO);
        dup2(e, STDERR_FILENO);
        close(o);
        close(e);
        fn(ctx);
        exit(0);
    }
    if (waitpid(pid, &r->status, 0) != pid) abort();
    slurp(out_path, r->out, sizeof r->out);
    slurp(err_path, r->err, sizeof r->err);
    unlink(out_path);
    unlink(err_path);
}

static int exited_with(const child_result *r, int code)
{
    return WIFEXITED(r->status) && WEXITSTATUS(r->status) == code;
}

#define CHECK_EXIT(r, code)                                                                  \
    CHECK_MSG(exited_with(&(r), code), "status 0x%x, want exit %d; stderr: %s", (r).status, \
              code, (r).err)

/* ---- number parsing ------------------------------------------------------------- */

static void test_parse_numbers_in_range(void)
{
    CHECK_EQ_INT(cli_parse_long("-t", "4", 1, 256), 4);
    CHECK_EQ_INT(cli_parse_long("-t", "1", 1, 256), 1);
    CHECK_EQ_INT(cli_parse_long("-t", "256", 1, 256), 256);
    CHECK_EQ_INT(cli_parse_long("-k", "-7", -10, 10), -7);
    CHECK_EQ_INT(cli_parse_long("-k", "+3", -10, 10), 3);
    CHECK_EQ_INT(cli_parse_long("-n", "9223372036854775807", 0, LONG_MAX), LONG_MAX);
    CHECK(cli_parse_double("--alpha", "0.25", 0, 1) == 0.25);
    CHECK(cli_parse_double("--alpha", "1e-3", 0, 1) == 1e-3);
    CHECK(cli_parse_double("--alpha", "-1", -1, 1) == -1.0);
    CHECK(cli_parse_double("--alpha", "1", 0, 1) == 1.0);
}

typedef struct parse_case {
    int is_double;
    const char *arg;
    double min, max;
    const char *want; /* the first line of stderr after "mm-test: " */
} parse_case;

static void child_parse(void *ctx)
{
    const parse_case *c = ctx;
    cli_init("mm-test");
    if (c->is_double)
        printf("%g\n", cli_parse_double("--alpha", c->arg, c->min, c->max));
    else
        printf("%ld\n", cli_parse_long("-t", c->arg, (long)c->min, (long)c->max));
}

/* A bad argument is a usage error: status 2, the option and the text named,
 * then the --help hint; nothing on stdout. */
static void test_parse_numbers_rejected(void)
{
    static const parse_case cases[] = {
        {0, "", 1, 8, "option -t: '' is not an integer"},
        {0, "four", 1, 8, "option -t: 'four' is not an integer"},
        {0, "4x", 1, 8, "option -t: '4x' is not an integer"},
        {0, "4.0", 1, 8, "option -t: '4.0' is not an integer"},
        {0, "99999999999999999999", 1, 8, "option -t: '99999999999999999999' is not an integer"},
        {0, "0", 1, 8, "option -t: 0 is out of range [1, 8]"},
        {0, "9", 1, 8, "option -t: 9 is out of range [1, 8]"},
        {0, "-1", 1, 8, "option -t: -1 is out of range [1, 8]"},
        {1, "", 0, 1, "option --alpha: '' is not a number"},
        {1, "0.5.1", 0, 1, "option --alpha: '0.5.1' is not a number"},
        {1, "nan", 0, 1, "option --alpha: 'nan' is not a number"},
        {1, "inf", 0, 1, "option --alpha: 'inf' is not a number"},
        {1, "1e999", 0, 1, "option --alpha: '1e999' is not a number"},
        {1, "1.5", 0, 1, "option --alpha: 1.5 is out of range [0, 1]"},
        {1, "-0.001", 0, 1, "option --alpha: -0.001 is out of range [0, 1]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        child_result r;
        run_child(child_parse, (void *)&cases[i], &r);
        char want[512];
        snprintf(want, sizeof want, "mm-test: %s\nTry 'mm-test --help' for more information.\n",
                 cases[i].want);
        CHECK_EXIT(r, MM_EXIT_USAGE);
        CHECK_EQ_STR(r.err, want);
        CHECK_EQ_STR(r.out, "");
    }
}

static void test_default_threads(void)
{
    CHECK_EQ_INT(cli_default_threads(1), 1);
    int n = cli_default_threads(1024);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    CHECK(n >= 1 && n <= 1024);
    if (online >= 1 && online <= 1024) CHECK_EQ_INT(n, online);
    CHECK(cli_default_threads(2) <= 2);
}

/* ---- messages, usage, version --------------------------------------------------- */

static void child_version(void *ctx)
{
    (void)ctx;
    cli_init("/usr/local/bin/mm-test"); /* the directory is not part of the name */
    cli_version();
}

static void child_version_full(void *ctx)
{
    (void)ctx;
    cli_init("mm-test");
    if (!freopen("/dev/full", "w", stdout)) _exit(97);
    cli_version();
}

static void test_version(void)
{
    child_result r;
    run_child(child_version, NULL, &r);
    CHECK_EXIT(r, 0);
    CHECK_EQ_STR(r.out, "mm-test (mmkit) " MM_VERSION "\n");
    CHECK_EQ_STR(r.err, "");
    /* A --version nobody could read is not a success. */
    run_child(child_version_full, NULL, &r);
    CHECK_EXIT(r, MM_EXIT_RUNTIME);
}

static void child_messages(void *ctx)
{
    int which = *(const int *)ctx;
    cli_init("mm-test");
    switch (which) {
    case 0:
        printf("before\n"); /* stdout is flushed before a message: the order is kept */
        cli_error("run.trec:12: expected 6 fields, found %d", 5);
        cli_warn("%s: %d duplicate ids", "a.mmf", 3);
        return;
    case 1: cli_fatal("%s: no such model", "models/x");
    case 2: cli_fatal_status(4, "%s", "duplicate docs");
    case 3: cli_usage_error("option -k: needs %s", "a value");
    case 4: cli_usage_hint();
    case 5: {
        char big[6000];
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = 0;
        cli_error("%s", big); /* cut to the line buffer, not overflowing it */
        return;
    }
    }
}

static void test_messages_and_exits(void)
{
    child_result r;
    int which = 0;
    run_child(child_messages, &which, &r);
    CHECK_EXIT(r, 0);
    CHECK_EQ_STR(r.out, "before\n");
    CHECK_EQ_STR(r.err, "mm-test: run.trec:12: expected 6 fields, found 5\n"
                        "mm-test: warning: a.mmf: 3 duplicate ids\n");
    which = 1;
    run_child(child_messages, &which, &r);
    CHECK_EXIT(r, MM_EXIT_RUNTIME);
    CHECK_EQ_STR(r.err, "mm-test: models/x: no such model\n");
    which = 2;
    run_child(child_messages, &which, &r);
    CHECK_EXIT(r, 4);
    CHECK_EQ_STR(r.err, "mm-test: duplicate docs\n");
    which = 3;
    run_child(child_messages, &which, &r);
    CHECK_EXIT(r, MM_EXIT_USAGE);
    CHECK_EQ_STR(r.err, "mm-test: option -k: needs a value\n"
                        "Try 'mm-test --help' for more information.\n");
    which = 4;
    run_child(child_messages, &which, &r);
    CHECK_EXIT(r, MM_EXIT_USAGE);
    CHECK_EQ_STR(r.err, "Try 'mm-test --help' for more information.\n");
    which = 5;
    run_child(child_messages, &which, &r);
    CHECK_EXIT(r, 0);
    CHECK(strncmp(r.err, "mm-test: xxx", 12) == 0);
    CHECK(strlen(r.err) < 4096);
}

/* ---- atomic output ----------------------------------------------------------------- */

static void test_output_commit_new_and_existing(void)
{
    char path[256], got[256];
    path_in(path, sizeof path, "out.txt");
    unlink(path);
    /* The named-temporary path (where O_TMPFILE is refused); the unnamed one
     * is checked by tests/cli/atomic-output.bats through /proc. */
    setenv("MM_NO_O_TMPFILE", "1", 1);
    mode_t old_mask = umask(022);
    cli_output *o = cli_output_open(path);
    CHECK_EQ_STR(cli_output_name(o), path);
    fputs("first\n", cli_output_fp(o));
    /* Until the commit, the data is in a temporary next to the target. */
    CHECK(access(path, F_OK) != 0);
    CHECK_EQ_INT(count_prefixed("out.txt.tmp."), 1);
    cli_output_commit(o);
    slurp(path, got, sizeof got);
    CHECK_EQ_STR(got, "first\n");
    CHECK_EQ_INT(count_prefixed("out.txt.tmp."), 0);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644); /* as a plain open, not 0600 */
    umask(old_mask);

    /* Replacing an existing file: the old content stays until the commit. */
    o = cli_output_open(path);
    fputs("second\n", cli_output_fp(o));
    fflush(cli_output_fp(o));
    slurp(path, got, sizeof got);
    CHECK_EQ_STR(got, "first\n");
    cli_output_commit(o);
    slurp(path, got, sizeof got);
    CHECK_EQ_STR(got, "second\n");
    CHECK_EQ_INT(count_prefixed("out.txt.tmp."), 0);

    /* The table of pending outputs frees its slots: many more outputs than
     * it holds, one after the other. */
    for (int i = 0; i < 40; i++) {
        o = cli_output_open(path);
        fprintf(cli_output_fp(o), "%d\n", i);
        if (i % 2) cli_output_abort(o);
        else cli_output_commit(o);
    }
    slurp(path, got, sizeof got);
    CHECK_EQ_STR(got, "38\n");
    CHECK_EQ_INT(count_prefixed("out.txt.tmp."), 0);
    unlink(path);
    unsetenv("MM_NO_O_TMPFILE");
}

static void test_output_abort(void)
{
    char path[256], got[256];
    path_in(path, sizeof path, "out.txt");
    put(path, "old\n");
    cli_output *o = cli_output_open(path);
    fputs("new\n", cli_output_fp(o));
    cli_output_abort(o);
    slurp(path, got, sizeof got);
    CHECK_EQ_STR(got, "old\n");
    CHECK_EQ_INT(count_prefixed("out.txt.tmp."), 0);
    /* Aborting a new file leaves nothing. */
    unlink(path);
    o = cli_output_open(path);
    fputs("new\n", cli_output_fp(o));
    cli_output_abort(o);
    CHECK(access(path, F_OK) != 0);
    CHECK_EQ_INT(count_prefixed("out.txt"), 0);
}

static void test_output_stdout_symlink_device(void)
{
    /* NULL and "-" are stdout, which commit flushes and does not close. */
    cli_output *o = cli_output_open(NULL);
    CHECK(cli_output_fp(o) == stdout);
    CHECK_EQ_STR(cli_output_name(o), "(stdout)");
    cli_output_commit(o);
    o = cli_output_open("-");
    CHECK(cli_output_fp(o) == stdout);
    cli_output_abort(o);
    CHECK(fileno(stdout) == STDOUT_FILENO && ferror(stdout) == 0);

    /* A symbolic link is followed: the target is replaced, the link stays. */
    char target[256], link_path[256], got[256];
    path_in(target, sizeof target, "target.txt");
    path_in(link_path, sizeof link_path, "link.txt");
    put(target, "old\n");
    unlink(link_path);
    CHECK(symlink("target.txt", link_path) == 0);
    o = cli_output_open(link_path);
    fputs("via link\n", cli_output_fp(o));
    cli_output_commit(o);
    struct stat st;
    CHECK(lstat(link_path, &st) == 0 && S_ISLNK(st.st_mode));
    slurp(target, got, sizeof got);
    CHECK_EQ_STR(got, "via link\n");
    CHECK_EQ_INT(count_prefixed("target.txt.tmp."), 0);
    CHECK_EQ_INT(count_prefixed("link.txt.tmp."), 0);
    unlink(link_path);
    unlink(target);

    /* A device is written into, never renamed over (as root, replacing
     * /dev/null would destroy it). */
    o = cli_output_open("/dev/null");
    fputs("discarded\n", cli_output_fp(o));
    cli_output_commit(o);
    CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));

    /* So is a FIFO: a reader gets the data, the FIFO stays. */
    char fifo[256];
    path_in(fifo, sizeof fifo, "fifo");
    CHECK(mkfifo(fifo, 0600) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        cli_output *w = cli_output_open(fifo);
        fputs("through the fifo\n", cli_output_fp(w));
        cli_output_commit(w);
        _exit(0);
    }
    slurp(fifo, got, sizeof got);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_EQ_STR(got, "through the fifo\n");
    CHECK(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    CHECK_EQ_INT(count_prefixed("fifo.tmp."), 0);
    unlink(fifo);
}

/* Each of these children opens out.txt (holding "old\n"), writes into it and
 * then fails in one way; the old file must stay, with no temporary left. */
enum failure { FAIL_FATAL, FAIL_NO_COMMIT, FAIL_SIGTERM, FAIL_WRITE_ERROR, FAIL_SECOND_OUTPUT };

static cli_output *child_outputs[17]; /* static: reachable for leak checkers at exit */

static void child_fail_output(void *ctx)
{
    enum failure how = *(const enum failure *)ctx;
    char path[256];
    path_in(path, sizeof path, "out.txt");
    cli_init("mm-test");
    if (how == FAIL_WRITE_ERROR) {
        /* A full disk, as far as the temporary file can tell: writes past
         * 1 KiB fail with EFBIG (SIGXFSZ ignored). */
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {1024, 1024};
        setrlimit(RLIMIT_FSIZE, &rl);
    }
    child_outputs[0] = cli_output_open(path);
    FILE *fp = cli_output_fp(child_outputs[0]);
    for (int i = 0; i < 4096; i++) fputs("new data\n", fp);
    switch (how) {
    case FAIL_FATAL: cli_fatal("%s", "input.mmf: byte 9: corrupt");
    case FAIL_NO_COMMIT: return; /* exit(0) without committing */
    case FAIL_SIGTERM: raise(SIGTERM); _exit(96);
    case FAIL_WRITE_ERROR: cli_output_commit(child_outputs[0]); _exit(95);
    case FAIL_SECOND_OUTPUT: {
        /* The second output cannot be created: the first is removed too. */
        char bad[256];
        path_in(bad, sizeof bad, "no-such-dir/out2.txt");
        child_outputs[1] = cli_output_open(bad);
        _exit(94);
    }
    }
}

static void test_output_failures_leave_old_file(void)
{
    char path[256], got[256];
    path_in(path, sizeof path, "out.txt");
    static const enum failure hows[] = {FAIL_FATAL, FAIL_NO_COMMIT, FAIL_SIGTERM,
                                        FAIL_WRITE_ERROR, FAIL_SECOND_OUTPUT};
    static const char *names[] = {"fatal", "no commit", "SIGTERM", "write error",
                                  "second output"};
    for (size_t i = 0; i < sizeof hows / sizeof hows[0]; i++) {
        put(path, "old\n");
        child_result r;
        run_child(child_fail_output, (void *)&hows[i], &r);
        switch (hows[i]) {
        case FAIL_FATAL:
            CHECK_EXIT(r, MM_EXIT_RUNTIME);
            CHECK_EQ_STR(r.err, "mm-test: input.mmf: byte 9: corrupt\n");
            break;
        case FAIL_NO_COMMIT: CHECK_EXIT(r, 0); break;
        case FAIL_SIGTERM:
            CHECK_MSG(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGTERM, "status 0x%x",
                      r.status);
            break;
        case FAIL_WRITE_ERROR:
            CHECK_EXIT(r, MM_EXIT_RUNTIME);
            CHECK_MSG(strstr(r.err, "out.txt: write error: File too large") != NULL, "%s", r.err);
            break;
        case FAIL_SECOND_OUTPUT:
            CHECK_EXIT(r, MM_EXIT_RUNTIME);
            CHECK_MSG(strstr(r.err, "no-such-dir/out2.txt: cannot create output file: No such file") != NULL,
                      "%s", r.err);
            break;
        }
        slurp(path, got, sizeof got);
        CHECK_MSG(strcmp(got, "old\n") == 0, "%s: out.txt now starts %.20s", names[i], got);
        CHECK_MSG(count_prefixed("out.txt.tmp.") == 0, "%s: a temporary file is left", names[i]);
    }
    unlink(path);
}

static void child_open_bad(void *ctx)
{
    int which = *(const int *)ctx;
    cli_init("mm-test");
    if (which == 0) {
        child_outputs[0] = cli_output_open(tmpdir); /* a directory */
    } else {
        /* More pending outputs than the table holds. */
        char path[256];
        for (int i = 0; i < 17; i++) {
            char name[32];
            snprintf(name, sizeof name, "many%02d", i);
            path_in(path, sizeof path, name);
            cli_output *o = cli_output_open(path);
            child_outputs[i] = o;
        }
    }
}

static void test_output_open_refused(void)
{
    child_result r;
    int which = 0;
    run_child(child_open_bad, &which, &r);
    CHECK_EXIT(r, MM_EXIT_RUNTIME);
    char want[512];
    snprintf(want, sizeof want, "mm-test: %s: is a directory\n", tmpdir);
    CHECK_EQ_STR(r.err, want);
    which = 1;
    /* the limit is on named temporaries (the fallback where O_TMPFILE is refused) */
    setenv("MM_NO_O_TMPFILE", "1", 1);
    run_child(child_open_bad, &which, &r);
    unsetenv("MM_NO_O_TMPFILE");
    CHECK_EXIT(r, MM_EXIT_RUNTIME);
    CHECK_EQ_STR(r.err, "mm-test: too many output files open\n");
    CHECK_EQ_INT(count_prefixed("many"), 0); /* all 16 temporaries removed */
}

/* ---- inputs ------------------------------------------------------------------------ */

static void child_open_input(void *ctx)
{
    cli_init("mm-test");
    cli_open_input(ctx);
}

static void test_open_input(void)
{
    CHECK(cli_open_input(NULL) == stdin);
    CHECK(cli_open_input("-") == stdin);
    CHECK_EQ_STR(cli_input_name(NULL), "(stdin)");
    CHECK_EQ_STR(cli_input_name("-"), "(stdin)");
    CHECK_EQ_STR(cli_input_name("a.mmf"), "a.mmf");
    char path[256], line[64];
    path_in(path, sizeof path, "in.txt");
    put(path, "input\n");
    FILE *f = cli_open_input(path);
    CHECK(f && fgets(line, sizeof line, f) && strcmp(line, "input\n") == 0);
    if (f) fclose(f);
    unlink(path);

    child_result r;
    run_child(child_open_input, path, &r);
    CHECK_EXIT(r, MM_EXIT_RUNTIME);
    char want[512];
    snprintf(want, sizeof want, "mm-test: %s: No such file or directory\n", path);
    CHECK_EQ_STR(r.err, want);
    run_child(child_open_input, tmpdir, &r);
    CHECK_EXIT(r, MM_EXIT_RUNTIME);
    snprintf(want, sizeof want, "mm-test: %s: is a directory\n", tmpdir);
    CHECK_EQ_STR(r.err, want);
}

/* ---- progress and SIGPIPE ------------------------------------------------------------ */

static void child_progress(void *ctx)
{
    int mode = *(const int *)ctx;
    cli_init("mm-test");
    cli_progress_set(mode);
    printf("enabled=%d quiet=%d\n", cli_progress_enabled(), cli_quiet);
    cli_progress("%d images", 1);
    cli_progress("%d images", 2); /* within 0.1 s of the first: not shown */
    cli_progress_done("%d images done", 3);
}

static void test_progress(void)
{
    child_result r;
    int mode = 1;
    run_child(child_progress, &mode, &r);
    CHECK_EXIT(r, 0);
    CHECK_EQ_STR(r.out, "enabled=1 quiet=0\n");
    CHECK_EQ_STR(r.err, "\rmm-test: 1 images\033[K\rmm-test: 3 images done\033[K\n");
    mode = 0; /* --quiet: nothing, and the programs' notes are off too */
    run_child(child_progress, &mode, &r);
    CHECK_EXIT(r, 0);
    CHECK_EQ_STR(r.out, "enabled=0 quiet=1\n");
    CHECK_EQ_STR(r.err, "");
    mode = -1; /* auto: stderr is a file here, not a terminal */
    run_child(child_progress, &mode, &r);
    CHECK_EXIT(r, 0);
    CHECK_EQ_STR(r.out, "enabled=0 quiet=0\n");
    CHECK_EQ_STR(r.err, "");
}

/* Writes into a pipe whose reader is gone, with SIGPIPE ignored before
 * cli_init (as a Python subprocess or some shells leave it). */
static void child_sigpipe(void *ctx)
{
    (void)ctx;
    signal(SIGPIPE, SIG_IGN);
    cli_init("mm-test");
    int fds[2];
    if (pipe(fds) != 0) _exit(97);
    close(fds[0]);
    for (int i = 0; i < 1000; i++)
        if (write(fds[1], "x", 1) < 0) _exit(96); /* EPIPE: SIGPIPE was still ignored */
    _exit(95);
}

static void test_sigpipe_default(void)
{
    child_result r;
    run_child(child_sigpipe, NULL, &r);
    CHECK_MSG(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGPIPE, "status 0x%x", r.status);
    CHECK_EQ_STR(r.err, "");
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_parse_numbers_in_range);
    RUN(test_parse_numbers_rejected);
    RUN(test_default_threads);
    RUN(test_version);
    RUN(test_messages_and_exits);
    RUN(test_output_commit_new_and_existing);
    RUN(test_output_abort);
    RUN(test_output_stdout_symlink_device);
    RUN(test_output_failures_leave_old_file);
    RUN(test_output_open_refused);
    RUN(test_open_input);
    RUN(test_progress);
    RUN(test_sigpipe_default);
    rmdir(tmpdir);
    return test_summary();
}
