/*
 * test_sim_euicc.c - the IoT eUICC model with real crypto: packages built
 * and signed by proto's eim_pkg_build (the eIM's own code path), results
 * verified with proto's eim_epr_verify and the eUICC key taken from the
 * generated certificate chain. Every PSMO and eCO with its success and
 * error codes, the order of the package checks, malformed twins.
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "examples/eim_sim_euicc.h"
#include "examples/eim_sim_pki.h"
#include "proto/eim_cert.h"
#include "proto/eim_der.h"
#include "proto/eim_epr.h"
#include "proto/eim_ids.h"
#include "proto/eim_ipadata.h"
#include "proto/eim_pkg.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

static struct eim_sim_pki pki;
static struct eim_sim_cred cred;
static struct eim_sig_key *key_a, *key_b, *euicc_pub;
static uint8_t eid[EIM_EID_LEN], other_eid[EIM_EID_LEN];
static uint8_t P1[EIM_ICCID_LEN], P2[EIM_ICCID_LEN], P3[EIM_ICCID_LEN];

/* Per test. */
static struct eim_sim_euicc *e;
static struct eim_buf out;
static struct eim_epr res;
static int64_t last_seq;

#define A "eim-a.example"
#define B "eim-b.example"
#define S(str) ((struct eim_slice){(const uint8_t *)(str), strlen(str)})

/* True when the bytes of `s` contain the string `needle`. */
static bool eim_test_contains_mem(struct eim_slice s, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= s.len; i++)
		if (memcmp(s.p + i, needle, n) == 0)
			return true;
	return false;
}

static void spki(struct eim_sig_key *k, struct eim_buf *b)
{
	eim_buf_init(b);
	ck_assert_int_eq(eim_sig_key_spki(k, b), 0);
}

/* AddInitialEim for one eIM; returns the response bytes in `out`. */
static int add_initial(const char *id, struct eim_sig_key *k, bool token)
{
	struct eim_add_initial_req r;
	struct eim_buf req, pk;
	int rc;

	memset(&r, 0, sizeof(r));
	spki(k, &pk);
	r.n = 1;
	r.cfg[0].eim_id = S(id);
	r.cfg[0].pk_kind = EIM_KEYDATA_SPKI;
	r.cfg[0].pk = (struct eim_slice){pk.p, pk.len};
	r.cfg[0].has_token = token;
	r.cfg[0].token = -1;
	eim_buf_init(&req);
	ck_assert_int_eq(eim_add_initial_req_encode(&r, &req), 0);
	eim_buf_reset(&out);
	rc = eim_sim_euicc_add_initial_eim(e, req.p, req.len, &out);
	eim_buf_done(&req);
	eim_buf_done(&pk);
	return rc;
}

static void setup(void)
{
	struct eim_sim_profile p;

	ck_assert_int_eq(eim_sim_euicc_new(eid, cred.key, cred.key_len,
					   cred.cert, cred.cert_len,
					   pki.eum.cert, pki.eum.cert_len, &e),
			 0);
	ck_assert_int_eq(eim_sim_cert_skid(pki.ci.cert, pki.ci.cert_len,
					   e->ci_pkid, sizeof(e->ci_pkid),
					   &e->ci_pkid_len),
			 0);
	eim_buf_init(&out);
	memset(&res, 0, sizeof(res));
	memset(&p, 0, sizeof(p));
	memcpy(p.iccid, P1, EIM_ICCID_LEN);
	strcpy(p.name, "Operational One");
	strcpy(p.sp_name, "Operator A");
	p.profile_class = EIM_SIM_CLASS_OPERATIONAL;
	ck_assert_int_eq(eim_sim_euicc_add_profile(e, &p), 0);
	memcpy(p.iccid, P2, EIM_ICCID_LEN);
	strcpy(p.name, "Operational Two");
	ck_assert_int_eq(eim_sim_euicc_add_profile(e, &p), 0);
	memcpy(p.iccid, P3, EIM_ICCID_LEN);
	strcpy(p.name, "Provisioning");
	p.profile_class = EIM_SIM_CLASS_PROVISIONING;
	p.fallback_allowed = true;
	ck_assert_int_eq(eim_sim_euicc_add_profile(e, &p), 0);
	ck_assert_int_eq(eim_sim_euicc_add_profile(e, &p), EIM_EEXIST);
	ck_assert_int_eq(add_initial(A, key_a, true), 0);
}

static void teardown(void)
{
	eim_epr_done(&res);
	eim_buf_done(&out);
	eim_sim_euicc_free(e);
	e = NULL;
}

/* Loads package bytes; on success decodes the result into `res`. */
static int load(const uint8_t *pkg, size_t n)
{
	int rc;

	eim_epr_done(&res);
	memset(&res, 0, sizeof(res));
	eim_buf_reset(&out);
	last_seq = -2;
	rc = eim_sim_euicc_load_package(e, pkg, n, &out, &last_seq);
	if (rc == 0)
		ck_assert_int_eq(eim_epr_decode(out.p, out.len, NULL, &res), 0);
	return rc;
}

static int64_t token_for(const char *id)
{
	int i = eim_sim_euicc_find_eim(e, (const uint8_t *)id, strlen(id));
	return i >= 0 && e->eims[i].has_token ? e->eims[i].token : 0;
}

/* Builds with eim_pkg_build, loads, checks the signature of the result. */
static void send(const char *id, struct eim_sig_key *k, const uint8_t *to,
		 int64_t counter, bool is_eco, const void *ops, size_t n)
{
	struct eim_pkg pkg;
	struct eim_buf b;
	int64_t tok = token_for(id);

	memset(&pkg, 0, sizeof(pkg));
	pkg.eim_id = S(id);
	memcpy(pkg.eid, to, EIM_EID_LEN);
	pkg.counter = counter;
	pkg.txid = S("tx-42");
	pkg.is_eco = is_eco;
	if (is_eco)
		pkg.eco = ops;
	else
		pkg.psmo = ops;
	pkg.n_ops = n;
	eim_buf_init(&b);
	ck_assert_int_eq(eim_pkg_build(&pkg, tok, k, &b), 0);
	ck_assert_int_eq(load(b.p, b.len), 0);
	eim_buf_done(&b);
	if (res.kind != EIM_EPR_ERROR_UNSIGNED) {
		ck_assert_int_eq(eim_epr_verify(&res, tok, euicc_pub), 0);
		ck_assert_uint_eq(res.eim_id.len, strlen(id));
		ck_assert_mem_eq(res.eim_id.p, id, strlen(id));
		ck_assert_int_eq(res.counter, counter);
		ck_assert_uint_eq(res.txid.len, 5);
		ck_assert_mem_eq(res.txid.p, "tx-42", 5);
	}
}

static void psmo(int64_t counter, const struct eim_psmo *ops, size_t n)
{
	send(A, key_a, eid, counter, false, ops, n);
	ck_assert_int_eq(res.kind, EIM_EPR_RESULT_SIGNED);
}

