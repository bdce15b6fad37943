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
    run -0 env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" timeout 30 strace -f -o /dev/null -e inject=%fstat:delay_exit=300000 \
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
    [ "$stderr" = 'kmq: nl\nbad.png: not a PNG, JPEG, BMP, TIFF, WebP, PNM or GIF image' ]
    "$GENIMG" "$(printf 'ok\nname.png')" 16 16 3 smooth
    run -0 --separate-stderr "$KMQ" compress -k 4 "$(printf 'ok\nname.png')"
    [ "$(grep -c . <<<"$stderr")" = 1 ] && [[ "$stderr" == 'ok\nname.png: k=4, '* ]]
}

@test "1: decompress refuses labels and a codebook from different runs; unbound labels still decode" {
    "$GENIMG" x.png 48 32 3 demo
    "$KMQ" compress -q -k 8 x.png
    cp x.codebook.bin k8.bin
    "$KMQ" compress -q -f -k 8 --seed 7 x.png --labels s7.labels.png --codebook s7.npy
    "$KMQ" compress -q -f -k 16 x.png
    run -1 --separate-stderr "$KMQ" decompress x.labels.png k8.bin -o out.png
    [[ "$stderr" == "kmq: x.labels.png and k8.bin are not a pair: the labels were written with another codebook (k=16, RGB, id "*"; this one: k=8, RGB, id "*")" ]] || { echo "$stderr"; false; }
    [ ! -e out.png ]
    # the same k and channels, other colours: still told apart (.npy too)
    run -1 --separate-stderr "$KMQ" decompress s7.labels.png k8.bin -o out.png
    [[ "$stderr" == *"are not a pair"* ]]
    run -0 "$KMQ" decompress -q s7.labels.png s7.npy -o ok.png
    # the label PNG names the codebook file's own CRC (its last 4 bytes)
    /usr/bin/python3 - <<'PY'
import struct
d = open("x.labels.png", "rb").read()
i = d.index(b"kmCp")
inner = d[i + 4:]
assert inner[4:8] == b"kmCb" and struct.unpack(">I", inner[:4])[0] == 7, inner[:8]
channels, k, ident = inner[8], struct.unpack(">H", inner[9:11])[0], inner[11:15]
cb = open("x.codebook.bin", "rb").read()
assert (channels, k) == (3, 16) and ident == cb[-4:][::-1], (channels, k, ident, cb[-4:])
PY
    # labels that name no codebook (kmq 0.1.0, other writers) decode as before
    cp x.labels.png old.labels.png
    strip_kmcp old.labels.png
    run -0 "$KMQ" decompress -q old.labels.png x.codebook.bin -o old.png
    run -0 "$KMQ" decompress -q x.labels.png x.codebook.bin -o new.png
    cmp old.png new.png
}

@test "1: a signal between the two renames of a -f run leaves the new pair complete (SIGTERM, SIGINT, SIGHUP)" {
    command -v strace >/dev/null || skip "strace not installed"
    "$GENIMG" x.png 48 32 3 demo
    "$KMQ" compress -q -k 8 x.png --labels want8.png --codebook want8.bin
    "$KMQ" decompress -q want8.png want8.bin -o want8.out.png
    "$KMQ" compress -q -k 16 x.png --labels want16.png --codebook want16.bin
    "$KMQ" decompress -q want16.png want16.bin -o want16.out.png
    for sig in TERM INT HUP; do
        "$KMQ" compress -q -f -k 8 x.png
        # the second rename (the codebook's) is held 2 s; the signal comes meanwhile
        strace_kmq -f -o /dev/null -e trace=rename -e inject=rename:delay_enter=2000000:when=2 \
            "$KMQ" compress -q -f -k 16 x.png &
        sleep 1
        pkill -$sig -f "kmq compress -q -f -k 16 x.png" -n || true
        wait || true
        run -0 "$KMQ" decompress -q -f x.labels.png x.codebook.bin -o got.png
        cmp got.png want16.out.png || cmp got.png want8.out.png
        no_temp_files .
    done
}

