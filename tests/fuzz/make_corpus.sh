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
du -sh $C
