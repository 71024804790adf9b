# SPDX-License-Identifier: Apache-2.0
# Confinement: the pod's cgroup and its limits, and what a workload may
# do by default, each escape tried from inside a workload.  Limits need
# the memory, cpu and pids controllers of a cgroup2 (the initramfs boot
# has them); a host whose cgroup2 has none (v1 controllers) shows the
# refusal instead.
TESTS="$TESTS t_confine_cgroup t_confine_cgroup_kill t_confine_prune"
TESTS="$TESTS t_confine_no_cgroup t_confine_limit_args t_confine_limits"
TESTS="$TESTS t_confine_oom t_confine_pids t_confine_cpu t_confine_defaults"
TESTS="$TESTS t_confine_seccomp t_confine_masks t_confine_escapes"
TESTS="$TESTS t_confine_user t_confine_optouts t_confine_rm_faults"
TESTS="$TESTS t_confine_reference"

# Helpers are c_-prefixed: every t_*.sh is sourced into one shell.

c_need_cgroup() {
	[ -d "$CG_MOUNT" ] || skip "no cgroup2 mounted"
}

# c_have CTL: the run's cgroup parent hands CTL on to pods.
c_have() {
	grep -qw "$1" "$CG_MOUNT/cgroup.subtree_control" 2>/dev/null
}

c_need_controllers() {
	c_need_cgroup
	for _c in memory cpu pids; do
		c_have "$_c" || skip "the cgroup2 at $CG_MOUNT has no $_c" \
		    "controller (the initramfs boot has them)"
	done
}

# c_own_parent NAME: a cgroup parent of this test's own (run.sh removes
# any left): a limit hands its controller on to every pod of a parent,
# and the other tests' pods would pay for it (with cpu, as one group to
# the scheduler against the tests' creates).
c_own_parent() {
	PELAGOS_CGROUP_PARENT=$PELAGOS_CGROUP_PARENT-$1
	export PELAGOS_CGROUP_PARENT
}

c_own_parent_done() {
	rmdir "$PELAGOS_CGROUP_PARENT" ||
	    fail "cgroups left in $PELAGOS_CGROUP_PARENT"
}

# c_cg ID: the pod's cgroup, as the state records it.
c_cg() {
	skey "$1" cgroup
}

# c_leaf PID: the cgroup directory PID is in.
c_leaf() {
	echo "$CG_MOUNT$(sed -n 's/^0:://p' "/proc/$1/cgroup")"
}

c_wl() {
	_p=$(pel run -d "$@") || fail "run -d $* failed"
	echo "$_p $(sed 's/.*) //' "/proc/$_p/stat" | cut -d' ' -f20)" >>"$T_DIR/pids"
	echo "$_p"
}

# The pauses in the pod's leaf, each workload in a leaf of its own,
# removed when a run ends; rm removes the pod's cgroup.
t_confine_cgroup() {
	c_need_cgroup
	a=$(create --name g1)
	b=$(create --pod-pid)
	cg=$(c_cg "$a")
	expect_eq "$cg" "$PELAGOS_CGROUP_PARENT/$a" "recorded cgroup"
	expect_eq "$(c_leaf "$(skey "$a" pause_pid)")" "$cg/pause" "pause's cgroup"
	pp=$(skey "$b" pause_pid)
	outer=$(sed 's/.*) //' "/proc/$pp/stat" | cut -d' ' -f2)
	expect_eq "$(sort "$(c_cg "$b")/pause/cgroup.procs" | tr '\n' ' ')" \
	    "$(printf '%s\n%s\n' "$pp" "$outer" | sort | tr '\n' ' ')" \
	    "both pauses of a --pod-pid sandbox in its leaf"
	w1=$(c_wl --sandbox g1 sleep 30)
	w2=$(c_wl --sandbox g1 sleep 30)
	l1=$(c_leaf "$w1")
	l2=$(c_leaf "$w2")
	case $l1 in "$cg"/w*) ;; *) fail "workload in $l1, not a leaf of $cg" ;; esac
	[ "$l1" != "$l2" ] || fail "two workloads share the leaf $l1"
	expect_eq "$(c_leaf "$(sed -n 's/^PPid:[[:space:]]*//p' /proc/$w1/status)")" \
	    "$l1" "the workload's init's cgroup"
	run 0 pel run --sandbox g1 sh -c 'sed -n "s/^0:://p" /proc/self/cgroup'
	l3=$CG_MOUNT$(cat "$OUT")
	case $l3 in "$cg"/w*) ;; *) fail "run in $l3" ;; esac
	[ -d "$l3" ] && fail "the leaf of an ended run stays: $l3"
	run 0 pel sandbox inspect g1
	grep -qF "\"cgroup\":\"$cg\"" "$OUT" || fail "inspect: $(cat "$OUT")"
	run 1 pel sandbox rm g1
	one_error "sandbox $a: 4 processes still in it"
	run 0 pel sandbox rm -f g1 "$b"
	[ -d "$cg" ] && fail "rm left $cg"
	gone "$w1" && gone "$w2" || fail "rm -f left a workload"
}

