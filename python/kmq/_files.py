"""kmq.compress, kmq.decompress, kmq.read_codebook: the CLI's files (private)."""
import collections
import ctypes
import errno
import os
import stat
import warnings

import numpy as np

from . import _core, _lib

CompressResult = collections.namedtuple(
    "CompressResult",
    "labels_path codebook_path width height channels k distinct iterations inertia mse psnr "
    "bytes_in bytes_out")
ImageInfo = collections.namedtuple("ImageInfo", "format width height channels streamable")
ImageInfo.__doc__ = """What kmq.probe read from an image file's headers: its format ("PNG",
"JPEG", "BMP", "TIFF", "WebP", "PNM" or "GIF"), its size as stored (before
any EXIF orientation), the channels kmq decodes it to (1 grey, 2 grey+alpha,
3 RGB, 4 RGBA), and whether it can be read in bands (streamed)."""

CompressResult.__doc__ = """What kmq.compress wrote and measured: the two paths, the
image's size and channels, k (entries in the codebook), distinct colours,
iterations, inertia, MSE and PSNR (dB, inf when lossless) of the
decompressed image (as `kmq compress -v` reports them), bytes read and
written."""


def derive_path(path, suffix):
    """The CLI's default output name: path's folder and stem + suffix
    ("x/photo.png" -> "x/photo.labels.png"; a leading dot is not an extension)."""
    sep = b"/" if isinstance(path, bytes) else "/"
    dot = b"." if isinstance(path, bytes) else "."
    base_at = path.rfind(sep) + 1
    d = path[base_at:].rfind(dot)
    stem = base_at + d if d > 0 else len(path)
    return path[:stem] + (os.fsencode(suffix) if isinstance(path, bytes) else suffix)


def _same_file(a, b):
    if os.fspath(a) == os.fspath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _exists_error(path):
    return FileExistsError(errno.EEXIST, f"{_lib.strerror(_lib.ERR_EXISTS)} (pass "
                           f"overwrite=True to replace it)", os.fspath(path))


def _library_name(path):
    """A file name as the library takes it; "-" is a file here, not stdout."""
    name = os.fsencode(os.fspath(path))
    return b"./-" if name == b"-" else name


def write_files_atomic(outputs, overwrite=False):
    """Writes [(path, bytes), ...] as kmq compress writes its pair, by the
    library's kmq_files_write: symbolic links are followed (the link stays,
    its target is replaced); every file goes to a temporary file in its
    target's folder first, flushed; then each is given its name.  If one
    cannot be, the names already given are undone -- a replaced file comes
    back, a new one is removed -- so the old files survive intact or every
    new one is in place.  Devices and FIFOs are written directly."""
    n = len(outputs)
    names = (ctypes.c_char_p * n)(*[_library_name(path) for path, _ in outputs])
    blobs = [bytes(data) for _, data in outputs]  # alive for the call
    data = (_lib._u8p * n)(*[_lib.bytes_ptr(b) for b in blobs])
    lens = (ctypes.c_size_t * n)(*[len(b) for b in blobs])
    failed = ctypes.c_int(-1)
    s = _lib.kmq_files_write(n, names, data, lens, 1 if overwrite else 0, None,
                             ctypes.byref(failed))
    if s != _lib.OK:
        path = outputs[max(failed.value, 0)][0]
        if s == _lib.ERR_EXISTS:
            raise _exists_error(path)
        _lib.fail(s, path)


def _ends_with_npy(path):
    return os.fsdecode(path).lower().endswith(".npy")


def decode_image_file(path, max_pixels=0, orient=True, metadata=True):
    """kmq_image_decode_file_ex: (pixels (H, W, C) uint8, Metadata or None, file size).
    The caller frees the metadata with kmq_metadata_free."""
    opts = _lib.decode_options(max_pixels=max_pixels, keep_orientation=0 if orient else 1)
    img = _lib.Image()
    meta = _lib.Metadata() if metadata else None
    why = ctypes.c_char_p()
    size = ctypes.c_size_t()
    s = _lib.kmq_image_decode_file_ex(_lib.fspath_bytes(path), ctypes.byref(opts),
                                      ctypes.byref(img), ctypes.byref(meta) if meta else None,
                                      ctypes.byref(why), ctypes.byref(size))
    if s != _lib.OK:
        if meta:
            _lib.kmq_metadata_free(ctypes.byref(meta))
        _lib.fail(s, path, why.value)
    try:
        n = img.width * img.height * img.channels
        pixels = np.frombuffer(ctypes.string_at(img.pixels, n), dtype=np.uint8)
        pixels = pixels.reshape(img.height, img.width, img.channels).copy()
    finally:
        _lib.kmq_image_free(ctypes.byref(img))
    return pixels, meta, size.value


