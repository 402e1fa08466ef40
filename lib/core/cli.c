/* cli.c — see cli.h. */
#include "core/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/mapguard.h"
#include "core/xalloc.h"
#include "kernels/cpu.h"

const char *cli_prog = "mmkit";
bool cli_quiet = false;

/* ---- pending atomic outputs ------------------------------------------------
 * A small fixed table, so that the signal handler can unlink temporary files
 * without touching the heap (unlink is async-signal-safe). */
#define CLI_MAX_OUTPUTS 16

struct cli_output {
    FILE *fp;
    char *path;     /* final path, NULL for stdout */
    char *tmp_path; /* named temporary path, while one exists */
    bool unnamed;   /* written through an O_TMPFILE (no name until the commit) */
    bool direct;    /* FIFO/device/socket: written in place */
    int slot;       /* pending_tmp entry of tmp_path, -1 if none */
};

static char *volatile pending_tmp[CLI_MAX_OUTPUTS];

static void remove_pending_outputs(void)
{
    for (int i = 0; i < CLI_MAX_OUTPUTS; i++) {
        char *p = pending_tmp[i];
        if (p) {
            unlink(p);
            pending_tmp[i] = NULL;
        }
    }
}

static void on_fatal_signal(int sig)
{
    remove_pending_outputs();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void write_str(const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

/* A bus error inside a mapped input file means the file shrank under us
 * (lib/mapguard): a runtime error naming the file, status 1, no output
 * left behind. Any other bus error is a bug: back to the default action,
 * which the faulting access raises again on return. */
static void on_bus_error(int sig, siginfo_t *info, void *context)
{
    (void)context;
    const char *name = mapguard_find(info->si_addr);
    remove_pending_outputs();
    if (!name) {
        signal(sig, SIG_DFL);
        return;
    }
    write_str(cli_prog);
    write_str(": ");
    write_str(name);
    write_str(": the file shrank while it was being read\n");
    _exit(1);
}

void cli_init(const char *prog)
{
    const char *slash = strrchr(prog, '/');
    cli_prog = slash ? slash + 1 : prog;
    signal(SIGPIPE, SIG_DFL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    struct sigaction bus;
    memset(&bus, 0, sizeof bus);
    bus.sa_sigaction = on_bus_error;
    bus.sa_flags = SA_SIGINFO;
    sigemptyset(&bus.sa_mask);
    sigaction(SIGBUS, &bus, NULL);
    atexit(remove_pending_outputs);
    /* MM_ISA asks for a kernel level: one this CPU cannot run is a usage
     * error now, not a silently different path later (kernels/cpu.h). */
    mm_error isa_err = {0};
    if (cpu_check_env(&isa_err) < 0) cli_usage_error("%s", isa_err.msg);
}

static void vmessage(const char *kind, const char *fmt, va_list ap)
{
    /* Build the whole line first so that concurrent writers don't interleave. */
    char line[4096];
    int n = snprintf(line, sizeof line, "%s: %s", cli_prog, kind);
    if (n < 0) n = 0;
    if ((size_t)n < sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    size_t len = strlen(line);
    if (len + 1 < sizeof line) {
        line[len++] = '\n';
        line[len] = 0;
    }
    fflush(stdout);
    fputs(line, stderr);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("", fmt, ap);
    va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("warning: ", fmt, ap);
    va_end(ap);
}

/* Every fatal path ends here: pending atomic outputs are removed first. */
static _Noreturn void finish(int status)
{
    remove_pending_outputs();
    exit(status);
}

_Noreturn void cli_fatal_status(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("", fmt, ap);
    va_end(ap);
    finish(status);
}

_Noreturn void cli_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("", fmt, ap);
    va_end(ap);
    finish(MM_EXIT_RUNTIME);
}

_Noreturn void cli_usage_hint(void)
{
    fprintf(stderr, "Try '%s --help' for more information.\n", cli_prog);
    finish(MM_EXIT_USAGE);
}

_Noreturn void cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("", fmt, ap);
    va_end(ap);
    cli_usage_hint();
}

_Noreturn void cli_version(void)
{
    printf("%s (mmkit) %s\n", cli_prog, MM_VERSION);
    if (fflush(stdout) != 0 || ferror(stdout)) exit(MM_EXIT_RUNTIME);
    exit(MM_EXIT_OK);
}

long cli_parse_long(const char *option, const char *arg, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end != 0)
        cli_usage_error("option %s: '%s' is not an integer", option, arg);
    if (v < min || v > max)
        cli_usage_error("option %s: %ld is out of range [%ld, %ld]", option, v, min, max);
    return v;
}

double cli_parse_double(const char *option, const char *arg, double min, double max)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end != 0 || !isfinite(v))
        cli_usage_error("option %s: '%s' is not a number", option, arg);
    if (v < min || v > max)
        cli_usage_error("option %s: %g is out of range [%g, %g]", option, v, min, max);
    return v;
}

