/* Label PNGs: cluster indices stored as small as PNG/DEFLATE allows.
 *
 * Measured on tiger (k=128, 921,600 labels) and kodim01-08 (k=16..256):
 * - DEFLATE by libdeflate; its near-optimal parser (levels 10-12) is 6-10 %
 *   smaller than its lazy levels (<= 9), which is the largest single gain.
 * - Filter None wins on photos; Paeth (or Up) wins on images with smooth
 *   areas once the codebook is in tour order (tiger: 3 % below None), and
 *   stb's per-row heuristic loses everywhere (up to 30 %).  A trial of None
 *   and Paeth at level 4 on a quarter of the rows predicts the winner at
 *   level 6 on all of them (level 1 does not: it misses the long repeats
 *   that make None win on photos; an eighth of the rows is too few).
 * - k <= 16, 4, 2: packed 4/2/1-bit samples are smaller (at level 10: -6 %
 *   to -15 % at k <= 4, within +-2 % at k = 16) and quicker to compress,
 *   but PNG readers scale samples below 8 bits to 0..255 (PIL and OpenCV
 *   read label 1 of a 4-bit file as 17), so the labels are 8-bit unless
 *   packing is asked for (kmq_png_options.packed).
 * Packed rows are filtered as rows of (width * bits + 7) / 8 bytes (PNG
 * filters work on bytes for depths below 8 anyway). */
#include "bytes.h"
#include "labels.h"
#include "png_io.h"
#include "sized.h"
#include "thread_count.h"
#include "why.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

int kmq_label_bits(int k)
{
    return k <= 2 ? 1 : k <= 4 ? 2 : k <= 16 ? 4 : 8;
}

size_t kmq_pack_rows(const uint8_t *labels, int width, int height, int bits, uint8_t **out)
{
    const size_t row = ((size_t)width * bits + 7) / 8;
    uint8_t *p = calloc(row * (size_t)height + 1, 1);
    *out = p;
    if (!p)
        return 0;
    const int per = 8 / bits;
    for (size_t y = 0; y < (size_t)height; y++) {
        const uint8_t *src = labels + y * (size_t)width;
        uint8_t *dst = p + y * row;
        for (size_t x = 0; x < (size_t)width; x++) /* first sample in the high bits */
            dst[x / per] |= (uint8_t)(src[x] << (8 - bits - (int)(x % per) * bits));
    }
    return row;
}

/* PNG's Paeth predictor for one row of 1-byte samples (prev = NULL: the
   first row, whose row above counts as zeros). */
static void paeth_row(uint8_t *dst, const uint8_t *cur, const uint8_t *prev, size_t n)
{
    for (size_t x = 0; x < n; x++) {
        const int a = x ? cur[x - 1] : 0, b = prev ? prev[x] : 0, c = x && prev ? prev[x - 1] : 0;
        const int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
        dst[x] = (uint8_t)(cur[x] - (pa <= pb && pa <= pc ? a : pb <= pc ? b : c));
    }
}

/* Each row of `cols` bytes behind its filter-type byte, filtered with
   `filter` (0 None, 2 Up or 4 Paeth): the data PNG deflates. */
static uint8_t *filter_rows(const uint8_t *rows, size_t cols, size_t height, int filter)
{
    const size_t line = cols + 1;
    uint8_t *f = malloc(line * height);
    if (!f)
        return NULL;
    for (size_t y = 0; y < height; y++) {
        const uint8_t *cur = rows + y * cols, *prev = y ? cur - cols : NULL;
        uint8_t *dst = f + y * line;
        dst[0] = (uint8_t)filter;
        if (filter == 4)
            paeth_row(dst + 1, cur, prev, cols);
        else if (filter == 2)
            for (size_t x = 0; x < cols; x++)
                dst[1 + x] = (uint8_t)(cur[x] - (prev ? prev[x] : 0));
        else
            memcpy(dst + 1, cur, cols);
    }
    return f;
}

