/* Metadata parsers on hand-made bytes: EXIF orientation, JPEG ICC parts,
   PNG chunks in and out, the label PNG's kmCp. */
#include <criterion/criterion.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "formats.h"

static void put16(uint8_t *p, int le, unsigned v)
{
    p[le ? 0 : 1] = (uint8_t)v, p[le ? 1 : 0] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, int le, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[le ? i : 3 - i] = (uint8_t)(v >> (8 * i));
}

/* TIFF data with one IFD0 entry (tag, type, count, value). */
static size_t tiff(uint8_t *t, int le, unsigned tag, unsigned type, uint32_t count, unsigned value)
{
    memset(t, 0, 26);
    t[0] = t[1] = le ? 'I' : 'M';
    put16(t + 2, le, 42);
    put32(t + 4, le, 8);
    put16(t + 8, le, 1);
    put16(t + 10, le, tag);
    put16(t + 12, le, type);
    put32(t + 14, le, count);
    put16(t + 18, le, value);
    return 26;
}

Test(metadata, exif_orientation_both_byte_orders_and_malformed)
{
    uint8_t t[64];
    for (int le = 0; le < 2; le++)
        for (unsigned o = 1; o <= 8; o++) {
            kmq_metadata m;
            kmq_meta_init(&m);
            kmq_meta_exif(&m, t, tiff(t, le, 0x0112, 3, 1, o));
            cr_assert_eq(m.orientation, (int)o);
            cr_assert_null(m.warning);
        }
    struct {
        unsigned tag, type;
        uint32_t count;
        unsigned value;
        int warn, orient;
    } cases[] = {
        {0x0112, 3, 1, 9, 1, 1},  /* not 1..8 */
        {0x0112, 3, 1, 0, 1, 1},
        {0x0112, 4, 1, 6, 1, 1},  /* LONG, not SHORT */
        {0x0112, 3, 2, 6, 1, 1},  /* two values */
        {0x0110, 3, 1, 6, 0, 1},  /* another tag: upright, no warning */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        kmq_metadata m;
        kmq_meta_init(&m);
        kmq_meta_exif(&m, t, tiff(t, 1, cases[i].tag, cases[i].type, cases[i].count, cases[i].value));
        cr_assert_eq(m.orientation, cases[i].orient, "case %zu", i);
        cr_assert_eq(m.warning != NULL, cases[i].warn, "case %zu", i);
    }
    /* truncations at every length short of the entry (the next-IFD offset
       after it is not needed), a huge entry count, an IFD offset past the
       end: never a read out of bounds (ASan), always a warning */
    size_t n = tiff(t, 0, 0x0112, 3, 1, 6);
    for (size_t len = 0; len < n - 4; len++) {
        uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees overreads */
        memcpy(copy, t, len);
        kmq_metadata m;
        kmq_meta_init(&m);
        kmq_meta_exif(&m, copy, len);
        cr_assert_eq(m.orientation, 1, "length %zu", len);
        cr_assert_not_null(m.warning, "length %zu", len);
        free(copy);
    }
    put16(t + 8, 0, 0xFFFF);
    kmq_metadata m;
    kmq_meta_init(&m);
    kmq_meta_exif(&m, t, n);
    cr_assert_not_null(m.warning);
    put32(t + 4, 0, 0xFFFFFFF0u);
    kmq_meta_init(&m);
    kmq_meta_exif(&m, t, n);
    cr_assert_not_null(m.warning);
}

/* A fake ICC profile of n bytes: size in its header, "RGB " at 16. */
static uint8_t *profile(size_t n, const char *space)
{
    uint8_t *p = calloc(n, 1);
    put32(p, 0, (uint32_t)n);
    memcpy(p + 16, space, 4);
    for (size_t i = 128; i < n; i++)
        p[i] = (uint8_t)(i * 7);
    return p;
}

static kmq_status app2(kmq_metadata *m, kmq_jpeg_icc *icc, int seq, int count, const uint8_t *d,
                       size_t n)
{
    uint8_t *seg = malloc(14 + n);
    memcpy(seg, "ICC_PROFILE\0", 12);
    seg[12] = (uint8_t)seq, seg[13] = (uint8_t)count;
    memcpy(seg + 14, d, n);
    kmq_status s = kmq_meta_jpeg_segment(m, icc, 0xE2, seg, 14 + n);
    free(seg);
    return s;
}

