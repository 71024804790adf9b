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
#include <linux/netlink.h>

#include "pelagos.h"

static void
ns_path(char *buf, size_t len, const char *name)
{
	util_fmt(buf, len, NETNS_DIR "/%s", name);
}

/* Writes "1" to a sysctl file; a kernel without IPv6 has none, which is
 * what was asked for anyway. */
static void
ipv6_off(const char *path)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0) {
		(void)!write(fd, "1", 1);
		close(fd);
	}
}

/* /run/netns must be a shared mount so that the bind mounts below it
 * reach mount namespaces made later (ip netns exec makes one).  As ip
 * does: make it shared, and if it is no mount point yet, bind it onto
 * itself first.  The flock keeps parallel creates from stacking binds.
 * Only the first setup is recursive: a mount made under a shared mount is
 * shared already, and a recursive change walks every sandbox's mount. */
static int
dir_ready(void)
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

/* Back in the host's network namespace (host is its fd) after a step in
 * another; the step's errno survives unless the way back fails. */
static int
ns_return(int host, int ret, struct pelagos_err *e)
{
	int saved = errno;

	if (setns(host, CLONE_NEWNET) < 0)
		return err_os(e, "return to the host network namespace");
	errno = saved;
	return ret;
}

/* A fresh network namespace, bind-mounted at /run/netns/NAME the way
 * `ip netns add` does it.  This process enters it only long enough to
 * mount it and to open a netlink socket that stays bound to it.  *made is
 * set once the mount point file is ours, so a failure never removes a
 * file another sandbox owns. */
int
net_ns_create(const char *name, int *nsfd, struct nl_sock *podnl, int *made,
	struct pelagos_err *e)
{
	char path[64];
	int host = -1, fd = -1, ret = -1, saved;

