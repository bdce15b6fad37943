#!/usr/bin/env bats
# The Library and Python documents (docs/library.md, docs/python.md; issue
# 14): their ```c and ```python examples run as written, against this
# build's library.
load helpers

# block LANG SECTION FILE: the first ```LANG block under FILE's "## SECTION".
block() {
    awk -v lang="$1" -v section="## $2" '
        $0 == section { inside = 1; next }
        inside && /^## / { exit }
        inside && $0 == "```" lang { code = 1; next }
        code && $0 == "```" { exit }
        code { print }' "$ROOT/$3"
}

san_flags() {
    [ -n "${KMQ_SANITIZE:-}" ] && echo "-fsanitize=address,undefined"
    return 0
}

@test "docs/library.md: the Library section's C program compiles against libkmq and quantizes an image" {
    block c Library docs/library.md > quantize.c
    [ -s quantize.c ] || fail "no \`\`\`c block in docs/library.md's Library section"
    # shellcheck disable=SC2046
    cc -std=c11 -Wall -Wextra -Werror $(san_flags) -I"$ROOT/include" quantize.c \
        -L"$BUILD" -lkmq -Wl,-rpath,"$BUILD" -o quantize
    "$GENIMG" tiger.png 96 64 3 demo 3
    run ./quantize tiger.png 16
    assert_success
    assert_output --regexp "^kmq $("$KMQ" --version | awk '{print $2}'): k 16, PSNR [0-9]+\.[0-9]{2} dB$"
    run ./quantize tiger.png 300
    assert_failure 2
    assert_output "bad k"
    run ./quantize nosuch.png 16
    assert_failure 1
    assert_output "nosuch.png: No such file or directory"
}

@test "docs/library.md: the whole job's C program probes, compresses, writes the pair and decompresses as the CLI" {
    block c "The whole job" docs/library.md > job.c
    [ -s job.c ] || fail "no \`\`\`c block in docs/library.md's The whole job section"
    # shellcheck disable=SC2046
    cc -std=c11 -Wall -Wextra -Werror $(san_flags) -I"$ROOT/include" job.c \
        -L"$BUILD" -lkmq -Wl,-rpath,"$BUILD" -o job
    "$GENIMG" tiger.png 96 64 3 demo 3
    run ./job tiger.png
    assert_success
    assert_line --index 0 "PNG 96x64, 3 channels"
    assert_line --index 1 --regexp '^k 16, PSNR [0-9]+\.[0-9]{2} dB, back to 96x64: success$'
    "$KMQ" compress -q -k 16 --labels cli.labels.png --codebook cli.codebook.bin tiger.png
    cmp out.labels.png cli.labels.png
    cmp out.codebook.bin cli.codebook.bin
    run ./job nosuch.png
    assert_failure 1
}

@test "docs/python.md: the Python section's example runs as written" {
    /usr/bin/python3 -c 'import numpy' 2>/dev/null || skip "python3-numpy is not installed"
    [ -z "${KMQ_SANITIZE:-}" ] || skip "the ASan-built library needs its runtime preloaded; tests/python runs it so"
    block python Python docs/python.md > example.py
    [ -s example.py ] || fail "no \`\`\`python block in docs/python.md's Python section"
    run env KMQ_LIBRARY="$BUILD/libkmq.so.1" PYTHONPATH="$ROOT/python" PYTHONDONTWRITEBYTECODE=1 \
        /usr/bin/python3 example.py
    assert_success
    assert_line --index 0 --regexp '^\(120, 160\) \(16, 3\) [0-9]+$'
    assert_line --index 1 --regexp '^\(16, 3\) [0-9.e+]+ True$'
}
