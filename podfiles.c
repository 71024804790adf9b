/* SPDX-License-Identifier: Apache-2.0 */
/* The files a pod's workloads read as /etc/resolv.conf, /etc/hosts and
 * /etc/hostname, made in the sandbox's directory by create (run --rootfs
 * mounts them):
 *
 *	resolv.conf	from --dns, --dns-search and --dns-option, or else
 *			the host's, without its loopback nameservers (the
 *			pod has a loopback of its own)
 *	hosts		localhost, the hostname on each of the pod's
 *			addresses, and each --add-host
 *	hostname	the hostname
 *
 * They go with the directory, so rollback, rm and prune remove them. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "pelagos.h"

#define FILE_MAX	4096

/* Each file is formatted whole, then written in one go; n counts what
 * did not fit too. */
struct file {
	size_t n;
	char buf[FILE_MAX];
};

static void
put(struct file *f, const char *fmt, const char *a, const char *b)
{
	size_t at = f->n < sizeof(f->buf) ? f->n : sizeof(f->buf);

	f->n += util_fmt(f->buf + at, sizeof(f->buf) - at, fmt, a, b);
}

/* Readable by every user of the pod (umask 022 while they are made): a
 * workload that drops root still resolves names.  Written once, into the
 * new directory, before the state: a create cut short leaves them to the
 * rollback or prune, which remove the directory whole.  Not synced, as
 * the state is: after a power cut the sandbox is of an earlier boot, and
 * its files nobody's (an fsync on disk costs a create milliseconds). */
static int
save(int dirfd, const char *name, struct file *f, struct pelagos_err *e)
{
	int fd, ret = -1;

	if (f->n >= sizeof(f->buf))
		return err_msg(e, EFBIG, "%s would be over %d bytes", name,
		    FILE_MAX);
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0644);
	if (fd < 0 || util_write_all(fd, f->buf, f->n) < 0)
		err_os(e, "write %s", name);
	else
		ret = 0;
	if (fd >= 0 && close(fd) < 0 && ret == 0)
		ret = err_os(e, "write %s", name);
	f->n = 0;
	return ret;
}

/* The host's file line by line, but "nameserver" lines whose address is
 * a loopback one (127.x.x.x, ::1), which in the pod would be its own lo.
 * Returns 1 when it dropped some and kept none, -1 on error.  A host
 * without the file gives an empty one.  (always_inline here and below:
 * GCC at -Oz would keep them out of line, which costs bytes.) */
static inline __attribute__((always_inline)) int
from_host(const char *path, struct file *f, struct pelagos_err *e)
{
	char in[FILE_MAX + 1], *p, *nl, *a;
	int dropped = 0, kept = 0;

	if (proc_read(path, in, sizeof(in)) < 0)
		return errno == ENOENT ? 0 : err_os(e, "read %s", path);
	for (p = in; *p; p = nl + 1) {
		if (!(nl = util_strchr(p, '\n')))
			nl = p + util_strlen(p) - 1;
		else
			*nl = '\0';
		if (!util_strncmp(p, "nameserver", 10) && (p[10] == ' ' ||
		    p[10] == '\t')) {
			a = p + 10 + util_span(p + 10, " \t", 1);
			if (!util_strncmp(a, "127.", 4) ||
			    (!util_strncmp(a, "::1", 3) &&
			    util_strchr(" \t\r", a[3]))) {
				dropped++;
				continue;
			}
			kept++;
		}
		put(f, "%s\n", p, NULL);
	}
	return dropped && !kept;
}

/* "what v0 v1 ...", or with each one "what v" on a line of its own. */
static void
list(struct file *f, const char *what, const char *const *v, size_t n,
	int each)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i == 0 || each)
			put(f, "%s", what, NULL);
		put(f, " %s%s", v[i], each || i == n - 1 ? "\n" : "");
	}
}

static inline __attribute__((always_inline)) int
write_files(int dirfd, const struct sandbox *sb, struct pod_opts *o,
	struct file *f, struct pelagos_err *e)
{
	const struct pod_if *pi;
	char a[40], name[HOST_MAX_LEN + 1];
	const char *c;
	size_t i;
	int r;

	if (o->n[POD_DNS] || o->n[POD_SEARCH] || o->n[POD_DNSOPT]) {
		list(f, "nameserver", o->v[POD_DNS], o->n[POD_DNS], 1);
		list(f, "search", o->v[POD_SEARCH], o->n[POD_SEARCH], 0);
		list(f, "options", o->v[POD_DNSOPT], o->n[POD_DNSOPT], 0);
	} else if ((r = from_host(o->resolv, f, e)) < 0) {
		return -1;
	} else {
		o->no_dns = r;
	}
	if (save(dirfd, "resolv.conf", f, e) < 0)
		return -1;
	put(f, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
	    "ip6-loopback\n", NULL, NULL);
	if (!sb->nifs)
		put(f, "127.0.1.1\t%s\n", sb->hostname, NULL);
	for (i = 0; i < (size_t)sb->nifs; i++) {
		pi = &sb->ifs[i];
		ipam_format_ip(pi->ip, a);
		put(f, "%s\t%s\n", a, sb->hostname);
		if (pi->prefix6) {
			ipam_format_ip6(pi->ip6, a);
			put(f, "%s\t%s\n", a, sb->hostname);
		}
	}
	for (i = 0; i < o->n[POD_HOSTS]; i++) {
		/* NAME:IP, checked by the caller; the IP may hold colons. */
		c = util_strchr(o->v[POD_HOSTS][i], ':');
		util_fmt(name, sizeof(name), "%.*s",
		    (int)(c - o->v[POD_HOSTS][i]), o->v[POD_HOSTS][i]);
		put(f, "%s\t%s\n", c + 1, name);
	}
	if (save(dirfd, "hosts", f, e) < 0)
		return -1;
	put(f, "%s\n", sb->hostname, NULL);
	return save(dirfd, "hostname", f, e);
}

int
podfiles_write(int dirfd, const struct sandbox *sb, struct pod_opts *o,
	struct pelagos_err *e)
{
	struct file f;
	mode_t old = umask(022);
	int ret;

	f.n = 0;
	ret = write_files(dirfd, sb, o, &f, e);
	umask(old);
	return ret;
}
