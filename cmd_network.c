/* SPDX-License-Identifier: Apache-2.0 */
/* The network commands: create, ls, inspect and rm, and what they print;
 * the definitions themselves are netdef.c's. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "pelagos.h"

const char cmd_network_usage[] =
"network create|ls|inspect|rm [ARGS] (each has --help)\n";

const char cmd_net_create_usage[] =
"network create NAME --subnet CIDR [--subnet6 CIDR|--ipv6]\n"
" [--bridge BR] [--gateway IP] [--mtu N]\n";

const char cmd_net_ls_usage[] =
"network ls [-q|--quiet|--json]\n";

const char cmd_net_inspect_usage[] =
"network inspect NAME\n";

const char cmd_net_rm_usage[] =
"network rm NAME...\n";

/* The default network, and the root (-1 when it does not exist, unless
 * create). */
static int
setup(const struct cmd *c, struct netdef *def, int create, int *rootfd)
{
	struct pelagos_err e;

	*rootfd = -1;
	if (netdef_default(util_getenv("PELAGOS_BRIDGE"), util_getenv("PELAGOS_SUBNET"),
	    def, &e) < 0)
		return pelagos_fail(c, &e);
	return pelagos_open_root(c, create, rootfd) < 0;
}

int
cmd_net_create(const struct cmd *c, int argc, char **argv)
{
	static const struct opt opts[] = {
		{ "--subnet", 0, 1 }, { "--subnet6", 0, 1 },
		{ "--bridge", 0, 1 }, { "--gateway", 0, 1 },
		{ "--mtu", 0, 1 }, { "--ipv6", 0, 0 }, { NULL, 0, 0 } };
	const char *a[6] = { NULL }, *name, *br, *end;
	struct pelagos_err e;
	struct netdef nd, def;
	unsigned long long u = 0;
	int rootfd, ret = 1, k;

	memset(&nd, 0, sizeof(nd));
	if ((k = pelagos_args(c, &argc, argv, opts, a, ARGS_ONE | ARGS_NET,
	    NULL)) >= 0)
		return k;
	if (!argc || !a[0])
		return pelagos_usage(c, "missing NAME or --subnet", NULL);
	if (a[1] && a[5])
		return pelagos_usage(c, "--ipv6 and --subnet6 exclude each "
		    "other", NULL);
	name = argv[0];
	br = a[2] ? a[2] : name;
	if (!valid_ifname(br))
		return pelagos_bad_value(c, "bridge name", br);
	if (ipam_parse_subnet(a[0], &nd.sn) < 0)
		return pelagos_bad_value(c, "--subnet", a[0]);
	if (a[1] && ipam_parse_subnet6(a[1], &nd.sn6) < 0)
		return pelagos_bad_value(c, "--subnet6", a[1]);
	nd.gateway = nd.sn.net + 1;
	if (a[3] && ipam_parse_ip(a[3], NULL, &nd.gateway) < 0)
		return pelagos_bad_value(c, "--gateway", a[3]);
	if (a[4] && (util_parse_ull(a[4], &end, 65535, &u) < 0 || *end))
		return pelagos_bad_value(c, "--mtu", a[4]);
	util_strcpy(nd.name, name);
	util_strcpy(nd.bridge, br);
	if (a[5])
		ipam_ula(name, &nd.sn6);
	nd.mtu = (int)u;
	if (setup(c, &def, 1, &rootfd))
		goto out;
	if (netdef_create(rootfd, &nd, &def, &e) < 0) {
		pelagos_fail(c, &e);
		goto out;
	}
	util_out("%s\n", nd.name);
	ret = 0;
out:
	if (rootfd >= 0)
		close(rootfd);
	return ret;
}

/* One network as a table row (fmt) or a JSON object (fmt NULL); its
 * name is valid_name's, only the bridge's can hold what JSON escapes. */
