"""kmq.KMeans: scikit-learn's KMeans interface over kmq's exact k-means (private)."""
import inspect
import warnings

import numpy as np

from . import _core


class ConvergenceWarning(UserWarning):
    """Fewer distinct colours than n_clusters (scikit-learn warns its own
    ConvergenceWarning in that case)."""


_ROWS = 1 << 15  # rows per chunk in predict: 32768 x 256 float64 = 64 MiB at most


def check_pixels(X, name="X"):
    """X as a C-contiguous uint8 array (n_samples, n_features), n_features 1..4.

    Any integer or float dtype is accepted if every value is an integer in
    0..255; anything else raises ValueError (never a silently wrong answer).
    """
    a = np.asarray(X)
    if a.dtype.kind not in "uif":
        raise ValueError(f"{name} must hold pixel values (integers 0..255) in an integer or float "
                         f"array, not dtype {a.dtype}")
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D, (n_samples, n_features), not shape {a.shape}; "
                         f"reshape an image with image.reshape(-1, channels)")
    n, c = a.shape
    if n == 0:
        raise ValueError(f"{name} has 0 samples (shape {a.shape}); at least 1 is required")
    if not 1 <= c <= 4:
        raise ValueError(f"{name} must have 1 to 4 features (grey, grey+alpha, RGB, RGBA), "
                         f"not {c}")
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if a.dtype.kind == "f":
        finite = np.isfinite(a)
        if not finite.all():
            bad = a[~finite].flat[0]
            raise ValueError(f"{name} contains {bad}; values must be integers 0..255")
        fractional = a != np.floor(a)
        if fractional.any():
            raise ValueError(f"{name} contains {a[fractional].flat[0]!r}; values must be "
                             f"integers 0..255 (round them first if that is meant)")
    lo, hi = a.min(), a.max()
    if lo < 0 or hi > 255:
        raise ValueError(f"{name} values must be integers 0..255, found {lo if lo < 0 else hi}")
    return np.ascontiguousarray(a, dtype=np.uint8)


def nearest(X, codebook):
    """For each row of X (uint8, n x C) the index of the nearest codebook row,
    the lowest on ties; with 2 or 4 columns under kmq's alpha metric (the mean
    of the squared errors composited over black and over white).  Exact: every
    distance is an integer below 2**53, computed in float64 by one matrix
    product per chunk."""
    n, C = X.shape
    if n > _ROWS:  # photos repeat colours: label each distinct colour once
        keys = np.zeros(n, dtype=np.uint32)
        for c in range(C):
            keys |= X[:, c].astype(np.uint32) << (8 * c)
        distinct, inverse = np.unique(keys, return_inverse=True)
        if distinct.size < n // 2:
            colours = np.empty((distinct.size, C), dtype=np.uint8)
            for c in range(C):
                colours[:, c] = distinct >> (8 * c)
            return nearest(colours, codebook)[inverse.reshape(-1)]
    e = codebook.astype(np.float64)
    if C in (2, 4):
        # 4*255^2 * error = sum_c (u_c - v_c)^2 + (C-1) 255^2 (a - b)^2 with
        # u_c = a (2 x_c - 255), v_c = b (2 y_c - 255); the pixel's own terms
        # are dropped, they do not change which entry is nearest.
        b = e[:, -1]
        v = b[:, None] * (2 * e[:, :-1] - 255)
        w = (C - 1) * 255.0 ** 2
        G = np.hstack([-2 * v, (-2 * w * b)[:, None]])
        K = (v ** 2).sum(axis=1) + w * b ** 2
    else:
        G = -2 * e
        K = (e ** 2).sum(axis=1)
    out = np.empty(n, dtype=np.int32)
    for start in range(0, n, _ROWS):
        x = X[start:start + _ROWS].astype(np.float64)
        if C in (2, 4):
            a = x[:, -1:]
            x = np.hstack([a * (2 * x[:, :-1] - 255), a])
        d = x @ G.T
        d += K
        out[start:start + _ROWS] = d.argmin(axis=1)
    return out


def plain_inertia(X, centres, labels):
    """Sum of squared Euclidean distances of X's rows to their centres (exact)."""
    total = 0
    c = centres.astype(np.int32)
    for start in range(0, X.shape[0], 1 << 20):
        d = X[start:start + (1 << 20)].astype(np.int32) - c[labels[start:start + (1 << 20)]]
        total += int(np.einsum("ij,ij->", d, d, dtype=np.int64))
    return float(total)


def seed_from(random_state):
    """A uint64 seed: an int is the seed itself (as kmq compress --seed); a
    RandomState or Generator gives one draw; None draws from NumPy's global
    RandomState (scikit-learn's meaning: np.random.seed makes it repeatable)."""
    if random_state is None:
        return int(np.random.randint(0, 2 ** 64, dtype=np.uint64))
    if isinstance(random_state, (bool, np.bool_)):
        pass
    elif isinstance(random_state, (int, np.integer)):
        if not 0 <= random_state < 2 ** 64:
            raise ValueError(f"random_state must be an integer from 0 to 2**64-1, not "
                             f"{random_state}")
        return int(random_state)
    elif isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2 ** 64, dtype=np.uint64))
    elif isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2 ** 64, dtype=np.uint64))
    raise ValueError(f"random_state must be None, an int, a numpy.random.RandomState or a "
                     f"numpy.random.Generator, not {random_state!r}")


