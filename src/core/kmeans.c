/* Lloyd's algorithm on weighted distinct colours, and the uint8 finalisation.
 *
 * Cluster sums are kept as 64-bit integers (count * channel value), so the
 * new centres are exact and independent of the order in which points are
 * added: per-thread accumulators can be merged in any order and the result
 * equals a pixel-by-pixel Lloyd step bit for bit. */
#include "internal.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

int kmq_threads(int requested)
{
#ifdef _OPENMP
    return requested > 0 ? requested : omp_get_max_threads();
#else
    (void)requested;
    return 1;
#endif
}

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

int kmq_nearest(const double *x, int channels, const double *soa, int k, double *d)
{
    /* Channel by channel over all centres: each loop vectorises. */
    const double x0 = x[0];
    for (int j = 0; j < k; j++) {
        double t = x0 - soa[j];
        d[j] = t * t;
    }
    for (int c = 1; c < channels; c++) {
        const double xc = x[c];
        const double *s = soa + (size_t)c * k;
        for (int j = 0; j < k; j++) {
            double t = xc - s[j];
            d[j] += t * t;
        }
    }
    int best = 0;
    for (int j = 1; j < k; j++)
        if (d[j] < d[best])
            best = j;
    return best;
}

static void to_soa(const double *centres, int k, int channels, double *soa)
{
    for (int j = 0; j < k; j++)
        for (int c = 0; c < channels; c++)
            soa[(size_t)c * k + j] = centres[(size_t)j * channels + c];
}

double kmq_tolerance(const kmq_histogram *h, double tol)
{
    const int C = h->channels;
    double mean_var = 0;
    uint64_t w = 0;
    for (size_t i = 0; i < h->n; i++)
        w += h->counts[i];
    for (int c = 0; c < C; c++) {
        uint64_t s1 = 0, s2 = 0; /* exact: s2 < 2^32 pixels * 2^16 */
        for (size_t i = 0; i < h->n; i++) {
            uint64_t v = (h->keys[i] >> (8 * c)) & 0xFF;
            s1 += h->counts[i] * v;
            s2 += h->counts[i] * v * v;
        }
        double mean = (double)s1 / (double)w;
        double var = (double)s2 / (double)w - mean * mean;
        mean_var += var > 0 ? var : 0;
    }
    return tol * mean_var / C;
}

/* Moves each empty cluster to the colour farthest from its centre (ties:
   lowest key), taking that colour's pixels out of its old cluster. */
static void relocate_empty(const kmq_histogram *h, int k, const uint8_t *labels,
                           const double *dist, uint64_t *sums, uint64_t *weights)
{
    const int C = h->channels;
    uint8_t *taken = NULL;
    for (int j = 0; j < k; j++) {
        if (weights[j])
            continue;
        if (!taken && !(taken = calloc(h->n, 1)))
            return; /* no memory: the cluster keeps its old centre this round */
        size_t far = SIZE_MAX;
        double far_d = -1;
        for (size_t i = 0; i < h->n; i++)
            if (!taken[i] && dist[i] > far_d) {
                far_d = dist[i];
                far = i;
            }
        if (far == SIZE_MAX || far_d <= 0)
            break; /* every colour sits on its centre: nothing to gain */
        taken[far] = 1;
        int old = labels[far];
        uint64_t cnt = h->counts[far];
        for (int c = 0; c < C; c++) {
            uint64_t v = cnt * ((h->keys[far] >> (8 * c)) & 0xFF);
            sums[(size_t)old * C + c] -= v;
            sums[(size_t)j * C + c] = v;
        }
        weights[old] -= cnt;
        weights[j] = cnt;
    }
    free(taken);
}

