/* kmq palette: the codebook as a swatch image. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void help_palette(FILE *out)
{
    fputs("Usage: kmq palette [options] CODEBOOK\n"
          "Draw the colours of CODEBOOK (.bin, .npy, or a PNG8's palette) as a grid of\n"
          "squares and write it as PNG.\n"
          "\n"
          "  -o, --output FILE   the swatch (default: CODEBOOK's folder/stem.swatch.png);\n"
          "                      - is standard output, also the default when CODEBOOK is -\n"
          "      --order ORDER   brightness (default) or stored\n"
          "      --cell PIXELS   side of each square, 1..1024 (default 32)\n"
          "      --columns N     squares per row, 1..256 (default: a square grid)\n"
          "  -f, --force         overwrite an existing output file\n"
          "  -h, --help          show this help\n"
          "\n"
          "Exit status: 0 success, 1 failure (bad input, I/O), 2 usage error.\n",
          out);
}

int cmd_palette(int argc, char **argv)
{
    enum { OPT_ORDER = 256, OPT_CELL, OPT_COLUMNS };
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"order", required_argument, NULL, OPT_ORDER},
        {"cell", required_argument, NULL, OPT_CELL},
        {"columns", required_argument, NULL, OPT_COLUMNS},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out_opt = NULL;
    int by_brightness = 1, cell = 32, columns = 0, force = 0, c;
    long v;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:fh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out_opt = optarg; break;
        case OPT_ORDER:
            if (!strcmp(optarg, "brightness") || !strcmp(optarg, "luminance"))
                by_brightness = 1;
            else if (!strcmp(optarg, "stored"))
                by_brightness = 0;
            else
                return cli_usage("palette", "--order must be brightness or stored, not '%s'", optarg);
            break;
        case OPT_CELL:
            if (!parse_long(optarg, 1, 1024, &v))
                return cli_usage("palette", "--cell must be an integer from 1 to 1024, not '%s'", optarg);
            cell = (int)v;
            break;
        case OPT_COLUMNS:
            if (!parse_long(optarg, 1, 256, &v))
                return cli_usage("palette", "--columns must be an integer from 1 to 256, not '%s'", optarg);
            columns = (int)v;
            break;
        case 'f': force = 1; break;
        case 'h': help_palette(stdout); return EXIT_OK;
        default: return cli_bad_option("palette", c, argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage("palette", "expected one CODEBOOK, got %d arguments", argc - optind);
    const char *cpath = argv[optind];
    if (!*cpath || (out_opt && !*out_opt))
        return cli_usage("palette", "empty file name");
    char *opath = out_opt ? strdup(out_opt)
                  : !strcmp(cpath, "-") ? strdup("-")
                  : derive_path(cpath, ".codebook", ".swatch.png");
    uint8_t *buf = NULL, *pixels = NULL, *png = NULL;
    size_t len = 0, png_len = 0;
    kmq_codebook cb = {0};
    kmq_image labels = {0};
    kmq_status s;
    int rc = EXIT_FAIL;
    if (!opath) {
        cli_error("out of memory");
        goto done;
    }
    if (strcmp(opath, "-") && same_path(opath, cpath)) {
        rc = cli_usage("palette", "the output file '%s' is the input", opath);
        goto done;
    }
    if (cli_refuse_tty_output("palette", opath)) {
        rc = EXIT_USAGE;
        goto done;
    }
    /* A PNG8 carries its codebook as the palette: read just that. */
    if ((s = kmq_read_file(cpath, KMQ_MAX_CODEBOOK_FILE * 64, &buf, &len)) != KMQ_OK) {
        cli_report(cpath, s, NULL);
        goto done;
    }
    const char *why = NULL;
    s = kmq_is_indexed_png(buf, len) ? kmq_png8_decode(buf, len, 0, &labels, &cb, &why)
                                     : cli_decode_codebook(cpath, buf, len, &cb);
    if (s != KMQ_OK) {
        cli_report(cpath, s, why);
        goto done;
    }
    if (!force && kmq_output_exists(opath)) { /* checked once the input is known good */
        cli_report_out(opath, KMQ_ERR_EXISTS, NULL);
        goto done;
    }
    if (!columns)
        columns = (int)ceil(sqrt((double)cb.k));
    int w, h;
    if ((s = kmq_swatch_size(&cb, cell, columns, &w, &h)) != KMQ_OK ||
        !(pixels = malloc((size_t)w * h * cb.channels)) ||
        (s = kmq_swatch_draw(&cb, by_brightness, cell, columns, pixels)) != KMQ_OK ||
        (s = kmq_png_encode(pixels, w, h, cb.channels, &png, &png_len)) != KMQ_OK) {
        cli_report_out(opath, pixels ? s : KMQ_ERR_NOMEM, NULL);
        goto done;
    }
    if ((s = cli_write_file(opath, png, png_len, force)) != KMQ_OK) {
        cli_report_out(opath, s, NULL);
        goto done;
    }
    rc = EXIT_OK;
done:
    free(opath), free(buf), free(pixels), free(png);
    kmq_codebook_free(&cb);
    kmq_image_free(&labels);
    return rc;
}
