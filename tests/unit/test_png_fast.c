/* The PNG path that inflates with libdeflate (src/formats/png_fast.c) against
   stb's: the same verdict and the same pixels, from memory and from files,
   on generated images of every 8-bit colour type and row filter, on the PNG
   suite and on photographs (../shared/data), and on damaged files. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kmq.h"
#include "spng_writer.h"

extern int kmq_png_fast_off;
extern unsigned long kmq_png_fast_count;

typedef struct {
    kmq_status s;
    kmq_image img;
    char why[256];
} decoded;

static void decode_mem(const uint8_t *png, size_t len, int fast_off, decoded *d)
{
    const char *why = NULL;
    kmq_png_fast_off = fast_off;
    d->s = kmq_image_decode(png, len, 0, &d->img, &why);
    kmq_png_fast_off = 0;
    snprintf(d->why, sizeof d->why, "%s", why ? why : "");
}

static void decode_path(const char *path, int fast_off, decoded *d)
{
    const char *why = NULL;
    kmq_png_fast_off = fast_off;
    d->s = kmq_image_decode_file(path, 0, &d->img, &why, NULL);
    kmq_png_fast_off = 0;
    snprintf(d->why, sizeof d->why, "%s", why ? why : "");
}

static void assert_same(decoded *a, decoded *b, const char *what)
{
    cr_assert_eq(a->s, b->s, "%s: status %d vs stb %d", what, a->s, b->s);
    cr_assert_str_eq(a->why, b->why, "%s", what);
    if (a->s == KMQ_OK) {
        cr_assert_eq(a->img.width, b->img.width, "%s", what);
        cr_assert_eq(a->img.height, b->img.height, "%s", what);
        cr_assert_eq(a->img.channels, b->img.channels, "%s", what);
        cr_assert(!memcmp(a->img.pixels, b->img.pixels,
                          (size_t)a->img.width * a->img.height * a->img.channels),
                  "%s: pixels differ", what);
    }
    kmq_image_free(&a->img), kmq_image_free(&b->img);
}

/* Both paths on a file; returns 1 if the fast one decoded it. */
static int compare_file(const char *path)
{
    decoded a, b;
    const unsigned long before = kmq_png_fast_count;
    decode_path(path, 0, &a);
    const int took = kmq_png_fast_count != before;
    decode_path(path, 1, &b);
    assert_same(&a, &b, path);
    return took;
}

static int compare_mem(const uint8_t *png, size_t len, const char *what)
{
    decoded a, b;
    const unsigned long before = kmq_png_fast_count;
    decode_mem(png, len, 0, &a);
    const int took = kmq_png_fast_count != before;
    decode_mem(png, len, 1, &b);
    assert_same(&a, &b, what);
    return took;
}

/* Rows that make libspng's adaptive filter choose all five filters. */
static uint8_t *mixed_rows(int w, int h, int C)
{
    uint8_t *rows = malloc((size_t)w * h * C);
    uint32_t x = 12345;
    for (int y = 0; y < h; y++)
        for (int i = 0; i < w * C; i++) {
            x = x * 1103515245u + 12345u;
            const int kind = y % 5;
            rows[(size_t)y * w * C + i] = (uint8_t)(kind == 0   ? (int)(x >> 24)
                                                    : kind == 1 ? i * 3
                                                    : kind == 2 ? y * 11 + (int)(x >> 30)
                                                    : kind == 3 ? (i * i + y) / 3
                                                                : (i / C) * 5 + y);
        }
    return rows;
}

