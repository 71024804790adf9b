/* The sandbox lifecycle: create with rollback, teardown and liveness.
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
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "pelagos.h"

/* A pause counts as alive only while it is the recorded process and
 * still sits in the recorded network namespace. */
int
sandbox_pause_alive(const struct sandbox *sb)
{
	return proc_same(sb->pause_pid, sb->pause_start) &&
	    proc_ns_ino(sb->pause_pid, "net") == sb->netns_ino;
}

const char *
sandbox_status(const struct sandbox *sb)
{
	if (sb->phase == PHASE_CREATING)
		return proc_same(sb->creator_pid, sb->creator_start) ?
		    "creating" : "dead";
	return sandbox_pause_alive(sb) ? "running" : "dead";
}

static void
netns_path(char *buf, size_t len, const char *ns_name)
{
	util_fmt(buf, len, NETNS_DIR "/%s", ns_name);
}

static void
pause_tag(char *buf, size_t len, const char *id)
{
	util_fmt(buf, len, NS_PREFIX "%.8s", id);
}

/* The kernel objects an ID names: its netns (also the pause's tag) and
 * the host end of its veth. */
static void
kernel_names(const char *id, char ns[IFNAME_LEN], char veth[IFNAME_LEN])
{
	pause_tag(ns, IFNAME_LEN, id);
	util_fmt(veth, IFNAME_LEN, VETH_PREFIX "%.8s", id);
}

/* Fills sb from an ID alone, for a sandbox whose state is missing or
 * unreadable: the kernel objects are named after the ID, and the lease
 * and name are found by what their links point at. */
void
sandbox_derive(const char *id, struct sandbox *sb)
{
	char path[64];

	memset(sb, 0, sizeof(*sb));
	strcpy(sb->id, id);
	kernel_names(id, sb->ns_name, sb->veth_host);
	netns_path(path, sizeof(path), sb->ns_name);
	sb->net = access(path, F_OK) == 0 ? NS_POD : NS_NODE;
	if (sb->net == NS_NODE)
		sb->ns_name[0] = '\0';
	sb->phase = PHASE_CREATING;
}

/* Removes whatever of the sandbox exists; every step tolerates an object
 * already gone.  Other processes in the sandbox make it fail with EBUSY
 * unless TD_FORCE is given, in which case they are killed: they are found
 * by namespace identity, never by name. */
