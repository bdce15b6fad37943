/* The whole quantization: histogram, restarts of seeding + Lloyd, the uint8
   finalisation, and per-pixel labels. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void fill_stats(kmq_stats *st, size_t npixels, size_t distinct, int k, int channels,
                       int iterations, int restart, uint64_t inertia)
{
    if (!st)
        return;
    memset(st, 0, sizeof *st);
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
    (void)nt; /* unused without OpenMP */
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

/* One thread's working buffers and the best restart it has seen. */
typedef struct {
    double *centres;
    uint8_t *entries, *lab;
    uint8_t *best_entries, *best_lab;
    uint64_t best_inertia;
    int best_iter, best_restart;
} restart_result;

/* Seeding, Lloyd and finalisation for restart r; keeps it in *me if it beats
   what *me holds (lower inertia, or equal inertia and lower index). */
static kmq_status run_restart(const kmq_histogram *h, const kmq_tree *tree,
                              const kmq_params *params, int r, double tol_abs, int threads,
                              restart_result *me)
{
    const int k = params->k;
    kmq_rng rng;
    kmq_rng_seed(&rng, params->seed, (uint64_t)r);
    kmq_status s = params->init == KMQ_INIT_RANDOM
                       ? kmq_init_random(h, k, &rng, me->centres)
                       : kmq_init_kmeanspp(tree, k, &rng, threads, me->centres);
    if (s != KMQ_OK)
        return s;
    int iters = kmq_lloyd(h, tree, k, me->centres, params->max_iter, tol_abs, threads, NULL, NULL);
    if (iters < 0)
        return KMQ_ERR_NOMEM;
    /* Compare restarts by what the user gets: the rounded codebook. */
    uint64_t inertia;
    if ((s = kmq_finalise(tree, k, me->centres, threads, me->entries, me->lab, &inertia)) != KMQ_OK)
        return s;
    if (inertia < me->best_inertia || (inertia == me->best_inertia && r < me->best_restart)) {
        uint8_t *t = me->best_entries;
        me->best_entries = me->entries;
        me->entries = t;
        t = me->best_lab;
        me->best_lab = me->lab;
        me->lab = t;
        me->best_inertia = inertia;
        me->best_iter = iters;
        me->best_restart = r;
    }
    return KMQ_OK;
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
    double t0 = now();
    if ((s = kmq_histogram_build(pixels, npixels, channels, &h)) != KMQ_OK)
        return s;
    double t_hist = now();
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
        if (stats) {
            stats->seconds_histogram = t_hist - t0;
            stats->seconds_labels = now() - t_hist;
        }
        free(own);
        kmq_histogram_free(&h);
        return KMQ_OK;
    }

    const int k = params->k;
    const double tol_abs = kmq_tolerance(&h, params->tol);
    kmq_tree tree;
    restart_result *res = NULL;
    const int nt = kmq_threads(params->threads);
    const int outer = params->n_init > 1 && nt > 1 ? (params->n_init < nt ? params->n_init : nt) : 1;
    const int inner = outer > 1 ? 1 : nt; /* threads inside one restart */
    if ((s = kmq_tree_build(&h, &tree)) != KMQ_OK) {
        kmq_histogram_free(&h);
        return s;
    }
    /* Restarts are independent: with several, each thread runs whole
       restarts on its own (no per-iteration synchronisation); with one, the
       threads share each iteration.  Either way every restart computes the
       same thing, and the winner is the lowest (inertia, restart index). */
    res = calloc((size_t)outer, sizeof *res);
    if (!res) {
        s = KMQ_ERR_NOMEM;
        goto done;
    }
    for (int t = 0; t < outer; t++) {
        res[t].best_inertia = UINT64_MAX;
        res[t].best_restart = INT32_MAX;
        res[t].centres = malloc((size_t)k * C * sizeof *res[t].centres);
        res[t].entries = malloc((size_t)k * C);
        res[t].best_entries = malloc((size_t)k * C);
        res[t].lab = malloc(n);
        res[t].best_lab = malloc(n);
        if (!res[t].centres || !res[t].entries || !res[t].best_entries || !res[t].lab ||
            !res[t].best_lab) {
            s = KMQ_ERR_NOMEM;
            goto done;
        }
    }
    kmq_status failed = KMQ_OK;
    /* Whole rounds of restarts, one per thread; the restarts left over (3
       restarts on 2 threads: the third) share the threads instead of
       leaving them idle. */
    const int in_rounds = params->n_init / outer * outer;
#pragma omp parallel for num_threads(outer) schedule(dynamic, 1) if (outer > 1)
    for (int r = 0; r < in_rounds; r++) {
        restart_result *me = &res[outer > 1 ? kmq_thread_id() : 0];
        kmq_status rs;
#pragma omp atomic read
        rs = failed;
        if (rs == KMQ_OK)
            rs = run_restart(&h, &tree, params, r, tol_abs, inner, me);
        if (rs != KMQ_OK) {
#pragma omp atomic write
            failed = rs;
        }
    }
    for (int r = in_rounds; r < params->n_init && failed == KMQ_OK; r++)
        failed = run_restart(&h, &tree, params, r, tol_abs, nt, &res[0]);
    if ((s = failed) != KMQ_OK)
        goto done;
    restart_result *best = &res[0];
    for (int t = 1; t < outer; t++)
        if (res[t].best_inertia < best->best_inertia ||
            (res[t].best_inertia == best->best_inertia && res[t].best_restart < best->best_restart))
            best = &res[t];
    double t_kmeans = now();
    label_pixels(&h, pixels, npixels, best->best_lab, params->threads, labels);
    cb->k = k;
    cb->channels = C;
    cb->entries = best->best_entries;
    best->best_entries = NULL;
    fill_stats(stats, npixels, n, k, C, best->best_iter, best->best_restart, best->best_inertia);
    if (stats) {
        stats->seconds_histogram = t_hist - t0;
        stats->seconds_kmeans = t_kmeans - t_hist;
        stats->seconds_labels = now() - t_kmeans;
    }
    s = KMQ_OK;
done:
    if (res)
        for (int t = 0; t < outer; t++)
            free(res[t].centres), free(res[t].entries), free(res[t].best_entries),
                free(res[t].lab), free(res[t].best_lab);
    free(res);
    kmq_tree_free(&tree);
    kmq_histogram_free(&h);
    return s;
}
