/* The library's whole jobs (src/pipeline): kmq_compress gives the bytes the
   separate calls give, kmq_decompress checks a pair and maps it back,
   kmq_files_write commits a pair or nothing; their sizes and failures. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kmq.h"

/* A 64x48 RGB image of smooth gradients and a few hard edges. */
static kmq_image test_image(void)
{
    kmq_image img = {64, 48, 3, malloc(64 * 48 * 3)};
    cr_assert_not_null(img.pixels);
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 64; x++) {
            uint8_t *p = img.pixels + (y * 64 + x) * 3;
            p[0] = (uint8_t)(x * 4), p[1] = (uint8_t)(y * 5), p[2] = (uint8_t)((x ^ y) & 0x30 ? 200 : 20);
        }
    return img;
}

static kmq_compress_options options(int k, kmq_output output)
{
    kmq_compress_options o;
    kmq_compress_options_default(&o);
    o.params.k = k;
    o.params.threads = 2;
    o.output = output;
    return o;
}

Test(pipeline, compress_gives_the_bytes_of_the_separate_calls)
{
    kmq_image img = test_image();
    const kmq_compress_options o = options(12, KMQ_OUTPUT_LABELS);
    kmq_quantized q = {.size = sizeof q};
    kmq_compressed out = {.size = sizeof out};
    cr_assert_eq(kmq_compress(&img, NULL, &o, &q, &out), KMQ_OK, "%s", kmq_last_why());
    cr_assert_eq(q.codebook.k, 12);
    cr_assert_eq(q.reached, 1);

    /* by hand: k-means, palette order, label PNG, binding, codebook */
    kmq_codebook cb;
    uint8_t *labels = malloc(64 * 48);
    kmq_stats st;
    kmq_stats_init(&st);
    cr_assert_eq(kmq_quantize(img.pixels, 64 * 48, 3, &o.params, &cb, labels, &st), KMQ_OK);
    cr_assert_eq(kmq_palette_sort(&cb, labels, 64, 48), KMQ_OK);
    uint8_t *png, *bound, *bin;
    size_t png_len, bound_len, bin_len;
    cr_assert_eq(kmq_labels_encode(labels, 64, 48, cb.k, &o.png, &png, &png_len), KMQ_OK);
    static const kmq_metadata none;
    cr_assert_eq(kmq_labels_add_metadata(png, png_len, &none, &cb, &bound, &bound_len), KMQ_OK);
    cr_assert_eq(kmq_codebook_encode_bin(&cb, &bin, &bin_len), KMQ_OK);
    cr_assert_eq(out.image_len, bound_len);
    cr_assert_eq(memcmp(out.image, bound, bound_len), 0);
    cr_assert_eq(out.codebook_len, bin_len);
    cr_assert_eq(memcmp(out.codebook, bin, bin_len), 0);
    cr_assert_eq(memcmp(q.labels, labels, 64 * 48), 0);
    cr_assert_eq(q.stats.psnr, st.psnr);
    free(png), free(bound), free(bin), free(labels);
    kmq_codebook_free(&cb);

    /* and decompressed: the pixels labels + codebook stand for */
    kmq_decompress_options dopt;
    kmq_decompress_options_default(&dopt);
    kmq_decompressed d = {.size = sizeof d};
    cr_assert_eq(kmq_decompress(out.image, out.image_len, out.codebook, out.codebook_len, &dopt,
                                &d, NULL), KMQ_OK, "%s", kmq_last_why());
    cr_assert_eq(d.binding, KMQ_OK);
    cr_assert_eq(d.image.width, 64);
    cr_assert_eq(d.image.channels, 3);
    uint8_t *want = malloc(64 * 48 * 3);
    cr_assert_eq(kmq_labels_to_pixels(q.labels, 64 * 48, &q.codebook, want, NULL), KMQ_OK);
    cr_assert_eq(memcmp(d.image.pixels, want, 64 * 48 * 3), 0);
    free(want);
    kmq_decompressed_free(&d);
    kmq_compressed_free(&out);
    kmq_quantized_free(&q);
    kmq_image_free(&img);
}

