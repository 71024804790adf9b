#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# /init of the test initramfs that tests/initramfs.sh builds: bring up a bare
# busybox system, run examples/init-sandbox.sh as a boot-time smoke step, run
# the integration suite, print the result markers the host looks for, and
# power off.
#
# /etc/pelagos-smoke, when tests/initramfs.sh --smoke puts it in the image,
# lists the tests to run instead of the whole suite.  The kernel command line
# switch pelagos.shell=1 (--shell) drops to a shell instead of powering off.

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

# Nothing has opened a console yet: the kernel could not, as the image has no
# /dev/console and devtmpfs is not mounted automatically.
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

# Only what the README says pelagos needs (/proc, /sys, /run, /dev/null,
# and for pod cgroups with limits a cgroup2 that hands on the memory, cpu
# and pids controllers), so that the suite passing here proves that list
# complete.  /tmp is the suite's.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t cgroup2 none /sys/fs/cgroup
echo "+memory +cpu +pids" >/sys/fs/cgroup/cgroup.subtree_control
hostname pelagos-initramfs

smoke=
[ -f /etc/pelagos-smoke ] && smoke=$(cat /etc/pelagos-smoke)
shell=0
grep -qw pelagos.shell=1 /proc/cmdline && shell=1

finish() {
	if [ "$shell" = 1 ]; then
		echo "pelagos.shell=1: starting a shell; 'poweroff -f' ends the VM"
		setsid cttyhack sh
	fi
	sync
	poweroff -f
	# poweroff should not return; if it does, let the kernel panic (the
	# host passes panic=-1 and -no-reboot, so QEMU exits either way).
	echo o >/proc/sysrq-trigger
	exit 1
}

# Dependency order: bridge needs stp, which needs llc; ipv6 is in the image
# only where the kernel has it as a module.  There is no modules.dep in
# the image, so modprobe cannot be used.
[ -f /lib/modules/ipv6.ko ] && insmod /lib/modules/ipv6.ko
for mod in llc stp bridge veth; do
	if ! insmod "/lib/modules/$mod.ko"; then
		echo "PELAGOS-INITRAMFS-RESULT: 0 passed, 1 failed, 0 skipped"
		echo "PELAGOS-INITRAMFS-ERROR: insmod $mod failed"
		finish
	fi
done
ip link set lo up

echo
echo "PELAGOS-INITRAMFS-BOOTED: $(cut -d' ' -f1 /proc/uptime)s $(uname -srm)"

# The example boot script, run the way an integrator's /init would run it,
# then cleaned up so that the suite starts from a host with no sandboxes.
# The example prints the sandbox's ID and then its workload's PID; the
# workload must sit in the sandbox's network namespace.
example=ok
echo "== examples/init-sandbox.sh"
out=$(PELAGOS=/bin/pelagos sh /examples/init-sandbox.sh) || example=FAIL
echo "$out"
wpid=$(echo "$out" | tail -n 1)
ns=$(/bin/pelagos sandbox inspect web | sed 's/.*"ns_name":"\([^"]*\)".*/\1/')
if [ -z "$wpid" ] || [ -z "$ns" ] ||
	[ "$(stat -L -c %i "/proc/$wpid/ns/net")" != "$(stat -L -c %i "/run/netns/$ns")" ]; then
	echo "the example's workload ($wpid) is not in the sandbox's namespace ($ns)"
	example=FAIL
fi
/bin/pelagos sandbox rm --force web || example=FAIL
echo "PELAGOS-INITRAMFS-EXAMPLE: $example"

cd /tests || finish
# A kernel without nf_tables, for real: a plain create works, one that
# asks for NAT fails, naming what is missing.  Then the modules.
if [ -z "$smoke" ]; then
	echo "== without nf_tables"
	nonft=$(PELAGOS=/bin/pelagos PELAGOS_TEST_NO_NFT=1 \
	    sh ./run.sh --integration-only t_nat_unsupported 2>&1 | tail -n 1)
	echo "PELAGOS-INITRAMFS-NONFT: $nonft"
fi
for mod in $(cat /etc/pelagos-nft-modules); do
	insmod "/lib/modules/$mod.ko" || echo "insmod $mod failed"
done

echo "== integration suite${smoke:+ (smoke subset:$smoke)}"
rc=0
# busybox sh has no pipefail: the runner's status travels through a file.
# $smoke is a list of test names, split on purpose.  The concurrency run
# (t_stress.sh) loads the host's suite; here, under emulation, a few
# seconds of it show that it runs on busybox.
# shellcheck disable=SC2086
{ STRESS_SECS=5 PELAGOS=/bin/pelagos PELAGOS_TEST_GUEST=1 sh ./run.sh --integration-only $smoke
	echo $? >/tmp/suite.rc; } 2>&1 |
	tee /tmp/suite.log
read -r rc </tmp/suite.rc
result=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' /tmp/suite.log |
	tail -n 1)
echo "PELAGOS-INITRAMFS-RESULT: ${result:-no result line}"
echo "PELAGOS-INITRAMFS-EXIT: $rc"
echo "PELAGOS-INITRAMFS-UPTIME: $(cut -d' ' -f1 /proc/uptime)s"
finish
