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
    read -r _ mse _ psnr _ _ _ _ max <<<"$output"
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

@test "--dither: same codebook, other labels, reported PSNR is the decoded one, same bytes every run" {
    "$GENIMG" in.png 64 48 3 smooth
    run -0 "$KMQ" compress -q -k 8 --labels a.png --codebook a.bin in.png
    run -0 --separate-stderr "$KMQ" compress -v -k 8 --dither --labels b.png --codebook b.bin in.png
    # the same colours (the order may differ: it follows which labels touch)
    run -0 "$KMQ" palette -o sa.png a.bin
    run -0 "$KMQ" palette -o sb.png b.bin
    cmp sa.png sb.png
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
