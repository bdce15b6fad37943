/* PNGs written a band of rows at a time, for images that never sit in
 * memory whole.  The bytes are those of the in-memory writers: the zlib
 * stream is cut into the parts kmq_zlib_deflate cuts (they depend only on
 * the stream's length, known from the size), and IDATs are as large as PNG
 * allows (2^31 - 1 bytes), so a label PNG matches kmq_labels_encode's and an
 * image matches kmq_png_encode's (stb's per-row filter choice, redone here).
 * Memory: a few parts and a row or two, whatever the height.  IDAT lengths
 * are known only at their end: they are patched in (kmq_sink.patch). */
#include "bytes.h"
#include "png_io.h"
#include "thread_count.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

#define IDAT_MAX 0x7FFFFFFFu /* PNG's largest chunk */

struct kmq_png_writer {
    kmq_sink *sink;
    uint64_t written;       /* bytes given to the sink */
    size_t cols, bpp;       /* bytes per row; per pixel for the filters (at least 1) */
    int filter;             /* 0..4, or -1: the per-row choice */
    uint32_t rows_left;
    uint8_t *prev, *cur;    /* the row above (zeros at first), candidates */
    uint8_t *trial[5];
    /* The filtered stream, cut into parts as kmq_zlib_deflate cuts it. */
    uint64_t total;         /* bytes of filtered data */
    size_t nparts, step, done_parts;
    uint8_t *buf;           /* filtered bytes from the first part not yet compressed */
    size_t buf_len, buf_cap;
    uint32_t adler;
    int nt;
    struct libdeflate_compressor **comp;
    uint8_t **out;          /* one batch of compressed parts */
    size_t *out_len;
    /* The IDAT being written. */
    uint32_t idat_max;      /* IDAT_MAX (smaller only in tests) */
    uint8_t zlib_head[2];   /* written before the first part */
    int started;
    int idat_open;
    uint64_t idat_at;       /* offset of its length field */
    uint32_t idat_len, idat_crc;
};

static kmq_status put(kmq_png_writer *w, const uint8_t *p, size_t n)
{
    kmq_status s = w->sink->write(w->sink->ctx, p, n);
    w->written += n;
    return s;
}

static kmq_status idat_close(kmq_png_writer *w)
{
    if (!w->idat_open)
        return KMQ_OK;
    uint8_t b[4];
    kmq_put_be32(b, w->idat_crc);
    kmq_status s = put(w, b, 4);
    kmq_put_be32(b, w->idat_len);
    if (s == KMQ_OK)
        s = w->sink->patch(w->sink->ctx, w->idat_at, b, 4);
    w->idat_open = 0;
    return s;
}

/* Zlib bytes into IDATs: a new one when the last is full. */
static kmq_status idat_put(kmq_png_writer *w, const uint8_t *p, size_t n)
{
    kmq_status s = KMQ_OK;
    while (n && s == KMQ_OK) {
        if (!w->idat_open) {
            static const uint8_t head[8] = {0, 0, 0, 0, 'I', 'D', 'A', 'T'};
            w->idat_at = w->written;
            w->idat_open = 1, w->idat_len = 0;
            w->idat_crc = (uint32_t)libdeflate_crc32(0, head + 4, 4);
            if ((s = put(w, head, 8)) != KMQ_OK)
                break;
        }
        const size_t room = w->idat_max - w->idat_len, take = n < room ? n : room;
        w->idat_crc = (uint32_t)libdeflate_crc32(w->idat_crc, p, take);
        w->idat_len += (uint32_t)take;
        s = put(w, p, take);
        p += take, n -= take;
        if (w->idat_len == w->idat_max && s == KMQ_OK)
            s = idat_close(w);
    }
    return s;
}

/* Compresses the parts held whole in buf (all the rest when `last`), a
   batch at a time on the threads, and writes them in order. */
