/* m_prefs.c — the all_prefs family (trec_eval 10.0 m_prefs_*.c), computed
 * from the preference counts of eval/prefs.h (-R prefs or -R qrels_prefs).
 * One file for the fourteen: they differ only in which counts they add.
 * "ret": both docs of a preference retrieved; "imp": at least one retrieved;
 * "poss" counts also the preferences between two docs not retrieved. */
#include "eval/measures.h"
#include "eval/prefs.h"

#define P(q) ((q)->prefs)

static void num_prefs_poss(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q,
                           double *v)
{
    (void)m, (void)o;
    long poss = 0;
    for (size_t i = 0; P(q) && i < P(q)->num_jgs; i++) {
        const mm_prefs_jg *g = &P(q)->jgs[i];
        poss += g->poss_ret + g->poss_imp + g->poss_notoccur;
    }
    v[0] = (double)poss;
}

static void num_prefs_ful(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q,
                          double *v)
{
    (void)m, (void)o;
    long ful = 0;
    for (size_t i = 0; P(q) && i < P(q)->num_jgs; i++)
        ful += P(q)->jgs[i].ful_ret + P(q)->jgs[i].ful_imp;
    v[0] = (double)ful;
}

static void num_prefs_ful_ret(const mm_measure *m, const mm_eval_opts *o,
                              const mm_query_rels *q, double *v)
{
    (void)m, (void)o;
    long ful = 0;
    for (size_t i = 0; P(q) && i < P(q)->num_jgs; i++) ful += P(q)->jgs[i].ful_ret;
    v[0] = (double)ful;
}

enum { RET = 1, IMP = 2, NOTOCCUR = 4 };

static void ful_poss(const mm_prefs_jg *g, int which, long *ful, long *poss)
{
    *ful += g->ful_ret;
    *poss += g->poss_ret;
    if (which & IMP) {
        *ful += g->ful_imp;
        *poss += g->poss_imp;
    }
    if (which & NOTOCCUR) *poss += g->poss_notoccur;
}

/* prefs_simp*: fulfilled / possible, counts summed over the JGs */
static void simp(const mm_query_rels *q, int which, double *v)
{
    long ful = 0, poss = 0;
    for (size_t i = 0; P(q) && i < P(q)->num_jgs; i++) ful_poss(&P(q)->jgs[i], which, &ful, &poss);
    if (poss) v[0] = (double)ful / (double)poss;
}

/* prefs_avgjg*: fulfilled / possible per JG, averaged over the JGs */
static void avgjg(const mm_query_rels *q, int which, double *v)
{
    double sum = 0.0;
    for (size_t i = 0; P(q) && i < P(q)->num_jgs; i++) {
        long ful = 0, poss = 0;
        ful_poss(&P(q)->jgs[i], which, &ful, &poss);
        if (poss) sum += (double)ful / (double)poss;
    }
    if (sum > 0.0) v[0] = sum / (double)P(q)->num_jgs;
}

/* prefs_pair*: per pair of docs with a preference in some JG, the share of
 * JGs preferring the higher-ranked one, averaged over pairs; pairs with
 * neither doc retrieved count 0 (prefs_pair) or are left out */
static void pair(const mm_query_rels *q, int which, double *v)
{
    const mm_prefs_counts *c = P(q);
    if (!c) return;
    long nj = c->num_judged, njr = c->num_judged_ret, num_pairs = 0;
    double sum = 0.0;
#define CA(i, j) ((double)c->ca[(i) * nj + (j)])
    for (long i = 0; i < njr; i++)
        for (long j = i + 1; j < njr; j++)
            if (CA(i, j) || CA(j, i)) {
                num_pairs++;
                sum += CA(i, j) / (CA(i, j) + CA(j, i));
            }
    if (which & IMP)
        for (long i = 0; i < njr; i++)
            for (long j = njr; j < nj; j++)
                if (CA(i, j) || CA(j, i)) {
                    num_pairs++;
                    sum += CA(i, j) / (CA(i, j) + CA(j, i));
                }
    if (which & NOTOCCUR)
        for (long i = njr; i < nj; i++)
            for (long j = i + 1; j < nj; j++)
                if (CA(i, j) || CA(j, i)) num_pairs++;
#undef CA
    if (num_pairs) v[0] = sum / (double)num_pairs;
}

