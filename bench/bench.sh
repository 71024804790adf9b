#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# pelagos benchmark: sandbox create/rm against two peers, pause memory,
# binary size, and a scale run.  See bench/README.md.
#
#   bench/bench.sh [--quick] [-n N] [--scale M] [--pelagos PATH]
#                  [--baseline PATH] [--cni]
#
# Exit status is 0 when every operation worked, whatever the figures.

set -u

usage() {
	echo "usage: $0 [--quick] [-n N] [--scale M] [--pelagos PATH]" \
	    "[--baseline PATH] [--cni]" >&2
	exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

n=200
scale=1000
pelagos=$top/pelagos
baseline=
quick=0
cni=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 n=5 scale=20 ;;
	-n) [ $# -ge 2 ] || usage; n=$2; shift ;;
	--scale) [ $# -ge 2 ] || usage; scale=$2; shift ;;
	--pelagos) [ $# -ge 2 ] || usage; pelagos=$2; shift ;;
	--baseline) [ $# -ge 2 ] || usage; baseline=$2; shift ;;
	--cni) cni=1 ;;
	*) usage ;;
	esac
	shift
done
case $n$scale in *[!0-9]*) usage ;; esac
[ "$n" -ge 1 ] && [ "$scale" -ge 10 ] || usage
# One pelagos bridge holds every scale sandbox, and a bridge has 1023 ports.
[ "$scale" -le 1000 ] || { echo "bench: --scale is at most 1000" >&2; exit 2; }
# Sandboxes created and removed at 0 and at $scale existing ones: with 20,
# the ratio of the two medians moved by up to 0.5 between runs on a 2-vCPU
# VM, whose load comes and goes.
probe=40
[ $quick = 1 ] && probe=3
limit=60

die() {
	echo "bench: error: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root"

# --- packages ---------------------------------------------------------------

need=
command -v ip >/dev/null 2>&1 || need="$need iproute2"
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] &&
	[ -x /usr/lib/cni/loopback ] || need="$need containernetworking-plugins"
command -v catatonit >/dev/null 2>&1 || need="$need catatonit"
command -v unshare >/dev/null 2>&1 || need="$need util-linux"
command -v cc >/dev/null 2>&1 || need="$need gcc libc6-dev"
command -v strip >/dev/null 2>&1 || need="$need binutils"
command -v ping >/dev/null 2>&1 || need="$need iputils-ping"
command -v awk >/dev/null 2>&1 || need="$need mawk"
command -v nft >/dev/null 2>&1 || need="$need nftables"
if [ -n "$need" ]; then
	echo "bench: installing$need"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null &&
		apt-get install -y -qq $need >/dev/null ||
		die "apt-get install$need failed"
fi

# --- names, cleanup ---------------------------------------------------------

# The roots and the peers' state: under $TMPDIR when set (a tmpfs, as /run is
# on a device), else /tmp.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pbench.XXXXXX") || die "mktemp failed"
net_i= net_c=
tag=$(cut -c1-4 /proc/sys/kernel/random/uuid)
br_p=pb${tag}p
br_i=pb${tag}i
br_c=pb${tag}c
br_b=pb${tag}b
br_6=pb${tag}6
br_7=pb${tag}7
br_k=pb${tag}k
br_q=pb${tag}q
proot=$tmp/root
broot=$tmp/broot
ids=$tmp/pelagos.ids
cgmount=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
cgparent=${cgmount:+$cgmount/pelagos-bench-$tag}
: >"$ids"
: >"$tmp/sysctl.saved"
: >"$tmp/peer.names"

# peer_KIND CMD...: run CMD with the environment of that peer.
peer_iproute2() {
	PEER_BRIDGE=$br_i PEER_NET=$net_i PEER_STATE=$tmp/iproute2 "$@"
}
peer_cni() {
	PEER_BRIDGE=$br_c PEER_SUBNET=$net_c.0/24 PEER_STATE=$tmp/cni "$@"
}

# Set sysctl $1 to $2, remembering the old value for cleanup.
sysctl_set() {
	old=$(sysctl -n "$1") || die "sysctl $1"
	[ "$old" = "$2" ] && return
	grep -q "^$1 " "$tmp/sysctl.saved" || echo "$1 $old" >>"$tmp/sysctl.saved"
	sysctl -qw "$1=$2" || die "sysctl -w $1=$2"
	echo "bench: sysctl $1: $old -> $2 (restored at exit)"
}

# Raise sysctl $1 to at least $2.
sysctl_min() {
	cur=$(sysctl -n "$1") || die "sysctl $1"
	[ "$cur" -ge "$2" ] || sysctl_set "$1" "$2"
}

