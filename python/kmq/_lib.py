"""Loading libkmq and the ctypes mirror of include/kmq.h (private).

The library is found, in this order, at
  1. the path in the environment variable KMQ_LIBRARY;
  2. _config.LIBRARY, written next to this file by `make install`;
  3. <repo>/build/libkmq.so.1, for a package used from the source tree.

It is loaded with ctypes.CDLL, which releases the GIL for the length of
every foreign call: other Python threads run while kmq works.
"""
import ctypes
import errno as _errno
import os

# ---- errors ----------------------------------------------------------------


class Error(Exception):
    """A kmq library call failed.

    status: the kmq_status code (int); path: the file concerned or None;
    why: the detail (kmq_strerror or the decoder's own words).
    str(e) is "<path>: <why>" (just "<why>" without a path), as the CLI says.
    """

    def __init__(self, status, why, path=None):
        self.status = int(status)
        self.why = why
        self.path = None if path is None else os.fspath(path)
        super().__init__(f"{self.path}: {why}" if self.path is not None else why)

    def __reduce__(self):
        return type(self), (self.status, self.why, self.path)


# kmq_status values used by the Python layer (kmq.h; never renumbered)
OK = 0
ERR_NOMEM = 1
ERR_ARG = 2
ERR_IO = 4
ERR_EXISTS = 5
ERR_LABEL_RANGE = 11
ERR_NOT_INDEXED = 13
ERR_BINDING = 15
ERR_NOT_A_PAIR = 36

# kmq_codebook_format
CODEBOOK_BIN = 0
CODEBOOK_NPY = 1

# ---- the structs, field for field as in include/kmq.h ------------------------
# The four with a size first (kmq.h, "Sizes") are made by params(),
# png_options(), decode_options() and stats() below, never field by field
# in order: the library reads `size` bytes of them.

PROGRESS = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int)

INIT_KMEANSPP = 0
INIT_RANDOM = 1
N_INIT_AUTO = 0


class Params(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("k", ctypes.c_int),
        ("init", ctypes.c_int),  # kmq_init, an enum: int-sized
        ("n_init", ctypes.c_int),
        ("max_iter", ctypes.c_int),
        ("tol", ctypes.c_double),
        ("seed", ctypes.c_uint64),
        ("threads", ctypes.c_int),
        ("progress", PROGRESS),
        ("progress_ctx", ctypes.c_void_p),
    ]


class Codebook(ctypes.Structure):
    _fields_ = [
        ("k", ctypes.c_int),
        ("channels", ctypes.c_int),
        ("entries", ctypes.POINTER(ctypes.c_uint8)),
    ]


class Stats(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("pixels", ctypes.c_size_t),
        ("distinct", ctypes.c_size_t),
        ("k", ctypes.c_int),
        ("iterations", ctypes.c_int),
        ("restart", ctypes.c_int),
        ("inertia", ctypes.c_double),
        ("mse", ctypes.c_double),
        ("psnr", ctypes.c_double),
        ("psnr_black", ctypes.c_double),
        ("psnr_white", ctypes.c_double),
        ("seconds_histogram", ctypes.c_double),
        ("seconds_kmeans", ctypes.c_double),
        ("seconds_labels", ctypes.c_double),
    ]


class Image(ctypes.Structure):
    _fields_ = [
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("channels", ctypes.c_int),
        ("pixels", ctypes.POINTER(ctypes.c_uint8)),
    ]


class Metadata(ctypes.Structure):
    _fields_ = [
        ("chunks", ctypes.POINTER(ctypes.c_uint8)),
        ("chunks_len", ctypes.c_size_t),
        ("orientation", ctypes.c_int),
        ("oriented", ctypes.c_int),
        ("warning", ctypes.c_char_p),
    ]


class DecodeOptions(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("max_pixels", ctypes.c_uint64),
        ("keep_orientation", ctypes.c_int),
    ]


class Binding(ctypes.Structure):
    _fields_ = [
        ("present", ctypes.c_int),
        ("channels", ctypes.c_int),
        ("k", ctypes.c_int),
        ("id", ctypes.c_uint32),
    ]


class PngOptions(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("level", ctypes.c_int),
        ("exhaustive", ctypes.c_int),
        ("threads", ctypes.c_int),
        ("packed", ctypes.c_int),
    ]


