# SPDX-License-Identifier: Apache-2.0
# Helpers for the integration tests.  POSIX sh: the same suite runs under
# busybox sh in the initramfs test, so only busybox applets are used.
#
# Every test runs in a subshell with its own root ($ROOT), bridge ($BR) and
# /24 subnet ($NET.0/24, gateway $GW); the EXIT trap removes whatever the
# test made, and fails a test that passed but left something behind.

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "$*" >"$T_DIR/skip"
	exit 77
}

note() {
	echo "# $*" >&2
}

# poll SECONDS CMD...: true as soon as CMD succeeds, false once SECONDS
# have passed without it succeeding.
poll() {
	_n=$(($1 * 50))
	shift
	while [ "$_n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.02
		_n=$((_n - 1))
	done
	"$@"
}

pel() {
	"$PELAGOS" --root "$ROOT" "$@"
}

# run WANT_RC CMD...: runs CMD with stdout in $OUT and stderr in $ERR,
# and fails the test unless it exits WANT_RC.
run() {
	_want=$1
	shift
	"$@" >"$OUT" 2>"$ERR"
	_rc=$?
	[ "$_rc" -eq "$_want" ] || fail "'$*' exited $_rc, want $_want;" \
	    "stdout: $(head -c 300 "$OUT") stderr: $(head -c 300 "$ERR")"
}

# The error contract: exactly one line on stderr, starting "pelagos: ".
one_error() {
	[ "$(wc -l <"$ERR")" -eq 1 ] ||
	    fail "want one line on stderr, got: $(cat "$ERR")"
	grep -q '^pelagos: ' "$ERR" || fail "stderr lacks 'pelagos: ': $(cat "$ERR")"
	if [ $# -gt 0 ]; then
		grep -q -- "$1" "$ERR" || fail "stderr lacks '$1': $(cat "$ERR")"
	fi
}

expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
}

# skey ID KEY: a value from a sandbox's state file.
skey() {
	sed -n "s/^$2 //p" "$ROOT/sandboxes/$1/state"
}

# state_v1 PHASE: a version 2 state file on stdin rewritten as the
# previous release wrote it (version 1: a phase after the name, the
# creator's PID and start time before created, no boot ID nor anything
# after it).
state_v1() {
	sed -e 's/^pelagos-state 2$/pelagos-state 1/' -e '/^boot_id /,$d' \
	    -e "s/^name .*/&\\
phase $1/" \
	    -e 's/^created .*/creator_pid 1\
creator_start 1\
&/'
}

ino() {
	stat -L -c %i "$1"
}

alive() {
	[ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

gone() {
	! alive "$1"
}

# create [ARGS...]: creates a sandbox, remembers it for the cleanup and
# prints its ID.
create() {
	_id=$(pel sandbox create "$@") || fail "create $* failed"
	echo "$_id" >>"$T_DIR/ids"
	echo "$(skey "$_id" pause_pid) $(skey "$_id" pause_start)" >>"$T_DIR/pids"
	echo "$_id"
}

link_exists() {
	[ -e "/sys/class/net/$1" ]
}

# Kills a recorded pause only while its start time still matches.
kill_recorded() {
	[ -n "$1" ] && [ "$1" != 0 ] && [ -r "/proc/$1/stat" ] || return 0
	_start=$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20)
	[ "$_start" = "$2" ] && kill -9 "$1" 2>/dev/null
	return 0
}

# kill_all_recorded FILE: kill_recorded for each "pid start" line of FILE.
kill_all_recorded() {
	[ -f "$1" ] && while read -r _p _s; do
		kill_recorded "$_p" "$_s"
	done <"$1"
	return 0
}

# cgroup_sweep NAME: removes, deepest first, the cgroup trees named NAME
# at each hierarchy's top (engines a test starts make them, under a parent
# of the test's own); prints those that could not go.
cgroup_sweep() {
	for _h in /sys/fs/cgroup/"$1" /sys/fs/cgroup/*/"$1"; do
		[ -d "$_h" ] || continue
		find "$_h" -depth -type d -exec rmdir {} \; 2>/dev/null
		[ -d "$_h" ] && printf ' cgroup:%s' "$_h"
	done
	return 0
}

# Checks, for every sandbox the test created, that none of its objects
# remains, and removes any that does.  Prints what it found.
sweep() {
	_left=""
	if [ -d "$ROOT/sandboxes" ] && [ -n "$(ls "$ROOT/sandboxes")" ]; then
		_left="$_left state:$(ls "$ROOT/sandboxes" | tr '\n' ' ')"
		for _d in "$ROOT"/sandboxes/*; do
			pel sandbox rm "${_d##*/}" >/dev/null 2>&1
		done
	fi
	[ -f "$T_DIR/pids" ] && while read -r _p _s; do
		if [ -n "$_p" ] && [ "$_p" != 0 ] && alive "$_p" &&
		    [ "$(sed 's/.*) //' "/proc/$_p/stat" | cut -d' ' -f20)" = "$_s" ]; then
			_left="$_left pause:$_p"
			kill_recorded "$_p" "$_s"
		fi
	done <"$T_DIR/pids"
	[ -f "$T_DIR/ids" ] && while read -r _id; do
		_s8=$(echo "$_id" | cut -c1-8)
		if [ -e "/run/netns/psb-$_s8" ]; then
			_left="$_left netns:psb-$_s8"
			umount -l "/run/netns/psb-$_s8" 2>/dev/null
			rm -f "/run/netns/psb-$_s8"
		fi
		if grep -q "psb-$_s8" /proc/self/mountinfo; then
			_left="$_left mount:psb-$_s8"
		fi
		# The kernel may still be tearing a veth down with its namespace.
		if ! poll 5 eval "! link_exists vh-$_s8"; then
			_left="$_left veth:vh-$_s8"
			ip link del "vh-$_s8" 2>/dev/null
		fi
		if [ -d "$PELAGOS_CGROUP_PARENT/$_id" ]; then
			_left="$_left cgroup:$_id"
			cg_remove "$PELAGOS_CGROUP_PARENT/$_id"
		fi
	done <"$T_DIR/ids"
	echo "$_left"
}

cg_empty() {
	grep -q '^populated 0$' "$1/cgroup.events"
}

# cg_remove DIR: kills what is in a cgroup of ours and removes it.
cg_remove() {
	echo 1 >"$1/cgroup.kill" 2>/dev/null
	poll 5 cg_empty "$1"
	find "$1" -depth -type d -exec rmdir {} \; 2>/dev/null
}

cleanup_test() {
	_rc=$?
	trap - EXIT
	# File systems a test mounted ($T_DIR/mounts) come back writable for
	# the sweep, and go after it.
	[ -f "$T_DIR/mounts" ] && while read -r _m; do
		mount -o remount,rw "$_m" 2>/dev/null
	done <"$T_DIR/mounts"
	_left=$(sweep)
	if [ -n "$_left" ] && [ "$_rc" -eq 0 ]; then
		echo "FAIL: left behind:$_left" >&2
		_rc=1
	fi
	link_exists "$BR" && ip link del "$BR" 2>/dev/null
	rm -rf "$ROOT"
	[ -f "$T_DIR/mounts" ] && while read -r _m; do
		umount "$_m" 2>/dev/null || umount -l "$_m"
	done <"$T_DIR/mounts"
	exit "$_rc"
}
