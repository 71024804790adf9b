# SPDX-License-Identifier: Apache-2.0
# Nothing pelagos does may hurt what is not its own: identity across
# boots, locks against races, output failures, hostile files in the
# root, honest errors, and a gateway that keeps its MAC.  Races are
# widened with strace's delay injection, never with sleeps in pelagos.
TESTS="$TESTS t_trust_recycled_inode t_trust_boot_id t_trust_boot_reclaim"
TESTS="$TESTS t_trust_run_vs_rm t_trust_rm_rm_create t_trust_claim_window"
TESTS="$TESTS t_trust_sigpipe t_trust_closed_fds t_trust_hostile_state"
TESTS="$TESTS t_trust_symlinked_dirs t_trust_wrong_links t_trust_empty_root"
TESTS="$TESTS t_trust_full_root t_trust_readonly_root t_trust_gateway_mac"

# Helpers are tr_-prefixed: every t_*.sh is sourced into one shell.

tr_start() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

# tr_keep PID: a process of the test's own, killed at the end by the
# recorded PID and start time only.
tr_keep() {
	echo "$1 $(tr_start "$1")" >>"$T_DIR/pids"
}

tr_need_strace() {
	command -v strace >/dev/null 2>&1 || skip "strace not installed"
	strace -f -q -o /dev/null -e trace=getpid \
	    -e inject=getpid:delay_enter=1:when=1 true 2>/dev/null ||
	    skip "strace cannot inject delays here"
}

# tr_set ID KEY VALUE: rewrite one value of a state file.
tr_set() {
	sed "s/^$2 .*/$2 $3/" "$ROOT/sandboxes/$1/state" >"$T_DIR/st.new" &&
	    cat "$T_DIR/st.new" >"$ROOT/sandboxes/$1/state"
}

# A sandbox's namespace gone (as a reboot with a persistent root leaves
# it) and its inode taken by an unrelated namespace: rm -f must not take
# that namespace's process for the sandbox's (the kernel hands namespace
# inodes out lowest first).
t_trust_recycled_inode() {
	a=$(create)
	want=$(skey "$a" netns_ino)
	pa=$(skey "$a" pause_pid)
	s8=$(echo "$a" | cut -c1-8)
	kill -9 "$pa"
	poll 5 gone "$pa" || fail "pause survived SIGKILL"
	umount -l "/run/netns/psb-$s8" && rm -f "/run/netns/psb-$s8" ||
	    fail "cannot remove /run/netns/psb-$s8"
	hit="" n=0
	host=$(ino /proc/self/ns/net)
	while [ -z "$hit" ] && [ "$n" -lt 60 ]; do
		unshare -n sleep 600 </dev/null >/dev/null 2>&1 &
		p=$!
		tr_keep "$p"
		poll 5 eval '[ "$(ino /proc/$p/ns/net 2>/dev/null)" != "$host" ]' ||
		    fail "unshare -n never left the host namespace"
		if [ "$(ino /proc/$p/ns/net)" = "$want" ]; then
			hit=$p
		else
			kill "$p"
		fi
		n=$((n + 1))
	done
	[ -n "$hit" ] || skip "the kernel did not reuse inode $want in $n namespaces"
	note "inode $want reused after $n namespaces by pid $hit"
	b=$(create)
	run 0 pel sandbox ls
	grep -q "^$a .* dead " "$OUT" || fail "not dead: $(cat "$OUT")"
	run 0 pel sandbox rm "$a"
	run 0 pel sandbox rm -f "$a"
	alive "$hit" || fail "rm -f killed a process whose namespace reused the sandbox's inode"
	alive "$(skey "$b" pause_pid)" || fail "rm -f hurt another sandbox"
	run 0 pel sandbox rm "$b"
	kill "$hit"
}

# The boot ID is recorded; a sandbox of an earlier boot is dead, whatever
# its PID, start time and namespace inode say (here they name a live
# process of this boot), run refuses it, and rm never touches that
# process.
t_trust_boot_id() {
	id=$(create --name boot1)
	expect_eq "$(skey "$id" boot_id)" "$(cat /proc/sys/kernel/random/boot_id)" \
	    "recorded boot ID"
	run 0 pel sandbox ls
	grep -q "^$id .* running " "$OUT" || fail "not running: $(cat "$OUT")"
	sleep 1000 </dev/null >/dev/null 2>&1 &
	h=$!
	tr_keep "$h"
	tr_set "$id" boot_id 00000000-0000-4000-8000-000000000000
	tr_set "$id" pause_pid "$h"
	tr_set "$id" pause_start "$(tr_start "$h")"
	tr_set "$id" netns_ino "$(ino /proc/$h/ns/net)"
	run 0 pel sandbox ls
	grep -q "^$id .* dead " "$OUT" || fail "earlier boot not dead: $(cat "$OUT")"
	run 1 pel run --sandbox boot1 touch "$T_DIR/ran"
	one_error "sandbox boot1 is not running"
	[ -e "$T_DIR/ran" ] && fail "CMD ran in a sandbox of an earlier boot"
	run 0 pel sandbox rm -f boot1
	alive "$h" || fail "rm -f killed the process an earlier boot's state names"
	kill "$h"
}

