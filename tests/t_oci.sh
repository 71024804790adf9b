# SPDX-License-Identifier: Apache-2.0
# OCI runtimes joining a pelagos sandbox: `sandbox inspect --oci` prints
# the pod's namespaces as a bundle's linux.namespaces, and runc run from a
# `runc spec` bundle with them shares the pod's network, hostname and,
# for --pod-pid, its PID namespace.
TESTS="$TESTS t_oci_inspect t_oci_runc t_oci_crun"

# o_ns PID KIND: the namespace of a process, as readlink shows it.
o_ns() {
	readlink "/proc/$1/ns/$2"
}

t_oci_inspect() {
	id=$(create --name oci1 --hostname ocihost --pod-pid)
	pid=$(skey "$id" pause_pid)
	run 0 pel sandbox inspect --oci oci1
	expect_eq "$(cat "$OUT")" "[{\"type\":\"ipc\",\"path\":\"/proc/$pid/ns/ipc\"},{\"type\":\"uts\",\"path\":\"/proc/$pid/ns/uts\"},{\"type\":\"network\",\"path\":\"/proc/$pid/ns/net\"},{\"type\":\"pid\",\"path\":\"/proc/$pid/ns/pid\"}]" \
	    "inspect --oci of a --pod-pid pod"
	id2=$(create --host-net --host-ipc)
	pid2=$(skey "$id2" pause_pid)
	run 0 pel sandbox inspect --oci "$id2"
	expect_eq "$(cat "$OUT")" "[{\"type\":\"uts\",\"path\":\"/proc/$pid2/ns/uts\"}]" \
	    "a pod sharing the host's network and IPC has only its UTS"
	run 2 pel sandbox inspect --oci
	one_error "missing ID or NAME"
	run 2 pel sandbox inspect --ocx oci1
	one_error "unknown option"
	# A dead sandbox, whose pause PID may be anybody's by now, is refused.
	kill -9 "$pid"
	poll 5 gone "$pid" || fail "pause survived SIGKILL"
	run 1 pel sandbox inspect --oci oci1
	one_error "sandbox $id is not running"
	[ -s "$OUT" ] && fail "a dead sandbox's namespaces were printed"
	run 0 pel sandbox rm oci1
	run 0 pel sandbox rm "$id2"
}

# o_bundle DIR: a busybox rootfs and `runc spec`'s config.json in DIR.
o_bundle() {
	mkdir -p "$1/rootfs/bin" "$1/rootfs/proc" "$1/rootfs/tmp"
	cp /bin/busybox "$1/rootfs/bin/busybox"
	for _a in sh hostname readlink wget cat; do
		ln -s busybox "$1/rootfs/bin/$_a"
	done
	(cd "$1" && runc spec) || fail "runc spec"
}

# o_config DIR NAMESPACES CGROUP ARGS-JSON: the bundle's config with the
# pod's namespaces replacing the spec's of the same types, a cgroup of the
# test's own, no terminal, and the process's arguments.  runc spec's
# "hostname" goes: in a joined UTS namespace the runtime would set it for
# the whole pod.
o_config() {
	jq --argjson ns "$2" --arg cg "$3" --argjson args "$4" '
	    del(.hostname) |
	    .process.terminal = false | .process.args = $args |
	    .linux.cgroupsPath = $cg |
	    .linux.namespaces = ([.linux.namespaces[] |
	        select(.type as $t | $ns | map(.type) | index($t) | not)] + $ns)' \
	    "$1/config.json" >"$1/config.new" && mv "$1/config.new" "$1/config.json" ||
	    fail "jq on config.json"
}

o_trap() {
	O_CG=pelagos-oci-$BR
	trap '_orc=$?; o_cleanup "$_orc"; _orc=$?; (exit $_orc); cleanup_test' EXIT
}

o_cleanup() {
	_rc=$1
	kill_all_recorded "$T_DIR/kill"
	for _r in runc crun; do
		[ -d "$T_DIR/$_r" ] || continue
		for _c in $("$_r" --root "$T_DIR/$_r" list -q 2>/dev/null); do
			"$_r" --root "$T_DIR/$_r" delete -f "$_c" >/dev/null 2>&1
		done
	done
	_left=$(cgroup_sweep "$O_CG")
	[ -n "$_left" ] && [ "$_rc" = 0 ] && echo "FAIL: left$_left" >&2 && _rc=1
	return "$_rc"
}

