/* pelagos: the command line, sandbox create/ls/inspect/rm/prune and run,
 * and what they print. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>	/* getenv */
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "pelagos.h"

const char *pelagos_root;

/* One line on stderr, whatever bytes the user's words carry. */
static void
put_line(const char *msg)
{
	char buf[512];
	size_t i, n;

	n = util_fmt(buf, sizeof(buf) - 1, "pelagos: %s", msg);
	for (i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] < ' ' || buf[i] == 0x7f)
			buf[i] = '?';
	n = n < sizeof(buf) - 2 ? n : sizeof(buf) - 2;
	buf[n] = '\n';
	buf[n + 1] = '\0';
	util_err(buf);
}

/* A format ending in ':' gets strerror(errno) appended. */
void
pelagos_warn(const char *fmt, ...)
{
	char msg[480];
	int e = errno;
	size_t n = strlen(fmt);
	va_list ap;

	va_start(ap, fmt);
	util_vfmt(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n && fmt[n - 1] == ':') {
		n = strlen(msg);
		util_fmt(msg + n, sizeof(msg) - n, " %s", strerror(e));
	}
	put_line(msg);
}

int
pelagos_help(const char *text)
{
	util_out("%s", text);
	return util_flush() < 0;
}

int
pelagos_usage(const char *cmd, const char *fmt, const char *arg)
{
	char what[300], msg[480];

	util_fmt(what, sizeof(what), fmt, arg);
	util_fmt(msg, sizeof(msg), "%s: %s (see 'pelagos %s --help')", cmd,
	    what, cmd);
	put_line(msg);
	return 2;
}

static const char main_usage[] =
"usage: pelagos [--root DIR] <command> [args...]\n"
"\n"
"Pod sandboxes: a network namespace on a bridge, held open by a pause\n"
"process that also owns the pod's UTS and IPC namespaces.\n"
"\n"
"commands:\n"
"  sandbox create [--name NAME] [--hostname NAME]\n"
"                 [--host-net] [--host-ipc] [--pod-pid]\n"
"  sandbox ls [-q|--json]\n"
"  sandbox inspect ID|NAME\n"
"  sandbox rm [-f|--force] ID|NAME...\n"
"  sandbox prune\n"
"  run --sandbox ID|NAME [--rootfs DIR] [--workdir DIR] [--env K=V]...\n"
"      [-d|--detach] [--] CMD [ARG...]\n"
"\n"
"options:\n"
"  --root DIR     state directory (default $PELAGOS_ROOT, else " DEF_ROOT ")\n"
"  -h, --help     show this help; 'pelagos sandbox CMD --help' and\n"
"                 'pelagos run --help' for a command\n"
"  --version      show the version\n"
"\n"
"environment:\n"
"  PELAGOS_ROOT    state directory\n"
"  PELAGOS_BRIDGE  bridge for new sandboxes (default " DEF_BRIDGE ")\n"
"  PELAGOS_SUBNET  IPv4 subnet of the bridge (default " DEF_SUBNET ")\n";

static const char sandbox_usage[] =
"usage: pelagos sandbox create|ls|inspect|rm|prune [args...]\n"
"'pelagos sandbox CMD --help' describes each command.\n";

static const char create_usage[] =
"usage: pelagos sandbox create [--name NAME] [--hostname NAME]\n"
"                              [--host-net] [--host-ipc] [--pod-pid]\n"
"\n"
"Creates a sandbox and prints its 16-character ID.\n"
"\n"
"  --name NAME      unique name: 1-63 of [A-Za-z0-9_.-], first alphanumeric\n"
"  --hostname NAME  hostname in the pod (default: the name, else the ID's\n"
"                   first 8 characters)\n"
"  --host-net       stay in the host network namespace (no veth, no IP)\n"
"  --host-ipc       share the host IPC namespace\n"
"  --pod-pid        give the pod a PID namespace whose PID 1 is the pause\n";

static const char ls_usage[] =
"usage: pelagos sandbox ls [-q|--json]\n"
"\n"
"Lists sandboxes as a table, or the running ones as a JSON array.\n"
"\n"
"  -q, --quiet  print only the IDs, one per line\n"
"  --json       print the running sandboxes as a JSON array\n";

static const char inspect_usage[] =
"usage: pelagos sandbox inspect ID|NAME\n"
"\n"
"Prints the sandbox as one JSON object: the fields of ls --json, and\n"
"status, hostname, created (seconds since the epoch), bridge, gateway.\n";

