#!/usr/bin/env bats
# In pipes and scripts (issue 12): standard output, symlinks and special
# files, write errors, name clashes, kmq's own outputs, quality floors and
# --skip-if-larger, --ext, option messages, JSON names, compare's channels.
# Everything is made under the test's own /tmp folder.
load helpers

@test "1: -o - writes the png8, the decompressed image and the swatch to standard output" {
    "$GENIMG" x.png 64 48 3 smooth
    "$KMQ" compress -q x.png --format png8 -o file.png8.png
    run -0 --separate-stderr bash -c '"$0" compress -q x.png --format png8 -o - > out.png' "$KMQ"
    [ ! -e ./- ]
    cmp out.png file.png8.png
    "$KMQ" decompress -q file.png8.png -o file.dec.png
    "$KMQ" decompress -q file.png8.png -o - > dec.png
    cmp dec.png file.dec.png
    "$KMQ" compress -q -k 8 x.png
    "$KMQ" decompress -q x.labels.png x.codebook.bin -o - > dec2.png
    "$KMQ" decompress -q x.labels.png x.codebook.bin -o dec2.file.png
    cmp dec2.png dec2.file.png
    "$KMQ" palette x.codebook.bin -o - > sw.png
    "$KMQ" palette x.codebook.bin -o sw.file.png
    cmp sw.png sw.file.png
    [ ! -e ./- ]
    # other readers read what went through the pipe
    /usr/bin/python3 -c "from PIL import Image; im = Image.open('out.png'); assert im.mode == 'P' and im.size == (64, 48)"
}

@test "1: standard input with no output named: the png8 goes to standard output (pngquant - < in > out)" {
    "$GENIMG" x.png 64 48 4 smooth
    "$KMQ" compress -q x.png --format png8 -o want.png
    "$KMQ" compress -q - < x.png > got.png
    cmp got.png want.png
    cat x.png | "$KMQ" compress -q - | "$KMQ" decompress -q - > dec.png
    "$KMQ" decompress -q want.png -o want.dec.png
    cmp dec.png want.dec.png
    [ ! -e ./- ] && [ ! -e ./-.png8.png ]
}

@test "1: binary output to a terminal is refused with exit 2 and one line" {
    command -v script >/dev/null || skip "script (util-linux) not installed"
    "$GENIMG" x.png 16 16 3 smooth
    "$KMQ" compress -q -k 4 x.png
    for cmd in "compress x.png --format png8 -o -" "decompress x.labels.png x.codebook.bin -o -" \
        "palette x.codebook.bin -o -"; do
        run script -qec "$KMQ $cmd; echo rc=\$?" /dev/null
        [[ "$output" == *"standard output is a terminal: not writing a PNG to it"* ]] || { echo "$output"; false; }
        [[ "$output" == *"rc=2"* ]]
        [ "$(grep -c . <<<"$output")" = 2 ] # the one line and rc=2
    done
    # also when the terminal is named another way
    run script -qec "$KMQ compress x.png --format png8 -o /dev/stdout; echo rc=\$?" /dev/null
    [[ "$output" == *"standard output is a terminal"*"rc=2"* ]] || { echo "$output"; false; }
}

@test "1: labels + codebook cannot share standard output: the usage error says why" {
    "$GENIMG" x.png 16 16 3 smooth
    run -2 --separate-stderr "$KMQ" compress x.png --labels - --codebook c.bin
    [[ "$stderr" == *"two files and standard output is one stream"*"--format png8 -o -"* ]]
    run -2 --separate-stderr "$KMQ" compress x.png --labels l.png --codebook -
    [ ! -e l.png ] && [ ! -e c.bin ]
    run -2 --separate-stderr "$KMQ" compress --json x.png --format png8 -o -
    [[ "$stderr" == *"--json and the output '-' would both write to standard output"* ]]
    run -2 --separate-stderr bash -c '"$0" compress --json x.png --format png8 -o /dev/stdout > o.txt' "$KMQ"
    [[ "$stderr" == *"--json and the output '/dev/stdout' would both write to standard output"* ]]
}

