#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Boot a busybox initramfs under QEMU and run pelagos's integration suite in
# it: proof that pelagos works on a bare kernel with nothing but busybox.
#
# Usage: tests/initramfs.sh [--arch x86_64|arm64] [--binary PATH] [--smoke]
#                           [--timeout SECONDS] [--accel tcg|kvm]
#                           [--tests DIR] [--shell]
#
#   --arch     target architecture (default x86_64)
#   --binary   the static pelagos binary to test (default ./pelagos)
#   --smoke    run the examples/init-sandbox.sh boot step and only the
#              suite's tests named in SMOKE_TESTS below: a quick check for
#              a slow emulated target
#   --timeout  seconds before QEMU is killed (default 600, 1200 for
#              arm64; the whole suite takes about 5 min on x86_64, 10 on
#              arm64)
#   --accel    tcg (the default) emulates; kvm needs a same-architecture
#              host with working /dev/kvm.  Not chosen automatically: a
#              /dev/kvm that opens but hangs the guest (nested
#              virtualisation without support) has been seen
#   --tests    the suite directory to copy in (default tests/)
#   --shell    keep the VM up with a shell on the console after the suite
#
# The kernel and its modules come from Debian's linux-image-<arch> package,
# busybox from busybox-static; both are fetched with `apt-get download` into
# build/initramfs/<arch>/ and reused by later runs; nothing is installed on
# the host but the tools below, and those only when running as root.
#
# Exit status is 0 only if the VM reported a result line with a non-zero
# passed count and 0 failed, the runner exited 0, and the example succeeded.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
arch=x86_64
binary=$root/pelagos
tests=$root/tests
smoke=0
shell=0
timeout_s=
accel=tcg

# Which files of the suite directory go into the image, relative to it: the
# runner and the shell scripts it sources.  Directories would be copied
# whole; names that do not exist are skipped.
SUITE_FILES='*.sh'
SUITE_EXCLUDE='initramfs.sh initramfs-init.sh'

# --smoke: the CLI contract, one sandbox's whole life, two sandboxes
# pinging each other over the bridge, the pause process's signals, and
# what depends most on the kernel and the architecture: several networks
# and IPv6, NAT and published ports, cgroup limits and the OOM killer.
SMOKE_TESTS='t_help_version t_create_contract t_two_sandboxes_talk
t_rm_removes_all t_pause_signals t_net_two_networks t_net_ipv6
t_nat_egress t_nat_publish t_confine_limits t_confine_oom'

# Loaded in this order by /init; bridge needs stp, which needs llc.
MODULES='llc stp bridge veth'
# Loaded first where the kernel has them as modules, not built in: the
# suite's IPv6 tests need ipv6.  Fetched by their directory, which holds
# other modules either way (tar fails on a pattern that matches nothing).
OPT_MODULES='ipv6'
OPT_PATS='*/net/ipv6/*'
# nf_tables for the firewall, in the order of their dependencies; /init
# runs the suite's test of a kernel without them (t_nat_unsupported)
# before it loads them.  libcrc32c takes crc32c from the crypto API;
# Debian's 6.1 takes `meta` in the bridge family from nft_meta_bridge
# (modprobe would load it on demand: the image has no modprobe).
NFT_MODULES='crc32c_generic libcrc32c nfnetlink nf_tables nf_defrag_ipv4
nf_defrag_ipv6 nf_conntrack nf_nat nft_chain_nat nft_nat nft_masq nft_fib
nft_fib_ipv4 nft_fib_ipv6 nft_fib_inet nft_ct nft_objref nf_conntrack_netlink
nft_meta_bridge'

die() {
	echo "initramfs: $*" >&2
	exit 1
}

usage() {
	sed -n '/^# Usage:/,/^# The kernel/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--arch|--binary|--timeout|--accel|--tests)
		[ $# -ge 2 ] || usage
		case $1 in
		--arch) arch=$2 ;;
		--binary) binary=$2 ;;
		--timeout) timeout_s=$2 ;;
		--accel) accel=$2 ;;
		--tests) tests=$2 ;;
		esac
		shift 2 ;;
	--smoke) smoke=1; shift ;;
	--shell) shell=1; shift ;;
	-h|--help) usage ;;
	*) echo "initramfs: unknown argument: $1" >&2; usage ;;
	esac
done

case $arch in
x86_64)
	debarch=amd64 qemu=qemu-system-x86_64 qemu_pkg=qemu-system-x86
	console=ttyS0 elf_machine=3e00 machine='' tcg_cpu=''
	# The whole suite takes about 5 min under TCG.
	: "${timeout_s:=600}" ;;
