# SPDX-License-Identifier: Apache-2.0
# pelagos build configuration: every knob of the build.  Override any of
# these on the make command line (make CC=cc PREFIX=/usr).
VERSION = 0.2.0

PREFIX = /usr/local
SBINDIR = $(PREFIX)/sbin
MANPREFIX = $(PREFIX)/share/man
MANDIR = $(MANPREFIX)

# Run-time defaults compiled into the binary.
DEF_ROOT = /run/pelagos
DEF_BRIDGE = pelagos0
DEF_SUBNET = 172.19.0.0/24
DEF_NETWORK = pelagos0
DEF_RESOLV_CONF = /etc/resolv.conf
# The CNI plugin's: where leases live unless dataDir says otherwise, and
# the bridge when the configuration names none.
DEF_CNI_DIR = /run/cni/pelagos
DEF_CNI_BRIDGE = pcni0
# The nf_tables tables' name (inet and bridge); PELAGOS_NFT_TABLE sets
# another at run time.
DEF_NFT_TABLE = pelagos

CC = musl-gcc
# WERROR is empty for users' builds; CI exports WERROR=-Werror.
WERROR ?=
# -Oz (GCC 12) and the -fno- passes after it: each makes the binary
# smaller here (together 3.4 KB less than -Os; the last three 192 bytes);
# a command's time is its system calls'.
CFLAGS = -std=c99 -Oz -Wall -Wextra $(WERROR) -pipe \
	-ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables \
	-fno-thread-jumps -fno-tree-tail-merge -fno-caller-saves \
	-fno-tree-switch-conversion -fno-shrink-wrap -fno-tree-dominator-opts \
	-fno-if-conversion -fno-move-loop-invariants \
	-fno-optimize-sibling-calls -fno-jump-tables -fno-ssa-phiopt $(NOFP) \
	$(ABIALIGN)
# No floating point anywhere: variadic functions save no vector registers
# (where the compiler knows the option).
NOFP = $(if $(filter x86_64% i386% i686% aarch64%,$(UAPI_ARCH)),-mgeneral-regs-only)
# Arrays of 32 bytes and more aligned as the psABI asks (16), not to 32
# for vector loads that -mgeneral-regs-only rules out: 536 bytes of
# padding between tables and strings on x86_64.
ABIALIGN = $(if $(filter x86_64% i386% i686%,$(UAPI_ARCH)),-malign-data=abi)
# -z norelro: no dynamic linker runs in a static musl binary, so nothing
# would ever mprotect the RELRO range; aligning it padded the file by up
# to a page, and by ~60 KiB where the maximum page size is 64 KiB (arm64).
# -z common-page-size=64: the data segment then starts right after the
# text in the file instead of at the next page, which saved up to 4 KiB
# of padding; in memory the two share the page they meet in, as usual.
LDFLAGS = -static -Wl,--gc-sections -Wl,-z,noseparate-code -Wl,-z,norelro \
	-Wl,-z,common-page-size=64 -s
# Cuts what no segment loads (section headers, .comment) after the link;
# SSTRIP=: keeps them, for a build with symbols (LDFLAGS without -s).
SSTRIP = sh sstrip.sh

# Debian's musl-gcc searches only musl's own headers, so it cannot see the
# kernel UAPI headers (linux/, asm/) that glibc's tree carries.  They are
# appended after musl's tree so that libc headers always come from musl.
KERNEL_HEADERS = /usr/include
UAPI_ARCH = $(shell $(CC) -dumpmachine 2>/dev/null)
MUSL_UAPI = -idirafter $(KERNEL_HEADERS) -idirafter $(KERNEL_HEADERS)/$(UAPI_ARCH)
# jsmn.h (Debian's libjsmn-dev: header-only, architecture-independent) is
# searched last, so a cross build whose KERNEL_HEADERS point elsewhere
# still finds it and nothing else there.
JSMN_DIR = /usr/include
JSMN = -idirafter $(JSMN_DIR)

# make asan / test-asan: the suite against a clang ASan+UBSan build,
# dynamically linked (the sanitizer runtimes need the system libc).
SAN_CC = clang
SAN_CFLAGS = -std=c99 -g -O1 -Wall -Wextra $(WERROR) \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
SAN_LDFLAGS =

# make fuzz: the state parser, then the CNI configuration and result,
# under libFuzzer for FUZZ_TIME seconds each; CNI inputs up to
# FUZZ_CNI_LEN bytes (the plugin reads at most 65536).
FUZZ_CC = clang
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined
FUZZ_TIME = 60
FUZZ_CNI_LEN = 8192

# make check-initramfs: the architecture to boot under QEMU, and extra
# flags for tests/initramfs.sh (--smoke, --timeout N, --shell).
ARCH = x86_64
INITRAMFS_FLAGS =