@test "2: an output that is a symlink is followed: the target is replaced, the link stays a link" {
    "$GENIMG" x.png 32 32 3 smooth
    mkdir real
    "$KMQ" compress -q -k 8 x.png --format png8 -o real/t.png
    ln -s real/t.png link.png
    run -1 --separate-stderr "$KMQ" compress -k 4 x.png --format png8 -o link.png
    [[ "$stderr" == "kmq: link.png: already exists (use -f to overwrite)" ]]
    "$KMQ" compress -q -k 4 x.png --format png8 -o link.png -f
    [ -L link.png ] && [ "$(readlink link.png)" = real/t.png ]
    "$KMQ" compress -q -k 4 x.png --format png8 -o want.png
    cmp real/t.png want.png
    no_temp_files . && no_temp_files real
    # labels and codebook through links too
    "$KMQ" compress -q -k 8 x.png --labels real/l.png --codebook real/c.bin
    ln -s real/l.png l.png && ln -s real/c.bin c.bin
    "$KMQ" compress -q -k 4 -f x.png --labels l.png --codebook c.bin
    [ -L l.png ] && [ -L c.bin ]
    "$KMQ" decompress -q real/l.png real/c.bin -o dec.png
    "$KMQ" compress -q -k 4 x.png --format png8 --nofs -o want.png -f
    "$KMQ" decompress -q want.png -o want.dec.png
    cmp dec.png want.dec.png
}

@test "2: a dangling symlink creates its target; the link is kept" {
    "$GENIMG" x.png 32 32 3 smooth
    mkdir sub
    ln -s sub/new.png dang.png
    "$KMQ" compress -q x.png --format png8 -o dang.png
    [ -L dang.png ] && [ -f sub/new.png ]
    "$KMQ" compress -q x.png --format png8 -o want.png
    cmp sub/new.png want.png
    # a chain of links, relative to each link's own folder
    mkdir -p a/b
    ln -s b/end.png a/mid.png
    ln -s a/mid.png chain.png
    "$KMQ" compress -q x.png --format png8 -o chain.png
    [ -L chain.png ] && [ -L a/mid.png ] && cmp a/b/end.png want.png
}

@test "2: a link to /proc/self/fd/1 and /dev/stdout write to standard output, never replaced" {
    "$GENIMG" x.png 32 32 3 smooth
    "$KMQ" compress -q x.png --format png8 -o want.png
    ln -s /proc/self/fd/1 so
    "$KMQ" compress -q x.png --format png8 -o so -f > out.png
    [ -L so ] && [ "$(readlink so)" = /proc/self/fd/1 ]
    cmp out.png want.png
    "$KMQ" compress -q x.png --format png8 -o /dev/stdout > out2.png
    [ -L /dev/stdout ] || [ -c /dev/stdout ]
    cmp out2.png want.png
    # a pipe on the other end
    "$KMQ" compress -q x.png --format png8 -o /dev/stdout -f | cat > out3.png
    cmp out3.png want.png
    # our own descriptor is duplicated, not reopened: >> keeps appending
    echo "header" > log
    "$KMQ" compress -q x.png --format png8 -o /dev/stdout >> log
    [ "$(head -n 1 log)" = header ]
    tail -c +8 log | cmp - want.png
}

@test "2: a FIFO and a character device are written directly, without -f" {
    "$GENIMG" x.png 32 32 3 smooth
    "$KMQ" compress -q x.png --format png8 -o want.png
    mkfifo ff
    timeout 60 cat ff > from_fifo.png &
    run "$KMQ" compress -q x.png --format png8 -o ff
    [ "$status" = 0 ] || : > ff # let the reader go
    wait
    [ "$status" = 0 ]
    [ -p ff ]
    cmp from_fifo.png want.png
    run -0 "$KMQ" compress -q x.png --format png8 -o /dev/null
    run -0 "$KMQ" compress -q x.png --labels /dev/null --codebook /dev/null
    [ -c /dev/null ]
    no_temp_files .
}

@test "3: write errors on standard output are exit 1 with one line (--json, compare, -o -)" {
    [ -w /dev/full ] || skip "/dev/full not available"
    "$GENIMG" x.png 32 32 3 smooth
    run -1 --separate-stderr bash -c '"$0" compress -q --json x.png > /dev/full' "$KMQ"
    [ "$stderr" = "kmq: standard output: No space left on device" ]
    run -1 --separate-stderr bash -c '"$0" compare x.png x.png > /dev/full' "$KMQ"
    [ "$stderr" = "kmq: standard output: No space left on device" ]
    run -1 --separate-stderr bash -c '"$0" compare --json x.png x.png > /dev/full' "$KMQ"
    [ "$stderr" = "kmq: standard output: No space left on device" ]
    run -1 --separate-stderr bash -c '"$0" compress -q x.png --format png8 -o - > /dev/full' "$KMQ"
    [ "$stderr" = "kmq: standard output: No space left on device" ]
    run -1 --separate-stderr bash -c '"$0" --help > /dev/full' "$KMQ"
    [ "$stderr" = "kmq: standard output: No space left on device" ]
}