static kmq_status compress_ready(kmq_png_writer *w, int last)
{
    while (w->done_parts < w->nparts) {
        const size_t remaining = w->nparts - w->done_parts;
        size_t ready = w->buf_len / w->step; /* whole parts in buf */
        if (ready >= remaining) /* the last part takes the rest: only at the end */
            ready = last ? remaining : remaining - 1;
        if (!last && ready < (size_t)w->nt && ready < remaining - 1)
            return KMQ_OK; /* wait for a full batch */
        if (!ready)
            return KMQ_OK;
        const size_t batch = ready < (size_t)w->nt ? ready : (size_t)w->nt;
        int failed = 0;
#pragma omp parallel for num_threads(w->nt) if (batch > 1) reduction(| : failed)
        for (size_t i = 0; i < batch; i++) {
            const size_t part = w->done_parts + i, more = part + 1 < w->nparts;
            const size_t len = more ? w->step : w->buf_len - i * w->step;
            w->out[i] = NULL;
            failed |= kmq_deflate_part(w->comp[kmq_thread_id()], w->buf + i * w->step, len,
                                       (int)more, &w->out[i], &w->out_len[i]) != 0;
        }
        kmq_status s = failed ? KMQ_ERR_NOMEM : KMQ_OK;
        if (s == KMQ_OK && !w->started) {
            s = idat_put(w, w->zlib_head, 2);
            w->started = 1;
        }
        for (size_t i = 0; i < batch; i++) {
            if (s == KMQ_OK)
                s = idat_put(w, w->out[i], w->out_len[i]);
            free(w->out[i]);
        }
        if (s != KMQ_OK)
            return s;
        const size_t used = w->done_parts + batch == w->nparts ? w->buf_len : batch * w->step;
        memmove(w->buf, w->buf + used, w->buf_len - used);
        w->buf_len -= used;
        w->done_parts += batch;
    }
    return KMQ_OK;
}

/* PNG's five filters of one row (prev: the row above, zeros for the first). */
static void filter_row(uint8_t *dst, const uint8_t *cur, const uint8_t *prev, size_t n,
                       size_t bpp, int filter)
{
    for (size_t x = 0; x < n; x++) {
        const int a = x >= bpp ? cur[x - bpp] : 0, b = prev[x], c = x >= bpp ? prev[x - bpp] : 0;
        int pred;
        switch (filter) {
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) >> 1; break;
        case 4: {
            const int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
            pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
            break;
        }
        default: pred = 0; break;
        }
        dst[x] = (uint8_t)(cur[x] - pred);
    }
}

static kmq_status append(kmq_png_writer *w, const uint8_t *p, size_t n)
{
    if (w->buf_len + n > w->buf_cap) {
        size_t cap = w->buf_cap ? w->buf_cap : 1 << 16;
        while (cap < w->buf_len + n)
            cap *= 2;
        uint8_t *b = realloc(w->buf, cap);
        if (!b)
            return KMQ_ERR_NOMEM;
        w->buf = b, w->buf_cap = cap;
    }
    memcpy(w->buf + w->buf_len, p, n);
    w->buf_len += n;
    w->adler = libdeflate_adler32(w->adler, p, n);
    return KMQ_OK;
}

void kmq_png_writer_idat_max(kmq_png_writer *w, uint32_t max)
{
    if (max >= 1 && max <= IDAT_MAX && !w->idat_open)
        w->idat_max = max;
}

kmq_status kmq_png_writer_rows(kmq_png_writer *w, const uint8_t *rows, uint32_t n)
{
    if (n > w->rows_left)
        return KMQ_ERR_ARG;
    const size_t cols = w->cols;
    for (uint32_t r = 0; r < n; r++) {
        const uint8_t *cur = rows + (size_t)r * cols;
        int f = w->filter;
        if (f < 0) { /* the filter whose bytes, read as signed, sum smallest (first on ties) */
            long best = -1;
            for (int t = 0; t < 5; t++) {
                filter_row(w->trial[t] + 1, cur, w->prev, cols, w->bpp, t);
                long sum = 0;
                for (size_t x = 0; x < cols; x++)
                    sum += abs((int)(int8_t)w->trial[t][1 + x]);
                if (best < 0 || sum < best)
                    best = sum, f = t;
            }
        } else {
            filter_row(w->trial[f] + 1, cur, w->prev, cols, w->bpp, f);
        }
        w->trial[f][0] = (uint8_t)f;
        kmq_status s = append(w, w->trial[f], cols + 1);
        if (s != KMQ_OK)
            return s;
        memcpy(w->prev, cur, cols);
        w->rows_left--;
        if ((s = compress_ready(w, 0)) != KMQ_OK)
            return s;
    }
    return KMQ_OK;
}

