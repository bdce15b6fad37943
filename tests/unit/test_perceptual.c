/* kmq_quantize_perceptual (the palette png8 dithers with): exact and
   deterministic as kmq_quantize, its stats the plain error of what it
   returns, and a small colour far from every entry pulls one its way. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kmq.h"

/* A smooth two-way gradient of C channels with a little texture, and with
   alpha a transparent corner and a translucent band. */
static kmq_image gradient(int w, int h, int C)
{
    kmq_image img = {w, h, C, malloc((size_t)w * h * C)};
    cr_assert(img.pixels);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < C; c++) {
                uint8_t *p = img.pixels + ((size_t)y * w + x) * C;
                if ((C == 2 || C == 4) && c == C - 1)
                    p[c] = x < w / 5 && y < h / 5 ? 0 : y > h * 4 / 5 ? (uint8_t)(x * 255 / w) : 255;
                else
                    p[c] = (uint8_t)((x * 200 / w + y * 55 / h) * (c + 2) / (C + 1) + (x * y % 7));
            }
    return img;
}

static double max_error(const kmq_image *img, const kmq_codebook *cb, const uint8_t *labels,
                        int x0, int y0, int n)
{
    double worst = 0;
    for (int y = y0; y < y0 + n; y++)
        for (int x = x0; x < x0 + n; x++) {
            const size_t i = (size_t)y * img->width + x;
            double d = 0;
            for (int c = 0; c < img->channels; c++) {
                const double e = (double)img->pixels[i * img->channels + c] -
                                 cb->entries[(size_t)labels[i] * cb->channels + c];
                d += e * e;
            }
            worst = fmax(worst, sqrt(d));
        }
    return worst;
}

Test(perceptual, same_bytes_on_any_thread_count_and_stats_are_the_plain_error)
{
    for (int C = 1; C <= 4; C++) {
        kmq_image img = gradient(120, 90, C);
        const size_t n = (size_t)img.width * img.height;
        uint8_t *first = malloc(n), *labels = malloc(n);
        kmq_codebook cb0 = {0};
        for (int threads = 1; threads <= 4; threads++) {
            for (int k = 4; k <= 64; k *= 4) {
                kmq_params p;
                kmq_params_default(&p);
                p.k = k, p.threads = threads;
                kmq_codebook cb;
                kmq_stats st;
                kmq_stats_init(&st);
                cr_assert_eq(kmq_quantize_perceptual(&img, &p, &cb, labels, &st), KMQ_OK);
                cr_assert_eq(cb.k, k);
                /* the stats are what a decode of the result measures */
                uint8_t *out = malloc(n * C);
                cr_assert_eq(kmq_labels_to_pixels(labels, n, &cb, out, NULL), KMQ_OK);
                kmq_image back = {img.width, img.height, C, out};
                kmq_diff d;
                cr_assert_eq(kmq_compare(&img, &back, &d), KMQ_OK);
                cr_assert_float_eq(st.mse, d.mse, 1e-9 * (1 + d.mse), "C=%d k=%d", C, k);
                cr_assert_float_eq(st.psnr, d.psnr, 1e-9 * d.psnr, "C=%d k=%d", C, k);
                free(out);
                if (k == 16) {
                    if (threads == 1) {
                        memcpy(first, labels, n);
                        cb0 = cb;
                        continue;
                    }
                    cr_assert(!memcmp(first, labels, n), "C=%d threads=%d", C, threads);
                    cr_assert(!memcmp(cb0.entries, cb.entries, (size_t)k * C), "C=%d", C);
                }
                kmq_codebook_free(&cb);
            }
        }
        kmq_codebook_free(&cb0);
        free(first), free(labels), free(img.pixels);
    }
}