# rm kills the pod's cgroup whole: a workload's orphans, processes that
# left its PID namespace, all at once.
t_confine_cgroup_kill() {
	c_need_cgroup
	id=$(create)
	w=$(c_wl --sandbox "$id" sh -c 'sleep 60 & setsid sleep 61 & exec sleep 62')
	leaf=$(c_leaf "$w")
	forked() { [ "$(wc -l <"$leaf/cgroup.procs")" -ge 4 ]; }
	poll 5 forked || fail "workload never forked: $(cat "$leaf/cgroup.procs")"
	pids=$(cat "$leaf/cgroup.procs")
	cg=$(c_cg "$id")
	run 0 pel sandbox rm -f "$id"
	for p in $pids; do
		gone "$p" || fail "process $p of the pod survived rm -f"
	done
	[ -d "$cg" ] && fail "rm -f left $cg"
	return 0
}

# prune removes a dead pod with its cgroup, and the cgroups of pods the
# root no longer has if nothing runs in them; a populated one it leaves.
t_confine_prune() {
	c_need_cgroup
	id=$(create)
	cg=$(c_cg "$id")
	pp=$(skey "$id" pause_pid)
	kill -9 "$pp"
	poll 5 gone "$pp" || fail "pause survived SIGKILL"
	mkdir -p "$PELAGOS_CGROUP_PARENT/0000000000000001/w1" \
	    "$PELAGOS_CGROUP_PARENT/0000000000000002/pause"
	sleep 100 </dev/null >/dev/null 2>&1 &
	s=$!
	echo "$s $(sed 's/.*) //' "/proc/$s/stat" | cut -d' ' -f20)" >>"$T_DIR/pids"
	echo "$s" >"$PELAGOS_CGROUP_PARENT/0000000000000002/pause/cgroup.procs"
	run 0 pel sandbox prune
	expect_eq "$(cat "$OUT")" "$id" "prune's output"
	[ -d "$cg" ] && fail "prune left the dead pod's $cg"
	[ -d "$PELAGOS_CGROUP_PARENT/0000000000000001" ] &&
	    fail "prune left an empty cgroup of no pod"
	[ -d "$PELAGOS_CGROUP_PARENT/0000000000000002/pause" ] ||
	    fail "prune removed a cgroup something runs in"
	alive "$s" || fail "prune killed a process of a cgroup of no pod"
	cg_remove "$PELAGOS_CGROUP_PARENT/0000000000000002"
}

# Without a cgroup2 (PELAGOS_CGROUP_PARENT=none stands in for one) pods
# work as before and say they have no cgroup; a limit is an error.
t_confine_no_cgroup() {
	export PELAGOS_CGROUP_PARENT=none
	id=$(create --name nc)
	expect_eq "$(c_cg "$id")" - "recorded cgroup"
	run 0 pel sandbox inspect nc
	grep -qF '"cgroup":"","limits":{"memory":0,' "$OUT" &&
	    grep -q '"usage":null,"antispoof":true,"egress_drops":null}$' "$OUT" ||
	    fail "inspect: $(cat "$OUT")"
	run 0 pel run --sandbox nc true
	run 1 pel run --sandbox nc --pids 10 true
	one_error "run: --pids needs the pids controller of a cgroup2: the sandbox has none"
	run 1 pel sandbox create --memory 64m
	one_error "sandbox create: --memory needs the memory controller of a cgroup2: no cgroup2 is mounted"
	run 0 pel sandbox rm nc
	expect_eq "$(ls "$ROOT/sandboxes")" "" "sandboxes after refused creates"
	PELAGOS_CGROUP_PARENT=relative/path
	run 1 pel sandbox create
	one_error "invalid PELAGOS_CGROUP_PARENT"
}

