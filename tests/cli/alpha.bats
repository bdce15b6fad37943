#!/usr/bin/env bats
# Transparency: one clear entry for every pixel of alpha 0, the error as seen
# over black and white (checked with PIL, not kmq), opaque images unchanged.
load helpers

PY=/usr/bin/python3

need_pil() {
    "$PY" -c 'import PIL, numpy' 2>/dev/null || skip "Debian's python3-pil / python3-numpy not installed"
}

# composite IMAGE REF: "black_dB white_dB" measured by PIL + NumPy
composite() { "$PY" "$ROOT/bench/composite_psnr.py" "$1" "$2"; }

@test "opaque images give the same bytes as kmq 0.1.0 (codebooks, labels, decoded images)" {
    need_pil
    "$GENIMG" rgb.png 160 120 3 demo 3
    "$GENIMG" grey.png 150 100 1 demo 5
    "$GENIMG" smooth.png 200 130 3 smooth 9
    "$PY" -c "
from PIL import Image
Image.open('rgb.png').convert('RGBA').save('rgba_opaque.png')
Image.open('grey.png').convert('LA').save('la_opaque.png')"
    # (--n-init 3: 0.1.0's default; kmq's is now auto, 1 restart from k = 32)
    for f in rgb grey smooth rgba_opaque la_opaque; do
        for k in 8 64; do
            "$KMQ" compress -q -k $k --n-init 3 $f.png --labels $f.$k.labels.png --codebook $f.$k.bin
            "$KMQ" decompress -q -o $f.$k.out.png $f.$k.labels.png $f.$k.bin
        done
    done
    # (--dither is not 0.1.0's any more: it spreads error only where it hides
    # banding, issue 24; see dither.bats)
    for f in rgb grey smooth; do
        "$KMQ" compress -q --quality 30 --n-init 3 $f.png --labels $f.q.labels.png --codebook $f.q.bin
        "$KMQ" decompress -q -o $f.q.out.png $f.q.labels.png $f.q.bin
    done
    # sha256 of the same files written by kmq 0.1.0 (before transparency was handled;
    # label PNGs only where k > 16: below, kmq 0.1.0 packed them, see formats.bats).
    # Label PNGs now carry a kmCp chunk (the codebook binding): without it, the
    # bytes are 0.1.0's.
    strip_kmcp *.labels.png
    sha256sum -c - <<'EOF'
840eda0fcbd33f562b19e47d30169e00af706948c94234a67b59b28918914ed9  grey.64.bin
8017f0515c627951ff039c1908403f135d995ea3110ff225a7fc0e2f5ee2c0e4  grey.8.bin
b27cc043df48679d7dbda9d81115281e239e8ef1323ef59d6a76e42009a32c72  grey.q.bin
089c6b5b42d632c17b35f49db8e889d0d46d1becbc58beedeadcabef9840f0f0  la_opaque.64.bin
ee2f6367de36191b8905c91d1d064ad46c2ab4bff82496610fef94cebb012824  la_opaque.8.bin
a740fa9b75cb416133b59d5a4273cd0ddcf3d3478ce8ea8f1d7233fb24e05837  rgb.64.bin
f24d7cc4640ebb82d9cf58c56346a923be2120fb2233108a65ce409ed929ca35  rgb.8.bin
862b766c6007b558ef6f565cb4f96a4d68e608ce56d4aaab2a67d838ad69664d  rgb.q.bin
137bdf3edeacb9cafa6e7a9efbfa452f64e50a1ceb6ebfa17a8923ad63fe6cb2  rgba_opaque.64.bin
37cd2a3c1ddbc52268e4d0fd2d0e4fa4c5af98a534ddaf49e26bd8465a2cf643  rgba_opaque.8.bin
0ab16c041450d1893691395a06adcfd2e5c2690f60822d64e91c329d64566448  smooth.64.bin
52b2314c73e3d9244f13f4ae1bb15d36ecdd965606a674b1150d78da31a80acf  smooth.8.bin
054153aaf653ecd27155372ec21f2cbd9cc0e4788dea8974faed6aba4d67c924  smooth.q.bin
59e4b22c45802b6339d884023d93a95d982902af344bd801801043d6de5fb127  grey.64.out.png
db95b7f76f55786fa0a6f21c60edeec2e0f1dc1a0817dcc3766f975c2c897fdd  grey.8.out.png
8a5519be20b02e75f06a26dae17fd67c0c619442e7eccabcecd88a1b830b761a  la_opaque.64.out.png
6d48920cd1ccbd0ddb771a86bafa634abaf6abaab0d0e835258f54b043c77f56  la_opaque.8.out.png
e5bc81d2b113a3cefbd82479e4f9f2840f085d94a52956fbfc8af6ea3fc446f5  rgb.64.out.png
47900e6b1b583b3f5443b613ddcd20c5626829e6b9dfd6d670b54689d4f33701  rgb.8.out.png
bd2d28e53b96f3d3b3be6d17f553b8192bbfd848a4bf34551725b58a6933710b  rgba_opaque.64.out.png
00f5f4960f0cffb7bf2c5027db210e3b6fd63388492ed61aad6a7fc65d352880  rgba_opaque.8.out.png
7c71b38f43fb45c8f4a71c24a7766df9e41a2e4b4b58f41a18e1b4c781325510  smooth.64.out.png
683ecf0d36abfa27144df008523e47befc11729db7331208856dc60a69ed6f97  smooth.8.out.png
43457e65d87f507817ada6ec27b4a6cf13123d7b1cd6364aca341bb264231455  grey.64.labels.png
43457e65d87f507817ada6ec27b4a6cf13123d7b1cd6364aca341bb264231455  la_opaque.64.labels.png
7568facc39300738fe75bef488bdbe021b036f73dbd8d520622a9d57bd7858f0  rgb.64.labels.png
cad63f58294b279d4cfa384a1147eaa00a69999e3928fe51de94388b1542fa8c  rgba_opaque.64.labels.png
f444c2db5d963a9d70f6b1f2dd23f6c915d60a792be5e4da0e06b9b20e8a3f5a  smooth.64.labels.png
1d9616bd5fc6d248097c8eddf9d387e6c18e6a432e4d88d6859117348fdc642c  grey.q.out.png
dda2924f5fac37195bda4c8025da2cc37b60093a66ff954b81de8327dd0107b8  rgb.q.out.png
fde7ef173eb9b9798421841a10bdb22f700e918d85f9b79fda5000ab21e3b70b  smooth.q.out.png
847ba91a1e2791b671c40eced308544f2fa82d4fff676767e260efb71e041d26  rgb.q.labels.png
2b41aa872a85fa19478d0a1ebe700e145135bb1da34da428a801ead8954cdede  smooth.q.labels.png
EOF
}

