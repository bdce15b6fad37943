/* kmq compress: image -> label PNG + codebook. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void help_compress(FILE *out)
{
    fputs("Usage: kmq compress [options] INPUT\n"
          "Quantize INPUT (PNG, JPEG or BMP) to K colours by k-means; write a label PNG\n"
          "(8-bit grey, pixel = colour index) and a codebook (the K colours).\n"
          "\n"
          "  -k, --colors K      number of colours, 2..256 (default 64)\n"
          "      --init METHOD   kmeans++ (default) or random\n"
          "      --n-init N      restarts; the lowest error wins (default 3)\n"
          "      --max-iter N    Lloyd iterations per restart (default 100)\n"
          "      --tol T         stop when the squared centre shift <= T * mean channel\n"
          "                      variance, as scikit-learn (default 1e-4)\n"
          "      --seed S        random seed, 0..2^64-1 (default 0): same seed, same bytes\n"
          "  -t, --threads N     worker threads, 0 = all cores (default 0); never\n"
          "                      changes the result\n"
          "      --labels FILE   label PNG (default: INPUT's folder/stem.labels.png)\n"
          "      --codebook FILE codebook (default: INPUT's folder/stem.codebook.bin);\n"
          "                      a name ending in .npy writes NumPy format\n"
          "  -f, --force         overwrite existing output files\n"
          "  -q, --quiet         print nothing but errors\n"
          "  -v, --verbose       print k, distinct colours, iterations, inertia, MSE,\n"
          "                      PSNR, bytes and time\n"
          "  -h, --help          show this help\n"
          "\n"
          "Exit status: 0 success, 1 failure (bad input, I/O), 2 usage error.\n",
          out);
}

typedef struct {
    kmq_params params;
    const char *input, *labels_path, *codebook_path;
    int force, quiet, verbose;
} compress_opts;

static int parse_args(int argc, char **argv, compress_opts *o)
{
    enum { OPT_INIT = 256, OPT_NINIT, OPT_MAXITER, OPT_TOL, OPT_SEED, OPT_LABELS, OPT_CODEBOOK };
    static const struct option longopts[] = {
        {"colors", required_argument, NULL, 'k'},
        {"init", required_argument, NULL, OPT_INIT},
        {"n-init", required_argument, NULL, OPT_NINIT},
        {"max-iter", required_argument, NULL, OPT_MAXITER},
        {"tol", required_argument, NULL, OPT_TOL},
        {"seed", required_argument, NULL, OPT_SEED},
        {"threads", required_argument, NULL, 't'},
        {"labels", required_argument, NULL, OPT_LABELS},
        {"codebook", required_argument, NULL, OPT_CODEBOOK},
        {"force", no_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    kmq_params_default(&o->params);
    opterr = 0;
    optind = 1;
    int c;
    long v;
    while ((c = getopt_long(argc, argv, ":k:t:fqvh", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (!parse_long(optarg, KMQ_MIN_K, KMQ_MAX_K, &v))
                return cli_usage("compress", "-k/--colors must be an integer from %d to %d, not '%s'",
                                 KMQ_MIN_K, KMQ_MAX_K, optarg);
            o->params.k = (int)v;
            break;
        case OPT_INIT:
            if (!strcmp(optarg, "kmeans++") || !strcmp(optarg, "k-means++"))
                o->params.init = KMQ_INIT_KMEANSPP;
            else if (!strcmp(optarg, "random"))
                o->params.init = KMQ_INIT_RANDOM;
            else
                return cli_usage("compress", "--init must be kmeans++ or random, not '%s'", optarg);
            break;
        case OPT_NINIT:
            if (!parse_long(optarg, 1, 10000, &v))
                return cli_usage("compress", "--n-init must be an integer from 1 to 10000, not '%s'", optarg);
            o->params.n_init = (int)v;
            break;
        case OPT_MAXITER:
            if (!parse_long(optarg, 1, 1000000, &v))
                return cli_usage("compress", "--max-iter must be an integer from 1 to 1000000, not '%s'", optarg);
            o->params.max_iter = (int)v;
            break;
        case OPT_TOL:
            if (!parse_double(optarg, &o->params.tol) || o->params.tol < 0)
                return cli_usage("compress", "--tol must be a number >= 0, not '%s'", optarg);
            break;
        case OPT_SEED: {
            unsigned long long s;
            if (!parse_u64(optarg, &s))
                return cli_usage("compress", "--seed must be an integer from 0 to 2^64-1, not '%s'", optarg);
            o->params.seed = s;
            break;
        }
        case 't':
            if (!parse_long(optarg, 0, 1024, &v))
                return cli_usage("compress", "-t/--threads must be an integer from 0 to 1024, not '%s'", optarg);
            o->params.threads = (int)v;
            break;
        case OPT_LABELS: o->labels_path = optarg; break;
        case OPT_CODEBOOK: o->codebook_path = optarg; break;
        case 'f': o->force = 1; break;
        case 'q': o->quiet = 1, o->verbose = 0; break;
        case 'v': o->verbose = 1, o->quiet = 0; break;
        case 'h': help_compress(stdout); return -1;
        case ':': return cli_usage("compress", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage("compress", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage("compress", "missing INPUT image");
    if (argc - optind > 1)
        return cli_usage("compress", "expected one INPUT image, got %d", argc - optind);
    o->input = argv[optind];
    if (!strcmp(o->input, "-") && (!o->labels_path || !o->codebook_path))
        return cli_usage("compress", "reading standard input ('-') needs --labels and --codebook");
    if (!*o->input || (o->labels_path && !*o->labels_path) || (o->codebook_path && !*o->codebook_path))
        return cli_usage("compress", "empty file name");
    return 0;
}

/* Encodes both outputs, then commits them together: no lone label file is
   left behind if the codebook cannot be written. */
