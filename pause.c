/* The pause: holds a pod's namespaces open and does nothing else.
 *
 * pause_spawn() re-executes this binary as
 *	pelagos sandbox __pause__ NS_NAME [flags] --ready-fd 3
 * and waits on a pipe: the pause writes "ok PID\n" once it sits in every
 * namespace of the pod, or one line of error text, and closes its end. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/wait.h>

#include "pelagos.h"

#define READY_FD	3
#define READY_TIMEOUT_MS 10000

extern char **environ;

/* Text for the handshake, or for stderr when run by hand. */
static void
say(int fd, const char *what, int err)
{
	char buf[256];
	size_t n;

	n = util_fmt(buf, sizeof(buf), "%s%s%s%s\n",
	    fd < 0 ? "pelagos: sandbox __pause__: " : "", what,
	    err ? ": " : "", err ? strerror(err) : "");
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (fd < 0 && err)
		util_err(buf);
	else if (fd >= 0)
		(void)!write(fd, buf, n);
}

static void
close_fds(int from)
{
	if (syscall(SYS_close_range, from, ~0u, 0) < 0) {
		int fd;

		for (fd = from; fd < 1024; fd++)
			close(fd);
	}
}

static void
reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

#if defined(__x86_64__)
#define SECCOMP_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define SECCOMP_ARCH AUDIT_ARCH_I386
#elif defined(__arm__)
#define SECCOMP_ARCH AUDIT_ARCH_ARM
#elif defined(__riscv) && __riscv_xlen == 64
#define SECCOMP_ARCH AUDIT_ARCH_RISCV64
#else
#error "no seccomp architecture for this target: add its AUDIT_ARCH_*"
#endif

#define ALLOW(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

/* What the wait loop needs, and write/close for the handshake that
 * follows; everything else fails with EPERM, x32 calls included (their
 * numbers carry __X32_SYSCALL_BIT, so none matches).  A syscall of
 * another architecture (ia32 on x86_64) kills. */
static const struct sock_filter filter[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_ARCH, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	ALLOW(SYS_rt_sigtimedwait),
#ifdef SYS_rt_sigtimedwait_time64
	ALLOW(SYS_rt_sigtimedwait_time64),
#endif
	ALLOW(SYS_wait4),
	ALLOW(SYS_kill),
	ALLOW(SYS_write),
	ALLOW(SYS_close),
	ALLOW(SYS_exit),
	ALLOW(SYS_exit_group),
	ALLOW(SYS_restart_syscall),
	ALLOW(SYS_rt_sigreturn),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
};

/* After setup the pause needs no privilege at all: empty capability
 * sets, no way back through exec, and a syscall filter, so a pod that
 * gets hold of it gains nothing.  The filter is tried once: a syscall it
 * does not list must fail. */
static int
harden(const char **what)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	struct sock_fprog prog = {
		.len = sizeof(filter) / sizeof(filter[0]),
		.filter = (struct sock_filter *)filter };
	int cap;

	*what = "drop capability bounding set";
	for (cap = 0; prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0; cap++)
		;
	if (errno != EINVAL)
		return -1;
	*what = "set no_new_privs";
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	*what = "drop capabilities";
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -1;
	*what = "install seccomp filter";
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return -1;
	*what = "seccomp filter lets getppid through";
	if (syscall(SYS_getppid) != -1 || errno != EPERM) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* Signals stay blocked and are taken synchronously: nothing runs in a
 * handler.  Only SIGTERM and SIGINT end the pause. */
static int
wait_loop(pid_t child)
{
	sigset_t all;
	siginfo_t si;
	int status;

	sigfillset(&all);
	for (;;) {
		if (sigwaitinfo(&all, &si) < 0)
			continue;
		switch (si.si_signo) {
		case SIGTERM:
		case SIGINT:
			if (child <= 0)
				return 0;
			kill(child, SIGTERM);
			break;
		case SIGCHLD:
			if (child <= 0) {
				reap();
				break;
			}
			if (waitpid(child, &status, WNOHANG) != child)
				break;
			if (WIFSIGNALED(status))
				return 128 + WTERMSIG(status);
			return WEXITSTATUS(status);
		default:
			break;
		}
	}
}

