/* SPDX-License-Identifier: Apache-2.0 */
/* CNI attachments: what ADD makes, DEL and GC remove and CHECK verifies.
 *
 * <dataDir>/<name>/lock			flock()ed by every command
 * <dataDir>/<name>/leases/<a.b.c.d>	symlink -> "<containerID>/<ifname>"
 *
 * The order is sandbox.c's: the lease is taken under the lock before any
 * kernel object exists, and the host end of the veth is named after the
 * address ("pc-<8 hex>"), so everything an interrupted ADD made can be
 * found from its lease, and DEL, GC and ADD's own rollback are one
 * operation: delete the veth a lease names, then free the lease.  The
 * default dataDir is on /run: leases describe veths and namespaces that
 * no reboot keeps, so a reboot frees them all with the tmpfs (host-local
 * keeps its leases on disk, and a reboot leaks them). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "pelagos.h"

static void
veth_name(uint32_t ip, char name[IFNAME_LEN])
{
	util_fmt(name, IFNAME_LEN, CNI_VETH_PREFIX "%08x", ip);
}

/* Out of line: inlined, it is copied to each of its callers. */
static int __attribute__((noinline))
sys(struct pelagos_err *e, const char *what, const char *obj)
{
	err_os(e, "%s %s", what, obj);
	return CNI_E_SYSTEM;
}

/* Where the errors go that follow the one reported. */
static struct pelagos_err scratch;

/* An attachment as fw.c sees a sandbox: <dir>/sandboxes/<id>, where
 * fw_add records its elements (the file fw) before it adds them, so that
 * DEL, GC and rollback find them from the lease.  The ID is the
 * network's and the address's.  Its interface is what ADD configures:
 * the MAC is the address's, as a sandbox's (the anti-spoofing elements
 * name it), and the IPv6 address the lease's host number in subnet6
 * (which cnispec.c made wide enough): leased with the IPv4 address,
 * freed with it. */
static void
fw_sb(const struct cni_req *r, uint32_t ip, struct sandbox *sb)
{
	struct pod_if *pi = &sb->ifs[0];
	uint32_t off;
	int i;

	memset(sb, 0, sizeof(*sb));
	util_fmt(sb->id, sizeof(sb->id), "%08x%08x",
	    (unsigned int)ipam_hash(r->dir), ip);
	/* What the state file's parser asks of any sandbox. */
	util_strcpy(sb->hostname, sb->id);
	sb->nifs = 1;
	veth_name(ip, pi->veth_host);
	util_strcpy(pi->network, r->name);
	util_strcpy(pi->bridge, r->bridge);
	pi->ip = ip;
	pi->prefix = r->sn.prefix;
	pi->gateway = r->gw;
	ipam_mac(ip, pi->mac);
	if ((pi->prefix6 = r->sn6.prefix)) {
		memcpy(pi->ip6, r->sn6.net, 16);
		for (off = ip - r->sn.net, i = 15; off; off >>= 8, i--)
			pi->ip6[i] |= (unsigned char)off;
		ipam_gateway6(&r->sn6, pi->gateway6);
	}
	sb->nat = r->masq;
	util_strcpy(sb->ports, r->ports);
}

/* One lease visitor for all: it records the request's own lease, and
 * with drop set removes an attachment (its veth, then its lease): for
 * GC every one not in cni.dev/valid-attachments, else the request's.  A
 * holder without a '/' is no attachment and not ours to judge. */
struct visit {
	const struct cni_req *r;
	int dirfd, drop, gc, code;
	struct pelagos_err *e;
	uint32_t ip;		/* the request's lease, when found */
};

/* Its elements (none when it recorded none), its veth, then the record
 * of the elements: a removal cut short finds them again. */
