/*
 * eim_service.c - ESipa dispatch, identity binding and getEimPackage
 * (see eim_service.h). Results and notifications: eim_service_result.c.
 */
#include "eim/eim_service_int.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "common/eim_log.h"
#include "proto/eim_ids.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int eim_service_new(struct eim_store *store,
		    const struct eim_service_config *cfg,
		    struct eim_service **ret)
{
	struct eim_service *svc = eim_calloc(1, sizeof(*svc));

	if (!svc)
		return EIM_ENOMEM;
	svc->store = store;
	if (cfg)
		svc->cfg = *cfg;
	/* Both tables start small and grow with the fleet (see
	 * eim_service_cache.c): idle memory follows the devices seen. */
	svc->seen = eim_calloc(EIM__SEEN_SLOTS_MIN, sizeof(*svc->seen));
	svc->seen_recs = eim_calloc(EIM__SEEN_BATCH, sizeof(*svc->seen_recs));
	svc->cache = eim_calloc(EIM__CACHE_SLOTS_MIN, sizeof(*svc->cache));
	if (!svc->seen || !svc->seen_recs || !svc->cache) {
		eim_free(svc->seen);
		eim_free(svc->seen_recs);
		eim_free(svc->cache);
		eim_free(svc);
		return EIM_ENOMEM;
	}
	svc->seen_slots = EIM__SEEN_SLOTS_MIN;
	svc->cache_slots = EIM__CACHE_SLOTS_MIN;
	svc->stats.seen_slots = svc->seen_slots;
	svc->stats.cache_slots = svc->cache_slots;
	svc->epoch = 1;
	svc->local_changes = eim_store_local_changes(store);
	svc->check_due = true;
	eim_signer_init(&svc->signer, store);
	*ret = svc;
	return 0;
}

void eim_service_free(struct eim_service *svc)
{
	if (!svc)
		return;
	(void)eim_service_flush(svc);
	eim_signer_done(&svc->signer);
	eim_free(svc->seen);
	eim_free(svc->seen_recs);
	eim__cache_free(svc);
	eim_free(svc);
}

void eim_service_stats(const struct eim_service *svc,
		       struct eim_service_stats *ret)
{
	*ret = svc->stats;
}

int eim__svc_bad_request(struct eim_buf *resp, uint8_t *code,
			 struct eim__svc_log *log, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	eim_buf_reset(resp);
	eim_buf_append(resp, msg, strlen(msg));
	*code = EIM_SVC_BAD_REQUEST;
	eim__svc_outcome(log, "4.00 %s", msg);
	return resp->err;
}

static const char *eim__kind_name(enum eim_store_cred_kind k)
{
	switch (k) {
	case EIM_STORE_CRED_PSK:
		return "PSK identity";
	case EIM_STORE_CRED_CERT:
		return "certificate";
	case EIM_STORE_CRED_RPK:
		return "raw public key";
	default:
		return "identity";
	}
}

int eim__svc_authorize(struct eim_service *svc,
		       const struct eim_service_peer *peer,
		       const uint8_t eid[16], const char *fn)
{
	struct eim_store_cred_lookup l;
	bool ok = false;
	int rc;

	if (peer->kind == 0)
		return 0; /* plain CoAP: a lab without authentication */
	if (eim__cache_find(svc, peer, eid))
		return 0; /* allowed, and nothing changed since */
	memset(&l, 0, sizeof(l));
	rc = eim_store_credential_lookup(svc->store, peer->kind, peer->ident,
					 peer->ident_len, &l);
	if (rc && rc != EIM_ENOTFOUND)
		return rc;
	for (size_t i = 0; rc == 0 && i < l.n_eids; i++)
		if (memcmp(l.eids[i], eid, 16) == 0)
			ok = true;
	if (rc == 0)
		eim_store_cred_lookup_done(&l);
	if (ok) {
		(void)eim__cache_put(svc, peer, eid);
		return 0;
	}
	/* Audit the attempt: which identity asked for which EID. */
	char detail[200], id[65], abuf[56];
	const char *peer_addr = eim__svc_addr(peer, abuf, sizeof(abuf));
	size_t n = peer->ident_len < 32 ? peer->ident_len : 32;
	if (peer->kind == EIM_STORE_CRED_PSK) {
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			id[k++] =
				peer->ident[i] >= 0x20 && peer->ident[i] < 0x7f
					? (char)peer->ident[i]
					: '?';
		id[k] = 0;
	} else {
		eim_hex_encode(peer->ident, n, id);
	}
	snprintf(detail, sizeof(detail),
		 "%s '%s' from %s is not bound to "
		 "this EID (%s)",
		 eim__kind_name(peer->kind), id, peer_addr ? peer_addr : "?",
		 fn);
	eim_store_audit_add(svc->store, "denied", eid, detail);
	svc->stats.forbidden++;
	return EIM_EPERM;
}

