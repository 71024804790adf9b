# SPDX-License-Identifier: Apache-2.0
# The firewall: egress NAT, published ports, the egress allowlist,
# anti-spoofing and conntrack, in traffic with a "world" of the test's
# own; the tables' recovery after a flush; their failure modes.
TESTS="$TESTS t_nat_egress t_nat_publish t_nat_publish_all t_nat_allowlist"
TESTS="$TESTS t_nat_allowlist_ports"
TESTS="$TESTS t_nat_spoof t_nat_spoof6 t_nat_conntrack t_nat_flush t_nat_refused"
TESTS="$TESTS t_nat_no_nftables t_nat_fault_inject t_nat_table t_nat_unsupported"

# Helpers are n_-prefixed.  The world is a sandbox of a root of its own,
# on a bridge of its own with the /30 $NET.252/30: the host's
# world-facing address is $WGW, the world's $WIP.  The test's pods get
# $NET.0/25.  Traffic stays between these namespaces; ports are
# published on $WGW only, in 40000-40999.

n_need_nft() {
	command -v nft >/dev/null 2>&1 || skip "nft (nftables) not installed"
}

n_pelw() {
	PELAGOS_BRIDGE=$WBR PELAGOS_SUBNET=$NET.252/30 "$PELAGOS" \
	    --root "$WROOT" "$@"
}

n_cleanup() {
	if [ -n "${WROOT:-}" ]; then
		n_pelw sandbox rm -f world >/dev/null 2>&1
		link_exists "$WBR" && ip link del "$WBR" 2>/dev/null
		rm -rf "$WROOT"
	fi
	[ -n "${N_FWD:-}" ] && echo "$N_FWD" >/proc/sys/net/ipv4/ip_forward
	return 0
}

# n_world: the world, with a web server on 8080 and 8081 whose
# /cgi-bin/ip answers the address the request came from.
n_world() {
	N_FWD=$(cat /proc/sys/net/ipv4/ip_forward)
	WROOT=$T_DIR/world WBR=pw${BR#pt} WGW=$NET.253 WIP=$NET.254
	PELAGOS_SUBNET=$NET.0/25
	export PELAGOS_SUBNET
	N_PORT=$((40000 + $(printf %d "0x${BR#pt}") % 95 * 10))
	trap '_nrc=$?; n_cleanup; (exit $_nrc); cleanup_test' EXIT
	_wid=$(n_pelw sandbox create --name world) || fail "world: create failed"
	echo "$_wid" >>"$T_DIR/ids"
	mkdir -p "$T_DIR/www/cgi-bin"
	# A dual-stack server names an IPv4 client [::ffff:a.b.c.d].
	printf '#!/bin/sh\necho Content-Type: text/plain\necho\na=${REMOTE_ADDR#*:ffff:}\necho "${a%%%%]}"\n' \
	    >"$T_DIR/www/cgi-bin/ip"
	chmod 755 "$T_DIR/www/cgi-bin/ip"
	for _p in 8080 8081; do
		_s=$(n_pelw run -d --sandbox world -- busybox httpd -f \
		    -p "$WIP:$_p" -h "$T_DIR/www") || fail "world: httpd failed"
		echo "$_s $(sed 's/.*) //' "/proc/$_s/stat" | cut -d' ' -f20)" \
		    >>"$T_DIR/pids"
		poll 5 n_get "$WIP:$_p" >/dev/null ||
		    fail "world: no answer on $WIP:$_p"
	done
}

# n_get ADDR:PORT [SANDBOX [ROOT-CMD]]: the address the world's server
# saw the request come from, asked from the host or a sandbox.
n_get() {
	_cmd="busybox timeout 3 busybox wget -q -O - http://$1/cgi-bin/ip"
	case ${2:-} in
	"") $_cmd 2>/dev/null ;;
	world) n_pelw run --sandbox world -- $_cmd 2>/dev/null ;;
	*) pel run --sandbox "$2" -- $_cmd 2>/dev/null ;;
	esac
}

# n_elements ID: lines of the test's tables naming sandbox ID.
n_elements() {
	{ nft list table inet "$PELAGOS_NFT_TABLE"
	  nft list table bridge "$PELAGOS_NFT_TABLE"; } 2>/dev/null |
	    grep -c "$1"
}

# n_serve SANDBOX PORT: the world's kind of web server in a sandbox.
n_serve() {
	_s=$(pel run -d --sandbox "$1" -- busybox httpd -f -p "$2" \
	    -h "$T_DIR/www") || fail "httpd in $1 failed"
	echo "$_s $(sed 's/.*) //' "/proc/$_s/stat" | cut -d' ' -f20)" \
	    >>"$T_DIR/pids"
}

