# SPDX-License-Identifier: Apache-2.0
# Networks as objects: definitions, sandboxes on several of them, IPv6,
# static addresses, MTU, the pod's DNS files and sysctls, and faults in
# the steps they add to create.  Each test makes networks of its own
# (mknet: bridges $BR<x>, subnets inside $NET.0/24, IPv6 under $NET6).
TESTS="$TESTS t_net_objects t_net_hostile t_net_two_networks t_net_ipv6"
TESTS="$TESTS t_net_static_ip t_net_mtu t_net_dns_files t_net_rootfs_files"
TESTS="$TESTS t_net_sysctl t_net_fault_inject t_net_random_kill"

# The default network keeps the first quarter of the test's /24, so that
# the others fit beside it.
n_quarters() {
	export PELAGOS_SUBNET=$NET.0/26
}

# n_ping NS ADDR: one ping, no retry: an address create made must be
# usable at once.  busybox has ping6 where iputils has ping -6.
n_ping() {
	case $2 in
	*:*)
		if nsenter --net="$1" ping -6 -c 1 -W 1 ::1 >/dev/null 2>&1; then
			nsenter --net="$1" ping -6 -c 1 -W 2 "$2"
		else
			nsenter --net="$1" ping6 -c 1 -W 2 "$2"
		fi ;;
	*) nsenter --net="$1" ping -c 1 -W 2 "$2" ;;
	esac >/dev/null 2>&1
}

# n_in NS CMD...: CMD in the namespace (/proc/net and /proc/sys/net are
# the reader's namespace's).
n_in() {
	_ns=$1
	shift
	nsenter --net="$_ns" "$@"
}

n_mtu() {
	n_in "$1" ip link show "$2" | sed -n 's/.* mtu \([0-9]*\).*/\1/p'
}

# n_gone ID: nothing of the sandbox is left (f_id_leaks, t_faults.sh).
n_gone() {
	[ -z "$(f_id_leaks "$1")" ]
}

# n_nothing_made: no sandbox, lease or name in the root.
n_nothing_made() {
	for _d in sandboxes leases names; do
		[ -z "$(ls -A "$ROOT/$_d" 2>/dev/null)" ] ||
		    fail "$1 left $_d: $(ls -A "$ROOT/$_d")"
	done
}