static int eim__forbidden(struct eim_buf *resp, uint8_t *code,
			  struct eim__svc_log *log)
{
	static const char msg[] = "this identity may not act for this EID";

	eim_buf_reset(resp);
	eim_buf_append(resp, msg, sizeof(msg) - 1);
	*code = EIM_SVC_FORBIDDEN;
	eim__svc_outcome(log, "4.03 forbidden");
	return resp->err;
}

/* ---- notifyStateChange --------------------------------------------------- */

struct eim__lists {
	char *profiles;
	bool has_list_profiles_queued;
};

static int eim__dev_lists_cb(void *ctx, const struct eim_store_device *d)
{
	struct eim__lists *l = ctx;
	l->profiles = d->profile_list ? eim_strdup(d->profile_list) : NULL;
	return 0;
}

static int eim__queued_cb(void *ctx, const struct eim_store_package *p)
{
	struct eim__lists *l = ctx;
	bool pending =
		p->state == EIM_STORE_QUEUED || p->state == EIM_STORE_SENT;
	if (pending && p->summary && strstr(p->summary, "\"list-profiles\""))
		l->has_list_profiles_queued = true;
	return 0;
}

/*
 * The device says its profiles changed locally (fallback, reset, ...):
 * mark what we know as stale, and queue a listProfileInfo to learn the new
 * state unless one is already waiting.
 */
static void eim__state_change(struct eim_service *svc,
			      const struct eim_esipa_get_pkg_req *g)
{
	struct eim__lists l = {NULL, false};
	struct eim_store_filter f;

	eim_store_device_list(svc->store, g->eid, eim__dev_lists_cb, &l);
	cJSON *pl = l.profiles ? cJSON_Parse(l.profiles) : NULL;
	if (!cJSON_IsObject(pl)) {
		cJSON_Delete(pl);
		pl = cJSON_CreateObject();
		cJSON_AddItemToObject(pl, "profiles", cJSON_CreateNull());
	}
	cJSON_DeleteItemFromObject(pl, "stale");
	cJSON_DeleteItemFromObject(pl, "state_change_cause");
	cJSON_AddTrueToObject(pl, "stale");
	cJSON_AddStringToObject(pl, "state_change_cause",
				g->has_cause
					? eim_esipa_state_change_name(g->cause)
					: "unspecified");
	char *text = cJSON_PrintUnformatted(pl);
	if (text)
		eim_store_device_set_lists(svc->store, g->eid, NULL, text);
	cJSON_free(text);
	cJSON_Delete(pl);
	eim_free(l.profiles);

	if (!svc->cfg.refresh_on_state_change)
		return;
	eim_store_filter_init(&f);
	f.eid = g->eid; /* any state: the callback keeps queued and sent */
	eim_store_package_list(svc->store, &f, eim__queued_cb, &l);
	if (l.has_list_profiles_queued)
		return;
	struct eim_ops ops;
	struct eim_json_err err;
	cJSON *op = cJSON_CreateObject();
	cJSON_AddStringToObject(op, "op", "list-profiles");
	if (eim_ops_init(&ops) == 0 &&
	    eim_ops_add_json(&ops, op, "refresh", &err) == 0) {
		struct eim_store_enqueue_req req = {0};
		struct eim_store_enqueued done;
		char *summary = cJSON_PrintUnformatted(ops.summary);
		memcpy(req.eid, g->eid, 16);
		req.kind = eim_ops_kind_name(ops.kind);
		req.summary = summary;
		req.sign_ctx = &ops;
		if (summary &&
		    eim_store_enqueue(svc->store, &req, eim_signer_sign,
				      &svc->signer, &done) == 0)
			eim_debug("queued listProfileInfo (package %lld) after "
				  "a state change",
				  (long long)done.package_id);
		cJSON_free(summary);
	}
	eim_ops_done(&ops);
	cJSON_Delete(op);
}

/* ---- getEimPackage ------------------------------------------------------- */

/*
 * The answer to an authorized getEimPackage: the package in flight or the
 * next one, or none. `ent` is the poll cache's entry valid now, or NULL
 * when the store is to be asked.
 */
