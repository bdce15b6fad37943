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
    [ "$stderr" = "kmq: standard input: cannot make a temporary copy in /nonexistent (TMPDIR): No such file or directory" ]
    [ ! -e q.png ] && [ ! -e q.bin ]
}

# The temporary copies on a full disk.  A write that fills it is short
# (what fits); only the next write says why, and the message must carry
# that errno, not whatever errno held before (it said "Invalid argument").
# RLIMIT_FSIZE (ulimit -f, with SIGXFSZ ignored: EFBIG) needs no root and
# caps only the temporary file, the outputs being pipes or small; a small
# tmpfs (root only) gives the real ENOSPC.

# spool_fails ERRTEXT TMPDIR-TEXT PREFIX...: every temporary copy (of
# standard input for compress and decompress, of output to a pipe) fails
# with one line, exit 1, nothing written; PREFIX runs the command.
spool_fails() {
    local cause=$1 dir=$2
    shift 2
    local run_kmq="$* '$KMQ'"
    run -1 --separate-stderr bash -c "$run_kmq compress -k 8 --stream - --labels q.png --codebook q.bin <big.png"
    [ "$stderr" = "kmq: standard input: cannot make a temporary copy in $dir: $cause" ] || { echo "$stderr"; false; }
    [ ! -e q.png ] && [ ! -e q.bin ]
    run -1 --separate-stderr bash -c "$run_kmq compress -q --json -k 8 --stream - --labels q.png --codebook q.bin <big.png"
    [ "$output" = "{\"input\": \"-\", \"status\": \"error\", \"error\": \"cannot make a temporary copy in $dir: $cause\"}" ] || { echo "$output"; false; }
    run -1 --separate-stderr bash -c "$run_kmq decompress --stream - l.bin -o q.png <l.png"
    [ "$stderr" = "kmq: standard input: cannot make a temporary copy in $dir: $cause" ] || { echo "$stderr"; false; }
    [ ! -e q.png ]
    # output to a pipe is held in a temporary file (its lengths are patched in)
    run -1 --separate-stderr bash -c "set -o pipefail; $run_kmq decompress --stream l.png l.bin -o - | wc -c >n.txt"
    [ "$stderr" = "kmq: standard output: cannot make a temporary copy in $dir: $cause" ] || { echo "$stderr"; false; }
    [ "$(cat n.txt)" = 0 ]
    run -1 --separate-stderr bash -c "set -o pipefail; $run_kmq compress -q -k 256 --stream big.png --labels /dev/stdout --codebook q.bin | wc -c >n.txt"
    [ "$stderr" = "kmq: /dev/stdout: cannot make a temporary copy in $dir: $cause" ] || { echo "$stderr"; false; }
    [ "$(cat n.txt)" = 0 ] && [ ! -e q.bin ]
}

# noise: every file (image, labels at k = 256, decoded image) over 150 KB
spool_inputs() {
    "$GENIMG" big.png 400 400 3 noise 1
    "$KMQ" compress -q -k 256 big.png --labels l.png --codebook l.bin
    [ "$(stat -c %s big.png)" -gt 150000 ] && [ "$(stat -c %s l.png)" -gt 150000 ]
}

@test "temporary copies past the file size limit (ulimit -f): the true cause, and where, in one line; no output" {
    spool_inputs
    mkdir t
    # 100 KiB: the second 64 KiB write is cut short, the third fails
    spool_fails "File too large" "$PWD/t (TMPDIR)" "trap '' XFSZ; ulimit -f 100; TMPDIR='$PWD/t'"
    spool_fails "File too large" "/tmp (set TMPDIR to use another folder)" "trap '' XFSZ; ulimit -f 100; unset TMPDIR;"
    # within the limit, the same command works
    run -0 bash -c "trap '' XFSZ; ulimit -f 2000; TMPDIR='$PWD/t' '$KMQ' compress -q -k 8 --stream - --labels q.png --codebook q.bin <big.png"
    [ -s q.png ] && [ -z "$(ls -A t)" ]
}

