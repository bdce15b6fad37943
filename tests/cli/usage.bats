#!/usr/bin/env bats
# Command line: help, version, usage errors (exit 2), k range.
load helpers

@test "--help prints usage on stdout and exits 0" {
    run -0 --separate-stderr "$KMQ" --help
    assert_output --partial "Usage: kmq COMMAND"
    assert_output --partial "compress"
    [ -z "$stderr" ]
}

@test "help compress and compress --help show the same text" {
    run -0 "$KMQ" help compress
    a=$output
    run -0 "$KMQ" compress --help
    [ "$a" = "$output" ]
    assert_output --partial "--n-init"
    assert_output --partial "--codebook"
}

@test "help decompress" {
    run -0 "$KMQ" help decompress
    assert_output --partial "Usage: kmq decompress"
}

@test "--version" {
    run -0 "$KMQ" --version
    assert_output --regexp '^kmq [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "no command is a usage error" {
    run -2 "$KMQ"
}

@test "unknown command is a usage error" {
    run -2 --separate-stderr "$KMQ" squash x.png
    [[ "$stderr" == *"unknown command 'squash'"* ]]
}

@test "k = 1 and k = 257 are usage errors; messages say the range" {
    "$GENIMG" in.png 16 16 3 demo
    for k in 1 257 0 -3 abc 12x ""; do
        run -2 --separate-stderr "$KMQ" compress -k "$k" in.png
        [[ "$stderr" == *"from 2 to 256"* ]] || { echo "k=$k: $stderr"; false; }
    done
    [ ! -e in.labels.png ] && [ ! -e in.codebook.bin ]
}

@test "every k from 2 to 256 works" {
    "$GENIMG" in.png 48 48 3 noise 3
    for k in $(seq 2 256); do
        run -0 "$KMQ" compress -q -f -k "$k" --n-init 1 --max-iter 2 in.png
        run -0 "$KMQ" decompress -q -f in.labels.png in.codebook.bin
        n=$(distinct_of in.decompressed.png)
        [ "$n" -le "$k" ] || { echo "k=$k gave $n colours"; false; }
    done
}

@test "bad option values are usage errors" {
    "$GENIMG" in.png 8 8 3 demo
    run -2 "$KMQ" compress --init fancy in.png
    run -2 "$KMQ" compress --n-init 0 in.png
    run -2 "$KMQ" compress --max-iter 0 in.png
    run -2 "$KMQ" compress --tol -1 in.png
    run -2 "$KMQ" compress --tol nan in.png
    run -2 "$KMQ" compress --seed -1 in.png
    run -2 "$KMQ" compress --seed 18446744073709551616 in.png
    run -2 "$KMQ" compress --threads -1 in.png
    run -2 "$KMQ" compress --bogus in.png
    run -2 "$KMQ" compress -k
    run -2 "$KMQ" compress
    run -2 "$KMQ" compress --labels a.png in.png in.png
    run -2 "$KMQ" compress -j 0 in.png
    run -2 "$KMQ" compress --skip-existing -f in.png
    run -2 "$KMQ" decompress
    run -2 "$KMQ" decompress a b c
    run -2 "$KMQ" compress --level 0 in.png
    run -2 "$KMQ" compress --level 13 in.png
    run -2 "$KMQ" compress --level 6x in.png
    run -2 "$KMQ" compress -z --level 6 in.png
    run -2 "$KMQ" compress --format gif in.png
    run -2 "$KMQ" compress -o out.png in.png
    run -2 "$KMQ" compress --format png8 --labels l.png in.png
    run -2 "$KMQ" compress --format labels - < in.png
    run -2 "$KMQ" decompress -o
    [ ! -e in.labels.png ]
}

@test "usage errors print one line plus a hint on stderr, nothing on stdout" {
    run -2 --separate-stderr "$KMQ" compress --n-init zero in.png
    [ -z "$output" ]
    [ "${#stderr_lines[@]}" -eq 2 ]
    [[ "${stderr_lines[0]}" == "kmq compress: --n-init must be auto or an integer from 1 to 10000, not 'zero'" ]]
    [[ "${stderr_lines[1]}" == "Try 'kmq help compress' for more information." ]]
}

@test "labels and codebook on the same path is a usage error" {
    "$GENIMG" in.png 8 8 3 demo
    run -2 "$KMQ" compress --labels out.x --codebook out.x in.png
    [ ! -e out.x ]
    run -2 "$KMQ" compress --labels out.x --codebook ./out.x in.png
    [ ! -e out.x ]
}

