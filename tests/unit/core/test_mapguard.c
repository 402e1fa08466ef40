/* test_mapguard.c — lib/mapguard's table, and the end to end promise: a
 * mapped input file that shrinks under a reader makes the program say which
 * file, exit with status 1 and leave no output, instead of dying of SIGBUS. */
#include "test.h"

#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/mapguard.h"
#include "io/mmf.h"

static void test_table(void)
{
    static char block[4096];
    int a = mapguard_add(block, 1000, "first.mmf");
    int b = mapguard_add(block + 2000, 1000, "second.mmf");
    CHECK(a >= 0 && b >= 0 && a != b);
    CHECK_EQ_STR(mapguard_find(block), "first.mmf");
    CHECK_EQ_STR(mapguard_find(block + 999), "first.mmf");
    CHECK(mapguard_find(block + 1000) == NULL);
    CHECK_EQ_STR(mapguard_find(block + 2500), "second.mmf");
    mapguard_remove(a);
    CHECK(mapguard_find(block) == NULL);
    CHECK_EQ_STR(mapguard_find(block + 2000), "second.mmf");
    mapguard_remove(b);
    mapguard_remove(-1); /* a full table's answer: nothing to remove */
    /* A full table refuses, and frees up again. */
    int slots[200], n = 0;
    while (n < 200 && (slots[n] = mapguard_add(block, 1, "x")) >= 0) n++;
    CHECK(n > 0 && n < 200);
    for (int i = 0; i < n; i++) mapguard_remove(slots[i]);
    CHECK(mapguard_find(block) == NULL);
}

/* Writes `path`: an MMF file of `rows` records of dimension 256. */
static int write_mmf(const char *path, int rows)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) return -1;
    mmf_header h;
    mm_error err = {0};
    mmf_header_init(&h, 256, MMF_F32, 0);
    mmf_writer *w = mmf_writer_open(fp, path, &h, &err);
    float vec[256];
    for (int i = 0; i < 256; i++) vec[i] = (float)i;
    int rc = w ? 0 : -1;
    for (int i = 0; rc == 0 && i < rows; i++) {
        char id[32];
        snprintf(id, sizeof id, "r%d", i);
        rc = mmf_write(w, id, strlen(id), vec, &err);
    }
    if (w && mmf_writer_close(w, &err) < 0) rc = -1;
    mmf_header_free(&h);
    if (fclose(fp) != 0) rc = -1;
    return rc;
}

static void test_shrunk_file(void)
{
    char dir[] = "/tmp/mm-test-mapguard-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    char path[256], out[256];
    snprintf(path, sizeof path, "%s/gallery.mmf", dir);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    CHECK(write_mmf(path, 2000) == 0); /* about 2 MB */
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], STDERR_FILENO);
        close(pipefd[0]);
        cli_init("mm-test");
        cli_output *co = cli_output_open(out);
        FILE *o = co ? cli_output_fp(co) : NULL;
        mm_error err = {0};
        mmf_reader *r = mmf_open(path, &err);
        if (!r || !mmf_is_mapped(r) || !o) _exit(10);
        mmf_record rec;
        if (mmf_next(r, &rec, &err) != 1) _exit(11); /* the first page is read */
        if (truncate(path, 8192) != 0) _exit(12);
        while (mmf_next(r, &rec, &err) == 1) fprintf(o, "%s\n", rec.id);
        _exit(13); /* not reached: the lost pages raise SIGBUS */
    }
    close(pipefd[1]);
    char msg[1024] = {0};
    size_t got = 0;
    ssize_t k;
    while (got + 1 < sizeof msg && (k = read(pipefd[0], msg + got, sizeof msg - 1 - got)) > 0) got += (size_t)k;
    close(pipefd[0]);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %#x, stderr '%s'", status, msg);
    char want[512];
    snprintf(want, sizeof want, "mm-test: %s: the file shrank while it was being read\n", path);
    CHECK_EQ_STR(msg, want);
    CHECK(access(out, F_OK) != 0); /* the -o file was never made */
    DIR *d = opendir(dir);
    int entries = 0;
    for (struct dirent *e; d && (e = readdir(d));) entries += e->d_name[0] != '.';
    if (d) closedir(d);
    CHECK_EQ_INT(entries, 1); /* only gallery.mmf: the temporary output is gone too */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    RUN(test_table);
    RUN(test_shrunk_file);
    return test_summary();
}
