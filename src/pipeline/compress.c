/* kmq compress in memory, as one library call for the CLI and the Python
   module alike: a decoded image -> k-means (for k, or the smallest k that
   reaches a quality), dithering -> palette order -> the label PNG and its
   codebook, or one PNG8.  Two steps, so that a caller can judge the result
   and free the image before the outputs are encoded (lower peak memory). */
#include "pipeline.h"
#include "sized.h"
#include "why.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void kmq_compress_options_default(kmq_compress_options *o)
{
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    kmq_params_default(&o->params);
    kmq_png_options_default(&o->png);
    o->output = KMQ_OUTPUT_LABELS;
    o->codebook_format = KMQ_CODEBOOK_BIN;
    o->dither_strength = 1.0;
}

/* Options as this build knows them: fields past o->size (a caller built
   against an older kmq.h) keep their defaults. */
static kmq_status options_in(const kmq_compress_options *o, kmq_compress_options *all)
{
    kmq_compress_options_default(all);
    kmq_status s = kmq_sized_read(all, sizeof *all, o, KMQ_COMPRESS_OPTIONS_SIZE_MIN, "o",
                                  "kmq_compress_options");
    if (s != KMQ_OK)
        return s;
    if (all->output != KMQ_OUTPUT_LABELS && all->output != KMQ_OUTPUT_PNG8)
        return kmq_arg("o.output = %d is not a kmq_output", (int)all->output);
    if (all->codebook_format != KMQ_CODEBOOK_BIN && all->codebook_format != KMQ_CODEBOOK_NPY)
        return kmq_arg("o.codebook_format = %d is not a kmq_codebook_format",
                       (int)all->codebook_format);
    if (!(all->quality >= 0) || all->quality == INFINITY)
        return kmq_arg("o.quality = %g is not 0 or a PSNR in dB", all->quality);
    if (!(all->dither_strength >= 0 && all->dither_strength <= 1))
        return kmq_arg("o.dither_strength = %g is outside 0..1", all->dither_strength);
    return KMQ_OK;
}

void kmq_quantized_free(kmq_quantized *q)
{
    if (!q)
        return;
    kmq_codebook_free(&q->codebook);
    free(q->labels);
    const size_t size = q->size;
    memset(q, 0, sizeof *q);
    q->size = size;
}

void kmq_compressed_free(kmq_compressed *c)
{
    if (!c)
        return;
    free(c->image);
    free(c->codebook);
    const size_t size = c->size;
    memset(c, 0, sizeof *c);
    c->size = size;
}

/* The perceptual palette and dithering at params->k into cb, labels and st. */
static kmq_status quantize_dithered(const kmq_image *img, const kmq_params *params,
                                    double strength, kmq_codebook *cb, uint8_t *labels,
                                    kmq_stats *st)
{
    kmq_status s = kmq_quantize_perceptual(img, params, cb, labels, st);
    if (s == KMQ_OK && (s = kmq_dither_strength(img->pixels, img->width, img->height,
                                                img->channels, cb, strength, labels, st)) != KMQ_OK)
        kmq_codebook_free(cb);
    return s;
}

/* Quality with dithering: dithering costs PSNR, so the k that reaches the
   target undithered (q's result, dithered, fell short) may not; the
   smallest k whose dithered result reaches it is found by bisection over
   (that k, 256], each step a k-means and a dithering.  Out of reach: the
   result at k = 256. */
static kmq_status quality_dithered(const kmq_image *img, const kmq_params *base, double target,
                                   double strength, kmq_quantized *q)
{
    const size_t npixels = (size_t)img->width * (size_t)img->height;
    int lo = q->stats.k, hi = KMQ_MAX_K + 1; /* lo falls short; hi reaches (or is past 256) */
    uint8_t *labels = malloc(npixels);
    if (!labels)
        return KMQ_ERR_NOMEM;
    kmq_status s = KMQ_OK;
    while (hi - lo > 1 && s == KMQ_OK) {
        /* the top first: if 256 falls short, nothing below reaches */
        const int k = hi == KMQ_MAX_K + 1 && lo < KMQ_MAX_K ? KMQ_MAX_K : (lo + hi) / 2;
        kmq_params p = *base;
        p.k = k;
        kmq_codebook cb;
        kmq_stats st = q->stats;
        if ((s = quantize_dithered(img, &p, strength, &cb, labels, &st)) != KMQ_OK)
            break;
        const int reached = st.psnr >= target;
        if (reached || k == KMQ_MAX_K) { /* the best so far: kept */
            kmq_codebook_free(&q->codebook);
            q->codebook = cb, q->stats = st;
            memcpy(q->labels, labels, npixels);
        } else {
            kmq_codebook_free(&cb);
        }
        if (reached)
            hi = k;
        else if (k == KMQ_MAX_K)
            break; /* out of reach: k = 256 is kept */
        else
            lo = k;
    }
    free(labels);
    return s;
}

