/* TIFF input (src/io/tiff.c): the row reader over a descriptor gives the
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
#include "stb_io.h"

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

static void check_rows_match_decode(int spp, int bps, int tiled)
{
    const int w = 45, h = 37;
    uint8_t *buf;
    size_t len;
    int fd = write_tiff(w, h, spp, bps, tiled, &buf, &len);
    cr_assert(kmq_is_tiff(buf, len));
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
    cr_assert_eq(r->read(r, got, 20, &why), KMQ_OK);
    cr_assert_eq(r->rewind(r, &why), KMQ_OK);
    cr_assert_eq(r->read(r, got, 4, &why), KMQ_OK);
    cr_assert(!memcmp(got, img.pixels, 4 * row));
    r->close(r);
    kmq_metadata_free(&meta);
    kmq_image_free(&img);
    free(got), free(buf);
    close(fd);
}

Test(tiff, rows_match_decode_stripped_rgb8) { check_rows_match_decode(3, 8, 0); }
Test(tiff, rows_match_decode_tiled_rgb8) { check_rows_match_decode(3, 8, 1); }
Test(tiff, rows_match_decode_stripped_grey16) { check_rows_match_decode(1, 16, 0); }
Test(tiff, rows_match_decode_tiled_rgba16) { check_rows_match_decode(4, 16, 1); }
Test(tiff, rows_match_decode_tiled_grey_alpha8) { check_rows_match_decode(2, 8, 1); }

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
