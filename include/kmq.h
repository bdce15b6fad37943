/*
 * kmq.h - colour quantization by exact k-means: the whole public API.
 *
 * SYNOPSIS
 *
 *   kmq_params p;
 *   kmq_params_default(&p);              // k = 64, k-means++, ...
 *   p.k = 128;
 *   kmq_image img;                       // from kmq_image_decode() or your own
 *   kmq_codebook cb;
 *   uint8_t *labels = malloc(img.width * img.height);
 *   kmq_stats st;
 *   kmq_stats_init(&st);                 // st.size = sizeof st (see Sizes)
 *   kmq_status s = kmq_quantize(img.pixels, (size_t)img.width * img.height,
 *                               img.channels, &p, &cb, labels, &st);
 *   if (s != KMQ_OK) fprintf(stderr, "%s\n", kmq_strerror(s));
 *   ...
 *   kmq_codebook_free(&cb);
 *
 * Images too large to hold are streamed (see "streaming" below):
 *
 *   kmq_rows *rows;                      // a PNG, TIFF or PNM, read in bands
 *   kmq_rows_open("scan.tif", 0, &rows, &meta, &why, NULL);
 *   kmq_sink out = {my_write, my_patch, my_file};
 *   kmq_stream_compress(rows, &p, 0, &png_options, &meta, &out, &cb, &st,
 *                       NULL, &why);     // the label PNG goes to `out`
 *   kmq_rows_close(rows);
 *
 * The library never prints, exits, reads argv or installs signal handlers.
 * Everything works on memory buffers; the only functions that touch the file
 * system read files (kmq_image_decode_file(_ex), kmq_read_file, kmq_rows_open,
 * kmq_stream_decompress).  Every
 * fallible call returns a kmq_status (KMQ_OK = 0); kmq_strerror() names each
 * code, and kmq_last_why() says what was wrong in that call: which argument
 * or field ("params.k = 300 is outside 2..256"), or the *why text.
 *
 * Memory: every buffer the library returns (pixels, labels, entries, encoded
 * files) is plain malloc memory that free() releases; kmq_image_free,
 * kmq_codebook_free and kmq_metadata_free free a struct's buffers and clear
 * it.  Images and codebooks the caller fills with its own malloc'd buffers
 * work with every function, *_free included.
 *
 * Threads: every function may be called from several threads at once on
 * different data.  The library keeps no mutable global state (what must
 * outlive a call inside a decoder or encoder is per thread); each call runs
 * its own OpenMP team of `threads` workers (0: the free cores), and results never
 * depend on the thread count.
 *
 * Sizes: the structs a caller fills in or allocates for the library --
 * kmq_params, kmq_png_options, kmq_decode_options (read) and kmq_stats
 * (written) -- begin with `size_t size`, which kmq_params_default,
 * kmq_png_options_default, kmq_decode_options_default and kmq_stats_init
 * set to sizeof the struct as this header declares it; set every struct so
 * (or size = sizeof yourself) before changing its fields.  A later kmq adds
 * fields only at the end, and reads or writes only the first `size` bytes:
 * a field that does not lie wholly within them takes its default (shown
 * beside it), and a kmq_stats is written up to `size` bytes only, the rest
 * left as it was.  So a program keeps working, unchanged, with a newer
 * libkmq of the same soname (docs/library.md, "ABI and soname").  A size below KMQ_*_SIZE_MIN (the fields every
 * kmq since 0.3.0 requires) or above sizeof is KMQ_ERR_ARG, with
 * kmq_last_why() naming it ("params.size = 0 is not a kmq_params size").
 *
 * Strings: a *why the library sets is its own text, never to be freed.  Some
 * are fixed; others name a size or a chunk and are written into a buffer
 * of the calling thread, which the next failing call on that thread
 * overwrites.  So a *why stays valid until the next kmq call on the same
 * thread: copy it to keep it longer, as kmq_last_why()'s text.
 * kmq_strerror's texts and kmq_metadata's warning are fixed strings, valid
 * for the program's life.
 *
 * THE CODEBOOK FILE FORMAT (.bin), version 1, all integers little-endian:
 *
 *   offset  size      field
 *   0       4         magic "KMQC" (0x4B 0x4D 0x51 0x43)
 *   4       1         version, 1
 *   5       1         channels C, 1..4 (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA)
 *   6       2         k, the number of entries, 1..256 (uint16)
 *   8       k*C       the entries, entry i's channels in order
 *   8+k*C   4         CRC-32 (ISO-HDLC / zlib polynomial) of bytes 0 .. 8+k*C-1
 *
 * A file is valid only if it is exactly 12 + k*C bytes long.  Entry i is the
 * colour of label value i.  The same codebook can be stored as a NumPy .npy
 * file: dtype uint8, shape (k, C) (see kmq_codebook_encode_npy).
 */
#ifndef KMQ_H
#define KMQ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* This header's version; kmq_version() gives the library's at run time
   (they differ when a program runs against another libkmq than it was
   built with). */
#define KMQ_VERSION_STRING "0.3.0"
#define KMQ_VERSION_MAJOR 0
#define KMQ_VERSION_MINOR 3
#define KMQ_VERSION_PATCH 0

/* A name marked KMQ_DEPRECATED keeps working through the rest of this minor
   version and is removed in the next (docs/library.md, "ABI and soname"). */
#if defined(__GNUC__)
#define KMQ_NODISCARD __attribute__((warn_unused_result))
#define KMQ_API __attribute__((visibility("default")))
#define KMQ_DEPRECATED(why) __attribute__((deprecated(why)))
#else
#define KMQ_NODISCARD
#define KMQ_API
#define KMQ_DEPRECATED(why)
#endif

/* The library's version, "MAJOR.MINOR.PATCH". */
KMQ_API const char *kmq_version(void);

/* Limits.  Labels are 8-bit, so k <= 256. */
#define KMQ_MIN_K 2
#define KMQ_MAX_K 256
#define KMQ_MAX_CHANNELS 4
/* Largest width or height accepted from a decoder (also STBI_MAX_DIMENSIONS). */
#define KMQ_MAX_DIMENSION 65535
/* Default cap on width*height for decoded images: 2^28 pixels (268 MP). */
#define KMQ_DEFAULT_MAX_PIXELS (1ull << 28)

