/* pelagos: the command line, sandbox create/ls/rm, and what they print. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

#define STOP_TIMEOUT_MS	2000

static const char *root_dir;

/* One line on stderr, whatever bytes the user's words carry. */
static void
put_line(const char *msg)
{
	char buf[512];
	size_t i;

	snprintf(buf, sizeof(buf), "%s", msg);
	for (i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] < ' ' || buf[i] == 0x7f)
			buf[i] = '?';
	fprintf(stderr, "pelagos: %s\n", buf);
}

/* A format ending in ':' gets strerror(errno) appended. */
static void
warnf(const char *fmt, ...)
{
	char msg[480];
	int e = errno;
	size_t n = strlen(fmt);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n && fmt[n - 1] == ':') {
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, " %s", strerror(e));
	}
	put_line(msg);
}

static int
usage_error(const char *cmd, const char *fmt, const char *arg)
{
	char what[300], msg[480];

	snprintf(what, sizeof(what), fmt, arg);
	snprintf(msg, sizeof(msg), "%s: %s (see 'pelagos %s --help')", cmd,
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
"  sandbox ls [--json]\n"
"  sandbox rm ID|NAME...\n"
"\n"
"options:\n"
"  --root DIR     state directory (default $PELAGOS_ROOT, else " DEF_ROOT ")\n"
"  -h, --help     show this help; 'pelagos sandbox CMD --help' for a command\n"
"  --version      show the version\n"
"\n"
"environment:\n"
"  PELAGOS_ROOT    state directory\n"
"  PELAGOS_BRIDGE  bridge for new sandboxes (default " DEF_BRIDGE ")\n"
"  PELAGOS_SUBNET  IPv4 subnet of the bridge (default " DEF_SUBNET ")\n";

static const char sandbox_usage[] =
"usage: pelagos sandbox create|ls|rm [args...]\n"
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
"usage: pelagos sandbox ls [--json]\n"
"\n"
"Lists sandboxes as a table, or the running ones as a JSON array.\n";

static const char rm_usage[] =
"usage: pelagos sandbox rm ID|NAME...\n"
"\n"
"Stops each sandbox's pause and removes its namespace, veth, address and\n"
"state.\n";

/* Matches --opt VALUE and --opt=VALUE; *val is NULL when the value is
 * missing. */
static int
opt_value(int argc, char **argv, int *i, const char *opt, const char **val)
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

static int
is_help(const char *a)
{
	return !strcmp(a, "-h") || !strcmp(a, "--help");
}

int
proc_start_time(pid_t pid, unsigned long long *start, char *state)
{
	char path[32], buf[512], *p;
	int fd, i;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: fields are
	 * counted from the last ')'. */
	if (!(p = strrchr(buf, ')')) || p[1] != ' ')
		goto bad;
	p += 2;
	if (state)
		*state = *p;
	for (i = 3; i < 22; i++)
		if (!(p = strchr(p, ' ')))
			goto bad;
		else
			p++;
	*start = strtoull(p, NULL, 10);
	return 0;
bad:
	errno = EPROTO;
	return -1;
}

/* True only for the very process recorded: same start time, not a
 * zombie, and still in the namespace the state names. */
static int
pause_alive(const struct sandbox *sb)
{
	unsigned long long start;
	char st, path[40];
	struct stat s;

	if (sb->pause_pid <= 0 ||
	    proc_start_time(sb->pause_pid, &start, &st) < 0 ||
	    start != sb->pause_start || st == 'Z' || st == 'X')
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)sb->pause_pid);
	return stat(path, &s) == 0 && s.st_ino == sb->netns_ino;
}

static int
creator_alive(const struct sandbox *sb)
{
	unsigned long long start;
	char st;

	return sb->creator_pid > 0 &&
	    proc_start_time(sb->creator_pid, &start, &st) == 0 &&
	    start == sb->creator_start && st != 'Z' && st != 'X';
}

static const char *
status_of(const struct sandbox *sb)
{
	if (sb->phase == PHASE_CREATING)
		return creator_alive(sb) ? "creating" : "dead";
	return pause_alive(sb) ? "running" : "dead";
}

