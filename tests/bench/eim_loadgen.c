/*
 * eim_loadgen.c - load generator for `eim serve` (issue 9): one process
 * drives N simulated devices, each a CoAP client on its own DTLS 1.2
 * session with Connection ID (RFC 9146) and its own UDP socket, through
 * transport/eim_coap_dtls.h.
 *
 * Device i has the PSK identity <identity-prefix><i>, the 16-byte PSK
 * <psk-prefix, 12 bytes><i as 4 bytes big-endian> and the EID
 * <eid-prefix, 22 digits><i as 8 digits><2 check digits>; --print-devices
 * writes these triples so that a setup script registers exactly the same
 * devices with `eim device add`.
 *
 * Modes (see usage()):
 *   poll (default)  open the sessions, then POST /gsma/rsp2/asn1 with a
 *                   GetEimPackage request (ESipa, built with proto's
 *                   encoder) for each session's EID, at full speed
 *                   (--inflight per session) or at --rate per second,
 *                   optionally moving to a new source port every
 *                   --rebind-every polls (a device behind a NAT);
 *   handshakes      every session handshakes again as soon as it is
 *                   established, from a new source port;
 *   idle            open the sessions, poll once on each, then report the
 *                   server's resident memory per session.
 * --source-ips K spreads the devices over K source addresses 127.1.x.y,
 * device i on address i % K and port 10000 + i / K (below the kernel's
 * ephemeral range, so no two devices of one run share an address even
 * when sockets are closed and reopened). With --release (idle mode) each
 * device frees its client, and so its socket, as soon as its one poll is
 * answered, without close_notify: the server keeps the session, and the
 * generator can leave more sessions on the server than it may hold file
 * descriptors (100,000 idle sessions from one process).
 * With --server-pid the server's CPU time over the measured window
 * (/proc/PID/task/+/schedstat, nanoseconds) and its resident memory
 * (/proc/PID/status) are reported beside the rates.
 *
 * Latencies are measured with CLOCK_MONOTONIC in microseconds and kept in
 * a 1 us histogram up to 1 s (longer ones count in the last bucket).
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "proto/eim_esipa.h"
#include "proto/eim_ids.h"
#include "transport/eim_coap_dtls.h"
#include "transport/eim_loop.h"

#include <dirent.h>
#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_INFLIGHT 16
#define HIST_US 1000000

enum mode {
	MODE_POLL,
	MODE_HANDSHAKES,
	MODE_IDLE
};
enum phase {
	PH_OPEN,
	PH_IDLE_POLL,
	PH_WARMUP,
	PH_RUN,
	PH_DONE
};

struct sess;

struct slot {
	struct sess *s;
	uint64_t t0_ns;
	bool busy;
};

struct sess {
	struct gen *g;
	uint32_t idx;
	struct eim_coap_dtls_client *c;
	uint8_t body[64];
	size_t body_len;
	struct slot slots[MAX_INFLIGHT];
	unsigned busy;
	unsigned polls_since_rebind;
	bool up, started, idle_polled;
};

struct opts {
	const char *server;
	unsigned sessions;
	unsigned first;
	double duration, warmup, rate;
	unsigned inflight;
	unsigned rebind_every;
	unsigned parallel_hs;
	enum mode mode;
	bool cid;
	bool json;
	int server_pid;
	const char *identity_prefix;
	uint8_t psk_prefix[12];
	const char *psk_text; /* one PSK for all (libcoap's -k) */
	const char *eid_prefix;
	const char *path;
	uint8_t method;
	double open_timeout;
	unsigned source_ips; /* 0: the kernel picks the source address */
	bool release;	     /* idle mode: free each device after its poll */
	/* ECDHE_ECDSA suites: the server's CA, an optional client
	 * credential (one for every device), no PSK offered at all */
	char *ca_pem, *cert_pem, *key_pem;
	size_t ca_len, cert_len, key_len;
	bool no_psk;
};

