/* A kd-tree over the distinct colours, built once per image and shared
 * read-only by every restart.  Each node keeps its colours' bounding box and
 * their exact integer sums, so k-means can credit a whole node to one
 * centre at once (Kanungo et al., "An efficient k-means clustering
 * algorithm", 2002) and k-means++ can skip whole boxes. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    kmq_node *nodes;            /* where this builder's nodes go: cap of them, */
    size_t nnodes, cap;         /* grown as needed */
    int failed;                 /* out of memory */
    int C;
    uint32_t *key, *cnt, *perm; /* the histogram's arrays; perm: original index */
} builder;

/* Count, channel sums and squared norms of colours [begin, end). */
static void leaf_stats(const builder *b, kmq_node *nd, int C)
{
    for (uint32_t i = nd->begin; i < nd->end; i++) {
        uint64_t w = b->cnt[i];
        nd->w += w;
        for (int c = 0; c < C; c++) {
            uint64_t v = (b->key[i] >> (8 * c)) & 0xFF;
            nd->sum[c] += w * v;
            nd->sq += w * v * v;
        }
    }
}

/* Bounding box of colours [begin, end) into lo..hi. */
static inline void box_of(const uint32_t *key, uint32_t begin, uint32_t end, uint8_t *lo,
                          uint8_t *hi, const int C)
{
    uint32_t l[4] = {255, 255, 255, 255}, h[4] = {0};
    for (uint32_t i = begin; i < end; i++)
        for (int c = 0; c < C; c++) {
            uint32_t v = (key[i] >> (8 * c)) & 0xFF;
            l[c] = v < l[c] ? v : l[c];
            h[c] = v > h[c] ? v : h[c];
        }
    for (int c = 0; c < 4; c++) /* channels beyond C: 0, as they always were */
        lo[c] = c < C ? (uint8_t)l[c] : 0, hi[c] = c < C ? (uint8_t)h[c] : 0;
}

/* Puts colours [begin, end) whose channel `axis` is below split first and
   returns where the others start; the two sides' boxes into llo..lhi and
   rlo..rhi.  A colour going right is swapped with the last unseen one, which
   is looked at next; the swap is done by selects, not a branch, because on
   photos the side is a coin toss that a branch predictor loses half the
   time. */
static inline uint32_t partition(builder *b, uint32_t begin, uint32_t end, int axis,
                                 uint32_t split, uint8_t *llo, uint8_t *lhi, uint8_t *rlo,
                                 uint8_t *rhi, const int C)
{
    uint32_t *key = b->key, *cnt = b->cnt, *perm = b->perm;
    uint32_t i = begin, j = end;
    while (i < j) {
        const uint32_t k = key[i], n = cnt[i], p = perm[i];
        const uint32_t right = ((k >> (8 * axis)) & 0xFF) >= split, last = j - 1;
        const uint32_t k2 = key[last], n2 = cnt[last], p2 = perm[last];
        key[last] = right ? k : k2, cnt[last] = right ? n : n2, perm[last] = right ? p : p2;
        key[i] = right ? k2 : k, cnt[i] = right ? n2 : n, perm[i] = right ? p2 : p;
        i += !right;
        j -= right;
    }
    box_of(key, begin, i, llo, lhi, C);
    box_of(key, i, end, rlo, rhi, C);
    return i;
}

/* Splits colours [begin, end) (box lo..hi) at the middle of the box's widest
   side: boxes stay compact, which is what lets a centre claim a whole node;
   a box of bytes can only be halved 8 times per channel, so the depth stays
   below 33.  lo and hi are both present, so neither side is empty.  Returns
   where the right side starts, its boxes into llo..rhi; 0 when the node
   stays whole (a leaf: at most `whole` colours, or one colour, which
   cannot happen for distinct colours but keeps a leaf safe). */
static uint32_t split(builder *b, uint32_t begin, uint32_t end, const uint8_t *lo,
                      const uint8_t *hi, uint32_t whole, uint8_t *llo, uint8_t *lhi, uint8_t *rlo,
                      uint8_t *rhi)
{
    const int C = b->C;
    int axis = 0;
    for (int c = 1; c < C; c++)
        if (hi[c] - lo[c] > hi[axis] - lo[axis])
            axis = c;
    if (end - begin <= whole || end - begin <= KMQ_LEAF_SIZE || lo[axis] == hi[axis])
        return 0;
    const uint32_t mid = (uint32_t)(lo[axis] + hi[axis] + 1) / 2;
    switch (C) { /* the channel count as a constant: the boxes stay in registers */
    case 1: return partition(b, begin, end, axis, mid, llo, lhi, rlo, rhi, 1);
    case 2: return partition(b, begin, end, axis, mid, llo, lhi, rlo, rhi, 2);
    case 3: return partition(b, begin, end, axis, mid, llo, lhi, rlo, rhi, 3);
    default: return partition(b, begin, end, axis, mid, llo, lhi, rlo, rhi, 4);
    }
}

