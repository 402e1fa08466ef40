/* layers_body.h — the bodies of lib/nn/layers.h, written once for a real type.
 *
 * Included by lib/nn/layers.c with LREAL = float (the library's layers) and
 * by tests/unit/nn/test_layers.c with LREAL = double, so that the backward
 * passes are checked against central finite differences of the very same
 * code in float64 (in float32 the differences would be noise). The includer
 * defines:
 *   LREAL          the real type
 *   LFN(name)      the name a function gets (layers.c: name; the test: name##_f64)
 *   LAPI           storage class (layers.c: nothing; the test: static inline)
 *   LEXP LLOG LSQRT LERF LFABS   the libm functions for LREAL
 * and may define LSOFTMAX_ROW (one softmax row, returning log-sum-exp) and
 * LGELU_FORWARD / LGELU_BACKWARD to take those from elsewhere (layers.c: the
 * kernel table's SIMD versions, via nn/ops).
 *
 * Layout follows PyTorch: a linear weight is [OC, C] (out, in), rows are
 * examples. Every backward ADDS into its gradients (dinp, dweight, dbias),
 * so gradients from several paths (a residual, several tasks) accumulate;
 * the trainer zeroes them once per step. Shapes are in the comments, as in
 * llm.c.
 */

/* ---- linear: out[B,OC] = inp[B,C] · weight[OC,C]^T + bias[OC] --------------
 * A plain loop nest, on purpose: lib/kernels/gemm.h multiplies by a weight
 * packed once at load, and a trained weight changes every step (and the
 * backward wants products with W and with the activations' transpose, which
 * that API does not offer). The inner loops run over contiguous memory
 * (dot products and axpys) so that the compiler can keep them in registers. */
LAPI void LFN(linear_forward)(LREAL *out, const LREAL *inp, const LREAL *weight, const LREAL *bias, int B, int C,
                              int OC)
{
    for (int b = 0; b < B; b++) {
        const LREAL *x = inp + (size_t)b * C;
        LREAL *y = out + (size_t)b * OC;
        for (int o = 0; o < OC; o++) {
            const LREAL *w = weight + (size_t)o * C;
            LREAL s = bias ? bias[o] : 0;
            for (int c = 0; c < C; c++) s += x[c] * w[c];
            y[o] = s;
        }
    }
}

/* dinp[B,C] += dout[B,OC] · weight[OC,C]; dweight[OC,C] += dout^T · inp;
 * dbias[OC] += column sums of dout. Any of dinp, dweight, dbias may be NULL
 * (the first layer needs no dinp; a layer without bias has no dbias). */
LAPI void LFN(linear_backward)(LREAL *dinp, LREAL *dweight, LREAL *dbias, const LREAL *dout, const LREAL *inp,
                               const LREAL *weight, int B, int C, int OC)
{
    for (int b = 0; b < B; b++) {
        const LREAL *dy = dout + (size_t)b * OC;
        const LREAL *x = inp + (size_t)b * C;
        LREAL *dx = dinp ? dinp + (size_t)b * C : NULL;
        for (int o = 0; o < OC; o++) {
            LREAL d = dy[o];
            if (d == 0) continue; /* ReLU-like sparsity and padded rows cost nothing */
            const LREAL *w = weight + (size_t)o * C;
            if (dx)
                for (int c = 0; c < C; c++) dx[c] += d * w[c];
            if (dweight) {
                LREAL *dw = dweight + (size_t)o * C;
                for (int c = 0; c < C; c++) dw[c] += d * x[c];
            }
            if (dbias) dbias[o] += d;
        }
    }
}

/* ---- GELU, the exact (erf) form, PyTorch's nn.GELU() default ---------------
 * out = x/2 · (1 + erf(x/√2)); d/dx = (1 + erf(x/√2))/2 + x·φ(x), φ the
 * standard normal density. */
#ifdef LGELU_FORWARD
LAPI void LFN(gelu_forward)(LREAL *out, const LREAL *inp, size_t n) { LGELU_FORWARD(out, inp, n); }
LAPI void LFN(gelu_backward)(LREAL *dinp, const LREAL *inp, const LREAL *dout, size_t n)
{
    LGELU_BACKWARD(dinp, inp, dout, n);
}
#else
LAPI void LFN(gelu_forward)(LREAL *out, const LREAL *inp, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        LREAL x = inp[i];
        out[i] = (LREAL)0.5 * x * (1 + LERF(x * (LREAL)0.70710678118654752440));
    }
}

