# SPDX-License-Identifier: Apache-2.0
# Crash consistency on a persistent root.  The root lives on an ext4 of
# the test's own, loop-mounted with a 60 s commit interval (so nothing
# but an fsync makes a change durable), and the file system is shut down
# without a log flush (FS_IOC_GOINGDOWN with FSOP_GOINGDOWN_NOLOGFLUSH:
# `xfs_io -x -c shutdown`; its -f would flush the log first) right after
# a create or an rm returned, and with either SIGKILLed at each of its
# fsync, renameat, symlinkat, mkdir(at) and unlink(at) steps (strace kills
# it on entering the call, which then never runs).  Unmounting it and
# mounting (a copy of) its image replays the journal: what is on disk
# then is what a power cut at that point leaves.  The kernel's objects
# die with the power, so the test kills its pauses and removes its netns
# files and pod cgroups, and ls and prune run with a boot ID of their
# own, bind-mounted over /proc/sys/kernel/random/boot_id in a private
# mount namespace.
#
# Each sandbox must then be wholly there (its state parses), wholly gone
# (no directory, no link at it) or half-made (a directory without a
# state), which prune finishes; every change a command made before its
# last fsync returned is on disk; a create that printed its ID is there,
# an rm that returned is gone.  The witness w, made before each rm,
# must be whole after every rm crash.  Uses f_pauses, f_start, f_noleaks
# and f_leaks (t_faults.sh).
TESTS="$TESTS t_crash_consistency"

# Helpers are cr_-prefixed: every t_*.sh is sourced into one shell.

# The calls whose every occurrence is a crash point.
CR_CALLS=fsync,renameat,symlinkat,mkdirat,mkdir,unlinkat,unlink

cr_need() {
	for _t in strace xfs_io mkfs.ext4 unshare; do
		command -v "$_t" >/dev/null 2>&1 || skip "$_t not installed"
	done
	[ -e /dev/loop-control ] || skip "no loop devices"
	strace -q -o /dev/null -e trace=getppid \
	    -e inject=getppid:signal=SIGKILL:when=2 \
	    sh -c ':' 2>/dev/null || skip "strace cannot inject signals here"
}

cr_mount() {
	mount -o loop,commit=60 "$CR_IMG" "$CR_MNT" ||
	    fail "cannot mount the ext4 image"
}

cr_bad() {
	echo "$CR_POINT: $*" >>"$T_DIR/bad"
}

