/* SPDX-License-Identifier: Apache-2.0 */
/* The sandbox commands: create, ls, inspect, rm, prune and the hidden
 * __pause__, and what they print (the ls table and the JSON objects). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/signalfd.h>

#include "pelagos.h"

const char cmd_sandbox_usage[] =
"sandbox create|ls|inspect|rm|prune [ARGS] (each has --help)\n";

const char cmd_create_usage[] =
"sandbox create [--name NAME] [--hostname NAME] [--host-net]\n"
" [--host-ipc] [--pod-pid] [--network NET]... [--ip|--ip6 [NET=]ADDR]...\n"
" [--mtu N] [--dns IP]... [--dns-search DOM]... [--dns-option OPT]...\n"
" [--add-host NAME:IP]... [--sysctl KEY=VALUE]... [--nat]\n"
" [-p|--publish [HOSTIP:]HOSTPORT[-P]:PODPORT[-P][/tcp|/udp]]...\n"
" [--egress A.B.C.D[/N][:PORT[-P]][/tcp|/udp]]... [LIMITS]\n"
"LIMITS: [--memory SIZE] [--memory-swap SIZE] [--cpus N] [--pids N]\n"
" [--cpu-weight W]\n"
"Prints the new sandbox's ID.\n";

const char cmd_ls_usage[] =
"sandbox ls [-q|--quiet|--json]\n"
"-q: IDs only; --json: the running ones.\n";

const char cmd_inspect_usage[] =
"sandbox inspect [--oci] ID|NAME\n"
"JSON; --oci: the namespaces for runc/crun.\n";

const char cmd_rm_usage[] =
"sandbox rm [-f|--force] ID|NAME...\n"
"-f: kill its processes first.\n";

const char cmd_prune_usage[] =
"sandbox prune\n"
"Removes dead sandboxes.\n";

/* Where create's own options start in its table, after the limits, and
 * the lists of struct pod_opts among them. */
#define NET_AT	(LIMIT_AT + LIM_COUNT)
#define POD_AT	(NET_AT + 4)

/* One IPv4 or IPv6 address. */
static int
any_ip(const char *s)
{
	unsigned char a[16];
	uint32_t v;

	return ipam_parse_ip(s, NULL, &v) == 0 ||
	    ipam_parse_ip6(s, NULL, a) == 0;
}

/* A value of the options that become the pod's files or sysctls (k is
 * the list, in the order of struct pod_opts). */
static int
pod_value_ok(int k, const char *v, const struct sandbox *sb)
{
	const char *colon = util_strchr(v, ':');
	char name[HOST_MAX_LEN + 1];
	int ns;

	switch (k) {
	case POD_DNS:
		return any_ip(v);
	case POD_SEARCH:
		return valid_hostname(v);
	case POD_DNSOPT:
		return valid_dns_option(v);
	case POD_HOSTS:
		util_fmt(name, sizeof(name), "%.*s", colon ? (int)(colon - v) :
		    0, v);
		return colon && colon - v <= HOST_MAX_LEN &&
		    valid_hostname(name) && any_ip(colon + 1);
	}
	/* A key of a namespace the pod shares with the host would change
	 * the host's. */
	ns = proc_sysctl_ns(v);
	return ns == NSK_NET ? sb->net != NS_NODE :
	    ns == NSK_IPC && sb->ipc != NS_NODE;
}

/* The networks of the --network names (the default network by its name)
 * and the addresses of --ip and --ip6 (the nip ips, those of --ip6 by bit
 * in six): NET=ADDR for the interface on NET, a bare ADDR for the only
 * one.  0, or the exit status of what was said. */
