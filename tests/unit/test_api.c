/* What kmq.h promises a library caller: buffers are plain malloc memory,
   images the caller allocates work everywhere, parameters are checked
   field by field, and calls on several threads at once give the bytes one
   thread gives. */
#include <criterion/criterion.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq.h"
#include "concurrent_jobs.h"

uint8_t *jpeg_encode(const uint8_t *pixels, int w, int h, int channels, int quality, size_t *out_len);
uint8_t *bmp_encode(const uint8_t *pixels, int w, int h, int channels, size_t *out_len);

/* A w x h image of C channels in memory the caller malloc'd: smooth
   gradients, a little texture, and (with alpha) a transparent corner. */
static kmq_image caller_image(int w, int h, int C, int salt)
{
    kmq_image img = {w, h, C, malloc((size_t)w * h * C)};
    cr_assert(img.pixels);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < C; c++) {
                const int alpha = (C == 2 || C == 4) && c == C - 1;
                img.pixels[((size_t)y * w + x) * C + c] =
                    alpha ? (uint8_t)(x < w / 4 && y < h / 4 ? 0 : 255)
                          : (uint8_t)(x * 255 / w * (c + 1) / C + y * 7 * (c + 1) % 31 + salt);
            }
    return img;
}

Test(api, caller_allocated_images_work_with_every_function_that_takes_one)
{
    for (int C = 1; C <= 4; C++) {
        kmq_image a = caller_image(40, 30, C, 0), b = caller_image(40, 30, C, 3);
        kmq_diff d;
        cr_assert_eq(kmq_compare(&a, &b, &d), KMQ_OK);
        cr_assert_gt(d.sse, 0);
        kmq_params p;
        kmq_params_default(&p);
        p.k = 8;
        kmq_codebook cb;
        uint8_t *labels = malloc(40 * 30);
        cr_assert_eq(kmq_quantize(a.pixels, 40 * 30, C, &p, &cb, labels, NULL), KMQ_OK);
        /* strength 0 passes no error on: the plain labels stay */
        uint8_t *plain = malloc(40 * 30);
        memcpy(plain, labels, 40 * 30);
        cr_assert_eq(kmq_dither_strength(a.pixels, 40, 30, C, &cb, 0, labels, NULL), KMQ_OK);
        cr_assert(!memcmp(plain, labels, 40 * 30));
        cr_assert_eq(kmq_dither_strength(a.pixels, 40, 30, C, &cb, 1.5, labels, NULL), KMQ_ERR_ARG);
        cr_assert_eq(kmq_dither_strength(a.pixels, 40, 30, C, &cb, -0.1, labels, NULL), KMQ_ERR_ARG);
        free(plain);
        cr_assert_eq(kmq_dither(a.pixels, 40, 30, C, &cb, labels, NULL), KMQ_OK);
        uint8_t *png;
        size_t len;
        cr_assert_eq(kmq_png_encode(a.pixels, 40, 30, C, &png, &len), KMQ_OK);
        kmq_image back;
        cr_assert_eq(kmq_image_decode(png, len, 0, &back, NULL), KMQ_OK);
        cr_assert(!memcmp(back.pixels, a.pixels, (size_t)40 * 30 * C));
        /* The library's images and the caller's are freed the same ways. */
        kmq_image_free(&a); /* kmq 0.1.0: SEGV inside free (stb's allocator) */
        free(b.pixels);
        free(back.pixels);
        free(labels);
        free(png);
        kmq_codebook_free(&cb);
        cr_assert_null(a.pixels);
    }
}

/* png with a chunk inserted after the IHDR. */
static uint8_t *with_chunk(const uint8_t *png, size_t len, const char *type, const uint8_t *data,
                           uint32_t n, size_t *out_len)
{
    uint8_t *out = malloc(len + 12 + n), *c = out + 33;
    memcpy(out, png, 33);
    const uint8_t be[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    memcpy(c, be, 4);
    memcpy(c + 4, type, 4);
    memcpy(c + 8, data, n);
    const uint32_t crc = (uint32_t)libdeflate_crc32(0, c + 4, 4 + n);
    const uint8_t crc_be[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8),
                               (uint8_t)crc};
    memcpy(c + 8 + n, crc_be, 4);
    memcpy(c + 12 + n, png + 33, len - 33);
    *out_len = len + 12 + n;
    return out;
}

