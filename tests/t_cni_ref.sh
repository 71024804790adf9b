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
