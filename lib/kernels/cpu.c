/* cpu.c — see cpu.h.
 *
 * Detection uses the compiler's CPU model (__builtin_cpu_supports), which
 * also checks that the OS saves the wider registers (XCR0), so a feature it
 * reports can be used. Tables are built once, under pthread_once, and only
 * for the levels the CPU runs: an ISA folder's code (its fill function
 * included) may use its instructions anywhere.
 */
#include "kernels/cpu.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#define CPU_X86 1
#endif

static _Atomic(const kernel_table *) active;

static kernel_table tables[CPU_ISA_COUNT];
static int supported[CPU_ISA_COUNT];
static char features[256];
static char model[64];
static pthread_once_t detect_once = PTHREAD_ONCE_INIT;

static const char *const names[CPU_ISA_COUNT] = {"generic", "avx2", "avx512", "openblas"};

const char *cpu_isa_name(cpu_isa isa) { return isa >= 0 && isa < CPU_ISA_COUNT ? names[isa] : "?"; }

#ifdef CPU_X86
/* What each level needs, in the order cpu_feature_list prints. The macro
 * keeps each name next to its __builtin_cpu_supports argument, which must
 * be a string literal. */
#define LEVEL_AVX2 (1u << CPU_ISA_AVX2)
#define LEVEL_AVX512 (1u << CPU_ISA_AVX512)
/* clang before 15 has no "f16c" in __builtin_cpu_supports (make fuzz builds
 * with clang): read CPUID.1:ECX bit 29; the OS-saves-YMM check is "avx"'s. */
static int has_f16c(void)
{
#if defined(__clang__) && __clang_major__ < 15
    unsigned a, b, c, d;
    return __builtin_cpu_supports("avx") && __get_cpuid(1, &a, &b, &c, &d) && (c >> 29 & 1);
#else
    return __builtin_cpu_supports("f16c");
#endif
}

static unsigned detect_features(void)
{
    unsigned missing = 0; /* levels some needed feature is missing for */
    size_t len = 0;
    __builtin_cpu_init();
#define FEATURE(name, levels) FEATURE_IF(name, __builtin_cpu_supports(name), levels)
#define FEATURE_IF(name, present, levels)                                       \
    do {                                                                        \
        if (present) {                                                          \
            size_t n_ = strlen(name);                                           \
            if (len + n_ + 2 < sizeof features) {                               \
                if (len) features[len++] = ' ';                                 \
                memcpy(features + len, name, n_ + 1);                           \
                len += n_;                                                      \
            }                                                                   \
        } else {                                                                \
            missing |= (levels);                                                \
        }                                                                       \
    } while (0)
    FEATURE("sse4.2", LEVEL_AVX2 | LEVEL_AVX512);
    FEATURE("popcnt", 0);
    FEATURE("avx", LEVEL_AVX2 | LEVEL_AVX512);
    FEATURE("avx2", LEVEL_AVX2 | LEVEL_AVX512);
    FEATURE("fma", LEVEL_AVX2 | LEVEL_AVX512);
    FEATURE_IF("f16c", has_f16c(), LEVEL_AVX2 | LEVEL_AVX512);
    FEATURE("bmi2", 0);
    FEATURE("avx512f", LEVEL_AVX512);
    FEATURE("avx512dq", 0);
    FEATURE("avx512bw", LEVEL_AVX512);
    FEATURE("avx512vl", LEVEL_AVX512);
    FEATURE("avx512vnni", LEVEL_AVX512);
    FEATURE("avx512bf16", 0);
#undef FEATURE
#undef FEATURE_IF
    return missing;
}

