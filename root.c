/* The root directory: sandbox directories, IP leases, names and locks.
 *
 * <root>/sandboxes/<id>/state	the fixed-format state file (state.c)
 * <root>/leases/<a.b.c.d>	symlink to the ID holding the address
 * <root>/names/<name>		symlink to the ID carrying the name
 * <root>/lock			flock()ed while an ID, name and address are
 *				claimed, and by prune
 *
 * Leases and names are symlinks because symlinkat() creates them whole and
 * exclusively in one call, and a shell reads them with readlink. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "pelagos.h"

int
root_open(const char *path, int create)
{
	static const char *const sub[] = { "sandboxes", "leases", "names" };
	int fd = -1;
	size_t i;

	if (create && mkdir(path, 0700) < 0 && errno != EEXIST)
		return -1;
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	for (i = 0; create && i < sizeof(sub) / sizeof(sub[0]); i++)
		if (mkdirat(fd, sub[i], 0700) < 0 && errno != EEXIST) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
	return fd;
}

int
root_lock(int rootfd)
{
	int fd;

	fd = openat(rootfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
	}
	return fd;
}

static void
root_path(char *buf, size_t len, const char *id, const char *file)
{
	util_fmt(buf, len, "sandboxes/%s%s%s", id, file ? "/" : "",
	    file ? file : "");
}

static int
sandboxes_dir(int rootfd)
{
	return openat(rootfd, "sandboxes", O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
}

/* <root>/sandboxes/<id>, never through a symlink at either step: whatever
 * is done inside it then stays inside the root. */