LAPI void LFN(gelu_backward)(LREAL *dinp, const LREAL *inp, const LREAL *dout, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        LREAL x = inp[i];
        LREAL cdf = (LREAL)0.5 * (1 + LERF(x * (LREAL)0.70710678118654752440));
        LREAL pdf = LEXP((LREAL)-0.5 * x * x) * (LREAL)0.39894228040143267794;
        dinp[i] += dout[i] * (cdf + x * pdf);
    }
}
#endif

/* ---- dropout (inverted: kept values are scaled by 1/(1-p) while training) --
 * mask[n] receives the factor each value was multiplied by (0 or 1/(1-p)),
 * drawn from `uniform` (n values in [0,1), the caller's seeded stream), so
 * the backward is dinp += dout · mask. p = 0 copies. */
LAPI void LFN(dropout_forward)(LREAL *out, LREAL *mask, const LREAL *inp, const float *uniform, size_t n, LREAL p)
{
    LREAL keep = p < 1 ? 1 / (1 - p) : 0;
    for (size_t i = 0; i < n; i++) {
        LREAL m = p > 0 ? ((LREAL)uniform[i] >= p ? keep : 0) : 1;
        mask[i] = m;
        out[i] = inp[i] * m;
    }
}

LAPI void LFN(dropout_backward)(LREAL *dinp, const LREAL *mask, const LREAL *dout, size_t n)
{
    for (size_t i = 0; i < n; i++) dinp[i] += dout[i] * mask[i];
}

/* ---- layer norm over rows: out[B,C] = (x - mean)·rstd·weight + bias --------
 * Biased variance and eps inside the root, as torch. mean[B] and rstd[B]
 * are kept for the backward. */
LAPI void LFN(layernorm_forward)(LREAL *out, LREAL *mean, LREAL *rstd, const LREAL *inp, const LREAL *weight,
                                 const LREAL *bias, int B, int C, LREAL eps)
{
    for (int b = 0; b < B; b++) {
        const LREAL *x = inp + (size_t)b * C;
        LREAL *y = out + (size_t)b * C;
        LREAL m = 0;
        for (int c = 0; c < C; c++) m += x[c];
        m /= C;
        LREAL v = 0;
        for (int c = 0; c < C; c++) v += (x[c] - m) * (x[c] - m);
        v /= C;
        LREAL r = 1 / LSQRT(v + eps);
        for (int c = 0; c < C; c++) y[c] = (x[c] - m) * r * weight[c] + bias[c];
        mean[b] = m;
        rstd[b] = r;
    }
}

/* With n = (x - mean)·rstd and g = dout·weight:
 * dx = rstd · (g - mean(g) - n · mean(g·n)); dweight += dout·n; dbias += dout. */
LAPI void LFN(layernorm_backward)(LREAL *dinp, LREAL *dweight, LREAL *dbias, const LREAL *dout, const LREAL *inp,
                                  const LREAL *weight, const LREAL *mean, const LREAL *rstd, int B, int C)
{
    for (int b = 0; b < B; b++) {
        const LREAL *x = inp + (size_t)b * C;
        const LREAL *dy = dout + (size_t)b * C;
        LREAL *dx = dinp + (size_t)b * C;
        LREAL m = mean[b], r = rstd[b];
        LREAL gmean = 0, gnmean = 0;
        for (int c = 0; c < C; c++) {
            LREAL n = (x[c] - m) * r, g = dy[c] * weight[c];
            gmean += g;
            gnmean += g * n;
        }
        gmean /= C;
        gnmean /= C;
        for (int c = 0; c < C; c++) {
            LREAL n = (x[c] - m) * r, g = dy[c] * weight[c];
            dx[c] += r * (g - gmean - n * gnmean);
            dweight[c] += dy[c] * n;
            dbias[c] += dy[c];
        }
    }
}

/* ---- softmax over rows: out[B,V] = exp(x - max) / sum -----------------------
 * For the gates of the `gated` fusion. Backward: dx = y · (dy - sum(dy·y)). */
/* One row: y = softmax(x); returns log Σ exp(x) (= max + log of the sum the
 * division used), so that cross-entropy needs no second pass of exp. */
