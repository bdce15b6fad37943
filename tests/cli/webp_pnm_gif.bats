#!/usr/bin/env bats
# Input formats WebP, Netpbm (PNM/PAM) and GIF: files written by PIL and by
# ImageMagick decode to the pixels of the PNG they came from (or, for lossy
# WebP, to libwebp's own decode), corrupt files fail cleanly.
load helpers

PY=/usr/bin/python3
IM=/usr/bin/convert

need_py() { $PY -c 'import PIL, numpy' 2>/dev/null || skip "python3-pil or python3-numpy not installed"; }
need_im() { [ -x $IM ] || skip "ImageMagick not installed"; }

# smooth NAME W H C: a smooth PNG with C channels (3 or 4; alpha varies,
# with some fully transparent pixels) written by PIL
smooth() {
    $PY - "$@" <<'PY'
import sys
import numpy as np
from PIL import Image
name, w, h, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
y, x = np.mgrid[0:h, 0:w]
px = np.stack([(x * 255 // max(w - 1, 1)), (y * 255 // max(h - 1, 1)),
               ((x + y) * 3) % 256, (x * 7 + y * 5) % 256], axis=2).astype(np.uint8)
px[..., 3][(x + y) % 11 == 0] = 0
Image.fromarray(px[..., :c]).save(name)
PY
}

# same_outputs A B: kmq compress of A and of B write identical label PNGs and codebooks
same_outputs() {
    run -0 "$KMQ" compress -q -f -k 16 --labels a.labels.png --codebook a.cb.bin "$1"
    run -0 "$KMQ" compress -q -f -k 16 --labels b.labels.png --codebook b.cb.bin "$2"
    cmp a.labels.png b.labels.png
    cmp a.cb.bin b.cb.bin
}

# same_pixels A B: kmq decodes both to the same pixels (imgcmp: same size and channels, maxerr 0)
same_pixels() {
    run -0 "$IMGCMP" "$1" "$2"
    assert_output --partial "maxerr 0"
}

# raw_equals_pil FILE [MODE]: kmq's decoded samples equal PIL's decode of FILE
raw_equals_pil() {
    "$IMGCMP" raw "$1" >"$1.kmq.raw"
    $PY - "$1" "${2:-}" <<'PY'
import sys
import numpy as np
from PIL import Image
f, mode = sys.argv[1], sys.argv[2]
im = Image.open(f)
if mode:
    im = im.convert(mode)
want = np.asarray(im).tobytes()
got = open(f + ".kmq.raw", "rb").read()
assert got == want, (f, len(got), len(want))
PY
}

@test "WebP lossless RGB and RGBA (PIL and ImageMagick) decode to exactly the PNG's pixels" {
    need_py
    need_im
    smooth rgb.png 67 45 3
    smooth rgba.png 67 45 4
    $PY -c '
from PIL import Image
Image.open("rgb.png").save("rgb.pil.webp", lossless=True)
Image.open("rgba.png").save("rgba.pil.webp", lossless=True, exact=True)'
    $IM rgb.png -define webp:lossless=true rgb.im.webp
    $IM rgba.png -define webp:lossless=true rgba.im.webp
    for f in rgb.pil rgb.im rgba.pil; do
        run -0 "$IMGCMP" info $f.webp
        want=3
        [[ $f == rgba* ]] && want=4
        [ "$(echo "$output" | awk '{print $3}')" = $want ]
        same_pixels "${f%.*}.png" $f.webp
        same_outputs "${f%.*}.png" $f.webp
    done
    # ImageMagick 6.9 ignores webp:exact: libwebp then rewrites the RGB of
    # fully transparent pixels, so only the visible ones are compared (and
    # all of them with PIL's decode of the same file)
    raw_equals_pil rgba.im.webp RGBA
    $PY -c '
import numpy as np
from PIL import Image
a = np.asarray(Image.open("rgba.png"))
b = np.frombuffer(open("rgba.im.webp.kmq.raw", "rb").read(), np.uint8).reshape(a.shape)
seen = a[..., 3] > 0
assert (a[..., 3] == b[..., 3]).all() and (a[seen] == b[seen]).all()'
}

@test "WebP lossy decodes like libwebp's own tools (dwebp, PIL) and stays close to the source" {
    need_py
    need_im
    command -v dwebp >/dev/null || skip "webp tools not installed"
    smooth src.png 96 64 3
    smooth srca.png 96 64 4
    $PY -c '
from PIL import Image
Image.open("src.png").save("pil.webp", quality=95)
Image.open("srca.png").save("pila.webp", quality=95)'
    $IM src.png -quality 95 im.webp
    for f in pil im; do
        run -0 "$IMGCMP" src.png $f.webp
        psnr=$(echo "$output" | awk '{print $4}')
        awk -v p="$psnr" 'BEGIN { exit !(p > 30) }' || { echo "$f: PSNR $psnr"; false; }
        raw_equals_pil $f.webp RGB
        # dwebp's PPM holds the same samples
        dwebp -quiet $f.webp -ppm -o $f.dwebp.ppm
        same_pixels $f.webp $f.dwebp.ppm
    done
    run -0 "$IMGCMP" info pila.webp
    [ "$(echo "$output" | awk '{print $3}')" = 4 ]
    raw_equals_pil pila.webp RGBA
    dwebp -quiet pila.webp -pam -o pila.dwebp.pam
    same_pixels pila.webp pila.dwebp.pam
}

@test "PNM P5/P6 8-bit (PIL and ImageMagick) and PAM decode to exactly the PNG's pixels" {
    need_py
    need_im
    smooth rgb.png 61 43 3
    smooth rgba.png 61 43 4
    $PY -c '
from PIL import Image
Image.open("rgb.png").save("pil.ppm")
Image.open("rgb.png").convert("L").save("pil.pgm")
Image.open("rgb.png").convert("L").save("grey.png")'
    $IM rgb.png im.ppm
    $IM grey.png -depth 8 im.pgm
    $IM rgba.png im.pam
    same_pixels rgb.png pil.ppm
    same_pixels rgb.png im.ppm
    same_pixels grey.png pil.pgm
    same_pixels grey.png im.pgm
    same_pixels rgba.png im.pam
    same_outputs rgb.png im.ppm
    same_outputs rgba.png im.pam
    run -0 "$IMGCMP" info pil.pgm
    [ "$(echo "$output" | awk '{print $3}')" = 1 ]
}

@test "16-bit PNM and 16-bit PNG of the same pixels give identical 8-bit pixels (all decoders agree on 16 -> 8)" {
    need_py
    need_im
    $PY -c 'import cv2' 2>/dev/null || skip "python3-opencv not installed"
    $PY - <<'PY'
import cv2
import numpy as np
rng = np.random.default_rng(7)
rgb = rng.integers(0, 65536, (23, 31, 3), dtype=np.uint16)
grey = rng.integers(0, 65536, (23, 31), dtype=np.uint16)
cv2.imwrite("rgb16.png", rgb[..., ::-1])        # OpenCV writes BGR
cv2.imwrite("grey16.png", grey)
def pnm(name, magic, a):
    h, w = a.shape[:2]
    open(name, "wb").write(b"%s\n# 16-bit\n%d %d\n65535\n" % (magic, w, h) + a.astype(">u2").tobytes())
pnm("rgb16.ppm", b"P6", rgb)
pnm("grey16.pgm", b"P5", grey)
# the expected 8-bit samples: the high byte
open("rgb16.want", "wb").write((rgb >> 8).astype(np.uint8).tobytes())
open("grey16.want", "wb").write((grey >> 8).astype(np.uint8).tobytes())
PY
    $IM rgb16.png im16.ppm
    head -c 30 im16.ppm | grep -aq 65535
    same_pixels rgb16.png rgb16.ppm
    same_pixels rgb16.png im16.ppm
    same_pixels grey16.png grey16.pgm
    "$IMGCMP" raw rgb16.ppm | cmp - rgb16.want
    "$IMGCMP" raw grey16.pgm | cmp - grey16.want
    "$IMGCMP" raw rgb16.png | cmp - rgb16.want
    same_outputs rgb16.png rgb16.ppm
}

@test "PNM: maxval other than 255 and 65535 is scaled by round(v * 255 / maxval); plain P1-P3 and P4" {
    need_py
    $PY - <<'PY'
import numpy as np
rng = np.random.default_rng(3)
for maxval in (1, 15, 100, 1000, 40000):
    a = rng.integers(0, maxval + 1, (9, 14, 3))
    raw = a.astype(">u2" if maxval > 255 else "u1").tobytes()
    open(f"m{maxval}.ppm", "wb").write(b"P6 14 9 %d\n" % maxval + raw)
    txt = "\n".join(" ".join(str(v) for v in row) for row in a.reshape(9, -1))
    open(f"m{maxval}.plain.ppm", "w").write(f"P3\n# plain\n14 9\n{maxval}\n{txt}\n")
    want = (a * 255 * 2 + maxval) // (2 * maxval)   # round half up
    open(f"m{maxval}.want", "wb").write(want.astype(np.uint8).tobytes())
bits = rng.integers(0, 2, (5, 11))
open("b.pbm", "wb").write(b"P4\n11 5\n" + np.packbits(bits, axis=1).tobytes())
open("b.plain.pbm", "w").write("P1\n11 5\n" + "\n".join("".join(str(v) for v in r) for r in bits) + "\n")
open("b.want", "wb").write(np.where(bits == 1, 0, 255).astype(np.uint8).tobytes())
PY
    for m in 1 15 100 1000 40000; do
        "$IMGCMP" raw m$m.ppm | cmp - m$m.want
        "$IMGCMP" raw m$m.plain.ppm | cmp - m$m.want
    done
    "$IMGCMP" raw b.pbm | cmp - b.want
    "$IMGCMP" raw b.plain.pbm | cmp - b.want
}

@test "PNM: a comment right after the magic number (P1-P7, as netpbm reads it), whole and --stream" {
    need_py
    command -v pamtopng >/dev/null || skip "netpbm not installed"
    $PY - <<'PY'
import numpy as np
rng = np.random.default_rng(23)
h, w = 7, 13
bits = rng.integers(0, 2, (h, w))
grey = rng.integers(0, 256, (h, w))
rgb = rng.integers(0, 256, (h, w, 3))
rgba = rng.integers(0, 256, (h, w, 4))
def plain(a):
    return "\n".join(" ".join(str(v) for v in row) for row in a.reshape(h, -1)).encode() + b"\n"
head = b"#c\n%d %d\n" % (w, h)
files = {
    "p1.pbm": b"P1" + head + plain(bits),
    "p2.pgm": b"P2" + head + b"255\n" + plain(grey),
    "p3.ppm": b"P3" + head + b"255\n" + plain(rgb),
    "p4.pbm": b"P4" + head + np.packbits(bits, axis=1).tobytes(),
    "p5.pgm": b"P5" + head + b"255\n" + grey.astype(np.uint8).tobytes(),
    "p6.ppm": b"P6" + head + b"255\n" + rgb.astype(np.uint8).tobytes(),
    "p7.pam": b"P7#c\nWIDTH %d\nHEIGHT %d\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n" % (w, h)
              + rgba.astype(np.uint8).tobytes(),
}
for name, data in files.items():
    open(name, "wb").write(data)
PY
    for f in p1.pbm p2.pgm p3.ppm p4.pbm p5.pgm p6.ppm p7.pam; do
        head -c 4 $f | grep -q '^P[1-7]#c$' || { echo "$f: $(head -c 4 $f)"; false; }
        pamtopng $f >$f.png # netpbm's reading of it, as a PNG
        "$IMGCMP" raw $f.png >want.raw
        "$IMGCMP" raw $f | cmp - want.raw || { echo "$f decodes otherwise than netpbm reads it"; false; }
        run -0 "$KMQ" compress -q -f -k 16 --labels a.png --codebook a.bin $f.png
        for s in never always; do
            run -0 "$KMQ" compress -q -f --json --stream=$s -k 16 --labels b.png --codebook b.bin $f
            [[ "$output" == *"\"streamed\": $([ $s = always ] && echo true || echo false)"* ]] || { echo "$f: $output"; false; }
            cmp a.png b.png && cmp a.bin b.bin
        done
        # from a pipe: copied, then streamed
        run -0 bash -c "'$KMQ' compress -q -f --stream -k 16 --labels c.png --codebook c.bin - <$f"
        cmp a.png c.png && cmp a.bin c.bin
    done
}

@test "netpbm pipeline: pngtopnm x.png | kmq compress - gives what compressing x.png gives" {
    command -v pngtopnm >/dev/null || skip "netpbm not installed"
    "$GENIMG" x.png 57 41 3 smooth
    pngtopnm x.png | "$KMQ" compress -q -k 12 --labels a.png --codebook a.bin -
    [ "$?" = 0 ]
    run -0 "$KMQ" compress -q -k 12 --labels b.png --codebook b.bin x.png
    cmp a.png b.png
    cmp a.bin b.bin
    # and a grey one through pgm
    "$GENIMG" g.png 33 29 1 smooth
    pngtopnm g.png | "$KMQ" compress -q -k 6 --labels ga.png --codebook ga.bin -
    run -0 "$KMQ" compress -q -k 6 --labels gb.png --codebook gb.bin g.png
    cmp ga.png gb.png
    cmp ga.bin gb.bin
}

@test "GIF static and interlaced (PIL and ImageMagick) decode to PIL's pixels" {
    need_py
    need_im
    smooth src.png 50 37 3
    $PY -c '
from PIL import Image
im = Image.open("src.png").quantize(64)
im.save("pil.gif", interlace=False)
im.save("pili.gif", interlace=True)'
    $IM src.png -colors 64 -interlace none im.gif
    $IM src.png -colors 64 -interlace GIF imi.gif
    for f in pil pili im imi; do
        run -0 "$IMGCMP" info $f.gif
        [ "$(echo "$output" | awk '{print $1, $2, $3}')" = "50 37 3" ]
        raw_equals_pil $f.gif RGB
    done
    # the interlaced and plain files hold the same pixels
    same_pixels pil.gif pili.gif
    same_pixels im.gif imi.gif
    # interlaced really is interlaced (image descriptor flag 0x40)
    $PY - <<'PY'
def interlaced(f):
    d = open(f, "rb").read()
    at = 13 + (3 << ((d[10] & 7) + 1) if d[10] & 0x80 else 0)
    while d[at] == 0x21:                  # extensions: label, then sub-blocks
        at += 2
        while d[at]:
            at += d[at] + 1
        at += 1
    assert d[at] == 0x2C, f
    return bool(d[at + 9] & 0x40)
for f, want in (("pili.gif", True), ("imi.gif", True), ("pil.gif", False), ("im.gif", False)):
    assert interlaced(f) == want, f
PY
}

@test "GIF with a transparent index: RGBA, alpha 0 exactly there, colours as PIL gives them" {
    need_py
    need_im
    $PY - <<'PY'
import numpy as np
from PIL import Image
y, x = np.mgrid[0:30, 0:40]
idx = ((x // 5 + y // 5) % 8).astype(np.uint8)
im = Image.fromarray(idx, "P")
im.putpalette([v for i in range(8) for v in (i * 30, 255 - i * 30, i * 10)])
im.save("t.gif", transparency=3)
im.save("o.gif")
PY
    run -0 "$IMGCMP" info t.gif
    [ "$(echo "$output" | awk '{print $3}')" = 4 ]
    raw_equals_pil t.gif RGBA
    run -0 "$IMGCMP" info o.gif
    [ "$(echo "$output" | awk '{print $3}')" = 3 ]
    raw_equals_pil o.gif RGB
    # ImageMagick's transparent GIF: alpha 0 where the PNG's alpha is 0
    smooth a.png 40 30 4
    $IM a.png -channel A -threshold 50% +channel -colors 32 im.gif
    run -0 "$IMGCMP" info im.gif
    [ "$(echo "$output" | awk '{print $3}')" = 4 ]
    raw_equals_pil im.gif RGBA
}

@test "GIF: a frame smaller than the screen sits at its offset; the rest is background or transparent" {
    need_py
    $PY - <<'PY'
import struct
def gif(name, trans):
    # 6x4 screen, global table of 4 colours, background index 2; a 2x2 frame at (3, 1)
    out = b"GIF89a" + struct.pack("<HHBBB", 6, 4, 0x81, 2, 0)
    out += bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9])
    if trans:
        out += b"\x21\xf9\x04\x01\x00\x00\x01\x00"   # transparent index 1
    out += b"\x2c" + struct.pack("<HHHHB", 3, 1, 2, 2, 0)
    # LZW, code size 2: clear(4), 0, 1, 1, 3 (as 9-bit-free 3-bit codes), end(5)
    codes, bits, acc, n = [4, 0, 1, 1, 3, 5], 3, 0, 0
    for i, c in enumerate(codes):
        acc |= c << n
        n += bits if i < 4 else 4   # 8 entries fill after the 4th code: 4-bit codes
    data = acc.to_bytes((n + 7) // 8, "little")
    out += b"\x02" + bytes([len(data)]) + data + b"\x00\x3b"
    open(name, "wb").write(out)
gif("bg.gif", False)
gif("tr.gif", True)
PY
    "$IMGCMP" raw bg.gif | od -An -v -tu1 | tr -s ' \n' ' ' >bg.txt
    # row 0 all background (blue); row 1: bg bg bg red green bg
    bgrow="0 0 255 0 0 255 0 0 255 0 0 255 0 0 255 0 0 255"
    [ "$(cut -d' ' -f2-19 bg.txt)" = "$bgrow" ]
    [ "$(cut -d' ' -f20-37 bg.txt)" = "0 0 255 0 0 255 0 0 255 255 0 0 0 255 0 0 0 255" ]
    [ "$(cut -d' ' -f38-55 bg.txt)" = "0 0 255 0 0 255 0 0 255 0 255 0 9 9 9 0 0 255" ]
    "$IMGCMP" raw tr.gif | od -An -v -tu1 | tr -s ' \n' ' ' >tr.txt
    # outside the frame: the transparent index (green), alpha 0
    [ "$(cut -d' ' -f2-5 tr.txt)" = "0 255 0 0" ]
    [ "$(cut -d' ' -f$((2 + 4 * 9))-$((1 + 4 * 11)) tr.txt)" = "255 0 0 255 0 255 0 0" ]
}

@test "animated GIF: the first frame, and one warning" {
    need_py
    $PY - <<'PY'
from PIL import Image
frames = [Image.new("RGB", (20, 10), c) for c in ((200, 10, 10), (10, 200, 10), (10, 10, 200))]
frames[0].save("anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
frames[0].save("first.png")
PY
    run -0 --separate-stderr "$KMQ" compress -f -k 2 --labels l.png --codebook c.bin anim.gif
    # one warning, naming the file (the other line is the summary)
    assert_equal "$(grep -c warning <<<"$stderr")" 1
    grep -q 'anim.gif: warning: animated GIF: only the first frame is used' <<<"$stderr"
    same_pixels first.png anim.gif
    run -0 --separate-stderr "$KMQ" compress -q -f -k 2 --labels l.png --codebook c.bin anim.gif
    [ -z "$stderr" ]
}

# flat_webp OUT W H: a lossless WebP of one colour, 34 bytes whatever its size
# (each of its five prefix codes holds one symbol: no bits per pixel)
flat_webp() {
    $PY - "$@" <<'PY'
import struct, sys
out, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
bits = []
def put(v, n):
    bits.extend((v >> i) & 1 for i in range(n))
put(0x2F, 8), put(w - 1, 14), put(h - 1, 14), put(0, 1), put(0, 3)
put(0, 3)                                  # no transform, no colour cache, no meta codes
for sym in (200, 10, 30, 255, 0):          # green, red, blue, alpha, distance
    put(1, 1), put(0, 1), put(1, 1), put(sym, 8)
data = bytes(sum(b << j for j, b in enumerate(bits[i:i + 8])) for i in range(0, len(bits), 8))
chunk = b"VP8L" + struct.pack("<I", len(data)) + data + b"\0" * (len(data) & 1)
open(out, "wb").write(b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk)
PY
}

@test "WebP: a 34-byte lossless file of one colour claiming 16383x16383 is refused at once; up to 512 MiB decoded it decodes" {
    need_py
    flat_webp big.webp 16383 16383
    [ "$(stat -c %s big.webp)" -eq 34 ]
    # was: 1.8 GB and 7 s, exit 0 (libwebp decodes it: no bits a pixel)
    run -1 --separate-stderr /usr/bin/time -f "%e %M" "$KMQ" compress -k 2 big.webp
    assert_equal "$(head -1 <<<"$stderr")" "kmq: big.webp: too large for its size: 16383x16383 pixels from 34 bytes (kmq takes at most 32768 pixels a byte for images above 512 MiB decoded)"
    read -r secs kb < <(tail -1 <<<"$stderr")
    [[ "$secs" == 0.* ]] || { echo "took $secs s"; false; }
    [ -n "${KMQ_SANITIZE:-}" ] || [ "$kb" -lt 20000 ] || { echo "peak RSS $kb kB"; false; }
    [ ! -e big.labels.png ] && [ ! -e big.codebook.bin ]
    flat_webp ok.webp 4097 4096 # 48 MiB decoded: any size
    run -0 "$KMQ" compress -q -k 2 ok.webp
    $PY -c 'from PIL import Image; im = Image.open("ok.webp"); assert im.size == (4097, 4096) and im.getpixel((7, 9)) == (10, 200, 30), im.getpixel((7, 9))'
    flat_webp over.webp 16383 11000 # 516 MiB of RGB
    run -1 --separate-stderr "$KMQ" compress -k 2 over.webp
    [[ "$stderr" == "kmq: over.webp: too large for its size: 16383x11000 pixels from 34 bytes"* ]]
}

@test "animated WebP is refused with one clear line" {
    need_py
    $PY - <<'PY'
from PIL import Image
frames = [Image.new("RGB", (20, 10), c) for c in ((200, 10, 10), (10, 200, 10))]
frames[0].save("anim.webp", save_all=True, append_images=frames[1:], duration=100, lossless=True)
PY
    run -1 --separate-stderr "$KMQ" compress -k 2 anim.webp
    assert_equal "$(grep -c . <<<"$stderr")" 1
    [[ "$stderr" == *anim.webp*"unsupported WebP: animated"* ]]
    [ ! -e anim.labels.png ] && [ ! -e anim.codebook.bin ]
}

@test "corrupt and truncated WebP, PNM and GIF: exit 1, one line naming the file, no outputs" {
    need_py
    smooth src.png 40 30 3
    $PY - <<'PY'
from PIL import Image
im = Image.open("src.png")
im.save("ok.webp", lossless=True)
im.save("okl.webp", quality=80)
im.save("ok.ppm")
im.quantize(16).save("ok.gif")
def cut(src, dst, n):
    d = open(src, "rb").read()
    open(dst, "wb").write(d[:n] if n >= 0 else d[:len(d) + n])
def flip(src, dst, at, span):
    d = bytearray(open(src, "rb").read())
    for i in range(at, at + span):
        d[i] ^= 0x5A
    open(dst, "wb").write(bytes(d))
cut("ok.webp", "trunc.webp", -40)
cut("okl.webp", "truncl.webp", -40)
cut("ok.webp", "hdr.webp", 20)
flip("ok.webp", "bits.webp", 30, 60)
cut("ok.ppm", "trunc.ppm", -7)
cut("ok.ppm", "hdr.ppm", 6)
open("maxval.ppm", "wb").write(b"P6 2 2 0\n" + bytes(12))
open("long.pgm", "wb").write(b"P5 1234567890123456789012 2 255\n" + bytes(4))
open("word.pgm", "wb").write(b"P5 two 2 255\n" + bytes(4))
open("big.pgm", "wb").write(b"P5 70000 2 255\n" + bytes(16))   # over KMQ_MAX_DIMENSION
open("pam.pam", "wb").write(b"P7\nWIDTH 2\nHEIGHT 2\nDEPTH 4\nMAXVAL 255\nTUPLTYPE CMYK\nENDHDR\n" + bytes(16))
cut("ok.gif", "trunc.gif", -30)
cut("ok.gif", "table.gif", 30)
cut("ok.gif", "hdr.gif", 12)
flip("ok.gif", "lzw.gif", 820, 40)
PY
    for f in trunc.webp truncl.webp hdr.webp bits.webp trunc.ppm hdr.ppm maxval.ppm long.pgm word.pgm \
             big.pgm pam.pam trunc.gif table.gif hdr.gif lzw.gif; do
        run -1 --separate-stderr "$KMQ" compress -k 4 "$f"
        assert_equal "$(grep -c . <<<"$stderr")" 1
        [[ "$stderr" == *"$f"* ]] || { echo "$f: $stderr"; false; }
        stem=${f%.*}
        [ ! -e "$stem.labels.png" ] && [ ! -e "$stem.codebook.bin" ] || { echo "$f left output"; false; }
        no_temp_files
        echo "$f: $stderr"
    done
    run -1 --separate-stderr "$KMQ" compress -k 4 trunc.ppm
    [[ "$stderr" == *"corrupt PNM: truncated"* ]]
    run -1 --separate-stderr "$KMQ" compress -k 4 trunc.webp
    [[ "$stderr" == *"corrupt WebP"* ]]
    run -1 --separate-stderr "$KMQ" compress -k 4 trunc.gif
    [[ "$stderr" == *"corrupt GIF: truncated"* ]]
    run -1 --separate-stderr "$KMQ" compress -k 4 table.gif
    [[ "$stderr" == *"corrupt GIF: truncated"* ]]
    run -1 --separate-stderr "$KMQ" compress -k 4 big.pgm
    [[ "$stderr" == *"larger than the pixel limit"* ]]
    # a pixel cap refuses a small file too, before decoding
    run -1 --separate-stderr "$KMQ" compress -k 4 --max-pixels 100 ok.webp
    [[ "$stderr" == *"larger than the pixel limit"* ]]
    run -1 --separate-stderr "$KMQ" compress -k 4 --max-pixels 100 ok.gif
    [[ "$stderr" == *"larger than the pixel limit"* ]]
}

# tiny_gif OUT SW SH: a 1x7 frame at (0, 0) on an SW x SH screen, 39 bytes
tiny_gif() {
    $PY - "$@" <<'PY'
import struct, sys
out, sw, sh = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
g = b"GIF89a" + struct.pack("<HHBBB", sw, sh, 0x80, 0, 0) + bytes([0, 0, 0, 255, 255, 255])
g += b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 7, 0)
# LZW, code size 2: (clear, 1) seven times, end: 3-bit codes, the table never grows
acc = n = 0
for c in [4, 1] * 7 + [5]:
    acc |= c << n
    n += 3
data = acc.to_bytes((n + 7) // 8, "little")
open(out, "wb").write(g + b"\x02" + bytes([len(data)]) + data + b"\x00\x3b")
PY
}

@test "GIF: a 39-byte file claiming a 16000x16000 screen is refused at once, in little memory" {
    need_py
    tiny_gif big.gif 16000 16000
    [ "$(stat -c %s big.gif)" -eq 39 ]
    # was: 1 GB of background filled in 7 s, exit 0
    run -1 --separate-stderr /usr/bin/time -f "%e %M" "$KMQ" compress -k 2 big.gif
    assert_equal "$(head -1 <<<"$stderr")" \
        "kmq: big.gif: corrupt GIF: a 16000x16000 screen, more than 39 bytes can paint"
    [ ! -e big.labels.png ] && [ ! -e big.codebook.bin ]
    no_temp_files
    read -r secs kb < <(tail -1 <<<"$stderr")
    [[ "$secs" == 0.* ]] || { echo "took $secs s"; false; }
    if [ -z "${KMQ_SANITIZE:-}" ]; then
        [ "$kb" -lt 20000 ] || { echo "peak RSS $kb kB"; false; }
    fi
    # The rule: a screen is kept when it is at most 2^20 pixels, or at most
    # what the file's bytes can paint (4096 pixels a 12-bit code: 39 bytes,
    # 106496 pixels); the small frame on a 1024x1024 screen decodes.
    tiny_gif ok.gif 1024 1024
    run -0 "$KMQ" compress -q -k 2 ok.gif
    $PY -c 'from PIL import Image; im = Image.open("ok.gif"); assert im.size == (1024, 1024)'
    "$IMGCMP" raw ok.gif | cmp -n $((1024 * 3 * 2)) - <($PY -c '
import sys
sys.stdout.buffer.write(b"\xff\xff\xff" + bytes(3 * 1023) + b"\xff\xff\xff" + bytes(3 * 1023))')
    tiny_gif over.gif 1025 1024
    run -1 --separate-stderr "$KMQ" compress -k 2 over.gif
    [ "$stderr" = "kmq: over.gif: corrupt GIF: a 1025x1024 screen, more than 39 bytes can paint" ]
}

@test "GIF: damaged LZW data is refused, never decoded to other pixels than PIL's" {
    need_py
    smooth src.png 40 30 3
    # Every byte of the LZW data flipped in turn (two ways): kmq refuses the
    # file or decodes PIL's pixels. giflib 5 decodes a code its table does
    # not hold yet to whatever the table held (PIL: "broken data stream"):
    # before kmq checked the codes itself, 40 of these 614 files came out as
    # other pixels, exit 0.
    $PY - "$IMGCMP" <<'PY'
import io, subprocess, sys
import numpy as np
from PIL import Image
Image.open("src.png").quantize(16).save("ok.gif")
d = open("ok.gif", "rb").read()
start = d.index(b"\x2c", 13) + 11            # the image descriptor, then the code size
refused = {}
for at in range(start + 1, len(d) - 2):
    for bit in (0x01, 0x80):
        b = bytearray(d)
        b[at] ^= bit
        open("f.gif", "wb").write(b)
        r = subprocess.run([sys.argv[1], "raw", "f.gif"], capture_output=True)
        try:
            pil = np.asarray(Image.open(io.BytesIO(bytes(b))).convert("RGB")).tobytes()
        except OSError:
            pil = None
        if r.returncode == 0:
            assert pil is not None and r.stdout == pil, (at, bit, pil is None)
        else:
            why = r.stderr.decode().splitlines()[0].split(": ", 2)[-1]
            refused[why] = refused.get(why, 0) + 1
            if "damaged LZW" in why:
                open("damaged.gif", "wb").write(b)
print(refused)
assert refused.get("corrupt GIF: damaged LZW data (a code used before it is defined)", 0) > 20
PY
    run -1 --separate-stderr "$KMQ" compress -k 4 damaged.gif
    [ "$stderr" = "kmq: damaged.gif: corrupt GIF: damaged LZW data (a code used before it is defined)" ]
    [ ! -e damaged.labels.png ] && [ ! -e damaged.codebook.bin ]
}

@test "GIF: a table that fills up and is never cleared (deferred clear) decodes as PIL does" {
    need_py
    # kmq walks the codes before decoding them: a full table is kept until a
    # clear code, as giflib and PIL keep it. The encoder here never clears.
    $PY - <<'PY'
import struct
import numpy as np
from PIL import Image
rng = np.random.default_rng(6)
w, h, rows = 400, 300, 80
px = np.zeros((h, w), np.uint8)
px[:rows] = rng.integers(0, 4, (rows, w))
flat = px.flatten()
chunk = flat[1000:1017]
flat[rows * w:] = np.tile(chunk, h * w // len(chunk) + 1)[: (h - rows) * w]
table = {(i,): i for i in range(4)}
nxt, width, codes, s = 6, 3, [(4, 3)], (int(flat[0]),)
full_reuse = 0
for p in flat[1:]:
    sp = s + (int(p),)
    if sp in table:
        s = sp
        continue
    codes.append((table[s], width))
    full_reuse += nxt == 4096
    if nxt < 4096:
        table[sp] = nxt
        nxt += 1
        if nxt > 1 << width and width < 12:
            width += 1
    s = (int(p),)
codes += [(table[s], width), (5, width)]
acc = n = 0
for c, wd in codes:
    acc |= c << n
    n += wd
data = acc.to_bytes((n + 7) // 8, "little")
blocks = b"".join(bytes([len(data[i:i + 255])]) + data[i:i + 255] for i in range(0, len(data), 255))
pal = bytes([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
open("dc.gif", "wb").write(b"GIF89a" + struct.pack("<HHBBB", w, h, 0x81, 0, 0) + pal + b"\x2c"
                           + struct.pack("<HHHHB", 0, 0, w, h, 0) + b"\x02" + blocks + b"\x00;")
assert full_reuse > 1000, full_reuse
assert (np.asarray(Image.open("dc.gif")).flatten() == flat).all()
PY
    run -0 "$KMQ" compress -q -k 4 dc.gif
    raw_equals_pil dc.gif RGB
}

@test "compress -r picks up .webp .pnm .ppm .pgm .pam .gif" {
    need_py
    mkdir -p in/sub
    smooth in/a.png 20 16 3
    $PY - <<'PY'
from PIL import Image
im = Image.open("in/a.png")
im.save("in/b.webp", lossless=True)
im.save("in/c.ppm")
im.convert("L").save("in/sub/d.pgm")
im.save("in/e.pnm", format="PPM")
im.quantize(16).save("in/f.gif")
PY
    /usr/bin/convert in/a.png in/g.pam 2>/dev/null || cp in/c.ppm in/g.pam
    run -0 "$KMQ" compress -q -k 4 -r in
    for s in a b c sub/d e f g; do
        [ -f in/$s.labels.png ] && [ -f in/$s.codebook.bin ] || { echo "missing in/$s"; false; }
    done
}
