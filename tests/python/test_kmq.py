"""Tests of the Python module kmq (python/kmq) over libkmq.

Run from the repository root:
    KMQ_BUILD=$PWD/build KMQ_LIBRARY=$PWD/build/libkmq.so.1 PYTHONPATH=python \
        /usr/bin/python3 -m pytest tests/python
The library is found as the module finds it (KMQ_LIBRARY, kmq/_config.py,
build/); the CLI compared against is $KMQ_BUILD/kmq, else the kmq beside the
loaded library, else build/kmq.  Images are generated here; tests of the
shared data ($KMQ_SHARED_DATA, default ../shared/data) skip without it, and
comparisons with scikit-learn skip without it.
"""
import ctypes
import os
import pickle
import re
import shutil
import struct
import subprocess
import sys
import threading
import time
import zlib

import pytest

np = pytest.importorskip("numpy", reason="the kmq module needs NumPy (Debian: python3-numpy)")
Image = pytest.importorskip("PIL.Image", reason="these tests write images with PIL "
                                               "(Debian: python3-pil)")
PngImagePlugin = pytest.importorskip("PIL.PngImagePlugin")

import kmq  # noqa: E402  (after the skips)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("KMQ_SHARED_DATA") or os.path.join(ROOT, "..", "shared", "data")


def _cli_path():
    build = os.environ.get("KMQ_BUILD")
    if build:
        return os.path.join(build, "kmq")
    beside = os.path.join(os.path.dirname(os.path.realpath(kmq.LIBRARY_PATH)), "kmq")
    return beside if os.path.exists(beside) else os.path.join(ROOT, "build", "kmq")


CLI = _cli_path()


def run_cli(*args):
    """Runs kmq; fails the test (with stderr) unless it exits 0."""
    if not os.access(CLI, os.X_OK):
        pytest.fail(f"no kmq binary at {CLI}: build it or set KMQ_BUILD")
    r = subprocess.run([CLI, *map(str, args)], capture_output=True)
    assert r.returncode == 0, f"kmq {' '.join(map(str, args))}: {r.returncode} {r.stderr!r}"
    return r


# ---- generated images ---------------------------------------------------------

def rgb_image(h=96, w=128, seed=1):
    """Gradients plus noise: thousands of distinct colours."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) * 255 // (w + h - 2)], -1)
    img = img + rng.integers(-20, 21, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def grey_image(h=64, w=72, seed=2):
    return rgb_image(h, w, seed)[:, :, 1].copy()


def rgba_image(h=64, w=80, seed=3):
    """An opaque gradient, a soft-edged half-transparent band and a fully
    transparent corner hiding random colours."""
    rng = np.random.default_rng(seed)
    rgb = rgb_image(h, w, seed)
    alpha = np.full((h, w), 255, dtype=np.uint8)
    alpha[:, w // 2:] = np.linspace(255, 40, w - w // 2).astype(np.uint8)
    alpha[: h // 3, : w // 3] = 0
    rgb[: h // 3, : w // 3] = rng.integers(0, 256, (h // 3, w // 3, 3))
    return np.dstack([rgb, alpha])


def la_image(h=48, w=64, seed=4):
    rgba = rgba_image(h, w, seed)
    return np.dstack([rgba[:, :, 1], rgba[:, :, 3]])


def few_colours_image(h=40, w=50):
    palette = np.array([[0, 0, 0], [255, 0, 0], [0, 128, 255], [250, 250, 250], [12, 200, 7]],
                       dtype=np.uint8)
    idx = (np.arange(h * w).reshape(h, w) * 7 // 3) % len(palette)
    return palette[idx], palette


IMAGES = {"rgb": rgb_image, "grey": grey_image, "rgba": rgba_image, "grey+alpha": la_image,
          "few": lambda: few_colours_image()[0]}


def save_png(path, pixels, **kw):
    Image.fromarray(pixels).save(path, **kw)
    return path


def parse_bin(data):
    """The .bin codebook format of include/kmq.h, read independently."""
    assert data[:4] == b"KMQC" and data[4] == 1
    c, k = data[5], struct.unpack("<H", data[6:8])[0]
    assert len(data) == 12 + k * c
    assert struct.unpack("<I", data[-4:])[0] == zlib.crc32(data[:-4])
    return np.frombuffer(data[8:8 + k * c], dtype=np.uint8).reshape(k, c)


def read_png(path):
    with Image.open(path) as im:
        return np.asarray(im)


def viewer_sse(x, y):
    """kmq's error with alpha (README, Transparency), brute force: the mean
    of the squared errors composited over black and over white."""
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    ax, ay = x[..., -1:] / 255, y[..., -1:] / 255
    black = x[..., :-1] * ax - y[..., :-1] * ay
    white = black + 255 * (1 - ax) - 255 * (1 - ay)
    return float(((black ** 2).sum() + (white ** 2).sum()) / 2)


# ---- the library and the structs --------------------------------------------

def test_version_is_the_headers():
    header = open(os.path.join(ROOT, "include", "kmq.h")).read()
    want = re.search(r'#define KMQ_VERSION_STRING "([^"]+)"', header).group(1)
    assert kmq.__version__ == want
    assert os.path.exists(kmq.LIBRARY_PATH)


def _import_kmq(env, pythonpath):
    env = {**os.environ, **env, "PYTHONPATH": pythonpath}
    env = {k: v for k, v in env.items() if v is not None}
    return subprocess.run([sys.executable, "-c", "import kmq; print(kmq.LIBRARY_PATH)"],
                          env=env, capture_output=True, text=True)


def test_library_lookup_order(tmp_path):
    package = os.path.dirname(kmq.__file__)
    # KMQ_LIBRARY first, and a clear message when it is wrong
    r = _import_kmq({"KMQ_LIBRARY": str(tmp_path / "nowhere.so")}, os.path.dirname(package))
    assert r.returncode != 0
    assert f"kmq: cannot load libkmq from {tmp_path / 'nowhere.so'} (found through KMQ_LIBRARY)" \
        in r.stderr
    # then the _config.py that make install writes
    installed = tmp_path / "dist-packages" / "kmq"
    installed.mkdir(parents=True)
    for name in os.listdir(package):
        if name.endswith(".py"):
            shutil.copy(os.path.join(package, name), installed / name)
    (installed / "_config.py").write_text(f"LIBRARY = {kmq.LIBRARY_PATH!r}\n")
    env = {"KMQ_LIBRARY": None}
    r = _import_kmq(env, str(tmp_path / "dist-packages"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == kmq.LIBRARY_PATH
    # else the source tree's build/libkmq.so.1
    (installed / "_config.py").unlink()
    r = _import_kmq(env, str(tmp_path / "dist-packages"))
    assert r.returncode != 0 and "found through the source tree" in r.stderr


STRUCTS = {
    "kmq_params": kmq._lib.Params, "kmq_codebook": kmq._lib.Codebook,
    "kmq_stats": kmq._lib.Stats, "kmq_image": kmq._lib.Image,
    "kmq_metadata": kmq._lib.Metadata, "kmq_decode_options": kmq._lib.DecodeOptions,
    "kmq_binding": kmq._lib.Binding, "kmq_png_options": kmq._lib.PngOptions,
    "kmq_diff": kmq._lib.Diff, "kmq_compress_options": kmq._lib.CompressOptions,
    "kmq_quantized": kmq._lib.Quantized, "kmq_compressed": kmq._lib.Compressed,
    "kmq_decompress_options": kmq._lib.DecompressOptions,
    "kmq_decompressed": kmq._lib.Decompressed, "kmq_image_info": kmq._lib.ImageInfo,
}


def test_structs_mirror_the_header(tmp_path):
    """sizeof and every offsetof, from the C compiler, equal ctypes'."""
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler to read the struct layout of include/kmq.h")
    lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "kmq.h"', "int main(void) {"]
    for name, cls in STRUCTS.items():
        lines.append(f'printf("{name} %zu\\n", sizeof({name}));')
        for field, _ in cls._fields_:
            lines.append(f'printf("{name}.{field} %zu\\n", offsetof({name}, {field}));')
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run([cc, "-I", os.path.join(ROOT, "include"), "-o", str(exe), str(src)], check=True)
    got = dict(line.split() for line in subprocess.run([str(exe)], capture_output=True,
                                                       text=True, check=True).stdout.splitlines())
    for name, cls in STRUCTS.items():
        assert int(got[name]) == ctypes.sizeof(cls), name
        for field, _ in cls._fields_:
            assert int(got[f"{name}.{field}"]) == getattr(cls, field).offset, f"{name}.{field}"


