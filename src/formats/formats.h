/* src/formats: reading images, above src/png and src/meta.  Sniffing and
 * the size checks at the bottom (sniff.c, size_check.c, file.c), stb_image
 * for PNG, JPEG and BMP (stb_read.c, after the container checks of
 * png_chunks.c, jpeg_check.c and bmp_check.c; common PNGs by png_fast.c),
 * one decoder per other format (tiff.c, webp.c, pnm.c, gif.c), PNG8 and
 * label images read back (png8_decode.c, labels_decode.c), the dispatch
 * (decode.c) and row readers for the formats that can be streamed (rows.c,
 * png_rows.c, tiff.c, pnm.c).
 *
 * Every decoder keeps kmq's defences: the dimensions are checked against
 * max_pixels (0 = KMQ_DEFAULT_MAX_PIXELS) and KMQ_MAX_DIMENSION before any
 * pixel is decoded, allocations are bounded by what an image of that size
 * needs, and a corrupt file fails with KMQ_ERR_IMAGE_CORRUPT and a one-line
 * *why ("corrupt TIFF: ..."; a static or _Thread_local string).
 *
 * Results: 8-bit samples, channels as stored (1 grey, 2 grey+alpha, 3 RGB,
 * 4 RGBA; a palette becomes RGB, or RGBA when it has transparency).  16-bit
 * samples become their high byte (v >> 8), as stb and libspng do for PNG:
 * exact for 8-bit values widened to 16 bits (v * 257).  Pixels are plain
 * malloc memory.  meta (never NULL) receives the orientation (TIFF's
 * Orientation tag, 1..8), an ICC profile as an iCCP chunk where the format
 * has one, and kmq_meta_warn()s such as "multi-page TIFF: only the first
 * page is used". */
#ifndef KMQ_FORMATS_H
#define KMQ_FORMATS_H

#include "kmq.h"
#include "meta.h"
#include "png_io.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* KMQ_ERR_TOO_LARGE ("image is larger than the pixel limit") for a width or
   height over KMQ_MAX_DIMENSION or more than max_pixels (0 =
   KMQ_DEFAULT_MAX_PIXELS) pixels (src/formats/size_check.c). */
kmq_status kmq_check_size(uint64_t w, uint64_t h, uint64_t max_pixels, const char **why);

/* KMQ_ERR_TOO_LARGE for an image of more than 512 MiB decoded (w * h *
   channels) from fewer than one byte per 2^15 of its pixels (src/formats/size_check.c):
   for the formats whose codecs code one colour in next to nothing. */
kmq_status kmq_check_density(uint64_t w, uint64_t h, int channels, uint64_t file_len,
                             const char **why);

/* Magic numbers: 1 when buf (len bytes, at least the first 16 of the file
   when it has them) starts like the format. */
int kmq_is_tiff(const uint8_t *buf, size_t len);
int kmq_is_webp(const uint8_t *buf, size_t len);
int kmq_is_pnm(const uint8_t *buf, size_t len);
int kmq_is_gif(const uint8_t *buf, size_t len);

kmq_status kmq_tiff_decode(const uint8_t *buf, size_t len, uint64_t max_pixels, kmq_image *img,
                           kmq_metadata *meta, const char **why);
kmq_status kmq_webp_decode(const uint8_t *buf, size_t len, uint64_t max_pixels, kmq_image *img,
                           kmq_metadata *meta, const char **why);
kmq_status kmq_pnm_decode(const uint8_t *buf, size_t len, uint64_t max_pixels, kmq_image *img,
                          kmq_metadata *meta, const char **why);
kmq_status kmq_gif_decode(const uint8_t *buf, size_t len, uint64_t max_pixels, kmq_image *img,
                          kmq_metadata *meta, const char **why);

/* A row reader: an image read top to bottom, a band of rows at a time, in
   memory bounded by its width (not its height), and read again from the
   top after rewind.  Rows come as decoded above (8-bit, `channels`). */
typedef struct kmq_rows kmq_rows;
struct kmq_rows {
    uint32_t width, height;
    int channels;
    /* The next n rows (n * width * channels bytes) into out. */
    kmq_status (*read)(kmq_rows *r, uint8_t *out, uint32_t n, const char **why);
    /* Back to the first row. */
    kmq_status (*rewind)(kmq_rows *r, const char **why);
    /* Frees r (the descriptor it was opened on stays open). */
    void (*close)(kmq_rows *r);
    int fd; /* kmq_rows_open's own descriptor, closed by kmq_rows_close */
    struct stat opened; /* fstat of fd when opened: kmq_rows_changed */
};

