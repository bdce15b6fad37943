/* Image I/O in memory: PNG round trips, container checks, label rules. */
#include <criterion/criterion.h>
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

#include "kmq.h"
#include "spng_writer.h"

static uint8_t *encode(int w, int h, int C, uint8_t **pixels, size_t *len)
{
    *pixels = malloc((size_t)w * h * C);
    for (int i = 0; i < w * h * C; i++)
        (*pixels)[i] = (uint8_t)(i * 7 + i / 5);
    uint8_t *png;
    cr_assert_eq(kmq_png_encode(*pixels, w, h, C, &png, len), KMQ_OK);
    return png;
}

Test(image, png_round_trip_keeps_channels)
{
    for (int C = 1; C <= 4; C++) {
        uint8_t *px, *png;
        size_t len;
        png = encode(13, 7, C, &px, &len);
        kmq_image img;
        cr_assert_eq(kmq_image_decode(png, len, 0, &img, NULL), KMQ_OK);
        cr_assert_eq(img.channels, C);
        cr_assert_eq(img.width, 13);
        cr_assert_eq(img.height, 7);
        cr_assert(!memcmp(img.pixels, px, 13 * 7 * C));
        kmq_image_free(&img);
        free(px), free(png);
    }
}

Test(image, chunk_crc_is_verified)
{
    uint8_t *px, *png;
    size_t len;
    png = encode(8, 8, 3, &px, &len);
    png[len - 20] ^= 1; /* inside the IDAT data */
    kmq_image img;
    const char *why = NULL;
    cr_assert_eq(kmq_image_decode(png, len, 0, &img, &why), KMQ_ERR_PNG_CRC);
    cr_assert_str_eq(why, "CRC mismatch in PNG chunk IDAT");
    free(px), free(png);
}

Test(image, truncated_png_is_refused)
{
    uint8_t *px, *png;
    size_t len;
    png = encode(8, 8, 3, &px, &len);
    for (size_t l = 0; l < len; l += 7) {
        kmq_image img;
        cr_assert_neq(kmq_image_decode(png, l, 0, &img, NULL), KMQ_OK, "length %zu", l);
    }
    free(px), free(png);
}

Test(image, pixel_cap_refuses_before_decoding)
{
    uint8_t *px, *png;
    size_t len;
    png = encode(100, 100, 1, &px, &len);
    kmq_image img;
    const char *why;
    cr_assert_eq(kmq_image_decode(png, len, 9999, &img, &why), KMQ_ERR_TOO_LARGE);
    cr_assert_eq(kmq_image_decode(png, len, 10000, &img, &why), KMQ_OK);
    kmq_image_free(&img);
    free(px), free(png);
}

Test(image, unknown_format)
{
    kmq_image img;
    const char *why;
    cr_assert_eq(kmq_image_decode((const uint8_t *)"qoif......", 10, 0, &img, &why), KMQ_ERR_IMAGE_FORMAT);
    cr_assert_eq(kmq_image_decode((const uint8_t *)"", 0, 0, &img, &why), KMQ_ERR_IMAGE_FORMAT);
}

Test(image, labels_must_be_8bit_grey_png)
{
    uint8_t *px, *png;
    size_t len;
    kmq_image img;
    const char *why;
    png = encode(4, 4, 3, &px, &len);
    cr_assert_eq(kmq_labels_decode(png, len, 0, &img, &why), KMQ_ERR_LABELS_NOT_GREY8);
    cr_assert(strstr(why, "RGB PNG"), "%s", why);
    free(px), free(png);

    png = encode(4, 4, 2, &px, &len);
    cr_assert_eq(kmq_labels_decode(png, len, 0, &img, &why), KMQ_ERR_LABELS_NOT_GREY8);
    free(px), free(png);

    const uint8_t jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F'};
    cr_assert_eq(kmq_labels_decode(jpeg, sizeof jpeg, 0, &img, &why), KMQ_ERR_LABELS_NOT_GREY8);
    cr_assert(strstr(why, "JPEG"), "%s", why);

    png = encode(5, 3, 1, &px, &len);
    cr_assert_eq(kmq_labels_decode(png, len, 0, &img, &why), KMQ_OK);
    cr_assert_eq(img.channels, 1);
    cr_assert(!memcmp(img.pixels, px, 15));
    kmq_image_free(&img);
    free(px), free(png);
}

