/* Images with alpha: transparent pixels cost one entry, the error is what a
   viewer sees over black and over white, opaque images are unchanged. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint64_t lcg = 99;
static uint32_t rnd(void)
{
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(lcg >> 33);
}

/* A gradient disc on a background of alpha 0 whose RGB is noise, with an
   antialiased rim (alpha ramps over 3 pixels): the first case. */
static uint8_t *disc(int w, int h, int C)
{
    lcg = 7;
    uint8_t *p = malloc((size_t)w * h * C);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *q = p + ((size_t)y * w + x) * C;
            double d = hypot(x - w / 2.0, y - h / 2.0), r = w * 0.4;
            int a = d < r - 3 ? 255 : d > r ? 0 : (int)lround(255 * (r - d) / 3);
            for (int c = 0; c < C - 1; c++)
                q[c] = a ? (uint8_t)(c == 0 ? 255 * x / w : c == 1 ? 255 * y / h : 255 - 200 * x / w)
                         : (uint8_t)rnd();
            q[C - 1] = (uint8_t)a;
        }
    return p;
}

/* The error over black and over white, straight from the definition in
   floating point: the oracle for everything below. */
static void composite_mse(const uint8_t *a, const uint8_t *b, size_t n, int C, double *black,
                          double *white)
{
    double eb = 0, ew = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *x = a + i * C, *y = b + i * C;
        const double ax = x[C - 1] / 255.0, ay = y[C - 1] / 255.0;
        for (int c = 0; c < C - 1; c++) {
            double db = x[c] * ax - y[c] * ay;
            double dw = (x[c] * ax + 255 * (1 - ax)) - (y[c] * ay + 255 * (1 - ay));
            eb += db * db, ew += dw * dw;
        }
    }
    *black = eb / ((double)n * (C - 1));
    *white = ew / ((double)n * (C - 1));
}

static void quantize(const uint8_t *px, size_t n, int C, int k, int threads, kmq_codebook *cb,
                     uint8_t *labels, kmq_stats *st)
{
    kmq_params p;
    kmq_params_default(&p);
    p.k = k;
    p.threads = threads;
    cr_assert_eq(kmq_quantize(px, n, C, &p, cb, labels, st), KMQ_OK);
}

Test(alpha, transparent_pixels_share_one_clear_entry)
{
    for (int C = 2; C <= 4; C += 2) {
        const int w = 96, h = 80;
        const size_t n = (size_t)w * h;
        uint8_t *px = disc(w, h, C), *labels = malloc(n), *out = malloc(n * C);
        kmq_codebook cb;
        kmq_stats st;
        kmq_stats_init(&st);
        quantize(px, n, C, 16, 0, &cb, labels, &st);
        int clear = -1, with_alpha0 = 0;
        for (int j = 0; j < cb.k; j++)
            if (cb.entries[j * C + C - 1] == 0) {
                with_alpha0++;
                clear = j;
                for (int c = 0; c < C; c++)
                    cr_assert_eq(cb.entries[j * C + c], 0, "the clear entry is not all zero");
            }
        cr_assert_eq(with_alpha0, 1, "%d entries of alpha 0 (C = %d)", with_alpha0, C);
        for (size_t i = 0; i < n; i++)
            if (px[i * C + C - 1] == 0)
                cr_assert_eq(labels[i], clear, "a transparent pixel is not on the clear entry");
            else if (labels[i] == clear) /* only the faintest rim may become clear */
                cr_assert_lt(px[i * C + C - 1], 64, "alpha %d made clear", px[i * C + C - 1]);
        cr_assert_eq(kmq_labels_to_pixels(labels, n, &cb, out, NULL), KMQ_OK);
        kmq_codebook_free(&cb);
        free(px), free(labels), free(out);
    }
}

Test(alpha, reported_error_is_the_composite_error_of_the_decoded_image)
{
    for (int C = 2; C <= 4; C += 2)
        for (int k = 2; k <= 64; k *= 4) {
            const int w = 64, h = 48;
            const size_t n = (size_t)w * h;
            uint8_t *px = disc(w, h, C), *labels = malloc(n), *out = malloc(n * C);
            for (size_t i = 0; i < n; i += 7) /* some half-transparent pixels too */
                px[i * C + C - 1] = (uint8_t)(px[i * C + C - 1] / 2);
            kmq_codebook cb;
            kmq_stats st;
            kmq_stats_init(&st);
            quantize(px, n, C, k, 0, &cb, labels, &st);
            cr_assert_eq(kmq_labels_to_pixels(labels, n, &cb, out, NULL), KMQ_OK);
            double b, wh;
            composite_mse(px, out, n, C, &b, &wh);
            cr_assert_float_eq(st.mse, (b + wh) / 2, 1e-9 * (1 + st.mse), "C %d k %d: %g vs %g", C,
                               k, st.mse, (b + wh) / 2);
            cr_assert_float_eq(st.psnr_black, 10 * log10(255.0 * 255.0 / b), 1e-9);
            cr_assert_float_eq(st.psnr_white, 10 * log10(255.0 * 255.0 / wh), 1e-9);
            /* kmq_compare says the same */
            kmq_image A = {w, h, C, px}, B = {w, h, C, out};
            kmq_diff d;
            cr_assert_eq(kmq_compare(&A, &B, &d), KMQ_OK);
            cr_assert_float_eq(d.mse, st.mse, 1e-9 * (1 + st.mse));
            cr_assert_eq(d.samples, n * (C - 1));
            kmq_codebook_free(&cb);
            free(px), free(labels), free(out);
        }
}

