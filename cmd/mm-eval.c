/* mm-eval — trec_eval-compatible evaluation of TREC runs, multimodal measures,
 * bootstrap confidence intervals and paired significance tests.
 * The logic lives in lib/io/trec.c, lib/eval/measures/ and lib/eval/evalstats.c. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/xalloc.h"
#include "eval/bootstrap.h"
#include "eval/evalstats.h"
#include "eval/measures.h"
#include "eval/prefs.h"
#include "eval/zscore.h"
#include "io/trec.h"

static const char USAGE[] =
    "Usage: mm-eval [OPTION]... QRELS RUN\n"
    "       mm-eval --compare [OPTION]... QRELS RUN_A RUN_B\n"
    "Evaluate a TREC run against qrels with trec_eval 10.0's measures, numbers,\n"
    "output format and exit statuses, plus CLIP-style retrieval and zero-shot\n"
    "measures, bootstrap confidence intervals and paired significance tests.\n"
    "A path of - reads standard input (at most one of them).\n"
    "\n"
    "trec_eval options:\n"
    "  -q, --query_eval_wanted        per-query rows too (queries in qid order)\n"
    "  -m, --measure=NAME[.PARAMS]    add a measure or nickname (repeatable): map,\n"
    "                                 P.5,10, ndcg.1=3,2=9, ndcg_cut.10, R@5, acc@1,\n"
    "                                 official (default), all_trec, set, clip, zeroshot\n"
    "  -c, --complete_rel_info_wanted score qrels queries missing from the run as\n"
    "                                 empty rankings (else such a query is an error)\n"
    "  -l, --level_for_rel=N          relevant iff rel >= N (default 1)\n"
    "  -M, --Max_retrieved_per_topic=N  keep the top N per query (default: all)\n"
    "  -J, --Judged_docs_only         drop retrieved docs not judged in the qrels\n"
    "  -N, --Number_docs_in_coll=N    collection size, for utility (default 0)\n"
    "  -n, --nosummary                no summary ('all') rows\n"
"  -R, --Rel_info_format=FMT      qrels (default); qrels_jg (column 2 names a\n"
    "                                 judgment group; -m qrels_jg); prefs (lines:\n"
    "                                 qid jg jsg docno rel_level) or qrels_prefs\n"
    "                                 (qrels read as preferences; -m all_prefs)\n"
    "  -Z, --Zscore=FILE              per-query values as z-scores against FILE\n"
    "                                 (lines: qid measure mean stddev); rows 'Z...'\n"
    "      --trec                     accepted and ignored (trec_eval-style marker)\n"
    "\n"
    "mmkit options:\n"
    "  -f, --format=FMT               text (trec_eval layout, default), json, tsv\n"
    "      --ci=LEVEL                 percentile bootstrap interval for every summary\n"
    "                                 value at confidence LEVEL (e.g. 0.95)\n"
    "      --bootstrap=B              bootstrap resamples of the queries (default 1000)\n"
    "      --seed=S                   random seed for --bootstrap/--permutations (default 1)\n"
    "      --compare                  paired comparison of RUN_A and RUN_B\n"
    "      --permutations=P           randomisation test permutations (default 10000;\n"
    "                                 exact enumeration when 2^queries <= P)\n"
    "      --confusion=FILE           write the zero-shot confusion matrix (TSV)\n"
    "  -o, --output=FILE              write to FILE atomically instead of stdout\n"
    "      --empty-is-zero            with -J, a query left with no documents scores 0\n"
    "                                 in iprec_at_recall and 11pt_avg (trec_eval: -nan)\n"
    "      --quiet                    no warnings (CRLF, byte-order mark; -q is per-query here)\n"
    "  -h, --help                     show this help and exit (with -m NAME: that measure)\n"
    "  -v, -V, --version              show the version and exit\n"
    "\n"
    "Exit status: 0 ok, 1 write error, 2 usage error or malformed/unreadable input,\n"
    "4 duplicate docs or a qrels query missing from the run (without -c),\n"
    "7 no query with both results and judgments.\n"
    "See mm-eval(1) for every measure and its definition.\n";

typedef enum { FMT_TEXT, FMT_JSON, FMT_TSV } out_format;
enum { REL_QRELS, REL_QRELS_JG, REL_PREFS, REL_QRELS_PREFS };

typedef struct params {
    mm_eval_opts eval;                  /* -c -l -M -J -N */
    bool per_query;                     /* -q */
    bool summary;                       /* !-n */
    out_format format;                  /* --format text */
    double ci;                          /* --ci: 0 = none */
    unsigned long bootstrap;            /* --bootstrap 1000 */
    unsigned long long seed;            /* --seed 1 */
    bool compare;                       /* --compare */
    unsigned long long permutations;    /* --permutations 10000 */
    const char *confusion;              /* --confusion FILE */
    const char *output;                 /* -o FILE */
    const char *zscores;                /* -Z FILE */
    int rel_format;                     /* -R qrels (default), qrels_jg, prefs, qrels_prefs */
    const mm_prefs *prefs;              /* -R prefs / qrels_prefs: the loaded preferences */
    mm_zscores z;
} params;

