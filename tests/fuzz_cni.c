/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the CNI plugin's input and output: the
 * configuration a runtime writes to stdin, prevResult and
 * cni.dev/valid-attachments included, read for each command.
 *
 *	make fuzz FUZZ_TIME=60
 *
 * Whatever the input, what the plugin would print must be JSON: an
 * accepted ADD configuration's result (prevResult's entries copied into
 * it), and the error object of a refused one, whose details quote the
 * input.  The result is parsed back and must list prevResult's
 * interfaces, ips and routes and ours.  The result is printed with
 * util_out, as the plugin prints it, into a memory file on fd 1. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "pelagos.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int out_fd = -1;
static char out[JSON_MAX_BYTES * 2];
static struct json conf, back;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if ((out_fd = memfd_create("fuzz_cni", 0)) < 0 || dup2(out_fd, 1) < 0) {
		perror("fuzz_cni: memfd on fd 1");
		abort();
	}
	return 0;
}

/* What util_out printed since the last call. */
static size_t
printed(void)
{
	ssize_t n;

	util_flush();
	n = pread(1, out, sizeof(out), 0);
	if (n < 0 || (size_t)n == sizeof(out)) {
		fprintf(stderr, "fuzz_cni: output unreadable or too long\n");
		abort();
	}
	if (ftruncate(1, 0) < 0 || lseek(1, 0, SEEK_SET) < 0)
		abort();
	return (size_t)n;
}

static void
must_be_json(size_t n, const char *what)
{
	if (json_parse(&back, out, n) == 0 || errno == E2BIG ||
	    errno == EFBIG)
		return;
	fprintf(stderr, "fuzz_cni: %s is not JSON (%s):\n%.*s\n", what,
	    strerror(errno), (int)n, out);
	abort();
}

static int
count(const struct json *j, int list)
{
	int t, n = 0;

	for (t = json_next(j, list, -1); t >= 0; t = json_next(j, list, t))
		n++;
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const cmds[] = { "ADD", "CHECK", "DEL", "GC",
		"STATUS" };
	struct pelagos_err e;
	struct cni_req r;
	struct cni_att a;
	size_t i, n;
	int code, want[3], k;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		memset(&e, 0, sizeof(e));
		if (cni_req_env(&r, cmds[i], "fuzz-ctr", "/run/netns/fuzz",
		    "eth0", &e) != 0)
			abort();
		code = cni_req_conf(&r, &conf, (const char *)data, size, &e);
		if (code) {
			cni_error(&r, code, &e);
			must_be_json(printed(), "an error object");
			continue;
		}
		if (r.cmd == CNI_GC)
			(void)cni_valid(&r, "fuzz-ctr/eth0");
		if (r.cmd != CNI_ADD)
			continue;
		memset(&a, 0, sizeof(a));
		strcpy(a.link[0].name, r.bridge);
		strcpy(a.link[1].name, "pc-0a000002");
		strcpy(a.link[2].name, r.ifname);
		a.pi.ip = r.sn.net + 2;
		a.pi.gateway = r.gw;
		a.pi.prefix = r.sn.prefix;
		a.pi.prefix6 = r.sn6.prefix;
		for (k = 0; k < 3; k++)
			want[k] = count(&conf, r.prev_list[k]);
		cni_result(&r, &a);
		n = printed();
		must_be_json(n, "the ADD result");
		if (back.n && (count(&back, json_get(&back, 0, "interfaces")) !=
		    want[PREV_IFS] + 3 || count(&back, json_get(&back, 0,
		    "ips")) != want[PREV_IPS] + 1 + !!r.sn6.prefix ||
		    count(&back, json_get(&back, 0, "routes")) !=
		    want[PREV_ROUTES] + r.defroute * (1 + !!r.sn6.prefix))) {
			fprintf(stderr, "fuzz_cni: the result lost entries:\n"
			    "%.*s\n", (int)n, out);
			abort();
		}
	}
	return 0;
}
