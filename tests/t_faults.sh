# SPDX-License-Identifier: Apache-2.0
# Reliability: fault injection into every syscall of create, signals and
# SIGKILL mid-create, PID identity, stale objects, concurrency, hostile
# input and the hardened pause.  The faults are injected from outside with
# strace, so the product carries no test hooks.
TESTS="$TESTS t_fault_inject t_fault_signals t_fault_random_kill"
TESTS="$TESTS t_fault_pid_identity t_fault_stale_netns t_fault_bridge_gateway"
TESTS="$TESTS t_fault_rm_vanished t_fault_rm_busy t_fault_parallel_64"
TESTS="$TESTS t_fault_parallel_mixed t_fault_parallel_full"
TESTS="$TESTS t_fault_hostile_ids t_fault_hostile_root t_fault_corrupt_state"
TESTS="$TESTS t_fault_pause_seccomp t_fault_kill_after_pause"

# Helpers are f_-prefixed: every t_*.sh is sourced into one shell.

f_need_strace() {
	command -v strace >/dev/null 2>&1 || skip "strace not installed"
	strace -f -q -o /dev/null -e trace=getpid \
	    -e inject=getpid:error=EIO:when=1 true 2>/dev/null ||
	    skip "strace cannot inject faults here"
}

# Runs extra cleanup before the runner's own, keeping the test's status.
f_trap() {
	trap '_frc=$?; f_cleanup; (exit $_frc); cleanup_test' EXIT
}

# Kills what a test started itself (recorded in $T_DIR/kill as
# "pid start"), only while the start time still matches.
f_cleanup() {
	kill_all_recorded "$T_DIR/kill"
}

f_start() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

f_remember_kill() {
	echo "$1 $(f_start "$1")" >>"$T_DIR/kill"
}

# PIDs of live pauses of the sandbox with short ID $1, found by command
# line ("__pause__ psb-<8hex>").
f_pauses() {
	for _f in $(grep -l -a "psb-$1" /proc/[0-9]*/cmdline 2>/dev/null); do
		_p=${_f#/proc/}
		_p=${_p%/cmdline}
		grep -q -a __pause__ "$_f" 2>/dev/null && alive "$_p" &&
		    printf '%s ' "$_p"
	done
}

# What is left of sandbox $1 (an ID), on one line; empty when nothing.
f_id_leaks() {
	_s=$(echo "$1" | cut -c1-8)
	[ -e "/run/netns/psb-$_s" ] && printf ' netns:psb-%s' "$_s"
	grep -q "/run/netns/psb-$_s " /proc/self/mountinfo &&
	    printf ' mount:psb-%s' "$_s"
	for _v in "vh-$_s" "vh-$_s-1" "vh-$_s-2" "vh-$_s-3"; do
		link_exists "$_v" && printf ' veth:%s' "$_v"
	done
	_p=$(f_pauses "$_s")
	[ -n "$_p" ] && printf ' pause:%s' "$_p"
	[ -e "$ROOT/sandboxes/$1" ] && printf ' state:%s' "$1"
	[ -e "$PELAGOS_CGROUP_PARENT/$1" ] && printf ' cgroup:%s' "$1"
	for _f in "$ROOT"/leases/* "$ROOT"/names/*; do
		[ "$(readlink "$_f" 2>/dev/null)" = "$1" ] &&
		    printf ' link:%s' "${_f#$ROOT/}"
	done
	echo
}

# Everything of sandboxes $@ (IDs) and of this test's root that still
# exists, on one line; empty when nothing is left.
f_leaks() {
	_l=""
	for _id in "$@"; do
		_l="$_l$(f_id_leaks "$_id")"
	done
	_b=$(ls "/sys/class/net/$BR/brif" 2>/dev/null | tr '\n' ' ')
	[ -n "$_b" ] && _l="$_l port:$_b"
	for _d in sandboxes leases names; do
		_x=$(ls -A "$ROOT/$_d" 2>/dev/null | tr '\n' ' ')
		[ -n "$_x" ] && _l="$_l $_d:$_x"
	done
	echo "$_l"
}

# A veth dies with its namespace a moment after the last reference goes:
# wait a bounded time for the leak list to empty.
f_noleaks() {
	_fl=$(f_leaks "$@")
	_n=250
	while [ -n "$_fl" ] && [ "$_n" -gt 0 ]; do
		sleep 0.02
		_n=$((_n - 1))
		_fl=$(f_leaks "$@")
	done
	[ -z "$_fl" ]
}

# Removes whatever f_leaks reported for IDs $@, so that one failure does
# not cascade into the next run.
f_scrub() {
	for _id in "$@" $(ls "$ROOT/sandboxes" 2>/dev/null); do
		_s=$(echo "$_id" | cut -c1-8)
		for _p in $(f_pauses "$_s"); do
			kill -9 "$_p" 2>/dev/null
		done
		umount -l "/run/netns/psb-$_s" 2>/dev/null
		rm -f "/run/netns/psb-$_s"
		for _v in "vh-$_s" "vh-$_s-1" "vh-$_s-2" "vh-$_s-3"; do
			link_exists "$_v" && ip link del "$_v" 2>/dev/null
		done
		[ -d "$PELAGOS_CGROUP_PARENT/$_id" ] &&
		    cg_remove "$PELAGOS_CGROUP_PARENT/$_id"
	done
	rm -rf "$ROOT/sandboxes" "$ROOT/leases" "$ROOT/names"
}

# Occurrence counts of each syscall in one create, per process, as
# "name max-count" lines: strace's when=N counts per process.
f_syscall_counts() {
	sed -n 's/^\([0-9][0-9]*\) \{1,\}\([a-z_0-9]\{1,\}\)(.*/\1 \2/p' "$1" |
	    sort | uniq -c |
	    awk '{ if ($1 > max[$3]) max[$3] = $1 } END { for (s in max) print s, max[s] }' |
	    sort
}

# f_traced CREATE-ARGS...: starts `pelagos sandbox create` under strace
# with $F_STRACE options in the background; sets F_SPID (strace), F_MPID
# (the create) once its execve shows in $F_LOG.
f_traced() {
	: >"$F_LOG"
	# shellcheck disable=SC2086
	strace -f -q -I1 -o "$F_LOG" $F_STRACE "$PELAGOS" --root "$ROOT" \
	    sandbox create "$@" <"/dev/null" >"$OUT" 2>"$ERR" &
	F_SPID=$!
	F_MPID=""
	f_mpid() {
		F_MPID=$(sed -n '1s/^\([0-9][0-9]*\) .*execve.*/\1/p' "$F_LOG")
		[ -n "$F_MPID" ]
	}
	poll 10 f_mpid || { kill "$F_SPID"; fail "strace never started create"; }
}

f_signum() {
	case ${1#SIG} in
	HUP) echo 1 ;; INT) echo 2 ;; KILL) echo 9 ;; SEGV) echo 11 ;;
	TERM) echo 15 ;; ABRT) echo 6 ;; BUS) echo 7 ;; *) echo 64 ;;
	esac
}

