/* kmq.h's contracts with a caller: kmq_last_why() says what was wrong in
   the thread's last failing call (naming the field for KMQ_ERR_ARG, the
   *why text where there is one, "" when there is nothing to add). */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmq.h"

Test(contracts, quantize_names_k_and_its_value)
{
    kmq_params p;
    kmq_params_default(&p);
    p.k = 300;
    uint8_t px[12] = {0}, lab[4];
    kmq_codebook cb;
    cr_assert_eq(kmq_quantize(px, 4, 3, &p, &cb, lab, NULL), KMQ_ERR_ARG);
    const char *why = kmq_last_why();
    cr_assert_not_null(why);
    cr_assert(strstr(why, "k") && strstr(why, "300"), "%s", why);
    cr_assert_str_eq(why, "params.k = 300 is outside 2..256");
    /* kmq_params_check keeps its field and says the same */
    const char *field = NULL;
    cr_assert_eq(kmq_params_check(&p, &field), KMQ_ERR_ARG);
    cr_assert_str_eq(field, "k");
    cr_assert_str_eq(kmq_last_why(), "params.k = 300 is outside 2..256");
}

Test(contracts, success_and_failures_with_nothing_to_add_leave_it_empty)
{
    kmq_params p;
    kmq_params_default(&p);
    p.max_iter = 0;
    cr_assert_eq(kmq_params_check(&p, NULL), KMQ_ERR_ARG);
    cr_assert_str_eq(kmq_last_why(), "params.max_iter = 0 is outside 1..1000000");
    /* a later success forgets it */
    p.max_iter = 5;
    cr_assert_eq(kmq_params_check(&p, NULL), KMQ_OK);
    cr_assert_str_eq(kmq_last_why(), "");
    /* as does a failure that kmq_strerror says all of */
    cr_assert_eq(kmq_params_check(NULL, NULL), KMQ_ERR_ARG);
    cr_assert_str_eq(kmq_last_why(), "params is NULL");
    const uint8_t junk[16] = "not a codebook";
    kmq_codebook cb;
    cr_assert_eq(kmq_codebook_decode_bin(junk, sizeof junk, &cb), KMQ_ERR_CB_MAGIC);
    cr_assert_str_eq(kmq_last_why(), "");
    /* and errno survives for KMQ_ERR_IO */
    kmq_image img;
    errno = 0;
    cr_assert_eq(kmq_image_decode_file("/nonexistent/kmq", 0, &img, NULL, NULL), KMQ_ERR_IO);
    cr_assert_eq(errno, ENOENT);
    cr_assert_str_eq(kmq_last_why(), "");
}

Test(contracts, why_out_parameters_and_kmq_last_why_agree)
{
    /* a decoder's own text */
    const uint8_t not_png[12] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13};
    kmq_image img;
    const char *why = NULL;
    kmq_status s = kmq_image_decode(not_png, sizeof not_png, 0, &img, &why);
    cr_assert_neq(s, KMQ_OK);
    cr_assert_not_null(why);
    cr_assert_str_eq(kmq_last_why(), why);
    /* an argument error: *why names it too (it was NULL before 0.3) */
    why = NULL;
    cr_assert_eq(kmq_image_decode(NULL, 10, 0, &img, &why), KMQ_ERR_ARG);
    cr_assert_str_eq(why, "buf is NULL");
    cr_assert_str_eq(kmq_last_why(), "buf is NULL");
    why = NULL;
    cr_assert_eq(kmq_labels_decode(not_png, sizeof not_png, 0, NULL, &why), KMQ_ERR_ARG);
    cr_assert_str_eq(why, "img is NULL");
}

