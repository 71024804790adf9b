# SPDX-License-Identifier: Apache-2.0
# pelagos side by side with the reference plugins it replaces (Debian's
# containernetworking-plugins: bridge with host-local IPAM): the same
# ADD, CHECK and DEL on the same network leave the same kernel state and
# give results of the same shape.
TESTS="$TESTS t_cni_vs_reference"

R_PLUGINS=/usr/lib/cni

# r_state PID: the kernel state an attachment is judged by, as text:
# eth0's address and state (from netlink: sysfs would show the host's),
# the namespace's IPv4 routes, the bridge's address and state, and its
# ports' states.
r_state() {
	echo "eth0 $(nsenter -t "$1" -n ip -4 -o addr show dev eth0 2>/dev/null |
	    awk '{print $4}') $(nsenter -t "$1" -n ip -o link show dev eth0 2>/dev/null |
	    sed -n 's/.* state \([A-Z]*\) .*/\1/p')"
	nsenter -t "$1" -n ip -4 route | sed 's/ proto [a-z]*//; s/ *$//'
	echo "bridge $(ip -4 -o addr show dev "$BR" | awk '{print $4}')" \
	    "$(cat "/sys/class/net/$BR/operstate")"
	for _q in /sys/class/net/"$BR"/brif/*; do
		[ -e "$_q" ] && echo "port $(cat "/sys/class/net/${_q##*/}/operstate")"
	done
	return 0
}

# r_shape: the JSON on stdin with every string, number and boolean
# replaced by its type, keys sorted.
r_shape() {
	jq -S -c 'walk(if type == "string" then "s" elif type == "number"
	    then 0 elif type == "boolean" then true else . end)'
}

# r_run NAME CONF-OBJECT-WITHOUT-BRACES: ADD, CHECK and DEL of one plugin
# on a fresh namespace; state and results in $T_DIR/NAME.*.
r_run() {
	_name=$1
	printf '{"cniVersion":"1.0.0","name":"tref",%s}\n' "$2" >"$T_DIR/$_name.json"
	_rp=$(c_ns)
	c_cni 0 ADD ref-c "$_rp" eth0 "$T_DIR/$_name.json"
	cp "$OUT" "$T_DIR/$_name.add"
	r_state "$_rp" >"$T_DIR/$_name.state"
	jq -c --slurpfile r "$T_DIR/$_name.add" '.prevResult = $r[0]' \
	    "$T_DIR/$_name.json" >"$T_DIR/$_name.chk"
	c_cni 0 CHECK ref-c "$_rp" eth0 "$T_DIR/$_name.chk"
	c_cni 0 DEL ref-c "$_rp" eth0 "$T_DIR/$_name.chk"
	r_state "$_rp" >"$T_DIR/$_name.after"
	c_cni 0 DEL ref-c "$_rp" eth0 "$T_DIR/$_name.chk"
	c_kill_ns "$_rp"
}

t_cni_vs_reference() {
	[ -x "$R_PLUGINS/bridge" ] && [ -x "$R_PLUGINS/host-local" ] ||
	    skip "containernetworking-plugins not installed"
	command -v jq >/dev/null 2>&1 || skip "jq not installed"
	c_trap
	# The bridge plugin turns IPv4 forwarding on for a gateway bridge.
	fwd=$(cat /proc/sys/net/ipv4/ip_forward)
	trap '_crc=$?; echo "$fwd" >/proc/sys/net/ipv4/ip_forward; c_cleanup "$_crc"; _crc=$?; (exit $_crc); cleanup_test' EXIT
	(
		PELAGOS=$R_PLUGINS/bridge
		export CNI_PATH=$R_PLUGINS
		r_run ref "\"type\":\"bridge\",\"bridge\":\"$BR\",\"isGateway\":true,\"isDefaultGateway\":true,\"ipMasq\":false,\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"$NET.0/24\"}]],\"dataDir\":\"$ROOT/ref\"}"
	) || fail "the reference plugins failed"
	# The reference leaves the bridge; pelagos reuses it as it would
	# reuse its own.
	r_run pel "\"type\":\"pelagos\",\"bridge\":\"$BR\",\"subnet\":\"$NET.0/24\",\"isDefaultGateway\":true,\"dataDir\":\"$ROOT/cni\""
	note "reference ADD: $(cat "$T_DIR/ref.add" | tr -d ' \n')"
	note "pelagos ADD:   $(cat "$T_DIR/pel.add")"
	note "state after ADD: $(tr '\n' '|' <"$T_DIR/pel.state")"
	cmp "$T_DIR/ref.state" "$T_DIR/pel.state" >/dev/null ||
	    fail "kernel state after ADD differs: reference $(tr '\n' '|' <"$T_DIR/ref.state")" \
	    "pelagos $(tr '\n' '|' <"$T_DIR/pel.state")"
	cmp "$T_DIR/ref.after" "$T_DIR/pel.after" >/dev/null ||
	    fail "kernel state after DEL differs: reference $(tr '\n' '|' <"$T_DIR/ref.after")" \
	    "pelagos $(tr '\n' '|' <"$T_DIR/pel.after")"
	grep -q "^eth0 $NET.2/24 UP" "$T_DIR/pel.state" ||
	    fail "not the state expected: $(cat "$T_DIR/pel.state")"
	a=$(r_shape <"$T_DIR/ref.add")
	b=$(r_shape <"$T_DIR/pel.add")
	expect_eq "$b" "$a" "result shape"
	# The same values where they must agree: the address, the gateway,
	# the sandbox, the interfaces' names but the host end's.
	a=$(jq -c '[.ips, .routes, .interfaces[0].name, .interfaces[2].name,
	    .interfaces[2].sandbox | tostring]' "$T_DIR/ref.add")
	b=$(jq -c '[.ips, .routes, .interfaces[0].name, .interfaces[2].name,
	    .interfaces[2].sandbox | tostring]' "$T_DIR/pel.add" |
	    sed "s#/proc/[0-9]*/#/proc/P/#")
	expect_eq "$b" "$(echo "$a" | sed "s#/proc/[0-9]*/#/proc/P/#")" \
	    "result values"
	[ -z "$(ls -A "$ROOT/ref/tref" 2>/dev/null | grep -v -e lock -e last_reserved)" ] ||
	    fail "the reference kept leases: $(ls "$ROOT/ref/tref")"
}

