#!/bin/sh
# make fuzz: runs each libFuzzer target for a while on its corpus, as TAP,
# and ends with "N passed, N failed, N skipped".
#   tests/fuzz/run.sh FUZZ_DIR SECONDS TARGET...
# New inputs go to FUZZ_DIR/corpus/TARGET (the committed seeds in
# tests/fuzz/corpus/TARGET are only read); crashes to FUZZ_DIR/crashes/.
# The image target also reads ../shared/data/pngsuite when it is there.
set -u
DIR=$1 SECS=$2
shift 2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${KMQ_SHARED_DATA:-$ROOT/../shared/data}
mkdir -p "$DIR/crashes"
i=0 passed=0 failed=0
echo "1..$#"
for t in "$@"; do
    i=$((i + 1))
    mkdir -p "$DIR/corpus/$t"
    extra=
    [ "$t" = image ] && [ -d "$SHARED/pngsuite" ] && extra="$SHARED/pngsuite"
    log="$DIR/$t.log"
    # -malloc_limit_mb: no input may make kmq ask for far more than the
    # pixels it is allowed (1 MP in the targets).
    # shellcheck disable=SC2086
    if "$DIR/fuzz_$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=256 \
        -print_final_stats=1 -artifact_prefix="$DIR/crashes/$t-" \
        "$DIR/corpus/$t" "$ROOT/tests/fuzz/corpus/$t" $extra >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "ok $i - fuzz $t: ${runs:-?} runs in ${SECS}s, no crash"
        passed=$((passed + 1))
    else
        echo "not ok $i - fuzz $t: see $log and $DIR/crashes/"
        grep -E "ERROR|SUMMARY|Test unit written" "$log" | sed 's/^/# /' | head -5
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
