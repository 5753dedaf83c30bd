/*
 * eim_sim_psmo.c - the eUICC model's Profile State Management Operations
 * (SGP.32 v1.2 2.11.1.1.3 and 3.3/3.4), ES10b ProfileRollback (5.9.16) and
 * ExecuteFallbackMechanism / ReturnFromFallback (5.9.20-21).
 *
 * Package rules this model enforces (as public eUICC emulations read the
 * spec): at most one enable and one disable per package, no disable after
 * an enable in the same package; execution stops at the first failing
 * PSMO, whose result ends the list. A second enable/disable is answered
 * with processingTerminated(unknownOrDamagedCommand): the model's choice,
 * the specification does not name a code for it.
 */
#include "examples/eim_sim_euicc.h"
#include "examples/eim_sim_euicc_int.h"

#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "proto/eim_der.h"
#include "proto/eim_epr.h"
#include "proto/eim_ipadata.h"

#include <string.h>

/* Result codes shared by the profile PSMOs. */
enum {
	P_OK = 0,
	P_NOT_FOUND = 1,	/* iccidOrAidNotFound */
	P_WRONG_STATE = 2,	/* profileNotIn{Disabled,Enabled}State */
	P_ROLLBACK_NA = 20,	/* rollbackNotAvailable */
	P_RETURN_FALLBACK = 21, /* returnFallbackProfile */
	P_UNDEFINED = 127,
};
enum {
	FB_NOT_ALLOWED = 2,
	FB_ENABLED = 3,
	FB_NONE = 2,
};
enum {
	CMD_ERROR = 7 /* commandError */
};
enum {
	LIST_INCORRECT_INPUT = 1
};
enum {
	TERM_DAMAGED = 2
};

int eim_sim__enabled(const struct eim_sim_euicc *e)
{
	for (size_t i = 0; i < e->n_profiles; i++)
		if (e->profiles[i].enabled)
			return (int)i;
	return -1;
}

static int fallback_profile(const struct eim_sim_euicc *e)
{
	for (size_t i = 0; i < e->n_profiles; i++)
		if (e->profiles[i].fallback)
			return (int)i;
	return -1;
}

/* Default tag list of listProfileInfo in SGP.32 (differs from SGP.22). */
static const uint8_t default_tags[] = {0x5a, 0x4f, 0x9f, 0x70, 0x91, 0x92, 0x95,
				       0x9f, 0x7b, 0x9f, 0x26, 0x9f, 0x67};

static bool wants(struct eim_slice tags, uint32_t tag)
{
	const uint8_t *p = tags.p, *end = tags.p + tags.len;

	while (p < end) {
		uint32_t t = *p++;
		if ((t & 0x1f) == 0x1f) {
			int k = 0;
			do {
				if (p >= end || ++k > 2)
					return false;
				t = (t << 8) | *p;
			} while (*p++ & 0x80);
		}
		if (t == tag)
			return true;
	}
	return false;
}

/* The tag list must be a sequence of well-formed tags. */
static bool tags_ok(struct eim_slice tags)
{
	const uint8_t *p = tags.p, *end = tags.p + tags.len;

	while (p < end) {
		if ((*p++ & 0x1f) != 0x1f)
			continue;
		int k = 0;
		do {
			if (p >= end || ++k > 2)
				return false;
		} while (*p++ & 0x80);
	}
	return true;
}

static bool matches(const struct eim_sim_profile *pr, const struct eim_psmo *o)
{
	switch (o->search) {
	case EIM_SEARCH_ICCID:
		return memcmp(pr->iccid, o->search_iccid, EIM_ICCID_LEN) == 0;
	case EIM_SEARCH_ISDP_AID:
		return o->search_aid.len == pr->aid_len &&
		       memcmp(o->search_aid.p, pr->aid, pr->aid_len) == 0;
	case EIM_SEARCH_PROFILE_CLASS:
		return pr->profile_class == o->search_class;
	default:
		return true;
	}
}

