/*
 * eim_service_result.c - ProvideEimPackageResult and HandleNotification:
 * match a result to the package in flight, verify the eUICC's signature,
 * record it once, learn from it (profile and eIM lists, association token,
 * eUICC certificates) and acknowledge what was consumed.
 */
#include "eim/eim_service_int.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "common/eim_log.h"
#include "proto/eim_cert.h"
#include "proto/eim_epr.h"
#include "proto/eim_ids.h"
#include "proto/eim_ipadata.h"
#include "proto/eim_pkg.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define EIM__MAX_ACKS 64

/* The package in flight for the device, copied out of the store's views. */
struct eim__inflight {
	bool found;
	int64_t id;
	char eim_id[130];
	uint32_t counter;
	uint8_t txid[16];
	size_t txid_len;
	char kind[16];
	uint8_t *bytes; /* owned */
	size_t bytes_len;
};

static int eim__inflight_cb(void *ctx, const struct eim_store_package *p)
{
	struct eim__inflight *f = ctx;

	if (f->found)
		return 0;
	f->found = true;
	f->id = p->id;
	snprintf(f->eim_id, sizeof(f->eim_id), "%s", p->eim_id);
	f->counter = p->counter;
	f->txid_len = p->txid_len <= 16 ? p->txid_len : 16;
	memcpy(f->txid, p->txid, f->txid_len);
	snprintf(f->kind, sizeof(f->kind), "%s", p->kind ? p->kind : "");
	f->bytes = eim_memdup(p->bytes, p->bytes_len);
	f->bytes_len = f->bytes ? p->bytes_len : 0;
	return 0;
}

static int eim__find_inflight(struct eim_service *svc, const uint8_t eid[16],
			      struct eim__inflight *f)
{
	struct eim_store_filter flt;

	memset(f, 0, sizeof(*f));
	eim_store_filter_init(&flt);
	flt.eid = eid;
	flt.state = EIM_STORE_SENT;
	return eim_store_package_list(svc->store, &flt, eim__inflight_cb, f);
}

/*
 * A result for an EID the store does not know. Only plain CoAP gets this
 * far (an authenticated identity is bound to existing EIDs): the caller's
 * mistake, answered 4.00, not a server error.
 */
static int eim__unknown_eid(struct eim_buf *resp, uint8_t *code,
			    struct eim__svc_log *log)
{
	return eim__svc_bad_request(resp, code, log, "unknown EID");
}

/* The association's token and the eUICC's public key, when known. */
struct eim__assoc {
	bool has_token;
	int64_t token;
	uint8_t *chain; /* owned: eUICC certificate DER, then EUM DER */
	size_t chain_len;
};

static int eim__assoc_cb(void *ctx, const struct eim_store_assoc *a)
{
	struct eim__assoc *x = ctx;

	x->has_token = a->has_token;
	x->token = a->token;
	if (a->euicc_chain && a->euicc_chain_len) {
		x->chain = eim_memdup(a->euicc_chain, a->euicc_chain_len);
		x->chain_len = x->chain ? a->euicc_chain_len : 0;
	}
	return 0;
}

static int eim__managing_cb(void *ctx, const struct eim_store_device *d)
{
	snprintf(ctx, 130, "%s", d->eim_id ? d->eim_id : "");
	return 0;
}

/* Splits a concatenation of DER certificates into its first two. */
static void eim__split_chain(const uint8_t *p, size_t n, struct eim_slice *a,
			     struct eim_slice *b)
{
	struct eim_der_cur c;
	struct eim_der_tlv t;

	a->p = b->p = NULL;
	a->len = b->len = 0;
	eim_der_cur_init(&c, p, n, NULL);
	if (eim_der_read(&c, &t) == 0) {
		a->p = t.raw;
		a->len = t.raw_len;
	}
	if (eim_der_read(&c, &t) == 0) {
		b->p = t.raw;
		b->len = t.raw_len;
	}
}

/*
 * The eUICC key to verify with: the chain checked against the CI roots when
 * both an EUM certificate and roots are configured, else the eUICC
 * certificate's key as stored. NULL when unknown or invalid (*why says).
 */
