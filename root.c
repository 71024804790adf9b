/* SPDX-License-Identifier: Apache-2.0 */
/* The root directory: sandbox directories, names, locks and listing.
 *
 * <root>/sandboxes/<id>/state	the fixed-format state file (state.c)
 * <root>/leases/<address>	symlink to the ID holding the address (ipam.c)
 * <root>/names/<name>		symlink to the ID carrying the name
 * <root>/networks/<name>	a network's definition (netdef.c)
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
	static const char *const sub[] = { "sandboxes", "leases", "names",
		"networks" };
	int fd = -1, e;
	size_t i;

	if (create && mkdir(path, 0700) < 0 && errno != EEXIST)
		return -1;
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	for (i = 0; create && i < sizeof(sub) / sizeof(sub[0]); i++)
		if (mkdirat(fd, sub[i], 0700) < 0 && errno != EEXIST) {
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
	return fd;
}

int
root_lock(int rootfd)
{
	int fd, e;

	fd = openat(rootfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
	}
	return fd;
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
	int sfd, fd = -1, e;

	if ((sfd = sandboxes_dir(rootfd)) < 0)
		return -1;
	if (mkdirat(sfd, id, 0700) < 0)
		goto out;
	if ((fd = openat(sfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
		goto out;
	e = errno;
	if (fd >= 0)
		close(fd);
	fd = -1;
	unlinkat(sfd, id, AT_REMOVEDIR);
	errno = e;
out:
	e = errno;
	close(sfd);
	errno = e;
	return fd;
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

/* Whether anything, directory or not, sits at sandboxes/<id>. */
int
root_exists(int rootfd, const char *id)
{
	char p[64];
	struct stat st;

	util_fmt(p, sizeof(p), "sandboxes/%s", id);
	return fstatat(rootfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	    errno != ENOENT;
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
	int sfd, ret = -1, r;

	if ((sfd = sandboxes_dir(rootfd)) < 0)
		return errno == ENOENT ? 0 : -1;
	if (util_dir_open(&d, sfd, id) < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			ret = unlinkat(sfd, id, 0);
		goto out;
	}
	while ((r = util_dir_next(&d, &name)) > 0)
		if (unlinkat(d.fd, name, 0) < 0 && errno != ENOENT)
			goto out;
	if (r == 0)
		ret = unlinkat(sfd, id, AT_REMOVEDIR);
out:
	if (ret < 0 && errno == ENOENT)
		ret = 0;
	util_dir_close(&d);
	close(sfd);
	return ret;
}

/* Reads the ID a lease or name symlink points at. */
int
root_link_read(int dirfd, const char *path, char id[ID_LEN + 1])
{
	ssize_t n = readlinkat(dirfd, path, id, ID_LEN + 1);

	if (n < 0)
		return -1;
	id[n < ID_LEN ? n : ID_LEN] = '\0';
	if (n != ID_LEN || !valid_id(id)) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

/* Unlinks a lease or name only while it still belongs to id. */
int
root_link_free(int dirfd, const char *path, const char *id)
{
	char cur[ID_LEN + 1];

	if (root_link_read(dirfd, path, cur) < 0)
		return errno == ENOENT ? 0 : -1;
	if (strcmp(cur, id))
		return 0;
	if (unlinkat(dirfd, path, 0) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* Visits the links in dir, unlinking those for which drop(root, the ID
 * the link points at, arg) says so.  A link that does not hold an ID is
 * left alone: it is not ours to judge. */
int
root_links_sweep(int rootfd, const char *dir,
	int (*drop)(int rootfd, const char *id, const void *arg),
	const void *arg)
{
	char id[ID_LEN + 1];
	struct util_dir d;
	const char *name;
	int ret = 0, r;

	if (util_dir_open(&d, rootfd, dir) < 0)
		return errno == ENOENT ? 0 : -1;
	while ((r = util_dir_next(&d, &name)) > 0) {
		if (root_link_read(d.fd, name, id) < 0 ||
		    !drop(rootfd, id, arg))
			continue;
		if (unlinkat(d.fd, name, 0) < 0 && errno != ENOENT)
			ret = -1;
	}
	if (r < 0)
		ret = -1;
	util_dir_close(&d);
	return ret;
}

int
root_is_id(int rootfd, const char *id, const void *want)
{
	(void)rootfd;
	return !strcmp(id, want);
}

/* A link whose sandbox directory is gone: call with the root locked, so
 * that no create is between its links and its directory. */
int
root_is_orphan(int rootfd, const char *id, const void *arg)
{
	(void)arg;
	return !root_exists(rootfd, id);
}

/* A lease or name whose sandbox directory is gone was left by a create
 * that died; it is taken over.  Call with the root locked. */
int
root_link_take(int rootfd, const char *path, const char *id)
{
	char other[ID_LEN + 1];

	if (symlinkat(id, rootfd, path) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (root_link_read(rootfd, path, other) == 0 &&
	    root_exists(rootfd, other)) {
		errno = EEXIST;
		return -1;
	}
	if (unlinkat(rootfd, path, 0) < 0 && errno != ENOENT)
		return -1;
	return symlinkat(id, rootfd, path);
}

int
root_name_take(int rootfd, const char *name, const char *id)
{
	char p[80];

	util_fmt(p, sizeof(p), "names/%s", name);
	return root_link_take(rootfd, p, id);
}

int
root_name_free(int rootfd, const char *name, const char *id)
{
	char p[80];

	util_fmt(p, sizeof(p), "names/%s", name);
	return root_link_free(rootfd, p, id);
}

int
root_name_lookup(int rootfd, const char *name, char id[ID_LEN + 1])
{
	char p[80];

	util_fmt(p, sizeof(p), "names/%s", name);
	return root_link_read(rootfd, p, id);
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The IDs of every sandbox directory, sorted; a root without a
 * sandboxes/ directory yet has none. */
int
root_list(int rootfd, struct root_ids *ids)
{
	struct util_dir d = { .fd = -1 };
	const char *name;
	int ret = -1, r;

	memset(ids, 0, sizeof(*ids));
	if (util_dir_open(&d, rootfd, "sandboxes") < 0) {
		ret = errno == ENOENT ? 0 : -1;
		goto out;
	}
	while ((r = util_dir_next(&d, &name)) > 0) {
		if (!valid_id(name))
			continue;
		if (ids->n == ids->cap && util_grow((void **)&ids->id,
		    &ids->cap, sizeof(*ids->id)) < 0)
			goto out;
		strcpy(ids->id[ids->n++], name);
	}
	if (r < 0)
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
