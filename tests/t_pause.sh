# SPDX-License-Identifier: Apache-2.0
# The pause: signals, namespace flags, PID 1 duties.
TESTS="$TESTS t_pause_signals t_pause_host_ipc t_pause_host_net t_pause_pod_pid"
TESTS="$TESTS t_pause_direct t_pause_hardened t_pause_probe t_pause_memory"

t_pause_signals() {
	id=$(create)
	pid=$(skey "$id" pause_pid)
	for s in HUP USR1 USR2 CHLD WINCH PIPE ALRM TSTP TTIN TTOU QUIT; do
		kill -s "$s" "$pid" || fail "cannot send SIG$s"
	done
	# The pause keeps signals blocked and takes them with sigwaitinfo:
	# once none is pending any more, each has been handled and survived.
	taken() {
		grep -q '^ShdPnd:[[:space:]]*0*$' /proc/$pid/status &&
		    grep -q '^SigPnd:[[:space:]]*0*$' /proc/$pid/status
	}
	poll 5 taken || fail "pause never took its signals: $(grep Pnd /proc/$pid/status)"
	alive "$pid" || fail "pause died of a stray signal"
	run 0 pel sandbox ls
	grep -q ' running ' "$OUT" || fail "ls does not show the pause running"
	grep -q '^State:.*T' /proc/$pid/status && fail "pause stopped by job control"
	kill -s TERM "$pid"
	poll 5 gone "$pid" || fail "pause survived SIGTERM"
	run 0 pel sandbox ls
	grep -q ' dead ' "$OUT" || fail "ls does not show the pause dead"
	run 0 pel sandbox rm "$id"
	[ -e "$ROOT/sandboxes/$id" ] && fail "rm of a dead sandbox left state"
	return 0
}

t_pause_host_ipc() {
	id=$(create --host-ipc)
	pid=$(skey "$id" pause_pid)
	expect_eq "$(ino /proc/$pid/ns/ipc)" "$(ino /proc/self/ns/ipc)" "ipc with --host-ipc"
	[ "$(ino /proc/$pid/ns/uts)" != "$(ino /proc/self/ns/uts)" ] ||
	    fail "--host-ipc also shared UTS"
	expect_eq "$(skey "$id" ipc)" node "recorded ipc mode"
	run 0 pel sandbox ls --json
	grep -q '"namespaces":{"network":"Pod","pid":"Container","ipc":"Node"}' "$OUT" ||
	    fail "ls --json namespaces: $(cat "$OUT")"
	run 0 pel sandbox rm "$id"
}

t_pause_host_net() {
	id=$(create --host-net)
	pid=$(skey "$id" pause_pid)
	s8=$(echo "$id" | cut -c1-8)
	expect_eq "$(ino /proc/$pid/ns/net)" "$(ino /proc/self/ns/net)" "net with --host-net"
	[ "$(ino /proc/$pid/ns/ipc)" != "$(ino /proc/self/ns/ipc)" ] ||
	    fail "--host-net also shared IPC"
	[ -e "/run/netns/psb-$s8" ] && fail "--host-net made a netns"
	link_exists "vh-$s8" && fail "--host-net made a veth"
	[ -n "$(ls "$ROOT/leases")" ] && fail "--host-net took an address"
	run 0 pel sandbox ls --json
	grep -qF '"ns_name":"","veth_host":"","container_ip":"","namespaces":{"network":"Node","pid":"Container","ipc":"Pod"}' "$OUT" ||
	    fail "ls --json for host-net: $(cat "$OUT")"
	run 0 pel sandbox rm "$id"
	gone "$pid" || fail "rm left the host-net pause"
}

t_pause_pod_pid() {
	id=$(create --pod-pid)
	pid=$(skey "$id" pause_pid)
	[ "$(ino /proc/$pid/ns/pid)" != "$(ino /proc/self/ns/pid)" ] ||
	    fail "--pod-pid pause shares the host PID namespace"
	grep -q "^NSpid:[[:space:]]*$pid[[:space:]]*1$" /proc/$pid/status ||
	    fail "recorded pause is not PID 1: $(grep NSpid /proc/$pid/status)"
	expect_eq "$(skey "$id" pid)" pod "recorded pid mode"
	# An orphan in the pod is reparented to PID 1, which must reap it.
	nsenter --target "$pid" --pid -- sh -c 'sleep 1 & exit 0' ||
	    fail "cannot start a process in the pod"
	child=""
	find_child() {
		child=$(grep -l "^PPid:[[:space:]]*$pid$" /proc/[0-9]*/status 2>/dev/null |
		    head -n 1 | cut -d/ -f3)
		[ -n "$child" ]
	}
	poll 5 find_child || fail "orphan never reparented to the pod's PID 1"
	poll 10 gone "$child" || fail "orphan $child not reaped by PID 1"
	[ -d "/proc/$child" ] && grep -q '^State:.*Z' "/proc/$child/status" 2>/dev/null &&
	    fail "orphan left a zombie"
	run 0 pel sandbox rm "$id"
	gone "$pid" || fail "rm left the pod's PID 1"
}