static struct eim_psmo op(enum eim_psmo_kind kind, const uint8_t *iccid)
{
	struct eim_psmo o;

	memset(&o, 0, sizeof(o));
	o.kind = kind;
	if (iccid)
		memcpy(o.iccid, iccid, EIM_ICCID_LEN);
	return o;
}

/* One PSMO in its own package; returns its result code. */
static int64_t one(int64_t counter, struct eim_psmo o)
{
	psmo(counter, &o, 1);
	ck_assert_uint_eq(res.n_results, 1);
	return res.results[0].code;
}

static bool enabled(const uint8_t *iccid)
{
	int i = eim_sim_euicc_find_profile(e, iccid);
	ck_assert_int_ge(i, 0);
	return e->profiles[i].enabled;
}

/* ----- bootstrap ----- */

START_TEST(bootstrap_generates_token)
{
	struct eim_add_initial_resp r;

	ck_assert_int_eq(eim_add_initial_resp_decode(out.p, out.len, NULL, &r),
			 0);
	ck_assert(!r.is_error);
	ck_assert_uint_eq(r.n, 1);
	ck_assert(r.entry[0].has_token);
	ck_assert_int_eq(r.entry[0].token, 1);
	ck_assert_uint_eq(e->n_eims, 1);
	ck_assert_int_eq(e->eims[0].counter, 0);
	/* A second bootstrap is refused while an eIM is associated. */
	ck_assert_int_eq(add_initial(B, key_b, false), 0);
	ck_assert_int_eq(eim_add_initial_resp_decode(out.p, out.len, NULL, &r),
			 0);
	ck_assert(r.is_error);
	ck_assert_int_eq(r.error_code, 2);
	ck_assert_uint_eq(e->n_eims, 1);
}
END_TEST

START_TEST(bootstrap_malformed_and_all_or_nothing)
{
	struct eim_sim_euicc *f;
	struct eim_add_initial_req r;
	struct eim_add_initial_resp rr;
	struct eim_buf req, pk;

	ck_assert_int_eq(eim_sim_euicc_new(eid, cred.key, cred.key_len,
					   cred.cert, cred.cert_len,
					   pki.eum.cert, pki.eum.cert_len, &f),
			 0);
	spki(key_a, &pk);
	memset(&r, 0, sizeof(r));
	r.n = 2;
	r.cfg[0].eim_id = S(A);
	r.cfg[0].pk_kind = EIM_KEYDATA_SPKI;
	r.cfg[0].pk = (struct eim_slice){pk.p, pk.len};
	r.cfg[1] = r.cfg[0];
	r.cfg[1].eim_id = S(B);
	r.cfg[1].has_token = true;
	r.cfg[1].token = 5; /* only -1 (please generate) is allowed */
	eim_buf_init(&req);
	ck_assert_int_eq(eim_add_initial_req_encode(&r, &req), 0);
	eim_buf_reset(&out);
	/* Truncated and wrong-tag twins: no response, nothing stored. */
	ck_assert_int_lt(eim_sim_euicc_add_initial_eim(f, req.p, req.len - 1,
						       &out),
			 0);
	req.p[0] = 0xbf;
	req.p[1] = 0x58;
	ck_assert_int_eq(eim_sim_euicc_add_initial_eim(f, req.p, req.len, &out),
			 EIM_ETAG);
	req.p[1] = 0x57;
	ck_assert_uint_eq(out.len, 0);
	ck_assert_int_eq(eim_sim_euicc_add_initial_eim(f, req.p, req.len, &out),
			 0);
	ck_assert_int_eq(eim_add_initial_resp_decode(out.p, out.len, NULL, &rr),
			 0);
	ck_assert(rr.is_error);
	ck_assert_int_eq(rr.error_code, 5);
	ck_assert_uint_eq(f->n_eims, 0);
	/* Without a token request: addOk, no token. */
	r.n = 1;
	eim_buf_reset(&req);
	ck_assert_int_eq(eim_add_initial_req_encode(&r, &req), 0);
	eim_buf_reset(&out);
	ck_assert_int_eq(eim_sim_euicc_add_initial_eim(f, req.p, req.len, &out),
			 0);
	ck_assert_int_eq(eim_add_initial_resp_decode(out.p, out.len, NULL, &rr),
			 0);
	ck_assert(!rr.is_error);
	ck_assert(!rr.entry[0].has_token);
	ck_assert(!f->eims[0].has_token);
	eim_buf_done(&req);
	eim_buf_done(&pk);
	eim_sim_euicc_free(f);
}
END_TEST

/* ----- the package checks, in order ----- */

START_TEST(accepted_and_signed)
{
	struct eim_psmo o = op(EIM_PSMO_GET_RAT, NULL);

	psmo(1, &o, 1);
	ck_assert_int_eq(res.seq, 1);
	ck_assert_int_eq(last_seq, 1);
	ck_assert_uint_eq(res.n_results, 1);
	ck_assert_uint_eq(res.results[0].tag, EIM_RES_GET_RAT);
	/* Bound to the association: the wrong token does not verify. */
	ck_assert_int_eq(eim_epr_verify(&res, 0, euicc_pub), EIM_EVERIFY);
	ck_assert_int_eq(e->eims[0].counter, 1);
	ck_assert_uint_eq(e->n_results, 1);
	/* Gaps are allowed; the counter limit itself is accepted. */
	psmo(EIM_PKG_COUNTER_MAX, &o, 1);
	ck_assert_int_eq(res.seq, 2);
	ck_assert_int_eq(e->eims[0].counter, EIM_PKG_COUNTER_MAX);
}
END_TEST

START_TEST(unknown_eim_is_unsigned)
{
	struct eim_psmo o = op(EIM_PSMO_GET_RAT, NULL);

	send("eim-x.example", key_b, eid, 1, false, &o, 1);
	ck_assert_int_eq(res.kind, EIM_EPR_ERROR_UNSIGNED);
	ck_assert(!res.has_token);
	ck_assert_mem_eq(res.eim_id.p, "eim-x.example", 13);
	ck_assert_int_eq(last_seq, -1);
	ck_assert_uint_eq(e->n_results, 0);
}
END_TEST

