/* table.c — the table of measures (output order), nicknames, and measure
 * selection from -m arguments. See measures.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "eval/measures.h"

extern const mm_measure_def mm_measure_runid, mm_measure_num_q, mm_measure_num_ret,
    mm_measure_num_rel, mm_measure_num_rel_ret, mm_measure_map, mm_measure_gm_map,
    mm_measure_Rprec, mm_measure_bpref, mm_measure_recip_rank, mm_measure_iprec_at_recall,
    mm_measure_P, mm_measure_relstring, mm_measure_recall, mm_measure_infAP,
    mm_measure_gm_bpref, mm_measure_Rprec_mult, mm_measure_utility, mm_measure_11pt_avg,
    mm_measure_binG, mm_measure_G, mm_measure_dcg, mm_measure_ideal_dcg, mm_measure_ndcg,
    mm_measure_ndcg_rel, mm_measure_Rndcg, mm_measure_ndcg_cut, mm_measure_map_cut,
    mm_measure_relative_P, mm_measure_success, mm_measure_set_P, mm_measure_set_relative_P,
    mm_measure_set_recall, mm_measure_set_map, mm_measure_set_F,
    mm_measure_num_nonrel_judged_ret, mm_measure_rbp, mm_measure_rbp_resid, mm_measure_unj, mm_measure_yaap,
    mm_measure_prefs_num_prefs_poss, mm_measure_prefs_num_prefs_ful, mm_measure_prefs_num_prefs_ful_ret, mm_measure_prefs_simp, mm_measure_prefs_pair, mm_measure_prefs_avgjg, mm_measure_prefs_avgjg_Rnonrel, mm_measure_prefs_simp_ret, mm_measure_prefs_pair_ret, mm_measure_prefs_avgjg_ret, mm_measure_prefs_avgjg_Rnonrel_ret, mm_measure_prefs_simp_imp, mm_measure_prefs_pair_imp, mm_measure_prefs_avgjg_imp,
    mm_measure_map_avgjg, mm_measure_P_avgjg, mm_measure_Rprec_mult_avgjg,
    mm_measure_R, mm_measure_MRR, mm_measure_medr, mm_measure_meanr, mm_measure_acc,
    mm_measure_balanced_acc;

/* Rows print in this order whatever the order of -m options (trec_eval 10.0's
 * te_trec_measures[] for its measures, then mmkit's). */
const mm_measure_def *const mm_measure_table[] = {
    &mm_measure_runid,
    &mm_measure_num_q,
    &mm_measure_num_ret,
    &mm_measure_num_rel,
    &mm_measure_num_rel_ret,
    &mm_measure_map,
    &mm_measure_gm_map,
    &mm_measure_Rprec,
    &mm_measure_bpref,
    &mm_measure_recip_rank,
    &mm_measure_iprec_at_recall,
    &mm_measure_P,
    &mm_measure_relstring,
    &mm_measure_recall,
    &mm_measure_infAP,
    &mm_measure_gm_bpref,
    &mm_measure_Rprec_mult,
    &mm_measure_utility,
    &mm_measure_11pt_avg,
    &mm_measure_binG,
    &mm_measure_G,
    &mm_measure_dcg,
    &mm_measure_ideal_dcg,
    &mm_measure_ndcg,
    &mm_measure_ndcg_rel,
    &mm_measure_Rndcg,
    &mm_measure_ndcg_cut,
    &mm_measure_map_cut,
    &mm_measure_relative_P,
    &mm_measure_success,
    &mm_measure_set_P,
    &mm_measure_set_relative_P,
    &mm_measure_set_recall,
    &mm_measure_set_map,
    &mm_measure_set_F,
    &mm_measure_num_nonrel_judged_ret,
    &mm_measure_prefs_num_prefs_poss,
    &mm_measure_prefs_num_prefs_ful,
    &mm_measure_prefs_num_prefs_ful_ret,
    &mm_measure_prefs_simp,
    &mm_measure_prefs_pair,
    &mm_measure_prefs_avgjg,
    &mm_measure_prefs_avgjg_Rnonrel,
    &mm_measure_prefs_simp_ret,
    &mm_measure_prefs_pair_ret,
    &mm_measure_prefs_avgjg_ret,
    &mm_measure_prefs_avgjg_Rnonrel_ret,
    &mm_measure_prefs_simp_imp,
    &mm_measure_prefs_pair_imp,
    &mm_measure_prefs_avgjg_imp,
    &mm_measure_map_avgjg,
    &mm_measure_P_avgjg,
    &mm_measure_Rprec_mult_avgjg,
    &mm_measure_yaap,
    &mm_measure_rbp,
    &mm_measure_rbp_resid,
    &mm_measure_unj,
    /* mmkit: multimodal retrieval and zero-shot classification */
    &mm_measure_R,
    &mm_measure_MRR,
    &mm_measure_medr,
    &mm_measure_meanr,
    &mm_measure_acc,
    &mm_measure_balanced_acc,
};
const size_t mm_measure_table_count = sizeof mm_measure_table / sizeof mm_measure_table[0];

