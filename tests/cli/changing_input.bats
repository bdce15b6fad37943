#!/usr/bin/env bats
# A streamed input is read three times (issue 23): a file rewritten or cut
# while kmq reads it gives "changed while being read" and no outputs, never
# a pair that matches neither file.
load helpers

# The input, opened by the kmq process $1 (its descriptor is there).
wait_opened() {
    local i
    for i in $(seq 2000); do
        ls -l "/proc/$1/fd" 2>/dev/null | grep -q "$2" && return 0
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.002
    done
}

# cut_while_running SIZE KMQ-ARGS...: kmq run on big.png (stderr to err),
# big.png cut to SIZE bytes once kmq has it open; exit 1 is expected.
cut_while_running() {
    local size=$1 pid rc=0
    shift
    "$KMQ" "$@" 2>err &
    pid=$!
    wait_opened "$pid" big.png
    truncate -s "$size" big.png
    wait "$pid" || rc=$?
    [ "$rc" -eq 1 ] || { echo "exit $rc: $(cat err)"; false; }
}

# copy_during_read FILE KMQ-ARGS...: kmq run on big.png under strace, its
# first read of big.png returned 1 s late while FILE is copied over it;
# exit 1 with the message expected.
copy_during_read() {
    command -v strace >/dev/null || skip "strace not installed"
    local file=$1 pid rc=0
    shift
    strace_kmq -f -o /dev/null -P big.png -e trace=read -e inject=read:delay_exit=1000000:when=1 \
        "$KMQ" "$@" 2>err &
    pid=$!
    sleep 0.5
    cp "$file" big.png
    wait "$pid" || rc=$?
    [ "$rc" -eq 1 ] || { echo "exit $rc: $(cat err)"; false; }
    run grep -v '^strace: ' err # strace's own note on -P
    assert_output "kmq: big.png: changed while being read"
}

@test "a streamed input rewritten or truncated at random moments: the message, or the bytes of one of the two files (100 runs)" {
    "$GENIMG" a.png 2400 1600 1 smooth 1
    "$GENIMG" b.png 2400 1600 1 smooth 2
    for x in a b; do
        run -0 "$KMQ" compress -q -k 4 --stream=never "$x.png" --labels "$x.ref.png" --codebook "$x.ref.bin"
    done
    # how long one run takes here (sanitizers are slower): the changes land within it
    local t0 t1 span
    t0=$(date +%s%N)
    run -0 "$KMQ" compress -q -k 4 --stream a.png --labels t.png --codebook t.bin
    t1=$(date +%s%N)
    span=$(((t1 - t0) / 1000000))
    local changed=0 a=0 b=0 i pid rc
    RANDOM=23
    for i in $(seq 100); do
        cp a.png big.png
        rm -f x.png x.bin
        "$KMQ" compress -q -k 4 --stream big.png --labels x.png --codebook x.bin 2>err &
        pid=$!
        wait_opened "$pid" big.png
        sleep "$(printf '0.%03d' $((RANDOM % span % 1000)))"
        case $((i % 3)) in
        0) truncate -s $((RANDOM * 100)) big.png ;;
        *) cp b.png big.png ;; # in place: the same inode, truncated then written
        esac
        rc=0
        wait "$pid" || rc=$?
        if [ "$rc" -ne 0 ]; then
            [ "$rc" -eq 1 ] || { echo "run $i: exit $rc: $(cat err)"; false; }
            [ "$(cat err)" = "kmq: big.png: changed while being read" ] || { echo "run $i: $(cat err)"; false; }
            [ ! -e x.png ] && [ ! -e x.bin ] && no_temp_files . || { echo "run $i: outputs left"; false; }
            changed=$((changed + 1))
        elif cmp -s x.png a.ref.png && cmp -s x.bin a.ref.bin; then
            a=$((a + 1))
        elif cmp -s x.png b.ref.png && cmp -s x.bin b.ref.bin; then
            b=$((b + 1))
        else
            echo "run $i: exit 0 with a pair that is neither file's"
            false
        fi
    done
    echo "# changed $changed, a $a, b $b" >&3
    [ "$changed" -gt 10 ] # the changes did land during the reads
}

@test "a streamed input cut short while being read is named, with the cause (not the output's name)" {
    "$GENIMG" a.png 2400 1600 1 smooth 1
    cp a.png big.png
    cut_while_running 1000 compress -q -k 4 --stream big.png --labels x.png --codebook x.bin
    run cat err
    assert_output "kmq: big.png: changed while being read"
    [ ! -e x.png ] && [ ! -e x.bin ] && no_temp_files .
}

@test "--json names a changed input's failure" {
    "$GENIMG" a.png 2400 1600 1 smooth 1
    cp a.png big.png
    cut_while_running 1000 compress -q -k 4 --stream --json big.png --labels x.png --codebook x.bin >out
    run cat out
    assert_output '{"input": "big.png", "status": "error", "error": "changed while being read"}'
}

@test "a label PNG cut short while decompress --stream reads it: 'changed while being read', no output" {
    "$GENIMG" a.png 2400 1600 3 smooth 1
    run -0 "$KMQ" compress -q -k 64 --stream=never a.png --labels l.png --codebook l.bin
    cp l.png big.png
    cut_while_running 5000 decompress -q --stream big.png l.bin -o out.png
    run cat err
    assert_output "kmq: big.png: changed while being read"
    [ ! -e out.png ] && no_temp_files .
}

@test "an input rewritten while it is read whole (in memory): 'changed while being read', no outputs" {
    "$GENIMG" a.png 64 48 3 demo 1
    "$GENIMG" b.png 64 48 3 smooth 2
    cp a.png big.png
    copy_during_read b.png compress -q -k 4 --stream=never big.png --labels x.png --codebook x.bin
    [ ! -e x.png ] && [ ! -e x.bin ] && no_temp_files .
}

@test "a label PNG rewritten while decompress reads it whole: 'changed while being read', no output" {
    "$GENIMG" a.png 64 48 3 demo 1
    run -0 "$KMQ" compress -q -k 8 a.png --labels l.png --codebook l.bin
    run -0 "$KMQ" compress -q -k 8 --seed 3 a.png --labels m.png --codebook m.bin
    cp l.png big.png
    copy_during_read m.png decompress -q --stream=never big.png l.bin -o out.png
    [ ! -e out.png ] && no_temp_files .
}
