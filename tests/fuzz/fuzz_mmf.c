/* fuzz_mmf.c — libFuzzer harness for the MMF reader (streaming and whole-load
 * paths, through a buffer and through a mapped file: a memfd is a regular
 * file, so the reader maps it and decodes records from the mapping). Any
 * input must end in a clean end-of-stream or an error with a message; never a
 * crash, leak or sanitizer report.
 *   make fuzz && build-fuzz/fuzz_mmf -max_total_time=600 tests/fuzz/corpus-mmf
 * Seed corpus: a few valid streams made with mm-convert (see README). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io/mmf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    FILE *fp = fmemopen((void *)data, size, "rb");
    if (!fp) return 0;
    mm_error err;
    mmf_reader *r = mmf_open_fp(fp, "fuzz", &err);
    mmf_require_same_dim(r, false);
    mmf_record rec;
    int rc;
    while ((rc = mmf_next(r, &rec, &err)) == 1) {
        if (rec.id_len != strlen(rec.id)) __builtin_trap();
    }
    if (rc < 0 && err.msg[0] == 0) __builtin_trap();
    mmf_close(r);

    fclose(fp);

    mmf_matrix m;

    fp = fmemopen((void *)data, size, "rb");
    r = mmf_open_fp(fp, "fuzz", &err);
    if (mmf_load_reader(r, &m, &err) == 0) mmf_matrix_free(&m);
    mmf_close(r);
    fclose(fp);

    /* The same bytes as a regular (mapped) file, opened by name. */
    int fd = memfd_create("fuzz", 0);
    if (fd < 0) return 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (write(fd, data, size) == (ssize_t)size) {
        r = mmf_open(path, &err);
        if (!r || !mmf_is_mapped(r)) __builtin_trap();
        mmf_require_same_dim(r, false);
        while ((rc = mmf_next(r, &rec, &err)) == 1) {
            if (rec.id_len != strlen(rec.id)) __builtin_trap();
        }
        if (rc < 0 && err.msg[0] == 0) __builtin_trap();
        mmf_close(r);
        r = mmf_open(path, &err);
        if (!r) __builtin_trap();
        if (mmf_load_reader(r, &m, &err) == 0) mmf_matrix_free(&m);
        mmf_close(r);
    }
    close(fd);
    return 0;
}
