/* error.c — see error.h. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>

int mm_fail(mm_error *err, int kind, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->kind = kind;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

const char *mm_error_kind_name(int kind)
{
    switch (kind) {
    case MM_ERR_NONE: return "ok";
    case MM_ERR_IO: return "I/O error";
    case MM_ERR_TRUNCATED: return "truncated";
    case MM_ERR_CORRUPT: return "corrupt";
    case MM_ERR_MALFORMED: return "malformed";
    case MM_ERR_LIMIT: return "limit exceeded";
    case MM_ERR_UNSUPPORTED: return "unsupported";
    case MM_ERR_MISMATCH: return "mismatch";
    case MM_ERR_NOMEM: return "out of memory";
    }
    return "error";
}
