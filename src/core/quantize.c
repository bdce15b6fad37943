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
    p->progress = NULL;
    p->progress_ctx = NULL;
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
    kmq_progress_sink sink = {params->progress, params->progress_ctx, r, params->n_init};
    int iters = kmq_lloyd_progress(h, tree, k, me->centres, params->max_iter, tol_abs, threads, NULL,
                                   NULL, params->progress ? &sink : NULL);
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

/* The answer for one k on a built histogram and tree. */
typedef struct {
    int k;
    uint8_t *entries;       /* k * C */
    uint8_t *colour_labels; /* per distinct colour */
    uint64_t inertia;
    int iterations, restart;
} solution;

static void solution_free(solution *sol)
{
    free(sol->entries), free(sol->colour_labels);
    memset(sol, 0, sizeof *sol);
}

/* k-means with every restart for k < h->n; the winner is the lowest
   (rounded inertia, restart index). */
static kmq_status solve(const kmq_histogram *hist, const kmq_tree *treep, const kmq_params *params,
                        int k, double tol_abs, solution *sol)
{
    const kmq_histogram h_ = *hist;
    const kmq_histogram *hp = &h_;
    const int C = hp->channels;
    const size_t n = hp->n;
    kmq_status s;
    memset(sol, 0, sizeof *sol);
    restart_result *res = NULL;
    const int nt = kmq_threads(params->threads);
    const int outer = params->n_init > 1 && nt > 1 ? (params->n_init < nt ? params->n_init : nt) : 1;
    const int inner = outer > 1 ? 1 : nt; /* threads inside one restart */
    /* Restarts are independent: with several, each thread runs whole
       restarts on its own (no per-iteration synchronisation); with one, the
       threads share each iteration.  Either way every restart computes the
       same thing, and the winner is the lowest (inertia, restart index). */
    res = calloc((size_t)outer, sizeof *res);
    if (!res)
        return KMQ_ERR_NOMEM;
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
    kmq_params pk = *params;
    pk.k = k;
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
            rs = run_restart(hp, treep, &pk, r, tol_abs, inner, me);
        if (rs != KMQ_OK) {
#pragma omp atomic write
            failed = rs;
        }
    }
    for (int r = in_rounds; r < params->n_init && failed == KMQ_OK; r++)
        failed = run_restart(hp, treep, &pk, r, tol_abs, nt, &res[0]);
    if ((s = failed) != KMQ_OK)
        goto done;
    restart_result *best = &res[0];
    for (int t = 1; t < outer; t++)
        if (res[t].best_inertia < best->best_inertia ||
            (res[t].best_inertia == best->best_inertia && res[t].best_restart < best->best_restart))
            best = &res[t];
    sol->k = k;
    sol->entries = best->best_entries, best->best_entries = NULL;
    sol->colour_labels = best->best_lab, best->best_lab = NULL;
    sol->inertia = best->best_inertia;
    sol->iterations = best->best_iter;
    sol->restart = best->best_restart;
    s = KMQ_OK;
done:
    for (int t = 0; t < outer; t++)
        free(res[t].centres), free(res[t].entries), free(res[t].best_entries), free(res[t].lab),
            free(res[t].best_lab);
    free(res);
    return s;
}

/* The lossless answer: the colours themselves (k = h->n). */
static kmq_status lossless(const kmq_histogram *h, solution *sol)
{
    const int C = h->channels;
    const size_t n = h->n;
    memset(sol, 0, sizeof *sol);
    sol->entries = malloc(n * C);
    sol->colour_labels = malloc(n);
    if (!sol->entries || !sol->colour_labels) {
        solution_free(sol);
        return KMQ_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        sol->colour_labels[i] = (uint8_t)i;
        for (int c = 0; c < C; c++)
            sol->entries[i * C + c] = (uint8_t)(h->keys[i] >> (8 * c));
    }
    sol->k = (int)n;
    return KMQ_OK;
}

static double psnr_of(uint64_t inertia, size_t npixels, int C)
{
    double mse = (double)inertia / ((double)npixels * C);
    return mse > 0 ? 10.0 * log10(255.0 * 255.0 / mse) : INFINITY;
}

/* Shared by kmq_quantize and kmq_quantize_quality: target < 0 means "k is
   params->k"; else the smallest k in 2..256 whose PSNR reaches target. */
static kmq_status quantize(const uint8_t *pixels, size_t npixels, int channels,
                           const kmq_params *params, double target, kmq_codebook *cb,
                           uint8_t *labels, kmq_stats *stats, int *reached)
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
    kmq_tree tree = {0};
    solution sol = {0};
    const double tol_abs = kmq_tolerance(&h, params->tol);
    const int have_tree = n > 2;
    if (have_tree && (s = kmq_tree_build(&h, &tree)) != KMQ_OK)
        goto done;
    if (target < 0) {
        s = n <= (size_t)params->k ? lossless(&h, &sol) : solve(&h, &tree, params, params->k, tol_abs, &sol);
    } else {
        /* Bisection over k, assuming the error falls as k grows (it need not
           exactly: k-means finds local minima); every k tried reuses the
           histogram and the tree. */
        int hi = n < KMQ_MAX_K ? (int)n : KMQ_MAX_K, lo = KMQ_MIN_K - 1; /* lo fails, hi ? */
        solution best = {0};
        s = (size_t)hi >= n ? lossless(&h, &best) : solve(&h, &tree, params, hi, tol_abs, &best);
        if (s == KMQ_OK && psnr_of(best.inertia, npixels, C) >= target) {
            while (s == KMQ_OK && hi - lo > 1) {
                int mid = lo + (hi - lo) / 2;
                solution trial;
                if ((s = solve(&h, &tree, params, mid, tol_abs, &trial)) != KMQ_OK)
                    break;
                if (psnr_of(trial.inertia, npixels, C) >= target) {
                    solution_free(&best);
                    best = trial, hi = mid;
                } else {
                    solution_free(&trial);
                    lo = mid;
                }
            }
            *reached = 1;
        } else {
            *reached = 0; /* even the largest k falls short: that k is the answer */
        }
        sol = best;
    }
    if (s != KMQ_OK)
        goto done;
    double t_kmeans = now();
    label_pixels(&h, pixels, npixels, sol.colour_labels, params->threads, labels);
    cb->k = sol.k;
    cb->channels = C;
    cb->entries = sol.entries, sol.entries = NULL;
    fill_stats(stats, npixels, n, cb->k, C, sol.iterations, sol.restart, sol.inertia);
    if (stats) {
        stats->seconds_histogram = t_hist - t0;
        stats->seconds_kmeans = t_kmeans - t_hist;
        stats->seconds_labels = now() - t_kmeans;
    }
done:
    solution_free(&sol);
    if (have_tree)
        kmq_tree_free(&tree);
    kmq_histogram_free(&h);
    return s;
}

kmq_status kmq_quantize(const uint8_t *pixels, size_t npixels, int channels,
                        const kmq_params *params, kmq_codebook *cb, uint8_t *labels,
                        kmq_stats *stats)
{
    int reached;
    return quantize(pixels, npixels, channels, params, -1, cb, labels, stats, &reached);
}

kmq_status kmq_quantize_quality(const uint8_t *pixels, size_t npixels, int channels,
                                const kmq_params *params, double target_psnr, kmq_codebook *cb,
                                uint8_t *labels, kmq_stats *stats, int *reached)
{
    if (!(target_psnr > 0) || !reached)
        return KMQ_ERR_ARG;
    return quantize(pixels, npixels, channels, params, target_psnr, cb, labels, stats, reached);
}