/* The profile inside m's iCCP chunk, inflated (malloc'd), or NULL. */
static uint8_t *iccp_of(const kmq_metadata *m, size_t *len)
{
    for (size_t at = 0; at + 12 <= m->chunks_len;) {
        const uint8_t *c = m->chunks + at;
        size_t n = (size_t)c[0] << 24 | c[1] << 16 | c[2] << 8 | c[3];
        if (!memcmp(c + 4, "iCCP", 4)) {
            const uint8_t *d = c + 8;
            size_t name = strlen((const char *)d);
            uLongf out = 1 << 24;
            uint8_t *p = malloc(out);
            cr_assert_eq(uncompress(p, &out, d + name + 2, n - name - 2), Z_OK);
            *len = out;
            return p;
        }
        at += 12 + n;
    }
    return NULL;
}

Test(metadata, jpeg_icc_parts_join_in_any_order_and_bad_sets_are_dropped)
{
    const size_t n = 3000;
    uint8_t *p = profile(n, "RGB ");
    /* three parts, given 2, 3, 1 */
    kmq_metadata m;
    kmq_jpeg_icc icc;
    kmq_meta_init(&m);
    memset(&icc, 0, sizeof icc);
    cr_assert_eq(app2(&m, &icc, 2, 3, p + 1000, 1000), KMQ_OK);
    cr_assert_eq(app2(&m, &icc, 3, 3, p + 2000, 1000), KMQ_OK);
    cr_assert_eq(app2(&m, &icc, 1, 3, p, 1000), KMQ_OK);
    cr_assert_eq(kmq_meta_jpeg_finish(&m, &icc), KMQ_OK);
    size_t got_len;
    uint8_t *got = iccp_of(&m, &got_len);
    cr_assert_not_null(got);
    cr_assert_eq(got_len, n);
    cr_assert(!memcmp(got, p, n));
    cr_assert_null(m.warning);
    free(got);
    kmq_metadata_free(&m);
    /* missing part, duplicate part, counts that disagree, seq 0 */
    const int bad[][4] = {{1, 3, 3, 3}, {1, 2, 1, 2}, {1, 2, 2, 3}, {0, 1, 0, 0}};
    for (size_t c = 0; c < sizeof bad / sizeof *bad; c++) {
        kmq_meta_init(&m);
        memset(&icc, 0, sizeof icc);
        cr_assert_eq(app2(&m, &icc, bad[c][0], bad[c][1], p, 1500), KMQ_OK);
        if (bad[c][2])
            cr_assert_eq(app2(&m, &icc, bad[c][2], bad[c][3], p + 1500, 1500), KMQ_OK);
        cr_assert_eq(kmq_meta_jpeg_finish(&m, &icc), KMQ_OK);
        cr_assert_eq(m.chunks_len, 0, "case %zu", c);
        cr_assert_not_null(m.warning, "case %zu", c);
        kmq_metadata_free(&m);
    }
    free(p);
}

