/* The WebP, PNM and GIF decoders (src/formats/webp.c, pnm.c, gif.c) on
   hand-built inputs: header edge cases, caps, the PNM row reader. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats.h"

/* Decodes buf[0..len) with a PNM header followed by data bytes. */
static kmq_status pnm(const char *header, const uint8_t *data, size_t n, uint64_t max_pixels,
                      kmq_image *img, const char **why)
{
    const size_t h = strlen(header);
    uint8_t *buf = malloc(h + n + 1);
    memcpy(buf, header, h);
    if (n)
        memcpy(buf + h, data, n);
    kmq_metadata meta;
    kmq_meta_init(&meta);
    memset(img, 0, sizeof *img);
    *why = NULL;
    kmq_status s = kmq_pnm_decode(buf, h + n, max_pixels, img, &meta, why);
    kmq_metadata_free(&meta);
    free(buf);
    return s;
}

static int starts(const char *s, const char *prefix)
{
    return s && !strncmp(s, prefix, strlen(prefix));
}

Test(pnm, magic)
{
    cr_assert(kmq_is_pnm((const uint8_t *)"P6\n", 3));
    cr_assert(kmq_is_pnm((const uint8_t *)"P7\n", 3));
    cr_assert(!kmq_is_pnm((const uint8_t *)"P8\n", 3));
    cr_assert(kmq_is_pnm((const uint8_t *)"P6#", 3)); /* a comment right after it */
    cr_assert(kmq_is_pnm((const uint8_t *)"P1#", 3));
    cr_assert(!kmq_is_pnm((const uint8_t *)"P6x", 3));
    cr_assert(!kmq_is_pnm((const uint8_t *)"P6", 2));
}

Test(pnm, comments_and_whitespace_anywhere_in_the_header)
{
    const uint8_t px[6] = {1, 2, 3, 4, 5, 6};
    kmq_image img;
    const char *why;
    cr_assert_eq(pnm("P5\n# a comment\n 3#another\n\t\r2 # and one more\n255\n", px, 6, 0, &img,
                     &why),
                 KMQ_OK, "%s", why);
    cr_assert_eq(img.width, 3);
    cr_assert_eq(img.height, 2);
    cr_assert_eq(img.channels, 1);
    cr_assert(!memcmp(img.pixels, px, 6));
    kmq_image_free(&img);
    /* a comment right after maxval ends the header at its newline */
    cr_assert_eq(pnm("P5 3 2 255#c\n", px, 6, 0, &img, &why), KMQ_OK, "%s", why);
    cr_assert(!memcmp(img.pixels, px, 6));
    kmq_image_free(&img);
    /* and one right after the magic number, with no space (netpbm reads it) */
    cr_assert_eq(pnm("P5#c\n3 2\n255\n", px, 6, 0, &img, &why), KMQ_OK, "%s", why);
    cr_assert_eq(img.width, 3);
    cr_assert(!memcmp(img.pixels, px, 6));
    kmq_image_free(&img);
    cr_assert_eq(pnm("P7#c\nWIDTH 3\nHEIGHT 2\nDEPTH 1\nMAXVAL 255\nENDHDR\n", px, 6, 0, &img,
                     &why),
                 KMQ_OK, "%s", why);
    cr_assert_eq(img.channels, 1);
    cr_assert(!memcmp(img.pixels, px, 6));
    kmq_image_free(&img);
}

Test(pnm, maxval_1_is_black_and_white_and_larger_samples_are_corrupt)
{
    const uint8_t px[4] = {0, 1, 1, 0};
    kmq_image img;
    const char *why;
    cr_assert_eq(pnm("P5 2 2 1\n", px, 4, 0, &img, &why), KMQ_OK, "%s", why);
    const uint8_t want[4] = {0, 255, 255, 0};
    cr_assert(!memcmp(img.pixels, want, 4));
    kmq_image_free(&img);
    const uint8_t bad[4] = {0, 1, 2, 0};
    cr_assert_eq(pnm("P5 2 2 1\n", bad, 4, 0, &img, &why), KMQ_ERR_IMAGE_CORRUPT);
    cr_assert(starts(why, "corrupt PNM: a sample is larger than maxval"), "%s", why);
    cr_assert_null(img.pixels);
}

