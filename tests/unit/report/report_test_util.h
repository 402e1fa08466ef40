/* report_test_util.h — helpers shared by the lib/report unit tests: capture
 * what a writer prints, and write a small input file into a temp folder. */
#ifndef REPORT_TEST_UTIL_H
#define REPORT_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Starts capturing: returns a FILE whose text capture_end hands back. */
typedef struct capture {
    FILE *fp;
    char *text;
    size_t len;
} capture;

static inline FILE *capture_begin(capture *c)
{
    c->text = NULL;
    c->len = 0;
    c->fp = open_memstream(&c->text, &c->len);
    if (!c->fp) abort();
    return c->fp;
}

/* The captured text (malloc'd, NUL-terminated). */
static inline char *capture_end(capture *c)
{
    fclose(c->fp);
    return c->text;
}

static char report_tmpdir[64];

/* Writes text to NAME in this test's temp folder; returns the path (static
 * storage, 8 in rotation). */
static inline const char *tmp_file(const char *name, const char *text)
{
    static char buf[8][256];
    static int next;
    if (!report_tmpdir[0]) {
        strcpy(report_tmpdir, "/tmp/test_report.XXXXXX");
        if (!mkdtemp(report_tmpdir)) abort();
    }
    char *p = buf[next++ % 8];
    snprintf(p, 256, "%s/%s", report_tmpdir, name);
    FILE *fp = fopen(p, "wb");
    if (!fp || fwrite(text, 1, strlen(text), fp) != strlen(text) || fclose(fp)) abort();
    return p;
}

static inline void tmp_cleanup(void)
{
    if (!report_tmpdir[0]) return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", report_tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", report_tmpdir);
}

#endif
