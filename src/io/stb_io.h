/* Thin wrappers over the stb implementation unit (src/io/stb_impl.c). */
#ifndef KMQ_STB_IO_H
#define KMQ_STB_IO_H

#include "kmq.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/* A byte source: read returns the bytes read (0 at the end) or -1. */
typedef struct {
    long (*read)(void *ctx, uint8_t *buf, size_t n);
    void *ctx;
} kmq_reader;

/* A reader over a buffer (src/io/png_chunks.c). */
typedef struct {
    const uint8_t *p;
    size_t left;
} kmq_mem_src;
kmq_reader kmq_mem_reader(kmq_mem_src *m, const uint8_t *buf, size_t len);
/* Reads exactly n bytes from r: 1, or 0 at a clean or short end, -1 on an
   error (src/io/png_chunks.c). */
int kmq_read_full(kmq_reader *r, uint8_t *buf, size_t n);

/* Decodes with stb_image; its allocations may not exceed `budget` bytes
   (see kmq_stb_budget), or it fails with *why = KMQ_WHY_BUDGET. */
#define KMQ_WHY_BUDGET "the image data needs more memory than an image of its size can (corrupt or hostile file)"
uint8_t *kmq_stb_load(const uint8_t *buf, size_t len, size_t budget, int *w, int *h,
                      int *channels, int req_channels, const char **why);
/* The same, reading through r (which must be at the start of the image). */
uint8_t *kmq_stb_load_reader(kmq_reader *r, size_t budget, int *w, int *h, int *channels,
                             int req_channels, const char **why);
/* The common PNG (8-bit grey, grey+alpha, RGB, RGBA; not interlaced; no
   PLTE or tRNS) read through r without stb (src/io/png_fast.c): 1 with the
   pixels, as stb gives them; 0 for any other file or anything unusual, which
   the caller rewinds and gives to stb.  kmq_png_fast_off (tests) turns it off. */
int kmq_png_fast_load(kmq_reader *r, size_t budget, uint8_t **pixels, int *w, int *h,
                      int *channels);
extern int kmq_png_fast_off;
/* What decoding an image of these dimensions from file_len bytes may take. */
size_t kmq_stb_budget(uint64_t width, uint64_t height, size_t file_len);
/* The decoders' results are plain malloc memory (free() releases them). */
/* Returns a malloc'd PNG, or NULL: stb picks each row's filter; DEFLATE by
   libdeflate at `level` (1..12) on `threads` threads (0 = the free cores; the
   bytes do not depend on it).  Safe on several threads at once. */
uint8_t *kmq_stb_write_png(const uint8_t *pixels, int w, int h, int channels, int level,
                           int threads, int *out_len);

/* A zlib stream of in[0..len) by libdeflate at `level` (1..12), cut into
   len / chunk parts (at least one) compressed on `threads` threads (0 = all
   cores) and joined into one stream; the bytes depend on len and chunk
   only (src/io/deflate.c).  *out is malloc'd. */
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

/* PNGs written a row at a time to a sink (src/io/png_stream.c): colour
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

/* Label PNG helpers (src/io/labels_png.c). */
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

/* JPEG marker checks (src/io/jpeg_check.c): every Huffman table within
   bounds; the size from the frame header, the 8x8 blocks of all its
   components and the bytes of entropy-coded data into *info; the metadata
   segments into *meta when it is not NULL. */
typedef struct {
    uint32_t width, height;
    uint64_t blocks, entropy_bytes;
} kmq_jpeg_info;
kmq_status kmq_jpeg_check_reader(kmq_reader *r, kmq_jpeg_info *info, kmq_metadata *meta,
                                 const char **why);

/* Metadata (src/io/metadata.c). */
void kmq_meta_init(kmq_metadata *m);  /* empty, orientation 1 */
void kmq_meta_warn(kmq_metadata *m, const char *warning); /* the first one stays */
/* Index of a carried chunk type (sRGB, gAMA, cHRM, iCCP, pHYs), or -1. */
int kmq_meta_kind(const uint8_t *type);
/* Checks one chunk's data and keeps it if it is carried and the first of
   its kind (else drops it, with a warning if it was malformed). */
kmq_status kmq_meta_add_chunk(kmq_metadata *m, const uint8_t *type, const uint8_t *data,
                              size_t len);
/* A PNG input chunk: eXIf gives the orientation, the carried kinds are kept. */
kmq_status kmq_png_chunk_meta(kmq_metadata *m, const uint8_t *type, const uint8_t *data,
                              size_t len);
