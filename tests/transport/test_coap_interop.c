/*
 * Interop tests of our CoAP (RFC 7252, 7959) against libcoap 4.3.1's
 * programs, which nobody on this project wrote:
 *   - coap-client-notls POSTs a binary body with -b 16, 64 and 1024 to our
 *     lab echo server; the body written with -o must be byte-identical
 *     (coap-client exits 0 even on failure, so only its output counts);
 *   - our client PUTs a multi-block body to coap-server-notls's
 *     /example_data (Block1 towards libcoap) and fetches it back
 *     block-wise (Block2 from libcoap), with libcoap's block size and with a
 *     smaller one negotiated early.
 * Paths come from meson: COAP_CLIENT, COAP_SERVER, ECHO_SERVER.
 */
#include "common/eim_err.h"
#include "transport/eim_coap_udp.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[256];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/eim-coap-interop-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void random_file(const char *path, size_t n, uint8_t **ret)
{
	uint8_t *b = malloc(n);
	FILE *f = fopen(path, "wb");
	unsigned s = (unsigned)time(NULL);

	for (size_t i = 0; i < n; i++) {
		s = s * 1103515245u + 12345u;
		b[i] = (uint8_t)(s >> 16);
	}
	/* Bytes that trip text handling: NUL, 0xff (payload marker), CR LF. */
	b[0] = 0, b[1] = 0xff, b[2] = '\r', b[3] = '\n';
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(b, 1, n, f), n);
	fclose(f);
	*ret = b;
}

static uint8_t *read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	*ret_len = fread(b, 1, (size_t)n, f);
	fclose(f);
	return b;
}

/* Starts argv in the background; its stdout goes to out_fd (or /dev/null). */
static pid_t spawn(char *const argv[], int out_fd)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		dup2(nul, 0);
		dup2(out_fd >= 0 ? out_fd : nul, 1);
		if (!getenv("EIM_TEST_VERBOSE"))
			dup2(nul, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int run_wait(char *const argv[])
{
	int st;
	pid_t pid = spawn(argv, -1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void stop(pid_t pid)
{
	int st;
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
}

/* Starts our echo server on a free port; returns its pid and port. */
static pid_t start_echo(int *ret_port)
{
	int p[2];
	char line[64] = {0};
	char bind_addr[] = "127.0.0.1:0";
	char *argv[] = {getenv("ECHO_SERVER"), bind_addr, NULL};
	pid_t pid;
	FILE *f;

	ck_assert_ptr_nonnull(argv[0]);
	ck_assert_int_eq(pipe(p), 0);
	pid = spawn(argv, p[1]);
	close(p[1]);
	f = fdopen(p[0], "r");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	ck_assert_int_eq(sscanf(line, "port %d", ret_port), 1);
	return pid;
}

static void libcoap_client_post(int szx_bytes)
{
	char in[300], out[300], uri[128], bs[16];
	uint8_t *body, *got;
	size_t got_len = 0;
	int port;
	pid_t srv;
	const size_t len = 3000;

	make_tmpdir();
	snprintf(in, sizeof(in), "%s/in.bin", tmpdir);
	snprintf(out, sizeof(out), "%s/out.bin", tmpdir);
	random_file(in, len, &body);
	srv = start_echo(&port);
	snprintf(uri, sizeof(uri), "coap://127.0.0.1:%d/gsma/rsp2/asn1", port);
	snprintf(bs, sizeof(bs), "%d", szx_bytes);
	char m[] = "-m", post[] = "post", f[] = "-f", b[] = "-b", B[] = "-B",
	     ten[] = "10", o[] = "-o";
	char *argv[] = {getenv("COAP_CLIENT"),
			m,
			post,
			f,
			in,
			b,
			bs,
			B,
			ten,
			uri,
			o,
			out,
			NULL};
	ck_assert_ptr_nonnull(argv[0]);
	run_wait(argv);
	stop(srv);
	got = read_file(out, &got_len);
	ck_assert_msg(got != NULL, "coap-client wrote no output");
	ck_assert_uint_eq(got_len, len);
	ck_assert_mem_eq(got, body, len);
	free(got);
	free(body);
	remove_tmpdir();
}

START_TEST(libcoap_client_post_b16)
{
	libcoap_client_post(16);
}
END_TEST

START_TEST(libcoap_client_post_b64)
{
	libcoap_client_post(64);
}
END_TEST

START_TEST(libcoap_client_post_b1024)
{
	libcoap_client_post(1024);
}
END_TEST

/* ---- our client against coap-server-notls ---- */

struct done {
	struct eim_loop *l;
	int status;
	uint8_t code;
	uint8_t *body;
	size_t len;
};

static void on_done(void *ctx, int status,
		    const struct eim_coap_client_response *resp)
{
	struct done *d = ctx;
	d->status = status;
	if (resp) {
		d->code = resp->code;
		d->body = malloc(resp->body_len + 1);
		if (resp->body_len)
			memcpy(d->body, resp->body, resp->body_len);
		d->len = resp->body_len;
	}
	eim_loop_stop(d->l);
}

static void stop_loop(struct eim_loop *l, void *ctx)
{
	eim_loop_stop(l);
}

/* One request with our client; returns the outcome and datagrams sent. */
static struct done request(const char *addr, uint8_t method, const char *path,
			   const uint8_t *body, size_t len, uint8_t szx,
			   uint64_t *ret_sent)
{
	struct eim_loop *l;
	struct eim_coap_udp_client *uc;
	struct eim_coap_client_config cc;
	struct eim_loop_timer t;
	struct eim_coap_client_stats st;
	struct done d = {.status = 1};

	ck_assert_int_eq(eim_loop_new(&l), 0);
	d.l = l;
	eim_coap_client_config_default(&cc);
	cc.block_szx = szx;
	cc.params.ack_timeout_ms = 500;
	ck_assert_int_eq(eim_coap_udp_client_new(l, addr, &cc, &uc), 0);
	struct eim_coap_client_request rq = {
		.method = method,
		.path = path,
		.content_format = -1,
		.body = body,
		.body_len = len,
		.cb = on_done,
		.cb_ctx = &d,
	};
	ck_assert_int_eq(eim_coap_udp_client_request(uc, &rq), 0);
	eim_loop_timer_init(&t, stop_loop, NULL);
	eim_loop_timer_start(l, &t, eim_loop_clock_ms() + 20000);
	eim_loop_run(l);
	eim_loop_timer_stop(l, &t);
	eim_coap_client_stats(eim_coap_udp_client_engine(uc), &st);
	*ret_sent = st.sent;
	eim_coap_udp_client_free(uc);
	eim_loop_free(l);
	return d;
}

static int free_udp_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, len), 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Waits until something is bound to 127.0.0.1:port (bind fails). */
static void wait_bound(int port)
{
	for (int i = 0; i < 200; i++) {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)port)};
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
		close(fd);
		if (rc != 0 && errno == EADDRINUSE)
			return;
		usleep(10000);
	}
	ck_abort_msg("coap-server-notls did not bind port %d", port);
}