@test "opaque photos give the same bytes as kmq 0.1.0 (tiger k=128, kodim03 k=256)" {
    need_shared seed
    need_shared kodak
    # (tiger has gAMA and cHRM, which its label PNG now carries: --strip
    # leaves them out for the comparison; metadata.bats covers them;
    # --n-init 3 was 0.1.0's default)
    "$KMQ" compress -q -k 128 --n-init 3 --strip "$SHARED/seed/tiger.png" --labels t.labels.png --codebook t.bin
    "$KMQ" compress -q -k 256 --n-init 3 "$SHARED/kodak/kodim03.png" --labels k3.labels.png --codebook k3.bin
    strip_kmcp t.labels.png k3.labels.png # the codebook binding: see integrity.bats
    sha256sum -c - <<'EOF'
ae97049cc802d174fe46daf71b77addfe61a0921fd2d3b52f3db9a68f8127d7e  t.bin
d0fdbd245416e62fae62c97d5de4df4eaeb23db0206c64059fdcf3790305a78b  t.labels.png
2a3904b3bbded44c330b36d6c3ddd4e714ac7167e4ef7519f8f551fe76a97cd8  k3.bin
870dad7b8fbcc2559c84faae56ecdf132c58185c5ec6a425c015a915769e8f8f  k3.labels.png
EOF
}

@test "transparent pixels: one clear entry, whatever RGB they hid; the rest keeps its colours" {
    need_pil
    "$PY" "$ROOT/tests/tools/alpha_images.py" . disc text greytext
    for f in disc text greytext; do
        run -0 "$KMQ" compress -q -k 16 $f.png --format png8 -o $f.p8.png
        run -0 "$KMQ" decompress -q -o $f.out.png $f.p8.png
        run -0 "$PY" - $f.png $f.out.png $f.p8.png <<'PY'
import sys
import numpy as np
from PIL import Image
src = np.asarray(Image.open(sys.argv[1]).convert("RGBA"))
out = np.asarray(Image.open(sys.argv[2]).convert("RGBA"))
p8 = Image.open(sys.argv[3])
assert p8.mode == "P", p8.mode
alpha = np.frombuffer(p8.info["transparency"], np.uint8)
pal = np.array(p8.getpalette()[: 3 * len(alpha)]).reshape(-1, 3)
clear = [i for i, a in enumerate(alpha) if a == 0]
assert len(clear) == 1, f"{len(clear)} clear palette entries"
assert (pal[clear[0]] == 0).all(), pal[clear[0]]
hidden = src[..., 3] == 0
assert (out[hidden] == 0).all(), "a transparent pixel came back visible"
# PIL's own decoding of the PNG8 is what kmq decompress wrote
assert (np.asarray(p8.convert("RGBA"))[~hidden] == out[~hidden]).all()
print("ok")
PY
        assert_output "ok"
    done
}

