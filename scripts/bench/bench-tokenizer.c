/* bench-tokenizer.c — clip_tokenize throughput on clean captions.
 *
 *   scripts/bench/bench-tokenizer [TREE...]   (builds this file against
 *   each TREE/lib/libmm.a, default the current tree, and runs them)
 *   bench-tokenizer-bin SHARED [SCALE [SET]]   (SCALE: fraction of the
 *   repetitions, e.g. 0.01 under callgrind, where SCALE < 1 also means one
 *   timed run instead of 5; SET: cases, clean or both, the default)
 *
 * Two sets of clean text, each tokenized REPS times round-robin after one
 * warm-up pass (so the BPE cache is warm, as in a long mm-embed-text run):
 *   cases: the ftfy-insensitive texts of ../shared/ref/clip/tokenizer_cases.jsonl
 *          (mostly ASCII captions; ASCII skips fix_text's repair),
 *   clean: the "clean" texts of ../shared/ref/clip/ftfy_cases.jsonl (repaired
 *          captions, most of them non-ASCII: the badness test runs on each).
 * Prints captions/s of CPU time (this process only: steadier than wall time
 * on a shared machine), the best of 5 runs of each set. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text/tokenizer.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static size_t load(const char *path, const char *field, int skip_sensitive, char ***out)
{
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); exit(2); }
    char *line = NULL;
    size_t cap = 0, n = 0, room = 0;
    char **v = NULL;
    while (getline(&line, &cap, f) > 0) {
        json_t *c = json_loads(line, 0, NULL);
        if (!c) continue;
        if (!(skip_sensitive && json_is_true(json_object_get(c, "ftfy_sensitive")))) {
            if (n == room) v = realloc(v, (room = room ? 2 * room : 256) * sizeof *v);
            v[n++] = strdup(json_string_value(json_object_get(c, field)));
        }
        json_decref(c);
    }
    free(line);
    fclose(f);
    *out = v;
    return n;
}

static double run(clip_tokenizer *tok, char **texts, size_t n, int reps, int runs)
{
    int32_t ids[77];
    int k;
    mm_error err = {0};
    for (size_t i = 0; i < n; i++) clip_tokenize(tok, texts[i], strlen(texts[i]), ids, 77, &k, &err);
    double best = 0;
    for (int r = 0; r < runs; r++) {
        double t0 = now();
        for (int q = 0; q < reps; q++)
            for (size_t i = 0; i < n; i++) clip_tokenize(tok, texts[i], strlen(texts[i]), ids, 77, &k, &err);
        double rate = (double)reps * (double)n / (now() - t0);
        if (rate > best) best = rate;
    }
    return best;
}

int main(int argc, char **argv)
{
    const char *shared = argc > 1 ? argv[1] : "../shared";
    double scale = argc > 2 ? atof(argv[2]) : 1.0;
    if (!(scale > 0)) { fprintf(stderr, "bad SCALE '%s'\n", argv[2]); return 2; }
    int runs = scale < 1 ? 1 : 5;
    int reps_a = (int)(300 * scale + 0.5), reps_b = (int)(25 * scale + 0.5);
    if (reps_a < 1) reps_a = 1;
    if (reps_b < 1) reps_b = 1;
    char path[4096];
    mm_error err = {0};
    snprintf(path, sizeof path, "%s/ref/clip/tokenizer", shared);
    clip_tokenizer *tok = clip_tokenizer_load(path, &err);
    if (!tok) { fprintf(stderr, "%s\n", err.msg); return 2; }
    char **a, **b;
    snprintf(path, sizeof path, "%s/ref/clip/tokenizer_cases.jsonl", shared);
    size_t na = load(path, "text", 1, &a);
    snprintf(path, sizeof path, "%s/ref/clip/ftfy_cases.jsonl", shared);
    size_t nb = load(path, "clean", 0, &b);
    const char *set = argc > 3 ? argv[3] : "both";
    int do_a = !strcmp(set, "both") || !strcmp(set, "cases"), do_b = !strcmp(set, "both") || !strcmp(set, "clean");
    if (!do_a && !do_b) { fprintf(stderr, "bad SET '%s' (cases, clean or both)\n", set); return 2; }
    /* the line a script parses: set, texts, calls of clip_tokenize, rate */
    if (do_a)
        printf("cases: %zu texts, %.0f captions/s (%zu calls)\n", na, run(tok, a, na, reps_a, runs),
               na * (size_t)(1 + runs * reps_a));
    if (do_b)
        printf("clean: %zu texts, %.0f captions/s (%zu calls)\n", nb, run(tok, b, nb, reps_b, runs),
               nb * (size_t)(1 + runs * reps_b));
    clip_tokenizer_free(tok);
    return 0;
}