# create --name reclaims a name held by a sandbox of an earlier boot,
# removing that sandbox as prune would.
t_trust_boot_reclaim() {
	old=$(create --name web)
	pold=$(skey "$old" pause_pid)
	ipold=$(skey "$old" ip | cut -d/ -f1)
	tr_set "$old" boot_id 00000000-0000-4000-8000-000000000000
	run 0 pel sandbox create --name web
	new=$(cat "$OUT")
	echo "$new" >>"$T_DIR/ids"
	[ "$new" != "$old" ] || fail "the same ID again"
	[ -e "$ROOT/sandboxes/$old" ] && fail "the earlier boot's sandbox is still there"
	poll 5 gone "$pold" || fail "its pause (found by its tag) still runs"
	expect_eq "$(readlink "$ROOT/names/web")" "$new" "name link"
	expect_eq "$(skey "$new" ip | cut -d/ -f1)" "$ipold" "the freed address reused"
	run 0 pel sandbox ls
	expect_eq "$(grep -c ' running ' "$OUT")" 1 "running sandboxes"
	run 0 pel sandbox rm web
}

# A run that joins while rm tears the sandbox down: rm is held at the
# moment it would stop the pause (after its scan); the run started then
# must fail cleanly or be gone when rm has exited 0.
t_trust_run_vs_rm() {
	tr_need_strace
	id=$(create --name race)
	strace -q -o "$T_DIR/rm.trace" -e trace=pidfd_open,pidfd_send_signal \
	    -e inject=pidfd_send_signal:delay_enter=2000000:when=1 \
	    "$PELAGOS" --root "$ROOT" sandbox rm race >"$T_DIR/rm.out" 2>&1 &
	rmp=$!
	poll 10 grep -q 'pidfd_open(' "$T_DIR/rm.trace" ||
	    fail "rm never reached its pause: $(cat "$T_DIR/rm.trace")"
	pel run -d --sandbox race sleep 600 >"$T_DIR/run.out" 2>"$T_DIR/run.err" &
	runp=$!
	wait "$rmp"
	rmrc=$?
	wait "$runp"
	runrc=$?
	expect_eq "$rmrc" 0 "rm exit status ($(cat "$T_DIR/rm.out"))"
	if [ "$runrc" = 0 ]; then
		w=$(cat "$T_DIR/run.out")
		tr_keep "$w"
		alive "$w" && fail "a workload that joined during rm survived it"
	else
		grep -q "^pelagos: run: " "$T_DIR/run.err" ||
		    fail "run failed without its one line: $(cat "$T_DIR/run.err")"
	fi
	note "run during rm: exit $runrc, $(cat "$T_DIR/run.err")"
	s8=$(echo "$id" | cut -c1-8)
	[ -e "/run/netns/psb-$s8" ] && fail "netns left"
	poll 5 eval "! link_exists vh-$s8" || fail "veth left"
	return 0
}

# Two rm's of one sandbox racing a create: the first is held between
# reading its lease and freeing it, while the second rm and then a create
# run; no two sandboxes may end up with one address.
t_trust_rm_rm_create() {
	tr_need_strace
	a=$(create)
	ipa=$(skey "$a" ip | cut -d/ -f1)
	strace -q -o "$T_DIR/rm1.trace" -e trace=readlinkat,unlinkat \
	    -e inject=unlinkat:delay_enter=2000000:when=1 \
	    "$PELAGOS" --root "$ROOT" sandbox rm "$a" >/dev/null 2>&1 &
	rm1=$!
	poll 10 grep -q 'readlinkat(' "$T_DIR/rm1.trace" ||
	    fail "rm never read its lease"
	# The second rm and then a create, each to its end (while the first
	# rm is held, if nothing holds them back).
	pel sandbox rm "$a" >/dev/null 2>&1
	c=$(create)
	wait "$rm1"
	d=$(create)
	ipc=$(skey "$c" ip | cut -d/ -f1)
	ipd=$(skey "$d" ip | cut -d/ -f1)
	[ "$ipc" != "$ipd" ] || fail "two sandboxes got $ipc"
	for l in "$ROOT"/leases/*; do
		o=$(readlink "$l")
		expect_eq "$(skey "$o" ip | cut -d/ -f1)" "${l##*/}" "lease ${l##*/} -> $o"
	done
	[ -e "$ROOT/sandboxes/$a" ] && fail "the removed sandbox is back"
	run 0 pel sandbox rm "$c" "$d"
}

