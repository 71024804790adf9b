# SPDX-License-Identifier: Apache-2.0
# pelagos as a CNI plugin, driven as a runtime drives it: CNI_* variables,
# the configuration on stdin, the network namespace made by the "runtime"
# (here a process the test starts with `unshare -n`, whose
# /proc/<pid>/ns/net is CNI_NETNS, as `ctr run --cni` passes it).
TESTS="$TESTS t_cni_add_del t_cni_versions t_cni_errors t_cni_check"
TESTS="$TESTS t_cni_gc t_cni_gc_fault t_cni_status t_cni_chain t_cni_parallel t_cni_mtu"
TESTS="$TESTS t_cni_fault_inject t_cni_signals t_cni_examples t_cni_docs"

# Helpers are c_-prefixed: every t_*.sh is sourced into one shell.

# c_trap: the test's own cleanup runs first: the namespaces' holders are
# killed, and whatever of the plugin's is left fails a test that passed.
c_trap() {
	trap '_crc=$?; c_cleanup "$_crc"; _crc=$?; (exit $_crc); cleanup_test' EXIT
}

c_cleanup() {
	_rc=$1
	kill_all_recorded "$T_DIR/holders"
	if ! poll 5 c_clean; then
		[ "$_rc" = 0 ] && echo "FAIL: left behind:$(c_leaks)" >&2 && _rc=1
		for _l in /sys/class/net/"$BR"/brif/*; do
			[ -e "$_l" ] && ip link del "${_l##*/}" 2>/dev/null
		done
	fi
	return "$_rc"
}

# What the plugin made that is still there: leases, ports on the bridge.
c_leaks() {
	for _f in "$ROOT"/cni/*/leases/*; do
		[ -L "$_f" ] && printf ' lease:%s' "${_f##*/}"
	done
	for _l in /sys/class/net/"$BR"/brif/*; do
		[ -e "$_l" ] && printf ' port:%s' "${_l##*/}"
	done
	echo
}

c_clean() {
	[ -z "$(c_leaks)" ]
}

# c_ns: a new network namespace, held by a process of the test's; prints
# the process's PID.  CNI_NETNS is then /proc/PID/ns/net.
c_ns() {
	unshare -n sleep 600 </dev/null >/dev/null 2>&1 &
	_p=$!
	c_in_ns() {
		[ "$(readlink "/proc/$_p/ns/net")" != "$(readlink /proc/self/ns/net)" ]
	}
	poll 5 c_in_ns || fail "unshare -n did not start"
	echo "$_p $(sed 's/.*) //' "/proc/$_p/stat" | cut -d' ' -f20)" \
	    >>"$T_DIR/holders"
	echo "$_p"
}

c_kill_ns() {
	while read -r _p _s; do
		[ "$_p" = "$1" ] && kill_recorded "$_p" "$_s"
	done <"$T_DIR/holders"
	poll 5 gone "$1" || fail "holder $1 survived"
}

# c_conf [VERSION] [,"extra":keys]: the test's network configuration, on
# its own bridge and subnet, its leases under the test's root.
c_conf() {
	printf '{"cniVersion":"%s","name":"tnet","type":"pelagos","bridge":"%s","subnet":"%s.0/24","isDefaultGateway":true,"dataDir":"%s"%s}\n' \
	    "${1:-1.1.0}" "$BR" "$NET" "$ROOT/cni" "${2:-}" >"$T_DIR/conf.json"
}

# c_cni WANT_RC COMMAND ID PID [IFNAME [CONF]]: one plugin call, stdout in
# $OUT, stderr in $ERR; PID "-" gives no CNI_NETNS.
c_cni() {
	_want=$1
	_ns=""
	[ "$4" != - ] && _ns=/proc/$4/ns/net
	(
		export CNI_COMMAND="$2" CNI_CONTAINERID="$3" CNI_NETNS="$_ns"
		export CNI_IFNAME="${5:-eth0}" CNI_PATH="${CNI_PATH:-/nonexistent}"
		[ -n "$_ns" ] || unset CNI_NETNS
		exec "$PELAGOS" <"${6:-$T_DIR/conf.json}"
	) >"$OUT" 2>"$ERR"
	_rc=$?
	[ "$_rc" -eq "$_want" ] || fail "CNI $2 $3 exited $_rc, want $_want;" \
	    "stdout: $(head -c 400 "$OUT") stderr: $(head -c 300 "$ERR")"
	[ -s "$ERR" ] && fail "CNI $2 wrote to stderr: $(cat "$ERR")"
	return 0
}

