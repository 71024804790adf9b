/* SPDX-License-Identifier: Apache-2.0 */
/*
 * timeit [-t SECS] FILE CMD [ARG...]: run CMD, append its wall time in
 * nanoseconds to FILE, exit with CMD's status.  The clock brackets only
 * spawn + wait, so the cost of the shell that calls timeit is not counted.
 * With -t, CMD is killed after SECS seconds (exit 124), so that a hung
 * command fails a CI run instead of stalling it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static volatile sig_atomic_t expired;

static void on_alarm(int sig)
{
	(void)sig;
	expired = 1;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long long t0, t1;
	pid_t pid;
	FILE *f;
	struct sigaction sa;
	unsigned limit = 0;
	int st, err;

	if (argc > 2 && !strcmp(argv[1], "-t")) {
		limit = (unsigned)strtoul(argv[2], NULL, 10);
		argv += 2;
		argc -= 2;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: timeit [-t SECS] FILE CMD [ARG...]\n");
		return 2;
	}
	/* Open first so that a bad FILE fails before CMD has any effect. */
	f = fopen(argv[1], "a");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	t0 = now_ns();
	err = posix_spawnp(&pid, argv[2], NULL, NULL, argv + 2, environ);
	if (err) {
		fprintf(stderr, "timeit: %s: %s\n", argv[2], strerror(err));
		return 127;
	}
	if (limit) {
		/* No SA_RESTART: the alarm must interrupt waitpid. */
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;
		sigaction(SIGALRM, &sa, NULL);
		alarm(limit);
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			perror("timeit: waitpid");
			return 2;
		}
		if (expired) {
			fprintf(stderr, "timeit: %s: killed after %us\n",
				argv[2], limit);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return 124;
		}
	}
	t1 = now_ns();
	fprintf(f, "%lld\n", t1 - t0);
	if (fclose(f)) {
		perror(argv[1]);
		return 2;
	}
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}
