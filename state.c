/* SPDX-License-Identifier: Apache-2.0 */
/* Fixed-format text files, and the state file, the first of them.
 *
 * A file is a "MAGIC VERSION" line, then one "key value" line per key of
 * its table, in table order, each value a single word ("-" for none).
 * Format and parse both walk the table, so a key is added in one place,
 * and the parser accepts exactly what the formatter writes (or wrote, in
 * an older version).  A file is written to a temporary name and renamed,
 * so a reader sees a whole file or none.
 *
 * The state file's interfaces are a block of keys repeated per interface
 * ("eth0.ip", "eth1.ip", ...) after their count.  Version 1 files (the
 * previous release) are read too: one interface in keys of its own, and
 * three keys more, which are checked and dropped. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>	/* renameat */
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

#include "pelagos.h"

#define STATE_MAX	4096	/* larger than any valid file */
#define LINE_MAX_LEN	(FWSPEC_LIST_MAX + 16)

/* One line per key, in file order: its name, type, versions and value
 * (pelagos.h, KV_NAME). */
#define F(m) offsetof(struct sandbox, m)
#define STATE_KEYS(K) \
	K("id", T_ID, 6, F(id)) \
	K("name", T_NAME, 6, F(name)) \
	K("phase", T_PHASE, 2, 0) \
	K("net", T_MODE, 6, F(net)) \
	K("ipc", T_MODE, 6, F(ipc)) \
	K("pid", T_PIDMODE, 6, F(pid)) \
	K("ns_name", T_IFNAME, 6, F(ns_name)) \
	K("veth_host", T_IFNAME, 2, F(ifs[0].veth_host)) \
	K("bridge", T_IFNAME, 2, F(ifs[0].bridge)) \
	K("ip", T_ADDR, 2, F(ifs[0])) \
	K("gateway", T_IP, 2, F(ifs[0].gateway)) \
	K("interfaces", T_IFS, 4, F(nifs)) \
	K("hostname", T_HOST, 6, F(hostname)) \
	K("pause_pid", T_PID, 6, F(pause_pid)) \
	K("pause_start", T_ULL, 6, F(pause_start)) \
	K("netns_ino", T_ULL, 6, F(netns_ino)) \
	K("creator_pid", T_SKIP, 2, 0) \
	K("creator_start", T_SKIP, 2, 0) \
	K("created", T_LL, 6, F(created)) \
	K("boot_id", T_BOOT, 4, F(boot_id)) \
	K("cgroup", T_CGROUP, 4, F(cgroup)) \
	K("memory", T_LIMIT, 4, F(lim.v[LIM_MEMORY])) \
	K("memory_swap", T_LIMIT, 4, F(lim.v[LIM_SWAP])) \
	K("cpu_quota", T_LIMIT, 4, F(lim.v[LIM_QUOTA])) \
	K("pids_max", T_LIMIT, 4, F(lim.v[LIM_PIDS])) \
	K("cpu_weight", T_LIMIT, 4, F(lim.v[LIM_WEIGHT])) \
	K("nat", T_ONOFF, 4, F(nat)) \
	K("ports", T_PORTS, 4, F(ports)) \
	K("egress", T_EGRESS, 4, F(egress)) \
	K("nft", T_NAME, 4, F(nft)) \
	K("antispoof", T_ONOFF, 4, F(antispoof))
static const char key_names[] = STATE_KEYS(KV_NAME);
static const struct kv_key keys[] = { STATE_KEYS(KV_KEY) };
#undef F

/* The block of each interface, its keys prefixed "eth<index>.". */
#define P(m) offsetof(struct pod_if, m)
#define IF_KEYS(K) \
	K("network", T_NETNAME, 4, P(network)) \
	K("bridge", T_IFNAME, 4, P(bridge)) \
	K("veth", T_IFNAME, 4, P(veth_host)) \
	K("mtu", T_INT, 4, P(mtu)) \
	K("ip", T_ADDR, 4, 0) \
	K("gateway", T_IP, 4, P(gateway)) \
	K("ip6", T_ADDR6, 4, 0) \
	K("gateway6", T_IP6, 4, P(gateway6))