@test "with alpha, -v and --json report the error PIL measures over black and over white" {
    need_pil
    "$PY" "$ROOT/tests/tools/alpha_images.py" . overlay greytext
    for f in overlay greytext; do
        run -0 --separate-stderr "$KMQ" compress -v -k 32 $f.png
        line=$(grep -o 'PSNR [0-9.]* dB (composited over black [0-9.]* dB, over white [0-9.]* dB)' <<<"$stderr")
        [ -n "$line" ] || { echo "$stderr"; false; }
        read -r mean black white <<<"$(sed 's/[^0-9. ]//g; s/  */ /g' <<<"$line" | awk '{print $1, $2, $3}')"
        "$KMQ" decompress -q $f.labels.png $f.codebook.bin
        read -r pb pw <<<"$(composite $f.png $f.decompressed.png)"
        awk -v a="$black" -v b="$pb" -v c="$white" -v d="$pw" -v m="$mean" 'BEGIN {
            mm = -10 * log((10 ^ (-b / 10) + 10 ^ (-d / 10)) / 2) / log(10)
            ok = (a - b) ^ 2 < 1e-6 && (c - d) ^ 2 < 1e-6 && (m - mm) ^ 2 < 1e-6
            if (!ok) printf "kmq %s/%s/%s, PIL %s/%s/%.3f\n", a, c, m, b, d, mm
            exit !ok }'
        run -0 "$KMQ" compress -q -f -k 32 --json $f.png
        run -0 "$PY" -c "
import json, sys
j = json.loads(sys.argv[1])
assert abs(j['psnr_black'] - $pb) < 0.001 and abs(j['psnr_white'] - $pw) < 0.001, j
print('ok')" "$output"
        assert_output "ok"
    done
}

@test "kmq compare on images with alpha: composited over black and white, as PIL measures" {
    need_pil
    "$PY" "$ROOT/tests/tools/alpha_images.py" . text
    "$KMQ" compress -q -k 8 text.png --format png8 -o t8.png
    "$KMQ" decompress -q -o t8.out.png t8.png
    run -0 "$KMQ" compare text.png t8.out.png
    read -r pb pw <<<"$(composite text.png t8.out.png)"
    [[ "$output" == *"over black $pb dB, over white $pw dB"* ]] || { echo "$output vs PIL $pb $pw"; false; }
    # colour hidden under alpha 0 is no difference
    "$PY" -c "
import numpy as np
from PIL import Image
a = np.asarray(Image.open('text.png')).copy()
a[a[..., 3] == 0, :3] = 77
Image.fromarray(a).save('text77.png')"
    run -0 "$KMQ" compare text.png text77.png
    assert_output "MSE 0 PSNR inf dB max abs error 0 (identical as seen over any background)"
}

@test "the transparent disc of the issue: k=16 keeps 15 visible colours, beats 4-channel clustering" {
    need_pil
    "$PY" "$ROOT/tests/tools/alpha_images.py" . disc
    run -0 "$KMQ" compress -q -k 16 disc.png --labels d.png --codebook d.bin
    "$KMQ" decompress -q -o d.out.png d.png d.bin
    # visible entries of the codebook (alpha byte of each 4-byte entry != 0)
    visible=$(tail -c +9 d.bin | head -c 64 | od -An -v -tu1 -w4 | awk '$4 != 0' | wc -l)
    [ "$visible" -eq 15 ]
    read -r pb pw <<<"$(composite disc.png d.out.png)"
    # kmq 0.1.0 gave 22.5 dB here (11 of 16 entries on hidden noise)
    awk -v b="$pb" -v w="$pw" 'BEGIN { exit !(b > 28 && w > 28) }' || { echo "$pb $pw"; false; }
}