# Limit values: usage errors; and, where the controllers are missing, a
# clear error naming the controller and nothing made.
t_confine_limit_args() {
	for a in "--memory 64x" "--memory 0" "--memory-swap 1.5g" \
	    "--cpus 0.001" "--cpus 1.2345" "--cpus x" "--pids 0" \
	    "--pids -1" "--cpu-weight 0" "--cpu-weight 10001"; do
		run 2 pel sandbox create $a
		one_error "invalid ${a% *} '${a#* }'"
		run 2 pel run --sandbox x $a true
		one_error "invalid ${a% *} '${a#* }'"
	done
	c_need_cgroup
	run 1 pel sandbox create --memory-swap 64m
	one_error "--memory-swap needs --memory"
	run 1 pel sandbox create --memory 64m --memory-swap 32m
	one_error "--memory-swap needs --memory, and as much"
	id=$(create --name la)
	for a in "--memory 64m:memory" "--cpus 0.5:cpu" "--pids 10:pids" \
	    "--cpu-weight 50:cpu"; do
		c=${a#*:}
		a=${a%:*}
		c_have "$c" && continue
		note "no $c controller: $a refused"
		run 1 pel sandbox create $a
		one_error "sandbox create: ${a% *} needs the $c controller, which cgroup $PELAGOS_CGROUP_PARENT does not hand on"
		run 1 pel run --sandbox la $a true
		one_error "run: ${a% *} needs the $c controller, which cgroup $(c_cg "$id") does not hand on"
	done
	expect_eq "$(ls "$ROOT/sandboxes")" "$id" "sandboxes after refused creates"
	expect_eq "$(cd "$PELAGOS_CGROUP_PARENT" && ls -d */)" "$id/" \
	    "cgroups after refused creates"
	expect_eq "$(cd "$(c_cg "$id")" && ls -d */)" "pause/" \
	    "leaves after refused runs"
	run 0 pel sandbox rm la
}

# Limits as the kernel's files hold them, the pod's and a workload's, and
# in inspect with the usage.
t_confine_limits() {
	c_need_controllers
	c_own_parent limits
	id=$(create --name lim --memory 64m --memory-swap 96m --cpus 0.5 \
	    --pids 100 --cpu-weight 50)
	cg=$(c_cg "$id")
	expect_eq "$(cat "$cg/memory.max")" 67108864 "memory.max"
	expect_eq "$(cat "$cg/memory.swap.max")" 33554432 "memory.swap.max"
	expect_eq "$(cat "$cg/cpu.max")" "50000 100000" "cpu.max"
	expect_eq "$(cat "$cg/pids.max")" 100 "pids.max"
	expect_eq "$(cat "$cg/cpu.weight")" 50 "cpu.weight"
	expect_eq "$(skey "$id" memory) $(skey "$id" memory_swap) $(skey "$id" cpu_quota) $(skey "$id" pids_max) $(skey "$id" cpu_weight)" \
	    "67108864 100663296 50000 100 50" "limits in the state"
	run 0 pel sandbox inspect lim
	grep -qF '"limits":{"memory":67108864,"memory_swap":100663296,"cpu_quota":50000,"pids_max":100,"cpu_weight":50},"usage":{"memory":' "$OUT" ||
	    fail "inspect: $(cat "$OUT")"
	grep -Eq '"usage":\{"memory":[1-9][0-9]*,"cpu_usec":[0-9]+,"pids":[12]\}[,}]' "$OUT" ||
	    fail "inspect's usage: $(cat "$OUT")"
	w=$(c_wl --sandbox lim --memory 32m --pids 5 --cpus 0.25 sleep 30)
	l=$(c_leaf "$w")
	expect_eq "$(cat "$l/memory.max" "$l/pids.max" "$l/cpu.max" | tr '\n' ' ')" \
	    "33554432 5 25000 100000 " "a workload's own limits"
	run 0 pel sandbox rm -f lim
	c_own_parent_done
}

# A workload that allocates past its pod's memory is OOM-killed inside the
# pod; the pause lives on, and run says so.
t_confine_oom() {
	c_need_controllers
	c_own_parent oom
	id=$(create --name oom --memory 32m --memory-swap 32m)
	pp=$(skey "$id" pause_pid)
	st=$(skey "$id" pause_start)
	# dd's one block is a 64 MiB buffer.
	run 137 pel run --sandbox oom dd if=/dev/zero of=/dev/null bs=64M count=1
	one_error "run: dd: out of memory: the OOM killer killed 1 process of it"
	alive "$pp" && [ "$(sed 's/.*) //' "/proc/$pp/stat" | cut -d' ' -f20)" = "$st" ] ||
	    fail "the pause did not survive the OOM kill"
	grep -q '^oom_kill [1-9]' "$(c_cg "$id")/memory.events" ||
	    fail "memory.events: $(cat "$(c_cg "$id")/memory.events")"
	run 0 pel run --sandbox oom true
	run 0 pel sandbox rm oom
	c_own_parent_done
}

# --pids stops a fork loop at the limit.
t_confine_pids() {
	c_need_controllers
	c_own_parent pids
	id=$(create --name pl --pids 8)
	cg=$(c_cg "$id")
	w=$(c_wl --sandbox pl sh -c 'i=0; while [ $i -lt 30 ]; do sleep 60 & i=$((i + 1)); done; wait')
	leaf=$(c_leaf "$w")
	# Linux before 6.2 counts the refusal in the forking task's cgroup,
	# later ones (also) in the one whose limit it hit.
	hit() { grep -q '^max [1-9]' "$cg/pids.events" "$leaf/pids.events"; }
	poll 10 hit || fail "the fork loop never hit pids.max: $(cat "$cg/pids.events" "$leaf/pids.events")"
	[ "$(cat "$cg/pids.current")" -le 8 ] ||
	    fail "pids.current $(cat "$cg/pids.current") over 8"
	note "pids.events: $(cat "$cg/pids.events" "$leaf/pids.events" | tr '\n' ' '), current $(cat "$cg/pids.current")"
	run 0 pel sandbox rm -f pl
	gone "$w" || fail "the fork loop survived rm -f"
	c_own_parent_done
}

# --cpus 0.2 bounds a busy loop: over an interval bounded by the CPU time
# it takes, the loop gets at most about a fifth of it, and was throttled.
t_confine_cpu() {
	c_need_controllers
	c_own_parent cpu
	id=$(create --name cpu --cpus 0.2)
	cg=$(c_cg "$id")
	w=$(c_wl --sandbox cpu sh -c 'while :; do :; done')
	usage() { sed -n 's/^usage_usec //p' "$cg/cpu.stat"; }
	u0=$(usage)
	t0=$(cut -d' ' -f1 /proc/uptime)
	used() { [ $(($(usage) - u0)) -ge 300000 ]; }
	poll 30 used || fail "the loop got no CPU: $(cat "$cg/cpu.stat")"
	u1=$(usage)
	t1=$(cut -d' ' -f1 /proc/uptime)
	share=$(awk -v u=$((u1 - u0)) -v a="$t0" -v b="$t1" \
	    'BEGIN { printf "%d", u / ((b - a) * 1e6) * 100 }')
	note "busy loop under --cpus 0.2: $((u1 - u0)) us of CPU in $t0..$t1 s: $share%"
	[ "$share" -le 30 ] || fail "the loop got $share% of a CPU under --cpus 0.2"
	grep -q '^nr_throttled [1-9]' "$cg/cpu.stat" ||
	    fail "never throttled: $(cat "$cg/cpu.stat")"
	run 0 pel sandbox rm -f cpu
	gone "$w" || fail "the loop survived rm -f"
	c_own_parent_done
}

# c_status: CMD's capability sets, no_new_privs and seccomp mode.
C_STATUS='grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\t " " " | tr "\n" " "'
C_DEFAULT="CapInh: 0000000000000000 CapPrm: 00000000800405fb CapEff: 00000000800405fb CapBnd: 00000000800405fb CapAmb: 0000000000000000 NoNewPrivs: 1 Seccomp: 2 "

# Every default, seen from inside: podman's capabilities, no_new_privs,
# the filter, and the calls it refuses; with and without --rootfs, in
# both kinds of PID namespace.
t_confine_defaults() {
	mkrootfs
	a=$(create)
	b=$(create --pod-pid)
	for s in "$a" "$b"; do
		for r in "" "--rootfs $RFS"; do
			run 0 pel run --sandbox "$s" $r sh -c "$C_STATUS; echo
			    unshare -n true 2>&1 || echo refused
			    unshare -U true 2>&1 || echo refused
			    busybox mount -t tmpfs none /tmp 2>&1 || echo refused"
			expect_eq "$(sed -n 1p "$OUT")" "$C_DEFAULT" "status ($r)"
			expect_eq "$(grep -c '^refused$' "$OUT")" 3 \
			    "unshare -n, unshare -U, mount refused ($r): $(cat "$OUT")"
			expect_eq "$(grep -ci 'not permitted\|permission denied' "$OUT")" 3 \
			    "EPERM for each ($r): $(cat "$OUT")"
		done
	done
	# The init, PID 1 of what CMD sees, is confined alike.
	w=$(c_wl --sandbox "$a" sleep 30)
	init=$(sed -n 's/^PPid:[[:space:]]*//p' /proc/$w/status)
	for p in "$w" "$init"; do
		expect_eq "$(grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/$p/status | tr -s '\t ' '  ' | tr '\n' ' ')" \
		    "$C_DEFAULT" "status of $p"
	done
	run 0 pel sandbox rm -f "$a" "$b"
}

C_SYSPROBE='#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
/* Each call with harmless arguments; prints "name errno" (0: success). */
static const struct { const char *name; long nr, a0, a1; } calls[] = {
	{ "kexec_load", SYS_kexec_load }, { "kexec_file_load", SYS_kexec_file_load, -1, -1 },
	{ "init_module", SYS_init_module }, { "finit_module", SYS_finit_module, -1 },
	{ "delete_module", SYS_delete_module }, { "bpf", SYS_bpf, -1 },
	{ "perf_event_open", SYS_perf_event_open }, { "keyctl", SYS_keyctl, 0, -3 },
	{ "add_key", SYS_add_key }, { "request_key", SYS_request_key },
	{ "open_by_handle_at", SYS_open_by_handle_at, -1 },
	{ "userfaultfd", SYS_userfaultfd, -1 }, { "swapon", SYS_swapon },
	{ "swapoff", SYS_swapoff }, { "reboot", SYS_reboot },
	{ "settimeofday", SYS_settimeofday, 1 }, { "clock_settime", SYS_clock_settime },
	{ "adjtimex", SYS_adjtimex }, { "mount", SYS_mount }, { "umount2", SYS_umount2 },
	{ "pivot_root", SYS_pivot_root }, { "move_mount", SYS_move_mount, -1 },
	{ "fsopen", SYS_fsopen }, { "unshare_net", SYS_unshare, CLONE_NEWNET },
	{ "clone3", 435 }, { "clone_newuser", SYS_clone, CLONE_NEWUSER | SIGCHLD },
	{ "unshare_user", SYS_unshare, CLONE_NEWUSER },
};
int main(void)
{
	unsigned i;
	long r;

	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		errno = 0;
		r = syscall(calls[i].nr, calls[i].a0, calls[i].a1, 0, 0, 0);
		if (r == 0 && calls[i].nr == SYS_clone)
			_exit(0);
		if (r > 0 && calls[i].nr == SYS_clone)
			waitpid(r, NULL, 0);
		printf("%s %d\n", calls[i].name, r < 0 ? errno : 0);
	}
	return 0;
}'