# Egress: a --nat sandbox reaches the world as the host's world-facing
# address; one without --nat reaches it as itself (the world routes back
# through the host).
t_nat_egress() {
	n_world
	n=$(create --name n --nat)
	p=$(create --name p)
	ip=$(skey "$p" eth0.ip)
	expect_eq "$(n_get "$WIP:8080" n)" "$WGW" "source the world sees of --nat"
	expect_eq "$(cat /proc/sys/net/ipv4/ip_forward)" 1 \
	    "ip_forward after a --nat create"
	expect_eq "$(n_get "$WIP:8080" p)" "${ip%/*}" \
	    "source the world sees without --nat"
	expect_eq "$(skey "$n" nat)" on "state key nat"
	run 0 pel sandbox inspect n
	grep -q '"nat":true' "$OUT" || fail "inspect lacks nat: $(cat "$OUT")"
	run 0 pel sandbox rm n p
	if command -v nft >/dev/null 2>&1; then
		expect_eq "$(n_elements "$n")" 0 "elements of n after rm"
	fi
}

# Published TCP and UDP ports on the world-facing address, reached from
# the world (which is seen as itself), from a sandbox on the bridge
# (hairpin: seen as the bridge's address) and from the host.
t_nat_publish() {
	n_world
	tcp=$N_PORT udp=$((N_PORT + 1))
	r0=$((N_PORT + 2)) r1=$((N_PORT + 3))
	srv=$(create --name srv -p "$WGW:$tcp:80" -p "$WGW:$udp:9000/udp" \
	    -p "$WGW:$r0-$r1:8000-8001")
	cli=$(create --name cli)
	n_serve srv 80
	n_serve srv 8001
	poll 5 eval 'n_get "$WGW:$r1" world >/dev/null' ||
	    fail "the range's port $r1 never answered the world"
	n_get "$WGW:$r0" world >/dev/null &&
	    fail "the range's port $r0 answered: nothing serves its 8000"
	poll 5 eval 'n_get "$WGW:$tcp" world >/dev/null' ||
	    fail "published port $tcp never answered the world"
	expect_eq "$(n_get "$WGW:$tcp" world)" "$WIP" "world's request"
	expect_eq "$(n_get "$WGW:$tcp" cli)" "$GW" "hairpin request"
	expect_eq "$(n_get "$WGW:$tcp")" "$WGW" "host's request"
	# Only on HOSTIP: the bridge's own address does not forward.
	n_get "$GW:$tcp" world >/dev/null &&
	    fail "port $tcp forwarded on $GW too"
	run 0 pel sandbox inspect srv
	grep -q "\"ports\":\\[\"$WGW:$tcp:80\",\"$WGW:$udp:9000/udp\",\"$WGW:$r0-$r1:8000-8001\"\\]" "$OUT" ||
	    fail "inspect ports: $(cat "$OUT")"
	if command -v socat >/dev/null 2>&1; then
		u=$(pel run -d --sandbox srv -- socat -u UDP-RECV:9000 \
		    "OPEN:$T_DIR/udp,creat,append") || fail "socat in srv failed"
		echo "$u $(sed 's/.*) //' "/proc/$u/stat" | cut -d' ' -f20)" \
		    >>"$T_DIR/pids"
		for from in world cli host; do
			n_udp() {
				case $from in
				host) echo "from-$from" | socat - "UDP:$WGW:$udp" ;;
				world) n_pelw run --sandbox world -- sh -c \
				    "echo from-$from | socat - UDP:$WGW:$udp" ;;
				*) pel run --sandbox "$from" -- sh -c \
				    "echo from-$from | socat - UDP:$WGW:$udp" ;;
				esac
				grep -q "from-$from" "$T_DIR/udp" 2>/dev/null
			}
			poll 5 n_udp || fail "UDP from $from never reached srv"
		done
	else
		note "socat not installed: UDP not checked"
	fi
	run 0 pel sandbox rm -f srv cli
	if command -v nft >/dev/null 2>&1; then
		expect_eq "$(n_elements "$srv")" 0 "elements of srv after rm"
	fi
}

# A port published on all of the host's addresses: only in the QEMU
# guest, whose only interfaces are the test's (this machine's eth0 must
# never see a published port).
t_nat_publish_all() {
	[ "${PELAGOS_TEST_GUEST:-}" = 1 ] ||
	    skip "publishing on all addresses runs in the QEMU guest only"
	n_world
	srv=$(create --name srv -p "$N_PORT:80")
	n_serve srv 80
	poll 5 eval 'n_get "$WGW:$N_PORT" world >/dev/null' ||
	    fail "port $N_PORT never answered on $WGW"
	expect_eq "$(n_get "$GW:$N_PORT" world)" "$WIP" "request to $GW"
	run 0 pel sandbox rm -f srv
}

