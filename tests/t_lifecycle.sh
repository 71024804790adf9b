# SPDX-License-Identifier: Apache-2.0
# create, ls and rm against real namespaces, links and processes.
TESTS="$TESTS t_create_contract t_state_file t_ls_table t_ls_json"
TESTS="$TESTS t_two_sandboxes_talk t_rm_removes_all t_ip_reuse t_full_subnet"
TESTS="$TESTS t_bridge_reuse t_not_a_bridge t_name_unique t_ip_netns"
TESTS="$TESTS t_ls_prune_stateless t_state_v1 t_ls_broken_netns t_ls_live_lock"

t_create_contract() {
	run 0 pel sandbox create --name web
	printf '%s' "$(cat "$OUT")" | grep -qx '[0-9a-f]\{16\}' ||
	    fail "stdout is not one ID: '$(cat "$OUT")'"
	[ "$(wc -l <"$OUT")" -eq 1 ] || fail "stdout has more than one line"
	[ -s "$ERR" ] && fail "stderr not empty: $(cat "$ERR")"
	id=$(cat "$OUT")
	echo "$id" >>"$T_DIR/ids"
	s8=$(echo "$id" | cut -c1-8)
	ns=/run/netns/psb-$s8
	pid=$(skey "$id" pause_pid)
	echo "$pid $(skey "$id" pause_start)" >>"$T_DIR/pids"

	# The bridge: up, with the gateway address.
	link_exists "$BR" || fail "bridge $BR missing"
	ip link show "$BR" | grep -q '[<,]UP[,>]' || fail "bridge not up"
	ip -4 addr show dev "$BR" | grep -q "inet $GW/24" ||
	    fail "bridge lacks $GW/24: $(ip -4 addr show dev "$BR")"

	# The named namespace, mounted the way ip netns add mounts it.
	[ -f "$ns" ] || fail "$ns missing"
	grep -q " $ns " /proc/self/mountinfo || fail "$ns is not a mount"
	grep " /run/netns " /proc/self/mountinfo | grep -q shared ||
	    fail "/run/netns is not a shared mount"

	# The veth: host end on the bridge and up, peer eth0 inside.
	[ -e "/sys/class/net/$BR/brif/vh-$s8" ] || fail "vh-$s8 not on $BR"
	expect_eq "$(($(cat /sys/class/net/vh-$s8/flags) & 1))" 1 "vh-$s8 IFF_UP"
	nsenter --net="$ns" ip -4 addr show dev eth0 >"$OUT" ||
	    fail "no eth0 in $ns"
	ip=$(skey "$id" eth0.ip)
	grep -q "inet $ip " "$OUT" || fail "eth0 lacks $ip: $(cat "$OUT")"
	nsenter --net="$ns" ip link show eth0 | grep -q '[<,]UP[,>]' ||
	    fail "eth0 not up"
	nsenter --net="$ns" ip link show lo | grep -q '[<,]UP[,>]' ||
	    fail "lo not up"
	nsenter --net="$ns" ip route show | grep -q "^default via $GW dev eth0" ||
	    fail "no default route via $GW: $(nsenter --net="$ns" ip route)"
	expect_eq "$(nsenter --net="$ns" ip -o link show | cut -d: -f2 | tr -d ' ' | sort | tr '\n' ' ')" \
	    "eth0@if$(cat /sys/class/net/vh-$s8/ifindex) lo " "links in the pod"

	# The pause: already in the namespace, with UTS and IPC of its own.
	alive "$pid" || fail "pause $pid not running"
	expect_eq "$(ino /proc/$pid/ns/net)" "$(ino "$ns")" "pause net namespace"
	[ "$(ino /proc/$pid/ns/uts)" != "$(ino /proc/self/ns/uts)" ] ||
	    fail "pause shares the host UTS namespace"
	[ "$(ino /proc/$pid/ns/ipc)" != "$(ino /proc/self/ns/ipc)" ] ||
	    fail "pause shares the host IPC namespace"
	expect_eq "$(ino /proc/$pid/ns/pid)" "$(ino /proc/self/ns/pid)" \
	    "pause pid namespace without --pod-pid"
	expect_eq "$(tr '\0' ' ' </proc/$pid/cmdline)" \
	    "pelagos sandbox __pause__ psb-$s8 --hostname web --ready-fd 3 " \
	    "pause command line"
	sid=$(sed 's/.*) //' /proc/$pid/stat | cut -d' ' -f4)
	expect_eq "$sid" "$pid" "pause session"
	expect_eq "$(readlink /proc/$pid/cwd)" "/" "pause cwd"
	for fd in 0 1 2; do
		expect_eq "$(readlink /proc/$pid/fd/$fd)" /dev/null "pause fd $fd"
	done
	# And the live lock: its state file, read-only.
	expect_eq "$(readlink /proc/$pid/fd/4)" "$ROOT/sandboxes/$id/state" \
	    "pause fd 4"
	fl=$(awk '$1 == "flags:" { print $2 }' "/proc/$pid/fdinfo/4")
	expect_eq "$((0$fl & 3))" 0 "access mode of pause fd 4 ($fl)"
	expect_eq "$(ls /proc/$pid/fd | wc -l)" 4 "pause open fds"
	expect_eq "$(nsenter --uts=/proc/$pid/ns/uts hostname)" web "pod hostname"
	run 0 pel sandbox rm web
}