# c_sysprobe: a static helper in $T_DIR/sysprobe that makes each call the
# filter must refuse.
c_sysprobe() {
	command -v cc >/dev/null 2>&1 || skip "no C compiler for the syscall probe"
	printf '%s\n' "$C_SYSPROBE" >"$T_DIR/sysprobe.c"
	cc -static -O2 -o "$T_DIR/sysprobe" "$T_DIR/sysprobe.c" 2>"$T_DIR/cc.err" ||
	    skip "cannot build a static syscall probe: $(head -c 200 "$T_DIR/cc.err")"
}

# The default filter refuses every call the issue names with EPERM, and
# clone3 with ENOSYS; --seccomp=unconfined lets keyctl through.
t_confine_seccomp() {
	c_sysprobe
	mkrootfs
	cp "$T_DIR/sysprobe" "$RFS/bin/sysprobe"
	id=$(create)
	run 0 pel run --sandbox "$id" --rootfs "$RFS" sysprobe
	cp "$OUT" "$T_DIR/probe.default"
	while read -r name e; do
		want=1
		[ "$name" = clone3 ] && want=38
		[ "$e" = "$want" ] || fail "$name returned errno $e, not $want"
	done <"$T_DIR/probe.default"
	expect_eq "$(wc -l <"$T_DIR/probe.default")" 27 "calls probed"
	run 0 pel run --sandbox "$id" --rootfs "$RFS" --seccomp=unconfined sysprobe
	grep -qx 'keyctl 0' "$OUT" || fail "keyctl refused without the filter: $(cat "$OUT")"
	grep -qx 'clone3 38' "$OUT" && fail "clone3 ENOSYS without the filter"
	run 0 pel sandbox rm "$id"
}