static const char if_names[] = IF_KEYS(KV_NAME);
static const struct kv_key if_keys[] = { IF_KEYS(KV_KEY) };
#undef P

static const struct kv_file state_file = {
	"pelagos-state ", 2, keys, sizeof(keys) / sizeof(keys[0]), key_names
};

/* The words of a mode, of on/off and of a phase, in the order of their
 * values. */
static const char modes[] = "pod\0container\0node\0";
static const char onoff[] = "off\0on\0";
static const char phases[] = "ready\0creating\0";
static const unsigned char zero[16];

#define TB(t)		(1u << (t))
/* The types whose value may be "-": none (the caller zeroed it). */
#define DASH_OK		(TB(T_NAME) | TB(T_IFNAME) | TB(T_ADDR) | TB(T_ADDR6) | \
	TB(T_IP) | TB(T_IP6) | TB(T_NET6) | TB(T_BOOT) | TB(T_CGROUP) | \
	TB(T_LIMIT) | TB(T_PORTS) | TB(T_EGRESS))
/* The numbers, and those of them that are ints. */
#define T_NUMS		(TB(T_INT) | TB(T_IFS) | TB(T_PID) | TB(T_ULL) | TB(T_LL) | \
	TB(T_SKIP) | TB(T_LIMIT))
#define T_INTS		(TB(T_INT) | TB(T_IFS) | TB(T_PID))

/* The index of v in a list of words, -1 if it is none of them. */
static int
word_index(const char *list, const char *v)
{
	int i;

	for (i = 0; *list; i++, list += util_strlen(list) + 1)
		if (!strcmp(list, v))
			return i;
	return -1;
}

static const char *
word_at(const char *list, int i)
{
	while (i--)
		list += util_strlen(list) + 1;
	return list;
}

static void *
at(const void *base, const struct kv_key *k)
{
	return (char *)base + k->off;
}

/* The text being formatted (n reaches len when it does not fit), or
 * parsed (from p to end). */
struct text {
	char *buf;
	size_t len, n;
	const char *p, *end;
	int *creating;
};

static void
add(struct text *t, const char *fmt, ...)
{
	va_list ap;

	/* Once it does not fit, it is not told how far it overran. */
	va_start(ap, fmt);
	if (t->n < t->len)
		t->n += util_vfmt(t->buf + t->n, t->len - t->n, fmt, ap);
	va_end(ap);
}

static void
add_value(struct text *t, const void *base, const struct kv_key *k)
{
	const struct pod_if *pi = at(base, k);
	const unsigned char *b = at(base, k), *a = b;
	unsigned long long u;
	int pfx = -1, none = 0, six = 0;
	char ip[40];

	if (T_NUMS & TB(k->type)) {
		u = T_INTS & TB(k->type) ? (unsigned long long)(long long)
		    *(int *)b : *(unsigned long long *)b;
		if (k->type == T_LIMIT && !u)
			goto none;
		add(t, k->type == T_ULL || k->type == T_LIMIT ? "%llu" : "%lld",
		    u);
		return;
	}
	switch (k->type) {
	case T_MODE:
	case T_PIDMODE:
		add(t, "%s", word_at(modes, *(int *)b));
		return;
	case T_ONOFF:
		add(t, "%s", word_at(onoff, !!*(int *)b));
		return;
	case T_ADDR:
		a = (const unsigned char *)&pi->ip;
		pfx = pi->prefix;
		none = !pi->ip;
		break;
	case T_NET:
		pfx = ((const struct subnet *)b)->prefix;
		break;
	case T_IP:
		none = !*(const uint32_t *)b;
		break;
	case T_ADDR6:
		a = pi->ip6;
		pfx = pi->prefix6;
		/* fall through */
	case T_NET6:
		if (k->type == T_NET6)
			pfx = ((const struct subnet6 *)b)->prefix;
		none = !pfx;
		six = 1;
		break;
	case T_IP6:
		none = !memcmp(b, zero, 16);
		six = 1;
		break;
	default:
		if (!b[0])
			goto none;
		add(t, "%s", b);
		return;
	}
	if (none)
		goto none;
	if (six)
		ipam_format_ip6(a, ip);
	else
		ipam_format_ip(*(const uint32_t *)a, ip);
	add(t, pfx < 0 ? "%s" : "%s/%d", ip, pfx);
	return;
none:
	add(t, "-");
}

