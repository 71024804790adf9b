/* SPDX-License-Identifier: Apache-2.0 */
/* Small stand-ins for the parts of libc that would double the static
 * binary: printf (whose float formatting alone is 5 KiB), stdio buffering,
 * malloc, qsort and opendir.  The binary is what a device stores and
 * every command maps (the kernel maps a small executable nearly whole,
 * 64 KiB around each page fault; the pause gives it back, see pause.c).
 *
 * The formatter knows what pelagos writes: %d %i %u %x %c %s %% with the
 * '-' and '0' flags, a width, a precision for strings (also '*'), and
 * the l, ll and z length modifiers. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "pelagos.h"

/* Where formatted text goes: a string of len bytes (the NUL included),
 * or, with fd >= 0, a buffer that is written out to fd whenever it fills,
 * so that no length of text is ever cut. */
struct sink {
	char *buf;
	size_t len, n, total;
	int fd, err;
};

static void
drain(struct sink *s)
{
	if (s->n && util_write_all(s->fd, s->buf, s->n) < 0)
		s->err = 1;
	s->n = 0;
}

static void
put(struct sink *s, char c)
{
	if (s->fd >= 0 && s->n == s->len)
		drain(s);
	if (s->n < s->len)
		s->buf[s->n] = c;
	s->n++;
	s->total++;
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

static size_t
number(const char **fmt)
{
	size_t n = 0;

	for (; **fmt >= '0' && **fmt <= '9'; ++*fmt)
		n = n * 10 + (size_t)(**fmt - '0');
	return n;
}

/* 'l' and 'z' count alike: size_t is as wide as long on every Linux ABI,
 * and long is as wide as int or as long long. */
static void
format(struct sink *s, const char *fmt, va_list ap)
{
	char num[24], *p, padc, c;
	unsigned long long u;
	size_t width, prec, n;
	int left, lm, big, neg;
	unsigned int base;
	const char *str;

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(s, *fmt);
			continue;
		}
		left = *++fmt == '-';
		fmt += left;
		padc = *fmt == '0' ? '0' : ' ';
		fmt += padc == '0';
		width = number(&fmt);
		prec = (size_t)-1;
		if (*fmt == '.') {
			if (*++fmt == '*') {
				prec = (size_t)va_arg(ap, int);
				fmt++;
			} else {
				prec = number(&fmt);
			}
		}
		for (lm = 0; *fmt == 'l' || *fmt == 'z'; fmt++)
			lm++;
		big = lm > 1 || (lm && sizeof(long) == sizeof(long long));
		c = *fmt;
		if (c == 's') {
			str = va_arg(ap, const char *);
			for (n = 0; n < prec && str[n]; n++)
				;
			padc = ' ';
		} else if (c && util_strchr("cdiux", c)) {
			if (big)
				u = va_arg(ap, unsigned long long);
			else if (lm)
				u = va_arg(ap, unsigned long);
			else
				u = va_arg(ap, unsigned int);
			if ((c == 'd' || c == 'i') && !big)
				u = (unsigned long long)(lm ? (long long)(long)u :
				    (long long)(int)u);
			p = num + sizeof(num);
			neg = (c == 'd' || c == 'i') && (long long)u < 0;
			base = c == 'x' ? 16 : 10;
			if (neg)
				u = 0 - u;
			if (c == 'c') {
				*--p = (char)u;
				padc = ' ';
			} else {
				do {
					*--p = "0123456789abcdef"[u % base];
					u /= base;
				} while (u);
			}
			if (neg)
				*--p = '-';
			str = p;
			n = (size_t)(num + sizeof(num) - p);
		} else {
			if (c == '%')
				put(s, '%');
			else
				fmt--;
			continue;
		}
		field(s, str, n, width, left, padc);
	}
}

/* snprintf's contract: the text's whole length is returned, and at most
 * len - 1 bytes of it are stored, NUL-terminated. */