static struct eim_sig_key *eim__euicc_key(struct eim_service *svc,
					  const struct eim__assoc *a,
					  const char **why)
{
	struct eim_slice euicc, eum;
	struct eim_sig_key *k = NULL;

	*why = "no eUICC certificate known for this device";
	if (!a->chain)
		return NULL;
	eim__split_chain(a->chain, a->chain_len, &euicc, &eum);
	if (!euicc.p)
		return NULL;
	if (svc->cfg.ci && eum.p) {
		struct eim_cert_diag d = {0, 0, NULL};
		int rc = eim_cert_verify_euicc(svc->cfg.ci, eum.p, eum.len,
					       euicc.p, euicc.len, &d, &k);
		if (rc) {
			*why = d.what ? d.what : eim_strerror(rc);
			return NULL;
		}
		return k;
	}
	if (eim_sig_key_load(euicc.p, euicc.len, &k)) {
		*why = "the stored eUICC certificate is unreadable";
		return NULL;
	}
	return k;
}

/* ---- summaries -------------------------------------------------------------
 */

static void eim__json_hex(cJSON *o, const char *name, struct eim_slice s)
{
	char h[2 * 64 + 1];
	size_t n = s.len < 64 ? s.len : 64;
	cJSON_AddStringToObject(o, name, eim_hex_encode(s.p, n, h));
}

