/* Internal interfaces of the core, shared by its files and the unit tests. */
#ifndef KMQ_INTERNAL_H
#define KMQ_INTERNAL_H

#include "kmq.h"
#include "thread_count.h"
#include "big_alloc.h"

#include <pthread.h>

#include <stdint.h>

/* ---- random numbers: xoshiro256** seeded through splitmix64 ---- */
typedef struct { uint64_t s[4]; } kmq_rng;
void kmq_rng_seed(kmq_rng *r, uint64_t seed, uint64_t stream);
uint64_t kmq_rng_next(kmq_rng *r);
double kmq_rng_uniform(kmq_rng *r); /* [0, 1) with 53 random bits */

/* ---- histogram: the distinct colours of an image and their pixel counts ---- */
typedef struct {
    int channels;
    size_t n;          /* distinct colours */
    uint32_t *keys;    /* packed colours (channel c in bits 8c..8c+7), ascending
                          until kmq_tree_build puts them in tree order */
    uint32_t *counts;  /* pixels of each colour */
    /* open-addressing index from key to position in keys[] */
    uint64_t *slots;   /* key << 32 | (position + 1); 0 = empty slot */
    size_t mask;
} kmq_histogram;

kmq_status kmq_histogram_build(const uint8_t *pixels, size_t npixels, int channels,
                               kmq_histogram *h);
/* The same from colours that are already counted (keys may repeat: their
   counts add up; the total must stay below 2^32). */
kmq_status kmq_histogram_build_weighted(const uint32_t *keys, const uint32_t *counts, size_t n,
                                        int channels, kmq_histogram *h);
/* The same with pixel i counted weights[i] times (each 1..255; their sum
   must stay below 2^32, else KMQ_ERR_TOO_LARGE). */
kmq_status kmq_histogram_build_pixel_weights(const uint8_t *pixels, const uint8_t *weights,
                                             size_t npixels, int channels, kmq_histogram *h);
void kmq_histogram_free(kmq_histogram *h);
/* kmq_histogram_build in steps, for pixels that arrive in pieces: start,
   add each piece (*used counts the colours so far, from 0), finish. */
kmq_status kmq_histogram_start(kmq_histogram *h, int channels);
kmq_status kmq_histogram_add(kmq_histogram *h, const uint8_t *pixels, size_t npixels,
                             size_t *used);
kmq_status kmq_histogram_finish(kmq_histogram *h, size_t used);

/* The caller's *p as this kmq reads it (fields past p->size at their
   defaults) into *full, checked as kmq_params_check checks it. */
kmq_status kmq_params_read(const kmq_params *p, kmq_params *full);

/* kmq_quantize on a finished histogram of npixels pixels: the codebook
   into *cb and each colour's label (h->n bytes, malloc'd) into
   *colour_labels; target < 0 means k = params->k, else the smallest k
   reaching target dB (*reached says if it did).  stats' timings are the
   caller's. */
kmq_status kmq_quantize_histogram(kmq_histogram *h, uint64_t npixels, const kmq_params *params,
                                  double target, kmq_codebook *cb, uint8_t **colour_labels,
                                  kmq_stats *stats, int *reached);
/* Labels pixels from their colours' labels (every colour is in h). */
void kmq_label_pixels(const kmq_histogram *h, const uint8_t *pixels, size_t npixels,
                      const uint8_t *colour_labels, int threads, uint8_t *labels);
uint32_t kmq_pack(const uint8_t *px, int channels);
/* Position of a colour in h->keys; the colour must be present. */
size_t kmq_histogram_find(const kmq_histogram *h, uint32_t key);
/* After the colours were reordered: the colour at old position i is now at
   where[i]. */
void kmq_histogram_renumber(kmq_histogram *h, const uint32_t *where);

/* A monotonic clock in seconds, for the stats' timings. */
double kmq_seconds(void);
/* PSNR in dB of a mean squared error in channel units (INFINITY for 0). */
double kmq_psnr(double mse);

/* ---- transparency (alpha.c) ----
 * Images with alpha (2 or 4 channels) are judged by what a viewer sees: each
 * pixel composited over black and over white, the squared errors of the
 * colour channels; the image's error is the mean of its two totals.  Colour
 * under alpha 0 does not count; an opaque pixel counts as its plain squared
 * difference. */
static inline int kmq_has_alpha(int channels)
{
    return channels == 2 || channels == 4;
}

/* Pixel y in place of x: the squared error over black and over white,
   summed over the colour channels, times 255^2 (exact integers). */