/* Each function that returns KMQ_ERR_ARG names what is wrong. */
Test(contracts, every_argument_error_names_its_argument)
{
    uint8_t px[4 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, lab[4] = {0, 1, 0, 1};
    uint8_t entries[6] = {0, 0, 0, 255, 255, 255}, *out = NULL;
    size_t len;
    kmq_codebook cb = {2, 3, entries};
    kmq_params p;
    kmq_params_default(&p);
    kmq_png_options o;
    kmq_png_options_default(&o);
    int reached;
#define NAMES(call, text)                                                                          \
    do {                                                                                           \
        cr_assert_eq((call), KMQ_ERR_ARG, #call);                                                  \
        cr_assert_str_eq(kmq_last_why(), text, #call);                                             \
    } while (0)
    NAMES(kmq_quantize(NULL, 4, 3, &p, &cb, lab, NULL), "pixels is NULL");
    NAMES(kmq_quantize(px, 4, 5, &p, &cb, lab, NULL), "channels = 5 is outside 1..4");
    NAMES(kmq_quantize_quality(px, 4, 3, &p, -1, &cb, lab, NULL, &reached),
          "target_psnr = -1 is not above 0");
    cb = (kmq_codebook){2, 3, entries};
    NAMES(kmq_dither_strength(px, 2, 2, 3, &cb, 1.5, lab, NULL), "strength = 1.5 is outside 0..1");
    NAMES(kmq_dither(px, 2, 2, 4, &cb, lab, NULL), "channels = 4 is not cb.channels = 3");
    kmq_image img = {2, 2, 3, px};
    NAMES(kmq_quantize_perceptual(&img, &p, &cb, NULL, NULL), "labels is NULL");
    cb = (kmq_codebook){0, 3, entries};
    NAMES(kmq_labels_to_pixels(lab, 4, &cb, px, NULL), "cb.k = 0 is outside 1..256");
    NAMES(kmq_codebook_encode_bin(&cb, &out, &len), "cb.k = 0 is outside 1..256");
    cb = (kmq_codebook){2, 3, NULL};
    NAMES(kmq_palette_sort(&cb, lab, 2, 2), "cb.entries is NULL");
    cb = (kmq_codebook){2, 3, entries};
    o.level = 13;
    NAMES(kmq_labels_encode(lab, 2, 2, 2, &o, &out, &len), "o.level = 13 is outside 1..12");
    NAMES(kmq_png8_encode(lab, 2, 2, &cb, &o, &out, &len), "o.level = 13 is outside 1..12");
    kmq_png_options_default(&o);
    NAMES(kmq_labels_encode(lab, 0, 2, 2, &o, &out, &len), "the image is 0 x 2 pixels");
    NAMES(kmq_swatch_size(&cb, 0, 4, &reached, &reached), "cell = 0 is outside 1..1024");
    NAMES(kmq_read_file(NULL, 0, &out, &len), "path is NULL");
    NAMES(kmq_png_encode(px, 2, 2, 0, &out, &len), "channels = 0 is outside 1..4");
    kmq_diff d;
    NAMES(kmq_compare(&img, NULL, &d), "b is NULL");
    /* other failures say what they can */
    lab[3] = 2;
    cr_assert_eq(kmq_labels_to_pixels(lab, 4, &cb, px, NULL), KMQ_ERR_LABEL_RANGE);
    cr_assert_str_eq(kmq_last_why(), "labels[3] = 2 is not below cb.k = 2");
    kmq_image small = {1, 2, 3, px};
    cr_assert_eq(kmq_compare(&img, &small, &d), KMQ_ERR_SIZE_MISMATCH);
    cr_assert_str_eq(kmq_last_why(), "a is 2 x 2 with 3 channels, b 1 x 2 with 3");
#undef NAMES
}

static void *fail_elsewhere(void *arg)
{
    (void)arg;
    kmq_params p;
    kmq_params_default(&p);
    p.threads = -1;
    cr_assert_eq(kmq_params_check(&p, NULL), KMQ_ERR_ARG);
    cr_assert_str_eq(kmq_last_why(), "params.threads = -1 is outside 0..1024");
    return NULL;
}

Test(contracts, each_thread_has_its_own_text)
{
    kmq_params p;
    kmq_params_default(&p);
    p.tol = -1;
    cr_assert_eq(kmq_params_check(&p, NULL), KMQ_ERR_ARG);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, fail_elsewhere, NULL), 0);
    pthread_join(t, NULL);
    cr_assert_str_eq(kmq_last_why(), "params.tol = -1 is not a finite number >= 0");
}

/* ---- sizes (kmq.h, "Sizes") ---- */

/* An image with more colours than k, so that k-means runs (and would call
   a progress callback). */
static void gradient(uint8_t *px, int n)
{
    for (int i = 0; i < n; i++)
        px[3 * i] = (uint8_t)(i * 7), px[3 * i + 1] = (uint8_t)(i * 13), px[3 * i + 2] = (uint8_t)i;
}

Test(contracts, the_defaults_set_each_size)
{
    kmq_params p;
    kmq_png_options o;
    kmq_decode_options d;
    kmq_stats st;
    memset(&p, 0xFF, sizeof p), memset(&o, 0xFF, sizeof o), memset(&d, 0xFF, sizeof d);
    memset(&st, 0xFF, sizeof st);
    kmq_params_default(&p);
    kmq_png_options_default(&o);
    kmq_decode_options_default(&d);
    kmq_stats_init(&st);
    cr_assert_eq(p.size, sizeof p);
    cr_assert_eq(o.size, sizeof o);
    cr_assert_eq(d.size, sizeof d);
    cr_assert_eq(st.size, sizeof st);
    cr_assert_eq(st.pixels, 0);
    cr_assert_eq(d.max_pixels, 0);
    cr_assert_eq(d.keep_orientation, 0);
    /* the smallest sizes are the ends of fields, within the structs */
    cr_assert_leq(KMQ_PARAMS_SIZE_MIN, offsetof(kmq_params, progress));
    cr_assert_leq(KMQ_STATS_SIZE_MIN, offsetof(kmq_stats, psnr_black));
    cr_assert_leq(KMQ_PNG_OPTIONS_SIZE_MIN, sizeof(kmq_png_options));
    cr_assert_leq(KMQ_DECODE_OPTIONS_SIZE_MIN, sizeof(kmq_decode_options));
}

/* The callback of a kmq_params whose size holds progress but ends inside
   progress_ctx: it is called, with ctx NULL (the field's default). */
static int calls;
static void counted(void *ctx, int restart, int restarts, int iteration)
{
    (void)restart, (void)restarts, (void)iteration;
    cr_assert_null(ctx);
    calls++;
}

/* A caller built against a kmq.h whose kmq_params ended before the
   progress callback: what follows its size is not its, and is ignored
   (0xFF bytes here: a call through them would crash). */
Test(contracts, an_older_smaller_params_still_works)
{
    enum { N = 600 };
    uint8_t px[N * 3], lab_full[N], lab_old[N];
    gradient(px, N);
    kmq_params full;
    kmq_params_default(&full);
    full.k = 8;
    kmq_codebook a, b;
    cr_assert_eq(kmq_quantize(px, N, 3, &full, &a, lab_full, NULL), KMQ_OK);
    const size_t sizes[] = {KMQ_PARAMS_SIZE_MIN, offsetof(kmq_params, progress) + 3,
                            offsetof(kmq_params, progress_ctx) + 1};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        kmq_params old;
        memset(&old, 0xFF, sizeof old);
        memcpy(&old, &full, sizes[i] < offsetof(kmq_params, progress) ? sizes[i]
                                                                      : offsetof(kmq_params, progress));
        old.size = sizes[i];
        const int has_progress = sizes[i] >= offsetof(kmq_params, progress_ctx);
        if (has_progress)
            old.progress = counted;
        calls = 0;
        const char *field = "unset";
        cr_assert_eq(kmq_params_check(&old, &field), KMQ_OK, "size %zu", sizes[i]);
        cr_assert_null(field);
        cr_assert_eq(kmq_quantize(px, N, 3, &old, &b, lab_old, NULL), KMQ_OK);
        cr_assert_eq(a.k, b.k);
        cr_assert(!memcmp(a.entries, b.entries, (size_t)a.k * 3));
        cr_assert(!memcmp(lab_full, lab_old, N));
        cr_assert(has_progress ? calls > 0 : calls == 0);
        kmq_codebook_free(&b);
    }
    kmq_codebook_free(&a);
}