/* ---- status codes (values are never renumbered) ------------------------ */
typedef enum {
    KMQ_OK = 0,
    KMQ_ERR_NOMEM = 1,          /* an allocation failed */
    KMQ_ERR_ARG = 2,            /* a parameter is out of range */
    KMQ_ERR_TOO_LARGE = 3,      /* a size exceeds a limit or overflows */
    KMQ_ERR_IO = 4,             /* a system call failed: see errno */
    KMQ_ERR_EXISTS = 5,         /* output exists and overwriting was not asked for */
    KMQ_ERR_IMAGE_FORMAT = 6,   /* not a PNG, JPEG, BMP, TIFF, WebP, PNM or GIF file */
    KMQ_ERR_IMAGE_CORRUPT = 7,  /* the decoder rejected the data */
    KMQ_ERR_PNG_CRC = 8,        /* a PNG chunk's CRC does not match */
    KMQ_ERR_PNG_STRUCTURE = 9,  /* PNG chunk layout is broken (truncated, no IHDR/IDAT/IEND) */
    KMQ_ERR_LABELS_NOT_GREY8 = 10, /* label image is not a 1/2/4/8-bit greyscale PNG */
    KMQ_ERR_LABEL_RANGE = 11,   /* a label is >= k */
    KMQ_ERR_SIZE_MISMATCH = 12, /* two images or buffers differ in size */
    KMQ_ERR_NOT_INDEXED = 13,   /* a PNG8 was expected but the PNG has no palette */
    KMQ_ERR_INPUT_CHANGED = 14, /* a file read more than once changed in between */
    KMQ_ERR_BINDING = 15,       /* a label PNG's codebook binding (kmCp/kmCb) is damaged */
    KMQ_ERR_CB_TRUNCATED = 20,  /* codebook shorter than its header says */
    KMQ_ERR_CB_MAGIC = 21,      /* not a kmq codebook (bad magic) */
    KMQ_ERR_CB_VERSION = 22,    /* unsupported codebook version */
    KMQ_ERR_CB_CHANNELS = 23,   /* channel count not in 1..4 */
    KMQ_ERR_CB_K = 24,          /* k not in 1..256 */
    KMQ_ERR_CB_CRC = 25,        /* CRC-32 mismatch */
    KMQ_ERR_CB_TRAILING = 26,   /* bytes after the CRC */
    KMQ_ERR_NPY_MAGIC = 30,     /* not a NumPy .npy file */
    KMQ_ERR_NPY_VERSION = 31,   /* unsupported .npy format version */
    KMQ_ERR_NPY_HEADER = 32,    /* malformed .npy header dictionary */
    KMQ_ERR_NPY_DTYPE = 33,     /* .npy dtype is not uint8 */
    KMQ_ERR_NPY_SHAPE = 34,     /* shape is not (k, C) with k 1..256, C 1..4 */
    KMQ_ERR_NPY_DATA = 35,      /* data length does not match the shape */
    KMQ_ERR_NOT_A_PAIR = 36     /* a label PNG bound to another codebook than the one given */
} kmq_status;

/* A static, human-readable description of a status code. */
KMQ_API const char *kmq_strerror(kmq_status status);

/*
 * Why the calling thread's last call that returned a kmq_status failed, in
 * one line that kmq_strerror's words do not say:
 *  - KMQ_ERR_ARG from any function: the argument or field at fault and its
 *    value, as "params.k = 300 is outside 2..256", "stats.size = 3 is not
 *    a kmq_stats size (64..104)" or "labels is NULL";
 *  - a function with a *why: the same text as *why (for KMQ_ERR_ARG, *why
 *    is this text too);
 *  - other failures where there is more to say: which label is out of
 *    range, which sizes differ, what a codebook's header holds.
 * "" (never NULL) after a success, and after a failure with nothing to add.
 * Every function that returns a kmq_status sets it.  The text is the
 * calling thread's own: valid until its next kmq call (copy it to keep it).
 */
KMQ_API const char *kmq_last_why(void);

/* ---- k-means ------------------------------------------------------------ */
typedef enum { KMQ_INIT_KMEANSPP = 0, KMQ_INIT_RANDOM = 1 } kmq_init;

/* Limits of the fields below, checked by kmq_params_check. */
#define KMQ_MAX_N_INIT 10000
/* n_init chosen by kmq (kmq_params_restarts): k-means++ seeding restarts 3
   times below k = 32 and once from k = 32 up, random seeding 3 times. */
#define KMQ_N_INIT_AUTO 0
#define KMQ_MAX_ITER 1000000
#define KMQ_MAX_THREADS 1024

typedef struct {
    size_t size;    /* sizeof(kmq_params) (see Sizes at the top)                   */
    int k;          /* clusters, KMQ_MIN_K..KMQ_MAX_K                       (64)   */
    kmq_init init;  /* seeding: KMQ_INIT_KMEANSPP or KMQ_INIT_RANDOM  (kmeans++) */
    int n_init;     /* restarts, 1..KMQ_MAX_N_INIT, or KMQ_N_INIT_AUTO;
                       the lowest final inertia wins                    (auto) */
    int max_iter;   /* Lloyd iterations per restart, 1..KMQ_MAX_ITER     (100)  */
    double tol;     /* stop when the total squared centre shift is <=
                       tol * mean per-channel variance of the pixels;
                       finite, >= 0                                        (1e-4) */
    uint64_t seed;  /* same seed + input => same result                    (0)    */
    int threads;    /* worker threads, 0 = the free cores, .. KMQ_MAX_THREADS;
                       never changes results                               (0)    */
    /* Called now and then (from any thread, one call at a time) with the
       restart under way, n_init and its Lloyd iteration; NULL for none. */
    void (*progress)(void *ctx, int restart, int restarts, int iteration);
    void *progress_ctx;
} kmq_params;
/* The smallest params.size: k .. threads.  The progress callback may be
   left out (it is NULL then), as fields added later will be. */
#define KMQ_PARAMS_SIZE_MIN (offsetof(kmq_params, threads) + sizeof(int))

/* Fills *p with the defaults shown above, size with sizeof *p. */
KMQ_API void kmq_params_default(kmq_params *p);

/* The restarts kmq_quantize makes for k colours with *p: p->n_init, or what
   KMQ_N_INIT_AUTO stands for.  (Restarts pay where colours are few: on
   kodim01-08, 3 restarts instead of 1 gain 0.13 dB on average at k = 16,
   0.04 at k = 32 and 64, 0.01 at 128, for about twice the time.) */
KMQ_API int kmq_params_restarts(const kmq_params *p, int k);

/* Checks every field of *p against the limits above: KMQ_OK, or
   KMQ_ERR_ARG with *field (if field is not NULL) set to the name of the
   first wrong one ("size", "k", "init", "n_init", "max_iter", "tol",
   "threads"; "params" for a NULL p), and kmq_last_why() saying what is
   wrong with it. */
KMQ_API kmq_status kmq_params_check(const kmq_params *p, const char **field);

typedef struct {
    int k;            /* entries, 1..256 */
    int channels;     /* 1..4 */
    uint8_t *entries; /* k * channels bytes, malloc'd (kmq_codebook_free or free) */
} kmq_codebook;

KMQ_API void kmq_codebook_free(kmq_codebook *cb);
/* KMQ_OK if cb is a codebook every function accepts (entries not NULL, k in
   1..KMQ_MAX_K, channels in 1..KMQ_MAX_CHANNELS), else KMQ_ERR_ARG (and
   kmq_last_why() names the field). */
KMQ_API kmq_status kmq_codebook_check(const kmq_codebook *cb);

/* Written by the function that takes it, up to its `size` (see Sizes at
   the top): give it one set by kmq_stats_init. */
