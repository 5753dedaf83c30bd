/*
 * bench_coap - plain CoAP (RFC 7252 over UDP, loopback) request rate and
 * latency of our server engine next to libcoap 4.3.1's coap-server-notls
 * answering the same load in the same run.
 *
 * The server under test runs as a child pinned to CPU 0 with taskset; this
 * generator pins itself to CPU 1 and keeps C requests in flight (closed
 * loop: each lane sends its next request when the previous answer arrives)
 * over N client sockets, using our client engine. It reports requests/s,
 * p50/p99 latency, and the server's CPU time per request read from
 * /proc/PID/stat. Loads:
 *   - POST /gsma/rsp2/asn1 with a 16-byte body (our echo server; libcoap has
 *     no POST resource and answers 4.05, which is shown for reference)
 *   - PUT /example_data with the same body, echoed back by both servers
 *     (libcoap with -e): the like-for-like comparison and the ratio.
 *
 * Usage: bench_coap [-t SECONDS] [-c CONCURRENCY] [-n SOCKETS]
 *                   [-e ECHO_SERVER] [-l COAP_SERVER]
 * Prints figures; never run as a test.
 */
#include "common/eim_err.h"
#include "transport/eim_coap_udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LANES 1024
#define MAX_SOCKS 64

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct bench;

struct lane {
	struct bench *b;
	struct eim_coap_udp_client *uc;
	uint64_t t0;
};

struct bench {
	struct eim_loop *loop;
	uint8_t method;
	const char *path;
	bool measuring;
	bool running;
	uint64_t ok, errors, other_code;
	uint8_t expect_code;
	uint32_t *lat_ns;
	size_t nlat, cap;
	struct lane lanes[MAX_LANES];
};

static const uint8_t body16[16] = "0123456789abcdef";

static void issue(struct lane *ln);

static void on_done(void *ctx, int status,
		    const struct eim_coap_client_response *resp)
{
	struct lane *ln = ctx;
	struct bench *b = ln->b;

	if (b->measuring) {
		uint64_t d = now_ns() - ln->t0;
		if (status != 0) {
			b->errors++;
		} else {
			b->ok++;
			if (EIM_COAP_CODE_CLASS(resp->code) !=
			    EIM_COAP_CODE_CLASS(b->expect_code))
				b->other_code++;
			if (b->nlat < b->cap)
				b->lat_ns[b->nlat++] = d > UINT32_MAX
							       ? UINT32_MAX
							       : (uint32_t)d;
		}
	}
	if (b->running)
		issue(ln);
}

static void issue(struct lane *ln)
{
	struct bench *b = ln->b;
	struct eim_coap_client_request rq = {
		.method = b->method,
		.path = b->path,
		.content_format = -1,
		.body = body16,
		.body_len = sizeof(body16),
		.cb = on_done,
		.cb_ctx = ln,
	};
	ln->t0 = now_ns();
	if (eim_coap_udp_client_request(ln->uc, &rq) != 0)
		b->errors++;
}

static void stop_loop(struct eim_loop *l, void *ctx)
{
	eim_loop_stop(l);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* utime + stime of pid in clock ticks. */
static uint64_t proc_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	FILE *f;
	unsigned long long ut = 0, st = 0;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* Fields after ")": state(3) ... utime(14) stime(15). */
	if (sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
		   &st) != 2)
		return 0;
	return ut + st;
}

/* This process's user + system CPU time in ns. */
static uint64_t self_cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) *
		       1000000000u +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) *
		       1000u;
}

static int free_udp_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, len) != 0)
		return -1;
	getsockname(fd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int wait_bound(int port)
{
	for (int i = 0; i < 300; i++) {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)port)};
		int fd = socket(AF_INET, SOCK_DGRAM, 0), rc;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
		close(fd);
		if (rc != 0 && errno == EADDRINUSE)
			return 0;
		usleep(10000);
	}
	return -1;
}

