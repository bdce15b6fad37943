#!/usr/bin/python3
"""What people see: kmq's PNG8 against pngquant's, by butteraugli (Debian's
butteraugli; lower is better), SSIM (scikit-image), PSNR, bytes and time.

usage: what_people_see.py KMQ OUTDIR IMAGE... [--k 16,64,256] [--kmq-opts "..."]
Prints one row per image x k and the means per k; each figure of a run is
measured in this one run, side by side (the machine is shared and noisy).
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity


def load_rgb(path):
    im = Image.open(path)
    return np.asarray(im.convert("RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB"))


def butteraugli(ref, out):
    r = subprocess.run(["butteraugli", ref, out], capture_output=True, text=True, check=True)
    return float(r.stdout.split()[0])


def metrics(ref_path, out_path):
    a, b = load_rgb(ref_path).astype(np.float64), load_rgb(out_path).astype(np.float64)
    if a.shape[2] == 4 or b.shape[2] == 4:  # as viewers show it: over mid grey
        def over(x):
            if x.shape[2] == 3:
                return x
            al = x[:, :, 3:4] / 255
            return x[:, :, :3] * al + 128 * (1 - al)
        a, b = over(a), over(b)
    mse = np.mean((a - b) ** 2)
    psnr = 99.0 if mse == 0 else 10 * np.log10(255 ** 2 / mse)
    ssim = structural_similarity(a, b, channel_axis=2, data_range=255)
    return psnr, ssim


def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kmq")
    ap.add_argument("outdir")
    ap.add_argument("images", nargs="+")
    ap.add_argument("--k", default="16,64,256")
    ap.add_argument("--kmq-opts", default="")
    ap.add_argument("--tools", default="kmq,pngquant")
    ap.add_argument("--summary", action="store_true",
                    help="also count, per k, the images where kmq (--dither) is at least as good "
                         "as pngquant's default on each figure")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    ks = [int(x) for x in a.k.split(",")]
    tools = a.tools.split(",")
    rows = {}
    for k in ks:
        for img in a.images:
            name = os.path.splitext(os.path.basename(img))[0]
            for tool in tools:
                out = os.path.join(a.outdir, f"{name}.k{k}.{tool}.png")
                if tool == "kmq":
                    cmd = [a.kmq, "compress", "-q", "-f", "--format", "png8", "-k", str(k), img, "-o", out] + a.kmq_opts.split()
                elif tool == "kmq-plain":
                    cmd = [a.kmq, "compress", "-q", "-f", "--format", "png8", "-k", str(k), img, "-o", out]
                elif tool == "pngquant":
                    cmd = ["pngquant", "-f", "-o", out, str(k), img]
                elif tool == "pngquant-nofs":
                    cmd = ["pngquant", "--nofs", "-f", "-o", out, str(k), img]
                else:
                    sys.exit(f"unknown tool {tool}")
                t = timed(cmd)
                p, s = metrics(img, out)
                b = butteraugli(img, out)
                rows.setdefault((k, tool), []).append((p, s, b, os.path.getsize(out), t, name))
                print(f"{name:10s} k={k:3d} {tool:14s} PSNR {p:6.2f}  SSIM {s:.4f}  butteraugli {b:6.2f}  "
                      f"{os.path.getsize(out):8d} B  {t:6.3f} s", flush=True)
    print("\nmeans")
    for k in ks:
        for tool in tools:
            v = np.array([r[:5] for r in rows[(k, tool)]])
            m = v.mean(axis=0)
            print(f"k={k:3d} {tool:14s} PSNR {m[0]:6.2f}  SSIM {m[1]:.4f}  butteraugli {m[2]:6.2f}  "
                  f"{m[3] / 1024:7.1f} KB  {m[4]:6.3f} s")

    if a.summary and all((k, t) in rows for k in ks for t in ("kmq", "pngquant")):
        print("\nkmq --dither against pngquant's default, image by image (n of N where kmq is at least as good):")
        for k in ks:
            km, pq = rows[(k, "kmq")], rows[(k, "pngquant")]
            n = len(km)
            psnr = sum(x[0] >= y[0] for x, y in zip(km, pq))
            butt = sum(x[2] <= y[2] for x, y in zip(km, pq))
            size = sum(x[3] <= y[3] for x, y in zip(km, pq))
            tr = sum(x[4] for x in km) / sum(y[4] for y in pq)
            worse = [x[5] for x, y in zip(km, pq) if x[2] > y[2]]
            print(f"k={k:3d}: PSNR {psnr}/{n}, butteraugli {butt}/{n}, bytes {size}/{n}, "
                  f"time {tr:.2f}x pngquant's" + (f"; butteraugli worse on {', '.join(worse)}" if worse else ""))


if __name__ == "__main__":
    main()
