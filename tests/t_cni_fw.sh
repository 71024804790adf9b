# SPDX-License-Identifier: Apache-2.0
# pelagos as a CNI plugin with ipMasq, runtimeConfig.portMappings and
# subnet6: traffic with a "world" of the test's own (t_nat.sh's n_world:
# the host's world-facing address $WGW, the world's $WIP), ports published
# on $WGW only, in 40000-40999; the elements in the test's own nf_tables
# tables; a fault injected into every step of an ADD with them.
TESTS="$TESTS t_cni_masq_ports t_cni_ports_taken t_cni_fw_gc t_cni_fw_restore"
TESTS="$TESTS t_cni_fw_faults t_cni_dual_stack"

# Helpers are cf_-prefixed; c_* are t_cni.sh's, n_* t_nat.sh's.

# cf_world: the world, and a trap that removes the test's attachments,
# then the world, then the rest.
cf_world() {
	n_need_nft
	n_world
	trap '_crc=$?; c_cleanup "$_crc"; _crc=$?; n_cleanup; (exit $_crc); cleanup_test' EXIT
	CF_PORT=$N_PORT
}

# cf_conf [PORTS-ARRAY [EXTRA]]: the network on the pods' /25, with
# ipMasq and the port mappings given (none by default).
cf_conf() {
	printf '{"cniVersion":"1.0.0","name":"tnet","type":"pelagos","bridge":"%s","subnet":"%s.0/25","isDefaultGateway":true,"ipMasq":true,"dataDir":"%s","runtimeConfig":{"portMappings":%s}%s}\n' \
	    "$BR" "$NET" "$ROOT/cni" "${1:-[]}" "${2:-}" >"$T_DIR/conf.json"
}

# cf_map PORT [HOSTIP]: one mapping of PORT/tcp on HOSTIP ($WGW) to 80.
cf_map() {
	printf '[{"hostPort":%s,"containerPort":80,"protocol":"tcp","hostIP":"%s"}]' \
	    "$1" "${2:-$WGW}"
}

# cf_id: the ID the attachment's elements carry (its record's name).
cf_id() {
	ls "$ROOT/cni/tnet/sandboxes"
}

# cf_serve PID: the world's web server in the namespace of PID, on 80.
cf_serve() {
	nsenter -t "$1" -n busybox httpd -f -p 80 -h "$T_DIR/www" \
	    </dev/null >/dev/null 2>&1 &
	echo "$! $(sed 's/.*) //' "/proc/$!/stat" | cut -d' ' -f20)" \
	    >>"$T_DIR/holders"
}

# cf_get PID ADDR:PORT: what the server at ADDR:PORT says the request came
# from, asked from the namespace of PID.
cf_get() {
	nsenter -t "$1" -n busybox timeout 3 busybox wget -q -O - \
	    "http://$2/cgi-bin/ip" 2>/dev/null
}

