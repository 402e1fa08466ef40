/* bench-gemm.c — lib/kernels/gemm on one thread, each kernel level in turn
 * (scripts/bench/bench-gemm builds and runs it). Rows alternate between the
 * levels, repeat after repeat, and the best of each is kept, so that a
 * shared machine's noise falls on every level alike. The figure divides by
 * the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), not wall time: on a
 * loaded machine time spent descheduled is not counted (caches shared with
 * other processes still are). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/cpu.h"
#include "kernels/gemm.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 0.5;
    int reps = argc > 2 ? atoi(argv[2]) : 3;
    static const int shapes[][3] = {{1, 3072, 768}, {50, 3072, 768}, {50, 768, 3072}, {400, 3072, 768}, {1600, 3072, 768}};
    printf("# CPU: %s; levels run: ", cpu_model_name());
    for (int i = 0; i < CPU_ISA_COUNT; i++)
        if (cpu_isa_supported((cpu_isa)i)) printf("%s ", cpu_isa_name((cpu_isa)i));
    printf("\n# GFLOP/s, 1 thread, per CPU-s, best of %d x %.1f s of CPU; M x N x K\n%-16s", reps, secs, "shape");
    for (int i = 0; i < CPU_ISA_COUNT; i++)
        if (cpu_isa_supported((cpu_isa)i)) printf(" %8s", cpu_isa_name((cpu_isa)i));
    printf("\n");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *x = aligned_alloc(64, (size_t)M * K * 4), *y = aligned_alloc(64, (size_t)M * N * 4);
        float *w = aligned_alloc(64, (size_t)K * N * 4), *p = aligned_alloc(64, gemm_packed_count(K, N) * 4);
        float *work = aligned_alloc(64, GEMM_WORK_FLOATS * 4);
        for (size_t i = 0; i < (size_t)M * K; i++) x[i] = (float)(i % 97) * 0.01f - 0.5f;
        for (size_t i = 0; i < (size_t)K * N; i++) w[i] = (float)(i % 89) * 0.01f - 0.4f;
        gemm_pack(p, w, K, N, (size_t)N, 0);
        gemm_weight W = {p, K, N, 0};
        double best[CPU_ISA_COUNT] = {0};
        for (int r = 0; r < reps; r++)
            for (int i = 0; i < CPU_ISA_COUNT; i++) {
                if (cpu_use((cpu_isa)i) != 0) continue;
                gemm_run(y, (size_t)N, x, (size_t)K, &W, NULL, M, 0, 0, gemm_panels(N), work);
                long it = 0;
                double t0 = now(), t;
                while ((t = now() - t0) < secs || it < 2) {
                    gemm_run(y, (size_t)N, x, (size_t)K, &W, NULL, M, 0, 0, gemm_panels(N), work);
                    it++;
                }
                double g = 2.0 * M * N * K * it / t / 1e9;
                if (g > best[i]) best[i] = g;
            }
        char name[32];
        snprintf(name, sizeof name, "%dx%dx%d", M, N, K);
        printf("%-16s", name);
        for (int i = 0; i < CPU_ISA_COUNT; i++)
            if (cpu_isa_supported((cpu_isa)i)) printf(" %8.1f", best[i]);
        printf("\n");
        free(x), free(y), free(w), free(p), free(work);
    }
    return 0;
}
