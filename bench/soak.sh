#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# pelagos soak: N create/rm cycles of nine kinds (--name, --pod-pid,
# --host-net, run and run -d workloads, rm by ID, by name and rm -f),
# what is left after each block of 1000, the create and rm medians per
# block, and the cost of the fsyncs: the same cycle with the root on a
# tmpfs, on a loop-mounted ext4 and on this machine's disk (/var/tmp),
# each against a build of this tree whose root_sync() does nothing.
# See bench/README.md.
#
#   bench/soak.sh [--quick] [-n N] [--fsync-n M] [--pelagos PATH]
#
# Exit status is 0 when every operation worked and nothing leaked,
# whatever the timings.

set -u

usage() {
	echo "usage: $0 [--quick] [-n N] [--fsync-n M] [--pelagos PATH]" >&2
	exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

n=3000
m=200
block=1000
pelagos=$top/pelagos
while [ $# -gt 0 ]; do
	case $1 in
	--quick) n=48 m=8 block=16 ;;
	-n) [ $# -ge 2 ] || usage; n=$2; shift ;;
	--fsync-n) [ $# -ge 2 ] || usage; m=$2; shift ;;
	--pelagos) [ $# -ge 2 ] || usage; pelagos=$2; shift ;;
	*) usage ;;
	esac
	shift
done
case $n$m in *[!0-9]*) usage ;; esac
[ "$n" -ge 8 ] && [ "$m" -ge 1 ] || usage
[ "$n" -ge "$block" ] || block=$n

