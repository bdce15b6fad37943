# kmq - colour quantization by exact k-means.
#   make            build $(BUILD)/kmq
#   make deps demo  install Debian packages (as root, if missing), build, run the demo
#   make test       unit (Criterion) + CLI (bats) tests
#   make test SAN=1 the same under ASan+UBSan, built in build/san
#   make tsan       the library on 8 threads at once under ThreadSanitizer
#   make install    PREFIX=/usr/local DESTDIR=: kmq, libkmq.so/.a, kmq.h,
#                   kmq.pc, the man page and the Python module
#   V=1             show full command lines

CC      ?= cc
CFLAGS  ?= -O3 -g
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
LIBDIR   = $(PREFIX)/lib
INCDIR   = $(PREFIX)/include
PCDIR    = $(LIBDIR)/pkgconfig
MANDIR   = $(PREFIX)/share/man/man1
# The Python module goes where python3 looks for PREFIX's packages (Debian's
# searches /usr/local/lib/python3.11/dist-packages, not .../python3/...); a
# PREFIX it does not search gets the standard layout under it.  make
# print-pydir says which; PYDIR=... chooses.
PYTHON  ?= python3
PYDIR   ?= $(shell $(PYTHON) -c 'import sys, sysconfig; p = "$(PREFIX)".rstrip("/"); \
               d = [x for x in sys.path if x.startswith(p + "/lib/") and x.endswith("-packages")]; \
               print(d[0] if d else sysconfig.get_path("purelib", "posix_prefix", \
                     vars={"base": p, "platbase": p}))' 2>/dev/null || echo $(LIBDIR)/python3/dist-packages)
PKG_CONFIG ?= pkg-config
OPENMP  ?= -fopenmp   # make OPENMP= builds single-threaded

ifeq ($(SAN),1)
BUILD   ?= build/san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else ifeq ($(TSAN),1)
# ThreadSanitizer, for the library's thread safety (tests/unit/test_api.c):
# without OpenMP, whose runtime TSan cannot see into (it would report
# libgomp's own synchronisation), so each call runs on its caller's thread.
BUILD   ?= build/tsan
SANFLAGS = -fsanitize=thread -fno-omit-frame-pointer
override OPENMP =
else
BUILD   ?= build
SANFLAGS =
endif

WARN      = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Wvla
ifeq ($(CI),true)
WARN     += -Werror
endif
STB_CFLAGS := $(patsubst -I%,-isystem %,$(shell $(PKG_CONFIG) --cflags stb 2>/dev/null || echo -I/usr/include/stb))
DEFLATE_CFLAGS := $(shell $(PKG_CONFIG) --cflags libdeflate 2>/dev/null)
DEFLATE_LIBS := $(shell $(PKG_CONFIG) --libs libdeflate 2>/dev/null || echo -ldeflate)
SPNG_CFLAGS := $(shell $(PKG_CONFIG) --cflags spng 2>/dev/null)
SPNG_LIBS := $(shell $(PKG_CONFIG) --libs spng 2>/dev/null || echo -lspng)
TIFF_CFLAGS := $(shell $(PKG_CONFIG) --cflags libtiff-4 2>/dev/null)
TIFF_LIBS := $(shell $(PKG_CONFIG) --libs libtiff-4 2>/dev/null || echo -ltiff)
WEBP_CFLAGS := $(shell $(PKG_CONFIG) --cflags libwebp 2>/dev/null)
WEBP_LIBS := $(shell $(PKG_CONFIG) --libs libwebp 2>/dev/null || echo -lwebp)
CRITERION_LIBS = $(shell $(PKG_CONFIG) --libs criterion 2>/dev/null || echo -lcriterion)

# The library's version (kmq.h) and its shared object's: libkmq.so.SOVERSION
# is the soname, raised whenever the ABI breaks (docs/library.md, "ABI and
# soname"; 1 since 0.3.0, whose structs gained a size).
VERSION   := $(shell sed -n 's/^\#define KMQ_VERSION_STRING "\(.*\)"/\1/p' include/kmq.h)
SOVERSION  = 1

