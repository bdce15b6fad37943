/* kmq decompress: label PNG + codebook -> image. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void help_decompress(FILE *out)
{
    fputs("Usage: kmq decompress [options] LABELS CODEBOOK\n"
          "       kmq decompress [options] PNG8\n"
          "Map every label of LABELS (greyscale PNG) to its colour in CODEBOOK (.bin\n"
          "or NumPy .npy) and write the image as PNG with the codebook's channels.\n"
          "With one argument, turn an indexed-colour (palette) PNG, such as\n"
          "compress --format png8 writes, into a true-colour PNG: grey if every\n"
          "palette entry is grey, with alpha if it has transparency.\n"
          "\n"
          "  -o, --output FILE   output PNG (default: the input's folder/stem, a trailing\n"
          "                      .labels or .png8 dropped, + .decompressed.png);\n"
          "                      - is standard output, also the default when LABELS is -\n"
          "  -f, --force         overwrite an existing output file\n"
          "      --max-pixels N  refuse label images of more than N pixels (default 2^28)\n"
          "      --stream[=WHEN] read LABELS a band of rows at a time, in memory bounded\n"
          "                      by its width: auto (default: above 2^25 pixels),\n"
          "                      always (no WHEN) or never; the same bytes\n"
          "      --max-stream-pixels N\n"
          "                      refuse streamed label images of more than N pixels\n"
          "                      (default 4294836225 = 65535 x 65535)\n"
          "      --strip         leave out the colour profile and pixel size that the\n"
          "                      label PNG (or the PNG8) carries from the original\n"
          "      --ignore-binding\n"
          "                      decode LABELS with CODEBOOK even if the labels name\n"
          "                      another codebook or their binding is damaged\n"
          "  -q, --quiet         print nothing but errors\n"
          "  -v, --verbose       print sizes and time\n"
          "  -h, --help          show this help\n"
          "\n"
          "Nothing is written unless LABELS is a greyscale PNG (1, 2, 4 or 8 bits),\n"
          "every label is below the codebook's k, and LABELS was written with CODEBOOK\n"
          "(the kmCb chunk kmq puts in every label PNG; labels without one decode).\n"
          "Exit status: 0 success, 1 failure (bad input, I/O), 2 usage error.\n",
          out);
}

/* The streamed decompress (kmq_stream_decompress): the label PNG read in
   bands, the image written as it goes. */
typedef struct {
    const char *lpath, *lsrc, *cpath, *opath; /* lsrc: what is read (a pipe's copy) */
    uint64_t max_pixels;
    int force, quiet, verbose, strip, ignore_binding;
} decompress_job;

/* The labels name the codebook they were written with: a pair from two
   runs (an interrupted -f, two runs at once) or a damaged binding is
   refused, not decoded to wrong colours; label PNGs that name none still
   decode.  s and b: kmq_labels_read_binding's.  0 if the pair may be
   decoded, else 1, reported. */
static int refuse_binding(const char *lpath, const char *cpath, kmq_status s, const char *why,
                          int ignore, int quiet)
{
    if (s == KMQ_OK || s == KMQ_ERR_PNG_STRUCTURE)
        return 0; /* matched, or not a PNG: the decoder says what it is */
    const int damaged = s == KMQ_ERR_BINDING;
    if (!damaged && s != KMQ_ERR_NOT_A_PAIR) {
        cli_report(lpath, s, NULL);
        return 1;
    }
    if (ignore) {
        if (!quiet)
            cli_error("%s: warning: %s; decoded with %s anyway (--ignore-binding)", lpath,
                      damaged ? "damaged codebook binding" : "the labels name another codebook",
                      cpath);
        return 0;
    }
    if (damaged)
        cli_error("%s: %s (--ignore-binding decodes it with %s anyway)", lpath, kmq_strerror(s),
                  cpath);
    else
        cli_error("%s and %s are not a pair: %s", lpath, cpath, why);
    return 1;
}