def test_sized_structs_are_made_with_their_size():
    """kmq.h's Sizes: the module's structs start from the library's defaults."""
    lib = kmq._lib
    for make, cls in ((lib.params, lib.Params), (lib.png_options, lib.PngOptions),
                      (lib.decode_options, lib.DecodeOptions), (lib.stats, lib.Stats)):
        assert make().size == ctypes.sizeof(cls), cls.__name__
    assert lib.params(k=9).k == 9 and lib.params().k == 64
    assert lib.decode_options(keep_orientation=1).keep_orientation == 1
    p = lib.params()
    p.size = 3
    assert lib.kmq_params_check(ctypes.byref(p), None) == lib.ERR_ARG
    assert lib.last_why().startswith("params.size = 3 is not a kmq_params size")


def test_argument_errors_name_the_field():
    """kmq.Error for KMQ_ERR_ARG carries kmq_last_why(): which field, what value."""
    lib = kmq._lib
    png = lib.png_options(level=13)
    labels = np.zeros((2, 2), np.uint8)
    out, n = lib._u8p(), ctypes.c_size_t()
    with pytest.raises(kmq.Error, match=r"^invalid argument: o\.level = 13 is outside 1\.\.12$") as e:
        lib.check(lib.kmq_labels_encode(lib.u8ptr(labels), 2, 2, 2, ctypes.byref(png),
                                        ctypes.byref(out), ctypes.byref(n)))
    assert e.value.status == lib.ERR_ARG
    assert lib.last_why() == "o.level = 13 is outside 1..12"


# ---- quantize -------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(IMAGES))
def test_quantize_equals_the_cli(tmp_path, kind):
    pixels = IMAGES[kind]()
    png = save_png(tmp_path / "in.png", pixels)
    run_cli("compress", png, "-k", 12, "--n-init", 2, "--max-iter", 40, "--seed", 7,
            "--labels", tmp_path / "L.png", "--codebook", tmp_path / "C.bin", "-q")
    labels, codebook = kmq.quantize(pixels, k=12, n_init=2, max_iter=40, seed=7)
    assert labels.dtype == np.uint8 and labels.shape == pixels.shape[:2]
    assert codebook.dtype == np.uint8
    assert np.array_equal(labels, read_png(tmp_path / "L.png"))
    assert np.array_equal(codebook, parse_bin((tmp_path / "C.bin").read_bytes()))
    # and the pair decodes to what the CLI decompresses
    run_cli("decompress", tmp_path / "L.png", tmp_path / "C.bin", "-o", tmp_path / "D.png", "-q")
    decoded = codebook[labels]
    assert np.array_equal(decoded.reshape(read_png(tmp_path / "D.png").shape),
                          read_png(tmp_path / "D.png"))


def test_quantize_channels_and_losslessness():
    pixels, palette = few_colours_image()
    labels, codebook = kmq.quantize(pixels, k=64)
    assert codebook.shape == (5, 3)  # fewer distinct colours than k: exactly those
    assert sorted(map(tuple, codebook)) == sorted(map(tuple, palette))
    assert np.array_equal(codebook[labels], pixels)
    grey = grey_image()
    labels, codebook = kmq.quantize(grey, k=8)
    assert codebook.shape == (8, 1) and codebook[labels].shape == grey.shape + (1,)
    l3, c3 = kmq.quantize(grey[:, :, None], k=8)
    assert np.array_equal(l3, labels) and np.array_equal(c3, codebook)


