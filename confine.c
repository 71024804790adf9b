/* SPDX-License-Identifier: Apache-2.0 */
/* What a workload may do, set up as the OCI runtimes do it:
 *
 *	with --rootfs: masked and read-only paths (confine_mounts), then
 *	descriptors but 0-2 closed, capability bounding set, user and
 *	groups, effective/permitted/inheritable sets, no_new_privs, and the
 *	seccomp filter last (confine_apply)
 *
 * The default is podman's: its capability set, no_new_privs (podman
 * leaves it off), and a filter in the spirit of docker's default profile
 * that refuses, with EPERM, what a container has no business calling.
 * Without no_new_privs (--allow-new-privileges) installing a filter takes
 * CAP_SYS_ADMIN, so then it goes on before the capabilities go. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "pelagos.h"

/* CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
 * NET_BIND_SERVICE SYS_CHROOT SETFCAP: podman's default. */
#define DEFAULT_CAPS	0x800405fbull

/* Numbered as in linux/capability.h. */
static const char capnames[] =
	"chown\0dac_override\0dac_read_search\0fowner\0fsetid\0kill\0setgid\0"
	"setuid\0setpcap\0linux_immutable\0net_bind_service\0net_broadcast\0"
	"net_admin\0net_raw\0ipc_lock\0ipc_owner\0sys_module\0sys_rawio\0"
	"sys_chroot\0sys_ptrace\0sys_pacct\0sys_admin\0sys_boot\0sys_nice\0"
	"sys_resource\0sys_time\0sys_tty_config\0mknod\0lease\0audit_write\0"
	"audit_control\0setfcap\0mac_override\0mac_admin\0syslog\0"
	"wake_alarm\0block_suspend\0audit_read\0perfmon\0bpf\0"
	"checkpoint_restore\0";

/* Whether s starts with the lowercase w, in any case; *end after it. */
static int
prefix(const char *s, const char *w, const char **end)
{
	for (; *w; s++, w++)
		if ((*s >= 'A' && *s <= 'Z' ? *s | 0x20 : *s) != *w)
			return 0;
	*end = s;
	return 1;
}

/* The bit of capability NAME (CAP_ optional, any case), every bit for
 * ALL, 0 for an unknown one. */
static unsigned long long
cap_bits(const char *name)
{
	const char *p = capnames, *end;
	int n;

	if (prefix(name, "cap_", &end))
		name = end;
	if (prefix(name, "all", &end) && !*end)
		return ~0ull;
	for (n = 0; *p; n++, p += util_strlen(p) + 1)
		if (prefix(name, p, &end) && !*end)
			return 1ull << n;
	return 0;
}

/* A decimal ID below 2^32 - 1 (which means "none" to the kernel).  In
 * line, as GCC at -Oz would not: that saves bytes (measured). */
static inline __attribute__((always_inline)) int
parse_id(const char *s, const char **end, unsigned int *id)
{
	unsigned long long v;

	if (util_parse_ull(s, end, 0xfffffffeu, &v) < 0)
		return -1;
	*id = (unsigned int)v;
	return 0;
}

/* Option i of CONFINE_OPTS with its value v: -1 when v is bad. */
int
confine_opt(int i, const char *v, struct confine *c)
{
	static const unsigned char flag[] = { CF_PRIVILEGED, CF_NEW_PRIVS,
		CF_UNCONFINED, CF_READ_ONLY, CF_USER };
	unsigned long long bits;
	const char *end;

	if (i < 5)
		c->flags |= flag[i];
	switch (i) {
	case 2:
		return strcmp(v, "unconfined") ? -1 : 0;
	case 4:
		if (parse_id(v, &end, &c->uid) < 0)
			return -1;
		c->gid = c->uid;
		if (*end == ':' && parse_id(end + 1, &end, &c->gid) < 0)
			return -1;
		return *end ? -1 : 0;
	case 5:
	case 6:
		if (!(bits = cap_bits(v)))
			return -1;
		*(i == 5 ? &c->add : &c->drop) |= bits;
		break;
	case 7:
		if (c->ngroups == CF_MAX_GROUPS ||
		    parse_id(v, &end, &c->groups[c->ngroups]) < 0 || *end)
			return -1;
		c->ngroups++;
	}
	return 0;
}

