#!/usr/bin/python3
"""Reference runs with scikit-learn (Debian's python3-sklearn) for bench/.

usage: sklearn_kmeans.py IMAGE K N_INIT MAX_ITER [SEED]
Prints one line: "psnr_float P psnr_uint8 Q seconds S inertia I" where
psnr_float uses sklearn's float centres and psnr_uint8 the centres rounded to
uint8 (what a codebook file can hold), keeping sklearn's labels.  Runs the same pipeline as the original
write-up: every pixel, k-means++ init, Lloyd, tol 1e-4.
"""
import os
import sys
import time

import numpy as np
from PIL import Image
from sklearn.cluster import KMeans

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from composite_psnr import psnr  # noqa: E402  (one PSNR formula for bench/)


def main():
    path, k, n_init, max_iter = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    t0 = time.perf_counter()
    img = np.asarray(Image.open(path).convert("RGB"))
    X = img.reshape(-1, 3).astype(np.float64)
    km = KMeans(n_clusters=k, n_init=n_init, max_iter=max_iter, init="k-means++",
                random_state=seed).fit(X)
    labels = km.labels_
    centres = km.cluster_centers_
    rec_f = centres[labels]
    q = np.clip(np.rint(centres), 0, 255).astype(np.uint8)
    rec_q = q[labels]
    secs = time.perf_counter() - t0
    print("psnr_float %.4f psnr_uint8 %.4f seconds %.2f inertia %.0f"
          % (psnr(X, rec_f), psnr(X, rec_q), secs, km.inertia_))


if __name__ == "__main__":
    main()
