/* Error diffusion in the labelling step, where it helps the eye: each
 * pixel takes the entry nearest to its colour plus the error its
 * neighbours passed on, and passes part of its own error on (Floyd and
 * Steinberg's 7/16, 3/16, 5/16, 1/16), every other row right to left
 * (serpentine: no diagonal worms).  How much it passes on is decided per
 * pixel, measured on tiger and kodim01-08 against pngquant's default
 * (bench/what_people_see.py; the figures are in README, Dithering):
 * - strength: the smoothness of texture.c, full on smooth areas, where a
 *   gradient would show bands; less where the image itself varies (texture
 *   and edges hide banding, and noise there only adds grain and bytes).
 * - no speckles: an entry far farther from the pixel than its plain one
 *   is not taken (far_off).
 * - no streaks: the error a pixel receives is at most ERR_LIMIT times the
 *   distance from its own entry to the nearest other, the palette's spacing
 *   there.  Where no entry is near a colour (outside the palette), error
 *   would otherwise grow along the row until some far entry is nearest: a
 *   line of pink across a purple disc (tests/cli/dither.bats).
 * - a dead zone: an error under DEAD_ZONE (a colour distance) is kept, not
 *   spread, and a larger one is spread less that much, so areas the palette
 *   matches stay flat (plain Floyd-Steinberg covered the whole image in an
 *   even worm texture and cost 3.5 dB PSNR; this costs 0.2-0.4 dB at k=16).
 * Raster order, one thread: the same bytes every time.  The codebook is
 * kept; only the labels change.
 * Images with alpha are diffused where their error is measured (alpha.c:
 * the composite over mid grey and the weighted alpha); fully transparent
 * pixels take the entry nearest to transparency and neither receive nor
 * pass on error, so no speckles appear in empty areas. */
#include "internal.h"
#include "sized.h"
#include "why.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEAD_ZONE 2.0f
#define ERR_LIMIT 2.0f /* times the spacing of the entries around the pixel's own */

/* Each entry's others, nearest first: an entry farther from the guess g
   than |want - g| + |want - best| cannot be nearer to want than best
   (triangle inequality), so a search from a good guess (the pixel's own
   label) looks at a few neighbours, not all k.  Exact: the answer is what
   a scan of every entry gives. */
typedef struct {
    int k;
    float dist[KMQ_MAX_K][KMQ_MAX_K]; /* dist[g][n]: to g's n-th nearest other entry */
    uint8_t index[KMQ_MAX_K][KMQ_MAX_K];
} neighbours;

typedef struct {
    float d;
    int j;
} by_dist;

static int compare_dist(const void *a, const void *b)
{
    const by_dist *x = a, *y = b;
    return x->d < y->d ? -1 : x->d > y->d ? 1 : x->j - y->j;
}

static void find_neighbours(neighbours *nb, const float *points, int k, int C)
{
    nb->k = k;
    for (int g = 0; g < k; g++) {
        by_dist o[KMQ_MAX_K];
        int n = 0;
        for (int j = 0; j < k; j++) {
            if (j == g)
                continue;
            float d = 0;
            for (int c = 0; c < C; c++)
                d += (points[g * C + c] - points[j * C + c]) * (points[g * C + c] - points[j * C + c]);
            o[n++] = (by_dist){sqrtf(d), j};
        }
        qsort(o, (size_t)n, sizeof *o, compare_dist);
        for (int m = 0; m < n; m++)
            nb->dist[g][m] = o[m].d, nb->index[g][m] = (uint8_t)o[m].j;
    }
}

/* The entry nearest to want (the lowest index among equals), from the guess
   g at squared distance dg. */