def test_quantize_alpha_hides_nothing_and_clears_transparent_pixels():
    pixels = rgba_image()
    labels, codebook = kmq.quantize(pixels, k=16)
    clear = pixels[:, :, 3] == 0
    assert np.all(codebook[labels[clear]] == 0)  # one all-zero entry for every alpha-0 pixel
    assert np.count_nonzero(codebook[:, 3] == 0) == 1


def test_quantize_copies_non_contiguous_input():
    big = rgb_image(96, 256)
    view = big[:, ::2]
    assert not view.flags.c_contiguous
    a = kmq.quantize(view, k=16, seed=3)
    b = kmq.quantize(np.ascontiguousarray(view), k=16, seed=3)
    f = kmq.quantize(np.asfortranarray(view), k=16, seed=3)
    for x, y in ((a, b), (a, f)):
        assert np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1])


def test_quantize_options():
    pixels = rgb_image(48, 64)
    base = kmq.quantize(pixels, k=16, seed=5, threads=1)
    for other in (kmq.quantize(pixels, k=16, seed=5, threads=2),
                  kmq.quantize(pixels, k=16, seed=5, init="kmeans++")):
        assert np.array_equal(base[0], other[0]) and np.array_equal(base[1], other[1])
    rnd = kmq.quantize(pixels, k=16, seed=5, init="random")
    assert rnd[1].shape == (16, 3) and int(rnd[0].max()) < 16


@pytest.mark.parametrize("pixels, message", [
    (np.zeros((4, 4, 3), dtype=np.float64), "uint8"),
    (np.zeros((4, 4, 3), dtype=np.int64), "uint8"),
    (np.zeros((4, 4, 5), dtype=np.uint8), "1 to 4 channels"),
    (np.zeros((4, 4, 0), dtype=np.uint8), "1 to 4 channels"),
    (np.zeros(16, dtype=np.uint8), r"shape \(H, W\) or \(H, W, C\)"),
    (np.zeros((2, 2, 2, 3), dtype=np.uint8), r"shape \(H, W\) or \(H, W, C\)"),
    (np.zeros((0, 4, 3), dtype=np.uint8), "empty"),
])
def test_quantize_refuses_bad_arrays(pixels, message):
    with pytest.raises(ValueError, match=message):
        kmq.quantize(pixels)


@pytest.mark.parametrize("option, value, message", [
    ("k", 1, "k must be an integer from 2 to 256, not 1"),
    ("k", 257, "k must be an integer from 2 to 256, not 257"),
    ("k", 2 ** 40, "k must be an integer from 2 to 256"),
    ("k", 3.0, "k must be an integer, not 3.0"),
    ("n_init", 0, "n_init must be an integer from 1 to 10000 \\(or 'auto'\\), not 0"),
    ("n_init", "x", "n_init must be an integer, not 'x'"),
    ("max_iter", 0, "max_iter must be an integer from 1 to 1000000, not 0"),
    ("tol", -1, "tol must be a finite number >= 0, not -1"),
    ("tol", float("nan"), "tol must be a finite number >= 0, not nan"),
    ("tol", "x", "tol must be a finite number >= 0"),
    ("threads", -1, "threads must be an integer from 0"),
    ("seed", -1, "seed must be an integer from 0 to 2\\*\\*64-1"),
    ("seed", 2 ** 64, "seed must be an integer from 0 to 2\\*\\*64-1"),
    ("init", "kmeans", "init must be 'k-means\\+\\+'"),
])
def test_quantize_names_the_wrong_option(option, value, message):
    with pytest.raises(ValueError, match=message):
        kmq.quantize(rgb_image(8, 8), **{option: value})


def test_quantize_from_several_threads_at_once():
    """No global state in the library: four threads at once give the
    sequential results."""
    images = [rgb_image(64, 64, seed) for seed in range(4)]
    want = [kmq.quantize(im, k=32, seed=1, threads=1) for im in images]
    got = [None] * 4

    def work(i):
        got[i] = kmq.quantize(images[i], k=32, seed=1, threads=1)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (wl, wc), (gl, gc) in zip(want, got):
        assert np.array_equal(wl, gl) and np.array_equal(wc, gc)


def test_the_gil_is_released_during_the_work():
    """A Python thread keeps counting while kmq works.  The switch interval
    is raised so that a call that held the GIL would see no count at all (the
    control: the same function through ctypes.PyDLL, which holds it)."""
    pixels = rgb_image(128, 128, 9)
    count = 0
    stop = False

    def counter():
        nonlocal count
        while not stop:
            count += 1
            if count % 20000 == 0:
                time.sleep(0)  # lets the main thread back in promptly

    old = sys.getswitchinterval()
    sys.setswitchinterval(30.0)
    t = threading.Thread(target=counter)
    t.start()
    try:
        while count == 0:
            threading.Event().wait(0.001)
        before = count
        labels, _ = kmq.quantize(pixels, k=64, n_init=2, threads=1)
        released = count - before

        held_lib = ctypes.PyDLL(kmq.LIBRARY_PATH)
        fn = held_lib.kmq_quantize
        fn.restype = ctypes.c_int
        fn.argtypes = kmq._lib.kmq_quantize.argtypes
        params = kmq._core.make_params(64, 2, 100, "k-means++", 0, 1, 1e-4)
        flat = np.ascontiguousarray(pixels)
        out = np.empty(pixels.shape[0] * pixels.shape[1], dtype=np.uint8)
        cb = kmq._lib.Codebook()
        before = count
        status = fn(kmq._lib.u8ptr(flat), out.size, 3, ctypes.byref(params), ctypes.byref(cb),
                    kmq._lib.u8ptr(out), None)
        held = count - before
        kmq._lib.kmq_codebook_free(ctypes.byref(cb))
    finally:
        stop = True
        t.join()
        sys.setswitchinterval(old)
    assert status == 0 and labels.shape == (128, 128)
    print(f"counter: {released} during kmq.quantize, {held} during the PyDLL call")
    assert held == 0, "the PyDLL control should hold the GIL"
    assert released > 1000, f"the counter ran only {released} times during kmq.quantize"


