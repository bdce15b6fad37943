#!/usr/bin/env bash
# kmq side by side with its peers, measured in one run (the machine is shared
# and noisy: compare ratios, not absolute seconds).
#
#   bench/bench.sh [--full] [--python] [--scaling [--huge]] [--threads] [--no-table] [BUILD]
#
# default    tiger.png, kodim01-08 and two generated images (many: smooth
#            fields, 1000x1000, 764,548 colours; noisy: a high-ISO stand-in,
#            1200x900, 972,816 colours) at k = 16, 64, 256 with kmq's
#            defaults, and the seed job (tiger.png -k 128 --n-init 10
#            --max-iter 200), against pngquant --nofs and ImageMagick +dither
#            -colors (when installed); 3 interleaved runs, median wall time;
#            then the targets: kmq <= 0.7x pngquant's time and PSNR >= its
#            on every image and k.  About four minutes.
# --full     adds scikit-learn (Debian's python3-sklearn): tiger with n_init=10
#            (one run, ~3 minutes) and kodak with n_init=1 (one run each),
#            and the Python row: the classic scikit-learn colour-quantization
#            script on tiger (k=128, n_init=10, max_iter=200) with sklearn's
#            KMeans and with kmq.KMeans, the import the only change
#            (bench/python_classic.py; another ~3 minutes).
# --scaling  generated RGB images (smooth fields + noise) of 1, 4, 16, 59 and 400
#            megapixels, k=256 n_init=1: time, peak RSS, time per megapixel.
#            Above 2^25 pixels (59 and 400 MP) the image is streamed;
#            with --huge also 65535x65535 (4.3 GP: 13 GB raw, ~9 GB of PNG on
#            disk, half an hour).  Streamed outputs compared with the
#            in-memory path's where that can run (stb_image decodes up to
#            about 2^28 pixels).
# --python   the Python row alone (also part of --full).
# --threads  k-means phase with 1 and 2 threads.
# --no-table skip the peer table (e.g. --no-table --scaling).
# --eye      what people see (issue 24): tiger, kodim01-08 and the alpha
#            images of tests/tools/alpha_images.py (over mid grey) at k =
#            16, 64, 256, kmq's PNG8 at its default (dithered) and --nofs
#            against pngquant's default (which dithers) and --nofs, by
#            butteraugli (Debian's butteraugli, lower is better), SSIM
#            (scikit-image), PSNR, bytes and time; then the icons under
#            pngquant's --quality 65-80 and kmq's dB for it
#            (bench/what_people_see.py; make bench-deps installs them).
#            About five minutes.
# --load     under load (issue 25): tiger and kodim01-08 at k = 16, 64, 256
#            with two busy processes beside every run, kmq at its defaults
#            and with -t 1 against pngquant --nofs; then the photos and
#            their mirror images (18 files) at k = 64, PNG8, through
#            parallel -j 2 kmq, kmq -j 2 and parallel -j 2 pngquant --nofs
#            (bench/under_load.py; GNU parallel from make bench-deps).
#            About four minutes.
# --no-alpha skip the transparency section (run by default when pngquant is
#            there): generated RGBA/grey+alpha images (tests/tools/
#            alpha_images.py) and PngSuite's alpha files at k = 8, 16, 64,
#            256, kmq's PNG8 against pngquant --nofs, both decoded and
#            composited over black and over white (bench/composite_psnr.py).
#            About a minute.
#
# PSNR is measured by tests/tools/imgcmp on the decoded outputs (all RGB
# channels), bytes are what each tool writes (kmq: labels + codebook).
set -u
FULL=0 PYTHON=0 SCALING=0 HUGE=0 THREADS=0 TABLE=1 ALPHA=1 EYE=0 LOAD=0 BUILD=build
for a in "$@"; do
    case $a in
    --full) FULL=1 PYTHON=1 ;;
    --python) PYTHON=1 ;;
    --scaling) SCALING=1 ;;
    --threads) THREADS=1 ;;
    --no-table) TABLE=0 ;;
    --huge) HUGE=1 ;;
    --no-alpha) ALPHA=0 ;;
    --eye) EYE=1 ;;
    --load) LOAD=1 ;;
    -h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d'; exit 0 ;;
    *) BUILD=$a ;;
    esac
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
DATA=${KMQ_SHARED_DATA:-$ROOT/../shared/data}
KMQ=$BUILD/kmq IMGCMP=$BUILD/imgcmp GENIMG=$BUILD/genimg
PY=/usr/bin/python3
REPS=${BENCH_REPS:-3}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