# The container reaches the world as the host's world-facing address; the
# world reaches the container's server through the published port (and is
# seen as itself); the elements go with DEL, also when one of them went
# first (CHECK saw that).
t_cni_masq_ports() {
	cf_world
	cf_conf "$(cf_map "$CF_PORT")"
	p=$(c_ns)
	c_cni 0 ADD c1 "$p"
	ip=$(c_addr25)
	expect_eq "$(cf_get "$p" "$WIP:8080")" "$WGW" "source the world sees"
	expect_eq "$(cat /proc/sys/net/ipv4/ip_forward)" 1 "ip_forward after ADD"
	cf_serve "$p"
	poll 5 eval 'n_get "$WGW:$CF_PORT" world >/dev/null' ||
	    fail "published port $CF_PORT never answered the world"
	expect_eq "$(n_get "$WGW:$CF_PORT" world)" "$WIP" "world's request"
	n_get "$GW:$CF_PORT" world >/dev/null &&
	    fail "port $CF_PORT forwarded on $GW too"
	id=$(cf_id)
	nft list map inet "$PELAGOS_NFT_TABLE" ports |
	    grep -q "$WGW . tcp . $CF_PORT comment \"$id\" : $ip . 80" ||
	    fail "no port element: $(nft list map inet "$PELAGOS_NFT_TABLE" ports)"
	nft list set inet "$PELAGOS_NFT_TABLE" nat | grep -q "$ip comment \"$id\"" ||
	    fail "no nat element"
	# CHECK passes, then misses the port element deleted by hand.
	jq -c --slurpfile r "$OUT" '.prevResult = $r[0]' "$T_DIR/conf.json" \
	    >"$T_DIR/chk.json"
	c_cni 0 CHECK c1 "$p" eth0 "$T_DIR/chk.json"
	nft delete element inet "$PELAGOS_NFT_TABLE" ports "{ $WGW . tcp . $CF_PORT }"
	c_cni 1 CHECK c1 "$p" eth0 "$T_DIR/chk.json"
	c_code 101
	grep -q 'nftables elements' "$OUT" || fail "drift not named: $(cat "$OUT")"
	c_cni 0 DEL c1 "$p"
	expect_eq "$(n_elements "$id")" 0 "elements after DEL"
	[ -z "$(cf_id)" ] || fail "DEL kept the record $(cf_id)"
	c_cni 0 DEL c1 "$p"
	# Without ipMasq the world sees the container as itself.
	cf_conf
	sed 's/"ipMasq":true/"ipMasq":false/' "$T_DIR/conf.json" >"$T_DIR/plain.json"
	c_cni 0 ADD c2 "$p" eth0 "$T_DIR/plain.json"
	expect_eq "$(cf_get "$p" "$WIP:8080")" "$(c_addr25)" "source without ipMasq"
	[ -z "$(cf_id)" ] || fail "a plain attachment has a firewall record"
	c_cni 0 DEL c2 "$p" eth0 "$T_DIR/plain.json"
}

c_addr25() {
	sed -n 's/.*"address":"\([0-9.]*\)\/25".*/\1/p' "$OUT"
}

# A hostPort another attachment publishes, or a host socket holds, and a
# hostIP that is not the host's: code 7, and nothing is left.
t_cni_ports_taken() {
	cf_world
	cf_conf "$(cf_map "$CF_PORT")"
	p1=$(c_ns)
	p2=$(c_ns)
	c_cni 0 ADD c1 "$p1"
	id=$(cf_id)
	c_cni 1 ADD c2 "$p2"
	c_code 7
	grep -q "already published" "$OUT" || fail "not named: $(cat "$OUT")"
	expect_eq "$(cf_id)" "$id" "records after a refused ADD"
	expect_eq "$(ls "$ROOT/cni/tnet/leases" | wc -l | tr -d ' ')" 1 \
	    "leases after a refused ADD"
	nsenter -t "$p2" -n ip link show dev eth0 >/dev/null 2>&1 &&
	    fail "a refused ADD left eth0"
	c_cni 0 DEL c1 "$p1"
	# A host process's socket on the port.
	busybox httpd -f -p "$WGW:$((CF_PORT + 1))" -h "$T_DIR/www" \
	    </dev/null >/dev/null 2>&1 &
	echo "$! $(sed 's/.*) //' "/proc/$!/stat" | cut -d' ' -f20)" \
	    >>"$T_DIR/holders"
	cf_conf "$(cf_map $((CF_PORT + 1)))"
	poll 5 cf_listening $((CF_PORT + 1)) || fail "host httpd never listened"
	c_cni 1 ADD c3 "$p2"
	c_code 7
	# musl's text, or glibc's (the sanitizer build).
	grep -q -e "Address in use" -e "Address already in use" "$OUT" ||
	    fail "not named: $(cat "$OUT")"
	# 192.0.2.1 (TEST-NET-1) is no address of this host.
	cf_conf "$(cf_map "$CF_PORT" 192.0.2.1)"
	c_cni 1 ADD c3 "$p2"
	c_code 7
	# Port mappings that are no port mappings.
	for m in '[{"hostPort":0,"containerPort":80}]' \
	    '[{"hostPort":40001,"containerPort":80,"protocol":"sctp"}]' \
	    '[{"hostPort":"40001","containerPort":80}]' '{}' \
	    '[{"hostPort":40001,"containerPort":80,"hostIP":"::1"}]'; do
		cf_conf "$m"
		c_cni 1 ADD c3 "$p2"
		c_code 7
		grep -q 'runtimeConfig.portMappings=' "$OUT" ||
		    fail "$m: not named: $(cat "$OUT")"
	done
	c_clean || fail "left:$(c_leaks)"
	[ -z "$(cf_id)" ] || fail "records left: $(cf_id)"
	expect_eq "$(nft list table inet "$PELAGOS_NFT_TABLE" | grep -c "\"$BR\"")$(
	    nft list table bridge "$PELAGOS_NFT_TABLE" | grep -c '"pc-')" 00 \
	    "elements left"
}

