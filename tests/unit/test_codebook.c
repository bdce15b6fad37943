/* Codebook .bin and .npy: round trips and every kind of damage. */
#include <criterion/criterion.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq.h"

static kmq_codebook sample(int k, int C)
{
    kmq_codebook cb = {k, C, malloc((size_t)k * C)};
    for (int i = 0; i < k * C; i++)
        cb.entries[i] = (uint8_t)(i * 37 + 11);
    return cb;
}

static void fix_crc(uint8_t *buf, size_t len)
{
    uint32_t crc = libdeflate_crc32(0, buf, len - 4);
    for (int i = 0; i < 4; i++)
        buf[len - 4 + i] = (uint8_t)(crc >> (8 * i));
}

Test(codebook_bin, round_trip_all_shapes)
{
    for (int C = 1; C <= 4; C++)
        for (int k = 1; k <= 256; k += 51) {
            kmq_codebook cb = sample(k, C), back;
            uint8_t *buf;
            size_t len;
            cr_assert_eq(kmq_codebook_encode_bin(&cb, &buf, &len), KMQ_OK);
            cr_assert_eq(len, 12 + (size_t)k * C);
            cr_assert_eq(kmq_codebook_decode_bin(buf, len, &back), KMQ_OK);
            cr_assert_eq(back.k, k);
            cr_assert_eq(back.channels, C);
            cr_assert(!memcmp(back.entries, cb.entries, (size_t)k * C));
            kmq_codebook_free(&back);
            kmq_codebook_free(&cb);
            free(buf);
        }
}

Test(codebook_bin, exact_bytes)
{
    kmq_codebook cb = {2, 3, (uint8_t[]){1, 2, 3, 4, 5, 6}};
    uint8_t *buf;
    size_t len;
    cr_assert_eq(kmq_codebook_encode_bin(&cb, &buf, &len), KMQ_OK);
    const uint8_t head[] = {'K', 'M', 'Q', 'C', 1, 3, 2, 0, 1, 2, 3, 4, 5, 6};
    cr_assert_eq(len, sizeof head + 4);
    cr_assert(!memcmp(buf, head, sizeof head));
    uint32_t crc = libdeflate_crc32(0, head, sizeof head);
    cr_assert_eq(buf[14] | buf[15] << 8 | buf[16] << 16 | (uint32_t)buf[17] << 24, crc);
    free(buf);
}

static void expect(const uint8_t *buf, size_t len, kmq_status want)
{
    kmq_codebook cb;
    kmq_status got = kmq_codebook_decode_bin(buf, len, &cb);
    cr_assert_eq(got, want, "got %d (%s), want %d", got, kmq_strerror(got), want);
    cr_assert_null(cb.entries);
}

Test(codebook_bin, corruptions_are_rejected)
{
    kmq_codebook cb = sample(128, 3);
    uint8_t *good;
    size_t len;
    cr_assert_eq(kmq_codebook_encode_bin(&cb, &good, &len), KMQ_OK);
    uint8_t *b = malloc(len + 8);

    memcpy(b, good, len), b[0] = 'X';
    expect(b, len, KMQ_ERR_CB_MAGIC);
    memcpy(b, good, len), b[4] = 2, fix_crc(b, len);
    expect(b, len, KMQ_ERR_CB_VERSION);
    memcpy(b, good, len), b[5] = 0, fix_crc(b, len);
    expect(b, len, KMQ_ERR_CB_CHANNELS);
    memcpy(b, good, len), b[5] = 5, fix_crc(b, len);
    expect(b, len, KMQ_ERR_CB_CHANNELS);
    memcpy(b, good, len), b[6] = 0, b[7] = 0, fix_crc(b, len);
    expect(b, len, KMQ_ERR_CB_K);
    memcpy(b, good, len), b[6] = 1, b[7] = 1; /* k = 257 */
    expect(b, len, KMQ_ERR_CB_K);
    /* every truncation */
    for (size_t l = 0; l < len; l++)
        expect(good, l, KMQ_ERR_CB_TRUNCATED);
    /* every single-bit flip in the body and CRC */
    for (size_t i = 8; i < len; i++)
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(b, good, len);
            b[i] ^= (uint8_t)(1 << bit);
            expect(b, len, KMQ_ERR_CB_CRC);
        }
    /* trailing bytes */
    memcpy(b, good, len), b[len] = 0;
    expect(b, len + 1, KMQ_ERR_CB_TRAILING);
    /* an empty file and a file of another kind */
    expect((const uint8_t *)"", 0, KMQ_ERR_CB_TRUNCATED);
    expect((const uint8_t *)"\x93NUMPY", 6, KMQ_ERR_CB_MAGIC);
    free(b), free(good);
    kmq_codebook_free(&cb);
}

