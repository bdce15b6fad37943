/* Several threads calling the library at once (tests/unit/test_api.c under
   Criterion, and tests/tools/tsan_threads.c under ThreadSanitizer, which
   Criterion's process arena does not run under): every call is checked,
   and each thread's results are compared with the serial ones. */
#ifndef KMQ_TEST_CONCURRENT_JOBS_H
#define KMQ_TEST_CONCURRENT_JOBS_H

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kmq.h"

enum { JOB_W = 96, JOB_H = 64, JOB_VARIANTS = 8 };

typedef struct {
    uint8_t *labels_png, *png8, *png, *bin;
    size_t labels_png_len, png8_len, png_len, bin_len;
    double psnr;
} job_result;

/* Everything a caller does with one image, with settings that differ by
   `variant` (DEFLATE level, exhaustive filters, packing, k, init, thread
   count), so that state shared between calls would show in the bytes.
   Returns 0, or -1 if a call failed. */
static int run_job(const kmq_image *img, int variant, job_result *r)
{
    memset(r, 0, sizeof *r);
    kmq_params p;
    kmq_params_default(&p);
    p.k = 8 + variant * 5;
    p.n_init = 2;
    p.init = variant % 2 ? KMQ_INIT_RANDOM : KMQ_INIT_KMEANSPP;
    p.seed = (uint64_t)variant;
    p.threads = 1 + variant % 2;
    const size_t n = (size_t)img->width * img->height;
    kmq_codebook cb = {0};
    kmq_stats st;
    kmq_stats_init(&st);
    uint8_t *labels = malloc(n), *decoded = malloc(n * img->channels);
    const kmq_png_options o = {.size = sizeof o,
                               .level = 1 + variant % KMQ_MAX_LEVEL,
                               .exhaustive = variant % 3 == 0,
                               .threads = 1 + variant % 2,
                               .packed = variant % 4 == 1};
    kmq_image back = {0};
    int ok = labels && decoded &&
             kmq_quantize(img->pixels, n, img->channels, &p, &cb, labels, &st) == KMQ_OK &&
             kmq_palette_sort(&cb, labels, img->width, img->height) == KMQ_OK &&
             kmq_labels_encode(labels, img->width, img->height, cb.k, &o, &r->labels_png,
                               &r->labels_png_len) == KMQ_OK &&
             kmq_png8_encode(labels, img->width, img->height, &cb, &o, &r->png8, &r->png8_len) ==
                 KMQ_OK &&
             kmq_codebook_encode_bin(&cb, &r->bin, &r->bin_len) == KMQ_OK &&
             kmq_labels_to_pixels(labels, n, &cb, decoded, NULL) == KMQ_OK &&
             kmq_png_encode(decoded, img->width, img->height, img->channels, &r->png,
                            &r->png_len) == KMQ_OK &&
             /* and a decode, whose allocation budget is per thread */
             kmq_image_decode(r->png, r->png_len, 0, &back, NULL) == KMQ_OK &&
             !memcmp(back.pixels, decoded, n * img->channels);
    r->psnr = st.psnr;
    kmq_image_free(&back);
    free(decoded);
    free(labels);
    kmq_codebook_free(&cb);
    return ok ? 0 : -1;
}

static void job_result_free(job_result *r)
{
    free(r->labels_png), free(r->png8), free(r->png), free(r->bin);
}

static int job_result_same(const job_result *a, const job_result *b)
{
    return a->labels_png_len == b->labels_png_len && a->png8_len == b->png8_len &&
           a->png_len == b->png_len && a->bin_len == b->bin_len && a->psnr == b->psnr &&
           !memcmp(a->labels_png, b->labels_png, a->labels_png_len) &&
           !memcmp(a->png8, b->png8, a->png8_len) && !memcmp(a->png, b->png, a->png_len) &&
           !memcmp(a->bin, b->bin, a->bin_len);
}

typedef struct {
    const kmq_image *img;
    const job_result *serial; /* [JOB_VARIANTS] */
    int id, rounds, mismatches;
} job_worker;

static void *job_work(void *arg)
{
    job_worker *w = arg;
    for (int round = 0; round < w->rounds; round++) {
        const int variant = (w->id + round) % JOB_VARIANTS;
        job_result r;
        w->mismatches += run_job(w->img, variant, &r) != 0 || !job_result_same(&r, &w->serial[variant]);
        job_result_free(&r);
    }
    return NULL;
}

/* The image every job works on: RGBA (the alpha path too), smooth with
   texture so that k-means has work.  Free with kmq_image_free. */
static kmq_image job_image(void)
{
    kmq_image img = {JOB_W, JOB_H, 4, malloc((size_t)JOB_W * JOB_H * 4)};
    for (int i = 0; img.pixels && i < JOB_W * JOB_H; i++) {
        const int x = i % JOB_W, y = i / JOB_W;
        uint8_t *q = img.pixels + (size_t)i * 4;
        q[0] = (uint8_t)(x * 255 / JOB_W), q[1] = (uint8_t)(y * 255 / JOB_H), q[2] = (uint8_t)(x ^ y);
        q[3] = x < JOB_W / 4 && y < JOB_H / 4 ? 0 : 255;
        q[i % 3] ^= (uint8_t)(i * 2654435761u >> 27);
    }
    return img;
}

/* Runs `rounds` jobs on each of `nthreads` threads at once: the number of
   results that differ from the serial ones (or failed), -1 on a set-up
   failure. */
static int concurrent_mismatches(int nthreads, int rounds)
{
    kmq_image img = job_image();
    job_result serial[JOB_VARIANTS];
    job_worker *w = calloc((size_t)nthreads, sizeof *w);
    pthread_t *t = calloc((size_t)nthreads, sizeof *t);
    int mismatches = -1, started = 0;
    if (!img.pixels || !w || !t)
        goto done;
    for (int v = 0; v < JOB_VARIANTS; v++)
        if (run_job(&img, v, &serial[v]) != 0)
            goto done;
    mismatches = 0;
    for (; started < nthreads; started++) {
        w[started] = (job_worker){&img, serial, started, rounds, 0};
        if (pthread_create(&t[started], NULL, job_work, &w[started]) != 0) {
            mismatches = -1;
            break;
        }
    }
    for (int i = 0; i < started; i++) {
        pthread_join(t[i], NULL);
        if (mismatches >= 0)
            mismatches += w[i].mismatches;
    }
done:
    for (int v = 0; v < JOB_VARIANTS && mismatches >= 0; v++)
        job_result_free(&serial[v]);
    free(w), free(t);
    kmq_image_free(&img);
    return mismatches;
}

#endif