# Waits for the traced create to end; F_RC is its exit status (128+N when
# killed by signal N), F_ID the ID it claimed.  strace leaves with the
# create's own status when nothing else is traced, re-raising a fatal
# signal on itself before it logs it; otherwise it logs "+++ exited with
# N +++" or "+++ killed by SIG +++" for the create and stays for the pause.
f_traced_wait() {
	F_DONE=""
	f_ended() {
		grep -q "^$F_MPID  *+++ \(exited\|killed\)" "$F_LOG" ||
		    ! alive "$F_SPID" || ! alive "$F_MPID"
	}
	if ! poll "${1:-30}" f_ended; then
		kill -9 "$F_MPID" 2>/dev/null
		F_RC=hang
		f_traced_id
		return 1
	fi
	f_logged() {
		grep -q "^$F_MPID  *+++ \(exited\|killed\)" "$F_LOG" ||
		    ! alive "$F_SPID"
	}
	poll 1 f_logged
	F_SIG=$(sed -n "s/^$F_MPID  *+++ killed by \(SIG[A-Z0-9]*\).*/\1/p" "$F_LOG")
	F_RC=$(sed -n "s/^$F_MPID  *+++ exited with \([0-9]*\) +++/\1/p" "$F_LOG")
	[ -n "$F_SIG" ] && F_RC=$((128 + $(f_signum "$F_SIG")))
	if [ -z "$F_RC" ] && ! alive "$F_SPID"; then
		wait "$F_SPID"
		F_RC=$?
		F_DONE=1
	fi
	# A tracee killed by strace's own SIGKILL injection is reaped without
	# a "+++ killed by" line.
	[ -z "$F_RC" ] && F_RC=137
	f_traced_id
	return 0
}

f_traced_id() {
	F_ID=$(sed -n 's/.*mkdirat([0-9]*, "\(sandboxes\/\)\{0,1\}\([0-9a-f]\{16\}\)", 0700) = 0$/\2/p' "$F_LOG" | tail -n 1)
}

# strace stays until every traced process is gone: a pause that outlived
# a failed create keeps it.  Returns false (and kills the leftovers) then.
f_strace_done() {
	[ -n "$F_DONE" ] && return 0
	if poll 10 gone "$F_SPID"; then
		wait "$F_SPID" 2>/dev/null
		return 0
	fi
	for _p in $(cat "/proc/$F_SPID/task/"*/children 2>/dev/null) $(f_pauses "$(echo "$F_ID" | cut -c1-8)"); do
		kill -9 "$_p" 2>/dev/null
	done
	kill "$F_SPID" 2>/dev/null
	poll 5 gone "$F_SPID" || kill -9 "$F_SPID" 2>/dev/null
	wait "$F_SPID" 2>/dev/null
	return 1
}

# A create that reported success made a whole, working sandbox.
f_check_whole() {
	_id=$(cat "$OUT")
	[ "$_id" = "$F_ID" ] || { echo "stdout '$_id' is not the ID $F_ID"; return 1; }
	[ -n "$(skey "$_id" pause_start)" ] || { echo "no state"; return 1; }
	pel sandbox ls >"$T_DIR/ls" 2>&1
	grep -q "^$_id .* running " "$T_DIR/ls" ||
	    { echo "not running: $(cat "$T_DIR/ls")"; return 1; }
	_s=$(echo "$_id" | cut -c1-8)
	nsenter --net="/run/netns/psb-$_s" ip -4 addr show dev eth0 2>/dev/null |
	    grep -q "inet $(skey "$_id" eth0.ip) " ||
	    { echo "eth0 lacks its address"; return 1; }
	[ -e "/sys/class/net/$BR/brif/vh-$_s" ] ||
	    { echo "veth not on the bridge"; return 1; }
	return 0
}

# Syscalls not injected, each with the reason:
#   execve        the first is strace starting pelagos; the pause's is
#                 covered by its clone/vfork child's failures (per-process
#                 counters make when=1 hit both)
#   arch_prctl set_tid_address  musl's start-up in every process: a
#                 failure kills the process before main(), nothing made
#   exit_group    does not return
#   close         Linux frees the descriptor even when close fails, but an
#                 injected failure skips the call and leaves it open: a
#                 state no kernel produces (a pipe end kept open makes the
#                 pause handshake wait for its 20 s timeout)
F_EXCLUDE=" execve arch_prctl set_tid_address exit_group exit close "

# One traced create (with ARGS, default --name fz), the bridge absent so
# that its creation is on the path: $T_DIR/counts gets "syscall
# max-count-per-process" lines, and $T_DIR/points one "syscall N" line per
# injection point.
f_discover() {
	[ $# -gt 0 ] || set -- --name fz
	F_LOG=$T_DIR/strace
	F_STRACE="-e signal=none"
	link_exists "$BR" && ip link del "$BR"
	f_traced "$@"
	f_traced_wait || fail "untraced create hung"
	[ "$F_RC" = 0 ] || fail "plain traced create exited $F_RC: $(cat "$ERR")"
	echo "$F_ID" >>"$T_DIR/ids"
	f_check_whole >"$T_DIR/why" || fail "traced create: $(cat "$T_DIR/why")"
	run 0 pel sandbox rm "$F_ID"
	f_strace_done || fail "pause outlived rm under strace"
	cp "$F_LOG" "$T_DIR/discovery"
	f_syscall_counts "$T_DIR/discovery" >"$T_DIR/counts"
	note "create path: $(wc -l <"$T_DIR/counts") distinct syscalls," \
	    "$(awk '{ n += $2 } END { print n }' "$T_DIR/counts") calls:" \
	    "$(tr '\n' ' ' <"$T_DIR/counts")"
	while read -r _sys _max; do
		case $F_EXCLUDE in *" $_sys "*) continue ;; esac
		_n=1
		while [ "$_n" -le "$_max" ]; do
			echo "$_sys $_n"
			_n=$((_n + 1))
		done
	done <"$T_DIR/counts" >"$T_DIR/points"
}

# Every syscall of a create (the bridge absent, so that its creation is on
# the path; --name, so that the name claim is), each occurrence N failed
# with EIO in turn: the create exits 1 with one line "pelagos: ..." and
# leaves nothing, or, where the failure is harmless, succeeds with a whole
# sandbox.
# f_judge POINT [SIGNAL]: the verdict on the traced create that just
# ended.  Exit 1 needs one "pelagos: " line; exit 0 a whole sandbox (which
# is then removed); 128+SIGNAL is accepted only when nothing is left (the
# signal came before the create blocked it).  Counts into failed,
# tolerated, bad; appends to tol_list, bad_list.
f_judge() {
	why=""
	[ -n "$F_ID" ] && echo "$F_ID" >>"$T_DIR/ids"
	case $F_RC in
	0)
		f_check_whole >"$T_DIR/why" 2>&1 ||
		    why="succeeded but: $(cat "$T_DIR/why")"
		pel sandbox rm "$F_ID" >/dev/null 2>"$T_DIR/rmerr" ||
		    why="$why; rm: $(cat "$T_DIR/rmerr")"
		tolerated=$((tolerated + 1))
		tol_list="$tol_list $1"
		;;
	1)
		failed=$((failed + 1))
		if [ "$(wc -l <"$ERR")" -ne 1 ] || ! grep -q '^pelagos: ' "$ERR"
		then
			why="want one 'pelagos: ' line, got: $(tr '\n' '|' <"$ERR")"
		fi
		grep -q interrupted "$ERR" && interrupted=$((interrupted + 1))
		;;
	*)
		if [ -n "${2:-}" ] &&
		    [ "$F_RC" = $((128 + $(f_signum "$2"))) ]; then
			killed=$((killed + 1))
		else
			why="exit status $F_RC: $(tr '\n' '|' <"$ERR")"
		fi
		;;
	esac
	f_strace_done || why="$why; a traced process outlived the create"
	if ! f_noleaks $F_ID; then
		why="$why; left:$(f_leaks $F_ID)"
		f_scrub $F_ID
	fi
	if [ -n "$why" ]; then
		bad=$((bad + 1))
		bad_list="$bad_list $1"
		note "FAULT $1: $why"
	fi
	return 0
}

