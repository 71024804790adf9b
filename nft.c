/* SPDX-License-Identifier: Apache-2.0 */
/* nf_tables over NETLINK_NETFILTER: pelagos's own two tables, and the
 * batches of set elements that add or remove one sandbox.
 *
 * Both tables carry one name (PELAGOS_NFT_TABLE, default "pelagos"):
 * "inet" holds the NAT (published ports, masquerade), "bridge" the
 * checks on each sandbox's bridge port (anti-spoofing, the egress
 * allowlist), which must see bridged frames whether or not br_netfilter
 * hands them to the IP hooks.  Their chains are fixed and only look
 * sandboxes up in sets and maps, so a sandbox is one batch of element
 * changes whatever the number of others.  Every element carries its
 * sandbox's ID as its comment, which `nft list` shows.
 *
 * The requests are the bytes `nft -f` sends for the same rules and
 * elements (tests/nft-ref.sh, tests/unit.c), but that every message asks
 * for an ack and elements name their set only (nft adds its handle). */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "pelagos.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the rules' host-order values (fib, ct, udata) are written little-endian"
#endif

/* Every name the tables use, and nft's expression names; the programs
 * and the element code refer to them by index. */
enum {
	P_META, P_PAYLOAD, P_CMP, P_LOOKUP, P_IMMEDIATE, P_FIB, P_CT,
	P_BITWISE, P_NAT, P_MASQ, P_OBJREF, P_PREROUTING,
	P_OUTPUT, P_PUBLISH, P_POSTROUTING, P_FILTER, P_POD, P_EGRESS, P_PODS,
	P_PORTS, P_ANYPORTS, P_GUARD, P_MACS, P_IPS, P_ALLOW,
	P_DROPS, P_ALLOWPORTS, P_REPLIES, P_BYTEORDER, P_IPS6
};
static const char pool[] = "meta\0payload\0cmp\0lookup\0immediate\0fib\0"
	"ct\0bitwise\0nat\0masq\0objref\0prerouting\0output\0"
	"publish\0postrouting\0filter\0pod\0egress\0pods\0ports\0anyports\0"
	"guard\0macs\0ips\0allow\0drops\0allowports\0replies\0byteorder\0src6";

static const char *
name(unsigned int i)
{
	const char *s = pool;

	while (i--)
		s += util_strlen(s) + 1;
	return s;
}

/* A table is built by a program of attribute operations, one byte each
 * (the operation in the top 3 bits, an attribute type in the low 5)
 * followed by its operands:
 *   U8   be32 attribute of a one-byte value     U32  of a four-byte one
 *   RAW  n bytes as they are                    STR  a name of the pool
 *   NEST opens a nested attribute, CLOSE(n) closes n
 *   MSG  a message of type t with flags (their high byte), naming the table
 *   EXPR opens an expression of the pool's name i (CLOSE(2) ends it), or
 *        with i from X_FIRST on, runs template i - X_FIRST below with the
 *        operands that follow in place of its bytes 0xf0, 0xf1, ... */
#define U8(t, v)	(t), (v)
#define U32(t, v)	0x20 | (t), (uint8_t)((uint32_t)(v) >> 24), \
	(uint8_t)((uint32_t)(v) >> 16), (uint8_t)((uint32_t)(v) >> 8), \
	(uint8_t)(v)
#define RAW(t, n)	0x40 | (t), (n)
#define STR(t, i)	0x60 | (t), (i)
#define NEST(t)		0x80 | (t)
#define CLOSE(n)	0xa0 | (n)
#define MSG(t, f)	0xc0 | NFT_MSG_##t, (f) >> 8
#define EXPR(i)		0xe0 | (i)
#define END		0xfe	/* in no template: verdicts hold 0xff */
#define OP(k)		(0xf0 + (k))

#define B4(v)		(uint8_t)((uint32_t)(v) >> 24), \
	(uint8_t)((uint32_t)(v) >> 16), (uint8_t)((uint32_t)(v) >> 8), \
	(uint8_t)(v)
#define META(key, reg)	EXPR(X_META), NFT_META_##key, reg
#define PAY(base, off, len, reg) EXPR(X_PAY), NFT_PAYLOAD_##base##_HEADER, \
	off, len, reg