die() {
	echo "soak: error: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root"
[ -x "$pelagos" ] || die "no pelagos binary at $pelagos (run make)"

need=
command -v cc >/dev/null 2>&1 || need="$need gcc libc6-dev"
command -v mkfs.ext4 >/dev/null 2>&1 || need="$need e2fsprogs"
command -v ip >/dev/null 2>&1 || need="$need iproute2"
if [ -n "$need" ]; then
	echo "soak: installing$need"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null &&
		apt-get install -y -qq $need >/dev/null ||
		die "apt-get install$need failed"
fi

# --- names, cleanup ---------------------------------------------------------

tmp=$(mktemp -d /tmp/psoak.XXXXXX) || die "mktemp failed"
disk=$(mktemp -d /var/tmp/psoak.XXXXXX) || { rmdir "$tmp"; die "mktemp failed"; }
br=ps$(cut -c1-4 /proc/sys/kernel/random/uuid)
root=$tmp/tmpfs/soak
# Pod cgroups under a parent of this run's own on the cgroup2 mount.
cgmount=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
cgparent=${cgmount:+$cgmount/pelagos-soak-${br#ps}}
mounts=
: >"$tmp/ids"
: >"$tmp/wl"

# Processes started by the run are killed by recorded PID and start time
# (field 22 of /proc/PID/stat).
start_of() {
	{ read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
	set -- ${st##*) }
	echo "${20}"
}

# alive_as PID START: that very process, not a zombie.
alive_as() {
	{ read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
	set -- "$2" ${st##*) }
	[ "$2" != Z ] && [ "${21}" = "$1" ]
}

cleanup() {
	trap '' INT TERM HUP
	for r in "$tmp"/tmpfs/* "$tmp"/ext4/* "$disk"/*; do
		for d in "$r"/sandboxes/*; do
			[ -d "$d" ] && "$pelagos" --root "$r" sandbox rm -f \
			    "${d##*/}" >/dev/null 2>&1
		done
	done
	while read -r p s; do
		alive_as "$p" "$s" && kill -9 "$p"
	done <"$tmp/wl"
	# Objects named after this run's IDs only.
	while read -r id; do
		s=${id%????????}
		if [ -e "/run/netns/psb-$s" ]; then
			umount "/run/netns/psb-$s" 2>/dev/null
			rm -f "/run/netns/psb-$s"
		fi
		[ -e "/sys/class/net/vh-$s" ] && ip link del "vh-$s" 2>/dev/null
	done <"$tmp/ids"
	for cg in "$cgparent"/*/; do
		[ -d "$cg" ] || continue
		echo 1 >"$cg/cgroup.kill" 2>/dev/null
		find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	[ -n "$cgparent" ] && [ -d "$cgparent" ] && rmdir "$cgparent"
	for mp in $mounts; do
		umount "$mp" 2>/dev/null || umount -l "$mp"
	done
	ip link show dev "$br" >/dev/null 2>&1 && ip link del "$br"
	# The run's own nf_tables tables (PELAGOS_NFT_TABLE), never another's.
	if command -v nft >/dev/null 2>&1; then
		nft delete table inet "$br" 2>/dev/null
		nft delete table bridge "$br" 2>/dev/null
	fi
	rm -rf "$tmp" "$disk"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# A 10.2xx.y.0/24 that no address or route of this host is in.
tries=0
while :; do
	r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	net=10.$((200 + r % 50)).$((r / 50 % 250))
	{ ip -4 -o addr; ip -4 route show table all; } | grep -q "${net%.*}\." ||
	    break
	tries=$((tries + 1))
	[ $tries -lt 50 ] || die "no free 10.2xx.0.0/16 block"
done
export PELAGOS_BRIDGE=$br PELAGOS_SUBNET=$net.0/24 PELAGOS_NFT_TABLE=$br
PELAGOS_CGROUP_PARENT=none
[ -n "$cgparent" ] && PELAGOS_CGROUP_PARENT=$cgparent
export PELAGOS_CGROUP_PARENT

mkdir -p "$tmp/tmpfs" "$tmp/ext4"
mount -t tmpfs -o size=64m,mode=0700 tmpfs "$tmp/tmpfs" || die "mount tmpfs"
mounts="$tmp/tmpfs"
dd if=/dev/zero of="$tmp/ext4.img" bs=1M count=0 seek=256 2>/dev/null &&
	mkfs.ext4 -q -F "$tmp/ext4.img" || die "mkfs.ext4"
mount -o loop "$tmp/ext4.img" "$tmp/ext4" || die "mount the ext4 image"
mounts="$tmp/ext4 $mounts"

# --- tools ------------------------------------------------------------------

timeit=$tmp/timeit
cc -O2 -o "$timeit" "$here/timeit.c" || die "cannot build timeit"

# The same tree with root_sync(), pelagos's one fsync, made a no-op: the
# difference to it is what the fsyncs cost.
nofsync=$tmp/src/pelagos
mkdir -p "$tmp/src"
cp "$top"/*.c "$top"/*.h "$top"/*.sh "$top/Makefile" "$top/config.mk" "$tmp/src/" &&
	awk '/^root_sync\(int fd\)$/ { f = 1 }
	f && /return/ { print "\t(void)fd;"; print "\treturn 0;"; f = 0; next }
	{ print }' "$top/root.c" >"$tmp/src/root.c" ||
	die "cannot copy the tree"
# A call anywhere else (comment lines do not count) would keep a sync.
calls=$(for f in "$tmp"/src/*.c; do
	grep -v '^[[:space:]]*/\{0,1\}\*' "$f" | grep -q 'fsync(' && echo "$f"
done)
if [ -n "$calls" ]; then
	echo "soak: no no-fsync build: fsync( still called in" $calls
	nofsync=
elif ! make -s -C "$tmp/src" pelagos >"$tmp/src/log" 2>&1; then
	echo "soak: no no-fsync build: $(tail -n 3 "$tmp/src/log")"
	nofsync=
fi

. "$here/stats.sh"

# --- one cycle --------------------------------------------------------------

# cycle KIND ROOT BIN CREATE-FILE RM-FILE: one create, maybe a workload,
# one rm; the create and rm times go to the two files.
cycle() {
	ref=id rmo=
	case $1 in
	0) set -- "$@" ;;
	1) set -- "$@" --name soak-a; ref=soak-a ;;
	2) set -- "$@" --pod-pid ;;
	3) set -- "$@" --host-net ;;
	4) set -- "$@"; rmo=-f ;;
	5) set -- "$@" --name soak-b --pod-pid; ref=soak-b rmo=-f ;;
	6) set -- "$@" --host-net --name soak-c; ref=soak-c rmo=-f ;;
	7) set -- "$@" ;;
	8) set -- "$@" --pod-pid; rmo=-f ;;
	esac
	kind=$1 r=$2 bin=$3 cf=$4 rf=$5
	shift 5
	"$timeit" -t 60 "$cf" "$bin" --root "$r" sandbox create "$@" \
	    >"$tmp/out" 2>"$tmp/err" </dev/null ||
	    die "create $*: $(cat "$tmp/err")"
	read -r id <"$tmp/out"
	echo "$id" >>"$tmp/ids"
	[ -s "$tmp/err" ] && die "create $* said: $(cat "$tmp/err")"
	[ "$ref" = id ] && ref=$id
	case $kind in
	4|6|8)
		"$bin" --root "$r" run -d --sandbox "$ref" -- sleep 3600 \
		    >"$tmp/out" 2>"$tmp/err" </dev/null ||
		    die "run -d: $(cat "$tmp/err")"
		read -r p <"$tmp/out"
		echo "$p $(start_of "$p")" >>"$tmp/wl" ;;
	5|7)
		"$bin" --root "$r" run --sandbox "$ref" -- true \
		    >"$tmp/out" 2>"$tmp/err" </dev/null ||
		    die "run: $(cat "$tmp/err")" ;;
	esac
	"$timeit" -t 60 "$rf" "$bin" --root "$r" sandbox rm $rmo "$ref" \
	    >"$tmp/out" 2>"$tmp/err" </dev/null ||
	    die "rm $rmo $ref: $(cat "$tmp/err")"
	[ -s "$tmp/err" ] && die "rm said: $(cat "$tmp/err")"
	return 0
}