int
root_sbdir(int rootfd, const char *id)
{
	int sfd, fd, e;

	if ((sfd = sandboxes_dir(rootfd)) < 0)
		return -1;
	fd = openat(sfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	e = errno;
	close(sfd);
	errno = e;
	return fd;
}

/* Makes the sandbox's directory and returns it open and flock()ed: the
 * lock lives as long as the create that holds it, crash or not. */
int
root_claim(int rootfd, const char *id)
{
	char p[64];
	int fd, e;

	root_path(p, sizeof(p), id, NULL);
	if (mkdirat(rootfd, p, 0700) < 0)
		return -1;
	if ((fd = root_sbdir(rootfd, id)) >= 0 &&
	    flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	e = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(rootfd, p, AT_REMOVEDIR);
	errno = e;
	return -1;
}

/* Whether a create still holds the sandbox's directory. */
int
root_busy(int rootfd, const char *id)
{
	int fd, busy;

	if ((fd = root_sbdir(rootfd, id)) < 0)
		return 0;
	busy = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return busy;
}

/* Removes the directory and the files in it (state and perhaps the
 * temporary file of a write that was cut short); nothing recursive.  A
 * symlink or file put in the directory's place is removed, never
 * followed. */
int
root_rmdir(int rootfd, const char *id)
{
	struct util_dir d = { .fd = -1 };
	const char *name;
	int sfd, ret = -1;

	if ((sfd = sandboxes_dir(rootfd)) < 0)
		return errno == ENOENT ? 0 : -1;
	if (util_dir_open(&d, sfd, id) < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			ret = unlinkat(sfd, id, 0);
		goto out;
	}
	while ((name = util_dir_next(&d)))
		if (unlinkat(d.fd, name, 0) < 0 && errno != ENOENT)
			goto out;
	if (errno)
		goto out;
	ret = unlinkat(sfd, id, AT_REMOVEDIR);
out:
	if (ret < 0 && errno == ENOENT)
		ret = 0;
	util_dir_close(&d);
	close(sfd);
	return ret;
}

/* Reads the ID a lease or name symlink points at. */
static int
read_link_id(int dirfd, const char *path, char id[ID_LEN + 1])
{
	ssize_t n = readlinkat(dirfd, path, id, ID_LEN + 1);

	if (n < 0)
		return -1;
	id[n < ID_LEN ? n : ID_LEN] = '\0';
	if (n != ID_LEN || !state_valid_id(id)) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

/* Unlinks a lease or name only while it still belongs to id. */
static int
free_link(int rootfd, const char *path, const char *id)
{
	char cur[ID_LEN + 1];

	if (read_link_id(rootfd, path, cur) < 0)
		return errno == ENOENT ? 0 : -1;
	if (strcmp(cur, id))
		return 0;
	if (unlinkat(rootfd, path, 0) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* Call with the root locked. */
int
root_lease_take(int rootfd, const struct subnet *sn, const char *id,
	uint32_t *ip)
{
	uint32_t *used = NULL, a;
	size_t n = 0, cap = 0;
	struct util_dir d;
	const char *name;
	char p[32], s[16];
	int ret = -1;

	if (util_dir_open(&d, rootfd, "leases") < 0)
		goto out;
	while ((name = util_dir_next(&d))) {
		if (state_parse_ip(name, &a) < 0)
			continue;
		if (n == cap && util_grow((void **)&used, &cap,
		    sizeof(*used)) < 0)
			goto out;
		used[n++] = a;
	}
	if (errno || state_ipam_pick(sn, used, n, ip) < 0)
		goto out;
	state_format_ip(*ip, s);
	util_fmt(p, sizeof(p), "leases/%s", s);
	ret = symlinkat(id, rootfd, p);
out:
	util_dir_close(&d);
	util_release(used, cap * sizeof(*used));
	return ret;
}

int
root_lease_free(int rootfd, uint32_t ip, const char *id)
{
	char p[32], s[16];

	state_format_ip(ip, s);
	util_fmt(p, sizeof(p), "leases/%s", s);
	return free_link(rootfd, p, id);
}

/* A name whose sandbox directory is gone was left by a create that died;
 * it is taken over.  Call with the root locked. */
int
root_name_take(int rootfd, const char *name, const char *id)
{
	char p[80], other[ID_LEN + 1], d[64];
	struct stat st;

	util_fmt(p, sizeof(p), "names/%s", name);
	if (symlinkat(id, rootfd, p) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (read_link_id(rootfd, p, other) == 0) {
		root_path(d, sizeof(d), other, NULL);
		if (fstatat(rootfd, d, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
		    errno != ENOENT) {
			errno = EEXIST;
			return -1;
		}
	}
	if (unlinkat(rootfd, p, 0) < 0 && errno != ENOENT)
		return -1;
	return symlinkat(id, rootfd, p);
}

int
root_name_free(int rootfd, const char *name, const char *id)
{
	char p[80];

	util_fmt(p, sizeof(p), "names/%s", name);
	return free_link(rootfd, p, id);
}

int
root_name_lookup(int rootfd, const char *name, char id[ID_LEN + 1])
{
	char p[80];

	util_fmt(p, sizeof(p), "names/%s", name);
	return read_link_id(rootfd, p, id);
}

/* Visits the links in leases/ and names/, unlinking those for which
 * drop(id the link points at) says so.  A link that does not hold an ID is
 * left alone: it is not ours to judge. */
static int
links_sweep(int rootfd, int (*drop)(int, const char *, const void *),
	const void *arg)
{
	static const char *const dirs[] = { "leases", "names" };
	char id[ID_LEN + 1];
	struct util_dir d;
	const char *name;
	size_t i;
	int ret = 0;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (util_dir_open(&d, rootfd, dirs[i]) < 0) {
			if (errno == ENOENT)
				continue;
			return -1;
		}
		while ((name = util_dir_next(&d))) {
			if (read_link_id(d.fd, name, id) < 0 ||
			    !drop(rootfd, id, arg))
				continue;
			if (unlinkat(d.fd, name, 0) < 0 && errno != ENOENT)
				ret = -1;
		}
		if (errno)
			ret = -1;
		util_dir_close(&d);
	}
	return ret;
}

static int
is_id(int rootfd, const char *id, const void *want)
{
	(void)rootfd;
	return !strcmp(id, want);
}

static int
is_orphan(int rootfd, const char *id, const void *arg)
{
	char d[64];
	struct stat st;

	(void)arg;
	root_path(d, sizeof(d), id, NULL);
	return fstatat(rootfd, d, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
	    errno == ENOENT;
}

/* Frees every lease and name of a sandbox whose state was lost. */
int
root_links_free(int rootfd, const char *id)
{
	return links_sweep(rootfd, is_id, id);
}

/* Frees leases and names whose sandbox directory is gone.  Call with the
 * root locked, so that no create is between its links and its state. */
int
root_links_prune(int rootfd)
{
	return links_sweep(rootfd, is_orphan, NULL);
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The IDs of every sandbox directory, sorted. */
int
root_list(int rootfd, struct root_ids *ids)
{
	struct util_dir d;
	const char *name;
	int ret = -1;

	memset(ids, 0, sizeof(*ids));
	if (util_dir_open(&d, rootfd, "sandboxes") < 0)
		goto out;
	while ((name = util_dir_next(&d))) {
		if (!state_valid_id(name))
			continue;
		if (ids->n == ids->cap && util_grow((void **)&ids->id,
		    &ids->cap, sizeof(*ids->id)) < 0)
			goto out;
		strcpy(ids->id[ids->n++], name);
	}
	if (errno)
		goto out;
	util_sort(ids->id, ids->n, sizeof(*ids->id), cmp_id);
	ret = 0;
out:
	util_dir_close(&d);
	if (ret < 0)
		root_ids_free(ids);
	return ret;
}

void
root_ids_free(struct root_ids *ids)
{
	util_release(ids->id, ids->cap * sizeof(*ids->id));
	memset(ids, 0, sizeof(*ids));
}
