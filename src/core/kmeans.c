/* Lloyd's algorithm on weighted distinct colours, accelerated but exact, and
 * the uint8 finalisation.
 *
 * Each assignment step walks the kd-tree of colours with a shrinking list of
 * candidate centres (Kanungo et al. 2002, "filtering"): at a node, the
 * candidate z* nearest to the box's midpoint removes every candidate z that
 * is farther than z* from every point of the box.  When one candidate is
 * left, the node's precomputed integer sums go to it whole; at a leaf the
 * remaining candidates are tried colour by colour.
 *
 * Exactness.  A candidate is removed only when it is farther than z* by a
 * margin far above rounding error for every point of the box, so the nearest
 * centre by the plain formula (lowest index on ties) always survives, and the
 * leaf test uses that formula.  Cluster sums are 64-bit integers, so the new
 * centres equal those of a pixel-by-pixel Lloyd step bit for bit, whatever
 * the order in which nodes are visited or the number of threads.
 *
 * Stopping.  A step whose labels equal the previous step's gives the same
 * sums, so the centres do not move and the shift test (shift <= tol, tol >=
 * 0) stops there too: scikit-learn's two tests need no per-colour labels. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Squared distances here are at most 4 * 255^2; double rounding error is
   below 1e-9 of that, so a difference above this margin is real. */
#define PRUNE_MARGIN 1e-6
#define NO_HINT 0xFFFF

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

/* ---- the filtering walk ---- */

typedef struct {
    const kmq_tree *t;
    const double *centres; /* k * C */
    const double *norm2;   /* k: |centre|^2 */
    int C;
    uint64_t *sums;        /* k * C, then k weights: this thread's share */
    uint64_t *weights;
    uint8_t *labels;       /* per histogram colour, or NULL */
    double *dist;          /* squared distance to the label's centre, or NULL */
    uint64_t *sq_inertia;  /* integer inertia (integer centres only), or NULL */
    uint16_t *hint;        /* per node: its z* of an earlier step (NO_HINT: none), or NULL */
    int refresh;           /* 1: find each z* afresh and keep it in hint */
} walk;

/* Every point of the node is strictly nearer to zs than to z. */
/* Every point of the node is strictly nearer to zs than to z:
   |v - z|^2 - |v - zs|^2 = |z|^2 - |zs|^2 - 2 v.(z - zs) is linear in v, so
   its minimum over the box is at the vertex most on z's side. */
static inline int dominated(const double *lo, const double *hi, const double *z, double nz,
                            const double *zs, double nzs, const int C)
{
    double dot = 0;
    for (int c = 0; c < C; c++) {
        double e = z[c] - zs[c];
        dot += (e > 0 ? hi[c] : lo[c]) * e;
    }
    return nz - nzs - 2 * dot > PRUNE_MARGIN;
}

static inline void credit_node(const walk *wk, const kmq_node *nd, int j, const int C)
{
    for (int c = 0; c < C; c++)
        wk->sums[(size_t)j * C + c] += nd->sum[c];
    wk->weights[j] += nd->w;
    if (wk->sq_inertia) { /* sum w|x - c|^2 = sq - 2 c.sum + w|c|^2, all integers */
        const double *z = wk->centres + (size_t)j * C;
        int64_t cs = 0, cc = 0;
        for (int c = 0; c < C; c++) {
            cs += (int64_t)z[c] * (int64_t)nd->sum[c];
            cc += (int64_t)z[c] * (int64_t)z[c];
        }
        *wk->sq_inertia += nd->sq - 2 * (uint64_t)cs + nd->w * (uint64_t)cc;
    }
    if (wk->labels || wk->dist) {
        const kmq_tree *t = wk->t;
        for (uint32_t i = nd->begin; i < nd->end; i++) {
            if (wk->labels)
                wk->labels[i] = (uint8_t)j;
            if (wk->dist) {
                double x[KMQ_MAX_CHANNELS];
                kmq_unpack_d(t->key[i], C, x);
                wk->dist[i] = dist2(x, wk->centres + (size_t)j * C, C);
            }
        }
    }
}

