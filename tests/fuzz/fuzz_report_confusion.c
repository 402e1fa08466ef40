/* fuzz_report_confusion.c — libFuzzer harness for mm-report's --confusion
 * parser (mm-eval --confusion TSV), per-class recall (in [0, 1] or NaN)
 * and the heat map + recall bars. Every call must return cleanly.
 *
 *   make build-fuzz/fuzz_report_confusion
 *   build-fuzz/fuzz_report_confusion -max_total_time=300 tests/fuzz/corpus/report_confusion
 */
#include <math.h>

#include "report/classify.h"
#include "report_memfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = memfile(data, size, path, sizeof path);
    report_classes c;
    mm_error err;
    if (report_classes_load(&c, path, &err) == 0) {
        for (size_t i = 0; i < c.n; i++) {
            double r = report_class_recall(&c, i);
            if (!isnan(r) && (r < 0 || r > 1)) abort();
        }
        report_classes_write(null_out(), &c);
        report_classes_free(&c);
    }
    close(fd);
    return 0;
}
