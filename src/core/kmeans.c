/* Lloyd's algorithm on weighted distinct colours, accelerated but exact, and
 * the uint8 finalisation.
 *
 * Exactness.  Every label is the nearest centre as a plain Lloyd step would
 * compute it: the same squared-distance formula, lowest index on ties.  The
 * shortcuts only ever skip work when the triangle inequality proves, with a
 * safety margin far above rounding error, that the skipped centre is
 * strictly farther:
 *  - Hamerly's bounds: per colour an upper bound u on the distance to its
 *    centre and a lower bound l on the distance to every other centre,
 *    moved by the centres' drift each iteration; if u < max(l, s/2), where s
 *    is the distance from its centre to the nearest other centre, the label
 *    cannot change and the colour costs nothing.
 *  - Sort-means (Phillips 2002): otherwise the other centres are tried in
 *    order of their distance from the current centre a, stopping at the
 *    first one with d(c_a, c_j) > 2 d(x, c_a): it and all after it are
 *    farther than c_a.
 * Cluster sums are 64-bit integers (count * channel value), updated only
 * for colours whose label changed, so the centres equal those of a
 * pixel-by-pixel Lloyd step bit for bit, whatever the thread count. */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* A bound proves "strictly farther" only past this margin (distances are at
   most 510; double rounding error here is below 1e-12). */
#define MARGIN(v) (1e-9 + 1e-9 * (v))

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

/* ---- centre-to-centre distances, sorted per centre ---- */

typedef struct {
    int k;
    double *cc;      /* k*k distances */
    uint8_t *order;  /* row a: the other k-1 centres by ascending cc[a][.] */
    double *half;    /* half the distance from each centre to its nearest other */
    int sorted_once;
} neighbours;

static int nb_alloc(neighbours *nb, int k)
{
    nb->k = k;
    nb->sorted_once = 0;
    nb->cc = malloc((size_t)k * k * sizeof *nb->cc);
    nb->order = malloc((size_t)k * (k > 1 ? k - 1 : 1));
    nb->half = malloc((size_t)k * sizeof *nb->half);
    return nb->cc && nb->order && nb->half;
}

static void nb_free(neighbours *nb)
{
    free(nb->cc), free(nb->order), free(nb->half);
}

static _Thread_local const double *sort_row; /* qsort has no context argument */
static int cmp_by_row(const void *a, const void *b)
{
    double x = sort_row[*(const uint8_t *)a], y = sort_row[*(const uint8_t *)b];
    if (x != y)
        return x < y ? -1 : 1;
    return (int)*(const uint8_t *)a - (int)*(const uint8_t *)b;
}

static void nb_update(neighbours *nb, const double *centres, int C)
{
    const int k = nb->k;
    for (int a = 0; a < k; a++) {
        nb->cc[(size_t)a * k + a] = 0;
        for (int b = a + 1; b < k; b++) {
            double d2 = 0;
            for (int c = 0; c < C; c++) {
                double t = centres[(size_t)a * C + c] - centres[(size_t)b * C + c];
                d2 += t * t;
            }
            double d = sqrt(d2);
            nb->cc[(size_t)a * k + b] = nb->cc[(size_t)b * k + a] = d;
        }
    }
    for (int a = 0; a < k; a++) {
        uint8_t *ord = nb->order + (size_t)a * (k - 1);
        const double *row = nb->cc + (size_t)a * k;
        if (!nb->sorted_once) {
            int m = 0;
            for (int b = 0; b < k; b++)
                if (b != a)
                    ord[m++] = (uint8_t)b;
            sort_row = row;
            qsort(ord, (size_t)(k - 1), 1, cmp_by_row);
        } else {
            /* Centres move a little per iteration: insertion sort is ~linear. */
            for (int i = 1; i < k - 1; i++) {
                uint8_t v = ord[i];
                double dv = row[v];
                int j = i - 1;
                while (j >= 0 && (row[ord[j]] > dv || (row[ord[j]] == dv && ord[j] > v))) {
                    ord[j + 1] = ord[j];
                    j--;
                }
                ord[j + 1] = v;
            }
        }
        nb->half[a] = k > 1 ? 0.5 * row[ord[0]] : INFINITY;
    }
    nb->sorted_once = 1;
}

static inline double dist2(const double *x, const double *c, int C)
{
    /* The same operations, in the same order, as a plain Lloyd step. */
    double t = x[0] - c[0];
    double d = t * t;
    for (int i = 1; i < C; i++) {
        t = x[i] - c[i];
        d += t * t;
    }
    return d;
}

/* Nearest centre to x, starting from centre a (sort-means).  Returns it and
   sets *u to the distance to it and *l to a lower bound on the distance to
   every other centre. */