enum {
    OPT_TREC = 256,
    OPT_CI,
    OPT_BOOTSTRAP,
    OPT_SEED,
    OPT_COMPARE,
    OPT_PERMUTATIONS,
    OPT_CONFUSION,
    OPT_QUIET,
    OPT_EMPTY_IS_ZERO,
};

static const struct option long_options[] = {
    {"query_eval_wanted", no_argument, NULL, 'q'},
    {"measure", required_argument, NULL, 'm'},
    {"complete_rel_info_wanted", no_argument, NULL, 'c'},
    {"level_for_rel", required_argument, NULL, 'l'},
    {"Max_retrieved_per_topic", required_argument, NULL, 'M'},
    {"Judged_docs_only", no_argument, NULL, 'J'},
    {"Number_docs_in_coll", required_argument, NULL, 'N'},
    {"nosummary", no_argument, NULL, 'n'},
    {"Zscore", required_argument, NULL, 'Z'},
    {"Rel_info_format", required_argument, NULL, 'R'},
    {"trec", no_argument, NULL, OPT_TREC},
    {"format", required_argument, NULL, 'f'},
    {"ci", required_argument, NULL, OPT_CI},
    {"bootstrap", required_argument, NULL, OPT_BOOTSTRAP},
    {"seed", required_argument, NULL, OPT_SEED},
    {"compare", no_argument, NULL, OPT_COMPARE},
    {"permutations", required_argument, NULL, OPT_PERMUTATIONS},
    {"confusion", required_argument, NULL, OPT_CONFUSION},
    {"output", required_argument, NULL, 'o'},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"empty-is-zero", no_argument, NULL, OPT_EMPTY_IS_ZERO},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* ---- helpers ------------------------------------------------------------------ */

static bool is_string_row(const mm_measure *m) { return m->def->kind == MM_VALUE_STRING; }

static void warn_input(const char *name, bool bom, long crlf_line)
{
    if (cli_quiet) return;
    if (bom) cli_warn("%s:1: UTF-8 byte-order mark ignored", name);
    if (crlf_line) cli_warn("%s:%ld: CRLF line endings (the CR is ignored)", name, crlf_line);
}

static void load_qrels(trec_qrels *qrels, const char *path, int rel_format)
{
    mm_error err = {0};
    if ((rel_format == REL_QRELS_JG ? trec_qrels_load_jg(qrels, path, &err)
                                    : trec_qrels_load(qrels, path, &err)) < 0)
        /* trec_eval finds duplicates in qrels when scoring (status 4), in
         * qrels_jg when reading them (status 2) */
        cli_fatal_status(err.kind == MM_ERR_MISMATCH && rel_format == REL_QRELS
                             ? MM_EVAL_EXIT_MEASURE : MM_EVAL_EXIT_INPUT,
                         "%s", err.msg);
    warn_input(qrels->name, qrels->saw_bom, qrels->crlf_line);
}

static void write_per_query(FILE *fp, const mm_measure_set *set, const mm_eval_result *res,
                            const params *p, size_t nq);

static void evaluate(const trec_qrels *qrels, const char *run, const params *p,
                     const mm_measure_set *set, mm_eval_result *res)
{
    mm_error err = {0};
    int status = 0;
    if ((p->prefs ? mm_prefs_evaluate(p->prefs, run, &p->eval, set, res, &err, &status)
                  : mm_evaluate_run(qrels, run, &p->eval, set, res, &err, &status)) < 0) {
        /* trec_eval prints the -q rows of the queries before the one missing
         * from the run, then stops (text to standard output only: -o stays
         * all or nothing) */
        if (res->partial && p->per_query && !p->output && !p->compare && p->format == FMT_TEXT) {
            if (p->zscores) mm_zscores_apply(&p->z, set, res);
            write_per_query(stdout, set, res, p, res->partial_count);
            fflush(stdout);
        }
        if (res->partial) mm_eval_result_free(res, set);
        cli_fatal_status(status ? status : MM_EVAL_EXIT_INPUT, "%s", err.msg);
    }
    if (p->zscores) mm_zscores_apply(&p->z, set, res);
    warn_input(cli_input_name(run), res->saw_bom, res->crlf_line);
}