# True while pid $1 exists and has not exited (a zombie has).
alive() {
	{ read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

cleanup() {
	trap '' INT TERM HUP
	if [ -s "$ids" ] || [ -d "$proot/sandboxes" ] ||
	    [ -d "$broot/sandboxes" ]; then
		for d in "$proot"/sandboxes/*; do
			[ -d "$d" ] || continue
			"$pelagos" --root "$proot" sandbox rm "${d##*/}" \
				>/dev/null 2>&1
		done
		for d in "$broot"/sandboxes/*; do
			[ -d "$d" ] || continue
			"$baseline" --root "$broot" sandbox rm "${d##*/}" \
				>/dev/null 2>&1
		done
		# Whatever pelagos could not remove: the pids and names are
		# the ones recorded for this run only.
		for d in "$proot"/sandboxes/* "$broot"/sandboxes/*; do
			[ -f "$d/state" ] || continue
			pid=$(awk '$1 == "pause_pid" { print $2 }' "$d/state")
			echo "${d##*/} ${pid:-0}" >>"$ids"
		done
		while read -r id pid; do
			ns=psb-${id%????????}
			if [ -e "/run/netns/$ns" ]; then
				[ "/proc/$pid/ns/net" -ef "/run/netns/$ns" ] &&
					kill -9 "$pid"
				ip netns del "$ns"
			fi
			[ -e "/sys/class/net/vh-${ns#psb-}" ] &&
				ip link del "vh-${ns#psb-}"
		done <"$ids"
	fi
	while read -r kind name; do
		[ -e "/run/netns/$name" ] || [ -e "$tmp/$kind/$name.pid" ] ||
			continue
		"peer_$kind" "$here/peer-$kind.sh" purge "$name" 2>/dev/null
	done <"$tmp/peer.names"
	# The CNI plugin runs: DEL whatever an interrupted run left, then
	# the namespaces (the veths go with them) and bridges.
	[ -f "$tmp/cni.names" ] && while read -r plug name; do
		cni_call "$plug" DEL "$name" >/dev/null 2>&1
		[ -e "/run/netns/$name" ] && ip netns del "$name"
	done <"$tmp/cni.names"
	for b in "$br_p" "$br_i" "$br_c" "$br_b" "$br_6" "$br_7" "$br_k" \
	    "$br_q"; do
		ip link show dev "$b" >/dev/null 2>&1 && ip link del "$b"
	done
	# The nf_tables tables of this run only (PELAGOS_NFT_TABLE).
	for f in inet bridge; do
		nft delete table "$f" "pb$tag" 2>/dev/null
		nft delete table "$f" "pb${tag}b" 2>/dev/null
	done
	while read -r key val; do
		sysctl -qw "$key=$val"
	done <"$tmp/sysctl.saved"
	[ -n "${cnidata:-}" ] && rm -rf "$cnidata"
	# The pods' cgroups went with them, but those of sandboxes killed
	# above: theirs (leaf first, once their pauses have left), then the
	# parent, this run's.
	if [ -n "$cgparent" ] && [ -d "$cgparent" ]; then
		for d in "$cgparent"/*/pause "$cgparent"/*; do
			[ -d "$d" ] || continue
			j=0
			while ! rmdir "$d" 2>/dev/null && [ $j -lt 50 ]; do
				j=$((j + 1))
				sleep 0.1
			done
		done
		rmdir "$cgparent"
	fi
	rm -rf "$tmp"
}
trap 'st=$?; cleanup; exit $st' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# A free 10.x.0.0/16 block for each bridge: none may overlap any address or
# route on the host (in any table).
used=$(ip -4 -o addr show | awk '{ print $4 }'; ip -4 route show table all |
	awk '{ p = ($1 ~ /^[0-9]/) ? $1 : $2; if (p ~ /^[0-9]/) print p }')
free16() {
	echo "$used" | awk -v net="10.$1.0.0" '
	function toint(a,   o) { split(a, o, "."); return ((o[1] * 256 + o[2]) * 256 + o[3]) * 256 + o[4] }
	BEGIN { lo = toint(net); hi = lo + 65535; ok = 1 }
	NF {
		split($0, p, "/"); len = (p[2] == "") ? 32 : p[2]
		a = toint(p[1]); size = 2 ^ (32 - len); a -= a % size
		if (a <= hi && a + size - 1 >= lo) ok = 0
	}
	END { exit !ok }'
}
o=$(( $(od -An -N1 -tu1 /dev/urandom) % 40 + 200 ))
tries=0
while ! { free16 "$o" && free16 $((o + 1)) && free16 $((o + 2)) &&
    free16 $((o + 3)) && free16 $((o + 4)) && free16 $((o + 5)); }; do
	tries=$((tries + 1))
	[ $tries -lt 50 ] || die "no free 10.2xx.0.0/16 blocks"
	o=$(( (o - 200 + 3) % 50 + 200 ))
done
net_p=10.$o.0.0/16
net_i=10.$((o + 1)).0
net_c=10.$((o + 2)).0
net_b=10.$((o + 3)).0.0/16
net_6=10.$((o + 4)).0.0/16
net_7=10.$((o + 5)).0.0/16
# The CNI plugin runs take two more /24s of the iproute2 peer's free /16.
net_k=10.$((o + 1)).1
net_q=10.$((o + 1)).2

# --- tools ------------------------------------------------------------------

timeit=$tmp/timeit
cc -O2 -o "$timeit" "$here/timeit.c" || die "cannot build timeit"

. "$here/stats.sh"

# median FILE [COLUMN]
median() {
	awk -v c="${2:-1}" '{ print $c }' "$1" | sort -n | awk '{ v[NR] = $1 }
	END {
		if (NR == 0) { print "-"; exit }
		print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	}'
}

# mem PID: "VmRSS Pss" in kB.
mem() {
	awk '$1 == "VmRSS:" { r = $2 } $1 == "Pss:" { p = $2 }
	END { print r + 0, p + 0 }' "/proc/$1/status" "/proc/$1/smaps_rollup"
}

# ratio A B: A/B to two decimals, "-" if either is missing.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || b + 0 == 0) print "-"
		else printf "%.2f\n", a / b
	}'
}

# --- one create+rm cycle per implementation --------------------------------
#
# cycle SET IMPL I: one create+rm, times appended to $tmp/SET.IMPL.create
# and .rm, the pause's "VmRSS Pss" to $tmp/SET.IMPL.mem.

early_rm=0

# pelagos_create TIMEFILE [BINARY ROOT [CREATE-OPTION...]]: create one
# sandbox, check it, set $id and $pid.
pelagos_create() {
	_tf=$1 _bin=${2:-$pelagos} _root=${3:-$proot}
	shift
	[ $# -gt 0 ] && shift
	[ $# -gt 0 ] && shift
	"$timeit" -t $limit "$_tf" "$_bin" --root "$_root" \
		sandbox create "$@" >"$tmp/out" ||
		die "pelagos sandbox create $* failed"
	set -- "$_tf" "$_bin" "$_root"
	id=
	read -r id <"$tmp/out"
	case $id in
	*[!0-9a-f]*) die "pelagos sandbox create printed '$id', not an ID" ;;
	????????????????) ;;
	*) die "pelagos sandbox create printed '$id', not an ID" ;;
	esac
	pid=$(awk '$1 == "pause_pid" { print $2 }' "${3:-$proot}/sandboxes/$id/state")
	echo "$id ${pid:-0}" >>"$ids"
	[ -n "$pid" ] || die "pelagos $id: no pause_pid in its state"
	alive "$pid" || die "pelagos $id: pause $pid not running after create"
	[ "/proc/$pid/ns/net" -ef "/run/netns/psb-${id%????????}" ] ||
		die "pelagos $id: pause $pid is not in netns psb-${id%????????}"
	! [ "/proc/$pid/ns/uts" -ef "/proc/$$/ns/uts" ] ||
		die "pelagos $id: pause $pid shares the host UTS namespace"
	! [ "/proc/$pid/ns/ipc" -ef "/proc/$$/ns/ipc" ] ||
		die "pelagos $id: pause $pid shares the host IPC namespace"
}

# pelagos_rm TIMEFILE ID PID [BINARY ROOT]
pelagos_rm() {
	"$timeit" -t $limit "$1" "${4:-$pelagos}" --root "${5:-$proot}" \
		sandbox rm "$2" >/dev/null || die "pelagos sandbox rm $2 failed"
	# The peers return only once their pause has exited: count it if not.
	if alive "$3"; then
		early_rm=$((early_rm + 1))
	fi
	! [ -e "/run/netns/psb-${2%????????}" ] ||
		die "pelagos $2: netns still there after rm"
	! [ -e "${5:-$proot}/sandboxes/$2" ] ||
		die "pelagos $2: state still there after rm"
	settle "$1" "vh-${2%????????}"
}

# settle TIMEFILE VETH: waits (10 s at most) until the kernel has
# destroyed the namespace and veth that rm leaves it, and appends the
# wait in ns to TIMEFILE.settle.  That teardown runs in the kernel's
# workers after rm returns and would otherwise land on whatever is timed
# next: a rotation keeps each kind after the same other kind, so one row
# would carry another's teardown.
settle() {
	_t0=$(date +%s%N)
	_j=0
	while [ -e "/sys/class/net/$2" ]; do
		_j=$((_j + 1))
		[ $_j -le 1000 ] || die "$2 still there 10 s after its rm"
		sleep 0.01
	done
	echo $(($(date +%s%N) - _t0)) >>"$1.settle"
}

# peer_cycle SET KIND NAME [ARG]
peer_cycle() {
	set_=$1 kind=$2 name=$3
	shift 3
	echo "$kind $name" >>"$tmp/peer.names"
	"peer_$kind" "$timeit" -t $limit "$tmp/$set_.$kind.create" \
		"$here/peer-$kind.sh" create "$name" "$@" ||
		die "peer-$kind create $name failed"
	read -r pid <"$tmp/$kind/$name.pid"
	mem "$pid" >>"$tmp/$set_.$kind.mem"
	"peer_$kind" "$timeit" -t $limit "$tmp/$set_.$kind.rm" \
		"$here/peer-$kind.sh" rm "$name" ||
		die "peer-$kind rm $name failed"
}

cycle() {
	case $2 in
	pelagos)
		pelagos_create "$tmp/$1.pelagos.create"
		mem "$pid" >>"$tmp/$1.pelagos.mem"
		pelagos_rm "$tmp/$1.pelagos.rm" "$id" "$pid"
		;;
	dual)
		pelagos_create "$tmp/$1.dual.create" "$pelagos" "$proot" \
			--network "$br_6"
		mem "$pid" >>"$tmp/$1.dual.mem"
		pelagos_rm "$tmp/$1.dual.rm" "$id" "$pid"
		;;
	baseline)
		PELAGOS_BRIDGE=$br_b PELAGOS_SUBNET=$net_b \
		    PELAGOS_NFT_TABLE=pb${tag}b \
			pelagos_create "$tmp/$1.baseline.create" "$baseline" "$broot"
		mem "$pid" >>"$tmp/$1.baseline.mem"
		PELAGOS_BRIDGE=$br_b PELAGOS_SUBNET=$net_b \
		    PELAGOS_NFT_TABLE=pb${tag}b \
			pelagos_rm "$tmp/$1.baseline.rm" "$id" "$pid" "$baseline" \
			"$broot"
		;;
	bdual)
		PELAGOS_NFT_TABLE=pb${tag}b \
			pelagos_create "$tmp/$1.bdual.create" "$baseline" "$broot" \
			--network "$br_7"
		mem "$pid" >>"$tmp/$1.bdual.mem"
		PELAGOS_NFT_TABLE=pb${tag}b \
			pelagos_rm "$tmp/$1.bdual.rm" "$id" "$pid" "$baseline" \
			"$broot"
		;;
	iproute2) peer_cycle "$1" iproute2 "pb${tag}i$3" $(($3 % 250 + 2)) ;;
	cni) peer_cycle "$1" cni "pb${tag}c$3" ;;
	esac
}

# --- setup ------------------------------------------------------------------

impls="iproute2 cni"
if [ -x "$pelagos" ]; then
	impls="pelagos dual iproute2 cni"
	export PELAGOS_BRIDGE=$br_p PELAGOS_SUBNET=$net_p
	export PELAGOS_NFT_TABLE=pb$tag
	# Pod cgroups under a parent of this run's own on the cgroup2 mount.
	PELAGOS_CGROUP_PARENT=none
	[ -n "$cgmount" ] && PELAGOS_CGROUP_PARENT=$cgparent
	export PELAGOS_CGROUP_PARENT
	# dual: a create on a dual-stack network, an IPv6 ULA /64 derived
	# from its name (the bridge's), which must be no route of the host's.
	"$pelagos" --root "$proot" network create "$br_6" --subnet "$net_6" \
		--ipv6 >/dev/null || die "pelagos network create failed"
	net6=$("$pelagos" --root "$proot" network inspect "$br_6" |
		sed 's/.*"subnet6":"\([^"]*\)".*/\1/')
	! ip -6 route show table all | grep -q "^${net6%::/64}:" ||
		die "the host routes $net6 already"
