/* SPDX-License-Identifier: Apache-2.0 */
/* The sandbox lifecycle: claim, build and record with rollback;
 * teardown; liveness.
 *
 * Objects are made in an order that keeps every one of them traceable
 * from the root: the ID (the sandbox's directory), the name and the lease
 * are recorded under the root's lock before any kernel object exists, and
 * teardown removes kernel objects before the records, so an interrupted
 * create, rm or prune can always be finished by running rm or prune
 * again. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <linux/netlink.h>

#include "pelagos.h"

/* Which of the namespaces in the table are the pod's own: UTS always,
 * the others unless shared with the host (or, for PID, each workload's
 * own). */
int
sandbox_shares(const struct sandbox *sb, enum ns_kind k)
{
	switch (k) {
	case NSK_NET:
		return sb->net == NS_POD;
	case NSK_IPC:
		return sb->ipc == NS_POD;
	case NSK_PID:
		return sb->pid == NS_POD;
	default:
		return 1;
	}
}

/* The kernel's boot ID, read once; "" where /proc cannot tell. */
const char *
sandbox_boot_id(void)
{
	static char id[BOOT_ID_LEN + 2];
	static int done;
	int n;

	if (done)
		return id;
	done = 1;
	n = state_kv_load(AT_FDCWD, "/proc/sys/kernel/random/boot_id", id,
	    BOOT_ID_LEN + 1, NULL);
	id[n == BOOT_ID_LEN + 1 && id[BOOT_ID_LEN] == '\n' ? BOOT_ID_LEN : 0] =
	    '\0';
	if (!valid_boot_id(id))
		id[0] = '\0';
	return id;
}

/* A sandbox of an earlier boot is dead whatever its records say: a
 * deterministic boot can give a new process the very PID, start time and
 * namespace inode that were recorded.  A state without a boot ID (the
 * previous release's) is taken to be of this boot. */
static int
this_boot(const struct sandbox *sb)
{
	return !sb->boot_id[0] || !sandbox_boot_id()[0] ||
	    !strcmp(sb->boot_id, sandbox_boot_id());
}

/* A pause counts as alive only while it is the recorded process of this
 * boot and still sits in the recorded network namespace. */
int
sandbox_pause_alive(const struct sandbox *sb)
{
	return this_boot(sb) && proc_same(sb->pause_pid, sb->pause_start) &&
	    proc_ns_ino(sb->pause_pid, NSK_NET) == sb->netns_ino;
}

/* "broken": the pause lives, but /run/netns/<ns> no longer holds its
 * namespace, so `ip netns exec` would enter another one (or none).  The
 * live lock answers first for a state that trusts its pause: a pause
 * never leaves its namespace, so no /proc need be read while it lives. */
const char *
sandbox_status(const struct sandbox *sb)
{
	if (!(sb->live && sb->pause_pid && this_boot(sb)) &&
	    !sandbox_pause_alive(sb))
		return "dead";
	if (sb->ns_name[0] && net_ns_ino(sb->ns_name) != sb->netns_ino)
		return "broken";
	return "running";
}

/* The state in a sandbox's directory (name STATE_FILE), or from the
 * sandboxes directory (name <id>/STATE_FILE: see state_kv_load);
 * EBADMSG also for a state that names another ID. */