# With --rootfs: the OCI runtimes' masked and read-only paths, /dev
# nosuid and noexec, /sys read-only for good.
t_confine_masks() {
	mkrootfs
	id=$(create)
	run 0 pel run --sandbox "$id" --rootfs "$RFS" cat /proc/self/mountinfo
	cp "$OUT" "$T_DIR/mi"
	masked="/proc/acpi /proc/kcore /proc/keys /proc/latency_stats
	    /proc/timer_list /proc/timer_stats /proc/sched_debug /proc/scsi
	    /sys/firmware /sys/fs/selinux /sys/dev/block"
	masked=$(echo $masked)
	for p in $masked; do
		[ -e "$p" ] || continue
		awk -v p="$p" '$5 == p' "$T_DIR/mi" | grep -q ' - tmpfs ' ||
		    fail "$p not masked: $(awk -v p="$p" '$5 == p' "$T_DIR/mi")"
	done
	# What each shows inside: nothing.
	run 0 pel run --sandbox "$id" --rootfs "$RFS" sh -c "for p in $masked; do
	    if [ -d \$p ]; then ls -A \$p; elif [ -e \$p ]; then cat \$p; fi
	    done"
	[ -s "$OUT" ] && fail "masked paths show: $(head -c 200 "$OUT")"
	for p in /proc/asound /proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger; do
		[ -e "$p" ] || continue
		awk -v p="$p" '$5 == p { print $6 }' "$T_DIR/mi" | grep -q '^ro,' ||
		    fail "$p not read-only"
	done
	awk '$5 == "/dev"' "$T_DIR/mi" | grep -q 'nosuid.*noexec' ||
	    fail "/dev: $(awk '$5 == "/dev"' "$T_DIR/mi")"
	awk '$5 == "/sys"' "$T_DIR/mi" | grep -q ' ro,' || fail "/sys not read-only"
	run 1 pel run --sandbox "$id" --rootfs "$RFS" mount -o remount,rw /sys
	run 1 pel run --sandbox "$id" --rootfs "$RFS" touch /sys/kernel/x
	run 1 pel run --sandbox "$id" --rootfs "$RFS" sh -c 'echo 1 >/proc/sys/vm/drop_caches'
	grep -q 'Read-only' "$ERR" || fail "/proc/sys: $(cat "$ERR")"
	run 0 pel sandbox rm "$id"
}

