/* Metadata and PNG files: the chunks a PNG carries read into a
   kmq_metadata (its own, or those a label PNG keeps in kmCp), and written
   back after the IHDR of a PNG kmq made -- into a label PNG together with
   the codebook's binding. */
#include "bytes.h"
#include "meta.h"
#include "why.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

/* The chunks of a well-formed PNG before its first IDAT: calls fn for each
   whose CRC is right; stops at the first malformed one. */
static kmq_status each_chunk(const uint8_t *buf, size_t len,
                             kmq_status (*fn)(void *ctx, const uint8_t *type, const uint8_t *data,
                                              size_t len),
                             void *ctx)
{
    if (!kmq_is_png(buf, len))
        return KMQ_ERR_PNG_STRUCTURE;
    size_t at = 8;
    for (kmq_png_chunk c; kmq_png_next_chunk(buf, len, &at, &c);) {
        if (!memcmp(c.type, "IDAT", 4) || !memcmp(c.type, "IEND", 4))
            break;
        kmq_status s = kmq_png_chunk_crc_ok(&c) ? fn(ctx, c.type, c.data, c.len) : KMQ_OK;
        if (s != KMQ_OK)
            return s;
    }
    return KMQ_OK;
}

static kmq_status read_one(void *ctx, const uint8_t *type, const uint8_t *data, size_t len)
{
    kmq_metadata *m = ctx;
    if (!memcmp(type, "kmCp", 4)) { /* a label PNG's: complete chunks inside */
        size_t at = 0;
        for (kmq_png_chunk c; kmq_png_next_chunk(data, len, &at, &c);) {
            kmq_status s = KMQ_OK;
            if (kmq_png_chunk_crc_ok(&c))
                s = kmq_meta_add_chunk(m, c.type, c.data, c.len);
            else
                kmq_meta_warn(m, "damaged colour chunk in the label PNG (kmCp) dropped");
            if (s != KMQ_OK)
                return s;
        }
        if (at != len) /* bytes that are no whole chunk */
            kmq_meta_warn(m, "damaged colour chunk in the label PNG (kmCp) dropped");
        return KMQ_OK;
    }
    return kmq_meta_add_chunk(m, type, data, len);
}

kmq_status kmq_png_read_metadata(const uint8_t *buf, size_t len, kmq_metadata *meta)
{
    kmq_why_clear();
    if (!meta)
        return kmq_arg("meta is NULL");
    kmq_meta_init(meta);
    if (!buf)
        return kmq_arg("buf is NULL");
    kmq_status s = each_chunk(buf, len, read_one, meta);
    if (s != KMQ_OK)
        kmq_metadata_free(meta);
    return s;
}

/* Inserts `add` (complete chunks) after the IHDR of a PNG kmq wrote. */
static kmq_status insert_after_ihdr(const uint8_t *png, size_t len, const uint8_t *add,
                                    size_t add_len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    if (!png || len < 33 || !kmq_is_png(png, len) || memcmp(png + 12, "IHDR", 4) || kmq_get_be32(png + 8) != 13)
        return kmq_arg("png does not start with a PNG signature and IHDR chunk");
    uint8_t *p = malloc(len + add_len);
    if (!p)
        return KMQ_ERR_NOMEM;
    memcpy(p, png, 33);
    if (add_len)
        memcpy(p + 33, add, add_len);
    memcpy(p + 33 + add_len, png + 33, len - 33);
    *out = p;
    *out_len = len + add_len;
    return KMQ_OK;
}

kmq_status kmq_png_add_metadata(const uint8_t *png, size_t len, const kmq_metadata *meta,
                                uint8_t **out, size_t *out_len, const char **warning)
{
    kmq_why_clear();
    if (warning)
        *warning = NULL;
    if (!meta || !meta->chunks_len)
        return insert_after_ihdr(png, len, NULL, 0, out, out_len);
    if (!png || len < 33)
        return kmq_arg("png does not start with a PNG signature and IHDR chunk");
    /* An ICC profile must describe the PNG's colour type. */
    const int grey = png[25] == 0 || png[25] == 4;
    uint8_t *keep = malloc(meta->chunks_len);
    size_t kept = 0;
    if (!keep)
        return KMQ_ERR_NOMEM;
    size_t at = 0;
    for (kmq_png_chunk c; kmq_png_next_chunk(meta->chunks, meta->chunks_len, &at, &c);) {
        if (!memcmp(c.type, "iCCP", 4)) {
            char space[5];
            kmq_meta_iccp_space(c.data, c.len, space);
            if (strcmp(space, grey ? "GRAY" : "RGB ") != 0) {
                if (warning)
                    *warning = grey ? "the ICC profile is not for greyscale: left out"
                                    : "the ICC profile is not for RGB: left out";
                continue;
            }
        }
        memcpy(keep + kept, c.type - 4, 12 + (size_t)c.len);
        kept += 12 + (size_t)c.len;
    }
    kmq_status s = insert_after_ihdr(png, len, keep, kept, out, out_len);
    free(keep);
    return s;
}