class Diff(ctypes.Structure):
    _fields_ = [
        ("samples", ctypes.c_uint64),
        ("sse", ctypes.c_double),
        ("mse", ctypes.c_double),
        ("psnr", ctypes.c_double),
        ("psnr_black", ctypes.c_double),
        ("psnr_white", ctypes.c_double),
        ("max_abs", ctypes.c_int),
    ]


# Constants of kmq.h the Python layer checks against.
MIN_K = 2
MAX_K = 256
MAX_CHANNELS = 4
DEFAULT_LEVEL = 6
MAX_LEVEL = 12
MAX_CODEBOOK_FILE = 1 << 20
DEFAULT_MAX_PIXELS = 1 << 28

# ---- loading -----------------------------------------------------------------


# ---- the whole jobs (kmq.h, "the whole job"), with a size first ------------

class CompressOptions(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("params", Params),
        ("png", PngOptions),
        ("output", ctypes.c_int),           # kmq_output
        ("codebook_format", ctypes.c_int),  # kmq_codebook_format
        ("quality", ctypes.c_double),
        ("dither", ctypes.c_int),
        ("dither_strength", ctypes.c_double),
    ]


class Quantized(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("channels", ctypes.c_int),
        ("codebook", Codebook),
        ("labels", ctypes.POINTER(ctypes.c_uint8)),
        ("stats", Stats),
        ("reached", ctypes.c_int),
    ]


class Compressed(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("image", ctypes.POINTER(ctypes.c_uint8)),
        ("image_len", ctypes.c_size_t),
        ("codebook", ctypes.POINTER(ctypes.c_uint8)),
        ("codebook_len", ctypes.c_size_t),
        ("warning", ctypes.c_char_p),
        ("failed", ctypes.c_int),
    ]


class DecompressOptions(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("max_pixels", ctypes.c_uint64),
        ("codebook_format", ctypes.c_int),
        ("ignore_binding", ctypes.c_int),
        ("metadata", ctypes.c_int),
    ]


class Decompressed(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("image", Image),
        ("codebook", Codebook),
        ("meta", Metadata),
        ("binding", ctypes.c_int),
        ("failed", ctypes.c_int),
        ("bad_index", ctypes.c_uint64),
        ("bad_label", ctypes.c_int),
    ]


class ImageInfo(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("format", ctypes.c_char_p),
        ("width", ctypes.c_uint32),
        ("height", ctypes.c_uint32),
        ("channels", ctypes.c_int),
        ("streamable", ctypes.c_int),
    ]


def _library_path():
    env = os.environ.get("KMQ_LIBRARY")
    if env:
        return env, "KMQ_LIBRARY"
    try:
        from ._config import LIBRARY  # written by `make install`
        return LIBRARY, "kmq/_config.py"
    except ImportError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "..", "build", "libkmq.so.1"), "the source tree"


def _load():
    path, where = _library_path()
    try:
        lib = ctypes.CDLL(path, use_errno=True)
    except OSError as e:
        raise ImportError(
            f"kmq: cannot load libkmq from {path} (found through {where}): {e}; "
            "build it with `make`, or set KMQ_LIBRARY to the path of libkmq.so.1") from e
    try:
        lib.kmq_version.restype = ctypes.c_char_p
        lib.kmq_version.argtypes = []
        version = lib.kmq_version().decode("ascii")
    except AttributeError as e:
        raise ImportError(f"kmq: {path} has no kmq_version(): it is not libkmq 0.3 or later") from e
    major, minor = (int(x) for x in version.split(".")[:2])
    if major != 0 or minor < 3:  # 0.3 put a size first in four structs
        raise ImportError(f"kmq: {path} is libkmq {version}; this module needs 0.3 or a later 0.x")
    return lib, path, version


lib, LIBRARY_PATH, VERSION = _load()

# Buffers the library returns are plain malloc memory.  free is taken from the
# process's global namespace, not from a libc handle: under a preloaded
# AddressSanitizer that is ASan's free, which the library's malloc also is.
_free = ctypes.CDLL(None).free
_free.argtypes = [ctypes.c_void_p]
_free.restype = None

_u8p = ctypes.POINTER(ctypes.c_uint8)
_u8pp = ctypes.POINTER(_u8p)
_szp = ctypes.POINTER(ctypes.c_size_t)
_ccp = ctypes.c_char_p
_ccpp = ctypes.POINTER(ctypes.c_char_p)
_status = ctypes.c_int


