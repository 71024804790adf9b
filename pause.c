/* SPDX-License-Identifier: Apache-2.0 */
/* The pause: holds a pod's namespaces open and does nothing else; and
 * its protocol, which nothing else in pelagos knows:
 *
 *	pelagos sandbox __pause__ TAG [--host-ipc] [--host-net] [--pod-pid]
 *	    [--sysctl KEY=VALUE]... --hostname NAME --ready-fd 3
 *
 * TAG is psb-<first 8 of the ID>, the name of the pod's network namespace
 * under /run/netns, which the pause joins unless --host-net; it is also
 * how a process is recognised as a sandbox's pause (pause_is).
 * pause_spawn() re-executes this binary so and waits on a pipe at fd 3:
 * the pause writes "ok PID START\n" (its PID and start time) once it
 * sits in every namespace of the pod and has written the sysctls into
 * them, or one line of error text, and closes its end.  Its fd 4, if
 * open, is the sandbox's live lock, which it keeps open until it exits.
 *
 * Once ready, the pause runs only its wait loop, which makes raw system
 * calls and gives the rest of the binary's text back (see wait_loop). */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/mount.h>
#include <linux/seccomp.h>
#include <sys/wait.h>

#include "pelagos.h"

#define READY_FD	3
#define LIVE_FD		4	/* the live lock (state_live_make) */
/* 64 creates at once under an emulated arm64 CPU leave some pause
 * without a slice for over 10 s, each create's cgroup work added. */
#define READY_TIMEOUT_MS 20000

extern char **environ;

/* The pause's argv before its tag, as its /proc/PID/cmdline shows it:
 * its words start at 0, 8 and 16. */
static const char head[] = "pelagos\0sandbox\0__pause__";
/* The pause's options: the three flags first, in PAUSE_* bit order. */
static const char *const opts[] = { "--host-ipc", "--host-net",
	"--pod-pid", "--hostname", "--sysctl", "--ready-fd" };
#define NOPTS	6

/* One line on the handshake pipe: what, and the OS error if any. */
static void
say(int fd, const char *what, int os)
{
	char buf[256];
	size_t n = util_fmt(buf, sizeof(buf), "%s%s%s\n", what,
	    os ? ": " : "", os ? strerror(os) : "");

	if (fd >= 0)
		(void)!write(fd, buf, n < sizeof(buf) ? n : sizeof(buf) - 1);
}

/* Reports a setup failure both ways: on the pipe for pause_spawn, in the
 * record for whoever ran the pause by hand. */
static int
setup_failed(int ready, struct pelagos_err *e, const char *what, int os)
{
	say(ready, what, os);
	util_fmt(e->what, sizeof(e->what), "%s", what);
	e->os = os;
	return 1;
}

/* KEY=VALUE into sys/KEY (dots for slashes) of a proc of our own
 * (net.c), which shows the namespaces of the writer: the pod's, for the
 * keys create lets through (proc_sysctl_ns).  A key with a '/' could leave /proc/sys; with dots
 * for slashes, none can.  In line, as GCC at -Oz would not: that saves
 * bytes (measured). */
