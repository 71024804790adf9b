/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the pure logic in netlink.c and state.c: no privileges,
 * no kernel objects, no network.  Prints one "ok N" or "not ok N" line per
 * check and a final "N passed, N failed, 0 skipped" line. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/if_link.h>
#include <linux/netlink.h>

#include "../pelagos.h"

#define IP4(a, b, c, d) \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | \
	(uint32_t)(d))

static int npass, nfail;
static char detail[512];

static void
set_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int
ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_detail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
}

static int
ok(int cond, const char *fmt, ...)
{
	char desc[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	if (cond) {
		npass++;
		printf("ok %d - %s\n", npass + nfail, desc);
	} else {
		nfail++;
		printf("not ok %d - %s (%s)\n", npass + nfail, desc,
		    detail[0] ? detail : "condition false");
	}
	detail[0] = '\0';
	return cond;
}

/* For a call that sets errno: the detail names it unless set already. */
static int
ok_sys(int cond, const char *desc)
{
	int e = errno;

	if (!cond && !detail[0])
		set_detail("errno %d, %s", e, strerror(e));
	return ok(cond, "%s", desc);
}

static int
ok_int(long long got, long long want, const char *desc)
{
	set_detail("got %lld, want %lld", got, want);
	return ok(got == want, "%s", desc);
}

static int
ok_str(const char *got, const char *want, const char *desc)
{
	set_detail("got '%s', want '%s'", got, want);
	return ok(!strcmp(got, want), "%s", desc);
}

static int
ok_mem(const void *got, size_t glen, const void *want, size_t wlen,
	const char *desc)
{
	const unsigned char *g = got, *w = want;
	size_t i;

	for (i = 0; i < glen && i < wlen && g[i] == w[i]; i++)
		;
	if (glen == wlen && i == glen)
		return ok(1, "%s", desc);
	if (i < glen && i < wlen)
		set_detail("length %zu/%zu, first difference at byte %zu: "
		    "got 0x%02x, want 0x%02x", glen, wlen, i, g[i], w[i]);
	else
		set_detail("length got %zu, want %zu", glen, wlen);
	return ok(0, "%s", desc);
}

/* Deterministic 64-bit LCG (Knuth's MMIX constants). */
static uint64_t lcg_state = 0x5eed5eed5eed5eedULL;

static uint32_t
lcg(void)
{
	lcg_state = lcg_state * 6364136223846793005ULL +
	    1442695040888963407ULL;
	return (uint32_t)(lcg_state >> 33);
}

/* ---- state file format ---- */

static void
fill_if(struct pod_if *pi, const char *net, const char *br, const char *veth,
	uint32_t ip, int prefix)
{
	memset(pi, 0, sizeof(*pi));
	strcpy(pi->network, net);
	strcpy(pi->bridge, br);
	strcpy(pi->veth_host, veth);
	pi->ip = ip;
	pi->prefix = prefix;
	pi->gateway = (ip & ~0u << (32 - prefix)) + 1;
	pi->mac[0] = 0x02;
	pi->mac[1] = 0x50;
	pi->mac[2] = (unsigned char)(ip >> 24);
	pi->mac[3] = (unsigned char)(ip >> 16);
	pi->mac[4] = (unsigned char)(ip >> 8);
	pi->mac[5] = (unsigned char)ip;
}

static void
fill_named(struct sandbox *sb)
{
	memset(sb, 0, sizeof(*sb));
	strcpy(sb->id, "0123456789abcdef");
	strcpy(sb->name, "web-1");
	strcpy(sb->ns_name, "psb-01234567");
	sb->nifs = 1;
	fill_if(&sb->ifs[0], "pelagos0", "pelagos0", "vh-01234567",
	    IP4(172, 19, 0, 2), 24);
	sb->net = NS_POD;
	sb->ipc = NS_POD;
	sb->pid = NS_CONTAINER;
	strcpy(sb->hostname, "web-1");
	sb->pause_pid = 4242;
	sb->pause_start = 123456789ULL;
	sb->netns_ino = 4026532000ULL;
	sb->created = 1732870000LL;
	sb->nat = 1;
	strcpy(sb->ports, "10.0.0.1:40000:80,40001:81/udp");
	strcpy(sb->egress, "10.0.0.0/8,1.1.1.1");
	strcpy(sb->nft, "pelagos");
	sb->antispoof = 1;
}

#define NAMED_HEAD \
	"pelagos-state 2\n" \
	"id 0123456789abcdef\n" \
	"name web-1\n" \
	"net pod\n" \
	"ipc pod\n" \
	"pid container\n" \
	"ns_name psb-01234567\n" \
	"interfaces 1\n" \
	"eth0.network pelagos0\n" \
	"eth0.bridge pelagos0\n" \
	"eth0.veth vh-01234567\n" \
	"eth0.mtu 0\n" \
	"eth0.ip 172.19.0.2/24\n" \
	"eth0.gateway 172.19.0.1\n" \
	"eth0.ip6 -\n" \
	"eth0.gateway6 -\n" \
	"hostname web-1\n" \
	"pause_pid 4242\n" \
	"pause_start 123456789\n" \
	"netns_ino 4026532000\n" \
	"created 1732870000\n" \
	"boot_id -\n"
#define NO_CGROUP \
	"cgroup -\n" \
	"memory -\n" \
	"memory_swap -\n" \
	"cpu_quota -\n" \
	"pids_max -\n" \
	"cpu_weight -\n"
#define FIREWALL \
	"nat on\n" \
	"ports 10.0.0.1:40000:80,40001:81/udp\n" \
	"egress 10.0.0.0/8,1.1.1.1\n" \
	"nft pelagos\n" \
	"antispoof on\n"
#define NO_FIREWALL \
	"nat off\n" \
	"ports -\n" \
	"egress -\n" \
	"nft -\n" \
	"antispoof off\n"

static const char named_text[] = NAMED_HEAD NO_CGROUP FIREWALL;

/* The same sandbox without a firewall, as a version 1 state gives it. */
static const char named_plain_text[] = NAMED_HEAD NO_CGROUP NO_FIREWALL;

static void
clear_firewall(struct sandbox *sb)
{
	sb->nat = sb->antispoof = 0;
	sb->ports[0] = sb->egress[0] = sb->nft[0] = '\0';
}

/* A dual-stack sandbox on two networks, eth1 with an MTU of its own. */
static void
fill_two(struct sandbox *sb)
{
	static const unsigned char ip6[16] = { 0xfd, 0x12, 0x34, 0x56, 0x78,
		0x9a, [15] = 2 };

	fill_named(sb);
	sb->nifs = 2;
	fill_if(&sb->ifs[0], "front", "br-front", "vh-01234567",
	    IP4(10, 210, 0, 2), 24);
	memcpy(sb->ifs[0].ip6, ip6, 16);
	memcpy(sb->ifs[0].gateway6, ip6, 16);
	sb->ifs[0].gateway6[15] = 1;
	sb->ifs[0].prefix6 = 64;
	fill_if(&sb->ifs[1], "back.1", "br-back", "vh-01234567-1",
	    IP4(10, 211, 7, 254), 22);
	sb->ifs[1].mtu = 9000;
}

static const char two_text[] =
	"pelagos-state 2\n"
	"id 0123456789abcdef\n"
	"name web-1\n"
	"net pod\n"
	"ipc pod\n"
	"pid container\n"
	"ns_name psb-01234567\n"
	"interfaces 2\n"
	"eth0.network front\n"
	"eth0.bridge br-front\n"
	"eth0.veth vh-01234567\n"
	"eth0.mtu 0\n"
	"eth0.ip 10.210.0.2/24\n"
	"eth0.gateway 10.210.0.1\n"
	"eth0.ip6 fd12:3456:789a::2/64\n"
	"eth0.gateway6 fd12:3456:789a::1\n"
	"eth1.network back.1\n"
	"eth1.bridge br-back\n"
	"eth1.veth vh-01234567-1\n"
	"eth1.mtu 9000\n"
	"eth1.ip 10.211.7.254/22\n"
	"eth1.gateway 10.211.4.1\n"
	"eth1.ip6 -\n"
	"eth1.gateway6 -\n"
	"hostname web-1\n"
	"pause_pid 4242\n"
	"pause_start 123456789\n"
	"netns_ino 4026532000\n"
	"created 1732870000\n"
	"boot_id -\n"
	NO_CGROUP
	FIREWALL;

/* The same sandbox in a cgroup, with every limit: named_text's lines
 * up to its cgroup, then these and its firewall. */
static const char limited_tail[] =
	"cgroup /sys/fs/cgroup/pelagos/0123456789abcdef\n"
	"memory 67108864\n"
	"memory_swap 134217728\n"
	"cpu_quota 20000\n"
	"pids_max 64\n"
	"cpu_weight 50\n"
	FIREWALL;

/* The same sandbox as the previous release wrote it. */
static const char named_v1_text[] =
	"pelagos-state 1\n"
	"id 0123456789abcdef\n"
	"name web-1\n"
	"phase ready\n"
	"net pod\n"
	"ipc pod\n"
	"pid container\n"
	"ns_name psb-01234567\n"
	"veth_host vh-01234567\n"
	"bridge pelagos0\n"
	"ip 172.19.0.2/24\n"
	"gateway 172.19.0.1\n"
	"hostname web-1\n"
	"pause_pid 4242\n"
	"pause_start 123456789\n"
	"netns_ino 4026532000\n"
	"creator_pid 4000\n"
	"creator_start 98765\n"
	"created 1732870000\n";

/* Unnamed, host network and IPC, pod PID namespace, no pause known. */
static void
fill_hostnet(struct sandbox *sb)
{
	memset(sb, 0, sizeof(*sb));
	strcpy(sb->id, "fedcba9876543210");
	sb->net = NS_NODE;
	sb->ipc = NS_NODE;
	sb->pid = NS_POD;
	strcpy(sb->hostname, "fedcba98");
	sb->created = 0;
}

static const char hostnet_text[] =
	"pelagos-state 2\n"
	"id fedcba9876543210\n"
	"name -\n"
	"net node\n"
	"ipc node\n"
	"pid pod\n"
	"ns_name -\n"
	"interfaces 0\n"
	"hostname fedcba98\n"
	"pause_pid 0\n"
	"pause_start 0\n"
	"netns_ino 0\n"
	"created 0\n"
	"boot_id -\n"
	NO_CGROUP
	NO_FIREWALL;

/* A version 1 create that had not finished: its pause is not trusted,
 * whatever the file says of it. */
static const char hostnet_v1_text[] =
	"pelagos-state 1\n"
	"id fedcba9876543210\n"
	"name -\n"
	"phase creating\n"
	"net node\n"
	"ipc node\n"
	"pid pod\n"
	"ns_name -\n"
	"veth_host -\n"
	"bridge -\n"
	"ip -\n"
	"gateway -\n"
	"hostname fedcba98\n"
	"pause_pid 77\n"
	"pause_start 5\n"
	"netns_ino 0\n"
	"creator_pid 1\n"
	"creator_start 0\n"
	"created 0\n";

/* Names the first field that differs, in detail; 1 when all are equal. */
static int
sb_equal(const struct sandbox *a, const struct sandbox *b)
{
#define STRF(f) if (strcmp(a->f, b->f)) { \
	set_detail("field " #f ": '%s' != '%s'", a->f, b->f); return 0; }
#define NUMF(f) if (a->f != b->f) { \
	set_detail("field " #f ": %lld != %lld", (long long)a->f, \
	    (long long)b->f); return 0; }
	int i;

	STRF(id) STRF(name) STRF(ns_name) NUMF(nifs) NUMF(net) NUMF(ipc)
	NUMF(pid) STRF(hostname) NUMF(pause_pid) NUMF(pause_start)
	NUMF(netns_ino) NUMF(created) STRF(boot_id) STRF(cgroup)
	NUMF(lim.v[LIM_MEMORY]) NUMF(lim.v[LIM_SWAP]) NUMF(lim.v[LIM_QUOTA])
	NUMF(lim.v[LIM_PIDS]) NUMF(lim.v[LIM_WEIGHT]) NUMF(nat) STRF(ports)
	STRF(egress) STRF(nft) NUMF(antispoof)
	for (i = 0; i < a->nifs; i++) {
		STRF(ifs[i].network) STRF(ifs[i].bridge) STRF(ifs[i].veth_host)
		NUMF(ifs[i].mtu) NUMF(ifs[i].ip) NUMF(ifs[i].prefix)
		NUMF(ifs[i].gateway) NUMF(ifs[i].prefix6)
		if (memcmp(a->ifs[i].mac, b->ifs[i].mac, 6) ||
		    memcmp(a->ifs[i].ip6, b->ifs[i].ip6, 16) ||
		    memcmp(a->ifs[i].gateway6, b->ifs[i].gateway6, 16)) {
			set_detail("interface %d: mac, ip6 or gateway6", i);
			return 0;
		}
	}
#undef STRF
#undef NUMF
	return 1;
}

static void
roundtrip(const struct sandbox *sb, const char *what)
{
	char buf[2048], desc[128];
	struct sandbox out;
	int n;

	n = state_format(sb, buf, sizeof(buf));
	set_detail("state_format returned %d", n);
	if (!ok(n > 0 && (size_t)n == strlen(buf), "%s: state_format", what))
		return;
	snprintf(desc, sizeof(desc), "%s: state_parse", what);
	if (!ok_sys(state_parse(buf, (size_t)n, &out) == 0, desc))
		return;
	ok(sb_equal(sb, &out), "%s: every field survives the round trip",
	    what);
}

/* A sandbox directory as a finished create leaves it: made, unlocked. */
static void
mkclaim(int root, const char *id)
{
	int fd = root_claim(root, id);

	if (fd >= 0)
		close(fd);
}

static void
test_state_format(void)
{
	struct sandbox sb, out;
	char buf[2048], limited[2048];
	int n, len, i, small_ok;

	fill_named(&sb);
	roundtrip(&sb, "named pod-network sandbox");
	n = state_format(&sb, buf, sizeof(buf));
	ok_mem(buf, n < 0 ? 0 : (size_t)n, named_text, strlen(named_text),
	    "named sandbox formats to the exact expected text");

	fill_two(&sb);
	roundtrip(&sb, "dual-stack sandbox on two networks");
	n = state_format(&sb, buf, sizeof(buf));
	ok_mem(buf, n < 0 ? 0 : (size_t)n, two_text, strlen(two_text),
	    "two interfaces format to the exact expected text");
	sb.nifs = MAX_IFS;
	sb.ifs[2] = sb.ifs[0];
	sb.ifs[3] = sb.ifs[1];
	roundtrip(&sb, "sandbox with MAX_IFS interfaces");

	fill_named(&sb);
	strcpy(sb.cgroup, "/sys/fs/cgroup/pelagos/0123456789abcdef");
	sb.lim.v[LIM_MEMORY] = 64 << 20;
	sb.lim.v[LIM_SWAP] = 128 << 20;
	sb.lim.v[LIM_QUOTA] = 20000;
	sb.lim.v[LIM_PIDS] = 64;
	sb.lim.v[LIM_WEIGHT] = 50;
	roundtrip(&sb, "sandbox in a cgroup with limits");
	n = state_format(&sb, buf, sizeof(buf));
	len = (int)(strstr(named_text, "cgroup -\n") - named_text);
	memcpy(limited, named_text, (size_t)len);
	strcpy(limited + len, limited_tail);
	ok_mem(buf, n < 0 ? 0 : (size_t)n, limited, strlen(limited),
	    "a sandbox's cgroup and limits format to the exact expected text");

	fill_hostnet(&sb);
	roundtrip(&sb, "unnamed host-network sandbox");
	n = state_format(&sb, buf, sizeof(buf));
	ok_mem(buf, n < 0 ? 0 : (size_t)n, hostnet_text,
	    strlen(hostnet_text),
	    "host-network sandbox formats empty strings and ip 0 as '-'");

	/* Every numeric field at its maximum, names at their longest. */
	fill_named(&sb);
	memset(sb.name, 'n', NAME_MAX_LEN);
	sb.name[NAME_MAX_LEN] = '\0';
	memset(sb.hostname, 'h', HOST_MAX_LEN);
	sb.hostname[HOST_MAX_LEN] = '\0';
	memset(sb.ns_name, 'i', IFNAME_LEN - 1);
	sb.ns_name[IFNAME_LEN - 1] = '\0';
	sb.ifs[0].ip = IP4(255, 255, 255, 254);
	ipam_mac(sb.ifs[0].ip, sb.ifs[0].mac);
	sb.ifs[0].prefix = 30;
	sb.ifs[0].gateway = IP4(255, 255, 255, 253);
	sb.ifs[0].mtu = 65535;
	memset(sb.ifs[0].network, 'n', NAME_MAX_LEN);
	sb.ifs[0].network[NAME_MAX_LEN] = '\0';
	memset(sb.ifs[0].ip6, 0xff, 16);
	memset(sb.ifs[0].gateway6, 0xff, 16);
	sb.ifs[0].gateway6[15] = 0xfe;
	sb.ifs[0].prefix6 = 127;
	sb.pause_pid = INT_MAX;
	sb.pause_start = ULLONG_MAX;
	sb.netns_ino = ULLONG_MAX;
	sb.created = LLONG_MAX;
	roundtrip(&sb, "sandbox with maximal fields");

	fill_named(&sb);
	strcpy(sb.boot_id, "5b1a7c1e-0f3d-4c2a-9e8b-7d6c5b4a3f21");
	roundtrip(&sb, "sandbox with a boot ID");

	fill_named(&sb);
	sb.pid = NS_POD;
	sb.net = NS_NODE;
	sb.ipc = NS_POD;
	sb.name[0] = '\0';
	sb.nifs = 0;
	roundtrip(&sb, "unnamed sandbox with pod PID namespace");

	fill_named(&sb);
	len = (int)strlen(named_text);
	small_ok = 1;
	for (i = 0; i <= len; i++) {
		errno = 0;
		if (state_format(&sb, buf, (size_t)i) != -1 ||
		    errno != ENOBUFS) {
			set_detail("buffer of %d bytes not refused", i);
			small_ok = 0;
			break;
		}
	}
	ok(small_ok, "state_format refuses every buffer too small (ENOBUFS)");
	ok_int(state_format(&sb, buf, (size_t)len + 1), len,
	    "state_format fits a buffer of exactly length + 1");

	/* Accepted limits of the numeric fields. */
	{
		static const char *const good[][2] = {
			{ "pause_pid 4242\n", "pause_pid 2147483647\n" },
			{ "netns_ino 4026532000\n",
			    "netns_ino 18446744073709551615\n" },
			{ "created 1732870000\n",
			    "created 9223372036854775807\n" },
			{ "pause_pid 4242\n", "pause_pid 0\n" },
			{ "eth0.ip 172.19.0.2/24\n", "eth0.ip 172.19.0.2/30\n" },
			{ "eth0.mtu 0\n", "eth0.mtu 65535\n" },
		};
		char text[2048], desc[128];
		size_t k;

		for (k = 0; k < sizeof(good) / sizeof(good[0]); k++) {
			const char *at = strstr(named_text, good[k][0]);
			size_t pre = (size_t)(at - named_text);

			memcpy(text, named_text, pre);
			strcpy(text + pre, good[k][1]);
			strcat(text, at + strlen(good[k][0]));
			snprintf(desc, sizeof(desc),
			    "state_parse accepts '%.*s'",
			    (int)strlen(good[k][1]) - 1, good[k][1]);
			ok_sys(state_parse(text, strlen(text), &out) == 0,
			    desc);
		}
	}
}

/* ---- malformed state files ---- */

struct text {
	char b[4096];
	size_t len;
};

static void
text_set(struct text *t, const char *s)
{
	t->len = strlen(s);
	memcpy(t->b, s, t->len);
}

/* Replaces the first occurrence of from (as a C string) by to[0..tolen). */
static int
text_subst(struct text *t, const char *from, const char *to, size_t tolen)
{
	size_t flen = strlen(from), i;

	for (i = 0; i + flen <= t->len; i++)
		if (!memcmp(t->b + i, from, flen))
			break;
	if (i + flen > t->len || t->len - flen + tolen > sizeof(t->b))
		return -1;
	memmove(t->b + i + tolen, t->b + i + flen, t->len - i - flen);
	memcpy(t->b + i, to, tolen);
	t->len = t->len - flen + tolen;
	return 0;
}

static void
expect_bad(const char *buf, size_t len, const char *desc)
{
	struct sandbox sb;
	int r;

	errno = 0;
	r = state_parse(buf, len, &sb);
	set_detail("returned %d, errno %d", r, errno);
	ok(r == -1 && errno == EBADMSG, "state_parse rejects %s", desc);
}

/* A valid text with from replaced by to. */
static void
bad_subst_in(const char *base, const char *from, const char *to,
	const char *desc)
{
	struct text t;

	text_set(&t, base);
	if (text_subst(&t, from, to, strlen(to)) < 0) {
		set_detail("test bug: '%s' not in the text", from);
		ok(0, "state_parse rejects %s", desc);
		return;
	}
	expect_bad(t.b, t.len, desc);
}

static void
bad_subst(const char *from, const char *to, const char *desc)
{
	bad_subst_in(named_text, from, to, desc);
}

/* Version 1, as the previous release wrote it, reads as the same
 * sandbox; it is always written back as version 2. */
static void
test_state_v1(void)
{
	struct sandbox sb, out;
	char buf[2048];
	int n;

	struct text t;

	/* Version 1 recorded no MAC; its one interface was on the default
	 * network. */
	fill_named(&sb);
	memset(sb.ifs[0].mac, 0, 6);
	clear_firewall(&sb);
	if (ok_sys(state_parse(named_v1_text, strlen(named_v1_text),
	    &out) == 0, "state_parse reads a version 1 state"))
		ok(sb_equal(&sb, &out), "a version 1 state gives the same "
		    "sandbox as its version 2 form, on " DEF_NETWORK
		    ", without a firewall");
	n = state_format(&out, buf, sizeof(buf));
	text_set(&t, named_plain_text);
	ok_mem(buf, n < 0 ? 0 : (size_t)n, t.b, t.len,
	    "a version 1 state is written back as version 2");
	fill_hostnet(&sb);
	if (ok_sys(state_parse(hostnet_v1_text, strlen(hostnet_v1_text),
	    &out) == 0, "state_parse reads a version 1 'creating' state"))
		ok(sb_equal(&sb, &out), "a version 1 'creating' state has no "
		    "pause (pause_pid 0)");
	bad_subst_in(named_v1_text, "phase ready\n", "phase running\n",
	    "a version 1 phase 'running'");
	bad_subst_in(named_v1_text, "creator_pid 4000\n",
	    "creator_pid 4000x\n", "a version 1 creator_pid 4000x");
	bad_subst_in(named_v1_text, "phase ready\n", "",
	    "a version 1 state without its phase");
	bad_subst_in(named_text, "name web-1\n", "name web-1\nphase ready\n",
	    "a version 2 state with a version 1 key");
	bad_subst_in(named_text, "interfaces 1\n", "veth_host vh-01234567\n",
	    "a version 2 state with version 1's veth_host");
	bad_subst_in(named_v1_text, "ip 172.19.0.2/24\n",
	    "ip 172.19.0.2/24\ninterfaces 1\n",
	    "a version 1 state with version 2's interfaces");
}

static void
test_state_reject(void)
{
	static const char *const subst[][3] = {
		{ "pelagos-state 2\n", "", "a missing version line" },
		{ "pelagos-state 2\n", "pelagos-state 3\n", "version 3" },
		{ "pelagos-state 2\n", "pelagos-state 0\n", "version 0" },
		{ "pelagos-state 2\n", "pelagos-state 1\n",
		    "version 1 with version 2's keys" },
		{ "pelagos-state 2\n", "pelagos-state 10\n", "version 10" },
		{ "pelagos-state 2\n", "pelagos-state 2 \n",
		    "a version line with a trailing space" },
		{ "pelagos-state 2\n", "Pelagos-state 2\n",
		    "a capitalised version line" },
		{ "ipc pod\n", "", "a missing key (ipc)" },
		{ "cpu_weight -\n", "", "a missing last key" },
		{ "name web-1\n", "name web-1\nname web-1\n",
		    "a duplicate key" },
		{ "net pod\nipc pod\n", "ipc pod\nnet pod\n",
		    "keys out of order" },
		{ "name web-1\n", "nick web-1\n", "an unknown key" },
		{ "name web-1\n", "name web-1\ncolor blue\n",
		    "an inserted unknown key" },
		{ "cpu_weight -\n", "cpu_weight -\nextra 1\n",
		    "an extra trailing line" },
		{ "cpu_weight -\n", "cpu_weight -\n\n",
		    "a trailing empty line" },
		{ "cpu_weight -\n", "cpu_weight -\nx",
		    "trailing bytes without a newline" },
		{ "\nname web-1\n", "\n\nname web-1\n",
		    "an empty line between keys" },
		{ "name web-1\n", "name web 1\n", "a value with a space" },
		{ "name web-1\n", "name  web-1\n", "a double space" },
		{ "name web-1\n", "name web-1 \n", "a trailing space" },
		{ "name web-1\n", " name web-1\n", "a leading space" },
		{ "name web-1\n", "name\tweb-1\n", "a tab separator" },
		{ "name web-1\n", "name web-1\r\n", "a CRLF line end" },
		{ "name web-1\n", "name \n", "an empty value" },
		{ "name web-1\n", "name\n", "a key without a value" },
		{ "hostname web-1\n", "hostname \n", "an empty hostname" },
		{ "hostname web-1\n", "hostname -\n", "hostname '-'" },
		{ "id 0123456789abcdef\n", "id 0123456789abcde\n",
		    "a 15-character id" },
		{ "id 0123456789abcdef\n", "id 0123456789abcdef0\n",
		    "a 17-character id" },
		{ "id 0123456789abcdef\n", "id 0123456789ABCDEF\n",
		    "an uppercase id" },
		{ "id 0123456789abcdef\n", "id -\n", "id '-'" },
		{ "name web-1\n", "name ../x\n", "name '../x'" },
		{ "name web-1\n", "name -x\n", "name '-x'" },
		{ "name web-1\n", "name a/b\n", "name 'a/b'" },
		{ "ns_name psb-01234567\n", "ns_name ..\n", "ns_name '..'" },
		{ "ns_name psb-01234567\n", "ns_name a/b\n", "ns_name 'a/b'" },
		{ "eth0.veth vh-01234567\n", "eth0.veth 0123456789abcdef\n",
		    "a 16-character veth" },
		{ "eth0.veth vh-01234567\n", "eth0.veth -\n", "veth '-'" },
		{ "eth0.bridge pelagos0\n", "eth0.bridge br:0\n",
		    "bridge 'br:0'" },
		{ "eth0.bridge pelagos0\n", "eth0.bridge -\n", "bridge '-'" },
		{ "eth0.network pelagos0\n", "eth0.network -\n",
		    "network '-'" },
		{ "eth0.network pelagos0\n", "eth0.network ../x\n",
		    "network '../x'" },
		{ "eth0.ip 172.19.0.2/24\n", "eth0.ip 256.1.1.1/24\n",
		    "ip 256.1.1.1" },
		{ "eth0.ip 172.19.0.2/24\n", "eth0.ip 1.2.3/24\n", "ip 1.2.3" },
		{ "eth0.ip 172.19.0.2/24\n", "eth0.ip 01.2.3.4/24\n",
		    "ip 01.2.3.4" },
		{ "eth0.ip 172.19.0.2/24\n", "eth0.ip 1.2.3.4.5/24\n",
		    "ip 1.2.3.4.5" },
		{ "eth0.ip 172.19.0.2/24\n", "eth0.ip 172.19.0.2\n",
		    "ip without a prefix" },
		{ "eth0.ip 172.19.0.2/24\n", "eth0.ip 172.19.0.2/33\n",
		    "prefix 33" },
		{ "eth0.ip 172.19.0.2/24\n", "eth0.ip 172.19.0.2/024\n",
		    "a prefix with a leading zero" },
		{ "eth0.ip 172.19.0.2/24\n", "eth0.ip 172.19.0.2/\n",
		    "an empty prefix" },
		{ "eth0.ip 172.19.0.2/24\n", "eth0.ip 172.19.0.2/0\n",
		    "prefix 0" },
		{ "eth0.gateway 172.19.0.1\n", "eth0.gateway 172.19.0.256\n",
		    "gateway 172.19.0.256" },
		{ "eth0.gateway 172.19.0.1\n", "eth0.gateway 172.19.0.1/24\n",
		    "a gateway with a prefix" },
		{ "eth0.gateway 172.19.0.1\n", "eth0.gateway 172.20.0.1\n",
		    "a gateway outside the subnet" },
		{ "eth0.mtu 0\n", "eth0.mtu 65536\n", "mtu 65536" },
		{ "eth0.mtu 0\n", "eth0.mtu -\n", "mtu '-'" },
		{ "eth0.mtu 0\n", "eth0.mtu 01500\n", "mtu with a leading zero" },
		{ "eth0.ip6 -\n", "eth0.ip6 fd00::2/64\n",
		    "an ip6 without gateway6" },
		{ "eth0.gateway6 -\n", "eth0.gateway6 fd00::1\n",
		    "a gateway6 without ip6" },
		{ "interfaces 1\n", "interfaces 0\n",
		    "a pod network without interfaces" },
		{ "interfaces 1\n", "interfaces 2\n",
		    "interfaces 2 with one block" },
		{ "interfaces 1\n", "interfaces 5\n", "interfaces 5" },
		{ "interfaces 1\n", "interfaces -\n", "interfaces '-'" },
		{ "eth0.network", "eth1.network", "eth1 for the first block" },
		{ "eth0.ip ", "ip ", "a block key without its prefix" },
		{ "net pod\n", "net container\n", "net container" },
		{ "net pod\n", "net host\n", "net host" },
		{ "ipc pod\n", "ipc POD\n", "ipc POD" },
		{ "pid container\n", "pid node\n", "pid node" },
		{ "pause_pid 4242\n", "pause_pid +4242\n", "pause_pid +4242" },
		{ "pause_pid 4242\n", "pause_pid -1\n", "pause_pid -1" },
		{ "pause_pid 4242\n", "pause_pid 04242\n",
		    "pause_pid with a leading zero" },
		{ "pause_pid 4242\n", "pause_pid 2147483648\n",
		    "pause_pid INT_MAX + 1" },
		{ "pause_pid 4242\n", "pause_pid 99999999999999999999\n",
		    "pause_pid 99999999999999999999" },
		{ "pause_pid 4242\n", "pause_pid 4242x\n",
		    "pause_pid 4242x" },
		{ "netns_ino 4026532000\n",
		    "netns_ino 18446744073709551616\n",
		    "netns_ino ULLONG_MAX + 1" },
		{ "pause_start 123456789\n",
		    "pause_start 99999999999999999999\n",
		    "pause_start 99999999999999999999" },
		{ "created 1732870000\n", "created 9223372036854775808\n",
		    "created LLONG_MAX + 1" },
		{ "created 1732870000\n", "created -1\n", "created -1" },
		{ "created 1732870000\n", "created 0x10\n", "created 0x10" },
		{ "boot_id -\n", "boot_id 5b1a7c1e-0f3d-4c2a-9e8b-7d6c5b4a3f2\n",
		    "a boot ID one digit short" },
		{ "boot_id -\n", "boot_id 5B1A7C1E-0F3D-4C2A-9E8B-7D6C5B4A3F21\n",
		    "an uppercase boot ID" },
		{ "boot_id -\n", "boot_id 5b1a7c1e0f3d-4c2a-9e8b-7d6c5b4a3f21-\n",
		    "a boot ID with a misplaced dash" },
		{ "boot_id -\n", "", "a missing boot_id" },
		{ "cgroup -\n", "cgroup /sys/fs/cgroup/pelagos/fedcba9876543210\n",
		    "the cgroup of another ID" },
		{ "cgroup -\n", "cgroup /sys/fs/cgroup/0123456789abcdef/x\n",
		    "a cgroup below the ID's" },
		{ "cgroup -\n", "cgroup sys/0123456789abcdef\n",
		    "a relative cgroup" },
		{ "cgroup -\n", "cgroup /sys/../0123456789abcdef\n",
		    "a cgroup through '..'" },
		{ "cgroup -\n", "cgroup /sys//0123456789abcdef\n",
		    "a cgroup with an empty component" },
		{ "cgroup -\n", "cgroup /0123456789abcdef\n",
		    "the cgroup of a pod at the mount's root" },
		{ "cgroup -\n", "cgroup /x0123456789abcdef\n",
		    "a cgroup that only ends in the ID" },
		{ "memory -\n", "memory 0\n", "memory 0 (none is '-')" },
		{ "memory -\n", "memory 64m\n", "memory 64m" },
		{ "pids_max -\n", "pids_max -1\n", "pids_max -1" },
		{ "cpu_weight -\n", "cpu_weight 18446744073709551616\n",
		    "cpu_weight ULLONG_MAX + 1" },
		{ "antispoof on\n", "", "a missing last key (antispoof)" },
		{ "nat on\n", "nat yes\n", "nat yes" },
		{ "nat on\n", "nat -\n", "nat '-'" },
		{ "antispoof on\n", "antispoof On\n", "antispoof On" },
		{ "ports 10.0.0.1:40000:80,40001:81/udp\n",
		    "ports 10.0.0.1:40000:80,\n", "a trailing comma in ports" },
		{ "ports 10.0.0.1:40000:80,40001:81/udp\n",
		    "ports ,40000:80\n", "a leading comma in ports" },
		{ "ports 10.0.0.1:40000:80,40001:81/udp\n",
		    "ports 40000:80/sctp\n", "ports of /sctp" },
		{ "ports 10.0.0.1:40000:80,40001:81/udp\n",
		    "ports 0.0.0.0:40000:80\n", "ports on 0.0.0.0" },
		{ "ports 10.0.0.1:40000:80,40001:81/udp\n",
		    "ports 40000-40001:80\n", "a range to one port" },
		{ "ports 10.0.0.1:40000:80,40001:81/udp\n",
		    "ports 1:1,1:2\n", "a port published twice" },
		{ "ports 10.0.0.1:40000:80,40001:81/udp\n",
		    "ports 1:1,2:2,3:3,4:4,5:5,6:6,7:7,8:8,9:9,10:10,11:11,"
		    "12:12,13:13,14:14,15:15,16:16,17:17\n", "17 --publish" },
		{ "egress 10.0.0.0/8,1.1.1.1\n", "egress 10.0.0.1/8\n",
		    "egress with host bits" },
		{ "egress 10.0.0.0/8,1.1.1.1\n", "egress 1.1.1.1:0\n",
		    "an egress port 0" },
		{ "egress 10.0.0.0/8,1.1.1.1\n", "egress \n",
		    "an empty egress" },
		{ "nft pelagos\n", "nft pe/lagos\n", "nft 'pe/lagos'" },
	};
	struct text t;
	char line[300], junk[512];
	size_t i, len, first_bad;
	int all;

	expect_bad("", 0, "an empty buffer");
	expect_bad("pelagos-state 2\n", 16, "the version line alone");
	for (i = 0; i < sizeof(subst) / sizeof(subst[0]); i++)
		bad_subst(subst[i][0], subst[i][1], subst[i][2]);

	len = strlen(named_text);
	expect_bad(named_text, len - 1, "a text without its final newline");
	expect_bad(named_text, strstr(named_text, "eth0.ip ") - named_text,
	    "a text cut at a line boundary");
	expect_bad(named_text, strstr(named_text, "eth0.ip ") - named_text + 5,
	    "a text cut in the middle of a line");
	expect_bad(named_text, 8, "a text cut inside the version line");
	all = 1;
	first_bad = 0;
	for (i = 0; i < len; i++) {
		struct sandbox sb;

		errno = 0;
		if (state_parse(named_text, i, &sb) != -1 ||
		    errno != EBADMSG) {
			all = 0;
			first_bad = i;
			break;
		}
	}
	set_detail("cut at %zu accepted", first_bad);
	ok(all, "state_parse rejects every one of the %zu truncations", len);

	/* A 200-character hostname line: over the line limit. */
	memset(line, 'h', 200);
	line[200] = '\0';
	text_set(&t, named_text);
	memcpy(line, "hostname ", 9);
	strcat(line, "\n");
	text_subst(&t, "hostname web-1\n", line, strlen(line));
	expect_bad(t.b, t.len, "a 200-character line");
	/* Within the line limit but over the field limit. */
	memset(line, 'h', sizeof(line));
	memcpy(line, "hostname ", 9);
	strcpy(line + 9 + HOST_MAX_LEN + 1, "\n");
	text_set(&t, named_text);
	text_subst(&t, "hostname web-1\n", line, strlen(line));
	expect_bad(t.b, t.len, "a 65-character hostname");
	memset(line, 'n', sizeof(line));
	memcpy(line, "name ", 5);
	strcpy(line + 5 + NAME_MAX_LEN + 1, "\n");
	text_set(&t, named_text);
	text_subst(&t, "name web-1\n", line, strlen(line));
	expect_bad(t.b, t.len, "a 64-character name");

	text_set(&t, named_text);
	text_subst(&t, "name web-1\n", "name web\0-1\n", 12);
	expect_bad(t.b, t.len, "a NUL byte inside a value");
	text_set(&t, named_text);
	text_subst(&t, "name web-1\n", "name web-1\n\0", 12);
	expect_bad(t.b, t.len, "a NUL byte after a newline");
	text_set(&t, named_text);
	text_subst(&t, "pelagos-state 2\n", "pelagos-state 2\0", 16);
	expect_bad(t.b, t.len, "a NUL byte in place of the first newline");
	expect_bad(named_text, len + 1, "the text with its terminating NUL");

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(lcg() >> 8);
	expect_bad(junk, sizeof(junk), "binary junk");
	memcpy(junk, "pelagos-state 2\n", 16);
	expect_bad(junk, sizeof(junk), "binary junk after a valid version");
	memset(junk, '\n', sizeof(junk));
	expect_bad(junk, sizeof(junk), "a buffer of newlines");
}

/* The text is placed so that its last byte is the last readable byte
 * before an inaccessible page: a read past len faults. */
static void
test_state_mutations(void)
{
	static const char *const bases[] = { named_text, hostnet_text,
		two_text };
	static const char alphabet[] = "0123456789abcdef-./ \n\0zA";
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *map, *buf;
	char work[1024], again[2048];
	size_t len, pos;
	int iter, m, nmut, accepted = 0, noncanon = 0, badmsg = 0;
	struct sandbox sb;

	map = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED || mprotect(map + pg, (size_t)pg,
	    PROT_NONE) < 0) {
		set_detail("mmap: %s", strerror(errno));
		ok(0, "mutation loop set up");
		return;
	}
	lcg_state = 12345;
	for (iter = 0; iter < 2000; iter++) {
		const char *base = bases[iter % 3];

		len = strlen(base);
		memcpy(work, base, len);
		nmut = 1 + (int)(lcg() % 3);
		for (m = 0; m < nmut; m++) {
			unsigned int op = lcg() % 4;
			unsigned char c;

			pos = len ? lcg() % len : 0;
			c = lcg() % 2 ? (unsigned char)(lcg() >> 4) :
			    (unsigned char)alphabet[lcg() %
			    (sizeof(alphabet) - 1)];
			if (op == 0 && len) {
				work[pos] ^= (char)(1u << lcg() % 8);
			} else if (op == 1 && len) {
				work[pos] = (char)c;
			} else if (op == 2 && len) {
				memmove(work + pos, work + pos + 1,
				    len - pos - 1);
				len--;
			} else if (len < sizeof(work)) {
				memmove(work + pos + 1, work + pos, len - pos);
				work[pos] = (char)c;
				len++;
			}
		}
		buf = map + pg - len;
		memcpy(buf, work, len);
		errno = 0;
		if (state_parse((const char *)buf, len, &sb) == 0) {
			int n = state_format(&sb, again, sizeof(again));

			accepted++;
			if (n < 0 || (size_t)n != len ||
			    memcmp(again, work, len)) {
				if (!noncanon++)
					set_detail("iteration %d: accepted "
					    "'%.*s' formats differently",
					    iter, (int)len, work);
			}
		} else if (errno == EBADMSG) {
			badmsg++;
		}
	}
	munmap(map, (size_t)pg * 2);
	ok(!noncanon, "2000 mutated states: every accepted text is "
	    "canonical (%d accepted, %d non-canonical)", accepted, noncanon);
	set_detail("%d of %d rejections set EBADMSG", badmsg,
	    2000 - accepted);
	ok(badmsg == 2000 - accepted,
	    "2000 mutated states: every rejection sets EBADMSG");
	/* A loop that never mutates anything into a rejection tests
	 * nothing. */
	set_detail("%d accepted", accepted);
	ok(accepted < 2000 && badmsg > 1000,
	    "2000 mutated states: most mutations are rejected");
}