have() { command -v "$1" >/dev/null 2>&1; }
HAVE_PQ=0 HAVE_IM=0 HAVE_SK=0
have pngquant && HAVE_PQ=1
have convert && HAVE_IM=1
[ "$FULL" = 1 ] && "$PY" -c 'import sklearn, PIL' 2>/dev/null && HAVE_SK=1
[ -d "$DATA" ] || { echo "bench: $DATA not found (see ../shared/data/README.md)"; exit 1; }

echo "kmq $("$KMQ" --version | cut -d' ' -f2), $(nproc) cores; peers:" \
    "$([ $HAVE_PQ = 1 ] && pngquant --version | cut -d' ' -f1 | sed 's/^/pngquant /')" \
    "$([ $HAVE_IM = 1 ] && convert -version | head -1 | cut -d' ' -f2,3)" \
    "$([ $HAVE_SK = 1 ] && "$PY" -c 'import sklearn; print("scikit-learn", sklearn.__version__)')"

# timed OUT_PREFIX CMD...: runs CMD, appends "seconds rss_kb" to OUT_PREFIX.t
# (wall time by the nanosecond clock: /usr/bin/time says it in hundredths,
# too coarse for runs of 0.05 s)
timed() {
    local out=$1 t0 t1
    shift
    t0=$(date +%s%N)
    if /usr/bin/time -f "%M" -o "$W/time" "$@" >"$W/stdout" 2>"$W/stderr"; then
        t1=$(date +%s%N)
        echo "$(((t1 - t0) / 1000)) $(cat "$W/time")" | awk '{ printf "%.4f %d\n", $1 / 1e6, $2 }' >>"$out.t"
    else
        echo "FAIL: $*" >&2
        sed 's/^/  /' "$W/stderr" >&2
        echo "nan 0" >>"$out.t"
    fi
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
bytes() { stat -c %s "$@" | awk '{s+=$1} END {print s}'; }
psnr() { "$IMGCMP" "$1" "$2" | awk '{print $4}'; }

# job NAME IMAGE K NINIT MAXITER: interleaved runs of every tool on one image
# (NINIT/MAXITER empty = kmq's defaults)
ROWS=$W/rows
job() {
    local name=$1 img=$2 k=$3 ninit=$4 maxit=$5 p=$W/$1-k$3
    local kopts=(-q -f -k "$k")
    [ -n "$ninit" ] && kopts+=(--n-init "$ninit")
    [ -n "$maxit" ] && kopts+=(--max-iter "$maxit")
    for _ in $(seq "$REPS"); do
        timed "$p.kmq" "$KMQ" compress "${kopts[@]}" --labels "$p.l.png" --codebook "$p.cb" "$img"
        # plain against plain: --nofs (png8 dithers by default; the "what
        # people see" section compares the defaults)
        timed "$p.p8" "$KMQ" compress "${kopts[@]}" --format png8 --nofs -o "$p.p8.png" "$img"
        [ $HAVE_PQ = 1 ] && timed "$p.pq" pngquant --nofs -f -o "$p.pq.png" "$k" "$img"
        [ $HAVE_IM = 1 ] && timed "$p.im" convert "$img" +dither -colors "$k" "PNG8:$p.im.png"
    done
    "$KMQ" decompress -q -f -o "$p.kmq.png" "$p.l.png" "$p.cb"
    row "$name" "$k" kmq "$p.kmq" "$(psnr "$img" "$p.kmq.png")" "$(bytes "$p.l.png" "$p.cb")"
    "$KMQ" decompress -q -f -o "$p.p8.out.png" "$p.p8.png"
    row "$name" "$k" kmq-png8 "$p.p8" "$(psnr "$img" "$p.p8.out.png")" "$(bytes "$p.p8.png")"
    if [ "$name" = seed ]; then # the strongest setting, one run
        timed "$p.z" "$KMQ" compress "${kopts[@]}" -z --labels "$p.lz.png" --codebook "$p.cbz" "$img"
        row "$name" "$k" kmq-z "$p.z" "$(psnr "$img" "$p.kmq.png")" "$(bytes "$p.lz.png" "$p.cbz")"
    fi
    [ $HAVE_PQ = 1 ] && row "$name" "$k" pngquant "$p.pq" "$(psnr "$img" "$p.pq.png")" "$(bytes "$p.pq.png")"
    [ $HAVE_IM = 1 ] && row "$name" "$k" imagemagick "$p.im" "$(psnr "$img" "$p.im.png")" "$(bytes "$p.im.png")"
    if [ $HAVE_SK = 1 ]; then
        local sk_ninit=${ninit:-1} sk_maxit=${maxit:-300}
        timed "$p.sk" "$PY" "$ROOT/bench/sklearn_kmeans.py" "$img" "$k" "$sk_ninit" "$sk_maxit" 0
        row "$name" "$k" "sklearn(n_init=$sk_ninit)" "$p.sk" "$(awk '{print $4}' "$W/stdout")" "-"
    fi
}
# row NAME K TOOL TIMEFILE PSNR BYTES
row() {
    local t rss
    t=$(awk '{print $1}' "$4.t" | median)
    rss=$(awk '{print $2}' "$4.t" | sort -n | tail -1)
    echo "$1 $2 $3 $t $((rss / 1024)) $5 $6" >>"$ROWS"
}

if [ "$TABLE" = 1 ]; then
"$GENIMG" "$W/many.png" 1000 1000 3 smooth && "$GENIMG" "$W/noisy.png" 1200 900 3 noisy ||
    { echo "bench: genimg failed"; exit 1; }
echo "running: the seed job (tiger k=128 n_init=10 max_iter=200); tiger, kodim01-08, many, noisy"
echo "at k=16/64/256 with kmq's defaults; $REPS interleaved runs each"
job seed "$DATA/seed/tiger.png" 128 10 200
for k in 16 64 256; do
    job tiger "$DATA/seed/tiger.png" "$k" "" ""
    for i in 1 2 3 4 5 6 7 8; do
        job "kodim0$i" "$DATA/kodak/kodim0$i.png" "$k" "" ""
    done
    job many "$W/many.png" "$k" "" ""
    job noisy "$W/noisy.png" "$k" "" ""
done

# The table: kmq's time ratio to each peer on the same image and k.
echo
awk '
{ key = $1 " " $2; t[key, $3] = $4; tools[$3] = 1; line[NR] = $0 }
END {
    printf "%-9s %4s %-20s %9s %8s %8s %10s %12s\n", "image", "k", "tool", "wall s", "RSS MB", "PSNR dB", "bytes", "kmq/peer t"
    for (i = 1; i <= NR; i++) {
        split(line[i], f, " ")
        ratio = "-"
        if (f[3] !~ /^kmq/ && ((f[1] " " f[2]), "kmq") in t && f[4] > 0)
            ratio = sprintf("%.2f", t[f[1] " " f[2], "kmq"] / f[4])
        printf "%-9s %4s %-20s %9.3f %8d %8.3f %10s %12s\n", f[1], f[2], f[3], f[4], f[5], f[6], f[7], ratio
    }
}' "$ROWS"

echo
echo "kodim01-08, mean PSNR and worst time ratio per k:"
awk '$1 ~ /^kodim/ {
    key = $2 " " $3; s[key] += $6; n[key]++; t[$1 " " $2, $3] = $4; ks[$2] = 1; tl[$3] = 1
}
END {
    for (k in ks) for (tool in tl) if ((k " " tool) in n) {
        worst = 0
        if (tool !~ /^kmq/) for (kk in t) {
            split(kk, a, SUBSEP); split(a[1], b, " ")
            if (b[2] == k && a[2] == tool && ((a[1]), "kmq") in t) {
                r = t[a[1], "kmq"] / t[kk]; if (r > worst) worst = r
            }
        }
        printf "  k=%-4s %-20s mean PSNR %.3f dB%s\n", k, tool, s[k " " tool] / n[k " " tool],
            (tool !~ /^kmq/ ? sprintf(", worst kmq/peer time %.2f", worst) : "")
    }
}' "$ROWS" | sort -t= -k2 -n

