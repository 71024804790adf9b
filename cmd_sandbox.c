/* SPDX-License-Identifier: Apache-2.0 */
/* The sandbox commands: create, ls, inspect, rm, prune and the hidden
 * __pause__, and what they print (the ls table and the JSON objects). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>	/* getenv */
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/signalfd.h>

#include "pelagos.h"

const char cmd_sandbox_usage[] =
"usage: pelagos sandbox create|ls|inspect|rm|prune [args...]\n"
"'pelagos sandbox CMD --help' describes each command.\n";

const char cmd_create_usage[] =
"usage: pelagos sandbox create [--name NAME] [--hostname NAME]\n"
"                              [--host-net] [--host-ipc] [--pod-pid]\n"
"                              [LIMITS]\n"
"\n"
"Creates a sandbox and prints its 16-character ID.\n"
"\n"
"  --name NAME      unique name: 1-63 of [A-Za-z0-9_.-], first alphanumeric\n"
"  --hostname NAME  hostname in the pod (default: the name, else the ID's\n"
"                   first 8 characters)\n"
"  --host-net       stay in the host network namespace (no veth, no IP)\n"
"  --host-ipc       share the host IPC namespace\n"
"  --pod-pid        give the pod a PID namespace whose PID 1 is the pause\n"
"LIMITS, of the pod's cgroup: --memory SIZE[k|m|g], --memory-swap SIZE\n"
"(memory+swap), --cpus N[.N], --pids N, --cpu-weight 1-10000\n";

const char cmd_ls_usage[] =
"usage: pelagos sandbox ls [-q|--json]\n"
"\n"
"Lists sandboxes as a table, or the running ones as a JSON array.\n"
"\n"
"  -q, --quiet  print only the IDs, one per line\n"
"  --json       print the running sandboxes as a JSON array\n";

const char cmd_inspect_usage[] =
"usage: pelagos sandbox inspect [--oci] ID|NAME\n"
"\n"
"Prints the sandbox as one JSON object: the fields of ls --json, and\n"
"status, hostname, created (seconds since the epoch), bridge, gateway,\n"
"cgroup, limits, usage.\n"
"\n"
"  --oci  print the pod's namespaces as an OCI bundle's linux.namespaces\n"
"         array, for a runtime (runc, crun) to join; refused unless the\n"
"         sandbox is running\n";

const char cmd_rm_usage[] =
"usage: pelagos sandbox rm [-f|--force] ID|NAME...\n"
"\n"
"Stops each sandbox's pause and removes its namespace, veth, address and\n"
"state; works on dead and half-created sandboxes too.  Refuses while\n"
"other processes are in the sandbox.\n"
"\n"
"  -f, --force  kill the sandbox's other processes first; a sandbox that\n"
"               is already gone is no error\n";

const char cmd_prune_usage[] =
"usage: pelagos sandbox prune\n"
"\n"
"Removes every dead sandbox of this root, and every half-created one whose\n"
"create is gone, and prints their IDs.\n";

/* ID|NAME arguments that cannot name a sandbox are usage errors, even
 * for rm --force, which only forgives a sandbox that is already gone. */
static int
check_ref(const struct cmd *c, const char *arg)
{
	if (valid_id(arg) || valid_name(arg))
		return 0;
	return pelagos_usage(c, "'%s' is neither a sandbox ID nor a name", arg);
}

/* The default network: the bridge and subnet of PELAGOS_BRIDGE and
 * PELAGOS_SUBNET, else the compiled-in ones. */
