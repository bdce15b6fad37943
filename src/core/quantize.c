/* The whole quantization: histogram, restarts of seeding + Lloyd, the uint8
   finalisation, and per-pixel labels. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void kmq_params_default(kmq_params *p)
{
    p->k = 64;
    p->init = KMQ_INIT_KMEANSPP;
    p->n_init = 3;
    p->max_iter = 100;
    p->tol = 1e-4;
    p->seed = 0;
    p->threads = 0;
}

kmq_status kmq_params_check(const kmq_params *p)
{
    if (!p || p->k < KMQ_MIN_K || p->k > KMQ_MAX_K)
        return KMQ_ERR_ARG;
    if (p->init != KMQ_INIT_KMEANSPP && p->init != KMQ_INIT_RANDOM)
        return KMQ_ERR_ARG;
    if (p->n_init < 1 || p->max_iter < 1 || p->threads < 0)
        return KMQ_ERR_ARG;
    if (!(p->tol >= 0) || !isfinite(p->tol))
        return KMQ_ERR_ARG;
    return KMQ_OK;
}

void kmq_codebook_free(kmq_codebook *cb)
{
    if (!cb)
        return;
    free(cb->entries);
    memset(cb, 0, sizeof *cb);
}

static void fill_stats(kmq_stats *st, size_t npixels, size_t distinct, int k, int channels,
                       int iterations, int restart, uint64_t inertia)
{
    if (!st)
        return;
    st->pixels = npixels;
    st->distinct = distinct;
    st->k = k;
    st->iterations = iterations;
    st->restart = restart;
    st->inertia = (double)inertia;
    st->mse = (double)inertia / ((double)npixels * channels);
    st->psnr = st->mse > 0 ? 10.0 * log10(255.0 * 255.0 / st->mse) : INFINITY;
}

/* Labels every pixel from its colour's label. */
static void label_pixels(const kmq_histogram *h, const uint8_t *pixels, size_t npixels,
                         const uint8_t *colour_labels, int threads, uint8_t *labels)
{
    const int C = h->channels;
    const int nt = kmq_threads(threads);
#pragma omp parallel for num_threads(nt) schedule(static) if (npixels > KMQ_CHUNK)
    for (size_t start = 0; start < npixels; start += KMQ_CHUNK) {
        size_t end = start + KMQ_CHUNK < npixels ? start + KMQ_CHUNK : npixels;
        uint32_t last_key = kmq_pack(pixels + start * C, C);
        uint8_t last = colour_labels[kmq_histogram_find(h, last_key)];
        for (size_t i = start; i < end; i++) {
            uint32_t key = kmq_pack(pixels + i * C, C);
            if (key != last_key) { /* neighbouring pixels often share a colour */
                last_key = key;
                last = colour_labels[kmq_histogram_find(h, key)];
            }
            labels[i] = last;
        }
    }
}

kmq_status kmq_quantize(const uint8_t *pixels, size_t npixels, int channels,
                        const kmq_params *params, kmq_codebook *cb, uint8_t *labels,
                        kmq_stats *stats)
{
    memset(cb, 0, sizeof *cb);
    kmq_status s = kmq_params_check(params);
    if (s != KMQ_OK)
        return s;
    if (!pixels || !labels || npixels == 0 || channels < 1 || channels > KMQ_MAX_CHANNELS)
        return KMQ_ERR_ARG;
    if (npixels > UINT32_MAX)
        return KMQ_ERR_TOO_LARGE;

    kmq_histogram h;
    if ((s = kmq_histogram_build(pixels, npixels, channels, &h)) != KMQ_OK)
        return s;
    const int C = channels;
    const size_t n = h.n;

    if (n <= (size_t)params->k) {
        /* Lossless: the codebook is the colours themselves. */
        cb->entries = malloc(n * C);
        uint8_t *own = malloc(n);
        if (!cb->entries || !own) {
            free(own);
            kmq_codebook_free(cb);
            kmq_histogram_free(&h);
            return KMQ_ERR_NOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            own[i] = (uint8_t)i;
            for (int c = 0; c < C; c++)
                cb->entries[i * C + c] = (uint8_t)(h.keys[i] >> (8 * c));
        }
        cb->k = (int)n;
        cb->channels = C;
        label_pixels(&h, pixels, npixels, own, params->threads, labels);
        fill_stats(stats, npixels, n, (int)n, C, 0, 0, 0);
        free(own);
        kmq_histogram_free(&h);
        return KMQ_OK;
    }

    const int k = params->k;
    const double tol_abs = kmq_tolerance(&h, params->tol);
    double *centres = malloc((size_t)k * C * sizeof *centres);
    uint8_t *entries = malloc((size_t)k * C);
    uint8_t *best_entries = malloc((size_t)k * C);
    uint8_t *lab = malloc(n), *best_lab = malloc(n);
    if (!centres || !entries || !best_entries || !lab || !best_lab) {
        s = KMQ_ERR_NOMEM;
        goto done;
    }

    uint64_t best_inertia = UINT64_MAX;
    int best_iter = 0, best_restart = 0;
    for (int r = 0; r < params->n_init; r++) {
        kmq_rng rng;
        kmq_rng_seed(&rng, params->seed, (uint64_t)r);
        s = params->init == KMQ_INIT_RANDOM
                ? kmq_init_random(&h, k, &rng, centres)
                : kmq_init_kmeanspp(&h, k, &rng, params->threads, centres);
        if (s != KMQ_OK)
            goto done;
        int iters = kmq_lloyd(&h, k, centres, params->max_iter, tol_abs, params->threads, lab,
                              NULL);
        if (iters < 0) {
            s = KMQ_ERR_NOMEM;
            goto done;
        }
        /* Compare restarts by what the user gets: the rounded codebook. */
        uint64_t inertia = kmq_finalise(&h, k, centres, params->threads, entries, lab);
        if (inertia < best_inertia) {
            best_inertia = inertia;
            best_iter = iters;
            best_restart = r;
            uint8_t *t = best_entries;
            best_entries = entries;
            entries = t;
            t = best_lab;
            best_lab = lab;
            lab = t;
        }
    }
    label_pixels(&h, pixels, npixels, best_lab, params->threads, labels);
    cb->k = k;
    cb->channels = C;
    cb->entries = best_entries;
    best_entries = NULL;
    fill_stats(stats, npixels, n, k, C, best_iter, best_restart, best_inertia);
    s = KMQ_OK;
done:
    free(centres), free(entries), free(best_entries), free(lab), free(best_lab);
    kmq_histogram_free(&h);
    return s;
}