int
sandbox_teardown(int rootfd, const struct sandbox *sb, int flags)
{
	struct proc_scan s;
	char path[64];
	struct nl_buf b;
	struct stat st;
	size_t i;
	int fd = -1, ret = -1, unmounted = 0;

	memset(&s, 0, sizeof(s));
	pause_tag(s.tag, sizeof(s.tag), sb->id);
	if (flags & TD_NOSCAN) {
		s.ns = "net";
	} else if (sb->net != NS_NODE) {
		/* The mounted namespace is the one its processes are in,
		 * whatever the state recorded. */
		s.ns = "net";
		s.ino = sb->netns_ino;
		netns_path(path, sizeof(path), sb->ns_name);
		if (sb->ns_name[0] && stat(path, &st) == 0)
			s.ino = st.st_ino;
	} else {
		s.ns = "uts";
		s.ino = sandbox_pause_alive(sb) ?
		    proc_ns_ino(sb->pause_pid, "uts") : 0;
	}
	if (!(flags & TD_NOSCAN) && proc_scan(&s) < 0) {
		pelagos_warn("scan /proc for sandbox %s:", sb->id);
		goto out;
	}
	if (s.nother && !(flags & TD_FORCE)) {
		pelagos_warn("sandbox %s: %zu process%s still in it (rm --force "
		    "kills them)", sb->id, s.nother, s.nother == 1 ? "" : "es");
		errno = EBUSY;
		goto out;
	}
	ret = 0;
	if (proc_stop(sb->pause_pid, sb->pause_start, SIGTERM, s.tag) < 0) {
		pelagos_warn("stop pause %d of sandbox %s:", (int)sb->pause_pid,
		    sb->id);
		ret = -1;
	}
	for (i = 0; i < (size_t)s.npause; i++)
		if (proc_stop(s.pause[i].pid, s.pause[i].start, SIGTERM,
		    s.tag) < 0) {
			pelagos_warn("stop pause %d of sandbox %s:",
			    (int)s.pause[i].pid, sb->id);
			ret = -1;
		}
	for (i = 0; i < s.nother; i++)
		if (proc_stop(s.other[i].pid, s.other[i].start, SIGKILL,
		    NULL) < 0) {
			pelagos_warn("kill process %d in sandbox %s:",
			    (int)s.other[i].pid, sb->id);
			ret = -1;
		}
	if (sb->ns_name[0]) {
		netns_path(path, sizeof(path), sb->ns_name);
		if (umount2(path, MNT_DETACH) == 0)
			unmounted = ret == 0 && !(flags & TD_DERIVED);
		else if (errno != EINVAL && errno != ENOENT) {
			pelagos_warn("unmount %s:", path);
			ret = -1;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			pelagos_warn("remove %s:", path);
			ret = -1;
		}
	}
	/* Deleting a veth waits 20-30 ms for the kernel's RCU grace periods.
	 * Once the namespace is unmounted and nothing runs in it any more,
	 * the kernel destroys the pair itself when it frees the namespace;
	 * taking the host end down first cuts the dying peer off the bridge
	 * at once, so a sandbox given its address next never meets it. */
	if (sb->veth_host[0]) {
		nl_buf_init(&b, 1);
		if (unmounted)
			nl_req_linkdown(&b, sb->veth_host);
		else
			nl_req_dellink(&b, sb->veth_host);
		if ((fd = nl_open()) < 0 ||
		    (nl_talk(fd, &b) < 0 && errno != ENODEV)) {
			pelagos_warn("%s veth %s:", unmounted ? "take down" :
			    "delete", sb->veth_host);
			ret = -1;
		}
	}
	if (flags & TD_DERIVED) {
		if (root_links_free(rootfd, sb->id) < 0) {
			pelagos_warn("free address and name of sandbox %s:",
			    sb->id);
			ret = -1;
		}
	} else {
		if (sb->ip && root_lease_free(rootfd, sb->ip, sb->id) < 0) {
			pelagos_warn("free address of sandbox %s:", sb->id);
			ret = -1;
		}
		if (sb->name[0] &&
		    root_name_free(rootfd, sb->name, sb->id) < 0) {
			pelagos_warn("free name %s:", sb->name);
			ret = -1;
		}
	}
	if (ret == 0 && root_rmdir(rootfd, sb->id) < 0) {
		pelagos_warn("remove state of sandbox %s:", sb->id);
		ret = -1;
	}
out:
	if (fd >= 0)
		close(fd);
	proc_scan_free(&s);
	return ret;
}