Test(pnm, maxval_1000_is_16_bit_and_rounded)
{
    /* 0, 500, 1000, 2, 998 -> round(v * 255 / 1000): 0, 128 (127.5 up), 255, 1, 254 */
    const uint8_t px[10] = {0, 0, 0x01, 0xF4, 0x03, 0xE8, 0, 2, 0x03, 0xE6};
    kmq_image img;
    const char *why;
    cr_assert_eq(pnm("P5 5 1 1000\n", px, 10, 0, &img, &why), KMQ_OK, "%s", why);
    const uint8_t want[5] = {0, 128, 255, 1, 254};
    cr_assert(!memcmp(img.pixels, want, 5), "%d %d %d %d %d", img.pixels[0], img.pixels[1],
              img.pixels[2], img.pixels[3], img.pixels[4]);
    kmq_image_free(&img);
    /* maxval 65535: the high byte, as for 16-bit PNG */
    const uint8_t hi[4] = {0x12, 0xFF, 0xFF, 0x80};
    cr_assert_eq(pnm("P5 2 1 65535\n", hi, 4, 0, &img, &why), KMQ_OK, "%s", why);
    cr_assert_eq(img.pixels[0], 0x12);
    cr_assert_eq(img.pixels[1], 0xFF);
    kmq_image_free(&img);
}

Test(pnm, bad_headers)
{
    static const struct {
        const char *header, *why;
    } cases[] = {
        {"P5 2 2 0\n", "corrupt PNM: maxval is not in 1..65535"},
        {"P5 2 2 65536\n", "corrupt PNM: maxval is not in 1..65535"},
        {"P5 0 2 255\n", "corrupt PNM: zero width or height"},
        {"P5 2 2 255", "corrupt PNM: truncated"},
        {"P5 2 2", "corrupt PNM: truncated"},
        {"P5 2 x 255\n", "corrupt PNM: the header has something other than a number"},
        {"P5 2 2 255x", "corrupt PNM: no whitespace after the header"},
        {"P5 0000000000000000000002 2 255\n", "corrupt PNM: a number in the header is too long"},
        {"P7\nWIDTH 1\nHEIGHT 1\nDEPTH 3\nMAXVAL 255\nTUPLTYPE GRAYSCALE\nENDHDR\n",
         "corrupt PNM: the PAM depth does not match its tuple type"},
        {"P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\n", "corrupt PNM: truncated"},
        {"P7\nWIDTH 1\nHEIGHT 1\nMAXVAL 255\nENDHDR\n", "corrupt PNM: the PAM header lacks"},
        {"P7\nWIDTH 1\nWIDTH 1\nENDHDR\n", "corrupt PNM: a PAM header keyword appears twice"},
        {"P7\nCOLOUR 1\nENDHDR\n", "corrupt PNM: an unknown keyword"},
    };
    const uint8_t data[64] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        kmq_image img;
        const char *why;
        cr_assert_eq(pnm(cases[i].header, data, strchr(cases[i].header, '\n') ? 64 : 0, 0, &img,
                         &why),
                     KMQ_ERR_IMAGE_CORRUPT, "%s", cases[i].header);
        cr_assert(starts(why, cases[i].why), "%s: %s", cases[i].header, why);
    }
}

