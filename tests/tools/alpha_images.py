#!/usr/bin/python3
"""Generated images with transparency, the kind palette PNGs are made for:
antialiased shapes, text and soft shadows on transparent backgrounds whose
hidden RGB is noise or a stale picture, and half-transparent overlays.

    alpha_images.py OUTDIR [NAME...]

writes OUTDIR/NAME.png for each NAME (default: all), deterministically.
Needs Debian's python3-pil and python3-numpy."""
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

W, H = 256, 256
SS = 4  # supersampling factor for antialiased edges


def rng(seed):
    return np.random.RandomState(seed)


def noise_rgb(seed, w=W, h=H):
    return rng(seed).randint(0, 256, (h, w, 3), dtype=np.uint8)


def stale_rgb(w=W, h=H):
    """What an editor leaves under erased pixels: an earlier picture."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 120 * np.sin(x / 17.0) * np.cos(y / 23.0)
    g = 255 * x / w
    b = 128 + 100 * np.sin((x + y) / 31.0)
    return np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)


def with_hidden(rgba, hidden):
    """Fully transparent pixels get the given hidden RGB."""
    a = rgba[..., 3]
    out = rgba.copy()
    out[a == 0, :3] = hidden[a == 0]
    return out


def draw_aa(size, paint):
    """Draws at SS times the size with paint(draw, scale) on an RGBA layer and
    scales down: antialiased coverage in alpha, colours premultiplied right."""
    w, h = size
    big = Image.new("RGBA", (w * SS, h * SS), (0, 0, 0, 0))
    paint(ImageDraw.Draw(big), SS)
    return downsample(np.asarray(big))


def downsample(big):
    """Box filter over SSxSS blocks, averaging premultiplied colour."""
    h, w = big.shape[0] // SS, big.shape[1] // SS
    f = big.astype(np.float64).reshape(h, SS, w, SS, 4)
    a = f[..., 3].mean(axis=(1, 3))
    pre = (f[..., :3] * f[..., 3:4]).mean(axis=(1, 3))
    rgb = np.where(a[..., None] > 0, pre / np.maximum(a[..., None], 1e-9), 0)
    out = np.concatenate([rgb, a[..., None]], -1)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def over(top, bottom):
    """Porter-Duff 'over' of two straight RGBA uint8 arrays."""
    t = top.astype(np.float64) / 255
    b = bottom.astype(np.float64) / 255
    ta, ba = t[..., 3:4], b[..., 3:4]
    a = ta + ba * (1 - ta)
    rgb = np.where(a > 0, (t[..., :3] * ta + b[..., :3] * ba * (1 - ta)) / np.maximum(a, 1e-9), 0)
    return np.clip(np.round(np.concatenate([rgb, a], -1) * 255), 0, 255).astype(np.uint8)


def shadow(layer, radius, offset, opacity):
    """A soft black shadow of layer's alpha, blurred and shifted."""
    a = Image.fromarray(layer[..., 3]).filter(ImageFilter.GaussianBlur(radius))
    a = np.roll(np.asarray(a).astype(np.float64) * opacity, offset, axis=(0, 1))
    out = np.zeros_like(layer)
    out[..., 3] = np.clip(np.round(a), 0, 255).astype(np.uint8)
    return out


def gradient_disc():
    """The issue's case: a gradient disc on a background of invisible noise."""
    y, x = np.mgrid[0:H * SS, 0:W * SS].astype(np.float64) / SS
    d = np.hypot(x - W / 2, y - H / 2)
    big = np.zeros((H * SS, W * SS, 4))
    big[..., 0] = 255 * x / W
    big[..., 1] = 255 * y / H
    big[..., 2] = 255 - 200 * x / W
    big[..., 3] = np.where(d < W * 0.4, 255, 0)
    return with_hidden(downsample(big.astype(np.uint8)), noise_rgb(1))


def shapes():
    """Flat antialiased shapes (an icon set) over a stale picture."""
    def paint(d, s):
        d.ellipse([20 * s, 20 * s, 120 * s, 120 * s], fill=(220, 40, 50, 255))
        d.rounded_rectangle([136 * s, 24 * s, 236 * s, 116 * s], 18 * s, fill=(30, 120, 220, 255))
        d.polygon([(30 * s, 236 * s), (80 * s, 140 * s), (130 * s, 236 * s)], fill=(40, 170, 70, 255))
        d.ellipse([150 * s, 150 * s, 230 * s, 230 * s], outline=(250, 190, 20, 255), width=9 * s)
        d.line([(140 * s, 140 * s), (240 * s, 240 * s)], fill=(120, 40, 160, 255), width=5 * s)
    return with_hidden(draw_aa((W, H), paint), stale_rgb())