# libFuzzer builds (make fuzz) go here; named before the layer rules use it.
FUZZ_DIR  = build/fuzz

# Each layer sees the public header, its own headers and those below it,
# nothing else, so a wrong-way include fails to compile:
#   src/shared (thread counts, bytes)
#     <- src/core (k-means, codebooks)
#     <- src/png (chunks, DEFLATE, writers) <- src/meta (colour metadata, binding)
#        <- src/formats (decoders, row readers) <- src/pipeline (compress, decompress)
#     <- src/cli (kmq.h only)
# core and the I/O layers (png .. pipeline) see each other only through kmq.h.
LIB_LAYERS      = shared core png meta formats pipeline
LAYER_shared    = -Isrc/shared
LAYER_core      = -Isrc/core -Isrc/shared
LAYER_png       = -Isrc/png -Isrc/shared
LAYER_meta      = -Isrc/meta $(LAYER_png)
LAYER_formats   = -Isrc/formats $(LAYER_meta)
LAYER_pipeline  = -Isrc/pipeline $(LAYER_formats)
LAYER_cli       = -Isrc/cli
LAYER_tests     = -Isrc/core $(LAYER_pipeline) -Isrc/cli
$(foreach l,$(LIB_LAYERS) cli,$(eval $$(BUILD)/src/$(l)/%.o $$(FUZZ_DIR)/src/$(l)/%.o: LAYER = $$(LAYER_$(l))))
$(BUILD)/tests/%.o $(FUZZ_DIR)/tests/%.o: LAYER = $(LAYER_tests)
# The library's objects go into libkmq.so too: position-independent, and
# only kmq.h's functions (KMQ_API) are exported.
$(foreach l,$(LIB_LAYERS),$(BUILD)/src/$(l)/%.o): PIC = -fPIC -fvisibility=hidden

ALL_CPPFLAGS = -Iinclude $(LAYER) -D_GNU_SOURCE $(STB_CFLAGS) $(DEFLATE_CFLAGS) $(SPNG_CFLAGS) $(TIFF_CFLAGS) $(WEBP_CFLAGS) $(CPPFLAGS)
ALL_CFLAGS   = -std=c11 $(OPENMP) $(if $(OPENMP),,-Wno-unknown-pragmas) $(WARN) $(PIC) $(CFLAGS) $(SANFLAGS) $(NOSAN)
ALL_LDFLAGS  = $(OPENMP) $(SANFLAGS) $(LDFLAGS)
LIBS         = $(DEFLATE_LIBS) $(SPNG_LIBS) $(TIFF_LIBS) $(WEBP_LIBS) -lgif -lz -lm