int
sandbox_load_at(int dfd, const char *id, const char *name,
	struct sandbox *sb)
{
	if (state_load(dfd, name, sb) < 0)
		return -1;
	if (strcmp(sb->id, id)) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

int
sandbox_load(int rootfd, const char *id, struct sandbox *sb)
{
	int dfd;

	if ((dfd = root_sbdir(rootfd, id)) < 0)
		return -1;
	return root_close(dfd, sandbox_load_at(dfd, id, STATE_FILE, sb));
}

/* The kernel objects an ID names: its netns (whose name is the pause's
 * tag), and the host end of the veth of its interface i, eth<i> in the
 * pod: vh-<8hex> for eth0, vh-<8hex>-<i> for the others (IFNAMSIZ allows
 * 15 characters). */
static __attribute__((noinline)) void
kernel_names(const char *id, int i, char ns[IFNAME_LEN],
	char veth[IFNAME_LEN])
{
	pause_tag(id, ns);
	util_fmt(veth, IFNAME_LEN, i ? VETH_PREFIX "%.*s-%d" :
	    VETH_PREFIX "%.*s", SHORT_LEN, id, i);
}

/* The kernel names of sb's ID: its netns (none for a host-network pod)
 * and the host ends of its veths. */
static void
names_of(struct sandbox *sb)
{
	int i;

	for (i = 0; i < sb->nifs; i++)
		kernel_names(sb->id, i, sb->ns_name, sb->ifs[i].veth_host);
	if (sb->net == NS_NODE)
		sb->ns_name[0] = '\0';
}

/* Fills sb from an ID alone, for a sandbox whose state is missing or
 * unreadable: the kernel objects are named after the ID, and the leases
 * and name are found by what their links point at.  Every interface it
 * could have had is listed. */
void
sandbox_derive(const char *id, struct sandbox *sb)
{
	memset(sb, 0, sizeof(*sb));
	util_strcpy(sb->id, id);
	sb->nifs = MAX_IFS;
	pause_tag(id, sb->ns_name);
	sb->net = net_ns_ino(sb->ns_name) ? NS_POD : NS_NODE;
	names_of(sb);
	cgroup_derive(id, sb->cgroup);
}

/* The namespace whose other processes are the sandbox's, 0 if none is
 * provably its own.  A recorded inode proves nothing by itself: the
 * kernel reuses namespace inodes, lowest first.  It counts while the
 * recorded pause still sits in it, or while the mount at the sandbox's
 * name still holds it; without a record, the namespace mounted at the
 * name is the one the sandbox's create made there. */
static unsigned long long
owned_ns(const struct sandbox *sb, int flags, enum ns_kind *kind)
{
	unsigned long long mounted;

	*kind = NSK_NET;
	if (!this_boot(sb))
		return 0;
	if (sb->net == NS_NODE) {
		*kind = NSK_UTS;
		return sandbox_pause_alive(sb) ?
		    proc_ns_ino(sb->pause_pid, NSK_UTS) : 0;
	}
	if (sandbox_pause_alive(sb))
		return sb->netns_ino;
	mounted = sb->ns_name[0] ? net_ns_ino(sb->ns_name) : 0;
	if (flags & TD_DERIVED)
		return mounted;
	return mounted && mounted == sb->netns_ino ? mounted : 0;
}

/* Every lease the interfaces hold; a failure is the last one's. */
static int
leases_free(int rootfd, const struct sandbox *sb)
{
	const struct pod_if *pi;
	int ret = 0, i;

	for (i = 0; i < sb->nifs; i++) {
		pi = &sb->ifs[i];
		if (pi->ip && ipam_lease_free(rootfd, pi->ip, NULL, sb->id) < 0)
			ret = -1;
		if (pi->prefix6 && ipam_lease_free(rootfd, 0, pi->ip6,
		    sb->id) < 0)
			ret = -1;
	}
	return ret;
}

/* The records: lease, name and directory, freed under the root's lock
 * (TD_LOCKED: the caller holds it), so that no create can take an address
 * or a name between the check that it is still ours and its removal. */
static __attribute__((noinline)) int
free_records(int rootfd, const struct sandbox *sb, int flags, int kept,
	struct pelagos_err *e)
{
	int lock = -1, ret = 0;