typedef struct {
    size_t size;          /* sizeof(kmq_stats), the caller's: never written */
    size_t pixels;        /* pixels clustered */
    size_t distinct;      /* distinct colours in the input */
    int k;                /* entries in the codebook (< params.k when distinct < k) */
    int iterations;       /* Lloyd iterations of the winning restart */
    int restart;          /* which restart won (0-based) */
    double inertia;       /* sum over pixels of squared distance to their codebook entry,
                             after rounding the centres to uint8; with alpha, the
                             mean of the squared errors over black and over white,
                             as kmq_compare measures it */
    double mse;           /* inertia / (pixels * channels), with alpha
                             inertia / (pixels * colour channels) */
    double psnr;          /* 10 log10(255^2 / mse) dB; INFINITY when lossless */
    double psnr_black, psnr_white; /* with alpha, over each background (else = psnr) */
    double seconds_histogram; /* wall time finding the distinct colours */
    double seconds_kmeans;    /* seeding, Lloyd and finalisation, all restarts */
    double seconds_labels;    /* labelling every pixel */
} kmq_stats;
/* The smallest stats.size: pixels .. psnr.  The PSNRs over black and
   white and the timings are written only when size holds them. */
#define KMQ_STATS_SIZE_MIN (offsetof(kmq_stats, psnr) + sizeof(double))

/* Zeroes *st and sets its size to sizeof *st. */
KMQ_API void kmq_stats_init(kmq_stats *st);

/*
 * Clusters the colours of `pixels` (npixels * channels bytes, interleaved)
 * and writes the codebook to *cb and the label of every pixel to `labels`
 * (npixels bytes).  The clustering runs on the distinct colours weighted by
 * their pixel counts, which is the same objective as clustering every pixel.
 * Centres are finally rounded to uint8 and every pixel is labelled with its
 * nearest rounded centre (lowest index on ties), so stats->mse is what a
 * decode of labels + codebook gives.  With fewer distinct colours than k,
 * the codebook is exactly those colours (sorted) and the result is lossless.
 * stats may be NULL; it is written only when the call succeeds.  On error
 * *cb is left empty.
 */
KMQ_API KMQ_NODISCARD kmq_status kmq_quantize(const uint8_t *pixels, size_t npixels, int channels,
                                      const kmq_params *params, kmq_codebook *cb,
                                      uint8_t *labels, kmq_stats *stats);

/*
 * kmq_quantize with k chosen for quality: the smallest k in 2..256 whose
 * PSNR (over all channels, of the uint8 result) is >= target_psnr, found by
 * bisection on one histogram (params->k is ignored).  The error need not
 * fall strictly with k (k-means finds local minima), so on rare images a
 * smaller k could also pass.  *reached is 0 when even k = 256 (or every
 * distinct colour) falls short; that result is returned then.
 */
KMQ_API KMQ_NODISCARD kmq_status kmq_quantize_quality(const uint8_t *pixels, size_t npixels, int channels,
                                              const kmq_params *params, double target_psnr,
                                              kmq_codebook *cb, uint8_t *labels, kmq_stats *stats,
                                              int *reached);

/*
 * Relabels width * height pixels (channels as cb's) by Floyd-Steinberg error
 * diffusion over cb's entries, and updates *stats' inertia, MSE and PSNRs
 * (if stats is not NULL; those within its size) to the dithered result,
 * leaving its other fields.  Deterministic.
 */
KMQ_API KMQ_NODISCARD kmq_status kmq_dither(const uint8_t *pixels, int width, int height, int channels,
                                    const kmq_codebook *cb, uint8_t *labels, kmq_stats *stats);
/* kmq_dither with the error passed on scaled by strength, 0..1 (1 is
   kmq_dither; 0 passes none on: the nearest entry of every pixel), as
   pngquant's --floyd=S.  KMQ_ERR_ARG outside 0..1. */
KMQ_API KMQ_NODISCARD kmq_status kmq_dither_strength(const uint8_t *pixels, int width, int height,
                                                     int channels, const kmq_codebook *cb,
                                                     double strength, uint8_t *labels,
                                                     kmq_stats *stats);


/*
 * Maps labels back to colours: out[i] = cb->entries[labels[i]] for every
 * pixel (out has npixels * cb->channels bytes).  If a label is >= cb->k,
 * nothing is written, *bad_index (if not NULL) receives the first offending
 * pixel index and KMQ_ERR_LABEL_RANGE is returned.
 */
KMQ_API KMQ_NODISCARD kmq_status kmq_labels_to_pixels(const uint8_t *labels, size_t npixels,
                                                      const kmq_codebook *cb, uint8_t *out,
                                                      size_t *bad_index);
/* kmq_labels_to_pixels under its 0.2 name, which read too much like
   kmq_labels_decode (a label PNG's bytes to a label image); kept, the
   same function, until 0.4. */
KMQ_API KMQ_NODISCARD kmq_status kmq_decode_labels(const uint8_t *labels, size_t npixels,
                                           const kmq_codebook *cb, uint8_t *out,
                                           size_t *bad_index)
    KMQ_DEPRECATED("renamed kmq_labels_to_pixels");

/* ---- codebook serialisation --------------------------------------------- */

/* The .bin format described at the top.  *out is malloc'd. */
KMQ_API KMQ_NODISCARD kmq_status kmq_codebook_encode_bin(const kmq_codebook *cb, uint8_t **out,
                                                 size_t *out_len);
/* A codebook's identity: the CRC-32 of its .bin encoding without the CRC
   (magic, version, C, k, entries) -- the .bin file's own last 4 bytes, and
   the same for a .npy codebook of the same colours.  0 for an invalid cb. */
KMQ_API uint32_t kmq_codebook_id(const kmq_codebook *cb);
/* Parses and fully validates a .bin codebook; *cb receives a new codebook. */
KMQ_API KMQ_NODISCARD kmq_status kmq_codebook_decode_bin(const uint8_t *buf, size_t len,
                                                 kmq_codebook *cb);

/* NumPy .npy (format 1.0), dtype '|u1', shape (k, C).  *out is malloc'd. */
KMQ_API KMQ_NODISCARD kmq_status kmq_codebook_encode_npy(const kmq_codebook *cb, uint8_t **out,
                                                 size_t *out_len);
/* Parses .npy formats 1.0, 2.0 and 3.0 with a uint8 dtype and shape (k, C) or
   (k,) (grey), C order or Fortran order, Python 2 headers ("(128L, 3L)") too. */
KMQ_API KMQ_NODISCARD kmq_status kmq_codebook_decode_npy(const uint8_t *buf, size_t len,
                                                 kmq_codebook *cb);

/* A codebook file's two forms. */
typedef enum { KMQ_CODEBOOK_BIN = 0, KMQ_CODEBOOK_NPY = 1 } kmq_codebook_format;
/* A codebook file of either form, told by its content (the .npy or KMQC
   magic); bytes with neither are decoded as by_name says (what the file's
   name ends in), which picks the error reported. */
KMQ_API KMQ_NODISCARD kmq_status kmq_codebook_decode(const uint8_t *buf, size_t len,
                                                     kmq_codebook_format by_name,
                                                     kmq_codebook *cb);