Test(perceptual, fewer_colours_than_k_is_kmq_quantize_lossless_result)
{
    kmq_image img = gradient(50, 40, 3);
    const size_t n = (size_t)img.width * img.height;
    for (size_t i = 0; i < n * 3; i++)
        img.pixels[i] &= 0xC0; /* at most 4 levels a channel: few colours */
    kmq_params p;
    kmq_params_default(&p);
    p.k = 256;
    uint8_t *a = malloc(n), *b = malloc(n);
    kmq_codebook ca, cbk;
    kmq_stats st;
    kmq_stats_init(&st);
    cr_assert_eq(kmq_quantize(img.pixels, n, 3, &p, &ca, a, NULL), KMQ_OK);
    cr_assert_eq(kmq_quantize_perceptual(&img, &p, &cbk, b, &st), KMQ_OK);
    cr_assert_eq(ca.k, cbk.k);
    cr_assert(!memcmp(ca.entries, cbk.entries, (size_t)ca.k * 3));
    cr_assert(!memcmp(a, b, n));
    cr_assert(isinf(st.psnr));
    kmq_codebook_free(&ca), kmq_codebook_free(&cbk);
    free(a), free(b), free(img.pixels);
}

/* A blue eye of 14 x 14 pixels in a 240 x 160 warm gradient: k-means at
   k = 8 spends every entry on the gradient (from 18 x 18 on, plain k-means
   gives the eye one too); the misfits' weight pulls the nearest entry
   toward the eye. */
Test(perceptual, a_small_colour_far_from_every_entry_pulls_the_nearest_its_way)
{
    kmq_image img = gradient(240, 160, 3);
    const int E = 14;
    for (int y = 70; y < 70 + E; y++)
        for (int x = 100; x < 100 + E; x++)
            memcpy(img.pixels + ((size_t)y * 240 + x) * 3, (uint8_t[]){40, 90, 230}, 3);
    const size_t n = (size_t)240 * 160;
    kmq_params p;
    kmq_params_default(&p);
    p.k = 8;
    uint8_t *a = malloc(n), *b = malloc(n);
    kmq_codebook plain, eye;
    cr_assert_eq(kmq_quantize(img.pixels, n, 3, &p, &plain, a, NULL), KMQ_OK);
    cr_assert_eq(kmq_quantize_perceptual(&img, &p, &eye, b, NULL), KMQ_OK);
    const double e_plain = max_error(&img, &plain, a, 100, 70, E);
    const double e_eye = max_error(&img, &eye, b, 100, 70, E);
    cr_log_info("eye's error: plain %.1f, perceptual %.1f", e_plain, e_eye);
    cr_assert_gt(e_plain, 60);
    cr_assert_lt(e_eye, e_plain - 5);
    kmq_codebook_free(&plain), kmq_codebook_free(&eye);
    free(a), free(b), free(img.pixels);
}

Test(perceptual, arguments_are_checked)
{
    kmq_image img = gradient(20, 10, 3);
    kmq_params p;
    kmq_params_default(&p);
    uint8_t labels[200];
    kmq_codebook cb;
    cr_assert_eq(kmq_quantize_perceptual(NULL, &p, &cb, labels, NULL), KMQ_ERR_ARG);
    cr_assert_eq(kmq_quantize_perceptual(&img, &p, NULL, labels, NULL), KMQ_ERR_ARG);
    cr_assert_eq(kmq_quantize_perceptual(&img, &p, &cb, NULL, NULL), KMQ_ERR_ARG);
    p.k = 1;
    cr_assert_eq(kmq_quantize_perceptual(&img, &p, &cb, labels, NULL), KMQ_ERR_ARG);
    cr_assert_null(cb.entries);
    kmq_params_default(&p);
    kmq_image bad = img;
    bad.channels = 5;
    cr_assert_eq(kmq_quantize_perceptual(&bad, &p, &cb, labels, NULL), KMQ_ERR_ARG);
    bad = img, bad.width = 0;
    cr_assert_eq(kmq_quantize_perceptual(&bad, &p, &cb, labels, NULL), KMQ_ERR_ARG);
    free(img.pixels);
}
