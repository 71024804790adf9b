/* SPDX-License-Identifier: Apache-2.0 */
/* Raw rtnetlink: requests are built into an nl_buf and sent as one batch. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "pelagos.h"

#define NLA_ALIGNED(n) (((n) + 3u) & ~3u)

void
nl_buf_init(struct nl_buf *b, uint32_t seq)
{
	memset(b, 0, sizeof(*b));
	b->seq = seq;
}

/* Appends len zeroed bytes, padded to 4, to the message being built. */
static void *
reserve(struct nl_buf *b, size_t len)
{
	size_t alen = NLA_ALIGNED(len);
	unsigned char *p;

	if (b->err || alen > sizeof(b->data) - b->len) {
		b->err = ENOBUFS;
		return NULL;
	}
	p = b->data + b->len;
	memset(p, 0, alen);
	b->len += alen;
	((struct nlmsghdr *)(b->data + b->msg))->nlmsg_len = b->len - b->msg;
	return p;
}

static void
append(struct nl_buf *b, const void *data, size_t len)
{
	void *p = reserve(b, len);

	if (p && len)
		memcpy(p, data, len);
}

/* Every request asks for an ack so that nl_talk can pair replies with
 * messages by sequence number and report the first failure. */
void
nl_msg(struct nl_buf *b, uint16_t type, uint16_t flags, const void *hdr,
	size_t hdrlen)
{
	struct nlmsghdr *h;

	if (b->err || NLMSG_HDRLEN > sizeof(b->data) - b->len) {
		b->err = ENOBUFS;
		return;
	}
	b->msg = b->len;
	h = (struct nlmsghdr *)(b->data + b->len);
	memset(h, 0, NLMSG_HDRLEN);
	b->len += NLMSG_HDRLEN;
	h->nlmsg_len = NLMSG_HDRLEN;
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	h->nlmsg_seq = b->seq + b->nmsg++;
	append(b, hdr, hdrlen);
}

void
nl_put(struct nl_buf *b, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a;

	if (!(a = reserve(b, NLA_HDRLEN + len)))
		return;
	a->nla_len = NLA_HDRLEN + len;
	a->nla_type = type;
	if (len)
		memcpy((unsigned char *)a + NLA_HDRLEN, data, len);
}

void
nl_put_str(struct nl_buf *b, uint16_t type, const char *s)
{
	nl_put(b, type, s, strlen(s) + 1);
}

void
nl_put_u32(struct nl_buf *b, uint16_t type, uint32_t v)
{
	nl_put(b, type, &v, sizeof(v));
}

/* Returns the nest's offset for nl_nest_end, which patches its length. */
size_t
nl_nest(struct nl_buf *b, uint16_t type)
{
	size_t off = b->len;

	nl_put(b, type | NLA_F_NESTED, NULL, 0);
	return off;
}

void
nl_nest_end(struct nl_buf *b, size_t off)
{
	if (!b->err)
		((struct nlattr *)(b->data + off))->nla_len = b->len - off;
}

/* A bridge with a hardware address of its own: without one it takes
 * the lowest of its ports', and changes when that port goes. */
void
nl_req_newbridge(struct nl_buf *b, const char *name,
	const unsigned char mac[6])
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC,
		.ifi_flags = IFF_UP, .ifi_change = IFF_UP };
	size_t info;

	nl_msg(b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
	nl_put_str(b, IFLA_IFNAME, name);
	nl_put(b, IFLA_ADDRESS, mac, 6);
	info = nl_nest(b, IFLA_LINKINFO);
	nl_put_str(b, IFLA_INFO_KIND, "bridge");
	nl_nest_end(b, info);
}

static void
set_up(struct nl_buf *b, const char *name, unsigned int up)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC,
		.ifi_flags = up, .ifi_change = IFF_UP };

	nl_msg(b, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
	nl_put_str(b, IFLA_IFNAME, name);
}

void
nl_req_linkup(struct nl_buf *b, const char *name)
{
	set_up(b, name, IFF_UP);
}

void
nl_req_linkdown(struct nl_buf *b, const char *name)
{
	set_up(b, name, 0);
}

/* One message creates the pair, enslaves and raises the host end, and
 * creates the peer already inside the pod's namespace under its final
 * name, so no rename or move is needed afterwards.  The peer cannot be
 * raised here: the kernel configures it before the pair is linked, and
 * veth_open() then fails with ENOTCONN. */
