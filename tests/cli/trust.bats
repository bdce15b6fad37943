#!/usr/bin/env bats
# Hostile input, huge images, full disks, interruptions (issue 5).
load helpers

# craft_png OUT WIDTH HEIGHT [EXTRA_ZERO_BYTES]: an RGBA PNG with valid CRCs
# whose IDAT holds one row of pixels (or, with EXTRA, the whole image plus
# EXTRA more zero bytes: a decompression bomb).
craft_png() {
    /usr/bin/python3 - "$@" <<'PY'
import struct, sys, zlib
out, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
extra = int(sys.argv[4]) if len(sys.argv) > 4 else None
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
rows = (b"\0" + b"\x80" * (4 * w)) * (h if extra is not None else 1) + b"\0" * (extra or 0)
with open(out, "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
PY
}

@test "headers that claim 100000x100000 or 60000x60000 pixels are refused before any large allocation" {
    craft_png huge.png 100000 100000
    craft_png big.png 60000 60000
    for f in huge.png big.png; do
        # 300 MB of address space: far below what decoding them would take
        # (not under ASan, which reserves terabytes of shadow memory)
        limit="ulimit -v 300000;"
        [ -z "${KMQ_SANITIZE:-}" ] || limit=
        run -1 --separate-stderr bash -c "$limit exec '$KMQ' compress --stream=never $f"
        [ "$(wc -l <<<"$stderr")" -eq 1 ]
        [[ "$stderr" == "kmq: $f: "*"larger than the pixel limit"* ]] || { echo "$stderr"; false; }
        [ ! -e "${f%.png}.labels.png" ]
        # By default an image this large is streamed (in memory bounded by its
        # width): 100000 is past PNG's dimension cap; 60000x60000 fits, and
        # one row of IDAT cannot hold it (deflate gives at most 1032 bytes a
        # byte): refused before any row is read.
        run -1 --separate-stderr bash -c "$limit exec '$KMQ' compress $f"
        [ "$(wc -l <<<"$stderr")" -eq 1 ]
        if [ $f = huge.png ]; then
            [[ "$stderr" == "kmq: $f: "*"larger than the pixel limit"* ]] || { echo "$stderr"; false; }
        else
            [ "$stderr" = "kmq: $f: truncated PNG: too little image data for the size its header claims" ] ||
                { echo "$stderr"; false; }
        fi
        [ ! -e "${f%.png}.labels.png" ] && [ ! -e "${f%.png}.codebook.bin" ]
    done
}

@test "--max-pixels sets the cap for compress and decompress" {
    "$GENIMG" in.png 20 20 3 demo
    run -1 --separate-stderr "$KMQ" compress --max-pixels 399 in.png
    [[ "$stderr" == *"larger than the pixel limit"* ]]
    run -0 "$KMQ" compress -q --max-pixels 400 in.png
    run -1 --separate-stderr "$KMQ" decompress --max-pixels 399 in.labels.png in.codebook.bin
    [[ "$stderr" == *"in.labels.png: "*"larger than the pixel limit"* ]]
    run -0 "$KMQ" decompress -q --max-pixels 400 in.labels.png in.codebook.bin
    run -2 "$KMQ" compress --max-pixels 0 in.png
    run -2 "$KMQ" compress --max-pixels 4294836226 in.png
}

@test "a small PNG whose data inflates far beyond its size is refused (stb's allocations are budgeted)" {
    # 32x32 RGBA, then 64 MB more zeros in the same zlib stream: ~64 KB file
    craft_png bomb.png 32 32 67108864
    [ "$(stat -c %s bomb.png)" -lt 100000 ]
    run -1 --separate-stderr "$KMQ" compress bomb.png
    [ "$(wc -l <<<"$stderr")" -eq 1 ]
    [[ "$stderr" == "kmq: bomb.png: "*"more memory than an image of its size"* ]] || { echo "$stderr"; false; }
    [ ! -e bomb.labels.png ]
    # the same image without the excess decodes
    craft_png fine.png 32 32 0
    run -0 "$KMQ" compress -q fine.png
}

@test "a PNG whose IDAT cannot hold its size even at deflate's best (1032:1) is refused before decoding, on every path" {
    # 16384x16384 RGBA with one row of data: 142 bytes. stb took 2.1 GB and
    # 7 s to find the data short (--stream=never), 2.1 GB when interlaced
    # (never streamed); now every path refuses it from the chunk walk.
    craft_png one_row.png 16384 16384
    /usr/bin/python3 - <<'PY'
import struct, zlib
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
def png(name, ct, interlace, row, plte=b""):
    open(name, "wb").write(b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 16384, 16384, 8, ct, 0, 0, interlace))
        + (chunk(b"PLTE", plte) if plte else b"") + chunk(b"IDAT", zlib.compress(row, 9)) + chunk(b"IEND", b""))