#ifdef LSOFTMAX_ROW
static LREAL LFN(softmax_row)(LREAL *y, const LREAL *x, int V) { return LSOFTMAX_ROW(y, x, V); }
#else
static LREAL LFN(softmax_row)(LREAL *y, const LREAL *x, int V)
{
    LREAL mx = x[0];
    for (int v = 1; v < V; v++)
        if (x[v] > mx) mx = x[v];
    LREAL s = 0;
    for (int v = 0; v < V; v++) s += (y[v] = LEXP(x[v] - mx));
    for (int v = 0; v < V; v++) y[v] /= s;
    return mx + LLOG(s);
}
#endif

LAPI void LFN(softmax_forward)(LREAL *out, const LREAL *inp, int B, int V)
{
    for (int b = 0; b < B; b++) LFN(softmax_row)(out + (size_t)b * V, inp + (size_t)b * V, V);
}

LAPI void LFN(softmax_backward)(LREAL *dinp, const LREAL *out, const LREAL *dout, int B, int V)
{
    for (int b = 0; b < B; b++) {
        const LREAL *y = out + (size_t)b * V, *dy = dout + (size_t)b * V;
        LREAL *dx = dinp + (size_t)b * V;
        LREAL s = 0;
        for (int v = 0; v < V; v++) s += dy[v] * y[v];
        for (int v = 0; v < V; v++) dx[v] += y[v] * (dy[v] - s);
    }
}

/* ---- softmax cross-entropy: loss = mean_b -log softmax(logits[b])[target[b]]
 * probs[B,V] are kept for the backward. A target < 0 marks a row that does
 * not count (padding; the mean is over the counted rows). Returns the mean
 * loss (0 if no row counts). */
LAPI LREAL LFN(crossentropy_forward)(LREAL *probs, const LREAL *logits, const int *targets, int B, int V)
{
    LREAL total = 0;
    int counted = 0;
    for (int b = 0; b < B; b++) {
        const LREAL *x = logits + (size_t)b * V;
        LREAL lse = LFN(softmax_row)(probs + (size_t)b * V, x, V);
        if (targets[b] < 0) continue;
        /* -log p computed as logsumexp - x_t, which stays finite where p
         * underflows to 0 */
        total += lse - x[targets[b]];
        counted++;
    }
    return counted ? total / counted : 0;
}

/* dlogits[B,V] += scale · (probs - onehot(target)) / counted rows; scale is
 * the loss weight (1 alone). */
LAPI void LFN(crossentropy_backward)(LREAL *dlogits, const LREAL *probs, const int *targets, int B, int V,
                                     LREAL scale)
{
    int counted = 0;
    for (int b = 0; b < B; b++) counted += targets[b] >= 0;
    if (!counted) return;
    LREAL k = scale / counted;
    for (int b = 0; b < B; b++) {
        if (targets[b] < 0) continue;
        const LREAL *p = probs + (size_t)b * V;
        LREAL *d = dlogits + (size_t)b * V;
        for (int v = 0; v < V; v++) d[v] += k * (p[v] - (v == targets[b]));
    }
}

/* ---- sigmoid binary cross-entropy on logits, mean over all n values --------
 * loss_i = max(x,0) - x·y + log(1 + exp(-|x|)) (torch's BCEWithLogitsLoss,
 * stable for any x); d/dx = sigmoid(x) - y. */
LAPI LREAL LFN(bce_forward)(const LREAL *logits, const LREAL *targets, size_t n)
{
    LREAL total = 0;
    for (size_t i = 0; i < n; i++) {
        LREAL x = logits[i];
        total += (x > 0 ? x : 0) - x * targets[i] + LLOG(1 + LEXP(-LFABS(x)));
    }
    return n ? total / (LREAL)n : 0;
}

LAPI void LFN(bce_backward)(LREAL *dlogits, const LREAL *logits, const LREAL *targets, size_t n, LREAL scale)
{
    for (size_t i = 0; i < n; i++) {
        LREAL x = logits[i];
        LREAL s = x >= 0 ? 1 / (1 + LEXP(-x)) : LEXP(x) / (1 + LEXP(x));
        dlogits[i] += scale * (s - targets[i]) / (LREAL)n;
    }
}

/* ---- mean squared error over n values: mean (x - y)^2 ----------------------*/
LAPI LREAL LFN(mse_forward)(const LREAL *pred, const LREAL *targets, size_t n)
{
    LREAL total = 0;
    for (size_t i = 0; i < n; i++) total += (pred[i] - targets[i]) * (pred[i] - targets[i]);
    return n ? total / (LREAL)n : 0;
}