# Every syscall of a create, each occurrence N failed with EIO in turn.
t_fault_inject() {
	f_need_strace
	# Under ASan the runtime's own start-up syscalls are on the path, and
	# their failures end in the runtime's reports, not pelagos' errors.
	[ -z "${ASAN_OPTIONS:-}" ] || skip "sanitizer build (ASAN_OPTIONS set)"
	f_discover
	points=0 failed=0 tolerated=0 bad=0 killed=0 interrupted=0
	tol_list="" bad_list=""
	while read -r sys n; do
		link_exists "$BR" && ip link del "$BR"
		F_STRACE="-e signal=none -e trace=$sys,mkdirat,execve"
		F_STRACE="$F_STRACE -e inject=$sys:error=EIO:when=$n"
		f_traced --name fz
		f_traced_wait 30
		f_judge "$sys#$n"
		points=$((points + 1))
	done <"$T_DIR/points"
	note "fault injection: $points points, $failed failed cleanly," \
	    "$tolerated tolerated, $bad bad"
	note "tolerated:$tol_list"
	echo "fault-injection points covered: $points"
	[ "$bad" -eq 0 ] ||
	    fail "$bad of $points injection points misbehaved:$bad_list"
}

# SIGINT, SIGTERM and SIGHUP in turn, delivered on entry to the first and
# the last call of every syscall of the create: rolled back (exit 1),
# finished (exit 0, whole), or killed before the signals were blocked
# with nothing made; never anything left.
#
# The pause's own wait (rt_sigtimedwait and madvise, which only the pause
# calls, and only once it has said ready) gets each of the three signals: the
# contract there is that create reports the sandbox it made, and a
# signal that ends the pause after that (SIGINT, SIGTERM; SIGHUP does
# not) leaves a sandbox that ls shows dead and rm removes, as any later
# kill of the pause would.
t_fault_signals() {
	f_need_strace
	f_discover
	main=$(sed -n '1s/^\([0-9]*\) .*/\1/p' "$T_DIR/discovery")
	points=0 failed=0 tolerated=0 bad=0 killed=0 interrupted=0
	tol_list="" bad_list="" after=0
	set -- INT TERM HUP
	while read -r sys max; do
		case $F_EXCLUDE in *" $sys "*) continue ;; esac
		# A sanitizer's runtime calls madvise in every process, the
		# ready pause too: its calls are not create's steps.
		[ "$sys" = madvise ] && [ -n "${ASAN_OPTIONS:-}" ] && continue
		# Only the pause calls these, and only once it is ready.
		if [ "$sys" = rt_sigtimedwait ] || { [ "$sys" = madvise ] &&
		    ! grep -q "^$main  *madvise(" "$T_DIR/discovery"; }; then
			for sig in INT TERM HUP; do
				F_STRACE="-e signal=none -e trace=$sys,mkdirat,execve"
				F_STRACE="$F_STRACE -e inject=$sys:signal=SIG$sig:when=1"
				f_traced --name fz
				f_traced_wait 30
				f_after_ready "$sys#1:SIG$sig" "$sig"
				points=$((points + 1))
				after=$((after + 1))
			done
			continue
		fi
		for n in 1 $max; do
			[ "$n" = 1 ] && [ "$max" = 1 ] && [ "$points" != 0 ] &&
			    [ "${last:-}" = "$sys" ] && continue
			last=$sys
			sig=$1
			shift
			set -- "$@" "$sig"
			link_exists "$BR" && ip link del "$BR"
			F_STRACE="-e signal=none -e trace=$sys,mkdirat,execve"
			F_STRACE="$F_STRACE -e inject=$sys:signal=SIG$sig:when=$n"
			f_traced --name fz
			f_traced_wait 30
			f_judge "$sys#$n:SIG$sig" "$sig"
			points=$((points + 1))
		done
	done <"$T_DIR/counts"
	note "signals: $points points, $interrupted rolled back as" \
	    "interrupted, $((failed - interrupted)) failed otherwise," \
	    "$tolerated finished, $killed killed before blocking," \
	    "$after in the ready pause, $bad bad"
	echo "signal points covered: $points"
	[ "$after" -ge 3 ] || fail "the ready pause was never signalled"
	[ "$interrupted" -gt 0 ] || fail "no create ever reported 'interrupted'"
	[ "$bad" -eq 0 ] || fail "$bad of $points signal points misbehaved:$bad_list"
}

# f_after_ready POINT SIG: create succeeded; the pause ended if SIG ends
# it, and rm removes the sandbox either way.
f_after_ready() {
	why=""
	[ -n "$F_ID" ] && echo "$F_ID" >>"$T_DIR/ids"
	want=running
	[ "$2" = HUP ] || want=dead
	if [ "$F_RC" != 0 ] || [ "$(cat "$OUT")" != "$F_ID" ]; then
		why="create exited $F_RC: $(tr '\n' '|' <"$ERR")"
	else
		_p=$(skey "$F_ID" pause_pid)
		[ "$want" = dead ] && ! poll 5 gone "$_p" && why="pause survived SIG$2"
		pel sandbox ls >"$T_DIR/ls" 2>&1
		grep -q "^$F_ID .* $want " "$T_DIR/ls" ||
		    why="$why; not $want: $(cat "$T_DIR/ls")"
		pel sandbox rm "$F_ID" >/dev/null 2>"$T_DIR/rmerr" ||
		    why="$why; rm: $(cat "$T_DIR/rmerr")"
	fi
	f_strace_done || why="$why; a traced process outlived the create"
	if ! f_noleaks $F_ID; then
		why="$why; left:$(f_leaks $F_ID)"
		f_scrub $F_ID
	fi
	if [ -n "$why" ]; then
		bad=$((bad + 1))
		bad_list="$bad_list $1"
		note "FAULT $1: $why"
	fi
	return 0
}