static int decompress_streamed(const decompress_job *dj)
{
    const double t0 = now_seconds();
    int rc = EXIT_FAIL, e, lfd = -1;
    const char *lpath = dj->lsrc, *why = NULL, *warning = NULL;
    char lname[64];
    uint8_t *cbuf = NULL, *head = NULL;
    size_t clen = 0, hlen = 0;
    kmq_codebook cb = {0};
    kmq_metadata meta = {0};
    kmq_outfile *f = NULL;
    stream_out so = {0};
    kmq_sink sink = stream_sink(&so);
    kmq_status s;
    char tmp_why[4200];
    if ((s = kmq_read_file(dj->cpath, KMQ_MAX_CODEBOOK_FILE, &cbuf, &clen)) != KMQ_OK ||
        (s = cli_decode_codebook(dj->cpath, cbuf, clen, &cb)) != KMQ_OK) {
        cli_report(dj->cpath, s, NULL);
        goto done;
    }
    /* The file is opened once, and read by that descriptor's name: the
       binding checked is the one of the labels decoded. */
    struct stat before, after;
    if ((lfd = open(lpath, O_RDONLY | O_CLOEXEC)) < 0 || fstat(lfd, &before) != 0) {
        cli_report(dj->lpath, KMQ_ERR_IO, NULL);
        goto done;
    }
    snprintf(lname, sizeof lname, "/proc/self/fd/%d", lfd);
    lpath = lname;
    s = kmq_labels_check_binding_fd(lfd, &cb, &why);
    if (refuse_binding(dj->lpath, dj->cpath, s, why, dj->ignore_binding, dj->quiet))
        goto done;
    /* The chunks before the pixels: the colour metadata (kmCp, after the
       IHDR), within the first few megabytes. */
    if ((head = malloc(KMQ_MAX_ICC_PROFILE + (1u << 20)))) {
        const ssize_t got = pread(lfd, head, KMQ_MAX_ICC_PROFILE + (1u << 20), 0);
        hlen = got > 0 ? (size_t)got : 0;
    }
    if (!dj->strip && head && (s = kmq_png_read_metadata(head, hlen, &meta)) != KMQ_OK) {
        cli_report(dj->lpath, s, NULL);
        goto done;
    }
    if ((s = kmq_outfile_open(dj->opath, dj->force, cli_temp_guard(), &f)) != KMQ_OK) {
        cli_report_out(dj->opath, s, NULL);
        goto done;
    }
    so.f = f;
    if (!kmq_outfile_seekable(f) && stream_spool_output(&so) != KMQ_OK) {
        cli_error("%s: %s", cli_out_name(dj->opath),
                  stream_temp_reason(so.spool_errno, tmp_why, sizeof tmp_why));
        goto done;
    }
    uint64_t bad = 0;
    s = kmq_stream_decompress(lpath, dj->max_pixels, &cb, dj->strip ? NULL : &meta, &sink, &bad,
                              &why, &warning);
    if (s != KMQ_ERR_NOMEM && !so.failed &&
        (fstat(lfd, &after) != 0 || after.st_size != before.st_size ||
         after.st_mtim.tv_sec != before.st_mtim.tv_sec || after.st_mtim.tv_nsec != before.st_mtim.tv_nsec))
        s = KMQ_ERR_INPUT_CHANGED, why = NULL; /* what was read may be of two files */
    if (s == KMQ_OK)
        s = stream_unspool(&so);
    e = errno; /* of the call that failed, decoding or copying out */
    if (s == KMQ_ERR_IO && so.spool_errno) {
        cli_error("%s: %s", cli_out_name(dj->opath),
                  stream_temp_reason(so.spool_errno, tmp_why, sizeof tmp_why));
        goto done;
    }
    if (s == KMQ_ERR_LABEL_RANGE) {
        const uint64_t w = hlen >= 24 ? (uint64_t)head[16] << 24 | head[17] << 16 | head[18] << 8 |
                                            head[19]
                                      : 1;
        cli_error("%s: pixel (%llu, %llu) has a label of %d or more, but the codebook %s has "
                  "only k = %d entries (0..%d)", dj->lpath, (unsigned long long)(bad % w),
                  (unsigned long long)(bad / w), cb.k, dj->cpath, cb.k, cb.k - 1);
        goto done;
    }
    if (s != KMQ_OK) {
        errno = e;
        if (!so.failed)
            cli_report(dj->lpath, s, why);
        else
            cli_report_out(dj->opath, s, NULL);
        goto done;
    }
    if (!warning)
        warning = meta.warning;
    if (warning && !dj->quiet)
        cli_error("%s: warning: %s", dj->lpath, warning);
    if ((s = kmq_outfile_commit(f)) != KMQ_OK) {
        f = NULL;
        cli_report_out(dj->opath, s, NULL);
        goto done;
    }
    f = NULL;
    if (dj->verbose)
        fprintf(stderr, "%s: streamed, k %d, %s -> %s: %zu bytes, %.3f s\n",
                cli_in_name(dj->lpath), cb.k, channels_name(cb.channels), dj->opath, so.written,
                now_seconds() - t0);
    else if (!dj->quiet)
        cli_line("%s -> %s", cli_in_name(dj->lpath), cli_out_name(dj->opath));
    rc = EXIT_OK;
done:
    if (f)
        kmq_outfile_abort(f);
    if (so.spool)
        fclose(so.spool);
    if (lfd >= 0)
        close(lfd);
    free(cbuf), free(head);
    kmq_codebook_free(&cb);
    kmq_metadata_free(&meta);
    return rc;
}