#define CMP1(op, v)	EXPR(X_CMP1), NFT_CMP_##op, v
#define CMP2(op, v0, v1) EXPR(X_CMP2), NFT_CMP_##op, v0, v1
#define CMP4(op, v0)	EXPR(X_CMP4), NFT_CMP_##op, v0, 0, 0, 0
#define LOOK(set, id)	EXPR(X_LOOK), set, id
#define LOOKNOT(set, id) EXPR(X_LOOKNOT), set, id
#define LOOKMAP(set, id) EXPR(X_LOOKMAP), set, id
#define JUMP(chain)	EXPR(X_JUMP), chain
#define RETURN		EXPR(X_RETURN)
#define DROP		EXPR(X_DROP)
#define RULE(chain)	EXPR(X_RULE), chain
#define RULE_END	CLOSE(1)
#define SET(name, flags, type, len) EXPR(X_SET), name, flags, B4(type), len
#define BASE(chain, type, hook, prio) EXPR(X_BASE), chain, type, hook, B4(prio)
#define CHAIN(chain)	MSG(NEWCHAIN, NLM_F_CREATE), STR(NFTA_CHAIN_NAME, chain)
#define TABLE		MSG(NEWTABLE, 0), U8(NFTA_TABLE_FLAGS, 0)
#define FLUSH(chain)	MSG(DELRULE, 0), STR(NFTA_RULE_CHAIN, chain)
#define MASQ		EXPR(P_MASQ), CLOSE(2)
#define DNAT		EXPR(P_NAT), U8(NFTA_NAT_TYPE, NFT_NAT_DNAT), \
	U8(NFTA_NAT_FAMILY, NFPROTO_IPV4), U8(NFTA_NAT_REG_ADDR_MIN, 1), \
	U8(NFTA_NAT_REG_PROTO_MIN, 9), CLOSE(2)
/* Sequences the programs repeat, each a template (X_IPV4 ...). */
#define IPV4		EXPR(X_IPV4)
#define LOCAL		EXPR(X_LOCAL)
#define IIF		EXPR(X_IIF)
#define ARP		EXPR(X_ARP)
#define ETHER(op, b0, b1) PAY(LL, 12, 2, 1), CMP2(op, b0, b1)
#define PROTO_IP	META(PROTOCOL, 1), CMP2(EQ, 8, 0)
#define PROTO_IP6	META(PROTOCOL, 1), CMP2(EQ, 0x86, 0xdd)
#define MAPDATA		U32(NFTA_SET_DATA_TYPE, 0x1cd), U8(NFTA_SET_DATA_LEN, 8)
#define SETID(id)	U8(NFTA_SET_ID, id)
/* The guard set's display hint (a libnftnl udata record: its key is in
 * host byte order), without which nft shows its names empty; the other
 * sets need none. */
#define UD_HOST		RAW(NFTA_SET_USERDATA, 6), 0, 4, 1, 0, 0, 0
#define FIELD(n)	NEST(NFTA_LIST_ELEM), U8(NFTA_SET_FIELD_LEN, n), CLOSE(1)

/* The templates: expressions in nft's attribute order, and the headers
 * of chains, sets and rules. */
enum {
	X_META = P_PREROUTING, X_PAY, X_CMP1, X_CMP2, X_CMP4, X_LOOK,
	X_LOOKNOT, X_LOOKMAP, X_JUMP, X_RETURN, X_DROP, X_RULE, X_SET, X_BASE,
	X_IPV4, X_LOCAL, X_IIF, X_ARP
};
/* From X_LOOK on an EXPR byte reads as an operand (0xf0 ...) inside a
 * template, so templates use only those below; the last one is 0xfc,
 * below END. */
#define X_FIRST X_META
#define VERDICT		EXPR(P_IMMEDIATE), U8(NFTA_IMMEDIATE_DREG, 0), \
	NEST(NFTA_IMMEDIATE_DATA), NEST(NFTA_DATA_VERDICT)
#define CMPHEAD(n)	EXPR(P_CMP), U8(NFTA_CMP_SREG, 1), \
	U8(NFTA_CMP_OP, OP(0)), NEST(NFTA_CMP_DATA), RAW(NFTA_DATA_VALUE, n)
