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
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$ROOT/tests/lsan.supp"
tap=$(mktemp)
trap 'rm -f "$tap" "$tap.u" "$tap.py"' EXIT

echo "== unit tests ($BUILD/unit_tests)"
"$BUILD/unit_tests" --tap="$tap.u" >/dev/null 2>&1
unit_rc=$?
cat "$tap.u"
cat "$tap.u" >>"$tap"

echo "== fuzz corpus and regression files, replayed ($BUILD/fuzz_replay_*)"
# The targets are the Makefile's FUZZ_TARGETS (make test passes them), or
# every replay program built; a corpus or regression folder that no target
# replays fails the run, so a new target cannot be left out unnoticed.
targets=${KMQ_FUZZ_TARGETS:-$(for f in "$BUILD"/fuzz_replay_*; do [ -x "$f" ] && echo "${f##*fuzz_replay_}"; done)}
n=0
for d in "$ROOT"/tests/fuzz/corpus/* "$ROOT"/tests/fuzz/regressions/*; do
    [ -d "$d" ] || continue
    case " $(echo $targets) " in
    *" ${d##*/} "*) ;;
    *) n=$((n + 1)); echo "not ok $n - ${d#"$ROOT"/} is replayed by no fuzz target (FUZZ_TARGETS: $(echo $targets))" ;;
    esac
done | tee -a "$tap"
n=$(grep -c '^not ok .* is replayed by no fuzz target' "$tap")
for t in $targets; do
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

echo "== Python module (pytest tests/python)"
# Debian's python3 (its numpy and pytest), against this build's library.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
py_rc=0
if ! "$PY" -c 'import pytest' 2>/dev/null; then
    echo "ok 1 - python tests # SKIP python3-pytest is not installed (make deps installs it)"
else
    py_env="KMQ_LIBRARY=$BUILD/libkmq.so.1 PYTHONPATH=$ROOT/python PYTHONDONTWRITEBYTECODE=1"
    if [ -n "${KMQ_SANITIZE:-}" ]; then
        # The library is built with ASan+UBSan: python3 is not, so their
        # runtimes are preloaded (Python's own allocations are not leak-checked).
        py_env="$py_env LD_PRELOAD=$(cc -print-file-name=libasan.so):$(cc -print-file-name=libubsan.so)"
        py_env="$py_env ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0"
    fi
    # shellcheck disable=SC2086
    env $py_env "$PY" -m pytest -v -rs -p no:cacheprovider "$ROOT/tests/python" >"$tap.py" 2>&1
    py_rc=$?
    # pytest's verbose lines as TAP: "path::test PASSED", "... SKIPPED (reason)"
    py_tap=$(awk '$2 ~ /^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)$/ && $1 ~ /\.py/ {
            n++; name = $1; sub(/^.*\//, "", name)
            if ($2 == "PASSED" || $2 == "XFAIL") print "ok " n " - " name
            else if ($2 == "SKIPPED") { r = $0; sub(/^.*SKIPPED */, "", r); sub(/ *\[ *[0-9]+%\]$/, "", r); print "ok " n " - " name " # SKIP " r }
            else print "not ok " n " - " name
         }' "$tap.py")
    # A run that crashed or failed without a failing test line counts too.
    if [ "$py_rc" -ne 0 ] && ! echo "$py_tap" | grep -q '^not ok'; then
        py_tap="$py_tap${py_tap:+
}not ok - pytest exited with status $py_rc"
    fi
    echo "$py_tap" | tee -a "$tap"
    [ "$py_rc" -eq 0 ] || grep -v '^tests/.* \(PASSED\|SKIPPED\)' "$tap.py" | tail -60 | sed 's/^/# /'
fi

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
