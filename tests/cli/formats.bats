#!/usr/bin/env bats
# Output formats (issue 4): packed label PNGs, DEFLATE levels, PNG8.
load helpers

# png_depth FILE: the IHDR bit depth; png_colour_type FILE: its colour type
png_depth() { od -An -j24 -N1 -tu1 "$1" | tr -d ' '; }
png_colour_type() { od -An -j25 -N1 -tu1 "$1" | tr -d ' '; }

@test "--packed-labels: label PNGs of 1, 2 and 4 bits for k <= 2, 4, 16, 8 above, and decode back" {
    "$GENIMG" in.png 61 47 3 smooth
    for k in 2 3 4 5 16 17 64; do
        run -0 "$KMQ" compress -q -f -k $k --packed-labels in.png
        case $k in 2) want=1 ;; 3 | 4) want=2 ;; 5 | 16) want=4 ;; *) want=8 ;; esac
        [ "$(png_depth in.labels.png)" = "$want" ] || { echo "k=$k depth $(png_depth in.labels.png)"; false; }
        [ "$(png_colour_type in.labels.png)" = 0 ]
        run -0 "$KMQ" decompress -q -f in.labels.png in.codebook.bin
        read -r w h ch n <<<"$("$IMGCMP" info in.decompressed.png)"
        [ "$w $h $ch" = "61 47 3" ]
        [ "$n" -le "$k" ]
        # the same pixels as the one-file output of the same run (png8
        # dithers by default, label PNGs do not)
        run -0 "$KMQ" compress -q -f -k $k --format png8 --nofs -o one.png in.png
        run -0 "$KMQ" decompress -q -f -o one.out.png one.png
        cmp in.decompressed.png one.out.png
    done
}

@test "png8: one indexed PNG whose pixels are exactly what labels + codebook decompress to, 1-4 channels" {
    for c in 1 2 3 4; do
        "$GENIMG" in$c.png 83 41 $c demo $c
        # png8 dithers by default, label PNGs do not: the same with the
        # same setting, either way
        run -0 "$KMQ" compress -q -k 40 in$c.png
        run -0 "$KMQ" decompress -q in$c.labels.png in$c.codebook.bin
        run -0 "$KMQ" compress -q -k 40 --format png8 --nofs -o plain$c.png in$c.png
        run -0 "$KMQ" decompress -q -o plainback$c.png plain$c.png
        cmp plainback$c.png in$c.decompressed.png
        run -0 "$KMQ" compress -q -f -k 40 --dither in$c.png
        run -0 "$KMQ" decompress -q -f in$c.labels.png in$c.codebook.bin
        run -0 "$KMQ" compress -q -k 40 --format png8 in$c.png
        [ -f in$c.png8.png ]
        [ "$(png_colour_type in$c.png8.png)" = 3 ]
        run -0 "$KMQ" decompress -q -o back$c.png in$c.png8.png
        cmp back$c.png in$c.decompressed.png
        run -0 "$IMGCMP" in$c.decompressed.png back$c.png
        assert_output --partial "maxerr 0"
    done
    # default name: the stem without '.png8'
    rm in1.decompressed.png
    run -0 "$KMQ" decompress -q in1.png8.png
    cmp in1.decompressed.png back1.png
}

@test "png8 decodes in Python PIL to the same pixels as labels + codebook" {
    /usr/bin/python3 -c 'import PIL, numpy' 2>/dev/null || skip "python3-pil or python3-numpy not installed"
    for c in 1 2 3 4; do
        "$GENIMG" in$c.png 70 50 $c demo $((c + 7))
        run -0 "$KMQ" compress -q -k 24 --dither --labels l$c.png --codebook c$c.npy in$c.png
        run -0 "$KMQ" compress -q -k 24 --format png8 -o p$c.png in$c.png
        run -0 /usr/bin/python3 - "$c" <<'PY'
import sys
import numpy as np
from PIL import Image
c = int(sys.argv[1])
pal = Image.open(f"p{c}.png")
assert pal.mode == "P", pal.mode
idx = np.asarray(pal)
book = np.load(f"c{c}.npy")
labels = np.asarray(Image.open(f"l{c}.png"))
expect = book[labels]                       # (h, w, C): what decompress gives
rgba = np.asarray(pal.convert("RGBA"))
grey = c < 3
got = rgba[..., :1] if grey else rgba[..., :3]
if c in (2, 4):
    got = np.concatenate([got, rgba[..., 3:]], axis=2)
assert got.shape == expect.shape, (got.shape, expect.shape)
assert (got == expect).all(), "pixels differ"
assert (book[idx] == expect).all(), "indices differ"
print("ok", c)
PY
    done
}

@test "--level trades time for size; -z is the smallest; all decode to the same pixels" {
    "$GENIMG" in.png 160 120 3 smooth
    for l in 1 6 12; do
        run -0 "$KMQ" compress -q -f -k 48 --level $l --labels l$l.png --codebook c.bin in.png
        run -0 "$KMQ" decompress -q -f -o d$l.png l$l.png c.bin
    done
    run -0 "$KMQ" compress -q -f -k 48 -z --labels lz.png --codebook c.bin in.png
    run -0 "$KMQ" decompress -q -f -o dz.png lz.png c.bin
    cmp d1.png d6.png && cmp d6.png d12.png && cmp d12.png dz.png
    s1=$(stat -c %s l1.png) s6=$(stat -c %s l6.png) s12=$(stat -c %s l12.png) sz=$(stat -c %s lz.png)
    echo "level 1: $s1, 6: $s6, 12: $s12, -z: $sz"
    [ "$s6" -le "$s1" ] && [ "$s12" -le "$s6" ] && [ "$sz" -le "$s12" ]
}

@test "-v and --stats report input, label and codebook bytes, the total and the ratio" {
    "$GENIMG" in.png 90 60 3 demo
    run -0 --separate-stderr "$KMQ" compress --stats -k 16 in.png
    in=$(stat -c %s in.png) l=$(stat -c %s in.labels.png) c=$(stat -c %s in.codebook.bin)
    for want in "$in bytes" "in.labels.png: $l bytes" "in.codebook.bin: $c bytes" "total $((l + c)) bytes" "% of the input"; do
        [[ "$stderr" == *"$want"* ]] || { echo "missing '$want' in: $stderr"; false; }
    done
    run -0 --separate-stderr "$KMQ" compress -v -f -k 16 --format png8 in.png
    [[ "$stderr" == *"in.png8.png: $(stat -c %s in.png8.png) bytes"* ]]
}

@test "decompress with one argument refuses a PNG without a palette, naming it; nothing written" {
    "$GENIMG" in.png 20 20 3 demo
    run -1 --separate-stderr "$KMQ" decompress in.png
    [ "$(wc -l <<<"$stderr")" -eq 1 ]
    [[ "$stderr" == "kmq: in.png: "*"palette"* ]]
    [ ! -e in.decompressed.png ]
    run -0 "$KMQ" compress -q in.png
    run -1 --separate-stderr "$KMQ" decompress in.labels.png
    [[ "$stderr" == *"CODEBOOK"* ]]
}