LIB_SRC  = $(foreach l,$(LIB_LAYERS),$(wildcard src/$(l)/*.c))
CLI_SRC  = $(wildcard src/cli/*.c)
UNIT_SRC = $(wildcard tests/unit/*.c)
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  = $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ = $(UNIT_SRC:%.c=$(BUILD)/%.o)
TOOLS    = $(BUILD)/genimg $(BUILD)/imgcmp
# Fuzz targets (tests/fuzz/fuzz_*.c): replayed over their corpus by `make
# test` (gcc, with replay.c's main), fuzzed by `make fuzz` (clang's libFuzzer).
FUZZ_TARGETS = image codebook npy decompress stream
FUZZ_REPLAY  = $(FUZZ_TARGETS:%=$(BUILD)/fuzz_replay_%)

ifneq ($(V),1)
Q = @
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps bench-deps demo bench test unit cli-test fuzz tsan install uninstall clean print-pydir

all: $(BUILD)/kmq $(BUILD)/libkmq.so $(BUILD)/examples/quantize

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# stb_image 2.27's JPEG decoder shifts a 32-bit value by 32 or more on some
# corrupt entropy-coded data (stb issue #1293, fixed upstream in 2.28; found
# here by fuzzing): the result is garbage pixels on every platform kmq builds
# for, not a memory error, and the header cannot be patched.  Shift checks
# are left out for the stb unit (GCC 12 ignores -fno-sanitize=shift-exponent
# alone); every other sanitizer check stays, and kmq's own code keeps them.
# Likewise stb copies 0 bytes to a NULL buffer when a PNG's first IDAT chunk
# is empty (legal PNG): memcpy(NULL, p, 0), undefined in C11 but defined by
# C2y (N3322) and a no-op in glibc; the file is a regression file.
STB_NOSAN = -fno-sanitize=shift,nonnull-attribute
STB_UNITS = src/formats/stb_read.o src/png/stb_write.o
$(STB_UNITS:%=$(BUILD)/%): NOSAN = $(if $(SANFLAGS),$(STB_NOSAN))
$(STB_UNITS:%=$(FUZZ_DIR)/%): FUZZ_NOSAN = $(STB_NOSAN)

# Test-only JPEG writer: see the comment at the top of the file.
$(BUILD)/tests/tools/other_formats.o: NOSAN = $(if $(SANFLAGS),-fno-sanitize=shift)

$(BUILD)/libkmq.a: $(LIB_OBJ)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/libkmq.so.$(VERSION): $(LIB_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libkmq.so.$(SOVERSION) -Wl,--no-undefined $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/libkmq.so: $(BUILD)/libkmq.so.$(VERSION)
	$(Q)ln -sf libkmq.so.$(VERSION) $(BUILD)/libkmq.so.$(SOVERSION) && ln -sf libkmq.so.$(VERSION) $@

# The example program, built against this tree (a test builds it again
# against the installed library, through pkg-config).
$(BUILD)/examples/quantize: examples/quantize.c $(BUILD)/libkmq.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) -Iinclude $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/kmq: $(CLI_OBJ) $(BUILD)/libkmq.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/genimg: $(BUILD)/tests/tools/genimg.o $(BUILD)/tests/tools/other_formats.o $(BUILD)/src/cli/signals.o $(BUILD)/libkmq.a
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tsan_threads: $(BUILD)/tests/tools/tsan_threads.o $(BUILD)/libkmq.a
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) -lpthread

# make tsan: 8 threads calling the library at once, under ThreadSanitizer.
tsan:
	$(Q)$(MAKE) --no-print-directory TSAN=1 build/tsan/tsan_threads
	$(Q)TSAN_OPTIONS=halt_on_error=1 build/tsan/tsan_threads 8 4

$(BUILD)/imgcmp: $(BUILD)/tests/tools/imgcmp.o $(BUILD)/libkmq.a
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/fuzz_replay_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o $(BUILD)/libkmq.a
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# libFuzzer builds: clang, every object compiled with the sanitizers.
FUZZ_CFLAGS = -std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
              -fno-sanitize-recover=all -Wno-unknown-pragmas
FUZZ_TIME  ?= 60
FUZZ_OBJ    = $(LIB_SRC:%.c=$(FUZZ_DIR)/%.o)

$(FUZZ_DIR)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CLANG   $<")
	$(Q)clang $(ALL_CPPFLAGS) $(FUZZ_CFLAGS) $(FUZZ_NOSAN) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/tests/fuzz/fuzz_%.o $(FUZZ_OBJ)
	$(Q)clang -fsanitize=fuzzer,address,undefined -o $@ $^ $(LIBS)

# make fuzz [FUZZ_TIME=seconds per target] [FUZZ_TARGETS="image npy"]
fuzz: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
	$(Q)sh tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_TIME) $(FUZZ_TARGETS)

$(BUILD)/unit_tests: $(UNIT_OBJ) $(BUILD)/tests/tools/other_formats.o $(BUILD)/src/cli/signals.o $(BUILD)/libkmq.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CRITERION_LIBS) $(LIBS) -lpthread

# Debian packages needed to build, test and run the demo; installed only if missing.
DEB_PACKAGES = gcc make pkg-config libc6-dev libgomp1 libstb-dev libdeflate-dev libspng-dev zlib1g-dev libtiff-dev libwebp-dev libgif-dev \
               libcriterion-dev bats bats-assert bats-support python3-numpy python3-pil \
               python3-opencv python3-pytest imagemagick pngcheck strace valgrind clang libclang-rt-14-dev \
               parallel groff-base netpbm libtiff-tools webp python3-skimage
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "all Debian packages present"; fi

# Peers for bench/: pngquant, ImageMagick, scikit-learn (all from Debian).
BENCH_PACKAGES = pngquant imagemagick python3-sklearn python3-pil butteraugli python3-skimage parallel
bench-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(BENCH_PACKAGES)"

# make bench [BENCH_ARGS="--full --scaling --threads"]
bench: $(BUILD)/kmq $(TOOLS)
	$(Q)bash bench/bench.sh $(BENCH_ARGS) $(BUILD)

demo: $(BUILD)/kmq $(TOOLS)
	$(Q)sh tests/tools/demo.sh $(BUILD)

unit: $(BUILD)/unit_tests
	$(Q)$(BUILD)/unit_tests
cli-test: $(BUILD)/kmq $(TOOLS)

test: $(BUILD)/kmq $(BUILD)/libkmq.so $(BUILD)/examples/quantize $(BUILD)/unit_tests $(TOOLS) $(FUZZ_REPLAY)
	$(Q)KMQ_SANITIZE=$(filter 1,$(SAN)) KMQ_FUZZ_TARGETS="$(FUZZ_TARGETS)" sh tests/run.sh $(BUILD)

# kmq.pc and the Python module's _config.py are written for PREFIX (the
# place the files will be used from), not DESTDIR (where they are staged).
install: $(BUILD)/kmq $(BUILD)/libkmq.so $(BUILD)/libkmq.a
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR) \
	           $(DESTDIR)$(PCDIR) $(DESTDIR)$(PYDIR)/kmq
	install -m 755 $(BUILD)/kmq $(DESTDIR)$(BINDIR)/kmq
	install -m 644 kmq.1 $(DESTDIR)$(MANDIR)/kmq.1
	install -m 755 $(BUILD)/libkmq.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libkmq.so.$(VERSION)
	ln -sf libkmq.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libkmq.so.$(SOVERSION)
	ln -sf libkmq.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libkmq.so
	install -m 644 $(BUILD)/libkmq.a $(DESTDIR)$(LIBDIR)/libkmq.a
	install -m 644 include/kmq.h $(DESTDIR)$(INCDIR)/kmq.h
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCDIR@|$(INCDIR)|; s|@VERSION@|$(VERSION)|' \
	    -e 's|@OPENMP@|$(strip $(OPENMP))|' kmq.pc.in > $(DESTDIR)$(PCDIR)/kmq.pc
	chmod 644 $(DESTDIR)$(PCDIR)/kmq.pc
	install -m 644 python/kmq/*.py $(DESTDIR)$(PYDIR)/kmq/
	printf '# Written by make install.\nLIBRARY = "%s"\n' '$(LIBDIR)/libkmq.so.$(SOVERSION)' \
	    > $(DESTDIR)$(PYDIR)/kmq/_config.py
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

print-pydir:
	@echo $(PYDIR)

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/kmq $(DESTDIR)$(MANDIR)/kmq.1 $(DESTDIR)$(INCDIR)/kmq.h \
	      $(DESTDIR)$(LIBDIR)/libkmq.so $(DESTDIR)$(LIBDIR)/libkmq.so.$(SOVERSION) \
	      $(DESTDIR)$(LIBDIR)/libkmq.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libkmq.a $(DESTDIR)$(PCDIR)/kmq.pc
	rm -rf $(DESTDIR)$(PYDIR)/kmq

clean:
	rm -rf build

-include $(wildcard $(BUILD)/src/*/*.d $(BUILD)/tests/*/*.d $(BUILD)/examples/*.d $(FUZZ_DIR)/src/*/*.d $(FUZZ_DIR)/tests/*/*.d)
