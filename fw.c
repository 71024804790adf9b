/* SPDX-License-Identifier: Apache-2.0 */
/* A sandbox's firewall as the lifecycle sees it: its elements in
 * pelagos's nf_tables tables (nft.c), added in one batch and removed in
 * one; the checks before a port is published; IPv4 forwarding; the
 * conntrack entries of a removed address (ct.c).
 *
 * A batch that finds the tables gone (ENOENT: flushed, or never made)
 * makes them whole in one batch with the sandbox's elements, so that a
 * failure leaves none of them; the root's other sandboxes are then
 * re-added from their state files.  A removal that finds elements gone
 * does the same and then deletes what is left one message at a time.
 * prune re-adds every running sandbox's elements, for tables another
 * root made again.
 *
 * Closing a socket that sent deletions waits for the kernel to free
 * them after a grace period (nft_rcv_nl_event): adding sends none, and
 * a removal closes its socket last, after the conntrack walk. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>

#include "pelagos.h"

/* The process's one netfilter socket, never closed before exit: the
 * last close of a socket that sent deletions waits for the kernel to
 * free them after a grace period (nft_rcv_nl_event), so a prune or a
 * create rolled back waits once, at exit, and overlapped with the rest
 * of the command.  Closed only after a failure that may have left a
 * dump unfinished on it. */
static struct nl_sock nfs = NL_SOCK_INIT;
/* The tables were made by this process's fw_add, for its sandbox alone:
 * a rollback after it (a state file that cannot be written) deletes
 * them again. */
static int alone;

/* One session with the netfilter socket, for the sandboxes of a root. */
struct fw {
	struct nl_sock *s;
	const char *table;
	int rootfd;
	unsigned int pod;	/* the index of the sandbox's first message */
	int made;		/* restore may have made the tables */
	int added;		/* and re-added this many sandboxes */
	struct nl_buf b;
};

/* What a batch holds (fw_send), in this order: the tables made whole
 * (F_TABLES; the bridge one with F_GUARD) or deleted (F_DROP), a
 * sandbox's elements added (exclusively) or deleted, with their
 * bridge-port ones. */
enum { F_TABLES = 1, F_DROP = 2, F_ADD = 4, F_EXCL = 8, F_GUARD = 16,
	F_EACH = 32 };

/* What a kernel without nf_tables, or without a family, chain type or
 * expression a table needs, answers. */
static int
missing(int err)
{
	return err == EOPNOTSUPP || err == EPROTONOSUPPORT ||
	    err == EAFNOSUPPORT || err == ENOENT;
}

/* The tables' name: PELAGOS_NFT_TABLE runs instances (and tests) side by
 * side on one host; NULL when it is no valid name. */
const char *
fw_table(void)
{
	const char *t = util_getenv("PELAGOS_NFT_TABLE");

	if (!t || !*t)
		t = DEF_NFT_TABLE;
	return valid_name(t) ? t : NULL;
}

/* The process's netfilter socket, opened on first use. */
static __attribute__((noinline)) int
nfs_open(void)
{
	return nfs.fd < 0 ? nl_open(&nfs, NETLINK_NETFILTER) : 0;
}

static __attribute__((noinline)) int
fw_open(struct fw *f, int rootfd, const char *table)
{
	f->s = &nfs;
	f->table = table;
	f->rootfd = rootfd;
	f->made = f->added = 0;
	return nfs_open();
}

/* What nft.c needs of a sandbox's interface i; the lists were checked
 * when the state was read or the options parsed.  NAT and published
 * ports are eth0's, the checks and the allowlist every interface's.
 * Static: a batch holds one sandbox. */
