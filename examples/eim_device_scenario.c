/*
 * eim_device_scenario.c - `eim-device scenario`: runs one device-lab
 * scenario file against a real `eim serve` it starts itself (see
 * eim_device_scenario.h for the flow, examples/scenarios/README.md for the
 * file format).
 *
 * Everything outside this process is the real thing: the `eim` binary for
 * every eIM action (init, export-initial-eim, device import, submit,
 * results, ...), `eim serve` over DTLS 1.2 with Connection ID on loopback,
 * and this program's own `pki` and `fleet` commands for the devices. The
 * devices are the simulator's eUICC model and IPA (eim_sim_ipa.h) in this
 * process, so that a scenario can act on a device between wakes (rollback,
 * fallback, reboot, a replayed package) the way a device lab would.
 *
 * Why the runner stops at the first failed step: scenarios are sequences
 * (a wake delivers what an earlier submit queued), so what follows a
 * failure would only report consequences of it.
 */
#include "examples/eim_device_scenario.h"

#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "examples/eim_device_scenario_int.h"
#include "examples/eim_sim_euicc.h"
#include "examples/eim_sim_ipa.h"
#include "examples/eim_sim_state.h"
#include "proto/eim_epr.h"
#include "proto/eim_esipa.h"
#include "proto/eim_ids.h"
#include "proto/eim_ipadata.h"
#include "transport/eim_loop.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char eim_device_scenario_usage[] =
	"usage: eim-device scenario FILE [--eim PATH] [--workdir DIR] "
	"[--keep]\n"
	"                           [--json]\n\n"
	"Runs a device-lab scenario (JSON; see examples/scenarios/README.md)\n"
	"from nothing: a test PKI, 'eim init' on a new database, a fleet of\n"
	"simulated devices registered with 'eim device import', 'eim serve'\n"
	"on a free loopback port (DTLS with Connection ID); then the steps:\n"
	"eim commands, device wakes, device actions and expectations. Stops\n"
	"at the first failed step, stops the server and prints a report\n"
	"(--json: {scenario, ok, steps: [{n, kind, ok, detail}],\n"
	"duration_ms}).\n"
	"  --eim PATH     the eim binary (default: $EIM_BIN, else the one\n"
	"                 next to eim-device in the build tree, else PATH)\n"
	"  --workdir DIR  work there (created; must not hold an eim.db) and\n"
	"                 keep it; default: a temporary directory, removed\n"
	"  --keep         keep the temporary directory (its path is printed)\n"
	"Exit codes: 0 every step passed, 1 a step failed or the lab could\n"
	"not be set up, 2 usage error or a bad scenario file.\n";

void eim_scn_proc_done(struct eim_scn_proc *p)
{
	eim_buf_done(&p->out);
	eim_buf_done(&p->err);
}

const char *eim_scn_text(struct eim_buf *b)
{
	if (b->len == 0 || b->p[b->len - 1] != 0) {
		eim_buf_append_byte(b, 0);
		b->len--; /* the NUL stays past len */
	}
	return b->p && !b->err ? (const char *)b->p : "";
}

/* ---- child processes ------------------------------------------------------
 */

/*
 * Runs argv (argv[0] a path or a name looked up in PATH) with EIM_DB set,
 * stdin from /dev/null, capturing stdout and stderr. Killed after `ms`.
 * Returns 0 when it ran (whatever its exit code), EIM_EIO otherwise.
 */
int eim_scn_run(const struct eim_scn *s, char *const argv[], int ms,
		struct eim_scn_proc *p)
{
	int o[2] = {-1, -1}, e[2] = {-1, -1}, st = 0;
	uint64_t end = eim_loop_clock_ms() + (uint64_t)ms;
	pid_t pid;