# c_code N: the last call printed an error object with code N.
c_code() {
	grep -q "^{\"cniVersion\":\"[0-9.]*\",\"code\":$1,\"msg\":\".*\",\"details\":\"[^\"]*\"}\$" \
	    "$OUT" || fail "want an error object with code $1, got: $(cat "$OUT")"
}

# c_addr: the container's address in the last ADD result.
# c_addr: the container's address in the last ADD result (on a /$C_PFX,
# 24 unless set).
c_addr() {
	sed -n 's/.*"address":"\([0-9.]*\)\/'"${C_PFX:-24}"'".*/\1/p' "$OUT"
}

c_nsip() {
	nsenter -t "$1" -n ip "$@" 2>/dev/null
}

t_cni_add_del() {
	c_trap
	c_conf 1.1.0 ',"dns":{"nameservers":["'"$GW"'"],"search":["t.example"]}'
	p1=$(c_ns)
	p2=$(c_ns)
	c_cni 0 ADD ctr-one "$p1"
	r1=$(cat "$OUT")
	ip1=$(c_addr)
	expect_eq "$ip1" "$NET.2" "first address"
	echo "$r1" | grep -q '^{"cniVersion":"1.1.0","interfaces":\[{"name":"'"$BR"'","mac":"[0-9a-f:]\{17\}"},{"name":"pc-[0-9a-f]\{8\}","mac":"[0-9a-f:]\{17\}"},{"name":"eth0","mac":"[0-9a-f:]\{17\}","sandbox":"/proc/'"$p1"'/ns/net"}\],"ips":\[{"interface":2,"address":"'"$NET"'.2/24","gateway":"'"$GW"'"}\],"routes":\[{"dst":"0.0.0.0/0","gw":"'"$GW"'"}\],"dns":{"nameservers":\["'"$GW"'"\],"search":\["t.example"\]}}$' ||
	    fail "ADD result: $r1"
	host=$(echo "$r1" | sed 's/.*"name":"\(pc-[0-9a-f]*\)".*/\1/')
	expect_eq "$host" "pc-$(printf %02x%02x%02x%02x $(echo "$ip1" | tr . ' '))" \
	    "host end named after the address"
	mac=$(echo "$r1" | sed 's/.*"name":"eth0","mac":"\([0-9a-f:]*\)".*/\1/')
	# The kernel side: the address, the route, the MAC, the bridge port.
	nsenter -t "$p1" -n ip -4 addr show dev eth0 | grep -q "inet $ip1/24 " ||
	    fail "eth0 lacks $ip1"
	nsenter -t "$p1" -n ip route | grep -q "^default via $GW dev eth0" ||
	    fail "no default route via $GW"
	nsenter -t "$p1" -n ip link show dev eth0 | grep -q "link/ether $mac " ||
	    fail "eth0's MAC is not the result's $mac"
	[ -e "/sys/class/net/$BR/brif/$host" ] || fail "$host not on $BR"
	ip -4 addr show dev "$BR" | grep -q "inet $GW/24 " || fail "$BR lacks $GW"
	expect_eq "$(readlink "$ROOT/cni/tnet/leases/$ip1")" "ctr-one/eth0" \
	    "the lease names the attachment"
	# A second container, and the two talk.
	c_cni 0 ADD ctr-two "$p2"
	ip2=$(c_addr)
	expect_eq "$ip2" "$NET.3" "second address"
	nsenter -t "$p1" -n ping -c 1 -W 2 "$ip2" >/dev/null ||
	    fail "$ip1 cannot reach $ip2"
	# The same container on a second interface is a second attachment
	# (without a second default route).
	sed 's/"isDefaultGateway":true/"isDefaultGateway":false/' \
	    "$T_DIR/conf.json" >"$T_DIR/nodef.json"
	c_cni 0 ADD ctr-one "$p1" net1 "$T_DIR/nodef.json"
	expect_eq "$(c_addr)" "$NET.4" "a second interface, a second address"
	expect_eq "$(readlink "$ROOT/cni/tnet/leases/$NET.4")" "ctr-one/net1" \
	    "keyed by container and interface"
	# DEL, and DEL again.
	c_cni 0 DEL ctr-one "$p1"
	[ -s "$OUT" ] && fail "DEL printed: $(cat "$OUT")"
	[ -L "$ROOT/cni/tnet/leases/$ip1" ] && fail "DEL kept the lease"
	link_exists "$host" && fail "DEL kept $host"
	nsenter -t "$p1" -n ip link show dev eth0 >/dev/null 2>&1 &&
	    fail "DEL kept eth0 in the namespace"
	nsenter -t "$p1" -n ip link show dev net1 >/dev/null 2>&1 ||
	    fail "DEL of eth0 took net1 too"
	c_cni 0 DEL ctr-one "$p1"
	c_cni 0 DEL never-added "$p1"
	# DEL once the namespace is gone, and without CNI_NETNS: the lease
	# still goes.
	c_kill_ns "$p2"
	c_cni 0 DEL ctr-two "$p2"
	[ -L "$ROOT/cni/tnet/leases/$ip2" ] && fail "DEL kept the dead one's lease"
	c_cni 0 DEL ctr-one - net1 "$T_DIR/nodef.json"
	poll 5 c_clean || fail "left after DEL:$(c_leaks)"
	# Freed addresses are given again, lowest first.
	c_cni 0 ADD ctr-three "$p1"
	expect_eq "$(c_addr)" "$NET.2" "a freed address is reused"
	c_cni 0 DEL ctr-three "$p1"
}