static int
pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int
wait_gone(int pidfd, pid_t pid, int ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	int n;

	if (pidfd >= 0) {
		while ((n = poll(&p, 1, ms)) < 0 && errno == EINTR)
			;
		return n > 0 ? 0 : -1;
	}
	/* Kernels before 5.3 have no pidfd: poll /proc with a bound. */
	for (; ms > 0; ms -= 5) {
		struct timespec ts = { 0, 5000000 };
		unsigned long long s;
		char st;

		if (proc_start_time(pid, &s, &st) < 0 || st == 'Z')
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

static int
send_sig(int pidfd, pid_t pid, int sig)
{
	if (pidfd >= 0)
		return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
	return kill(pid, sig);
}

/* SIGTERM, then SIGKILL after a bounded wait.  The pidfd is opened
 * before the start time is compared, so the process checked is the one
 * signalled even if the PID is recycled in between. */
static int
stop_pause(const struct sandbox *sb)
{
	unsigned long long start;
	int pidfd = -1, ret = 0;
	char st;

	if (sb->pause_pid <= 0)
		return 0;
	pidfd = pidfd_open_(sb->pause_pid);
	if (pidfd < 0 && errno != ENOSYS)
		return errno == ESRCH ? 0 : -1;
	if (proc_start_time(sb->pause_pid, &start, &st) < 0 ||
	    start != sb->pause_start)
		goto out;
	if (send_sig(pidfd, sb->pause_pid, SIGTERM) < 0) {
		ret = errno == ESRCH ? 0 : -1;
		goto out;
	}
	if (wait_gone(pidfd, sb->pause_pid, STOP_TIMEOUT_MS) == 0)
		goto out;
	if (send_sig(pidfd, sb->pause_pid, SIGKILL) < 0 && errno != ESRCH) {
		ret = -1;
		goto out;
	}
	if (wait_gone(pidfd, sb->pause_pid, STOP_TIMEOUT_MS) < 0) {
		errno = ETIMEDOUT;
		ret = -1;
	}
out:
	if (pidfd >= 0)
		close(pidfd);
	/* Reaps the pause when this process started it (a failed create). */
	waitpid(sb->pause_pid, NULL, WNOHANG);
	return ret;
}

static void
netns_path(char *buf, size_t len, const char *ns_name)
{
	snprintf(buf, len, NETNS_DIR "/%s", ns_name);
}

/* Removes whatever of the sandbox exists; every step tolerates an object
 * already gone.  Kernel objects go first and the state directory last, so
 * that an interrupted teardown can always be run again. */
static int
teardown(int rootfd, const struct sandbox *sb)
{
	char path[64];
	struct nl_buf b;
	int fd = -1, ret = 0;

	if (stop_pause(sb) < 0) {
		warnf("stop pause %d of sandbox %s:", (int)sb->pause_pid,
		    sb->id);
		ret = -1;
	}
	if (sb->ns_name[0]) {
		netns_path(path, sizeof(path), sb->ns_name);
		if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL &&
		    errno != ENOENT) {
			warnf("unmount %s:", path);
			ret = -1;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			warnf("remove %s:", path);
			ret = -1;
		}
	}
	if (sb->veth_host[0]) {
		nl_buf_init(&b, 1);
		nl_req_dellink(&b, sb->veth_host);
		if ((fd = nl_open()) < 0 ||
		    (nl_talk(fd, &b) < 0 && errno != ENODEV)) {
			warnf("delete veth %s:", sb->veth_host);
			ret = -1;
		}
		if (fd >= 0)
			close(fd);
	}
	if (sb->ip && state_lease_free(rootfd, sb->ip, sb->id) < 0) {
		warnf("free address of sandbox %s:", sb->id);
		ret = -1;
	}
	if (sb->name[0] && state_name_free(rootfd, sb->name, sb->id) < 0) {
		warnf("free name %s:", sb->name);
		ret = -1;
	}
	if (ret == 0 && state_sandbox_rmdir(rootfd, sb->id) < 0) {
		warnf("remove state of sandbox %s:", sb->id);
		ret = -1;
	}
	return ret;
}

static int
new_id(char id[ID_LEN + 1])
{
	unsigned char r[ID_LEN / 2];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	for (i = 0; i < sizeof(r); i++)
		snprintf(id + 2 * i, 3, "%02x", r[i]);
	return 0;
}

/* /run/netns must be a shared mount so that the bind mounts below it
 * reach mount namespaces made later (ip netns exec makes one).  As ip
 * does: make it shared, and if it is no mount point yet, bind it onto
 * itself first.  The flock keeps parallel creates from stacking binds. */
static int
netns_dir_ready(void)
{
	int fd = -1, ret = -1;

	if (mkdir(NETNS_DIR, 0755) < 0 && errno != EEXIST)
		return -1;
	if (mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) == 0)
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
	fd = -1;
	*made = 1;
	if (unshare(CLONE_NEWNET) < 0)
		goto out;
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

struct create_opts {
	const char *name, *hostname;
	int host_net, host_ipc, pod_pid;
};

static int
interrupted(int sigfd)
{
	struct pollfd p = { .fd = sigfd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

/* The bridge, created on first use and given the gateway address when it
 * lacks it.  A link of that name that is no bridge is never touched. */
static int
bridge_ready(int nl, const char *name, uint32_t gw, int prefix, int *index)
{
	struct nl_link l;
	struct nl_buf b;
	char ip[16];

	if (nl_getlink(nl, name, &l) < 0) {
		if (errno != ENODEV) {
			warnf("bridge %s:", name);
			return -1;
		}
		nl_buf_init(&b, 1);
		nl_req_newbridge(&b, name);
		if (nl_talk(nl, &b) < 0 && errno != EEXIST) {
			warnf("create bridge %s:", name);
			return -1;
		}
		if (nl_getlink(nl, name, &l) < 0) {
			warnf("bridge %s:", name);
			return -1;
		}
	}
	if (!l.is_bridge) {
		warnf("bridge %s: exists and is not a bridge", name);
		return -1;
	}
	*index = l.index;
	nl_buf_init(&b, 1);
	nl_req_newaddr(&b, l.index, gw, prefix);
	if (nl_talk(nl, &b) < 0 && errno != EEXIST) {
		state_format_ip(gw, ip);
		warnf("add address %s/%d to bridge %s:", ip, prefix, name);
		return -1;
	}
	if (!(l.flags & IFF_UP)) {
		nl_buf_init(&b, 1);
		nl_req_linkup(&b, name);
		if (nl_talk(nl, &b) < 0) {
			warnf("set bridge %s up:", name);
			return -1;
		}
	}
	return 0;
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
		warnf("bridge name '%s' is not a valid interface name", br);
		return -1;
	}
	if (state_parse_subnet(net, sn) < 0) {
		warnf("subnet '%s' is not an IPv4 network a.b.c.d/16..30 "
		    "with the host bits clear", net);
		return -1;
	}
	strcpy(sb->bridge, br);
	sb->gateway = sn->net + 1;
	sb->prefix = sn->prefix;
	return 0;
}

/* Under the root's lock: claim an ID, the name and an address, and write
 * the intent, so that whatever a killed create leaves behind can be traced
 * from the root. */
static int
claim(int rootfd, struct sandbox *sb, const struct subnet *sn)
{
	int lock, ret = -1, tries;
	char ip[16];

	if ((lock = state_lock(rootfd)) < 0) {
		warnf("lock %s:", root_dir);
		return -1;
	}
	for (tries = 0;; tries++) {
		if (new_id(sb->id) < 0) {
			warnf("random ID:");
			goto out;
		}
		if (state_sandbox_mkdir(rootfd, sb->id) == 0)
			break;
		if (errno != EEXIST || tries == 8) {
			warnf("create state directory in %s:", root_dir);
			goto out;
		}
	}
	if (sb->net != NS_NODE) {
		snprintf(sb->ns_name, sizeof(sb->ns_name), NS_PREFIX "%.8s",
		    sb->id);
		snprintf(sb->veth_host, sizeof(sb->veth_host),
		    VETH_PREFIX "%.8s", sb->id);
	}
	if (!sb->hostname[0])
		snprintf(sb->hostname, sizeof(sb->hostname), "%s",
		    sb->name[0] ? sb->name : sb->ns_name + strlen(NS_PREFIX));
	if (!sb->hostname[0])
		snprintf(sb->hostname, sizeof(sb->hostname), "%.8s", sb->id);
	if (sb->name[0] && state_name_take(rootfd, sb->name, sb->id) < 0) {
		if (errno == EEXIST)
			warnf("sandbox create: name '%s' is already in use",
			    sb->name);
		else
			warnf("claim name %s:", sb->name);
		sb->name[0] = '\0';
		goto undo;
	}
	if (sb->net != NS_NODE &&
	    state_lease_take(rootfd, sn, sb->id, &sb->ip) < 0) {
		state_format_ip(sn->net, ip);
		if (errno == ENOSPC)
			warnf("sandbox create: no free address in %s/%d",
			    ip, sn->prefix);
		else
			warnf("lease address in %s/%d:", ip, sn->prefix);
		goto undo;
	}
	if (state_save(rootfd, sb) < 0) {
		warnf("write state of sandbox %s:", sb->id);
		goto undo;
	}
	ret = 0;
	goto out;
undo:
	if (sb->name[0])
		state_name_free(rootfd, sb->name, sb->id);
	state_sandbox_rmdir(rootfd, sb->id);
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
		warnf("find " PEER_IFNAME " in %s:", sb->ns_name);
		return -1;
	}
	nl_buf_init(&b, 1);
	nl_req_linkup(&b, "lo");
	nl_req_linkup(&b, PEER_IFNAME);
	nl_req_newaddr(&b, l.index, sb->ip, sb->prefix);
	nl_req_defroute(&b, sb->gateway);
	if (nl_talk(podnl, &b) < 0) {
		warnf("configure " PEER_IFNAME " in %s:", sb->ns_name);
		return -1;
	}
	return 0;
}

static int
do_create(int rootfd, struct sandbox *sb, int sigfd)
{
	int hostnl = -1, podnl = -1, nsfd = -1, made = 0, brindex = 0;
	int ret = -1, flags = 0;
	unsigned long long start;
	char err[300];
	struct nl_buf b;
	struct stat st;

	if (sb->net != NS_NODE) {
		if ((hostnl = nl_open()) < 0) {
			warnf("netlink socket:");
			goto fail;
		}
		if (bridge_ready(hostnl, sb->bridge, sb->gateway, sb->prefix,
		    &brindex) < 0)
			goto fail;
		if (interrupted(sigfd))
			goto intr;
		if (netns_create(sb->ns_name, &nsfd, &podnl, &made) < 0) {
			warnf("create network namespace %s:", sb->ns_name);
			goto fail;
		}
		if (interrupted(sigfd))
			goto intr;
		nl_buf_init(&b, 1);
		nl_req_newveth(&b, sb->veth_host, brindex, PEER_IFNAME, nsfd);
		if (nl_talk(hostnl, &b) < 0) {
			if (errno == EEXIST)
				sb->veth_host[0] = '\0';
			warnf("create veth %s:", sb->veth_host[0] ?
			    sb->veth_host : VETH_PREFIX "...");
			goto fail;
		}
		if (pod_net(podnl, sb) < 0)
			goto fail;
		if (interrupted(sigfd))
			goto intr;
	}
	flags |= sb->net == NS_NODE ? PAUSE_HOST_NET : 0;
	flags |= sb->ipc == NS_NODE ? PAUSE_HOST_IPC : 0;
	flags |= sb->pid == NS_POD ? PAUSE_POD_PID : 0;
	if (pause_spawn(sb->ns_name, flags, sb->hostname, sigfd, &sb->pause_pid,
	    err, sizeof(err)) < 0) {
		if (errno == EINTR)
			goto intr;
		warnf("sandbox create: %s", err);
		goto fail;
	}
	if (proc_start_time(sb->pause_pid, &start, NULL) < 0) {
		warnf("pause %d:", (int)sb->pause_pid);
		goto fail;
	}
	sb->pause_start = start;
	{
		char p[40];

		snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)sb->pause_pid);
		if (stat(p, &st) < 0) {
			warnf("pause %d:", (int)sb->pause_pid);
			goto fail;
		}
		sb->netns_ino = st.st_ino;
	}
	if (interrupted(sigfd))
		goto intr;
	sb->phase = PHASE_READY;
	if (state_save(rootfd, sb) < 0) {
		warnf("write state of sandbox %s:", sb->id);
		goto fail;
	}
	ret = 0;
	goto out;