else
	echo "bench: pelagos SKIPPED: no executable at $pelagos" \
		"(build it with make, or pass --pelagos PATH)"
fi
# The baseline (an earlier build) runs in the same rotation, on a bridge,
# subnet and root of its own.
if [ -n "$baseline" ]; then
	[ -x "$baseline" ] && [ -x "$pelagos" ] ||
		die "--baseline needs two executables ($pelagos, $baseline)"
	impls="pelagos dual baseline bdual iproute2 cni"
	# bdual: the baseline on a dual-stack network of its own root's.
	PELAGOS_BRIDGE=$br_b PELAGOS_SUBNET=$net_b "$baseline" --root "$broot" \
		network create "$br_7" --subnet "$net_7" --ipv6 >/dev/null ||
		die "baseline network create failed"
	net7=$("$baseline" --root "$broot" network inspect "$br_7" |
		sed 's/.*"subnet6":"\([^"]*\)".*/\1/')
	! ip -6 route show table all | grep -q "^${net7%::/64}:" ||
		die "the host routes $net7 already"
fi

# The CNI bridge plugin turns forwarding on for a gateway; put it back.
for k in net.ipv4.ip_forward net.ipv6.conf.all.forwarding; do
	echo "$k $(sysctl -n $k)" >>"$tmp/sysctl.saved"
