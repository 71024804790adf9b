# SPDX-License-Identifier: Apache-2.0
# pelagos run, sandbox inspect and ls -q: workloads in real sandboxes.
TESTS="$TESTS t_run_usage t_run_namespaces t_run_hostname t_run_env_cwd"
TESTS="$TESTS t_run_rootfs t_run_localhost t_run_bridge t_run_exit_status"
TESTS="$TESTS t_run_signals t_run_detach t_run_pod_pid t_run_dead_sandbox"
TESTS="$TESTS t_inspect t_ls_quiet"

pstart() {
	sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20
}

# wl SANDBOX [RUN OPTIONS] [--] CMD...: a detached workload, recorded so
# that the cleanup kills it if the test does not; prints its PID.
wl() {
	_p=$(pel run -d --sandbox "$@") || fail "run -d --sandbox $* failed"
	echo "$_p $(pstart "$_p" 2>/dev/null)" >>"$T_DIR/pids"
	echo "$_p"
}

# child_of PID: the first process whose parent is PID, in $child.
child_of() {
	child=$(grep -l "^PPid:[[:space:]]*$1$" /proc/[0-9]*/status 2>/dev/null |
	    head -n 1 | cut -d/ -f3)
	[ -n "$child" ]
}

# A busybox tree in $RFS: busybox-static's binary and its applet links.
mkrootfs() {
	_bb=
	# busybox sh answers "busybox" for its own applet: find the file.
	for _c in "$(command -v busybox)" /bin/busybox /usr/bin/busybox; do
		case $_c in /*) [ -f "$_c" ] && _bb=$_c && break ;; esac
	done
	[ -n "$_bb" ] || skip "no busybox (install busybox-static)"
	RFS=$T_DIR/rootfs
	mkdir -p "$RFS/bin" && cp "$_bb" "$RFS/bin/busybox" ||
	    fail "cannot copy $_bb"
	for _a in $("$_bb" --list); do
		[ "$_a" = busybox ] || ln -s busybox "$RFS/bin/$_a"
	done
	chroot "$RFS" /bin/busybox true 2>/dev/null ||
	    skip "$_bb does not run in a bare tree (not static?)"
}

# ns_is WORKLOAD PAUSE NS pod|host|own: where a workload's namespace is.
ns_is() {
	_w=$(ino "/proc/$1/ns/$3")
	_p=$(ino "/proc/$2/ns/$3")
	_h=$(ino "/proc/$$/ns/$3")
	case $4 in
	pod) [ "$_w" = "$_p" ] && [ "$_w" != "$_h" ] ;;
	host) [ "$_w" = "$_h" ] ;;
	own) [ "$_w" != "$_p" ] && [ "$_w" != "$_h" ] ;;
	esac || fail "$3 namespace of workload $1 is not the $4's" \
	    "(workload $_w, pause $_p, host $_h)"
}

t_run_usage() {
	run 0 "$PELAGOS" run --help
	grep -q '^usage: pelagos run --sandbox' "$OUT" || fail "run --help: $(cat "$OUT")"
	run 0 "$PELAGOS" sandbox inspect --help
	grep -q '^usage: pelagos sandbox inspect' "$OUT" || fail "inspect --help"
	run 0 "$PELAGOS" --help
	grep -q '^  run --sandbox' "$OUT" || fail "--help lacks run"
	grep -q 'sandbox inspect' "$OUT" || fail "--help lacks inspect"
	grep -q 'sandbox ls \[-q|--json\]' "$OUT" || fail "--help lacks ls -q"
	run 2 pel run true
	one_error "run: missing --sandbox ID|NAME (see 'pelagos run --help')"
	run 2 pel run --sandbox x
	one_error "missing CMD"
	run 2 pel run --sandbox
	one_error "option '--sandbox' needs a value"
	run 2 pel run --sandbox x --env FOO true
	one_error "--env wants K=V, not 'FOO'"
	run 2 pel run --sandbox x --env =v true
	one_error "--env wants K=V"
	run 2 pel run --bogus --sandbox x true
	one_error "unknown option '--bogus'"
	run 1 pel run --sandbox nosuch true
	one_error "run: no such sandbox 'nosuch'"
	[ -e "$ROOT" ] && fail "run made the root"
	id=$(create --name u1)
	# Options end at CMD: what follows is CMD's.
	run 0 pel run --sandbox u1 echo -d --sandbox x
	expect_eq "$(cat "$OUT")" "-d --sandbox x" "arguments after CMD"
	run 0 pel run --sandbox=u1 -- echo --env
	expect_eq "$(cat "$OUT")" "--env" "arguments after --"
	if command -v setpriv >/dev/null &&
	    setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
		run 1 setpriv --reuid=65534 --regid=65534 --clear-groups \
		    "$PELAGOS" --root "$ROOT" run --sandbox u1 true
		one_error "run: must be run as root"
	fi
	run 0 pel sandbox rm u1
}

# Every mode, seen from outside: the workload's /proc/<pid>/ns/* against
# the pause's and the host's.
t_run_namespaces() {
	for mode in "" --host-net --host-ipc --pod-pid; do
		id=$(create $mode)
		pp=$(skey "$id" pause_pid)
		w=$(wl "$id" sleep 30)
		net=pod ipc=pod pid=own
		case $mode in
		--host-net) net=host ;;
		--host-ipc) ipc=host ;;
		--pod-pid) pid=pod ;;
		esac
		ns_is "$w" "$pp" net "$net"
		ns_is "$w" "$pp" ipc "$ipc"
		ns_is "$w" "$pp" uts pod
		ns_is "$w" "$pp" pid "$pid"
		ns_is "$w" "$pp" mnt host
		# The pause holds the host's namespaces in the host modes.
		[ "$net" = host ] && ns_is "$pp" "$pp" net host
		[ "$ipc" = host ] && ns_is "$pp" "$pp" ipc host
		if [ "$pid" = own ]; then
			grep -q "^NSpid:[[:space:]]*$w[[:space:]]*2$" /proc/$w/status ||
			    fail "CMD is not PID 2 of its own namespace:" \
			    "$(grep NSpid /proc/$w/status)"
		else
			grep -q "^NSpid:[[:space:]]*$w[[:space:]]*[0-9]*$" /proc/$w/status &&
			    ! grep -q "^NSpid:[[:space:]]*$w[[:space:]]*1$" /proc/$w/status ||
			    fail "pod-pid workload: $(grep NSpid /proc/$w/status)"
		fi
		run 1 pel sandbox rm "$id"
		one_error "still in it"
		run 0 pel sandbox rm --force "$id"
		poll 5 gone "$w" || fail "workload $w survived rm --force"
	done
}

t_run_hostname() {
	a=$(create --name web --hostname h-one)
	b=$(create --name named)
	c=$(create)
	run 0 pel run --sandbox web cat /proc/sys/kernel/hostname
	expect_eq "$(cat "$OUT")" h-one "hostname given to create"
	run 0 pel run --sandbox named cat /proc/sys/kernel/hostname
	expect_eq "$(cat "$OUT")" named "hostname defaulting to the name"
	run 0 pel run --sandbox "$c" cat /proc/sys/kernel/hostname
	expect_eq "$(cat "$OUT")" "$(echo "$c" | cut -c1-8)" "hostname of an unnamed sandbox"
	# One UTS namespace per pod: a change is seen by the next workload
	# and not by the host.
	host=$(cat /proc/sys/kernel/hostname)
	run 0 pel run --sandbox web sh -c 'echo h-two >/proc/sys/kernel/hostname'
	run 0 pel run --sandbox web cat /proc/sys/kernel/hostname
	expect_eq "$(cat "$OUT")" h-two "hostname set by an earlier workload"
	expect_eq "$(cat /proc/sys/kernel/hostname)" "$host" "host's hostname"
	run 0 pel sandbox rm "$a" "$b" "$c"
}

t_run_env_cwd() {
	id=$(create)
	FOO_HOST=yes run 0 pel run --sandbox "$id" --env A=1 --env B=x=y \
	    --env A=2 sh -c 'echo "$A $B $FOO_HOST"'
	expect_eq "$(cat "$OUT")" "2 x=y yes" "environment without --rootfs"
	FOO_HOST=yes run 0 pel run --sandbox "$id" --env FOO_HOST=over \
	    sh -c 'echo "$FOO_HOST"'
	expect_eq "$(cat "$OUT")" over "--env over an inherited variable"
	run 0 sh -c "cd '$T_DIR' && umask 027 && \"\$PELAGOS\" --root '$ROOT' \
	    run --sandbox $id sh -c 'pwd; umask'"
	expect_eq "$(cat "$OUT" | tr '\n' ' ')" "$T_DIR 0027 " "cwd and umask"
	run 0 pel run --sandbox "$id" --workdir /sys pwd
	expect_eq "$(cat "$OUT")" /sys "--workdir"
	run 1 pel run --sandbox "$id" --workdir "$T_DIR/none" true
	one_error "run: working directory $T_DIR/none: No such file"
	run 0 pel sandbox rm "$id"
}

t_run_rootfs() {
	mkrootfs
	id=$(create --name rf)
	ip=$(skey "$id" eth0.ip)
	run 0 pel run --sandbox rf --rootfs "$RFS" ls /sys/class/net
	expect_eq "$(cat "$OUT" | tr '\n' ' ')" "eth0 lo " "/sys/class/net"
	run 0 pel run --sandbox rf --rootfs "$RFS" ip -o link
	expect_eq "$(cut -d: -f2 "$OUT" | sed 's/@.*//' | tr -d ' ' | sort | tr '\n' ' ')" \
	    "eth0 lo " "ip link in the rootfs"
	run 0 pel run --sandbox rf --rootfs "$RFS" ip -o -4 addr
	expect_eq "$(awk '{print $2, $4}' "$OUT" | sort | tr '\n' ' ')" \
	    "eth0 $ip lo 127.0.0.1/8 " "ip addr in the rootfs"
	# A fresh /proc of the workload's PID namespace.
	run 0 pel run --sandbox rf --rootfs "$RFS" sh -c 'cd /proc && echo $$ [0-9]*'
	expect_eq "$(cat "$OUT")" "2 1 2" "PID of CMD, processes in /proc"
	run 0 pel run --sandbox rf --rootfs "$RFS" sh -c \
	    'for d in null zero full random urandom tty; do [ -c /dev/$d ] || echo no $d; done
	     echo x >/dev/null && head -c 3 /dev/zero | wc -c'
	expect_eq "$(cat "$OUT")" 3 "device nodes"
	run 0 pel run --sandbox rf --rootfs "$RFS" sh -c \
	    'grep -c "^sysfs /sys sysfs ro," /proc/mounts; touch /sys/x 2>/dev/null || echo ro'
	expect_eq "$(cat "$OUT" | tr '\n' ' ')" "1 ro " "read-only /sys"
	FOO_HOST=leak run 0 pel run --sandbox rf --rootfs "$RFS" --workdir /bin \
	    --env A=1 sh -c 'pwd; echo "$A ${FOO_HOST-unset} $PATH"'
	expect_eq "$(cat "$OUT" | tr '\n' ' ')" \
	    "/bin 1 unset /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin " \
	    "workdir and environment with --rootfs"
	run 127 pel run --sandbox rf --rootfs "$RFS" /usr/bin/nothing
	one_error "execute /usr/bin/nothing: No such file"
	# Nothing of it shows on the host.
	grep -q " $RFS" /proc/self/mountinfo && fail "rootfs mounts leaked to the host"
	[ -e "$RFS/proc/self" ] && fail "proc mounted in the host's view of the rootfs"
	run 1 pel run --sandbox rf --rootfs "$T_DIR/nodir" true
	one_error "run: bind $T_DIR/nodir onto itself: No such file"
	run 0 pel sandbox rm rf
}

