/* SPDX-License-Identifier: Apache-2.0 */
/* Addresses: their text forms, the lowest-free pick, and the leases that
 * record which sandbox holds which address (<root>/leases/<a.b.c.d>, a
 * symlink to the ID). */
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
		end = s + strlen(s);
	for (i = 0; i < 4; i++) {
		if (util_parse_ull(s, &p, 255, &o) < 0 || p > end ||
		    (i < 3 ? p == end || *p != '.' : p != end))
			goto bad;
		v = v << 8 | (uint32_t)o;
		s = p + 1;
	}
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

/* /16 keeps the lease bitmap at 8 KiB; /30 is the smallest subnet with a
 * gateway and one sandbox. */
int
ipam_parse_subnet(const char *s, struct subnet *sn)
{
	const char *slash = strchr(s, '/'), *end;
	unsigned long long p;

	if (!slash || ipam_parse_ip(s, slash, &sn->net) < 0 ||
	    util_parse_ull(slash + 1, &end, 30, &p) < 0 || *end ||
	    p < 16 || (sn->net & ~ipam_mask((int)p))) {
		errno = EINVAL;
		return -1;
	}
	sn->prefix = (int)p;
	if (ipam_reserved(sn)) {
		errno = EADDRNOTAVAIL;
		return -1;
	}
	return 0;
}

/* Lowest free host address, skipping the network address, the gateway
 * (first host) and the broadcast address. */
int
ipam_pick(const struct subnet *sn, const uint32_t *used, size_t n,
	uint32_t *ip)
{
	unsigned char bits[(1u << (32 - 16)) / 8];
	uint32_t size, i;
	size_t k;

	if (sn->prefix < 16 || sn->prefix > 30) {
		errno = EINVAL;
		return -1;
	}
	size = ~ipam_mask(sn->prefix) + 1;
	memset(bits, 0, (size + 7) / 8);
	for (k = 0; k < n; k++)
		if ((used[k] & ipam_mask(sn->prefix)) == sn->net) {
			i = used[k] - sn->net;
			bits[i / 8] |= (unsigned char)(1u << i % 8);
		}
	for (i = 2; i < size - 1; i++)
		if (!(bits[i / 8] & 1u << i % 8)) {
			*ip = sn->net + i;
			return 0;
		}
	/* Not ENOSPC, which a full file system gives the lease's link. */
	errno = EADDRNOTAVAIL;
	return -1;
}


/* Call with the root locked. */
int
ipam_lease_take(int rootfd, const struct subnet *sn, const char *id,
	uint32_t *ip)
{
	return ipam_lease_take_except(rootfd, sn, 0, id, ip);
}

/* The lowest free address but except (a gateway that is not the first
 * host), leased to holder: a sandbox's ID, or a CNI attachment. */
int
ipam_lease_take_except(int rootfd, const struct subnet *sn, uint32_t except,
	const char *holder, uint32_t *ip)
{
	uint32_t *used = NULL, a;
	size_t n = 0, cap = 0;
	struct util_dir d = { .fd = -1 };
	const char *name;
	char p[16];
	int ret = -1, r;

	if (util_dir_open(&d, rootfd, "leases") < 0)
		goto out;
	while ((r = util_dir_next(&d, &name)) > 0 || (r == 0 && except)) {
		if (r > 0 && ipam_parse_ip(name, NULL, &a) < 0)
			continue;
		if (r == 0) {
			a = except;
			except = 0;
		}
		if (n == cap && util_grow((void **)&used, &cap,
		    sizeof(*used)) < 0)
			goto out;
		used[n++] = a;
	}
	if (r < 0 || ipam_pick(sn, used, n, ip) < 0)
		goto out;
	ipam_format_ip(*ip, p);
	ret = root_link_make(rootfd, "leases", p, holder);
out:
	util_dir_close(&d);
	util_release(used, cap * sizeof(*used));
	return ret;
}

int
ipam_lease_free(int rootfd, uint32_t ip, const char *id)
{
	char p[16];

	ipam_format_ip(ip, p);
	return root_link_free(rootfd, "leases", p, id);
}

/* Visits every lease as its address and what it points at, and frees
 * those for which fn returns 1.  Call with the root locked. */
int
ipam_lease_each(int rootfd,
	int (*fn)(uint32_t ip, const char *holder, void *arg), void *arg)
{
	struct util_dir d;
	const char *name;
	char holder[320];
	uint32_t ip;
	ssize_t n;
	int ret = 0, r, k, freed = 0;

	if (util_dir_open(&d, rootfd, "leases") < 0)
		return errno == ENOENT ? 0 : -1;
	while ((r = util_dir_next(&d, &name)) > 0) {
		if (ipam_parse_ip(name, NULL, &ip) < 0 ||
		    (n = readlinkat(d.fd, name, holder, sizeof(holder))) < 0 ||
		    n == sizeof(holder))
			continue;
		holder[n] = '\0';
		if ((k = fn(ip, holder, arg)) < 0)
			ret = -1;
		else if (k > 0 && unlinkat(d.fd, name, 0) < 0 &&
		    errno != ENOENT)
			ret = -1;
		else if (k > 0)
			freed = 1;
	}
	if (r < 0 || (freed && root_sync(d.fd) < 0))
		ret = -1;
	util_dir_close(&d);
	return ret;
}
