#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The test runner: C unit tests, then the integration tests (as root).
#
#   tests/run.sh [-v] [--integration-only] [TEST...]
#
# PELAGOS names the binary under test (default: ../pelagos), UNIT the unit
# test binary (default: ./unit).  Ends with "N passed, N failed, N skipped"
# and exits non-zero if anything failed.
set -u

TESTS_DIR=$(cd "$(dirname "$0")" && pwd)
: "${PELAGOS:=$TESTS_DIR/../pelagos}"
: "${UNIT:=$TESTS_DIR/unit}"
export PELAGOS

verbose=0
unit=1
only=""
for a in "$@"; do
	case $a in
	-v) verbose=1 ;;
	--integration-only) unit=0 ;;
	-*) echo "usage: $0 [-v] [--integration-only] [TEST...]" >&2; exit 2 ;;
	*) only="$only $a" ;;
	esac
done

. "$TESTS_DIR/lib.sh"
TESTS=""
for f in "$TESTS_DIR"/t_*.sh; do
	. "$f"
done

passed=0
failed=0
skipped=0

if [ "$unit" = 1 ] && [ -z "$only" ]; then
	if [ -x "$UNIT" ]; then
		"$UNIT" >/tmp/pelagos-unit.$$ 2>&1
		urc=$?
		[ "$verbose" = 1 ] && cat /tmp/pelagos-unit.$$
		grep '^not ok' /tmp/pelagos-unit.$$
		set -- $(tail -n 1 /tmp/pelagos-unit.$$ | tr -d ',')
		rm -f /tmp/pelagos-unit.$$
		if [ "$#" -ge 4 ] && [ "$2" = passed ]; then
			passed=$((passed + $1))
			failed=$((failed + $3))
			echo "unit: $1 passed, $3 failed"
		else
			failed=$((failed + 1))
			echo "FAIL - unit: no summary line"
		fi
		[ "$urc" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
	else
		echo "skip - unit: $UNIT not built"
		skipped=$((skipped + 1))
	fi
fi

# One random 10.2xx.y.0/24 block per run, a /24 per test from there, none
# overlapping an address this machine already has.
pick_base() {
	_tries=0
	while [ "$_tries" -lt 20 ]; do
		_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		NET_A=$((200 + _r % 50))
		NET_B=$((_r / 50 % 150))
		RUN_TAG=$(printf %04x "$_r")
		# The same tag, as an IPv6 group is written (no leading zeros).
		RUN_TAG6=$(printf %x "$_r")
		ip -4 addr 2>/dev/null | grep -q "inet 10\.$NET_A\." ||
		    ip -6 addr 2>/dev/null | grep -q "inet6 fd00:$RUN_TAG6:" ||
		    return 0
		_tries=$((_tries + 1))
	done
	echo "no free 10.2xx.0.0/16 for the tests" >&2
	exit 1
}

RUN_DIR=$(mktemp -d /tmp/pelagos-test.XXXXXX) || exit 1
chmod 755 "$RUN_DIR"
pick_base
# Pod cgroups go under a parent of this run's own on the cgroup2 mount,
# which the run removes at its end; without cgroup2 pods have none.
CG_MOUNT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
PELAGOS_CGROUP_PARENT=none
[ -n "$CG_MOUNT" ] && PELAGOS_CGROUP_PARENT=$CG_MOUNT/pelagos-test-$RUN_TAG
export CG_MOUNT PELAGOS_CGROUP_PARENT
idx=0
for t in $TESTS; do
	if [ -n "$only" ]; then
		case " $only " in *" $t "*) ;; *) continue ;; esac
	fi
	idx=$((idx + 1))
	T_DIR=$RUN_DIR/$t
	mkdir -p "$T_DIR"
	if [ "$(id -u)" != 0 ]; then
		echo "skip - $t: needs root"
		skipped=$((skipped + 1))
		continue
	fi
	(
		ROOT=$T_DIR/root
		BR=pt$RUN_TAG$idx
		# A /24 of its own: the run has fewer than 256 tests.
		NET=10.$NET_A.$(((NET_B + idx) % 256))
		GW=$NET.1
		NET6=fd00:$RUN_TAG6:$idx
		OUT=$T_DIR/out
		ERR=$T_DIR/err
		PELAGOS_BRIDGE=$BR
		PELAGOS_SUBNET=$NET.0/24
		# Every test's sandboxes get nf_tables elements: in tables
		# of its own, which it deletes at the end.
		PELAGOS_NFT_TABLE=$BR
		export ROOT BR NET GW NET6 OUT ERR T_DIR PELAGOS_BRIDGE PELAGOS_SUBNET
		export PELAGOS_NFT_TABLE
		unset PELAGOS_ROOT
		trap cleanup_test EXIT
		trap 'exit 130' INT TERM
		"$t"
	) >"$T_DIR/log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok - $t"
		[ "$verbose" = 1 ] && sed 's/^/    /' "$T_DIR/log"
	elif [ "$rc" -eq 77 ]; then
		skipped=$((skipped + 1))
		echo "skip - $t: $(cat "$T_DIR/skip" 2>/dev/null)"
	else
		failed=$((failed + 1))
		echo "FAIL - $t"
		sed 's/^/    /' "$T_DIR/log"
	fi
done
rm -rf "$RUN_DIR"
# With the parents some tests make of their own, <parent>-<name>.
for d in "$PELAGOS_CGROUP_PARENT" "$PELAGOS_CGROUP_PARENT"-*; do
	if [ -d "$d" ] && ! rmdir "$d"; then
		echo "FAIL - cgroups left in $d:" \
		    "$(ls -d "$d"/*/ 2>/dev/null | tr '\n' ' ')"
		failed=$((failed + 1))
	fi
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
