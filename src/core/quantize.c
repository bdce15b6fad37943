/* The whole quantization: histogram, restarts of seeding + Lloyd, the uint8
   finalisation, and per-pixel labels. */
#include "internal.h"
#include "sized.h"
#include "why.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double kmq_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void kmq_label_pixels(const kmq_histogram *h, const uint8_t *pixels, size_t npixels,
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
                              const kmq_params *params, int r, double tol_abs,
                              const uint32_t *pin, const double *start, int threads,
                              pthread_mutex_t *progress_lock, restart_result *me)
{
    const int k = params->k;
    kmq_rng rng;
    kmq_rng_seed(&rng, params->seed, (uint64_t)r);
    const int pinned = pin != NULL;
    kmq_status s = KMQ_OK;
    if (start) /* seeded by the caller */
        memcpy(me->centres, start, (size_t)k * h->channels * sizeof *me->centres);
    if (pinned) /* the transparent colour */
        kmq_unpack_d(*pin, h->channels, me->centres);
    if (!start) {
        switch (params->init) { /* kmq_params_check refused anything else */
        case KMQ_INIT_RANDOM: s = kmq_init_random(h, k, &rng, pinned, me->centres); break;
        case KMQ_INIT_KMEANSPP: s = kmq_init_kmeanspp(tree, k, &rng, threads, pinned, me->centres); break;
        default: return KMQ_ERR_ARG;
        }
    }
    if (s != KMQ_OK)
        return s;
    kmq_progress_sink sink = {params->progress, params->progress_ctx, r, params->n_init,
                              progress_lock};
    int iters = kmq_lloyd_progress(h, tree, k, me->centres, params->max_iter, tol_abs, threads, NULL,
                                   NULL, params->progress ? &sink : NULL, pinned);
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
    uint64_t inertia;       /* in the space k-means ran in (picks the restart) */
    double over_black, over_white; /* with alpha: the errors over each (alpha.c) */
    double sse;             /* the error reported: inertia, or the mean of those two */
    int iterations, restart;
} solution;

static void solution_free(solution *sol)
{
    free(sol->entries), free(sol->colour_labels);
    memset(sol, 0, sizeof *sol);
}

/* k-means with every restart for k < h->n; the winner is the lowest
   (rounded inertia, restart index).  Given start (k centres), one run from
   there instead. */
static kmq_status solve(const kmq_histogram *hist, const kmq_tree *treep, const kmq_params *params,
                        int k, double tol_abs, const uint32_t *pin, const double *start,
                        solution *sol)
{
    const kmq_histogram h_ = *hist;
    const kmq_histogram *hp = &h_;
    const int C = hp->channels;
    const size_t n = hp->n;
    kmq_status s;
    memset(sol, 0, sizeof *sol);
    restart_result *res = NULL;
    const int nt = kmq_threads(params->threads);
    const int n_init = start ? 1 : kmq_params_restarts(params, k);
    const int outer = n_init > 1 && nt > 1 ? (n_init < nt ? n_init : nt) : 1;
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
        res[t].lab = kmq_big_malloc(n);
        res[t].best_lab = kmq_big_malloc(n);
        if (!res[t].centres || !res[t].entries || !res[t].best_entries || !res[t].lab ||
            !res[t].best_lab) {
            s = KMQ_ERR_NOMEM;
            goto done;
        }
    }
    kmq_params pk = *params;
    pk.k = k;
    pk.n_init = n_init;
    kmq_status failed = KMQ_OK;
    /* This call's own lock (not a process-wide critical section): calls on
       other threads report their progress independently. */
    pthread_mutex_t progress_lock;
    if (pthread_mutex_init(&progress_lock, NULL) != 0) {
        s = KMQ_ERR_NOMEM;
        goto done;
    }
    /* Whole rounds of restarts, one per thread; the restarts left over (3
       restarts on 2 threads: the third) share the threads instead of
       leaving them idle. */
    /* (With one thread for restarts, none runs inside the parallel loop: an
       inactive region around them would make every region inside a nested
       one, with threads of its own, up to 3x slower on small images.) */
    const int in_rounds = outer > 1 ? n_init / outer * outer : 0;