# Listening on PORT in the network namespace of SANDBOX.
listening() {
	pel run --sandbox "$1" cat /proc/net/tcp /proc/net/tcp6 |
	    grep -q ":$(printf %04X "$2") 0*:0000 0A"
}

t_run_localhost() {
	command -v busybox >/dev/null || skip "no busybox for nc"
	a=$(create --name srv)
	b=$(create)
	w=$(wl srv sh -c 'exec busybox nc -l -p 7777 >"$0"' "$T_DIR/got")
	poll 5 listening srv 7777 || fail "server never listened"
	listening "$b" 7777 && fail "the other sandbox sees the listener"
	run 1 pel run --sandbox "$b" busybox nc 127.0.0.1 7777 </dev/null
	echo ping >"$T_DIR/ping"
	run 0 pel run --sandbox srv busybox nc 127.0.0.1 7777 <"$T_DIR/ping"
	poll 5 grep -qx ping "$T_DIR/got" ||
	    fail "server got '$(cat "$T_DIR/got")', not ping"
	poll 5 gone "$w" || fail "server did not end"
	run 0 pel sandbox rm "$a" "$b"
}

t_run_bridge() {
	command -v busybox >/dev/null || skip "no busybox for nc"
	a=$(create)
	b=$(create)
	ipa=$(skey "$a" eth0.ip | cut -d/ -f1)
	w=$(wl "$a" sh -c 'exec busybox nc -l -p 7778 >"$0"' "$T_DIR/got")
	poll 5 listening "$a" 7778 || fail "server never listened"
	echo hello >"$T_DIR/hello"
	# The first packets may wait on the bridge port going to forwarding.
	poll 10 pel run --sandbox "$b" busybox nc -w 1 "$ipa" 7778 \
	    <"$T_DIR/hello" >/dev/null 2>&1 || fail "no connection from $b to $ipa"
	poll 5 grep -qx hello "$T_DIR/got" ||
	    fail "server got '$(cat "$T_DIR/got")', not hello"
	run 0 pel sandbox rm --force "$a" "$b"
	poll 5 gone "$w" || fail "server $w survived"
}

