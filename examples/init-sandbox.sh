#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Boot-time example: create a named pod sandbox and start a workload in it.
# Call it from an initramfs /init or an rc script once /proc, /sys, /run and
# /dev are mounted and the veth and bridge modules are loaded (see the README,
# "Putting pelagos in an initramfs").  tests/initramfs-init.sh runs it on every
# `make check-initramfs`.
#
# Usage: init-sandbox.sh [CMD [ARG...]]
#   CMD defaults to a busybox web server on port 8080 serving /srv/www.
# Environment:
#   PELAGOS       the pelagos binary (default: pelagos from PATH)
#   SANDBOX_NAME  the sandbox's name (default: web)
set -eu

PELAGOS=${PELAGOS:-pelagos}
name=${SANDBOX_NAME:-web}

if [ $# -eq 0 ]; then
	mkdir -p /srv/www
	set -- httpd -f -p 8080 -h /srv/www
fi

# A root that survives reboots (PELAGOS_ROOT or --root on a disk) still
# holds the sandboxes of the earlier boot, all dead now: prune removes
# them and prints their IDs.  create --name would reclaim the name of one
# anyway, but only prune frees the rest.
"$PELAGOS" sandbox prune >/dev/null

"$PELAGOS" sandbox create --name "$name"

"$PELAGOS" run --sandbox "$name" -d -- "$@"