t_state_file() {
	id=$(create --name st1)
	f=$ROOT/sandboxes/$id/state
	expect_eq "$(stat -c %a "$ROOT")" 700 "root mode"
	expect_eq "$(stat -c %a "$ROOT/sandboxes/$id")" 700 "state dir mode"
	expect_eq "$(stat -c %a "$f")" 600 "state file mode"
	expect_eq "$(cut -d' ' -f1 "$f" | tr '\n' ' ')" \
	    "pelagos-state id name net ipc pid ns_name interfaces eth0.network eth0.bridge eth0.veth eth0.mtu eth0.ip eth0.gateway eth0.ip6 eth0.gateway6 hostname pause_pid pause_start netns_ino created boot_id cgroup memory memory_swap cpu_quota pids_max cpu_weight nat ports egress nft antispoof " \
	    "state keys"
	# Read the way the README tells a shell script to.
	while read -r key value; do
		case $key in
		id) expect_eq "$value" "$id" id ;;
		name) expect_eq "$value" st1 name ;;
		pelagos-state) expect_eq "$value" 2 "format version" ;;
		interfaces) expect_eq "$value" 1 interfaces ;;
		eth0.network) expect_eq "$value" pelagos0 network ;;
		eth0.bridge) expect_eq "$value" "$BR" bridge ;;
		eth0.veth) expect_eq "$value" "vh-$(echo "$id" | cut -c1-8)" veth ;;
		eth0.gateway) expect_eq "$value" "$GW" gateway ;;
		eth0.ip) expect_eq "$value" "$NET.2/24" ip ;;
		eth0.ip6 | eth0.gateway6) expect_eq "$value" - "$key" ;;
		cgroup) [ "$PELAGOS_CGROUP_PARENT" = none ] ||
		    expect_eq "$value" "$PELAGOS_CGROUP_PARENT/$id" cgroup ;;
		memory) expect_eq "$value" - memory ;;
		esac
	done <"$f"
	expect_eq "$(readlink "$ROOT/leases/$NET.2")" "$id" "lease link"
	expect_eq "$(readlink "$ROOT/names/st1")" "$id" "name link"
	[ -e "$ROOT/sandboxes/$id/state.tmp" ] && fail "temporary file left"
	run 0 pel sandbox rm "$id"
}

