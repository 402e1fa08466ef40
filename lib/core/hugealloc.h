/* hugealloc.h — large buffers on transparent huge pages.
 *
 * Owns the rule for buffers of megabytes that are filled once and then read
 * many times (model weights, activations, gallery blocks, loaded rows): from
 * 2 MiB up they start on a 2 MiB boundary, are rounded up to whole 2 MiB
 * pages and marked MADV_HUGEPAGE, so that where the kernel gives huge pages
 * on request their first touch is one fault per 2 MiB instead of per 4 KiB
 * (on a virtual machine a 4 KiB fault costs microseconds: a 350 MB model was
 * 90,000 of them) and reading them misses the TLB less. Smaller ones are
 * 64-byte aligned. The advice is only advice: where it is refused nothing
 * else changes. Free with free().
 */
#ifndef MM_HUGEALLOC_H
#define MM_HUGEALLOC_H

#include <stddef.h>

/* NULL when out of memory (the caller reports it: these sizes come from the
 * input, see xalloc.h). */
void *mm_huge_alloc(size_t bytes);

#endif