static inline __attribute__((always_inline)) int
sysctl_write(const char *kv, char *what)
{
	char path[160], *p;
	const char *eq = util_strchr(kv, '=');
	int fd, ret = -1, n;

	if (!eq || (n = (int)(eq - kv)) > 100 ||
	    util_memchr(kv, '/', (size_t)n)) {
		errno = EINVAL;
		return -1;
	}
	util_fmt(what, 256, "sysctl %.*s", n, kv);
	util_fmt(path, sizeof(path), "sys/%.*s", n, kv);
	for (p = path; (p = util_strchr(p, '.')); )
		*p = '/';
	if ((fd = openat(net_proc(), path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	n = (int)util_strlen(++eq);
	if (write(fd, eq, (size_t)n) == n)
		ret = 0;
	if (close(fd) < 0)
		ret = -1;
	return ret;
}

#define ALLOW(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

/* What the wait loop needs, and sigpending/write/close for the last
 * steps of the handshake; everything else fails with EPERM, x32 calls included (their
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
	ALLOW(SYS_rt_sigpending),
	ALLOW(SYS_madvise),
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

/* An empty, read-only tmpfs that is mounted nowhere, for a root that
 * leads nowhere: not even ".." leaves a mount without a parent.  Linux
 * before 5.2 has no fsmount (ENOSYS): the pause keeps / there. */
static int
empty_root(void)
{
	int fs, mnt = -1, saved;

	if ((fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC)) < 0)
		return -1;
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
		    MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
		    MOUNT_ATTR_NOEXEC);
	saved = errno;
	close(fs);
	errno = saved;
	return mnt;
}

/* After setup the pause needs no privilege at all: an empty root and
 * working directory, non-dumpable (so that /proc/<pause>/ leads a
 * workload nowhere either), empty capability sets, no way back through
 * exec, and a syscall filter, so a pod that gets hold of it gains
 * nothing.  The filter is tried once: a syscall it does not list must
 * fail. */
static int
harden(int root, const char **what)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	struct sock_fprog prog = {
		.len = sizeof(filter) / sizeof(filter[0]),
		.filter = (struct sock_filter *)filter };
	int cap;

	*what = "enter an empty root";
	if (root >= 0 && (syscall(SYS_fchdir, root) < 0 || chroot(".") < 0))
		return -1;
	if (root >= 0)
		close(root);
	/* prctl and pipe2 (pause_spawn too) as system calls: libc's
	 * variadic wrapper and old-kernel fallback only cost bytes. */
	*what = "make the pause non-dumpable";
	if (syscall(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -1;
	*what = "drop capability bounding set";
	for (cap = 0; syscall(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0) == 0;
	    cap++)
		;
	if (errno != EINVAL)
		return -1;
	*what = "set no_new_privs";
	if (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	*what = "drop capabilities";
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -1;
	*what = "install seccomp filter";
	if (syscall(SYS_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0,
	    0) < 0)
		return -1;
	*what = "seccomp filter lets getppid through";
	if (syscall(SYS_getppid) != -1 || errno != EPERM) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* A system call made inline, so that the wait loop runs in its own few
 * pages of text and nowhere else (see wait_loop). */
static inline __attribute__((always_inline)) long
raw(long nr, long a, long b, long c, long d)
{
#if defined(__x86_64__)
	register long r10 __asm__("r10") = d;
	long ret;

	__asm__ volatile ("syscall" : "=a"(ret)
	    : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
	    : "rcx", "r11", "memory");
	return ret;
#elif defined(__aarch64__) || defined(__riscv)
#if defined(__aarch64__)
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;

	__asm__ volatile ("svc 0" : "+r"(x0)
	    : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
#else
	register long x8 __asm__("a7") = nr;
	register long x0 __asm__("a0") = a;
	register long x1 __asm__("a1") = b;
	register long x2 __asm__("a2") = c;
	register long x3 __asm__("a3") = d;

	__asm__ volatile ("ecall" : "+r"(x0)
	    : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
#endif
	return x0;
#elif defined(__arm__)
	register long r7 __asm__("r7") = nr;
	register long r0 __asm__("r0") = a;
	register long r1 __asm__("r1") = b;
	register long r2 __asm__("r2") = c;
	register long r3 __asm__("r3") = d;

	__asm__ volatile ("svc 0" : "+r"(r0)
	    : "r"(r7), "r"(r1), "r"(r2), "r"(r3) : "memory");
	return r0;
#elif defined(__i386__)
	long ret;

	__asm__ volatile ("int $0x80" : "=a"(ret)
	    : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d) : "memory");
	return ret;
#endif
}

/* The binary's read-only segments (text, rodata), from its program
 * headers, with the load bias of a static PIE applied. */
#define MAX_SPANS 4
struct span {
	unsigned long start, end;
};

static int
ro_segments(struct span *sp)
{
	const ElfW(Phdr) *ph = (const void *)getauxval(AT_PHDR);
	unsigned long n = getauxval(AT_PHNUM), i, bias = 0;
	int k = 0;

	for (i = 0; ph && i < n; i++)
		if (ph[i].p_type == PT_PHDR)
			bias = (unsigned long)ph - ph[i].p_vaddr;
	for (i = 0; ph && i < n && k < MAX_SPANS; i++)
		if (ph[i].p_type == PT_LOAD && !(ph[i].p_flags & PF_W)) {
			sp[k].start = ph[i].p_vaddr + bias;
			sp[k++].end = ph[i].p_vaddr + bias + ph[i].p_memsz;
		}
	return k;
}

/* The pause's whole life once it is ready: signals stay blocked and are
 * taken synchronously, nothing runs in a handler, and only SIGTERM and
 * SIGINT end it (with a child, PID 1 of the pod, they are passed on, and
 * its end is the pause's).
 *
 * First it hands back every page of the binary's read-only segments but
 * the two that hold this function: the kernel maps file-backed text up
 * to 64 KiB around each fault ("fault-around"), so a pause that went on
 * calling into libc would keep nearly the whole binary resident, and
 * every feature of pelagos would grow every pod's pause.  Hence inline
 * system calls, no switch (a jump table would be in .rodata) and no
 * globals; what it returns, on its way out, the pause exits with. */
static __attribute__((noinline)) int
wait_loop(pid_t child, const struct span *sp, int nsp)
{
	unsigned long long all = ~0ull;
	unsigned long page = 4096, keep, a, b;
	siginfo_t si;
	int i, status;
	long r;

	keep = (unsigned long)(void *)wait_loop & -page;
	for (i = 0; i < nsp; i++) {
		a = sp[i].start & -page;
		b = (sp[i].end + page - 1) & -page;
		if (a < keep)
			raw(SYS_madvise, (long)a, (long)((b < keep ? b : keep) - a),
			    MADV_DONTNEED, 0);
		a = a > keep + 2 * page ? a : keep + 2 * page;
		if (b > a)
			raw(SYS_madvise, (long)a, (long)(b - a), MADV_DONTNEED, 0);
	}
	for (;;) {
		if (raw(SYS_rt_sigtimedwait, (long)&all, (long)&si, 0,
		    sizeof(all)) < 0)
			continue;
		if (si.si_signo == SIGTERM || si.si_signo == SIGINT) {
			if (child <= 0)
				return 0;
			raw(SYS_kill, child, SIGTERM, 0, 0);
		} else if (si.si_signo == SIGCHLD) {
			while ((r = raw(SYS_wait4, child > 0 ? child : -1,
			    (long)&status, WNOHANG, 0)) > 0)
				if (r == child)
					return WIFSIGNALED(status) ?
					    128 + WTERMSIG(status) :
					    WEXITSTATUS(status);
		}
	}
}

int
pause_main(int argc, char **argv, struct pelagos_err *e)
{
	const char *tag = NULL, *hostname = NULL, *what, *sysctl[MAX_POD_OPTS];
	int flags = 0, ready = -1, i, k, fd, sync[2], nsysctl = 0, root, live;
	char path[sizeof(NETNS_DIR) + IFNAME_LEN + 1], ok[48], msg[256];
	unsigned long long start;
	sigset_t all, pend;
	ssize_t n;
	pid_t child = 0, pid;
	struct span spans[MAX_SPANS];
	int nspans = ro_segments(spans);

	for (i = 0; i < argc; i++) {
		for (k = 0; k < NOPTS && strcmp(argv[i], opts[k]); k++)
			;
		if (k < 3) {
			flags |= 1 << k;
			continue;
		}
		if (k == NOPTS) {
			if ((argv[i][0] == '-' && argv[i][1]) || tag)
				goto usage;
			tag = argv[i];
			continue;
		}
		if (++i == argc)
			goto usage;
		if (k == 3)
			hostname = argv[i];
		else if (k == 4 && nsysctl < MAX_POD_OPTS)
			sysctl[nsysctl++] = argv[i];
		else if (k == 5 && !strcmp(argv[i], "3") &&
		    syscall(SYS_fcntl, READY_FD, F_GETFD) >= 0)
			ready = READY_FD;
		else
			goto usage;
	}
	if (!tag || (!(flags & PAUSE_HOST_NET) && !valid_ifname(tag)) ||
	    (hostname && util_strlen(hostname) > HOST_MAX_LEN))
		goto usage;
	if (ready >= 0)
		syscall(SYS_fcntl, ready, F_SETFD, FD_CLOEXEC);
	/* Whatever else the caller leaked to us would be pinned for the
	 * pod's lifetime.  fd 4 is create's live lock only next to its
	 * ready pipe; held open, no fd made below can take its number. */
	util_close_from(READY_FD + 1 + (ready >= 0));
	live = ready >= 0 && syscall(SYS_fcntl, LIVE_FD, F_GETFD) >= 0;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	if (!(flags & PAUSE_HOST_NET)) {
		util_fmt(path, sizeof(path), NETNS_DIR "/%s", tag);
		if ((fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC)) < 0 ||
		    setns(fd, proc_ns[NSK_NET].flag) < 0)
			return setup_failed(ready, e, "join network namespace",
			    errno);
		close(fd);
	}
	if (unshare(proc_ns[NSK_UTS].flag |
	    (flags & PAUSE_HOST_IPC ? 0 : proc_ns[NSK_IPC].flag)) < 0)
		return setup_failed(ready, e, "unshare uts/ipc namespaces",
		    errno);
	if (hostname && sethostname(hostname, util_strlen(hostname)) < 0)
		return setup_failed(ready, e, "set hostname", errno);
	/* Before the pod's PID 1 exists and before anything is dropped: the
	 * pod's network and IPC namespaces are this process's now. */
	for (i = 0; i < nsysctl; i++)
		if (sysctl_write(sysctl[i], msg) < 0)
			return setup_failed(ready, e, msg, errno);
	/* Their proc is not held for the pod's lifetime. */
	net_proc_close();
	/* Made before the fork, so that both pauses of a --pod-pid sandbox
	 * share it. */
	if ((root = empty_root()) < 0 && errno != ENOSYS)
		return setup_failed(ready, e, "make an empty root", errno);
	if (flags & PAUSE_POD_PID) {
		if (unshare(proc_ns[NSK_PID].flag) < 0)
			return setup_failed(ready, e, "unshare pid namespace",
			    errno);
		/* The child is PID 1 of the new namespace; it is the pod's
		 * pause from then on, and this process only waits for it. */
		if (syscall(SYS_pipe2, sync, O_CLOEXEC) < 0 ||
		    (child = cgroup_fork(-1)) < 0)
			return setup_failed(ready, e, "fork pid 1", errno);
		if (child == 0) {
			if (ready >= 0)
				close(ready);
			close(sync[0]);
			if (harden(root, &what) < 0)
				return setup_failed(sync[1], e, what, errno);
			say(sync[1], "+", 0);
			close(sync[1]);
			return wait_loop(0, spans, nspans);
		}
		/* Ready only once PID 1 is hardened too; its error, if any,
		 * is passed on.  The live lock is PID 1's alone: the pause
		 * it proves alive is the one recorded. */
		if (live)
			close(LIVE_FD);
		close(sync[1]);
		n = read(sync[0], msg, sizeof(msg) - 1);
		close(sync[0]);
		msg[n > 0 ? n : 0] = '\0';
		if (strcmp(msg, "+\n")) {
			msg[util_span(msg, "\n", 0)] = '\0';
			kill(child, SIGKILL);
			return setup_failed(ready, e, msg[0] ? msg :
			    "pid 1 failed", 0);
		}
	}
	/* START, field 22 of /proc/PID/stat, is read here, while the
	 * process surely exists, so that create can record a pause that
	 * dies the moment it has said ready: by then its PID may be reaped,
	 * and its /proc gone. */
	pid = child ? child : getpid();
	if (proc_start(pid, &start, NULL) < 0) {
		if (child)
			kill(child, SIGKILL);
		return setup_failed(ready, e, "read the pause's start time",
		    errno);
	}
	util_fmt(ok, sizeof(ok), "ok %d %llu", (int)pid, start);
	if (harden(root, &what) < 0)
		return setup_failed(ready, e, what, errno);
	/* A SIGTERM or SIGINT that came during setup would end the pause
	 * right after it said ready; say why instead.  Checked last, so
	 * that one arriving later is one that came after ready. */
	if (sigpending(&pend) == 0 && (sigismember(&pend, SIGTERM) ||
	    sigismember(&pend, SIGINT))) {
		if (child)
			kill(child, SIGKILL);
		return setup_failed(ready, e, "terminated during setup", 0);
	}
	say(ready, ok, 0);
	if (ready >= 0)
		close(ready);
	return wait_loop(child, spans, nspans);
usage:
	/* Internal: create is its one caller, and the head of this file
	 * its manual. */
	setup_failed(-1, e, "usage: __pause__ TAG [OPTION]... (internal)", 0);
	return 2;
}

void
pause_tag(const char *id, char tag[IFNAME_LEN])
{
	util_fmt(tag, IFNAME_LEN, NS_PREFIX "%.*s", SHORT_LEN, id);
}

/* Whether pid is a pause with this tag: its command line starts with
 * the pause's argv and the tag.  Start times count clock ticks; this
 * settles the rest. */
int
pause_is(pid_t pid, const char *tag)
{
	char path[32], buf[64];
	size_t tl = util_strlen(tag);

	util_fmt(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	return proc_read(path, buf, sizeof(buf)) > (ssize_t)(sizeof(head) + tl)
	    && !memcmp(buf, head, sizeof(head)) &&
	    !memcmp(buf + sizeof(head), tag, tl) &&
	    buf[sizeof(head) + tl] == '\0';
}

static int
parse_ready(const char *msg, pid_t *pid, unsigned long long *start)
{
	unsigned long long v;
	const char *end;

	if (util_strncmp(msg, "ok ", 3) ||
	    util_parse_ull(msg + 3, &end, INT_MAX, &v) < 0 || !v ||
	    *end != ' ' || util_parse_ull(end + 1, &end, ~0ull, start) < 0 ||
	    *end != '\n')
		return -1;
	*pid = (pid_t)v;
	return 0;
}

/* The vfork child: it shares the parent's memory until execve, so it only
 * makes syscalls on what it is given, and reports a failure as text on
 * the ready pipe.  It gives the pause /dev/null as stdio, "/" as its cwd,
 * the pipe as fd 3, a session of its own, and nothing blocked. */
static _Noreturn void
spawn_child(int ready, int live, const char *const *argv)
{
	const char *what = "redirect stdio";
	sigset_t none;

	/* The pipe's end may be 3 itself, which dup2 would leave
	 * close-on-exec. */
	if ((ready == READY_FD ? syscall(SYS_fcntl, ready, F_SETFD, 0) :
	    dup2(ready, READY_FD)) < 0)
		goto fail;
	/* live is never 3 or 4: the root and the sandbox's directory are
	 * open below it.  Without it (-1, EBADF) the pause has no fd 4 and
	 * is asked about by its PID. */
	dup2(live, LIVE_FD);
	if (proc_null_stdio() < 0)
		goto fail;
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
	util_signal(SIGCHLD, SIG_DFL);
	util_signal(SIGPIPE, SIG_DFL);
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
 * child while it shares our memory; the child clears the mask itself.
 * With a cgroup the child is forked into its leaf instead: both pauses
 * of a --pod-pid sandbox then start there. */
static pid_t
start_pause(int ready, int live, int cgleaf, const char *const *argv)
{
	sigset_t all, old;
	pid_t child;
	int e;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((child = cgleaf >= 0 ? cgroup_fork(cgleaf) : vfork()) == 0)
		spawn_child(ready, live, argv);
	e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return child;
}

/* Returns 0 with *pid and *start set once the pause is ready.  On failure the record
 * holds the reason (the pause's own words where it gave some) and any
 * pause that was started has been killed and reaped.  A signal arriving
 * on sigfd aborts the wait with EINTR. */
int
pause_spawn(const char *tag, int flags, const char *hostname,
	const char *const *sysctl, size_t nsysctl, int cgleaf, int live,
	int sigfd, pid_t *pid, unsigned long long *start, struct pelagos_err *e)
{
	const char *argv[12 + 2 * MAX_POD_OPTS];
	char msg[256];
	struct pollfd pfd[2];
	pid_t child = -1;
	size_t len = 0, i;
	ssize_t n;
	int p[2] = { -1, -1 }, argc = 0, ret = -1, saved, status;

	argv[argc++] = head;
	argv[argc++] = head + 8;
	argv[argc++] = head + 16;
	argv[argc++] = tag;
	for (i = 0; i < 3; i++)
		if (flags & 1 << i)
			argv[argc++] = opts[i];
	for (i = 0; i < nsysctl && i < MAX_POD_OPTS; i++) {
		argv[argc++] = opts[4];
		argv[argc++] = sysctl[i];
	}
	argv[argc++] = opts[3];
	argv[argc++] = hostname;
	argv[argc++] = opts[5];
	argv[argc++] = "3";
	argv[argc] = NULL;

	if (syscall(SYS_pipe2, p, O_CLOEXEC) < 0)
		return err_os(e, "pipe for the pause");
	if ((child = start_pause(p[1], live, cgleaf, argv)) < 0) {
		err_os(e, "start pause");
		goto out;
	}
	close(p[1]);
	p[1] = -1;

	pfd[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
	/* A negative sigfd is ignored by poll. */
	for (;;) {
		n = poll(pfd, 2, READY_TIMEOUT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_os(e, "wait for pause");
			goto out;
		}
		if (n == 0) {
			err_msg(e, ETIMEDOUT, "pause not ready after %d ms",
			    READY_TIMEOUT_MS);
			goto out;
		}
		if (pfd[1].revents) {
			err_msg(e, EINTR, "interrupted");
			goto out;
		}
		n = read(p[0], msg + len, sizeof(msg) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (len += (size_t)n) == sizeof(msg) - 1)
			break;
	}
	msg[len] = '\0';
	if (parse_ready(msg, pid, start) == 0) {
		ret = 0;
		goto out;
	}
	if (len) {
		msg[util_span(msg, "\n", 0)] = '\0';
		err_msg(e, EIO, "pause: %s", msg);
	} else if (exited(child, &status)) {
		child = -1;
		if (WIFSIGNALED(status))
			err_msg(e, EIO, "pause killed by signal %d",
			    WTERMSIG(status));
		else
			err_msg(e, EIO, "pause exited with status %d",
			    WEXITSTATUS(status));
	} else {
		err_msg(e, EIO, "pause closed its pipe without a word");
	}
out:
	saved = errno;
	if (ret < 0 && child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	errno = saved;
	return ret;
}