png("interlaced.png", 6, 1, b"\0" + b"\x80" * 4 * 2048)
png("palette.png", 3, 0, b"\0" + b"\x01" * 16384, bytes(range(6)))
# all zeros at zlib's best: 1030 bytes a byte, the most an encoder gets
png("zeros.png", 0, 0, bytes(16385 * 2048))
PY
    want="truncated PNG: too little image data for the size its header claims"
    for args in "one_row.png" "--stream=never one_row.png" "interlaced.png" "palette.png" \
                "--stream=never palette.png" "--format png8 -o p8.png interlaced.png"; do
        run -1 --separate-stderr /usr/bin/time -f "%e %M" "$KMQ" compress -k 2 $args
        f=${args##* }
        assert_equal "$(head -1 <<<"$stderr")" "kmq: $f: $want"
        read -r secs kb < <(tail -1 <<<"$stderr")
        [[ "$secs" == 0.* ]] || { echo "$args: $secs s"; false; }
        [ -n "${KMQ_SANITIZE:-}" ] || [ "$kb" -lt 50000 ] || { echo "$args: $kb kB"; false; }
        [ ! -e "${f%.png}.labels.png" ] && [ ! -e p8.png ]
    done
    # decompress reads label PNGs through the same check
    run -1 --separate-stderr "$KMQ" decompress palette.png
    [[ "$stderr" == *"$want"* ]] || { echo "$stderr"; false; }
    # an honest file at zlib's best ratio (2048 rows of zeros claimed as
    # 16384: too short) and the same zeros claimed as 2048 rows (fine)
    run -1 --separate-stderr "$KMQ" compress -k 2 zeros.png
    assert_equal "$stderr" "kmq: zeros.png: $want"
    /usr/bin/python3 -c '
import struct, zlib
d = bytearray(open("zeros.png", "rb").read())
d[20:24] = struct.pack(">I", 2048)
d[29:33] = struct.pack(">I", zlib.crc32(bytes(d[12:29])))
open("zeros2048.png", "wb").write(d)'
    run -0 "$KMQ" compress -q -k 2 zeros2048.png
}

@test "stb 2.27's JPEG Huffman overflow (fuzzing find) is refused before stb sees it" {
    # the second file ends inside the code counts, which stb reads as zeros
    for f in "$ROOT"/tests/fuzz/regressions/image/stb227-jpeg-dht-over-256-codes{,-truncated}.jpg; do
        run -1 --separate-stderr "$KMQ" compress -o x.png --format png8 "$f"
        [[ "$stderr" == *"Huffman table with more than 256 codes"* ]] || { echo "$f: $stderr"; false; }
        [ ! -e x.png ]
    done
}

# undefined_table_jpeg OUT huffman|quant: a baseline JPEG (PIL) whose scan
# names AC Huffman table 3, or whose first component names quantization
# table 3, neither of which the file defines.
undefined_table_jpeg() {
    /usr/bin/python3 - "$@" <<'PY'
import io, sys
from PIL import Image
out, what = sys.argv[1], sys.argv[2]
img = Image.new("RGB", (40, 24))
img.putdata([((x * 7) % 256, (y * 11) % 256, (x * y) % 256) for y in range(24) for x in range(40)])
buf = io.BytesIO()
img.save(buf, "JPEG", quality=90)
d = bytearray(buf.getvalue())
i = 2
while True:
    m, n = d[i + 1], d[i + 2] << 8 | d[i + 3]
    if what == "quant" and m == 0xC0:
        d[i + 4 + 6 + 2] = 3           # component 1: Tq = 3
        break
    if what == "huffman" and m == 0xDA:
        d[i + 4 + 2] = (d[i + 4 + 2] & 0xF0) | 3   # component 1: Ta = 3
        break
    i += 2 + n
open(out, "wb").write(d)
PY
}

@test "a JPEG scan using a Huffman or quantization table it never defined is refused (stb 2.27 decoded heap garbage)" {
    /usr/bin/python3 -c 'import PIL' 2>/dev/null || skip "python3-pil not installed"
    # the fuzzing find: stb read past a table left over in its allocation
    f="$ROOT/tests/fuzz/regressions/image/stb227-jpeg-undefined-huffman-table.jpg"
    run -1 --separate-stderr "$KMQ" compress -o x.png --format png8 "$f"
    [[ "$stderr" == "kmq: $f: corrupt JPEG (a scan uses a Huffman table that was never defined)" ]] || { echo "$stderr"; false; }
    [ ! -e x.png ]
    undefined_table_jpeg huff.jpg huffman
    run -1 --separate-stderr "$KMQ" compress huff.jpg
    [ "$stderr" = "kmq: huff.jpg: corrupt JPEG (a scan uses a Huffman table that was never defined)" ]
    undefined_table_jpeg quant.jpg quant
    run -1 --separate-stderr "$KMQ" compress quant.jpg
    [ "$stderr" = "kmq: quant.jpg: corrupt JPEG (a scan uses a quantization table that was never defined)" ]
    [ ! -e huff.labels.png ] && [ ! -e quant.labels.png ]
}