/* Writes listProfileInfoResult to b; *ret_code 0, or the error code. */
static int list_profiles(const struct eim_sim_euicc *e,
			 const struct eim_psmo *o, struct eim_buf *b,
			 int64_t *ret_code)
{
	struct eim_slice tags = o->tag_list;
	size_t top, list;
	int rc;

	if (!tags.p)
		tags = (struct eim_slice){default_tags, sizeof(default_tags)};
	top = eim_der_open(b, 0xbf2d);
	if (!tags_ok(tags)) {
		eim_der_put_int(b, 0x81, LIST_INCORRECT_INPUT);
		eim_der_close(b, top);
		*ret_code = LIST_INCORRECT_INPUT;
		return b->err;
	}
	list = eim_der_open(b, 0xa0);
	for (size_t i = 0; i < e->n_profiles; i++) {
		const struct eim_sim_profile *pr = &e->profiles[i];
		struct eim_profile_info pi;

		if (!matches(pr, o))
			continue;
		memset(&pi, 0, sizeof(pi));
		pi.state = pi.icon_type = pi.profile_class = -1;
		pi.ecall = pi.fallback_allowed = -1;
		if (wants(tags, 0x5a)) {
			pi.has_iccid = true;
			memcpy(pi.iccid, pr->iccid, EIM_ICCID_LEN);
		}
		if (wants(tags, 0x4f) && pr->aid_len)
			pi.isdp_aid = (struct eim_slice){pr->aid, pr->aid_len};
		if (wants(tags, 0x9f70))
			pi.state = pr->enabled ? 1 : 0;
		if (wants(tags, 0x91))
			pi.sp_name =
				(struct eim_slice){(const uint8_t *)pr->sp_name,
						   strlen(pr->sp_name)};
		if (wants(tags, 0x92))
			pi.name = (struct eim_slice){(const uint8_t *)pr->name,
						     strlen(pr->name)};
		if (wants(tags, 0x95))
			pi.profile_class = pr->profile_class;
		if (wants(tags, 0x9f7b))
			pi.ecall = 0;
		if (wants(tags, 0x9f26))
			pi.fallback = pr->fallback;
		if (wants(tags, 0x9f67))
			pi.fallback_allowed = pr->fallback_allowed ? 1 : 0;
		if ((rc = eim_profile_info_encode(&pi, b)) < 0)
			return rc;
	}
	eim_der_close(b, list);
	eim_der_close(b, top);
	*ret_code = 0;
	return b->err;
}

/* Switches the enabled profile to index `to` (-1: none enabled). */
static void switch_to(struct eim_sim_euicc *e, int to)
{
	for (size_t i = 0; i < e->n_profiles; i++)
		e->profiles[i].enabled = (int)i == to;
}

int eim_sim__run_psmos(struct eim_sim_euicc *e, const struct eim_pkg *pkg,
		       struct eim_sim_exec *x)
{
	int start_enabled = eim_sim__enabled(e);
	bool did_enable = false, did_disable = false;
	int rc;

