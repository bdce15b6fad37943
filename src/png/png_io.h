/* src/png: PNG as bytes, the bottom of the I/O layers (png <- meta <-
 * formats <- pipeline).  One CRC-checked chunk reader (png_chunks.c) and
 * one chunk writer (png_bytes.c); DEFLATE by libdeflate (deflate.c); the
 * writers: true-colour (png_encode.c, stb_write.c), label PNGs
 * (labels_png.c), PNG8 (png8.c) and rows streamed to a sink (png_stream.c).
 * Nothing here decodes pixels, knows other formats or reads metadata. */
#ifndef KMQ_PNG_IO_H
#define KMQ_PNG_IO_H

#include "kmq.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/* A byte source: read returns the bytes read (0 at the end) or -1. */
typedef struct {
    long (*read)(void *ctx, uint8_t *buf, size_t n);
    void *ctx;
} kmq_reader;

/* A reader over a buffer (src/png/png_chunks.c). */
typedef struct {
    const uint8_t *p;
    size_t left;
} kmq_mem_src;
kmq_reader kmq_mem_reader(kmq_mem_src *m, const uint8_t *buf, size_t len);
/* Reads exactly n bytes from r: 1, or 0 at a clean or short end, -1 on an
   error (src/png/png_chunks.c). */
int kmq_read_full(kmq_reader *r, uint8_t *buf, size_t n);

/* Returns a malloc'd PNG, or NULL: stb picks each row's filter; DEFLATE by
   libdeflate at `level` (1..12) on `threads` threads (0 = the free cores; the
   bytes do not depend on it).  Safe on several threads at once. */
uint8_t *kmq_stb_write_png(const uint8_t *pixels, int w, int h, int channels, int level,
                           int threads, int *out_len);

/* A zlib stream of in[0..len) by libdeflate at `level` (1..12), cut into
   len / chunk parts (at least one) compressed on `threads` threads (0 = all
   cores) and joined into one stream; the bytes depend on len and chunk
   only (src/png/deflate.c).  *out is malloc'd. */
size_t kmq_deflate_chunk(int level); /* the chunk size kmq writes with */
kmq_status kmq_zlib_deflate(const uint8_t *in, size_t len, int level, int threads, size_t chunk,
                            uint8_t **out, size_t *out_len);
/* Its pieces, for streams written a band at a time: the number of parts
   of len bytes cut at `chunk` (each *step bytes, the last the rest); one
   part's DEFLATE bytes (malloc'd *out; more = parts follow, so it is left
   open); the two zlib header bytes.  The Adler-32 of the data ends it. */
struct libdeflate_compressor;
size_t kmq_deflate_parts(size_t len, size_t chunk, size_t *step);
int kmq_deflate_part(struct libdeflate_compressor *c, const uint8_t *in, size_t len, int more,
                     uint8_t **out, size_t *out_len);
void kmq_zlib_header(int level, uint8_t out[2]);

/* PNGs written a row at a time to a sink (src/png/png_stream.c): colour
   type 0, 2, 4 or 6 at 8 bits (or grey at 1, 2, 4 bits: rows already
   packed); filter 0..4 for every row, or -1 for stb_image_write's per-row
   choice; DEFLATE as kmq_zlib_deflate at `level` on `threads`; `extra`
   (whole chunks) right after the IHDR.  The bytes are those of the
   in-memory writers.  finish (after every row) and free release w. */
typedef struct kmq_png_writer kmq_png_writer;
kmq_status kmq_png_writer_open(kmq_sink *sink, uint32_t width, uint32_t height, int colour_type,
                               int bits, int filter, int level, int threads,
                               const uint8_t *extra, size_t extra_len, kmq_png_writer **w);
kmq_status kmq_png_writer_rows(kmq_png_writer *w, const uint8_t *rows, uint32_t n);
/* IDATs of at most max bytes instead of 2^31 - 1, before any is written:
   for the tests, which cannot write 2 GB to see where an IDAT ends. */
void kmq_png_writer_idat_max(kmq_png_writer *w, uint32_t max);
kmq_status kmq_png_writer_finish(kmq_png_writer *w);
void kmq_png_writer_free(kmq_png_writer *w);

/* Label PNG helpers (src/png/labels_png.c). */
/* Checked labels as a grey (palette NULL) or indexed PNG of `bits`-bit
   samples: packed rows with filter None, or 8-bit rows with the filter
   kmq_labels_filter picks (o->exhaustive: the smallest of every choice);
   DEFLATE as kmq_zlib_deflate at o->level on o->threads.  Label PNGs and
   PNG8 both go through here. */
kmq_status kmq_png_encode_labels(const uint8_t *labels, int width, int height, int bits,
                                 const kmq_codebook *palette, const kmq_png_options *o,
                                 uint8_t **out, size_t *out_len);
