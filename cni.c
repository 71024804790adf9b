/* SPDX-License-Identifier: Apache-2.0 */
/* pelagos as a CNI plugin (the Container Network Interface, spec 1.1.0
 * and the versions runtimes still send): main() runs this when
 * CNI_COMMAND is set, whatever name the binary was started under.  A
 * command layer of its own: the request comes from the environment and
 * stdin, and what it prints is the specification's, a result or an error
 * object on stdout with a non-zero exit; nothing goes to stderr. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "pelagos.h"

/* All of stdin, up to one byte more than a configuration may hold. */
static int
read_in(char *buf, size_t cap, size_t *n)
{
	ssize_t k;

	for (*n = 0; *n < cap; *n += (size_t)k) {
		if ((k = read(0, buf + *n, cap - *n)) <= 0) {
			if (k == 0)
				break;
			if (errno != EINTR)
				return -1;
			k = 0;
		}
	}
	return 0;
}

int
cni_main(void)
{
	/* On the stack, not in .bss: a large .bss makes the linker align
	 * the data segment to a page, padding the file. */
	char in[JSON_MAX_BYTES + 1];
	struct json j;
	struct pelagos_err e = { "", 0 };
	struct cni_req r;
	struct cni_att a;
	sigset_t sigs;
	size_t n = 0;
	int code;

	/* Held for the whole request: an ADD checks for them between steps
	 * and rolls back (attach.c), as sandbox create does. */
	pelagos_hold_signals(&sigs);
	code = cni_req_env(&r, util_getenv("CNI_COMMAND"), util_getenv("CNI_CONTAINERID"),
	    util_getenv("CNI_NETNS"), util_getenv("CNI_IFNAME"), &e);
	if (code)
		goto fail;
	if (read_in(in, sizeof(in), &n) < 0) {
		err_os(&e, "read the configuration on stdin");
		code = CNI_E_IO;
		goto fail;
	}
	code = cni_req_conf(&r, &j, in, n, &e);
	if (r.cmd == CNI_VERSION) {
		cni_version_result(&r);
		return util_flush() < 0;
	}
	if (code)
		goto fail;
	switch (r.cmd) {
	case CNI_ADD:
		if ((code = attach_add(&r, &a, &e)) != 0)
			goto fail;
		cni_result(&r, &a);
		/* A result the runtime never reads is an attachment it will
		 * never delete: undo it. */
		if (util_flush() == 0)
			return 0;
		attach_del(&r, &e);
		return 1;
	case CNI_DEL:
	case CNI_GC:
		code = attach_del(&r, &e);
		break;
	case CNI_CHECK:
		code = attach_check(&r, &e);
		break;
	default:
		code = attach_status(&r, &e);
		break;
	}
	if (!code)
		return 0;
fail:
	cni_error(&r, code, &e);
	util_flush();
	return 1;
}
