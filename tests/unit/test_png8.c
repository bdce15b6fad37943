/* PNG8 output and the codebook order for PNG. */
#include <criterion/criterion.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "kmq.h"
#include "spng_writer.h"

static void fill(uint8_t *lab, int n, int k, kmq_codebook *cb, int C)
{
    for (int i = 0; i < n; i++)
        lab[i] = (uint8_t)(((i / 4) * 11 + i / 40) % k);
    cb->k = k;
    cb->channels = C;
    cb->entries = malloc((size_t)k * C);
    for (int j = 0; j < k; j++)
        for (int c = 0; c < C; c++) /* colour entries never all grey */
            cb->entries[j * C + c] = (uint8_t)(j * 37 + c * 101 + (c == 1) * 1);
}

Test(png8, round_trips_labels_and_codebook_for_1_to_4_channels)
{
    const int w = 29, h = 13, ks[] = {2, 3, 4, 16, 17, 256};
    uint8_t lab[29 * 13];
    for (int C = 1; C <= 4; C++)
        for (size_t t = 0; t < sizeof ks / sizeof *ks; t++)
            for (int ex = 0; ex <= 1; ex++) {
                kmq_codebook cb;
                fill(lab, w * h, ks[t], &cb, C);
                uint8_t *png;
                size_t len;
                cr_assert_eq(kmq_png8_encode(lab, w, h, &cb, &(kmq_png_options){.size = sizeof(kmq_png_options), .level = 6, .exhaustive = ex}, &png, &len), KMQ_OK);
                cr_assert(kmq_is_indexed_png(png, len));
                kmq_image got;
                kmq_codebook gcb;
                cr_assert_eq(kmq_png8_decode(png, len, 0, &got, &gcb, NULL), KMQ_OK);
                cr_assert_eq(got.width, w);
                cr_assert_eq(got.height, h);
                cr_assert_eq(gcb.k, cb.k);
                cr_assert_eq(gcb.channels, C, "C %d k %d", C, cb.k);
                cr_assert(!memcmp(gcb.entries, cb.entries, (size_t)cb.k * C));
                cr_assert(!memcmp(got.pixels, lab, sizeof lab), "C %d k %d ex %d", C, cb.k, ex);
                /* And any PNG decoder sees the same colours. */
                kmq_image rgb;
                cr_assert_eq(kmq_image_decode(png, len, 0, &rgb, NULL), KMQ_OK);
                cr_assert_eq(rgb.channels, C == 2 || C == 4 ? 4 : 3);
                for (int i = 0; i < w * h; i++) {
                    const uint8_t *e = cb.entries + (size_t)lab[i] * C, *p = rgb.pixels + (size_t)i * rgb.channels;
                    cr_assert_eq(p[0], e[0]);
                    cr_assert_eq(p[1], C < 3 ? e[0] : e[1]);
                    cr_assert_eq(p[2], C < 3 ? e[0] : e[2]);
                    if (rgb.channels == 4)
                        cr_assert_eq(p[3], e[C - 1]);
                }
                kmq_image_free(&rgb);
                kmq_image_free(&got);
                kmq_codebook_free(&gcb);
                kmq_codebook_free(&cb);
                free(png);
            }
}

Test(png8, non_indexed_png_is_refused)
{
    uint8_t px[12] = {0}, *png;
    size_t len;
    cr_assert_eq(kmq_png_encode(px, 2, 2, 3, &png, &len), KMQ_OK);
    cr_assert(!kmq_is_indexed_png(png, len));
    kmq_image img;
    kmq_codebook cb;
    const char *why = NULL;
    cr_assert_eq(kmq_png8_decode(png, len, 0, &img, &cb, &why), KMQ_ERR_NOT_INDEXED);
    cr_assert(why && strstr(why, "palette"));
    free(png);
}

Test(png8, labels_out_of_range_are_refused)
{
    uint8_t lab[4] = {0, 1, 2, 3}, *png = NULL;
    size_t len;
    kmq_codebook cb;
    fill(lab, 0, 3, &cb, 3);
    cr_assert_eq(kmq_png8_encode(lab, 2, 2, &cb, &(kmq_png_options){.size = sizeof(kmq_png_options), .level = 6}, &png, &len), KMQ_ERR_LABEL_RANGE);
    cr_assert_null(png);
    kmq_codebook_free(&cb);
}

Test(png8, palette_sort_permutes_and_keeps_pixels)
{
    const int w = 64, h = 48, k = 40, C = 3;
    uint8_t *lab = malloc((size_t)w * h), *before = malloc((size_t)w * h * C),
            *after = malloc((size_t)w * h * C);
    kmq_codebook cb;
    fill(lab, w * h, k, &cb, C);
    cr_assert_eq(kmq_labels_to_pixels(lab, (size_t)w * h, &cb, before, NULL), KMQ_OK);
    uint8_t copy[40 * 3];
    memcpy(copy, cb.entries, sizeof copy);
    cr_assert_eq(kmq_palette_sort(&cb, lab, w, h), KMQ_OK);
    cr_assert_eq(kmq_labels_to_pixels(lab, (size_t)w * h, &cb, after, NULL), KMQ_OK);
    cr_assert(!memcmp(before, after, (size_t)w * h * C), "same pixels");
    int seen[40] = {0}; /* the entries are a permutation of the old ones */
    for (int j = 0; j < k; j++)
        for (int q = 0; q < k; q++)
            if (!memcmp(cb.entries + j * C, copy + q * C, C))
                seen[q]++;
    for (int q = 0; q < k; q++)
        cr_assert_eq(seen[q], 1);
    /* Deterministic: sorting again from the same input gives the same. */
    uint8_t once[40 * 3];
    memcpy(once, cb.entries, sizeof once);
    kmq_codebook cb2;
    uint8_t *lab2 = malloc((size_t)w * h);
    fill(lab2, w * h, k, &cb2, C);
    cr_assert_eq(kmq_palette_sort(&cb2, lab2, w, h), KMQ_OK);
    cr_assert(!memcmp(cb2.entries, once, sizeof once));
    cr_assert(!memcmp(lab2, lab, (size_t)w * h));
    kmq_codebook_free(&cb), kmq_codebook_free(&cb2);
    free(lab), free(lab2), free(before), free(after);
}

