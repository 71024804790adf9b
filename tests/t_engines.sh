# SPDX-License-Identifier: Apache-2.0
# Real engines calling pelagos as their CNI plugin: containerd (driven by
# ctr run --cni) and podman (CNI backend).  Each test starts its engine
# itself, on roots, state directories, sockets and configuration of its
# own, and stops it by the PID it recorded.  The image is built here from
# busybox-static and never downloaded.
TESTS="$TESTS t_cni_containerd t_cni_podman"

# Helpers are e_-prefixed: every t_*.sh is sourced into one shell.

# e_need CMD...: skip unless each is installed.
e_need() {
	for _c in "$@"; do
		command -v "$_c" >/dev/null 2>&1 || skip "$_c not installed"
	done
	[ -x /bin/busybox ] && /bin/busybox --list | grep -qx httpd ||
	    skip "busybox-static not installed"
}

# e_setup: the engines' directory (short: socket paths are limited) and
# the network's name, which is also the plugin's type, the conflist's
# name and the engines' cgroup parent; all of them this test's own.
e_setup() {
	E=$T_DIR/e
	E_NAME=pelagos-$BR
	mkdir -p "$E/cnibin" "$E/cniconf" "$E/ptmp" "$E/bin"
	# podman's runc, with a state directory of ours: --runtime-flag would
	# not reach the `podman container cleanup` conmon runs, whose runc
	# would then make /run/runc.
	printf '#!/bin/sh\nexec %s --root %s "$@"\n' "$(command -v runc)" \
	    "$E/runc" >"$E/bin/runc"
	chmod 755 "$E/bin/runc"
	cat >"$E/containers.conf" <<-EOF
	[engine]
	tmp_dir = "$E/ptmp"
	image_copy_tmp_dir = "$E/ptmp"
	events_logger = "none"
	cgroup_manager = "cgroupfs"
	runtime = "runc"
	[engine.runtimes]
	runc = ["$E/bin/runc"]
	[containers]
	default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
	[network]
	network_backend = "cni"
	cni_plugin_dirs = ["$E/cnibin"]
	network_config_dir = "$E/cniconf"
	EOF
	CONTAINERS_CONF=$E/containers.conf
	export CONTAINERS_CONF
	printf '{"cniVersion":"1.0.0","name":"%s","plugins":[{"type":"%s","bridge":"%s","subnet":"%s.0/24","isDefaultGateway":true,"dataDir":"%s"}]}\n' \
	    "$E_NAME" "$E_NAME" "$BR" "$NET" "$E/cni" >"$E/conflist"
	E_LEASES=$E/cni/$E_NAME/leases
	# libcni in both engines caches results in /var/lib/cni/results.
	for _d in /var/lib/cni /var/lib/cni/results; do
		[ -d "$_d" ] || E_MADE="$_d ${E_MADE:-}"
	done
	trap '_erc=$?; e_cleanup "$_erc"; _erc=$?; (exit $_erc); cleanup_test' EXIT
}

e_podman() {
	podman --root "$E/proot" --runroot "$E/prun" --storage-driver vfs \
	    --network-config-dir "$E/cniconf" "$@"
}

# e_image: a busybox image, localhost/pelagos-busybox:test, in podman's
# storage, and as an OCI archive in $E/img.tar.
e_image() {
	_r=$E/rootfs
	mkdir -p "$_r/bin" "$_r/etc" "$_r/proc" "$_r/sys" "$_r/dev" "$_r/tmp" \
	    "$_r/www"
	cp /bin/busybox "$_r/bin/busybox"
	for _a in sh ip ping wget httpd hostname cat sleep readlink; do
		ln -s busybox "$_r/bin/$_a"
	done
	echo "hello from a pelagos CNI pod" >"$_r/www/index.html"
	tar -C "$_r" -cf "$E/rootfs.tar" . || fail "tar of the rootfs"
	e_podman import "$E/rootfs.tar" localhost/pelagos-busybox:test \
	    >"$E/import.log" 2>&1 || fail "podman import: $(cat "$E/import.log")"
	e_podman save --format oci-archive -o "$E/img.tar" \
	    localhost/pelagos-busybox:test >"$E/save.log" 2>&1 ||
	    fail "podman save: $(cat "$E/save.log")"
}