static void filter(const walk *wk, int32_t id, const uint8_t *cand, int nc, const int C)
{
    const kmq_tree *t = wk->t;
    const kmq_node *nd = &t->nodes[id];
    uint8_t kept[KMQ_MAX_K];
    if (nc > 1) {
        /* z*: the candidate nearest to the box's middle (any centre would
           be correct; a near one prunes most), by |z|^2 - 2 mid.z; or the
           one found for this node a few steps ago (see kmq_lloyd_progress). */
        /* (The box in doubles, loaded once: the uint8 stores into kept
           could alias nd's bytes and force reloads.) */
        double lo[KMQ_MAX_CHANNELS] = {0}, hi[KMQ_MAX_CHANNELS] = {0}, mid2[KMQ_MAX_CHANNELS] = {0};
        for (int c = 0; c < C; c++) {
            lo[c] = nd->lo[c], hi[c] = nd->hi[c];
            mid2[c] = lo[c] + hi[c];
        }
        int best = cand[0];
        if (wk->hint && !wk->refresh && wk->hint[id] != NO_HINT) {
            best = wk->hint[id];
        } else {
            double bd = INFINITY;
            for (int i = 0; i < nc; i++) { /* branch-free: the winner is unpredictable */
                const double *z = wk->centres + (size_t)cand[i] * C;
                double d = wk->norm2[cand[i]];
                for (int c = 0; c < C; c++)
                    d -= mid2[c] * z[c];
                int nearer = d < bd;
                best = nearer ? cand[i] : best;
                bd = nearer ? d : bd;
            }
            if (wk->hint)
                wk->hint[id] = (uint16_t)best;
        }
        const double *zs = wk->centres + (size_t)best * C;
        const double nzs = wk->norm2[best];
        int m = 0;
        for (int i = 0; i < nc; i++) { /* keeps ascending index order */
            kept[m] = cand[i];
            m += cand[i] == best || !dominated(lo, hi, wk->centres + (size_t)cand[i] * C,
                                               wk->norm2[cand[i]], zs, nzs, C);
        }
        cand = kept;
        nc = m;
    }
    if (nc == 1) {
        credit_node(wk, nd, cand[0], C);
        return;
    }
    if (!kmq_scan_here(nd)) {
        filter(wk, nd->left, cand, nc, C);
        filter(wk, nd->right, cand, nc, C);
        return;
    }
    const double *cz[KMQ_MAX_K];
    for (int q = 0; q < nc; q++)
        cz[q] = wk->centres + (size_t)cand[q] * C;
    for (uint32_t i = nd->begin; i < nd->end; i++) {
        double x[KMQ_MAX_CHANNELS];
        kmq_unpack_d(t->key[i], C, x);
        int best = 0;
        double bd = dist2(x, cz[0], C);
        for (int q = 1; q < nc; q++) {
            double d = dist2(x, cz[q], C);
            int nearer = d < bd;
            best = nearer ? q : best;
            bd = nearer ? d : bd;
        }
        best = cand[best];
        uint64_t w = t->cnt[i];
        for (int c = 0; c < C; c++) /* from the key: double -> uint64 is slow */
            wk->sums[(size_t)best * C + c] += w * ((t->key[i] >> (8 * c)) & 0xFF);
        wk->weights[best] += w;
        if (wk->sq_inertia)
            *wk->sq_inertia += w * (uint64_t)bd;
        if (wk->labels)
            wk->labels[i] = (uint8_t)best;
        if (wk->dist)
            wk->dist[i] = bd;
    }
}

/* The walk with the channel count as a constant, so that the distance
   loops unroll (GCC clones filter for each constant). */
static void filter_any(const walk *wk, int32_t id, const uint8_t *cand, int nc)
{
    switch (wk->C) {
    case 1: filter(wk, id, cand, nc, 1); break;
    case 2: filter(wk, id, cand, nc, 2); break;
    case 3: filter(wk, id, cand, nc, 3); break;
    default: filter(wk, id, cand, nc, 4); break;
    }
}