t_run_exit_status() {
	id=$(create)
	p=$(create --pod-pid)
	printf 'echo x\n' >"$T_DIR/plain"
	chmod 644 "$T_DIR/plain"
	for s in "$id" "$p"; do
		run 0 pel run --sandbox "$s" true
		run 3 pel run --sandbox "$s" sh -c 'exit 3'
		run 137 pel run --sandbox "$s" sh -c 'kill -KILL $$'
		run 143 pel run --sandbox "$s" sh -c 'kill -TERM $$'
		run 127 pel run --sandbox "$s" "$T_DIR/none"
		one_error "run: execute $T_DIR/none: No such file or directory"
		run 127 pel run --sandbox "$s" no-such-command-pelagos
		one_error "execute no-such-command-pelagos: No such file"
		run 126 pel run --sandbox "$s" "$T_DIR/plain"
		one_error "execute $T_DIR/plain: Permission denied"
		run 126 pel run --sandbox "$s" "$T_DIR"
		one_error "execute $T_DIR:"
	done
	# stdin, stdout and stderr pass through.
	echo abc >"$T_DIR/in"
	run 0 pel run --sandbox "$id" sh -c 'cat; echo err >&2' <"$T_DIR/in"
	expect_eq "$(cat "$OUT")" abc "stdout"
	expect_eq "$(cat "$ERR")" err "stderr"
	run 0 pel sandbox rm "$id" "$p"
}