t_ls_table() {
	run 0 pel sandbox ls
	[ -s "$OUT" ] && fail "ls of an empty root printed: $(cat "$OUT")"
	a=$(create --name alpha)
	b=$(create)
	run 0 pel sandbox ls
	expect_eq "$(head -n 1 "$OUT")" \
	    "ID                 NAME                 STATUS   IP               NS_NAME" \
	    "ls header"
	expect_eq "$(wc -l <"$OUT")" 3 "ls rows"
	first=$(printf '%s\n%s\n' "$a" "$b" | sort | head -n 1)
	expect_eq "$(sed -n 2p "$OUT" | cut -c1-16)" "$first" "ls sorted by ID"
	rowa=$(printf '%-18s %-20s %-8s %-16s %s' "$a" alpha running \
	    "$(skey "$a" eth0.ip | cut -d/ -f1)" "psb-$(echo "$a" | cut -c1-8)")
	rowb=$(printf '%-18s %-20s %-8s %-16s %s' "$b" - running \
	    "$(skey "$b" eth0.ip | cut -d/ -f1)" "psb-$(echo "$b" | cut -c1-8)")
	grep -qxF "$rowa" "$OUT" || fail "no row '$rowa' in: $(cat "$OUT")"
	grep -qxF "$rowb" "$OUT" || fail "no row '$rowb' in: $(cat "$OUT")"
	# A pause killed behind pelagos' back shows as dead.
	pid=$(skey "$b" pause_pid)
	kill -9 "$pid"
	poll 5 gone "$pid" || fail "pause $pid survived SIGKILL"
	run 0 pel sandbox ls
	grep "^$b " "$OUT" | grep -q ' dead ' || fail "killed pause not dead: $(cat "$OUT")"
	run 0 pel sandbox rm "$a" "$b"
	run 0 pel sandbox ls
	[ -s "$OUT" ] && fail "ls after rm printed: $(cat "$OUT")"
	return 0
}

t_ls_json() {
	run 0 pel sandbox ls --json
	expect_eq "$(cat "$OUT")" "[]" "ls --json of an empty root"
	a=$(create --name 'j.s-o_n')
	b=$(create)
	run 0 pel sandbox ls --json
	for id in "$a" "$b"; do
		s8=$(echo "$id" | cut -c1-8)
		if [ "$id" = "$a" ]; then name='"j.s-o_n"'; else name=null; fi
		ip=$(skey "$id" eth0.ip | cut -d/ -f1)
		obj="{\"id\":\"$id\",\"name\":$name,\"pause_pid\":$(skey "$id" pause_pid),\"ns_name\":\"psb-$s8\",\"veth_host\":\"vh-$s8\",\"container_ip\":\"$ip\",\"namespaces\":{\"network\":\"Pod\",\"pid\":\"Container\",\"ipc\":\"Pod\"},\"interfaces\":[{\"name\":\"eth0\",\"network\":\"pelagos0\",\"veth_host\":\"vh-$s8\",\"bridge\":\"$BR\",\"mac\":\"$(mac_of "$ip")\",\"mtu\":0,\"addresses\":[\"$ip/24\"],\"gateway\":\"$GW\",\"gateway6\":\"\"}],\"nat\":false,\"ports\":[],\"egress\":[]}"
		grep -qF "$obj" "$OUT" || fail "ls --json lacks $obj: $(cat "$OUT")"
	done
	expect_eq "$(head -c 1 "$OUT")" "[" "JSON array start"
	expect_eq "$(tail -c 2 "$OUT" | head -c 1)" "]" "JSON array end"
	expect_eq "$(grep -o '"id":' "$OUT" | wc -l)" 2 "JSON objects"
	# Only running sandboxes are listed.
	pid=$(skey "$b" pause_pid)
	kill -9 "$pid"
	poll 5 gone "$pid" || fail "pause survived SIGKILL"
	run 0 pel sandbox ls --json
	grep -q "$b" "$OUT" && fail "dead sandbox in ls --json"
	grep -q "$a" "$OUT" || fail "running sandbox missing from ls --json"
	run 0 pel sandbox rm "$a" "$b"
}

t_two_sandboxes_talk() {
	a=$(create)
	b=$(create)
	ipa=$(skey "$a" eth0.ip | cut -d/ -f1)
	ipb=$(skey "$b" eth0.ip | cut -d/ -f1)
	[ "$ipa" != "$ipb" ] || fail "both sandboxes got $ipa"
	nsa=/run/netns/psb-$(echo "$a" | cut -c1-8)
	# The first packet may wait on the bridge's port going to forwarding.
	poll 10 nsenter --net="$nsa" ping -c 1 -W 1 "$ipb" >/dev/null ||
	    fail "no ping from $ipa to $ipb"
	run 0 pel sandbox rm "$a" "$b"
}