/* Bootstrap intervals of every summary row: lo[row], hi[row] (NaN if none). */
static void bootstrap(const mm_measure_set *set, const mm_eval_result *res, const params *p,
                      double *lo, double *hi)
{
    mm_bootstrap_summary(set, res, &p->eval, p->bootstrap, p->seed, p->ci, lo, hi);
}

/* Under -Z every value is a z-score: counts print as floats too. */
static bool zscore_mode;

static void print_value(FILE *fp, const mm_measure *m, double v, out_format fmt)
{
    if (m->def->kind == MM_VALUE_COUNT && !zscore_mode)
        fprintf(fp, "%ld", (long)v);
    else if (fmt == FMT_TEXT)
        fprintf(fp, "%6.4f", v);
    else
        fprintf(fp, "%.6f", v);
}

static json_t *json_value(const mm_measure *m, double v)
{
    if (m->def->kind == MM_VALUE_COUNT && !zscore_mode) return json_integer((json_int_t)v);
    if (!isfinite(v)) return json_null();
    return json_real(v);
}

/* ---- evaluation output -------------------------------------------------------------- */

static void write_per_query(FILE *fp, const mm_measure_set *set, const mm_eval_result *res,
                            const params *p, size_t nq)
{
        for (size_t q = 0; q < nq; q++)
            for (size_t k = 0; k < set->count; k++) {
                const mm_measure *m = &set->m[k];
                if (!m->def->per_query) continue;
                /* trec_eval -Z: "Z" before the name, except relstring's rows */
                const char *z = zscore_mode && !is_string_row(m) ? "Z" : "";
                for (size_t r = 0; r < m->nvalues; r++) {
                    if (p->format == FMT_TSV)
                        fprintf(fp, "%s%s\t%s\t", z, m->names[r], res->qid[q]);
                    else
                        fprintf(fp, "%s%-22s\t%s\t", z, m->names[r], res->qid[q]);
                    if (is_string_row(m)) {
                        const char *s = res->strings ? res->strings[q * set->count + k] : NULL;
                        fprintf(fp, "'%s'", s ? s : "");
                    } else {
                        print_value(fp, m, res->values[q * set->nvalues + m->offset + r], p->format);
                    }
                    if (p->format == FMT_TSV && p->ci > 0) fprintf(fp, "\t\t");
                    fputc('\n', fp);
                }
            }
}

static void write_eval_text(FILE *fp, const mm_measure_set *set, const mm_eval_result *res,
                            const params *p, const double *lo, const double *hi)
{
    if (p->format == FMT_TSV)
        fprintf(fp, p->ci > 0 ? "measure\tqid\tvalue\tci_low\tci_high\n" : "measure\tqid\tvalue\n");
    if (p->per_query) write_per_query(fp, set, res, p, res->query_count);
    if (!p->summary) return;
    for (size_t k = 0; k < set->count; k++) {
        const mm_measure *m = &set->m[k];
        if (m->def->aggregate == MM_AGG_NONE) continue;
        const char *z = zscore_mode && m->def->aggregate != MM_AGG_RUNID ? "Z" : "";
        for (size_t r = 0; r < m->nvalues; r++) {
            size_t row = m->offset + r;
            if (p->format == FMT_TSV)
                fprintf(fp, "%s%s\tall\t", z, m->names[r]);
            else
                fprintf(fp, "%s%-22s\tall\t", z, m->names[r]);
            if (m->def->aggregate == MM_AGG_RUNID) {
                fputs(res->runid ? res->runid : "", fp);
            } else {
                double v = mm_summary_value(set, res, &p->eval, row, NULL, 0);
                if (m->def->aggregate == MM_AGG_NUM_Q && !zscore_mode)
                    fprintf(fp, "%ld", (long)v);
                else
                    print_value(fp, m, v, p->format);
            }
            if (p->ci > 0 && lo && !isnan(lo[row])) {
                if (p->format == FMT_TSV)
                    fprintf(fp, "\t%.6f\t%.6f", lo[row], hi[row]);
                else
                    fprintf(fp, "\t%6.4f\t%6.4f", lo[row], hi[row]);
            } else if (p->ci > 0 && p->format == FMT_TSV) {
                fputs("\t\t", fp);
            }
            fputc('\n', fp);
        }
    }
}