int
pause_main(int argc, char **argv)
{
	const char *ns = NULL, *hostname = NULL, *what;
	int flags = 0, ready = -1, i, fd, sync[2];
	char path[sizeof(NETNS_DIR) + IFNAME_LEN + 1], ok[32], msg[256];
	sigset_t all, pend;
	ssize_t n;
	pid_t child = 0;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--host-ipc"))
			flags |= PAUSE_HOST_IPC;
		else if (!strcmp(argv[i], "--host-net"))
			flags |= PAUSE_HOST_NET;
		else if (!strcmp(argv[i], "--pod-pid"))
			flags |= PAUSE_POD_PID;
		else if (!strcmp(argv[i], "--hostname") && i + 1 < argc)
			hostname = argv[++i];
		else if (!strcmp(argv[i], "--ready-fd") && i + 1 < argc &&
		    !strcmp(argv[i + 1], "3") && fcntl(READY_FD, F_GETFD) >= 0)
			ready = READY_FD, i++;
		else if ((argv[i][0] != '-' || !strcmp(argv[i], "-")) && !ns)
			ns = argv[i];
		else
			goto usage;
	}
	if (!ns || (!(flags & PAUSE_HOST_NET) && !state_valid_ifname(ns)) ||
	    (hostname && !state_valid_hostname(hostname)))
		goto usage;
	if (ready >= 0)
		fcntl(ready, F_SETFD, FD_CLOEXEC);
	/* Whatever else the caller leaked to us would be pinned for the
	 * pod's lifetime. */
	close_fds(READY_FD + 1);

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	if (!(flags & PAUSE_HOST_NET)) {
		util_fmt(path, sizeof(path), NETNS_DIR "/%s", ns);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
		    setns(fd, CLONE_NEWNET) < 0) {
			say(ready, "join network namespace", errno);
			return 1;
		}
		close(fd);
	}
	if (unshare(CLONE_NEWUTS |
	    (flags & PAUSE_HOST_IPC ? 0 : CLONE_NEWIPC)) < 0) {
		say(ready, "unshare uts/ipc namespaces", errno);
		return 1;
	}
	if (hostname && sethostname(hostname, strlen(hostname)) < 0) {
		say(ready, "set hostname", errno);
		return 1;
	}
	if (flags & PAUSE_POD_PID) {
		if (unshare(CLONE_NEWPID) < 0) {
			say(ready, "unshare pid namespace", errno);
			return 1;
		}
		/* The child is PID 1 of the new namespace; it is the pod's
		 * pause from then on, and this process only waits for it. */
		if (pipe2(sync, O_CLOEXEC) < 0 || (child = fork()) < 0) {
			say(ready, "fork pid 1", errno);
			return 1;
		}
		if (child == 0) {
			if (ready >= 0)
				close(ready);
			close(sync[0]);
			if (harden(&what) < 0) {
				say(sync[1], what, errno);
				return 1;
			}
			say(sync[1], "+", 0);
			close(sync[1]);
			return wait_loop(0);
		}
		/* Ready only once PID 1 is hardened too; its error, if any,
		 * is passed on. */
		close(sync[1]);
		n = read(sync[0], msg, sizeof(msg) - 1);
		close(sync[0]);
		msg[n > 0 ? n : 0] = '\0';
		if (strcmp(msg, "+\n")) {
			msg[strcspn(msg, "\n")] = '\0';
			say(ready, msg[0] ? msg : "pid 1 failed", 0);
			kill(child, SIGKILL);
			return 1;
		}
	}
	util_fmt(ok, sizeof(ok), "ok %d", (int)(child ? child : getpid()));
	/* A SIGTERM or SIGINT that came during setup would end the pause
	 * right after it said ready; say why instead. */
	if (sigpending(&pend) == 0 && (sigismember(&pend, SIGTERM) ||
	    sigismember(&pend, SIGINT))) {
		say(ready, "terminated during setup", 0);
		if (child)
			kill(child, SIGKILL);
		return 1;
	}
	if (harden(&what) < 0) {
		say(ready, what, errno);
		return 1;
	}
	say(ready, ok, 0);
	if (ready >= 0)
		close(ready);
	return wait_loop(child);
usage:
	util_err("pelagos: sandbox __pause__: usage: __pause__ NS_NAME "
	    "[--host-ipc] [--host-net] [--pod-pid] [--hostname NAME]\n");
	return 2;
}

static int
parse_ready(const char *msg, pid_t *pid)
{
	unsigned long long v;
	const char *end;

	if (strncmp(msg, "ok ", 3) || util_parse_ull(msg + 3, &end, &v) < 0 ||
	    !v || v > INT_MAX || *end != '\n')
		return -1;
	*pid = (pid_t)v;
	return 0;
}

/* The vfork child: it shares the parent's memory until execve, so it only
 * makes syscalls on what it is given, and reports a failure as text on
 * the ready pipe.  It gives the pause /dev/null as stdio, "/" as its cwd,
 * the pipe as fd 3, a session of its own, and nothing blocked. */