void kmq_png_writer_free(kmq_png_writer *w)
{
    if (!w)
        return;
    for (int t = 0; t < w->nt && w->comp; t++)
        libdeflate_free_compressor(w->comp[t]);
    for (int t = 0; t < 5; t++)
        free(w->trial[t]);
    free(w->comp), free(w->out), free(w->out_len), free(w->buf), free(w->prev);
    free(w);
}

kmq_status kmq_png_writer_open(kmq_sink *sink, uint32_t width, uint32_t height, int colour_type,
                               int bits, int filter, int level, int threads,
                               const uint8_t *extra, size_t extra_len, kmq_png_writer **out)
{
    *out = NULL;
    static const int samples[7] = {1, 0, 3, 1, 2, 0, 4};
    if (!sink || !sink->write || !sink->patch || !width || !height ||
        width > KMQ_MAX_DIMENSION || height > KMQ_MAX_DIMENSION || colour_type < 0 ||
        colour_type > 6 || !samples[colour_type] || colour_type == 3 || filter < -1 ||
        filter > 4 || level < 1 || level > KMQ_MAX_LEVEL ||
        (bits != 8 && !(colour_type == 0 && (bits == 1 || bits == 2 || bits == 4))))
        return KMQ_ERR_ARG;
    kmq_png_writer *w = calloc(1, sizeof *w);
    if (!w)
        return KMQ_ERR_NOMEM;
    const int C = samples[colour_type];
    w->sink = sink;
    w->cols = ((size_t)width * C * bits + 7) / 8;
    w->bpp = bits * C >= 8 ? (size_t)(bits * C / 8) : 1;
    w->filter = filter;
    w->rows_left = height;
    w->total = (uint64_t)(w->cols + 1) * height;
    w->nparts = kmq_deflate_parts((size_t)w->total, kmq_deflate_chunk(level), &w->step);
    w->adler = 1;
    w->idat_max = IDAT_MAX;
    w->nt = kmq_threads(threads);
    w->prev = calloc(w->cols, 1);
    w->comp = calloc((size_t)w->nt, sizeof *w->comp);
    w->out = calloc((size_t)w->nt, sizeof *w->out);
    w->out_len = calloc((size_t)w->nt, sizeof *w->out_len);
    int ok = w->prev && w->comp && w->out && w->out_len;
    for (int t = 0; t < 5 && ok; t++)
        ok = (w->trial[t] = malloc(w->cols + 1)) != NULL;
    for (int t = 0; t < w->nt && ok; t++)
        ok = (w->comp[t] = libdeflate_alloc_compressor(level)) != NULL;
    if (!ok) {
        kmq_png_writer_free(w);
        return KMQ_ERR_NOMEM;
    }
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    uint8_t head[8 + 25], ihdr[13] = {0};
    memcpy(head, signature, 8);
    kmq_put_be32(ihdr, width);
    kmq_put_be32(ihdr + 4, height);
    ihdr[8] = (uint8_t)bits, ihdr[9] = (uint8_t)colour_type;
    kmq_png_put_chunk(head + 8, "IHDR", ihdr, 13);
    kmq_zlib_header(level, w->zlib_head);
    kmq_status s = put(w, head, sizeof head);
    if (s == KMQ_OK && extra_len)
        s = put(w, extra, extra_len);
    if (s != KMQ_OK) {
        kmq_png_writer_free(w);
        return s;
    }
    *out = w;
    return KMQ_OK;
}

kmq_status kmq_png_writer_finish(kmq_png_writer *w)
{
    kmq_status s = w->rows_left ? KMQ_ERR_ARG : compress_ready(w, 1);
    uint8_t tail[4 + 12];
    kmq_put_be32(tail, w->adler);
    if (s == KMQ_OK)
        s = idat_put(w, tail, 4);
    if (s == KMQ_OK)
        s = idat_close(w);
    if (s == KMQ_OK)
        s = put(w, tail + 4, kmq_png_put_chunk(tail + 4, "IEND", NULL, 0));
    kmq_png_writer_free(w);
    return s;
}
