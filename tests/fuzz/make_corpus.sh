#!/bin/sh
# Regenerates the seed corpus in tests/fuzz/corpus from the project's own
# tools (build/genimg, build/kmq): small images of every kind kmq reads,
# codebooks, .npy variants and label + codebook pairs.  Run from the top
# folder after `make`; the files are small and committed.
set -eu
B=${1:-build}
C=tests/fuzz/corpus
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p $C/image $C/codebook $C/npy $C/decompress
for ch in 1 2 3 4; do
    "$B/genimg" $C/image/rgb$ch.png 16 12 $ch demo $ch
    "$B/kmq" compress -q -f -k 5 --labels $C/image/labels$ch.png --codebook $C/codebook/k5c$ch.bin $C/image/rgb$ch.png
    "$B/kmq" compress -q -f -k 5 --codebook $C/npy/k5c$ch.npy --labels "$T/l.png" $C/image/rgb$ch.png
    "$B/kmq" compress -q -f -k 20 --format png8 -o $C/image/png8c$ch.png $C/image/rgb$ch.png
done
"$B/genimg" $C/image/tiny.jpg 9 7 3 demo
"$B/genimg" $C/image/tiny.bmp 9 7 3 demo
"$B/genimg" "$T/big.png" 40 30 3 smooth
for k in 2 4 16 200; do
    "$B/kmq" compress -q -f -k $k --labels $C/image/labels_k$k.png --codebook "$T/k$k.bin" "$T/big.png"
    # decompress target: 2-byte little-endian length of the labels, labels, codebook
    n=$(stat -c %s $C/image/labels_k$k.png)
    { printf "\\$(printf %o $((n % 256)))\\$(printf %o $((n / 256)))"
      cat $C/image/labels_k$k.png "$T/k$k.bin"; } >$C/decompress/k$k.bin
done
cp "$T/k2.bin" $C/codebook/k2.bin
cp "$T/k200.bin" $C/codebook/k200.bin
/usr/bin/python3 - "$C/npy" <<'PY'
import sys, numpy as np
d = sys.argv[1]
np.save(f"{d}/grey1d.npy", np.arange(7, dtype=np.uint8))
np.save(f"{d}/fortran.npy", np.asfortranarray(np.arange(12, dtype=np.uint8).reshape(4, 3)))
with open(f"{d}/v2.npy", "wb") as f:
    np.lib.format.write_array(f, np.arange(8, dtype=np.uint8).reshape(4, 2), version=(2, 0))
PY
# Metadata: PNG chunks (iCCP, sRGB, gAMA, cHRM, pHYs, eXIf), JPEG APP0/1/2
# (JFIF density, EXIF orientation, an ICC profile split over two segments),
# and a label PNG whose kmCp chunk carries them.
/usr/bin/python3 - "$C/image" <<'PY'
import io, struct, sys
from PIL import Image, ImageCms, PngImagePlugin
d = sys.argv[1]
im = Image.new("RGB", (8, 6))
im.putdata([(x * 30, y * 40, 90) for y in range(6) for x in range(8)])
icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
ex = Image.Exif()
ex[0x0112] = 6
info = PngImagePlugin.PngInfo()
info.add(b"gAMA", struct.pack(">I", 45455))
info.add(b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000))
im.save(f"{d}/meta_iccp.png", icc_profile=icc, dpi=(300, 150), pnginfo=info, exif=ex.tobytes())
info = PngImagePlugin.PngInfo()
info.add(b"sRGB", b"\x00")
im.convert("LA").save(f"{d}/meta_srgb_la.png", pnginfo=info, exif=ex.tobytes())
im.save(f"{d}/meta_exif6.jpg", quality=80, exif=ex.tobytes(), icc_profile=icc, dpi=(72, 96))
# the profile in two APP2 segments, right after SOI
buf = io.BytesIO()
im.save(buf, "JPEG", quality=80)
j = buf.getvalue()
half = len(icc) // 2
segs = b""
for i, part in enumerate((icc[:half], icc[half:]), 1):
    body = b"ICC_PROFILE\0" + bytes([i, 2]) + part
    segs += b"\xff\xe2" + struct.pack(">H", len(body) + 2) + body
