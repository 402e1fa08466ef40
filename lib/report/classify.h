/* classify.h — the classification section of a report.
 *
 * Owns: reading the confusion matrix mm-eval --confusion writes (TSV: a
 * header "true\predicted<TAB>class...", then one row per class in the same
 * order, "class<TAB>count..."; errors "file:line: problem"), per-class
 * recall (diagonal / row sum), and its page section: a heat map (cells
 * shaded by the row-normalised count; up to REPORT_HEATMAP_MAX classes) and
 * recall bars.
 */
#ifndef MM_REPORT_CLASSIFY_H
#define MM_REPORT_CLASSIFY_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"

#define REPORT_HEATMAP_MAX 60

typedef struct report_classes {
    char *path;
    size_t n;
    char **name;
    long *count; /* n x n, [true * n + predicted] */
} report_classes;

int report_classes_load(report_classes *c, const char *path, mm_error *err);
/* recall of class i: count[i][i] / row sum (NaN for an empty row). */
double report_class_recall(const report_classes *c, size_t i);
void report_classes_write(FILE *fp, const report_classes *c);
void report_classes_free(report_classes *c);

#endif
