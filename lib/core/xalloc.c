/* xalloc.c — see xalloc.h. */
#include "core/xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cli.h"

_Noreturn void xalloc_die(size_t size)
{
    /* No stdio buffer: the allocation that failed may have been its own. */
    char msg[160];
    int len = snprintf(msg, sizeof msg, "%s: out of memory (%zu bytes)\n", cli_prog ? cli_prog : "mmkit", size);
    if (len > 0) {
        ssize_t w = write(2, msg, (size_t)len < sizeof msg ? (size_t)len : sizeof msg - 1);
        (void)w;
    }
    /* exit, not _exit: lib/core/cli's atexit handler removes a pending -o
     * output, so that nothing half-written is left. */
    exit(1);
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) xalloc_die(size);
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    /* an overflowing product is reported as SIZE_MAX bytes */
    if (!p) xalloc_die(size && count > SIZE_MAX / size ? SIZE_MAX : count * size);
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p) xalloc_die(size);
    return p;
}

void *xmemalign(size_t align, size_t size)
{
    void *p = NULL;
    if (posix_memalign(&p, align, size ? size : 1)) xalloc_die(size);
    return p;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

char *xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}