done
sysctl_min user.max_net_namespaces $((scale + probe + 100))

mkdir -p "$tmp/iproute2" "$tmp/cni"
peer_iproute2 "$here/peer-iproute2.sh" up || die "peer-iproute2 up failed"
peer_cni "$here/peer-cni.sh" up || die "peer-cni up failed"

echo "bench: kernel $(uname -r), $(nproc) CPUs, N=$n, scale=$scale," \
	"load $(cut -d' ' -f1-3 /proc/loadavg)," \
	"bridge-nf-call-iptables=$(sysctl -n net.bridge.bridge-nf-call-iptables 2>/dev/null || echo -)"
echo "bench: bridges $br_p $br_i $br_c;" \
	"subnets $net_p $net_i.0/24 $net_c.0/24"
[ -x "$pelagos" ] && echo "bench: dual-stack network on $br_6, $net_6 $net6"
[ -n "$baseline" ] && echo "bench: baseline $baseline on $br_b, $net_b;" \
	"dual-stack on $br_7, $net_7 $net7"

# --- create/rm, alternating -------------------------------------------------

# --cni: the CNI plugin part alone.
[ $cni = 1 ] && impls= n_cycles=$n n=0
# One untimed round first: the first CNI ADD creates its bridge, and cold
# caches would weigh on whichever goes first.
for impl in $impls; do
	cycle warm "$impl" 0