/* With --rootfs, before the pivot, in the new root: what the OCI
 * runtimes (podman's list) mask with an empty read-only tmpfs or
 * /dev/null, and make read-only; a path this kernel lacks is skipped. */
int
confine_mounts(const struct confine *c, struct pelagos_err *e)
{
	static const char masked[] =
		"proc/acpi\0proc/kcore\0proc/keys\0proc/latency_stats\0"
		"proc/timer_list\0proc/timer_stats\0proc/sched_debug\0"
		"proc/scsi\0sys/firmware\0sys/fs/selinux\0sys/dev/block\0";
	static const char ro[] = "proc/asound\0proc/bus\0proc/fs\0proc/irq\0"
		"proc/sys\0proc/sysrq-trigger\0";
	const char *p;

	if (c->flags & CF_PRIVILEGED)
		return 0;
	for (p = masked; *p; p += util_strlen(p) + 1)
		if (mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL) < 0 &&
		    (errno != ENOTDIR ||
		    mount("dev/null", p, NULL, MS_BIND, NULL) < 0) &&
		    errno != ENOENT)
			return err_os(e, "mask /%s", p);
	for (p = ro; *p; p += util_strlen(p) + 1)
		if ((mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY |
		    MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) &&
		    errno != ENOENT)
			return err_os(e, "make /%s read-only", p);
	return 0;
}

#ifdef SYS_setresuid32	/* 32-bit ABIs keep the 16-bit IDs' numbers */
#define SYS_SETGROUPS	SYS_setgroups32
#define SYS_SETRESGID	SYS_setresgid32
#define SYS_SETRESUID	SYS_setresuid32
#else
#define SYS_SETGROUPS	SYS_setgroups
#define SYS_SETRESGID	SYS_setresgid
#define SYS_SETRESUID	SYS_setresuid
#endif
#ifndef SYS_clone3
#define SYS_clone3	435	/* the same on every architecture */
#endif

/* Refused with EPERM: loading or replacing the kernel, BPF and perf,
 * the keyrings, file handles, userfaultfd, swap, reboot, the clocks,
 * mounts, accounting and quotas, io_uring, port I/O. */
static const unsigned short deny[] = {
	SYS_kexec_load,
#ifdef SYS_kexec_file_load
	SYS_kexec_file_load,
#endif
	SYS_init_module, SYS_finit_module, SYS_delete_module, SYS_bpf,
	SYS_perf_event_open, SYS_keyctl, SYS_add_key, SYS_request_key,
	SYS_open_by_handle_at, SYS_userfaultfd, SYS_swapon, SYS_swapoff,
	SYS_reboot, SYS_settimeofday, SYS_clock_settime, SYS_adjtimex,
	SYS_clock_adjtime,
#ifdef SYS_clock_settime64
	SYS_clock_settime64, SYS_clock_adjtime64,
#endif
	SYS_mount, SYS_umount2, SYS_pivot_root, SYS_move_mount, SYS_fsopen,
	SYS_fsconfig, SYS_fsmount, SYS_fspick, SYS_open_tree,
	SYS_mount_setattr,
#ifdef SYS_umount
	SYS_umount,
#endif
	SYS_acct, SYS_quotactl, SYS_io_uring_setup,
#ifdef SYS_iopl
	SYS_iopl, SYS_ioperm,
#endif
};
#define NDENY	(sizeof(deny) / sizeof(deny[0]))
#ifdef __x86_64__
#define X32	1	/* x32 calls share the arch, with this bit set */
#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif
#else
#define X32	0
#endif
#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | \
	CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)
#define HEAD	(4 + X32)
#define FLEN	(HEAD + NDENY + 9)