Test(pipeline, png8_and_npy_and_quality)
{
    kmq_image img = test_image();
    kmq_compress_options o = options(8, KMQ_OUTPUT_PNG8);
    kmq_quantized q = {.size = sizeof q};
    kmq_compressed out = {.size = sizeof out};
    cr_assert_eq(kmq_compress(&img, NULL, &o, &q, &out), KMQ_OK);
    cr_assert_null(out.codebook);
    cr_assert_eq(kmq_is_indexed_png(out.image, out.image_len), 1);
    kmq_decompress_options dopt;
    kmq_decompress_options_default(&dopt);
    kmq_decompressed d = {.size = sizeof d};
    cr_assert_eq(kmq_decompress(out.image, out.image_len, NULL, 0, &dopt, &d, NULL), KMQ_OK);
    cr_assert_eq(d.codebook.k, 8);
    kmq_decompressed_free(&d);
    kmq_compressed_free(&out);
    kmq_quantized_free(&q);

    /* the codebook as .npy, told by its content whatever the name says */
    o = options(8, KMQ_OUTPUT_LABELS);
    o.codebook_format = KMQ_CODEBOOK_NPY;
    cr_assert_eq(kmq_compress(&img, NULL, &o, &q, &out), KMQ_OK);
    cr_assert_eq(memcmp(out.codebook, "\x93NUMPY", 6), 0);
    dopt.codebook_format = KMQ_CODEBOOK_BIN;
    cr_assert_eq(kmq_decompress(out.image, out.image_len, out.codebook, out.codebook_len, &dopt,
                                &d, NULL), KMQ_OK);
    kmq_decompressed_free(&d);
    kmq_compressed_free(&out);
    kmq_quantized_free(&q);

    /* quality: the smallest k reaching 30 dB */
    o = options(64, KMQ_OUTPUT_LABELS);
    o.quality = 30;
    cr_assert_eq(kmq_compress_quantize(&img, &o, &q), KMQ_OK);
    cr_assert_geq(q.stats.psnr, 30);
    cr_assert_eq(q.reached, 1);
    kmq_quantized_free(&q);
    kmq_image_free(&img);
}

Test(pipeline, decompress_refuses_another_codebook_and_names_a_bad_label)
{
    kmq_image img = test_image();
    kmq_compress_options o = options(12, KMQ_OUTPUT_LABELS);
    kmq_quantized q = {.size = sizeof q}, q2 = {.size = sizeof q2};
    kmq_compressed a = {.size = sizeof a}, b = {.size = sizeof b};
    cr_assert_eq(kmq_compress(&img, NULL, &o, &q, &a), KMQ_OK);
    o.params.k = 4;
    cr_assert_eq(kmq_compress(&img, NULL, &o, &q2, &b), KMQ_OK);
    kmq_decompress_options dopt;
    kmq_decompress_options_default(&dopt);
    kmq_decompressed d = {.size = sizeof d};
    const char *why = NULL;
    /* a's labels, b's codebook: bound to another codebook */
    cr_assert_eq(kmq_decompress(a.image, a.image_len, b.codebook, b.codebook_len, &dopt, &d, &why),
                 KMQ_ERR_NOT_A_PAIR);
    cr_assert_eq(d.binding, KMQ_ERR_NOT_A_PAIR);
    cr_assert_not_null(strstr(why, "another codebook (k=12, RGB"), "%s", why);
    cr_assert_str_eq(kmq_last_why(), why);
    cr_assert_null(d.image.pixels);
    kmq_decompressed_free(&d);
    /* let through: then a label >= 4 is named, with the image's size */
    dopt.ignore_binding = 1;
    cr_assert_eq(kmq_decompress(a.image, a.image_len, b.codebook, b.codebook_len, &dopt, &d, &why),
                 KMQ_ERR_LABEL_RANGE);
    cr_assert_eq(d.binding, KMQ_ERR_NOT_A_PAIR);
    cr_assert_geq(d.bad_label, 4);
    cr_assert_eq(d.image.width, 64);
    cr_assert_eq(d.codebook.k, 4);
    cr_assert_eq(q.labels[d.bad_index], d.bad_label);
    kmq_decompressed_free(&d);
    /* a damaged codebook is the codebook's failure */
    b.codebook[b.codebook_len - 1] ^= 1;
    cr_assert_eq(kmq_decompress(b.image, b.image_len, b.codebook, b.codebook_len, &dopt, &d, &why),
                 KMQ_ERR_CB_CRC);
    cr_assert_eq(d.failed, 1);
    kmq_decompressed_free(&d);
    kmq_compressed_free(&a), kmq_compressed_free(&b);
    kmq_quantized_free(&q), kmq_quantized_free(&q2);
    kmq_image_free(&img);
}