t_rm_removes_all() {
	id=$(create --name gone)
	s8=$(echo "$id" | cut -c1-8)
	pid=$(skey "$id" pause_pid)
	ip=$(skey "$id" eth0.ip | cut -d/ -f1)
	run 0 pel sandbox rm gone
	[ -s "$OUT" ] && fail "rm printed: $(cat "$OUT")"
	[ -s "$ERR" ] && fail "rm warned: $(cat "$ERR")"
	gone "$pid" || fail "pause $pid still running"
	[ -e "/run/netns/psb-$s8" ] && fail "netns file left"
	grep -q "psb-$s8" /proc/self/mountinfo && fail "netns mount left"
	poll 5 eval "! link_exists vh-$s8" || fail "veth vh-$s8 left"
	[ -e "$ROOT/sandboxes/$id" ] && fail "state dir left"
	[ -e "$ROOT/leases/$ip" ] || [ -L "$ROOT/leases/$ip" ] && fail "lease left"
	[ -L "$ROOT/names/gone" ] && fail "name left"
	run 1 pel sandbox rm "$id"
	one_error "no such sandbox"
}

t_ip_reuse() {
	a=$(create)
	b=$(create)
	c=$(create)
	expect_eq "$(skey "$a" eth0.ip)" "$NET.2/24" "first address"
	expect_eq "$(skey "$b" eth0.ip)" "$NET.3/24" "second address"
	expect_eq "$(skey "$c" eth0.ip)" "$NET.4/24" "third address"
	run 0 pel sandbox rm "$b"
	d=$(create)
	expect_eq "$(skey "$d" eth0.ip)" "$NET.3/24" "freed address reused"
	run 0 pel sandbox rm "$a" "$c" "$d"
}

t_full_subnet() {
	export PELAGOS_SUBNET=$NET.0/30
	a=$(create)
	expect_eq "$(skey "$a" eth0.ip)" "$NET.2/30" "only address of a /30"
	run 1 pel sandbox create --name extra
	one_error "no free address in $NET.0/30"
	expect_eq "$(ls "$ROOT/sandboxes")" "$a" "sandboxes after a full subnet"
	[ -L "$ROOT/names/extra" ] && fail "failed create kept its name"
	expect_eq "$(ls /sys/class/net/$BR/brif)" "vh-$(echo "$a" | cut -c1-8)" \
	    "bridge ports after a full subnet"
	run 0 pel sandbox rm "$a"
}

# An existing bridge is reused and given the gateway address.
t_bridge_reuse() {
	ip link add "$BR" type bridge || fail "cannot make bridge"
	id=$(create)
	ip -4 addr show dev "$BR" | grep -q "inet $GW/24" ||
	    fail "existing bridge not given $GW"
	ip link show "$BR" | grep -q '[<,]UP[,>]' || fail "bridge not set up"
	id2=$(create)
	expect_eq "$(ip -4 addr show dev "$BR" | grep -c "inet $GW/")" 1 \
	    "gateway addresses on the bridge"
	run 0 pel sandbox rm "$id" "$id2"
}

t_not_a_bridge() {
	ip link add "$BR" type veth peer name "${BR}p" || fail "cannot make veth"
	run 1 pel sandbox create
	one_error "not a bridge"
	ip -4 addr show dev "$BR" | grep -q inet && fail "address added to a non-bridge"
	[ -n "$(ls "$ROOT/sandboxes")" ] && fail "state left: $(ls "$ROOT/sandboxes")"
	[ -n "$(ls "$ROOT/leases")" ] && fail "lease left"
	ip link del "$BR"
}

t_name_unique() {
	a=$(create --name dup)
	run 1 pel sandbox create --name dup
	one_error "name 'dup' is already in use"
	expect_eq "$(ls "$ROOT/sandboxes")" "$a" "sandboxes after a duplicate name"
	run 0 pel sandbox rm dup
	b=$(create --name dup)
	run 0 pel sandbox rm "$b"
}