if [ $HAVE_PQ = 1 ]; then
    echo
    echo "targets at kmq's defaults (tiger, kodim01-08, many, noisy; k = 16, 64, 256):"
    echo "kmq's wall time <= 0.7x pngquant --nofs's and PSNR >= pngquant's, per image and k"
    awk '$1 != "seed" { t[$1, $2, $3] = $4; p[$1, $2, $3] = $6; im[$1 " " $2] = 1 }
    $1 == "seed" { st[$3] = $4; sp[$3] = $6 }
    END {
        split("kmq kmq-png8", tools, " ")
        for (q = 1; q <= 2; q++) {
            tool = tools[q]; n = fast = good = 0; worst = 0; wname = ""; bad = ""
            for (key in im) {
                split(key, a, " ")
                if (!((a[1], a[2], "pngquant") in t) || !((a[1], a[2], tool) in t)) continue
                n++; r = t[a[1], a[2], tool] / t[a[1], a[2], "pngquant"]
                fast += r <= 0.7; good += p[a[1], a[2], tool] >= p[a[1], a[2], "pngquant"]
                if (r > worst) { worst = r; wname = a[1] " k=" a[2] }
                if (p[a[1], a[2], tool] < p[a[1], a[2], "pngquant"]) bad = bad " " a[1] "/k=" a[2]
            }
            printf "  %-9s time <= 0.7x in %d of %d (worst %.2fx, %s); PSNR >= in %d of %d%s\n",
                tool, fast, n, worst, wname, good, n, (bad != "" ? " (below:" bad ")" : "")
        }
        if (("kmq" in st) && ("pngquant" in st))
            printf "  seed job (tiger -k 128 --n-init 10 --max-iter 200): kmq %.3f s, pngquant %.3f s: %.2fx (goal <= 1.0x); PSNR %.3f vs %.3f dB\n",
                st["kmq"], st["pngquant"], st["kmq"] / st["pngquant"], sp["kmq"], sp["pngquant"]
    }' "$ROWS"
    echo
    echo "kodim01-08, files smaller than pngquant's with PSNR >= pngquant's (issue 4, target 2):"
    awk '$1 ~ /^kodim/ { b[$1, $2, $3] = $7; p[$1, $2, $3] = $6; ks[$2] = 1; im[$1] = 1 }
    END {
        for (k in ks) {
            nl = np = n = 0
            for (i in im) if ((i, k, "pngquant") in b) {
                n++
                nl += b[i, k, "kmq"] < b[i, k, "pngquant"] && p[i, k, "kmq"] >= p[i, k, "pngquant"]
                np += b[i, k, "kmq-png8"] < b[i, k, "pngquant"] && p[i, k, "kmq-png8"] >= p[i, k, "pngquant"]
            }
            printf "  k=%-4s labels+codebook %d of %d, png8 %d of %d\n", k, nl, n, np, n
        }
    }' "$ROWS" | sort -t= -k2 -n
