/* hugealloc.c — see hugealloc.h. */
#include "core/hugealloc.h"

#include <stdlib.h>
#include <sys/mman.h>

void *mm_huge_alloc(size_t bytes)
{
    const size_t huge = (size_t)2 << 20;
    void *p = NULL;
    if (bytes >= huge) {
        if (bytes > (size_t)-1 - huge) return NULL;
        bytes = (bytes + huge - 1) / huge * huge;
        if (posix_memalign(&p, huge, bytes)) return NULL;
#ifdef MADV_HUGEPAGE
        madvise(p, bytes, MADV_HUGEPAGE); /* advice only: failure changes nothing */
#endif
        return p;
    }
    if (posix_memalign(&p, 64, bytes ? bytes : 64)) return NULL;
    return p;
}
