# mmkit — a plain Makefile.
#
#   make                 lib/libmm.a and every program in bin/
#   make check           unit + conformance + CLI tests (summary: "N passed, M failed")
#   make check SAN=1     the same, built with ASan+UBSan into build-san/
#   make fuzz            libFuzzer harnesses into build-fuzz/ (clang)
#   make install PREFIX=/usr/local DESTDIR=
#   make demo            the end-to-end demo on the default model (see README)
#
# Sources are found by wildcard, so adding a module is adding a file:
#   lib/*/*.c lib/*/*/*.c  -> libmm.a (lib/ has one folder per concern: HACKING.md)
#   cmd/NAME.c             -> bin/NAME
#   tests/unit/*/test_*.c  -> one test program each (folders mirror lib/)
#   tests/fuzz/fuzz_*.c  -> one libFuzzer harness each

VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
SAN ?= 0

PKGS := libjpeg libpng16 libutf8proc jansson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ifeq ($(PKG_LIBS),)
PKG_LIBS := -ljpeg -lpng16 -lutf8proc -ljansson
endif

# One binary for every x86-64 CPU: lib/ is built for the baseline
# instruction set, and the code for one set lives in a folder of its own,
# built with that set's flags and chosen at run time (lib/kernels/cpu.h,
# MM_ISA). mm-rank's AVX-512 VNNI kernel (lib/kernels/scan8.c) uses
# per-function targets. ARCH= adds flags to everything (e.g. ARCH=-march=native
# for a build that only runs here).
ARCH ?=
ISA_FLAGS_x86_avx2 := -mavx2 -mfma -mf16c -msse4.2 -mpopcnt
ISA_FLAGS_x86_avx512 := $(ISA_FLAGS_x86_avx2) -mavx512f -mavx512vl -mavx512bw
# Another target (CC=aarch64-linux-gnu-gcc, scripts/check-cross): the x86
# folders compile to nothing there, without x86 flags.
ifeq ($(filter x86_64%,$(shell $(CC) -dumpmachine 2>/dev/null)),)
ISA_FLAGS_x86_avx2 :=
ISA_FLAGS_x86_avx512 :=
# There the products can run on OpenBLAS's SGEMM (the openblas level,
# lib/kernels/openblas/), when pkg-config finds it; OPENBLAS=0 leaves it out.
OPENBLAS ?= 1
ifeq ($(OPENBLAS),1)
ifeq ($(shell pkg-config --exists openblas 2>/dev/null && echo yes),yes)
OPENBLAS_CFLAGS := -DMM_OPENBLAS $(shell pkg-config --cflags openblas)
OPENBLAS_LIBS := $(shell pkg-config --libs openblas)
endif
endif
endif
WARN := -Wall -Wextra -Werror
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -DMM_VERSION='"$(VERSION)"' -Ilib $(WARN) $(PKG_CFLAGS) $(OPENBLAS_CFLAGS)

ifeq ($(SAN),1)
BUILD := build-san
OPT ?= -O1 -g -fno-omit-frame-pointer
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined
LIBMM := $(BUILD)/libmm.a
BIN := $(BUILD)/bin
else
BUILD := build
OPT ?= -O2 -g
SANFLAGS :=
LIBMM := lib/libmm.a
BIN := bin
endif

CC ?= cc
ALL_CFLAGS := $(BASE_CFLAGS) $(OPT) $(ARCH) $(SANFLAGS) $(CFLAGS)
LDLIBS_ALL := $(PKG_LIBS) $(OPENBLAS_LIBS) -lpthread -lm $(LDLIBS)
# --as-needed: a program records only the libraries it calls.
ALL_LDFLAGS := -Wl,--as-needed $(SANFLAGS) $(LDFLAGS)

LIB_SRC := $(sort $(wildcard lib/*/*.c lib/*/*/*.c))
CMD_SRC := $(sort $(wildcard cmd/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/*/test_*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CMD_OBJ := $(CMD_SRC:%.c=$(BUILD)/%.o)
PROGS := $(CMD_SRC:cmd/%.c=$(BIN)/%)
UNIT_BIN := $(addprefix $(BUILD)/tests/,$(notdir $(UNIT_SRC:.c=)))

.PHONY: all check check-unit check-cli check-cross fuzz install uninstall clean demo deps
# Keep objects that only pattern rules mention (fuzz builds), so that make
# does not delete and rebuild them each time.
.SECONDARY:
all: $(LIBMM) $(PROGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# lib/kernels/ISA/*.c: that instruction set's flags
$(BUILD)/lib/kernels/x86_avx2/%.o: lib/kernels/x86_avx2/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ISA_FLAGS_x86_avx2) -MMD -MP -c $< -o $@

$(BUILD)/lib/kernels/x86_avx512/%.o: lib/kernels/x86_avx512/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ISA_FLAGS_x86_avx512) -MMD -MP -c $< -o $@

$(LIBMM): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BIN)/%: $(BUILD)/cmd/%.o $(LIBMM)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $< $(LIBMM) $(LDLIBS_ALL) -o $@