/* One assignment step over the whole tree: per-centre integer sums and
   weights into sums (k*C + k), optionally labels, distances, integer inertia. */
static kmq_status assign(const kmq_tree *t, int k, const double *centres, int threads,
                         uint64_t *sums, uint8_t *labels, double *dist, uint64_t *sq_inertia,
                         uint16_t *hint, int refresh)
{
    const int C = t->channels;
    const size_t len = (size_t)k * C + k;
    uint8_t all[KMQ_MAX_K];
    double norm2[KMQ_MAX_K];
    for (int j = 0; j < k; j++) {
        all[j] = (uint8_t)j;
        norm2[j] = 0;
        for (int c = 0; c < C; c++)
            norm2[j] += centres[(size_t)j * C + c] * centres[(size_t)j * C + c];
    }
    memset(sums, 0, len * sizeof *sums);
    const int nt = kmq_threads(threads);
    if (nt == 1 || t->n < 4 * KMQ_CHUNK) {
        walk wk = {t,    centres, norm2, C, sums, sums + (size_t)k * C, labels, dist, sq_inertia,
                   hint, refresh};
        if (sq_inertia)
            *sq_inertia = 0;
        filter_any(&wk, 0, all, k);
        return KMQ_OK;
    }
    uint64_t *acc = calloc((size_t)nt * (len + 1), sizeof *acc);
    if (!acc)
        return KMQ_ERR_NOMEM;
#pragma omp parallel num_threads(nt)
    {
        uint64_t *my = acc + (size_t)kmq_thread_id() * (len + 1);
        walk wk = {t,    centres, norm2, C, my, my + (size_t)k * C, labels, dist,
                   sq_inertia ? my + len : NULL, hint, refresh};
#pragma omp for schedule(dynamic, 1)
        for (size_t q = 0; q < t->ntasks; q++)
            filter_any(&wk, t->tasks[q], all, k);
    }
    /* Integers: the merge order does not matter. */
    if (sq_inertia)
        *sq_inertia = 0;
    for (int th = 0; th < nt; th++) {
        for (size_t i = 0; i < len; i++)
            sums[i] += acc[(size_t)th * (len + 1) + i];
        if (sq_inertia)
            *sq_inertia += acc[(size_t)th * (len + 1) + len];
    }
    free(acc);
    return KMQ_OK;
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
            if (!taken[i] && (dist[i] > far_d || (dist[i] == far_d && h->keys[i] < h->keys[far]))) {
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

int kmq_lloyd(const kmq_histogram *h, const kmq_tree *t, int k, double *centres, int max_iter,
              double tol_abs, int threads, uint8_t *labels, double *inertia_history)
{
    return kmq_lloyd_progress(h, t, k, centres, max_iter, tol_abs, threads, labels,
                              inertia_history, NULL, 0);
}

int kmq_lloyd_progress(const kmq_histogram *h, const kmq_tree *t, int k, double *centres,
                       int max_iter, double tol_abs, int threads, uint8_t *labels,
                       double *inertia_history, const kmq_progress_sink *sink, int pinned)
{
    const int C = h->channels;
    const size_t n = h->n;
    const size_t kc = (size_t)k * C;
    uint64_t *sums = malloc((kc + k) * sizeof *sums);
    uint8_t *lab = labels ? labels : kmq_big_malloc(n);
    double *old = malloc(kc * sizeof *old); /* the centres the last step used */
    double *dist = NULL;
    int it = 0, failed = 0;
    /* Each node's z* is found afresh every 8th step and reused in between:
       the centres move little from step to step, and any centre may serve
       as z* (what is removed is farther than it from the whole box, so the
       nearest centre never is): only how much is pruned depends on it.
       Finding z* was a fifth of the walk.  (Without memory for the hints,
       every step finds z* afresh.) */
    uint16_t *hint = malloc((t->nnodes ? t->nnodes : 1) * sizeof *hint);
    for (size_t q = 0; hint && q < t->nnodes; q++)
        hint[q] = NO_HINT;
    if (!sums || !lab || !old) {
        failed = 1;
        goto done;
    }
    for (it = 1; it <= max_iter; it++) {
        if (sink) { /* restarts run on several threads: their reports take turns */
            pthread_mutex_lock(sink->lock);
            sink->fn(sink->ctx, sink->restart, sink->restarts, it);
            pthread_mutex_unlock(sink->lock);
        }
        if (assign(t, k, centres, threads, sums, NULL, NULL, NULL, hint, (it & 7) == 1) != KMQ_OK) {
            failed = 1;
            break;
        }
        uint64_t *weights = sums + kc;
        int any_empty = 0;
        for (int j = 0; j < k; j++)
            any_empty |= weights[j] == 0;
        if (any_empty || inertia_history) {
            /* Rare (or for tests): per-colour labels and distances. */
            if (!dist && !(dist = kmq_big_malloc(n * sizeof *dist))) {
                failed = 1;
                break;
            }
            if (assign(t, k, centres, threads, sums, lab, dist, NULL, NULL, 0) != KMQ_OK) {
                failed = 1;
                break;
            }
            if (inertia_history) {
                double total = 0;
                for (size_t ch = 0; ch < n; ch += KMQ_CHUNK) {
                    size_t end = ch + KMQ_CHUNK < n ? ch + KMQ_CHUNK : n;
                    double part = 0;
                    for (size_t i = ch; i < end; i++)
                        part += dist[i] * h->counts[i];
                    total += part;
                }
                inertia_history[it - 1] = total;
            }
            if (any_empty)
                relocate_empty(h, k, lab, dist, sums, weights);
        }
        memcpy(old, centres, kc * sizeof *old);
        double shift = 0;
        for (int j = pinned; j < k; j++) {
            if (!weights[j])
                continue; /* keeps its centre */
            for (int c = 0; c < C; c++) {
                double v = (double)sums[(size_t)j * C + c] / (double)weights[j];
                double d = v - centres[(size_t)j * C + c];
                shift += d * d;
                centres[(size_t)j * C + c] = v;
            }
        }
        if (shift <= tol_abs)
            break; /* includes "no label changed": then the shift is 0 */
    }
    if (!failed) {
        if (it > max_iter)
            it = max_iter;
        /* The labels of the last assignment step, by the centres it used. */
        if (labels && assign(t, k, old, threads, sums, labels, NULL, NULL, NULL, 0) != KMQ_OK)
            failed = 1;
    }
done:
    free(sums), free(dist), free(old), free(hint);
    if (lab != labels)
        free(lab);
    return failed ? -1 : it;
}

kmq_status kmq_assign_labels(const kmq_tree *t, int k, const double *centres, int threads,
                             uint8_t *labels)
{
    uint64_t *sums = malloc(((size_t)k * t->channels + k) * sizeof *sums);
    if (!sums)
        return KMQ_ERR_NOMEM;
    kmq_status s = assign(t, k, centres, threads, sums, labels, NULL, NULL, NULL, 0);
    free(sums);
    return s;
}

kmq_status kmq_finalise(const kmq_tree *t, int k, const double *centres, int threads,
                        uint8_t *entries, uint8_t *labels, uint64_t *inertia)
{
    const int C = t->channels;
    double rounded[KMQ_MAX_K * KMQ_MAX_CHANNELS];
    for (int j = 0; j < k; j++)
        for (int c = 0; c < C; c++) {
            double v = centres[(size_t)j * C + c] + 0.5;
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            entries[(size_t)j * C + c] = (uint8_t)v; /* truncation of x+0.5 = rounding */
            rounded[(size_t)j * C + c] = entries[(size_t)j * C + c];
        }
    uint64_t *sums = malloc(((size_t)k * C + k) * sizeof *sums);
    if (!sums)
        return KMQ_ERR_NOMEM;
    kmq_status s = assign(t, k, rounded, threads, sums, labels, NULL, inertia, NULL, 0);
    free(sums);
    return s;
}
