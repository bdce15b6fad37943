#!/bin/sh
# Runs the unit tests (Criterion) and the CLI tests (bats) against the build
# in folder $1, shows their TAP output, and ends with "N passed, N failed,
# N skipped".  Exit status 1 if anything failed.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
export KMQ_BUILD="$BUILD"
export KMQ_SHARED_DATA="${KMQ_SHARED_DATA:-$ROOT/../shared/data}"
# Under the sanitizers, a finding exits 86 (ASan) or 87 (UBSan), never 1:
# a test that expects kmq's "bad input" status cannot pass on an abort.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:exitcode=87"
tap=$(mktemp)
trap 'rm -f "$tap" "$tap.u"' EXIT

echo "== unit tests ($BUILD/unit_tests)"
"$BUILD/unit_tests" --tap="$tap.u" >/dev/null 2>&1
unit_rc=$?
cat "$tap.u"
cat "$tap.u" >>"$tap"

echo "== fuzz corpus and regression files, replayed ($BUILD/fuzz_replay_*)"
n=0
for t in image codebook npy decompress; do
    n=$((n + 1))
    dirs="$ROOT/tests/fuzz/corpus/$t"
    [ -d "$ROOT/tests/fuzz/regressions/$t" ] && dirs="$dirs $ROOT/tests/fuzz/regressions/$t"
    # shellcheck disable=SC2086
    if out=$("$BUILD/fuzz_replay_$t" $dirs 2>&1); then
        echo "ok $n - replay $t: $(echo "$out" | tail -1)"
    else
        echo "not ok $n - replay $t"
        echo "$out" | tail -5 | sed 's/^/# /'
    fi
done | tee -a "$tap"

echo "== CLI tests (bats tests/cli)"
bats --tap "$ROOT/tests/cli" | tee -a "$tap"
bats_rc=$?

passed=$(grep -c '^ok ' "$tap" | tr -d ' ')
skipped=$(grep -c '^ok .*# [Ss][Kk][Ii][Pp]' "$tap" | tr -d ' ')
failed=$(grep -c '^not ok ' "$tap" | tr -d ' ')
passed=$((passed - skipped))
# A crashed runner may report no test lines: count it as a failure.
if [ "$unit_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
if [ "$bats_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
