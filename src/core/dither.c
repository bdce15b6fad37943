/* Floyd-Steinberg error diffusion in the labelling step: each pixel takes
 * the entry nearest to its colour plus the error its neighbours passed on,
 * and passes its own error on (7/16 right, 3/16 down-left, 5/16 down,
 * 1/16 down-right).  Raster order, one thread: the same bytes every time.
 * The codebook is kept; only the labels change.
 * Images with alpha are diffused where their error is measured (alpha.c:
 * the composite over mid grey and the weighted alpha); fully transparent
 * pixels take the entry nearest to transparency and neither receive nor
 * pass on error, so no speckles appear in empty areas. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int translucent(const uint8_t *pixels, size_t npixels, int C)
{
    for (size_t i = 0; kmq_has_alpha(C) && i < npixels; i++)
        if (pixels[i * C + C - 1] != 255)
            return 1;
    return 0;
}

kmq_status kmq_dither(const uint8_t *pixels, int width, int height, int channels,
                      const kmq_codebook *cb, uint8_t *labels, kmq_stats *stats)
{
    if (kmq_codebook_check(cb) != KMQ_OK || !pixels || !labels || width < 1 || height < 1 ||
        channels != cb->channels)
        return KMQ_ERR_ARG;
    const int C = channels, k = cb->k;
    const size_t npixels = (size_t)width * height;
    /* Opaque images: the entries' own values, as before alpha was known. */
    const int alpha = translucent(pixels, npixels, C);
    float points[KMQ_MAX_K * KMQ_MAX_CHANNELS];
    for (int j = 0; j < k; j++) {
        double p[KMQ_MAX_CHANNELS];
        if (alpha)
            kmq_alpha_point(cb->entries + (size_t)j * C, C, p);
        for (int c = 0; c < C; c++)
            points[j * C + c] = alpha ? (float)p[c] : cb->entries[(size_t)j * C + c];
    }
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
    const size_t row = ((size_t)width + 2) * C;
    float *err = calloc(2 * row, sizeof *err); /* this row and the next, one pixel of margin */
    if (!err)
        return KMQ_ERR_NOMEM;
    for (int y = 0; y < height; y++) {
        float *cur = err + (size_t)(y & 1) * row + C, *next = err + (size_t)((y + 1) & 1) * row + C;
        memset(next - C, 0, row * sizeof *next);
        for (int x = 0; x < width; x++) {
            const size_t i = (size_t)y * width + x;
            const uint8_t *px = pixels + i * C;
            if (alpha && px[C - 1] == 0) {
                labels[i] = (uint8_t)clear;
                continue;
            }
            double p[KMQ_MAX_CHANNELS];
            if (alpha)
                kmq_alpha_point(px, C, p);
            float want[KMQ_MAX_CHANNELS];
            for (int c = 0; c < C; c++) {
                float v = (alpha ? (float)p[c] : px[c]) + cur[x * C + c];
                want[c] = v < 0 ? 0 : v > 255 ? 255 : v;
            }
            int best = 0;
            float bd = INFINITY;
            for (int j = 0; j < k; j++) {
                float d = 0;
                for (int c = 0; c < C; c++)
                    d += (want[c] - points[j * C + c]) * (want[c] - points[j * C + c]);
                if (d < bd)
                    bd = d, best = j;
            }
            labels[i] = (uint8_t)best;
            for (int c = 0; c < C; c++) {
                float q = want[c] - points[best * C + c];
                cur[(x + 1) * C + c] += q * (7.0f / 16);
                next[(x - 1) * C + c] += q * (3.0f / 16);
                next[x * C + c] += q * (5.0f / 16);
                next[(x + 1) * C + c] += q * (1.0f / 16);
            }
        }
    }
    free(err);
    if (stats) {
        /* The error of the result, measured as kmq_compare does. */
        kmq_image a = {width, height, C, (uint8_t *)pixels};
        kmq_diff d;
        uint8_t *out = malloc(npixels * C);
        if (!out)
            return KMQ_ERR_NOMEM;
        kmq_status s = kmq_decode_labels(labels, npixels, cb, out, NULL);
        kmq_image b = {width, height, C, out};
        if (s == KMQ_OK)
            s = kmq_compare(&a, &b, &d);
        free(out);
        if (s != KMQ_OK)
            return s;
        stats->inertia = d.sse;
        stats->mse = d.mse;
        stats->psnr = d.psnr;
        stats->psnr_black = d.psnr_black;
        stats->psnr_white = d.psnr_white;
    }
    return KMQ_OK;
}