# The trace of one command as operations on paths, in order: "E path"
# (made), "A path" (removed), "R old new" (renamed), "S" (an fsync
# returned) and "K call path" (the call it was killed at).
cr_ops() {
	awk '
	function fd(s) {
		if (!match(s, /<[^>]*>/))
			return ""
		return substr(s, RSTART + 1, RLENGTH - 2)
	}
	# A name relative to a directory descriptor; an absolute one is
	# itself (with AT_FDCWD too).
	function at(d, name) {
		return substr(name, 1, 1) == "/" ? name : d "/" name
	}
	{
		ok = $0 ~ / = 0$/
		if (!ok && $0 !~ / = \?$/)
			next
		call = $0
		sub(/\(.*/, "", call)
		split($0, a, "\"")
		if (call == "fsync") { op = "S"; p = fd($0) }
		else if (call == "mkdir") { op = "E"; p = a[2] }
		else if (call == "unlink") { op = "A"; p = a[2] }
		else if (call == "mkdirat") { op = "E"; p = at(fd(a[1]), a[2]) }
		else if (call == "unlinkat") { op = "A"; p = at(fd(a[1]), a[2]) }
		else if (call == "symlinkat") { op = "E"; p = at(fd(a[3]), a[4]) }
		else if (call == "renameat") {
			op = "R"; p = at(fd(a[1]), a[2]) " " at(fd(a[3]), a[4])
		} else
			next
		if (!ok)
			op = "K " call
		print op, p
	}' "$1"
}

# Every change the traced command made before its last completed fsync
# must have survived the crash: on ext4 an fsync commits the journal
# transaction that holds every earlier change, and pelagos fsyncs each
# directory it changes before it goes on.
cr_replay() {
	cr_ops "$1" | awk '
	$1 == "E" { cur[$2] = "E" }
	$1 == "A" { cur[$2] = "A" }
	$1 == "R" { cur[$2] = "A"; cur[$3] = "E" }
	$1 == "S" { for (p in cur) want[p] = cur[p] }
	END { for (p in want) print want[p], p }' >"$T_DIR/want"
	while read -r _w _p; do
		case $_p in "$CR_MNT"/*) ;; *) continue ;; esac
		if [ -e "$_p" ] || [ -L "$_p" ]; then
			[ "$_w" = A ] && cr_bad "back after an fsync: ${_p#$R/}"
		else
			[ "$_w" = E ] && cr_bad "lost after an fsync: ${_p#$R/}"
		fi
	done <"$T_DIR/want"
	return 0
}

# What of sandbox $1 is on disk: dir, state (it parses), state.tmp, name
# and lease links at it; "gone" when nothing.
cr_disk() {
	_d=$R/sandboxes/$1
	_w=""
	if [ -d "$_d" ]; then
		_w=dir
		if [ -e "$_d/state" ] || [ -L "$_d/state" ]; then
			if "$PELAGOS" --root "$R" sandbox inspect "$1" \
			    >/dev/null 2>&1; then
				_w="$_w+state"
			else
				_w="$_w+TORN-state($(wc -c <"$_d/state")B)"
				cr_bad "$1: a state that does not parse" \
				    "($(wc -c <"$_d/state") bytes)"
			fi
		fi
		[ -e "$_d/state.tmp" ] && _w="$_w+state.tmp"
	fi
	for _l in "$R"/names/* "$R"/leases/*; do
		[ -L "$_l" ] && [ "$(readlink "$_l")" = "$1" ] || continue
		case $_l in
		*/names/*) _w="$_w+name" ;;
		*) _w="$_w+lease" ;;
		esac
	done
	case $_w in
	"") echo gone ;;
	+*) echo "no-dir$_w" ;;
	*) echo "$_w" ;;
	esac
}

# CMD... with the boot ID of a boot after the crash.
cr_newboot() {
	unshare -m sh -c 'mount --bind "$0" /proc/sys/kernel/random/boot_id &&
	    exec "$@"' "$T_DIR/boot_id" "$@"
}

# The kernel's objects of sandboxes $@ die with the power.
cr_powercut() {
	for _id in "$@"; do
		_s=$(echo "$_id" | cut -c1-8)
		for _p in $(f_pauses "$_s"); do
			_st=$(f_start "$_p")
			echo "$_p $_st" >>"$T_DIR/pids"
			kill_recorded "$_p" "$_st"
		done
		umount "/run/netns/psb-$_s" 2>/dev/null
		rm -f "/run/netns/psb-$_s"
		[ -d "$PELAGOS_CGROUP_PARENT/$_id" ] &&
		    cg_remove "$PELAGOS_CGROUP_PARENT/$_id"
	done
	return 0
}

# Unmounts the shut-down file system and mounts what its disk holds (the
# journal is replayed).  The image itself cannot be mounted again while
# anything still holds the old file system, a copy of the mount in
# another process's mount namespace for one: the mount would get that
# shut-down file system back.  A copy of the image is a disk of its own.
cr_remount() {
	umount "$CR_MNT" || fail "umount after the shutdown"
	_old=$CR_IMG
	CR_IMG=$T_DIR/ext4.$CR_I
	cp --sparse=always "$_old" "$CR_IMG" || fail "cannot copy the image"
	rm -f "$_old"
	cr_mount
	: >"$CR_MNT/probe" && rm "$CR_MNT/probe" ||
	    fail "the remounted file system does not work"
}

# Strips the root, the ID and the address from a path for the table.
cr_label() {
	_x=$2
	[ "$_x" = "$R" ] && _x="<root>"
	_x=${_x#$R/}
	case $_x in "$PELAGOS_CGROUP_PARENT"*) _x="<cgroups>${_x#$PELAGOS_CGROUP_PARENT}" ;; esac
	[ -n "$CR_T" ] && _x=$(echo "$_x" | sed -e "s/$CR_T/<id>/g" \
	    -e "s/$(echo "$CR_T" | cut -c1-8)/<id>/g")
	echo "$1($(echo "$_x" | sed 's,leases/[0-9.]*$,leases/<ip>,'))"
}

# cr_point OP [CALL N]: one crash.  OP is create (the first create in a
# fresh root) or rm (of sandbox t, next to a witness w, both made durable
# first, as time would); with CALL and N the command is SIGKILLed on
# entering its Nth CALL.  OP create+fsync: another program fsyncs a file
# of its own on the same file system after the create returned, which
# commits the journal with whatever metadata is pending then.
cr_point() {
	op=${1%+fsync} call=${2:-} n=${3:-}
	inj=""
	[ -n "$n" ] && inj="-e inject=$call:signal=SIGKILL:when=$n"
	CR_I=$((CR_I + 1))
	R=$CR_MNT/r$CR_I
	ROOT=$R
	CR_T="" W=""
	args="create --name t"
	if [ "$op" = rm ]; then
		args="rm t"
		W=$("$PELAGOS" --root "$R" sandbox create --name w) ||
		    fail "create w"
		echo "$W" >>"$T_DIR/ids"
		CR_T=$("$PELAGOS" --root "$R" sandbox create --name t) ||
		    fail "create t"
		echo "$CR_T" >>"$T_DIR/ids"
		sync -f "$R" || fail "sync -f"
	fi
	# shellcheck disable=SC2086
	strace -q -y -o "$T_DIR/op.trace" -e trace=$CR_CALLS $inj \
	    "$PELAGOS" --root "$R" sandbox $args \
	    >"$T_DIR/op.out" 2>"$T_DIR/op.err" </dev/null
	rc=$?
	if [ "$1" != "$op" ]; then
		echo other >"$CR_MNT/other" && xfs_io -c fsync "$CR_MNT/other" ||
		    fail "fsync of another file"
	fi
	# The ID from the trace (nothing on the file system changes meanwhile:
	# the command is gone), and then the power goes.
	if [ -z "$CR_T" ]; then
		CR_T=$(sed -n 's/^mkdirat([0-9]*<[^>]*\/sandboxes>, "\([0-9a-f]\{16\}\)".*/\1/p' \
		    "$T_DIR/op.trace")
		[ -n "$CR_T" ] && echo "$CR_T" >>"$T_DIR/ids"
	fi
	xfs_io -x -c shutdown "$CR_MNT" || fail "xfs_io shutdown failed"
	if [ -z "$inj" ]; then
		CR_POINT="$op returned"
		[ "$1" != "$op" ] && CR_POINT="$CR_POINT, another file fsynced"
		[ "$rc" -eq 0 ] && [ ! -s "$T_DIR/op.err" ] ||
		    fail "$args exited $rc: $(cat "$T_DIR/op.err")"
		[ "$op" = create ] && expect_eq "$(cat "$T_DIR/op.out")" \
		    "$CR_T" "the ID create printed"
	else
		grep -q '^+++ killed by SIGKILL +++$' "$T_DIR/op.trace" ||
		    fail "$op not killed at $call #$n: $(tail -n 2 "$T_DIR/op.trace")"
		set -- $(cr_ops "$T_DIR/op.trace" | sed -n 's/^K //p')
		CR_POINT="$op killed at $(cr_label "$1#$n" "$2")"
	fi
	cr_powercut $W $CR_T
	cr_remount
	# What is on disk.
	cr_replay "$T_DIR/op.trace"
	disk=nothing
	[ -d "$R" ] || disk="no root"
	[ -n "$CR_T" ] && disk=$(cr_disk "$CR_T")
	case "$CR_POINT:$disk" in
	"create returned"*:dir+state+name+lease | "rm returned:gone") ;;
	*returned*:*) cr_bad "t is $disk" ;;
	esac
	if [ -n "$W" ]; then
		wd=$(cr_disk "$W")
		[ "$wd" = dir+state+name+lease ] || cr_bad "the witness w is $wd"
		CR_W=$((CR_W + 1))
	fi
	for l in "$R"/names/* "$R"/leases/*; do
		[ -L "$l" ] || continue
		[ -d "$R/sandboxes/$(readlink "$l")" ] ||
		    cr_bad "${l#$R/} points at nothing"
	done
	# What ls and prune of the next boot make of it.
	cr_newboot "$PELAGOS" --root "$R" sandbox ls >"$T_DIR/ls" \
	    2>"$T_DIR/ls.err" || cr_bad "ls exited $?: $(cat "$T_DIR/ls.err")"
	[ -s "$T_DIR/ls.err" ] && cr_bad "ls said: $(cat "$T_DIR/ls.err")"
	st=-
	[ -n "$CR_T" ] && st=$(awk -v id="$CR_T" '$1 == id { print $3 }' "$T_DIR/ls")
	cr_newboot "$PELAGOS" --root "$R" sandbox prune >"$T_DIR/pr" \
	    2>"$T_DIR/pr.err" || cr_bad "prune exited $?: $(cat "$T_DIR/pr.err")"
	[ -s "$T_DIR/pr.err" ] && cr_bad "prune said: $(cat "$T_DIR/pr.err")"
	pr=nothing
	[ -n "$CR_T" ] && grep -qx "$CR_T" "$T_DIR/pr" && pr=removed
	[ -n "$W" ] && [ "$wd" != gone ] && ! grep -qx "$W" "$T_DIR/pr" &&
	    cr_bad "prune left w"
	for d in sandboxes leases names; do
		x=$(ls -A "$R/$d" 2>/dev/null | tr '\n' ' ')
		[ -n "$x" ] && cr_bad "after prune, $d/: $x"
	done
	cr_newboot "$PELAGOS" --root "$R" sandbox ls >"$T_DIR/ls" 2>&1
	[ -s "$T_DIR/ls" ] && cr_bad "ls after prune: $(cat "$T_DIR/ls")"
	f_noleaks $W $CR_T || cr_bad "left:$(f_leaks $W $CR_T)"
	note "$(printf '%-50s %-26s ls: %-5s prune: %s' "$CR_POINT" "$disk" \
	    "${st:--}" "$pr")"
}

t_crash_consistency() {
	cr_need
	CR_IMG=$T_DIR/ext4.0
	CR_MNT=$T_DIR/mnt
	CR_I=0 CR_W=0
	# Pauses of an interrupted crash point die with its power too.
	trap '_crc=$?; [ -f "$T_DIR/ids" ] && cr_powercut $(cat "$T_DIR/ids")
	    umount "$CR_MNT" 2>/dev/null; rm -f "$CR_IMG"
	    (exit $_crc); cleanup_test' EXIT
	echo 00000000-0000-4000-8000-00000000c0de >"$T_DIR/boot_id"
	mkdir -p "$CR_MNT"
	dd if=/dev/zero of="$CR_IMG" bs=1M count=0 seek=32 2>/dev/null &&
	    mkfs.ext4 -q -F "$CR_IMG" || fail "cannot make the ext4 image"
	cr_mount
	: >"$T_DIR/bad"
	note "$(printf '%-50s %-26s %s' "crash point" "on disk after remount" \
	    "next boot's ls and prune")"
	cr_point create
	cp "$T_DIR/op.trace" "$T_DIR/create.trace"
	cr_point create+fsync
	cr_point rm
	cp "$T_DIR/op.trace" "$T_DIR/rm.trace"
	points=3
	for op in create rm; do
		for call in $(echo "$CR_CALLS" | tr , ' '); do
			k=$(grep -c "^$call(" "$T_DIR/$op.trace")
			n=1
			while [ "$n" -le "$k" ]; do
				cr_point "$op" "$call" "$n"
				points=$((points + 1))
				n=$((n + 1))
			done
		done
	done
	umount "$CR_MNT" || fail "umount"
	rm -f "$CR_IMG"
	ROOT=$T_DIR/root
	note "$points crash points, $(wc -l <"$T_DIR/bad") violations; the witness" \
	    "w was checked after $CR_W rm crashes"
	[ -s "$T_DIR/bad" ] && fail "$(wc -l <"$T_DIR/bad") violations:
$(cat "$T_DIR/bad")"
	return 0
}
