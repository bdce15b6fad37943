/* The binding of a label PNG to its codebook (the kmCb inside kmCp), read
   back and checked: what keeps a label PNG from being decoded with another
   image's codebook.  It is written by kmq_labels_add_metadata (metadata.c). */
#include "bytes.h"
#include "meta.h"
#include "why.h"

#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The binding is what keeps a label PNG from being decoded with another
   image's codebook, so damage to it must not read as "no binding": kmq
   writes exactly one kmCp, before the IDAT, whose first inner chunk is a
   7-byte kmCb.  A kmCp anywhere else, a second one, a kmCp whose CRC fails
   or that ends early, a kmCb of another size, with a bad CRC, not first or
   outside kmCp is damage (KMQ_ERR_BINDING).  No kmCp, or a kmCp with no
   kmCb in it (kmq 0.1.0's colour chunks), is no binding. */

/* Bytes [at, at + n) of the file: from memory, or read from fd. */
typedef struct {
    const uint8_t *buf;
    size_t len;
    int fd;
} png_source;

static int source_read(const png_source *src, uint64_t at, uint8_t *out, size_t n)
{
    if (src->buf) {
        if (at > src->len || n > src->len - at)
            return 0;
        memcpy(out, src->buf + at, n);
        return 1;
    }
    for (size_t got = 0; got < n;) {
        const ssize_t r = pread(src->fd, out + got, n - got, (off_t)(at + got));
        if (r <= 0)
            return 0;
        got += (size_t)r;
    }
    return 1;
}

/* 1 if a kmCb stands among the chunks in c (n bytes): walked chunk by
   chunk; where they stop making sense, any "kmCb" in the rest counts. */
static int has_kmcb(const uint8_t *c, size_t n)
{
    size_t at = 0;
    for (kmq_png_chunk k; kmq_png_next_chunk(c, n, &at, &k);)
        if (!memcmp(k.type, "kmCb", 4))
            return 1;
    return at < n && memmem(c + at, n - at, "kmCb", 4);
}

/* The kmCb at the start of a kmCp's data c (n bytes, its CRC checked). */
static kmq_status binding_in(const uint8_t *c, size_t n, kmq_binding *b)
{
    if (n < 8 || memcmp(c + 4, "kmCb", 4))
        return has_kmcb(c, n) ? KMQ_ERR_BINDING : KMQ_OK; /* none, or not first */
    if (kmq_get_be32(c) != 7 || n < 19 || libdeflate_crc32(0, c + 4, 4 + 7) != kmq_get_be32(c + 15))
        return KMQ_ERR_BINDING;
    b->present = 1;
    b->channels = c[8];
    b->k = c[9] << 8 | c[10];
    b->id = kmq_get_be32(c + 11);
    return has_kmcb(c + 19, n - 19) ? KMQ_ERR_BINDING : KMQ_OK; /* a second one */
}

static kmq_status read_binding(const png_source *src, kmq_binding *b)
{
    memset(b, 0, sizeof *b);
    uint8_t head[8];
    if (!source_read(src, 0, head, 8) || memcmp(head, "\x89PNG\r\n\x1a\n", 8))
        return KMQ_ERR_PNG_STRUCTURE;
    kmq_status s = KMQ_OK;
    int idat = 0, kmcp = 0;
    /* Every chunk's header; the IDATs' data is skipped, not read. */
    for (uint64_t at = 8; s == KMQ_OK && source_read(src, at, head, 8);) {
        const uint32_t n = kmq_get_be32(head);
        const uint8_t *type = head + 4;
        if (!memcmp(type, "IEND", 4))
            break;
        if (!memcmp(type, "IDAT", 4)) {
            idat = 1;
        } else if (!memcmp(type, "kmCb", 4)) {
            s = KMQ_ERR_BINDING;
        } else if (!memcmp(type, "kmCp", 4)) {
            uint8_t *c = NULL;
            if (kmcp++ || idat || n > KMQ_MAX_ICC_PROFILE + (1u << 20))
                s = KMQ_ERR_BINDING;
            else if (!(c = malloc((size_t)n + 8)))
                s = KMQ_ERR_NOMEM;
            else if (!source_read(src, at + 4, c, (size_t)n + 8) ||
                     libdeflate_crc32(0, c, 4 + (size_t)n) != kmq_get_be32(c + 4 + n))
                s = KMQ_ERR_BINDING;
            else
                s = binding_in(c + 4, n, b);
            free(c);
        }
        at += 12 + (uint64_t)n;
    }
    if (s == KMQ_ERR_BINDING)
        memset(b, 0, sizeof *b), b->present = -1;
    return s;
}

kmq_status kmq_labels_read_binding(const uint8_t *png, size_t len, kmq_binding *b)
{
    kmq_why_clear();
    if (!b)
        return kmq_arg("b is NULL");
    if (!png) {
        memset(b, 0, sizeof *b);
        return kmq_arg("png is NULL");
    }
    const png_source src = {png, len, -1};
    return read_binding(&src, b);
}

kmq_status kmq_labels_read_binding_fd(int fd, kmq_binding *b)
{
    kmq_why_clear();
    if (!b)
        return kmq_arg("b is NULL");
    if (fd < 0) {
        memset(b, 0, sizeof *b);
        return kmq_arg("fd = %d is not a file descriptor", fd);
    }
    const png_source src = {NULL, 0, fd};
    return read_binding(&src, b);
}

int kmq_binding_matches(const kmq_binding *b, const kmq_codebook *cb)
{
    return !b->present || (b->present > 0 &&
           b->channels == cb->channels && b->k == cb->k && b->id == kmq_codebook_id(cb));
}

static const char *layout_name(int channels)
{
    static const char *names[] = {"?", "grey", "grey+alpha", "RGB", "RGBA"};
    return channels >= 1 && channels <= 4 ? names[channels] : names[0];
}

/* What a binding read with status s says of cb. */
static kmq_status held_to(kmq_status s, const kmq_binding *b, const kmq_codebook *cb,
                          const char **why)
{
    *why = NULL;
    if (s != KMQ_OK || kmq_binding_matches(b, cb))
        return s;
    static _Thread_local char msg[160];
    snprintf(msg, sizeof msg, "the labels were written with another codebook (k=%d, %s, id %08x; "
             "this one: k=%d, %s, id %08x)", b->k, layout_name(b->channels), (unsigned)b->id,
             cb->k, layout_name(cb->channels), (unsigned)kmq_codebook_id(cb));
    *why = msg;
    return KMQ_ERR_NOT_A_PAIR;
}

kmq_status kmq_labels_check_binding(const uint8_t *png, size_t len, const kmq_codebook *cb,
                                    const char **why)
{
    const char *dummy;
    kmq_binding b;
    kmq_status s = kmq_codebook_check(cb);
    return s != KMQ_OK ? s
                       : held_to(kmq_labels_read_binding(png, len, &b), &b, cb, why ? why : &dummy);
}

kmq_status kmq_labels_check_binding_fd(int fd, const kmq_codebook *cb, const char **why)
{
    const char *dummy;
    kmq_binding b;
    kmq_status s = kmq_codebook_check(cb);
    return s != KMQ_OK ? s
                       : held_to(kmq_labels_read_binding_fd(fd, &b), &b, cb, why ? why : &dummy);
}
