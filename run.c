/* pelagos run: a workload in a sandbox's namespaces.
 *
 *	pelagos run         checks the pause, joins its namespaces, waits
 *	 `- pelagos init    PID 1 of the workload's own PID namespace
 *	     `- CMD         PID 2, signalled and reaped by the init
 *
 * In a --pod-pid sandbox there is no init of our own: CMD is the direct
 * child, in the pod's PID namespace, whose PID 1 (the pause) reaps the
 * orphans.  CMD's side reports on a socket that it is about to exec, or
 * what failed; the kernel stamps each report with the sender's PID as
 * this process sees it (SCM_CREDENTIALS), which is the PID -d prints. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "pelagos.h"

struct run_opts {
	const char *sandbox;	/* the ID or name as given, for messages */
	const char *rootfs, *workdir;
	char **env;		/* the --env K=V values */
	size_t nenv;
	int detach;
	char **argv;		/* CMD and its arguments */
	mode_t umask;		/* the caller's, for CMD */
};

#define DEFAULT_PATH \
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern char **environ;

/* The namespaces a workload joins, in the order it joins them. */
static const struct {
	const char *name;
	int type;
} ns_table[] = {
	{ "ipc", CLONE_NEWIPC },
	{ "uts", CLONE_NEWUTS },
	{ "net", CLONE_NEWNET },
	{ "pid", CLONE_NEWPID },
};
#define NS_COUNT (sizeof(ns_table) / sizeof(ns_table[0]))

/* A report from CMD's side: err 0 means "about to exec". */
struct run_msg {
	int err;
	int status;		/* what pelagos run exits with when err */
	char what[240];
};

/* UTS is always the pod's; the others may be the host's, or for PID the
 * workload's own. */
static int
shared(const struct sandbox *sb, int type)
{
	switch (type) {
	case CLONE_NEWNET:
		return sb->net == NS_POD;
	case CLONE_NEWIPC:
		return sb->ipc == NS_POD;
	case CLONE_NEWPID:
		return sb->pid == NS_POD;
	default:
		return 1;
	}
}

/* Opens every namespace of the pause before joining any, and joins only
 * once the pause is known to be the recorded process.  The pidfd is taken
 * first: a PID is not reused before its process is reaped, so if the pidfd
 * shows no exit after the checks, every /proc/<pid> opened in between was
 * that process's.  (Without pidfds, before Linux 5.3, the start time
 * checked after the opens has to do.)  The network namespace checked is
 * the very one opened.  ESRCH means not running; else what names the step
 * that failed. */