	for (size_t i = 0; i < pkg->n_ops; i++) {
		const struct eim_psmo *o = &pkg->psmo[i];
		struct eim_epr_result *r = NULL;
		int k = -1, fb;

		switch (o->kind) {
		case EIM_PSMO_ENABLE:
			if (did_enable) {
				r = eim_sim__result(
					x, EIM_RES_PROCESSING_TERMINATED);
				r->code = TERM_DAMAGED;
				break;
			}
			did_enable = true;
			r = eim_sim__result(x, EIM_RES_ENABLE);
			k = eim_sim_euicc_find_profile(e, o->iccid);
			if (k < 0) {
				r->code = P_NOT_FOUND;
			} else if (e->profiles[k].enabled) {
				r->code = P_WRONG_STATE;
			} else if (o->rollback &&
				   (start_enabled < 0 || start_enabled == k)) {
				r->code = P_ROLLBACK_NA;
			} else {
				if (o->rollback) {
					x->grant = true;
					x->grant_has_previous = true;
					memcpy(x->grant_previous,
					       e->profiles[start_enabled].iccid,
					       EIM_ICCID_LEN);
					memcpy(x->grant_enabled, o->iccid,
					       EIM_ICCID_LEN);
				}
				switch_to(e, k);
				/* An eIM enable ends any fallback episode. */
				e->fallback_active = false;
			}
			break;
		case EIM_PSMO_DISABLE:
			if (did_disable || did_enable) {
				r = eim_sim__result(
					x, EIM_RES_PROCESSING_TERMINATED);
				r->code = TERM_DAMAGED;
				break;
			}
			did_disable = true;
			r = eim_sim__result(x, EIM_RES_DISABLE);
			k = eim_sim_euicc_find_profile(e, o->iccid);
			if (k < 0)
				r->code = P_NOT_FOUND;
			else if (!e->profiles[k].enabled)
				r->code = P_WRONG_STATE;
			else
				e->profiles[k].enabled = false;
			break;
		case EIM_PSMO_DELETE:
			r = eim_sim__result(x, EIM_RES_DELETE);
			k = eim_sim_euicc_find_profile(e, o->iccid);
			if (k < 0) {
				r->code = P_NOT_FOUND;
			} else if (e->profiles[k].enabled) {
				r->code = P_WRONG_STATE;
			} else if (x->grant &&
				   memcmp(x->grant_previous, o->iccid,
					  EIM_ICCID_LEN) == 0) {
				r->code = P_ROLLBACK_NA;
			} else if (e->fallback_active &&
				   memcmp(e->fallback_return, o->iccid,
					  EIM_ICCID_LEN) == 0) {
				r->code = P_RETURN_FALLBACK;
			} else {
				memmove(&e->profiles[k], &e->profiles[k + 1],
					(e->n_profiles - (size_t)k - 1) *
						sizeof(e->profiles[0]));
				e->n_profiles--;
				if (start_enabled > k)
					start_enabled--;
			}
			break;
		case EIM_PSMO_LIST_PROFILE_INFO: {
			struct eim_buf *b = &x->data[x->n];

			int64_t code = 0;

			r = eim_sim__result(x, EIM_RES_LIST_PROFILE_INFO);
			if ((rc = list_profiles(e, o, b, &code)) < 0)
				return rc;
			/* -1: the data form; the error form is a failure. */
			r->code = code ? code : -1;
			r->data = (struct eim_slice){b->p, b->len};
			break;
		}
		case EIM_PSMO_GET_RAT: {
			struct eim_buf *b = &x->data[x->n];

			/* A card without Profile Policy Rules: an empty RAT. */
			r = eim_sim__result(x, EIM_RES_GET_RAT);
			eim_der_put_empty(b, 0xa6);
			if (b->err)
				return b->err;
			r->code = -1;
			r->data = (struct eim_slice){b->p, b->len};
			break;
		}
		case EIM_PSMO_CONFIGURE_IMMEDIATE_ENABLE:
			r = eim_sim__result(x,
					    EIM_RES_CONFIGURE_IMMEDIATE_ENABLE);
			if ((o->smdp_oid.p &&
			     o->smdp_oid.len > sizeof(e->immediate_smdp_oid)) ||
			    (o->smdp_address.p &&
			     o->smdp_address.len > EIM_SIM_ADDR_MAX)) {
				r->code = 1; /* insufficientMemory */
				break;
			}
			if (o->smdp_address.p &&
			    !eim_sim__text_ok(o->smdp_address)) {
				r->code = CMD_ERROR;
				break;
			}
			e->immediate_enable = o->immediate_enable;
			e->immediate_smdp_oid_len = 0;
			if (o->smdp_oid.p) {
				memcpy(e->immediate_smdp_oid, o->smdp_oid.p,
				       o->smdp_oid.len);
				e->immediate_smdp_oid_len = o->smdp_oid.len;
			}
			memset(e->immediate_smdp_address, 0,
			       sizeof(e->immediate_smdp_address));
			if (o->smdp_address.p)
				memcpy(e->immediate_smdp_address,
				       o->smdp_address.p, o->smdp_address.len);
			break;
		case EIM_PSMO_SET_FALLBACK:
			r = eim_sim__result(x, EIM_RES_SET_FALLBACK);
			k = eim_sim_euicc_find_profile(e, o->iccid);
			fb = fallback_profile(e);
			if (k < 0) {
				r->code = P_NOT_FOUND;
			} else if (!e->profiles[k].fallback_allowed) {
				r->code = FB_NOT_ALLOWED;
			} else if (fb >= 0 && e->profiles[fb].enabled) {
				r->code = FB_ENABLED;
			} else {
				if (fb >= 0)
					e->profiles[fb].fallback = false;
				e->profiles[k].fallback = true;
			}
			break;
		case EIM_PSMO_UNSET_FALLBACK:
			r = eim_sim__result(x, EIM_RES_UNSET_FALLBACK);
			fb = fallback_profile(e);
			if (fb < 0)
				r->code = FB_NONE;
			else if (e->profiles[fb].enabled)
				r->code = FB_ENABLED;
			else
				e->profiles[fb].fallback = false;
			break;
		case EIM_PSMO_SET_DEFAULT_DP:
			r = eim_sim__result(x, EIM_RES_SET_DEFAULT_DP);
			if (o->dp_address.len > EIM_SIM_ADDR_MAX ||
			    (o->dp_address.p &&
			     !eim_sim__text_ok(o->dp_address))) {
				r->code = P_UNDEFINED;
				break;
			}
			memset(e->default_smdp, 0, sizeof(e->default_smdp));
			if (o->dp_address.p)
				memcpy(e->default_smdp, o->dp_address.p,
				       o->dp_address.len);
			break;
		default:
			r = eim_sim__result(x, EIM_RES_PROCESSING_TERMINATED);
			r->code = TERM_DAMAGED;
			break;
		}
		/* Codes above 0 are failures (-1 marks a data result). */
		if (r->code > 0) {
			/* A failed enable grants nothing. */
			if (r->tag == EIM_RES_ENABLE)
				x->grant = false;
			break;
		}
	}
	return 0;
}