/* The zlib data of a PNG with a single IDAT, inflated: rows of (filter byte, data). */
static uint8_t *inflate_idat(const uint8_t *png, size_t row_bytes, int h)
{
    size_t idat_len = (size_t)png[33] << 24 | png[34] << 16 | png[35] << 8 | png[36];
    cr_assert(!memcmp(png + 37, "IDAT", 4));
    uint8_t *raw = malloc((row_bytes + 1) * h);
    size_t got = 0;
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    cr_assert_eq(libdeflate_zlib_decompress(d, png + 41, idat_len, raw, (row_bytes + 1) * h, &got),
                 LIBDEFLATE_SUCCESS);
    libdeflate_free_decompressor(d);
    cr_assert_eq(got, (row_bytes + 1) * h);
    return raw;
}

/* Options for one call (a compound literal lives to the end of the block). */
#define png_opts(lv, ex) (&(kmq_png_options){.size = sizeof(kmq_png_options), .level = (lv), .exhaustive = (ex)})
#define packed_opts(lv, ex) \
    (&(kmq_png_options){.size = sizeof(kmq_png_options), .level = (lv), .exhaustive = (ex), .packed = 1})

Test(image, labels_encode_round_trips_at_every_k_level_and_depth)
{
    const int w = 37, h = 11, ks[] = {2, 3, 4, 5, 16, 17, 200, 256};
    const int depth[] = {1, 2, 2, 4, 4, 8, 8, 8};
    uint8_t *lab = malloc((size_t)w * h);
    for (size_t t = 0; t < sizeof ks / sizeof *ks; t++) {
        const int k = ks[t];
        for (int i = 0; i < w * h; i++)
            lab[i] = (uint8_t)(((i / 3) * 7 + i / 50) % k);
        for (int level = 1; level <= KMQ_MAX_LEVEL; level++)
            for (int ex = 0; ex <= 3; ex++) {
                const int packed = ex >= 2;
                uint8_t *png;
                size_t len;
                cr_assert_eq(kmq_labels_encode(lab, w, h, k,
                                               packed ? packed_opts(level, ex & 1) : png_opts(level, ex & 1),
                                               &png, &len),
                             KMQ_OK);
                cr_assert(!memcmp(png + 12, "IHDR", 4));
                cr_assert_eq(png[25], 0, "greyscale");
                if (!packed) /* every reader reads 8-bit samples as they are */
                    cr_assert_eq(png[24], 8, "k %d: depth %d", k, png[24]);
                else if (!(ex & 1)) /* exhaustive may find 8 bits smaller */
                    cr_assert_eq(png[24], depth[t], "k %d: depth %d", k, png[24]);
                kmq_image img;
                cr_assert_eq(kmq_labels_decode(png, len, 0, &img, NULL), KMQ_OK, "k %d level %d", k, level);
                cr_assert_eq(img.width, w);
                cr_assert_eq(img.height, h);
                cr_assert(!memcmp(img.pixels, lab, (size_t)w * h), "k %d level %d ex %d", k, level, ex);
                kmq_image_free(&img);
                if (png[24] == 8 && !(ex & 1)) { /* one filter for every row: None or Paeth */
                    uint8_t *raw = inflate_idat(png, w, h);
                    for (int y = 0; y < h; y++) {
                        cr_assert(raw[(size_t)y * (w + 1)] == raw[0], "row %d", y);
                        cr_assert(raw[0] == 0 || raw[0] == 4);
                    }
                    free(raw);
                }
                free(png);
            }
    }
    uint8_t *png;
    size_t len;
    cr_assert_eq(kmq_labels_encode(lab, w, h, 64, png_opts(0, 0), &png, &len), KMQ_ERR_ARG);
    cr_assert_eq(kmq_labels_encode(lab, w, h, 64, png_opts(13, 0), &png, &len), KMQ_ERR_ARG);
    lab[5] = 9; /* a label >= k */
    cr_assert_eq(kmq_labels_encode(lab, w, h, 9, png_opts(6, 0), &png, &len), KMQ_ERR_LABEL_RANGE);
    free(lab);
}

