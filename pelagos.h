/* SPDX-License-Identifier: Apache-2.0 */
/* pelagos: pod sandboxes from one static binary.  The one shared header:
 * its prototypes are grouped per file, lowest layer first, so that it
 * reads as the index of the code.  A file calls only into files listed
 * above its own group (the command layer, last, into any of them). */
#ifndef PELAGOS_H
#define PELAGOS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ID_LEN		16	/* hex characters of a sandbox ID */
#define SHORT_LEN	8	/* ID prefix used in kernel object names */
#define NAME_MAX_LEN	63
#define HOST_MAX_LEN	64
#define IFNAME_LEN	16	/* IFNAMSIZ, with the NUL */
#define NETNS_DIR	"/run/netns"
#define NS_PREFIX	"psb-"
#define VETH_PREFIX	"vh-"
#define PEER_PREFIX	"eth"	/* the pod's interfaces: eth0, eth1, ... */
#define MAX_IFS		4	/* interfaces (networks) per sandbox */
#define MAX_POD_OPTS	16	/* of each --dns, --add-host, --sysctl, ... */
#define BOOT_ID_LEN	36	/* /proc/sys/kernel/random/boot_id */

/* Namespace sharing, named as the Rust pelagos and the CRI name them. */
enum ns_mode { NS_POD, NS_CONTAINER, NS_NODE };

struct subnet {
	uint32_t net;		/* host byte order */
	int prefix;
};

struct subnet6 {
	unsigned char net[16];
	int prefix;		/* 0: none */
};

/* A network: a definition of `network create`, or the default one. */
struct netdef {
	char name[NAME_MAX_LEN + 1];
	char bridge[IFNAME_LEN];
	struct subnet sn;
	uint32_t gateway;
	struct subnet6 sn6;	/* prefix 0: IPv4 only; the gateway is ::1 */
	int mtu;		/* 0: the kernel's default */
};

/* One interface of a sandbox, eth<index> in the pod, its veth's host end
 * on the network's bridge. */
struct pod_if {
	/* The numbers first: within 128 bytes of the start (of the struct,
	 * and of a CNI attachment's), x86 reaches each with a one-byte
	 * displacement (192 bytes less code). */
	uint32_t ip, gateway;		/* ip 0: none yet (create picks one) */
	int prefix;
	int prefix6;			/* 0: no IPv6 */
	int mtu;			/* 0: the kernel's default */
	unsigned char mac[6];		/* ipam_mac(ip); all zero: version 1 */
	unsigned char ip6[16], gateway6[16];	/* ip6 all zero: none yet */
	char bridge[IFNAME_LEN];
	char veth_host[IFNAME_LEN];
	char network[NAME_MAX_LEN + 1];
};
/* A pod's or a workload's cgroup limits (cgroup.c), 0 for none. */
enum { LIM_MEMORY, LIM_SWAP, LIM_QUOTA, LIM_PIDS, LIM_WEIGHT, LIM_COUNT };
struct limits {
	unsigned long long v[LIM_COUNT];	/* bytes, memory+swap bytes,
						 * CPU us per 100 ms, pids,
						 * cpu.weight */
};
#define CG_PATH_LEN	112	/* a pod's cgroup path, with the NUL */

/* A --publish: a host port, on one of the host's addresses or on all,
 * forwarded to a port of the pod. */
struct fw_port {
	uint32_t ip;			/* host byte order, 0: every address */
	uint16_t hport, pport;		/* the first of a range */
	uint16_t n;			/* ports in the range, 1 for one */
	uint8_t proto;			/* IPPROTO_TCP or IPPROTO_UDP */
};

/* An --egress: a network the sandbox may send to, on ports lo..hi of
 * proto (0: of TCP and UDP), or with hi 0 anything. */
struct fw_egress {
	uint32_t net;			/* host byte order */
	uint8_t prefix, proto;
	uint16_t lo, hi;
};

#define FW_MAX_PORTS	16	/* --publish per sandbox */
#define FW_MAX_RANGE	64	/* published ports, a range's each */
#define FW_MAX_EGRESS	16	/* --egress per sandbox */
#define FWSPEC_LIST_MAX	512	/* the longest list of either, as text */

/* Scalars first, then the short strings: their one-byte displacements
 * from a struct sandbox pointer make the code smaller. */
struct sandbox {
	int nifs;			/* 0 for a host-network pod */
	enum ns_mode net, ipc, pid;
	pid_t pause_pid;		/* 0 while no pause is known */
	/* The firewall (fw.c), as the state keys nat ... antispoof record
	 * it. */
	int nat;			/* --nat: masqueraded */
	int antispoof;			/* its bridge-port checks are on */
	int live;			/* at load, a pause held the state's
					 * live lock (no key of the file) */
	unsigned long long pause_start;	/* /proc/<pid>/stat field 22 */
	unsigned long long netns_ino;
	long long created;		/* seconds since the epoch */
	char id[ID_LEN + 1];
	char ns_name[IFNAME_LEN];	/* "" for a host-network pod */
	struct pod_if ifs[MAX_IFS];
	char name[NAME_MAX_LEN + 1];	/* "" when unnamed */
	char hostname[HOST_MAX_LEN + 1];
	char boot_id[BOOT_ID_LEN + 1];	/* the kernel's boot ID; "" unknown */
	char nft[NAME_MAX_LEN + 1];	/* table of its elements, "" none */
	struct limits lim;
	char cgroup[CG_PATH_LEN];	/* "" when the pod has none */
	char ports[FWSPEC_LIST_MAX];	/* --publish words, comma-joined */
	char egress[FWSPEC_LIST_MAX];	/* --egress words, comma-joined */
};