#pragma omp parallel for num_threads(outer) schedule(dynamic, 1) if (outer > 1)
    for (int r = 0; r < in_rounds; r++) {
        restart_result *me = &res[outer > 1 ? kmq_thread_id() : 0];
        kmq_status rs;
#pragma omp atomic read
        rs = failed;
        if (rs == KMQ_OK)
            rs = run_restart(hp, treep, &pk, r, tol_abs, pin, start, inner, &progress_lock, me);
        if (rs != KMQ_OK) {
#pragma omp atomic write
            failed = rs;
        }
    }
    for (int r = in_rounds; r < n_init && failed == KMQ_OK; r++)
        failed = run_restart(hp, treep, &pk, r, tol_abs, pin, start, nt, &progress_lock, &res[0]);
    pthread_mutex_destroy(&progress_lock);
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
    sol->colour_labels = kmq_big_malloc(n);
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

/* ---- images with alpha ----
 * Colours are clustered where squared distance is the error a viewer sees
 * over black and over white (alpha.c): every fully transparent pixel is one
 * colour there, which stays a centre of its own, so invisible RGB costs no
 * codebook entry and transparent pixels stay exactly transparent.  The
 * codebook is then fitted exactly in straight RGBA. */

/* What k-means works on for one image. */
typedef struct {
    kmq_histogram *h;        /* the pixels' colours: labels are looked up here */
    kmq_histogram space;     /* h in the alpha clustering space (when `alpha`) */
    const kmq_histogram *hk; /* what k-means clusters: h or &space */
    kmq_tree tree;
    int have_tree;
    int alpha;               /* the image has alpha below 255 */
    int transparent;         /* ...and pixels of alpha 0: pin_key, a fixed centre */
    uint32_t pin_key;
    size_t visible;          /* distinct colours, every transparent one counted once */
    double tol_abs;
} problem;

static int any_translucent(const kmq_histogram *h)
{
    const int shift = 8 * (h->channels - 1);
    for (size_t i = 0; i < h->n; i++)
        if ((h->keys[i] >> shift & 0xFF) != 0xFF)
            return 1;
    return 0;
}

static kmq_status problem_init(problem *pb, kmq_histogram *h, double tol, int threads)
{
    memset(pb, 0, sizeof *pb);
    pb->h = h;
    pb->hk = h;
    pb->visible = h->n;
    if (kmq_has_alpha(h->channels) && any_translucent(h)) {
        const int C = h->channels, shift = 8 * (C - 1);
        /* Keys are sorted and alpha is their top byte: transparent ones first. */
        size_t transparent = 0;
        while (transparent < h->n && !(h->keys[transparent] >> shift))
            transparent++;
        pb->visible = h->n - transparent + (transparent > 0);
        uint32_t *keys = malloc(h->n * sizeof *keys);
        if (!keys)
            return KMQ_ERR_NOMEM;
        for (size_t i = 0; i < h->n; i++)
            keys[i] = kmq_alpha_to_space(h->keys[i], C);
        kmq_status s = kmq_histogram_build_weighted(keys, h->counts, h->n, C, &pb->space);
        free(keys);
        if (s != KMQ_OK)
            return s;
        pb->alpha = 1;
        pb->hk = &pb->space;
        pb->transparent = transparent > 0;
        pb->pin_key = kmq_alpha_to_space(0, C);
    }
    pb->tol_abs = kmq_tolerance(pb->hk, tol);
    pb->have_tree = pb->hk->n > 2;
    return pb->have_tree ? kmq_tree_build((kmq_histogram *)pb->hk, &pb->tree, threads) : KMQ_OK;
}

static void problem_free(problem *pb)
{
    if (pb->have_tree)
        kmq_tree_free(&pb->tree);
    if (pb->alpha)
        kmq_histogram_free(&pb->space);
}