t_cni_versions() {
	c_trap
	p=$(c_ns)
	for v in 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0; do
		c_conf "$v"
		c_cni 0 ADD "c-$v" "$p"
		grep -q "^{\"cniVersion\":\"$v\"," "$OUT" ||
		    fail "result not in $v: $(cat "$OUT")"
		case $v in
		0.*) grep -q '"ips":\[{"version":"4","interface":2,' "$OUT" ||
		    fail "$v result lacks ips' version: $(cat "$OUT")" ;;
		*) grep -q '"version"' "$OUT" &&
		    fail "$v result has ips' version: $(cat "$OUT")" ;;
		esac
		c_cni 0 DEL "c-$v" "$p"
		echo "{\"cniVersion\":\"$v\"}" >"$T_DIR/v.json"
		c_cni 0 VERSION "" - eth0 "$T_DIR/v.json"
		expect_eq "$(cat "$OUT")" "{\"cniVersion\":\"$v\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}" \
		    "VERSION in $v"
	done
	: >"$T_DIR/empty"
	c_cni 0 VERSION "" - eth0 "$T_DIR/empty"
	grep -q '^{"cniVersion":"1.1.0","supportedVersions":\[' "$OUT" ||
	    fail "VERSION without input: $(cat "$OUT")"
	c_conf 0.2.0
	c_cni 1 ADD c "$p"
	c_code 1
	c_conf 0.3.1 ',"prevResult":{}'
	c_cni 1 CHECK c "$p"
	c_code 1
	c_conf 1.0.0 ',"cni.dev/valid-attachments":[]'
	c_cni 1 GC "" -
	c_code 1
	c_cni 1 STATUS "" -
	c_code 1
}

# Every refusal is an error object with the specification's code on
# stdout, exit 1, nothing on stderr, and nothing left.
t_cni_errors() {
	c_trap
	p=$(c_ns)
	c_conf
	for cmd in ADD DEL CHECK; do
		c_cni 1 "$cmd" "" "$p"
		c_code 4
	done
	c_cni 1 add c "$p"
	c_code 4
	grep -q CNI_COMMAND "$OUT" || fail "code 4 does not name CNI_COMMAND"
	c_cni 1 ADD "-bad" "$p"
	c_code 4
	grep -q CNI_CONTAINERID "$OUT" || fail "code 4 does not name CNI_CONTAINERID"
	c_cni 1 ADD c "$p" "a/b"
	c_code 4
	c_cni 1 ADD c -
	c_code 4
	grep -q CNI_NETNS "$OUT" || fail "code 4 does not name CNI_NETNS"
	printf '{"cniVersion":"1.1.0",' >"$T_DIR/bad.json"
	c_cni 1 ADD c "$p" eth0 "$T_DIR/bad.json"
	c_code 6
	head -c 70000 /dev/zero | tr '\0' ' ' >"$T_DIR/big.json"
	c_cni 1 ADD c "$p" eth0 "$T_DIR/big.json"
	c_code 6
	c_conf 1.1.0 ',"subnet":"10.300.0.0/24"'
	c_cni 1 ADD c "$p"
	c_code 7
	grep -q '"msg":"subnet=\\"10.300.0.0/24\\" is invalid"' "$OUT" ||
	    fail "code 7 does not name subnet and its value: $(cat "$OUT")"
	c_conf 1.1.0 ',"ipam":{"type":"host-local"}'
	c_cni 1 ADD c "$p"
	c_code 2
	grep -q 'ipam={\\"type\\":\\"host-local\\"} is not supported' "$OUT" ||
	    fail "code 2 lacks the ipam section: $(cat "$OUT")"
	c_conf 1.1.0 ',"ipMasq":1'
	c_cni 1 ADD c "$p"
	c_code 7
	c_conf
	# A namespace that is gone: code 3; a path that is no namespace: 4.
	c_cni 1 ADD c 999999999
	c_code 3
	(
		export CNI_COMMAND=ADD CNI_CONTAINERID=c CNI_IFNAME=eth0
		export CNI_NETNS="$T_DIR/conf.json"
		exec "$PELAGOS" <"$T_DIR/conf.json"
	) >"$OUT" 2>"$ERR" && fail "a file as CNI_NETNS was taken"
	c_code 4
	# CNI_IFNAME taken in the container, and a second ADD of the same
	# attachment.
	c_cni 1 ADD c "$p" lo
	c_code 100
	c_clean || fail "a refused ADD left:$(c_leaks)"
	c_cni 0 ADD c "$p"
	c_cni 1 ADD c "$p"
	c_code 100
	c_cni 0 DEL c "$p"
	c_clean || fail "left:$(c_leaks)"
	[ -d "$ROOT/cni/tnet/leases" ] || fail "no lease directory"
	# A full subnet.
	printf '{"cniVersion":"1.1.0","name":"tiny","bridge":"%s","subnet":"%s.0/30","dataDir":"%s"}' \
	    "$BR" "$NET" "$ROOT/cni" >"$T_DIR/tiny.json"
	c_cni 0 ADD c1 "$p" eth0 "$T_DIR/tiny.json"
	c_cni 1 ADD c2 "$p" net1 "$T_DIR/tiny.json"
	c_code 100
	# musl's text, or glibc's (the sanitizer build).
	grep -q -e "lease an address in $ROOT/cni/tiny.*Address not available" \
	    -e "lease an address in $ROOT/cni/tiny.*Cannot assign requested" \
	    "$OUT" || fail "a full subnet: $(cat "$OUT")"
	c_cni 0 DEL c1 "$p" eth0 "$T_DIR/tiny.json"
}