static int
join_pod(const struct sandbox *sb, char *what, size_t len)
{
	int fds[NS_COUNT], pidfd = -1, netfd = -1, ret = -1, e;
	struct pollfd p;
	struct stat st;
	char path[48];
	size_t i;

	for (i = 0; i < NS_COUNT; i++)
		fds[i] = -1;
	what[0] = '\0';
	if (sb->phase != PHASE_READY || sb->pause_pid <= 0) {
		errno = ESRCH;
		return -1;
	}
	pidfd = (int)syscall(SYS_pidfd_open, sb->pause_pid, 0);
	if (pidfd < 0 && errno != ENOSYS) {
		util_fmt(what, len, "pidfd of pause %d", (int)sb->pause_pid);
		goto out;
	}
	for (i = 0; i < NS_COUNT; i++) {
		util_fmt(path, sizeof(path), "/proc/%d/ns/%s",
		    (int)sb->pause_pid, ns_table[i].name);
		if ((fds[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			if (!sandbox_pause_alive(sb))
				errno = ESRCH;
			util_fmt(what, len, "open %s", path);
			goto out;
		}
		if (ns_table[i].type == CLONE_NEWNET)
			netfd = fds[i];
	}
	p = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	if (!sandbox_pause_alive(sb) || fstat(netfd, &st) < 0 ||
	    st.st_ino != sb->netns_ino ||
	    (pidfd >= 0 && poll(&p, 1, 0) != 0)) {
		errno = ESRCH;
		goto out;
	}
	for (i = 0; i < NS_COUNT; i++)
		if (shared(sb, ns_table[i].type) &&
		    setns(fds[i], ns_table[i].type) < 0) {
			util_fmt(what, len, "join %s namespace",
			    ns_table[i].name);
			goto out;
		}
	ret = 0;
out:
	e = errno;
	for (i = 0; i < NS_COUNT; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (pidfd >= 0)
		close(pidfd);
	errno = e;
	return ret;
}

/* CMD's environment: ours without --rootfs, since CMD then sees our
 * filesystem; with it only PATH and TERM, which mean the same in any
 * tree.  Each --env K=V then replaces K or is added. */
static char **
make_env(const struct run_opts *o, size_t *bytes)
{
	static char path[] = DEFAULT_PATH;
	char **env;
	size_t n = 0, i, j, klen;

	for (i = 0; !o->rootfs && environ[i]; i++)
		n++;
	*bytes = (n + o->nenv + 3) * sizeof(*env);
	if (!(env = util_alloc(*bytes)))
		return NULL;
	memcpy(env, environ, n * sizeof(*env));
	if (o->rootfs) {
		env[n++] = path;
		for (i = 0; environ[i]; i++)
			if (!strncmp(environ[i], "TERM=", 5)) {
				env[n++] = environ[i];
				break;
			}
	}
	for (i = 0; i < o->nenv; i++) {
		klen = strcspn(o->env[i], "=") + 1;
		for (j = 0; j < n && strncmp(env[j], o->env[i], klen); j++)
			;
		env[j] = o->env[i];
		if (j == n)
			n++;
	}
	env[n] = NULL;
	return env;
}

static int
exit_status(int status)
{
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) :
	    WEXITSTATUS(status);
}

/* what is a format with one %s, filled with arg. */
static void
tell(int chan, int err, int status, const char *what, const char *arg)
{
	struct run_msg m;

	memset(&m, 0, sizeof(m));
	m.err = err;
	m.status = status;
	util_fmt(m.what, sizeof(m.what), what, arg);
	(void)!send(chan, &m, sizeof(m), MSG_NOSIGNAL);
}

static int
mount_at(const char *src, const char *dir, const char *type,
	unsigned long flags, const char *data)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	return mount(src, dir, type, flags, data);
}

/* DIR becomes / in a mount namespace of the workload's own, with /proc,
 * /dev and /sys of its own.  It runs after the pod's namespaces are
 * joined because proc shows the PID namespace and sysfs the network
 * namespace of whoever mounts them.  On failure *step (a format taking
 * DIR) names what failed. */
static int
enter_rootfs(const char *dir, const char **step)
{
	static const struct {
		const char *name;
		unsigned int major, minor;
	} nodes[] = {
		{ "dev/null", 1, 3 }, { "dev/zero", 1, 5 },
		{ "dev/full", 1, 7 }, { "dev/random", 1, 8 },
		{ "dev/urandom", 1, 9 }, { "dev/tty", 5, 0 },
	};
	static const char *const links[][2] = {
		{ "/proc/self/fd", "dev/fd" },
		{ "/proc/self/fd/0", "dev/stdin" },
		{ "/proc/self/fd/1", "dev/stdout" },
		{ "/proc/self/fd/2", "dev/stderr" },
	};
	const unsigned long nodev = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	size_t i;

	*step = "unshare mount namespace for %s";
	if (unshare(CLONE_NEWNS) < 0)
		return -1;
	/* Slave, not private: the host's later mounts still reach us, ours
	 * never reach the host, and pivot_root refuses shared mounts. */
	*step = "make / a slave mount for %s";
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return -1;
	*step = "bind %s onto itself";
	if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -1;
	*step = "enter %s";
	if (chdir(dir) < 0)
		return -1;
	*step = "mount proc in %s";
	if (mount_at("proc", "proc", "proc", nodev, NULL) < 0)
		return -1;
	*step = "mount a tmpfs on dev in %s";
	if (mount_at("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
	    "mode=755,size=64k") < 0)
		return -1;
	*step = "make the device nodes in %s/dev";
	for (i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
		if (mknod(nodes[i].name, S_IFCHR | 0666,
		    makedev(nodes[i].major, nodes[i].minor)) < 0)
			return -1;
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			return -1;
	*step = "mount sysfs in %s";
	if (mount_at("sysfs", "sys", "sysfs", nodev | MS_RDONLY, NULL) < 0)
		return -1;
	/* pivot_root(".", ".") stacks the old root on the new one, to be
	 * detached at once.  An initramfs root cannot be pivoted: there the
	 * tree is moved over / and chrooted into, as switch_root does. */
	*step = "pivot_root into %s";
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (umount2(".", MNT_DETACH) < 0)
			return -1;
	} else if (errno != EINVAL || mount(".", "/", NULL, MS_MOVE,
	    NULL) < 0 || chroot(".") < 0) {
		return -1;
	}
	return chdir("/");
}

/* CMD's side, never returning: the root, the directory, then exec. */
static void
workload(const struct run_opts *o, char **envp, int chan,
	const sigset_t *mask)
{
	const char *step;
	int e;

	umask(0);
	if (o->rootfs && enter_rootfs(o->rootfs, &step) < 0) {
		tell(chan, errno, 1, step, o->rootfs);
		_exit(1);
	}
	umask(o->umask);
	if (o->workdir && chdir(o->workdir) < 0) {
		tell(chan, errno, 1, "working directory %s", o->workdir);
		_exit(1);
	}
	tell(chan, 0, 0, "", "");
	sigprocmask(SIG_SETMASK, mask, NULL);
	environ = envp;
	execvp(o->argv[0], o->argv);
	e = errno;
	tell(chan, e, e == ENOENT ? 127 : 126, "execute %s", o->argv[0]);
	_exit(e == ENOENT ? 127 : 126);
}

/* PID 1 of the workload's PID namespace: passes signals on to CMD, reaps
 * what is orphaned to it, and ends with CMD's status, taking the rest of
 * the namespace with it.  A signal the kernel sent (a terminal's ^C to
 * the whole process group) has reached CMD already. */
static int
init_loop(pid_t cmd)
{
	sigset_t all;
	siginfo_t si;
	pid_t r;
	int status;

	sigfillset(&all);
	for (;;) {
		if (sigwaitinfo(&all, &si) < 0)
			continue;
		if (si.si_signo != SIGCHLD) {
			if (si.si_code != SI_KERNEL)
				kill(cmd, si.si_signo);
			continue;
		}
		while ((r = waitpid(-1, &status, WNOHANG)) > 0)
			if (r == cmd)
				return exit_status(status);
	}
}

/* The first child: CMD itself in a --pod-pid sandbox, else the init of a
 * fresh PID namespace that forks CMD. */
static int
child_main(const struct run_opts *o, char **envp, int chan, int own_pid,
	const sigset_t *mask)
{
	sigset_t all;
	pid_t cmd;
	int fd;

	if (o->detach) {
		if (setsid() < 0 ||
		    (fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
		    dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
			tell(chan, errno, 1, "detach %s", o->argv[0]);
			return 1;
		}
		close(fd);
	}
	if (!own_pid)
		workload(o, envp, chan, mask);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	if ((cmd = fork()) < 0) {
		tell(chan, errno, 1, "fork %s", o->argv[0]);
		return 1;
	}
	if (cmd == 0)
		workload(o, envp, chan, mask);
	close(chan);
	/* Nothing of the caller's filesystem stays busy because of us. */
	(void)!chdir("/");
	return init_loop(cmd);
}

/* Reads CMD's side's reports until its end closes, at exec or exit.
 * *pid is CMD's PID, from the credentials on its "about to exec" report;
 * 0 when none came.  A failure report is copied to *fail. */
static int
await_exec(int chan, pid_t *pid, struct run_msg *fail)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} c;
	struct run_msg m;
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr mh;
	struct cmsghdr *h;
	struct ucred u;
	ssize_t n;

	*pid = 0;
	fail->err = 0;
	for (;;) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = c.buf;
		mh.msg_controllen = sizeof(c.buf);
		n = recvmsg(chan, &mh, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;
		if ((size_t)n != sizeof(m))
			continue;
		m.what[sizeof(m.what) - 1] = '\0';
		if (m.err) {
			*fail = m;
			continue;
		}
		for (h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h))
			if (h->cmsg_level == SOL_SOCKET &&
			    h->cmsg_type == SCM_CREDENTIALS) {
				memcpy(&u, CMSG_DATA(h), sizeof(u));
				*pid = u.pid;
			}
	}
}