/* ----- ES10b functions the IPA calls ----- */

int eim_sim_euicc_rollback(struct eim_sim_euicc *e, struct eim_buf *out)
{
	struct eim_sim_rollback *g;
	struct eim_epr r;
	struct eim_epr_result res;
	int prev, idx, rc;
	int64_t seq;
	size_t start;

	if (!e || !out)
		return EIM_EINVAL;
	g = &e->rollback;
	if (!g->granted || !g->has_previous)
		return EIM_SIM_ROLLBACK_NOT_ALLOWED;
	prev = eim_sim_euicc_find_profile(e, g->previous);
	idx = eim_sim_euicc_find_eim(e, (const uint8_t *)g->eim_id,
				     strlen(g->eim_id));
	if (prev < 0 || idx < 0)
		return EIM_SIM_ROLLBACK_NOT_ALLOWED;
	memset(&res, 0, sizeof(res));
	res.tag = EIM_RES_ROLLBACK;
	res.code = 0;
	memset(&r, 0, sizeof(r));
	r.kind = EIM_EPR_RESULT_SIGNED;
	r.eim_id = (struct eim_slice){(const uint8_t *)g->eim_id,
				      strlen(g->eim_id)};
	r.counter = g->counter;
	if (g->txid_len)
		r.txid = (struct eim_slice){g->txid, g->txid_len};
	r.seq = e->next_seq;
	r.results = &res;
	r.n_results = 1;
	start = out->len;
	rc = eim_epr_encode(&r, e->eims[idx].has_token ? e->eims[idx].token : 0,
			    e->key, out);
	if (rc < 0) {
		out->len = start;
		return rc;
	}
	seq = e->next_seq++;
	/* The rollback result replaces the enable's result. */
	eim_sim_euicc_ack(e, &g->seq, 1);
	if ((rc = eim_sim__store_result(e, seq, out->p + start,
					out->len - start)) < 0) {
		out->len = start;
		return rc;
	}
	switch_to(e, prev);
	memset(g, 0, sizeof(*g));
	e->state_change_cause = 0;
	return EIM_SIM_ROLLBACK_OK;
}

int eim_sim_euicc_execute_fallback(struct eim_sim_euicc *e)
{
	int fb, cur;

	if (!e)
		return EIM_EINVAL;
	fb = fallback_profile(e);
	if (fb < 0)
		return EIM_SIM_FALLBACK_NOT_AVAILABLE;
	if (e->profiles[fb].enabled)
		return EIM_SIM_FALLBACK_NOT_DISABLED;
	cur = eim_sim__enabled(e);
	e->fallback_active = cur >= 0;
	if (cur >= 0)
		memcpy(e->fallback_return, e->profiles[cur].iccid,
		       EIM_ICCID_LEN);
	switch_to(e, fb);
	e->rollback.granted = false;
	e->state_change_cause = 1; /* fallback */
	return EIM_SIM_FALLBACK_OK;
}

int eim_sim_euicc_return_from_fallback(struct eim_sim_euicc *e)
{
	int back, fb;

	if (!e)
		return EIM_EINVAL;
	if (!e->fallback_active)
		return EIM_SIM_FALLBACK_NOT_AVAILABLE;
	back = eim_sim_euicc_find_profile(e, e->fallback_return);
	fb = fallback_profile(e);
	if (back < 0 || fb < 0 || !e->profiles[fb].enabled)
		return EIM_SIM_FALLBACK_NOT_AVAILABLE;
	switch_to(e, back);
	e->fallback_active = false;
	e->rollback.granted = false;
	e->state_change_cause = 1;
	return EIM_SIM_FALLBACK_OK;
}
