/* SPDX-License-Identifier: Apache-2.0 */
/* Networks: the default one, which exists implicitly (its bridge and
 * subnet given by the caller, from PELAGOS_BRIDGE and PELAGOS_SUBNET),
 * and the definitions of `network create`, one fixed-format file each:
 *
 *	<root>/networks/<name>		written as .<name>, renamed, synced
 *
 *	pelagos-network 1
 *	name NAME
 *	bridge BRIDGE
 *	subnet a.b.c.d/prefix		IPv4, /16 to /30, host bits clear
 *	gateway a.b.c.d			the bridge's address in it
 *	subnet6 ADDR/prefix		IPv6, /48 to /120, or -
 *	mtu N				68 to 65535 (1280 with IPv6), 0: default
 *
 * Two networks never share a bridge or overlap in either subnet, so an
 * address alone tells its network (ipam.c keys leases by address).  Both
 * checks, and the one that a network has no sandboxes left, are made
 * under the root's lock, which create holds while it leases. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>

#include "pelagos.h"

#define NETDEF_MAX	512

#define N(m) offsetof(struct netdef, m)
#define NET_KEYS(K) \
	K("name", T_NETNAME, 2, N(name)) \
	K("bridge", T_IFNAME, 2, N(bridge)) \
	K("subnet", T_NET, 2, N(sn)) \
	K("gateway", T_IP, 2, N(gateway)) \
	K("subnet6", T_NET6, 2, N(sn6)) \
	K("mtu", T_INT, 2, N(mtu))
static const char net_names[] = NET_KEYS(KV_NAME);
static const struct kv_key net_keys[] = { NET_KEYS(KV_KEY) };
#undef N

static const struct kv_file net_file = {
	"pelagos-network ", 1, net_keys, sizeof(net_keys) / sizeof(net_keys[0]),
	net_names
};

/* What a definition must hold, whoever wrote it: a gateway that is a
 * host of the subnet, an MTU IPv6 can run on. */
int
netdef_check(const struct netdef *nd, struct pelagos_err *e)
{
	uint32_t m = ipam_mask(nd->sn.prefix);
	char ip[16];

	if ((nd->gateway & m) != nd->sn.net || nd->gateway == nd->sn.net ||
	    nd->gateway == (nd->sn.net | ~m)) {
		ipam_format_ip(nd->gateway, ip);
		return err_msg(e, EINVAL, "gateway %s is no host of network "
		    "%s's subnet", ip, nd->name);
	}
	if (nd->mtu && (nd->mtu < (nd->sn6.prefix ? 1280 : 68) ||
	    nd->mtu > 65535))
		return err_msg(e, EINVAL, "MTU %d out of range (%d-65535)",
		    nd->mtu, nd->sn6.prefix ? 1280 : 68);
	return 0;
}

/* The default network, from the bridge and subnet given (NULL or empty
 * for the compiled-in ones). */
int
netdef_default(const char *bridge, const char *subnet, struct netdef *nd,
	struct pelagos_err *e)
{
	memset(nd, 0, sizeof(*nd));
	util_strcpy(nd->name, DEF_NETWORK);
	if (!bridge || !*bridge)
		bridge = DEF_BRIDGE;
	if (!subnet || !*subnet)
		subnet = DEF_SUBNET;
	if (!valid_ifname(bridge))
		return err_msg(e, EINVAL, "bridge name '%s' is not a valid "
		    "interface name", bridge);
	if (ipam_parse_subnet(subnet, &nd->sn) < 0)
		return errno == EADDRNOTAVAIL ? err_msg(e, EINVAL, "subnet "
		    "'%s' lies in %s", subnet, ipam_reserved(&nd->sn)) :
		    err_msg(e, EINVAL, "subnet '%s' is not an IPv4 network "
		    "a.b.c.d/16..30 with the host bits clear", subnet);
	util_strcpy(nd->bridge, bridge);
	nd->gateway = nd->sn.net + 1;
	return 0;
}

/* The network called name: the default one (def), or a definition;
 * ENOENT when there is none, EBADMSG for a file that is not one. */
int
netdef_load(int rootfd, const char *name, const struct netdef *def,
	struct netdef *nd)
{
	struct pelagos_err ignored;
	char buf[NETDEF_MAX + 1];
	int n, v, dfd;

	if (!strcmp(name, def->name)) {
		*nd = *def;
		return 0;
	}
	errno = ENOENT;
	if (!valid_name(name) || rootfd < 0 ||
	    (dfd = root_dir(rootfd, "networks")) < 0)
		return -1;
	if ((n = root_close(dfd, state_kv_load(dfd, name, buf,
	    NETDEF_MAX, NULL))) < 0)
		return -1;
	memset(nd, 0, sizeof(*nd));
	if (state_kv_parse(&net_file, buf, (size_t)n, nd, &v) < 0 ||
	    strcmp(nd->name, name) || netdef_check(nd, &ignored) < 0) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct netdef *)a)->name,
	    ((const struct netdef *)b)->name);
}

/* The default network first, then every definition, sorted by name;
 * an unreadable one is *bad's name (and skipped). */