/* ip and gateway lines that state_format never writes: an address
 * without its gateway, a gateway without an address, the zero address. */
static void
test_state_inconsistent_ip(void)
{
	static const char *const cases[][3] = {
		{ "eth0.gateway 172.19.0.1\n", "eth0.gateway -\n",
		    "an ip with gateway '-'" },
		{ "eth0.ip 172.19.0.2/24\n", "eth0.ip -\n",
		    "ip '-' with a gateway" },
		{ "eth0.ip 172.19.0.2/24\n", "eth0.ip 0.0.0.0/24\n",
		    "ip 0.0.0.0/24" },
	};
	struct text t;
	struct sandbox sb;
	char again[2048];
	size_t i;
	int r, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		text_set(&t, named_text);
		text_subst(&t, cases[i][0], cases[i][1], strlen(cases[i][1]));
		r = state_parse(t.b, t.len, &sb);
		n = r == 0 ? state_format(&sb, again, sizeof(again)) : 0;
		set_detail("accepted; formats back differently");
		ok(r == -1 || ((size_t)n == t.len &&
		    !memcmp(again, t.b, t.len)),
		    "state_parse rejects or round-trips %s", cases[i][2]);
	}
}

/* ---- IP and subnet parsing, IPAM ---- */

static void
test_ip(void)
{
	static const struct { const char *s; uint32_t ip; } good[] = {
		{ "0.0.0.0", 0 },
		{ "255.255.255.255", 0xffffffffu },
		{ "10.0.0.2", IP4(10, 0, 0, 2) },
		{ "172.19.0.1", IP4(172, 19, 0, 1) },
		{ "1.2.3.4", 0x01020304u },
	};
	static const char *const bad[] = {
		"", "1", "1.2.3", "1.2.3.4.5", "256.0.0.0", "1.2.3.256",
		"01.2.3.4", "1.2.3.04", "00.0.0.0", "1..2.3", ".1.2.3",
		"1.2.3.", "1.2.3.4 ", " 1.2.3.4", "-1.2.3.4", "+1.2.3.4",
		"1.2.3.a", "1.2.3.4/24", "99999999999.0.0.0",
		"18446744073709551617.0.0.0", "0x1.2.3.4",
	};
	uint32_t ip, v, back;
	char s[16];
	size_t i;
	int all, r;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ip = 0xdeadbeef;
		r = ipam_parse_ip(good[i].s, NULL, &ip);
		set_detail("returned %d, got 0x%08x, want 0x%08x", r, ip,
		    good[i].ip);
		ok(r == 0 && ip == good[i].ip, "ipam_parse_ip '%s'",
		    good[i].s);
		ipam_format_ip(good[i].ip, s);
		ok_str(s, good[i].s, "ipam_format_ip gives the dotted quad");
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		r = ipam_parse_ip(bad[i], NULL, &ip);
		set_detail("returned %d, errno %d", r, errno);
		ok(r == -1 && errno == EINVAL,
		    "ipam_parse_ip rejects '%s' with EINVAL", bad[i]);
	}
	lcg_state = 99;
	all = 1;
	for (i = 0; i < 1000 && all; i++) {
		v = lcg() ^ lcg() << 16;
		ipam_format_ip(v, s);
		if (ipam_parse_ip(s, NULL, &back) < 0 || back != v) {
			set_detail("0x%08x -> '%s' -> 0x%08x", v, s, back);
			all = 0;
		}
	}
	ok(all, "ipam_format_ip/ipam_parse_ip round trip 1000 addresses");
}

