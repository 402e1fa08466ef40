/* texts.h — the captions and texts a report shows for its items.
 *
 * Owns: the `id<TAB>text` file syntax (one item per line, the text is the
 * rest of the line after the first TAB; a trailing CR is dropped; empty lines
 * and lines without a TAB are errors "file:line: problem"; a repeated id
 * keeps its first text) and the lookup by id (sorted array, binary search).
 */
#ifndef MM_REPORT_TEXTS_H
#define MM_REPORT_TEXTS_H

#include <stddef.h>

#include "core/error.h"

typedef struct report_texts {
    struct report_text_entry *e;
    size_t count;
    char *data; /* the file, ids and texts point into it */
} report_texts;

int report_texts_load(report_texts *t, const char *path, mm_error *err);
/* The text of id, or NULL. */
const char *report_texts_find(const report_texts *t, const char *id);
void report_texts_free(report_texts *t);

#endif