Test(api, every_decoder_returns_memory_that_free_releases)
{
    kmq_image src = caller_image(24, 16, 3, 1);
    uint8_t *files[8];
    size_t lens[8];
    int nfiles = 0;
    cr_assert_eq(kmq_png_encode(src.pixels, 24, 16, 3, &files[nfiles], &lens[nfiles]), KMQ_OK);
    nfiles++;
    files[nfiles] = jpeg_encode(src.pixels, 24, 16, 3, 90, &lens[nfiles]);
    cr_assert(files[nfiles++]);
    files[nfiles] = bmp_encode(src.pixels, 24, 16, 3, &lens[nfiles]);
    cr_assert(files[nfiles++]);
    /* EXIF orientation 6: the decoder turns the pixels into a new buffer. */
    static const uint8_t exif[] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3,
                                   0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0};
    files[nfiles] = with_chunk(files[0], lens[0], "eXIf", exif, sizeof exif, &lens[nfiles]);
    nfiles++;
    /* A palette PNG (libspng's path), which also serves the PNG8 decoder. */
    kmq_params p;
    kmq_params_default(&p);
    p.k = 6;
    kmq_codebook cb;
    uint8_t labels[24 * 16];
    cr_assert_eq(kmq_quantize(src.pixels, 24 * 16, 3, &p, &cb, labels, NULL), KMQ_OK);
    kmq_png_options o;
    kmq_png_options_default(&o);
    cr_assert_eq(kmq_png8_encode(labels, 24, 16, &cb, &o, &files[nfiles], &lens[nfiles]), KMQ_OK);
    const int png8 = nfiles++;
    cr_assert_eq(kmq_labels_encode(labels, 24, 16, cb.k, &o, &files[nfiles], &lens[nfiles]), KMQ_OK);
    const int label_png = nfiles++;

    for (int i = 0; i < nfiles; i++) {
        kmq_image img;
        const char *why = NULL;
        cr_assert_eq(kmq_image_decode(files[i], lens[i], 0, &img, &why), KMQ_OK, "file %d: %s", i,
                     why ? why : "");
        cr_assert_eq((size_t)img.width * img.height, (size_t)24 * 16);
        free(img.pixels); /* plain malloc memory (ASan checks the pairing) */
    }
    kmq_image img;
    kmq_codebook got;
    cr_assert_eq(kmq_png8_decode(files[png8], lens[png8], 0, &img, &got, NULL), KMQ_OK);
    cr_assert(!memcmp(img.pixels, labels, sizeof labels));
    free(img.pixels);
    free(got.entries);
    cr_assert_eq(kmq_labels_decode(files[label_png], lens[label_png], 0, &img, NULL), KMQ_OK);
    cr_assert(!memcmp(img.pixels, labels, sizeof labels));
    free(img.pixels);
    for (int i = 0; i < nfiles; i++)
        free(files[i]);
    kmq_codebook_free(&cb);
    free(src.pixels);
}