/* err.c: the error record.  Below the command layer a failure returns -1
 * with errno set and, where the message needs an object, fills one of
 * these; only the command layer prints it, as
 * "pelagos: <command>: <what>[: <OS error>]". */
struct pelagos_err {
	char what[200];		/* "<what> <object>", never a command name */
	int os;			/* errno whose text follows, 0 for none */
};
int err_os(struct pelagos_err *e, const char *fmt, ...);
int err_msg(struct pelagos_err *e, int errnum, const char *fmt, ...);
/* On a variadic function's definition: GCC's x86_64 prologue saves the
 * eight SSE registers for a double that pelagos never passes (59 bytes
 * a function). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ERR_VA_NOFP __attribute__((target("general-regs-only")))
#else
#define ERR_VA_NOFP
#endif

/* util.c: small stand-ins for printf, stdio, malloc, qsort, opendir. */
struct util_dir {
	int fd;
	size_t pos, len;
	unsigned long long buf[512];	/* getdents64 records, 8-aligned */
};
size_t util_vfmt(char *buf, size_t len, const char *fmt, va_list ap);
size_t util_fmt(char *buf, size_t len, const char *fmt, ...);
void util_out(const char *fmt, ...);
int util_flush(void);
void util_err(const char *line);
void *util_alloc(size_t bytes);
void util_release(void *p, size_t bytes);
int util_grow(void **p, size_t *cap, size_t elem);
void util_sort(void *base, size_t n, size_t size,
	int (*cmp)(const void *, const void *));
int util_dir_open(struct util_dir *d, int dirfd, const char *path);
int util_dir_next(struct util_dir *d, const char **name);
void util_dir_close(struct util_dir *d);
int util_parse_ull(const char *s, const char **end, unsigned long long max,
	unsigned long long *v);
int util_write_all(int fd, const void *p, size_t n);
int util_dir_isdir(const char *name);
void util_close_from(int fd);
struct stat;
int util_fstatat(int dirfd, const char *path, struct stat *st, int flags);
int util_fstat(int fd, struct stat *st);
#define util_stat(path, st)	util_fstatat(AT_FDCWD, (path), (st), 0)
size_t util_span(const char *s, const char *set, int in);
char *util_strcpy(char *d, const char *s);
void *util_memchr(const void *p, int c, size_t n);
char *util_strchr(const char *s, int c);
char *util_getenv(const char *name);
size_t util_strlen(const char *s);
char *util_strrchr(const char *s, int c);
int util_strncmp(const char *a, const char *b, size_t n);
int util_signal(int sig, void (*handler)(int));

/* valid.c: the words users and files hand us, checked before use. */
int valid_id(const char *s);
int valid_name(const char *s);
int valid_hostname(const char *s);
int valid_ifname(const char *s);
int valid_dns_option(const char *s);
int valid_path(const char *s);
int valid_boot_id(const char *s);
int valid_cni_id(const char *s);

/* json.c: JSON text checked strictly and split into tokens (jsmn), read
 * by key; strings written escaped. */
#define JSON_MAX_BYTES	65536
#define JSON_MAX_TOKENS	1024
#define JSON_MAX_DEPTH	16
enum { JSON_OBJECT = 1, JSON_ARRAY, JSON_STRING, JSON_PRIMITIVE };
struct json_tok {
	int type, start, end;
	int size;		/* children; a key's is 1 */
	int parent;		/* token index, -1 for the top object */
};
struct json {
	const char *js;
	int n;
	struct json_tok tok[JSON_MAX_TOKENS];
};
int json_parse(struct json *j, const char *js, size_t len);
int json_type(const struct json *j, int t);
int json_next(const struct json *j, int parent, int prev);
int json_get(const struct json *j, int obj, const char *key);
int json_string(const struct json *j, int t, char *buf, size_t len);
int json_bool(const struct json *j, int t, int *v);
int json_uint(const struct json *j, int t, unsigned long long max,
	unsigned long long *v);
const char *json_raw(const struct json *j, int t, size_t *n);
void json_put(const char *s);