static void
test_subnet(void)
{
	static const struct { const char *s; uint32_t net; int prefix; }
	    good[] = {
		{ "172.19.0.0/24", IP4(172, 19, 0, 0), 24 },
		{ "10.200.0.0/16", IP4(10, 200, 0, 0), 16 },
		{ "10.0.0.0/30", IP4(10, 0, 0, 0), 30 },
		{ "10.0.0.4/30", IP4(10, 0, 0, 4), 30 },
		{ "192.168.128.0/17", IP4(192, 168, 128, 0), 17 },
	};
	static const char *const bad[] = {
		"10.0.0.0/15", "10.0.0.0/31", "10.0.0.0/32", "10.0.0.0/0",
		"10.0.0.0/8", "10.0.0.1/24", "10.0.1.0/23", "10.0.0.2/30",
		"10.0.0.0", "10.0.0.0/", "/24", "junk", "", "junk/24",
		"010.0.0.0/24", "10.0.0.0/024", " 10.0.0.0/24",
		"10.0.0.0/24 ", "10.0.0.0 /24", "10.0.0.0/ 24",
		"1.2.3.0/24x", "1.2.3.4/24x", "10.0.0.0/+24", "10.0.0.0/-24",
		"10.0.0.0/24/24", "1.2.3/24", "1.2.3.0.0/24",
		"256.0.0.0/24", "10.0.0.0/99999999999999999999",
	};
	struct subnet sn;
	size_t i;
	int r;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(&sn, 0xff, sizeof(sn));
		r = ipam_parse_subnet(good[i].s, &sn);
		set_detail("returned %d, got 0x%08x/%d", r, sn.net, sn.prefix);
		ok(r == 0 && sn.net == good[i].net &&
		    sn.prefix == good[i].prefix,
		    "ipam_parse_subnet '%s'", good[i].s);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		r = ipam_parse_subnet(bad[i], &sn);
		set_detail("returned %d, errno %d", r, errno);
		ok(r == -1 && errno == EINVAL,
		    "ipam_parse_subnet rejects '%s' with EINVAL", bad[i]);
	}
}

static void
expect_pick(const char *subnet, const uint32_t *used, size_t n,
	uint32_t want, const char *desc)
{
	struct subnet sn;
	uint32_t ip = 0;
	char g[16], w[16];

	if (ipam_parse_subnet(subnet, &sn) < 0) {
		set_detail("test bug: bad subnet %s", subnet);
		ok(0, "%s", desc);
		return;
	}
	errno = 0;
	if (ipam_pick(&sn, sn.net + 1, used, n, &ip) < 0) {
		set_detail("failed: %s", strerror(errno));
		ok(0, "%s", desc);
		return;
	}
	ipam_format_ip(ip, g);
	ipam_format_ip(want, w);
	set_detail("got %s, want %s", g, w);
	ok(ip == want, "%s", desc);
}

static void
expect_full(const char *subnet, const uint32_t *used, size_t n,
	const char *desc)
{
	struct subnet sn;
	uint32_t ip = 0;
	char g[16];
	int r;

	ipam_parse_subnet(subnet, &sn);
	errno = 0;
	r = ipam_pick(&sn, sn.net + 1, used, n, &ip);
	ipam_format_ip(ip, g);
	set_detail("returned %d (%s), errno %d", r, g, errno);
	ok(r == -1 && errno == EADDRNOTAVAIL, "%s", desc);
}

static void
test_ipam(void)
{
	uint32_t used[65536];
	size_t n, i;

	expect_pick("172.19.0.0/24", NULL, 0, IP4(172, 19, 0, 2),
	    "IPAM: an empty /24 gives .2");
	used[0] = IP4(172, 19, 0, 2);
	used[1] = IP4(172, 19, 0, 3);
	expect_pick("172.19.0.0/24", used, 2, IP4(172, 19, 0, 4),
	    "IPAM: .2 and .3 used gives .4");
	used[0] = IP4(172, 19, 0, 4);
	used[1] = IP4(172, 19, 0, 2);
	expect_pick("172.19.0.0/24", used, 2, IP4(172, 19, 0, 3),
	    "IPAM: the hole between .2 and .4 is reused");
	used[0] = IP4(172, 19, 0, 0);
	used[1] = IP4(172, 19, 0, 1);
	expect_pick("172.19.0.0/24", used, 2, IP4(172, 19, 0, 2),
	    "IPAM: the network and gateway in the used list change nothing");
	used[0] = IP4(172, 19, 1, 2);
	used[1] = IP4(10, 0, 0, 2);
	used[2] = IP4(172, 18, 0, 2);
	used[3] = IP4(172, 19, 0, 2) ^ 0x80000000u;
	used[4] = IP4(172, 19, 0, 255);
	used[5] = 0xffffffffu;
	expect_pick("172.19.0.0/24", used, 6, IP4(172, 19, 0, 2),
	    "IPAM: addresses outside the subnet are ignored");

	expect_pick("10.0.0.0/30", NULL, 0, IP4(10, 0, 0, 2),
	    "IPAM: a /30 has the one host .2");
	used[0] = IP4(10, 0, 0, 2);
	expect_full("10.0.0.0/30", used, 1,
	    "IPAM: a /30 with .2 used is full (EADDRNOTAVAIL)");
	expect_pick("10.0.0.4/30", NULL, 0, IP4(10, 0, 0, 6),
	    "IPAM: 10.0.0.4/30 gives .6");
	used[0] = IP4(10, 0, 0, 6);
	used[1] = IP4(10, 0, 0, 2);
	expect_full("10.0.0.4/30", used, 2,
	    "IPAM: 10.0.0.4/30 with .6 used is full");

	for (n = 0, i = 2; i <= 254; i++)
		used[n++] = IP4(172, 19, 0, i);
	expect_full("172.19.0.0/24", used, n,
	    "IPAM: a /24 with .2-.254 used is full; .255 is never given");
	used[n] = IP4(172, 19, 0, 0);
	used[n + 1] = IP4(172, 19, 0, 1);
	used[n + 2] = IP4(172, 19, 0, 255);
	expect_full("172.19.0.0/24", used, n + 3,
	    "IPAM: a full /24 with network, gateway and broadcast listed is "
	    "full");
	expect_pick("172.19.0.0/24", used, n - 1, IP4(172, 19, 0, 254),
	    "IPAM: the last host .254 is given when only it is free");

	for (n = 0, i = 2; i <= 255; i++)
		used[n++] = IP4(10, 200, 0, i);
	used[n++] = IP4(10, 200, 1, 0);
	expect_pick("10.200.0.0/16", used, n, IP4(10, 200, 1, 1),
	    "IPAM: a /16 crosses the octet boundary (.0.255 and .1.0 are "
	    "hosts)");
	used[n - 1] = IP4(10, 200, 0, 0);
	expect_pick("10.200.0.0/16", used, n, IP4(10, 200, 1, 0),
	    "IPAM: a /16 gives x.1.0 when it is free");

	for (n = 0, i = 2; i < 65535; i++)
		used[n++] = IP4(10, 200, 0, 0) + (uint32_t)i;
	expect_full("10.200.0.0/16", used, n,
	    "IPAM: a full /16 is full; .255.255 is never given");
	expect_pick("10.200.0.0/16", used, n - 1, IP4(10, 200, 255, 254),
	    "IPAM: a /16 gives .255.254 when only it is free");
}

/* ---- names, IDs, hostnames, interface names ---- */

static void
check_valid(int (*fn)(const char *), const char *fname, const char *s,
	int want)
{
	char shown[400];
	size_t i, j = 0;
	int got = fn(s) != 0;

	for (i = 0; s[i] && j + 5 < sizeof(shown); i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < ' ' || c >= 0x7f)
			j += (size_t)snprintf(shown + j, sizeof(shown) - j,
			    "\\x%02x", c);
		else
			shown[j++] = (char)c;
	}
	shown[j] = '\0';
	set_detail("returned %d", got);
	ok(got == (want != 0), "%s %s '%s' (%zu bytes)", fname,
	    want ? "accepts" : "rejects", shown, strlen(s));
}

/* ---- cgroup limits, cgroup paths, confinement options ---- */

static void
test_limits(void)
{
	static const struct {
		int lim;
		const char *v;
		unsigned long long want;	/* 0: refused */
	} cases[] = {
		{ LIM_MEMORY, "64m", 64ull << 20 }, { LIM_MEMORY, "1G", 1ull << 30 },
		{ LIM_MEMORY, "4096", 4096 }, { LIM_MEMORY, "2t", 2ull << 40 },
		{ LIM_SWAP, "128k", 128 << 10 }, { LIM_MEMORY, "0", 0 },
		{ LIM_MEMORY, "", 0 }, { LIM_MEMORY, "64x", 0 },
		{ LIM_MEMORY, "64mb", 0 }, { LIM_MEMORY, "-1", 0 },
		{ LIM_MEMORY, "064m", 0 }, { LIM_MEMORY, "16777216t", 0 },
		{ LIM_QUOTA, "0.2", 20000 }, { LIM_QUOTA, "1", 100000 },
		{ LIM_QUOTA, "1.5", 150000 }, { LIM_QUOTA, "0.01", 1000 },
		{ LIM_QUOTA, "2.125", 212500 }, { LIM_QUOTA, "0.009", 0 },
		{ LIM_QUOTA, "0", 0 }, { LIM_QUOTA, "1.2345", 0 },
		{ LIM_QUOTA, "1k", 0 }, { LIM_QUOTA, ".5", 0 },
		{ LIM_PIDS, "64", 64 }, { LIM_PIDS, "0", 0 }, { LIM_PIDS, "1m", 0 },
		{ LIM_WEIGHT, "1", 1 }, { LIM_WEIGHT, "10000", 10000 },
		{ LIM_WEIGHT, "10001", 0 }, { LIM_WEIGHT, "0", 0 },
	};
	struct limits l;
	size_t i;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&l, 0, sizeof(l));
		r = cgroup_limit(cases[i].lim, cases[i].v, &l);
		set_detail("returned %d, value %llu", r, l.v[cases[i].lim]);
		if (cases[i].want)
			ok(r == 0 && l.v[cases[i].lim] == cases[i].want,
			    "limit %d '%s' is %llu", cases[i].lim, cases[i].v,
			    cases[i].want);
		else
			ok(r == -1 && !l.v[cases[i].lim],
			    "limit %d '%s' is refused", cases[i].lim,
			    cases[i].v);
	}
}

static void
test_cgroup_paths(void)
{
	static const char *const good[] = { "/sys/fs/cgroup/pelagos",
		"/a", "/a.b/c-d/e_f", "/sys/fs/cgroup/unified/pelagos-test-1a2b" };
	static const char *const bad[] = { "", "a", "a/b", "/", "//a", "/a/",
		"/a//b", "/.", "/..", "/a/../b", "/a/./b", "/a b",
		"/a:b", "/a\x7f", "/caf\xc3\xa9" };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(valid_path(good[i]), "valid_path accepts '%s'", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!valid_path(bad[i]), "valid_path refuses '%s'", bad[i]);
}

/* Indexes into CONFINE_OPTS. */
enum { C_PRIV, C_NNP, C_SECCOMP, C_RO, C_USER, C_ADD, C_DROP, C_GROUP };

static void
test_confine_opts(void)
{
	static const struct {
		int opt;
		const char *v;
		int ok;
	} cases[] = {
		{ C_USER, "1000", 1 }, { C_USER, "1000:100", 1 },
		{ C_USER, "0", 1 }, { C_USER, "4294967294", 1 },
		{ C_USER, "4294967295", 0 }, { C_USER, "x", 0 },
		{ C_USER, "1000:", 0 }, { C_USER, ":100", 0 },
		{ C_USER, "1000:100:1", 0 }, { C_USER, "-1", 0 },
		{ C_ADD, "NET_ADMIN", 1 }, { C_ADD, "cap_net_admin", 1 },
		{ C_ADD, "CAP_SYS_ADMIN", 1 }, { C_DROP, "ALL", 1 },
		{ C_DROP, "all", 1 }, { C_ADD, "checkpoint_restore", 1 },
		{ C_ADD, "net-admin", 0 }, { C_ADD, "CAP_", 0 },
		{ C_ADD, "", 0 }, { C_ADD, "net_admi", 0 },
		{ C_ADD, "net_adminx", 0 }, { C_GROUP, "5", 1 },
		{ C_GROUP, "5x", 0 }, { C_SECCOMP, "unconfined", 1 },
		{ C_SECCOMP, "default", 0 },
	};
	struct confine c;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&c, 0, sizeof(c));
		ok((confine_opt(cases[i].opt, cases[i].v, &c) == 0) ==
		    cases[i].ok, "confinement option %d '%s' is %s",
		    cases[i].opt, cases[i].v, cases[i].ok ? "taken" : "refused");
	}
	memset(&c, 0, sizeof(c));
	confine_opt(C_USER, "1000:100", &c);
	ok(c.uid == 1000 && c.gid == 100 && c.flags == CF_USER,
	    "--user 1000:100 sets both IDs");
	memset(&c, 0, sizeof(c));
	confine_opt(C_USER, "7", &c);
	ok(c.uid == 7 && c.gid == 7, "--user 7 gives GID 7");
	memset(&c, 0, sizeof(c));
	confine_opt(C_ADD, "NET_ADMIN", &c);
	confine_opt(C_ADD, "sys_time", &c);
	confine_opt(C_DROP, "CAP_CHOWN", &c);
	ok(c.add == (1ull << 12 | 1ull << 25) && c.drop == 1,
	    "capability names map to their numbers");
	memset(&c, 0, sizeof(c));
	for (i = 0; i <= CF_MAX_GROUPS; i++)
		if (confine_opt(C_GROUP, "5", &c) < 0)
			break;
	ok(i == CF_MAX_GROUPS && c.ngroups == CF_MAX_GROUPS,
	    "--group-add takes at most %d groups", CF_MAX_GROUPS);
	memset(&c, 0, sizeof(c));
	confine_opt(C_PRIV, NULL, &c);
	confine_opt(C_NNP, NULL, &c);
	confine_opt(C_RO, NULL, &c);
	ok(c.flags == (CF_PRIVILEGED | CF_NEW_PRIVS | CF_READ_ONLY),
	    "--privileged, --allow-new-privileges, --read-only set flags");
}

static void
test_valid(void)
{
	static const char *const names_ok[] = {
		"web", "a", "A-b_c.d", "0", "9lives", "a..b", "a-",
	};
	static const char *const names_bad[] = {
		"", "-a", ".a", "_a", ".", "..", "a/b", "a b", "a\nb", "a\n",
		"a\tb", "a\x01", "\x7f", "a\x7f", "caf\xc3\xa9", "\xc3\xa9",
		"a:b", "a@b", "a*", "a\\b",
	};
	static const char *const ids_ok[] = {
		"0123456789abcdef", "ffffffffffffffff", "0000000000000000",
	};
	static const char *const ids_bad[] = {
		"", "0123456789abcde", "0123456789abcdef0",
		"0123456789ABCDEF", "0123456789abcdeF", "0123456789abcdeg",
		"0123456789abcde ", " 123456789abcdef", "../../../../../x",
	};
	static const char *const ifnames_ok[] = {
		"pelagos0", "a", "...", "vh-0123abcd", "eth0.100", "br-x_y",
	};
	static const char *const ifnames_bad[] = {
		"", ".", "..", "a/b", "/", "a:b", "a b", " a", "a\n", "a\t",
		"a\x7f", "\xc3\xa9", "0123456789abcdef",
		"0123456789abcdefghij",
	};
	char s[80];
	size_t i;

	for (i = 0; i < sizeof(names_ok) / sizeof(names_ok[0]); i++)
		check_valid(valid_name, "valid_name",
		    names_ok[i], 1);
	for (i = 0; i < sizeof(names_bad) / sizeof(names_bad[0]); i++)
		check_valid(valid_name, "valid_name",
		    names_bad[i], 0);
	memset(s, 'a', sizeof(s));
	s[NAME_MAX_LEN] = '\0';
	check_valid(valid_name, "valid_name", s, 1);
	s[NAME_MAX_LEN] = 'a';
	s[NAME_MAX_LEN + 1] = '\0';
	check_valid(valid_name, "valid_name", s, 0);

	for (i = 0; i < sizeof(names_ok) / sizeof(names_ok[0]); i++)
		check_valid(valid_hostname, "valid_hostname",
		    names_ok[i], 1);
	for (i = 0; i < sizeof(names_bad) / sizeof(names_bad[0]); i++)
		check_valid(valid_hostname, "valid_hostname",
		    names_bad[i], 0);
	memset(s, 'h', sizeof(s));
	s[HOST_MAX_LEN] = '\0';
	check_valid(valid_hostname, "valid_hostname", s, 1);
	s[HOST_MAX_LEN] = 'h';
	s[HOST_MAX_LEN + 1] = '\0';
	check_valid(valid_hostname, "valid_hostname", s, 0);

	for (i = 0; i < sizeof(ids_ok) / sizeof(ids_ok[0]); i++)
		check_valid(valid_id, "valid_id", ids_ok[i], 1);
	for (i = 0; i < sizeof(ids_bad) / sizeof(ids_bad[0]); i++)
		check_valid(valid_id, "valid_id", ids_bad[i], 0);

	for (i = 0; i < sizeof(ifnames_ok) / sizeof(ifnames_ok[0]); i++)
		check_valid(valid_ifname, "valid_ifname",
		    ifnames_ok[i], 1);
	for (i = 0; i < sizeof(ifnames_bad) / sizeof(ifnames_bad[0]); i++)
		check_valid(valid_ifname, "valid_ifname",
		    ifnames_bad[i], 0);
	memset(s, 'i', sizeof(s));
	s[IFNAME_LEN - 1] = '\0';
	check_valid(valid_ifname, "valid_ifname", s, 1);
	s[IFNAME_LEN - 1] = 'i';
	s[IFNAME_LEN] = '\0';
	check_valid(valid_ifname, "valid_ifname", s, 0);
}

/* ---- netlink requests ---- */

/* Expected bytes are written out from the rtnetlink wire format (x86 and
 * every other little-endian host): nlmsghdr is len u32, type u16,
 * flags u16, seq u32, pid u32.  Flags: REQUEST 0x1, ACK 0x4, EXCL 0x200,
 * CREATE 0x400.  nl_nest() marks every nest with NLA_F_NESTED (0x8000). */

/* RTM_NEWLINK (16), REQUEST|ACK|CREATE|EXCL, seq 100; ifinfomsg up/up;
 * IFLA_IFNAME (3) "br0"; IFLA_ADDRESS (1) 02:11:22:33:44:55 (len 10, two
 * pad bytes); IFLA_LINKINFO (18) { IFLA_INFO_KIND (1) "bridge" }. */
static const unsigned char exp_newbridge[] = {
	0x44, 0x00, 0x00, 0x00, 0x10, 0x00, 0x05, 0x06,
	0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x08, 0x00, 0x03, 0x00, 'b', 'r', '0', 0x00,
	0x0a, 0x00, 0x01, 0x00, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x00,
	0x10, 0x00, 0x12, 0x80,
	0x0b, 0x00, 0x01, 0x00, 'b', 'r', 'i', 'd', 'g', 'e', 0x00, 0x00,
};

/* RTM_NEWLINK, REQUEST|ACK; ifinfomsg up/up; IFLA_IFNAME "lo" (len 7,
 * one pad byte). */
static const unsigned char exp_linkup[] = {
	0x28, 0x00, 0x00, 0x00, 0x10, 0x00, 0x05, 0x00,
	0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x07, 0x00, 0x03, 0x00, 'l', 'o', 0x00, 0x00,
};

/* RTM_NEWADDR (20), REQUEST|ACK|CREATE|EXCL; ifaddrmsg AF_INET (2) /24,
 * flags 0, scope universe (0), index 2; IFA_LOCAL (2) and IFA_ADDRESS (1)
 * 10.0.0.2 in network order. */
static const unsigned char exp_newaddr[] = {
	0x28, 0x00, 0x00, 0x00, 0x14, 0x00, 0x05, 0x06,
	0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x18, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
	0x08, 0x00, 0x02, 0x00, 0x0a, 0x00, 0x00, 0x02,
	0x08, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x00, 0x02,
};

/* RTM_NEWROUTE (24), REQUEST|ACK|CREATE|EXCL; rtmsg AF_INET, dst_len 0,
 * src_len 0, tos 0, table main (254), protocol boot (3), scope universe
 * (0), type unicast (1), flags 0; RTA_GATEWAY (5) 10.0.0.1. */
static const unsigned char exp_defroute[] = {
	0x24, 0x00, 0x00, 0x00, 0x18, 0x00, 0x05, 0x06,
	0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x00, 0x00, 0x00, 0xfe, 0x03, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00,
	0x08, 0x00, 0x05, 0x00, 0x0a, 0x00, 0x00, 0x01,
};

/* RTM_DELLINK (17), REQUEST|ACK; zero ifinfomsg; IFLA_IFNAME
 * "vh-1234abcd" (11 + NUL = 12 bytes, len 16, no padding). */
static const unsigned char exp_dellink[] = {
	0x30, 0x00, 0x00, 0x00, 0x11, 0x00, 0x05, 0x00,
	0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x10, 0x00, 0x03, 0x00, 'v', 'h', '-', '1', '2', '3', '4', 'a',
	'b', 'c', 'd', 0x00,
};

