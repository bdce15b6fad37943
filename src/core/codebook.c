/* The .bin codebook: "KMQC", version, channels, k (u16 LE), entries, CRC-32.
   The layout is specified in include/kmq.h and docs/formats.md. */
#include "kmq.h"
#include "bytes.h"
#include "why.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

#define CB_MAGIC "KMQC"
#define CB_VERSION 1
#define CB_HEADER 8
#define CB_TRAILER 4

kmq_status kmq_codebook_check(const kmq_codebook *cb)
{
    kmq_why_clear();
    if (!cb)
        return kmq_arg("cb is NULL");
    if (cb->k < 1 || cb->k > KMQ_MAX_K)
        return kmq_arg("cb.k = %d is outside 1..%d", cb->k, KMQ_MAX_K);
    if (cb->channels < 1 || cb->channels > KMQ_MAX_CHANNELS)
        return kmq_arg("cb.channels = %d is outside 1..%d", cb->channels, KMQ_MAX_CHANNELS);
    if (!cb->entries)
        return kmq_arg("cb.entries is NULL");
    return KMQ_OK;
}

/* The 8-byte header of cb's .bin file. */
static void put_header(uint8_t *p, const kmq_codebook *cb)
{
    memcpy(p, CB_MAGIC, 4);
    p[4] = CB_VERSION;
    p[5] = (uint8_t)cb->channels;
    kmq_put_le16(p + 6, (uint32_t)cb->k);
}

uint32_t kmq_codebook_id(const kmq_codebook *cb)
{
    if (kmq_codebook_check(cb) != KMQ_OK)
        return 0;
    uint8_t head[CB_HEADER];
    put_header(head, cb);
    uint32_t crc = libdeflate_crc32(0, head, CB_HEADER);
    return libdeflate_crc32(crc, cb->entries, (size_t)cb->k * cb->channels);
}

kmq_status kmq_codebook_encode_bin(const kmq_codebook *cb, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    kmq_status s = kmq_codebook_check(cb);
    if (s != KMQ_OK)
        return s;
    size_t body = (size_t)cb->k * cb->channels;
    size_t len = CB_HEADER + body + CB_TRAILER;
    uint8_t *p = malloc(len);
    if (!p)
        return KMQ_ERR_NOMEM;
    put_header(p, cb);
    memcpy(p + CB_HEADER, cb->entries, body);
    kmq_put_le32(p + CB_HEADER + body, libdeflate_crc32(0, p, CB_HEADER + body));
    *out = p;
    *out_len = len;
    return KMQ_OK;
}

kmq_status kmq_codebook_decode_bin(const uint8_t *buf, size_t len, kmq_codebook *cb)
{
    kmq_why_clear();
    memset(cb, 0, sizeof *cb);
    if (memcmp(buf, CB_MAGIC, len < 4 ? len : 4) != 0)
        return KMQ_ERR_CB_MAGIC;
    if (len < CB_HEADER)
        return kmq_why(KMQ_ERR_CB_TRUNCATED, "%zu bytes, shorter than the 8-byte header", len);
    if (buf[4] != CB_VERSION)
        return kmq_why(KMQ_ERR_CB_VERSION, "version %d (kmq reads version %d)", buf[4], CB_VERSION);
    int channels = buf[5];
    int k = (int)kmq_get_le16(buf + 6);
    if (channels < 1 || channels > KMQ_MAX_CHANNELS)
        return kmq_why(KMQ_ERR_CB_CHANNELS, "channels = %d is outside 1..%d", channels,
                       KMQ_MAX_CHANNELS);
    if (k < 1 || k > KMQ_MAX_K)
        return kmq_why(KMQ_ERR_CB_K, "k = %d is outside 1..%d", k, KMQ_MAX_K);
    size_t body = (size_t)k * channels, whole = CB_HEADER + body + CB_TRAILER;
    if (len != whole)
        return kmq_why(len < whole ? KMQ_ERR_CB_TRUNCATED : KMQ_ERR_CB_TRAILING,
                       "%zu bytes, where k = %d and %d channels make %zu", len, k, channels, whole);
    if (kmq_get_le32(buf + CB_HEADER + body) != libdeflate_crc32(0, buf, CB_HEADER + body))
        return KMQ_ERR_CB_CRC;
    cb->entries = malloc(body);
    if (!cb->entries)
        return KMQ_ERR_NOMEM;
    memcpy(cb->entries, buf + CB_HEADER, body);
    cb->k = k;
    cb->channels = channels;
    return KMQ_OK;
}

void kmq_codebook_free(kmq_codebook *cb)
{
    if (!cb)
        return;
    free(cb->entries);
    memset(cb, 0, sizeof *cb);
}