/* prefs_avgjg_Rnonrel*: as prefs_avgjg, but as if each JG had exactly R
 * non-relevant docs (m_prefs_avgjg_Rnonrel.c and _ret.c, kept as written,
 * including which classes their recount visits). */
static void recount(const mm_prefs_jg *g, const mm_prefs_counts *c, bool ret_only, long *rf,
                    long *rp)
{
    long ful = 0, poss = 0, njr = c->num_judged_ret;
    if (g->num_ecs > 0) {
        /* trec_eval takes the first R (or R retrieved) docs of the last class as
         * the non-relevant ones; when negative rel_levels make that class
         * smaller than R it reads past it (undefined there): we stop at its end */
        long n_nonrel = ret_only ? g->num_rel_ret : g->num_rel;
        if (n_nonrel > g->ecs[g->num_ecs - 1].n) n_nonrel = g->ecs[g->num_ecs - 1].n;
        const long *nonrel = g->ecs[g->num_ecs - 1].ranks;
        for (size_t e1 = 0; e1 < g->num_ecs; e1++)
            for (size_t e2 = e1 + 1; e2 + 1 < g->num_ecs; e2++)
                for (long x = 0; x < g->ecs[e1].n; x++) {
                    long r1 = g->ecs[e1].ranks[x];
                    if (ret_only && r1 >= njr) break;
                    for (long y = 0; y < g->ecs[e2].n; y++) {
                        long r2 = g->ecs[e2].ranks[y];
                        if (ret_only && r2 >= njr) break;
                        if (r1 < r2 && (ret_only || r1 < njr))
                            ful++;
                        else
                            poss++;
                    }
                }
        for (size_t e1 = 0; e1 < g->num_ecs; e1++)
            for (long x = 0; x < g->ecs[e1].n; x++) {
                long r1 = g->ecs[e1].ranks[x];
                if (ret_only && r1 >= njr) break;
                for (long y = 0; y < n_nonrel; y++) {
                    long r2 = nonrel[y];
                    if (ret_only && r2 >= njr) break;
                    if (r1 < r2 && (ret_only || r1 < njr))
                        ful++;
                    else
                        poss++;
                }
            }
    } else {
        long nj = c->num_judged, seen = 0, i, j;
        const unsigned char *a = g->pa;
        long scan = ret_only ? njr : nj;
        for (i = 0; i < scan; i++)
            if (g->rel_array[i] == 0.0 && ++seen == g->num_rel + 1) break;
        long first_discarded = i;
#define SKIP(k) ((k) >= first_discarded && g->rel_array[k] == 0.0)
        for (i = 0; i < njr; i++) {
            if (SKIP(i)) continue;
            for (j = 0; j < i; j++)
                if (!SKIP(j) && a[i * nj + j]) poss++;
            for (j = i + 1; j < njr; j++)
                if (!SKIP(j) && a[i * nj + j]) ful++;
            if (!ret_only)
                for (j = njr; j < nj; j++)
                    if (!SKIP(j) && a[i * nj + j]) ful++;
        }
        if (!ret_only)
            for (i = njr; i < nj; i++) {
                if (SKIP(i)) continue;
                for (j = 0; j < nj; j++)
                    if (!SKIP(j) && a[i * nj + j]) poss++;
            }
#undef SKIP
    }
    *rf = ful;
    *rp = poss + ful;
}

static void rnonrel(const mm_query_rels *q, bool ret_only, double *v)
{
    const mm_prefs_counts *c = P(q);
    if (!c) return;
    double sum = 0.0;
    for (size_t i = 0; i < c->num_jgs; i++) {
        const mm_prefs_jg *g = &c->jgs[i];
        long R = ret_only ? g->num_rel_ret : g->num_rel;
        long N = ret_only ? g->num_nonrel_ret : g->num_nonrel;
        long ful, poss;
        if (R >= N) {
            ful = g->ful_ret;
            poss = g->poss_ret;
            if (!ret_only) {
                ful += g->ful_imp;
                poss += g->poss_imp + g->poss_notoccur;
            }
            ful += g->num_rel_ret * (R - N);
            poss += g->num_rel * (R - N);
        } else
            recount(g, c, ret_only, &ful, &poss);
        sum += (double)ful / (double)poss;
    }
    if (sum > 0.0) v[0] = sum / (double)c->num_jgs;
}

#define WRAP(fn, body)                                                                       \
    static void fn(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q,       \
                   double *v)                                                                \
    {                                                                                        \
        (void)m, (void)o;                                                                    \
        body;                                                                                \
    }