/* A node's count and sums from its children's. */
static void add_children(kmq_node *nd, const kmq_node *L, const kmq_node *R, int C)
{
    nd->w = L->w + R->w;
    nd->sq = L->sq + R->sq;
    for (int c = 0; c < C; c++)
        nd->sum[c] = L->sum[c] + R->sum[c];
}

/* A new node's index in b, or -1 without memory. */
static int32_t new_node(builder *b)
{
    if (b->nnodes == b->cap) {
        const size_t cap = 2 * b->cap + 1024;
        kmq_node *p = kmq_big_realloc(b->nodes, b->cap * sizeof *p, cap * sizeof *p);
        if (!p) {
            b->failed = 1;
            return -1;
        }
        b->nodes = p, b->cap = cap;
    }
    return (int32_t)b->nnodes++;
}

/* The node of colours [begin, end), whose bounding box is lo..hi, and all
   below it; its index, or -1 without memory.  Each partition also finds its
   two sides' boxes, and sums are added up from the leaves: every level of
   the tree is one pass over the colours. */
static int32_t build(builder *b, uint32_t begin, uint32_t end, const uint8_t *lo, const uint8_t *hi)
{
    const int C = b->C;
    const int32_t id = new_node(b);
    if (id < 0)
        return -1;
    kmq_node *nd = &b->nodes[id];
    memset(nd, 0, sizeof *nd);
    nd->begin = begin;
    nd->end = end;
    nd->left = nd->right = -1;
    memcpy(nd->lo, lo, 4);
    memcpy(nd->hi, hi, 4);
    uint8_t llo[4], lhi[4], rlo[4], rhi[4];
    const uint32_t i = split(b, begin, end, lo, hi, 0, llo, lhi, rlo, rhi);
    if (!i) {
        leaf_stats(b, nd, C);
        return id;
    }
    const int32_t l = build(b, begin, i, llo, lhi);
    const int32_t r = l < 0 ? -1 : build(b, i, end, rlo, rhi);
    if (r < 0)
        return -1;
    nd = &b->nodes[id];
    nd->left = l;
    nd->right = r;
    add_children(nd, &b->nodes[l], &b->nodes[r], C);
    return id;
}

/* ---- building on several threads ----
 * The top of the tree is split here; the subtrees below the cut are built
 * each on its own (in parallel) into their own arrays, then copied in
 * depth-first order with their child indices shifted.  The nodes, their
 * numbering and the colours' order are those of one build() from the root,
 * whatever the number of threads. */
typedef struct {
    uint32_t begin, end;
    uint8_t lo[4], hi[4];
    int32_t left, right; /* >= 0: a top node; < 0: subtree -(i + 1) */
} top_node;

typedef struct {
    uint32_t begin, end;
    uint8_t lo[4], hi[4];
    int pool;            /* built into pools[pool].nodes[first..first + nnodes) */
    size_t first, nnodes;
} subtree;

typedef struct {
    top_node *tops;
    size_t ntops;
    subtree *subs;
    size_t nsubs;
    uint32_t cut;
    builder *pools; /* one per thread: the subtrees it built, one after another */
} top_split;

/* Splits as build() does down to nodes of at most `cut` colours; returns
   the reference to the node of [begin, end). */
static int32_t split_top(builder *b, top_split *ts, uint32_t begin, uint32_t end,
                         const uint8_t *lo, const uint8_t *hi)
{
    uint8_t llo[4], lhi[4], rlo[4], rhi[4];
    const uint32_t i = split(b, begin, end, lo, hi, ts->cut, llo, lhi, rlo, rhi);
    if (!i) {
        subtree *sb = &ts->subs[ts->nsubs];
        sb->begin = begin, sb->end = end;
        memcpy(sb->lo, lo, 4), memcpy(sb->hi, hi, 4);
        return -(int32_t)++ts->nsubs;
    }
    const int32_t id = (int32_t)ts->ntops++;
    top_node *tp = &ts->tops[id];
    tp->begin = begin, tp->end = end;
    memcpy(tp->lo, lo, 4), memcpy(tp->hi, hi, 4);
    const int32_t l = split_top(b, ts, begin, i, llo, lhi);
    const int32_t r = split_top(b, ts, i, end, rlo, rhi);
    ts->tops[id].left = l;
    ts->tops[id].right = r;
    return id;
}

