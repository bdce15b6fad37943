/* Streaming: colour counts in pieces, the band PNG writer (also across
   IDATs), and kmq_stream_compress against the in-memory pipeline. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "bytes.h"
#include "formats.h"

typedef struct {
    uint8_t *p;
    size_t len, cap;
} membuf;

static kmq_status mem_write(void *ctx, const uint8_t *buf, size_t len)
{
    membuf *m = ctx;
    if (m->len + len > m->cap) {
        m->cap = (m->len + len) * 2;
        cr_assert((m->p = realloc(m->p, m->cap)));
    }
    memcpy(m->p + m->len, buf, len);
    m->len += len;
    return KMQ_OK;
}

static kmq_status mem_patch(void *ctx, uint64_t offset, const uint8_t *buf, size_t len)
{
    membuf *m = ctx;
    cr_assert(offset + len <= m->len, "patched past the end");
    memcpy(m->p + offset, buf, len);
    return KMQ_OK;
}

/* A smooth RGB image with noise: many colours, runs of labels. */
static uint8_t *image(int w, int h, int C)
{
    uint8_t *px = malloc((size_t)w * h * C);
    uint32_t r = 1;
    for (int i = 0; i < w * h * C; i++) {
        r = r * 1103515245u + 12345u;
        px[i] = (uint8_t)((i / C % w) * 200 / w + (i / C / w) * 50 / h + (r >> 28));
    }
    return px;
}

Test(stream, colours_added_in_pieces_quantize_and_label_as_kmq_quantize)
{
    const int w = 157, h = 93, C = 3;
    const size_t n = (size_t)w * h;
    uint8_t *px = image(w, h, C), *want = malloc(n), *got = malloc(n);
    kmq_params p;
    kmq_params_default(&p);
    p.k = 24;
    kmq_codebook cb1, cb2;
    kmq_stats st1, st2;
    kmq_stats_init(&st1);
    kmq_stats_init(&st2);
    cr_assert_eq(kmq_quantize(px, n, C, &p, &cb1, want, &st1), KMQ_OK);
    kmq_colours *c;
    cr_assert_eq(kmq_colours_new(C, &c), KMQ_OK);
    for (size_t at = 0; at < n; at += 1000) /* uneven pieces */
        cr_assert_eq(kmq_colours_add(c, px + at * C, n - at < 1000 ? n - at : 1000), KMQ_OK);
    cr_assert_eq(kmq_colours_label(c, px, n, got), KMQ_ERR_ARG); /* not quantized yet */
    cr_assert_eq(kmq_colours_quantize(c, &p, 0, &cb2, &st2, NULL), KMQ_OK);
    cr_assert_eq(kmq_colours_label(c, px, n, got), KMQ_OK);
    cr_assert_eq(cb1.k, cb2.k);
    cr_assert_arr_eq(cb1.entries, cb2.entries, (size_t)cb1.k * C);
    cr_assert_arr_eq(want, got, n);
    cr_assert_eq(st1.inertia, st2.inertia);
    cr_assert_eq(st1.distinct, st2.distinct);
    kmq_colours_free(c);
    kmq_codebook_free(&cb1), kmq_codebook_free(&cb2);
    free(px), free(want), free(got);
}

/* The chunks of a PNG: their types and lengths, and the IDATs' data joined. */
static size_t idats(const uint8_t *png, size_t len, uint32_t *lens, size_t max, uint8_t *z,
                    size_t *zlen)
{
    size_t n = 0, at = 8;
    *zlen = 0;
    while (at + 12 <= len) {
        const uint32_t l = kmq_get_be32(png + at);
        if (!memcmp(png + at + 4, "IDAT", 4)) {
            cr_assert(n < max);
            lens[n++] = l;
            memcpy(z + *zlen, png + at + 8, l);
            *zlen += l;
        }
        at += 12 + (size_t)l;
    }
    cr_assert_eq(at, len);
    return n;
}

