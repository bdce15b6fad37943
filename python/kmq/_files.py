"""kmq.compress, kmq.decompress, kmq.read_codebook: the CLI's files (private)."""
import collections
import ctypes
import errno
import os
import stat
import tempfile
import warnings

import numpy as np

from . import _core, _lib

CompressResult = collections.namedtuple(
    "CompressResult",
    "labels_path codebook_path width height channels k distinct iterations inertia mse psnr "
    "bytes_in bytes_out")
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


def _new_file_mode():
    """0666 minus the umask, read without changing it where Linux allows."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _write_temp(path, data):
    """data in a new temporary file beside path (".<name>.kmq-XXXXXXXX"),
    flushed to disk, with the mode path has (if it exists) or would get."""
    folder, base = os.path.split(path)
    if isinstance(base, bytes):
        base = os.fsdecode(base)
    fd, tmp = tempfile.mkstemp(prefix="." + base[:200] + ".kmq-", dir=folder or ".")
    try:
        try:
            mode = os.stat(path).st_mode & 0o7777
        except OSError:
            mode = _new_file_mode()
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    return tmp


def _exists_error(path):
    return FileExistsError(errno.EEXIST, f"{_lib.strerror(_lib.ERR_EXISTS)} (pass "
                           f"overwrite=True to replace it)", os.fspath(path))


def _commit(tmp, path, overwrite):
    """Gives tmp the name path: os.replace with overwrite, else a hard link,
    which fails rather than replace a file that appeared meanwhile."""
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise _exists_error(path) from None
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV,
                           errno.EMLINK, errno.ENOSYS):
            raise
        if os.path.lexists(path):  # no hard links here: check, then rename
            raise _exists_error(path) from None
        os.rename(tmp, path)
        return
    os.unlink(tmp)


def _sync_folder(path):
    try:
        fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _output_target(path):
    """The file writing `path` writes, as the CLI decides it: symbolic links
    followed to the last name (a dangling link names the file it will make);
    direct is True for an existing file that is not a regular one (a device,
    a FIFO, a descriptor through /proc or /dev/fd), written in place."""
    target = os.path.realpath(path)
    try:
        st = os.stat(path)
    except OSError:
        return target, False
    return target, not stat.S_ISREG(st.st_mode)


def _keep_old(target):
    """A hard link to the file about to be replaced, so that it can be put
    back if its partner cannot be placed; None if there is nothing to keep."""
    if not os.path.lexists(target):
        return None
    folder, base = os.path.split(target)
    for _ in range(100):
        backup = os.path.join(folder, "." + base[:200] + ".kmq-old-" + os.urandom(4).hex())
        try:
            os.link(target, backup)
            return backup
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free name for a backup", target)


def _named(e, path):
    """e as raised on the temporary file of `path`, naming path instead."""
    if isinstance(e, OSError) and e.errno is not None and e.filename != os.fspath(path):
        return type(e)(e.errno, e.strerror, os.fspath(path))
    return e


def write_files_atomic(outputs, overwrite=False):
    """Writes [(path, bytes), ...] as kmq compress writes its pair: symbolic
    links are followed (the link stays, its target is replaced); every file
    goes to a temporary file in its target's folder first, flushed; then each
    is given its name.  If one cannot be, the names already given are undone
    -- a replaced file comes back (kept as a hard link meanwhile), a new one
    is removed -- so the old files survive intact or every new one is in
    place.  Devices and FIFOs are written directly."""
    targets = [_output_target(path) for path, _ in outputs]
    temps, backups, placed = [None] * len(outputs), [None] * len(outputs), []
    try:
        for i, ((path, data), (target, direct)) in enumerate(zip(outputs, targets)):
            if direct:
                continue
            if not overwrite and os.path.lexists(target):
                raise _exists_error(path)
            try:
                temps[i] = _write_temp(target, data)
            except OSError as e:
                raise _named(e, path) from None
        for i, ((path, data), (target, direct)) in enumerate(zip(outputs, targets)):
            if direct:
                with open(path, "wb") as f:
                    f.write(data)
                continue
            if overwrite:
                backups[i] = _keep_old(target)
            try:
                _commit(temps[i], target, overwrite)
            except FileExistsError:
                raise _exists_error(path) from None
            except OSError as e:
                raise _named(e, path) from None
            temps[i] = None
            placed.append(i)
        for target, direct in targets:
            if not direct:
                _sync_folder(target)
    except BaseException:
        for i in placed:  # undo: the old file back, or the new name gone
            target = targets[i][0]
            try:
                if backups[i]:
                    os.replace(backups[i], target)
                    backups[i] = None
                else:
                    os.unlink(target)
            except OSError:
                pass
        raise
    finally:
        for tmp in temps + backups:
            if tmp:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass


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
                target, direct = _output_target(out)
                if not direct and os.path.lexists(target):
                    raise _exists_error(out)
        h, w, c = pixels.shape
        label_array, cb_array, st = _core.run_quantize(pixels, c, params, w, h)
        del pixels
        cb = _core.codebook_struct(cb_array)
        png = _lib.png_options(level=level, threads=params.threads)
        out, out_len = _lib._u8p(), ctypes.c_size_t()
        _lib.check(_lib.kmq_labels_encode(_lib.u8ptr(label_array), w, h, cb.k, ctypes.byref(png),
                                          ctypes.byref(out), ctypes.byref(out_len)), lpath)
        plain = _lib.take_buffer(out, out_len)
        out, out_len = _lib._u8p(), ctypes.c_size_t()
        # as the CLI: an empty kmq_metadata when stripped
        _lib.check(_lib.kmq_labels_add_metadata(_lib.bytes_ptr(plain), len(plain),
                                                ctypes.byref(meta or _lib.Metadata()),
                                                ctypes.byref(cb), ctypes.byref(out),
                                                ctypes.byref(out_len)), lpath)
        label_png = _lib.take_buffer(out, out_len)
        encode = _lib.kmq_codebook_encode_npy if _ends_with_npy(cpath) \
            else _lib.kmq_codebook_encode_bin
        out, out_len = _lib._u8p(), ctypes.c_size_t()
        _lib.check(encode(ctypes.byref(cb), ctypes.byref(out), ctypes.byref(out_len)), cpath)
        cb_bytes = _lib.take_buffer(out, out_len)
    finally:
        if meta:
            _lib.kmq_metadata_free(ctypes.byref(meta))
    write_files_atomic([(lpath, label_png), (cpath, cb_bytes)], overwrite)
    return CompressResult(lpath, cpath, w, h, c, int(st.k), int(st.distinct), int(st.iterations),
                          float(st.inertia), float(st.mse), float(st.psnr), bytes_in,
                          len(label_png) + len(cb_bytes))


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
    if data[:6] == b"\x93NUMPY" or (data[:4] != b"KMQC" and _ends_with_npy(path)):
        s = _lib.kmq_codebook_decode_npy(_lib.bytes_ptr(data), len(data), ctypes.byref(cb))
    else:
        s = _lib.kmq_codebook_decode_bin(_lib.bytes_ptr(data), len(data), ctypes.byref(cb))
    _lib.check(s, path)
    return cb


def read_codebook(path):
    """A codebook file, .bin or .npy (recognised by content), fully
    validated (magic, version, sizes, CRC): uint8 array (k, C)."""
    cb = _decode_codebook(path, _read(path, _lib.MAX_CODEBOOK_FILE))
    try:
        return _core.codebook_to_array(cb)
    finally:
        _lib.kmq_codebook_free(ctypes.byref(cb))


_CHANNEL_NAMES = {1: "grey", 2: "grey+alpha", 3: "RGB", 4: "RGBA"}


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
    img = _lib.Image()
    cb = _lib.Codebook()
    why = ctypes.c_char_p()
    try:
        if codebook_path is None:
            s = _lib.kmq_png8_decode(_lib.bytes_ptr(ldata), len(ldata), max_pixels,
                                     ctypes.byref(img), ctypes.byref(cb), ctypes.byref(why))
            if s == 13:  # KMQ_ERR_NOT_INDEXED
                raise _lib.Error(s, "it is not an indexed-colour (palette) PNG; a label image "
                                    "needs its codebook as second argument", labels_path)
            _lib.check(s, labels_path, why.value)
        else:
            cdata = _read(codebook_path, _lib.MAX_CODEBOOK_FILE)
            _lib.check(_lib.kmq_labels_decode(_lib.bytes_ptr(ldata), len(ldata), max_pixels,
                                              ctypes.byref(img), ctypes.byref(why)),
                       labels_path, why.value)
            cb = _decode_codebook(codebook_path, cdata)
            b = _lib.Binding()
            bs = _lib.kmq_labels_read_binding(_lib.bytes_ptr(ldata), len(ldata), ctypes.byref(b))
            if bs == _lib.ERR_BINDING and not ignore_binding:
                raise _lib.Error(bs, _lib.strerror(bs), labels_path)
            _lib.check(bs if bs != _lib.ERR_BINDING else _lib.OK, labels_path)
            if (not ignore_binding and bs == _lib.OK
                    and not _lib.kmq_binding_matches(ctypes.byref(b), ctypes.byref(cb))):
                raise _lib.Error(
                    _lib.ERR_ARG,
                    f"not a pair with {os.fspath(codebook_path)}: the labels were written with "
                    f"another codebook (k={b.k}, {_CHANNEL_NAMES.get(b.channels, '?')}, id "
                    f"{b.id:08x}; this one: k={cb.k}, {_CHANNEL_NAMES.get(cb.channels, '?')}, id "
                    f"{_lib.kmq_codebook_id(ctypes.byref(cb)):08x})", labels_path)
        w, h, c = img.width, img.height, cb.channels
        labels = np.frombuffer(ctypes.string_at(img.pixels, w * h), dtype=np.uint8)
        out = np.empty((h, w, c), dtype=np.uint8)
        bad = ctypes.c_size_t()
        s = _lib.kmq_labels_to_pixels(_lib.u8ptr(labels), w * h, ctypes.byref(cb), _lib.u8ptr(out),
                                   ctypes.byref(bad))
        if s == 11:  # KMQ_ERR_LABEL_RANGE
            i = bad.value
            where = f"the codebook {os.fspath(codebook_path)}" if codebook_path is not None \
                else "the palette of the PNG"
            raise _lib.Error(s, f"pixel ({i % w}, {i // w}) has label {labels[i]}, but {where} "
                                f"has only k = {cb.k} entries (0..{cb.k - 1})", labels_path)
        _lib.check(s, labels_path)
    finally:
        _lib.kmq_image_free(ctypes.byref(img))
        _lib.kmq_codebook_free(ctypes.byref(cb))
    return out[:, :, 0] if c == 1 else out