done
set -- $impls
i=1
while [ $i -le "$n" ]; do
	# Rotate the order each iteration, so that none is always first
	# (each still follows the same kind: settle, above, is what keeps a
	# kind's figures its own).
	k=0
	while [ $k -lt $# ]; do
		eval "impl=\${$(( (i + k) % $# + 1 ))}"
		cycle run "$impl" "$i"
		k=$((k + 1))
	done
	i=$((i + 1))
done

[ $cni = 1 ] && n=$n_cycles
[ $cni = 1 ] || {
echo
echo "create/rm: $n cycles each, alternating; times in ms, pause memory in kB (median)"
printf '%-9s %10s %10s %10s %10s %8s %8s\n' \
	impl create_med create_p99 rm_med rm_p99 VmRSS Pss
for impl in pelagos dual baseline bdual iproute2 cni; do
	case $impl in baseline | bdual) [ -z "$baseline" ] && continue ;; esac
	[ "$impl" = dual ] && [ ! -x "$pelagos" ] && continue
	case " $impls " in
	*" $impl "*)
		set -- $(stats "$tmp/run.$impl.create") \
			$(stats "$tmp/run.$impl.rm") \
			$(median "$tmp/run.$impl.mem" 1) \
			$(median "$tmp/run.$impl.mem" 2)
		;;
	*) set -- - - - - - - ;;
	esac
	eval "r_$impl=\"\$*\""
	printf '%-9s %10s %10s %10s %10s %8s %8s\n' "$impl" "$@"
done
case " $impls " in
*" pelagos "*)
	for peer in ${baseline:+baseline} iproute2 cni; do
		eval "set -- \$r_pelagos \$r_$peer"
		printf '%-9s %10s %10s %10s %10s %8s %8s\n' "p/$peer" \
			"$(ratio "$1" "$7")" "$(ratio "$2" "$8")" \
			"$(ratio "$3" "$9")" "$(ratio "$4" "${10}")" \
			"$(ratio "$5" "${11}")" "$(ratio "$6" "${12}")"
	done
	echo "(p/X: pelagos divided by X; below 1 means pelagos is smaller or faster)"
	set -- $r_pelagos $r_dual
	echo "dual: create on a dual-stack network (IPv4 + IPv6); median" \
		"$(awk -v a="$1" -v b="$7" 'BEGIN { printf "%+.2f", b - a }') ms" \
		"against pelagos on the default network"
	if [ -n "$baseline" ]; then
		set -- $r_baseline $r_bdual
		echo "bdual: the baseline on a dual-stack network; median" \
			"$(awk -v a="$1" -v b="$7" 'BEGIN { printf "%+.2f", b - a }') ms" \
			"against the baseline on its default network"
	fi
	set -- $(stats "$tmp/run.pelagos.rm.settle") \
		$(stats "$tmp/run.dual.rm.settle")
	echo "teardown after rm (the kernel destroying the namespace and" \
		"veth, awaited before the next command): median $1 ms," \
		"p99 $2 ms; dual $3 ms, p99 $4 ms"
	[ $early_rm -eq 0 ] ||
		echo "note: pelagos sandbox rm returned before its pause exited $early_rm times"
	;;
esac
}

# --- CNI plugin: pelagos against bridge + host-local -------------------------
#
# The same ADD and DEL on a namespace made beforehand (untimed), as a
# runtime calls a plugin: Debian's bridge plugin (which runs host-local for
# the address) and pelagos in CNI mode, each on a bridge and /24 of its own.

# cni_call PLUGIN COMMAND NETNS [TIMEFILE]: one plugin call on netns NETNS,
# its container ID the netns's name; timed into TIMEFILE when given.
cni_call() {
	(
		export CNI_COMMAND="$2" CNI_CONTAINERID="$3" CNI_IFNAME=eth0
		export CNI_NETNS="/run/netns/$3" CNI_PATH=/usr/lib/cni
		bin=$pelagos
		[ "$1" = ref ] && bin=/usr/lib/cni/bridge
		if [ -n "${4:-}" ]; then
			exec "$timeit" -t $limit "$4" "$bin" <"$tmp/cni.$1.json"
		fi
		exec "$bin" <"$tmp/cni.$1.json"
	)
}

# cni_netns PLUGINS N...: each plugin's namespace of each cycle N, made
# before any is timed: a namespace deleted between two timed calls would
# be torn down by the kernel's workers (under the RTNL lock, which every
# ADD takes) while the next ones run.
cni_netns() {
	plugs=$1
	shift
	for c in "$@"; do
		for plug in $plugs; do
			ns=pb${tag}$plug$c
			echo "$plug $ns" >>"$tmp/cni.names"
			ip netns add "$ns" || die "ip netns add $ns"
		done
	done
}