/* Runs "taskset -c 0 argv..." with stdout/stderr to /dev/null. */
static pid_t spawn_pinned(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		char *full[16];
		char ts[] = "taskset", c[] = "-c", zero[] = "0";
		int n = 0, nul = open("/dev/null", O_RDWR);
		full[n++] = ts;
		full[n++] = c;
		full[n++] = zero;
		for (int i = 0; argv[i] && n < 15; i++)
			full[n++] = argv[i];
		full[n] = NULL;
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		execvp(full[0], full);
		_exit(127);
	}
	return pid;
}

struct result {
	double rps, p50_us, p99_us, cpu_us, srv_load, gen_load;
	uint64_t ok, errors, other_code;
};

static int run_load(int port, uint8_t method, const char *path, uint8_t expect,
		    pid_t srv, double secs, int conc, int nsocks,
		    struct result *ret)
{
	static struct bench b;
	struct eim_coap_udp_client *uc[MAX_SOCKS] = {0};
	struct eim_coap_client_config cc;
	struct eim_loop_timer t;
	char addr[64];
	uint64_t t0, t1, c0, c1, g0, g1;
	int rc;

	memset(&b, 0, sizeof(b));
	b.method = method;
	b.path = path;
	b.expect_code = expect;
	b.cap = 20u << 20;
	b.lat_ns = malloc(b.cap * sizeof(uint32_t));
	if (!b.lat_ns || eim_loop_new(&b.loop))
		return 1;
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	eim_coap_client_config_default(&cc);
	cc.max_inflight = (uint32_t)((conc + nsocks - 1) / nsocks);
	for (int i = 0; i < nsocks; i++) {
		rc = eim_coap_udp_client_new(b.loop, addr, &cc, &uc[i]);
		if (rc) {
			fprintf(stderr, "client: %s\n", eim_strerror(rc));
			return 1;
		}
	}
	b.running = true;
	for (int i = 0; i < conc; i++) {
		b.lanes[i].b = &b;
		b.lanes[i].uc = uc[i % nsocks];
		issue(&b.lanes[i]);
	}
	eim_loop_timer_init(&t, stop_loop, NULL);
	/* One second of warm-up, then the measured window. */
	eim_loop_timer_start(b.loop, &t, eim_loop_clock_ms() + 1000);
	eim_loop_run(b.loop);
	b.measuring = true;
	c0 = proc_cpu_ticks(srv);
	g0 = self_cpu_ns();
	t0 = now_ns();
	eim_loop_timer_start(b.loop, &t,
			     eim_loop_clock_ms() + (uint64_t)(secs * 1000));
	eim_loop_run(b.loop);
	t1 = now_ns();
	g1 = self_cpu_ns();
	c1 = proc_cpu_ticks(srv);
	b.measuring = false;
	b.running = false;

	qsort(b.lat_ns, b.nlat, sizeof(uint32_t), cmp_u32);
	ret->ok = b.ok;
	ret->errors = b.errors;
	ret->other_code = b.other_code;
	ret->rps = (double)b.ok * 1e9 / (double)(t1 - t0);
	ret->p50_us = b.nlat ? b.lat_ns[b.nlat / 2] / 1000.0 : 0;
	ret->p99_us = b.nlat ? b.lat_ns[b.nlat * 99 / 100] / 1000.0 : 0;
	ret->cpu_us = b.ok ? (double)(c1 - c0) * 1e6 /
				      (double)sysconf(_SC_CLK_TCK) /
				      (double)b.ok
			   : 0;
	/* Busy fractions of the two cores: a side near 100% is the limit. */
	ret->srv_load = (double)(c1 - c0) * 1e9 / (double)sysconf(_SC_CLK_TCK) /
			(double)(t1 - t0);
	ret->gen_load = (double)(g1 - g0) / (double)(t1 - t0);
	for (int i = 0; i < nsocks; i++)
		eim_coap_udp_client_free(uc[i]);
	eim_loop_free(b.loop);
	free(b.lat_ns);
	return 0;
}

/* ---- the engine alone: no sockets, no scheduler ---- */