/* 1 if the file under r is no longer as it was opened (kmq_file_changed). */
int kmq_rows_changed(const kmq_rows *r);

/* Opens a row reader on fd (a regular file of file_len bytes, positioned
   anywhere: readers use pread or seek themselves); the size check uses
   max_pixels as the decoders do.  meta as above. */
kmq_status kmq_tiff_rows_open(int fd, uint64_t file_len, uint64_t max_pixels, kmq_rows **r,
                              kmq_metadata *meta, const char **why);
kmq_status kmq_pnm_rows_open(int fd, uint64_t file_len, uint64_t max_pixels, kmq_rows **r,
                             kmq_metadata *meta, const char **why);
kmq_status kmq_png_rows_open(int fd, uint64_t file_len, uint64_t max_pixels, kmq_rows **r,
                             kmq_metadata *meta, const char **why);
/* A label PNG's rows (src/formats/png_rows.c): the indices themselves (1, 2 and
   4-bit samples are not scaled), after kmq_labels_decode's checks. */
kmq_status kmq_png_label_rows_open(int fd, uint64_t file_len, uint64_t max_pixels, kmq_rows **r,
                                   const char **why);

/* The first bytes of a PNG (also one whose signature a text-mode transfer
   mangled), a JPEG, a BMP (src/formats/sniff.c). */
int kmq_looks_like_png(const uint8_t *buf, size_t len);
int kmq_is_jpeg(const uint8_t *buf, size_t len);
int kmq_is_bmp(const uint8_t *buf, size_t len);

/* kmq_check_size on the header's size, then the IDAT data against it:
   KMQ_ERR_IMAGE_CORRUPT when even deflate's best case (1032:1) could not
   hold the packed pixels (a truncated or hostile file), before any pixel
   is decoded. */
kmq_status kmq_png_check_size(const kmq_png_header *hdr, uint64_t max_pixels, const char **why);


/* Decodes with stb_image; its allocations may not exceed `budget` bytes
   (see kmq_stb_budget), or it fails with *why = KMQ_WHY_BUDGET. */
#define KMQ_WHY_BUDGET "the image data needs more memory than an image of its size can (corrupt or hostile file)"
uint8_t *kmq_stb_load(const uint8_t *buf, size_t len, size_t budget, int *w, int *h,
                      int *channels, int req_channels, const char **why);
/* The same, reading through r (which must be at the start of the image). */
uint8_t *kmq_stb_load_reader(kmq_reader *r, size_t budget, int *w, int *h, int *channels,
                             int req_channels, const char **why);
/* The common PNG (8-bit grey, grey+alpha, RGB, RGBA; not interlaced; no
   PLTE or tRNS) read through r without stb (src/formats/png_fast.c): 1 with the
   pixels, as stb gives them; 0 for any other file or anything unusual, which
   the caller rewinds and gives to stb.  kmq_png_fast_off (tests) turns it off. */
int kmq_png_fast_load(kmq_reader *r, size_t budget, uint8_t **pixels, int *w, int *h,
                      int *channels);
extern int kmq_png_fast_off;
/* What decoding an image of these dimensions from file_len bytes may take. */
size_t kmq_stb_budget(uint64_t width, uint64_t height, size_t file_len);
/* The size and channels of the JPEG or BMP r reads, from its header, as
   stb_image would decode it: 1, or 0 if it cannot tell. */
int kmq_stb_info_reader(kmq_reader *r, int *w, int *h, int *channels);
/* A GIF's logical screen and the channels kmq_gif_decode gives it (4 with a
   transparent index), from the records before its first image. */
kmq_status kmq_gif_probe(int fd, int *width, int *height, int *channels, const char **why);

/* A whole PNG, JPEG or BMP in buf decoded into img (req channels, or 0 for
   as stored) within `budget` bytes; stb's failures in kmq's words
   (src/formats/decode.c). */
kmq_status kmq_load_whole(const uint8_t *buf, size_t len, int req, size_t budget, kmq_image *img,
                          const char **why);

/* kmq_labels_decode's checks (src/formats/labels_decode.c): of the first bytes, then of
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

/* JPEG marker checks (src/formats/jpeg_check.c): every Huffman table within
   bounds; the size from the frame header, the 8x8 blocks of all its
   components and the bytes of entropy-coded data into *info; the metadata
   segments into *meta when it is not NULL. */
typedef struct {
    uint32_t width, height;
    uint64_t blocks, entropy_bytes;
} kmq_jpeg_info;
kmq_status kmq_jpeg_check_reader(kmq_reader *r, kmq_jpeg_info *info, kmq_metadata *meta,
                                 const char **why);

#endif