static void write_eval_json(FILE *fp, const mm_measure_set *set, const mm_eval_result *res,
                            const params *p, const char *qrels_path, const char *run_path,
                            const double *lo, const double *hi)
{
    json_t *root = json_object();
    json_object_set_new(root, "qrels", json_string(cli_input_name(qrels_path)));
    json_object_set_new(root, "run", json_string(cli_input_name(run_path)));
    json_t *summary = json_null();
    if (p->summary) {
        summary = json_object();
        for (size_t k = 0; k < set->count; k++) {
            const mm_measure *m = &set->m[k];
            if (m->def->aggregate == MM_AGG_NONE) continue;
            for (size_t r = 0; r < m->nvalues; r++) {
                if (m->def->aggregate == MM_AGG_RUNID) {
                    json_object_set_new(summary, m->names[r], json_string(res->runid ? res->runid : ""));
                    continue;
                }
                double v = mm_summary_value(set, res, &p->eval, m->offset + r, NULL, 0);
                json_object_set_new(summary, m->names[r],
                                    m->def->aggregate == MM_AGG_NUM_Q ? json_integer((json_int_t)v)
                                                                      : json_value(m, v));
            }
        }
    }
    json_object_set_new(root, "summary", summary);
    json_t *perq = json_null();
    if (p->per_query) {
        perq = json_object();
        for (size_t q = 0; q < res->query_count; q++) {
            json_t *o = json_object();
            for (size_t k = 0; k < set->count; k++) {
                const mm_measure *m = &set->m[k];
                if (!m->def->per_query) continue;
                for (size_t r = 0; r < m->nvalues; r++) {
                    if (is_string_row(m)) {
                        const char *s = res->strings ? res->strings[q * set->count + k] : NULL;
                        json_object_set_new(o, m->names[r], json_string(s ? s : ""));
                    } else {
                        json_object_set_new(
                            o, m->names[r],
                            json_value(m, res->values[q * set->nvalues + m->offset + r]));
                    }
                }
            }
            json_object_set_new(perq, res->qid[q], o);
        }
    }
    json_object_set_new(root, "per_query", perq);
    if (p->ci > 0 && lo) {
        json_t *ci = json_object();
        json_object_set_new(ci, "level", json_real(p->ci));
        json_object_set_new(ci, "bootstrap", json_integer((json_int_t)p->bootstrap));
        json_object_set_new(ci, "seed", json_integer((json_int_t)p->seed));
        json_t *iv = json_object();
        for (size_t row = 0; row < set->nvalues; row++) {
            if (isnan(lo[row])) continue;
            size_t r;
            const mm_measure *m = mm_measure_of_row(set, row, &r);
            json_t *pair = json_array();
            json_array_append_new(pair, json_real(lo[row]));
            json_array_append_new(pair, json_real(hi[row]));
            json_object_set_new(iv, m->names[r], pair);
        }
        json_object_set_new(ci, "intervals", iv);
        json_object_set_new(root, "ci", ci);
    }
    if (json_dumpf(root, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) < 0)
        cli_fatal("cannot write JSON output");
    fputc('\n', fp);
    json_decref(root);
}

/* ---- confusion matrix ------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static size_t find_class(const char **classes, size_t n, const char *c)
{
    const char **hit = bsearch(&c, classes, n, sizeof *classes, cmp_str);
    return hit ? (size_t)(hit - classes) : n;
}

static void write_confusion(const char *path, const mm_eval_result *res)
{
    static const char *none = "(none)";
    size_t nq = res->query_count, n = 0;
    const char **classes = xmalloc((2 * nq + 1) * sizeof *classes);
    for (size_t q = 0; q < nq; q++) {
        if (!res->label[q]) continue;
        classes[n++] = res->label[q];
        classes[n++] = res->top1[q] ? res->top1[q] : none;
    }
    qsort(classes, n, sizeof *classes, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || strcmp(classes[i], classes[u - 1]) != 0) classes[u++] = classes[i];
    long *counts = xcalloc(u * u + 1, sizeof *counts);
    for (size_t q = 0; q < nq; q++) {
        if (!res->label[q]) continue;
        size_t t = find_class(classes, u, res->label[q]);
        size_t pr = find_class(classes, u, res->top1[q] ? res->top1[q] : none);
        counts[t * u + pr]++;
    }
    cli_output *out = cli_output_open(path);
    FILE *fp = cli_output_fp(out);
    fputs("true\\predicted", fp);
    for (size_t j = 0; j < u; j++) fprintf(fp, "\t%s", classes[j]);
    fputc('\n', fp);
    for (size_t i = 0; i < u; i++) {
        fputs(classes[i], fp);
        for (size_t j = 0; j < u; j++) fprintf(fp, "\t%ld", counts[i * u + j]);
        fputc('\n', fp);
    }
    cli_output_commit(out);
    free(counts);
    free(classes);
}

/* ---- comparison -------------------------------------------------------------------- */

