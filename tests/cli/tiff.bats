#!/usr/bin/env bats
# TIFF input (src/formats/tiff.c): files written by PIL, ImageMagick, OpenCV and
# libtiff's tools decode to exactly the pixels of a PNG of the same image.
load helpers

CONVERT=/usr/bin/convert # the real ImageMagick, not a wrapper on PATH
PY=/usr/bin/python3

# same_pixels A B: equal size, channels and samples
same_pixels() {
    local r
    r=$("$IMGCMP" "$1" "$2" 2>&1) || { echo "$1 vs $2: $r"; return 1; }
    [[ "$r" == *"maxerr 0" ]] || { echo "$1 vs $2: $r"; return 1; }
}

# sources.py: a 53x37 image with all kinds of values (odd sizes: partial
# strips and tiles), as L, LA, RGB, RGBA and palette PNGs.
make_sources() {
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
rng = np.random.default_rng(7)
h, w = 37, 53
y, x = np.mgrid[0:h, 0:w]
rgba = np.stack([x * 4, y * 6, (x * y) % 256, 255 - x * 3], -1).astype(np.uint8)
rgba[::3, ::4] = rng.integers(0, 256, rgba[::3, ::4].shape, dtype=np.uint8)
rgba[..., 3][rgba[..., 3] < 30] = 0
im = Image.fromarray(rgba, "RGBA")
for mode in ("L", "LA", "RGB", "RGBA"):
    im.convert(mode).save(f"{mode}.png")
im.convert("RGB").quantize(60).save("P.png")
PY
}

