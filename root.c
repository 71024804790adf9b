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
 * exclusively in one call, and a shell reads them with readlink.
 *
 * No component below the root is ever followed through a symlink: one
 * planted at sandboxes/, leases/ or names/ would lead into another root.
 * Every change of a directory is fsynced before the call returns, so that
 * after a power cut a sandbox is wholly there, wholly gone, or half-made
 * in a way prune recognises (a directory without a state file). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "pelagos.h"

/* A directory of the root, never through a symlink. */
int
root_dir(int rootfd, const char *name)
{
	return openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
}

/* fsync, which a file system without it (EINVAL) does not need. */
int
root_sync(int fd)
{
	return fsync(fd) < 0 && errno != EINVAL ? -1 : 0;
}

/* Closes fd, if open, with errno kept; passes ret on. */
int
root_close(int fd, int ret)
{
	int e = errno;

	if (fd >= 0)
		close(fd);
	errno = e;
	return ret;
}

/* The root, with (create) its three directories made and made durable.
 * An existing one is checked the same way: a symlink or a file in the
 * place of one of them is refused (ELOOP or ENOTDIR). */
int
root_open(const char *path, int create)
{
	static const char sub[] = "sandboxes\0leases\0names\0networks\0";
	const char *s;
	int fd = -1, d, made = 0;

	if (create && mkdir(path, 0700) == 0)
		made = 1;
	else if (create && errno != EEXIST)
		return -1;
	if ((fd = openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		return -1;
	for (s = sub; *s; s += util_strlen(s) + 1) {
		if (create && mkdirat(fd, s, 0700) == 0)
			made = 1;
		else if (create && errno != EEXIST)
			goto fail;
		if ((d = root_dir(fd, s)) < 0 && errno != ENOENT)
			goto fail;
		root_close(d, 0);
	}
	if (made && root_sync(fd) < 0)
		goto fail;
	return fd;
fail:
	return root_close(fd, -1);
}

/* The root's lock: exclusive for whoever claims or removes records, or
 * shared (opened read-only, so it works on a read-only root too) for a
 * reader that must not see a claim half-done; a root without a lock file
 * has nobody claiming (ENOENT). */
int
root_lock(int rootfd, int how)
{
	int fd;

	fd = openat(rootfd, "lock", how == LOCK_EX ? O_RDWR | O_CREAT |
	    O_CLOEXEC | O_NOFOLLOW : O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	while (flock(fd, how) < 0) {
		if (errno != EINTR)
			return root_close(fd, -1);
	}
	return fd;
}

static int
sandboxes_dir(int rootfd)
{
	return root_dir(rootfd, "sandboxes");
}

/* <root>/sandboxes/<id>, never through a symlink at either step: whatever
 * is done inside it then stays inside the root. */
int
root_sbdir(int rootfd, const char *id)
{
	int sfd, fd;

	if ((sfd = sandboxes_dir(rootfd)) < 0)
		return -1;
	fd = openat(sfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return root_close(sfd, fd);
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
	    O_CLOEXEC)) >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
	    root_sync(sfd) == 0)
		goto out;
	fd = root_close(fd, -1);
	e = errno;
	unlinkat(sfd, id, AT_REMOVEDIR);
	errno = e;
out:
	return root_close(sfd, fd);
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

/* Whether anything, directory or not, sits at sandboxes/<id> (when in
 * doubt, something does). */
int
root_exists(int rootfd, const char *id)
{
	struct stat st;
	int sfd, r;

	if ((sfd = sandboxes_dir(rootfd)) < 0)
		return errno != ENOENT;
	r = util_fstatat(sfd, id, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
	close(sfd);
	return r;
}

/* Removes name in dirfd whatever it is: a file, a link, a FIFO, a device
 * node or a directory tree a few levels deep, never following a link.
 * What a sandbox directory holds is ours, also what was planted there. */
static int
remove_any(int dirfd, const char *name, int depth)
{
	struct util_dir d = { .fd = -1 };
	const char *sub;
	int ret = -1, r;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	if (depth == 0) {
		errno = ENOTEMPTY;
		return -1;
	}
	if (util_dir_open(&d, dirfd, name) < 0)
		return -1;
	while ((r = util_dir_next(&d, &sub)) > 0)
		if (remove_any(d.fd, sub, depth - 1) < 0)
			goto out;
	if (r == 0 && (unlinkat(dirfd, name, AT_REMOVEDIR) == 0 ||
	    errno == ENOENT))
		ret = 0;
out:
	util_dir_close(&d);
	return ret;
}

/* Removes the sandbox's directory and whatever is in it (the state, the
 * temporary file of a write cut short, or anything planted in their
 * place), durably.  A symlink or file put in the directory's place is
 * removed, never followed. */
int
root_rmdir(int rootfd, const char *id)
{
	int sfd, ret;

	if ((sfd = sandboxes_dir(rootfd)) < 0)
		return errno == ENOENT ? 0 : -1;
	ret = remove_any(sfd, id, 4);
	if (ret == 0)
		ret = root_sync(sfd);
	close(sfd);
	return ret;
}

/* Reads the ID a lease or name symlink points at. */
int
root_link_read(int dirfd, const char *path, char id[ID_LEN + 1])
{
	ssize_t n = (ssize_t)syscall(SYS_readlinkat, dirfd, path, id,
	    ID_LEN + 1);

	if (n < 0)
		return -1;
	id[n < ID_LEN ? n : ID_LEN] = '\0';
	if (n != ID_LEN || !valid_id(id)) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

/* Makes a lease or name link in the directory dir, durably unless the
 * caller syncs dir with a later link (!sync). */
int
root_link_make(int rootfd, const char *dir, const char *name, const char *id,
	int sync)
{
	int dfd, ret = -1, e;

	if ((dfd = root_dir(rootfd, dir)) < 0)
		return -1;
	/* A link that could not be made durable is not reported made, so
	 * it must not stay behind either. */
	if (symlinkat(id, dfd, name) == 0 && (ret = sync ? root_sync(dfd) :
	    0) < 0) {
		e = errno;
		unlinkat(dfd, name, 0);
		errno = e;
	}
	return root_close(dfd, ret);
}

/* Unlinks a lease or name in dir only while it still belongs to id;
 * call with the root locked, or another create may have taken it. */
int
root_link_free(int rootfd, const char *dir, const char *name, const char *id)
{
	char cur[ID_LEN + 1];
	int dfd, ret = 0;

	if ((dfd = root_dir(rootfd, dir)) < 0)
		return errno == ENOENT ? 0 : -1;
	if (root_link_read(dfd, name, cur) < 0)
		ret = errno == ENOENT ? 0 : -1;
	else if (!strcmp(cur, id))
		ret = unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -1 :
		    root_sync(dfd);
	return root_close(dfd, ret);
}

/* Visits the links in dir, unlinking those for which drop(root, the
 * link's name, what it points at, arg) returns 1 (-1: an error, and the
 * visit goes on).  Without raw a link that does not hold an ID is left
 * alone: it is not ours to judge. */
static int
links_walk(int rootfd, const char *dir, int raw,
	int (*drop)(int rootfd, const char *name, const char *id,
	const void *arg),
	const void *arg)
{
	char id[ROOT_LINK_MAX];
	struct util_dir d;
	const char *name;
	int ret = 0, r, k, dropped = 0;
	ssize_t n;

	if (util_dir_open(&d, rootfd, dir) < 0)
		return errno == ENOENT ? 0 : -1;
	while ((r = util_dir_next(&d, &name)) > 0) {
		if (raw) {
			if ((n = (ssize_t)syscall(SYS_readlinkat, d.fd, name, id,
			    sizeof(id))) < 0 || n == sizeof(id))
				continue;
			id[n] = '\0';
		} else if (root_link_read(d.fd, name, id) < 0)
			continue;
		if ((k = drop(rootfd, name, id, arg)) < 0)
			ret = -1;
		if (k <= 0)
			continue;
		if (unlinkat(d.fd, name, 0) < 0 && errno != ENOENT)
			ret = -1;
		dropped = 1;
	}
	if (r < 0 || (dropped && root_sync(d.fd) < 0))
		ret = -1;
	util_dir_close(&d);
	return ret;
}

int
root_links_sweep(int rootfd, const char *dir,
	int (*drop)(int rootfd, const char *name, const char *id,
	const void *arg),
	const void *arg)
{
	return links_walk(rootfd, dir, 0, drop, arg);
}

/* The same over every link, whatever it points at. */
int
root_links_each(int rootfd, const char *dir,
	int (*drop)(int rootfd, const char *name, const char *target,
	const void *arg),
	const void *arg)
{
	return links_walk(rootfd, dir, 1, drop, arg);
}

int
root_is_id(int rootfd, const char *name, const char *id, const void *want)
{
	(void)rootfd;
	(void)name;
	return !strcmp(id, want);
}

/* A link whose sandbox directory is gone: call with the root locked, so
 * that no create is between its links and its directory. */
int
root_is_orphan(int rootfd, const char *name, const char *id,
	const void *arg)
{
	(void)name;
	(void)arg;
	return !root_exists(rootfd, id);
}

/* A lease or name whose sandbox directory is gone was left by a create
 * that died; it is taken over.  EEXIST with *owner set when a sandbox
 * holds it.  Call with the root locked. */
int
root_link_take(int rootfd, const char *dir, const char *name, const char *id,
	char owner[ID_LEN + 1], int sync)
{
	int dfd, ret = -1;

	owner[0] = '\0';
	if (root_link_make(rootfd, dir, name, id, sync) == 0)
		return 0;
	if (errno != EEXIST || (dfd = root_dir(rootfd, dir)) < 0)
		return -1;
	if (root_link_read(dfd, name, owner) == 0 &&
	    root_exists(rootfd, owner)) {
		errno = EEXIST;
		goto out;
	}
	owner[0] = '\0';
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		goto out;
	ret = root_link_make(rootfd, dir, name, id, sync);
out:
	return root_close(dfd, ret);
}

int
root_name_take(int rootfd, const char *name, const char *id,
	char owner[ID_LEN + 1])
{
	return root_link_take(rootfd, "names", name, id, owner, 1);
}

int
root_name_free(int rootfd, const char *name, const char *id)
{
	return root_link_free(rootfd, "names", name, id);
}

int
root_name_lookup(int rootfd, const char *name, char id[ID_LEN + 1])
{
	int nfd;

	if ((nfd = root_dir(rootfd, "names")) < 0)
		return -1;
	return root_close(nfd, root_link_read(nfd, name, id));
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
		util_strcpy(ids->id[ids->n++], name);
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
