/* SPDX-License-Identifier: Apache-2.0 */
/* JSON read and written: jsmn (Debian's libjsmn-dev, MIT, header-only and
 * allocation-free) splits the text into tokens, and this file checks what
 * jsmn lets through even in strict mode: a missing or doubled ',' or ':',
 * a trailing ',', a second top-level value, text after it, bad numbers,
 * raw control characters in strings, values chained to values, and a
 * nesting depth or token count beyond the limits.  Once json_parse has
 * accepted a text, every token is a well-formed value in its place.
 * Strings are written with json_put. */
#include <errno.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "pelagos.h"

/* RFC 8259's number, or true, false or null. */
static int
primitive(const char *s, int n)
{
	int i = 0, d;

	if ((n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "null", 4))) ||
	    (n == 5 && !memcmp(s, "false", 5)))
		return 0;
	i += i < n && s[i] == '-';
	for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		;
	if (i == d || (s[d] == '0' && i > d + 1))
		return -1;
	if (i < n && s[i] == '.') {
		for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return -1;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		i += i < n && (s[i] == '+' || s[i] == '-');
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return -1;
	}
	return i == n ? 0 : -1;
}

/* jsmn has matched the brackets and split strings and primitives; what
 * is left to check is where the ',' and ':' are.  Each value must follow
 * its key's ':', each first child its container's bracket and each later
 * one a ','; and as there must be no other ',' or ':', their count must
 * be exactly one ':' per key and one ',' between siblings. */
int
json_parse(struct json *j, const char *js, size_t len)
{
	jsmntok_t raw[JSON_MAX_TOKENS];
	unsigned char depth[JSON_MAX_TOKENS];
	jsmn_parser p;
	int n, i, k, par, in = 0, seps = 0, want = 0;
	char c;

	j->js = js;
	j->n = 0;
	errno = EFBIG;
	if (len > JSON_MAX_BYTES)
		return -1;
	jsmn_init(&p);
	n = jsmn_parse(&p, js, len, raw, JSON_MAX_TOKENS);
	errno = E2BIG;
	if (n == JSMN_ERROR_NOMEM)
		return -1;
	errno = EBADMSG;
	if (n <= 0 || raw[0].type != JSMN_OBJECT)
		return -1;
	for (i = 0; i < (int)len; i++) {
		c = js[i];
		if (in && c == '\\')
			i++;
		else if (!in && (c == ',' || c == ':'))
			seps++;
		else if (c == '"')
			in = !in;
		else if ((unsigned char)c < 0x20 && (in || (c != ' ' &&
		    c != '\t' && c != '\n' && c != '\r')))
			return -1;
		else if (!in && c != ' ' && c != '\t' && c != '\n' &&
		    c != '\r' && (i < raw[0].start || i >= raw[0].end))
			return -1;
	}
	for (i = 0; i < n; i++) {
		struct json_tok *t = &j->tok[i];

		t->type = raw[i].type;
		t->start = raw[i].start;
		t->end = raw[i].end;
		t->size = raw[i].size;
		t->parent = par = raw[i].parent;
		if (t->type == JSMN_PRIMITIVE ? primitive(js + t->start,
		    t->end - t->start) || t->size : t->type == JSMN_STRING &&
		    t->size > (par >= 0 && j->tok[par].type == JSMN_OBJECT))
			return -1;
		want += t->size > 1 && t->type != JSMN_STRING ? t->size - 1 : 0;
		if (i == 0) {
			depth[0] = 0;
			continue;
		}
		if (par < 0)
			return -1;
		depth[i] = (unsigned char)(depth[par] + (j->tok[par].type !=
		    JSMN_STRING));
		if (depth[i] > JSON_MAX_DEPTH) {
			errno = ELOOP;
			return -1;
		}
		k = raw[i].start - (t->type == JSMN_STRING);
		while (--k > 0 && (js[k] == ' ' || js[k] == '\t' ||
		    js[k] == '\n' || js[k] == '\r'))
			;
		c = j->tok[par].type;
		if (c == JSMN_OBJECT && (t->type != JSMN_STRING ||
		    t->size != 1))
			return -1;
		want += c == JSMN_OBJECT;
		if (js[k] != (c == JSMN_STRING ? ':' : par + 1 < i ? ',' :
		    c == JSMN_OBJECT ? '{' : '['))
			return -1;
	}
	if (seps != want)
		return -1;
	j->n = n;
	return 0;
}