# ---- KMeans -----------------------------------------------------------------------

def test_kmeans_attributes_and_predict():
    X = rgb_image().reshape(-1, 3)
    km = kmq.KMeans(n_clusters=16, n_init=2, max_iter=50, random_state=3)
    assert km.fit(X) is km
    assert km.cluster_centers_.dtype == np.float64 and km.cluster_centers_.shape == (16, 3)
    assert np.array_equal(km.cluster_centers_, np.round(km.cluster_centers_))
    assert np.array_equal(km.cluster_centers_.astype(np.uint8), km.codebook_)
    assert km.labels_.shape == (X.shape[0],) and km.labels_.max() < 16
    assert km.n_features_in_ == 3 and km.n_iter_ >= 1
    d = X.astype(np.int64) - km.cluster_centers_[km.labels_].astype(np.int64)
    assert km.inertia_ == float((d * d).sum())
    assert np.array_equal(km.predict(X), km.labels_)
    # predict is the nearest centre, lowest index on ties: brute force
    brute = ((X[:, None, :].astype(np.int64) - km.codebook_[None].astype(np.int64)) ** 2).sum(-1)
    assert np.array_equal(km.predict(X), brute.argmin(1))
    assert np.array_equal(kmq.KMeans(n_clusters=16, n_init=2, max_iter=50,
                                     random_state=3).fit_predict(X), km.labels_)


def test_kmeans_grey():
    X = grey_image().reshape(-1, 1)
    km = kmq.KMeans(n_clusters=6, random_state=2).fit(X)
    assert km.cluster_centers_.shape == (6, 1)
    assert np.array_equal(km.predict(X), km.labels_)
    assert np.array_equal(np.abs(X.astype(int) - km.codebook_[:, 0].astype(int)).argmin(1),
                          km.labels_)


def test_kmeans_is_quantize():
    """An int random_state is kmq's seed: the same clustering as quantize
    (whose codebook is reordered for PNG, so compared as decoded pixels)."""
    img = rgb_image(64, 64)
    labels, codebook = kmq.quantize(img, k=16, n_init=3, max_iter=100, seed=11)
    km = kmq.KMeans(n_clusters=16, n_init=3, max_iter=100, random_state=11).fit(
        img.reshape(-1, 3))
    assert np.array_equal(km.codebook_[km.labels_], codebook[labels].reshape(-1, 3))


def test_kmeans_predict_ties_go_to_the_lowest_index():
    km = kmq.KMeans(n_clusters=2).fit(np.array([[0, 0, 0], [10, 10, 10]] * 4))
    X = np.array([[5, 5, 5], [0, 0, 1], [10, 10, 9]], dtype=np.uint8)
    low = 0 if km.codebook_[0, 0] == 0 else 1
    assert km.predict(X).tolist() == [0, low, 1 - low]


def test_kmeans_accepts_integral_values_of_any_numeric_dtype():
    X = rgb_image(32, 32).reshape(-1, 3)
    want = kmq.KMeans(n_clusters=8, random_state=1).fit(X)
    for other in (X.astype(np.float64), X.astype(np.float32), X.astype(np.int64),
                  X.astype(np.uint16), np.asfortranarray(X), X.tolist()):
        got = kmq.KMeans(n_clusters=8, random_state=1).fit(other)
        assert np.array_equal(got.labels_, want.labels_)
        assert np.array_equal(got.cluster_centers_, want.cluster_centers_)
    assert np.array_equal(want.predict(X.astype(np.float64)), want.labels_)


@pytest.mark.parametrize("X, message", [
    (np.array([[1.0, 2.0, np.nan]]), "contains nan"),
    (np.array([[1.0, 2.0, np.inf]]), "contains inf"),
    (np.array([[1.0, 2.0, 3.5]]), "contains 3.5"),
    (np.array([[1, 2, 256]]), "found 256"),
    (np.array([[1, 2, -1]]), "found -1"),
    (np.array([[1.0, 2.0, -0.5]]), "contains -0.5"),
    (np.zeros((4, 5), dtype=np.uint8), "1 to 4 features"),
    (np.zeros(12, dtype=np.uint8), "must be 2-D"),
    (np.zeros((2, 2, 3), dtype=np.uint8), "must be 2-D"),
    (np.zeros((0, 3), dtype=np.uint8), "0 samples"),
    (np.array([["a", "b", "c"]]), "dtype <U1"),
    (np.array([[1, 2, 3]], dtype=object), "dtype object"),
    (np.array([[True, False, True]]), "dtype bool"),
])
def test_kmeans_refuses_what_is_not_pixels(X, message):
    with pytest.raises(ValueError, match=message):
        kmq.KMeans(n_clusters=2).fit(X)


def test_kmeans_parameters_are_checked():
    X = rgb_image(16, 16).reshape(-1, 3)
    with pytest.raises(ValueError, match="n_clusters must be an integer from 2 to 256, not 300"):
        kmq.KMeans(n_clusters=300).fit(X)
    with pytest.raises(ValueError, match="random_state must be None, an int"):
        kmq.KMeans(random_state="seed").fit(X)
    with pytest.raises(ValueError, match="random_state must be an integer from 0"):
        kmq.KMeans(random_state=-5).fit(X)
    with pytest.raises(ValueError, match="init must be"):
        kmq.KMeans(init=np.zeros((8, 3))).fit(X)
    with pytest.raises(ValueError, match="sample_weight"):
        kmq.KMeans().fit(X, sample_weight=np.ones(len(X)))
    km = kmq.KMeans(n_clusters=4).fit(X)
    with pytest.raises(ValueError, match="X has 4 features, but KMeans is expecting 3"):
        km.predict(np.zeros((2, 4), dtype=np.uint8))
    with pytest.raises(AttributeError, match="not fitted"):
        kmq.KMeans().predict(X)
    assert km.get_params()["n_clusters"] == 4
    assert km.set_params(n_clusters=6) is km and km.n_clusters == 6
    assert repr(kmq.KMeans(n_clusters=6)) == "KMeans(n_clusters=6)"


