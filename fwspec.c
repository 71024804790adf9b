/* SPDX-License-Identifier: Apache-2.0 */
/* The words of --publish and --egress, parsed.
 *
 *   --publish [HOSTIP:]HOSTPORT[-LAST]:PODPORT[-LAST][/tcp|/udp]
 *   --egress  A.B.C.D[/N][:PORT[-LAST]][/tcp|/udp]
 *
 * The state file, ls --json and inspect show the words as given, joined
 * by commas. */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include "pelagos.h"

/* A port at *s, 1..65535; *s is left after it. */
static __attribute__((noinline)) int
port(const char **s, uint16_t *v)
{
	unsigned long long a;

	if (util_parse_ull(*s, s, 65535, &a) < 0 || !a)
		return -1;
	*v = (uint16_t)a;
	return 0;
}

/* A port or a range of them at *s: its first port and how many. */
static int
range(const char **s, uint16_t *lo, uint16_t *n)
{
	uint16_t hi;

	if (port(s, lo) < 0)
		return -1;
	hi = *lo;
	if (**s == '-' && (++*s, port(s, &hi) < 0 || hi < *lo))
		return -1;
	*n = (uint16_t)(hi - *lo + 1);
	return 0;
}

/* One word, into a struct fw_port or, with egress, a struct fw_egress. */
int
fwspec_parse(const char *word, void *item, int egress)
{
	struct fw_egress *g = item;
	struct fw_port *p = item;
	const char *s = word, *end, *c, *sl;
	unsigned long long n = 32;
	size_t len = util_strlen(word);
	uint8_t proto = 0;
	uint16_t m;

	memset(item, 0, egress ? sizeof(*g) : sizeof(*p));
	if (len >= 48)
		goto bad;
	end = word + len;
	if (len > 4 && (!strcmp(end - 4, "/tcp") || !strcmp(end - 4, "/udp"))) {
		proto = end[-3] == 't' ? IPPROTO_TCP : IPPROTO_UDP;
		end -= 4;
	}
	c = util_memchr(word, ':', (size_t)(end - word));
	if (egress) {
		/* A protocol alone allows its every port. */
		g->proto = proto;
		g->hi = proto ? 65535 : 0;
		if (c && (s = c + 1, range(&s, &g->lo, &m) < 0 || s != end))
			goto bad;
		if (c)
			g->hi = (uint16_t)(g->lo + m - 1);
		else
			c = end;
		sl = util_memchr(word, '/', (size_t)(c - word));
		if (sl && (util_parse_ull(sl + 1, &s, 32, &n) < 0 || s != c))
			goto bad;
		g->prefix = (uint8_t)n;
		if (ipam_parse_ip(word, sl ? sl : c, &g->net) < 0 ||
		    g->net & ~ipam_mask((int)n))
			goto bad;
		return 0;
	}
	p->proto = proto ? proto : IPPROTO_TCP;
	if (c && util_memchr(c + 1, ':', (size_t)(end - c - 1))) {
		if (ipam_parse_ip(word, c, &p->ip) < 0 || !p->ip)
			goto bad;
		s = c + 1;
	}
	if (range(&s, &p->hport, &p->n) < 0 || *s++ != ':' ||
	    range(&s, &p->pport, &m) < 0 || s != end || m != p->n)
		goto bad;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* A comma-separated list ("" for none) of at most FW_MAX_PORTS words
 * (FW_MAX_RANGE ports, none published twice) or FW_MAX_EGRESS. */
int
fwspec_list(const char *s, void *items, size_t *n, int egress)
{
	size_t step = egress ? sizeof(struct fw_egress) : sizeof(struct fw_port);
	struct fw_port *p = items, *q;
	unsigned int total = 0;
	char word[48];
	const char *end;
	size_t len;

	for (*n = 0; *s; s = end + 1) {
		end = util_strchr(s, ',');
		len = end ? (size_t)(end - s) : util_strlen(s);
		if (*n == (egress ? FW_MAX_EGRESS : FW_MAX_PORTS) ||
		    len >= sizeof(word))
			goto bad;
		memcpy(word, s, len);
		word[len] = '\0';
		if (fwspec_parse(word, (char *)items + *n * step, egress) < 0)
			goto bad;
		if (!egress) {
			q = &p[*n];
			if ((total += q->n) > FW_MAX_RANGE)
				goto bad;
			for (; q-- != p;)
				if (q->ip == p[*n].ip && q->proto == p[*n].proto &&
				    q->hport < p[*n].hport + p[*n].n &&
				    p[*n].hport < q->hport + q->n)
					goto bad;
		}
		(*n)++;
		if (!end)
			return 0;
	}
	if (!*n)
		return 0;	/* empty; a trailing comma is bad */
bad:
	errno = EINVAL;
	return -1;
}
