"""kmq: colour quantization by exact k-means, over libkmq (ctypes).

    import numpy as np, kmq
    labels, codebook = kmq.quantize(image, k=64)     # image: uint8 (H, W[, C])
    restored = codebook[labels]                      # (H, W, C)

    from kmq import KMeans                           # scikit-learn's interface
    km = KMeans(n_clusters=128, n_init=10, max_iter=200).fit(image.reshape(-1, 3))

    kmq.compress("photo.png", k=128)    # -> photo.labels.png + photo.codebook.bin
    image = kmq.decompress("photo.labels.png", "photo.codebook.bin")

API
  quantize(pixels, k=64, n_init="auto", max_iter=100, init="k-means++", seed=0,
           threads=0, tol=1e-4) -> (labels, codebook)
  KMeans(n_clusters=8, init="k-means++", n_init="auto", max_iter=300,
         tol=1e-4, random_state=None, threads=0)
  compress(path, labels=None, codebook=None, k=64, ..., overwrite=False)
           -> CompressResult
  decompress(labels_path, codebook_path=None) -> ndarray
  read_codebook(path) -> ndarray (k, C) uint8
  probe(path) -> ImageInfo (format, width, height, channels, streamable)
  Error (a failed library call: .status, .path, .why), ConvergenceWarning,
  __version__ (the library's), LIBRARY_PATH.

The results are those of the command line tool for the same options (the
same library calls in the same order), byte for byte for compress.

The library is libkmq.so.1, found at $KMQ_LIBRARY, else at the path `make
install` wrote into kmq/_config.py, else in the source tree's build/.  It is
loaded with ctypes.CDLL, which releases the GIL during every foreign call:
other Python threads run while kmq clusters (and kmq itself uses every core
unless threads= says otherwise).  Calls from several threads at once are
safe: the library keeps no mutable global state.
"""
from ._lib import Error, LIBRARY_PATH, VERSION as __version__
from ._core import quantize
from ._kmeans import KMeans, ConvergenceWarning
from ._files import compress, decompress, read_codebook, probe, CompressResult, ImageInfo

__all__ = ["quantize", "KMeans", "ConvergenceWarning", "compress", "decompress",
           "read_codebook", "probe", "CompressResult", "ImageInfo", "Error", "LIBRARY_PATH", "__version__"]