t_net_objects() {
	n_quarters
	run 0 pel network ls
	expect_eq "$(cat "$OUT")" "$(printf '%-20s %-16s %-18s %-24s %s\n%-20s %-16s %-18s %-24s %s' \
	    NAME BRIDGE SUBNET SUBNET6 MTU pelagos0 "$BR" "$NET.0/26" - -)" \
	    "network ls of a root without definitions"
	[ -e "$ROOT" ] && fail "network ls made the root"
	mknet na a "$NET.64/26" --subnet6 "$NET6:1::/64" --mtu 9000
	expect_eq "$(cat "$T_DIR/mknet")" na "network create prints the name"
	mknet nb b "$NET.128/26" --ipv6 --gateway "$NET.190"
	f=$ROOT/networks/na
	expect_eq "$(cat "$f")" "$(printf 'pelagos-network 1\nname na\nbridge %s\nsubnet %s\ngateway %s\nsubnet6 %s\nmtu 9000' \
	    "${BR}a" "$NET.64/26" "$NET.65" "$NET6:1::/64")" "definition file"
	expect_eq "$(stat -c %a "$f")" 600 "definition mode"
	[ -z "$(ls -A "$ROOT/networks" | grep '^\.')" ] || fail "temporary file left"
	run 0 pel network ls -q
	expect_eq "$(cat "$OUT" | tr '\n' ' ')" "pelagos0 na nb " "network ls -q"
	run 0 pel network inspect na
	expect_eq "$(cat "$OUT")" "{\"name\":\"na\",\"bridge\":\"${BR}a\",\"subnet\":\"$NET.64/26\",\"gateway\":\"$NET.65\",\"subnet6\":\"$NET6:1::/64\",\"gateway6\":\"$NET6:1::1\",\"mtu\":9000,\"default\":false}" \
	    "network inspect"
	run 0 pel network inspect nb
	ula=$(sed 's/.*"subnet6":"\([^"]*\)".*/\1/' "$OUT")
	case $ula in fd*::/64) ;; *) fail "--ipv6 gave '$ula', not a ULA /64" ;; esac
	grep -q "\"gateway\":\"$NET.190\"" "$OUT" || fail "--gateway: $(cat "$OUT")"
	run 0 pel network inspect pelagos0
	grep -q '"default":true' "$OUT" || fail "default not marked: $(cat "$OUT")"
	run 0 pel network ls --json
	expect_eq "$(grep -c '"name"' "$OUT")" 3 "networks in ls --json"
	expect_eq "$(head -c 1 "$OUT")$(tail -c 2 "$OUT" | head -c 1)" "[]" \
	    "ls --json is an array"
	# Clashes: name, bridge, subnets, the default network's too.
	for args in "na --subnet $NET.192/26" "pelagos0 --subnet $NET.192/26" \
	    "nc --bridge ${BR}a --subnet $NET.192/26" \
	    "nc --bridge $BR --subnet $NET.192/26" \
	    "nc --bridge ${BR}c --subnet $NET.96/27" \
	    "nc --bridge ${BR}c --subnet $NET.0/28" \
	    "nc --bridge ${BR}c --subnet $NET.192/26 --subnet6 $NET6:1::/80"; do
		run 1 pel network create $args
		one_error "clashes with network"
	done
	# Bad values: usage or a clear error, nothing written.
	for args in "nc --bridge ${BR}c --subnet $NET.193/26" \
	    "nc --bridge ${BR}c --subnet $NET.192/26 --subnet6 $NET6:3::1/64" \
	    "nc --bridge ${BR}c --subnet $NET.192/26 --gateway $NET.192" \
	    "nc --bridge ${BR}c --subnet $NET.192/26 --gateway $NET.1" \
	    "nc --bridge ${BR}c --subnet $NET.192/26 --mtu 67" \
	    "nc --bridge ${BR}c --subnet $NET.192/26 --ipv6 --mtu 1279" \
	    "nc --bridge ${BR}c --subnet $NET.192/26 --mtu x" \
	    "waytoolongbridgename --subnet $NET.192/26" \
	    "nc --bridge a/b --subnet $NET.192/26"; do
		pel network create $args >"$OUT" 2>"$ERR"
		rc=$?
		case $rc in 1|2) ;; *) fail "network create $args exited $rc" ;; esac
		one_error
	done
	run 2 pel network create nc --subnet6 "$NET6:3::/64"
	one_error "missing NAME or --subnet"
	run 2 pel network create nc --bridge "${BR}c" --subnet "$NET.192/26" \
	    --ipv6 --subnet6 "$NET6:3::/64"
	one_error "exclude each other"
	expect_eq "$(ls "$ROOT/networks" | tr '\n' ' ')" "na nb " "definitions"
	# In use: refused while a sandbox is on it, also one being made.
	id=$(create --network nb)
	run 1 pel network rm nb
	one_error "network nb is in use by 1 sandbox"
	[ -f "$ROOT/networks/nb" ] || fail "refused rm removed the definition"
	run 0 pel sandbox rm "$id"
	run 0 pel network rm nb
	[ -e "$ROOT/networks/nb" ] && fail "network rm left the definition"
	run 1 pel network rm nb
	one_error "no such network 'nb'"
	run 1 pel network rm pelagos0
	one_error "default network"
	run 1 pel network inspect nb
	one_error "no such network 'nb'"
	# An unreadable definition is named, never taken for none.
	echo junk >"$ROOT/networks/nd"
	run 1 pel network ls
	grep -q '^na ' "$OUT" || fail "ls with an unreadable definition: $(cat "$OUT")"
	one_error "network nd: definition unreadable"
	run 1 pel network create ne --bridge "${BR}e" --subnet "$NET.192/26"
	one_error "unreadable"
	run 1 pel sandbox create --network nd
	one_error "network nd"
	run 0 pel network rm nd na
	[ -z "$(ls -A "$ROOT/networks")" ] || fail "left: $(ls -A "$ROOT/networks")"
}

# Hostile network names and values: one error line, a defined status,
# nothing outside the root touched, no file made.
t_net_hostile() {
	n_quarters
	echo canary >"$T_DIR/canary"
	long=$(printf 'n%.0s' $(seq 1 64))
	for n in "" "." ".." "../canary" "a/b" "-x" ".hidden" "a b" \
	    "$(printf 'a\nb')" "$(printf 'a\033[2J')" "$long" "*"; do
		pel network create "$n" --bridge "${BR}h" --subnet "$NET.64/26" \
		    >"$OUT" 2>"$ERR"
		rc=$?
		case $rc in 1|2) ;; *) fail "network create '$n' exited $rc" ;; esac
		one_error
		for c in inspect rm; do
			pel network $c -- "$n" >"$OUT" 2>"$ERR"
			rc=$?
			case $rc in 1|2) ;; *) fail "network $c '$n' exited $rc" ;; esac
			one_error
		done
		pel sandbox create --network "$n" >"$OUT" 2>"$ERR"
		rc=$?
		case $rc in 1|2) ;; *) cat "$OUT" >>"$T_DIR/ids"; fail "create --network '$n' exited $rc" ;; esac
		one_error
	done
	expect_eq "$(cat "$T_DIR/canary")" canary "canary beside the root"
	[ -z "$(ls -A "$ROOT/networks" 2>/dev/null)" ] ||
	    fail "hostile names left: $(ls -A "$ROOT/networks")"
	link_exists "${BR}h" && fail "a hostile create made the bridge"
	n_nothing_made "hostile networks"
	# Hostile create values for the pod's files and addresses.
	mknet na a "$NET.64/26"
	for a in "--ip 1.2.3" "--ip na=" "--ip nx=$NET.70" "--ip6 ::1" \
	    "--dns 10.0.0.256" "--dns x" "--dns-search a/b" \
	    "--dns-option a\ b" "--add-host db" "--add-host :10.0.0.1" \
	    "--add-host a/b:10.0.0.1" "--add-host db:x" "--mtu 67" \
	    "--sysctl x" "--sysctl =1" "--sysctl net/../../x=1"; do
		eval "pel sandbox create --network na $a" >"$OUT" 2>"$ERR"
		rc=$?
		case $rc in 1|2) ;; *) cat "$OUT" >>"$T_DIR/ids"; fail "create $a exited $rc" ;; esac
		one_error
	done
	n_nothing_made "hostile create values"
	run 0 pel network rm na
}

