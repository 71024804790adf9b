#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A pod sandbox made by hand with iproute2, the way a busybox user would:
# the baseline that pelagos is measured against.
#
#   peer-iproute2.sh up                bridge $PEER_BRIDGE, gateway $PEER_NET.1/24
#   peer-iproute2.sh create NAME IDX   netns NAME, IP $PEER_NET.IDX, pause
#   peer-iproute2.sh rm NAME
#   peer-iproute2.sh purge NAME        rm whatever is left of NAME
#   peer-iproute2.sh pid NAME          print the pause's pid
#   peer-iproute2.sh down              delete the bridge
#
# Environment: PEER_BRIDGE (bridge name), PEER_NET (first three octets of a
# /24, e.g. 10.201.0), PEER_STATE (directory for the pause pid files).
# The host end of the veth is "v" NAME, so NAME must be at most 14 chars.

set -e

: "${PEER_BRIDGE:?}" "${PEER_NET:?}" "${PEER_STATE:?}"

die() {
	echo "peer-iproute2: $*" >&2
	exit 1
}

# True while pid $1 exists and has not exited; a zombie counts as gone, as
# it has already left its namespaces.
alive() {
	{ read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
up)
	ip link add "$PEER_BRIDGE" type bridge
	ip addr add "$PEER_NET.1/24" dev "$PEER_BRIDGE"
	ip link set "$PEER_BRIDGE" up
	mkdir -p "$PEER_STATE"
	;;
down)
	if ip link show dev "$PEER_BRIDGE" >/dev/null 2>&1; then
		ip link del "$PEER_BRIDGE"
	fi
	;;
create)
	[ $# -eq 2 ] || die "usage: create NAME IDX"
	ns=$1
	ip netns add "$ns"
	ip link add "v$ns" type veth peer name eth0 netns "$ns"
	ip link set "v$ns" master "$PEER_BRIDGE" up
	ip -n "$ns" addr add "$PEER_NET.$2/24" dev eth0
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default via "$PEER_NET.1"
	# ip netns exec and unshare both exec without forking, so $! ends
	# up being the pause itself.
	ip netns exec "$ns" unshare --uts --ipc sleep infinity \
		</dev/null >/dev/null 2>&1 &
	pid=$!
	echo "$pid" >"$PEER_STATE/$ns.pid"
	# Ready once sleep runs (so unshare is done) inside the netns.
	# Builtins only: a fork per poll would cost more than the wait.
	while :; do
		alive "$pid" || die "$ns: pause $pid exited"
		if [ "/proc/$pid/ns/net" -ef "/run/netns/$ns" ] &&
			{ read -r comm <"/proc/$pid/comm"; } 2>/dev/null &&
			[ "$comm" = sleep ]; then
			break
		fi
	done
	;;
rm)
	[ $# -eq 1 ] || die "usage: rm NAME"
	ns=$1
	read -r pid <"$PEER_STATE/$ns.pid"
	[ "/proc/$pid/ns/net" -ef "/run/netns/$ns" ] ||
		die "$ns: pause $pid is not in the netns"
	kill "$pid"
	while alive "$pid"; do
		:
	done
	rm -f "$PEER_STATE/$ns.pid"
	ip link del "v$ns"
	ip netns del "$ns"
	;;
purge)
	# rm that tolerates a half-made or half-removed sandbox.
	[ $# -eq 1 ] || die "usage: purge NAME"
	ns=$1
	set +e
	if [ -f "$PEER_STATE/$ns.pid" ]; then
		read -r pid <"$PEER_STATE/$ns.pid"
		# Only a pid still inside our netns is ours to kill.
		if [ "/proc/$pid/ns/net" -ef "/run/netns/$ns" ]; then
			kill "$pid"
			while alive "$pid"; do
				:
			done
		fi
		rm -f "$PEER_STATE/$ns.pid"
	fi
	ip link del "v$ns" 2>/dev/null
	[ -e "/run/netns/$ns" ] && ip netns del "$ns"
	exit 0
	;;
pid)
	[ $# -eq 1 ] || die "usage: pid NAME"
	cat "$PEER_STATE/$1.pid"
	;;
*)
	die "usage: up | create NAME IDX | rm NAME | purge NAME | pid NAME | down"
	;;
esac