Test(metadata, png_chunks_in_and_out_and_the_label_chunk)
{
    /* A profile that is fine, one more (dropped: only the first counts) and
       fixed-size chunks of the right and wrong sizes. */
    uint8_t *p = profile(500, "RGB ");
    uLongf zl = compressBound(500);
    uint8_t *iccp = malloc(5 + zl);
    memcpy(iccp, "icc\0\0", 5);
    cr_assert_eq(compress(iccp + 5, &zl, p, 500), Z_OK);
    kmq_metadata m;
    kmq_meta_init(&m);
    const uint8_t phys[9] = {0, 0, 0x2E, 0x23, 0, 0, 0x2E, 0x23, 1}, gama[4] = {0, 0, 0xB1, 0x8F};
    cr_assert_eq(kmq_meta_add_chunk(&m, (const uint8_t *)"iCCP", iccp, 5 + zl), KMQ_OK);
    cr_assert_eq(kmq_meta_add_chunk(&m, (const uint8_t *)"iCCP", iccp, 5 + zl), KMQ_OK);
    cr_assert_eq(kmq_meta_add_chunk(&m, (const uint8_t *)"pHYs", phys, 9), KMQ_OK);
    cr_assert_eq(kmq_meta_add_chunk(&m, (const uint8_t *)"gAMA", phys, 3), KMQ_OK); /* bad size */
    cr_assert_eq(kmq_meta_add_chunk(&m, (const uint8_t *)"gAMA", gama, 4), KMQ_OK);
    cr_assert_eq(kmq_meta_add_chunk(&m, (const uint8_t *)"tEXt", gama, 4), KMQ_OK); /* not carried */
    cr_assert_eq(m.chunks_len, (12 + 5 + zl) + (12 + 9) + (12 + 4));
    cr_assert_not_null(m.warning);
    /* Written after the IHDR of a label PNG (inside kmCp) and of an RGB PNG. */
    uint8_t px[12] = {0}, *png, *lab, *with;
    size_t png_len, lab_len, with_len;
    cr_assert_eq(kmq_png_encode(px, 2, 2, 3, &png, &png_len), KMQ_OK);
    const kmq_png_options o = {.size = sizeof(kmq_png_options), .level = 6, .threads = 1};
    cr_assert_eq(kmq_labels_encode(px, 2, 2, 2, &o, &lab, &lab_len), KMQ_OK);
    const char *warning = "x";
    cr_assert_eq(kmq_png_add_metadata(png, png_len, &m, &with, &with_len, &warning), KMQ_OK);
    cr_assert_null(warning);
    cr_assert_eq(with_len, png_len + m.chunks_len);
    cr_assert(!memcmp(with + 33, m.chunks, m.chunks_len));
    kmq_png_header hdr;
    const char *why;
    cr_assert_eq(kmq_png_check(with, with_len, &hdr, &why), KMQ_OK);
    kmq_metadata back;
    cr_assert_eq(kmq_png_read_metadata(with, with_len, &back), KMQ_OK);
    cr_assert_eq(back.chunks_len, m.chunks_len);
    cr_assert(!memcmp(back.chunks, m.chunks, m.chunks_len));
    kmq_metadata_free(&back);
    free(with);
    cr_assert_eq(kmq_labels_add_metadata(lab, lab_len, &m, NULL, &with, &with_len), KMQ_OK);
    cr_assert(!memcmp(with + 37, "kmCp", 4));
    cr_assert_eq(kmq_png_check(with, with_len, &hdr, &why), KMQ_OK);
    cr_assert_eq(kmq_png_read_metadata(with, with_len, &back), KMQ_OK);
    cr_assert_eq(back.chunks_len, m.chunks_len);
    cr_assert(!memcmp(back.chunks, m.chunks, m.chunks_len));
    kmq_metadata_free(&back);
    /* a damaged chunk inside kmCp is skipped, the others still count */
    with[37 + 4 + 8 + 10] ^= 1; /* inside the iCCP's data: its CRC fails */
    const size_t kmcp = m.chunks_len;  /* kmCp's own CRC made right again */
    put32(with + 41 + kmcp, 0, (uint32_t)libdeflate_crc32(0, with + 37, 4 + kmcp));
    cr_assert_eq(kmq_png_read_metadata(with, with_len, &back), KMQ_OK);
    cr_assert_eq(back.chunks_len, (12 + 9) + (12 + 4));
    kmq_metadata_free(&back);
    free(with);
    /* A GRAY profile does not go into an RGB PNG. */
    memcpy(p + 16, "GRAY", 4);
    zl = compressBound(500);
    cr_assert_eq(compress(iccp + 5, &zl, p, 500), Z_OK);
    kmq_metadata grey;
    kmq_meta_init(&grey);
    cr_assert_eq(kmq_meta_add_chunk(&grey, (const uint8_t *)"iCCP", iccp, 5 + zl), KMQ_OK);
    cr_assert_eq(kmq_png_add_metadata(png, png_len, &grey, &with, &with_len, &warning), KMQ_OK);
    cr_assert_eq(with_len, png_len);
    cr_assert_not_null(warning);
    free(with);
    kmq_metadata_free(&grey);
    kmq_metadata_free(&m);
    free(png), free(lab), free(p), free(iccp);
}