int cmd_decompress(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"max-pixels", required_argument, NULL, 'P'},
        {"stream", optional_argument, NULL, 'T'},
        {"max-stream-pixels", required_argument, NULL, 'M'},
        {"strip", no_argument, NULL, 'S'},
        {"ignore-binding", no_argument, NULL, 'B'},
        {"force", no_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out_opt = NULL;
    int force = 0, quiet = 0, verbose = 0, strip = 0, stream = 0, ignore_binding = 0, c;
    uint64_t max_pixels = 0, max_stream = 0;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:fqvh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out_opt = optarg; break;
        case 'P':
            if (parse_max_pixels("decompress", "--max-pixels", optarg, &max_pixels))
                return EXIT_USAGE;
            break;
        case 'S': strip = 1; break;
        case 'B': ignore_binding = 1; break;
        case 'T':
            if ((stream = parse_stream("decompress", optarg)) == 2)
                return EXIT_USAGE;
            break;
        case 'M':
            if (parse_max_pixels("decompress", "--max-stream-pixels", optarg, &max_stream))
                return EXIT_USAGE;
            break;
        case 'f': force = 1; break;
        case 'q': quiet = 1, verbose = 0; break;
        case 'v': verbose = 1, quiet = 0; break;
        case 'h': help_decompress(stdout); return EXIT_OK;
        default: return cli_bad_option("decompress", c, argc, argv);
        }
    }
    const int nargs = argc - optind;
    if (nargs != 1 && nargs != 2)
        return cli_usage("decompress", "expected LABELS and CODEBOOK, or one PNG8, got %d arguments",
                         nargs);
    const char *lpath = argv[optind], *cpath = nargs == 2 ? argv[optind + 1] : NULL;
    if (!*lpath || (cpath && !*cpath) || (out_opt && !*out_opt))
        return cli_usage("decompress", "empty file name");
    if (cpath && !strcmp(lpath, "-") && !strcmp(cpath, "-"))
        return cli_usage("decompress", "standard input ('-') can be read only once");

    int rc = EXIT_FAIL;
    /* Standard input in, standard output out, unless -o says otherwise. */
    char *opath = out_opt ? strdup(out_opt)
                  : !strcmp(lpath, "-") ? strdup("-")
                  : derive_path(lpath, cpath ? ".labels" : ".png8", ".decompressed.png");
    uint8_t *lbuf = NULL, *cbuf = NULL, *png = NULL;
    size_t llen = 0, clen = 0, png_len = 0;
    kmq_decompressed d = {.size = sizeof d};
    kmq_status s;
    const char *why = NULL;
    int spool_fd = -1;
    double t0 = now_seconds();

    if (!opath) {
        cli_error("out of memory");
        goto done;
    }
    if (strcmp(opath, "-") && (same_path(opath, lpath) || (cpath && same_path(opath, cpath)))) {
        rc = cli_usage("decompress", "the output file '%s' is one of the inputs", opath);
        goto done;
    }
    if (cli_refuse_tty_output("decompress", opath)) {
        rc = EXIT_USAGE;
        goto done;
    }
    /* A pipe can be read once: a copy in a temporary file, then read
       streamed or whole by its size, as a file is (under --stream, any
       input that is not a regular file). */
    const char *lsrc = lpath;
    char spooled[64];
    if (cpath && stream >= 0 &&
        (!strcmp(lpath, "-") || is_pipe(lpath) || (stream > 0 && !is_regular(lpath)))) {
        const uint64_t mem = 2 * (max_pixels ? max_pixels : KMQ_DEFAULT_MAX_PIXELS) + (1u << 20);
        const uint64_t big = 2 * (max_stream ? max_stream : KMQ_DEFAULT_MAX_STREAM_PIXELS) + (1u << 20);
        int err;
        if ((spool_fd = stream_spool_input(lpath, mem, big, spooled, sizeof spooled, &err)) < 0) {
            stream_spool_failed(lpath, spool_fd, err);
            goto done;
        }
        lsrc = spooled;
    }
    const uint64_t lpixels = cpath && !stream ? streamable_pixels(lsrc) : 0;
    if (cpath && stream >= 0 && (stream || (lpixels > CLI_STREAM_ABOVE && lpixels != UINT64_MAX))) {
        const decompress_job dj = {lpath, lsrc, cpath, opath, max_stream, force, quiet, verbose, strip,
                                   ignore_binding};
        rc = decompress_streamed(&dj);
        goto done;
    }
    /* a label PNG is at most about a byte per pixel; leave room for chunks */
    uint64_t lmax = 2 * (max_pixels ? max_pixels : KMQ_DEFAULT_MAX_PIXELS) + (1u << 20);
    if ((s = kmq_read_file(lsrc, lmax < SIZE_MAX ? (size_t)lmax : 0, &lbuf, &llen)) != KMQ_OK) {
        cli_report(lpath, s, NULL);
        goto done;
    }
    if (cpath && (s = kmq_read_file(cpath, KMQ_MAX_CODEBOOK_FILE, &cbuf, &clen)) != KMQ_OK) {
        cli_report(cpath, s, NULL);
        goto done;
    }
    kmq_decompress_options dopt;
    kmq_decompress_options_default(&dopt);
    dopt.max_pixels = max_pixels;
    dopt.codebook_format = cpath && ends_with_ci(cpath, ".npy") ? KMQ_CODEBOOK_NPY : KMQ_CODEBOOK_BIN;
    dopt.ignore_binding = ignore_binding;
    dopt.metadata = !strip;
    s = kmq_decompress(lbuf, llen, cbuf, clen, &dopt, &d, &why);
    if (d.binding != KMQ_OK && refuse_binding(lpath, cpath, d.binding, why, ignore_binding, quiet))
        goto done;
    if (s == KMQ_ERR_LABEL_RANGE) {
        cli_error("%s: pixel (%zu, %zu) has label %d, but the %s %s has only k = %d "
                  "entries (0..%d)", lpath, (size_t)d.bad_index % (size_t)d.image.width,
                  (size_t)d.bad_index / (size_t)d.image.width, d.bad_label,
                  cpath ? "codebook" : "palette", cpath ? cpath : "of the PNG", d.codebook.k,
                  d.codebook.k - 1);
        goto done;
    }
    if (s != KMQ_OK) {
        if (!cpath && s == KMQ_ERR_NOT_INDEXED)
            why = "it is not an indexed-colour (palette) PNG; a label image needs its CODEBOOK "
                  "as second argument";
        cli_report(d.failed ? cpath : lpath, s, d.failed ? NULL : why);
        goto done;
    }
    if (!force && kmq_output_exists(opath)) { /* checked once the inputs are known good */
        cli_report_out(opath, KMQ_ERR_EXISTS, NULL);
        goto done;
    }
    if ((s = kmq_png_encode(d.image.pixels, d.image.width, d.image.height, d.image.channels, &png,
                            &png_len)) != KMQ_OK) {
        cli_report_out(opath, s, NULL);
        goto done;
    }
    /* The original's colour space and pixel size travel on. */
    if (!strip) {
        const char *warning = NULL;
        if (d.meta.chunks_len) {
            uint8_t *with;
            size_t with_len;
            if ((s = kmq_png_add_metadata(png, png_len, &d.meta, &with, &with_len, &warning)) != KMQ_OK) {
                cli_report_out(opath, s, NULL);
                goto done;
            }
            free(png);
            png = with, png_len = with_len;
        }
        if (!warning)
            warning = d.meta.warning;
        if (warning && !quiet)
            cli_error("%s: warning: %s", lpath, warning);
    }
    if ((s = cli_write_file(opath, png, png_len, force)) != KMQ_OK) {
        cli_report_out(opath, s, NULL);
        goto done;
    }
    if (verbose)
        fprintf(stderr, "%s: %dx%d %s, k %d, %zu + %zu bytes -> %s: %zu bytes, %.3f s\n", lpath,
                d.image.width, d.image.height, channels_name(d.codebook.channels), d.codebook.k,
                llen, clen, opath,
                png_len, now_seconds() - t0);
    else if (!quiet)
        cli_line("%s -> %s", lpath, cli_out_name(opath));
    rc = EXIT_OK;
done:
    if (spool_fd >= 0)
        close(spool_fd);
    free(opath), free(lbuf), free(cbuf), free(png);
    kmq_decompressed_free(&d);
    return rc;
}