/* The orientation from TIFF-structured EXIF data. */
void kmq_meta_exif(kmq_metadata *m, const uint8_t *tiff, size_t len);
/* A JPEG's ICC profile parts, gathered over its APP2 segments. */
typedef struct {
    uint8_t *part[256];
    size_t len[256];
    int count, exif_seen;
    size_t total;
    const char *bad; /* why the profile will be dropped */
} kmq_jpeg_icc;
kmq_status kmq_meta_jpeg_segment(kmq_metadata *m, kmq_jpeg_icc *icc, int marker,
                                 const uint8_t *seg, size_t len);
/* Joins the profile into an iCCP chunk (or warns); frees icc's parts. */
kmq_status kmq_meta_jpeg_finish(kmq_metadata *m, kmq_jpeg_icc *icc);
void kmq_jpeg_icc_free(kmq_jpeg_icc *icc);
/* A whole ICC profile (TIFF's tag, WebP's ICCP chunk) as an iCCP chunk;
   one over KMQ_MAX_ICC_PROFILE is dropped with a warning. */
kmq_status kmq_meta_icc_profile(kmq_metadata *m, const uint8_t *profile, size_t len);
/* After a quarter turn: pHYs's x and y densities trade places. */
void kmq_meta_swap_phys(kmq_metadata *m);

/* PNG container checks (src/io/png_chunks.c). */
typedef struct {
    uint32_t width, height;
    int bit_depth, colour_type, interlace;
    uint64_t idat_bytes; /* the IDAT chunks' data, all together */
} kmq_png_header;

int kmq_is_png(const uint8_t *buf, size_t len);
/* Writes one PNG chunk at p: length, type, the len bytes of data (which may
   already be in place at p + 8), CRC; returns its size, 12 + len. */
size_t kmq_png_put_chunk(uint8_t *p, const char *type, const uint8_t *data, size_t len);
kmq_status kmq_png_check_reader(kmq_reader *r, kmq_png_header *hdr, const char **why);
/* The same, also keeping the metadata chunks before IDAT in *meta. */
kmq_status kmq_png_check_reader_meta(kmq_reader *r, kmq_png_header *hdr, kmq_metadata *meta,
                                     const char **why);
/* Walks every chunk: lengths in range, CRCs correct, IHDR first, IDAT
   present, IEND last.  On failure returns the status and a static reason. */
kmq_status kmq_png_check(const uint8_t *buf, size_t len, kmq_png_header *hdr, const char **why);
/* kmq_check_size on the header's size, then the IDAT data against it:
   KMQ_ERR_IMAGE_CORRUPT when even deflate's best case (1032:1) could not
   hold the packed pixels (a truncated or hostile file), before any pixel
   is decoded. */
kmq_status kmq_png_check_size(const kmq_png_header *hdr, uint64_t max_pixels, const char **why);

/* kmq_labels_decode's checks (src/io/image.c): of the first bytes, then of
   the PNG's header (colour type, depth, size against max_pixels). */
kmq_status kmq_labels_magic(const uint8_t *buf, size_t len, const char **why);
kmq_status kmq_labels_header(const kmq_png_header *hdr, uint64_t max_pixels, const char **why);


/* kmq_read_file on an open descriptor, which it closes (unless stdin). */
kmq_status kmq_read_fd(int fd, size_t max_len, uint8_t **out, size_t *out_len);
/* 1 if the file open at fd is no longer as `then` (an fstat of it) saw
   it: its size or modification time differ, or it cannot be checked.  A
   file read more than once must be the same file each time. */
struct stat;
int kmq_file_changed(int fd, const struct stat *then);

/* A BMP's header (the first `got` bytes, at least 154 when the file has
   them) checked against the file's length: size, depth, compression, and
   enough pixel bytes for the size it claims.  Top-down (negative height)
   BMPs are fine.  gap: pixels start after some padding (a V4/V5 header with
   a profile), which stb refuses; kmq_bmp_close_gap moves them up in a
   buffer holding the whole file. */
typedef struct {
    uint32_t width, height, offset, header_end;
    int top_down, gap;
} kmq_bmp_info;
kmq_status kmq_bmp_check(const uint8_t *head, size_t got, uint64_t file_len, kmq_bmp_info *info,
                         const char **why);
kmq_status kmq_bmp_close_gap(uint8_t *buf, size_t *len, const kmq_bmp_info *info);

/* A true-colour PNG by libspng, for images too large for stb_image_write's
   int arithmetic (an RGBA image at the 2^28-pixel cap). */
kmq_status kmq_png_encode_spng(const uint8_t *pixels, int width, int height, int channels,
                               uint8_t **out, size_t *out_len);

#endif