	if (!(flags & TD_LOCKED) && (lock = root_lock(rootfd, LOCK_EX)) < 0)
		return err_os(e, "lock the root");
	if (flags & TD_DERIVED) {
		if (root_links_sweep(rootfd, "leases", root_is_id, sb->id) < 0 ||
		    root_links_sweep(rootfd, "names", root_is_id, sb->id) < 0)
			ret = err_os(e, "free addresses and name of sandbox %s",
			    sb->id);
	} else {
		if (leases_free(rootfd, sb) < 0)
			ret = err_os(e, "free addresses of sandbox %s", sb->id);
		else if (sb->name[0] &&
		    root_name_free(rootfd, sb->name, sb->id) < 0)
			ret = err_os(e, "free name %s", sb->name);
	}
	/* The state goes last, and only when all else went: whatever is
	 * left is then still traced from it. */
	if (ret == 0 && !kept && root_rmdir(rootfd, sb->id) < 0)
		ret = err_os(e, "remove state of sandbox %s", sb->id);
	root_close(lock, 0);
	return ret;
}

/* Removes whatever of the sandbox exists; every step tolerates an object
 * already gone, and the first failure is the one reported.  Other
 * processes in the sandbox make it fail with EBUSY unless TD_FORCE is
 * given, in which case they are killed: those of its cgroup, or, for a
 * sandbox without one, those found by namespace identity, never by
 * name. */
int
sandbox_teardown(int rootfd, const struct sandbox *sb, int flags,
	struct pelagos_err *e)
{
	/* Where the next failure is told: e until the first one, which is
	 * the one reported. */
	struct pelagos_err step, *w = e;
	struct proc_scan s;
	struct proc_id rec, *p;
	size_t i, busy;
	long n = 0;
	int ret = -1, unmounted = 0, pause;