static int search(const double *x, int C, const double *centres, const neighbours *nb, int a,
                  double *u, double *l)
{
    const int k = nb->k;
    double best_d2 = dist2(x, centres + (size_t)a * C, C);
    double ua = sqrt(best_d2);
    double second_d2 = INFINITY, stop = INFINITY;
    int best = a;
    const uint8_t *ord = nb->order + (size_t)a * (k - 1);
    const double *row = nb->cc + (size_t)a * k;
    const double limit = 2 * ua + MARGIN(ua);
    for (int i = 0; i < k - 1; i++) {
        int j = ord[i];
        if (row[j] > limit) {
            stop = row[j] - ua; /* every centre from here on is at least this far */
            break;
        }
        double d2 = dist2(x, centres + (size_t)j * C, C);
        if (d2 < best_d2 || (d2 == best_d2 && j < best)) {
            second_d2 = best_d2;
            best_d2 = d2;
            best = j;
        } else if (d2 < second_d2) {
            second_d2 = d2;
        }
    }
    *u = sqrt(best_d2);
    double s = sqrt(second_d2);
    *l = s < stop ? s : stop;
    return best;
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

/* Squared distance of every colour to its labelled centre, and the inertia
   summed chunk by chunk in a fixed order. */
static double label_distances(const kmq_histogram *h, const double *centres, const uint8_t *labels,
                              double *dist)
{
    const int C = h->channels;
    double total = 0;
    for (size_t ch = 0; ch < h->n; ch += KMQ_CHUNK) {
        size_t end = ch + KMQ_CHUNK < h->n ? ch + KMQ_CHUNK : h->n;
        double part = 0;
        for (size_t i = ch; i < end; i++) {
            double x[KMQ_MAX_CHANNELS];
            kmq_unpack_d(h->keys[i], C, x);
            double d = dist2(x, centres + (size_t)labels[i] * C, C);
            if (dist)
                dist[i] = d;
            part += d * h->counts[i];
        }
        total += part;
    }
    return total;
}

int kmq_lloyd(const kmq_histogram *h, int k, double *centres, int max_iter, double tol_abs,
              int threads, uint8_t *labels, double *inertia_history)
{
    const int C = h->channels;
    const size_t n = h->n;
    const size_t nchunks = (n + KMQ_CHUNK - 1) / KMQ_CHUNK;
    const int nt = kmq_threads(threads);
    const size_t kc = (size_t)k * C;
    const size_t acc_len = kc + k; /* per-thread signed deltas: sums then weights */

    double *up = malloc(n * sizeof *up), *lo = malloc(n * sizeof *lo);
    double *old = malloc(kc * sizeof *old), *drift = malloc((size_t)k * sizeof *drift);
    int64_t *acc = malloc((size_t)nt * acc_len * sizeof *acc);
    uint64_t *sums = calloc(acc_len, sizeof *sums);     /* by current labels */
    uint64_t *tmp = malloc(acc_len * sizeof *tmp);      /* with relocations */
    double *dist = NULL;
    neighbours nb;
    int ok = nb_alloc(&nb, k);
    if (!up || !lo || !old || !drift || !acc || !sums || !tmp || !ok) {
        free(up), free(lo), free(old), free(drift), free(acc), free(sums), free(tmp);
        nb_free(&nb);
        return -1;
    }
    uint64_t *weights = sums + kc, *tmp_w = tmp + kc;
    for (size_t i = 0; i < n; i++)
        if (labels[i] >= k)
            labels[i] = 0; /* a hint out of range is no hint */

    int it;
    double max_drift = 0, max_drift2 = 0;
    int max_drift_at = -1;
    for (it = 1; it <= max_iter; it++) {
        nb_update(&nb, centres, C);
        size_t changed = 0;
        memset(acc, 0, (size_t)nt * acc_len * sizeof *acc);
#pragma omp parallel num_threads(nt) reduction(+ : changed) if (nchunks > 1)
        {
            int64_t *my = acc + (size_t)thread_id() * acc_len;
            int64_t *my_w = my + kc;
#pragma omp for schedule(dynamic, 1)
            for (size_t ch = 0; ch < nchunks; ch++) {
                size_t end = ch * KMQ_CHUNK + KMQ_CHUNK < n ? ch * KMQ_CHUNK + KMQ_CHUNK : n;
                for (size_t i = ch * KMQ_CHUNK; i < end; i++) {
                    int a = labels[i];
                    double x[KMQ_MAX_CHANNELS], u = 0, l = 0, m = 0;
                    if (it > 1) {
                        u = up[i] + drift[a];
                        l = lo[i] - (a == max_drift_at ? max_drift2 : max_drift);
                        m = l > nb.half[a] ? l : nb.half[a];
                        if (u + MARGIN(u) < m) {
                            up[i] = u, lo[i] = l;
                            continue;
                        }
                    }
                    kmq_unpack_d(h->keys[i], C, x);
                    if (it > 1) { /* tighten u; the bounds may now suffice */
                        u = sqrt(dist2(x, centres + (size_t)a * C, C));
                        if (u + MARGIN(u) < m) {
                            up[i] = u, lo[i] = l;
                            continue;
                        }
                    }
                    int b = search(x, C, centres, &nb, a, &u, &l);
                    up[i] = u, lo[i] = l;
                    if (it == 1) {
                        changed++;
                        labels[i] = (uint8_t)b;
                        uint64_t cnt = h->counts[i];
                        for (int c = 0; c < C; c++)
                            my[(size_t)b * C + c] += (int64_t)(cnt * (uint64_t)x[c]);
                        my_w[b] += (int64_t)cnt;
                    } else if (b != a) {
                        changed++;
                        labels[i] = (uint8_t)b;
                        int64_t cnt = h->counts[i];
                        for (int c = 0; c < C; c++) {
                            int64_t v = cnt * (int64_t)x[c];
                            my[(size_t)a * C + c] -= v;
                            my[(size_t)b * C + c] += v;
                        }
                        my_w[a] -= cnt;
                        my_w[b] += cnt;
                    }
                }
            }
        }
        /* Integer deltas: merge order does not matter. */
        for (int t = 0; t < nt; t++)
            for (size_t i = 0; i < acc_len; i++)
                sums[i] += (uint64_t)acc[(size_t)t * acc_len + i];

        int any_empty = 0;
        for (int j = 0; j < k; j++)
            any_empty |= weights[j] == 0;
        if (inertia_history || any_empty) {
            if (any_empty && !dist && !(dist = malloc(n * sizeof *dist))) {
                it = -1;
                break;
            }
            double inertia = label_distances(h, centres, labels, any_empty ? dist : NULL);
            if (inertia_history)
                inertia_history[it - 1] = inertia;
        }
        memcpy(tmp, sums, acc_len * sizeof *sums);
        if (any_empty)
            relocate_empty(h, k, labels, dist, tmp, tmp_w);

        memcpy(old, centres, kc * sizeof *old);
        double shift = 0;
        for (int j = 0; j < k; j++) {
            if (!tmp_w[j])
                continue; /* keeps its centre */
            for (int c = 0; c < C; c++) {
                double v = (double)tmp[(size_t)j * C + c] / (double)tmp_w[j];
                double t = v - centres[(size_t)j * C + c];
                shift += t * t;
                centres[(size_t)j * C + c] = v;
            }
        }
        /* How far each centre moved, for the bounds of the next iteration. */
        max_drift = max_drift2 = 0;
        max_drift_at = -1;
        for (int j = 0; j < k; j++) {
            double d = sqrt(dist2(centres + (size_t)j * C, old + (size_t)j * C, C));
            drift[j] = d + MARGIN(d);
            if (drift[j] > max_drift) {
                max_drift2 = max_drift;
                max_drift = drift[j];
                max_drift_at = j;
            } else if (drift[j] > max_drift2) {
                max_drift2 = drift[j];
            }
        }
        if (it > 1 && changed == 0)
            break; /* labels stable: centres cannot move any more */
        if (shift <= tol_abs)
            break;
    }
    if (it > max_iter)
        it = max_iter;
    free(up), free(lo), free(old), free(drift), free(acc), free(sums), free(tmp), free(dist);
    nb_free(&nb);
    return it;
}

kmq_status kmq_finalise(const kmq_histogram *h, int k, const double *centres, int threads,
                        uint8_t *entries, uint8_t *labels, uint64_t *inertia_out)
{
    const int C = h->channels;
    const size_t n = h->n;
    double rounded[KMQ_MAX_K * KMQ_MAX_CHANNELS];
    for (int j = 0; j < k; j++)
        for (int c = 0; c < C; c++) {
            double v = centres[(size_t)j * C + c] + 0.5;
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            entries[(size_t)j * C + c] = (uint8_t)v; /* truncation of x+0.5 = rounding */
            rounded[(size_t)j * C + c] = entries[(size_t)j * C + c];
        }
    neighbours nb;
    if (!nb_alloc(&nb, k)) {
        nb_free(&nb);
        return KMQ_ERR_NOMEM;
    }
    nb_update(&nb, rounded, C);
    uint64_t inertia = 0;
    const int nt = kmq_threads(threads);
#pragma omp parallel for num_threads(nt) schedule(dynamic, KMQ_CHUNK) reduction(+ : inertia) if (n > KMQ_CHUNK)
    for (size_t i = 0; i < n; i++) {
        double x[KMQ_MAX_CHANNELS], u, l;
        kmq_unpack_d(h->keys[i], C, x);
        int start = labels[i] < k ? labels[i] : 0; /* the float label is a good start */
        int best = search(x, C, rounded, &nb, start, &u, &l);
        labels[i] = (uint8_t)best;
        /* integer centres: the squared distance is an exact integer */
        inertia += (uint64_t)dist2(x, rounded + (size_t)best * C, C) * h->counts[i];
    }
    nb_free(&nb);
    *inertia_out = inertia;
    return KMQ_OK;
}