Test(metadata, orientation_turns_the_pixels_and_dpi)
{
    /* A 3x2 RGB PNG with eXIf orientation 6 and pHYs 100 x 200 per metre:
       decoded 2x3, rotated clockwise, pHYs swapped. */
    const uint8_t px[] = {1, 0, 0, 2, 0, 0, 3, 0, 0, 4, 0, 0, 5, 0, 0, 6, 0, 0};
    uint8_t *png, *with, t[32];
    size_t png_len, with_len;
    cr_assert_eq(kmq_png_encode(px, 3, 2, 3, &png, &png_len), KMQ_OK);
    kmq_metadata m;
    kmq_meta_init(&m);
    const uint8_t phys[9] = {0, 0, 0, 100, 0, 0, 0, 200, 1};
    cr_assert_eq(kmq_meta_add_chunk(&m, (const uint8_t *)"pHYs", phys, 9), KMQ_OK);
    /* an eXIf chunk by hand, after the pHYs */
    size_t tl = tiff(t, 1, 0x0112, 3, 1, 6);
    uint8_t *c = realloc(m.chunks, m.chunks_len + 12 + tl);
    m.chunks = c;
    c += m.chunks_len;
    put32(c, 0, (uint32_t)tl);
    memcpy(c + 4, "eXIf", 4);
    memcpy(c + 8, t, tl);
    put32(c + 8 + tl, 0, (uint32_t)libdeflate_crc32(0, c + 4, 4 + tl));
    m.chunks_len += 12 + tl;
    cr_assert_eq(kmq_png_add_metadata(png, png_len, &m, &with, &with_len, NULL), KMQ_OK);
    kmq_image img;
    kmq_metadata got;
    const kmq_decode_options turn = {.size = sizeof turn}, keep = {.size = sizeof keep, .keep_orientation = 1};
    cr_assert_eq(kmq_image_decode_ex(with, with_len, &turn, &img, &got, NULL), KMQ_OK);
    cr_assert_eq(img.width, 2);
    cr_assert_eq(img.height, 3);
    const uint8_t want[] = {4, 1, 5, 2, 6, 3}; /* rows of the turned image */
    for (int i = 0; i < 6; i++)
        cr_assert_eq(img.pixels[i * 3], want[i], "pixel %d", i);
    cr_assert_eq(got.orientation, 6);
    cr_assert_eq(got.oriented, 1);
    cr_assert(!memcmp(got.chunks + 8, "\0\0\0\xc8\0\0\0\x64\1", 9), "pHYs not swapped");
    kmq_image_free(&img);
    kmq_metadata_free(&got);
    cr_assert_eq(kmq_image_decode_ex(with, with_len, &keep, &img, &got, NULL), KMQ_OK);
    cr_assert_eq(img.width, 3);
    cr_assert(!memcmp(img.pixels, px, sizeof px));
    cr_assert_eq(got.oriented, 0);
    kmq_image_free(&img);
    kmq_metadata_free(&got);
    kmq_metadata_free(&m);
    free(png), free(with);
}

/* Issue 23: a label PNG's binding, read from memory and from a file, and
   damage that must not read as "no binding". */
static size_t put_chunk(uint8_t *p, const char *type, const uint8_t *data, uint32_t n)
{
    put32(p, 0, n);
    memcpy(p + 4, type, 4);
    if (n)
        memcpy(p + 8, data, n);
    put32(p + 8 + n, 0, (uint32_t)crc32(crc32(0, NULL, 0), p + 4, 4 + n));
    return 12 + (size_t)n;
}

/* A label PNG (IHDR, kmCp with `inner`, IDAT, `tail`, IEND) into png. */
static size_t label_png(uint8_t *png, const uint8_t *inner, uint32_t n, int kmcp_after_idat)
{
    static const uint8_t ihdr[13] = {0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0};
    static const uint8_t idat[] = {0x78, 0x01, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01};
    size_t at = 8;
    memcpy(png, "\x89PNG\r\n\x1a\n", 8);
    at += put_chunk(png + at, "IHDR", ihdr, 13);
    if (!kmcp_after_idat)
        at += put_chunk(png + at, "kmCp", inner, n);
    at += put_chunk(png + at, "IDAT", idat, sizeof idat);
    if (kmcp_after_idat)
        at += put_chunk(png + at, "kmCp", inner, n);
    at += put_chunk(png + at, "IEND", NULL, 0);
    return at;
}

