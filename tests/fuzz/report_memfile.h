/* report_memfile.h — for the fuzz_report_* harnesses: the report's loaders
 * take a path, so the input goes into an anonymous memory file (memfd) that
 * is opened again through /proc/self/fd. */
#ifndef REPORT_MEMFILE_H
#define REPORT_MEMFILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Writes data to a new memfd; *path gets its name. Returns the fd (close it). */
static inline int memfile(const uint8_t *data, size_t size, char *path, size_t cap)
{
    int fd = memfd_create("fuzz", 0);
    if (fd < 0) abort();
    for (size_t off = 0; off < size;) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) abort();
        off += (size_t)w;
    }
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    return fd;
}

/* Writes what a section writer prints nowhere (it must still not crash). */
static inline FILE *null_out(void)
{
    static FILE *fp;
    if (!fp) fp = fopen("/dev/null", "w");
    if (!fp) abort();
    return fp;
}

#endif