t_run_signals() {
	id=$(create)
	# CMD traps the signal: its own exit status proves the signal was
	# passed on, not taken by pelagos.
	for sig in TERM:9 HUP:8; do
		rm -f "$T_DIR/ready"
		# Not pel: a function would put a subshell between.
		"$PELAGOS" --root "$ROOT" run --sandbox "$id" sh -c \
		    "trap 'exit ${sig#*:}' ${sig%:*}; touch $T_DIR/ready; sleep 30 & wait" &
		p=$!
		poll 5 test -e "$T_DIR/ready" || fail "workload never started"
		kill -s "${sig%:*}" "$p"
		wait "$p"
		expect_eq "$?" "${sig#*:}" "status after SIG${sig%:*}"
	done
	# Untrapped, CMD dies of it; its PID namespace goes with it, so the
	# orphan it leaves is gone too.
	rm -f "$T_DIR/ready"
	"$PELAGOS" --root "$ROOT" run --sandbox "$id" sh -c \
	    "sleep 30 & touch $T_DIR/ready; wait" &
	p=$!
	poll 5 test -e "$T_DIR/ready" || fail "workload never started"
	poll 5 child_of "$p" || fail "no init under pelagos run"
	init=$child
	poll 5 child_of "$init" || fail "no CMD under the init"
	cmd=$child
	poll 5 child_of "$cmd" || fail "no sleep under CMD"
	orphan=$child
	kill -s TERM "$p"
	wait "$p"
	expect_eq "$?" 143 "status after an untrapped SIGTERM"
	poll 5 gone "$orphan" || fail "CMD's child $orphan outlived its PID namespace"
	gone "$init" || fail "the init $init outlived CMD"
	run 0 pel sandbox rm "$id"
}