static const char *const official_names[] = {
    "runid", "num_q", "num_ret", "num_rel", "num_rel_ret", "map", "gm_map", "Rprec", "bpref",
    "recip_rank", "iprec_at_recall", "P", NULL};
static const char *const all_trec_names[] = {
    "runid", "num_q", "num_ret", "num_rel", "num_rel_ret", "map", "gm_map", "Rprec", "bpref",
    "recip_rank", "iprec_at_recall", "P", "relstring", "recall", "infAP", "gm_bpref", "utility",
    "11pt_avg", "ndcg", "relative_P", "Rprec_mult", "success", "map_cut", "ndcg_cut",
    "ndcg_rel", "Rndcg", "binG", "G", "set_P", "set_recall", "set_relative_P", "set_map",
    "set_F", "num_nonrel_judged_ret", "rbp", "rbp_resid", "unj", NULL};
static const char *const set_names[] = {
    "runid", "num_q", "num_ret", "num_rel", "num_rel_ret", "utility", "set_P", "set_recall",
    "set_relative_P", "set_map", "set_F", NULL};
static const char *const qrels_jg_names[] = {"runid",  "num_q",           "map_avgjg",
                                             "P_avgjg", "Rprec_mult_avgjg", NULL};
static const char *const all_prefs_names[] = {"runid", "num_q", "prefs_num_prefs_poss", "prefs_num_prefs_ful", "prefs_num_prefs_ful_ret", "prefs_simp", "prefs_pair", "prefs_avgjg", "prefs_avgjg_Rnonrel", "prefs_simp_ret", "prefs_pair_ret", "prefs_avgjg_ret", "prefs_avgjg_Rnonrel_ret", "prefs_simp_imp", "prefs_pair_imp", "prefs_avgjg_imp", NULL};
static const char *const clip_names[] = {"num_q", "R", "medr", "meanr", "MRR", NULL};
static const char *const zeroshot_names[] = {"num_q", "acc", "balanced_acc", NULL};

static const struct {
    const char *name;
    const char *const *names;
} nicknames[] = {
    {"official", official_names}, {"all_trec", all_trec_names}, {"set", set_names},
    {"qrels_jg", qrels_jg_names},   {"all_prefs", all_prefs_names},
    {"clip", clip_names},         {"zeroshot", zeroshot_names},
};

const char *const *mm_measure_nickname(const char *name)
{
    for (size_t i = 0; i < sizeof nicknames / sizeof nicknames[0]; i++)
        if (strcmp(nicknames[i].name, name) == 0) return nicknames[i].names;
    return NULL;
}

static long table_index(const char *name, size_t len)
{
    for (size_t i = 0; i < mm_measure_table_count; i++)
        if (strlen(mm_measure_table[i]->name) == len &&
            memcmp(mm_measure_table[i]->name, name, len) == 0)
            return (long)i;
    return -1;
}

