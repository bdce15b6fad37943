/* Seeding: scikit-learn's greedy k-means++ and weighted random colours. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void set_centre(const kmq_histogram *h, size_t i, double *centre)
{
    kmq_unpack_d(h->keys[i], h->channels, centre);
}

static double sqdist_key(uint32_t key, const double *centre, int C)
{
    double d = 0;
    for (int c = 0; c < C; c++) {
        double t = (double)((key >> (8 * c)) & 0xFF) - centre[c];
        d += t * t;
    }
    return d;
}

/* First index whose running sum of weight * min_dist exceeds r. */
static size_t sample_by_potential(const kmq_histogram *h, const double *min_dist, double r)
{
    double run = 0;
    for (size_t i = 0; i < h->n; i++) {
        run += h->counts[i] * min_dist[i];
        if (run > r)
            return i;
    }
    /* r is within rounding of the total: take the last colour with mass. */
    for (size_t i = h->n; i-- > 0;)
        if (min_dist[i] > 0)
            return i;
    return h->n - 1;
}

kmq_status kmq_init_kmeanspp(const kmq_histogram *h, int k, kmq_rng *rng, int threads,
                             double *centres)
{
    const int C = h->channels;
    const size_t n = h->n;
    const size_t nchunks = (n + KMQ_CHUNK - 1) / KMQ_CHUNK;
    const int trials = 2 + (int)log((double)k);
    const int nt = kmq_threads(threads);
    double *min_dist = malloc(n * sizeof *min_dist);
    double *partial = malloc(nchunks * sizeof *partial);
    if (!min_dist || !partial) {
        free(min_dist), free(partial);
        return KMQ_ERR_NOMEM;
    }

    /* First centre: a colour drawn with probability proportional to its pixels. */
    uint64_t total_w = 0;
    for (size_t i = 0; i < n; i++)
        total_w += h->counts[i];
    double r = kmq_rng_uniform(rng) * (double)total_w;
    size_t first = n - 1;
    double run = 0;
    for (size_t i = 0; i < n; i++) {
        run += h->counts[i];
        if (run > r) {
            first = i;
            break;
        }
    }
    set_centre(h, first, centres);
    double pot = 0;
    for (size_t i = 0; i < n; i++) {
        min_dist[i] = sqdist_key(h->keys[i], centres, C);
        pot += h->counts[i] * min_dist[i];
    }

    size_t cand[32];
    for (int j = 1; j < k; j++) {
        /* Draw `trials` candidates by D^2 weighting, keep the one whose
           addition lowers the potential most (first on ties). */
        for (int t = 0; t < trials; t++)
            cand[t] = sample_by_potential(h, min_dist, kmq_rng_uniform(rng) * pot);
        int best_t = 0;
        double best_pot = INFINITY;
        for (int t = 0; t < trials; t++) {
            double cc[KMQ_MAX_CHANNELS];
            set_centre(h, cand[t], cc);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nchunks > 1)
            for (size_t ch = 0; ch < nchunks; ch++) {
                size_t end = ch * KMQ_CHUNK + KMQ_CHUNK < n ? ch * KMQ_CHUNK + KMQ_CHUNK : n;
                double s = 0;
                for (size_t i = ch * KMQ_CHUNK; i < end; i++) {
                    double d = sqdist_key(h->keys[i], cc, C);
                    s += h->counts[i] * (d < min_dist[i] ? d : min_dist[i]);
                }
                partial[ch] = s;
            }
            double p = 0; /* summed in chunk order: the same for any thread count */
            for (size_t ch = 0; ch < nchunks; ch++)
                p += partial[ch];
            if (p < best_pot) {
                best_pot = p;
                best_t = t;
            }
        }
        double *centre = centres + (size_t)j * C;
        set_centre(h, cand[best_t], centre);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nchunks > 1)
        for (size_t ch = 0; ch < nchunks; ch++) {
            size_t end = ch * KMQ_CHUNK + KMQ_CHUNK < n ? ch * KMQ_CHUNK + KMQ_CHUNK : n;
            double s = 0;
            for (size_t i = ch * KMQ_CHUNK; i < end; i++) {
                double d = sqdist_key(h->keys[i], centre, C);
                if (d < min_dist[i])
                    min_dist[i] = d;
                s += h->counts[i] * min_dist[i];
            }
            partial[ch] = s;
        }
        pot = 0;
        for (size_t ch = 0; ch < nchunks; ch++)
            pot += partial[ch];
    }
    free(min_dist), free(partial);
    return KMQ_OK;
}

kmq_status kmq_init_random(const kmq_histogram *h, int k, kmq_rng *rng, double *centres)
{
    /* k distinct colours, each draw proportional to the pixels not yet drawn. */
    const size_t n = h->n;
    uint8_t *taken = calloc(n, 1);
    if (!taken)
        return KMQ_ERR_NOMEM;
    uint64_t left = 0;
    for (size_t i = 0; i < n; i++)
        left += h->counts[i];
    for (int j = 0; j < k; j++) {
        double r = kmq_rng_uniform(rng) * (double)left;
        size_t pick = SIZE_MAX, last = SIZE_MAX;
        double run = 0;
        for (size_t i = 0; i < n; i++) {
            if (taken[i])
                continue;
            last = i;
            run += h->counts[i];
            if (run > r) {
                pick = i;
                break;
            }
        }
        if (pick == SIZE_MAX)
            pick = last; /* r rounded up to the total */
        taken[pick] = 1;
        left -= h->counts[pick];
        set_centre(h, pick, centres + (size_t)j * h->channels);
    }
    free(taken);
    return KMQ_OK;
}
