#!/usr/bin/env bats
# Folders, scripts and people (issue 6): batch mode, reports, palette,
# compare, progress.
load helpers

make_tree() {
    mkdir -p photos/a/b photos/c
    "$GENIMG" photos/one.png 40 30 3 demo 1
    "$GENIMG" photos/a/two.png 30 30 3 demo 2
    "$GENIMG" photos/a/b/three.jpg 24 20 3 demo 3
    "$GENIMG" photos/c/four.bmp 20 20 3 demo 4
    echo "not an image" >photos/c/notes.txt
}

@test "a folder with a corrupt file: the others are done, exit 1, one summary line" {
    make_tree
    printf '\x89PNG\r\n\x1a\nbroken' >photos/a/bad.png
    run -1 --separate-stderr "$KMQ" compress -k 8 -r photos
    for f in one a/two a/b/three c/four; do
        [ -s photos/$f.labels.png ] && [ -s photos/$f.codebook.bin ] || { echo "missing $f"; false; }
    done
    [ ! -e photos/a/bad.labels.png ] && [ ! -e photos/c/notes.labels.png ]
    [[ "$stderr" == *"kmq: photos/a/bad.png: "* ]]
    summary=$(tail -1 <<<"$stderr")
    [[ "$summary" == "kmq: 5 files: 4 compressed, 0 skipped, 1 failed; "*" -> "*" bytes"*" s" ]] || { echo "$summary"; false; }
    # kmq's own outputs are not inputs the second time round
    rm photos/a/bad.png
    run -0 --separate-stderr "$KMQ" compress -q -f -k 8 -r photos
    [ ! -e photos/one.labels.labels.png ]
}

@test "--out-dir mirrors the tree below the folder; files given directly go to the folder itself" {
    make_tree
    run -0 "$KMQ" compress -q -k 8 -r photos --out-dir out
    for f in one a/two a/b/three c/four; do
        [ -s out/$f.labels.png ] && [ -s out/$f.codebook.bin ] || { echo "missing out/$f"; false; }
    done
    [ ! -e photos/one.labels.png ]
    run -0 "$KMQ" compress -q -k 8 --format png8 --out-dir flat photos/one.png photos/a/two.png
    [ -s flat/one.png8.png ] && [ -s flat/two.png8.png ]
}

@test "--skip-existing leaves done files alone and redoes half-done ones; without it an existing output is an error" {
    make_tree
    run -0 "$KMQ" compress -q -k 8 -r photos
    touch -d '2001-01-01' photos/one.labels.png
    rm photos/c/four.codebook.bin
    run -0 --separate-stderr "$KMQ" compress -k 8 --skip-existing -r photos
    [[ "$(tail -1 <<<"$stderr")" == "kmq: 4 files: 1 compressed, 3 skipped, 0 failed; "* ]] || { echo "$stderr"; false; }
    [ "$(stat -c %Y photos/one.labels.png)" = "$(date -d '2001-01-01' +%s)" ]
    [ -s photos/c/four.codebook.bin ]
    run -1 "$KMQ" compress -q -k 8 -r photos
}

@test "-j 2 writes the same bytes as -j 1" {
    make_tree
    cp -r photos p2
    run -0 "$KMQ" compress -q -k 16 -j 1 -r photos
    run -0 "$KMQ" compress -q -k 16 -j 2 -r p2
    n=0
    for f in $(cd photos && find . -name '*.labels.png' -o -name '*.codebook.bin'); do
        cmp photos/$f p2/$f
        n=$((n + 1))
    done
    [ "$n" -eq 8 ]
}

@test "--json: one object per file that a JSON parser reads, failures included" {
    make_tree
    printf 'garbage' >photos/zz.png
    run -1 --separate-stderr "$KMQ" compress -q -k 8 --json -r photos
    [ "$(wc -l <<<"$output")" -eq 5 ]
    /usr/bin/python3 - <<PY
import json
lines = """$output""".splitlines()
objs = [json.loads(l) for l in lines]
ok = [o for o in objs if o["status"] == "ok"]
bad = [o for o in objs if o["status"] == "error"]
assert len(ok) == 4 and len(bad) == 1, objs
assert bad[0]["input"] == "photos/zz.png" and bad[0]["error"]
for o in ok:
    for key in ("labels", "codebook", "bytes_in", "bytes_out", "ratio", "k", "distinct",
                "iterations", "inertia", "mse", "psnr", "seconds", "width", "height"):
        assert key in o, (key, o)
    assert o["k"] <= 8 and o["bytes_out"] > 0
PY
    while read -r line; do python3 -m json.tool <<<"$line" >/dev/null; done <<<"$output"
}