static int eim__deliver(struct eim_service *svc,
			const struct eim_service_peer *peer,
			const struct eim_esipa_get_pkg_req *g,
			struct eim__cache_ent *ent, struct eim_buf *resp,
			struct eim__svc_log *log)
{
	struct eim_store_package pkg;
	bool found = false;
	int rc;

	eim__seen(svc, g->eid, peer);
	if (ent && ent->pkg &&
	    eim_store_note_redelivery(svc->store, ent->pkg->id, g->eid) == 0) {
		/* A re-poll of the package in flight, unchanged since it was
		 * read: the same bytes, one more attempt (in memory). */
		struct eim__cache_pkg *k = ent->pkg;
		svc->stats.cache_hits++;
		svc->stats.packages_sent++;
		k->attempts++;
		eim__svc_outcome(log,
				 "package %lld (%s, counter %u, attempt %u)",
				 (long long)k->id, k->kind, k->counter,
				 k->attempts);
		eim_buf_append(resp, k->resp, k->len);
		return resp->err;
	}
	if (ent && ent->empty) {
		svc->stats.cache_hits++;
		found = false;
	} else {
		rc = eim_store_next(svc->store, g->eid, &pkg, &found);
		if (rc == EIM_ENOTFOUND) {
			eim__svc_outcome(log, "eidNotFound");
			return eim_esipa_get_pkg_response_error(
				EIM_PKG_ERR_EID_NOT_FOUND, resp);
		}
		if (rc)
			return rc;
		/* Plain CoAP (no identity to authorize) has its entry made
		 * here, once the store has shown that the EID exists. */
		if (!ent && peer->kind == 0 && !g->notify_state_change) {
			ent = eim__cache_put(svc, peer, g->eid);
			if (ent)
				ent->eid_checked = true;
		}
		if (!found && ent)
			ent->empty = true;
	}
	if (!found) {
		svc->stats.no_package++;
		eim__svc_outcome(log, "noEimPackageAvailable");
		return eim_esipa_get_pkg_response_error(EIM_PKG_ERR_NO_PACKAGE,
							resp);
	}
	svc->stats.packages_sent++;
	eim__svc_outcome(log, "package %lld (%s, counter %u, attempt %u)",
			 (long long)pkg.id, pkg.kind, pkg.counter,
			 pkg.attempts);
	/* GetEimPackageResponse [79] wraps the queued element as is: a
	 * signed BF51, or an unsigned BF52 / BF54 request. */
	size_t start = resp->len;
	eim_der_put(resp, EIM_ESIPA_GET_EIM_PACKAGE, pkg.bytes, pkg.bytes_len);
	/* Kept for the re-polls to come. Only when resp held nothing before
	 * (it is the whole answer), and only when the store was unchanged by
	 * this request (a first send moves the epoch anyway). */
	if (ent && start == 0 && !resp->err)
		eim__cache_keep_pkg(ent, &pkg, resp);
	return resp->err;
}

static int eim__get_package(struct eim_service *svc,
			    const struct eim_service_peer *peer,
			    const struct eim_esipa_get_pkg_req *g,
			    struct eim_buf *resp, uint8_t *code,
			    struct eim__svc_log *log)
{
	struct eim__cache_ent *ent;
	int rc;

	log->has_eid = true;
	memcpy(log->eid, g->eid, 16);
	/* The entry, if any, says what the store said at this epoch: the
	 * identity may act for the EID, the EID's check digits were checked
	 * here, and maybe the queue was empty or a package in flight. */
	ent = eim__cache_find(svc, peer, g->eid);
	if (!ent || !ent->eid_checked) {
		if (eim_eid_check(g->eid) != 0) {
			eim__svc_outcome(log, "invalidEid");
			return eim_esipa_get_pkg_response_error(
				EIM_PKG_ERR_INVALID_EID, resp);
		}
		rc = eim__svc_authorize(svc, peer, g->eid, log->fn);
		if (rc == EIM_EPERM)
			return eim__forbidden(resp, code, log);
		if (rc)
			return rc;
		ent = eim__cache_find(svc, peer, g->eid);
		if (ent)
			ent->eid_checked = true;
	}
	if (!g->notify_state_change)
		return eim__deliver(svc, peer, g, ent, resp, log);
	/* A state change writes to the store (the lists, maybe a refresh
	 * package), and the package then delivered moves to sent: one
	 * transaction, committed before the answer leaves (as for a report,
	 * eim_service_result.c). The entry says nothing about the queue now:
	 * ask the store. */
	if ((rc = eim_store_tx_begin(svc->store)))
		return rc;
	eim__state_change(svc, g);
	rc = eim__deliver(svc, peer, g, NULL, resp, log);
	return eim__svc_tx_end(svc, true, rc, resp);
}