kmq_status kmq_labels_add_metadata(const uint8_t *png, size_t len, const kmq_metadata *meta,
                                   const kmq_codebook *cb, uint8_t **out, size_t *out_len)
{
    kmq_why_clear();
    const size_t colour = meta ? meta->chunks_len : 0, bind = cb ? 12 + 7 : 0;
    if (!colour && !bind)
        return insert_after_ihdr(png, len, NULL, 0, out, out_len);
    if (colour > 0x7FFFFFFFu - bind)
        return KMQ_ERR_TOO_LARGE;
    kmq_status s;
    if (cb && !kmq_codebook_id(cb)) /* 0: not a codebook, or one whose identity cannot be told */
        return (s = kmq_codebook_check(cb)) != KMQ_OK ? s : kmq_arg("cb's identity is 0");
    const size_t n = colour + bind;
    uint8_t *chunk = malloc(12 + n);
    if (!chunk)
        return KMQ_ERR_NOMEM;
    if (colour)
        memcpy(chunk + 8 + bind, meta->chunks, colour);
    if (cb) { /* the binding first: found in the first 64 bytes of the file */
        uint8_t binding[7] = {(uint8_t)cb->channels, (uint8_t)(cb->k >> 8), (uint8_t)(cb->k & 0xFF)};
        kmq_put_be32(binding + 3, kmq_codebook_id(cb));
        kmq_png_put_chunk(chunk + 8, "kmCb", binding, 7);
    }
    kmq_png_put_chunk(chunk, "kmCp", chunk + 8, n); /* the data is in place */
    s = insert_after_ihdr(png, len, chunk, 12 + n, out, out_len);
    free(chunk);
    return s;
}

void kmq_meta_swap_phys(kmq_metadata *m)
{
    size_t at = 0;
    for (kmq_png_chunk pc; kmq_png_next_chunk(m->chunks, m->chunks_len, &at, &pc);) {
        uint8_t *c = m->chunks + (at - 12 - pc.len); /* this chunk, to change in place */
        if (memcmp(c + 4, "pHYs", 4) != 0 || pc.len != 9)
            continue;
        uint8_t x[4];
        memcpy(x, c + 8, 4);
        memcpy(c + 8, c + 12, 4);
        memcpy(c + 12, x, 4);
        kmq_put_be32(c + 17, (uint32_t)libdeflate_crc32(0, c + 4, 13));
    }
}

kmq_status kmq_png_chunk_meta(kmq_metadata *m, const uint8_t *type, const uint8_t *data,
                              size_t len)
{
    if (!memcmp(type, "eXIf", 4)) {
        kmq_meta_exif(m, data, len);
        return KMQ_OK;
    }
    return kmq_meta_add_chunk(m, type, data, len);
}

/* How much of a chunk kmq reads as metadata: an iCCP's compressed profile
   (a little over the inflated cap would be deflate's worst case), EXIF. */
#define MAX_ICCP_CHUNK (KMQ_MAX_ICC_PROFILE + (KMQ_MAX_ICC_PROFILE >> 8) + 1024)
#define MAX_EXIF_CHUNK (1u << 20)

static kmq_status want_chunk(void *ctx, const uint8_t *type, uint32_t len, int *keep)
{
    kmq_metadata *m = ctx;
    const int exif = !memcmp(type, "eXIf", 4);
    *keep = 0;
    if (!exif && kmq_meta_kind(type) < 0)
        return KMQ_OK;
    if (len > (exif ? MAX_EXIF_CHUNK : MAX_ICCP_CHUNK))
        kmq_meta_warn(m, exif ? "EXIF data larger than 1 MiB ignored"
                              : "ICC profile larger than 8 MiB dropped");
    else
        *keep = 1;
    return KMQ_OK;
}

static kmq_status take_chunk(void *ctx, const uint8_t *type, const uint8_t *data, size_t len)
{
    return kmq_png_chunk_meta(ctx, type, data, len);
}

kmq_png_chunk_visitor kmq_meta_png_visitor(kmq_metadata *m)
{
    const kmq_png_chunk_visitor v = {want_chunk, take_chunk, m};
    return v;
}

kmq_status kmq_png_check_reader_meta(kmq_reader *r, kmq_png_header *hdr, kmq_metadata *meta,
                                     const char **why)
{
    const kmq_png_chunk_visitor v = kmq_meta_png_visitor(meta);
    return kmq_png_check_reader_visit(r, hdr, meta ? &v : NULL, why);
}