/* A grey (palette NULL) or indexed PNG: `height` rows of `cols` bytes
   holding `width` samples of `bits` bits, filter `filter` (0 None, 2 Up,
   4 Paeth) for every row; one IDAT when it fits (as stb_image_write, which
   wrote label PNGs before, laid them out: the same bytes), else IDATs of
   2^31 - 1 bytes.  A palette's grey entries become grey RGB, its alpha a
   tRNS.  Written here rather than by stb, whose filter choice is a
   process-wide global. */
static kmq_status write_rows(const uint8_t *rows, int cols, int height, int width, int bits,
                             const kmq_codebook *palette, int level, int filter, int threads,
                             uint8_t **out, size_t *out_len)
{
    *out = NULL;
    uint8_t *filtered = filter_rows(rows, (size_t)cols, (size_t)height, filter);
    if (!filtered)
        return KMQ_ERR_NOMEM;
    uint8_t *z = NULL;
    size_t zlen = 0;
    const size_t raw = ((size_t)cols + 1) * (size_t)height;
    kmq_status s = kmq_zlib_deflate(filtered, raw, level, threads, kmq_deflate_chunk(level), &z,
                                    &zlen);
    free(filtered);
    if (s != KMQ_OK)
        return s;
    const size_t max_chunk = 0x7FFFFFFF, idats = zlen ? (zlen + max_chunk - 1) / max_chunk : 1;
    const int k = palette ? palette->k : 0, C = palette ? palette->channels : 0;
    const int alpha = C == 2 || C == 4;
    const size_t len = 8 + 25 + (palette ? 12 + 3 * (size_t)k + (alpha ? 12 + (size_t)k : 0) : 0) +
                       12 * idats + zlen + 12;
    uint8_t *png = malloc(len), *p = png;
    if (!png) {
        free(z);
        return KMQ_ERR_NOMEM;
    }
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    memcpy(p, signature, 8);
    p += 8;
    uint8_t ihdr[13] = {0};
    kmq_put_be32(ihdr, (uint32_t)width);
    kmq_put_be32(ihdr + 4, (uint32_t)height);
    ihdr[8] = (uint8_t)bits; /* deflate, filter method 0, no interlace */
    ihdr[9] = palette ? 3 : 0; /* indexed or grey */
    p += kmq_png_put_chunk(p, "IHDR", ihdr, 13);
    if (palette) { /* grey entries as grey RGB; alpha in a tRNS */
        uint8_t plte[3 * KMQ_MAX_K], trns[KMQ_MAX_K];
        for (int j = 0; j < k; j++) {
            const uint8_t *e = palette->entries + (size_t)j * C;
            plte[3 * j] = e[0];
            plte[3 * j + 1] = C < 3 ? e[0] : e[1];
            plte[3 * j + 2] = C < 3 ? e[0] : e[2];
            trns[j] = alpha ? e[C - 1] : 255;
        }
        p += kmq_png_put_chunk(p, "PLTE", plte, 3 * (size_t)k);
        if (alpha)
            p += kmq_png_put_chunk(p, "tRNS", trns, (size_t)k);
    }
    for (size_t at = 0, i = 0; i < idats; i++) {
        const size_t n = zlen - at < max_chunk ? zlen - at : max_chunk;
        p += kmq_png_put_chunk(p, "IDAT", z + at, n);
        at += n;
    }
    p += kmq_png_put_chunk(p, "IEND", NULL, 0);
    free(z);
    *out = png;
    *out_len = (size_t)(p - png);
    return KMQ_OK;
}

#ifndef TRIAL_LEVEL
#define TRIAL_LEVEL 4
#endif

static size_t deflated_size(const uint8_t *data, size_t len, int level)
{
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
    size_t bound = c ? libdeflate_deflate_compress_bound(c, len) : 0;
    uint8_t *out = bound ? malloc(bound) : NULL;
    size_t n = out ? libdeflate_deflate_compress(c, data, len, out, bound) : 0;
    free(out);
    libdeflate_free_compressor(c);
    return n ? n : SIZE_MAX;
}