# Each way out that a workload is handed, tried from inside: refused.
t_confine_escapes() {
	mkrootfs
	echo host-only >"$T_DIR/marker"
	a=$(create --name ea --hostname ea)
	b=$(create --name eb --pod-pid)
	other=/run/netns/psb-$(echo "$b" | cut -c1-8)
	# An inherited descriptor to a host directory.
	exec 7<"$T_DIR"
	for s in ea eb; do
		run 0 pel run --sandbox $s --rootfs "$RFS" sh -c \
		    'ls /proc/self/fd; cat /proc/self/fd/7/marker 2>&1; ls /proc/1/fd 2>&1'
		grep -q host-only "$OUT" && fail "$s: the inherited fd reaches the host: $(cat "$OUT")"
		grep -qx 7 "$OUT" && fail "$s: fd 7 stayed open: $(cat "$OUT")"
	done
	exec 7<&-
	# /proc/1 is the init (ea) or the pause (eb), both non-dumpable, and
	# neither with a way into the host.
	for s in ea eb; do
		for f in "ls /proc/1/root/" "ls /proc/1/cwd/" "cat /proc/1/environ"; do
			run 1 pel run --sandbox $s --rootfs "$RFS" $f
			grep -q 'Permission denied' "$ERR" || fail "$s: $f: $(cat "$ERR")"
		done
		run 0 pel run --sandbox $s --rootfs "$RFS" sh -c 'ls /proc/1/fd 2>&1'
		# The pause's one descriptor past stdio is its live lock, a
		# read-only open of its own state file, and no workload opens
		# it through /proc.
		grep -v '^4$' "$OUT" | grep -q '^[3-9]\|[0-9][0-9]' &&
		    fail "$s: PID 1 holds: $(cat "$OUT")"
		run 1 pel run --sandbox $s --rootfs "$RFS" cat /proc/1/fd/4
		grep -q 'Permission denied\|No such file' "$ERR" ||
		    fail "$s: /proc/1/fd/4: $(cat "$OUT" "$ERR")"
	done
	run 1 pel run --sandbox eb cat "/proc/$(skey "$b" pause_pid)/root$T_DIR/marker"
	grep -q 'Permission denied' "$ERR" || fail "the pause's root: $(cat "$ERR")"
	for p in $(skey "$b" pause_pid) $(skey "$a" pause_pid); do
		expect_eq "$(ls -A /proc/$p/root/ /proc/$p/cwd/ | tr -d '\n')" \
		    "/proc/$p/cwd/:/proc/$p/root/:" "what the pause's root and cwd hold"
		expect_eq "$(ls -A /proc/$p/root/../ | wc -l)" 0 "the pause's root's parent"
		[ -e "/proc/$p/root$T_DIR/marker" ] && fail "pause $p's root reaches the host"
	done
	# Namespaces: the host's, another pod's.
	run 1 pel run --sandbox ea nsenter --net=/proc/1/ns/net true
	run 1 pel run --sandbox ea nsenter --net="$other" true
	grep -q 'Operation not permitted' "$ERR" || fail "nsenter: $(cat "$ERR")"
	run 1 pel run --sandbox ea --rootfs "$RFS" nsenter -t 1 -m true
	# The pod's hostname.
	for r in "" "--rootfs $RFS"; do
		run 1 pel run --sandbox ea $r hostname changed
		run 1 pel run --sandbox ea $r unshare -u hostname changed
	done
	run 1 pel run --sandbox ea --rootfs "$RFS" sh -c 'echo changed >/proc/sys/kernel/hostname'
	run 0 pel run --sandbox ea hostname
	expect_eq "$(cat "$OUT")" ea "the pod's hostname"
	# Mounts, /sys.
	run 1 pel run --sandbox ea --rootfs "$RFS" mount -t tmpfs none /tmp
	run 1 pel run --sandbox ea --rootfs "$RFS" mount -o remount,rw /sys
	run 1 pel run --sandbox ea --rootfs "$RFS" mount -t sysfs none /tmp
	run 0 pel sandbox rm ea eb
}

t_confine_user() {
	mkrootfs
	id=$(create)
	for r in "" "--rootfs $RFS"; do
		run 0 pel run --sandbox "$id" $r --user 1000:1001 --group-add 5 \
		    --group-add 7 sh -c "id -u; id -g; id -G; $C_STATUS"
		expect_eq "$(sed -n 1,3p "$OUT" | tr '\n' ' ')" "1000 1001 1001 5 7 " "IDs ($r)"
		expect_eq "$(sed -n 4p "$OUT")" "CapInh: 0000000000000000 CapPrm: 0000000000000000 CapEff: 0000000000000000 CapBnd: 00000000800405fb CapAmb: 0000000000000000 NoNewPrivs: 1 Seccomp: 2 " \
		    "status of a user ($r)"
		run 0 pel run --sandbox "$id" $r --user 65534 sh -c 'id -u; id -g; id -G'
		expect_eq "$(cat "$OUT" | tr '\n' ' ')" "65534 65534 65534 " "--user without a group"
	done
	run 0 pel run --sandbox "$id" --user 0:0 sh -c "$C_STATUS"
	expect_eq "$(cat "$OUT")" "$C_DEFAULT" "--user 0:0"
	run 1 pel run --sandbox "$id" --rootfs "$RFS" --user 1000 touch /x
	echo secret >"$T_DIR/secret"
	chmod 600 "$T_DIR/secret"
	run 1 pel run --sandbox "$id" --user 1000 cat "$T_DIR/secret"
	grep -q 'Permission denied' "$ERR" || fail "user 1000 read a root file: $(cat "$ERR")"
	run 0 pel sandbox rm "$id"
}