Test(png_fast, every_colour_type_and_size_matches_stb)
{
    static const int types[4] = {0, 4, 2, 6}, channels[4] = {1, 2, 3, 4};
    int took = 0, tried = 0;
    for (int t = 0; t < 4; t++)
        for (int w = 1; w <= 19; w += 3)
            for (int h = 1; h <= 23; h += 4) {
                const int C = channels[t];
                uint8_t *rows = mixed_rows(w, h, C);
                size_t len;
                uint8_t *png = spng_write(w, h, 8, types[t], 0, NULL, rows,
                                          (size_t)w * h * C, &len);
                char what[64];
                snprintf(what, sizeof what, "type %d %dx%d", types[t], w, h);
                took += compare_mem(png, len, what);
                tried++;
                /* and the pixels are the ones written */
                kmq_image img;
                cr_assert_eq(kmq_image_decode(png, len, 0, &img, NULL), KMQ_OK);
                cr_assert(!memcmp(img.pixels, rows, (size_t)w * h * C), "%s", what);
                kmq_image_free(&img);
                free(png), free(rows);
            }
    cr_assert_eq(took, tried, "the fast path took %d of %d", took, tried);
}

Test(png_fast, other_pngs_go_to_stb)
{
    /* 16-bit, interlaced: stb's, with the same result as before */
    uint8_t rows16[4 * 3 * 6];
    for (size_t i = 0; i < sizeof rows16; i++)
        rows16[i] = (uint8_t)(i * 37);
    size_t len;
    uint8_t *png = spng_write(4, 3, 16, 2, 0, NULL, rows16, sizeof rows16, &len);
    cr_assert_eq(compare_mem(png, len, "16-bit"), 0);
    free(png);
    uint8_t *rows = mixed_rows(9, 9, 3);
    png = spng_write(9, 9, 8, 2, 1, NULL, rows, 9 * 9 * 3, &len);
    cr_assert_eq(compare_mem(png, len, "interlaced"), 0);
    free(png), free(rows);
}

Test(png_fast, damaged_files_get_stbs_verdict)
{
    uint8_t *rows = mixed_rows(17, 13, 4);
    size_t len;
    uint8_t *png = spng_write(17, 13, 8, 6, 0, NULL, rows, 17 * 13 * 4, &len);
    char what[64];
    for (size_t l = 0; l < len; l++) { /* every truncation */
        snprintf(what, sizeof what, "cut at %zu of %zu", l, len);
        compare_mem(png, l, what);
    }
    uint8_t *bad = malloc(len);
    for (size_t at = 8; at < len; at++) { /* every byte flipped */
        memcpy(bad, png, len);
        bad[at] ^= 0x41;
        snprintf(what, sizeof what, "byte %zu flipped", at);
        compare_mem(bad, len, what);
    }
    free(bad), free(png), free(rows);
}

Test(png_fast, files_match_stb)
{
    uint8_t *rows = mixed_rows(31, 29, 3);
    size_t len;
    uint8_t *png = spng_write(31, 29, 8, 2, 0, NULL, rows, 31 * 29 * 3, &len);
    char path[] = "/tmp/kmq-png-fast-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, png, len), (ssize_t)len);
    close(fd);
    cr_assert_eq(compare_file(path), 1);
    unlink(path);
    free(png), free(rows);
}

static const char *shared(const char *sub, char *buf, size_t size)
{
    const char *root = getenv("KMQ_SHARED_DATA");
    snprintf(buf, size, "%s/%s", root ? root : "../shared/data", sub);
    return buf;
}

Test(png_fast, png_suite_and_photos_match_stb)
{
    char dir[4096];
    DIR *d = opendir(shared("pngsuite", dir, sizeof dir));
    if (!d)
        cr_skip_test("the PNG suite is not at %s (see ../shared/data/README.md)", dir);
    int files = 0, took = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".png") != 0)
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        took += compare_file(path);
        files++;
    }
    closedir(d);
    cr_assert_gt(files, 100);
    cr_assert_gt(took, 10, "the fast path took %d of %d", took, files);
    static const char *photos[] = {"seed/tiger.png", "kodak/kodim01.png", "kodak/kodim05.png"};
    for (size_t i = 0; i < sizeof photos / sizeof *photos; i++) {
        char path[4096];
        shared(photos[i], path, sizeof path);
        if (access(path, R_OK) != 0)
            cr_skip_test("shared image %s not found (see ../shared/data/README.md)", path);
        cr_assert_eq(compare_file(path), 1, "%s", path);
    }
}