static int
resolve_nets(const struct cmd *c, int rootfd, struct sandbox *sb,
	struct pod_opts *o, const char **nets, const char **ips, int nip,
	unsigned six, const char *mtu, const struct netdef *def)
{
	const char *eq, *arg;
	struct pod_if *pi;
	int i, j, v6;

	for (i = 0; i < sb->nifs; i++) {
		for (j = 0; j < i; j++)
			if (!strcmp(nets[i], nets[j]))
				return pelagos_bad_value(c,
				    "--network (given twice)", nets[i]);
		if (netdef_load(rootfd, nets[i], def, &o->nets[i]) < 0) {
			pelagos_warn(c, errno == ENOENT ? "no such network '%s'" :
			    "network %s:", nets[i]);
			return 1;
		}
		if (o->mtu && o->mtu < 1280 && o->nets[i].sn6.prefix)
			return pelagos_bad_value(c, "--mtu (IPv6 needs 1280)",
			    mtu);
	}
	for (j = 0; j < nip; j++) {
		arg = ips[j];
		v6 = six >> j & 1;
		eq = util_strchr(arg, '=');
		for (i = eq || sb->nifs == 1 ? 0 : sb->nifs; eq &&
		    i < sb->nifs && (util_strncmp(nets[i], arg,
		    (size_t)(eq - arg)) || nets[i][eq - arg]); i++)
			;
		eq = eq ? eq + 1 : arg;
		pi = &sb->ifs[i];
		if (i == sb->nifs || (!v6 ? pi->ip ||
		    ipam_parse_ip(eq, NULL, &pi->ip) < 0 || !pi->ip :
		    !o->nets[i].sn6.prefix || pi->prefix6 ||
		    ipam_parse_ip6(eq, NULL, pi->ip6) < 0))
			return pelagos_bad_value(c, v6 ? "--ip6" : "--ip", arg);
		/* Given once only; create sets the prefix. */
		pi->prefix6 |= v6;
	}
	return 0;
}

/* The options after the pod's lists: --nat, --publish, --egress. */
#define FW_AT	(POD_AT + POD_NLISTS)

/* One --publish or --egress word, added to sb's list if the list stays
 * valid. */
static int
fw_opt(struct sandbox *sb, int egress, const char *v)
{
	union {
		struct fw_port p[FW_MAX_PORTS];
		struct fw_egress g[FW_MAX_EGRESS];
	} scratch;
	char *list = egress ? sb->egress : sb->ports;
	size_t len = util_strlen(list), n;

	if (len + util_strlen(v) + 2 > FWSPEC_LIST_MAX || util_strchr(v, ','))
		return -1;
	util_fmt(list + len, FWSPEC_LIST_MAX - len, "%s%s", len ? "," : "", v);
	if (fwspec_list(list, &scratch, &n, egress) == 0)
		return 0;
	list[len] = '\0';
	return -1;
}

/* The time by a raw call: time() would pull in libc's vDSO lookup
 * (0.8 KB) for one timestamp per create.  A 32-bit target's time_t is
 * 64 bits wide, as clock_gettime64 takes it. */
static long long
now(void)
{
	struct timespec ts;

#ifdef SYS_clock_gettime64
	if (syscall(SYS_clock_gettime64, CLOCK_REALTIME, &ts) == 0)
#else
	if (syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts) == 0)
#endif
		return (long long)ts.tv_sec;
	return 0;
}

