/*
 * cmd_renew.c - `eim renew`: renew an eIM's association with a device
 * before (or after) its counterValue runs out at 8,388,607.
 *
 * A second eIM identity B that the eUICC already trusts (added earlier with
 * `eim submit EID add-eim --identity B`) queues ONE eCO package, signed by
 * B: deleteEim(A) then addEim(A) with counterValue 0 and a request for a
 * new associationToken. When its result arrives verified, eim serve stores
 * A's new token and resets A's counter for that device. The reset is safe
 * only because the token changes: every package A signed before covered the
 * old token, so none of them verifies any more and none can be replayed.
 * If the eUICC returns no new token, the counter is NOT reset (audited).
 *
 * Refused while A still has undelivered packages for the device: they were
 * signed under the old association and would be rejected after it.
 */
#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "eim/cli_util.h"
#include "eim/eim_ops.h"
#include "eim/eim_signer.h"

#include <stdio.h>
#include <string.h>

struct eim__pending {
	const char *eim_id;
	int n;
};

static int eim__pending_cb(void *ctx, const struct eim_store_package *p)
{
	struct eim__pending *x = ctx;
	if ((p->state == EIM_STORE_QUEUED || p->state == EIM_STORE_SENT) &&
	    strcmp(p->eim_id, x->eim_id) == 0)
		x->n++;
	return 0;
}

static int eim__assoc_exists_cb(void *ctx, const struct eim_store_assoc *a)
{
	(void)a;
	*(bool *)ctx = true;
	return 0;
}

int eim_cmd_renew(int argc, char **argv)
{
	static const char *cmd = "renew";
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"eim", required_argument, NULL, 'e'},
		{"via", required_argument, NULL, 'v'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *a_id = NULL, *b_id = NULL;
	struct eim_store *s = NULL;
	struct eim_signer g;
	struct eim_ops ops;
	struct eim_json_err err = {{0}};
	bool json = false, ops_init = false;
	uint8_t eid[16];
	int c, rc;
	cJSON *arr = NULL;

	eim_signer_init(&g, NULL);
	while ((c = eim_cli_getopt(cmd, argc, argv, "", opts)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'e':
			a_id = optarg;
			break;
		case 'v':
			b_id = optarg;
			break;
		case 'j':
			json = true;
			break;
		default:
			return EIM_EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return eim_cli_usage_error(cmd, "give exactly one EID");
	if ((rc = eim_cli_parse_eid(cmd, argv[optind], eid)))
		return rc;
	if (!a_id || !b_id)
		return eim_cli_usage_error(cmd,
					   "--eim ID (the identity to renew) "
					   "and --via ID (another identity the "
					   "eUICC trusts) are required");
	if (strcmp(a_id, b_id) == 0)
		return eim_cli_usage_error(cmd,
					   "--via must name another identity "
					   "than --eim");
	if ((rc = eim_cli_open_store(cmd, eim_cli_db_path(db), false, &s)))
		return rc;
	eim_signer_init(&g, s);

	bool a_assoc = false, b_assoc = false;
	eim_store_assoc_get(s, a_id, eid, eim__assoc_exists_cb, &a_assoc);
	eim_store_assoc_get(s, b_id, eid, eim__assoc_exists_cb, &b_assoc);
	if (!a_assoc) {
		rc = eim_cli_fail(cmd, "eIM '%s' is not associated with %s",
				  a_id, argv[optind]);
		goto out;
	}
	if (!b_assoc) {
		rc = eim_cli_fail(cmd,
				  "eIM '%s' is not associated with %s: add it "
				  "first with 'eim submit %s add-eim "
				  "--identity %s' (signed by '%s')",
				  b_id, argv[optind], argv[optind], b_id, a_id);
		goto out;
	}
	struct eim__pending pend = {a_id, 0};
	struct eim_store_filter f;
	eim_store_filter_init(&f);
	f.eid = eid;
	eim_store_package_list(s, &f, eim__pending_cb, &pend);
	if (pend.n) {
		rc = eim_cli_fail(
			cmd,
			"eIM '%s' still has %d undelivered package(s) "
			"for %s, signed under the old association: "
			"cancel them or wait for their results",
			a_id, pend.n, argv[optind]);
		goto out;
	}

	arr = cJSON_CreateArray();
	cJSON *del = cJSON_CreateObject(), *add = cJSON_CreateObject();
	cJSON_AddItemToArray(arr, del);
	cJSON_AddItemToArray(arr, add);
	cJSON_AddStringToObject(del, "op", "delete-eim");
	cJSON_AddStringToObject(del, "eim_id", a_id);
	cJSON_AddStringToObject(add, "op", "add-eim");
	cJSON_AddStringToObject(add, "identity", a_id);
	cJSON_AddNumberToObject(add, "counter", 0);
	cJSON_AddStringToObject(add, "association_token", "request");
	if (eim_ops_init(&ops)) {
		rc = eim_cli_fail(cmd, "out of memory");
		goto out;
	}
	ops_init = true;
	ops.identity_fn = eim_signer_identity_pub;
	ops.identity_ctx = s;
	for (int i = 0; i < 2; i++) {
		if (eim_ops_add_json(&ops, cJSON_GetArrayItem(arr, i), "renew",
				     &err)) {
			rc = eim_cli_fail(cmd, "%s", err.msg);
			goto out;
		}
	}
	char *summary = cJSON_PrintUnformatted(ops.summary);
	struct eim_store_enqueue_req req = {0};
	struct eim_store_enqueued done = {0};
	memcpy(req.eid, eid, 16);
	req.eim_id = b_id;
	req.kind = "eco";
	req.summary = summary;
	req.sign_ctx = &ops;
	int e = summary ? eim_store_enqueue(s, &req, eim_signer_sign, &g, &done)
			: EIM_ENOMEM;
	cJSON_free(summary);
	if (e) {
		rc = eim_cli_fail(cmd, "%s",
				  g.errmsg[0] ? g.errmsg : eim_store_errmsg(s));
		goto out;
	}
	eim_store_audit_add(s, "renew", eid, a_id);
	if (json)
		printf("{\"id\":%lld,\"counter\":%u,\"signed_by\":\"%s\"}\n",
		       (long long)done.package_id, done.counter, b_id);
	else
		printf("package %lld queued: '%s' (counter %u) deletes and "
		       "re-adds '%s' with counter 0 and a new association "
		       "token; '%s' is renewed when its result arrives\n",
		       (long long)done.package_id, b_id, done.counter, a_id,
		       a_id);
	rc = EIM_EXIT_OK;
out:
	if (ops_init)
		eim_ops_done(&ops);
	cJSON_Delete(arr);
	eim_signer_done(&g);
	eim_store_close(s);
	return rc;
}
