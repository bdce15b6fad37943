#!/usr/bin/env bats
# `make install` (issue 14): the library, its header, pkg-config file, man
# page and Python module land under PREFIX (staged in DESTDIR), and a
# program built the way a stranger builds one -- `pkg-config --cflags --libs
# kmq` -- runs against the installed library and agrees with the CLI.
load helpers

# install PREFIX [DESTDIR]: this build, installed (quietly).
install_to() {
    make -C "$ROOT" --no-print-directory -s install BUILD="$BUILD" PREFIX="$1" DESTDIR="${2:-}"
}

# Where make install puts the Python module for PREFIX $1 (make print-pydir),
# below PREFIX: "lib/python3.11/dist-packages" or the like.
pydir_below() {
    local d
    d=$(make -C "$ROOT" --no-print-directory -s print-pydir PREFIX="$1")
    echo "${d#"$1"/}"
}

# The shared library's soname, libkmq.so.SOVERSION (the Makefile's; see
# docs/library.md, "ABI and soname").
soname() {
    echo "libkmq.so.$(sed -n 's/^SOVERSION *= *//p' "$ROOT/Makefile")"
}

# The compiler flags a program needs to load this build's library: the
# sanitizers' runtimes when the library was built with them.
san_flags() {
    [ -n "${KMQ_SANITIZE:-}" ] && echo "-fsanitize=address,undefined"
    return 0
}

@test "make install puts kmq, libkmq.so/.a, kmq.h, kmq.pc, the man page and the Python module under PREFIX, staged in DESTDIR" {
    run install_to /opt/kmq-test "$BATS_TEST_TMPDIR/stage"
    assert_success
    s="$BATS_TEST_TMPDIR/stage/opt/kmq-test"
    version=$(sed -n 's/^#define KMQ_VERSION_STRING "\(.*\)"/\1/p' "$ROOT/include/kmq.h")
    so=$(soname)
    py=$(pydir_below /opt/kmq-test)
    for f in bin/kmq "lib/libkmq.so.$version" lib/libkmq.a include/kmq.h lib/pkgconfig/kmq.pc \
             share/man/man1/kmq.1 "$py/kmq/__init__.py" "$py/kmq/_config.py"; do
        [ -f "$s/$f" ] || fail "missing $f"
    done
    [ "$(readlink "$s/lib/$so")" = "libkmq.so.$version" ]
    [ "$(readlink "$s/lib/libkmq.so")" = "$so" ]
    run readelf -d "$s/lib/libkmq.so.$version"
    assert_output --partial "Library soname: [$so]"
    cmp "$s/include/kmq.h" "$ROOT/include/kmq.h"
    # Paths inside the files are PREFIX's, never DESTDIR's.
    run cat "$s/lib/pkgconfig/kmq.pc" "$s/$py/kmq/_config.py"
    assert_output --partial "prefix=/opt/kmq-test"
    assert_output --partial "Version: $version"
    assert_output --partial "LIBRARY = \"/opt/kmq-test/lib/$so\""
    refute_output --partial stage
    # The shared library exports exactly the functions kmq.h declares.
    want=$(sed -n 's/^KMQ_API .*[ *]\(kmq_[a-z0-9_]*\)(.*/\1/p' "$ROOT/include/kmq.h" | sort)
    got=$(nm -D --defined-only "$s/lib/libkmq.so.$version" | awk '{print $3}' | sort)
    [ "$want" = "$got" ] || { diff <(echo "$want") <(echo "$got"); fail "exports differ from kmq.h"; }
    # uninstall removes it all again
    run make -C "$ROOT" --no-print-directory -s uninstall PREFIX=/opt/kmq-test DESTDIR="$BATS_TEST_TMPDIR/stage"
    assert_success
    [ -z "$(find "$s" -type f -o -type l)" ] || fail "left behind: $(find "$s" -type f -o -type l)"
}