# o_join RUNTIME: a container of RUNTIME in a running pod: same network
# namespace, same hostname, and it reaches a `pelagos run` workload of the
# pod over 127.0.0.1; with --pod-pid, the pod's PID 1 is its PID 1.
o_join() {
	rt=$1
	id=$(create --name "oci-$rt" --hostname "pod-$rt" --pod-pid)
	pid=$(skey "$id" pause_pid)
	mkdir -p "$T_DIR/www"
	echo "served inside the pod" >"$T_DIR/www/index.html"
	wl=$(pel run -d --sandbox "oci-$rt" -- busybox httpd -f -p 127.0.0.1:40781 \
	    -h "$T_DIR/www") || fail "pelagos run -d"
	echo "$wl $(sed 's/.*) //' "/proc/$wl/stat" | cut -d' ' -f20)" >>"$T_DIR/kill"
	fetch() {
		nsenter -t "$pid" -n busybox wget -q -O - http://127.0.0.1:40781/ \
		    >/dev/null 2>&1
	}
	poll 10 fetch || fail "the workload does not serve"
	run 0 pel sandbox inspect --oci "oci-$rt"
	ns=$(cat "$OUT")
	b=$T_DIR/bundle-$rt
	o_bundle "$b"
	o_config "$b" "$ns" "/$O_CG/$rt" '["sh", "-c", "for k in net uts ipc; do readlink /proc/self/ns/$k; done; hostname; cat /proc/1/cmdline | tr \"\\\\0\" \" \"; echo; wget -q -O - http://127.0.0.1:40781/"]'
	"$rt" --root "$T_DIR/$rt" run -b "$b" "oci-$BR-$rt" </dev/null >"$T_DIR/$rt.out" 2>&1 ||
	    fail "$rt run: $(cat "$T_DIR/$rt.out")"
	note "$rt in pod $id: $(tr '\n' '|' <"$T_DIR/$rt.out")"
	set -- $(sed -n 1,3p "$T_DIR/$rt.out")
	expect_eq "$1" "$(o_ns "$pid" net)" "$rt's network namespace"
	expect_eq "$2" "$(o_ns "$pid" uts)" "$rt's UTS namespace"
	expect_eq "$3" "$(o_ns "$pid" ipc)" "$rt's IPC namespace"
	expect_eq "$(sed -n 4p "$T_DIR/$rt.out")" "pod-$rt" "$rt's hostname"
	sed -n 5p "$T_DIR/$rt.out" | grep -q "__pause__ psb-" ||
	    fail "$rt's PID 1 is not the pod's pause: $(sed -n 5p "$T_DIR/$rt.out")"
	expect_eq "$(sed -n 6p "$T_DIR/$rt.out")" "served inside the pod" \
	    "$rt reached the pod's workload over 127.0.0.1"
	run 0 pel sandbox rm -f "oci-$rt"
	poll 5 gone "$wl" || fail "the workload survived rm -f"
}

t_oci_runc() {
	command -v runc >/dev/null 2>&1 || skip "runc not installed"
	command -v jq >/dev/null 2>&1 || skip "jq not installed"
	[ -x /bin/busybox ] || skip "busybox-static not installed"
	o_trap
	o_join runc
}

# Debian 12's crun refuses a host with hybrid cgroups (v1 controllers and
# a v2 mount): that is checked on a bundle without the pod, and only then
# does the test skip.
t_oci_crun() {
	command -v crun >/dev/null 2>&1 || skip "crun not installed"
	command -v jq >/dev/null 2>&1 || skip "jq not installed"
	[ -x /bin/busybox ] || skip "busybox-static not installed"
	o_trap
	b=$T_DIR/bundle-plain
	o_bundle "$b"
	o_config "$b" '[]' "/$O_CG/plain" '["true"]'
	if ! crun --root "$T_DIR/crun" run -b "$b" "oci-$BR-plain" </dev/null \
	    >"$T_DIR/plain.out" 2>&1; then
		grep -q "hybrid mode not supported" "$T_DIR/plain.out" &&
		    skip "crun cannot run any container here: $(head -c 120 "$T_DIR/plain.out")"
		fail "crun run of a plain bundle: $(cat "$T_DIR/plain.out")"
	fi
	o_join crun
}
