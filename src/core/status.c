/* Names for every kmq_status. */
#include "kmq.h"

const char *kmq_strerror(kmq_status status)
{
    switch (status) {
    case KMQ_OK: return "success";
    case KMQ_ERR_NOMEM: return "out of memory";
    case KMQ_ERR_ARG: return "invalid argument";
    case KMQ_ERR_TOO_LARGE: return "image or buffer too large";
    case KMQ_ERR_IO: return "input/output error";
    case KMQ_ERR_EXISTS: return "already exists";
    case KMQ_ERR_IMAGE_FORMAT: return "not a PNG, JPEG, BMP, TIFF, WebP, PNM or GIF image";
    case KMQ_ERR_IMAGE_CORRUPT: return "corrupt image";
    case KMQ_ERR_PNG_CRC: return "corrupt PNG: chunk CRC mismatch";
    case KMQ_ERR_PNG_STRUCTURE: return "corrupt PNG: broken chunk structure";
    case KMQ_ERR_LABELS_NOT_GREY8: return "not a label image: labels must be a greyscale PNG of 1, 2, 4 or 8 bits";
    case KMQ_ERR_LABEL_RANGE: return "label out of range for the codebook";
    case KMQ_ERR_SIZE_MISMATCH: return "sizes do not match";
    case KMQ_ERR_NOT_INDEXED: return "not an indexed-colour (palette) PNG";
    case KMQ_ERR_INPUT_CHANGED: return "changed while being read";
    case KMQ_ERR_BINDING: return "damaged codebook binding: the kmCp/kmCb chunk is damaged, misplaced or of the wrong size";
    case KMQ_ERR_CB_TRUNCATED: return "codebook is truncated";
    case KMQ_ERR_CB_MAGIC: return "not a kmq codebook (bad magic)";
    case KMQ_ERR_CB_VERSION: return "unsupported codebook version";
    case KMQ_ERR_CB_CHANNELS: return "codebook channel count is not 1..4";
    case KMQ_ERR_CB_K: return "codebook k is not 1..256";
    case KMQ_ERR_CB_CRC: return "codebook CRC-32 mismatch (file is corrupt)";
    case KMQ_ERR_CB_TRAILING: return "codebook has trailing bytes after the CRC";
    case KMQ_ERR_NPY_MAGIC: return "not a NumPy .npy file (bad magic)";
    case KMQ_ERR_NPY_VERSION: return "unsupported .npy format version";
    case KMQ_ERR_NPY_HEADER: return "malformed .npy header";
    case KMQ_ERR_NPY_DTYPE: return ".npy dtype is not uint8";
    case KMQ_ERR_NPY_SHAPE: return ".npy shape is not (k, channels) with k 1..256 and channels 1..4";
    case KMQ_ERR_NPY_DATA: return ".npy data length does not match its shape";
    case KMQ_ERR_NOT_A_PAIR: return "labels and codebook are not a pair: the labels were written with another codebook";
    }
    return "unknown error";
}
