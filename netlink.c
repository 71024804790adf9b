/* SPDX-License-Identifier: Apache-2.0 */
/* Raw rtnetlink: requests are built into an nl_buf and sent as one batch. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "pelagos.h"

#define NLA_ALIGNED(n) (((n) + 3u) & ~3u)

/* htonl and ntohl in line: musl's are calls. */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define BE32(x) (x)
#else
#define BE32(x) __builtin_bswap32(x)
#endif

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

/* A message with exactly NLM_F_REQUEST and flags: nfnetlink's batch
 * delimiters must not ask for an ack, which kernels before 6.10 never
 * send for them. */
void
nl_msg_raw(struct nl_buf *b, uint16_t type, uint16_t flags, const void *hdr,
	size_t hdrlen)
{
	struct nlmsghdr *h;

	/* reserve() sets the new message's length as it grows. */
	b->msg = b->len;
	if (!(h = reserve(b, NLMSG_HDRLEN)))
		return;
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = b->seq + b->nmsg++;
	append(b, hdr, hdrlen);
}

/* Every request asks for an ack so that nl_talk can pair replies with
 * messages by sequence number and report the first failure. */
void
nl_msg(struct nl_buf *b, uint16_t type, uint16_t flags, const void *hdr,
	size_t hdrlen)
{
	nl_msg_raw(b, type, NLM_F_ACK | flags, hdr, hdrlen);
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
	nl_put(b, type, s, util_strlen(s) + 1);
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

/* A link message on name; change says which of up's flags to set. */
static void
link_msg(struct nl_buf *b, uint16_t type, uint16_t flags, unsigned int up,
	unsigned int change, const char *name)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_flags = up,
		.ifi_change = change };

	nl_msg(b, type, flags, &ifi, sizeof(ifi));
	nl_put_str(b, IFLA_IFNAME, name);
}

/* A bridge with a hardware address of its own: without one it takes
 * the lowest of its ports', and changes when that port goes. */
void
nl_req_newbridge(struct nl_buf *b, const char *name,
	const unsigned char mac[6])
{
	size_t info;

	link_msg(b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, IFF_UP, IFF_UP,
	    name);
	nl_put(b, IFLA_ADDRESS, mac, 6);
	info = nl_nest(b, IFLA_LINKINFO);
	nl_put_str(b, IFLA_INFO_KIND, "bridge");
	nl_nest_end(b, info);
}

void
nl_req_linkup(struct nl_buf *b, const char *name)
{
	link_msg(b, RTM_NEWLINK, 0, IFF_UP, IFF_UP, name);
}

void
nl_req_linkdown(struct nl_buf *b, const char *name)
{
	link_msg(b, RTM_NEWLINK, 0, 0, IFF_UP, name);
}

/* One message creates the pair, enslaves and raises the host end, and
 * creates the peer already inside the pod's namespace under its final
 * name, so no rename or move is needed afterwards.  The peer cannot be
 * raised here: the kernel configures it before the pair is linked, and
 * veth_open() then fails with ENOTCONN. */
void
nl_req_newveth(struct nl_buf *b, const char *host, int master,
	const char *peer, int peer_nsfd, int mtu, const unsigned char *mac)
{
	struct ifinfomsg peer_ifi = { .ifi_family = AF_UNSPEC };
	size_t info, data, p;

	link_msg(b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, IFF_UP, IFF_UP,
	    host);
	nl_put_u32(b, IFLA_MASTER, (uint32_t)master);
	if (mtu)
		nl_put_u32(b, IFLA_MTU, (uint32_t)mtu);
	info = nl_nest(b, IFLA_LINKINFO);
	nl_put_str(b, IFLA_INFO_KIND, "veth");
	data = nl_nest(b, IFLA_INFO_DATA);
	/* The peer is described by an ifinfomsg of its own, followed by
	 * its attributes, all inside VETH_INFO_PEER. */
	p = nl_nest(b, VETH_INFO_PEER);
	append(b, &peer_ifi, sizeof(peer_ifi));
	nl_put_str(b, IFLA_IFNAME, peer);
	nl_put_u32(b, IFLA_NET_NS_FD, (uint32_t)peer_nsfd);
	if (mtu)
		nl_put_u32(b, IFLA_MTU, (uint32_t)mtu);
	if (mac)
		nl_put(b, IFLA_ADDRESS, mac, 6);
	nl_nest_end(b, p);
	nl_nest_end(b, data);
	nl_nest_end(b, info);
}

static void
newaddr(struct nl_buf *b, int family, int ifindex, const void *a, size_t len,
	int prefix)
{
	/* An IPv6 address is usable at once, without duplicate address
	 * detection: ours are leased, and no other host is on the link. */
	struct ifaddrmsg ifa = { .ifa_family = (unsigned char)family,
		.ifa_prefixlen = (unsigned char)prefix,
		.ifa_flags = family == AF_INET6 ? IFA_F_NODAD : 0,
		.ifa_scope = RT_SCOPE_UNIVERSE, .ifa_index = (unsigned)ifindex };

	nl_msg(b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof(ifa));
	if (family == AF_INET)
		nl_put(b, IFA_LOCAL, a, len);
	nl_put(b, IFA_ADDRESS, a, len);
}

