#!/usr/bin/python3
"""What people see: kmq's PNG8 against pngquant's, by butteraugli (Debian's
butteraugli; lower is better), SSIM (scikit-image), PSNR, bytes and time.

usage: what_people_see.py KMQ OUTDIR IMAGE... [--k 16,64,256] [--kmq-opts "..."]
       what_people_see.py KMQ OUTDIR IMAGE... --quality 65-80
Prints one row per image x k and the means per k; each figure of a run is
measured in this one run, side by side (the machine is shared and noisy).
Images with alpha are judged as viewers show them, over mid grey (PSNR,
SSIM and butteraugli alike).  --quality runs pngquant at its 0-100 range
and kmq at the dB range kmq's hint gives for it (kmq compress says it when
pngquant's numbers are typed), and compares what each chose.
"""
import os
import subprocess
import sys

import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity

import runs  # bench/runs.py: the arguments and timer the bench scripts share


def load_rgb(path):
    im = Image.open(path)
    return np.asarray(im.convert("RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB"))


def over_grey(path, tmp):
    """path itself when opaque, else its composite over mid grey in tmp."""
    x = load_rgb(path).astype(np.float64)
    if x.shape[2] == 3:
        return path
    al = x[:, :, 3:4] / 255
    Image.fromarray(np.round(x[:, :, :3] * al + 128 * (1 - al)).astype(np.uint8)).save(tmp)
    return tmp


def butteraugli(ref, out):
    ref = over_grey(ref, out + ".ref-grey.png")
    out = over_grey(out, out + ".grey.png")
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


def main():
    ap = runs.parser()
    ap.add_argument("--kmq-opts", default="")
    ap.add_argument("--tools", default="kmq,pngquant")
    ap.add_argument("--quality", help="pngquant's MIN-MAX (0-100): compare the k each chooses")
    ap.add_argument("--summary", action="store_true",
                    help="also count, per k, the images where kmq (its png8 default) is at least as good "
                         "as pngquant's default on each figure")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    if a.quality:
        return quality(a)
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
                    cmd = [a.kmq, "compress", "-q", "-f", "--format", "png8", "--nofs", "-k", str(k), img, "-o", out]
                elif tool == "pngquant":
                    cmd = ["pngquant", "-f", "-o", out, str(k), img]
                elif tool == "pngquant-nofs":
                    cmd = ["pngquant", "--nofs", "-f", "-o", out, str(k), img]
                else:
                    sys.exit(f"unknown tool {tool}")
                t = runs.timed(cmd)
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
        print("\nkmq's default against pngquant's, image by image (n of N where kmq is at least as good):")
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


def quality(a):
    lo, hi = (float(x) for x in a.quality.split("-"))
    # pngquant's 0-100 in dB, as kmq's hint says (src/cli/compress_file.c)
    table = [(30, 31.7), (50, 33.7), (65, 35.5), (70, 36.2), (80, 37.9), (90, 39.3)]

    def db(q):
        if q <= table[0][0]:
            return table[0][1]
        for (q0, d0), (q1, d1) in zip(table, table[1:]):
            if q <= q1:
                return d0 + (q - q0) / (q1 - q0) * (d1 - d0)
        return table[-1][1]
    dlo, dhi = db(lo), db(hi)
    print(f"pngquant --quality {a.quality} against kmq --quality {dlo:.1f}-{dhi:.1f} (dB)")
    worse = 0
    for img in a.images:
        name = os.path.splitext(os.path.basename(img))[0]
        pq = os.path.join(a.outdir, f"{name}.q.pngquant.png")
        km = os.path.join(a.outdir, f"{name}.q.kmq.png")
        rp = subprocess.run(["pngquant", "-f", "--quality", a.quality, "-o", pq, img])
        rk = subprocess.run([a.kmq, "compress", "-q", "-f", "--format", "png8", "--quality",
                             f"{dlo:.1f}-{dhi:.1f}", "-o", km, img] + a.kmq_opts.split(),
                            capture_output=True, text=True)
        cells = []
        bs = {}
        for tool, path, rc in (("pngquant", pq, rp.returncode), ("kmq", km, rk.returncode)):
            if rc != 0 or not os.path.exists(path):
                cells.append(f"{tool} exit {rc}")
                continue
            colours = len(Image.open(path).getpalette() or []) // 3
            p, _ = metrics(img, path)
            bs[tool] = butteraugli(img, path)
            cells.append(f"{tool} {colours:3d} colours PSNR {p:6.2f} butteraugli {bs[tool]:6.2f} "
                         f"{os.path.getsize(path):7d} B")
        if len(bs) == 2 and bs["kmq"] > bs["pngquant"]:
            worse += 1
        print(f"{name:12s} " + " | ".join(cells), flush=True)
    print(f"kmq's butteraugli worse than pngquant's on {worse} of {len(a.images)}")


if __name__ == "__main__":
    main()