open(f"{d}/meta_icc_split.jpg", "wb").write(j[:2] + segs + j[2:])
PY
# TIFF (src/formats/tiff.c): strips and tiles, 8 and 16 bits, each photometric
# and codec kmq reads, orientation + ICC, two pages; each well under 4 KB.
/usr/bin/python3 - "$C/image" <<'PY'
import sys
import numpy as np
from PIL import Image, ImageCms
d = sys.argv[1]
y, x = np.mgrid[0:12, 0:16]
rgba = np.stack([x * 16, y * 20, (x * y) % 256, 255 - x * 8], -1).astype(np.uint8)
im = Image.fromarray(rgba, "RGBA")
im.convert("RGB").save(f"{d}/tiff_rgb_lzw.tif", compression="tiff_lzw", tiffinfo={278: 4})
im.save(f"{d}/tiff_rgba_deflate.tif", compression="tiff_adobe_deflate")
im.convert("LA").save(f"{d}/tiff_la_packbits.tif", compression="packbits")
im.convert("RGB").quantize(16).save(f"{d}/tiff_palette.tif")
im.convert("1").save(f"{d}/tiff_bilevel_g4.tif", compression="group4")
im.convert("RGB").save(f"{d}/tiff_jpeg.tif", compression="jpeg", quality=70)
icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
im.convert("RGB").save(f"{d}/tiff_orient6_icc.tif", tiffinfo={274: 6}, icc_profile=icc)
im.convert("L").save(f"{d}/tiff_two_pages.tif", save_all=True, append_images=[im.convert("L")])
Image.fromarray((y * 4000 + x * 7).astype(np.uint16), "I;16").save(f"{d}/tiff_grey16.tif")
PY
T2="$T/t.png"
/usr/bin/python3 -c "from PIL import Image; Image.open('$C/image/tiff_rgba_deflate.tif').save('$T2')"
/usr/bin/convert "$T2" -depth 16 -compress Zip -define tiff:tile-geometry=16x16 $C/image/tiff_tiled16.tif
/usr/bin/convert "$T2" -compress LZW -interlace plane -define tiff:alpha=associated $C/image/tiff_planar_assoc.tif
tiffcp -c jpeg:75 -t -w 16 -l 16 "$C/image/tiff_rgb_lzw.tif" "$C/image/tiff_ycbcr_tiled.tif"
"$B/kmq" compress -q -f -k 4 --labels $C/image/meta_labels_kmcp.png --codebook "$T/m.bin" $C/image/meta_iccp.png
# WebP (lossless, lossy, lossy with alpha), Netpbm (raw, 16-bit, plain,
# bitmap, PAM with alpha) and GIF (transparent + interlaced, animated).
/usr/bin/python3 - "$C/image" <<'PY'
import sys
import numpy as np
from PIL import Image
d = sys.argv[1]
y, x = np.mgrid[0:12, 0:16]
px = np.stack([x * 16, y * 20, (x + y) * 9, 255 - x * 8], axis=2).astype(np.uint8)
px[..., 3][(x + y) % 5 == 0] = 0
im = Image.fromarray(px)
im.save(f"{d}/webp_lossless_rgba.webp", lossless=True, exact=True)
im.convert("RGB").save(f"{d}/webp_lossy.webp", quality=50)
im.save(f"{d}/webp_lossy_alpha.webp", quality=50)
im.convert("RGB").save(f"{d}/pnm_p6.ppm")
open(f"{d}/pnm_p5_16.pgm", "wb").write(b"P5\n# 16-bit\n16 12\n65535\n" + (y * 4000 + x * 7).astype(">u2").tobytes())
rows = "\n".join(" ".join(str(v) for v in r) for r in (px[..., :3].reshape(12, -1) % 101))
open(f"{d}/pnm_p3_maxval100.ppm", "w").write(f"P3\n16 12 100\n{rows}\n")
open(f"{d}/pnm_p4.pbm", "wb").write(b"P4 16 12\n" + np.packbits((x + y) % 3 == 0, axis=1).tobytes())
open(f"{d}/pnm_comment_after_magic.ppm", "wb").write(b"P6#c\n2 1\n255\n" + bytes([10, 20, 30, 200, 100, 50]))
open(f"{d}/pnm_pam_rgba.pam", "wb").write(b"P7\nWIDTH 16\nHEIGHT 12\nDEPTH 4\nMAXVAL 255\n"
                                          b"TUPLTYPE RGB_ALPHA\nENDHDR\n" + px.tobytes())
q = im.convert("RGB").quantize(16)
q.save(f"{d}/gif_transparent_interlaced.gif", transparency=2, interlace=True)
q.save(f"{d}/gif_anim.gif", save_all=True, duration=50,
       append_images=[im.convert("RGB").rotate(90).quantize(16)])
PY
du -sh $C