# CHECK passes right after ADD, and reports each kind of drift.
t_cni_check() {
	c_trap
	p=$(c_ns)
	c_conf 0.4.0
	c_cni 0 ADD c "$p"
	sed 's/}$/,"prevResult":/' "$T_DIR/conf.json" | tr -d '\n' >"$T_DIR/chk.json"
	cat "$OUT" | tr -d '\n' >>"$T_DIR/chk.json"
	echo '}' >>"$T_DIR/chk.json"
	c_cni 0 CHECK c "$p" eth0 "$T_DIR/chk.json"
	[ -s "$OUT" ] && fail "CHECK printed: $(cat "$OUT")"
	c_conf 0.4.0
	c_cni 1 CHECK c "$p"
	c_code 7
	# The default route, the address, the host end: each missed.
	nsenter -t "$p" -n ip route del default
	c_cni 1 CHECK c "$p" eth0 "$T_DIR/chk.json"
	c_code 101
	nsenter -t "$p" -n ip route add default via "$GW"
	c_cni 0 CHECK c "$p" eth0 "$T_DIR/chk.json"
	host=$(sed -n 's/.*"name":"\(pc-[0-9a-f]*\)".*/\1/p' "$T_DIR/chk.json")
	ip link set "$host" down
	c_cni 1 CHECK c "$p" eth0 "$T_DIR/chk.json"
	c_code 101
	ip link set "$host" up
	nsenter -t "$p" -n ip addr flush dev eth0
	c_cni 1 CHECK c "$p" eth0 "$T_DIR/chk.json"
	c_code 101
	# prevResult from another ADD (another MAC, another address).
	c_cni 0 DEL c "$p"
	c_cni 0 ADD other "$p"
	sed 's/"isDefaultGateway":true,//' "$T_DIR/chk.json" >"$T_DIR/chk1.json"
	sed 's/"isDefaultGateway":true,//' "$T_DIR/conf.json" >"$T_DIR/nodef.json"
	c_cni 0 ADD c "$p" net1 "$T_DIR/nodef.json"
	c_cni 1 CHECK c "$p" net1 "$T_DIR/chk1.json"
	c_code 101
	c_cni 0 DEL c "$p" net1 "$T_DIR/nodef.json"
	c_cni 0 DEL other "$p"
	# No lease at all, and a namespace that is gone.
	c_cni 1 CHECK c "$p" eth0 "$T_DIR/chk.json"
	c_code 101
	c_cni 0 ADD c "$p"
	sed 's/"prevResult":.*//' "$T_DIR/chk.json" | tr -d '\n' >"$T_DIR/chk2.json"
	printf '"prevResult":%s}' "$(cat "$OUT")" >>"$T_DIR/chk2.json"
	c_kill_ns "$p"
	c_cni 1 CHECK c "$p" eth0 "$T_DIR/chk2.json"
	c_code 3
	c_cni 0 DEL c "$p"
}

