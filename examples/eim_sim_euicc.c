/*
 * eim_sim_euicc.c - the IoT eUICC model: lifecycle, AddInitialEim (SGP.32
 * 5.9.4), LoadEuiccPackage checks and eCOs (2.11.1.1, 5.9.1), signed
 * results and their seqNumbers (2.11.2.1), IpaEuiccData (2.11.1.2).
 * PSMOs, rollback and fallback are in eim_sim_psmo.c.
 */
#include "examples/eim_sim_euicc.h"
#include "examples/eim_sim_euicc_int.h"

#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "common/eim_log.h"
#include "proto/eim_der.h"
#include "proto/eim_epr.h"
#include "proto/eim_ipadata.h"

#include <string.h>

/* AddEimResultCode / AddInitialEim error codes (5.9.4, 5.2 of the notes). */
enum {
	ADD_OK = 0,
	ADD_NO_MEMORY = 1,
	ADD_ALREADY_EXISTS = 2,
	ADD_CIPK_UNKNOWN = 3,
	ADD_BAD_TOKEN = 5,
	ADD_COUNTER_RANGE = 6,
	ADD_COMMAND_ERROR = 7,
};
enum {
	DEL_OK = 0,
	DEL_NOT_FOUND = 1,
	DEL_LAST = 2
};
enum {
	UPD_OK = 0,
	UPD_NOT_FOUND = 1,
	UPD_CIPK_UNKNOWN = 3,
	UPD_COUNTER_RANGE = 6,
	UPD_COMMAND_ERROR = 7
};
/* EuiccPackageErrorCode */
enum {
	EPE_INVALID_EID = 3,
	EPE_REPLAY = 4,
	EPE_COUNTER_RANGE = 6
};

static void eim_clear(struct eim_sim_eim *m)
{
	eim_sig_key_free(m->key);
	memset(m, 0, sizeof(*m));
}

int eim_sim_euicc_new(const uint8_t eid[EIM_EID_LEN], const uint8_t *key,
		      size_t key_len, const uint8_t *euicc_cert,
		      size_t euicc_cert_len, const uint8_t *eum_cert,
		      size_t eum_cert_len, struct eim_sim_euicc **ret)
{
	struct eim_sim_euicc *e = NULL;
	struct eim_sig_key *k = NULL;
	struct eim_buf sec1;
	int rc;

	if (!eid || !key || !euicc_cert || !eum_cert || !ret)
		return EIM_EINVAL;
	if ((rc = eim_eid_check(eid)) < 0)
		return rc;
	eim_buf_init(&sec1);
	if ((rc = eim_sig_key_load(key, key_len, &k)) < 0)
		goto fail;
	if (!eim_sig_key_has_private(k)) {
		rc = EIM_ESTATE;
		goto fail;
	}
	e = eim_calloc(1, sizeof(*e));
	if (!e) {
		rc = EIM_ENOMEM;
		goto fail;
	}
	memcpy(e->eid, eid, EIM_EID_LEN);
	e->next_token = 1;
	e->next_seq = 1;
	e->key = k;
	k = NULL;
	if ((rc = eim_sig_key_sec1(e->key, &sec1)) < 0)
		goto fail;
	e->key_der = eim_buf_steal(&sec1, &e->key_der_len);
	/* Certificates may arrive as PEM: keep DER. */
	for (int i = 0; i < 2; i++) {
		const uint8_t *in = i ? eum_cert : euicc_cert;
		size_t n = i ? eum_cert_len : euicc_cert_len;
		uint8_t *der = NULL;
		size_t der_len = 0;
		const char *lab;
		size_t lab_len;

		if (n > 0 && in[0] == 0x30) {
			der = eim_memdup(in, n);
			der_len = n;
			if (!der) {
				rc = EIM_ENOMEM;
				goto fail;
			}
		} else if ((rc = eim_sig_pem_decode((const char *)in, n, &lab,
						    &lab_len, &der, &der_len)) <
			   0) {
			rc = EIM_EMALFORMED;
			goto fail;
		}
		if (i) {
			e->eum_cert = der;
			e->eum_cert_len = der_len;
		} else {
			e->euicc_cert = der;
			e->euicc_cert_len = der_len;
		}
	}
	*ret = e;
	return 0;
fail:
	eim_buf_done(&sec1);
	eim_sig_key_free(k);
	eim_sim_euicc_free(e);
	return rc;
}

