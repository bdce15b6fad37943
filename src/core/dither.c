/* Floyd-Steinberg error diffusion in the labelling step: each pixel takes
 * the entry nearest to its colour plus the error its neighbours passed on,
 * and passes its own error on (7/16 right, 3/16 down-left, 5/16 down,
 * 1/16 down-right).  Raster order, one thread: the same bytes every time.
 * The codebook is kept; only the labels change. */
#include "kmq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

kmq_status kmq_dither(const uint8_t *pixels, int width, int height, int channels,
                      const kmq_codebook *cb, uint8_t *labels, kmq_stats *stats)
{
    if (!pixels || !cb || !cb->entries || !labels || width < 1 || height < 1 ||
        channels != cb->channels || channels < 1 || channels > KMQ_MAX_CHANNELS || cb->k < 1)
        return KMQ_ERR_ARG;
    const int C = channels, k = cb->k;
    const size_t row = ((size_t)width + 2) * C;
    float *err = calloc(2 * row, sizeof *err); /* this row and the next, one pixel of margin */
    if (!err)
        return KMQ_ERR_NOMEM;
    uint64_t sse = 0;
    for (int y = 0; y < height; y++) {
        float *cur = err + (size_t)(y & 1) * row + C, *next = err + (size_t)((y + 1) & 1) * row + C;
        memset(next - C, 0, row * sizeof *next);
        for (int x = 0; x < width; x++) {
            const size_t i = (size_t)y * width + x;
            float want[KMQ_MAX_CHANNELS];
            for (int c = 0; c < C; c++) {
                float v = pixels[i * C + c] + cur[x * C + c];
                want[c] = v < 0 ? 0 : v > 255 ? 255 : v;
            }
            int best = 0;
            float bd = INFINITY;
            for (int j = 0; j < k; j++) {
                const uint8_t *e = cb->entries + (size_t)j * C;
                float d = 0;
                for (int c = 0; c < C; c++)
                    d += (want[c] - e[c]) * (want[c] - e[c]);
                if (d < bd)
                    bd = d, best = j;
            }
            labels[i] = (uint8_t)best;
            const uint8_t *e = cb->entries + (size_t)best * C;
            for (int c = 0; c < C; c++) {
                float q = want[c] - e[c];
                cur[(x + 1) * C + c] += q * (7.0f / 16);
                next[(x - 1) * C + c] += q * (3.0f / 16);
                next[x * C + c] += q * (5.0f / 16);
                next[(x + 1) * C + c] += q * (1.0f / 16);
                int t = (int)pixels[i * C + c] - e[c];
                sse += (uint64_t)(t * t);
            }
        }
    }
    free(err);
    if (stats) {
        const double n = (double)width * height * C;
        stats->inertia = (double)sse;
        stats->mse = (double)sse / n;
        stats->psnr = stats->mse > 0 ? 10.0 * log10(255.0 * 255.0 / stats->mse) : INFINITY;
    }
    return KMQ_OK;
}