static int write_outputs(const compress_opts *o, const char *lpath, const char *cpath,
                         const uint8_t *png, size_t png_len, const uint8_t *cb, size_t cb_len)
{
    kmq_outfile *lf = NULL, *cf = NULL;
    kmq_status s;
    if ((s = kmq_outfile_open(lpath, o->force, &lf)) != KMQ_OK) {
        cli_report(lpath, s, NULL);
        return EXIT_FAIL;
    }
    if ((s = kmq_outfile_open(cpath, o->force, &cf)) != KMQ_OK) {
        cli_report(cpath, s, NULL);
        kmq_outfile_abort(lf);
        return EXIT_FAIL;
    }
    if ((s = kmq_outfile_write(lf, png, png_len)) != KMQ_OK) {
        cli_report(lpath, s, NULL);
        goto abort;
    }
    if ((s = kmq_outfile_write(cf, cb, cb_len)) != KMQ_OK) {
        cli_report(cpath, s, NULL);
        goto abort;
    }
    if ((s = kmq_outfile_commit(lf)) != KMQ_OK) {
        lf = NULL;
        cli_report(lpath, s, NULL);
        goto abort;
    }
    lf = NULL;
    if ((s = kmq_outfile_commit(cf)) != KMQ_OK) {
        cli_report(cpath, s, NULL);
        unlink(lpath); /* half a result is no result */
        return EXIT_FAIL;
    }
    return EXIT_OK;
abort:
    kmq_outfile_abort(lf);
    kmq_outfile_abort(cf);
    return EXIT_FAIL;
}