/* RTM_GETLINK (18), REQUEST|ACK; zero ifinfomsg; IFLA_IFNAME "eth0";
 * IFLA_EXT_MASK (29) RTEXT_FILTER_SKIP_STATS (8). */
static const unsigned char exp_getlink[] = {
	0x34, 0x00, 0x00, 0x00, 0x12, 0x00, 0x05, 0x00,
	0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x09, 0x00, 0x03, 0x00, 'e', 't', 'h', '0', 0x00, 0x00, 0x00, 0x00,
	0x08, 0x00, 0x1d, 0x00, 0x08, 0x00, 0x00, 0x00,
};

/* RTM_NEWLINK, REQUEST|ACK|CREATE|EXCL; ifinfomsg up/up; IFLA_IFNAME
 * "vh-1234abcd"; IFLA_MASTER (10) 7; IFLA_LINKINFO (18, nested, len 60) {
 * IFLA_INFO_KIND "veth"; IFLA_INFO_DATA (2, nested, len 44) {
 * VETH_INFO_PEER (1, nested, len 40) { zero ifinfomsg; IFLA_IFNAME
 * "eth0"; IFLA_NET_NS_FD (28) 5 } } }. */
static const unsigned char exp_newveth[] = {
	0x74, 0x00, 0x00, 0x00, 0x10, 0x00, 0x05, 0x06,
	0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x10, 0x00, 0x03, 0x00, 'v', 'h', '-', '1', '2', '3', '4', 'a',
	'b', 'c', 'd', 0x00,
	0x08, 0x00, 0x0a, 0x00, 0x07, 0x00, 0x00, 0x00,
	0x3c, 0x00, 0x12, 0x80,
	0x09, 0x00, 0x01, 0x00, 'v', 'e', 't', 'h', 0x00, 0x00, 0x00, 0x00,
	0x2c, 0x00, 0x02, 0x80,
	0x28, 0x00, 0x01, 0x80,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x09, 0x00, 0x03, 0x00, 'e', 't', 'h', '0', 0x00, 0x00, 0x00, 0x00,
	0x08, 0x00, 0x1c, 0x00, 0x05, 0x00, 0x00, 0x00,
};

/* RTM_NEWADDR, REQUEST|ACK|CREATE|EXCL; ifaddrmsg AF_INET6 (10) /64,
 * flags IFA_F_NODAD (2), scope universe, index 2; IFA_ADDRESS fd00::2. */
static const unsigned char exp_newaddr6[] = {
	0x2c, 0x00, 0x00, 0x00, 0x14, 0x00, 0x05, 0x06,
	0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x0a, 0x40, 0x02, 0x00, 0x02, 0x00, 0x00, 0x00,
	0x14, 0x00, 0x01, 0x00, 0xfd, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x02,
};

/* RTM_NEWROUTE, REQUEST|ACK|CREATE|EXCL; rtmsg AF_INET6, table main,
 * protocol boot, scope universe, type unicast; RTA_GATEWAY (5) fd00::1;
 * RTA_OIF (4) 7. */
static const unsigned char exp_defroute6[] = {
	0x38, 0x00, 0x00, 0x00, 0x18, 0x00, 0x05, 0x06,
	0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x0a, 0x00, 0x00, 0x00, 0xfe, 0x03, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00,
	0x14, 0x00, 0x05, 0x00, 0xfd, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x01,
	0x08, 0x00, 0x04, 0x00, 0x07, 0x00, 0x00, 0x00,
};

/* exp_newveth with IFLA_MTU 1400 after IFLA_MASTER, and after the peer's
 * IFLA_NET_NS_FD its IFLA_MTU 1400 and IFLA_ADDRESS (1)
 * 02:50:0a:00:00:02 (len 10, two pad bytes). */
static const unsigned char exp_newveth_mtu[] = {
	0x90, 0x00, 0x00, 0x00, 0x10, 0x00, 0x05, 0x06,
	0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x10, 0x00, 0x03, 0x00, 'v', 'h', '-', '1', '2', '3', '4', 'a',
	'b', 'c', 'd', 0x00,
	0x08, 0x00, 0x0a, 0x00, 0x07, 0x00, 0x00, 0x00,
	0x08, 0x00, 0x04, 0x00, 0x78, 0x05, 0x00, 0x00,
	0x50, 0x00, 0x12, 0x80,
	0x09, 0x00, 0x01, 0x00, 'v', 'e', 't', 'h', 0x00, 0x00, 0x00, 0x00,
	0x40, 0x00, 0x02, 0x80,
	0x3c, 0x00, 0x01, 0x80,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x09, 0x00, 0x03, 0x00, 'e', 't', 'h', '1', 0x00, 0x00, 0x00, 0x00,
	0x08, 0x00, 0x1c, 0x00, 0x05, 0x00, 0x00, 0x00,
	0x08, 0x00, 0x04, 0x00, 0x78, 0x05, 0x00, 0x00,
	0x0a, 0x00, 0x01, 0x00, 0x02, 0x50, 0x0a, 0x00, 0x00, 0x02, 0x00, 0x00,
};

/* exp_linkup at seq 100, then exp_dellink at seq 101. */
static const unsigned char exp_batch[] = {
	0x28, 0x00, 0x00, 0x00, 0x10, 0x00, 0x05, 0x00,
	0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x07, 0x00, 0x03, 0x00, 'l', 'o', 0x00, 0x00,
	0x30, 0x00, 0x00, 0x00, 0x11, 0x00, 0x05, 0x00,
	0x65, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x10, 0x00, 0x03, 0x00, 'v', 'h', '-', '1', '2', '3', '4', 'a',
	'b', 'c', 'd', 0x00,
};

static int
little_endian(void)
{
	uint16_t one = 1;

	return *(unsigned char *)&one == 1;
}

static void
expect_req(const struct nl_buf *b, const unsigned char *want, size_t wlen,
	const char *what)
{
	char desc[128];

	snprintf(desc, sizeof(desc), "%s: bytes as on the wire", what);
	ok_mem(b->data, b->len, want, wlen, desc);
	set_detail("nmsg %u, err %d", b->nmsg, b->err);
	ok(b->nmsg == 1 && b->err == 0 && b->seq == 100,
	    "%s: one message, no error", what);
}

/* Garbage left in the buffer must not leak into padding or headers. */
static void
dirty_init(struct nl_buf *b)
{
	memset(b, 0xa5, sizeof(*b));
	nl_buf_init(b, 100);
}

/* A real rtnetlink socket (no privilege needed to read a link): each
 * batch gets the socket's next sequence numbers, and a reply left over
 * from an earlier exchange, with a sequence number already used, is
 * never taken for the answer. */
static void
test_netlink_socket(void)
{
	struct nl_sock s = NL_SOCK_INIT;
	struct nl_link l;
	struct nl_buf b;
	uint32_t first;

	if (!ok_sys(nl_open(&s, NETLINK_ROUTE) == 0, "nl_open"))
		return;
	ok(s.portid != 0, "nl_open learns the socket's port id");
	first = s.seq;
	ok_sys(nl_getlink(&s, "lo", &l) == 0 && l.index == 1,
	    "nl_getlink lo");
	ok_int(s.seq, first + 1, "a one-message batch takes one sequence "
	    "number");
	/* A request for a link that does not exist, sent by hand with the
	 * number nl_getlink just used, and its error ack left unread. */
	nl_buf_init(&b, first);
	nl_req_getlink(&b, "nosuch-link0");
	ok(send(s.fd, b.data, b.len, 0) == (ssize_t)b.len,
	    "a stale request is sent");
	ok_sys(nl_getlink(&s, "lo", &l) == 0 && l.index == 1,
	    "the next nl_getlink ignores the stale ENODEV reply");
	ok_int(s.seq, first + 2, "sequence numbers keep increasing");
	nl_buf_init(&b, 1);
	nl_req_getlink(&b, "lo");
	nl_req_getlink(&b, "nosuch-link0");
	errno = 0;
	ok(nl_talk(&s, &b) == -1 && errno == ENODEV && b.seq == first + 2 &&
	    s.seq == first + 4, "a two-message batch is renumbered from the "
	    "socket, and its failure reported");
	nl_close(&s);
	ok(s.fd == -1, "nl_close");
}

static void
test_netlink(void)
{
	struct {
		struct nl_buf b;
		unsigned char guard[256];
	} g;
	struct nl_buf b;
	static const unsigned char mac[6] = { 2, 0x11, 0x22, 0x33, 0x44, 0x55 };
	unsigned char m1[6], m2[6], m3[6];
	unsigned char zero[NL_BUFSZ];
	size_t i, before;
	int guard_ok, msgs;

	if (!little_endian()) {
		set_detail("expected bytes are little-endian");
		ok(0, "host is little-endian");
		return;
	}
	dirty_init(&b);
	ok(b.len == 0 && b.nmsg == 0 && b.err == 0 && b.seq == 100 &&
	    b.data[0] == 0, "nl_buf_init clears the buffer");

	dirty_init(&b);
	nl_req_newbridge(&b, "br0", mac);
	expect_req(&b, exp_newbridge, sizeof(exp_newbridge),
	    "nl_req_newbridge(br0, 02:11:22:33:44:55)");
	net_bridge_mac("pelagos0", m1);
	net_bridge_mac("pelagos0", m2);
	net_bridge_mac("pelagos1", m3);
	ok(!memcmp(m1, m2, 6) && memcmp(m1, m3, 6) && (m1[0] & 3) == 2 &&
	    (m3[0] & 3) == 2, "net_bridge_mac: fixed per name, differs "
	    "between names, locally administered unicast");
	{
		static const unsigned char a6[16] = { 0xfd, [15] = 2 },
		    g6[16] = { 0xfd, [15] = 1 },
		    mac[6] = { 0x02, 0x50, 0x0a, 0, 0, 2 };

		dirty_init(&b);
		nl_req_newaddr6(&b, 2, a6, 64);
		expect_req(&b, exp_newaddr6, sizeof(exp_newaddr6),
		    "nl_req_newaddr6(2, fd00::2/64)");
		dirty_init(&b);
		nl_req_defroute6(&b, g6, 7);
		expect_req(&b, exp_defroute6, sizeof(exp_defroute6),
		    "nl_req_defroute6(fd00::1, 7)");
		dirty_init(&b);
		nl_req_newveth(&b, "vh-1234abcd", 7, "eth1", 5, 1400, mac);
		expect_req(&b, exp_newveth_mtu, sizeof(exp_newveth_mtu),
		    "nl_req_newveth(vh-1234abcd, 7, eth1, 5, 1400, mac)");
	}
	dirty_init(&b);
	nl_req_linkup(&b, "lo");
	expect_req(&b, exp_linkup, sizeof(exp_linkup), "nl_req_linkup(lo)");
	dirty_init(&b);
	nl_req_newaddr(&b, 2, IP4(10, 0, 0, 2), 24);
	expect_req(&b, exp_newaddr, sizeof(exp_newaddr),
	    "nl_req_newaddr(2, 10.0.0.2/24)");
	dirty_init(&b);
	nl_req_defroute(&b, IP4(10, 0, 0, 1));
	expect_req(&b, exp_defroute, sizeof(exp_defroute),
	    "nl_req_defroute(10.0.0.1)");
	dirty_init(&b);
	nl_req_dellink(&b, "vh-1234abcd");
	expect_req(&b, exp_dellink, sizeof(exp_dellink),
	    "nl_req_dellink(vh-1234abcd)");
	dirty_init(&b);
	nl_req_getlink(&b, "eth0");
	expect_req(&b, exp_getlink, sizeof(exp_getlink),
	    "nl_req_getlink(eth0)");
	dirty_init(&b);
	nl_req_newveth(&b, "vh-1234abcd", 7, "eth0", 5, 0, NULL);
	expect_req(&b, exp_newveth, sizeof(exp_newveth),
	    "nl_req_newveth(vh-1234abcd, 7, eth0, 5)");

	dirty_init(&b);
	nl_req_linkup(&b, "lo");
	nl_req_dellink(&b, "vh-1234abcd");
	ok_mem(b.data, b.len, exp_batch, sizeof(exp_batch),
	    "batch of linkup and dellink: bytes, seq 100 then 101");
	set_detail("nmsg %u, seq %u, err %d", b.nmsg, b.seq, b.err);
	ok(b.nmsg == 2 && b.seq == 100 && b.err == 0,
	    "batch of two: nmsg 2, first seq 100");

	/* Overflow: fill with messages until one does not fit. */
	memset(&g, 0x5a, sizeof(g));
	nl_buf_init(&g.b, 100);
	msgs = 0;
	while (!g.b.err && msgs < 1000) {
		nl_req_newveth(&g.b, "vh-1234abcd", 7, "eth0", 5, 0, NULL);
		msgs++;
	}
	set_detail("err %d after %d messages", g.b.err, msgs);
	ok(g.b.err == ENOBUFS, "appending past NL_BUFSZ sets ENOBUFS");
	set_detail("len %zu", g.b.len);
	ok(g.b.len <= NL_BUFSZ, "the length never exceeds NL_BUFSZ");
	guard_ok = 1;
	for (i = 0; i < sizeof(g.guard); i++)
		if (g.guard[i] != 0x5a)
			guard_ok = 0;
	ok(guard_ok, "nothing is written past the nl_buf");
	/* NL_BUFSZ / 116 whole messages fit; the next is cut short. */
	set_detail("nmsg %u", g.b.nmsg);
	ok(g.b.nmsg == NL_BUFSZ / sizeof(exp_newveth) + 1,
	    "messages that fit are counted, plus the one cut short");
	/* Message 5 differs from exp_newveth only in its sequence number. */
	ok_mem(g.b.data + sizeof(exp_newveth) * 5 + 12,
	    sizeof(exp_newveth) - 12, exp_newveth + 12,
	    sizeof(exp_newveth) - 12,
	    "messages before the overflow are intact");
	set_detail("seq byte 0x%02x", g.b.data[sizeof(exp_newveth) * 5 + 8]);
	ok(g.b.data[sizeof(exp_newveth) * 5 + 8] == 105,
	    "the sixth message has sequence number 105");
	before = g.b.len;
	nl_put_u32(&g.b, 3, 1);
	nl_req_linkup(&g.b, "lo");
	set_detail("len %zu -> %zu, err %d", before, g.b.len, g.b.err);
	ok(g.b.len == before && g.b.err == ENOBUFS,
	    "ENOBUFS is sticky: later appends change nothing");

	memset(zero, 0, sizeof(zero));
	memset(&g, 0x5a, sizeof(g));
	nl_buf_init(&g.b, 100);
	nl_req_linkup(&g.b, "lo");
	before = g.b.len;
	nl_put(&g.b, 1, zero, NL_BUFSZ);
	set_detail("len %zu -> %zu, err %d", before, g.b.len, g.b.err);
	ok(g.b.err == ENOBUFS && g.b.len == before,
	    "one attribute larger than the buffer is refused whole");
	ok_mem(g.b.data, g.b.len, exp_linkup, sizeof(exp_linkup),
	    "the message before a refused attribute is unchanged");

	/* An attribute that exactly fills the buffer fits. */
	nl_buf_init(&g.b, 100);
	nl_req_linkup(&g.b, "lo");
	nl_put(&g.b, 1, zero, NL_BUFSZ - sizeof(exp_linkup) - 4);
	set_detail("len %zu, err %d", g.b.len, g.b.err);
	ok(g.b.err == 0 && g.b.len == NL_BUFSZ,
	    "an attribute filling the buffer exactly fits");
	nl_put(&g.b, 1, NULL, 0);
	set_detail("len %zu, err %d", g.b.len, g.b.err);
	ok(g.b.err == ENOBUFS && g.b.len == NL_BUFSZ,
	    "an empty attribute after a full buffer is ENOBUFS");
	guard_ok = 1;
	for (i = 0; i < sizeof(g.guard); i++)
		if (g.guard[i] != 0x5a)
			guard_ok = 0;
	ok(guard_ok, "a full buffer writes nothing past the nl_buf");

	nl_buf_init(&g.b, 100);
	g.b.len = NL_BUFSZ - 8;
	nl_req_linkup(&g.b, "lo");
	set_detail("len %zu, err %d, nmsg %u", g.b.len, g.b.err, g.b.nmsg);
	ok(g.b.err == ENOBUFS && g.b.len == NL_BUFSZ - 8 && g.b.nmsg == 0,
	    "a message header that does not fit is refused");
}

/* ---- --publish and --egress words ---- */

static void
test_fwspec(void)
{
	static const struct {
		const char *w;
		uint32_t ip;
		unsigned int h, p, proto, n;
	} ports[] = {
		{ "40000:80", 0, 40000, 80, 6, 1 },
		{ "40000:80/udp", 0, 40000, 80, 17, 1 },
		{ "10.2.0.1:1:7/tcp", IP4(10, 2, 0, 1), 1, 7, 6, 1 },
		{ "65535:65535", 0, 65535, 65535, 6, 1 },
		{ "40000-40002:80-82", 0, 40000, 80, 6, 3 },
		{ "10.2.0.1:1-2:7-8/udp", IP4(10, 2, 0, 1), 1, 7, 17, 2 },
	};
	static const char *const bad_ports[] = {
		"", "80", ":80", "80:", "0:80", "80:0", "65536:80", "1-3:1",
		"3-1:3-1", "1-3:1-4", "1-:1-", "1-3-5:1-3-5", "0-1:0-1",
		"080:80", "80:80/sctp", "80:80/", "1.2.3:80:80", "0.0.0.0:80:80",
		"10.0.0.1:80", "10.0.0.1:80:80:80", "a:b", "80 :80",
		"80:80/tcp/udp",
	};
	static const struct {
		const char *w;
		uint32_t net;
		unsigned int prefix, proto, lo, hi;
	} egress[] = {
		{ "1.1.1.1", IP4(1, 1, 1, 1), 32, 0, 0, 0 },
		{ "10.0.0.0/8", IP4(10, 0, 0, 0), 8, 0, 0, 0 },
		{ "0.0.0.0/0", 0, 0, 0, 0, 0 },
		{ "1.1.1.1:53", IP4(1, 1, 1, 1), 32, 0, 53, 53 },
		{ "1.1.1.1/udp", IP4(1, 1, 1, 1), 32, 17, 0, 65535 },
		{ "10.0.0.0/8:8000-8100/tcp", IP4(10, 0, 0, 0), 8, 6, 8000,
		    8100 },
	};
	static const char *const bad_egress[] = {
		"", "10.0.0.1/8", "1.1.1.1/33", "1.1.1.1/", "1.1.1.1:0",
		"1.1.1.1:", "1.1.1.1:5-3", "1.1.1.1/8:53", "1.1.1.1:53/sctp",
		"1.1.1.1:53:54", "1.1.1", "a.b.c.d", "1.1.1.1/08", "1.1.1.1/:53",
	};
	struct fw_port p, pl[FW_MAX_PORTS];
	struct fw_egress g, gl[FW_MAX_EGRESS];
	char list[FWSPEC_LIST_MAX];
	size_t i, n;

	for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		set_detail("ip %x port %u:%u proto %u", p.ip, p.hport,
		    p.pport, p.proto);
		ok(fwspec_parse(ports[i].w, &p, 0) == 0 && p.ip == ports[i].ip &&
		    p.hport == ports[i].h && p.pport == ports[i].p &&
		    p.proto == ports[i].proto && p.n == ports[i].n,
		    "--publish %s", ports[i].w);
	}
	for (i = 0; i < sizeof(bad_ports) / sizeof(bad_ports[0]); i++)
		ok(fwspec_parse(bad_ports[i], &p, 0) == -1 && errno == EINVAL,
		    "--publish '%s' is refused", bad_ports[i]);
	for (i = 0; i < sizeof(egress) / sizeof(egress[0]); i++)
		ok(fwspec_parse(egress[i].w, &g, 1) == 0 &&
		    g.net == egress[i].net && g.prefix == egress[i].prefix &&
		    g.proto == egress[i].proto && g.lo == egress[i].lo &&
		    g.hi == egress[i].hi, "--egress %s", egress[i].w);
	for (i = 0; i < sizeof(bad_egress) / sizeof(bad_egress[0]); i++)
		ok(fwspec_parse(bad_egress[i], &g, 1) == -1 && errno == EINVAL,
		    "--egress '%s' is refused", bad_egress[i]);
	ok(fwspec_list("", pl, &n, 0) == 0 && n == 0, "an empty list");
	ok(fwspec_list("1:1,2:3/udp", pl, &n, 0) == 0 && n == 2 &&
	    pl[1].pport == 3 && pl[1].proto == 17, "a list of two --publish");
	ok(fwspec_list("10.0.0.0/8,1.1.1.1", gl, &n, 1) == 0 && n == 2 &&
	    gl[1].prefix == 32, "a list of two --egress");
	ok(fwspec_list("1:1,", pl, &n, 0) == -1, "a trailing comma");
	ok(fwspec_list("40000-40010:1-11,40010:1", pl, &n, 0) == -1,
	    "a port in two --publish");
	ok(fwspec_list("40000:1,40000:1/udp,10.0.0.1:40000:1", pl, &n, 0) ==
	    0 && n == 3, "one port of TCP, of UDP and of one address");
	ok(fwspec_list("1-64:1-64", pl, &n, 0) == 0 && pl[0].n == 64,
	    "%d ports in a range", FW_MAX_RANGE);
	ok(fwspec_list("1-64:1-64,100:1", pl, &n, 0) == -1,
	    "one published port too many");
	for (i = 0, list[0] = '\0'; i < FW_MAX_PORTS; i++)
		util_fmt(list + strlen(list), sizeof(list) - strlen(list),
		    "%s%zu:1", i ? "," : "", i + 1);
	ok(fwspec_list(list, pl, &n, 0) == 0 && n == FW_MAX_PORTS,
	    "%d --publish", FW_MAX_PORTS);
	strcat(list, ",100:1");
	ok(fwspec_list(list, pl, &n, 0) == -1, "one --publish too many");
	for (i = 0, list[0] = '\0'; i < FW_MAX_EGRESS; i++)
		strcat(list, i ? ",1.1.1.1" : "1.1.1.1");
	ok(fwspec_list(list, gl, &n, 1) == 0 && n == FW_MAX_EGRESS,
	    "%d --egress", FW_MAX_EGRESS);
	strcat(list, ",1.1.1.1");
	ok(fwspec_list(list, gl, &n, 1) == -1, "one --egress too many");
}

