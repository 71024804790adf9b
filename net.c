/* SPDX-License-Identifier: Apache-2.0 */
/* Network plumbing: the /run/netns directory and the namespaces mounted
 * in it, the bridge, the veth pair, and the pod's addresses and routes.
 * Names come from the caller; nothing here decides what is whose. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/mount.h>
#include <linux/netlink.h>

#include "pelagos.h"

static __attribute__((noinline)) void
ns_path(char *buf, size_t len, const char *name)
{
	util_fmt(buf, len, NETNS_DIR "/%s", name);
}

static int proc_fd = -1;

/* A proc instance of this process's own, mounted nowhere (Linux 5.2;
 * else /proc), opened once, until net_proc_close.  An instance keeps a dentry named
 * net under its sys/ for every namespace a lookup there has seen, all
 * hashed alike, and each lookup compares them one by one: through the
 * host's /proc, at 1000 sandboxes that cost each create 0.3 ms in the
 * host and 0.5 ms in its pod, and every other reader of /proc/sys/net
 * paid it too. */
int
net_proc(void)
{
	int fs;

	if (proc_fd < 0 && (fs = (int)syscall(SYS_fsopen, "proc",
	    FSOPEN_CLOEXEC)) >= 0) {
		if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL,
		    0) == 0)
			proc_fd = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
			    0);
		close(fs);
	}
	if (proc_fd < 0)
		proc_fd = openat(AT_FDCWD, "/proc", O_PATH | O_DIRECTORY |
		    O_CLOEXEC);
	return proc_fd;
}

/* For a process that lives on (the pause, after its --sysctl writes):
 * the instance is not held, and a later net_proc makes another. */
void
net_proc_close(void)
{
	proc_fd = root_close(proc_fd, -1);
}

/* net.ipv6.conf.<ifname>.<key> of the calling thread's namespace; a
 * kernel without IPv6 has none of ipv6/, which is what turning it off
 * asked for anyway. */
static void
conf_set(const char *ifname, const char *key, const char *val)
{
	char path[80];
	int fd;

	util_fmt(path, sizeof(path), "sys/net/ipv6/conf/%s/%s", ifname, key);
	if ((fd = openat(net_proc(), path, O_WRONLY | O_CLOEXEC)) >= 0) {
		(void)!write(fd, val, util_strlen(val));
		close(fd);
	}
}

/* IPv6 on an interface without duplicate address detection (our
 * addresses are leased) or router solicitations (the route is static),
 * which would be multicast that a bridge floods to every port; or off
 * altogether. */
static void
ipv6_conf(const char *ifname, int on)
{
	if (on) {
		conf_set(ifname, "accept_dad", "0");
		conf_set(ifname, "accept_ra", "0");
		/* The link-local address from the MAC, which the bridge's
		 * anti-spoofing set names (nft.c): a host's inherited
		 * stable_privacy would make another. */
		conf_set(ifname, "addr_gen_mode", "0");
	}
	conf_set(ifname, "disable_ipv6", on ? "0" : "1");
}

static int
make_shared(unsigned long flags)
{
	return mount("", NETNS_DIR, "none", flags, NULL);
}

/* /run/netns must be a shared mount so that the bind mounts below it
 * reach mount namespaces made later (ip netns exec makes one).  As ip
 * does: make it shared, and if it is no mount point yet, bind it onto
 * itself first.  The flock keeps parallel creates from stacking binds.
 * Only the first setup is recursive: a mount made under a shared mount is
 * shared already, and a recursive change walks every sandbox's mount. */