intr:
	warnf("sandbox create: interrupted, rolled back");
fail:
	if (!made)
		sb->ns_name[0] = '\0';
	teardown(rootfd, sb);
out:
	if (hostnl >= 0)
		close(hostnl);
	if (podnl >= 0)
		close(podnl);
	if (nsfd >= 0)
		close(nsfd);
	return ret;
}

static int
need_root(const char *cmd)
{
	if (geteuid() == 0)
		return 0;
	warnf("%s: must be run as root", cmd);
	return -1;
}

static int
cmd_create(int argc, char **argv)
{
	static const char cmd[] = "sandbox create";
	struct create_opts o = { 0 };
	struct sandbox sb;
	struct subnet sn = { 0, 0 };
	sigset_t sigs;
	int i, rootfd = -1, sigfd = -1, ret = 1;

	for (i = 0; i < argc; i++) {
		const char *v;

		if (is_help(argv[i])) {
			fputs(create_usage, stdout);
			return 0;
		} else if (opt_value(argc, argv, &i, "--name", &v)) {
			if (!v)
				return usage_error(cmd,
				    "option '%s' needs a value", "--name");
			o.name = v;
		} else if (opt_value(argc, argv, &i, "--hostname", &v)) {
			if (!v)
				return usage_error(cmd,
				    "option '%s' needs a value", "--hostname");
			o.hostname = v;
		} else if (!strcmp(argv[i], "--host-net")) {
			o.host_net = 1;
		} else if (!strcmp(argv[i], "--host-ipc")) {
			o.host_ipc = 1;
		} else if (!strcmp(argv[i], "--pod-pid")) {
			o.pod_pid = 1;
		} else if (argv[i][0] == '-') {
			return usage_error(cmd, "unknown option '%s'", argv[i]);
		} else {
			return usage_error(cmd, "unexpected argument '%s'",
			    argv[i]);
		}
	}
	if (o.name && !state_valid_name(o.name)) {
		warnf("%s: invalid name '%s': use 1-63 of [A-Za-z0-9_.-], "
		    "starting with a letter or digit", cmd, o.name);
		return 1;
	}
	if (o.hostname && !state_valid_hostname(o.hostname)) {
		warnf("%s: invalid hostname '%s': use 1-64 of [A-Za-z0-9_.-], "
		    "starting with a letter or digit", cmd, o.hostname);
		return 1;
	}
	if (need_root(cmd) < 0)
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
	if (proc_start_time(sb.creator_pid, &sb.creator_start, NULL) < 0) {
		warnf("read /proc/self/stat:");
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
		warnf("signalfd:");
		goto out;
	}
	if ((rootfd = state_root_open(root_dir, 1)) < 0) {
		warnf("root %s:", root_dir);
		goto out;
	}
	if (claim(rootfd, &sb, &sn) < 0)
		goto out;
	if (interrupted(sigfd)) {
		warnf("sandbox create: interrupted, rolled back");
		teardown(rootfd, &sb);
		goto out;
	}
	if (do_create(rootfd, &sb, sigfd) < 0)
		goto out;
	printf("%s\n", sb.id);
	ret = fflush(stdout) == 0 ? 0 : 1;
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
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static const char *
mode_json(enum ns_mode m)
{
	return m == NS_POD ? "Pod" : m == NS_NODE ? "Node" : "Container";
}

static void
print_json(const struct sandbox *sb, int first)
{
	char ip[16] = "";

	if (sb->ip)
		state_format_ip(sb->ip, ip);
	printf("%s{\"id\":", first ? "[" : ",\n");
	json_str(sb->id);
	printf(",\"name\":");
	if (sb->name[0])
		json_str(sb->name);
	else
		printf("null");
	printf(",\"pause_pid\":%d,\"ns_name\":", (int)sb->pause_pid);
	json_str(sb->ns_name);
	printf(",\"veth_host\":");
	json_str(sb->veth_host);
	printf(",\"container_ip\":");
	json_str(ip);
	printf(",\"namespaces\":{\"network\":\"%s\",\"pid\":\"%s\","
	    "\"ipc\":\"%s\"}}", mode_json(sb->net), mode_json(sb->pid),
	    mode_json(sb->ipc));
}

static int
cmd_ls(int argc, char **argv)
{
	static const char cmd[] = "sandbox ls";
	char (*ids)[ID_LEN + 1] = NULL;
	struct sandbox sb;
	size_t n = 0, i;
	int json = 0, rootfd, shown = 0, ret = 1;

	for (i = 0; i < (size_t)argc; i++) {
		if (is_help(argv[i])) {
			fputs(ls_usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (argv[i][0] == '-') {
			return usage_error(cmd, "unknown option '%s'", argv[i]);
		} else {
			return usage_error(cmd, "unexpected argument '%s'",
			    argv[i]);
		}
	}
	if ((rootfd = state_root_open(root_dir, 0)) < 0) {
		if (errno != ENOENT) {
			warnf("root %s:", root_dir);
			return 1;
		}
	} else if (state_list(rootfd, &ids, &n) < 0) {
		warnf("list %s/sandboxes:", root_dir);
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *status;
		char ip[16] = "-";

		if (state_load(rootfd, ids[i], &sb) < 0) {
			if (errno == ENOENT)
				continue;
			if (!json) {
				if (!shown++)
					printf("%-18s %-20s %-8s %-16s %s\n",
					    "ID", "NAME", "STATUS", "IP",
					    "NS_NAME");
				printf("%-18s %-20s %-8s %-16s %s\n", ids[i],
				    "-", "broken", "-", "-");
			}
			continue;
		}
		status = status_of(&sb);
		if (json) {
			if (!strcmp(status, "running"))
				print_json(&sb, !shown++);
			continue;
		}
		if (sb.ip)
			state_format_ip(sb.ip, ip);
		if (!shown++)
			printf("%-18s %-20s %-8s %-16s %s\n", "ID", "NAME",
			    "STATUS", "IP", "NS_NAME");
		printf("%-18s %-20s %-8s %-16s %s\n", sb.id,
		    sb.name[0] ? sb.name : "-", status, ip,
		    sb.ns_name[0] ? sb.ns_name : "-");
	}
	if (json)
		fputs(shown ? "]\n" : "[]\n", stdout);
	ret = fflush(stdout) == 0 ? 0 : 1;
out:
	free(ids);
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
		snprintf(p, sizeof(p), "sandboxes/%s", arg);
		if (fstatat(rootfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			strcpy(id, arg);
			return 0;
		}
	}
	if (state_valid_name(arg) && state_name_lookup(rootfd, arg, id) == 0)
		return 0;
	errno = ENOENT;
	return -1;
}

static int
cmd_rm(int argc, char **argv)
{
	static const char cmd[] = "sandbox rm";
	char id[ID_LEN + 1];
	struct sandbox sb;
	int i, rootfd = -1, ret = 0, nargs = 0;

	for (i = 0; i < argc; i++) {
		if (is_help(argv[i])) {
			fputs(rm_usage, stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--"))
			break;
		if (argv[i][0] == '-')
			return usage_error(cmd, "unknown option '%s'", argv[i]);
		nargs++;
	}
	if (i < argc)
		nargs = argc - i - 1;
	if (!nargs)
		return usage_error(cmd, "%s", "missing ID or NAME");
	if (need_root(cmd) < 0)
		return 1;
	if ((rootfd = state_root_open(root_dir, 0)) < 0 && errno != ENOENT) {
		warnf("root %s:", root_dir);
		return 1;
	}
	for (i = i < argc ? i + 1 : 0; i < argc; i++) {
		if (rootfd < 0 || resolve(rootfd, argv[i], id) < 0) {
			warnf("%s: no such sandbox '%s'", cmd, argv[i]);
			ret = 1;
			continue;
		}
		if (state_load(rootfd, id, &sb) < 0) {
			warnf("%s: state of sandbox %s:", cmd, id);
			ret = 1;
			continue;
		}
		if (teardown(rootfd, &sb) < 0)
			ret = 1;
	}
	if (rootfd >= 0)
		close(rootfd);
	return ret;
}

static int
cmd_sandbox(int argc, char **argv)
{
	if (argc < 1)
		return usage_error("sandbox", "%s", "missing command");
	if (is_help(argv[0])) {
		fputs(sandbox_usage, stdout);
		return 0;
	}
	if (!strcmp(argv[0], "create"))
		return cmd_create(argc - 1, argv + 1);
	if (!strcmp(argv[0], "ls"))
		return cmd_ls(argc - 1, argv + 1);
	if (!strcmp(argv[0], "rm"))
		return cmd_rm(argc - 1, argv + 1);
	if (!strcmp(argv[0], "__pause__"))
		return pause_main(argc - 1, argv + 1);
	return usage_error("sandbox", "unknown command '%s'", argv[0]);
}

int
main(int argc, char **argv)
{
	int i;

	umask(077);
	root_dir = getenv("PELAGOS_ROOT");
	if (!root_dir || !*root_dir)
		root_dir = DEF_ROOT;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *v;

		if (is_help(argv[i])) {
			fputs(main_usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			puts("pelagos " PELAGOS_VERSION);
			return 0;
		} else if (opt_value(argc, argv, &i, "--root", &v)) {
			if (!v || !*v)
				return usage_error("--root",
				    "%s", "needs a directory");
			root_dir = v;
		} else {
			warnf("unknown option '%s' (see 'pelagos --help')",
			    argv[i]);
			return 2;
		}
	}
	if (i == argc) {
		warnf("missing command (see 'pelagos --help')");
		return 2;
	}
	if (!strcmp(argv[i], "sandbox"))
		return cmd_sandbox(argc - i - 1, argv + i + 1);
	warnf("unknown command '%s' (see 'pelagos --help')", argv[i]);
	return 2;
}