def test_kmeans_random_state():
    X = rgb_image(48, 48).reshape(-1, 3)

    def centres(**kw):
        return kmq.KMeans(n_clusters=24, max_iter=5, **kw).fit(X).cluster_centers_

    np.random.seed(123)
    a = centres()
    np.random.seed(123)
    assert np.array_equal(a, centres())  # None: NumPy's global RandomState, as sklearn
    assert np.array_equal(centres(random_state=7), centres(random_state=np.int64(7)))
    assert np.array_equal(centres(random_state=np.random.RandomState(5)),
                          centres(random_state=np.random.RandomState(5)))
    assert np.array_equal(centres(random_state=np.random.default_rng(5)),
                          centres(random_state=np.random.default_rng(5)))
    seeds = {centres(random_state=s).tobytes() for s in range(4)}
    assert len(seeds) > 1  # the seed does matter


def test_kmeans_fewer_distinct_colours_than_clusters():
    pixels, palette = few_colours_image()
    X = pixels.reshape(-1, 3)
    with pytest.warns(kmq.ConvergenceWarning, match=r"distinct clusters \(5\).*n_clusters \(8\)"):
        km = kmq.KMeans(n_clusters=8, random_state=0).fit(X)
    assert km.cluster_centers_.shape == (8, 3) and km.codebook_.shape == (5, 3)
    assert sorted(map(tuple, km.codebook_)) == sorted(map(tuple, palette))
    assert np.array_equal(km.cluster_centers_[5:], np.repeat(km.cluster_centers_[4:5], 3, 0))
    assert km.labels_.max() == 4 and km.inertia_ == 0.0
    assert np.array_equal(km.cluster_centers_[km.labels_], X)
    assert np.array_equal(km.predict(X), km.labels_)
    with pytest.warns(kmq.ConvergenceWarning):  # fewer samples than clusters: the same rule
        assert kmq.KMeans(n_clusters=4).fit([[1, 2, 3], [4, 5, 6]]).inertia_ == 0.0


@pytest.mark.parametrize("make", [rgba_image, la_image])
def test_kmeans_with_alpha(make):
    """Last column alpha: clustered and predicted under the viewer error,
    every alpha-0 sample on the one clear centre, labels_ the exact nearest
    (so no worse than quantize's), inertia_ plain squared Euclidean."""
    pixels = make()
    C = pixels.shape[2]
    X = pixels.reshape(-1, C)
    km = kmq.KMeans(n_clusters=12, n_init=2, random_state=4).fit(X)
    assert np.array_equal(km.predict(X), km.labels_)
    assert np.all(km.codebook_[km.labels_[X[:, -1] == 0]] == 0)
    # brute-force nearest under the viewer error, lowest index on ties
    e = km.codebook_.astype(np.int64)
    x = X.astype(np.int64)
    a, b = x[:, None, -1:], e[None, :, -1:]
    black = x[:, None, :-1] * a - e[None, :, :-1] * b
    white = black - 255 * (a - b)
    assert np.array_equal(km.labels_, ((black ** 2) + (white ** 2)).sum(-1).argmin(1))
    labels, codebook = kmq.quantize(pixels, k=12, n_init=2, seed=4)
    assert viewer_sse(X, km.codebook_[km.labels_]) <= viewer_sse(X, codebook[labels.ravel()])
    d = x - e[km.labels_]
    assert km.inertia_ == float((d * d).sum())


def classic_script(KMeans, path, out_dir, n_clusters, n_init=10, max_iter=200):
    """The classic scikit-learn colour-quantization script, as the bench runs
    it (bench/python_classic.py), with the KMeans class passed in."""
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    try:
        from python_classic import classic
    finally:
        sys.path.pop(0)
    return classic(KMeans, path, out_dir, n_clusters, n_init, max_iter)


def test_classic_script_runs_with_the_import_switched(tmp_path):
    pixels = rgb_image(64, 96)
    png = save_png(tmp_path / "in.png", pixels)
    km, rebuilt = classic_script(kmq.KMeans, png, tmp_path, 16)
    assert np.array_equal(np.uint8(km.cluster_centers_), km.cluster_centers_)  # exact casts
    labels = read_png(tmp_path / "compressed.png")
    codebook = np.load(tmp_path / "codebook.npy")
    assert np.array_equal(codebook[labels], rebuilt)
    assert np.array_equal(kmq.decompress(tmp_path / "compressed.png", tmp_path / "codebook.npy"),
                          rebuilt)
    assert float(((rebuilt.astype(np.int64) - pixels) ** 2).sum()) == km.inertia_


def test_classic_script_against_scikit_learn(tmp_path):
    pytest.importorskip("sklearn.cluster", reason="scikit-learn is not installed "
                                                  "(Debian: python3-sklearn)")
    from sklearn.cluster import KMeans as SKMeans
    pixels = rgb_image(48, 64, seed=8)
    png = save_png(tmp_path / "in.png", pixels)
    np.random.seed(0)
    ours, ours_rebuilt = classic_script(kmq.KMeans, png, tmp_path, 16)
    np.random.seed(0)
    theirs, theirs_rebuilt = classic_script(SKMeans, png, tmp_path, 16)

    def sse(rebuilt):
        return float(((rebuilt.astype(np.int64) - pixels) ** 2).sum())

    # What the script saves: kmq's centres are integers, cast exactly, so its
    # inertia_ is the error of the rebuilt image; sklearn's are truncated.
    assert sse(ours_rebuilt) == ours.inertia_
    assert not np.array_equal(np.uint8(theirs.cluster_centers_), theirs.cluster_centers_)
    assert sse(theirs_rebuilt) > theirs.inertia_
    # Both find local minima; on a small image either may win by a little
    # (the bench compares them on tiger.png).
    assert ours.inertia_ <= 1.01 * theirs.inertia_