static int nearest(const neighbours *nb, const float *points, int C, const float *want, int g,
                   float dg)
{
    const float rg = sqrtf(dg);
    int best = g;
    float bd = dg;
    for (int m = 0; m < nb->k - 1; m++) {
        /* the margin keeps float rounding from cutting a tie short */
        if (nb->dist[g][m] > rg + sqrtf(bd) + 1e-3f)
            break;
        const int j = nb->index[g][m];
        float d = 0;
        for (int c = 0; c < C; c++)
            d += (want[c] - points[j * C + c]) * (want[c] - points[j * C + c]);
        if (d < bd || (d == bd && j < best))
            bd = d, best = j;
    }
    return best;
}

/* Whether entry `best` is so much farther from the pixel's own colour p
   than its plain entry that it would stand out as a speckle of another hue
   (error piled up on a smooth area whose palette is sparse: orange dots in
   a purple disc at k = 16).  Such a pixel keeps its plain entry.  The bound
   (4 times the plain error, plus 32 levels) touches a few pixels of a
   photo: on tiger, kodim01, 04 and 05 the mean butteraugli and PSNR moved by
   0.01 at most; a tighter one (2x + 8) brought the bands back (k = 64:
   butteraugli 7.85 -> 10.03). */
static int far_off(const float *p, const float *points, int C, int plain, int best)
{
    float dp = 0, db = 0;
    for (int c = 0; c < C; c++) {
        dp += (p[c] - points[plain * C + c]) * (p[c] - points[plain * C + c]);
        db += (p[c] - points[best * C + c]) * (p[c] - points[best * C + c]);
    }
    return sqrtf(db) > 4 * sqrtf(dp) + 32;
}

kmq_status kmq_dither(const uint8_t *pixels, int width, int height, int channels,
                      const kmq_codebook *cb, uint8_t *labels, kmq_stats *stats)
{
    return kmq_dither_strength(pixels, width, height, channels, cb, 1.0, labels, stats);
}