arm64|aarch64)
	arch=arm64
	debarch=arm64 qemu=qemu-system-aarch64 qemu_pkg=qemu-system-arm
	console=ttyAMA0 elf_machine=b700 machine='-M virt' tcg_cpu=cortex-a57
	# Emulated arm64 takes about twice x86_64's time: 10 min for the
	# whole suite (CI runs --smoke there).
	: "${timeout_s:=1200}" ;;
*) die "unsupported --arch $arch (x86_64 or arm64)" ;;
esac

case $binary in /*) ;; *) binary=$(pwd)/$binary ;; esac
[ -f "$binary" ] || die "no pelagos binary at $binary (build it, or pass --binary)"
[ -f "$tests/run.sh" ] || die "no run.sh in $tests"
for f in "$root/tests/initramfs-init.sh" "$root/examples/init-sandbox.sh"; do
	[ -f "$f" ] || die "missing $f"
done

cache=$root/build/initramfs/$arch
mkdir -p "$cache"

is_root() { [ "$(id -u)" = 0 ]; }

updated=0
apt_update() {
	[ "$updated" = 0 ] && is_root || return 0
	updated=1
	echo "initramfs: apt-get update"
	apt-get update -q >>"$cache/apt.log" 2>&1 ||
		{ cat "$cache/apt.log" >&2; die "apt-get update failed"; }
}

apt_install() {
	is_root || die "missing $1: install the Debian package $1 (apt-get install $1)"
	echo "initramfs: apt-get install $1"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "$1" >"$cache/apt.log" 2>&1; then
		apt_update
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends "$1" >>"$cache/apt.log" 2>&1 ||
			{ cat "$cache/apt.log" >&2; die "could not install $1"; }
	fi
}

need() {	# need COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 || apt_install "$2"
}

need "$qemu" "$qemu_pkg"
need busybox busybox-static	# the host has no cpio(1); busybox's is used
need gzip gzip
need timeout coreutils
need dpkg-deb dpkg
need apt-get apt

# A foreign architecture's packages are only visible to apt once dpkg knows
# the architecture; apt-get download needs nothing else.
if [ "$debarch" != "$(dpkg --print-architecture)" ] &&
	! dpkg --print-foreign-architectures | grep -qx "$debarch"; then
	is_root || die "run as root once, or: dpkg --add-architecture $debarch && apt-get update"
	echo "initramfs: dpkg --add-architecture $debarch"
	dpkg --add-architecture "$debarch"
	apt_update
fi

# The binary must be a static executable for the target.
[ "$(od -An -tx1 -N4 "$binary" | tr -d ' \n')" = 7f454c46 ] ||
	die "$binary is not an ELF file"
[ "$(od -An -tx1 -j18 -N2 "$binary" | tr -d ' \n')" = "$elf_machine" ] ||
	die "$binary is not an $arch binary"
if command -v readelf >/dev/null 2>&1 &&
	readelf -lW "$binary" | grep -q 'program interpreter'; then
	die "$binary is dynamically linked; the image has no libc"
fi

# The candidate version of PACKAGE:debarch, or nothing.
version_of() {
	apt-cache show --no-all-versions "$1:$debarch" 2>/dev/null |
		sed -n 's/^Version: //p' | head -n 1
}

# Fetch package NAME at VERSION and unpack into DIR the archive members
# matching the remaining arguments.
fetch() {
	pkg=$1:$debarch=$2 dir=$3
	shift 3
	dl=$(mktemp -d "$cache/dl.XXXXXX")
	sandbox=
	is_root && sandbox='-o APT::Sandbox::User=root'
	# shellcheck disable=SC2086
	(cd "$dl" && apt-get download -q $sandbox "$pkg") >"$cache/apt.log" 2>&1 ||
		{ cat "$cache/apt.log" >&2; rm -rf "$dl"; die "apt-get download $pkg failed"; }
	mkdir -p "$dir"
	dpkg-deb --fsys-tarfile "$dl"/*.deb | tar -x -C "$dir" --wildcards "$@"
	rm -rf "$dl"
}

# cache_dir KIND PACKAGE VERSION: where PACKAGE's files are kept; when apt
# could not name a version (no lists, offline), a directory of that KIND
# already in the cache, or nothing.
cache_dir() {
	if [ -n "$3" ]; then
		echo "$cache/$1-$(echo "$2_$3" | tr ':' '_')"
	else
		# shellcheck disable=SC2012
		ls -d "$cache/$1-"* 2>/dev/null | tail -n 1
	fi
}

# Kernel: linux-image-<debarch> is a metapackage; the versioned package it
# depends on carries the kernel and modules.
kernel_package() {
	apt-cache depends "linux-image-$debarch:$debarch" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[^ :]*\).*/\1/p' | head -n 1
}
kpkg=$(kernel_package)
# A machine that never ran apt-get update knows no package at all.
if [ -z "$kpkg" ] && ! ls -d "$cache/kernel-"* >/dev/null 2>&1; then
	apt_update
	kpkg=$(kernel_package)