# ipMasq and a port mapping side by side: the reference bridge (ipMasq, as
# iptables rules) chained with the reference portmap (iptables too) against
# pelagos (nftables elements).  iptables rules must never touch this host's
# tables: both run inside a network namespace of the test's own ($H, the
# "host"), with a "world" namespace ($W) behind a veth, so every rule,
# table and link they make goes with those namespaces.  Compared: the
# source the world sees of the container (masqueraded: the host's
# world-facing address), the source the container's server sees of the
# world through the published port (itself), the port closed again after
# DEL, and the results' shape.
TESTS="$TESTS t_cni_vs_reference_fw"

# rf_cni WANT BIN COMMAND PID CONF: one plugin call inside $H.
rf_cni() {
	(
		export CNI_COMMAND="$3" CNI_CONTAINERID=ref-c CNI_IFNAME=eth0
		export CNI_NETNS="/proc/$4/ns/net" CNI_PATH=$R_PLUGINS
		exec nsenter -t "$H" -n "$2" <"$5"
	) >"$OUT" 2>"$ERR"
	_rc=$?
	[ "$_rc" -eq "$1" ] || fail "$(basename "$2") $3 exited $_rc, want $1;" \
	    "stdout: $(head -c 400 "$OUT") stderr: $(head -c 300 "$ERR")"
	return 0
}

# rf_bg PID CMD...: CMD in the namespace of PID, in the background, its
# PID recorded for the cleanup; $! is it.
rf_bg() {
	_t=$1
	shift
	nsenter -t "$_t" -n "$@" </dev/null >/dev/null 2>&1 &
	echo "$! $(sed 's/.*) //' "/proc/$!/stat" | cut -d' ' -f20)" \
	    >>"$T_DIR/holders"
	RF_BG="$! $(sed 's/.*) //' "/proc/$!/stat" | cut -d' ' -f20)"
}

# rf_get PID ADDR:PORT: what the server at ADDR:PORT saw the request
# come from, asked from the namespace of PID.
rf_get() {
	nsenter -t "$1" -n busybox timeout 3 busybox wget -q -O - \
	    "http://$2/cgi-bin/ip" 2>/dev/null
}

# rf_with CONF PREV: CONF with prevResult PREV (a result file).
rf_with() {
	jq -c --slurpfile r "$2" '.prevResult = $r[0]' "$1"
}

# rf_run NAME: ADD, traffic, CHECK, DEL and traffic again for the
# reference chain (ref) or pelagos (pel); what was seen in $T_DIR/NAME.seen.
rf_run() {
	p=$(c_ns)
	rf_bg "$p" busybox httpd -f -p 80 -h "$T_DIR/www"
	srv=$RF_BG
	if [ "$1" = ref ]; then
		rf_cni 0 "$R_PLUGINS/bridge" ADD "$p" "$T_DIR/ref.json"
		cp "$OUT" "$T_DIR/ref.add0"
		rf_with "$T_DIR/pm.json" "$T_DIR/ref.add0" >"$T_DIR/pm.add.json"
		rf_cni 0 "$R_PLUGINS/portmap" ADD "$p" "$T_DIR/pm.add.json"
	else
		rf_cni 0 "$PELAGOS" ADD "$p" "$T_DIR/pel.json"
	fi
	cp "$OUT" "$T_DIR/$1.add"
	poll 5 eval 'rf_get "$W" "$HIP:$port" >/dev/null' ||
	    fail "$1: the published port never answered the world"
	{
		echo "world via port: $(rf_get "$W" "$HIP:$port")"
		echo "container to world: $(rf_get "$p" "$WIP:8080")"
	} >"$T_DIR/$1.seen"
	if [ "$1" = ref ]; then
		# Debian's portmap 1.1.1 fails its own CHECK without IPv6
		# ("could not check ipv6 dnat: chain ... not found"): only the
		# bridge's is asked.
		rf_with "$T_DIR/ref.json" "$T_DIR/ref.add" >"$T_DIR/chk.json"
		rf_cni 0 "$R_PLUGINS/bridge" CHECK "$p" "$T_DIR/chk.json"
		rf_with "$T_DIR/pm.json" "$T_DIR/ref.add" >"$T_DIR/chk.json"
		rf_cni 0 "$R_PLUGINS/portmap" DEL "$p" "$T_DIR/chk.json"
		rf_with "$T_DIR/ref.json" "$T_DIR/ref.add" >"$T_DIR/chk.json"
		rf_cni 0 "$R_PLUGINS/bridge" DEL "$p" "$T_DIR/chk.json"
	else
		rf_with "$T_DIR/pel.json" "$T_DIR/pel.add" >"$T_DIR/chk.json"
		rf_cni 0 "$PELAGOS" CHECK "$p" "$T_DIR/chk.json"
		rf_cni 0 "$PELAGOS" DEL "$p" "$T_DIR/chk.json"
	fi
	echo "after DEL: $(rf_get "$W" "$HIP:$port" || echo closed)" \
	    >>"$T_DIR/$1.seen"
	kill_recorded $srv
	c_kill_ns "$p"
}