/* A smaller kmq_stats is written up to its size, not a byte further. */
Test(contracts, a_smaller_stats_is_written_up_to_its_size)
{
    enum { N = 600 };
    uint8_t px[N * 3], lab[N];
    gradient(px, N);
    kmq_params p;
    kmq_params_default(&p);
    p.k = 8;
    kmq_codebook cb;
    kmq_stats full;
    kmq_stats_init(&full);
    cr_assert_eq(kmq_quantize(px, N, 3, &p, &cb, lab, &full), KMQ_OK);
    kmq_codebook_free(&cb);
    const size_t sizes[] = {KMQ_STATS_SIZE_MIN, KMQ_STATS_SIZE_MIN + 5,
                            offsetof(kmq_stats, seconds_histogram)};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        const size_t size = sizes[i];
        union {
            kmq_stats st;
            unsigned char bytes[sizeof(kmq_stats)];
        } u;
        memset(&u, 0xFF, sizeof u);
        u.st.size = size;
        cr_assert_eq(kmq_quantize(px, N, 3, &p, &cb, lab, &u.st), KMQ_OK);
        cr_assert_eq(u.st.size, size);
        cr_assert_eq(u.st.pixels, N);
        cr_assert_eq(u.st.distinct, full.distinct);
        cr_assert_eq(u.st.k, full.k);
        cr_assert_eq(u.st.psnr, full.psnr);
        for (size_t at = size; at < sizeof u; at++)
            cr_assert_eq(u.bytes[at], 0xFF, "byte %zu of a kmq_stats of size %zu was written", at,
                         size);
        /* dithering updates the fields within the size, and no others */
        cr_assert_eq(kmq_dither(px, N, 1, 3, &cb, lab, &u.st), KMQ_OK);
        cr_assert_eq(u.st.pixels, N);
        for (size_t at = size; at < sizeof u; at++)
            cr_assert_eq(u.bytes[at], 0xFF, "byte %zu: kmq_dither wrote past size %zu", at, size);
        kmq_codebook_free(&cb);
    }
}