int
json_type(const struct json *j, int t)
{
	return t < 0 || t >= j->n ? 0 : j->tok[t].type;
}

/* The next child of parent after token prev (-1: the first), or -1.  An
 * object's children are its keys; a key's value is the token after it. */
int
json_next(const struct json *j, int parent, int prev)
{
	int i;

	for (i = parent < 0 ? j->n : prev < 0 ? parent + 1 : prev + 1;
	    i < j->n; i++) {
		if (j->tok[i].parent == parent)
			return i;
		if (j->tok[i].start >= j->tok[parent].end)
			break;
	}
	return -1;
}

/* The value of key in obj, or -1; of a key given twice, the last one
 * counts, as for the Go decoder engines use. */
int
json_get(const struct json *j, int obj, const char *key)
{
	char k[64];
	int i, found = -1;

	if (json_type(j, obj) != JSMN_OBJECT)
		return -1;
	for (i = json_next(j, obj, -1); i >= 0; i = json_next(j, obj, i))
		if (json_string(j, i, k, sizeof(k)) == 0 && !strcmp(k, key))
			found = i + 1;
	return found;
}

/* The string's value, unescaped into buf; EINVAL for a token that is no
 * string, or whose escapes name a NUL or anything beyond ASCII (no
 * configuration key or value pelagos reads has a use for them; raw
 * UTF-8 is taken as it is), ENAMETOOLONG when it does not fit.  jsmn has
 * checked every escape and its four hex digits. */
int
json_string(const struct json *j, int t, char *buf, size_t len)
{
	const char *s, *e;
	size_t n = 0;
	char c;
	int i;

	if (json_type(j, t) != JSON_STRING)
		goto bad;
	s = j->js + j->tok[t].start;
	e = j->js + j->tok[t].end;
	while (s < e) {
		if ((c = *s++) == '\\') {
			c = *s++;
			c = c == 'b' ? '\b' : c == 'f' ? '\f' : c == 'n' ? '\n' :
			    c == 'r' ? '\r' : c == 't' ? '\t' : c;
			if (c == 'u') {
				if (s[0] != '0' || s[1] != '0' || s[2] > '7')
					goto bad;
				for (c = 0, i = 2; i < 4; i++)
					c = (char)(c << 4 | (s[i] <= '9' ?
					    s[i] - '0' : (s[i] | 0x20) - 'a' +
					    10));
				s += 4;
				if (!c)
					goto bad;
			}
		}
		if (n + 1 >= len) {
			errno = ENAMETOOLONG;
			return -1;
		}
		buf[n++] = c;
	}
	buf[n] = '\0';
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int
json_bool(const struct json *j, int t, int *v)
{
	const char *s = j->js + (t >= 0 ? j->tok[t].start : 0);

	if (json_type(j, t) != JSMN_PRIMITIVE || (*s != 't' && *s != 'f')) {
		errno = EINVAL;
		return -1;
	}
	*v = *s == 't';
	return 0;
}

/* A whole number from 0 to max, written without fraction or exponent. */
int
json_uint(const struct json *j, int t, unsigned long long max,
	unsigned long long *v)
{
	const char *e;

	if (json_type(j, t) != JSMN_PRIMITIVE ||
	    util_parse_ull(j->js + j->tok[t].start, &e, max, v) < 0 ||
	    e != j->js + j->tok[t].end) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* The value's text as it was given, quotes and brackets included. */
const char *
json_raw(const struct json *j, int t, size_t *n)
{
	int q = j->tok[t].type == JSMN_STRING;

	*n = (size_t)(j->tok[t].end - j->tok[t].start + 2 * q);
	return j->js + j->tok[t].start - q;
}

/* A string on stdout (util_out), quoted, with '"', '\\' and control
 * characters escaped. */
void
json_put(const char *s)
{
	util_out("%c", '"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			util_out("\\%c", ch);
		else if (ch < 0x20)
			util_out("\\u%04x", ch);
		else
			util_out("%c", ch);
	}
	util_out("%c", '"');
}