# A sandbox on two networks reaches a sandbox on each; its interfaces,
# records and leases; everything goes with rm.
t_net_two_networks() {
	n_quarters
	mknet na a "$NET.64/26"
	mknet nb b "$NET.128/26"
	a=$(create --name on-a --network na)
	b=$(create --network nb)
	x=$(create --name both --network na --network nb)
	s8=$(echo "$x" | cut -c1-8)
	nsx=$(ns_of "$x")
	expect_eq "$(skey "$x" interfaces)" 2 "interfaces"
	expect_eq "$(skey "$x" eth0.network) $(skey "$x" eth1.network)" "na nb" \
	    "networks"
	expect_eq "$(skey "$x" eth0.veth) $(skey "$x" eth1.veth)" \
	    "vh-$s8 vh-$s8-1" "veth names"
	ipa=$(skey "$a" eth0.ip | cut -d/ -f1)
	ipb=$(skey "$b" eth0.ip | cut -d/ -f1)
	ipx0=$(skey "$x" eth0.ip | cut -d/ -f1)
	ipx1=$(skey "$x" eth1.ip | cut -d/ -f1)
	expect_eq "$ipa $ipx0 $ipb $ipx1" "$NET.66 $NET.67 $NET.130 $NET.131" \
	    "addresses, lowest first on each network"
	[ -e "/sys/class/net/${BR}a/brif/vh-$s8" ] || fail "eth0's veth not on ${BR}a"
	[ -e "/sys/class/net/${BR}b/brif/vh-$s8-1" ] || fail "eth1's veth not on ${BR}b"
	n_in "$nsx" ip addr show dev eth1 | grep -q "inet $ipx1/26" ||
	    fail "eth1 lacks $ipx1"
	n_in "$nsx" ip link show eth1 | grep -qi "link/ether $(mac_of "$ipx1")" ||
	    fail "eth1 lacks its MAC $(mac_of "$ipx1")"
	expect_eq "$(n_in "$nsx" ip route show | grep -c '^default')" 1 \
	    "default routes"
	n_in "$nsx" ip route show | grep -q "^default via $NET.65 dev eth0" ||
	    fail "default route not via eth0: $(n_in "$nsx" ip route show)"
	poll 10 n_ping "$nsx" "$ipa" || fail "both cannot reach a on na"
	poll 10 n_ping "$nsx" "$ipb" || fail "both cannot reach b on nb"
	# ls shows the first address, inspect and ls --json every interface.
	run 0 pel sandbox ls
	grep -q "^$x  *both  *running  *$ipx0 " "$OUT" || fail "ls: $(cat "$OUT")"
	run 0 pel sandbox inspect both
	for want in "{\"name\":\"eth0\",\"network\":\"na\",\"veth_host\":\"vh-$s8\",\"bridge\":\"${BR}a\",\"mac\":\"$(mac_of "$ipx0")\",\"mtu\":0,\"addresses\":[\"$ipx0/26\"],\"gateway\":\"$NET.65\",\"gateway6\":\"\"}" \
	    "{\"name\":\"eth1\",\"network\":\"nb\",\"veth_host\":\"vh-$s8-1\",\"bridge\":\"${BR}b\",\"mac\":\"$(mac_of "$ipx1")\",\"mtu\":0,\"addresses\":[\"$ipx1/26\"],\"gateway\":\"$NET.129\",\"gateway6\":\"\"}" \
	    "\"container_ip\":\"$ipx0\"" "\"bridge\":\"${BR}a\",\"gateway\":\"$NET.65\","; do
		grep -qF "$want" "$OUT" || fail "inspect lacks $want: $(cat "$OUT")"
	done
	run 0 pel sandbox ls --json
	grep -qF "\"name\":\"eth1\",\"network\":\"nb\"" "$OUT" ||
	    fail "ls --json lacks eth1: $(cat "$OUT")"
	for ip in "$ipx0" "$ipx1"; do
		expect_eq "$(readlink "$ROOT/leases/$ip")" "$x" "lease of $ip"
	done
	run 0 pel sandbox rm both
	poll 5 n_gone "$x" || fail "rm left:$(f_id_leaks "$x")"
	for ip in "$ipx0" "$ipx1"; do
		[ -L "$ROOT/leases/$ip" ] && fail "rm left the lease of $ip"
	done
	# Without its state, rm finds the second veth by its name.
	x=$(create --network na --network nb)
	rm "$ROOT/sandboxes/$x/state"
	run 0 pel sandbox rm "$x"
	poll 5 n_gone "$x" || fail "rm without state left:$(f_id_leaks "$x")"
	run 0 pel sandbox rm "$a" "$b"
	run 0 pel network rm na nb
}

