/* Small stand-ins for the parts of libc that would double the static
 * binary: printf (whose float formatting alone is 5 KiB), stdio buffering,
 * malloc, qsort and opendir.  The binary's size is the pause's resident
 * size too, since the kernel maps a small executable in whole.
 *
 * The formatter knows what pelagos writes: %d %i %u %x %c %s %% with the
 * '-' and '0' flags, a width, a precision for strings (also '*'), and
 * the l, ll and z length modifiers. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "pelagos.h"

struct sink {
	char *buf;
	size_t len, n;
};

static void
put(struct sink *s, char c)
{
	if (s->n + 1 < s->len)
		s->buf[s->n] = c;
	s->n++;
}

static void
pad(struct sink *s, size_t have, size_t width, char c)
{
	for (; have < width; have++)
		put(s, c);
}

static void
field(struct sink *s, const char *str, size_t n, size_t width, int left,
	char padc)
{
	size_t i;

	if (!left)
		pad(s, n, width, padc);
	for (i = 0; i < n; i++)
		put(s, str[i]);
	if (left)
		pad(s, n, width, ' ');
}

size_t
util_vfmt(char *buf, size_t len, const char *fmt, va_list ap)
{
	struct sink s = { buf, len, 0 };
	char num[24], *p, padc;
	unsigned long long u;
	size_t width, prec;
	int left, lng, neg;
	const char *str;

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&s, *fmt);
			continue;
		}
		left = *++fmt == '-';
		fmt += left;
		padc = *fmt == '0' ? '0' : ' ';
		fmt += padc == '0';
		for (width = 0; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (size_t)(*fmt - '0');
		prec = (size_t)-1;
		if (*fmt == '.') {
			if (*++fmt == '*') {
				prec = (size_t)va_arg(ap, int);
				fmt++;
			} else {
				for (prec = 0; *fmt >= '0' && *fmt <= '9'; fmt++)
					prec = prec * 10 + (size_t)(*fmt - '0');
			}
		}
		for (lng = 0; *fmt == 'l' || *fmt == 'z'; fmt++)
			lng += *fmt == 'z' ? 2 : 1;
		neg = 0;
		switch (*fmt) {
		case 'd':
		case 'i': {
			long long v = lng >= 2 ? va_arg(ap, long long) :
			    lng ? va_arg(ap, long) : va_arg(ap, int);

			neg = v < 0;
			u = neg ? 0 - (unsigned long long)v :
			    (unsigned long long)v;
			goto number;
		}
		case 'u':
		case 'x':
			u = lng >= 2 ? va_arg(ap, unsigned long long) :
			    lng ? va_arg(ap, unsigned long) :
			    va_arg(ap, unsigned int);
number:
			p = num + sizeof(num);
			do {
				*--p = "0123456789abcdef"[u % (*fmt == 'x' ?
				    16 : 10)];
				u /= *fmt == 'x' ? 16 : 10;
			} while (u);
			if (neg)
				*--p = '-';
			field(&s, p, (size_t)(num + sizeof(num) - p), width,
			    left, padc);
			break;
		case 'c':
			num[0] = (char)va_arg(ap, int);
			field(&s, num, 1, width, left, ' ');
			break;
		case 's':
			str = va_arg(ap, const char *);
			field(&s, str, strnlen(str, prec), width, left, ' ');
			break;
		case '%':
			put(&s, '%');
			break;
		default:
			fmt--;
			break;
		}
	}
	if (len)
		buf[s.n < len ? s.n : len - 1] = '\0';
	return s.n;
}

size_t
util_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = util_vfmt(buf, len, fmt, ap);
	va_end(ap);
	return n;
}

static struct {
	char buf[4096];
	size_t n;
	int err;
} out;

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Standard output, buffered; util_flush reports whether all of it was
 * written.  One call's text must fit the buffer. */