void eim_sim_euicc_free(struct eim_sim_euicc *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n_eims; i++)
		eim_clear(&e->eims[i]);
	for (size_t i = 0; i < e->n_results; i++)
		eim_free(e->results[i].der);
	eim_sig_key_free(e->key);
	eim_free_secret(e->key_der, e->key_der_len);
	eim_free(e->euicc_cert);
	eim_free(e->eum_cert);
	eim_free_secret(e, sizeof(*e));
}

int eim_sim_euicc_add_profile(struct eim_sim_euicc *e,
			      const struct eim_sim_profile *p)
{
	if (!e || !p || p->aid_len > sizeof(p->aid))
		return EIM_EINVAL;
	if (eim_sim_euicc_find_profile(e, p->iccid) >= 0)
		return EIM_EEXIST;
	if (e->n_profiles >= EIM_SIM_MAX_PROFILES)
		return EIM_ETOOBIG;
	e->profiles[e->n_profiles] = *p;
	e->profiles[e->n_profiles].enabled = false;
	e->profiles[e->n_profiles].fallback = false;
	e->n_profiles++;
	return 0;
}

int eim_sim_euicc_find_profile(const struct eim_sim_euicc *e,
			       const uint8_t iccid[EIM_ICCID_LEN])
{
	for (size_t i = 0; e && i < e->n_profiles; i++)
		if (memcmp(e->profiles[i].iccid, iccid, EIM_ICCID_LEN) == 0)
			return (int)i;
	return -1;
}

int eim_sim_euicc_find_eim(const struct eim_sim_euicc *e, const uint8_t *id,
			   size_t len)
{
	for (size_t i = 0; e && id && i < e->n_eims; i++)
		if (e->eims[i].eim_id_len == len &&
		    memcmp(e->eims[i].eim_id, id, len) == 0)
			return (int)i;
	return -1;
}