size_t
util_vfmt(char *buf, size_t len, const char *fmt, va_list ap)
{
	struct sink s = { buf, len ? len - 1 : 0, 0, 0, -1, 0 };

	format(&s, fmt, ap);
	if (len)
		buf[s.n < len ? s.n : len - 1] = '\0';
	return s.total;
}

ERR_VA_NOFP size_t
util_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = util_vfmt(buf, len, fmt, ap);
	va_end(ap);
	return n;
}

static char out_buf[4096];
static struct sink out = { out_buf, sizeof(out_buf), 0, 0, 1, 0 };

int
util_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n) {
		if ((w = write(fd, c, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Standard output, buffered and written out as the buffer fills;
 * util_flush reports whether all of it was written. */
ERR_VA_NOFP void
util_out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(&out, fmt, ap);
	va_end(ap);
}

int
util_flush(void)
{
	drain(&out);
	return out.err ? -1 : 0;
}

/* One line on stderr in a single write, so that lines from parallel
 * commands do not interleave. */
void
util_err(const char *line)
{
	(void)!util_write_all(2, line, util_strlen(line));
}

/* Anonymous memory straight from the kernel, by raw system calls: musl's
 * mmap and munmap wrappers (270 bytes) check for what pelagos never asks
 * (MAP_FIXED, offsets).  32-bit ABIs have mmap2 (i386's mmap takes a
 * struct).  util_grow doubles an array by copying it (musl's mremap
 * wrapper costs more bytes than the copy of arrays this small costs
 * time). */
#ifdef SYS_mmap2
#define SYS_MMAP SYS_mmap2
#else
#define SYS_MMAP SYS_mmap
#endif

void *
util_alloc(size_t bytes)
{
	long p = syscall(SYS_MMAP, NULL, bytes ? bytes : 1,
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == -1 ? NULL : (void *)p;
}

void
util_release(void *p, size_t bytes)
{
	if (p)
		syscall(SYS_munmap, p, bytes ? bytes : 1);
}

int
util_grow(void **p, size_t *cap, size_t elem)
{
	size_t ncap = *cap ? *cap * 2 : 256;
	void *q = util_alloc(ncap * elem);

	if (!q)
		return -1;
	if (*p) {
		memcpy(q, *p, *cap * elem);
		util_release(*p, *cap * elem);
	}
	*p = q;
	*cap = ncap;
	return 0;
}

/* Shell sort: a few lines, fast enough for thousands of IDs, and by
 * swapping in place it needs no buffer, so any element size works. */
static void
swap(unsigned char *a, unsigned char *b, size_t size)
{
	unsigned char t;

	while (size--) {
		t = *a;
		*a++ = *b;
		*b++ = t;
	}
}

void
util_sort(void *base, size_t n, size_t size,
	int (*cmp)(const void *, const void *))
{
	unsigned char *b = base, *p;
	size_t i, gap, g;

	/* Knuth's gaps, 1, 4, 13, 40, ... */
	for (gap = 1; gap < n / 3; gap = gap * 3 + 1)
		;
	for (; gap; gap /= 3)
		for (g = gap * size, i = gap; i < n; i++)
			for (p = b + i * size; p >= b + g && cmp(p - g, p) > 0;
			    p -= g)
				swap(p - g, p, size);
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

/* The next name other than "." and "..": 1 with *name set, 0 at the
 * end, -1 with errno on a read error. */
int
util_dir_next(struct util_dir *d, const char **name)
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
			if (n <= 0)
				return (int)n;
			d->len = (size_t)n;
			d->pos = 0;
		}
		e = (struct ent *)((char *)d->buf + d->pos);
		d->pos += e->reclen;
		if (e->name[0] != '.' || (e->name[1] && (e->name[1] != '.' ||
		    e->name[2]))) {
			*name = e->name;
			return 1;
		}
	}
}

/* Whether the entry util_dir_next last named is a directory: in a
 * linux_dirent64 its type is the byte before its name. */
int
util_dir_isdir(const char *name)
{
	return ((const unsigned char *)name)[-1] == 4;	/* DT_DIR */
}

void
util_dir_close(struct util_dir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/* Closes every descriptor from fd up; kernels before 5.9 have no
 * close_range, and a loop over the first 1024 does there. */
void
util_close_from(int fd)
{
	if (syscall(SYS_close_range, fd, ~0u, 0) == 0)
		return;
	for (; fd < 1024; fd++)
		close(fd);
}

/* Decimal digits up to the first non-digit, at most max, with no sign
 * and no leading zero (the kernel and our files never write one); -1
 * with EINVAL if there are no digits or the value is out of range. */
int
util_parse_ull(const char *s, const char **end, unsigned long long max,
	unsigned long long *v)
{
	const char *p = s;

	unsigned d;

	for (*v = 0; *p >= '0' && *p <= '9'; p++) {
		d = (unsigned)(*p - '0');
		if (d > max || *v > (max - d) / 10 || (p == s + 1 && *s == '0'))
			goto bad;
		*v = *v * 10 + d;
	}
	if (end)
		*end = p;
	if (p != s)
		return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* Where the kernel's struct stat is libc's, the system call itself:
 * libc's fstatat (0.7 KB) carries fallbacks for kernels older than
 * AT_EMPTY_PATH. */
int
util_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
#if defined(__x86_64__) || defined(__aarch64__)
	return (int)syscall(SYS_newfstatat, dirfd, path, st, flags);
#else
	return fstatat(dirfd, path, st, flags);
#endif
}

/* fstat as the system call of that name where there is one (as libc's
 * fstat makes it: the fault-injection tests count it). */
int
util_fstat(int fd, struct stat *st)
{
#if defined(__x86_64__)
	return (int)syscall(SYS_fstat, fd, st);
#else
	return util_fstatat(fd, "", st, AT_EMPTY_PATH);
#endif
}

/* strspn (in) or strcspn (!in), without libc's bitmap versions. */
size_t
util_span(const char *s, const char *set, int in)
{
	size_t n = 0;

	while (s[n] && !util_strchr(set, s[n]) == !in)
		n++;
	return n;
}

/* signal() without its SA_RESTART wrapper, and without libc's
 * sigaction, which blocks signals and takes a lock around the call for
 * the handlers it installs: only SIG_IGN and SIG_DFL are set, which
 * need no restorer and interrupt no call. */
int
util_signal(int sig, void (*handler)(int))
{
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		unsigned long mask[16 / sizeof(long)];
	} sa = { handler, 0, NULL, { 0 } };

	return (int)syscall(SYS_rt_sigaction, sig, &sa, NULL, (_NSIG - 1) / 8);
}

/* The string functions, for the short strings of this program: musl's
 * are word-at-a-time, for long ones (stpcpy 169 bytes, memchr 197,
 * strchrnul 238, strlen 125, strncmp 118; strrchr needs memrchr too).
 * util_strrchr takes no NUL for c. */
char *
util_strcpy(char *d, const char *s)
{
	return memcpy(d, s, util_strlen(s) + 1);
}

void *
util_memchr(const void *p, int c, size_t n)
{
	const unsigned char *s = p;

	for (; n; n--, s++)
		if (*s == (unsigned char)c)
			return (void *)s;
	return NULL;
}

char *
util_strchr(const char *s, int c)
{
	for (; *s != (char)c; s++)
		if (!*s)
			return NULL;
	return (char *)s;
}

/* getenv without musl's, which alone would keep its strchrnul. */
char *
util_getenv(const char *name)
{
	size_t n = util_strlen(name);
	char **e;

	for (e = environ; *e; e++)
		if (!util_strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

int
util_strncmp(const char *a, const char *b, size_t n)
{
	for (; n && *a && *a == *b; n--, a++, b++)
		;
	return n ? *(const unsigned char *)a - *(const unsigned char *)b : 0;
}

size_t
util_strlen(const char *s)
{
	const char *p = s;

	while (*p)
		p++;
	return (size_t)(p - s);
}

char *
util_strrchr(const char *s, int c)
{
	const char *last = NULL;

	for (; *s; s++)
		if (*s == (char)c)
			last = s;
	return (char *)last;
}