/* netlink.c: netlink requests built in a buffer, sent as one batch. */
#define NL_BUFSZ 24576	/* both nf_tables tables and a sandbox fit */
struct nl_buf {
	size_t len;
	size_t msg;		/* offset of the message being built */
	uint32_t seq;		/* sequence number of the first message */
	unsigned int nmsg;
	int err;		/* sticky: an append did not fit */
	int bad;		/* nl_talk: index of the message that failed */
	unsigned char data[NL_BUFSZ];	/* last: the rest are one byte away */
};
struct nl_sock {
	int fd;
	uint32_t seq;		/* next sequence number on this socket */
	uint32_t portid;	/* what the kernel addresses replies to */
};
#define NL_SOCK_INIT { -1, 0, 0 }
struct nl_link {
	int index;
	unsigned int flags;
	int is_bridge;
	int master;
	int mtu;
	unsigned char mac[6];
};
struct nl_route {
	int type;		/* RTN_*: RTN_LOCAL for an address of our own */
	int oif;
	uint32_t gw;		/* 0: on-link */
};
void nl_buf_init(struct nl_buf *b, uint32_t seq);
void nl_msg(struct nl_buf *b, uint16_t type, uint16_t flags,
	const void *hdr, size_t hdrlen);
void nl_msg_raw(struct nl_buf *b, uint16_t type, uint16_t flags,
	const void *hdr, size_t hdrlen);
void nl_put(struct nl_buf *b, uint16_t type, const void *data, size_t len);
void nl_put_str(struct nl_buf *b, uint16_t type, const char *s);
void nl_put_u32(struct nl_buf *b, uint16_t type, uint32_t v);
size_t nl_nest(struct nl_buf *b, uint16_t type);
void nl_nest_end(struct nl_buf *b, size_t off);
void nl_req_newbridge(struct nl_buf *b, const char *name,
	const unsigned char mac[6]);
void nl_req_linkup(struct nl_buf *b, const char *name);
void nl_req_linkdown(struct nl_buf *b, const char *name);
void nl_req_newveth(struct nl_buf *b, const char *host, int master,
	const char *peer, int peer_nsfd, int mtu, const unsigned char *mac);
void nl_req_newaddr(struct nl_buf *b, int ifindex, uint32_t ip, int prefix);
void nl_req_newaddr6(struct nl_buf *b, int ifindex, const unsigned char ip[16],
	int prefix);
void nl_req_defroute(struct nl_buf *b, uint32_t gw);
void nl_req_defroute6(struct nl_buf *b, const unsigned char gw[16], int oif);
void nl_req_dellink(struct nl_buf *b, const char *name);
void nl_req_getlink(struct nl_buf *b, const char *name);
void nl_req_linkmtu(struct nl_buf *b, const char *name, unsigned int mtu);
void nl_req_getroute(struct nl_buf *b, uint32_t dst,
	const unsigned char *dst6);
int nl_open(struct nl_sock *s, int protocol);
void nl_close(struct nl_sock *s);
int nl_talk(struct nl_sock *s, struct nl_buf *b);
struct nlmsghdr;
int nl_talk_cb(struct nl_sock *s, struct nl_buf *b,
	int (*cb)(const struct nlmsghdr *h, void *arg), void *arg);
int nl_getlink(struct nl_sock *s, const char *name, struct nl_link *out);
int nl_getroute(struct nl_sock *s, uint32_t dst, const unsigned char *dst6,
	struct nl_route *out);
int nl_attr_next(const unsigned char **p, size_t *len,
	const unsigned char **val, size_t *vlen);
const unsigned char *nl_attr_get(const unsigned char *p, size_t len, int type,
	size_t *vlen);

/* root.c: the root directory: sandbox directories, names, locks, links
 * and listing. */
struct root_ids {
	char (*id)[ID_LEN + 1];
	size_t n, cap;
};
int root_dir(int rootfd, const char *name);
int root_sync(int fd);
int root_close(int fd, int ret);
int root_open(const char *path, int create);
int root_lock(int rootfd, int how);
int root_sbdir(int rootfd, const char *id);
int root_claim(int rootfd, const char *id);
int root_busy(int rootfd, const char *id);
int root_exists(int rootfd, const char *id);
int root_rmdir(int rootfd, const char *id);
int root_link_read(int dirfd, const char *path, char id[ID_LEN + 1]);
int root_link_make(int rootfd, const char *dir, const char *name,
	const char *id, int sync);
int root_link_free(int rootfd, const char *dir, const char *name,
	const char *id);
int root_link_take(int rootfd, const char *dir, const char *name,
	const char *id, char owner[ID_LEN + 1], int sync);
int root_links_sweep(int rootfd, const char *dir,
	int (*drop)(int rootfd, const char *name, const char *id,
	const void *arg),
	const void *arg);
#define ROOT_LINK_MAX	320	/* what a link may point at, with the NUL */
int root_links_each(int rootfd, const char *dir,
	int (*drop)(int rootfd, const char *name, const char *target,
	const void *arg),
	const void *arg);
int root_is_id(int rootfd, const char *name, const char *id,
	const void *want);
int root_is_orphan(int rootfd, const char *name, const char *id,
	const void *arg);
int root_name_take(int rootfd, const char *name, const char *id,
	char owner[ID_LEN + 1]);