# --- what is left -----------------------------------------------------------

# How many of the listed short IDs (stdin) belong to this run.
ours() {
	# The "-" line keeps the first file from being empty, which would
	# make awk take the second for it.
	{ echo -; cut -c1-8 "$tmp/ids"; } | sort -u >"$tmp/s8"
	sort -u | awk 'NR == FNR { o[$1]; next } $1 in o { n++ } END { print n + 0 }' \
	    "$tmp/s8" -
}

# One line of counts: the run's netns files, veths, mounts, pauses,
# bridge ports, state directories, leases, names, pod cgroups and live
# workloads; the
# harness's fds; the host's open files, live (not zombie) threads and
# mounts; the resident sandbox's pause: its fds, threads and VmRSS (kB).
counts() {
	ls /run/netns 2>/dev/null | sed -n 's/^psb-//p' | ours
	ls /sys/class/net | sed -n 's/^vh-//p' | ours
	grep -o ' /run/netns/psb-[0-9a-f]* ' /proc/self/mountinfo |
	    sed 's/.*psb-//; s/ //' | ours
	for _f in $(grep -l -a __pause__ /proc/[0-9]*/cmdline 2>/dev/null); do
		{ tr '\0' '\n' <"$_f"; } 2>/dev/null | sed -n 's/^psb-//p'
	done | ours
	ls "/sys/class/net/$br/brif" 2>/dev/null | wc -l
	for _d in sandboxes leases names; do
		ls "$root/$_d" 2>/dev/null | wc -l
	done
	ls -d "$cgparent"/*/ 2>/dev/null | wc -l
	_w=0
	while read -r _p _s; do
		alive_as "$_p" "$_s" && _w=$((_w + 1))
	done <"$tmp/wl"
	echo "$_w"
	ls /proc/$$/fd | wc -l
	cut -f1 /proc/sys/fs/file-nr
	cat /proc/[0-9]*/task/[0-9]*/stat 2>/dev/null | awk '{ s = $0
	    sub(/^.*\) /, "", s); if (substr(s, 1, 1) != "Z") n++ }
	    END { print n + 0 }'
	wc -l </proc/self/mountinfo
	ls "/proc/$rpid/fd" | wc -l
	ls "/proc/$rpid/task" | wc -l
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$rpid/status"
}

# A veth goes with its namespace a moment after the last reference: the
# counts are taken once the run's own objects are back to what they were
# before the soak, or after 10 s.
settled() {
	_t=0
	while [ $_t -lt 200 ]; do
		set -- $(counts)
		[ "$1 $2 $3 $4 $5 $6 $7 $8 $9 ${10}" = "$base" ] && break
		sleep 0.05
		_t=$((_t + 1))
	done
	echo "$@"
}

# --- the soak ---------------------------------------------------------------

echo "soak: $n create/rm cycles of 9 kinds, root on tmpfs, bridge $br," \
    "subnet $net.0/24"
