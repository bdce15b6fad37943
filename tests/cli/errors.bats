#!/usr/bin/env bats
# Bad input: one-line message naming the file and the problem, exit 1, no output.
load helpers

one_line_naming() { # $1 = file name expected in the message
    [ "${#stderr_lines[@]}" -eq 1 ] || { echo "expected one line: $stderr"; return 1; }
    [[ "$stderr" == "kmq: $1: "* ]] || { echo "message does not name $1: $stderr"; return 1; }
}

@test "missing input file" {
    run -1 --separate-stderr "$KMQ" compress nothere.png
    one_line_naming nothere.png
    [[ "$stderr" == *"No such file or directory" ]]
    [ ! -e nothere.labels.png ]
}

@test "a directory as input" {
    mkdir d.png
    run -1 --separate-stderr "$KMQ" compress d.png
    one_line_naming d.png
    [[ "$stderr" == *"Is a directory" ]]
}

@test "not an image" {
    echo "hello" > t.png
    run -1 --separate-stderr "$KMQ" compress t.png
    one_line_naming t.png
    [[ "$stderr" == *"not a PNG, JPEG, BMP, TIFF, WebP, PNM or GIF image" ]]
    [ ! -e t.labels.png ] && [ ! -e t.codebook.bin ]
}

@test "empty file" {
    : > e.png
    run -1 --separate-stderr "$KMQ" compress e.png
    one_line_naming e.png
}

@test "truncated PNG" {
    "$GENIMG" in.png 64 64 3 demo
    head -c 500 in.png > cut.png
    run -1 --separate-stderr "$KMQ" compress cut.png
    one_line_naming cut.png
    [ ! -e cut.labels.png ]
}

@test "PNG with a flipped bit is refused by its CRC" {
    "$GENIMG" in.png 64 64 3 demo
    cp in.png bad.png
    # flip one byte inside the first IDAT's data
    printf '\x55' | dd of=bad.png bs=1 seek=60 conv=notrunc status=none
    run -1 --separate-stderr "$KMQ" compress bad.png
    one_line_naming bad.png
    [[ "$stderr" == *"CRC mismatch in PNG chunk IDAT" ]]
}

@test "decompress: label image re-saved as RGB is refused" {
    "$GENIMG" in.png 32 32 3 demo
    "$KMQ" compress -q in.png
    "$GENIMG" rgb.png 32 32 3 few:4
    run -1 --separate-stderr "$KMQ" decompress rgb.png in.codebook.bin
    one_line_naming rgb.png
    [[ "$stderr" == *"RGB PNG, not greyscale"* ]]
    [ ! -e rgb.decompressed.png ]
}

@test "decompress: label image re-saved as JPEG is refused" {
    "$GENIMG" in.png 32 32 3 demo
    "$KMQ" compress -q in.png
    "$GENIMG" labels.jpg 32 32 3 few:4
    run -1 --separate-stderr "$KMQ" decompress -o out.png labels.jpg in.codebook.bin
    one_line_naming labels.jpg
    [[ "$stderr" == *"JPEG"* ]]
    [ ! -e out.png ]
}

@test "decompress: a label >= k names the first offending pixel, its value and k" {
    "$GENIMG" in.png 40 30 3 demo
    "$KMQ" compress -q -k 200 in.png
    "$KMQ" compress -q -k 4 --labels small.png --codebook small.bin in.png
    strip_kmcp in.labels.png # labels that do not name their codebook (kmq 0.1.0, other tools)
    run -1 --separate-stderr "$KMQ" decompress -o out.png in.labels.png small.bin
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ "$stderr" =~ ^kmq:\ in.labels.png:\ pixel\ \([0-9]+,\ [0-9]+\)\ has\ label\ [0-9]+,\ but\ the\ codebook\ small.bin\ has\ only\ k\ =\ 4\ entries ]] || { echo "$stderr"; false; }
    [ ! -e out.png ]
}

@test "decompress: a bad label is named even when the output exists (the input is judged first, as compress does)" {
    "$GENIMG" in.png 40 30 3 demo
    "$KMQ" compress -q -k 200 in.png
    "$KMQ" compress -q -k 4 --labels small.png --codebook small.bin in.png
    strip_kmcp in.labels.png
    echo "keep me" > out.png
    run -1 --separate-stderr "$KMQ" decompress -o out.png in.labels.png small.bin
    [[ "$stderr" =~ ^kmq:\ in.labels.png:\ pixel\ \([0-9]+,\ [0-9]+\)\ has\ label ]] || { echo "$stderr"; false; }
    [ "$(cat out.png)" = "keep me" ]
    # a good pair over the existing output: refused, as always
    run -1 --separate-stderr "$KMQ" decompress -o out.png small.png small.bin
    [[ "$stderr" == *"out.png: already exists"* ]] || { echo "$stderr"; false; }
}

@test "decompress: corrupt codebooks are refused with what is wrong" {
    "$GENIMG" in.png 32 32 3 demo
    "$KMQ" compress -q -k 8 in.png
    cp in.codebook.bin flip.bin
    printf '\x00' | dd of=flip.bin bs=1 seek=10 conv=notrunc status=none
    run -1 --separate-stderr "$KMQ" decompress -o o.png in.labels.png flip.bin
    [ "$stderr" = "kmq: flip.bin: codebook CRC-32 mismatch (file is corrupt)" ]
    head -c 20 in.codebook.bin > short.bin
    run -1 --separate-stderr "$KMQ" decompress -o o.png in.labels.png short.bin
    [ "$stderr" = "kmq: short.bin: codebook is truncated" ]
    { cat in.codebook.bin; echo x; } > long.bin
    run -1 --separate-stderr "$KMQ" decompress -o o.png in.labels.png long.bin
    [ "$stderr" = "kmq: long.bin: codebook has trailing bytes after the CRC" ]
    echo "not a codebook" > text.bin
    run -1 --separate-stderr "$KMQ" decompress -o o.png in.labels.png text.bin
    [ "$stderr" = "kmq: text.bin: not a kmq codebook (bad magic)" ]
    echo "not a codebook" > text.npy
    run -1 --separate-stderr "$KMQ" decompress -o o.png in.labels.png text.npy
    [ "$stderr" = "kmq: text.npy: not a NumPy .npy file (bad magic)" ]
    [ ! -e o.png ]
}

@test "decompress: missing files are named" {
    run -1 --separate-stderr "$KMQ" decompress nolabels.png nocb.bin
    [ "$stderr" = "kmq: nolabels.png: No such file or directory" ]
}