fi

echo
echo "label PNG writing (palette order + PNG encode + write), share of the compress wall time"
echo "(kmq -v, default level, median of 5 runs, then the range):"
for spec in "seed:$DATA/seed/tiger.png:-k 128 --n-init 10 --max-iter 200" \
            "kodim01:$DATA/kodak/kodim01.png:" "kodim01-t1:$DATA/kodak/kodim01.png:-t 1" \
            "kodim05:$DATA/kodak/kodim05.png:-k 256"; do
    IFS=: read -r name img opts <<<"$spec"
    for _ in 1 2 3 4 5; do
        # shellcheck disable=SC2086
        "$KMQ" compress -v -f $opts --labels "$W/s.png" --codebook "$W/s.cb" "$img" 2>&1 |
            sed -n 's/.*time \([0-9.]*\) s .* encode \([0-9.]*\), write \([0-9.]*\)).*/\1 \2 \3/p'
    done | awk -v n="$name" '{ t[NR] = $1; e[NR] = $2; w[NR] = $3; s[NR] = 100 * ($2 + $3) / $1 }
        END {
            for (i = 1; i <= NR; i++) for (j = i + 1; j <= NR; j++) if (s[j] < s[i]) {
                x = s[i]; s[i] = s[j]; s[j] = x; x = t[i]; t[i] = t[j]; t[j] = x
                x = e[i]; e[i] = e[j]; e[j] = x; x = w[i]; w[i] = w[j]; w[j] = x }
            m = int((NR + 1) / 2)
            printf "  %-8s total %.3f s, encode %.3f s + write %.3f s = %.0f %% (%.0f-%.0f %%)\n", n, t[m], e[m], w[m], s[m], s[1], s[NR]
        }'
done
fi