@test "3: a reader that goes away (| head) ends the run quietly, with no temporary file" {
    mkdir d
    for i in 1 2 3 4 5 6 7 8; do "$GENIMG" d/i$i.png 256 256 3 demo $i; done
    # SIGPIPE at its default: killed by it, as cat or grep are
    run bash -c '"$0" compress -q -k 64 --json -r d | head -c 1 >/dev/null; echo "${PIPESTATUS[0]}"' "$KMQ"
    [[ "$output" == 141 ]] || { echo "exit $output"; false; }
    no_temp_files d
    [ ! -e d/i8.labels.png ]
    # SIGPIPE ignored (as some parents leave it): EPIPE ends the run, exit 1, nothing said
    rm -f d/*.labels.png d/*.codebook.bin
    run --separate-stderr bash -c 'trap "" PIPE; "$0" compress -q -k 64 --json -r d | head -c 1 >/dev/null; echo "${PIPESTATUS[0]}"' "$KMQ"
    [[ "$output" == 1 ]] || { echo "exit $output"; false; }
    [ -z "$stderr" ]
    [ ! -e d/i8.labels.png ]
    no_temp_files d
}

@test "4: two inputs that would write the same file are refused before any work, naming both" {
    "$GENIMG" x.png 32 32 3 smooth
    /usr/bin/python3 -c "from PIL import Image; Image.open('x.png').save('x.jpg', quality=90)"
    run -2 --separate-stderr "$KMQ" compress -f x.png x.jpg
    [[ "$stderr" == "kmq compress: 'x.png' and 'x.jpg' would both write 'x."* ]] || { echo "$stderr"; false; }
    [ ! -e x.labels.png ] && [ ! -e x.codebook.bin ]
    mkdir -p d1 d2
    "$GENIMG" d1/a.png 16 16 3 smooth 1
    "$GENIMG" d2/a.png 16 16 3 smooth 2
    run -2 --separate-stderr "$KMQ" compress -r d1 d2 --out-dir o
    [[ "$stderr" == "kmq compress: 'd1/a.png' and 'd2/a.png' would both write 'o/a."* ]] || { echo "$stderr"; false; }
    [ ! -e o ]
    # the same file twice, also under another name
    run -2 --separate-stderr "$KMQ" compress x.png x.png
    [[ "$stderr" == "kmq compress: 'x.png' is given twice"* ]] || { echo "$stderr"; false; }
    run -2 --separate-stderr "$KMQ" compress x.png ./x.png
    [[ "$stderr" == "kmq compress: 'x.png' and './x.png' are the same file"* ]] || { echo "$stderr"; false; }
    # one file's output over another file's input
    run -2 --separate-stderr "$KMQ" compress -f --ext .png x.jpg x.png
    [[ "$stderr" == *"'x.jpg' would write over the input 'x.png'"* ]] || { echo "$stderr"; false; }
    # distinct names are fine
    run -0 "$KMQ" compress -q d1/a.png --out-dir p
    [ -f p/a.labels.png ]
}

@test "5: kmq's own outputs named as inputs are skipped with one line each" {
    "$GENIMG" x.png 32 32 3 smooth
    "$KMQ" compress -q -k 8 x.png
    "$KMQ" compress -q -k 8 x.png --format png8
    run -0 --separate-stderr "$KMQ" compress -k 8 -f x.png x.labels.png x.png8.png
    [ ! -e x.labels.labels.png ] && [ ! -e x.png8.labels.png ]
    [ "$(grep -c 'skipped: a kmq output' <<<"$stderr")" = 2 ]
    [[ "$stderr" == *"kmq: x.labels.png: skipped: a kmq output (.labels.png)"* ]]
    [[ "$(tail -1 <<<"$stderr")" == "kmq: 3 files: 1 compressed, 2 skipped, 0 failed; "* ]]
    # a name given on purpose is a name given on purpose
    run -0 "$KMQ" compress -q -k 8 x.png8.png --labels again.png --codebook again.bin
    [ -f again.png ]
}

@test "6: --quality MIN-MAX: below MIN nothing is written, exit 99; a missed MAX is said even with -q" {
    "$GENIMG" x.png 64 48 3 smooth
    run -99 --separate-stderr "$KMQ" compress --quality 60-80 x.png
    [[ "$stderr" == "kmq: x.png: quality too low: k=256 gives "*" dB, below the --quality minimum of 60 dB; nothing written"* ]] || { echo "$stderr"; false; }
    [ ! -e x.labels.png ] && [ ! -e x.codebook.bin ]
    run -99 --separate-stderr "$KMQ" compress -q --quality 60-80 --format png8 -o - x.png
    [ -z "$output" ]
    # MAX alone, as kmq 0.1.0: the best is written, and the miss is said even with -q
    run -0 --separate-stderr "$KMQ" compress -q --quality 80 x.png
    [[ "$stderr" == "kmq: x.png: warning: 80 dB is out of reach: k=256 gives "*" dB"* ]] || { echo "$stderr"; false; }
    [ -f x.labels.png ]
    # --json says whether the target was reached, and why a file was skipped
    run -0 --separate-stderr "$KMQ" compress -q -f --json --quality 80 x.png
    /usr/bin/python3 -c "import json,sys; d = json.loads(sys.argv[1]); assert d['quality_reached'] is False and d['quality_max'] == 80, d" "$output"
    run -0 --separate-stderr "$KMQ" compress -q -f --json --quality 20 x.png
    /usr/bin/python3 -c "import json,sys; d = json.loads(sys.argv[1]); assert d['quality_reached'] is True and d['psnr'] >= 20, d" "$output"
    run -99 --separate-stderr "$KMQ" compress -q -f --json --quality 60-80 x.png
    /usr/bin/python3 -c "import json,sys; d = json.loads(sys.argv[1]); assert d['status'] == 'skipped' and 'quality' in d['reason'] and d['quality_reached'] is False, d" "$output"
    # "-MAX" has no floor; "MIN-" aims as high as it goes
    run -0 "$KMQ" compress -q -f --quality=-80 x.png 2>/dev/null
    run -0 "$KMQ" compress -q -f --quality 20- x.png 2>/dev/null
    run -2 "$KMQ" compress --quality 40-30 x.png
    run -2 "$KMQ" compress --quality abc x.png
}

@test "6: --quality with --dither is judged on the dithered result, and reached by a larger k where needed (24)" {
    "$GENIMG" x.png 64 48 3 smooth
    run -0 --separate-stderr "$KMQ" compress -f --json --quality 30 x.png
    read -r plain kplain < <(/usr/bin/python3 -c "import json,sys; d = json.loads(sys.argv[1]); print(d['psnr'], d['k'])" "$output")
    run -0 --separate-stderr "$KMQ" compress -f --json -k "$kplain" --dither x.png
    same_k=$(/usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])['psnr'])" "$output")
    # the k that reaches 30 dB undithered falls short dithered ...
    /usr/bin/python3 -c "import sys; assert float(sys.argv[1]) >= 30 > float(sys.argv[2])" "$plain" "$same_k"
    # ... so --dither --quality takes a larger k, whose dithered result reaches it (was: "out of reach")
    run -0 --separate-stderr "$KMQ" compress -f --json --dither --quality 30 x.png
    read -r reached dithered k < <(/usr/bin/python3 -c "
import json,sys
d = json.loads(sys.argv[1])
print(str(d['quality_reached']).lower(), d['psnr'], d['k'])" "$output")
    echo "undithered k=$kplain $plain dB; dithered k=$k $dithered dB"
    [ "$reached" = true ] && [ "$k" -gt "$kplain" ]
    /usr/bin/python3 -c "import sys; assert float(sys.argv[1]) >= 30" "$dithered"
    [[ "$stderr" != *"out of reach"* ]] || { echo "$stderr"; false; }
    # the PSNR reported is the written file's
    run -0 "$KMQ" decompress -q -f x.labels.png x.codebook.bin -o d.png
    awk -v a="$dithered" -v b="$(psnr_of x.png d.png)" 'BEGIN { exit !((a - b)^2 < 1e-4) }'
    # beyond any k: the minimum refuses, nothing written
    rm -f x.labels.png x.codebook.bin
    run -99 --separate-stderr "$KMQ" compress -f --dither --quality 90-90 x.png
    [[ "$stderr" == *"quality too low"* ]]
    [ ! -e x.labels.png ]
}

@test "6: --skip-if-larger writes nothing and exits 98; in a batch the others are done" {
    "$GENIMG" tiny.png 8 8 3 smooth
    "$GENIMG" big.png 64 48 3 smooth
    run -98 --separate-stderr "$KMQ" compress --skip-if-larger tiny.png
    [[ "$stderr" == "kmq: tiny.png: skipped: the outputs ("*" bytes) would be larger than the input ("*" bytes)" ]] || { echo "$stderr"; false; }
    [ ! -e tiny.labels.png ] && [ ! -e tiny.codebook.bin ]
    run -98 --separate-stderr "$KMQ" compress --skip-if-larger --json tiny.png big.png
    [ -f big.labels.png ] && [ ! -e tiny.labels.png ]
    /usr/bin/python3 -c "
import json,sys
lines = [json.loads(l) for l in sys.argv[1].splitlines()]
assert lines[0]['status'] == 'skipped' and 'larger' in lines[0]['reason'], lines
assert lines[1]['status'] == 'ok', lines" "$output"
    [[ "$(tail -1 <<<"$stderr")" == "kmq: 2 files: 1 compressed, 1 skipped (1 larger than the input, 0 below the --quality minimum), 0 failed; "* ]] || { echo "$stderr"; false; }
    # a failure outranks a skip: exit 1
    echo junk > bad.png
    run -1 "$KMQ" compress -f --skip-if-larger tiny.png big.png bad.png
    # a quality floor outranks --skip-if-larger: exit 99
    run -99 "$KMQ" compress -f --skip-if-larger --quality 60-80 tiny.png big.png
}

@test "--ext: pngquant's naming; --ext .png -f converts in place, atomically, through a link" {
    "$GENIMG" x.png 64 48 3 smooth
    cp x.png y.png
    "$KMQ" compress -q x.png --format png8 -o want.png
    "$KMQ" compress -q --ext -fs8.png x.png
    cmp x-fs8.png want.png
    run -1 --separate-stderr "$KMQ" compress --ext .png y.png
    [ "$stderr" = "kmq: y.png: already exists (use -f to overwrite)" ]
    cmp y.png x.png
    ln -s y.png ylink.png
    "$KMQ" compress -q --ext .png -f ylink.png
    [ -L ylink.png ] && cmp y.png want.png
    no_temp_files .
    # -fs8.png files are kmq's outputs now: not inputs again
    run -0 --separate-stderr "$KMQ" compress --ext -fs8.png -f x.png x-fs8.png
    [ ! -e x-fs8-fs8.png ]
    run -2 "$KMQ" compress --ext .png --format labels x.png
    run -2 "$KMQ" compress --ext .png -o z.png x.png
    run -2 "$KMQ" compress --ext a/b.png x.png
}

@test "7: an unknown option is named as given, not the word before it" {
    "$GENIMG" x.png 16 16 3 smooth
    run -2 --separate-stderr "$KMQ" compress -k 8 -weird.png
    [[ "$stderr" == "kmq compress: unknown option '-w' in '-weird.png' (a file whose name starts with '-' is ./-weird.png, or put it after --)"* ]] || { echo "$stderr"; false; }
    cp x.png ./-weird.png
    run -0 "$KMQ" compress -q -k 8 ./-weird.png
    run -0 "$KMQ" compress -q -f -k 8 -- -weird.png
    for c in compress decompress compare palette; do
        run -2 --separate-stderr "$KMQ" $c --bogus x
        [[ "$stderr" == "kmq $c: unknown option '--bogus'"* ]] || { echo "$stderr"; false; }
        run -2 --separate-stderr "$KMQ" $c -Z x
        [[ "$stderr" == "kmq $c: unknown option '-Z'"* ]] || { echo "$stderr"; false; }
    done
    run -2 --separate-stderr "$KMQ" compress x.png --seed
    [[ "$stderr" == "kmq compress: option '--seed' needs a value"* ]]
    run -2 --separate-stderr "$KMQ" compress x.png -k
    [[ "$stderr" == "kmq compress: option '-k' needs a value"* ]]
    run -2 --separate-stderr "$KMQ" compress --json=yes x.png
    [[ "$stderr" == "kmq compress: option '--json' takes no value"* ]]
}

@test "8: a missing or unsupported input is named as such, even when its outputs exist" {
    touch gone.labels.png gone.codebook.bin
    run -1 --separate-stderr "$KMQ" compress gone.png
    [ "$stderr" = "kmq: gone.png: No such file or directory" ]
    echo "plain text" > notes.png
    touch notes.labels.png notes.codebook.bin
    run -1 --separate-stderr "$KMQ" compress notes.png
    [[ "$stderr" == "kmq: notes.png: not a PNG, JPEG, BMP, TIFF, WebP, PNM or GIF image"* ]] || { echo "$stderr"; false; }
    touch dec.png
    run -1 --separate-stderr "$KMQ" decompress gone.labels.png gone.codebook.bin -o dec.png
    [[ "$stderr" == "kmq: gone.labels.png: "* ]] || { echo "$stderr"; false; }
    touch x.swatch.png
    run -1 --separate-stderr "$KMQ" palette x.codebook.bin
    [ "$stderr" = "kmq: x.codebook.bin: No such file or directory" ]
}

@test "9: --json is valid JSON (UTF-8) for any file name" {
    "$GENIMG" x.png 16 16 3 smooth
    bad=$(printf 'n\xff\xfe-\xc3\xa9-"q"-\x01.png')
    cp x.png "$bad"
    run -0 --separate-stderr "$KMQ" compress -q --json -k 4 "$bad"
    /usr/bin/python3 -c "
import json,sys
raw = sys.stdin.buffer.read()
raw.decode('utf-8')                    # strict: raises on invalid bytes
d = json.loads(raw)
assert d['input'] == 'n\ufffd\ufffd-\u00e9-\"q\"-\x01.png', repr(d['input'])
assert d['status'] == 'ok'" <<<"$output"
}

@test "10: compare: a grey image and its png8 (RGB) are compared, not called different sizes" {
    "$GENIMG" g.png 32 32 1 smooth
    "$KMQ" compress -q -k 8 g.png --format png8
    "$KMQ" decompress -q g.png8.png -o g.rgb.png # grey palette -> grey PNG
    run -0 --separate-stderr "$KMQ" compare g.png g.png8.png
    [[ "$output" == "MSE "*" PSNR "*" dB max abs error "* ]] || { echo "$output"; false; }
    run -0 "$KMQ" compare g.rgb.png g.png8.png
    [[ "$output" == "MSE 0 PSNR inf dB"* ]]
    # grey against RGBA: opaque grey is compared as opaque RGB
    /usr/bin/python3 -c "from PIL import Image; Image.open('g.png').convert('RGBA').save('g4.png')"
    run -0 "$KMQ" compare g.png g4.png
    [[ "$output" == "MSE 0 PSNR inf dB"* ]]
    "$GENIMG" other.png 16 16 1 smooth
    run -1 --separate-stderr "$KMQ" compare g.png other.png
    [ "$stderr" = "kmq: g.png and other.png differ in size: 32x32 vs 16x16" ]
}

@test "a dangling symlink in a folder is reported as a failed file, the rest is done" {
    mkdir d
    "$GENIMG" d/a.png 16 16 3 smooth
    ln -s nowhere.png d/b.png
    run -1 --separate-stderr "$KMQ" compress -k 4 -r d
    [[ "$stderr" == *"kmq: d/b.png: a symbolic link to nothing"* ]] || { echo "$stderr"; false; }
    [[ "$(tail -1 <<<"$stderr")" == "kmq: 2 files: 1 compressed, 0 skipped, 1 failed; "* ]] || { echo "$stderr"; false; }
    [ -f d/a.labels.png ]
}

@test "2: when the codebook cannot be committed, the label file a link led to is removed, not the link" {
    command -v strace >/dev/null || skip "strace not installed"
    "$GENIMG" x.png 32 32 3 smooth
    mkdir real
    ln -s real/l.png l.png
    # the label PNG is committed by link(); the codebook's link() and rename() fail
    run -1 --separate-stderr strace_kmq -f -o /dev/null -e inject=link:error=EIO:when=2 \
        -e inject=rename:error=EIO "$KMQ" compress -q -k 4 x.png --labels l.png --codebook c.bin
    [[ "$stderr" == *"kmq: c.bin: Input/output error"* ]] || { echo "$stderr"; false; }
    [ -L l.png ] && [ ! -e real/l.png ] && [ ! -e c.bin ]
    no_temp_files . && no_temp_files real
}

@test "3: -j 2: a reader that goes away ends the run (SIGPIPE), write errors are exit 1, workers die with the parent" {
    mkdir d
    for i in 1 2 3 4 5 6; do "$GENIMG" d/i$i.png 256 256 3 demo $i; done
    run bash -c 'timeout 60 "$0" compress -q -k 64 -j 2 --json -r d | head -c 1 >/dev/null; echo "${PIPESTATUS[0]}"' "$KMQ"
    [ "$output" = 141 ] || { echo "exit $output (124: hung)"; false; }
    no_temp_files d
    run -1 --separate-stderr bash -c '"$0" compress -q -f -k 8 -j 2 --json -r d > /dev/full' "$KMQ"
    [ "$stderr" = "kmq: standard output: No space left on device" ]
    # SIGPIPE ignored: quiet, exit 1, also for a PNG on standard output
    run --separate-stderr bash -c 'trap "" PIPE; "$0" compress -q -f -k 64 -j 2 --json -r d | head -c 1 >/dev/null; echo "${PIPESTATUS[0]}"' "$KMQ"
    [ "$output" = 1 ] && [ -z "$stderr" ]
    "$GENIMG" big.png 600 600 3 demo
    "$KMQ" compress -q -k 64 big.png --format png8
    run --separate-stderr bash -c 'trap "" PIPE; "$0" decompress -q big.png8.png -o - | head -c 1 >/dev/null; echo "${PIPESTATUS[0]}"' "$KMQ"
    [ "$output" = 1 ] && [ -z "$stderr" ]
    # the parent killed: its workers stop and leave nothing
    "$GENIMG" b1.png 1400 1400 3 demo 1
    "$GENIMG" b2.png 1400 1400 3 demo 2
    "$KMQ" compress -q -k 256 -z -j 2 b1.png b2.png &
    pid=$!
    sleep 1
    kill $pid
    wait $pid || true
    sleep 4
    [ ! -e b1.labels.png ] && [ ! -e b2.labels.png ] && [ ! -e b1.codebook.bin ]
    no_temp_files .
}

@test "4: outputs that are links to one file clash too; two names of one input are both named" {
    "$GENIMG" x.png 32 32 3 smooth
    "$GENIMG" y.png 32 32 3 smooth 2
    ln -s same.bin L1 && ln -s same.bin C1
    run -2 --separate-stderr "$KMQ" compress -k 8 x.png --labels L1 --codebook C1
    [[ "$stderr" == "kmq compress: labels and codebook would both be written to 'L1'"* ]] || { echo "$stderr"; false; }
    [ ! -e same.bin ]
    ln -s T.png x.png8.png && ln -s T.png y.png8.png
    run -2 --separate-stderr "$KMQ" compress -k 8 -f --format png8 x.png y.png
    [[ "$stderr" == "kmq compress: 'x.png' and 'y.png' would both write "* ]] || { echo "$stderr"; false; }
    [ ! -e T.png ]
    ln -s x.png xx.png
    run -2 --separate-stderr "$KMQ" compress x.png xx.png
    [[ "$stderr" == "kmq compress: 'x.png' and 'xx.png' are the same file"* ]] || { echo "$stderr"; false; }
    # -r does not walk into an --out-dir below the folder: a second run is the same run
    mkdir -p d/s && cp x.png d/a.png
    run -0 "$KMQ" compress -q -k 8 -r d --out-dir d/s/out
    run -0 "$KMQ" compress -q -f -k 8 -r d --out-dir d/s/out
    [ ! -e d/s/out/s ]
}

@test "5, 8: a missing file named like a kmq output is missing, not skipped; stdin twice is a usage error" {
    run -1 --separate-stderr "$KMQ" compress nosuch.png8.png
    [ "$stderr" = "kmq: nosuch.png8.png: No such file or directory" ]
    "$GENIMG" x.png 16 16 3 smooth
    "$KMQ" compress -q -k 4 x.png
    run -2 --separate-stderr bash -c 'cat x.labels.png | "$0" decompress - -' "$KMQ"
    [[ "$stderr" == "kmq decompress: standard input ('-') can be read only once"* ]]
    run -2 --separate-stderr bash -c '"$0" compare - - < x.png' "$KMQ"
    [[ "$stderr" == "kmq compare: standard input ('-') can be read only once"* ]]
}

@test "2: a replaced file keeps its permissions (--ext .png -f in place, -f over an output)" {
    "$GENIMG" p.png 32 32 3 smooth
    chmod 640 p.png
    "$KMQ" compress -q -k 8 --ext .png -f p.png
    [ "$(stat -c %a p.png)" = 640 ]
    "$KMQ" compress -q -k 8 --format png8 p.png
    chmod 600 p.png8.png
    "$KMQ" compress -q -k 4 -f --format png8 p.png
    [ "$(stat -c %a p.png8.png)" = 600 ]
    if [ "$(id -u)" = 0 ]; then # the owner too, where we may set it
        chown 1234:1234 p.png
        "$KMQ" compress -q -k 4 --ext .png -f p.png
        [ "$(stat -c %u:%g p.png)" = 1234:1234 ]
    fi
    umask 022
    "$KMQ" compress -q -k 4 --format png8 -o new.png p.png
    [ "$(stat -c %a new.png)" = 644 ]
}

@test "24: pngquant's 0-100 --quality is explained in dB, not a bare exit 99" {
    "$GENIMG" n.png 120 90 3 noisy 3
    run -99 --separate-stderr "$KMQ" compress --quality 65-80 --format png8 n.png -o out.png
    [[ "$stderr" == "kmq: n.png: quality too low: k=256 gives "*" dB, below the --quality minimum of 65 dB; nothing written (--quality is in dB of PSNR, not pngquant's 0-100 scale: pngquant's --quality 65-80 gives about 35.5-37.9 dB on photos)" ]] || { echo "$stderr"; false; }
    [ ! -e out.png ]
    run -0 --separate-stderr "$KMQ" compress --quality 90 --format png8 n.png -o out.png
    [[ "$stderr" == *"warning: 90 dB is out of reach with dithering: k=256 gives "*" dB (--quality is in dB of PSNR, not pngquant's 0-100 scale: pngquant's --quality 90 gives about 39.3 dB on photos)"* ]] || { echo "$stderr"; false; }
    # a target in dB's own range: no such note
    run -99 --separate-stderr "$KMQ" compress --quality 45-50 --format png8 n.png -o out2.png
    [[ "$stderr" != *"pngquant"* ]] || { echo "$stderr"; false; }
}

@test "24: compare reports SSIM as scikit-image computes it (RGB, grey, alpha over mid grey), in --json too" {
    /usr/bin/python3 -c "import skimage" 2>/dev/null || skip "python3-skimage is not installed"
    "$GENIMG" a.png 97 61 3 smooth 1
    "$GENIMG" g.png 97 61 1 smooth 1
    "$GENIMG" t.png 97 61 4 demo 1
    for f in a g t; do
        run -0 "$KMQ" compress -q -k 8 --format png8 $f.png -o $f.k8.png
        run -0 "$KMQ" compare $f.png $f.k8.png
        got=$(sed -n 's/.* SSIM \([0-9.]*\)$/\1/p' <<<"$output")
        run -0 "$KMQ" compare --json $f.png $f.k8.png
        json=$(/usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])['ssim'])" "$output")
        /usr/bin/python3 - "$f.png" "$f.k8.png" "$got" "$json" <<'PY'
import sys
import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity
def view(p):  # grey as RGB (three equal channels: the same SSIM); alpha over mid grey
    im = Image.open(p)
    alpha = "A" in im.getbands() or "transparency" in im.info
    x = np.asarray(im.convert("RGBA" if alpha else "RGB"), dtype=np.float64)
    if alpha:
        a = x[:, :, 3:]
        return (x[:, :, :3] * a + 128 * (255 - a)) / 255
    return x
a, b = view(sys.argv[1]), view(sys.argv[2])
want = structural_similarity(a, b, channel_axis=2, data_range=255)
assert abs(want - float(sys.argv[3])) < 6e-5 and abs(want - float(sys.argv[4])) < 2e-6, (want, sys.argv[3:])
PY
    done
    # smaller than a 7x7 window: not defined
    "$GENIMG" s.png 6 9 3 smooth 1
    "$GENIMG" s2.png 6 9 3 demo 1
    run -0 "$KMQ" compare s.png s2.png
    [[ "$output" == *" SSIM n/a (smaller than 7x7)" ]] || { echo "$output"; false; }
    run -0 "$KMQ" compare --json s.png s2.png
    [[ "$output" == *'"ssim": null}' ]] || { echo "$output"; false; }
}

@test "24: --quality MIN- aims as high as it goes: no 'out of reach' for a MAX nobody typed" {
    "$GENIMG" n.png 120 90 3 noisy 3
    run -0 --separate-stderr "$KMQ" compress --quality 20- --format png8 n.png -o out.png
    [[ "$stderr" != *"out of reach"* && "$stderr" != *"200"* ]] || { echo "$stderr"; false; }
    [ -f out.png ]
}

@test "24: --json of a file below the --quality minimum carries quality_min and quality_max, as a written one does" {
    "$GENIMG" n.png 120 90 3 noisy 3
    run -99 --separate-stderr "$KMQ" compress --json --quality 65-80 --format png8 n.png -o out.png
    [[ "$output" == *'"status": "skipped"'*'"quality_min": 65, "quality_max": 80, "quality_reached": false}' ]] || { echo "$output"; false; }
    [ ! -e out.png ]
}
