/* SPDX-License-Identifier: Apache-2.0 */
/* The words of --publish and --egress, parsed.
 *
 *   --publish [HOSTIP:]HOSTPORT:PODPORT[/tcp|/udp]
 *   --egress  A.B.C.D[/N]
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

/* One word, into a struct fw_port or, with egress, a struct fw_egress. */
int
fwspec_parse(const char *word, void *item, int egress)
{
	struct fw_egress *g = item;
	struct fw_port *p = item;
	const char *s = word, *end, *c;
	unsigned long long n = 32;
	size_t len = strlen(word);

	memset(item, 0, egress ? sizeof(*g) : sizeof(*p));
	if (len >= 48)
		goto bad;
	end = word + len;
	if (egress) {
		if ((c = strchr(word, '/')) &&
		    (util_parse_ull(c + 1, &s, 32, &n) < 0 || *s))
			goto bad;
		g->prefix = (uint8_t)n;
		if (ipam_parse_ip(word, c, &g->net) < 0 ||
		    g->net & ~ipam_mask((int)n))
			goto bad;
		return 0;
	}
	p->proto = IPPROTO_TCP;
	if (len > 4 && (!strcmp(end - 4, "/tcp") || !strcmp(end - 4, "/udp"))) {
		p->proto = end[-3] == 't' ? IPPROTO_TCP : IPPROTO_UDP;
		end -= 4;
	}
	c = strchr(word, ':');
	if (c && strchr(c + 1, ':')) {
		if (ipam_parse_ip(word, c, &p->ip) < 0 || !p->ip)
			goto bad;
		s = c + 1;
	}
	if (port(&s, &p->hport) < 0 || *s++ != ':' ||
	    port(&s, &p->pport) < 0 || s != end)
		goto bad;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* A comma-separated list ("" for none) of at most FW_MAX_PORTS words
 * or FW_MAX_EGRESS. */
int
fwspec_list(const char *s, void *items, size_t *n, int egress)
{
	size_t step = egress ? sizeof(struct fw_egress) : sizeof(struct fw_port);
	char word[48];
	const char *end;
	size_t len;

	for (*n = 0; *s; s = end + 1) {
		end = strchr(s, ',');
		len = end ? (size_t)(end - s) : strlen(s);
		if (*n == (egress ? FW_MAX_EGRESS : FW_MAX_PORTS) ||
		    len >= sizeof(word))
			goto bad;
		memcpy(word, s, len);
		word[len] = '\0';
		if (fwspec_parse(word, (char *)items + *n * step, egress) < 0)
			goto bad;
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
