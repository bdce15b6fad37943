#!/usr/bin/env bats
# Nothing mixed, nothing lost, nothing hung (issue 13): the output pair,
# batch runs, deterministic and bounded decoding, names, error lines.
load helpers

@test "7: a named FIFO as input is read once, never reopened (no hang)" {
    command -v strace >/dev/null || skip "strace not installed"
    "$GENIMG" x.png 64 48 3 smooth
    "$KMQ" compress -q x.png --format png8 -o want.png
    mkfifo in.fifo
    cat x.png > in.fifo &
    # stat calls slowed down: the writer is done and gone before kmq reads,
    # so a second open by name would wait for a writer forever
    run -0 timeout 30 strace -f -o /dev/null -e inject=%fstat:delay_exit=300000 \
        "$KMQ" compress -q in.fifo --format png8 -o got.png
    wait
    cmp got.png want.png
}

@test "8: file names of 240-255 bytes work (the temporary name stays within NAME_MAX)" {
    "$GENIMG" x.png 16 16 3 smooth
    long=$(printf 'b%.0s' $(seq 236))
    cp x.png "$long.png"
    run -0 "$KMQ" compress -q -k 4 "$long.png" --format png8 # 245-byte output, 257-byte temp before
    [ -f "$long.png8.png" ]
    run -0 "$KMQ" compress -q -k 4 "$long.png" --labels "${long}.lbl.png" --codebook "${long}x.cb.bin"
    no_temp_files .
}

@test "10: a newline in a file name does not split the one-line error" {
    printf 'junk' > "$(printf 'nl\nbad.png')"
    run -1 --separate-stderr "$KMQ" compress "$(printf 'nl\nbad.png')"
    [ "$stderr" = 'kmq: nl\nbad.png: not a PNG, JPEG or BMP image' ]
    "$GENIMG" "$(printf 'ok\nname.png')" 16 16 3 smooth
    run -0 --separate-stderr "$KMQ" compress -k 4 "$(printf 'ok\nname.png')"
    [ "$(grep -c . <<<"$stderr")" = 1 ] && [[ "$stderr" == 'ok\nname.png: k=4, '* ]]
}