/* ---- nf_tables requests against nft's (tests/nft-ref.h) ---- */

#include "nft-ref.h"

/* A message as compared: sequence number and port id zeroed, NLM_F_ACK
 * cleared (nft asks for no acks), attribute padding zeroed, nft's
 * NFTA_SET_ELEM_LIST_SET_ID (the set's handle) and the sets' userdata
 * (display hints, which pelagos gives the guard set only) dropped, and
 * the table named first in a get (nft names the set first there; the
 * kernel finds attributes by type). */
static size_t
nft_norm(unsigned char *m, size_t len)
{
	unsigned char first[64];
	uint16_t type, flags, alen, blen;
	size_t o = 20, w = 20;
	int drop = 4;	/* NFTA_SET_ELEM_LIST_SET_ID */

	memset(m + 8, 0, 8);
	memcpy(&type, m + 4, 2);
	memcpy(&flags, m + 6, 2);
	/* The padding of the top-level attributes (nft leaves it as it
	 * was in its buffer). */
	for (o = 20; o + 4 <= len; o += (alen + 3) & ~3u) {
		memcpy(&alen, m + o, 2);
		if (alen < 4 || o + alen > len)
			break;
		memset(m + o + alen, 0, ((alen + 3) & ~3u) - alen);
	}
	o = 20;
	memcpy(&alen, m + 20, 2);
	alen = (uint16_t)((alen + 3) & ~3);
	if (type == (10 << 8 | 13) && m[22] == 2 && alen <= sizeof(first) &&
	    24u + alen <= len && m[20 + alen + 2] == 1) {
		memcpy(&blen, m + 20 + alen, 2);
		blen = (uint16_t)((blen + 3) & ~3);
		memcpy(first, m + 20, alen);
		memmove(m + 20, m + 20 + alen, blen);
		memcpy(m + 20 + blen, first, alen);
	}
	flags &= (uint16_t)~NLM_F_ACK;
	memcpy(m + 6, &flags, 2);
	if (type == (10 << 8 | 9))
		drop = 13;	/* NFTA_SET_USERDATA */
	else if (type != (10 << 8 | 12) && type != (10 << 8 | 14))
		return len;
	while (o + 4 <= len) {
		memcpy(&alen, m + o, 2);
		alen = (uint16_t)((alen + 3) & ~3);
		if (!alen)
			break;
		if ((m[o + 2] | m[o + 3] << 8) != drop) {
			memmove(m + w, m + o, alen);
			w += alen;
		}
		o += alen;
	}
	len = w;
	memcpy(m, &(uint32_t){ (uint32_t)len }, 4);
	return len;
}

static void
expect_nft(const struct nl_buf *b, const char *ref, const char *what)
{
	static unsigned char want[NL_BUFSZ], mine[NL_BUFSZ];
	size_t wlen = 0, wo = 0, mo = 0, k = 0, ml, wl;
	int same = 1;
	char desc[128];

	for (; ref[0] && ref[1] && wlen < sizeof(want); ref += 2) {
		unsigned int v;

		sscanf(ref, "%2x", &v);
		want[wlen++] = (unsigned char)v;
	}
	memcpy(mine, b->data, b->len);
	while (same && wo < wlen && mo < b->len) {
		uint32_t lw, lm;

		memcpy(&lw, want + wo, 4);
		memcpy(&lm, mine + mo, 4);
		wl = nft_norm(want + wo, lw);
		ml = nft_norm(mine + mo, lm);
		snprintf(desc, sizeof(desc), "%s: message %zu as nft sends it",
		    what, k);
		same = ok_mem(mine + mo, ml, want + wo, wl, desc);
		mo += (lm + 3) & ~3u;
		wo += (lw + 3) & ~3u;
		k++;
	}
	set_detail("%zu of %zu bytes compared", mo, b->len);
	ok(same && mo == b->len && wo >= wlen && !b->err,
	    "%s: the whole batch, %zu messages", what, k);
}

/* The batch without its n-th rule that looks set up (which nft cannot
 * say, see tests/nft-ref.sh). */
static void
nft_drop_rule(struct nl_buf *b, const char *set, int n)
{
	size_t off, len;
	uint32_t l;
	uint16_t type;

	for (off = 0; off + 16 <= b->len; off += (l + 3) & ~3u) {
		memcpy(&l, b->data + off, 4);
		memcpy(&type, b->data + off + 4, 2);
		if (type != (10 << 8 | 6) ||
		    !memmem(b->data + off, l, set, strlen(set) + 1) || n--)
			continue;
		len = (l + 3) & ~3u;
		memmove(b->data + off, b->data + off + len, b->len - off - len);
		b->len -= len;
		return;
	}
}

/* The elements in the one message of the batch that names set. */
static int
nft_elems(const struct nl_buf *b, const char *set)
{
	size_t off, o, end;
	uint32_t l;
	uint16_t alen, type;
	int n = -1;

	for (off = 0; off + 20 <= b->len; off += (l + 3) & ~3u) {
		memcpy(&l, b->data + off, 4);
		if (!memmem(b->data + off, l, set, strlen(set) + 1))
			continue;
		for (o = off + 20; o + 4 <= off + l; o += (alen + 3) & ~3u) {
			memcpy(&alen, b->data + o, 2);
			memcpy(&type, b->data + o + 2, 2);
			if (alen < 4)
				break;
			if ((type & 0x3fff) != 3)	/* NFTA_SET_ELEM_LIST_ELEMENTS */
				continue;
			for (n = 0, end = o + alen, o += 4; o + 4 <= end;
			    o += (alen + 3) & ~3u, n++)
				memcpy(&alen, b->data + o, 2);
			return n;
		}
	}
	return n;
}

static void
test_nft(void)
{
	static struct nl_buf b;
	static const unsigned char mac[6] = { 2, 0, 0, 0, 0, 1 };
	struct fw_port ports[FW_MAX_PORTS];
	struct fw_egress egress[FW_MAX_EGRESS];
	static const unsigned char ip6[16] = { 0xfd, [15] = 2 };
	struct nft_pod p = { "0123456789abcdef", "vh-01234567", "pelagos0",
		IP4(172, 19, 0, 2), mac, 1, 1, ports, 0, egress, 0, ip6 };
	char list[FWSPEC_LIST_MAX];
	int bridge, add;
	size_t i;

	if (!little_endian()) {
		ok(0, "host is little-endian");
		return;
	}
	fwspec_list("10.0.0.1:40000:80,40001:81/udp,40002-40003:82-83/udp",
	    ports, &p.nports, 0);
	fwspec_list("10.0.0.0/8,1.1.1.1,9.9.9.9:53,8.8.0.0/16:8000-8100/tcp",
	    egress, &p.negress, 1);
	for (bridge = 0; bridge < 2; bridge++) {
		nl_buf_init(&b, 0);
		nft_batch(&b, 0);
		nft_req_table(&b, "pelagos", bridge);
		nft_batch(&b, 1);
		if (bridge)
			nft_drop_rule(&b, "src6", 1);
		expect_nft(&b, bridge ? nft_ref_bridge : nft_ref_inet,
		    bridge ? "the bridge table" : "the inet table");
	}
	for (add = 1; add >= 0; add--) {
		nl_buf_init(&b, 0);
		nft_batch(&b, 0);
		nft_req_pod(&b, "pelagos", &p, add, 1);
		nft_batch(&b, 1);
		expect_nft(&b, add ? nft_ref_add : nft_ref_del, add ?
		    "a sandbox's elements added" : "a sandbox's elements deleted");
	}
	nl_buf_init(&b, 0);
	nft_req_pod(&b, "pelagos", &p, -1, 0);
	expect_nft(&b, nft_ref_get, "a sandbox's pods element asked for");
	/* Without the bridge table only the inet elements go. */
	p.guard = 0;
	nl_buf_init(&b, 0);
	nft_req_pod(&b, "pelagos", &p, 1, 1);
	ok_int(b.nmsg, 5, "without anti-spoofing: pods, nat and three ports");
	/* The largest sandbox fits one batch with both tables. */
	p.guard = 1;
	for (i = 0, list[0] = '\0'; i < FW_MAX_PORTS; i++)
		util_fmt(list + strlen(list), sizeof(list) - strlen(list),
		    "%s9.9.9.%zu:%zu-%zu:%zu-%zu", i ? "," : "", i + 1,
		    4 * i + 1000, 4 * i + 1003, 4 * i + 1000, 4 * i + 1003);
	ok(fwspec_list(list, ports, &p.nports, 0) == 0 &&
	    p.nports == FW_MAX_PORTS, "the longest --publish list");
	nl_buf_init(&b, 0);
	nft_batch(&b, 0);
	nft_req_table(&b, "pelagos", 0);
	nft_req_table(&b, "pelagos", 1);
	for (p.negress = 0; p.negress < FW_MAX_EGRESS; p.negress++)
		fwspec_parse("10.0.0.0/8:1-65535", &egress[p.negress], 1);
	nft_req_pod(&b, "pelagos", &p, 1, 1);
	nft_batch(&b, 1);
	set_detail("err %d, len %zu", b.err, b.len);
	ok(!b.err, "both tables and the largest sandbox fit NL_BUFSZ");
	/* A pod port two --publish forward to answers from one element. */
	fwspec_list("1:80,2:80,3-4:80-81/udp,5:81/udp", ports, &p.nports, 0);
	fwspec_list("10.0.0.0/8:53,1.1.1.1/tcp,9.9.9.9", egress, &p.negress, 1);
	nl_buf_init(&b, 0);
	nft_req_pod(&b, "pelagos", &p, 0, 0);
	ok_int(nft_elems(&b, "replies"), 3, "replies: 80/tcp, 80/udp, 81/udp");
	ok_int(nft_elems(&b, "allowports"), 3,
	    "allowports: 53 of TCP and UDP, every TCP port");
	ok_int(nft_elems(&b, "allow"), 1, "allow: the network without ports");
}

/* ---- the root on disk ---- */

static char tmpdir[64];

static void
rm_rf_at(int dfd, const char *name)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlinkat(dfd, name, 0);
		return;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fd >= 0 && (d = fdopendir(fd))) {
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				rm_rf_at(dirfd(d), e->d_name);
		closedir(d);
	} else if (fd >= 0) {
		close(fd);
	}
	unlinkat(dfd, name, AT_REMOVEDIR);
}