void
nl_req_newaddr(struct nl_buf *b, int ifindex, uint32_t ip, int prefix)
{
	uint32_t be = BE32(ip);

	newaddr(b, AF_INET, ifindex, &be, sizeof(be), prefix);
}

void
nl_req_newaddr6(struct nl_buf *b, int ifindex, const unsigned char ip[16],
	int prefix)
{
	newaddr(b, AF_INET6, ifindex, ip, 16, prefix);
}

static void
defroute(struct nl_buf *b, int family, const void *gw, size_t len, int oif)
{
	struct rtmsg rt = { .rtm_family = (unsigned char)family,
		.rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
		.rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST };

	nl_msg(b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof(rt));
	nl_put(b, RTA_GATEWAY, gw, len);
	if (oif)
		nl_put_u32(b, RTA_OIF, (uint32_t)oif);
}

void
nl_req_defroute(struct nl_buf *b, uint32_t gw)
{
	uint32_t be = BE32(gw);

	defroute(b, AF_INET, &be, sizeof(be), 0);
}

/* Through the interface: an IPv6 gateway is on-link only through the
 * prefix route of the address made in the same batch. */
void
nl_req_defroute6(struct nl_buf *b, const unsigned char gw[16], int oif)
{
	defroute(b, AF_INET6, gw, 16, oif);
}

void
nl_req_dellink(struct nl_buf *b, const char *name)
{
	link_msg(b, RTM_DELLINK, 0, 0, 0, name);
}

/* A link's MTU: an existing bridge's, to its network's. */
void
nl_req_linkmtu(struct nl_buf *b, const char *name, unsigned int mtu)
{
	link_msg(b, RTM_NEWLINK, 0, 0, 0, name);
	nl_put_u32(b, IFLA_MTU, mtu);
}

/* A route lookup, as `ip route get`: the kernel answers with the route a
 * packet to dst (dst6 when not NULL) would take, which is how CHECK sees
 * an address and the routes without a dump. */
void
nl_req_getroute(struct nl_buf *b, uint32_t dst, const unsigned char *dst6)
{
	struct rtmsg rt = { .rtm_family = dst6 ? AF_INET6 : AF_INET,
	    .rtm_dst_len = dst6 ? 128 : 32 };
	uint32_t be = BE32(dst);

	nl_msg(b, RTM_GETROUTE, 0, &rt, sizeof(rt));
	nl_put(b, RTA_DST, dst6 ? dst6 : (unsigned char *)&be, dst6 ? 16 : 4);
}