t_run_detach() {
	id=$(create)
	run 0 pel run -d --sandbox "$id" sh -c 'echo out; echo err >&2; exec sleep 30'
	[ -s "$ERR" ] && fail "run -d wrote to stderr: $(cat "$ERR")"
	w=$(cat "$OUT")
	printf '%s' "$w" | grep -qx '[0-9][0-9]*' || fail "run -d printed '$w'"
	echo "$w $(pstart "$w")" >>"$T_DIR/pids"
	poll 5 eval '[ "$(tr "\0" " " </proc/$w/cmdline)" = "sleep 30 " ]' ||
	    fail "PID $w is not CMD: $(tr '\0' ' ' </proc/$w/cmdline)"
	grep -q "^NSpid:[[:space:]]*$w[[:space:]]*2$" /proc/$w/status ||
	    fail "printed PID is not CMD's: $(grep NSpid /proc/$w/status)"
	for fd in 0 1 2; do
		expect_eq "$(readlink /proc/$w/fd/$fd)" /dev/null "detached fd $fd"
	done
	init=$(sed -n 's/^PPid:[[:space:]]*//p' /proc/$w/status)
	expect_eq "$(sed 's/.*) //' /proc/$w/stat | cut -d' ' -f4)" "$init" \
	    "session of the detached workload"
	kill -s TERM "$w"
	poll 5 gone "$w" || fail "detached CMD survived SIGTERM"
	poll 5 gone "$init" || fail "its init survived it"
	# In a --pod-pid sandbox the PID is CMD's too, in the pod's namespace.
	p=$(create --pod-pid)
	w=$(wl "$p" sleep 30)
	ns_is "$w" "$(skey "$p" pause_pid)" pid pod
	run 0 pel sandbox rm "$id"
	run 0 pel sandbox rm --force "$p"
	poll 5 gone "$w" || fail "pod-pid workload survived rm --force"
}

t_run_pod_pid() {
	mkrootfs
	id=$(create --pod-pid --name pp)
	pp=$(skey "$id" pause_pid)
	run 0 pel run --sandbox pp --rootfs "$RFS" cat /proc/1/cmdline
	tr '\0' ' ' <"$OUT" | grep -q '^pelagos sandbox __pause__ psb-' ||
	    fail "PID 1 seen by the workload: $(tr '\0' ' ' <"$OUT")"
	run 0 pel run --sandbox pp --rootfs "$RFS" sh -c 'echo $$'
	[ "$(cat "$OUT")" -gt 1 ] || fail "workload is PID $(cat "$OUT")"
	# An orphan is reparented to the pod's PID 1, which reaps it.
	run 0 pel run --sandbox pp sh -c 'sleep 1 & exit 0'
	poll 5 child_of "$pp" || fail "orphan never reparented to the pause"
	orphan=$child
	poll 10 gone "$orphan" || fail "orphan $orphan not reaped"
	[ -d "/proc/$orphan" ] && fail "orphan $orphan left a zombie"
	# A detached workload's parent is the pod's PID 1 too: rm must not
	# wait for the host's init to reap it.
	run 0 pel run -d --sandbox pp sleep 100
	w=$(cat "$OUT")
	expect_eq "$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$w/status")" "$pp" \
	    "parent of the detached workload"
	run 0 pel sandbox rm -f pp
	gone "$w" || fail "rm left the detached workload $w"
}