@test "an output path equal to the input is refused and the input is untouched" {
    "$GENIMG" in.png 8 8 3 demo
    sum=$(cksum < in.png)
    run -2 "$KMQ" compress -f --labels in.png in.png
    run -2 "$KMQ" compress -f --codebook ./in.png in.png
    [ "$(cksum < in.png)" = "$sum" ]
    "$KMQ" compress -q in.png
    run -2 "$KMQ" decompress -f -o in.labels.png in.labels.png in.codebook.bin
    run -2 "$KMQ" decompress -f -o in.codebook.bin in.labels.png in.codebook.bin
}

@test "make install honours PREFIX and DESTDIR" {
    run -0 make -s -C "$ROOT" install BUILD="$BUILD" PREFIX=/opt/kmq DESTDIR="$BATS_TEST_TMPDIR/stage"
    [ -x "$BATS_TEST_TMPDIR/stage/opt/kmq/bin/kmq" ]
    run -0 "$BATS_TEST_TMPDIR/stage/opt/kmq/bin/kmq" --version
    assert_output --regexp '^kmq '
    [ -f "$BATS_TEST_TMPDIR/stage/opt/kmq/share/man/man1/kmq.1" ]
}

@test "the man page renders without warnings and names every command and option" {
    command -v groff >/dev/null || skip "groff not installed"
    run -0 --separate-stderr groff -man -ww -z "$ROOT/kmq.1"
    [ -z "$stderr" ]
    for word in kmCp TRANSPARENCY METADATA; do
        grep -qF -- "$word" "$ROOT/kmq.1" || { echo "missing $word"; false; }
    done
    # every option each command's --help lists, in that command's section
    for c in compress decompress compare palette; do
        section=$(groff -man -Tutf8 -rHY=0 -rLL=300n -P -cbou "$ROOT/kmq.1" 2>/dev/null |
            sed 's/\xe2\x80\x90/-/g' | awk -v s="${c^^} OPTIONS" '$0 == s {on = 1; next} /^[A-Z]/ {on = 0} on')
        [ -n "$section" ] || { echo "no section for $c"; false; }
        for opt in $("$KMQ" help $c | grep -oE '^ +(-[a-zA-Z], )?--?[a-zA-Z][a-z-]*' | grep -oE -- '--?[a-zA-Z][a-z-]*'); do
            grep -qF -- "$opt" <<<"$section" || { echo "kmq.1 does not describe $c $opt"; false; }
        done
    done
    # the commands and the general options
    run -0 "$KMQ" --help
    for word in compress decompress compare palette help --help --version; do
        grep -qF -- "${word//-/\\-}" "$ROOT/kmq.1" || { echo "missing $word"; false; }
    done
}

@test "README documents every option each command's --help lists, and no option --help does not know" {
    # --help is the reference; README's section for each command (its table,
    # or its prose) must name every option there, and every option README
    # names must be one --help mentions.  (-h/--help: README's "kmq --help".)
    for c in compress decompress compare palette; do
        help=$("$KMQ" help $c)
        listed=$(grep -E '^ +-' <<<"$help" | sed -E 's/^ +//; s/  .*//' |
                 grep -oE -- '(^|[ ,])--?[a-zA-Z][a-z-]*' | grep -oE -- '--?[a-zA-Z][a-z-]*' |
                 grep -vx -- '-h\|--help' | sort -u)
        documented=$(awk -v s="### kmq $c " 'index($0, s) == 1 {on = 1; next} /^##/ {on = 0} on' \
                         "$ROOT/README.md" | grep -oE -- '`--?[a-zA-Z][a-z-]*[` =[]' |
                     sed -E 's/^`//; s/.$//' | sort -u)
        [ -n "$listed" ] && [ -n "$documented" ] || fail "no options found for $c"
        for o in $(comm -23 <(echo "$listed") <(echo "$documented")); do
            fail "README's kmq $c section does not name $o, which kmq help $c lists"
        done
        for o in $(comm -13 <(echo "$listed") <(echo "$documented")); do
            grep -qE -- "(^|[^a-z-])$o([^a-z-]|\$)" <<<"$help" ||
                fail "README names $o for kmq $c, which kmq help $c does not know"
        done
    done
}

@test "help for every command: kmq help CMD and CMD --help agree" {
    for c in compress decompress compare palette; do
        run -0 "$KMQ" help $c
        a=$output
        run -0 "$KMQ" $c --help
        [ "$a" = "$output" ]
        [[ "$a" == "Usage: kmq $c"* ]]
    done
}

@test "every help text fits in 80 columns" {
    for c in "" compress decompress compare palette; do
        run -0 "$KMQ" help $c
        wide=$(awk 'length > 79' <<<"$output")
        [ -z "$wide" ] || { echo "kmq help $c: $wide"; false; }
    done
}