kmq_status kmq_compress_quantize(const kmq_image *img, const kmq_compress_options *opts,
                                 kmq_quantized *q)
{
    kmq_why_clear();
    kmq_status s = kmq_result_open(q, KMQ_QUANTIZED_SIZE_MIN, sizeof *q, "q", "kmq_quantized");
    if (s != KMQ_OK)
        return s;
    kmq_compress_options o;
    if ((s = options_in(opts, &o)) != KMQ_OK)
        return s;
    if (!img || !img->pixels)
        return kmq_arg("%s is NULL", img ? "img.pixels" : "img");
    if (img->width < 1 || img->height < 1)
        return kmq_arg("img is %d x %d pixels", img->width, img->height);
    const size_t npixels = (size_t)img->width * (size_t)img->height;
    if (!(q->labels = malloc(npixels)))
        return KMQ_ERR_NOMEM;
    kmq_stats_init(&q->stats);
    q->reached = 1;
    kmq_params params = o.params;
    s = o.quality > 0 ? kmq_quantize_quality(img->pixels, npixels, img->channels, &params,
                                             o.quality, &q->codebook, q->labels, &q->stats,
                                             &q->reached)
        : o.dither    ? quantize_dithered(img, &params, o.dither_strength, &q->codebook,
                                          q->labels, &q->stats)
                      : kmq_quantize(img->pixels, npixels, img->channels, &params, &q->codebook,
                                     q->labels, &q->stats);
    /* quality with dithering: the plain k is where the search starts */
    if (s == KMQ_OK && o.dither && o.quality > 0) {
        kmq_codebook_free(&q->codebook);
        params.k = q->stats.k;
        s = quantize_dithered(img, &params, o.dither_strength, &q->codebook, q->labels, &q->stats);
        if (s == KMQ_OK && q->stats.psnr < o.quality)
            s = quality_dithered(img, &params, o.quality, o.dither_strength, q);
    }
    if (s == KMQ_OK && o.quality > 0)
        q->reached = q->stats.psnr >= o.quality; /* judged on what is written */
    if (s != KMQ_OK) {
        kmq_quantized_free(q);
        return s;
    }
    q->width = img->width, q->height = img->height, q->channels = img->channels;
    return KMQ_OK;
}

kmq_status kmq_compress_encode(kmq_quantized *q, const kmq_metadata *meta,
                               const kmq_compress_options *opts, kmq_compressed *out)
{
    kmq_why_clear();
    kmq_status s = kmq_result_open(out, KMQ_COMPRESSED_SIZE_MIN, sizeof *out, "out",
                                   "kmq_compressed");
    if (s != KMQ_OK)
        return s;
    out->failed = -1;
    kmq_compress_options o;
    if ((s = options_in(opts, &o)) != KMQ_OK)
        return s;
    if (!q || !q->labels)
        return kmq_arg("%s is NULL", q ? "q.labels" : "q");
    static const kmq_metadata none; /* stripped: no chunks, and the binding alone */
    if (!meta)
        meta = &none;
    if ((s = kmq_palette_sort(&q->codebook, q->labels, q->width, q->height)) != KMQ_OK)
        return s;
    out->failed = 0;
    const int png8 = o.output == KMQ_OUTPUT_PNG8;
    uint8_t *png = NULL;
    size_t png_len = 0;
    s = png8 ? kmq_png8_encode(q->labels, q->width, q->height, &q->codebook, &o.png, &png, &png_len)
             : kmq_labels_encode(q->labels, q->width, q->height, q->codebook.k, &o.png, &png,
                                 &png_len);
    /* The colour space and pixel size travel along; a label PNG also names
       its codebook, so that a pair from two runs is never taken for one. */
    if (s == KMQ_OK && (meta->chunks_len || !png8)) {
        uint8_t *with = NULL;
        size_t with_len = 0;
        s = png8 ? kmq_png_add_metadata(png, png_len, meta, &with, &with_len, &out->warning)
                 : kmq_labels_add_metadata(png, png_len, meta, &q->codebook, &with, &with_len);
        free(png);
        png = with, png_len = with_len;
    }
    if (s != KMQ_OK) {
        free(png);
        return s;
    }
    out->image = png, out->image_len = png_len;
    if (!png8) {
        s = o.codebook_format == KMQ_CODEBOOK_NPY
                ? kmq_codebook_encode_npy(&q->codebook, &out->codebook, &out->codebook_len)
                : kmq_codebook_encode_bin(&q->codebook, &out->codebook, &out->codebook_len);
        if (s != KMQ_OK) {
            kmq_compressed_free(out);
            out->failed = 1;
            return s;
        }
    }
    return KMQ_OK;
}

kmq_status kmq_compress(const kmq_image *img, const kmq_metadata *meta,
                        const kmq_compress_options *o, kmq_quantized *q, kmq_compressed *out)
{
    kmq_status s = kmq_compress_quantize(img, o, q);
    if (s == KMQ_OK && (s = kmq_compress_encode(q, meta, o, out)) != KMQ_OK)
        kmq_quantized_free(q);
    return s;
}
