/* SPDX-License-Identifier: Apache-2.0 */
/* A pod's cgroup (v2): its directory, the leaves its processes live in,
 * its limits and its usage.
 *
 *	<parent>/<id>		the pod: limits, and no process of its own
 *	<parent>/<id>/pause	the pause (both of them with --pod-pid)
 *	<parent>/<id>/w<8hex>	one per run workload, with its own limits
 *
 * v2 lets no process sit in a cgroup that hands controllers on to its
 * children, hence the leaves.  The parent is $PELAGOS_CGROUP_PARENT,
 * else "pelagos" on the cgroup2 mounted at /sys/fs/cgroup or, on a
 * hybrid host, at /sys/fs/cgroup/unified; "none", no cgroup2, or a kernel
 * without cgroup.kill (before 5.14) gives pods no cgroup. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "pelagos.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#define KILL_TIMEOUT_MS	2000

/* In LIM_* order, as LIMIT_OPTS lists them: the option, its controller
 * (as cgroup.subtree_control turns it on), the file it sets. */
static const struct {
	char opt[14], ctl[8], file[16];
} lims[LIM_COUNT] = {
	{ "--memory", "+memory", "memory.max" },
	{ "--memory-swap", "+memory", "memory.swap.max" },
	{ "--cpus", "+cpu", "cpu.max" },
	{ "--pids", "+pids", "pids.max" },
	{ "--cpu-weight", "+cpu", "cpu.weight" },
};

/* The value of limit i (LIM_*): -1 when bad.  Sizes take a k, m, g or t
 * suffix (powers of 1024); CPUs up to three decimals, at least 0.01,
 * kept as a quota of us per 100 ms. */
int
cgroup_limit(int i, const char *v, struct limits *l)
{
	unsigned long long n, d = 10000;
	const char *end, *u;

	if (util_parse_ull(v, &end, 1ull << 40, &n) < 0)
		return -1;
	if (i == LIM_QUOTA) {
		n *= 100000;
		if (*end == '.')
			for (end++; d >= 100 && *end >= '0' && *end <= '9'; d /= 10)
				n += (unsigned long long)(*end++ - '0') * d;
		if (n < 1000)
			return -1;
	} else if (i <= LIM_SWAP && *end && (u = util_strchr("kmgt", *end | 0x20))) {
		d = 10 * (unsigned long long)(u - "kmgt" + 1);
		if (n >> (62 - d))
			return -1;
		n <<= d;
		end++;
	}
	if (*end || !n || (i == LIM_WEIGHT && n > 10000))
		return -1;
	l->v[i] = n;
	return 0;
}

/* The parent of pod cgroups into buf, "" when pods get none; -1 with
 * EINVAL for a $PELAGOS_CGROUP_PARENT that is no path of ours. */
