# SPDX-License-Identifier: Apache-2.0
include config.mk

# The command layer, then the library below it (pelagos.h lists both).
CMD_SRC = pelagos.c cmd_sandbox.c cmd_run.c cmd_network.c cni.c
LIB_SRC = attach.c cnispec.c sandbox.c podfiles.c fw.c net.c run.c pause.c \
	confine.c cgroup.c proc.c netdef.c state.c fwspec.c ct.c nft.c ipam.c \
	root.c netlink.c \
	json.c valid.c err.c util.c
SRC = $(CMD_SRC) $(LIB_SRC)
OBJ = $(SRC:.c=.o)

DEFS = -D_GNU_SOURCE -DPELAGOS_VERSION='"$(VERSION)"' \
	-DDEF_ROOT='"$(DEF_ROOT)"' -DDEF_BRIDGE='"$(DEF_BRIDGE)"' \
	-DDEF_SUBNET='"$(DEF_SUBNET)"' -DDEF_NETWORK='"$(DEF_NETWORK)"' \
	-DDEF_RESOLV_CONF='"$(DEF_RESOLV_CONF)"' -DDEF_CNI_DIR='"$(DEF_CNI_DIR)"' \
	-DDEF_CNI_BRIDGE='"$(DEF_CNI_BRIDGE)"' \
	-DDEF_NFT_TABLE='"$(DEF_NFT_TABLE)"'
# Only musl-gcc needs to be shown the kernel headers; a native or cross gcc
# finds its own.
UAPI = $(if $(findstring musl,$(CC)),$(MUSL_UAPI))
CPPFLAGS_ALL = $(DEFS) $(UAPI) $(JSMN) $(CPPFLAGS)

all: pelagos

pelagos: $(OBJ) sstrip.sh
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJ)
	$(SSTRIP) $@

%.o: %.c pelagos.h config.mk
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -c -o $@ $<

# The unit tests link the library, never the command layer.
tests/unit: tests/unit.c tests/nft-ref.h $(LIB_SRC) pelagos.h config.mk
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) $(LDFLAGS) -o $@ tests/unit.c $(LIB_SRC)

# The documented test command (README): unit tests, then the integration
# suite as root.  make check is the same.
test: pelagos tests/unit
	PELAGOS=$(CURDIR)/pelagos UNIT=$(CURDIR)/tests/unit sh tests/run.sh

check: test

# The device check: the integration suite in a busybox-only initramfs
# booted under QEMU.  ARCH=arm64 wants an arm64 ./pelagos (README).
check-initramfs: pelagos
	sh tests/initramfs.sh --arch $(ARCH) --binary $(CURDIR)/pelagos $(INITRAMFS_FLAGS)

# Sanitizers: the unit tests and the whole integration suite against an
# ASan+UBSan build.  The pause re-executes the same binary, so it runs
# instrumented too; leak checking is off because a pause never returns
# from main (rm ends it with a signal) and LSan needs ptrace, which the
# pause's seccomp filter refuses.
SAN_ENV = ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

asan:
	$(MAKE) clean
	$(MAKE) CC=$(SAN_CC) CFLAGS='$(SAN_CFLAGS)' LDFLAGS='$(SAN_LDFLAGS)' \
	    SSTRIP=: pelagos tests/unit

test-asan: asan
	$(SAN_ENV) PELAGOS=$(CURDIR)/pelagos UNIT=$(CURDIR)/tests/unit \
	    sh tests/run.sh

# New inputs go to build/fuzz-corpus, the seeds stay in tests/fuzz-corpus.
tests/fuzz_state: tests/fuzz_state.c $(LIB_SRC) pelagos.h config.mk
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEFS) $(JSMN) -I. -o $@ tests/fuzz_state.c \
	    $(LIB_SRC)

tests/fuzz_cni: tests/fuzz_cni.c $(LIB_SRC) pelagos.h config.mk
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEFS) $(JSMN) -I. -o $@ tests/fuzz_cni.c \
	    $(LIB_SRC)

# Each target for FUZZ_TIME seconds: the state parser, then the CNI
# plugin's configuration and result.
fuzz: tests/fuzz_state tests/fuzz_cni
	mkdir -p build/fuzz-corpus build/fuzz-corpus-cni
	./tests/fuzz_state -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
	    build/fuzz-corpus tests/fuzz-corpus
	./tests/fuzz_cni -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
	    -max_len=$(FUZZ_CNI_LEN) build/fuzz-corpus-cni tests/fuzz-corpus-cni

install: pelagos
	mkdir -p $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8
	cp -f pelagos $(DESTDIR)$(SBINDIR)/pelagos
	chmod 755 $(DESTDIR)$(SBINDIR)/pelagos
	cp -f pelagos.8 $(DESTDIR)$(MANDIR)/man8/pelagos.8
	chmod 644 $(DESTDIR)$(MANDIR)/man8/pelagos.8

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/pelagos $(DESTDIR)$(MANDIR)/man8/pelagos.8

# A source tarball of the tracked files, named and rooted by version.
DIST = pelagos-$(VERSION)
dist:
	rm -rf build/$(DIST) && mkdir -p build/$(DIST)
	tar -cf - $$(git ls-files 2>/dev/null || echo $(SRC) pelagos.h \
	    pelagos.8 Makefile config.mk sstrip.sh LICENSE README.md tests bench \
	    examples) | tar -xf - -C build/$(DIST)
	tar -C build -czf $(DIST).tar.gz $(DIST)
	rm -rf build/$(DIST)

clean:
	rm -f pelagos $(OBJ) tests/unit tests/fuzz_state tests/fuzz_cni

.PHONY: all check test check-initramfs asan test-asan fuzz install uninstall \
	dist clean