def compress(path, labels=None, codebook=None, k=64, n_init="auto", max_iter=100, init="k-means++",
             seed=0, threads=0, tol=1e-4, level=6, strip=False, orient=True, max_pixels=0,
             overwrite=False):
    """kmq compress for one image file: writes the label PNG and the codebook.

    path: a PNG, JPEG or BMP file.  labels, codebook: output names, by default
    the CLI's: path's folder/stem + ".labels.png" and + ".codebook.bin"; a
    codebook name ending in .npy is written in NumPy format.  The options are
    kmq compress's (-k, --n-init, --max-iter, --init, --seed, -t, --tol,
    --level, --strip, --no-orient as orient=False, --max-pixels; 0 = the
    default cap), and the two files are byte-identical to the CLI's: the same
    labels and codebook, the label PNG carrying the image's colour profile
    and the codebook's identity in its kmCp chunk.

    The outputs are written as the CLI writes them: to temporary files in
    their folders, then given their names together (if one fails, the old
    files are put back), symbolic links followed (the link stays, its target
    is replaced); an existing output is refused with FileExistsError, before
    the k-means, unless overwrite=True.  "-" as path reads standard input.  Returns a
    CompressResult (paths, size, k, distinct, iterations, inertia, mse, psnr,
    bytes_in, bytes_out).  Raises FileNotFoundError/OSError for files,
    kmq.Error for a bad image, ValueError for bad options.
    """
    path = os.fsdecode(path)  # str throughout; any byte of a name survives (surrogateescape)
    lpath = os.fsdecode(labels) if labels is not None else derive_path(path, ".labels.png")
    cpath = os.fsdecode(codebook) if codebook is not None else derive_path(path, ".codebook.bin")
    params = _core.make_params(k, n_init, max_iter, init, seed, threads, tol)
    level = _core._int_arg("level", level)
    if not 1 <= level <= _lib.MAX_LEVEL:
        raise ValueError(f"level must be an integer from 1 to {_lib.MAX_LEVEL}, not {level}")
    max_pixels = _core._int_arg("max_pixels", max_pixels)
    if not 0 <= max_pixels < 2 ** 64:
        raise ValueError(f"max_pixels must be 0 (the default cap) or a positive integer, "
                         f"not {max_pixels}")
    if _same_file(lpath, cpath):
        raise ValueError(f"labels and codebook would both be written to {lpath!r}")
    for out in (lpath, cpath):
        if _same_file(path, out):
            raise ValueError(f"an output file is the input file {path!r}")

    pixels, meta, bytes_in = decode_image_file(path, max_pixels, orient, not strip)
    try:
        if meta and meta.warning:
            warnings.warn(f"{path}: {meta.warning.decode('utf-8', 'replace')}", stacklevel=2)
        if not overwrite:  # refused before the k-means, not after it
            for out in (lpath, cpath):
                if _lib.kmq_output_exists(_library_name(out)):
                    raise _exists_error(out)
        h, w, c = pixels.shape
        opts = _lib.compress_options(
            params=params, png=_lib.png_options(level=level, threads=params.threads),
            codebook_format=_lib.CODEBOOK_NPY if _ends_with_npy(cpath) else _lib.CODEBOOK_BIN)
        img = _lib.Image(w, h, c, _lib.u8ptr(pixels))
        q, out = _lib.sized(_lib.Quantized), _lib.sized(_lib.Compressed)
        # as the CLI: no metadata when stripped (the binding alone)
        s = _lib.kmq_compress(ctypes.byref(img), ctypes.byref(meta) if meta else None,
                              ctypes.byref(opts), ctypes.byref(q), ctypes.byref(out))
        try:
            _lib.check(s, cpath if out.failed == 1 else lpath)
            label_png = ctypes.string_at(out.image, out.image_len)
            cb_bytes = ctypes.string_at(out.codebook, out.codebook_len)
            st = q.stats
            result = (int(st.k), int(st.distinct), int(st.iterations), float(st.inertia),
                      float(st.mse), float(st.psnr))
        finally:
            _lib.kmq_quantized_free(ctypes.byref(q))
            _lib.kmq_compressed_free(ctypes.byref(out))
        del pixels
    finally:
        if meta:
            _lib.kmq_metadata_free(ctypes.byref(meta))
    write_files_atomic([(lpath, label_png), (cpath, cb_bytes)], overwrite)
    return CompressResult(lpath, cpath, w, h, c, *result, bytes_in, len(label_png) + len(cb_bytes))


def _read(path, limit):
    """A whole file, at most limit bytes (else kmq.Error, too large); a
    regular file rewritten while it was read is refused, as by the CLI."""
    with open(path, "rb") as f:
        before = os.fstat(f.fileno())
        data = f.read(limit + 1)
        after = os.fstat(f.fileno())
    if stat.S_ISREG(before.st_mode) and len(data) <= limit and (
            (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns)
            or len(data) != before.st_size):
        raise _lib.Error(14, _lib.strerror(14), path)  # KMQ_ERR_INPUT_CHANGED
    if len(data) > limit:
        raise _lib.Error(3, f"{_lib.strerror(3)} (more than {limit} bytes)", path)
    return data