static int
file_mode(int dfd, const char *path)
{
	struct stat st;

	if (fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	return (int)(st.st_mode & 07777);
}

static int
exists(int dfd, const char *path)
{
	struct stat st;

	return fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int
write_file(int dfd, const char *path, const char *buf, size_t len)
{
	int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int r;

	if (fd < 0)
		return -1;
	r = write(fd, buf, len) == (ssize_t)len ? 0 : -1;
	close(fd);
	return r;
}

static void
link_target(int dfd, const char *path, char *out, size_t len)
{
	ssize_t n = readlinkat(dfd, path, out, len - 1);

	out[n < 0 ? 0 : n] = '\0';
}

#define ID_A "aaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbb"
#define ID_C "cccccccccccccccc"
#define ID_X "0000000000000001"

static void
test_root_files(int root)
{
	struct sandbox sb, out;
	char buf[4096];
	int n, r, dfd;

	fill_named(&sb);
	strcpy(sb.id, ID_A);
	r = root_claim(root, ID_A);
	ok(r >= 0, "root_claim");
	ok(root_busy(root, ID_A),
	    "a claimed sandbox is busy while its claim is open");
	if (r >= 0)
		close(r);
	ok(!root_busy(root, ID_A),
	    "a sandbox is no longer busy once its claim is closed");
	ok_int(file_mode(root, "sandboxes/" ID_A), 0700,
	    "the sandbox directory has mode 0700");
	errno = 0;
	r = root_claim(root, ID_A);
	set_detail("returned %d, errno %d", r, errno);
	ok(r == -1 && errno == EEXIST, "root_claim twice is EEXIST");
	dfd = root_sbdir(root, ID_A);
	ok_int(state_save(dfd, STATE_FILE, &sb), 0, "state_save");
	ok_int(file_mode(root, "sandboxes/" ID_A "/state"), 0600,
	    "the state file has mode 0600");
	ok(!exists(root, "sandboxes/" ID_A "/state.tmp"),
	    "state_save leaves no state.tmp behind");
	memset(&out, 0x55, sizeof(out));
	if (ok_sys(state_load(dfd, STATE_FILE, &out) == 0, "state_load")) {
		ok(sb_equal(&sb, &out), "state_load gives what was saved");
	}
	sb.pause_pid = 77;
	state_save(dfd, STATE_FILE, &sb);
	ok_sys(sandbox_load(root, ID_A, &out) == 0 && sb_equal(&sb, &out),
	    "state_save replaces an earlier state; sandbox_load reads it");

	/* A state file whose id is not its directory's. */
	mkclaim(root, ID_B);
	n = state_format(&sb, buf, sizeof(buf));
	write_file(root, "sandboxes/" ID_B "/state", buf, (size_t)n);
	errno = 0;
	r = sandbox_load(root, ID_B, &out);
	set_detail("returned %d, errno %d", r, errno);
	ok(r == -1 && errno == EBADMSG,
	    "sandbox_load rejects a state whose id is not its directory's");

	memset(buf + n, '\n', sizeof(buf) - (size_t)n);
	write_file(root, "sandboxes/" ID_A "/state", buf, 2049);
	errno = 0;
	r = state_load(dfd, STATE_FILE, &out);
	set_detail("returned %d, errno %d", r, errno);
	ok(r == -1 && errno == EBADMSG,
	    "state_load rejects an oversized state file");
	write_file(root, "sandboxes/" ID_A "/state", buf, (size_t)n - 1);
	errno = 0;
	r = state_load(dfd, STATE_FILE, &out);
	set_detail("returned %d, errno %d", r, errno);
	ok(r == -1 && errno == EBADMSG,
	    "state_load rejects a truncated state file");
	close(dfd);
	errno = 0;
	r = sandbox_load(root, ID_C, &out);
	set_detail("returned %d, errno %d", r, errno);
	ok(r == -1 && errno == ENOENT, "sandbox_load of a missing sandbox is "
	    "ENOENT");

	/* A directory with state and an interrupted write's state.tmp. */
	write_file(root, "sandboxes/" ID_A "/state.tmp", "x", 1);
	ok_int(root_rmdir(root, ID_A), 0, "root_rmdir");
	ok(!exists(root, "sandboxes/" ID_A),
	    "root_rmdir removes the directory, state and state.tmp");
	ok_int(root_rmdir(root, ID_A), 0,
	    "root_rmdir of a missing sandbox succeeds");
	ok_int(root_rmdir(root, ID_B), 0,
	    "root_rmdir of a second sandbox");
	ok(!exists(root, "sandboxes/" ID_B), "the second sandbox is gone");
}

static char take_owner[ID_LEN + 1];	/* of the last take's taken lease */

/* One interface on subnet (gateway its first host) and, with sub6, on
 * that IPv6 subnet too; ip and ip6 the addresses asked for (0, NULL:
 * the lowest free). */
static int
take(int root, const char *subnet, const char *sub6, uint32_t ip,
	const char *ip6, const char *id, struct pod_if *pi, int *which)
{
	struct ipam_used u;
	struct subnet sn;
	struct subnet6 sn6;
	int r;

	memset(pi, 0, sizeof(*pi));
	strcpy(pi->network, "n");
	ipam_parse_subnet(subnet, &sn);
	pi->gateway = sn.net + 1;
	pi->prefix = sn.prefix;
	pi->ip = ip;
	if (sub6) {
		ipam_parse_subnet6(sub6, &sn6);
		memcpy(pi->gateway6, sn6.net, 16);
		pi->gateway6[15] |= 1;
		pi->prefix6 = sn6.prefix;
		if (ip6)
			ipam_parse_ip6(ip6, NULL, pi->ip6);
	}
	if (ipam_used_read(root, &u) < 0)
		return -1;
	r = ipam_lease_take(root, &u, pi, id, which, take_owner);
	ipam_used_free(&u);
	return r;
}

static void
expect_lease(int root, const char *subnet, uint32_t ip, const char *id,
	uint32_t want, const char *desc)
{
	char path[64], s[16], w[16], target[64];
	struct pod_if pi;
	int which;

	if (take(root, subnet, NULL, ip, NULL, id, &pi, &which) < 0) {
		set_detail("failed: %s", strerror(errno));
		ok(0, "%s", desc);
		return;
	}
	ipam_format_ip(pi.ip, s);
	ipam_format_ip(want, w);
	snprintf(path, sizeof(path), "leases/%s", s);
	link_target(root, path, target, sizeof(target));
	set_detail("got %s -> '%s', want %s -> '%s'", s, target, w, id);
	ok(pi.ip == want && !strcmp(target, id), "%s", desc);
}

static void
expect_take_fails(int root, const char *subnet, const char *sub6,
	uint32_t ip, const char *ip6, int err, int which, const char *desc)
{
	struct pod_if pi;
	int r, w = 0;

	errno = 0;
	r = take(root, subnet, sub6, ip, ip6, ID_C, &pi, &w);
	set_detail("returned %d, errno %d (%s), family %d", r, errno,
	    strerror(errno), w);
	ok(r == -1 && errno == err && w == which, "%s", desc);
}

static void
test_leases(int root)
{
	static const char sub6[] = "fd00:1:2::/64";
	char target[64];
	struct pod_if pi;
	int which;

	write_file(root, "leases/notes", "x", 1);
	write_file(root, "leases/172.19.0", "x", 1);
	expect_lease(root, "172.19.0.0/24", 0, ID_A, IP4(172, 19, 0, 2),
	    "ipam_lease_take gives .2 first");
	expect_lease(root, "172.19.0.0/24", 0, ID_B, IP4(172, 19, 0, 3),
	    "ipam_lease_take gives .3 next");
	ok_int(ipam_lease_free(root, IP4(172, 19, 0, 2), NULL, ID_A), 0,
	    "ipam_lease_free of an own lease");
	ok(!exists(root, "leases/172.19.0.2"), "the freed lease is gone");
	expect_lease(root, "172.19.0.0/24", 0, ID_C, IP4(172, 19, 0, 2),
	    "ipam_lease_take reuses the freed .2");
	ok_int(ipam_lease_free(root, IP4(172, 19, 0, 3), NULL, ID_A), 0,
	    "ipam_lease_free of another sandbox's lease returns 0");
	link_target(root, "leases/172.19.0.3", target, sizeof(target));
	ok_str(target, ID_B, "another sandbox's lease is left in place");
	ok_int(ipam_lease_free(root, IP4(172, 19, 0, 99), NULL, ID_A), 0,
	    "ipam_lease_free of an address never leased returns 0");
	/* Leases of other subnets count only within their own. */
	symlinkat(ID_X, root, "leases/10.0.0.2");
	expect_lease(root, "172.19.0.0/24", 0, ID_X, IP4(172, 19, 0, 4),
	    "a lease outside the subnet does not block .4");
	expect_take_fails(root, "10.0.0.0/30", NULL, 0, NULL, EADDRNOTAVAIL, 4,
	    "ipam_lease_take in a full subnet is EADDRNOTAVAIL (not the file "
	    "system's ENOSPC)");
	ok(exists(root, "leases/notes") && exists(root, "leases/172.19.0"),
	    "entries that are not addresses are left alone");

	/* Addresses asked for; ID_A's directory makes its leases live. */
	mkclaim(root, ID_A);
	expect_lease(root, "172.19.0.0/24", IP4(172, 19, 0, 200), ID_A,
	    IP4(172, 19, 0, 200), "ipam_lease_take gives a free address asked for");
	expect_take_fails(root, "172.19.0.0/24", NULL, IP4(172, 19, 0, 200),
	    NULL, EADDRINUSE, 4, "an address taken is EADDRINUSE");
	ok_str(take_owner, ID_A, "and names the sandbox that holds it");
	expect_take_fails(root, "172.19.0.0/24", NULL, IP4(172, 19, 1, 5),
	    NULL, EDOM, 4, "an address outside the subnet is EDOM");
	expect_take_fails(root, "172.19.0.0/24", NULL, IP4(172, 19, 0, 1),
	    NULL, EPERM, 4, "the gateway is EPERM (reserved)");
	expect_take_fails(root, "172.19.0.0/24", NULL, IP4(172, 19, 0, 0),
	    NULL, EPERM, 4, "the network address is EPERM");
	expect_take_fails(root, "172.19.0.0/24", NULL, IP4(172, 19, 0, 255),
	    NULL, EPERM, 4, "the broadcast address is EPERM");
	/* The stale 10.0.0.2 (ID_X has no directory) is taken over. */
	expect_lease(root, "10.0.0.0/30", IP4(10, 0, 0, 2), ID_B,
	    IP4(10, 0, 0, 2), "a stale lease of an address asked for is "
	    "taken over");

	/* IPv6, with IPv4 in the same call. */
	ok_sys(take(root, "10.9.0.0/24", sub6, 0, NULL, ID_A, &pi,
	    &which) == 0 && pi.ip6[15] == 2 && pi.ip6[0] == 0xfd &&
	    exists(root, "leases/fd00:1:2::2") &&
	    exists(root, "leases/10.9.0.2"),
	    "ipam_lease_take leases ::2 and .2 of a dual-stack interface");
	ok_sys(take(root, "10.9.0.0/24", sub6, 0, "fd00:1:2::9:1", ID_A, &pi,
	    &which) == 0 && exists(root, "leases/fd00:1:2::9:1") &&
	    exists(root, "leases/10.9.0.3"),
	    "an IPv6 address asked for is leased by its text form");
	ok_sys(take(root, "10.9.0.0/24", sub6, 0, NULL, ID_A, &pi,
	    &which) == 0 && pi.ip6[15] == 3,
	    "the next free IPv6 address is ::3");
	expect_take_fails(root, "10.9.0.0/24", sub6, 0, "fd00:1:2::3",
	    EADDRINUSE, 6, "an IPv6 address taken is EADDRINUSE");
	ok(!exists(root, "leases/10.9.0.5"),
	    "a failed IPv6 lease gives back its IPv4 one");
	expect_take_fails(root, "10.9.0.0/24", sub6, 0, "fd00:1:3::2", EDOM,
	    6, "an IPv6 address outside the subnet is EDOM");
	expect_take_fails(root, "10.9.0.0/24", sub6, 0, "fd00:1:2::1",
	    EPERM, 6, "the IPv6 gateway is EPERM");
	ok_int(ipam_lease_free(root, 0, pi.ip6, ID_A), 0,
	    "ipam_lease_free of an IPv6 lease");
	ok(!exists(root, "leases/fd00:1:2::3"), "the IPv6 lease is gone");
	ok_int(ipam_leased(root, &(struct subnet){ IP4(10, 9, 0, 0), 24 }), 3,
	    "ipam_leased counts the IPv4 leases in a subnet");
	root_rmdir(root, ID_A);
	ok_int(ipam_leased(root, &(struct subnet){ IP4(10, 9, 0, 0), 24 }), 0,
	    "ipam_leased counts no lease of sandboxes that do not exist");
}

static void
test_names(int root)
{
	char id[ID_LEN + 1], target[64], owner[ID_LEN + 1];
	int r;

	mkclaim(root, ID_A);
	mkclaim(root, ID_B);
	ok_int(root_name_take(root, "web", ID_A, owner), 0, "root_name_take");
	errno = 0;
	r = root_name_take(root, "web", ID_B, owner);
	set_detail("returned %d, errno %d", r, errno);
	ok(r == -1 && errno == EEXIST && !strcmp(owner, ID_A),
	    "root_name_take of a live sandbox's name is EEXIST, and names "
	    "the owner");
	link_target(root, "names/web", target, sizeof(target));
	ok_str(target, ID_A, "a refused root_name_take keeps the owner");
	memset(id, 0, sizeof(id));
	if (ok_sys(root_name_lookup(root, "web", id) == 0,
	    "root_name_lookup"))
		ok_str(id, ID_A, "root_name_lookup gives the owner's id");

	/* A name left by a create that died: its directory is missing. */
	symlinkat(ID_X, root, "names/db");
	ok_int(root_name_take(root, "db", ID_B, owner), 0,
	    "root_name_take takes over a stale name");
	memset(id, 0, sizeof(id));
	root_name_lookup(root, "db", id);
	ok_str(id, ID_B, "the stale name now points at the new owner");

	ok_int(root_name_free(root, "web", ID_B), 0,
	    "root_name_free by another id returns 0");
	ok(exists(root, "names/web"), "root_name_free by another id keeps "
	    "the name");
	ok_int(root_name_free(root, "web", ID_A), 0,
	    "root_name_free by the owner");
	errno = 0;
	r = root_name_lookup(root, "web", id);
	set_detail("returned %d, errno %d", r, errno);
	ok(r == -1 && errno == ENOENT, "a freed name is not found (ENOENT)");
	ok_int(root_name_take(root, "web", ID_B, owner), 0,
	    "a freed name can be taken again");

	symlinkat("not-an-id", root, "names/junk");
	errno = 0;
	r = root_name_lookup(root, "junk", id);
	set_detail("returned %d, errno %d", r, errno);
	ok(r == -1 && errno == EBADMSG,
	    "root_name_lookup of a link to a non-ID is EBADMSG");
	symlinkat(ID_A "0", root, "names/long");
	errno = 0;
	r = root_name_lookup(root, "long", id);
	set_detail("returned %d, errno %d", r, errno);
	ok(r == -1 && errno == EBADMSG,
	    "root_name_lookup of a link to a 17-character id is EBADMSG");
	root_rmdir(root, ID_A);
	root_rmdir(root, ID_B);
}

static void
test_list(int root)
{
	static const char *const ids[] = {
		"ffffffffffffffff", "0123456789abcdef", ID_B,
		"0000000000000000", ID_A,
	};
	static const char *const sorted[] = {
		"0000000000000000", "0123456789abcdef", ID_A, ID_B,
		"ffffffffffffffff",
	};
	struct root_ids v;
	size_t i;
	int same;

	ok(root_list(root, &v) == 0 && v.n == 0,
	    "root_list of an empty root gives nothing");
	root_ids_free(&v);
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		mkclaim(root, ids[i]);
	mkdirat(root, "sandboxes/tmp", 0700);
	mkdirat(root, "sandboxes/0123456789ABCDEF", 0700);
	mkdirat(root, "sandboxes/0123456789abcde", 0700);
	mkdirat(root, "sandboxes/0123456789abcdef0", 0700);
	mkdirat(root, "sandboxes/.0123456789abcdef", 0700);
	write_file(root, "sandboxes/0123456789abcdeg", "", 0);
	if (!ok_sys(root_list(root, &v) == 0, "root_list"))
		return;
	ok_int((long long)v.n, 5, "root_list ignores entries that are not IDs");
	same = v.n == 5;
	for (i = 0; same && i < v.n; i++)
		if (strcmp(v.id[i], sorted[i])) {
			set_detail("entry %zu is %s, want %s", i, v.id[i],
			    sorted[i]);
			same = 0;
		}
	ok(same, "root_list returns the IDs sorted");
	root_ids_free(&v);
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		root_rmdir(root, ids[i]);
}

/* ---- IPv6 text forms, subnets, ULAs and the IPv6 pick ---- */

static void
test_ip6(void)
{
	static const struct { const char *in, *canon; } good[] = {
		{ "::", "::" }, { "::1", "::1" }, { "1::", "1::" },
		{ "fd00::2", "fd00::2" }, { "FD00:0:0:0:0:0:0:2", "fd00::2" },
		{ "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1" },
		{ "2001:0db8:0000:0000:0000:ff00:0042:8329",
		    "2001:db8::ff00:42:8329" },
		{ "1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0" },
		{ "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0" },
		{ "::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8" },
		{ "1:0:0:2:0:0:0:3", "1:0:0:2::3" },
		{ "1:0:0:2:3:0:0:4", "1::2:3:0:0:4" },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
	};
	static const char *const bad[] = {
		"", ":", ":::", "1:2", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9",
		"1:2:3:4:5:6:7", ":1::", "1::2:", "g::", "::1 ", " ::1",
		"1.2.3.4", "::ffff:1.2.3.4", "fe80::1%eth0", "1:::2",
		"1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "-1::",
	};
	unsigned char a[16], b[16];
	char s[40];
	size_t i;
	int all = 1, r;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		r = ipam_parse_ip6(good[i].in, NULL, a);
		ipam_format_ip6(a, s);
		set_detail("returned %d, formats as '%s'", r, s);
		ok(r == 0 && !strcmp(s, good[i].canon),
		    "ipam_parse_ip6 '%s' formats as '%s'", good[i].in,
		    good[i].canon);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		r = ipam_parse_ip6(bad[i], NULL, a);
		set_detail("returned %d, errno %d", r, errno);
		ok(r == -1 && errno == EINVAL,
		    "ipam_parse_ip6 rejects '%s' with EINVAL", bad[i]);
	}
	lcg_state = 7;
	for (i = 0; i < 2000 && all; i++) {
		size_t k;

		for (k = 0; k < 16; k++)
			a[k] = (unsigned char)(lcg() % 3 ? 0 : lcg());
		ipam_format_ip6(a, s);
		if (ipam_parse_ip6(s, NULL, b) < 0 || memcmp(a, b, 16)) {
			set_detail("'%s' does not parse back", s);
			all = 0;
		}
	}
	ok(all, "ipam_format_ip6/ipam_parse_ip6 round trip 2000 addresses");
	ok(ipam_parse_ip6("fd00::2/64", strchr("fd00::2/64", '/'), a) == 0 &&
	    a[0] == 0xfd && a[15] == 2, "ipam_parse_ip6 stops at end");
}

static void
test_subnet6(void)
{
	static const char *const good[] = {
		"fd00::/64", "fd00:1:2::/48", "fd00:1:2:3:4:5:6:0/112",
		"fd00::100/120", "2001:db8::/56",
	};
	static const char *const bad[] = {
		"fd00::/47", "fd00::/121", "fd00::/0", "fd00::1/64",
		"fd00::/64x", "fd00::", "fd00::/", "/64", "fd00::/064",
		"fd00::1:0/108", "10.0.0.0/24", "fd00::/+64",
	};
	static const unsigned char used[][16] = {
		{ 0xfd, [15] = 2 }, { 0xfd, [15] = 3 }, { 0xfd, [15] = 5 },
		{ 0xfd, [13] = 1, [15] = 4 }, { 0xfe, [15] = 4 },
	};
	struct subnet6 sn, sn2;
	unsigned char ip[16];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok_sys(ipam_parse_subnet6(good[i], &sn) == 0,
		    good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		set_detail("errno %d", errno);
		ok(ipam_parse_subnet6(bad[i], &sn) == -1 && errno == EINVAL,
		    "ipam_parse_subnet6 rejects '%s'", bad[i]);
	}
	ipam_parse_subnet6("fd00::/64", &sn);
	ok(ipam_pick6(&sn, used, 2, ip) == 0 && ip[15] == 4 && ip[0] == 0xfd,
	    "ipam_pick6 gives ::4 after ::2 and ::3 (::1 is the gateway)");
	ok(ipam_pick6(&sn, used + 2, 3, ip) == 0 && ip[15] == 2,
	    "ipam_pick6 ignores ::1:0:4 and another subnet's ::4");
	ipam_parse_subnet6("fd00::/126", &sn);
	ok(ipam_parse_subnet6("fd00::/126", &sn) == -1,
	    "a /126 is refused (fewer than 256 addresses)");
	ipam_parse_subnet6("fd00::/120", &sn);
	ok(ipam_pick6(&sn, used, 3, ip) == 0 && ip[15] == 4,
	    "ipam_pick6 in a /120 gives ::4");
	ipam_ula("web", &sn);
	ipam_ula("web", &sn2);
	ok(sn.prefix == 64 && sn.net[0] == 0xfd && !sn.net[6] && !sn.net[7] &&
	    !memcmp(&sn, &sn2, sizeof(sn)),
	    "ipam_ula: a /64 in fd00::/8, the same for the same name");
	ipam_ula("web2", &sn2);
	ok(memcmp(sn.net, sn2.net, 16) != 0, "ipam_ula differs by name");
	ok(ipam_in6(used[0], used[1], 127) && !ipam_in6(used[0], used[1], 128) &&
	    ipam_in6(used[0], used[4], 6) && !ipam_in6(used[0], used[4], 7),
	    "ipam_in6 compares prefixes bit by bit");
	memset(ip, 0xff, 16);
	ipam_mask6(ip, 65);
	ok(ip[7] == 0xff && ip[8] == 0x80 && !ip[9] && !ip[15],
	    "ipam_mask6 clears the host bits");
}

/* ---- network definitions ---- */

static void
net_def(struct netdef *nd, const char *name, const char *br,
	const char *sub, const char *sub6, int mtu)
{
	memset(nd, 0, sizeof(*nd));
	strcpy(nd->name, name);
	strcpy(nd->bridge, br);
	ipam_parse_subnet(sub, &nd->sn);
	nd->gateway = nd->sn.net + 1;
	if (sub6)
		ipam_parse_subnet6(sub6, &nd->sn6);
	nd->mtu = mtu;
}

static void
expect_clash(int root, const struct netdef *def, const struct netdef *nd,
	const char *word, const char *desc)
{
	struct pelagos_err e;
	int r;

	memset(&e, 0, sizeof(e));
	errno = 0;
	r = netdef_create(root, nd, def, &e);
	set_detail("returned %d, errno %d, '%s'", r, errno, e.what);
	ok(r == -1 && strstr(e.what, word) != NULL, "netdef_create refuses %s",
	    desc);
}

static const char net_text[] =
	"pelagos-network 1\n"
	"name n1\n"
	"bridge br-n1\n"
	"subnet 10.210.0.0/24\n"
	"gateway 10.210.0.1\n"
	"subnet6 fd00:210::/64\n"
	"mtu 9000\n";

static void
test_netdefs(int root)
{
	static const char *const subst[][2] = {
		{ "mtu 9000\n", "mtu 1279\n" }, { "mtu 9000\n", "mtu 65536\n" },
		{ "mtu 9000\n", "mtu -\n" }, { "name n1\n", "name n2\n" },
		{ "name n1\n", "name -\n" }, { "subnet 10.210.0.0/24\n",
		    "subnet 10.210.0.1/24\n" }, { "subnet 10.210.0.0/24\n",
		    "subnet 10.210.0.0/8\n" }, { "gateway 10.210.0.1\n",
		    "gateway 10.211.0.1\n" }, { "gateway 10.210.0.1\n",
		    "gateway 10.210.0.0\n" }, { "gateway 10.210.0.1\n",
		    "gateway 10.210.0.255\n" }, { "subnet6 fd00:210::/64\n",
		    "subnet6 FD00:210::/64\n" }, { "subnet6 fd00:210::/64\n",
		    "subnet6 fd00:210::1/64\n" }, { "bridge br-n1\n",
		    "bridge a/b\n" }, { "pelagos-network 1\n",
		    "pelagos-network 2\n" }, { "mtu 9000\n", "mtu 9000\nx 1\n" },
		{ "bridge br-n1\n", "" },
	};
	struct netdef def, nd, out, l2;
	struct netdefs l;
	struct pelagos_err e;
	struct text t;
	char buf[1024], bad[NAME_MAX_LEN + 1];
	int n, fd;
	size_t i;

	ok_sys(netdef_default(NULL, NULL, &def, &e) == 0 &&
	    !strcmp(def.name, DEF_NETWORK) && !strcmp(def.bridge, DEF_BRIDGE) &&
	    def.gateway == def.sn.net + 1 && !def.sn6.prefix,
	    "netdef_default: the compiled-in default network");
	ok(netdef_default("x/y", NULL, &def, &e) < 0 && strstr(e.what, "x/y"),
	    "netdef_default refuses a bad bridge");
	ok(netdef_default(NULL, "10.0.0.1/24", &def, &e) < 0,
	    "netdef_default refuses a bad subnet");
	ok_sys(netdef_default("br-def", "10.200.0.0/16", &def, &e) == 0,
	    "netdef_default with PELAGOS_BRIDGE and PELAGOS_SUBNET");
	net_def(&nd, "n1", "br-n1", "10.210.0.0/24", "fd00:210::/64", 9000);
	ok_sys(netdef_create(root, &nd, &def, &e) == 0, "netdef_create");
	fd = openat(root, "networks/n1", O_RDONLY);
	n = fd < 0 ? -1 : (int)read(fd, buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	ok_mem(buf, n < 0 ? 0 : (size_t)n, net_text, strlen(net_text),
	    "a definition's exact text");
	ok_int(file_mode(root, "networks/n1"), 0600, "a definition is 0600");
	ok(!exists(root, "networks/.n1"), "no temporary file is left");
	memset(&out, 0x5a, sizeof(out));
	ok_sys(netdef_load(root, "n1", &def, &out) == 0 &&
	    !memcmp(&out.sn6, &nd.sn6, sizeof(nd.sn6)) && out.mtu == 9000 &&
	    !strcmp(out.bridge, "br-n1") && out.gateway == nd.gateway,
	    "netdef_load gives what was created");
	ok_sys(netdef_load(root, DEF_NETWORK, &def, &out) == 0 &&
	    !strcmp(out.bridge, "br-def"), "netdef_load of the default network");
	errno = 0;
	ok(netdef_load(root, "nosuch", &def, &out) == -1 && errno == ENOENT,
	    "netdef_load of a missing network is ENOENT");
	errno = 0;
	ok(netdef_load(root, "../n1", &def, &out) == -1 && errno == ENOENT,
	    "netdef_load of a name that is none is ENOENT");

	expect_clash(root, &def, &nd, "name", "an existing name");
	net_def(&nd, DEF_NETWORK, "br-x", "10.220.0.0/24", NULL, 0);
	expect_clash(root, &def, &nd, "name", "the default network's name");
	net_def(&nd, "n2", "br-n1", "10.220.0.0/24", NULL, 0);
	expect_clash(root, &def, &nd, "bridge", "a bridge taken");
	net_def(&nd, "n2", "br-def", "10.220.0.0/24", NULL, 0);
	expect_clash(root, &def, &nd, "bridge", "the default bridge");
	net_def(&nd, "n2", "br-n2", "10.210.0.128/25", NULL, 0);
	expect_clash(root, &def, &nd, "subnet", "a subnet inside another");
	net_def(&nd, "n2", "br-n2", "10.200.128.0/24", NULL, 0);
	expect_clash(root, &def, &nd, "subnet", "a subnet inside the default");
	net_def(&nd, "n2", "br-n2", "10.220.0.0/24", "fd00:210::/48", 0);
	expect_clash(root, &def, &nd, "subnet6", "an IPv6 subnet around another");
	net_def(&nd, "n2", "br-n2", "10.220.0.0/24", "fd00:210::/64", 0);
	nd.mtu = 1200;
	expect_clash(root, &def, &nd, "MTU", "an MTU IPv6 cannot run on");
	net_def(&nd, "n2", "br-n2", "10.220.0.0/24", NULL, 0);
	nd.gateway = nd.sn.net;
	expect_clash(root, &def, &nd, "gateway", "the network address as gateway");
	net_def(&nd, "n2", "br-n2", "10.220.0.0/24", "fd00:211::/64", 1280);
	nd.gateway = nd.sn.net + 254;
	ok_sys(netdef_create(root, &nd, &def, &e) == 0,
	    "netdef_create of a second network, gateway .254");
	ok_sys(netdef_list(root, &def, &l, bad) == 0 && l.n == 3 &&
	    !strcmp(l.v[0].name, DEF_NETWORK) && !strcmp(l.v[1].name, "n1") &&
	    !strcmp(l.v[2].name, "n2") && !bad[0],
	    "netdef_list: the default, then by name");
	memset(&l2, 0, sizeof(l2));
	if (l.n == 3)
		l2 = l.v[2];
	netdef_list_free(&l);
	ok(l2.gateway == nd.gateway && l2.mtu == 1280,
	    "netdef_list reads each definition");

	/* Hand-made files: only exactly the format is a definition. */
	for (i = 0; i < sizeof(subst) / sizeof(subst[0]); i++) {
		text_set(&t, net_text);
		text_subst(&t, subst[i][0], subst[i][1], strlen(subst[i][1]));
		write_file(root, "networks/n1", t.b, t.len);
		errno = 0;
		set_detail("errno %d", errno);
		ok(netdef_load(root, "n1", &def, &out) == -1 && errno == EBADMSG,
		    "netdef_load rejects '%s' as '%.*s'", strtok(strcpy(buf,
		    subst[i][0]), "\n"), (int)strcspn(subst[i][1], "\n"),
		    subst[i][1]);
	}
	ok(netdef_list(root, &def, &l, bad) == 0 && l.n == 2 &&
	    !strcmp(bad, "n1"), "netdef_list names an unreadable definition");
	netdef_list_free(&l);
	net_def(&nd, "n3", "br-n3", "10.230.0.0/24", NULL, 0);
	expect_clash(root, &def, &nd, "unreadable",
	    "any network while a definition is unreadable");

	/* In use: a lease in its subnet whose sandbox exists. */
	write_file(root, "networks/n1", net_text, strlen(net_text));
	symlinkat(ID_A, root, "leases/10.210.0.7");
	mkclaim(root, ID_A);
	ok(netdef_remove(root, "n1", &def, &e) == -1 && errno == EBUSY &&
	    strstr(e.what, "1 sandbox"), "netdef_remove refuses a network in use");
	ok(exists(root, "networks/n1"), "a refused remove keeps the file");
	root_rmdir(root, ID_A);
	ok_sys(netdef_remove(root, "n1", &def, &e) == 0,
	    "netdef_remove once its sandbox is gone");
	ok(!exists(root, "networks/n1"), "the definition is gone");
	unlinkat(root, "leases/10.210.0.7", 0);
	ok(netdef_remove(root, "n1", &def, &e) == -1 && errno == ENOENT,
	    "netdef_remove of a missing network is ENOENT");
	ok(netdef_remove(root, DEF_NETWORK, &def, &e) == -1,
	    "netdef_remove refuses the default network");
	write_file(root, "networks/n2", "junk", 4);
	ok_sys(netdef_remove(root, "n2", &def, &e) == 0,
	    "netdef_remove removes an unreadable definition");
}

/* ---- the pod's files and sysctls ---- */

static void
expect_file(int dfd, const char *name, const char *want, const char *desc)
{
	char buf[1024];
	int fd = openat(dfd, name, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));

	if (fd >= 0)
		close(fd);
	ok_mem(buf, n < 0 ? 0 : (size_t)n, want, strlen(want), desc);
}

static void
test_podfiles(int root)
{
	static const char host[] =
		"# made by hand\n"
		"nameserver 127.0.0.53\n"
		"nameserver\t10.1.2.3\n"
		"search example.org\n"
		"nameserver ::1\n"
		"options edns0";
	struct pelagos_err e;
	struct pod_opts o;
	struct sandbox sb;
	char path[128];
	int dfd;

	fill_two(&sb);
	memset(&o, 0, sizeof(o));
	snprintf(path, sizeof(path), "%s/resolv", tmpdir);
	write_file(AT_FDCWD, path, host, strlen(host));
	o.resolv = path;
	mkclaim(root, ID_A);
	dfd = root_sbdir(root, ID_A);
	ok_sys(podfiles_write(dfd, &sb, &o, &e) == 0, "podfiles_write");
	expect_file(dfd, "resolv.conf", "# made by hand\nnameserver\t10.1.2.3\n"
	    "search example.org\noptions edns0\n",
	    "resolv.conf: the host's without loopback nameservers");
	ok(!o.no_dns, "a nameserver left: no warning");
	expect_file(dfd, "hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost "
	    "ip6-localhost ip6-loopback\n10.210.0.2\tweb-1\n"
	    "fd12:3456:789a::2\tweb-1\n10.211.7.254\tweb-1\n",
	    "hosts: localhost and every address of the pod");
	expect_file(dfd, "hostname", "web-1\n", "hostname");
	ok_int(file_mode(dfd, "hosts"), 0644, "the files are 0644");
	ok(podfiles_write(dfd, &sb, &o, &e) == -1,
	    "podfiles_write never overwrites");
	root_rmdir(root, ID_A);

	write_file(AT_FDCWD, path, "nameserver 127.0.0.1\n", 21);
	mkclaim(root, ID_A);
	dfd = root_sbdir(root, ID_A);
	o.v[POD_DNS][o.n[POD_DNS]++] = "10.0.0.53";
	o.v[POD_DNS][o.n[POD_DNS]++] = "fd00::53";
	o.v[POD_SEARCH][o.n[POD_SEARCH]++] = "a.example";
	o.v[POD_SEARCH][o.n[POD_SEARCH]++] = "b.example";
	o.v[POD_DNSOPT][o.n[POD_DNSOPT]++] = "ndots:2";
	o.v[POD_HOSTS][o.n[POD_HOSTS]++] = "db:10.0.0.9";
	o.v[POD_HOSTS][o.n[POD_HOSTS]++] = "v6:fd00::9";
	fill_hostnet(&sb);
	ok_sys(podfiles_write(dfd, &sb, &o, &e) == 0,
	    "podfiles_write with --dns, --dns-search, --dns-option, --add-host");
	expect_file(dfd, "resolv.conf", "nameserver 10.0.0.53\nnameserver "
	    "fd00::53\nsearch a.example b.example\noptions ndots:2\n",
	    "resolv.conf from the options only");
	expect_file(dfd, "hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost "
	    "ip6-localhost ip6-loopback\n127.0.1.1\tfedcba98\n"
	    "10.0.0.9\tdb\nfd00::9\tv6\n",
	    "hosts of a host-network pod, with --add-host");
	root_rmdir(root, ID_A);

	memset(&o, 0, sizeof(o));
	o.resolv = path;
	mkclaim(root, ID_A);
	dfd = root_sbdir(root, ID_A);
	ok_sys(podfiles_write(dfd, &sb, &o, &e) == 0 && o.no_dns,
	    "only loopback nameservers: the caller is told");
	expect_file(dfd, "resolv.conf", "", "resolv.conf without them is empty");
	root_rmdir(root, ID_A);
	unlink(path);
	o.no_dns = 0;
	mkclaim(root, ID_A);
	dfd = root_sbdir(root, ID_A);
	ok_sys(podfiles_write(dfd, &sb, &o, &e) == 0 && !o.no_dns,
	    "a host without resolv.conf gives an empty one, no warning");
	root_rmdir(root, ID_A);
}

static void
test_sysctl(void)
{
	static const struct { const char *kv; int ns; } cases[] = {
		{ "net.ipv4.ip_forward=1", NSK_NET },
		{ "net.ipv4.conf.eth0.rp_filter=2", NSK_NET },
		{ "net.ipv4.ping_group_range=0 2147483647", NSK_NET },
		{ "kernel.shmmax=68719476736", NSK_IPC },
		{ "kernel.shm_rmid_forced=1", NSK_IPC },
		{ "kernel.msgmax=65536", NSK_IPC },
		{ "kernel.sem=250\t32000 100 128", NSK_IPC },
		{ "fs.mqueue.msg_max=100", NSK_IPC },
		{ "kernel.hostname=x", -1 }, { "kernel.pid_max=1", -1 },
		{ "vm.swappiness=1", -1 }, { "fs.file-max=1", -1 },
		{ "kernel.sem_next_id=1", NSK_IPC },
		{ "kernel.msg_next_id=1", NSK_IPC },
		{ "kernel.se=1", -1 }, { "fs.mqueue=1", -1 },
		{ "net.ipv4.ip_forward", -1 }, { "net.ipv4.ip_forward=", -1 },
		{ "=1", -1 }, { "net..ipv4=1", -1 }, { ".net.x=1", -1 },
		{ "net.x.=1", -1 }, { "net/../../etc/passwd=x", -1 },
		{ "net.a b=1", -1 }, { "net.x=a\x1f", -1 }, { "net.x=\x01", -1 },
	};
	size_t i;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = proc_sysctl_ns(cases[i].kv);
		set_detail("got %d, want %d", r, cases[i].ns);
		ok(r == cases[i].ns, "proc_sysctl_ns '%s'", cases[i].kv);
	}
	check_valid(valid_dns_option, "valid_dns_option", "ndots:2", 1);
	check_valid(valid_dns_option, "valid_dns_option", "edns0", 1);
	check_valid(valid_dns_option, "valid_dns_option", "", 0);
	check_valid(valid_dns_option, "valid_dns_option", "a b", 0);
	check_valid(valid_dns_option, "valid_dns_option", "a\nb", 0);
}

