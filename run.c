/* SPDX-License-Identifier: Apache-2.0 */
/* A workload in a sandbox's namespaces, for pelagos run.
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
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "pelagos.h"

/* noinline here and there below: where GCC's inlining at -Oz costs bytes
 * (measured). */
#define DEFAULT_PATH \
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern char **environ;

/* A report from CMD's side: failed 0 means "about to exec". */
struct run_msg {
	int failed;
	int status;		/* what pelagos run exits with when failed */
	struct pelagos_err err;
};

/* Opens every namespace of the pause before joining any, and joins only
 * once the pause is known to be the recorded process.  The pidfd is taken
 * first: a PID is not reused before its process is reaped, so if the pidfd
 * shows no exit after the checks, every /proc/<pid> opened in between was
 * that process's.  (Without pidfds, before Linux 5.3, the start time
 * checked after the opens has to do.)  The network namespace checked is
 * the very one opened.  ESRCH means not running. */
static __attribute__((noinline)) int
join_pod(const struct sandbox *sb, const char *label, struct pelagos_err *e)
{
	int fds[NSK_COUNT], pidfd = -1, ret = -1, saved;
	struct pollfd p;
	struct stat st;
	char path[48];
	size_t i;

	for (i = 0; i < NSK_COUNT; i++)
		fds[i] = -1;
	if (sb->pause_pid <= 0)
		goto gone;
	pidfd = (int)syscall(SYS_pidfd_open, sb->pause_pid, 0);
	if (pidfd < 0 && errno != ENOSYS) {
		if (errno == ESRCH)
			goto gone;
		err_os(e, "pidfd of pause %d of sandbox %s",
		    (int)sb->pause_pid, label);
		goto out;
	}
	for (i = 0; i < NSK_COUNT; i++) {
		proc_ns_path(path, sizeof(path), sb->pause_pid, (enum ns_kind)i);
		if ((fds[i] = openat(AT_FDCWD, path, O_RDONLY |
		    O_CLOEXEC)) < 0) {
			if (!sandbox_pause_alive(sb))
				goto gone;
			err_os(e, "open %s of sandbox %s", path, label);
			goto out;
		}
	}
	p = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	if (!sandbox_pause_alive(sb) || util_fstat(fds[NSK_NET], &st) < 0 ||
	    st.st_ino != sb->netns_ino ||
	    (pidfd >= 0 && poll(&p, 1, 0) != 0))
		goto gone;
	for (i = 0; i < NSK_COUNT; i++)
		if (sandbox_shares(sb, (enum ns_kind)i) &&
		    setns(fds[i], proc_ns[i].flag) < 0) {
			err_os(e, "join %s namespace of sandbox %s",
			    proc_ns[i].name, label);
			goto out;
		}
	ret = 0;
	goto out;
gone:
	err_msg(e, ESRCH, "sandbox %s is not running", label);
out:
	saved = errno;
	for (i = 0; i < NSK_COUNT; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (pidfd >= 0)
		close(pidfd);
	errno = saved;
	return ret;
}

/* CMD's environment: ours without --rootfs, since CMD then sees our
 * filesystem; with it only PATH and TERM, which mean the same in any
 * tree.  Each --env K=V then replaces K or is added. */
static __attribute__((noinline)) char **
make_env(const struct run_opts *o, size_t *bytes)
{
	static char path[] = DEFAULT_PATH;
	char **env;
	size_t n = 0, i, j, klen;
	int term = 0;

	for (i = 0; environ[i]; i++)
		;
	*bytes = (i + o->nenv + 2) * sizeof(*env);
	if (!(env = util_alloc(*bytes)))
		return NULL;
	if (o->rootfs)
		env[n++] = path;
	for (i = 0; environ[i]; i++)
		if (!o->rootfs ||
		    (!util_strncmp(environ[i], "TERM=", 5) && !term++))
			env[n++] = environ[i];
	for (i = 0; i < o->nenv; i++) {
		klen = util_span(o->env[i], "=", 0) + 1;
		for (j = 0; j < n && util_strncmp(env[j], o->env[i], klen); j++)
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

/* Sends the report; m's record is filled by whoever failed. */
static __attribute__((noinline)) void
tell(int chan, struct run_msg *m, int failed, int status)
{
	m->failed = failed;
	m->status = status;
	(void)!send(chan, m, sizeof(*m), MSG_NOSIGNAL);
}

static int
mount_at(const char *src, const char *dir, const char *type,
	unsigned long flags, const char *data)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	return mount(src, dir, type, flags, data);
}

/* The pod's files (podfiles.c), in the sandbox's directory sb, read-only
 * over DIR/etc/<name>, each made empty where DIR has none.  The
 * targets through descriptors: a symlink in DIR is never followed out of
 * it, but refused. */
static int
mount_podfiles(const char *sb, const char *dir, struct pelagos_err *e)
{
	static const char names[3][12] = { "resolv.conf", "hosts",
		"hostname" };
	char src[PATH_MAX + 16], dst[32], rel[20];
	struct stat st;
	int etc = -1, fd, ret = -1, i;

	for (i = 0; i < 3; i++) {
		fd = -1;
		util_fmt(rel, sizeof(rel), "etc/%s", names[i]);
		/* A sandbox made by an earlier release has none. */
		util_fmt(src, sizeof(src), "%s/%s", sb, names[i]);
		if (access(src, F_OK) < 0)
			continue;
		if (etc < 0 && ((mkdir("etc", 0755) < 0 && errno != EEXIST) ||
		    (etc = openat(AT_FDCWD, "etc", O_PATH | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) < 0))
			goto fail;
		if ((fd = openat(etc, names[i], O_PATH | O_NOFOLLOW |
		    O_CLOEXEC)) < 0 && errno == ENOENT &&
		    (fd = openat(etc, names[i], O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0644)) >= 0) {
			close(fd);
			fd = openat(etc, names[i], O_PATH | O_NOFOLLOW |
			    O_CLOEXEC);
		}
		if (fd < 0 || util_fstat(fd, &st) < 0)
			goto fail;
		errno = ELOOP;
		util_fmt(dst, sizeof(dst), "/proc/self/fd/%d", fd);
		if (S_ISLNK(st.st_mode) || mount(src, dst, NULL, MS_BIND,
		    NULL) < 0 || mount(NULL, rel, NULL, MS_BIND | MS_REMOUNT |
		    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
			goto fail;
		close(fd);
	}
	ret = 0;
	goto out;
fail:
	err_os(e, "mount %s/%s", dir, rel);
	if (fd >= 0)
		close(fd);
out:
	if (etc >= 0)
		close(etc);
	return ret;
}

/* DIR becomes / in a mount namespace of the workload's own, with /proc,
 * /dev and /sys of its own, the pod's files (those of sandbox directory
 * sb) in /etc, masked and read-only paths, and with --read-only a
 * read-only root but for a tmpfs /tmp.  It runs after the pod's
 * namespaces are joined because proc shows the PID namespace and sysfs
 * the network namespace of whoever mounts them. */
static int
enter_rootfs(const char *dir, const char *sb, const struct confine *cf,
	struct pelagos_err *e)
{
	/* dev/<name>: character devices 1,<minor>, but tty, 5,0; then the
	 * links to /proc/self/fd and fds 0-2. */
	static const char nodes[][8] = { "null", "zero", "full", "random",
		"urandom", "tty", "fd", "stdin", "stdout", "stderr" };
	static const unsigned char minor[] = { 3, 5, 7, 8, 9, 0 };
	char node[16], fd[20];
	const unsigned long nodev = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	struct statfs sf;
	const char *what = "unshare mount namespace for %s";
	size_t i;

	if (unshare(CLONE_NEWNS) < 0)
		goto fail;
	/* Slave, not private: the host's later mounts still reach us, ours
	 * never reach the host, and pivot_root refuses shared mounts. */
	what = "make / a slave mount for %s";
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		goto fail;
	what = "bind %s onto itself";
	if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) < 0)
		goto fail;
	what = "enter %s";
	if (chdir(dir) < 0)
		goto fail;
	what = "mount proc in %s";
	if (mount_at("proc", "proc", "proc", nodev, NULL) < 0)
		goto fail;
	what = "mount a tmpfs on dev in %s";
	if (mount_at("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
	    "mode=755,size=64k") < 0)
		goto fail;
	what = "make the device nodes in %s/dev";
	for (i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		util_fmt(node, sizeof(node), "dev/%s", nodes[i]);
		util_fmt(fd, sizeof(fd), "/proc/self/fd/%d", (int)i - 7);
		if (i < sizeof(minor) ? mknod(node, S_IFCHR | 0666,
		    makedev(i == 5 ? 5 : 1, minor[i])) < 0 :
		    symlink(i == 6 ? "/proc/self/fd" : fd, node) < 0)
			goto fail;
	}
	what = "mount sysfs in %s";
	if (mount_at("sysfs", "sys", "sysfs", nodev | MS_RDONLY, NULL) < 0)
		goto fail;
	if (mount_podfiles(sb, dir, e) < 0 || confine_mounts(cf, e) < 0)
		return -1;
	/* A bind remount replaces the mount's flags: those it had are
	 * kept. */
	what = "make %s read-only";
	if ((cf->flags & CF_READ_ONLY) && (mount_at("tmpfs", "tmp", "tmpfs",
	    MS_NOSUID | MS_NODEV, "mode=1777") < 0 || statfs(".", &sf) < 0 ||
	    mount(NULL, ".", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY |
	    ((unsigned long)sf.f_flags & nodev), NULL) < 0))
		goto fail;
	/* pivot_root(".", ".") stacks the old root on the new one, to be
	 * detached at once.  An initramfs root cannot be pivoted: there the
	 * tree is moved over / and chrooted into, as switch_root does. */
	what = "pivot_root into %s";
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (umount2(".", MNT_DETACH) < 0)
			goto fail;
	} else if (errno != EINVAL || mount(".", "/", NULL, MS_MOVE,
	    NULL) < 0 || chroot(".") < 0) {
		goto fail;
	}
	if (chdir("/") == 0)
		return 0;
fail:
	return err_os(e, what, dir);
}

/* execvp(argv[0], argv), environ being envp: libc's costs the binary
 * 500 bytes.  As it does, a name without a '/' is looked for in $PATH's
 * directories in turn, past those where it is missing or not a file we
 * may execute; EACCES, if any, is the error then. */
static void
exec_cmd(char *const argv[], char **envp)
{
	const char *file = argv[0], *p = util_getenv("PATH"), *z;
	char b[PATH_MAX];
	int eacces = 0;

	if (util_strchr(file, '/')) {
		execve(file, argv, envp);
		return;
	}
	for (p = p ? p : "/usr/local/bin:/bin:/usr/bin"; *file; p = z + 1) {
		z = p + util_span(p, ":", 0);
		errno = ENAMETOOLONG;
		if (util_fmt(b, sizeof(b), "%.*s%s%s", (int)(z - p), p,
		    z > p ? "/" : "", file) < sizeof(b))
			execve(b, argv, envp);
		if (errno == EACCES)
			eacces = 1;
		else if (errno != ENOENT && errno != ENOTDIR)
			return;
		if (!*z)
			break;
	}
	errno = eacces ? EACCES : ENOENT;
}

/* CMD's side, never returning: the directory, then exec. */
static _Noreturn void
workload(const struct run_opts *o, char **envp, int chan,
	const sigset_t *mask)
{
	struct run_msg m;
	int st;

	memset(&m, 0, sizeof(m));
	umask(o->umask);
	if (o->workdir && chdir(o->workdir) < 0) {
		err_os(&m.err, "working directory %s", o->workdir);
		goto fail;
	}
	tell(chan, &m, 0, 0);
	sigprocmask(SIG_SETMASK, mask, NULL);
	environ = envp;
	exec_cmd(o->argv, envp);
	st = errno == ENOENT ? 127 : 126;
	err_os(&m.err, "execute %s", o->argv[0]);
	tell(chan, &m, 1, st);
	_exit(st);
fail:
	tell(chan, &m, 1, 1);
	_exit(1);
}

/* Passes the signals of set but SIGCHLD on to cmd, reaps what is
 * orphaned to us, and ends with cmd's status.  A signal the kernel sent
 * (a terminal's ^C to the whole process group) has reached cmd already.
 * As PID 1 of the workload's PID namespace (set: all), ending takes the
 * rest of the namespace with it. */
static int
forward(pid_t cmd, const sigset_t *set)
{
	siginfo_t si;
	pid_t r;
	int status;

	for (;;) {
		/* The system call: libc's sigwaitinfo only adds bytes. */
		if (syscall(SYS_rt_sigtimedwait, set, &si, NULL, _NSIG / 8) < 0)
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

/* The first child, born in the workload's cgroup: CMD itself in a
 * --pod-pid sandbox, else the init of a fresh PID namespace that forks
 * CMD.  It enters the root and is confined before the init forks, so
 * that the init, PID 1 of what CMD sees, is inside all of it too. */
static int
child_main(const struct run_opts *o, const char *sbpath, char **envp,
	int chan, int own_pid, const sigset_t *mask)
{
	struct run_msg m;
	sigset_t all;
	pid_t cmd;

	memset(&m, 0, sizeof(m));
	if (o->detach && (setsid() < 0 || proc_null_stdio() < 0)) {
		err_os(&m.err, "detach %s", o->argv[0]);
		goto fail;
	}
	umask(0);
	if ((o->rootfs && enter_rootfs(o->rootfs, sbpath, &o->cf,
	    &m.err) < 0) ||
	    confine_apply(&o->cf, &chan, &m.err) < 0)
		goto fail;
	/* Detached, CMD is the child of a process that ends at once, so
	 * that the pod's PID 1 reaps it: an orphan of the caller's (whose
	 * PID namespace is the host's) would go to the host's init, for
	 * which the pod's PID 1 would wait when it ends (rm). */
	if (!own_pid) {
		if (o->detach && (cmd = cgroup_fork(-1)) != 0) {
			if (cmd > 0)
				_exit(0);
			err_os(&m.err, "fork %s", o->argv[0]);
			goto fail;
		}
		workload(o, envp, chan, mask);
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	if ((cmd = cgroup_fork(-1)) < 0) {
		err_os(&m.err, "fork %s", o->argv[0]);
		goto fail;
	}
	if (cmd == 0)
		workload(o, envp, chan, mask);
	close(chan);
	/* Nothing of the caller's filesystem stays busy because of us. */
	(void)!chdir("/");
	return forward(cmd, &all);
fail:
	tell(chan, &m, 1, 1);
	return 1;
}

/* Reads CMD's side's reports until its end closes, at exec or exit.
 * *pid is CMD's PID, from the credentials on its "about to exec" report;
 * 0 when none came.  A failure report is copied to *fail. */
static __attribute__((noinline)) int
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
	fail->failed = 0;
	for (;;) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = c.buf;
		mh.msg_controllen = sizeof(c.buf);
		n = syscall(SYS_recvmsg, chan, &mh, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;
		if ((size_t)n != sizeof(m))
			continue;
		m.err.what[sizeof(m.err.what) - 1] = '\0';
		if (m.failed) {
			*fail = m;
			continue;
		}
		/* The one control message SO_PASSCRED brings: nothing on
		 * this channel passes descriptors. */
		if ((h = CMSG_FIRSTHDR(&mh)) && h->cmsg_level == SOL_SOCKET &&
		    h->cmsg_type == SCM_CREDENTIALS) {
			memcpy(&u, CMSG_DATA(h), sizeof(u));
			*pid = u.pid;
		}
	}
}

/* The sandbox's state, read with its lock held shared: rm takes it
 * exclusively before it stops anything, so until the lock is released
 * the sandbox is not torn down under us. */
static int
lock_sandbox(int rootfd, const char *id, const char *label,
	struct sandbox *sb, struct pelagos_err *e)
{
	struct stat st;
	int dfd;

	if ((dfd = root_sbdir(rootfd, id)) < 0)
		return errno == ENOENT ? err_msg(e, ENOENT, "no such sandbox "
		    "'%s'", label) : err_os(e, "sandbox %s", label);
	while (flock(dfd, LOCK_SH) < 0)
		if (errno != EINTR) {
			err_os(e, "lock sandbox %s", label);
			goto fail;
		}
	if ((util_fstat(dfd, &st) == 0 && st.st_nlink == 0) ||
	    sandbox_load_at(dfd, id, STATE_FILE, sb) < 0) {
		if (errno == ENOENT || st.st_nlink == 0)
			err_msg(e, ENOENT, "no such sandbox '%s'", label);
		else
			err_os(e, "state of sandbox %s", id);
		goto fail;
	}
	return dfd;
fail:
	close(dfd);
	return -1;
}

/* Runs CMD in sandbox id: returns 0 once it ran, with *status its exit
 * status (or, with o->detach, 0 and *pid its PID once it was executed)
 * and *oom the number of its processes the OOM killer took; -1 when it
 * did not start or could not be waited for, with *status what pelagos
 * run exits with (1, 126 or 127).  rootfd is closed once the sandbox is
 * locked: nothing of the root stays open while CMD runs.  A workload's
 * cgroup leaf goes when it ends, unless detached. */
int
run_workload(int rootfd, const char *id, const struct run_opts *o,
	int *status, pid_t *pid, unsigned long long *oom,
	struct pelagos_err *e)
{
	struct run_msg fail;
	struct sandbox sbuf, *sb = &sbuf;
	char sbpath[PATH_MAX], link[32];
	ssize_t n;
	sigset_t sigs, old;
	char **envp = NULL, leaf[CG_PATH_LEN + 16] = "";
	size_t envbytes = 0;
	pid_t child;
	int chan[2] = { -1, -1 }, one = 1, ret = -1, dfd;
	int cgleaf = -1;

	*status = 1;
	*oom = 0;
	dfd = lock_sandbox(rootfd, id, o->label, sb, e);
	close(rootfd);
	if (dfd < 0)
		return -1;
	if (!(envp = make_env(o, &envbytes))) {
		err_os(e, "environment for %s", o->argv[0]);
		goto out;
	}
	/* Held from here on: taken and passed on once CMD runs. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigs, &old);
	/* The sandbox's directory by name, for --rootfs to look up again in
	 * its own mount namespace: a bind mount's source must be in the
	 * caller's, which a descriptor opened here is not. */
	util_fmt(link, sizeof(link), "/proc/self/fd/%d", dfd);
	/* Here and for the socket and its messages, the system calls
	 * themselves: libc's wrappers carry fallbacks for kernels older than
	 * pelagos supports and fixups these calls need none of, and only
	 * pelagos run used them. */
	if ((n = syscall(SYS_readlinkat, AT_FDCWD, link, sbpath,
	    sizeof(sbpath) - 1)) < 0) {
		err_os(e, "directory of sandbox %s", o->label);
		goto out;
	}
	sbpath[n] = '\0';
	if (join_pod(sb, o->label, e) < 0 ||
	    cgroup_leaf(sb, NULL, &o->lim, leaf, &cgleaf, e) < 0)
		goto out;
	/* In the pod's namespaces now, where rm's scan finds this process
	 * and its children; the lock must not be inherited by them. */
	close(dfd);
	dfd = -1;
	if (syscall(SYS_socketpair, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    chan) < 0 ||
	    setsockopt(chan[0], SOL_SOCKET, SO_PASSCRED, &one,
	    sizeof(one)) < 0) {
		err_os(e, "socket");
		goto out;
	}
	if (sb->pid != NS_POD && unshare(proc_ns[NSK_PID].flag) < 0) {
		err_os(e, "unshare pid namespace");
		goto out;
	}
	if ((child = cgroup_fork(cgleaf)) < 0) {
		err_os(e, "fork");
		goto out;
	}
	if (child == 0)
		_exit(child_main(o, sbpath, envp, chan[1], sb->pid != NS_POD,
		    &old));
	close(chan[1]);
	chan[1] = -1;
	if (await_exec(chan[0], pid, &fail) < 0) {
		err_os(e, "wait for %s", o->argv[0]);
		goto out;
	}
	if (fail.failed) {
		*e = fail.err;
		errno = e->os;
		*status = fail.status;
		waitpid(child, NULL, 0);
		goto out;
	}
	if (o->detach) {
		if (sb->pid == NS_POD)
			waitpid(child, NULL, 0);
		if (!*pid) {
			err_msg(e, ESRCH, "%s ended before it started",
			    o->argv[0]);
			goto out;
		}
		*status = 0;
	} else {
		*status = forward(child, &sigs);
	}
	ret = 0;
out:
	if (leaf[0] && !(o->detach && ret == 0))
		*oom = cgroup_leaf_done(leaf);
	if (dfd >= 0)
		close(dfd);
	if (chan[0] >= 0)
		close(chan[0]);
	if (chan[1] >= 0)
		close(chan[1]);
	if (cgleaf >= 0)
		close(cgleaf);
	util_release(envp, envbytes);
	return ret;
}