static __attribute__((noinline)) const struct nft_pod *
pod_of(const struct sandbox *sb, int i, int guard, struct nft_pod *p)
{
	static struct fw_port ports[FW_MAX_PORTS];
	static struct fw_egress egress[FW_MAX_EGRESS];
	const struct pod_if *pi = &sb->ifs[i];

	p->id = sb->id;
	p->veth = pi->veth_host;
	p->bridge = pi->bridge;
	p->ip = pi->ip;
	p->mac = pi->mac;
	p->ip6 = pi->prefix6 ? pi->ip6 : NULL;
	p->nat = !i && sb->nat;
	p->guard = guard;
	p->ports = ports;
	p->egress = egress;
	fwspec_list(sb->ports, ports, &p->nports, 0);
	fwspec_list(sb->egress, egress, &p->negress, 1);
	if (i)
		p->nports = 0;
	return p;
}

/* One batch of what how says.  F_EACH sends each message in a batch of
 * its own, and takes one that finds nothing to delete for done. */
static int
fw_send(struct fw *f, const struct sandbox *sb, int how)
{
	struct nlmsghdr *h;
	struct nft_pod p;
	struct nl_buf one;
	size_t off;
	int ret = 0, fam, i;

	nl_buf_init(&f->b, 1);
	nft_batch(&f->b, 0);
	for (fam = 0; fam < 2; fam++) {
		if ((how & F_TABLES) && (!fam || (how & F_GUARD)))
			nft_req_table(&f->b, f->table, fam);
		if (how & F_DROP)
			nft_req_get(&f->b, f->table, fam, 1);
		/* The bridge family's only with one of these. */
		if (!(how & (F_GUARD | F_DROP)))
			break;
	}
	f->pod = f->b.nmsg;
	for (i = 0; sb && i < sb->nifs; i++)
		nft_req_pod(&f->b, f->table, pod_of(sb, i, how & F_GUARD, &p),
		    how & F_ADD, how & F_EXCL);
	nft_batch(&f->b, 1);
	if (!(how & F_EACH))
		return nl_talk(f->s, &f->b);
	for (off = 0; off < f->b.len; off += NLMSG_ALIGN(h->nlmsg_len)) {
		h = (struct nlmsghdr *)(f->b.data + off);
		if (h->nlmsg_type == NFNL_MSG_BATCH_BEGIN ||
		    h->nlmsg_type == NFNL_MSG_BATCH_END)
			continue;
		nl_buf_init(&one, 1);
		nft_batch(&one, 0);
		nl_msg_raw(&one, h->nlmsg_type, h->nlmsg_flags, NLMSG_DATA(h),
		    h->nlmsg_len - NLMSG_HDRLEN);
		nft_batch(&one, 1);
		if (nl_talk(f->s, &one) < 0 && errno != ENOENT)
			ret = -1;
	}
	return ret;
}

/* Whether the sandbox's pods element (sb given), or else the inet
 * table, is there. */
static int
fw_has(struct fw *f, const struct sandbox *sb)
{
	struct nft_pod p;

	nl_buf_init(&f->b, 1);
	if (sb)
		nft_req_pod(&f->b, f->table, pod_of(sb, 0, 0, &p), -1, 0);
	else
		nft_req_get(&f->b, f->table, 0, 0);
	return nl_talk(f->s, &f->b) == 0;
}

/* Makes the tables whole (nft.c), in the one batch that also adds sb,
 * when given, so that a failure leaves none of them;
 * then re-adds the elements of the root's other sandboxes (but skip's)
 * from their state files, or where there is none from their intent: a
 * CNI attachment's record is that alone (and a create that died after
 * its firewall step had its elements too, until prune).  *guard tells
 * whether the bridge table could be made; a kernel without the inet one
 * fails with its errno.  f->made says the tables were not there before. */