/* The lossless answer with alpha: every visible colour as it is, and one
   transparent entry (0 in every channel) for all pixels of alpha 0. */
static kmq_status lossless_visible(const kmq_histogram *h, solution *sol)
{
    const int C = h->channels, shift = 8 * (C - 1);
    memset(sol, 0, sizeof *sol);
    sol->entries = malloc(h->n * C);
    sol->colour_labels = kmq_big_malloc(h->n);
    if (!sol->entries || !sol->colour_labels) {
        solution_free(sol);
        return KMQ_ERR_NOMEM;
    }
    int k = 0;
    for (size_t i = 0; i < h->n; i++) {
        if (!(h->keys[i] >> shift) && k > 0) { /* another transparent colour */
            sol->colour_labels[i] = 0;
            continue;
        }
        const uint32_t key = h->keys[i] >> shift ? h->keys[i] : 0;
        for (int c = 0; c < C; c++)
            sol->entries[(size_t)k * C + c] = (uint8_t)(key >> (8 * c));
        sol->colour_labels[i] = (uint8_t)k++;
    }
    sol->k = k;
    return KMQ_OK;
}

/* The answer for k colours (fewer when there are no more colours); start:
   as solve's. */
static kmq_status solve_k(const problem *pb, const kmq_params *params, int k, const double *start,
                          solution *sol)
{
    if (pb->alpha && pb->visible <= (size_t)k)
        return lossless_visible(pb->h, sol);
    const int merged = pb->hk->n <= (size_t)k; /* fewer points than colours (alpha) */
    kmq_status s = merged ? lossless(pb->hk, sol)
                          : solve(pb->hk, &pb->tree, params, k, pb->tol_abs,
                                  pb->transparent ? &pb->pin_key : NULL, start, sol);
    if (s != KMQ_OK)
        return s;
    if (!pb->alpha) {
        sol->sse = sol->over_black = sol->over_white = (double)sol->inertia;
        return KMQ_OK;
    }
    /* A solution on the clustering space becomes one for the pixels'
       colours: a straight codebook fitted exactly, labels per colour of h. */
    uint8_t *lab = kmq_big_malloc(pb->h->n);
    if (!lab)
        s = KMQ_ERR_NOMEM;
    else
        s = kmq_alpha_codebook(pb->h, pb->hk, pb->have_tree ? &pb->tree : NULL, sol->k,
                               pb->transparent && !merged, params->threads, sol->colour_labels,
                               sol->entries, lab, &sol->over_black, &sol->over_white);
    free(sol->colour_labels);
    sol->colour_labels = lab;
    sol->sse = (sol->over_black + sol->over_white) / 2;
    if (s != KMQ_OK)
        solution_free(sol);
    return s;
}

