/* TIFF input (src/formats/tiff.c): the row reader over a descriptor gives the
   pixels kmq_tiff_decode gives from memory, band by band, and again after
   rewind; limits and corrupt files fail cleanly.  The files are written
   here with libtiff. */
#include <criterion/criterion.h>
#include <tiffio.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats.h"

/* Writes a w x h image of spp samples of bps bits (contiguous), tiled
   (16 x 16) or in strips of 3 rows, LZW-compressed, to a temporary file;
   returns its descriptor and the file's bytes in *buf. */
static int write_tiff(int w, int h, int spp, int bps, int tiled, uint8_t **buf, size_t *len)
{
    char path[] = "/tmp/kmq-tiff-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    TIFF *t = TIFFOpen(path, "w");
    cr_assert(t);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)h);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)spp);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, (uint16_t)bps);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
    if (spp == 2 || spp == 4) {
        uint16_t extra = EXTRASAMPLE_UNASSALPHA;
        TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, &extra);
    }
    const size_t px = (size_t)spp * (size_t)bps / 8;
    uint8_t *row = malloc((size_t)(w + 16) * px * 16);
    if (tiled) {
        TIFFSetField(t, TIFFTAG_TILEWIDTH, 16u);
        TIFFSetField(t, TIFFTAG_TILELENGTH, 16u);
        for (int ty = 0; ty < h; ty += 16)
            for (int tx = 0; tx < w; tx += 16) {
                for (size_t i = 0; i < 16 * 16 * px; i++)
                    row[i] = (uint8_t)((tx + ty) * 31 + i * 7 + i / 13);
                cr_assert(TIFFWriteTile(t, row, (uint32_t)tx, (uint32_t)ty, 0, 0) > 0);
            }
    } else {
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 3u);
        for (int y = 0; y < h; y++) {
            for (size_t i = 0; i < (size_t)w * px; i++)
                row[i] = (uint8_t)(y * 31 + i * 7 + i / 13);
            cr_assert(TIFFWriteScanline(t, row, (uint32_t)y, 0) == 1);
        }
    }
    TIFFClose(t);
    free(row);
    struct stat st;
    cr_assert(fstat(fd, &st) == 0);
    *len = (size_t)st.st_size;
    *buf = malloc(*len);
    cr_assert(pread(fd, *buf, *len, 0) == (ssize_t)*len);
    unlink(path);
    return fd;
}

/* The row reader over fd (a file of len bytes, also in buf) gives the
   pixels kmq_tiff_decode gives (returned in *decoded when not NULL, else
   freed): read in uneven pieces, again after rewind, and after a rewind
   in the middle. */
static void rows_match_decode(int fd, const uint8_t *buf, size_t len, int w, int h, int spp,
                              kmq_image *decoded)
{
    kmq_image img;
    kmq_metadata meta;
    kmq_meta_init(&meta);
    const char *why = NULL;
    cr_assert_eq(kmq_tiff_decode(buf, len, 0, &img, &meta, &why), KMQ_OK, "%s", why);
    cr_assert_eq(img.width, w);
    cr_assert_eq(img.height, h);
    cr_assert_eq(img.channels, spp);
    kmq_metadata_free(&meta);

    kmq_rows *r;
    kmq_meta_init(&meta);
    lseek(fd, 5, SEEK_SET); /* the reader must not care where fd points */
    cr_assert_eq(kmq_tiff_rows_open(fd, len, 0, &r, &meta, &why), KMQ_OK, "%s", why);
    cr_assert_eq(r->width, (uint32_t)w);
    cr_assert_eq(r->height, (uint32_t)h);
    cr_assert_eq(r->channels, spp);
    const size_t row = (size_t)w * spp, total = row * h;
    uint8_t *got = malloc(total);
    /* uneven pieces that cross band boundaries: 1, 2, 5, 7, 1, 2, ... */
    static const uint32_t steps[] = {1, 2, 5, 7};
    uint32_t y = 0;
    for (int i = 0; y < (uint32_t)h; i++) {
        uint32_t n = steps[i % 4] < h - y ? steps[i % 4] : h - y;
        cr_assert_eq(r->read(r, got + y * row, n, &why), KMQ_OK, "%s", why);
        y += n;
    }
    cr_assert(!memcmp(got, img.pixels, total), "rows differ from kmq_tiff_decode");
    /* past the end */
    cr_assert_neq(r->read(r, got, 1, &why), KMQ_OK);
    /* rewind: the same rows again, in one read */
    memset(got, 0, total);
    cr_assert_eq(r->rewind(r, &why), KMQ_OK);
    cr_assert_eq(r->read(r, got, (uint32_t)h, &why), KMQ_OK, "%s", why);
    cr_assert(!memcmp(got, img.pixels, total), "rows differ after rewind");
    /* and rewind in the middle */
    cr_assert_eq(r->rewind(r, &why), KMQ_OK);
    cr_assert_eq(r->read(r, got, (uint32_t)h * 5 / 9, &why), KMQ_OK);
    cr_assert_eq(r->rewind(r, &why), KMQ_OK);
    cr_assert_eq(r->read(r, got, 4, &why), KMQ_OK);
    cr_assert(!memcmp(got, img.pixels, 4 * row));
    r->close(r);
    kmq_metadata_free(&meta);
    if (decoded)
        *decoded = img;
    else
        kmq_image_free(&img);
    free(got);
}