# GC frees every attachment not in cni.dev/valid-attachments, its lease
# and its veth, also a lease whose container is long gone.
t_cni_gc() {
	c_trap
	p1=$(c_ns)
	p2=$(c_ns)
	p3=$(c_ns)
	c_conf
	c_cni 0 ADD keep "$p1"
	keep=$(c_addr)
	c_cni 0 ADD drop "$p2"
	drop=$(c_addr)
	c_cni 0 ADD leak "$p3"
	leak=$(c_addr)
	# The runtime lost the third: its namespace went without a DEL.
	c_kill_ns "$p3"
	[ -L "$ROOT/cni/tnet/leases/$leak" ] || fail "the leak's lease is gone already"
	c_conf 1.1.0 ',"cni.dev/valid-attachments":[{"containerID":"keep","ifname":"eth0"},{"containerID":"drop","ifname":"eth1"}]'
	c_cni 0 GC "" -
	[ -s "$OUT" ] && fail "GC printed: $(cat "$OUT")"
	[ -L "$ROOT/cni/tnet/leases/$keep" ] || fail "GC freed a valid attachment"
	nsenter -t "$p1" -n ip link show dev eth0 >/dev/null 2>&1 ||
	    fail "GC removed a valid attachment's eth0"
	[ -L "$ROOT/cni/tnet/leases/$drop" ] && fail "GC kept drop's lease"
	[ -L "$ROOT/cni/tnet/leases/$leak" ] && fail "GC kept the leaked lease"
	nsenter -t "$p2" -n ip link show dev eth0 >/dev/null 2>&1 &&
	    fail "GC kept drop's eth0"
	# A lease removed by hand (as host-local's users clear its leaks)
	# leaves a port that no lease names: GC removes it, listed or not.
	# Ports of the bridge that are not a lease's are left: one not
	# named as ours, one named after an address outside the subnet.
	c_cni 0 ADD hand "$p2"
	hand=$(c_addr)
	rm "$ROOT/cni/tnet/leases/$hand"
	for _d in tgc-$$ pc-01020304; do
		ip link add "$_d" type veth && ip link set "$_d" master "$BR" ||
		    fail "cannot add port $_d"
	done
	sed -i 's/"drop","ifname":"eth1"/"hand","ifname":"eth0"/' "$T_DIR/conf.json"
	c_cni 0 GC "" -
	nsenter -t "$p2" -n ip link show dev eth0 >/dev/null 2>&1 &&
	    fail "GC kept the port of a lease removed by hand"
	[ -L "$ROOT/cni/tnet/leases/$keep" ] || fail "GC freed a valid attachment"
	nsenter -t "$p1" -n ip link show dev eth0 >/dev/null 2>&1 ||
	    fail "GC removed a valid attachment's eth0"
	for _d in tgc-$$ pc-01020304; do
		[ -e "/sys/class/net/$BR/brif/$_d" ] || fail "GC removed port $_d"
		ip link del "$_d"
	done
	# Without the list GC refuses, frees nothing.
	c_conf 1.1.0
	c_cni 1 GC "" -
	c_code 7
	[ -L "$ROOT/cni/tnet/leases/$keep" ] || fail "a refused GC freed"
	c_conf 1.1.0 ',"cni.dev/valid-attachments":[]'
	c_cni 0 GC "" -
	c_cni 0 GC "" -
	poll 5 c_clean || fail "left after GC of everything:$(c_leaks)"
	# A network never used: nothing to do.
	sed 's/"tnet"/"unused"/' "$T_DIR/conf.json" >"$T_DIR/unused.json"
	c_cni 0 GC "" - eth0 "$T_DIR/unused.json"
}

# The bridge's ports unreadable (EIO injected into that one open): GC
# fails naming them, removes nothing on a guess, and the next GC does.
t_cni_gc_fault() {
	f_need_strace
	c_trap
	p=$(c_ns)
	c_conf 1.1.0 ',"cni.dev/valid-attachments":[]'
	c_cni 0 ADD hand "$p"
	hand=$(c_addr)
	rm "$ROOT/cni/tnet/leases/$hand"
	rc=0
	(
		export CNI_COMMAND=GC CNI_CONTAINERID= CNI_IFNAME=eth0
		exec strace -q -o /dev/null -P "/sys/class/net/$BR/brif" \
		    -e trace=openat -e inject=openat:error=EIO "$PELAGOS" \
		    <"$T_DIR/conf.json"
	) >"$OUT" 2>"$ERR" || rc=$?
	expect_eq "$rc" 1 "GC with its ports unreadable"
	c_code 100
	grep -q '"msg":"read /sys/class/net/'"$BR"'/brif"' "$OUT" ||
	    fail "GC's error does not name the ports: $(cat "$OUT")"
	nsenter -t "$p" -n ip link show dev eth0 >/dev/null 2>&1 ||
	    fail "GC removed a port it could not read"
	c_cni 0 GC "" -
	if nsenter -t "$p" -n ip link show dev eth0 >/dev/null 2>&1; then
		fail "the next GC kept the port"
	fi
}