@test "2: with -f, a failure committing the codebook leaves the old pair as it was" {
    command -v strace >/dev/null || skip "strace not installed"
    "$GENIMG" x.png 48 32 3 demo
    "$KMQ" compress -q -k 8 x.png
    cp x.labels.png old.labels.png && cp x.codebook.bin old.codebook.bin
    run -1 --separate-stderr strace_kmq -f -o /dev/null -e inject=rename:error=EIO:when=2 \
        "$KMQ" compress -q -f -k 16 x.png
    [[ "$stderr" == *"kmq: x.codebook.bin: Input/output error"* ]] || { echo "$stderr"; false; }
    cmp x.labels.png old.labels.png
    cmp x.codebook.bin old.codebook.bin
    no_temp_files .
    # a failure before any rename: the same
    run -1 --separate-stderr strace_kmq -f -o /dev/null -e inject=rename:error=EIO:when=1 \
        "$KMQ" compress -q -f -k 16 x.png
    cmp x.labels.png old.labels.png && cmp x.codebook.bin old.codebook.bin
    no_temp_files .
}

@test "1: --skip-existing redoes a pair that is not one, and keeps one that is" {
    "$GENIMG" x.png 48 32 3 demo
    "$KMQ" compress -q -k 8 x.png
    cp x.codebook.bin k8.bin
    "$KMQ" compress -q -f -k 16 x.png
    cp k8.bin x.codebook.bin # a mixed pair, as an interrupted run left it
    run -0 --separate-stderr "$KMQ" compress --skip-existing -k 16 x.png
    [[ "$stderr" == *"x.png: x.labels.png and x.codebook.bin are not a pair: compressing again"* ]] || { echo "$stderr"; false; }
    run -0 "$KMQ" decompress -q x.labels.png x.codebook.bin -o ok.png
    before=$(stat -c %Y.%i x.labels.png)
    run -0 --separate-stderr "$KMQ" compress --skip-existing --json -k 16 x.png
    [ "$(stat -c %Y.%i x.labels.png)" = "$before" ]
    # 10: a skipped file has its JSON line too
    [ "$output" = '{"input": "x.png", "status": "skipped", "reason": "the outputs exist (--skip-existing)"}' ]
}

@test "1: two runs writing the same pair at once never leave a pair that decodes to anything but one run's output" {
    "$GENIMG" x.png 96 64 3 demo
    for k in 8 16; do
        "$KMQ" compress -q -k $k x.png --labels w$k.png --codebook w$k.bin
        "$KMQ" decompress -q w$k.png w$k.bin -o w$k.out.png
    done
    mixed=0 refused=0
    for mode in -f --skip-existing ""; do
        for i in $(seq 1 17); do
            rm -f x.labels.png x.codebook.bin
            [ "$mode" = --skip-existing ] && [ $((i % 2)) = 0 ] && cp w8.png x.labels.png && cp w16.bin x.codebook.bin
            "$KMQ" compress -q $mode -k 8 x.png 2>/dev/null &
            "$KMQ" compress -q $mode -k 16 x.png 2>/dev/null &
            wait || true
            if "$KMQ" decompress -q -f x.labels.png x.codebook.bin -o got.png 2>/dev/null; then
                cmp -s got.png w8.out.png || cmp -s got.png w16.out.png || mixed=$((mixed + 1))
            else
                refused=$((refused + 1))
            fi
        done
    done
    echo "51 pairs of runs: $mixed decoded to a mixture, $refused pairs refused by decompress"
    [ "$mixed" = 0 ]
    no_temp_files .
}

