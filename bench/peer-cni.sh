#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A pod sandbox made the CNI way: catatonit -P as the pause, Debian's
# containernetworking-plugins bridge (host-local IPAM) and loopback plugins
# for the network.  A baseline that pelagos is measured against.
#
#   peer-cni.sh up             write the network configs
#   peer-cni.sh create NAME    netns NAME, pause, CNI ADD
#   peer-cni.sh rm NAME        CNI DEL, stop pause, delete netns
#   peer-cni.sh purge NAME     rm whatever is left of NAME
#   peer-cni.sh pid NAME       print the pause's pid
#   peer-cni.sh down           delete the bridge
#
# Environment: PEER_BRIDGE (bridge name), PEER_SUBNET (e.g. 10.202.0.0/24),
# PEER_STATE (directory for configs, IPAM data and pid files), CNI_PATH
# (plugin directory, default /usr/lib/cni as Debian installs them).

set -e

: "${PEER_BRIDGE:?}" "${PEER_SUBNET:?}" "${PEER_STATE:?}"
CNI_PATH=${CNI_PATH:-/usr/lib/cni}
export CNI_PATH

die() {
	echo "peer-cni: $*" >&2
	exit 1
}

# True while pid $1 exists and has not exited; a zombie counts as gone, as
# it has already left its namespaces.
alive() {
	{ read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

# cni PLUGIN COMMAND NAME IFNAME: run one plugin on one sandbox.
cni() {
	if ! CNI_COMMAND=$2 CNI_CONTAINERID=$3 CNI_NETNS=/run/netns/$3 \
		CNI_IFNAME=$4 "$CNI_PATH/$1" <"$PEER_STATE/$1.json" \
		>"$PEER_STATE/$3.$1.out"; then
		cat "$PEER_STATE/$3.$1.out" >&2
		return 1
	fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
up)
	mkdir -p "$PEER_STATE/ipam"
	# ipMasq false: this benchmark must not add NAT rules to the host.
	cat >"$PEER_STATE/bridge.json" <<-EOF
	{
		"cniVersion": "1.0.0",
		"name": "$PEER_BRIDGE",
		"type": "bridge",
		"bridge": "$PEER_BRIDGE",
		"isGateway": true,
		"ipMasq": false,
		"ipam": {
			"type": "host-local",
			"ranges": [[{ "subnet": "$PEER_SUBNET" }]],
			"routes": [{ "dst": "0.0.0.0/0" }],
			"dataDir": "$PEER_STATE/ipam"
		}
	}
	EOF
	cat >"$PEER_STATE/loopback.json" <<-EOF
	{ "cniVersion": "1.0.0", "name": "lo", "type": "loopback" }
	EOF
	;;
down)
	if ip link show dev "$PEER_BRIDGE" >/dev/null 2>&1; then
		ip link del "$PEER_BRIDGE"
	fi
	;;
create)
	[ $# -eq 1 ] || die "usage: create NAME"
	ns=$1
	ip netns add "$ns"
	# ip netns exec and unshare both exec without forking, so $! ends
	# up being the pause itself.
	ip netns exec "$ns" unshare --uts --ipc catatonit -P \
		</dev/null >/dev/null 2>&1 &
	pid=$!
	echo "$pid" >"$PEER_STATE/$ns.pid"
	# Ready once catatonit runs (so unshare is done) inside the netns.
	# Builtins only: a fork per poll would cost more than the wait.
	while :; do
		alive "$pid" || die "$ns: pause $pid exited"
		if [ "/proc/$pid/ns/net" -ef "/run/netns/$ns" ] &&
			{ read -r comm <"/proc/$pid/comm"; } 2>/dev/null &&
			[ "$comm" = catatonit ]; then
			break
		fi
	done
	cni bridge ADD "$ns" eth0
	cni loopback ADD "$ns" lo
	;;
rm)
	[ $# -eq 1 ] || die "usage: rm NAME"
	ns=$1
	cni loopback DEL "$ns" lo
	cni bridge DEL "$ns" eth0
	rm -f "$PEER_STATE/$ns.loopback.out" "$PEER_STATE/$ns.bridge.out"
	read -r pid <"$PEER_STATE/$ns.pid"
	[ "/proc/$pid/ns/net" -ef "/run/netns/$ns" ] ||
		die "$ns: pause $pid is not in the netns"
	kill "$pid"
	while alive "$pid"; do
		:
	done
	rm -f "$PEER_STATE/$ns.pid"
	ip netns del "$ns"
	;;
purge)
	[ $# -eq 1 ] || die "usage: purge NAME"
	ns=$1
	set +e
	# DEL also frees the IPAM lease when the netns is already gone.
	cni loopback DEL "$ns" lo 2>/dev/null
	cni bridge DEL "$ns" eth0 2>/dev/null
	rm -f "$PEER_STATE/$ns.loopback.out" "$PEER_STATE/$ns.bridge.out"
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
	[ -e "/run/netns/$ns" ] && ip netns del "$ns"
	exit 0
	;;
pid)
	[ $# -eq 1 ] || die "usage: pid NAME"
	cat "$PEER_STATE/$1.pid"
	;;
*)
	die "usage: up | create NAME | rm NAME | purge NAME | pid NAME | down"
	;;
esac