t_cni_status() {
	c_trap
	p=$(c_ns)
	printf '{"cniVersion":"1.1.0","name":"tiny","bridge":"%s","subnet":"%s.0/30","dataDir":"%s"}' \
	    "$BR" "$NET" "$ROOT/cni" >"$T_DIR/tiny.json"
	c_cni 0 STATUS "" - eth0 "$T_DIR/tiny.json"
	[ -s "$OUT" ] && fail "STATUS printed: $(cat "$OUT")"
	c_cni 0 ADD c "$p" eth0 "$T_DIR/tiny.json"
	c_cni 1 STATUS "" - eth0 "$T_DIR/tiny.json"
	c_code 50
	c_cni 0 DEL c "$p" eth0 "$T_DIR/tiny.json"
	c_cni 0 STATUS "" - eth0 "$T_DIR/tiny.json"
}

# As a plugin in a chain: prevResult's interfaces, ips and routes come
# first and ours follow, our ips' index pointing past theirs.
t_cni_chain() {
	c_trap
	p=$(c_ns)
	c_conf 1.0.0 ',"prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"lo","sandbox":"/x"},{"name":"dummy0"}],"ips":[{"address":"10.250.0.5/16","interface":1}],"routes":[{"dst":"10.251.0.0/16","gw":"10.250.0.1"}],"dns":{"domain":"prev.example"}}'
	c_cni 0 ADD c "$p"
	grep -q '^{"cniVersion":"1.0.0","interfaces":\[{"name":"lo","sandbox":"/x"},{"name":"dummy0"},{"name":"'"$BR"'",' "$OUT" ||
	    fail "prevResult's interfaces are not first: $(cat "$OUT")"
	grep -q '"ips":\[{"address":"10.250.0.5/16","interface":1},{"interface":4,"address":"'"$NET"'.2/24"' "$OUT" ||
	    fail "ips not chained: $(cat "$OUT")"
	grep -q '"routes":\[{"dst":"10.251.0.0/16","gw":"10.250.0.1"},{"dst":"0.0.0.0/0","gw":"'"$GW"'"}\],"dns":{"domain":"prev.example"}}$' "$OUT" ||
	    fail "routes or dns not chained: $(cat "$OUT")"
	c_cni 0 DEL c "$p"
}

# Parallel ADDs of different containers (the runtime may run them at
# once): distinct addresses, and DEL of all leaves nothing.
t_cni_parallel() {
	c_trap
	c_conf
	n=0
	while [ "$n" -lt 16 ]; do
		eval "p$n=\$(c_ns)"
		n=$((n + 1))
	done
	n=0
	pids=""
	while [ "$n" -lt 16 ]; do
		eval "_p=\$p$n"
		(
			export CNI_COMMAND=ADD CNI_CONTAINERID="par$n" CNI_IFNAME=eth0
			export CNI_NETNS="/proc/$_p/ns/net"
			exec "$PELAGOS" <"$T_DIR/conf.json"
		) >"$T_DIR/par$n.out" 2>&1 &
		pids="$pids $!"
		n=$((n + 1))
	done
	# shellcheck disable=SC2086
	wait $pids
	n=0
	for f in "$T_DIR"/par*.out; do
		sed -n 's/.*"address":"\([0-9.]*\)\/24".*/\1/p' "$f"
	done | sort -u >"$T_DIR/addrs"
	expect_eq "$(wc -l <"$T_DIR/addrs" | tr -d ' ')" 16 "16 distinct addresses"
	expect_eq "$(ls "$ROOT/cni/tnet/leases" | wc -l | tr -d ' ')" 16 "16 leases"
	while [ "$n" -lt 16 ]; do
		eval "_p=\$p$n"
		c_cni 0 DEL "par$n" "$_p"
		n=$((n + 1))
	done
	c_clean || fail "left:$(c_leaks)"
}

t_cni_mtu() {
	c_trap
	p=$(c_ns)
	c_conf 1.1.0 ',"mtu":1280'
	c_cni 0 ADD c "$p"
	host=$(sed -n 's/.*"name":"\(pc-[0-9a-f]*\)".*/\1/p' "$OUT")
	expect_eq "$(cat "/sys/class/net/$host/mtu")" 1280 "host end's MTU"
	# sysfs shows the namespace of whoever mounted it: ask netlink.
	expect_eq "$(nsenter -t "$p" -n ip link show dev eth0 |
	    sed -n 's/.* mtu \([0-9]*\) .*/\1/p')" 1280 "eth0's MTU"
	c_cni 0 DEL c "$p"
}