# cf_listening PORT: a TCP socket listens on PORT (state 0A).
cf_listening() {
	grep -qi ":$(printf %04X "$1") [0-9A-F:]* 0A " /proc/net/tcp
}

# After the tables are gone (an admin's flush), the next ADD makes them
# again with the elements of every other attachment of the network.
t_cni_fw_restore() {
	cf_world
	cf_conf "$(cf_map "$CF_PORT")"
	p1=$(c_ns)
	p2=$(c_ns)
	c_cni 0 ADD r1 "$p1"
	r1=$(cf_id)
	[ "$(n_elements "$r1")" -gt 0 ] || fail "no elements after ADD"
	n_drop_tables
	expect_eq "$(n_elements "$r1")" 0 "elements with the tables gone"
	cf_conf "$(cf_map $((CF_PORT + 1)))"
	c_cni 0 ADD r2 "$p2"
	[ "$(n_elements "$r1")" -gt 0 ] || fail "r1's elements not restored"
	cf_serve "$p1"
	poll 5 eval 'n_get "$WGW:$CF_PORT" world >/dev/null' ||
	    fail "r1's published port does not answer after the restore"
	c_cni 0 DEL r2 "$p2"
	c_cni 0 DEL r1 "$p1"
	c_clean || fail "left:$(c_leaks)"
}

# GC frees the elements of every attachment not in the list, also of
# one whose namespace went without a DEL.
t_cni_fw_gc() {
	cf_world
	cf_conf "$(cf_map "$CF_PORT")"
	p1=$(c_ns)
	p2=$(c_ns)
	c_cni 0 ADD keep "$p1"
	keep=$(cf_id)
	cf_conf "$(cf_map $((CF_PORT + 1)))"
	c_cni 0 ADD leak "$p2"
	leak=$(cf_id | grep -v "$keep")
	c_kill_ns "$p2"
	cf_conf "[]" ',"cni.dev/valid-attachments":[{"containerID":"keep","ifname":"eth0"}]'
	sed -i 's/"cniVersion":"1.0.0"/"cniVersion":"1.1.0"/' "$T_DIR/conf.json"
	c_cni 0 GC "" -
	[ "$(n_elements "$keep")" -gt 0 ] || fail "GC freed a valid attachment's elements"
	expect_eq "$(n_elements "$leak")" 0 "the leak's elements after GC"
	expect_eq "$(cf_id)" "$keep" "records after GC"
	# A lease removed by hand, its namespace gone too: GC finds the
	# elements from their record alone.
	p3=$(c_ns)
	cf_conf "$(cf_map $((CF_PORT + 2)))"
	c_cni 0 ADD hand "$p3"
	hand=$(cf_id | grep -v "$keep")
	hip=$(C_PFX=25; c_addr)
	rm "$ROOT/cni/tnet/leases/${hip:?no address}"
	c_kill_ns "$p3"
	cf_conf "[]" ',"cni.dev/valid-attachments":[{"containerID":"keep","ifname":"eth0"},{"containerID":"hand","ifname":"eth0"}]'
	sed -i 's/"cniVersion":"1.0.0"/"cniVersion":"1.1.0"/' "$T_DIR/conf.json"
	c_cni 0 GC "" -
	expect_eq "$(n_elements "$hand")" 0 "elements of a lease removed by hand after GC"
	expect_eq "$(cf_id)" "$keep" "records after GC of a lease removed by hand"
	[ "$(n_elements "$keep")" -gt 0 ] || fail "GC freed a valid attachment's elements"
	sed -i 's/"cni.dev\/valid-attachments":\[.*\]/"cni.dev\/valid-attachments":[]/' \
	    "$T_DIR/conf.json"
	c_cni 0 GC "" -
	expect_eq "$(n_elements "$keep")" 0 "elements after GC of everything"
	[ -z "$(cf_id)" ] || fail "records left: $(cf_id)"
}

