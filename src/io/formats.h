/* Input formats beyond stb's PNG, JPEG and BMP (src/io/tiff.c, webp.c,
 * pnm.c, gif.c), and row readers for the formats that can be streamed.
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

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* KMQ_ERR_TOO_LARGE ("image is larger than the pixel limit") for a width or
   height over KMQ_MAX_DIMENSION or more than max_pixels (0 =
   KMQ_DEFAULT_MAX_PIXELS) pixels (src/io/size_check.c). */
kmq_status kmq_check_size(uint64_t w, uint64_t h, uint64_t max_pixels, const char **why);

/* KMQ_ERR_TOO_LARGE for an image of more than 512 MiB decoded (w * h *
   channels) from fewer than one byte per 2^15 of its pixels (src/io/size_check.c):
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
/* A label PNG's rows (src/io/png_rows.c): the indices themselves (1, 2 and
   4-bit samples are not scaled), after kmq_labels_decode's checks. */
kmq_status kmq_png_label_rows_open(int fd, uint64_t file_len, uint64_t max_pixels, kmq_rows **r,
                                   const char **why);

#endif
