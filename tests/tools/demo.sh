#!/bin/sh
# The demo: generate an image with thousands of colours, compress it to 64
# colours, decompress it, and print sizes, ratio and PSNR.
set -eu
BUILD=${1:-build}
DIR=$BUILD/demo
mkdir -p "$DIR"
"$BUILD/genimg" "$DIR/demo.png" 640 480 3 demo 1
echo "demo image: $DIR/demo.png, $("$BUILD/imgcmp" info "$DIR/demo.png" |
    awk '{printf "%sx%s, %d channels, %d distinct colours", $1, $2, $3, $4}')"
echo "\$ kmq compress -f -v -k 64 $DIR/demo.png"
"$BUILD/kmq" compress -f -v -k 64 "$DIR/demo.png"
echo "\$ kmq decompress -f $DIR/demo.labels.png $DIR/demo.codebook.bin"
"$BUILD/kmq" decompress -f "$DIR/demo.labels.png" "$DIR/demo.codebook.bin"
in=$(wc -c <"$DIR/demo.png")
lab=$(wc -c <"$DIR/demo.labels.png")
cb=$(wc -c <"$DIR/demo.codebook.bin")
psnr=$("$BUILD/imgcmp" "$DIR/demo.png" "$DIR/demo.decompressed.png" | awk '{print $4}')
echo
echo "input PNG        $in bytes"
echo "labels + codebook $lab + $cb = $((lab + cb)) bytes (ratio $(awk -v a="$in" -v b="$((lab + cb))" 'BEGIN{printf "%.1f", a/b}'):1)"
echo "PSNR of decompressed vs input: $psnr dB"
