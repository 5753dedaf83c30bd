/*
 * bench_store - figures for store/ (printed, never asserted; run with nice).
 *
 *   bench_store [DIR] [--reports]
 *
 * Prints, for synchronous=FULL and NORMAL:
 *   - packages enqueued per second with eim_store_enqueue_many in batches of
 *     1000 (100,000 packages of 300 bytes over 1,000 devices, a signer that
 *     only copies bytes: the store's own cost, no ECDSA);
 *   - the database file size per 100,000 queued packages (after the WAL is
 *     checkpointed into the main file);
 *   - eim_store_next() calls per second for devices with an empty queue
 *     (the common poll);
 *   - credential lookups per second (what the DTLS layer does per
 *     handshake);
 *   - the store's cost of a device's report (its result recorded and its
 *     seqNumber marked acknowledged), as separate commits (what eim serve
 *     did) and as one transaction (eim_store_tx_begin/commit, what it does),
 *     the two alternating device by device so that both meet the same
 *     disk: wall time per report and commits (syncs) per report.
 * With --reports, only the last figure.
 */
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "store/eim_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEVICES 1000
#define EMPTY_DEVICES 1000
#define PACKAGES 100000
#define PKG_BYTES 300
#define NEXT_CALLS 1000000
#define LOOKUPS 300000
#define REPORT_DEVICES 1000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this process: the figure that does not depend on how busy a
 * shared machine is (wall time is printed too; fsync waits show there). */
static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void eid_of(unsigned n, uint8_t eid[EIM_STORE_EID_LEN])
{
	char text[40];

	snprintf(text, sizeof(text), "89049032%024u", n);
	if (eim_store_eid_parse(text, eid) != 0)
		abort();
}

/* A stand-in signer: copies a fixed 300-byte body and the counter. */
static int copy_sign(void *ctx, const struct eim_store_sign_in *in,
		     struct eim_store_sign_out *out)
{
	static const uint8_t body[PKG_BYTES] = {0xBF, 0x51};
	uint8_t c[3];

	(void)ctx;
	eim_put_be24(c, in->counter);
	eim_buf_append(out->bytes, body, sizeof(body) - 3);
	eim_buf_append(out->bytes, c, 3);
	return 0;
}

static void die(struct eim_store *s, const char *what, int err)
{
	fprintf(stderr, "bench_store: %s: %s: %s\n", what, eim_errname(err),
		s ? eim_store_errmsg(s) : eim_store_open_errmsg());
	exit(1);
}

static void setup_fleet(struct eim_store *s, unsigned n)
{
	struct eim_store_identity id = {.eim_id = "eim-bench",
					.key_ref = "bench"};
	char psk[32];
	uint8_t key[16] = {1};
	int err;

	err = eim_store_identity_add(s, &id);
	if (err)
		die(s, "identity", err);
	for (unsigned i = 1; i <= n; i++) {
		struct eim_store_device_new d = {0};

		eid_of(i, d.eid);
		d.eim_id = "eim-bench";
		snprintf(psk, sizeof(psk), "dev%u", i);
		d.psk_identity = (const uint8_t *)psk;
		d.psk_identity_len = strlen(psk);
		d.psk_key = key;
		d.psk_key_len = sizeof(key);
		err = eim_store_device_add(s, &d);
		if (err)
			die(s, "device", err);
	}
}

/* A new database `name` in dir with n devices; its path goes to path. */
static struct eim_store *open_fresh(const char *dir, const char *name,
				    enum eim_store_sync sync, unsigned n,
				    char *path, size_t cap)
{
	struct eim_store_options o;
	struct eim_store *s = NULL;
	int err;

	snprintf(path, cap, "%s/%s-%d.db", dir, name, (int)sync);
	unlink(path);
	eim_store_options_init(&o);
	o.synchronous = sync;
	err = eim_store_open(path, &o, &s);
	if (err)
		die(NULL, "open", err);
	setup_fleet(s, n);
	return s;
}