/* ---- images (PNG, JPEG, BMP, TIFF, WebP, PNM, GIF in memory) ------------ */
typedef struct {
    int width, height;
    int channels;     /* 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA */
    uint8_t *pixels;  /* width*height*channels bytes, malloc'd: the library's and
                         the caller's alike are freed by kmq_image_free (or free) */
} kmq_image;

KMQ_API void kmq_image_free(kmq_image *img);

/*
 * kmq_quantize for the eye (kmq compress --format png8 dithers with it):
 * the same exact k-means on integer counts, but a pixel counts 1 to 4 times
 * by how smooth its neighbourhood is (error on a gradient shows as bands,
 * on texture it hides), and after it the colours far from their entry
 * count up to 8 times more and Lloyd goes on from there (a small colour far
 * from every entry pulls the nearest its way).  Lower butteraugli for a little PSNR
 * (README, "Dithering"); stats are the plain error of the result.  Images
 * of more than 2^30 pixels get kmq_quantize.  Deterministic, as kmq_quantize.
 */
KMQ_API KMQ_NODISCARD kmq_status kmq_quantize_perceptual(const kmq_image *img,
                                                         const kmq_params *params,
                                                         kmq_codebook *cb, uint8_t *labels,
                                                         kmq_stats *stats);

/*
 * Decodes a PNG, JPEG, BMP, TIFF, WebP, PNM or GIF (its first frame) held
 * in memory, keeping its channel count (palette images come out as RGB or
 * RGBA; 16-bit samples keep their high byte, v >> 8, in every format) and turning it to its EXIF orientation (see kmq_image_decode_ex).
 * For PNG, the chunk structure and every chunk CRC are checked first.  Images over max_pixels (0 = KMQ_DEFAULT_MAX_PIXELS) are refused
 * with KMQ_ERR_TOO_LARGE before their pixels are decoded, as are images
 * over 2^24 pixels from fewer than one byte per 2^15 of them (a few bytes
 * of WebP or TIFF can claim any size: see docs/guarantees.md, Hostile input).  On a
 * decoder failure, *why (if not NULL) receives a description (see Strings
 * at the top: valid until the next kmq call on this thread).
 */
KMQ_API KMQ_NODISCARD kmq_status kmq_image_decode(const uint8_t *buf, size_t len, uint64_t max_pixels,
                                          kmq_image *img, const char **why);

/*
 * kmq_image_decode for a file: the file is streamed through the checks and
 * the decoder, so it never sits in memory beside the decoded pixels ("-" is
 * standard input, read whole).  *file_size (if not NULL) receives its size.
 * KMQ_ERR_IO leaves errno set.
 */
KMQ_API KMQ_NODISCARD kmq_status kmq_image_decode_file(const char *path, uint64_t max_pixels,
                                               kmq_image *img, const char **why,
                                               size_t *file_size);

/* What an image file is, from its headers alone: nothing is decoded or
   checked past them (kmq_image_decode_file may still refuse the file).
   width and height as stored, before any EXIF orientation; channels as
   kmq_image_decode gives them; streamable: kmq_rows_open reads it in bands
   (a PNG not interlaced, a TIFF, a PNM).  A regular file only (KMQ_ERR_IO
   with errno ESPIPE for a pipe or a device, which cannot be read twice).
   Set size (sizeof, see Sizes at the top) before the call. */
typedef struct {
    size_t size;
    const char *format; /* "PNG", "JPEG", "BMP", "TIFF", "WebP", "PNM" or "GIF" */
    uint32_t width, height;
    int channels;
    int streamable;
} kmq_image_info;
#define KMQ_IMAGE_INFO_SIZE_MIN (offsetof(kmq_image_info, streamable) + sizeof(int))
KMQ_API KMQ_NODISCARD kmq_status kmq_image_probe(const char *path, kmq_image_info *info,
                                                 const char **why);


/* ---- metadata: colour space, pixel size, orientation ----------------------
 *
 * What an image says about how to show it, kept so that outputs look like
 * the input in browsers and editors:
 *  - from PNG: the sRGB, gAMA, cHRM, iCCP and pHYs chunks (before IDAT);
 *  - from JPEG: the ICC profile (APP2 "ICC_PROFILE", possibly split over
 *    several segments) as an iCCP chunk, the JFIF density as pHYs;
 *  - the EXIF orientation (JPEG APP1 "Exif", PNG eXIf), which the decoders
 *    apply to the pixels unless asked not to (then nothing records it).
 * Each is checked: an iCCP must inflate (at most KMQ_MAX_ICC_PROFILE bytes)
 * to a profile whose header gives its size; fixed-size chunks must have
 * their size; only the first of each type counts.  What fails is dropped
 * and `warning` says so; nothing is ever refused for its metadata.
 */
#define KMQ_MAX_ICC_PROFILE (8u << 20)
typedef struct {
    uint8_t *chunks;     /* complete PNG chunks (length, type, data, CRC), ready to be
                            written after an IHDR; malloc'd, NULL when there are none */
    size_t chunks_len;
    int orientation;     /* the EXIF orientation found, 1..8 (1: none or upright) */
    int oriented;        /* 1 if the pixels were turned to it */
    const char *warning; /* static text: what was dropped and why, or NULL */
} kmq_metadata;

KMQ_API void kmq_metadata_free(kmq_metadata *meta);

typedef struct {
    size_t size;          /* sizeof(kmq_decode_options) (see Sizes at the top) */
    uint64_t max_pixels;  /* 0 = KMQ_DEFAULT_MAX_PIXELS                  (0) */
    int keep_orientation; /* 1: pixels in stored order, whatever EXIF says (0) */
} kmq_decode_options;
/* The smallest o.size: max_pixels .. keep_orientation. */
#define KMQ_DECODE_OPTIONS_SIZE_MIN \
    (offsetof(kmq_decode_options, keep_orientation) + sizeof(int))

/* The defaults shown above, size sizeof *o. */
KMQ_API void kmq_decode_options_default(kmq_decode_options *o);

/*
 * kmq_image_decode / kmq_image_decode_file with options (NULL: the
 * defaults), also collecting the image's metadata into *meta (if not NULL;
 * free with kmq_metadata_free).  The plain functions apply the EXIF
 * orientation too and collect nothing.
 */
KMQ_API KMQ_NODISCARD kmq_status kmq_image_decode_ex(const uint8_t *buf, size_t len,
                                             const kmq_decode_options *o, kmq_image *img,
                                             kmq_metadata *meta, const char **why);
KMQ_API KMQ_NODISCARD kmq_status kmq_image_decode_file_ex(const char *path, const kmq_decode_options *o,
                                                  kmq_image *img, kmq_metadata *meta,
                                                  const char **why, size_t *file_size);

/*
 * The metadata a PNG carries: its own sRGB, gAMA, cHRM, iCCP and pHYs
 * chunks, or in a label PNG those of the image it came from (the private
 * chunk kmCp, see kmq_labels_encode).  Checked as above; a PNG without any
 * gives an empty *meta.
 */
