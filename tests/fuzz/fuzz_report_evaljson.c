/* fuzz_report_evaljson.c — libFuzzer harness for mm-report's --eval-json
 * reader (mm-eval --format json, one run or --compare) and its table.
 * Every call must return cleanly (0 or an error), never crash.
 *
 *   make build-fuzz/fuzz_report_evaljson
 *   build-fuzz/fuzz_report_evaljson -max_total_time=300 tests/fuzz/corpus/report_evaljson
 */
#include "report/evaljson.h"
#include "report_memfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    report_evaljson e;
    mm_error err;
    if (report_evaljson_load_mem(&e, (const char *)data, size, "fuzz.json", &err) == 0) {
        report_evaljson_write(null_out(), &e, 1);
        report_evaljson_free(&e);
    }
    return 0;
}