int root_name_free(int rootfd, const char *name, const char *id);
int root_name_lookup(int rootfd, const char *name, char id[ID_LEN + 1]);
int root_list(int rootfd, struct root_ids *ids);
void root_ids_free(struct root_ids *ids);

/* ipam.c: addresses: their text forms, subnets, the lowest-free pick,
 * leases. */
struct ipam_used {
	uint32_t *v4;
	size_t n4, cap4;
	unsigned char (*v6)[16];
	size_t n6, cap6;
};
int ipam_parse_ip(const char *s, const char *end, uint32_t *ip);
void ipam_format_ip(uint32_t ip, char out[16]);
uint32_t ipam_mask(int prefix);
const char *ipam_reserved(const struct subnet *sn);
int ipam_parse_ip6(const char *s, const char *end, unsigned char a[16]);
int ipam_hexval(char c);
void ipam_format_ip6(const unsigned char a[16], char out[40]);
void ipam_mac(uint32_t ip, unsigned char mac[6]);
void ipam_format_mac(const unsigned char m[6], char out[18]);
int ipam_in6(const unsigned char *a, const unsigned char *b, int prefix);
void ipam_mask6(unsigned char a[16], int prefix);
int ipam_parse_subnet(const char *s, struct subnet *sn);
int ipam_parse_subnet6(const char *s, struct subnet6 *sn);
uint64_t ipam_hash(const char *s);
void ipam_ula(const char *name, struct subnet6 *sn);
void ipam_gateway6(const struct subnet6 *sn, unsigned char gw[16]);
int ipam_pick(const struct subnet *sn, uint32_t gw, const uint32_t *used,
	size_t n, uint32_t *ip);
int ipam_pick6(const struct subnet6 *sn, const unsigned char (*used)[16],
	size_t n, unsigned char ip[16]);
int ipam_used_read(int rootfd, struct ipam_used *u);
void ipam_used_free(struct ipam_used *u);
int ipam_lease_take(int rootfd, struct ipam_used *u, struct pod_if *pi,
	const char *id, int *which, char owner[ID_LEN + 1]);
int ipam_lease_take_except(int rootfd, const struct subnet *sn,
	uint32_t except, const char *holder, uint32_t *ip);
int ipam_lease_free(int rootfd, uint32_t ip, const unsigned char *ip6,
	const char *id);
int ipam_lease_each(int rootfd,
	int (*fn)(uint32_t ip, const char *holder, void *arg), void *arg);
int ipam_leased(int rootfd, const struct subnet *sn);

/* nft.c: pelagos's nf_tables tables, and one sandbox's elements in
 * them. */
struct nft_pod {
	const char *id;			/* the elements' comment */
	const char *veth, *bridge;	/* its bridge port, its bridge */
	uint32_t ip;
	const unsigned char *mac;
	int nat, guard;			/* masquerade; bridge-port checks */
	const struct fw_port *ports;
	size_t nports;
	const struct fw_egress *egress;
	size_t negress;
	const unsigned char *ip6;	/* NULL: none */
};
void nft_batch(struct nl_buf *b, int end);
void nft_req_table(struct nl_buf *b, const char *table, int bridge);
void nft_req_get(struct nl_buf *b, const char *table, int bridge, int del);
void nft_req_pod(struct nl_buf *b, const char *table, const struct nft_pod *p,
	int op, int excl);
int nft_drops(struct nl_sock *s, const char *table, const char *veth,
	unsigned long long *packets);

/* ct.c: connection tracking entries of an address, deleted. */
int ct_forget(struct nl_sock *sock, uint32_t ip);

/* fwspec.c: the words of --publish and --egress. */
int fwspec_parse(const char *word, void *item, int egress);
int fwspec_list(const char *list, void *items, size_t *n, int egress);

/* state.c: fixed-format text files (a "MAGIC VERSION" line, then one
 * "key value" line per key of a table, in order), strictly parsed and
 * written whole; and the state file, one such table. */
enum kv_type {
	T_ID, T_NAME, T_MODE, T_PIDMODE, T_IFNAME, T_ADDR, T_IP, T_HOST,
	T_PID, T_ULL, T_LL, T_PHASE, T_SKIP, T_IFS, T_NETNAME, T_ADDR6,
	T_IP6, T_INT, T_NET, T_NET6, T_BOOT, T_CGROUP, T_LIMIT, T_ONOFF,
	T_PORTS, T_EGRESS
};
struct kv_key {
	unsigned char type;	/* an enum kv_type */
	unsigned char versions;	/* bit n: present in version n */
	unsigned short off;	/* of the value in the table's struct */
};
/* A table is one list of K(name, type, versions, offset) lines, made
 * into its names (KV_NAME) and its keys (KV_KEY). */
#define KV_NAME(n, t, v, o)	n "\0"
#define KV_KEY(n, t, v, o)	{ t, v, o },
struct kv_file {
	const char *magic;	/* with its trailing space */
	int version;		/* the one written; older ones are read */
	const struct kv_key *keys;
	size_t nkeys;
	const char *names;	/* the keys' names, in their order */
};
int state_kv_format(const struct kv_file *f, const void *base, char *buf,
	size_t len);
