/* genimg: deterministic test and demo images.
 *   genimg OUT.png WIDTH HEIGHT CHANNELS PATTERN [SEED]
 * OUT ending in .jpg writes a baseline JPEG (quality 90), .bmp a BMP, else PNG.
 * PATTERN: demo   gradients, discs and noise (thousands of colours)
 *          noise  uniform random bytes
 *          few:N  N random colours in blocks (N distinct colours at most)
 *          smooth smooth fields plus light noise (very many colours)
 *          noisy  a high-ISO photo stand-in: smooth fields and soft shapes
 *                 plus Gaussian noise (sigma 18; nearly every pixel its own
 *                 colour) */
#include "kmq.h"
#include "signals.h"

#include <math.h>
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* tests/tools/other_formats.c */
uint8_t *jpeg_encode(const uint8_t *pixels, int w, int h, int channels, int quality, size_t *out_len);
uint8_t *bmp_encode(const uint8_t *pixels, int w, int h, int channels, size_t *out_len);

static uint64_t state;
static uint32_t rnd(void)
{
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(state >> 33);
}

/* Standard normal by Box-Muller (one of the pair: simple and deterministic). */
static double gauss(void)
{
    double u = ((double)rnd() + 1) / 4294967297.0, v = (double)rnd() / 4294967296.0;
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

static uint8_t clamp(double v) { return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)(v + 0.5); }

/* Row y of the pattern into row (w * C bytes); rows must come in order
   (the noise is one sequence over the image). */
static void gen_row(const char *pat, int w, int h, int C, int y, int ncol, uint8_t pal[256][4],
                    uint8_t *row)
{
    for (int x = 0; x < w; x++) {
        uint8_t *p = row + (size_t)x * C;
        double v[4];
        if (!strcmp(pat, "noise")) {
            for (int c = 0; c < C; c++)
                p[c] = (uint8_t)rnd();
            continue;
        } else if (ncol) {
            int i = (int)(((unsigned)(x / 3) * 7 + (unsigned)(y / 3) * 13 + rnd() % 2) % (unsigned)ncol);
            memcpy(p, pal[i], (size_t)C);
            continue;
        } else if (!strcmp(pat, "smooth")) {
            double fx = (double)x / w, fy = (double)y / h;
            v[0] = 128 + 100 * sin(6.1 * fx + 2.3 * fy);
            v[1] = 128 + 100 * sin(3.7 * fy - 4.1 * fx * fy);
            v[2] = 128 + 100 * cos(5.3 * fx * fx + 3.1 * fy);
            v[3] = 200 + 50 * sin(9.0 * fx);
            for (int c = 0; c < 4; c++)
                v[c] += (double)(rnd() % 25) - 12;
        } else if (!strcmp(pat, "noisy")) {
            double fx = (double)x / w, fy = (double)y / h;
            /* a sky-like gradient, rolling ground, two soft discs */
            v[0] = 90 + 120 * fy + 30 * sin(7.3 * fx + 1.1);
            v[1] = 120 + 60 * sin(4.1 * fx - 2.7 * fy) + 40 * fy;
            v[2] = 200 - 110 * fy + 25 * cos(5.9 * fx * fy);
            v[3] = 220;
            double cx[2] = {0.32, 0.7}, cy[2] = {0.55, 0.4}, r[2] = {0.18, 0.12};
            double col[2][3] = {{200, 70, 40}, {40, 90, 170}};
            for (int d = 0; d < 2; d++) {
                double dx = fx - cx[d], dy = (fy - cy[d]) * h / w;
                double a = 1 / (1 + exp((sqrt(dx * dx + dy * dy) - r[d]) * 80));
                for (int c = 0; c < 3; c++)
                    v[c] = a * col[d][c] * (0.6 + 0.5 * fy) + (1 - a) * v[c];
            }
            double lum = gauss() * 4; /* shared by the channels, as sensor noise is partly */
            for (int c = 0; c < 3; c++)
                v[c] += lum + gauss() * 18;
        } else { /* demo */
            double fx = (double)x / w, fy = (double)y / h;
            v[0] = 255 * fx;
            v[1] = 255 * fy;
            v[2] = 128 + 127 * sin(10 * fx * fy);
            v[3] = 255 * (1 - 0.5 * fx);
            double cx[3] = {0.3, 0.65, 0.5}, cy[3] = {0.35, 0.6, 0.8}, r[3] = {0.2, 0.18, 0.1};
            double col[3][3] = {{230, 40, 40}, {30, 160, 60}, {250, 220, 30}};
            for (int d = 0; d < 3; d++) {
                double dx = fx - cx[d], dy = (fy - cy[d]) * h / w;
                if (dx * dx + dy * dy < r[d] * r[d])
                    for (int c = 0; c < 3; c++)
                        v[c] = col[d][c] * (0.7 + 0.3 * fy);
            }
            for (int c = 0; c < 4; c++)
                v[c] += (double)(rnd() % 13) - 6;
        }
        if (C <= 2) { /* grey (+alpha) from the colour fields */
            double g = 0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2];
            v[1] = v[3];
            v[0] = g;
        }
        for (int c = 0; c < C; c++)
            p[c] = clamp(v[c]);
    }
}

