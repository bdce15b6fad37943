/* kmq_image_probe: the format, size and channels from the headers alone,
   held to what kmq_image_decode_file gives for the same file -- every
   PngSuite file and the photos (../shared/data), and files of every other
   format written here by kmq's own writers and by hand -- and refusing
   what it cannot read twice. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kmq.h"

static const char *shared(const char *sub, char *buf, size_t size)
{
    const char *root = getenv("KMQ_SHARED_DATA");
    snprintf(buf, size, "%s/%s", root ? root : "../shared/data", sub);
    return buf;
}

/* 1 if the file decodes and the probe agrees with the decode; 0 if it does
   not decode (the probe may say anything then). */
static int probe_matches_decode(const char *path)
{
    kmq_decode_options o;
    kmq_decode_options_default(&o);
    o.keep_orientation = 1; /* the probe gives the size as stored */
    kmq_image img;
    const char *why;
    if (kmq_image_decode_file_ex(path, &o, &img, NULL, &why, NULL) != KMQ_OK)
        return 0;
    kmq_image_info info = {.size = sizeof info};
    cr_assert_eq(kmq_image_probe(path, &info, &why), KMQ_OK, "%s: %s", path, why ? why : "");
    cr_expect_eq((int)info.width, img.width, "%s", path);
    cr_expect_eq((int)info.height, img.height, "%s", path);
    cr_expect_eq(info.channels, img.channels, "%s: channels", path);
    cr_assert_not_null(info.format);
    kmq_image_free(&img);
    return 1;
}

Test(probe, png_suite_and_photos_agree_with_the_decoder)
{
    char dir[4096];
    DIR *d = opendir(shared("pngsuite", dir, sizeof dir));
    if (!d)
        cr_skip_test("the PNG suite is not at %s (see ../shared/data/README.md)", dir);
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".png") != 0)
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        files += probe_matches_decode(path);
    }
    closedir(d);
    cr_assert_gt(files, 150, "only %d PngSuite files decoded", files);
    char path[4096];
    if (access(shared("kodak/kodim01.png", path, sizeof path), R_OK) == 0)
        cr_assert_eq(probe_matches_decode(path), 1);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

Test(probe, every_format_kmq_reads_names_itself)
{
    char dir[] = "/tmp/kmq-probe-XXXXXX", path[256];
    cr_assert_not_null(mkdtemp(dir));
    /* PNG of 1..4 channels by kmq's writer, streamable */
    uint8_t px[7 * 5 * 4];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 37);
    for (int c = 1; c <= 4; c++) {
        uint8_t *png;
        size_t len;
        cr_assert_eq(kmq_png_encode(px, 7, 5, c, &png, &len), KMQ_OK);
        snprintf(path, sizeof path, "%s/c%d.png", dir, c);
        write_file(path, png, len);
        free(png);
        cr_assert_eq(probe_matches_decode(path), 1);
        kmq_image_info info = {.size = sizeof info};
        cr_assert_eq(kmq_image_probe(path, &info, NULL), KMQ_OK);
        cr_assert_str_eq(info.format, "PNG");
        cr_assert_eq(info.streamable, 1);
        unlink(path);
    }
    /* PNM: P5 grey and P6 RGB */
    static const char pgm[] = "P5\n3 2\n255\nabcdef", ppm[] = "P6 2 1 255\nabcdef";
    snprintf(path, sizeof path, "%s/g.pgm", dir);
    write_file(path, pgm, sizeof pgm - 1);
    cr_assert_eq(probe_matches_decode(path), 1);
    unlink(path);
    snprintf(path, sizeof path, "%s/c.ppm", dir);
    write_file(path, ppm, sizeof ppm - 1);
    cr_assert_eq(probe_matches_decode(path), 1);
    kmq_image_info info = {.size = sizeof info};
    cr_assert_eq(kmq_image_probe(path, &info, NULL), KMQ_OK);
    cr_assert_str_eq(info.format, "PNM");
    unlink(path);
    /* GIF 2x1 with a transparent index: four channels */
    static const uint8_t gif[] = {'G', 'I', 'F', '8', '9', 'a', 2, 0, 1, 0, 0x80, 0, 0,
                                  0, 0, 0, 255, 255, 255,                  /* 2 colours */
                                  0x21, 0xF9, 4, 1, 0, 0, 1, 0,            /* GCE: index 1 */
                                  0x2C, 0, 0, 0, 0, 2, 0, 1, 0, 0,         /* image */
                                  2, 2, 0x44, 0x0A, 0, 0x3B};
    snprintf(path, sizeof path, "%s/t.gif", dir);
    write_file(path, gif, sizeof gif);
    cr_assert_eq(probe_matches_decode(path), 1);
    info = (kmq_image_info){.size = sizeof info};
    cr_assert_eq(kmq_image_probe(path, &info, NULL), KMQ_OK);
    cr_assert_str_eq(info.format, "GIF");
    cr_assert_eq(info.channels, 4);
    cr_assert_eq(info.streamable, 0);
    unlink(path);
    rmdir(dir);
}

Test(probe, what_it_cannot_read_is_refused)
{
    kmq_image_info info = {.size = sizeof info};
    const char *why = NULL;
    cr_assert_eq(kmq_image_probe("/nonexistent/x.png", &info, &why), KMQ_ERR_IO);
    cr_assert_eq(errno, ENOENT);
    cr_assert_eq(kmq_image_probe("/tmp", &info, &why), KMQ_ERR_IO);
    cr_assert_eq(errno, EISDIR);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    char name[64];
    snprintf(name, sizeof name, "/proc/self/fd/%d", fds[0]);
    cr_assert_eq(kmq_image_probe(name, &info, &why), KMQ_ERR_IO);
    cr_assert_eq(errno, ESPIPE, "a pipe cannot be read twice");
    close(fds[0]), close(fds[1]);
    char path[] = "/tmp/kmq-probe-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16), 16);
    close(fd);
    cr_assert_eq(kmq_image_probe(path, &info, &why), KMQ_ERR_IMAGE_CORRUPT);
    cr_assert_str_eq(why, "corrupt PNG: truncated header");
    fd = open(path, O_WRONLY | O_TRUNC);
    cr_assert_eq(write(fd, "hello, world", 12), 12);
    close(fd);
    cr_assert_eq(kmq_image_probe(path, &info, &why), KMQ_ERR_IMAGE_FORMAT);
    unlink(path);
    info.size = 3; /* no kmq_image_info size */
    cr_assert_eq(kmq_image_probe(path, &info, &why), KMQ_ERR_ARG);
}