static _Noreturn void
spawn_child(int ready, const char *const *argv)
{
	const char *what = "redirect stdio";
	sigset_t none;
	int fd;

	if (dup2(ready, READY_FD) < 0)
		goto fail;
	if ((fd = open("/dev/null", O_RDWR)) < 0 || dup2(fd, 0) < 0 ||
	    dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		goto fail;
	if (fd > 2)
		close(fd);
	what = "chdir /";
	if (chdir("/") < 0)
		goto fail;
	what = "setsid";
	if (setsid() < 0)
		goto fail;
	/* Exec resets handled signals but keeps ignored ones; the one the
	 * pause's loop cares about is SIGCHLD, whose SIG_IGN would reap
	 * children behind its back.  The rest stay blocked and are taken
	 * with sigwaitinfo whatever their disposition. */
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve("/proc/self/exe", (char *const *)argv, environ);
	what = "exec /proc/self/exe";
fail:
	say(ready, what, errno);
	_exit(127);
}

/* The pause closed its end of the pipe without a word.  If it is on its
 * way out, its status says why; one that lives on (its write failed) is
 * left to the caller to kill, rather than waited for. */
static int
exited(pid_t child, int *status)
{
	struct pollfd p = { .events = POLLIN };

	if ((p.fd = (int)syscall(SYS_pidfd_open, child, 0)) >= 0) {
		poll(&p, 1, 1000);
		close(p.fd);
	}
	return waitpid(child, status, WNOHANG) == child;
}

/* All signals are blocked across vfork so that no handler runs in the
 * child while it shares our memory; the child clears the mask itself. */
static pid_t
start_pause(int ready, const char *const *argv)
{
	sigset_t all, old;
	pid_t child;
	int e;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((child = vfork()) == 0)
		spawn_child(ready, argv);
	e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return child;
}

/* Returns 0 with *pid set once the pause is ready.  On failure *err holds
 * the reason (the pause's own words where it gave some) and any pause
 * that was started has been killed and reaped.  A signal arriving on
 * sigfd aborts the wait with EINTR. */
int
pause_spawn(const char *ns_name, int flags, const char *hostname, int sigfd,
	pid_t *pid, char *err, size_t errlen)
{
	const char *argv[12];
	char msg[256];
	struct pollfd pfd[2];
	pid_t child = -1;
	size_t len = 0;
	ssize_t n;
	int p[2] = { -1, -1 }, argc = 0, ret = -1, e, status;

	err[0] = '\0';
	argv[argc++] = "pelagos";
	argv[argc++] = "sandbox";
	argv[argc++] = "__pause__";
	argv[argc++] = ns_name[0] ? ns_name : "-";
	if (flags & PAUSE_HOST_IPC)
		argv[argc++] = "--host-ipc";
	if (flags & PAUSE_HOST_NET)
		argv[argc++] = "--host-net";
	if (flags & PAUSE_POD_PID)
		argv[argc++] = "--pod-pid";
	argv[argc++] = "--hostname";
	argv[argc++] = hostname;
	argv[argc++] = "--ready-fd";
	argv[argc++] = "3";
	argv[argc] = NULL;

	if (pipe2(p, O_CLOEXEC) < 0) {
		util_fmt(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	/* The ends are above 2 but one may be 3 itself, which the child's
	 * dup2 would then leave close-on-exec. */
	if (p[1] == READY_FD) {
		int moved = fcntl(p[1], F_DUPFD_CLOEXEC, READY_FD + 1);

		if (moved < 0) {
			util_fmt(err, errlen, "dup: %s", strerror(errno));
			goto out;
		}
		close(p[1]);
		p[1] = moved;
	}
	if ((child = start_pause(p[1], argv)) < 0) {
		util_fmt(err, errlen, "start pause: %s", strerror(errno));
		goto out;
	}
	close(p[1]);
	p[1] = -1;

	pfd[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
	for (;;) {
		n = poll(pfd, sigfd >= 0 ? 2 : 1, READY_TIMEOUT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			util_fmt(err, errlen, "wait for pause: %s",
			    strerror(errno));
			goto out;
		}
		if (n == 0) {
			util_fmt(err, errlen, "pause not ready after %d ms",
			    READY_TIMEOUT_MS);
			goto out;
		}
		if (sigfd >= 0 && pfd[1].revents) {
			errno = EINTR;
			util_fmt(err, errlen, "interrupted");
			goto out;
		}
		n = read(p[0], msg + len, sizeof(msg) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (len += (size_t)n) == sizeof(msg) - 1)
			break;
	}
	msg[len] = '\0';
	if (parse_ready(msg, pid) == 0) {
		ret = 0;
		goto out;
	}
	if (len) {
		msg[strcspn(msg, "\n")] = '\0';
		util_fmt(err, errlen, "pause: %s", msg);
	} else if (exited(child, &status)) {
		child = -1;
		if (WIFSIGNALED(status))
			util_fmt(err, errlen, "pause killed by signal %d",
			    WTERMSIG(status));
		else
			util_fmt(err, errlen, "pause exited with status %d",
			    WEXITSTATUS(status));
	} else {
		util_fmt(err, errlen, "pause closed its pipe without a word");
	}
out:
	e = errno;
	if (ret < 0 && child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	errno = e;
	return ret;
}