struct gen {
	struct opts o;
	struct eim_loop *loop;
	struct sess *s;
	unsigned created, handshaking, established, idle_polled;
	unsigned released; /* --release: clients freed */
	unsigned *to_free; /* --release: polled, freed from the tick */
	unsigned n_to_free;
	enum phase phase;
	struct eim_loop_timer tick;
	uint64_t phase_start_ns, run_start_ns, run_end_ns, open_start_ns;
	uint64_t issued; /* rate mode: requests started in the window */
	unsigned rr;	 /* rate mode: next session to try */
	/* counted in the window */
	uint64_t ok, errors, timeouts, handshakes, hs_failed, late;
	uint64_t retrans_start;
	uint32_t *hist;
	uint64_t srv_cpu_start, srv_cpu_end;
	long rss_start_kb, rss_end_kb, anon_start_kb, anon_end_kb;
	struct rusage ru_start, ru_end;
	uint64_t open_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of every thread of pid, in ns (0 when unreadable). */
static uint64_t proc_cpu_ns(int pid)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	uint64_t sum = 0;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char p[300];
		FILE *f;
		unsigned long long run = 0;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/%d/task/%s/schedstat", pid,
			 e->d_name);
		f = fopen(p, "r");
		if (!f)
			continue;
		if (fscanf(f, "%llu", &run) == 1)
			sum += run;
		fclose(f);
	}
	closedir(d);
	return sum;
}