void
nl_req_newveth(struct nl_buf *b, const char *host, int master,
	const char *peer, int peer_nsfd)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC,
		.ifi_flags = IFF_UP, .ifi_change = IFF_UP };
	struct ifinfomsg peer_ifi = { .ifi_family = AF_UNSPEC };
	size_t info, data, p;

	nl_msg(b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
	nl_put_str(b, IFLA_IFNAME, host);
	nl_put_u32(b, IFLA_MASTER, (uint32_t)master);
	info = nl_nest(b, IFLA_LINKINFO);
	nl_put_str(b, IFLA_INFO_KIND, "veth");
	data = nl_nest(b, IFLA_INFO_DATA);
	/* The peer is described by an ifinfomsg of its own, followed by
	 * its attributes, all inside VETH_INFO_PEER. */
	p = nl_nest(b, VETH_INFO_PEER);
	append(b, &peer_ifi, sizeof(peer_ifi));
	nl_put_str(b, IFLA_IFNAME, peer);
	nl_put_u32(b, IFLA_NET_NS_FD, (uint32_t)peer_nsfd);
	nl_nest_end(b, p);
	nl_nest_end(b, data);
	nl_nest_end(b, info);
}

void
nl_req_newaddr(struct nl_buf *b, int ifindex, uint32_t ip, int prefix)
{
	struct ifaddrmsg ifa = { .ifa_family = AF_INET,
		.ifa_prefixlen = (unsigned char)prefix,
		.ifa_scope = RT_SCOPE_UNIVERSE, .ifa_index = (unsigned)ifindex };
	uint32_t be = htonl(ip);

	nl_msg(b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof(ifa));
	nl_put(b, IFA_LOCAL, &be, sizeof(be));
	nl_put(b, IFA_ADDRESS, &be, sizeof(be));
}

void
nl_req_defroute(struct nl_buf *b, uint32_t gw)
{
	struct rtmsg rt = { .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN,
		.rtm_protocol = RTPROT_BOOT, .rtm_scope = RT_SCOPE_UNIVERSE,
		.rtm_type = RTN_UNICAST };
	uint32_t be = htonl(gw);

	nl_msg(b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof(rt));
	nl_put(b, RTA_GATEWAY, &be, sizeof(be));
}

void
nl_req_dellink(struct nl_buf *b, const char *name)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };

	nl_msg(b, RTM_DELLINK, 0, &ifi, sizeof(ifi));
	nl_put_str(b, IFLA_IFNAME, name);
}

/* For a CNI attachment's configured MTU, on each end of its veth. */
void
nl_req_linkmtu(struct nl_buf *b, const char *name, unsigned int mtu)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };

	nl_msg(b, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
	nl_put_str(b, IFLA_IFNAME, name);
	nl_put_u32(b, IFLA_MTU, mtu);
}

/* A route lookup, as `ip route get`: the kernel answers with the route a
 * packet to dst would take, which is how CHECK sees an address and the
 * routes without a dump. */
void
nl_req_getroute(struct nl_buf *b, uint32_t dst)
{
	struct rtmsg rt = { .rtm_family = AF_INET, .rtm_dst_len = 32 };
	uint32_t be = htonl(dst);

	nl_msg(b, RTM_GETROUTE, 0, &rt, sizeof(rt));
	nl_put(b, RTA_DST, &be, sizeof(be));
}

void
nl_req_getlink(struct nl_buf *b, const char *name)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	uint32_t mask = RTEXT_FILTER_SKIP_STATS;

	nl_msg(b, RTM_GETLINK, 0, &ifi, sizeof(ifi));
	nl_put_str(b, IFLA_IFNAME, name);
	nl_put(b, IFLA_EXT_MASK, &mask, sizeof(mask));
}

/* A socket of the given netlink protocol, bound so that the kernel
 * gives it a port id of its own: replies are matched by that id and by
 * sequence number, never taken on trust. */
int
nl_open(struct nl_sock *s, int protocol)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t salen = sizeof(sa);
	int one = 1, e;

	s->seq = 1;
	s->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
	if (s->fd < 0)
		return -1;
	/* Acks need not echo the whole request back. */
	setsockopt(s->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(s->fd, (struct sockaddr *)&sa, &salen) < 0) {
		e = errno;
		nl_close(s);
		errno = e;
		return -1;
	}
	s->portid = sa.nl_pid;
	return 0;
}

