/* eim_sim_ipa.c - the simulated IPA's wake cycle (see eim_sim_ipa.h). */
#include "examples/eim_sim_ipa.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "proto/eim_der.h"
#include "proto/eim_esipa.h"
#include "proto/eim_ipadata.h"

#include <stdio.h>
#include <string.h>

struct eim_sim_ipa {
	struct eim_loop *loop;
	char server[80];
	struct eim_dtls_client_config dtls;
	uint8_t psk_id[128], psk[64];
	struct eim_sim_euicc *euicc;
	struct eim_coap_dtls_client *cli;
	struct eim_sim_ipa_stats stats;
	bool busy;
	eim_sim_ipa_done_fn done;
	void *done_ctx;
	/* results to resend at the start of a wake */
	struct eim_buf pending;
	size_t pending_off;
	struct eim_buf req; /* the request being sent */
	char errmsg[160];
	bool stale; /* the last wake got no answer: handshake again */
	bool has_coap;
	struct eim_coap_client_config coap;
	eim_sim_ipa_persist_fn persist;
	void *persist_ctx;
};

void eim_sim_ipa_set_coap_params(struct eim_sim_ipa *ipa,
				 const struct eim_coap_params *p)
{
	eim_coap_client_config_default(&ipa->coap);
	ipa->coap.params = *p;
	ipa->has_coap = true;
}

void eim_sim_ipa_on_persist(struct eim_sim_ipa *ipa, eim_sim_ipa_persist_fn fn,
			    void *ctx)
{
	ipa->persist = fn;
	ipa->persist_ctx = ctx;
}

static int eim__persist(struct eim_sim_ipa *ipa)
{
	return ipa->persist ? ipa->persist(ipa->persist_ctx, ipa->euicc) : 0;
}

static void eim__step(struct eim_sim_ipa *ipa);

static void eim__finish(struct eim_sim_ipa *ipa, int status, const char *why)
{
	ipa->busy = false;
	if (status) {
		ipa->stats.errors++;
		snprintf(ipa->errmsg, sizeof(ipa->errmsg), "%s", why);
	}
	if (ipa->done)
		ipa->done(ipa->done_ctx, ipa, status);
}

static void eim__on_response(void *ctx, int status,
			     const struct eim_coap_client_response *r);

static int eim__post(struct eim_sim_ipa *ipa)
{
	struct eim_coap_client_request rq = {
		.method = EIM_COAP_POST,
		.path = "/gsma/rsp2/asn1",
		.content_format = -1,
		.body = ipa->req.p,
		.body_len = ipa->req.len,
		.cb = eim__on_response,
		.cb_ctx = ipa,
	};
	return eim_coap_dtls_client_request(ipa->cli, &rq);
}

/* ProvideEimPackageResult { eidValue, <result element> } */
static int eim__provide(struct eim_sim_ipa *ipa,
			enum eim_esipa_result_kind kind, const uint8_t *body,
			size_t len)
{
	struct eim_esipa_from_ipa m;

	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT;
	m.result.has_eid = true;
	memcpy(m.result.eid, ipa->euicc->eid, 16);
	m.result.kind = kind;
	m.result.body.p = body;
	m.result.body.len = len;
	eim_buf_reset(&ipa->req);
	int rc = eim_esipa_encode_from_ipa(&m, &ipa->req);
	if (rc == 0) {
		ipa->stats.results_sent++;
		rc = eim__post(ipa);
	}
	return rc;
}

static int eim__poll(struct eim_sim_ipa *ipa)
{
	struct eim_esipa_from_ipa m;

	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_GET_EIM_PACKAGE;
	memcpy(m.get.eid, ipa->euicc->eid, 16);
	if (ipa->euicc->state_change_cause) {
		m.get.notify_state_change = true;
		m.get.has_cause = true;
		m.get.cause = ipa->euicc->state_change_cause;
		ipa->euicc->state_change_cause = 0; /* reported once */
	}
	eim_buf_reset(&ipa->req);
	int rc = eim_esipa_encode_from_ipa(&m, &ipa->req);
	if (rc == 0) {
		ipa->stats.polls++;
		rc = eim__post(ipa);
	}
	return rc;
}