static int
restore(struct fw *f, const struct sandbox *sb, const char *skip, int *guard)
{
	struct root_ids ids = { NULL, 0, 0 };
	struct sandbox o;
	int dfd, r;
	size_t i;

	f->made = !fw_has(f, NULL);
	*guard = F_GUARD;
	while (fw_send(f, sb, F_TABLES | F_ADD | F_EXCL | *guard) < 0) {
		/* A kernel without the bridge family: without its table. */
		if (*guard && missing(errno)) {
			*guard = 0;
			continue;
		}
		f->made &= f->b.bad == -2;	/* else the kernel made nothing */
		return -1;
	}
	/* Best effort: one sandbox whose elements no longer fit (a port
	 * taken meanwhile) must not keep the others out. */
	if (root_list(f->rootfd, &ids) < 0)
		return 0;
	if (sb)
		skip = sb->id;
	for (f->added = 0, i = 0; i < ids.n; i++) {
		if ((skip && !strcmp(ids.id[i], skip)) ||
		    (dfd = root_sbdir(f->rootfd, ids.id[i])) < 0)
			continue;
		if ((r = state_load(dfd, STATE_FILE, &o)) < 0 && errno == ENOENT)
			r = state_load(dfd, FW_FILE, &o);
		if (root_close(dfd, r) == 0 &&
		    !strcmp(o.id, ids.id[i]) && !strcmp(o.nft, f->table))
			f->added += fw_send(f, &o, F_ADD |
			    (o.antispoof ? *guard : 0)) == 0;
	}
	root_ids_free(&ids);
	return 0;
}

/* Each published port is free on this host (no socket of a host
 * process is bound to it: it is bound here for a moment, as Docker's
 * proxy binds it for good) and each HOSTIP one of its addresses. */
static int
ports_free(const struct sandbox *sb, struct pelagos_err *e)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct fw_port ports[FW_MAX_PORTS], *p;
	int fd, r, one = 1;
	size_t n;
	unsigned int k;
	char ip[16];

	fwspec_list(sb->ports, ports, &n, 0);
	for (p = ports; p < ports + n; p++) {
		sa.sin_addr.s_addr = htonl(p->ip);
		for (k = 0; k < p->n; k++) {
			sa.sin_port = htons((uint16_t)(p->hport + k));
			if ((fd = (int)syscall(SYS_socket, AF_INET,
			    SOCK_CLOEXEC | (p->proto == IPPROTO_TCP ?
			    SOCK_STREAM : SOCK_DGRAM), 0)) < 0)
				return err_os(e, "socket");
			r = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
			    sizeof(one)) < 0 ||
			    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0;
			close(fd);
			/* EADDRINUSE, or EADDRNOTAVAIL: not an address of
			 * ours. */
			if (r) {
				ipam_format_ip(p->ip, ip);
				return err_os(e, "publish %s:%u/%s", ip,
				    p->hport + k, p->proto == IPPROTO_TCP ?
				    "tcp" : "udp");
			}
		}
	}
	return 0;
}

/* Turned on when the first sandbox needs it, as Docker does; never off
 * again, since other sandboxes (of any root) may rely on it. */
static __attribute__((noinline)) int
forward_on(struct pelagos_err *e)
{
	static const char path[] = "/proc/sys/net/ipv4/ip_forward";
	char c = 0;
	int fd, ret = 0;

	/* pread leaves the offset at 0, where a sysctl takes a write. */
	if ((fd = openat(AT_FDCWD, path, O_RDWR | O_CLOEXEC)) < 0 ||
	    pread(fd, &c, 1, 0) != 1 || (c != '1' && write(fd, "1", 1) != 1))
		ret = err_os(e, "turn on IPv4 forwarding in %s", path);
	root_close(fd, 0);
	return ret;
}

static __attribute__((noinline)) int
lacks(struct pelagos_err *e)
{
	return err_msg(e, EOPNOTSUPP, "--nat, --publish and --egress need "
	    "nf_tables in the kernel (CONFIG_NFT_NAT, CONFIG_NFT_MASQ, "
	    "CONFIG_NFT_FIB_INET; --egress CONFIG_NF_TABLES_BRIDGE)");
}