# Every syscall of an ADD with ipMasq and a port mapping from the port
# check on, each occurrence failed with EIO in turn, with the tables
# there and without: the ADD succeeds whole or leaves nothing, no element
# either.
t_cni_fw_faults() {
	f_need_strace
	[ -z "${ASAN_OPTIONS:-}" ] || skip "sanitizer build (ASAN_OPTIONS set)"
	cf_world
	cf_conf "$(cf_map "$CF_PORT")"
	p=$(c_ns)
	C_PFX=25
	points=0 failed=0 tolerated=0 bad=0 bad_list=""
	for tables in absent present; do
		[ "$tables" = absent ] && n_drop_tables
		c_traced -e signal=none
		[ "$rc" = 0 ] || fail "traced ADD exited $rc: $(cat "$OUT")"
		id=$(cf_id)
		c_cni 0 DEL c "$p"
		# The window: the port check's socket() to the end.
		awk 'match($0, /^[0-9]+ +[a-z_0-9]+\(/) {
			s = $0; sub(/^[0-9]+ +/, "", s); sub(/\(.*/, "", s)
			n[s]++
			if (s == "socket" && $0 ~ /AF_INET,/) in_fw = 1
			if (in_fw) print s, n[s]
		    }' "$T_DIR/strace" >"$T_DIR/window"
		[ -s "$T_DIR/window" ] || fail "no firewall steps in the trace"
		while read -r sys n; do
			case $F_EXCLUDE in *" $sys "*) continue ;; esac
			[ "$tables" = absent ] && n_drop_tables
			c_traced -e signal=none -e trace="$sys" \
			    -e inject="$sys:error=EIO:when=$n"
			cf_judge "$sys#$n/$tables"
			points=$((points + 1))
		done <"$T_DIR/window"
	done
	c_fault_verdict "CNI firewall"
}

# cf_judge POINT: t_cni.sh's c_judge, and no element nor record of the
# attachment left by a failed ADD (a whole one has its elements).
cf_judge() {
	_b=$bad
	[ "$rc" = 0 ] && [ "$(n_elements "$id")" = 0 ] &&
	    bad=$((bad + 1)) && note "FAULT $1: succeeded without elements"
	c_judge "$1"
	if [ "$(n_elements "$id")" != 0 ] || [ -n "$(cf_id)" ]; then
		c_cni 0 DEL c "$p"
		note "FAULT $1: elements or record left"
		bad=$((bad + 1))
	fi
	[ "$bad" = "$_b" ] || bad_list="$bad_list $1"
	return 0
}