static void
show(const struct netdef *nd, const char *fmt, int is_default)
{
	unsigned char gw6[16];
	char sub[20], sub6[44], gw[40], g6[40], mtu[8];

	sub6[0] = g6[0] = '\0';
	ipam_format_ip(nd->sn.net, gw);
	util_fmt(sub, sizeof(sub), "%s/%d", gw, nd->sn.prefix);
	if (nd->sn6.prefix) {
		ipam_format_ip6(nd->sn6.net, gw);
		util_fmt(sub6, sizeof(sub6), "%s/%d", gw, nd->sn6.prefix);
		ipam_gateway6(&nd->sn6, gw6);
		ipam_format_ip6(gw6, g6);
	}
	ipam_format_ip(nd->gateway, gw);
	util_fmt(mtu, sizeof(mtu), "%d", nd->mtu);
	if (fmt) {
		util_out(fmt, nd->name, nd->bridge, sub, sub6[0] ? sub6 : "-",
		    nd->mtu ? mtu : "-");
		return;
	}
	util_out("{\"name\":\"%s\",\"bridge\":", nd->name);
	json_put(nd->bridge);
	util_out(",\"subnet\":\"%s\",\"gateway\":\"%s\",\"subnet6\":\"%s\","
	    "\"gateway6\":\"%s\",\"mtu\":%s,\"default\":%s}", sub, gw, sub6,
	    g6, mtu, is_default ? "true" : "false");
}

/* ls, and inspect: the one network named. */
static int
list_nets(const struct cmd *c, int json, int quiet, const char *name)
{
	static const char fmt[] = "%-20s %-16s %-18s %-24s %s\n";
	struct netdefs l = { NULL, 0, 0 };
	char unreadable[NAME_MAX_LEN + 1];
	struct netdef def;
	size_t i;
	int rootfd, ret = 1, shown = 0;

	if (setup(c, &def, 0, &rootfd))
		return 1;
	if (netdef_list(rootfd, &def, &l, unreadable) < 0) {
		pelagos_warn(c, "list %s/networks:", pelagos_root);
		goto out;
	}
	if (!quiet && !json)
		util_out(fmt, "NAME", "BRIDGE", "SUBNET", "SUBNET6", "MTU");
	for (i = 0; i < l.n; i++) {
		if (name && strcmp(name, l.v[i].name))
			continue;
		if (quiet) {
			util_out("%s\n", l.v[i].name);
		} else {
			if (json && !name)
				util_out(shown ? ",\n" : "[");
			show(&l.v[i], json ? NULL : fmt, i == 0);
		}
		shown++;
	}
	if (name && !shown) {
		pelagos_warn(c, "no such network '%s'", name);
		goto out;
	}
	if (json)
		util_out("%s\n", name ? "" : shown ? "]" : "[]");
	ret = 0;
	if (unreadable[0] && !name) {
		pelagos_warn(c, "network %s: definition unreadable", unreadable);
		ret = 1;
	}
out:
	netdef_list_free(&l);
	if (rootfd >= 0)
		close(rootfd);
	return ret;
}

int
cmd_net_ls(const struct cmd *c, int argc, char **argv)
{
	const char *f[2];
	int r;

	if ((r = pelagos_ls_opts(c, argc, argv, f)) >= 0)
		return r;
	return list_nets(c, !!f[0], !!f[1], NULL);
}

int
cmd_net_inspect(const struct cmd *c, int argc, char **argv)
{
	int r;

	if ((r = pelagos_args(c, &argc, argv, NULL, NULL, ARGS_ONE | ARGS_NET,
	    "missing NAME")) >= 0)
		return r;
	return list_nets(c, 1, 0, argv[0]);
}

int
cmd_net_rm(const struct cmd *c, int argc, char **argv)
{
	struct pelagos_err e;
	struct netdef def;
	int rootfd, ret = 0, i;

	if ((i = pelagos_args(c, &argc, argv, NULL, NULL, ARGS_MANY | ARGS_NET,
	    "missing NAME")) >= 0)
		return i;
	if (setup(c, &def, 0, &rootfd))
		return 1;
	for (i = 0; i < argc; i++)
		if (netdef_remove(rootfd, argv[i], &def, &e) < 0)
			ret = pelagos_fail(c, &e);
	if (rootfd >= 0)
		close(rootfd);
	return ret;
}