int kmq_lloyd(const kmq_histogram *h, int k, double *centres, int max_iter, double tol_abs,
              int threads, uint8_t *labels, double *inertia_history)
{
    const int C = h->channels;
    const size_t n = h->n;
    const size_t nchunks = (n + KMQ_CHUNK - 1) / KMQ_CHUNK;
    const int nt = kmq_threads(threads);
    const size_t acc_len = (size_t)k * C + k; /* sums then weights */

    double *soa = malloc((size_t)k * C * sizeof *soa);
    double *dist = malloc(n * sizeof *dist);
    double *chunk_inertia = malloc(nchunks * sizeof *chunk_inertia);
    uint64_t *acc = malloc((size_t)nt * acc_len * sizeof *acc);
    uint64_t *sums = malloc(acc_len * sizeof *sums);
    if (!soa || !dist || !chunk_inertia || !acc || !sums) {
        free(soa), free(dist), free(chunk_inertia), free(acc), free(sums);
        return -1;
    }
    uint64_t *weights = sums + (size_t)k * C;

    int it = 0;
    for (it = 1; it <= max_iter; it++) {
        to_soa(centres, k, C, soa);
        size_t changed = 0;
        memset(acc, 0, (size_t)nt * acc_len * sizeof *acc);
#pragma omp parallel num_threads(nt) reduction(+ : changed) if (nchunks > 1)
        {
            uint64_t *my = acc + (size_t)thread_id() * acc_len;
            uint64_t *my_w = my + (size_t)k * C;
            double d[KMQ_MAX_K], x[KMQ_MAX_CHANNELS];
#pragma omp for schedule(dynamic, 1)
            for (size_t ch = 0; ch < nchunks; ch++) {
                size_t end = ch * KMQ_CHUNK + KMQ_CHUNK < n ? ch * KMQ_CHUNK + KMQ_CHUNK : n;
                double inertia = 0;
                for (size_t i = ch * KMQ_CHUNK; i < end; i++) {
                    kmq_unpack_d(h->keys[i], C, x);
                    int best = kmq_nearest(x, C, soa, k, d);
                    dist[i] = d[best];
                    inertia += d[best] * h->counts[i];
                    if (it == 1 || labels[i] != best)
                        changed++;
                    labels[i] = (uint8_t)best;
                    uint64_t cnt = h->counts[i];
                    for (int c = 0; c < C; c++)
                        my[(size_t)best * C + c] += cnt * ((h->keys[i] >> (8 * c)) & 0xFF);
                    my_w[best] += cnt;
                }
                chunk_inertia[ch] = inertia;
            }
        }
        /* Integer sums: merge order does not matter. */
        memset(sums, 0, acc_len * sizeof *sums);
        for (int t = 0; t < nt; t++)
            for (size_t i = 0; i < acc_len; i++)
                sums[i] += acc[(size_t)t * acc_len + i];
        if (inertia_history) {
            double total = 0;
            for (size_t ch = 0; ch < nchunks; ch++)
                total += chunk_inertia[ch];
            inertia_history[it - 1] = total;
        }
        relocate_empty(h, k, labels, dist, sums, weights);

        double shift = 0;
        for (int j = 0; j < k; j++) {
            if (!weights[j])
                continue; /* keeps its centre */
            for (int c = 0; c < C; c++) {
                double v = (double)sums[(size_t)j * C + c] / (double)weights[j];
                double t = v - centres[(size_t)j * C + c];
                shift += t * t;
                centres[(size_t)j * C + c] = v;
            }
        }
        if (it > 1 && changed == 0)
            break; /* labels stable: centres cannot move any more */
        if (shift <= tol_abs)
            break;
    }
    if (it > max_iter)
        it = max_iter;
    free(soa), free(dist), free(chunk_inertia), free(acc), free(sums);
    return it;
}

uint64_t kmq_finalise(const kmq_histogram *h, int k, const double *centres, int threads,
                      uint8_t *entries, uint8_t *labels)
{
    const int C = h->channels;
    const size_t n = h->n;
    double soa[KMQ_MAX_K * KMQ_MAX_CHANNELS];
    for (int j = 0; j < k; j++)
        for (int c = 0; c < C; c++) {
            double v = centres[(size_t)j * C + c] + 0.5;
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            entries[(size_t)j * C + c] = (uint8_t)v; /* truncation of x+0.5 = rounding */
            soa[(size_t)c * k + j] = entries[(size_t)j * C + c];
        }
    uint64_t inertia = 0;
    const int nt = kmq_threads(threads);
#pragma omp parallel for num_threads(nt) schedule(dynamic, KMQ_CHUNK) reduction(+ : inertia) if (n > KMQ_CHUNK)
    for (size_t i = 0; i < n; i++) {
        double d[KMQ_MAX_K], x[KMQ_MAX_CHANNELS];
        kmq_unpack_d(h->keys[i], C, x);
        int best = kmq_nearest(x, C, soa, k, d);
        labels[i] = (uint8_t)best;
        inertia += (uint64_t)d[best] * h->counts[i]; /* integer distances are exact */
    }
    return inertia;
}