@test "PIL: grey, grey+alpha, RGB, RGBA and palette, uncompressed/LZW/Deflate/old Deflate/PackBits, decode exactly" {
    make_sources
    run -0 "$PY" - <<'PY'
from PIL import Image
for mode in ("L", "LA", "RGB", "RGBA", "P"):
    im = Image.open(f"{mode}.png")
    for c in ("raw", "tiff_lzw", "tiff_adobe_deflate", "tiff_deflate", "packbits"):
        im.save(f"pil_{mode}_{c}.tif", compression=None if c == "raw" else c)
    # several strips
    im.save(f"pil_{mode}_rows.tiff", compression="tiff_lzw", tiffinfo={278: 5})
PY
    n=0
    for f in pil_*.tif pil_*.tiff; do
        m=${f#pil_}
        same_pixels "$f" "${m%%_*}.png"
        n=$((n + 1))
    done
    [ "$n" = 30 ]
}

@test "ImageMagick: 8 and 16-bit grey, GA, RGB, RGBA in strips, tiles and separate planes, every lossless codec" {
    make_sources
    n=0
    for m in L LA RGB RGBA; do
        for d in 8 16; do
            for c in None LZW Zip RLE; do
                "$CONVERT" $m.png -depth $d -compress $c s.tif
                "$CONVERT" $m.png -depth $d -compress $c -define tiff:tile-geometry=16x16 t.tif
                "$CONVERT" $m.png -depth $d -compress $c -interlace plane p.tif
                "$CONVERT" $m.png -depth $d -compress $c -define tiff:tile-geometry=32x16 -interlace plane tp.tif
                for f in s t p tp; do
                    same_pixels $f.tif $m.png || { echo "$m depth $d $c ($f)"; false; }
                    n=$((n + 1))
                done
            done
        done
    done
    [ "$n" = 128 ]
    tiffinfo tp.tif | grep -q "Tile Width: 32"
    tiffinfo tp.tif | grep -q "separate image planes"
    # a palette TIFF
    "$CONVERT" P.png -type Palette -compress LZW pal.tif
    tiffinfo pal.tif | grep -q "palette"
    same_pixels pal.tif P.png
}

@test "kmq compress of a TIFF writes the same labels and codebook as of the PNG of the same pixels" {
    make_sources
    for m in L LA RGB RGBA; do
        "$CONVERT" $m.png -compress LZW -define tiff:tile-geometry=16x16 $m.tif
        "$CONVERT" $m.png -depth 16 -compress Zip ${m}16.tiff
        for f in $m.tif ${m}16.tiff; do
            run -0 "$KMQ" compress -q -f -k 12 --labels a.png --codebook a.bin $f
            run -0 "$KMQ" compress -q -f -k 12 --labels b.png --codebook b.bin $m.png
            strip_kmcp a.png b.png
            cmp a.png b.png
            cmp a.bin b.bin
        done
    done
}

@test "16-bit: a 16-bit PNG and a 16-bit TIFF of the same samples decode to identical 8-bit pixels (v >> 8)" {
    run -0 "$PY" - <<'PY'
import numpy as np, cv2
from PIL import Image
rng = np.random.default_rng(3)
for ch in (1, 3, 4):
    a = rng.integers(0, 65536, (29, 41, ch) if ch > 1 else (29, 41), dtype=np.uint16)
    a[0, :3] = [0x00FF, 0x0100, 0xFFFF][:3] if ch == 1 else a[0, :3]  # rounding would differ here
    cv2.imwrite(f"c{ch}.png", a)
    cv2.imwrite(f"c{ch}.tif", a)  # LZW strips
    # the expected samples: the high byte, in kmq's channel order (RGB)
    hi = (a >> 8).astype(np.uint8)
    if ch >= 3:
        hi = hi[..., [2, 1, 0] + ([3] if ch == 4 else [])]
    hi.tofile(f"c{ch}.expect")
g = rng.integers(0, 65536, (23, 31), dtype=np.uint16)
Image.fromarray(g, "I;16").save("pil16.png")
Image.fromarray(g, "I;16").save("pil16.tif", compression="tiff_adobe_deflate")
PY
    for ch in 1 3 4; do
        same_pixels c$ch.tif c$ch.png
        "$IMGCMP" raw c$ch.tif >got
        cmp got c$ch.expect
    done
    same_pixels pil16.tif pil16.png
    "$CONVERT" c3.png -depth 16 -compress None -define tiff:tile-geometry=16x16 im16.tif
    same_pixels im16.tif c3.png
}

@test "JPEG-compressed TIFF (RGB and YCbCr, strips and tiles): decodes as libtiff does, PSNR > 30 dB" {
    "$GENIMG" src.png 120 80 3 smooth
    "$CONVERT" src.png -compress jpeg -quality 92 im.tif
    "$CONVERT" src.png -colorspace gray -compress jpeg -quality 92 grey.tif
    "$CONVERT" src.png -colorspace gray grey.png
    "$PY" -c "from PIL import Image; Image.open('src.png').save('pil.tif', compression='jpeg', quality=92)"
    "$CONVERT" src.png -compress None raw.tif
    tiffcp -c jpeg:95 -r 16 raw.tif ycc.tif
    tiffcp -c jpeg:95 -t -w 32 -l 32 raw.tif ycct.tif
    tiffinfo ycc.tif | grep -q YCbCr
    for f in im pil ycc ycct; do
        p=$(psnr_of $f.tif src.png)
        awk -v p="$p" 'BEGIN { exit !(p > 30) }' || { echo "$f: $p dB"; false; }
        # libtiff's own RGBA reader, for the YCbCr conversion
        tiff2rgba $f.tif rgba.tif
        "$CONVERT" rgba.tif -alpha off ref.png
        same_pixels $f.tif ref.png
    done
    p=$(psnr_of grey.tif grey.png)
    awk -v p="$p" 'BEGIN { exit !(p > 30) }'
}

@test "bilevel and MinIsWhite: 1-bit (raw, Group 4) as grey 0/255, MinIsWhite inverted" {
    make_sources
    run -0 "$PY" - <<'PY'
import struct
import numpy as np
from PIL import Image
im = Image.open("L.png").convert("1")
im.save("bw.tif")
im.save("g4.tif", compression="group4")
im.convert("L").save("bw.png")
# 8-bit MinIsWhite, written by hand: stored 255 - v
a = np.asarray(Image.open("L.png"))
h, w = a.shape
data = (255 - a).tobytes()
tags = [(256, 4, w), (257, 4, h), (258, 3, 8), (259, 3, 1), (262, 3, 0),
        (273, 4, 8), (277, 3, 1), (278, 4, h), (279, 4, len(data))]
ifd = struct.pack("<H", len(tags)) + b"".join(
    struct.pack("<HHI", t, ty, 1) + (struct.pack("<HH", v, 0) if ty == 3 else struct.pack("<I", v))
    for t, ty, v in tags) + b"\0\0\0\0"
open("miw.tif", "wb").write(b"II*\0" + struct.pack("<I", 8 + len(data)) + data + ifd)
PY
    tiffinfo g4.tif | grep -q "CCITT Group 4"
    same_pixels bw.tif bw.png
    same_pixels g4.tif bw.png
    same_pixels miw.tif L.png
    run -0 "$IMGCMP" info bw.tif
    [ "$(echo "$output" | awk '{print $3, $4}')" = "1 2" ]
}

@test "associated alpha is un-premultiplied; unassociated is kept as is" {
    make_sources
    "$CONVERT" RGBA.png -define tiff:alpha=associated assoc.tif
    "$CONVERT" RGBA.png -define tiff:alpha=unassociated unassoc.tif
    tiffinfo assoc.tif | grep -q "assoc-alpha"
    tiffinfo unassoc.tif | grep -q "unassoc-alpha"
    same_pixels unassoc.tif RGBA.png
    "$IMGCMP" raw assoc.tif >got
    "$IMGCMP" raw RGBA.png >want
    # where alpha > 0 the colours come back within the rounding of
    # premultiplying by alpha/255 (at most 255 / (2 alpha) + 1)
    run -0 "$PY" - <<'PY'
import numpy as np
g = np.fromfile("got", np.uint8).reshape(-1, 4).astype(int)
w = np.fromfile("want", np.uint8).reshape(-1, 4).astype(int)
assert (g[:, 3] == w[:, 3]).all()
a = w[:, 3]
vis = a > 0
err = np.abs(g[vis, :3] - w[vis, :3]).max(axis=1)
assert (err <= 255 / (2 * a[vis]) + 1).all(), err.max()
assert (g[~vis, :3] == 0).all()
print("ok")
PY
}

@test "multi-page TIFF: the first page, and a warning said once" {
    make_sources
    "$PY" -c "
from PIL import Image
a = Image.open('RGB.png'); b = Image.open('L.png').convert('RGB')
a.save('multi.tif', save_all=True, append_images=[b, b])"
    same_pixels multi.tif RGB.png
    run -0 --separate-stderr "$KMQ" compress -k 6 multi.tif
    [ "$(grep -c 'multi-page TIFF: only the first page is used' <<<"$stderr")" = 1 ]
    # the warning and the summary line, nothing from libtiff
    assert_equal "$(grep -c . <<<"$stderr")" 2
    [[ "$stderr" == *"multi.tif: warning:"* ]]
    run -0 --separate-stderr "$KMQ" compress -q -f -k 6 multi.tif
    assert_equal "$stderr" ""
}

@test "Orientation tag applied (as EXIF's), ICC profile carried to the output" {
    make_sources
    "$PY" -c "
from PIL import Image, ImageCms
icc = ImageCms.ImageCmsProfile(ImageCms.createProfile('sRGB')).tobytes()
Image.open('RGB.png').save('o6.tif', tiffinfo={274: 6}, icc_profile=icc)
Image.open('RGB.png').save('o1.tif', icc_profile=icc)"
    run -0 "$IMGCMP" info o6.tif
    [ "$(echo "$output" | awk '{print $1, $2}')" = "37 53" ]
    "$CONVERT" RGB.png -rotate 90 rot.png
    same_pixels o6.tif rot.png
    run -0 "$KMQ" compress -q -k 8 o1.tif
    run -0 "$KMQ" decompress -q o1.labels.png o1.codebook.bin
    "$PY" -c "
from PIL import Image
assert Image.open('o1.decompressed.png').info.get('icc_profile'), 'no ICC profile'"
    # --no-orient keeps the stored order
    run -0 "$KMQ" compress -q -k 8 --no-orient o6.tif
    run -0 "$IMGCMP" info o6.labels.png
    [ "$(echo "$output" | awk '{print $1, $2}')" = "53 37" ]
}

@test "corrupt and hostile TIFFs: exit 1, one line on stderr naming the file, no outputs" {
    make_sources
    "$CONVERT" RGB.png -compress LZW good.tif
    run -0 "$PY" - <<'PY'
import struct
d = open("good.tif", "rb").read()
open("truncated.tif", "wb").write(d[:len(d) // 2])
open("garbage.tif", "wb").write(d[:8] + bytes((i * 37 + 11) % 256 for i in range(600)))
def tiff(w, h, photo=1, spp=1, bps=8, data=b"", compression=1, count=None):
    tags = [(256, 4, w), (257, 4, h), (258, 3, bps), (259, 3, compression), (262, 3, photo),
            (273, 4, 8), (277, 3, spp), (278, 4, h),
            (279, 4, count if count is not None else w * h * spp * bps // 8)]
    ifd = struct.pack("<H", len(tags)) + b"".join(
        struct.pack("<HHI", t, ty, 1) + (struct.pack("<HH", v, 0) if ty == 3 else struct.pack("<I", v))
        for t, ty, v in tags) + b"\0\0\0\0"
    return b"II*\0" + struct.pack("<I", 8 + len(data)) + data + ifd
open("huge.tif", "wb").write(tiff(70000, 70000, count=1)) # over KMQ_MAX_DIMENSION
open("claims.tif", "wb").write(tiff(9000, 9000))          # strips beyond the end
import zlib
z = zlib.compress(bytes(100))                             # deflate data that ends early
open("short.tif", "wb").write(tiff(4000, 4000, data=z, compression=8, count=len(z)))
open("cmyk.tif", "wb").write(tiff(4, 4, photo=5, spp=4, data=bytes(64)))
open("float.tif", "wb").write(tiff(4, 4, bps=32, data=bytes(64)))
PY
    for f in truncated garbage huge claims short cmyk float; do
        mkdir -p d_$f && cp $f.tif d_$f/
        run -1 --separate-stderr "$KMQ" compress -k 4 d_$f/$f.tif
        assert_equal "$(grep -c . <<<"$stderr")" 1
        [[ "$stderr" == *"d_$f/$f.tif"* ]] || { echo "$f: $stderr"; false; }
        [ "$(ls d_$f)" = "$f.tif" ]
        case $f in
        huge) [[ "$stderr" == *"larger than the pixel limit"* ]] ;;
        cmyk) [[ "$stderr" == *"unsupported TIFF: CMYK"* ]] ;;
        float) [[ "$stderr" == *"unsupported TIFF:"* ]] ;;
        *) [[ "$stderr" == *"corrupt TIFF"* ]] || { echo "$f: $stderr"; false; } ;;
        esac
    done
}

@test "damage libtiff papers over (CCITT, PackBits, JPEG) is refused, the same way whole and streamed" {
    # libtiff's codecs report a bad code word, a line of the wrong length, a
    # PackBits run past the row or libjpeg's corrupt data, then return the
    # strip with pixels made up: kmq took those as good. Every flip of the
    # strip bytes now gives: libtiff reported damage (tiffinfo -D says so on
    # stderr) and kmq refuses it, whole and with --stream, with one line;
    # or nothing was reported, and kmq decodes PIL's pixels.
    run -0 "$PY" - "$KMQ" "$IMGCMP" <<'PY'
import io, subprocess, sys
import numpy as np
from PIL import Image
kmq, imgcmp = sys.argv[1], sys.argv[2]
h, w = 64, 80
y, x = np.mgrid[0:h, 0:w]
Image.fromarray((((x // 7) + (y // 5)) % 2 * 255).astype(np.uint8)).convert("1").save(
    "g4.tif", compression="group4")
rgb = np.stack([x * 3, y * 4, (x * y) % 256], -1).astype(np.uint8)
Image.fromarray(rgb).quantize(16).save("pb.tif", compression="packbits")
Image.fromarray(rgb).save("jpeg.tif", compression="jpeg")
seen = {}
for name in ("g4", "pb", "jpeg"):
    d = open(f"{name}.tif", "rb").read()
    tags = Image.open(f"{name}.tif").tag_v2
    at, n = tags[273][0], tags[279][0]
    refused = 0
    for pos in range(at, at + n, max(1, n // 30)):
        for bit in (0x01, 0xFF):
            b = bytearray(d)
            b[pos] ^= bit
            open("f.tif", "wb").write(b)
            reported = subprocess.run(["tiffinfo", "-D", "f.tif"], capture_output=True).stderr.strip()
            whole = subprocess.run([kmq, "compress", "-f", "-q", "-k", "4", "--stream=never",
                                    "--labels", "w.png", "--codebook", "w.bin", "f.tif"],
                                   capture_output=True, text=True)
            band = subprocess.run([kmq, "compress", "-f", "-q", "-k", "4", "--stream",
                                   "--labels", "s.png", "--codebook", "s.bin", "f.tif"],
                                  capture_output=True, text=True)
            where = (name, pos, bit, reported[:80], whole.stderr)
            assert (whole.returncode, whole.stderr) == (band.returncode, band.stderr), where
            if reported:
                assert whole.returncode == 1, where
                assert whole.stderr.startswith("kmq: f.tif: corrupt TIFF: "), where
                assert whole.stderr.count("\n") == 1, where
                refused += 1
                why = whole.stderr.split(": ", 3)[3].split(" at ")[0].split(":")[0].strip()
                seen[why] = seen.get(why, 0) + 1
            else:
                assert whole.returncode == 0, where
                assert open("w.png", "rb").read() == open("s.png", "rb").read(), where
                got = subprocess.run([imgcmp, "raw", "f.tif"], capture_output=True).stdout
                assert got == np.asarray(Image.open(io.BytesIO(bytes(b))).convert("RGB")
                                         if name != "g4" else Image.open(io.BytesIO(bytes(b))).convert("L")).tobytes(), where
    assert refused > 10, (name, refused)
print(seen)
for why in ("Bad code word", "Line length mismatch", "Discarding",
            "Corrupt JPEG data"):
    assert any(k.startswith(why) for k in seen), (why, seen)
PY
    echo "$output"
}

@test "damage in a strip read a row at a time (one 4.5 MB G4 strip) is refused as in small strips" {
    run -0 "$PY" - <<'PY'
import subprocess
import numpy as np
from PIL import Image
h = w = 6000
y, x = np.mgrid[0:h, 0:w]
im = Image.fromarray(((x // 50 + y // 70) % 2 * 255).astype(np.uint8)).convert("1")
im.save("strips.tif", compression="group4")
subprocess.run(["tiffcp", "-c", "g4", "-r", str(h), "strips.tif", "big.tif"], check=True)
d = bytearray(open("big.tif", "rb").read())   # one strip, read by TIFFReadScanline
tags = Image.open("big.tif").tag_v2
at, n = tags[273][0], tags[279][0]
assert len(tags[273]) == 1 and n > 1000, (tags[273], n)
d[at + n // 2] ^= 0xFF
open("bad.tif", "wb").write(d)
PY
    run -0 "$KMQ" compress -q -k 2 big.tif
    [ -n "$(tiffinfo -D bad.tif 2>&1 >/dev/null)" ]
    run -1 --separate-stderr "$KMQ" compress -k 2 --stream=never bad.tif
    [[ "$stderr" == "kmq: bad.tif: corrupt TIFF: "* ]] && [ "$(grep -c . <<<"$stderr")" -eq 1 ] || { echo "$stderr"; false; }
    whole=$stderr
    run -1 --separate-stderr "$KMQ" compress -k 2 --stream bad.tif
    [ "$stderr" = "$whole" ]
    [ ! -e bad.labels.png ] && [ ! -e bad.codebook.bin ]
}

@test "a tiny TIFF claiming a huge image of almost nothing (a blank G4 page) is refused before decoding; an honest blank page decodes" {
    # CCITT G4 codes a blank row in a bit: a few KB claim 32768x16400 (over 512 MiB
    # of grey). Any format: above 512 MiB decoded, at most 2^15 pixels a byte
    # (src/formats/decode.c).
    run -0 "$PY" -c '
from PIL import Image
Image.new("1", (32768, 16400), 1).save("strips.tif", compression="group4")
Image.new("1", (16384, 2048), 1).save("page_strips.tif", compression="group4")'
    tiffcp -c g4 -r 16400 strips.tif blank.tif # one strip
    tiffcp -c g4 -r 2048 page_strips.tif page.tif
    [ "$(stat -c %s blank.tif)" -lt 16384 ] && [ "$(stat -c %s page.tif)" -lt 1000 ]
    for args in "" "--stream" "--stream=never --max-pixels 1000000000"; do
        run -1 --separate-stderr "$KMQ" compress -k 2 $args blank.tif
        [[ "$stderr" == "kmq: blank.tif: too large for its size: 32768x16400 pixels from "*" bytes (kmq takes at most 32768 pixels a byte for images above 512 MiB decoded)" ]] ||
            { echo "$args: $stderr"; false; }
        [ ! -e blank.labels.png ]
    done
    # 662 bytes for 16384x2048 (32 MiB of grey): a blank page, read as such
    run -0 "$KMQ" compress -q -k 2 page.tif
    [ "$(distinct_of page.labels.png)" = 1 ]
}

@test "compress -r picks up .tif and .tiff files" {
    mkdir photos
    "$GENIMG" photos/a.png 20 10 3 demo
    "$CONVERT" photos/a.png photos/b.tif
    "$CONVERT" photos/a.png photos/c.TIFF
    echo "not an image" >photos/notes.txt
    run -0 "$KMQ" compress -q -k 4 -r photos
    [ -f photos/b.labels.png ] && [ -f photos/b.codebook.bin ]
    [ -f photos/c.labels.png ] && [ -f photos/c.codebook.bin ]
    cmp photos/a.codebook.bin photos/b.codebook.bin
}

@test "--stream reads TIFF band by band (strips, tiles, planes, 16-bit) to the same bytes as a whole decode" {
    "$GENIMG" big.png 300 200 4 smooth
    "$CONVERT" big.png -compress LZW -define tiff:tile-geometry=64x64 t.tif
    "$CONVERT" big.png -compress Zip s.tif
    "$CONVERT" big.png -depth 16 -compress None -interlace plane p.tif
    for f in t s p; do
        run -0 "$KMQ" compress -q -f -k 8 --stream --labels s.png --codebook s.bin $f.tif
        run -0 "$KMQ" compress -q -f -k 8 --labels n.png --codebook n.bin $f.tif
        cmp s.png n.png
        cmp s.bin n.bin
    done
}

@test "--stream reads a single-strip LZW TIFF (3000x3000 RGB, 27 MB of pixels) a row at a time, in bounded memory" {
    "$PY" - <<'PY'
import numpy as np
from PIL import Image
h = w = 3000
y, x = np.mgrid[0:h, 0:w]
rng = np.random.default_rng(5)
idx = ((x // 7 + y // 5) * 13 + (rng.integers(0, 16, (h, w)) == 0)) % 64
pal = rng.integers(0, 256, (64, 3), dtype=np.uint8)
Image.fromarray(pal[idx]).save("big.png")
PY
    "$CONVERT" big.png -compress LZW -define tiff:rows-per-strip=3000 one.tif
    tiffinfo one.tif | grep -q "Rows/Strip: 3000"
    tiffinfo one.tif | grep -q "Compression Scheme: LZW"
    run -0 --separate-stderr /usr/bin/time -f "%M" "$KMQ" compress -q -f -k 16 --stream --labels a.png --codebook a.bin one.tif
    tif_kb=$(tail -1 <<<"$stderr")
    run -0 --separate-stderr /usr/bin/time -f "%M" "$KMQ" compress -q -f -k 16 --stream --labels b.png --codebook b.bin big.png
    png_kb=$(tail -1 <<<"$stderr")
    strip_kmcp a.png b.png
    cmp a.png b.png
    cmp a.bin b.bin
    # The strip decoded whole would add 27 MB (and as much again for its
    # band); read a row at a time, the TIFF costs about its compressed
    # strip (6 MB) more than the PNG.  Not under sanitizers, which keep
    # freed memory and shadow it.
    echo "peak RSS: TIFF $tif_kb kB, PNG $png_kb kB"
    if [ -z "${KMQ_SANITIZE:-}" ] && ! ldd "$KMQ" | grep -q libasan; then
        [ "$tif_kb" -lt 70000 ] # ~59 MB measured; the strip whole would be ~86 MB
        [ $((tif_kb - png_kb)) -lt 16000 ]
    fi
    # the same bytes as a whole decode
    run -0 "$KMQ" compress -q -f -k 16 --labels c.png --codebook c.bin one.tif
    strip_kmcp c.png
    cmp a.png c.png
    cmp a.bin c.bin
}