START_TEST(our_client_blockwise_with_libcoap_server)
{
	char port_s[16], addr[64];
	int port = free_udp_port();
	char A[] = "-A", lo[] = "127.0.0.1", p[] = "-p";
	char *argv[] = {getenv("COAP_SERVER"), A, lo, p, port_s, NULL};
	const size_t len = 5000;
	uint8_t *body = malloc(len);
	uint64_t sent;
	struct done d;
	pid_t srv;

	ck_assert_ptr_nonnull(argv[0]);
	for (size_t i = 0; i < len; i++)
		body[i] = (uint8_t)(i * 7 + (i >> 8));
	snprintf(port_s, sizeof(port_s), "%d", port);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	srv = spawn(argv, -1);
	wait_bound(port);

	/* PUT 5000 bytes in 1024-byte Block1 blocks. */
	d = request(addr, EIM_COAP_PUT, "/example_data", body, len, 6, &sent);
	ck_assert_int_eq(d.status, 0);
	ck_assert_int_eq(EIM_COAP_CODE_CLASS(d.code), 2);
	ck_assert_uint_ge(sent, 5);
	free(d.body);

	/* GET it back: libcoap sends it in Block2 blocks. */
	d = request(addr, EIM_COAP_GET, "/example_data", NULL, 0, 6, &sent);
	ck_assert_int_eq(d.status, 0);
	ck_assert_int_eq(d.code, EIM_COAP_CONTENT);
	ck_assert_uint_eq(d.len, len);
	ck_assert_mem_eq(d.body, body, len);
	ck_assert_uint_ge(sent, 2); /* more than one block was fetched */
	free(d.body);

	/* Again with 64-byte blocks asked for up front (RFC 7959 2.4). */
	d = request(addr, EIM_COAP_GET, "/example_data", NULL, 0, 2, &sent);
	ck_assert_int_eq(d.status, 0);
	ck_assert_uint_eq(d.len, len);
	ck_assert_mem_eq(d.body, body, len);
	ck_assert_uint_ge(sent, (len + 63) / 64);
	free(d.body);

	/* A path libcoap does not serve: a clean 4.04, not a failure. */
	d = request(addr, EIM_COAP_GET, "/no/such", NULL, 0, 6, &sent);
	ck_assert_int_eq(d.status, 0);
	ck_assert_int_eq(d.code, EIM_COAP_NOT_FOUND);
	free(d.body);
	stop(srv);
	free(body);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("coap_interop");
	TCase *tc = tcase_create("libcoap");
	SRunner *sr;
	int failed;

	if (!getenv("COAP_CLIENT") || !getenv("COAP_SERVER") ||
	    !getenv("ECHO_SERVER"))
		return 77;
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, libcoap_client_post_b16);
	tcase_add_test(tc, libcoap_client_post_b64);
	tcase_add_test(tc, libcoap_client_post_b1024);
	tcase_add_test(tc, our_client_blockwise_with_libcoap_server);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