static void check_rows_match_decode(int spp, int bps, int tiled)
{
    const int w = 45, h = 37;
    uint8_t *buf;
    size_t len;
    int fd = write_tiff(w, h, spp, bps, tiled, &buf, &len);
    cr_assert(kmq_is_tiff(buf, len));
    rows_match_decode(fd, buf, len, w, h, spp, NULL);
    free(buf);
    close(fd);
}

Test(tiff, rows_match_decode_stripped_rgb8) { check_rows_match_decode(3, 8, 0); }
Test(tiff, rows_match_decode_tiled_rgb8) { check_rows_match_decode(3, 8, 1); }
Test(tiff, rows_match_decode_stripped_grey16) { check_rows_match_decode(1, 16, 0); }
Test(tiff, rows_match_decode_tiled_rgba16) { check_rows_match_decode(4, 16, 1); }
Test(tiff, rows_match_decode_tiled_grey_alpha8) { check_rows_match_decode(2, 8, 1); }

/* A sample of an 8-bit test image: noisy enough that LZW and Deflate leave
   a large compressed strip. */
static uint8_t sample_at(uint32_t x, uint32_t y, int s)
{
    uint32_t v = x * 2654435761u ^ y * 40503u ^ (uint32_t)s * 97u;
    v ^= v >> 13;
    return (uint8_t)(((x + y) & 0xC0) | (v & 0x3F));
}

/* Writes a w x h, spp-sample 8-bit image in ONE strip (contiguous or
   separate planes) with the given compression; returns its descriptor and
   the file's bytes in *buf. */
static int write_one_strip(uint32_t w, uint32_t h, int spp, int separate, int compression,
                           uint8_t **buf, size_t *len)
{
    char path[] = "/tmp/kmq-tiff1-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    TIFF *t = TIFFOpen(path, "w");
    cr_assert(t);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)spp);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, (uint16_t)8);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, separate ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_COMPRESSION, (uint16_t)compression);
    if (compression != COMPRESSION_PACKBITS)
        TIFFSetField(t, TIFFTAG_PREDICTOR, (uint16_t)PREDICTOR_HORIZONTAL);
    if (spp == 2 || spp == 4) {
        uint16_t extra = EXTRASAMPLE_UNASSALPHA;
        TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, &extra);
    }
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, h);
    const int planes = separate ? spp : 1, per = separate ? 1 : spp;
    uint8_t *row = malloc((size_t)w * (size_t)per);
    for (int p = 0; p < planes; p++)
        for (uint32_t y = 0; y < h; y++) {
            for (uint32_t x = 0; x < w; x++)
                for (int s = 0; s < per; s++)
                    row[(size_t)x * per + s] = sample_at(x, y, separate ? p : s);
            cr_assert(TIFFWriteScanline(t, row, y, (uint16_t)p) == 1);
        }
    free(row);
    cr_assert(TIFFNumberOfStrips(t) == (uint32_t)planes, "not one strip per plane");
    TIFFClose(t);
    struct stat st;
    cr_assert(fstat(fd, &st) == 0);
    *len = (size_t)st.st_size;
    *buf = malloc(*len);
    cr_assert(pread(fd, *buf, *len, 0) == (ssize_t)*len);
    unlink(path);
    return fd;
}

/* A single-strip image larger than the 4 MiB at which strips are read a row
   at a time: the row reader, kmq_tiff_decode and the samples written agree. */