static int engine_echo(void *ctx, const struct eim_coap_request *req,
		       struct eim_coap_response *resp)
{
	resp->code = EIM_COAP_CHANGED;
	eim_buf_append(&resp->body, req->body, req->body_len);
	return 0;
}

static size_t sink_bytes;

static int sink(void *ctx, const uint8_t *d, size_t n)
{
	sink_bytes += n;
	return 0;
}

/* ns of CPU per small POST through eim_coap_server_input, spread over
 * npeers peers (each with its own dedup cache). */
static double engine_ns(unsigned npeers, unsigned iters)
{
	static const struct eim_coap_route r[] = {
		{EIM_COAP_POST, "/gsma/rsp2/asn1", engine_echo, NULL},
	};
	struct eim_coap_server *srv;
	uint8_t req[128];
	struct eim_coap_writer w;
	size_t n;
	uint64_t t0, t1;
	const uint8_t tok[8] = {1, 2, 3, 4, 5, 6, 7, 8};

	if (eim_coap_server_new(NULL, r, 1, &srv))
		return 0;
	eim_coap_writer_init(&w, req, sizeof(req), EIM_COAP_CON, EIM_COAP_POST,
			     0, tok, 8);
	eim_coap_writer_opt_path(&w, EIM_COAP_OPT_URI_PATH, "/gsma/rsp2/asn1");
	eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_CONTENT_FORMAT, 42);
	eim_coap_writer_payload(&w, body16, sizeof(body16));
	eim_coap_writer_finish(&w, &n);
	for (int pass = 0; pass < 2; pass++) {
		/* pass 0 warms up (creates the peers) */
		t0 = self_cpu_ns();
		for (unsigned i = 0; i < iters; i++) {
			struct sockaddr_in6 a = {.sin6_family = AF_INET6,
						 .sin6_port = htons(5683)};
			uint32_t peer = i % npeers;
			memcpy(&a.sin6_addr.s6_addr[12], &peer, 4);
			struct eim_coap_peer p = {
				.key = (const uint8_t *)&a,
				.key_len = sizeof(a),
				.send = sink,
			};
			uint16_t mid = (uint16_t)(i + (unsigned)pass * 7919);
			req[2] = (uint8_t)(mid >> 8);
			req[3] = (uint8_t)mid;
			eim_coap_server_input(srv, &p, req, n, 1000 + i / 1000);
		}
		t1 = self_cpu_ns();
	}
	eim_coap_server_free(srv);
	return (double)(t1 - t0) / iters;
}

