include config.mk

SRC = pelagos.c sandbox.c proc.c run.c pause.c netlink.c state.c root.c util.c
OBJ = $(SRC:.c=.o)

DEFS = -D_GNU_SOURCE -DPELAGOS_VERSION='"$(VERSION)"' \
	-DDEF_ROOT='"$(DEF_ROOT)"' -DDEF_BRIDGE='"$(DEF_BRIDGE)"' \
	-DDEF_SUBNET='"$(DEF_SUBNET)"'
# Only musl-gcc needs to be shown the kernel headers; a native or cross gcc
# finds its own.
UAPI = $(if $(findstring musl,$(CC)),$(MUSL_UAPI))
CPPFLAGS_ALL = $(DEFS) $(UAPI) $(CPPFLAGS)

all: pelagos

pelagos: $(OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJ)

%.o: %.c pelagos.h config.mk
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -c -o $@ $<

tests/unit: tests/unit.c netlink.c state.c root.c util.c pelagos.h config.mk
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS) -o $@ tests/unit.c netlink.c state.c root.c util.c

check: tests/unit
	./tests/unit

test: pelagos tests/unit
	PELAGOS=$(CURDIR)/pelagos UNIT=$(CURDIR)/tests/unit sh tests/run.sh

# The device check: the integration suite in a busybox-only initramfs
# booted under QEMU.  ARCH=arm64 wants an arm64 ./pelagos (README).
check-initramfs: pelagos
	sh tests/initramfs.sh --arch $(ARCH) --binary $(CURDIR)/pelagos $(INITRAMFS_FLAGS)

# Sanitizers: the unit tests and the whole integration suite against an
# ASan+UBSan build, dynamically linked (the sanitizer runtimes need the
# system libc).  The pause re-executes the same binary, so it runs
# instrumented too; leak checking is off because a pause never returns
# from main (rm ends it with a signal) and LSan needs ptrace, which the
# pause's seccomp filter refuses.
SAN_CC = clang
SAN_CFLAGS = -std=c99 -g -O1 -Wall -Wextra -Werror \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
SAN_ENV = ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

asan:
	$(MAKE) clean
	$(MAKE) CC=$(SAN_CC) CFLAGS='$(SAN_CFLAGS)' LDFLAGS= pelagos tests/unit

test-asan: asan
	$(SAN_ENV) PELAGOS=$(CURDIR)/pelagos UNIT=$(CURDIR)/tests/unit \
	    sh tests/run.sh

# The state-file parser under libFuzzer for FUZZ_TIME seconds; new inputs
# go to build/fuzz-corpus, the seeds stay in tests/fuzz-corpus.
FUZZ_TIME = 60
tests/fuzz_state: tests/fuzz_state.c state.c root.c util.c pelagos.h
	$(SAN_CC) -g -O1 -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined $(DEFS) -I. -o $@ \
	    tests/fuzz_state.c state.c root.c util.c

fuzz: tests/fuzz_state
	mkdir -p build/fuzz-corpus
	./tests/fuzz_state -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
	    build/fuzz-corpus tests/fuzz-corpus

install: pelagos
	mkdir -p $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8
	cp -f pelagos $(DESTDIR)$(SBINDIR)/pelagos
	chmod 755 $(DESTDIR)$(SBINDIR)/pelagos
	cp -f pelagos.8 $(DESTDIR)$(MANDIR)/man8/pelagos.8
	chmod 644 $(DESTDIR)$(MANDIR)/man8/pelagos.8

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/pelagos $(DESTDIR)$(MANDIR)/man8/pelagos.8

clean:
	rm -f pelagos $(OBJ) tests/unit tests/fuzz_state

.PHONY: all check test check-initramfs asan test-asan fuzz install uninstall \
	clean