/* The filter, laid out as
 *	arch check, load nr, [x32], deny list, clone3, unshare, clone, allow,
 *	ARG: load flags, namespace flags?, allow, EPERM, ENOSYS
 * clone3 gets ENOSYS, as from runtimes whose filters cannot look into
 * its arguments: libc falls back to clone, whose flags are checked.  A
 * syscall of another architecture's ABI kills. */
static int
install(void)
{
	static const struct sock_filter head[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
#if X32
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, __X32_SYSCALL_BIT,
		    FLEN - 3 - 4, 0),
#endif
	}, tail[] = {
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 7, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* The low half of the first argument: every supported
		 * target is little-endian. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, NS_FLAGS, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
	};
	struct sock_filter f[FLEN];
	struct sock_fprog prog = { FLEN, f };
	size_t n;

	memcpy(f, head, sizeof(head));
	/* Each a jump to the EPERM at FLEN - 2. */
	for (n = 0; n < NDENY; n++)
		f[HEAD + n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ |
		    BPF_K, deny[n], (unsigned char)(FLEN - 3 - HEAD - n), 0);
	memcpy(f + HEAD + NDENY, tail, sizeof(tail));
	/* prctl here and below as the system call: libc's variadic
	 * wrapper only costs bytes. */
	return (int)syscall(SYS_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
	    &prog, 0, 0);
}

/* In the workload's first process, before its init forks CMD: both are
 * confined alike.  *chan, the report channel, is moved to 3, and nothing
 * else above 2 stays open.  The init is made non-dumpable, so that no
 * workload reaches anything through /proc/1; CMD's exec undoes that for
 * CMD.  A user but root loses its capabilities with the setresuid; none
 * is inheritable, which clears the ambient ones too. */
int
confine_apply(const struct confine *c, int *chan, struct pelagos_err *e)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	unsigned long long set = ((c->flags & CF_PRIVILEGED ? ~0ull :
	    DEFAULT_CAPS) & ~c->drop) | c->add;
	int filter = !(c->flags & (CF_PRIVILEGED | CF_UNCONFINED));
	int nnp = !(c->flags & (CF_PRIVILEGED | CF_NEW_PRIVS)), cap, r;
	const char *what = "keep the report channel";

	if (*chan != 3 && (dup2(*chan, 3) < 0 ||
	    syscall(SYS_fcntl, 3, F_SETFD, FD_CLOEXEC) < 0))
		goto fail;
	*chan = 3;
	util_close_from(4);
	what = "install seccomp filter";
	if (syscall(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ||
	    (filter && !nnp && install() < 0))
		goto fail;
	/* set is kept to what the bounding set holds (capset refuses
	 * more), up to the kernel's last capability. */
	what = "set capabilities";
	for (cap = 0; (r = (int)syscall(SYS_prctl, PR_CAPBSET_READ, cap, 0, 0,
	    0)) >= 0; cap++) {
		if (r && set >> cap & 1)
			continue;
		set &= ~(1ull << cap);
		if (r && syscall(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			goto fail;
	}
	set &= (1ull << cap) - 1;
	memset(d, 0, sizeof(d));
	if (!c->uid) {
		d[0].effective = d[0].permitted = (uint32_t)set;
		d[1].effective = d[1].permitted = (uint32_t)(set >> 32);
	}
	what = "set user";
	if ((((c->flags & CF_USER) || c->ngroups) &&
	    syscall(SYS_SETGROUPS, c->ngroups, c->groups) < 0) ||
	    ((c->flags & CF_USER) &&
	    (syscall(SYS_SETRESGID, c->gid, c->gid, c->gid) < 0 ||
	    syscall(SYS_SETRESUID, c->uid, c->uid, c->uid) < 0)))
		goto fail;
	what = "set capabilities";
	if (syscall(SYS_capset, &hdr, d) < 0)
		goto fail;
	what = "set no_new_privs";
	if (nnp && syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		goto fail;
	what = "install seccomp filter";
	if (filter && nnp && install() < 0)
		goto fail;
	return 0;
fail:
	return err_os(e, "%s", what);
}