Test(image, labels_filter_follows_the_content)
{
    /* A diagonal ramp of indices is what Paeth predicts exactly. */
    const int w = 256, h = 128;
    uint8_t *lab = malloc((size_t)w * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            lab[y * w + x] = (uint8_t)((x + y) / 2);
    uint8_t *png;
    size_t len;
    cr_assert_eq(kmq_labels_encode(lab, w, h, 256, png_opts(6, 0), &png, &len), KMQ_OK);
    uint8_t *raw = inflate_idat(png, w, h);
    cr_assert_eq(raw[0], 4, "ramp: Paeth");
    free(raw), free(png);
    /* Rows made of 50 random 8-label words: deflate finds the words again
       in the raw indices, but not in residuals that mix in the row above. */
    uint8_t words[50][8];
    uint32_t r = 12345;
    for (int q = 0; q < 50; q++)
        for (int j = 0; j < 8; j++)
            words[q][j] = (uint8_t)((r = r * 1103515245u + 12345u) >> 16);
    for (int i = 0; i < w * h; i += 8)
        memcpy(lab + i, words[((r = r * 1103515245u + 12345u) >> 16) % 50], 8);
    cr_assert_eq(kmq_labels_encode(lab, w, h, 256, png_opts(6, 0), &png, &len), KMQ_OK);
    raw = inflate_idat(png, w, h);
    cr_assert_eq(raw[0], 0, "words: None");
    free(raw), free(png), free(lab);
}

Test(image, labels_encode_bytes_do_not_depend_on_threads)
{
    /* 800x600 8-bit labels: two DEFLATE chunks at level 6; a noisy ramp
       (Paeth wins) and noise (None wins), so both trial outcomes run. */
    const int w = 800, h = 600;
    uint8_t *lab = malloc((size_t)w * h);
    for (int pattern = 0; pattern < 2; pattern++) {
        uint32_t r = 1;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                r = r * 1103515245u + 12345u;
                lab[y * w + x] = (uint8_t)(pattern ? (r >> 16) % 200 : ((x + y) / 8 + (r >> 30)) % 200);
            }
        uint8_t *one;
        size_t one_len;
        cr_assert_eq(kmq_labels_encode(lab, w, h, 200, &(kmq_png_options){.size = sizeof(kmq_png_options), .level = 6, .threads = 1}, &one, &one_len), KMQ_OK);
        uint8_t *raw = inflate_idat(one, w, h);
        cr_assert_eq(raw[0], pattern ? 0 : 4, "pattern %d: filter %d", pattern, raw[0]);
        free(raw);
        kmq_image img;
        cr_assert_eq(kmq_labels_decode(one, one_len, 0, &img, NULL), KMQ_OK);
        cr_assert(!memcmp(img.pixels, lab, (size_t)w * h));
        kmq_image_free(&img);
        for (int t = 0; t <= 3; t++) {
            uint8_t *png;
            size_t len;
            cr_assert_eq(kmq_labels_encode(lab, w, h, 200, &(kmq_png_options){.size = sizeof(kmq_png_options), .level = 6, .threads = t}, &png, &len), KMQ_OK);
            cr_assert(len == one_len && !memcmp(png, one, len), "%d threads: other bytes", t);
            free(png);
        }
        free(one);
    }
    free(lab);
}

Test(image, low_bit_depth_grey_labels_decode_to_indices)
{
    /* 1, 2 and 4-bit greyscale PNGs written by another library (libspng)
       decode to their sample values, not to stb's scaled 0..255. */
    const int w = 7, h = 3;
    for (int bits = 1; bits <= 4; bits *= 2) {
        uint8_t lab[21], packed[3 * 4] = {0};
        const size_t row = ((size_t)w * bits + 7) / 8;
        for (int i = 0; i < w * h; i++) {
            lab[i] = (uint8_t)((i * 5 + 1) % (1 << bits));
            size_t y = (size_t)i / w, x = (size_t)i % w, bit = x * bits;
            packed[y * row + bit / 8] |= (uint8_t)(lab[i] << (8 - bits - bit % 8));
        }
        size_t len;
        uint8_t *png = spng_write(w, h, bits, SPNG_COLOR_TYPE_GRAYSCALE, 0, NULL, packed, row * h, &len);
        kmq_image img;
        cr_assert_eq(kmq_labels_decode(png, len, 0, &img, NULL), KMQ_OK, "%d bits", bits);
        cr_assert(!memcmp(img.pixels, lab, sizeof lab), "%d bits", bits);
        kmq_image_free(&img);
        free(png);
    }
}

/* Issue 13, item 9: an RGBA image at the 2^28-pixel cap compressed, but its
   decompressed PNG could not be written (stb_image_write's int sizes). */
Test(image, rgba_at_the_pixel_cap_can_be_written, .timeout = 300)
{
    const int side = 16384; /* 16384^2 = 2^28 pixels, the default cap */
    const size_t n = (size_t)side * side * 4;
    uint8_t *px = calloc(n, 1);
    cr_assert_not_null(px);
    px[n - 1] = 255; /* the last pixel's alpha: where a cut-off image would differ */
    uint8_t *png;
    size_t len;
    cr_assert_eq(kmq_png_encode(px, side, side, 4, &png, &len), KMQ_OK);
    free(px);
    kmq_image img;
    cr_assert_eq(kmq_image_decode(png, len, 0, &img, NULL), KMQ_OK);
    cr_assert_eq(img.width, side);
    cr_assert_eq(img.height, side);
    cr_assert_eq(img.channels, 4);
    cr_assert_eq(img.pixels[n - 1], 255);
    cr_assert_eq(img.pixels[n - 2], 0);
    free(png);
    kmq_image_free(&img);
}
