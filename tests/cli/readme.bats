#!/usr/bin/env bats
# The documents' examples run as written (issue 12): every command of every
# ```sh block of README.md, then of docs/*.md, in order, on generated
# stand-ins for the files they name (photo.png, scan.jpg, logo.png,
# tiger.png, folders of images).  Transcripts ("$ kmq
# compare ...") must print lines of the documented shape.
load helpers

# Stand-ins for the files the examples name, generated here.
make_inputs() {
    mkdir -p build scans/2024 icons
    ln -s "$KMQ" build/kmq
    "$GENIMG" tiger.png 320 180 3 demo 1
    "$GENIMG" photo.png 200 150 3 demo 2
    "$GENIMG" scans/a.png 120 90 3 demo 3
    "$GENIMG" scans/2024/b.png 90 120 3 demo 4
    /usr/bin/python3 "$ROOT/tests/tools/alpha_images.py" . text glow
    mv glow.png logo.png
    for i in 1 2 3; do cp text.png icons/icon$i.png; done
    /usr/bin/python3 -c "from PIL import Image; Image.open('photo.png').save('scan.jpg', quality=90)"
    "$GENIMG" kodim05.png 192 128 3 demo 5
    "$KMQ" compress -q kodim05.png -k 64 --format png8 -o k.png8.png
    "$KMQ" decompress -q k.png8.png -o kodim05.decompressed.png
    "$KMQ" compress -q text.png -k 16 --format png8 -o t.png8.png
    "$KMQ" decompress -q t.png8.png -o text.decompressed.png
    rm k.png8.png t.png8.png
}

@test "README: every example runs as written, and transcripts print what they show" {
    command -v parallel >/dev/null || skip "GNU parallel not installed (make deps installs it)"
    command -v convert >/dev/null || skip "ImageMagick not installed (make deps installs it)"
    make_inputs
    cp -r . "$BATS_TEST_TMPDIR/../fresh.$$"
    fresh="$BATS_TEST_TMPDIR/../fresh.$$"
    export PATH="$BUILD:$PATH"
    ran=0 last=
    while IFS= read -r line; do
        case $line in
        "## block") continue ;;
        "#> "*)
            # the output's shape: numbers may differ on the stand-ins
            want=$(sed -E 's/[0-9]+(\.[0-9]+)?/N/g' <<<"${line#\#> }")
            got=$(sed -E 's/[0-9]+(\.[0-9]+)?/N/g' <<<"$last")
            [ "$got" = "$want" ] || { echo "'$last' is not of the shape '${line#\#> }'"; false; }
            continue ;;
        *--sshlogin*) echo "# not run (needs ssh hosts): $line"; continue ;;
        parallel*|find*)
            # a folder of fresh images, as a user would have
            [ -d par ] || { cp -r "$fresh" par && rm -rf par/par; }
            cd par ;;
        esac
        echo "\$ $line"
        last=$(bash -euo pipefail -c "$line" 2>stderr.log) || {
            echo "exit $?: $line"; cat stderr.log; false; }
        ran=$((ran + 1))
        cd "$BATS_TEST_TMPDIR"
    done < <(for doc in "$ROOT/README.md" "$ROOT"/docs/*.md; do
                 /usr/bin/python3 "$ROOT/tests/tools/readme_examples.py" "$doc"
             done)
    rm -rf "$fresh"
    echo "$ran commands ran"
    [ "$ran" -ge 20 ]
    # and they did what they say
    [ -f tiger.labels.png ] && [ -f tiger.png8.png ] && [ -f tiger.decompressed.png ]
    [ -f out/scan.png ] && [ -f out/scan.npy ] && [ -f small/2024/b.labels.png ]
    [ "$(wc -l < report.jsonl)" = 2 ]
    [ -f photo.k128.png ] && [ -f logo.rgba.png ] && [ -f logo.jpg ] && [ -f photo.swatch.png ]
    "$IMGCMP" info logo.small.png >/dev/null
    [ -f par/photo.labels.png ] && [ -f par/scans/2024/b.labels.png ]
}