if [ "$ALPHA" = 1 ] && [ $HAVE_PQ = 1 ] && "$PY" -c 'import PIL, numpy' 2>/dev/null; then
    echo
    echo "transparency: kmq --format png8 vs pngquant --nofs K, decoded and composited over black"
    echo "and over white (PSNR dB, colour channels); kmq's labels + codebook bytes too; 'both'"
    echo "says whether kmq >= pngquant over each background, 'mean' over their mean error:"
    mkdir -p "$W/alpha"
    "$PY" "$ROOT/tests/tools/alpha_images.py" "$W/alpha"
    for f in basn4a08 basn4a16 basn6a08 basn6a16 tbbn0g04 tbbn2c16 tbbn3p08 tbwn0g16 tbyn3p08 \
             tm3n3p02 tp1n3p08; do
        [ -f "$DATA/pngsuite/$f.png" ] && cp "$DATA/pngsuite/$f.png" "$W/alpha/"
    done
    printf "%-9s %4s | %7s %7s %6s %6s | %7s %7s %6s | %4s %4s\n" image k "kmq blk" white png8 "l+cb" \
        "pq blk" white bytes both mean
    for img in "$W"/alpha/*.png; do
        n=$(basename "$img" .png)
        for k in 8 16 64 256; do
            p=$W/a-$n-$k
            "$KMQ" compress -q -f -k "$k" --format png8 --nofs -o "$p.k8.png" "$img" &&
                "$KMQ" compress -q -f -k "$k" --labels "$p.l.png" --codebook "$p.cb" "$img" &&
                "$KMQ" decompress -q -f -o "$p.kd.png" "$p.k8.png" || { echo "FAIL kmq $n $k"; continue; }
            pngquant --nofs -f -o "$p.pq.png" "$k" "$img" 2>/dev/null || { echo "FAIL pngquant $n $k"; continue; }
            read -r kb kw <<<"$("$PY" "$ROOT/bench/composite_psnr.py" "$img" "$p.kd.png")"
            read -r qb qw <<<"$("$PY" "$ROOT/bench/composite_psnr.py" "$img" "$p.pq.png")"
            echo "$n $k $kb $kw $(bytes "$p.k8.png") $(bytes "$p.l.png" "$p.cb") $qb $qw $(bytes "$p.pq.png")"
        done
    done | awk '
    function mse(db) { return db == "inf" ? 0 : 10 ^ (-db / 10) }
    function ge(a, b) { return a == "inf" || (b != "inf" && a + 0 >= b + 0) }
    NF == 9 {
        both = ge($3, $7) && ge($4, $8)
        mean = (mse($3) + mse($4)) <= (mse($7) + mse($8))
        printf "%-9s %4s | %7s %7s %6s %6s | %7s %7s %6s | %4s %4s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9,
            both ? "yes" : "NO", mean ? "yes" : "NO"
        n++; nb += both; nm += mean; b8 += $5; bl += $6; bq += $9
        next
    }
    { print }
    END {
        printf "  %d cases: kmq >= pngquant over black and over white in %d, in the mean of the two in %d;\n", n, nb, nm
        printf "  bytes in all: kmq png8 %d, labels + codebook %d, pngquant %d\n", b8, bl, bq
    }'
fi

if [ "$PYTHON" = 1 ]; then
    echo
    echo "Python: the classic scikit-learn script, import switched to kmq (bench/python_classic.py)"
    if "$PY" -c 'import sklearn, PIL, numpy' 2>/dev/null; then
        KMQ_LIBRARY=$BUILD/libkmq.so.1 "$PY" "$ROOT/bench/python_classic.py" "$DATA/seed/tiger.png"
    else
        echo "  skipped: needs python3-sklearn, python3-pil and python3-numpy (make bench-deps)"
    fi
fi

if [ "$THREADS" = 1 ]; then
    echo
    echo "k-means phase, 1 vs 2 threads (kmq -v), median of $REPS:"
    for spec in "seed:$DATA/seed/tiger.png:-k 128 --n-init 10 --max-iter 200" \
                "kodim05:$DATA/kodak/kodim05.png:-k 256 --n-init 1"; do
        IFS=: read -r name img opts <<<"$spec"
        for t in 1 2; do
            for _ in $(seq "$REPS"); do
                # shellcheck disable=SC2086
                "$KMQ" compress -v -f -t $t $opts --labels "$W/t.png" --codebook "$W/t.cb" "$img" 2>&1 |
                    sed -n 's/.* k-means \([0-9.]*\),.*/\1/p'
            done | median >"$W/thr$t"
        done
        awk -v a="$(cat "$W/thr1")" -v b="$(cat "$W/thr2")" -v n="$name" \
            'BEGIN { printf "  %-8s 1 thread %.3f s, 2 threads %.3f s, speed-up %.2fx\n", n, a, b, a / b }'
    done
fi