# ---- files ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["rgb", "grey", "rgba"])
@pytest.mark.parametrize("ext", [".bin", ".npy"])
def test_compress_writes_the_clis_bytes(tmp_path, kind, ext):
    pixels = IMAGES[kind]()
    info = PngImagePlugin.PngInfo()  # colour metadata travels in the kmCp chunk
    info.add(b"gAMA", struct.pack(">I", 45455))
    png = save_png(tmp_path / "in.png", pixels, pnginfo=info, dpi=(300, 300))
    run_cli("compress", png, "-k", 10, "--seed", 2, "--labels", tmp_path / "cli.png",
            "--codebook", tmp_path / f"cli{ext}", "-q")
    r = kmq.compress(png, labels=tmp_path / "py.png", codebook=tmp_path / f"py{ext}", k=10,
                     seed=2)
    assert (tmp_path / "py.png").read_bytes() == (tmp_path / "cli.png").read_bytes()
    assert (tmp_path / f"py{ext}").read_bytes() == (tmp_path / f"cli{ext}").read_bytes()
    assert b"kmCp" in (tmp_path / "py.png").read_bytes()[:200]
    assert r.labels_path == str(tmp_path / "py.png") and r.k == 10
    assert r.width == pixels.shape[1] and r.height == pixels.shape[0]
    assert r.bytes_in == os.path.getsize(png)
    assert r.bytes_out == os.path.getsize(tmp_path / "py.png") + os.path.getsize(
        tmp_path / f"py{ext}")
    labels, codebook = kmq.quantize(pixels, k=10, seed=2)
    decoded = kmq.decompress(tmp_path / "py.png", tmp_path / f"py{ext}")
    assert np.array_equal(decoded, codebook[labels].reshape(decoded.shape))
    mse = ((decoded.astype(np.float64) - pixels) ** 2).mean()
    if kind != "rgba":
        assert r.mse == pytest.approx(mse) and r.psnr == pytest.approx(10 * np.log10(255 ** 2 / mse))


def test_compress_default_names_overwrite_and_no_leftovers(tmp_path):
    png = save_png(tmp_path / "pic.v1.png", rgb_image(32, 40))
    r = kmq.compress(png, k=8)
    assert r.labels_path == str(tmp_path / "pic.v1.labels.png")
    assert r.codebook_path == str(tmp_path / "pic.v1.codebook.bin")
    first = (tmp_path / "pic.v1.codebook.bin").read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        kmq.compress(png, k=8, seed=1)
    assert (tmp_path / "pic.v1.codebook.bin").read_bytes() == first
    os.chmod(tmp_path / "pic.v1.labels.png", 0o640)
    kmq.compress(png, k=8, seed=1, overwrite=True)
    assert (tmp_path / "pic.v1.codebook.bin").read_bytes() != first
    assert os.stat(tmp_path / "pic.v1.labels.png").st_mode & 0o777 == 0o640  # mode kept
    assert sorted(os.listdir(tmp_path)) == ["pic.v1.codebook.bin", "pic.v1.labels.png",
                                           "pic.v1.png"]
    assert kmq._files.derive_path("a.b/c", ".labels.png") == "a.b/c.labels.png"
    assert kmq._files.derive_path("dir/.hidden", ".x") == "dir/.hidden.x"


def test_compress_follows_output_links_as_the_cli_does(tmp_path):
    png = save_png(tmp_path / "a.png", rgb_image(24, 32))
    real = tmp_path / "real"
    real.mkdir()
    (real / "t.l").write_bytes(b"old")
    (real / "t.c").write_bytes(b"old")
    os.symlink("real/t.l", tmp_path / "L.png")
    os.symlink("real/t.c", tmp_path / "C.bin")
    kmq.compress(png, labels=tmp_path / "L.png", codebook=tmp_path / "C.bin", k=8,
                 overwrite=True)
    assert os.path.islink(tmp_path / "L.png") and os.path.islink(tmp_path / "C.bin")
    run_cli("compress", "-q", "-k", "8", png, "--labels", tmp_path / "cli.png",
            "--codebook", tmp_path / "cli.bin")
    assert (real / "t.l").read_bytes() == (tmp_path / "cli.png").read_bytes()
    assert (real / "t.c").read_bytes() == (tmp_path / "cli.bin").read_bytes()
    # a dangling link makes its target, and stays a link
    os.symlink("real/new.png", tmp_path / "D.png")
    kmq.compress(png, labels=tmp_path / "D.png", codebook=tmp_path / "D.bin", k=8)
    assert os.path.islink(tmp_path / "D.png")
    assert (real / "new.png").read_bytes() == (tmp_path / "cli.png").read_bytes()
    assert sorted(os.listdir(real)) == ["new.png", "t.c", "t.l"]  # no temporary files


def test_compress_pair_is_all_or_nothing_and_errors_name_the_output(tmp_path):
    png = save_png(tmp_path / "a.png", rgb_image(24, 32))
    (tmp_path / "a.labels.png").write_bytes(b"OLD")
    (tmp_path / "a.cb").mkdir()  # the codebook cannot be given its name
    with pytest.raises(IsADirectoryError) as e:
        kmq.compress(png, labels=tmp_path / "a.labels.png", codebook=tmp_path / "a.cb", k=8,
                     overwrite=True)
    assert e.value.filename == str(tmp_path / "a.cb")
    assert (tmp_path / "a.labels.png").read_bytes() == b"OLD"  # put back
    assert sorted(os.listdir(tmp_path)) == ["a.cb", "a.labels.png", "a.png"]
    with pytest.raises(FileNotFoundError) as e:
        kmq.compress(png, labels=tmp_path / "nodir" / "a.png", codebook=tmp_path / "a.bin")
    assert e.value.filename == str(tmp_path / "nodir" / "a.png")  # not a temporary name
    assert not (tmp_path / "a.bin").exists()


