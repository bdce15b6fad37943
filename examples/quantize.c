/* quantize - the kmq library in one short program.
 *
 *   quantize IN.png K LABELS.png CODEBOOK.bin
 *
 * Decodes IN (PNG, JPEG or BMP), clusters its colours into K with the
 * defaults, and writes the label PNG and the codebook, as `kmq compress -k K`
 * does (without the metadata and the codebook binding the CLI adds).
 * Build against an installed kmq:
 *   cc quantize.c $(pkg-config --cflags --libs kmq) -o quantize
 */
#include <kmq.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* kmq_strerror says what kind of failure, kmq_last_why (read before any
   other kmq call) what exactly, or "". */
static int fail(const char *what, kmq_status s)
{
    const char *why = kmq_last_why();
    fprintf(stderr, "quantize: %s: %s%s%s\n", what, kmq_strerror(s), *why ? ": " : "", why);
    return 1;
}

static int write_all(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok)
        perror(path);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: quantize IN.png K LABELS.png CODEBOOK.bin\n");
        return 2;
    }
    kmq_params params;
    kmq_params_default(&params);
    params.k = atoi(argv[2]);
    const char *field;
    kmq_status s = kmq_params_check(&params, &field);
    if (s != KMQ_OK) {
        fprintf(stderr, "quantize: bad %s\n", field);
        return 2;
    }

    kmq_image img;
    const char *why = NULL;
    if ((s = kmq_image_decode_file(argv[1], 0, &img, &why, NULL)) != KMQ_OK) {
        fprintf(stderr, "quantize: %s: %s\n", argv[1],
                why ? why : s == KMQ_ERR_IO ? strerror(errno) : kmq_strerror(s));
        return 1;
    }
    const size_t n = (size_t)img.width * img.height;
    uint8_t *labels = malloc(n);
    kmq_codebook cb;
    kmq_stats st;
    kmq_stats_init(&st); /* its size: see "Sizes" in kmq.h */
    if (!labels)
        return fail(argv[1], KMQ_ERR_NOMEM);
    if ((s = kmq_quantize(img.pixels, n, img.channels, &params, &cb, labels, &st)) != KMQ_OK)
        return fail(argv[1], s);
    /* Colours that touch get nearby indices: smaller label PNGs. */
    if ((s = kmq_palette_sort(&cb, labels, img.width, img.height)) != KMQ_OK)
        return fail(argv[1], s);

    kmq_png_options png;
    kmq_png_options_default(&png);
    uint8_t *png_bytes, *bin;
    size_t png_len, bin_len;
    if ((s = kmq_labels_encode(labels, img.width, img.height, cb.k, &png, &png_bytes,
                               &png_len)) != KMQ_OK ||
        (s = kmq_codebook_encode_bin(&cb, &bin, &bin_len)) != KMQ_OK)
        return fail("encoding", s);
    int ok = write_all(argv[3], png_bytes, png_len) && write_all(argv[4], bin, bin_len);
    if (ok)
        printf("kmq %s: %dx%d, %zu colours -> k %d, PSNR %.2f dB\n", kmq_version(), img.width,
               img.height, st.distinct, cb.k, st.psnr);

    free(png_bytes);
    free(bin);
    free(labels);
    kmq_codebook_free(&cb);
    kmq_image_free(&img);
    return ok ? 0 : 1;
}