const mm_measure_def *mm_measure_lookup(const char *name)
{
    long i = table_index(name, strlen(name));
    return i < 0 ? NULL : mm_measure_table[i];
}

static void ensure_requests(mm_measure_set *set)
{
    if (set->requested) return;
    set->requested = xcalloc(mm_measure_table_count, sizeof *set->requested);
    set->request = xcalloc(mm_measure_table_count, sizeof *set->request);
}

/* The first request with parameters keeps them, as in trec_eval 10.0, whose
 * measure set-up (meas_init.c) stops at the first -m argument naming the
 * measure with parameters: "-m P.5 -m P.10" prints P_5 only. A request
 * without parameters (-m P, a nickname) neither sets nor undoes them. */
static void request(mm_measure_set *set, long i, const char *params)
{
    set->requested[i] = true;
    if (set->request[i] || !params) return;
    set->request[i] = xstrdup(params);
}

/* "-m R@1 -m R@5 -m R@10": mmkit's '@' shorthand accumulates cutoffs (as
 * "R.1,5,10" would), where a repeated trec_eval-style "-m P.5 -m P.10"
 * keeps the first request's parameters. */
static void add_cutoff(mm_measure_set *set, long i, const char *cutoff)
{
    const char *old = set->request[i];
    size_t clen = strlen(cutoff);
    for (const char *p = old; *p;) { /* already listed: nothing to add */
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == clen && memcmp(p, cutoff, len) == 0) return;
        if (!comma) break;
        p = comma + 1;
    }
    size_t n = strlen(old) + 1 + clen + 1;
    char *merged = xmalloc(n);
    snprintf(merged, n, "%s,%s", old, cutoff);
    free(set->request[i]);
    set->request[i] = merged;
}