int state_kv_parse(const struct kv_file *f, const char *buf, size_t len,
	void *base, int *version);
int state_kv_save(int dirfd, const char *name, const char *tmp,
	const char *buf, size_t n, int sync);
int state_kv_load(int dirfd, const char *name, char *buf, size_t max,
	int *held);
int state_live_make(int dirfd);
int state_format(const struct sandbox *sb, char *buf, size_t len);
int state_parse(const char *buf, size_t len, struct sandbox *sb);
#define STATE_FILE	"state"
#define FW_FILE		"fw"	/* the firewall's intent (fw.c) */
int state_save(int dirfd, const char *name, const struct sandbox *sb);
int state_load(int dirfd, const char *name, struct sandbox *sb);

/* netdef.c: networks: the default one and the definitions of network
 * create, each a file under <root>/networks. */
struct netdefs {
	struct netdef *v;
	size_t n, cap;
};
int netdef_check(const struct netdef *nd, struct pelagos_err *e);
int netdef_default(const char *bridge, const char *subnet, struct netdef *nd,
	struct pelagos_err *e);
int netdef_load(int rootfd, const char *name, const struct netdef *def,
	struct netdef *nd);
int netdef_list(int rootfd, const struct netdef *def, struct netdefs *l,
	char bad[NAME_MAX_LEN + 1]);
void netdef_list_free(struct netdefs *l);
int netdef_create(int rootfd, const struct netdef *nd,
	const struct netdef *def, struct pelagos_err *e);
int netdef_remove(int rootfd, const char *name, const struct netdef *def,
	struct pelagos_err *e);

/* proc.c: the namespace table, and processes by identity (PID and start
 * time) and by namespace. */
enum ns_kind { NSK_IPC, NSK_UTS, NSK_NET, NSK_PID, NSK_COUNT };
struct ns_info {
	char name[4];		/* as in /proc/<pid>/ns/<name> */
	int flag;		/* CLONE_NEW* */
	char oci[8];		/* as an OCI bundle's linux.namespaces names it */
};
extern const struct ns_info proc_ns[NSK_COUNT];	/* in the order run joins */
#define PROC_MAX_PAUSES	4	/* a --pod-pid pause is two processes */
struct proc_id {
	pid_t pid;
	unsigned long long start;
};
struct proc_scan {
	enum ns_kind ns;
	unsigned long long ino;		/* 0: look for pauses only */
	char tag[IFNAME_LEN];		/* the pause's tag */
	int npause;
	struct proc_id *other;		/* everything else in the namespace */
	size_t nother, cap;
	struct proc_id pause[PROC_MAX_PAUSES];
};
ssize_t proc_read(const char *path, char *buf, size_t len);
int proc_null_stdio(void);
void proc_ns_path(char *buf, size_t len, pid_t pid, enum ns_kind k);
unsigned long long proc_ns_ino(pid_t pid, enum ns_kind k);
int proc_start(pid_t pid, unsigned long long *start, char *state);
int proc_same(pid_t pid, unsigned long long start);
int proc_stop(pid_t pid, unsigned long long start, int sig,
	const char *tag);
int proc_scan(struct proc_scan *s);
int proc_sysctl_ns(const char *kv);
void proc_scan_free(struct proc_scan *s);

/* cgroup.c: a pod's cgroup v2, the leaves of its pause and workloads,
 * their limits and usage. */
/* The limit options, in LIM_* order, at index LIMIT_AT of the option
 * tables of create and run; run's confinement options follow them. */
#define LIMIT_OPTS { "--memory", 0, 1 }, { "--memory-swap", 0, 1 }, \
	{ "--cpus", 0, 1 }, { "--pids", 0, 1 }, { "--cpu-weight", 0, 1 }
#define LIMIT_AT	5
int cgroup_limit(int i, const char *v, struct limits *l);
int cgroup_parent(char buf[CG_PATH_LEN]);
int cgroup_create(struct sandbox *sb, int *leaf, struct pelagos_err *e);
int cgroup_leaf(const struct sandbox *sb, const char *name,
	const struct limits *l, char path[CG_PATH_LEN + 16], int *fd,
	struct pelagos_err *e);
pid_t cgroup_fork(int dirfd);
unsigned long long cgroup_leaf_done(const char *path);
long cgroup_busy(const char *path);
int cgroup_remove(const char *path, pid_t pause, struct pelagos_err *e);
void cgroup_derive(const char *id, char path[CG_PATH_LEN]);
void cgroup_prune(int rootfd);
int cgroup_stat(const char *dir, const char *file, const char *key,
	unsigned long long *v);

/* confine.c: what a workload may do: capabilities, user, no_new_privs,
 * the seccomp filter, masked and read-only paths. */
