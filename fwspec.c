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
static int
port(char **s, uint16_t *v)
{
	unsigned long long a;
	const char *p;

	if (util_parse_ull(*s, &p, 65535, &a) < 0 || !a)
		return -1;
	*v = (uint16_t)a;
	*s = (char *)p;
	return 0;
}

/* One word, into a struct fw_port or, with egress, a struct fw_egress. */
int
fwspec_parse(const char *word, void *item, int egress)
{
	struct fw_egress *g = item;
	struct fw_port *p = item;
	char w[48], *s = w, *c, *slash;
	unsigned long long n = 32;
	size_t len = strlen(word);
	int proto = 0;

	memset(item, 0, egress ? sizeof(*g) : sizeof(*p));
	if (len >= sizeof(w))
		goto bad;
	memcpy(w, word, len + 1);
	if (egress) {
		if ((slash = strchr(w, '/'))) {
			*slash++ = '\0';
			if (util_parse_ull(slash, (const char **)&s, 32, &n) < 0 ||
			    *s)
				goto bad;
		}
		g->prefix = (uint8_t)n;
		if (ipam_parse_ip(w, NULL, &g->net) < 0 ||
		    g->net & ~ipam_mask((int)n))
			goto bad;
		return 0;
	}
	if (len > 4 && (!strcmp(w + len - 4, "/tcp") ||
	    !strcmp(w + len - 4, "/udp"))) {
		proto = w[len - 3] == 't' ? IPPROTO_TCP : IPPROTO_UDP;
		w[len - 4] = '\0';
	}
	c = strchr(w, ':');
	if (c && strchr(c + 1, ':')) {
		*c = '\0';
		if (ipam_parse_ip(w, NULL, &p->ip) < 0 || !p->ip)
			goto bad;
		s = c + 1;
	}
	if (port(&s, &p->hport) < 0 || *s++ != ':' ||
	    port(&s, &p->pport) < 0 || *s)
		goto bad;
	p->proto = (uint8_t)(proto ? proto : IPPROTO_TCP);
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