int mm_measure_set_add(mm_measure_set *set, const char *spec, mm_error *err)
{
    ensure_requests(set);
    const char *const *nick = mm_measure_nickname(spec);
    if (nick) {
        for (; *nick; nick++) request(set, table_index(*nick, strlen(*nick)), NULL);
        return 0;
    }
    /* "R@5", "acc@1": mmkit's shorthand for a single cutoff */
    const char *sep = strchr(spec, '@');
    if (!sep) sep = strchr(spec, '.');
    size_t len = sep ? (size_t)(sep - spec) : strlen(spec);
    long i = table_index(spec, len);
    if (i < 0) return mm_fail(err, MM_ERR_MALFORMED, "illegal measure '%s'", spec);
    if (sep && sep[0] == '@' && mm_measure_table[i]->params != MM_PARAM_CUTOFFS)
        return mm_fail(err, MM_ERR_MALFORMED, "illegal measure '%s' (no cutoffs)", spec);
    if (sep && mm_measure_table[i]->params == MM_PARAM_NONE)
        return mm_fail(err, MM_ERR_MALFORMED, "measure '%.*s' takes no parameters",
                       (int)len, spec);
    if (sep && sep[0] == '@' && set->requested[i] && set->request[i])
        add_cutoff(set, i, sep + 1);
    else
        request(set, i, sep ? sep + 1 : NULL);
    return 0;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static size_t count_items(const char *s)
{
    size_t n = 1;
    for (; *s; s++) n += *s == ',';
    return n;
}

static int parse_params(mm_measure *m, const char *text, mm_error *err)
{
    const mm_measure_def *d = m->def;
    if (d->params == MM_PARAM_NONE || !text) return 0;
    size_t n = count_items(text);
    char *copy = xstrdup(text);
    if (d->params == MM_PARAM_CUTOFFS) m->cutoffs = xcalloc(n, sizeof *m->cutoffs);
    else if (d->params == MM_PARAM_GAINS) m->gains = xcalloc(n, sizeof *m->gains);
    else m->fparams = xcalloc(n, sizeof *m->fparams);
    size_t k = 0;
    char *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (d->params == MM_PARAM_CUTOFFS) {
            /* trec_eval reads a cutoff with atol: "23.4" is 23 (row ndcg_cut_23) */
            long v;
            size_t ilen = strcspn(tok, ".");
            bool frac = tok[ilen] == '.' && tok[ilen + 1] &&
                        strspn(tok + ilen + 1, "0123456789") == strlen(tok + ilen + 1);
            if ((tok[ilen] && !frac) || !trec_parse_long(tok, ilen, &v) || v <= 0) {
                rc = mm_fail(err, MM_ERR_MALFORMED,
                             "measure '%s': cutoff '%s' is not a positive integer", d->name, tok);
                break;
            }
            m->cutoffs[k++] = v;
        } else if (d->params == MM_PARAM_GAINS) {
            char *eq = strchr(tok, '=');
            double g;
            if (!eq || eq == tok || !trec_parse_score(eq + 1, strlen(eq + 1), &g)) {
                rc = mm_fail(err, MM_ERR_MALFORMED,
                             "measure '%s': parameter '%s' is not name=value", d->name, tok);
                break;
            }
            *eq = '\0';
            long level;
            m->gains[k].name = xstrdup(tok);
            /* a non-numeric key (rbp's "p") is not a gain level */
            m->gains[k].level = trec_parse_long(tok, strlen(tok), &level) ? level : LONG_MIN;
            m->gains[k].gain = g;
            m->ngains = ++k; /* counted as we go, so that a later error frees it */
        } else {
            double v;
            if (!trec_parse_score(tok, strlen(tok), &v)) {
                rc = mm_fail(err, MM_ERR_MALFORMED, "measure '%s': parameter '%s' is not a number",
                             d->name, tok);
                break;
            }
            m->fparams[k++] = v;
        }
    }
    free(copy);
    if (rc < 0) return rc;
    if (k == 0) return mm_fail(err, MM_ERR_MALFORMED, "measure '%s': empty parameter list", d->name);
    if (d->params == MM_PARAM_GAINS) {
        m->ngains = k;
        return 0;
    }
    m->nparams = k;
    if (d->params == MM_PARAM_CUTOFFS) {
        qsort(m->cutoffs, k, sizeof *m->cutoffs, cmp_long);
        for (size_t i = 1; i < k; i++)
            if (m->cutoffs[i] == m->cutoffs[i - 1])
                return mm_fail(err, MM_ERR_MALFORMED, "measure '%s': duplicate cutoffs detected",
                               d->name);
    } else if (d->params == MM_PARAM_FRACTIONS) {
        qsort(m->fparams, k, sizeof *m->fparams, cmp_double);
        for (size_t i = 1; i < k; i++)
            if (m->fparams[i] == m->fparams[i - 1])
                return mm_fail(err, MM_ERR_MALFORMED, "measure '%s': duplicate cutoffs detected",
                               d->name);
    } else if (strcmp(d->name, "utility") == 0 && k != 4) {
        return mm_fail(err, MM_ERR_MALFORMED, "measure 'utility': needs 4 coefficients, got %zu",
                       k);
    }
    return 0;
}

/* Row names follow trec_eval's meas_init.c: a measure with one row per
 * cutoff names each row after its cutoff ("P_5", "iprec_at_recall_0.10");
 * any other measure given parameters on the command line is named after the
 * parameter text exactly as written ("relstring_20", "ndcg_1=3,2=9",
 * "11pt_avg_.25,.5,.75"); with its default parameters, after the measure. */
static void make_names(mm_measure *m, const char *given)
{
    const mm_measure_def *d = m->def;
    bool rows = (d->params == MM_PARAM_CUTOFFS || d->params == MM_PARAM_FRACTIONS) && d->row_format;
    m->nvalues = rows ? m->nparams : 1;
    m->names = xcalloc(m->nvalues, sizeof *m->names);
    for (size_t i = 0; i < m->nvalues; i++) {
        char buf[256];
        if (!rows && given) { /* the parameter text has no length limit */
            size_t n = strlen(d->name) + 1 + strlen(given) + 1;
            m->names[i] = xmalloc(n);
            snprintf(m->names[i], n, "%s_%s", d->name, given);
            continue;
        }
        if (!rows)
            snprintf(buf, sizeof buf, "%s", d->name);
        else if (d->params == MM_PARAM_CUTOFFS)
            snprintf(buf, sizeof buf, d->row_format, d->name, m->cutoffs[i]);
        else
            snprintf(buf, sizeof buf, d->row_format, d->name, m->fparams[i]);
        m->names[i] = xstrdup(buf);
    }
}