static __attribute__((noinline)) int
dir_ready(void)
{
	int fd = -1, ret = -1;

	if (mkdir(NETNS_DIR, 0755) < 0 && errno != EEXIST)
		return -1;
	if (make_shared(MS_SHARED) == 0)
		return 0;
	if (errno != EINVAL)
		return -1;
	if ((fd = openat(AT_FDCWD, NETNS_DIR, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			goto out;
	if (make_shared(MS_SHARED | MS_REC) == 0) {
		ret = 0;
		goto out;
	}
	if (errno != EINVAL ||
	    mount(NETNS_DIR, NETNS_DIR, "none", MS_BIND | MS_REC, NULL) < 0)
		goto out;
	ret = make_shared(MS_SHARED | MS_REC);
out:
	close(fd);
	return ret;
}

/* This thread into the network namespace nsfd, or into a new one at -1,
 * *host left open on the host's (-1 if it could not be opened); what
 * names the step for an error. */
static int
ns_enter(int nsfd, int *host, const char *what, const char *obj,
	struct pelagos_err *e)
{
	if ((*host = openat(AT_FDCWD, "/proc/self/ns/net",
	    O_RDONLY | O_CLOEXEC)) < 0)
		return err_os(e, "open /proc/self/ns/net");
	if ((nsfd < 0 ? unshare(CLONE_NEWNET) : setns(nsfd, CLONE_NEWNET)) < 0)
		return err_os(e, what, obj);
	return 0;
}

/* Back in the host's network namespace after ns_enter, host closed; the
 * step's errno survives unless the way back fails. */
static int
ns_leave(int host, int ret, struct pelagos_err *e)
{
	int saved = errno;

	if (host >= 0 && setns(host, CLONE_NEWNET) < 0)
		ret = err_os(e, "return to the host network namespace");
	else
		errno = saved;
	return root_close(host, ret);
}

/* A fresh network namespace, bind-mounted at /run/netns/NAME the way
 * `ip netns add` does it.  This process enters it only long enough to
 * mount it and to open a netlink socket that stays bound to it.  *made is
 * set once the mount point file is ours, so a failure never removes a
 * file another sandbox owns. */
int
net_ns_create(const char *name, int ipv6, int *nsfd, struct nl_sock *podnl,
	int *made, struct pelagos_err *e)
{
	char path[64];
	int host, fd, ret;

	*made = 0;
	ns_path(path, sizeof(path), name);
	if (dir_ready() < 0)
		return err_os(e, "make " NETNS_DIR " a shared mount");
	if ((fd = openat(AT_FDCWD, path, O_RDONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0)) < 0)
		return err_os(e, "create %s", path);
	close(fd);
	*made = 1;
	if ((ret = ns_enter(-1, &host, "create network namespace %s", name,
	    e)) < 0)
		goto out;
	/* Without ipv6 the pod's interfaces are IPv4 only: with IPv6 on,
	 * every new eth0 sends DAD and MLD packets that the bridge floods to
	 * every port, which slows each create down as sandboxes add up.  With
	 * it, none that can be avoided.  Only the default is changed, so lo
	 * (made with the namespace) keeps ::1. */
	ipv6_conf("default", ipv6);
	/* (net.ipv6.mld_qrv, the MLD reports per group change, is the
	 * initial namespace's alone: a pod's has no such file.) */
	if (nl_open(podnl, NETLINK_ROUTE) < 0)
		ret = err_os(e, "netlink socket in %s", name);
	else if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0)
		ret = err_os(e, "mount %s", path);
	else if ((*nsfd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC)) < 0)
		ret = err_os(e, "open %s", path);
out:
	return ns_leave(host, ret, e);
}

/* Unmounts and removes /run/netns/NAME, whatever is mounted there;
 * *unmounted tells whether a mount was there. */
int
net_ns_remove(const char *name, int *unmounted, struct pelagos_err *e)
{
	char path[64];
	int ret = 0;

	ns_path(path, sizeof(path), name);
	*unmounted = umount2(path, MNT_DETACH) == 0;
	if (!*unmounted && errno != EINVAL && errno != ENOENT)
		ret = err_os(e, "unmount %s", path);
	if (unlink(path) < 0 && errno != ENOENT && ret == 0)
		ret = err_os(e, "remove %s", path);
	return ret;
}

/* The inode of the namespace mounted at /run/netns/NAME, 0 if none. */
unsigned long long
net_ns_ino(const char *name)
{
	char path[64];
	struct stat st;

	ns_path(path, sizeof(path), name);
	return util_stat(path, &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

/* The gateway's hardware address, fixed for the bridge's name (as docker
 * and the CNI bridge fix one): left to the kernel, a bridge takes the
 * lowest address among its ports, so removing the sandbox whose veth
 * gave it changed the gateway's MAC under every other pod, whose cached
 * neighbour entry then sent their routed traffic nowhere for seconds.
 * Locally administered, unicast, and the same across reboots. */
void
net_bridge_mac(const char *bridge, unsigned char mac[6])
{
	uint64_t h = ipam_hash(bridge);
	int i;

	mac[0] = 0x02;
	for (i = 1; i < 6; i++)
		mac[i] = (unsigned char)(h >> (8 * i));
}

/* The network's bridge, created on first use, given the gateway
 * addresses it lacks and the network's MTU.  A link of that name that is
 * no bridge is never touched. */
int
net_bridge_ready(struct nl_sock *nl, const struct netdef *nd, int *index,
	struct pelagos_err *e)
{
	unsigned char gw6[16], mac[6];
	struct nl_link l;
	struct nl_buf b;
	const char *what;
	char ip[40];
	int r, prefix;

	if (nl_getlink(nl, nd->bridge, &l) < 0) {
		if (errno != ENODEV)
			goto gone;
		net_bridge_mac(nd->bridge, mac);
		nl_buf_init(&b, 1);
		nl_req_newbridge(&b, nd->bridge, mac);
		if (nl_talk(nl, &b) < 0 && errno != EEXIST)
			return err_os(e, "create bridge %s", nd->bridge);
		/* Before it has a port, and so a carrier, and so a link-local
		 * address that would wait for its own DAD.  Without accept_ra
		 * (or, on an IPv4 network, without IPv6): a pod's router
		 * advertisement would give the host an address and a default
		 * route through the pod. */
		ipv6_conf(nd->bridge, nd->sn6.prefix);
		if (nl_getlink(nl, nd->bridge, &l) < 0)
			goto gone;
	}
	if (!l.is_bridge)
		return err_msg(e, EEXIST, "bridge %s: exists and is not a bridge",
		    nd->bridge);
	*index = l.index;
	ipam_gateway6(&nd->sn6, gw6);
	nl_buf_init(&b, 1);
	nl_req_newaddr(&b, l.index, nd->gateway, nd->sn.prefix);
	if ((r = nl_talk(nl, &b)) < 0 && errno != EEXIST) {
		ipam_format_ip(nd->gateway, ip);
		prefix = nd->sn.prefix;
		goto addr;
	}
	/* Asking to add an IPv6 address the bridge has makes it report its
	 * groups again, to every port: the IPv6 gateway is added along with
	 * the IPv4 one, to a bridge that lacked that. */
	nl_buf_init(&b, 1);
	if (nd->sn6.prefix && r == 0) {
		nl_req_newaddr6(&b, l.index, gw6, nd->sn6.prefix);
		if (nl_talk(nl, &b) < 0 && errno != EEXIST) {
			ipam_format_ip6(gw6, ip);
			prefix = nd->sn6.prefix;
			goto addr;
		}
	}
	what = "MTU";
	nl_buf_init(&b, 1);
	if (nd->mtu && l.mtu != nd->mtu) {
		nl_req_linkmtu(&b, nd->bridge, (unsigned int)nd->mtu);
		if (nl_talk(nl, &b) < 0)
			goto set;
	}
	what = "up";
	nl_buf_init(&b, 1);
	if (!(l.flags & IFF_UP)) {
		nl_req_linkup(&b, nd->bridge);
		if (nl_talk(nl, &b) < 0)
			goto set;
	}
	return 0;
gone:
	return err_os(e, "bridge %s", nd->bridge);
addr:
	return err_os(e, "add address %s/%d to bridge %s", ip, prefix,
	    nd->bridge);
set:
	return err_os(e, "set bridge %s %s", nd->bridge, what);
}

/* The pair, its peer made under its final name straight inside the pod's
 * namespace.
 * A bridge port needs no IPv6 of its own, and its address checks and
 * multicast reports would be flooded to every other port.  IPv6 starts
 * them only after a random delay, so turning it off right after the link
 * is made (quiet) stops them; the kernel offers no way to ask for that in
 * the creating message for a veth (EAFNOSUPPORT).  The write costs 0.5 ms
 * here, a fifth of a CNI ADD, whose host ends keep IPv6 as the reference
 * bridge plugin's do. */
int
net_veth_create(struct nl_sock *nl, const char *host, int brindex,
	const char *peer, int nsfd, int mtu, const unsigned char *mac,
	int quiet, struct pelagos_err *e)
{
	struct nl_buf b;

	nl_buf_init(&b, 1);
	nl_req_newveth(&b, host, brindex, peer, nsfd, mtu, mac);
	if (nl_talk(nl, &b) < 0)
		return err_os(e, "create veth %s", host);
	if (quiet)
		ipv6_conf(host, 0);
	return 0;
}

/* IPv6 on or off on an interface of the namespace nsfd, which this
 * thread enters for the while. */
int
net_ipv6_ifconf(int nsfd, const char *ifname, int on, struct pelagos_err *e)
{
	int host, ret;

	if ((ret = ns_enter(nsfd, &host, "enter the namespace of %s", ifname,
	    e)) == 0)
		ipv6_conf(ifname, on);
	return ns_leave(host, ret, e);
}

/* Deleting a veth waits 20-30 ms for the kernel's RCU grace periods.
 * Once its namespace is unmounted and nothing runs in it any more, the
 * kernel destroys the pair itself when it frees the namespace; taking
 * the host end down (down_only) cuts the dying peer off the bridge at
 * once, so a sandbox given its address next never meets it. */
int
net_veth_release(const char *host, int down_only, struct pelagos_err *e)
{
	struct nl_sock nl = NL_SOCK_INIT;
	struct nl_buf b;
	int ret = 0;

	nl_buf_init(&b, 1);
	if (down_only)
		nl_req_linkdown(&b, host);
	else
		nl_req_dellink(&b, host);
	if (nl_open(&nl, NETLINK_ROUTE) < 0 ||
	    (nl_talk(&nl, &b) < 0 && errno != ENODEV))
		ret = err_os(e, "%s veth %s", down_only ? "take down" :
		    "delete", host);
	nl_close(&nl);
	return ret;
}

/* The pod's side, through a socket opened inside its namespace: lo and
 * the interface up, its addresses and (with defroute) the default routes
 * via the gateways, in one batch and in that order (a route needs its
 * address's subnet to reach the gateway). */
int
net_pod_config(struct nl_sock *podnl, const char *ifname,
	const struct pod_if *pi, int defroute, struct pelagos_err *e)
{
	struct nl_link l;
	struct nl_buf b;

	if (nl_getlink(podnl, ifname, &l) < 0)
		return err_os(e, "find %s", ifname);
	/* The addresses before the link is up: it reports all its IPv6
	 * groups once it is, in one message. */
	nl_buf_init(&b, 1);
	nl_req_newaddr(&b, l.index, pi->ip, pi->prefix);
	if (pi->prefix6)
		nl_req_newaddr6(&b, l.index, pi->ip6, pi->prefix6);
	nl_req_linkup(&b, "lo");
	nl_req_linkup(&b, ifname);
	if (defroute) {
		nl_req_defroute(&b, pi->gateway);
		if (pi->prefix6)
			nl_req_defroute6(&b, pi->gateway6, l.index);
	}
	if (nl_talk(podnl, &b) < 0)
		return err_os(e, "configure %s", ifname);
	return 0;
}

/* A namespace somebody else made, such as a CNI runtime's: its netns file
 * opened, and entered only long enough to open a netlink socket that
 * stays bound to it.  EINVAL when path is no network namespace. */
int
net_ns_open(const char *path, int *nsfd, struct nl_sock *podnl,
	struct pelagos_err *e)
{
	int host, ret;

	if ((*nsfd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_os(e, "open %s", path);
	if ((ret = ns_enter(*nsfd, &host, "enter network namespace %s", path,
	    e)) == 0 && nl_open(podnl, NETLINK_ROUTE) < 0)
		ret = err_os(e, "netlink socket in %s", path);
	if ((ret = ns_leave(host, ret, e)) < 0) {
		nl_close(podnl);
		*nsfd = root_close(*nsfd, -1);
	}
	return ret;
}