static void run(const char *dir, enum eim_store_sync sync)
{
	static struct eim_store_enqueue_req reqs[PACKAGES];
	struct eim_store *s = NULL;
	struct eim_store_package p;
	struct eim_store_cred_lookup l;
	uint8_t eids[EMPTY_DEVICES][EIM_STORE_EID_LEN];
	char path[512], psk[32];
	struct stat sb;
	size_t done = 0;
	double t0, t1, c0, c1;
	bool found;
	int err;

	s = open_fresh(dir, "bench", sync, DEVICES + EMPTY_DEVICES, path,
		       sizeof(path));

	for (size_t i = 0; i < PACKAGES; i++) {
		memset(&reqs[i], 0, sizeof(reqs[i]));
		eid_of(1 + (unsigned)(i % DEVICES), reqs[i].eid);
		reqs[i].kind = "psmo";
		reqs[i].summary = "{\"psmo\":[{\"enable\":"
				  "\"A0000005591010FFFFFFFF8900001000\"}]}";
	}
	t0 = now_s();
	c0 = cpu_s();
	err = eim_store_enqueue_many(s, reqs, PACKAGES, 1000, copy_sign, NULL,
				     NULL, NULL, NULL, &done);
	c1 = cpu_s();
	t1 = now_s();
	if (err)
		die(s, "enqueue", err);
	printf("synchronous=%s\n",
	       sync == EIM_STORE_SYNC_FULL ? "FULL" : "NORMAL");
	printf("  enqueue (batches of 1000, %d-byte packages): %.0f "
	       "packages/s wall, %.0f per CPU second (%zu in %.2f s)\n",
	       PKG_BYTES, (double)done / (t1 - t0), (double)done / (c1 - c0),
	       done, t1 - t0);

	for (unsigned i = 0; i < EMPTY_DEVICES; i++)
		eid_of(DEVICES + 1 + i, eids[i]);
	t0 = now_s();
	c0 = cpu_s();
	for (unsigned i = 0; i < NEXT_CALLS; i++) {
		err = eim_store_next(s, eids[i % EMPTY_DEVICES], &p, &found);
		if (err || found)
			die(s, "next", err);
	}
	c1 = cpu_s();
	t1 = now_s();
	printf("  next() on an empty queue: %.0f calls/s wall, %.0f per CPU "
	       "second (%.2f us CPU each)\n",
	       NEXT_CALLS / (t1 - t0), NEXT_CALLS / (c1 - c0),
	       (c1 - c0) / NEXT_CALLS * 1e6);

	t0 = now_s();
	for (unsigned i = 0; i < LOOKUPS; i++) {
		int n = snprintf(psk, sizeof(psk), "dev%u",
				 1 + i % (DEVICES + EMPTY_DEVICES));
		err = eim_store_credential_lookup(s, EIM_STORE_CRED_PSK,
						  (const uint8_t *)psk,
						  (size_t)n, &l);
		if (err)
			die(s, "lookup", err);
		eim_store_cred_lookup_done(&l);
	}
	t1 = now_s();
	printf("  PSK credential lookup: %.0f lookups/s\n",
	       LOOKUPS / (t1 - t0));

	eim_store_close(s); /* last connection: WAL folded into the file */
	if (stat(path, &sb) == 0)
		printf("  file size with %d queued packages (+%d devices, "
		       "audit rows): %.1f MB, %.0f bytes per package\n",
		       PACKAGES, DEVICES + EMPTY_DEVICES,
		       (double)sb.st_size / 1e6, (double)sb.st_size / PACKAGES);
	unlink(path);
}