Test(pnm, truncated_data)
{
    const uint8_t px[11] = {0};
    kmq_image img;
    const char *why;
    cr_assert_eq(pnm("P6 2 2 255\n", px, 11, 0, &img, &why), KMQ_ERR_IMAGE_CORRUPT);
    cr_assert(starts(why, "corrupt PNM: truncated"), "%s", why);
    cr_assert_eq(pnm("P6 2 2 255\n", px, 12 - 12, 0, &img, &why), KMQ_ERR_IMAGE_CORRUPT);
    /* plain: fewer samples than claimed */
    cr_assert_eq(pnm("P2 2 2 255\n1 2 3", NULL, 0, 0, &img, &why), KMQ_ERR_IMAGE_CORRUPT);
    cr_assert(starts(why, "corrupt PNM: truncated"), "%s", why);
    cr_assert_eq(pnm("P2 2 2 255\n1 2 3   ", NULL, 0, 0, &img, &why), KMQ_ERR_IMAGE_CORRUPT);
    cr_assert(starts(why, "corrupt PNM: truncated"), "%s", why);
    cr_assert_eq(pnm("P2 2 2 255\n1 2 3 4", NULL, 0, 0, &img, &why), KMQ_OK, "%s", why);
    kmq_image_free(&img);
    /* trailing bytes (a second image) are ignored */
    const uint8_t more[8] = {9, 8, 7, 6, 'P', '5', ' ', '1'};
    cr_assert_eq(pnm("P5 2 2 255\n", more, 8, 0, &img, &why), KMQ_OK, "%s", why);
    cr_assert_eq(img.pixels[3], 6);
    kmq_image_free(&img);
}

Test(pnm, size_over_the_cap_is_refused_before_allocation)
{
    kmq_image img;
    const char *why;
    /* 65535 x 65535 RGB would be 12 GiB: refused from its header alone */
    cr_assert_eq(pnm("P6 65535 65535 255\n", (const uint8_t *)"abc", 3, 0, &img, &why),
                 KMQ_ERR_TOO_LARGE);
    cr_assert_str_eq(why, "image is larger than the pixel limit");
    cr_assert_eq(pnm("P6 65536 1 255\n", (const uint8_t *)"abc", 3, 1ull << 40, &img, &why),
                 KMQ_ERR_TOO_LARGE);
    const uint8_t px[48] = {0};
    cr_assert_eq(pnm("P6 4 4 255\n", px, 48, 15, &img, &why), KMQ_ERR_TOO_LARGE);
    cr_assert_eq(pnm("P6 4 4 255\n", px, 48, 16, &img, &why), KMQ_OK);
    kmq_image_free(&img);
    /* allowed by a huge cap, but the data is missing: corrupt, not NOMEM */
    cr_assert_eq(pnm("P6 60000 60000 255\n", px, 48, 1ull << 40, &img, &why),
                 KMQ_ERR_IMAGE_CORRUPT);
    cr_assert(starts(why, "corrupt PNM: truncated"), "%s", why);
    cr_assert_eq(pnm("P3 60000 60000 255\n", px, 48, 1ull << 40, &img, &why),
                 KMQ_ERR_IMAGE_CORRUPT);
    cr_assert(starts(why, "corrupt PNM: truncated"), "%s", why);
}

Test(pnm, pam_tuple_types_and_bitmaps)
{
    kmq_image img;
    const char *why;
    const uint8_t ga[4] = {10, 20, 30, 40};
    cr_assert_eq(pnm("P7\n# c\nWIDTH 2\nHEIGHT 1\nDEPTH 2\nMAXVAL 255\nTUPLTYPE GRAYSCALE_ALPHA\n"
                     "ENDHDR\n",
                     ga, 4, 0, &img, &why),
                 KMQ_OK, "%s", why);
    cr_assert_eq(img.channels, 2);
    cr_assert(!memcmp(img.pixels, ga, 4));
    kmq_image_free(&img);
    cr_assert_eq(pnm("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 4\nMAXVAL 255\nTUPLTYPE CMYK\nENDHDR\n", ga, 4,
                     0, &img, &why),
                 KMQ_ERR_IMAGE_FORMAT);
    cr_assert(starts(why, "unsupported PNM"), "%s", why);
    /* P4: 1 is black; rows padded to whole bytes */
    const uint8_t bits[2] = {0xA0, 0x40};
    cr_assert_eq(pnm("P4 3 2\n", bits, 2, 0, &img, &why), KMQ_OK, "%s", why);
    const uint8_t want[6] = {0, 255, 0, 255, 0, 255};
    cr_assert(!memcmp(img.pixels, want, 6));
    kmq_image_free(&img);
    cr_assert_eq(pnm("P1 3 2\n101 0\n1#c\n0", NULL, 0, 0, &img, &why), KMQ_OK, "%s", why);
    cr_assert(!memcmp(img.pixels, want, 6));
    kmq_image_free(&img);
}

