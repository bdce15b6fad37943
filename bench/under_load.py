#!/usr/bin/python3
"""kmq where people run it (issue 25): next to other work, and many at once.

usage: under_load.py KMQ OUTDIR IMAGE... [--k 16,64,256] [--rounds 3]

1. Loaded: two busy processes (one per core of this 2-core machine) run
   beside every command; kmq at its defaults (label PNG + codebook), kmq
   -t 1 and pngquant --nofs
   on each image and k, interleaved, median of the rounds.
2. A folder: the images and their mirror images (twice as many distinct
   files) at k = 64, PNG8 (kmq's default, dithered), through `parallel -j 2 kmq compress`,
   `parallel -j 2 pngquant --nofs` and `kmq compress -j 2`, quiet (the two
   jobs are the load), median of the rounds.
Ratios are measured in this one run: the machine is shared and noisy.
"""
import os
import shutil
import statistics
import subprocess
import sys
import time

from PIL import Image, ImageOps

import runs  # bench/runs.py: the arguments and timer the bench scripts share


def busy(n):
    return [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(n)]


def stop(procs):
    for p in procs:
        p.kill()
        p.wait()


def main():
    ap = runs.parser()
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    ks = [int(x) for x in a.k.split(",")]
    out = os.path.join(a.outdir, "o.png")
    outs = ["--labels", os.path.join(a.outdir, "o.labels.png"), "--codebook", os.path.join(a.outdir, "o.bin")]

    print("loaded: two busy processes beside each run; wall s, median of", a.rounds)
    # A second -t 1 run in every round measures the noise itself: two
    # identical runs beside busy processes differ by this much.
    print(f"{'image':10s} {'k':>4s} {'kmq':>7s} {'kmq -t 1':>9s} {'pngquant':>9s} {'kmq/pq':>7s} {'kmq/t1':>7s} {'t1/t1 again':>12s}")
    load = busy(2)
    worst_pq = worst_t1 = 0
    n_pq = n_t1 = n_noise = total = 0
    worst_noise = 0
    sums = {"kmq": 0.0, "t1": 0.0}
    try:
        time.sleep(0.5)
        for img in a.images:
            name = os.path.splitext(os.path.basename(img))[0]
            for k in ks:
                t = {"kmq": [], "t1": [], "pq": [], "t1b": []}
                for _ in range(a.rounds):
                    t["kmq"].append(runs.timed([a.kmq, "compress", "-q", "-f", "-k", str(k), img] + outs))
                    t["t1"].append(runs.timed([a.kmq, "compress", "-q", "-f", "-t", "1", "-k", str(k), img] + outs))
                    t["pq"].append(runs.timed(["pngquant", "--nofs", "-f", "-o", out, str(k), img]))
                    t["t1b"].append(runs.timed([a.kmq, "compress", "-q", "-f", "-t", "1", "-k", str(k), img] + outs))
                m = {x: statistics.median(v) for x, v in t.items()}
                rp, rt = m["kmq"] / m["pq"], m["kmq"] / m["t1"]
                worst_pq, worst_t1 = max(worst_pq, rp), max(worst_t1, rt)
                n_pq += rp <= 0.7
                n_t1 += rt <= 1.1
                rn = max(m["t1"], m["t1b"]) / min(m["t1"], m["t1b"])
                worst_noise = max(worst_noise, rn)
                n_noise += rn <= 1.1
                sums["kmq"] += m["kmq"]
                sums["t1"] += m["t1"]
                total += 1
                print(f"{name:10s} {k:4d} {m['kmq']:7.3f} {m['t1']:9.3f} {m['pq']:9.3f} {rp:7.2f} {rt:7.2f} {m['t1'] / m['t1b']:12.2f}", flush=True)
    finally:
        stop(load)
    print(f"loaded targets: kmq <= 0.7x pngquant --nofs in {n_pq} of {total} (worst {worst_pq:.2f}x); "
          f"kmq <= 1.1x kmq -t 1 in {n_t1} of {total} (worst {worst_t1:.2f}x); "
          f"all cases together kmq / kmq -t 1 = {sums['kmq'] / sums['t1']:.2f}x")
    print(f"  noise floor: two identical -t 1 runs within 1.1x of each other in {n_noise} of {total} "
          f"(worst {worst_noise:.2f}x)")

    if not shutil.which("parallel"):
        print("folder: skipped (needs GNU parallel: make bench-deps)")
        return
    folder = os.path.join(a.outdir, "folder")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    files = []
    for img in a.images:
        name = os.path.splitext(os.path.basename(img))[0]
        for suffix, im in (("", Image.open(img)), ("-mirror", ImageOps.mirror(Image.open(img)))):
            p = os.path.join(folder, name + suffix + ".png")
            im.save(p)
            files.append(p)
    res = os.path.join(a.outdir, "res")
    os.makedirs(res, exist_ok=True)
    cmds = {
        "parallel -j 2 kmq": ["parallel", "-j", "2", a.kmq, "compress", "-q", "-f", "-k", "64", "--format", "png8",
                              "{}", "-o", res + "/{/.}.kmq.png", ":::"] + files,
        "kmq -j 2": [a.kmq, "compress", "-q", "-f", "-j", "2", "-k", "64", "--format", "png8", "--out-dir", res] + files,
        "parallel -j 2 pngquant": ["parallel", "-j", "2", "pngquant", "--nofs", "-f", "-o", res + "/{/.}.pq.png",
                                   "64", "{}", ":::"] + files,
    }
    t = {x: [] for x in cmds}
    for _ in range(a.rounds):
        for x, c in cmds.items():
            t[x].append(runs.timed(c))
    m = {x: statistics.median(v) for x, v in t.items()}
    pq = m["parallel -j 2 pngquant"]
    print(f"\nfolder: {len(files)} photos, k = 64, PNG8 (kmq at its default, dithered), wall s, median of {a.rounds}")
    for x in cmds:
        print(f"  {x:24s} {m[x]:7.3f} s  {m[x] / pq:5.2f}x parallel pngquant")


if __name__ == "__main__":
    sys.exit(main())
