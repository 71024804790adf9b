# SPDX-License-Identifier: Apache-2.0
# The command line: help, usage errors, bad names and IDs, non-root.
TESTS="$TESTS t_help_version t_usage_errors t_bad_names t_bad_rm_args"
TESTS="$TESTS t_bad_env t_non_root"

t_help_version() {
	run 0 "$PELAGOS" --help
	grep -q '^usage: pelagos' "$OUT" || fail "--help: $(cat "$OUT")"
	grep -q __pause__ "$OUT" && fail "--help shows the hidden __pause__"
	run 0 "$PELAGOS" -h
	run 0 "$PELAGOS" --version
	grep -q '^pelagos [0-9]' "$OUT" || fail "--version: $(cat "$OUT")"
	for c in create ls rm; do
		run 0 "$PELAGOS" sandbox "$c" --help
		grep -q "^usage: pelagos sandbox $c" "$OUT" ||
		    fail "sandbox $c --help: $(cat "$OUT")"
	done
}

t_usage_errors() {
	run 2 pel sandbox create --x
	one_error "sandbox create: unknown option '--x' (see 'pelagos sandbox create --help')"
	run 2 pel sandbox create extra
	one_error "unexpected argument 'extra'"
	run 2 pel sandbox create --name
	one_error "needs a value"
	run 2 pel sandbox ls --bogus
	one_error "unknown option '--bogus'"
	run 2 pel sandbox rm
	one_error "missing ID or NAME"
	run 2 pel sandbox frob
	one_error "unknown command 'frob'"
	run 2 pel sandbox
	one_error
	run 2 pel
	one_error "missing command"
	run 2 pel nothing
	one_error "unknown command 'nothing'"
	run 2 "$PELAGOS" --bogus sandbox ls
	one_error "unknown option '--bogus'"
	run 2 "$PELAGOS" --root
	one_error
	[ -e "$ROOT" ] && fail "a usage error created the root"
	return 0
}

# Rejected before anything exists: no root, no bridge, no namespace.
t_bad_names() {
	long=$(printf '%064d' 0)
	for n in "" "-x" ".hidden" "_x" "a/b" "../x" ".." "." "a b" \
	    "$(printf 'a\nb')" "$(printf 'a\tb')" "$long" "caf$(printf '\303\251')"; do
		run 1 pel sandbox create --name "$n"
		one_error "invalid name"
	done
	run 1 pel sandbox create --hostname "a/b"
	one_error "invalid hostname"
	[ -e "$ROOT" ] && fail "a rejected create made the root"
	link_exists "$BR" && fail "a rejected create made the bridge"
	ok=$(printf '%063d' 0 | sed 's/^0/a/')
	id=$(create --name "$ok")
	[ "$(skey "$id" name)" = "$ok" ] || fail "63-character name not kept"
	run 0 pel sandbox rm "$ok"
}

# rm of anything that is not a sandbox here fails and touches nothing:
# words that cannot be an ID or a name are usage errors (with --force
# too), well-formed ones that name nothing are "no such sandbox".
t_bad_rm_args() {
	id=$(create --name keep)
	pid=$(skey "$id" pause_pid)
	before=$(cat "$ROOT/sandboxes/$id/state")
	for a in "" "/" "." ".." "../$id" "a/b" "sandboxes/$id" \
	    "$(printf 'ke\nep')" "/bin" "-"; do
		run 2 pel sandbox rm "$a"
		one_error "is neither a sandbox ID nor a name"
		run 2 pel sandbox rm -f -- "$a"
		one_error "is neither a sandbox ID nor a name"
	done
	for a in "$(echo "$id" | cut -c1-15)" "${id}0" "nosuch"; do
		run 1 pel sandbox rm "$a"
		one_error "no such sandbox"
	done
	# --force asks for the sandbox to be gone: already gone is success.
	run 0 pel sandbox rm --force nosuch
	[ -s "$ERR" ] && fail "rm --force of nothing warned: $(cat "$ERR")"
	run 0 pel sandbox rm -f -- nosuch
	# A usage error removes nothing, even beside a good argument.
	run 2 pel sandbox rm keep ../x
	alive "$pid" || fail "rm with a malformed argument removed keep"
	run 1 pel sandbox rm nosuch keep
	grep -q "no such sandbox 'nosuch'" "$ERR" || fail "rm nosuch keep: $(cat "$ERR")"
	[ -e "$ROOT/sandboxes/$id" ] && fail "rm nosuch keep did not remove keep"
	gone "$pid" || fail "pause of keep survived its rm"
	id=$(create --name keep)
	before=$(cat "$ROOT/sandboxes/$id/state")
	run 2 pel sandbox rm ""
	expect_eq "$(cat "$ROOT/sandboxes/$id/state")" "$before" "state after bad rm"
	alive "$(skey "$id" pause_pid)" || fail "bad rm hurt the pause"
	for c in inspect; do
		run 2 pel sandbox "$c" ../x
		one_error "sandbox $c: '../x' is neither a sandbox ID nor a name"
	done
	run 2 pel run --sandbox ../x true
	one_error "run: '../x' is neither a sandbox ID nor a name"
	run 0 pel sandbox rm "$id"
}

t_bad_env() {
	for s in junk 10.1.2.3/24 10.0.0.0/8 10.0.0.0/31 "10.0.0.0/24 x" ""; do
		[ -z "$s" ] && continue
		PELAGOS_SUBNET=$s run 1 pel sandbox create
		one_error "subnet '$s'"
	done
	for s in 127.0.0.0/24 169.254.1.0/24 224.0.0.0/24 240.1.0.0/16 \
	    0.0.0.0/16; do
		PELAGOS_SUBNET=$s run 1 pel sandbox create
		one_error "subnet '$s' lies in"
	done
	PELAGOS_BRIDGE=waytoolongbridgename run 1 pel sandbox create
	one_error "bridge name"
	PELAGOS_BRIDGE=a/b run 1 pel sandbox create
	one_error "bridge name"
	[ -e "$ROOT" ] && fail "a rejected create made the root"
	return 0
}

t_non_root() {
	# util-linux setpriv, else busybox su (busybox setpriv cannot
	# change uid).
	if setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
		as_nobody() {
			setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
		}
	elif su -s /bin/sh -c true -- nobody 2>/dev/null; then
		as_nobody() {
			su -s /bin/sh -c 'exec "$@"' -- nobody sh "$@"
		}
	else
		skip "neither setpriv nor su can drop to nobody"
	fi
	mkdir -p "$ROOT" && chmod 755 "$T_DIR" "$ROOT"
	as_nobody true 2>/dev/null || skip "setpriv cannot drop to 65534 here"
	run 1 as_nobody "$PELAGOS" --root "$ROOT" sandbox create
	one_error "must be run as root"
	run 1 as_nobody "$PELAGOS" --root "$ROOT" sandbox rm abc
	one_error "must be run as root"
	[ -z "$(ls "$ROOT")" ] || fail "non-root create wrote to the root"
	link_exists "$BR" && fail "non-root create made the bridge"
	return 0
}
