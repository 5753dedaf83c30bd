/*
 * cmd_submit.c - `eim submit`: queue signed packages for one device, for
 * the devices of a JSON file, or for a fleet.
 *
 * Each package is signed INSIDE the store transaction that takes its
 * counterValue (eim_store_enqueue calls eim__sign with the counter), so a
 * counter can never be used twice, whatever happens to this process.
 * A fresh random 16-byte eimTransactionId is given to every package.
 *
 * Fleets (--devices) are queued with eim_store_enqueue_bulk in batches of
 * EIM__BATCH: the counters of a batch are reserved in one transaction, the
 * packages signed on --jobs threads (default: one per CPU) with no
 * transaction open, and stored in a second transaction that re-checks
 * every counter (a crash in between leaves only unused counter values,
 * which the eUICC accepts as gaps). A progress line goes to a terminal.
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "eim/cli_util.h"
#include "eim/eim_json.h"
#include "eim/eim_ops.h"
#include "eim/eim_signer.h"
#include "proto/eim_der.h"
#include "proto/eim_ids.h"
#include "proto/eim_ipadata.h"
#include "proto/eim_pkg.h"
#include "proto/eim_sig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EIM__DEFAULT_VALIDITY_S (7 * 24 * 3600)
/* Packages per reserve/sign/store round of --devices: large enough that
 * the two commits per batch are cheap, small enough for a live progress
 * line and little lost work on an error. */
#define EIM__BATCH 2000

/* One package to queue: its operations and where they came from. */
struct eim__job {
	struct eim_ops ops;
	const char *where; /* for messages: "ops.json: packages[3]" */
};

/* "3600", "90s", "30m", "12h", "7d", or "none" (no deadline). */
static int eim__parse_validity(const char *t, int64_t *ret_s)
{
	char *end = NULL;
	long long v;

	if (strcmp(t, "none") == 0) {
		*ret_s = 0;
		return 0;
	}
	v = strtoll(t, &end, 10);
	if (end == t || v <= 0)
		return EIM_EINVAL;
	if (*end == 's' || *end == '\0')
		;
	else if (*end == 'm')
		v *= 60;
	else if (*end == 'h')
		v *= 3600;
	else if (*end == 'd')
		v *= 86400;
	else
		return EIM_EINVAL;
	if (*end && end[1])
		return EIM_EINVAL;
	if (v > 10LL * 365 * 86400)
		return EIM_ERANGE;
	*ret_s = v;
	return 0;
}

static int64_t eim__now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- output ---------------------------------------------------------------
 */

struct eim__out {
	bool json;
	cJSON *arr;
	size_t n;
	uint32_t warned_max;
	size_t warnings;
};

static void eim__report(struct eim__out *o, const uint8_t eid[16],
			const struct eim_store_enqueued *e, bool quiet)
{
	char eidt[33], txid[33];

	o->n++;
	if (e->counter_warning) {
		o->warnings++;
		if (e->counter > o->warned_max)
			o->warned_max = e->counter;
	}
	eim_eid_format(eid, eidt);
	if (o->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "id", (double)e->package_id);
		cJSON_AddStringToObject(j, "eid", eidt);
		cJSON_AddNumberToObject(j, "counter", e->counter);
		cJSON_AddStringToObject(j, "transaction_id",
					eim_hex_encode(e->txid, e->txid_len,
						       txid));
		cJSON_AddBoolToObject(j, "counter_warning", e->counter_warning);
		cJSON_AddItemToArray(o->arr, j);
	} else if (!quiet) {
		printf("package %lld queued for %s (counter %u)\n",
		       (long long)e->package_id, eidt, e->counter);
	}
}

static void eim__warn_summary(const struct eim__out *o)
{
	if (o->warnings)
		fprintf(stderr,
			"eim submit: warning: %zu package(s) took a counter "
			"past the warning threshold (highest %u of 8388607): "
			"plan a counter renewal (README, counter renewal)\n",
			o->warnings, o->warned_max);
}

/*
 * Prints the error of a failed enqueue in one line. The store's message
 * already names the device; `where` adds the file position for --file.
 */