#if defined(__x86_64__)
#define SECCOMP_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define SECCOMP_ARCH AUDIT_ARCH_I386
#elif defined(__arm__)
#define SECCOMP_ARCH AUDIT_ARCH_ARM
#elif defined(__riscv) && __riscv_xlen == 64
#define SECCOMP_ARCH AUDIT_ARCH_RISCV64
#else
#error "no seccomp architecture for this target: add its AUDIT_ARCH_*"
#endif
#define CF_PRIVILEGED	0x1	/* all capabilities, no filter, no masks */
#define CF_NEW_PRIVS	0x2	/* --allow-new-privileges */
#define CF_UNCONFINED	0x4	/* --seccomp=unconfined */
#define CF_READ_ONLY	0x8	/* --read-only */
#define CF_USER		0x10	/* --user given */
#define CF_MAX_GROUPS	32
/* run's options, in the order confine_opt numbers them. */
#define CONFINE_OPTS { "--privileged", 0, 0 }, \
	{ "--allow-new-privileges", 0, 0 }, { "--seccomp", 0, 1 }, \
	{ "--read-only", 0, 0 }, { "--user", 0, 1 }, { "--cap-add", 0, 1 }, \
	{ "--cap-drop", 0, 1 }, { "--group-add", 0, 1 }
struct confine {
	int flags;
	unsigned long long add, drop;	/* capability bits */
	unsigned int uid, gid;
	unsigned int groups[CF_MAX_GROUPS];
	size_t ngroups;
};
int confine_opt(int i, const char *v, struct confine *c);
int confine_mounts(const struct confine *c, struct pelagos_err *e);
int confine_apply(const struct confine *c, int *chan, struct pelagos_err *e);

/* pause.c: the pause process and its protocol: argv, tag, handshake, and
 * how a process is recognised as a pause. */
#define PAUSE_HOST_IPC	0x1
#define PAUSE_HOST_NET	0x2
#define PAUSE_POD_PID	0x4
void pause_tag(const char *id, char tag[IFNAME_LEN]);
int pause_is(pid_t pid, const char *tag);
int pause_spawn(const char *tag, int flags, const char *hostname,
	const char *const *sysctl, size_t nsysctl, int cgleaf, int live,
	int sigfd, pid_t *pid, unsigned long long *start, struct pelagos_err *e);
int pause_main(int argc, char **argv, struct pelagos_err *e);

/* net.c: network plumbing: /run/netns, namespaces, bridge, veth, pod
 * addresses and routes. */
int net_ns_create(const char *name, int ipv6, int *nsfd,
	struct nl_sock *podnl, int *made, struct pelagos_err *e);
int net_ns_remove(const char *name, int *unmounted, struct pelagos_err *e);
unsigned long long net_ns_ino(const char *name);
void net_bridge_mac(const char *bridge, unsigned char mac[6]);
int net_bridge_ready(struct nl_sock *nl, const struct netdef *nd, int *index,
	struct pelagos_err *e);
int net_veth_create(struct nl_sock *nl, const char *host, int brindex,
	const char *peer, int nsfd, int mtu, const unsigned char *mac,
	int quiet, struct pelagos_err *e);
int net_proc(void);
void net_proc_close(void);
int net_ipv6_ifconf(int nsfd, const char *ifname, int on,
	struct pelagos_err *e);
int net_veth_release(const char *host, int down_only,
	struct pelagos_err *e);
int net_pod_config(struct nl_sock *podnl, const char *ifname,
	const struct pod_if *pi, int defroute, struct pelagos_err *e);
int net_ns_open(const char *path, int *nsfd, struct nl_sock *podnl,
	struct pelagos_err *e);

/* What a sandbox is made with beyond its own record: the networks of its
 * interfaces, its files and its sysctls, as create was given them. */
enum { POD_DNS, POD_SEARCH, POD_DNSOPT, POD_HOSTS, POD_SYSCTL, POD_NLISTS };
struct pod_opts {
	int mtu;			/* 0: each network's */
	/* --dns, --dns-search, --dns-option, --add-host NAME:IP and
	 * --sysctl KEY=VALUE, in that order */
	const char *v[POD_NLISTS][MAX_POD_OPTS];
	size_t n[POD_NLISTS];
	const char *resolv;		/* the host's resolv.conf */
	int no_dns;			/* out: it lost all its nameservers */
	struct netdef nets[MAX_IFS];	/* of eth0, eth1, ... */
};

/* podfiles.c: the pod's resolv.conf, hosts and hostname. */
int podfiles_write(int dirfd, const struct sandbox *sb, struct pod_opts *o,
	struct pelagos_err *e);

/* fw.c: a sandbox's firewall: NAT, published ports, the egress allowlist
 * and anti-spoofing in nftables, conntrack, IPv4 forwarding. */
const char *fw_table(void);
int fw_add(int rootfd, struct sandbox *sb, struct pelagos_err *e);
int fw_del(int rootfd, const struct sandbox *sb, int derived,
	struct pelagos_err *e);
int fw_sync(int rootfd, const char *table, struct pelagos_err *e);
int fw_drops(const struct sandbox *sb, unsigned long long *packets);
int fw_check(int rootfd, const char *id);

