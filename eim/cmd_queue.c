/*
 * cmd_queue.c - what operators read and undo: `eim queue`, `eim results`,
 * `eim show`, `eim cancel`, `eim audit`.
 *
 * JSON field names are a stable contract (documented in each --help):
 *   package: id, eid, eim_id, counter, transaction_id, kind, summary, state,
 *            created, sent, finished, valid_until, attempts, bytes (show)
 *   result:  id, package_id, eid, verified, seq_number, summary, codes,
 *            received, bytes (show)
 *   audit:   id, at, actor, action, eid, package_id, detail
 * Times are ISO 8601 UTC strings or null. --since/--until apply to the time
 * a package was created, a result received, an audit entry written.
 */
#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "eim/cli_util.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

struct eim__list {
	const char *cmd;
	bool json;
	bool bytes; /* include the raw bytes (show) */
	cJSON *arr;
	size_t n;
};

static int eim__open(const char *cmd, const char *db, struct eim_store **s)
{
	return eim_cli_open_store(cmd, eim_cli_db_path(db), false, s);
}

/* Parses "2026-11-22", "2026-11-22T10:00:00Z" or a Unix time in seconds. */
static int eim__parse_time(const char *cmd, const char *what, const char *t,
			   int64_t *ret_ms)
{
	struct tm tm;
	const char *end;
	int64_t secs;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(t, "%Y-%m-%dT%H:%M:%SZ", &tm)) && !*end)
		goto ok;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(t, "%Y-%m-%d", &tm)) && !*end)
		goto ok;
	if (eim_cli_parse_int(cmd, what, t, 0, 1LL << 40, &secs) == 0) {
		*ret_ms = secs * 1000;
		return EIM_EXIT_OK;
	}
	return EIM_EXIT_USAGE;
ok:
	*ret_ms = (int64_t)timegm(&tm) * 1000;
	return EIM_EXIT_OK;
}

static int eim__pkg_cb(void *ctx, const struct eim_store_package *p)
{
	struct eim__list *l = ctx;
	char eid[33], t[32];

	l->n++;
	if (l->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", (double)p->id);
		eim_cli_json_eid(o, "eid", p->eid);
		cJSON_AddStringToObject(o, "eim_id", p->eim_id);
		cJSON_AddNumberToObject(o, "counter", p->counter);
		eim_cli_json_hex(o, "transaction_id", p->txid, p->txid_len);
		cJSON_AddStringToObject(o, "kind", p->kind ? p->kind : "");
		cJSON *sum = p->summary ? cJSON_Parse(p->summary) : NULL;
		if (!sum)
			sum = cJSON_CreateString(p->summary ? p->summary : "");
		cJSON_AddItemToObject(o, "summary", sum);
		cJSON_AddStringToObject(o, "state",
					eim_store_state_name((int)p->state));
		eim_cli_json_time(o, "created", p->created_ms);
		eim_cli_json_time(o, "sent", p->sent_ms);
		eim_cli_json_time(o, "finished", p->finished_ms);
		eim_cli_json_time(o, "valid_until", p->valid_until_ms);
		cJSON_AddNumberToObject(o, "attempts", p->attempts);
		if (l->bytes)
			eim_cli_json_hex(o, "bytes", p->bytes, p->bytes_len);
		cJSON_AddItemToArray(l->arr, o);
		return 0;
	}
	eim_store_eid_format(p->eid, eid);
	if (l->bytes) {
		printf("package:      %lld\n", (long long)p->id);
		printf("EID:          %s\n", eid);
		printf("eIM:          %s\n", p->eim_id);
		printf("counter:      %u\n", p->counter);
		printf("state:        %s (%u delivery attempt%s)\n",
		       eim_store_state_name((int)p->state), p->attempts,
		       p->attempts == 1 ? "" : "s");
		printf("kind:         %s\n", p->kind ? p->kind : "");
		printf("operations:   %s\n", p->summary ? p->summary : "");
		printf("created:      %s\n", eim_cli_time(p->created_ms, t));
		if (p->sent_ms)
			printf("sent:         %s\n",
			       eim_cli_time(p->sent_ms, t));
		if (p->finished_ms)
			printf("finished:     %s\n",
			       eim_cli_time(p->finished_ms, t));
		if (p->valid_until_ms)
			printf("valid until:  %s\n",
			       eim_cli_time(p->valid_until_ms, t));
		printf("signed bytes: %zu\n", p->bytes_len);
		return 0;
	}
	printf("%-8lld %s %-9s counter %-7u %-6s %s\n", (long long)p->id, eid,
	       eim_store_state_name((int)p->state), p->counter,
	       p->kind ? p->kind : "", p->summary ? p->summary : "");
	return 0;
}