static kmq_status binding_both_ways(const uint8_t *png, size_t len, kmq_binding *b)
{
    kmq_binding f;
    kmq_status s = kmq_labels_read_binding(png, len, b);
    FILE *tmp = tmpfile();
    cr_assert(tmp && fwrite(png, 1, len, tmp) == len && fflush(tmp) == 0);
    cr_assert_eq(kmq_labels_read_binding_fd(fileno(tmp), &f), s, "the file says otherwise");
    cr_assert_eq(memcmp(&f, b, sizeof f), 0);
    fclose(tmp);
    return s;
}

Test(metadata, a_damaged_binding_is_not_read_as_none)
{
    const uint8_t id[7] = {3, 0, 16, 0xDE, 0xAD, 0xBE, 0xEF};
    uint8_t kmcb[19], inner[64], png[256];
    put_chunk(kmcb, "kmCb", id, 7);
    kmq_binding b;
    /* intact, and with a colour chunk after it */
    size_t len = label_png(png, kmcb, 19, 0);
    cr_assert_eq(binding_both_ways(png, len, &b), KMQ_OK);
    cr_assert(b.present == 1 && b.channels == 3 && b.k == 16 && b.id == 0xDEADBEEF);
    const uint8_t gama[4] = {0, 0, 0xB1, 0x8F};
    memcpy(inner, kmcb, 19);
    size_t n = 19 + put_chunk(inner + 19, "gAMA", gama, 4);
    len = label_png(png, inner, (uint32_t)n, 0);
    cr_assert_eq(binding_both_ways(png, len, &b), KMQ_OK);
    cr_assert_eq(b.present, 1);
    /* no kmCb at all (kmq 0.1.0's kmCp): no binding */
    n = put_chunk(inner, "gAMA", gama, 4);
    len = label_png(png, inner, (uint32_t)n, 0);
    cr_assert_eq(binding_both_ways(png, len, &b), KMQ_OK);
    cr_assert_eq(b.present, 0);
    /* damaged: the kmCb's CRC, its size, its place; the kmCp's place */
    memcpy(inner, kmcb, 19);
    inner[18] ^= 1;
    len = label_png(png, inner, 19, 0);
    cr_assert_eq(binding_both_ways(png, len, &b), KMQ_ERR_BINDING);
    cr_assert_eq(b.present, -1);
    const uint8_t id8[8] = {3, 0, 16, 0xDE, 0xAD, 0xBE, 0xEF, 0};
    n = put_chunk(inner, "kmCb", id8, 8);
    len = label_png(png, inner, (uint32_t)n, 0);
    cr_assert_eq(binding_both_ways(png, len, &b), KMQ_ERR_BINDING);
    n = put_chunk(inner, "gAMA", gama, 4);
    memcpy(inner + n, kmcb, 19);
    len = label_png(png, inner, (uint32_t)n + 19, 0);
    cr_assert_eq(binding_both_ways(png, len, &b), KMQ_ERR_BINDING, "kmCb not first");
    len = label_png(png, kmcb, 19, 1);
    cr_assert_eq(binding_both_ways(png, len, &b), KMQ_ERR_BINDING, "kmCp after the IDAT");
    len = label_png(png, kmcb, 12, 0);
    cr_assert_eq(binding_both_ways(png, len, &b), KMQ_ERR_BINDING, "kmCb cut short");
    len = label_png(png, kmcb, 19, 0);
    png[41 + 19] ^= 1; /* the kmCp's own CRC */
    cr_assert_eq(binding_both_ways(png, len, &b), KMQ_ERR_BINDING, "kmCp CRC");
    cr_assert_eq(kmq_binding_matches(&b, &(kmq_codebook){0}), 0);
    /* not a PNG */
    cr_assert_eq(kmq_labels_read_binding((const uint8_t *)"GIF89a", 6, &b), KMQ_ERR_PNG_STRUCTURE);
}
