/*
 * bench_proto - throughput of the two crypto-bound proto/ paths on one core:
 * EuiccPackageRequests built and signed per second (P-256 and
 * brainpoolP256r1), and EuiccPackageResults decoded and verified per
 * second. Prints figures; never run by the test suite.
 *
 * usage: bench_proto [SECONDS]   (default 3 per measurement)
 */
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "proto/eim_epr.h"
#include "proto/eim_ipadata.h"
#include "proto/eim_pkg.h"
#include "proto/eim_sig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_build(enum eim_sig_curve curve, const char *name, double secs)
{
	struct eim_sig_key *k = NULL;
	struct eim_psmo op = {.kind = EIM_PSMO_ENABLE, .rollback = true};
	struct eim_pkg p = {0};
	uint8_t txid[16] = {0};
	struct eim_buf b;
	unsigned long n = 0;
	double t0, c0, t;

	if (eim_sig_key_generate(curve, &k) < 0)
		return 1;
	eim_iccid_parse("8944123456789012345", op.iccid);
	p.eim_id.p = (const uint8_t *)"eim.example.org";
	p.eim_id.len = 15;
	memset(p.eid, 0x89, 16);
	p.txid.p = txid;
	p.txid.len = sizeof(txid);
	p.psmo = &op;
	p.n_ops = 1;
	eim_buf_init(&b);
	t0 = now();
	c0 = cpu();
	do {
		for (int i = 0; i < 100; i++) {
			p.counter = (int64_t)(n % EIM_PKG_COUNTER_MAX) + 1;
			memcpy(txid, &n, sizeof(n));
			eim_buf_reset(&b);
			if (eim_pkg_build(&p, 1, k, &b) < 0) {
				fprintf(stderr, "build failed\n");
				return 1;
			}
			n++;
		}
		t = now() - t0;
	} while (t < secs);
	printf("packages built+signed (%s): %.0f/s (%lu in %.2f s, %.1f us CPU "
	       "each, %zu bytes)\n",
	       name, (double)n / t, n, t, (cpu() - c0) / (double)n * 1e6,
	       b.len);
	eim_buf_done(&b);
	eim_sig_key_free(k);
	return 0;
}

static int bench_verify(double secs)
{
	struct eim_sig_key *k = NULL;
	struct eim_epr_result r[2] = {{.tag = EIM_RES_ENABLE, .code = 0},
				      {.tag = EIM_RES_DISABLE, .code = 0}};
	struct eim_epr e = {0}, d;
	struct eim_buf b;
	unsigned long n = 0;
	double t0, c0, t;

	if (eim_sig_key_generate(EIM_SIG_P256, &k) < 0)
		return 1;
	e.kind = EIM_EPR_RESULT_SIGNED;
	e.eim_id.p = (const uint8_t *)"eim.example.org";
	e.eim_id.len = 15;
	e.counter = 5;
	e.seq = 9;
	e.results = r;
	e.n_results = 2;
	eim_buf_init(&b);
	if (eim_epr_encode(&e, 1, k, &b) < 0)
		return 1;
	t0 = now();
	c0 = cpu();
	do {
		for (int i = 0; i < 100; i++) {
			if (eim_epr_decode(b.p, b.len, NULL, &d) < 0 ||
			    eim_epr_verify(&d, 1, k) < 0) {
				fprintf(stderr, "verify failed\n");
				return 1;
			}
			eim_epr_done(&d);
			n++;
		}
		t = now() - t0;
	} while (t < secs);
	printf("results decoded+verified (P-256): %.0f/s (%lu in %.2f s, %.1f "
	       "us CPU each)\n",
	       (double)n / t, n, t, (cpu() - c0) / (double)n * 1e6);
	eim_buf_done(&b);
	eim_sig_key_free(k);
	return 0;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3.0;

	if (secs <= 0)
		secs = 3.0;
	if (bench_build(EIM_SIG_P256, "P-256", secs) ||
	    bench_build(EIM_SIG_BRAINPOOLP256R1, "brainpoolP256r1", secs) ||
	    bench_verify(secs))
		return 1;
	return 0;
}
