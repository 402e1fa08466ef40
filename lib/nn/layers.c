/* layers.c — the float32 layers (bodies in layers_body.h). */
#include "nn/layers.h"

#include <math.h>

#define LREAL float
#define LFN(name) name
#define LAPI
#define LEXP expf
#define LLOG logf
#define LSQRT sqrtf
#define LERF erff
#define LFABS fabsf
#include "nn/layers_body.h"

void nn_rng_seed(nn_rng *r, uint64_t seed, uint64_t stream)
{
    r->s = seed ^ (stream * 0xD1B54A32D192ED03ull);
    (void)nn_rng_u64(r);
}

uint64_t nn_rng_u64(nn_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float nn_rng_uniform(nn_rng *r) { return (float)(nn_rng_u64(r) >> 40) * (1.0f / 16777216.0f); }

uint32_t nn_rng_below(nn_rng *r, uint32_t n)
{
    /* multiply-shift: the bias is below 2^-32 for any n we use */
    return (uint32_t)(((nn_rng_u64(r) >> 32) * (uint64_t)n) >> 32);
}