	memset(&s, 0, sizeof(s));
	pause_tag(sb->id, s.tag);
	/* The recorded pause of an earlier boot is nobody's now. */
	rec.pid = this_boot(sb) ? sb->pause_pid : 0;
	rec.start = sb->pause_start;
	if (sb->cgroup[0] && !(flags & (TD_NOSCAN | TD_FORCE)) &&
	    (n = cgroup_busy(sb->cgroup)) < 0 && errno != ENOENT) {
		err_os(e, "processes in cgroup %s", sb->cgroup);
		goto out;
	}
	if (!sb->cgroup[0] && !(flags & TD_NOSCAN)) {
		s.ino = owned_ns(sb, flags, &s.ns);
		if (proc_scan(&s) < 0) {
			err_os(e, "scan /proc for sandbox %s", sb->id);
			goto out;
		}
	}
	busy = n > 0 ? (size_t)n : s.nother;
	if (busy && !(flags & TD_FORCE)) {
		err_msg(e, EBUSY, "sandbox %s: %zu process%s still in it "
		    "(rm --force kills them)", sb->id, busy,
		    busy == 1 ? "" : "es");
		goto out;
	}
	ret = 0;
	if (sb->cgroup[0] && cgroup_remove(sb->cgroup, rec.pid, w) < 0)
		ret = -1, w = &step;
	/* The recorded pause first, then the pauses and other processes
	 * the scan found.  Killed with its cgroup, the recorded pause may
	 * still be on its way out: as PID 1 of a --pod-pid sandbox it waits
	 * for every process of its PID namespace to be reaped, and, on its
	 * way, no longer shows the tag. */
	for (i = 0; i <= (size_t)s.npause + s.nother; i++) {
		p = !i ? &rec : i <= (size_t)s.npause ? &s.pause[i - 1] :
		    &s.other[i - 1 - s.npause];
		pause = i <= (size_t)s.npause;
		if (proc_stop(p->pid, p->start, !pause ? SIGKILL :
		    !i && sb->cgroup[0] ? 0 : SIGTERM,
		    pause && (i || !sb->cgroup[0]) ? s.tag : NULL) < 0) {
			err_os(w, pause ? "stop pause %d of sandbox %s" :
			    "kill process %d in sandbox %s", (int)p->pid, sb->id);
			ret = -1, w = &step;
		}
	}
	/* Once nothing of it runs, nothing sends from its address: its
	 * elements go first, so that the grace period the kernel frees them
	 * after (fw.c) passes while the rest goes. */
	if ((sb->net == NS_POD || (flags & TD_DERIVED)) &&
	    fw_del(rootfd, sb, flags & TD_DERIVED, w) < 0)
		ret = -1, w = &step;
	if (sb->ns_name[0] && net_ns_remove(sb->ns_name, &unmounted, w) < 0)
		ret = -1, w = &step;
	/* Only a namespace that nothing of ours runs in any more is left to
	 * the kernel to free, veths and all (net_veth_release). */
	for (i = 0; i < (size_t)sb->nifs; i++)
		if (net_veth_release(sb->ifs[i].veth_host, unmounted &&
		    ret == 0 && !(flags & TD_DERIVED), w) < 0)
			ret = -1, w = &step;
	if (free_records(rootfd, sb, flags, ret, w) < 0)
		ret = -1, w = &step;
out:
	proc_scan_free(&s);
	return ret;
}

/* A pause of this sandbox that runs although its state cannot say so. */
static int
has_pause(const struct sandbox *sb)
{
	struct proc_scan s;

	memset(&s, 0, sizeof(s));
	pause_tag(sb->id, s.tag);
	s.ns = NSK_NET;
	if (proc_scan(&s) < 0)
		return 1;
	proc_scan_free(&s);
	return s.npause > 0;
}

/* rm and prune.  What to remove is decided under the root's lock, where
 * no create is between making a sandbox's directory and locking it, so a
 * directory without a state file and without a lock is a create that
 * died.  Then the sandbox's own lock is taken exclusively before anything
 * is stopped: a run joining the sandbox holds it shared until it sits in
 * the sandbox's namespaces, so it has either joined, and is found there,
 * or finds the sandbox gone.  With TD_PRUNE only what is dead, broken or
 * half-made goes.  Returns 1 when removed, 0 when pruning leaves it, -1
 * on error (ENOENT: no such sandbox, EBUSY: being created or in use). */
int
sandbox_remove(int rootfd, const char *id, int flags, struct pelagos_err *e)
{
	struct sandbox sb;
	struct stat st;
	int lock = -1, dfd = -1, ret = -1, r;

	if (!(flags & TD_LOCKED) && (lock = root_lock(rootfd, LOCK_EX)) < 0)
		return err_os(e, "lock the root");
	if ((dfd = root_sbdir(rootfd, id)) < 0 && errno != ELOOP &&
	    errno != ENOTDIR) {
		if (errno == ENOENT)
			goto gone;
		err_os(e, "sandbox %s", id);
		goto out;
	}
	if ((dfd >= 0 ? sandbox_load_at(dfd, id, STATE_FILE, &sb) :
	    -1) < 0) {
		/* No state file (ENOENT), or an unreadable one. */
		r = errno;
		if (r == ENOENT && flock(dfd, LOCK_SH | LOCK_NB) < 0 &&
		    errno == EWOULDBLOCK) {
			ret = flags & TD_PRUNE ? 0 : err_msg(e, EBUSY,
			    "sandbox %s is still being created", id);
			goto out;
		}
		sandbox_derive(id, &sb);
		/* Unreadable state: only a pause can tell it lives. */
		if (r != ENOENT && (flags & TD_PRUNE) && has_pause(&sb))
			goto kept;
		flags |= TD_DERIVED;
	} else if ((flags & TD_PRUNE) &&
	    !strcmp(sandbox_status(&sb), "running"))
		goto kept;
	/* The root need not stay locked while pauses stop: the records are
	 * freed under it again, and the directory is ours now. */
	lock = root_close(lock, -1);
	/* Locks are taken root first, then a sandbox's, only without
	 * waiting (claim, and here under TD_LOCKED), or a sandbox's first,
	 * then the root's (here, and a create's rollback): a prune that
	 * holds the root never waits for a sandbox, whose holder may be
	 * waiting for the root.  It leaves a sandbox in use to the next. */
	if (dfd >= 0) {
		while (flock(dfd, LOCK_EX | (flags & TD_LOCKED ? LOCK_NB : 0)) < 0)
			if (errno != EINTR) {
				if (errno == EWOULDBLOCK)
					goto kept;
				err_os(e, "lock sandbox %s", id);
				goto out;
			}
		if (util_fstat(dfd, &st) == 0 && st.st_nlink == 0)
			goto gone;
	}
	ret = sandbox_teardown(rootfd, &sb, flags, e) < 0 ? -1 : 1;
	goto out;
gone:
	err_msg(e, ENOENT, "no such sandbox %s", id);
	goto out;
kept:
	ret = 0;
out:
	root_close(dfd, 0);
	root_close(lock, 0);
	return ret;
}

/* The text form of the address lease k of sb is named by: interface k / 2,
 * IPv4 for an even k, IPv6 for an odd one; "" when it has none. */
static const char *
lease_name(const struct sandbox *sb, int k, char a[40])
{
	const struct pod_if *pi = &sb->ifs[k / 2];

	a[0] = '\0';
	if (k % 2 == 0 && pi->ip)
		ipam_format_ip(pi->ip, a);
	else if (k % 2 && pi->prefix6)
		ipam_format_ip6(pi->ip6, a);
	return a;
}

/* A link whose sandbox's state records another address or name than
 * the link's: it points at the wrong sandbox. */
static int
wrong_link(int rootfd, const char *name, const char *id, const void *dir)
{
	struct sandbox sb;
	unsigned char a6[16];
	char a[40];
	uint32_t ip;
	int k;

	if (sandbox_load(rootfd, id, &sb) < 0)
		return 0;
	if (!strcmp(dir, "names"))
		return strcmp(sb.name, name) != 0;
	if (ipam_parse_ip(name, NULL, &ip) < 0 &&
	    ipam_parse_ip6(name, NULL, a6) < 0)
		return 0;
	for (k = 0; k < 2 * sb.nifs; k++)
		if (!strcmp(lease_name(&sb, k, a), name))
			return 0;
	return 1;
}

/* One record of a sandbox made to point at it: missing, or pointing at a
 * sandbox that does not record it, it is (re)made. */
static int
relink(int rootfd, const char *dir, const char *name, const char *id)
{
	char cur[ID_LEN + 1];
	int dfd, r, e;

	if ((dfd = root_dir(rootfd, dir)) < 0)
		return -1;
	r = root_link_read(dfd, name, cur);
	e = errno;
	if (r == 0 && !strcmp(cur, id)) {
		close(dfd);
		return 0;
	}
	if ((r == 0 && !wrong_link(rootfd, name, cur, dir)) ||
	    (r < 0 && e != ENOENT && e != EBADMSG && e != EINVAL)) {
		close(dfd);
		return 0;
	}
	if (r == 0 || e != ENOENT)
		unlinkat(dfd, name, 0);
	close(dfd);
	return root_link_make(rootfd, dir, name, id, 1);
}

/* prune, under the root's lock: the leases and names agree with the state
 * files.  Links pointing at a sandbox that does not record them go; a
 * sandbox whose link is missing or was pointed elsewhere gets it back,
 * so that no create hands out an address or a name still recorded.  The
 * tables of the sandboxes left are made whole, and their nf_tables
 * elements added again (fw_sync). */
int
sandbox_reconcile(int rootfd, const struct root_ids *ids,
	struct pelagos_err *e)
{
	struct sandbox sb;
	char a[40], table[NAME_MAX_LEN + 1] = "";
	size_t i;
	int k;

