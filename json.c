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
#include <stddef.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "pelagos.h"

/* RFC 8259's number, or true, false or null.  The number is read by a
 * state machine: from each state, the next for a '-', a '0', a '1' to
 * '9', a '.', an 'e' or 'E' and a '+'; 0 refuses.  A number may end in
 * state 3 (a lone 0), 4 (an integer), 6 (a fraction) or 9 (an
 * exponent). */
static int
primitive(const char *s, int n)
{
	static const unsigned char next[9][6] = {
		{ 2, 3, 4 }, { 0, 3, 4 }, { 0, 0, 0, 5, 7 },
		{ 0, 4, 4, 5, 7 }, { 0, 6, 6 }, { 0, 6, 6, 0, 7 },
		{ 8, 9, 9, 0, 0, 8 }, { 0, 9, 9 }, { 0, 9, 9 } };
	int i, c, st = 1;

	if ((n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "null", 4))) ||
	    (n == 5 && !memcmp(s, "false", 5)))
		return 0;
	for (i = 0; i < n && st; i++) {
		c = s[i];
		c = c == '-' ? 0 : c == '0' ? 1 : c >= '1' && c <= '9' ? 2 :
		    c == '.' ? 3 : (c | 0x20) == 'e' ? 4 : c == '+' ? 5 : 6;
		st = c < 6 ? next[st - 1][c] : 0;
	}
	return st == 3 || st == 4 || st == 6 || st == 9 ? 0 : -1;
}

/* What the text may hold next. */
enum { X_VALUE, X_KEY, X_FIRST, X_COLON, X_NEXT, X_END };

/* jsmn splits the text without checking its grammar; this walks it once
 * more as RFC 8259 has it, with a stack of the open brackets: a value
 * where one may stand, a string key and ':' before each member's value, a
 * ',' between siblings and nothing after the top-level object but
 * blanks.  jsmn has already refused a bad escape and a NUL.  Returns 0
 * or the errno to fail with. */
static int
grammar(const char *js, int len)
{
	char open[JSON_MAX_DEPTH + 1];
	int i = 0, d = 0, x = X_VALUE, k;
	char c;

	for (;; i++) {
		while (i < len && (js[i] == ' ' || js[i] == '\t' ||
		    js[i] == '\n' || js[i] == '\r'))
			i++;
		if (i >= len)
			return x == X_END ? 0 : EBADMSG;
		c = js[i];
		if (x == X_END)
			return EBADMSG;
		if (x == X_COLON) {
			if (c != ':')
				return EBADMSG;
			x = X_VALUE;
			continue;
		}
		if (x == X_FIRST || x == X_NEXT) {
			if (c == open[d - 1] + 2) {
				x = --d ? X_NEXT : X_END;
				continue;
			}
			if (x == X_NEXT) {
				if (c != ',')
					return EBADMSG;
				x = open[d - 1] == '{' ? X_KEY : X_VALUE;
				continue;
			}
			x = open[d - 1] == '{' ? X_KEY : X_VALUE;
		}
		/* A value or a key starts here, d brackets deep. */
		if (d > JSON_MAX_DEPTH)
			return ELOOP;
		if ((x == X_KEY && c != '"') || (!d && c != '{'))
			return EBADMSG;
		if (c == '"') {
			while (++i < len && js[i] != '"')
				if ((unsigned char)js[i] < 0x20)
					return EBADMSG;
				else
					i += js[i] == '\\';
			x = x == X_KEY ? X_COLON : X_NEXT;
		} else if (c == '{' || c == '[') {
			open[d++] = c;
			x = X_FIRST;
		} else {
			for (k = i; k < len && !util_strchr(" \t\n\r,:]}", js[k]);
			    k++)
				;
			if (primitive(js + i, k - i))
				return EBADMSG;
			i = k - 1;
			x = X_NEXT;
		}
	}
}

/* jsmn fills struct json_tok as its own jsmntok_t. */
typedef char json_same_tok[sizeof(jsmntok_t) == sizeof(struct json_tok) &&
    offsetof(jsmntok_t, parent) == offsetof(struct json_tok, parent) ? 1 : -1];

int
json_parse(struct json *j, const char *js, size_t len)
{
	jsmn_parser p;
	int n, err;

	j->js = js;
	j->n = 0;
	n = 0;
	err = EFBIG;
	if (len <= JSON_MAX_BYTES) {
		jsmn_init(&p);
		n = jsmn_parse(&p, js, len, (jsmntok_t *)(void *)j->tok,
		    JSON_MAX_TOKENS);
		err = n == JSMN_ERROR_NOMEM ? E2BIG : n < 0 ? EBADMSG :
		    grammar(js, (int)len);
	}
	if (err) {
		errno = err;
		return -1;
	}
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
	unsigned char ch;

	for (util_out("\""); (ch = (unsigned char)*s); s++)
		util_out(ch == '"' || ch == '\\' ? "\\%c" : ch < 0x20 ?
		    "\\u%04x" : "%c", ch);
	util_out("\"");
}