# subnet6: both addresses in the result, on CNI_IFNAME, with a default
# route each; two attachments ping each other over IPv6; CHECK sees the
# IPv6 address or route gone; DEL and GC free both families with the
# lease.
t_cni_dual_stack() {
	c_trap
	c_conf 1.1.0 ",\"subnet6\":\"$NET6::/64\""
	p1=$(c_ns)
	p2=$(c_ns)
	c_cni 0 ADD d1 "$p1"
	grep -q '"ips":\[{"interface":2,"address":"'"$NET"'.2/24","gateway":"'"$GW"'"},{"interface":2,"address":"'"$NET6"'::2/64","gateway":"'"$NET6"'::1"}\],"routes":\[{"dst":"0.0.0.0/0","gw":"'"$GW"'"},{"dst":"::/0","gw":"'"$NET6"'::1"}\]' \
	    "$OUT" || fail "dual-stack result: $(cat "$OUT")"
	{ sed 's/}$/,"prevResult":/' "$T_DIR/conf.json" | tr -d '\n'
	  tr -d '\n' <"$OUT"; echo '}'; } >"$T_DIR/chk6.json"
	c_cni 0 ADD d2 "$p2"
	nsenter -t "$p1" -n ip -6 addr show dev eth0 | grep -q "inet6 $NET6::2/64 " ||
	    fail "eth0 lacks $NET6::2"
	nsenter -t "$p1" -n ip -6 route | grep -q "^default via $NET6::1 dev eth0" ||
	    fail "no IPv6 default route"
	poll 5 eval 'nsenter -t "$p1" -n ping -6 -c 1 -W 1 "$NET6::3" >/dev/null' ||
	    fail "$NET6::2 cannot reach $NET6::3"
	nsenter -t "$p2" -n ping -6 -c 1 -W 2 "$NET6::1" >/dev/null ||
	    fail "$NET6::3 cannot reach the gateway"
	# CHECK verifies the IPv6 side too: prevResult's address, the
	# default route, the address on eth0.
	c_cni 0 CHECK d1 "$p1" eth0 "$T_DIR/chk6.json"
	sed "s|\"$NET6::2/64\"|\"$NET6::9/64\"|" "$T_DIR/chk6.json" >"$T_DIR/chk6b.json"
	c_cni 1 CHECK d1 "$p1" eth0 "$T_DIR/chk6b.json"
	c_code 101
	sed 's|,{"interface":2,"address":"'"$NET6"'::2/64"[^}]*}||' \
	    "$T_DIR/chk6.json" >"$T_DIR/chk6b.json"
	grep -q "$NET6::2/64" "$T_DIR/chk6b.json" && fail "sed kept the IPv6 entry"
	c_cni 1 CHECK d1 "$p1" eth0 "$T_DIR/chk6b.json"
	c_code 101
	nsenter -t "$p1" -n ip -6 route del default || fail "route del"
	c_cni 1 CHECK d1 "$p1" eth0 "$T_DIR/chk6.json"
	c_code 101
	grep -q 'IPv6 address or route not as added' "$OUT" ||
	    fail "IPv6 drift not named: $(cat "$OUT")"
	nsenter -t "$p1" -n ip -6 route add default via "$NET6::1" dev eth0 ||
	    fail "route add"
	c_cni 0 CHECK d1 "$p1" eth0 "$T_DIR/chk6.json"
	nsenter -t "$p1" -n ip -6 addr del "$NET6::2/64" dev eth0 ||
	    fail "addr del"
	c_cni 1 CHECK d1 "$p1" eth0 "$T_DIR/chk6.json"
	c_code 101
	# 0.4.0 results name each address's version.
	c_conf 0.4.0 ",\"subnet6\":\"$NET6::/64\""
	sed -i 's/"isDefaultGateway":true,//' "$T_DIR/conf.json"
	c_cni 0 ADD d3 "$p1" net1
	grep -q '"ips":\[{"version":"4","interface":2,"address":"'"$NET"'.4/24",[^]]*},{"version":"6","interface":2,"address":"'"$NET6"'::4/64"' \
	    "$OUT" || fail "0.4.0 dual-stack result: $(cat "$OUT")"
	c_cni 0 DEL d3 "$p1" net1
	c_cni 0 DEL d1 "$p1"
	nsenter -t "$p1" -n ip -6 addr show 2>/dev/null | grep -q "$NET6::" &&
	    fail "DEL kept the IPv6 address"
	# The freed number is given again, in both families.
	c_cni 0 ADD d4 "$p1"
	grep -q "\"$NET6::2/64\"" "$OUT" || fail "not reused: $(cat "$OUT")"
	c_conf 1.1.0 ",\"subnet6\":\"$NET6::/64\",\"cni.dev/valid-attachments\":[]"
	c_cni 0 GC "" -
	poll 5 c_clean || fail "left after GC:$(c_leaks)"
	# A subnet6 too small for the subnet's host numbers, or no subnet.
	c_conf 1.1.0 ",\"subnet6\":\"$NET6::/120\",\"subnet\":\"10.254.0.0/16\""
	c_cni 1 ADD d5 "$p1"
	c_code 7
	grep -q "subnet6=\\\\\"$NET6::/120\\\\\" is invalid" "$OUT" ||
	    fail "not named: $(cat "$OUT")"
	c_conf 1.1.0 ',"subnet6":"10.0.0.0/8"'
	c_cni 1 ADD d5 "$p1"
	c_code 7
	c_clean || fail "left:$(c_leaks)"
}