/* Passes SIGINT, SIGTERM and SIGHUP on until the child ends; a signal
 * the kernel sent to the whole process group has reached it already. */
static int
wait_child(pid_t child, int sigfd)
{
	struct signalfd_siginfo si;
	int status;
	ssize_t n;

	for (;;) {
		n = read(sigfd, &si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si))
			return -1;
		if (si.ssi_signo == SIGCHLD) {
			if (waitpid(child, &status, WNOHANG) == child)
				return exit_status(status);
		} else if (si.ssi_code != SI_KERNEL) {
			kill(child, (int)si.ssi_signo);
		}
	}
}

/* Returns what pelagos run exits with: CMD's status, or 1, 126 or 127
 * when CMD did not start, which is then reported. */
static int
run_workload(const struct sandbox *sb, const struct run_opts *o)
{
	struct run_msg fail;
	sigset_t sigs, old;
	char what[64], **envp = NULL;
	size_t envbytes = 0;
	pid_t child, pid;
	int sigfd = -1, chan[2] = { -1, -1 }, one = 1, ret = 1;

	if (!(envp = make_env(o, &envbytes))) {
		pelagos_warn("run: environment:");
		goto out;
	}
	/* Held from here on: taken from the signalfd and passed on once
	 * CMD runs. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigs, &old);
	if ((sigfd = signalfd(-1, &sigs, SFD_CLOEXEC)) < 0) {
		pelagos_warn("run: signalfd:");
		goto out;
	}
	if (join_pod(sb, what, sizeof(what)) < 0) {
		if (errno == ESRCH)
			pelagos_warn("run: sandbox %s is not running",
			    o->sandbox);
		else
			pelagos_warn("run: %s of sandbox %s:", what,
			    o->sandbox);
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan) < 0 ||
	    setsockopt(chan[0], SOL_SOCKET, SO_PASSCRED, &one,
	    sizeof(one)) < 0) {
		pelagos_warn("run: socket:");
		goto out;
	}
	if (sb->pid != NS_POD && unshare(CLONE_NEWPID) < 0) {
		pelagos_warn("run: unshare pid namespace:");
		goto out;
	}
	if ((child = fork()) < 0) {
		pelagos_warn("run: fork:");
		goto out;
	}
	if (child == 0)
		_exit(child_main(o, envp, chan[1], sb->pid != NS_POD, &old));
	close(chan[1]);
	chan[1] = -1;
	if (await_exec(chan[0], &pid, &fail) < 0) {
		pelagos_warn("run: wait for %s:", o->argv[0]);
		goto out;
	}
	if (fail.err) {
		errno = fail.err;
		pelagos_warn("run: %s:", fail.what);
		ret = fail.status;
		waitpid(child, NULL, 0);
		goto out;
	}
	if (o->detach) {
		if (!pid) {
			pelagos_warn("run: %s ended before it started",
			    o->argv[0]);
			goto out;
		}
		util_out("%d\n", (int)pid);
		ret = util_flush() == 0 ? 0 : 1;
		goto out;
	}
	if ((ret = wait_child(child, sigfd)) < 0) {
		pelagos_warn("run: wait for %s:", o->argv[0]);
		ret = 1;
	}
out:
	if (sigfd >= 0)
		close(sigfd);
	if (chan[0] >= 0)
		close(chan[0]);
	if (chan[1] >= 0)
		close(chan[1]);
	util_release(envp, envbytes);
	return ret;
}

static const char run_usage[] =
"usage: pelagos run --sandbox ID|NAME [--rootfs DIR] [--workdir DIR]\n"
"                   [--env K=V]... [-d|--detach] [--] CMD [ARG...]\n"
"\n"
"Runs CMD in the sandbox's UTS, IPC and network namespaces (the host's\n"
"IPC or network when the sandbox shares them).  In a --pod-pid sandbox\n"
"CMD joins the pod's PID namespace; otherwise it gets one of its own, in\n"
"which a minimal init is PID 1 and CMD is PID 2.\n"
"\n"
"  --sandbox ID|NAME  the sandbox to run in (required)\n"
"  --rootfs DIR       make DIR the root, with a fresh /proc, a /dev of\n"
"                     basic nodes and a read-only /sys (default: the\n"
"                     host's /)\n"
"  --workdir DIR      working directory (default: the current one, or /\n"
"                     with --rootfs)\n"
"  --env K=V          set K for CMD; repeatable.  CMD inherits this\n"
"                     environment, or only PATH and TERM with --rootfs\n"
"  -d, --detach       run CMD in a new session with stdio on /dev/null,\n"
"                     print its PID and return\n"
"\n"
"SIGINT, SIGTERM and SIGHUP are passed on to CMD.  The exit status is\n"
"CMD's, 128+N if it died of signal N, 126 if it could not be executed,\n"
"127 if it was not found, 1 if pelagos failed before starting it.\n";

/* Options end at the first argument that is none: CMD's own options are
 * CMD's. */
int
run_main(int argc, char **argv, mode_t caller_umask)
{
	static const char cmd[] = "run";
	struct run_opts o;
	struct sandbox sb;
	const char *v;
	int i, rootfd = -1, ret = 1;

	memset(&o, 0, sizeof(o));
	o.umask = caller_umask;
	if (!(o.env = util_alloc(((size_t)argc + 1) * sizeof(*o.env)))) {
		pelagos_warn("%s:", cmd);
		return 1;
	}
	for (i = 0; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (pelagos_is_help(argv[i])) {
			ret = pelagos_help(run_usage);
			goto out;
		} else if (pelagos_opt(argc, argv, &i, "--sandbox", &v)) {
			o.sandbox = v;
		} else if (pelagos_opt(argc, argv, &i, "--rootfs", &v)) {
			o.rootfs = v;
		} else if (pelagos_opt(argc, argv, &i, "--workdir", &v)) {
			o.workdir = v;
		} else if (pelagos_opt(argc, argv, &i, "--env", &v)) {
			if (v && (v[0] == '=' || !strchr(v, '='))) {
				ret = pelagos_usage(cmd,
				    "--env wants K=V, not '%s'", v);
				goto out;
			}
			o.env[o.nenv++] = (char *)v;
		} else if (!strcmp(argv[i], "-d") ||
		    !strcmp(argv[i], "--detach")) {
			o.detach = 1;
			continue;
		} else {
			ret = pelagos_usage(cmd, "unknown option '%s'", argv[i]);
			goto out;
		}
		if (!v) {
			ret = pelagos_usage(cmd, "option '%s' needs a value",
			    argv[i]);
			goto out;
		}
	}
	if (!o.sandbox) {
		ret = pelagos_usage(cmd, "%s", "missing --sandbox ID|NAME");
		goto out;
	}
	if (i == argc) {
		ret = pelagos_usage(cmd, "%s", "missing CMD");
		goto out;
	}
	o.argv = argv + i;
	if (pelagos_need_root(cmd) < 0)
		goto out;
	if ((rootfd = root_open(pelagos_root, 0)) < 0 && errno != ENOENT) {
		pelagos_warn("root %s:", pelagos_root);
		goto out;
	}
	if (pelagos_load(rootfd, cmd, o.sandbox, &sb) < 0)
		goto out;
	close(rootfd);
	rootfd = -1;
	ret = run_workload(&sb, &o);
out:
	if (rootfd >= 0)
		close(rootfd);
	util_release(o.env, ((size_t)argc + 1) * sizeof(*o.env));
	return ret;
}