START_TEST(bad_signature_is_unsigned)
{
	struct eim_psmo o = op(EIM_PSMO_GET_RAT, NULL);
	struct eim_pkg pkg;
	struct eim_buf b;

	/* A's name, B's key. */
	send(A, key_b, eid, 1, false, &o, 1);
	ck_assert_int_eq(res.kind, EIM_EPR_ERROR_UNSIGNED);
	ck_assert(res.has_token); /* so the eIM can resynchronise */
	ck_assert_int_eq(res.token, 1);
	/* A's key over the wrong token (an older association). */
	memset(&pkg, 0, sizeof(pkg));
	pkg.eim_id = S(A);
	memcpy(pkg.eid, eid, EIM_EID_LEN);
	pkg.counter = 1;
	pkg.psmo = &o;
	pkg.n_ops = 1;
	eim_buf_init(&b);
	ck_assert_int_eq(eim_pkg_build(&pkg, 0, key_a, &b), 0);
	ck_assert_int_eq(load(b.p, b.len), 0);
	ck_assert_int_eq(res.kind, EIM_EPR_ERROR_UNSIGNED);
	/* A tampered signature byte, and a tampered signed byte. */
	eim_buf_reset(&b);
	ck_assert_int_eq(eim_pkg_build(&pkg, 1, key_a, &b), 0);
	b.p[b.len - 1] ^= 0x01;
	ck_assert_int_eq(load(b.p, b.len), 0);
	ck_assert_int_eq(res.kind, EIM_EPR_ERROR_UNSIGNED);
	b.p[b.len - 1] ^= 0x01;
	/* A signed byte: the EID's last (an invalidEid if it were signed). */
	ck_assert_int_eq(b.p[20], 0x5a);
	b.p[22 + 15] ^= 0x01;
	ck_assert_int_eq(load(b.p, b.len), 0);
	ck_assert_int_eq(res.kind, EIM_EPR_ERROR_UNSIGNED);
	b.p[22 + 15] ^= 0x01;
	ck_assert_int_eq(e->eims[0].counter, 0); /* nothing was spent */
	ck_assert_int_eq(load(b.p, b.len), 0);
	ck_assert_int_eq(res.kind, EIM_EPR_RESULT_SIGNED);
	/* Malformed twins: no result at all. */
	ck_assert_int_eq(load(b.p, b.len - 1), EIM_ETRUNC);
	ck_assert_uint_eq(out.len, 0);
	b.p[1] ^= 0x01; /* BF51 -> BF50 */
	ck_assert_int_eq(load(b.p, b.len), EIM_ETAG);
	eim_buf_done(&b);
}
END_TEST

START_TEST(wrong_eid_before_replay)
{
	struct eim_psmo o = op(EIM_PSMO_GET_RAT, NULL);

	psmo(5, &o, 1);
	/* Both wrong: the EID is checked first. */
	send(A, key_a, other_eid, 3, false, &o, 1);
	ck_assert_int_eq(res.kind, EIM_EPR_ERROR_SIGNED);
	ck_assert_int_eq(res.error_code, 3);
	ck_assert_int_eq(last_seq, -1);
	send(A, key_a, eid, 5, false, &o, 1);
	ck_assert_int_eq(res.kind, EIM_EPR_ERROR_SIGNED);
	ck_assert_int_eq(res.error_code, 4);
	send(A, key_a, eid, 4, false, &o, 1);
	ck_assert_int_eq(res.error_code, 4);
	/* A refused package spends no counter value. */
	send(A, key_a, other_eid, 9, false, &o, 1);
	ck_assert_int_eq(res.error_code, 3);
	psmo(6, &o, 1);
	ck_assert_int_eq(e->eims[0].counter, 6);
}
END_TEST

/*
 * Values eim_pkg_build refuses to encode (counters above 8,388,607): the
 * package is put together and signed by A by hand.
 */
static void hand_pkg(int64_t counter, uint32_t list_tag, const uint8_t *ops,
		     size_t n, struct eim_buf *b)
{
	struct eim_buf s, tok;
	struct eim_slice parts[2];
	uint8_t rs[EIM_SIG_RAW_LEN];
	size_t m;

	eim_buf_init(&s);
	eim_buf_init(&tok);
	m = eim_der_open(&s, 0x30);
	eim_der_put(&s, 0x80, A, strlen(A));
	eim_der_put(&s, 0x5a, eid, EIM_EID_LEN);
	eim_der_put_int(&s, 0x81, counter);
	eim_der_put(&s, list_tag, ops, n);
	eim_der_close(&s, m);
	eim_pkg_token_do(token_for(A), &tok);
	parts[0] = (struct eim_slice){s.p, s.len};
	parts[1] = (struct eim_slice){tok.p, tok.len};
	ck_assert_int_eq(eim_sig_sign(key_a, parts, 2, rs), 0);
	eim_buf_init(b);
	m = eim_der_open(b, 0xbf51);
	eim_buf_append(b, s.p, s.len);
	eim_der_put(b, 0x5f37, rs, sizeof(rs));
	eim_der_close(b, m);
	ck_assert_int_eq(b->err, 0);
	eim_buf_done(&s);
	eim_buf_done(&tok);
}

START_TEST(counter_out_of_range)
{
	static const uint8_t get_rat[] = {0xa6, 0x00};
	struct eim_buf b;

	hand_pkg(EIM_PKG_COUNTER_MAX + 1, 0xa0, get_rat, sizeof(get_rat), &b);
	ck_assert_int_eq(load(b.p, b.len), 0);
	ck_assert_int_eq(res.kind, EIM_EPR_ERROR_SIGNED);
	ck_assert_int_eq(res.error_code, 6);
	ck_assert_int_eq(eim_epr_verify(&res, 1, euicc_pub), 0);
	ck_assert_int_eq(e->eims[0].counter, 0);
	eim_buf_done(&b);
}
END_TEST

/* addEim / updateEim with counterValue 8,388,608: counterValueOutOfRange. */
START_TEST(eco_counter_out_of_range)
{
	struct eim_buf b, pk, ops;
	size_t m;

	eim_buf_init(&ops);
	spki(key_b, &pk);
	m = eim_der_open(&ops, 0xa8);
	eim_der_put(&ops, 0x80, B, strlen(B));
	eim_der_put_int(&ops, 0x83, EIM_PKG_COUNTER_MAX + 1);
	{
		size_t k = eim_der_open(&ops, 0xa5);
		eim_der_put_retagged(&ops, 0xa0, pk.p, pk.len);
		eim_der_close(&ops, k);
	}
	eim_der_close(&ops, m);
	hand_pkg(1, 0xa1, ops.p, ops.len, &b);
	ck_assert_int_eq(load(b.p, b.len), 0);
	ck_assert_int_eq(res.kind, EIM_EPR_RESULT_SIGNED);
	ck_assert_uint_eq(res.results[0].tag, EIM_RES_ADD_EIM);
	ck_assert_int_eq(res.results[0].code, 6);
	ck_assert_uint_eq(e->n_eims, 1);
	eim_buf_done(&b);
	/* updateEim of A itself. */
	eim_buf_reset(&ops);
	m = eim_der_open(&ops, 0xaa);
	eim_der_put(&ops, 0x80, A, strlen(A));
	eim_der_put_int(&ops, 0x83, EIM_PKG_COUNTER_MAX + 1);
	eim_der_close(&ops, m);
	hand_pkg(2, 0xa1, ops.p, ops.len, &b);
	ck_assert_int_eq(load(b.p, b.len), 0);
	ck_assert_uint_eq(res.results[0].tag, EIM_RES_UPDATE_EIM);
	ck_assert_int_eq(res.results[0].code, 6);
	ck_assert_int_eq(e->eims[0].counter, 2);
	eim_buf_done(&b);
	eim_buf_done(&ops);
	eim_buf_done(&pk);
}
END_TEST