/* Runs what the eIM sent and answers it. */
static int eim__run_package(struct eim_sim_ipa *ipa,
			    const struct eim_esipa_package *p)
{
	struct eim_buf out;
	int rc;

	eim_buf_init(&out);
	switch (p->kind) {
	case EIM_EPKG_EUICC_PACKAGE:
		ipa->stats.packages++;
		rc = eim_sim_euicc_load_package(ipa->euicc, p->euicc_package.p,
						p->euicc_package.len, &out,
						NULL);
		if (rc == 0)
			rc = eim__persist(ipa); /* before the result leaves */
		if (rc == 0)
			rc = eim__provide(ipa, EIM_RESULT_EPR, out.p, out.len);
		break;
	case EIM_EPKG_IPA_DATA: {
		/* The request does not name its eIM: the one the IPA polls
		 * is the first associated (the model's order). */
		const struct eim_sim_eim *who =
			ipa->euicc->n_eims ? &ipa->euicc->eims[0] : NULL;
		struct eim_buf req;
		eim_buf_init(&req);
		ipa->stats.data_requests++;
		rc = eim_ipadata_req_encode(&p->ipa_data, &req);
		if (rc == 0)
			rc = eim_sim_euicc_ipa_data(ipa->euicc, req.p, req.len,
						    who ? (const uint8_t *)
								    who->eim_id
							: NULL,
						    who ? who->eim_id_len : 0,
						    &out);
		eim_buf_done(&req);
		if (rc == 0)
			rc = eim__provide(ipa, EIM_RESULT_IPA_DATA, out.p,
					  out.len);
		break;
	}
	case EIM_EPKG_PDT: {
		/* No SM-DP+ here: report the download as failed. */
		struct eim_pdt_result r;
		memset(&r, 0, sizeof(r));
		r.txid = p->pdt.txid;
		r.is_error = true;
		r.error_reason = 127; /* undefinedError */
		rc = eim_pdt_result_encode(&r, &out);
		if (rc == 0)
			rc = eim__provide(ipa, EIM_RESULT_PDT, out.p, out.len);
		break;
	}
	default:
		rc = EIM_EUNSUPPORTED;
	}
	eim_buf_done(&out);
	return rc;
}

static void eim__on_response(void *ctx, int status,
			     const struct eim_coap_client_response *r)
{
	struct eim_sim_ipa *ipa = ctx;
	struct eim_esipa_from_eim m;
	int rc;

	if (status) {
		ipa->stale = true;
		eim__finish(ipa, status, "no answer from the eIM");
		return;
	}
	if ((r->code >> 5) != 2) {
		char why[120];
		ipa->stats.refused++;
		snprintf(why, sizeof(why), "the eIM answered %d.%02d: %.*s",
			 r->code >> 5, r->code & 31,
			 (int)(r->body_len < 80 ? r->body_len : 80),
			 (const char *)r->body);
		eim__finish(ipa, EIM_EPERM, why);
		return;
	}
	rc = eim_esipa_decode_from_eim(r->body, r->body_len, NULL, &m);
	if (rc) {
		eim__finish(ipa, rc, "the eIM's answer does not decode");
		return;
	}
	if (m.tag == EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT) {
		if (m.provide.kind == EIM_PRESP_ACKS) {
			ipa->stats.acked += m.provide.acks.n;
			eim_sim_euicc_ack(ipa->euicc, m.provide.acks.seq,
					  m.provide.acks.n);
			if (eim__persist(ipa)) {
				eim__finish(ipa, EIM_EIO,
					    "could not save the state");
				return;
			}
		}
		eim__step(ipa); /* more to resend, or the next poll */
		return;
	}
	if (m.tag != EIM_ESIPA_GET_EIM_PACKAGE) {
		eim__finish(ipa, EIM_ETAG, "unexpected answer from the eIM");
		return;
	}
	if (m.package.kind == EIM_EPKG_ERROR) {
		if (m.package.err_code == EIM_PKG_ERR_NO_PACKAGE)
			eim__finish(ipa, 0, "");
		else
			eim__finish(ipa, EIM_ENOTFOUND,
				    eim_esipa_pkg_error_name(
					    m.package.err_code));
		return;
	}
	rc = eim__run_package(ipa, &m.package);
	if (rc)
		eim__finish(ipa, rc, "could not run the package");
}

