#!/usr/bin/env bats
# Label PNGs read as labels by every common reader: PIL, OpenCV, ImageMagick,
# stb_image and kmq.  The NumPy workflow codebook[labels] must give exactly
# the image kmq decompress writes.
load helpers

PY=/usr/bin/python3

@test "codebook[labels] with PIL and with OpenCV is kmq's decompressed image, k = 2 .. 256" {
    "$PY" -c 'import PIL, numpy, cv2' 2>/dev/null || skip "Debian's python3-pil / python3-numpy / python3-opencv not installed"
    "$GENIMG" in.png 83 57 3 smooth 4
    for k in 2 3 4 5 8 16 17 64 256; do
        "$KMQ" compress -q -f -k $k --labels l$k.png --codebook c$k.npy in.png
        "$KMQ" decompress -q -f -o d$k.png l$k.png c$k.npy
        run -0 "$PY" - l$k.png c$k.npy d$k.png <<'PY'
import sys
import cv2
import numpy as np
from PIL import Image
labels_png, codebook, decoded = sys.argv[1:]
cb = np.load(codebook)
want = np.asarray(Image.open(decoded).convert("RGB"))
pil = np.asarray(Image.open(labels_png))
assert pil.dtype == np.uint8 and pil.ndim == 2, (pil.dtype, pil.shape)
assert (cb[pil] == want).all(), "PIL"
cv = cv2.imread(labels_png, cv2.IMREAD_UNCHANGED)
assert cv.dtype == np.uint8 and cv.ndim == 2, (cv.dtype, cv.shape)
assert (cb[cv] == want).all(), "OpenCV"
assert pil.max() < len(cb)
print("ok")
PY
        [ "$output" = ok ] || { echo "k=$k: $output"; false; }
    done
}

@test "ImageMagick and stb_image read the same label values as PIL, k = 2 .. 256" {
    "$PY" -c 'import PIL, numpy' 2>/dev/null || skip "Debian's python3-pil / python3-numpy not installed"
    [ -x /usr/bin/convert ] || skip "ImageMagick (Debian's imagemagick) not installed"
    "$GENIMG" in.png 61 40 3 demo 2
    for k in 2 3 4 5 8 16 17 64 256; do
        "$KMQ" compress -q -f -k $k --labels l$k.png --codebook c$k.bin in.png
        /usr/bin/convert l$k.png -depth 8 gray:im$k.raw
        "$IMGCMP" raw l$k.png >stb$k.raw
        "$PY" -c "
import numpy as np, sys
from PIL import Image
open('pil$k.raw', 'wb').write(np.asarray(Image.open('l$k.png')).tobytes())"
        cmp pil$k.raw im$k.raw || { echo "k=$k: ImageMagick differs"; false; }
        cmp pil$k.raw stb$k.raw || { echo "k=$k: stb differs"; false; }
        # and the values are labels: every one below k
        max=$(od -An -v -tu1 -w1 pil$k.raw | sort -n | tail -1)
        [ "$max" -lt "$k" ] || { echo "k=$k: label $max"; false; }
    done
}

@test "--packed-labels writes 1/2/4-bit labels that kmq still decodes; other readers scale them" {
    "$GENIMG" in.png 40 30 3 demo
    "$KMQ" compress -q -k 8 --packed-labels --labels p.png --codebook c.bin in.png
    "$KMQ" compress -q -k 8 --labels e.png --codebook c8.bin in.png
    cmp c.bin c8.bin
    [ "$(od -An -j24 -N1 -tu1 p.png | tr -d ' ')" = 4 ]
    [ "$(od -An -j24 -N1 -tu1 e.png | tr -d ' ')" = 8 ]
    "$KMQ" decompress -q -o p.out.png p.png c.bin
    "$KMQ" decompress -q -o e.out.png e.png c.bin
    cmp p.out.png e.out.png
    # stb scales the 4-bit samples (label 1 reads as 17): why packing is opt-in
    "$IMGCMP" raw p.png | od -An -v -tu1 -w1 | sort -nu | awk '$1 % 17 { bad = 1 } END { exit bad }'
    run -0 --separate-stderr "$KMQ" compress --help
    [[ "$output" == *"--packed-labels"*"scale"* ]]
    run -2 "$KMQ" compress -q -k 8 --packed-labels --format png8 in.png
}