# The allowlist: an allowed destination is reached, and a's published
# port answers any client; anything else a sends (to another sandbox on
# the bridge, to the host) is dropped and counted.
t_nat_allowlist() {
	n_world
	a=$(create --name a --nat --egress "$WIP/32" -p "$WGW:$N_PORT:80")
	b=$(create --name b)
	n_serve a 80
	n_serve b 80
	expect_eq "$(n_get "$WIP:8080" a)" "$WGW" "allowed destination"
	poll 5 eval 'n_get "$WGW:$N_PORT" world >/dev/null' ||
	    fail "a's published port never answered the world"
	bip=$(skey "$b" eth0.ip)
	pel run --sandbox a -- busybox timeout 2 busybox wget -q -O - \
	    "http://${bip%/*}/cgi-bin/ip" >/dev/null 2>&1 &&
	    fail "a reached b on the bridge"
	pel run --cap-add NET_RAW --sandbox a -- ping -c 1 -W 1 "$GW" >/dev/null 2>&1 &&
	    fail "a reached the host"
	expect_eq "$(n_get "$WGW:$N_PORT" b)" "$GW" \
	    "a's published port answering b, which is not in its list"
	expect_eq "$(n_get "${bip%/*}:80" world)" "$WIP" "b without allowlist"
	run 0 pel sandbox inspect a
	drops=$(sed -n 's/.*"egress_drops":\([0-9]*\).*/\1/p' "$OUT")
	[ -n "$drops" ] && [ "$drops" -gt 0 ] ||
	    fail "no drops counted: $(cat "$OUT")"
	grep -q "\"egress\":\\[\"$WIP/32\"\\]" "$OUT" ||
	    fail "inspect egress: $(cat "$OUT")"
	expect_eq "$(skey "$a" egress)" "$WIP/32" "state key egress"
	run 0 pel sandbox rm -f a b
}

# An allowlist of ports: c may reach the world's 8080 only, and its
# published port answers, but c cannot open a connection from it.
t_nat_allowlist_ports() {
	n_world
	c=$(create --name c --nat --egress "$WIP:8080/tcp" \
	    --egress "$WIP:5353-5354/udp" -p "$WGW:$N_PORT:8081" \
	    -p "$WGW:$((N_PORT + 1)):8082")
	n_serve c 8081
	expect_eq "$(n_get "$WIP:8080" c)" "$WGW" "allowed port"
	n_get "$WIP:8081" c >/dev/null && fail "c reached a port not in its list"
	poll 5 eval 'n_get "$WGW:$N_PORT" world >/dev/null' ||
	    fail "c's published port never answered the world"
	if command -v socat >/dev/null 2>&1; then
		pel run --sandbox c -- busybox timeout 3 socat -u - \
		    "TCP:$WIP:8081,sourceport=8082" </dev/null \
		    >/dev/null 2>&1 &&
		    fail "c opened a connection from its published port"
	else
		note "socat not installed: a connection from c's port not tried"
	fi
	run 0 pel sandbox inspect c
	grep -q "\"egress\":\\[\"$WIP:8080/tcp\",\"$WIP:5353-5354/udp\"\\]" "$OUT" ||
	    fail "inspect egress: $(cat "$OUT")"
	drops=$(sed -n 's/.*"egress_drops":\([0-9]*\).*/\1/p' "$OUT")
	[ -n "$drops" ] && [ "$drops" -gt 0 ] ||
	    fail "no drops counted: $(cat "$OUT")"
	run 0 pel sandbox rm -f c
	expect_eq "$(n_elements "$c")" 0 "elements of c after rm"
}

# Anti-spoofing: a sandbox that takes another's address cannot announce
# it (the host keeps the owner's MAC) nor send with it (its packets never
# reach the host's IP layer, where conntrack would see them).
t_nat_spoof() {
	[ -r /proc/net/nf_conntrack ] || skip "no /proc/net/nf_conntrack"
	a=$(create --name a)
	b=$(create --name b)
	expect_eq "$(skey "$a" antispoof)" on "state key antispoof"
	ai=$(skey "$a" eth0.ip) bi=$(skey "$b" eth0.ip)
	ai=${ai%/*} bi=${bi%/*}
	amac=$(mac_of "$ai")
	ping -c 1 -W 2 "$ai" >/dev/null || fail "host cannot ping a"
	pel run --privileged --sandbox b -- ping -c 1 -W 2 "$GW" >/dev/null ||
	    fail "b cannot ping the gateway"
	grep -q "src=$bi dst=$GW type=8 " /proc/net/nf_conntrack ||
	    fail "b's own ping left no conntrack entry"
	run 0 pel run --privileged --sandbox b -- ip addr add "$ai/25" dev eth0
	pel run --privileged --sandbox b -- arping -U -c 2 -I eth0 -s "$ai" "$ai" \
	    >/dev/null 2>&1
	pel run --privileged --sandbox b -- ping -c 2 -W 1 -I "$ai" "$GW" >/dev/null 2>&1
	grep -q "src=$ai dst=$GW type=8 " /proc/net/nf_conntrack &&
	    fail "a spoofed packet of b reached the host"
	ping -c 1 -W 2 "$ai" >/dev/null || fail "host lost a"
	ip neigh show "$ai" | grep -q "lladdr $amac" ||
	    fail "host's neighbour of $ai: $(ip neigh show "$ai"), want $amac"
	run 0 pel sandbox inspect b
	grep -q '"antispoof":true' "$OUT" || fail "inspect: $(cat "$OUT")"
	run 0 pel sandbox rm a b
}

# IPv6 anti-spoofing, on a network of the test's own: b cannot send from
# a's address, nor tell the host that a's address is at b's MAC; an
# advertisement of b's own address passes (the frame b crafts is one the
# host takes).
t_nat_spoof6() {
	[ -f /proc/net/if_inet6 ] || skip "no IPv6 in this kernel"
	command -v python3 >/dev/null 2>&1 || skip "python3 not installed"
	PELAGOS_SUBNET=$NET.0/26
	mknet n6 6 "$NET.128/25" --subnet6 "$NET6:6::/64"
	a=$(create --network n6)
	b=$(create --network n6)
	ai=$(skey "$a" eth0.ip6) bi=$(skey "$b" eth0.ip6) gw6=$NET6:6::1
	ai=${ai%/*} bi=${bi%/*}
	a4=$(skey "$a" eth0.ip) b4=$(skey "$b" eth0.ip)
	amac=$(mac_of "${a4%/*}") bmac=$(mac_of "${b4%/*}")
	brmac=$(cat "/sys/class/net/${BR}6/address")
	ping -6 -c 1 -W 2 "$ai" >/dev/null || fail "host cannot ping6 a"
	ping -6 -c 1 -W 2 "$bi" >/dev/null || fail "host cannot ping6 b"
	n_na() {
		nsenter --net="$(ns_of "$b")" python3 "$TESTS_DIR/na.py" eth0 \
		    "$bmac" "$brmac" "$1" "$gw6" "$2" "$3"
	}
	n_lladdr() {
		ip -6 neigh show "$1" dev "${BR}6" | sed -n 's/.* lladdr \([^ ]*\).*/\1/p'
	}
	n_na "$bi" "$bi" 02:00:00:00:00:99 || fail "na.py failed"
	poll 3 eval '[ "$(n_lladdr "$bi")" = 02:00:00:00:00:99 ]' ||
	    fail "the host took no advertisement of b's own address: $(n_lladdr "$bi")"
	n_na "$bi" "$ai" "$bmac"
	n_na "$ai" "$ai" "$bmac"
	ping -6 -c 1 -W 2 "$ai" >/dev/null || fail "host lost a"
	expect_eq "$(n_lladdr "$ai")" "$amac" "host's neighbour of $ai"
	# Link-local: a's own (the EUI-64 one of its MAC, in the set)
	# reaches b's; another fe80:: address put on a's eth0 does not.
	n_ll() {
		nsenter --net="$(ns_of "$1")" ip -6 -o addr show dev eth0 \
		    scope link | awk '{ sub(/\/.*/, "", $4); print $4 }'
	}
	all=$(n_ll "$a") bll=$(n_ll "$b")
	[ -n "$all" ] && [ -n "$bll" ] || fail "no link-local address: '$all' '$bll'"
	nft list set bridge "$PELAGOS_NFT_TABLE" src6 | grep -q "$all" ||
	    fail "$all not in src6: $(nft list set bridge "$PELAGOS_NFT_TABLE" src6)"
	nsenter --net="$(ns_of "$a")" ping -6 -c 1 -W 2 "$bll%eth0" >/dev/null ||
	    fail "a cannot reach b's link-local address from its own"
	# In its place, so that it is the source a's ping takes.
	nsenter --net="$(ns_of "$a")" sh -c "ip -6 addr del $all/64 dev eth0 &&
	    ip -6 addr add fe80::bad/64 dev eth0 nodad" || fail "cannot swap"
	nsenter --net="$(ns_of "$a")" ping -6 -c 1 -W 1 "$bll%eth0" \
	    >/dev/null && fail "a sent from a link-local address not its own"
	run 0 pel sandbox rm "$a" "$b"
	run 0 pel network rm n6
}

# Conntrack: once a sandbox is removed, no entry mentions its address.
t_nat_conntrack() {
	if [ -r /proc/net/nf_conntrack ]; then
		n_ct() { cat /proc/net/nf_conntrack; }
	elif command -v conntrack >/dev/null 2>&1; then
		n_ct() { conntrack -L 2>/dev/null; }
	else
		skip "neither /proc/net/nf_conntrack nor conntrack"
	fi
	n_world
	n=$(create --name n --nat)
	ip=$(skey "$n" eth0.ip)
	ip=${ip%/*}
	n_get "$WIP:8080" n >/dev/null || fail "n cannot reach the world"
	n_get "$WIP:8081" n >/dev/null
	n_ct | grep -q "src=$ip " || fail "no conntrack entry of $ip"
	run 0 pel sandbox rm n
	n_ct | grep -q "=$ip " && fail "after rm: $(n_ct | grep "=$ip ")"
	return 0
}

# A flushed ruleset (here: the test's own tables deleted, as an admin's
# `nft flush ruleset` would) is rebuilt by the next create, rm or prune,
# with every element of the root's sandboxes; another root's come back
# with that root's next command.
t_nat_flush() {
	n_need_nft
	n_world
	ROOT2=$T_DIR/root2
	trap '_nrc=$?; "$PELAGOS" --root "$ROOT2" sandbox rm -f d >/dev/null 2>&1;
	    rm -rf "$ROOT2"; n_cleanup; (exit $_nrc); cleanup_test' EXIT
	n_flush() {
		nft delete table inet "$PELAGOS_NFT_TABLE" &&
		    nft delete table bridge "$PELAGOS_NFT_TABLE" ||
		    fail "cannot delete the tables"
	}
	n_has() {
		for _i; do
			[ "$(n_elements "$_i")" -gt 0 ] ||
			    fail "elements of $_i missing after $what"
		done
	}
	a=$(create --name a --nat -p "$WGW:$N_PORT:80")
	b=$(create --name b)
	n_serve a 80
	n_flush
	what=create
	c=$(create --name c)
	n_has "$a" "$b" "$c"
	poll 5 eval 'n_get "$WGW:$N_PORT" world >/dev/null' ||
	    fail "a's published port lost with the flush"
	expect_eq "$(n_get "$WIP:8080" a)" "$WGW" "a's NAT after the flush"
	n_flush
	what=rm
	run 0 pel sandbox rm b
	n_has "$a" "$c"
	expect_eq "$(n_elements "$b")" 0 "elements of the removed b"
	n_flush
	what=prune
	run 0 pel sandbox prune
	n_has "$a" "$c"
	d=$("$PELAGOS" --root "$ROOT2" sandbox create --name d) ||
	    fail "create in a second root failed"
	echo "$d" >>"$T_DIR/ids"
	n_flush
	what="a create of the first root"
	e=$(create --name e)
	n_has "$a" "$c" "$e"
	expect_eq "$(n_elements "$d")" 0 "the other root's before its prune"
	what="the other root's prune"
	run 0 "$PELAGOS" --root "$ROOT2" sandbox prune
	n_has "$d"
	run 0 "$PELAGOS" --root "$ROOT2" sandbox rm d
	# One element deleted by hand: rm deletes the others one by one.
	f=$(create --name f --nat)
	fip=$(skey "$f" eth0.ip)
	nft delete element inet "$PELAGOS_NFT_TABLE" nat "{ ${fip%/*} }" ||
	    fail "cannot delete f's nat element"
	run 0 pel sandbox rm f
	expect_eq "$(n_elements "$f")" 0 "elements of f after rm"
	run 0 pel sandbox rm -f a c e
}

# What create refuses, with one line and nothing left: a port published
# already (by this root or another), one a host process has bound, a
# HOSTIP that is not the host's, words that do not parse, --host-net.
t_nat_refused() {
	n_world
	ROOT2=$T_DIR/root2
	trap '_nrc=$?; "$PELAGOS" --root "$ROOT2" sandbox rm -f x >/dev/null 2>&1;
	    rm -rf "$ROOT2"; n_cleanup; (exit $_nrc); cleanup_test' EXIT
	n_nothing() {
		[ "$(ls "$ROOT/sandboxes" | wc -l)" = "$1" ] ||
		    fail "$2 left a sandbox: $(ls "$ROOT/sandboxes")"
		[ ! -d "$ROOT2/sandboxes" ] || [ -z "$(ls "$ROOT2/sandboxes")" ] ||
		    fail "$2 left a sandbox in the second root"
		if command -v nft >/dev/null 2>&1; then
			expect_eq "$(nft list table inet "$PELAGOS_NFT_TABLE" |
			    grep -c comment)" "$3" "comments after $2"
		fi
	}
	a=$(create --name a -p "$WGW:$N_PORT:80" -p "$WGW:$((N_PORT + 1)):81/udp")
	base=$(nft list table inet "$PELAGOS_NFT_TABLE" 2>/dev/null |
	    grep -c comment)
	run 1 pel sandbox create -p "$WGW:$N_PORT:8080"
	one_error "publish $WGW:$N_PORT:8080: already published"
	n_nothing 1 "a port published twice" "$base"
	run 1 "$PELAGOS" --root "$ROOT2" sandbox create --name x \
	    -p "$WGW:$((N_PORT - 1)):80" -p "$WGW:$N_PORT:81/tcp"
	one_error "publish $WGW:$N_PORT:81/tcp: already published by another sandbox"
	rm -rf "$ROOT2"
	n_nothing 1 "a port of another root's" "$base"
	# A range: a's UDP port in its middle.
	run 1 pel sandbox create -p "$WGW:$N_PORT-$((N_PORT + 3)):90-93/udp"
	one_error "publish $WGW:$N_PORT-$((N_PORT + 3)):90-93/udp: already published"
	n_nothing 1 "a range over a published port" "$base"
	run 0 pel sandbox create -p "$WGW:$N_PORT:80/udp"
	echo "$(cat "$OUT")" >>"$T_DIR/ids"
	run 0 pel sandbox rm "$(cat "$OUT")"
	# A host process's socket on the port, on HOSTIP.
	busybox httpd -f -p "$WGW:$((N_PORT + 2))" -h "$T_DIR/www" &
	h=$!
	echo "$h $(sed 's/.*) //' "/proc/$h/stat" | cut -d' ' -f20)" >>"$T_DIR/pids"
	poll 5 eval 'n_get "$WGW:$((N_PORT + 2))" >/dev/null' ||
	    fail "the host's httpd never answered"
	run 1 pel sandbox create -p "$WGW:$((N_PORT + 2)):80"
	# musl's texts here, glibc's in the sanitizer build.
	one_error "publish $WGW:$((N_PORT + 2))/tcp: Address \(already \)\{0,1\}in use"
	n_nothing 1 "a port in use" "$base"
	kill "$h"
	run 1 pel sandbox create -p "10.255.255.254:$N_PORT:80"
	one_error "publish 10.255.255.254:$N_PORT/tcp: "
	grep -q -e 'Address not available' -e 'Cannot assign requested address' \
	    "$ERR" || fail "EADDRNOTAVAIL's text: $(cat "$ERR")"
	n_nothing 1 "a foreign HOSTIP" "$base"
	# Each with HOSTIP: were one taken, it would still be on $WGW only.
	for bad in "$WGW:0:80" "$WGW:70000:80" "$WGW:40001-40002:81" \
	    "$WGW:$N_PORT" "1.2.3:$N_PORT:80" "$WGW:$N_PORT:80/sctp" \
	    "$WGW:$N_PORT:80,$WGW:$N_PORT:81"; do
		run 2 pel sandbox create -p "$bad"
		one_error "invalid --publish"
	done
	run 2 pel sandbox create -p "$WGW:$N_PORT:80" -p "$WGW:$N_PORT-$((N_PORT + 1)):81-82"
	one_error "invalid --publish"
	for bad in 10.0.0.1/8 1.2.3.4/33 1.2.3.4:0 1.2.3.4:443/sctp \
	    1.2.3.4:2-1 nonsense; do
		run 2 pel sandbox create --egress "$bad"
		one_error "invalid --egress"
	done
	run 2 pel sandbox create --host-net --nat
	one_error "--host-net"
	n_nothing 1 "bad words" "$base"
	run 0 pel sandbox rm a
}

# n_nth SYSCALL PATTERN: the occurrence number, in the traced create's
# own process, of the first SYSCALL call whose line matches PATTERN.
n_nth() {
	grep "^$F_MPID " "$F_LOG" | grep " $1(" | grep -n -- "$2" | head -n 1 |
	    cut -d: -f1
}

# A kernel without nf_tables, as the netfilter socket() failing with
# EPROTONOSUPPORT shows it: a plain create works, without anti-spoofing;
# one with --nat fails, naming what the kernel lacks, leaving nothing.
t_nat_no_nftables() {
	f_need_strace
	N_FWD=$(cat /proc/sys/net/ipv4/ip_forward)
	trap '_nrc=$?; echo "$N_FWD" >/proc/sys/net/ipv4/ip_forward;
	    (exit $_nrc); cleanup_test' EXIT
	F_LOG=$T_DIR/strace
	for args in "--name plain" "--name nat --nat"; do
		F_STRACE="-e signal=none -e trace=socket,mkdirat,execve"
		# shellcheck disable=SC2086
		f_traced $args
		f_traced_wait 30 || fail "traced create hung"
		[ "$F_RC" = 0 ] || fail "traced create $args: $(cat "$ERR")"
		echo "$F_ID" >>"$T_DIR/ids"
		n=$(n_nth socket NETLINK_NETFILTER)
		[ -n "$n" ] || fail "create $args opened no netfilter socket"
		run 0 pel sandbox rm "$F_ID"
		f_strace_done || fail "pause outlived rm"
		F_STRACE="$F_STRACE -e inject=socket:error=EPROTONOSUPPORT"
		F_STRACE="$F_STRACE:when=$n"
		# shellcheck disable=SC2086
		f_traced $args
		f_traced_wait 30 || fail "create without nf_tables hung"
		[ -n "$F_ID" ] && echo "$F_ID" >>"$T_DIR/ids"
		case $args in
		*--nat*)
			[ "$F_RC" = 1 ] || fail "--nat without nf_tables exited $F_RC"
			one_error "need nf_tables in the kernel (CONFIG_NFT_NAT"
			f_strace_done || fail "a traced process outlived create"
			f_noleaks "$F_ID" || fail "left:$(f_leaks "$F_ID")"
			;;
		*)
			[ "$F_RC" = 0 ] || fail "plain create without nf_tables" \
			    "exited $F_RC: $(cat "$ERR")"
			expect_eq "$(skey "$F_ID" antispoof)" off "antispoof"
			expect_eq "$(skey "$F_ID" nft)" - "state key nft"
			run 0 pel sandbox inspect "$F_ID"
			grep -q '"antispoof":false' "$OUT" ||
			    fail "inspect: $(cat "$OUT")"
			run 0 pel sandbox rm "$F_ID"
			f_strace_done || fail "pause outlived rm"
			;;
		esac
		if command -v nft >/dev/null 2>&1; then
			expect_eq "$(n_elements "$F_ID")" 0 "elements of $F_ID"
		fi
	done
}

# Every syscall of the firewall's part of a create (from the checks of
# the published port to the pause), each occurrence failed with EIO in
# turn: with the tables absent (this create makes them) and present.
# The create exits 1 with one line and leaves nothing (nor the tables
# when it made them), or succeeds with a whole sandbox.
t_nat_fault_inject() {
	f_need_strace
	n_need_nft
	[ -z "${ASAN_OPTIONS:-}" ] || skip "sanitizer build (ASAN_OPTIONS set)"
	N_FWD=$(cat /proc/sys/net/ipv4/ip_forward)
	trap '_nrc=$?; echo "$N_FWD" >/proc/sys/net/ipv4/ip_forward;
	    (exit $_nrc); cleanup_test' EXIT
	port=$((40000 + $(printf %d "0x${BR#pt}") % 95 * 10))
	set -- --name fz --nat -p "$GW:$port:80" --egress "10.0.0.0/8"
	points=0 bad=0 tolerated=0
	# The bridge first: making it writes a sysctl, which would number
	# the later calls of the traced create one off.
	run 0 pel sandbox create --name warm
	run 0 pel sandbox rm warm
	for tables in absent present; do
		[ "$tables" = absent ] && n_drop_tables
		F_LOG=$T_DIR/strace
		F_STRACE="-e signal=none"
		f_traced "$@"
		f_traced_wait 30 || fail "traced create hung"
		[ "$F_RC" = 0 ] || fail "traced create: $(cat "$ERR")"
		echo "$F_ID" >>"$T_DIR/ids"
		run 0 pel sandbox rm "$F_ID"
		f_strace_done || fail "pause outlived rm"
		# The window: the port check's socket() to the next step's
		# fstat(); each call numbered as when= counts, per process.
		grep "^$F_MPID " "$F_LOG" | awk '
		    match($0, /^[0-9]+ +[a-z_0-9]+\(/) {
			s = $0; sub(/^[0-9]+ +/, "", s); sub(/\(.*/, "", s)
			n[s]++
			if (s == "socket" && $0 ~ /AF_INET,/) in_fw = 1
			if (s == "fstat" && in_fw) exit
			if (in_fw) print s, n[s]
		    }' >"$T_DIR/window"
		[ -s "$T_DIR/window" ] || fail "no firewall steps in the trace"
		while read -r sys n; do
			case $sys in close|exit|exit_group) continue ;; esac
			[ "$tables" = absent ] && n_drop_tables
			F_STRACE="-e signal=none -e trace=$sys,mkdirat,execve"
			F_STRACE="$F_STRACE -e inject=$sys:error=EIO:when=$n"
			f_traced "$@"
			f_traced_wait 30
			n_judge "$sys#$n/$tables"
			points=$((points + 1))
		done <"$T_DIR/window"
	done
	# A failure after the firewall's part (the state file) rolls back
	# the tables this create made too.
	n_drop_tables
	F_STRACE="-e signal=none"
	f_traced "$@"
	f_traced_wait 30 || fail "traced create hung"
	echo "$F_ID" >>"$T_DIR/ids"
	run 0 pel sandbox rm "$F_ID"
	f_strace_done || fail "pause outlived rm"
	n=$(grep "^$F_MPID " "$F_LOG" | grep 'openat(' | grep -n '"state.tmp", O_WRONLY' |
	    cut -d: -f1)
	[ -n "$n" ] || fail "no state.tmp in the trace"
	n_drop_tables
	F_STRACE="-e signal=none -e trace=openat,mkdirat,execve"
	F_STRACE="$F_STRACE -e inject=openat:error=EIO:when=$n"
	f_traced "$@"
	f_traced_wait 30
	tables=absent
	n_judge "openat#$n/state"
	points=$((points + 1))
	note "nat fault injection: $points points, $tolerated tolerated, $bad bad"
	echo "nat fault-injection points covered: $points"
	[ "$bad" -eq 0 ] || fail "$bad of $points points misbehaved"
}

