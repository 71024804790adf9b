/* SPDX-License-Identifier: Apache-2.0 */
/* pelagos: main, the command table, the one option parser every command
 * uses, the root directory, and the only place errors are printed:
 * one line, "pelagos: <command>: <what> <object>: <OS error>". */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "pelagos.h"

const char *pelagos_root;
mode_t pelagos_umask;

static const char main_usage[] =
"[--root DIR] [-h|--help] [--version] CMD [ARGS]\n"
"  sandbox create [OPTIONS]\n"
"  sandbox ls [-q|--json]\n"
"  sandbox inspect [--oci] ID|NAME\n"
"  sandbox rm [-f|--force] ID|NAME...\n"
"  sandbox prune\n"
"  run --sandbox ID|NAME [OPTIONS] [--] CMD [ARG...]\n"
"  network create|ls|inspect|rm [ARGS]\n"
"--root defaults to $PELAGOS_ROOT, else " DEF_ROOT ". Each CMD has --help.\n";

static const struct cmd top = { "", NULL, main_usage, 0 };

static const struct cmd cmds[] = {
	{ "sandbox", NULL, cmd_sandbox_usage, 0 },
	{ "sandbox create", cmd_create, cmd_create_usage, CMD_ROOT },
	{ "sandbox ls", cmd_ls, cmd_ls_usage, 0 },
	{ "sandbox inspect", cmd_inspect, cmd_inspect_usage, 0 },
	{ "sandbox rm", cmd_rm, cmd_rm_usage, CMD_ROOT },
	{ "sandbox prune", cmd_prune, cmd_prune_usage, CMD_ROOT },
	{ "sandbox __pause__", cmd_pause, NULL, CMD_HIDDEN | CMD_RAW },
	{ "run", cmd_run, cmd_run_usage, CMD_ROOT },
	{ "network", NULL, cmd_network_usage, 0 },
	{ "network create", cmd_net_create, cmd_net_create_usage, CMD_ROOT },
	{ "network ls", cmd_net_ls, cmd_net_ls_usage, 0 },
	{ "network inspect", cmd_net_inspect, cmd_net_inspect_usage, 0 },
	{ "network rm", cmd_net_rm, cmd_net_rm_usage, CMD_ROOT },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

/* One line on stderr, whatever bytes the user's words carry. */
static void
put_line(const struct cmd *c, const char *msg, int os)
{
	char buf[512];
	size_t i, n;

	n = util_fmt(buf, sizeof(buf) - 1, "pelagos: %s%s%s%s%s",
	    c->name, *c->name ? ": " : "", msg,
	    os ? ": " : "", os ? strerror(os) : "");
	for (i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] < ' ' || buf[i] == 0x7f)
			buf[i] = '?';
	n = n < sizeof(buf) - 2 ? n : sizeof(buf) - 2;
	buf[n] = '\n';
	buf[n + 1] = '\0';
	util_err(buf);
}

int
pelagos_fail(const struct cmd *c, const struct pelagos_err *e)
{
	put_line(c, e->what, e->os);
	return 1;
}

/* A format ending in ':' gets strerror(errno) appended. */
void
pelagos_warn(const struct cmd *c, const char *fmt, ...)
{
	char msg[400];
	int saved = errno;
	size_t n = util_strlen(fmt);
	va_list ap;

	va_start(ap, fmt);
	util_vfmt(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n && fmt[n - 1] == ':') {
		msg[util_strlen(msg) - 1] = '\0';
		put_line(c, msg, saved);
	} else {
		put_line(c, msg, 0);
	}
}

/* A command line of options and operands, whole: the value of option k
 * in val[k] ("" for a flag), the operands moved to the front of argv and
 * counted in *argc.  how: the most operands (ARGS_ONE, ARGS_MANY), each
 * a sandbox ID or name (ARGS_REF) or a network name (ARGS_NET); missing,
 * unless NULL, is the usage error of none.  -1 to go on, else the exit
 * status of the help or usage error printed. */
