# SPDX-License-Identifier: Apache-2.0
# A mixed concurrency run: 8 workers on one root, each doing creates (by
# name from a set of six shared on purpose, --pod-pid, unnamed), rm and
# rm -f by name and by ID, run and run -d, inspect, ls, prune and the odd
# SIGKILL of one of its own pauses (so that prune has work), until a
# deadline read from /proc/uptime: STRESS_SECS (default 20) seconds,
# longer by hand.  Every command must exit 0 or 1 with at most one
# `pelagos: ` line on stderr (prune: one per sandbox it reports); a
# foreground run may also end 137 when an rm -f killed it: run sits in
# the pod's namespaces while CMD runs, where rm's scan finds it (the
# shell then reports "Killed" on the same stderr).  At the end: no
# address given twice and leases agreeing with the states, no name on
# two sandboxes, no netns file, mount, veth, bridge port, pod cgroup,
# pause or workload without its sandbox in the root; and after a prune
# and an rm -f of everything, nothing left.  Uses f_consistent and
# f_start (t_faults.sh).
TESTS="$TESTS t_stress_mixed"

# Helpers are st_-prefixed: every t_*.sh is sourced into one shell.

# st_op LABEL CMD...: one command of a worker (its directory in $_d),
# counted per label and checked against the error contract.
st_op() {
	_l=$1
	shift
	"$@" >"$_d/out" 2>"$_d/err" </dev/null
	_rc=$?
	eval "_c_$_l=\$((\${_c_$_l:-0} + 1))"
	[ "$_rc" -eq 0 ] && eval "_o_$_l=\$((\${_o_$_l:-0} + 1))"
	_ln=0
	while IFS= read -r _e; do
		_ln=$((_ln + 1))
		case $_e in
		"pelagos: "*) echo "$_l $_e" >>"$_d/fails" ;;
		# The shell's own report of a run that rm -f killed.
		Killed) [ "$_l:$_rc" = run:137 ] ||
		    echo "$*: stderr line '$_e'" >>"$_d/bad" ;;
		*) echo "$*: stderr line '$_e'" >>"$_d/bad" ;;
		esac
	done <"$_d/err"
	case $_l:$_rc in
	*:0) [ "$_ln" -eq 0 ] ||
	    echo "$* exited 0 but said: $(cat "$_d/err")" >>"$_d/bad" ;;
	prune:1) [ "$_ln" -ge 1 ] || echo "$* failed silently" >>"$_d/bad" ;;
	*:1) [ "$_ln" -eq 1 ] ||
	    echo "$* exited 1 with $_ln lines: $(cat "$_d/err")" >>"$_d/bad" ;;
	run:137) _killed=$((_killed + 1)) ;;
	*) echo "$* exited $_rc: $(cat "$_d/err")" >>"$_d/bad" ;;
	esac
	return "$_rc"
}

# st_worker N DIR END: random operations until /proc/uptime passes END.
st_worker() {
	_d=$2 _end=$3
	mkdir -p "$_d"
	: >"$_d/bad"
	: >"$_d/fails"
	_r=$(( $1 * 7919 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') ))
	_ids="" _killed=0
	while :; do
		read -r _up _x </proc/uptime
		[ "${_up%.*}" -lt "$_end" ] || break
		_r=$(( (_r * 1103515245 + 12345) % 2147483648 ))
		_k=$(( _r / 65536 % 24 ))
		_nm=n$(( _r / 16 % 6 ))
		_id=${_ids%% *}
		case $_k in
		0|1|2|3|4)
			case $(( _r / 128 % 4 )) in
			0) set -- --pod-pid --name "$_nm" ;;
			1) set -- ;;
			*) set -- --name "$_nm" ;;
			esac
			if st_op create "$PELAGOS" --root "$ROOT" sandbox create "$@"; then
				read -r _new <"$_d/out"
				echo "$_new" >>"$_d/ids"
				_ids="$_ids$_new "
			fi ;;
		5|6) st_op rm "$PELAGOS" --root "$ROOT" sandbox rm "$_nm" ;;
		7) st_op rmf "$PELAGOS" --root "$ROOT" sandbox rm -f "$_nm" ;;
		8|9|10)
			[ -n "$_id" ] || continue
			if [ "$_k" = 8 ]; then
				st_op rmid "$PELAGOS" --root "$ROOT" sandbox rm "$_id"
			else
				st_op rmfid "$PELAGOS" --root "$ROOT" sandbox rm -f "$_id"
			fi
			_rc=$?
			# Gone, by this rm or another: forget it.
			if [ "$_rc" = 0 ] || grep -q "no such sandbox" "$_d/err"; then
				_ids=${_ids#* }
			fi ;;
		11|12) st_op run "$PELAGOS" --root "$ROOT" run --sandbox "$_nm" -- true ;;
		13)
			[ -n "$_id" ] || continue
			st_op run "$PELAGOS" --root "$ROOT" run --sandbox "$_id" -- true ;;
		14)
			if st_op rund "$PELAGOS" --root "$ROOT" run -d --sandbox "$_nm" \
			    -- sleep 3600; then
				read -r _p <"$_d/out"
				echo "$_p $(f_start "$_p")" >>"$_d/wl"
			fi ;;
		15|16) st_op prune "$PELAGOS" --root "$ROOT" sandbox prune ;;
		17) st_op ls "$PELAGOS" --root "$ROOT" sandbox ls ;;
		18) st_op ls "$PELAGOS" --root "$ROOT" sandbox ls --json ;;
		19) st_op ls "$PELAGOS" --root "$ROOT" sandbox ls -q ;;
		20) st_op inspect "$PELAGOS" --root "$ROOT" sandbox inspect "$_nm" ;;
		21)
			[ -n "$_id" ] || continue
			st_op inspect "$PELAGOS" --root "$ROOT" sandbox inspect "$_id" ;;
		22|23)
			# One of its own pauses dies, now and then.
			[ -n "$_id" ] && [ $(( _r / 8 % 4 )) = 0 ] || continue
			_p=$(sed -n 's/^pause_pid //p' "$ROOT/sandboxes/$_id/state" 2>/dev/null)
			_s=$(sed -n 's/^pause_start //p' "$ROOT/sandboxes/$_id/state" 2>/dev/null)
			[ -n "$_p" ] && [ -n "$_s" ] || continue
			kill_recorded "$_p" "$_s"
			_c_kill=$(( ${_c_kill:-0} + 1 )) ;;
		esac
	done
	for _l in create rm rmf rmid rmfid run rund prune ls inspect kill; do
		eval "echo $_l \${_c_$_l:-0} \${_o_$_l:-0}"
	done >"$_d/counts"
	echo "runkilled $_killed 0" >>"$_d/counts"
}