KMQ_API KMQ_NODISCARD kmq_status kmq_png_read_metadata(const uint8_t *buf, size_t len,
                                               kmq_metadata *meta);

/*
 * A copy of `png` with meta's chunks written right after its IHDR (where
 * every one of them may stand).  An ICC profile whose colour space does not
 * fit the PNG's colour type (GRAY for greyscale, RGB otherwise) is left out
 * and *warning (if not NULL) says so.  *out is malloc'd.
 */
KMQ_API KMQ_NODISCARD kmq_status kmq_png_add_metadata(const uint8_t *png, size_t len,
                                              const kmq_metadata *meta, uint8_t **out,
                                              size_t *out_len, const char **warning);

/*
 * For a label PNG: a copy with one private ancillary chunk "kmCp" after the
 * IHDR, whose data is complete PNG chunks: meta's colour chunks (if meta is
 * not NULL; they describe the codebook's colours, not the labels) and, if cb
 * is not NULL, a "kmCb" chunk binding the labels to their codebook: 7 bytes,
 * channels (1), k (2, big-endian), kmq_codebook_id (4, big-endian).  Other
 * readers skip kmCp; kmq_png_read_metadata unwraps the colour chunks and
 * kmq_labels_read_binding the binding.  *out is malloc'd.
 */
KMQ_API KMQ_NODISCARD kmq_status kmq_labels_add_metadata(const uint8_t *png, size_t len,
                                                 const kmq_metadata *meta,
                                                 const kmq_codebook *cb, uint8_t **out,
                                                 size_t *out_len);

/* The codebook a label PNG was written with, from its kmCp/kmCb chunk.
   present is 1 with the codebook's k, channels and identity; 0 for label
   PNGs without one (kmq 0.1.0, other writers, hand-made); -1 (and status
   KMQ_ERR_BINDING) when the binding is there but cannot be trusted: the
   kmCp is damaged (its CRC), after the IDAT or there twice, or its kmCb is
   not 7 bytes, fails its CRC, is not the first chunk inside kmCp or stands
   outside it.  Damage never reads as "no binding".  png must be the whole
   file (every chunk is looked at; the IDATs' data is not read); the _fd
   variant walks an open file with pread, reading only the chunk headers
   and the kmCp (the file offset is not moved).  KMQ_ERR_PNG_STRUCTURE if
   it does not start with the PNG signature. */
typedef struct {
    int present;
    int channels, k;
    uint32_t id;
} kmq_binding;
KMQ_API KMQ_NODISCARD kmq_status kmq_labels_read_binding(const uint8_t *png, size_t len, kmq_binding *b);
KMQ_API KMQ_NODISCARD kmq_status kmq_labels_read_binding_fd(int fd, kmq_binding *b);
/* 1 if cb is the codebook b names (or b names none); 0 for a damaged one. */
KMQ_API int kmq_binding_matches(const kmq_binding *b, const kmq_codebook *cb);
/* Reads the binding and holds it to cb: KMQ_OK when it names cb or names
   none; KMQ_ERR_NOT_A_PAIR when it names another codebook, *why (if not
   NULL) saying which and which this one is; KMQ_ERR_BINDING when it is
   damaged; KMQ_ERR_PNG_STRUCTURE when png is no PNG. */
KMQ_API KMQ_NODISCARD kmq_status kmq_labels_check_binding(const uint8_t *png, size_t len,
                                                          const kmq_codebook *cb, const char **why);
KMQ_API KMQ_NODISCARD kmq_status kmq_labels_check_binding_fd(int fd, const kmq_codebook *cb,
                                                             const char **why);

/*
 * Decodes a label image: it must be a PNG of colour type 0 (greyscale) and
 * bit depth 1, 2, 4 or 8 (the samples are the indices, whatever the depth:
 * packed label PNGs are read unscaled);
 * anything else (RGB, palette, 16-bit, JPEG, ...) is refused with
 * KMQ_ERR_LABELS_NOT_GREY8 and *why (if not NULL) says what it is.
 */
KMQ_API KMQ_NODISCARD kmq_status kmq_labels_decode(const uint8_t *buf, size_t len, uint64_t max_pixels,
                                           kmq_image *img, const char **why);

/* Encodes pixels as an 8-bit PNG of `channels` channels.  *out is malloc'd. */
KMQ_API KMQ_NODISCARD kmq_status kmq_png_encode(const uint8_t *pixels, int width, int height,
                                        int channels, uint8_t **out, size_t *out_len);

/* How label PNGs and PNG8s are written. */
#define KMQ_DEFAULT_LEVEL 6
#define KMQ_MAX_LEVEL 12
typedef struct {
    size_t size;    /* sizeof(kmq_png_options) (see Sizes at the top)         */
    int level;      /* DEFLATE effort, 1 fastest .. KMQ_MAX_LEVEL smallest   */
    int exhaustive; /* encode every filter (and sample size), keep the smallest */
    int threads;    /* 0 = the free cores; never changes the bytes            */
    int packed;     /* label PNGs: 1, 2 or 4-bit samples when k <= 2, 4, 16.
                       Smaller, but PNG readers other than kmq (PIL, OpenCV,
                       ImageMagick, browsers) scale such samples to 0..255,
                       so they no longer read the labels: off by default  */
} kmq_png_options;
/* The smallest o.size: level .. packed. */
#define KMQ_PNG_OPTIONS_SIZE_MIN (offsetof(kmq_png_options, packed) + sizeof(int))

/* level KMQ_DEFAULT_LEVEL, not exhaustive, the free cores, 8-bit labels;
   size sizeof *o. */
KMQ_API void kmq_png_options_default(kmq_png_options *o);

/*
 * Encodes labels (width * height indices below k) as an 8-bit greyscale PNG
 * whose sample values are the labels, as every PNG reader reads them (with
 * o->packed: 1, 2 or 4 bits per sample when k <= 2, 4 or 16, which only kmq
 * reads back as labels); filter None or Paeth, whichever a quick trial finds
 * smaller; DEFLATE by libdeflate at o->level, in chunks on o->threads
 * threads (the bytes depend on neither the thread count nor the machine).
 * With o->exhaustive, every filter (and with o->packed, both sample sizes)
 * is encoded and the smallest kept.  *out is malloc'd.
 */
KMQ_API KMQ_NODISCARD kmq_status kmq_labels_encode(const uint8_t *labels, int width, int height, int k,
                                           const kmq_png_options *o, uint8_t **out,
                                           size_t *out_len);

/*
 * Reorders the codebook for PNG: labels that touch in the image get nearby
 * indices (a greedy tour over adjacency counts from the darkest entry),
 * which is what lets PNG's Paeth filter shrink smooth images; the labels
 * (width * height) are renumbered to match, so they decode to the same
 * pixels.  Deterministic.
 */
KMQ_API KMQ_NODISCARD kmq_status kmq_palette_sort(kmq_codebook *cb, uint8_t *labels, int width,
                                          int height);

