/* kmq compress: image -> label PNG + codebook. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <unistd.h>

void help_compress(FILE *out)
{
    fputs("Usage: kmq compress [options] INPUT...\n"
          "       kmq compress [options] -r FOLDER...\n"
          "Quantize INPUT (PNG, JPEG or BMP) to K colours by k-means; write a label PNG\n"
          "(greyscale, pixel = colour index) and a codebook (the K colours), or with\n"
          "--format png8 one indexed PNG holding both.\n"
          "\n"
          "  -k, --colors K      number of colours, 2..256 (default 64)\n"
          "      --quality [MIN-]MAX  instead of -k: the smallest k whose PSNR reaches\n"
          "                      MAX dB; if even k = 256 stays below MIN dB, nothing is\n"
          "                      written and the exit status is 99 (pngquant's)\n"
          "      --skip-if-larger  write nothing (exit status 98) when the outputs would\n"
          "                      be larger than the input\n"
          "      --dither        Floyd-Steinberg error diffusion when labelling pixels\n"
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
          "  -o, --output FILE   the png8 file (default: INPUT's folder/stem.png8.png);\n"
          "                      - is standard output, also the default for INPUT -\n"
          "      --ext SUFFIX    png8 names: INPUT's stem + SUFFIX (default .png8.png);\n"
          "                      implies --format png8; --ext .png -f replaces INPUT\n"
          "      --level N       DEFLATE effort 1 (fastest) .. 12 (smallest), default 6;\n"
          "                      png8 is written with zlib, whose top level is 9\n"
          "  -z, --max           smallest files: level 12 and every PNG filter tried\n"
          "      --packed-labels 1, 2 or 4-bit label PNGs when K <= 2, 4 or 16: a little\n"
          "                      smaller, but other PNG readers (PIL, OpenCV, ImageMagick)\n"
          "                      scale such samples to 0..255 instead of reading labels;\n"
          "                      kmq reads them.  Default: 8-bit, the labels as they are\n"
          "      --no-orient     keep the stored pixel order; by default an EXIF\n"
          "                      orientation (phone photos) is applied, as viewers do\n"
          "      --strip         drop the colour profile (iCCP, sRGB, gAMA, cHRM) and\n"
          "                      pixel size (pHYs), which are otherwise carried into\n"
          "                      the png8, or into the label PNG for decompress\n"
          "      --max-pixels N  refuse images of more than N pixels, before decoding\n"
          "                      (default 268435456 = 2^28)\n"
          "  -r, --recursive     FOLDER arguments: every PNG, JPEG and BMP under them\n"
          "                      (kmq's own outputs excluded)\n"
          "      --out-dir DIR   write outputs under DIR, mirroring the tree below each\n"
          "                      FOLDER (files given directly go to DIR itself)\n"
          "      --skip-existing leave inputs whose outputs all exist alone\n"
          "  -j, --jobs N        files compressed at once (default 1); each gets\n"
          "                      cores / N threads unless -t says otherwise\n"
          "      --json          one JSON object per file on standard output\n"
          "  -f, --force         overwrite existing output files\n"
          "  -q, --quiet         print nothing but errors\n"
          "  -v, --verbose, --stats\n"
          "                      print k, distinct colours, iterations, inertia, MSE,\n"
          "                      PSNR, input and output bytes, ratio and time\n"
          "  -h, --help          show this help\n"
          "\n"
          "Images with alpha: every fully transparent pixel becomes one entry (0 in every\n"
          "channel), whatever colour it hid, and the error is what a viewer sees: MSE\n"
          "and PSNR are those of the image composited over black and over white (the\n"
          "mean of the two squared errors, over the colour channels), as kmq compare.\n"
          "\n"
          "With several inputs, a bad file is reported and the others are still done;\n"
          "a summary line follows.  On a terminal a progress line shows meanwhile.\n"
          "A symbolic link as output is followed (its target replaced, the link kept);\n"
          "devices, FIFOs and /dev/stdout are written directly.  Files given by name\n"
          "that are kmq's own outputs (.labels.png, .png8.png, ...) are skipped.\n"
          "Exit status: 0 success, 1 failure of any file (bad input, I/O), 2 usage\n"
          "error, 98 skipped by --skip-if-larger, 99 below the --quality minimum\n"
          "(in a batch: 1 if any file failed, else 99, else 98, else 0).\n",
          out);
}

typedef struct {
    kmq_params params;
    char **inputs;
    int ninputs;
    const char *labels_path, *codebook_path, *output_path, *out_dir;
    const char *ext; /* png8 name suffix (--ext), NULL: .png8.png */
    int png8, level, exhaustive, packed, recursive, skip_existing, jobs, json, dither;
    int strip, no_orient, skip_if_larger;
    double quality;     /* target PSNR in dB (--quality's MAX), 0 = use k */
    double quality_min; /* below this PSNR nothing is written (exit 99); 0 = no floor */
    uint64_t max_pixels;
    int force, quiet, verbose;
    struct stat out_dir_st; /* --out-dir, if it exists: -r does not walk into it */
    int out_dir_exists;
} compress_opts;