void
nl_req_getlink(struct nl_buf *b, const char *name)
{
	link_msg(b, RTM_GETLINK, 0, 0, 0, name);
	nl_put_u32(b, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
}

/* The next attribute of the len bytes at *p, which it steps over: its
 * type without the nested and byte-order flags, or -1 at the end.  *val
 * and *vlen get its payload. */
int
nl_attr_next(const unsigned char **p, size_t *len, const unsigned char **val,
	size_t *vlen)
{
	struct nlattr a;
	size_t n;

	if (*len < NLA_HDRLEN)
		return -1;
	memcpy(&a, *p, sizeof(a));
	if (a.nla_len < NLA_HDRLEN || a.nla_len > *len)
		return -1;
	*val = *p + NLA_HDRLEN;
	*vlen = a.nla_len - NLA_HDRLEN;
	n = NLA_ALIGNED(a.nla_len) < *len ? NLA_ALIGNED(a.nla_len) : *len;
	*p += n;
	*len -= n;
	return a.nla_type & NLA_TYPE_MASK;
}

/* The payload of the first attribute of type in the len bytes at p. */
const unsigned char *
nl_attr_get(const unsigned char *p, size_t len, int type, size_t *vlen)
{
	const unsigned char *v;
	int t;

	while ((t = nl_attr_next(&p, &len, &v, vlen)) >= 0)
		if (t == type)
			return v;
	return NULL;
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
	/* The system call: libc's socket may retry without the flags. */
	s->fd = (int)syscall(SYS_socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    protocol);
	if (s->fd < 0)
		return -1;
	/* Acks need not echo the whole request back. */
	setsockopt(s->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    syscall(SYS_getsockname, s->fd, &sa, &salen) < 0) {
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

/* A reply of the given type, with a header of hdr bytes before its
 * attributes: 0 with *p and *len set to them. */
static int
attrs(const struct nlmsghdr *h, uint16_t type, size_t hdr,
	const unsigned char **p, size_t *len)
{
	if (h->nlmsg_type != type || h->nlmsg_len < NLMSG_LENGTH(hdr))
		return -1;
	*p = (const unsigned char *)NLMSG_DATA(h) + NLMSG_ALIGN(hdr);
	*len = h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(hdr));
	return 0;
}

static int
parse_link(const struct nlmsghdr *h, void *arg)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	const unsigned char *p, *v;
	size_t len, n;
	struct nl_link *out = arg;
	int t;

	if (attrs(h, RTM_NEWLINK, sizeof(*ifi), &p, &len) < 0)
		return 0;
	memset(out, 0, sizeof(*out));
	out->index = ifi->ifi_index;
	out->flags = ifi->ifi_flags;
	while ((t = nl_attr_next(&p, &len, &v, &n)) >= 0)
		if ((t == IFLA_MASTER || t == IFLA_MTU) && n >= 4)
			memcpy(t == IFLA_MTU ? &out->mtu : &out->master, v, 4);
		else if (t == IFLA_ADDRESS && n == sizeof(out->mac))
			memcpy(out->mac, v, sizeof(out->mac));
		else if (t == IFLA_LINKINFO && (v = nl_attr_get(v, n,
		    IFLA_INFO_KIND, &n)) && n >= 7 && !memcmp(v, "bridge", 7))
			out->is_bridge = 1;
	return 0;
}

static int
parse_route(const struct nlmsghdr *h, void *arg)
{
	const struct rtmsg *rt = NLMSG_DATA(h);
	const unsigned char *p, *v;
	size_t len, n;
	struct nl_route *out = arg;
	uint32_t u;
	int t;

	if (attrs(h, RTM_NEWROUTE, sizeof(*rt), &p, &len) < 0)
		return 0;
	memset(out, 0, sizeof(*out));
	out->type = rt->rtm_type;
	while ((t = nl_attr_next(&p, &len, &v, &n)) >= 0) {
		if (n != sizeof(u))
			continue;
		memcpy(&u, v, sizeof(u));
		if (t == RTA_OIF)
			out->oif = (int)u;
		else if (t == RTA_GATEWAY)
			out->gw = BE32(u);
	}
	return 0;
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

/* Sends the batch and reads one ack per message that asked for one (a
 * dump's NLMSG_DONE counts as its ack).  The kernel carries on with the
 * rest of a batch after a failed message, so every ack is read before
 * the first error is returned; b->bad is then that message's index, -1
 * when nothing reached the kernel, -2 when its answer was not read (so
 * that a batch may have been committed).
 * Only replies addressed to this socket's port id and carrying one of
 * the batch's sequence numbers count; any other reply of the batch is
 * handed to cb, whose failure is returned once the acks are in. */
int
nl_talk_cb(struct nl_sock *s, struct nl_buf *b,
	int (*cb)(const struct nlmsghdr *h, void *arg), void *arg)
{
	static unsigned char rbuf[8192];
	unsigned int acked = 0, want;
	uint32_t base;
	int first = 0, err;
	ssize_t n;

	b->bad = -1;
	if (b->err) {
		errno = b->err;
		return -1;
	}
	base = s->seq;
	want = number(s, b);
	if (send(s->fd, b->data, b->len, 0) != (ssize_t)b->len)
		return -1;
	b->bad = -2;
	while (acked < want) {
		struct nlmsghdr *h = (struct nlmsghdr *)rbuf;

		/* Raw: musl's recv is two wrappers deep, and nothing else
		 * here uses them. */
		n = syscall(SYS_recvfrom, s->fd, rbuf, sizeof(rbuf), 0, NULL,
		    NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_pid != s->portid ||
			    h->nlmsg_seq - base >= s->seq - base)
				continue;
			err = 0;
			if (h->nlmsg_type == NLMSG_ERROR ||
			    h->nlmsg_type == NLMSG_DONE) {
				/* Both start with the error as an int. */
				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(int)))
					err = EPROTO;
				else
					err = -*(int *)NLMSG_DATA(h);
				acked++;
			} else if (cb && cb(h, arg) < 0) {
				err = errno;
			}
			if (err && !first) {
				first = err;
				b->bad = (int)(h->nlmsg_seq - base);
			}
		}
	}
	b->bad = first ? b->bad : -1;
	if (first) {
		errno = first;
		return -1;
	}
	return 0;
}

int
nl_talk(struct nl_sock *s, struct nl_buf *b)
{
	return nl_talk_cb(s, b, NULL, NULL);
}

int
nl_getlink(struct nl_sock *s, const char *name, struct nl_link *out)
{
	struct nl_buf b;

	nl_buf_init(&b, 1);
	nl_req_getlink(&b, name);
	memset(out, 0, sizeof(*out));
	if (nl_talk_cb(s, &b, parse_link, out) < 0)
		return -1;
	if (!out->index) {
		errno = ENODEV;
		return -1;
	}
	return 0;
}

int
nl_getroute(struct nl_sock *s, uint32_t dst, const unsigned char *dst6,
	struct nl_route *out)
{
	struct nl_buf b;

	nl_buf_init(&b, 1);
	nl_req_getroute(&b, dst, dst6);
	memset(out, 0, sizeof(*out));
	return nl_talk_cb(s, &b, parse_route, out);
}
