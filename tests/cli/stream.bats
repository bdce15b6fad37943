#!/usr/bin/env bats
# Streaming (issue 15): images read in bands of rows give the bytes of the
# in-memory path, from files, pipes and standard input, in bounded memory.
load helpers

# same_outputs OPTS... -- INPUT: compress INPUT in memory and streamed, the
# same label PNG and codebook; then decompress both ways, the same image.
same_outputs() {
    local opts=() in
    while [ "$1" != -- ]; do opts+=("$1"); shift; done
    in=$2
    run -0 "$KMQ" compress -q -f --stream=never "${opts[@]}" "$in" --labels m.png --codebook m.bin
    run -0 "$KMQ" compress -q -f --stream "${opts[@]}" "$in" --labels s.png --codebook s.bin
    cmp m.png s.png || { echo "labels differ: ${opts[*]} $in"; false; }
    cmp m.bin s.bin || { echo "codebooks differ: ${opts[*]} $in"; false; }
    run -0 "$KMQ" decompress -q -f --stream=never m.png m.bin -o dm.png
    run -0 "$KMQ" decompress -q -f --stream m.png m.bin -o ds.png
    cmp dm.png ds.png || { echo "decompressed images differ: ${opts[*]} $in"; false; }
}

@test "--stream writes the in-memory path's bytes: grey, grey+alpha, RGB, RGBA; -k, packed, level, quality, strip" {
    for c in 1 2 3 4; do
        "$GENIMG" in$c.png 301 217 $c smooth $c
        for opts in "-k 16" "-k 4 --packed-labels" "-k 2 --packed-labels" "-k 200 --level 10" \
            "--quality 28" "--strip -k 8" "-k 64 --init random --n-init 2"; do
            # shellcheck disable=SC2086
            same_outputs $opts -- in$c.png
        done
    done
}

@test "--stream on 16-bit, palette, tRNS and low-bit PNGs written by PIL and ImageMagick: the same bytes" {
    /usr/bin/python3 - <<'PY'
import numpy as np
from PIL import Image
rng = np.random.default_rng(3)
a = rng.integers(0, 65536, (90, 70, 3), dtype=np.uint16)
import cv2
cv2.imwrite("rgb16.png", a)                                 # 16-bit RGB
cv2.imwrite("grey16.png", a[:, :, 0])                        # 16-bit grey
p = Image.fromarray(rng.integers(0, 256, (90, 70, 3), dtype=np.uint8)).quantize(37)
p.save("pal.png")                                            # palette
p.save("pal_t.png", transparency=5)                          # palette + tRNS
Image.fromarray((rng.integers(0, 2, (90, 70)) * 255).astype(np.uint8)).convert("1").save("bits1.png")
PY
    /usr/bin/convert -size 80x60 gradient:red-blue -depth 16 im16.png
    /usr/bin/convert -size 80x60 plasma:fractal -seed 4 -depth 8 -transparent-color white -alpha on im_rgba.png
    /usr/bin/convert -size 80x60 gradient: -depth 4 -colorspace Gray im_grey4.png
    for f in rgb16.png grey16.png pal.png pal_t.png bits1.png im16.png im_rgba.png im_grey4.png; do
        same_outputs -k 12 -- "$f"
    done
}

@test "--stream reads PNM and TIFF too; what cannot be streamed is read whole, as without it" {
    "$GENIMG" in.png 120 90 3 smooth
    /usr/bin/convert in.png in.ppm
    /usr/bin/convert in.png -compress lzw in.tif
    same_outputs -k 20 -- in.ppm
    same_outputs -k 20 -- in.tif
    # JPEG, an interlaced PNG, --format png8, --dither, -z: decoded whole
    "$GENIMG" in.jpg 64 48 3 demo
    /usr/bin/convert in.png -interlace PNG inter.png
    for f in in.jpg inter.png; do
        run -0 "$KMQ" compress -q -f --json --stream -k 8 $f --labels s.png --codebook s.bin
        [[ "$output" == *'"streamed": false'* ]] || { echo "$output"; false; }
        run -0 "$KMQ" compress -q -f -k 8 $f --labels m.png --codebook m.bin
        cmp s.png m.png && cmp s.bin m.bin
    done
    for opt in "--format png8 -o s.png" "--dither --labels s.png --codebook s.bin" "-z --labels s.png --codebook s.bin"; do
        # shellcheck disable=SC2086
        run -0 "$KMQ" compress -f --json --stream -k 8 $opt in.png
        [[ "$output" == *'"streamed": false'* ]] || { echo "$opt: $output"; false; }
    done
    run -2 --separate-stderr "$KMQ" compress --stream=sometimes in.png
    [[ "$stderr" == *"--stream takes auto, always or never, not 'sometimes'"* ]]
    run -2 --separate-stderr "$KMQ" compress --max-stream-pixels 0 in.png
    [[ "$stderr" == *"--max-stream-pixels must be an integer from 1 to 4294836225, not '0'"* ]]
}

