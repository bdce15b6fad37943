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
          "(greyscale, pixel = colour index) and a codebook (the K colours), or with\n"
          "--format png8 one indexed PNG holding both.\n"
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
          "      --format FORMAT labels (default: label PNG + codebook) or png8 (one\n"
          "                      palette PNG that any viewer shows)\n"
          "      --labels FILE   label PNG (default: INPUT's folder/stem.labels.png)\n"
          "      --codebook FILE codebook (default: INPUT's folder/stem.codebook.bin);\n"
          "                      a name ending in .npy writes NumPy format\n"
          "  -o, --output FILE   the png8 file (default: INPUT's folder/stem.png8.png)\n"
          "      --level N       DEFLATE effort 1 (fastest) .. 12 (smallest), default 6;\n"
          "                      png8 is written with zlib, whose top level is 9\n"
          "  -z, --max           smallest files: level 12 and every PNG filter tried\n"
          "      --max-pixels N  refuse images of more than N pixels, before decoding\n"
          "                      (default 268435456 = 2^28)\n"
          "  -f, --force         overwrite existing output files\n"
          "  -q, --quiet         print nothing but errors\n"
          "  -v, --verbose, --stats\n"
          "                      print k, distinct colours, iterations, inertia, MSE,\n"
          "                      PSNR, input and output bytes, ratio and time\n"
          "  -h, --help          show this help\n"
          "\n"
          "Exit status: 0 success, 1 failure (bad input, I/O), 2 usage error.\n",
          out);
}

typedef struct {
    kmq_params params;
    const char *input, *labels_path, *codebook_path, *output_path;
    int png8, level, exhaustive;
    uint64_t max_pixels;
    int force, quiet, verbose;
} compress_opts;