# rm and ls in a create's claim window (directory made, its lock not yet
# taken): ls never shows it dead, rm never tears it down, and the create
# reports a whole sandbox.
t_trust_claim_window() {
	tr_need_strace
	strace -q -o "$T_DIR/c.trace" -e trace=flock,mkdirat,unshare \
	    -e inject=flock:delay_enter=2000000:when=2 \
	    -e inject=unshare:delay_enter=1000000:when=1 \
	    "$PELAGOS" --root "$ROOT" sandbox create --name cw >"$T_DIR/c.id" \
	    2>"$T_DIR/c.err" &
	cp=$!
	getid() {
		id=$(sed -n 's/.*mkdirat([0-9]*, "\([0-9a-f]\{16\}\)", 0700) *= 0$/\1/p' \
		    "$T_DIR/c.trace" | tail -n 1)
		[ -n "$id" ]
	}
	poll 10 getid || fail "create never made its directory"
	echo "$id" >>"$T_DIR/ids"
	run 0 pel sandbox ls
	grep "^$id " "$OUT" | grep -q ' dead ' &&
	    fail "ls shows a sandbox being claimed as dead: $(cat "$OUT")"
	pel sandbox rm "$id" >"$T_DIR/rm.out" 2>&1
	rmrc=$?
	wait "$cp" || fail "create failed: $(cat "$T_DIR/c.err")"
	expect_eq "$(cat "$T_DIR/c.id")" "$id" "created ID"
	expect_eq "$rmrc" 1 "rm during the claim ($(cat "$T_DIR/rm.out"))"
	grep -q "still being created" "$T_DIR/rm.out" ||
	    fail "rm during the claim: $(cat "$T_DIR/rm.out")"
	run 0 pel sandbox ls
	grep -q "^$id .* running " "$OUT" || fail "not running: $(cat "$OUT")"
	run 0 pel sandbox rm cw
}

# create | true: the reader is gone when the ID is written (create is
# held at its start until then); the create fails and nothing is left.
t_trust_sigpipe() {
	tr_need_strace
	{
		strace -q -o /dev/null -e trace=getrandom \
		    -e inject=getrandom:delay_enter=500000:when=1 \
		    "$PELAGOS" --root "$ROOT" sandbox create --name sp 2>"$ERR"
		echo $? >"$T_DIR/rc"
	} | true
	expect_eq "$(cat "$T_DIR/rc")" 1 "create into a closed pipe"
	one_error "write ID"
	[ -n "$(ls "$ROOT/sandboxes" 2>/dev/null)" ] &&
	    fail "left: $(ls "$ROOT/sandboxes")"
	[ -L "$ROOT/names/sp" ] && fail "name left"
	return 0
}

# Started with stdout or stderr closed, pelagos works (the descriptors
# are /dev/null); they are never taken by a socket or a signalfd.
t_trust_closed_fds() {
	pel sandbox create --name cl >&-
	expect_eq "$?" 0 "create with stdout closed"
	id=$(readlink "$ROOT/names/cl")
	echo "$id" >>"$T_DIR/ids"
	run 0 pel sandbox ls
	grep -q "^$id .* running " "$OUT" || fail "not running: $(cat "$OUT")"
	pel sandbox ls 2>&- >"$OUT"
	expect_eq "$?" 0 "ls with stderr closed"
	pel sandbox rm nosuch 2>&-
	expect_eq "$?" 1 "a failing rm with stderr closed"
	pel sandbox rm cl <&- >&- 2>&-
	expect_eq "$?" 0 "rm with stdin, stdout and stderr closed"
	[ -e "$ROOT/sandboxes/$id" ] && fail "rm left the state"
	return 0
}