static int
parse_num(const char *v, unsigned long long max, unsigned long long *out)
{
	const char *end;

	return util_parse_ull(v, &end, max, out) < 0 || *end ? -1 : 0;
}

/* A value that must pass valid(). */
static int
parse_word(const char *v, int (*valid)(const char *), char *dst, size_t len)
{
	if (util_strlen(v) >= len || !valid(v))
		return -1;
	util_strcpy(dst, v);
	return 0;
}

/* A list of --publish or --egress words. */
static int
parse_list(const struct kv_key *k, const char *v, void *base)
{
	union {
		struct fw_port p[FW_MAX_PORTS];
		struct fw_egress g[FW_MAX_EGRESS];
	} scratch;
	size_t n;

	if (util_strlen(v) >= FWSPEC_LIST_MAX ||
	    fwspec_list(v, &scratch, &n, k->type == T_EGRESS) < 0)
		return -1;
	util_strcpy(at(base, k), v);
	return 0;
}

/* "ADDR/PREFIX" with a prefix of 1 to max (max 0: "ADDR" alone), the
 * address not zero and written as ipam writes it. */
static int
parse_addr(const char *v, uint32_t *ip, unsigned char *ip6, int max,
	int *prefix)
{
	const char *slash = max ? util_strchr(v, '/') : v + util_strlen(v);
	unsigned long long u = 0;
	char back[40];

	if (!slash || (max && (parse_num(slash + 1, (unsigned)max, &u) < 0 ||
	    !u)))
		return -1;
	*prefix = (int)u;
	if (ip)
		return ipam_parse_ip(v, slash, ip) < 0 || !*ip ? -1 : 0;
	if (ipam_parse_ip6(v, slash, ip6) < 0 || !memcmp(ip6, zero, 16))
		return -1;
	ipam_format_ip6(ip6, back);
	return util_strlen(back) == (size_t)(slash - v) &&
	    !memcmp(back, v, util_strlen(back)) ? 0 : -1;
}