/* ---- .npy ---- */

static size_t make_npy(uint8_t *out, int major, const char *dict, const uint8_t *data, size_t n)
{
    size_t hl = strlen(dict);
    size_t pre = major == 1 ? 10 : 12;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (uint8_t)major, out[7] = 0;
    out[8] = (uint8_t)hl, out[9] = (uint8_t)(hl >> 8);
    if (major != 1)
        out[10] = out[11] = 0;
    memcpy(out + pre, dict, hl);
    memcpy(out + pre + hl, data, n);
    return pre + hl + n;
}

static void npy_expect(const char *dict, int major, size_t ndata, kmq_status want)
{
    uint8_t data[1024], buf[2048];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)i;
    size_t len = make_npy(buf, major, dict, data, ndata);
    kmq_codebook cb;
    kmq_status got = kmq_codebook_decode_npy(buf, len, &cb);
    cr_assert_eq(got, want, "%s: got %d (%s), want %d", dict, got, kmq_strerror(got), want);
    kmq_codebook_free(&cb);
}

Test(codebook_npy, round_trip_is_numpy_format_1)
{
    kmq_codebook cb = sample(128, 3), back;
    uint8_t *buf;
    size_t len;
    cr_assert_eq(kmq_codebook_encode_npy(&cb, &buf, &len), KMQ_OK);
    cr_assert(!memcmp(buf, "\x93NUMPY\x01\x00", 8));
    size_t hl = buf[8] | buf[9] << 8;
    cr_assert_eq((10 + hl) % 64, 0, "data must start 64-aligned");
    cr_assert_eq(buf[10 + hl - 1], '\n');
    cr_assert(strstr((char *)buf + 10, "'shape': (128, 3)"));
    cr_assert_eq(kmq_codebook_decode_npy(buf, len, &back), KMQ_OK);
    cr_assert_eq(back.k, 128);
    cr_assert_eq(back.channels, 3);
    cr_assert(!memcmp(back.entries, cb.entries, 384));
    kmq_codebook_free(&back);
    kmq_codebook_free(&cb);
    free(buf);
}

Test(codebook_npy, real_world_headers)
{
    npy_expect("{'descr': '|u1', 'fortran_order': False, 'shape': (128L, 3L), }            \n", 1, 384, KMQ_OK);
    npy_expect("{'descr': '|u1', 'fortran_order': False, 'shape': (4, 3), }\n", 1, 12, KMQ_OK);
    npy_expect("{\"shape\": (4, 3), \"fortran_order\": False, \"descr\": \"<u1\"}\n", 1, 12, KMQ_OK);
    npy_expect("{'descr': '|u1', 'fortran_order': False, 'shape': (4, 3)}", 2, 12, KMQ_OK);
    npy_expect("{'descr': '|u1', 'fortran_order': False, 'shape': (16,), }\n", 1, 16, KMQ_OK);
    npy_expect("{'descr': '|u1', 'fortran_order': True, 'shape': (4, 3), }\n", 3, 12, KMQ_OK);
}

Test(codebook_npy, fortran_order_is_transposed)
{
    uint8_t buf[256];
    const uint8_t colmajor[] = {1, 2, 10, 20, 100, 200}; /* shape (2, 3) */
    size_t len = make_npy(buf, 1, "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }\n", colmajor, 6);
    kmq_codebook cb;
    cr_assert_eq(kmq_codebook_decode_npy(buf, len, &cb), KMQ_OK);
    const uint8_t want[] = {1, 10, 100, 2, 20, 200};
    cr_assert(!memcmp(cb.entries, want, 6));
    kmq_codebook_free(&cb);
}