@test "standard input and FIFOs are copied aside, then streamed by size as files are; past the limits: one line" {
    # 6000 x 2000 = 12 MP: read whole; 6000 x 6000 = 36 MP: streamed, by default
    "$GENIMG" small.ppm 6000 2000 3 few:30 2
    "$GENIMG" big.png 6000 6000 3 few:30 3
    /usr/bin/convert big.png big.ppm
    run -0 bash -c "'$KMQ' compress -q --json -k 8 - --labels a.png --codebook a.bin <small.ppm"
    [[ "$output" == *'"streamed": false'* ]]
    for f in big.png big.ppm; do
        run -0 bash -c "cat $f | '$KMQ' compress -q -f --json -k 8 - --labels p.png --codebook p.bin"
        [[ "$output" == *'"streamed": true'* ]] || { echo "$output"; false; }
        run -0 "$KMQ" compress -q -f -k 8 $f --labels f.png --codebook f.bin
        cmp p.png f.png && cmp p.bin f.bin
    done
    # the copy is capped by what an image of the limits can take
    run -1 --separate-stderr bash -c "cat big.png | '$KMQ' compress --stream --max-stream-pixels 1000 -k 8 - --labels q.png --codebook q.bin"
    [ "$stderr" = "kmq: standard input: image is larger than the pixel limit" ]
    run -1 --separate-stderr bash -c "cat big.png | '$KMQ' compress --max-pixels 1000 --max-stream-pixels 1000 -k 8 - --labels q.png --codebook q.bin"
    [ "$stderr" = "kmq: standard input: too large: more data than an image within the pixel limit can hold" ]
    run -1 --separate-stderr bash -c "cat big.png | TMPDIR=/nonexistent '$KMQ' compress -k 8 - --labels q.png --codebook q.bin"
    [ "$stderr" = "kmq: standard input: cannot make a temporary copy in /nonexistent (set TMPDIR): No such file or directory" ]
    [ ! -e q.png ] && [ ! -e q.bin ]
}

@test "--stream from standard input and a FIFO (spooled), and to a pipe: the same bytes" {
    "$GENIMG" in.png 150 100 3 smooth
    run -0 "$KMQ" compress -q -k 32 in.png --labels m.png --codebook m.bin
    "$KMQ" compress -q --stream -k 32 - --labels p.png --codebook p.bin <in.png
    cmp m.png p.png && cmp m.bin p.bin
    mkfifo fifo
    cat in.png >fifo &
    run -0 "$KMQ" compress -q -f --stream -k 32 fifo --labels f.png --codebook f.bin
    wait
    cmp m.png f.png && cmp m.bin f.bin
    run -0 "$KMQ" decompress -q m.png m.bin -o want.png
    "$KMQ" decompress -q --stream - m.bin <m.png | cat >piped.png
    cmp want.png piped.png
    no_temp_files .
}

@test "a streamed image's memory is bounded by its width, not its height; auto streams above 2^25 pixels" {
    # 6000 x 6000 (36 MP, 108 MB of RGB) with few colours: read whole, the
    # pixels alone take 108 MB; streamed, a few bands of rows.
    "$GENIMG" big.png 6000 6000 3 few:40 5
    run -0 /usr/bin/time -f "%M" "$KMQ" compress -q -f --stream=never -k 16 --n-init 1 big.png --labels m.png --codebook m.bin
    whole=${lines[-1]}
    run -0 /usr/bin/time -f "%M" "$KMQ" compress -q -f --json -k 16 --n-init 1 big.png --labels s.png --codebook s.bin
    streamed=${lines[-1]}
    echo "peak RSS: whole $whole KB, streamed $streamed KB"
    [[ "${lines[0]}" == *'"streamed": true'* ]]
    cmp m.png s.png && cmp m.bin s.bin
    run -0 /usr/bin/time -f "%M" "$KMQ" decompress -q -f m.png m.bin -o d.png
    decompressed=${lines[-1]}
    # (ASan's shadow memory and quarantine make RSS meaningless)
    if [ -z "${KMQ_SANITIZE:-}" ]; then
        [ "$streamed" -lt 100000 ]
        [ "$whole" -gt 108000 ]
        [ "$decompressed" -lt 100000 ]
    fi
    run -0 "$KMQ" compress -q -f --json -k 16 --n-init 1 --stream=never big.png --labels m.png --codebook m.bin
    [[ "${lines[0]}" == *'"streamed": false'* ]]
}

@test "streamed decompress: labels beyond the codebook, a wrong codebook, a truncated label PNG: one line, no output" {
    "$GENIMG" in.png 80 60 3 smooth
    run -0 "$KMQ" compress -q -k 4 in.png
    run -0 "$KMQ" compress -q -k 8 in.png --labels other.png --codebook other.bin
    /usr/bin/python3 -c "
import numpy as np; from PIL import Image
a = np.zeros((60, 80), np.uint8); a[20, 33] = 9
Image.fromarray(a).save('bad.png')"
    run -1 --separate-stderr "$KMQ" decompress --stream bad.png in.codebook.bin -o out.png
    [ "$stderr" = "kmq: bad.png: pixel (33, 20) has a label of 4 or more, but the codebook in.codebook.bin has only k = 4 entries (0..3)" ]
    run -1 --separate-stderr "$KMQ" decompress --stream in.labels.png other.bin -o out.png
    [[ "$stderr" == "kmq: in.labels.png and other.bin are not a pair"* ]]
    head -c 300 in.labels.png >cut.png
    run -1 --separate-stderr "$KMQ" decompress --stream cut.png in.codebook.bin -o out.png
    [ "${#lines[@]}" -le 1 ] && [[ "$stderr" == "kmq: cut.png: "* ]]
    [ ! -e out.png ]
    no_temp_files .
}

@test "streamed compress of a damaged PNG: one line naming it, no outputs" {
    "$GENIMG" in.png 200 150 3 smooth
    size=$(stat -c %s in.png)
    head -c $((size / 2)) in.png >half.png
    run -1 --separate-stderr "$KMQ" compress --stream half.png
    [[ "$stderr" == "kmq: half.png: "* ]] && [ "$(printf '%s\n' "$stderr" | wc -l)" = 1 ]
    [ ! -e half.labels.png ] && [ ! -e half.codebook.bin ]
    no_temp_files .
}