/* Next request of the wake: a stored result to resend, else a poll. */
static void eim__step(struct eim_sim_ipa *ipa)
{
	struct eim_der_cur c;
	struct eim_der_tlv t;
	int rc;

	if (ipa->pending_off < ipa->pending.len) {
		eim_der_cur_init(&c, ipa->pending.p + ipa->pending_off,
				 ipa->pending.len - ipa->pending_off, NULL);
		if (eim_der_read(&c, &t) == 0) {
			ipa->pending_off += t.raw_len;
			rc = eim__provide(ipa, EIM_RESULT_EPR, t.raw,
					  t.raw_len);
			if (rc)
				eim__finish(ipa, rc, "could not send a result");
			return;
		}
		ipa->pending_off = ipa->pending.len;
	}
	rc = eim__poll(ipa);
	if (rc)
		eim__finish(ipa, rc, "could not poll");
}

int eim_sim_ipa_new(struct eim_loop *l, const char *server,
		    const struct eim_dtls_client_config *dtls,
		    struct eim_sim_euicc *euicc, struct eim_sim_ipa **ret)
{
	struct eim_sim_ipa *ipa;

	if (!l || !server || !dtls || !euicc || !ret ||
	    strlen(server) >= sizeof(ipa->server) ||
	    dtls->psk_identity_len > sizeof(ipa->psk_id) ||
	    dtls->psk_len > sizeof(ipa->psk))
		return EIM_EINVAL;
	ipa = eim_calloc(1, sizeof(*ipa));
	if (!ipa)
		return EIM_ENOMEM;
	ipa->loop = l;
	snprintf(ipa->server, sizeof(ipa->server), "%s", server);
	ipa->dtls = *dtls;
	if (dtls->psk_identity_len)
		memcpy(ipa->psk_id, dtls->psk_identity, dtls->psk_identity_len);
	if (dtls->psk_len)
		memcpy(ipa->psk, dtls->psk, dtls->psk_len);
	ipa->dtls.psk_identity = ipa->psk_id;
	ipa->dtls.psk = ipa->psk;
	ipa->euicc = euicc;
	eim_buf_init(&ipa->pending);
	eim_buf_init(&ipa->req);
	*ret = ipa;
	return 0;
}

void eim_sim_ipa_free(struct eim_sim_ipa *ipa)
{
	if (!ipa)
		return;
	eim_coap_dtls_client_free(ipa->cli);
	eim_buf_done(&ipa->pending);
	eim_buf_done(&ipa->req);
	eim_free_secret(ipa, sizeof(*ipa));
}

int eim_sim_ipa_wake(struct eim_sim_ipa *ipa, bool rebind,
		     eim_sim_ipa_done_fn done, void *ctx)
{
	int rc;

	if (!ipa)
		return EIM_EINVAL;
	if (ipa->busy)
		return EIM_EBUSY;
	if (!ipa->cli) {
		rc = eim_coap_dtls_client_new(ipa->loop, ipa->server,
					      &ipa->dtls,
					      ipa->has_coap ? &ipa->coap : NULL,
					      &ipa->cli);
		if (rc)
			return rc;
	} else {
		if (rebind && (rc = eim_coap_dtls_client_rebind(ipa->cli)))
			return rc;
		if (ipa->stale) {
			rc = eim_coap_dtls_client_rehandshake(ipa->cli);
			if (rc)
				return rc;
			ipa->stats.fresh_handshakes++;
		}
	}
	ipa->stale = false;
	ipa->busy = true;
	ipa->done = done;
	ipa->done_ctx = ctx;
	ipa->errmsg[0] = '\0';
	ipa->stats.wakes++;
	eim_buf_reset(&ipa->pending);
	ipa->pending_off = 0;
	rc = eim_sim_euicc_results(ipa->euicc, &ipa->pending);
	if (rc) {
		ipa->busy = false;
		return rc;
	}
	eim__step(ipa);
	return 0;
}

void eim_sim_ipa_stats(const struct eim_sim_ipa *ipa,
		       struct eim_sim_ipa_stats *ret)
{
	*ret = ipa->stats;
}

struct eim_coap_dtls_client *eim_sim_ipa_transport(struct eim_sim_ipa *ipa)
{
	return ipa->cli;
}

const char *eim_sim_ipa_errmsg(const struct eim_sim_ipa *ipa)
{
	return ipa->errmsg;
}
