#!/usr/bin/env bats
# Colour profiles, gamma, pixel size and orientation travel from the input
# to PNG8 and decompressed outputs; inputs written and outputs checked with
# PIL, chunks listed with pngcheck-style walking (chunks_of below).
load helpers

PY=/usr/bin/python3

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
    "$PY" -c 'import PIL, numpy' 2>/dev/null || skip "Debian's python3-pil / python3-numpy not installed"
}

# chunks_of PNG: its chunk types in order, one line
chunks_of() {
    "$PY" - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
at, out = 8, []
while at + 8 <= len(b):
    n, t = struct.unpack(">I4s", b[at:at + 8])
    out.append(t.decode())
    at += 12 + n
print(" ".join(out))
PY
}

# make_inputs: an RGB picture of 64x40 with 160 colours (so k=256 is
# lossless), as PNG with iCCP/gAMA/cHRM/pHYs, as PNG with sRGB, and as JPEG
# with an ICC profile and 72x150 dpi.
make_inputs() {
    "$PY" - <<'PY'
import struct
import numpy as np
from PIL import Image, ImageCms, PngImagePlugin
y, x = np.mgrid[0:40, 0:64]
a = np.stack([(x // 4) * 16, (y // 4) * 25, (x // 8) * 30 + 10], -1).astype(np.uint8)
im = Image.fromarray(a, "RGB")
icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
open("profile.icc", "wb").write(icc)
info = PngImagePlugin.PngInfo()
info.add(b"gAMA", struct.pack(">I", 45455))
info.add(b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000))
im.save("icc.png", icc_profile=icc, dpi=(300, 200), pnginfo=info)
info = PngImagePlugin.PngInfo()
info.add(b"sRGB", b"\x01")
im.save("srgb.png", pnginfo=info)
im.save("icc.jpg", quality=95, icc_profile=icc, dpi=(72, 150))
PY
}

@test "PNG colour chunks and pHYs reach the png8 and every decompressed PNG; labels carry them in kmCp" {
    make_inputs
    run -0 "$KMQ" compress -q -k 256 --format png8 -o p8.png icc.png
    run -0 "$KMQ" compress -q -k 256 --labels l.png --codebook c.bin icc.png
    run -0 "$KMQ" decompress -q -o from_labels.png l.png c.bin
    run -0 "$KMQ" decompress -q -o from_p8.png p8.png
    [ "$(chunks_of p8.png)" = "IHDR iCCP gAMA cHRM pHYs PLTE IDAT IEND" ]
    [ "$(chunks_of l.png)" = "IHDR kmCp IDAT IEND" ]
    [ "$(chunks_of from_labels.png)" = "IHDR iCCP gAMA cHRM pHYs IDAT IEND" ]
    [ "$(chunks_of from_p8.png)" = "IHDR iCCP gAMA cHRM pHYs IDAT IEND" ]
    run -0 "$PY" - <<'PY'
from PIL import Image
import numpy as np
icc = open("profile.icc", "rb").read()
src = Image.open("icc.png")
for name in ("p8.png", "from_labels.png", "from_p8.png"):
    im = Image.open(name)
    assert im.info.get("icc_profile") == icc, name
    assert abs(im.info["gamma"] - 0.45455) < 1e-5, (name, im.info["gamma"])
    assert [round(v) for v in im.info["dpi"]] == [300, 200], (name, im.info["dpi"])
    assert im.info.get("chromaticity") == src.info.get("chromaticity"), name
    # and the pixels are the source's (160 colours, k = 256: lossless)
    assert (np.asarray(im.convert("RGB")) == np.asarray(src.convert("RGB"))).all(), name
# the label PNG itself says nothing about colour to other readers
lab = Image.open("l.png")
assert "icc_profile" not in lab.info and "gamma" not in lab.info
print("ok")
PY
    assert_output "ok"
    # pngcheck (when installed) accepts every file, the private chunk included
    if command -v pngcheck >/dev/null; then
        for f in p8.png l.png from_labels.png from_p8.png; do pngcheck -q "$f"; done
    fi
}

@test "sRGB is carried; --strip drops everything, in compress and in decompress" {
    make_inputs
    run -0 "$KMQ" compress -q -k 64 --format png8 -o s.png srgb.png
    [ "$(chunks_of s.png)" = "IHDR sRGB PLTE IDAT IEND" ]
    run -0 "$KMQ" compress -q -k 64 --strip --format png8 -o n.png icc.png
    [ "$(chunks_of n.png)" = "IHDR PLTE IDAT IEND" ]
    run -0 "$KMQ" compress -q -k 64 --strip --labels nl.png --codebook nc.bin icc.png
    [ "$(chunks_of nl.png)" = "IHDR kmCp IDAT IEND" ] # kmCp holds only the codebook binding
    [ "$(stat -c %s nl.png)" = $(( $(strip_kmcp nl.png; stat -c %s nl.png) + 31 )) ]
    run -0 "$KMQ" compress -q -k 64 --labels l.png --codebook c.bin icc.png
    run -0 "$KMQ" decompress -q --strip -o d.png l.png c.bin
    [ "$(chunks_of d.png)" = "IHDR IDAT IEND" ]
    run -0 "$KMQ" decompress -q --strip -o d8.png s.png
    [ "$(chunks_of d8.png)" = "IHDR IDAT IEND" ]
}

@test "JPEG: the ICC profile becomes an iCCP chunk (also when split over APP2 segments), JFIF dpi a pHYs" {
    make_inputs
    # a 150 KB profile (the sRGB one, padded, with its size field fixed) spans three segments
    "$PY" - <<'PY'
import struct
from PIL import Image
icc = bytearray(open("profile.icc", "rb").read())
big = icc + bytes(150000 - len(icc))
big[0:4] = struct.pack(">I", len(big))
open("big.icc", "wb").write(big)
Image.open("icc.png").convert("RGB").save("big.jpg", quality=95, icc_profile=bytes(big))
PY
    [ "$(grep -c ICC_PROFILE big.jpg)" -ge 1 ]
    for f in icc big; do
        run -0 "$KMQ" compress -q -k 64 --format png8 -o $f.p8.png $f.jpg
        run -0 "$KMQ" compress -q -k 64 --labels $f.l.png --codebook $f.cb $f.jpg
        run -0 "$KMQ" decompress -q -o $f.d.png $f.l.png $f.cb
    done
    run -0 "$PY" - <<'PY'
from PIL import Image
for f, prof in (("icc", "profile.icc"), ("big", "big.icc")):
    want = open(prof, "rb").read()
    for name in (f + ".p8.png", f + ".d.png"):
        im = Image.open(name)
        assert im.info.get("icc_profile") == want, (name, len(im.info.get("icc_profile", b"")))
dpi = Image.open("icc.p8.png").info["dpi"]
assert [round(v) for v in dpi] == [72, 150], dpi
print("ok")
PY
    assert_output "ok"
}

@test "EXIF orientation 1..8 is applied to PNG (eXIf) and JPEG inputs as PIL's exif_transpose does; --no-orient keeps the stored order" {
    make_inputs
    for o in 1 2 3 4 5 6 7 8; do
        "$PY" - $o <<'PY'
import sys
from PIL import Image
o = int(sys.argv[1])
im = Image.open("icc.png").convert("RGB")
ex = Image.Exif()
ex[0x0112] = o
im.save(f"o{o}.png", exif=ex.tobytes(), dpi=(300, 200))
im.save(f"o{o}.jpg", quality=95, exif=ex.tobytes())
PY
        for ext in png jpg; do
            run -0 "$KMQ" compress -q -k 256 --format png8 -o o$o.$ext.p8.png o$o.$ext
            run -0 "$KMQ" compress -q -k 256 --no-orient --format png8 -o o$o.$ext.stored.png o$o.$ext
        done
        run -0 "$PY" - $o <<'PY'
import math, sys
import numpy as np
from PIL import Image, ImageOps
o = int(sys.argv[1])
def rgb(p): return np.asarray(Image.open(p).convert("RGB")).astype(float)
# PNG: exact (160 colours, lossless at k = 256)
want = np.asarray(ImageOps.exif_transpose(Image.open(f"o{o}.png")).convert("RGB")).astype(float)
got = rgb(f"o{o}.png.p8.png")
assert got.shape == want.shape and (got == want).all(), ("png", o, got.shape, want.shape)
assert (rgb(f"o{o}.png.stored.png") == rgb("icc.png")).all(), ("png stored", o)
# a quarter turn swaps the dpi too
dpi = [round(v) for v in Image.open(f"o{o}.png.p8.png").info["dpi"]]
assert dpi == ([200, 300] if o >= 5 else [300, 200]), (o, dpi)
# JPEG: decoders differ a little, a wrong turn differs a lot
want = np.asarray(ImageOps.exif_transpose(Image.open(f"o{o}.jpg")).convert("RGB")).astype(float)
got = rgb(f"o{o}.jpg.p8.png")
assert got.shape == want.shape, ("jpg", o, got.shape, want.shape)
psnr = 10 * math.log10(255 ** 2 / max(np.mean((got - want) ** 2), 1e-9))
assert psnr > 35, ("jpg", o, psnr)
assert rgb(f"o{o}.jpg.stored.png").shape == (40, 64, 3)
print("ok")
PY
        [ "$output" = ok ] || { echo "orientation $o: $output"; false; }
    done
}

@test "hostile metadata: an ICC bomb, an oversized iCCP, a broken profile, bad EXIF: dropped with one warning, image still done" {
    make_inputs
    "$PY" - <<'PY'
import struct, zlib
from PIL import Image
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = open("srgb.png", "rb").read()
head, rest = png[:33], png[33:]
rest = rest[rest.index(b"IDAT") - 4:]   # drop the sRGB chunk
# 100 MB of zeros deflate to ~100 KB: a profile that inflates past the cap
bomb = zlib.compress(bytes(100 << 20), 9)
open("bomb.png", "wb").write(head + chunk(b"iCCP", b"x\0\0" + bomb) + rest)
# a 9 MB iCCP chunk: not even read into memory
open("huge.png", "wb").write(head + chunk(b"iCCP", b"x\0\0" + bytes(9 << 20)) + rest)
# a profile whose header lies about its size
icc = bytearray(open("profile.icc", "rb").read()); icc[0:4] = struct.pack(">I", 99999)
open("liar.png", "wb").write(head + chunk(b"iCCP", b"x\0\0" + zlib.compress(bytes(icc))) + rest)
# EXIF: an IFD0 offset past the end, and an IFD that points back to itself
bad = b"MM\0*" + struct.pack(">I", 4000)
loop = b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", 1) + struct.pack("<HHII", 0x0112, 3, 1, 6) + struct.pack("<I", 8)
open("badexif.png", "wb").write(head + chunk(b"eXIf", bad) + rest)
open("loopexif.png", "wb").write(head + chunk(b"eXIf", loop) + rest)
PY
    for f in bomb huge liar badexif; do
        run -0 --separate-stderr "$KMQ" compress -k 16 --format png8 -o $f.out.png $f.png
        [ "${#stderr_lines[@]}" -eq 2 ] || { echo "$f: $stderr"; false; } # the warning + the summary
        [[ "${stderr_lines[0]}" == "kmq: $f.png: warning: "* ]] || { echo "$f: $stderr"; false; }
        [ "$(chunks_of $f.out.png)" = "IHDR PLTE IDAT IEND" ]
    done
    # the looping IFD is read once: its orientation (6) applies, no warning
    run -0 --separate-stderr "$KMQ" compress -k 16 --format png8 -o loop.out.png loopexif.png
    [ "${#stderr_lines[@]}" -eq 1 ]
    [ "$("$IMGCMP" info loop.out.png | cut -d' ' -f1,2)" = "40 64" ]
    # bounded: the bomb is refused at the cap, not inflated to 100 MB (ASan
    # reserves terabytes of address space: no ulimit -v there)
    if [ -z "${KMQ_SANITIZE:-}" ]; then
        (ulimit -v 400000; "$KMQ" compress -q -k 16 --format png8 -f -o bomb.out.png bomb.png)
    fi
}

@test "a grey image with an RGB profile: the profile is left out of grey outputs, with a warning" {
    make_inputs
    "$PY" -c "
from PIL import Image
Image.open('icc.png').convert('L').save('grey.png', icc_profile=open('profile.icc', 'rb').read())"
    run -0 "$KMQ" compress -q -k 16 --labels g.png --codebook g.bin grey.png
    run -0 --separate-stderr "$KMQ" decompress -o g.out.png g.png g.bin
    [[ "$stderr" == *"warning: the ICC profile is not for greyscale"* ]] || { echo "$stderr"; false; }
    [ "$(chunks_of g.out.png)" = "IHDR IDAT IEND" ]
}

@test "decompress warns when the label PNG's kmCp chunk holds only damaged or bad metadata" {
    make_inputs
    run -0 "$KMQ" compress -q -k 16 --strip --labels l.png --codebook c.bin icc.png
    "$PY" - <<'PY'
import struct, zlib
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = open("l.png", "rb").read()
# l.png's kmCp (after the IHDR) holds only its kmCb: the bad metadata goes after it
n = struct.unpack(">I", png[33:37])[0]
assert png[37:41] == b"kmCp" and n == 19, (png[37:41], n)
kmcb, rest = png[41:41 + n], png[33 + 12 + n:]
bomb = chunk(b"iCCP", b"x\0\0" + zlib.compress(bytes(64 << 20), 9))
bad_crc = bytearray(chunk(b"gAMA", struct.pack(">I", 45455))); bad_crc[-1] ^= 1
for name, inner in (("bomb", bomb), ("crc", bytes(bad_crc)), ("junk", b"\1\2\3")):
    open(f"l_{name}.png", "wb").write(png[:33] + chunk(b"kmCp", kmcb + inner) + rest)
PY
    for f in bomb crc junk; do
        run -0 --separate-stderr "$KMQ" decompress -o $f.out.png l_$f.png c.bin
        [ "${#stderr_lines[@]}" -eq 2 ] || { echo "$f: $stderr"; false; }
        [[ "${stderr_lines[0]}" == "kmq: l_$f.png: warning: "* ]] || { echo "$f: $stderr"; false; }
        [ "$(chunks_of $f.out.png)" = "IHDR IDAT IEND" ]
    done
}
