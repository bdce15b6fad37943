/* Seeding: scikit-learn's greedy k-means++ and weighted random colours.
 *
 * k-means++ costs k * candidates * colours distance updates when done
 * plainly.  Here every colour belongs to its nearest chosen centre and each
 * centre keeps the list of its colours, their potential (sum of weight *
 * squared distance) and their largest squared distance R².  A candidate c
 * can only take colours from a centre j when d(c, c_j) < 2R_j (triangle
 * inequality), so a candidate's gain, and the update when it is chosen,
 * visit only the few clusters near it.  D² sampling picks a cluster by its
 * potential, then a colour within it: the same distribution as the flat
 * draw. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static inline double dist2_key(uint32_t key, const double *c, int C)
{
    double t = (double)(key & 0xFF) - c[0];
    double d = t * t;
    for (int i = 1; i < C; i++) {
        t = (double)((key >> (8 * i)) & 0xFF) - c[i];
        d += t * t;
    }
    return d;
}

typedef struct {
    uint32_t *idx; /* colours owned by this centre */
    size_t len, cap;
    double pot;    /* sum of count * min_dist over them */
    double r2;     /* largest min_dist among them */
} cluster;

static int push(cluster *cl, uint32_t i)
{
    if (cl->len == cl->cap) {
        size_t cap = cl->cap ? cl->cap * 2 : 64;
        uint32_t *p = realloc(cl->idx, cap * sizeof *p);
        if (!p)
            return 0;
        cl->idx = p;
        cl->cap = cap;
    }
    cl->idx[cl->len++] = i;
    return 1;
}

static void summarise(cluster *cl, const kmq_histogram *h, const double *min_dist)
{
    double pot = 0, r2 = 0;
    for (size_t t = 0; t < cl->len; t++) {
        uint32_t i = cl->idx[t];
        pot += h->counts[i] * min_dist[i];
        if (min_dist[i] > r2)
            r2 = min_dist[i];
    }
    cl->pot = pot;
    cl->r2 = r2;
}

/* How much the potential drops if a centre is added at c. */
static double gain_of(const kmq_histogram *h, const cluster *cls, int nc, const double *centres,
                      const double *min_dist, const double *c)
{
    const int C = h->channels;
    double gain = 0;
    for (int j = 0; j < nc; j++) {
        double dcj = 0;
        for (int i = 0; i < C; i++) {
            double t = c[i] - centres[(size_t)j * C + i];
            dcj += t * t;
        }
        if (dcj >= 4 * cls[j].r2)
            continue; /* no colour of cluster j is nearer to c */
        for (size_t t = 0; t < cls[j].len; t++) {
            uint32_t i = cls[j].idx[t];
            double d = dist2_key(h->keys[i], c, C);
            if (d < min_dist[i])
                gain += h->counts[i] * (min_dist[i] - d);
        }
    }
    return gain;
}

/* A colour drawn with probability count * min_dist / potential. */
static uint32_t draw(const kmq_histogram *h, const cluster *cls, int nc, const double *min_dist,
                     double r)
{
    for (int j = 0; j < nc; j++) {
        if (r >= cls[j].pot) {
            r -= cls[j].pot;
            continue;
        }
        double run = 0;
        for (size_t t = 0; t < cls[j].len; t++) {
            uint32_t i = cls[j].idx[t];
            run += h->counts[i] * min_dist[i];
            if (run > r)
                return i;
        }
        break; /* rounding: fall through to the last colour with mass */
    }
    for (int j = nc; j-- > 0;)
        for (size_t t = cls[j].len; t-- > 0;)
            if (min_dist[cls[j].idx[t]] > 0)
                return cls[j].idx[t];
    return 0;
}