# 50 creates SIGKILLed at random points (a random syscall and occurrence:
# deterministic, no sleeps), then one prune: zero leaks.
t_fault_random_kill() {
	f_need_strace
	f_discover
	total=$(wc -l <"$T_DIR/points")
	runs=50 i=0 finished=0 ids="" spids=""
	while [ "$i" -lt "$runs" ]; do
		r=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
		set -- $(sed -n "$((r % total + 1))p" "$T_DIR/points")
		F_STRACE="-e signal=none -e trace=$1,mkdirat,execve"
		F_STRACE="$F_STRACE -e inject=$1:signal=SIGKILL:when=$2"
		F_LOG=$T_DIR/strace.$i
		f_traced
		f_traced_wait 30 || fail "create hung at $1#$2"
		[ -n "$F_ID" ] && echo "$F_ID" >>"$T_DIR/ids"
		ids="$ids $F_ID"
		[ -z "$F_DONE" ] && spids="$spids $F_SPID"
		note "run $i: SIGKILL at $1#$2 -> exit $F_RC ${F_ID:-no ID}"
		[ "$F_RC" = 0 ] && finished=$((finished + 1))
		i=$((i + 1))
	done
	# Half-made sandboxes are shown, not hidden.
	run 0 pel sandbox ls
	hidden=""
	for d in "$ROOT"/sandboxes/*; do
		[ -e "$d" ] || continue
		id=${d##*/}
		grep -q "^$id " "$OUT" || hidden="$hidden $id"
	done
	run 0 pel sandbox prune
	cp "$OUT" "$T_DIR/pruned"
	[ -s "$ERR" ] && fail "prune warned: $(cat "$ERR")"
	while read -r id; do
		case " $ids " in *" $id "*) ;; *) fail "prune printed '$id'" ;; esac
	done <"$T_DIR/pruned"
	# A kill that came after the create committed leaves a running
	# sandbox (its ID perhaps never printed): prune must keep it.
	committed=0
	run 0 pel sandbox ls
	cp "$OUT" "$T_DIR/ls.after"
	for id in $ids; do
		grep -q "^$id .* running " "$T_DIR/ls.after" || continue
		grep -qx "$id" "$T_DIR/pruned" && fail "prune removed running $id"
		committed=$((committed + 1))
		run 0 pel sandbox rm "$id"
	done
	leaks=0
	f_noleaks $ids
	for id in $ids; do
		l=$(f_id_leaks "$id")
		if [ -n "$l" ]; then
			leaks=$((leaks + 1))
			note "leak after prune:$l"
		fi
	done
	for p in $spids; do
		# A pause still traced is one of the leaks counted above.
		poll 10 gone "$p" || { note "strace $p: a traced process survived prune"; kill "$p"; }
		wait "$p" 2>/dev/null
	done
	echo "random-kill runs: $runs, leaks: $leaks" \
	    "(pruned $(wc -l <"$T_DIR/pruned"), committed before the kill" \
	    "$committed, of which exit 0: $finished)"
	[ "$leaks" -eq 0 ] || fail "$leaks leaks after prune: $(f_leaks $ids)"
	[ -z "$hidden" ] ||
	    fail "ls hid half-created sandboxes (no state file yet):$hidden"
}

# A recorded pause PID rewritten to an unrelated live process: ls says
# dead, rm and prune remove the sandbox (and its real pause, found by its
# tag), and the unrelated process lives on.
t_fault_pid_identity() {
	f_trap
	for how in rm prune; do
		# The unrelated process starts a clock tick (the resolution of
		# the recorded start time) before the pause, as a recycled PID
		# would: same PID, another start time.
		sleep 1000 </dev/null >/dev/null 2>&1 &
		other=$!
		f_remember_kill "$other"
		t0=$(cut -d' ' -f1 /proc/uptime)
		ticked() { [ "$(cut -d' ' -f1 /proc/uptime)" != "$t0" ]; }
		poll 5 ticked || fail "clock did not move"
		t0=$(cut -d' ' -f1 /proc/uptime)
		poll 5 ticked || fail "clock did not move"
		id=$(create)
		real=$(skey "$id" pause_pid)
		[ "$(f_start "$other")" != "$(skey "$id" pause_start)" ] ||
		    fail "could not start $other a tick before the pause"
		f=$ROOT/sandboxes/$id/state
		sed "s/^pause_pid .*/pause_pid $other/" "$f" >"$f.new" &&
		    mv "$f.new" "$f"
		expect_eq "$(skey "$id" pause_pid)" "$other" "rewritten pause_pid"
		run 0 pel sandbox ls
		grep -q "^$id .* dead " "$OUT" ||
		    fail "ls trusts a PID whose start time differs: $(cat "$OUT")"
		run 0 pel sandbox ls --json
		grep -q "$id" "$OUT" && fail "ls --json lists the sandbox as running"
		if [ "$how" = rm ]; then
			run 0 pel sandbox rm "$id"
		else
			run 0 pel sandbox prune
			expect_eq "$(cat "$OUT")" "$id" "prune output"
		fi
		alive "$other" || fail "$how killed unrelated process $other"
		poll 5 gone "$real" || fail "$how left the real pause $real"
		f_noleaks "$id" || fail "$how left:$(f_leaks "$id")"
		kill_recorded "$other" "$(f_start "$other")"
		poll 5 gone "$other" || fail "cannot stop $other"
	done
}

# create with a predictable ID: getrandom made to return without filling
# its buffer, so the ID is whatever the stack held (the same every run of
# one binary).  Prints the ID, or nothing when it is not predictable.
f_predicted_id() {
	F_LOG=$T_DIR/strace.p
	F_STRACE="-e signal=none -e trace=getrandom,mkdirat,execve"
	F_STRACE="$F_STRACE -e inject=getrandom:retval=8:when=1"
	f_traced "$@"
	f_traced_wait 30 || fail "create with a fixed ID hung"
	[ -n "$F_ID" ] && echo "$F_ID" >>"$T_DIR/ids"
}

# Stale objects under the name pelagos would pick: a plain file, then a
# dead (lazily unmounted, still a plain file) mount point, in
# /run/netns, and a foreign veth.  create must use another ID and leave
# the stale object alone.
t_fault_stale_netns() {
	f_need_strace
	f_predicted_id
	[ "$F_RC" = 0 ] || fail "create with a fixed ID exited $F_RC: $(cat "$ERR")"
	want=$F_ID
	run 0 pel sandbox rm "$want"
	f_strace_done || fail "pause outlived rm"
	# The veth goes with the namespace, a moment after rm.
	f_noleaks "$want" || fail "rm left:$(f_leaks "$want")"
	f_predicted_id
	# A sanitizer's runtime takes the first getrandom for itself.
	[ "$F_ID" = "$want" ] || [ -z "${ASAN_OPTIONS:-}" ] ||
	    skip "sanitizer build: getrandom#1 is its runtime's"
	[ "$F_ID" = "$want" ] || fail "IDs not predictable here ($want, $F_ID)"
	run 0 pel sandbox rm "$want"
	f_strace_done || fail "pause outlived rm"
	f_noleaks "$want" || fail "rm left:$(f_leaks "$want")"
	s8=$(echo "$want" | cut -c1-8)
	stale=/run/netns/psb-$s8
	[ -e "$stale" ] && fail "$stale exists before the test"
	for kind in file deadmount; do
		: >"$stale"
		if [ "$kind" = deadmount ]; then
			mount --bind /proc/self/ns/net "$stale" ||
			    fail "cannot bind a netns at $stale"
			umount -l "$stale"
		fi
		f_predicted_id
		rc=$F_RC id=$F_ID
		f_strace_done >/dev/null
		[ "$rc" = 0 ] || { rm -f "$stale"; fail "create beside a stale $kind exited $rc: $(cat "$ERR")"; }
		[ "$id" != "$want" ] || { rm -f "$stale"; fail "create reused the stale $stale"; }
		[ -f "$stale" ] || fail "create removed the stale $kind $stale"
		pel sandbox rm "$id" >/dev/null 2>&1
		f_strace_done || fail "pause outlived rm"
		[ -f "$stale" ] || fail "rm removed the stale $kind $stale"
		f_noleaks "$id" || fail "left:$(f_leaks "$id")"
		rm -f "$stale"
	done
	# The same for a veth of the name: never reused, never deleted.
	ip link add "vh-$s8" type veth peer name "vp-$s8" ||
	    fail "cannot make vh-$s8"
	f_predicted_id
	rc=$F_RC id=$F_ID
	[ "$rc" = 0 ] || { ip link del "vh-$s8"; fail "create beside a stale veth exited $rc: $(cat "$ERR")"; }
	[ "$id" != "$want" ] || { ip link del "vh-$s8"; fail "create reused the stale veth vh-$s8"; }
	pel sandbox rm "$id" >/dev/null 2>&1
	f_strace_done || fail "pause outlived rm"
	link_exists "vh-$s8" || fail "create or rm deleted the foreign veth vh-$s8"
	ip link del "vh-$s8"
	f_noleaks "$id" || fail "left:$(f_leaks "$id")"
}