/* The one reading of a caller's kmq_png_options every encoder makes: *o
   with the fields past caller->size at their defaults, checked (KMQ_ERR_ARG
   with kmq_last_why's text naming the field). */
kmq_status kmq_png_options_read(const kmq_png_options *caller, kmq_png_options *o);
/* What kmq_labels_encode and kmq_png8_encode check before they write: o
   read into *opts, labels not NULL, at least 1 x 1 pixels, k (named
   k_name in kmq_last_why's text) in 1..KMQ_MAX_K, every label below k. */
kmq_status kmq_labels_args(const uint8_t *labels, int width, int height, int k,
                           const char *k_name, const kmq_png_options *o, kmq_png_options *opts);
/* Bits per label sample for k colours: 1, 2, 4 or 8. */
int kmq_label_bits(int k);
/* Packs labels into rows of bits-bit samples, the first in the high bits (as
   PNG stores them); returns the bytes per row, 0 when out of memory. */
size_t kmq_pack_rows(const uint8_t *labels, int width, int height, int bits, uint8_t **out);
/* PNG filter type (0 None or 4 Paeth) that suits these 8-bit labels when
   compressed at `level`; the trial uses up to 2 of `threads` (0 = all). */
int kmq_labels_filter(const uint8_t *labels, int width, int height, int level, int threads);
/* Its pieces, for labels that arrive in rows: the rows of the sample are
   those y with kmq_filter_sampled(y, kmq_filter_sample_every(w, h)); the
   trial takes the sample's rows one after the other. */
int kmq_filter_sample_every(int width, int height);
int kmq_filter_sampled(int y, int every);
int kmq_labels_filter_trial(const uint8_t *sample, size_t rows, int width, int level, int threads);

/* Encodes each of n candidates with encode(ctx, candidate, ...) and keeps the
   smallest result (ties: the first). */
typedef kmq_status (*kmq_encode_fn)(void *ctx, int candidate, uint8_t **out, size_t *out_len);
kmq_status kmq_smallest(kmq_encode_fn encode, void *ctx, const int *candidates, int n,
                        uint8_t **out, size_t *out_len);

/* PNG container checks (src/png/png_chunks.c). */
typedef struct {
    uint32_t width, height;
    int bit_depth, colour_type, interlace;
    uint64_t idat_bytes; /* the IDAT chunks' data, all together */
} kmq_png_header;

int kmq_is_png(const uint8_t *buf, size_t len);
/* Writes one PNG chunk at p: length, type, the len bytes of data (which may
   already be in place at p + 8), CRC; returns its size, 12 + len. */
size_t kmq_png_put_chunk(uint8_t *p, const char *type, const uint8_t *data, size_t len);
/* Chunks in memory (a PNG after its signature, or a run of whole chunks
   such as a kmCp's data), one at a time: 1 with *c the chunk at buf + *at
   and *at moved past it; 0 where no whole chunk is left (fewer than 12
   bytes, or a length that runs past len), *at left there.  Nothing is
   checked: kmq_png_chunk_crc_ok says whether its CRC is right. */
typedef struct {
    const uint8_t *type, *data;
    uint32_t len;
} kmq_png_chunk;
int kmq_png_next_chunk(const uint8_t *buf, size_t len, size_t *at, kmq_png_chunk *c);
int kmq_png_chunk_crc_ok(const kmq_png_chunk *c);
kmq_status kmq_png_check_reader(kmq_reader *r, kmq_png_header *hdr, const char **why);
/* Chunks between IHDR and the first IDAT, handed to whoever keeps some
   (src/meta keeps the colour metadata): want(ctx, type, len) says whether
   the chunk's data is wanted (1), and take(ctx, type, data, len) receives
   it once its CRC is checked; a status other than KMQ_OK from either ends
   the walk with it. */
typedef struct {
    kmq_status (*want)(void *ctx, const uint8_t *type, uint32_t len, int *keep);
    kmq_status (*take)(void *ctx, const uint8_t *type, const uint8_t *data, size_t len);
    void *ctx;
} kmq_png_chunk_visitor;
/* kmq_png_check_reader, also showing visitor (which may be NULL) the
   chunks before IDAT. */
kmq_status kmq_png_check_reader_visit(kmq_reader *r, kmq_png_header *hdr,
                                      const kmq_png_chunk_visitor *visitor, const char **why);
/* Walks every chunk: lengths in range, CRCs correct, IHDR first, IDAT
   present, IEND last.  On failure returns the status and a static reason. */
kmq_status kmq_png_check(const uint8_t *buf, size_t len, kmq_png_header *hdr, const char **why);
/* A true-colour PNG by libspng, for images too large for stb_image_write's
   int arithmetic (an RGBA image at the 2^28-pixel cap). */
kmq_status kmq_png_encode_spng(const uint8_t *pixels, int width, int height, int channels,
                               uint8_t **out, size_t *out_len);

#endif