static int
detach(struct visit *v, uint32_t ip)
{
	struct pelagos_err *e = v->code ? &scratch : v->e;
	struct sandbox sb;

	fw_sb(v->r, ip, &sb);
	if (fw_del(v->dirfd, &sb, 1, e) < 0 ||
	    net_veth_release(sb.ifs[0].veth_host, 0, e) < 0 ||
	    (root_rmdir(v->dirfd, sb.id) < 0 && sys(e, "remove", sb.id))) {
		v->code = CNI_E_SYSTEM;
		return 0;
	}
	return 1;
}

static int
visit(uint32_t ip, const char *holder, void *arg)
{
	struct visit *v = arg;

	if (!util_strchr(holder, '/') || (v->gc ? cni_valid(v->r, holder) :
	    strcmp(holder, v->r->key)))
		return 0;
	v->ip = ip;
	return v->drop && detach(v, ip);
}

/* The address a host end's name or a record's ID ends in, as veth_name
 * and fw_sb write it, when it is one of the subnet's that no lease
 * holds; else 0. */
static uint32_t
unleased(const struct visit *v, const char *hex)
{
	char a[24] = "leases/";
	struct stat st;
	uint32_t ip = 0;
	int i, h;

	for (i = 0; i < 8; i++) {
		if ((h = ipam_hexval(hex[i])) < 0)
			return 0;
		ip = ip << 4 | (uint32_t)h;
	}
	ipam_format_ip(ip, a + 7);
	return (ip & ipam_mask(v->r->sn.prefix)) == v->r->sn.net &&
	    util_fstatat(v->dirfd, a, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
	    errno == ENOENT ? ip : 0;
}

/* What GC finds that no lease names.  Nothing pelagos makes outlives its
 * lease (taken before, freed after), so a record of elements, or a port
 * of the bridge, named after an address of the subnet that no lease
 * holds is what a lease removed by hand left (as host-local's users are
 * used to clear leaks), and goes as a lease's attachment does.  The
 * ports are the bridge's directory in sysfs, as sandbox.c sees names:
 * a dump would want its replies read before any removal talks netlink. */
static void
orphans(struct visit *v)
{
	struct util_dir d;
	const char *name, *dir;
	char path[48];
	uint32_t ip;
	size_t n;
	int k;

	util_fmt(path, sizeof(path), "/sys/class/net/%s/brif", v->r->bridge);
	for (k = 0; k < 2; k++) {
		dir = k ? path : "sandboxes";
		/* None there: no record, or no bridge (or no sysfs). */
		if (util_dir_open(&d, v->dirfd, dir) < 0) {
			if (errno != ENOENT)
				v->code = sys(v->code ? &scratch : v->e,
				    "read", dir);
			continue;
		}
		/* A record's ID and a port's name both end in the address's
		 * 8 hex digits (fw_sb, veth_name). */
		while (util_dir_next(&d, &name) > 0)
			if ((n = util_strlen(name)) == (k ? sizeof(CNI_VETH_PREFIX)
			    + 7 : ID_LEN) && (!k || !util_strncmp(name,
			    CNI_VETH_PREFIX, sizeof(CNI_VETH_PREFIX) - 1)) &&
			    (ip = unleased(v, name + n - 8)))
				detach(v, ip);
		util_dir_close(&d);
	}
}

static int
leases(int dirfd, const struct cni_req *r, int drop, int gc,
	struct pelagos_err *e, uint32_t *ip)
{
	struct visit v = { r, dirfd, drop, gc, 0, e, 0 };

	if (ipam_lease_each(dirfd, visit, &v) < 0 && !v.code)
		v.code = sys(e, "read leases in", r->dir);
	if (gc)
		orphans(&v);
	if (ip)
		*ip = v.ip;
	return v.code;
}

static int
fw_dir(int dirfd, const char *id, struct pelagos_err *e)
{
	char path[32];

	util_fmt(path, sizeof(path), "sandboxes/%s", id);
	/* Made, or there: the next one fails if it is neither. */
	mkdirat(dirfd, "sandboxes", 0700);
	return mkdirat(dirfd, path, 0700) < 0 && errno != EEXIST ?
	    sys(e, "create", path) : 0;
}

/* What a command works on: the network's directory, locked, the
 * request's own lease if any (with the names it implies), and, once
 * opened, CNI_NETNS and netlink sockets in it and in ours. */
struct ctx {
	int dirfd, lock, nsfd;
	struct nl_sock host, pod;
	struct cni_att a;
};

static void
names(const struct cni_req *r, struct cni_att *a)
{
	util_strcpy(a->link[0].name, r->bridge);
	veth_name(a->pi.ip, a->link[1].name);
	util_strcpy(a->link[2].name, r->ifname);
}

/* The directory is made with its parents when create is set and it is
 * not there (0700 under pelagos's umask; plugins run as root); without
 * create, one that does not exist leaves dirfd -1 and is no error. */
static int
ctx_open(const struct cni_req *r, int create, struct ctx *c,
	struct pelagos_err *e)
{
	char path[sizeof(r->dir) + 1];
	size_t i, n = util_strlen(r->dir);
	int tries = create;

	memset(c, 0, sizeof(*c));
	c->dirfd = c->lock = c->nsfd = c->host.fd = c->pod.fd = -1;
	memcpy(path, r->dir, n + 1);
	while ((c->dirfd = openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0) {
		if (!tries-- || errno != ENOENT)
			return !create && errno == ENOENT ? 0 :
			    sys(e, "open", path);
		/* With a '/' appended, the loop makes the last component
		 * too; one that cannot be made fails the open again. */
		path[n] = '/';
		for (i = 1; path[i]; i++)
			if (path[i] == '/') {
				path[i] = '\0';
				mkdir(path, 0700);
				path[i] = '/';
			}
		path[n] = '\0';
	}
	/* Made, or there: taking a lease fails if it is neither. */
	if (create)
		mkdirat(c->dirfd, "leases", 0700);
	if ((c->lock = root_lock(c->dirfd, LOCK_EX)) < 0)
		return sys(e, "lock", path);
	return leases(c->dirfd, r, 0, 0, e, &c->a.pi.ip);
}

/* CNI_NETNS and a netlink socket in it, and one in ours. */
static int
ctx_netns(const struct cni_req *r, struct ctx *c, struct pelagos_err *e)
{
	if (net_ns_open(r->netns, &c->nsfd, &c->pod, e) < 0)
		return errno == ENOENT ? CNI_E_UNKNOWN : errno == EINVAL ?
		    CNI_E_ENV : CNI_E_SYSTEM;
	if (nl_open(&c->host, NETLINK_ROUTE) < 0)
		return sys(e, "open", "a netlink socket");
	return 0;
}

static int
ctx_close(struct ctx *c, int code)
{
	nl_close(&c->host);
	nl_close(&c->pod);
	if (c->nsfd >= 0)
		close(c->nsfd);
	if (c->lock >= 0)
		close(c->lock);
	if (c->dirfd >= 0)
		close(c->dirfd);
	return code;
}

/* SIGINT, SIGTERM and SIGHUP are held (cni.c): one pending aborts the ADD
 * between steps, and the rollback runs. */
static int
interrupted(struct pelagos_err *e)
{
	/* The kernel's set is 8 bytes on every ABI; signals below 32 are
	 * in its first word. */
	unsigned long set[2] = { 0, 0 };

	if (syscall(SYS_rt_sigpending, set, 8) == 0 && set[0] &
	    (1ul << (SIGINT - 1) | 1ul << (SIGTERM - 1) | 1ul << (SIGHUP - 1)))
		return err_msg(e, EINTR, "interrupted"), -1;
	return 0;
}

static int
link_info(struct nl_sock *nl, struct cni_link *l, struct nl_link *out,
	struct pelagos_err *e)
{
	if (nl_getlink(nl, l->name, out) < 0)
		return sys(e, "find", l->name);
	memcpy(l->mac, out->mac, sizeof(l->mac));
	return 0;
}

int
attach_add(const struct cni_req *r, struct cni_att *a,
	struct pelagos_err *e)
{
	struct netdef nd = { .mtu = 0 };
	struct pod_if *pi;
	struct sandbox sb;
	struct ctx c;
	struct nl_link l;
	int brindex, i, code;

	if ((code = ctx_open(r, 1, &c, e)) != 0)
		goto out;
	code = CNI_E_SYSTEM;
	if (c.a.pi.ip) {
		err_msg(e, EEXIST, "%s exists", r->key);
		goto out;
	}
	if ((code = ctx_netns(r, &c, e)) != 0)
		goto out;
	code = CNI_E_SYSTEM;
	/* A full subnet is EADDRNOTAVAIL. */
	if (ipam_lease_take_except(c.dirfd, &r->sn, r->gw, r->key,
	    &c.a.pi.ip) < 0) {
		sys(e, "lease an address in", r->dir);
		goto out;
	}
	names(r, &c.a);
	fw_sb(r, c.a.pi.ip, &sb);
	pi = &c.a.pi;
	*pi = sb.ifs[0];
	memcpy(c.a.link[2].mac, pi->mac, 6);
	util_strcpy(nd.bridge, r->bridge);
	nd.sn = r->sn;
	nd.gateway = r->gw;
	nd.sn6 = r->sn6;
	/* A hostPort that another sandbox, attachment or host socket holds
	 * (or a hostIP not the host's) is the configuration's fault.  The
	 * elements come before the port, as a sandbox's (sandbox.c). */
	if ((r->masq || r->ports[0]) && (fw_dir(c.dirfd, sb.id, e) < 0 ||
	    fw_add(c.dirfd, &sb, e) < 0)) {
		if (errno == EEXIST || errno == EADDRINUSE ||
		    errno == EADDRNOTAVAIL)
			code = CNI_E_CONFIG;
		goto undo;
	}
	/* A CNI_IFNAME taken in CNI_NETNS fails the veth's creation
	 * (EEXIST), which makes neither end.  With subnet6 its IPv6 is set
	 * as a sandbox's eth0 (net.c) before it is up: no DAD, no router
	 * solicitation, the link-local address the anti-spoofing names. */
	if (interrupted(e) || net_bridge_ready(&c.host, &nd, &brindex, e) < 0 ||
	    net_veth_create(&c.host, pi->veth_host, brindex, r->ifname,
	    c.nsfd, (int)r->mtu, pi->mac, 0, e) < 0 ||
	    (pi->prefix6 && net_ipv6_ifconf(c.nsfd, r->ifname, 1, e) < 0) ||
	    net_pod_config(&c.pod, r->ifname, pi, r->defroute, e) < 0)
		goto undo;
	for (i = 0; i < 2; i++)
		if (link_info(&c.host, &c.a.link[i], &l, e))
			goto undo;
	if (!interrupted(e)) {
		*a = c.a;
		code = 0;
		goto out;
	}
undo:
	leases(c.dirfd, r, 1, 0, &scratch, NULL);
out:
	return ctx_close(&c, code);
}

/* Also when CNI_NETNS and the lease are gone, and as often as asked: the
 * veth the lease names is deleted whatever namespace its peer is in,
 * which takes CNI_IFNAME with it.  For GC, every attachment not in
 * cni.dev/valid-attachments goes the same way; errors do not stop it, the
 * first is reported. */
int
attach_del(const struct cni_req *r, struct pelagos_err *e)
{
	struct ctx c;
	int code;

	if ((code = ctx_open(r, 0, &c, e)) == 0 && c.dirfd >= 0)
		code = leases(c.dirfd, r, 1, r->cmd == CNI_GC, e, NULL);
	return ctx_close(&c, code);
}

/* The kernel side against prevResult and the lease: the lease and the
 * addresses prevResult gives CNI_IFNAME agree, the bridge is up, the host
 * end up on it, CNI_IFNAME up with the MAC prevResult recorded, its
 * addresses local and, with isDefaultGateway, the default routes via the
 * gateway and out of CNI_IFNAME (a TEST-NET address outside the subnet
 * is looked up, and for IPv6 one of 100::/64, which discards). */
int
attach_check(const struct cni_req *r, struct pelagos_err *e)
{
	struct nl_link br, l;
	struct nl_route rt;
	static const unsigned char discard6[16] = { 1, [15] = 1 };
	struct sandbox sb;
	struct ctx c;
	const char *what = "lease";
	const unsigned char *v6;
	char mac[18];
	int code, i;

	if ((code = ctx_open(r, 0, &c, e)) != 0)
		goto out;
	names(r, &c.a);
	fw_sb(r, c.a.pi.ip, &sb);
	code = CNI_E_DRIFT;
	if (!c.a.pi.ip || c.a.pi.ip != r->want_ip ||
	    r->want_prefix != r->sn.prefix ||
	    r->want6.prefix != sb.ifs[0].prefix6 ||
	    memcmp(r->want6.net, sb.ifs[0].ip6, 16))
		goto drift;
	if ((code = ctx_netns(r, &c, e)) != 0 ||
	    (code = link_info(&c.host, &c.a.link[0], &br, e)) != 0 ||
	    (code = link_info(&c.host, &c.a.link[1], &l, e)) != 0)
		goto out;
	code = CNI_E_DRIFT;
	what = "host end";
	if (!br.is_bridge || !(br.flags & l.flags & IFF_UP) ||
	    l.master != br.index)
		goto drift;
	if ((code = link_info(&c.pod, &c.a.link[2], &l, e)) != 0)
		goto out;
	code = CNI_E_DRIFT;
	what = "interface";
	ipam_format_mac(c.a.link[2].mac, mac);
	if (!(l.flags & IFF_UP) || (r->want_mac[0] && strcmp(mac,
	    r->want_mac)))
		goto drift;
	/* IPv4, then IPv6 where subnet6 gives the interface an address. */
	for (i = 0; i <= !!sb.ifs[0].prefix6; i++) {
		v6 = i ? sb.ifs[0].ip6 : NULL;
		if (v6)
			what = "IPv6 address or route";
		if (nl_getroute(&c.pod, c.a.pi.ip, v6, &rt) < 0 ||
		    rt.type != RTN_LOCAL || (r->defroute &&
		    (nl_getroute(&c.pod, (r->sn.net >> 24) == 192 ?
		    0xc6336401 : 0xc0000201, v6 ? discard6 : NULL, &rt) < 0 ||
		    (!v6 && rt.gw != r->gw) || rt.oif != l.index)))
			goto drift;
	}
	what = "nftables elements";
	code = 0;
	if (fw_check(c.dirfd, sb.id) == 0)
		goto out;
	code = CNI_E_DRIFT;
drift:
	err_msg(e, ESTALE, "%s: %s not as added", r->key, what);
out:
	return ctx_close(&c, code);
}

static int
count(uint32_t ip, const char *holder, void *arg)
{
	(void)ip;
	(void)holder;
	++*(uint32_t *)arg;
	return 0;
}

/* Ready unless the subnet has no free address left (a bridge's name
 * taken by another kind of link fails ADD, naming it). */
int
attach_status(const struct cni_req *r, struct pelagos_err *e)
{
	struct ctx c;
	uint32_t used = 0;
	int code;

	if ((code = ctx_open(r, 0, &c, e)) == 0 && c.dirfd >= 0)
		ipam_lease_each(c.dirfd, count, &used);
	if (!code && used >= ~ipam_mask(r->sn.prefix) - 2)
		code = (err_msg(e, ENOSPC, "%s is full", r->dir),
		    CNI_E_UNAVAILABLE);
	return ctx_close(&c, code);
}