/* ---- relay functions (indirect download): not implemented yet ------------ */

static int eim__relay_error(uint32_t tag, struct eim_buf *resp,
			    struct eim__svc_log *log)
{
	/* The error alternative of each response, undefinedError(127):
	 * initiateAuthentication [1], authenticateClient [2],
	 * getBoundProfilePackage [1], cancelSession [1]. */
	uint32_t alt = tag == EIM_ESIPA_AUTH_CLIENT ? 0x82 : 0x81;
	size_t mark = eim_der_open(resp, tag);
	eim_der_put_int(resp, alt, 127);
	eim_der_close(resp, mark);
	eim__svc_outcome(
		log,
		"undefinedError (indirect profile download is not supported)");
	return resp->err;
}

/* ---- dispatch -------------------------------------------------------------
 */

static double eim__ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

int eim_service_handle(struct eim_service *svc,
		       const struct eim_service_peer *peer, const uint8_t *body,
		       size_t len, struct eim_buf *resp, uint8_t *ret_code)
{
	struct eim_esipa_from_ipa m;
	struct eim_der_diag diag = {0, NULL};
	struct eim__svc_log log;
	struct timespec t0;
	uint8_t code = EIM_SVC_CHANGED;
	int rc;

	memset(&log, 0, sizeof(log));
	log.on = EIM_LOG_ENABLED(EIM_LOG_INFO);
	if (log.on)
		clock_gettime(CLOCK_MONOTONIC, &t0);
	log.fn = "?";
	svc->stats.requests++;
	/* Before anything reads the cache: has the store changed? */
	if (!eim__cache_sync(svc))
		eim_debug("store change check failed: %s",
			  eim_store_errmsg(svc->store));
	rc = eim_esipa_decode_from_ipa(body, len, &diag, &m);
	if (rc) {
		svc->stats.malformed++;
		if (rc == EIM_ETAG && diag.off == 0)
			rc = eim__svc_bad_request(
				resp, &code, &log,
				"not an ESipa message from an IPA (tag at "
				"byte 0)");
		else
			rc = eim__svc_bad_request(
				resp, &code, &log,
				"malformed ESipa message at byte %zu: %s",
				diag.off,
				diag.what ? diag.what : eim_strerror(rc));
		goto out;
	}
	log.fn = eim_esipa_from_ipa_name(m.tag);
	switch (m.tag) {
	case EIM_ESIPA_GET_EIM_PACKAGE:
		rc = eim__get_package(svc, peer, &m.get, resp, &code, &log);
		break;
	case EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT:
		rc = eim__svc_result(svc, peer, &m.result, true, resp, &code,
				     &log);
		break;
	case EIM_ESIPA_HANDLE_NOTIFICATION:
		if (m.notification.kind == EIM_NOTIF_PROVIDE_RESULT)
			rc = eim__svc_result(svc, peer, &m.notification.result,
					     false, resp, &code, &log);
		else
			rc = eim__svc_notification(svc, peer, &m.notification,
						   resp, &code, &log);
		break;
	case EIM_ESIPA_INITIATE_AUTH:
	case EIM_ESIPA_AUTH_CLIENT:
	case EIM_ESIPA_GET_BPP:
	case EIM_ESIPA_CANCEL_SESSION:
		rc = eim__relay_error(m.tag, resp, &log);
		break;
	default:
		/* transferEimPackageResponse: eim works in retrieval mode. */
		rc = eim__svc_bad_request(resp, &code, &log,
					  "%s is not supported: this eIM uses "
					  "package retrieval",
					  log.fn);
	}
out:
	if (rc) {
		code = EIM_SVC_SERVER_ERROR;
		eim__svc_outcome(&log, "5.00 %s", eim_strerror(rc));
	}
	*ret_code = code;
	if (log.on) {
		char eid[33] = "-", abuf[56];
		const char *addr = eim__svc_addr(peer, abuf, sizeof(abuf));
		if (log.has_eid)
			eim_eid_format(log.eid, eid);
		eim_info("%s eid=%s %s: %s (%.2f ms)", addr ? addr : "-", eid,
			 log.fn, log.outcome, eim__ms_since(&t0));
	}
	return rc;
}