cni_cycle() {
	for plug in $1; do
		ns=pb${tag}$plug$2
		cni_call "$plug" ADD "$ns" "$tmp/$3.$plug.add" >"$tmp/out" ||
			die "CNI ADD with $plug failed: $(cat "$tmp/out")"
		grep -q '"address"' "$tmp/out" ||
			die "CNI ADD with $plug gave no address: $(cat "$tmp/out")"
	done
	for plug in $1; do
		ns=pb${tag}$plug$2
		cni_call "$plug" DEL "$ns" "$tmp/$3.$plug.del" >"$tmp/out" ||
			die "CNI DEL with $plug failed: $(cat "$tmp/out")"
		ip netns exec "$ns" ip link show dev eth0 >/dev/null 2>&1 &&
			die "CNI DEL with $plug left eth0"
	done
}

if [ -x "$pelagos" ]; then
	# Both plugins' leases on tmpfs, where pelagos keeps them by default
	# (host-local's default, /var/lib/cni, is on disk).
	cnidata=$(mktemp -d /run/pbench.XXXXXX) || die "mktemp in /run failed"
	cat >"$tmp/cni.ref.json" <<-EOF
	{"cniVersion":"1.0.0","name":"pb${tag}k","type":"bridge","bridge":"$br_k",
	 "isGateway":true,"isDefaultGateway":true,"ipMasq":false,
	 "ipam":{"type":"host-local","ranges":[[{"subnet":"$net_k.0/24"}]],
	 "dataDir":"$cnidata/ipam"}}
	EOF
	cat >"$tmp/cni.pel.json" <<-EOF
	{"cniVersion":"1.0.0","name":"pb${tag}q","type":"pelagos","bridge":"$br_q",
	 "subnet":"$net_q.0/24","isDefaultGateway":true,"dataDir":"$cnidata/pel"}
	EOF
	cni_netns "ref pel" w $(seq "$n")
	cni_cycle "ref pel" w warm
	i=1
	while [ $i -le "$n" ]; do
		if [ $((i % 2)) = 0 ]; then set -- "ref pel"; else set -- "pel ref"; fi
		cni_cycle "$1" "$i" cni
		i=$((i + 1))
	done
	while read -r plug ns; do
		ip netns del "$ns"
	done <"$tmp/cni.names"
	: >"$tmp/cni.names"
	[ -z "$(ls -A "$cnidata/pel/pb${tag}q/leases")" ] ||
		die "pelagos CNI DEL left leases"
	echo
	echo "CNI plugin ADD/DEL: $n each, alternating, on namespaces all made before the first; ms"
	printf '%-22s %9s %9s %9s %9s %9s\n' plugin add_med add_p99 del_med \
		del_p99 bytes
	set -- $(stats "$tmp/cni.ref.add") $(stats "$tmp/cni.ref.del")
	rb=$(( $(wc -c </usr/lib/cni/bridge) + $(wc -c </usr/lib/cni/host-local) ))
	printf '%-22s %9s %9s %9s %9s %9s\n' bridge+host-local "$@" "$rb"
	r_ref="$1 $3"
	set -- $(stats "$tmp/cni.pel.add") $(stats "$tmp/cni.pel.del")
	printf '%-22s %9s %9s %9s %9s %9s\n' pelagos "$@" "$(wc -c <"$pelagos")"
	set -- $r_ref $1 $3
	echo "ADD median ratio reference/pelagos: $(ratio "$1" "$3"), DEL: $(ratio "$2" "$4")" \
		"(portmap, not run here, is $(wc -c </usr/lib/cni/portmap) bytes more)"
fi

[ -x "$pelagos" ] || {
	echo
	echo "bench: ok (pelagos skipped)"
	exit 0
}
[ $cni = 1 ] && {
	echo
	echo "bench: ok (CNI plugin part only)"
	exit 0
}

# --- firewall ---------------------------------------------------------------
#
# A create with --nat and two published ports (on the bench bridge's own
# address: 40998/tcp and 40999/udp, free again at each rm) against a plain
# one, alternating.
gw_p=${net_p%.0.0/16}.0.1
fw_opts="--nat -p $gw_p:40998:80 -p $gw_p:40999:81/udp"
i=1
while [ $i -le "$n" ]; do
	order="plain nat"
	[ $((i % 2)) = 0 ] || order="nat plain"
	for kind in $order; do
		fw=
		[ $kind = nat ] && fw=$fw_opts
		# shellcheck disable=SC2086
		pelagos_create "$tmp/fw.$kind.create" "$pelagos" "$proot" $fw
		pelagos_rm "$tmp/fw.$kind.rm" "$id" "$pid"
	done
	i=$((i + 1))
done
echo
echo "firewall: $n cycles each, alternating; times in ms (median, p99)"
set -- $(stats "$tmp/fw.plain.create") $(stats "$tmp/fw.nat.create") \
	$(stats "$tmp/fw.plain.rm") $(stats "$tmp/fw.nat.rm")
echo "create plain $1 ($2), --nat and two --publish $3 ($4): +$(awk \
	-v a="$3" -v b="$1" 'BEGIN { printf "%.2f", a - b }') ms"
