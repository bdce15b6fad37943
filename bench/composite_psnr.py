#!/usr/bin/python3
"""PSNR of an image against a reference as a viewer sees them: both composited
over black and over white (straight alpha, float), RGB channels.

    composite_psnr.py REFERENCE IMAGE  ->  "black_dB white_dB"

Images without alpha count as opaque; grey is compared as grey in RGB.
Identical composites print inf.  Needs Debian's python3-pil and python3-numpy."""
import math
import sys

import numpy as np
from PIL import Image


def png_depth(path):
    """Bit depth and colour type from a PNG's IHDR (None for other files)."""
    with open(path, "rb") as f:
        head = f.read(26)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None, None
    return head[24], head[25]


def rgba(path):
    im = Image.open(path)
    im.load()
    depth, ctype = png_depth(path)
    key = im.info.get("transparency") if ctype == 0 else None
    if im.mode in ("I;16", "I;16B", "I"):  # 16-bit grey: PIL keeps the 16-bit values
        raw = np.asarray(im).astype(np.int64)
        a = np.where(raw == key, 0, 255) if isinstance(key, int) else np.full(raw.shape, 255)
        g = np.clip(np.round(raw / 257.0), 0, 255)
        return np.stack([g, g, g, a], -1).astype(np.float64)
    if im.mode == "L" and isinstance(key, int) and depth and depth < 8:
        # PIL scales 1/2/4-bit grey to 8 bits but not the tRNS key
        g = np.asarray(im).astype(np.float64)
        a = np.where(g == key * (255 // ((1 << depth) - 1)), 0, 255)
        return np.stack([g, g, g, a], -1).astype(np.float64)
    return np.asarray(im.convert("RGBA")).astype(np.float64)


def psnr(a, b):
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    ref, img = rgba(sys.argv[1]), rgba(sys.argv[2])
    if ref.shape != img.shape:
        sys.exit(f"composite_psnr: sizes differ: {ref.shape} vs {img.shape}")
    out = []
    for bg in (0.0, 255.0):
        comp = [x[..., :3] * x[..., 3:] / 255 + bg * (1 - x[..., 3:] / 255) for x in (ref, img)]
        out.append(psnr(*comp))
    print(" ".join(f"{v:.3f}" for v in out))


if __name__ == "__main__":
    main()