# tmpfile_call: which openat() of kmq's, in the trace tr.txt, made the
# temporary file: strace's inject=...:when= counts them.
tmpfile_call() {
    grep -n O_TMPFILE tr.txt | head -1 | cut -d: -f1 | grep .
}

@test "a file system without unnamed files (O_TMPFILE refused): a named temporary file, removed at once" {
    command -v strace >/dev/null || skip "strace not installed"
    spool_inputs
    mkdir t
    export TMPDIR=$PWD/t
    refuse=(-e trace=openat,unlink -e inject=openat:error=EOPNOTSUPP:when)
    # a copy of standard input
    "$KMQ" compress -q -k 8 big.png --labels want.png --codebook want.bin
    strace_kmq -o tr.txt -e trace=openat "$KMQ" compress -q -k 8 --stream - --labels q.png --codebook q.bin <big.png
    n=$(tmpfile_call)
    strace_kmq -o tr.txt "${refuse[@]}"=$n "$KMQ" compress -q -f -k 8 --stream - --labels q.png --codebook q.bin <big.png
    grep -q 'O_TMPFILE.*EOPNOTSUPP (Operation not supported) (INJECTED)' tr.txt
    grep -q '^unlink(".*/t/\.kmq-spool-' tr.txt
    cmp q.png want.png && cmp q.bin want.bin
    # a copy of the output to a pipe
    "$KMQ" decompress -q l.png l.bin -o want.dec.png
    strace_kmq -o tr.txt -e trace=openat "$KMQ" decompress -q --stream l.png l.bin -o - | cat >/dev/null
    n=$(tmpfile_call)
    strace_kmq -o tr.txt "${refuse[@]}"=$n "$KMQ" decompress -q --stream l.png l.bin -o - | cat >q.dec.png
    grep -q 'O_TMPFILE.*EOPNOTSUPP (Operation not supported) (INJECTED)' tr.txt
    grep -q '^unlink(".*/t/\.kmq-spool-' tr.txt
    cmp q.dec.png want.dec.png
    [ -z "$(ls -A t)" ]
}

@test "streamed decompress to a full output or a closed pipe, after its temporary copy: the output's own errno" {
    spool_inputs
    # the copy is made; copying it out fails (it said "Inappropriate ioctl for device")
    run -1 --separate-stderr bash -c "'$KMQ' decompress --stream l.png l.bin -o - >/dev/full"
    [ "$stderr" = "kmq: standard output: No space left on device" ] || { echo "$stderr"; false; }
    run -1 --separate-stderr "$KMQ" decompress --stream l.png l.bin -o /dev/full
    [ "$stderr" = "kmq: /dev/full: No space left on device" ] || { echo "$stderr"; false; }
    # a reader that went away (SIGPIPE ignored: EPIPE) is not an error to report
    run -1 --separate-stderr bash -c "trap '' PIPE; '$KMQ' decompress --stream l.png l.bin -o - | head -c 1 >/dev/null; exit \${PIPESTATUS[0]}"
    [ -z "$stderr" ] || { echo "$stderr"; false; }
}

@test "temporary copies on a full file system (small tmpfs as TMPDIR): No space left on device, in one line" {
    [ "$(id -u)" = 0 ] || skip "mounting a tmpfs needs root"
    spool_inputs
    mkdir small
    mount -t tmpfs -o size=100k tmpfs small 2>/dev/null || skip "cannot mount a tmpfs here"
    spool_fails "No space left on device" "$PWD/small (TMPDIR)" "TMPDIR='$PWD/small'"
    [ -z "$(ls -A small)" ]
}

teardown() {
    # the tmpfs above, whether its test passed or not
    if mountpoint -q "$BATS_TEST_TMPDIR/small" 2>/dev/null; then umount "$BATS_TEST_TMPDIR/small"; fi
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