# Every opt-out does what it says, and only that.
t_confine_optouts() {
	mkrootfs
	id=$(create)
	full=$(grep '^CapBnd:' /proc/self/status | tr -s '\t ' '  ' | cut -d' ' -f2)
	run 0 pel run --sandbox "$id" --privileged --rootfs "$RFS" sh -c "$C_STATUS; echo; awk '\$5 == \"/proc/keys\" || \$5 == \"/proc/sys\"' /proc/self/mountinfo | wc -l"
	expect_eq "$(sed -n 1p "$OUT")" "CapInh: 0000000000000000 CapPrm: $full CapEff: $full CapBnd: $full CapAmb: 0000000000000000 NoNewPrivs: 0 Seccomp: 0 " "--privileged"
	expect_eq "$(sed -n 2p "$OUT")" 0 "masks with --privileged"
	run 0 pel run --sandbox "$id" --seccomp=unconfined sh -c "$C_STATUS"
	expect_eq "$(cat "$OUT")" "$(echo "$C_DEFAULT" | sed 's/Seccomp: 2/Seccomp: 0/')" "--seccomp=unconfined"
	run 0 pel run --sandbox "$id" --allow-new-privileges sh -c "$C_STATUS"
	expect_eq "$(cat "$OUT")" "$(echo "$C_DEFAULT" | sed 's/NoNewPrivs: 1/NoNewPrivs: 0/')" "--allow-new-privileges"
	run 0 pel run --sandbox "$id" --cap-drop ALL --cap-add NET_ADMIN --cap-add cap_sys_time sh -c "$C_STATUS"
	expect_eq "$(cat "$OUT")" "$(echo "$C_DEFAULT" | sed 's/00000000800405fb/0000000002001000/g')" "--cap-drop ALL --cap-add"
	run 0 pel run --sandbox "$id" --cap-drop chown --cap-drop KILL sh -c "$C_STATUS"
	expect_eq "$(cat "$OUT")" "$(echo "$C_DEFAULT" | sed 's/00000000800405fb/00000000800405da/g')" "--cap-drop"
	run 0 pel run --sandbox "$id" --rootfs "$RFS" --read-only sh -c \
	    'touch /x 2>&1; touch /tmp/x && echo tmp; grep " / " /proc/self/mounts | cut -d" " -f4 | cut -d, -f1'
	expect_eq "$(cat "$OUT" | tr '\n' ' ')" "touch: /x: Read-only file system tmp ro " "--read-only"
	[ -e "$RFS/x" ] || [ -e "$RFS/tmp/x" ] && fail "--read-only wrote into $RFS"
	run 0 pel sandbox rm "$id"
}

# Every syscall of an rm of a pod with a cgroup and a workload, each
# occurrence failed with EIO in turn: rm fails with one line or succeeds,
# and a second rm -f leaves nothing, no cgroup either.
t_confine_rm_faults() {
	c_need_cgroup
	f_need_strace
	[ -z "${ASAN_OPTIONS:-}" ] || skip "sanitizer build (ASAN_OPTIONS set)"
	id=$(create)
	c_wl --sandbox "$id" sleep 60 >/dev/null
	strace -f -q -o "$T_DIR/rm.trace" "$PELAGOS" --root "$ROOT" sandbox rm -f "$id" ||
	    fail "traced rm failed"
	f_noleaks "$id" || fail "traced rm left:$(f_leaks "$id")"
	f_syscall_counts "$T_DIR/rm.trace" >"$T_DIR/rm.counts"
	points=0 failed=0 bad=""
	while read -r sys max; do
		case $F_EXCLUDE in *" $sys "*) continue ;; esac
		n=1
		while [ "$n" -le "$max" ]; do
			id=$(create)
			c_wl --sandbox "$id" sleep 60 >/dev/null
			strace -f -q -o /dev/null -e trace="$sys" \
			    -e inject="$sys:error=EIO:when=$n" "$PELAGOS" --root "$ROOT" \
			    sandbox rm -f "$id" >"$OUT" 2>"$ERR"
			rc=$?
			case $rc in
			0) ;;
			1) failed=$((failed + 1))
			   [ "$(wc -l <"$ERR")" = 1 ] && grep -q '^pelagos: ' "$ERR" ||
			       bad="$bad $sys#$n:$(tr '\n' '|' <"$ERR")" ;;
			*) bad="$bad $sys#$n:exit$rc" ;;
			esac
			pel sandbox rm -f "$id" >/dev/null 2>"$T_DIR/rm2.err" ||
			    bad="$bad $sys#$n:second-rm:$(cat "$T_DIR/rm2.err")"
			f_noleaks "$id" || { bad="$bad $sys#$n:left:$(f_leaks "$id")"; f_scrub "$id"; }
			points=$((points + 1))
			n=$((n + 1))
		done
	done <"$T_DIR/rm.counts"
	note "rm fault injection: $points points, $failed failed cleanly"
	[ -z "$bad" ] || fail "rm misbehaved at:$bad"
}

