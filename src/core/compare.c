/* Differences between two images of the same size and channels: exact
   integer sums, so the figures do not depend on the order of the pixels. */
#include "kmq.h"

#include <math.h>

kmq_status kmq_compare(const kmq_image *a, const kmq_image *b, kmq_diff *d)
{
    if (!a || !b || !d || !a->pixels || !b->pixels)
        return KMQ_ERR_ARG;
    if (a->width != b->width || a->height != b->height || a->channels != b->channels)
        return KMQ_ERR_SIZE_MISMATCH;
    const size_t n = (size_t)a->width * a->height * a->channels;
    uint64_t sum = 0;
    int max_abs = 0;
    for (size_t i = 0; i < n; i++) {
        int e = (int)a->pixels[i] - b->pixels[i];
        e = e < 0 ? -e : e;
        sum += (uint64_t)(e * e);
        max_abs = e > max_abs ? e : max_abs;
    }
    d->samples = n;
    d->sse = sum;
    d->mse = n ? (double)sum / (double)n : 0;
    d->psnr = d->mse > 0 ? 10.0 * log10(255.0 * 255.0 / d->mse) : INFINITY;
    d->max_abs = max_abs;
    return KMQ_OK;
}