/* One "Name: N kB" line of /proc/PID/status (-1 when unreadable). */
static long proc_status_kb(int pid, const char *name)
{
	char path[64], line[256];
	size_t n = strlen(name);
	FILE *f;
	long kb = -1;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			kb = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

static long proc_rss_kb(int pid)
{
	return proc_status_kb(pid, "VmRSS");
}

/* Anonymous memory only (heap, tables): RssFile is mostly SQLite's
 * memory-mapped database, which the kernel can drop and reread. */
static long proc_anon_kb(int pid)
{
	return proc_status_kb(pid, "RssAnon");
}

static int device_eid(const struct opts *o, unsigned i, char out[33])
{
	char prefix[31];

	snprintf(prefix, sizeof(prefix), "%.22s%08u", o->eid_prefix,
		 i % 100000000u);
	return eim_eid_complete(prefix, out);
}

static void device_psk(const struct opts *o, unsigned i, uint8_t psk[16])
{
	memcpy(psk, o->psk_prefix, 12);
	eim_put_be32(psk + 12, i);
}

static void start_request(struct sess *s);

/* Rate mode: requests due since the current window (warm-up or run) began. */
static uint64_t rate_due(const struct gen *g, uint64_t t)
{
	uint64_t from =
		g->phase == PH_RUN ? g->run_start_ns : g->phase_start_ns;
	return t > from ? (uint64_t)((double)(t - from) / 1e9 * g->o.rate) : 0;
}

static void on_resp(void *ctx, int status,
		    const struct eim_coap_client_response *r)
{
	struct slot *sl = ctx;
	struct sess *s = sl->s;
	struct gen *g = s->g;
	uint64_t t = now_ns();
	bool counted = g->phase == PH_RUN && sl->t0_ns >= g->run_start_ns;

	sl->busy = false;
	s->busy--;
	if (counted) {
		uint64_t us = (t - sl->t0_ns) / 1000;
		if (status == 0 && r->code >> 5 == 2) {
			g->ok++;
			g->hist[us < HIST_US ? us : HIST_US - 1]++;
		} else {
			g->errors++;
			if (status == EIM_ETIMEOUT)
				g->timeouts++;
		}
	}
	if (g->o.mode == MODE_IDLE && !s->idle_polled) {
		s->idle_polled = true;
		g->idle_polled++;
		if (status != 0 || r->code >> 5 != 2)
			g->errors++;
		/* not from inside the client's own callback */
		if (g->o.release)
			g->to_free[g->n_to_free++] = (unsigned)(s - g->s);
		return;
	}
	s->polls_since_rebind++;
	if (g->o.rebind_every && s->polls_since_rebind >= g->o.rebind_every) {
		s->polls_since_rebind = 0;
		if (eim_coap_dtls_client_rebind(s->c))
			g->errors++;
	}
	if (g->phase != PH_WARMUP && g->phase != PH_RUN)
		return;
	if (g->o.rate == 0) {
		start_request(s);
	} else if (g->issued < rate_due(g, t)) {
		/* rate mode: a request that is due goes out on the slot
		 * just freed, not at the next 1 ms tick, which alone caps
		 * the rate at sessions x inflight per tick */
		start_request(s);
		g->issued++;
	}
}

static void start_request(struct sess *s)
{
	struct gen *g = s->g;
	struct slot *sl = NULL;
	struct eim_coap_client_request rq = {
		.method = g->o.method,
		.path = g->o.path,
		.content_format = -1,
		.body = s->body,
		.body_len = s->body_len,
		.cb = on_resp,
	};

	for (unsigned i = 0; i < g->o.inflight; i++)
		if (!s->slots[i].busy) {
			sl = &s->slots[i];
			break;
		}
	if (!sl)
		return;
	sl->s = s;
	sl->busy = true;
	sl->t0_ns = now_ns();
	rq.cb_ctx = sl;
	if (eim_coap_dtls_client_request(s->c, &rq)) {
		sl->busy = false;
		g->errors++;
		return;
	}
	s->busy++;
}

static void on_state(void *ctx, struct eim_coap_dtls_client *c,
		     enum eim_dtls_client_state st)
{
	struct sess *s = ctx;
	struct gen *g = s->g;

	if (st == EIM_DTLS_CLIENT_ESTABLISHED) {
		if (g->phase == PH_RUN)
			g->handshakes++;
		if (!s->up) {
			s->up = true;
			g->established++;
			g->handshaking--;
			if (g->o.release)
				start_request(s); /* its one poll, now */
		}
		if (g->o.mode == MODE_HANDSHAKES &&
		    (g->phase == PH_WARMUP || g->phase == PH_RUN)) {
			/* a new device from a new port each time; the old
			 * session ends with close_notify so that neither
			 * server accumulates sessions during the run */
			eim_dtls_client_close(eim_coap_dtls_client_dtls(c));
			eim_coap_dtls_client_rebind(c);
		}
	} else if (st == EIM_DTLS_CLIENT_FAILED) {
		if (g->phase == PH_RUN)
			g->hs_failed++;
		if (!s->up) {
			g->handshaking--;
			g->errors++;
		}
		/* try again: a device would */
		eim_coap_dtls_client_rehandshake(c);
		if (!s->up)
			g->handshaking++;
	}
}

static int open_session(struct gen *g, unsigned i)
{
	struct sess *s = &g->s[i];
	struct eim_dtls_client_config dc;
	struct eim_coap_client_config cc;
	struct eim_esipa_from_ipa req;
	struct eim_buf b;
	char ident[160], eid[33];
	uint8_t psk[16];
	int rc;

	s->g = g;
	s->idx = g->o.first + i;
	snprintf(ident, sizeof(ident), "%s%u", g->o.identity_prefix, s->idx);
	rc = device_eid(&g->o, s->idx, eid);
	if (rc)
		return rc;
	memset(&req, 0, sizeof(req));
	req.tag = EIM_ESIPA_GET_EIM_PACKAGE;
	rc = eim_eid_parse(eid, req.get.eid);
	if (rc)
		return rc;
	eim_buf_init(&b);
	rc = eim_esipa_encode_from_ipa(&req, &b);
	if (rc == 0 && b.len > sizeof(s->body))
		rc = EIM_ETOOBIG;
	if (rc == 0) {
		memcpy(s->body, b.p, b.len);
		s->body_len = b.len;
	}
	eim_buf_done(&b);
	if (rc)
		return rc;
	eim_dtls_client_config_init(&dc);
	if (!g->o.no_psk) {
		dc.psk_identity = (const uint8_t *)ident;
		dc.psk_identity_len = strlen(ident);
	}
	if (g->o.no_psk) {
		memset(psk, 0, sizeof(psk));
	} else if (g->o.psk_text) {
		dc.psk = (const uint8_t *)g->o.psk_text;
		dc.psk_len = strlen(g->o.psk_text);
	} else {
		device_psk(&g->o, s->idx, psk);
		dc.psk = psk;
		dc.psk_len = sizeof(psk);
	}
	dc.ca_pem = g->o.ca_pem;
	dc.ca_pem_len = g->o.ca_len;
	dc.cert_pem = g->o.cert_pem;
	dc.cert_pem_len = g->o.cert_len;
	dc.key_pem = g->o.key_pem;
	dc.key_pem_len = g->o.key_len;
	dc.use_cid = g->o.cid;
	eim_coap_client_config_default(&cc);
	cc.max_inflight = MAX_INFLIGHT;
	if (g->o.source_ips) {
		struct sockaddr_in la;
		unsigned k = i % g->o.source_ips;

		memset(&la, 0, sizeof(la));
		la.sin_family = AF_INET;
		la.sin_addr.s_addr =
			htonl(0x7f010000u | (k >> 8) << 8 | (k & 0xff));
		la.sin_port = htons((uint16_t)(10000 + i / g->o.source_ips));
		rc = eim_coap_dtls_client_new_from(g->loop, g->o.server,
						   (struct sockaddr *)&la,
						   sizeof(la), &dc, &cc, &s->c);
	} else {
		rc = eim_coap_dtls_client_new(g->loop, g->o.server, &dc, &cc,
					      &s->c);
	}
	eim_wipe(psk, sizeof(psk));
	if (rc)
		return rc;
	eim_coap_dtls_client_on_state(s->c, on_state, s);
	s->started = true;
	g->created++;
	g->handshaking++;
	return 0;
}

static uint64_t total_retrans(struct gen *g)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < g->created; i++) {
		struct eim_coap_dtls_client_stats st;
		if (!g->s[i].c)
			continue; /* released */
		eim_coap_dtls_client_stats(g->s[i].c, &st);
		sum += st.retransmissions;
	}
	return sum;
}