static void
test_root(void)
{
	char path[128];
	int root, lock;

	strcpy(tmpdir, "/tmp/pelagos-unit.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		set_detail("mkdtemp: %s", strerror(errno));
		ok(0, "temporary directory");
		return;
	}
	snprintf(path, sizeof(path), "%s/root", tmpdir);
	errno = 0;
	root = root_open(path, 0);
	set_detail("returned %d, errno %d", root, errno);
	ok(root == -1 && errno == ENOENT,
	    "root_open without create of a missing root fails");
	root = root_open(path, 1);
	set_detail("%s", strerror(errno));
	if (ok(root >= 0, "root_open creates the root")) {
		ok_int(file_mode(AT_FDCWD, path), 0700, "the root is 0700");
		ok_int(file_mode(root, "sandboxes"), 0700,
		    "sandboxes/ is 0700");
		ok_int(file_mode(root, "leases"), 0700, "leases/ is 0700");
		ok_int(file_mode(root, "names"), 0700, "names/ is 0700");
		ok_int(file_mode(root, "networks"), 0700, "networks/ is 0700");
		lock = root_lock(root, LOCK_EX);
		ok(lock >= 0 && exists(root, "lock"), "root_lock");
		if (lock >= 0)
			close(lock);
		test_root_files(root);
		test_leases(root);
		test_names(root);
		test_list(root);
		test_netdefs(root);
		test_podfiles(root);
		close(root);
		root = root_open(path, 1);
		ok(root >= 0, "root_open of an existing root");
		if (root >= 0)
			close(root);
	}
	rm_rf_at(AT_FDCWD, tmpdir);
	ok(!exists(AT_FDCWD, tmpdir), "the temporary directory is removed");
}

/* ---- util.c: the formatter, sort and number parsing ---- */

static int
cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

struct big {
	char pad[200];
	int key;
};

static int
cmp_big(const void *a, const void *b)
{
	return ((const struct big *)a)->key - ((const struct big *)b)->key;
}

/* util_out writes everything, however long one call's text: stdout is
 * sent to a file for the test. */
static void
test_util_out(void)
{
	char path[] = "/tmp/pelagos-unit-out.XXXXXX", line[10001], *got;
	int fd, saved, ok_all = 1, i;
	struct stat st;
	ssize_t n;

	fflush(stdout);
	if ((fd = mkstemp(path)) < 0 || (saved = dup(1)) < 0) {
		ok(0, "util_out test set up");
		return;
	}
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	dup2(fd, 1);
	util_out("%s|", line);
	for (i = 0; i < 1000; i++)
		util_out("%d,", i % 10);
	i = util_flush();
	dup2(saved, 1);
	close(saved);
	ok_int(i, 0, "util_flush after a long util_out succeeds");
	fstat(fd, &st);
	ok_int((long long)st.st_size, 10000 + 1 + 2000,
	    "util_out writes a 10000-byte text whole, and what follows");
	got = malloc((size_t)st.st_size + 1);
	n = got ? pread(fd, got, (size_t)st.st_size, 0) : -1;
	for (i = 0; n == st.st_size && i < 10000; i++)
		ok_all &= got[i] == 'x';
	ok(n == st.st_size && ok_all && got[10000] == '|' &&
	    got[10001] == '0' && got[st.st_size - 2] == '9',
	    "util_out keeps the bytes in order across buffer refills");
	free(got);
	close(fd);
	unlink(path);
}

/* util_dir_next tells the end (0) from an error (-1). */
static void
test_util_dir(void)
{
	char dir[] = "/tmp/pelagos-unit-dir.XXXXXX", p[64];
	struct util_dir d;
	const char *name;
	int r, n = 0, i;

	if (!mkdtemp(dir)) {
		ok(0, "util_dir test set up");
		return;
	}
	for (i = 0; i < 300; i++) {
		snprintf(p, sizeof(p), "%s/file-with-a-long-name-%03d", dir, i);
		close(open(p, O_CREAT | O_WRONLY, 0600));
	}
	ok_sys(util_dir_open(&d, AT_FDCWD, dir) == 0, "util_dir_open");
	while ((r = util_dir_next(&d, &name)) > 0)
		n += !strncmp(name, "file-with", 9);
	ok_int(r, 0, "util_dir_next ends with 0");
	ok_int(n, 300, "util_dir_next gives every entry, across refills");
	ok_int(util_dir_next(&d, &name), 0, "util_dir_next stays at the end");
	util_dir_close(&d);
	d.fd = 1000;
	errno = 0;
	r = util_dir_next(&d, &name);
	ok(r == -1 && errno == EBADF, "util_dir_next reports a read error "
	    "as -1 with errno");
	for (i = 0; i < 300; i++) {
		snprintf(p, sizeof(p), "%s/file-with-a-long-name-%03d", dir, i);
		unlink(p);
	}
	rmdir(dir);
	d.fd = -1;
}

static void
test_util(void)
{
	static const struct {
		const char *want;
		size_t n;
	} cases[] = {
		{ "[web               ]", 20 }, { "[   42]", 7 }, { "[00042]", 7 },
		{ "[-7]", 4 }, { "[ff|0a]", 7 }, { "[-9223372036854775807]", 22 },
		{ "[18446744073709551615]", 22 }, { "[123]", 5 },
		{ "[01234567]", 10 }, { "[abc]", 5 }, { "[x|%]", 5 },
		{ "[2147483647 -2147483648]", 24 },
	};
	char buf[64], small[4];
	const char *end;
	unsigned long long v;
	int a[50], i, sorted = 1;
	size_t n[12];
	static struct big big[30];

	n[0] = util_fmt(buf, sizeof(buf), "[%-18s]", "web");
	ok_str(buf, cases[0].want, "util_fmt %-18s");
	n[1] = util_fmt(buf, sizeof(buf), "[%5d]", 42);
	ok_str(buf, cases[1].want, "util_fmt %5d");
	n[2] = util_fmt(buf, sizeof(buf), "[%05d]", 42);
	ok_str(buf, cases[2].want, "util_fmt %05d");
	n[3] = util_fmt(buf, sizeof(buf), "[%d]", -7);
	ok_str(buf, cases[3].want, "util_fmt negative %d");
	n[4] = util_fmt(buf, sizeof(buf), "[%x|%02x]", 255u, 10u);
	ok_str(buf, cases[4].want, "util_fmt %x and %02x");
	n[5] = util_fmt(buf, sizeof(buf), "[%lld]", -9223372036854775807LL);
	ok_str(buf, cases[5].want, "util_fmt %lld");
	n[6] = util_fmt(buf, sizeof(buf), "[%llu]", ULLONG_MAX);
	ok_str(buf, cases[6].want, "util_fmt %llu at its maximum");
	n[7] = util_fmt(buf, sizeof(buf), "[%zu]", (size_t)123);
	ok_str(buf, cases[7].want, "util_fmt %zu");
	n[8] = util_fmt(buf, sizeof(buf), "[%.8s]", "0123456789abcdef");
	ok_str(buf, cases[8].want, "util_fmt %.8s");
	n[9] = util_fmt(buf, sizeof(buf), "[%.*s]", 3, "abcdef");
	ok_str(buf, cases[9].want, "util_fmt %.*s");
	n[10] = util_fmt(buf, sizeof(buf), "[%c|%%]", 'x');
	ok_str(buf, cases[10].want, "util_fmt %c and %%");
	n[11] = util_fmt(buf, sizeof(buf), "[%d %d]", INT_MAX, INT_MIN);
	ok_str(buf, cases[11].want, "util_fmt int limits");
	for (i = 0; i < 12; i++)
		ok_int((long long)n[i], (long long)cases[i].n,
		    "util_fmt returns the length written");
	ok_int((long long)util_fmt(small, sizeof(small), "%s", "abcdef"), 6,
	    "util_fmt returns the full length when it truncates");
	ok_str(small, "abc", "util_fmt truncates and terminates");

	ok_str((util_fmt(buf, sizeof(buf), "[%zu|%zd]", (size_t)-1,
	    (ssize_t)-5), buf), sizeof(size_t) == 8 ?
	    "[18446744073709551615|-5]" : "[4294967295|-5]",
	    "util_fmt %zu and %zd are size_t wide");
	ok_str((util_fmt(buf, sizeof(buf), "[%zu %s]", (size_t)7, "next"),
	    buf), "[7 next]", "util_fmt %zu takes one size_t argument");

	for (i = 0; i < 50; i++)
		a[i] = (i * 37) % 50;
	util_sort(a, 50, sizeof(a[0]), cmp_int);
	for (i = 0; i < 50; i++)
		sorted &= a[i] == i;
	ok(sorted, "util_sort sorts");
	for (i = 0; i < 30; i++) {
		memset(big[i].pad, i, sizeof(big[i].pad));
		big[i].key = (i * 7) % 30;
	}
	util_sort(big, 30, sizeof(big[0]), cmp_big);
	for (sorted = 1, i = 0; i < 30; i++)
		sorted &= big[i].key == i &&
		    big[i].pad[199] == (char)((i * 13) % 30);
	ok(sorted, "util_sort sorts 204-byte elements, whole");

	ok(util_parse_ull("4026532000 x", &end, ~0ull, &v) == 0 &&
	    v == 4026532000ULL && *end == ' ', "util_parse_ull stops at a non-digit");
	ok(util_parse_ull("18446744073709551616", &end, ~0ull, &v) < 0,
	    "util_parse_ull rejects an overflow");
	ok(util_parse_ull("256", &end, 255, &v) < 0 && errno == EINVAL,
	    "util_parse_ull rejects a value over its maximum");
	ok(util_parse_ull("255", &end, 255, &v) == 0 && v == 255,
	    "util_parse_ull takes its maximum");
	ok(util_parse_ull("007", &end, 255, &v) < 0,
	    "util_parse_ull rejects a leading zero");
	ok(util_parse_ull("0", &end, 255, &v) == 0 && v == 0 && !*end,
	    "util_parse_ull takes a lone zero");
	ok(util_parse_ull("x", &end, ~0ull, &v) < 0, "util_parse_ull needs a digit");
	test_util_out();
	test_util_dir();
}


/* ---- JSON and the CNI documents ---- */

static struct json tj;

static int
jparse(const char *s)
{
	return json_parse(&tj, s, strlen(s));
}

static void
test_json(void)
{
	static const char *const good[] = {
		"{}", " {\n}\t", "{\"a\":1}", "{\"a\" : [ ] , \"b\" : { } }",
		"{\"a\":[1,-0,0.5,1e3,-1.25E-2,true,false,null,\"x\"]}",
		"{\"a\":{\"b\":{\"c\":[[],[{}]]}}}", "{\"\\u0041\\n\\\"\":\"\\\\/\"}",
		"{\"a\":\"caf\xc3\xa9\"}", NULL };
	static const char *const bad[] = {
		"", " ", "[]", "1", "\"a\"", "{", "}", "{\"a\":1,}", "{,}",
		"{\"a\":1 \"b\":2}", "{\"a\"}", "{\"a\":}", "{\"a\"::1}",
		"{\"a\",:1}", "{\"a\":[1,,2]}", "{\"a\":[,1]}", "{\"a\":[1 2]}",
		"{\"a\":[1,]}", "{\"a\":1:2}", "{1:2}", "{a:1}", "{\"a\":b}",
		"{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":-}",
		"{\"a\":1e}", "{\"a\":tru}", "{\"a\":nul}", "{\"a\":+1}",
		"{\"a\":\"x\x01\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
		"{} {}", "{}x", "x{}", "{},", "{}:", "{\"a\":{\"b\":1}:2}",
		"{\"a\":[1]]}", "{\"a\":\"unterminated}", "{\"a\":1}\x01",
		NULL };
	char deep[64], big[JSON_MAX_TOKENS * 3 + 16], buf[8];
	unsigned long long v;
	int i, t, b;

	/* Described by index: some of the texts hold control characters. */
	for (i = 0; good[i]; i++)
		ok(jparse(good[i]) == 0, "json_parse accepts good[%d]", i);
	for (i = 0; bad[i]; i++) {
		errno = 0;
		ok(jparse(bad[i]) < 0 && errno == EBADMSG && tj.n == 0,
		    "json_parse refuses bad[%d] (EBADMSG)", i);
	}
	ok(json_parse(&tj, "{\"a\":1}\0{}", 10) < 0,
	    "json_parse refuses a NUL and what follows");
	/* 16 levels nest, 17 do not. */
	for (b = 16; b <= 17; b++) {
		strcpy(deep, "{\"a\":");
		for (i = 0; i < b; i++)
			strcat(deep, "[");
		for (i = 0; i < b; i++)
			strcat(deep, "]");
		strcat(deep, "}");
		errno = 0;
		ok(b == 16 ? jparse(deep) == 0 : jparse(deep) < 0 &&
		    errno == ELOOP, "json_parse %s %d levels", b == 16 ?
		    "takes" : "refuses (ELOOP)", b);
	}
	strcpy(big, "{\"a\":[");
	for (i = 0; i < JSON_MAX_TOKENS; i++)
		strcat(big, i ? ",0" : "0");
	strcat(big, "]}");
	errno = 0;
	ok(jparse(big) < 0 && errno == E2BIG, "json_parse refuses more than "
	    "%d tokens (E2BIG)", JSON_MAX_TOKENS);
	errno = 0;
	ok(json_parse(&tj, big, JSON_MAX_BYTES + 1) < 0 && errno == EFBIG,
	    "json_parse refuses more than %d bytes (EFBIG)", JSON_MAX_BYTES);

	jparse("{\"k\":\"v1\",\"n\":42,\"b\":true,\"k\":\"v2\",\"e\":"
	    "\"a\\u0041\\t\",\"u\":\"\\u00e9\",\"z\":\"\\u0000\",\"l\":[1,{\"m\":2}]}");
	t = json_get(&tj, 0, "k");
	ok(json_string(&tj, t, buf, sizeof(buf)) == 0 && !strcmp(buf, "v2"),
	    "json_get: of a key given twice, the last counts");
	ok(json_uint(&tj, json_get(&tj, 0, "n"), 100, &v) == 0 && v == 42,
	    "json_uint");
	ok(json_uint(&tj, json_get(&tj, 0, "n"), 41, &v) < 0,
	    "json_uint refuses a value over its maximum");
	ok(json_bool(&tj, json_get(&tj, 0, "b"), &b) == 0 && b == 1,
	    "json_bool");
	ok(json_bool(&tj, json_get(&tj, 0, "n"), &b) < 0, "json_bool refuses "
	    "a number");
	ok(json_string(&tj, json_get(&tj, 0, "e"), buf, sizeof(buf)) == 0 &&
	    !strcmp(buf, "aA\t"), "json_string unescapes");
	errno = 0;
	ok(json_string(&tj, json_get(&tj, 0, "u"), buf, sizeof(buf)) < 0 &&
	    errno == EINVAL, "json_string refuses an escape beyond ASCII");
	ok(json_string(&tj, json_get(&tj, 0, "z"), buf, sizeof(buf)) < 0,
	    "json_string refuses an escaped NUL");
	errno = 0;
	ok(json_string(&tj, json_get(&tj, 0, "e"), buf, 3) < 0 &&
	    errno == ENAMETOOLONG, "json_string refuses what does not fit");
	ok(json_get(&tj, 0, "m") < 0, "json_get looks at one object's keys");
	t = json_get(&tj, 0, "l");
	i = json_next(&tj, t, -1);
	b = json_next(&tj, t, i);
	ok(json_type(&tj, i) == JSON_PRIMITIVE && json_type(&tj, b) ==
	    JSON_OBJECT && json_next(&tj, t, b) < 0 &&
	    json_get(&tj, b, "m") == b + 2, "json_next walks an array");
	ok(json_get(&tj, -1, "k") < 0 && json_next(&tj, -1, -1) < 0,
	    "json_get and json_next of no token find nothing");
}

/* What a function printed with util_out, in out (NUL-terminated). */
static void
capture(void (*fn)(const void *), const void *arg, char *out, size_t len)
{
	char path[] = "/tmp/pelagos-unit-cni.XXXXXX";
	int fd, saved;
	ssize_t n = -1;

	fflush(stdout);
	out[0] = '\0';
	if ((fd = mkstemp(path)) < 0 || (saved = dup(1)) < 0)
		return;
	dup2(fd, 1);
	fn(arg);
	util_flush();
	dup2(saved, 1);
	close(saved);
	n = pread(fd, out, len - 1, 0);
	out[n < 0 ? 0 : n] = '\0';
	close(fd);
	unlink(path);
}

static struct cni_req treq;
static struct cni_att tatt;

static int
conf(const char *cmd, const char *js)
{
	struct pelagos_err e;
	int code;

	memset(&e, 0, sizeof(e));
	code = cni_req_env(&treq, cmd, "ctr-1", "/run/netns/x", "eth0", &e);
	if (!code)
		code = cni_req_conf(&treq, &tj, js, strlen(js), &e);
	set_detail("code %d, %s", code, e.what);
	return code;
}

