"""kmq.quantize and the helpers shared with KMeans and the file helpers (private)."""
import ctypes

import numpy as np

from . import _lib

_INITS = {"k-means++": _lib.INIT_KMEANSPP, "kmeans++": _lib.INIT_KMEANSPP,
          "random": _lib.INIT_RANDOM}


def _int_arg(name, value):
    """An int parameter: Python or NumPy integers only (True, 3.0, "3" are refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, not {value!r}")
    return int(value)


def make_params(k, n_init, max_iter, init, seed, threads, tol, names=None):
    """A checked kmq_params.  names maps the library's field names to the
    caller's parameter names (KMeans says n_clusters for k)."""
    names = names or {}
    p = _lib.params()
    if not isinstance(init, str) or init not in _INITS:
        raise ValueError(f"{names.get('init', 'init')} must be 'k-means++' (or 'kmeans++') or "
                         f"'random', not {init!r}")
    auto = isinstance(n_init, str) and n_init == "auto"  # kmq's rule (kmq.h)
    values = {"k": _int_arg(names.get("k", "k"), k),
              "n_init": _lib.N_INIT_AUTO if auto else _int_arg(names.get("n_init", "n_init"),
                                                                n_init),
              "max_iter": _int_arg(names.get("max_iter", "max_iter"), max_iter),
              "threads": _int_arg(names.get("threads", "threads"), threads)}
    seed = _int_arg(names.get("seed", "seed"), seed)
    if not 0 <= seed < 2 ** 64:
        raise ValueError(f"{names.get('seed', 'seed')} must be an integer from 0 to 2**64-1, "
                         f"not {seed}")
    try:
        tol = float(tol)
    except (TypeError, ValueError):
        raise ValueError(f"{names.get('tol', 'tol')} must be a finite number >= 0, not {tol!r}") \
            from None
    # The library's own checks name the wrong field; values beyond a C int
    # are named here, before ctypes would wrap them around.
    for field, v in values.items():
        if not -2 ** 31 <= v < 2 ** 31 or (field == "n_init" and not auto and v < 1):
            raise ValueError(_range_message(names.get(field, field), field, v))
        setattr(p, field, v)
    p.init = _INITS[init]
    p.seed = seed
    p.tol = tol
    bad = ctypes.c_char_p()
    if _lib.kmq_params_check(ctypes.byref(p), ctypes.byref(bad)) != _lib.OK:
        field = bad.value.decode() if bad.value else "params"
        value = tol if field == "tol" else values.get(field, init)
        raise ValueError(_range_message(names.get(field, field), field, value))
    return p


# The limits of kmq_params_check (kmq.h), for the messages.
_RANGES = {"k": "from 2 to 256", "n_init": "from 1 to 10000 (or 'auto')",
           "max_iter": "from 1 to 1000000",
           "threads": "from 0 (all cores) to 1024", "tol": "a finite number >= 0"}


def _range_message(name, field, value):
    what = _RANGES.get(field, "valid")
    if field == "tol":
        return f"{name} must be {what}, not {value!r}"
    return f"{name} must be an integer {what}, not {value!r}"


def pixel_array(pixels):
    """Checks and returns (array C-contiguous uint8 of shape (H, W, C), channels)."""
    a = np.asarray(pixels)
    if a.dtype != np.uint8:
        raise ValueError(f"pixels must be a uint8 array, not dtype {a.dtype} (convert with "
                         f"np.asarray(x, dtype=np.uint8) if the values are 0..255)")
    if a.ndim == 2:
        a = a[:, :, np.newaxis]
    elif a.ndim != 3:
        raise ValueError(f"pixels must have shape (H, W) or (H, W, C), not {a.shape}")
    h, w, c = a.shape
    if not 1 <= c <= _lib.MAX_CHANNELS:
        raise ValueError(f"pixels must have 1 to 4 channels (grey, grey+alpha, RGB, RGBA), "
                         f"not {c} (shape {a.shape})")
    if h == 0 or w == 0:
        raise ValueError(f"pixels must not be empty (shape {a.shape})")
    return np.ascontiguousarray(a), c


def run_quantize(flat, channels, params, width=None, height=None):
    """kmq_quantize over npixels * channels bytes (a C-contiguous uint8 array);
    with width and height, kmq_palette_sort as the CLI does.  Returns
    (labels 1-D uint8, codebook (k', C) uint8, Stats)."""
    npixels = flat.size // channels
    labels = np.empty(npixels, dtype=np.uint8)
    cb = _lib.Codebook()
    st = _lib.stats()
    try:
        _lib.check(_lib.kmq_quantize(_lib.u8ptr(flat), npixels, channels, ctypes.byref(params),
                                     ctypes.byref(cb), _lib.u8ptr(labels), ctypes.byref(st)))
        if width is not None:
            _lib.check(_lib.kmq_palette_sort(ctypes.byref(cb), _lib.u8ptr(labels), width, height))
        codebook = codebook_to_array(cb)
    finally:
        _lib.kmq_codebook_free(ctypes.byref(cb))
    return labels, codebook, st


def codebook_to_array(cb):
    n = cb.k * cb.channels
    return np.frombuffer(ctypes.string_at(cb.entries, n), dtype=np.uint8).reshape(cb.k, cb.channels)


def codebook_struct(codebook):
    """A kmq_codebook viewing a C-contiguous (k, C) uint8 array (keep the array alive)."""
    return _lib.Codebook(codebook.shape[0], codebook.shape[1], _lib.u8ptr(codebook))


def quantize(pixels, k=64, n_init="auto", max_iter=100, init="k-means++", seed=0, threads=0,
             tol=1e-4):
    """Quantizes an image to at most k colours by exact k-means.

    pixels: uint8 array (H, W) grey or (H, W, C), C = 1 grey, 2 grey+alpha,
    3 RGB, 4 RGBA (copied if not C-contiguous).  The options are the CLI's
    (kmq compress -k, --n-init, --max-iter, --init, --seed, -t, --tol), and
    so are the results: the same labels and codebook, byte for byte, as
    `kmq compress --labels L --codebook C` writes for the same image and
    options (kmq_quantize, then kmq_palette_sort, as the CLI).  threads
    (0 = all cores) never changes the result.

    Returns (labels, codebook): labels (H, W) uint8, codebook (k', C) uint8
    with k' <= k (k' < k when the image has fewer distinct colours: then the
    codebook is exactly those colours and the result is lossless);
    codebook[labels] is the decompressed image, of shape (H, W, C) (for a 2-D
    grey input, (H, W, 1)).  With alpha (2 or 4 channels) the error is what a
    viewer sees over black and over white, and every fully transparent pixel
    maps to one entry of all zeros (docs/transparency.md).

    Raises ValueError for a wrong array (dtype, shape, channels) or option,
    naming it.  The GIL is released while the library works.
    """
    a, c = pixel_array(pixels)
    params = make_params(k, n_init, max_iter, init, seed, threads, tol)
    h, w = a.shape[:2]
    if w >= 2 ** 31 or h >= 2 ** 31:
        raise ValueError(f"pixels: an image side of at most 2**31-1, not shape {a.shape}")
    labels, codebook, _ = run_quantize(a, c, params, w, h)
    return labels.reshape(h, w), codebook