	/* Links to the wrong sandbox, then links to none. */
	for (k = 0; k < 4; k++)
		if (root_links_sweep(rootfd, k & 1 ? "names" : "leases",
		    k < 2 ? wrong_link : root_is_orphan,
		    k & 1 ? "names" : "leases") < 0)
			return err_os(e, "prune leases and names");
	for (i = 0; i < ids->n; i++) {
		if (sandbox_load(rootfd, ids->id[i], &sb) < 0)
			continue;
		for (k = 0; k <= 2 * sb.nifs; k++)
			if (k < 2 * sb.nifs ? lease_name(&sb, k, a)[0] &&
			    relink(rootfd, "leases", a, sb.id) < 0 :
			    sb.name[0] && relink(rootfd, "names", sb.name,
			    sb.id) < 0)
				return err_os(e, "repair the links of sandbox "
				    "%s", sb.id);
		if (sb.nft[0] && strcmp(sb.nft, table)) {
			util_strcpy(table, sb.nft);
			if (fw_sync(rootfd, table, e) < 0)
				return -1;
		}
	}
	return 0;
}

static int
new_id(char id[ID_LEN + 1])
{
	unsigned char r[ID_LEN / 2];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	for (i = 0; i < sizeof(r); i++)
		util_fmt(id + 2 * i, 3, "%02x", r[i]);
	return 0;
}

/* An ID whose kernel names are free: a leftover netns file or veth from
 * elsewhere is never reused, and never removed by our rollback. */
static int
names_free(const char *id, int nifs)
{
	char ns[IFNAME_LEN], veth[IFNAME_LEN], p[64];
	int i;

	for (i = 0; i < nifs || i == 0; i++) {
		kernel_names(id, i, ns, veth);
		util_fmt(p, sizeof(p), "/sys/class/net/%s", veth);
		if ((i == 0 && net_ns_ino(ns)) || access(p, F_OK) == 0)
			return 0;
	}
	return 1;
}

/* A name or a static address that a sandbox of an earlier boot holds is
 * taken over: that one is dead whatever its records say, and is removed
 * as prune would, so that a boot script's create --name or --ip works
 * without a prune before it.  EEXIST when the owner is of this boot. */
static int
reclaim(int rootfd, const char *owner, struct pelagos_err *e)
{
	struct sandbox old;

	if (sandbox_load(rootfd, owner, &old) < 0 || this_boot(&old)) {
		errno = EEXIST;
		return -1;
	}
	return sandbox_teardown(rootfd, &old, TD_LOCKED, e);
}

static int
take_name(int rootfd, struct sandbox *sb, struct pelagos_err *e)
{
	char owner[ID_LEN + 1];

	if (root_name_take(rootfd, sb->name, sb->id, owner) == 0)
		return 0;
	if (errno != EEXIST || reclaim(rootfd, owner, e) < 0)
		return -1;
	return root_name_take(rootfd, sb->name, sb->id, owner);
}

/* Why an interface got no lease, as the user should read it. */
static __attribute__((noinline)) int
lease_error(const struct pod_if *pi, int which, struct pelagos_err *e)
{
	unsigned char n6[16];
	char a[40], sn[40];
	int en = errno;

	memcpy(n6, pi->gateway6, 16);
	ipam_mask6(n6, pi->prefix6);
	if (which == 4) {
		ipam_format_ip(pi->ip, a);
		ipam_format_ip(pi->gateway & ipam_mask(pi->prefix), sn);
	} else {
		ipam_format_ip6(pi->ip6, a);
		ipam_format_ip6(n6, sn);
	}
	if (en == EADDRNOTAVAIL)
		return err_msg(e, en, "no free address in %s/%d", sn,
		    which == 4 ? pi->prefix : pi->prefix6);
	if (en == EDOM || en == EPERM || en == EADDRINUSE)
		return err_msg(e, en, "address %s is %s network %s", a,
		    en == EDOM ? "outside" : en == EADDRINUSE ?
		    "already in use in" : "reserved in", pi->network);
	return err_os(e, "lease an address in network %s", pi->network);
}

/* Under the root's lock: claim an ID, the name and the addresses, so
 * that whatever a killed create leaves behind can be traced from the
 * root: its directory is the ID, and the name and lease links point at
 * it.  Returns the directory, locked for as long as this create runs:
 * that lock, not a PID, tells ls and prune whether the create is still
 * under way.  The state file is written once, when the sandbox is
 * ready. */
static int
claim(int rootfd, struct sandbox *sb, const char *root,
	struct pelagos_err *e)
{
	struct ipam_used u = { NULL, 0, 0, NULL, 0, 0 };
	char owner[ID_LEN + 1];
	struct pod_if *pi;
	int lock, ret = -1, tries, dirfd = -1, i, which, r;