/* A temporary file holding len bytes; its descriptor. */
static int temp_file(const uint8_t *buf, size_t len)
{
    char path[] = "/tmp/kmq_formats_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    unlink(path);
    cr_assert_eq(write(fd, buf, len), (ssize_t)len);
    return fd;
}

static void rows_match_decode(const uint8_t *file, size_t len, uint32_t band)
{
    kmq_image img;
    kmq_metadata meta;
    kmq_meta_init(&meta);
    const char *why = NULL;
    cr_assert_eq(kmq_pnm_decode(file, len, 0, &img, &meta, &why), KMQ_OK, "%s", why);
    int fd = temp_file(file, len);
    lseek(fd, 3, SEEK_SET); /* the reader does not care where fd is */
    kmq_rows *r;
    cr_assert_eq(kmq_pnm_rows_open(fd, len, 0, &r, &meta, &why), KMQ_OK, "%s", why);
    cr_assert_eq((int)r->width, img.width);
    cr_assert_eq((int)r->height, img.height);
    cr_assert_eq(r->channels, img.channels);
    const size_t row = (size_t)img.width * img.channels;
    uint8_t *out = malloc(row * band);
    for (int pass = 0; pass < 2; pass++) {
        uint32_t y = 0;
        while (y < r->height) {
            uint32_t n = r->height - y < band ? r->height - y : band;
            cr_assert_eq(r->read(r, out, n, &why), KMQ_OK, "%s", why);
            cr_assert(!memcmp(out, img.pixels + y * row, n * row), "row %u pass %d", y, pass);
            y += n;
        }
        cr_assert_eq(r->read(r, out, 1, &why), KMQ_ERR_ARG);
        cr_assert_eq(r->rewind(r, &why), KMQ_OK);
    }
    r->close(r);
    free(out);
    close(fd);
    kmq_image_free(&img);
    kmq_metadata_free(&meta);
}

Test(pnm, row_reader_gives_the_decoders_pixels_and_rewinds)
{
    /* raw 8-bit and 16-bit, plain and bitmap, with widths beyond one read window */
    const int W = 70000 / 6, H = 9;
    for (int kind = 0; kind < 4; kind++) {
        char head[64];
        size_t cap = (size_t)W * H * 3 * 4 + 64, len;
        uint8_t *f = malloc(cap);
        if (kind == 0)
            len = (size_t)sprintf((char *)f, "P6\n%d %d\n255\n", W, H);
        else if (kind == 1)
            len = (size_t)sprintf((char *)f, "P5 %d %d 40000\n", W, H);
        else if (kind == 2)
            len = (size_t)sprintf((char *)f, "P3 %d %d 1000\n", 5, H);
        else
            len = (size_t)sprintf((char *)f, "P4 %d %d\n", W, H);
        (void)head;
        uint32_t seed = 12345;
        const size_t samples = kind == 0 ? (size_t)W * H * 3 : kind == 1 ? (size_t)W * H : 5 * H * 3;
        if (kind == 3) {
            for (size_t i = 0; i < (size_t)(W + 7) / 8 * H; i++)
                f[len++] = (uint8_t)((seed = seed * 1103515245 + 12345) >> 16);
        } else {
            for (size_t i = 0; i < samples; i++) {
                seed = seed * 1103515245 + 12345;
                const uint32_t v = seed >> 16;
                if (kind == 0)
                    f[len++] = (uint8_t)v;
                else if (kind == 1)
                    f[len++] = (uint8_t)((v % 40001) >> 8), f[len++] = (uint8_t)(v % 40001);
                else
                    len += (size_t)sprintf((char *)f + len, "%u%s", v % 1001, i % 7 ? " " : "\n# x\n");
            }
        }
        rows_match_decode(f, len, 1);
        rows_match_decode(f, len, 4);
        free(f);
    }
}