/* Images too large to hold (over 2^28 bytes of pixels) are written a row
   at a time by libspng at zlib level 1: PNG only. */
static int n_big(const char *out, int w, int h, int C)
{
    size_t n = strlen(out);
    return (uint64_t)w * h * C > (1ull << 28) && n > 4 && !strcmp(out + n - 4, ".png");
}

static int write_rows(const char *path, const char *pat, int w, int h, int C, int ncol,
                      uint8_t pal[256][4])
{
    static const uint8_t colour_type[5] = {0, 0, 4, 2, 6};
    FILE *f = fopen(path, "wb");
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    uint8_t *row = malloc((size_t)w * C);
    struct spng_ihdr ihdr = {(uint32_t)w, (uint32_t)h, 8, colour_type[C], 0, 0, 0};
    int err = !f || !ctx || !row;
    if (!err)
        err = spng_set_png_file(ctx, f) || spng_set_option(ctx, SPNG_IMG_COMPRESSION_LEVEL, 1) ||
              spng_set_ihdr(ctx, &ihdr) ||
              spng_encode_image(ctx, NULL, 0, SPNG_FMT_PNG, SPNG_ENCODE_PROGRESSIVE);
    for (int y = 0; y < h && !err; y++) {
        gen_row(pat, w, h, C, y, ncol, pal, row);
        int e = spng_encode_row(ctx, row, (size_t)w * C);
        err = e && !(e == SPNG_EOI && y == h - 1);
    }
    if (!err)
        err = spng_encode_chunks(ctx);
    spng_ctx_free(ctx);
    free(row);
    if (f && fclose(f) != 0)
        err = 1;
    if (err)
        fprintf(stderr, "genimg: %s: could not write\n", path);
    return err ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: genimg OUT.png WIDTH HEIGHT CHANNELS PATTERN [SEED]\n");
        return 2;
    }
    int w = atoi(argv[2]), h = atoi(argv[3]), C = atoi(argv[4]);
    const char *pat = argv[5];
    state = argc > 6 ? strtoull(argv[6], NULL, 10) : 1;
    if (w < 1 || h < 1 || C < 1 || C > 4)
        return 2;
    int ncol = 0;
    uint8_t pal[256][4];
    if (!strncmp(pat, "few:", 4)) {
        ncol = atoi(pat + 4);
        if (ncol < 1 || ncol > 256)
            return 2;
        for (int i = 0; i < ncol; i++)
            for (int c = 0; c < 4; c++)
                pal[i][c] = (uint8_t)rnd();
    }
    if (n_big(argv[1], w, h, C))
        return write_rows(argv[1], pat, w, h, C, ncol, pal);
    uint8_t *px = malloc((size_t)w * h * C);
    if (!px)
        return 1;
    for (int y = 0; y < h; y++)
        gen_row(pat, w, h, C, y, ncol, pal, px + (size_t)y * w * C);
    uint8_t *png;
    size_t len;
    size_t n = strlen(argv[1]);
    kmq_status s = KMQ_OK;
    if (n > 4 && !strcmp(argv[1] + n - 4, ".jpg")) {
        png = jpeg_encode(px, w, h, C, 90, &len);
        if (!png)
            s = KMQ_ERR_NOMEM;
    } else if (n > 4 && !strcmp(argv[1] + n - 4, ".bmp")) {
        png = bmp_encode(px, w, h, C, &len);
        if (!png)
            s = KMQ_ERR_NOMEM;
    } else {
        s = kmq_png_encode(px, w, h, C, &png, &len);
    }
    if (s == KMQ_OK) {
        const char *path = argv[1];
        const uint8_t *data = png;
        s = kmq_files_write(1, &path, &data, &len, 1, cli_temp_guard(), NULL);
    }
    free(px);
    if (s != KMQ_OK) {
        fprintf(stderr, "genimg: %s: %s\n", argv[1], kmq_strerror(s));
        return 1;
    }
    free(png);
    return 0;
}