@test "palette: the swatch's squares have exactly the codebook's colours, by brightness or as stored" {
    "$GENIMG" in.png 64 48 3 demo
    run -0 "$KMQ" compress -q -k 10 --codebook in.npy in.png
    run -0 "$KMQ" palette -o sw.png --cell 8 in.npy
    run -0 "$KMQ" palette -o st.png --cell 8 --columns 3 --order stored in.npy
    /usr/bin/python3 -c 'import PIL' 2>/dev/null || skip "python3-pil not installed"
    /usr/bin/python3 - <<'PY'
import numpy as np
from PIL import Image
book = np.load("in.npy")
def cells(path, cols):
    img = np.asarray(Image.open(path).convert("RGB"))
    return [img[(j // cols) * 8 + 4, (j % cols) * 8 + 4] for j in range(len(book))]
lum = sorted(range(len(book)), key=lambda j: (299 * int(book[j][0]) + 587 * int(book[j][1]) + 114 * int(book[j][2]), j))
assert all((c == book[lum[j]]).all() for j, c in enumerate(cells("sw.png", 4))), "brightness order"
assert all((c == book[j]).all() for j, c in enumerate(cells("st.png", 3))), "stored order"
assert Image.open("st.png").size == (24, 32)
PY
}

@test "compare: MSE, PSNR and max error agree with the independent imgcmp" {
    "$GENIMG" a.png 50 40 3 demo
    run -0 "$KMQ" compress -q -k 6 a.png
    run -0 "$KMQ" decompress -q a.labels.png a.codebook.bin
    run -0 "$KMQ" compare a.png a.decompressed.png
    read -r _ mse _ psnr _ _ _ _ max _ <<<"$output"
    read -r _ mse2 _ psnr2 _ max2 <<<"$("$IMGCMP" a.png a.decompressed.png)"
    awk -v a="$psnr" -v b="$psnr2" -v c="$mse" -v d="$mse2" 'BEGIN { exit !((a - b)^2 < 1e-6 && (c - d)^2 < 1e-6) }'
    [ "$max" = "$max2" ]
    run -0 "$KMQ" compare a.png a.png
    [[ "$output" == *"identical"* ]]
    "$GENIMG" small.png 10 10 3 demo
    run -1 --separate-stderr "$KMQ" compare a.png small.png
    [[ "$stderr" == *"differ in size"* ]]
}

@test "GNU parallel over a folder writes what the batch mode writes" {
    command -v parallel >/dev/null || skip "GNU parallel not installed"
    make_tree
    cp -r photos p2
    run -0 "$KMQ" compress -q -k 12 -r photos
    (cd p2 && find . -name '*.png' -o -name '*.jpg' -o -name '*.bmp' | parallel -q "$KMQ" compress -q -k 12 {})
    for f in $(cd photos && find . -name '*.labels.png' -o -name '*.codebook.bin'); do cmp photos/$f p2/$f; done
}

@test "a progress line shows on a terminal (script) and never in a pipe" {
    command -v script >/dev/null || skip "script (util-linux) not installed"
    make_tree
    cp -r photos p2
    script -qec "'$KMQ' compress -k 8 -r photos" typescript >/dev/null
    grep -q $'\r\033\\[K\\[[0-9]*/4 files' typescript || { cat -v typescript; false; }
    run -0 --separate-stderr "$KMQ" compress -k 8 -r p2
    [[ "$stderr" != *$'\r'* ]] && [[ "$stderr" != *"files]"* ]]
}

@test "--quality picks the smallest k that reaches the PSNR (checked against every k)" {
    "$GENIMG" q.png 48 36 3 demo 5
    target=25
    want=
    for k in $(seq 2 60); do
        p=$("$KMQ" compress -f -v -k $k --labels l.png --codebook c.bin q.png 2>&1 | sed -n 's/.*PSNR \([0-9.]*\) dB.*/\1/p')
        if awk -v p="$p" -v t="$target" 'BEGIN { exit !(p >= t) }'; then want=$k; break; fi
    done
    [ -n "$want" ]
    run -0 --separate-stderr "$KMQ" compress -f -v --quality $target --labels l.png --codebook c.bin q.png
    got=$(sed -n 's/^  k \([0-9]*\) (chosen.*/\1/p' <<<"$stderr")
    echo "brute force $want, --quality $got"
    [ "$got" = "$want" ]
    run -0 "$KMQ" decompress -q -f -o d.png l.png c.bin
    awk -v p="$(psnr_of q.png d.png)" -v t="$target" 'BEGIN { exit !(p >= t) }'
    # out of reach: said, and the best there is written
    run -0 --separate-stderr "$KMQ" compress -f --quality 150 --labels l.png --codebook c.bin q.png
    [[ "$stderr" == *"out of reach"* ]]
    run -2 "$KMQ" compress -k 8 --quality 30 q.png
}

@test "--dither on label PNGs: the perceptual palette, dithered labels, reported PSNR is the decoded one, same bytes every run" {
    "$GENIMG" in.png 64 48 3 smooth
    run -0 "$KMQ" compress -q -k 8 --labels a.png --codebook a.bin in.png
    run -0 --separate-stderr "$KMQ" compress -v -k 8 --dither --labels b.png --codebook b.bin in.png
    ! cmp -s a.png b.png
    run -0 "$KMQ" decompress -q -o d.png b.png b.bin
    reported=$(sed -n 's/.*PSNR \([0-9.]*\) dB.*/\1/p' <<<"$stderr")
    awk -v a="$reported" -v b="$(psnr_of in.png d.png)" 'BEGIN { exit !((a - b)^2 < 1e-6) }'
    run -0 "$KMQ" compress -q -f -t 1 -k 8 --dither --labels c.png --codebook c.bin in.png
    cmp b.png c.png
}

@test "-r over a folder with empty subfolders (qsort of nothing: UBSan found it)" {
    mkdir -p photos/empty photos/also/empty
    "$GENIMG" photos/a.png 16 16 3 demo
    run -0 --separate-stderr "$KMQ" compress -q -k 4 -r photos
    [ -z "$stderr" ] && [ -f photos/a.labels.png ]
    run -0 --separate-stderr "$KMQ" compress -q -k 4 -r photos/empty
    [ -z "$stderr" ]
}

# A folder with every kind of outcome: a file whose outputs would be the
# input itself (a hard link: a usage error for that file alone), a good
# file, a broken one, one left alone by --skip-existing, one too small to
# pay (--skip-if-larger), and one named output that is kmq's own.
make_mixed() {
    mkdir "$1"
    "$GENIMG" "$1/a_linked.png" 32 32 3 demo 1
    ln "$1/a_linked.png" "$1/a_linked.labels.png"
    "$GENIMG" "$1/b_good.png" 40 30 3 demo 2
    printf '\x89PNG\r\n\x1a\nbroken' >"$1/c_broken.png"
    "$GENIMG" "$1/d_done.png" 30 30 3 demo 3
    "$KMQ" compress -q -k 8 "$1/d_done.png"
    "$GENIMG" "$1/e_tiny.png" 4 4 3 demo
}

@test "-j 1 and -j 2 count the same way: same summary, same exit status, same messages" {
    make_mixed j1
    make_mixed j2
    for j in 1 2; do
        run -1 --separate-stderr "$KMQ" compress -k 8 --skip-existing --skip-if-larger -j $j \
            -r j$j j$j/d_done.labels.png
        # the folder's name and the times aside, the same lines (in any order)
        sed -E "s#j$j/#DIR/#g; s/, [0-9.]+ s\$/, T s/" <<<"$stderr" | sort >err$j.txt
        tail -1 <<<"$stderr" | sed -E 's/, [0-9.]+ s$//' >summary$j.txt
    done
    cat summary1.txt
    [[ "$(cat summary1.txt)" == "kmq: 6 files: 1 compressed, 3 skipped (1 larger than the input, 0 below the --quality minimum), 2 failed; "* ]]
    diff summary1.txt summary2.txt
    diff err1.txt err2.txt
    grep -q "an output file is the input file 'DIR/a_linked.png'" err1.txt
    [ -s j1/b_good.labels.png ] && [ -s j2/b_good.labels.png ]
    cmp j1/b_good.labels.png j2/b_good.labels.png
    # one file alone keeps its own exit status
    run -2 "$KMQ" compress -q -k 8 -j 2 j1/a_linked.png
    run -98 "$KMQ" compress -q -k 8 -j 2 --skip-if-larger j1/e_tiny.png
}

@test "-j 2: a worker that cannot be started is said once; the files not started count as failed" {
    command -v strace >/dev/null || skip "strace not installed"
    mkdir d
    for i in 1 2 3 4 5; do "$GENIMG" d/i$i.png 32 32 3 demo $i; done
    # the second pipe() and every one after it fail (-t 1: no thread is
    # started, which the injected clone() failures below would break)
    run -1 --separate-stderr strace_kmq -f -o /dev/null -e inject=pipe,pipe2:error=EMFILE:when=2+ \
        "$KMQ" compress -k 8 -t 1 -j 2 -r d
    [ "$(grep -c '^kmq: pipe: Too many open files$' <<<"$stderr")" = 1 ] || { echo "$stderr"; false; }
    [[ "$(tail -1 <<<"$stderr")" == "kmq: 5 files: 1 compressed, 0 skipped, 4 failed; "* ]] || { echo "$stderr"; false; }
    no_temp_files d
    rm -f d/*.labels.png d/*.codebook.bin
    run -1 --separate-stderr strace_kmq -f -o /dev/null -e inject=fork,vfork,clone,clone3:error=EAGAIN:when=2+ \
        "$KMQ" compress -k 8 -t 1 -j 2 -r d
    [ "$(grep -c '^kmq: fork: Resource temporarily unavailable$' <<<"$stderr")" = 1 ] || { echo "$stderr"; false; }
    [[ "$(tail -1 <<<"$stderr")" == "kmq: 5 files: 1 compressed, 0 skipped, 4 failed; "* ]] || { echo "$stderr"; false; }
    no_temp_files d
}

# A folder whose image names are not all files: two good images, a link to
# nothing, a link loop, a FIFO and a link to a device (neither of which a
# walk may open: a FIFO with no writer blocks, /dev/zero never ends), and a
# FIFO without an image's name, which is none of kmq's business.
make_odd_tree() {
    mkdir -p d
    "$GENIMG" d/a.png 16 16 3 demo 1
    "$GENIMG" d/b.png 16 16 3 demo 2
    ln -s nowhere.png d/dangling.png
    ln -s loop.png d/loop.png
    mkfifo d/f.ppm d/fifo
    ln -s /dev/zero d/zero.pgm
}

@test "-r: a link to nothing fails, a FIFO or device is skipped unread; each said, in --json, and counted" {
    make_odd_tree
    # timeout: opening the FIFO would block for ever
    run -1 --separate-stderr timeout 60 "$KMQ" compress -k 4 --json -r d
    [ "$(grep -c . <<<"$output")" -eq 6 ] || { echo "$output"; false; }
    /usr/bin/python3 - "$output" <<'PY'
import json, sys
objs = {o["input"]: o for o in map(json.loads, sys.argv[1].splitlines())}
assert objs["d/dangling.png"] == {"input": "d/dangling.png", "status": "error",
                                  "error": "a symbolic link to nothing"}, objs
assert objs["d/loop.png"] == {"input": "d/loop.png", "status": "error",
    "error": "a symbolic link that cannot be followed: Too many levels of symbolic links"}, objs
assert objs["d/f.ppm"] == {"input": "d/f.ppm", "status": "skipped",
                           "reason": "a FIFO, not read by a folder walk"}, objs
assert objs["d/zero.pgm"] == {"input": "d/zero.pgm", "status": "skipped",
                              "reason": "a character device, not read by a folder walk"}, objs
assert objs["d/a.png"]["status"] == objs["d/b.png"]["status"] == "ok", objs
PY
    grep -qx 'kmq: d/dangling.png: a symbolic link to nothing' <<<"$stderr"
    grep -qx 'kmq: d/loop.png: a symbolic link that cannot be followed: Too many levels of symbolic links' <<<"$stderr"
    grep -qx 'kmq: d/f.ppm: skipped: a FIFO, not read by a folder walk (reading it could block forever; name it to read it)' <<<"$stderr"
    grep -qx 'kmq: d/zero.pgm: skipped: a character device, not read by a folder walk (reading it could block forever; name it to read it)' <<<"$stderr"
    ! grep -q 'd/fifo' <<<"$stderr"
    [[ "$(tail -1 <<<"$stderr")" == "kmq: 6 files: 2 compressed, 2 skipped, 2 failed; "* ]] || { echo "$stderr"; false; }
    [ -s d/a.labels.png ] && [ -s d/b.labels.png ] && [ ! -e d/f.labels.png ] && [ ! -e d/dangling.labels.png ]
    # -j 2 counts the same; -q keeps the failures and silences the skips
    run -1 --separate-stderr timeout 60 "$KMQ" compress -f -q -k 4 -j 2 -r d
    [ "$stderr" = $'kmq: d/dangling.png: a symbolic link to nothing\nkmq: d/loop.png: a symbolic link that cannot be followed: Too many levels of symbolic links' ] || { echo "$stderr"; false; }
    run -1 --separate-stderr timeout 60 "$KMQ" compress -f -k 4 -j 2 -r d
    [[ "$(tail -1 <<<"$stderr")" == "kmq: 6 files: 2 compressed, 2 skipped, 2 failed; "* ]] || { echo "$stderr"; false; }
    # the links gone, what is skipped is no failure: exit 0
    rm d/dangling.png d/loop.png
    run -0 --separate-stderr timeout 60 "$KMQ" compress -f -k 4 -r d
    [[ "$(tail -1 <<<"$stderr")" == "kmq: 4 files: 2 compressed, 2 skipped, 0 failed; "* ]] || { echo "$stderr"; false; }
}

@test "a link to nothing named directly fails as a missing file; a FIFO named directly is read" {
    make_odd_tree
    run -1 --separate-stderr "$KMQ" compress -k 4 --json d/dangling.png d/a.png
    grep -qx '{"input": "d/dangling.png", "status": "error", "error": "No such file or directory"}' <<<"$output"
    [[ "$(tail -1 <<<"$stderr")" == "kmq: 2 files: 1 compressed, 0 skipped, 1 failed; "* ]] || { echo "$stderr"; false; }
    cat d/b.png >d/f.ppm &
    run -0 timeout 60 "$KMQ" compress -q -f -k 4 d/f.ppm --labels f.png --codebook f.bin
    wait
    [ -s f.png ] && [ -s f.bin ]
}

@test "-r: a folder that cannot be opened is a failure: said, in --json, counted, exit 1" {
    command -v strace >/dev/null || skip "strace not installed"
    mkdir -p d/sub
    "$GENIMG" d/a.png 16 16 3 demo 1
    "$GENIMG" d/sub/b.png 16 16 3 demo 2
    # the opendir() of d/sub fails as an unreadable folder would (root reads
    # every folder, so chmod cannot show it)
    strace_kmq -o tr.txt -e trace=openat "$KMQ" compress -q -k 4 -r d
    n=$(grep -n 'openat(AT_FDCWD, "d/sub",' tr.txt | head -1 | cut -d: -f1)
    [ -n "$n" ]
    run -1 --separate-stderr strace_kmq -o /dev/null -e trace=openat -e inject=openat:error=EACCES:when=$n \
        "$KMQ" compress -f -k 4 --json -r d
    [ "$(grep -c . <<<"$output")" -eq 2 ] || { echo "$output"; false; }
    grep -qx '{"input": "d/sub", "status": "error", "error": "Permission denied"}' <<<"$output"
    grep -qx 'kmq: d/sub: Permission denied' <<<"$stderr"
    [[ "$(tail -1 <<<"$stderr")" == "kmq: 2 files: 1 compressed, 0 skipped, 1 failed; "* ]] || { echo "$stderr"; false; }
}