static int eim__res_cb(void *ctx, const struct eim_store_result *r)
{
	struct eim__list *l = ctx;
	char eid[33], t[32];

	l->n++;
	if (l->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", (double)r->id);
		if (r->package_id)
			cJSON_AddNumberToObject(o, "package_id",
						(double)r->package_id);
		else
			cJSON_AddNullToObject(o, "package_id");
		eim_cli_json_eid(o, "eid", r->eid);
		cJSON_AddBoolToObject(o, "verified", r->verified);
		if (r->seq_number >= 0)
			cJSON_AddNumberToObject(o, "seq_number",
						(double)r->seq_number);
		else
			cJSON_AddNullToObject(o, "seq_number");
		cJSON *sum = r->summary ? cJSON_Parse(r->summary) : NULL;
		if (!sum)
			sum = cJSON_CreateString(r->summary ? r->summary : "");
		cJSON_AddItemToObject(o, "summary", sum);
		cJSON *codes = r->codes ? cJSON_Parse(r->codes) : NULL;
		cJSON_AddItemToObject(o, "codes",
				      codes ? codes : cJSON_CreateNull());
		eim_cli_json_time(o, "received", r->received_ms);
		if (l->bytes)
			eim_cli_json_hex(o, "bytes", r->bytes, r->len);
		cJSON_AddItemToArray(l->arr, o);
		return 0;
	}
	eim_store_eid_format(r->eid, eid);
	printf("%-8lld %s package %-8lld %-10s %s %s\n", (long long)r->id, eid,
	       (long long)r->package_id,
	       r->verified ? "verified" : "UNVERIFIED",
	       eim_cli_time(r->received_ms, t), r->summary ? r->summary : "");
	return 0;
}

static int eim__audit_cb(void *ctx, const struct eim_store_audit *a)
{
	struct eim__list *l = ctx;
	char eid[33], t[32];

	l->n++;
	if (l->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", (double)a->id);
		eim_cli_json_time(o, "at", a->at_ms);
		cJSON_AddStringToObject(o, "actor", a->actor ? a->actor : "");
		cJSON_AddStringToObject(o, "action", a->action);
		if (a->has_eid)
			eim_cli_json_eid(o, "eid", a->eid);
		else
			cJSON_AddNullToObject(o, "eid");
		if (a->package_id)
			cJSON_AddNumberToObject(o, "package_id",
						(double)a->package_id);
		else
			cJSON_AddNullToObject(o, "package_id");
		cJSON_AddStringToObject(o, "detail",
					a->detail ? a->detail : "");
		cJSON_AddItemToArray(l->arr, o);
		return 0;
	}
	if (a->has_eid)
		eim_store_eid_format(a->eid, eid);
	printf("%s %-6s %-12s %s", eim_cli_time(a->at_ms, t),
	       a->actor ? a->actor : "", a->action, a->has_eid ? eid : "-");
	if (a->package_id)
		printf(" package %lld", (long long)a->package_id);
	printf("%s%s\n", a->detail && *a->detail ? " " : "",
	       a->detail ? a->detail : "");
	return 0;
}

/* Common options of the listings: [EID] --state --since --until --limit. */
enum eim__what {
	EIM__QUEUE,
	EIM__RESULTS,
	EIM__AUDIT
};

static int eim__listing(const char *cmd, enum eim__what what, int argc,
			char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"state", required_argument, NULL, 's'},
		{"since", required_argument, NULL, 'f'},
		{"until", required_argument, NULL, 'u'},
		{"limit", required_argument, NULL, 'l'},
		{NULL, 0, NULL, 0},
	};
	struct eim__list l = {cmd, false, false, NULL, 0};
	struct eim_store_filter f;
	struct eim_store *s = NULL;
	const char *db = NULL;
	uint8_t eid[16];
	int64_t v;
	int c, rc;

	eim_store_filter_init(&f);
	while ((c = eim_cli_getopt(cmd, argc, argv, "", opts)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'j':
			l.json = true;
			break;
		case 's': {
			enum eim_store_state st;
			if (what != EIM__QUEUE)
				return eim_cli_usage_error(
					cmd, "--state applies to 'eim queue'");
			if (eim_store_state_parse(optarg, &st))
				return eim_cli_usage_error(
					cmd,
					"--state '%s' is not one of queued, "
					"sent, done, expired, cancelled",
					optarg);
			f.state = (int)st;
			break;
		}
		case 'f':
			if ((rc = eim__parse_time(cmd, "--since", optarg,
						  &f.from_ms)))
				return rc;
			break;
		case 'u':
			if ((rc = eim__parse_time(cmd, "--until", optarg,
						  &f.to_ms)))
				return rc;
			break;
		case 'l':
			if ((rc = eim_cli_parse_int(cmd, "--limit", optarg, 1,
						    1000000000, &v)))
				return rc;
			f.limit = (size_t)v;
			break;
		default:
			return EIM_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		if ((rc = eim_cli_parse_eid(cmd, argv[optind], eid)))
			return rc;
		f.eid = eid;
		if (++optind < argc)
			return eim_cli_usage_error(cmd,
						   "unexpected argument '%s'",
						   argv[optind]);
	}
	if ((rc = eim__open(cmd, db, &s)))
		return rc;
	l.arr = l.json ? cJSON_CreateArray() : NULL;
	int e;
	if (what == EIM__QUEUE)
		e = eim_store_package_list(s, &f, eim__pkg_cb, &l);
	else if (what == EIM__AUDIT)
		e = eim_store_audit_list(s, &f, eim__audit_cb, &l);
	else
		e = eim_store_result_query(s, &f, eim__res_cb, &l);
	if (e == EIM_ENOTFOUND && f.eid)
		rc = eim_cli_fail(cmd, "no device %s", argv[optind - 1]);
	else if (e)
		rc = eim_cli_fail(cmd, "%s", eim_store_errmsg(s));
	else if (l.json) {
		rc = eim_cli_print_json(cmd, l.arr);
		l.arr = NULL;
	}
	cJSON_Delete(l.arr);
	eim_store_close(s);
	return rc;
}

