/* Image I/O in memory: PNG round trips, container checks, label rules. */
#include <criterion/criterion.h>
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

#include "kmq.h"

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
    cr_assert_eq(kmq_image_decode((const uint8_t *)"GIF89a....", 10, 0, &img, &why), KMQ_ERR_IMAGE_FORMAT);
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

Test(image, labels_encode_round_trips_with_filter_none)
{
    int w = 37, h = 11;
    uint8_t *lab = malloc((size_t)w * h);
    for (int i = 0; i < w * h; i++)
        lab[i] = (uint8_t)((i / 3) % 200);
    uint8_t *png;
    size_t len;
    for (int level = 1; level <= 12; level++) {
        cr_assert_eq(kmq_labels_encode(lab, w, h, level, &png, &len), KMQ_OK);
        kmq_image img;
        cr_assert_eq(kmq_labels_decode(png, len, 0, &img, NULL), KMQ_OK);
        cr_assert(!memcmp(img.pixels, lab, (size_t)w * h), "level %d", level);
        kmq_image_free(&img);
        /* Inflate the IDAT: every row starts with filter byte 0 (None). */
        size_t idat_len = (size_t)png[33] << 24 | png[34] << 16 | png[35] << 8 | png[36];
        cr_assert(!memcmp(png + 37, "IDAT", 4));
        uint8_t *raw = malloc((size_t)(w + 1) * h);
        size_t got = 0;
        struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
        cr_assert_eq(libdeflate_zlib_decompress(d, png + 41, idat_len, raw, (size_t)(w + 1) * h, &got),
                     LIBDEFLATE_SUCCESS);
        libdeflate_free_decompressor(d);
        cr_assert_eq(got, (size_t)(w + 1) * h);
        for (int y = 0; y < h; y++)
            cr_assert_eq(raw[(size_t)y * (w + 1)], 0, "row %d filter", y);
        free(raw);
        free(png);
    }
    cr_assert_eq(kmq_labels_encode(lab, w, h, 0, &png, &len), KMQ_ERR_ARG);
    cr_assert_eq(kmq_labels_encode(lab, w, h, 13, &png, &len), KMQ_ERR_ARG);
    free(lab);
}
