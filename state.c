/* SPDX-License-Identifier: Apache-2.0 */
/* The state file: its fixed text format, and reading and writing it whole
 * in a sandbox's directory.
 *
 * One table lists the keys, in file order, with what each holds; format
 * and parse both walk it, so a key is added in one place.  Version 1
 * files (the previous release) are read too: they carry three keys more,
 * which are checked and dropped. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>	/* renameat */
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "pelagos.h"

#define STATE_MAGIC	"pelagos-state "
#define STATE_VERSION	2
#define STATE_MAX	2048	/* larger than any valid state file */
#define LINE_MAX_LEN	128

enum type {
	T_ID, T_NAME, T_MODE, T_PIDMODE, T_IFNAME, T_CIDR, T_IP, T_HOST,
	T_PID, T_ULL, T_LL, T_PHASE, T_SKIP, T_BOOT, T_CGROUP, T_LIMIT
};

#define F(m) offsetof(struct sandbox, m)
static const struct key {
	const char *key;
	unsigned char type;	/* enum type */
	unsigned short off;
	unsigned char versions;	/* bit n: present in version n */
} keys[] = {
	{ "id", T_ID, F(id), 6 },
	{ "name", T_NAME, F(name), 6 },
	{ "phase", T_PHASE, 0, 2 },
	{ "net", T_MODE, F(net), 6 },
	{ "ipc", T_MODE, F(ipc), 6 },
	{ "pid", T_PIDMODE, F(pid), 6 },
	{ "ns_name", T_IFNAME, F(ns_name), 6 },
	{ "veth_host", T_IFNAME, F(veth_host), 6 },
	{ "bridge", T_IFNAME, F(bridge), 6 },
	{ "ip", T_CIDR, F(ip), 6 },
	{ "gateway", T_IP, F(gateway), 6 },
	{ "hostname", T_HOST, F(hostname), 6 },
	{ "pause_pid", T_PID, F(pause_pid), 6 },
	{ "pause_start", T_ULL, F(pause_start), 6 },
	{ "netns_ino", T_ULL, F(netns_ino), 6 },
	{ "creator_pid", T_SKIP, 0, 2 },
	{ "creator_start", T_SKIP, 0, 2 },
	{ "created", T_LL, F(created), 6 },
	{ "boot_id", T_BOOT, F(boot_id), 4 },
	{ "cgroup", T_CGROUP, F(cgroup), 4 },
	{ "memory", T_LIMIT, F(lim.v[LIM_MEMORY]), 4 },
	{ "memory_swap", T_LIMIT, F(lim.v[LIM_SWAP]), 4 },
	{ "cpu_quota", T_LIMIT, F(lim.v[LIM_QUOTA]), 4 },
	{ "pids_max", T_LIMIT, F(lim.v[LIM_PIDS]), 4 },
	{ "cpu_weight", T_LIMIT, F(lim.v[LIM_WEIGHT]), 4 },
};
#undef F
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const modes[] = { "pod", "container", "node" };

static void *
at(const void *sb, const struct key *k)
{
	return (char *)sb + k->off;
}

/* One "key value" line; values are single words, "-" for none. */
static size_t
format_value(const struct sandbox *sb, const struct key *k, char *v,
	size_t len)
{
	const char *s = at(sb, k);
	char ip[16];

	switch (k->type) {
	case T_MODE:
	case T_PIDMODE:
		return util_fmt(v, len, "%s", modes[*(enum ns_mode *)at(sb, k)]);
	case T_CIDR:
		if (!sb->ip)
			return util_fmt(v, len, "-");
		ipam_format_ip(sb->ip, ip);
		return util_fmt(v, len, "%s/%d", ip, sb->prefix);
	case T_IP:
		if (!*(uint32_t *)at(sb, k))
			return util_fmt(v, len, "-");
		ipam_format_ip(*(uint32_t *)at(sb, k), ip);
		return util_fmt(v, len, "%s", ip);
	case T_PID:
		return util_fmt(v, len, "%d", (int)*(pid_t *)at(sb, k));
	case T_LIMIT:
		if (!*(unsigned long long *)at(sb, k))
			return util_fmt(v, len, "-");
		/* fall through */
	case T_ULL:
		return util_fmt(v, len, "%llu",
		    *(unsigned long long *)at(sb, k));
	case T_LL:
		return util_fmt(v, len, "%lld", *(long long *)at(sb, k));
	default:
		return util_fmt(v, len, "%s", s[0] ? s : "-");
	}
}