# The tables gone, as on a host where no sandbox ran yet.
n_drop_tables() {
	nft delete table inet "$PELAGOS_NFT_TABLE" 2>/dev/null
	nft delete table bridge "$PELAGOS_NFT_TABLE" 2>/dev/null
	return 0
}

n_judge() {
	why=""
	[ -n "$F_ID" ] && echo "$F_ID" >>"$T_DIR/ids"
	case $F_RC in
	0)
		f_check_whole >"$T_DIR/why" 2>&1 || why="whole? $(cat "$T_DIR/why")"
		[ "$(n_elements "$F_ID")" -gt 0 ] || why="$why; no elements"
		pel sandbox rm "$F_ID" >/dev/null 2>"$T_DIR/rmerr" ||
		    why="$why; rm: $(cat "$T_DIR/rmerr")"
		tolerated=$((tolerated + 1))
		;;
	1)
		[ "$(wc -l <"$ERR")" -eq 1 ] && grep -q '^pelagos: ' "$ERR" ||
		    why="want one 'pelagos: ' line, got: $(tr '\n' '|' <"$ERR")"
		;;
	*)
		why="exit status $F_RC: $(tr '\n' '|' <"$ERR")"
		;;
	esac
	f_strace_done || why="$why; a traced process outlived the create"
	f_noleaks "$F_ID" || why="$why; left:$(f_leaks "$F_ID")"
	[ -n "$F_ID" ] && [ "$(n_elements "$F_ID")" -gt 0 ] &&
	    why="$why; elements left"
	if [ "$F_RC" != 0 ] && [ "$tables" = absent ] &&
	    nft list table inet "$PELAGOS_NFT_TABLE" >/dev/null 2>&1; then
		why="$why; the tables it made were left"
	fi
	if [ -n "$why" ]; then
		bad=$((bad + 1))
		note "FAULT $1: $why"
		f_scrub $F_ID
		n_drop_tables
	fi
	return 0
}

