# pelagos build configuration; override any of these on the make command line.
VERSION = 0.1.0

PREFIX = /usr/local
SBINDIR = $(PREFIX)/sbin
MANDIR = $(PREFIX)/share/man

# Run-time defaults compiled into the binary.
DEF_ROOT = /run/pelagos
DEF_BRIDGE = pelagos0
DEF_SUBNET = 172.19.0.0/24

CC = musl-gcc
CFLAGS = -std=c99 -Os -Wall -Wextra -Werror -pipe \
	-ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables
LDFLAGS = -static -Wl,--gc-sections -Wl,-z,noseparate-code -s

# Debian's musl-gcc searches only musl's own headers, so it cannot see the
# kernel UAPI headers (linux/, asm/) that glibc's tree carries.  They are
# appended after musl's tree so that libc headers always come from musl.
KERNEL_HEADERS = /usr/include
UAPI_ARCH = $(shell $(CC) -dumpmachine 2>/dev/null)
MUSL_UAPI = -idirafter $(KERNEL_HEADERS) -idirafter $(KERNEL_HEADERS)/$(UAPI_ARCH)

# make check-initramfs: the architecture to boot under QEMU, and extra
# flags for tests/initramfs.sh (--smoke, --timeout N, --shell).
ARCH = x86_64
INITRAMFS_FLAGS =