static int
parse_value(const struct kv_key *k, const char *v, void *base, int *creating)
{
	struct pod_if *pi = at(base, k);
	unsigned char *b = at(base, k);
	unsigned long long u;
	unsigned char a[16];
	size_t m;
	int p;

	if (!strcmp(v, "-"))
		/* Zeroed by the caller: "-" is none where none is allowed. */
		return DASH_OK & TB(k->type) ? 0 : -1;
	if (T_NUMS & TB(k->type)) {
		if (parse_num(v, k->type == T_PID ? INT_MAX : k->type == T_INT ?
		    65535 : k->type == T_IFS ? MAX_IFS : k->type == T_LL ?
		    LLONG_MAX : ULLONG_MAX, &u) < 0 ||
		    (k->type == T_LIMIT && !u))
			return -1;
		if (T_INTS & TB(k->type))
			*(int *)b = (int)u;
		else if (k->type != T_SKIP)
			*(unsigned long long *)b = u;
		return 0;
	}
	switch (k->type) {
	case T_ID:
		return parse_word(v, valid_id, at(base, k), ID_LEN + 1);
	case T_NAME:
	case T_NETNAME:
		return parse_word(v, valid_name, at(base, k), NAME_MAX_LEN + 1);
	case T_HOST:
		return parse_word(v, valid_hostname, at(base, k),
		    HOST_MAX_LEN + 1);
	case T_IFNAME:
		return parse_word(v, valid_ifname, at(base, k), IFNAME_LEN);
	case T_BOOT:
		return parse_word(v, valid_boot_id, at(base, k), BOOT_ID_LEN + 1);
	case T_MODE:
	case T_PIDMODE:
		/* The network and IPC are the pod's or the node's; the PID
		 * namespace the pod's or each container's own. */
		p = word_index(modes, v);
		if (p < 0 || (p != NS_POD &&
		    (p == NS_CONTAINER) != (k->type == T_PIDMODE)))
			return -1;
		*(enum ns_mode *)b = (enum ns_mode)p;
		return 0;
	case T_ADDR:
		return parse_addr(v, &pi->ip, NULL, 32, &pi->prefix);
	case T_ADDR6:
		return parse_addr(v, NULL, pi->ip6, 128, &pi->prefix6);
	case T_IP:
		return parse_addr(v, (uint32_t *)b, NULL, 0, &p);
	case T_IP6:
		return parse_addr(v, NULL, b, 0, &p);
	case T_NET:
		return ipam_parse_subnet(v, at(base, k));
	case T_NET6:
		return ipam_parse_subnet6(v, at(base, k)) < 0 ||
		    parse_addr(v, NULL, a, 128, &p) < 0 ? -1 : 0;
	case T_PHASE:
		/* A version 1 create wrote "creating" before its pause was
		 * up: such a sandbox has no pause to trust. */
		p = word_index(phases, v);
		*creating = p == 1;
		return p;
	case T_CGROUP:
		/* rm kills what is in it: only this sandbox's, by name. */
		m = util_strlen(v);
		if (m >= CG_PATH_LEN || m < ID_LEN + 2 || !valid_path(v) ||
		    v[m - ID_LEN - 1] != '/' ||
		    strcmp(v + m - ID_LEN, ((struct sandbox *)base)->id))
			return -1;
		util_strcpy(at(base, k), v);
		return 0;
	case T_ONOFF:
		*(int *)b = p = word_index(onoff, v);
		return p;
	case T_PORTS:
	case T_EGRESS:
		return parse_list(k, v, base);
	}
	return -1;
}

/* Formats (t->p NULL) or parses the keys of table k of version ver,
 * each prefixed pfx, and after the interface count the block of each
 * interface. */
static int
walk(struct text *t, const struct kv_key *k, size_t nk, const char *name,
	int ver, void *base, const char *pfx)
{
	struct sandbox *sb = base;
	char line[LINE_MAX_LEN + 1], *sp, p[8];
	size_t i, n, pl = util_strlen(pfx);
	int j;

	for (i = 0; i < nk; i++, name += util_strlen(name) + 1) {
		if (!(k[i].versions & 1 << ver))
			continue;
		if (!t->p) {
			add(t, "%s%s ", pfx, name);
			add_value(t, base, &k[i]);
			add(t, "\n");
		} else {
			/* One pass over the line (ls reads 40 of them a
			 * sandbox): its end, its one space, and no NUL. */
			for (sp = NULL, n = 0;; n++) {
				if (t->p + n == t->end || n > LINE_MAX_LEN)
					return -1;
				if ((line[n] = t->p[n]) == '\n')
					break;
				if (!line[n] || (line[n] == ' ' && sp))
					return -1;
				if (line[n] == ' ')
					sp = line + n;
			}
			line[n] = '\0';
			if (!sp)
				return -1;
			*sp = '\0';
			if (util_strncmp(line, pfx, pl) ||
			    strcmp(line + pl, name) || !sp[1] ||
			    parse_value(&k[i], sp + 1, base, t->creating) < 0)
				return -1;
			t->p += n + 1;
		}
		for (j = 0; k[i].type == T_IFS && j < sb->nifs; j++) {
			util_fmt(p, sizeof(p), PEER_PREFIX "%d.", j);
			if (walk(t, if_keys, sizeof(if_keys) / sizeof(if_keys[0]),
			    if_names, ver, &sb->ifs[j], p) < 0)
				return -1;
		}
	}
	return 0;
}