@test "examples/quantize.c builds with pkg-config against the installed library and writes what kmq compress writes" {
    install_to "$BATS_TEST_TMPDIR/usr"
    export PKG_CONFIG_PATH="$BATS_TEST_TMPDIR/usr/lib/pkgconfig"
    run pkg-config --modversion kmq
    assert_output "$("$KMQ" --version | awk '{print $2}')"
    # shellcheck disable=SC2046
    cc -std=c11 $(san_flags) "$ROOT/examples/quantize.c" $(pkg-config --cflags --libs kmq) \
        -Wl,-rpath,"$(pkg-config --variable=libdir kmq)" -o quantize
    run ldd ./quantize
    assert_output --partial "$BATS_TEST_TMPDIR/usr/lib/$(soname)"
    "$GENIMG" in.png 64 48 3 demo 7
    run ./quantize in.png 16 ex.labels.png ex.codebook.bin
    assert_success
    assert_output --regexp "^kmq [0-9.]+: 64x48, [0-9]+ colours -> k 16, PSNR [0-9.]+ dB$"
    "$KMQ" compress -q in.png -k 16 --labels cli.labels.png --codebook cli.codebook.bin
    cmp ex.codebook.bin cli.codebook.bin
    strip_kmcp cli.labels.png # the CLI adds its metadata chunk; the rest is the same
    cmp ex.labels.png cli.labels.png
    # A wrong argument is named by kmq_params_check.
    run ./quantize in.png 1 a.png b.bin
    assert_failure 2
    assert_output "quantize: bad k"
}

@test "the installed Python module imports without LD_LIBRARY_PATH and finds the installed library" {
    /usr/bin/python3 -c 'import numpy' 2>/dev/null || skip "python3-numpy is not installed"
    [ -z "${KMQ_SANITIZE:-}" ] || skip "the ASan-built library cannot be loaded by a plain python3; the Python tests run against it with the runtime preloaded"
    install_to "$BATS_TEST_TMPDIR/usr"
    py="$BATS_TEST_TMPDIR/usr/$(pydir_below "$BATS_TEST_TMPDIR/usr")"
    run env -u LD_LIBRARY_PATH -u KMQ_LIBRARY PYTHONPATH="$py" \
        /usr/bin/python3 -c 'import kmq, numpy as np
labels, codebook = kmq.quantize(np.arange(48, dtype=np.uint8).reshape(4, 4, 3), k=4)
print(kmq.__version__, labels.shape, codebook.shape, kmq.__file__)'
    assert_success
    assert_output --partial "$("$KMQ" --version | awk '{print $2}') (4, 4) (4, 3) $py/kmq/__init__.py"
}

@test "make install with the default PREFIX puts the Python module where Debian's python3 looks, so import kmq works in a fresh shell" {
    [ -x /usr/bin/python3 ] || skip "no /usr/bin/python3"
    /usr/bin/python3 -c 'import numpy' 2>/dev/null || skip "python3-numpy is not installed"
    [ -z "${KMQ_SANITIZE:-}" ] || skip "the ASan-built library cannot be loaded by a plain python3"
    local py
    py=$(make -C "$ROOT" --no-print-directory -s print-pydir PYTHON=/usr/bin/python3)
    # /usr/local/lib/python3.11/dist-packages on Debian 12, not lib/python3/dist-packages
    run /usr/bin/python3 -c 'import sys; print("\n".join(sys.path))'
    assert_line "$py"
    # staged, then imported from that very folder with no PYTHONPATH to help
    make -C "$ROOT" --no-print-directory -s install BUILD="$BUILD" PYTHON=/usr/bin/python3 \
        DESTDIR="$BATS_TEST_TMPDIR/root"
    [ -f "$BATS_TEST_TMPDIR/root$py/kmq/__init__.py" ]
    # (the library from the stage too: _config.py names /usr/local/lib's, not yet there)
    run env -u PYTHONPATH KMQ_LIBRARY="$BATS_TEST_TMPDIR/root/usr/local/lib/$(soname)" \
        /usr/bin/python3 -c 'import sys
sys.path = [p if p != sys.argv[1] else sys.argv[2] + p for p in sys.path]
import kmq; print(kmq.__file__)' "$py" "$BATS_TEST_TMPDIR/root"
    assert_success
    assert_output "$BATS_TEST_TMPDIR/root$py/kmq/__init__.py"
}