Test(pnm, row_reader_refuses_like_the_decoder)
{
    const char *why = NULL;
    kmq_metadata meta;
    kmq_meta_init(&meta);
    kmq_rows *r = (kmq_rows *)1;
    const char trunc[] = "P6 4 4 255\nabc";
    int fd = temp_file((const uint8_t *)trunc, sizeof trunc - 1);
    cr_assert_eq(kmq_pnm_rows_open(fd, sizeof trunc - 1, 0, &r, &meta, &why),
                 KMQ_ERR_IMAGE_CORRUPT);
    cr_assert(starts(why, "corrupt PNM: truncated"), "%s", why);
    cr_assert_null(r);
    cr_assert_eq(kmq_pnm_rows_open(fd, sizeof trunc - 1, 10, &r, &meta, &why), KMQ_ERR_TOO_LARGE);
    close(fd);
    kmq_metadata_free(&meta);
}

/* ---- GIF ---- */

/* A 6x4 screen, a global table of `colours` (2 or 4) entries of which the
   first four are red, green, blue, (9,9,9), background index 2, optionally
   a transparent index; a 2x2 frame at (left, top) holding 0 1 / 1 3. */
static size_t make_gif(uint8_t *g, int colours, int transparent, int left, int top, int interlace)
{
    static const uint8_t table[12] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9};
    size_t n = 0;
    memcpy(g, "GIF89a\x06\x00\x04\x00", 10), n = 10;
    g[n++] = (uint8_t)(0x80 | (colours == 4 ? 1 : 0));
    g[n++] = 2, g[n++] = 0;
    memcpy(g + n, table, (size_t)colours * 3), n += (size_t)colours * 3;
    if (transparent >= 0) {
        const uint8_t gce[8] = {0x21, 0xF9, 4, 1, 0, 0, (uint8_t)transparent, 0};
        memcpy(g + n, gce, 8), n += 8;
    }
    const uint8_t desc[10] = {0x2C, (uint8_t)left, 0, (uint8_t)top, 0, 2, 0, 2, 0,
                              (uint8_t)(interlace ? 0x40 : 0)};
    memcpy(g + n, desc, 10), n += 10;
    /* LZW, minimum code size 2: clear, 0, 1, 1, 3, end */
    const uint8_t lzw[7] = {2, 3, 0x44, 0x32, 0x05, 0, 0x3B};
    memcpy(g + n, lzw, 7), n += 7;
    return n;
}

static kmq_status gif(const uint8_t *g, size_t len, kmq_image *img, kmq_metadata *meta,
                      const char **why)
{
    kmq_meta_init(meta);
    memset(img, 0, sizeof *img);
    *why = NULL;
    return kmq_gif_decode(g, len, 0, img, meta, why);
}

Test(gif, minimal_hand_built)
{
    uint8_t g[128];
    kmq_image img;
    kmq_metadata meta;
    const char *why;
    size_t n = make_gif(g, 4, -1, 3, 1, 0);
    cr_assert(kmq_is_gif(g, n));
    cr_assert_eq(gif(g, n, &img, &meta, &why), KMQ_OK, "%s", why);
    cr_assert_eq(img.width, 6);
    cr_assert_eq(img.height, 4);
    cr_assert_eq(img.channels, 3);
    const uint8_t *p = img.pixels;
    cr_assert(!memcmp(p, "\0\0\xff", 3)); /* background: blue */
    cr_assert(!memcmp(p + (1 * 6 + 3) * 3, "\xff\0\0\0\xff\0", 6));
    cr_assert(!memcmp(p + (2 * 6 + 3) * 3, "\0\xff\0\x09\x09\x09", 6));
    cr_assert_null(meta.warning);
    kmq_image_free(&img);
    kmq_metadata_free(&meta);

    /* transparent index 1: RGBA, the outside transparent too */
    n = make_gif(g, 4, 1, 3, 1, 0);
    cr_assert_eq(gif(g, n, &img, &meta, &why), KMQ_OK, "%s", why);
    cr_assert_eq(img.channels, 4);
    cr_assert_eq(img.pixels[3], 0);
    cr_assert(!memcmp(img.pixels + (1 * 6 + 3) * 4, "\xff\0\0\xff\0\xff\0\0", 8));
    kmq_image_free(&img);
    kmq_metadata_free(&meta);

    /* an index beyond a 2-entry table is opaque black */
    n = make_gif(g, 2, -1, 0, 0, 0);
    cr_assert_eq(gif(g, n, &img, &meta, &why), KMQ_OK, "%s", why);
    cr_assert(!memcmp(img.pixels + (1 * 6 + 1) * 3, "\0\0\0", 3));
    cr_assert(!memcmp(img.pixels + (1 * 6 + 0) * 3, "\0\xff\0", 3));
    kmq_image_free(&img);
    kmq_metadata_free(&meta);

    /* interlaced, two rows: pass 1 holds row 0, pass 4 row 1 */
    n = make_gif(g, 4, -1, 0, 0, 1);
    cr_assert_eq(gif(g, n, &img, &meta, &why), KMQ_OK, "%s", why);
    cr_assert(!memcmp(img.pixels + 6 * 3, "\0\xff\0\x09\x09\x09", 6));
    kmq_image_free(&img);
    kmq_metadata_free(&meta);
}