# c_podman ARGS: Debian's podman 4.3 on this test's own storage, with
# runc, cgroups of its own under $C_PCG in each hierarchy, no network.
c_podman() {
	podman --root "$C_PDIR/root" --runroot "$C_PDIR/run" \
	    --tmpdir "$C_PDIR/tmp" --storage-driver vfs --runtime runc \
	    --cgroup-manager cgroupfs --events-backend file "$@"
}

c_podman_clean() {
	for _d in /sys/fs/cgroup/*/"$C_PCG" /sys/fs/cgroup/"$C_PCG"; do
		[ -d "$_d" ] && find "$_d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	rm -rf "$C_PDIR"
}

# The reference: a default container of Debian's podman (runc) on the
# same busybox tree, against a default pelagos run --rootfs.  Capability
# sets and seccomp mode match; no_new_privs is 1 in ours (podman leaves
# it off); the masked and read-only paths are the same mounts; the calls
# our filter must refuse fail in ours, and what podman's do is noted.
t_confine_reference() {
	command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1 ||
	    skip "podman and runc not installed"
	c_sysprobe
	mkrootfs
	cp "$T_DIR/sysprobe" "$RFS/bin/sysprobe"
	C_PCG=pelagos-test-podman-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
	# podman refuses a run root over 50 characters.
	C_PDIR=$(mktemp -d /tmp/pelagos-podman.XXXXXX) || fail "mktemp"
	trap '_rc=$?; c_podman_clean; (exit $_rc); cleanup_test' EXIT
	tar -C "$RFS" -cf "$T_DIR/rootfs.tar" . || fail "tar of the rootfs"
	c_podman import "$T_DIR/rootfs.tar" localhost/pelagos-test-busybox >/dev/null 2>"$ERR" ||
	    fail "podman import: $(cat "$ERR")"
	probe="$C_STATUS; echo; sysprobe; awk '\$5 ~ /^\/(proc|sys)\// && \$5 !~ /^\/sys\/fs\/cgroup/ { for (i = 7; \$i != \"-\"; i++); print \$5, substr(\$6, 1, 2), \$(i + 1) }' /proc/self/mountinfo | sort"
	c_podman run --rm --network none --cgroup-parent "/$C_PCG" \
	    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
	    localhost/pelagos-test-busybox sh -c "$probe" >"$T_DIR/podman.out" 2>"$ERR" ||
	    fail "podman run: $(cat "$ERR")"
	id=$(create)
	run 0 pel run --sandbox "$id" --rootfs "$RFS" sh -c "$probe"
	cp "$OUT" "$T_DIR/pelagos.out"
	run 0 pel sandbox rm "$id"
	ours=$(sed -n 1p "$T_DIR/pelagos.out")
	theirs=$(sed -n 1p "$T_DIR/podman.out")
	for k in CapInh CapPrm CapEff CapBnd CapAmb Seccomp NoNewPrivs; do
		o=$(echo "$ours" | sed "s/.*$k: \([0-9a-f]*\).*/\1/")
		t=$(echo "$theirs" | sed "s/.*$k: \([0-9a-f]*\).*/\1/")
		note "$k: pelagos $o, podman $t"
		case $k in
		NoNewPrivs) expect_eq "$o/$t" "1/0" "NoNewPrivs (ours/podman's)" ;;
		*) expect_eq "$o" "$t" "$k against podman's" ;;
		esac
	done
	expect_eq "$(echo "$ours" | sed 's/.*CapEff: \([0-9a-f]*\).*/\1/')" 00000000800405fb "CapEff"
	grep ' ro \| rw ' "$T_DIR/pelagos.out" >"$T_DIR/pelagos.mounts"
	grep ' ro \| rw ' "$T_DIR/podman.out" >"$T_DIR/podman.mounts"
	note "masked and read-only mounts: $(tr '\n' ';' <"$T_DIR/pelagos.mounts")"
	cmp -s "$T_DIR/pelagos.mounts" "$T_DIR/podman.mounts" ||
	    fail "masked paths differ: ours $(tr '\n' ';' <"$T_DIR/pelagos.mounts") podman's $(tr '\n' ';' <"$T_DIR/podman.mounts")"
	sed -n '2,28p' "$T_DIR/pelagos.out" >"$T_DIR/pelagos.probe"
	sed -n '2,28p' "$T_DIR/podman.out" >"$T_DIR/podman.probe"
	note "syscall probe (name pelagos-errno podman-errno):" \
	    "$(paste -d' ' "$T_DIR/pelagos.probe" "$T_DIR/podman.probe" | awk '{ print $1, $2, $4 }' | tr '\n' ';')"
	while read -r name e; do
		case $name:$e in clone3:38|*:1) ;; *) fail "$name: ours returned errno $e" ;; esac
	done <"$T_DIR/pelagos.probe"
	c_podman rmi -f localhost/pelagos-test-busybox >/dev/null 2>&1
	c_podman_clean
}
