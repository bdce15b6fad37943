/* Fuzz target: the streaming readers (PNG by libspng a row at a time, TIFF,
   PNM) against the in-memory decoders, and for small images the streamed
   label PNG against the in-memory one.  Differential: where both read a
   file, they must give the same pixels and the same bytes. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct {
    uint8_t *p;
    size_t len, cap;
} membuf;

static kmq_status mem_write(void *ctx, const uint8_t *buf, size_t len)
{
    membuf *m = ctx;
    if (m->len + len > m->cap) {
        size_t cap = (m->len + len) * 2;
        uint8_t *p = realloc(m->p, cap);
        if (!p)
            return KMQ_ERR_NOMEM;
        m->p = p, m->cap = cap;
    }
    memcpy(m->p + m->len, buf, len);
    m->len += len;
    return KMQ_OK;
}

static kmq_status mem_patch(void *ctx, uint64_t offset, const uint8_t *buf, size_t len)
{
    membuf *m = ctx;
    if (offset > m->len || len > m->len - offset)
        abort(); /* the writer patches only what it wrote */
    memcpy(m->p + offset, buf, len);
    return KMQ_OK;
}

/* The streamed label PNG equals quantize + palette sort + labels encode. */
static void compare_compress(kmq_rows *rows, const kmq_image *img)
{
    kmq_params p;
    kmq_params_default(&p);
    p.k = 4, p.n_init = 1, p.max_iter = 5, p.threads = 1;
    const kmq_png_options fast = {.size = sizeof fast, .level = 1, .threads = 1};
    membuf m = {0};
    kmq_sink sink = {mem_write, mem_patch, &m};
    kmq_codebook cb, cb2;
    if (kmq_rows_rewind(rows, NULL) != KMQ_OK ||
        kmq_stream_compress(rows, &p, 0, &fast, NULL, &sink, &cb, NULL, NULL, NULL) != KMQ_OK) {
        free(m.p);
        return;
    }
    const size_t n = (size_t)img->width * img->height;
    uint8_t *labels = malloc(n), *png = NULL, *with = NULL;
    size_t len = 0, with_len = 0;
    if (labels && kmq_quantize(img->pixels, n, img->channels, &p, &cb2, labels, NULL) == KMQ_OK) {
        if (kmq_palette_sort(&cb2, labels, img->width, img->height) != KMQ_OK ||
            kmq_labels_encode(labels, img->width, img->height, cb2.k, &fast, &png, &len) != KMQ_OK ||
            kmq_labels_add_metadata(png, len, NULL, &cb2, &with, &with_len) != KMQ_OK)
            abort();
        if (cb.k != cb2.k || memcmp(cb.entries, cb2.entries, (size_t)cb.k * cb.channels) ||
            with_len != m.len || memcmp(with, m.p, m.len))
            abort(); /* streamed and in-memory outputs differ */
        kmq_codebook_free(&cb2);
    }
    kmq_codebook_free(&cb);
    free(labels), free(png), free(with), free(m.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz_stream", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    kmq_rows *rows;
    kmq_metadata meta;
    if (kmq_rows_open(path, FUZZ_MAX_PIXELS, &rows, &meta, NULL, NULL) == KMQ_OK) {
        int w, h, c;
        kmq_rows_size(rows, &w, &h, &c);
        uint8_t *px = malloc((size_t)w * h * c + 1);
        int ok = px != NULL;
        for (int y = 0; ok && y < h; y += 7) /* uneven bands */
            ok = kmq_rows_read(rows, px + (size_t)y * w * c, h - y < 7 ? h - y : 7, NULL) == KMQ_OK;
        kmq_image img;
        const kmq_decode_options keep = {.size = sizeof keep, .max_pixels = FUZZ_MAX_PIXELS,
                                        .keep_orientation = 1};
        if (ok && kmq_image_decode_ex(data, size, &keep, &img, NULL, NULL) == KMQ_OK) {
            if (img.width != w || img.height != h || img.channels != c ||
                memcmp(img.pixels, px, (size_t)w * h * c))
                abort(); /* the row reader and the decoder disagree */
            if ((size_t)w * h <= 4096)
                compare_compress(rows, &img);
            kmq_image_free(&img);
        }
        free(px);
        kmq_rows_close(rows);
        kmq_metadata_free(&meta);
    }
    close(fd);
    return 0;
}