# The IDs of every sandbox this test knows of.
st_ids() {
	cat "$T_DIR"/w*/ids "$T_DIR/ids" 2>/dev/null | sort -u
}

# Kernel objects and processes, each with its sandbox in the root; prints
# what is not.  One pass over each kind of object, however many IDs.
st_orphans() {
	_gone=" " _goneid=" "
	for _id in $(st_ids); do
		[ -d "$ROOT/sandboxes/$_id" ] && continue
		_gone="$_gone${_id%????????} "
		_goneid="$_goneid$_id "
	done
	for _c in "$PELAGOS_CGROUP_PARENT"/*; do
		case $_goneid in *" ${_c##*/} "*) printf ' cgroup:%s' "${_c##*/}" ;; esac
	done
	for _f in /run/netns/psb-* /sys/class/net/vh-*; do
		_s=${_f##*-}
		case $_gone in *" $_s "*) printf ' %s' "${_f##*/}" ;; esac
	done
	for _s in $(grep -o ' /run/netns/psb-[0-9a-f]* ' /proc/self/mountinfo |
	    sed 's/.*-//'); do
		case $_gone in *" $_s "*) printf ' mount:psb-%s' "$_s" ;; esac
	done
	grep -a -o 'psb-[0-9a-f]\{8\}' /proc/[0-9]*/cmdline 2>/dev/null |
	    while IFS=: read -r _f _t; do
		case $_gone in *" ${_t#psb-} "*) ;; *) continue ;; esac
		grep -q -a __pause__ "$_f" 2>/dev/null || continue
		_p=${_f#/proc/}
		alive "${_p%/cmdline}" && printf ' pause:%s' "${_p%/cmdline}"
	done
	for _b in $(ls "/sys/class/net/$BR/brif" 2>/dev/null); do
		grep -qx "eth[0-9].veth $_b" "$ROOT"/sandboxes/*/state 2>/dev/null ||
		    printf ' port:%s' "$_b"
	done
	cat "$T_DIR"/w*/wl 2>/dev/null | while read -r _p _s; do
		proc_same_start "$_p" "$_s" || continue
		_n=$(ino "/proc/$_p/ns/net" 2>/dev/null) || continue
		grep -qx "netns_ino $_n" "$ROOT"/sandboxes/*/state 2>/dev/null ||
		    printf ' workload:%s' "$_p"
	done
	echo
}

# After a failure: whatever the test made goes, workloads and pauses too
# (an rm without -f refuses a sandbox with workloads).
st_cleanup() {
	for _d in "$ROOT"/sandboxes/*; do
		[ -d "$_d" ] && pel sandbox rm -f "${_d##*/}" >/dev/null 2>&1
	done
	for _id in $(st_ids); do
		for _p in $(f_pauses "${_id%????????}"); do
			kill_recorded "$_p" "$(f_start "$_p")"
		done
	done
	cat "$T_DIR"/w*/wl 2>/dev/null | while read -r _p _s; do
		kill_recorded "$_p" "$_s"
	done
}

proc_same_start() {
	alive "$1" && [ "$(f_start "$1")" = "$2" ]
}

