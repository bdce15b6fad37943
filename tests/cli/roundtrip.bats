#!/usr/bin/env bats
# Compress + decompress on generated images: channels kept, k respected,
# PSNR honest, lossless when possible, deterministic, safe outputs.
load helpers

@test "round trip keeps size and channel count for 1-4 channels" {
    for c in 1 2 3 4; do
        "$GENIMG" in$c.png 97 61 $c demo $c
        run -0 "$KMQ" compress -q -k 32 in$c.png
        run -0 "$KMQ" decompress -q in$c.labels.png in$c.codebook.bin
        read -r w h ch n <<<"$("$IMGCMP" info in$c.decompressed.png)"
        [ "$w $h $ch" = "97 61 $c" ] || { echo "channels $c: got $w $h $ch"; false; }
        [ "$n" -le 32 ]
        # the label image is 8-bit greyscale of the input's size
        read -r w h ch n <<<"$("$IMGCMP" info in$c.labels.png)"
        [ "$w $h $ch" = "97 61 1" ]
    done
}

@test "default file names: INPUT's folder/stem + .labels.png / .codebook.bin / .decompressed.png" {
    mkdir -p sub.dir
    "$GENIMG" sub.dir/pic.png 20 20 3 demo
    run -0 "$KMQ" compress -q sub.dir/pic.png
    [ -f sub.dir/pic.labels.png ] && [ -f sub.dir/pic.codebook.bin ]
    run -0 "$KMQ" decompress -q sub.dir/pic.labels.png sub.dir/pic.codebook.bin
    [ -f sub.dir/pic.decompressed.png ]
}

@test "-v reports k, distinct colours, iterations, inertia, MSE, PSNR, bytes, time; PSNR is what decompress gives" {
    "$GENIMG" in.png 120 80 3 demo
    run -0 --separate-stderr "$KMQ" compress -v -k 16 in.png
    for word in "distinct colours" "k 16" iterations inertia MSE PSNR bytes time; do
        [[ "$stderr" == *"$word"* ]] || { echo "missing '$word' in: $stderr"; false; }
    done
    reported=$(sed -n 's/.*PSNR \([0-9.]*\) dB.*/\1/p' <<<"$stderr")
    "$KMQ" decompress -q in.labels.png in.codebook.bin
    measured=$(psnr_of in.png in.decompressed.png)
    awk -v a="$reported" -v b="$measured" 'BEGIN { exit !((a - b) < 0.001 && (b - a) < 0.001) }' ||
        { echo "reported $reported, measured $measured"; false; }
}

@test "fewer distinct colours than k: lossless round trip, k shrinks" {
    for c in 1 2 3 4; do
        "$GENIMG" few$c.png 50 40 $c few:20 $c
        n=$(distinct_of few$c.png)
        run -0 --separate-stderr "$KMQ" compress -v -k 64 few$c.png
        [[ "$stderr" == *"k $n (asked 64)"* ]] || { echo "$stderr"; false; }
        run -0 "$KMQ" decompress -q few$c.labels.png few$c.codebook.bin
        [ "$(maxerr_of few$c.png few$c.decompressed.png)" = 0 ]
        # codebook: 12 header+CRC bytes + n entries of c channels
        [ "$(stat -c %s few$c.codebook.bin)" -eq $((12 + n * c)) ]
    done
}

@test "same input and options give byte-identical files, whatever the thread count" {
    "$GENIMG" in.png 200 150 3 demo
    "$KMQ" compress -q -k 50 --seed 7 --labels a.png --codebook a.bin in.png
    "$KMQ" compress -q -k 50 --seed 7 --labels b.png --codebook b.bin in.png
    "$KMQ" compress -q -k 50 --seed 7 -t 1 --labels c.png --codebook c.bin in.png
    "$KMQ" compress -q -k 50 --seed 7 -t 2 --labels d.png --codebook d.bin in.png
    "$KMQ" compress -q -k 50 --seed 7 -t 16 --labels e.png --codebook e.bin in.png
    for x in b c d e; do
        cmp a.png $x.png
        cmp a.bin $x.bin
    done
}

@test "random init and all k-means options work" {
    "$GENIMG" in.png 64 64 3 demo
    run -0 "$KMQ" compress -q -k 8 --init random --n-init 2 --max-iter 5 --tol 0 --seed 99 in.png
    run -0 "$KMQ" decompress -q in.labels.png in.codebook.bin
    [ "$(distinct_of in.decompressed.png)" -le 8 ]
}