/* ----- PSMOs ----- */

START_TEST(enable_disable_delete)
{
	static const uint8_t nowhere[EIM_ICCID_LEN] = {0x98, 0x44, 0x99};

	ck_assert_int_eq(one(1, op(EIM_PSMO_ENABLE, nowhere)), 1);
	ck_assert_int_eq(one(2, op(EIM_PSMO_ENABLE, P1)), 0);
	ck_assert(enabled(P1));
	ck_assert_int_eq(one(3, op(EIM_PSMO_ENABLE, P1)), 2);
	/* Enabling P2 disables P1. */
	ck_assert_int_eq(one(4, op(EIM_PSMO_ENABLE, P2)), 0);
	ck_assert(enabled(P2) && !enabled(P1));
	ck_assert_int_eq(one(5, op(EIM_PSMO_DISABLE, P1)), 2);
	ck_assert_int_eq(one(6, op(EIM_PSMO_DISABLE, nowhere)), 1);
	ck_assert_int_eq(one(7, op(EIM_PSMO_DELETE, P2)), 2);
	ck_assert_int_eq(one(8, op(EIM_PSMO_DELETE, nowhere)), 1);
	ck_assert_int_eq(one(9, op(EIM_PSMO_DISABLE, P2)), 0);
	ck_assert(!enabled(P2));
	ck_assert_int_eq(one(10, op(EIM_PSMO_DELETE, P2)), 0);
	ck_assert_int_eq(eim_sim_euicc_find_profile(e, P2), -1);
	ck_assert_uint_eq(e->n_profiles, 2);
}
END_TEST

START_TEST(package_rules)
{
	static const uint8_t nowhere[EIM_ICCID_LEN] = {0x98, 0x44, 0x99};
	struct eim_psmo ops[3];

	/* Stop at the first failure: its result ends the list. */
	ops[0] = op(EIM_PSMO_ENABLE, nowhere);
	ops[1] = op(EIM_PSMO_GET_RAT, NULL);
	psmo(1, ops, 2);
	ck_assert_uint_eq(res.n_results, 1);
	ck_assert_int_eq(res.results[0].code, 1);
	/* One enable per package. */
	ops[0] = op(EIM_PSMO_ENABLE, P1);
	ops[1] = op(EIM_PSMO_ENABLE, P2);
	ops[2] = op(EIM_PSMO_GET_RAT, NULL);
	psmo(2, ops, 3);
	ck_assert_uint_eq(res.n_results, 2);
	ck_assert_int_eq(res.results[0].code, 0);
	ck_assert_uint_eq(res.results[1].tag, EIM_RES_PROCESSING_TERMINATED);
	ck_assert_int_eq(res.results[1].code, 2);
	ck_assert(enabled(P1));
	/* No disable after an enable in the same package. */
	ops[0] = op(EIM_PSMO_ENABLE, P2);
	ops[1] = op(EIM_PSMO_DISABLE, P2);
	psmo(3, ops, 2);
	ck_assert_uint_eq(res.results[1].tag, EIM_RES_PROCESSING_TERMINATED);
	/* Disable then enable is the normal switch. */
	ops[0] = op(EIM_PSMO_DISABLE, P2);
	ops[1] = op(EIM_PSMO_ENABLE, P1);
	psmo(4, ops, 2);
	ck_assert_int_eq(res.results[0].code, 0);
	ck_assert_int_eq(res.results[1].code, 0);
	ck_assert(enabled(P1) && !enabled(P2));
}
END_TEST

START_TEST(enable_with_rollback)
{
	struct eim_psmo o = op(EIM_PSMO_ENABLE, P2), ops[2];
	struct eim_epr rb;
	int64_t first;

	o.rollback = true;
	/* Nothing enabled before: nothing to roll back to. */
	ck_assert_int_eq(one(1, o), 20);
	ck_assert_int_eq(one(2, op(EIM_PSMO_ENABLE, P1)), 0);
	ck_assert_int_eq(one(3, o), 0);
	first = res.seq;
	ck_assert(e->rollback.granted);
	ck_assert(enabled(P2));
	eim_buf_reset(&out);
	ck_assert_int_eq(eim_sim_euicc_rollback(e, &out), 0);
	ck_assert(enabled(P1) && !enabled(P2));
	ck_assert_int_eq(eim_epr_decode(out.p, out.len, NULL, &rb), 0);
	ck_assert_int_eq(rb.kind, EIM_EPR_RESULT_SIGNED);
	ck_assert_int_eq(eim_epr_verify(&rb, 1, euicc_pub), 0);
	ck_assert_int_eq(rb.counter, 3);
	ck_assert_mem_eq(rb.txid.p, "tx-42", 5);
	ck_assert_uint_eq(rb.n_results, 1);
	ck_assert_uint_eq(rb.results[0].tag, EIM_RES_ROLLBACK);
	ck_assert_int_eq(rb.results[0].code, 0);
	ck_assert_int_gt(rb.seq, first);
	/* The rollback result replaced the enable's. */
	for (size_t i = 0; i < e->n_results; i++)
		ck_assert_int_ne(e->results[i].seq, first);
	ck_assert_int_eq(e->results[e->n_results - 1].seq, rb.seq);
	eim_epr_done(&rb);
	/* One-shot. */
	ck_assert_int_eq(eim_sim_euicc_rollback(e, &out), 1);
	/* Any later package clears the grant. */
	ck_assert_int_eq(one(4, o), 0);
	ck_assert_int_eq(one(5, op(EIM_PSMO_GET_RAT, NULL)), -1);
	ck_assert_int_eq(eim_sim_euicc_rollback(e, &out), 1);
	ck_assert(enabled(P2));
	/* Deleting the rollback target while the grant is pending. */
	ck_assert_int_eq(one(6, op(EIM_PSMO_ENABLE, P1)), 0);
	ops[0] = o;
	ops[1] = op(EIM_PSMO_DELETE, P1);
	psmo(7, ops, 2);
	ck_assert_int_eq(res.results[1].code, 20);
}
END_TEST

static size_t count_entries(const struct eim_epr_result *r,
			    struct eim_profile_info *first)
{
	struct eim_der_cur c, in, lc;
	struct eim_der_tlv t, l, it;
	size_t n = 0;