static int parse_args(int argc, char **argv, compress_opts *o)
{
    enum {
        OPT_INIT = 256, OPT_NINIT, OPT_MAXITER, OPT_TOL, OPT_SEED, OPT_LABELS, OPT_CODEBOOK,
        OPT_FORMAT, OPT_LEVEL, OPT_MAXPIXELS, OPT_OUTDIR, OPT_SKIP, OPT_JSON, OPT_QUALITY,
        OPT_DITHER, OPT_PACKED, OPT_STRIP, OPT_NO_ORIENT, OPT_SKIP_LARGER, OPT_EXT
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
        {"recursive", no_argument, NULL, 'r'},
        {"out-dir", required_argument, NULL, OPT_OUTDIR},
        {"skip-existing", no_argument, NULL, OPT_SKIP},
        {"jobs", required_argument, NULL, 'j'},
        {"json", no_argument, NULL, OPT_JSON},
        {"quality", required_argument, NULL, OPT_QUALITY},
        {"dither", no_argument, NULL, OPT_DITHER},
        {"packed-labels", no_argument, NULL, OPT_PACKED},
        {"strip", no_argument, NULL, OPT_STRIP},
        {"no-orient", no_argument, NULL, OPT_NO_ORIENT},
        {"skip-if-larger", no_argument, NULL, OPT_SKIP_LARGER},
        {"ext", required_argument, NULL, OPT_EXT},
        {"force", no_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    kmq_params_default(&o->params);
    o->level = KMQ_DEFAULT_LEVEL;
    o->jobs = 1;
    int level_set = 0, k_set = 0, format_set = 0;
    opterr = 0;
    optind = 1;
    int c;
    long v;
    while ((c = getopt_long(argc, argv, ":k:t:o:j:rzfqvh", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (!parse_long(optarg, KMQ_MIN_K, KMQ_MAX_K, &v))
                return cli_usage("compress", "-k/--colors must be an integer from %d to %d, not '%s'",
                                 KMQ_MIN_K, KMQ_MAX_K, optarg);
            o->params.k = (int)v;
            k_set = 1;
            break;
        case OPT_QUALITY:
            if (!parse_quality(optarg, &o->quality_min, &o->quality))
                return cli_usage("compress", "--quality must be MAX or MIN-MAX, PSNRs in dB with "
                                             "0 <= MIN <= MAX <= 200 and MAX > 0, not '%s'", optarg);
            break;
        case OPT_SKIP_LARGER: o->skip_if_larger = 1; break;
        case OPT_EXT:
            if (!*optarg || strchr(optarg, '/'))
                return cli_usage("compress", "--ext must be a non-empty name suffix without '/', not '%s'",
                                 optarg);
            o->ext = optarg;
            break;
        case OPT_DITHER: o->dither = 1; break;
        case OPT_PACKED: o->packed = 1; break;
        case OPT_STRIP: o->strip = 1; break;
        case OPT_NO_ORIENT: o->no_orient = 1; break;
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
            format_set = 1;
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
        case 'r': o->recursive = 1; break;
        case OPT_OUTDIR: o->out_dir = optarg; break;
        case OPT_SKIP: o->skip_existing = 1; break;
        case OPT_JSON: o->json = 1; break;
        case 'j':
            if (!parse_long(optarg, 1, 256, &v))
                return cli_usage("compress", "-j/--jobs must be an integer from 1 to 256, not '%s'", optarg);
            o->jobs = (int)v;
            break;
        case OPT_LABELS: o->labels_path = optarg; break;
        case OPT_CODEBOOK: o->codebook_path = optarg; break;
        case 'f': o->force = 1; break;
        case 'q': o->quiet = 1, o->verbose = 0; break;
        case 'v': o->verbose = 1, o->quiet = 0; break;
        case 'h': help_compress(stdout); return -1;
        default: return cli_bad_option("compress", c, argc, argv);
        }
    }
    if (optind >= argc)
        return cli_usage("compress", o->recursive ? "missing FOLDER" : "missing INPUT image");
    o->inputs = argv + optind;
    o->ninputs = argc - optind;
    const int batch = o->ninputs > 1 || o->recursive;
    if (batch && (o->labels_path || o->codebook_path || o->output_path))
        return cli_usage("compress", "--labels, --codebook and -o name one file's outputs; with "
                                     "several inputs use --out-dir");
    if (o->quality > 0 && k_set)
        return cli_usage("compress", "-k and --quality both choose k; give one");
    if (o->skip_existing && o->force)
        return cli_usage("compress", "--skip-existing and -f contradict each other");
    if (o->out_dir && !*o->out_dir)
        return cli_usage("compress", "empty --out-dir");
    const char *input = o->inputs[0];
    if (o->ext) {
        if (format_set && !o->png8)
            return cli_usage("compress", "--ext names png8 files; it does not go with --format labels");
        o->png8 = 1;
        if (o->output_path)
            return cli_usage("compress", "-o and --ext both name the png8; give one");
    }
    /* pngquant's habit: `kmq compress - < in.png > out.png` */
    if (!strcmp(input, "-") && o->ext)
        return cli_usage("compress", "--ext names outputs after their input, and standard input "
                                     "has no name: use -o");
    if (!strcmp(input, "-") && (!format_set || o->png8) && !o->labels_path && !o->codebook_path &&
        !o->output_path)
        o->png8 = 1, o->output_path = "-";
    if ((o->labels_path && !strcmp(o->labels_path, "-")) ||
        (o->codebook_path && !strcmp(o->codebook_path, "-")))
        return cli_usage("compress", "the label PNG and the codebook are two files and standard "
                                     "output is one stream: name both files, or write one palette "
                                     "PNG with --format png8 -o -");
    const char *named[3] = {o->output_path, o->labels_path, o->codebook_path};
    for (int i = 0; i < 3; i++) {
        if (!named[i])
            continue;
        if (o->json && cli_is_stdout(named[i]))
            return cli_usage("compress", "--json and the output '%s' would both write to standard "
                                         "output", named[i]);
        if (cli_refuse_tty_output("compress", named[i]))
            return EXIT_USAGE;
    }
    if (o->exhaustive) {
        if (level_set && o->level != KMQ_MAX_LEVEL)
            return cli_usage("compress", "-z/--max means --level %d; give one or the other",
                             KMQ_MAX_LEVEL);
        o->level = KMQ_MAX_LEVEL;
    }
    if (o->png8 && (o->labels_path || o->codebook_path))
        return cli_usage("compress", "--format png8 writes one file: use -o, not --labels/--codebook");
    if (o->png8 && o->packed)
        return cli_usage("compress", "--packed-labels is for label PNGs; a png8 packs its palette "
                                     "indices already (every reader reads those)");
    if (!o->png8 && o->output_path)
        return cli_usage("compress", "-o/--output is for --format png8; use --labels and --codebook");
    for (int i = 0; i < o->ninputs; i++)
        if (!strcmp(o->inputs[i], "-") && (batch || o->out_dir))
            return cli_usage("compress", "standard input ('-') is for one image with named outputs");
    if (!strcmp(input, "-") && !o->png8 && (!o->labels_path || !o->codebook_path))
        return cli_usage("compress", "reading standard input ('-') needs --labels and --codebook");
    if (!strcmp(input, "-") && o->png8 && !o->output_path)
        return cli_usage("compress", "reading standard input ('-') needs -o/--output");
    if (!*input || (o->labels_path && !*o->labels_path) ||
        (o->codebook_path && !*o->codebook_path) || (o->output_path && !*o->output_path))
        return cli_usage("compress", "empty file name");
    return 0;
}

typedef struct {
    const char *path;
    const uint8_t *data;
    size_t len;
} output;

/* Writes every output to a temporary file, then commits them together
   (kmq_outfile_commit_all): with -f the old pair survives intact or the new
   pair is complete, also on SIGINT/SIGTERM/SIGHUP and on write errors. */
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
    if ((s = kmq_outfile_commit_all(f, n, &i)) != KMQ_OK) {
        cli_report_out(out[i < 0 ? 0 : i].path, s, NULL);
        return EXIT_FAIL;
    }
    return EXIT_OK;
fail:
    cli_report_out(out[i].path, s, NULL);
    for (int j = 0; j < n; j++)
        kmq_outfile_abort(f[j]);
    return EXIT_FAIL;
}

/* What one file came to, for the batch summary (sent up a pipe by -j). */
typedef struct {
    int index;
    int status; /* EXIT_OK, EXIT_FAIL, EXIT_USAGE or one of the skips below */
    uint64_t bytes_in, bytes_out;
    int stdout_errno; /* a -j worker's failure to write its JSON line */
} file_result;
enum {
    SKIPPED = 3,                  /* --skip-existing, or one of kmq's own outputs */
    EXIT_LARGER = 98,             /* --skip-if-larger: the outputs would be larger */
    EXIT_QUALITY = 99             /* below the --quality minimum */
};

/* mkdir -p of the folder part of path. */
static int make_parents(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return -1;
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *q = '/';
    }
    free(p);
    return 0;
}

static void json_result(const compress_opts *o, const char *input, char *const *paths,
                        const kmq_image *img, size_t file_len, size_t out_bytes,
                        const kmq_stats *st, int reached, double seconds)
{
    fputs("{\"input\": ", stdout);
    json_string(stdout, input);
    fputs(", \"status\": \"ok\", ", stdout);
    if (o->png8) {
        fputs("\"png8\": ", stdout);
        json_string(stdout, paths[0]);
    } else {
        fputs("\"labels\": ", stdout);
        json_string(stdout, paths[0]);
        fputs(", \"codebook\": ", stdout);
        json_string(stdout, paths[1]);
    }
    printf(", \"width\": %d, \"height\": %d, \"channels\": %d, \"bytes_in\": %zu, "
           "\"bytes_out\": %zu, \"ratio\": %.6f, \"k\": %d, \"distinct\": %zu, "
           "\"iterations\": %d, \"inertia\": %.0f, \"mse\": %.6f, \"psnr\": ",
           img->width, img->height, img->channels, file_len, out_bytes,
           file_len ? (double)out_bytes / (double)file_len : 0.0, st->k, st->distinct,
           st->iterations, st->inertia, st->mse);
    json_psnr(stdout, st->psnr);
    if (img->channels == 2 || img->channels == 4) {
        fputs(", \"psnr_black\": ", stdout);
        json_psnr(stdout, st->psnr_black);
        fputs(", \"psnr_white\": ", stdout);
        json_psnr(stdout, st->psnr_white);
    }
    if (o->quality > 0)
        printf(", \"quality_min\": %g, \"quality_max\": %g, \"quality_reached\": %s", o->quality_min,
               o->quality, reached ? "true" : "false");
    printf(", \"seconds\": %.4f}\n", seconds);
    cli_flush_stdout();
}

/* A file left alone, and why; st (if not NULL) is the result that was not
   written. */
static void json_skipped(const char *input, const char *reason, const kmq_stats *st,
                         double quality)
{
    fputs("{\"input\": ", stdout);
    json_string(stdout, input);
    fputs(", \"status\": \"skipped\", \"reason\": ", stdout);
    json_string(stdout, reason);
    if (st) {
        printf(", \"k\": %d, \"mse\": %.6f, \"psnr\": ", st->k, st->mse);
        json_psnr(stdout, st->psnr);
        if (quality > 0)
            printf(", \"quality_reached\": %s", st->psnr >= quality ? "true" : "false");
    }
    fputs("}\n", stdout);
    cli_flush_stdout();
}

static void json_failure(const char *input, const char *message)
{
    fputs("{\"input\": ", stdout);
    json_string(stdout, input);
    fputs(", \"status\": \"error\", \"error\": ", stdout);
    json_string(stdout, message);
    fputs("}\n", stdout);
    cli_flush_stdout();
}

/* "iCCP gAMA pHYs carried, EXIF orientation 6 applied" for -v. */
static const char *describe_metadata(const compress_opts *o, const kmq_metadata *m, char *buf,
                                     size_t size)
{
    if (o->strip)
        return "stripped (--strip)";
    size_t n = 0;
    buf[0] = 0;
    for (size_t at = 0; at + 12 <= m->chunks_len && n + 6 < size;) {
        const uint8_t *c = m->chunks + at;
        n += (size_t)snprintf(buf + n, size - n, "%.4s ", (const char *)c + 4);
        at += 12 + ((size_t)c[0] << 24 | (size_t)c[1] << 16 | (size_t)c[2] << 8 | c[3]);
    }
    snprintf(buf + n, size - n, "%s", n ? "carried" : "no colour profile or pixel size");
    if (m->orientation > 1) {
        n = strlen(buf);
        snprintf(buf + n, size - n, ", EXIF orientation %d %s", m->orientation,
                 m->oriented ? "applied" : "not applied (--no-orient)");
    }
    return buf;
}

/* --skip-existing: 1 if the label PNG at `labels` names the codebook at
   `codebook` (or names none: written by kmq 0.1.0 or another tool). */
static int is_a_pair(const char *labels, const char *codebook)
{
    uint8_t head[4096], *cbuf = NULL;
    size_t clen = 0;
    FILE *f = fopen(labels, "rb");
    if (!f)
        return 0;
    size_t got = fread(head, 1, sizeof head, f); /* kmCb is in the first 64 bytes */
    fclose(f);
    kmq_binding b;
    if (kmq_labels_read_binding(head, got, &b) != KMQ_OK)
        return 0;
    if (!b.present)
        return 1;
    kmq_codebook cb = {0};
    int pair = kmq_read_file(codebook, KMQ_MAX_CODEBOOK_FILE, &cbuf, &clen) == KMQ_OK &&
               cli_decode_codebook(codebook, cbuf, clen, &cb) == KMQ_OK &&
               kmq_binding_matches(&b, &cb);
    free(cbuf);
    kmq_codebook_free(&cb);
    return pair;
}

/* Compresses one input to paths[0] (and paths[1]).  Usage errors return
   EXIT_USAGE; everything else is reported here. */
static int compress_one(const compress_opts *o, const char *input, char *const *paths, int nout,
                        file_result *res)
{
    int rc = EXIT_FAIL;
    uint8_t *labels = NULL, *bufs[2] = {NULL, NULL};
    size_t file_len = 0, lens[2] = {0, 0};
    kmq_image img = {0};
    kmq_codebook cb = {0};
    kmq_metadata meta = {0};
    kmq_status s;
    const char *why = NULL, *failed = input;
    const char *name = strcmp(input, "-") ? input : "standard input"; /* for messages */
    double t0 = now_seconds();

    struct stat node;
    if (nout == 2 && same_path(paths[0], paths[1]) &&
        !(stat(paths[0], &node) == 0 && !S_ISREG(node.st_mode))) { /* /dev/null twice is fine */
        rc = cli_usage("compress", "labels and codebook would both be written to '%s'", paths[0]);
        goto done;
    }
    for (int i = 0; i < nout; i++) /* --ext .png -f replaces the input, on purpose */
        if (strcmp(input, "-") != 0 && same_path(input, paths[i]) && !(o->ext && o->force)) {
            rc = o->ext ? (cli_report(input, KMQ_ERR_EXISTS, NULL), EXIT_FAIL)
                        : cli_usage("compress", "an output file is the input file '%s'", input);
            goto done;
        }
    compress_opts own = *o; /* --skip-existing redoes a half-done file over what is left */
    if (o->skip_existing) {
        int all = 1;
        for (int i = 0; i < nout; i++)
            all &= kmq_output_exists(paths[i]);
        if (all && nout == 2 && !is_a_pair(paths[0], paths[1])) {
            all = 0; /* left by an interrupted run, or two runs at once: redo it */
            if (!o->quiet)
                cli_error("%s: %s and %s are not a pair: compressing again", name, paths[0],
                          paths[1]);
        }
        if (all) {
            if (o->json)
                json_skipped(input, "the outputs exist (--skip-existing)", NULL, 0);
            rc = SKIPPED;
            goto done;
        }
        own.force = 1;
        o = &own;
    }
    const kmq_decode_options dopt = {o->max_pixels, o->no_orient};
    if ((s = kmq_image_decode_file_ex(input, &dopt, &img, o->strip ? NULL : &meta, &why,
                                      &file_len)) != KMQ_OK)
        goto fail;
    /* A bad input is named as such; existing outputs are refused before the
       k-means, not after it. */
    for (int i = 0; i < nout; i++)
        if (!o->force && kmq_output_exists(paths[i])) {
            s = KMQ_ERR_EXISTS, failed = paths[i];
            goto fail;
        }
    if (meta.warning && !o->quiet)
        cli_error("%s: warning: %s", name, meta.warning);
    res->bytes_in = file_len;
    double t_decode = now_seconds();
    size_t npixels = (size_t)img.width * (size_t)img.height;
    if (!(labels = malloc(npixels))) {
        s = KMQ_ERR_NOMEM;
        goto fail;
    }
    kmq_stats st;
    kmq_params params = o->params;
    params.progress = progress_kmeans;
    params.progress_ctx = (void *)input;
    int reached = 1;
    s = o->quality > 0 ? kmq_quantize_quality(img.pixels, npixels, img.channels, &params, o->quality,
                                              &cb, labels, &st, &reached)
                       : kmq_quantize(img.pixels, npixels, img.channels, &params, &cb, labels, &st);
    progress_clear();
    if (s != KMQ_OK)
        goto fail;
    if (o->dither &&
        (s = kmq_dither(img.pixels, img.width, img.height, img.channels, &cb, labels, &st)) != KMQ_OK)
        goto fail;
    if (o->quality > 0) {
        /* Judged on what is written: dithering lowers the PSNR k was chosen by. */
        reached = st.psnr >= o->quality;
        if (st.psnr < o->quality_min) {
            progress_clear();
            cli_error("%s: quality too low: k=%d gives %.2f dB, below the --quality minimum of "
                      "%g dB; nothing written", name, st.k, st.psnr, o->quality_min);
            if (o->json)
                json_skipped(input, "quality below the --quality minimum", &st, o->quality);
            rc = EXIT_QUALITY;
            res->bytes_in = 0;
            goto done;
        }
        /* Said even with -q: the file is not what --quality asked for. */
        if (!reached)
            cli_error("%s: warning: %g dB is out of reach%s: k=%d gives %.2f dB", name,
                      o->quality, o->dither ? " with --dither" : "", st.k, st.psnr);
    }
    double t_kmeans = now_seconds();
    const int width = img.width, height = img.height, channels = img.channels;
    kmq_image geometry = {width, height, channels, NULL};
    kmq_image_free(&img); /* only the labels are needed now: lower peak memory */
    if ((s = kmq_palette_sort(&cb, labels, width, height)) != KMQ_OK)
        goto fail;
    failed = paths[0];
    const kmq_png_options png = {o->level, o->exhaustive, params.threads, o->packed};
    if (o->png8)
        s = kmq_png8_encode(labels, width, height, &cb, &png, &bufs[0], &lens[0]);
    else
        s = kmq_labels_encode(labels, width, height, cb.k, &png, &bufs[0], &lens[0]);
    if (s != KMQ_OK)
        goto fail;
    /* The colour space and pixel size travel along; a label PNG also names
       its codebook, so that a pair from two runs is never taken for one. */
    if (meta.chunks_len || !o->png8) {
        uint8_t *with;
        size_t with_len;
        const char *warning = NULL;
        s = o->png8 ? kmq_png_add_metadata(bufs[0], lens[0], &meta, &with, &with_len, &warning)
                    : kmq_labels_add_metadata(bufs[0], lens[0], &meta, &cb, &with, &with_len);
        if (s != KMQ_OK)
            goto fail;
        if (warning && !o->quiet)
            cli_error("%s: warning: %s", name, warning);
        free(bufs[0]);
        bufs[0] = with, lens[0] = with_len;
    }
    if (!o->png8) {
        failed = paths[1];
        s = ends_with_ci(paths[1], ".npy") ? kmq_codebook_encode_npy(&cb, &bufs[1], &lens[1])
                                           : kmq_codebook_encode_bin(&cb, &bufs[1], &lens[1]);
        if (s != KMQ_OK)
            goto fail;
    }
    double t_encode = now_seconds();
    if (o->skip_if_larger && lens[0] + lens[1] > file_len) {
        if (!o->quiet)
            cli_error("%s: skipped: the output%s (%zu bytes) would be larger than the input "
                      "(%zu bytes)", name, o->png8 ? "" : "s", lens[0] + lens[1], file_len);
        if (o->json)
            json_skipped(input, "larger than the input (--skip-if-larger)", &st, o->quality);
        rc = EXIT_LARGER;
        res->bytes_in = 0; /* nothing written, nothing counted */
        goto done;
    }
    for (int i = 0; o->out_dir && i < nout; i++)
        if (make_parents(paths[i]) != 0) {
            s = KMQ_ERR_IO, failed = paths[i];
            goto fail;
        }
    output out[2] = {{paths[0], bufs[0], lens[0]}, {paths[1], bufs[1], lens[1]}};
    if (write_outputs(o, out, nout) != EXIT_OK) {
        if (o->json)
            json_failure(input, "could not write the outputs");
        goto done;
    }
    double t_end = now_seconds();

    size_t out_bytes = lens[0] + lens[1];
    res->bytes_out = out_bytes;
    double ratio = file_len ? (double)out_bytes / (double)file_len : 0;
    if (o->json)
        json_result(o, input, paths, &geometry, file_len, out_bytes, &st, reached, t_end - t0);
    if (o->verbose) {
        char files[1024];
        if (o->png8)
            snprintf(files, sizeof files, "%s: %zu bytes",
                     strcmp(paths[0], "-") ? paths[0] : "standard output", lens[0]);
        else
            snprintf(files, sizeof files, "%s: %zu bytes, %s: %zu bytes, total %zu bytes", paths[0],
                     lens[0], paths[1], lens[1], out_bytes);
        char over[96] = "", mdesc[160];
        if (channels == 2 || channels == 4)
            snprintf(over, sizeof over, " (composited over black %.3f dB, over white %.3f dB)",
                     st.psnr_black, st.psnr_white);
        fprintf(stderr,
                "%s: %dx%d %s, %zu bytes, %zu distinct colours\n"
                "  k %d (%s %d), init %s, n_init %d, max_iter %d, tol %g, seed %llu\n"
                "  iterations %d (restart %d won), inertia %.0f\n"
                "  MSE %.4f, PSNR %.3f dB%s\n"
                "  %s = %.1f%% of the input (level %d%s)\n"
                "  time %.3f s (decode %.3f, colours %.3f, k-means %.3f, labels %.3f, encode %.3f, "
                "write %.3f)\n"
                "  metadata: %s\n",
                name, width, height, channels_name(channels), file_len, st.distinct, st.k,
                o->quality > 0 ? "chosen for --quality, dB" : "asked",
                o->quality > 0 ? (int)o->quality : o->params.k, o->params.init == KMQ_INIT_RANDOM ? "random" : "kmeans++",
                o->params.n_init, o->params.max_iter, o->params.tol,
                (unsigned long long)o->params.seed, st.iterations, st.restart, st.inertia, st.mse,
                st.psnr, over, files, 100.0 * ratio, o->level, o->exhaustive ? ", every filter" : "",
                t_end - t0, t_decode - t0, st.seconds_histogram, st.seconds_kmeans, st.seconds_labels,
                t_encode - t_kmeans, t_end - t_encode, describe_metadata(o, &meta, mdesc, sizeof mdesc));
    } else if (!o->quiet) {
        char quality[32];
        if (isinf(st.psnr))
            snprintf(quality, sizeof quality, "lossless");
        else
            snprintf(quality, sizeof quality, "PSNR %.2f dB", st.psnr);
        progress_clear();
        cli_line("%s: k=%d%s, %zu -> %zu bytes (%.1f%%), %s, %.2f s", name, st.k,
                o->quality > 0 ? " (chosen for --quality)" : "", file_len, out_bytes, 100.0 * ratio,
                quality, t_end - t0);
    }
    rc = EXIT_OK;
    goto done;
fail:
    progress_clear();
    cli_report(failed, s, why);
    if (o->json) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", s == KMQ_ERR_IO ? strerror(errno) : why ? why : kmq_strerror(s));
        json_failure(input, msg);
    }
done:
    free(labels), free(bufs[0]), free(bufs[1]);
    kmq_metadata_free(&meta);
    kmq_image_free(&img);
    kmq_codebook_free(&cb);
    return rc;
}

