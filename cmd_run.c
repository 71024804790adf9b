/* SPDX-License-Identifier: Apache-2.0 */
/* pelagos run's command line: its options, and how its failures are
 * reported; the workload itself is run.c's. */
#include <string.h>
#include <unistd.h>

#include "pelagos.h"

const char cmd_run_usage[] =
"run --sandbox ID|NAME [--rootfs DIR [--read-only]]\n"
" [--workdir DIR] [--env K=V]... [-d|--detach] [LIMITS] [--cap-add CAP]...\n"
" [--cap-drop CAP|ALL]... [--user UID[:GID]] [--group-add GID]...\n"
" [--allow-new-privileges] [--seccomp=unconfined] [--privileged]\n"
" [--] CMD [ARG...]\n"
"LIMITS: as sandbox create's. Exits with CMD's status.\n";

/* Options end at the first argument that is none: CMD's own options are
 * CMD's. */
int
cmd_run(const struct cmd *c, int argc, char **argv)
{
	static const struct opt opts[] = {
		{ "--sandbox", 0, 1 }, { "--rootfs", 0, 1 },
		{ "--workdir", 0, 1 }, { "--env", 0, 1 },
		{ "--detach", 'd', 0 }, LIMIT_OPTS, CONFINE_OPTS,
		{ NULL, 0, 0 } };
	struct pelagos_err e;
	struct opt_state st;
	struct run_opts o;
	char id[ID_LEN + 1];
	const char *v = NULL;
	unsigned long long oom;
	pid_t pid;
	int rootfd = -1, k, status;

	memset(&o, 0, sizeof(o));
	o.umask = pelagos_umask;
	/* The --env values in argv's own slots: each takes one at least,
	 * and all of them are read before they are written. */
	o.env = argv;
	opt_init(&st, c, argc, argv, 1);
	while ((k = opt_next(&st, opts, &v)) != OPT_END) {
		switch (k) {
		case OPT_BAD:
			return st.ret;
		case 0:
			o.label = v;
			break;
		case 1:
			o.rootfs = v;
			break;
		case 2:
			o.workdir = v;
			break;
		case 3:
			if (v[0] == '=' || !util_strchr(v, '='))
				return pelagos_usage(c, "--env wants K=V, not "
				    "'%s'", v);
			o.env[o.nenv++] = (char *)v;
			break;
		case 4:
			o.detach = 1;
			break;
		default:
			if ((k < LIMIT_AT + LIM_COUNT ?
			    cgroup_limit(k - LIMIT_AT, v, &o.lim) :
			    confine_opt(k - LIMIT_AT - LIM_COUNT, v, &o.cf)) < 0)
				return pelagos_bad_value(c, opts[k].name, v);
		}
	}
	if (!o.label)
		return pelagos_usage(c, "missing --sandbox ID|NAME", NULL);
	if (!valid_id(o.label) && !valid_name(o.label))
		return pelagos_usage(c, "'%s' is neither a sandbox ID nor a name",
		    o.label);
	if (st.i == argc)
		return pelagos_usage(c, "missing CMD", NULL);
	o.argv = argv + st.i;
	if (pelagos_open_root(c, 0, &rootfd) < 0)
		return 1;
	if (pelagos_resolve(c, rootfd, o.label, id) < 0) {
		if (rootfd >= 0)
			close(rootfd);
		return 1;
	}
	/* run_workload closes the root. */
	if (run_workload(rootfd, id, &o, &status, &pid, &oom, &e) < 0) {
		pelagos_fail(c, &e);
		return status;
	}
	if (oom)
		pelagos_warn(c, "%s: out of memory: the OOM killer killed %llu "
		    "process%s of it", o.argv[0], oom, oom == 1 ? "" : "es");
	if (o.detach) {
		util_out("%d\n", (int)pid);
		return util_flush() == 0 ? 0 : 1;
	}
	return status;
}