static inline void kmq_alpha_error(const uint8_t *x, const uint8_t *y, int channels,
                                   uint64_t *over_black, uint64_t *over_white)
{
    const int64_t a = x[channels - 1], b = y[channels - 1], A = 255 * (a - b);
    uint64_t eb = 0, ew = 0;
    for (int c = 0; c < channels - 1; c++) {
        const int64_t d = x[c] * a - y[c] * b; /* difference over black, times 255 */
        eb += (uint64_t)(d * d);
        ew += (uint64_t)((d - A) * (d - A)); /* white adds 255 - alpha */
    }
    *over_black = eb, *over_white = ew;
}

/* Where colours with alpha are clustered: a packed colour's point there,
   rounded to uint8; every fully transparent colour maps to one point. */
uint32_t kmq_alpha_to_space(uint32_t key, int channels);
/* The point of a straight pixel there, unrounded (channels doubles). */
void kmq_alpha_point(const uint8_t *px, int channels, double *p);
/* Where a pixel's error is measured: kmq_alpha_point's point for images
   with alpha, its own values for the others. */
void kmq_error_point(const uint8_t *px, int channels, int alpha, double *p);

/* stats' inertia, MSE and PSNRs from the decoded labels, as kmq_compare
   measures them (compare.c). */
kmq_status kmq_measure(const uint8_t *pixels, int width, int height, int channels,
                       const kmq_codebook *cb, const uint8_t *labels, kmq_stats *stats);

/* ---- texture: where the image itself varies (texture.c) ---- */
typedef struct {
    const uint8_t *pixels;
    int W, H, C, alpha; /* alpha: measured on alpha.c's points, else the values */
    float *points;      /* 5 rows: y-2 .. y+2 */
    float *texture;     /* second differences of 3 rows, row r in slot r % 3 */
    int held[3];        /* the row in each slot, -1 for none */
    int loaded;         /* rows below this are in points */
} kmq_texture;
/* 1 if any pixel has alpha below 255 (channels 2 and 4). */
int kmq_translucent(const uint8_t *pixels, size_t npixels, int channels);
kmq_status kmq_texture_open(kmq_texture *m, const uint8_t *pixels, int width, int height,
                            int channels, int alpha);
void kmq_texture_close(kmq_texture *m);
/* Row y's smoothness, 0..1, into out (rows asked for in order); after it,
   rows y-2 .. y+2 are in the window. */
void kmq_texture_row(kmq_texture *m, int y, float *out);
/* Row y's pixels as measured (y within 2 of the last row asked for). */
const float *kmq_texture_points(kmq_texture *m, int y);
/* The squared error over black and over white (channel units, summed over
   pixels and colour channels) of h's colours labelled colour_labels with
   straight entries. */
void kmq_alpha_sse(const kmq_histogram *h, const uint8_t *entries, const uint8_t *colour_labels,
                   double *over_black, double *over_white);

/* ---- kd-tree over the distinct colours ---- */
#define KMQ_LEAF_SIZE 16 /* colours per leaf, at most */
/* The walks stop at nodes of at most this many colours and scan them with
   branch-free loops: cheaper than descending to the leaves.  The leaves stay
   small so that the colours' order, which decides what a seed draws, does
   not depend on this tuning. */
#define KMQ_SCAN_SIZE 48
typedef struct {
    uint32_t begin, end;   /* colours [begin, end) of the tree's arrays */
    int32_t left, right;   /* children, -1 for a leaf */
    uint8_t lo[4], hi[4];  /* bounding box */
    uint64_t w;            /* pixels */
    uint64_t sum[4];       /* sum of pixels' channel values */
    uint64_t sq;           /* sum of pixels' squared norms */
} kmq_node;

/* A leaf, or a node small enough to scan (see KMQ_SCAN_SIZE). */
static inline int kmq_scan_here(const kmq_node *nd)
{
    return nd->left < 0 || nd->end - nd->begin <= KMQ_SCAN_SIZE;
}

typedef struct {
    int channels;
    size_t n, nnodes;
    const uint32_t *key, *cnt; /* the histogram's arrays, which the build put in tree order */
    kmq_node *nodes;           /* nodes[0] is the root */
    int32_t *tasks;            /* subtrees of at most KMQ_CHUNK colours, in tree order: */
    size_t ntasks;             /* the units that threads share out */
} kmq_tree;