/* ---- the files of a batch ---- */

typedef struct {
    char *path; /* the input */
    char *rel;  /* where its outputs go below --out-dir */
} input_file;

typedef struct {
    input_file *v;
    size_t n, cap;
} file_list;

static int add_file(file_list *l, const char *path, const char *rel)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        input_file *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v, l->cap = cap;
    }
    l->v[l->n].path = strdup(path);
    l->v[l->n].rel = strdup(rel);
    if (!l->v[l->n].path || !l->v[l->n].rel)
        return -1;
    l->n++;
    return 0;
}

/* The suffix of kmq's own outputs that name ends with, or NULL.  --ext's
   suffix counts too, unless it is a plain extension (--ext .png converts in
   place, and then every PNG would look like an output). */
static const char *own_output(const compress_opts *o, const char *name)
{
    static const char *const own[] = {".labels.png", ".png8.png", ".decompressed.png", ".swatch.png"};
    for (size_t i = 0; i < sizeof own / sizeof *own; i++)
        if (ends_with_ci(name, own[i]))
            return own[i];
    if (o->ext && strchr(o->ext + 1, '.') && ends_with_ci(name, o->ext))
        return o->ext;
    return NULL;
}

static void free_files(file_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].path), free(l->v[i].rel);
    free(l->v);
}