# IPv6: usable the moment create returns (no duplicate address
# detection), one default route via the bridge, addresses leased and
# freed; IPv4-only networks and interfaces keep IPv6 off.
t_net_ipv6() {
	n_quarters
	[ -f /proc/net/if_inet6 ] || skip "no IPv6 in this kernel"
	mknet n6 a "$NET.64/26" --subnet6 "$NET6:1::/64"
	mknet n4 b "$NET.128/26"
	a=$(create --network n6)
	b=$(create --network n6 --network n4)
	nsa=$(ns_of "$a")
	nsb=$(ns_of "$b")
	expect_eq "$(skey "$a" eth0.ip6) $(skey "$b" eth0.ip6)" \
	    "$NET6:1::2/64 $NET6:1::3/64" "IPv6 addresses, lowest first"
	expect_eq "$(skey "$a" eth0.gateway6)" "$NET6:1::1" "gateway6"
	n_ping "$nsa" "$NET6:1::3" || fail "no ping6 from a to b right after create"
	n_ping "$nsb" "$NET6:1::2" || fail "no ping6 from b to a right after create"
	# No address waits for DAD (IFA_F_TENTATIVE, 0x40), none will.
	for ns in "$nsa" "$nsb"; do
		n_in "$ns" cat /proc/net/if_inet6 >"$T_DIR/if6"
		awk '$6 != "lo" && $5 ~ /^[4567cdef]/ { bad = 1 }
		    END { exit bad }' "$T_DIR/if6" ||
		    fail "tentative addresses: $(cat "$T_DIR/if6")"
		expect_eq "$(n_in "$ns" cat /proc/sys/net/ipv6/conf/eth0/accept_dad)" 0 \
		    "accept_dad in the pod"
	done
	n_in "$nsa" ip -f inet6 route show | grep -q "^default via $NET6:1::1 dev eth0" ||
	    fail "no IPv6 default route: $(n_in "$nsa" ip -f inet6 route show)"
	ip -f inet6 addr show dev "${BR}a" | grep -q "inet6 $NET6:1::1/64" ||
	    fail "bridge lacks $NET6:1::1"
	# The IPv4-only interface of b, and the host ends, have none.
	expect_eq "$(n_in "$nsb" cat /proc/sys/net/ipv6/conf/eth1/disable_ipv6)" 1 \
	    "IPv6 on eth1, on an IPv4-only network"
	for v in "vh-$(echo "$a" | cut -c1-8)" "vh-$(echo "$b" | cut -c1-8)-1"; do
		expect_eq "$(cat "/proc/sys/net/ipv6/conf/$v/disable_ipv6")" 1 \
		    "IPv6 on the host end $v"
	done
	# The bridges pelagos made take no pod's router advertisement (it
	# would route the host through the pod): none on an IPv6 network,
	# no IPv6 on an IPv4 one.
	expect_eq "$(cat "/proc/sys/net/ipv6/conf/${BR}a/accept_ra")" 0 \
	    "accept_ra on the IPv6 network's bridge"
	expect_eq "$(cat "/proc/sys/net/ipv6/conf/${BR}b/disable_ipv6")" 1 \
	    "IPv6 on the IPv4 network's bridge"
	c=$(create --network n4)
	expect_eq "$(n_in "$(ns_of "$c")" cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6)" 1 \
	    "IPv6 on eth0 of an IPv4-only sandbox"
	expect_eq "$(skey "$c" eth0.ip6)" - "ip6 of an IPv4-only sandbox"
	expect_eq "$(readlink "$ROOT/leases/$NET6:1::2")" "$a" "IPv6 lease"
	# A port's anti-spoofing elements exist before the port does: the
	# MLD reports its kernel sends the moment eth0 is up are dropped
	# there (nft.c) instead of flooded to every pod of the bridge.  Its
	# sysctls are written through a proc of its own where the kernel
	# has fsmount (net.c), never through the host's /proc/sys/net.
	if command -v strace >/dev/null 2>&1; then
		strace -q -o "$T_DIR/create.trace" \
		    -e trace=sendto,openat,fsmount \
		    "$PELAGOS" --root "$ROOT" sandbox create --network n6 \
		    >"$T_DIR/id" || fail "create under strace failed"
		read -r e <"$T_DIR/id"
		echo "$e" >>"$T_DIR/ids"
		echo "$(skey "$e" pause_pid) $(skey "$e" pause_start)" \
		    >>"$T_DIR/pids"
		awk '/NFT_MSG_NEWSETELEM/ && !elem { elem = NR }
		    /"veth"/ && !veth { veth = NR }
		    END { exit !(elem && veth && elem < veth) }' \
		    "$T_DIR/create.trace" ||
		    fail "the port's nftables elements came after its veth"
		if ! grep -q '^fsmount(' "$T_DIR/create.trace"; then
			fail "create tried no proc of its own"
		elif grep -q '^fsmount(.* = [0-9]' "$T_DIR/create.trace"; then
			grep -q 'sys/net/ipv6/conf/default/accept_ra' \
			    "$T_DIR/create.trace" ||
			    fail "create wrote no accept_ra in the pod"
			! grep -q '"/proc/sys/net' "$T_DIR/create.trace" ||
			    fail "create walked the host's /proc/sys/net"
		fi
		nft list chain bridge "$PELAGOS_NFT_TABLE" pod |
		    grep -q 'icmpv6 type mld2-listener-report drop' ||
		    fail "no MLD report drop in the pod chain"
		run 0 pel sandbox rm "$e"
		# Without that proc (an old kernel, a seccomp filter), /proc.
		for inj in fsopen:error=ENOSYS fsmount:error=EPERM; do
			strace -q -o /dev/null -e trace=fsopen,fsmount \
			    -e inject="$inj" "$PELAGOS" --root "$ROOT" sandbox \
			    create --network n6 >"$T_DIR/id" ||
			    fail "create with $inj failed"
			read -r e <"$T_DIR/id"
			echo "$e" >>"$T_DIR/ids"
			expect_eq "$(n_in "$(ns_of "$e")" cat \
			    /proc/sys/net/ipv6/conf/eth0/accept_ra)" 0 \
			    "accept_ra in the pod, $inj"
			run 0 pel sandbox rm "$e"
		done
	fi
	run 0 pel sandbox rm "$a"
	[ -L "$ROOT/leases/$NET6:1::2" ] && fail "rm left the IPv6 lease"
	d=$(create --network n6)
	expect_eq "$(skey "$d" eth0.ip6)" "$NET6:1::2/64" "freed IPv6 address reused"
	run 0 pel sandbox rm "$b" "$c" "$d"
	[ -z "$(ls -A "$ROOT/leases")" ] || fail "leases left: $(ls "$ROOT/leases")"
	run 0 pel network rm n6 n4
}

