/* pelagos: pod sandboxes from one static binary.  The one shared header. */
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
#define PEER_IFNAME	"eth0"

/* Namespace sharing, named as the Rust pelagos and the CRI name them. */
enum ns_mode { NS_POD, NS_CONTAINER, NS_NODE };

enum phase { PHASE_CREATING, PHASE_READY };

struct subnet {
	uint32_t net;		/* host byte order */
	int prefix;
};

struct sandbox {
	char id[ID_LEN + 1];
	char name[NAME_MAX_LEN + 1];	/* "" when unnamed */
	enum phase phase;
	char ns_name[IFNAME_LEN];	/* "" for a host-network pod */
	char veth_host[IFNAME_LEN];	/* "" for a host-network pod */
	char bridge[IFNAME_LEN];	/* "" for a host-network pod */
	uint32_t ip;			/* 0 when none */
	int prefix;
	uint32_t gateway;
	enum ns_mode net, ipc, pid;
	char hostname[HOST_MAX_LEN + 1];
	pid_t pause_pid;		/* 0 until the pause is ready */
	unsigned long long pause_start;	/* /proc/<pid>/stat field 22 */
	unsigned long long netns_ino;
	pid_t creator_pid;
	unsigned long long creator_start;
	long long created;		/* seconds since the epoch */
};

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
const char *util_dir_next(struct util_dir *d);
void util_dir_close(struct util_dir *d);
int util_parse_ull(const char *s, const char **end, unsigned long long *v);

/* netlink.c: rtnetlink requests built in a buffer, sent as one batch. */
#define NL_BUFSZ 2048
struct nl_buf {
	unsigned char data[NL_BUFSZ];
	size_t len;
	size_t msg;		/* offset of the message being built */
	uint32_t seq;		/* sequence number of the first message */
	unsigned int nmsg;
	int err;		/* sticky: an append did not fit */
};
struct nl_link {
	int index;
	unsigned int flags;
	int is_bridge;
	int master;
};
void nl_buf_init(struct nl_buf *b, uint32_t seq);
void nl_msg(struct nl_buf *b, uint16_t type, uint16_t flags,
	const void *hdr, size_t hdrlen);
void nl_put(struct nl_buf *b, uint16_t type, const void *data, size_t len);
void nl_put_str(struct nl_buf *b, uint16_t type, const char *s);
void nl_put_u32(struct nl_buf *b, uint16_t type, uint32_t v);
size_t nl_nest(struct nl_buf *b, uint16_t type);
void nl_nest_end(struct nl_buf *b, size_t off);
void nl_req_newbridge(struct nl_buf *b, const char *name);
void nl_req_linkup(struct nl_buf *b, const char *name);
void nl_req_linkdown(struct nl_buf *b, const char *name);
void nl_req_newveth(struct nl_buf *b, const char *host, int master,
	const char *peer, int peer_nsfd);
void nl_req_newaddr(struct nl_buf *b, int ifindex, uint32_t ip, int prefix);
void nl_req_defroute(struct nl_buf *b, uint32_t gw);
void nl_req_dellink(struct nl_buf *b, const char *name);
void nl_req_getlink(struct nl_buf *b, const char *name);
int nl_open(void);
int nl_talk(int fd, struct nl_buf *b);
int nl_getlink(int fd, const char *name, struct nl_link *out);

/* state.c: validation of values, the state file's format, read and write. */
int state_valid_id(const char *s);
int state_valid_name(const char *s);
int state_valid_hostname(const char *s);
int state_valid_ifname(const char *s);
int state_parse_ip(const char *s, uint32_t *ip);
void state_format_ip(uint32_t ip, char out[16]);
int state_parse_subnet(const char *s, struct subnet *sn);
int state_ipam_pick(const struct subnet *sn, const uint32_t *used, size_t n,
	uint32_t *ip);