Test(contracts, sizes_out_of_range_are_argument_errors_that_name_the_size)
{
    uint8_t px[4 * 3] = {0}, lab[4];
    kmq_codebook cb;
    char want[160];
    kmq_params p;
    const size_t bad[] = {0, KMQ_PARAMS_SIZE_MIN - 1, sizeof p + 1};
    for (size_t i = 0; i < 3; i++) {
        kmq_params_default(&p);
        p.size = bad[i];
        snprintf(want, sizeof want, "params.size = %zu is not a kmq_params size (%zu..%zu)",
                 bad[i], (size_t)KMQ_PARAMS_SIZE_MIN, sizeof p);
        const char *field = NULL;
        cr_assert_eq(kmq_params_check(&p, &field), KMQ_ERR_ARG);
        cr_assert_str_eq(field, "size");
        cr_assert_str_eq(kmq_last_why(), want);
        cr_assert_eq(kmq_quantize(px, 4, 3, &p, &cb, lab, NULL), KMQ_ERR_ARG);
        cr_assert_str_eq(kmq_last_why(), want);
    }
    kmq_params_default(&p);
    kmq_stats st;
    memset(&st, 0xFF, sizeof st);
    st.size = 3;
    cr_assert_eq(kmq_quantize(px, 4, 3, &p, &cb, lab, &st), KMQ_ERR_ARG);
    snprintf(want, sizeof want, "stats.size = 3 is not a kmq_stats size (%zu..%zu)",
             (size_t)KMQ_STATS_SIZE_MIN, sizeof st);
    cr_assert_str_eq(kmq_last_why(), want);
    cr_assert_eq(st.pixels, (size_t)-1, "a refused kmq_stats was written");

    kmq_png_options o;
    kmq_png_options_default(&o);
    o.size = 0;
    uint8_t *out;
    size_t len;
    snprintf(want, sizeof want, "o.size = 0 is not a kmq_png_options size (%zu..%zu)",
             (size_t)KMQ_PNG_OPTIONS_SIZE_MIN, sizeof o);
    cr_assert_eq(kmq_labels_encode(lab, 2, 2, 2, &o, &out, &len), KMQ_ERR_ARG);
    cr_assert_str_eq(kmq_last_why(), want);

    kmq_decode_options d;
    kmq_decode_options_default(&d);
    d.size = sizeof d + 8;
    kmq_image img;
    const char *why = NULL;
    snprintf(want, sizeof want, "o.size = %zu is not a kmq_decode_options size (%zu..%zu)",
             sizeof d + 8, (size_t)KMQ_DECODE_OPTIONS_SIZE_MIN, sizeof d);
    cr_assert_eq(kmq_image_decode_file_ex("/nonexistent", &d, &img, NULL, &why, NULL), KMQ_ERR_ARG);
    cr_assert_str_eq(why, want);
    cr_assert_str_eq(kmq_last_why(), want);
    /* NULL options are the defaults */
    cr_assert_eq(kmq_image_decode_file_ex("/nonexistent", NULL, &img, NULL, &why, NULL), KMQ_ERR_IO);
}