int
cmd_create(const struct cmd *c, int argc, char **argv)
{
	static const struct opt opts[] = {
		{ "--name", 0, 1 }, { "--hostname", 0, 1 },
		{ "--host-net", 0, 0 }, { "--host-ipc", 0, 0 },
		{ "--pod-pid", 0, 0 }, LIMIT_OPTS, { "--network", 0, 1 },
		{ "--ip", 0, 1 }, { "--ip6", 0, 1 }, { "--mtu", 0, 1 },
		{ "--dns", 0, 1 }, { "--dns-search", 0, 1 },
		{ "--dns-option", 0, 1 }, { "--add-host", 0, 1 },
		{ "--sysctl", 0, 1 }, { "--nat", 0, 0 },
		{ "--publish", 'p', 1 }, { "--egress", 0, 1 }, { NULL, 0, 0 } };
	const char *name = NULL, *hostname = NULL, *mtu = NULL, *v, *end,
	    *nets[MAX_IFS], *ips[2 * (MAX_IFS + 1)];
	size_t i;
	struct pelagos_err e;
	struct opt_state st;
	struct sandbox sb;
	struct pod_opts o;
	struct netdef def;
	unsigned long long u;
	sigset_t sigs;
	unsigned six = 0;
	int rootfd = -1, sigfd = -1, ret = 1, k, nip = 0, def_ok;

	memset(&sb, 0, sizeof(sb));
	memset(&o, 0, sizeof(o));
	sb.pid = NS_CONTAINER;
	opt_init(&st, c, argc, argv, 0);
	while ((k = opt_next(&st, opts, &v)) != OPT_END) {
		switch (k) {
		case OPT_BAD:
			return st.ret;
		case OPT_ARG:
			return pelagos_usage(c, "unexpected argument '%s'", v);
		case 0:
			name = v;
			break;
		case 1:
			hostname = v;
			break;
		case 2:
			sb.net = NS_NODE;
			break;
		case 3:
			sb.ipc = NS_NODE;
			break;
		case 4:
			sb.pid = NS_POD;
			break;
		case FW_AT:
			sb.nat = 1;
			break;
		case FW_AT + 1:
		case FW_AT + 2:
			if (fw_opt(&sb, k == FW_AT + 2, v) < 0)
				return pelagos_bad_value(c, opts[k].name, v);
			break;
		case NET_AT:
			if (sb.nifs == MAX_IFS)
				return pelagos_usage(c, "at most 4 --network, "
				    "not '%s' too", v);
			nets[sb.nifs++] = v;
			break;
		case NET_AT + 1:
		case NET_AT + 2:
			/* More than one per interface is an error later: of
			 * the first 10, 5 of a kind at least are there. */
			if (nip < 2 * (MAX_IFS + 1)) {
				six |= (unsigned)(k == NET_AT + 2) << nip;
				ips[nip++] = v;
			}
			break;
		case NET_AT + 3:
			if (util_parse_ull(v, &end, 65535, &u) < 0 || *end ||
			    u < 68)
				return pelagos_bad_value(c, "--mtu", v);
			mtu = v;
			o.mtu = (int)u;
			break;
		default:
			if (k < NET_AT) {
				if (cgroup_limit(k - LIMIT_AT, v, &sb.lim) < 0)
					return pelagos_bad_value(c,
					    opts[k].name, v);
				break;
			}
			if (o.n[k - POD_AT] == MAX_POD_OPTS)
				return pelagos_usage(c, "at most 16 of each "
				    "option, not '%s' too", v);
			o.v[k - POD_AT][o.n[k - POD_AT]++] = v;
		}
	}
	if (sb.net == NS_NODE && (sb.nat || sb.ports[0] || sb.egress[0] ||
	    sb.nifs || nip || mtu))
		return pelagos_usage(c, "--host-net takes no --nat, --publish, "
		    "--egress, --network, --ip, --ip6 or --mtu", NULL);
	for (k = 0; k < 2; k++) {
		if (!(v = k ? hostname : name))
			continue;
		if (!(k ? valid_hostname : valid_name)(v)) {
			pelagos_warn(c, "invalid %s '%s': use 1-%d of "
			    "[A-Za-z0-9_.-], starting with a letter or digit",
			    k ? "hostname" : "name", v, k ? HOST_MAX_LEN :
			    NAME_MAX_LEN);
			return 1;
		}
		util_strcpy(k ? sb.hostname : sb.name, v);
	}
	if (sb.net != NS_NODE && !sb.nifs)
		nets[sb.nifs++] = DEF_NETWORK;
	/* PELAGOS_BRIDGE and PELAGOS_SUBNET count when the default network
	 * does, and are checked before anything exists. */
	def_ok = netdef_default(util_getenv("PELAGOS_BRIDGE"),
	    util_getenv("PELAGOS_SUBNET"), &def, &e) == 0;
	for (k = 0; k < sb.nifs; k++)
		if (!def_ok && !strcmp(nets[k], def.name))
			return pelagos_fail(c, &e);
	for (k = 0; k < POD_NLISTS; k++)
		for (i = 0; i < o.n[k]; i++)
			if (!pod_value_ok(k, o.v[k][i], &sb))
				return pelagos_bad_value(c,
				    opts[k + POD_AT].name, o.v[k][i]);
	sb.created = now();
	if (!(o.resolv = util_getenv("PELAGOS_RESOLV_CONF")) || !*o.resolv)
		o.resolv = DEF_RESOLV_CONF;

	/* SIGINT, SIGTERM and SIGHUP are held and checked between steps, so
	 * an interrupted create rolls back instead of dying half-way. */
	pelagos_hold_signals(&sigs);
	/* A reader that went away makes the ID's write fail with EPIPE,
	 * which undoes the create, instead of killing it half-reported. */
	util_signal(SIGPIPE, SIG_IGN);
	if (pelagos_open_root(c, 1, &rootfd) < 0)
		goto out;
	if ((k = resolve_nets(c, rootfd, &sb, &o, nets, ips, nip, six, mtu,
	    &def)) != 0) {
		ret = k;
		goto out;
	}
	if ((sigfd = (int)syscall(SYS_signalfd4, -1, &sigs, _NSIG / 8,
	    SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		pelagos_warn(c, "signalfd:");
		goto out;
	}
	if (sandbox_create(rootfd, pelagos_root, &sb, &o, sigfd, &e) < 0) {
		pelagos_fail(c, &e);
		goto out;
	}
	if (o.no_dns)
		pelagos_warn(c, "%s has only loopback nameservers: the pod's "
		    "resolv.conf has none (use --dns)", o.resolv);
	/* A sandbox whose ID nobody learns could never be removed by it:
	 * if the ID cannot be written, the create is undone. */
	util_out("%s\n", sb.id);
	if (util_flush() < 0) {
		pelagos_warn(c, "write ID %s:", sb.id);
		sandbox_teardown(rootfd, &sb, TD_FORCE, &e);
		goto out;
	}
	ret = 0;
out:
	if (rootfd >= 0)
		close(rootfd);
	if (sigfd >= 0)
		close(sigfd);
	return ret;
}

/* By enum ns_mode, which the state's parser keeps in range. */
static const char mode_json[][10] = { "Pod", "Container", "Node" };

/* One interface as a JSON object. */
static void
json_if(const struct pod_if *pi, int i)
{
	static const unsigned char none[6];
	char a[40], mac[18];

	mac[0] = '\0';
	if (memcmp(pi->mac, none, 6))
		ipam_format_mac(pi->mac, mac);
	/* A network's name needs no escaping (valid_name). */
	util_out("%s{\"name\":\"" PEER_PREFIX "%d\",\"network\":\"%s\","
	    "\"veth_host\":", i ? "," : "", i, pi->network);
	json_put(pi->veth_host);
	util_out(",\"bridge\":");
	json_put(pi->bridge);
	ipam_format_ip(pi->ip, a);
	util_out(",\"mac\":\"%s\",\"mtu\":%d,\"addresses\":[\"%s/%d\"", mac,
	    pi->mtu, a, pi->prefix);
	if (pi->prefix6) {
		ipam_format_ip6(pi->ip6, a);
		util_out(",\"%s/%d\"", a, pi->prefix6);
	}
	ipam_format_ip(pi->gateway, a);
	util_out("],\"gateway\":\"%s\",\"gateway6\":\"", a);
	if (pi->prefix6) {
		ipam_format_ip6(pi->gateway6, a);
		util_out("%s", a);
	}
	util_out("\"}");
}

/* A --publish or --egress list as a JSON array of its words (which hold
 * nothing JSON escapes). */
static void
json_list(const char *key, const char *l)
{
	char buf[FWSPEC_LIST_MAX * 3], *p = buf;

	for (; *l; l++)
		if (*l == ',') {
			memcpy(p, "\",\"", 3);
			p += 3;
		} else
			*p++ = *l;
	*p = '\0';
	util_out(buf[0] ? ",\"%s\":[\"%s\"]" : ",\"%s\":[%s]", key, buf);
}

/* The fields of ls --json, which inspect extends. */
static void
json_fields(const struct sandbox *sb)
{
	char ip[16];
	int i;

	ip[0] = '\0';
	if (sb->nifs)
		ipam_format_ip(sb->ifs[0].ip, ip);
	util_out("\"id\":");
	json_put(sb->id);
	util_out(",\"name\":");
	if (sb->name[0])
		json_put(sb->name);
	else
		util_out("null");
	util_out(",\"pause_pid\":%d,\"ns_name\":", (int)sb->pause_pid);
	json_put(sb->ns_name);
	util_out(",\"veth_host\":");
	json_put(sb->nifs ? sb->ifs[0].veth_host : "");
	util_out(",\"container_ip\":");
	json_put(ip);
	util_out(",\"namespaces\":{\"network\":\"%s\",\"pid\":\"%s\","
	    "\"ipc\":\"%s\"},\"interfaces\":[", mode_json[sb->net],
	    mode_json[sb->pid], mode_json[sb->ipc]);
	for (i = 0; i < sb->nifs; i++)
		json_if(&sb->ifs[i], i);
	util_out("]");
	util_out(",\"nat\":%s", sb->nat ? "true" : "false");
	json_list("ports", sb->ports);
	json_list("egress", sb->egress);
}

/* One row of the ls table, under the header the first row brings. */
static void
table_row(int *shown, const char *id, const char *name, const char *status,
	const char *ip, const char *ns)
{
	static const char fmt[] = "%-18s %-20s %-8s %-16s %s\n";

	if (!(*shown)++)
		util_out(fmt, "ID", "NAME", "STATUS", "IP", "NS_NAME");
	util_out(fmt, id, name, status, ip, ns);
}

/* A directory without state and without its lock is a create that died,
 * or one that has made the directory but not yet locked it: the claim is
 * made under the root's lock, so the answer waits for it. */
static const char *
stateless_status(int rootfd, const char *id)
{
	struct sandbox sb;
	const char *st;
	int lock;

	if (root_busy(rootfd, id))
		return "creating";
	lock = root_lock(rootfd, LOCK_SH);
	st = sandbox_load(rootfd, id, &sb) == 0 ? sandbox_status(&sb) :
	    errno != ENOENT ? "broken" : root_busy(rootfd, id) ? "creating" :
	    "dead";
	if (lock >= 0)
		close(lock);
	return st;
}

/* The root's sandboxes; -1 once the failure is said. */
static int
list_ids(const struct cmd *c, int rootfd, struct root_ids *ids)
{
	if (root_list(rootfd, ids) == 0)
		return 0;
	pelagos_warn(c, "list %s/sandboxes:", pelagos_root);
	return -1;
}

int
cmd_ls(const struct cmd *c, int argc, char **argv)
{
	struct root_ids ids = { NULL, 0, 0 };
	struct sandbox sb;
	size_t i;
	const char *f[2];
	int rootfd = -1, sfd = -1, dfd, shown = 0, ret, json, quiet, r;

	if ((ret = pelagos_ls_opts(c, argc, argv, f)) >= 0)
		return ret;
	ret = 1;
	json = !!f[0];
	quiet = !!f[1];
	if (pelagos_open_root(c, 0, &rootfd) < 0)
		return 1;
	if (rootfd >= 0 && list_ids(c, rootfd, &ids) < 0)
		goto out;
	if (ids.n && !quiet)
		sfd = root_dir(rootfd, "sandboxes");
	for (i = 0; i < ids.n; i++) {
		const char *id = ids.id[i], *status, *ipp = "-";
		char ip[16], path[ID_LEN + sizeof("/" STATE_FILE)];

		if (quiet) {
			util_out("%s\n", id);
			continue;
		}
		/* Through the sandboxes directory opened once. */
		util_fmt(path, sizeof(path), "%s/" STATE_FILE, id);
		if ((r = sandbox_load_at(sfd, id, path, &sb)) < 0 &&
		    errno == ENOSYS) {
			dfd = root_dir(sfd, id);
			r = root_close(dfd, dfd < 0 ? -1 :
			    sandbox_load_at(dfd, id, STATE_FILE, &sb));
		}
		if (r < 0) {
			if (json)
				continue;
			/* No state yet: a create under way holds its
			 * directory's lock; without it, the create died. */
			status = errno != ENOENT ? "broken" :
			    stateless_status(rootfd, id);
			sb.name[0] = sb.ns_name[0] = '\0';
			sb.nifs = 0;
		} else {
			status = sandbox_status(&sb);
		}
		if (json) {
			if (!strcmp(status, "running")) {
				util_out("%s", shown++ ? ",\n{" : "[{");
				json_fields(&sb);
				util_out("%c", '}');
			}
			continue;
		}
		if (sb.nifs) {
			ipam_format_ip(sb.ifs[0].ip, ip);
			ipp = ip;
		}
		table_row(&shown, id, sb.name[0] ? sb.name : "-", status,
		    ipp, sb.ns_name[0] ? sb.ns_name : "-");
	}
	if (json)
		util_out("%s", shown ? "]\n" : "[]\n");
	ret = util_flush() == 0 ? 0 : 1;
out:
	root_ids_free(&ids);
	root_close(sfd, 0);
	if (rootfd >= 0)
		close(rootfd);
	return ret;
}

/* The one ID|NAME argument of inspect and run, loaded, with any error
 * reported. */
static int
load_arg(const struct cmd *c, int rootfd, const char *arg, struct sandbox *sb)
{
	char id[ID_LEN + 1];

	if (pelagos_resolve(c, rootfd, arg, id) < 0)
		return -1;
	if (sandbox_load(rootfd, id, sb) < 0) {
		pelagos_warn(c, "state of sandbox %s:", id);
		return -1;
	}
	return 0;
}

/* The pod's cgroup, its limits as the state records them (0 for none)
 * and its usage as the kernel counts it (null where a controller is
 * missing). */
static void
json_cgroup(const struct sandbox *sb)
{
	static const char *const use[][3] = {
		{ "memory", "memory.current", NULL },
		{ "cpu_usec", "cpu.stat", "usage_usec" },
		{ "pids", "pids.current", NULL } };
	const unsigned long long *l = sb->lim.v;
	unsigned long long v = 0;
	size_t i;
	int bad;

	/* The cgroup is valid_path's, which JSON does not escape. */
	util_out(",\"cgroup\":\"%s\",\"limits\":{\"memory\":%llu,"
	    "\"memory_swap\":%llu,\"cpu_quota\":%llu,\"pids_max\":%llu,"
	    "\"cpu_weight\":%llu},\"usage\":%s", sb->cgroup, l[0], l[1], l[2],
	    l[3], l[4], sb->cgroup[0] ? "{" : "null");
	for (i = 0; sb->cgroup[0] && i < 3; i++) {
		bad = cgroup_stat(sb->cgroup, use[i][1], use[i][2], &v);
		util_out(bad ? "%s\"%s\":null" : "%s\"%s\":%llu",
		    i ? "," : "", use[i][0], v);
	}
	if (sb->cgroup[0])
		util_out("}");
}

/* The pod's namespaces as /proc/<pause>/ns/<kind> paths.  A path names
 * the pause by PID, and a runtime opens it later: the sandbox must be
 * running now (the recorded pause, by start time and network namespace),
 * and the window until the runtime's open is the caller's to keep short
 * (README, "OCI runtimes"). */
static int
print_oci(const struct cmd *c, const struct sandbox *sb)
{
	char path[48];
	int k, n = 0;

	if (strcmp(sandbox_status(sb), "running")) {
		pelagos_warn(c, "sandbox %s is not running", sb->id);
		return 1;
	}
	util_out("%c", '[');
	for (k = 0; k < NSK_COUNT; k++) {
		if (!sandbox_shares(sb, (enum ns_kind)k))
			continue;
		proc_ns_path(path, sizeof(path), sb->pause_pid, (enum ns_kind)k);
		util_out("%s{\"type\":\"%s\",\"path\":\"%s\"}", n++ ? "," : "",
		    proc_ns[k].oci, path);
	}
	util_out("]\n");
	return util_flush() == 0 ? 0 : 1;
}

int
cmd_inspect(const struct cmd *c, int argc, char **argv)
{
	static const struct opt opts[] = { { "--oci", 0, 0 }, { NULL, 0, 0 } };
	unsigned long long drops = 0;
	struct sandbox sb;
	const char *oci = NULL;
	char gw[16];
	int rootfd = -1, ret = 1, r;

	if ((r = pelagos_args(c, &argc, argv, opts, &oci, ARGS_ONE | ARGS_REF,
	    "missing ID or NAME")) >= 0)
		return r;
	if (pelagos_open_root(c, 0, &rootfd) < 0)
		return 1;
	if (load_arg(c, rootfd, argv[0], &sb) < 0)
		goto out;
	if (oci) {
		ret = print_oci(c, &sb);
		goto out;
	}
	gw[0] = '\0';
	if (sb.nifs)
		ipam_format_ip(sb.ifs[0].gateway, gw);
	util_out("%c", '{');
	json_fields(&sb);
	/* The hostname is valid_hostname's, which JSON does not escape. */
	util_out(",\"status\":\"%s\",\"hostname\":\"%s\",\"created\":%lld,"
	    "\"bridge\":", sandbox_status(&sb), sb.hostname, sb.created);
	json_put(sb.nifs ? sb.ifs[0].bridge : "");
	util_out(",\"gateway\":\"%s\"", gw);
	json_cgroup(&sb);
	util_out(",\"antispoof\":%s,\"egress_drops\":", sb.antispoof ?
	    "true" : "false");
	/* Called first: C leaves the order of an argument list's
	 * evaluation open. */
	r = fw_drops(&sb, &drops);
	util_out(r == 0 ? "%llu}\n" : "null}\n", drops);
	ret = util_flush() == 0 ? 0 : 1;
out:
	if (rootfd >= 0)
		close(rootfd);
	return ret;
}

int
cmd_rm(const struct cmd *c, int argc, char **argv)
{
	static const struct opt opts[] = {
		{ "--force", 'f', 0 }, { NULL, 0, 0 } };
	struct pelagos_err e;
	char id[ID_LEN + 1];
	const char *v, *force = NULL;
	int rootfd = -1, ret = 0, k;

	if ((k = pelagos_args(c, &argc, argv, opts, &force, ARGS_MANY |
	    ARGS_REF, "missing ID or NAME")) >= 0)
		return k;
	if (pelagos_open_root(c, 0, &rootfd) < 0)
		return 1;
	for (k = 0; k < argc; k++) {
		v = argv[k];
		/* Already gone is what --force asked for. */
		if (pelagos_resolve(force ? NULL : c, rootfd, v, id) < 0) {
			ret |= !force;
			continue;
		}
		if (sandbox_remove(rootfd, id, force ? TD_FORCE : 0, &e) < 0 &&
		    !(force && errno == ENOENT))
			ret = pelagos_fail(c, &e);
	}
	if (rootfd >= 0)
		close(rootfd);
	return ret;
}

/* Under the root's lock throughout, so that no create is between making
 * a sandbox's directory and locking it (see sandbox_remove). */
int
cmd_prune(const struct cmd *c, int argc, char **argv)
{
	struct root_ids ids = { NULL, 0, 0 };
	struct pelagos_err e;
	size_t i;
	int rootfd = -1, lock = -1, ret = 1, r;

	if ((r = pelagos_args(c, &argc, argv, NULL, NULL, 0, NULL)) >= 0)
		return r;
	if (pelagos_open_root(c, 0, &rootfd) < 0)
		return 1;
	if (rootfd < 0)
		return 0;
	if ((lock = root_lock(rootfd, LOCK_EX)) < 0) {
		pelagos_warn(c, "lock %s:", pelagos_root);
		goto out;
	}
	if (list_ids(c, rootfd, &ids) < 0)
		goto out;
	ret = 0;
	for (i = 0; i < ids.n; i++) {
		if ((r = sandbox_remove(rootfd, ids.id[i], TD_LOCKED | TD_PRUNE,
		    &e)) < 0 && errno != ENOENT)
			ret = pelagos_fail(c, &e);
		else if (r == 1)
			util_out("%s\n", ids.id[i]);
	}
	root_ids_free(&ids);
	if (list_ids(c, rootfd, &ids) < 0)
		ret = 1;
	else if (sandbox_reconcile(rootfd, &ids, &e) < 0)
		ret = pelagos_fail(c, &e);
	cgroup_prune(rootfd);
	if (util_flush() != 0)
		ret = 1;
out:
	root_ids_free(&ids);
	if (lock >= 0)
		close(lock);
	close(rootfd);
	return ret;
}

/* The pause reports its own setup failures on its handshake pipe; when
 * it was run by hand, they are printed here too. */
int
cmd_pause(const struct cmd *c, int argc, char **argv)
{
	struct pelagos_err e;
	int ret;

	memset(&e, 0, sizeof(e));
	if ((ret = pause_main(argc, argv, &e)) != 0 && e.what[0])
		pelagos_fail(c, &e);
	return ret;
}