/* A pause of this sandbox that runs although its state cannot say so. */
int
sandbox_has_pause(const struct sandbox *sb)
{
	struct proc_scan s;

	memset(&s, 0, sizeof(s));
	pause_tag(s.tag, sizeof(s.tag), sb->id);
	s.ns = "net";
	if (proc_scan(&s) < 0)
		return 1;
	proc_scan_free(&s);
	return s.npause > 0;
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
names_free(const char *id)
{
	char ns[IFNAME_LEN], veth[IFNAME_LEN], p[64];

	kernel_names(id, ns, veth);
	netns_path(p, sizeof(p), ns);
	if (access(p, F_OK) == 0)
		return 0;
	util_fmt(p, sizeof(p), "/sys/class/net/%s", veth);
	return access(p, F_OK) != 0;
}

/* /run/netns must be a shared mount so that the bind mounts below it
 * reach mount namespaces made later (ip netns exec makes one).  As ip
 * does: make it shared, and if it is no mount point yet, bind it onto
 * itself first.  The flock keeps parallel creates from stacking binds.
 * Only the first setup is recursive: a mount made under a shared mount is
 * shared already, and a recursive change walks every sandbox's mount. */
static int
netns_dir_ready(void)
{
	int fd = -1, ret = -1;

	if (mkdir(NETNS_DIR, 0755) < 0 && errno != EEXIST)
		return -1;
	if (mount("", NETNS_DIR, "none", MS_SHARED, NULL) == 0)
		return 0;
	if (errno != EINVAL)
		return -1;
	if ((fd = open(NETNS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			goto out;
	if (mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) == 0) {
		ret = 0;
		goto out;
	}
	if (errno != EINVAL ||
	    mount(NETNS_DIR, NETNS_DIR, "none", MS_BIND | MS_REC, NULL) < 0)
		goto out;
	ret = mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL);
out:
	close(fd);
	return ret;
}

/* A fresh network namespace, bind-mounted at /run/netns/NAME the way
 * `ip netns add` does it.  This process enters it only long enough to
 * mount it and to open a netlink socket that stays bound to it.  *made is
 * set once the mount point file is ours, so a failure never removes a
 * file another sandbox owns. */
static int
netns_create(const char *name, int *nsfd, int *podnl, int *made)
{
	char path[64];
	int host = -1, fd = -1, ret = -1, e;

	*made = 0;
	netns_path(path, sizeof(path), name);
	if (netns_dir_ready() < 0)
		return -1;
	if ((host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0)) < 0)
		goto out;
	close(fd);
	*made = 1;
	if (unshare(CLONE_NEWNET) < 0)
		goto out;
	/* eth0 is IPv4 only: with IPv6 on, every new eth0 sends DAD and MLD
	 * packets that the bridge floods to every port, which slows each
	 * create down as sandboxes add up.  Only the default is changed, so
	 * lo (made with the namespace) keeps ::1.  A kernel without IPv6
	 * has no such file. */
	if ((fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6",
	    O_WRONLY | O_CLOEXEC)) >= 0) {
		(void)!write(fd, "1", 1);
		close(fd);
	}
	if ((*podnl = nl_open()) < 0 ||
	    mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0 ||
	    (*nsfd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		goto back;
	ret = 0;
back:
	e = errno;
	if (setns(host, CLONE_NEWNET) < 0)
		ret = -1;
	else
		errno = e;
out:
	e = errno;
	close(host);
	errno = e;
	return ret;
}

static int
interrupted(int sigfd)
{
	struct pollfd p = { .fd = sigfd, .events = POLLIN };

	return sigfd >= 0 && poll(&p, 1, 0) > 0;
}

/* The bridge, created on first use and given the gateway address when it
 * lacks it.  A link of that name that is no bridge is never touched. */
static int
bridge_ready(int nl, const struct sandbox *sb, int *index)
{
	struct nl_link l;
	struct nl_buf b;
	char ip[16];

	if (nl_getlink(nl, sb->bridge, &l) < 0) {
		if (errno != ENODEV) {
			pelagos_warn("bridge %s:", sb->bridge);
			return -1;
		}
		nl_buf_init(&b, 1);
		nl_req_newbridge(&b, sb->bridge);
		if (nl_talk(nl, &b) < 0 && errno != EEXIST) {
			pelagos_warn("create bridge %s:", sb->bridge);
			return -1;
		}
		if (nl_getlink(nl, sb->bridge, &l) < 0) {
			pelagos_warn("bridge %s:", sb->bridge);
			return -1;
		}
	}
	if (!l.is_bridge) {
		pelagos_warn("bridge %s: exists and is not a bridge", sb->bridge);
		return -1;
	}
	*index = l.index;
	nl_buf_init(&b, 1);
	nl_req_newaddr(&b, l.index, sb->gateway, sb->prefix);
	if (nl_talk(nl, &b) < 0 && errno != EEXIST) {
		state_format_ip(sb->gateway, ip);
		pelagos_warn("add address %s/%d to bridge %s:", ip, sb->prefix,
		    sb->bridge);
		return -1;
	}
	if (!(l.flags & IFF_UP)) {
		nl_buf_init(&b, 1);
		nl_req_linkup(&b, sb->bridge);
		if (nl_talk(nl, &b) < 0) {
			pelagos_warn("set bridge %s up:", sb->bridge);
			return -1;
		}
	}
	return 0;
}

/* Under the root's lock: claim an ID, the name and an address, so that
 * whatever a killed create leaves behind can be traced from the root: its
 * directory is the ID, and the name and lease links point at it.  Returns
 * the directory, locked for as long as this create runs: that lock, not a
 * PID, tells ls and prune whether the create is still under way.  The
 * state file is written once, when the sandbox is ready. */
static int
claim(int rootfd, struct sandbox *sb, const struct subnet *sn,
	const char *root)
{
	int lock, ret = -1, tries, dirfd = -1;
	char ip[16];

	if ((lock = root_lock(rootfd)) < 0) {
		pelagos_warn("lock %s:", root);
		return -1;
	}
	for (tries = 0;; tries++) {
		if (new_id(sb->id) < 0) {
			pelagos_warn("random ID:");
			goto out;
		}
		if (names_free(sb->id) &&
		    (dirfd = root_claim(rootfd, sb->id)) >= 0)
			break;
		if ((errno != EEXIST && errno != ENOENT) || tries == 16) {
			pelagos_warn("create state directory in %s:", root);
			goto out;
		}
	}
	if (sb->net != NS_NODE)
		kernel_names(sb->id, sb->ns_name, sb->veth_host);
	if (!sb->hostname[0])
		util_fmt(sb->hostname, sizeof(sb->hostname), "%.*s",
		    sb->name[0] ? NAME_MAX_LEN : SHORT_LEN,
		    sb->name[0] ? sb->name : sb->id);
	if (sb->name[0] && root_name_take(rootfd, sb->name, sb->id) < 0) {
		if (errno == EEXIST)
			pelagos_warn("sandbox create: name '%s' is already in "
			    "use", sb->name);
		else
			pelagos_warn("claim name %s:", sb->name);
		sb->name[0] = '\0';
		goto undo;
	}
	if (sb->net != NS_NODE &&
	    root_lease_take(rootfd, sn, sb->id, &sb->ip) < 0) {
		state_format_ip(sn->net, ip);
		if (errno == ENOSPC)
			pelagos_warn("sandbox create: no free address in %s/%d",
			    ip, sn->prefix);
		else
			pelagos_warn("lease address in %s/%d:", ip, sn->prefix);
		goto undo;
	}
	ret = dirfd;
	goto out;
undo:
	if (sb->ip)
		root_lease_free(rootfd, sb->ip, sb->id);
	if (sb->name[0])
		root_name_free(rootfd, sb->name, sb->id);
	root_rmdir(rootfd, sb->id);
	close(dirfd);
out:
	close(lock);
	return ret;
}

/* The pod's side, through a socket opened inside its namespace: lo and
 * eth0 up, eth0's address and the default route, in one batch and in
 * that order (the route needs the address's subnet to reach the gateway). */
static int
pod_net(int podnl, const struct sandbox *sb)
{
	struct nl_link l;
	struct nl_buf b;

	if (nl_getlink(podnl, PEER_IFNAME, &l) < 0) {
		pelagos_warn("find " PEER_IFNAME " in %s:", sb->ns_name);
		return -1;
	}
	nl_buf_init(&b, 1);
	nl_req_linkup(&b, "lo");
	nl_req_linkup(&b, PEER_IFNAME);
	nl_req_newaddr(&b, l.index, sb->ip, sb->prefix);
	nl_req_defroute(&b, sb->gateway);
	if (nl_talk(podnl, &b) < 0) {
		pelagos_warn("configure " PEER_IFNAME " in %s:", sb->ns_name);
		return -1;
	}
	return 0;
}

/* A bridge port needs no IPv6 of its own, and its address checks and
 * multicast reports would be flooded to every other port.  IPv6 starts
 * them only after a random delay, so turning it off right after the link
 * is made stops them; the kernel offers no way to ask for that in the
 * creating message for a veth (EAFNOSUPPORT). */
static void
host_ipv6_off(const char *ifname)
{
	char path[64];
	int fd;

	util_fmt(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
	    ifname);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0) {
		(void)!write(fd, "1", 1);
		close(fd);
	}
}

/* The kernel objects, each step checked for a pending SIGINT, SIGTERM or
 * SIGHUP.  *made tells the rollback whether the netns file is ours. */
static int
build(struct sandbox *sb, int sigfd, int *made)
{
	int hostnl = -1, podnl = -1, nsfd = -1, brindex = 0, ret = -1;
	int flags = 0;
	char err[300], tag[IFNAME_LEN];
	struct nl_buf b;

	if (sb->net != NS_NODE) {
		if ((hostnl = nl_open()) < 0) {
			pelagos_warn("netlink socket:");
			goto out;
		}
		if (bridge_ready(hostnl, sb, &brindex) < 0)
			goto out;
		if (interrupted(sigfd))
			goto intr;
		if (netns_create(sb->ns_name, &nsfd, &podnl, made) < 0) {
			pelagos_warn("create network namespace %s:", sb->ns_name);
			goto out;
		}
		if (interrupted(sigfd))
			goto intr;
		nl_buf_init(&b, 1);
		nl_req_newveth(&b, sb->veth_host, brindex, PEER_IFNAME, nsfd);
		if (nl_talk(hostnl, &b) < 0) {
			pelagos_warn("create veth %s:", sb->veth_host);
			goto out;
		}
		host_ipv6_off(sb->veth_host);
		if (pod_net(podnl, sb) < 0)
			goto out;
		if (interrupted(sigfd))
			goto intr;
	}
	flags |= sb->net == NS_NODE ? PAUSE_HOST_NET : 0;
	flags |= sb->ipc == NS_NODE ? PAUSE_HOST_IPC : 0;
	flags |= sb->pid == NS_POD ? PAUSE_POD_PID : 0;
	pause_tag(tag, sizeof(tag), sb->id);
	if (pause_spawn(tag, flags, sb->hostname, sigfd, &sb->pause_pid,
	    err, sizeof(err)) < 0) {
		if (errno == EINTR)
			goto intr;
		pelagos_warn("sandbox create: %s", err);
		goto out;
	}
	if (proc_start(sb->pause_pid, &sb->pause_start, NULL) < 0 ||
	    !(sb->netns_ino = proc_ns_ino(sb->pause_pid, "net"))) {
		pelagos_warn("pause %d:", (int)sb->pause_pid);
		/* Still our unreaped child, so the PID cannot be reused. */
		kill(sb->pause_pid, SIGKILL);
		waitpid(sb->pause_pid, NULL, 0);
		sb->pause_pid = 0;
		goto out;
	}
	if (interrupted(sigfd))
		goto intr;
	ret = 0;
	goto out;
intr:
	pelagos_warn("sandbox create: interrupted");
out:
	if (hostnl >= 0)
		close(hostnl);
	if (podnl >= 0)
		close(podnl);
	if (nsfd >= 0)
		close(nsfd);
	return ret;
}

/* Claims, builds and records a sandbox described by sb (modes, name,
 * hostname, bridge, gateway and prefix set by the caller); on any failure
 * removes all of it again. */
int
sandbox_create(int rootfd, const char *root, struct sandbox *sb,
	const struct subnet *sn, int sigfd)
{
	int made = 0, dirfd, ret = -1;

	if ((dirfd = claim(rootfd, sb, sn, root)) < 0)
		return -1;
	if (build(sb, sigfd, &made) == 0) {
		sb->phase = PHASE_READY;
		if (state_save(rootfd, sb) == 0) {
			ret = 0;
			goto out;
		}
		pelagos_warn("write state of sandbox %s:", sb->id);
	}
	if (!made)
		sb->ns_name[0] = '\0';
	/* Nothing but the pause can be in what was just made, and a scan
	 * could only find somebody else's objects. */
	sandbox_teardown(rootfd, sb, TD_FORCE | TD_NOSCAN);
out:
	close(dirfd);
	return ret;
}