fi
kver=
[ -n "$kpkg" ] && kver=$(version_of "$kpkg")
kdir=$(cache_dir kernel "$kpkg" "$kver")
[ -n "$kdir" ] || die "cannot resolve linux-image-$debarch (apt-get update?)"
# shellcheck disable=SC2086
want=$(echo $OPT_MODULES $MODULES $NFT_MODULES)
if [ "$(cat "$kdir/.complete" 2>/dev/null)" != "$want" ]; then
	echo "initramfs: fetching $kpkg $kver"
	rm -rf "$kdir"
	pats="./boot/vmlinuz-* ./boot/config-*"
	pats="$pats $OPT_PATS"
	# tar matches a member to its first pattern only and reports a later
	# one as not found: modules under net/ipv6 come with OPT_PATS.
	for m in $MODULES $NFT_MODULES; do
		case $m in *ipv6*) continue ;; esac
		pats="$pats */$m.ko*"
	done
	# shellcheck disable=SC2086
	fetch "$kpkg" "$kver" "$kdir/x" $pats
	mv "$kdir"/x/boot/vmlinuz-* "$kdir/vmlinuz"
	mv "$kdir"/x/boot/config-* "$kdir/config"
	# Some kernel builds ship compressed modules; busybox insmod takes
	# plain ones only.
	for m in $want; do
		f=$(find "$kdir/x/lib/modules" -name "$m.ko*" | head -n 1)
		case " $OPT_MODULES " in *" $m "*) [ -n "$f" ] || continue ;; esac
		[ -n "$f" ] || die "$kpkg has no module $m (built in? then drop it from MODULES)"
		case $f in
		*.ko) cp "$f" "$kdir/$m.ko" ;;
		*.ko.gz) gzip -dc "$f" >"$kdir/$m.ko" ;;
		*.ko.xz)
			if command -v xz >/dev/null 2>&1; then
				xz -dc "$f" >"$kdir/$m.ko"
			else
				busybox xz -dc "$f" >"$kdir/$m.ko"
			fi ;;
		*.ko.zst) need zstd zstd; zstd -qdc "$f" >"$kdir/$m.ko" ;;
		*) die "unknown module format: $f" ;;
		esac
	done
	rm -rf "$kdir/x"
	echo "$want" >"$kdir/.complete"
fi

bver=$(version_of busybox-static)
bdir=$(cache_dir busybox busybox-static "$bver")
[ -n "$bdir" ] || die "cannot resolve busybox-static:$debarch (apt-get update?)"
if [ ! -f "$bdir/.complete" ]; then
	echo "initramfs: fetching busybox-static $bver"
	rm -rf "$bdir"
	fetch busybox-static "$bver" "$bdir/x" ./bin/busybox
	mv "$bdir/x/bin/busybox" "$bdir/busybox"
	rm -rf "$bdir/x"
	touch "$bdir/.complete"
fi

# The image's tree.
stage=$cache/root
rm -rf "$stage"
mkdir -p "$stage"
cd "$stage"
mkdir -p bin dev etc lib/modules proc root run srv sys tmp usr var examples tests
ln -s bin sbin
ln -s ../bin usr/bin
ln -s ../bin usr/sbin
cp "$bdir/busybox" bin/busybox
# The target's busybox cannot run here when it is a foreign one; the host's
# busybox-static of the same Debian release has the same applets.
applets=$("$bdir/busybox" --list 2>/dev/null || busybox --list)
for a in $applets; do
	[ "$a" = busybox ] || ln -s busybox "bin/$a"
done
cp "$binary" bin/pelagos
chmod 755 bin/pelagos
for m in $MODULES $NFT_MODULES; do cp "$kdir/$m.ko" lib/modules/; done
for m in $OPT_MODULES; do
	[ -f "$kdir/$m.ko" ] && cp "$kdir/$m.ko" lib/modules/
done
# shellcheck disable=SC2086
echo $NFT_MODULES >etc/pelagos-nft-modules	# one line, in load order
cp "$root/tests/initramfs-init.sh" init
chmod 755 init
cp "$root/examples/init-sandbox.sh" examples/
# nobody lets a test drop privileges with busybox su, as busybox setpriv
# has no --reuid.
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
	'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >etc/passwd
printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >etc/group
# shellcheck disable=SC2086
[ "$smoke" = 1 ] && echo $SMOKE_TESTS >etc/pelagos-smoke	# one line
(
	cd "$tests"
	for pat in $SUITE_FILES; do
		for f in $pat; do
			[ -e "$f" ] || continue
			case " $SUITE_EXCLUDE " in *" $f "*) continue ;; esac
			cp -R "$f" "$stage/tests/"
		done
	done
)

img=$cache/initramfs.cpio.gz
find . | sort | busybox cpio -o -H newc -R 0:0 2>/dev/null | gzip -9 >"$img"
cd "$root"
size=$(wc -c <"$img")

cpu=
case $accel in
kvm) [ "$arch" = arm64 ] && cpu='-cpu host' ;;
tcg) [ -n "$tcg_cpu" ] && cpu="-cpu $tcg_cpu" ;;
*) die "unknown --accel $accel" ;;
esac

append="console=$console panic=-1 quiet"
[ "$shell" = 1 ] && append="$append pelagos.shell=1"

log=$cache/serial.log
# SeaBIOS clears the screen; keep its escape sequences out of the log.
esc=$(printf '\033')
cr=$(printf '\r')
echo "initramfs: booting $arch ($accel), image $((size / 1024)) KiB, timeout ${timeout_s}s"
rm -f "$cache/qemu.rc"
start=$(date +%s.%N)
# With --shell the console must be the terminal; otherwise stdin is closed
# so that QEMU never waits on it.
# shellcheck disable=SC2086
if [ "$shell" = 1 ]; then
	$qemu $machine $cpu -accel "$accel" -nographic -no-reboot -nic none \
		-m 512 -kernel "$kdir/vmlinuz" -initrd "$img" -append "$append"
	exit
fi
# shellcheck disable=SC2086
{
	rc=0
	timeout -k 10 "$timeout_s" \
		$qemu $machine $cpu -accel "$accel" -nographic -no-reboot \
		-nic none -m 512 -kernel "$kdir/vmlinuz" -initrd "$img" \
		-append "$append" </dev/null 2>&1 || rc=$?
	echo $rc >"$cache/qemu.rc"
} | sed "s/$esc\\[[0-9;?]*[A-Za-z]//g; s/${esc}c//g; s/$cr//g" | tee "$log"
end=$(date +%s.%N)
qemu_rc=$(cat "$cache/qemu.rc" 2>/dev/null || echo unknown)
elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')

marker() { sed -n "s/^PELAGOS-INITRAMFS-$1: //p" "$log" | tail -n 1; }
result=$(marker RESULT)
suite_rc=$(marker EXIT)
example=$(marker EXAMPLE)
nonft=$(marker NONFT)
uptime=$(marker UPTIME)
passed=$(echo "$result" |
	sed -n 's/^\([A-Za-z]*: \)\{0,1\}\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
failed=$(echo "$result" |
	sed -n 's/^\([A-Za-z]*: \)\{0,1\}\([0-9]*\) passed, \([0-9]*\) failed.*/\3/p')

echo
echo "initramfs: kernel $(basename "$kdir"), $(basename "$bdir")"
echo "initramfs: image $img: $size bytes ($((size / 1024)) KiB)"
echo "initramfs: boot-to-result ${elapsed}s on the host (${uptime:-?} of guest uptime), $arch $accel"
echo "initramfs: serial log $log"

verdict=
[ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ] && verdict="QEMU timed out after ${timeout_s}s"
[ -z "$verdict" ] && [ -z "$result" ] && verdict="no result line from the VM (qemu exit $qemu_rc)"
[ -z "$verdict" ] && [ -z "$passed" ] && verdict="unreadable result: $result"
[ -z "$verdict" ] && [ "$failed" != 0 ] && verdict="$failed failed"
[ -z "$verdict" ] && [ "$passed" = 0 ] && verdict="nothing passed"
[ -z "$verdict" ] && [ "$suite_rc" != 0 ] && verdict="run.sh exited $suite_rc"
[ -z "$verdict" ] && [ "$example" != ok ] && verdict="examples/init-sandbox.sh failed"
[ -z "$verdict" ] && [ "$smoke" != 1 ] && [ "$nonft" != "1 passed, 0 failed, 0 skipped" ] &&
	verdict="the test without nf_tables: ${nonft:-no result}"
if [ -n "$verdict" ]; then
	echo "initramfs: FAIL: $verdict"
	exit 1
fi
echo "initramfs: PASS: $result"
