#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# sstrip.sh FILE: cuts a static little-endian ELF64 executable after its
# last loaded byte, so the section headers and the sections no segment
# loads (.comment, .shstrtab) go, as ELFkickers' sstrip does: the kernel
# runs a program by its program headers alone.  1.1 KB of the binary.
# Any other file is left as it is.  Build-time only (od, dd).
set -eu
f=$1
[ "$(od -An -N 6 -t x1 "$f" | tr -d ' \n')" = 7f454c460201 ] || exit 0
# u OFFSET SIZE: an unsigned little-endian field of the file.
u() { od -An -j "$1" -N "$2" -t "u$2" "$f" | tr -d ' \n'; }
phoff=$(u 32 8) phsize=$(u 54 2) phnum=$(u 56 2)
end=$((phoff + phsize * phnum)) i=0
while [ "$i" -lt "$phnum" ]; do
	p=$((phoff + i * phsize))
	last=$(($(u $((p + 8)) 8) + $(u $((p + 32)) 8)))
	[ "$last" -gt "$end" ] && end=$last
	i=$((i + 1))
done
# e_shoff, then e_shnum and e_shstrndx: no section headers.
printf '\0\0\0\0\0\0\0\0' | dd of="$f" bs=1 seek=40 conv=notrunc 2>/dev/null
printf '\0\0\0\0' | dd of="$f" bs=1 seek=60 conv=notrunc 2>/dev/null
dd if=/dev/null of="$f" bs=1 seek="$end" 2>/dev/null