# start_delayed_compress ARGS...: runs kmq compress under strace, every
# fsync delayed by 3 s, so that a signal lands while its temporary files
# exist; sets KPID.  Skips when ptrace is not allowed here.
start_delayed_compress() {
    command -v strace >/dev/null || skip "strace not installed"
    strace -o /dev/null true 2>/dev/null || skip "ptrace not permitted here"
    # job control on: otherwise a background job starts with SIGINT ignored
    set -m
    # and SIGINT/SIGTERM back to their defaults: a test run started in the
    # background of a script (make test &) inherits them ignored, and kmq
    # keeps an ignored signal ignored, as nohup wants
    strace -f -qq -o /dev/null -e trace=fsync -e inject=fsync:delay_enter=3000000 \
        env --default-signal=INT,TERM "$KMQ" compress -q "$@" &
    SPID=$!
    set +m
    for _ in $(seq 100); do
        [ -n "$(find . -name '.*.kmq-*')" ] && break
        sleep 0.05
    done
    [ -n "$(find . -name '.*.kmq-*')" ] || { echo "no temporary file appeared"; false; }
    KPID=$(pgrep -P "$SPID" kmq)
}

@test "SIGINT while the outputs are being written leaves no temporary file and no output" {
    "$GENIMG" in.png 300 200 3 demo
    start_delayed_compress in.png
    kill -INT "$KPID"
    wait "$SPID" || true
    no_temp_files .
    [ ! -e in.labels.png ] && [ ! -e in.codebook.bin ]
    # and without the signal the same run writes both (its messages are
    # shown if it fails)
    "$KMQ" compress -q in.png
    [ -s in.labels.png ] && [ -s in.codebook.bin ]
}

@test "SIGTERM during a forced overwrite leaves the existing outputs as they were" {
    "$GENIMG" in.png 300 200 3 demo
    echo old labels >in.labels.png
    echo old codebook >in.codebook.bin
    start_delayed_compress -f in.png
    kill -TERM "$KPID"
    wait "$SPID" || true
    no_temp_files .
    [ "$(cat in.labels.png)" = "old labels" ] && [ "$(cat in.codebook.bin)" = "old codebook" ]
}

@test "a full file system (small tmpfs): exit 1, No space left on device, no partial output, old file kept" {
    [ "$(id -u)" = 0 ] || skip "mounting a tmpfs needs root"
    mkdir small
    mount -t tmpfs -o size=64k tmpfs small 2>/dev/null || skip "cannot mount a tmpfs here"
    "$GENIMG" in.png 400 300 3 noise
    echo old >small/in.codebook.bin
    run -1 --separate-stderr "$KMQ" compress -f -k 256 --labels small/in.labels.png --codebook small/in.codebook.bin in.png
    ls -la small >&3 || true
    files=$(ls -A small)
    umount small
    [ "$(wc -l <<<"$stderr")" -eq 1 ]
    [[ "$stderr" == "kmq: small/in."*": No space left on device"* ]] || { echo "$stderr"; false; }
    [ "$files" = "in.codebook.bin" ] || { echo "left: $files"; false; }
}

@test "valgrind: compress and decompress (labels and PNG8) leak nothing and touch no bad memory" {
    command -v valgrind >/dev/null || skip "valgrind not installed"
    [ -z "${KMQ_SANITIZE:-}" ] || skip "valgrind does not run ASan builds"
    "$GENIMG" in.png 48 40 4 demo
    vg=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=9)
    run -0 "${vg[@]}" "$KMQ" compress -q -t 1 -k 12 in.png
    run -0 "${vg[@]}" "$KMQ" decompress -q in.labels.png in.codebook.bin
    run -0 "${vg[@]}" "$KMQ" compress -q -t 1 -k 12 -z --format png8 in.png
    run -0 "${vg[@]}" "$KMQ" decompress -q -o p.png in.png8.png
    run -2 "${vg[@]}" "$KMQ" compress -q -t 1 -k 300 in.png
}

@test "inputs that never end (/dev/zero as labels, codebook or standard input) are refused, not read forever" {
    "$GENIMG" in.png 10 10 3 demo
    run -0 "$KMQ" compress -q -k 4 in.png
    run -1 --separate-stderr timeout 60 "$KMQ" decompress -o o.png in.labels.png /dev/zero
    [[ "$stderr" == "kmq: /dev/zero: "*"too large"* ]]
    run -1 --separate-stderr timeout 60 "$KMQ" decompress --max-pixels 1000 -o o.png /dev/zero in.codebook.bin
    [[ "$stderr" == "kmq: /dev/zero: "*"too large"* ]]
    run -1 --separate-stderr bash -c "timeout 60 '$KMQ' compress --max-pixels 1000 --labels a.png --codebook b.bin - </dev/zero"
    [[ "$stderr" == "kmq: standard input: "*"too large"* ]]
    [ ! -e o.png ] && [ ! -e a.png ]
}