/*
 * PNG8: one indexed-colour PNG holding the labels as palette indices and the
 * codebook as the palette (grey entries as grey, alpha in a tRNS chunk),
 * viewable anywhere.  1, 2 or 4-bit indices when k <= 2, 4 or 16.  Written
 * as label PNGs are (libdeflate at o->level on o->threads); the filter is
 * chosen as for label PNGs, and o->exhaustive tries them all.  *out is
 * malloc'd.
 */
KMQ_API KMQ_NODISCARD kmq_status kmq_png8_encode(const uint8_t *labels, int width, int height,
                                         const kmq_codebook *cb, const kmq_png_options *o,
                                         uint8_t **out, size_t *out_len);

/*
 * Reads any indexed-colour PNG back into labels (one channel) and a codebook:
 * 1 channel if every palette entry is grey, else 3, plus alpha when there is
 * a tRNS chunk.  Non-indexed PNGs give KMQ_ERR_NOT_INDEXED; structure, CRCs
 * and the pixel cap are checked as in kmq_image_decode.
 */
KMQ_API KMQ_NODISCARD kmq_status kmq_png8_decode(const uint8_t *buf, size_t len, uint64_t max_pixels,
                                         kmq_image *labels, kmq_codebook *cb,
                                         const char **why);
/* 1 if buf starts like an indexed-colour PNG. */
KMQ_API int kmq_is_indexed_png(const uint8_t *buf, size_t len);

/* ---- looking at results --------------------------------------------------- */

/* Differences between two images of equal size and channels (else
   KMQ_ERR_SIZE_MISMATCH).  Without alpha: over every channel sample.  With
   alpha (2 or 4 channels): over what a viewer sees, each image composited
   over black and over white (straight alpha), the colour channels compared,
   the two squared errors averaged; so colour under alpha 0 does not count
   and an opaque image counts as its colour channels alone.  kmq_quantize
   reports the same measure. */
typedef struct {
    uint64_t samples; /* pixels * channels (with alpha: pixels * colour channels) */
    double sse;       /* sum of squared differences (an exact integer without
                         alpha; with alpha, the mean of the sums over black and
                         over white) */
    double mse, psnr; /* sse / samples; psnr is INFINITY for identical images */
    double psnr_black, psnr_white; /* over each background (= psnr without alpha) */
    int max_abs;      /* largest absolute difference of one sample (with alpha:
                         of a colour channel over black or white, rounded) */
} kmq_diff;
KMQ_API KMQ_NODISCARD kmq_status kmq_compare(const kmq_image *a, const kmq_image *b, kmq_diff *d);
/* The structural similarity of a and b (same size and channels), 1 for
   identical images, as scikit-image's structural_similarity(a, b,
   channel_axis=2, data_range=255) computes it: 7x7 uniform windows, the
   mean over every window and colour channel.  With alpha, the colours
   composited over mid grey.  NaN when the image is smaller than 7x7.
   Memory: a few rows. */
KMQ_API KMQ_NODISCARD kmq_status kmq_ssim(const kmq_image *a, const kmq_image *b, double *ssim);

/* A swatch of the codebook: a grid of `columns` squares of `cell` pixels per
   row, one per colour, as stored or by brightness (Rec. 601); cells past the
   last colour are white, or transparent when there is alpha.  The image has
   the codebook's channels; kmq_swatch_size gives its size and
   kmq_swatch_draw fills width * height * channels bytes. */
KMQ_API KMQ_NODISCARD kmq_status kmq_swatch_size(const kmq_codebook *cb, int cell, int columns, int *width,
                                         int *height);
KMQ_API KMQ_NODISCARD kmq_status kmq_swatch_draw(const kmq_codebook *cb, int by_brightness, int cell,
                                         int columns, uint8_t *pixels);

/* ---- the whole job: compress -------------------------------------------
 *
 * What `kmq compress` does to an image in memory, for any caller (the CLI
 * and the Python module use these): k-means (for params.k, or the smallest
 * k that reaches `quality`), dithering, the palette order, then the label
 * PNG (with the metadata and the codebook's binding) and the codebook file,
 * or one PNG8.  The bytes are those of the CLI.  Files are the caller's:
 * kmq_files_write writes a pair atomically.
 */
typedef enum { KMQ_OUTPUT_LABELS = 0, KMQ_OUTPUT_PNG8 = 1 } kmq_output;

typedef struct {
    size_t size;            /* sizeof(kmq_compress_options), set by the default */
    kmq_params params;      /* the k-means (its own defaults)                      */
    kmq_png_options png;    /* how the PNG is written (its own defaults)           */
    kmq_output output;      /* label PNG + codebook, or one PNG8        (labels)   */
    kmq_codebook_format codebook_format; /* the codebook's bytes: .bin or .npy (bin) */
    double quality;         /* > 0: the smallest k whose result reaches this PSNR
                               in dB, as kmq_quantize_quality (params.k ignored) (0) */
    int dither;             /* the perceptual palette, then Floyd-Steinberg     (0) */
    double dither_strength; /* the error passed on, 0..1, as kmq_dither_strength (1) */
} kmq_compress_options;
#define KMQ_COMPRESS_OPTIONS_SIZE_MIN \
    (offsetof(kmq_compress_options, dither_strength) + sizeof(double))
KMQ_API void kmq_compress_options_default(kmq_compress_options *o);

/* The k-means result: labels (width * height, malloc'd) and codebook;
   reached is 0 when quality was asked for and is out of reach (the result
   then is the best there is).  Set size (sizeof) before the call, as for
   kmq_compressed and kmq_decompressed: results are written up to it. */
typedef struct {
    size_t size;
    int width, height, channels;
    kmq_codebook codebook;
    uint8_t *labels;
    kmq_stats stats;
    int reached;
} kmq_quantized;
#define KMQ_QUANTIZED_SIZE_MIN (offsetof(kmq_quantized, reached) + sizeof(int))
KMQ_API void kmq_quantized_free(kmq_quantized *q);

/* The outputs' bytes (malloc'd): the label PNG or PNG8, and the codebook
   file (KMQ_OUTPUT_LABELS only, else NULL).  warning: metadata the PNG8
   could not carry (static text) or NULL.  On failure, failed says whose:
   0 the image output, 1 the codebook, -1 neither. */
typedef struct {
    size_t size;
    uint8_t *image;
    size_t image_len;
    uint8_t *codebook;
    size_t codebook_len;
    const char *warning;
    int failed;
} kmq_compressed;
#define KMQ_COMPRESSED_SIZE_MIN (offsetof(kmq_compressed, failed) + sizeof(int))
KMQ_API void kmq_compressed_free(kmq_compressed *c);

/* Step one: the k-means (and dithering) of img into *q.  img may be freed
   after it. */
KMQ_API KMQ_NODISCARD kmq_status kmq_compress_quantize(const kmq_image *img,
                                                       const kmq_compress_options *o,
                                                       kmq_quantized *q);
/* Step two: *q's codebook put in palette order (its labels with it), and
   the outputs encoded; meta (from kmq_image_decode_ex; NULL: none) travels
   in the PNG. */
