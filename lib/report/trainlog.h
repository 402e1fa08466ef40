/* trainlog.h — the training section of a report.
 *
 * Owns: reading `mm-train --log` files (JSON lines: one object per line
 * with "epoch" (number), "task" (string; absent = "train"), "train_loss"
 * and a validation measure (any other numeric field); unknown fields and
 * non-numeric values are ignored, so that the log can grow; a line that is
 * not a JSON object is an error "file:line: problem"), and its page section:
 * per task, a loss chart and a chart of the other measures against epoch.
 */
#ifndef MM_REPORT_TRAINLOG_H
#define MM_REPORT_TRAINLOG_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"

typedef struct report_train_point {
    char *task, *key;
    double x, y;
} report_train_point;

typedef struct report_trainlog {
    char *path;
    report_train_point *pt;
    size_t count, cap;
} report_trainlog;

int report_trainlog_load(report_trainlog *t, const char *path, mm_error *err);
void report_trainlog_write(FILE *fp, const report_trainlog *t);
void report_trainlog_free(report_trainlog *t);

#endif