# oob.png: a palette PNG of 2 entries whose pixels use indices 0..15 (legal
# to write, beyond the PLTE to read); full.png: a 256-entry palette PNG.
make_palette_pngs() {
    /usr/bin/python3 - <<'PY'
import struct, zlib
def png(path, w, h, plte, rows):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    raw = b"".join(b"\0" + bytes(r) for r in rows)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
                           + chunk(b"PLTE", bytes(plte)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
png("full.png", 16, 16, [(i * 7 + c * 50) % 256 for i in range(256) for c in range(3)],
    [[(x + 16 * y) % 256 for x in range(16)] for y in range(16)])
png("oob.png", 16, 16, [200, 10, 10, 10, 200, 10], [[(x + y) % 16 for x in range(16)] for y in range(16)])
PY
}

@test "4: palette indices beyond the PLTE decode the same every time (opaque black), whatever ran before" {
    make_palette_pngs
    mkdir a b
    cp full.png a/1full.png && cp oob.png a/2oob.png && cp full.png a/3full.png && cp oob.png a/4oob.png
    cp a/* b/
    "$KMQ" compress -q -k 16 -j 1 --format png8 a/*.png
    "$KMQ" compress -q -k 16 -j 2 --format png8 b/*.png
    for f in 2oob 4oob 1full; do cmp a/$f.png8.png b/$f.png8.png; done
    cmp a/2oob.png8.png a/4oob.png8.png
    # what the pixels are: entries 0 and 1, and black for 2..15
    "$KMQ" compress -q -k 3 oob.png --format png8 -o oob.p8.png
    "$KMQ" decompress -q oob.p8.png -o oob.out.png
    /usr/bin/python3 - <<'PY'
from PIL import Image
im = Image.open("oob.out.png").convert("RGB")
for y in range(16):
    for x in range(16):
        i = (x + y) % 16
        want = (200, 10, 10) if i == 0 else (10, 200, 10) if i == 1 else (0, 0, 0)
        assert im.getpixel((x, y)) == want, (x, y, im.getpixel((x, y)), want)
PY
    if command -v valgrind >/dev/null && [ -z "${KMQ_SANITIZE:-}" ]; then
        run -0 valgrind -q --error-exitcode=9 "$KMQ" compress -q -f -k 4 oob.png --format png8 -o v.png
    fi
}

@test "5, 6: BMPs: top-down and V5-with-gap accepted; truncated and small-file-huge-image refused before decoding" {
    /usr/bin/python3 - <<'PY'
import struct
import numpy as np
from PIL import Image
w, h = 16, 12  # 192 colours: k = 256 is lossless
a = np.zeros((h, w, 3), np.uint8)
a[..., 0] = np.arange(w)[None, :] * 10
a[..., 1] = np.arange(h)[:, None] * 15
a[..., 2] = 77
Image.fromarray(a).save("ref.png")
bgr = a[..., ::-1]
row = (w * 3 + 3) // 4 * 4
def rows(order):
    return b"".join(bgr[y].tobytes() + b"\0" * (row - w * 3) for y in order)
def bmp(path, hsz, height, pixels, gap=0, extra=b""):
    info = struct.pack("<IiiHHIIiiII", hsz, w, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    info += b"\0" * (hsz - 40)
    off = 14 + hsz + gap
    open(path, "wb").write(b"BM" + struct.pack("<IHHI", off + len(pixels), 0, 0, off) + info
                           + b"\0" * gap + pixels + extra)
bmp("topdown.bmp", 40, -h, rows(range(h)))
bmp("bottomup.bmp", 40, h, rows(range(h - 1, -1, -1)))
bmp("v5gap.bmp", 124, h, rows(range(h - 1, -1, -1)), gap=16)
bmp("truncated.bmp", 40, h, rows(range(h - 1, -1, -1))[: row * h // 2])
info = struct.pack("<IiiHHIIiiII", 40, 15000, 15000, 1, 24, 0, 0, 2835, 2835, 0, 0)
open("huge.bmp", "wb").write(b"BM" + struct.pack("<IHHI", 54, 0, 0, 54) + info)
PY
    for f in topdown bottomup v5gap; do
        run -0 "$KMQ" compress -q -k 256 $f.bmp --format png8 -o $f.p8.png
        "$KMQ" decompress -q $f.p8.png -o $f.out.png
        [ "$(psnr_of ref.png $f.out.png)" = inf ] || { echo "$f: $(psnr_of ref.png $f.out.png)"; false; }
    done
    run -1 --separate-stderr "$KMQ" compress truncated.bmp
    [ "$stderr" = "kmq: truncated.bmp: truncated BMP: the file holds fewer pixel bytes than its header's size needs" ]
    run -1 --separate-stderr /usr/bin/time -f "%M" "$KMQ" compress huge.bmp
    [[ "$stderr" == "kmq: huge.bmp: truncated BMP: "* ]]
    [ "$(tail -1 <<<"$stderr")" -lt 100000 ] # kB of peak memory: refused before any pixel
    [ ! -e truncated.labels.png ] && [ ! -e huge.labels.png ]
}

@test "5: a small JPEG whose header claims a huge image is refused before decoding" {
    "$GENIMG" x.png 64 48 3 demo
    /usr/bin/python3 - <<'PY'
from PIL import Image
Image.open("x.png").save("x.jpg", quality=90)
d = bytearray(open("x.jpg", "rb").read())
i = d.index(b"\xff\xc0")                # SOF0: length, precision, height, width
d[i + 5:i + 7] = (15000).to_bytes(2, "big")
d[i + 7:i + 9] = (15000).to_bytes(2, "big")
open("huge.jpg", "wb").write(d)
PY
    run -1 --separate-stderr /usr/bin/time -f "%M" "$KMQ" compress huge.jpg
    [[ "$stderr" == "kmq: huge.jpg: truncated or corrupt JPEG: too little data for the size its header claims"* ]] || { echo "$stderr"; false; }
    [ "$(tail -1 <<<"$stderr")" -lt 100000 ]
    run -0 "$KMQ" compress -q x.jpg # the honest one is fine
}

@test "5b: a JPEG needs a bit of entropy-coded data for every block of every component, not of the first alone" {
    # libjpeg spends 2 bits a block on a flat image. A cut to 45 % of its
    # data passed when only the first component's blocks were counted
    # against the whole file's length, and stb filled the rest with grey
    # (a 524 KB cut of a 16384x16384 RGB one: 3.2 GB, 11 s, exit 0); so did
    # a cut to a third with 60 KB of APP15 padding.
    /usr/bin/python3 - <<'PY'
from PIL import Image
Image.new("RGB", (2000, 2000), (120, 130, 140)).save("flat.jpg", quality=90, progressive=True,
                                                      subsampling=0)
d = open("flat.jpg", "rb").read()
sos = d.index(b"\xff\xda")
open("cut.jpg", "wb").write(d[:sos + int((len(d) - sos) * 0.45)] + b"\xff\xd9")
app15 = b"\xff\xef\xff\xff" + bytes(65533)   # the longest segment
open("padded.jpg", "wb").write(d[:2] + app15 + d[2:sos + (len(d) - sos) // 3] + b"\xff\xd9")
PY
    run -0 "$KMQ" compress -q -k 2 flat.jpg
    for f in cut padded; do
        run -1 --separate-stderr /usr/bin/time -f "%M" "$KMQ" compress -k 2 $f.jpg
        assert_equal "$(head -1 <<<"$stderr")" \
            "kmq: $f.jpg: truncated or corrupt JPEG: too little data for the size its header claims"
        [ "$(tail -1 <<<"$stderr")" -lt 100000 ]
        [ ! -e $f.labels.png ]
    done
}

@test "10: the decoder's terse codes reach the user in kmq's words" {
    /usr/bin/python3 - <<'PY'
import struct, zlib
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
good = zlib.compress(b"".join(b"\0" + bytes(24) for _ in range(8)))
open("zlib.png", "wb").write(b"\x89PNG\r\n\x1a\n" + ihdr + chunk(b"IDAT", b"\x00\x01garbage!") + chunk(b"IEND", b""))
open("short.png", "wb").write(b"\x89PNG\r\n\x1a\n" + ihdr + chunk(b"IDAT", good[: len(good) // 2]) + chunk(b"IEND", b""))
rows = b"".join(b"\0" + bytes((x * 7 + y) % 4 for x in range(64)) for y in range(64))
open("palette.png", "wb").write(b"\x89PNG\r\n\x1a\n"
    + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 3, 0, 0, 0)) + chunk(b"PLTE", bytes(range(12)))
    + chunk(b"IDAT", zlib.compress(rows, 9)[:-20]) + chunk(b"IEND", b""))
PY
    run -1 --separate-stderr "$KMQ" compress zlib.png
    [ "$stderr" = "kmq: zlib.png: corrupt PNG (the decoder stopped at: bad zlib header)" ] || { echo "$stderr"; false; }
    run -1 --separate-stderr "$KMQ" compress short.png
    [[ "$stderr" == "kmq: short.png: corrupt PNG: "* ]] || { echo "$stderr"; false; }
    # a palette PNG (libspng) says it as the row reader does (was libspng's bare words)
    for args in "" "--stream"; do
        run -1 --separate-stderr "$KMQ" compress $args palette.png
        [ "$stderr" = "kmq: palette.png: corrupt PNG: IDAT stream too short" ] || { echo "$args: $stderr"; false; }
    done
}

@test "3: a -j worker killed as the OOM killer would: that file fails, the run goes on and ends" {
    mkdir d
    for i in 1 2 3 4; do "$GENIMG" d/i$i.png 700 700 3 demo $i; done
    "$KMQ" compress -k 256 -j 2 -r d --json > report.jsonl 2> err.txt &
    pid=$!
    # the first worker to appear is killed with SIGKILL
    for t in $(seq 1 100); do
        worker=$(pgrep -P $pid | head -1)
        [ -n "$worker" ] && break
        sleep 0.05
    done
    [ -n "$worker" ]
    kill -KILL "$worker"
    status=0
    timeout 120 tail --pid=$pid -f /dev/null || status=$?
    [ "$status" = 0 ] # the run ended
    wait $pid || status=$?
    [ "$status" = 1 ]
    grep -q "4 files: 3 compressed, 0 skipped, 1 failed" err.txt || { cat err.txt; false; }
    grep -q "^kmq: d/i[0-9].png: the process compressing it died (signal 9)$" err.txt
    /usr/bin/python3 - <<'PY'
import json
lines = [json.loads(l) for l in open("report.jsonl")]
assert len(lines) == 4, lines
assert sorted(l["status"] for l in lines) == ["error", "ok", "ok", "ok"], lines
PY
    [ "$(ls d/*.labels.png | wc -l)" = 3 ]
    no_temp_files d
}

# forge_bindings LABELS: label PNGs whose binding is damaged, misplaced or
# of the wrong size, each chunk's outer CRC made right again (as a tool
# that rewrites chunks would): b_innercrc, b_len8, b_after_idat,
# b_not_first, b_twice, b_outside, b_kmcp_crc, b_cut.
forge_bindings() {
    /usr/bin/python3 - "$1" <<'PY'
import struct, sys, zlib
def chunk(t, d, good=True):
    crc = zlib.crc32(t + d) & 0xffffffff
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", crc if good else crc ^ 1)
png = open(sys.argv[1], "rb").read()
chunks, at = [], 8
while at < len(png):
    n = struct.unpack(">I", png[at:at + 4])[0]
    chunks.append((png[at + 4:at + 8], png[at + 8:at + 8 + n]))
    at += 12 + n
names = [t for t, _ in chunks]
i = names.index(b"kmCp")
inner = chunks[i][1]
assert inner[4:8] == b"kmCb" and len(inner) >= 19
kmcb, colour = inner[:19], inner[19:]
data = kmcb[8:15]
gama = chunk(b"gAMA", struct.pack(">I", 45455))
def build(replace, where=None, extra=None):
    out = png[:8]
    for j, (t, d) in enumerate(chunks):
        if j == i:
            if replace is not None:
                out += replace
        else:
            out += chunk(t, d)
        if where is not None and t == where:
            out += extra
    return out
variants = {
    "innercrc": build(chunk(b"kmCp", kmcb[:-1] + bytes([kmcb[-1] ^ 0x55]) + colour)),
    "len8": build(chunk(b"kmCp", chunk(b"kmCb", data + b"\0") + colour)),
    "after_idat": build(None, b"IDAT", chunk(b"kmCp", inner)),
    "not_first": build(chunk(b"kmCp", gama + kmcb + colour)),
    "twice": build(chunk(b"kmCp", inner) + chunk(b"kmCp", inner)),
    "outside": build(kmcb),
    "kmcp_crc": build(chunk(b"kmCp", inner, good=False)),
    "cut": build(chunk(b"kmCp", kmcb[:15])),
}
for name, d in variants.items():
    open(f"b_{name}.png", "wb").write(d)
PY
}

@test "23: a damaged, misplaced or wrong-sized binding is refused (in memory and streamed); --ignore-binding decodes it" {
    "$GENIMG" x.png 48 32 3 demo
    "$KMQ" compress -q -k 8 x.png
    "$KMQ" decompress -q x.labels.png x.codebook.bin -o want.png
    # another image's codebook of the same k: the wrong colours if the binding were off
    "$GENIMG" y.png 48 32 3 smooth
    "$KMQ" compress -q -k 8 y.png
    forge_bindings x.labels.png
    for v in innercrc len8 after_idat not_first twice outside kmcp_crc cut; do
        for st in never always; do
            for cb in y.codebook.bin x.codebook.bin; do
                run -1 --separate-stderr "$KMQ" decompress --stream=$st b_$v.png $cb -o out.png
                [ "$stderr" = "kmq: b_$v.png: damaged codebook binding: the kmCp/kmCb chunk is damaged, misplaced or of the wrong size (--ignore-binding decodes it with $cb anyway)" ] \
                    || [ "$v $stderr" = "kmcp_crc kmq: b_kmcp_crc.png: CRC mismatch in PNG chunk kmCp" ] \
                    || { echo "$v $st $cb: $stderr"; false; }
                [ ! -e out.png ]
            done
        done
        [ "$v" = kmcp_crc ] && continue # a PNG chunk with a bad CRC is refused as such
        run -0 --separate-stderr "$KMQ" decompress --ignore-binding b_$v.png x.codebook.bin -o ok.png
        [ "${stderr_lines[0]}" = "kmq: b_$v.png: warning: damaged codebook binding; decoded with x.codebook.bin anyway (--ignore-binding)" ] || { echo "$v: $stderr"; false; }
        [ "$(maxerr_of ok.png want.png)" = 0 ] # the pixels (not_first's gAMA is carried over)
        rm ok.png
    done
    # a mismatch too, when asked
    run -0 --separate-stderr "$KMQ" decompress --ignore-binding x.labels.png y.codebook.bin -o other.png
    [ "${stderr_lines[0]}" = "kmq: x.labels.png: warning: the labels name another codebook; decoded with y.codebook.bin anyway (--ignore-binding)" ]
    # through standard input, the same refusal
    run -1 --separate-stderr "$KMQ" decompress - y.codebook.bin -o out.png < b_innercrc.png
    [[ "$stderr" == "kmq: -: damaged codebook binding"* ]] || { echo "$stderr"; false; }
}

@test "23: --skip-existing redoes a pair whose binding is damaged" {
    "$GENIMG" x.png 48 32 3 demo
    "$KMQ" compress -q -k 8 x.png
    cp x.labels.png good.png
    forge_bindings x.labels.png
    for v in innercrc len8 after_idat not_first twice; do
        cp b_$v.png x.labels.png
        run -0 --separate-stderr "$KMQ" compress --skip-existing -k 8 x.png
        [ "${stderr_lines[0]}" = "kmq: x.png: x.labels.png has a damaged codebook binding: compressing again" ] || { echo "$v: $stderr"; false; }
        cmp x.labels.png good.png
    done
    # an intact pair is kept
    before=$(stat -c %Y.%i x.labels.png)
    run -0 "$KMQ" compress --skip-existing -k 8 x.png
    [ "$(stat -c %Y.%i x.labels.png)" = "$before" ]
}