# tests/unit/FOLDER/test_x.c -> $(BUILD)/tests/test_x (one flat directory that
# tests/run-tests walks); test.h is found through -Itests/unit.
$(BUILD)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -MMD -MP -c $< -o $@

define unit_link
$(BUILD)/tests/$(notdir $(1:.c=)): $(BUILD)/$(1:.c=.o) $(LIBMM)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_LDFLAGS) $$< $$(LIBMM) $$(LDLIBS_ALL) -o $$@
endef
$(foreach t,$(UNIT_SRC),$(eval $(call unit_link,$(t))))

# The test runner runs every unit test program, then every bats file, and
# ends with one line "N passed, M failed". ISA=generic|avx2|avx512 runs the
# suite on that kernel level (exports MM_ISA; tests that compare levels
# still set their own).
ISA ?=
ISA_ENV := $(if $(ISA),MM_ISA=$(ISA))
check: all $(UNIT_BIN)
	$(ISA_ENV) MM_BIN=$(CURDIR)/$(BIN) MM_UNIT=$(CURDIR)/$(BUILD)/tests SAN=$(SAN) tests/run-tests

check-unit: all $(UNIT_BIN)
	$(ISA_ENV) MM_BIN=$(CURDIR)/$(BIN) MM_UNIT=$(CURDIR)/$(BUILD)/tests SAN=$(SAN) tests/run-tests --unit-only

check-cli: all
	$(ISA_ENV) MM_BIN=$(CURDIR)/$(BIN) MM_UNIT=$(CURDIR)/$(BUILD)/tests SAN=$(SAN) tests/run-tests --cli-only

# make check-cross [CROSS=arm64]: cross-compiles into build-$(CROSS)/ and runs
# the unit and CLI tests under qemu-user (scripts/check-cross; the packages
# come from scripts/install-deps --cross).
CROSS ?= arm64
check-cross:
	scripts/check-cross $(CROSS)

# ---- fuzzing (clang + libFuzzer, ASan + UBSan) ------------------------------
FUZZ_BUILD := build-fuzz
FUZZ_CC ?= clang
FUZZ_CFLAGS := $(BASE_CFLAGS) -O1 -g -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)

fuzz: $(FUZZ_BIN)

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/lib/kernels/x86_avx2/%.o: lib/kernels/x86_avx2/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(ISA_FLAGS_x86_avx2) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/lib/kernels/x86_avx512/%.o: lib/kernels/x86_avx512/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(ISA_FLAGS_x86_avx512) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined $^ $(LDLIBS_ALL) -o $@

# ---- install -----------------------------------------------------------------
MAN1 := $(sort $(wildcard man/man1/*.1))
MAN5 := $(sort $(wildcard man/man5/*.5))
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	$(if $(MAN1),install -m 644 $(MAN1) $(DESTDIR)$(PREFIX)/share/man/man1/)
	$(if $(MAN5),install -m 644 $(MAN5) $(DESTDIR)$(PREFIX)/share/man/man5/)
	install -d $(DESTDIR)$(PREFIX)/share/mmkit
	if [ -d models/default ]; then cp -r models/default $(DESTDIR)$(PREFIX)/share/mmkit/; fi

uninstall:
	rm -f $(PROGS:$(BIN)/%=$(DESTDIR)$(PREFIX)/bin/%)
	rm -f $(MAN1:man/man1/%=$(DESTDIR)$(PREFIX)/share/man/man1/%) $(MAN5:man/man5/%=$(DESTDIR)$(PREFIX)/share/man/man5/%)
	rm -rf $(DESTDIR)$(PREFIX)/share/mmkit

# The demo: embed, rank and evaluate the bundled data with a model
# (default: the project's own small CLIP in models/default).
MODEL ?= models/default
demo: all
	scripts/demo $(MODEL) data/demo out/demo

deps:
	scripts/install-deps

clean:
	rm -rf build build-san build-fuzz bin lib/libmm.a out

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(UNIT_SRC:%.c=$(BUILD)/%.d) $(FUZZ_LIB_OBJ:.o=.d)
