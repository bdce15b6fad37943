/* imgcmp: independent checks for tests.
 *   imgcmp A B     prints "mse M psnr P maxerr E" over all channels of two
 *                  images of equal size and channel count (exit 1 if not)
 *   imgcmp info A  prints "W H C DISTINCT"
 *   imgcmp raw A   writes the samples stb_image decodes, as they are */
#include "kmq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int load(const char *path, kmq_image *img)
{
    uint8_t *buf;
    size_t len;
    const char *why = NULL;
    kmq_status s = kmq_read_file(path, 0, &buf, &len);
    if (s == KMQ_OK) {
        s = kmq_image_decode(buf, len, 0, img, &why);
        free(buf);
    }
    if (s != KMQ_OK) {
        fprintf(stderr, "imgcmp: %s: %s\n", path, why ? why : kmq_strerror(s));
        return 0;
    }
    return 1;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    kmq_image a, b;
    if (argc == 3 && !strcmp(argv[1], "info")) {
        if (!load(argv[2], &a))
            return 1;
        size_t n = (size_t)a.width * a.height;
        uint32_t *keys = malloc(n * sizeof *keys);
        for (size_t i = 0; i < n; i++) {
            uint32_t k = 0;
            for (int c = 0; c < a.channels; c++)
                k = k << 8 | a.pixels[i * a.channels + c];
            keys[i] = k;
        }
        qsort(keys, n, sizeof *keys, cmp_u32);
        size_t d = n ? 1 : 0;
        for (size_t i = 1; i < n; i++)
            d += keys[i] != keys[i - 1];
        printf("%d %d %d %zu\n", a.width, a.height, a.channels, d);
        free(keys);
        kmq_image_free(&a);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "raw")) {
        if (!load(argv[2], &a))
            return 1;
        size_t n = (size_t)a.width * a.height * a.channels;
        int ok = fwrite(a.pixels, 1, n, stdout) == n && fflush(stdout) == 0;
        kmq_image_free(&a);
        return ok ? 0 : 1;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: imgcmp A B | imgcmp info A | imgcmp raw A\n");
        return 2;
    }
    if (!load(argv[1], &a) || !load(argv[2], &b))
        return 1;
    if (a.width != b.width || a.height != b.height || a.channels != b.channels) {
        fprintf(stderr, "imgcmp: %dx%dx%d vs %dx%dx%d\n", a.width, a.height, a.channels, b.width,
                b.height, b.channels);
        return 1;
    }
    size_t n = (size_t)a.width * a.height * a.channels;
    double sse = 0;
    int maxerr = 0;
    for (size_t i = 0; i < n; i++) {
        int d = (int)a.pixels[i] - (int)b.pixels[i];
        sse += (double)d * d;
        if (abs(d) > maxerr)
            maxerr = abs(d);
    }
    double mse = sse / (double)n;
    printf("mse %.6f psnr %.4f maxerr %d\n", mse, mse > 0 ? 10 * log10(255.0 * 255.0 / mse) : INFINITY,
           maxerr);
    kmq_image_free(&a);
    kmq_image_free(&b);
    return 0;
}
