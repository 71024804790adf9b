/* SPDX-License-Identifier: Apache-2.0 */
/* The words that users and files hand us: each becomes a path component,
 * a kernel object's name or a state file value, so each is checked once,
 * here, before any use. */
#include <string.h>

#include "pelagos.h"

static int
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static int
is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int
valid_id(const char *s)
{
	size_t i;

	for (i = 0; i < ID_LEN; i++)
		if (!is_hex(s[i]))
			return 0;
	return s[i] == '\0';
}

/* What names are made of: letters, digits, '_', '.' and '-'. */
static int
is_word(int c)
{
	return is_alnum(c) || c == '_' || c == '.' || c == '-';
}

static int
valid_word(const char *s, size_t max)
{
	size_t i;

	if (!is_alnum((unsigned char)s[0]))
		return 0;
	for (i = 0; s[i]; i++)
		if (i >= max || !is_word((unsigned char)s[i]))
			return 0;
	return 1;
}

int
valid_name(const char *s)
{
	return valid_word(s, NAME_MAX_LEN);
}

int
valid_hostname(const char *s)
{
	return valid_word(s, HOST_MAX_LEN);
}

/* Interface names reach the kernel and the state file: no separators,
 * no blanks, and never a path component. */
int
valid_ifname(const char *s)
{
	size_t i;

	if (!s[0] || (s[0] == '.' && (!s[1] || (s[1] == '.' && !s[2]))))
		return 0;
	for (i = 0; s[i]; i++)
		if (i >= IFNAME_LEN - 1 || s[i] == '/' || s[i] == ':' ||
		    (unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* A resolv.conf option, "ndots:2" or "edns0": one word, no blanks. */
int
valid_dns_option(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i >= 64 || !(is_word((unsigned char)s[i]) || s[i] == ':'))
			return 0;
	return i > 0;
}

/* As the kernel writes it: 8-4-4-4-12 lowercase hex digits. */
int
valid_boot_id(const char *s)
{
	size_t i;

	for (i = 0; i < BOOT_ID_LEN; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-' :
		    !is_hex(s[i]))
			return 0;
	return s[i] == '\0';
}

/* A CNI container ID, as the specification spells it; it becomes part of
 * a lease's target, never a path component. */
int
valid_cni_id(const char *s)
{
	return valid_word(s, CNI_ID_MAX);
}

/* An absolute path of single words as names are made of, for a cgroup:
 * no "." or ".." component, no empty one, no trailing slash. */
int
valid_path(const char *s)
{
	const char *p = s;
	size_t n;

	if (*p != '/')
		return 0;
	while (*p == '/') {
		for (n = 0, p++; is_word((unsigned char)p[n]); n++)
			;
		if (!n || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n;
	}
	return *p == '\0';
}
