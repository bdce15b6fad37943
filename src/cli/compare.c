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
          "between images A and B (PNG, JPEG or BMP of equal size and channels), over\n"
          "every channel of every pixel:\n"
          "  MSE 2.7201 PSNR 43.784 dB max abs error 9\n"
          "Images with alpha are compared as a viewer sees them: composited over black\n"
          "and over white, the colour channels; MSE is the mean of the two, and the\n"
          "PSNR over each follows (colour under alpha 0 does not count):\n"
          "  MSE 2.1 PSNR 44.9 dB (over black 45.6 dB, over white 44.3 dB) max abs error 7\n"
          "\n"
          "      --json          the same as one JSON object\n"
          "      --max-pixels N  refuse images of more than N pixels (default 2^28)\n"
          "  -h, --help          show this help\n"
          "\n"
          "Exit status: 0 compared (whatever the difference), 1 unreadable input or\n"
          "different sizes, 2 usage error.\n",
          out);
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
            if (!parse_max_pixels(optarg, &max_pixels))
                return cli_usage("compare", "--max-pixels must be an integer from 1 to %llu, not '%s'",
                                 KMQ_MAX_PIXELS_LIMIT, optarg);
            break;
        case 'h': help_compare(stdout); return EXIT_OK;
        case ':': return cli_usage("compare", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage("compare", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return cli_usage("compare", "expected two images A and B, got %d", argc - optind);
    const char *path[2] = {argv[optind], argv[optind + 1]};
    kmq_image img[2] = {{0}, {0}};
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
    const int alpha = img[0].channels == 2 || img[0].channels == 4;
    if (kmq_compare(&img[0], &img[1], &d) != KMQ_OK) {
        cli_error("%s and %s differ in size: %dx%d %s vs %dx%d %s", path[0], path[1], img[0].width,
                  img[0].height, channels_name(img[0].channels), img[1].width, img[1].height,
                  channels_name(img[1].channels));
        goto done;
    }
    if (json) {
        fputs("{\"a\": ", stdout);
        json_string(stdout, path[0]);
        fputs(", \"b\": ", stdout);
        json_string(stdout, path[1]);
        printf(", \"mse\": %.6f, \"psnr\": ", d.mse);
        json_psnr(stdout, d.psnr);
        if (alpha) {
            fputs(", \"psnr_black\": ", stdout);
            json_psnr(stdout, d.psnr_black);
            fputs(", \"psnr_white\": ", stdout);
            json_psnr(stdout, d.psnr_white);
        }
        printf(", \"max_abs_error\": %d, \"samples\": %llu}\n", d.max_abs,
               (unsigned long long)d.samples);
    } else if (isinf(d.psnr)) {
        printf("MSE 0 PSNR inf dB max abs error 0 (identical%s)\n",
               alpha ? " as seen over any background" : "");
    } else if (alpha) {
        printf("MSE %.4f PSNR %.3f dB (over black %.3f dB, over white %.3f dB) max abs error %d\n",
               d.mse, d.psnr, d.psnr_black, d.psnr_white, d.max_abs);
    } else {
        printf("MSE %.4f PSNR %.3f dB max abs error %d\n", d.mse, d.psnr, d.max_abs);
    }
    rc = EXIT_OK;
done:
    kmq_image_free(&img[0]);
    kmq_image_free(&img[1]);
    return rc;
}