# A bridge that lost its gateway address, or is down, is repaired by the
# next create, and pods reach the gateway again.
t_fault_bridge_gateway() {
	a=$(create)
	ip addr del "$GW/24" dev "$BR" || fail "cannot remove the gateway"
	ip link set "$BR" down
	b=$(create)
	ip -4 addr show dev "$BR" | grep -q "inet $GW/24" ||
	    fail "create did not restore $GW on $BR: $(ip -4 addr show dev "$BR")"
	ip link show "$BR" | grep -q '[<,]UP[,>]' || fail "create left $BR down"
	ns=/run/netns/psb-$(echo "$b" | cut -c1-8)
	poll 10 nsenter --net="$ns" ping -c 1 -W 1 "$GW" >/dev/null ||
	    fail "pod cannot reach the restored gateway"
	# A gateway from another subnet on the bridge is not ours to take.
	# (TEST-NET-2: TEST-NET-1, 192.0.2.0/24, may be the host's own
	# uplink, whose gateway this would shadow.)
	ip addr add 198.51.100.1/24 dev "$BR"
	c=$(create)
	ip -4 addr show dev "$BR" | grep -q "inet 198.51.100.1/24" ||
	    fail "create removed a foreign address from $BR"
	run 0 pel sandbox rm "$a" "$b" "$c"
}

# rm of sandboxes whose kernel objects vanished behind pelagos' back.
t_fault_rm_vanished() {
	# netns unmounted and removed, veth deleted, pause alive.
	a=$(create --name va)
	s=$(echo "$a" | cut -c1-8)
	umount -l "/run/netns/psb-$s" && rm -f "/run/netns/psb-$s"
	ip link del "vh-$s"
	run 0 pel sandbox rm va
	f_noleaks "$a" || fail "rm after netns/veth vanished left:$(f_leaks "$a")"
	# Everything gone but the state: the pause killed too.
	b=$(create --name vb)
	s=$(echo "$b" | cut -c1-8)
	pid=$(skey "$b" pause_pid)
	kill -9 "$pid"
	poll 5 gone "$pid" || fail "pause survived SIGKILL"
	umount -l "/run/netns/psb-$s"
	rm -f "/run/netns/psb-$s"
	poll 5 eval "! link_exists vh-$s" || fail "veth outlived its netns"
	run 0 pel sandbox rm "$b"
	f_noleaks "$b" || fail "rm of a bare state left:$(f_leaks "$b")"
	# The state file lost, everything else in place.
	c=$(create --name vc)
	rm -f "$ROOT/sandboxes/$c/state"
	run 0 pel sandbox rm "$c"
	f_noleaks "$c" || fail "rm without a state file left:$(f_leaks "$c")"
	# --force of what is already gone.
	run 0 pel sandbox rm --force "$c"
	run 0 pel sandbox rm -f vc
	run 1 pel sandbox rm "$c"
	one_error "no such sandbox"
}

# Another process in the pod: rm refuses, naming the count; rm --force
# kills it.  Pods with a cgroup count and kill what is in it (a workload
# of pelagos run); pods without one, with PELAGOS_CGROUP_PARENT=none,
# what is in their network namespace (here an nsenter), by namespace
# identity.
t_fault_rm_busy() {
	f_trap
	for cg in "$PELAGOS_CGROUP_PARENT" none; do
		[ "$cg" = none ] || [ -d "$CG_MOUNT" ] || continue
		id=$(PELAGOS_CGROUP_PARENT=$cg create)
		ns=/run/netns/psb-$(echo "$id" | cut -c1-8)
		# A workload is its init and CMD.
		if [ "$cg" = none ]; then
			nsenter --net="$ns" sleep 1000 </dev/null >/dev/null 2>&1 &
			inner=$! n="1 process"
		else
			inner=$(pel run -d --sandbox "$id" sleep 1000) ||
			    fail "run -d failed"
			n="2 processes"
		fi
		poll 5 eval '[ "$(ino /proc/$inner/ns/net 2>/dev/null)" = "$(ino "$ns")" ]' ||
		    fail "sleep never entered $ns"
		f_remember_kill "$inner"
		# An unrelated sleep of the same name outside the pod must survive.
		sleep 1000 </dev/null >/dev/null 2>&1 &
		outer=$!
		f_remember_kill "$outer"
		run 1 pel sandbox rm "$id"
		one_error "$n"
		alive "$inner" || fail "refused rm killed the process inside"
		alive "$(skey "$id" pause_pid)" || fail "refused rm stopped the pause"
		run 0 pel sandbox ls
		grep -q "^$id .* running " "$OUT" || fail "refused rm damaged the sandbox"
		run 0 pel sandbox rm --force "$id"
		poll 5 gone "$inner" || fail "rm --force left the process inside"
		alive "$outer" || fail "rm --force killed a process outside the pod"
		kill "$outer"
		f_noleaks "$id" || fail "left:$(f_leaks "$id")"
	done
}