# A run against a sandbox that is not running never starts CMD at all:
# the marker it would touch (in any namespace) must stay absent.
t_run_dead_sandbox() {
	id=$(create --name dead1)
	pp=$(skey "$id" pause_pid)
	kill -9 "$pp"
	poll 5 gone "$pp" || fail "pause survived SIGKILL"
	run 1 pel run --sandbox dead1 touch "$T_DIR/ran"
	one_error "run: sandbox dead1 is not running"
	[ -e "$T_DIR/ran" ] && fail "CMD ran for a dead sandbox"

	# A recycled PID: the state names a live host process.
	id2=$(create --name recyc)
	st=$ROOT/sandboxes/$id2/state
	cp "$st" "$T_DIR/state.orig"
	sleep 30 &
	h=$!
	echo "$h $(pstart "$h")" >>"$T_DIR/pids"
	# Right PID and start time, wrong network namespace.
	sed "s/^pause_pid .*/pause_pid $h/; s/^pause_start .*/pause_start $(pstart "$h")/" \
	    "$T_DIR/state.orig" >"$st"
	run 1 pel run --sandbox recyc touch "$T_DIR/ran"
	one_error "sandbox recyc is not running"
	# Right namespace, wrong start time (set explicitly: start times
	# count clock ticks, and the sleep may have started in the pause's).
	sed "s/^pause_pid .*/pause_pid $h/; s/^pause_start .*/pause_start $(($(pstart "$h") + 1))/; s/^netns_ino .*/netns_ino $(ino /proc/$h/ns/net)/" \
	    "$T_DIR/state.orig" >"$st"
	run 1 pel run --sandbox recyc touch "$T_DIR/ran"
	one_error "sandbox recyc is not running"
	# A create of the previous release still under way: its version 1
	# state said so.
	state_v1 creating <"$T_DIR/state.orig" >"$st"
	run 1 pel run --sandbox recyc touch "$T_DIR/ran"
	one_error "sandbox recyc is not running"
	[ -e "$T_DIR/ran" ] && fail "CMD ran for a sandbox whose pause is not the recorded one"
	kill "$h"
	cp "$T_DIR/state.orig" "$st"
	run 0 pel run --sandbox recyc true

	run 0 pel sandbox rm dead1 recyc
	run 1 pel run --sandbox dead1 touch "$T_DIR/ran"
	one_error "run: no such sandbox 'dead1'"
	run 1 pel run --sandbox "$id2" touch "$T_DIR/ran"
	one_error "no such sandbox '$id2'"
	[ -e "$T_DIR/ran" ] && fail "CMD ran for a removed sandbox"
	return 0
}