KMQ_API KMQ_NODISCARD kmq_status kmq_compress_encode(kmq_quantized *q, const kmq_metadata *meta,
                                                     const kmq_compress_options *o,
                                                     kmq_compressed *out);
/* Both steps; *q keeps the result (stats, codebook), freed on failure. */
KMQ_API KMQ_NODISCARD kmq_status kmq_compress(const kmq_image *img, const kmq_metadata *meta,
                                              const kmq_compress_options *o, kmq_quantized *q,
                                              kmq_compressed *out);

/* ---- the whole job: decompress -------------------------------------------
 *
 * What `kmq decompress` does in memory: a label PNG and its codebook file
 * (or one PNG8, codebook NULL) checked -- the label image, the codebook,
 * the binding between them, every label below k -- and mapped back to
 * pixels.  The CLI and the Python module use it.
 */
typedef struct {
    size_t size;           /* sizeof(kmq_decompress_options), set by the default   */
    uint64_t max_pixels;   /* the label image's cap, 0 = KMQ_DEFAULT_MAX_PIXELS (0) */
    kmq_codebook_format codebook_format; /* a codebook with neither magic is
                              decoded as this (the file name's ending)      (bin) */
    int ignore_binding;    /* decode a pair whose binding names another codebook
                              or is damaged (recorded in binding)             (0) */
    int metadata;          /* read the colour metadata the PNG carries      (1) */
} kmq_decompress_options;
#define KMQ_DECOMPRESS_OPTIONS_SIZE_MIN \
    (offsetof(kmq_decompress_options, metadata) + sizeof(int))
KMQ_API void kmq_decompress_options_default(kmq_decompress_options *o);

/* What came out: the pixels (channels as the codebook's); the codebook
   used (the PNG8's palette, or the file's); the metadata (with
   o->metadata).  binding: KMQ_ERR_NOT_A_PAIR or KMQ_ERR_BINDING when
   ignore_binding let such a pair through, else KMQ_OK.  On failure, failed
   says whose input was wrong (0 the label image or PNG8, 1 the codebook),
   and for KMQ_ERR_LABEL_RANGE bad_index and bad_label the first pixel with
   a label >= k and its label; the image's size (not its pixels) and the
   codebook stay, for the message.  Free
   with kmq_decompressed_free after any call. */
typedef struct {
    size_t size;
    kmq_image image;
    kmq_codebook codebook;
    kmq_metadata meta;
    kmq_status binding;
    int failed;
    uint64_t bad_index;
    int bad_label;
} kmq_decompressed;
#define KMQ_DECOMPRESSED_SIZE_MIN (offsetof(kmq_decompressed, bad_label) + sizeof(int))
KMQ_API void kmq_decompressed_free(kmq_decompressed *d);

/* *why (if not NULL): the decoder's reason, or which codebook the labels
   name (KMQ_ERR_NOT_A_PAIR). */
KMQ_API KMQ_NODISCARD kmq_status kmq_decompress(const uint8_t *labels, size_t labels_len,
                                                const uint8_t *codebook, size_t codebook_len,
                                                const kmq_decompress_options *o,
                                                kmq_decompressed *d, const char **why);

/* ---- streaming: images larger than memory -------------------------------
 *
 * An image too large to decode whole is read twice or three times, a band
 * of rows at a time: once to count its colours (kmq_colours), once to learn
 * which labels touch (for the palette order) and to try the PNG filters,
 * once to write the label PNG.  k-means runs on the colour counts as
 * kmq_quantize does, so the codebook and the label PNG are the bytes the
 * in-memory path writes.  Memory: the distinct colours (16-24 bytes each)
 * and a few bands of rows, whatever the height.
 */

/* The largest image streamed by default: 65535 x 65535 (4.3 gigapixels),
   all that PNG and kmq's dimension cap allow. */
#define KMQ_DEFAULT_MAX_STREAM_PIXELS ((uint64_t)KMQ_MAX_DIMENSION * KMQ_MAX_DIMENSION)

/* Where streamed output goes: write appends len bytes; patch overwrites
   bytes written before, at offset from the start (PNG chunk lengths are
   known only at their end).  Both return KMQ_OK or a failure status. */
typedef struct {
    kmq_status (*write)(void *ctx, const uint8_t *buf, size_t len);
    kmq_status (*patch)(void *ctx, uint64_t offset, const uint8_t *buf, size_t len);
    void *ctx;
} kmq_sink;

/* A PNG (not interlaced), TIFF or PNM file read top to bottom, rows decoded
   as kmq_image_decode decodes them.  kmq_rows_open checks the file and its
   size (max_pixels, 0 = KMQ_DEFAULT_MAX_STREAM_PIXELS) and collects its
   metadata into *meta (if not NULL) as kmq_image_decode_ex does, without
   applying the orientation: *meta's orientation says it.  Other formats
   give KMQ_ERR_IMAGE_FORMAT with *why saying so. */
typedef struct kmq_rows kmq_rows;
KMQ_API KMQ_NODISCARD kmq_status kmq_rows_open(const char *path, uint64_t max_pixels,
                                               kmq_rows **rows, kmq_metadata *meta,
                                               const char **why, size_t *file_size);
KMQ_API void kmq_rows_size(const kmq_rows *rows, int *width, int *height, int *channels);
/* The next n rows (n * width * channels bytes) into out. */
KMQ_API KMQ_NODISCARD kmq_status kmq_rows_read(kmq_rows *rows, uint8_t *out, int n,
                                               const char **why);
/* Back to the first row. */
KMQ_API KMQ_NODISCARD kmq_status kmq_rows_rewind(kmq_rows *rows, const char **why);
KMQ_API void kmq_rows_close(kmq_rows *rows);

/* Colour counts built from pixels that arrive in pieces: add every pixel,
   then quantize (target_psnr > 0: the smallest k reaching it, as
   kmq_quantize_quality; else params->k, and *reached may be NULL), then
   label pixels (each must have been added) as kmq_quantize labels them. */
typedef struct kmq_colours kmq_colours;
KMQ_API KMQ_NODISCARD kmq_status kmq_colours_new(int channels, kmq_colours **colours);
KMQ_API KMQ_NODISCARD kmq_status kmq_colours_add(kmq_colours *colours, const uint8_t *pixels,
                                                 size_t npixels);
KMQ_API KMQ_NODISCARD kmq_status kmq_colours_quantize(kmq_colours *colours,
                                                      const kmq_params *params,
                                                      double target_psnr, kmq_codebook *cb,
                                                      kmq_stats *stats, int *reached);
KMQ_API KMQ_NODISCARD kmq_status kmq_colours_label(const kmq_colours *colours,
                                                   const uint8_t *pixels, size_t npixels,
                                                   uint8_t *labels);
KMQ_API void kmq_colours_free(kmq_colours *colours);

/* kmq_palette_sort in two steps, for labels that arrive in rows: count
   which labels touch (touch: k * k counts the caller zeroed; above: the
   row before `labels`, or NULL for the image's first), then reorder the
   codebook; where[old] receives each entry's new index. */
