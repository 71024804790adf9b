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

install: pelagos
	mkdir -p $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8
	cp -f pelagos $(DESTDIR)$(SBINDIR)/pelagos
	chmod 755 $(DESTDIR)$(SBINDIR)/pelagos
	cp -f pelagos.8 $(DESTDIR)$(MANDIR)/man8/pelagos.8
	chmod 644 $(DESTDIR)$(MANDIR)/man8/pelagos.8

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/pelagos $(DESTDIR)$(MANDIR)/man8/pelagos.8

clean:
	rm -f pelagos $(OBJ) tests/unit

.PHONY: all check test check-initramfs install uninstall clean