Test(gif, refusals)
{
    uint8_t g[128];
    kmq_image img;
    kmq_metadata meta;
    const char *why;
    /* a frame sticking out of the screen */
    size_t n = make_gif(g, 4, -1, 5, 0, 0);
    cr_assert_eq(gif(g, n, &img, &meta, &why), KMQ_ERR_IMAGE_CORRUPT);
    cr_assert(starts(why, "corrupt GIF: the first frame does not fit"), "%s", why);
    kmq_metadata_free(&meta);
    /* truncated anywhere: never OK, never a crash */
    n = make_gif(g, 4, 1, 0, 0, 0);
    for (size_t cut = 0; cut < n - 2; cut++) {
        kmq_status s = gif(g, cut, &img, &meta, &why);
        cr_assert_neq(s, KMQ_OK, "cut at %zu", cut);
        cr_assert(starts(why, "corrupt GIF"), "cut %zu: %s", cut, why ? why : "(null)");
        kmq_metadata_free(&meta);
    }
    /* the screen is checked against the cap before any pixel */
    n = make_gif(g, 4, -1, 0, 0, 0);
    kmq_meta_init(&meta);
    cr_assert_eq(kmq_gif_decode(g, n, 23, &img, &meta, &why), KMQ_ERR_TOO_LARGE);
    kmq_metadata_free(&meta);
    g[6] = 0xFF, g[7] = 0xFF, g[8] = 0xFF, g[9] = 0xFF;
    cr_assert_eq(gif(g, n, &img, &meta, &why), KMQ_ERR_TOO_LARGE);
    kmq_metadata_free(&meta);
}

Test(gif, second_frame_warns)
{
    uint8_t g[256];
    size_t n = make_gif(g, 4, -1, 0, 0, 0) - 1; /* without the trailer */
    const size_t frame = 10 + 6;                  /* descriptor + LZW before the trailer */
    memcpy(g + n, g + n - frame, frame), n += frame;
    g[n++] = 0x3B;
    kmq_image img;
    kmq_metadata meta;
    const char *why;
    cr_assert_eq(gif(g, n, &img, &meta, &why), KMQ_OK, "%s", why);
    cr_assert_str_eq(meta.warning, "animated GIF: only the first frame is used");
    kmq_image_free(&img);
    kmq_metadata_free(&meta);
}

/* The frame's LZW codes are walked before anything is allocated: a code
   the table does not hold yet is damage (giflib 5 would decode it to table
   leftovers), an end code before the last pixel is refused as such. */