	eim_buf_init(&p->out);
	eim_buf_init(&p->err);
	p->out.max = p->err.max = 16 << 20;
	p->status = -1;
	if (pipe2(o, O_CLOEXEC) || pipe2(e, O_CLOEXEC))
		goto fail;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		dup2(o[1], 1);
		dup2(e[1], 2);
		setenv("EIM_DB", s->db, 1);
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	struct pollfd fds[2] = {{o[0], POLLIN, 0}, {e[0], POLLIN, 0}};
	int open_fds = 2;
	while (open_fds > 0) {
		uint64_t now = eim_loop_clock_ms();
		if (now >= end) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(fds, 2, (int)(end - now)) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			char chunk[4096];
			ssize_t r;
			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			r = read(fds[i].fd, chunk, sizeof(chunk));
			if (r > 0) {
				eim_buf_append(i ? &p->err : &p->out, chunk,
					       (size_t)r);
			} else if (r == 0 || errno != EINTR) {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (o[i] >= 0)
			close(o[i]);
		if (e[i] >= 0)
			close(e[i]);
	}
	return EIM_EIO;
}

/* `eim WORDS...` (NULL-terminated) with the scenario's database. */
int eim_scn_eim(const struct eim_scn *s, struct eim_scn_proc *p, ...)
{
	char *argv[40];
	int n = 0;
	va_list ap;

	argv[n++] = (char *)s->eim_bin;
	va_start(ap, p);
	while (n < 39 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return eim_scn_run(s, argv, EIM_SCN_CMD_TIMEOUT_MS, p);
}

/* ---- set-up ---------------------------------------------------------------
 */

static bool eim__executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

/* --eim, else $EIM_BIN, else next to us in the build tree or install
 * prefix, else "eim" from PATH. */
static void eim__find_eim(struct eim_scn *s, const char *opt)
{
	char cand[EIM_SCN_PATH + 16], *slash;
	const char *env = getenv("EIM_BIN");

	if (opt || (env && *env)) {
		snprintf(s->eim_bin, sizeof(s->eim_bin), "%s", opt ? opt : env);
		return;
	}
	snprintf(cand, sizeof(cand), "%s", s->self);
	slash = strrchr(cand, '/');
	if (slash) {
		snprintf(slash, sizeof(cand) - (size_t)(slash - cand),
			 "/../eim/eim");
		if (eim__executable(cand)) {
			snprintf(s->eim_bin, sizeof(s->eim_bin), "%s", cand);
			return;
		}
		snprintf(slash, sizeof(cand) - (size_t)(slash - cand), "/eim");
		if (eim__executable(cand)) {
			snprintf(s->eim_bin, sizeof(s->eim_bin), "%s", cand);
			return;
		}
	}
	snprintf(s->eim_bin, sizeof(s->eim_bin), "eim");
}

int eim_scn_read_file(const char *path, uint8_t **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	struct eim_buf b;
	uint8_t chunk[4096];
	size_t n;

	if (!f)
		return EIM_EIO;
	eim_buf_init(&b);
	b.max = 16 << 20;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		eim_buf_append(&b, chunk, n);
	fclose(f);
	eim_buf_append_byte(&b, 0);
	if (b.err) {
		int rc = b.err;
		eim_buf_done(&b);
		return rc;
	}
	*ret = eim_buf_steal(&b, ret_len);
	(*ret_len)--;
	return 0;
}

static int eim__write_file(const char *path, const char *text, int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t n = strlen(text);
	bool ok = fd >= 0 && write(fd, text, n) == (ssize_t)n;

	if (fd >= 0 && close(fd) != 0)
		ok = false;
	return ok ? 0 : EIM_EIO;
}

/* One line for a failed set-up command (its stderr's first line); frees
 * its output. */
static int eim__setup_fail(char *why, size_t cap, const char *what,
			   struct eim_scn_proc *p)
{
	const char *e = eim_scn_text(&p->err);
	size_t n = strcspn(e, "\n");

	snprintf(why, cap, "%s: exit %d: %.*s", what, p->status,
		 (int)(n > 200 ? 200 : n), e);
	eim_scn_proc_done(p);
	return -1;
}

/*
 * `eim device import` takes the counter each device was given for the
 * eIM; the fleet writes 0. A scenario that starts near the counter's end
 * bootstraps with --counter N, so the lines get N too.
 */
static int eim__set_csv_counter(const char *csv, long counter)
{
	uint8_t *text = NULL;
	size_t len;
	struct eim_buf out;
	char num[24];
	int rc;

	if ((rc = eim_scn_read_file(csv, &text, &len)))
		return rc;
	eim_buf_init(&out);
	snprintf(num, sizeof(num), "%ld", counter);
	for (char *line = (char *)text, *next; line && *line; line = next) {
		char *nl = strchr(line, '\n');
		next = nl ? nl + 1 : NULL;
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		char *c1 = line[0] == '#' ? NULL : memchr(line, ',', n);
		char *c2 = c1 ? memchr(c1 + 1, ',', n - (size_t)(c1 + 1 - line))
			      : NULL;
		char *c3 = c2 ? memchr(c2 + 1, ',', n - (size_t)(c2 + 1 - line))
			      : NULL;
		char *c4 = c3 ? memchr(c3 + 1, ',', n - (size_t)(c3 + 1 - line))
			      : NULL;
		if (!c4) {
			eim_buf_append(&out, line, n);
		} else {
			eim_buf_append(&out, line, (size_t)(c3 + 1 - line));
			eim_buf_append(&out, num, strlen(num));
			eim_buf_append(&out, c4, n - (size_t)(c4 - line));
		}
		eim_buf_append_byte(&out, '\n');
	}
	eim_buf_append_byte(&out, 0);
	eim_free_secret(text, len);
	rc = out.err ? out.err
		     : eim__write_file(csv, (const char *)out.p, 0600);
	if (out.p)
		eim_wipe(out.p, out.len);
	eim_buf_done(&out);
	return rc;
}

/* The fleet's manifest: EIDs, state files and PSKs of the devices. */
static int eim__load_fleet(struct eim_scn *s, char *why, size_t cap)
{
	char path[EIM_SCN_PATH + 32];
	uint8_t *text = NULL;
	size_t len;
	cJSON *m;
	struct eim_buf eids;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/fleet.json", s->fleet);
	if (eim_scn_read_file(path, &text, &len)) {
		snprintf(why, cap, "%s: %s", path, strerror(errno));
		return -1;
	}
	m = cJSON_ParseWithLength((const char *)text, len);
	eim_free_secret(text, len);
	if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != s->n) {
		snprintf(why, cap, "%s: not the fleet of %d devices", path,
			 s->n);
		goto out;
	}
	eim_buf_init(&eids);
	for (int i = 0; i < s->n; i++) {
		cJSON *x = cJSON_GetArrayItem(m, i);
		struct eim_scn_dev *d = &s->devs[i];
		const char *eid =
			cJSON_GetStringValue(cJSON_GetObjectItem(x, "eid"));
		const char *st =
			cJSON_GetStringValue(cJSON_GetObjectItem(x, "state"));
		const char *pid = cJSON_GetStringValue(
			cJSON_GetObjectItem(x, "psk_identity"));
		const char *pk =
			cJSON_GetStringValue(cJSON_GetObjectItem(x, "psk"));
		if (!eid || !st || !pid || !pk ||
		    strlen(eid) != EIM_EID_DIGITS ||
		    strlen(st) >= sizeof(d->state) ||
		    strlen(pid) >= sizeof(d->psk_id) ||
		    eim_hex_decode(pk, strlen(pk), d->psk, sizeof(d->psk),
				   &d->psk_len)) {
			snprintf(why, cap, "%s: entry %d is incomplete", path,
				 i);
			eim_buf_done(&eids);
			goto out;
		}
		d->s = s;
		d->index = i;
		snprintf(d->eid, sizeof(d->eid), "%s", eid);
		snprintf(d->state, sizeof(d->state), "%s", st);
		snprintf(d->psk_id, sizeof(d->psk_id), "%s", pid);
		eim_buf_append(&eids, eid, strlen(eid));
		eim_buf_append_byte(&eids, '\n');
	}
	eim_buf_append_byte(&eids, 0);
	rc = eids.err ? -1
		      : eim__write_file(s->eids, (const char *)eids.p, 0644);
	if (rc)
		snprintf(why, cap, "%s: cannot write", s->eids);
	eim_buf_done(&eids);
out:
	if (m) {
		/* the manifest holds the PSKs: wipe them with it */
		char *t = cJSON_PrintUnformatted(m);
		if (t)
			eim_free_secret(t, strlen(t));
		cJSON_Delete(m);
	}
	return rc;
}

/*
 * Starts `eim serve` on a free loopback port. Its stdout goes to a file
 * (a pipe nobody reads after the first line could fill up and stall the
 * server), its log to serve.log; the port is read from the first line.
 */
static int eim__start_server(struct eim_scn *s, char *why, size_t cap)
{
	char out[EIM_SCN_PATH + 16], log[EIM_SCN_PATH + 16],
		ci[EIM_SCN_PATH + 32];
	uint64_t end = eim_loop_clock_ms() + 15000;
	pid_t pid;

	snprintf(out, sizeof(out), "%s/serve.out", s->dir);
	snprintf(log, sizeof(log), "%s/serve.log", s->dir);
	snprintf(ci, sizeof(ci), "%s/ci.pem", s->pki);
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		snprintf(why, cap, "cannot start eim serve: %s",
			 strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fl = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int null = open("/dev/null", O_RDONLY);
		char *argv[] = {s->eim_bin,
				(char *)"serve",
				(char *)"--listen",
				(char *)"127.0.0.1:0",
				(char *)"--ci-root",
				ci,
				NULL};
		if (fo < 0 || fl < 0)
			_exit(126);
		dup2(fo, 1);
		dup2(fl, 2);
		if (null >= 0)
			dup2(null, 0);
		setenv("EIM_DB", s->db, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	s->srv = pid;
	while (eim_loop_clock_ms() < end) {
		uint8_t *text = NULL;
		size_t len;
		int st;

		if (eim_scn_read_file(out, &text, &len) == 0) {
			const char *at = strstr((char *)text, "127.0.0.1:");
			int port = 0;
			if (at && sscanf(at, "127.0.0.1:%d", &port) == 1 &&
			    port > 0) {
				snprintf(s->server, sizeof(s->server),
					 "127.0.0.1:%d", port);
				eim_free(text);
				return 0;
			}
			eim_free(text);
		}
		if (waitpid(pid, &st, WNOHANG) == pid) {
			s->srv = 0;
			snprintf(why, cap,
				 "eim serve exited (%d) before listening; see "
				 "its log %s",
				 WIFEXITED(st) ? WEXITSTATUS(st) : -1, log);
			return -1;
		}
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	snprintf(why, cap, "eim serve did not say where it listens in 15 s");
	return -1;
}

static void eim__stop_server(struct eim_scn *s)
{
	uint64_t end;
	int st;

	if (s->srv <= 0)
		return;
	kill(s->srv, SIGTERM);
	end = eim_loop_clock_ms() + 5000;
	while (waitpid(s->srv, &st, WNOHANG) == 0) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		if (eim_loop_clock_ms() > end) {
			kill(s->srv, SIGKILL);
			waitpid(s->srv, &st, 0);
			break;
		}
		nanosleep(&ts, NULL);
	}
	s->srv = 0;
}

/* PKI, database, initial-eIM export, fleet, import, server. */
static int eim__setup(struct eim_scn *s, char *why, size_t cap)
{
	const cJSON *doc = s->doc;
	const cJSON *x;
	const char *eim_id = "eim-a";
	char count[16], counter[24], csv[EIM_SCN_PATH + 32];
	char *argv[64];
	int n = 0;
	long ctr = 0;
	struct eim_scn_proc p;

	if ((x = cJSON_GetObjectItem(doc, "eim_id")))
		eim_id = x->valuestring;
	if ((x = cJSON_GetObjectItem(doc, "counter")))
		ctr = (long)x->valuedouble;
	snprintf(count, sizeof(count), "%d", s->n);
	snprintf(counter, sizeof(counter), "%ld", ctr);

	argv[0] = s->self;
	argv[1] = (char *)"pki";
	argv[2] = (char *)"--out";
	argv[3] = s->pki;
	argv[4] = NULL;
	if (eim_scn_run(s, argv, EIM_SCN_CMD_TIMEOUT_MS, &p) || p.status)
		return eim__setup_fail(why, cap, "eim-device pki", &p);
	eim_scn_proc_done(&p);
	if (eim_scn_eim(s, &p, "init", "--eim-id", eim_id, NULL) || p.status)
		return eim__setup_fail(why, cap, "eim init", &p);
	eim_scn_proc_done(&p);
	if (eim_scn_eim(s, &p, "export-initial-eim", "--identity", eim_id,
			"--counter", counter, "--out", s->air, NULL) ||
	    p.status)
		return eim__setup_fail(why, cap, "eim export-initial-eim", &p);
	eim_scn_proc_done(&p);

	argv[n++] = s->self;
	argv[n++] = (char *)"fleet";
	argv[n++] = (char *)"--dir";
	argv[n++] = s->fleet;
	argv[n++] = (char *)"--count";
	argv[n++] = count;
	argv[n++] = (char *)"--pki";
	argv[n++] = s->pki;
	argv[n++] = (char *)"--air";
	argv[n++] = s->air;
	cJSON_ArrayForEach(x, cJSON_GetObjectItem(doc, "profiles"))
	{
		argv[n++] = (char *)"--profile";
		argv[n++] = x->valuestring;
	}
	if ((x = cJSON_GetObjectItem(doc, "fallback_profile"))) {
		argv[n++] = (char *)"--fallback-profile";
		argv[n++] = x->valuestring;
	}
	argv[n] = NULL;
	if (eim_scn_run(s, argv, EIM_SCN_CMD_TIMEOUT_MS, &p) || p.status)
		return eim__setup_fail(why, cap, "eim-device fleet", &p);
	eim_scn_proc_done(&p);
	snprintf(csv, sizeof(csv), "%s/devices.csv", s->fleet);
	if (ctr && eim__set_csv_counter(csv, ctr)) {
		snprintf(why, cap, "%s: cannot set the counter", csv);
		return -1;
	}
	if (eim__load_fleet(s, why, cap))
		return -1;
	if (eim_scn_eim(s, &p, "device", "import", csv, NULL) || p.status)
		return eim__setup_fail(why, cap, "eim device import", &p);
	eim_scn_proc_done(&p);
	return eim__start_server(s, why, cap);
}

/* ---- substitutions --------------------------------------------------------
 */

/* {dir} {db} {pki} {fleet} {air} {eids} {eidK} replaced; the checker
 * refused unknown names. */
int eim_scn_subst(const struct eim_scn *s, const char *in, char *out,
		  size_t cap)
{
	size_t o = 0;

	for (const char *p = in; *p;) {
		const char *val = NULL;
		size_t skip = 0;
		if (*p == '{') {
			size_t n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz"
						 "0123456789_");
			if (n && p[1 + n] == '}') {
				skip = n + 2;
#define EIM__IS(name) (n == strlen(name) && !strncmp(p + 1, name, n))
				if (EIM__IS("dir"))
					val = s->dir;
				else if (EIM__IS("db"))
					val = s->db;
				else if (EIM__IS("pki"))
					val = s->pki;
				else if (EIM__IS("fleet"))
					val = s->fleet;
				else if (EIM__IS("air"))
					val = s->air;
				else if (EIM__IS("eids"))
					val = s->eids;
				else if (n > 3 && !strncmp(p + 1, "eid", 3) &&
					 atoi(p + 4) < s->n)
					val = s->devs[atoi(p + 4)].eid;
#undef EIM__IS
			}
		}
		if (!val) {
			val = p;
			skip = 1;
			if (o + 1 >= cap)
				return EIM_ETOOBIG;
			out[o++] = *p;
		} else {
			size_t n = strlen(val);
			if (o + n >= cap)
				return EIM_ETOOBIG;
			memcpy(out + o, val, n);
			o += n;
		}
		p += skip;
	}
	out[o] = 0;
	return 0;
}

/* ---- devices --------------------------------------------------------------
 */

int eim_scn_persist(void *ctx, struct eim_sim_euicc *e)
{
	struct eim_scn_dev *d = ctx;
	return eim_sim_state_save(e, d->state);
}

/* Loads the device's eUICC from its state file and makes its IPA: what a
 * power-on does. */
int eim_scn_dev_boot(struct eim_scn_dev *d, char *why, size_t cap)
{
	struct eim_dtls_client_config dc;
	char err[300] = "";
	int rc;

	if (eim_sim_state_load(d->state, &d->euicc, err, sizeof(err))) {
		snprintf(why, cap, "%s: %s", d->state,
			 err[0] ? err : strerror(errno));
		return -1;
	}
	eim_dtls_client_config_init(&dc);
	dc.psk_identity = (const uint8_t *)d->psk_id;
	dc.psk_identity_len = strlen(d->psk_id);
	dc.psk = d->psk;
	dc.psk_len = d->psk_len;
	dc.use_cid = true;
	rc = eim_sim_ipa_new(d->s->loop, d->s->server, &dc, d->euicc, &d->ipa);
	if (rc) {
		snprintf(why, cap, "device %d: %s", d->index, eim_strerror(rc));
		eim_sim_euicc_free(d->euicc);
		d->euicc = NULL;
		return -1;
	}
	eim_sim_ipa_on_persist(d->ipa, eim_scn_persist, d);
	d->first = true;
	d->handshakes_seen = 0;
	memset(&d->last, 0, sizeof(d->last));
	return 0;
}

void eim_scn_dev_off(struct eim_scn_dev *d)
{
	eim_sim_ipa_free(d->ipa);
	eim_sim_euicc_free(d->euicc);
	d->ipa = NULL;
	d->euicc = NULL;
}

static void eim__deadline(struct eim_loop *l, void *ctx)
{
	struct eim_scn *s = ctx;
	s->timed_out = true;
	eim_loop_stop(l);
}

/* Runs the loop until `s->waiting` reaches 0 or the deadline passes. */
void eim_scn_run_loop(struct eim_scn *s, int ms)
{
	s->timed_out = false;
	eim_loop_timer_start(s->loop, &s->deadline,
			     eim_loop_now(s->loop) + (uint64_t)ms);
	eim_loop_run(s->loop);
	eim_loop_timer_stop(s->loop, &s->deadline);
}

void eim_scn_woke(void *ctx, struct eim_sim_ipa *ipa, int status)
{
	struct eim_scn_dev *d = ctx;

	(void)ipa;
	d->status = status;
	d->waking = false;
	if (--d->s->waiting == 0)
		eim_loop_stop(d->s->loop);
}

/* ---- the command ----------------------------------------------------------
 */

static int eim__rm(const char *path, const struct stat *sb, int flag,
		   struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int eim__usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static int eim__usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "eim-device scenario: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'eim-device scenario --help')\n");
	return 2;
}

/* Reads and checks the scenario file; exit code 2 with one line when it
 * is not a valid scenario. */
static int eim__load(struct eim_scn *s)
{
	uint8_t *text = NULL;
	size_t len;
	const char *end = NULL;
	char err[400];

	if (eim_scn_read_file(s->file, &text, &len)) {
		fprintf(stderr, "eim-device scenario: %s: cannot read: %s\n",
			s->file, strerror(errno));
		return 2;
	}
	s->doc =
		cJSON_ParseWithLengthOpts((const char *)text, len, &end, false);
	if (!s->doc) {
		const char *at = cJSON_GetErrorPtr();
		size_t off = at && at >= (const char *)text &&
					     at <= (const char *)text + len
				     ? (size_t)(at - (const char *)text)
				     : 0;
		fprintf(stderr,
			"eim-device scenario: %s: not valid JSON (near byte "
			"%zu)\n",
			s->file, off);
		eim_free(text);
		return 2;
	}
	eim_free(text);
	if (eim_scn_check(s->doc, err, sizeof(err))) {
		fprintf(stderr, "eim-device scenario: %s: %s\n", s->file, err);
		return 2;
	}
	s->n = 1;
	if (cJSON_GetObjectItem(s->doc, "devices"))
		s->n = cJSON_GetObjectItem(s->doc, "devices")->valueint;
	return 0;
}

static void eim__report(const struct eim_scn *s, cJSON *steps, bool ok,
			uint64_t ms, bool json)
{
	const char *name = cJSON_GetObjectItem(s->doc, "name")->valuestring;

	if (json) {
		cJSON *r = cJSON_CreateObject();
		char *t;
		cJSON_AddStringToObject(r, "scenario", name);
		cJSON_AddBoolToObject(r, "ok", ok);
		cJSON_AddItemReferenceToObject(r, "steps", steps);
		cJSON_AddNumberToObject(r, "duration_ms", (double)ms);
		t = cJSON_PrintUnformatted(r);
		if (t)
			printf("%s\n", t);
		cJSON_free(t);
		cJSON_Delete(r);
		return;
	}
	const cJSON *st;
	int n_ok = 0,
	    total = cJSON_GetArraySize(cJSON_GetObjectItem(s->doc, "steps"));
	printf("scenario %s\n", name);
	cJSON_ArrayForEach(st, steps)
	{
		bool sok = cJSON_IsTrue(cJSON_GetObjectItem(st, "ok"));
		n_ok += sok;
		printf("  %3d %-13s %-4s %s\n",
		       cJSON_GetObjectItem(st, "n")->valueint,
		       cJSON_GetObjectItem(st, "kind")->valuestring,
		       sok ? "ok" : "FAIL",
		       cJSON_GetObjectItem(st, "detail")->valuestring);
	}
	printf("%s: %d of %d step(s) passed in %llu ms\n", ok ? "PASS" : "FAIL",
	       n_ok, total, (unsigned long long)ms);
}

int eim_device_cmd_scenario(int argc, char **argv)
{
	static const struct option opts[] = {
		{"eim", 1, NULL, 'e'},	{"workdir", 1, NULL, 'w'},
		{"keep", 0, NULL, 'k'}, {"json", 0, NULL, 'j'},
		{"help", 0, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	const char *eim_opt = NULL, *workdir = NULL;
	bool json = false, keep = false, made_tmp = false, all_ok = true;
	struct eim_scn s;
	cJSON *steps = NULL;
	uint64_t t0 = eim_loop_clock_ms();
	char why[4096];
	int c, rc = 1;

	memset(&s, 0, sizeof(s));
	eim_buf_init(&s.answer);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			eim_opt = optarg;
			break;
		case 'w':
			workdir = optarg;
			break;
		case 'k':
			keep = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(eim_device_scenario_usage, stdout);
			return 0;
		case ':':
			return eim__usage("option '%s' needs a value",
					  argv[optind - 1]);
		default:
			return eim__usage("unknown option '%s'",
					  argv[optind - 1]);
		}
	}
	if (optind + 1 != argc)
		return eim__usage("one scenario FILE is required");
	s.file = argv[optind];
	if ((rc = eim__load(&s)))
		goto out;
	rc = 1;
	ssize_t sl = readlink("/proc/self/exe", s.self, sizeof(s.self) - 1);
	if (sl <= 0) {
		fprintf(stderr, "eim-device scenario: cannot find myself: %s\n",
			strerror(errno));
		goto out;
	}
	s.self[sl] = 0;
	eim__find_eim(&s, eim_opt);
	if (workdir) {
		struct stat st;
		char dbp[EIM_SCN_PATH + 16];
		if (mkdir(workdir, 0700) && errno != EEXIST) {
			fprintf(stderr, "eim-device scenario: %s: %s\n",
				workdir, strerror(errno));
			goto out;
		}
		snprintf(dbp, sizeof(dbp), "%s/eim.db", workdir);
		if (stat(dbp, &st) == 0) {
			fprintf(stderr,
				"eim-device scenario: %s already holds an "
				"eim.db: use a new --workdir\n",
				workdir);
			goto out;
		}
		if (!realpath(workdir, s.dir)) {
			fprintf(stderr, "eim-device scenario: %s: %s\n",
				workdir, strerror(errno));
			goto out;
		}
	} else {
		const char *tmp = getenv("TMPDIR");
		snprintf(s.dir, sizeof(s.dir), "%s/eim-scenario-XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(s.dir)) {
			fprintf(stderr, "eim-device scenario: %s: %s\n", s.dir,
				strerror(errno));
			goto out;
		}
		made_tmp = true;
	}
	snprintf(s.db, sizeof(s.db), "%s/eim.db", s.dir);
	snprintf(s.pki, sizeof(s.pki), "%s/pki", s.dir);
	snprintf(s.fleet, sizeof(s.fleet), "%s/fleet", s.dir);
	snprintf(s.air, sizeof(s.air), "%s/air.der", s.dir);
	snprintf(s.eids, sizeof(s.eids), "%s/eids.txt", s.dir);
	s.devs = eim_calloc((size_t)s.n, sizeof(*s.devs));
	steps = cJSON_CreateArray();
	if (!s.devs || !steps || eim_loop_new(&s.loop)) {
		fprintf(stderr, "eim-device scenario: out of memory\n");
		goto out;
	}
	eim_loop_timer_init(&s.deadline, eim__deadline, &s);
	if (eim__setup(&s, why, sizeof(why))) {
		fprintf(stderr,
			"eim-device scenario: %s: setting up the lab: "
			"%s\n",
			s.file, why);
		goto out;
	}
	for (int i = 0; i < s.n; i++) {
		if (eim_scn_dev_boot(&s.devs[i], why, sizeof(why))) {
			fprintf(stderr, "eim-device scenario: %s: %s\n", s.file,
				why);
			goto out;
		}
	}

	const cJSON *st;
	int n = 0;
	cJSON_ArrayForEach(st, cJSON_GetObjectItem(s.doc, "steps"))
	{
		enum eim_scn_kind k = eim_scn_kind_of(st);
		char detail[2048] = "";
		bool ok;

		n++;
		switch (k) {
		case EIM_SCN_EIM:
			ok = eim_scn_step_eim(&s, st, detail, sizeof(detail));
			break;
		case EIM_SCN_WAKE:
			ok = eim_scn_step_wake(&s, st, detail, sizeof(detail));
			break;
		case EIM_SCN_DO:
			ok = eim_scn_step_do(&s, st, detail, sizeof(detail));
			break;
		case EIM_SCN_EXPECT_RESULT:
			ok = eim_scn_step_expect_result(&s, st, detail,
							sizeof(detail));
			break;
		default:
			ok = eim_scn_step_expect_device(&s, st, detail,
							sizeof(detail));
		}
		cJSON *r = cJSON_CreateObject();
		cJSON_AddNumberToObject(r, "n", n);
		cJSON_AddStringToObject(r, "kind", eim_scn_kind_name(k));
		cJSON_AddBoolToObject(r, "ok", ok);
		cJSON_AddStringToObject(r, "detail", detail);
		cJSON_AddItemToArray(steps, r);
		if (!ok) {
			all_ok = false;
			break;
		}
	}
	eim__stop_server(&s);
	eim__report(&s, steps, all_ok, eim_loop_clock_ms() - t0, json);
	rc = all_ok ? 0 : 1;
out:
	eim__stop_server(&s);
	for (int i = 0; s.devs && i < s.n; i++)
		eim_scn_dev_off(&s.devs[i]);
	if (s.devs) {
		eim_wipe(s.devs, (size_t)s.n * sizeof(*s.devs));
		eim_free(s.devs);
	}
	eim_loop_free(s.loop);
	eim_buf_done(&s.answer);
	cJSON_Delete(steps);
	cJSON_Delete(s.doc);
	if (made_tmp && !keep)
		nftw(s.dir, eim__rm, 16, FTW_DEPTH | FTW_PHYS);
	else if (made_tmp)
		fprintf(stderr, "eim-device scenario: kept %s\n", s.dir);
	return rc;
}