static int parse_args(int argc, char **argv, compress_opts *o)
{
    enum {
        OPT_INIT = 256, OPT_NINIT, OPT_MAXITER, OPT_TOL, OPT_SEED, OPT_LABELS, OPT_CODEBOOK,
        OPT_FORMAT, OPT_LEVEL, OPT_MAXPIXELS
    };
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
        {"format", required_argument, NULL, OPT_FORMAT},
        {"output", required_argument, NULL, 'o'},
        {"level", required_argument, NULL, OPT_LEVEL},
        {"max", no_argument, NULL, 'z'},
        {"stats", no_argument, NULL, 'v'},
        {"max-pixels", required_argument, NULL, OPT_MAXPIXELS},
        {"force", no_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    kmq_params_default(&o->params);
    o->level = KMQ_DEFAULT_LEVEL;
    int level_set = 0;
    opterr = 0;
    optind = 1;
    int c;
    long v;
    while ((c = getopt_long(argc, argv, ":k:t:o:zfqvh", longopts, NULL)) != -1) {
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
        case OPT_FORMAT:
            if (!strcmp(optarg, "png8"))
                o->png8 = 1;
            else if (!strcmp(optarg, "labels"))
                o->png8 = 0;
            else
                return cli_usage("compress", "--format must be labels or png8, not '%s'", optarg);
            break;
        case OPT_LEVEL:
            if (!parse_long(optarg, 1, KMQ_MAX_LEVEL, &v))
                return cli_usage("compress", "--level must be an integer from 1 to %d, not '%s'",
                                 KMQ_MAX_LEVEL, optarg);
            o->level = (int)v;
            level_set = 1;
            break;
        case 'z': o->exhaustive = 1; break;
        case OPT_MAXPIXELS:
            if (!parse_max_pixels(optarg, &o->max_pixels))
                return cli_usage("compress", "--max-pixels must be an integer from 1 to %llu, not '%s'",
                                 KMQ_MAX_PIXELS_LIMIT, optarg);
            break;
        case 'o': o->output_path = optarg; break;
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
    if (o->exhaustive) {
        if (level_set && o->level != KMQ_MAX_LEVEL)
            return cli_usage("compress", "-z/--max means --level %d; give one or the other",
                             KMQ_MAX_LEVEL);
        o->level = KMQ_MAX_LEVEL;
    }
    if (o->png8 && (o->labels_path || o->codebook_path))
        return cli_usage("compress", "--format png8 writes one file: use -o, not --labels/--codebook");
    if (!o->png8 && o->output_path)
        return cli_usage("compress", "-o/--output is for --format png8; use --labels and --codebook");
    if (!strcmp(o->input, "-") && !o->png8 && (!o->labels_path || !o->codebook_path))
        return cli_usage("compress", "reading standard input ('-') needs --labels and --codebook");
    if (!strcmp(o->input, "-") && o->png8 && !o->output_path)
        return cli_usage("compress", "reading standard input ('-') needs -o/--output");
    if (!*o->input || (o->labels_path && !*o->labels_path) ||
        (o->codebook_path && !*o->codebook_path) || (o->output_path && !*o->output_path))
        return cli_usage("compress", "empty file name");
    return 0;
}

typedef struct {
    const char *path;
    const uint8_t *data;
    size_t len;
} output;

/* Writes every output to a temporary file, then commits them together: no
   lone label file is left behind if the codebook cannot be written. */
static int write_outputs(const compress_opts *o, const output *out, int n)
{
    kmq_outfile *f[2] = {NULL, NULL};
    kmq_status s;
    int i;
    for (i = 0; i < n; i++)
        if ((s = kmq_outfile_open(out[i].path, o->force, &f[i])) != KMQ_OK)
            goto fail;
    for (i = 0; i < n; i++)
        if ((s = kmq_outfile_write(f[i], out[i].data, out[i].len)) != KMQ_OK)
            goto fail;
    for (i = 0; i < n; i++) {
        s = kmq_outfile_commit(f[i]);
        f[i] = NULL; /* commit frees the handle, whatever happens */
        if (s != KMQ_OK) {
            cli_report(out[i].path, s, NULL);
            for (int j = 0; j < i; j++)
                unlink(out[j].path); /* half a result is no result */
            for (int j = i + 1; j < n; j++)
                kmq_outfile_abort(f[j]);
            return EXIT_FAIL;
        }
    }
    return EXIT_OK;
fail:
    cli_report(out[i].path, s, NULL);
    for (int j = 0; j < n; j++)
        kmq_outfile_abort(f[j]);
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
    char *paths[2] = {NULL, NULL};
    int nout;
    if (o.png8) {
        nout = 1;
        paths[0] = o.output_path ? strdup(o.output_path) : derive_path(o.input, NULL, ".png8.png");
    } else {
        nout = 2;
        paths[0] = o.labels_path ? strdup(o.labels_path) : derive_path(o.input, NULL, ".labels.png");
        paths[1] = o.codebook_path ? strdup(o.codebook_path)
                                   : derive_path(o.input, NULL, ".codebook.bin");
    }
    uint8_t *labels = NULL, *bufs[2] = {NULL, NULL};
    size_t file_len = 0, lens[2] = {0, 0};
    kmq_image img = {0};
    kmq_codebook cb = {0};
    kmq_status s;
    const char *why = NULL;
    double t0 = now_seconds();

    if (!paths[0] || (nout == 2 && !paths[1])) {
        cli_error("out of memory");
        goto done;
    }
    if (nout == 2 && same_path(paths[0], paths[1])) {
        rc = cli_usage("compress", "labels and codebook would both be written to '%s'", paths[0]);
        goto done;
    }
    for (int i = 0; i < nout; i++) {
        if (strcmp(o.input, "-") != 0 && same_path(o.input, paths[i])) {
            rc = cli_usage("compress", "an output file is the input file '%s'", o.input);
            goto done;
        }
        if (!o.force && access(paths[i], F_OK) == 0) { /* fail before the work, not after */
            cli_report(paths[i], KMQ_ERR_EXISTS, NULL);
            goto done;
        }
    }

    if ((s = kmq_image_decode_file(o.input, o.max_pixels, &img, &why, &file_len)) != KMQ_OK) {
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
    if ((s = kmq_palette_sort(&cb, labels, width, height)) != KMQ_OK) {
        cli_report(o.input, s, NULL);
        goto done;
    }
    if (o.png8)
        s = kmq_png8_encode(labels, width, height, &cb, o.level, o.exhaustive, &bufs[0], &lens[0]);
    else
        s = kmq_labels_encode(labels, width, height, cb.k, o.level, o.exhaustive, &bufs[0], &lens[0]);
    if (s != KMQ_OK) {
        cli_report(paths[0], s, NULL);
        goto done;
    }
    if (!o.png8) {
        s = ends_with_ci(paths[1], ".npy") ? kmq_codebook_encode_npy(&cb, &bufs[1], &lens[1])
                                           : kmq_codebook_encode_bin(&cb, &bufs[1], &lens[1]);
        if (s != KMQ_OK) {
            cli_report(paths[1], s, NULL);
            goto done;
        }
    }
    double t_encode = now_seconds();
    output out[2] = {{paths[0], bufs[0], lens[0]}, {paths[1], bufs[1], lens[1]}};
    if ((rc = write_outputs(&o, out, nout)) != EXIT_OK)
        goto done;
    double t_end = now_seconds();

    size_t out_bytes = lens[0] + lens[1];
    double ratio = file_len ? (double)out_bytes / (double)file_len : 0;
    if (o.verbose) {
        char files[1024];
        if (o.png8)
            snprintf(files, sizeof files, "%s: %zu bytes", paths[0], lens[0]);
        else
            snprintf(files, sizeof files, "%s: %zu bytes, %s: %zu bytes, total %zu bytes", paths[0],
                     lens[0], paths[1], lens[1], out_bytes);
        fprintf(stderr,
                "%s: %dx%d %s, %zu bytes, %zu distinct colours\n"
                "  k %d (asked %d), init %s, n_init %d, max_iter %d, tol %g, seed %llu\n"
                "  iterations %d (restart %d won), inertia %.0f\n"
                "  MSE %.4f, PSNR %.3f dB\n"
                "  %s = %.1f%% of the input (level %d%s)\n"
                "  time %.3f s (decode %.3f, colours %.3f, k-means %.3f, labels %.3f, encode %.3f, "
                "write %.3f)\n",
                o.input, width, height, channels_name(channels), file_len, st.distinct, st.k,
                o.params.k, o.params.init == KMQ_INIT_RANDOM ? "random" : "kmeans++",
                o.params.n_init, o.params.max_iter, o.params.tol,
                (unsigned long long)o.params.seed, st.iterations, st.restart, st.inertia, st.mse,
                st.psnr, files, 100.0 * ratio, o.level, o.exhaustive ? ", every filter" : "",
                t_end - t0, t_decode - t0, st.seconds_histogram, st.seconds_kmeans, st.seconds_labels,
                t_encode - t_kmeans, t_end - t_encode);
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
    free(paths[0]), free(paths[1]), free(labels), free(bufs[0]), free(bufs[1]);
    kmq_image_free(&img);
    kmq_codebook_free(&cb);
    return rc;
}