KMQ_API KMQ_NODISCARD kmq_status kmq_palette_touch(uint64_t *touch, int k, const uint8_t *labels,
                                                   const uint8_t *above, int width, int rows);
KMQ_API KMQ_NODISCARD kmq_status kmq_palette_order(kmq_codebook *cb, const uint64_t *touch,
                                                   uint8_t *where);

/*
 * The streaming `kmq compress`: quantizes the image `rows` reads (from its
 * first row) and writes its label PNG to *out as kmq_labels_encode and
 * kmq_labels_add_metadata(meta, cb) would, with the codebook in palette
 * order (kmq_palette_sort).  o->exhaustive is not available here
 * (KMQ_ERR_ARG).  target_psnr and *reached as kmq_colours_quantize.
 */
KMQ_API KMQ_NODISCARD kmq_status kmq_stream_compress(kmq_rows *rows, const kmq_params *params,
                                                     double target_psnr,
                                                     const kmq_png_options *o,
                                                     const kmq_metadata *meta, kmq_sink *out,
                                                     kmq_codebook *cb, kmq_stats *stats,
                                                     int *reached, const char **why);

/*
 * The streaming `kmq decompress`: reads the label PNG at labels_path a row
 * at a time (checked as kmq_labels_decode checks it; at most max_pixels,
 * 0 = KMQ_DEFAULT_MAX_STREAM_PIXELS) and writes the image to *out as
 * kmq_png_encode of kmq_labels_to_pixels' pixels would, with meta's chunks
 * after the IHDR as kmq_png_add_metadata puts them (meta may be NULL; its
 * *warning too, if warning is not NULL).  A
 * label >= cb->k: KMQ_ERR_LABEL_RANGE with *bad_index (if not NULL) the
 * first such pixel's index.
 */
KMQ_API KMQ_NODISCARD kmq_status kmq_stream_decompress(const char *labels_path, uint64_t max_pixels,
                                                       const kmq_codebook *cb,
                                                       const kmq_metadata *meta, kmq_sink *out,
                                                       uint64_t *bad_index, const char **why,
                                                       const char **warning);

/* ---- files ---------------------------------------------------------------- */

/* Reads a whole file (or stdin when path is "-"); more than max_len bytes
   (0: no limit) is KMQ_ERR_TOO_LARGE, found before reading for regular files
   and as soon as it is passed for pipes and devices.  A regular file whose
   size or modification time changed while it was read (rewritten in place)
   is KMQ_ERR_INPUT_CHANGED: its bytes may be of two files.  *out is
   malloc'd. */
KMQ_API KMQ_NODISCARD kmq_status kmq_read_file(const char *path, size_t max_len, uint8_t **out,
                                       size_t *out_len);
/* The largest codebook file kmq reads (.bin is at most 1,036 bytes). */
#define KMQ_MAX_CODEBOOK_FILE (1u << 20)

/*
 * Output files, written atomically: kmq_outfile_open creates a temporary
 * file beside `path` (same folder, so the rename cannot cross file systems),
 * kmq_outfile_write appends to it, kmq_outfile_commit flushes, closes and
 * renames it to `path`, kmq_outfile_abort removes it.  Commit and abort
 * free the handle.  Without `overwrite`, an existing `path` is left alone
 * and KMQ_ERR_EXISTS returned (checked at open and again, atomically, at
 * commit).  System-call failures return KMQ_ERR_IO with errno set; the
 * temporary file is then already removed.  Any number may be open at once,
 * on any threads.
 *
 * Which file is written: "-" is standard output.  A symbolic link is
 * followed: its target is replaced (the temporary file goes in the target's
 * folder) and the link stays a link; a dangling link creates its target.  A
 * name that is not a regular file -- a character device such as /dev/null, a
 * FIFO, a socket, or a descriptor named through /proc or /dev/fd
 * (/dev/stdout, /proc/self/fd/1) -- is written directly, never renamed over,
 * and needs no `overwrite`.  A replaced file keeps its permissions (and
 * its owner and group, where the process may set them).
 *
 * The library installs no signal handler and keeps no list of temporary
 * files.  A program that removes them when it is interrupted passes a
 * guard: listed and unlisted hear of each temporary file made and gone
 * (listed may refuse it with non-zero: the open fails, KMQ_ERR_IO, ENOMEM),
 * each inside hold .. release, which also brackets a pair's renames;
 * sections nest.  guard may be NULL.
 */
typedef struct {
    void (*hold)(void *ctx);
    void (*release)(void *ctx);
    int (*listed)(void *ctx, const char *temp);
    void (*unlisted)(void *ctx, const char *temp);
    void *ctx;
} kmq_temp_guard;
typedef struct kmq_outfile kmq_outfile;
KMQ_API KMQ_NODISCARD kmq_status kmq_outfile_open(const char *path, int overwrite,
                                                  const kmq_temp_guard *guard, kmq_outfile **out);
KMQ_API KMQ_NODISCARD kmq_status kmq_outfile_write(kmq_outfile *f, const uint8_t *data, size_t len);
/* Overwrites len bytes written before, at offset from the start (a
   streamed PNG's chunk lengths); KMQ_ERR_IO (ESPIPE) on a pipe.
   kmq_outfile_seekable says beforehand whether it can. */
KMQ_API KMQ_NODISCARD kmq_status kmq_outfile_patch(kmq_outfile *f, uint64_t offset,
                                                   const uint8_t *data, size_t len);
KMQ_API int kmq_outfile_seekable(const kmq_outfile *f);
KMQ_API KMQ_NODISCARD kmq_status kmq_outfile_commit(kmq_outfile *f);
KMQ_API void kmq_outfile_abort(kmq_outfile *f);
/* Commits n (at most KMQ_MAX_PAIR) files together: all are flushed first,
   then, inside the guard's hold, each is given its name; if one fails, the
   names already given are undone -- a replaced file comes back (it was kept
   as a hard link), a new one is removed -- so the old files survive intact
   or every new one is in place.  *failed is the index of the file that
   failed (-1: none).  Frees every handle. */
#define KMQ_MAX_PAIR 4
KMQ_API KMQ_NODISCARD kmq_status kmq_outfile_commit_all(kmq_outfile **f, int n, int *failed);
/* Open, write and commit n files (a label PNG and its codebook) together;
   *failed as above. */
KMQ_API KMQ_NODISCARD kmq_status kmq_files_write(int n, const char *const *paths,
                                                 const uint8_t *const *data, const size_t *lens,
                                                 int overwrite, const kmq_temp_guard *guard,
                                                 int *failed);
/* 1 if writing `path` would replace an existing file (the rules above: a
   device, FIFO, descriptor or "-" is not replaced; a link to a file is). */
KMQ_API int kmq_output_exists(const char *path);
/* The file writing `path` would write: its symbolic links followed to the
   last name (which need not exist); malloc'd, NULL when out of memory. */
KMQ_API char *kmq_output_target(const char *path);

#ifdef __cplusplus
}
#endif
#endif /* KMQ_H */
