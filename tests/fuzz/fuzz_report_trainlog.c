/* fuzz_report_trainlog.c — libFuzzer harness for mm-report's --train-log
 * parser (mm-train --log JSON lines) and the training section it draws.
 * Every call must return cleanly (0 or an error), never crash.
 *
 *   make build-fuzz/fuzz_report_trainlog
 *   build-fuzz/fuzz_report_trainlog -max_total_time=300 tests/fuzz/corpus/report_trainlog
 */
#include "report/trainlog.h"
#include "report_memfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = memfile(data, size, path, sizeof path);
    report_trainlog t;
    mm_error err;
    if (report_trainlog_load(&t, path, &err) == 0) {
        report_trainlog_write(null_out(), &t);
        report_trainlog_free(&t);
    }
    close(fd);
    return 0;
}