int
cgroup_parent(char buf[CG_PATH_LEN])
{
	static const char mounts[][24] = {
		"/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	const char *p = util_getenv("PELAGOS_CGROUP_PARENT");
	struct statfs st;
	size_t i;

	buf[0] = '\0';
	if (p && *p) {
		if (!strcmp(p, "none"))
			return 0;
		if (!valid_path(p) ||
		    util_strlen(p) >= CG_PATH_LEN - ID_LEN - 1) {
			errno = EINVAL;
			return -1;
		}
		util_strcpy(buf, p);
		return 0;
	}
	for (i = 0; i < 2; i++)
		if (statfs(mounts[i], &st) == 0 &&
		    st.f_type == CGROUP2_SUPER_MAGIC) {
			util_fmt(buf, CG_PATH_LEN, "%s/pelagos", mounts[i]);
			break;
		}
	return 0;
}

/* The number after "key " on a line of the small cgroup file at fd, or
 * its first one; read from the start, so that it can be read again. */
static int
scan(int fd, const char *key, unsigned long long *v)
{
	char buf[512], *p = buf;
	size_t n = key ? util_strlen(key) : 0;
	ssize_t len = pread(fd, buf, sizeof(buf) - 1, 0);

	buf[len > 0 ? len : 0] = '\0';
	for (; key && p; p = util_strchr(p, '\n'), p += p != NULL)
		if (!util_strncmp(p, key, n) && p[n] == ' ') {
			p += n + 1;
			break;
		}
	if (!p) {
		errno = ENOENT;
		return -1;
	}
	return util_parse_ull(p, NULL, ~0ull, v);
}

/* Out of line: GCC's inlining of it at -Oz costs bytes (measured). */
static __attribute__((noinline)) int
open_file(const char *dir, const char *file)
{
	char p[CG_PATH_LEN + 48];

	util_fmt(p, sizeof(p), "%s/%s", dir, file);
	return openat(AT_FDCWD, p, O_RDONLY | O_CLOEXEC);
}

int
cgroup_stat(const char *dir, const char *file, const char *key,
	unsigned long long *v)
{
	int fd = open_file(dir, file), r;

	if (fd < 0)
		return -1;
	r = scan(fd, key, v);
	close(fd);
	return r;
}

/* A cgroup file takes one command per write. */
static int
put(int dirfd, const char *file, const char *s)
{
	int fd, r;

	if ((fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	r = util_write_all(fd, s, util_strlen(s));
	close(fd);
	return r;
}

/* Hands on to the children of dir the controllers limits l need, or
 * without l pids, each where it can: one the cgroup lacks fails the
 * write, and a limit that needs it then fails by its file's absence.
 * What no limit needs costs: a memory controller gives each cgroup a
 * memcg (and each new superblock, as a pause's root, work for every
 * memcg), and a cpu controller makes the pods one group to the
 * scheduler, which a create's own processes outweigh. */
static void
enable(const char *dir, const struct limits *l)
{
	char p[CG_PATH_LEN + 32];
	int i;

	util_fmt(p, sizeof(p), "%s/cgroup.subtree_control", dir);
	for (i = 0; i < LIM_COUNT; i++)
		if (l ? l->v[i] != 0 : i == LIM_PIDS)
			put(AT_FDCWD, p, lims[i].ctl);
}

/* Makes the cgroup dirfd/name (at path), with the limits l, and opens
 * it.  memory.swap.max takes the swap alone, cpu.max a quota per
 * 100 ms. */
static int
make(int dirfd, const char *name, const char *path, const struct limits *l,
	struct pelagos_err *e)
{
	char v[32];
	int fd, i;

	if (mkdirat(dirfd, name, 0755) < 0 ||
	    (fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_os(e, "make cgroup %s", path);
	for (i = 0; i < LIM_COUNT; i++) {
		if (!l->v[i])
			continue;
		util_fmt(v, sizeof(v), i == LIM_QUOTA ? "%llu 100000" : "%llu",
		    l->v[i] - (i == LIM_SWAP ? l->v[LIM_MEMORY] : 0));
		if (put(fd, lims[i].file, v) < 0) {
			if (errno == ENOENT)
				err_msg(e, ENOTSUP, "%s needs the %s controller,"
				    " which cgroup %.*s does not hand on",
				    lims[i].opt, lims[i].ctl + 1, (int)
				    (util_strrchr(path, '/') - path), path);
			else
				err_os(e, "cgroup %s: %s", path, lims[i].file);
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* The first limit set, -1 for none. */
static int
first(const struct limits *l)
{
	int i;

	for (i = 0; i < LIM_COUNT; i++)
		if (l->v[i])
			return i;
	return -1;
}

/* Limits where there is no cgroup, for the reason why, fail; with a
 * cgroup (why NULL), those that do not fit together. */
static int
no_cgroup(const struct limits *l, const char *why, struct pelagos_err *e)
{
	int i = first(l);

	if (!why)
		return l->v[LIM_SWAP] && (!l->v[LIM_MEMORY] ||
		    l->v[LIM_SWAP] < l->v[LIM_MEMORY]) ? err_msg(e, EINVAL,
		    "--memory-swap needs --memory, and as much") : 0;
	return i < 0 ? 0 : err_msg(e, ENOTSUP, "%s needs the %s controller of"
	    " a cgroup2: %s", lims[i].opt, lims[i].ctl + 1, why);
}

/* Makes the pod's cgroup with its limits and the pause's leaf, *leaf
 * for cgroup_fork (-1 when the pod gets no cgroup).  sb->cgroup is set
 * once the directory exists, for the rollback, which removes it whatever
 * failed. */
int
cgroup_create(struct sandbox *sb, int *leaf, struct pelagos_err *e)
{
	char parent[CG_PATH_LEN], path[CG_PATH_LEN + 16];
	struct statfs sf;
	struct stat st;
	int pfd, dfd = -1, ret = -1, made;

	*leaf = -1;
	if (cgroup_parent(parent) < 0)
		return err_msg(e, EINVAL, "invalid PELAGOS_CGROUP_PARENT");
	if ((ret = no_cgroup(&sb->lim, parent[0] ? NULL :
	    "no cgroup2 is mounted", e)) < 0 || !parent[0])
		return ret;
	ret = -1;
	made = mkdir(parent, 0755) == 0;
	if ((pfd = openat(AT_FDCWD, parent, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0 ||
	    fstatfs(pfd, &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC) {
		errno = pfd < 0 ? errno : ENOTDIR;
		err_os(e, "cgroup %s", parent);
		goto out;
	}
	/* Each write takes the cgroup core's one lock, which parallel
	 * creates wait on: a parent is set up once, and for the limits. */
	if (made)
		enable(parent, NULL);
	enable(parent, &sb->lim);
	util_fmt(sb->cgroup, CG_PATH_LEN, "%s/%s", parent, sb->id);
	if ((dfd = make(pfd, sb->id, sb->cgroup, &sb->lim, e)) < 0) {
		/* Not ours to remove. */
		if (errno == EEXIST)
			sb->cgroup[0] = '\0';
		goto out;
	}
	/* What rm relies on came with Linux 5.14. */
	if (util_fstatat(dfd, "cgroup.kill", &st, 0) < 0) {
		ret = no_cgroup(&sb->lim, "no cgroup.kill", e);
		if (rmdir(sb->cgroup) == 0)
			sb->cgroup[0] = '\0';
		goto out;
	}
	enable(sb->cgroup, &sb->lim);
	ret = cgroup_leaf(sb, "pause", &(struct limits){ { 0 } }, path, leaf,
	    e);
out:
	if (pfd >= 0)
		close(pfd);
	if (dfd >= 0)
		close(dfd);
	return ret;
}

/* A leaf of the pod's cgroup, named name or at random, with its own
 * limits; path gets its path ("" when the pod has no cgroup), *fd the
 * leaf open for cgroup_fork. */
int
cgroup_leaf(const struct sandbox *sb, const char *name,
	const struct limits *l, char path[CG_PATH_LEN + 16], int *fd,
	struct pelagos_err *e)
{
	unsigned int r;
	int ret;

	path[0] = '\0';
	*fd = -1;
	ret = no_cgroup(l, sb->cgroup[0] ? NULL : "the sandbox has none", e);
	if (ret < 0 || !sb->cgroup[0])
		return ret;
	enable(sb->cgroup, l);
	if (name)
		util_fmt(path, CG_PATH_LEN + 16, "%s/%s", sb->cgroup, name);
	else if (getrandom(&r, sizeof(r), 0) == (ssize_t)sizeof(r))
		util_fmt(path, CG_PATH_LEN + 16, "%s/w%08x", sb->cgroup, r);
	else
		return err_os(e, "cgroup %s", sb->cgroup);
	if ((*fd = make(AT_FDCWD, path, path, l, e)) < 0) {
		if (errno != EEXIST)
			rmdir(path);
		path[0] = '\0';
		return -1;
	}
	return 0;
}

/* fork(), but with the child born in the cgroup at dirfd (-1: the
 * caller's): one that moved there by cgroup.procs would wait out an RCU
 * grace period of the cgroup core's lock (about 10 ms), and would run,
 * for a moment, outside it.  libc does not see this fork, nor, with -1,
 * a plain one (libc's fork keeps books for threads and atfork handlers,
 * which pelagos has none of, at 1.8 KB of binary), so the child uses
 * none of libc's thread functions (raise, abort, locks). */
pid_t
cgroup_fork(int dirfd)
{
	struct {
		unsigned long long flags, pidfd, child_tid, parent_tid,
		    exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
		    cgroup;
	} a = { .flags = 0x200000000ull, .exit_signal = SIGCHLD,
		.cgroup = (unsigned long long)dirfd };	/* CLONE_INTO_CGROUP */

	if (dirfd >= 0)
		return (pid_t)syscall(SYS_clone3, &a, sizeof(a));
	/* With no stack, clone is fork on every architecture; its other
	 * arguments, in whatever order, are all 0. */
	return (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
}

/* Removes the leaf of a workload that ended and says how many of its
 * processes the OOM killer took. */
unsigned long long
cgroup_leaf_done(const char *path)
{
	unsigned long long n = 0;

	cgroup_stat(path, "memory.events", "oom_kill", &n);
	rmdir(path);
	return n;
}

/* The processes in the cgroup tree at dirfd/name, but for its child
 * skip; with rm, the tree's directories are removed, deepest first. */
static long
walk(int dirfd, const char *name, int rm, const char *skip)
{
	struct util_dir d;
	const char *n;
	char buf[512];
	long total = 0, c;
	ssize_t k, i;
	int fd, r;

	if (util_dir_open(&d, dirfd, name) < 0)
		return rm && errno == ENOENT ? 0 : -1;
	while ((r = util_dir_next(&d, &n)) > 0) {
		if (!util_dir_isdir(n) || (skip && !strcmp(n, skip)))
			continue;
		if ((c = walk(d.fd, n, rm, NULL)) < 0)
			break;
		total += c;
	}
	if (r != 0)
		total = -1;
	if (!rm && total >= 0 &&
	    (fd = openat(d.fd, "cgroup.procs", O_RDONLY | O_CLOEXEC)) >= 0) {
		while ((k = read(fd, buf, sizeof(buf))) > 0)
			for (i = 0; i < k; i++)
				total += buf[i] == '\n';
		close(fd);
	}
	util_dir_close(&d);
	if (rm && total >= 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 &&
	    errno != ENOENT)
		total = -1;
	return total;
}

/* The processes in the pod's cgroup but its pauses. */
long
cgroup_busy(const char *path)
{
	return walk(AT_FDCWD, path, 0, "pause");
}

/* Kills everything in the pod's cgroup at once, waits, with a bound, for
 * the kernel to say it is empty, and removes its directories.  The
 * cgroup core sends cgroup.events' change at most every 10 ms, so the
 * pause's exit, which comes with it or after all else (as a PID 1), is
 * awaited too, through a pidfd. */
int
cgroup_remove(const char *path, pid_t pause, struct pelagos_err *e)
{
	struct pollfd p[2] = { { .events = POLLPRI }, { .events = POLLIN } };
	unsigned long long v;
	int fd, ret = -1, i;

	if ((fd = openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : err_os(e, "cgroup %s", path);
	p[1].fd = pause > 0 ? (int)syscall(SYS_pidfd_open, pause, 0) : -1;
	if ((p[0].fd = open_file(path, "cgroup.events")) < 0 ||
	    put(fd, "cgroup.kill", "1") < 0)
		goto fail;
	for (i = 0; scan(p[0].fd, "populated", &v) == 0; i++) {
		if (!v) {
			if (walk(AT_FDCWD, path, 1, NULL) < 0)
				goto fail;
			ret = 0;
			goto out;
		}
		if (i == 64 || poll(p, 2, KILL_TIMEOUT_MS) <= 0) {
			errno = ETIMEDOUT;
			break;
		}
		if (p[1].revents) {
			close(p[1].fd);
			p[1].fd = -1;
		}
	}
fail:
	err_os(e, "remove cgroup %s", path);
out:
	close(fd);
	for (i = 0; i < 2; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	return ret;
}

/* The cgroup of a sandbox whose state is lost: its ID under the parent,
 * if there is one. */
void
cgroup_derive(const char *id, char path[CG_PATH_LEN])
{
	struct stat st;

	if (cgroup_parent(path) < 0 || !path[0])
		return;
	util_fmt(path + util_strlen(path), CG_PATH_LEN - util_strlen(path),
	    "/%s", id);
	if (util_stat(path, &st) < 0)
		path[0] = '\0';
}

/* Removes the cgroups of sandboxes this root no longer has, if nothing
 * runs in them: another root may share the parent. */
void
cgroup_prune(int rootfd)
{
	char parent[CG_PATH_LEN];
	struct util_dir d;
	const char *n;

	if (cgroup_parent(parent) < 0 || !parent[0] ||
	    util_dir_open(&d, AT_FDCWD, parent) < 0)
		return;
	while (util_dir_next(&d, &n) > 0)
		if (util_dir_isdir(n) && valid_id(n) && !root_exists(rootfd, n))
			walk(d.fd, n, 1, NULL);
	util_dir_close(&d);
}
