/* test_hugealloc.c — lib/core/hugealloc.c: small buffers 64-byte aligned,
 * from 2 MiB up 2 MiB aligned and usable to the end of the size asked for
 * (rounded up to whole 2 MiB pages), NULL for a size that cannot be had. */
#include <stdint.h>

#include "core/hugealloc.h"
#include "test.h"

static void test_alignment(void)
{
    const size_t mib2 = (size_t)2 << 20;
    const size_t sizes[] = {0, 1, 100, 4096, mib2 - 1, mib2, mib2 + 1, 3 * mib2 + 12345};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = mm_huge_alloc(sizes[i]);
        CHECK_MSG(p != NULL, "size %zu", sizes[i]);
        if (!p) continue;
        size_t align = sizes[i] >= mib2 ? mib2 : 64;
        CHECK_MSG((uintptr_t)p % align == 0, "size %zu: %p not %zu-aligned", sizes[i], (void *)p, align);
        if (sizes[i]) {
            memset(p, 0xa5, sizes[i]);
            CHECK(p[0] == 0xa5 && p[sizes[i] - 1] == 0xa5);
        }
        free(p);
    }
}

static void test_refusal(void)
{
    CHECK(mm_huge_alloc(SIZE_MAX) == NULL);
    CHECK(mm_huge_alloc(SIZE_MAX - 100) == NULL);
}

int main(void)
{
    RUN(test_alignment);
    RUN(test_refusal);
    return test_summary();
}