Test(alpha, compare_ignores_colour_under_alpha_0_and_counts_opaque_pixels_plainly)
{
    /* two RGBA pixels: the first transparent with different RGB, the second
       opaque and 3 apart in red */
    uint8_t a[] = {10, 20, 30, 0, 100, 100, 100, 255};
    uint8_t b[] = {250, 0, 99, 0, 103, 100, 100, 255};
    kmq_image A = {2, 1, 4, a}, B = {2, 1, 4, b};
    kmq_diff d;
    cr_assert_eq(kmq_compare(&A, &B, &d), KMQ_OK);
    cr_assert_eq(d.samples, 6);
    cr_assert_float_eq(d.sse, 9.0, 1e-12);
    cr_assert_eq(d.max_abs, 3);
    /* half alpha: over black 200*0.5 vs 100*0.5 -> 50 apart in red; over
       white 100+127.5 vs 50+127.5 -> also 50 */
    uint8_t c[] = {200, 0, 0, 0}, e[] = {100, 0, 0, 0};
    c[3] = e[3] = 128;
    kmq_image Cc = {1, 1, 4, c}, E = {1, 1, 4, e};
    cr_assert_eq(kmq_compare(&Cc, &E, &d), KMQ_OK);
    const double diff = 100.0 * 128 / 255;
    cr_assert_float_eq(d.sse, diff * diff, 1e-9);
    cr_assert_float_eq(d.psnr_black, d.psnr_white, 1e-9);
    /* alpha alone: black pixel at alpha 255 vs 0 -> 0 over black, 255 over white */
    uint8_t g[] = {0, 255}, z[] = {0, 0};
    kmq_image G = {1, 1, 2, g}, Z = {1, 1, 2, z};
    cr_assert_eq(kmq_compare(&G, &Z, &d), KMQ_OK);
    cr_assert(isinf(d.psnr_black));
    cr_assert_float_eq(d.psnr_white, 0.0, 1e-9);
    cr_assert_float_eq(d.mse, 255.0 * 255 / 2, 1e-9);
}

Test(alpha, opaque_rgba_gives_the_rgb_result)
{
    /* An opaque RGBA image is clustered exactly as its RGB pixels, and its
       error is the RGB error (alpha adds nothing to what is seen). */
    const size_t n = 3000;
    lcg = 5;
    uint8_t *rgb = malloc(n * 3), *rgba = malloc(n * 4), *l3 = malloc(n), *l4 = malloc(n);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 4; c++) {
            uint8_t v = (uint8_t)(rnd() % 50 * 5);
            if (c < 3)
                rgb[i * 3 + c] = rgba[i * 4 + c] = v;
            else
                rgba[i * 4 + 3] = 255;
        }
    kmq_codebook c3, c4;
    kmq_stats s3, s4;
    kmq_stats_init(&s3);
    kmq_stats_init(&s4);
    quantize(rgb, n, 3, 20, 0, &c3, l3, &s3);
    quantize(rgba, n, 4, 20, 0, &c4, l4, &s4);
    cr_assert(!memcmp(l3, l4, n));
    cr_assert_eq(c3.k, c4.k);
    for (int j = 0; j < c3.k; j++) {
        cr_assert(!memcmp(c3.entries + j * 3, c4.entries + j * 4, 3));
        cr_assert_eq(c4.entries[j * 4 + 3], 255);
    }
    cr_assert_float_eq(s3.mse, s4.mse, 1e-12);
    kmq_codebook_free(&c3), kmq_codebook_free(&c4);
    free(rgb), free(rgba), free(l3), free(l4);
}