int kmq_filter_sample_every(int width, int height)
{
    /* Every fourth band of 16 rows (all of a small image), or fewer bands
       so that the sample stays within 8 MB, which a streamed image keeps
       until its palette order is known. */
    const uint64_t bands = ((uint64_t)height + 15) / 16, limit = (uint64_t)8 << 20;
    if (height < 64)
        return 1;
    uint64_t every = 4;
    while ((bands + every - 1) / every * 16 * (uint64_t)width > limit && every < bands)
        every *= 2;
    return (int)every;
}

int kmq_filter_sampled(int y, int every)
{
    return (y / 16) % every == 0;
}

int kmq_labels_filter_trial(const uint8_t *sample, size_t rows, int width, int level, int threads)
{
    /* None or Paeth, whichever compresses smaller at a quick level on the
       sample as PNG filters it.  Filtered here and deflated by libdeflate
       directly, so the trial shares nothing with stb and can run beside an
       encode.  The sample is filtered as one image: a band's first row is
       predicted from the previous band's last, which biases the trial
       toward None a little; with the true row above it picks Paeth wrongly
       on 3 of 24 kodak cases, this way on none. */
    const size_t w = (size_t)width, line = w + 1;
    uint8_t *none = malloc(rows * line + 1), *paeth = malloc(rows * line + 1);
    int filter = 0;
    if (none && paeth) {
        for (size_t r = 0; r < rows; r++) {
            const uint8_t *cur = sample + r * w;
            none[r * line] = 0, paeth[r * line] = 4;
            memcpy(none + r * line + 1, cur, w);
            paeth_row(paeth + r * line + 1, cur, r ? cur - w : NULL, w);
        }
        const int trial = level < TRIAL_LEVEL ? level : TRIAL_LEVEL;
        size_t size[2];
        const int nt = kmq_threads(threads) > 1 ? 2 : 1;
        (void)nt; /* unused without OpenMP */
#pragma omp parallel for num_threads(nt) if (nt > 1)
        for (int i = 0; i < 2; i++)
            size[i] = deflated_size(i ? paeth : none, rows * line, trial);
        filter = size[1] < size[0] ? 4 : 0;
    }
    free(none), free(paeth);
    return filter;
}

int kmq_labels_filter(const uint8_t *labels, int width, int height, int level, int threads)
{
    const int every = kmq_filter_sample_every(width, height);
    const size_t w = (size_t)width;
    size_t rows = 0;
    for (int y = 0; y < height; y++)
        rows += kmq_filter_sampled(y, every);
    uint8_t *sample = malloc(rows * w + 1);
    if (!sample)
        return 0;
    size_t r = 0;
    for (int y = 0; y < height; y++)
        if (kmq_filter_sampled(y, every))
            memcpy(sample + r++ * w, labels + (size_t)y * w, w);
    const int filter = kmq_labels_filter_trial(sample, rows, width, level, threads);
    free(sample);
    return filter;
}

kmq_status kmq_smallest(kmq_encode_fn encode, void *ctx, const int *candidates, int n,
                        uint8_t **out, size_t *out_len)
{
    uint8_t *best = NULL;
    size_t best_len = 0;
    for (int i = 0; i < n; i++) {
        uint8_t *p = NULL;
        size_t len = 0;
        kmq_status s = encode(ctx, candidates[i], &p, &len);
        if (s != KMQ_OK) {
            free(best);
            return s;
        }
        if (!best || len < best_len) {
            free(best);
            best = p, best_len = len;
        } else {
            free(p);
        }
    }
    *out = best;
    *out_len = best_len;
    return KMQ_OK;
}

void kmq_png_options_default(kmq_png_options *o)
{
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->level = KMQ_DEFAULT_LEVEL, o->exhaustive = 0, o->threads = 0, o->packed = 0;
}