typedef struct cmp_row {
    size_t row;
    double mean_a, mean_b, diff, p_perm, t, p_t, lo, hi;
    bool exact;
    size_t wins, ties, losses;
} cmp_row;

static void compare_runs(FILE *fp, const mm_measure_set *set, const mm_eval_result *ra,
                         const mm_eval_result *rb, const params *p, const char *qrels_path,
                         const char *path_a, const char *path_b)
{
    size_t n = ra->query_count;
    double *a = xmalloc((n ? n : 1) * sizeof *a), *b = xmalloc((n ? n : 1) * sizeof *b);
    double *diffs = xmalloc((n ? n : 1) * sizeof *diffs);
    cmp_row *rows = xcalloc(set->nvalues, sizeof *rows);
    size_t *idx = xmalloc((n ? n : 1) * sizeof *idx);
    double *boot = p->ci > 0 ? xmalloc(p->bootstrap * sizeof *boot) : NULL;
    size_t nrows = 0;
    for (size_t k = 0; k < set->count; k++) {
        const mm_measure *m = &set->m[k];
        if (!m->def->per_query || is_string_row(m) || !m->def->calc) continue;
        for (size_t r = 0; r < m->nvalues; r++) {
            size_t row = m->offset + r;
            cmp_row *c = &rows[nrows++];
            c->row = row;
            for (size_t q = 0; q < n; q++) {
                a[q] = ra->values[q * set->nvalues + row];
                b[q] = rb->values[q * set->nvalues + row];
                diffs[q] = b[q] - a[q];
                c->wins += b[q] > a[q];
                c->losses += b[q] < a[q];
                c->ties += b[q] == a[q];
            }
            c->mean_a = mm_summary_value(set, ra, &p->eval, row, NULL, 0);
            c->mean_b = mm_summary_value(set, rb, &p->eval, row, NULL, 0);
            c->diff = c->mean_b - c->mean_a;
            c->p_perm = mm_paired_permutation_test(b, a, n, p->permutations, p->seed, &c->exact);
            c->p_t = mm_paired_t_test(b, a, n, &c->t, NULL);
            c->lo = c->hi = NAN;
            if (p->ci > 0 && n > 0) {
                /* bootstrap interval of the mean per-query difference */
                mm_rng rng;
                mm_rng_seed(&rng, p->seed);
                for (size_t i = 0; i < p->bootstrap; i++) {
                    mm_bootstrap_indices(&rng, n, idx);
                    double s = 0.0;
                    for (size_t q = 0; q < n; q++) s += diffs[idx[q]];
                    boot[i] = s / (double)n;
                }
                mm_percentile_interval(boot, p->bootstrap, p->ci, &c->lo, &c->hi);
            }
        }
    }
    if (p->format == FMT_JSON) {
        json_t *root = json_object();
        json_object_set_new(root, "qrels", json_string(cli_input_name(qrels_path)));
        json_object_set_new(root, "run_a", json_string(cli_input_name(path_a)));
        json_object_set_new(root, "run_b", json_string(cli_input_name(path_b)));
        json_object_set_new(root, "num_q", json_integer((json_int_t)n));
        json_object_set_new(root, "permutations", json_integer((json_int_t)p->permutations));
        json_object_set_new(root, "seed", json_integer((json_int_t)p->seed));
        json_t *summary = json_object();
        for (size_t i = 0; i < nrows; i++) {
            cmp_row *c = &rows[i];
            size_t r;
            const mm_measure *m = mm_measure_of_row(set, c->row, &r);
            json_t *o = json_object();
            json_object_set_new(o, "mean_a", json_real(c->mean_a));
            json_object_set_new(o, "mean_b", json_real(c->mean_b));
            json_object_set_new(o, "diff", json_real(c->diff));
            json_object_set_new(o, "p_permutation", isfinite(c->p_perm) ? json_real(c->p_perm) : json_null());
            json_object_set_new(o, "permutation_exact", json_boolean(c->exact));
            json_object_set_new(o, "t", isfinite(c->t) ? json_real(c->t) : json_null());
            json_object_set_new(o, "p_ttest", isfinite(c->p_t) ? json_real(c->p_t) : json_null());
            json_object_set_new(o, "wins", json_integer((json_int_t)c->wins));
            json_object_set_new(o, "ties", json_integer((json_int_t)c->ties));
            json_object_set_new(o, "losses", json_integer((json_int_t)c->losses));
            if (p->ci > 0) {
                json_t *pair = json_array();
                json_array_append_new(pair, json_real(c->lo));
                json_array_append_new(pair, json_real(c->hi));
                json_object_set_new(o, "diff_ci", pair);
            }
            json_object_set_new(summary, m->names[r], o);
        }
        json_object_set_new(root, "summary", summary);
        json_t *perq = json_null();
        if (p->per_query) {
            perq = json_object();
            for (size_t q = 0; q < n; q++) {
                json_t *o = json_object();
                for (size_t i = 0; i < nrows; i++) {
                    size_t r;
                    const mm_measure *m = mm_measure_of_row(set, rows[i].row, &r);
                    json_t *pair = json_array();
                    json_array_append_new(pair, json_value(m, ra->values[q * set->nvalues + rows[i].row]));
                    json_array_append_new(pair, json_value(m, rb->values[q * set->nvalues + rows[i].row]));
                    json_object_set_new(o, m->names[r], pair);
                }
                json_object_set_new(perq, ra->qid[q], o);
            }
        }
        json_object_set_new(root, "per_query", perq);
        if (json_dumpf(root, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) < 0)
            cli_fatal("cannot write JSON output");
        fputc('\n', fp);
        json_decref(root);
    } else {
        bool tsv = p->format == FMT_TSV;
        if (p->per_query)
            for (size_t q = 0; q < n; q++)
                for (size_t i = 0; i < nrows; i++) {
                    size_t r;
                    const mm_measure *m = mm_measure_of_row(set, rows[i].row, &r);
                    double va = ra->values[q * set->nvalues + rows[i].row];
                    double vb = rb->values[q * set->nvalues + rows[i].row];
                    fprintf(fp, tsv ? "%s\t%s\t%.6f\t%.6f\t%.6f\n" : "%-22s\t%s\t%6.4f\t%6.4f\t%+.4f\n",
                            m->names[r], ra->qid[q], va, vb, vb - va);
                }
        if (!tsv) {
            fprintf(fp, "# A = %s, B = %s, %zu queries; diff = B - A; wins/ties/losses of B\n",
                    cli_input_name(path_a), cli_input_name(path_b), n);
            fprintf(fp, "# p_perm: paired randomisation test (%s), p_t: paired t-test\n",
                    nrows && rows[0].exact ? "exact" : "random sign flips");
        }
        if (tsv)
            fprintf(fp, "measure\tmean_a\tmean_b\tdiff\tp_perm\tp_t\twins\tties\tlosses%s\n",
                    p->ci > 0 ? "\tdiff_ci_low\tdiff_ci_high" : "");
        else
            fprintf(fp, "%-22s\tmean_A\tmean_B\tdiff\tp_perm\tp_t\twins\tties\tlosses%s\n",
                    "measure", p->ci > 0 ? "\tdiff_ci" : "");
        for (size_t i = 0; i < nrows; i++) {
            cmp_row *c = &rows[i];
            size_t r;
            const mm_measure *m = mm_measure_of_row(set, c->row, &r);
            if (tsv)
                fprintf(fp, "%s\t%.6f\t%.6f\t%.6f\t%.6g\t%.6g\t%zu\t%zu\t%zu", m->names[r], c->mean_a,
                        c->mean_b, c->diff, c->p_perm, c->p_t, c->wins, c->ties, c->losses);
            else
                fprintf(fp, "%-22s\t%6.4f\t%6.4f\t%+.4f\t%6.4f\t%6.4f\t%zu\t%zu\t%zu", m->names[r],
                        c->mean_a, c->mean_b, c->diff, c->p_perm, c->p_t, c->wins, c->ties,
                        c->losses);
            if (p->ci > 0)
                fprintf(fp, tsv ? "\t%.6f\t%.6f" : "\t[%+.4f, %+.4f]", c->lo, c->hi);
            fputc('\n', fp);
        }
    }
    free(a);
    free(b);
    free(diffs);
    free(rows);
    free(idx);
    free(boot);
}