class KMeans:
    """K-means clustering of pixel values, with scikit-learn's interface.

    A drop-in for sklearn.cluster.KMeans on colours: X is (n_samples,
    n_features) with 1 to 4 features (grey, grey+alpha, RGB, RGBA) whose
    values are integers 0..255, of any integer or float dtype (anything else,
    NaN, 3.5, 256, -1, 5 columns, raises ValueError).  Run by libkmq, all
    cores (threads=0), with the GIL released.

    Parameters (scikit-learn's names and meanings):
      n_clusters: 2..256.
      init: 'k-means++' (scikit-learn's greedy variant; 'kmeans++' too) or
        'random'.  Explicit centres and callables are not supported.
      n_init: restarts, the lowest error wins; 'auto' (the default, as in
        scikit-learn >= 1.4) is 1 for k-means++ and 10 for random.
      max_iter: Lloyd iterations per restart.  tol: scikit-learn's (relative
        to the mean per-feature variance).
      random_state: None draws a seed from NumPy's global RandomState (so
        each fit differs unless np.random.seed was called, as in
        scikit-learn); an int 0..2**64-1 is kmq's seed itself (the result of
        kmq compress --seed); a RandomState or Generator gives one draw.
      threads: kmq's worker threads, 0 = all cores; never changes results.

    Attributes after fit:
      cluster_centers_: float64 (n_clusters, n_features), integer values
        (kmq rounds its centres to uint8), so .astype(np.uint8) is exact.
      labels_: int32 (n_samples,), the nearest centre of every sample (lowest
        index on ties), so predict(X) == labels_ for the training X.
      inertia_: sum of squared Euclidean distances of the samples to their
        centres over all features: scikit-learn's definition.
      n_iter_: Lloyd iterations of the winning restart.  n_features_in_.
      codebook_: the centres as uint8 (k', n_features), k' <= n_clusters.

    Fewer distinct colours than n_clusters: every distinct colour is a
    centre (k' of them, the result is exact, inertia_ 0), the remaining
    n_clusters - k' rows of cluster_centers_ repeat the last one so that its
    shape is still (n_clusters, n_features), no label points at them, and a
    kmq.ConvergenceWarning says so (scikit-learn also returns duplicate
    centres and warns).

    2 or 4 features are grey+alpha and RGBA: the last feature is alpha, and
    the error minimised (and used by predict) is what a viewer sees, the
    mean of the squared errors composited over black and over white; every
    sample with alpha 0 goes to one centre of all zeros
    (docs/transparency.md).  For those, fit ends with an exact assignment step under
    that error (labels_ can differ from kmq.quantize's on a few pixels, with
    an error never higher), and inertia_ is still the plain squared
    Euclidean sum, which is not what was minimised.
    """

    def __init__(self, n_clusters=8, init="k-means++", n_init="auto", max_iter=300, tol=1e-4,
                 random_state=None, threads=0):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.threads = threads

    # -- scikit-learn's estimator protocol ---------------------------------
    @classmethod
    def _param_names(cls):
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep=True):
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for KMeans; valid: "
                                 f"{', '.join(valid)}")
            setattr(self, name, value)
        return self

    def __repr__(self):
        defaults = inspect.signature(type(self).__init__).parameters
        changed = [f"{n}={getattr(self, n)!r}" for n in self._param_names()
                   if getattr(self, n) is not defaults[n].default]
        return f"KMeans({', '.join(changed)})"

    # -- fitting -----------------------------------------------------------
    def _n_init(self):
        if isinstance(self.n_init, str) and self.n_init == "auto":
            return 10 if isinstance(self.init, str) and self.init == "random" else 1
        return self.n_init

    def fit(self, X, y=None, sample_weight=None):
        """Clusters X; returns self.  y is ignored; sample_weight must be None."""
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by kmq.KMeans (repeat the rows "
                             "instead)")
        X = check_pixels(X)
        C = X.shape[1]
        params = _core.make_params(self.n_clusters, self._n_init(), self.max_iter, self.init,
                                   seed_from(self.random_state), self.threads, self.tol,
                                   names={"k": "n_clusters", "seed": "random_state"})
        labels, codebook, st = _core.run_quantize(X, C, params)
        k = codebook.shape[0]
        if C in (2, 4):
            labels = nearest(X, codebook)
            inertia = plain_inertia(X, codebook, labels)
        else:
            labels = labels.astype(np.int32)
            inertia = float(st.inertia)  # the same sum, over the uint8 centres
        centres = codebook.astype(np.float64)
        if k < params.k:
            warnings.warn(f"Number of distinct clusters ({k}) found smaller than n_clusters "
                          f"({params.k}): X has only {st.distinct} distinct colours; every one is "
                          f"a centre and the last is repeated", ConvergenceWarning, stacklevel=2)
            centres = np.vstack([centres, np.repeat(centres[-1:], params.k - k, axis=0)])
        self.cluster_centers_ = centres
        self.codebook_ = codebook
        self.labels_ = labels
        self.inertia_ = inertia
        self.n_iter_ = int(st.iterations)
        self.n_features_in_ = C
        return self

    def _check_fitted(self):
        if not hasattr(self, "codebook_"):
            raise AttributeError("this KMeans instance is not fitted yet; call fit first")

    def predict(self, X):
        """The index of the nearest centre of every row of X (int32), lowest on ties."""
        self._check_fitted()
        X = check_pixels(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but KMeans is expecting "
                             f"{self.n_features_in_} features as input")
        return nearest(X, self.codebook_)

    def fit_predict(self, X, y=None, sample_weight=None):
        """fit(X) and its labels_."""
        return self.fit(X, y, sample_weight).labels_