static const uint8_t tpl[] = {
	/* X_META key reg */
	EXPR(P_META), U8(NFTA_META_KEY, OP(0)), U8(NFTA_META_DREG, OP(1)),
	CLOSE(2), END,
	/* X_PAY base offset len reg */
	EXPR(P_PAYLOAD), U8(NFTA_PAYLOAD_DREG, OP(3)),
	U8(NFTA_PAYLOAD_BASE, OP(0)), U8(NFTA_PAYLOAD_OFFSET, OP(1)),
	U8(NFTA_PAYLOAD_LEN, OP(2)), CLOSE(2), END,
	/* X_CMP1, X_CMP2, X_CMP4 op bytes... (register 1) */
	CMPHEAD(1), OP(1), CLOSE(3), END,
	CMPHEAD(2), OP(1), OP(2), CLOSE(3), END,
	CMPHEAD(4), OP(1), OP(2), OP(3), OP(4), CLOSE(3), END,
	/* X_LOOK, X_LOOKNOT, X_LOOKMAP set id (register 1) */
	EXPR(P_LOOKUP), U8(NFTA_LOOKUP_SREG, 1), STR(NFTA_LOOKUP_SET, OP(0)),
	U8(NFTA_LOOKUP_SET_ID, OP(1)), CLOSE(2), END,
	EXPR(P_LOOKUP), U8(NFTA_LOOKUP_SREG, 1), STR(NFTA_LOOKUP_SET, OP(0)),
	U8(NFTA_LOOKUP_SET_ID, OP(1)), U8(NFTA_LOOKUP_FLAGS, NFT_LOOKUP_F_INV),
	CLOSE(2), END,
	EXPR(P_LOOKUP), U8(NFTA_LOOKUP_SREG, 1), U8(NFTA_LOOKUP_DREG, 1),
	STR(NFTA_LOOKUP_SET, OP(0)), U8(NFTA_LOOKUP_SET_ID, OP(1)), CLOSE(2),
	END,
	/* X_JUMP chain, X_RETURN, X_DROP */
	VERDICT, U32(NFTA_VERDICT_CODE, NFT_JUMP), STR(NFTA_VERDICT_CHAIN, OP(0)),
	CLOSE(4), END,
	VERDICT, U32(NFTA_VERDICT_CODE, NFT_RETURN), CLOSE(4), END,
	VERDICT, U32(NFTA_VERDICT_CODE, NF_DROP), CLOSE(4), END,
	/* X_RULE chain (RULE_END closes it) */
	MSG(NEWRULE, NLM_F_CREATE | NLM_F_APPEND), STR(NFTA_RULE_CHAIN, OP(0)),
	NEST(NFTA_RULE_EXPRESSIONS), END,
	/* X_SET name flags type(4) len: nft's type numbers, 6 bits each in
	 * a concatenation (ipv4_addr 7, ether_addr 9, inet_proto 12,
	 * inet_service 13, ifname 41) */
	MSG(NEWSET, NLM_F_CREATE), STR(NFTA_SET_NAME, OP(0)),
	U8(NFTA_SET_FLAGS, OP(1)), 0x20 | NFTA_SET_KEY_TYPE, OP(2), OP(3), OP(4),
	OP(5), U8(NFTA_SET_KEY_LEN, OP(6)), END,
	/* X_BASE chain type hook priority(4) */
	MSG(NEWCHAIN, NLM_F_CREATE), STR(NFTA_CHAIN_NAME, OP(0)),
	STR(NFTA_CHAIN_TYPE, OP(1)), NEST(NFTA_CHAIN_HOOK),
	U8(NFTA_HOOK_HOOKNUM, OP(2)), 0x20 | NFTA_HOOK_PRIORITY, OP(3), OP(4),
	OP(5), OP(6), CLOSE(1), END,
	/* X_IPV4: meta nfproto ipv4 */
	META(NFPROTO, 1), CMP1(EQ, NFPROTO_IPV4), END,
	/* X_LOCAL: fib daddr type local */
	EXPR(P_FIB), U8(NFTA_FIB_FLAGS, NFTA_FIB_F_DADDR),
	U8(NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE), U8(NFTA_FIB_DREG, 1),
	CLOSE(2), CMP4(EQ, RTN_LOCAL), END,
	/* X_IIF: iifname, X_ARP: ether type arp */
	META(IIFNAME, 1), END,
	PAY(LL, 12, 2, 1), CMP2(EQ, 8, 6), END
};

/* The rules as `nft list table` shows them; registers as nft numbers
 * them (1-4 the 16-byte ones, 8-23 the 4-byte ones). */
static const uint8_t inet_prog[] = {
	TABLE,
	BASE(P_PREROUTING, P_NAT, NF_INET_PRE_ROUTING, -100),
	BASE(P_OUTPUT, P_NAT, NF_INET_LOCAL_OUT, -100),
	CHAIN(P_PUBLISH),
	BASE(P_POSTROUTING, P_NAT, NF_INET_POST_ROUTING, 100),
	SET(P_PODS, 0, 0x1e9, 20), SETID(1),
	SET(P_NAT, 0, 7, 4), SETID(2),
	SET(P_PORTS, NFT_SET_MAP, 0x730d, 12), MAPDATA, SETID(3),
	SET(P_ANYPORTS, NFT_SET_MAP, 0x30d, 8), MAPDATA, SETID(4),
	FLUSH(P_PREROUTING), FLUSH(P_OUTPUT), FLUSH(P_PUBLISH),
	FLUSH(P_POSTROUTING),
	/* prerouting, output: meta nfproto ipv4 fib daddr type local
	 * jump publish */
	RULE(P_PREROUTING), IPV4, LOCAL, JUMP(P_PUBLISH), RULE_END,
	RULE(P_OUTPUT), IPV4, LOCAL, JUMP(P_PUBLISH), RULE_END,
	/* publish: ip daddr 127.0.0.0/8 return (loopback is never routed
	 * to a pod) */
	RULE(P_PUBLISH), IPV4, PAY(NETWORK, 16, 1, 1), CMP1(EQ, 127), RETURN,
	RULE_END,
	/* dnat ip to ip daddr . meta l4proto . th dport map @ports: a
	 * port published on one address wins over one on all */
	RULE(P_PUBLISH), IPV4, PAY(NETWORK, 16, 4, 1), META(L4PROTO, 9),
	PAY(TRANSPORT, 2, 2, 10), LOOKMAP(P_PORTS, 3), DNAT, RULE_END,
	/* dnat ip to meta l4proto . th dport map @anyports */
	RULE(P_PUBLISH), META(L4PROTO, 1), PAY(TRANSPORT, 2, 2, 9),
	LOOKMAP(P_ANYPORTS, 4), DNAT, RULE_END,
	/* postrouting: ct status dnat ip saddr . oifname @pods masquerade:
	 * a pod that reaches a pod of its bridge through a published port
	 * must get the answer back through the host (hairpin) */
	RULE(P_POSTROUTING), EXPR(P_CT), U8(NFTA_CT_KEY, NFT_CT_STATUS),
	U8(NFTA_CT_DREG, 1), CLOSE(2), EXPR(P_BITWISE),
	U8(NFTA_BITWISE_SREG, 1), U8(NFTA_BITWISE_DREG, 1),
	U8(NFTA_BITWISE_LEN, 4), NEST(NFTA_BITWISE_MASK),
	RAW(NFTA_DATA_VALUE, 4), IPS_DST_NAT, 0, 0, 0, CLOSE(1),
	NEST(NFTA_BITWISE_XOR), RAW(NFTA_DATA_VALUE, 4), 0, 0, 0, 0, CLOSE(3),
	CMP4(NEQ, 0), IPV4, PAY(NETWORK, 12, 4, 1), META(OIFNAME, 9),
	LOOK(P_PODS, 1), MASQ, RULE_END,
	/* ip saddr . oifname @pods return: it stays on its bridge */
	RULE(P_POSTROUTING), IPV4, PAY(NETWORK, 12, 4, 1), META(OIFNAME, 9),
	LOOK(P_PODS, 1), RETURN, RULE_END,
	/* ip saddr @nat masquerade */
	RULE(P_POSTROUTING), IPV4, PAY(NETWORK, 12, 4, 1), LOOK(P_NAT, 2),
	MASQ, RULE_END,
	END
};