int eim_cmd_queue(int argc, char **argv)
{
	return eim__listing("queue", EIM__QUEUE, argc, argv);
}

int eim_cmd_results(int argc, char **argv)
{
	return eim__listing("results", EIM__RESULTS, argc, argv);
}

int eim_cmd_audit(int argc, char **argv)
{
	return eim__listing("audit", EIM__AUDIT, argc, argv);
}

/* `eim show ID` and `eim cancel ID` take one package id. */
static int eim__one_package(const char *cmd, int argc, char **argv, bool *json,
			    const char **db, int64_t *id)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = eim_cli_getopt(cmd, argc, argv, "", opts)) != -1) {
		switch (c) {
		case 'd':
			*db = optarg;
			break;
		case 'j':
			*json = true;
			break;
		default:
			return EIM_EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return eim_cli_usage_error(cmd, "give exactly one package id");
	return eim_cli_parse_int(cmd, "package id", argv[optind], 1, INT64_MAX,
				 id);
}

int eim_cmd_show(int argc, char **argv)
{
	struct eim__list l = {"show", false, true, NULL, 0};
	struct eim__list r = {"show", false, true, NULL, 0};
	struct eim_store *s = NULL;
	const char *db = NULL;
	int64_t id;
	int rc;

	if ((rc = eim__one_package("show", argc, argv, &l.json, &db, &id)))
		return rc;
	r.json = l.json;
	if ((rc = eim__open("show", db, &s)))
		return rc;
	l.arr = l.json ? cJSON_CreateArray() : NULL;
	r.arr = l.json ? cJSON_CreateArray() : NULL;
	int e = eim_store_package_get(s, id, eim__pkg_cb, &l);
	if (e == EIM_ENOTFOUND) {
		rc = eim_cli_fail("show", "no package %lld", (long long)id);
		goto out;
	}
	if (!e && !l.json)
		printf("results:\n");
	if (!e)
		e = eim_store_result_list(s, NULL, id, eim__res_cb, &r);
	if (e) {
		rc = eim_cli_fail("show", "%s", eim_store_errmsg(s));
		goto out;
	}
	if (!l.json) {
		if (r.n == 0)
			printf("  (none yet)\n");
		goto out;
	}
	cJSON *pkg = cJSON_DetachItemFromArray(l.arr, 0);
	cJSON_AddItemToObject(pkg, "results", r.arr);
	r.arr = NULL;
	rc = eim_cli_print_json("show", pkg);
out:
	cJSON_Delete(l.arr);
	cJSON_Delete(r.arr);
	eim_store_close(s);
	return rc;
}

int eim_cmd_cancel(int argc, char **argv)
{
	struct eim_store *s = NULL;
	const char *db = NULL;
	bool json = false;
	int64_t id;
	int rc;

	if ((rc = eim__one_package("cancel", argc, argv, &json, &db, &id)))
		return rc;
	if ((rc = eim__open("cancel", db, &s)))
		return rc;
	int e = eim_store_cancel(s, id);
	if (e == EIM_ENOTFOUND)
		rc = eim_cli_fail("cancel", "no package %lld", (long long)id);
	else if (e == EIM_ESTATE)
		rc = eim_cli_fail("cancel",
				  "package %lld was already sent or finished: "
				  "only queued packages can be cancelled",
				  (long long)id);
	else if (e)
		rc = eim_cli_fail("cancel", "%s", eim_store_errmsg(s));
	else if (json)
		printf("{\"id\":%lld,\"state\":\"cancelled\"}\n",
		       (long long)id);
	else
		printf("package %lld cancelled\n", (long long)id);
	eim_store_close(s);
	return rc;
}
