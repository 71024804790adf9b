# SPDX-License-Identifier: Apache-2.0
# The README's examples are what the binary prints: each example line is
# produced here for real, its variable parts (ID, PID, addresses, bridge,
# paths, time) put into the README's spelling, and looked up in the
# README as an indented line of its own, so the two cannot drift apart.
TESTS="$TESTS t_docs_examples"

# d_has LINE: the README holds LINE as an indented (example) line.
d_has() {
	grep '^[[:space:]]' "$D_README" | sed 's/^[[:space:]]*//' |
	    grep -qxF "$1" || fail "README lacks the example line: $1"
}

# d_norm: stdin in the README's spelling of sandbox $D_ID.
d_norm() {
	sed -e "s/$D_ID/3f2a9c0d5e7b1a44/g" \
	    -e "s/$(echo "$D_ID" | cut -c1-8)/3f2a9c0d/g" \
	    -e "s/\"pause_pid\":$D_PID/\"pause_pid\":4242/" \
	    -e "s/\"created\":[0-9]*/\"created\":1764406800/" \
	    -e "s/\"$BR\"/\"pelagos0\"/" \
	    -e "s/$(echo "$NET" | sed 's/\./\\./g')\./172.19.0./g" \
	    -e "s#$T_DIR/notes.txt#/srv/notes.txt#" \
	    -e "s#\"cgroup\":\"$PELAGOS_CGROUP_PARENT/#\"cgroup\":\"/sys/fs/cgroup/pelagos/#" \
	    -e 's/"usage":{[^}]*}/"usage":{"memory":null,"cpu_usec":2113,"pids":1}/'
}

t_docs_examples() {
	D_README=$TESTS_DIR/../README.md
	[ -f "$D_README" ] || skip "no README.md beside the tests"
	D_ID=$(create --name web)
	D_PID=$(skey "$D_ID" pause_pid)
	# Pad the row as ls does: the README's address is 10 characters.
	run 0 pel sandbox ls
	d_has "$(head -n 1 "$OUT")"
	row=$(sed -n 2p "$OUT" | d_norm | sed 's/172\.19\.0\.2 */172.19.0.2       /')
	d_has "$row"
	run 0 pel sandbox ls --json
	d_has "$(d_norm <"$OUT")"
	run 0 pel sandbox inspect web
	d_has "$(d_norm <"$OUT")"
	run 1 pel sandbox create --name web
	d_has "$(d_norm <"$ERR")"
	printf 'not a program\n' >"$T_DIR/notes.txt"
	run 126 pel run --sandbox web "$T_DIR/notes.txt"
	d_has "$(d_norm <"$ERR")"
	wl=$(pel run -d --sandbox web sleep 30) || fail "run -d failed"
	echo "$wl $(sed 's/.*) //' "/proc/$wl/stat" | cut -d' ' -f20)" >>"$T_DIR/pids"
	run 1 pel sandbox rm web
	d_has "$(d_norm <"$ERR")"
	run 0 pel sandbox rm -f web
	poll 5 gone "$wl" || fail "rm -f left the workload"
	run 1 pel run --sandbox web true
	d_has "$(d_norm <"$ERR")"
	return 0
}