/* Copies node `ref` and everything below it into t in depth-first order. */
static int32_t emit(kmq_tree *t, const top_split *ts, int32_t ref)
{
    const int32_t id = (int32_t)t->nnodes;
    if (ref < 0) {
        const subtree *sb = &ts->subs[-ref - 1];
        const kmq_node *from = ts->pools[sb->pool].nodes + sb->first;
        const int32_t shift = id - (int32_t)sb->first; /* pool index -> tree index */
        for (size_t q = 0; q < sb->nnodes; q++) {
            kmq_node nd = from[q];
            if (nd.left >= 0)
                nd.left += shift, nd.right += shift;
            t->nodes[t->nnodes++] = nd;
        }
        return id;
    }
    const top_node *tp = &ts->tops[ref];
    kmq_node *nd = &t->nodes[t->nnodes++];
    memset(nd, 0, sizeof *nd);
    nd->begin = tp->begin, nd->end = tp->end;
    memcpy(nd->lo, tp->lo, 4), memcpy(nd->hi, tp->hi, 4);
    const int32_t l = emit(t, ts, tp->left);
    const int32_t r = emit(t, ts, tp->right);
    nd = &t->nodes[id];
    nd->left = l, nd->right = r;
    add_children(nd, &t->nodes[l], &t->nodes[r], t->channels);
    return id;
}

size_t kmq_tree_pool_room;

/* Builds the tree of all n colours into t->nodes (at most 2n of them). */
static kmq_status build_all(kmq_tree *t, uint32_t *key, uint32_t *cnt, uint32_t *perm, size_t n,
                            int threads)
{
    const int C = t->channels;
    uint8_t lo[4], hi[4];
    box_of(key, 0, (uint32_t)n, lo, hi, C);
    const int nt = kmq_threads(threads);
    /* (t->nodes has room for every node: root never grows) */
    builder root = {t->nodes, 0, 2 * n + 1, 0, C, key, cnt, perm};
    /* Small trees are built in one go (the threads would cost more). */
    if (nt == 1 || n < ((size_t)1 << 16)) {
        build(&root, 0, (uint32_t)n, lo, hi);
        t->nnodes = root.nnodes;
        return KMQ_OK;
    }
    /* Subtrees of at most n/32 colours: enough pieces to even out. */
    top_split ts = {0};
    ts.cut = (uint32_t)(n / 32);
    /* Top nodes of one depth are disjoint and hold more than cut colours
       each, and there are fewer than 33 depths; subtrees are one more. */
    size_t cap = 33 * (n / ts.cut + 1) + 1;
    ts.tops = malloc(cap * sizeof *ts.tops);
    ts.subs = calloc(cap, sizeof *ts.subs);
    ts.pools = calloc((size_t)nt, sizeof *ts.pools);
    kmq_status s = ts.tops && ts.subs && ts.pools ? KMQ_OK : KMQ_ERR_NOMEM;
    int32_t top = 0;
    if (s == KMQ_OK)
        top = split_top(&root, &ts, 0, (uint32_t)n, lo, hi);
    /* Each thread appends its subtrees to a pool of its own that grows as
       needed: the nodes are about n/5 in all, far fewer than the 2n bound
       (a pool of 2n per subtree cost 100 MB of RSS on a 1-MP photo). */
#pragma omp parallel num_threads(nt) if (s == KMQ_OK)
    if (s == KMQ_OK) {
        const int me = kmq_thread_id();
        builder *b = &ts.pools[me];
        /* Photos make about n/5 nodes: room for a bit more, grown if not */
        const size_t room = kmq_tree_pool_room ? kmq_tree_pool_room : n / (4 * (size_t)nt) + 1024;
        *b = (builder){kmq_big_malloc(room * sizeof(kmq_node)), 0, room, 0, C, key, cnt, perm};
        if (!b->nodes)
            b->failed = 1, b->cap = 0;
#pragma omp for schedule(dynamic, 1)
        for (size_t q = 0; q < ts.nsubs; q++) {
            subtree *sb = &ts.subs[q];
            sb->pool = me;
            sb->first = b->nnodes;
            if (!b->failed)
                build(b, sb->begin, sb->end, sb->lo, sb->hi);
            sb->nnodes = b->nnodes - sb->first;
        }
    }
    for (int q = 0; s == KMQ_OK && q < nt; q++)
        if (ts.pools[q].failed)
            s = KMQ_ERR_NOMEM;
    if (s == KMQ_OK) {
        t->nnodes = 0;
        emit(t, &ts, top);
    }
    for (int q = 0; ts.pools && q < nt; q++)
        free(ts.pools[q].nodes);
    free(ts.tops), free(ts.subs), free(ts.pools);
    return s;
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

kmq_status kmq_tree_build(kmq_histogram *h, kmq_tree *t, int threads)
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
    if (build_all(t, h->keys, h->counts, perm, n, threads) != KMQ_OK) {
        free(perm);
        kmq_tree_free(t);
        return KMQ_ERR_NOMEM;
    }
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