Test(alpha, same_bytes_whatever_the_thread_count_and_every_init)
{
    const int w = 120, h = 90, C = 4;
    const size_t n = (size_t)w * h;
    uint8_t *px = disc(w, h, C), *l1 = malloc(n), *l2 = malloc(n);
    for (int init = 0; init < 2; init++) {
        kmq_params p;
        kmq_params_default(&p);
        p.k = 24;
        p.init = init ? KMQ_INIT_RANDOM : KMQ_INIT_KMEANSPP;
        kmq_codebook a, b;
        p.threads = 1;
        cr_assert_eq(kmq_quantize(px, n, C, &p, &a, l1, NULL), KMQ_OK);
        p.threads = 2;
        cr_assert_eq(kmq_quantize(px, n, C, &p, &b, l2, NULL), KMQ_OK);
        cr_assert_eq(a.k, b.k);
        cr_assert(!memcmp(a.entries, b.entries, (size_t)a.k * C));
        cr_assert(!memcmp(l1, l2, n));
        /* the clear entry is there with random seeding too */
        int clear = 0;
        for (int j = 0; j < a.k; j++)
            clear += !memcmp(a.entries + j * C, "\0\0\0\0", 4);
        cr_assert_eq(clear, 1);
        kmq_codebook_free(&a), kmq_codebook_free(&b);
    }
    free(px), free(l1), free(l2);
}

Test(alpha, few_visible_colours_are_lossless_whatever_the_hidden_rgb)
{
    /* 5 visible colours + transparent pixels with 200 different hidden RGB:
       k = 6 keeps every visible colour exactly. */
    const size_t n = 2000;
    const uint8_t vis[5][4] = {{255, 0, 0, 255}, {0, 255, 0, 128}, {0, 0, 255, 1},
                               {9, 9, 9, 254}, {200, 100, 0, 77}};
    uint8_t *px = malloc(n * 4), *labels = malloc(n), *out = malloc(n * 4);
    for (size_t i = 0; i < n; i++) {
        if (i % 2) {
            memcpy(px + i * 4, vis[i / 2 % 5], 4);
        } else {
            px[i * 4] = (uint8_t)(i % 200), px[i * 4 + 1] = (uint8_t)(i / 7);
            px[i * 4 + 2] = 3, px[i * 4 + 3] = 0;
        }
    }
    kmq_codebook cb;
    kmq_stats st;
    kmq_stats_init(&st);
    quantize(px, n, 4, 6, 0, &cb, labels, &st);
    cr_assert_eq(cb.k, 6);
    cr_assert_eq(st.distinct, 6);
    cr_assert(isinf(st.psnr));
    cr_assert_eq(kmq_labels_to_pixels(labels, n, &cb, out, NULL), KMQ_OK);
    for (size_t i = 1; i < n; i += 2)
        cr_assert(!memcmp(out + i * 4, px + i * 4, 4));
    for (size_t i = 0; i < n; i += 2)
        cr_assert(!memcmp(out + i * 4, "\0\0\0\0", 4));
    kmq_codebook_free(&cb);
    free(px), free(labels), free(out);
}

Test(alpha, dither_keeps_transparent_pixels_clear)
{
    const int w = 80, h = 64, C = 4;
    const size_t n = (size_t)w * h;
    uint8_t *px = disc(w, h, C), *labels = malloc(n), *out = malloc(n * C);
    kmq_codebook cb;
    kmq_stats st;
    kmq_stats_init(&st);
    quantize(px, n, C, 8, 0, &cb, labels, &st);
    cr_assert_eq(kmq_dither(px, w, h, C, &cb, labels, &st), KMQ_OK);
    cr_assert_eq(kmq_labels_to_pixels(labels, n, &cb, out, NULL), KMQ_OK);
    for (size_t i = 0; i < n; i++)
        if (px[i * C + 3] == 0)
            cr_assert(!memcmp(out + i * C, "\0\0\0\0", 4), "speckle at pixel %zu", i);
    double b, wh;
    composite_mse(px, out, n, C, &b, &wh);
    cr_assert_float_eq(st.mse, (b + wh) / 2, 1e-9 * (1 + st.mse));
    kmq_codebook_free(&cb);
    free(px), free(labels), free(out);
}

Test(alpha, clustering_beats_plain_rgba_on_the_visible_pixels)
{
    /* The measurement: k = 16 on a gradient disc whose transparent
       background hides noise.  Plain 4-channel clustering spent most entries
       on invisible colours; now at most one entry is clear, and the error
       over black and white is far below what 15 visible entries of 16
       would otherwise allow. */
    const int w = 128, h = 128, C = 4;
    const size_t n = (size_t)w * h;
    uint8_t *px = disc(w, h, C), *labels = malloc(n);
    kmq_codebook cb;
    kmq_stats st;
    kmq_stats_init(&st);
    quantize(px, n, C, 16, 0, &cb, labels, &st);
    int visible = 0;
    for (int j = 0; j < cb.k; j++)
        visible += cb.entries[j * C + 3] != 0;
    cr_assert_eq(visible, 15);
    cr_assert_gt(st.psnr_black, 27.0, "%.2f dB", st.psnr_black);
    cr_assert_gt(st.psnr_white, 27.0, "%.2f dB", st.psnr_white);
    kmq_codebook_free(&cb);
    free(px), free(labels);
}
