/* Differences between two images of the same size and channels.  Without
   alpha: exact integer sums over every sample.  With alpha: what a viewer
   sees over black and over white (internal.h, kmq_alpha_error), the same
   measure kmq_quantize reports. */
#include "internal.h"
#include "why.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int64_t abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

double kmq_psnr(double mse)
{
    return mse > 0 ? 10.0 * log10(255.0 * 255.0 / mse) : INFINITY;
}

/* What kmq_compare and kmq_ssim refuse in a and b, with its text; the
   result's pointer (d, ssim) is `out`. */
static kmq_status pair_fault(const kmq_image *a, const kmq_image *b, const void *out,
                             const char *out_name)
{
    kmq_why_clear();
    if (!a || !b)
        return kmq_arg("%s is NULL", a ? "b" : "a");
    if (!out)
        return kmq_arg("%s is NULL", out_name);
    if (!a->pixels || !b->pixels)
        return kmq_arg("%s.pixels is NULL", a->pixels ? "b" : "a");
    if (a->width != b->width || a->height != b->height || a->channels != b->channels)
        return kmq_why(KMQ_ERR_SIZE_MISMATCH,
                       "a is %d x %d with %d channels, b %d x %d with %d", a->width, a->height,
                       a->channels, b->width, b->height, b->channels);
    return KMQ_OK;
}

kmq_status kmq_compare(const kmq_image *a, const kmq_image *b, kmq_diff *d)
{
    kmq_status s = pair_fault(a, b, d, "d");
    if (s != KMQ_OK)
        return s;
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

/* One sample of channel c as compared: with alpha, the colour composited
   over mid grey (alpha itself is not a channel of the picture). */
static double sample(const kmq_image *img, size_t i, int c, int alpha)
{
    const uint8_t *p = img->pixels + i * (size_t)img->channels;
    if (!alpha)
        return p[c];
    const double a = p[img->channels - 1];
    return (p[c] * a + 128.0 * (255 - a)) / 255.0;
}

/* Row y's samples of channel c (sign 1) or their removal (-1) into the
   column sums of x, y, x^2, y^2 and xy. */
static void add_row(double *sums, int W, const kmq_image *a, const kmq_image *b, int y, int c,
                    int alpha, int sign)
{
    double *sx = sums, *sy = sx + W, *sxx = sy + W, *syy = sxx + W, *sxy = syy + W;
    for (int x = 0; x < W; x++) {
        const size_t i = (size_t)y * W + x;
        const double u = sample(a, i, c, alpha), v = sample(b, i, c, alpha);
        sx[x] += sign * u, sy[x] += sign * v;
        sxx[x] += sign * u * u, syy[x] += sign * v * v, sxy[x] += sign * u * v;
    }
}

/* The SSIM of Wang et al. as scikit-image computes it by default
   (structural_similarity with data_range=255): a 7x7 uniform window, sample
   (co)variances, K1 = 0.01, K2 = 0.03, the mean over every window inside
   the image and over the colour channels.  The window sums slide a row and
   a column at a time: memory is five rows of sums, not five images. */
kmq_status kmq_ssim(const kmq_image *a, const kmq_image *b, double *ssim)
{
    enum { WIN = 7, N = WIN * WIN };
    kmq_status s = pair_fault(a, b, ssim, "ssim");
    if (s != KMQ_OK)
        return s;
    *ssim = NAN;
    const int W = a->width, H = a->height, C = a->channels, alpha = kmq_has_alpha(C);
    const int colours = alpha ? C - 1 : C;
    if (W < WIN || H < WIN)
        return KMQ_OK; /* no window fits: undefined */
    double *sums = calloc((size_t)5 * W, sizeof *sums);
    if (!sums)
        return KMQ_ERR_NOMEM;
    const double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
    const double norm = (double)N / (N - 1);
    double total = 0;
    for (int c = 0; c < colours; c++) {
        double *sx = sums, *sy = sx + W, *sxx = sy + W, *syy = sxx + W, *sxy = syy + W;
        memset(sums, 0, (size_t)5 * W * sizeof *sums);
        for (int y = 0; y < H; y++) {
            add_row(sums, W, a, b, y, c, alpha, 1); /* the window's new row in */
            if (y >= WIN)
                add_row(sums, W, a, b, y - WIN, c, alpha, -1); /* and its oldest out */
            if (y < WIN - 1)
                continue;
            double hx = 0, hy = 0, hxx = 0, hyy = 0, hxy = 0;
            for (int x = 0; x < W; x++) {
                hx += sx[x], hy += sy[x], hxx += sxx[x], hyy += syy[x], hxy += sxy[x];
                if (x >= WIN)
                    hx -= sx[x - WIN], hy -= sy[x - WIN], hxx -= sxx[x - WIN],
                        hyy -= syy[x - WIN], hxy -= sxy[x - WIN];
                if (x < WIN - 1)
                    continue;
                const double ux = hx / N, uy = hy / N;
                const double vx = norm * (hxx / N - ux * ux), vy = norm * (hyy / N - uy * uy);
                const double vxy = norm * (hxy / N - ux * uy);
                total += (2 * ux * uy + c1) * (2 * vxy + c2) /
                         ((ux * ux + uy * uy + c1) * (vx + vy + c2));
            }
        }
    }
    free(sums);
    *ssim = total / ((double)(W - WIN + 1) * (H - WIN + 1) * colours);
    return KMQ_OK;
}

kmq_status kmq_measure(const uint8_t *pixels, int width, int height, int channels,
                       const kmq_codebook *cb, const uint8_t *labels, kmq_stats *stats)
{
    const size_t npixels = (size_t)width * height;
    uint8_t *out = kmq_big_malloc(npixels * channels);
    if (!out)
        return KMQ_ERR_NOMEM;
    kmq_diff d;
    kmq_image a = {width, height, channels, (uint8_t *)pixels}, b = {width, height, channels, out};
    kmq_status s = kmq_labels_to_pixels(labels, npixels, cb, out, NULL);
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
    return KMQ_OK;
}