	eim_der_cur_init(&c, r->data.p, r->data.len, NULL);
	ck_assert_int_eq(eim_der_expect(&c, 0xbf2d, &t), 0);
	ck_assert_int_eq(eim_der_enter(&c, &t, &in), 0);
	ck_assert_int_eq(eim_der_expect(&in, 0xa0, &l), 0);
	ck_assert_int_eq(eim_der_enter(&in, &l, &lc), 0);
	while (!eim_der_at_end(&lc)) {
		ck_assert_int_eq(eim_der_read(&lc, &it), 0);
		if (n == 0 && first)
			ck_assert_int_eq(eim_profile_info_decode(&lc, &it,
								 first),
					 0);
		n++;
	}
	return n;
}

START_TEST(list_profile_info)
{
	struct eim_psmo o = op(EIM_PSMO_LIST_PROFILE_INFO, NULL);
	struct eim_profile_info pi;
	static const uint8_t only_iccid[] = {0x5a};
	static const uint8_t broken[] = {0x5a, 0x9f};

	ck_assert_int_eq(one(1, op(EIM_PSMO_ENABLE, P1)), 0);
	/* Default tags (SGP.32): everything the IoT list needs. */
	psmo(2, &o, 1);
	ck_assert_int_eq(res.results[0].code, -1);
	ck_assert_uint_eq(count_entries(&res.results[0], &pi), 3);
	ck_assert(pi.has_iccid);
	ck_assert_mem_eq(pi.iccid, P1, EIM_ICCID_LEN);
	ck_assert_int_eq(pi.state, 1);
	ck_assert_int_eq(pi.profile_class, 2);
	ck_assert_int_eq(pi.fallback_allowed, 0);
	ck_assert_uint_eq(pi.name.len, strlen("Operational One"));
	/* Search by ICCID, by class; a tag list of just the ICCID. */
	o.search = EIM_SEARCH_ICCID;
	memcpy(o.search_iccid, P3, EIM_ICCID_LEN);
	psmo(3, &o, 1);
	ck_assert_uint_eq(count_entries(&res.results[0], &pi), 1);
	ck_assert_mem_eq(pi.iccid, P3, EIM_ICCID_LEN);
	o.search = EIM_SEARCH_PROFILE_CLASS;
	o.search_class = EIM_SIM_CLASS_OPERATIONAL;
	o.tag_list = (struct eim_slice){only_iccid, sizeof(only_iccid)};
	psmo(4, &o, 1);
	ck_assert_uint_eq(count_entries(&res.results[0], &pi), 2);
	ck_assert(pi.has_iccid);
	ck_assert_int_eq(pi.state, -1);
	ck_assert_uint_eq(pi.name.len, 0);
	/* A truncated multi-byte tag: incorrectInputValues, and stop. */
	struct eim_psmo ops[2] = {o, op(EIM_PSMO_GET_RAT, NULL)};
	ops[0].tag_list = (struct eim_slice){broken, sizeof(broken)};
	psmo(5, ops, 2);
	ck_assert_uint_eq(res.n_results, 1);
	ck_assert_uint_eq(res.results[0].data.len, 6);
	ck_assert_mem_eq(res.results[0].data.p, "\xbf\x2d\x03\x81\x01\x01", 6);
}
END_TEST

START_TEST(rat_immediate_enable_default_dp)
{
	struct eim_psmo o = op(EIM_PSMO_CONFIGURE_IMMEDIATE_ENABLE, NULL);
	static const uint8_t oid[] = {0x2b, 0x06, 0x01, 0x04, 0x01};
	uint8_t long_oid[40];

	psmo(1, &(struct eim_psmo){.kind = EIM_PSMO_GET_RAT}, 1);
	ck_assert_uint_eq(res.results[0].data.len, 2);
	ck_assert_mem_eq(res.results[0].data.p, "\xa6\x00", 2);
	o.immediate_enable = true;
	o.smdp_oid = (struct eim_slice){oid, sizeof(oid)};
	o.smdp_address = S("smdp.example");
	ck_assert_int_eq(one(2, o), 0);
	ck_assert(e->immediate_enable);
	ck_assert_str_eq(e->immediate_smdp_address, "smdp.example");
	ck_assert_uint_eq(e->immediate_smdp_oid_len, sizeof(oid));
	memset(long_oid, 0x01, sizeof(long_oid)); /* longer than we keep */
	o.smdp_oid = (struct eim_slice){long_oid, sizeof(long_oid)};
	ck_assert_int_eq(one(3, o), 1);
	o = op(EIM_PSMO_SET_DEFAULT_DP, NULL);
	o.dp_address = S("dp.example");
	psmo(4, &o, 1);
	ck_assert_uint_eq(res.results[0].tag, EIM_RES_SET_DEFAULT_DP);
	ck_assert_int_eq(res.results[0].code, 0);
	ck_assert_str_eq(e->default_smdp, "dp.example");
	o.dp_address = (struct eim_slice){(const uint8_t *)"dp\0x", 4};
	psmo(5, &o, 1);
	ck_assert_int_eq(res.results[0].code, 127);
	ck_assert_str_eq(e->default_smdp, "dp.example");
	o = op(EIM_PSMO_CONFIGURE_IMMEDIATE_ENABLE, NULL);
	o.smdp_address = (struct eim_slice){(const uint8_t *)"\xff", 1};
	ck_assert_int_eq(one(6, o), 7);
}
END_TEST

START_TEST(fallback)
{
	static const uint8_t nowhere[EIM_ICCID_LEN] = {0x98, 0x44, 0x99};

	ck_assert_int_eq(eim_sim_euicc_execute_fallback(e), 6);
	ck_assert_int_eq(eim_sim_euicc_return_from_fallback(e), 6);
	ck_assert_int_eq(one(1, op(EIM_PSMO_UNSET_FALLBACK, NULL)), 2);
	ck_assert_int_eq(one(2, op(EIM_PSMO_SET_FALLBACK, nowhere)), 1);
	ck_assert_int_eq(one(3, op(EIM_PSMO_SET_FALLBACK, P2)), 2);
	ck_assert_int_eq(one(4, op(EIM_PSMO_SET_FALLBACK, P3)), 0);
	ck_assert(e->profiles[eim_sim_euicc_find_profile(e, P3)].fallback);
	ck_assert_int_eq(one(5, op(EIM_PSMO_ENABLE, P1)), 0);
	ck_assert_int_eq(eim_sim_euicc_execute_fallback(e), 0);
	ck_assert(enabled(P3) && !enabled(P1));
	ck_assert_int_eq(e->state_change_cause, 1);
	ck_assert_int_eq(eim_sim_euicc_execute_fallback(e), 2);
	ck_assert_int_eq(one(6, op(EIM_PSMO_SET_FALLBACK, P3)), 3);
	ck_assert_int_eq(one(7, op(EIM_PSMO_UNSET_FALLBACK, NULL)), 3);
	ck_assert_int_eq(one(8, op(EIM_PSMO_DELETE, P1)), 21);
	ck_assert_int_eq(eim_sim_euicc_return_from_fallback(e), 0);
	ck_assert(enabled(P1) && !enabled(P3));
	ck_assert_int_eq(eim_sim_euicc_return_from_fallback(e), 6);
	ck_assert_int_eq(one(9, op(EIM_PSMO_UNSET_FALLBACK, NULL)), 0);
	ck_assert_int_eq(eim_sim_euicc_execute_fallback(e), 6);
}
END_TEST