/* sandbox.c: the lifecycle (claim, build, teardown) and liveness. */
#define TD_FORCE	0x1	/* kill other processes in the sandbox */
#define TD_DERIVED	0x2	/* state was lost: find leases and names by ID */
#define TD_NOSCAN	0x4	/* rollback: only the recorded pause to stop */
#define TD_LOCKED	0x8	/* the caller holds the root's lock */
#define TD_PRUNE	0x10	/* remove only what is dead or half-made */
const char *sandbox_boot_id(void);
int sandbox_shares(const struct sandbox *sb, enum ns_kind k);
int sandbox_pause_alive(const struct sandbox *sb);
const char *sandbox_status(const struct sandbox *sb);
int sandbox_load_at(int dfd, const char *id, const char *name,
	struct sandbox *sb);
int sandbox_load(int rootfd, const char *id, struct sandbox *sb);
void sandbox_derive(const char *id, struct sandbox *sb);
int sandbox_teardown(int rootfd, const struct sandbox *sb, int flags,
	struct pelagos_err *e);
int sandbox_remove(int rootfd, const char *id, int flags,
	struct pelagos_err *e);
int sandbox_reconcile(int rootfd, const struct root_ids *ids,
	struct pelagos_err *e);
int sandbox_create(int rootfd, const char *root, struct sandbox *sb,
	struct pod_opts *o, int sigfd, struct pelagos_err *e);

/* cnispec.c: the CNI specification's documents: a request (the CNI_*
 * variables and the configuration on stdin, prevResult included) read and
 * checked, and the result and error objects written.  The CNI layer's
 * functions return 0 or the specification's error code, with e filled. */
enum cni_cmd { CNI_ADD, CNI_DEL, CNI_CHECK, CNI_GC, CNI_STATUS,
	CNI_VERSION };
enum {
	CNI_E_VERSION = 1, CNI_E_FIELD = 2, CNI_E_UNKNOWN = 3, CNI_E_ENV = 4,
	CNI_E_IO = 5, CNI_E_DECODE = 6, CNI_E_CONFIG = 7,
	CNI_E_UNAVAILABLE = 50,
	CNI_E_SYSTEM = 100,	/* an OS call failed; details say which */
	CNI_E_DRIFT = 101	/* CHECK: the attachment is not as added */
};
#define CNI_ID_MAX	256
#define CNI_KEY_LEN	(CNI_ID_MAX + IFNAME_LEN + 1)	/* "<id>/<ifname>" */
enum { PREV_IFS, PREV_IPS, PREV_ROUTES };
struct cni_req {
	/* The small members first: within 128 bytes of the start, x86
	 * reaches each with a one-byte displacement. */
	const struct json *j;		/* the configuration */
	enum cni_cmd cmd;
	int ver;			/* 30, 31, 40, 100, 110; 0: unknown */
	const char *netns;		/* CNI_NETNS, "" if not given */
	struct subnet sn;
	uint32_t gw;
	unsigned int mtu;		/* 0: the kernel's */
	int defroute;			/* isDefaultGateway */
	int masq;			/* ipMasq */
	int dns;			/* tokens, -1 if absent: dns, */
	int prev;			/* prevResult and its */
	int prev_list[3];		/* interfaces, ips and routes, */
	int valid;			/* cni.dev/valid-attachments */
	int nprev_ifs;
	uint32_t want_ip;		/* prevResult's record of CNI_IFNAME */
	int want_prefix;
	char want_mac[18];
	struct subnet6 sn6;		/* subnet6; prefix 0: none */
	struct subnet6 want6;		/* prevResult's IPv6 address of it */
	char ifname[IFNAME_LEN];
	char version[16];
	char key[CNI_KEY_LEN];		/* the attachment, as leases hold it */
	char name[NAME_MAX_LEN + 1];
	char bridge[IFNAME_LEN];
	char dir[320];			/* <dataDir>/<name> */
	/* runtimeConfig.portMappings as --publish words, comma-joined
	 * (fwspec.c) */
	char ports[FWSPEC_LIST_MAX];
};
struct cni_link {
	char name[IFNAME_LEN];
	unsigned char mac[6];
};
struct cni_att {
	struct pod_if pi;		/* CNI_IFNAME's addresses; ip 0: none */
	struct cni_link link[3];	/* bridge, host end, CNI_IFNAME */
};
int cni_req_env(struct cni_req *r, const char *cmd, const char *id,
	const char *netns, const char *ifname, struct pelagos_err *e);
int cni_req_conf(struct cni_req *r, struct json *j, const char *js,
	size_t len, struct pelagos_err *e);
int cni_valid(const struct cni_req *r, const char *key);
void cni_result(const struct cni_req *r, const struct cni_att *a);
void cni_error(const struct cni_req *r, int code,
	const struct pelagos_err *e);
void cni_version_result(const struct cni_req *r);

/* attach.c: a CNI attachment's kernel objects and lease: a veth whose
 * host end, named after the address, is on the network's bridge and whose
 * peer is CNI_IFNAME in CNI_NETNS, and <dir>/leases/<a.b.c.d> pointing at
 * "<containerID>/<ifname>". */