def test_compress_refusals(tmp_path):
    png = save_png(tmp_path / "a.png", rgb_image(16, 16))
    with pytest.raises(ValueError, match="both be written"):
        kmq.compress(png, labels=tmp_path / "x", codebook=tmp_path / "x")
    with pytest.raises(ValueError, match="is the input file"):
        kmq.compress(png, labels=png)
    with pytest.raises(FileNotFoundError):
        kmq.compress(tmp_path / "missing.png")
    (tmp_path / "not.png").write_bytes(b"hello, not an image at all")
    with pytest.raises(kmq.Error) as e:
        kmq.compress(tmp_path / "not.png")
    assert e.value.status == 6 and str(e.value).startswith(str(tmp_path / "not.png") + ": ")
    broken = bytearray((tmp_path / "a.png").read_bytes())
    broken[20] ^= 0xFF  # inside IHDR: its CRC no longer matches
    (tmp_path / "crc.png").write_bytes(bytes(broken))
    with pytest.raises(kmq.Error) as e:
        kmq.compress(tmp_path / "crc.png")
    assert e.value.status == 8
    assert not any(".kmq-" in n for n in os.listdir(tmp_path))


def test_decompress_grey_and_png8_and_read_codebook(tmp_path):
    grey = grey_image()
    png = save_png(tmp_path / "g.png", grey)
    kmq.compress(png, k=6, codebook=tmp_path / "g.npy")
    out = kmq.decompress(tmp_path / "g.labels.png", tmp_path / "g.npy")
    assert out.shape == grey.shape and out.dtype == np.uint8
    run_cli("decompress", tmp_path / "g.labels.png", tmp_path / "g.npy", "-o",
            tmp_path / "cli.png", "-q")
    assert np.array_equal(out, read_png(tmp_path / "cli.png"))
    assert np.array_equal(kmq.read_codebook(tmp_path / "g.npy"), np.load(tmp_path / "g.npy"))
    # the same codebook as .bin, and a .bin under a .npy name (content decides)
    rgb = rgb_image(24, 24)
    png = save_png(tmp_path / "c.png", rgb)
    kmq.compress(png, k=5)
    shutil.copy(tmp_path / "c.codebook.bin", tmp_path / "renamed.npy")
    assert np.array_equal(kmq.read_codebook(tmp_path / "renamed.npy"),
                          parse_bin((tmp_path / "c.codebook.bin").read_bytes()))
    # (png8 dithers by default; kmq.quantize is plain k-means: --nofs)
    run_cli("compress", png, "-k", 5, "--format", "png8", "--nofs", "-o", tmp_path / "c8.png", "-q")
    labels, codebook = kmq.quantize(rgb, k=5)
    assert np.array_equal(kmq.decompress(tmp_path / "c8.png"), codebook[labels])


def test_a_file_rewritten_while_read_is_refused(tmp_path, monkeypatch):
    # issue 23: as the CLI, a file whose size or time changed during the read
    a = save_png(tmp_path / "a.png", rgb_image(20, 20, 1))
    kmq.compress(a, k=4)
    real = os.fstat
    calls = []

    class Later:
        def __init__(self, st):
            self.st_mode, self.st_size = st.st_mode, st.st_size
            self.st_mtime_ns = st.st_mtime_ns + 1

    def fstat(fd):
        calls.append(fd)
        st = real(fd)
        return Later(st) if len(calls) % 2 == 0 else st

    monkeypatch.setattr(kmq._files.os, "fstat", fstat)
    with pytest.raises(kmq.Error, match=r"a\.labels\.png: changed while being read"):
        kmq.decompress(tmp_path / "a.labels.png", tmp_path / "a.codebook.bin")
    monkeypatch.setattr(kmq._files.os, "fstat", real)
    assert kmq.decompress(tmp_path / "a.labels.png", tmp_path / "a.codebook.bin").shape == (20, 20, 3)


def test_decompress_refuses_a_damaged_binding(tmp_path):
    # issue 23: a kmCb with a bad inner CRC (the kmCp's own CRC made right)
    # is refused, not read as "no binding"; ignore_binding=True decodes it
    import struct
    import zlib
    a = save_png(tmp_path / "a.png", rgb_image(20, 20, 1))
    b = save_png(tmp_path / "b.png", rgb_image(20, 20, 2))
    kmq.compress(a, k=4)
    kmq.compress(b, k=4)
    d = (tmp_path / "a.labels.png").read_bytes()
    n = struct.unpack(">I", d[33:37])[0]
    assert d[37:41] == b"kmCp"
    inner = bytearray(d[41:41 + n])
    inner[18] ^= 0x55  # the kmCb's CRC
    kmcp = b"kmCp" + bytes(inner)
    forged = (d[:33] + struct.pack(">I", n) + kmcp
              + struct.pack(">I", zlib.crc32(kmcp) & 0xFFFFFFFF) + d[33 + 12 + n:])
    (tmp_path / "f.labels.png").write_bytes(forged)
    with pytest.raises(kmq.Error, match=r"f\.labels\.png: damaged codebook binding"):
        kmq.decompress(tmp_path / "f.labels.png", tmp_path / "b.codebook.bin")
    want = kmq.decompress(tmp_path / "a.labels.png", tmp_path / "a.codebook.bin")
    got = kmq.decompress(tmp_path / "f.labels.png", tmp_path / "a.codebook.bin",
                         ignore_binding=True)
    assert (got == want).all()


