/* Colour counts built a piece at a time, for images that are read as
   bands of rows (kmq_stream_compress): the histogram kmq_quantize builds
   in one go, then the same k-means and the same labels. */
#include "internal.h"
#include "sized.h"
#include "why.h"

#include <stdlib.h>
#include <string.h>

struct kmq_colours {
    kmq_histogram h;
    size_t used;             /* distinct colours while counting */
    uint64_t pixels;
    int counted;             /* finished: h is sorted and indexed */
    uint8_t *colour_labels;  /* after kmq_colours_quantize */
    uint8_t *direct;         /* up to 3 channels: the label of every possible
                                colour, indexed by its packed key (16 MB for RGB):
                                one memory access a pixel instead of a hash probe */
    int threads;
    double seconds_adding;
};

kmq_status kmq_colours_new(int channels, kmq_colours **colours)
{
    kmq_why_clear();
    if (!colours)
        return kmq_arg("colours is NULL");
    *colours = NULL;
    if (channels < 1 || channels > KMQ_MAX_CHANNELS)
        return kmq_arg("channels = %d is outside 1..%d", channels, KMQ_MAX_CHANNELS);
    kmq_colours *c = calloc(1, sizeof *c);
    if (!c)
        return KMQ_ERR_NOMEM;
    kmq_status s = kmq_histogram_start(&c->h, channels);
    if (s != KMQ_OK) {
        free(c);
        return s;
    }
    *colours = c;
    return KMQ_OK;
}

kmq_status kmq_colours_add(kmq_colours *c, const uint8_t *pixels, size_t npixels)
{
    kmq_why_clear();
    if (!c)
        return kmq_arg("colours is NULL");
    if (!pixels && npixels)
        return kmq_arg("pixels is NULL");
    if (c->counted)
        return kmq_arg("colours were quantized already: no more can be added");
    /* Counts are 32-bit, as kmq_quantize's (65535 x 65535 fits). */
    if (npixels > UINT32_MAX - c->pixels)
        return kmq_why(KMQ_ERR_TOO_LARGE, "more than 2^32 - 1 pixels in all");
    const double t0 = kmq_seconds();
    kmq_status s = kmq_histogram_add(&c->h, pixels, npixels, &c->used);
    c->pixels += npixels;
    c->seconds_adding += kmq_seconds() - t0;
    return s;
}

kmq_status kmq_colours_quantize(kmq_colours *c, const kmq_params *caller_params,
                                double target_psnr, kmq_codebook *cb, kmq_stats *caller_stats,
                                int *reached)
{
    kmq_why_clear();
    if (!cb)
        return kmq_arg("cb is NULL");
    memset(cb, 0, sizeof *cb);
    kmq_params full;
    kmq_status s = kmq_params_read(caller_params, &full);
    if (s != KMQ_OK || (s = kmq_stats_check(caller_stats)) != KMQ_OK)
        return s;
    const kmq_params *params = &full;
    kmq_stats st, *stats = caller_stats ? &st : NULL; /* written to the caller's at the end */
    if (!c)
        return kmq_arg("colours is NULL");
    if (!c->pixels)
        return kmq_arg("colours has no pixels: add some first");
    if (c->colour_labels)
        return kmq_arg("colours were quantized already");
    if (target_psnr > 0 && !reached)
        return kmq_arg("reached is NULL");
    double t0 = kmq_seconds();
    if (!c->counted) {
        if ((s = kmq_histogram_finish(&c->h, c->used)) != KMQ_OK)
            return s;
        c->counted = 1;
    }
    int ignored;
    s = kmq_quantize_histogram(&c->h, c->pixels, params, target_psnr > 0 ? target_psnr : -1, cb,
                               &c->colour_labels, stats, reached ? reached : &ignored);
    c->threads = params->threads;
    if (s == KMQ_OK && c->h.channels <= 3 && (c->direct = kmq_big_malloc((size_t)1 << (8 * c->h.channels))))
        for (size_t i = 0; i < c->h.n; i++)
            c->direct[c->h.keys[i]] = c->colour_labels[i];
    if (s == KMQ_OK && stats) {
        stats->seconds_histogram = c->seconds_adding;
        stats->seconds_kmeans = kmq_seconds() - t0;
        kmq_stats_put(caller_stats, stats);
    }
    return s;
}

kmq_status kmq_colours_label(const kmq_colours *c, const uint8_t *pixels, size_t npixels,
                             uint8_t *labels)
{
    kmq_why_clear();
    if (!c)
        return kmq_arg("colours is NULL");
    if (!c->colour_labels)
        return kmq_arg("colours were not quantized yet");
    if (npixels && (!pixels || !labels))
        return kmq_arg("%s is NULL", pixels ? "labels" : "pixels");
    if (!c->direct) {
        kmq_label_pixels(&c->h, pixels, npixels, c->colour_labels, c->threads, labels);
        return KMQ_OK;
    }
    const int C = c->h.channels, nt = kmq_threads(c->threads);
    (void)nt; /* unused without OpenMP */
#pragma omp parallel for num_threads(nt) schedule(static) if (npixels > KMQ_CHUNK)
    for (size_t start = 0; start < npixels; start += KMQ_CHUNK) {
        const size_t end = start + KMQ_CHUNK < npixels ? start + KMQ_CHUNK : npixels;
        for (size_t i = start; i < end; i++)
            labels[i] = c->direct[kmq_pack(pixels + i * C, C)];
    }
    return KMQ_OK;
}

void kmq_colours_free(kmq_colours *c)
{
    if (!c)
        return;
    kmq_histogram_free(&c->h);
    free(c->colour_labels);
    free(c->direct);
    free(c);
}