/* One device's report: result, then every pending seqNumber acknowledged. */
static void report(struct eim_store *s, unsigned dev,
		   const struct eim_store_package *p, bool one_tx)
{
	struct eim_store_result_in ri = {0};
	int64_t seqs[8];
	char bytes[64];
	size_t n = 0;
	int err = 0;

	eid_of(dev, ri.eid);
	snprintf(bytes, sizeof(bytes), "EPR|%u|%u", dev, p->counter);
	ri.eim_id = p->eim_id;
	ri.counter = p->counter;
	ri.bytes = (const uint8_t *)bytes;
	ri.len = strlen(bytes);
	ri.summary = "{\"result\":\"ok\"}";
	ri.verified = true;
	ri.seq_number = dev;
	if (one_tx && (err = eim_store_tx_begin(s)))
		die(s, "begin", err);
	if ((err = eim_store_result_record(s, &ri, NULL)) ||
	    (err = eim_store_acks_pending(s, ri.eid, seqs, 8, &n)) ||
	    (err = eim_store_acks_done(s, ri.eid, seqs, n)))
		die(s, "report", err);
	if (one_tx && (err = eim_store_tx_commit(s)))
		die(s, "commit", err);
}

static void run_reports(const char *dir, enum eim_store_sync sync)
{
	static struct eim_store_enqueue_req reqs[REPORT_DEVICES];
	struct eim_store *s = NULL;
	struct eim_store_package p;
	double wall[2] = {0, 0};
	uint64_t commits[2] = {0, 0};
	char path[512];
	size_t done = 0;
	bool found;
	int err;

	s = open_fresh(dir, "bench-reports", sync, REPORT_DEVICES, path,
		       sizeof(path));
	for (unsigned i = 0; i < REPORT_DEVICES; i++) {
		memset(&reqs[i], 0, sizeof(reqs[i]));
		eid_of(1 + i, reqs[i].eid);
		reqs[i].kind = "psmo";
		reqs[i].summary = "[{\"op\":\"list-profiles\"}]";
	}
	err = eim_store_enqueue_many(s, reqs, REPORT_DEVICES, 1000, copy_sign,
				     NULL, NULL, NULL, NULL, &done);
	if (err)
		die(s, "enqueue", err);
	for (unsigned i = 0; i < REPORT_DEVICES; i++) {
		bool one_tx = i % 2;
		uint64_t c0;
		double t0;

		err = eim_store_next(s, reqs[i].eid, &p, &found);
		if (err || !found)
			die(s, "next", err);
		c0 = eim_store_commits(s);
		t0 = now_s();
		report(s, 1 + i, &p, one_tx);
		wall[one_tx] += now_s() - t0;
		commits[one_tx] += eim_store_commits(s) - c0;
	}
	printf("synchronous=%s\n",
	       sync == EIM_STORE_SYNC_FULL ? "FULL" : "NORMAL");
	for (int k = 0; k < 2; k++)
		printf("  report (result + acknowledgement), %s: %.0f us wall "
		       "per report, %.1f commits per report (%d reports)\n",
		       k ? "one transaction" : "separate commits",
		       wall[k] / (REPORT_DEVICES / 2) * 1e6,
		       (double)commits[k] / (REPORT_DEVICES / 2),
		       REPORT_DEVICES / 2);
	eim_store_close(s);
	unlink(path);
}

int main(int argc, char **argv)
{
	char tmpl[] = "/tmp/eim-bench-XXXXXX";
	bool reports_only =
		argc > 1 && strcmp(argv[argc - 1], "--reports") == 0;
	bool own_dir = argc < 2 || (reports_only && argc < 3);
	const char *dir = own_dir ? mkdtemp(tmpl) : argv[1];

	if (!dir) {
		perror("mkdtemp");
		return 1;
	}
	if (!reports_only) {
		run(dir, EIM_STORE_SYNC_FULL);
		run(dir, EIM_STORE_SYNC_NORMAL);
	}
	run_reports(dir, EIM_STORE_SYNC_FULL);
	run_reports(dir, EIM_STORE_SYNC_NORMAL);
	if (own_dir)
		rmdir(dir);
	return 0;
}