static void begin_run(struct gen *g, uint64_t t)
{
	g->phase = PH_RUN;
	g->run_start_ns = t;
	g->issued = 0;
	g->retrans_start = total_retrans(g);
	g->srv_cpu_start = proc_cpu_ns(g->o.server_pid);
	getrusage(RUSAGE_SELF, &g->ru_start);
}

static void end_run(struct gen *g, uint64_t t)
{
	g->run_end_ns = t;
	g->srv_cpu_end = proc_cpu_ns(g->o.server_pid);
	getrusage(RUSAGE_SELF, &g->ru_end);
	g->phase = PH_DONE;
	eim_loop_stop(g->loop);
}

static void tick(struct eim_loop *l, void *ctx)
{
	struct gen *g = ctx;
	uint64_t t = now_ns();
	double since = (double)(t - g->phase_start_ns) / 1e9;

	switch (g->phase) {
	case PH_OPEN:
		while (g->n_to_free) {
			struct sess *s = &g->s[g->to_free[--g->n_to_free]];

			eim_coap_dtls_client_free(s->c);
			s->c = NULL;
			g->released++;
		}
		while (g->created < g->o.sessions &&
		       (g->o.release ? g->created - g->released
				     : g->handshaking) < g->o.parallel_hs) {
			if (open_session(g, g->created)) {
				fprintf(stderr,
					"eim_loadgen: session %u: "
					"cannot open\n",
					g->created);
				g->phase = PH_DONE;
				eim_loop_stop(l);
				return;
			}
		}
		if (g->o.release && g->released == g->o.sessions) {
			/* every device polled once and went away; let the
			 * server finish its batch before reading its RSS */
			g->open_ns = t - g->open_start_ns;
			usleep(200000);
			g->run_start_ns = g->run_end_ns = t;
			g->rss_end_kb = proc_rss_kb(g->o.server_pid);
			g->anon_end_kb = proc_anon_kb(g->o.server_pid);
			g->phase = PH_DONE;
			eim_loop_stop(l);
			return;
		}
		if (g->established == g->o.sessions && !g->o.release) {
			g->open_ns = t - g->open_start_ns;
			g->phase_start_ns = t;
			if (g->o.mode == MODE_IDLE) {
				g->phase = PH_IDLE_POLL;
				for (unsigned i = 0; i < g->created; i++)
					start_request(&g->s[i]);
			} else {
				g->phase = PH_WARMUP;
				if (g->o.mode == MODE_HANDSHAKES)
					for (unsigned i = 0; i < g->created;
					     i++)
						on_state(
							&g->s[i], g->s[i].c,
							EIM_DTLS_CLIENT_ESTABLISHED);
				else if (g->o.rate == 0)
					for (unsigned i = 0; i < g->created;
					     i++)
						for (unsigned k = 0;
						     k < g->o.inflight; k++)
							start_request(&g->s[i]);
			}
		} else if (since > g->o.open_timeout) {
			fprintf(stderr,
				"eim_loadgen: only %u of %u sessions "
				"established after %.0f s\n",
				g->established, g->o.sessions, since);
			g->phase = PH_DONE;
			eim_loop_stop(l);
			return;
		}
		break;
	case PH_IDLE_POLL:
		if (g->idle_polled == g->o.sessions || since > 60) {
			g->run_start_ns = g->run_end_ns = t;
			g->rss_end_kb = proc_rss_kb(g->o.server_pid);
			g->anon_end_kb = proc_anon_kb(g->o.server_pid);
			g->phase = PH_DONE;
			eim_loop_stop(l);
			return;
		}
		break;
	case PH_WARMUP:
		if (since >= g->o.warmup)
			begin_run(g, t);
		break;
	case PH_RUN:
		if ((double)(t - g->run_start_ns) / 1e9 >= g->o.duration) {
			end_run(g, t);
			return;
		}
		break;
	case PH_DONE:
		return;
	}
	if (g->o.rate > 0 && (g->phase == PH_WARMUP || g->phase == PH_RUN)) {
		/* requests due since the window began, spread over the
		 * sessions that have nothing in flight */
		uint64_t due = rate_due(g, t);
		unsigned tries = 0;

		while (g->issued < due && tries < g->o.sessions) {
			struct sess *s = &g->s[g->rr];
			g->rr = (g->rr + 1) % g->o.sessions;
			if (s->busy >= g->o.inflight) {
				tries++;
				continue;
			}
			start_request(s);
			g->issued++;
			tries = 0;
		}
		if (g->issued < due) {
			if (g->phase == PH_RUN)
				g->late += due - g->issued;
			g->issued = due;
		}
	}
	eim_loop_timer_start(l, &g->tick, eim_loop_now(l) + 1);
}