int cli_default_threads(int max)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > max ? max : (int)n;
}

/* ---- atomic output ------------------------------------------------------------ */
static int is_stdio_path(const char *path)
{
    return path == NULL || strcmp(path, "-") == 0;
}

/* Directory part of path, for O_TMPFILE and the fsync after the rename. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return xstrdup(".");
    if (slash == path) return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

static int reserve_slot(void)
{
    for (int i = 0; i < CLI_MAX_OUTPUTS; i++)
        if (!pending_tmp[i]) return i;
    cli_fatal("too many output files open");
}

cli_output *cli_output_open(const char *path)
{
    cli_output *out = xcalloc(1, sizeof *out);
    out->slot = -1;
    if (is_stdio_path(path)) {
        out->fp = stdout;
        return out;
    }
    /* Only a regular file (or a new one) can be replaced atomically. A FIFO,
     * a device or a socket is written into directly: renaming over it would
     * destroy it (as root, `-o /dev/null` would replace the device). A
     * symbolic link is followed, so that its target is what gets replaced. */
    struct stat st;
    char *resolved = NULL;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        resolved = realpath(path, NULL);
        if (resolved) path = resolved;
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) cli_fatal("%s: is a directory", path);
        out->path = xstrdup(path);
        free(resolved);
        out->direct = true;
        out->fp = fopen(out->path, "wb");
        if (!out->fp) cli_fatal("%s: cannot open for writing: %s", out->path, strerror(errno));
        return out;
    }
    out->path = xstrdup(path);
    free(resolved);
    path = out->path;
    int fd = -1;
#ifdef O_TMPFILE
    /* An unnamed file in the target's directory: if the program is killed
     * (even by SIGKILL) before the commit, the kernel frees it and nothing is
     * left beside the target. Filesystems without O_TMPFILE (and the test
     * hook MM_NO_O_TMPFILE) fall back to a named temporary below. */
    const char *no_tmpfile = getenv("MM_NO_O_TMPFILE");
    if (!no_tmpfile || !*no_tmpfile) {
        char *dir = dir_of(path);
        fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666); /* umask applies */
        free(dir);
    }
#endif
    if (fd >= 0) {
        out->unnamed = true;
    } else {
        int slot = reserve_slot();
        size_t len = strlen(path) + 16;
        out->tmp_path = xmalloc(len);
        snprintf(out->tmp_path, len, "%s.tmp.XXXXXX", path);
        fd = mkstemp(out->tmp_path);
        if (fd < 0) cli_fatal("%s: cannot create output file: %s", path, strerror(errno));
        /* mkstemp creates 0600; give the file the permissions a plain open would. */
        mode_t mask = umask(0);
        umask(mask);
        if (fchmod(fd, 0666 & ~mask) != 0) { /* not fatal: the data is what matters */ }
        pending_tmp[slot] = out->tmp_path;
        out->slot = slot;
    }
    out->fp = fdopen(fd, "wb");
    if (!out->fp) cli_fatal("%s: %s", path, strerror(errno));
    return out;
}

FILE *cli_output_fp(cli_output *out)
{
    return out->fp;
}

const char *cli_output_name(const cli_output *out)
{
    return out->path ? out->path : "(stdout)";
}

static void release_output(cli_output *out)
{
    if (out->slot >= 0) pending_tmp[out->slot] = NULL;
    free(out->path);
    free(out->tmp_path);
    free(out);
}

/* Gives the unnamed file fd the name dst (which must not exist). Through
 * /proc/self/fd, which needs no privilege; AT_EMPTY_PATH where /proc is not
 * mounted (it needs CAP_DAC_READ_SEARCH). */
static int link_unnamed(int fd, const char *dst)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, dst, AT_SYMLINK_FOLLOW) == 0) return 0;
    if (errno == EEXIST) return -1;
    int saved = errno;
    if (linkat(fd, "", AT_FDCWD, dst, AT_EMPTY_PATH) == 0) return 0;
    if (errno != EEXIST) errno = saved;
    return -1;
}

