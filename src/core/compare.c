/* Differences between two images of the same size and channels.  Without
   alpha: exact integer sums over every sample.  With alpha: what a viewer
   sees over black and over white (internal.h, kmq_alpha_error), the same
   measure kmq_quantize reports. */
#include "internal.h"

#include <math.h>

static int64_t abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

double kmq_psnr(double mse)
{
    return mse > 0 ? 10.0 * log10(255.0 * 255.0 / mse) : INFINITY;
}

kmq_status kmq_compare(const kmq_image *a, const kmq_image *b, kmq_diff *d)
{
    if (!a || !b || !d || !a->pixels || !b->pixels)
        return KMQ_ERR_ARG;
    if (a->width != b->width || a->height != b->height || a->channels != b->channels)
        return KMQ_ERR_SIZE_MISMATCH;
    const int C = a->channels;
    const size_t npixels = (size_t)a->width * a->height, n = npixels * C;
    double over_black = 0, over_white = 0;
    int max_abs = 0;
    uint64_t samples = n;
    if (kmq_has_alpha(C)) {
        /* Integers per pixel, added in pixel order: the totals depend on
           nothing else.  max_abs: the largest difference of one colour
           channel over black or over white (times 255 until the end). */
        int64_t max_scaled = 0;
        for (size_t i = 0; i < n; i += C) {
            const uint8_t *x = a->pixels + i, *y = b->pixels + i;
            uint64_t eb, ew;
            kmq_alpha_error(x, y, C, &eb, &ew);
            over_black += (double)eb, over_white += (double)ew;
            const int64_t A = 255 * ((int64_t)x[C - 1] - y[C - 1]);
            for (int c = 0; c < C - 1; c++) {
                const int64_t db = abs64((int64_t)x[c] * x[C - 1] - (int64_t)y[c] * y[C - 1]);
                const int64_t dw = abs64((int64_t)x[c] * x[C - 1] - (int64_t)y[c] * y[C - 1] - A);
                max_scaled = db > max_scaled ? db : max_scaled;
                max_scaled = dw > max_scaled ? dw : max_scaled;
            }
        }
        over_black /= 255.0 * 255.0, over_white /= 255.0 * 255.0;
        samples = npixels * (C - 1);
        max_abs = (int)((max_scaled + 127) / 255); /* rounded to channel units */
    } else {
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i++) {
            int e = (int)a->pixels[i] - b->pixels[i];
            e = e < 0 ? -e : e;
            sum += (uint64_t)(e * e);
            max_abs = e > max_abs ? e : max_abs;
        }
        over_black = over_white = (double)sum;
    }
    d->samples = samples;
    d->sse = (over_black + over_white) / 2;
    d->mse = samples ? d->sse / (double)samples : 0;
    d->psnr = kmq_psnr(d->mse);
    d->psnr_black = kmq_psnr(samples ? over_black / (double)samples : 0);
    d->psnr_white = kmq_psnr(samples ? over_white / (double)samples : 0);
    d->max_abs = max_abs;
    return KMQ_OK;
}