/* Builds the tree over h's colours, reordering h->keys and h->counts into
   tree order (the index in h keeps working: kmq_histogram_find follows);
   the same tree on any number of threads (0 = the free cores). */
kmq_status kmq_tree_build(kmq_histogram *h, kmq_tree *t, int threads);
/* For tests: the nodes each thread's pool starts with when the tree is
   built on several threads (0: the default, about what photos need). */
extern size_t kmq_tree_pool_room;
void kmq_tree_free(kmq_tree *t);

/* The straight codebook for a clustering found on hk (h's colours mapped by
   kmq_alpha_to_space; tree is hk's, or NULL): hk_labels per hk colour in,
   entries (k * channels) and labels per h colour out, with their exact
   errors over black and white.  With pinned, entry 0 is the transparent one
   and stays 0 in every channel. */
kmq_status kmq_alpha_codebook(const kmq_histogram *h, const kmq_histogram *hk,
                              const kmq_tree *tree, int k, int pinned, int threads,
                              const uint8_t *hk_labels, uint8_t *entries, uint8_t *labels,
                              double *over_black, double *over_white);

/* ---- k-means on the weighted distinct colours ---- */

/* Squared-centre-shift threshold: tol * mean per-channel variance of the pixels. */
double kmq_tolerance(const kmq_histogram *h, double tol);

/* Initial centres (k * channels doubles) by k-means++ (scikit-learn's greedy
   variant) or by k distinct colours drawn by weight without replacement.
   Needs h->n >= k.  With pinned = 1, centres[0..channels) already holds a
   colour of the histogram that stays a centre (the transparent colour):
   seeding starts from it instead of a draw and picks the other k - 1. */
kmq_status kmq_init_kmeanspp(const kmq_tree *t, int k, kmq_rng *rng, int threads, int pinned,
                             double *centres);
kmq_status kmq_init_random(const kmq_histogram *h, int k, kmq_rng *rng, int pinned,
                           double *centres);

/*
 * Lloyd's algorithm from the given centres (k * channels, updated in place).
 * Stops after max_iter iterations, or when the total squared centre shift is
 * <= tol_abs (which includes the case where no label changed).  An empty
 * cluster takes the colour that is farthest from its centre (ties: lowest
 * key), with all its pixels.  labels (h->n bytes, or NULL) receives each
 * colour's cluster in the last assignment.  inertia_history, if not NULL,
 * receives the inertia of each assignment step (max_iter entries).  Returns
 * the iterations run, or -1 if out of memory.
 */
int kmq_lloyd(const kmq_histogram *h, const kmq_tree *t, int k, double *centres, int max_iter,
              double tol_abs, int threads, uint8_t *labels, double *inertia_history);

/* kmq_lloyd, reporting each iteration to sink (if not NULL); the first
   `pinned` centres (0 or 1) never move. */
typedef struct {
    void (*fn)(void *ctx, int restart, int restarts, int iteration);
    void *ctx;
    int restart, restarts;
    pthread_mutex_t *lock; /* one call of fn at a time, within one kmq_quantize */
} kmq_progress_sink;
int kmq_lloyd_progress(const kmq_histogram *h, const kmq_tree *t, int k, double *centres,
                       int max_iter, double tol_abs, int threads, uint8_t *labels,
                       double *inertia_history, const kmq_progress_sink *sink, int pinned);

/* Labels every colour (histogram order) with its nearest centre (lowest
   index on ties). */
kmq_status kmq_assign_labels(const kmq_tree *t, int k, const double *centres, int threads,
                             uint8_t *labels);

/* Rounds centres to uint8 entries and labels every colour (histogram order)
   with the nearest entry (lowest index on ties); *inertia receives the exact
   integer inertia. */
kmq_status kmq_finalise(const kmq_tree *t, int k, const double *centres, int threads,
                        uint8_t *entries, uint8_t *labels, uint64_t *inertia);

/* ---- shared by the k-means files ---- */
/* Points are processed in fixed chunks so that floating-point partial sums
   are always added in the same order, whatever the thread count. */
#define KMQ_CHUNK 4096
/* Unpacks colour key into doubles x[0..channels-1]. */
static inline void kmq_unpack_d(uint32_t key, int channels, double *x)
{
    if (channels < 1 || channels > KMQ_MAX_CHANNELS)
        __builtin_unreachable(); /* lets the compiler see x[0] is always set */
    for (int c = 0; c < channels; c++)
        x[c] = (double)((key >> (8 * c)) & 0xFF);
}

#endif