t_ip_netns() {
	ip netns help 2>&1 | grep -q exec || skip "ip has no netns subcommand"
	id=$(create)
	s8=$(echo "$id" | cut -c1-8)
	ip netns list | grep -q "^psb-$s8" || fail "ip netns list lacks psb-$s8"
	ip netns exec "psb-$s8" ip -4 addr show dev eth0 | grep -q "$(skey "$id" eth0.ip)" ||
	    fail "ip netns exec does not see eth0's address"
	run 0 pel sandbox rm "$id"
}

# A create killed between claiming its ID and writing its state leaves a
# directory without a state file: ls shows it dead, prune removes it.
t_ls_prune_stateless() {
	keep=$(create --name keep)
	fake=0123456789abcdef
	mkdir -m 700 "$ROOT/sandboxes/$fake"
	ln -s "$fake" "$ROOT/leases/$NET.200"
	run 0 pel sandbox ls
	grep -qxF "$(printf '%-18s %-20s %-8s %-16s %s' "$fake" - dead - -)" "$OUT" ||
	    fail "stateless sandbox not shown dead: $(cat "$OUT")"
	run 0 pel sandbox ls --json
	grep -q "$fake" "$OUT" && fail "stateless sandbox in ls --json"
	run 0 pel sandbox prune
	expect_eq "$(cat "$OUT")" "$fake" "prune output"
	[ -e "$ROOT/sandboxes/$fake" ] && fail "prune left the directory"
	[ -L "$ROOT/leases/$NET.200" ] && fail "prune left its lease"
	alive "$(skey "$keep" pause_pid)" || fail "prune hurt a running sandbox"
	run 0 pel sandbox rm keep
}

# A sandbox whose state the previous release wrote (format version 1)
# is listed, run in, inspected and removed as any other: an upgrade
# needs no reboot.  One whose version 1 state says "creating" has no
# trusted pause: dead, and rm still finds its pause by its tag.
t_state_v1() {
	# The previous release made no cgroups.
	export PELAGOS_CGROUP_PARENT=none
	a=$(create --name old)
	b=$(create)
	for id in "$a" "$b"; do
		cp "$ROOT/sandboxes/$id/state" "$T_DIR/v2"
		state_v1 ready <"$T_DIR/v2" >"$ROOT/sandboxes/$id/state"
	done
	state_v1 creating <"$T_DIR/v2" >"$ROOT/sandboxes/$b/state"
	expect_eq "$(head -n 1 "$ROOT/sandboxes/$a/state")" "pelagos-state 1" \
	    "rewritten state version"
	grep -q '^creator_pid ' "$ROOT/sandboxes/$a/state" ||
	    fail "not a version 1 file"
	run 0 pel sandbox ls
	grep -q "^$a .* running " "$OUT" || fail "v1 sandbox not running: $(cat "$OUT")"
	grep -q "^$b .* dead " "$OUT" || fail "v1 creating sandbox not dead: $(cat "$OUT")"
	run 0 pel sandbox inspect old
	grep -q '"status":"running"' "$OUT" || fail "inspect of v1: $(cat "$OUT")"
	run 0 pel run --sandbox old hostname
	expect_eq "$(cat "$OUT")" old "hostname in a v1 sandbox"
	pb=$(skey "$b" pause_pid)
	run 0 pel sandbox rm old "$b"
	gone "$pb" || fail "rm left the pause of a v1 creating sandbox"
	[ -n "$(ls "$ROOT/sandboxes")" ] && fail "state left: $(ls "$ROOT/sandboxes")"
	return 0
}