/* ----- eCOs ----- */

static struct eim_eco add_b(struct eim_buf *pk)
{
	struct eim_eco c;

	memset(&c, 0, sizeof(c));
	c.kind = EIM_ECO_ADD_EIM;
	c.cfg.eim_id = S(B);
	c.cfg.pk_kind = EIM_KEYDATA_SPKI;
	c.cfg.pk = (struct eim_slice){pk->p, pk->len};
	c.cfg.has_token = true;
	c.cfg.token = -1;
	c.cfg.id_type = 2;
	return c;
}

static int64_t eco1(int64_t counter, struct eim_eco c)
{
	send(A, key_a, eid, counter, true, &c, 1);
	ck_assert_int_eq(res.kind, EIM_EPR_RESULT_SIGNED);
	ck_assert_uint_eq(res.n_results, 1);
	return res.results[0].code;
}

START_TEST(add_and_list_eim)
{
	struct eim_buf pk;
	struct eim_eco c, ops[2];

	spki(key_b, &pk);
	c = add_b(&pk);
	ck_assert_int_eq(eco1(1, c), -1);
	ck_assert(res.results[0].has_token);
	ck_assert_int_eq(res.results[0].token, 2);
	ck_assert_uint_eq(e->n_eims, 2);
	ck_assert_int_eq(eco1(2, c), 2); /* associatedEimAlreadyExists */
	c.cfg.eim_id = S("eim-c");
	c.cfg.token = 7;
	ck_assert_int_eq(eco1(3, c), 5); /* invalidAssociationToken */
	c.cfg.token = -1;
	c.cfg.has_counter = true;
	c.cfg.counter = 0;
	c.cfg.ci_pkid = S("not our CI's id");
	ck_assert_int_eq(eco1(5, c), 3); /* ciPKUnknown */
	c.cfg.ci_pkid = (struct eim_slice){e->ci_pkid, e->ci_pkid_len};
	/* An eimId with a NUL or broken UTF-8 is not kept truncated. */
	c.cfg.eim_id = (struct eim_slice){(const uint8_t *)"eim\0c", 5};
	ck_assert_int_eq(eco1(10, c), 7);
	c.cfg.eim_id = (struct eim_slice){(const uint8_t *)"eim\xc3", 4};
	ck_assert_int_eq(eco1(11, c), 7);
	c.cfg.eim_id =
		(struct eim_slice){(const uint8_t *)"eim\xe0\x80\x80", 6};
	ck_assert_int_eq(eco1(12, c), 7); /* overlong */
	c.cfg.eim_id = S("eim-\xc3\xa9"); /* U+00E9 is fine */
	c.cfg.fqdn = (struct eim_slice){(const uint8_t *)"a\0b", 3};
	ck_assert_int_eq(eco1(13, c), 7);
	c.cfg.fqdn = (struct eim_slice){NULL, 0};
	c.cfg.pk_kind = EIM_KEYDATA_NONE;
	c.cfg.pk = (struct eim_slice){NULL, 0};
	ck_assert_int_eq(eco1(14, c), 7); /* nothing to verify with */
	/* listEim: both, with eimIdType when known; stop at a failure. */
	memset(ops, 0, sizeof(ops));
	ops[0].kind = EIM_ECO_LIST_EIM;
	ck_assert_int_eq(eco1(15, ops[0]), -1);
	ck_assert_uint_eq(res.results[0].tag, EIM_RES_LIST_EIM);
	ck_assert(eim_test_contains_mem(res.results[0].data, B));
	ops[0] = add_b(&pk);
	ops[1].kind = EIM_ECO_LIST_EIM;
	send(A, key_a, eid, 16, true, ops, 2);
	ck_assert_uint_eq(res.n_results, 1);
	ck_assert_int_eq(res.results[0].code, 2);
	/* B manages the device with its own counter and token. */
	struct eim_psmo g = op(EIM_PSMO_GET_RAT, NULL);
	send(B, key_b, eid, 1, false, &g, 1);
	ck_assert_int_eq(res.kind, EIM_EPR_RESULT_SIGNED);
	ck_assert_int_eq(e->eims[1].counter, 1);
	ck_assert_int_eq(e->eims[0].counter, 16);
	eim_buf_done(&pk);
}
END_TEST

START_TEST(update_eim)
{
	struct eim_buf pk, pk_a;
	struct eim_eco c;

	spki(key_b, &pk);
	spki(key_a, &pk_a);
	ck_assert_int_eq(eco1(1, add_b(&pk)), -1);
	memset(&c, 0, sizeof(c));
	c.kind = EIM_ECO_UPDATE_EIM;
	c.cfg.eim_id = S(B);
	c.cfg.fqdn = S("b.example");
	ck_assert_int_eq(eco1(2, c), 0);
	ck_assert_str_eq(e->eims[1].fqdn, "b.example");
	ck_assert_int_eq(eco1(3, c), 7); /* must change something */
	c.cfg.fqdn = S("b2.example");
	c.cfg.has_token = true;
	c.cfg.token = -1;
	ck_assert_int_eq(eco1(4, c), 7); /* never the token */
	ck_assert_str_eq(e->eims[1].fqdn, "b.example");
	c.cfg.has_token = false;
	c.cfg.eim_id = S("nobody");
	ck_assert_int_eq(eco1(5, c), 1);
	c.cfg.eim_id = S(B);
	c.cfg.fqdn = (struct eim_slice){NULL, 0};
	c.cfg.has_counter = true;
	c.cfg.counter = 100;
	ck_assert_int_eq(eco1(6, c), 0);
	ck_assert_int_eq(e->eims[1].counter, 100);
	c.cfg.counter = 10; /* lower, same key: would re-open old values */
	ck_assert_int_eq(eco1(7, c), 7);
	/* Key rotation (to A's key) with a lower counter is allowed. */
	c.cfg.counter = 10;
	c.cfg.pk_kind = EIM_KEYDATA_SPKI;
	c.cfg.pk = (struct eim_slice){pk_a.p, pk_a.len};
	ck_assert_int_eq(eco1(9, c), 0);
	ck_assert_int_eq(e->eims[1].counter, 10);
	ck_assert_int_eq(e->eims[1].token, 2); /* untouched */
	struct eim_psmo g = op(EIM_PSMO_GET_RAT, NULL);
	send(B, key_b, eid, 11, false, &g, 1);
	ck_assert_int_eq(res.kind, EIM_EPR_ERROR_UNSIGNED); /* old key */
	send(B, key_a, eid, 11, false, &g, 1);
	ck_assert_int_eq(res.kind, EIM_EPR_RESULT_SIGNED);
	eim_buf_done(&pk);
	eim_buf_done(&pk_a);
}
END_TEST