Test(png8, palette_sort_puts_touching_labels_next_to_each_other)
{
    /* Four stripes in the order 0 | 2 | 3 | 1, entry 0 the darkest: the
       tour follows the stripes, so neighbours differ by one index. */
    const int w = 40, h = 4;
    uint8_t lab[160];
    for (int i = 0; i < w * h; i++) {
        static const uint8_t stripe[4] = {0, 2, 3, 1};
        lab[i] = stripe[(i % w) / 10];
    }
    uint8_t e[12] = {0, 0, 0, 250, 250, 250, 90, 10, 10, 10, 90, 10};
    kmq_codebook cb = {4, 3, malloc(12)};
    memcpy(cb.entries, e, 12);
    cr_assert_eq(kmq_palette_sort(&cb, lab, w, h), KMQ_OK);
    for (int y = 0; y < h; y++)
        for (int x = 1; x < w; x++)
            cr_assert(abs(lab[y * w + x] - lab[y * w + x - 1]) <= 1);
    kmq_codebook_free(&cb);
}

Test(png8, interlaced_low_depth_palette_decodes_whatever_malloc_returns)
{
    /* libspng ORs the samples of interlaced sub-byte images into the output
       buffer: it must start zeroed.  M_PERTURB makes malloc return garbage,
       as a busy heap would (regression: labels came out >= k). */
    mallopt(M_PERTURB, 0xA5);
    const int w = 13, h = 9;
    for (int bits = 1; bits <= 4; bits *= 2) {
        const int k = 1 << bits;
        const size_t row = ((size_t)w * bits + 7) / 8;
        uint8_t lab[13 * 9], packed[9 * 7] = {0};
        for (int i = 0; i < w * h; i++) {
            lab[i] = (uint8_t)((i * 7 + i / 13) % k);
            size_t y = (size_t)i / w, x = (size_t)i % w, bit = x * bits;
            packed[y * row + bit / 8] |= (uint8_t)(lab[i] << (8 - bits - bit % 8));
        }
        struct spng_plte plte = {0};
        plte.n_entries = (uint32_t)k;
        for (int j = 0; j < k; j++)
            plte.entries[j].red = (uint8_t)(j * 16), plte.entries[j].green = 3, plte.entries[j].blue = 9;
        size_t len;
        uint8_t *png = spng_write(w, h, bits, SPNG_COLOR_TYPE_INDEXED, 1, &plte, packed, row * h, &len);
        kmq_image got;
        kmq_codebook cb;
        cr_assert_eq(kmq_png8_decode(png, len, 0, &got, &cb, NULL), KMQ_OK, "%d bits", bits);
        cr_assert(!memcmp(got.pixels, lab, sizeof lab), "%d bits", bits);
        kmq_image_free(&got);
        kmq_codebook_free(&cb);
        free(png);
    }
    mallopt(M_PERTURB, 0);
}

/* The IDAT data of a PNG (its first IDAT: these are small). */
static const uint8_t *first_idat(const uint8_t *png, size_t len, size_t *n)
{
    for (size_t at = 8; at + 12 <= len;) {
        size_t clen = (size_t)png[at] << 24 | (size_t)png[at + 1] << 16 | (size_t)png[at + 2] << 8 | png[at + 3];
        if (!memcmp(png + at + 4, "IDAT", 4)) {
            *n = clen;
            return png + at + 8;
        }
        at += 12 + clen;
    }
    return NULL;
}

/* PNG8 is written the way label PNGs are (libdeflate on every core, not
   libspng's zlib on one): for the same 8-bit labels and level the zlib
   streams are the same bytes; only IHDR's colour type and the PLTE (and
   tRNS) differ. */
Test(png8, pixels_deflated_as_label_pngs)
{
    const int w = 300, h = 200, k = 40;
    uint8_t *lab = malloc((size_t)w * h);
    for (int level = 1; level <= 12; level += 5) {
        kmq_codebook cb;
        fill(lab, w * h, k, &cb, 4);
        const kmq_png_options o = {.size = sizeof(kmq_png_options), .level = level, .threads = 2};
        uint8_t *p8, *lp;
        size_t p8_len, lp_len, a = 0, b = 0;
        cr_assert_eq(kmq_png8_encode(lab, w, h, &cb, &o, &p8, &p8_len), KMQ_OK);
        cr_assert_eq(kmq_labels_encode(lab, w, h, k, &o, &lp, &lp_len), KMQ_OK);
        const uint8_t *za = first_idat(p8, p8_len, &a), *zb = first_idat(lp, lp_len, &b);
        cr_assert(za && zb);
        cr_assert_eq(a, b, "level %d", level);
        cr_assert(!memcmp(za, zb, a), "level %d", level);
        cr_assert_eq(p8[8 + 8 + 9], 3);  /* IHDR colour type: indexed */
        cr_assert_eq(lp[8 + 8 + 9], 0);  /* grey */
        cr_assert(!memcmp(p8 + 8 + 25 + 4, "PLTE", 4));
        cr_assert(!memcmp(p8 + 8 + 25 + 12 + 3 * k + 4, "tRNS", 4));
        free(p8), free(lp);
        kmq_codebook_free(&cb);
    }
    free(lab);
}