#define CNI_VETH_PREFIX	"pc-"
int attach_add(const struct cni_req *r, struct cni_att *a,
	struct pelagos_err *e);
int attach_del(const struct cni_req *r, struct pelagos_err *e);
int attach_check(const struct cni_req *r, struct pelagos_err *e);
int attach_status(const struct cni_req *r, struct pelagos_err *e);

/* run.c: a workload in a sandbox's namespaces. */
struct run_opts {
	const char *label;	/* the sandbox as the user named it */
	const char *rootfs, *workdir;
	char **env;		/* the --env K=V values */
	size_t nenv;
	int detach;
	char **argv;		/* CMD and its arguments */
	mode_t umask;		/* the caller's, for CMD */
	struct limits lim;	/* of the workload's own cgroup leaf */
	struct confine cf;
};
int run_workload(int rootfd, const char *id, const struct run_opts *o,
	int *status, pid_t *pid, unsigned long long *oom,
	struct pelagos_err *e);

/* pelagos.c: main, the command table, the option parser, the root, and
 * the only place errors are printed. */
struct cmd {
	const char *name;	/* "sandbox create" as errors name it, "" atop */
	int (*fn)(const struct cmd *c, int argc, char **argv);
	const char *usage;
	char flags;
} __attribute__((packed));
#define CMD_ROOT	0x1	/* must be run as root */
#define CMD_HIDDEN	0x2	/* not in --help */
#define CMD_RAW		0x4	/* takes its arguments unparsed */
/* Packed: the tables are data in the binary, 10 bytes an option, not 16. */
struct opt {
	const char *name;	/* "--name" */
	char shrt;		/* 'f' for -f, or 0 */
	char value;		/* takes a value */
} __attribute__((packed));
struct opt_state {
	const struct cmd *c;
	int argc, i, done;
	char **argv;
	int stop;		/* the first argument ends the options */
	int ret;		/* the exit status once OPT_BAD */
};
enum { OPT_END = -1, OPT_ARG = -2, OPT_BAD = -4 };
#define ARGS_ONE	1	/* pelagos_args: at most one operand */
#define ARGS_MANY	0xff	/* any number */
#define ARGS_REF	0x100	/* each a sandbox ID or name */
#define ARGS_NET	0x200	/* each a network name */
extern const char *pelagos_root;
extern mode_t pelagos_umask;
void opt_init(struct opt_state *st, const struct cmd *c, int argc,
	char **argv, int stop);
int opt_next(struct opt_state *st, const struct opt *tab, const char **val);
int pelagos_usage(const struct cmd *c, const char *fmt, const char *arg);
int pelagos_bad_value(const struct cmd *c, const char *opt, const char *v);
int pelagos_help(const struct cmd *c);
void pelagos_warn(const struct cmd *c, const char *fmt, ...);
int pelagos_fail(const struct cmd *c, const struct pelagos_err *e);
int pelagos_args(const struct cmd *c, int *argc, char **argv,
	const struct opt *tab, const char **val, int how, const char *missing);
int pelagos_ls_opts(const struct cmd *c, int argc, char **argv,
	const char *f[2]);
int pelagos_open_root(const struct cmd *c, int create, int *fd);
int pelagos_resolve(const struct cmd *c, int rootfd, const char *arg,
	char id[ID_LEN + 1]);
void pelagos_hold_signals(sigset_t *s);

/* cmd_sandbox.c: sandbox create, ls, inspect, rm and prune, and what they
 * print. */
extern const char cmd_sandbox_usage[], cmd_create_usage[], cmd_ls_usage[],
	cmd_inspect_usage[], cmd_rm_usage[], cmd_prune_usage[];
int cmd_create(const struct cmd *c, int argc, char **argv);
int cmd_ls(const struct cmd *c, int argc, char **argv);
int cmd_inspect(const struct cmd *c, int argc, char **argv);
int cmd_rm(const struct cmd *c, int argc, char **argv);
int cmd_prune(const struct cmd *c, int argc, char **argv);
int cmd_pause(const struct cmd *c, int argc, char **argv);

/* cmd_network.c: network create, ls, inspect and rm, and what they
 * print. */
extern const char cmd_network_usage[], cmd_net_create_usage[],
	cmd_net_ls_usage[], cmd_net_inspect_usage[], cmd_net_rm_usage[];
int cmd_net_create(const struct cmd *c, int argc, char **argv);
int cmd_net_ls(const struct cmd *c, int argc, char **argv);
int cmd_net_inspect(const struct cmd *c, int argc, char **argv);
int cmd_net_rm(const struct cmd *c, int argc, char **argv);

/* cmd_run.c: pelagos run's command line. */
extern const char cmd_run_usage[];
int cmd_run(const struct cmd *c, int argc, char **argv);

/* cni.c: the CNI plugin: main() runs it when CNI_COMMAND is set. */
int cni_main(void);

#endif
