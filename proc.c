/* SPDX-License-Identifier: Apache-2.0 */
/* The namespace table, and processes by identity and by namespace.
 *
 * A process is the one recorded
 * only while its PID and its start time (field 22 of /proc/<pid>/stat)
 * both match; signals go through a pidfd opened before that check, so a
 * PID recycled in between is never signalled. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "pelagos.h"

#define STOP_TIMEOUT_MS	2000

/* The namespaces a pod can own, in the order a workload joins them:
 * every user of a namespace kind goes through this table. */
const struct ns_info proc_ns[NSK_COUNT] = {
	[NSK_IPC] = { "ipc", CLONE_NEWIPC, "ipc" },
	[NSK_UTS] = { "uts", CLONE_NEWUTS, "uts" },
	[NSK_NET] = { "net", CLONE_NEWNET, "network" },
	[NSK_PID] = { "pid", CLONE_NEWPID, "pid" },
};

/* The small file at path (of /proc, a cgroup, /etc) into buf, ending
 * in a NUL: its length, or -1. */
ssize_t
proc_read(const char *path, char *buf, size_t len)
{
	int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

/* /dev/null as fds 0-2.  Opened without O_CLOEXEC: where 0-2 were
 * closed it is one of them itself, to survive an exec. */
int
proc_null_stdio(void)
{
	int fd = openat(AT_FDCWD, "/dev/null", O_RDWR), r;

	if (fd < 0)
		return -1;
	r = dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 ? -1 : 0;
	if (fd > 2)
		close(fd);
	return r;
}

void
proc_ns_path(char *buf, size_t len, pid_t pid, enum ns_kind k)
{
	util_fmt(buf, len, "/proc/%d/ns/%s", (int)pid, proc_ns[k].name);
}

unsigned long long
proc_ns_ino(pid_t pid, enum ns_kind k)
{
	char path[48];
	struct stat st;

	proc_ns_path(path, sizeof(path), pid, k);
	return util_stat(path, &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

int
proc_start(pid_t pid, unsigned long long *start, char *state)
{
	char path[32], buf[512], *p;
	int i;

	util_fmt(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (proc_read(path, buf, sizeof(buf)) <= 0)
		return -1;
	/* The command name may hold spaces and parentheses: fields are
	 * counted from the last ')'. */
	if (!(p = util_strrchr(buf, ')')) || p[1] != ' ')
		goto bad;
	p += 2;
	if (state)
		*state = *p;
	for (i = 3; i < 22; i++)
		if (!(p = util_strchr(p, ' ')))
			goto bad;
		else
			p++;
	if (util_parse_ull(p, NULL, ~0ull, start) < 0)
		goto bad;
	return 0;
bad:
	errno = EPROTO;
	return -1;
}

/* The very process that was recorded: same start time, not a zombie. */
int
proc_same(pid_t pid, unsigned long long start)
{
	unsigned long long s;
	char st;

	return pid > 0 && proc_start(pid, &s, &st) == 0 &&
	    s == start && st != 'Z' && st != 'X';
}

/* Out of line: GCC's inlining of it at -Oz costs bytes (measured). */
static __attribute__((noinline)) int
wait_gone(int pidfd, pid_t pid, unsigned long long start, int ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	int n;

	if (pidfd >= 0) {
		while ((n = poll(&p, 1, ms)) < 0 && errno == EINTR)
			;
		return n > 0 ? 0 : -1;
	}
	/* Kernels before 5.3 have no pidfd: watch /proc, with a bound. */
	for (; ms > 0; ms -= 5) {
		if (!proc_same(pid, start))
			return 0;
		poll(NULL, 0, 5);
	}
	return -1;
}

/* Sends sig, then SIGKILL after a bounded wait, to the process recorded
 * as (pid, start) and, with a tag, only if it is that sandbox's pause:
 * start times count clock ticks, and the command line settles the rest.
 * The pidfd is opened before the checks, so the process checked is the
 * one signalled even if the PID is recycled in between. */
int
proc_stop(pid_t pid, unsigned long long start, int sig, const char *tag)
{
	int pidfd, ret = 0, i;

	if (pid <= 0)
		return 0;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0 && errno != ENOSYS)
		return errno == ESRCH ? 0 : -1;
	if (!proc_same(pid, start) || (tag && !pause_is(pid, tag)))
		goto out;
	for (i = 0; i < 2; i++, sig = SIGKILL) {
		if ((pidfd >= 0 ? (int)syscall(SYS_pidfd_send_signal, pidfd,
		    sig, NULL, 0) : kill(pid, sig)) < 0) {
			ret = errno == ESRCH ? 0 : -1;
			goto out;
		}
		if (wait_gone(pidfd, pid, start, STOP_TIMEOUT_MS) == 0)
			goto out;
	}
	errno = ETIMEDOUT;
	ret = -1;
out:
	if (pidfd >= 0)
		close(pidfd);
	/* Reaps it when this process started it (a create rolling back). */
	waitpid(pid, NULL, WNOHANG);
	return ret;
}


/* The processes of one sandbox: its pauses by their tag, every other
 * process by namespace identity. */
int
proc_scan(struct proc_scan *s)
{
	unsigned long long v, start;
	pid_t self = getpid();
	struct util_dir d;
	const char *name, *end;
	int ret = -1, member, r;
	struct proc_id *to;
	pid_t pid;

	if (util_dir_open(&d, AT_FDCWD, "/proc") < 0)
		return -1;
	while ((r = util_dir_next(&d, &name)) > 0) {
		if (util_parse_ull(name, &end, INT_MAX, &v) < 0 || *end)
			continue;
		pid = (pid_t)v;
		if (pid == self)
			continue;
		member = s->ino && proc_ns_ino(pid, s->ns) == s->ino;
		if (s->ino && !member)
			continue;
		if (proc_start(pid, &start, NULL) < 0)
			continue;
		if (pause_is(pid, s->tag)) {
			if (s->npause == PROC_MAX_PAUSES)
				continue;
			to = &s->pause[s->npause++];
		} else {
			if (!member)
				continue;
			if (s->nother == s->cap && util_grow((void **)&s->other,
			    &s->cap, sizeof(*s->other)) < 0)
				goto out;
			to = &s->other[s->nother++];
		}
		to->pid = pid;
		to->start = start;
	}
	ret = r < 0 ? -1 : 0;
out:
	util_dir_close(&d);
	return ret;
}

void
proc_scan_free(struct proc_scan *s)
{
	util_release(s->other, s->cap * sizeof(*s->other));
	s->other = NULL;
	s->nother = s->cap = 0;
}

/* The namespace a sysctl KEY=VALUE changes when written from inside the
 * pod: the network namespace for net.*, the IPC namespace for the IPC
 * keys; -1 for any other key (it would change the host) and for what is
 * no KEY=VALUE: dot-separated words of [A-Za-z0-9_-], and a value of
 * printable characters. */
int
proc_sysctl_ns(const char *kv)
{
	/* Every key under these is the IPC namespace's (shmmax, msgmni,
	 * sem, the *_next_id ones, ...). */
	static const char ipc[] = "kernel.shm\0kernel.msg\0kernel.sem\0"
	    "fs.mqueue.\0";
	const char *p;
	size_t n = util_span(kv, "=", 0), i;
	char c;

	if (!n || n > 100 || kv[n] != '=' || !kv[n + 1] ||
	    util_strlen(kv + n + 1) > 200)
		return -1;
	for (i = 0; i < n; i++) {
		c = kv[i];
		if (c == '.' ? i == 0 || kv[i - 1] == '.' || i == n - 1 :
		    !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return -1;
	}
	for (i = n + 1; kv[i]; i++)
		if ((kv[i] < ' ' && kv[i] != '\t') || kv[i] == 0x7f)
			return -1;
	if (!util_strncmp(kv, "net.", 4))
		return NSK_NET;
	for (p = ipc; *p; p += util_strlen(p) + 1)
		if (!util_strncmp(kv, p, util_strlen(p)))
			return NSK_IPC;
	return -1;
}
