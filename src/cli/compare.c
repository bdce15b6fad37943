/* kmq compare: how far apart two images are. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void help_compare(FILE *out)
{
    fputs("Usage: kmq compare [options] A B\n"
          "Print the mean squared error, the PSNR and the largest absolute difference\n"
          "between images A and B (of equal size, in any format compress reads), over\n"
          "every channel of every pixel, and their structural similarity (SSIM, as\n"
          "scikit-image computes it: 7x7 windows, 1 for identical images), which\n"
          "follows what the eye sees more closely.  Images with different channels\n"
          "are compared as RGB(A): grey is spread to R, G and B, and a missing alpha\n"
          "is opaque.\n"
          "  MSE 2.7201 PSNR 43.784 dB max abs error 9 SSIM 0.9871\n"
          "Images with alpha are compared as a viewer sees them: composited over black\n"
          "and over white, the colour channels; MSE is the mean of the two, and the\n"
          "PSNR over each follows (colour under alpha 0 does not count):\n"
          "  MSE 2.1 PSNR 44.9 dB (over black 45.6 dB, over white 44.3 dB) max abs error 7\n"
          "then SSIM, of the colours composited over mid grey.\n"
          "\n"
          "      --json          the same as one JSON object\n"
          "      --max-pixels N  refuse images of more than N pixels (default 2^28)\n"
          "  -h, --help          show this help\n"
          "\n"
          "Exit status: 0 compared (whatever the difference), 1 unreadable input or\n"
          "different sizes, 2 usage error.\n",
          out);
}

/* img's pixels with `channels` channels (grey spread to R, G, B; alpha
   255 where img has none), in a malloc'd buffer; NULL when out of memory. */
static uint8_t *promote(const kmq_image *img, int channels)
{
    size_t n = (size_t)img->width * (size_t)img->height;
    uint8_t *out = malloc(n * (size_t)channels);
    if (!out)
        return NULL;
    const int from = img->channels, from_alpha = from == 2 || from == 4;
    const int colours = channels == 2 ? 1 : 3;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = img->pixels + i * (size_t)from;
        uint8_t *q = out + i * (size_t)channels;
        for (int c = 0; c < colours; c++)
            q[c] = from >= 3 ? p[c] : p[0];
        if (channels == 2 || channels == 4)
            q[channels - 1] = from_alpha ? p[from - 1] : 255;
    }
    return out;
}

int cmd_compare(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"max-pixels", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, c;
    uint64_t max_pixels = 0;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'P':
            if (parse_max_pixels("compare", "--max-pixels", optarg, &max_pixels))
                return EXIT_USAGE;
            break;
        case 'h': help_compare(stdout); return EXIT_OK;
        default: return cli_bad_option("compare", c, argc, argv);
        }
    }
    if (argc - optind != 2)
        return cli_usage("compare", "expected two images A and B, got %d", argc - optind);
    const char *path[2] = {argv[optind], argv[optind + 1]};
    if (!strcmp(path[0], "-") && !strcmp(path[1], "-"))
        return cli_usage("compare", "standard input ('-') can be read only once");
    kmq_image img[2] = {{0}, {0}};
    uint8_t *promoted[2] = {NULL, NULL};
    int rc = EXIT_FAIL;
    for (int i = 0; i < 2; i++) {
        const char *why = NULL;
        kmq_status s = kmq_image_decode_file(path[i], max_pixels, &img[i], &why, NULL);
        if (s != KMQ_OK) {
            cli_report(path[i], s, why);
            goto done;
        }
    }
    kmq_diff d;
    if (img[0].width != img[1].width || img[0].height != img[1].height) {
        cli_error("%s and %s differ in size: %dx%d vs %dx%d", path[0], path[1], img[0].width,
                  img[0].height, img[1].width, img[1].height);
        goto done;
    }
    /* A grey image and its PNG8 (RGB) are the same picture: compare them in
       the richer layout of the two. */
    const int alpha = img[0].channels % 2 == 0 || img[1].channels % 2 == 0;
    const int colour = img[0].channels >= 3 || img[1].channels >= 3;
    const int channels = colour ? (alpha ? 4 : 3) : (alpha ? 2 : 1);
    kmq_image view[2] = {img[0], img[1]};
    for (int i = 0; i < 2; i++)
        if (img[i].channels != channels) {
            if (!(promoted[i] = promote(&img[i], channels))) {
                cli_report(path[i], KMQ_ERR_NOMEM, NULL);
                goto done;
            }
            view[i].pixels = promoted[i], view[i].channels = channels;
        }
    double ssim;
    if (kmq_compare(&view[0], &view[1], &d) != KMQ_OK || kmq_ssim(&view[0], &view[1], &ssim) != KMQ_OK) {
        cli_report(path[0], KMQ_ERR_NOMEM, NULL);
        goto done;
    }
    if (json) {
        fputs("{\"a\": ", stdout);
        json_string(stdout, path[0]);
        fputs(", \"b\": ", stdout);
        json_string(stdout, path[1]);
        printf(", \"mse\": %.6f, \"psnr\": ", d.mse);
        json_psnr(stdout, d.psnr);
        if (alpha)
            json_psnr_over(stdout, d.psnr_black, d.psnr_white);
        printf(", \"max_abs_error\": %d, \"samples\": %llu, \"ssim\": ", d.max_abs,
               (unsigned long long)d.samples);
        if (isnan(ssim))
            fputs("null}\n", stdout);
        else
            printf("%.6f}\n", ssim);
    } else if (isinf(d.psnr)) {
        printf("MSE 0 PSNR inf dB max abs error 0 (identical%s)\n",
               alpha ? " as seen over any background" : "");
    } else {
        char over[96] = "";
        if (alpha)
            snprintf(over, sizeof over, " (over black %.3f dB, over white %.3f dB)", d.psnr_black,
                     d.psnr_white);
        printf("MSE %.4f PSNR %.3f dB%s max abs error %d SSIM ", d.mse, d.psnr, over, d.max_abs);
        if (isnan(ssim))
            puts("n/a (smaller than 7x7)");
        else
            printf("%.4f\n", ssim);
    }
    rc = EXIT_OK;
done:
    free(promoted[0]), free(promoted[1]);
    kmq_image_free(&img[0]);
    kmq_image_free(&img[1]);
    return rc;
}
