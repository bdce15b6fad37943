#!/usr/bin/env bats
# The layers hold (issue 14): each part of src/ is compiled seeing only
# kmq.h, its own headers and those below it, so an include the wrong way
# fails to compile.  src/shared <- src/core, src/io <- src/cli.
load helpers

# compiles LAYER HEADER: 0 if a file of src/LAYER can include HEADER, with
# the flags the Makefile gives that layer.
compiles() {
    local obj
    case $1 in
        core) obj=src/core/quantize ;; io) obj=src/io/image ;;
        shared) obj=src/shared/thread_count ;; cli) obj=src/cli/main ;;
    esac
    local flags
    flags=$(make -C "$ROOT" -s -n -B V=1 BUILD="$BATS_TEST_TMPDIR/b" "$BATS_TEST_TMPDIR/b/$obj.o" |
            grep -- ' -c ' | grep -o -- '-I *[^ ]*\|-isystem *[^ ]*\|-D[^ ]*' | tr '\n' ' ')
    [ -n "$flags" ] || fail "no compile line for $obj"
    printf '#include "%s"\nint probe(void);\n' "$2" > "$BATS_TEST_TMPDIR/probe.c"
    # shellcheck disable=SC2086
    (cd "$ROOT" && cc -std=c11 -fsyntax-only $flags "$BATS_TEST_TMPDIR/probe.c") 2>/dev/null
}

@test "layers: each part of src/ sees only its own headers, those below it and kmq.h" {
    for allowed in "shared thread_count.h" "shared bytes.h" "shared labels.h" "shared why.h" \
                   "shared sized.h" "core internal.h" "core thread_count.h" "core why.h" \
                   "core sized.h" "core kmq.h" "io stb_io.h" "io thread_count.h" "io bytes.h" \
                   "io why.h" "io sized.h" \
                   "cli cli.h" "cli outfile.h" "cli kmq.h"; do
        # shellcheck disable=SC2086
        compiles $allowed || fail "src/${allowed% *} cannot include ${allowed#* }"
    done
    for refused in "shared internal.h" "shared stb_io.h" \
                   "core stb_io.h" "core cli.h" "io internal.h" "io cli.h" "io outfile.h" \
                   "cli internal.h" "cli stb_io.h" "cli thread_count.h" "cli bytes.h" "cli why.h" \
                   "cli sized.h"; do
        # shellcheck disable=SC2086
        ! compiles $refused || fail "src/${refused% *} can include ${refused#* }"
    done
}

@test "layers: the library has no process-wide state of the CLI's (signal handlers, atomic outputs, exit, printing)" {
    run grep -nE '\b(sigaction|signal|raise|exit|printf|fprintf|puts|perror|getenv|isatty)\(' \
        "$ROOT"/src/core/*.c "$ROOT"/src/io/*.c "$ROOT"/src/shared/*.c
    assert_output ""
    run grep -n -- '-f to overwrite\|--[a-z]' "$ROOT"/src/core/status.c
    assert_output ""
}