static void detect_model(void)
{
    unsigned r[12];
    if ((unsigned)__get_cpuid_max(0x80000000u, NULL) < 0x80000004u) return; /* int in clang */
    for (unsigned i = 0; i < 3; i++) __get_cpuid(0x80000002u + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
    char s[49];
    memcpy(s, r, 48);
    s[48] = 0;
    char *p = s, *e;
    while (*p == ' ') p++;
    for (e = p + strlen(p); e > p && e[-1] == ' '; e--) *(e - 1) = 0; /* vendors pad with spaces */
    snprintf(model, sizeof model, "%s", p);
}
#endif

static void detect(void)
{
    supported[CPU_ISA_GENERIC] = 1;
    kernels_fill_generic(&tables[CPU_ISA_GENERIC]);
    tables[CPU_ISA_GENERIC].isa = CPU_ISA_GENERIC;
#ifdef CPU_X86
    unsigned missing = detect_features();
    detect_model();
    supported[CPU_ISA_AVX2] = !(missing & LEVEL_AVX2);
    supported[CPU_ISA_AVX512] = !(missing & LEVEL_AVX512);
    if (supported[CPU_ISA_AVX2]) {
        tables[CPU_ISA_AVX2] = tables[CPU_ISA_GENERIC];
        kernels_fill_avx2(&tables[CPU_ISA_AVX2]);
        tables[CPU_ISA_AVX2].isa = CPU_ISA_AVX2;
    }
    if (supported[CPU_ISA_AVX512]) {
        /* the GEMM and float32 scans at 512 bits; scan8's VNNI kernel
         * selects itself (scan8_available); the rest is avx2's */
        tables[CPU_ISA_AVX512] = tables[CPU_ISA_AVX2];
        kernels_fill_avx512(&tables[CPU_ISA_AVX512]);
        tables[CPU_ISA_AVX512].isa = CPU_ISA_AVX512;
    }
#endif
#ifdef MM_OPENBLAS
    /* generic's table with OpenBLAS's products (kernels_openblas.c) */
    supported[CPU_ISA_OPENBLAS] = 1;
    tables[CPU_ISA_OPENBLAS] = tables[CPU_ISA_GENERIC];
    kernels_fill_openblas(&tables[CPU_ISA_OPENBLAS]);
    tables[CPU_ISA_OPENBLAS].isa = CPU_ISA_OPENBLAS;
#endif
}

int cpu_isa_supported(cpu_isa isa)
{
    pthread_once(&detect_once, detect);
    return isa >= 0 && isa < CPU_ISA_COUNT && supported[isa];
}

cpu_isa cpu_isa_best(void)
{
    int best = CPU_ISA_GENERIC;
    for (int i = 0; i < CPU_ISA_COUNT; i++)
        if (cpu_isa_supported((cpu_isa)i)) best = i;
    return (cpu_isa)best;
}

const char *cpu_feature_list(void)
{
    pthread_once(&detect_once, detect);
    return features;
}

const char *cpu_model_name(void)
{
    pthread_once(&detect_once, detect);
    return model;
}

/* MM_ISA as a level: 0 (and *isa) if usable, else -1 with the reason. */
static int env_isa(cpu_isa *isa, mm_error *err)
{
    const char *s = getenv("MM_ISA");
    *isa = cpu_isa_best();
    if (!s || !*s) return 0;
    for (int i = 0; i < CPU_ISA_COUNT; i++)
        if (strcmp(s, names[i]) == 0) {
            if (cpu_isa_supported((cpu_isa)i)) {
                *isa = (cpu_isa)i;
                return 0;
            }
            char runs[64] = "";
            for (int j = 0; j < CPU_ISA_COUNT; j++)
                if (cpu_isa_supported((cpu_isa)j)) {
                    if (*runs) strcat(runs, ", ");
                    strcat(runs, names[j]);
                }
            if (i == CPU_ISA_OPENBLAS)
                return mm_fail(err, MM_ERR_UNSUPPORTED,
                               "MM_ISA=%s: this build has no OpenBLAS level (only builds for targets other than "
                               "x86-64 with OpenBLAS have it; this one runs %s)", s, runs);
            return mm_fail(err, MM_ERR_UNSUPPORTED,
                           "MM_ISA=%s: this CPU cannot run it (it runs %s; its features: %s)", s, runs,
                           *features ? features : "none of interest");
        }
    return mm_fail(err, MM_ERR_MALFORMED,
                   "MM_ISA=%s: unknown instruction set (generic, avx2, avx512 or openblas)", s);
}

int cpu_check_env(mm_error *err)
{
    cpu_isa isa;
    return env_isa(&isa, err);
}

const kernel_table *cpu_kernels(void)
{
    const kernel_table *t = atomic_load_explicit(&active, memory_order_acquire);
    if (t) return t;
    cpu_isa isa;
    mm_error ignored;
    env_isa(&isa, &ignored); /* unusable: the widest level (cpu.h) */
    const kernel_table *expected = NULL;
    /* Racing first calls pick the same table; the first store stands. */
    atomic_compare_exchange_strong_explicit(&active, &expected, &tables[isa], memory_order_acq_rel,
                                            memory_order_acquire);
    return atomic_load_explicit(&active, memory_order_acquire);
}

cpu_isa cpu_isa_active(void) { return cpu_kernels()->isa; }

int cpu_use(cpu_isa isa)
{
    if (!cpu_isa_supported(isa)) return -1;
    atomic_store_explicit(&active, &tables[isa], memory_order_release);
    return 0;
}