START_TEST(delete_eim_and_self)
{
	struct eim_buf pk;
	struct eim_eco c;
	struct eim_add_initial_resp r;

	spki(key_b, &pk);
	memset(&c, 0, sizeof(c));
	c.kind = EIM_ECO_DELETE_EIM;
	c.eim_id = S(B);
	ck_assert_int_eq(eco1(1, c), 1); /* eimNotFound */
	ck_assert_int_eq(eco1(2, add_b(&pk)), -1);
	ck_assert_int_eq(eco1(3, c), 0);
	ck_assert_uint_eq(e->n_eims, 1);
	/* A deletes itself: signed with its own association, then gone. */
	c.eim_id = S(A);
	ck_assert_int_eq(eco1(4, c), 2); /* lastEimDeleted */
	ck_assert_uint_eq(e->n_eims, 0);
	/* Back to the factory state: AddInitialEim works again. */
	ck_assert_int_eq(add_initial(A, key_a, true), 0);
	ck_assert_int_eq(eim_add_initial_resp_decode(out.p, out.len, NULL, &r),
			 0);
	ck_assert(!r.is_error);
	ck_assert_int_eq(r.entry[0].token, 3); /* a new association */
	/* Renewal (delete A, add A with counter 0) by a second eIM. */
	ck_assert_int_eq(eco1(1, add_b(&pk)), -1);
	struct eim_eco ops[2];
	memset(ops, 0, sizeof(ops));
	ops[0].kind = EIM_ECO_DELETE_EIM;
	ops[0].eim_id = S(A);
	eim_buf_done(&pk);
	spki(key_a, &pk);
	ops[1] = add_b(&pk);
	ops[1].cfg.eim_id = S(A);
	ops[1].cfg.has_counter = true;
	ops[1].cfg.counter = 0;
	send(B, key_b, eid, 1, true, ops, 2);
	ck_assert_int_eq(res.kind, EIM_EPR_RESULT_SIGNED);
	ck_assert_int_eq(res.results[0].code, 0);
	ck_assert(res.results[1].has_token);
	ck_assert_int_eq(e->eims[1].counter, 0);
	struct eim_psmo g = op(EIM_PSMO_GET_RAT, NULL);
	send(A, key_a, eid, 1, false, &g, 1);
	ck_assert_int_eq(res.kind, EIM_EPR_RESULT_SIGNED);
	eim_buf_done(&pk);
}
END_TEST

/* ----- IpaEuiccData, acknowledgements ----- */

static int ipa_data(const uint8_t *tags, size_t n, struct eim_ipadata *d)
{
	struct eim_ipadata_req q;
	struct eim_buf req;
	struct eim_der_cur c;
	struct eim_der_tlv t;
	int rc;

	memset(&q, 0, sizeof(q));
	q.tag_list = (struct eim_slice){tags, n};
	q.txid = S("ipa-tx");
	eim_buf_init(&req);
	ck_assert_int_eq(eim_ipadata_req_encode(&q, &req), 0);
	eim_buf_reset(&out);
	rc = eim_sim_euicc_ipa_data(e, req.p, req.len, (const uint8_t *)A,
				    strlen(A), &out);
	eim_buf_done(&req);
	if (rc < 0)
		return rc;
	eim_der_cur_init(&c, out.p, out.len, NULL);
	ck_assert_int_eq(eim_der_read(&c, &t), 0);
	ck_assert_int_eq(eim_ipadata_decode(&c, &t, d), 0);
	return 0;
}

START_TEST(ipa_euicc_data)
{
	static const uint8_t tags[] = {0xa5, 0xa6, 0x84, 0x81, 0xa2,
				       0xbf, 0x22, 0xbf, 0x20, 0xa0};
	static const uint8_t bad[] = {0x84, 0x99};
	struct eim_psmo o = op(EIM_PSMO_SET_DEFAULT_DP, NULL);
	struct eim_ipadata d;
	struct eim_cert_store *s;
	struct eim_cert_diag diag;
	struct eim_sig_key *k = NULL;
	size_t it = 0, n = 0;
	struct eim_der_tlv t;

	o.dp_address = S("dp.example");
	psmo(1, &o, 1);
	psmo(2, &(struct eim_psmo){.kind = EIM_PSMO_GET_RAT}, 1);
	ck_assert_int_eq(ipa_data(tags, sizeof(tags), &d), 0);
	ck_assert(!d.is_error);
	ck_assert_mem_eq(d.txid.p, "ipa-tx", 6);
	ck_assert(d.has_token);
	ck_assert_int_eq(d.token, 1);
	ck_assert_mem_eq(d.default_smdp.p, "dp.example", 10);
	ck_assert_ptr_nonnull(d.euicc_info2.p);
	ck_assert_ptr_nonnull(d.euicc_info1.p);
	ck_assert_ptr_nonnull(d.notifications.p);
	while (eim_ipadata_list_next(d.epr_list, &it, &t) == 1)
		n++;
	ck_assert_uint_eq(n, 2);
	/* The certificates, re-tagged, validate to our CI. */
	ck_assert_int_eq(eim_cert_store_new(&s), 0);
	ck_assert_int_eq(eim_cert_store_add_ci(s, pki.ci.cert, pki.ci.cert_len),
			 0);
	ck_assert_int_eq(eim_cert_verify_euicc(s, d.eum_cert.p, d.eum_cert.len,
					       d.euicc_cert.p, d.euicc_cert.len,
					       &diag, &k),
			 0);
	eim_sig_key_free(k);
	eim_cert_store_free(s);
	/* An unknown tag: incorrectTagList, txid echoed. */
	ck_assert_int_eq(ipa_data(bad, sizeof(bad), &d), 0);
	ck_assert(d.is_error);
	ck_assert_int_eq(d.err_code, 1);
	ck_assert_mem_eq(d.err_txid.p, "ipa-tx", 6);
	/* Malformed request twins. */
	ck_assert_int_eq(
		eim_sim_euicc_ipa_data(e, (const uint8_t *)"\xbf\x52\x05\x5c",
				       4, NULL, 0, &out),
		EIM_ETRUNC);
	ck_assert_int_eq(eim_sim_euicc_ipa_data(e,
						(const uint8_t *)"\xbf\x53\x00",
						3, NULL, 0, &out),
			 EIM_ETAG);
}
END_TEST

