/* test_trainlog.c — mm-train --log lines: epoch/task/fields, what is
 * ignored (unknown and non-numeric fields, blank lines), the loss and
 * validation charts per task, and errors with file:line. */
#include "report/trainlog.h"
#include "report_test_util.h"
#include "test.h"

static size_t count_points(const report_trainlog *t, const char *task, const char *key)
{
    size_t n = 0;
    for (size_t i = 0; i < t->count; i++)
        n += strcmp(t->pt[i].task, task) == 0 && strcmp(t->pt[i].key, key) == 0;
    return n;
}

static void test_load(void)
{
    report_trainlog t;
    mm_error err = {0};
    /* the lines mm-train --log writes, plus growth the parser must ignore */
    const char *p = tmp_file("log", "{\"epoch\":1,\"task\":\"classification\",\"train_loss\":1.5,"
                                    "\"val_loss\":1.6,\"val_acc\":0.4,\"val_bacc\":null,\"best\":true}\n"
                                    "\n"
                                    "{\"epoch\":2,\"task\":\"classification\",\"train_loss\":0.5,"
                                    "\"val_acc\":0.7,\"note\":\"x\",\"arr\":[1]}\n"
                                    "{\"train_loss\":2}\n");
    CHECK_EQ_INT(report_trainlog_load(&t, p, &err), 0);
    CHECK_EQ_INT(count_points(&t, "classification", "train_loss"), 2);
    CHECK_EQ_INT(count_points(&t, "classification", "val_acc"), 2);
    CHECK_EQ_INT(count_points(&t, "classification", "val_loss"), 1);
    CHECK_EQ_INT(count_points(&t, "classification", "val_bacc"), 0);
    CHECK_EQ_INT(count_points(&t, "classification", "best"), 0);
    CHECK_EQ_INT(count_points(&t, "train", "train_loss"), 1); /* no task: "train" */
    for (size_t i = 0; i < t.count; i++)
        if (strcmp(t.pt[i].task, "train") == 0) CHECK_NEAR(t.pt[i].x, 4, 0); /* x = line number */
    capture c;
    report_trainlog_write(capture_begin(&c), &t);
    char *s = capture_end(&c);
    CHECK(strstr(s, "classification: loss") != NULL);
    CHECK(strstr(s, "classification: validation") != NULL);
    CHECK(strstr(s, "train: loss") != NULL);
    free(s);
    report_trainlog_free(&t);
}

static void test_hostile_task_name(void)
{
    report_trainlog t;
    mm_error err = {0};
    const char *p = tmp_file("log", "{\"epoch\":1,\"task\":\"<script>x</script>\",\"train_loss\":1}\n");
    CHECK_EQ_INT(report_trainlog_load(&t, p, &err), 0);
    capture c;
    report_trainlog_write(capture_begin(&c), &t);
    char *s = capture_end(&c);
    CHECK(strstr(s, "<script>") == NULL);
    CHECK(strstr(s, "&lt;script&gt;") != NULL);
    free(s);
    report_trainlog_free(&t);
}

static void check_error(const char *text, const char *want)
{
    report_trainlog t;
    mm_error err = {0};
    CHECK_EQ_INT(report_trainlog_load(&t, tmp_file("bad", text), &err), -1);
    CHECK_MSG(strstr(err.msg, want) != NULL, "message '%s' lacks '%s'", err.msg, want);
}

static void test_errors(void)
{
    check_error("{\"epoch\":1}\n[1,2]\n", "bad:2: expected a JSON object");
    check_error("{\"epoch\":1}\n\n{\"epoch\":\n", "bad:3:");
    check_error("not json\n", "bad:1:");
    report_trainlog t;
    mm_error err = {0};
    CHECK_EQ_INT(report_trainlog_load(&t, "/nonexistent/log", &err), -1);
    CHECK(strstr(err.msg, "/nonexistent/log") != NULL);
}

int main(void)
{
    RUN(test_load);
    RUN(test_hostile_task_name);
    RUN(test_errors);
    tmp_cleanup();
    return test_summary();
}