def text_shadow():
    """Antialiased text with a soft drop shadow, hidden noise.  PIL's built-in
    bitmap font is drawn small, scaled up smoothly, cut at half coverage and
    then antialiased by the supersampling: no font files needed."""
    words = [("kmq", (240, 240, 250)), ("Palette", (255, 200, 40)),
             ("alpha 0", (90, 200, 255)), ("SHADOW", (255, 90, 120))]
    big = np.zeros((H * SS, W * SS, 4), np.uint8)
    for i, (word, col) in enumerate(words):
        mask = Image.new("L", (W // 5, 14), 0)
        ImageDraw.Draw(mask).text((1, 1), word, fill=255)
        mask = mask.resize((W * SS, 14 * 5 * SS), Image.BICUBIC)
        m = np.asarray(mask) >= 100
        y0 = (12 + 58 * i) * SS
        rows = big[y0:y0 + m.shape[0]]
        rows[m[:rows.shape[0]]] = col + (255,)
    txt = downsample(big)
    img = over(txt, shadow(txt, 3, (4, 4), 0.7))
    return with_hidden(img, noise_rgb(2))


def glow_icon():
    """A gradient logo with an outer glow: long runs of low alpha."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    d = np.hypot(x - W / 2, y - H / 2)
    logo = np.zeros((H, W, 4))
    inside = np.clip(W * 0.3 - d + 0.5, 0, 1)
    logo[..., 0] = 60 + 150 * y / H
    logo[..., 1] = 30 + 60 * x / W
    logo[..., 2] = 200
    logo[..., 3] = 255 * inside
    logo = np.clip(np.round(logo), 0, 255).astype(np.uint8)
    glow = np.zeros_like(logo)
    ga = Image.fromarray(logo[..., 3]).filter(ImageFilter.GaussianBlur(14))
    glow[..., :3] = (255, 160, 40)
    glow[..., 3] = np.clip(np.asarray(ga).astype(np.float64) * 1.6, 0, 255).astype(np.uint8)
    return with_hidden(over(logo, glow), stale_rgb())


def overlay():
    """A half-transparent overlay: a picture at alpha ~50 % with a vignette."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    pic = stale_rgb().astype(np.float64)
    pic += rng(3).normal(0, 6, pic.shape)
    d = np.hypot(x - W / 2, y - H / 2) / (W / 2)
    a = np.clip(150 - 90 * d, 20, 255)
    out = np.concatenate([pic, a[..., None]], -1)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def sprites():
    """Pixel-art sprites with hard edges and a few translucent pixels."""
    r = rng(4)
    img = np.zeros((H, W, 4), np.uint8)
    pal = r.randint(0, 256, (12, 3))
    for sy in range(0, H, 32):
        for sx in range(0, W, 32):
            m = r.rand(8, 8) < 0.55
            m = m | m[:, ::-1]  # symmetric, as sprites are
            cols = pal[r.randint(0, 12, (8, 8))]
            for yy in range(8):
                for xx in range(8):
                    if m[yy, xx]:
                        img[sy + 4 + 3 * yy:sy + 7 + 3 * yy, sx + 4 + 3 * xx:sx + 7 + 3 * xx] = \
                            tuple(cols[yy, xx]) + (255 if r.rand() > 0.1 else 128,)
    return with_hidden(img, noise_rgb(5))


def grey_text():
    """Grey+alpha: the text image as LA."""
    rgba = text_shadow()
    g = np.round(0.299 * rgba[..., 0] + 0.587 * rgba[..., 1] + 0.114 * rgba[..., 2])
    return np.stack([g.astype(np.uint8), rgba[..., 3]], -1)


IMAGES = {
    "disc": gradient_disc,
    "shapes": shapes,
    "text": text_shadow,
    "glow": glow_icon,
    "overlay": overlay,
    "sprites": sprites,
    "greytext": grey_text,
}


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    for name in sys.argv[2:] or IMAGES:
        arr = IMAGES[name]()
        Image.fromarray(arr, "LA" if arr.shape[-1] == 2 else "RGBA").save(f"{out}/{name}.png")


if __name__ == "__main__":
    main()