static const uint8_t bridge_prog[] = {
	TABLE,
	BASE(P_PREROUTING, P_FILTER, 0, -200),	/* NF_BR_PRE_ROUTING */
	CHAIN(P_POD),
	CHAIN(P_EGRESS),
	SET(P_GUARD, 0, 41, 16), SETID(1), UD_HOST,
	SET(P_MACS, 0, 0xa49, 24), SETID(2),
	SET(P_IPS, 0, 0xa47, 20), SETID(3),
	SET(P_ALLOW, NFT_SET_INTERVAL | NFT_SET_CONCAT, 0xa47, 20),
	SETID(4), NEST(NFTA_SET_DESC), NEST(NFTA_SET_DESC_CONCAT), FIELD(16),
	FIELD(4), CLOSE(2),
	SET(P_DROPS, NFT_SET_OBJECT, 41, 16),
	U8(NFTA_SET_OBJ_TYPE, NFT_OBJECT_COUNTER), SETID(5),
	RAW(NFTA_SET_USERDATA, 12), 0, 4, 1, 0, 0, 0, 6, 4, 0, 0, 0, 0,
	SET(P_ALLOWPORTS, NFT_SET_INTERVAL | NFT_SET_CONCAT, 0xa4730d, 28),
	SETID(6), NEST(NFTA_SET_DESC), NEST(NFTA_SET_DESC_CONCAT), FIELD(16),
	FIELD(4), FIELD(1), FIELD(2), CLOSE(2),
	SET(P_REPLIES, 0, 0x2930d, 24), SETID(7),
	SET(P_IPS6, 0, 0xa48, 32), SETID(8),
	FLUSH(P_PREROUTING), FLUSH(P_POD), FLUSH(P_EGRESS),
	/* prerouting: iifname @guard jump pod */
	RULE(P_PREROUTING), IIF, LOOK(P_GUARD, 1), JUMP(P_POD),
	RULE_END,
	/* pod: ether type != ip ether type != arp ether type != ip6 drop
	 * (a VLAN tag could carry a spoofed address past the checks) */
	RULE(P_POD), ETHER(NEQ, 8, 0), ETHER(NEQ, 8, 6), ETHER(NEQ, 0x86, 0xdd),
	DROP, RULE_END,
	/* iifname . ether saddr != @macs drop */
	RULE(P_POD), IIF, PAY(LL, 6, 6, 2), LOOKNOT(P_MACS, 2),
	DROP, RULE_END,
	/* iifname . arp saddr ether != @macs drop */
	RULE(P_POD), ARP, IIF, PAY(NETWORK, 8, 6, 2),
	LOOKNOT(P_MACS, 2), DROP, RULE_END,
	/* iifname . arp saddr ip != @ips drop */
	RULE(P_POD), ARP, IIF, PAY(NETWORK, 14, 4, 2),
	LOOKNOT(P_IPS, 3), DROP, RULE_END,
	/* iifname . ip saddr != @ips drop */
	RULE(P_POD), PROTO_IP, IIF, PAY(NETWORK, 12, 4, 2),
	LOOKNOT(P_IPS, 3), DROP, RULE_END,
	/* iifname . ip6 saddr != @src6 drop: its address, its link-local
	 * one and :: (DAD and MLD before it has one); none on an IPv4-only
	 * interface */
	RULE(P_POD), PROTO_IP6, IIF, PAY(NETWORK, 8, 16, 2),
	LOOKNOT(P_IPS6, 8), DROP, RULE_END,
	/* the neighbour advertisements it sends name an address of its own:
	 * meta l4proto ipv6-icmp icmpv6 type nd-neighbor-advert
	 * iifname . @th,64,128 != @src6 drop */
	RULE(P_POD), PROTO_IP6, META(L4PROTO, 1), CMP1(EQ, IPPROTO_ICMPV6),
	PAY(TRANSPORT, 0, 1, 1), CMP1(EQ, 136), IIF, PAY(TRANSPORT, 8, 16, 2),
	LOOKNOT(P_IPS6, 8), DROP, RULE_END,
	/* Its multicast listener reports go nowhere: a bridge without a
	 * querier floods multicast to every port whatever its members
	 * report, so each report of each new pod's groups would only be
	 * flooded to every other pod, whose kernel drops it: as sandboxes
	 * add up, the cost of a create that grows most with them.
	 * meta l4proto ipv6-icmp icmpv6 type mld2-listener-report drop */
	RULE(P_POD), META(L4PROTO, 1), CMP1(EQ, IPPROTO_ICMPV6),
	PAY(TRANSPORT, 0, 1, 1), CMP1(EQ, 143), DROP, RULE_END,
	/* iifname @drops jump egress: it has an allowlist */
	RULE(P_POD), IIF, LOOK(P_DROPS, 5), JUMP(P_EGRESS),
	RULE_END,
	/* egress: ether type arp return */
	RULE(P_EGRESS), ARP, RETURN, RULE_END,
	/* iifname . ip daddr @allow return: everything else it sends
	 * is dropped and counted */
	RULE(P_EGRESS), PROTO_IP, IIF, PAY(NETWORK, 16, 4, 2),
	LOOK(P_ALLOW, 4), RETURN, RULE_END,
	/* iifname . ip daddr . meta l4proto . th dport @allowports return */
	RULE(P_EGRESS), PROTO_IP, IIF, PAY(NETWORK, 16, 4, 2),
	/* nft swaps the protocol's two bytes, of which the register holds
	 * one: the kernel swaps none (len / size pairs), as it should */
	META(L4PROTO, 13), NEST(NFTA_LIST_ELEM),
	STR(NFTA_EXPR_NAME, P_BYTEORDER), NEST(NFTA_EXPR_DATA),
	U8(NFTA_BYTEORDER_SREG, 13), U8(NFTA_BYTEORDER_DREG, 13),
	U8(NFTA_BYTEORDER_OP, NFT_BYTEORDER_HTON), U8(NFTA_BYTEORDER_LEN, 1),
	U8(NFTA_BYTEORDER_SIZE, 2), CLOSE(2),
	PAY(TRANSPORT, 2, 2, 14), LOOK(P_ALLOWPORTS, 6),
	RETURN, RULE_END,
	/* The answers of its published ports: UDP from one, and TCP from
	 * one but a connection's first SYN, which the pod would send
	 * itself; this family tracks no connections.
	 * meta l4proto udp iifname . meta l4proto . th sport @replies
	 * return */
	RULE(P_EGRESS), PROTO_IP, META(L4PROTO, 1), CMP1(EQ, IPPROTO_UDP),
	IIF, META(L4PROTO, 2), PAY(TRANSPORT, 0, 2, 13),
	LOOK(P_REPLIES, 7), RETURN, RULE_END,
	/* meta l4proto tcp tcp flags & (syn | ack) != syn
	 * iifname . meta l4proto . th sport @replies return */
	RULE(P_EGRESS), PROTO_IP, META(L4PROTO, 1), CMP1(EQ, IPPROTO_TCP),
	PAY(TRANSPORT, 13, 1, 1), EXPR(P_BITWISE), U8(NFTA_BITWISE_SREG, 1),
	U8(NFTA_BITWISE_DREG, 1), U8(NFTA_BITWISE_OP, NFT_BITWISE_BOOL),
	U8(NFTA_BITWISE_LEN, 1),
	NEST(NFTA_BITWISE_MASK), RAW(NFTA_DATA_VALUE, 1), 0x12, CLOSE(1),
	NEST(NFTA_BITWISE_XOR), RAW(NFTA_DATA_VALUE, 1), 0, CLOSE(3),
	CMP1(NEQ, 2), IIF, META(L4PROTO, 2), PAY(TRANSPORT, 0, 2, 13),
	LOOK(P_REPLIES, 7), RETURN, RULE_END,
	/* counter name iifname map @drops drop */
	RULE(P_EGRESS), IIF, EXPR(P_OBJREF),
	U8(NFTA_OBJREF_SET_SREG, 1), /* without the NUL, as nft sends it */
	RAW(NFTA_OBJREF_SET_NAME, 5), 'd', 'r', 'o', 'p', 's',
	U8(NFTA_OBJREF_SET_ID, 5), CLOSE(2), DROP, RULE_END,
	END
};