int
state_kv_format(const struct kv_file *f, const void *base, char *buf,
	size_t len)
{
	struct text t = { buf, len, 0, NULL, NULL, NULL };

	add(&t, "%s%d\n", f->magic, f->version);
	walk(&t, f->keys, f->nkeys, f->names, f->version, (void *)base, "");
	if (t.n >= len) {
		errno = ENOBUFS;
		return -1;
	}
	return (int)t.n;
}

int
state_format(const struct sandbox *sb, char *buf, size_t len)
{
	return state_kv_format(&state_file, sb, buf, len);
}

/* Accepts exactly what state_kv_format writes for one of the versions
 * up to f's: the version line, then every key of that version once, in
 * order, each as "key value" with a single-word value. */
int
state_kv_parse(const struct kv_file *f, const char *buf, size_t len,
	void *base, int *version)
{
	size_t mlen = util_strlen(f->magic);
	int creating = 0;
	struct text t = { NULL, 0, 0, buf + mlen + 2, buf + len, &creating };

	if (len < mlen + 2 || memcmp(buf, f->magic, mlen) ||
	    buf[mlen + 1] != '\n' || buf[mlen] < '1' ||
	    buf[mlen] > '0' + f->version)
		goto bad;
	*version = buf[mlen] - '0';
	if (walk(&t, f->keys, f->nkeys, f->names, *version, base, "") < 0 ||
	    t.p != t.end)
		goto bad;
	/* Only the state file has a phase. */
	return creating;
bad:
	errno = EBADMSG;
	return -1;
}

/* An interface's address comes with its gateway, both in one subnet;
 * the same for IPv6. */
static __attribute__((noinline)) int
if_ok(const struct pod_if *pi, int ver)
{
	if (!pi->ip || !pi->gateway || !pi->prefix ||
	    (pi->ip ^ pi->gateway) & ipam_mask(pi->prefix))
		return 0;
	if (ver == 1)
		return 1;
	return pi->network[0] && pi->bridge[0] && pi->veth_host[0] &&
	    !memcmp(pi->ip6, zero, 16) == !memcmp(pi->gateway6, zero, 16) &&
	    ipam_in6(pi->ip6, pi->gateway6, pi->prefix6);
}

int
state_parse(const char *buf, size_t len, struct sandbox *sb)
{
	int version, creating, i;

	memset(sb, 0, sizeof(*sb));
	if ((creating = state_kv_parse(&state_file, buf, len, sb,
	    &version)) < 0)
		return -1;
	if (version == 1) {
		/* Its one interface was on the default network. */
		if (!sb->ifs[0].ip != !sb->ifs[0].gateway)
			goto bad;
		if (sb->ifs[0].ip) {
			sb->nifs = 1;
			util_strcpy(sb->ifs[0].network, DEF_NETWORK);
		}
	}
	if ((sb->net == NS_NODE) != !sb->nifs)
		goto bad;
	for (i = 0; i < sb->nifs; i++) {
		if (!if_ok(&sb->ifs[i], version))
			goto bad;
		/* Version 1 recorded none, and its create made none. */
		if (version > 1)
			ipam_mac(sb->ifs[i].ip, sb->ifs[i].mac);
	}
	if (creating) {
		sb->pause_pid = 0;
		sb->pause_start = 0;
	}
	return 0;
bad:
	errno = EBADMSG;
	return -1;
}

/* Writes the file name (tmp first, then renamed).  With sync it is
 * durable before it returns: the data reaches the disk before the name
 * does, and the name before the caller goes on, so that after a power cut
 * the file is the old one or the new one, whole. */
int
state_kv_save(int dirfd, const char *name, const char *tmp, const char *buf,
	size_t n, int sync)
{
	int fd, e;

	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	if (util_write_all(fd, buf, n) < 0 || (sync && root_sync(fd) < 0)) {
		root_close(fd, 0);
		goto out;
	}
	if (close(fd) == 0 && renameat(dirfd, tmp, dirfd, name) == 0 &&
	    (!sync || root_sync(dirfd) == 0))
		return 0;
out:
	e = errno;
	unlinkat(dirfd, tmp, 0);
	errno = e;
	return -1;
}