# A FIFO, a device node or a directory in the place of a state file: no
# command blocks, each shows broken, rm -f and prune remove it.
t_trust_hostile_state() {
	for kind in fifo dev dir; do
		id=$(create)
		st=$ROOT/sandboxes/$id/state
		pid=$(skey "$id" pause_pid)
		rm -f "$st"
		case $kind in
		fifo) mkfifo "$st" ;;
		dev) mknod "$st" c 1 3 ;;
		dir) mkdir "$st" && : >"$st/x" ;;
		esac || fail "cannot make a $kind state"
		run 0 timeout 10 "$PELAGOS" --root "$ROOT" sandbox ls
		grep -q "^$id .* broken " "$OUT" || fail "$kind: not broken: $(cat "$OUT")"
		run 0 timeout 10 "$PELAGOS" --root "$ROOT" sandbox ls --json
		run 1 timeout 10 "$PELAGOS" --root "$ROOT" sandbox inspect "$id"
		one_error "state of sandbox $id"
		run 1 timeout 10 "$PELAGOS" --root "$ROOT" run --sandbox "$id" true
		one_error
		if [ "$kind" = dir ]; then
			kill -9 "$pid"
			poll 5 gone "$pid" || fail "pause survived SIGKILL"
			run 0 timeout 10 "$PELAGOS" --root "$ROOT" sandbox prune
			expect_eq "$(cat "$OUT")" "$id" "prune of a $kind state"
		else
			run 0 timeout 10 "$PELAGOS" --root "$ROOT" sandbox rm -f "$id"
			gone "$pid" || fail "$kind: rm -f left the pause"
		fi
		[ -e "$ROOT/sandboxes/$id" ] && fail "$kind: the directory is left"
	done
	return 0
}

# A symlink at sandboxes/, leases/ or names/ is refused, never followed
# into another root.
t_trust_symlinked_dirs() {
	a=$(create --name keep)
	pa=$(skey "$a" pause_pid)
	r2=$T_DIR/root2
	for d in sandboxes leases names; do
		rm -rf "$r2"
		mkdir -p "$r2/sandboxes" "$r2/leases" "$r2/names"
		rmdir "$r2/$d"
		ln -s "$ROOT/$d" "$r2/$d"
		"$PELAGOS" --root "$r2" sandbox rm -f "$a" keep >"$OUT" 2>"$ERR"
		[ $? -ne 0 ] || [ "$d" != sandboxes ] ||
		    fail "rm through a symlinked $d/ succeeded"
		"$PELAGOS" --root "$r2" sandbox prune >"$OUT" 2>"$ERR"
		"$PELAGOS" --root "$r2" sandbox create --name other >"$OUT" 2>"$ERR"
		rc=$?
		[ "$rc" -ne 0 ] || fail "create through a symlinked $d/ succeeded"
		grep -q "Too many levels of symbolic links\|Not a directory" "$ERR" ||
		    fail "create with a symlinked $d/: $(cat "$ERR")"
		alive "$pa" || fail "a command in root2 ($d/ symlinked) stopped root's pause"
		expect_eq "$(readlink "$ROOT/names/keep")" "$a" "root's name after $d/"
		[ -f "$ROOT/sandboxes/$a/state" ] || fail "root's state gone after $d/"
	done
	rm -rf "$r2"
	run 0 pel sandbox ls
	grep -q "^$a .* running " "$OUT" || fail "root's sandbox hurt: $(cat "$OUT")"
	expect_eq "$(ls "$ROOT/leases" | wc -l)" 1 "root's leases"
	run 0 pel sandbox rm keep
}

# Lease and name links pointed at the wrong sandbox, or removed: prune
# puts them back from the state files, so no create hands out an address
# a running sandbox records.
t_trust_wrong_links() {
	a=$(create --name na)
	b=$(create --name nb)
	ipa=$(skey "$a" ip | cut -d/ -f1)
	ipb=$(skey "$b" ip | cut -d/ -f1)
	ln -sfn "$b" "$ROOT/leases/$ipa"
	ln -sfn "$a" "$ROOT/names/nb"
	run 0 pel sandbox prune
	[ -s "$OUT" ] && fail "prune removed a running sandbox: $(cat "$OUT")"
	expect_eq "$(readlink "$ROOT/leases/$ipa")" "$a" "repaired lease"
	expect_eq "$(readlink "$ROOT/leases/$ipb")" "$b" "the other lease"
	expect_eq "$(readlink "$ROOT/names/nb")" "$b" "repaired name"
	rm "$ROOT/leases/$ipa" "$ROOT/names/na"
	run 0 pel sandbox prune
	expect_eq "$(readlink "$ROOT/leases/$ipa")" "$a" "restored lease"
	expect_eq "$(readlink "$ROOT/names/na")" "$a" "restored name"
	c=$(create)
	ipc=$(skey "$c" ip | cut -d/ -f1)
	[ "$ipc" != "$ipa" ] && [ "$ipc" != "$ipb" ] ||
	    fail "create handed out a recorded address $ipc"
	run 0 pel sandbox rm na nb "$c"
}