static uint64_t pct(const struct gen *g, double p)
{
	uint64_t want, acc = 0;

	if (!g->ok)
		return 0;
	want = (uint64_t)(p * (double)g->ok);
	if (want >= g->ok)
		want = g->ok - 1;
	for (uint64_t us = 0; us < HIST_US; us++) {
		acc += g->hist[us];
		if (acc > want)
			return us;
	}
	return HIST_US;
}

static double tv_s(struct timeval a, struct timeval b)
{
	return (double)(b.tv_sec - a.tv_sec) +
	       (double)(b.tv_usec - a.tv_usec) / 1e6;
}

static void report(struct gen *g)
{
	double win = (double)(g->run_end_ns - g->run_start_ns) / 1e9;
	double srv_cpu = (double)(g->srv_cpu_end - g->srv_cpu_start) / 1e9;
	double gen_cpu = tv_s(g->ru_start.ru_utime, g->ru_end.ru_utime) +
			 tv_s(g->ru_start.ru_stime, g->ru_end.ru_stime);
	uint64_t retrans = total_retrans(g) - g->retrans_start;
	double rps = win > 0 ? (double)g->ok / win : 0;
	double hps = win > 0 ? (double)g->handshakes / win : 0;
	uint64_t units = g->o.mode == MODE_HANDSHAKES ? g->handshakes : g->ok;
	double us_per = units && g->o.server_pid ? srv_cpu * 1e6 / units : 0;
	double util = win > 0 ? srv_cpu / win : 0;
	double per_sess = -1, anon_per_sess = -1;
	static const char *modes[] = {"poll", "handshakes", "idle"};

	if (g->o.mode == MODE_IDLE) {
		if (g->rss_start_kb >= 0 && g->rss_end_kb >= 0 && g->o.sessions)
			per_sess = (double)(g->rss_end_kb - g->rss_start_kb) *
				   1024.0 / g->o.sessions;
		if (g->anon_start_kb >= 0 && g->anon_end_kb >= 0 &&
		    g->o.sessions)
			anon_per_sess =
				(double)(g->anon_end_kb - g->anon_start_kb) *
				1024.0 / g->o.sessions;
		if (g->o.json)
			printf("{\"mode\":\"idle\",\"sessions\":%u,"
			       "\"open_s\":%.3f,\"server_rss_before_kb\":%ld,"
			       "\"server_rss_after_kb\":%ld,"
			       "\"server_bytes_per_session\":%.0f,"
			       "\"server_anon_before_kb\":%ld,"
			       "\"server_anon_after_kb\":%ld,"
			       "\"server_anon_bytes_per_session\":%.0f,"
			       "\"errors\":%" PRIu64 "}\n",
			       g->o.sessions, (double)g->open_ns / 1e9,
			       g->rss_start_kb, g->rss_end_kb, per_sess,
			       g->anon_start_kb, g->anon_end_kb, anon_per_sess,
			       g->errors);
		else
			printf("sessions %u opened in %.2f s; server RSS %ld "
			       "-> %ld kB: %.0f bytes per idle session "
			       "(anonymous %ld -> %ld kB: %.0f bytes); "
			       "errors %" PRIu64 "\n",
			       g->o.sessions, (double)g->open_ns / 1e9,
			       g->rss_start_kb, g->rss_end_kb, per_sess,
			       g->anon_start_kb, g->anon_end_kb, anon_per_sess,
			       g->errors);
		return;
	}
	if (g->o.json) {
		printf("{\"mode\":\"%s\",\"sessions\":%u,\"inflight\":%u,"
		       "\"rate\":%.0f,\"cid\":%s,\"rebind_every\":%u,"
		       "\"seconds\":%.3f,\"requests\":%" PRIu64
		       ",\"requests_per_s\":%.0f,\"p50_us\":%" PRIu64
		       ",\"p95_us\":%" PRIu64 ",\"p99_us\":%" PRIu64
		       ",\"handshakes\":%" PRIu64 ",\"handshakes_per_s\":%.0f"
		       ",\"handshakes_failed\":%" PRIu64 ",\"errors\":%" PRIu64
		       ",\"timeouts\":%" PRIu64 ",\"retransmissions\":%" PRIu64
		       ",\"late\":%" PRIu64 ",\"server_cpu_s\":%.4f"
		       ",\"server_cpu_util\":%.3f,\"server_us_per_op\":%.2f"
		       ",\"generator_cpu_s\":%.4f}\n",
		       modes[g->o.mode], g->o.sessions, g->o.inflight,
		       g->o.rate, g->o.cid ? "true" : "false",
		       g->o.rebind_every, win, g->ok, rps, pct(g, 0.50),
		       pct(g, 0.95), pct(g, 0.99), g->handshakes, hps,
		       g->hs_failed, g->errors, g->timeouts, retrans, g->late,
		       srv_cpu, util, us_per, gen_cpu);
		return;
	}
	printf("mode %s, %u sessions (CID %s), %.2f s measured\n",
	       modes[g->o.mode], g->o.sessions, g->o.cid ? "on" : "off", win);
	if (g->o.mode == MODE_POLL)
		printf("requests %" PRIu64 " (%.0f/s)  latency p50 %" PRIu64
		       " us  p95 %" PRIu64 " us  p99 %" PRIu64 " us\n",
		       g->ok, rps, pct(g, 0.50), pct(g, 0.95), pct(g, 0.99));
	printf("handshakes %" PRIu64 " (%.0f/s), failed %" PRIu64
	       "; errors %" PRIu64 " (timeouts %" PRIu64
	       "), retransmissions %" PRIu64 ", late %" PRIu64 "\n",
	       g->handshakes, hps, g->hs_failed, g->errors, g->timeouts,
	       retrans, g->late);
	if (g->o.server_pid)
		printf("server CPU %.3f s (%.0f%% of one core), %.2f us per "
		       "%s\n",
		       srv_cpu, util * 100, us_per,
		       g->o.mode == MODE_HANDSHAKES ? "handshake" : "request");
	printf("generator CPU %.3f s\n", gen_cpu);
}