/* ---- help for one measure ------------------------------------------------------------- */

static void print_measure_help(const char *spec)
{
    char name[128];
    snprintf(name, sizeof name, "%s", spec);
    name[strcspn(name, ".@")] = '\0';
    const char *const *nick = mm_measure_nickname(name);
    if (nick) {
        printf("%s:", name);
        for (; *nick; nick++) printf(" %s", *nick);
        putchar('\n');
        return;
    }
    const mm_measure_def *d = mm_measure_lookup(name);
    if (!d) cli_usage_error("illegal measure '%s'", spec);
    printf("%s\n    %s\n", d->name, d->definition);
    if (d->default_params) printf("    Default parameters: %s.%s\n", d->name, d->default_params);
}

/* ---- main ------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    cli_init("mm-eval");
    params p = {
        .eval = MM_EVAL_OPTS_DEFAULT,
        .per_query = false,
        .summary = true,
        .format = FMT_TEXT,
        .ci = 0.0,
        .bootstrap = 1000,
        .seed = 1,
        .compare = false,
        .permutations = 10000,
        .confusion = NULL,
        .output = NULL,
    };
    mm_measure_set set = {0};
    mm_error err = {0};
    bool help = false;
    const char *help_measure = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "qm:cl:M:JN:nZ:R:f:o:hvV", long_options, NULL)) != -1) {
        switch (c) {
        case 'q': p.per_query = true; break;
        case 'm':
            if (!help_measure) help_measure = optarg;
            if (mm_measure_set_add(&set, optarg, &err) < 0) cli_usage_error("%s", err.msg);
            break;
        case 'c': p.eval.complete_rel_info = true; break;
        case 'l': p.eval.relevance_level = cli_parse_long("--level_for_rel", optarg, -1000000, 1000000); break;
        case 'M': p.eval.max_docs_per_topic = cli_parse_long("--Max_retrieved_per_topic", optarg, 1, LONG_MAX); break;
        case 'J': p.eval.judged_docs_only = true; break;
        case 'N': p.eval.num_docs_in_coll = cli_parse_long("--Number_docs_in_coll", optarg, 0, LONG_MAX); break;
        case 'n': p.summary = false; break;
        case 'Z': p.zscores = optarg; break;
        case 'R':
            if (strcmp(optarg, "qrels") == 0) p.rel_format = REL_QRELS;
            else if (strcmp(optarg, "qrels_jg") == 0) p.rel_format = REL_QRELS_JG;
            else if (strcmp(optarg, "prefs") == 0) p.rel_format = REL_PREFS;
            else if (strcmp(optarg, "qrels_prefs") == 0) p.rel_format = REL_QRELS_PREFS;
            else cli_usage_error("option --Rel_info_format: unsupported format '%s'; supported: qrels, qrels_jg, "
                                 "prefs, qrels_prefs", optarg);
            break;
        case OPT_TREC: break;
        case 'f':
            if (strcmp(optarg, "text") == 0) p.format = FMT_TEXT;
            else if (strcmp(optarg, "json") == 0) p.format = FMT_JSON;
            else if (strcmp(optarg, "tsv") == 0) p.format = FMT_TSV;
            else cli_usage_error("unsupported format '%s'; supported: text, json, tsv", optarg);
            break;
        case OPT_CI: p.ci = cli_parse_double("--ci", optarg, 0.0, 1.0);
            if (!(p.ci > 0.0 && p.ci < 1.0)) cli_usage_error("option --ci: level must be in (0, 1)");
            break;
        case OPT_BOOTSTRAP: p.bootstrap = (unsigned long)cli_parse_long("--bootstrap", optarg, 1, 100000000); break;
        case OPT_SEED: p.seed = (unsigned long long)cli_parse_long("--seed", optarg, 0, LONG_MAX); break;
        case OPT_COMPARE: p.compare = true; break;
        case OPT_PERMUTATIONS: p.permutations = (unsigned long long)cli_parse_long("--permutations", optarg, 1, 1000000000L); break;
        case OPT_CONFUSION: p.confusion = optarg; break;
        case 'o': p.output = optarg; break;
        case OPT_QUIET: cli_quiet = true; break;
        case OPT_EMPTY_IS_ZERO: p.eval.empty_is_zero = true; break;
        case 'h': help = true; break;
        case 'v':
        case 'V': cli_version();
        default: fprintf(stderr, "Try 'mm-eval --help' for more information.\n"); exit(MM_EXIT_USAGE);
        }
    }
    if (help) {
        if (help_measure)
            print_measure_help(help_measure);
        else
            fputs(USAGE, stdout);
        mm_measure_set_free(&set);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    int nfiles = p.compare ? 3 : 2;
    if (argc - optind != nfiles)
        cli_usage_error("expected %s, got %d argument%s", p.compare ? "QRELS RUN_A RUN_B" : "QRELS RUN",
                        argc - optind, argc - optind == 1 ? "" : "s");
    int stdin_uses = 0;
    for (int i = optind; i < argc; i++) stdin_uses += strcmp(argv[i], "-") == 0;
    if (stdin_uses > 1) cli_usage_error("at most one input can be standard input");
    if (p.confusion && p.compare) cli_usage_error("--confusion does not apply to --compare");
    bool any_m = false;
    for (size_t i = 0; set.requested && i < mm_measure_table_count; i++) any_m |= set.requested[i];
    bool prefs_mode = p.rel_format == REL_PREFS || p.rel_format == REL_QRELS_PREFS;
    if (!any_m && (p.rel_format == REL_QRELS_JG || prefs_mode) &&
        mm_measure_set_add(&set, prefs_mode ? "all_prefs" : "qrels_jg", &err) < 0)
        cli_usage_error("%s", err.msg);
    if (mm_measure_set_finalize(&set, &err) < 0) cli_usage_error("%s", err.msg);
    /* trec_eval computes only these from judgment groups or preferences (the
     * others need one set of judgments per query) */
    for (size_t k = 0; k < set.count; k++) {
        const char *nm = set.m[k].def->name;
        size_t l = strlen(nm);
        bool common = !strcmp(nm, "runid") || !strcmp(nm, "num_q");
        bool is_prefs = strncmp(nm, "prefs_", 6) == 0;
        bool is_jg = l > 6 && strcmp(nm + l - 6, "_avgjg") == 0 && !is_prefs;
        if (p.rel_format == REL_QRELS_JG && !common && !is_jg)
            cli_usage_error("measure '%s' needs -R qrels; with -R qrels_jg: runid, num_q, "
                            "map_avgjg, P_avgjg, Rprec_mult_avgjg (-m qrels_jg)", nm);
        if (prefs_mode && !common && !is_prefs)
            cli_usage_error("measure '%s' needs -R qrels; with -R prefs or qrels_prefs: runid, "
                            "num_q and the prefs_* measures (-m all_prefs)", nm);
        if (!prefs_mode && is_prefs)
            cli_usage_error("measure '%s' needs preferences: -R prefs or -R qrels_prefs", nm);
    }

    if (p.zscores) {
        /* read before the qrels, as trec_eval does */
        if (mm_zscores_load(&p.z, p.zscores, &err) < 0)
            cli_fatal_status(MM_ZSCORE_EXIT_INPUT, "%s", err.msg);
        zscore_mode = true;
    }
    const char *qrels_path = argv[optind];
    trec_qrels qrels;
    mm_prefs prefs;
    memset(&prefs, 0, sizeof prefs);
    if (prefs_mode) {
        memset(&qrels, 0, sizeof qrels);
        if (mm_prefs_load(&prefs, qrels_path, p.rel_format == REL_QRELS_PREFS, &err) < 0)
            cli_fatal_status(MM_EVAL_EXIT_INPUT, "%s", err.msg);
        p.prefs = &prefs;
    } else
        load_qrels(&qrels, qrels_path, p.rel_format);

    if (p.compare) {
        mm_eval_result ra, rb;
        evaluate(&qrels, argv[optind + 1], &p, &set, &ra);
        evaluate(&qrels, argv[optind + 2], &p, &set, &rb);
        cli_output *out = cli_output_open(p.output);
        compare_runs(cli_output_fp(out), &set, &ra, &rb, &p, qrels_path, argv[optind + 1],
                     argv[optind + 2]);
        cli_output_commit(out);
        mm_eval_result_free(&ra, &set);
        mm_eval_result_free(&rb, &set);
    } else {
        mm_eval_result res;
        const char *run_path = argv[optind + 1];
        /* Open the output first (as mm-rank does): an unwritable path fails
         * before the work. */
        cli_output *out = cli_output_open(p.output);
        evaluate(&qrels, run_path, &p, &set, &res);
        double *lo = NULL, *hi = NULL;
        if (p.ci > 0 && p.summary) {
            lo = xmalloc(set.nvalues * sizeof *lo);
            hi = xmalloc(set.nvalues * sizeof *hi);
            bootstrap(&set, &res, &p, lo, hi);
        }
        if (p.confusion) write_confusion(p.confusion, &res);
        FILE *fp = cli_output_fp(out);
        if (p.format == FMT_JSON)
            write_eval_json(fp, &set, &res, &p, qrels_path, run_path, lo, hi);
        else
            write_eval_text(fp, &set, &res, &p, lo, hi);
        cli_output_commit(out);
        free(lo);
        free(hi);
        mm_eval_result_free(&res, &set);
    }
    trec_qrels_free(&qrels);
    mm_prefs_free(&prefs);
    mm_measure_set_free(&set);
    mm_zscores_free(&p.z);
    return 0;
}