int cmd_compress(int argc, char **argv)
{
    compress_opts o;
    memset(&o, 0, sizeof o);
    int r = parse_args(argc, argv, &o);
    if (r)
        return r < 0 ? EXIT_OK : r;

    int rc = EXIT_FAIL;
    char *lpath = o.labels_path ? strdup(o.labels_path) : derive_path(o.input, NULL, ".labels.png");
    char *cpath = o.codebook_path ? strdup(o.codebook_path) : derive_path(o.input, NULL, ".codebook.bin");
    uint8_t *labels = NULL, *png = NULL, *cbbuf = NULL;
    size_t file_len = 0, png_len = 0, cb_len = 0;
    kmq_image img = {0};
    kmq_codebook cb = {0};
    kmq_status s;
    const char *why = NULL;
    double t0 = now_seconds();

    if (!lpath || !cpath) {
        cli_error("out of memory");
        goto done;
    }
    if (same_path(lpath, cpath)) {
        rc = cli_usage("compress", "labels and codebook would both be written to '%s'", lpath);
        goto done;
    }
    if (strcmp(o.input, "-") != 0 && (same_path(o.input, lpath) || same_path(o.input, cpath))) {
        rc = cli_usage("compress", "an output file is the input file '%s'", o.input);
        goto done;
    }
    if (!o.force) { /* fail before the work, not after */
        if (access(lpath, F_OK) == 0) {
            cli_report(lpath, KMQ_ERR_EXISTS, NULL);
            goto done;
        }
        if (access(cpath, F_OK) == 0) {
            cli_report(cpath, KMQ_ERR_EXISTS, NULL);
            goto done;
        }
    }

    if ((s = kmq_image_decode_file(o.input, 0, &img, &why, &file_len)) != KMQ_OK) {
        cli_report(o.input, s, why);
        goto done;
    }
    double t_decode = now_seconds();
    size_t npixels = (size_t)img.width * (size_t)img.height;
    if (!(labels = malloc(npixels))) {
        cli_report(o.input, KMQ_ERR_NOMEM, NULL);
        goto done;
    }
    kmq_stats st;
    if ((s = kmq_quantize(img.pixels, npixels, img.channels, &o.params, &cb, labels, &st)) != KMQ_OK) {
        cli_report(o.input, s, NULL);
        goto done;
    }
    double t_kmeans = now_seconds();
    const int width = img.width, height = img.height, channels = img.channels;
    kmq_image_free(&img); /* only the labels are needed now: lower peak memory */
    if ((s = kmq_labels_encode(labels, width, height, KMQ_DEFAULT_LEVEL, &png, &png_len)) != KMQ_OK) {
        cli_report(lpath, s, NULL);
        goto done;
    }
    s = ends_with_ci(cpath, ".npy") ? kmq_codebook_encode_npy(&cb, &cbbuf, &cb_len)
                                    : kmq_codebook_encode_bin(&cb, &cbbuf, &cb_len);
    if (s != KMQ_OK) {
        cli_report(cpath, s, NULL);
        goto done;
    }
    if ((rc = write_outputs(&o, lpath, cpath, png, png_len, cbbuf, cb_len)) != EXIT_OK)
        goto done;
    double t_end = now_seconds();

    size_t out_bytes = png_len + cb_len;
    double ratio = file_len ? (double)out_bytes / (double)file_len : 0;
    if (o.verbose) {
        fprintf(stderr,
                "%s: %dx%d %s, %zu distinct colours\n"
                "  k %d (asked %d), init %s, n_init %d, max_iter %d, tol %g, seed %llu\n"
                "  iterations %d (restart %d won), inertia %.0f\n"
                "  MSE %.4f, PSNR %.3f dB\n"
                "  %s: %zu bytes, %s: %zu bytes, total %zu bytes = %.1f%% of %zu input bytes\n"
                "  time %.3f s (decode %.3f, colours %.3f, k-means %.3f, labels %.3f, encode+write %.3f)\n",
                o.input, width, height, channels_name(channels), st.distinct, st.k,
                o.params.k, o.params.init == KMQ_INIT_RANDOM ? "random" : "kmeans++",
                o.params.n_init, o.params.max_iter, o.params.tol,
                (unsigned long long)o.params.seed, st.iterations, st.restart, st.inertia, st.mse,
                st.psnr, lpath, png_len, cpath, cb_len, out_bytes, 100.0 * ratio, file_len,
                t_end - t0, t_decode - t0, st.seconds_histogram, st.seconds_kmeans, st.seconds_labels,
                t_end - t_kmeans);
    } else if (!o.quiet) {
        char quality[32];
        if (isinf(st.psnr))
            snprintf(quality, sizeof quality, "lossless");
        else
            snprintf(quality, sizeof quality, "PSNR %.2f dB", st.psnr);
        fprintf(stderr, "%s: k=%d, %zu -> %zu bytes (%.1f%%), %s, %.2f s\n", o.input, st.k,
                file_len, out_bytes, 100.0 * ratio, quality, t_end - t0);
    }
    rc = EXIT_OK;
done:
    free(lpath), free(cpath), free(labels), free(png), free(cbbuf);
    kmq_image_free(&img);
    kmq_codebook_free(&cb);
    return rc;
}