static int
config_net(const struct cmd *c, struct sandbox *sb, struct subnet *sn)
{
	const char *br = getenv("PELAGOS_BRIDGE"), *net = getenv("PELAGOS_SUBNET");

	if (!br || !*br)
		br = DEF_BRIDGE;
	if (!net || !*net)
		net = DEF_SUBNET;
	if (!valid_ifname(br)) {
		pelagos_warn(c, "bridge name '%s' is not a valid interface name",
		    br);
		return -1;
	}
	if (ipam_parse_subnet(net, sn) < 0) {
		if (errno == EADDRNOTAVAIL)
			pelagos_warn(c, "subnet '%s' lies in %s", net,
			    ipam_reserved(sn));
		else
			pelagos_warn(c, "subnet '%s' is not an IPv4 network "
			    "a.b.c.d/16..30 with the host bits clear", net);
		return -1;
	}
	strcpy(sb->bridge, br);
	sb->gateway = sn->net + 1;
	sb->prefix = sn->prefix;
	return 0;
}

int
cmd_create(const struct cmd *c, int argc, char **argv)
{
	static const struct opt opts[] = {
		{ "--name", 0, 1 }, { "--hostname", 0, 1 },
		{ "--host-net", 0, 0 }, { "--host-ipc", 0, 0 },
		{ "--pod-pid", 0, 0 }, LIMIT_OPTS, { NULL, 0, 0 } };
	const char *name = NULL, *hostname = NULL, *v;
	struct pelagos_err e;
	struct opt_state st;
	struct sandbox sb;
	struct subnet sn = { 0, 0 };
	sigset_t sigs;
	int rootfd = -1, sigfd = -1, ret = 1, k;

	memset(&sb, 0, sizeof(sb));
	sb.pid = NS_CONTAINER;
	opt_init(&st, c, argc, argv, 0);
	while ((k = opt_next(&st, opts, &v)) != OPT_END) {
		switch (k) {
		case OPT_BAD:
			return 2;
		case OPT_HELP:
			return pelagos_help(c);
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
		default:
			if (cgroup_limit(k - LIMIT_AT, v, &sb.lim) < 0)
				return pelagos_bad_value(c, opts[k].name, v);
		}
	}
	if (name && !valid_name(name)) {
		pelagos_warn(c, "invalid name '%s': use 1-63 of [A-Za-z0-9_.-], "
		    "starting with a letter or digit", name);
		return 1;
	}
	if (hostname && !valid_hostname(hostname)) {
		pelagos_warn(c, "invalid hostname '%s': use 1-64 of "
		    "[A-Za-z0-9_.-], starting with a letter or digit", hostname);
		return 1;
	}
	if (name)
		strcpy(sb.name, name);
	if (hostname)
		strcpy(sb.hostname, hostname);
	sb.created = (long long)time(NULL);
	if (sb.net != NS_NODE && config_net(c, &sb, &sn) < 0)
		return 1;

	/* SIGINT, SIGTERM and SIGHUP are held and checked between steps, so
	 * an interrupted create rolls back instead of dying half-way. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	/* A reader that went away makes the ID's write fail with EPIPE,
	 * which undoes the create, instead of killing it half-reported. */
	signal(SIGPIPE, SIG_IGN);
	if (pelagos_open_root(c, 1, &rootfd) < 0)
		goto out;
	if ((sigfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		pelagos_warn(c, "signalfd:");
		goto out;
	}
	if (sandbox_create(rootfd, pelagos_root, &sb, &sn, sigfd, &e) < 0) {
		pelagos_fail(c, &e);
		goto out;
	}
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

static const char *
mode_json(enum ns_mode m)
{
	return m == NS_POD ? "Pod" : m == NS_NODE ? "Node" : "Container";
}

/* The fields of ls --json, which inspect extends. */
static void
json_fields(const struct sandbox *sb)
{
	char ip[16] = "";

	if (sb->ip)
		ipam_format_ip(sb->ip, ip);
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
	json_put(sb->veth_host);
	util_out(",\"container_ip\":");
	json_put(ip);
	util_out(",\"namespaces\":{\"network\":\"%s\",\"pid\":\"%s\","
	    "\"ipc\":\"%s\"}", mode_json(sb->net), mode_json(sb->pid),
	    mode_json(sb->ipc));
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

int
cmd_ls(const struct cmd *c, int argc, char **argv)
{
	static const struct opt opts[] = {
		{ "--json", 0, 0 }, { "--quiet", 'q', 0 }, { NULL, 0, 0 } };
	struct root_ids ids = { NULL, 0, 0 };
	struct opt_state st;
	struct sandbox sb;
	const char *v;
	size_t i;
	int json = 0, quiet = 0, rootfd = -1, shown = 0, ret = 1, k;

	opt_init(&st, c, argc, argv, 0);
	while ((k = opt_next(&st, opts, &v)) != OPT_END) {
		if (k == OPT_BAD)
			return 2;
		if (k == OPT_HELP)
			return pelagos_help(c);
		if (k == OPT_ARG)
			return pelagos_usage(c, "unexpected argument '%s'", v);
		*(k == 0 ? &json : &quiet) = 1;
	}
	if (json && quiet)
		return pelagos_usage(c, "%s", "-q and --json exclude each other");
	if (pelagos_open_root(c, 0, &rootfd) < 0)
		return 1;
	if (rootfd >= 0 && root_list(rootfd, &ids) < 0) {
		pelagos_warn(c, "list %s/sandboxes:", pelagos_root);
		goto out;
	}
	for (i = 0; i < ids.n; i++) {
		const char *status;
		char ip[16] = "-";

		if (sandbox_load(rootfd, ids.id[i], &sb) < 0) {
			/* No state yet: a create under way holds its
			 * directory's lock; without it, the create died. */
			status = errno != ENOENT ? "broken" :
			    stateless_status(rootfd, ids.id[i]);
			if (quiet)
				util_out("%s\n", ids.id[i]);
			else if (!json)
				table_row(&shown, ids.id[i], "-", status, "-",
				    "-");
			continue;
		}
		if (quiet) {
			util_out("%s\n", sb.id);
			continue;
		}
		status = sandbox_status(&sb);
		if (json) {
			if (!strcmp(status, "running")) {
				util_out("%s", shown++ ? ",\n{" : "[{");
				json_fields(&sb);
				util_out("%c", '}');
			}
			continue;
		}
		if (sb.ip)
			ipam_format_ip(sb.ip, ip);
		table_row(&shown, sb.id, sb.name[0] ? sb.name : "-", status,
		    ip, sb.ns_name[0] ? sb.ns_name : "-");
	}
	if (json)
		util_out("%s", shown ? "]\n" : "[]\n");
	ret = util_flush() == 0 ? 0 : 1;
out:
	root_ids_free(&ids);
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

	if (pelagos_resolve(c, rootfd, arg, id) < 0) {
		pelagos_warn(c, "no such sandbox '%s'", arg);
		return -1;
	}
	if (sandbox_load(rootfd, id, sb) < 0) {
		pelagos_warn(c, "state of sandbox %s:", id);
		return -1;
	}
	return 0;
}

/* The single ID|NAME operand of a command whose options are flags; *set
 * gets a bit per flag given. */
static int
one_ref(const struct cmd *c, int argc, char **argv, const struct opt *opts,
	int *set, const char **ref)
{
	struct opt_state st;
	const char *v;
	int k;

	*ref = NULL;
	opt_init(&st, c, argc, argv, 0);
	while ((k = opt_next(&st, opts, &v)) != OPT_END) {
		if (k == OPT_BAD)
			return 2;
		if (k == OPT_HELP)
			return -1;
		if (k >= 0) {
			*set |= 1 << k;
			continue;
		}
		if (*ref)
			return pelagos_usage(c, "unexpected argument '%s'", v);
		*ref = v;
	}
	if (!*ref)
		return pelagos_usage(c, "%s", "missing ID or NAME");
	return check_ref(c, *ref);
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

	util_out(",\"cgroup\":");
	json_put(sb->cgroup);
	util_out(",\"limits\":{\"memory\":%llu,\"memory_swap\":%llu,"
	    "\"cpu_quota\":%llu,\"pids_max\":%llu,\"cpu_weight\":%llu},"
	    "\"usage\":%s", l[0], l[1], l[2], l[3], l[4],
	    sb->cgroup[0] ? "{" : "null");
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
	struct sandbox sb;
	const char *ref;
	char gw[16] = "";
	int rootfd = -1, ret = 1, oci = 0, r;

	if ((r = one_ref(c, argc, argv, opts, &oci, &ref)) != 0)
		return r < 0 ? pelagos_help(c) : r;
	if (pelagos_open_root(c, 0, &rootfd) < 0)
		return 1;
	if (load_arg(c, rootfd, ref, &sb) < 0)
		goto out;
	if (oci) {
		ret = print_oci(c, &sb);
		goto out;
	}
	if (sb.gateway)
		ipam_format_ip(sb.gateway, gw);
	util_out("%c", '{');
	json_fields(&sb);
	util_out(",\"status\":\"%s\",\"hostname\":", sandbox_status(&sb));
	json_put(sb.hostname);
	util_out(",\"created\":%lld,\"bridge\":", sb.created);
	json_put(sb.bridge);
	util_out(",\"gateway\":");
	json_put(gw);
	json_cgroup(&sb);
	util_out("%s\n", "}");
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
	struct opt_state st;
	char id[ID_LEN + 1];
	const char *v;
	int rootfd = -1, ret = 0, force = 0, nargs = 0, k;

	opt_init(&st, c, argc, argv, 0);
	while ((k = opt_next(&st, opts, &v)) != OPT_END) {
		if (k == OPT_BAD)
			return 2;
		if (k == OPT_HELP)
			return pelagos_help(c);
		if (k == 0)
			force = 1;
		else if (check_ref(c, v))
			return 2;
		else
			nargs++;
	}
	if (!nargs)
		return pelagos_usage(c, "%s", "missing ID or NAME");
	if (pelagos_open_root(c, 0, &rootfd) < 0)
		return 1;
	opt_init(&st, c, argc, argv, 0);
	while ((k = opt_next(&st, opts, &v)) != OPT_END) {
		if (k != OPT_ARG)
			continue;
		if (pelagos_resolve(c, rootfd, v, id) < 0) {
			/* Already gone is what --force asked for. */
			if (!force) {
				pelagos_warn(c, "no such sandbox '%s'", v);
				ret = 1;
			}
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
	struct opt_state st;
	const char *v;
	size_t i;
	int rootfd = -1, lock = -1, ret = 1, k, r;

	opt_init(&st, c, argc, argv, 0);
	while ((k = opt_next(&st, NULL, &v)) != OPT_END) {
		if (k == OPT_BAD)
			return 2;
		if (k == OPT_HELP)
			return pelagos_help(c);
		return pelagos_usage(c, "unexpected argument '%s'", v);
	}
	if (pelagos_open_root(c, 0, &rootfd) < 0)
		return 1;
	if (rootfd < 0)
		return 0;
	if ((lock = root_lock(rootfd, LOCK_EX)) < 0) {
		pelagos_warn(c, "lock %s:", pelagos_root);
		goto out;
	}
	if (root_list(rootfd, &ids) < 0) {
		pelagos_warn(c, "list %s/sandboxes:", pelagos_root);
		goto out;
	}
	ret = 0;
	for (i = 0; i < ids.n; i++) {
		if ((r = sandbox_remove(rootfd, ids.id[i], TD_LOCKED | TD_PRUNE,
		    &e)) < 0 && errno != ENOENT)
			ret = pelagos_fail(c, &e);
		else if (r == 1)
			util_out("%s\n", ids.id[i]);
	}
	root_ids_free(&ids);
	if (root_list(rootfd, &ids) < 0) {
		pelagos_warn(c, "list %s/sandboxes:", pelagos_root);
		ret = 1;
	} else if (sandbox_reconcile(rootfd, &ids, &e) < 0) {
		ret = pelagos_fail(c, &e);
	}
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
