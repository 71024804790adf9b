/* SPDX-License-Identifier: Apache-2.0 */
/* Addresses: their text forms (IPv4 and IPv6), subnets, the lowest-free
 * pick, and the leases that record which sandbox holds which address
 * (<root>/leases/<address>, a symlink to the ID).  A lease is keyed by
 * its address alone: networks never overlap, so the address names its
 * network too. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "pelagos.h"

/* Dotted quad between s and end, each octet strict decimal. */
int
ipam_parse_ip(const char *s, const char *end, uint32_t *ip)
{
	unsigned long long o;
	const char *p;
	uint32_t v = 0;
	int i;

	if (!end)
		end = s + util_strlen(s);
	for (i = 0;; i++) {
		if (util_parse_ull(s, &p, 255, &o) < 0 || p > end)
			goto bad;
		v = v << 8 | (uint32_t)o;
		if (i == 3)
			break;
		if (p == end || *p != '.')
			goto bad;
		s = p + 1;
	}
	if (p != end)
		goto bad;
	*ip = v;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

void
ipam_format_ip(uint32_t ip, char out[16])
{
	util_fmt(out, 16, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255,
	    ip >> 8 & 255, ip & 255);
}

uint32_t
ipam_mask(int prefix)
{
	return prefix ? ~0u << (32 - prefix) : 0;
}

/* The special-purpose ranges no sandbox subnet may lie in (RFC 6890):
 * their addresses are never routed as a pod's would be. */
const char *
ipam_reserved(const struct subnet *sn)
{
	static const struct {
		uint32_t net;
		int prefix;
		const char *what;
	} r[] = {
		{ 0x00000000, 8, "0.0.0.0/8 (this network)" },
		{ 0x7f000000, 8, "127.0.0.0/8 (loopback)" },
		{ 0xa9fe0000, 16, "169.254.0.0/16 (link-local)" },
		{ 0xe0000000, 4, "224.0.0.0/4 (multicast)" },
		{ 0xf0000000, 4, "240.0.0.0/4 (reserved)" },
	};
	size_t i;

	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if ((sn->net & ipam_mask(r[i].prefix)) == r[i].net)
			return r[i].what;
	return NULL;
}

/* One hex digit's value, either case; -1 if c is none. */
int
ipam_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* RFC 4291 text between s and end: eight groups of 1-4 hex digits, or
 * fewer around one "::"; no embedded IPv4, no zone. */
int
ipam_parse_ip6(const char *s, const char *end, unsigned char a[16])
{
	unsigned char b[16];
	int n = 0, gap = -1, d, h;
	unsigned v;

	if (!end)
		end = s + util_strlen(s);
	if (end - s >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		s += 2;
	}
	while (s < end) {
		for (v = 0, d = 0; s < end && d < 5 && (h = ipam_hexval(*s)) >= 0;
		    s++, d++)
			v = v << 4 | (unsigned)h;
		if (!d || d > 4 || n == 16)
			goto bad;
		b[n++] = (unsigned char)(v >> 8);
		b[n++] = (unsigned char)v;
		if (s == end)
			break;
		if (*s++ != ':' || s == end)
			goto bad;
		if (*s == ':') {
			if (gap >= 0)
				goto bad;
			gap = n;
			s++;
		}
	}
	if (gap < 0 ? n != 16 : n > 14)
		goto bad;
	memset(a, 0, 16);
	if (gap < 0)
		gap = n;
	memcpy(a, b, (size_t)gap);
	memcpy(a + 16 - (n - gap), b + gap, (size_t)(n - gap));
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* RFC 5952: lowercase, no leading zeros, the first longest run of two
 * or more zero groups as "::". */
void
ipam_format_ip6(const unsigned char a[16], char out[40])
{
	int g[8], i, run, best = -1, blen = 1;
	size_t n = 0;

	for (i = 0; i < 8; i++)
		g[i] = a[2 * i] << 8 | a[2 * i + 1];
	for (i = 0; i < 8; i++) {
		for (run = 0; i + run < 8 && !g[i + run]; run++)
			;
		if (run > blen) {
			best = i;
			blen = run;
		}
	}
	out[0] = '\0';
	for (i = 0; i < 8; i++) {
		if (i == best) {
			n += util_fmt(out + n, 40 - n, "::");
			i += blen - 1;
		} else {
			n += util_fmt(out + n, 40 - n, "%s%x",
			    n && out[n - 1] != ':' ? ":" : "", (unsigned)g[i]);
		}
	}
}

/* The MAC create gives an interface: 02:50 and its IPv4 address, as
 * stable as the address, so a neighbour that still holds the old entry
 * is right; it is never recorded. */
void
ipam_mac(uint32_t ip, unsigned char mac[6])
{
	int i;

	mac[0] = 0x02;
	mac[1] = 0x50;
	for (i = 0; i < 4; i++)
		mac[2 + i] = (unsigned char)(ip >> (24 - 8 * i));
}

void
ipam_format_mac(const unsigned char m[6], char out[18])
{
	util_fmt(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
	    m[3], m[4], m[5]);
}

/* Whether a and b agree in their first prefix bits. */
int
ipam_in6(const unsigned char *a, const unsigned char *b, int prefix)
{
	int i;

	for (i = 0; i < prefix / 8; i++)
		if (a[i] != b[i])
			return 0;
	return prefix % 8 == 0 ||
	    !((a[i] ^ b[i]) & (0xff00 >> prefix % 8 & 0xff));
}

/* "ADDR/PREFIX" with the prefix in [min, max]: the address at *v4 when
 * v4, else at v6; 0 for what is no such text. */
static int
parse_cidr(const char *s, uint32_t *v4, unsigned char *v6, int min,
	int max)
{
	const char *slash = util_strchr(s, '/'), *end;
	unsigned long long p;

	if (!slash || (v4 ? ipam_parse_ip(s, slash, v4) :
	    ipam_parse_ip6(s, slash, v6)) < 0 ||
	    util_parse_ull(slash + 1, &end, (unsigned)max, &p) < 0 || *end ||
	    p < (unsigned)min) {
		errno = EINVAL;
		return 0;
	}
	return (int)p;
}

/* /16 keeps the lease bitmap at 8 KiB; /30 is the smallest subnet with a
 * gateway and one sandbox. */
int
ipam_parse_subnet(const char *s, struct subnet *sn)
{
	if (!(sn->prefix = parse_cidr(s, &sn->net, NULL, 16, 30)) ||
	    (sn->net & ~ipam_mask(sn->prefix))) {
		errno = EINVAL;
		return -1;
	}
	if (ipam_reserved(sn)) {
		errno = EADDRNOTAVAIL;
		return -1;
	}
	return 0;
}

/* Clears the bits after the first prefix ones. */
void
ipam_mask6(unsigned char a[16], int prefix)
{
	int i;

	for (i = prefix / 8; i < 16; i++)
		a[i] &= (unsigned char)(i == prefix / 8 ?
		    0xff00 >> prefix % 8 : 0);
}

/* /48 to /120; only the first 65536 addresses are ever picked. */
int
ipam_parse_subnet6(const char *s, struct subnet6 *sn)
{
	unsigned char net[16];

	if (!(sn->prefix = parse_cidr(s, NULL, sn->net, 48, 120)))
		return -1;
	memcpy(net, sn->net, 16);
	ipam_mask6(net, sn->prefix);
	if (memcmp(net, sn->net, 16)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* FNV-1a of a name: what a ULA's global ID and a bridge's MAC are made
 * of, the same for the same name on every device and across reboots. */
uint64_t
ipam_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* A ULA /64 (RFC 4193) whose 40-bit global ID is the hash of the
 * network's name. */
void
ipam_ula(const char *name, struct subnet6 *sn)
{
	uint64_t h = ipam_hash(name);
	int i;

	memset(sn, 0, sizeof(*sn));
	sn->net[0] = 0xfd;
	for (i = 1; i < 6; i++)
		sn->net[i] = (unsigned char)(h >> (8 * i));
	sn->prefix = 64;
}

/* The lowest offset in [2, size - 1) whose bit is clear.  Offset 0 is
 * the network (or the subnet-router anycast) address, 1 the gateway
 * (or, where the gateway is elsewhere, kept as if it were); the last
 * one, in an IPv4 subnet, the broadcast. */
static int
lowest(const unsigned char *bits, uint32_t size, uint32_t *off)
{
	uint32_t i;

	for (i = 2; i < size - 1; i++)
		if (!(bits[i / 8] & 1u << i % 8)) {
			*off = i;
			return 0;
		}
	/* Not ENOSPC, which a full file system gives the lease's link. */
	errno = EADDRNOTAVAIL;
	return -1;
}

static __attribute__((noinline)) void
mark(unsigned char *bits, uint32_t i)
{
	bits[i / 8] |= (unsigned char)(1u << i % 8);
}

/* Lowest free host address, skipping the network address, the first
 * host, the gateway and the broadcast address. */
int
ipam_pick(const struct subnet *sn, uint32_t gw, const uint32_t *used,
	size_t n, uint32_t *ip)
{
	unsigned char bits[(1u << (32 - 16)) / 8];
	uint32_t size, off;
	size_t k;

	if (sn->prefix < 16 || sn->prefix > 30) {
		errno = EINVAL;
		return -1;
	}
	size = ~ipam_mask(sn->prefix) + 1;
	memset(bits, 0, (size + 7) / 8);
	for (k = 0; k <= n; k++) {
		uint32_t a = k < n ? used[k] : gw;

		if ((a & ipam_mask(sn->prefix)) == sn->net)
			mark(bits, a - sn->net);
	}
	if (lowest(bits, size, &off) < 0)
		return -1;
	*ip = sn->net + off;
	return 0;
}

/* An IPv6 subnet's gateway: always its first host (::1). */
void
ipam_gateway6(const struct subnet6 *sn, unsigned char gw[16])
{
	memcpy(gw, sn->net, 16);
	gw[15] |= 1;
}

/* The lowest free address as ipam_pick's, over the subnet's first 65536
 * addresses. */
int
ipam_pick6(const struct subnet6 *sn, const unsigned char (*used)[16],
	size_t n, unsigned char ip[16])
{
	unsigned char bits[(1u << 16) / 8];
	uint32_t size = sn->prefix >= 112 ? 1u << (128 - sn->prefix) : 1u << 16;
	uint32_t off;
	size_t k;

	memset(bits, 0, sizeof(bits));
	for (k = 0; k < n; k++)
		if (ipam_in6(used[k], sn->net, sn->prefix < 112 ? 112 :
		    sn->prefix))
			mark(bits, (uint32_t)(used[k][14] << 8 | used[k][15]) &
			    (size - 1));
	/* The window's last address is no broadcast, but one more is
	 * never missed. */
	if (lowest(bits, size, &off) < 0)
		return -1;
	memcpy(ip, sn->net, 16);
	ip[14] |= (unsigned char)(off >> 8);
	ip[15] |= (unsigned char)off;
	return 0;
}

/* A lease's name: an IPv6 address when ip6, else ip. */
static void
lease_name(char s[40], uint32_t ip, const unsigned char *ip6)
{
	if (ip6)
		ipam_format_ip6(ip6, s);
	else
		ipam_format_ip(ip, s);
}

/* Every leased address of the root, in one pass over leases/. */
int
ipam_used_read(int rootfd, struct ipam_used *u)
{
	struct util_dir d = { .fd = -1 };
	const char *name;
	unsigned char a6[16];
	uint32_t a;
	int r;

	memset(u, 0, sizeof(*u));
	if (util_dir_open(&d, rootfd, "leases") < 0)
		return -1;
	while ((r = util_dir_next(&d, &name)) > 0) {
		if (ipam_parse_ip(name, NULL, &a) == 0) {
			if (u->n4 == u->cap4 && util_grow((void **)&u->v4,
			    &u->cap4, sizeof(*u->v4)) < 0)
				break;
			u->v4[u->n4++] = a;
		} else if (ipam_parse_ip6(name, NULL, a6) == 0) {
			if (u->n6 == u->cap6 && util_grow((void **)&u->v6,
			    &u->cap6, sizeof(*u->v6)) < 0)
				break;
			memcpy(u->v6[u->n6++], a6, 16);
		}
	}
	util_dir_close(&d);
	if (r == 0)
		return 0;
	ipam_used_free(u);
	return -1;
}

void
ipam_used_free(struct ipam_used *u)
{
	util_release(u->v4, u->cap4 * sizeof(*u->v4));
	util_release(u->v6, u->cap6 * sizeof(*u->v6));
	memset(u, 0, sizeof(*u));
}

/* Leases the interface's addresses, in its subnets: each one given, or
 * the lowest free.  Call with the root locked and u read under that
 * lock.  A given address outside the subnet is EDOM, one reserved
 * (network, gateway, broadcast) EPERM, a taken one EADDRINUSE (with
 * owner the sandbox that holds it), a full subnet EADDRNOTAVAIL; *which
 * then tells which family failed (4 or 6). */
int
ipam_lease_take(int rootfd, struct ipam_used *u, struct pod_if *pi,
	const char *id, int *which, char owner[ID_LEN + 1])
{
	struct subnet sn = { pi->gateway & ipam_mask(pi->prefix), pi->prefix };
	struct subnet6 sn6;
	char a[40];
	int i, en;

	*which = 4;
	owner[0] = '\0';
	if (!pi->ip) {
		if (ipam_pick(&sn, pi->gateway, u->v4, u->n4, &pi->ip) < 0)
			return -1;
	} else if ((pi->ip & ipam_mask(sn.prefix)) != sn.net) {
		en = EDOM;
		goto fail;
	} else if (pi->ip == sn.net || pi->ip == pi->gateway ||
	    pi->ip == (sn.net | ~ipam_mask(sn.prefix))) {
		en = EPERM;
		goto fail;
	}
	lease_name(a, pi->ip, NULL);
	/* With an IPv6 lease to follow, one fsync of leases/ after both: a
	 * directory sync costs a dual-stack create 0.3-1 ms here. */
	if (root_link_take(rootfd, "leases", a, id, owner, !pi->prefix6) < 0)
		goto undo;
	if (!pi->prefix6)
		return 0;
	*which = 6;
	memcpy(sn6.net, pi->gateway6, 16);
	ipam_mask6(sn6.net, pi->prefix6);
	sn6.prefix = pi->prefix6;
	for (i = 0; i < 16 && !pi->ip6[i]; i++)
		;
	if (i == 16) {
		if (ipam_pick6(&sn6, (const unsigned char (*)[16])u->v6, u->n6,
		    pi->ip6) < 0)
			goto undo;
	} else if (!ipam_in6(pi->ip6, sn6.net, sn6.prefix)) {
		en = EDOM;
		goto fail;
	} else if (!memcmp(pi->ip6, sn6.net, 16) ||
	    !memcmp(pi->ip6, pi->gateway6, 16)) {
		en = EPERM;
		goto fail;
	}
	lease_name(a, 0, pi->ip6);
	if (root_link_take(rootfd, "leases", a, id, owner, 1) == 0)
		return 0;
undo:
	/* A link taken is a lease in use; no pick fails with EEXIST. */
	en = errno == EEXIST ? EADDRINUSE : errno;
fail:
	if (*which == 6)
		ipam_lease_free(rootfd, pi->ip, NULL, id);
	errno = en;
	return -1;
}

/* The lowest free address but except (a gateway that is not the first
 * host), leased to holder: a CNI attachment.  Call with the directory
 * locked.  The link is made atomically and seen at once by every other
 * plugin run, but not synced as a sandbox's lease is (1-3 ms of
 * journal commit on ext4): it describes a veth in a namespace of the
 * runtime's, which no crash outlives, so a lease the disk lost in a
 * crash is one whose attachment went with it, and one it kept would
 * only be a leak for GC. */
int
ipam_lease_take_except(int rootfd, const struct subnet *sn, uint32_t except,
	const char *holder, uint32_t *ip)
{
	struct ipam_used u;
	char a[24] = "leases/";
	int ret = -1;

	if (ipam_used_read(rootfd, &u) < 0)
		return -1;
	if (ipam_pick(sn, except, u.v4, u.n4, ip) == 0) {
		ipam_format_ip(*ip, a + 7);
		ret = symlinkat(holder, rootfd, a);
	}
	ipam_used_free(&u);
	return ret;
}

/* Frees an IPv4 lease (ip6 NULL) or an IPv6 one, while it is id's. */
int
ipam_lease_free(int rootfd, uint32_t ip, const unsigned char *ip6,
	const char *id)
{
	char a[40];

	lease_name(a, ip, ip6);
	return root_link_free(rootfd, "leases", a, id);
}

struct each {
	int (*fn)(uint32_t ip, const char *holder, void *arg);
	void *arg;
};

static int
each_ip(int rootfd, const char *name, const char *holder, const void *arg)
{
	const struct each *x = arg;
	uint32_t ip;

	(void)rootfd;
	return ipam_parse_ip(name, NULL, &ip) < 0 ? 0 :
	    x->fn(ip, holder, x->arg);
}

/* Visits every IPv4 lease as its address and what it points at, and
 * frees those for which fn returns 1.  Call with the root locked. */
int
ipam_lease_each(int rootfd,
	int (*fn)(uint32_t ip, const char *holder, void *arg), void *arg)
{
	struct each x = { fn, arg };

	return root_links_each(rootfd, "leases", each_ip, &x);
}

struct leased {
	int rootfd, n;
	const struct subnet *sn;
};

static int
leased(uint32_t ip, const char *holder, void *arg)
{
	struct leased *l = arg;

	if ((ip & ipam_mask(l->sn->prefix)) == l->sn->net && valid_id(holder) &&
	    root_exists(l->rootfd, holder))
		l->n++;
	return 0;
}

/* How many sandboxes that exist hold leases in sn (each holds one
 * IPv4 address of a network it is on); -1 on error. */
int
ipam_leased(int rootfd, const struct subnet *sn)
{
	struct leased l = { rootfd, 0, sn };

	return ipam_lease_each(rootfd, leased, &l) < 0 ? -1 : l.n;
}
