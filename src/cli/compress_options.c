/* kmq compress: its help and its options.  One getopt_long table fills a
   compress_opts; every check that needs only the command line is made
   here, before any file is touched. */
#define _POSIX_C_SOURCE 200809L
#include "compress.h"

#include <getopt.h>
#include <string.h>

void help_compress(FILE *out)
{
    fputs("Usage: kmq compress [options] INPUT...\n"
          "       kmq compress [options] -r FOLDER...\n"
          "Quantize INPUT (PNG, JPEG, BMP, TIFF, WebP, PNM or GIF) to K colours by\n"
          "k-means; write a label PNG (greyscale, pixel = colour index) and a codebook\n"
          "(the K colours), or with --format png8 one indexed PNG holding both.\n"
          "\n"
          "  -k, --colors K      number of colours, 2..256 (default 64)\n"
          "      --quality [MIN-]MAX  instead of -k: the smallest k whose PSNR reaches\n"
          "                      MAX dB; if even k = 256 stays below MIN dB, nothing is\n"
          "                      written and the exit status is 99 (pngquant's)\n"
          "      --skip-if-larger  write nothing (exit status 98) when the outputs would\n"
          "                      be larger than the input\n"
          "      --dither[=S]    for the eye: a palette that weighs smooth areas and\n"
          "                      rare colours more, and error diffusion where it hides\n"
          "                      banding (smooth areas), not on texture, edges or\n"
          "                      colours the palette matches; S, 0..1, scales the\n"
          "                      diffusion (default 0.9; 0 is off).  On by default for\n"
          "                      png8, off for label PNGs; --quality then picks the k\n"
          "                      whose dithered result reaches it.  pngquant's\n"
          "                      spellings: --floyd[=S] is --dither[=S], --nofs turns\n"
          "                      it off (plain k-means: the highest PSNR)\n"
          "      --init METHOD   kmeans++ (default) or random\n"
          "      --n-init N      restarts, the lowest error wins (default auto: 3 below\n"
          "                      k = 32, 1 from there, 3 with --init random)\n"
          "      --max-iter N    Lloyd iterations per restart (default 100)\n"
          "      --tol T         stop when the squared centre shift <= T * mean channel\n"
          "                      variance, as scikit-learn (default 1e-4)\n"
          "      --seed S        random seed, 0..2^64-1 (default 0): same seed, same bytes\n"
          "  -t, --threads N     worker threads, 0 = the cores other work leaves free\n"
          "                      (default 0); never changes the result\n"
          "      --format FORMAT labels (default: label PNG + codebook) or png8 (one\n"
          "                      palette PNG that any viewer shows)\n"
          "      --labels FILE   label PNG (default: INPUT's folder/stem.labels.png)\n"
          "      --codebook FILE codebook (default: INPUT's folder/stem.codebook.bin);\n"
          "                      a name ending in .npy writes NumPy format\n"
          "  -o, --output FILE   the png8 file (default: INPUT's folder/stem.png8.png);\n"
          "                      - is standard output, also the default for INPUT -\n"
          "      --ext SUFFIX    png8 names: INPUT's stem + SUFFIX (default .png8.png);\n"
          "                      implies --format png8; --ext .png -f replaces INPUT\n"
          "      --level N       DEFLATE effort 1 (fastest) .. 12 (smallest), default 6\n"
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
          "      --max-pixels N  refuse images of more than N pixels, before decoding,\n"
          "                      when decoded whole (default 268435456 = 2^28)\n"
          "      --stream[=WHEN] read the image in bands of rows, three times, in\n"
          "                      memory bounded by its width (PNG, TIFF, PNM): WHEN is\n"
          "                      auto (the default: above 2^25 pixels), always (no\n"
          "                      WHEN) or never.  What cannot be streamed is read\n"
          "                      whole; the output bytes are the same either way.\n"
          "                      Standard input and pipes are first copied to a\n"
          "                      temporary file in $TMPDIR (unless never)\n"          "      --max-stream-pixels N\n"
          "                      refuse streamed images of more than N pixels\n"
          "                      (default 4294836225 = 65535 x 65535)\n"
          "  -r, --recursive     FOLDER arguments: every image under them (.png .jpg\n"
          "                      .jpeg .bmp .tif .tiff .webp .pnm .ppm .pgm .pbm .pam\n"
          "                      .gif; kmq's own outputs excluded)\n"
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

int compress_parse_args(int argc, char **argv, compress_opts *o)
{
    enum {
        OPT_INIT = 256, OPT_NINIT, OPT_MAXITER, OPT_TOL, OPT_SEED, OPT_LABELS, OPT_CODEBOOK,
        OPT_FORMAT, OPT_LEVEL, OPT_MAXPIXELS, OPT_STREAM, OPT_MAXSTREAM, OPT_OUTDIR, OPT_SKIP, OPT_JSON, OPT_QUALITY,
        OPT_DITHER, OPT_NOFS, OPT_PACKED, OPT_STRIP, OPT_NO_ORIENT, OPT_SKIP_LARGER, OPT_EXT
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
        {"stream", optional_argument, NULL, OPT_STREAM},
        {"max-stream-pixels", required_argument, NULL, OPT_MAXSTREAM},
        {"recursive", no_argument, NULL, 'r'},
        {"out-dir", required_argument, NULL, OPT_OUTDIR},
        {"skip-existing", no_argument, NULL, OPT_SKIP},
        {"jobs", required_argument, NULL, 'j'},
        {"json", no_argument, NULL, OPT_JSON},
        {"quality", required_argument, NULL, OPT_QUALITY},
        {"dither", optional_argument, NULL, OPT_DITHER},
        {"floyd", optional_argument, NULL, OPT_DITHER},
        {"nofs", no_argument, NULL, OPT_NOFS},
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
    o->dither = -1; /* unset: on for png8 (below) */
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
            o->quality_open = optarg[0] && optarg[strlen(optarg) - 1] == '-' && strlen(optarg) > 1;
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
        case OPT_DITHER:
            o->dither = 1, o->dither_strength = DITHER_DEFAULT;
            if (optarg && (!parse_double(optarg, &o->dither_strength) ||
                           !(o->dither_strength >= 0 && o->dither_strength <= 1)))
                return cli_usage("compress", "--dither (--floyd) takes a strength from 0 to 1, "
                                 "not '%s'", optarg);
            break;
        case OPT_NOFS: o->dither = 0; break;
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
            if (!strcmp(optarg, "auto"))
                v = KMQ_N_INIT_AUTO;
            else if (!parse_long(optarg, 1, KMQ_MAX_N_INIT, &v))
                return cli_usage("compress",
                                 "--n-init must be auto or an integer from 1 to %d, not '%s'",
                                 KMQ_MAX_N_INIT, optarg);
            o->params.n_init = (int)v;
            break;
        case OPT_MAXITER:
            if (!parse_long(optarg, 1, KMQ_MAX_ITER, &v))
                return cli_usage("compress", "--max-iter must be an integer from 1 to %d, not '%s'",
                                 KMQ_MAX_ITER, optarg);
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
            if (!parse_long(optarg, 0, KMQ_MAX_THREADS, &v))
                return cli_usage("compress", "-t/--threads must be an integer from 0 to %d, not '%s'",
                                 KMQ_MAX_THREADS, optarg);
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
            if (parse_max_pixels("compress", "--max-pixels", optarg, &o->max_pixels))
                return EXIT_USAGE;
            break;
        case OPT_STREAM:
            if ((o->stream = parse_stream("compress", optarg)) == 2)
                return EXIT_USAGE;
            break;
        case OPT_MAXSTREAM:
            if (parse_max_pixels("compress", "--max-stream-pixels", optarg, &o->max_stream_pixels))
                return EXIT_USAGE;
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
    const int batch = compress_is_batch(o);
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
    /* pngquant's habit for what is shown (a png8 dithers, as pngquant's
       default output does); label PNGs, the k-means compression, do not. */
    if (o->dither < 0)
        o->dither = o->png8, o->dither_strength = DITHER_DEFAULT;
    if (o->dither_strength == 0)
        o->dither = 0; /* --dither=0: plain k-means and the nearest entries */
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

int compress_is_batch(const compress_opts *o)
{
    return o->ninputs > 1 || o->recursive;
}