def _decode_codebook(path, data):
    """As the CLI: the content decides (.npy magic, KMQC magic), else the name."""
    cb = _lib.Codebook()
    by_name = _lib.CODEBOOK_NPY if _ends_with_npy(path) else _lib.CODEBOOK_BIN
    _lib.check(_lib.kmq_codebook_decode(_lib.bytes_ptr(data), len(data), by_name,
                                        ctypes.byref(cb)), path)
    return cb


def read_codebook(path):
    """A codebook file, .bin or .npy (recognised by content), fully
    validated (magic, version, sizes, CRC): uint8 array (k, C)."""
    cb = _decode_codebook(path, _read(path, _lib.MAX_CODEBOOK_FILE))
    try:
        return _core.codebook_to_array(cb)
    finally:
        _lib.kmq_codebook_free(ctypes.byref(cb))


def decompress(labels_path, codebook_path=None, max_pixels=0, ignore_binding=False):
    """kmq decompress in memory: the image a label PNG and its codebook (.bin
    or .npy, by content) stand for, as a uint8 array (H, W, C), or (H, W) for
    a grey codebook.  With one argument, an indexed-colour PNG (kmq's PNG8 or
    any other) whose palette is the codebook.

    Refused (kmq.Error) as by the CLI: a label image that is not a greyscale
    PNG of 1, 2, 4 or 8 bits, a label >= k (naming the pixel), and a label PNG
    bound (its kmCp chunk) to another codebook than the one given, or whose
    binding is damaged, misplaced or of the wrong size (ignore_binding=True
    decodes both anyway, as the CLI's --ignore-binding).
    """
    lmax = 2 * (max_pixels or _lib.DEFAULT_MAX_PIXELS) + (1 << 20)
    ldata = _read(labels_path, lmax)
    cdata = _read(codebook_path, _lib.MAX_CODEBOOK_FILE) if codebook_path is not None else None
    opts = _lib.decompress_options(
        max_pixels=max_pixels, ignore_binding=1 if ignore_binding else 0, metadata=0,
        codebook_format=_lib.CODEBOOK_NPY if codebook_path is not None
        and _ends_with_npy(codebook_path) else _lib.CODEBOOK_BIN)
    d = _lib.sized(_lib.Decompressed)
    why = ctypes.c_char_p()
    try:
        s = _lib.kmq_decompress(_lib.bytes_ptr(ldata), len(ldata),
                                _lib.bytes_ptr(cdata) if cdata is not None else None,
                                len(cdata) if cdata is not None else 0, ctypes.byref(opts),
                                ctypes.byref(d), ctypes.byref(why))
        text = why.value.decode("utf-8", "replace") if why.value else None
        if s == _lib.ERR_NOT_INDEXED and codebook_path is None:
            raise _lib.Error(s, "it is not an indexed-colour (palette) PNG; a label image "
                                "needs its codebook as second argument", labels_path)
        if s == _lib.ERR_NOT_A_PAIR:
            raise _lib.Error(s, f"not a pair with {os.fspath(codebook_path)}: {text}", labels_path)
        if s == _lib.ERR_BINDING:
            raise _lib.Error(s, _lib.strerror(s), labels_path)
        if s == _lib.ERR_LABEL_RANGE:
            w, i, k = d.image.width, d.bad_index, d.codebook.k
            where = f"the codebook {os.fspath(codebook_path)}" if codebook_path is not None \
                else "the palette of the PNG"
            raise _lib.Error(s, f"pixel ({i % w}, {i // w}) has label {d.bad_label}, but {where} "
                                f"has only k = {k} entries (0..{k - 1})", labels_path)
        _lib.check(s, codebook_path if d.failed == 1 else labels_path,
                   None if d.failed == 1 else why.value)
        h, w, c = d.image.height, d.image.width, d.image.channels
        out = np.frombuffer(ctypes.string_at(d.image.pixels, w * h * c),
                            dtype=np.uint8).reshape(h, w, c).copy()
    finally:
        _lib.kmq_decompressed_free(ctypes.byref(d))
    return out[:, :, 0] if c == 1 else out


def probe(path):
    """kmq_image_probe: an image file's format, size and channels from its
    headers alone, nothing decoded (kmq.decode may still refuse the file).
    A regular file only: OSError (ESPIPE) for a pipe or a device."""
    info = _lib.sized(_lib.ImageInfo)
    why = ctypes.c_char_p()
    _lib.check(_lib.kmq_image_probe(_lib.fspath_bytes(path), ctypes.byref(info),
                                    ctypes.byref(why)), path, why.value)
    return ImageInfo(info.format.decode("ascii"), info.width, info.height, info.channels,
                     bool(info.streamable))
