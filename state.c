/* The state file and the values in it: validation of names, IDs and
 * addresses, the fixed text format, and reading and writing it whole. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>	/* renameat */
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "pelagos.h"

#define STATE_VERSION	"pelagos-state 1"
#define STATE_MAX	2048	/* larger than any valid state file */
#define LINE_MAX_LEN	128

static int
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

int
state_valid_id(const char *s)
{
	size_t i;

	for (i = 0; i < ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

static int
valid_word(const char *s, size_t max)
{
	size_t i;

	if (!is_alnum((unsigned char)s[0]))
		return 0;
	for (i = 0; s[i]; i++)
		if (i >= max || !(is_alnum((unsigned char)s[i]) ||
		    s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

int
state_valid_name(const char *s)
{
	return valid_word(s, NAME_MAX_LEN);
}

int
state_valid_hostname(const char *s)
{
	return valid_word(s, HOST_MAX_LEN);
}

/* Interface names reach the kernel and the state file: no separators,
 * no blanks, and never a path component. */
int
state_valid_ifname(const char *s)
{
	size_t i;

	if (!s[0] || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (i = 0; s[i]; i++)
		if (i >= IFNAME_LEN - 1 || s[i] == '/' || s[i] == ':' ||
		    (unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* Strict decimal, no sign, no leading zeros beyond "0", up to max. */
static int
parse_num(const char *s, const char *end, unsigned long long max,
	unsigned long long *out)
{
	unsigned long long v = 0;
	const char *p;

	if (s == end || (s[0] == '0' && end - s > 1))
		return -1;
	for (p = s; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (max - (unsigned)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned)(*p - '0');
	}
	*out = v;
	return 0;
}

static int
parse_ip_n(const char *s, const char *end, uint32_t *ip)
{
	unsigned long long o;
	uint32_t v = 0;
	const char *dot;
	int i;

	for (i = 0; i < 4; i++) {
		dot = s;
		while (dot < end && *dot != '.')
			dot++;
		if ((i < 3) != (dot < end) || parse_num(s, dot, 255, &o) < 0)
			return -1;
		v = v << 8 | (uint32_t)o;
		s = dot + 1;
	}
	*ip = v;
	return 0;
}

int
state_parse_ip(const char *s, uint32_t *ip)
{
	if (parse_ip_n(s, s + strlen(s), ip) < 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

void
state_format_ip(uint32_t ip, char out[16])
{
	util_fmt(out, 16, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255,
	    ip >> 8 & 255, ip & 255);
}

static uint32_t
mask_of(int prefix)
{
	return prefix ? ~0u << (32 - prefix) : 0;
}

/* /16 keeps the lease bitmap at 8 KiB; /30 is the smallest subnet with a
 * gateway and one sandbox. */
int
state_parse_subnet(const char *s, struct subnet *sn)
{
	const char *slash = strchr(s, '/');
	unsigned long long p;

	if (!slash || parse_ip_n(s, slash, &sn->net) < 0 ||
	    parse_num(slash + 1, slash + strlen(slash), 30, &p) < 0 ||
	    p < 16 || (sn->net & ~mask_of((int)p))) {
		errno = EINVAL;
		return -1;
	}
	sn->prefix = (int)p;
	return 0;
}

/* Lowest free host address, skipping the network address, the gateway
 * (first host) and the broadcast address. */
int
state_ipam_pick(const struct subnet *sn, const uint32_t *used, size_t n,
	uint32_t *ip)
{
	unsigned char bits[(1u << (32 - 16)) / 8];
	uint32_t size, i;
	size_t k;

	if (sn->prefix < 16 || sn->prefix > 30) {
		errno = EINVAL;
		return -1;
	}
	size = ~mask_of(sn->prefix) + 1;
	memset(bits, 0, (size + 7) / 8);
	for (k = 0; k < n; k++)
		if ((used[k] & mask_of(sn->prefix)) == sn->net) {
			i = used[k] - sn->net;
			bits[i / 8] |= (unsigned char)(1u << i % 8);
		}
	for (i = 2; i < size - 1; i++)
		if (!(bits[i / 8] & 1u << i % 8)) {
			*ip = sn->net + i;
			return 0;
		}
	errno = ENOSPC;
	return -1;
}

static const char *
mode_str(enum ns_mode m)
{
	return m == NS_POD ? "pod" : m == NS_NODE ? "node" : "container";
}

static const char *
dash(const char *s)
{
	return s[0] ? s : "-";
}

int
state_format(const struct sandbox *sb, char *buf, size_t len)
{
	char ip[16] = "-", gw[16] = "-", cidr[20] = "-";
	size_t n;

	if (sb->ip) {
		state_format_ip(sb->ip, ip);
		state_format_ip(sb->gateway, gw);
		util_fmt(cidr, sizeof(cidr), "%s/%d", ip, sb->prefix);
	}
	n = util_fmt(buf, len,
	    STATE_VERSION "\n"
	    "id %s\nname %s\nphase %s\n"
	    "net %s\nipc %s\npid %s\n"
	    "ns_name %s\nveth_host %s\nbridge %s\nip %s\ngateway %s\n"
	    "hostname %s\n"
	    "pause_pid %d\npause_start %llu\nnetns_ino %llu\n"
	    "creator_pid %d\ncreator_start %llu\ncreated %lld\n",
	    sb->id, dash(sb->name),
	    sb->phase == PHASE_READY ? "ready" : "creating",
	    mode_str(sb->net), mode_str(sb->ipc), mode_str(sb->pid),
	    dash(sb->ns_name), dash(sb->veth_host), dash(sb->bridge), cidr, gw,
	    sb->hostname, (int)sb->pause_pid, sb->pause_start, sb->netns_ino,
	    (int)sb->creator_pid, sb->creator_start, sb->created);
	if (n >= len) {
		errno = ENOBUFS;
		return -1;
	}
	return (int)n;
}

enum key {
	K_ID, K_NAME, K_PHASE, K_NET, K_IPC, K_PID, K_NS_NAME, K_VETH,
	K_BRIDGE, K_IP, K_GATEWAY, K_HOSTNAME, K_PAUSE_PID, K_PAUSE_START,
	K_NETNS_INO, K_CREATOR_PID, K_CREATOR_START, K_CREATED, K_COUNT
};

static const char *const keys[K_COUNT] = {
	"id", "name", "phase", "net", "ipc", "pid", "ns_name", "veth_host",
	"bridge", "ip", "gateway", "hostname", "pause_pid", "pause_start",
	"netns_ino", "creator_pid", "creator_start", "created",
};

static int
parse_mode(const char *v, int allow_container, enum ns_mode *m)
{
	if (!strcmp(v, "pod"))
		*m = NS_POD;
	else if (!strcmp(v, "node") && !allow_container)
		*m = NS_NODE;
	else if (!strcmp(v, "container") && allow_container)
		*m = NS_CONTAINER;
	else
		return -1;
	return 0;
}

/* Copies an optional ("-" for none) value that must pass valid(). */
static int
parse_opt(const char *v, int (*valid)(const char *), char *dst, size_t len)
{
	if (!strcmp(v, "-")) {
		dst[0] = '\0';
		return 0;
	}
	if (strlen(v) >= len || !valid(v))
		return -1;
	strcpy(dst, v);
	return 0;
}

static int
parse_cidr(const char *v, struct sandbox *sb)
{
	const char *slash = strchr(v, '/');
	unsigned long long p;

	if (!strcmp(v, "-")) {
		sb->ip = 0;
		sb->prefix = 0;
		return 0;
	}
	if (!slash || parse_ip_n(v, slash, &sb->ip) < 0 || !sb->ip ||
	    parse_num(slash + 1, v + strlen(v), 32, &p) < 0)
		return -1;
	sb->prefix = (int)p;
	return 0;
}

static int
parse_value(enum key k, const char *v, struct sandbox *sb)
{
	const char *end = v + strlen(v);
	unsigned long long u;

	switch (k) {
	case K_ID:
		if (!state_valid_id(v))
			return -1;
		strcpy(sb->id, v);
		return 0;
	case K_NAME:
		return parse_opt(v, state_valid_name, sb->name,
		    sizeof(sb->name));
	case K_PHASE:
		if (!strcmp(v, "ready"))
			sb->phase = PHASE_READY;
		else if (!strcmp(v, "creating"))
			sb->phase = PHASE_CREATING;
		else
			return -1;
		return 0;
	case K_NET:
		return parse_mode(v, 0, &sb->net);
	case K_IPC:
		return parse_mode(v, 0, &sb->ipc);
	case K_PID:
		return parse_mode(v, 1, &sb->pid);
	case K_NS_NAME:
		return parse_opt(v, state_valid_ifname, sb->ns_name,
		    sizeof(sb->ns_name));
	case K_VETH:
		return parse_opt(v, state_valid_ifname, sb->veth_host,
		    sizeof(sb->veth_host));
	case K_BRIDGE:
		return parse_opt(v, state_valid_ifname, sb->bridge,
		    sizeof(sb->bridge));
	case K_IP:
		return parse_cidr(v, sb);
	case K_GATEWAY:
		if (!strcmp(v, "-")) {
			sb->gateway = 0;
			return 0;
		}
		return parse_ip_n(v, end, &sb->gateway) < 0 || !sb->gateway ?
		    -1 : 0;
	case K_HOSTNAME:
		if (strlen(v) > HOST_MAX_LEN || !state_valid_hostname(v))
			return -1;
		strcpy(sb->hostname, v);
		return 0;
	case K_PAUSE_PID:
	case K_CREATOR_PID:
		if (parse_num(v, end, INT_MAX, &u) < 0)
			return -1;
		*(k == K_PAUSE_PID ? &sb->pause_pid : &sb->creator_pid) =
		    (pid_t)u;
		return 0;
	case K_PAUSE_START:
		return parse_num(v, end, ULLONG_MAX, &sb->pause_start);
	case K_NETNS_INO:
		return parse_num(v, end, ULLONG_MAX, &sb->netns_ino);
	case K_CREATOR_START:
		return parse_num(v, end, ULLONG_MAX, &sb->creator_start);
	case K_CREATED:
		if (parse_num(v, end, LLONG_MAX, &u) < 0)
			return -1;
		sb->created = (long long)u;
		return 0;
	default:
		return -1;
	}
}

/* Accepts exactly what state_format writes: the version line, then every
 * key once, in order, each as "key value" with a single-word value. */
int
state_parse(const char *buf, size_t len, struct sandbox *sb)
{
	char line[LINE_MAX_LEN + 1], *sp;
	size_t pos = 0, n, vlen = strlen(STATE_VERSION);
	const char *nl;
	int k;

	memset(sb, 0, sizeof(*sb));
	if (len < vlen + 1 || memcmp(buf, STATE_VERSION "\n", vlen + 1))
		goto bad;
	pos = vlen + 1;
	for (k = 0; k < K_COUNT; k++) {
		nl = memchr(buf + pos, '\n', len - pos);
		if (!nl || (n = (size_t)(nl - (buf + pos))) > LINE_MAX_LEN)
			goto bad;
		memcpy(line, buf + pos, n);
		line[n] = '\0';
		if (memchr(line, '\0', n) || !(sp = strchr(line, ' ')))
			goto bad;
		*sp = '\0';
		if (strcmp(line, keys[k]) || !sp[1] || strchr(sp + 1, ' ') ||
		    parse_value((enum key)k, sp + 1, sb) < 0)
			goto bad;
		pos += n + 1;
	}
	/* An address always comes with its gateway, both in one subnet. */
	if (pos != len || !sb->ip != !sb->gateway ||
	    (sb->ip && (!sb->prefix ||
	    (sb->ip ^ sb->gateway) & mask_of(sb->prefix))))
		goto bad;
	return 0;
bad:
	errno = EBADMSG;
	return -1;
}

int
state_save(int rootfd, const struct sandbox *sb)
{
	char buf[STATE_MAX];
	int dfd = -1, fd = -1, n, ret = -1, e;

	if ((n = state_format(sb, buf, sizeof(buf))) < 0)
		return -1;
	if ((dfd = root_sbdir(rootfd, sb->id)) < 0)
		return -1;
	fd = openat(dfd, "state.tmp", O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		goto out;
	if (write(fd, buf, (size_t)n) != n) {
		if (errno == 0)
			errno = EIO;
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	ret = renameat(dfd, "state.tmp", dfd, "state");
out:
	e = errno;
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		unlinkat(dfd, "state.tmp", 0);
	close(dfd);
	errno = e;
	return ret;
}

int
state_load(int rootfd, const char *id, struct sandbox *sb)
{
	char buf[STATE_MAX + 1];
	ssize_t n;
	size_t len = 0;
	int dfd, fd, ret = -1;

	if ((dfd = root_sbdir(rootfd, id)) < 0)
		return -1;
	fd = openat(dfd, "state", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	close(dfd);
	if (fd < 0)
		return -1;
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
	if (len > STATE_MAX || state_parse(buf, len, sb) < 0 ||
	    strcmp(sb->id, id)) {
		errno = EBADMSG;
		goto out;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