# The tables as nft shows them, as the README documents them: every
# chain, rule and set; no element once the sandbox is gone but the
# root's mark.
t_nat_table() {
	n_need_nft
	run 0 pel sandbox rm "$(create --name a)"
	{ nft list table inet "$PELAGOS_NFT_TABLE"
	  nft list table bridge "$PELAGOS_NFT_TABLE"; } |
	    sed "s/$PELAGOS_NFT_TABLE/pelagos/; /elements = { 0x[0-9a-f]* comment /d" \
	    >"$T_DIR/tables"
	awk '/^    table inet pelagos \{$/ { on = 1 }
	    on { sub(/^    /, ""); print } on && /^}$/ && ++n == 2 { exit }' \
	    "$TESTS_DIR/../README.md" | sed '/^\t*#/d; /elements = /d' \
	    >"$T_DIR/want"
	[ -s "$T_DIR/want" ] || fail "no tables in the README"
	diff -u "$T_DIR/want" "$T_DIR/tables" >"$T_DIR/diff" ||
	    fail "tables differ from the README: $(cat "$T_DIR/diff")"
}

# A kernel without nf_tables, for real: the QEMU guest runs this before
# it loads the modules (tests/initramfs-init.sh sets PELAGOS_TEST_NO_NFT).
t_nat_unsupported() {
	[ "${PELAGOS_TEST_NO_NFT:-}" = 1 ] ||
	    skip "runs in the QEMU guest before nf_tables is loaded"
	a=$(create --name a)
	expect_eq "$(skey "$a" antispoof)" off "antispoof without nf_tables"
	expect_eq "$(skey "$a" nft)" - "nft without nf_tables"
	run 1 pel sandbox create --nat
	one_error "need nf_tables in the kernel (CONFIG_NFT_NAT"
	expect_eq "$(ls "$ROOT/sandboxes")" "$a" "sandboxes after the refused --nat"
	run 0 pel sandbox rm a
}