Test(stream, writer_splits_idats_where_they_fill_and_the_stream_stays_whole)
{
    const int w = 211, h = 97;
    uint8_t *labels = image(w, h, 1);
    membuf one = {0}, many = {0};
    kmq_sink s1 = {mem_write, mem_patch, &one}, s2 = {mem_write, mem_patch, &many};
    kmq_png_writer *w1, *w2;
    const int f = kmq_labels_filter(labels, w, h, 6, 0); /* as kmq_labels_encode picks it */
    cr_assert_eq(kmq_png_writer_open(&s1, w, h, 0, 8, f, 6, 2, NULL, 0, &w1), KMQ_OK);
    cr_assert_eq(kmq_png_writer_open(&s2, w, h, 0, 8, f, 6, 2, NULL, 0, &w2), KMQ_OK);
    kmq_png_writer_idat_max(w2, 1000);
    for (int y = 0; y < h; y += 10) {
        const uint32_t n = h - y < 10 ? (uint32_t)(h - y) : 10;
        cr_assert_eq(kmq_png_writer_rows(w1, labels + (size_t)y * w, n), KMQ_OK);
        cr_assert_eq(kmq_png_writer_rows(w2, labels + (size_t)y * w, n), KMQ_OK);
    }
    cr_assert_eq(kmq_png_writer_finish(w1), KMQ_OK);
    cr_assert_eq(kmq_png_writer_finish(w2), KMQ_OK);
    /* One IDAT: the in-memory writer's bytes. */
    uint8_t *mem;
    size_t mem_len;
    kmq_png_options o;
    kmq_png_options_default(&o);
    cr_assert_eq(kmq_labels_encode(labels, w, h, 256, &o, &mem, &mem_len), KMQ_OK);
    cr_assert(mem_len == one.len && !memcmp(mem, one.p, one.len), "one IDAT: in-memory bytes");
    uint32_t l1[4], l2[64];
    uint8_t *z1 = malloc(one.len), *z2 = malloc(many.len);
    size_t zl1, zl2;
    cr_assert_eq(idats(one.p, one.len, l1, 4, z1, &zl1), 1);
    const size_t n2 = idats(many.p, many.len, l2, 64, z2, &zl2);
    cr_assert(n2 > 3, "%zu IDATs", n2);
    for (size_t i = 0; i + 1 < n2; i++)
        cr_assert_eq(l2[i], 1000);
    cr_assert(l2[n2 - 1] >= 1 && l2[n2 - 1] <= 1000);
    cr_assert_eq(zl1, zl2);
    cr_assert_arr_eq(z1, z2, zl1); /* the same zlib stream, cut differently */
    /* Every reader takes it: kmq's and zlib's own. */
    kmq_image img;
    cr_assert_eq(kmq_labels_decode(many.p, many.len, 0, &img, NULL), KMQ_OK);
    cr_assert_arr_eq(img.pixels, labels, (size_t)w * h);
    kmq_image_free(&img);
    uLongf raw_len = (uLongf)(w + 1) * h;
    uint8_t *raw = malloc(raw_len);
    cr_assert_eq(uncompress(raw, &raw_len, z2, zl2), Z_OK);
    cr_assert_eq(raw_len, (uLongf)(w + 1) * h);
    free(raw), free(z1), free(z2), free(mem), free(one.p), free(many.p), free(labels);
}

Test(stream, stream_compress_writes_the_in_memory_label_png)
{
    const int w = 143, h = 181;
    for (int C = 1; C <= 4; C++) {
        uint8_t *px = image(w, h, C), *png;
        size_t len;
        cr_assert_eq(kmq_png_encode(px, w, h, C, &png, &len), KMQ_OK);
        char path[] = "/tmp/kmq-test-stream-XXXXXX";
        int fd = mkstemp(path);
        cr_assert(fd >= 0);
        cr_assert_eq(write(fd, png, len), (ssize_t)len);
        close(fd);
        kmq_params p;
        kmq_params_default(&p);
        p.k = 16;
        kmq_png_options o;
        kmq_png_options_default(&o);
        /* in memory */
        const size_t n = (size_t)w * h;
        uint8_t *labels = malloc(n), *enc, *want;
        size_t enc_len, want_len;
        kmq_codebook cb1, cb2;
        cr_assert_eq(kmq_quantize(px, n, C, &p, &cb1, labels, NULL), KMQ_OK);
        cr_assert_eq(kmq_palette_sort(&cb1, labels, w, h), KMQ_OK);
        cr_assert_eq(kmq_labels_encode(labels, w, h, cb1.k, &o, &enc, &enc_len), KMQ_OK);
        cr_assert_eq(kmq_labels_add_metadata(enc, enc_len, NULL, &cb1, &want, &want_len), KMQ_OK);
        /* streamed */
        kmq_rows *rows;
        membuf m = {0};
        kmq_sink sink = {mem_write, mem_patch, &m};
        cr_assert_eq(kmq_rows_open(path, 0, &rows, NULL, NULL, NULL), KMQ_OK);
        cr_assert_eq(kmq_stream_compress(rows, &p, 0, &o, NULL, &sink, &cb2, NULL, NULL, NULL),
                     KMQ_OK);
        /* -z is the in-memory path's only */
        kmq_codebook cb3;
        o.exhaustive = 1;
        cr_assert_eq(kmq_rows_rewind(rows, NULL), KMQ_OK);
        cr_assert_eq(kmq_stream_compress(rows, &p, 0, &o, NULL, &sink, &cb3, NULL, NULL, NULL),
                     KMQ_ERR_ARG);
        kmq_rows_close(rows);
        unlink(path);
        cr_assert_eq(cb1.k, cb2.k);
        cr_assert_arr_eq(cb1.entries, cb2.entries, (size_t)cb1.k * C);
        cr_assert(m.len == want_len && !memcmp(m.p, want, want_len), "C=%d: label PNGs differ", C);
        kmq_codebook_free(&cb1), kmq_codebook_free(&cb2);
        free(px), free(png), free(labels), free(enc), free(want), free(m.p);
    }
}