int
pelagos_args(const struct cmd *c, int *argc, char **argv,
	const struct opt *tab, const char **val, int how, const char *missing)
{
	struct opt_state st;
	const char *v;
	int k, n = 0;

	opt_init(&st, c, *argc, argv, 0);
	while ((k = opt_next(&st, tab, &v)) != OPT_END) {
		if (k == OPT_BAD)
			return st.ret;
		if (k >= 0) {
			val[k] = tab[k].value ? v : "";
			continue;
		}
		if (n >= (how & ARGS_MANY))
			return pelagos_usage(c, "unexpected argument '%s'", v);
		if ((how & (ARGS_REF | ARGS_NET)) && !valid_name(v) &&
		    !((how & ARGS_REF) && valid_id(v)))
			return pelagos_usage(c, how & ARGS_REF ? "'%s' is "
			    "neither a sandbox ID nor a name" :
			    "invalid network name '%s'", v);
		argv[n++] = (char *)v;
	}
	*argc = n;
	return !n && missing ? pelagos_usage(c, missing, NULL) : -1;
}

/* The options of sandbox ls and network ls: f[0] for --json, f[1] for
 * -q; -1 to go on, else the exit status. */
int
pelagos_ls_opts(const struct cmd *c, int argc, char **argv, const char *f[2])
{
	static const struct opt opts[] = {
		{ "--json", 0, 0 }, { "--quiet", 'q', 0 }, { NULL, 0, 0 } };
	int r;

	f[0] = f[1] = NULL;
	if ((r = pelagos_args(c, &argc, argv, opts, f, 0, NULL)) >= 0)
		return r;
	return f[0] && f[1] ? pelagos_usage(c, "-q and --json exclude each "
	    "other", NULL) : -1;
}

/* The format gets the pointer to the help; the argument stays an
 * argument, whatever it holds. */
int
pelagos_usage(const struct cmd *c, const char *fmt, const char *arg)
{
	char f[160];

	util_fmt(f, sizeof(f), "%s (see 'pelagos %s%s--help')", fmt, c->name,
	    *c->name ? " " : "");
	pelagos_warn(c, f, arg);
	return 2;
}

/* A value its option does not take. */
int
pelagos_bad_value(const struct cmd *c, const char *opt, const char *v)
{
	char fmt[64];

	util_fmt(fmt, sizeof(fmt), "invalid %s '%%s'", opt);
	return pelagos_usage(c, fmt, v);
}

int
pelagos_help(const struct cmd *c)
{
	util_out("usage: pelagos %sSee pelagos(8).\n", c->usage);
	return util_flush() < 0;
}

void
opt_init(struct opt_state *st, const struct cmd *c, int argc, char **argv,
	int stop)
{
	st->c = c;
	st->argc = argc;
	st->argv = argv;
	st->i = 0;
	st->done = 0;
	st->stop = stop;
}

/* The one way options are read: "--opt VALUE" and "--opt=VALUE" for a
 * value, "-x" for a short form, "-h"/"--help" everywhere, and "--" ends
 * the options.  Returns the option's index in tab, OPT_ARG with *val for
 * an argument, OPT_END, or OPT_BAD once the help or a usage error has
 * been printed, with the exit status in st->ret.  With st->stop the first
 * argument ends the options too and is left at argv[st->i], for commands
 * whose arguments are a command line. */
int
opt_next(struct opt_state *st, const struct opt *tab, const char **val)
{
	const char *a, *eq, *msg = "unknown option '%s'";
	size_t n;
	int k;

	if (st->i >= st->argc)
		return OPT_END;
	a = st->argv[st->i];
	if (st->done || a[0] != '-' || !a[1]) {
		if (st->stop)
			return OPT_END;
		*val = a;
		st->i++;
		return OPT_ARG;
	}
	st->i++;
	if (!strcmp(a, "--")) {
		st->done = 1;
		return st->stop ? OPT_END : opt_next(st, tab, val);
	}
	if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
		st->ret = pelagos_help(st->c);
		return OPT_BAD;
	}
	st->ret = 2;
	eq = a[1] == '-' ? util_strchr(a, '=') : NULL;
	n = eq ? (size_t)(eq - a) : util_strlen(a);
	for (k = 0; tab && tab[k].name; k++) {
		if ((util_strncmp(a, tab[k].name, n) || tab[k].name[n]) &&
		    !(tab[k].shrt && a[1] == tab[k].shrt && !a[2]))
			continue;
		if (eq && !tab[k].value) {
			/* argv's own words: the command fails anyway. */
			*(char *)eq = '\0';
			msg = "option '%s' takes no value";
		} else if (eq) {
			*val = eq + 1;
			return k;
		} else if (!tab[k].value) {
			return k;
		} else if (st->i < st->argc) {
			*val = st->argv[st->i++];
			return k;
		} else {
			msg = "option '%s' needs a value";
		}
		break;
	}
	pelagos_usage(st->c, msg, a);
	return OPT_BAD;
}