kmq_status kmq_quantize_histogram(kmq_histogram *h, uint64_t npixels, const kmq_params *params,
                                  double target, kmq_codebook *cb, uint8_t **colour_labels,
                                  kmq_stats *stats, int *reached)
{
    memset(cb, 0, sizeof *cb);
    *colour_labels = NULL;
    const int C = h->channels;
    /* with alpha, the error is counted over the colour channels (alpha.c) */
    const int counted = kmq_has_alpha(C) ? C - 1 : C;
    const double samples = (double)npixels * counted;
    problem pb;
    solution sol = {0};
    kmq_status s;
    if ((s = problem_init(&pb, h, params->tol, params->threads)) != KMQ_OK)
        goto done;
    if (target < 0) {
        s = solve_k(&pb, params, params->k, NULL, &sol);
    } else {
        /* Bisection over k, assuming the error falls as k grows (it need not
           exactly: k-means finds local minima); every k tried reuses the
           histogram and the tree. */
        int hi = pb.visible < KMQ_MAX_K ? (int)pb.visible : KMQ_MAX_K, lo = KMQ_MIN_K - 1; /* lo fails, hi ? */
        solution best = {0};
        s = solve_k(&pb, params, hi, NULL, &best);
        if (s == KMQ_OK && kmq_psnr(best.sse / samples) >= target) {
            while (s == KMQ_OK && hi - lo > 1) {
                int mid = lo + (hi - lo) / 2;
                solution trial;
                if ((s = solve_k(&pb, params, mid, NULL, &trial)) != KMQ_OK)
                    break;
                if (kmq_psnr(trial.sse / samples) >= target) {
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
    cb->k = sol.k;
    cb->channels = C;
    cb->entries = sol.entries, sol.entries = NULL;
    *colour_labels = sol.colour_labels, sol.colour_labels = NULL;
    if (stats) {
        memset(stats, 0, sizeof *stats);
        stats->pixels = (size_t)npixels;
        stats->distinct = pb.visible;
        stats->k = sol.k;
        stats->iterations = sol.iterations;
        stats->restart = sol.restart;
        stats->inertia = sol.sse;
        stats->mse = sol.sse / samples;
        stats->psnr = kmq_psnr(stats->mse);
        stats->psnr_black = pb.alpha ? kmq_psnr(sol.over_black / samples) : stats->psnr;
        stats->psnr_white = pb.alpha ? kmq_psnr(sol.over_white / samples) : stats->psnr;
    }
done:
    solution_free(&sol);
    problem_free(&pb);
    return s;
}

static kmq_status refit_misfits(kmq_histogram *h, const kmq_params *params, kmq_codebook *cb,
                                uint8_t *colour_labels);

/* Shared by kmq_quantize and kmq_quantize_quality: target < 0 means "k is
   params->k"; else the smallest k in 2..256 whose PSNR reaches target. */
static kmq_status quantize(const uint8_t *pixels, size_t npixels, int channels,
                           const uint8_t *weights, const kmq_params *caller_params,
                           double target, kmq_codebook *cb, uint8_t *labels,
                           kmq_stats *caller_stats, int *reached)
{
    if (!cb)
        return kmq_arg("cb is NULL");
    memset(cb, 0, sizeof *cb);
    kmq_params full;
    kmq_status s = kmq_params_read(caller_params, &full);
    if (s != KMQ_OK || (s = kmq_stats_check(caller_stats)) != KMQ_OK)
        return s;
    const kmq_params *params = &full;
    kmq_stats st, *stats = caller_stats ? &st : NULL; /* written to the caller's at the end */
    if (!pixels)
        return kmq_arg("pixels is NULL");
    if (!labels)
        return kmq_arg("labels is NULL");
    if (npixels == 0)
        return kmq_arg("npixels = 0: no pixels");
    if (channels < 1 || channels > KMQ_MAX_CHANNELS)
        return kmq_arg("channels = %d is outside 1..%d", channels, KMQ_MAX_CHANNELS);
    if (npixels > UINT32_MAX)
        return kmq_why(KMQ_ERR_TOO_LARGE, "npixels = %zu is above 2^32 - 1", npixels);

    kmq_histogram h;
    double t0 = kmq_seconds();
    if ((s = weights ? kmq_histogram_build_pixel_weights(pixels, weights, npixels, channels, &h)
                     : kmq_histogram_build(pixels, npixels, channels, &h)) != KMQ_OK)
        return s;
    double t_hist = kmq_seconds();
    uint8_t *colour_labels = NULL;
    s = kmq_quantize_histogram(&h, npixels, params, target, cb, &colour_labels, stats, reached);
    if (s == KMQ_OK && weights && (s = refit_misfits(&h, params, cb, colour_labels)) != KMQ_OK)
        kmq_codebook_free(cb);
    if (s == KMQ_OK) {
        double t_kmeans = kmq_seconds();
        kmq_label_pixels(&h, pixels, npixels, colour_labels, params->threads, labels);
        /* the error the pixels see, not the weighted one k-means minimised */
        if (weights && stats)
            s = kmq_measure(pixels, (int)npixels, 1, channels, cb, labels, stats); /* npixels <= 2^30 */
        if (s != KMQ_OK)
            kmq_codebook_free(cb);
        if (s == KMQ_OK && stats) {
            stats->seconds_histogram = t_hist - t0;
            stats->seconds_kmeans = t_kmeans - t_hist;
            stats->seconds_labels = kmq_seconds() - t_kmeans;
            kmq_stats_put(caller_stats, stats);
        }
    }
    free(colour_labels);
    kmq_histogram_free(&h);
    return s;
}

kmq_status kmq_quantize(const uint8_t *pixels, size_t npixels, int channels,
                        const kmq_params *params, kmq_codebook *cb, uint8_t *labels,
                        kmq_stats *stats)
{
    kmq_why_clear();
    int reached;
    return quantize(pixels, npixels, channels, NULL, params, -1, cb, labels, stats, &reached);
}

kmq_status kmq_quantize_quality(const uint8_t *pixels, size_t npixels, int channels,
                                const kmq_params *params, double target_psnr, kmq_codebook *cb,
                                uint8_t *labels, kmq_stats *stats, int *reached)
{
    kmq_why_clear();
    if (!(target_psnr > 0))
        return kmq_arg("target_psnr = %g is not above 0", target_psnr);
    if (!reached)
        return kmq_arg("reached is NULL");
    return quantize(pixels, npixels, channels, NULL, params, target_psnr, cb, labels, stats,
                    reached);
}

/* ---- the perceptual palette ----
 * What butteraugli (and an eye) rates worst is a region, not the mean: a
 * smooth gradient in bands, or a small colour that no entry came near (a
 * blue eye or a red lip at k = 16).  Two integer weights on the colour
 * counts move k-means toward those, and keep its sums exact:
 * - importance: each pixel counts 1 + IMPORTANCE * its smoothness
 *   (texture.c); error on smooth areas shows, on texture it hides;
 * - misfits: after that k-means, each colour counts 1 + min(d / MISFIT_STEP,
 *   MISFIT_MAX) times more (d: its distance to its entry, where the error
 *   is measured), and Lloyd goes on from the first answer.
 * Measured on tiger and kodim01-08 dithered (bench/what_people_see.py; the
 * figures are in README, Dithering): with dithering, mean butteraugli at k =
 * 16/64/256 from 15.45/6.50/2.85 to 12.9/5.4/2.5 (pngquant: 16.2/6.4/2.9).
 * Importance weights of 2 and 5, steps of 5 and 16 and a cap of 3
 * measured worse, and so did a second k-means from scratch on the
 * reweighted colours instead of going on from the first answer. */
#define IMPORTANCE 3
#define MISFIT_STEP 8.0
#define MISFIT_MAX 7
/* Lloyd iterations from the first answer: it took 31-80 to converge on
   tiger at k = 16-256; 20 measured as well as 100 (10 a little worse) and
   keeps PNG8 at k = 256 within 0.7x pngquant's time. */
#define REFIT_ITER 20

static kmq_status refit_misfits(kmq_histogram *h, const kmq_params *params, kmq_codebook *cb,
                                uint8_t *colour_labels)
{
    const int C = h->channels, k = cb->k;
    if (h->n <= (size_t)k) /* lossless */
        return KMQ_OK;
    const int alpha = kmq_has_alpha(C) && any_translucent(h);
    double start[KMQ_MAX_K * KMQ_MAX_CHANNELS];
    for (int j = 0; j < k; j++)
        kmq_error_point(cb->entries + (size_t)j * C, C, alpha, start + (size_t)j * C);
    uint32_t *counts = kmq_big_malloc(h->n * sizeof *counts);
    if (!counts)
        return KMQ_ERR_NOMEM;
    uint64_t total = 0;
    for (size_t i = 0; i < h->n; i++) {
        uint8_t px[KMQ_MAX_CHANNELS];
        double p[KMQ_MAX_CHANNELS], d = 0;
        for (int c = 0; c < C; c++)
            px[c] = (uint8_t)(h->keys[i] >> (8 * c));
        kmq_error_point(px, C, alpha, p);
        const double *e = start + (size_t)colour_labels[i] * C;
        for (int c = 0; c < C; c++)
            d += (p[c] - e[c]) * (p[c] - e[c]);
        const double steps = sqrt(d) / MISFIT_STEP;
        const uint64_t w = (uint64_t)h->counts[i] * (1 + (steps < MISFIT_MAX ? (int)steps : MISFIT_MAX));
        total += w;
        counts[i] = w > UINT32_MAX ? UINT32_MAX : (uint32_t)w;
    }
    if (total > UINT32_MAX) { /* beyond the exact sums: the first answer stays */
        free(counts);
        return KMQ_OK;
    }
    kmq_histogram h2;
    kmq_status s = kmq_histogram_build_weighted(h->keys, counts, h->n, C, &h2);
    free(counts);
    if (s != KMQ_OK)
        return s;
    problem pb;
    solution sol = {0};
    kmq_params pr = *params;
    pr.max_iter = params->max_iter < REFIT_ITER ? params->max_iter : REFIT_ITER;
    if ((s = problem_init(&pb, &h2, params->tol, params->threads)) == KMQ_OK &&
        (s = solve_k(&pb, &pr, k, start, &sol)) == KMQ_OK) {
        for (size_t i = 0; i < h->n; i++)
            colour_labels[i] = sol.colour_labels[kmq_histogram_find(&h2, h->keys[i])];
        memcpy(cb->entries, sol.entries, (size_t)sol.k * C);
        cb->k = sol.k;
    }
    solution_free(&sol);
    problem_free(&pb);
    kmq_histogram_free(&h2);
    return s;
}

kmq_status kmq_quantize_perceptual(const kmq_image *img, const kmq_params *params,
                                   kmq_codebook *cb, uint8_t *labels, kmq_stats *stats)
{
    kmq_why_clear();
    if (!cb)
        return kmq_arg("cb is NULL");
    memset(cb, 0, sizeof *cb);
    if (!img)
        return kmq_arg("img is NULL");
    if (!img->pixels)
        return kmq_arg("img.pixels is NULL");
    if (img->width < 1 || img->height < 1)
        return kmq_arg("img is %d x %d pixels", img->width, img->height);
    if (img->channels < 1 || img->channels > KMQ_MAX_CHANNELS)
        return kmq_arg("img.channels = %d is outside 1..%d", img->channels, KMQ_MAX_CHANNELS);
    if (!labels)
        return kmq_arg("labels is NULL");
    kmq_status s = kmq_params_check(params, NULL);
    if (s != KMQ_OK || (s = kmq_stats_check(stats)) != KMQ_OK)
        return s;
    const size_t npixels = (size_t)img->width * img->height;
    if (npixels > UINT32_MAX / (1 + IMPORTANCE)) /* beyond the exact sums: plain k-means */
        return kmq_quantize(img->pixels, npixels, img->channels, params, cb, labels, stats);
    uint8_t *weights = kmq_big_malloc(npixels);
    float *row = malloc((size_t)img->width * sizeof *row);
    kmq_texture m;
    if (!weights || !row ||
        kmq_texture_open(&m, img->pixels, img->width, img->height, img->channels,
                         kmq_translucent(img->pixels, npixels, img->channels)) != KMQ_OK) {
        free(weights), free(row);
        return KMQ_ERR_NOMEM;
    }
    for (int y = 0; y < img->height; y++) {
        kmq_texture_row(&m, y, row);
        for (int x = 0; x < img->width; x++)
            weights[(size_t)y * img->width + x] = (uint8_t)(1 + lrintf(IMPORTANCE * row[x]));
    }
    kmq_texture_close(&m);
    free(row);
    int reached;
    s = quantize(img->pixels, npixels, img->channels, weights, params, -1, cb, labels, stats,
                 &reached);
    free(weights);
    return s;
}