# A sandbox with a workload that lives through the whole soak.
rid=$("$pelagos" --root "$root" sandbox create --name soak-resident) ||
	die "create the resident sandbox"
echo "$rid" >>"$tmp/ids"
rpid=$(sed -n 's/^pause_pid //p' "$root/sandboxes/$rid/state")
p=$("$pelagos" --root "$root" run -d --sandbox "$rid" -- sleep 3600) ||
	die "run -d in the resident sandbox"
echo "$p $(start_of "$p")" >>"$tmp/wl"
set -- $(counts)
base="$1 $2 $3 $4 $5 $6 $7 $8 $9 ${10}"
echo "before $*" >"$tmp/counts"
t0=$(cut -d' ' -f1 /proc/uptime)
: >"$tmp/rm8"
i=0 b=0
while [ $i -lt "$n" ]; do
	if [ $((i % block)) = 0 ]; then
		b=$((b + 1))
		: >"$tmp/create.$b"
		: >"$tmp/rm.$b"
		: >"$tmp/create0.$b"
		: >"$tmp/rm0.$b"
	fi
	k=$((i % 8))
	# A --pod-pid sandbox with a run -d workload, 1 cycle in 64: its
	# rm -f waits for the host's init to reap the killed workload (see
	# bench/README.md), which takes a second or two on this VM.
	[ $((i % 64)) = 5 ] && k=8
	if [ $k = 8 ]; then
		cycle 8 "$root" "$pelagos" "$tmp/create.$b" "$tmp/rm8"
		tail -n 1 "$tmp/rm8" >>"$tmp/rm.$b"
	elif [ $k = 0 ]; then
		cycle 0 "$root" "$pelagos" "$tmp/create0.$b" "$tmp/rm0.$b"
		tail -n 1 "$tmp/create0.$b" >>"$tmp/create.$b"
		tail -n 1 "$tmp/rm0.$b" >>"$tmp/rm.$b"
	else
		cycle $k "$root" "$pelagos" "$tmp/create.$b" "$tmp/rm.$b"
	fi
	i=$((i + 1))
	[ $((i % block)) = 0 ] || [ $i = "$n" ] || continue
	echo "$(( (b - 1) * block + 1 ))-$i $(settled)" >>"$tmp/counts"
	"$pelagos" --root "$root" sandbox inspect "$rid" | grep -q '"status":"running"' ||
		die "the resident sandbox is not running after $i cycles"
done
t1=$(cut -d' ' -f1 /proc/uptime)
echo "soak: $n cycles in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }') s"

echo
echo "after each block: the run's own objects beyond the resident sandbox's" \
    "(0 = no leak);"
echo "the harness's fds and the host's open files, live threads and mounts" \
    "(change; the host's include whatever else runs on it); the resident" \
    "pause's fds, threads and VmRSS kB"
leaked=0
awk -v n="$n" '
function row(l, a) {
	printf "%-11s %5s %4s %5s %5s %4s %5s %5s %4s %6s %8s | %4s %6s %7s %6s | %3s %3s %4s\n",
	    l, a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11],
	    a[12], a[13], a[14], a[15], a[16], a[17], a[18]
}
BEGIN {
	split("x netns veth mount pause port state lease name cgroup workload " \
	    "fds files threads mounts fds thr rss", h, " ")
	row("cycles", h)
}
NR == 1 {
	for (i = 2; i <= NF; i++) { b[i] = p[i] = $i; v[i] = $i }
	for (i = 2; i <= 11; i++) v[i] = "-"
	row("before", v)
	next
}
{
	for (i = 2; i <= 11; i++) { v[i] = $i - b[i]; if (v[i]) bad = 1 }
	for (i = 12; i <= 15; i++) { v[i] = sprintf("%+d", $i - p[i]); p[i] = $i }
	for (i = 16; i <= 18; i++) v[i] = $i
	row($1, v)
	for (i = 2; i <= NF; i++) last[i] = $i
}
END {
	s = 0
	for (i = 2; i <= 11; i++) s += last[i] - b[i]
	printf "leaks per 1000 cycles (the run'"'"'s own objects): %.2f; over " \
	    "the whole run: harness fds %+d, host open files %+d, host live " \
	    "threads %+d, host mounts %+d\n", s * 1000 / n,
	    last[12] - b[12], last[13] - b[13], last[14] - b[14], last[15] - b[15]
	exit bad
}' "$tmp/counts" || leaked=1
"$pelagos" --root "$root" sandbox rm -f "$rid" >/dev/null ||
	die "rm -f the resident sandbox"