bool eim_sim__text_ok(struct eim_slice s)
{
	size_t i = 0;

	while (i < s.len) {
		uint8_t c = s.p[i];
		uint32_t cp;
		size_t n;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= s.len || (s.p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s.p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* The SKID the configuration names must be our CI's (when we know it). */
static bool ci_known(const struct eim_sim_euicc *e, struct eim_slice pkid)
{
	if (!pkid.p || e->ci_pkid_len == 0)
		return true;
	return pkid.len == e->ci_pkid_len &&
	       memcmp(pkid.p, e->ci_pkid, pkid.len) == 0;
}

/* Re-tags a decoded [0]/[1] key element into dst as a standalone 30. */
static int keydata_copy(struct eim_slice kd, uint8_t *dst, size_t cap,
			size_t *ret_len)
{
	struct eim_buf b = {.p = dst, .cap = cap, .max = cap};

	if (eim_pkg_keydata_der(kd, &b) < 0)
		return EIM_EMALFORMED;
	*ret_len = b.len;
	return 0;
}

int eim_sim_euicc_add_eim(struct eim_sim_euicc *e,
			  const struct eim_eim_config *cfg, bool *ret_has_token,
			  int64_t *ret_token)
{
	struct eim_sim_eim m;

	if (!e || !cfg || !cfg->eim_id.p || cfg->eim_id.len < 1 ||
	    cfg->eim_id.len > EIM_SIM_EIM_ID_MAX ||
	    !eim_sim__text_ok(cfg->eim_id) ||
	    (cfg->fqdn.p && !eim_sim__text_ok(cfg->fqdn)))
		return ADD_COMMAND_ERROR;
	if (eim_sim_euicc_find_eim(e, cfg->eim_id.p, cfg->eim_id.len) >= 0)
		return ADD_ALREADY_EXISTS;
	if (e->n_eims >= EIM_SIM_MAX_EIMS)
		return ADD_NO_MEMORY;
	if (cfg->has_token && cfg->token != -1)
		return ADD_BAD_TOKEN;
	if (cfg->has_counter &&
	    (cfg->counter < 0 || cfg->counter > EIM_PKG_COUNTER_MAX))
		return ADD_COUNTER_RANGE;
	if (!ci_known(e, cfg->ci_pkid))
		return ADD_CIPK_UNKNOWN;
	/* Without a key the eUICC could never verify this eIM's packages. */
	if (cfg->pk_kind == EIM_KEYDATA_NONE || !cfg->pk.p)
		return ADD_COMMAND_ERROR;
	if (cfg->fqdn.p && cfg->fqdn.len > EIM_SIM_FQDN_MAX)
		return ADD_COMMAND_ERROR;
	memset(&m, 0, sizeof(m));
	memcpy(m.eim_id, cfg->eim_id.p, cfg->eim_id.len);
	m.eim_id_len = cfg->eim_id.len;
	if (cfg->fqdn.p)
		memcpy(m.fqdn, cfg->fqdn.p, cfg->fqdn.len);
	m.id_type = cfg->id_type;
	m.counter = cfg->has_counter ? cfg->counter : 0;
	m.key_kind = cfg->pk_kind;
	if (keydata_copy(cfg->pk, m.key_data, sizeof(m.key_data),
			 &m.key_data_len) < 0 ||
	    eim_sig_key_load(m.key_data, m.key_data_len, &m.key) < 0)
		return ADD_COMMAND_ERROR;
	if (cfg->tls_kind != EIM_KEYDATA_NONE && cfg->tls.p) {
		m.tls_kind = cfg->tls_kind;
		if (keydata_copy(cfg->tls, m.tls_data, sizeof(m.tls_data),
				 &m.tls_data_len) < 0) {
			eim_sig_key_free(m.key);
			return ADD_COMMAND_ERROR;
		}
	}
	if (cfg->protocols.p) {
		if (cfg->protocols.len > sizeof(m.protocols)) {
			eim_sig_key_free(m.key);
			return ADD_COMMAND_ERROR;
		}
		memcpy(m.protocols, cfg->protocols.p, cfg->protocols.len);
		m.protocols_len = cfg->protocols.len;
	}
	m.indirect_download = cfg->indirect_download;
	if (cfg->has_token) {
		m.has_token = true;
		m.token = e->next_token++;
	}
	e->eims[e->n_eims++] = m;
	*ret_has_token = m.has_token;
	*ret_token = m.token;
	return ADD_OK;
}

static void eim_remove(struct eim_sim_euicc *e, size_t i)
{
	eim_clear(&e->eims[i]);
	memmove(&e->eims[i], &e->eims[i + 1],
		(e->n_eims - i - 1) * sizeof(e->eims[0]));
	e->n_eims--;
	memset(&e->eims[e->n_eims], 0, sizeof(e->eims[0]));
}

int eim_sim_euicc_add_initial_eim(struct eim_sim_euicc *e, const uint8_t *req,
				  size_t len, struct eim_buf *out)
{
	struct eim_add_initial_req r;
	struct eim_add_initial_resp resp;
	int rc;

	if (!e || !req || !out)
		return EIM_EINVAL;
	if ((rc = eim_add_initial_req_decode(req, len, NULL, &r)) < 0)
		return rc;
	memset(&resp, 0, sizeof(resp));
	if (e->n_eims > 0) {
		resp.is_error = true;
		resp.error_code = ADD_ALREADY_EXISTS;
	} else if (r.n == 0 || r.n > EIM_SIM_MAX_EIMS) {
		resp.is_error = true;
		resp.error_code = r.n ? ADD_NO_MEMORY : ADD_COMMAND_ERROR;
	} else {
		int64_t token_mark = e->next_token;

		for (size_t i = 0; i < r.n; i++) {
			bool has;
			int64_t tok;
			int code =
				eim_sim_euicc_add_eim(e, &r.cfg[i], &has, &tok);
			if (code != ADD_OK) {
				/* All or nothing: undo the ones added. */
				while (e->n_eims > 0)
					eim_remove(e, e->n_eims - 1);
				e->next_token = token_mark;
				resp.is_error = true;
				resp.error_code = code;
				break;
			}
			resp.entry[i].has_token = has;
			resp.entry[i].token = tok;
			resp.n = i + 1;
		}
	}
	if (resp.is_error)
		resp.n = 0;
	return eim_add_initial_resp_encode(&resp, out);
}

/* ----- results ----- */

struct eim_epr_result *eim_sim__result(struct eim_sim_exec *x, uint32_t tag)
{
	struct eim_epr_result *r = &x->res[x->n++];

	memset(r, 0, sizeof(*r));
	r->tag = tag;
	return r;
}

static void exec_done(struct eim_sim_exec *x)
{
	for (size_t i = 0; i < EIM_PKG_MAX_OPS; i++)
		eim_buf_done(&x->data[i]);
}

/* Keeps a signed result until acknowledged; drops the oldest when full. */
int eim_sim__store_result(struct eim_sim_euicc *e, int64_t seq,
			  const uint8_t *der, size_t len)
{
	uint8_t *copy = eim_memdup(der, len);

	if (!copy)
		return EIM_ENOMEM;
	if (e->n_results == EIM_SIM_MAX_RESULTS) {
		eim_free(e->results[0].der);
		memmove(&e->results[0], &e->results[1],
			(e->n_results - 1) * sizeof(e->results[0]));
		e->n_results--;
	}
	e->results[e->n_results].seq = seq;
	e->results[e->n_results].der = copy;
	e->results[e->n_results].len = len;
	e->n_results++;
	return 0;
}

size_t eim_sim_euicc_ack(struct eim_sim_euicc *e, const int64_t *seq, size_t n)
{
	size_t dropped = 0;

	if (!e || !seq)
		return 0;
	for (size_t k = 0; k < n; k++) {
		for (size_t i = 0; i < e->n_results; i++) {
			if (e->results[i].seq != seq[k])
				continue;
			eim_free(e->results[i].der);
			memmove(&e->results[i], &e->results[i + 1],
				(e->n_results - i - 1) * sizeof(e->results[0]));
			e->n_results--;
			dropped++;
			break;
		}
	}
	return dropped;
}

int eim_sim_euicc_results(const struct eim_sim_euicc *e, struct eim_buf *out)
{
	if (!e || !out)
		return EIM_EINVAL;
	for (size_t i = 0; i < e->n_results; i++)
		eim_buf_append(out, e->results[i].der, e->results[i].len);
	return out->err;
}

static int64_t token_of(const struct eim_sim_eim *m)
{
	return m->has_token ? m->token : 0;
}

/* ----- eCOs ----- */

static int eco_update(struct eim_sim_euicc *e, const struct eim_eim_config *c)
{
	struct eim_sim_eim n;
	int i = eim_sim_euicc_find_eim(e, c->eim_id.p, c->eim_id.len);
	bool changed = false, new_key = false;

	if (i < 0)
		return UPD_NOT_FOUND;
	/* The association token belongs to the eUICC, never to an update. */
	if (c->has_token)
		return UPD_COMMAND_ERROR;
	if (!ci_known(e, c->ci_pkid))
		return UPD_CIPK_UNKNOWN;
	if (c->has_counter &&
	    (c->counter < 0 || c->counter > EIM_PKG_COUNTER_MAX))
		return UPD_COUNTER_RANGE;
	n = e->eims[i];
	n.key = NULL;
	if (c->fqdn.p) {
		if (c->fqdn.len > EIM_SIM_FQDN_MAX ||
		    !eim_sim__text_ok(c->fqdn))
			return UPD_COMMAND_ERROR;
		changed |= strlen(n.fqdn) != c->fqdn.len ||
			   memcmp(n.fqdn, c->fqdn.p, c->fqdn.len) != 0;
		memset(n.fqdn, 0, sizeof(n.fqdn));
		memcpy(n.fqdn, c->fqdn.p, c->fqdn.len);
	}
	if (c->id_type && c->id_type != n.id_type) {
		n.id_type = c->id_type;
		changed = true;
	}
	if (c->pk_kind != EIM_KEYDATA_NONE && c->pk.p) {
		uint8_t kd[EIM_SIM_KEYDATA_MAX];
		size_t kl;

		if (keydata_copy(c->pk, kd, sizeof(kd), &kl) < 0)
			return UPD_COMMAND_ERROR;
		if (kl != n.key_data_len || memcmp(kd, n.key_data, kl) != 0) {
			memcpy(n.key_data, kd, kl);
			n.key_data_len = kl;
			n.key_kind = c->pk_kind;
			new_key = changed = true;
		}
	}
	if (c->tls_kind != EIM_KEYDATA_NONE && c->tls.p) {
		uint8_t kd[EIM_SIM_KEYDATA_MAX];
		size_t kl;

		if (keydata_copy(c->tls, kd, sizeof(kd), &kl) < 0)
			return UPD_COMMAND_ERROR;
		if (kl != n.tls_data_len || memcmp(kd, n.tls_data, kl) != 0) {
			memcpy(n.tls_data, kd, kl);
			n.tls_data_len = kl;
			n.tls_kind = c->tls_kind;
			changed = true;
		}
	}
	if (c->has_counter && c->counter != n.counter) {
		/*
		 * Lowering the counter re-opens old counter values: only
		 * together with a new key, so that nothing signed before
		 * can be replayed (the reading of public eUICC emulations).
		 */
		if (c->counter < n.counter && !new_key)
			return UPD_COMMAND_ERROR;
		n.counter = c->counter;
		changed = true;
	}
	if (c->protocols.p) {
		if (c->protocols.len > sizeof(n.protocols))
			return UPD_COMMAND_ERROR;
		changed |= c->protocols.len != n.protocols_len ||
			   memcmp(c->protocols.p, n.protocols,
				  c->protocols.len) != 0;
		memcpy(n.protocols, c->protocols.p, c->protocols.len);
		n.protocols_len = c->protocols.len;
	}
	if (c->indirect_download && !n.indirect_download) {
		n.indirect_download = true;
		changed = true;
	}
	if (!changed)
		return UPD_COMMAND_ERROR;
	if (new_key) {
		if (eim_sig_key_load(n.key_data, n.key_data_len, &n.key) < 0)
			return UPD_COMMAND_ERROR;
		eim_sig_key_free(e->eims[i].key);
	} else {
		n.key = e->eims[i].key;
	}
	e->eims[i] = n;
	return UPD_OK;
}

static int eco_list(const struct eim_sim_euicc *e, struct eim_buf *b)
{
	size_t top = eim_der_open(b, 0xab), list = eim_der_open(b, 0xa0);

	for (size_t i = 0; i < e->n_eims; i++) {
		size_t m = eim_der_open(b, 0x30);
		eim_der_put(b, 0x80, e->eims[i].eim_id, e->eims[i].eim_id_len);
		if (e->eims[i].id_type)
			eim_der_put_int(b, 0x82, e->eims[i].id_type);
		eim_der_close(b, m);
	}
	eim_der_close(b, list);
	eim_der_close(b, top);
	return b->err;
}

/* Runs the eCOs for the eIM at index `self`; stops at the first failure. */
static int run_ecos(struct eim_sim_euicc *e, const struct eim_pkg *pkg,
		    size_t self, struct eim_sim_exec *x)
{
	char self_id[EIM_SIM_EIM_ID_MAX];
	size_t self_len = e->eims[self].eim_id_len;
	int rc;

	/* Copied: deleting another eIM moves the table under us. */
	memcpy(self_id, e->eims[self].eim_id, self_len);

	for (size_t i = 0; i < pkg->n_ops; i++) {
		const struct eim_eco *o = &pkg->eco[i];
		struct eim_epr_result *r;
		bool ok = true;

		switch (o->kind) {
		case EIM_ECO_ADD_EIM: {
			bool has = false;
			int64_t tok = 0;
			int code =
				eim_sim_euicc_add_eim(e, &o->cfg, &has, &tok);

			/* A deferred self-deletion keeps the name taken. */
			r = eim_sim__result(x, EIM_RES_ADD_EIM);
			r->code = code;
			if (code == ADD_OK && has) {
				r->has_token = true;
				r->token = tok;
				r->code = -1;
			}
			ok = code == ADD_OK;
			break;
		}
		case EIM_ECO_DELETE_EIM: {
			int k = eim_sim_euicc_find_eim(e, o->eim_id.p,
						       o->eim_id.len);
			size_t live = e->n_eims - (x->delete_self ? 1 : 0);

			r = eim_sim__result(x, EIM_RES_DELETE_EIM);
			if (k < 0 || (x->delete_self && (size_t)k == self)) {
				r->code = DEL_NOT_FOUND;
				ok = false;
				break;
			}
			r->code = live == 1 ? DEL_LAST : DEL_OK;
			if ((size_t)k == self) {
				/* Signed with this association, removed after.
				 */
				x->delete_self = true;
			} else {
				eim_remove(e, (size_t)k);
				if ((size_t)k < self)
					self--;
			}
			break;
		}
		case EIM_ECO_UPDATE_EIM:
			r = eim_sim__result(x, EIM_RES_UPDATE_EIM);
			r->code = eco_update(e, &o->cfg);
			ok = r->code == UPD_OK;
			break;
		case EIM_ECO_LIST_EIM: {
			struct eim_buf *b = &x->data[x->n];

			r = eim_sim__result(x, EIM_RES_LIST_EIM);
			if ((rc = eco_list(e, b)) < 0)
				return rc;
			r->code = -1;
			r->data.p = b->p;
			r->data.len = b->len;
			break;
		}
		default:
			r = eim_sim__result(x, EIM_RES_PROCESSING_TERMINATED);
			r->code = 2; /* unknownOrDamagedCommand */
			ok = false;
			break;
		}
		/* The requesting eIM may have moved in the table. */
		self = (size_t)eim_sim_euicc_find_eim(e,
						      (const uint8_t *)self_id,
						      self_len);
		if (!ok)
			break;
	}
	return 0;
}

/* ----- LoadEuiccPackage ----- */

static int unsigned_error(const struct eim_pkg_view *v,
			  const struct eim_sim_eim *m, struct eim_buf *out)
{
	struct eim_epr r;

	memset(&r, 0, sizeof(r));
	r.kind = EIM_EPR_ERROR_UNSIGNED;
	r.eim_id = v->pkg.eim_id;
	r.txid = v->pkg.txid;
	r.error_code = -1; /* v1.2 has no code in the unsigned form */
	/* The token of a known association lets the eIM resynchronise. */
	if (m && m->has_token) {
		r.has_token = true;
		r.token = m->token;
	}
	return eim_epr_encode(&r, 0, NULL, out);
}

static int signed_error(struct eim_sim_euicc *e, const struct eim_pkg_view *v,
			const struct eim_sim_eim *m, int64_t code,
			struct eim_buf *out)
{
	struct eim_epr r;

	memset(&r, 0, sizeof(r));
	r.kind = EIM_EPR_ERROR_SIGNED;
	r.eim_id = v->pkg.eim_id;
	r.counter = v->pkg.counter;
	r.txid = v->pkg.txid;
	r.error_code = code;
	return eim_epr_encode(&r, token_of(m), e->key, out);
}

int eim_sim_euicc_load_package(struct eim_sim_euicc *e, const uint8_t *pkg,
			       size_t len, struct eim_buf *out,
			       int64_t *ret_seq)
{
	struct eim_pkg_view v;
	struct eim_sim_exec *x = NULL;
	struct eim_sim_eim *m;
	struct eim_epr r;
	size_t start;
	int64_t seq = -1;
	int idx, rc;

	if (!e || !pkg || !out)
		return EIM_EINVAL;
	if ((rc = eim_pkg_decode(pkg, len, NULL, &v)) < 0)
		return rc;
	start = out->len;
	idx = eim_sim_euicc_find_eim(e, v.pkg.eim_id.p, v.pkg.eim_id.len);
	m = idx >= 0 ? &e->eims[idx] : NULL;
	if (!m || eim_pkg_verify(&v, token_of(m), m->key) != 0) {
		eim_debug("sim: package from '%.*s' not authenticated",
			  (int)v.pkg.eim_id.len, (const char *)v.pkg.eim_id.p);
		rc = unsigned_error(&v, m, out);
		goto out;
	}
	if (memcmp(v.pkg.eid, e->eid, EIM_EID_LEN) != 0) {
		rc = signed_error(e, &v, m, EPE_INVALID_EID, out);
		goto out;
	}
	if (v.pkg.counter <= m->counter) {
		rc = signed_error(e, &v, m, EPE_REPLAY, out);
		goto out;
	}
	if (v.pkg.counter > EIM_PKG_COUNTER_MAX) {
		rc = signed_error(e, &v, m, EPE_COUNTER_RANGE, out);
		goto out;
	}
	/* Accepted: the counter is spent whatever the operations do. */
	m->counter = v.pkg.counter;
	e->rollback.granted = false;
	x = eim_calloc(1, sizeof(*x));
	if (!x) {
		rc = EIM_ENOMEM;
		goto out;
	}
	if (v.pkg.is_eco)
		rc = run_ecos(e, &v.pkg, (size_t)idx, x);
	else
		rc = eim_sim__run_psmos(e, &v.pkg, x);
	if (rc < 0)
		goto out;
	/* eCOs may have moved the requesting eIM in the table. */
	idx = eim_sim_euicc_find_eim(e, v.pkg.eim_id.p, v.pkg.eim_id.len);
	m = &e->eims[idx];
	memset(&r, 0, sizeof(r));
	r.kind = EIM_EPR_RESULT_SIGNED;
	r.eim_id = v.pkg.eim_id;
	r.counter = v.pkg.counter;
	r.txid = v.pkg.txid;
	r.seq = e->next_seq;
	r.results = x->res;
	r.n_results = x->n;
	if ((rc = eim_epr_encode(&r, token_of(m), e->key, out)) < 0)
		goto out;
	seq = e->next_seq++;
	if ((rc = eim_sim__store_result(e, seq, out->p + start,
					out->len - start)) < 0)
		goto out;
	if (x->grant) {
		struct eim_sim_rollback *g = &e->rollback;

		memset(g, 0, sizeof(*g));
		g->granted = true;
		g->has_previous = x->grant_has_previous;
		memcpy(g->previous, x->grant_previous, EIM_ICCID_LEN);
		memcpy(g->enabled, x->grant_enabled, EIM_ICCID_LEN);
		g->seq = seq;
		memcpy(g->eim_id, m->eim_id, m->eim_id_len);
		g->counter = v.pkg.counter;
		if (v.pkg.txid.p) {
			memcpy(g->txid, v.pkg.txid.p, v.pkg.txid.len);
			g->txid_len = v.pkg.txid.len;
		}
	}
	if (x->delete_self)
		eim_remove(e, (size_t)idx);
out:
	if (rc < 0)
		out->len = start;
	else if (ret_seq)
		*ret_seq = seq;
	if (x) {
		exec_done(x);
		eim_free(x);
	}
	eim_pkg_view_done(&v);
	return rc;
}

/* ----- IpaEuiccData ----- */

/* Reads the next BER tag (1..3 bytes) of a tagList. */
static int next_tag(const uint8_t **p, const uint8_t *end, uint32_t *ret)
{
	uint32_t t;
	size_t k = 0;

	if (*p >= end)
		return EIM_ETRUNC;
	t = *(*p)++;
	if ((t & 0x1f) == 0x1f) {
		do {
			if (*p >= end || ++k > 2)
				return EIM_EMALFORMED;
			t = (t << 8) | **p;
		} while (*(*p)++ & 0x80);
	}
	*ret = t;
	return 0;
}

/* EUICCInfo1 (SGP.22): svn and the CI lists for verification/signing. */
static void put_info1(const struct eim_sim_euicc *e, struct eim_buf *b)
{
	static const uint8_t svn[] = {0x02, 0x05, 0x00};
	size_t top = eim_der_open(b, 0xbf20), m;

	eim_der_put(b, 0x82, svn, sizeof(svn));
	for (uint32_t tag = 0xa9; tag <= 0xaa; tag++) {
		m = eim_der_open(b, tag);
		if (e->ci_pkid_len)
			eim_der_put(b, 0x04, e->ci_pkid, e->ci_pkid_len);
		eim_der_close(b, m);
	}
	eim_der_close(b, top);
}

/*
 * A minimal EUICCInfo2: the mandatory SGP.22 fields with plausible values
 * for a test card. Not a claim about any real product.
 */
static void put_info2(const struct eim_sim_euicc *e, struct eim_buf *b)
{
	static const uint8_t pver[] = {0x02, 0x03, 0x00};
	static const uint8_t svn[] = {0x02, 0x05, 0x00};
	static const uint8_t fw[] = {0x01, 0x00, 0x00};
	static const uint8_t ext[] = {0x81, 0x01, 0x00, 0x82, 0x01, 0x10};
	static const uint8_t uicc_cap[] = {0x06, 0x00, 0x00};
	static const uint8_t rsp_cap[] = {0x06, 0x00};
	static const uint8_t pp[] = {0x01, 0x00, 0x00};
	static const char sas[] = "EIM-SIM-TEST";
	size_t top = eim_der_open(b, 0xbf22), m;

	eim_der_put(b, 0x81, pver, sizeof(pver));
	eim_der_put(b, 0x82, svn, sizeof(svn));
	eim_der_put(b, 0x83, fw, sizeof(fw));
	eim_der_put(b, 0x84, ext, sizeof(ext));
	eim_der_put(b, 0x85, uicc_cap, sizeof(uicc_cap));
	eim_der_put(b, 0x88, rsp_cap, sizeof(rsp_cap));
	for (uint32_t tag = 0xa9; tag <= 0xaa; tag++) {
		m = eim_der_open(b, tag);
		if (e->ci_pkid_len)
			eim_der_put(b, 0x04, e->ci_pkid, e->ci_pkid_len);
		eim_der_close(b, m);
	}
	eim_der_put(b, 0x04, pp, sizeof(pp));
	eim_der_put(b, 0x0c, sas, sizeof(sas) - 1);
	eim_der_close(b, top);
}

int eim_sim_euicc_ipa_data(struct eim_sim_euicc *e, const uint8_t *req,
			   size_t len, const uint8_t *eim_id, size_t eim_id_len,
			   struct eim_buf *out)
{
	struct eim_der_cur c;
	struct eim_der_tlv t;
	struct eim_ipadata_req q;
	struct eim_ipadata d;
	struct eim_buf eprs, info1, info2, eum, euicc, notif;
	const uint8_t *p, *end;
	int rc, idx;

	if (!e || !req || !out)
		return EIM_EINVAL;
	eim_der_cur_init(&c, req, len, NULL);
	if ((rc = eim_der_expect(&c, 0xbf52, &t)) < 0 ||
	    (rc = eim_der_finish(&c)) < 0 ||
	    (rc = eim_ipadata_req_decode(&c, &t, &q)) < 0)
		return rc;
	eim_buf_init(&eprs);
	eim_buf_init(&info1);
	eim_buf_init(&info2);
	eim_buf_init(&eum);
	eim_buf_init(&euicc);
	eim_buf_init(&notif);
	memset(&d, 0, sizeof(d));
	p = q.tag_list.p;
	end = p + q.tag_list.len;
	while (p < end && !d.is_error) {
		uint32_t tag;

		if (next_tag(&p, end, &tag) < 0) {
			d.is_error = true;
			break;
		}
		switch (tag) {
		case 0xa0: /* no notifications are modelled: an empty list */
			eim_der_put_empty(&notif, 0xa0);
			d.notifications =
				(struct eim_slice){notif.p, notif.len};
			break;
		case 0x81:
			if (e->default_smdp[0])
				d.default_smdp = (struct eim_slice){
					(const uint8_t *)e->default_smdp,
					strlen(e->default_smdp)};
			break;
		case 0xa2: {
			size_t m = eim_der_open(&eprs, 0xa2);
			for (size_t i = 0; i < e->n_results; i++)
				if (!q.has_epr_seq ||
				    e->results[i].seq == q.epr_seq)
					eim_buf_append(&eprs, e->results[i].der,
						       e->results[i].len);
			eim_der_close(&eprs, m);
			d.epr_list = (struct eim_slice){eprs.p, eprs.len};
			break;
		}
		case 0xbf20:
			put_info1(e, &info1);
			d.euicc_info1 = (struct eim_slice){info1.p, info1.len};
			break;
		case 0xbf22:
			put_info2(e, &info2);
			d.euicc_info2 = (struct eim_slice){info2.p, info2.len};
			break;
		case 0x83:
			if (e->root_smds[0])
				d.root_smds = (struct eim_slice){
					(const uint8_t *)e->root_smds,
					strlen(e->root_smds)};
			break;
		case 0x84:
			idx = eim_sim_euicc_find_eim(e, eim_id, eim_id_len);
			if (idx >= 0 && e->eims[idx].has_token) {
				d.has_token = true;
				d.token = e->eims[idx].token;
			}
			break;
		case 0xa5:
			eim_der_put_retagged(&eum, 0xa5, e->eum_cert,
					     e->eum_cert_len);
			d.eum_cert = (struct eim_slice){eum.p, eum.len};
			break;
		case 0xa6:
			eim_der_put_retagged(&euicc, 0xa6, e->euicc_cert,
					     e->euicc_cert_len);
			d.euicc_cert = (struct eim_slice){euicc.p, euicc.len};
			break;
		case 0x87: /* the txid is echoed below anyway */
		case 0xa8: /* ipaCapabilities, deviceInfo: the IPA's part */
		case 0xa9:
			break;
		default:
			d.is_error = true;
			break;
		}
	}
	if (eprs.err || info1.err || info2.err || eum.err || euicc.err ||
	    notif.err) {
		rc = EIM_ENOMEM;
		goto out;
	}
	if (d.is_error) {
		memset(&d, 0, sizeof(d));
		d.is_error = true;
		d.err_code = 1; /* incorrectTagList */
		d.err_txid = q.txid;
	} else {
		d.txid = q.txid;
	}
	rc = eim_ipadata_encode(&d, out);
out:
	eim_buf_done(&eprs);
	eim_buf_done(&info1);
	eim_buf_done(&info2);
	eim_buf_done(&eum);
	eim_buf_done(&euicc);
	eim_buf_done(&notif);
	return rc;
}