t_inspect() {
	id=$(create --name insp --hostname hh)
	s8=$(echo "$id" | cut -c1-8)
	run 0 pel sandbox inspect insp
	ip=$(skey "$id" eth0.ip | cut -d/ -f1)
	cg=
	[ "$PELAGOS_CGROUP_PARENT" = none ] || cg=$PELAGOS_CGROUP_PARENT/$id
	expect_eq "$(sed 's/,"usage":.*//' "$OUT")" "{\"id\":\"$id\",\"name\":\"insp\",\"pause_pid\":$(skey "$id" pause_pid),\"ns_name\":\"psb-$s8\",\"veth_host\":\"vh-$s8\",\"container_ip\":\"$ip\",\"namespaces\":{\"network\":\"Pod\",\"pid\":\"Container\",\"ipc\":\"Pod\"},\"interfaces\":[{\"name\":\"eth0\",\"network\":\"pelagos0\",\"veth_host\":\"vh-$s8\",\"bridge\":\"$BR\",\"mac\":\"$(mac_of "$ip")\",\"mtu\":0,\"addresses\":[\"$ip/24\"],\"gateway\":\"$GW\",\"gateway6\":\"\"}],\"nat\":false,\"ports\":[],\"egress\":[],\"status\":\"running\",\"hostname\":\"hh\",\"created\":$(skey "$id" created),\"bridge\":\"$BR\",\"gateway\":\"$GW\",\"cgroup\":\"$cg\",\"limits\":{\"memory\":0,\"memory_swap\":0,\"cpu_quota\":0,\"pids_max\":0,\"cpu_weight\":0}" \
	    "inspect by name"
	if [ -n "$cg" ]; then
		grep -Eq ',"usage":\{"memory":(null|[0-9]+),"cpu_usec":[0-9]+,"pids":(null|[0-9]+)\},"antispoof":true,"egress_drops":null\}$' "$OUT" ||
		    fail "inspect's usage: $(cat "$OUT")"
	else
		grep -q ',"usage":null,"antispoof":true,"egress_drops":null}$' "$OUT" ||
		    fail "usage without cgroup: $(cat "$OUT")"
	fi
	sed 's/,"usage":.*//' "$OUT" >"$T_DIR/by-name"
	run 0 pel sandbox inspect "$id"
	sed 's/,"usage":.*//' "$OUT" >"$T_DIR/by-id"
	cmp -s "$T_DIR/by-id" "$T_DIR/by-name" ||
	    fail "inspect by ID differs from by name"
	h=$(create --host-net --host-ipc --pod-pid)
	run 0 pel sandbox inspect "$h"
	grep -qF "\"name\":null,\"pause_pid\":$(skey "$h" pause_pid),\"ns_name\":\"\",\"veth_host\":\"\",\"container_ip\":\"\",\"namespaces\":{\"network\":\"Node\",\"pid\":\"Pod\",\"ipc\":\"Node\"},\"interfaces\":[],\"nat\":false,\"ports\":[],\"egress\":[],\"status\":\"running\",\"hostname\":\"$(echo "$h" | cut -c1-8)\"" "$OUT" ||
	    fail "inspect of a host-net sandbox: $(cat "$OUT")"
	grep -qF '"bridge":"","gateway":"",' "$OUT" || fail "host-net bridge: $(cat "$OUT")"
	pp=$(skey "$h" pause_pid)
	kill -9 "$pp"
	poll 5 gone "$pp" || fail "pause survived SIGKILL"
	run 0 pel sandbox inspect "$h"
	grep -qF '"status":"dead"' "$OUT" || fail "dead sandbox: $(cat "$OUT")"
	run 1 pel sandbox inspect nosuch
	one_error "sandbox inspect: no such sandbox 'nosuch'"
	run 2 pel sandbox inspect
	one_error "missing ID or NAME"
	run 2 pel sandbox inspect insp extra
	one_error "unexpected argument 'extra'"
	run 2 pel sandbox inspect --x
	one_error "unknown option '--x'"
	run 0 pel sandbox rm insp "$h"
}

t_ls_quiet() {
	run 0 pel sandbox ls -q
	[ -s "$OUT" ] && fail "ls -q of an empty root printed: $(cat "$OUT")"
	a=$(create)
	b=$(create --name q2)
	pp=$(skey "$b" pause_pid)
	kill -9 "$pp"
	poll 5 gone "$pp" || fail "pause survived SIGKILL"
	run 0 pel sandbox ls -q
	expect_eq "$(cat "$OUT")" "$(printf '%s\n%s\n' "$a" "$b" | sort)" "ls -q"
	run 0 pel sandbox ls --quiet
	expect_eq "$(cat "$OUT")" "$(printf '%s\n%s\n' "$a" "$b" | sort)" "ls --quiet"
	run 2 pel sandbox ls -q --json
	one_error "-q and --json exclude each other"
	for i in $(pel sandbox ls -q); do
		pel sandbox rm "$i" || fail "rm $i from ls -q"
	done
	run 0 pel sandbox ls -q
	[ -s "$OUT" ] && fail "ls -q after rm printed: $(cat "$OUT")"
	return 0
}