echo
echo "create and rm per block, ms (median p99): all kinds, and plain create" \
    "+ rm ID only"
printf '%-11s %15s %15s %15s %15s\n' cycles create rm plain-create plain-rm
j=1
while [ $j -le $b ]; do
	hi=$((j * block))
	[ $hi -le "$n" ] || hi=$n
	printf '%-11s %15s %15s %15s %15s\n' "$(( (j - 1) * block + 1 ))-$hi" \
	    "$(stats "$tmp/create.$j")" "$(stats "$tmp/rm.$j")" \
	    "$(stats "$tmp/create0.$j")" "$(stats "$tmp/rm0.$j")"
	j=$((j + 1))
done

set -- $(stats "$tmp/rm8")
echo "of which rm -f of a --pod-pid sandbox with a run -d workload" \
    "($(wc -l <"$tmp/rm8") cycles): median $1 ms, p99 $2 ms"

# --- the cost of the fsyncs -------------------------------------------------

echo
if command -v strace >/dev/null 2>&1; then
	r=$tmp/tmpfs/count
	"$pelagos" --root "$r" sandbox create >/dev/null 2>&1
	strace -o "$tmp/fs.trace" -e trace=fsync "$pelagos" --root "$r" \
	    sandbox create >"$tmp/out" 2>/dev/null
	c=$(grep -c 'fsync(' "$tmp/fs.trace")
	strace -o "$tmp/fs.trace" -e trace=fsync "$pelagos" --root "$r" \
	    sandbox rm "$(cat "$tmp/out")" >/dev/null 2>&1
	echo "fsyncs of a plain create (the root made already): $c; of its rm:" \
	    "$(grep -c 'fsync(' "$tmp/fs.trace")"
	for d in "$r"/sandboxes/*; do
		"$pelagos" --root "$r" sandbox rm "${d##*/}" >/dev/null 2>&1
	done
fi
if [ -z "$nofsync" ]; then
	echo "fsync cost: skipped (no no-fsync build)"
	[ $leaked = 0 ] || die "objects were left behind"
	exit 0
fi
echo "fsync cost: $m plain create + rm ID cycles per place and build," \
    "alternating; medians in ms"
printf '%-34s %7s %8s %6s %7s %8s %6s\n' "root on" create no-fsync cost \
    rm no-fsync cost
for place in tmpfs ext4 disk; do
	case $place in
	tmpfs) dir=$tmp/tmpfs label="tmpfs" ;;
	ext4) dir=$tmp/ext4 label="ext4 on a loop device (in /tmp)" ;;
	disk) dir=$disk label="this machine's disk ($(findmnt -no FSTYPE -T "$disk"), /var/tmp)" ;;
	esac
	for v in f n; do
		: >"$tmp/$place.$v.create"
		: >"$tmp/$place.$v.rm"
	done
	j=0
	while [ $j -lt "$m" ]; do
		for v in f n; do
			[ $((j % 2)) = 1 ] && v=$(echo $v | tr fn nf)
			bin=$pelagos
			[ $v = n ] && bin=$nofsync
			cycle 0 "$dir/$v" "$bin" "$tmp/$place.$v.create" \
			    "$tmp/$place.$v.rm"
		done
		j=$((j + 1))
	done
	set -- $(stats "$tmp/$place.f.create") $(stats "$tmp/$place.n.create") \
	    $(stats "$tmp/$place.f.rm") $(stats "$tmp/$place.n.rm")
	printf '%-34s %7s %8s %6s %7s %8s %6s\n' "$label" "$1" "$3" \
	    "$(awk -v a="$1" -v b="$3" 'BEGIN { printf "%.2f", a - b }')" \
	    "$5" "$7" "$(awk -v a="$5" -v b="$7" 'BEGIN { printf "%.2f", a - b }')"
done
[ $leaked = 0 ] || die "objects were left behind"
exit 0