void
nl_close(struct nl_sock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static void
parse_link(const struct nlmsghdr *h, struct nl_link *out)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	const struct rtattr *a = IFLA_RTA(ifi);
	int len = (int)IFLA_PAYLOAD(h);

	memset(out, 0, sizeof(*out));
	out->index = ifi->ifi_index;
	out->flags = ifi->ifi_flags;
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_MASTER &&
		    RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
			memcpy(&out->master, RTA_DATA(a), sizeof(uint32_t));
		} else if (a->rta_type == IFLA_ADDRESS &&
		    RTA_PAYLOAD(a) == sizeof(out->mac)) {
			memcpy(out->mac, RTA_DATA(a), sizeof(out->mac));
		} else if (a->rta_type == IFLA_LINKINFO) {
			const struct rtattr *i = RTA_DATA(a);
			int ilen = (int)RTA_PAYLOAD(a);

			for (; RTA_OK(i, ilen); i = RTA_NEXT(i, ilen))
				if (i->rta_type == IFLA_INFO_KIND &&
				    RTA_PAYLOAD(i) >= 7 &&
				    !memcmp(RTA_DATA(i), "bridge", 7))
					out->is_bridge = 1;
		}
	}
}

static void
parse_route(const struct nlmsghdr *h, struct nl_route *out)
{
	const struct rtmsg *rt = NLMSG_DATA(h);
	const struct rtattr *a = RTM_RTA(rt);
	int len = (int)RTM_PAYLOAD(h);
	uint32_t v;

	memset(out, 0, sizeof(*out));
	out->type = rt->rtm_type;
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (RTA_PAYLOAD(a) != sizeof(v))
			continue;
		memcpy(&v, RTA_DATA(a), sizeof(v));
		if (a->rta_type == RTA_OIF)
			out->oif = (int)v;
		else if (a->rta_type == RTA_GATEWAY)
			out->gw = ntohl(v);
	}
}

/* Numbers the batch's messages from the socket's next sequence number,
 * so that a reply to an earlier batch on the same socket can never be
 * taken for one of these; returns how many of them ask for an ack. */
static unsigned int
number(struct nl_sock *s, struct nl_buf *b)
{
	struct nlmsghdr *h;
	unsigned int acks = 0;
	size_t off;

	b->seq = s->seq;
	for (off = 0; off < b->len; off += NLMSG_ALIGN(h->nlmsg_len)) {
		h = (struct nlmsghdr *)(b->data + off);
		h->nlmsg_seq = s->seq++;
		acks += !!(h->nlmsg_flags & NLM_F_ACK);
	}
	return acks;
}

/* Sends the batch and reads one ack per message that asked for one.  The
 * kernel carries on with the rest of a batch after a failed message, so
 * every ack is read before the first error is returned.  Only replies
 * addressed to this socket's port id and carrying one of the batch's
 * sequence numbers count.  The reply to a RTM_GETLINK or RTM_GETROUTE,
 * the batch's only message then, is stored in *out (a struct nl_link or
 * nl_route, as the reply's type says) when out is not NULL. */
static int
talk(struct nl_sock *s, struct nl_buf *b, void *out)
{
	static unsigned char rbuf[8192];
	unsigned int acked = 0, want;
	uint32_t base;
	int first = 0;
	ssize_t n;

	if (b->err) {
		errno = b->err;
		return -1;
	}
	base = s->seq;
	want = number(s, b);
	if (send(s->fd, b->data, b->len, 0) != (ssize_t)b->len)
		return -1;
	while (acked < want) {
		struct nlmsghdr *h = (struct nlmsghdr *)rbuf;

		n = recv(s->fd, rbuf, sizeof(rbuf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_pid != s->portid ||
			    h->nlmsg_seq - base >= s->seq - base)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e))) {
					if (!first)
						first = EPROTO;
				} else if (e->error && !first) {
					first = -e->error;
				}
				acked++;
			} else if (h->nlmsg_type == RTM_NEWLINK && out) {
				parse_link(h, out);
			} else if (h->nlmsg_type == RTM_NEWROUTE && out) {
				parse_route(h, out);
			}
		}
	}
	if (first) {
		errno = first;
		return -1;
	}
	return 0;
}

int
nl_talk(struct nl_sock *s, struct nl_buf *b)
{
	return talk(s, b, NULL);
}

int
nl_getlink(struct nl_sock *s, const char *name, struct nl_link *out)
{
	struct nl_buf b;

	nl_buf_init(&b, 1);
	nl_req_getlink(&b, name);
	memset(out, 0, sizeof(*out));
	if (talk(s, &b, out) < 0)
		return -1;
	if (!out->index) {
		errno = ENODEV;
		return -1;
	}
	return 0;
}

int
nl_getroute(struct nl_sock *s, uint32_t dst, struct nl_route *out)
{
	struct nl_buf b;

	nl_buf_init(&b, 1);
	nl_req_getroute(&b, dst);
	memset(out, 0, sizeof(*out));
	return talk(s, &b, out);
}