Test(api, params_check_names_the_wrong_field_against_the_limits_in_kmq_h)
{
    kmq_params p;
    const char *field = "unset";
    kmq_params_default(&p);
    cr_assert_eq(kmq_params_check(&p, &field), KMQ_OK);
    cr_assert_null(field);
    cr_assert_eq(kmq_params_check(NULL, &field), KMQ_ERR_ARG);
    cr_assert_str_eq(field, "params");
#define EXPECT(stmt, name)                                                                         \
    do {                                                                                           \
        kmq_params_default(&p);                                                                    \
        stmt;                                                                                      \
        field = NULL;                                                                              \
        cr_assert_eq(kmq_params_check(&p, &field), KMQ_ERR_ARG, #stmt);                            \
        cr_assert_str_eq(field, name, #stmt);                                                      \
    } while (0)
#define ACCEPT(stmt)                                                                               \
    do {                                                                                           \
        kmq_params_default(&p);                                                                    \
        stmt;                                                                                      \
        cr_assert_eq(kmq_params_check(&p, NULL), KMQ_OK, #stmt);                                   \
    } while (0)
    EXPECT(p.k = KMQ_MIN_K - 1, "k");
    EXPECT(p.k = KMQ_MAX_K + 1, "k");
    EXPECT(p.init = (kmq_init)7, "init");
    EXPECT(p.n_init = -1, "n_init");
    EXPECT(p.n_init = KMQ_MAX_N_INIT + 1, "n_init");
    EXPECT(p.max_iter = 0, "max_iter");
    EXPECT(p.max_iter = KMQ_MAX_ITER + 1, "max_iter");
    EXPECT(p.tol = -1e-9, "tol");
    EXPECT(p.tol = 1.0 / 0.0, "tol");
    EXPECT(p.tol = 0.0 / 0.0, "tol");
    EXPECT(p.threads = -1, "threads");
    EXPECT(p.threads = 100000, "threads"); /* kmq 0.1.0 accepted it */
    ACCEPT(p.k = KMQ_MAX_K);
    ACCEPT(p.n_init = KMQ_MAX_N_INIT);
    ACCEPT(p.n_init = KMQ_N_INIT_AUTO);
    ACCEPT(p.max_iter = KMQ_MAX_ITER);
    ACCEPT(p.threads = KMQ_MAX_THREADS);
    ACCEPT(p.tol = 0);
    /* kmq_quantize refuses what the check refuses. */
    kmq_params_default(&p);
    p.threads = KMQ_MAX_THREADS + 1;
    uint8_t px[12] = {0}, lab[4];
    kmq_codebook cb;
    cr_assert_eq(kmq_quantize(px, 4, 3, &p, &cb, lab, NULL), KMQ_ERR_ARG);
    /* and NULL where a result goes, or a file name, is an argument error */
    kmq_params_default(&p);
    cr_assert_eq(kmq_quantize(px, 4, 3, &p, NULL, lab, NULL), KMQ_ERR_ARG);
    kmq_image img;
    cr_assert_eq(kmq_image_decode_file(NULL, 0, &img, NULL, NULL), KMQ_ERR_ARG);
    cr_assert_eq(kmq_image_decode(NULL, 10, 0, &img, NULL), KMQ_ERR_ARG);
    uint8_t *buf;
    size_t len;
    cr_assert_eq(kmq_read_file(NULL, 0, &buf, &len), KMQ_ERR_ARG);
}

Test(api, version_matches_the_header)
{
    cr_assert_str_eq(kmq_version(), KMQ_VERSION_STRING);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", KMQ_VERSION_MAJOR, KMQ_VERSION_MINOR,
             KMQ_VERSION_PATCH);
    cr_assert_str_eq(kmq_version(), want);
}

/* ---- several threads at once ---- */

Test(api, eight_threads_at_once_give_the_serial_bytes, .timeout = 600)
{
    const int rounds = 16, mismatches = concurrent_mismatches(8, rounds);
    cr_assert_geq(mismatches, 0, "setting up the serial results failed");
    cr_assert_eq(mismatches, 0, "%d of %d concurrent results differ from the serial ones",
                 mismatches, 8 * rounds);
}

/* kmq.h, Strings: a *why stays valid until the next kmq call on the same
   thread; a failure on another thread leaves it as it was. */
static uint8_t *png_with_bad_crc(const char *chunk, size_t *len)
{
    uint8_t px[8 * 8 * 3];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 13);
    uint8_t *png;
    cr_assert_eq(kmq_png_encode(px, 8, 8, 3, &png, len), KMQ_OK);
    for (size_t at = 8; at + 12 <= *len;) {
        const size_t n = (size_t)png[at] << 24 | (size_t)png[at + 1] << 16 | (size_t)png[at + 2] << 8 | png[at + 3];
        if (!memcmp(png + at + 4, chunk, 4)) {
            png[at + 8 + n + 3] ^= 1; /* the chunk's CRC */
            return png;
        }
        at += 12 + n;
    }
    cr_assert_fail("no %s chunk", chunk);
    return NULL;
}

static void *fail_on_another_thread(void *arg)
{
    size_t len;
    uint8_t *png = png_with_bad_crc("IHDR", &len);
    kmq_image img;
    const char *why = NULL;
    cr_assert_eq(kmq_image_decode(png, len, 0, &img, &why), KMQ_ERR_PNG_CRC);
    snprintf(arg, 64, "%s", why); /* this thread's text ends with it */
    free(png);
    return NULL;
}

Test(api, why_is_not_overwritten_by_another_thread)
{
    size_t len;
    uint8_t *png = png_with_bad_crc("IDAT", &len);
    kmq_image img;
    const char *why = NULL;
    char other[64] = "";
    cr_assert_eq(kmq_image_decode(png, len, 0, &img, &why), KMQ_ERR_PNG_CRC);
    cr_assert_str_eq(why, "CRC mismatch in PNG chunk IDAT");
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, fail_on_another_thread, other), 0);
    pthread_join(t, NULL);
    cr_assert_str_eq(other, "CRC mismatch in PNG chunk IHDR");
    cr_assert_str_eq(why, "CRC mismatch in PNG chunk IDAT");
    free(png);
}
