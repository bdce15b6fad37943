/* xoshiro256** (Blackman & Vigna), seeded through splitmix64: small, fast and
   the same on every platform, so a seed means the same run everywhere. */
#include "internal.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void kmq_rng_seed(kmq_rng *r, uint64_t seed, uint64_t stream)
{
    /* Each restart gets its own stream, so restarts never share numbers. */
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t kmq_rng_next(kmq_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double kmq_rng_uniform(kmq_rng *r)
{
    return (double)(kmq_rng_next(r) >> 11) * 0x1.0p-53;
}