def test_decompress_refusals(tmp_path):
    a = save_png(tmp_path / "a.png", rgb_image(20, 20, 1))
    b = save_png(tmp_path / "b.png", rgb_image(20, 20, 2))
    kmq.compress(a, k=4)
    kmq.compress(b, k=4)
    with pytest.raises(kmq.Error, match=r"a\.labels\.png: not a pair with .*b\.codebook\.bin: "
                                        r"the labels were written with another codebook"):
        kmq.decompress(tmp_path / "a.labels.png", tmp_path / "b.codebook.bin")
    with pytest.raises(FileNotFoundError):
        kmq.decompress(tmp_path / "a.labels.png", tmp_path / "nothing.bin")
    with pytest.raises(FileNotFoundError):
        kmq.read_codebook(tmp_path / "nothing.bin")
    data = bytearray((tmp_path / "a.codebook.bin").read_bytes())
    data[9] ^= 1
    (tmp_path / "bad.bin").write_bytes(bytes(data))
    with pytest.raises(kmq.Error) as e:
        kmq.read_codebook(tmp_path / "bad.bin")
    assert e.value.status == 25 and e.value.path == str(tmp_path / "bad.bin")
    assert str(e.value) == f"{tmp_path / 'bad.bin'}: {kmq._lib.strerror(25)}"
    again = pickle.loads(pickle.dumps(e.value))
    assert (type(again), again.status, str(again)) == (kmq.Error, 25, str(e.value))
    with pytest.raises(kmq.Error) as e:  # an RGB image is no label image
        kmq.decompress(a, tmp_path / "a.codebook.bin")
    assert e.value.status == 10
    # labels beyond k (a plain PIL label PNG, no binding): the pixel is named
    labels = np.zeros((3, 5), dtype=np.uint8)
    labels[2, 4] = 9
    save_png(tmp_path / "far.png", labels)
    with pytest.raises(kmq.Error, match=r"pixel \(4, 2\) has label 9, but the codebook .* has "
                                        r"only k = 4 entries \(0\.\.3\)") as e:
        kmq.decompress(tmp_path / "far.png", tmp_path / "a.codebook.bin")
    assert e.value.status == 11
    with pytest.raises(kmq.Error, match="not an indexed-colour"):
        kmq.decompress(tmp_path / "a.labels.png")


def test_the_write_ups_tiger_files():
    """The original write-up's outputs (a Python 2 .npy header, PIL labels)
    decode to its reconstructed image."""
    seed = os.path.join(SHARED, "seed")
    if not os.path.exists(os.path.join(seed, "compressed_tiger.png")):
        pytest.skip(f"shared data not found at {seed} (set KMQ_SHARED_DATA)")
    out = kmq.decompress(os.path.join(seed, "compressed_tiger.png"),
                         os.path.join(seed, "codebook_tiger.npy"))
    assert np.array_equal(out, read_png(os.path.join(seed, "reconstructed_tiger.png")))
    assert kmq.read_codebook(os.path.join(seed, "codebook_tiger.npy")).shape == (128, 3)


# ---- kmq.probe: headers only, held to files other programs wrote -----------

def _pil_channels(im):
    """The channels kmq decodes a PIL image's file to."""
    if im.mode == "P":
        return 4 if "transparency" in im.info else 3
    return {"1": 1, "L": 1, "LA": 2, "RGB": 3, "RGBA": 4, "CMYK": 3, "I;16": 1}[im.mode]


@pytest.mark.parametrize("fmt,ext,mode", [
    ("PNG", "png", "RGBA"), ("PNG", "png", "P"), ("PNG", "png", "L"), ("PNG", "png", "LA"),
    ("JPEG", "jpg", "RGB"), ("JPEG", "jpg", "L"), ("BMP", "bmp", "RGB"), ("TIFF", "tif", "RGB"),
    ("TIFF", "tif", "RGBA"), ("WEBP", "webp", "RGBA"), ("WEBP", "webp", "RGB"),
    ("GIF", "gif", "P"), ("PPM", "ppm", "RGB"), ("PPM", "pgm", "L"),
])
def test_probe_agrees_with_pil_and_with_the_decoder(tmp_path, fmt, ext, mode):
    rng = np.random.default_rng(7)
    im = Image.fromarray(rng.integers(0, 256, (23, 41, 4), dtype=np.uint8), "RGBA").convert(mode)
    kw = {"transparency": 5} if fmt == "GIF" else {}
    path = tmp_path / f"x.{ext}"
    im.save(path, fmt, **kw)
    back = Image.open(path)
    info = kmq.probe(path)
    assert info.format == {"WEBP": "WebP", "PPM": "PNM"}.get(fmt, fmt)
    assert (info.width, info.height) == back.size == (41, 23)
    assert info.channels == _pil_channels(back)
    pixels, meta, _ = kmq._files.decode_image_file(str(path), metadata=False)
    assert pixels.shape == (23, 41, info.channels)
    assert info.streamable == (fmt in ("PNG", "TIFF", "PPM"))


def test_probe_refuses_what_it_cannot_read_twice(tmp_path):
    r, w = os.pipe()
    try:
        with pytest.raises(OSError) as e:
            kmq.probe(f"/proc/self/fd/{r}")
        assert e.value.errno == 29  # ESPIPE
    finally:
        os.close(r), os.close(w)
    (tmp_path / "t.txt").write_bytes(b"hello")
    with pytest.raises(kmq.Error) as e:
        kmq.probe(tmp_path / "t.txt")
    assert "not a PNG, JPEG" in str(e.value)
    with pytest.raises(FileNotFoundError):
        kmq.probe(tmp_path / "missing.png")


def test_compress_writes_a_pair_or_nothing_through_the_library(tmp_path):
    """compress's files go through kmq_files_write: with overwrite, a pair
    whose second name cannot be written leaves the first file as it was."""
    src = tmp_path / "p.png"
    save_png(src, np.random.default_rng(3).integers(0, 256, (20, 30, 3), dtype=np.uint8))
    lp = tmp_path / "p.labels.png"
    kmq.compress(src, k=4)
    before = lp.read_bytes()
    with pytest.raises(FileNotFoundError):
        kmq.compress(src, labels=lp, codebook=tmp_path / "no" / "c.bin", k=8, overwrite=True)
    assert lp.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.codebook.bin", "p.labels.png",
                                                          "p.png"]
    with pytest.raises(FileExistsError):
        kmq.compress(src, k=8)
    assert kmq.compress(src, k=8, overwrite=True).k == 8 and lp.read_bytes() != before