# e_lease ID: the address leased to attachment ID/eth0, once there is one.
e_lease() {
	for _f in "$E_LEASES"/*; do
		[ "$(readlink "$_f" 2>/dev/null)" = "$1/eth0" ] &&
		    echo "${_f##*/}" && return 0
	done
	return 1
}

e_no_leases() {
	[ -z "$(ls -A "$E_LEASES" 2>/dev/null)" ] &&
	    [ -z "$(ls -A "/sys/class/net/$BR/brif" 2>/dev/null)" ]
}

# e_cleanup RC: stops what the test started (tasks, containers, pods,
# daemons, by recorded PID), then removes exactly what it added outside
# $T_DIR: the conflist and plugin link, empty directories it made, and the
# cgroups its engines made under its own parent.
e_cleanup() {
	_rc=$1
	if [ -n "${E_CTR:-}" ] && [ -S "$E/c.sock" ]; then
		for _t in $($E_CTR task ls -q 2>/dev/null); do
			$E_CTR task kill -s KILL "$_t" >/dev/null 2>&1
			poll 5 e_task_stopped
			$E_CTR task delete -f "$_t" >/dev/null 2>&1
		done
		for _c in $($E_CTR containers ls -q 2>/dev/null); do
			$E_CTR containers delete "$_c" >/dev/null 2>&1
		done
	fi
	# ctr run clients end with their tasks; any other is killed.
	[ -f "$T_DIR/kill" ] && while read -r _p _s; do
		poll 5 gone "$_p" || kill_recorded "$_p" "$_s"
	done <"$T_DIR/kill"
	if [ -f "$E/containerd.pid" ]; then
		read -r _p <"$E/containerd.pid"
		kill "$_p" 2>/dev/null
		poll 10 gone "$_p" || kill -9 "$_p" 2>/dev/null
	fi
	# A shim outlives containerd while its task runs: each is stopped by
	# the PID containerd recorded for it, if it is still that shim.
	for _f in $(find "$E/cstate" -name shim.pid 2>/dev/null); do
		read -r _p <"$_f"
		grep -q -a "$E/c.sock" "/proc/$_p/cmdline" 2>/dev/null &&
		    kill -9 "$_p"
	done
	if [ -f "$E/containers.conf" ]; then
		e_podman rm -a -f -t 0 >/dev/null 2>&1
		e_podman pod rm -a -f >/dev/null 2>&1
		e_podman rmi -a -f >/dev/null 2>&1
	fi
	grep " $E/" /proc/self/mountinfo | cut -d' ' -f5 | sort -r |
	    while read -r _m; do umount -l "$_m"; done
	[ -n "${E_CONF:-}" ] && rm -f "$E_CONF"
	[ -n "${E_LINK:-}" ] && rm -f "$E_LINK"
	for _d in ${E_MADE:-}; do
		rmdir "$_d" 2>/dev/null
	done
	_left=$(cgroup_sweep "${E_NAME:-none}")
	if ! poll 5 e_no_leases && [ "$_rc" = 0 ]; then
		echo "FAIL: left behind: leases $(ls "$E_LEASES" 2>/dev/null | tr '\n' ' ')" \
		    "ports $(ls "/sys/class/net/$BR/brif" 2>/dev/null | tr '\n' ' ')" >&2
		_rc=1
	fi
	for _l in /sys/class/net/"$BR"/brif/*; do
		[ -e "$_l" ] && ip link del "${_l##*/}" 2>/dev/null
	done
	[ -n "$_left" ] && [ "$_rc" = 0 ] && echo "FAIL: left$_left" >&2 && _rc=1
	return "$_rc"
}

e_task_stopped() {
	! $E_CTR task ls 2>/dev/null | grep "^$_t " | grep -qv STOPPED
}