static const char rm_usage[] =
"usage: pelagos sandbox rm [-f|--force] ID|NAME...\n"
"\n"
"Stops each sandbox's pause and removes its namespace, veth, address and\n"
"state; works on dead and half-created sandboxes too.  Refuses while\n"
"other processes are in the sandbox.\n"
"\n"
"  -f, --force  kill the sandbox's other processes first; a sandbox that\n"
"               is already gone is no error\n";

static const char prune_usage[] =
"usage: pelagos sandbox prune\n"
"\n"
"Removes every dead sandbox of this root, and every half-created one whose\n"
"create is gone, and prints their IDs.\n";

/* Matches --opt VALUE and --opt=VALUE; *val is NULL when the value is
 * missing. */
int
pelagos_opt(int argc, char **argv, int *i, const char *opt, const char **val)
{
	size_t n = strlen(opt);

	if (strncmp(argv[*i], opt, n))
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n])
		return 0;
	*val = *i + 1 < argc ? argv[++*i] : NULL;
	return 1;
}

int
pelagos_is_help(const char *a)
{
	return !strcmp(a, "-h") || !strcmp(a, "--help");
}

static int
config_net(struct sandbox *sb, struct subnet *sn)
{
	const char *br = getenv("PELAGOS_BRIDGE"), *net = getenv("PELAGOS_SUBNET");

	if (!br || !*br)
		br = DEF_BRIDGE;
	if (!net || !*net)
		net = DEF_SUBNET;
	if (!state_valid_ifname(br)) {
		pelagos_warn("bridge name '%s' is not a valid interface name", br);
		return -1;
	}
	if (state_parse_subnet(net, sn) < 0) {
		pelagos_warn("subnet '%s' is not an IPv4 network a.b.c.d/16..30 "
		    "with the host bits clear", net);
		return -1;
	}
	strcpy(sb->bridge, br);
	sb->gateway = sn->net + 1;
	sb->prefix = sn->prefix;
	return 0;
}

int
pelagos_need_root(const char *cmd)
{
	if (geteuid() == 0)
		return 0;
	pelagos_warn("%s: must be run as root", cmd);
	return -1;
}