int
state_format(const struct sandbox *sb, char *buf, size_t len)
{
	size_t n, i;

	n = util_fmt(buf, len, STATE_MAGIC "%d\n", STATE_VERSION);
	for (i = 0; i < NKEYS; i++) {
		if (!(keys[i].versions & 1 << STATE_VERSION))
			continue;
		n += util_fmt(buf + (n < len ? n : len), n < len ? len - n : 0,
		    "%s ", keys[i].key);
		n += format_value(sb, &keys[i], buf + (n < len ? n : len),
		    n < len ? len - n : 0);
		n += util_fmt(buf + (n < len ? n : len), n < len ? len - n : 0,
		    "\n");
	}
	if (n >= len) {
		errno = ENOBUFS;
		return -1;
	}
	return (int)n;
}

static int
parse_num(const char *v, unsigned long long max, unsigned long long *out)
{
	const char *end;

	return util_parse_ull(v, &end, max, out) < 0 || *end ? -1 : 0;
}

/* "-" for none, else a value that must pass valid(). */
static int
parse_word(const char *v, int (*valid)(const char *), char *dst, size_t len,
	int optional)
{
	if (optional && !strcmp(v, "-")) {
		dst[0] = '\0';
		return 0;
	}
	if (strlen(v) >= len || !valid(v))
		return -1;
	strcpy(dst, v);
	return 0;
}

static int
parse_value(const struct key *k, const char *v, struct sandbox *sb,
	int *creating)
{
	const char *slash;
	unsigned long long u;
	size_t m;

	switch (k->type) {
	case T_ID:
		return parse_word(v, valid_id, at(sb, k), ID_LEN + 1, 0);
	case T_NAME:
		return parse_word(v, valid_name, at(sb, k), NAME_MAX_LEN + 1, 1);
	case T_HOST:
		return parse_word(v, valid_hostname, at(sb, k),
		    HOST_MAX_LEN + 1, 0);
	case T_IFNAME:
		return parse_word(v, valid_ifname, at(sb, k), IFNAME_LEN, 1);
	case T_MODE:
	case T_PIDMODE:
		/* The network and IPC are the pod's or the node's; the PID
		 * namespace the pod's or each container's own. */
		for (m = 0; m < 3; m++)
			if (!strcmp(v, modes[m]) && (m == NS_POD ||
			    (m == NS_CONTAINER) == (k->type == T_PIDMODE))) {
				*(enum ns_mode *)at(sb, k) = (enum ns_mode)m;
				return 0;
			}
		return -1;
	case T_CIDR:
		if (!strcmp(v, "-"))
			return 0;
		if (!(slash = strchr(v, '/')) ||
		    ipam_parse_ip(v, slash, &sb->ip) < 0 || !sb->ip ||
		    parse_num(slash + 1, 32, &u) < 0)
			return -1;
		sb->prefix = (int)u;
		return 0;
	case T_IP:
		if (!strcmp(v, "-"))
			return 0;
		return ipam_parse_ip(v, NULL, at(sb, k)) < 0 ||
		    !*(uint32_t *)at(sb, k) ? -1 : 0;
	case T_PID:
		if (parse_num(v, INT_MAX, &u) < 0)
			return -1;
		*(pid_t *)at(sb, k) = (pid_t)u;
		return 0;
	case T_ULL:
		return parse_num(v, ULLONG_MAX, at(sb, k));
	case T_LL:
		if (parse_num(v, LLONG_MAX, &u) < 0)
			return -1;
		*(long long *)at(sb, k) = (long long)u;
		return 0;
	case T_PHASE:
		/* A version 1 create wrote "creating" before its pause was
		 * up: such a sandbox has no pause to trust. */
		*creating = !strcmp(v, "creating");
		return strcmp(v, "ready") && strcmp(v, "creating") ? -1 : 0;
	case T_SKIP:
		return parse_num(v, ULLONG_MAX, &u);
	case T_BOOT:
		return parse_word(v, valid_boot_id, at(sb, k), BOOT_ID_LEN + 1,
		    1);
	case T_LIMIT:
		if (!strcmp(v, "-"))
			return 0;
		return parse_num(v, ULLONG_MAX, at(sb, k)) < 0 ||
		    !*(unsigned long long *)at(sb, k) ? -1 : 0;
	case T_CGROUP:
		/* rm kills what is in it: only this sandbox's, by name. */
		m = strlen(v);
		if (!strcmp(v, "-"))
			return 0;
		if (m >= CG_PATH_LEN || m < ID_LEN + 2 || !valid_path(v) ||
		    v[m - ID_LEN - 1] != '/' || strcmp(v + m - ID_LEN, sb->id))
			return -1;
		strcpy(sb->cgroup, v);
		return 0;
	}
	return -1;
}