Test(pipeline, sizes_and_arguments_are_named)
{
    kmq_image img = test_image();
    kmq_compress_options o = options(12, KMQ_OUTPUT_LABELS);
    kmq_quantized q = {.size = 0};
    cr_assert_eq(kmq_compress_quantize(&img, &o, &q), KMQ_ERR_ARG);
    cr_assert_not_null(strstr(kmq_last_why(), "q.size = 0"), "%s", kmq_last_why());
    q.size = sizeof q;
    o.size = 3;
    cr_assert_eq(kmq_compress_quantize(&img, &o, &q), KMQ_ERR_ARG);
    cr_assert_not_null(strstr(kmq_last_why(), "o.size = 3"), "%s", kmq_last_why());
    o = options(300, KMQ_OUTPUT_LABELS);
    cr_assert_eq(kmq_compress_quantize(&img, &o, &q), KMQ_ERR_ARG);
    cr_assert_not_null(strstr(kmq_last_why(), "300"), "%s", kmq_last_why());
    o = options(12, KMQ_OUTPUT_LABELS);
    o.dither_strength = 2;
    cr_assert_eq(kmq_compress_quantize(&img, &o, &q), KMQ_ERR_ARG);
    cr_assert_str_eq(kmq_last_why(), "o.dither_strength = 2 is outside 0..1");
    kmq_decompress_options dopt;
    kmq_decompress_options_default(&dopt);
    kmq_decompressed d = {.size = sizeof d};
    cr_assert_eq(kmq_decompress(NULL, 0, NULL, 0, &dopt, &d, NULL), KMQ_ERR_ARG);
    cr_assert_str_eq(kmq_last_why(), "labels is NULL");
    kmq_image_free(&img);
}

static char dir[] = "/tmp/kmq-pipeline-XXXXXX";

static int count_files(void)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.' || (e->d_name[1] && e->d_name[1] != '.');
    closedir(d);
    return n;
}

static void read_back(const char *path, const char *want)
{
    char buf[64] = {0};
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    cr_assert_eq(n, strlen(want));
    cr_assert_str_eq(buf, want);
}

Test(pipeline, files_write_commits_the_pair_or_nothing)
{
    cr_assert_not_null(mkdtemp(dir));
    char a[128], b[128], missing[128];
    snprintf(a, sizeof a, "%s/a.labels.png", dir);
    snprintf(b, sizeof b, "%s/a.codebook.bin", dir);
    snprintf(missing, sizeof missing, "%s/no/such/folder.bin", dir);
    const char *paths[2] = {a, b};
    const uint8_t *data[2] = {(const uint8_t *)"one", (const uint8_t *)"two"};
    const size_t lens[2] = {3, 3};
    int failed;
    cr_assert_eq(kmq_files_write(2, paths, data, lens, 0, NULL, &failed), KMQ_OK);
    cr_assert_eq(failed, -1);
    read_back(a, "one"), read_back(b, "two");
    /* existing: refused, both left, no temporary file */
    cr_assert_eq(kmq_files_write(2, paths, data, lens, 0, NULL, &failed), KMQ_ERR_EXISTS);
    cr_assert_eq(failed, 0);
    cr_assert_eq(count_files(), 2);
    /* overwrite, but the second cannot be made: the first keeps its old bytes */
    const char *bad[2] = {a, missing};
    const uint8_t *other[2] = {(const uint8_t *)"ONE", (const uint8_t *)"TWO"};
    cr_assert_eq(kmq_files_write(2, bad, other, lens, 1, NULL, &failed), KMQ_ERR_IO);
    cr_assert_eq(errno, ENOENT);
    cr_assert_eq(failed, 1);
    read_back(a, "one");
    cr_assert_eq(count_files(), 2);
    cr_assert_eq(kmq_files_write(2, paths, other, lens, 1, NULL, &failed), KMQ_OK);
    read_back(a, "ONE"), read_back(b, "TWO");
    cr_assert_eq(kmq_output_exists(a), 1);
    cr_assert_eq(kmq_output_exists("/dev/null"), 0);
    cr_assert_eq(kmq_files_write(0, paths, other, lens, 1, NULL, &failed), KMQ_ERR_ARG);
    cr_assert_str_eq(kmq_last_why(), "n = 0 is outside 1..4");
    unlink(a), unlink(b), rmdir(dir);
}