t_trust_empty_root() {
	mkdir -p "$ROOT"
	run 0 pel sandbox ls
	[ -s "$OUT" ] && fail "ls of an empty root printed: $(cat "$OUT")"
	run 0 pel sandbox ls --json
	expect_eq "$(cat "$OUT")" "[]" "ls --json of an empty root"
	run 0 pel sandbox ls -q
	run 0 pel sandbox prune
	[ -s "$OUT" ] && fail "prune of an empty root printed: $(cat "$OUT")"
	return 0
}

# tr_mount DIR [OPTS]: a tmpfs of the test's own, unmounted at exit (by
# cleanup_test, after its sweep).
tr_mount() {
	mkdir -p "$1" && mount -t tmpfs -o "${2:-size=4m}" tmpfs "$1" ||
	    fail "cannot mount a tmpfs on $1"
	echo "$1" >>"$T_DIR/mounts"
}


# A full root: the error is the file system's, and nothing is left.  With
# its inodes used up but one, the sandbox's directory is made and the
# address's link cannot be: that is no full subnet.  With its blocks used
# up, the state cannot be written.
t_trust_full_root() {
	tr_mount "$T_DIR/full" size=256k,nr_inodes=64
	ROOT=$T_DIR/full/root
	a=$(create)
	i=0
	while touch "$T_DIR/full/f$i" 2>/dev/null; do
		i=$((i + 1))
	done
	rm -f "$T_DIR/full/f0"
	run 1 pel sandbox create
	one_error "No space left on device"
	grep -q "no free address" "$ERR" && fail "full inodes reported as a full subnet"
	expect_eq "$(ls "$ROOT/sandboxes")" "$a" "sandboxes with no inode left"
	rm -f "$T_DIR/full"/f*
	dd if=/dev/zero of="$T_DIR/full/filler" bs=4096 2>/dev/null
	run 1 pel sandbox create --name full
	one_error "No space left on device"
	expect_eq "$(ls "$ROOT/sandboxes")" "$a" "sandboxes with no block left"
	[ -L "$ROOT/names/full" ] && fail "name left"
	rm -f "$T_DIR/full/filler"
	run 0 pel sandbox rm "$a"
	rm -rf "$ROOT"
}

# A read-only root: rm fails with one line before it stops anything.
t_trust_readonly_root() {
	tr_mount "$T_DIR/ro"
	ROOT=$T_DIR/ro/root
	a=$(create --name ro1)
	pid=$(skey "$a" pause_pid)
	mount -o remount,ro "$T_DIR/ro" || fail "remount ro"
	run 1 pel sandbox rm ro1
	one_error "Read-only file system"
	alive "$pid" || fail "rm on a read-only root stopped the pause"
	[ -e "/run/netns/psb-$(echo "$a" | cut -c1-8)" ] || fail "rm on a read-only root removed the netns"
	run 0 pel sandbox ls
	grep -q "^$a .* running " "$OUT" || fail "not running: $(cat "$OUT")"
	run 1 pel sandbox prune
	one_error "Read-only file system"
	alive "$pid" || fail "prune on a read-only root stopped the pause"
	mount -o remount,rw "$T_DIR/ro" || fail "remount rw"
	run 0 pel sandbox rm ro1
	rm -rf "$ROOT"
}

# The bridge pelagos makes has a MAC of its own: removing the sandboxes
# whose veths had the lowest MACs does not change the gateway's, and the
# last pod's traffic via the gateway goes on at once.
t_trust_gateway_mac() {
	a=$(create)
	b=$(create)
	c=$(create)
	mac=$(cat "/sys/class/net/$BR/address")
	keep="" best=""
	for id in "$a" "$b" "$c"; do
		m=$(cat "/sys/class/net/vh-$(echo "$id" | cut -c1-8)/address")
		[ "$m" = "$mac" ] && fail "the bridge has the MAC of port vh-$id"
		if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$m" "$best" | sort | tail -n 1)" = "$m" ]; then
			best=$m keep=$id
		fi
	done
	ns=/run/netns/psb-$(echo "$keep" | cut -c1-8)
	poll 10 nsenter --net="$ns" ping -c 1 -W 1 "$GW" >/dev/null ||
	    fail "no ping to the gateway"
	for id in "$a" "$b" "$c"; do
		[ "$id" = "$keep" ] || run 0 pel sandbox rm "$id"
	done
	expect_eq "$(cat "/sys/class/net/$BR/address")" "$mac" "gateway MAC after rm"
	nsenter --net="$ns" ping -c 1 -W 1 "$GW" >/dev/null ||
	    fail "the pod's traffic via the gateway broke when the others went"
	run 0 pel sandbox rm "$keep"
}