WRAP(c_simp, simp(q, RET | IMP | NOTOCCUR, v))
WRAP(c_simp_ret, simp(q, RET, v))
WRAP(c_simp_imp, simp(q, RET | IMP, v))
WRAP(c_pair, pair(q, RET | IMP | NOTOCCUR, v))
WRAP(c_pair_ret, pair(q, RET, v))
WRAP(c_pair_imp, pair(q, RET | IMP, v))
WRAP(c_avgjg, avgjg(q, RET | IMP | NOTOCCUR, v))
WRAP(c_avgjg_ret, avgjg(q, RET, v))
WRAP(c_avgjg_imp, avgjg(q, RET | IMP, v))
WRAP(c_avgjg_Rnonrel, rnonrel(q, false, v))
WRAP(c_avgjg_Rnonrel_ret, rnonrel(q, true, v))

#define COUNT_DEF(id, nm, fn, def)                                                           \
    const mm_measure_def mm_measure_##id = {.name = nm,                                      \
                                            .definition = def,                               \
                                            .kind = MM_VALUE_COUNT,                          \
                                            .aggregate = MM_AGG_SUM,                         \
                                            .per_query = true,                               \
                                            .calc = fn}
#define FLOAT_DEF(id, nm, fn, def)                                                           \
    const mm_measure_def mm_measure_##id = {.name = nm,                                      \
                                            .definition = def,                               \
                                            .kind = MM_VALUE_FLOAT,                          \
                                            .aggregate = MM_AGG_MEAN,                        \
                                            .per_query = true,                               \
                                            .calc = fn}

COUNT_DEF(prefs_num_prefs_poss, "prefs_num_prefs_poss", num_prefs_poss,
          "Number of preferences in the judgments (-R prefs/qrels_prefs), over all judgment "
          "groups, whether or not the run retrieved their documents.");
COUNT_DEF(prefs_num_prefs_ful, "prefs_num_prefs_ful", num_prefs_ful,
          "Number of preferences fulfilled: A > B with A retrieved above B, or A retrieved "
          "and B not.");
COUNT_DEF(prefs_num_prefs_ful_ret, "prefs_num_prefs_ful_ret", num_prefs_ful_ret,
          "Number of preferences fulfilled with both documents retrieved.");
FLOAT_DEF(prefs_simp, "prefs_simp", c_simp,
          "Preferences fulfilled / preferences possible, summed over judgment groups.");
FLOAT_DEF(prefs_pair, "prefs_pair", c_pair,
          "Per pair of judged documents with a preference, the share of judgment groups the "
          "ranking agrees with, averaged over pairs (pairs of unretrieved docs count 0).");
FLOAT_DEF(prefs_avgjg, "prefs_avgjg", c_avgjg,
          "Preferences fulfilled / possible per judgment group, averaged over the groups.");
FLOAT_DEF(prefs_avgjg_Rnonrel, "prefs_avgjg_Rnonrel", c_avgjg_Rnonrel,
          "prefs_avgjg as if each judgment group had as many non-relevant as relevant docs.");
FLOAT_DEF(prefs_simp_ret, "prefs_simp_ret", c_simp_ret,
          "prefs_simp over the preferences whose two documents were both retrieved.");
FLOAT_DEF(prefs_pair_ret, "prefs_pair_ret", c_pair_ret,
          "prefs_pair over the pairs whose two documents were both retrieved.");
FLOAT_DEF(prefs_avgjg_ret, "prefs_avgjg_ret", c_avgjg_ret,
          "prefs_avgjg over the preferences whose two documents were both retrieved.");
FLOAT_DEF(prefs_avgjg_Rnonrel_ret, "prefs_avgjg_Rnonrel_ret", c_avgjg_Rnonrel_ret,
          "prefs_avgjg_Rnonrel over the retrieved documents only.");
FLOAT_DEF(prefs_simp_imp, "prefs_simp_imp", c_simp_imp,
          "prefs_simp over the preferences with at least one document retrieved.");
FLOAT_DEF(prefs_pair_imp, "prefs_pair_imp", c_pair_imp,
          "prefs_pair over the pairs with at least one document retrieved.");
FLOAT_DEF(prefs_avgjg_imp, "prefs_avgjg_imp", c_avgjg_imp,
          "prefs_avgjg over the preferences with at least one document retrieved.");