LAPI void LFN(mse_backward)(LREAL *dpred, const LREAL *pred, const LREAL *targets, size_t n, LREAL scale)
{
    for (size_t i = 0; i < n; i++) dpred[i] += scale * 2 * (pred[i] - targets[i]) / (LREAL)n;
}

/* ---- multi-head self-attention (no mask: every token sees every token) ----
 * qkv[B,T,3C] is the output of the input projection: per token, q (C values),
 * then k, then v, as torch's nn.MultiheadAttention in_proj. Head h owns the
 * dims [h·hs, (h+1)·hs) of each, hs = C/NH.
 *   att[B,NH,T,T] = softmax_t2(q_t · k_t2 / √hs)   (kept for the backward)
 *   out[B,T,C]: out_t[h] = Σ_t2 att[t,t2] · v_t2[h]
 * The output projection is a separate linear layer. */
LAPI void LFN(attention_forward)(LREAL *out, LREAL *att, const LREAL *qkv, int B, int T, int C, int NH)
{
    int hs = C / NH;
    LREAL scale = 1 / LSQRT((LREAL)hs);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const LREAL *q = qkv + ((size_t)b * T + t) * 3 * C + h * hs;
                LREAL *a = att + (((size_t)b * NH + h) * T + t) * T;
                LREAL mx = 0;
                for (int t2 = 0; t2 < T; t2++) {
                    const LREAL *k = qkv + ((size_t)b * T + t2) * 3 * C + C + h * hs;
                    LREAL s = 0;
                    for (int i = 0; i < hs; i++) s += q[i] * k[i];
                    s *= scale;
                    a[t2] = s;
                    if (t2 == 0 || s > mx) mx = s;
                }
                LREAL sum = 0;
                for (int t2 = 0; t2 < T; t2++) sum += (a[t2] = LEXP(a[t2] - mx));
                for (int t2 = 0; t2 < T; t2++) a[t2] /= sum;
                LREAL *y = out + ((size_t)b * T + t) * C + h * hs;
                for (int i = 0; i < hs; i++) y[i] = 0;
                for (int t2 = 0; t2 < T; t2++) {
                    const LREAL *v = qkv + ((size_t)b * T + t2) * 3 * C + 2 * C + h * hs;
                    for (int i = 0; i < hs; i++) y[i] += a[t2] * v[i];
                }
            }
}

/* With da[t2] = dout_t · v_t2 (per head):
 *   dv_t2 += att[t,t2] · dout_t
 *   dpre[t2] = att[t,t2] · (da[t2] - Σ_t3 att[t,t3] da[t3])   (softmax backward)
 *   dq_t += Σ dpre[t2] · k_t2 / √hs;  dk_t2 += dpre[t2] · q_t / √hs
 * dqkv[B,T,3C] accumulates. da is recomputed in a second pass instead of
 * being stored: T is a handful of tokens. */
LAPI void LFN(attention_backward)(LREAL *dqkv, const LREAL *dout, const LREAL *qkv, const LREAL *att, int B, int T,
                                  int C, int NH)
{
    int hs = C / NH;
    LREAL scale = 1 / LSQRT((LREAL)hs);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const LREAL *a = att + (((size_t)b * NH + h) * T + t) * T;
                const LREAL *dy = dout + ((size_t)b * T + t) * C + h * hs;
                const LREAL *q = qkv + ((size_t)b * T + t) * 3 * C + h * hs;
                LREAL *dq = dqkv + ((size_t)b * T + t) * 3 * C + h * hs;
                LREAL s = 0;
                for (int t2 = 0; t2 < T; t2++) {
                    const LREAL *v = qkv + ((size_t)b * T + t2) * 3 * C + 2 * C + h * hs;
                    LREAL da = 0;
                    for (int i = 0; i < hs; i++) da += dy[i] * v[i];
                    s += a[t2] * da;
                }
                for (int t2 = 0; t2 < T; t2++) {
                    size_t row = ((size_t)b * T + t2) * 3 * C;
                    const LREAL *k = qkv + row + C + h * hs, *v = qkv + row + 2 * C + h * hs;
                    LREAL *dk = dqkv + row + C + h * hs, *dv = dqkv + row + 2 * C + h * hs;
                    LREAL da = 0;
                    for (int i = 0; i < hs; i++) da += dy[i] * v[i];
                    LREAL dpre = a[t2] * (da - s) * scale;
                    for (int i = 0; i < hs; i++) {
                        dv[i] += a[t2] * dy[i];
                        dq[i] += dpre * k[i];
                        dk[i] += dpre * q[i];
                    }
                }
            }
}
