/* cli.h — the conventions every mm-* program shares.
 *
 * Owns: the program name used in messages, exit statuses, usage/runtime error
 * reporting, --version text, number parsing for option arguments, atomic
 * output files (-o FILE), SIGPIPE policy, and the progress line on stderr.
 *
 * Exit statuses (documented in every man page):
 *   0  success
 *   1  runtime error (bad input data, I/O error): "prog: file:pos: message"
 *   2  usage error (unknown option, bad option argument): one line + hint
 *   141 the reader of our standard output went away (SIGPIPE, as for cat/yes)
 * Programs may define further statuses (mm-eval: 4 as trec_eval does).
 *
 * SIGPIPE policy: cli_init() restores the default action, so `mm-x | head`
 * ends the program silently with status 141 exactly like other Unix tools,
 * even when the parent shell or a Python subprocess ignored SIGPIPE.
 */
#ifndef MM_CLI_H
#define MM_CLI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#ifndef MM_VERSION
#define MM_VERSION "0.0.0-dev"
#endif

enum {
    MM_EXIT_OK = 0,
    MM_EXIT_RUNTIME = 1,
    MM_EXIT_USAGE = 2,
};

/* Name used as the prefix of every message ("mm-rank"). Set by cli_init. */
extern const char *cli_prog;

/* Call first in main(): sets cli_prog, the SIGPIPE policy, and signal handlers
 * that remove pending atomic output files on SIGINT/SIGTERM/SIGHUP. */
void cli_init(const char *prog);

/* "prog: message" on stderr. The message should already carry
 * "file:position: " where one applies. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* cli_error, then remove pending atomic outputs, then exit(status). */
_Noreturn void cli_fatal_status(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Same with status 1. */
_Noreturn void cli_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "prog: message\nTry 'prog --help' for more information." and exit 2. */
_Noreturn void cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Only the hint line, exit 2: for the getopt '?' case, after getopt has
 * already printed "prog: unrecognized option '--foo'". */
_Noreturn void cli_usage_hint(void);

/* "prog (mmkit) VERSION" on stdout, exit 0. */
_Noreturn void cli_version(void);

/* Option-argument parsing: a usage error (exit 2) naming the option when the
 * argument is not a number in [min, max]. */
long cli_parse_long(const char *option, const char *arg, long min, long max);
double cli_parse_double(const char *option, const char *arg, double min, double max);

/* Default for -t: the number of online CPUs, at least 1 and at most max. */
int cli_default_threads(int max);

/* ---- Atomic output -------------------------------------------------------
 * cli_output_open(path): NULL or "-" gives stdout. Otherwise, on Linux, an
 * unnamed O_TMPFILE file is created in path's directory and
 * cli_output_commit() flushes, fsyncs and links it into place (as path when
 * that does not exist yet, else under a fresh "path.tmp.NNNNNN" renamed over
 * path at once), so a program killed before the commit (even by SIGKILL)
 * leaves nothing behind. Where the filesystem refuses O_TMPFILE (or
 * MM_NO_O_TMPFILE is set non-empty, for tests) a named temporary
 * "path.tmp.XXXXXX" is written and renamed instead; it is removed on
 * cli_fatal*, SIGINT/SIGTERM/SIGHUP or an exit without commit, but a SIGKILL
 * leaves it. Either way path is left as it was until the commit. An existing
 * FIFO, device or socket is written into directly (it cannot be replaced); a
 * symbolic link is followed. */
typedef struct cli_output cli_output;
cli_output *cli_output_open(const char *path);
FILE *cli_output_fp(cli_output *out);
const char *cli_output_name(const cli_output *out); /* "path" or "(stdout)" */
/* Returns only on success (a failure is fatal, with the file named). */
void cli_output_commit(cli_output *out);
/* Discards the output (temporary file removed). */
void cli_output_abort(cli_output *out);

/* Opens an input path ("-" or NULL = stdin) for reading; fatal on failure. */
FILE *cli_open_input(const char *path);
/* Display name of an input path: "(stdin)" for NULL/"-". */
const char *cli_input_name(const char *path);

/* ---- Progress -------------------------------------------------------------
 * A single self-overwriting line on stderr, shown only when stderr is a
 * terminal unless forced by --progress (cli_progress_set(1)) or silenced by
 * --quiet (cli_progress_set(0)). Rate-limited to ~10 updates per second. */
void cli_progress_set(int mode); /* -1 auto (default), 0 never, 1 always */
bool cli_progress_enabled(void);
void cli_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Ends the progress line (prints the final state with a newline if shown). */
void cli_progress_done(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True when --quiet was given: programs suppress their informational notes. */
extern bool cli_quiet;

#endif
