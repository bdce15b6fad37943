# Shared set-up for the CLI tests.
bats_require_minimum_version 1.5.0
bats_load_library bats-support 2>/dev/null || load '/usr/lib/bats/bats-support/load'
bats_load_library bats-assert 2>/dev/null || load '/usr/lib/bats/bats-assert/load'

ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
BUILD="${KMQ_BUILD:-$ROOT/build}"
KMQ="$BUILD/kmq"
GENIMG="$BUILD/genimg"
IMGCMP="$BUILD/imgcmp"
SHARED="${KMQ_SHARED_DATA:-$ROOT/../shared/data}"

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
}

need_shared() {
    [ -d "$SHARED/$1" ] || skip "shared test data not found at $SHARED/$1 (see ../shared/data/README.md)"
}

# psnr A B: PSNR computed by the independent imgcmp tool
psnr_of() { "$IMGCMP" "$1" "$2" | awk '{print $4}'; }
maxerr_of() { "$IMGCMP" "$1" "$2" | awk '{print $6}'; }
distinct_of() { "$IMGCMP" info "$1" | awk '{print $4}'; }
# no_temp_files DIR: nothing named .*.kmq-* left behind
no_temp_files() { [ -z "$(find "${1:-.}" -name '.*.kmq-*' 2>/dev/null)" ]; }
# strip_kmcp FILE...: removes the kmCp chunk (colour metadata + the codebook
# binding) from label PNGs in place, leaving the bytes kmq 0.1.0 wrote.
strip_kmcp() {
    /usr/bin/python3 - "$@" <<'PY'
import struct, sys
for path in sys.argv[1:]:
    d = open(path, "rb").read()
    out, at = d[:8], 8
    while at < len(d):
        n = struct.unpack(">I", d[at:at + 4])[0]
        if d[at + 4:at + 8] != b"kmCp":
            out += d[at:at + 12 + n]
        at += 12 + n
    open(path, "wb").write(out)
PY
}
# strace_kmq ARGS...: strace with LeakSanitizer off for the traced kmq (LSan
# cannot run under ptrace and would turn every SAN-build result into its own
# fatal error, exit 86); every other sanitizer check stays on.
strace_kmq() {
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace "$@"
}
