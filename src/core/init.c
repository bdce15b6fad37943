/* Seeding: scikit-learn's greedy k-means++ and weighted random colours.
 *
 * Plain k-means++ costs k * candidates * colours distance updates.  Here the
 * kd-tree keeps, per node, the potential (sum of count * squared distance to
 * the nearest chosen centre) and the largest such distance of its colours.
 * A candidate c can only bring a colour closer if c is nearer to the node's
 * box than that largest distance, so a candidate's gain, and the update
 * when it is chosen, visit only the boxes around it; a box the candidate
 * wins whole gains in closed form from the node's sums.  D² sampling
 * descends the tree by potential: the same distribution as the flat draw. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Candidates are colours, so every distance, potential and gain here is an
   integer: computed in integers, exact, and the same in any order of sums. */
typedef struct {
    const kmq_tree *t;
    uint32_t *min_dist;  /* per colour in tree order: squared distance to the nearest centre */
    uint64_t *pot;       /* per node: sum of count * min_dist */
    uint32_t *max, *min; /* per node: largest and smallest min_dist */
} seeding;

static inline uint32_t dist2_key(uint32_t key, const int32_t *c, int C)
{
    int32_t t = (int32_t)(key & 0xFF) - c[0];
    uint32_t d = (uint32_t)(t * t);
    for (int i = 1; i < C; i++) {
        t = (int32_t)((key >> (8 * i)) & 0xFF) - c[i];
        d += (uint32_t)(t * t);
    }
    return d;
}

/* Squared distance from c to the nearest and to the farthest point of the box. */
static inline uint32_t box_near2(const kmq_node *nd, const int32_t *c, int C)
{
    uint32_t d = 0;
    for (int i = 0; i < C; i++) {
        /* lo <= hi: at most one of the two is positive (maxima, not
           branches: which side c falls is unpredictable) */
        int32_t a = nd->lo[i] - c[i], b = c[i] - nd->hi[i];
        int32_t t = a > b ? a : b;
        t = t > 0 ? t : 0;
        d += (uint32_t)(t * t);
    }
    return d;
}

static inline uint32_t box_far2(const kmq_node *nd, const int32_t *c, int C)
{
    uint32_t d = 0;
    for (int i = 0; i < C; i++) {
        int32_t a = c[i] - nd->lo[i], b = nd->hi[i] - c[i];
        int32_t t = a > b ? a : b;
        d += (uint32_t)(t * t);
    }
    return d;
}

/* How much the potential would drop if a centre were added at c. */
static uint64_t gain(const seeding *s, int32_t id, const int32_t *c, const int C)
{
    const kmq_tree *t = s->t;
    const kmq_node *nd = &t->nodes[id];
    if (s->max[id] <= box_near2(nd, c, C))
        return 0; /* every colour here is already at least as near to a centre */
    if (s->min[id] >= box_far2(nd, c, C)) {
        /* c is nearer to every colour here than its centre: the drop is the
           node's potential minus sum w |x - c|^2, from the node's sums. */
        int64_t cs = 0, cc = 0;
        for (int i = 0; i < C; i++) {
            cs += (int64_t)c[i] * (int64_t)nd->sum[i];
            cc += (int64_t)c[i] * c[i];
        }
        return s->pot[id] - (nd->sq - 2 * (uint64_t)cs + nd->w * (uint64_t)cc);
    }
    if (!kmq_scan_here(nd))
        return gain(s, nd->left, c, C) + gain(s, nd->right, c, C);
    uint64_t g = 0;
    for (uint32_t i = nd->begin; i < nd->end; i++) {
        uint32_t d = dist2_key(t->key[i], c, C), m = s->min_dist[i];
        g += (uint64_t)t->cnt[i] * (m - (d < m ? d : m)); /* a min, not a branch: vectorises */
    }
    return g;
}

/* Adds a centre at c: updates distances, node potentials and extremes. */
static void add_centre(seeding *s, int32_t id, const int32_t *c, const int C)
{
    const kmq_tree *t = s->t;
    const kmq_node *nd = &t->nodes[id];
    if (s->max[id] <= box_near2(nd, c, C))
        return;
    if (!kmq_scan_here(nd)) {
        add_centre(s, nd->left, c, C);
        add_centre(s, nd->right, c, C);
        s->pot[id] = s->pot[nd->left] + s->pot[nd->right];
        s->max[id] = s->max[nd->left] > s->max[nd->right] ? s->max[nd->left] : s->max[nd->right];
        s->min[id] = s->min[nd->left] < s->min[nd->right] ? s->min[nd->left] : s->min[nd->right];
        return;
    }
    uint64_t pot = 0;
    uint32_t mx = 0, mn = UINT32_MAX;
    /* (bounds and arrays in locals: the stores into min_dist could
       otherwise alias them, and the loop would not vectorise) */
    const uint32_t begin = nd->begin, end = nd->end;
    const uint32_t *key = t->key, *cnt = t->cnt;
    uint32_t *min_dist = s->min_dist;
    for (uint32_t i = begin; i < end; i++) {
        uint32_t d = dist2_key(key[i], c, C), m = min_dist[i];
        m = d < m ? d : m;
        min_dist[i] = m;
        pot += (uint64_t)cnt[i] * m;
        mx = m > mx ? m : mx;
        mn = m < mn ? m : mn;
    }
    s->pot[id] = pot;
    s->max[id] = mx;
    s->min[id] = mn;
}