# /run/netns/<ns> replaced by another namespace while the pause lives:
# ip netns exec would enter the other one, so the sandbox is broken, not
# running, and rm and prune remove it without touching the namespace now
# mounted there (here another sandbox's, whose pause must live on).
t_ls_broken_netns() {
	for how in prune rm; do
		id=$(create)
		id2=$(create)
		s8=$(echo "$id" | cut -c1-8)
		s8b=$(echo "$id2" | cut -c1-8)
		umount -l "/run/netns/psb-$s8" || fail "umount"
		mount --bind "/run/netns/psb-$s8b" "/run/netns/psb-$s8" ||
		    fail "bind"
		run 0 pel sandbox ls
		grep -q "^$id .* broken " "$OUT" || fail "not broken: $(cat "$OUT")"
		grep -q "^$id2 .* running " "$OUT" || fail "other: $(cat "$OUT")"
		run 0 pel sandbox inspect "$id"
		grep -q '"status":"broken"' "$OUT" || fail "inspect: $(cat "$OUT")"
		run 0 pel sandbox ls --json
		grep -q "$id" "$OUT" && fail "a broken sandbox in ls --json"
		pid=$(skey "$id" pause_pid)
		pid2=$(skey "$id2" pause_pid)
		if [ "$how" = prune ]; then
			run 0 pel sandbox prune
			expect_eq "$(cat "$OUT")" "$id" "prune of a broken sandbox"
		else
			run 0 pel sandbox rm "$id"
		fi
		gone "$pid" || fail "$how left the pause of a broken sandbox"
		alive "$pid2" || fail "$how killed the pause of the namespace mounted there"
		[ -e "/run/netns/psb-$s8" ] && fail "$how left /run/netns/psb-$s8"
		run 0 pel sandbox ls
		grep -q "^$id2 .* running " "$OUT" || fail "after $how: $(cat "$OUT")"
		run 0 pel sandbox rm "$id2"
	done
}

# ls asks the live lock, not /proc, whether a pause lives: the pause holds
# an OFD read lock on its state file's inode, which the kernel drops when
# it exits.  A state without it (a pause of an earlier release) is asked
# about through /proc, as before.
t_ls_live_lock() {
	a=$(create)
	b=$(create --pod-pid)
	pa=$(skey "$a" pause_pid)
	pb=$(skey "$b" pause_pid)
	expect_eq "$(readlink /proc/$pb/fd/4)" "$ROOT/sandboxes/$b/state" \
	    "the live lock of a --pod-pid sandbox's PID 1"
	ppb=$(sed 's/.*) //' "/proc/$pb/stat" | cut -d' ' -f2)
	[ -e "/proc/$ppb/fd/4" ] && fail "the waiting pause holds fd 4"
	grep -q "OFD.*READ" /proc/locks || fail "no OFD read lock listed"
	# Which files ls opens, where strace is (not in the initramfs).
	tr=""
	command -v strace >/dev/null 2>&1 &&
	    tr="strace -qq -e trace=%file -o $T_DIR/ls.trace"
	: >"$T_DIR/ls.trace"
	$tr "$PELAGOS" --root "$ROOT" sandbox ls >"$OUT" 2>"$ERR" ||
	    fail "ls: $(cat "$ERR")"
	grep -q "^$a .* running " "$OUT" || fail "a: $(cat "$OUT")"
	grep -q "^$b .* running " "$OUT" || fail "b: $(cat "$OUT")"
	grep -q '"/proc/[0-9]' "$T_DIR/ls.trace" && fail "ls of live pauses" \
	    "read /proc: $(grep '/proc/[0-9]' "$T_DIR/ls.trace")"
	# A new inode at state carries no lock: /proc answers for a.
	f=$ROOT/sandboxes/$a/state
	cp "$f" "$f.x" && mv "$f.x" "$f" || fail "cannot copy the state"
	$tr "$PELAGOS" --root "$ROOT" sandbox ls >"$OUT" 2>"$ERR"
	grep -q "^$a .* running " "$OUT" || fail "a without lock: $(cat "$OUT")"
	[ -z "$tr" ] || grep -q "\"/proc/$pa/stat\"" "$T_DIR/ls.trace" ||
	    fail "no /proc/$pa/stat read for a state without its lock"
	kill -9 "$pa" "$pb"
	poll 5 gone "$pa" && poll 5 gone "$pb" || fail "pauses survived SIGKILL"
	run 0 pel sandbox ls
	grep -q "^$a .* dead " "$OUT" || fail "a after SIGKILL: $(cat "$OUT")"
	grep -q "^$b .* dead " "$OUT" || fail "b after SIGKILL: $(cat "$OUT")"
	run 0 pel sandbox prune
	expect_eq "$(sort "$OUT" | tr '\n' ' ')" "$(printf '%s\n' "$a" "$b" | sort |
	    tr '\n' ' ')" "prune of both"
}