def _proto(name, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


P = ctypes.POINTER
kmq_strerror = _proto("kmq_strerror", _ccp, ctypes.c_int)
kmq_last_why = _proto("kmq_last_why", _ccp)
kmq_params_default = _proto("kmq_params_default", None, P(Params))
kmq_stats_init = _proto("kmq_stats_init", None, P(Stats))
kmq_decode_options_default = _proto("kmq_decode_options_default", None, P(DecodeOptions))
kmq_params_check = _proto("kmq_params_check", _status, P(Params), _ccpp)
kmq_codebook_free = _proto("kmq_codebook_free", None, P(Codebook))
kmq_quantize = _proto("kmq_quantize", _status, _u8p, ctypes.c_size_t, ctypes.c_int, P(Params),
                      P(Codebook), _u8p, P(Stats))
kmq_palette_sort = _proto("kmq_palette_sort", _status, P(Codebook), _u8p, ctypes.c_int,
                          ctypes.c_int)
kmq_labels_to_pixels = _proto("kmq_labels_to_pixels", _status, _u8p, ctypes.c_size_t,
                              P(Codebook), _u8p, _szp)
kmq_codebook_encode_bin = _proto("kmq_codebook_encode_bin", _status, P(Codebook), _u8pp, _szp)
kmq_codebook_encode_npy = _proto("kmq_codebook_encode_npy", _status, P(Codebook), _u8pp, _szp)
kmq_codebook_decode_bin = _proto("kmq_codebook_decode_bin", _status, _u8p, ctypes.c_size_t,
                                 P(Codebook))
kmq_codebook_decode_npy = _proto("kmq_codebook_decode_npy", _status, _u8p, ctypes.c_size_t,
                                 P(Codebook))
kmq_codebook_id = _proto("kmq_codebook_id", ctypes.c_uint32, P(Codebook))
kmq_image_free = _proto("kmq_image_free", None, P(Image))
kmq_metadata_free = _proto("kmq_metadata_free", None, P(Metadata))
kmq_image_decode_file_ex = _proto("kmq_image_decode_file_ex", _status, _ccp, P(DecodeOptions),
                                  P(Image), P(Metadata), _ccpp, _szp)
kmq_labels_add_metadata = _proto("kmq_labels_add_metadata", _status, _u8p, ctypes.c_size_t,
                                 P(Metadata), P(Codebook), _u8pp, _szp)
kmq_labels_read_binding = _proto("kmq_labels_read_binding", _status, _u8p, ctypes.c_size_t,
                                 P(Binding))
kmq_binding_matches = _proto("kmq_binding_matches", ctypes.c_int, P(Binding), P(Codebook))
kmq_labels_decode = _proto("kmq_labels_decode", _status, _u8p, ctypes.c_size_t, ctypes.c_uint64,
                           P(Image), _ccpp)
kmq_labels_encode = _proto("kmq_labels_encode", _status, _u8p, ctypes.c_int, ctypes.c_int,
                           ctypes.c_int, P(PngOptions), _u8pp, _szp)
kmq_png_options_default = _proto("kmq_png_options_default", None, P(PngOptions))
kmq_png8_decode = _proto("kmq_png8_decode", _status, _u8p, ctypes.c_size_t, ctypes.c_uint64,
                         P(Image), P(Codebook), _ccpp)
kmq_read_file = _proto("kmq_read_file", _status, _ccp, ctypes.c_size_t, _u8pp, _szp)
kmq_compress_options_default = _proto("kmq_compress_options_default", None, P(CompressOptions))
kmq_compress = _proto("kmq_compress", _status, P(Image), P(Metadata), P(CompressOptions),
                      P(Quantized), P(Compressed))
kmq_quantized_free = _proto("kmq_quantized_free", None, P(Quantized))
kmq_compressed_free = _proto("kmq_compressed_free", None, P(Compressed))
kmq_decompress_options_default = _proto("kmq_decompress_options_default", None,
                                        P(DecompressOptions))
kmq_decompress = _proto("kmq_decompress", _status, _u8p, ctypes.c_size_t, _u8p, ctypes.c_size_t,
                        P(DecompressOptions), P(Decompressed), _ccpp)
kmq_decompressed_free = _proto("kmq_decompressed_free", None, P(Decompressed))
kmq_files_write = _proto("kmq_files_write", _status, ctypes.c_int, _ccpp, P(_u8p), _szp,
                         ctypes.c_int, ctypes.c_void_p, P(ctypes.c_int))
kmq_output_exists = _proto("kmq_output_exists", ctypes.c_int, _ccp)
kmq_image_probe = _proto("kmq_image_probe", _status, _ccp, P(ImageInfo), _ccpp)
kmq_codebook_decode = _proto("kmq_codebook_decode", _status, _u8p, ctypes.c_size_t, ctypes.c_int,
                             P(Codebook))


def _made(cls, default, fields):
    s = cls()
    default(ctypes.byref(s))  # sets size, and every field to its default
    for name, value in fields.items():
        setattr(s, name, value)
    return s


def params(**fields):
    """A kmq_params: the defaults (size included), then the given fields."""
    return _made(Params, kmq_params_default, fields)


def png_options(**fields):
    """A kmq_png_options: the defaults (size included), then the given fields."""
    return _made(PngOptions, kmq_png_options_default, fields)


def decode_options(**fields):
    """A kmq_decode_options: the defaults (size included), then the given fields."""
    return _made(DecodeOptions, kmq_decode_options_default, fields)


def stats():
    """A kmq_stats for the library to fill (zeroed, its size set)."""
    return _made(Stats, kmq_stats_init, {})


def compress_options(**fields):
    """A kmq_compress_options: the defaults (size included), then the given fields."""
    return _made(CompressOptions, kmq_compress_options_default, fields)


def decompress_options(**fields):
    """A kmq_decompress_options: the defaults (size included), then the given fields."""
    return _made(DecompressOptions, kmq_decompress_options_default, fields)


def sized(cls):
    """A result struct for the library to fill: zeroed, its size set."""
    s = cls()
    s.size = ctypes.sizeof(cls)
    return s


def strerror(status):
    s = kmq_strerror(status)
    return s.decode("utf-8", "replace") if s else f"kmq status {status}"


def last_why():
    """kmq_last_why(): what the calling thread's last failed kmq call said
    was wrong ("" when it said nothing more than its status)."""
    s = kmq_last_why()
    return s.decode("utf-8", "replace") if s else ""


def fail(status, path=None, why=None):
    """Raises the exception for a failed call: OSError (with errno, so
    FileNotFoundError and friends) for KMQ_ERR_IO, MemoryError for
    KMQ_ERR_NOMEM, FileExistsError for KMQ_ERR_EXISTS, else kmq.Error.
    For KMQ_ERR_ARG without a why, the text is kmq_strerror's followed by
    kmq_last_why()'s (the field at fault), read before any other call."""
    detail = last_why() if status == ERR_ARG else ""
    if status == ERR_IO:
        e = ctypes.get_errno() or _errno.EIO
        raise OSError(e, os.strerror(e), None if path is None else os.fspath(path))
    if status == ERR_NOMEM:
        raise MemoryError(f"{path}: {strerror(status)}" if path is not None else strerror(status))
    if status == ERR_EXISTS:
        raise FileExistsError(_errno.EEXIST, strerror(status), os.fspath(path))
    if isinstance(why, bytes):
        why = why.decode("utf-8", "replace")
    if not why and detail:
        why = f"{strerror(status)}: {detail}"
    raise Error(status, why or strerror(status), path)


def check(status, path=None, why=None):
    if status != OK:
        fail(status, path, why)


def fspath_bytes(path):
    """A path for the C side: str/bytes/PathLike -> bytes in the file
    system's encoding (surrogateescape keeps any byte of a name)."""
    return os.fsencode(path)


def take_buffer(ptr, length):
    """Copies a malloc'd buffer the library returned into bytes, frees it."""
    try:
        return ctypes.string_at(ptr, length.value) if ptr else b""
    finally:
        if ptr:
            _free(ptr)


def u8ptr(array):
    """A uint8_t * to a NumPy array's (C-contiguous) data."""
    return array.ctypes.data_as(_u8p)


def bytes_ptr(data):
    """A uint8_t * over a bytes object (read-only use by the library)."""
    return ctypes.cast(ctypes.c_char_p(data), _u8p)
