/* fuzz_report_texts.c — libFuzzer harness for mm-report's --texts parser
 * (id<TAB>text lines): load, look every id up again, write each text
 * through the HTML escaper. Every call must return cleanly.
 *
 *   make build-fuzz/fuzz_report_texts
 *   build-fuzz/fuzz_report_texts -max_total_time=300 tests/fuzz/corpus/report_texts
 */
#include <string.h>

#include "report/html.h"
#include "report/texts.h"
#include "report_memfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = memfile(data, size, path, sizeof path);
    report_texts t;
    mm_error err;
    if (report_texts_load(&t, path, &err) == 0) {
        /* every stored id finds a text, escaped without crashing */
        for (const uint8_t *p = data, *end = data + size; p < end;) {
            const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
            const uint8_t *stop = nl ? nl : end;
            const uint8_t *tab = memchr(p, '\t', (size_t)(stop - p));
            if (tab && tab > p && (size_t)(tab - p) < 256) {
                char id[256];
                memcpy(id, p, (size_t)(tab - p));
                id[tab - p] = '\0';
                /* the BOM on the first line is not part of the id */
                const char *key = (p == data && tab - p >= 3 && memcmp(id, "\xEF\xBB\xBF", 3) == 0) ? id + 3 : id;
                if (key[0] && !report_texts_find(&t, key)) abort();
                const char *text = report_texts_find(&t, key);
                if (text) html_text_max(null_out(), text, 300);
            }
            p = stop + 1;
        }
        report_texts_free(&t);
    }
    close(fd);
    return 0;
}