kmq_status kmq_dither_strength(const uint8_t *pixels, int width, int height, int channels,
                               const kmq_codebook *cb, double amount, uint8_t *labels,
                               kmq_stats *stats)
{
    kmq_status s = kmq_codebook_check(cb);
    if (s != KMQ_OK)
        return s;
    if (!pixels)
        return kmq_arg("pixels is NULL");
    if (!labels)
        return kmq_arg("labels is NULL");
    if (width < 1 || height < 1)
        return kmq_arg("the image is %d x %d pixels", width, height);
    if (channels != cb->channels)
        return kmq_arg("channels = %d is not cb.channels = %d", channels, cb->channels);
    if (!(amount >= 0 && amount <= 1))
        return kmq_arg("strength = %g is outside 0..1", amount);
    if ((s = kmq_stats_check(stats)) != KMQ_OK)
        return s;
    const float level = (float)amount;
    const int C = channels, k = cb->k;
    const size_t npixels = (size_t)width * height;
    /* Opaque images: the entries' own values, as before alpha was known. */
    const int alpha = kmq_translucent(pixels, npixels, C);
    float points[KMQ_MAX_K * KMQ_MAX_CHANNELS], reach[KMQ_MAX_K];
    for (int j = 0; j < k; j++) {
        double p[KMQ_MAX_CHANNELS];
        kmq_error_point(cb->entries + (size_t)j * C, C, alpha, p);
        for (int c = 0; c < C; c++)
            points[j * C + c] = (float)p[c];
    }
    neighbours *nb = malloc(sizeof *nb);
    if (!nb)
        return KMQ_ERR_NOMEM;
    find_neighbours(nb, points, k, C);
    /* reach[j]: a colour nearer to entry j than this (squared) has j as its
       nearest entry (half the distance to j's nearest other entry, a hair
       less so that rounding in the square root never widens it). */
    for (int j = 0; j < k; j++)
        reach[j] = k > 1 ? nb->dist[j][0] * nb->dist[j][0] / 4 * (1 - 1e-6f) : INFINITY;
    int clear = 0; /* the entry for fully transparent pixels */
    if (alpha) {
        const uint8_t zero[KMQ_MAX_CHANNELS] = {0};
        double z[KMQ_MAX_CHANNELS], bd = INFINITY;
        kmq_alpha_point(zero, C, z);
        for (int j = 0; j < k; j++) {
            double d = 0;
            for (int c = 0; c < C; c++)
                d += (points[j * C + c] - z[c]) * (points[j * C + c] - z[c]);
            if (d < bd)
                bd = d, clear = j;
        }
    }
    kmq_texture m;
    if (kmq_texture_open(&m, pixels, width, height, C, alpha) != KMQ_OK) {
        free(nb);
        return KMQ_ERR_NOMEM;
    }
    float *map = malloc((size_t)width * sizeof *map);
    const size_t row = ((size_t)width + 2) * C;
    float *err = calloc(2 * row, sizeof *err); /* this row and the next, one pixel of margin */
    if (!err || !map) {
        free(err), free(map), kmq_texture_close(&m), free(nb);
        return KMQ_ERR_NOMEM;
    }
    for (int y = 0; y < height; y++) {
        float *cur = err + (size_t)(y & 1) * row + C, *next = err + (size_t)((y + 1) & 1) * row + C;
        memset(next - C, 0, row * sizeof *next);
        kmq_texture_row(&m, y, map);
        const float *here = kmq_texture_points(&m, y);
        const int back = y & 1; /* serpentine: every other row right to left */
        const int step = back ? -1 : 1;
        for (int n = 0; n < width; n++) {
            const int x = back ? width - 1 - n : n;
            const size_t i = (size_t)y * width + x;
            const uint8_t *px = pixels + i * C;
            if (alpha && px[C - 1] == 0) {
                labels[i] = (uint8_t)clear;
                continue;
            }
            const float *p = here + (size_t)x * C;
            const int plain = labels[i] < k ? labels[i] : 0; /* the guess */
            /* the error received, limited (see ERR_LIMIT) */
            float want[KMQ_MAX_CHANNELS], got = 0, cap = 1;
            for (int c = 0; c < C; c++)
                got += cur[x * C + c] * cur[x * C + c];
            const float limit = k > 1 ? ERR_LIMIT * nb->dist[plain][0] : INFINITY;
            if (got > limit * limit)
                cap = limit / sqrtf(got);
            for (int c = 0; c < C; c++) {
                float v = p[c] + cur[x * C + c] * cap;
                want[c] = v < 0 ? 0 : v > 255 ? 255 : v;
            }
            int best = plain;
            float bd = 0;
            for (int c = 0; c < C; c++)
                bd += (want[c] - points[best * C + c]) * (want[c] - points[best * C + c]);
            if (!(bd < reach[best]))
                best = nearest(nb, points, C, want, best, bd);
            if (best != plain && far_off(p, points, C, plain, best))
                best = plain;
            labels[i] = (uint8_t)best;
            float q[KMQ_MAX_CHANNELS], qq = 0;
            for (int c = 0; c < C; c++) {
                q[c] = want[c] - points[best * C + c];
                qq += q[c] * q[c];
            }
            /* the strength, less the dead zone */
            const float f = qq > DEAD_ZONE * DEAD_ZONE ? level * map[x] * (1 - DEAD_ZONE / sqrtf(qq)) : 0;
            for (int c = 0; c < C; c++)
                q[c] *= f;
            for (int c = 0; c < C; c++) {
                cur[(x + step) * C + c] += q[c] * (7.0f / 16);
                next[(x - step) * C + c] += q[c] * (3.0f / 16);
                next[x * C + c] += q[c] * (5.0f / 16);
                next[(x + step) * C + c] += q[c] * (1.0f / 16);
            }
        }
    }
    free(err), free(map), kmq_texture_close(&m), free(nb);
    /* The error of the result, measured as kmq_compare does. */
    if (!stats)
        return KMQ_OK;
    kmq_stats st;
    kmq_stats_get(stats, &st);
    if ((s = kmq_measure(pixels, width, height, C, cb, labels, &st)) == KMQ_OK)
        kmq_stats_put(stats, &st);
    return s;
}
