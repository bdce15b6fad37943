/* Internal interfaces of the core, shared by its files and the unit tests. */
#ifndef KMQ_INTERNAL_H
#define KMQ_INTERNAL_H

#include "kmq.h"

#include <stdint.h>

/* ---- checked size arithmetic ---- */
static inline int kmq_mul_overflows(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

/* ---- random numbers: xoshiro256** seeded through splitmix64 ---- */
typedef struct { uint64_t s[4]; } kmq_rng;
void kmq_rng_seed(kmq_rng *r, uint64_t seed, uint64_t stream);
uint64_t kmq_rng_next(kmq_rng *r);
double kmq_rng_uniform(kmq_rng *r); /* [0, 1) with 53 random bits */

/* ---- histogram: the distinct colours of an image and their pixel counts ---- */
typedef struct {
    int channels;
    size_t n;          /* distinct colours */
    uint32_t *keys;    /* packed colours (channel c in bits 8c..8c+7), ascending */
    uint32_t *counts;  /* pixels of each colour */
    /* open-addressing index from key to position in keys[] */
    uint32_t *slot_key;
    uint32_t *slot_val; /* position + 1; 0 = empty slot */
    size_t mask;
} kmq_histogram;

kmq_status kmq_histogram_build(const uint8_t *pixels, size_t npixels, int channels,
                               kmq_histogram *h);
void kmq_histogram_free(kmq_histogram *h);
uint32_t kmq_pack(const uint8_t *px, int channels);
/* Position of a colour in h->keys; the colour must be present. */
size_t kmq_histogram_find(const kmq_histogram *h, uint32_t key);

/* ---- k-means on the weighted distinct colours ---- */

/* Squared-centre-shift threshold: tol * mean per-channel variance of the pixels. */
double kmq_tolerance(const kmq_histogram *h, double tol);

/* Initial centres (k * channels doubles) by k-means++ (scikit-learn's greedy
   variant) or by k distinct colours drawn by weight without replacement.
   Needs h->n >= k.  k-means++ also writes each colour's nearest initial
   centre to `nearest` (h->n bytes) when it is not NULL: a head start for
   the first Lloyd assignment. */
kmq_status kmq_init_kmeanspp(const kmq_histogram *h, int k, kmq_rng *rng, int threads,
                             double *centres, uint8_t *nearest);
kmq_status kmq_init_random(const kmq_histogram *h, int k, kmq_rng *rng, double *centres);

/*
 * Lloyd's algorithm from the given centres (k * channels, updated in place).
 * Stops after max_iter iterations, when no label changes, or when the total
 * squared centre shift is <= tol_abs.  An empty cluster takes the colour that
 * is farthest from its centre (ties: lowest key), with all its pixels.
 * labels (h->n bytes): on entry a guess of each colour's nearest centre (any
 * value; a good guess saves time, never changes the result), on return each
 * colour's cluster in the last assignment.
 * inertia_history, if not NULL, receives the inertia of each assignment step
 * (max_iter entries).  Returns the iterations run, or -1 if out of memory.
 */
int kmq_lloyd(const kmq_histogram *h, int k, double *centres, int max_iter, double tol_abs,
              int threads, uint8_t *labels, double *inertia_history);

/* Rounds centres to uint8 entries and labels every colour with the nearest
   entry (lowest index on ties), starting the search from the label it has;
   *inertia receives the exact integer inertia. */
kmq_status kmq_finalise(const kmq_histogram *h, int k, const double *centres, int threads,
                        uint8_t *entries, uint8_t *labels, uint64_t *inertia);

/* ---- shared by the k-means files ---- */
/* Points are processed in fixed chunks so that floating-point partial sums
   are always added in the same order, whatever the thread count. */
#define KMQ_CHUNK 4096
int kmq_threads(int requested); /* 0 = all cores; 1 without OpenMP */
/* Unpacks colour key into doubles x[0..channels-1]. */
static inline void kmq_unpack_d(uint32_t key, int channels, double *x)
{
    for (int c = 0; c < channels; c++)
        x[c] = (double)((key >> (8 * c)) & 0xFF);
}
/* Squared distances from x to the k centres given channel-major (soa[c*k+j])
   into d[0..k-1]; returns the index of the nearest (lowest on ties). */
int kmq_nearest(const double *x, int channels, const double *soa, int k, double *d);

#endif
