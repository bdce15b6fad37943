/* A kd-tree over the distinct colours, built once per image and shared
 * read-only by every restart.  Each node keeps its colours' bounding box and
 * their exact integer sums, so k-means can credit a whole node to one
 * centre at once (Kanungo et al., "An efficient k-means clustering
 * algorithm", 2002) and k-means++ can skip whole boxes. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    kmq_tree *t;
    uint32_t *key, *cnt, *perm; /* the histogram's arrays; perm: original index */
} builder;

static void swap_points(builder *b, uint32_t x, uint32_t y)
{
    uint32_t k = b->key[x], c = b->cnt[x], p = b->perm[x];
    b->key[x] = b->key[y], b->cnt[x] = b->cnt[y], b->perm[x] = b->perm[y];
    b->key[y] = k, b->cnt[y] = c, b->perm[y] = p;
}

static int32_t build(builder *b, uint32_t begin, uint32_t end)
{
    kmq_tree *t = b->t;
    const int C = t->channels;
    int32_t id = (int32_t)t->nnodes++;
    kmq_node *nd = &t->nodes[id];
    memset(nd, 0, sizeof *nd);
    nd->begin = begin;
    nd->end = end;
    nd->left = nd->right = -1;
    for (int c = 0; c < C; c++)
        nd->lo[c] = 255, nd->hi[c] = 0;
    for (uint32_t i = begin; i < end; i++) {
        uint64_t w = b->cnt[i];
        nd->w += w;
        for (int c = 0; c < C; c++) {
            uint8_t v = (uint8_t)(b->key[i] >> (8 * c));
            if (v < nd->lo[c]) nd->lo[c] = v;
            if (v > nd->hi[c]) nd->hi[c] = v;
            nd->sum[c] += w * v;
            nd->sq += w * v * v;
        }
    }
    if (end - begin <= KMQ_LEAF_SIZE)
        return id;
    int axis = 0;
    for (int c = 1; c < C; c++)
        if (nd->hi[c] - nd->lo[c] > nd->hi[axis] - nd->lo[axis])
            axis = c;
    uint8_t lo = nd->lo[axis], hi = nd->hi[axis];
    if (lo == hi)
        return id; /* cannot happen for distinct colours; keeps a leaf safe */
    /* Split the widest side at its middle: boxes stay compact, which is what
       lets a centre claim a whole node; a box of bytes can only be halved 8
       times per channel, so the depth stays below 33.  lo and hi are both
       present, so neither side is empty. */
    int split = (lo + hi + 1) / 2;
    uint32_t i = begin, j = end;
    while (i < j) {
        if (((b->key[i] >> (8 * axis)) & 0xFF) < (uint32_t)split)
            i++;
        else
            swap_points(b, i, --j);
    }
    int32_t l = build(b, begin, i);
    int32_t r = build(b, i, end);
    t->nodes[id].left = l;
    t->nodes[id].right = r;
    return id;
}

/* Subtrees small enough to share out between threads, in tree order;
   counts them when out is NULL. */
static size_t collect_tasks(const kmq_tree *t, int32_t id, int32_t *out, size_t n)
{
    const kmq_node *nd = &t->nodes[id];
    if (nd->left < 0 || nd->end - nd->begin <= KMQ_CHUNK) {
        if (out)
            out[n] = id;
        return n + 1;
    }
    n = collect_tasks(t, nd->left, out, n);
    return collect_tasks(t, nd->right, out, n);
}

kmq_status kmq_tree_build(kmq_histogram *h, kmq_tree *t)
{
    memset(t, 0, sizeof *t);
    const size_t n = h->n;
    t->channels = h->channels;
    t->n = n;
    /* A binary tree whose leaves hold at most KMQ_LEAF_SIZE colours and whose
       splits leave both sides non-empty has fewer than 2n nodes. */
    size_t cap = n < 1 ? 1 : 2 * n;
    t->nodes = kmq_big_malloc(cap * sizeof *t->nodes);
    uint32_t *perm = kmq_big_malloc(n * sizeof *perm);
    if (!t->nodes || !perm) {
        free(perm);
        kmq_tree_free(t);
        return KMQ_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    /* The colours are sorted in place into tree order (no second copy of
       them: on big images memory is the limit). */
    builder b = {t, h->keys, h->counts, perm};
    build(&b, 0, (uint32_t)n);
    t->key = h->keys;
    t->cnt = h->counts;
    /* Point the hash index at the new positions. */
    uint32_t *where = kmq_big_malloc(n * sizeof *where);
    if (!where) {
        free(perm);
        kmq_tree_free(t);
        return KMQ_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        where[perm[i]] = (uint32_t)i;
    kmq_histogram_renumber(h, where);
    free(where);
    free(perm);
    t->ntasks = collect_tasks(t, 0, NULL, 0);
    if (!(t->tasks = malloc(t->ntasks * sizeof *t->tasks))) {
        kmq_tree_free(t);
        return KMQ_ERR_NOMEM;
    }
    collect_tasks(t, 0, t->tasks, 0);
    return KMQ_OK;
}

void kmq_tree_free(kmq_tree *t)
{
    free(t->nodes);
    free(t->tasks);
    memset(t, 0, sizeof *t);
}