@test "JPEG and BMP inputs compress and decompress" {
    for ext in jpg bmp; do
        "$GENIMG" in.$ext 64 48 3 demo
        run -0 "$KMQ" compress -q -f -k 16 in.$ext
        run -0 "$KMQ" decompress -q -f in.labels.png in.codebook.bin
        read -r w h ch n <<<"$("$IMGCMP" info in.decompressed.png)"
        [ "$w $h $ch" = "64 48 3" ]
        [ "$n" -le 16 ]
    done
    # a lossless BMP of few colours round-trips exactly
    "$GENIMG" few.bmp 30 20 3 few:10
    run -0 "$KMQ" compress -q -k 16 few.bmp
    run -0 "$KMQ" decompress -q -o few.out.png few.labels.png few.codebook.bin
    [ "$(maxerr_of few.bmp few.out.png)" = 0 ]
}

@test ".npy codebook: written when the name ends in .npy, read back by decompress" {
    "$GENIMG" in.png 64 48 3 demo
    run -0 "$KMQ" compress -q -k 10 --codebook cb.npy in.png
    run -0 "$KMQ" decompress -q -o a.png in.labels.png cb.npy
    run -0 "$KMQ" compress -q -f -k 10 in.png
    run -0 "$KMQ" decompress -q -o b.png in.labels.png in.codebook.bin
    [ "$(maxerr_of a.png b.png)" = 0 ]
    head -c 6 cb.npy | od -c | grep -q 'N   U   M   P   Y'
}

@test ".npy codebook loads in NumPy as uint8 (k, channels)" {
    PY=/usr/bin/python3
    "$PY" -c 'import numpy' 2>/dev/null || skip "Debian's python3-numpy is not installed"
    "$GENIMG" in.png 64 48 4 demo
    "$KMQ" compress -q -k 10 --codebook cb.npy in.png
    run -0 "$PY" -c 'import numpy as np; a = np.load("cb.npy"); print(a.dtype, a.shape)'
    assert_output "uint8 (10, 4)"
}

@test "an existing output is not overwritten without -f, and survives" {
    "$GENIMG" in.png 32 32 3 demo
    echo precious > in.labels.png
    run -1 --separate-stderr "$KMQ" compress in.png
    [ "$stderr" = "kmq: in.labels.png: already exists (use -f to overwrite)" ]
    [ "$(cat in.labels.png)" = precious ]
    [ ! -e in.codebook.bin ]
    run -0 "$KMQ" compress -q -f in.png
    [ "$(distinct_of in.labels.png)" -ge 1 ]
    echo precious > in.decompressed.png
    run -1 "$KMQ" decompress in.labels.png in.codebook.bin
    [ "$(cat in.decompressed.png)" = precious ]
    run -0 "$KMQ" decompress -q -f in.labels.png in.codebook.bin
    no_temp_files .
}

@test "outputs get ordinary permissions (umask), not mkstemp's 0600" {
    "$GENIMG" in.png 16 16 3 demo
    (umask 022 && "$KMQ" compress -q in.png)
    [ "$(stat -c %a in.labels.png)" = 644 ]
    [ "$(stat -c %a in.codebook.bin)" = 644 ]
}

@test "writing into a missing folder fails with exit 1 and leaves nothing" {
    "$GENIMG" in.png 16 16 3 demo
    run -1 --separate-stderr "$KMQ" compress --labels nodir/l.png in.png
    [[ "$stderr" == "kmq: nodir/l.png: No such file or directory" ]]
    [ ! -e in.codebook.bin ]
    no_temp_files .
}

@test "a failed codebook write leaves no label file behind" {
    "$GENIMG" in.png 16 16 3 demo
    run -1 "$KMQ" compress --codebook nodir/c.bin in.png
    [ ! -e in.labels.png ]
    no_temp_files .
}

@test "writing to /dev/full reports No space left on device and leaves no file" {
    [ -w /dev/full ] || skip "/dev/full not available"
    "$GENIMG" in.png 64 64 3 demo
    run -1 --separate-stderr "$KMQ" compress -f --codebook /dev/full in.png
    [ "$stderr" = "kmq: /dev/full: No space left on device" ]
    [ ! -e in.labels.png ]
    [ -c /dev/full ]
}

@test "few colours: the summary says lossless; stdin input needs both names for labels" {
    "$GENIMG" few.png 30 20 3 few:5
    run -0 --separate-stderr "$KMQ" compress -k 8 few.png
    [[ "$stderr" == *", lossless, "* ]] || { echo "$stderr"; false; }
    run -2 "$KMQ" compress --format labels - < few.png
    run -2 "$KMQ" compress --labels s.png - < few.png
    run -0 "$KMQ" compress -q -k 8 --labels s.png --codebook s.bin - < few.png
    cmp s.png few.labels.png
}