static int is_image_name(const compress_opts *o, const char *name)
{
    return !own_output(o, name) && (ends_with_ci(name, ".png") || ends_with_ci(name, ".jpg") ||
                                    ends_with_ci(name, ".jpeg") || ends_with_ci(name, ".bmp"));
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every image file under dir (symbolic links to folders are not followed),
   in name order; rel is the path below the FOLDER argument. */
static int walk(const compress_opts *o, file_list *l, const char *dir, const char *rel)
{
    DIR *d = opendir(dir);
    if (!d) {
        cli_error("%s: %s", dir, strerror(errno));
        return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue; /* hidden files, and kmq's temporary files */
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (n) /* qsort of no names: NULL is not a valid array */
        qsort(names, n, sizeof *names, cmp_names);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        size_t pl = strlen(dir) + strlen(names[i]) + 2, rl = strlen(rel) + strlen(names[i]) + 2;
        char *path = malloc(pl), *sub = malloc(rl);
        if (path && sub) {
            snprintf(path, pl, "%s/%s", dir, names[i]);
            snprintf(sub, rl, "%s%s%s", rel, *rel ? "/" : "", names[i]);
            struct stat lst, st;
            int have = lstat(path, &lst) == 0;
            int target = stat(path, &st) == 0; /* follows a link to a file */
            if (have && S_ISDIR(lst.st_mode)) {
                if (!(o->out_dir_exists && lst.st_dev == o->out_dir_st.st_dev &&
                      lst.st_ino == o->out_dir_st.st_ino)) /* last run's outputs */
                    rc |= walk(o, l, path, sub);
            }
            else if (target && S_ISREG(st.st_mode) && is_image_name(o, names[i]))
                rc |= add_file(l, path, sub) != 0;
            else if (have && S_ISLNK(lst.st_mode) && !target && is_image_name(o, names[i]) &&
                     !o->quiet)
                cli_error("%s: skipped: a symbolic link to nothing", path);
        }
        free(path), free(sub), free(names[i]);
    }
    free(names);
    return rc;
}

/* paths[] for one input: named by options, or derived (below --out-dir). */
static int output_paths(const compress_opts *o, const input_file *f, char **paths)
{
    char *base = NULL;
    if (o->out_dir) {
        const char *rel = f->rel;
        size_t len = strlen(o->out_dir) + strlen(rel) + 2;
        if (!(base = malloc(len)))
            return -1;
        snprintf(base, len, "%s/%s", o->out_dir, rel);
    }
    const char *from = base ? base : f->path;
    if (o->png8) {
        paths[0] = o->output_path ? strdup(o->output_path)
                                  : derive_path(from, NULL, o->ext ? o->ext : ".png8.png");
        paths[1] = NULL;
    } else {
        paths[0] = o->labels_path ? strdup(o->labels_path) : derive_path(from, NULL, ".labels.png");
        paths[1] = o->codebook_path ? strdup(o->codebook_path) : derive_path(from, NULL, ".codebook.bin");
    }
    free(base);
    return paths[0] && (o->png8 || paths[1]) ? 0 : -1;
}

static int run_file(const compress_opts *o, const input_file *f, int index, file_result *r)
{
    char *paths[2] = {NULL, NULL};
    memset(r, 0, sizeof *r);
    r->index = index;
    if (output_paths(o, f, paths) != 0) {
        cli_error("out of memory");
        r->status = EXIT_FAIL;
    } else {
        r->status = compress_one(o, f->path, paths, o->png8 ? 1 : 2, r);
    }
    free(paths[0]), free(paths[1]);
    return r->status;
}

typedef struct {
    char *key;
    const char *name; /* the path as the user will read it */
    size_t file;      /* index in the file list */
    int output;       /* 0: the input itself */
} path_entry;

static int cmp_entries(const void *a, const void *b)
{
    const path_entry *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : x->file < y->file ? -1 : x->file > y->file;
}

/* Before any work: two inputs that would write the same file, or one that
   would write over another's input, are a usage error naming both. */
static int check_clashes(const compress_opts *o, const file_list *files)
{
    const int nout = o->png8 ? 1 : 2;
    size_t n = 0, cap = files->n * (size_t)(nout + 1);
    path_entry *e = calloc(cap ? cap : 1, sizeof *e);
    char **names = calloc(cap ? cap : 1, sizeof *names);
    int rc = 0;
    if (!e || !names) {
        cli_error("out of memory");
        rc = EXIT_FAIL;
        goto done;
    }
    for (size_t i = 0; i < files->n; i++) {
        char *paths[2] = {NULL, NULL};
        if (output_paths(o, &files->v[i], paths) != 0) {
            free(paths[0]), free(paths[1]);
            cli_error("out of memory");
            rc = EXIT_FAIL;
            goto done;
        }
        for (int j = 0; j <= nout; j++) {
            const char *name = j ? paths[j - 1] : files->v[i].path;
            if (!strcmp(name, "-")) {
                free(j ? paths[j - 1] : NULL);
                continue;
            }
            names[n] = j ? paths[j - 1] : NULL;
            e[n] = (path_entry){path_key(name), j ? paths[j - 1] : files->v[i].path, i, j};
            if (!e[n++].key) {
                cli_error("out of memory");
                rc = EXIT_FAIL;
                goto done;
            }
        }
    }
    qsort(e, n, sizeof *e, cmp_entries);
    /* Two passes: a file given twice is the plainest way to say it. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 1; i < n && !rc; i++) {
            const path_entry *a = &e[i - 1], *b = &e[i];
            if (strcmp(a->key, b->key) || a->file == b->file || (!pass && (a->output || b->output)))
                continue;
            const char *in_a = files->v[a->file].path, *in_b = files->v[b->file].path;
            if (!a->output && !b->output)
                rc = strcmp(in_a, in_b)
                         ? cli_usage("compress", "'%s' and '%s' are the same file", in_a, in_b)
                         : cli_usage("compress", "'%s' is given twice", in_a);
            else if (a->output && b->output)
                rc = cli_usage("compress", "'%s' and '%s' would both write '%s'", in_a, in_b, a->name);
            else
                rc = cli_usage("compress", "'%s' would write over the input '%s'",
                               a->output ? in_a : in_b, a->output ? b->name : a->name);
        }
    }
done:
    for (size_t i = 0; e && i < n; i++)
        free(e[i].key), free(names[i]);
    free(e), free(names);
    return rc;
}

/* What the files of a run came to. */
typedef struct {
    size_t ok, failed, skipped, larger, low;
    uint64_t bytes_in, bytes_out;
    int usage;
} tally;

static void count(tally *t, const file_result *fr)
{
    t->ok += fr->status == EXIT_OK;
    t->failed += fr->status == EXIT_FAIL || fr->status == EXIT_USAGE;
    t->usage |= fr->status == EXIT_USAGE;
    t->skipped += fr->status == SKIPPED || fr->status == EXIT_LARGER || fr->status == EXIT_QUALITY;
    t->larger += fr->status == EXIT_LARGER, t->low += fr->status == EXIT_QUALITY;
    t->bytes_in += fr->bytes_in, t->bytes_out += fr->bytes_out;
}

/* -j: one child process per file, at most o->jobs at once; each file is
   computed exactly as with -j 1, so the outputs are identical.  Each child
   has its own pipe, whose write end only it holds: a child that dies without
   reporting (killed, out of memory, SIGPIPE) reads as end of file, never as
   a hang.  Children die with the parent (PR_SET_PDEATHSIG), removing their
   temporary files.  Returns -1 if no child could be started at all. */
static int run_jobs(const compress_opts *o, const file_list *files, tally *t)
{
    typedef struct {
        pid_t pid;
        int fd;
        size_t file;
    } job;
    job *jobs = calloc((size_t)o->jobs, sizeof *jobs);
    if (!jobs) {
        cli_error("out of memory");
        return -1;
    }
    const pid_t parent = getpid();
    fflush(stdout), fflush(stderr);
    size_t next = 0, running = 0, done = 0;
    int epipe = 0;
    while (done < files->n) {
        while (running < (size_t)o->jobs && next < files->n && !cli_stdout_failed() && !epipe) {
            int fds[2];
            if (pipe(fds) != 0) {
                cli_error("pipe: %s", strerror(errno));
                break;
            }
            pid_t pid = fork();
            if (pid == 0) {
                close(fds[0]);
#ifdef __linux__
                prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (getppid() != parent) /* it died before prctl */
                    _exit(EXIT_FAIL);
#endif
                progress_enable(0);
                file_result fr;
                run_file(o, &files->v[next], (int)next, &fr);
                cli_flush_stdout(), fflush(stderr);
                fr.stdout_errno = cli_stdout_failed();
                ssize_t w = write(fds[1], &fr, sizeof fr); /* < PIPE_BUF: atomic */
                _exit(w == (ssize_t)sizeof fr ? 0 : 1);
            }
            close(fds[1]);
            if (pid < 0) {
                cli_error("fork: %s", strerror(errno));
                close(fds[0]);
                break;
            }
            for (int j = 0; j < o->jobs; j++)
                if (!jobs[j].pid) {
                    jobs[j] = (job){pid, fds[0], next};
                    break;
                }
            running++, next++;
        }
        if (!running)
            break;
        int st;
        pid_t pid = wait(&st);
        if (pid < 0)
            break;
        int slot = -1;
        for (int j = 0; j < o->jobs; j++)
            if (jobs[j].pid == pid)
                slot = j;
        if (slot < 0)
            continue;
        file_result fr;
        ssize_t r;
        while ((r = read(jobs[slot].fd, &fr, sizeof fr)) < 0 && errno == EINTR)
            ;
        if (r != (ssize_t)sizeof fr) { /* died without a word: killed, out of memory */
            fr = (file_result){.status = EXIT_FAIL};
            const char *input = files->v[jobs[slot].file].path;
            char why[96];
            if (WIFSIGNALED(st))
                snprintf(why, sizeof why, "the process compressing it died (signal %d)",
                         WTERMSIG(st));
            else
                snprintf(why, sizeof why, "the process compressing it ended without a result");
            if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE)) {
                progress_clear();
                cli_error("%s: %s", input, why);
                if (o->json)
                    json_failure(input, why);
            }
        }
        close(jobs[slot].fd);
        jobs[slot].pid = 0;
        running--, done++;
        if (WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE)
            epipe = 1; /* its JSON line met a closed pipe: so will the others' */
        if (fr.stdout_errno)
            cli_stdout_error(fr.stdout_errno);
        count(t, &fr);
        progress_files(done, files->n, t->failed);
    }
    if (epipe)
        cli_stdout_error(EPIPE);
    t->failed += files->n - done; /* not started: standard output failed, or fork did */
    free(jobs);
    return 0;
}