Test(gif, damaged_lzw)
{
    uint8_t g[128];
    kmq_image img;
    kmq_metadata meta;
    const char *why;
    const size_t n = make_gif(g, 4, -1, 0, 0, 0);
    const size_t data = n - 5; /* the 3 data bytes: clear, 0, 1, 1 (3 bits), 3, end (4 bits) */
    /* 3-bit codes clear, 0, 7, 1, end: 7 comes when entry 6 is the next */
    uint8_t bad[128];
    memcpy(bad, g, n);
    bad[data - 1] = 2, bad[data] = 0xC4, bad[data + 1] = 0x53, bad[data + 2] = 0, bad[data + 3] = 0x3B;
    cr_assert_eq(gif(bad, n - 1, &img, &meta, &why), KMQ_ERR_IMAGE_CORRUPT);
    cr_assert_str_eq(why, "corrupt GIF: damaged LZW data (a code used before it is defined)");
    cr_assert_null(img.pixels);
    kmq_metadata_free(&meta);
    /* clear, 6: a string code right after a clear, with nothing to extend */
    bad[data] = 0x34, bad[data + 1] = 0x50; /* 4, 6, 0, 0, end */
    cr_assert_eq(gif(bad, n - 1, &img, &meta, &why), KMQ_ERR_IMAGE_CORRUPT);
    cr_assert(starts(why, "corrupt GIF: damaged LZW"), "%s", why);
    kmq_metadata_free(&meta);
    /* clear, 0, 1, end: two pixels of four */
    bad[data] = 0x44, bad[data + 1] = 0x0A;
    cr_assert_eq(gif(bad, n - 1, &img, &meta, &why), KMQ_ERR_IMAGE_CORRUPT);
    cr_assert_str_eq(why, "corrupt GIF: the LZW data ends before the frame's last pixel");
    kmq_metadata_free(&meta);
    /* clear, 0, 6, 1: 6 is the entry being defined (0 0), which is fine */
    bad[data] = 0x84, bad[data + 1] = 0x53;
    cr_assert_eq(gif(bad, n - 1, &img, &meta, &why), KMQ_OK, "%s", why);
    cr_assert(!memcmp(img.pixels, "\xff\0\0\xff\0\0", 6)); /* red red / red green */
    cr_assert(!memcmp(img.pixels + 6 * 3, "\xff\0\0\0\xff\0", 6));
    kmq_image_free(&img);
    kmq_metadata_free(&meta);
}

/* ---- WebP ---- */

Test(webp, corrupt_bytes)
{
    uint8_t w[64] = "RIFF\x38\0\0\0WEBPVP8 \x2c\0\0\0";
    for (size_t i = 20; i < sizeof w; i++)
        w[i] = (uint8_t)(i * 37);
    cr_assert(kmq_is_webp(w, sizeof w));
    cr_assert(!kmq_is_webp(w, 11));
    kmq_image img;
    kmq_metadata meta;
    kmq_meta_init(&meta);
    const char *why = NULL;
    memset(&img, 0, sizeof img);
    kmq_status s = kmq_webp_decode(w, sizeof w, 0, &img, &meta, &why);
    cr_assert_eq(s, KMQ_ERR_IMAGE_CORRUPT);
    cr_assert(starts(why, "corrupt WebP"), "%s", why);
    cr_assert_null(img.pixels);
    for (size_t cut = 0; cut < sizeof w; cut++)
        cr_assert_neq(kmq_webp_decode(w, cut, 0, &img, &meta, &why), KMQ_OK);
    kmq_metadata_free(&meta);
}

static const uint8_t webp_rgb[80];

Test(webp, truncated)
{
    kmq_image img;
    kmq_metadata meta;
    kmq_meta_init(&meta);
    const char *why = NULL;
    /* every prefix of a good file fails cleanly, and says truncated */
    for (size_t cut = 0; cut < sizeof webp_rgb; cut++) {
        memset(&img, 0, sizeof img);
        why = NULL;
        cr_assert_eq(kmq_webp_decode(webp_rgb, cut, 0, &img, &meta, &why), KMQ_ERR_IMAGE_CORRUPT,
                     "cut %zu", cut);
        cr_assert(starts(why, "corrupt WebP"), "cut %zu: %s", cut, why);
        cr_assert_null(img.pixels);
    }
    why = NULL;
    cr_assert_eq(kmq_webp_decode(webp_rgb, 60, 0, &img, &meta, &why), KMQ_ERR_IMAGE_CORRUPT);
    cr_assert(starts(why, "corrupt WebP: truncated"), "%s", why);
    kmq_metadata_free(&meta);
}

