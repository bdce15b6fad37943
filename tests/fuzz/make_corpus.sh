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
"$B/kmq" compress -q -f -k 4 --labels $C/image/meta_labels_kmcp.png --codebook "$T/m.bin" $C/image/meta_iccp.png
du -sh $C