# The hidden command as the contract states it, run directly.
t_pause_direct() {
	"$PELAGOS" sandbox __pause__ - --host-net --host-ipc --pod-pid &
	outer=$!
	echo "$outer $(sed 's/.*) //' /proc/$outer/stat | cut -d' ' -f20)" >>"$T_DIR/pids"
	changed() {
		[ "$(ino /proc/$outer/ns/uts 2>/dev/null)" != "$(ino /proc/self/ns/uts)" ]
	}
	poll 5 changed || fail "direct pause never unshared UTS"
	expect_eq "$(ino /proc/$outer/ns/net)" "$(ino /proc/self/ns/net)" "direct --host-net"
	expect_eq "$(ino /proc/$outer/ns/ipc)" "$(ino /proc/self/ns/ipc)" "direct --host-ipc"
	kill -s HUP "$outer"
	alive "$outer" || fail "direct pause died of SIGHUP"
	kill -s TERM "$outer"
	wait "$outer"
	rc=$?
	expect_eq "$rc" 0 "exit status of a pause ended by SIGTERM"
	run 2 "$PELAGOS" sandbox __pause__
	run 2 "$PELAGOS" sandbox __pause__ ../x
	run 1 "$PELAGOS" sandbox __pause__ psb-nosuch0
}

# No capabilities, no_new_privs, and a seccomp filter, in every pause
# process; joining its namespaces still works.
t_pause_hardened() {
	hardened() {
		grep -q '^CapEff:[[:space:]]*0*$' /proc/$1/status &&
		    grep -q '^CapPrm:[[:space:]]*0*$' /proc/$1/status &&
		    grep -q '^CapBnd:[[:space:]]*0*$' /proc/$1/status &&
		    grep -q '^NoNewPrivs:[[:space:]]*1$' /proc/$1/status &&
		    grep -q '^Seccomp:[[:space:]]*2$' /proc/$1/status
	}
	id=$(create --name hard)
	pid=$(skey "$id" pause_pid)
	hardened "$pid" || fail "pause not hardened: $(grep -E 'Cap|NoNew|Seccomp' /proc/$pid/status)"
	expect_eq "$(nsenter --uts=/proc/$pid/ns/uts hostname)" hard "hostname via the pause's uts"
	id2=$(create --pod-pid)
	init=$(skey "$id2" pause_pid)
	outer=$(sed 's/.*) //' /proc/$init/stat | cut -d' ' -f2)
	hardened "$init" || fail "pod PID 1 not hardened"
	hardened "$outer" || fail "outer pause of a --pod-pid sandbox not hardened"
	run 0 pel sandbox rm "$id" "$id2"
}

# The pause tries one syscall its filter does not list, and create fails
# unless it is refused; strace shows the refusal.
t_pause_probe() {
	command -v strace >/dev/null || skip "strace not installed"
	# -I 1: strace -o FILE blocks SIGTERM by default, and it must detach.
	strace -f -I 1 -o "$T_DIR/trace" -e trace=getppid "$PELAGOS" --root "$ROOT" \
	    sandbox create >"$T_DIR/id" 2>/dev/null &
	tracer=$!
	poll 10 grep -q . "$T_DIR/id" || fail "create under strace printed no ID"
	kill "$tracer"
	wait "$tracer"
	cat "$T_DIR/id" >>"$T_DIR/ids"
	grep -q 'getppid() *= -1 EPERM' "$T_DIR/trace" ||
	    fail "no refused syscall in the pause: $(cat "$T_DIR/trace")"
	run 0 pel sandbox rm "$(cat "$T_DIR/id")"
}

# The pause's memory stays within its budget whatever the binary's size:
# once ready it gives its text back but for the pages of its wait loop.
t_pause_memory() {
	[ -z "${ASAN_OPTIONS:-}" ] || skip "sanitizer build (ASAN_OPTIONS set)"
	a=$(create)
	b=$(create --pod-pid)
	for id in "$a" "$b"; do
		pid=$(skey "$id" pause_pid)
		kill -s HUP "$pid"
		kill -s CHLD "$pid"
		taken() { grep -q '^SigPnd:[[:space:]]*0*$' /proc/$pid/status &&
		    grep -q '^ShdPnd:[[:space:]]*0*$' /proc/$pid/status; }
		poll 5 taken || fail "pause $pid never took its signals"
		rss=$(awk '$1 == "VmRSS:" { print $2 }' /proc/$pid/status)
		[ "$rss" -le 80 ] || fail "pause $pid VmRSS $rss kB, budget 80 kB"
		text=$(awk '/^[0-9a-f]/ { x = ($2 ~ /x/) && ($6 != "") && ($6 !~ /^\[/) }
		    x && $1 == "Rss:" { s += $2 } END { print s + 0 }' /proc/$pid/smaps)
		[ "$text" -le 16 ] || fail "pause $pid keeps $text kB of text resident"
		note "pause $pid: VmRSS $rss kB, text $text kB"
	done
	run 0 pel sandbox rm "$a" "$b"
}