# c_judge POINT: the ADD that just ran under an injected fault exited 0
# with a whole attachment (then removed), or non-zero leaving nothing,
# with an error object if it could still write one.
c_judge() {
	why=""
	if [ "$rc" = 0 ]; then
		_a=$(c_addr)
		[ -n "$_a" ] && nsenter -t "$p" -n ip -4 addr show dev eth0 |
		    grep -q "inet $_a/${C_PFX:-24} " ||
		    why="succeeded without eth0 $_a"
		c_cni 0 DEL c "$p"
		tolerated=$((tolerated + 1))
	else
		failed=$((failed + 1))
		[ ! -s "$OUT" ] || grep -q '^{"cniVersion":"[0-9.]*","code":[0-9]*,' \
		    "$OUT" || why="exit $rc without an error object: $(cat "$OUT")"
		[ -s "$T_DIR/ferr" ] && why="$why; stderr: $(cat "$T_DIR/ferr")"
	fi
	nsenter -t "$p" -n ip link show dev eth0 >/dev/null 2>&1 &&
	    why="$why; eth0 left in the namespace" &&
	    nsenter -t "$p" -n ip link del eth0
	if ! poll 5 c_clean; then
		why="$why; left:$(c_leaks)"
		c_cni 0 DEL c "$p"
	fi
	if [ -n "$why" ]; then
		bad=$((bad + 1))
		bad_list="$bad_list $1"
		note "FAULT $1: $why"
	fi
	return 0
}

# c_traced STRACE-OPTIONS...: one ADD under strace; sets rc.
c_traced() {
	(
		export CNI_COMMAND=ADD CNI_CONTAINERID=c CNI_IFNAME=eth0
		export CNI_NETNS="/proc/$p/ns/net"
		exec strace -f -q -o "$T_DIR/strace" "$@" "$PELAGOS" \
		    <"$T_DIR/conf.json"
	) >"$OUT" 2>"$T_DIR/ferr"
	rc=$?
}

# Every syscall of an ADD (the bridge absent, so that its creation is on
# the path), each occurrence failed with EIO in turn.
t_cni_fault_inject() {
	f_need_strace
	[ -z "${ASAN_OPTIONS:-}" ] || skip "sanitizer build (ASAN_OPTIONS set)"
	c_trap
	p=$(c_ns)
	c_conf 1.1.0 ',"mtu":1400'
	c_traced -e signal=none
	[ "$rc" = 0 ] || fail "traced ADD exited $rc: $(cat "$OUT")"
	c_cni 0 DEL c "$p"
	f_syscall_counts "$T_DIR/strace" >"$T_DIR/counts"
	note "ADD path: $(tr '\n' ' ' <"$T_DIR/counts")"
	points=0 failed=0 tolerated=0 bad=0 bad_list=""
	while read -r sys max; do
		case $F_EXCLUDE in *" $sys "*) continue ;; esac
		n=1
		while [ "$n" -le "$max" ]; do
			link_exists "$BR" && ip link del "$BR"
			c_traced -e signal=none -e trace="$sys" \
			    -e inject="$sys:error=EIO:when=$n"
			c_judge "$sys#$n"
			points=$((points + 1))
			n=$((n + 1))
		done
	done <"$T_DIR/counts"
	c_fault_verdict "CNI"
}

# c_fault_verdict WHAT: a fault-injection run's counts, and its verdict.
c_fault_verdict() {
	note "$1 ADD fault injection: $points points, $failed failed" \
	    "cleanly, $tolerated tolerated, $bad bad"
	echo "$1 fault-injection points covered: $points"
	[ "$points" -gt 20 ] || fail "only $points injection points"
	[ "$bad" -eq 0 ] || fail "$bad of $points points misbehaved:$bad_list"
}