	*made = 0;
	ns_path(path, sizeof(path), name);
	if (dir_ready() < 0)
		return err_os(e, "make " NETNS_DIR " a shared mount");
	if ((host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
		return err_os(e, "open /proc/self/ns/net");
	if ((fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0)) < 0) {
		err_os(e, "create %s", path);
		goto out;
	}
	close(fd);
	*made = 1;
	if (unshare(CLONE_NEWNET) < 0) {
		err_os(e, "create network namespace %s", name);
		goto out;
	}
	/* eth0 is IPv4 only: with IPv6 on, every new eth0 sends DAD and MLD
	 * packets that the bridge floods to every port, which slows each
	 * create down as sandboxes add up.  Only the default is changed, so
	 * lo (made with the namespace) keeps ::1. */
	ipv6_off("/proc/sys/net/ipv6/conf/default/disable_ipv6");
	if (nl_open(podnl, NETLINK_ROUTE) < 0)
		err_os(e, "netlink socket in %s", name);
	else if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0)
		err_os(e, "mount %s", path);
	else if ((*nsfd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		err_os(e, "open %s", path);
	else
		ret = 0;
	ret = ns_return(host, ret, e);
out:
	saved = errno;
	close(host);
	errno = saved;
	return ret;
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
	return stat(path, &st) == 0 ? (unsigned long long)st.st_ino : 0;
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
	uint64_t h = 0xcbf29ce484222325ull;
	int i;

	for (; *bridge; bridge++)
		h = (h ^ (unsigned char)*bridge) * 0x100000001b3ull;
	mac[0] = 0x02;
	for (i = 1; i < 6; i++)
		mac[i] = (unsigned char)(h >> (8 * i));
}

/* The bridge, created on first use and given the gateway address when it
 * lacks it.  A link of that name that is no bridge is never touched. */
int
net_bridge_ready(struct nl_sock *nl, const char *bridge, uint32_t gw,
	int prefix, int *index, struct pelagos_err *e)
{
	unsigned char mac[6];
	struct nl_link l;
	struct nl_buf b;
	char ip[16];

	if (nl_getlink(nl, bridge, &l) < 0) {
		if (errno != ENODEV)
			return err_os(e, "bridge %s", bridge);
		net_bridge_mac(bridge, mac);
		nl_buf_init(&b, 1);
		nl_req_newbridge(&b, bridge, mac);
		if (nl_talk(nl, &b) < 0 && errno != EEXIST)
			return err_os(e, "create bridge %s", bridge);
		if (nl_getlink(nl, bridge, &l) < 0)
			return err_os(e, "bridge %s", bridge);
	}
	if (!l.is_bridge)
		return err_msg(e, EEXIST, "bridge %s: exists and is not a bridge",
		    bridge);
	*index = l.index;
	nl_buf_init(&b, 1);
	nl_req_newaddr(&b, l.index, gw, prefix);
	if (nl_talk(nl, &b) < 0 && errno != EEXIST) {
		ipam_format_ip(gw, ip);
		return err_os(e, "add address %s/%d to bridge %s", ip, prefix,
		    bridge);
	}
	if (!(l.flags & IFF_UP)) {
		nl_buf_init(&b, 1);
		nl_req_linkup(&b, bridge);
		if (nl_talk(nl, &b) < 0)
			return err_os(e, "set bridge %s up", bridge);
	}
	return 0;
}

/* The pair, its peer made under its final name straight inside the pod's
 * namespace.
 * A bridge port needs no IPv6 of its own, and its address checks and
 * multicast reports would be flooded to every other port.  IPv6 starts
 * them only after a random delay, so turning it off right after the link
 * is made stops them; the kernel offers no way to ask for that in the
 * creating message for a veth (EAFNOSUPPORT). */
int
net_veth_create(struct nl_sock *nl, const char *host, int brindex,
	const char *peer, int nsfd, struct pelagos_err *e)
{
	struct nl_buf b;
	char path[64];

	nl_buf_init(&b, 1);
	nl_req_newveth(&b, host, brindex, peer, nsfd);
	if (nl_talk(nl, &b) < 0)
		return err_os(e, "create veth %s", host);
	util_fmt(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
	    host);
	ipv6_off(path);
	return 0;
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
 * the interface up, its address and (with a gateway) the default route,
 * in one batch and in that order (the route needs the address's subnet
 * to reach the gateway). */
int
net_pod_config(struct nl_sock *podnl, const char *ifname, uint32_t ip,
	int prefix, uint32_t gw, struct pelagos_err *e)
{
	struct nl_link l;
	struct nl_buf b;

	if (nl_getlink(podnl, ifname, &l) < 0)
		return err_os(e, "find %s", ifname);
	nl_buf_init(&b, 1);
	nl_req_linkup(&b, "lo");
	nl_req_linkup(&b, ifname);
	nl_req_newaddr(&b, l.index, ip, prefix);
	if (gw)
		nl_req_defroute(&b, gw);
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
	int host = -1, ret = -1, saved;

	if ((*nsfd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_os(e, "open %s", path);
	if ((host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0) {
		err_os(e, "open /proc/self/ns/net");
		goto out;
	}
	if (setns(*nsfd, CLONE_NEWNET) < 0) {
		err_os(e, "enter network namespace %s", path);
		goto out;
	}
	if (nl_open(podnl, NETLINK_ROUTE) < 0)
		err_os(e, "netlink socket in %s", path);
	else
		ret = 0;
	ret = ns_return(host, ret, e);
out:
	saved = errno;
	if (host >= 0)
		close(host);
	if (ret < 0) {
		nl_close(podnl);
		close(*nsfd);
		*nsfd = -1;
	}
	errno = saved;
	return ret;
}

int
net_link_mtu(struct nl_sock *nl, const char *name, unsigned int mtu,
	struct pelagos_err *e)
{
	struct nl_buf b;

	nl_buf_init(&b, 1);
	nl_req_linkmtu(&b, name, mtu);
	if (nl_talk(nl, &b) < 0)
		return err_os(e, "set MTU %u on %s", mtu, name);
	return 0;
}
