/* SPDX-License-Identifier: Apache-2.0 */
/* The error record, in the spirit of crun's libcrun_error_t: code below
 * the command layer says what failed and on which object, keeps errno,
 * and returns -1; the command layer prints it once. */
#include <errno.h>
#include <stdarg.h>

#include "pelagos.h"

static void
fill(struct pelagos_err *e, int os, const char *fmt, va_list ap)
{
	util_vfmt(e->what, sizeof(e->what), fmt, ap);
	e->os = os;
}

/* The failure of an OS call: errno's text follows the message (the
 * formatter makes no system call, so errno survives it). */
ERR_VA_NOFP int
err_os(struct pelagos_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fill(e, errno, fmt, ap);
	va_end(ap);
	return -1;
}

/* A failure the message says all of; errno is set to errnum for the
 * caller's logic, but no OS text is printed. */
ERR_VA_NOFP int
err_msg(struct pelagos_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fill(e, 0, fmt, ap);
	va_end(ap);
	errno = errnum;
	return -1;
}
