/* SPDX-License-Identifier: Apache-2.0 */
/* Connection tracking over ctnetlink: forgetting an address.
 *
 * A sandbox given a removed one's address must not inherit its NAT
 * bindings or UDP "connections" (the CNI plugins' k8s#58336, plugins#123).
 * The kernel deletes an entry only by its whole tuple, and a delete that
 * names none flushes the table, so the entries are dumped, matched here
 * and deleted one by one.  An entry mentions the address iff its
 * original or its reply source is it: one side or the other opened it. */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>

#include "pelagos.h"

struct forget {
	struct nl_buf *del;
	uint32_t ip;		/* network byte order */
	unsigned int n;
	int full;
};

static int
source_is(const unsigned char *p, size_t len, int tuple, uint32_t ip)
{
	size_t l;

	return (p = nl_attr_get(p, len, tuple, &l)) &&
	    (p = nl_attr_get(p, l, CTA_TUPLE_IP, &l)) &&
	    (p = nl_attr_get(p, l, CTA_IP_V4_SRC, &l)) && l == 4 &&
	    !memcmp(p, &ip, 4);
}

static int
collect(const struct nlmsghdr *h, void *arg)
{
	static const struct nfgenmsg g = { AF_INET, NFNETLINK_V0, 0 };
	struct forget *w = arg;
	const unsigned char *p = (const unsigned char *)NLMSG_DATA(h) +
	    sizeof(struct nfgenmsg), *v;
	size_t len = h->nlmsg_len - NLMSG_LENGTH(sizeof(struct nfgenmsg)), l;
	int t;

	if (h->nlmsg_type != (NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_NEW) ||
	    (!source_is(p, len, CTA_TUPLE_ORIG, w->ip) &&
	    !source_is(p, len, CTA_TUPLE_REPLY, w->ip)))
		return 0;
	if (w->del->len + 256 > NL_BUFSZ) {
		w->full = 1;
		return 0;
	}
	nl_msg(w->del, NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_DELETE, 0,
	    &g, sizeof(g));
	for (t = CTA_TUPLE_ORIG; t; t = t == CTA_TUPLE_ORIG ? CTA_ZONE : 0)
		if ((v = nl_attr_get(p, len, t, &l)))
			nl_put(w->del, (uint16_t)(t == CTA_ZONE ? t :
			    t | NLA_F_NESTED), v, l);
	w->n++;
	return 0;
}

/* Deletes every IPv4 conntrack entry of ip (host byte order), over sock
 * (a netfilter socket) or else one of its own.  A kernel without
 * conntrack has none to delete. */
int
ct_forget(struct nl_sock *sock, uint32_t ip)
{
	static const struct nfgenmsg g = { AF_INET, NFNETLINK_V0, 0 };
	struct nl_sock own = NL_SOCK_INIT, *s = sock ? sock : &own;
	struct nl_buf q, del;
	struct forget w = { &del, htonl(ip), 0, 0 };
	int round, ret = -1;

	if (!sock && nl_open(&own, NETLINK_NETFILTER) < 0)
		return errno == EPROTONOSUPPORT ? 0 : -1;
	/* An entry made while deleting is gone by the next round, since the
	 * address's sandbox no longer sends; a table too large for one
	 * batch of deletions takes several. */
	for (round = 0; round < 64; round++) {
		w.n = 0;
		w.full = 0;
		nl_buf_init(&del, 1);
		nl_buf_init(&q, 1);
		nl_msg(&q, NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET,
		    NLM_F_DUMP, &g, sizeof(g));
		if (nl_talk_cb(s, &q, collect, &w) < 0) {
			if (errno == EOPNOTSUPP)
				ret = 0;
			goto out;
		}
		/* ENOENT: the entry timed out meanwhile. */
		if (w.n && nl_talk(s, &del) < 0 && errno != ENOENT)
			goto out;
		if (!w.full) {
			ret = 0;
			goto out;
		}
	}
	errno = EAGAIN;
out:
	nl_close(&own);
	return ret;
}