if [ "$SCALING" = 1 ]; then
    echo
    echo "scaling: generated RGB (smooth fields + noise), k=256 n_init=1, one run each"
    echo "  path: memory = decoded whole, stream = read in bands (above 2^25 pixels);"
    echo "  same: the streamed outputs equal --stream=never's, byte for byte"
    printf "%-12s %10s %7s %9s %7s %8s %8s %5s\n" size distinct path "wall s" "s/MP" "RSS MB" "RSS/raw" same
    sizes="1000x1000 2000x2000 4000x4000 8181x7221 20000x20000"
    [ "$HUGE" = 1 ] && sizes="$sizes 65535x65535"
    for spec in $sizes; do
        w=${spec%x*} h=${spec#*x}
        "$GENIMG" "$W/scale.png" "$w" "$h" 3 smooth 7 || { echo "genimg failed"; continue; }
        rm -f "$W/scale.t"
        timed "$W/scale" "$KMQ" compress -f --json -k 256 --n-init 1 --labels "$W/s.png" --codebook "$W/s.cb" "$W/scale.png"
        read -r secs rss <"$W/scale.t"
        n=$(sed -n 's/.*"distinct": \([0-9]*\).*/\1/p' "$W/stdout")
        path=$(grep -q '"streamed": true' "$W/stdout" && echo stream || echo memory)
        same=-
        if [ "$path" = stream ] && [ $((w * h)) -le 400000000 ]; then
            # the in-memory path on the same image (its cap raised to fit)
            # (stb_image cannot decode it whole past about 2^28 pixels: n/a)
            if "$KMQ" compress -q -f --stream=never --max-pixels $((w * h)) -k 256 --n-init 1 \
                --labels "$W/m.png" --codebook "$W/m.cb" "$W/scale.png" 2>/dev/null; then
                cmp -s "$W/s.png" "$W/m.png" && cmp -s "$W/s.cb" "$W/m.cb" && same=yes || same=NO
            else
                same=n/a
            fi
        fi
        awk -v w="$w" -v h="$h" -v n="$n" -v s="$secs" -v r="$rss" -v p="$path" -v same="$same" 'BEGIN {
            mp = w * h / 1e6; raw = w * h * 3 / 1048576
            printf "%-12s %10d %7s %9.2f %7.3f %8.0f %8.2f %5s\n", w "x" h, n, p, s, s / mp, r / 1024, r / 1024 / raw, same }'
        echo "$w $h $secs" >>"$W/scaling"
        rm -f "$W/scale.png" "$W/s.png" "$W/m.png"
    done
    awk '$1 * $2 == 4000000 { a = $3 / 4 } $1 * $2 == 400000000 { b = $3 / 400 }
        END { if (a && b) printf "time per megapixel, 400 MP / 4 MP: %.3f / %.3f s = %.2fx\n", b, a, b / a }' "$W/scaling"
fi

if [ "$EYE" = 1 ]; then
    echo
    if ! command -v butteraugli >/dev/null || ! command -v pngquant >/dev/null ||
        ! "$PY" -c 'import skimage, PIL, numpy' 2>/dev/null; then
        echo "what people see: skipped (needs butteraugli, pngquant and python3-skimage: make bench-deps)"
    else
        echo "what people see: PNG8 by butteraugli (lower is better), SSIM, PSNR, bytes, time;"
        echo "kmq: its default (dithers, perceptual palette); kmq-plain: --nofs;"
        echo "pngquant: its default (dithers); pngquant-nofs. Images with alpha over mid grey."
        mkdir -p "$W/eye-alpha"
        "$PY" "$ROOT/tests/tools/alpha_images.py" "$W/eye-alpha" >/dev/null
        "$PY" "$ROOT/bench/what_people_see.py" "$KMQ" "$W/eye" "$DATA/seed/tiger.png" "$DATA"/kodak/kodim0[1-8].png \
            "$W"/eye-alpha/*.png --k 16,64,256 --tools kmq-plain,kmq,pngquant,pngquant-nofs --summary
        echo
        echo "icons and logos under --quality: pngquant's 65-80 and kmq's dB for it"
        "$PY" "$ROOT/bench/what_people_see.py" "$KMQ" "$W/eye" "$W"/eye-alpha/*.png --quality 65-80
    fi
fi

if [ "$LOAD" = 1 ]; then
    echo
    if ! command -v pngquant >/dev/null || ! "$PY" -c 'import PIL' 2>/dev/null; then
        echo "under load: skipped (needs pngquant and python3-pil: make bench-deps)"
    else
        echo "under load: what users running kmq beside other work, or many at once, see"
        "$PY" "$ROOT/bench/under_load.py" "$KMQ" "$W/load" "$DATA/seed/tiger.png" "$DATA"/kodak/kodim0[1-8].png
    fi
fi