/* Adds the sandbox's elements, its intent recorded first; records in sb
 * the table and whether the bridge-port checks are on.  A plain sandbox
 * on a kernel without nf_tables gets none; one that asked for NAT, ports
 * or an allowlist fails there, naming what the kernel lacks. */
int
fw_add(int rootfd, struct sandbox *sb, struct pelagos_err *e)
{
	struct fw f;
	int guard = F_GUARD, ret = -1, i;
	const char *w;

	if (!(f.table = fw_table()))
		return err_msg(e, EINVAL, "invalid PELAGOS_NFT_TABLE");
	if (ports_free(sb, e) < 0)
		return -1;
	util_strcpy(sb->nft, f.table);
	if (fw_open(&f, rootfd, f.table) < 0) {
		if (missing(errno))
			goto lacks;
		err_os(e, "netfilter netlink socket");
		goto out;
	}
	sb->antispoof = 1;
	if ((i = root_sbdir(rootfd, sb->id)) < 0 ||
	    root_close(i, state_save(i, FW_FILE, sb)) < 0) {
		err_os(e, "record firewall of sandbox %s", sb->id);
		goto out;
	}
	if (fw_send(&f, sb, F_ADD | F_EXCL | guard) < 0 &&
	    (errno != ENOENT || f.b.bad == -2 ||
	    restore(&f, sb, NULL, &guard) < 0)) {
		/* The sandbox's messages: pods, nat, one per --publish. */
		i = f.b.bad - (int)f.pod - 1 - !!sb->nat;
		for (w = sb->ports; i > 0 && w; i--)
			if ((w = util_strchr(w, ',')))
				w++;
		if (errno == EEXIST && i == 0 && w && *w)
			err_msg(e, EEXIST, "publish %.*s: already published by "
			    "another sandbox", (int)util_span(w, ",", 0), w);
		else if (missing(errno))
			goto lacks;
		else
			err_os(e, "add sandbox %s to nftables table %s", sb->id,
			    f.table);
		/* The answer was lost: the batch may have been committed,
		 * which the sandbox's own pods element tells. */
		if (f.b.bad == -2 && (fw_has(&f, sb) || f.made))
			goto undo;
		goto out;
	}
	if (!guard && sb->egress[0])
		lacks(e);
	else if (!(sb->nat || sb->ports[0]) || forward_on(e) == 0) {
		alone = f.made && !f.added;
		ret = 0;
		goto out;
	}
undo:
	/* What is there of this sandbox goes, and the tables it made (a
	 * sandbox of another root added since gets its elements back with
	 * its root's next prune). */
	fw_send(&f, sb, guard);
	if (f.made)
		fw_send(&f, NULL, F_DROP);
	goto out;
lacks:
	if (!sb->nat && !sb->ports[0] && !sb->egress[0]) {
		sb->nft[0] = '\0';
		ret = 0;
	} else
		lacks(e);
out:
	if (ret < 0)
		sb->nft[0] = '\0';
	sb->antispoof = sb->nft[0] && guard;
	return ret;
}

/* The last close of a socket that sent deletions waits for the kernel
 * to free them after an RCU grace period (nft_rcv_nl_event flushes its
 * destroy work): 5-10 ms at the exit of every rm here.  A child holds
 * the socket past this process's exit, and nothing else (no lock, no
 * stdio): it reads the pipe whose other end this process holds until
 * it exits, then closes the socket, and that wait is nobody's. */
