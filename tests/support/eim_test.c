/* eim_test.c - process and file helpers for tests (see eim_test.h). */
#include "eim_test.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int eim__append(char **buf, size_t *len, size_t *cap, const char *p,
		       size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 4096;
		while (c < *len + n + 1)
			c *= 2;
		char *b = realloc(*buf, c);
		if (!b)
			return -1;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

int eim_test_run(char *const argv[], char *const env[], const void *in,
		 size_t in_len, struct eim_test_proc *ret)
{
	int pin[2], pout[2], perr[2];
	size_t ocap = 0, ecap = 0, written = 0;

	memset(ret, 0, sizeof(*ret));
	if (pipe(pin) || pipe(pout) || pipe(perr))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		close(pin[1]);
		close(pout[0]);
		close(perr[0]);
		for (size_t i = 0; env && env[i]; i++)
			putenv(env[i]);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	signal(SIGPIPE, SIG_IGN);
	if (!in || in_len == 0) {
		close(pin[1]);
		pin[1] = -1;
	}
	fcntl(pout[0], F_SETFL, O_NONBLOCK);
	fcntl(perr[0], F_SETFL, O_NONBLOCK);
	int open_fds = 2;
	eim__append(&ret->out, &ret->out_len, &ocap, "", 0);
	eim__append(&ret->err, &ret->err_len, &ecap, "", 0);
	while (open_fds > 0 || pin[1] >= 0) {
		struct pollfd fds[3] = {{pout[0], POLLIN, 0},
					{perr[0], POLLIN, 0},
					{pin[1], POLLOUT, 0}};
		if (poll(fds, 3, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			char tmp[4096];
			ssize_t n = read(fds[i].fd, tmp, sizeof(tmp));
			if (n > 0) {
				if (i == 0)
					eim__append(&ret->out, &ret->out_len,
						    &ocap, tmp, (size_t)n);
				else
					eim__append(&ret->err, &ret->err_len,
						    &ecap, tmp, (size_t)n);
			} else if (n == 0 || errno != EAGAIN) {
				close(fds[i].fd);
				if (i == 0)
					pout[0] = -1;
				else
					perr[0] = -1;
				open_fds--;
			}
		}
		if (pin[1] >= 0 && fds[2].revents) {
			ssize_t n = write(pin[1], (const char *)in + written,
					  in_len - written);
			if (n > 0)
				written += (size_t)n;
			if (n < 0 || written == in_len) {
				close(pin[1]);
				pin[1] = -1;
			}
		}
	}
	int st = 0;
	waitpid(pid, &st, 0);
	ret->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

void eim_test_proc_done(struct eim_test_proc *p)
{
	free(p->out);
	free(p->err);
	memset(p, 0, sizeof(*p));
}

const char *eim_test_bin(void)
{
	const char *b = getenv("EIM_BIN");
	return b ? b : "./eim/eim";
}

const char *eim_test_tmpdir(void)
{
	static char path[256];
	const char *base = getenv("TMPDIR");
	snprintf(path, sizeof(path), "%s/eim-test-XXXXXX",
		 base ? base : "/tmp");
	if (!mkdtemp(path))
		return NULL;
	return path;
}

void eim_test_rmdir(const char *path)
{
	char cmd[512];
	if (!path || strncmp(path, "/", 1) != 0 || !strstr(path, "eim-test-"))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", path);
}

int eim_test_contains(const char *haystack, const char *needle)
{
	return haystack && needle && strstr(haystack, needle) != NULL;
}

int eim_test_spawn(char *const argv[], char *const env[],
		   struct eim_test_child *ret)
{
	int out[2];

	memset(ret, 0, sizeof(*ret));
	if (pipe(out))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		close(out[1]);
		for (size_t i = 0; env && env[i]; i++)
			putenv(env[i]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	ret->pid = pid;
	ret->out_fd = out[0];
	return 0;
}

int eim_test_child_line(struct eim_test_child *c, char *line, size_t cap,
			int timeout_ms)
{
	for (int waited = 0;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			size_t n = (size_t)(nl - c->buf);
			size_t k = n < cap - 1 ? n : cap - 1;
			memcpy(line, c->buf, k);
			line[k] = '\0';
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return 0;
		}
		if (waited >= timeout_ms || c->len == sizeof(c->buf))
			return -1;
		struct pollfd p = {c->out_fd, POLLIN, 0};
		if (poll(&p, 1, 50) > 0) {
			ssize_t r = read(c->out_fd, c->buf + c->len,
					 sizeof(c->buf) - c->len);
			if (r == 0)
				return -1;
			if (r > 0)
				c->len += (size_t)r;
		}
		waited += 50;
	}
}

int eim_test_child_stop(struct eim_test_child *c, int sig)
{
	int st = 0;

	if (c->pid <= 0)
		return -1;
	kill(c->pid, sig);
	waitpid(c->pid, &st, 0);
	close(c->out_fd);
	c->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

struct eim_test_proc eim_test_eim(const char *db, const char *a0, ...)
{
	char *argv[32];
	char dbenv[1100];
	char *env[] = {dbenv, NULL};
	struct eim_test_proc p;
	int n = 0;
	va_list ap;

	argv[n++] = (char *)eim_test_bin();
	va_start(ap, a0);
	for (const char *a = a0; a && n < 31; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	snprintf(dbenv, sizeof(dbenv), "EIM_DB=%s", db ? db : "");
	if (eim_test_run(argv, db ? env : NULL, NULL, 0, &p) != 0)
		p.status = -1;
	return p;
}