/* Reads a whole file of at most max bytes into buf (of max + 1): its
 * length, or -1; EBADMSG when it is larger.  With held, whether another
 * open file holds a lock on it (the live lock, see state_live_make).
 * What sits at name may be anything (a symlink, a FIFO, a device node, a
 * directory): it is opened without following and without blocking, so
 * that no reader ever hangs on it, and what is no regular file reads as
 * an error, as nothing (which no caller's parser takes) or as too much.
 * Only root can plant a node in the root's 0700 tree. */
int
state_kv_load(int dirfd, const char *name, char *buf, size_t max,
	int *held)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK | O_NOCTTY, .resolve = RESOLVE_NO_SYMLINKS };
	struct flock fl = { .l_type = F_WRLCK };
	ssize_t n = 0;
	size_t len = 0, want;
	int fd, e;

	/* A name below a directory of dirfd's (ls's <id>/state) is opened
	 * in one call that follows a symlink at no step; Linux before 5.6
	 * has no openat2 (ENOSYS), and the caller opens the directory
	 * itself. */
	fd = dirfd != AT_FDCWD && util_strchr(name, '/') ?
	    (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how)) :
	    openat(dirfd, name, (int)how.flags);
	if (fd < 0)
		return -1;
	if (held)
		*held = syscall(SYS_fcntl, fd, F_OFD_GETLK, &fl) == 0 &&
		    fl.l_type != F_UNLCK;
	while (len <= max) {
		want = max + 1 - len;
		n = read(fd, buf + len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		/* A short read is the end: files of the root are replaced by
		 * rename, never written in place, and /proc gives a value
		 * whole.  No fstat and no second read per sandbox in ls. */
		if ((size_t)n < want) {
			n = 0;
			break;
		}
	}
	e = n < 0 ? errno : EBADMSG;
	close(fd);
	if (n < 0 || len > max) {
		errno = e;
		return -1;
	}
	return (int)len;
}

/* The live lock: the state file's inode made before the pause starts, as
 * state.tmp, which state_save then fills and renames into place, with an
 * OFD read lock on an open file of it that the pause inherits and holds
 * for as long as it lives.  The kernel drops the lock when the pause
 * exits, so a held one proves the pause alive with no PID to reuse, and
 * ls reads no /proc for it.  -1 on failure: the pause then runs without
 * one, and is asked about by its PID and start time, as one of a release
 * before this one is. */
int
state_live_make(int dirfd)
{
	struct flock fl = { .l_type = F_RDLCK };
	int fd;

	fd = openat(dirfd, STATE_FILE ".tmp", O_RDONLY | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd >= 0 && syscall(SYS_fcntl, fd, F_OFD_SETLK, &fl) < 0)
		fd = root_close(fd, -1);
	return fd;
}

/* The firewall's intent (FW_FILE) names kernel objects that no reboot
 * keeps: it is not synced. */
int
state_save(int dirfd, const char *name, const struct sandbox *sb)
{
	char buf[STATE_MAX], tmp[16];
	int n;

	if ((n = state_format(sb, buf, sizeof(buf))) < 0)
		return -1;
	util_fmt(tmp, sizeof(tmp), "%s.tmp", name);
	return state_kv_save(dirfd, name, tmp, buf, (size_t)n,
	    !strcmp(name, STATE_FILE));
}

/* The sandbox's state in the file name; EBADMSG for anything but a
 * well-formed regular file. */
int
state_load(int dirfd, const char *name, struct sandbox *sb)
{
	char buf[STATE_MAX + 1];
	int n, live = 0;

	if ((n = state_kv_load(dirfd, name, buf, STATE_MAX, &live)) < 0)
		return -1;
	if (state_parse(buf, (size_t)n, sb) < 0) {
		errno = EBADMSG;
		return -1;
	}
	sb->live = live;
	return 0;
}