static int
cmd_create(int argc, char **argv)
{
	static const char cmd[] = "sandbox create";
	struct {
		const char *name, *hostname;
		int host_net, host_ipc, pod_pid;
	} o = { 0 };
	struct sandbox sb;
	struct subnet sn = { 0, 0 };
	sigset_t sigs;
	int i, rootfd = -1, sigfd = -1, ret = 1;

	for (i = 0; i < argc; i++) {
		const char *v;

		if (pelagos_is_help(argv[i])) {
			util_out("%s", create_usage);
			return 0;
		} else if (pelagos_opt(argc, argv, &i, "--name", &v)) {
			if (!v)
				return pelagos_usage(cmd,
				    "option '%s' needs a value", "--name");
			o.name = v;
		} else if (pelagos_opt(argc, argv, &i, "--hostname", &v)) {
			if (!v)
				return pelagos_usage(cmd,
				    "option '%s' needs a value", "--hostname");
			o.hostname = v;
		} else if (!strcmp(argv[i], "--host-net")) {
			o.host_net = 1;
		} else if (!strcmp(argv[i], "--host-ipc")) {
			o.host_ipc = 1;
		} else if (!strcmp(argv[i], "--pod-pid")) {
			o.pod_pid = 1;
		} else if (argv[i][0] == '-') {
			return pelagos_usage(cmd, "unknown option '%s'", argv[i]);
		} else {
			return pelagos_usage(cmd, "unexpected argument '%s'",
			    argv[i]);
		}
	}
	if (o.name && !state_valid_name(o.name)) {
		pelagos_warn("%s: invalid name '%s': use 1-63 of [A-Za-z0-9_.-], "
		    "starting with a letter or digit", cmd, o.name);
		return 1;
	}
	if (o.hostname && !state_valid_hostname(o.hostname)) {
		pelagos_warn("%s: invalid hostname '%s': use 1-64 of [A-Za-z0-9_.-], "
		    "starting with a letter or digit", cmd, o.hostname);
		return 1;
	}
	if (pelagos_need_root(cmd) < 0)
		return 1;

	memset(&sb, 0, sizeof(sb));
	sb.phase = PHASE_CREATING;
	sb.net = o.host_net ? NS_NODE : NS_POD;
	sb.ipc = o.host_ipc ? NS_NODE : NS_POD;
	sb.pid = o.pod_pid ? NS_POD : NS_CONTAINER;
	if (o.name)
		strcpy(sb.name, o.name);
	if (o.hostname)
		strcpy(sb.hostname, o.hostname);
	sb.creator_pid = getpid();
	if (proc_start(sb.creator_pid, &sb.creator_start, NULL) < 0) {
		pelagos_warn("read /proc/self/stat:");
		return 1;
	}
	sb.created = (long long)time(NULL);
	if (sb.net != NS_NODE && config_net(&sb, &sn) < 0)
		return 1;

	/* SIGINT, SIGTERM and SIGHUP are held and checked between steps, so
	 * an interrupted create rolls back instead of dying half-way. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	if ((sigfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		pelagos_warn("signalfd:");
		goto out;
	}
	if ((rootfd = root_open(pelagos_root, 1)) < 0) {
		pelagos_warn("root %s:", pelagos_root);
		goto out;
	}
	if (sandbox_create(rootfd, pelagos_root, &sb, &sn, sigfd) < 0)
		goto out;
	/* A sandbox whose ID nobody learns could never be removed by it:
	 * if the ID cannot be written, the create is undone. */
	util_out("%s\n", sb.id);
	if (util_flush() < 0) {
		pelagos_warn("%s: write ID %s:", cmd, sb.id);
		sandbox_teardown(rootfd, &sb, TD_FORCE);
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

static void
json_str(const char *s)
{
	util_out("%c", '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			util_out("\\%c", c);
		else if (c < 0x20)
			util_out("\\u%04x", c);
		else
			util_out("%c", c);
	}
	util_out("%c", '"');
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
		state_format_ip(sb->ip, ip);
	util_out("\"id\":");
	json_str(sb->id);
	util_out(",\"name\":");
	if (sb->name[0])
		json_str(sb->name);
	else
		util_out("null");
	util_out(",\"pause_pid\":%d,\"ns_name\":", (int)sb->pause_pid);
	json_str(sb->ns_name);
	util_out(",\"veth_host\":");
	json_str(sb->veth_host);
	util_out(",\"container_ip\":");
	json_str(ip);
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

static int
cmd_ls(int argc, char **argv)
{
	static const char cmd[] = "sandbox ls";
	struct root_ids ids = { NULL, 0, 0 };
	struct sandbox sb;
	size_t i;
	int json = 0, quiet = 0, rootfd, shown = 0, ret = 1;

	for (i = 0; i < (size_t)argc; i++) {
		if (pelagos_is_help(argv[i])) {
			util_out("%s", ls_usage);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "-q") ||
		    !strcmp(argv[i], "--quiet")) {
			quiet = 1;
		} else if (argv[i][0] == '-') {
			return pelagos_usage(cmd, "unknown option '%s'", argv[i]);
		} else {
			return pelagos_usage(cmd, "unexpected argument '%s'",
			    argv[i]);
		}
	}
	if (json && quiet)
		return pelagos_usage(cmd, "%s",
		    "-q and --json exclude each other");
	if ((rootfd = root_open(pelagos_root, 0)) < 0) {
		if (errno != ENOENT) {
			pelagos_warn("root %s:", pelagos_root);
			return 1;
		}
	} else if (root_list(rootfd, &ids) < 0) {
		pelagos_warn("list %s/sandboxes:", pelagos_root);
		goto out;
	}
	for (i = 0; i < ids.n; i++) {
		const char *status;
		char ip[16] = "-";

		if (state_load(rootfd, ids.id[i], &sb) < 0) {
			/* No state yet: a create under way holds its
			 * directory's lock; without it, the create died. */
			status = errno != ENOENT ? "broken" :
			    root_busy(rootfd, ids.id[i]) ?
			    "creating" : "dead";
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
			state_format_ip(sb.ip, ip);
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

/* An ID or a name, each a single safe path component by construction. */
static int
resolve(int rootfd, const char *arg, char id[ID_LEN + 1])
{
	struct stat st;
	char p[64];

	if (state_valid_id(arg)) {
		util_fmt(p, sizeof(p), "sandboxes/%s", arg);
		if (fstatat(rootfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			strcpy(id, arg);
			return 0;
		}
	}
	if (state_valid_name(arg) && root_name_lookup(rootfd, arg, id) == 0)
		return 0;
	errno = ENOENT;
	return -1;
}

/* The sandbox to remove: its state, or what can be derived from its ID
 * when the state is missing or unreadable.  Returns the teardown flags,
 * or -1 with EBUSY for a create still under way. */
static int
load_or_derive(int rootfd, const char *id, struct sandbox *sb)
{
	if (state_load(rootfd, id, sb) == 0)
		return 0;
	if (errno == ENOENT && root_busy(rootfd, id)) {
		errno = EBUSY;
		return -1;
	}
	sandbox_derive(id, sb);
	return TD_DERIVED;
}

/* The sandbox an ID|NAME argument names, with any error reported. */
int
pelagos_load(int rootfd, const char *cmd, const char *arg, struct sandbox *sb)
{
	char id[ID_LEN + 1];

	if (rootfd < 0 || resolve(rootfd, arg, id) < 0) {
		pelagos_warn("%s: no such sandbox '%s'", cmd, arg);
		return -1;
	}
	if (state_load(rootfd, id, sb) < 0) {
		pelagos_warn("%s: state of sandbox %s:", cmd, id);
		return -1;
	}
	return 0;
}

static int
cmd_inspect(int argc, char **argv)
{
	static const char cmd[] = "sandbox inspect";
	struct sandbox sb;
	char gw[16] = "";
	int rootfd, ret = 1;

	if (argc > 0 && pelagos_is_help(argv[0]))
		return pelagos_help(inspect_usage);
	if (argc < 1)
		return pelagos_usage(cmd, "%s", "missing ID or NAME");
	if (argv[0][0] == '-')
		return pelagos_usage(cmd, "unknown option '%s'", argv[0]);
	if (argc > 1)
		return pelagos_usage(cmd, "unexpected argument '%s'", argv[1]);
	if ((rootfd = root_open(pelagos_root, 0)) < 0 && errno != ENOENT) {
		pelagos_warn("root %s:", pelagos_root);
		return 1;
	}
	if (pelagos_load(rootfd, cmd, argv[0], &sb) < 0)
		goto out;
	if (sb.gateway)
		state_format_ip(sb.gateway, gw);
	util_out("%c", '{');
	json_fields(&sb);
	util_out(",\"status\":\"%s\",\"hostname\":", sandbox_status(&sb));
	json_str(sb.hostname);
	util_out(",\"created\":%lld,\"bridge\":", sb.created);
	json_str(sb.bridge);
	util_out(",\"gateway\":");
	json_str(gw);
	util_out("%s\n", "}");
	ret = util_flush() == 0 ? 0 : 1;
out:
	if (rootfd >= 0)
		close(rootfd);
	return ret;
}

static int
cmd_rm(int argc, char **argv)
{
	static const char cmd[] = "sandbox rm";
	char id[ID_LEN + 1];
	struct sandbox sb;
	int i, rootfd = -1, ret = 0, force = 0, end = 0, nargs = 0, flags;

	for (i = 0; i < argc; i++) {
		if (end || argv[i][0] != '-' || !argv[i][1])
			nargs++;
		else if (pelagos_is_help(argv[i]))
			return pelagos_help(rm_usage);
		else if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f"))
			force = 1;
		else if (!strcmp(argv[i], "--"))
			end = 1;
		else
			return pelagos_usage(cmd, "unknown option '%s'", argv[i]);
	}
	if (!nargs)
		return pelagos_usage(cmd, "%s", "missing ID or NAME");
	if (pelagos_need_root(cmd) < 0)
		return 1;
	if ((rootfd = root_open(pelagos_root, 0)) < 0 && errno != ENOENT) {
		pelagos_warn("root %s:", pelagos_root);
		return 1;
	}
	for (i = 0, end = 0; i < argc; i++) {
		if (!end && argv[i][0] == '-' && argv[i][1]) {
			end = !strcmp(argv[i], "--");
			continue;
		}
		if (rootfd < 0 || resolve(rootfd, argv[i], id) < 0) {
			/* Already gone is what --force asked for. */
			if (!force) {
				pelagos_warn("%s: no such sandbox '%s'", cmd,
				    argv[i]);
				ret = 1;
			}
			continue;
		}
		if ((flags = load_or_derive(rootfd, id, &sb)) < 0) {
			pelagos_warn("%s: sandbox %s is still being created",
			    cmd, id);
			ret = 1;
		} else if (sandbox_teardown(rootfd, &sb, flags |
		    (force ? TD_FORCE : 0)) < 0) {
			ret = 1;
		}
	}
	if (rootfd >= 0)
		close(rootfd);
	return ret;
}

/* Under the root's lock, so that no create is between making a sandbox's
 * directory and locking it: an unlocked directory without a state file is
 * then a create that died. */
static int
cmd_prune(int argc, char **argv)
{
	static const char cmd[] = "sandbox prune";
	struct root_ids ids = { NULL, 0, 0 };
	struct sandbox sb;
	size_t i;
	int rootfd, lock = -1, ret = 1, flags;

	if (argc > 0 && pelagos_is_help(argv[0]))
		return pelagos_help(prune_usage);
	if (argc > 0)
		return pelagos_usage(cmd, argv[0][0] == '-' ?
		    "unknown option '%s'" : "unexpected argument '%s'", argv[0]);
	if (pelagos_need_root(cmd) < 0)
		return 1;
	if ((rootfd = root_open(pelagos_root, 0)) < 0) {
		if (errno == ENOENT)
			return 0;
		pelagos_warn("root %s:", pelagos_root);
		return 1;
	}
	if ((lock = root_lock(rootfd)) < 0) {
		pelagos_warn("lock %s:", pelagos_root);
		goto out;
	}
	if (root_list(rootfd, &ids) < 0) {
		pelagos_warn("list %s/sandboxes:", pelagos_root);
		goto out;
	}
	ret = 0;
	for (i = 0; i < ids.n; i++) {
		if (state_load(rootfd, ids.id[i], &sb) == 0) {
			if (strcmp(sandbox_status(&sb), "dead"))
				continue;
			flags = 0;
		} else if (errno == ENOENT) {
			/* No state: a create under way holds the directory's
			 * lock; without it the create died, and whatever it
			 * made, a running pause included, goes. */
			if (root_busy(rootfd, ids.id[i]))
				continue;
			sandbox_derive(ids.id[i], &sb);
			flags = TD_DERIVED;
		} else {
			/* Unreadable state: only a pause can tell it lives. */
			sandbox_derive(ids.id[i], &sb);
			if (sandbox_has_pause(&sb))
				continue;
			flags = TD_DERIVED;
		}
		if (sandbox_teardown(rootfd, &sb, flags) < 0) {
			ret = 1;
			continue;
		}
		util_out("%s\n", ids.id[i]);
	}
	if (root_links_prune(rootfd) < 0) {
		pelagos_warn("prune leases and names in %s:", pelagos_root);
		ret = 1;
	}
	if (util_flush() != 0)
		ret = 1;
out:
	root_ids_free(&ids);
	if (lock >= 0)
		close(lock);
	close(rootfd);
	return ret;
}

static int
cmd_sandbox(int argc, char **argv)
{
	if (argc < 1)
		return pelagos_usage("sandbox", "%s", "missing command");
	if (pelagos_is_help(argv[0])) {
		util_out("%s", sandbox_usage);
		return 0;
	}
	if (!strcmp(argv[0], "create"))
		return cmd_create(argc - 1, argv + 1);
	if (!strcmp(argv[0], "ls"))
		return cmd_ls(argc - 1, argv + 1);
	if (!strcmp(argv[0], "inspect"))
		return cmd_inspect(argc - 1, argv + 1);
	if (!strcmp(argv[0], "rm"))
		return cmd_rm(argc - 1, argv + 1);
	if (!strcmp(argv[0], "prune"))
		return cmd_prune(argc - 1, argv + 1);
	if (!strcmp(argv[0], "__pause__"))
		return pause_main(argc - 1, argv + 1);
	return pelagos_usage("sandbox", "unknown command '%s'", argv[0]);
}

static int
dispatch(int argc, char **argv)
{
	mode_t caller_umask;
	int i;

	caller_umask = umask(077);
	pelagos_root = getenv("PELAGOS_ROOT");
	if (!pelagos_root || !*pelagos_root)
		pelagos_root = DEF_ROOT;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *v;

		if (pelagos_is_help(argv[i])) {
			return pelagos_help(main_usage);
		} else if (!strcmp(argv[i], "--version")) {
			return pelagos_help("pelagos " PELAGOS_VERSION "\n");
		} else if (pelagos_opt(argc, argv, &i, "--root", &v)) {
			if (!v || !*v) {
				pelagos_warn("option '--root' needs a directory "
				    "(see 'pelagos --help')");
				return 2;
			}
			pelagos_root = v;
		} else {
			pelagos_warn("unknown option '%s' (see 'pelagos --help')",
			    argv[i]);
			return 2;
		}
	}
	if (i == argc) {
		pelagos_warn("missing command (see 'pelagos --help')");
		return 2;
	}
	if (!strcmp(argv[i], "sandbox"))
		return cmd_sandbox(argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "run"))
		return run_main(argc - i - 1, argv + i + 1, caller_umask);
	pelagos_warn("unknown command '%s' (see 'pelagos --help')", argv[i]);
	return 2;
}

int
main(int argc, char **argv)
{
	int ret = dispatch(argc, argv);

	/* Output is buffered by util_out: a write error on it is a failure. */
	if (util_flush() < 0 && ret == 0)
		ret = 1;
	return ret;
}