static void usage(FILE *f)
{
	fputs("usage: eim_loadgen --server ADDR:PORT [options]\n"
	      "       eim_loadgen --print-devices N [--first I] [prefixes]\n"
	      "  --sessions N        simulated devices (default 100)\n"
	      "  --first I           index of the first device (default 0)\n"
	      "  --mode M            poll (default), handshakes or idle\n"
	      "  --duration S        measured seconds (default 5)\n"
	      "  --warmup S          unmeasured seconds first (default 0.5)\n"
	      "  --rate R            requests/s in total (default: full "
	      "speed)\n"
	      "  --inflight K        requests in flight per session "
	      "(default 1, max 16)\n"
	      "  --rebind-every K    new source port after K polls\n"
	      "  --no-cid            do not offer a Connection ID\n"
	      "  --parallel-hs K     handshakes at once while opening "
	      "(default 64)\n"
	      "  --open-timeout S    give up opening after S s (default "
	      "120)\n"
	      "  --server-pid PID    report that process's CPU and memory\n"
	      "  --identity-prefix P PSK identity P<i> (default bench-)\n"
	      "  --psk-prefix HEX    12-byte PSK prefix, then i as 4 bytes\n"
	      "                      (default 24 zeros)\n"
	      "  --psk-text TEXT     one PSK (these bytes) for every device\n"
	      "  --eid-prefix D      22 EID digits (default "
	      "8904903200000000000000)\n"
	      "  --path P            URI path (default /gsma/rsp2/asn1)\n"
	      "  --method M          post (default) or put\n"
	      "  --source-ips K      spread devices over K source addresses\n"
	      "                      127.1.x.y (ports 10000 + i / K)\n"
	      "  --release           idle mode: each device goes away\n"
	      "                      (no close_notify) after its poll\n"
	      "  --ca FILE           server CA (PEM): ECDHE_ECDSA suites\n"
	      "  --cert FILE, --key FILE  client certificate and key (PEM)\n"
	      "                      for a CertificateRequest, every device\n"
	      "  --no-psk            offer no PSK suite (certificates only)\n"
	      "  --json              one JSON object instead of text\n",
	      f);
}

