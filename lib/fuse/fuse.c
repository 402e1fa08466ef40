/* fuse.c — what early and late fusion share (see fuse.h and man/man1/mm-fuse.1
 * for the definitions): method and normalisation names, --weights, the
 * --group-by rules that make the keys of the id join. Early fusion is in
 * fuse_early.c, late fusion in fuse_late.c; the join's table is core/hash.h. */
#include "fuse/fuse.h"

#include "core/xalloc.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ---------------------------------------------------------------------- */
static const char *const method_names[] = {
    [FUSE_NONE] = "none",       [FUSE_CONCAT] = "concat",   [FUSE_MEAN] = "mean",
    [FUSE_SUM] = "sum",         [FUSE_WSUM] = "wsum",       [FUSE_PRODUCT] = "product",
    [FUSE_MAX] = "max",         [FUSE_RRF] = "rrf",         [FUSE_COMBSUM] = "combsum",
    [FUSE_COMBMNZ] = "combmnz", [FUSE_COMBMAX] = "combmax", [FUSE_RUN_WSUM] = "wsum",
};

int fuse_method_parse(const char *name, bool runs)
{
    int lo = runs ? FUSE_RRF : FUSE_CONCAT, hi = runs ? FUSE_RUN_WSUM : FUSE_MAX;
    for (int m = lo; m <= hi; m++)
        if (strcmp(name, method_names[m]) == 0) return m;
    return FUSE_NONE;
}

const char *fuse_method_name(int method)
{
    if (method < 0 || method > FUSE_RUN_WSUM) return "?";
    return method_names[method];
}

static const char *const vnorm_names[] = {"none", "l2", "zscore"};
static const char *const snorm_names[] = {"none", "minmax", "zscore", "sum", "rank"};
static const char *const missing_names[] = {"error", "skip", "zero"};

static int parse_name(const char *name, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0) return i;
    return -1;
}

int fuse_vnorm_parse(const char *name) { return parse_name(name, vnorm_names, 3); }
const char *fuse_vnorm_name(int n) { return n >= 0 && n < 3 ? vnorm_names[n] : "?"; }
int fuse_snorm_parse(const char *name) { return parse_name(name, snorm_names, 5); }
const char *fuse_snorm_name(int n) { return n >= 0 && n < 5 ? snorm_names[n] : "?"; }
int fuse_missing_parse(const char *name) { return parse_name(name, missing_names, 3); }
const char *fuse_missing_name(int n) { return n >= 0 && n < 3 ? missing_names[n] : "?"; }

long fuse_parse_weights(const char *list, double **out, mm_error *err)
{
    *out = NULL;
    size_t n = 1;
    for (const char *s = list; *s; s++) n += *s == ',';
    double *w = xmalloc(n * sizeof *w);
    const char *s = list;
    for (size_t i = 0; i < n; i++) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        char buf[64];
        char *stop;
        if (len == 0 || len >= sizeof buf) goto bad;
        memcpy(buf, s, len);
        buf[len] = 0;
        errno = 0;
        w[i] = strtod(buf, &stop);
        if (*stop || errno == ERANGE || !isfinite(w[i])) goto bad;
        s = end ? end + 1 : s + len;
        continue;
    bad:
        free(w);
        return mm_fail(err, MM_ERR_MALFORMED,
                       "weight %zu of '%s' is not a finite number (expected w1,w2,...)", i + 1,
                       list);
    }
    *out = w;
    return (long)n;
}

/* ---- group-by rules ------------------------------------------------------------- */
int fuse_group_rule_parse(const char *spec, fuse_group_rule *rule, mm_error *err)
{
    memset(rule, 0, sizeof *rule);
    const char *colon = strchr(spec, ':');
    size_t klen = colon ? (size_t)(colon - spec) : strlen(spec);
    const char *arg = colon ? colon + 1 : NULL;
    if (klen == 2 && memcmp(spec, "id", 2) == 0 && !arg) {
        rule->kind = FUSE_GROUP_ID;
        return 0;
    }
    if (arg && ((klen == 6 && memcmp(spec, "suffix", 6) == 0) ||
                (klen == 4 && memcmp(spec, "head", 4) == 0))) {
        size_t n = strlen(arg);
        if (n == 0 || n >= sizeof rule->sep)
            return mm_fail(err, MM_ERR_MALFORMED,
                           "--group-by '%s': the separator must be 1 to %zu bytes", spec,
                           sizeof rule->sep - 1);
        rule->kind = klen == 6 ? FUSE_GROUP_SUFFIX : FUSE_GROUP_HEAD;
        memcpy(rule->sep, arg, n + 1);
        rule->sep_len = n;
        return 0;
    }
    if (arg && klen == 6 && memcmp(spec, "prefix", 6) == 0) {
        char *stop;
        errno = 0;
        unsigned long long n = strtoull(arg, &stop, 10);
        if (*arg < '0' || *arg > '9' || *stop || errno || n == 0 || n > MMF_MAX_ID_LEN)
            return mm_fail(err, MM_ERR_MALFORMED,
                           "--group-by '%s': N must be an integer in [1, %u]", spec,
                           MMF_MAX_ID_LEN);
        rule->kind = FUSE_GROUP_PREFIX;
        rule->n = (size_t)n;
        return 0;
    }
    return mm_fail(err, MM_ERR_MALFORMED,
                   "--group-by '%s': expected suffix:SEP, head:SEP, prefix:N or id", spec);
}

size_t fuse_group_key_len(const fuse_group_rule *rule, const char *id, size_t id_len)
{
    switch (rule->kind) {
    case FUSE_GROUP_SUFFIX:
        if (id_len >= rule->sep_len)
            for (size_t i = id_len - rule->sep_len + 1; i-- > 0;)
                if (memcmp(id + i, rule->sep, rule->sep_len) == 0) return i;
        return id_len;
    case FUSE_GROUP_HEAD: {
        const char *p = memmem(id, id_len, rule->sep, rule->sep_len);
        return p ? (size_t)(p - id) : id_len;
    }
    case FUSE_GROUP_PREFIX: {
        size_t chars = 0;
        for (size_t i = 0; i < id_len; i++) {
            /* a code point starts at every byte that is not 10xxxxxx */
            if (((unsigned char)id[i] & 0xC0) != 0x80) {
                if (chars == rule->n) return i;
                chars++;
            }
        }
        return id_len;
    }
    default:
        return id_len;
    }
}