kmq_status kmq_png_options_read(const kmq_png_options *caller, kmq_png_options *o)
{
    kmq_png_options_default(o);
    kmq_status s = kmq_sized_read(o, sizeof *o, caller, KMQ_PNG_OPTIONS_SIZE_MIN, "o",
                                  "kmq_png_options");
    if (s != KMQ_OK)
        return s;
    if (o->level < 1 || o->level > KMQ_MAX_LEVEL)
        return kmq_arg("o.level = %d is outside 1..%d", o->level, KMQ_MAX_LEVEL);
    if (o->threads < 0 || o->threads > KMQ_MAX_THREADS)
        return kmq_arg("o.threads = %d is outside 0..%d", o->threads, KMQ_MAX_THREADS);
    return KMQ_OK;
}

typedef struct {
    const uint8_t *labels, *packed;
    int width, height, cols, bits, level, threads;
    const kmq_codebook *palette;
} label_job;

/* Candidate -1: the packed rows, filter None; 0..4: 8-bit rows, that filter. */
static kmq_status encode_candidate(void *ctx, int c, uint8_t **out, size_t *out_len)
{
    const label_job *j = ctx;
    return c < 0 ? write_rows(j->packed, j->cols, j->height, j->width, j->bits, j->palette,
                              j->level, 0, j->threads, out, out_len)
                 : write_rows(j->labels, j->width, j->height, j->width, 8, j->palette, j->level, c,
                              j->threads, out, out_len);
}

kmq_status kmq_png_encode_labels(const uint8_t *labels, int width, int height, int bits,
                                 const kmq_codebook *palette, const kmq_png_options *o,
                                 uint8_t **out, size_t *out_len)
{
    label_job job = {labels, NULL, width, height, width, bits, o->level, o->threads, palette};
    uint8_t *packed = NULL;
    if (bits < 8) {
        job.cols = (int)kmq_pack_rows(labels, width, height, bits, &packed);
        if (!packed)
            return KMQ_ERR_NOMEM;
        job.packed = packed;
    }
    /* Every candidate at the asked level, or the one that should win. */
    static const int all[] = {-1, 0, 2, 4}; /* packed; None, Up, Paeth */
    kmq_status s;
    if (o->exhaustive)
        s = kmq_smallest(encode_candidate, &job, all + (bits < 8 ? 0 : 1), bits < 8 ? 4 : 3, out,
                         out_len);
    else
        s = encode_candidate(&job,
                             bits < 8 ? -1
                                      : kmq_labels_filter(labels, width, height, o->level, o->threads),
                             out, out_len);
    free(packed);
    return s;
}

kmq_status kmq_labels_args(const uint8_t *labels, int width, int height, int k,
                           const char *k_name, const kmq_png_options *o, kmq_png_options *opts)
{
    kmq_status s = kmq_png_options_read(o, opts);
    if (s != KMQ_OK)
        return s;
    if (!labels)
        return kmq_arg("labels is NULL");
    if (width < 1 || height < 1)
        return kmq_arg("the image is %d x %d pixels", width, height);
    if (k < 1 || k > KMQ_MAX_K)
        return kmq_arg("%s = %d is outside 1..%d", k_name, k, KMQ_MAX_K);
    const size_t n = (size_t)width * (size_t)height, bad = kmq_first_bad_label(labels, n, k);
    if (bad < n)
        return kmq_why(KMQ_ERR_LABEL_RANGE, "labels[%zu] = %d is not below %s = %d", bad,
                       labels[bad], k_name, k);
    return KMQ_OK;
}

kmq_status kmq_labels_encode(const uint8_t *labels, int width, int height, int k,
                             const kmq_png_options *o, uint8_t **out, size_t *out_len)
{
    kmq_why_clear();
    *out = NULL;
    kmq_png_options opts;
    kmq_status s = kmq_labels_args(labels, width, height, k, "k", o, &opts);
    if (s != KMQ_OK)
        return s;
    /* Packed samples only when asked: other readers scale them (see kmq.h). */
    return kmq_png_encode_labels(labels, width, height, opts.packed ? kmq_label_bits(k) : 8, NULL,
                                 &opts, out, out_len);
}