/* Accepts exactly what state_format writes, or wrote in version 1: the
 * version line, then every key of that version once, in order, each as
 * "key value" with a single-word value. */
int
state_parse(const char *buf, size_t len, struct sandbox *sb)
{
	char line[LINE_MAX_LEN + 1], *sp;
	size_t pos, n, i, mlen = sizeof(STATE_MAGIC) - 1;
	const char *nl;
	int version, creating = 0;

	memset(sb, 0, sizeof(*sb));
	if (len < mlen + 2 || memcmp(buf, STATE_MAGIC, mlen) ||
	    buf[mlen + 1] != '\n' || buf[mlen] < '1' ||
	    buf[mlen] > '0' + STATE_VERSION)
		goto bad;
	version = buf[mlen] - '0';
	pos = mlen + 2;
	for (i = 0; i < NKEYS; i++) {
		if (!(keys[i].versions & 1 << version))
			continue;
		nl = memchr(buf + pos, '\n', len - pos);
		if (!nl || (n = (size_t)(nl - (buf + pos))) > LINE_MAX_LEN)
			goto bad;
		memcpy(line, buf + pos, n);
		line[n] = '\0';
		if (memchr(line, '\0', n) || !(sp = strchr(line, ' ')))
			goto bad;
		*sp = '\0';
		if (strcmp(line, keys[i].key) || !sp[1] ||
		    strchr(sp + 1, ' ') || parse_value(&keys[i], sp + 1, sb,
		    &creating) < 0)
			goto bad;
		pos += n + 1;
	}
	/* An address always comes with its gateway, both in one subnet. */
	if (pos != len || !sb->ip != !sb->gateway ||
	    (sb->ip && (!sb->prefix ||
	    (sb->ip ^ sb->gateway) & ipam_mask(sb->prefix))))
		goto bad;
	if (creating) {
		sb->pause_pid = 0;
		sb->pause_start = 0;
	}
	return 0;
bad:
	errno = EBADMSG;
	return -1;
}

/* Durable before it returns: the data reaches the disk before the name
 * does, and the name before the caller goes on, so that after a power cut
 * the state is the old one or the new one, whole. */
int
state_save(int dirfd, const struct sandbox *sb)
{
	char buf[STATE_MAX];
	int fd = -1, n, ret = -1, e;

	if ((n = state_format(sb, buf, sizeof(buf))) < 0)
		return -1;
	fd = openat(dirfd, "state.tmp", O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	if (util_write_all(fd, buf, (size_t)n) < 0 || root_sync(fd) < 0)
		goto out;
	if (close(fd) < 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (renameat(dirfd, "state.tmp", dirfd, "state") == 0)
		ret = root_sync(dirfd);
out:
	e = errno;
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		unlinkat(dirfd, "state.tmp", 0);
	errno = e;
	return ret;
}

/* The sandbox's state; EBADMSG for anything but a well-formed regular
 * file.  What sits at "state" may be anything (a FIFO, a device node, a
 * directory): it is looked at before it is opened, and opened without
 * blocking, so that no reader ever hangs on it. */
int
state_load(int dirfd, struct sandbox *sb)
{
	char buf[STATE_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, ret = -1;

	if (fstatat(dirfd, "state", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EBADMSG;
		return -1;
	}
	fd = openat(dirfd, "state", O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		errno = EBADMSG;
		goto out;
	}
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > STATE_MAX || state_parse(buf, len, sb) < 0) {
		errno = EBADMSG;
		goto out;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}