# SIGTERM, SIGINT and SIGHUP delivered on entry to each syscall of an ADD:
# held, and the ADD rolls back ("interrupted") or finishes; nothing is
# ever left.
t_cni_signals() {
	f_need_strace
	c_trap
	p=$(c_ns)
	c_conf
	c_traced -e signal=none
	[ "$rc" = 0 ] || fail "traced ADD exited $rc: $(cat "$OUT")"
	c_cni 0 DEL c "$p"
	f_syscall_counts "$T_DIR/strace" >"$T_DIR/counts"
	points=0 failed=0 tolerated=0 bad=0 bad_list="" interrupted=0
	set -- TERM INT HUP
	while read -r sys max; do
		case $F_EXCLUDE in *" $sys "*) continue ;; esac
		for n in 1 "$max"; do
			sig=$1
			shift
			set -- "$@" "$sig"
			c_traced -e signal=none -e trace="$sys" \
			    -e inject="$sys:signal=SIG$sig:when=$n"
			grep -q '"msg":"interrupted"' "$OUT" &&
			    interrupted=$((interrupted + 1))
			# Killed before the signals were held, in the
			# runtime's start-up: nothing may have been made.
			if [ "$rc" -gt 128 ]; then
				poll 5 c_clean || fail "SIG$sig at $sys#$n" \
				    "killed the ADD, and it left:$(c_leaks)"
				continue
			fi
			c_judge "$sys#$n:SIG$sig"
			points=$((points + 1))
		done
	done <"$T_DIR/counts"
	note "CNI ADD signals: $points points, $interrupted interrupted," \
	    "$tolerated finished, $bad bad"
	[ "$interrupted" -gt 0 ] || fail "no ADD ever rolled back as interrupted"
	[ "$bad" -eq 0 ] || fail "$bad of $points points misbehaved:$bad_list"
}

# Each example conflist, its pelagos plugin's configuration as a runtime
# derives it (the list's cniVersion and name put in), on the test's own
# bridge, subnet and dataDir: ADD, CHECK and DEL work.
t_cni_examples() {
	command -v jq >/dev/null 2>&1 || skip "jq not installed"
	c_trap
	# ipMasq in an example turns IPv4 forwarding on.
	fwd=$(cat /proc/sys/net/ipv4/ip_forward)
	trap '_crc=$?; echo "$fwd" >/proc/sys/net/ipv4/ip_forward; c_cleanup "$_crc"; _crc=$?; (exit $_crc); cleanup_test' EXIT
	set -- "$TESTS_DIR"/../examples/*.conflist
	[ -e "$1" ] || skip "no examples beside the tests"
	p=$(c_ns)
	for f in "$@"; do
		jq -c --arg br "$BR" --arg sn "$NET.0/24" --arg dir "$ROOT/cni" \
		    '. as $l | .plugins[] | select(.type == "pelagos") |
		    .cniVersion = $l.cniVersion | .name = $l.name |
		    .bridge = $br | .subnet = $sn | .dataDir = $dir |
		    del(.gateway) | del(.capabilities)' "$f" >"$T_DIR/ex.json" ||
		    fail "$f: not a conflist with a pelagos plugin"
		[ -s "$T_DIR/ex.json" ] || fail "$f has no pelagos plugin"
		c_cni 0 ADD ex "$p" eth0 "$T_DIR/ex.json"
		jq -c --slurpfile r "$OUT" '.prevResult = $r[0]' "$T_DIR/ex.json" \
		    >"$T_DIR/exchk.json"
		v=$(jq -r .cniVersion "$T_DIR/ex.json")
		case $v in 0.3.*) ;; *) c_cni 0 CHECK ex "$p" eth0 "$T_DIR/exchk.json" ;; esac
		c_cni 0 DEL ex "$p" eth0 "$T_DIR/exchk.json"
		note "$(basename "$f"): ADD, CHECK, DEL in $v"
	done
	c_clean || fail "left:$(c_leaks)"
}

# The README's ADD result and error object are what the plugin prints,
# with this run's bridge, addresses, MACs and namespace put in the
# README's spelling.
t_cni_docs() {
	readme=$TESTS_DIR/../README.md
	[ -f "$readme" ] || skip "no README.md beside the tests"
	c_trap
	p=$(c_ns)
	c_conf 1.0.0
	c_cni 0 ADD c "$p"
	set -- $(grep -o '"mac":"[0-9a-f:]*"' "$OUT" | cut -d'"' -f4)
	h=$(printf 'pc-%02x%02x%02x%02x' $(echo "$NET.2" | tr . ' '))
	line=$(sed -e "s/$1/86:cc:fa:4a:49:ff/" -e "s/$2/62:98:bd:c7:68:22/" \
	    -e "s/$3/02:50:0a:f4:00:02/" -e "s/\"$BR\"/\"pcni0\"/" \
	    -e "s/$h/pc-0af40002/" -e "s#/proc/$p/ns/net#/var/run/netns/cni-1234#" \
	    -e "s/$(echo "$NET" | sed 's/\./\\./g')\./10.244.0./g" "$OUT")
	grep -qxF "      $line" "$readme" ||
	    fail "README lacks the ADD result: $line"
	c_cni 0 DEL c "$p"
	c_conf 1.1.0 ',"ipam":{"type":"host-local"}'
	c_cni 1 ADD c "$p"
	grep -qxF "    $(cat "$OUT")" "$readme" ||
	    fail "README lacks the error object: $(cat "$OUT")"
}