void
util_out(const char *fmt, ...)
{
	va_list ap;
	size_t n;
	int tries;

	for (tries = 0; tries < 2; tries++) {
		va_start(ap, fmt);
		n = util_vfmt(out.buf + out.n, sizeof(out.buf) - out.n, fmt, ap);
		va_end(ap);
		if (out.n + n < sizeof(out.buf)) {
			out.n += n;
			return;
		}
		util_flush();
	}
	out.n = sizeof(out.buf) - 1;
}

int
util_flush(void)
{
	if (out.n && write_all(1, out.buf, out.n) < 0)
		out.err = 1;
	out.n = 0;
	return out.err ? -1 : 0;
}

/* One line on stderr in a single write, so that lines from parallel
 * commands do not interleave. */
void
util_err(const char *line)
{
	(void)!write_all(2, line, strlen(line));
}

/* Anonymous memory straight from the kernel; util_grow doubles an
 * array in place where it can. */
void *
util_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void
util_release(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes ? bytes : 1);
}

int
util_grow(void **p, size_t *cap, size_t elem)
{
	size_t ncap = *cap ? *cap * 2 : 256;
	void *q;

	if (!*p)
		q = util_alloc(ncap * elem);
	else if ((q = mremap(*p, *cap * elem, ncap * elem, MREMAP_MAYMOVE)) ==
	    MAP_FAILED)
		q = NULL;
	if (!q)
		return -1;
	*p = q;
	*cap = ncap;
	return 0;
}

/* Shell sort: a few lines, and fast enough for thousands of IDs. */
void
util_sort(void *base, size_t n, size_t size,
	int (*cmp)(const void *, const void *))
{
	static const size_t gaps[] = { 701, 301, 132, 57, 23, 10, 4, 1 };
	unsigned char tmp[64], *b = base;
	size_t g, i, j, gap;

	if (size > sizeof(tmp))
		return;
	for (g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
		gap = gaps[g];
		for (i = gap; i < n; i++) {
			memcpy(tmp, b + i * size, size);
			for (j = i; j >= gap &&
			    cmp(b + (j - gap) * size, tmp) > 0; j -= gap)
				memcpy(b + j * size, b + (j - gap) * size, size);
			memcpy(b + j * size, tmp, size);
		}
	}
}

/* Directory entries straight from getdents64, without opendir's heap.
 * A symlink in the directory's place is refused (ELOOP or ENOTDIR). */
int
util_dir_open(struct util_dir *d, int dirfd, const char *path)
{
	d->pos = d->len = 0;
	d->fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	return d->fd < 0 ? -1 : 0;
}

/* The next name other than "." and ".."; NULL with errno 0 at the end. */
const char *
util_dir_next(struct util_dir *d)
{
	struct ent {
		unsigned long long ino;
		long long off;
		unsigned short reclen;
		unsigned char type;
		char name[];
	} *e;
	long n;

	for (;;) {
		if (d->pos >= d->len) {
			n = syscall(SYS_getdents64, d->fd, d->buf,
			    sizeof(d->buf));
			if (n <= 0) {
				if (n == 0)
					errno = 0;
				return NULL;
			}
			d->len = (size_t)n;
			d->pos = 0;
		}
		e = (struct ent *)((char *)d->buf + d->pos);
		d->pos += e->reclen;
		if (strcmp(e->name, ".") && strcmp(e->name, ".."))
			return e->name;
	}
}

void
util_dir_close(struct util_dir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/* Decimal digits up to the first non-digit; -1 if there are none or the
 * value overflows. */
int
util_parse_ull(const char *s, const char **end, unsigned long long *v)
{
	const char *p = s;

	for (*v = 0; *p >= '0' && *p <= '9'; p++) {
		if (*v > (~0ull - (unsigned)(*p - '0')) / 10)
			return -1;
		*v = *v * 10 + (unsigned)(*p - '0');
	}
	if (end)
		*end = p;
	return p == s ? -1 : 0;
}