int mm_measure_set_finalize(mm_measure_set *set, mm_error *err)
{
    ensure_requests(set);
    bool any = false;
    for (size_t i = 0; i < mm_measure_table_count; i++) any |= set->requested[i];
    if (!any && mm_measure_set_add(set, "official", err) < 0) return -1;
    size_t n = 0;
    for (size_t i = 0; i < mm_measure_table_count; i++) n += set->requested[i];
    set->m = xcalloc(n, sizeof *set->m);
    set->count = 0;
    set->nvalues = 0;
    for (size_t i = 0; i < mm_measure_table_count; i++) {
        if (!set->requested[i]) continue;
        mm_measure *m = &set->m[set->count++];
        m->def = mm_measure_table[i];
        const char *text = set->request[i] ? set->request[i] : m->def->default_params;
        if (parse_params(m, text, err) < 0) return -1;
        make_names(m, set->request[i]);
        m->offset = set->nvalues;
        set->nvalues += m->nvalues;
    }
    return 0;
}

void mm_measure_set_free(mm_measure_set *set)
{
    if (!set) return;
    for (size_t i = 0; i < set->count; i++) {
        mm_measure *m = &set->m[i];
        if (m->names)
            for (size_t j = 0; j < m->nvalues; j++) free(m->names[j]);
        free(m->names);
        free(m->cutoffs);
        free(m->fparams);
        if (m->gains)
            for (size_t j = 0; j < m->ngains; j++) free(m->gains[j].name);
        free(m->gains);
    }
    free(set->m);
    if (set->request)
        for (size_t i = 0; i < mm_measure_table_count; i++) free(set->request[i]);
    free(set->request);
    free(set->requested);
    memset(set, 0, sizeof *set);
}

const mm_measure *mm_measure_set_find(const mm_measure_set *set, const char *name)
{
    for (size_t i = 0; i < set->count; i++)
        if (strcmp(set->m[i].def->name, name) == 0) return &set->m[i];
    return NULL;
}

const mm_measure *mm_measure_of_row(const mm_measure_set *set, size_t row, size_t *index_in)
{
    for (size_t i = 0; i < set->count; i++) {
        const mm_measure *m = &set->m[i];
        if (row >= m->offset && row < m->offset + m->nvalues) {
            if (index_in) *index_in = row - m->offset;
            return m;
        }
    }
    return NULL;
}

size_t mm_setup_gains(const mm_measure *m, const mm_query_rels *q, mm_gain_level *out)
{
    size_t n = 0;
    for (size_t i = 0; i < m->ngains; i++) {
        if (m->gains[i].level == LONG_MIN) continue; /* named parameter, not a level */
        out[n++] = (mm_gain_level){m->gains[i].level, 0, m->gains[i].gain};
    }
    size_t nparam = n;
    for (long lv = 0; lv < q->num_rel_levels; lv++) {
        size_t j = 0;
        while (j < nparam && out[j].level != lv) j++;
        if (j < nparam)
            out[j].count = q->rel_levels[lv];
        else
            out[n++] = (mm_gain_level){lv, q->rel_levels[lv], (double)lv};
    }
    /* increasing gain; insertion sort keeps equal gains in insertion order */
    for (size_t i = 1; i < n; i++) {
        mm_gain_level x = out[i];
        size_t j = i;
        while (j > 0 && out[j - 1].gain > x.gain) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = x;
    }
    return n;
}

double mm_gain_of(const mm_gain_level *g, size_t n, long value)
{
    for (size_t i = 0; i < n; i++)
        if (g[i].level == value) return g[i].gain;
    return 0.0;
}