# e_mkdir DIR: makes DIR and its missing parents, remembering which, so
# that the cleanup removes exactly those (deepest first) if still empty.
e_mkdir() {
	_missing=""
	_d=$1
	while [ ! -d "$_d" ]; do
		_missing="$_d $_missing"
		_d=${_d%/*}
	done
	for _d in $_missing; do
		mkdir "$_d" || fail "mkdir $_d"
		E_MADE="$_d ${E_MADE:-}"
	done
}

t_cni_containerd() {
	e_need containerd ctr podman runc
	e_setup
	cat >"$E/containerd.toml" <<-EOF
	version = 2
	root = "$E/croot"
	state = "$E/cstate"
	disabled_plugins = ["io.containerd.grpc.v1.cri",
	    "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
	    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
	    "io.containerd.snapshotter.v1.overlayfs",
	    "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]
	[grpc]
	  address = "$E/c.sock"
	[ttrpc]
	  address = "$E/c.sock.ttrpc"
	[debug]
	  address = ""
	[plugins."io.containerd.internal.v1.opt"]
	  path = "$E/opt"
	EOF
	# ctr run --cni reads the first conflist by name in /etc/cni/net.d and
	# the plugins in /opt/cni/bin: ours sorts first, and only the files
	# added here are removed.
	e_mkdir /etc/cni/net.d
	E_CONF=/etc/cni/net.d/00-$E_NAME.conflist
	[ -e "$E_CONF" ] && fail "$E_CONF exists already"
	cp "$E/conflist" "$E_CONF"
	first=$(ls /etc/cni/net.d | grep -E '\.(conf|conflist|json)$' | sort | head -n 1)
	[ "$first" = "00-$E_NAME.conflist" ] ||
	    skip "/etc/cni/net.d/$first sorts before the test's conflist"
	e_mkdir /opt/cni/bin
	E_LINK=/opt/cni/bin/$E_NAME
	[ -e "$E_LINK" ] && fail "$E_LINK exists already"
	ln -s "$PELAGOS" "$E_LINK"
	[ -d /run/containerd/s ] || e_mkdir /run/containerd/s
	e_image
	containerd --config "$E/containerd.toml" >"$E/containerd.log" 2>&1 &
	echo $! >"$E/containerd.pid"
	E_CTR="ctr --address $E/c.sock -n $E_NAME"
	poll 10 test -S "$E/c.sock" || fail "containerd did not start: $(tail -5 "$E/containerd.log")"
	$E_CTR image import --snapshotter native "$E/img.tar" >"$OUT" 2>&1 ||
	    fail "ctr image import: $(cat "$OUT")"
	run_opts="--cni --rm --snapshotter native --runc-root $E/runc --fifo-dir $E/fifo"
	# shellcheck disable=SC2086
	$E_CTR run $run_opts localhost/pelagos-busybox:test web \
	    sh -c 'ip -4 -o addr show dev eth0; exec httpd -f -p 8080 -h /www' \
	    </dev/null >"$E/web.out" 2>&1 &
	echo "$! $(sed 's/.*) //' "/proc/$!/stat" | cut -d' ' -f20)" >>"$T_DIR/kill"
	ctr_pid=$!
	poll 20 e_lease "$E_NAME-web" >/dev/null ||
	    fail "no lease for the web container: $(cat "$E/web.out")"
	ip1=$(e_lease "$E_NAME-web")
	poll 10 grep -q "inet $ip1/24" "$E/web.out" ||
	    fail "web's eth0 lacks $ip1: $(cat "$E/web.out")"
	# shellcheck disable=SC2086
	$E_CTR run $run_opts localhost/pelagos-busybox:test client \
	    sh -c "ip -4 -o addr show dev eth0; wget -q -O - http://$ip1:8080/" \
	    </dev/null >"$E/client.out" 2>&1 ||
	    fail "the client container failed: $(cat "$E/client.out")"
	grep -q "hello from a pelagos CNI pod" "$E/client.out" ||
	    fail "the client did not reach web at $ip1: $(cat "$E/client.out")"
	ip2=$(sed -n 's/.*inet \([0-9.]*\)\/24.*/\1/p' "$E/client.out")
	[ -n "$ip2" ] && [ "$ip2" != "$ip1" ] || fail "client address '$ip2'"
	note "containerd: web $(head -n 1 "$E/web.out" | tr -s ' ')"
	note "containerd: client $(head -n 1 "$E/client.out" | tr -s ' '), fetched: $(tail -n 1 "$E/client.out")"
	e_lease "$E_NAME-client" >/dev/null && fail "ctr left the client's lease"
	$E_CTR task kill -s KILL web || fail "ctr task kill"
	poll 20 gone "$ctr_pid" || fail "ctr run of web did not end"
	poll 5 e_no_leases || fail "left after ctr removed the containers:" \
	    "$(ls "$E_LEASES") $(ls "/sys/class/net/$BR/brif")"
	[ -z "$($E_CTR containers ls -q)" ] || fail "ctr kept containers"
}

t_cni_podman() {
	e_need podman runc
	e_setup
	ln -s "$PELAGOS" "$E/cnibin/$E_NAME"
	cp "$E/conflist" "$E/cniconf/$E_NAME.conflist"
	e_image
	img=localhost/pelagos-busybox:test
	cg="--cgroup-parent=/$E_NAME"
	e_podman network ls --format '{{.Name}}' | grep -qx "$E_NAME" ||
	    fail "podman does not see network $E_NAME"
	web=$(e_podman run -d $cg --network "$E_NAME" "$img" httpd -f -p 8080 \
	    -h /www 2>"$ERR") || fail "podman run -d: $(cat "$ERR")"
	ip1=$(e_lease "$web") || fail "no lease for container $web"
	e_podman run --name "$E_NAME-client" $cg --network "$E_NAME" "$img" \
	    sh -c "ip -4 -o addr show dev eth0; wget -q -O - http://$ip1:8080/" \
	    >"$E/client.out" 2>&1 || fail "podman run: $(cat "$E/client.out")"
	e_podman rm -f -t 0 "$E_NAME-client" >/dev/null
	grep -q "hello from a pelagos CNI pod" "$E/client.out" ||
	    fail "the client did not reach web at $ip1: $(cat "$E/client.out")"
	note "podman: web at $ip1 (lease $(readlink "$E_LEASES/$ip1"))"
	note "podman: client $(head -n 1 "$E/client.out" | tr -s ' ')"
	netns=$(e_podman inspect --format '{{.NetworkSettings.SandboxKey}}' "$web")
	e_podman rm -f -t 0 "$web" >/dev/null 2>"$ERR" || fail "podman rm: $(cat "$ERR")"
	poll 5 e_no_leases || fail "left after podman rm: $(ls "$E_LEASES")"
	[ -n "$netns" ] && [ -e "$netns" ] && fail "podman kept $netns"
	# A pod: its infra container is the one on the network, and the
	# pod's containers share its namespace.
	e_podman pod create $cg --network "$E_NAME" --name "$E_NAME-pod" \
	    >"$OUT" 2>"$ERR" || fail "podman pod create: $(cat "$ERR")"
	e_podman pod start "$E_NAME-pod" >"$OUT" 2>"$ERR" ||
	    fail "podman pod start: $(cat "$ERR")"
	infra=$(e_podman pod inspect --format '{{.InfraContainerID}}' "$E_NAME-pod")
	ip3=$(e_lease "$infra") || fail "no lease for the infra container $infra"
	e_podman run --name "$E_NAME-member" --pod "$E_NAME-pod" "$img" \
	    ip -4 -o addr show dev eth0 >"$E/pod.out" 2>&1 ||
	    fail "podman run --pod: $(cat "$E/pod.out")"
	grep -q "inet $ip3/24" "$E/pod.out" ||
	    fail "the pod's container is not on $ip3: $(cat "$E/pod.out")"
	note "podman pod: infra $infra at $ip3; a member sees $(tr -s ' ' <"$E/pod.out")"
	e_podman pod rm -f "$E_NAME-pod" >/dev/null 2>"$ERR" ||
	    fail "podman pod rm: $(cat "$ERR")"
	poll 5 e_no_leases || fail "left after podman pod rm: $(ls "$E_LEASES")"
}