	if ((lock = root_lock(rootfd, LOCK_EX)) < 0)
		return err_os(e, "lock %s", root);
	for (tries = 0;; tries++) {
		if (new_id(sb->id) < 0) {
			err_os(e, "random ID");
			goto out;
		}
		if (names_free(sb->id, sb->nifs) &&
		    (dirfd = root_claim(rootfd, sb->id)) >= 0)
			break;
		if ((errno != EEXIST && errno != ENOENT) || tries == 16) {
			err_os(e, "create state directory in %s", root);
			goto out;
		}
	}
	names_of(sb);
	if (!sb->hostname[0])
		util_fmt(sb->hostname, sizeof(sb->hostname), "%.*s",
		    sb->name[0] ? NAME_MAX_LEN : SHORT_LEN,
		    sb->name[0] ? sb->name : sb->id);
	if (sb->name[0] && take_name(rootfd, sb, e) < 0) {
		if (errno == EEXIST)
			err_msg(e, EEXIST, "name '%s' is already in use",
			    sb->name);
		else
			err_os(e, "claim name %s", sb->name);
		sb->name[0] = '\0';
		goto undo;
	}
	if (sb->nifs && ipam_used_read(rootfd, &u) < 0) {
		err_os(e, "read leases in %s", root);
		goto undo;
	}
	for (i = 0; i < sb->nifs; i++) {
		pi = &sb->ifs[i];
		/* Once more after the owner of an earlier boot is gone. */
		for (tries = 0; (r = ipam_lease_take(rootfd, &u, pi, sb->id,
		    &which, owner)) < 0 && !tries && errno == EADDRINUSE &&
		    owner[0] && reclaim(rootfd, owner, e) == 0; tries++)
			;
		if (r < 0) {
			if (errno == EEXIST)
				errno = EADDRINUSE;
			lease_error(pi, which, e);
			/* Not ours to free: what was asked for. */
			pi->ip = which == 4 ? 0 : pi->ip;
			pi->prefix6 = which == 4 ? pi->prefix6 : 0;
			sb->nifs = i + 1;
			goto undo;
		}
		ipam_mac(pi->ip, pi->mac);
	}
	ret = dirfd;
	goto out;
undo:
	leases_free(rootfd, sb);
	if (sb->name[0])
		root_name_free(rootfd, sb->name, sb->id);
	root_rmdir(rootfd, sb->id);
	close(dirfd);
out:
	ipam_used_free(&u);
	close(lock);
	return ret;
}

static int
interrupted(int sigfd, struct pelagos_err *e)
{
	struct pollfd p = { .fd = sigfd, .events = POLLIN };

	if (sigfd >= 0 && poll(&p, 1, 0) > 0)
		return err_msg(e, EINTR, "interrupted");
	return 0;
}

/* The kernel objects, each step checked for a pending SIGINT, SIGTERM or
 * SIGHUP.  *made tells the rollback whether the netns file is ours. */
static int
build(int rootfd, struct sandbox *sb, const struct pod_opts *o, int live,
	int sigfd, int *made, struct pelagos_err *e)
{
	struct nl_sock hostnl = NL_SOCK_INIT, podnl = NL_SOCK_INIT;
	int nsfd = -1, brindex[MAX_IFS], ret = -1, flags = 0, ipv6 = 0, i;
	int cgleaf = -1;
	char tag[IFNAME_LEN], peer[IFNAME_LEN];
	struct pod_if *pi;
	struct stat st;

	for (i = 0; i < sb->nifs; i++)
		ipv6 |= sb->ifs[i].prefix6 != 0;
	/* First, so that a limit that cannot apply fails the create before
	 * any network object (a bridge made stays) exists. */
	if (cgroup_create(sb, &cgleaf, e) < 0 || interrupted(sigfd, e))
		goto out;
	if (sb->net != NS_NODE) {
		if (nl_open(&hostnl, NETLINK_ROUTE) < 0) {
			err_os(e, "netlink socket");
			goto out;
		}
		for (i = 0; i < sb->nifs; i++)
			if (net_bridge_ready(&hostnl, &o->nets[i], &brindex[i],
			    e) < 0 || interrupted(sigfd, e))
				goto out;
		/* The firewall's elements name the ports, their MACs and
		 * addresses before the ports exist: from its first frame a
		 * pod is checked, and the multicast reports its kernel sends
		 * the moment its eth0 is up are dropped (nft.c). */
		if (net_ns_create(sb->ns_name, ipv6, &nsfd, &podnl, made,
		    e) < 0 || interrupted(sigfd, e) ||
		    fw_add(rootfd, sb, e) < 0 || interrupted(sigfd, e))
			goto out;
		for (i = 0; i < sb->nifs; i++) {
			pi = &sb->ifs[i];
			util_fmt(peer, sizeof(peer), PEER_PREFIX "%d", i);
			if (net_veth_create(&hostnl, pi->veth_host, brindex[i],
			    peer, nsfd, pi->mtu, pi->mac, 1, e) < 0 ||
			    (ipv6 && !pi->prefix6 &&
			    net_ipv6_ifconf(nsfd, peer, 0, e) < 0) ||
			    net_pod_config(&podnl, peer, pi, i == 0, e) < 0 ||
			    interrupted(sigfd, e))
				goto out;
		}
	}
	/* The pause joins the namespace mounted at its tag, or stays in
	 * ours: its inode is known before the pause runs, and the pause
	 * tells its own start time, so a pause that dies the moment it is
	 * ready still leaves a sandbox whose every record is true. */
	if (nsfd >= 0 ? util_fstat(nsfd, &st) < 0 :
	    !(st.st_ino = (ino_t)proc_ns_ino(getpid(), NSK_NET))) {
		err_os(e, "inode of network namespace %s",
		    nsfd >= 0 ? sb->ns_name : "of pelagos");
		goto out;
	}
	sb->netns_ino = (unsigned long long)st.st_ino;
	flags |= sb->net == NS_NODE ? PAUSE_HOST_NET : 0;
	flags |= sb->ipc == NS_NODE ? PAUSE_HOST_IPC : 0;
	flags |= sb->pid == NS_POD ? PAUSE_POD_PID : 0;
	pause_tag(sb->id, tag);
	if (pause_spawn(tag, flags, sb->hostname, o->v[POD_SYSCTL],
	    o->n[POD_SYSCTL], cgleaf, live, sigfd, &sb->pause_pid,
	    &sb->pause_start, e) < 0)
		goto out;
	if (interrupted(sigfd, e))
		goto out;
	ret = 0;
out:
	nl_close(&hostnl);
	nl_close(&podnl);
	root_close(nsfd, 0);
	root_close(cgleaf, 0);
	return ret;
}

/* An interface as its network makes it, the address asked for (if any)
 * kept. */
static void
if_from(struct pod_if *pi, const struct netdef *nd, int mtu)
{
	util_strcpy(pi->network, nd->name);
	util_strcpy(pi->bridge, nd->bridge);
	pi->gateway = nd->gateway;
	pi->prefix = nd->sn.prefix;
	pi->mtu = mtu ? mtu : nd->mtu;
	if ((pi->prefix6 = nd->sn6.prefix))
		ipam_gateway6(&nd->sn6, pi->gateway6);
}

/* Claims, builds and records a sandbox described by sb (modes, name,
 * hostname, and with sb->nifs interfaces, the addresses asked for) on
 * o's networks, with o's files and sysctls; on any failure removes all
 * of it again.  o->no_dns tells whether the host's resolv.conf lost all
 * its nameservers on the way. */
int
sandbox_create(int rootfd, const char *root, struct sandbox *sb,
	struct pod_opts *o, int sigfd, struct pelagos_err *e)
{
	struct pelagos_err ignored;
	int made = 0, dirfd, live, ret = -1, saved, i;

	util_strcpy(sb->boot_id, sandbox_boot_id());
	for (i = 0; i < sb->nifs; i++)
		if_from(&sb->ifs[i], &o->nets[i], o->mtu);
	if ((dirfd = claim(rootfd, sb, root, e)) < 0)
		return -1;
	live = state_live_make(dirfd);
	if (podfiles_write(dirfd, sb, o, e) == 0 &&
	    build(rootfd, sb, o, live, sigfd, &made, e) == 0) {
		if (state_save(dirfd, STATE_FILE, sb) == 0) {
			ret = 0;
			goto out;
		}
		err_os(e, "write state of sandbox %s", sb->id);
	}
	saved = errno;
	if (!made)
		sb->ns_name[0] = '\0';
	/* Nothing but the pause can be in what was just made, and a scan
	 * could only find somebody else's objects. */
	sandbox_teardown(rootfd, sb, TD_FORCE | TD_NOSCAN, &ignored);
	errno = saved;
out:
	root_close(live, 0);
	close(dirfd);
	return ret;
}
