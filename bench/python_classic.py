#!/usr/bin/python3
"""The classic scikit-learn colour-quantization script, run twice: with
scikit-learn's KMeans and with kmq's, the code the same but for the import.

usage: bench/python_classic.py [IMAGE] [--k K] [--n-init N] [--max-iter N]
                               [--kmq-runs R] [--no-sklearn]

IMAGE defaults to ../shared/data/seed/tiger.png.  Each run is timed whole
(read the image, fit, cast, save the label PNG and the .npy codebook,
rebuild), after np.random.seed(0) (the script passes no random_state).
Inertia is the plain sum of squared RGB distances of the pixels to their
centres: to the float cluster_centers_ and to the uint8-cast ones the script
saves.  kmq's time is the median of --kmq-runs runs (default 3).  One line
per run, then the summary:
  classic script, tiger.png k=128: sklearn 171 s inertia ... | kmq 0.6 s ... | 285x faster
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))


def classic(KMeans, path, out_dir, n_clusters, n_init, max_iter):
    """The script, with the KMeans class passed in."""
    image = np.array(Image.open(path))
    w, h, d = image.shape
    image_array = image.reshape(-1, 3)
    kmeans = KMeans(n_clusters=n_clusters, n_init=n_init, max_iter=max_iter).fit(image_array)
    centers = np.uint8(kmeans.cluster_centers_)
    labels = np.uint8(kmeans.labels_).reshape(w, h)
    Image.fromarray(labels).save(os.path.join(out_dir, "compressed.png"))
    np.save(os.path.join(out_dir, "codebook.npy"), centers)
    reconstructed = centers[labels]
    return kmeans, reconstructed


def run(KMeans, args, out_dir):
    np.random.seed(0)
    t0 = time.perf_counter()
    km, rebuilt = classic(KMeans, args.image, out_dir, args.k, args.n_init, args.max_iter)
    seconds = time.perf_counter() - t0
    pixels = np.array(Image.open(args.image)).reshape(-1, 3).astype(np.float64)
    inertia_float = float(((pixels - km.cluster_centers_[km.labels_]) ** 2).sum())
    inertia_uint8 = float(((pixels - rebuilt.reshape(-1, 3)) ** 2).sum())
    return seconds, inertia_float, inertia_uint8


def describe(name, seconds, inertia_float, inertia_uint8):
    return (f"{name} {seconds:.3g} s inertia {inertia_float:.0f} float centres / "
            f"{inertia_uint8:.0f} uint8 centres")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("image", nargs="?",
                    default=os.path.join(ROOT, "..", "shared", "data", "seed", "tiger.png"))
    ap.add_argument("--k", type=int, default=128)
    ap.add_argument("--n-init", type=int, default=10)
    ap.add_argument("--max-iter", type=int, default=200)
    ap.add_argument("--kmq-runs", type=int, default=3)
    ap.add_argument("--no-sklearn", action="store_true", help="time kmq alone")
    args = ap.parse_args()
    if not os.path.exists(args.image):
        sys.exit(f"python_classic.py: {args.image}: no such image (the shared data is "
                 f"expected at ../shared/data)")
    import kmq
    name = os.path.basename(args.image)
    with tempfile.TemporaryDirectory() as out_dir:
        runs = [run(kmq.KMeans, args, out_dir) for _ in range(max(1, args.kmq_runs))]
        ours = (statistics.median(r[0] for r in runs),) + runs[0][1:]
        print(describe(f"kmq {kmq.__version__} ({len(runs)} runs, median):", *ours), flush=True)
        if args.no_sklearn:
            return
        try:
            from sklearn import __version__ as skversion
            from sklearn.cluster import KMeans as SKMeans
        except ImportError:
            sys.exit("python_classic.py: scikit-learn is not installed (Debian: "
                     "python3-sklearn); --no-sklearn times kmq alone")
        theirs = run(SKMeans, args, out_dir)
        print(describe(f"sklearn {skversion}:", *theirs), flush=True)
    print(f"classic script, {name} k={args.k}: sklearn {theirs[0]:.3g} s inertia "
          f"{theirs[1]:.4g} (uint8 {theirs[2]:.4g}) | kmq {ours[0]:.3g} s inertia {ours[1]:.4g} "
          f"(uint8 {ours[2]:.4g}) | {theirs[0] / ours[0]:.0f}x faster")


if __name__ == "__main__":
    main()