echo "rm     plain $5 ($6), --nat and two --publish $7 ($8): +$(awk \
	-v a="$7" -v b="$5" 'BEGIN { printf "%.2f", a - b }') ms"

echo
size=$(wc -c <"$pelagos")
if strip -o "$tmp/pelagos.stripped" "$pelagos" 2>/dev/null; then
	echo "pelagos binary: $(wc -c <"$tmp/pelagos.stripped") bytes stripped ($size as built)"
else
	# sstrip.sh left no section headers for strip to read.
	echo "pelagos binary: $size bytes stripped (no section headers)"
fi

# --- pod cgroups, run ------------------------------------------------------
#
# Creates and removes with a pod cgroup and without one
# (PELAGOS_CGROUP_PARENT=none), alternating; then run --sandbox X true
# against nsenter into the same pause's namespaces, alternating.

if [ -n "$cgmount" ]; then
	i=1
	while [ $i -le "$n" ]; do
		for cg in with without; do
			PELAGOS_CGROUP_PARENT=none
			[ $cg = with ] && PELAGOS_CGROUP_PARENT=$cgparent
			pelagos_create "$tmp/cg.$cg.create"
			pelagos_rm "$tmp/cg.$cg.rm" "$id" "$pid"
		done
		i=$((i + 1))
	done
	PELAGOS_CGROUP_PARENT=$cgparent
	set -- $(stats "$tmp/cg.with.create") $(stats "$tmp/cg.without.create") \
		$(stats "$tmp/cg.with.rm") $(stats "$tmp/cg.without.rm")
	echo
	echo "pod cgroup ($n cycles each, alternating, median ms): create $1 with," \
		"$3 without ($(awk -v a="$1" -v b="$3" 'BEGIN { printf "%+.2f", a - b }'));" \
		"rm $5 with, $7 without"
else
	echo
	echo "pod cgroup: no cgroup2 mounted, not measured"
fi
pelagos_create "$tmp/run.setup"
j=0
while [ $j -lt "$n" ]; do
	"$timeit" -t $limit "$tmp/run.true" "$pelagos" --root "$proot" run \
		--sandbox "$id" true || die "pelagos run --sandbox $id true failed"
	"$timeit" -t $limit "$tmp/nsenter.true" nsenter -t "$pid" -n -u -i true ||
		die "nsenter -t $pid -n -u -i true failed"
	j=$((j + 1))
done
pelagos_rm "$tmp/run.teardown" "$id" "$pid"
set -- $(stats "$tmp/run.true") $(stats "$tmp/nsenter.true")
echo "run --sandbox X true: median $1 ms, p99 $2 ms;" \
	"nsenter -t PAUSE -n -u -i true: median $3 ms, p99 $4 ms ($n each, alternating)"

# --- scale ------------------------------------------------------------------

# Host neighbour tables must hold an entry per sandbox that the host talks
# to; the defaults (gc_thresh2 = 512 soft, gc_thresh3 = 1024 hard) are too
# tight for 1000 on one bridge.
for f in 4 6; do
	sysctl_min net.ipv$f.neigh.default.gc_thresh2 $((scale + 256))
	sysctl_min net.ipv$f.neigh.default.gc_thresh3 $((2 * scale + 512))
done

# ls_time LABEL COUNT: time `sandbox ls` 5 times, check it shows COUNT rows.
ls_time() {
	lsj=0
	while [ $lsj -lt 5 ]; do
		"$timeit" -t $limit "$tmp/ls.$1" "$pelagos" --root "$proot" \
			sandbox ls >"$tmp/out" || die "pelagos sandbox ls failed"
		lsj=$((lsj + 1))
	done
	# With no sandboxes the table may have no header either.
	rows=$(grep -cv '^ID ' "$tmp/out")
	[ "$rows" -eq "$2" ] ||
		die "pelagos sandbox ls shows $rows sandboxes, not $2"
	set -- $(stats "$tmp/ls.$1")
	ls_ms="$ls_ms $1"
}

# probes N: $probe create+rm cycles of $kind (sets probeN.$kind), and for
# the pelagos kind $probe more with the firewall's options (fwprobeN).
probes() {
	pk=0
	while [ $pk -lt $probe ]; do
		cycle "probe$1.$kind" "$kind" 0
		pk=$((pk + 1))
	done
	[ "$kind" = pelagos ] && probe_fw "fwprobe$1"
	return 0
}

# probe_fw SET: $probe creates with --nat and two published ports (the
# firewall section's), and their rms.
probe_fw() {
	pj=0
	while [ $pj -lt $probe ]; do
		# shellcheck disable=SC2086
		pelagos_create "$tmp/$1.create" "$pelagos" "$proot" $fw_opts
		pelagos_rm "$tmp/$1.rm" "$id" "$pid"
		pj=$((pj + 1))
	done
}