static void
linger(void)
{
	static int done;
	int p[2];
	char c;

	if (done || nfs.fd < 0 || syscall(SYS_pipe2, p, O_CLOEXEC) < 0)
		return;
	done = 1;
	if (cgroup_fork(-1) == 0) {
		dup2(nfs.fd, 0);
		dup2(p[0], 1);
		util_close_from(2);
		while (read(1, &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(p[0]);
}

/* Removes the sandbox's elements, then the conntrack entries of its
 * address.  A sandbox whose state is lost (derived) has its elements in
 * its intent file, if its create got so far. */
int
fw_del(int rootfd, const struct sandbox *sb, int derived,
	struct pelagos_err *e)
{
	struct sandbox in;
	struct fw f;
	int guard, how, r = 0;
	char a[16];

	if (derived) {
		if ((r = root_sbdir(rootfd, sb->id)) >= 0)
			r = root_close(r, state_load(r, FW_FILE, &in));
		/* No directory, no intent: its create never got so far. */
		if (r < 0)
			return errno == ENOENT || errno == EBADMSG ||
			    errno == ENOTDIR || errno == ELOOP ? 0 :
			    err_os(e, "read firewall of sandbox %s", sb->id);
		sb = &in;
	}
	if (!sb->nft[0])
		return 0;
	/* ENOENT: the tables were flushed (they are made whole, with the
	 * root's other sandboxes), or an element was deleted by hand. */
	how = sb->antispoof ? F_GUARD : 0;
	if ((r = fw_open(&f, rootfd, sb->nft)) == 0 && fw_send(&f, sb, how) < 0)
		r = errno != ENOENT || (restore(&f, NULL, sb->id, &guard) < 0 &&
		    !missing(errno)) ? -1 : fw_send(&f, sb, how | F_EACH);
	/* Tables this removal made for no sandbox (those of a create that
	 * failed before they were there) go again. */
	if (r == 0 && ((f.made && !f.added) || alone))
		fw_send(&f, NULL, F_DROP);
	if (r == 0)
		linger();
	if (r < 0 && !missing(errno))
		r = err_os(e, "remove sandbox %s from nftables table %s",
		    sb->id, sb->nft);
	/* Entries without a translation (no --nat, no port) are left to
	 * time out: a walk costs the whole conntrack table. */
	else if (sb->nifs && (sb->nat || sb->ports[0]) &&
	    ct_forget(nfs.fd < 0 ? NULL : &nfs, sb->ifs[0].ip) < 0) {
		ipam_format_ip(sb->ifs[0].ip, a);
		r = err_os(e, "delete conntrack entries of %s", a);
		nl_close(&nfs);
	} else
		r = 0;
	return r;
}

/* For prune, when a sandbox of the root has elements in table: the
 * tables made whole and every running sandbox's elements added again
 * (whatever is there already stays). */
int
fw_sync(int rootfd, const char *table, struct pelagos_err *e)
{
	struct fw f;
	int guard, r;

	if ((r = fw_open(&f, rootfd, table)) == 0)
		r = restore(&f, NULL, NULL, &guard);
	if (r < 0 && !missing(errno))
		return err_os(e, "restore nftables table %s", table);
	return 0;
}

/* The packets the sandbox's egress allowlist dropped, on all its
 * interfaces. */
int
fw_drops(const struct sandbox *sb, unsigned long long *packets)
{
	unsigned long long n;
	int i;

	if (!sb->egress[0] || !sb->antispoof || nfs_open() < 0)
		return -1;
	for (*packets = 0, i = 0; i < sb->nifs; i++) {
		if (nft_drops(&nfs, sb->nft, sb->ifs[i].veth_host, &n) < 0)
			return -1;
		*packets += n;
	}
	return 0;
}

/* For a CNI CHECK (attach.c): every element recorded for the sandbox id
 * of the root is in its table; 0 too when none is recorded. */
int
fw_check(int rootfd, const char *id)
{
	struct sandbox sb;
	struct nft_pod p;
	struct nl_buf b;
	int d;

	if ((d = root_sbdir(rootfd, id)) < 0 ||
	    root_close(d, state_load(d, FW_FILE, &sb)) < 0)
		return errno == ENOENT ? 0 : -1;
	nl_buf_init(&b, 1);
	nft_req_pod(&b, sb.nft, pod_of(&sb, 0, sb.antispoof, &p), -2, 0);
	return nfs_open() < 0 ? -1 : nl_talk(&nfs, &b);
}