/* The root, opened here for every command: created only for create, and
 * a root that does not exist is *fd -1 and no error otherwise.  Commands
 * that change the system must be run as root. */
int
pelagos_open_root(const struct cmd *c, int create, int *fd)
{
	if ((c->flags & CMD_ROOT) && geteuid() != 0) {
		pelagos_warn(c, "must be run as root");
		return -1;
	}
	if ((*fd = root_open(pelagos_root, create)) >= 0)
		return 0;
	if (!create && errno == ENOENT)
		return 0;
	pelagos_warn(c, "root %s:", pelagos_root);
	return -1;
}

/* An ID or a name, each a single safe path component by construction;
 * anything else was refused as a usage error before (pelagos_args, run).
 * ENOENT when there is no such sandbox, said unless c is NULL. */
int
pelagos_resolve(const struct cmd *c, int rootfd, const char *arg,
	char id[ID_LEN + 1])
{
	if (rootfd >= 0 && valid_id(arg) && root_exists(rootfd, arg)) {
		util_strcpy(id, arg);
		return 0;
	}
	if (rootfd >= 0 && valid_name(arg) &&
	    root_name_lookup(rootfd, arg, id) == 0)
		return 0;
	if (c)
		pelagos_warn(c, "no such sandbox '%s'", arg);
	errno = ENOENT;
	return -1;
}

/* SIGINT, SIGTERM and SIGHUP held, for a command to check between its
 * steps and roll back (sandbox create, a CNI ADD). */
void
pelagos_hold_signals(sigset_t *s)
{
	sigemptyset(s);
	sigaddset(s, SIGINT);
	sigaddset(s, SIGTERM);
	sigaddset(s, SIGHUP);
	sigprocmask(SIG_BLOCK, s, NULL);
}

static const struct cmd *
find(const char *name)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

static int
dispatch(int argc, char **argv)
{
	static const struct opt opts[] = {
		{ "--root", 0, 1 }, { "--version", 0, 0 }, { NULL, 0, 0 } };
	const struct cmd *c, *g;
	struct opt_state st;
	const char *v;
	char name[32];
	int k;

	pelagos_root = util_getenv("PELAGOS_ROOT");
	if (!pelagos_root || !*pelagos_root)
		pelagos_root = DEF_ROOT;
	opt_init(&st, &top, argc - 1, argv + 1, 1);
	while ((k = opt_next(&st, opts, &v)) != OPT_END) {
		if (k == OPT_BAD)
			return st.ret;
		if (k == 1) {
			util_out("pelagos " PELAGOS_VERSION "\n");
			return 0;
		}
		if (!*v)
			return pelagos_usage(&top, "option '%s' needs a value",
			    "--root");
		pelagos_root = v;
	}
	argc -= st.i + 1;
	argv += st.i + 1;
	if (argc == 0)
		return pelagos_usage(&top, "missing command", NULL);
	if (!(g = find(argv[0])))
		return pelagos_usage(&top, "unknown command '%s'", argv[0]);
	c = g;
	if (!g->fn) {
		if (argc < 2)
			return pelagos_usage(g, "missing command", NULL);
		if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
			return pelagos_help(g);
		/* Longer words than any command's are cut, matching none. */
		util_fmt(name, sizeof(name), "%s %s", argv[0], argv[1]);
		if (!(c = find(name)))
			return pelagos_usage(g, "unknown command '%s'", argv[1]);
		argc--;
		argv++;
	}
	return c->fn(c, argc - 1, argv + 1);
}

int
main(int argc, char **argv)
{
	int ret, fd;

	/* Started with stdin, stdout or stderr closed, the first descriptor
	 * opened (a signalfd, a netlink socket) would take its number, and
	 * output meant for the terminal would go there. */
	for (fd = 0; fd < 3; fd++)
		if (syscall(SYS_fcntl, fd, F_GETFD) < 0 && errno == EBADF &&
		    openat(AT_FDCWD, "/dev/null", O_RDWR) != fd)
			return 1;
	pelagos_umask = umask(077);
	/* A CNI runtime runs plugins by the name in its configuration, with
	 * the request in the environment: the command line is then not ours. */
	if (util_getenv("CNI_COMMAND"))
		return cni_main();
	ret = dispatch(argc, argv);
	/* Output is buffered by util_out: a write error on it is a failure. */
	if (util_flush() < 0 && ret == 0)
		ret = 1;
	return ret;
}
