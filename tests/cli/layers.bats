#!/usr/bin/env bats
# The layers hold (issue 14): each part of src/ is compiled seeing only
# kmq.h, its own headers and those below it, so an include the wrong way
# fails to compile.  src/shared <- src/core; src/shared <- src/png <- src/meta
# <- src/formats <- src/pipeline; src/cli sees kmq.h only.
load helpers

# compiles LAYER HEADER: 0 if a file of src/LAYER can include HEADER, with
# the flags the Makefile gives that layer.
compiles() {
    local obj
    case $1 in
        shared) obj=src/shared/thread_count ;; core) obj=src/core/quantize ;;
        png) obj=src/png/png_chunks ;; meta) obj=src/meta/metadata ;;
        formats) obj=src/formats/decode ;; pipeline) obj=src/pipeline/stream ;;
        cli) obj=src/cli/main ;;
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
                   "core sized.h" "core kmq.h" \
                   "png png_io.h" "png bytes.h" "png thread_count.h" "png why.h" "png sized.h" \
                   "meta meta.h" "meta png_io.h" "meta why.h" \
                   "formats formats.h" "formats meta.h" "formats png_io.h" "formats big_alloc.h" \
                   "pipeline pipeline.h" "pipeline formats.h" "pipeline png_io.h" "pipeline why.h" \
                   "cli cli.h" "cli signals.h" "cli kmq.h"; do
        # shellcheck disable=SC2086
        compiles $allowed || fail "src/${allowed% *} cannot include ${allowed#* }"
    done
    for refused in "shared internal.h" "shared png_io.h" \
                   "core png_io.h" "core formats.h" "core cli.h" \
                   "png meta.h" "png formats.h" "png pipeline.h" "png internal.h" \
                   "meta formats.h" "meta pipeline.h" "meta internal.h" \
                   "formats pipeline.h" "formats internal.h" "formats cli.h" \
                   "pipeline internal.h" "pipeline cli.h" "pipeline signals.h" \
                   "cli internal.h" "cli png_io.h" "cli formats.h" "cli pipeline.h" \
                   "cli thread_count.h" "cli bytes.h" "cli why.h" "cli sized.h"; do
        # shellcheck disable=SC2086
        ! compiles $refused || fail "src/${refused% *} can include ${refused#* }"
    done
}

@test "layers: every folder of src/ is a layer the Makefile knows (no folder escapes the rule)" {
    local known
    known=$(make -C "$ROOT" -s -p -n 2>/dev/null | sed -n 's/^LIB_LAYERS *:*= *//p' | head -1)
    [ -n "$known" ] || fail "no LIB_LAYERS in the Makefile"
    for d in "$ROOT"/src/*/; do
        d=$(basename "$d")
        [ "$d" = cli ] && continue
        [[ " $known " == *" $d "* ]] || fail "src/$d is not in LIB_LAYERS ($known)"
    done
}

@test "layers: the library has no process-wide state of the CLI's (signal handlers, atomic outputs, exit, printing)" {
    run grep -nE '\b(sigaction|signal|raise|exit|printf|fprintf|puts|perror|getenv|isatty)\(' \
        "$ROOT"/src/{shared,core,png,meta,formats,pipeline}/*.c
    assert_output ""
    run grep -n -- '-f to overwrite\|--[a-z]' "$ROOT"/src/core/status.c
    assert_output ""
}