# Addresses asked for: taken, reserved or outside is a clear error and
# nothing is made; a free one is given.
t_net_static_ip() {
	n_quarters
	mknet na a "$NET.64/26" --subnet6 "$NET6:1::/64"
	mknet nb b "$NET.128/26"
	a=$(create --network na --ip "$NET.100" --ip6 "$NET6:1::64")
	expect_eq "$(skey "$a" eth0.ip) $(skey "$a" eth0.ip6)" \
	    "$NET.100/26 $NET6:1::64/64" "the addresses asked for"
	n_in "$(ns_of "$a")" ip addr show dev eth0 | grep -q "inet $NET.100/26" ||
	    fail "eth0 lacks $NET.100"
	for args in "--ip $NET.100:already in use" "--ip6 $NET6:1::64:already in use" \
	    "--ip $NET.65:reserved" "--ip $NET.64:reserved" "--ip $NET.127:reserved" \
	    "--ip6 $NET6:1::1:reserved" "--ip $NET.130:outside" \
	    "--ip6 $NET6:2::5:outside"; do
		want=${args##*:}
		run 1 pel sandbox create --network na ${args%:*}
		one_error "$want"
	done
	run 2 pel sandbox create --network na --ip "$NET.70" --ip "$NET.71"
	one_error "invalid --ip '$NET.71'"
	run 2 pel sandbox create --network na --network nb --ip "$NET.70"
	one_error "invalid --ip"
	run 2 pel sandbox create --network nb --ip6 "$NET6:1::9"
	one_error "invalid --ip6"
	run 1 pel sandbox create --network na --network nb --ip "nb=$NET.70"
	one_error "outside network nb"
	expect_eq "$(ls "$ROOT/sandboxes")" "$a" "sandboxes after refusals"
	expect_eq "$(ls "$ROOT/leases" | sort | tr '\n' ' ')" \
	    "$NET.100 $NET6:1::64 " "leases after refusals"
	expect_eq "$(ls "/sys/class/net/${BR}a/brif" | wc -l)" 1 "ports of ${BR}a"
	b=$(create --network na --network nb --ip "nb=$NET.140" --ip "na=$NET.66")
	expect_eq "$(skey "$b" eth0.ip) $(skey "$b" eth1.ip)" \
	    "$NET.66/26 $NET.140/26" "NET=ADDR addresses"
	# Picked addresses go around those asked for.
	c=$(create --network na)
	expect_eq "$(skey "$c" eth0.ip)" "$NET.67/26" "the lowest free address"
	# An address a sandbox of an earlier boot holds is taken over, that
	# sandbox removed as prune would (a boot script's create --ip).
	d=$(create --network na --ip "$NET.90")
	pd=$(skey "$d" pause_pid)
	sed 's/^boot_id .*/boot_id 00000000-0000-4000-8000-000000000000/' \
	    "$ROOT/sandboxes/$d/state" >"$T_DIR/st" &&
	    cat "$T_DIR/st" >"$ROOT/sandboxes/$d/state"
	e=$(create --network na --ip "$NET.90")
	[ -e "$ROOT/sandboxes/$d" ] && fail "the earlier boot's sandbox is still there"
	poll 5 gone "$pd" || fail "its pause still runs"
	expect_eq "$(readlink "$ROOT/leases/$NET.90")" "$e" "the address taken over"
	run 0 pel sandbox rm "$a" "$b" "$c" "$e"
	run 0 pel network rm na nb
}

# The network's MTU on the bridge, both veth ends and eth0; --mtu for
# one sandbox.
t_net_mtu() {
	n_quarters
	mknet jumbo a "$NET.64/26" --mtu 9000
	a=$(create --network jumbo)
	b=$(create --network jumbo --mtu 1400)
	c=$(create)
	expect_eq "$(cat "/sys/class/net/${BR}a/mtu")" 9000 "bridge MTU"
	expect_eq "$(cat "/sys/class/net/vh-$(echo "$a" | cut -c1-8)/mtu")" 9000 \
	    "host end MTU"
	expect_eq "$(n_mtu "$(ns_of "$a")" eth0)" 9000 "eth0 MTU"
	expect_eq "$(skey "$a" eth0.mtu)" 9000 "recorded MTU"
	expect_eq "$(cat "/sys/class/net/vh-$(echo "$b" | cut -c1-8)/mtu")" 1400 \
	    "host end MTU with --mtu"
	expect_eq "$(n_mtu "$(ns_of "$b")" eth0)" 1400 "eth0 MTU with --mtu"
	expect_eq "$(cat "/sys/class/net/${BR}a/mtu")" 9000 \
	    "bridge MTU after a smaller port"
	expect_eq "$(n_mtu "$(ns_of "$c")" eth0)" 1500 "eth0 MTU on the default network"
	expect_eq "$(skey "$c" eth0.mtu)" 0 "MTU recorded as the kernel's default"
	# A bridge that exists already is given the network's MTU.
	ip link set "${BR}a" mtu 1500
	d=$(create --network jumbo)
	expect_eq "$(cat "/sys/class/net/${BR}a/mtu")" 9000 "bridge MTU restored"
	poll 10 n_ping "$(ns_of "$a")" "$(skey "$d" eth0.ip | cut -d/ -f1)" ||
	    fail "no ping between jumbo pods"
	run 0 pel sandbox rm "$a" "$b" "$c" "$d"
	run 0 pel network rm jumbo
}

# resolv.conf, hosts and hostname in the sandbox's directory.
t_net_dns_files() {
	printf '# host\nnameserver 127.0.0.53\nnameserver 10.9.8.7\nsearch example.org\noptions edns0\n' \
	    >"$T_DIR/resolv"
	export PELAGOS_RESOLV_CONF=$T_DIR/resolv
	a=$(create --name dns-a --hostname h-a)
	d=$ROOT/sandboxes/$a
	expect_eq "$(cat "$d/resolv.conf")" "$(printf '# host\nnameserver 10.9.8.7\nsearch example.org\noptions edns0')" \
	    "resolv.conf from the host's, loopback dropped"
	expect_eq "$(cat "$d/hosts")" "$(printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\th-a' "$NET.2")" \
	    "hosts"
	expect_eq "$(cat "$d/hostname")" h-a "hostname"
	expect_eq "$(stat -c %a "$d/hosts")" 644 "mode of hosts"
	run 0 pel sandbox create --dns 10.0.0.53 --dns fd00::53 --dns-search a.example \
	    --dns-search b.example --dns-option ndots:2 --add-host db:10.0.0.9 \
	    --add-host v6:fd00::9
	b=$(cat "$OUT")
	echo "$b" >>"$T_DIR/ids"
	[ -s "$ERR" ] && fail "create warned: $(cat "$ERR")"
	expect_eq "$(cat "$ROOT/sandboxes/$b/resolv.conf")" \
	    "$(printf 'nameserver 10.0.0.53\nnameserver fd00::53\nsearch a.example b.example\noptions ndots:2')" \
	    "resolv.conf from the options"
	tail -n 2 "$ROOT/sandboxes/$b/hosts" >"$T_DIR/h"
	expect_eq "$(cat "$T_DIR/h")" "$(printf '10.0.0.9\tdb\nfd00::9\tv6')" "--add-host lines"
	# Only loopback nameservers: said once, and the sandbox is made.
	printf 'nameserver 127.0.0.53\nnameserver ::1\n' >"$T_DIR/resolv"
	run 0 pel sandbox create
	c=$(cat "$OUT")
	echo "$c" >>"$T_DIR/ids"
	one_error "only loopback nameservers"
	[ -s "$ROOT/sandboxes/$c/resolv.conf" ] && fail "loopback nameservers kept"
	# None at all is no loss: no warning.
	rm "$T_DIR/resolv"
	run 0 pel sandbox create --host-net
	h=$(cat "$OUT")
	echo "$h" >>"$T_DIR/ids"
	[ -s "$ERR" ] && fail "warned without a host resolv.conf: $(cat "$ERR")"
	expect_eq "$(tail -n 1 "$ROOT/sandboxes/$h/hosts")" \
	    "$(printf '127.0.1.1\t%s' "$(echo "$h" | cut -c1-8)")" "hosts of a host-network pod"
	run 0 pel sandbox rm "$a" "$b" "$c" "$h"
}

# run --rootfs mounts them read-only at /etc/resolv.conf, /etc/hosts and
# /etc/hostname, making empty mount points where the rootfs has none and
# writing nothing else into it.
t_net_rootfs_files() {
	mkrootfs
	printf 'nameserver 10.9.8.7\n' >"$T_DIR/resolv"
	export PELAGOS_RESOLV_CONF=$T_DIR/resolv
	id=$(create --name rf --hostname rf-host --add-host db:10.0.0.9)
	run 0 pel run --sandbox rf --rootfs "$RFS" -- sh -c \
	    'cat /etc/resolv.conf /etc/hosts; hostname; cat /etc/hostname'
	expect_eq "$(cat "$OUT")" "$(printf 'nameserver 10.9.8.7\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\trf-host\n10.0.0.9\tdb\nrf-host\nrf-host' "$NET.2")" \
	    "the pod's files inside the rootfs"
	for f in resolv.conf hosts hostname; do
		pel run --sandbox rf --rootfs "$RFS" -- sh -c "echo x >/etc/$f" \
		    >"$OUT" 2>"$ERR" && fail "/etc/$f is writable in the rootfs"
		[ -f "$RFS/etc/$f" ] && [ ! -s "$RFS/etc/$f" ] ||
		    fail "rootfs etc/$f is not an empty mount point"
	done
	# A file the rootfs has is mounted over, never written.
	printf '1.2.3.4 mine\n' >"$RFS/etc/hosts"
	run 0 pel run --sandbox rf --rootfs "$RFS" -- cat /etc/hosts
	grep -q mine "$OUT" && fail "the rootfs's hosts shows through"
	expect_eq "$(cat "$RFS/etc/hosts")" "1.2.3.4 mine" "the rootfs's own hosts"
	# A symlink there is refused, never followed.
	rm "$RFS/etc/resolv.conf"
	ln -s /etc/passwd "$RFS/etc/resolv.conf"
	run 1 pel run --sandbox rf --rootfs "$RFS" true
	one_error "etc/resolv.conf"
	[ -L "$RFS/etc/resolv.conf" ] || fail "the symlink was replaced"
	# Without --rootfs nothing changes.
	run 0 pel run --sandbox rf stat -L -c %i /etc/passwd
	expect_eq "$(cat "$OUT")" "$(stat -L -c %i /etc/passwd)" \
	    "/etc without --rootfs"
	run 0 pel sandbox rm rf
}

# Sysctls written inside the pod's namespaces before create returns; a
# key that is not namespaced is refused before anything exists.
t_net_sysctl() {
	host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
	host_shm=$(cat /proc/sys/kernel/shmmni)
	want_fwd=$((1 - host_fwd))
	id=$(create --sysctl "net.ipv4.ip_forward=$want_fwd" \
	    --sysctl "kernel.shmmni=1234" --sysctl "net.ipv4.ping_group_range=0 0")
	ns=$(ns_of "$id")
	expect_eq "$(n_in "$ns" cat /proc/sys/net/ipv4/ip_forward)" "$want_fwd" \
	    "net.ipv4.ip_forward in the pod"
	expect_eq "$(n_in "$ns" cat /proc/sys/net/ipv4/ping_group_range | tr '\t' ' ')" \
	    "0 0" "a value with a space"
	pid=$(skey "$id" pause_pid)
	expect_eq "$(nsenter --ipc=/proc/$pid/ns/ipc cat /proc/sys/kernel/shmmni)" 1234 \
	    "kernel.shmmni in the pod"
	run 0 pel run --sandbox "$id" cat /proc/sys/kernel/shmmni
	expect_eq "$(cat "$OUT")" 1234 "kernel.shmmni seen by a workload"
	expect_eq "$(cat /proc/sys/net/ipv4/ip_forward)" "$host_fwd" "host ip_forward"
	expect_eq "$(cat /proc/sys/kernel/shmmni)" "$host_shm" "host shmmni"
	run 0 pel sandbox rm "$id"
	for kv in kernel.hostname=x vm.swappiness=10 fs.file-max=100 \
	    kernel.pid_max=40000 kernel.sched_child_runs_first=1 net.ipv4.ip_forward; do
		run 2 pel sandbox create --sysctl "$kv"
		one_error "invalid --sysctl '$kv'"
	done
	run 2 pel sandbox create --host-net --sysctl net.ipv4.ip_forward=1
	one_error "invalid --sysctl"
	run 2 pel sandbox create --host-ipc --sysctl kernel.shmmni=1
	one_error "invalid --sysctl"
	[ -e "$ROOT" ] && [ -n "$(ls -A "$ROOT/sandboxes")" ] &&
	    fail "a refused sysctl made a sandbox"
	# A net key this namespace does not have fails the create whole.
	run 1 pel sandbox create --sysctl net.ipv4.no_such_key=1
	one_error "sysctl net.ipv4.no_such_key"
	n_nothing_made "a sysctl that failed"
	expect_eq "$(cat /proc/sys/net/ipv4/ip_forward)" "$host_fwd" "host ip_forward"
}

# Every syscall of a create on two networks, one of them dual-stack,
# with sysctls and DNS options, failed with EIO in turn: a clean error
# and nothing left, or a whole sandbox (t_faults.sh's machinery; its
# checks look at the first network's bridge, here $BR).
n_fault_setup() {
	f_need_strace
	[ -z "${ASAN_OPTIONS:-}" ] || skip "sanitizer build (ASAN_OPTIONS set)"
	export PELAGOS_BRIDGE=${BR}d PELAGOS_SUBNET=$NET.0/26
	echo "${BR}d" >>"$T_DIR/bridges"
	mknet fa "" "$NET.64/26" --subnet6 "$NET6:1::/64" --mtu 1400
	mknet fb b "$NET.128/26"
	N_ARGS="--name fz --network fa --network fb --sysctl net.ipv4.ip_forward=1 --dns 10.0.0.53"
}

t_net_fault_inject() {
	n_fault_setup
	f_discover $N_ARGS
	points=0 failed=0 tolerated=0 bad=0 killed=0 interrupted=0
	tol_list="" bad_list=""
	while read -r sys n; do
		link_exists "$BR" && ip link del "$BR"
		link_exists "${BR}b" && ip link del "${BR}b"
		F_STRACE="-e signal=none -e trace=$sys,mkdirat,execve"
		F_STRACE="$F_STRACE -e inject=$sys:error=EIO:when=$n"
		f_traced $N_ARGS
		f_traced_wait 30
		f_judge "$sys#$n"
		points=$((points + 1))
	done <"$T_DIR/points"
	note "fault injection, two networks: $points points, $failed failed" \
	    "cleanly, $tolerated tolerated, $bad bad"
	echo "fault-injection points covered (two networks): $points"
	[ "$bad" -eq 0 ] ||
	    fail "$bad of $points injection points misbehaved:$bad_list"
	[ -z "$(ls -A "$ROOT/leases")" ] || fail "leases left: $(ls "$ROOT/leases")"
	run 0 pel network rm fa fb
}

# Creates on two networks SIGKILLed at random points, then one prune:
# nothing of any interface is left.
t_net_random_kill() {
	n_fault_setup
	f_discover $N_ARGS
	total=$(wc -l <"$T_DIR/points")
	i=0 ids="" spids=""
	while [ "$i" -lt 25 ]; do
		r=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
		set -- $(sed -n "$((r % total + 1))p" "$T_DIR/points")
		F_STRACE="-e signal=none -e trace=$1,mkdirat,execve"
		F_STRACE="$F_STRACE -e inject=$1:signal=SIGKILL:when=$2"
		F_LOG=$T_DIR/strace.$i
		f_traced $N_ARGS
		f_traced_wait 30 || fail "create hung at $1#$2"
		[ -n "$F_ID" ] && echo "$F_ID" >>"$T_DIR/ids"
		ids="$ids $F_ID"
		[ -z "$F_DONE" ] && spids="$spids $F_SPID"
		note "run $i: SIGKILL at $1#$2 -> exit $F_RC ${F_ID:-no ID}"
		i=$((i + 1))
		# A kill after the commit leaves a whole sandbox: removed here,
		# as the name must be free for the next run.
		pel sandbox ls | grep -q "^$F_ID .* running " &&
		    pel sandbox rm "$F_ID" >/dev/null
	done
	run 0 pel sandbox prune
	[ -s "$ERR" ] && fail "prune warned: $(cat "$ERR")"
	f_noleaks $ids
	leaks=0
	for id in $ids; do
		l=$(f_id_leaks "$id")
		[ -n "$l" ] && leaks=$((leaks + 1)) && note "leak:$l"
	done
	for p in $spids; do
		poll 10 gone "$p" || kill "$p"
		wait "$p" 2>/dev/null
	done
	echo "random-kill runs on two networks: 25, leaks: $leaks"
	[ "$leaks" -eq 0 ] || fail "$leaks leaks after prune"
	[ -z "$(ls "/sys/class/net/${BR}b/brif" 2>/dev/null)" ] ||
	    fail "ports left on ${BR}b: $(ls "/sys/class/net/${BR}b/brif")"
	[ -z "$(ls -A "$ROOT/leases")" ] || fail "leases left: $(ls "$ROOT/leases")"
	run 0 pel network rm fa fb
}