static cJSON *eim__profiles_json(struct eim_slice data)
{
	/* BF2D { A0 { E3 ... } } or BF2D { 81 error } */
	struct eim_der_cur c, in, list;
	struct eim_der_tlv t, a0, e3;
	cJSON *arr = cJSON_CreateArray();

	eim_der_cur_init(&c, data.p, data.len, NULL);
	if (eim_der_read(&c, &t) || eim_der_enter(&c, &t, &in) ||
	    eim_der_expect(&in, 0xA0, &a0) || eim_der_enter(&in, &a0, &list)) {
		cJSON_Delete(arr);
		return NULL;
	}
	while (!eim_der_at_end(&list) && eim_der_read(&list, &e3) == 0) {
		struct eim_profile_info pi;
		if (eim_profile_info_decode(&list, &e3, &pi))
			continue;
		cJSON *o = cJSON_CreateObject();
		char iccid[21];
		if (pi.has_iccid) {
			eim_iccid_format(pi.iccid, iccid);
			cJSON_AddStringToObject(o, "iccid", iccid);
		}
		if (pi.state >= 0)
			cJSON_AddStringToObject(o, "state",
						pi.state ? "enabled"
							 : "disabled");
		if (pi.name.p) {
			char nm[65];
			size_t n = pi.name.len < 64 ? pi.name.len : 64;
			memcpy(nm, pi.name.p, n);
			nm[n] = 0;
			cJSON_AddStringToObject(o, "name", nm);
		}
		if (pi.profile_class >= 0)
			cJSON_AddNumberToObject(o, "class",
						(double)pi.profile_class);
		cJSON_AddBoolToObject(o, "fallback", pi.fallback);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *eim__eims_json(struct eim_slice data)
{
	/* AB { A0 { 30 { 80 eimId [82 type] } ... } } */
	struct eim_der_cur c, in, list, e;
	struct eim_der_tlv t, a0, seq, f;
	cJSON *arr = cJSON_CreateArray();

	eim_der_cur_init(&c, data.p, data.len, NULL);
	if (eim_der_read(&c, &t) || eim_der_enter(&c, &t, &in) ||
	    eim_der_expect(&in, 0xA0, &a0) || eim_der_enter(&in, &a0, &list)) {
		cJSON_Delete(arr);
		return NULL;
	}
	while (!eim_der_at_end(&list) && eim_der_read(&list, &seq) == 0) {
		if (eim_der_enter(&list, &seq, &e))
			continue;
		cJSON *o = cJSON_CreateObject();
		while (!eim_der_at_end(&e) && eim_der_read(&e, &f) == 0) {
			if (f.tag == 0x80) {
				char id[129];
				size_t n = f.len < 128 ? f.len : 128;
				memcpy(id, f.val, n);
				id[n] = 0;
				cJSON_AddStringToObject(o, "eim_id", id);
			}
		}
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

/*
 * Learns from a verified signed result: the profile list, the eIM list,
 * and the associationToken an addEim of one of our identities produced.
 */
static void eim__learn(struct eim_service *svc, const uint8_t eid[16],
		       const struct eim_epr *e, const struct eim__inflight *f)
{
	struct eim_pkg_view v;
	bool have_pkg = f->found && f->bytes &&
			eim_pkg_decode(f->bytes, f->bytes_len, NULL, &v) == 0;
	bool stale = false;

	for (size_t i = 0; i < e->n_results; i++) {
		const struct eim_epr_result *r = &e->results[i];
		if (r->tag == EIM_RES_LIST_PROFILE_INFO && r->data.p) {
			cJSON *arr = eim__profiles_json(r->data);
			if (arr) {
				cJSON *o = cJSON_CreateObject();
				cJSON_AddFalseToObject(o, "stale");
				cJSON_AddItemToObject(o, "profiles", arr);
				char *t = cJSON_PrintUnformatted(o);
				if (t)
					eim_store_device_set_lists(svc->store,
								   eid, NULL,
								   t);
				cJSON_free(t);
				cJSON_Delete(o);
			}
		} else if (r->tag == EIM_RES_LIST_EIM && r->data.p) {
			cJSON *arr = eim__eims_json(r->data);
			char *t = arr ? cJSON_PrintUnformatted(arr) : NULL;
			if (t)
				eim_store_device_set_lists(svc->store, eid, t,
							   NULL);
			cJSON_free(t);
			cJSON_Delete(arr);
		} else if ((r->tag == EIM_RES_ENABLE ||
			    r->tag == EIM_RES_DISABLE ||
			    r->tag == EIM_RES_DELETE ||
			    r->tag == EIM_RES_ROLLBACK) &&
			   eim_epr_result_ok(r)) {
			stale = true;
		} else if (r->tag == EIM_RES_ADD_EIM && eim_epr_result_ok(r) &&
			   have_pkg && v.pkg.is_eco && i < v.pkg.n_ops &&
			   v.pkg.eco[i].kind == EIM_ECO_ADD_EIM) {
			/* The eUICC now trusts that eIM with this counter and
			 * token: if it is one of ours, remember both. A new
			 * token lets the store restart the counter (renewal:
			 * every older signature covered the old token). */
			const struct eim_eim_config *c = &v.pkg.eco[i].cfg;
			char id[129];
			size_t n = c->eim_id.len < 128 ? c->eim_id.len : 128;
			memcpy(id, c->eim_id.p, n);
			id[n] = 0;
			struct eim_store_assoc_set a = {0};
			a.eim_id = id;
			memcpy(a.eid, eid, 16);
			if (r->has_token) {
				a.set_token = true;
				a.has_token = true;
				a.token = r->token;
			}
			if (c->has_counter) {
				a.set_counter = true;
				a.counter = (uint32_t)c->counter;
			}
			int rc = eim_store_assoc_set(svc->store, &a);
			if (rc == EIM_ERANGE) {
				char msg[320];
				snprintf(msg, sizeof(msg),
					 "'%.64s' re-added with counter %lld "
					 "but no "
					 "new associationToken: its counter is "
					 "NOT restarted (old packages would "
					 "become replayable)",
					 id, (long long)c->counter);
				eim_store_audit_add(svc->store,
						    "renewal-incomplete", eid,
						    msg);
				eim_warn("%s", msg);
			} else if (rc && rc != EIM_ENOTFOUND) {
				eim_warn("addEim result for '%s': %s", id,
					 eim_store_errmsg(svc->store));
			}
		}
	}
	if (stale) {
		/* An enable/disable/delete succeeded: the list we had is old.
		 */
		eim_store_device_set_lists(
			svc->store, eid, NULL,
			"{\"stale\":true,\"profiles\":null}");
	}
	if (have_pkg)
		eim_pkg_view_done(&v);
}

static cJSON *eim__epr_summary(const struct eim_epr *e, bool verified,
			       const char *why, cJSON **ret_codes)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *codes = cJSON_CreateArray();
	char id[129];
	size_t n = e->eim_id.len < 128 ? e->eim_id.len : 128;

	memcpy(id, e->eim_id.p ? (const char *)e->eim_id.p : "", n);
	id[n] = 0;
	cJSON_AddStringToObject(o, "type", eim_epr_kind_name(e->kind));
	cJSON_AddStringToObject(o, "eim_id", id);
	if (e->kind != EIM_EPR_ERROR_UNSIGNED)
		cJSON_AddNumberToObject(o, "counter", (double)e->counter);
	if (e->txid.p)
		eim__json_hex(o, "transaction_id", e->txid);
	cJSON_AddBoolToObject(o, "verified", verified);
	if (!verified && why)
		cJSON_AddStringToObject(o, "not_verified_because", why);
	if (e->kind == EIM_EPR_RESULT_SIGNED) {
		cJSON *arr = cJSON_AddArrayToObject(o, "results");
		cJSON_AddNumberToObject(o, "seq_number", (double)e->seq);
		for (size_t i = 0; i < e->n_results; i++) {
			const struct eim_epr_result *r = &e->results[i];
			cJSON *x = cJSON_CreateObject();
			const char *cn = eim_epr_code_name(r->tag, r->code);
			cJSON_AddStringToObject(x, "result",
						eim_epr_result_name(r->tag));
			if (r->code >= 0) {
				cJSON_AddNumberToObject(x, "code",
							(double)r->code);
				cJSON_AddStringToObject(x, "name",
							cn ? cn : "unknown");
				cJSON_AddItemToArray(codes,
						     cJSON_CreateString(
							     cn ? cn : "?"));
			} else {
				cJSON_AddItemToArray(codes, cJSON_CreateString(
								    "data"));
			}
			if (r->tag == EIM_RES_LIST_PROFILE_INFO && r->data.p) {
				cJSON *p = eim__profiles_json(r->data);
				if (p)
					cJSON_AddItemToObject(x, "profiles", p);
			}
			if (r->tag == EIM_RES_LIST_EIM && r->data.p) {
				cJSON *p = eim__eims_json(r->data);
				if (p)
					cJSON_AddItemToObject(x, "eims", p);
			}
			if (r->has_token)
				cJSON_AddNumberToObject(x, "association_token",
							(double)r->token);
			cJSON_AddItemToArray(arr, x);
		}
	} else {
		const char *en = eim_epr_error_name(e->kind, e->error_code);
		cJSON_AddNumberToObject(o, "error_code", (double)e->error_code);
		cJSON_AddStringToObject(o, "error", en ? en : "unknown");
		cJSON_AddItemToArray(codes, cJSON_CreateString(en ? en : "?"));
	}
	*ret_codes = codes;
	return o;
}

/* ---- recording ----------------------------------------------------------- */

/* Records a result; fills *ret; the caller answers. */
static int eim__record(struct eim_service *svc, const uint8_t eid[16],
		       const char *eim_id, int64_t counter,
		       struct eim_slice bytes, cJSON *summary, cJSON *codes,
		       bool verified, int64_t seq,
		       struct eim_store_result_out *ret)
{
	char *s = cJSON_PrintUnformatted(summary);
	char *c = codes ? cJSON_PrintUnformatted(codes) : NULL;
	struct eim_store_result_in in = {0};
	int rc = EIM_ENOMEM;

	if (s) {
		memcpy(in.eid, eid, 16);
		in.eim_id = eim_id;
		in.counter = counter;
		in.bytes = bytes.p;
		in.len = bytes.len;
		in.summary = s;
		in.verified = verified;
		in.codes = c;
		in.seq_number = seq;
		rc = eim_store_result_record(svc->store, &in, ret);
	}
	cJSON_free(s);
	cJSON_free(c);
	return rc;
}

/* Stores each notification of a list element (A0 { ... }). */
static void eim__record_notifs(struct eim_service *svc, const uint8_t eid[16],
			       struct eim_slice list)
{
	size_t it = 0;
	struct eim_der_tlv t;

	while (list.p && eim_ipadata_list_next(list, &it, &t) == 1) {
		struct eim_store_notification_in n = {0};
		memcpy(n.eid, eid, 16);
		n.seq_number = -1;
		n.kind = t.tag == 0xBF37 ? "profileInstallationResult"
					 : "otherSignedNotification";
		n.bytes = t.raw;
		n.len = t.raw_len;
		n.summary = n.kind;
		eim_store_notification_record(svc->store, &n, NULL);
		svc->stats.notifications++;
	}
}

/*
 * Answers with eimAcknowledgements for every unacknowledged seqNumber, plus
 * `again` (>= 0) when the device sent a result we already had: its earlier
 * acknowledgement was lost, and without a new one it would keep the result
 * and send it at every wake.
 */
static int eim__ack(struct eim_service *svc, const uint8_t eid[16],
		    int64_t again, struct eim_buf *resp)
{
	int64_t seqs[EIM__MAX_ACKS + 1];
	size_t n = 0;
	int rc = eim_store_acks_pending(svc->store, eid, seqs, EIM__MAX_ACKS,
					&n);

	if (rc)
		return rc;
	bool listed = false;
	for (size_t i = 0; i < n; i++)
		listed |= seqs[i] == again;
	size_t pending = n;
	if (again >= 0 && !listed)
		seqs[n++] = again;
	rc = eim_esipa_provide_response_acks(seqs, n, resp);
	n = pending; /* `again` was acknowledged in the store already */
	if (rc == 0 && n)
		rc = eim_store_acks_done(svc->store, eid, seqs, n);
	return rc;
}

static int eim__refuse(struct eim_service *svc, const uint8_t eid[16],
		       bool respond, struct eim_buf *resp,
		       struct eim__svc_log *log, const char *why)
{
	eim_store_audit_add(svc->store, "result-refused", eid, why);
	svc->stats.refused++;
	eim__svc_outcome(log, "refused: %.140s", why);
	if (!respond)
		return 0;
	return eim_esipa_provide_response_error(EIM_PKG_ERR_UNDEFINED, resp);
}

/*
 * A report is recorded, learnt from and acknowledged in one store
 * transaction: one fdatasync for all of it rather than one per store call
 * (eim/README.md, "One commit per report"), and since eim serve sends the
 * answer only when eim_service_handle() returns, the acknowledgement in
 * `resp` leaves after the commit, never before. Each store call inside is
 * still all or nothing on its own (a refused result undoes only itself).
 */
static int eim__tx_begin(struct eim_service *svc, bool *ret_open)
{
	int rc = eim_store_tx_begin(svc->store);

	*ret_open = rc == 0;
	return rc;
}

int eim__svc_tx_end(struct eim_service *svc, bool open, int rc,
		    struct eim_buf *resp)
{
	int c;

	if (!open)
		return rc;
	c = eim_store_tx_commit(svc->store);
	if (c == 0)
		return rc;
	eim_debug("request not committed: %s", eim_store_errmsg(svc->store));
	eim_buf_reset(resp);
	return rc ? rc : c;
}

static int eim__epr(struct eim_service *svc, const uint8_t eid[16],
		    const struct eim_esipa_result *r, bool respond,
		    struct eim_buf *resp, uint8_t *code,
		    struct eim__svc_log *log)
{
	struct eim_der_diag diag = {0, NULL};
	struct eim_epr e;
	struct eim__inflight f;
	struct eim__assoc a;
	struct eim_sig_key *key = NULL;
	struct eim_store_result_out out = {0};
	const char *why = NULL;
	char eim_id[130];
	bool verified = false, tx = false;
	int rc;

	memset(&a, 0, sizeof(a));
	memset(&f, 0, sizeof(f));
	rc = eim_epr_decode(r->body.p, r->body.len, &diag, &e);
	if (rc)
		return eim__svc_bad_request(resp, code, log,
					    "malformed EuiccPackageResult at "
					    "its byte %zu: %s",
					    diag.off,
					    diag.what ? diag.what
						      : eim_strerror(rc));
	size_t n = e.eim_id.len < 129 ? e.eim_id.len : 129;
	memcpy(eim_id, e.eim_id.p ? (const char *)e.eim_id.p : "", n);
	eim_id[n] = 0;
	/* No eIM identity has control bytes, so such a result matches no
	 * package; stopping here keeps the device's bytes out of the log
	 * lines and audit entries that quote the eimId. */
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)eim_id[i] < 0x20 || eim_id[i] == 0x7f) {
			rc = eim__svc_bad_request(resp, code, log,
						  "eimId contains control "
						  "characters");
			goto out;
		}
	if ((rc = eim__find_inflight(svc, eid, &f))) {
		if (rc == EIM_ENOTFOUND)
			rc = eim__unknown_eid(resp, code, log);
		goto out;
	}
	/* The result must answer the package in flight, when it is that
	 * package's: same eIM, counter and transaction id. */
	if (f.found && strcmp(f.eim_id, eim_id) == 0 &&
	    (e.kind == EIM_EPR_ERROR_UNSIGNED ||
	     (int64_t)f.counter == e.counter) &&
	    e.txid.p &&
	    (e.txid.len != f.txid_len ||
	     memcmp(e.txid.p, f.txid, f.txid_len))) {
		rc = eim__refuse(svc, eid, respond, resp, log,
				 "eimTransactionId does not match the package "
				 "in flight");
		goto out;
	}
	if (e.kind != EIM_EPR_ERROR_UNSIGNED) {
		eim_store_assoc_get(svc->store, eim_id, eid, eim__assoc_cb, &a);
		if (!a.chain) {
			/* The eUICC certificate belongs to the device: it may
			 * have been stored with the managing identity's
			 * association rather than this eIM's. */
			struct eim__assoc m;
			char managing[130] = "";
			memset(&m, 0, sizeof(m));
			eim_store_device_list(svc->store, eid, eim__managing_cb,
					      managing);
			if (managing[0] && strcmp(managing, eim_id) != 0 &&
			    eim_store_assoc_get(svc->store, managing, eid,
						eim__assoc_cb, &m) == 0) {
				a.chain = m.chain;
				a.chain_len = m.chain_len;
			} else {
				eim_free(m.chain);
			}
		}
		key = eim__euicc_key(svc, &a, &why);
		if (key) {
			int v = eim_epr_verify(&e, a.has_token ? a.token : 0,
					       key);
			if (v == EIM_EVERIFY) {
				rc = eim__refuse(svc, eid, respond, resp, log,
						 "the eUICC signature does not "
						 "verify");
				goto out;
			}
			verified = v == 0;
			if (v)
				why = eim_strerror(v);
		}
	} else {
		why = "unsigned error: nothing is authenticated";
	}
	if (!verified) {
		svc->stats.unverified++;
		if (svc->cfg.require_verified_results) {
			char msg[160];
			snprintf(msg, sizeof(msg),
				 "unverified result refused by policy (%s)",
				 why ? why : "?");
			rc = eim__refuse(svc, eid, respond, resp, log, msg);
			goto out;
		}
	}
	/* The signature is checked: from here on, one transaction. */
	if ((rc = eim__tx_begin(svc, &tx)))
		goto out;
	cJSON *codes = NULL;
	cJSON *sum = eim__epr_summary(&e, verified, why, &codes);
	int64_t counter = e.kind == EIM_EPR_ERROR_UNSIGNED
				  ? (f.found && strcmp(f.eim_id, eim_id) == 0
					     ? (int64_t)f.counter
					     : -1)
				  : e.counter;
	rc = eim__record(svc, eid, eim_id, counter, r->body, sum, codes,
			 verified, e.kind == EIM_EPR_RESULT_SIGNED ? e.seq : -1,
			 &out);
	cJSON_Delete(sum);
	cJSON_Delete(codes);
	if (rc == EIM_ESTATE) {
		rc = eim__refuse(svc, eid, respond, resp, log,
				 eim_store_errmsg(svc->store));
		goto out;
	}
	if (rc)
		goto out;
	svc->stats.results++;
	if (verified && e.kind == EIM_EPR_RESULT_SIGNED && !out.duplicate)
		eim__learn(svc, eid, &e, &f);
	if (r->kind == EIM_RESULT_EPR_AND_NOTIFS)
		eim__record_notifs(svc, eid, r->notifs);
	eim__svc_outcome(log, "%s%s for package %lld (%s)",
			 eim_epr_kind_name(e.kind),
			 out.duplicate ? " again" : "",
			 (long long)out.package_id,
			 verified ? "verified" : "NOT verified");
	rc = respond ? eim__ack(svc, eid,
				out.duplicate && e.kind == EIM_EPR_RESULT_SIGNED
					? e.seq
					: -1,
				resp)
		     : 0;
out:
	rc = eim__svc_tx_end(svc, tx, rc, resp);
	eim_sig_key_free(key);
	eim_free(a.chain);
	eim_free(f.bytes);
	eim_epr_done(&e);
	return rc;
}

/* Stores the eUICC and EUM certificates an IpaEuiccData carried. */
static void eim__learn_certs(struct eim_service *svc, const uint8_t eid[16],
			     const char *eim_id, const struct eim_ipadata *d)
{
	struct eim_buf chain;

	if (!d->euicc_cert.p)
		return;
	eim_buf_init(&chain);
	/* A6 / A5 are the certificates re-tagged: put the 30 back. */
	eim_der_put_retagged(&chain, 0x30, d->euicc_cert.p, d->euicc_cert.len);
	if (d->eum_cert.p)
		eim_der_put_retagged(&chain, 0x30, d->eum_cert.p,
				     d->eum_cert.len);
	struct eim_sig_key *k = NULL;
	if (chain.err == 0 && eim_sig_key_load(chain.p, chain.len, &k) == 0) {
		struct eim_store_assoc_set a = {0};
		a.eim_id = eim_id;
		memcpy(a.eid, eid, 16);
		a.set_chain = true;
		a.euicc_chain = chain.p;
		a.euicc_chain_len = chain.len;
		if (d->has_token) {
			a.set_token = true;
			a.has_token = true;
			a.token = d->token;
		}
		eim_store_assoc_set(svc->store, &a);
	}
	eim_sig_key_free(k);
	eim_buf_done(&chain);
}

static int eim__other_result(struct eim_service *svc, const uint8_t eid[16],
			     const struct eim_esipa_result *r, bool respond,
			     struct eim_buf *resp, uint8_t *code,
			     struct eim__svc_log *log)
{
	struct eim__inflight f;
	struct eim_store_result_out out = {0};
	cJSON *sum = cJSON_CreateObject();
	const char *want = r->kind == EIM_RESULT_IPA_DATA ? "euicc-data"
			   : r->kind == EIM_RESULT_PDT	  ? "download"
							  : NULL;
	bool tx = false;
	int rc;

	if ((rc = eim__find_inflight(svc, eid, &f))) {
		if (rc == EIM_ENOTFOUND)
			rc = eim__unknown_eid(resp, code, log);
		goto out;
	}
	/* What it teaches (certificates), the record and the acks: one
	 * transaction (a malformed body commits an empty one). */
	if ((rc = eim__tx_begin(svc, &tx)))
		goto out;
	bool match = f.found && (!want || strcmp(f.kind, want) == 0);
	if (r->kind == EIM_RESULT_IPA_DATA) {
		struct eim_der_cur c;
		struct eim_der_tlv t;
		struct eim_ipadata d;
		struct eim_der_diag diag = {0, NULL};
		eim_der_cur_init(&c, r->body.p, r->body.len, &diag);
		if (eim_der_read(&c, &t) || eim_ipadata_decode(&c, &t, &d)) {
			rc = eim__svc_bad_request(
				resp, code, log,
				"malformed IpaEuiccDataResponse"
				" at byte %zu",
				diag.off);
			goto out;
		}
		cJSON_AddStringToObject(sum, "type", "ipaEuiccDataResponse");
		if (d.is_error) {
			const char *en = eim_ipadata_error_name(d.err_code);
			cJSON_AddStringToObject(sum, "error", en ? en : "?");
		} else {
			cJSON *got = cJSON_AddArrayToObject(sum, "fields");
			if (d.euicc_cert.p)
				cJSON_AddItemToArray(
					got, cJSON_CreateString(
						     "euicc-certificate"));
			if (d.eum_cert.p)
				cJSON_AddItemToArray(
					got,
					cJSON_CreateString("eum-certificate"));
			if (d.has_token)
				cJSON_AddNumberToObject(sum,
							"association_token",
							(double)d.token);
			if (d.default_smdp.p)
				cJSON_AddItemToArray(got,
						     cJSON_CreateString(
							     "default-smdp"));
			if (d.euicc_info2.p)
				cJSON_AddItemToArray(got,
						     cJSON_CreateString(
							     "euicc-info2"));
			if (match)
				eim__learn_certs(svc, eid, f.eim_id, &d);
		}
	} else if (r->kind == EIM_RESULT_PDT) {
		cJSON_AddStringToObject(sum, "type",
					"profileDownloadTriggerResult");
	} else {
		const char *en = eim_esipa_result_error_name(r->err_code);
		cJSON_AddStringToObject(sum, "type",
					"eimPackageResultResponseError");
		cJSON_AddNumberToObject(sum, "error_code", (double)r->err_code);
		cJSON_AddStringToObject(sum, "error", en ? en : "unknown");
	}
	/* The error form has no element of its own: store its INTEGER. */
	struct eim_buf errb;
	eim_buf_init(&errb);
	struct eim_slice bytes = r->body;
	if (!bytes.p) {
		eim_der_put_int(&errb, 0x02, r->err_code);
		bytes.p = errb.p;
		bytes.len = errb.len;
	}
	rc = errb.err ? errb.err
		      : eim__record(svc, eid, match ? f.eim_id : NULL,
				    match ? (int64_t)f.counter : -1, bytes, sum,
				    NULL, false, -1, &out);
	eim_buf_done(&errb);
	if (rc == EIM_ESTATE) {
		rc = eim__refuse(svc, eid, respond, resp, log,
				 eim_store_errmsg(svc->store));
		goto out;
	}
	if (rc)
		goto out;
	svc->stats.results++;
	eim__svc_outcome(log, "%s for package %lld",
			 cJSON_GetObjectItem(sum, "type")->valuestring,
			 (long long)out.package_id);
	rc = respond ? eim__ack(svc, eid, -1, resp) : 0;
out:
	rc = eim__svc_tx_end(svc, tx, rc, resp);
	eim_free(f.bytes);
	cJSON_Delete(sum);
	return rc;
}

/* The EID a message without eidValue is about: the caller's only EID. */
static int eim__implied_eid(struct eim_service *svc,
			    const struct eim_service_peer *peer,
			    uint8_t eid[16])
{
	struct eim_store_cred_lookup l;
	int rc;

	if (peer->kind == 0)
		return EIM_ENOTFOUND;
	memset(&l, 0, sizeof(l));
	rc = eim_store_credential_lookup(svc->store, peer->kind, peer->ident,
					 peer->ident_len, &l);
	if (rc)
		return rc;
	rc = l.n_eids == 1 ? 0 : EIM_ENOTFOUND;
	if (rc == 0)
		memcpy(eid, l.eids[0], 16);
	eim_store_cred_lookup_done(&l);
	return rc;
}

int eim__svc_result(struct eim_service *svc,
		    const struct eim_service_peer *peer,
		    const struct eim_esipa_result *r, bool respond,
		    struct eim_buf *resp, uint8_t *code,
		    struct eim__svc_log *log)
{
	uint8_t eid[16];
	int rc;

	if (r->has_eid) {
		memcpy(eid, r->eid, 16);
	} else if (eim__implied_eid(svc, peer, eid) != 0) {
		return eim__svc_bad_request(resp, code, log,
					    "the result carries no eidValue "
					    "and the caller's identity does "
					    "not name exactly one EID");
	}
	log->has_eid = true;
	memcpy(log->eid, eid, 16);
	rc = eim__svc_authorize(svc, peer, eid, log->fn);
	if (rc == EIM_EPERM) {
		static const char msg[] =
			"this identity may not act for this EID";
		eim_buf_reset(resp);
		eim_buf_append(resp, msg, sizeof(msg) - 1);
		*code = EIM_SVC_FORBIDDEN;
		eim__svc_outcome(log, "4.03 forbidden");
		return resp->err;
	}
	if (rc)
		return rc;
	if (r->kind == EIM_RESULT_EPR || r->kind == EIM_RESULT_EPR_AND_NOTIFS)
		return eim__epr(svc, eid, r, respond, resp, code, log);
	return eim__other_result(svc, eid, r, respond, resp, code, log);
}

int eim__svc_notification(struct eim_service *svc,
			  const struct eim_service_peer *peer,
			  const struct eim_esipa_notification *n,
			  struct eim_buf *resp, uint8_t *code,
			  struct eim__svc_log *log)
{
	uint8_t eid[16];
	int rc;

	(void)resp;
	if (eim__implied_eid(svc, peer, eid) != 0)
		return eim__svc_bad_request(resp, code, log,
					    "a notification needs an "
					    "authenticated caller bound to "
					    "one EID");
	log->has_eid = true;
	memcpy(log->eid, eid, 16);
	struct eim_store_notification_in in = {0};
	memcpy(in.eid, eid, 16);
	in.seq_number = -1;
	in.kind = "pendingNotification";
	in.bytes = n->pending.p;
	in.len = n->pending.len;
	in.summary = "pendingNotification";
	rc = eim_store_notification_record(svc->store, &in, NULL);
	if (rc)
		return rc;
	svc->stats.notifications++;
	eim__svc_outcome(log, "notification stored");
	return 0;
}