static void check_one_strip(uint32_t w, uint32_t h, int spp, int separate, int compression)
{
    uint8_t *buf;
    size_t len;
    int fd = write_one_strip(w, h, spp, separate, compression, &buf, &len);
    cr_assert(len > 64 << 10, "compressed to %zu bytes: not a real test", len);
    kmq_image img;
    rows_match_decode(fd, buf, len, (int)w, (int)h, spp, &img);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (int s = 0; s < spp; s++) {
                const uint8_t v = img.pixels[((size_t)y * w + x) * (size_t)spp + (size_t)s];
                if (v != sample_at(x, y, s))
                    cr_assert_fail("pixel (%u, %u) sample %d: %u, wrote %u", x, y, s, v,
                                   sample_at(x, y, s));
            }
    kmq_image_free(&img);
    free(buf);
    close(fd);
}

Test(tiff, one_strip_lzw_rgb_read_by_rows) { check_one_strip(2000, 1500, 3, 0, COMPRESSION_LZW); }
Test(tiff, one_strip_deflate_rgb_read_by_rows)
{
    check_one_strip(2000, 1500, 3, 0, COMPRESSION_ADOBE_DEFLATE);
}
Test(tiff, one_strip_packbits_grey_read_by_rows)
{
    check_one_strip(2500, 2000, 1, 0, COMPRESSION_PACKBITS);
}
/* separate planes of 4.8 MB each: every plane read a row at a time */
Test(tiff, one_strip_per_plane_lzw_rgba_read_by_rows)
{
    check_one_strip(2400, 2000, 4, 1, COMPRESSION_LZW);
}

Test(tiff, sixteen_bit_samples_become_their_high_byte)
{
    uint8_t *buf;
    size_t len;
    int fd = write_tiff(16, 16, 1, 16, 1, &buf, &len);
    close(fd);
    kmq_image img;
    kmq_metadata meta;
    kmq_meta_init(&meta);
    cr_assert_eq(kmq_tiff_decode(buf, len, 0, &img, &meta, NULL), KMQ_OK);
    /* the tile's bytes as written, native (little-endian) 16-bit samples */
    for (size_t i = 0; i < 256; i++) {
        const uint8_t hi = (uint8_t)((2 * i + 1) * 7 + (2 * i + 1) / 13);
        cr_assert_eq(img.pixels[i], hi, "sample %zu", i);
    }
    kmq_image_free(&img);
    kmq_metadata_free(&meta);
    free(buf);
}

Test(tiff, size_limit_before_decoding)
{
    uint8_t *buf;
    size_t len;
    int fd = write_tiff(45, 37, 3, 8, 0, &buf, &len);
    kmq_image img;
    kmq_metadata meta;
    kmq_meta_init(&meta);
    const char *why = NULL;
    cr_assert_eq(kmq_tiff_decode(buf, len, 45 * 37 - 1, &img, &meta, &why), KMQ_ERR_TOO_LARGE);
    cr_assert_str_eq(why, "image is larger than the pixel limit");
    kmq_rows *r = NULL;
    cr_assert_eq(kmq_tiff_rows_open(fd, len, 100, &r, &meta, &why), KMQ_ERR_TOO_LARGE);
    cr_assert_null(r);
    cr_assert_eq(kmq_tiff_decode(buf, len, 45 * 37, &img, &meta, &why), KMQ_OK);
    kmq_image_free(&img);
    kmq_metadata_free(&meta);
    free(buf);
    close(fd);
}

Test(tiff, every_truncation_fails_cleanly)
{
    uint8_t *buf;
    size_t len;
    int fd = write_tiff(45, 37, 3, 8, 1, &buf, &len);
    close(fd);
    for (size_t l = 0; l < len; l++) {
        kmq_image img;
        kmq_metadata meta;
        kmq_meta_init(&meta);
        const char *why = NULL;
        kmq_status s = kmq_tiff_decode(buf, l, 0, &img, &meta, &why);
        if (s == KMQ_OK) { /* only the IFD may go missing... then it cannot decode */
            kmq_image_free(&img);
            cr_assert_fail("length %zu decoded", l);
        }
        cr_assert(why && !strchr(why, '\n'), "length %zu", l);
        kmq_metadata_free(&meta);
    }
    free(buf);
}

Test(tiff, magic)
{
    cr_assert(kmq_is_tiff((const uint8_t *)"II*\0", 4));
    cr_assert(kmq_is_tiff((const uint8_t *)"MM\0*", 4));
    cr_assert(kmq_is_tiff((const uint8_t *)"II+\0", 4)); /* BigTIFF */
    cr_assert(!kmq_is_tiff((const uint8_t *)"II*", 3));
    cr_assert(!kmq_is_tiff((const uint8_t *)"\x89PNG", 4));
}