int cmd_compress(int argc, char **argv)
{
    compress_opts o;
    memset(&o, 0, sizeof o);
    int r = parse_args(argc, argv, &o);
    if (r)
        return r < 0 ? EXIT_OK : r;
    const int batch = o.ninputs > 1 || o.recursive;
    double t0 = now_seconds();

    o.out_dir_exists = o.out_dir && stat(o.out_dir, &o.out_dir_st) == 0;
    file_list files = {0};
    int list_failed = 0;
    size_t skipped = 0;
    const int named = o.labels_path || o.codebook_path || o.output_path;
    for (int i = 0; i < o.ninputs; i++) {
        const char *in = o.inputs[i];
        struct stat st;
        /* a missing file is reported as missing, whatever its name */
        const char *own = named || access(in, F_OK) != 0 ? NULL : own_output(&o, in);
        if (o.recursive && stat(in, &st) == 0 && S_ISDIR(st.st_mode)) {
            list_failed |= walk(&o, &files, in, "");
        } else if (own) { /* `kmq compress *.png` run twice */
            if (!o.quiet)
                cli_error("%s: skipped: a kmq output (%s); to compress it anyway, name its "
                          "outputs or rename it", in, own);
            if (o.json)
                json_skipped(in, "a kmq output", NULL, 0);
            skipped++;
        } else {
            const char *slash = strrchr(in, '/');
            if (add_file(&files, in, slash ? slash + 1 : in) != 0) {
                cli_error("out of memory");
                list_failed = 1;
                break;
            }
        }
    }
    /* Threads: the cores shared out between the files done at once. */
    const long cores = sysconf(_SC_NPROCESSORS_ONLN) > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
    if (!o.params.threads && o.jobs > 1)
        o.params.threads = cores / o.jobs > 1 ? (int)(cores / o.jobs) : 1;

    int clash = list_failed ? 0 : check_clashes(&o, &files);
    if (clash) {
        free_files(&files);
        return clash;
    }

    tally t = {.skipped = skipped};
    progress_enable(!o.quiet);
    if (o.jobs <= 1 || files.n <= 1) {
        for (size_t i = 0; i < files.n && !cli_stdout_failed(); i++) {
            file_result fr;
            progress_files(i, files.n, t.failed);
            run_file(&o, &files.v[i], (int)i, &fr);
            if (fr.status == EXIT_USAGE) {
                t.usage = 1;
                break;
            }
            count(&t, &fr);
        }
    } else if (run_jobs(&o, &files, &t) != 0) {
        free_files(&files);
        return EXIT_FAIL;
    }
    progress_clear();
    if (batch && !o.quiet) {
        const size_t n = t.ok + t.failed + t.skipped;
        fprintf(stderr, "kmq: %zu file%s: %zu compressed, %zu skipped", n, n == 1 ? "" : "s", t.ok,
                t.skipped);
        if (t.larger || t.low)
            fprintf(stderr, " (%zu larger than the input, %zu below the --quality minimum)",
                    t.larger, t.low);
        fprintf(stderr, ", %zu failed; %llu -> %llu bytes", t.failed,
                (unsigned long long)t.bytes_in, (unsigned long long)t.bytes_out);
        if (t.bytes_in)
            fprintf(stderr, " (%.1f%%)", 100.0 * (double)t.bytes_out / (double)t.bytes_in);
        fprintf(stderr, ", %.2f s\n", now_seconds() - t0);
    }
    free_files(&files);
    if (t.usage && !batch)
        return EXIT_USAGE;
    /* The most serious outcome of any file decides (documented in --help). */
    return t.failed || list_failed || t.usage ? EXIT_FAIL
           : t.low                            ? EXIT_QUALITY
           : t.larger                         ? EXIT_LARGER
                                              : EXIT_OK;
}