int
netdef_list(int rootfd, const struct netdef *def, struct netdefs *l,
	char bad[NAME_MAX_LEN + 1])
{
	struct util_dir d = { .fd = -1 };
	const char *name;
	int r = 0;

	memset(l, 0, sizeof(*l));
	bad[0] = '\0';
	if (util_grow((void **)&l->v, &l->cap, sizeof(*l->v)) < 0)
		return -1;
	l->v[l->n++] = *def;
	if (rootfd < 0 || util_dir_open(&d, rootfd, "networks") < 0)
		return rootfd < 0 || errno == ENOENT ? 0 : -1;
	while ((r = util_dir_next(&d, &name)) > 0) {
		if (!valid_name(name))
			continue;
		if (l->n == l->cap && util_grow((void **)&l->v, &l->cap,
		    sizeof(*l->v)) < 0) {
			r = -1;
			break;
		}
		if (netdef_load(rootfd, name, def, &l->v[l->n]) == 0)
			l->n++;
		else if (errno != ENOENT)
			util_strcpy(bad, name);
	}
	util_dir_close(&d);
	util_sort(l->v + 1, l->n - 1, sizeof(*l->v), cmp_name);
	return r;
}

void
netdef_list_free(struct netdefs *l)
{
	util_release(l->v, l->cap * sizeof(*l->v));
	memset(l, 0, sizeof(*l));
}

/* What makes nd clash with o, if anything: the same name, bridge, or
 * overlapping subnets. */
static int
clash(const struct netdef *nd, const struct netdef *o, struct pelagos_err *e)
{
	int p = nd->sn.prefix < o->sn.prefix ? nd->sn.prefix : o->sn.prefix;
	int p6 = nd->sn6.prefix < o->sn6.prefix ? nd->sn6.prefix :
	    o->sn6.prefix;
	const char *what = !strcmp(nd->name, o->name) ? "name" :
	    !strcmp(nd->bridge, o->bridge) ? "bridge" :
	    !((nd->sn.net ^ o->sn.net) & ipam_mask(p)) ? "subnet" :
	    p6 && ipam_in6(nd->sn6.net, o->sn6.net, p6) ? "subnet6" : NULL;

	return what ? err_msg(e, EEXIST, "network %s: its %s clashes with "
	    "network %s", nd->name, what, o->name) : 0;
}

/* Records a new network, unless it clashes with the default one or any
 * other. */
int
netdef_create(int rootfd, const struct netdef *nd, const struct netdef *def,
	struct pelagos_err *e)
{
	struct netdefs l = { NULL, 0, 0 };
	char buf[NETDEF_MAX], tmp[80], bad[NAME_MAX_LEN + 1];
	int lock, ret = -1, n, dfd = -1;
	size_t i;

	if (netdef_check(nd, e) < 0)
		return -1;
	if ((lock = root_lock(rootfd, LOCK_EX)) < 0)
		return err_os(e, "lock the root");
	if (netdef_list(rootfd, def, &l, bad) < 0) {
		err_os(e, "list networks");
		goto out;
	}
	for (i = 0; i < l.n; i++)
		if (clash(nd, &l.v[i], e) < 0)
			goto out;
	if (bad[0]) {
		/* An unreadable definition could hide any clash. */
		err_msg(e, EBADMSG, "definition of network %s is unreadable",
		    bad);
		goto out;
	}
	util_fmt(tmp, sizeof(tmp), ".%s", nd->name);
	if ((n = state_kv_format(&net_file, nd, buf, sizeof(buf))) < 0 ||
	    (dfd = root_dir(rootfd, "networks")) < 0 ||
	    state_kv_save(dfd, nd->name, tmp, buf, (size_t)n, 1) < 0) {
		err_os(e, "write definition of network %s", nd->name);
		goto out;
	}
	ret = 0;
out:
	root_close(dfd, 0);
	netdef_list_free(&l);
	close(lock);
	return ret;
}

/* Removes a definition that no sandbox uses: none holds a lease in its
 * subnet (every sandbox on it holds one, from its claim on). */
int
netdef_remove(int rootfd, const char *name, const struct netdef *def,
	struct pelagos_err *e)
{
	struct netdef nd;
	int lock = -1, ret = -1, n, r, dfd = -1;

	if (!strcmp(name, def->name))
		return err_msg(e, EPERM, "network %s is the default network",
		    name);
	if (rootfd >= 0 && (lock = root_lock(rootfd, LOCK_EX)) < 0)
		return err_os(e, "lock the root");
	if ((r = netdef_load(rootfd, name, def, &nd)) < 0 && errno != EBADMSG) {
		if (errno == ENOENT)
			err_msg(e, ENOENT, "no such network '%s'", name);
		else
			err_os(e, "network %s", name);
		goto out;
	}
	/* A definition that cannot be read has no subnet to check. */
	if (r == 0 && (n = ipam_leased(rootfd, &nd.sn)) != 0) {
		if (n < 0)
			err_os(e, "leases of network %s", name);
		else
			err_msg(e, EBUSY, "network %s is in use by %d "
			    "sandbox%s", name, n, n == 1 ? "" : "es");
		goto out;
	}
	if ((dfd = root_dir(rootfd, "networks")) < 0 ||
	    unlinkat(dfd, name, 0) < 0 || root_sync(dfd) < 0)
		err_os(e, "remove network %s", name);
	else
		ret = 0;
out:
	root_close(dfd, 0);
	root_close(lock, 0);
	return ret;
}