/* A 3x2 lossless WebP with alpha, written by PIL (exact=True keeps the
   colour of transparent pixels); the same pixels without alpha. */
static const uint8_t webp_rgba[88] = {
    0x52, 0x49, 0x46, 0x46, 0x50, 0x00, 0x00, 0x00, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38,
    0x4c, 0x43, 0x00, 0x00, 0x00, 0x2f, 0x02, 0x40, 0x00, 0x10, 0x2f, 0x40, 0x26, 0x6d, 0x53,
    0x7a, 0xd6, 0xe2, 0xfc, 0xcb, 0x98, 0x0f, 0x32, 0x69, 0x9b, 0xd2, 0x6f, 0xfe, 0x05, 0x4d,
    0x5a, 0x15, 0x35, 0x20, 0x00, 0x39, 0x5e, 0xa2, 0xe8, 0x9f, 0xcf, 0x10, 0x69, 0xdb, 0xcc,
    0xfa, 0xe0, 0x0c, 0x9f, 0x3e, 0xe0, 0x10, 0xaf, 0xe6, 0xcd, 0x96, 0xf6, 0x0e, 0x0a, 0xd9,
    0x46, 0x80, 0x53, 0xbb, 0x47, 0xe8, 0x54, 0x2e, 0xa2, 0xff, 0x31, 0x5e, 0x00};
static const uint8_t webp_rgb[80] = {
    0x52, 0x49, 0x46, 0x46, 0x48, 0x00, 0x00, 0x00, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38,
    0x4c, 0x3c, 0x00, 0x00, 0x00, 0x2f, 0x02, 0x40, 0x00, 0x00, 0x2f, 0xa0, 0xa0, 0x6d, 0x14,
    0xe8, 0x5e, 0x10, 0x89, 0x7f, 0x1d, 0xd8, 0x20, 0x93, 0xb6, 0x29, 0xbd, 0xea, 0xdf, 0xd0,
    0xa4, 0x4d, 0x41, 0xdb, 0x36, 0x4c, 0x3f, 0x97, 0xf1, 0x07, 0xb8, 0xf9, 0x0f, 0xf0, 0x1f,
    0xe2, 0x41, 0xda, 0x36, 0xb7, 0x03, 0x85, 0x6c, 0x23, 0xc0, 0xa9, 0xdd, 0x43, 0x70, 0x6a,
    0x17, 0xd1, 0xff, 0x18, 0x2f};

Test(webp, lossless_with_and_without_alpha)
{
    static const uint8_t rgba[24] = {255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 0,
                                     1, 2, 3, 255, 200, 100, 50, 255, 9, 9, 9, 9};
    kmq_image img;
    const char *why = NULL;
    cr_assert_eq(kmq_image_decode(webp_rgba, sizeof webp_rgba, 0, &img, &why), KMQ_OK, "%s", why);
    cr_assert_eq(img.width, 3);
    cr_assert_eq(img.height, 2);
    cr_assert_eq(img.channels, 4);
    cr_assert(!memcmp(img.pixels, rgba, 24));
    kmq_image_free(&img);
    cr_assert_eq(kmq_image_decode(webp_rgb, sizeof webp_rgb, 0, &img, &why), KMQ_OK, "%s", why);
    cr_assert_eq(img.channels, 3);
    for (int i = 0; i < 6; i++)
        cr_assert(!memcmp(img.pixels + 3 * i, rgba + 4 * i, 3), "pixel %d", i);
    kmq_image_free(&img);
    /* the cap, from the header alone */
    cr_assert_eq(kmq_image_decode(webp_rgb, sizeof webp_rgb, 5, &img, &why), KMQ_ERR_TOO_LARGE);
    cr_assert_str_eq(why, "image is larger than the pixel limit");
    /* a non-WebP RIFF is not taken for WebP */
    const uint8_t avi[16] = "RIFF\x08\0\0\0AVI LIST";
    cr_assert(!kmq_is_webp(avi, sizeof avi));
    cr_assert_eq(kmq_image_decode(avi, sizeof avi, 0, &img, &why), KMQ_ERR_IMAGE_FORMAT);
}