kmq_status kmq_init_kmeanspp(const kmq_histogram *h, int k, kmq_rng *rng, int threads,
                             double *centres, uint8_t *nearest)
{
    const int C = h->channels;
    const size_t n = h->n;
    const int trials = 2 + (int)log((double)k);
    const int nt = kmq_threads(threads);
    double *min_dist = malloc(n * sizeof *min_dist);
    uint8_t *own = nearest ? nearest : malloc(n);
    cluster *cls = calloc((size_t)k, sizeof *cls);
    kmq_status status = KMQ_ERR_NOMEM;
    if (!min_dist || !own || !cls)
        goto done;

    /* First centre: a colour drawn with probability proportional to its pixels. */
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += h->counts[i];
    uint64_t r = (uint64_t)(kmq_rng_uniform(rng) * (double)total);
    size_t first = 0;
    for (uint64_t run = 0; first < n; first++) {
        run += h->counts[first];
        if (run > r)
            break;
    }
    if (first == n)
        first = n - 1;
    kmq_unpack_d(h->keys[first], C, centres);
    for (size_t i = 0; i < n; i++) {
        min_dist[i] = dist2_key(h->keys[i], centres, C);
        own[i] = 0;
        if (!push(&cls[0], (uint32_t)i))
            goto done;
    }
    summarise(&cls[0], h, min_dist);

    double cand[32][KMQ_MAX_CHANNELS], gain[32];
    for (int nc = 1; nc < k; nc++) {
        double pot = 0;
        for (int j = 0; j < nc; j++)
            pot += cls[j].pot;
        for (int t = 0; t < trials; t++)
            kmq_unpack_d(h->keys[draw(h, cls, nc, min_dist, kmq_rng_uniform(rng) * pot)], C, cand[t]);
        /* Candidates are independent: evaluate them in parallel when the work
           is large; each gain is summed in one fixed order. */
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1 && n > 50000)
        for (int t = 0; t < trials; t++)
            gain[t] = gain_of(h, cls, nc, centres, min_dist, cand[t]);
        int best = 0;
        for (int t = 1; t < trials; t++)
            if (gain[t] > gain[best])
                best = t;

        /* Add the winner: colours nearer to it move into its cluster. */
        double *c = centres + (size_t)nc * C;
        memcpy(c, cand[best], (size_t)C * sizeof *c);
        for (int j = 0; j < nc; j++) {
            double dcj = 0;
            for (int i = 0; i < C; i++) {
                double t = c[i] - centres[(size_t)j * C + i];
                dcj += t * t;
            }
            if (dcj >= 4 * cls[j].r2)
                continue;
            size_t keep = 0;
            for (size_t t = 0; t < cls[j].len; t++) {
                uint32_t i = cls[j].idx[t];
                double d = dist2_key(h->keys[i], c, C);
                if (d < min_dist[i]) {
                    min_dist[i] = d;
                    own[i] = (uint8_t)nc;
                    if (!push(&cls[nc], i))
                        goto done;
                } else {
                    cls[j].idx[keep++] = i;
                }
            }
            cls[j].len = keep;
            summarise(&cls[j], h, min_dist);
        }
        summarise(&cls[nc], h, min_dist);
    }
    status = KMQ_OK;
done:
    if (cls)
        for (int j = 0; j < k; j++)
            free(cls[j].idx);
    free(cls);
    free(min_dist);
    if (own != nearest)
        free(own);
    return status;
}

kmq_status kmq_init_random(const kmq_histogram *h, int k, kmq_rng *rng, double *centres)
{
    /* k distinct colours, each draw proportional to the pixels not yet drawn.
       Drawing from all colours and rejecting ones already taken gives exactly
       that distribution; a plain scan takes over if rejections pile up. */
    const size_t n = h->n;
    uint8_t *taken = calloc(n, 1);
    uint64_t *prefix = malloc(n * sizeof *prefix);
    if (!taken || !prefix) {
        free(taken), free(prefix);
        return KMQ_ERR_NOMEM;
    }
    uint64_t total = 0, left;
    for (size_t i = 0; i < n; i++)
        prefix[i] = total += h->counts[i];
    left = total;
    for (int j = 0; j < k; j++) {
        size_t pick = SIZE_MAX;
        for (int attempt = 0; attempt < 32 && pick == SIZE_MAX; attempt++) {
            uint64_t r = (uint64_t)(kmq_rng_uniform(rng) * (double)total);
            size_t lo = 0, hi = n - 1; /* first i with prefix[i] > r */
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (prefix[mid] > r)
                    hi = mid;
                else
                    lo = mid + 1;
            }
            if (!taken[lo])
                pick = lo;
        }
        if (pick == SIZE_MAX) {
            uint64_t r = (uint64_t)(kmq_rng_uniform(rng) * (double)left), run = 0;
            for (size_t i = 0; i < n; i++) {
                if (taken[i])
                    continue;
                pick = i;
                run += h->counts[i];
                if (run > r)
                    break;
            }
        }
        taken[pick] = 1;
        left -= h->counts[pick];
        kmq_unpack_d(h->keys[pick], h->channels, centres + (size_t)j * h->channels);
    }
    free(taken), free(prefix);
    return KMQ_OK;
}