static const uint8_t families[] = { NFPROTO_INET, NFPROTO_BRIDGE };

static void
be32(struct nl_buf *b, uint16_t type, uint32_t v)
{
	v = htonl(v);
	nl_put(b, type, &v, sizeof(v));
}

/* A message of the nf_tables subsystem, naming the table first: every
 * one of them has the table as attribute 1. */
static void
msg(struct nl_buf *b, int type, int flags, int bridge, const char *table)
{
	struct nfgenmsg g = { families[bridge], NFNETLINK_V0, 0 };

	nl_msg(b, NFNL_SUBSYS_NFTABLES << 8 | type, (uint16_t)flags, &g,
	    sizeof(g));
	nl_put_str(b, 1, table);
}

void
nft_batch(struct nl_buf *b, int end)
{
	struct nfgenmsg g = { AF_UNSPEC, NFNETLINK_V0,
		htons(NFNL_SUBSYS_NFTABLES) };

	nl_msg_raw(b, end ? NFNL_MSG_BATCH_END : NFNL_MSG_BATCH_BEGIN, 0, &g,
	    sizeof(g));
}

struct run {
	struct nl_buf *b;
	const char *table;
	int bridge;
	unsigned int depth;
	size_t nest[8];
};

static void
run(struct run *r, const uint8_t *p)
{
	struct nl_buf *b = r->b;
	unsigned int op, t, used;
	const uint8_t *q;
	uint8_t x[24];
	size_t n;

	while ((op = *p++) != END) {
		t = op & 0x1f;
		switch (op >> 5) {
		case 0:
			be32(b, (uint16_t)t, *p++);
			break;
		case 1:
			be32(b, (uint16_t)t, (uint32_t)p[0] << 24 |
			    (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
			p += 4;
			break;
		case 2:
			nl_put(b, (uint16_t)t, p + 1, *p);
			p += 1 + *p;
			break;
		case 3:
			nl_put_str(b, (uint16_t)t, name(*p++));
			break;
		case 4:
			r->nest[r->depth++] = nl_nest(b, (uint16_t)t);
			break;
		case 5:
			while (t--)
				nl_nest_end(b, r->nest[--r->depth]);
			break;
		case 6:
			msg(b, (int)t, *p++ << 8, r->bridge, r->table);
			break;
		default:
			if (t < X_FIRST) {
				r->nest[r->depth++] = nl_nest(b, NFTA_LIST_ELEM);
				nl_put_str(b, NFTA_EXPR_NAME, name(t));
				r->nest[r->depth++] = nl_nest(b, NFTA_EXPR_DATA);
				break;
			}
			for (q = tpl, t -= X_FIRST; t; q++)
				t -= *q == END;
			for (n = used = 0; *q != END; q++) {
				x[n] = *q;
				if (*q >= OP(0) && *q <= OP(7)) {
					x[n] = p[*q - OP(0)];
					used = *q - OP(0) + 1u > used ?
					    *q - OP(0) + 1u : used;
				}
				n++;
			}
			x[n] = END;
			run(r, x);
			p += used;
		}
	}
}

/* One table, its chains and sets (made, or left as they are), and its
 * rules (its chains flushed first), in the order nft sends them: a
 * table flushed, half-deleted or of an older pelagos is whole again. */
void
nft_req_table(struct nl_buf *b, const char *table, int bridge)
{
	struct run r = { b, table, bridge, 0, { 0 } };

	run(&r, bridge ? bridge_prog : inet_prog);
}

/* A request for the table, to learn whether it exists (del 0), or to
 * delete it. */
void
nft_req_get(struct nl_buf *b, const char *table, int bridge, int del)
{
	msg(b, del ? NFT_MSG_DELTABLE : NFT_MSG_GETTABLE, 0, bridge, table);
}

/* NFTA_DATA_VALUE inside attribute type. */
static void
value(struct nl_buf *b, uint16_t type, const void *v, size_t len)
{
	size_t n = nl_nest(b, type);

	nl_put(b, NFTA_DATA_VALUE, v, len);
	nl_nest_end(b, n);
}

/* A set element key or value, field by field, each padded to 4 bytes
 * as the registers hold them. */
struct key {
	uint8_t k[32];
	size_t n;
};

static struct key *
kput(struct key *k, const void *p, size_t len, size_t width)
{
	memcpy(k->k + k->n, p, len);
	k->n += width;
	return k;
}

static __attribute__((noinline)) struct key *
kip(struct key *k, uint32_t ip)
{
	ip = htonl(ip);
	return kput(k, &ip, 4, 4);
}

static __attribute__((noinline)) struct key *
kport(struct key *k, unsigned int port)
{
	uint8_t p[2] = { (uint8_t)(port >> 8), (uint8_t)port };

	return kput(k, p, 2, 4);
}

/* The messages of one sandbox's elements: added with its ID as their
 * comment (nft's userdata record 0), or deleted. */
struct elems {
	struct nl_buf *b;
	const char *table, *comment;
	int type, flags;
	size_t list;
	uint16_t n;		/* elements in the list: nft numbers them */
};

static void
set_open(struct elems *x, int bridge, int set, int flags)
{
	msg(x->b, x->type, x->flags | flags, bridge, x->table);
	nl_put_str(x->b, NFTA_SET_ELEM_LIST_SET, name((unsigned)set));
	x->list = nl_nest(x->b, NFTA_SET_ELEM_LIST_ELEMENTS);
	x->n = 0;
}

static void
elem(struct elems *x, const struct key *k, const struct key *end,
	const struct key *data, const char *obj)
{
	uint8_t ud[2 + 256];
	size_t e = nl_nest(x->b, ++x->n), n;

	value(x->b, NFTA_SET_ELEM_KEY, k->k, k->n);
	if (end)
		value(x->b, NFTA_SET_ELEM_KEY_END, end->k, end->n);
	if (data && x->comment)
		value(x->b, NFTA_SET_ELEM_DATA, data->k, data->n);
	if (x->comment) {
		n = util_strlen(x->comment) + 1;
		ud[0] = 0;
		ud[1] = (uint8_t)n;
		memcpy(ud + 2, x->comment, n);
		nl_put(x->b, NFTA_SET_ELEM_USERDATA, ud, n + 2);
		if (obj)
			nl_put_str(x->b, NFTA_SET_ELEM_OBJREF, obj);
	}
	nl_nest_end(x->b, e);
}

static __attribute__((noinline)) void
set_close(struct elems *x)
{
	nl_nest_end(x->b, x->list);
}

static void
counter(struct elems *x, int type, const char *name)
{
	static const uint8_t zero[8];
	size_t n;

	msg(x->b, type, x->flags, 1, x->table);
	nl_put_str(x->b, NFTA_OBJ_NAME, name);
	be32(x->b, NFTA_OBJ_TYPE, NFT_OBJECT_COUNTER);
	n = nl_nest(x->b, NFTA_OBJ_DATA);
	if (type == NFT_MSG_NEWOBJ) {
		nl_put(x->b, NFTA_COUNTER_BYTES, zero, 8);
		nl_put(x->b, NFTA_COUNTER_PACKETS, zero, 8);
	}
	nl_nest_end(x->b, n);
}

/* The sets that hold one element of every sandbox (nat and the bridge
 * ones only when it has them), and what its key holds: i the address,
 * b the bridge, v the veth, m the MAC.  O_NAT: only with NAT; O_PORTS:
 * the published ports' elements come before it; O_DROPS: only with an
 * allowlist, and its element names a counter of that name. */
enum { O_NAT = 1, O_PORTS = 2, O_DROPS = 4 };
static const struct {
	uint8_t set, bridge, flags;
	char key[3];
} own[] = {
	{ P_PODS, 0, 0, "ib" }, { P_NAT, 0, O_NAT, "i" },
	{ P_GUARD, 1, O_PORTS, "v" }, { P_MACS, 1, 0, "vm" },
	{ P_IPS, 1, 0, "vi" }, { P_DROPS, 1, O_DROPS, "v" }
};

static __attribute__((noinline)) struct key *
kproto(struct key *k, unsigned int proto, unsigned int port)
{
	kput(k, &proto, 1, 4);
	return kport(k, port);
}

static __attribute__((noinline)) struct key *
kname(struct key *k, const char *ifname)
{
	memset(k, 0, sizeof(*k));
	return ifname ? kput(k, ifname, util_strlen(ifname), IFNAME_LEN) : k;
}

/* The elements of the allowlist's networks: those allowed whole
 * (P_ALLOW), or the ports allowed of them (P_ALLOWPORTS), TCP's and
 * UDP's unless one is named.  A set with none gets no message. */
static void
allow(struct elems *x, const struct nft_pod *p, int set)
{
	const struct fw_egress *g;
	struct key k, end;
	unsigned int proto;
	int open = 0;

	for (g = p->egress; g < p->egress + p->negress; g++) {
		if ((set == P_ALLOW) == !!g->hi)
			continue;
		for (proto = g->proto ? g->proto : IPPROTO_TCP; proto;
		    proto = set == P_ALLOWPORTS && !g->proto &&
		    proto == IPPROTO_TCP ? IPPROTO_UDP : 0) {
			kip(kname(&k, p->veth), g->net);
			end = k;
			end.n -= 4;
			kip(&end, g->net | ~ipam_mask(g->prefix));
			if (set == P_ALLOWPORTS) {
				kproto(&k, proto, g->lo);
				kproto(&end, proto, g->hi);
			}
			if (!open++)
				set_open(x, 1, set, 0);
			elem(x, &k, &end, NULL, NULL);
		}
	}
	if (open)
		set_close(x);
}

/* The pod ports its published ports' answers come from, each once.  A
 * set with none gets no message. */
static void
replies(struct elems *x, const struct nft_pod *p)
{
	const struct fw_port *q, *o;
	struct key k;
	unsigned int port;
	int open = 0;

	for (q = p->ports; q < p->ports + p->nports; q++)
		for (port = q->pport; port < q->pport + q->n; port++) {
			for (o = p->ports; o < q; o++)
				if (o->proto == q->proto &&
				    port - o->pport < o->n)
					break;
			if (o < q)
				continue;
			if (!open++)
				set_open(x, 1, P_REPLIES, 0);
			elem(x, kproto(kname(&k, p->veth), q->proto, port),
			    NULL, NULL, NULL);
		}
	if (open)
		set_close(x);
}

/* The IPv6 sources of a sandbox's interface with IPv6: its address, its
 * link-local one (EUI-64 of its MAC: the pod's addr_gen_mode is set so)
 * and ::.  Exact elements of a hash set: an interval set (pipapo) cost
 * each create and rm about a millisecond in its commit. */
static __attribute__((noinline)) void
ips6(struct elems *x, const struct nft_pod *p)
{
	unsigned char ll[16] = { 0xfe, 0x80, [11] = 0xff, [12] = 0xfe },
	    none[16] = { 0 };
	const unsigned char *a[3] = { p->ip6, ll, none };
	struct key k;
	int i;

	memcpy(ll + 8, p->mac, 3);
	memcpy(ll + 13, p->mac + 3, 3);
	ll[8] ^= 2;
	set_open(x, 1, P_IPS6, 0);
	for (i = 0; i < 3; i++)
		elem(x, kput(kname(&k, p->veth), a[i], 16, 16), NULL, NULL,
		    NULL);
	set_close(x);
}

/* Every element of one sandbox, added (op 1) or deleted (op 0) in one
 * batch (whose delimiters the caller adds); or, op -1, a request for
 * its pods element alone: whether a batch that added it was committed
 * when its answer was lost; op -2 asks for every one (a CNI CHECK).
 * Ports are added exclusively when excl is set: a port another sandbox
 * published already fails the batch with EEXIST at that --publish's
 * message, which follows pods and nat. */
void
nft_req_pod(struct nl_buf *b, const char *table, const struct nft_pod *p,
	int op, int excl)
{
	int add = op > 0;
	struct elems x = { b, table, add ? p->id : NULL,
		add ? NFT_MSG_NEWSETELEM : op ? NFT_MSG_GETSETELEM :
		NFT_MSG_DELSETELEM, add ? NLM_F_CREATE : 0, 0, 0 };
	const struct fw_port *pp;
	struct key k, d, end;
	const char *f;
	size_t i, j;
	unsigned int r;
	int fl;

	for (i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		fl = own[i].flags;
		for (j = 0; (fl & O_PORTS) && j < p->nports; j++) {
			pp = &p->ports[j];
			set_open(&x, 0, pp->ip ? P_PORTS : P_ANYPORTS,
			    add && excl ? NLM_F_EXCL : 0);
			for (r = 0; r < pp->n; r++) {
				kport(kip(kname(&d, NULL), p->ip),
				    pp->pport + r);
				kname(&end, NULL);
				if (pp->ip)
					kip(&end, pp->ip);
				elem(&x, kproto(&end, pp->proto,
				    pp->hport + r), NULL, &d, NULL);
			}
			set_close(&x);
		}
		if (((fl & O_NAT) && !p->nat) || (own[i].bridge && !p->guard) ||
		    ((fl & O_DROPS) && !p->negress))
			continue;
		kname(&k, NULL);
		for (f = own[i].key; *f; f++)
			if (*f == 'i')
				kip(&k, p->ip);
			else if (*f == 'm')
				kput(&k, p->mac, 6, 8);
			else
				kput(&k, *f == 'b' ? p->bridge : p->veth,
				    util_strlen(*f == 'b' ? p->bridge :
				    p->veth), IFNAME_LEN);
		/* The counter is made before the map element that names it,
		 * and removed after it. */
		if ((fl & O_DROPS) && add)
			counter(&x, NFT_MSG_NEWOBJ, p->veth);
		set_open(&x, own[i].bridge, own[i].set, 0);
		elem(&x, &k, NULL, NULL, fl & O_DROPS ? p->veth : NULL);
		set_close(&x);
		if (op == -1)
			return;
		if ((fl & O_DROPS) && !op)
			counter(&x, NFT_MSG_DELOBJ, p->veth);
	}
	if (p->guard && p->ip6)
		ips6(&x, p);
	if (!p->guard || !p->negress)
		return;
	allow(&x, p, P_ALLOW);
	allow(&x, p, P_ALLOWPORTS);
	replies(&x, p);
}

static int
counter_value(const struct nlmsghdr *h, void *arg)
{
	const unsigned char *p = (const unsigned char *)NLMSG_DATA(h) +
	    sizeof(struct nfgenmsg);
	size_t len = h->nlmsg_len - NLMSG_LENGTH(sizeof(struct nfgenmsg)), i;

	if ((p = nl_attr_get(p, len, NFTA_OBJ_DATA, &len)) &&
	    (p = nl_attr_get(p, len, NFTA_COUNTER_PACKETS, &len)) && len == 8)
		for (i = 0; i < 8; i++)
			*(unsigned long long *)arg =
			    *(unsigned long long *)arg << 8 | p[i];
	return 0;
}

/* The packets the egress allowlist of the sandbox on veth dropped. */
int
nft_drops(struct nl_sock *s, const char *table, const char *veth,
	unsigned long long *packets)
{
	struct nl_buf b;

	nl_buf_init(&b, 1);
	msg(&b, NFT_MSG_GETOBJ, 0, 1, table);
	nl_put_str(&b, NFTA_OBJ_NAME, veth);
	be32(&b, NFTA_OBJ_TYPE, NFT_OBJECT_COUNTER);
	*packets = 0;
	return nl_talk_cb(s, &b, counter_value, packets);
}