#define CONF(rest) "{\"cniVersion\":\"1.1.0\",\"name\":\"net1\"," \
	"\"subnet\":\"10.5.0.0/24\"" rest "}"

static void
print_result(const void *arg)
{
	(void)arg;
	cni_result(&treq, &tatt);
}

static void
print_error(const void *arg)
{
	cni_error(&treq, CNI_E_FIELD, arg);
}

static void
test_cni_req(void)
{
	static const struct {
		const char *js;
		int code;
		const char *cmd;
	} cases[] = {
		{ CONF(""), 0, "ADD" },
		{ "{\"name\":\"n\",\"subnet\":\"10.5.0.0/24\"}", CNI_E_VERSION,
		    "ADD" },
		{ "{\"cniVersion\":\"0.2.0\",\"name\":\"n\"}", CNI_E_VERSION,
		    "ADD" },
		{ "{\"cniVersion\":1,\"name\":\"n\"}", CNI_E_CONFIG, "ADD" },
		{ "{\"cniVersion\":\"0.3.1\",\"name\":\"n\",\"subnet\":"
		    "\"10.5.0.0/24\",\"prevResult\":{}}", CNI_E_VERSION,
		    "CHECK" },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"subnet\":"
		    "\"10.5.0.0/24\"}", CNI_E_VERSION, "GC" },
		{ "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"subnet\":"
		    "\"10.5.0.0/24\"}", CNI_E_VERSION, "STATUS" },
		{ "{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"subnet\":"
		    "\"10.5.0.0/24\"}", 0, "DEL" },
		{ "{\"cniVersion\":\"1.1.0\",\"name\":\"-n\",\"subnet\":"
		    "\"10.5.0.0/24\"}", CNI_E_CONFIG, "ADD" },
		{ "{\"cniVersion\":\"1.1.0\",\"name\":\"n\"}", CNI_E_CONFIG,
		    "ADD" },
		{ CONF(",\"subnet\":\"10.5.0.1/24\""), CNI_E_CONFIG, "ADD" },
		{ CONF(",\"subnet\":\"10.5.0.0/31\""), CNI_E_CONFIG, "ADD" },
		{ CONF(",\"bridge\":\"a/b\""), CNI_E_CONFIG, "ADD" },
		{ CONF(",\"bridge\":\"0123456789abcdef\""), CNI_E_CONFIG, "ADD" },
		{ CONF(",\"gateway\":\"10.5.0.0\""), CNI_E_CONFIG, "ADD" },
		{ CONF(",\"gateway\":\"10.5.0.255\""), CNI_E_CONFIG, "ADD" },
		{ CONF(",\"gateway\":\"10.6.0.1\""), CNI_E_CONFIG, "ADD" },
		{ CONF(",\"gateway\":\"10.5.0.254\""), 0, "ADD" },
		{ CONF(",\"mtu\":67"), CNI_E_CONFIG, "ADD" },
		{ CONF(",\"mtu\":1500.0"), CNI_E_CONFIG, "ADD" },
		{ CONF(",\"mtu\":65535"), 0, "ADD" },
		{ CONF(",\"isDefaultGateway\":1"), CNI_E_CONFIG, "ADD" },
		{ CONF(",\"dataDir\":\"rel/dir\""), CNI_E_CONFIG, "ADD" },
		{ CONF(",\"dns\":[]"), CNI_E_CONFIG, "ADD" },
		{ CONF(",\"prevResult\":[]"), CNI_E_CONFIG, "ADD" },
		{ CONF(",\"prevResult\":{\"ips\":{}}"), CNI_E_CONFIG, "ADD" },
		{ CONF(",\"ipMasq\":false"), 0, "ADD" },
		{ CONF(",\"ipMasq\":true"), 0, "ADD" },
		{ CONF(",\"ipMasq\":\"yes\""), CNI_E_CONFIG, "ADD" },
		{ CONF(",\"subnet6\":null"), 0, "ADD" },
		{ CONF(",\"subnet6\":\"fd00::/64\""), 0, "ADD" },
		{ CONF(",\"subnet6\":\"fd00::/120\""), 0, "ADD" },
		{ CONF(",\"subnet6\":\"fd00::/121\""), CNI_E_CONFIG, "ADD" },
		{ CONF(",\"subnet6\":\"fd00::1/64\""), CNI_E_CONFIG, "ADD" },
		{ CONF(",\"subnet6\":64"), CNI_E_CONFIG, "ADD" },
		{ CONF(",\"ipam\":{\"type\":\"host-local\"}"), CNI_E_FIELD,
		    "ADD" },
		{ CONF(",\"runtimeConfig\":{\"portMappings\":[]}"), 0, "ADD" },
		{ CONF(",\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":"
		    "8080,\"containerPort\":80}]}"), 0, "ADD" },
		{ CONF(",\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":"
		    "8080}]}"), CNI_E_CONFIG, "ADD" },
		{ CONF(",\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":"
		    "8080,\"containerPort\":80,\"protocol\":\"sctp\"}]}"),
		    CNI_E_CONFIG, "ADD" },
		{ CONF(",\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":"
		    "65536,\"containerPort\":80}]}"), CNI_E_CONFIG, "ADD" },
		{ CONF(",\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":"
		    "80,\"containerPort\":80,\"hostIP\":\"fd00::1\"}]}"),
		    CNI_E_CONFIG, "ADD" },
		{ CONF(",\"runtimeConfig\":{\"portMappings\":{}}"),
		    CNI_E_CONFIG, "ADD" },
		{ CONF(",\"unknownKey\":{\"x\":[1,2]},\"type\":\"whatever\""), 0,
		    "ADD" },
		{ CONF(""), CNI_E_CONFIG, "CHECK" },
		{ CONF(""), CNI_E_CONFIG, "GC" },
		{ CONF(",\"cni.dev/valid-attachments\":{}"), CNI_E_CONFIG, "GC" },
		{ CONF(",\"cni.dev/valid-attachments\":[]"), 0, "GC" },
		{ "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"subnet\":"
		    "\"10.5.0.0/24\",}", CNI_E_DECODE, "ADD" },
	};
	struct pelagos_err e;
	char out[4096];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(conf(cases[i].cmd, cases[i].js) == cases[i].code,
		    "CNI %s %s: code %d", cases[i].cmd, cases[i].js,
		    cases[i].code);
	conf("ADD", CONF(",\"ipam\":{}"));
	ok(strstr(detail, "ipam") && strstr(detail, "{}"),
	    "code 2 names the key and its value");
	ok(conf("ADD", CONF(",\"ipMasq\":true,\"runtimeConfig\":{"
	    "\"portMappings\":[{\"hostPort\":8080,\"containerPort\":80},"
	    "{\"hostPort\":53,\"containerPort\":5353,\"protocol\":\"udp\","
	    "\"hostIP\":\"10.0.0.1\"}]}")) == 0 && treq.masq &&
	    !strcmp(treq.ports, "8080:80/tcp,10.0.0.1:53:5353/udp"),
	    "ipMasq and port mappings as --publish words: %s", treq.ports);
	ok(conf("ADD", CONF(",\"subnet6\":\"fd00:5::/64\"")) == 0 &&
	    treq.sn6.prefix == 64 && treq.sn6.net[0] == 0xfd &&
	    treq.sn6.net[3] == 5, "subnet6 is read");
	strcpy(out, CONF(",\"runtimeConfig\":{\"portMappings\":["));
	out[strlen(out) - 1] = '\0';
	for (i = 0; i < 17; i++)
		util_fmt(out + strlen(out), sizeof(out) - strlen(out),
		    "%s{\"hostPort\":%d,\"containerPort\":80}", i ? "," : "",
		    (int)i + 1);
	strcat(out, "]}}");
	ok(conf("ADD", out) == CNI_E_CONFIG && strstr(detail, "portMappings"),
	    "17 port mappings are too many");
	conf("ADD", CONF(",\"gateway\":\"10.6.0.1\""));
	ok(strstr(detail, "gateway") && strstr(detail, "10.6.0.1"),
	    "code 7 names the key and its value");

	memset(&e, 0, sizeof(e));
	ok(cni_req_env(&treq, "ADDX", "c", "/n", "eth0", &e) == CNI_E_ENV &&
	    strstr(e.what, "CNI_COMMAND"), "an unknown CNI_COMMAND: code 4");
	ok(cni_req_env(&treq, "ADD", "-c", "/n", "eth0", &e) == CNI_E_ENV &&
	    strstr(e.what, "CNI_CONTAINERID"), "a bad CNI_CONTAINERID: code 4");
	ok(cni_req_env(&treq, "ADD", NULL, "/n", "eth0", &e) == CNI_E_ENV,
	    "no CNI_CONTAINERID: code 4");
	ok(cni_req_env(&treq, "ADD", "c", "/n", "a/b", &e) == CNI_E_ENV &&
	    strstr(e.what, "CNI_IFNAME"), "a bad CNI_IFNAME: code 4");
	ok(cni_req_env(&treq, "ADD", "c", "n", "eth0", &e) == CNI_E_ENV &&
	    strstr(e.what, "CNI_NETNS"), "a relative CNI_NETNS: code 4");
	ok(cni_req_env(&treq, "DEL", "c", NULL, "eth0", &e) == 0 &&
	    !strcmp(treq.netns, ""), "DEL needs no CNI_NETNS");
	ok(cni_req_env(&treq, "VERSION", NULL, NULL, NULL, &e) == 0,
	    "VERSION needs no attachment");
	ok(cni_req_env(&treq, "ADD", "ab.c_d-1", "/n", "net1", &e) == 0 &&
	    !strcmp(treq.key, "ab.c_d-1/net1"), "the attachment's key is "
	    "<id>/<ifname>");

	ok(conf("ADD", CONF("")) == 0 && !strcmp(treq.bridge, DEF_CNI_BRIDGE) &&
	    !strcmp(treq.dir, DEF_CNI_DIR "/net1") && treq.gw == IP4(10, 5,
	    0, 1) && !treq.mtu && !treq.defroute && treq.ver == 110,
	    "defaults: bridge, dataDir, gateway, no MTU, no default route");
	ok(conf("ADD", "{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"subnet\":"
	    "\"10.5.0.0/24\",\"bridge\":\"br9\",\"gateway\":\"10.5.0.9\","
	    "\"dataDir\":\"/srv/cni\",\"mtu\":1400,\"isDefaultGateway\":"
	    "true}") == 0 && !strcmp(treq.bridge, "br9") &&
	    !strcmp(treq.dir, "/srv/cni/n") && treq.gw == IP4(10, 5, 0, 9) &&
	    treq.mtu == 1400 && treq.defroute && treq.ver == 40,
	    "every key is read");

	ok(conf("CHECK", CONF(",\"prevResult\":{\"interfaces\":[{\"name\":"
	    "\"br\"},{\"name\":\"eth0\",\"mac\":\"02:00:00:00:00:01\","
	    "\"sandbox\":\"/run/netns/x\"}],\"ips\":[{\"interface\":0,"
	    "\"address\":\"10.9.9.9/8\"},{\"interface\":1,\"address\":"
	    "\"fd00:1:2::7/64\"},{\"interface\":1,\"address\":"
	    "\"10.5.0.7/24\"}]}")) == 0 && treq.nprev_ifs == 2 &&
	    !strcmp(treq.want_mac, "02:00:00:00:00:01") &&
	    treq.want_ip == IP4(10, 5, 0, 7) && treq.want_prefix == 24 &&
	    treq.want6.prefix == 64 && treq.want6.net[0] == 0xfd &&
	    treq.want6.net[3] == 1 && treq.want6.net[5] == 2 &&
	    treq.want6.net[15] == 7,
	    "CHECK finds its interface, MAC and addresses in prevResult");

	/* A chained result keeps prevResult's entries first. */
	conf("ADD", CONF(",\"isDefaultGateway\":true,\"dns\":{\"nameservers\":"
	    "[\"10.5.0.1\"]},\"prevResult\":{\"interfaces\":[{\"name\":\"x\"}],"
	    "\"ips\":[{\"interface\":0,\"address\":\"10.9.0.2/16\"}],"
	    "\"routes\":[{\"dst\":\"10.10.0.0/16\"}],\"dns\":{}}"));
	memset(&tatt, 0, sizeof(tatt));
	strcpy(tatt.link[0].name, "br\"0");
	strcpy(tatt.link[1].name, "pc-0a050002");
	strcpy(tatt.link[2].name, "eth0");
	tatt.link[2].mac[0] = 0xab;
	tatt.pi.ip = IP4(10, 5, 0, 2);
	tatt.pi.gateway = treq.gw;
	tatt.pi.prefix = 24;
	capture(print_result, NULL, out, sizeof(out));
	ok_str(out, "{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"x\"},"
	    "{\"name\":\"br\\\"0\",\"mac\":\"00:00:00:00:00:00\"},{\"name\":"
	    "\"pc-0a050002\",\"mac\":\"00:00:00:00:00:00\"},{\"name\":\"eth0\","
	    "\"mac\":\"ab:00:00:00:00:00\",\"sandbox\":\"/run/netns/x\"}],"
	    "\"ips\":[{\"interface\":0,\"address\":\"10.9.0.2/16\"},"
	    "{\"interface\":3,\"address\":\"10.5.0.2/24\",\"gateway\":"
	    "\"10.5.0.1\"}],\"routes\":[{\"dst\":\"10.10.0.0/16\"},{\"dst\":"
	    "\"0.0.0.0/0\",\"gw\":\"10.5.0.1\"}],\"dns\":{\"nameservers\":"
	    "[\"10.5.0.1\"]}}\n", "the ADD result, chained: prevResult's "
	    "entries first, indexes past them");
	ok(json_parse(&tj, out, strlen(out)) == 0, "the result is JSON");
	conf("ADD", "{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"subnet\":"
	    "\"10.5.0.0/24\"}");
	capture(print_result, NULL, out, sizeof(out));
	ok(strstr(out, "\"ips\":[{\"version\":\"4\",\"interface\":2,") &&
	    strstr(out, "\"routes\":[],\"dns\":{}}"), "a 0.4.0 result has "
	    "ips' version, no default route unless asked: %s", out);
	conf("ADD", "{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"subnet\":"
	    "\"10.5.0.0/24\",\"subnet6\":\"fd00:5::/64\",\"isDefaultGateway\":"
	    "true}");
	tatt.pi.prefix6 = 64;
	ipam_parse_ip6("fd00:5::2", NULL, tatt.pi.ip6);
	ipam_parse_ip6("fd00:5::1", NULL, tatt.pi.gateway6);
	capture(print_result, NULL, out, sizeof(out));
	ok(strstr(out, "\"ips\":[{\"version\":\"4\",\"interface\":2,"
	    "\"address\":\"10.5.0.2/24\",\"gateway\":\"10.5.0.1\"},{\"version\":"
	    "\"6\",\"interface\":2,\"address\":\"fd00:5::2/64\",\"gateway\":"
	    "\"fd00:5::1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":"
	    "\"10.5.0.1\"},{\"dst\":\"::/0\",\"gw\":\"fd00:5::1\"}],") != NULL,
	    "a dual-stack result: both addresses, both routes: %s", out);
	memset(&e, 0, sizeof(e));
	strcpy(e.what, "ctl\x01 \"q\"");
	e.os = ENOENT;
	capture(print_error, &e, out, sizeof(out));
	ok_str(out, "{\"cniVersion\":\"0.4.0\",\"code\":2,\"msg\":"
	    "\"ctl\\u0001 \\\"q\\\"\",\"details\":\"No such file or "
	    "directory\"}\n", "the error object: msg what failed, details the "
	    "OS error");

	conf("GC", CONF(",\"cni.dev/valid-attachments\":[{\"containerID\":"
	    "\"c1\",\"ifname\":\"eth0\"},{\"containerID\":\"c2\"},{\"ifname\":"
	    "\"eth1\"},{\"containerID\":\"c3\",\"ifname\":\"net1\"}]"));
	ok(cni_valid(&treq, "c1/eth0") && cni_valid(&treq, "c3/net1") &&
	    !cni_valid(&treq, "c1/eth1") && !cni_valid(&treq, "c2/eth0") &&
	    !cni_valid(&treq, "c2/") && !cni_valid(&treq, "c1"),
	    "cni_valid matches containerID and ifname both");
}

static int
count_holders(uint32_t ip, const char *holder, void *arg)
{
	char *seen = arg;

	strcat(seen, holder);
	strcat(seen, ip == IP4(10, 5, 0, 3) ? "!" : ";");
	return !strcmp(holder, "drop/eth0");
}

static void
test_cni_leases(void)
{
	char dir[] = "/tmp/pelagos-unit-cni.XXXXXX", seen[256] = "";
	struct subnet sn;
	uint32_t ip;
	int fd;

	if (!mkdtemp(dir) || (fd = open(dir, O_RDONLY | O_DIRECTORY)) < 0 ||
	    mkdirat(fd, "leases", 0700) < 0) {
		ok(0, "lease directory");
		return;
	}
	ipam_parse_subnet("10.5.0.0/29", &sn);
	ok(ipam_lease_take_except(fd, &sn, IP4(10, 5, 0, 2), "keep/eth0",
	    &ip) == 0 && ip == IP4(10, 5, 0, 3), "the gateway given is skipped");
	ok(ipam_lease_take_except(fd, &sn, IP4(10, 5, 0, 2), "drop/eth0",
	    &ip) == 0 && ip == IP4(10, 5, 0, 4), "the next address follows");
	symlinkat("not-an-address", fd, "leases/junk");
	ok(ipam_lease_each(fd, count_holders, seen) == 0 &&
	    strstr(seen, "keep/eth0!") && strstr(seen, "drop/eth0;") &&
	    !strstr(seen, "not-an"), "ipam_lease_each visits leases only, "
	    "with their holders");
	ok(!exists(fd, "leases/10.5.0.4") && exists(fd, "leases/10.5.0.3"),
	    "ipam_lease_each frees what its visitor says");
	ok(ipam_lease_take_except(fd, &sn, 0, "x/y", &ip) == 0 &&
	    ip == IP4(10, 5, 0, 2), "without a gateway elsewhere only the "
	    "first host is skipped");
	close(fd);
	rm_rf_at(AT_FDCWD, dir);
}

/* RTM_NEWLINK (16), REQUEST|ACK; zero ifinfomsg; IFLA_IFNAME "eth0";
 * IFLA_MTU (4) 1400. */
static const unsigned char exp_linkmtu[] = {
	0x34, 0x00, 0x00, 0x00, 0x10, 0x00, 0x05, 0x00,
	0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x09, 0x00, 0x03, 0x00, 'e', 't', 'h', '0', 0x00, 0x00, 0x00, 0x00,
	0x08, 0x00, 0x04, 0x00, 0x78, 0x05, 0x00, 0x00,
};

/* RTM_GETROUTE (26), REQUEST|ACK; rtmsg AF_INET, dst_len 32, the rest 0;
 * RTA_DST (1) 10.0.0.2. */
static const unsigned char exp_getroute[] = {
	0x24, 0x00, 0x00, 0x00, 0x1a, 0x00, 0x05, 0x00,
	0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
	0x08, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x00, 0x02,
};

/* ip -6 route get 100::1 */
static const unsigned char exp_getroute6[] = {
	0x30, 0x00, 0x00, 0x00, 0x1a, 0x00, 0x05, 0x00,
	0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x0a, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
	0x14, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x01,
};

static void
test_netlink_cni(void)
{
	struct nl_sock s = NL_SOCK_INIT;
	struct nl_route rt;
	struct nl_link l;
	struct nl_buf b;

	if (!little_endian())
		return;
	dirty_init(&b);
	nl_req_linkmtu(&b, "eth0", 1400);
	expect_req(&b, exp_linkmtu, sizeof(exp_linkmtu),
	    "nl_req_linkmtu(eth0, 1400)");
	dirty_init(&b);
	nl_req_getroute(&b, IP4(10, 0, 0, 2), NULL);
	expect_req(&b, exp_getroute, sizeof(exp_getroute),
	    "nl_req_getroute(10.0.0.2)");
	dirty_init(&b);
	nl_req_getroute(&b, 0, (const unsigned char[16]){ 1, [15] = 1 });
	expect_req(&b, exp_getroute6, sizeof(exp_getroute6),
	    "nl_req_getroute(100::1)");
	if (!ok_sys(nl_open(&s, NETLINK_ROUTE) == 0, "nl_open"))
		return;
	ok_sys(nl_getroute(&s, IP4(127, 0, 0, 1), NULL, &rt) == 0 && rt.type == 2 &&
	    nl_getlink(&s, "lo", &l) == 0 && rt.oif == l.index,
	    "nl_getroute 127.0.0.1: a local route on lo");
	/* A kernel may have no IPv6 (a device's, or one booted ipv6.disable). */
	if (access("/proc/sys/net/ipv6", F_OK) == 0)
		ok_sys(nl_getroute(&s, 0, (const unsigned char[16]){ [15] = 1 },
		    &rt) == 0 && rt.type == 2 && rt.oif == l.index,
		    "nl_getroute ::1: a local route on lo");
	nl_close(&s);
}

int
main(void)
{
	umask(022);
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_state_format();
	test_state_reject();
	test_state_v1();
	test_state_mutations();
	test_state_inconsistent_ip();
	test_ip();
	test_subnet();
	test_ipam();
	test_ip6();
	test_subnet6();
	test_valid();
	test_sysctl();
	test_limits();
	test_cgroup_paths();
	test_confine_opts();
	test_netlink();
	test_netlink_socket();
	test_fwspec();
	test_nft();
	test_root();
	test_util();
	test_json();
	test_cni_req();
	test_cni_leases();
	test_netlink_cni();
	printf("%d passed, %d failed, 0 skipped\n", npass, nfail);
	return nfail ? 1 : 0;
}