Test(stream, rows_open_refuses_what_cannot_be_streamed)
{
    const char *why = NULL;
    kmq_rows *rows = NULL;
    char path[] = "/tmp/kmq-test-stream-XXXXXX";
    int fd = mkstemp(path);
    static const char jpeg[] = "\xFF\xD8\xFF\xE0 not really a JPEG";
    cr_assert_eq(write(fd, jpeg, sizeof jpeg - 1), (ssize_t)(sizeof jpeg - 1));
    close(fd);
    cr_assert_eq(kmq_rows_open(path, 0, &rows, NULL, &why, NULL), KMQ_ERR_IMAGE_FORMAT);
    cr_assert_str_eq(why, "only PNG, TIFF and PNM images can be streamed");
    cr_assert_null(rows);
    unlink(path);
    cr_assert_eq(kmq_rows_open("/nonexistent/x.png", 0, &rows, NULL, &why, NULL), KMQ_ERR_IO);
    cr_assert_eq(kmq_rows_open("/tmp", 0, &rows, NULL, &why, NULL), KMQ_ERR_IO);
}

/* The streamed input changed between the passes (k-means runs between the
   first and the second): the progress callback changes the file. */
typedef struct {
    const char *path;
    int how, done;
} change;
enum { KEEP_TIME, TRUNCATE, REPLACE };

static void change_input(void *ctx, int restart, int restarts, int iteration)
{
    (void)restart, (void)restarts, (void)iteration;
    change *c = ctx;
    if (c->done++)
        return;
    if (c->how == REPLACE) { /* a new file under the name: the open one is read on */
        cr_assert_eq(unlink(c->path), 0);
        FILE *f = fopen(c->path, "wb");
        cr_assert(f && fputs("P6\n1 1\n255\nabc", f) >= 0 && fclose(f) == 0);
        return;
    }
    int fd = open(c->path, O_RDWR);
    cr_assert(fd >= 0);
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    if (c->how == TRUNCATE) {
        cr_assert_eq(ftruncate(fd, st.st_size / 2), 0);
    } else { /* one pixel rewritten in place, then the old time put back (as cp -p does) */
        uint8_t px[3] = {1, 2, 3};
        cr_assert_eq(pwrite(fd, px, 3, st.st_size - 300), 3);
        const struct timespec times[2] = {st.st_atim, st.st_mtim};
        cr_assert_eq(futimens(fd, times), 0);
    }
    close(fd);
}

Test(stream, a_file_changed_between_the_passes_is_refused)
{
    const int w = 120, h = 90, C = 3;
    uint8_t *px = image(w, h, C);
    for (int how = KEEP_TIME; how <= REPLACE; how++) {
        char path[] = "/tmp/kmq-test-stream-XXXXXX";
        int fd = mkstemp(path);
        cr_assert(fd >= 0);
        char head[32];
        const int hl = snprintf(head, sizeof head, "P6\n%d %d\n255\n", w, h);
        cr_assert_eq(write(fd, head, (size_t)hl), hl);
        cr_assert_eq(write(fd, px, (size_t)w * h * C), (ssize_t)w * h * C);
        close(fd);
        change c = {path, how, 0};
        kmq_params p;
        kmq_params_default(&p);
        p.k = 8, p.n_init = 1, p.progress = change_input, p.progress_ctx = &c;
        kmq_png_options o;
        kmq_png_options_default(&o);
        kmq_rows *rows;
        membuf m = {0};
        kmq_sink sink = {mem_write, mem_patch, &m};
        kmq_codebook cb;
        const char *why = "unset";
        cr_assert_eq(kmq_rows_open(path, 0, &rows, NULL, NULL, NULL), KMQ_OK);
        kmq_status s = kmq_stream_compress(rows, &p, 0, &o, NULL, &sink, &cb, NULL, NULL, &why);
        kmq_rows_close(rows);
        unlink(path);
        cr_assert(c.done, "the file was not changed");
        if (how == REPLACE) {
            cr_assert_eq(s, KMQ_OK, "the file replaced by rename is read on");
            kmq_codebook_free(&cb);
        } else {
            cr_assert_eq(s, KMQ_ERR_INPUT_CHANGED, "how %d: status %d", how, s);
            cr_assert_null(why);
            cr_assert_str_eq(kmq_strerror(s), "changed while being read");
            cr_assert_eq(cb.k, 0, "no codebook on failure");
        }
        free(m.p);
    }
    free(px);
}