t_cni_vs_reference_fw() {
	[ -x "$R_PLUGINS/bridge" ] && [ -x "$R_PLUGINS/host-local" ] &&
	    [ -x "$R_PLUGINS/portmap" ] ||
	    skip "containernetworking-plugins (with portmap) not installed"
	command -v jq >/dev/null 2>&1 || skip "jq not installed"
	command -v iptables >/dev/null 2>&1 || skip "iptables not installed"
	c_trap
	H=$(c_ns)
	W=$(c_ns)
	HIP=$NET.253 WIP=$NET.254
	port=$((40000 + $(printf %d "0x${BR#pt}") % 95 * 10 + 5))
	nsenter -t "$H" -n ip link add rfw0 type veth peer name rfw1 netns "$W" &&
	    nsenter -t "$H" -n ip addr add "$HIP/30" dev rfw0 &&
	    nsenter -t "$H" -n ip link set rfw0 up &&
	    nsenter -t "$H" -n ip link set lo up &&
	    nsenter -t "$W" -n ip addr add "$WIP/30" dev rfw1 &&
	    nsenter -t "$W" -n ip link set rfw1 up &&
	    nsenter -t "$W" -n ip link set lo up &&
	    nsenter -t "$W" -n ip route add default via "$HIP" ||
	    fail "the world's veth"
	mkdir -p "$T_DIR/www/cgi-bin"
	printf '#!/bin/sh\necho Content-Type: text/plain\necho\na=${REMOTE_ADDR#*:ffff:}\necho "${a%%%%]}"\n' \
	    >"$T_DIR/www/cgi-bin/ip"
	chmod 755 "$T_DIR/www/cgi-bin/ip"
	rf_bg "$W" busybox httpd -f -p "$WIP:8080" -h "$T_DIR/www"
	map="[{\"hostPort\":$port,\"containerPort\":80,\"protocol\":\"tcp\",\"hostIP\":\"$HIP\"}]"
	printf '{"cniVersion":"1.0.0","name":"tref","type":"bridge","bridge":"%s","isGateway":true,"isDefaultGateway":true,"ipMasq":true,"ipam":{"type":"host-local","ranges":[[{"subnet":"%s.0/25"}]],"dataDir":"%s/ref"}}\n' \
	    "$BR" "$NET" "$ROOT" >"$T_DIR/ref.json"
	printf '{"cniVersion":"1.0.0","name":"tref","type":"portmap","capabilities":{"portMappings":true},"runtimeConfig":{"portMappings":%s}}\n' \
	    "$map" >"$T_DIR/pm.json"
	printf '{"cniVersion":"1.0.0","name":"tref","type":"pelagos","bridge":"%s","subnet":"%s.0/25","isDefaultGateway":true,"ipMasq":true,"dataDir":"%s/cni","runtimeConfig":{"portMappings":%s}}\n' \
	    "$BR" "$NET" "$ROOT" "$map" >"$T_DIR/pel.json"
	rf_run ref
	rf_run pel
	note "reference: $(tr '\n' '|' <"$T_DIR/ref.seen")"
	note "pelagos:   $(tr '\n' '|' <"$T_DIR/pel.seen")"
	expect_eq "$(cat "$T_DIR/ref.seen")" "world via port: $WIP
container to world: $HIP
after DEL: closed" "what the reference does"
	expect_eq "$(cat "$T_DIR/pel.seen")" "$(cat "$T_DIR/ref.seen")" \
	    "pelagos against the reference"
	expect_eq "$(r_shape <"$T_DIR/pel.add")" "$(r_shape <"$T_DIR/ref.add")" \
	    "result shape"
	[ -z "$(ls -A "$ROOT/cni/tref/sandboxes" 2>/dev/null)" ] ||
	    fail "pelagos kept a firewall record"
}