static int eim__enqueue_fail(struct eim_store *s, struct eim_signer *g, int e,
			     const char *where)
{
	const char *msg = g->errmsg[0]		 ? g->errmsg
			  : *eim_store_errmsg(s) ? eim_store_errmsg(s)
						 : eim_strerror(e);
	const char *hint =
		e == EIM_EEXHAUSTED ? " (see README, counter renewal)" : "";

	if (where)
		return eim_cli_fail("submit", "%s: %s%s", where, msg, hint);
	return eim_cli_fail("submit", "%s%s", msg, hint);
}

/* ---- reading the sources of operations --------------------------------------
 */

static char *eim__summary_text(const struct eim_ops *ops)
{
	return cJSON_PrintUnformatted(ops->summary);
}

/* Most EIDs one --devices file may hold (16 bytes each in memory). */
#define EIM__DEVICES_MAX 10000000

/*
 * Parses an EID list: one per line, blank lines and '#' comments ignored,
 * '-' = stdin. Read line by line: a fleet of 100,000 EIDs is 3.3 MB, past
 * the 1 MiB that eim_cli_read_file allows for other inputs.
 */
static int eim__read_devices(const char *path, uint8_t (**ret)[16],
			     size_t *ret_n)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *p = NULL;
	size_t pcap = 0, n = 0, cap = 0, line = 0;
	uint8_t(*eids)[16] = NULL;
	int rc = EIM_EXIT_OK;

	if (!f)
		return eim_cli_fail("submit", "%s: %s", path, strerror(errno));
	while (getline(&p, &pcap, f) >= 0) {
		line++;
		char *h = strchr(p, '#');
		if (h)
			*h = '\0';
		char *save = NULL;
		char *tok = strtok_r(p, " \t\r\n,", &save);
		if (!tok)
			continue;
		if (n == cap) {
			if (cap >= EIM__DEVICES_MAX) {
				rc = eim_cli_fail("submit",
						  "%s: more than %d EIDs", path,
						  EIM__DEVICES_MAX);
				goto out;
			}
			cap = cap ? cap * 2 : 1024;
			void *q = eim_realloc(eids, cap * 16);
			if (!q) {
				rc = eim_cli_fail("submit", "out of memory");
				goto out;
			}
			eids = q;
		}
		int e = eim_eid_parse(tok, eids[n]);
		if (e) {
			rc = eim_cli_fail("submit",
					  "%s: line %zu: '%s' is not an EID "
					  "(%s)",
					  path, line, tok,
					  e == EIM_EVERIFY
						  ? "check digits do not match"
						  : "32 decimal digits");
			goto out;
		}
		n++;
	}
	if (ferror(f)) {
		rc = eim_cli_fail("submit", "%s: read error", path);
		goto out;
	}
	if (n == 0) {
		rc = eim_cli_fail("submit", "%s: no EIDs in the file", path);
		goto out;
	}
	*ret = eids;
	*ret_n = n;
	eids = NULL;
out:
	free(p); /* getline's buffer comes from the C library */
	eim_free(eids);
	if (f != stdin)
		fclose(f);
	return rc;
}

static void eim__progress(void *ctx, size_t done, size_t total)
{
	(void)ctx;
	fprintf(stderr, "\rqueued %zu/%zu (%zu%%)", done, total,
		total ? done * 100 / total : 100);
	if (done == total)
		fputc('\n', stderr);
}

/* Signing threads for --devices when --jobs is not given: one per CPU. */
static unsigned eim__default_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > 64 ? 64 : (unsigned)n;
}