START_TEST(acknowledgements)
{
	struct eim_psmo g = op(EIM_PSMO_GET_RAT, NULL);
	int64_t seqs[] = {1, 99};
	struct eim_buf all;

	for (int i = 1; i <= EIM_SIM_MAX_RESULTS + 2; i++)
		psmo(i, &g, 1);
	/* Full: the oldest were dropped. */
	ck_assert_uint_eq(e->n_results, EIM_SIM_MAX_RESULTS);
	ck_assert_int_eq(e->results[0].seq, 3);
	seqs[0] = 3;
	ck_assert_uint_eq(eim_sim_euicc_ack(e, seqs, 2), 1);
	ck_assert_uint_eq(e->n_results, EIM_SIM_MAX_RESULTS - 1);
	ck_assert_int_eq(e->results[0].seq, 4);
	ck_assert_uint_eq(eim_sim_euicc_ack(e, seqs, 2), 0);
	eim_buf_init(&all);
	ck_assert_int_eq(eim_sim_euicc_results(e, &all), 0);
	ck_assert_uint_eq(all.len, (EIM_SIM_MAX_RESULTS - 1) * out.len);
	eim_buf_done(&all);
}
END_TEST

/* Every allocation of a package run may fail: EIM_ENOMEM, never a crash. */
START_TEST(out_of_memory)
{
	struct eim_psmo ops[2] = {op(EIM_PSMO_LIST_PROFILE_INFO, NULL),
				  op(EIM_PSMO_ENABLE, P1)};
	struct eim_pkg pkg;
	struct eim_buf b;
	unsigned long n;
	int rc = -1;

	memset(&pkg, 0, sizeof(pkg));
	pkg.eim_id = S(A);
	memcpy(pkg.eid, eid, EIM_EID_LEN);
	pkg.psmo = ops;
	pkg.n_ops = 2;
	eim_buf_init(&b);
	for (n = 0; n < 200; n++) {
		pkg.counter = (int64_t)n + 1;
		eim_buf_reset(&b);
		ck_assert_int_eq(eim_pkg_build(&pkg, 1, key_a, &b), 0);
		eim_buf_done(&out);
		eim_buf_init(&out);
		eim_alloc_fail_after(n);
		rc = eim_sim_euicc_load_package(e, b.p, b.len, &out, NULL);
		eim_alloc_fail_reset();
		ck_assert_msg(rc == 0 || rc == EIM_ENOMEM, "n=%lu rc=%d", n,
			      rc);
		if (rc == 0)
			break;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_gt(n, 2);
	ck_assert_int_eq(eim_epr_decode(out.p, out.len, NULL, &res), 0);
	ck_assert_int_eq(eim_epr_verify(&res, 1, euicc_pub), 0);
	eim_buf_done(&b);
}
END_TEST

START_TEST(new_refuses_bad_credentials)
{
	struct eim_sim_euicc *f;
	uint8_t bad_eid[EIM_EID_LEN];

	memcpy(bad_eid, eid, EIM_EID_LEN);
	bad_eid[15] ^= 0x01;
	ck_assert_int_eq(eim_sim_euicc_new(bad_eid, cred.key, cred.key_len,
					   cred.cert, cred.cert_len,
					   pki.eum.cert, pki.eum.cert_len, &f),
			 EIM_EVERIFY);
	ck_assert_int_lt(eim_sim_euicc_new(eid, cred.cert, cred.cert_len,
					   cred.cert, cred.cert_len,
					   pki.eum.cert, pki.eum.cert_len, &f),
			 0);
	ck_assert_int_eq(eim_sim_euicc_new(eid, cred.key, cred.key_len,
					   (const uint8_t *)"junk", 4,
					   pki.eum.cert, pki.eum.cert_len, &f),
			 EIM_EMALFORMED);
}
END_TEST

/* Checks outside a running test: Check's asserts cannot report there. */
#define MUST_EQ(x, want)                                                       \
	do {                                                                   \
		if ((x) != (want)) {                                           \
			fprintf(stderr, "setup failed at line %d\n",           \
				__LINE__);                                     \
			return 99;                                             \
		}                                                              \
	} while (0)

int main(void)
{
	Suite *s = suite_create("sim_euicc");
	TCase *tc = tcase_create("euicc");
	SRunner *sr;
	char text[33];
	int failed;
	struct eim_cert_store *cs;
	struct eim_cert_diag d;

	MUST_EQ(eim_sim_pki_generate(&pki), 0);
	MUST_EQ(eim_eid_complete("890490321234512345123456789012", text), 0);
	MUST_EQ(eim_eid_parse(text, eid), 0);
	MUST_EQ(eim_eid_complete("890490321234512345123456789099", text), 0);
	MUST_EQ(eim_eid_parse(text, other_eid), 0);
	MUST_EQ(eim_eid_format(eid, text), 0);
	MUST_EQ(eim_sim_pki_issue_euicc(&pki, text, &cred), 0);
	MUST_EQ(eim_sig_key_generate(EIM_SIG_P256, &key_a), 0);
	MUST_EQ(eim_sig_key_generate(EIM_SIG_P256, &key_b), 0);
	/* The eUICC key the eIM would use: from the validated chain. */
	MUST_EQ(eim_cert_store_new(&cs), 0);
	MUST_EQ(eim_cert_store_add_ci(cs, pki.ci.cert, pki.ci.cert_len), 0);
	MUST_EQ(eim_cert_verify_euicc(cs, pki.eum.cert, pki.eum.cert_len,
				      cred.cert, cred.cert_len, &d, &euicc_pub),
		0);
	eim_cert_store_free(cs);
	MUST_EQ(eim_iccid_parse("89440000000000000011", P1), 0);
	MUST_EQ(eim_iccid_parse("89440000000000000029", P2), 0);
	MUST_EQ(eim_iccid_parse("8944000000000000003", P3), 0);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, bootstrap_generates_token);
	tcase_add_test(tc, bootstrap_malformed_and_all_or_nothing);
	tcase_add_test(tc, accepted_and_signed);
	tcase_add_test(tc, unknown_eim_is_unsigned);
	tcase_add_test(tc, bad_signature_is_unsigned);
	tcase_add_test(tc, wrong_eid_before_replay);
	tcase_add_test(tc, counter_out_of_range);
	tcase_add_test(tc, eco_counter_out_of_range);
	tcase_add_test(tc, enable_disable_delete);
	tcase_add_test(tc, package_rules);
	tcase_add_test(tc, enable_with_rollback);
	tcase_add_test(tc, list_profile_info);
	tcase_add_test(tc, rat_immediate_enable_default_dp);
	tcase_add_test(tc, fallback);
	tcase_add_test(tc, add_and_list_eim);
	tcase_add_test(tc, update_eim);
	tcase_add_test(tc, delete_eim_and_self);
	tcase_add_test(tc, ipa_euicc_data);
	tcase_add_test(tc, acknowledgements);
	tcase_add_test(tc, out_of_memory);
	tcase_add_test(tc, new_refuses_bad_credentials);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	eim_sim_cred_done(&cred);
	eim_sim_pki_done(&pki);
	eim_sig_key_free(key_a);
	eim_sig_key_free(key_b);
	eim_sig_key_free(euicc_pub);
	return failed ? 1 : 0;
}