# scale_run KIND BRIDGE: probes at 0 existing, a fill to $scale sandboxes
# of cycle KIND (pelagos: the default network; dual: the dual-stack one)
# on BRIDGE, every pause checked and the first pinging the last (over
# IPv6 too for dual), probes at $scale existing, and the drain.
# The pelagos fill is of sandboxes each with --nat and (the first 996) a
# port published on the bench bridge's address (40000 and up), and
# probes with --nat and two published ports at 0 and at $scale.
scale_run() {
	kind=$1 sbr=$2
	opt=
	[ "$kind" = dual ] && opt="--network $br_6"
	ls_ms=
	tenth=$((scale / 10))
	ls_time "$kind.0" 0
	probes 0
	: >"$tmp/live"
	j=1
	while [ $j -le "$scale" ]; do
		[ "$kind" = pelagos ] && opt=--nat && [ $j -le 996 ] &&
			opt="--nat -p $gw_p:$((39999 + j)):80"
		# shellcheck disable=SC2086
		pelagos_create "$tmp/fill.$kind.create" "$pelagos" "$proot" $opt
		echo "$id $pid" >>"$tmp/live"
		[ $j -eq $tenth ] && ls_time "$kind.$tenth" $tenth
		j=$((j + 1))
	done
	fw_elems=$(nft list table inet "pb$tag" | grep -c 'comment "')

	# All of them at once: each pause alive in its own netns, and the first
	# sandbox reaches the last one over the bridge.
	alive_n=0 rss=0 pss=0
	while read -r id pid; do
		alive "$pid" && [ "/proc/$pid/ns/net" -ef "/run/netns/psb-${id%????????}" ] ||
			die "pelagos $id: pause $pid gone or out of its netns at scale"
		set -- $(mem "$pid")
		rss=$((rss + $1)) pss=$((pss + $2)) alive_n=$((alive_n + 1))
	done <"$tmp/live"
	json=$("$pelagos" --root "$proot" sandbox ls --json) ||
		die "pelagos sandbox ls --json failed"
	json_n=$(echo "$json" | grep -o '"pause_pid"' | wc -l)
	[ "$json_n" -eq "$scale" ] ||
		die "pelagos sandbox ls --json lists $json_n pause_pid, not $scale"
	read -r first _ <"$tmp/live"
	last=$(tail -n 1 "$tmp/live")
	last=${last%% *}
	ip_last=
	for f in 4 6; do
		[ $f = 6 ] && [ "$kind" != dual ] && continue
		ip_f=$(ip -n "psb-${last%????????}" -$f -o addr show dev eth0 \
			scope global | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
		[ -n "$ip_f" ] || die "pelagos $last: no IPv$f address on eth0"
		ip netns exec "psb-${first%????????}" ping -$f -q -c 1 -w 3 \
			"$ip_f" >/dev/null ||
			die "sandbox $first cannot ping sandbox $last ($ip_f)"
		ip_last="$ip_last $ip_f"
	done
	neigh=$(ip neigh show dev "$sbr" | wc -l)
	ls_time "$kind.$scale" "$scale"

	probes 1
	while read -r id pid; do
		pelagos_rm "$tmp/drain.$kind.rm" "$id" "$pid"
	done <"$tmp/live"
	# Each rm's veth was awaited (settle): none may be left.
	! ip -o link show | grep -q "vh-.*master $sbr" ||
		die "pelagos left veths on $sbr after rm"

	set -- $ls_ms
	echo
	if [ "$kind" = dual ]; then
		echo "scale, IPv6 on: $scale dual-stack sandboxes on one bridge"
	else
		echo "scale: $scale sandboxes on one bridge, each with --nat and (the first 996) a published port"
	fi
	echo "sandbox ls (median of 5): $1 ms at 0, $2 ms at $tenth, $3 ms at $scale sandboxes"
	set -- $(stats "$tmp/probe0.$kind.$kind.create") \
		$(stats "$tmp/probe1.$kind.$kind.create")
	echo "create median: $1 ms at 0 existing, $3 ms at $scale existing" \
		"($probe each; ratio $(ratio "$3" "$1"))"
	if [ "$kind" = pelagos ]; then
		set -- $(stats "$tmp/fwprobe0.create") $(stats "$tmp/fwprobe1.create") \
			$(stats "$tmp/fwprobe0.rm") $(stats "$tmp/fwprobe1.rm")
		echo "create --nat -p -p median: $1 ms at 0 existing, $3 ms at $scale existing;" \
			"rm $5 ms and $7 ms ($fw_elems lines of elements in the inet table at $scale)"
	fi
	set -- $(stats "$tmp/fill.$kind.create") $(stats "$tmp/drain.$kind.rm")
	echo "filling 0..$scale: create median $1 ms, p99 $2 ms; draining: rm median $3 ms, p99 $4 ms"
	echo "$scale pauses: VmRSS sum $rss kB, Pss sum $pss kB"
	echo "alive at once: $alive_n/$scale pauses in their netns, ls --json lists $json_n," \
		"first pings last ($ip_last ); host neighbours on bridge: $neigh"
}

scale_run pelagos "$br_p"
scale_run dual "$br_6"
[ $early_rm -eq 0 ] ||
	echo "note: pelagos sandbox rm returned before its pause exited $early_rm times in all"
echo
echo "bench: ok (load $(cut -d' ' -f1-3 /proc/loadavg))"