t_stress_mixed() {
	secs=${STRESS_SECS:-20}
	trap '_src=$?; [ "$_src" = 0 ] || st_cleanup; (exit $_src); cleanup_test' EXIT
	read -r up _x </proc/uptime
	end=$(( ${up%.*} + secs ))
	i=0
	while [ "$i" -lt 8 ]; do
		st_worker "$i" "$T_DIR/w$i" "$end" &
		i=$((i + 1))
	done
	wait
	cat "$T_DIR"/w*/wl 2>/dev/null >>"$T_DIR/pids"
	st_ids >>"$T_DIR/ids"
	# The figures: operations done, per kind (ok of all).
	ops=0 figs=""
	for l in create rm rmf rmid rmfid run rund prune ls inspect kill runkilled; do
		set -- $(cat "$T_DIR"/w*/counts | awk -v l="$l" \
		    '$1 == l { n += $2; o += $3 } END { print n + 0, o + 0 }')
		case $l in
		kill | runkilled) figs="$figs $l=$1" ;;
		*) figs="$figs $l=$2/$1" ;;
		esac
		[ "$l" = runkilled ] || ops=$((ops + $1))
	done
	note "8 workers, ${secs}s: $ops operations (ok/all):$figs"
	note "failures by kind:"
	sed -e 's/[0-9a-f]\{16\}/<id>/g' -e 's/n[0-5]\([^0-9]\)/nN\1/g' \
	    -e 's/[0-9][0-9]* process/N process/' -e 's/ [0-9][0-9]* of / N of /' \
	    "$T_DIR"/w*/fails | sort | uniq -c | sort -rn >&2
	bad=$(cat "$T_DIR"/w*/bad)
	[ -z "$bad" ] || fail "$(echo "$bad" | wc -l) commands broke the contract:
$(echo "$bad" | head -n 20)"
	[ "$ops" -gt 0 ] || fail "no operation ran"
	# Invariants of what is left running.
	run 0 pel sandbox ls
	grep -q ' broken \| creating ' "$OUT" && fail "after the run: $(cat "$OUT")"
	dup=$(awk '$3 == "running" { print $4 }' "$OUT" | sort | uniq -d)
	[ -z "$dup" ] || fail "running sandboxes share $dup"
	f_consistent >"$T_DIR/why" || fail "$(cat "$T_DIR/why")"
	for l in "$ROOT"/leases/*; do
		[ -L "$l" ] || continue
		o=$(readlink "$l")
		grep -qx "eth[0-9]*.ip6* ${l##*/}/.*" "$ROOT/sandboxes/$o/state" ||
		    fail "lease ${l##*/} -> $o, which records $(skey "$o" eth0.ip)"
	done
	dup=$(cat "$ROOT"/sandboxes/*/state 2>/dev/null | sed -n 's/^name //p' |
	    grep -v '^-$' | sort | uniq -d)
	[ -z "$dup" ] || fail "name $dup on two sandboxes"
	for l in "$ROOT"/names/*; do
		[ -L "$l" ] || continue
		o=$(readlink "$l")
		expect_eq "$(skey "$o" name)" "${l##*/}" "name ${l##*/} -> $o"
	done
	for d in "$ROOT"/sandboxes/*; do
		[ -e "$d/state" ] || continue
		n=$(skey "${d##*/}" name)
		[ "$n" = - ] || expect_eq "$(readlink "$ROOT/names/$n")" "${d##*/}" \
		    "the name link of $n"
	done
	poll 5 eval '[ -z "$(st_orphans | tr -d " ")" ]' ||
	    fail "without a record in the root:$(st_orphans)"
	running=$(grep -c ' running ' "$OUT")
	left=$(ls "$ROOT/sandboxes" | wc -l)
	wl=0
	while read -r p s; do
		proc_same_start "$p" "$s" && wl=$((wl + 1))
	done <"$T_DIR/pids"
	note "at the end: $left sandboxes ($running running), $wl workloads," \
	    "$(ls "$ROOT/leases" | wc -l) leases, $(ls "$ROOT/names" | wc -l) names"
	# Then nothing at all.
	pel sandbox prune >"$OUT" 2>"$ERR"
	rc=$?
	[ "$rc" -le 1 ] || fail "prune exited $rc"
	ids=$(ls "$ROOT/sandboxes")
	[ -z "$ids" ] || run 0 pel sandbox rm -f $ids
	[ -s "$ERR" ] && [ -n "$ids" ] && fail "rm -f said: $(cat "$ERR")"
	expect_eq "$(ls "$ROOT/sandboxes" "$ROOT/leases" "$ROOT/names" | grep -v ':$' |
	    grep -v '^$')" "" "left in the root"
	poll 10 eval '[ -z "$(st_orphans | tr -d " ")" ]' ||
	    fail "left:$(st_orphans)"
	while read -r p s; do
		proc_same_start "$p" "$s" && fail "workload $p outlived its sandbox"
	done <"$T_DIR/pids"
	return 0
}