/* Names the unnamed file: straight as out->path when that does not exist
 * (nothing else is ever visible), else as a fresh "path.tmp.NNNNNN" renamed
 * over path at once (a kill in between leaves that name, as the fallback). */
static void commit_unnamed(cli_output *out, int fd)
{
    if (link_unnamed(fd, out->path) == 0) return;
    if (errno != EEXIST)
        cli_fatal("%s: cannot link the output file into place: %s", out->path, strerror(errno));
    int slot = reserve_slot();
    size_t len = strlen(out->path) + 32;
    out->tmp_path = xmalloc(len);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long seed = (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 16);
    for (int attempt = 0;; attempt++) {
        seed = seed * 6364136223846793005UL + 1442695040888963407UL;
        snprintf(out->tmp_path, len, "%s.tmp.%06lu", out->path, (seed >> 33) % 1000000);
        pending_tmp[slot] = out->tmp_path;
        out->slot = slot;
        if (link_unnamed(fd, out->tmp_path) == 0) break;
        pending_tmp[slot] = NULL;
        out->slot = -1;
        if (errno != EEXIST || attempt == 100)
            cli_fatal("%s: cannot link the output file into place: %s", out->path,
                      strerror(errno));
    }
    if (rename(out->tmp_path, out->path) != 0)
        cli_fatal("%s: cannot rename %s into place: %s", out->path, out->tmp_path,
                  strerror(errno));
    pending_tmp[slot] = NULL;
    out->slot = -1;
}

void cli_output_commit(cli_output *out)
{
    if (!out->path) { /* stdout */
        if (fflush(stdout) != 0 || ferror(stdout))
            cli_fatal("(stdout): write error: %s", strerror(errno));
        release_output(out);
        return;
    }
    if (fflush(out->fp) != 0 || ferror(out->fp))
        cli_fatal("%s: write error: %s", out->path, strerror(errno));
    if (out->direct) { /* FIFO or device: written in place */
        if (fclose(out->fp) != 0) cli_fatal("%s: write error: %s", out->path, strerror(errno));
        release_output(out);
        return;
    }
    if (fsync(fileno(out->fp)) != 0 && errno != EINVAL)
        cli_fatal("%s: fsync failed: %s", out->path, strerror(errno));
    if (out->unnamed) {
        commit_unnamed(out, fileno(out->fp));
        if (fclose(out->fp) != 0) cli_fatal("%s: write error: %s", out->path, strerror(errno));
        out->fp = NULL;
    } else {
        if (fclose(out->fp) != 0) cli_fatal("%s: write error: %s", out->path, strerror(errno));
        out->fp = NULL;
        if (rename(out->tmp_path, out->path) != 0)
            cli_fatal("%s: cannot rename %s into place: %s", out->path, out->tmp_path,
                      strerror(errno));
        pending_tmp[out->slot] = NULL;
    }
    /* Make the link or rename itself durable. */
    char *dir = dir_of(out->path);
    if (dir) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    release_output(out);
}

void cli_output_abort(cli_output *out)
{
    if (out->path) {
        if (out->fp) fclose(out->fp); /* an unnamed file vanishes here */
        if (out->tmp_path) unlink(out->tmp_path);
    }
    release_output(out);
}

FILE *cli_open_input(const char *path)
{
    if (is_stdio_path(path)) return stdin;
    FILE *fp = fopen(path, "rb");
    if (!fp) cli_fatal("%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode))
        cli_fatal("%s: is a directory", path);
    return fp;
}

const char *cli_input_name(const char *path)
{
    return is_stdio_path(path) ? "(stdin)" : path;
}

/* ---- progress ------------------------------------------------------------------- */
static int progress_mode = -1;
static int progress_shown;
static double progress_last;

void cli_progress_set(int mode)
{
    progress_mode = mode;
    if (mode == 0) cli_quiet = true;
}

bool cli_progress_enabled(void)
{
    if (progress_mode >= 0) return progress_mode == 1;
    return isatty(STDERR_FILENO) != 0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cli_progress(const char *fmt, ...)
{
    if (!cli_progress_enabled()) return;
    double t = now_seconds();
    if (progress_shown && t - progress_last < 0.1) return;
    progress_last = t;
    progress_shown = 1;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\r%s: %s\033[K", cli_prog, line);
    fflush(stderr);
}

void cli_progress_done(const char *fmt, ...)
{
    if (!cli_progress_enabled()) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\r%s: %s\033[K\n", cli_prog, line);
    fflush(stderr);
    progress_shown = 0;
}