int state_format(const struct sandbox *sb, char *buf, size_t len);
int state_parse(const char *buf, size_t len, struct sandbox *sb);
int state_save(int rootfd, const struct sandbox *sb);
int state_load(int rootfd, const char *id, struct sandbox *sb);

/* root.c: the root directory: sandbox directories, leases, names, locks. */
struct root_ids {
	char (*id)[ID_LEN + 1];
	size_t n, cap;
};
int root_sbdir(int rootfd, const char *id);
int root_open(const char *path, int create);
int root_lock(int rootfd);
int root_claim(int rootfd, const char *id);
int root_busy(int rootfd, const char *id);
int root_rmdir(int rootfd, const char *id);
int root_lease_take(int rootfd, const struct subnet *sn, const char *id,
	uint32_t *ip);
int root_lease_free(int rootfd, uint32_t ip, const char *id);
int root_name_take(int rootfd, const char *name, const char *id);
int root_name_free(int rootfd, const char *name, const char *id);
int root_name_lookup(int rootfd, const char *name, char id[ID_LEN + 1]);
int root_links_free(int rootfd, const char *id);
int root_links_prune(int rootfd);
int root_list(int rootfd, struct root_ids *ids);
void root_ids_free(struct root_ids *ids);

/* pause.c: the pause process and the handshake that starts it. */
#define PAUSE_HOST_IPC	0x1
#define PAUSE_HOST_NET	0x2
#define PAUSE_POD_PID	0x4
int pause_main(int argc, char **argv);
int pause_spawn(const char *tag, int flags, const char *hostname,
	int sigfd, pid_t *pid, char *err, size_t errlen);

/* proc.c: processes by identity (PID and start time) and by namespace. */
#define PROC_MAX_PAUSES	4	/* a --pod-pid pause is two processes */
struct proc_id {
	pid_t pid;
	unsigned long long start;
};
struct proc_scan {
	const char *ns;			/* "net" or "uts" */
	unsigned long long ino;		/* 0: look for pauses only */
	char tag[IFNAME_LEN];		/* psb-<8hex>, the pause's argument */
	struct proc_id pause[PROC_MAX_PAUSES];
	int npause;
	struct proc_id *other;		/* everything else in the namespace */
	size_t nother, cap;
};
int proc_start(pid_t pid, unsigned long long *start, char *state);
int proc_same(pid_t pid, unsigned long long start);
unsigned long long proc_ns_ino(pid_t pid, const char *ns);
int proc_stop(pid_t pid, unsigned long long start, int sig,
	const char *tag);
int proc_scan(struct proc_scan *s);
void proc_scan_free(struct proc_scan *s);

/* sandbox.c: the lifecycle and liveness. */
#define TD_FORCE	0x1	/* kill other processes in the sandbox */
#define TD_DERIVED	0x2	/* state was lost: find leases and names by ID */
#define TD_NOSCAN	0x4	/* rollback: only the recorded pause to stop */
int sandbox_pause_alive(const struct sandbox *sb);
const char *sandbox_status(const struct sandbox *sb);
void sandbox_derive(const char *id, struct sandbox *sb);
int sandbox_has_pause(const struct sandbox *sb);
int sandbox_teardown(int rootfd, const struct sandbox *sb, int flags);
int sandbox_create(int rootfd, const char *root, struct sandbox *sb,
	const struct subnet *sn, int sigfd);

/* run.c: pelagos run, a workload in a sandbox's namespaces. */
int run_main(int argc, char **argv, mode_t caller_umask);

/* pelagos.c: the command line; pelagos_warn is where errors are reported. */
extern const char *pelagos_root;
void pelagos_warn(const char *fmt, ...);
int pelagos_help(const char *text);
int pelagos_usage(const char *cmd, const char *fmt, const char *arg);
int pelagos_opt(int argc, char **argv, int *i, const char *opt,
	const char **val);
int pelagos_is_help(const char *a);
int pelagos_need_root(const char *cmd);
int pelagos_load(int rootfd, const char *cmd, const char *arg,
	struct sandbox *sb);

#endif