/* Reads a whole PEM file (at most 1 MiB) into a NUL-terminated buffer. */
static char *read_pem(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	size_t n = 0;

	if (!f) {
		fprintf(stderr, "eim_loadgen: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	b = malloc((1u << 20) + 1);
	if (b)
		n = fread(b, 1, 1u << 20, f);
	fclose(f);
	if (!b || n == 0 || n == 1u << 20) {
		fprintf(stderr, "eim_loadgen: %s: empty or too large\n", path);
		free(b);
		return NULL;
	}
	b[n] = '\0';
	*ret_len = n;
	return b;
}

static int print_devices(const struct opts *o, unsigned n)
{
	for (unsigned i = o->first; i < o->first + n; i++) {
		char eid[33], hex[33];
		uint8_t psk[16];

		if (device_eid(o, i, eid))
			return 1;
		device_psk(o, i, psk);
		eim_hex_encode(psk, sizeof(psk), hex);
		printf("%s %s%u %s\n", eid, o->identity_prefix, i, hex);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct gen g;
	struct opts *o = &g.o;
	long print_n = -1;
	struct rlimit rl;
	int c;
	static const struct option lo[] = {{"server", 1, 0, 's'},
					   {"sessions", 1, 0, 'n'},
					   {"first", 1, 0, 'f'},
					   {"mode", 1, 0, 'm'},
					   {"duration", 1, 0, 'd'},
					   {"warmup", 1, 0, 'w'},
					   {"rate", 1, 0, 'r'},
					   {"inflight", 1, 0, 'k'},
					   {"rebind-every", 1, 0, 'b'},
					   {"no-cid", 0, 0, 'C'},
					   {"parallel-hs", 1, 0, 'H'},
					   {"open-timeout", 1, 0, 'T'},
					   {"server-pid", 1, 0, 'p'},
					   {"identity-prefix", 1, 0, 'I'},
					   {"psk-prefix", 1, 0, 'K'},
					   {"psk-text", 1, 0, 'X'},
					   {"eid-prefix", 1, 0, 'E'},
					   {"path", 1, 0, 'P'},
					   {"method", 1, 0, 'M'},
					   {"json", 0, 0, 'j'},
					   {"print-devices", 1, 0, 'D'},
					   {"help", 0, 0, 'h'},
					   {"source-ips", 1, 0, 'S'},
					   {"release", 0, 0, 'R'},
					   {"ca", 1, 0, 'A'},
					   {"cert", 1, 0, 'c'},
					   {"key", 1, 0, 'y'},
					   {"no-psk", 0, 0, 'N'},
					   {0, 0, 0, 0}};

	o->sessions = 100;
	o->duration = 5;
	o->warmup = 0.5;
	o->inflight = 1;
	o->parallel_hs = 64;
	o->open_timeout = 120;
	o->cid = true;
	o->identity_prefix = "bench-";
	o->eid_prefix = "8904903200000000000000";
	o->path = "/gsma/rsp2/asn1";
	o->method = EIM_COAP_POST;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		size_t n = 0;
		switch (c) {
		case 's':
			o->server = optarg;
			break;
		case 'n':
			o->sessions = (unsigned)strtoul(optarg, 0, 10);
			break;
		case 'f':
			o->first = (unsigned)strtoul(optarg, 0, 10);
			break;
		case 'm':
			if (!strcmp(optarg, "poll"))
				o->mode = MODE_POLL;
			else if (!strcmp(optarg, "handshakes"))
				o->mode = MODE_HANDSHAKES;
			else if (!strcmp(optarg, "idle"))
				o->mode = MODE_IDLE;
			else
				goto bad;
			break;
		case 'd':
			o->duration = atof(optarg);
			break;
		case 'w':
			o->warmup = atof(optarg);
			break;
		case 'r':
			o->rate = atof(optarg);
			break;
		case 'k':
			o->inflight = (unsigned)strtoul(optarg, 0, 10);
			break;
		case 'b':
			o->rebind_every = (unsigned)strtoul(optarg, 0, 10);
			break;
		case 'C':
			o->cid = false;
			break;
		case 'H':
			o->parallel_hs = (unsigned)strtoul(optarg, 0, 10);
			break;
		case 'T':
			o->open_timeout = atof(optarg);
			break;
		case 'p':
			o->server_pid = atoi(optarg);
			break;
		case 'I':
			o->identity_prefix = optarg;
			break;
		case 'K':
			if (eim_hex_decode(optarg, strlen(optarg),
					   o->psk_prefix, 12, &n) ||
			    n != 12)
				goto bad;
			break;
		case 'X':
			o->psk_text = optarg;
			break;
		case 'E':
			if (strlen(optarg) != 22)
				goto bad;
			o->eid_prefix = optarg;
			break;
		case 'P':
			o->path = optarg;
			break;
		case 'M':
			if (!strcmp(optarg, "post"))
				o->method = EIM_COAP_POST;
			else if (!strcmp(optarg, "put"))
				o->method = EIM_COAP_PUT;
			else
				goto bad;
			break;
		case 'j':
			o->json = true;
			break;
		case 'S':
			o->source_ips = (unsigned)strtoul(optarg, 0, 10);
			if (!o->source_ips || o->source_ips > 65536)
				goto bad;
			break;
		case 'R':
			o->release = true;
			break;
		case 'A':
			if (!(o->ca_pem = read_pem(optarg, &o->ca_len)))
				return 1;
			break;
		case 'c':
			if (!(o->cert_pem = read_pem(optarg, &o->cert_len)))
				return 1;
			break;
		case 'y':
			if (!(o->key_pem = read_pem(optarg, &o->key_len)))
				return 1;
			break;
		case 'N':
			o->no_psk = true;
			break;
		case 'D':
			print_n = atol(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (print_n >= 0)
		return print_devices(o, (unsigned)print_n);
	if (!o->server || !o->sessions || !o->inflight ||
	    o->inflight > MAX_INFLIGHT || o->duration <= 0 || !o->parallel_hs)
		goto bad;
	if (o->release && o->mode != MODE_IDLE)
		goto bad;
	/* certificates only need someone to check the server */
	if (o->no_psk && !o->ca_pem)
		goto bad;
	/* ports 10000..31999 per source address */
	if (o->source_ips && (o->sessions - 1) / o->source_ips >= 22000) {
		fprintf(stderr,
			"eim_loadgen: --source-ips %u is too few for "
			"%u sessions (22000 each)\n",
			o->source_ips, o->sessions);
		return 2;
	}
	/* one socket per device */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	g.s = calloc(o->sessions, sizeof(*g.s));
	g.to_free = calloc(o->sessions, sizeof(*g.to_free));
	g.hist = calloc(HIST_US, sizeof(*g.hist));
	if (!g.s || !g.hist || !g.to_free || eim_loop_new(&g.loop)) {
		fprintf(stderr, "eim_loadgen: out of memory\n");
		return 1;
	}
	eim_loop_catch_signals(g.loop);
	g.rss_start_kb = proc_rss_kb(o->server_pid);
	g.anon_start_kb = proc_anon_kb(o->server_pid);
	g.open_start_ns = g.phase_start_ns = now_ns();
	eim_loop_timer_init(&g.tick, tick, &g);
	eim_loop_timer_start(g.loop, &g.tick, eim_loop_now(g.loop));
	eim_loop_run(g.loop);
	if (g.phase == PH_RUN)
		end_run(&g, now_ns());
	c = g.phase == PH_DONE && (g.run_end_ns || o->mode == MODE_IDLE);
	if (c)
		report(&g);
	/* close_notify from every device, so that the server under test
	 * frees its sessions now and the next run starts from a clean
	 * server (closing a socket sends what is queued on it) */
	for (unsigned i = 0; i < g.created; i++) {
		if (!g.s[i].c)
			continue; /* released: left on the server on purpose */
		eim_dtls_client_close(eim_coap_dtls_client_dtls(g.s[i].c));
		eim_coap_dtls_client_free(g.s[i].c);
	}
	eim_loop_free(g.loop);
	free(g.to_free);
	free(g.s);
	free(g.hist);
	return c ? 0 : 1;
bad:
	usage(stderr);
	return 2;
}
