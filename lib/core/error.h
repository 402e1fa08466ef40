/* error.h — how lib/ modules report failures to their callers.
 *
 * Library code never prints and never exits: a function that can fail takes
 * an `mm_error *` and returns -1 (or NULL) after filling it with a kind and a
 * complete message that already names the file and position, e.g.
 *   "a.mmf: byte 1234: truncated: stream ends inside a record".
 * The program prefixes its own name (cli_fatal("%s", err.msg)).
 */
#ifndef MM_ERROR_H
#define MM_ERROR_H

enum mm_error_kind {
    MM_ERR_NONE = 0,
    MM_ERR_IO,          /* open/read/write failed (errno text in msg) */
    MM_ERR_TRUNCATED,   /* input ended early */
    MM_ERR_CORRUPT,     /* checksum mismatch */
    MM_ERR_MALFORMED,   /* syntax or structure invalid */
    MM_ERR_LIMIT,       /* a bound was exceeded (dimension, id length, pixels) */
    MM_ERR_UNSUPPORTED, /* valid but not handled (format, dtype) */
    MM_ERR_MISMATCH,    /* inputs disagree (dimension, dtype) */
    MM_ERR_NOMEM,
};

#define MM_ERROR_MAX 1024

typedef struct mm_error {
    int kind;
    char msg[MM_ERROR_MAX];
} mm_error;

/* Fills *err (if not NULL) and returns -1, so that `return mm_fail(...)` works. */
int mm_fail(mm_error *err, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Short name of a kind ("truncated", "corrupt", ...). */
const char *mm_error_kind_name(int kind);

#endif