/* --devices: the same operations for every EID of a file. */
static int eim__submit_fleet(struct eim_store *s, struct eim_signer *g,
			     struct eim__job *job, const char *devices,
			     const char *eim_id, int64_t valid_until,
			     unsigned jobs, struct eim__out *o)
{
	uint8_t(*eids)[16] = NULL;
	struct eim_store_enqueue_req *reqs = NULL;
	struct eim_store_enqueued *rets = NULL;
	struct eim_signer_pool *pool = NULL;
	char *summary = NULL;
	size_t n = 0, done = 0;
	int rc;

	if ((rc = eim__read_devices(devices, &eids, &n)))
		return rc;
	if ((rc = eim_signer_pool_new(g, jobs, &pool))) {
		rc = eim_cli_fail("submit",
				  "cannot start %u signing threads: %s", jobs,
				  eim_strerror(rc));
		goto out;
	}
	summary = eim__summary_text(&job->ops);
	reqs = eim_calloc(n, sizeof(*reqs));
	rets = eim_calloc(n, sizeof(*rets));
	if (!summary || !reqs || !rets) {
		rc = eim_cli_fail("submit", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(reqs[i].eid, eids[i], 16);
		reqs[i].eim_id = eim_id;
		reqs[i].kind = eim_ops_kind_name(job->ops.kind);
		reqs[i].summary = summary;
		reqs[i].valid_until_ms = valid_until;
		reqs[i].sign_ctx = &job->ops;
	}
	bool tty = isatty(2);
	int e = eim_store_enqueue_bulk(s, reqs, n, EIM__BATCH,
				       eim_signer_sign_many,
				       eim_signer_pool_sign, pool,
				       tty ? eim__progress : NULL, NULL, rets,
				       &done);
	for (size_t i = 0; i < done; i++)
		eim__report(o, eids[i], &rets[i], true);
	if (e) {
		char where[80];
		char eidt[33];
		eim_eid_format(eids[done < n ? done : n - 1], eidt);
		snprintf(where, sizeof(where), "device %s", eidt);
		if (tty)
			fputc('\n', stderr);
		fprintf(stderr,
			"eim submit: %zu of %zu packages were queued before "
			"the error\n",
			done, n);
		rc = eim__enqueue_fail(s, g, e, g->errmsg[0] ? where : NULL);
		goto out;
	}
	if (!o->json)
		printf("queued %zu packages (%s) for %zu devices\n", done,
		       eim_ops_kind_name(job->ops.kind), n);
out:
	eim_signer_pool_free(pool);
	cJSON_free(summary);
	eim_free(reqs);
	eim_free(rets);
	eim_free(eids);
	return rc;
}

static int eim__submit_one(struct eim_store *s, struct eim_signer *g,
			   struct eim__job *job, const uint8_t eid[16],
			   const char *eim_id, int64_t valid_until,
			   struct eim__out *o)
{
	struct eim_store_enqueue_req req = {0};
	struct eim_store_enqueued ret = {0};
	char *summary = eim__summary_text(&job->ops);
	int e;

	if (!summary)
		return eim_cli_fail("submit", "out of memory");
	memcpy(req.eid, eid, 16);
	req.eim_id = eim_id;
	req.kind = eim_ops_kind_name(job->ops.kind);
	req.summary = summary;
	req.valid_until_ms = valid_until;
	req.sign_ctx = &job->ops;
	g->errmsg[0] = '\0';
	e = eim_store_enqueue(s, &req, eim_signer_sign, g, &ret);
	cJSON_free(summary);
	if (e)
		return eim__enqueue_fail(s, g, e, job->where);
	eim__report(o, eid, &ret, false);
	return EIM_EXIT_OK;
}

/* Existence checks only: the rows themselves are not needed. */
static int eim__device_cb(void *ctx, const struct eim_store_device *d)
{
	(void)ctx;
	(void)d;
	return 0;
}

static int eim__assoc_cb(void *ctx, const struct eim_store_assoc *a)
{
	(void)ctx;
	(void)a;
	return 0;
}

/* The device exists and, when eim_id is given, is associated with it. */
static int eim__check_target(struct eim_store *s, const char *where,
			     const uint8_t eid[16], const char *eim_id)
{
	char text[EIM_EID_DIGITS + 1];
	int e;

	eim_eid_format(eid, text);
	e = eim_store_device_list(s, eid, eim__device_cb, NULL);
	if (e == EIM_ENOTFOUND)
		return eim_cli_fail("submit", "%s: device %s: no such device",
				    where, text);
	if (!e && eim_id) {
		e = eim_store_assoc_get(s, eim_id, eid, eim__assoc_cb, NULL);
		if (e == EIM_ENOTFOUND)
			return eim_cli_fail("submit",
					    "%s: device %s has no association "
					    "with eIM '%s'",
					    where, text, eim_id);
	}
	if (e)
		return eim_cli_fail("submit", "%s: %s", where,
				    eim_store_errmsg(s));
	return EIM_EXIT_OK;
}

/*
 * --file: {"packages": [...]} or [...] or one package object, each package
 * {"eid", "eim_id"?, "valid_for"?, "operations": [...]}. Everything is
 * validated before anything is queued.
 */
static int eim__submit_file(struct eim_store *s, struct eim_signer *g,
			    const char *path, const char *eim_id,
			    int64_t valid_until, struct eim__out *o)
{
	static const char *const known[] = {"eid", "eim_id", "valid_for",
					    "operations", NULL};
	struct eim_json_err err = {{0}};
	cJSON *root = NULL;
	const cJSON *pkgs;
	struct eim__job *jobs = NULL;
	uint8_t(*eids)[16] = NULL;
	const char **eim_ids = NULL;
	int64_t *valid = NULL;
	char(*where)[96] = NULL;
	size_t n = 0;
	int rc = EIM_EXIT_OK;

	if (eim_json_parse_file(path, &root, &err))
		return eim_cli_fail("submit", "%s", err.msg);
	pkgs = cJSON_IsObject(root)
		       ? cJSON_GetObjectItemCaseSensitive(root, "packages")
		       : root;
	bool single = cJSON_IsObject(root) && !pkgs;
	if (single)
		pkgs = root;
	n = single ? 1 : (size_t)cJSON_GetArraySize(pkgs);
	if (!single && !cJSON_IsArray(pkgs)) {
		rc = eim_cli_fail("submit",
				  "%s: expected a package object, an array of "
				  "packages or {\"packages\": [...]}",
				  path);
		goto out;
	}
	if (n == 0) {
		rc = eim_cli_fail("submit", "%s: no packages", path);
		goto out;
	}
	jobs = eim_calloc(n, sizeof(*jobs));
	eids = eim_calloc(n, 16);
	eim_ids = eim_calloc(n, sizeof(*eim_ids));
	valid = eim_calloc(n, sizeof(*valid));
	where = eim_calloc(n, sizeof(*where));
	if (!jobs || !eids || !eim_ids || !valid || !where) {
		rc = eim_cli_fail("submit", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const cJSON *p =
			single ? pkgs : cJSON_GetArrayItem(pkgs, (int)i);
		const char *eid = NULL, *vf = NULL;
		if (single)
			snprintf(where[i], sizeof(where[i]), "%s", path);
		else
			snprintf(where[i], sizeof(where[i]),
				 "%s: packages[%zu]", path, i);
		if (eim_ops_init(&jobs[i].ops)) {
			rc = eim_cli_fail("submit", "out of memory");
			goto out;
		}
		jobs[i].ops.identity_fn = eim_signer_identity_pub;
		jobs[i].ops.identity_ctx = s;
		jobs[i].where = where[i];
		if (eim_json_check_keys(p, where[i], known, &err) ||
		    eim_json_get_string(p, where[i], "eid", &eid, &err) ||
		    eim_json_get_string(p, where[i], "eim_id", &eim_ids[i],
					&err) ||
		    eim_json_get_string(p, where[i], "valid_for", &vf, &err)) {
			rc = eim_cli_fail("submit", "%s", err.msg);
			goto out;
		}
		if (!eid) {
			rc = eim_cli_fail("submit", "%s.eid: is required",
					  where[i]);
			goto out;
		}
		int e = eim_eid_parse(eid, eids[i]);
		if (e) {
			rc = eim_cli_fail("submit",
					  "%s.eid: '%s' is not an EID (%s)",
					  where[i], eid,
					  e == EIM_EVERIFY
						  ? "check digits do not match"
						  : "32 decimal digits");
			goto out;
		}
		if (!eim_ids[i])
			eim_ids[i] = eim_id;
		valid[i] = valid_until;
		if (vf) {
			int64_t secs;
			if (eim__parse_validity(vf, &secs)) {
				rc = eim_cli_fail("submit",
						  "%s.valid_for: '%s' is not a "
						  "duration (e.g. 3600, 30m, "
						  "12h, 7d, none)",
						  where[i], vf);
				goto out;
			}
			valid[i] = secs ? eim__now_ms() + secs * 1000 : 0;
		}
		const cJSON *ops =
			cJSON_GetObjectItemCaseSensitive(p, "operations");
		if (!cJSON_IsArray(ops) || cJSON_GetArraySize(ops) == 0) {
			rc = eim_cli_fail("submit",
					  "%s.operations: must be a non-empty "
					  "array",
					  where[i]);
			goto out;
		}
		int k = 0;
		for (const cJSON *op = ops->child; op; op = op->next, k++) {
			char w[128];
			snprintf(w, sizeof(w), "%s.operations[%d]", where[i],
				 k);
			if (eim_ops_add_json(&jobs[i].ops, op, w, &err)) {
				rc = eim_cli_fail("submit", "%s", err.msg);
				goto out;
			}
		}
	}
	/* Every device must exist and be associated with the signing eIM
	 * before the first package is queued: a file naming another fleet's
	 * or a mistyped EID leaves the queue as it was. */
	for (size_t i = 0; i < n; i++)
		if ((rc = eim__check_target(s, where[i], eids[i], eim_ids[i])))
			goto out;
	for (size_t i = 0; i < n; i++)
		if ((rc = eim__submit_one(s, g, &jobs[i], eids[i], eim_ids[i],
					  valid[i], o)))
			goto out;
out:
	for (size_t i = 0; jobs && i < n; i++)
		eim_ops_done(&jobs[i].ops); /* zeroed entries are fine */
	eim_free(jobs);
	eim_free(eids);
	eim_free(eim_ids);
	eim_free(valid);
	eim_free(where);
	cJSON_Delete(root);
	return rc;
}

/* ---- the command
 * ---------------------------------------------------------------- */

/* Global options of submit; everything else is the EID and operations. */
static const char *const eim__global[] = {"--db",   "--eim",	 "--valid-for",
					  "--file", "--devices", "--jobs",
					  NULL};

static int eim__take_global(int argc, char **argv, int *i, const char **vals,
			    bool *json)
{
	const char *w = argv[*i];

	if (strcmp(w, "--json") == 0) {
		*json = true;
		return 1;
	}
	for (int k = 0; eim__global[k]; k++) {
		size_t l = strlen(eim__global[k]);
		if (strncmp(w, eim__global[k], l) != 0)
			continue;
		if (w[l] == '=') {
			vals[k] = w + l + 1;
			return 1;
		}
		if (w[l] != '\0')
			continue;
		if (*i + 1 >= argc) {
			eim_cli_usage_error("submit",
					    "option '%s' needs a value", w);
			return -1;
		}
		vals[k] = argv[++*i];
		return 1;
	}
	return 0;
}

int eim_cmd_submit(int argc, char **argv)
{
	const char *vals[7] = {NULL};
	char **words = NULL;
	int nwords = 0, rc;
	bool json = false;
	struct eim_store *s = NULL;
	struct eim_signer g = {0};
	struct eim__out o = {0};
	struct eim__job job;
	bool job_init = false;
	int64_t valid_s = EIM__DEFAULT_VALIDITY_S, valid_until = 0;

	words = eim_calloc((size_t)argc, sizeof(*words));
	if (!words)
		return eim_cli_fail("submit", "out of memory");
	for (int i = 1; i < argc; i++) {
		int t = eim__take_global(argc, argv, &i, vals, &json);
		if (t < 0) {
			rc = EIM_EXIT_USAGE;
			goto out;
		}
		if (t == 0)
			words[nwords++] = argv[i];
	}
	const char *db = vals[0], *eim_id = vals[1], *vf = vals[2],
		   *file = vals[3], *devices = vals[4], *jobs_s = vals[5];
	unsigned jobs = eim__default_jobs();
	if (jobs_s) {
		char *end = NULL;
		long v = strtol(jobs_s, &end, 10);
		if (!devices) {
			rc = eim_cli_usage_error("submit",
						 "--jobs applies to --devices "
						 "only");
			goto out;
		}
		if (end == jobs_s || *end || v < 1 || v > EIM_SIGNER_JOBS_MAX) {
			rc = eim_cli_usage_error("submit",
						 "--jobs '%s' is not a number "
						 "of threads in 1..%d",
						 jobs_s, EIM_SIGNER_JOBS_MAX);
			goto out;
		}
		jobs = (unsigned)v;
	}
	if (vf) {
		int e = eim__parse_validity(vf, &valid_s);
		if (e) {
			rc = eim_cli_usage_error(
				"submit",
				"--valid-for '%s' is not a duration (e.g. "
				"3600, 30m, 12h, 7d, none)",
				vf);
			goto out;
		}
	}
	valid_until = valid_s ? eim__now_ms() + valid_s * 1000 : 0;
	if (file && (devices || nwords)) {
		rc = eim_cli_usage_error("submit",
					 "--file takes the EIDs and operations "
					 "from the file: give no others");
		goto out;
	}
	if (!file && nwords < (devices ? 1 : 2)) {
		rc = eim_cli_usage_error(
			"submit", devices ? "missing operation"
					  : "give an EID and an operation, "
					    "--devices FILE and an operation, "
					    "or --file FILE");
		goto out;
	}
	uint8_t eid[16];
	if (!file && !devices &&
	    (rc = eim_cli_parse_eid("submit", words[0], eid)))
		goto out;
	if ((rc = eim_cli_open_store("submit", eim_cli_db_path(db), false, &s)))
		goto out;
	eim_signer_init(&g, s);
	o.json = json;
	o.arr = json ? cJSON_CreateArray() : NULL;
	if (file) {
		rc = eim__submit_file(s, &g, file, eim_id, valid_until, &o);
	} else {
		struct eim_json_err err = {{0}};
		cJSON *arr = cJSON_CreateArray();
		int first = devices ? 0 : 1;
		if (eim_ops_init(&job.ops) || !arr) {
			cJSON_Delete(arr);
			rc = eim_cli_fail("submit", "out of memory");
			goto out;
		}
		job_init = true;
		job.ops.identity_fn = eim_signer_identity_pub;
		job.ops.identity_ctx = s;
		job.where = NULL; /* the store's messages name the device */
		int e = eim_ops_args_to_json(nwords - first, words + first, arr,
					     &err);
		for (int i = 0; !e && i < cJSON_GetArraySize(arr); i++) {
			char w[32];
			snprintf(w, sizeof(w), "operation %d", i + 1);
			e = eim_ops_add_json(&job.ops,
					     cJSON_GetArrayItem(arr, i), w,
					     &err);
		}
		cJSON_Delete(arr);
		if (e) {
			rc = e == EIM_EINVAL
				     ? eim_cli_usage_error("submit", "%s",
							   err.msg)
				     : eim_cli_fail("submit", "%s", err.msg);
			goto out;
		}
		if (devices)
			rc = eim__submit_fleet(s, &g, &job, devices, eim_id,
					       valid_until, jobs, &o);
		else
			rc = eim__submit_one(s, &g, &job, eid, eim_id,
					     valid_until, &o);
	}
	if (json && o.n) {
		eim_cli_print_json("submit", o.arr);
		o.arr = NULL;
	}
	eim__warn_summary(&o);
out:
	cJSON_Delete(o.arr);
	if (job_init)
		eim_ops_done(&job.ops);
	eim_signer_done(&g);
	eim_store_close(s);
	eim_free(words);
	return rc;
}

void eim_cmd_submit_help(FILE *out)
{
	(void)out;
	printf("\n");
	eim_ops_print_help();
}
