/* xalloc.h — allocation that cannot fail (git's rule).
 *
 * Owns the out-of-memory policy for allocations whose size does not come
 * from the input: they die at once with "PROG: out of memory (N bytes)" and
 * exit status 1, so that callers need no cleanup chain for them. Where a
 * size does come from the input (a block, an arena, a model), check it
 * against a limit and report MM_ERR_LIMIT / MM_ERR_NOMEM through mm_error
 * instead: that is a property of the input, not an accident.
 */
#ifndef MM_XALLOC_H
#define MM_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
/* The first n bytes of s (or fewer, up to a NUL), NUL-terminated. */
char *xstrndup(const char *s, size_t n);
/* size bytes aligned to align (a power of two, a multiple of sizeof(void *));
 * free with free(). */
void *xmemalign(size_t align, size_t size);
/* Ends the process as the calls above do when size bytes cannot be had:
 * for an allocator of one's own (aligned, huge-page) whose NULL means the
 * same thing. */
_Noreturn void xalloc_die(size_t size);

#endif