static void print_row(const char *name, const char *load,
		      const struct result *r)
{
	printf("%-22s %-28s %9.0f %8.1f %8.1f %10.2f %5.0f%% %5.0f%% %6llu "
	       "%s\n",
	       name, load, r->rps, r->p50_us, r->p99_us, r->cpu_us,
	       r->srv_load * 100, r->gen_load * 100,
	       (unsigned long long)r->errors,
	       r->other_code ? "(answers were not 2.xx)" : "");
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_coap [-t SECONDS] [-c CONCURRENCY] "
			"[-n SOCKETS] [-e ECHO_SERVER] [-l COAP_SERVER]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double secs = 5;
	int conc = 32, nsocks = 4, opt;
	char echo_path[PATH_MAX], self[PATH_MAX];
	const char *libcoap = "coap-server-notls";
	struct result ours_post, ours_put, lc_post, lc_put;
	cpu_set_t set;
	ssize_t n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return 1;
	self[n] = 0;
	snprintf(echo_path, sizeof(echo_path), "%s/coap_echo_server",
		 dirname(self));
	while ((opt = getopt(argc, argv, "t:c:n:e:l:")) != -1) {
		switch (opt) {
		case 't':
			secs = atof(optarg);
			break;
		case 'c':
			conc = atoi(optarg);
			break;
		case 'n':
			nsocks = atoi(optarg);
			break;
		case 'e':
			snprintf(echo_path, sizeof(echo_path), "%s", optarg);
			break;
		case 'l':
			libcoap = optarg;
			break;
		default:
			usage();
		}
	}
	if (secs <= 0 || conc < 1 || conc > MAX_LANES || nsocks < 1 ||
	    nsocks > MAX_SOCKS || nsocks > conc)
		usage();
	/* The generator on CPU 1, the server on CPU 0. */
	CPU_ZERO(&set);
	CPU_SET(1, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		fprintf(stderr, "warning: cannot pin generator to CPU 1\n");
	signal(SIGPIPE, SIG_IGN);

	printf("server engine alone (eim_coap_server_input, small CON POST, "
	       "piggybacked 2.04, no syscalls):\n");
	printf("  1 peer: %.0f ns/request; 1000 peers: %.0f ns/request; "
	       "100000 peers: %.0f ns/request\n\n",
	       engine_ns(1, 2000000), engine_ns(1000, 2000000),
	       engine_ns(100000, 2000000));
	fflush(stdout);

	/* Our echo server. */
	int port = free_udp_port();
	char bind_addr[64];
	snprintf(bind_addr, sizeof(bind_addr), "127.0.0.1:%d", port);
	char *ours_argv[] = {echo_path, bind_addr, NULL};
	pid_t srv = spawn_pinned(ours_argv);
	if (wait_bound(port) != 0) {
		fprintf(stderr, "%s did not start\n", echo_path);
		return 1;
	}
	run_load(port, EIM_COAP_POST, "/gsma/rsp2/asn1", EIM_COAP_CHANGED, srv,
		 secs, conc, nsocks, &ours_post);
	run_load(port, EIM_COAP_PUT, "/example_data", EIM_COAP_CHANGED, srv,
		 secs, conc, nsocks, &ours_put);
	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);

	/* libcoap's server, echoing PUT bodies (-e). */
	port = free_udp_port();
	char port_s[16], e[] = "-e", A[] = "-A", lo[] = "127.0.0.1", p[] = "-p",
			 v[] = "-v", zero[] = "0";
	snprintf(port_s, sizeof(port_s), "%d", port);
	char *lc_argv[] = {(char *)libcoap, e, A, lo, p, port_s, v, zero, NULL};
	srv = spawn_pinned(lc_argv);
	if (wait_bound(port) != 0) {
		fprintf(stderr, "%s did not start\n", libcoap);
		return 1;
	}
	run_load(port, EIM_COAP_POST, "/gsma/rsp2/asn1", EIM_COAP_CHANGED, srv,
		 secs, conc, nsocks, &lc_post);
	run_load(port, EIM_COAP_PUT, "/example_data", EIM_COAP_CREATED, srv,
		 secs, conc, nsocks, &lc_put);
	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);

	printf("plain CoAP over UDP loopback, 16-byte body, server pinned to "
	       "CPU 0, generator on CPU 1\n%d requests in flight over %d "
	       "sockets, %.1f s measured after 1 s warm-up\n\n",
	       conc, nsocks, secs);
	printf("%-22s %-28s %9s %8s %8s %10s %6s %6s %6s\n", "server", "load",
	       "req/s", "p50 us", "p99 us", "srv us/req", "srv", "gen",
	       "errors");
	print_row("eim coap_echo_server", "POST /gsma/rsp2/asn1", &ours_post);
	print_row("libcoap 4.3.1 notls", "POST /gsma/rsp2/asn1 (4.05)",
		  &lc_post);
	print_row("eim coap_echo_server", "PUT /example_data (echo)",
		  &ours_put);
	print_row("libcoap 4.3.1 notls", "PUT /example_data (echo -e)",
		  &lc_put);
	printf("\nratio eim/libcoap, PUT echo: %.2fx requests/s, %.2fx less "
	       "server CPU per request\n",
	       lc_put.rps > 0 ? ours_put.rps / lc_put.rps : 0,
	       ours_put.cpu_us > 0 ? lc_put.cpu_us / ours_put.cpu_us : 0);
	printf("ratio eim POST / libcoap PUT echo: %.2fx requests/s\n",
	       lc_put.rps > 0 ? ours_post.rps / lc_put.rps : 0);
	return 0;
}