Test(codebook_npy, bad_headers_are_rejected)
{
    npy_expect("{'descr': '<i4', 'fortran_order': False, 'shape': (4, 3), }\n", 1, 48, KMQ_ERR_NPY_DTYPE);
    npy_expect("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), }\n", 1, 96, KMQ_ERR_NPY_DTYPE);
    npy_expect("{'descr': '|u1', 'fortran_order': False, 'shape': (300, 3), }\n", 1, 900, KMQ_ERR_NPY_SHAPE);
    npy_expect("{'descr': '|u1', 'fortran_order': False, 'shape': (4, 5), }\n", 1, 20, KMQ_ERR_NPY_SHAPE);
    npy_expect("{'descr': '|u1', 'fortran_order': False, 'shape': (0, 3), }\n", 1, 0, KMQ_ERR_NPY_SHAPE);
    npy_expect("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 3), }\n", 1, 12, KMQ_ERR_NPY_SHAPE);
    npy_expect("{'descr': '|u1', 'fortran_order': False, 'shape': (), }\n", 1, 1, KMQ_ERR_NPY_SHAPE);
    npy_expect("{'descr': '|u1', 'fortran_order': False, 'shape': (4, 3), }\n", 1, 11, KMQ_ERR_NPY_DATA);
    npy_expect("{'descr': '|u1', 'fortran_order': False, 'shape': (4, 3), }\n", 1, 13, KMQ_ERR_NPY_DATA);
    npy_expect("{'descr': '|u1', 'fortran_order': False, 'shape': (4, 3), \n", 1, 12, KMQ_ERR_NPY_HEADER);
    npy_expect("{'descr': '|u1', 'shape': (4, 3), }\n", 1, 12, KMQ_ERR_NPY_HEADER);
    npy_expect("{'descr': '|u1', 'fortran_order': Maybe, 'shape': (4, 3), }\n", 1, 12, KMQ_ERR_NPY_HEADER);
    npy_expect("{'descr': '|u1', 'fortran_order': False, 'shape': (4, 3), 'x': 1}\n", 1, 12, KMQ_ERR_NPY_HEADER);
    npy_expect("{'descr': '|u1', 'fortran_order': False, 'shape': (4, 3), }\n", 4, 12, KMQ_ERR_NPY_VERSION);

    kmq_codebook cb;
    cr_assert_eq(kmq_codebook_decode_npy((const uint8_t *)"KMQC\x01\x03", 6, &cb), KMQ_ERR_NPY_MAGIC);
    cr_assert_eq(kmq_codebook_decode_npy((const uint8_t *)"", 0, &cb), KMQ_ERR_NPY_MAGIC);
    cr_assert_eq(kmq_codebook_decode_npy((const uint8_t *)"\x93NUMPY\x01", 7, &cb), KMQ_ERR_NPY_HEADER);
    /* header length pointing past the end */
    uint8_t buf[32] = "\x93NUMPY\x01\x00\xff\x00{}";
    cr_assert_eq(kmq_codebook_decode_npy(buf, 12, &cb), KMQ_ERR_NPY_HEADER);
}

Test(codebook, every_status_has_a_message)
{
    for (int s = 0; s < 64; s++)
        cr_assert_not_null(kmq_strerror((kmq_status)s));
    cr_assert_str_eq(kmq_strerror(KMQ_ERR_CB_CRC), "codebook CRC-32 mismatch (file is corrupt)");
    cr_assert_str_eq(kmq_strerror((kmq_status)999), "unknown error");
}

Test(codebook, decode_labels_checks_range_before_writing)
{
    kmq_codebook cb = {2, 1, (uint8_t[]){7, 9}};
    uint8_t labels[] = {0, 1, 1, 2, 0}, out[5] = {0};
    size_t bad = 0;
    cr_assert_eq(kmq_labels_to_pixels(labels, 5, &cb, out, &bad), KMQ_ERR_LABEL_RANGE);
    cr_assert_eq(bad, 3);
    const uint8_t zero[5] = {0};
    cr_assert(!memcmp(out, zero, 5), "nothing is written on error");
    labels[3] = 0;
    cr_assert_eq(kmq_labels_to_pixels(labels, 5, &cb, out, &bad), KMQ_OK);
    const uint8_t want[] = {7, 9, 9, 7, 7};
    cr_assert(!memcmp(out, want, 5));
}

/* kmq_decode_labels, kmq_labels_to_pixels' 0.2 name, still works (until
   0.4): the same bytes, the same refusal. */
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
Test(codebook, old_name_of_labels_to_pixels_still_works)
{
    uint8_t entries[6] = {10, 20, 30, 40, 50, 60};
    kmq_codebook cb = {2, 3, entries};
    const uint8_t labels[4] = {1, 0, 1, 1}, bad_labels[2] = {0, 2};
    uint8_t a[12], b[12];
    size_t bad = 0;
    cr_assert_eq(kmq_labels_to_pixels(labels, 4, &cb, a, NULL), KMQ_OK);
    cr_assert_eq(kmq_decode_labels(labels, 4, &cb, b, NULL), KMQ_OK);
    cr_assert(!memcmp(a, b, sizeof a));
    cr_assert_eq(kmq_decode_labels(bad_labels, 2, &cb, b, &bad), KMQ_ERR_LABEL_RANGE);
    cr_assert_eq(bad, 1);
}