/* Both walks with the channel count as a constant (GCC clones them). */
static uint64_t gain_any(const seeding *s, const int32_t *c)
{
    switch (s->t->channels) {
    case 1: return gain(s, 0, c, 1);
    case 2: return gain(s, 0, c, 2);
    case 3: return gain(s, 0, c, 3);
    default: return gain(s, 0, c, 4);
    }
}

static void add_centre_any(seeding *s, const int32_t *c)
{
    switch (s->t->channels) {
    case 1: add_centre(s, 0, c, 1); break;
    case 2: add_centre(s, 0, c, 2); break;
    case 3: add_centre(s, 0, c, 3); break;
    default: add_centre(s, 0, c, 4); break;
    }
}

/* A colour drawn with probability count * min_dist / potential, for r
   uniform in [0, potential). */
static uint32_t draw(const seeding *s, double r)
{
    const kmq_tree *t = s->t;
    int32_t id = 0;
    for (;;) {
        const kmq_node *nd = &t->nodes[id];
        if (kmq_scan_here(nd))
            break;
        double left = (double)s->pot[nd->left]; /* < 2^53: exact */
        if ((r < left && left > 0) || s->pot[nd->right] == 0) {
            id = nd->left;
        } else {
            r -= left;
            id = nd->right;
        }
    }
    const kmq_node *nd = &t->nodes[id];
    uint64_t run = 0;
    uint32_t last = nd->begin;
    for (uint32_t i = nd->begin; i < nd->end; i++) {
        uint64_t m = (uint64_t)t->cnt[i] * s->min_dist[i];
        if (m > 0)
            last = i;
        run += m;
        if ((double)run > r && m > 0)
            return i;
    }
    return last; /* rounding: the last colour with mass */
}

static void unpack_i(uint32_t key, int C, int32_t *c)
{
    for (int i = 0; i < C; i++)
        c[i] = (int32_t)((key >> (8 * i)) & 0xFF);
}

kmq_status kmq_init_kmeanspp(const kmq_tree *t, int k, kmq_rng *rng, int threads, int pinned,
                             double *centres)
{
    const int C = t->channels;
    const size_t n = t->n;
    const int trials = 2 + (int)log((double)k);
    const int nt = kmq_threads(threads);
    (void)nt; /* unused without OpenMP */
    seeding s = {t, kmq_big_malloc(n * sizeof *s.min_dist), kmq_big_malloc(t->nnodes * sizeof *s.pot),
                 kmq_big_malloc(t->nnodes * sizeof *s.max), kmq_big_malloc(t->nnodes * sizeof *s.min)};
    if (!s.min_dist || !s.pot || !s.max || !s.min) {
        free(s.min_dist), free(s.pot), free(s.max), free(s.min);
        return KMQ_ERR_NOMEM;
    }

    /* First centre: the pinned one, or a colour drawn with probability
       proportional to its pixels. */
    int32_t chosen[KMQ_MAX_CHANNELS];
    if (pinned) {
        for (int c = 0; c < C; c++)
            chosen[c] = (int32_t)centres[c];
    } else {
        uint64_t total = t->nodes[0].w;
        uint64_t r = (uint64_t)(kmq_rng_uniform(rng) * (double)total), run = 0;
        size_t first = n - 1;
        for (size_t i = 0; i < n; i++) {
            run += t->cnt[i];
            if (run > r) {
                first = i;
                break;
            }
        }
        unpack_i(t->key[first], C, chosen);
    }
    for (size_t i = 0; i < n; i++)
        s.min_dist[i] = UINT32_MAX;
    for (size_t q = 0; q < t->nnodes; q++)
        s.max[q] = s.min[q] = UINT32_MAX;
    add_centre_any(&s, chosen);
    for (int c = 0; c < C; c++)
        centres[c] = chosen[c];

    int32_t cand[32][KMQ_MAX_CHANNELS];
    uint64_t g[32];
    for (int j = 1; j < k; j++) {
        for (int q = 0; q < trials; q++)
            unpack_i(t->key[draw(&s, kmq_rng_uniform(rng) * (double)s.pot[0])], C, cand[q]);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1 && n > 50000)
        for (int q = 0; q < trials; q++)
            g[q] = gain_any(&s, cand[q]);
        int best = 0; /* the largest drop in potential, first on ties */
        for (int q = 1; q < trials; q++)
            if (g[q] > g[best])
                best = q;
        for (int c = 0; c < C; c++)
            centres[(size_t)j * C + c] = cand[best][c];
        add_centre_any(&s, cand[best]);
    }
    free(s.min_dist), free(s.pot), free(s.max), free(s.min);
    return KMQ_OK;
}

kmq_status kmq_init_random(const kmq_histogram *h, int k, kmq_rng *rng, int pinned,
                           double *centres)
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
    if (pinned) { /* centre 0 is given: its colour is drawn already */
        uint32_t key = 0;
        for (int c = 0; c < h->channels; c++)
            key |= (uint32_t)centres[c] << (8 * c);
        size_t at = kmq_histogram_find(h, key);
        taken[at] = 1;
        left -= h->counts[at];
    }
    for (int j = pinned; j < k; j++) {
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