# f_parallel N OUTDIR [ARGS]: N creates at once; OUTDIR/N.{rc,id,err}.
f_parallel() {
	_n=0
	mkdir -p "$2"
	while [ "$_n" -lt "$1" ]; do
		(
			"$PELAGOS" --root "$ROOT" sandbox create ${3:-} \
			    >"$2/$_n.id" 2>"$2/$_n.err" </dev/null
			echo $? >"$2/$_n.rc"
		) &
		_n=$((_n + 1))
	done
	wait
	cat "$2"/*.id >>"$T_DIR/ids"
}

# Every state file parses and the leases are a bijection onto the
# sandboxes' addresses.
f_consistent() {
	pel sandbox ls >"$T_DIR/ls.c" 2>&1 || { echo "ls failed"; return 1; }
	grep -q ' broken ' "$T_DIR/ls.c" && { echo "broken rows: $(grep broken "$T_DIR/ls.c")"; return 1; }
	for _d in "$ROOT"/sandboxes/*; do
		[ -e "$_d" ] || continue
		_id=${_d##*/}
		_ip=$(skey "$_id" eth0.ip | cut -d/ -f1)
		[ "$(readlink "$ROOT/leases/$_ip")" = "$_id" ] ||
		    { echo "$_id has $_ip but the lease says $(readlink "$ROOT/leases/$_ip")"; return 1; }
	done
	for _l in "$ROOT"/leases/*; do
		[ -e "$_l" ] || [ -L "$_l" ] || continue
		_id=$(readlink "$_l")
		[ -d "$ROOT/sandboxes/$_id" ] ||
		    { echo "lease ${_l##*/} of missing $_id"; return 1; }
	done
	_dup=$(cat "$ROOT"/sandboxes/*/state 2>/dev/null | sed -n 's/^eth0\.ip //p' | sort | uniq -d)
	[ -z "$_dup" ] || { echo "addresses given twice: $_dup"; return 1; }
	return 0
}

# 64 creates at once on a /24: 64 sandboxes, 64 addresses, 64 states.
t_fault_parallel_64() {
	f_parallel 64 "$T_DIR/p"
	ok=$(grep -l '^0$' "$T_DIR"/p/*.rc | wc -l)
	ips=$(cat "$ROOT"/sandboxes/*/state | sed -n 's/^eth0\.ip //p' | sort -u | wc -l)
	note "64 parallel creates: $ok succeeded, $ips distinct addresses"
	echo "parallel creates: 64 started, $ok succeeded, $ips distinct IPs"
	[ "$ok" -eq 64 ] || fail "$((64 - ok)) creates failed: $(cat "$T_DIR"/p/*.err | sort | uniq -c)"
	expect_eq "$(cat "$T_DIR"/p/*.id | sort -u | wc -l)" 64 "distinct IDs"
	expect_eq "$ips" 64 "distinct addresses"
	expect_eq "$(ls "$ROOT/leases" | wc -l)" 64 "leases"
	run 0 pel sandbox ls
	expect_eq "$(grep -c ' running ' "$OUT")" 64 "running rows in ls"
	f_consistent >"$T_DIR/why" || fail "$(cat "$T_DIR/why")"
	expect_eq "$(ls /sys/class/net/$BR/brif | wc -l)" 64 "bridge ports"
	# ... and 64 rm at once.
	for id in $(cat "$T_DIR"/p/*.id); do
		pel sandbox rm "$id" >"$T_DIR/p/$id.rm" 2>&1 &
	done
	wait
	f_noleaks $(cat "$T_DIR"/p/*.id) ||
	    fail "parallel rm left:$(f_leaks $(cat "$T_DIR"/p/*.id))"
}

# rm, create, ls and prune all at once: ls never shows a half-written
# state, no address is given twice, the root stays consistent.
t_fault_parallel_mixed() {
	f_parallel 16 "$T_DIR/a"
	for f in "$T_DIR"/a/*.rc; do
		expect_eq "$(cat "$f")" 0 "initial create"
	done
	# Four dead ones give prune something to do.
	for id in $(cat "$T_DIR"/a/*.id | head -n 4); do
		kill -9 "$(skey "$id" pause_pid)"
	done
	mkdir -p "$T_DIR/m"
	i=0
	for id in $(cat "$T_DIR"/a/*.id | tail -n 8); do
		pel sandbox rm "$id" >/dev/null 2>"$T_DIR/m/rm.$i" &
		i=$((i + 1))
	done
	i=0
	while [ "$i" -lt 16 ]; do
		( pel sandbox create >"$T_DIR/m/c.$i.id" 2>"$T_DIR/m/c.$i.err"
		  echo $? >"$T_DIR/m/c.$i.rc" ) </dev/null &
		( pel sandbox ls >"$T_DIR/m/ls.$i" 2>&1; echo $? >"$T_DIR/m/ls.$i.rc" ) &
		( pel sandbox ls --json >"$T_DIR/m/js.$i" 2>&1; echo $? >"$T_DIR/m/js.$i.rc" ) &
		[ $((i % 4)) = 0 ] &&
		    ( pel sandbox prune >"$T_DIR/m/pr.$i" 2>&1; echo $? >"$T_DIR/m/pr.$i.rc" ) &
		i=$((i + 1))
	done
	wait
	cat "$T_DIR"/m/c.*.id >>"$T_DIR/ids"
	for f in "$T_DIR"/m/*.rc; do
		[ "$(cat "$f")" = 0 ] || fail "${f##*/} exited $(cat "$f"): $(cat "${f%.rc}" "${f%.rc}.err" 2>/dev/null)"
	done
	for f in "$T_DIR"/m/rm.*; do
		[ -s "$f" ] && fail "parallel rm: $(cat "$f")"
	done
	grep -l ' broken ' "$T_DIR"/m/ls.* >/dev/null &&
	    fail "ls showed a half-written state: $(grep -h broken "$T_DIR"/m/ls.*)"
	for f in "$T_DIR"/m/js.*; do
		case $f in *.rc) continue ;; esac
		case $(cat "$f") in "["*"]") ;; *) fail "ls --json printed: $(cat "$f")" ;; esac
	done
	# prune removed the four dead ones, each once, and at most some
	# being removed by a parallel rm (dead once rm stopped the pause).
	cat $(ls "$T_DIR"/m/pr.* | grep -v '\.rc$') | sort >"$T_DIR/m/pruned"
	[ -z "$(uniq -d "$T_DIR/m/pruned")" ] ||
	    fail "pruned twice: $(uniq -d "$T_DIR/m/pruned")"
	for id in $(cat "$T_DIR"/a/*.id | head -n 4); do
		grep -qx "$id" "$T_DIR/m/pruned" || fail "dead $id not pruned"
	done
	rmd=" $(cat "$T_DIR"/a/*.id | tail -n 8 | tr '\n' ' ')"
	for id in $(cat "$T_DIR/m/pruned"); do
		case "$rmd $(cat "$T_DIR"/a/*.id | head -n 4 | tr '\n' ' ')" in
		*" $id "*) ;;
		*) fail "prune removed $id, which was neither dead nor being removed" ;;
		esac
	done
	f_consistent >"$T_DIR/why" || fail "$(cat "$T_DIR/why")"
	expect_eq "$(ls "$ROOT/sandboxes" | wc -l)" 20 "sandboxes left (16 - 4 dead - 8 rm + 16)"
	run 0 pel sandbox ls
	expect_eq "$(grep -c ' running ' "$OUT")" 20 "running sandboxes"
	run 0 pel sandbox rm $(ls "$ROOT/sandboxes")
	f_noleaks $(cat "$T_DIR/ids") || fail "left:$(f_leaks $(cat "$T_DIR/ids"))"
}

# 30 creates at once for the 13 addresses of a /28: 13 succeed, 17 fail
# with one clean line, nothing of theirs left.
t_fault_parallel_full() {
	export PELAGOS_SUBNET=$NET.0/28
	f_parallel 30 "$T_DIR/f"
	ok=$(grep -l '^0$' "$T_DIR"/f/*.rc | wc -l)
	full=$(grep -l '^1$' "$T_DIR"/f/*.rc | wc -l)
	echo "full /28 under 30 parallel creates: $ok succeeded, $full failed"
	expect_eq "$ok" 13 "creates that got an address in a /28"
	expect_eq "$full" 17 "creates refused"
	for f in "$T_DIR"/f/*.rc; do
		[ "$(cat "$f")" = 1 ] || continue
		e=${f%.rc}.err
		[ "$(wc -l <"$e")" -eq 1 ] && grep -q "^pelagos: .*no free address in $NET.0/28" "$e" ||
		    fail "refused create said: $(cat "$e")"
		[ -s "${f%.rc}.id" ] && fail "refused create printed an ID"
	done
	f_consistent >"$T_DIR/why" || fail "$(cat "$T_DIR/why")"
	expect_eq "$(ls "$ROOT/sandboxes" | wc -l)" 13 "sandboxes"
	expect_eq "$(ls /sys/class/net/$BR/brif | wc -l)" 13 "bridge ports"
	run 0 pel sandbox rm $(ls "$ROOT/sandboxes")
	f_noleaks $(cat "$T_DIR/ids") || fail "left:$(f_leaks $(cat "$T_DIR/ids"))"
}

# f_no_crash WHAT: the last `run`-less command's status in $1 is a
# defined one (0, 1 or 2), never a signal.
f_defined() {
	case $1 in 0|1|2) return 0 ;; esac
	fail "$2 exited $1 (crash?): $(head -c 300 "$ERR")"
}

# Hostile IDs and names: a defined status, one error line, and nothing
# outside <root>/sandboxes/<id> touched (a canary beside and above the
# root, and a decoy sandbox, survive).
t_fault_hostile_ids() {
	keep=$(create --name keep)
	mkdir -p "$T_DIR/above/sandboxes"
	echo canary >"$T_DIR/canary"
	echo canary >"$T_DIR/above/sandboxes/state"
	long=$(printf 'a%.0s' $(seq 1 70))
	hexlong=$(printf '0%.0s' $(seq 1 65))
	nl=$(printf 'a\nb')
	ctl=$(printf 'a\001\033[2Jb')
	for arg in "" "." ".." "../canary" "../../canary" "/" "/etc/passwd" \
	    "a/b" "../sandboxes/$keep" "sandboxes/$keep" "$keep/" \
	    "$keep/../$keep" " $keep" "$keep " "$nl" "$ctl" "a b" "$long" \
	    "$hexlong" "-" "--" "-f" "*" "?" "\\" "$(printf '\377\376')" \
	    "ID:$(echo "$keep" | tr a-f A-F)" "ID:$(echo "$keep" | cut -c1-15)" \
	    "ID:${keep}0"; do
		# ID: marks an argument that is a fine name, but no sandbox.
		idonly=""
		case $arg in ID:*) idonly=1 arg=${arg#ID:} ;; esac
		pel sandbox rm "$arg" >"$OUT" 2>"$ERR"
		rc=$?
		f_defined "$rc" "rm '$arg'"
		case $arg in
		--|-f) continue ;;	# an option, not an ID
		esac
		[ "$rc" != 0 ] || fail "rm '$arg' succeeded"
		one_error
		pel sandbox rm --force -- "$arg" >"$OUT" 2>"$ERR"
		f_defined $? "rm --force '$arg'"
		[ -n "$idonly" ] && continue
		pel sandbox create --name "$arg" >"$OUT" 2>"$ERR"
		rc=$?
		f_defined "$rc" "create --name '$arg'"
		[ "$rc" != 0 ] || { cat "$OUT" >>"$T_DIR/ids"; fail "create --name '$arg' succeeded"; }
		one_error
		pel sandbox create --hostname "$arg" >"$OUT" 2>"$ERR"
		rc=$?
		f_defined "$rc" "create --hostname '$arg'"
		[ "$rc" != 0 ] || { cat "$OUT" >>"$T_DIR/ids"; fail "create --hostname '$arg' succeeded"; }
		one_error
		# The error line never carries raw control characters.
		if LC_ALL=C grep -q "$(printf '[\001-\010\016-\037]')" "$ERR"; then
			fail "error for '$arg' carries control characters"
		fi
	done
	[ -f "$T_DIR/canary" ] && [ -f "$T_DIR/above/sandboxes/state" ] ||
	    fail "a hostile argument removed a file outside the root"
	run 0 pel sandbox ls
	grep -q "^$keep .* running " "$OUT" || fail "decoy sandbox damaged"
	# Missing and unknown arguments.
	for cmd in "create --name" "create --hostname" "rm" "rm --bogus x" \
	    "ls --bogus" "prune --bogus" "prune extra" "create --nope"; do
		pel sandbox $cmd >"$OUT" 2>"$ERR"
		rc=$?
		f_defined "$rc" "sandbox $cmd"
		expect_eq "$rc" 2 "status of 'sandbox $cmd'"
		one_error
	done
	run 0 pel sandbox rm "$keep"
}

# --root at a regular file, a dangling path, a dangling symlink; a root
# reached through a symlink keeps working.
t_fault_hostile_root() {
	echo data >"$T_DIR/file"
	ln -s "$T_DIR/missing" "$T_DIR/dangling"
	for r in "$T_DIR/file" "$T_DIR/file/sub" "$T_DIR/nodir/deeper" \
	    "$T_DIR/dangling"; do
		for cmd in create ls "rm 0123456789abcdef" prune; do
			"$PELAGOS" --root "$r" sandbox $cmd >"$OUT" 2>"$ERR"
			rc=$?
			f_defined "$rc" "--root $r $cmd"
			case $cmd in
			ls|prune)
				# A root that does not exist holds no sandboxes.
				[ "$rc" = 0 ] && [ ! -s "$ERR" ] && continue ;;
			esac
			expect_eq "$rc" 1 "status of --root $r sandbox $cmd"
			one_error
		done
	done
	expect_eq "$(cat "$T_DIR/file")" data "regular file used as root"
	[ -e "$T_DIR/missing" ] && fail "create through a dangling symlink made its target"
	[ -e "$T_DIR/nodir" ] && fail "create made missing parents of the root"
	link_exists "$BR" && [ -n "$(ls "/sys/class/net/$BR/brif")" ] &&
	    fail "a failed create left a bridge port"
	# Through a symlink, like /var/run -> /run.
	mkdir -p "$ROOT"
	ln -s "$ROOT" "$T_DIR/via"
	id=$("$PELAGOS" --root "$T_DIR/via" sandbox create) ||
	    fail "create through a symlinked root failed"
	echo "$id" >>"$T_DIR/ids"
	[ -f "$ROOT/sandboxes/$id/state" ] || fail "state not under the real root"
	"$PELAGOS" --root "$T_DIR/via" sandbox ls | grep -q "^$id .* running " ||
	    fail "ls through a symlinked root"
	run 0 "$PELAGOS" --root "$T_DIR/via" sandbox rm "$id"
	f_noleaks "$id" || fail "left:$(f_leaks "$id")"
}

# Corrupt state files: ls shows each as broken, never crashes; rm removes
# each sandbox with its pause, netns, veth, lease and name; nothing
# outside the sandbox's directory is touched.
t_fault_corrupt_state() {
	echo outside >"$T_DIR/outside"
	mkdir -p "$T_DIR/victim"
	echo victim >"$T_DIR/victim/state"
	kinds="empty truncated unknown duplicate huge binary nul symlink dirlink crlf reordered"
	ids=""
	for k in $kinds; do
		id=$(create --name "c-$k")
		ids="$ids $id"
		f=$ROOT/sandboxes/$id/state
		case $k in
		empty) : >"$f" ;;
		truncated) head -c 100 "$f" >"$f.x" && mv "$f.x" "$f" ;;
		unknown) echo "color blue" >>"$f" ;;
		duplicate) sed -n 's/^eth0\.ip /eth0.ip /p' "$f" >>"$f" ;;
		huge) head -c 200000 /dev/zero | tr '\0' a >>"$f" ;;
		binary) head -c 4096 /dev/urandom >"$f" ;;
		nul) printf 'pelagos-state 1\nid \000%s\n' "$id" >"$f" ;;
		symlink) rm "$f" && ln -s "$T_DIR/outside" "$f" ;;
		dirlink)
			# The sandbox directory itself a symlink out of the root;
			# the pause is recorded in the victim's copy.
			cp "$f" "$T_DIR/victim/state.real"
			d=$ROOT/sandboxes/$id
			mv "$d" "$T_DIR/victim.$id" && ln -s "$T_DIR/victim" "$d" ;;
		crlf) sed 's/$/\r/' "$f" >"$f.x" && mv "$f.x" "$f" ;;
		reordered) { head -n 1 "$f"; tail -n +2 "$f" | sort; } >"$f.x" &&
		    mv "$f.x" "$f" ;;
		esac
	done
	good=$(create --name c-good)
	pel sandbox ls >"$OUT" 2>"$ERR"
	rc=$?
	f_defined "$rc" "ls of corrupt states"
	expect_eq "$rc" 0 "ls status with corrupt states"
	for id in $ids; do
		grep -q "^$id .* broken " "$OUT" ||
		    fail "$id not shown broken: $(grep "^$id" "$OUT")"
	done
	grep -q "^$good .* running " "$OUT" || fail "c-good: $(cat "$OUT")"
	# Linux before 5.6 has no openat2: ls then opens each sandbox's
	# directory itself, and shows the same.
	if command -v strace >/dev/null 2>&1; then
		cp "$OUT" "$T_DIR/ls.want"
		strace -qq -o /dev/null -e trace=openat2 \
		    -e inject=openat2:error=ENOSYS \
		    "$PELAGOS" --root "$ROOT" sandbox ls >"$OUT" 2>"$ERR"
		expect_eq "$(cat "$OUT")" "$(cat "$T_DIR/ls.want")" \
		    "ls without openat2"
	fi
	run 0 pel sandbox rm c-good
	pel sandbox ls --json >"$OUT" 2>"$ERR"
	f_defined $? "ls --json of corrupt states"
	for id in $ids; do
		grep -q "$id" "$OUT" && fail "ls --json lists broken $id"
	done
	bad=""
	for id in $ids; do
		pel sandbox rm "$id" >"$OUT" 2>"$ERR"
		rc=$?
		f_defined "$rc" "rm of corrupt $id"
		[ "$rc" = 0 ] || bad="$bad [$(skey "$id" name 2>/dev/null) $id: exit $rc: $(cat "$ERR")]"
	done
	expect_eq "$(cat "$T_DIR/outside")" outside "file a state symlink pointed at"
	[ -f "$T_DIR/victim/state" ] && [ -f "$T_DIR/victim/state.real" ] ||
	    fail "rm followed a symlinked sandbox directory out of the root"
	for id in $ids; do
		l=$(f_id_leaks "$id")
		[ -n "$l" ] && bad="$bad [$id left:$l]"
	done
	[ -z "$bad" ] || fail "rm failed on corrupt states:$bad"
	f_noleaks $ids || fail "left:$(f_leaks $ids)"
}

# The hardened pause (see also t_pause_hardened): every pause process of
# every kind of sandbox runs with a seccomp filter, no_new_privs and no
# capabilities, and pelagos and nsenter can still join all its
# namespaces.
t_fault_pause_seccomp() {
	a=$(create --name sa)
	pid=$(skey "$a" pause_pid)
	b=$(create --pod-pid)
	c=$(create --host-net --host-ipc)
	for id in $a $b $c; do
		pid=$(skey "$id" pause_pid)
		pids=$pid
		ppid=$(sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f2)
		grep -a -q __pause__ "/proc/$ppid/cmdline" && pids="$pids $ppid"
		for p in $pids; do
			st=/proc/$p/status
			grep -q '^Seccomp:[[:space:]]*2$' "$st" || fail "pause $p: no seccomp filter"
			grep -q '^NoNewPrivs:[[:space:]]*1$' "$st" || fail "pause $p: no no_new_privs"
			for cap in CapInh CapPrm CapEff CapAmb; do
				grep -q "^$cap:[[:space:]]*0*$" "$st" ||
				    fail "pause $p keeps $(grep "^$cap" "$st")"
			done
			# The recorded pause holds the live lock too.
			want=3
			[ "$p" = "$pid" ] && want=4
			expect_eq "$(ls /proc/$p/fd | wc -l)" $want \
			    "open fds of pause $p"
		done
		# Joining every namespace of the pause still works.
		nsenter --target "$pid" --uts --ipc --net true ||
		    fail "nsenter into pause $pid failed"
		[ "$(skey "$id" pid)" = pod ] &&
		    { nsenter --target "$pid" --pid --mount=/proc/self/ns/mnt true ||
		    fail "nsenter --pid into pause $pid failed"; }
	done
	expect_eq "$(nsenter --target "$(skey "$a" pause_pid)" --uts hostname)" sa "hostname"
	# The filter holds after signals: the loop's own syscalls pass and
	# the pause survives them.
	pid=$(skey "$a" pause_pid)
	for s in HUP USR1 CHLD WINCH; do kill -s "$s" "$pid"; done
	taken() { grep -q '^SigPnd:[[:space:]]*0*$' "/proc/$pid/status" &&
	    grep -q '^ShdPnd:[[:space:]]*0*$' "/proc/$pid/status"; }
	poll 5 taken || fail "pause never took its signals"
	alive "$pid" || fail "pause died (killed by its own filter?)"
	run 0 pel sandbox ls
	expect_eq "$(grep -c ' running ' "$OUT")" 3 "running sandboxes"
	run 0 pel sandbox rm "$a" "$b" "$c"
}

# create SIGKILLed after its pause is up but before its state exists
# (on entry to the rename of its state file): the half-made sandbox,
# whose pause lives on, is shown by ls and removed by prune.
t_fault_kill_after_pause() {
	f_need_strace
	f_discover
	main=$(sed -n '1s/^\([0-9]*\) .*/\1/p' "$T_DIR/discovery")
	# The state's rename, the last: how many calls come before it
	# depends on whether the create had to make the nftables tables.
	n=$(grep "^$main  *renameat(" "$T_DIR/discovery" | grep -n '"state"' |
	    tail -n 1 | cut -d: -f1)
	[ -n "$n" ] || fail "no state write found in the discovery trace"
	F_LOG=$T_DIR/strace.k
	F_STRACE="-e signal=none -e trace=renameat,mkdirat,execve"
	F_STRACE="$F_STRACE -e inject=renameat:signal=SIGKILL:when=$n"
	# The same arguments as the discovery.
	f_traced --name fz
	f_traced_wait 30 || fail "create hung"
	echo "$F_ID" >>"$T_DIR/ids"
	s8=$(echo "$F_ID" | cut -c1-8)
	[ -n "$(f_pauses "$s8")" ] ||
	    fail "the kill at renameat#$n did not leave a live pause (exit $F_RC)"
	run 0 pel sandbox ls
	grep -q "^$F_ID .* dead " "$OUT" ||
	    fail "ls does not show the orphan of a killed create as dead: $(cat "$OUT")"
	run 0 pel sandbox prune
	grep -qx "$F_ID" "$OUT" ||
	    fail "prune kept the half-made sandbox of a dead create (its pause $(f_pauses "$s8")alive)"
	f_strace_done || fail "the pause outlived prune"
	f_noleaks "$F_ID" || fail "left:$(f_leaks "$F_ID")"
}
