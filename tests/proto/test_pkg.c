/*
 * Unit tests for proto/eim_pkg: every PSMO and eCO round-trips through
 * encode and decode, counterValue edges, signature over DER || token DO,
 * and malformed twins of the decoder (truncated, wrong tag, trailing bytes,
 * bad lengths, unknown CHOICE alternatives).
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "proto/eim_pkg.h"

#include <check.h>
#include <string.h>

#define S(str) ((struct eim_slice){(const uint8_t *)(str), sizeof(str) - 1})

static const uint8_t eid[16] = {0x89, 0x04, 0x90, 0x32, 0x00, 0x00, 0x00, 0x00,
				0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34};
static const uint8_t iccid[10] = {0x98, 0x10, 0x32, 0x54, 0x76,
				  0x98, 0x10, 0x32, 0x54, 0xf6};
static const uint8_t txid[16] = {1, 2,	3,  4,	5,  6,	7,  8,
				 9, 10, 11, 12, 13, 14, 15, 16};

static void base_pkg(struct eim_pkg *p)
{
	memset(p, 0, sizeof(*p));
	p->eim_id = S("eim.example.org");
	memcpy(p->eid, eid, sizeof(eid));
	p->counter = 1;
	p->txid.p = txid;
	p->txid.len = sizeof(txid);
}

static struct eim_psmo all_psmos[9];

static void fill_psmos(void)
{
	static const uint8_t aid[] = {0xa0, 0x00, 0x00, 0x05, 0x59, 0x10,
				      0x10, 0xff, 0xff, 0xff, 0xff, 0x89,
				      0x00, 0x00, 0x10, 0x00};
	static const uint8_t tags[] = {0x5a, 0x4f, 0x9f, 0x70};
	static const uint8_t oid[] = {0x2b, 0x06, 0x01};

	memset(all_psmos, 0, sizeof(all_psmos));
	all_psmos[0].kind = EIM_PSMO_ENABLE;
	memcpy(all_psmos[0].iccid, iccid, 10);
	all_psmos[0].rollback = true;
	all_psmos[1].kind = EIM_PSMO_DISABLE;
	memcpy(all_psmos[1].iccid, iccid, 10);
	all_psmos[2].kind = EIM_PSMO_DELETE;
	memcpy(all_psmos[2].iccid, iccid, 10);
	all_psmos[3].kind = EIM_PSMO_LIST_PROFILE_INFO;
	all_psmos[3].search = EIM_SEARCH_ISDP_AID;
	all_psmos[3].search_aid.p = aid;
	all_psmos[3].search_aid.len = sizeof(aid);
	all_psmos[3].tag_list.p = tags;
	all_psmos[3].tag_list.len = sizeof(tags);
	all_psmos[4].kind = EIM_PSMO_GET_RAT;
	all_psmos[5].kind = EIM_PSMO_CONFIGURE_IMMEDIATE_ENABLE;
	all_psmos[5].immediate_enable = true;
	all_psmos[5].smdp_oid.p = oid;
	all_psmos[5].smdp_oid.len = sizeof(oid);
	all_psmos[5].smdp_address = S("smdp.example.com");
	all_psmos[6].kind = EIM_PSMO_SET_FALLBACK;
	memcpy(all_psmos[6].iccid, iccid, 10);
	all_psmos[7].kind = EIM_PSMO_UNSET_FALLBACK;
	all_psmos[8].kind = EIM_PSMO_SET_DEFAULT_DP;
	all_psmos[8].dp_address = S("dp.example.com");
}

static bool slice_eq(struct eim_slice a, struct eim_slice b)
{
	if (!a.p || !b.p)
		return !a.p && !b.p;
	return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

static void psmo_eq(const struct eim_psmo *a, const struct eim_psmo *b)
{
	ck_assert_int_eq(a->kind, b->kind);
	ck_assert_mem_eq(a->iccid, b->iccid, 10);
	ck_assert_int_eq(a->rollback, b->rollback);
	ck_assert_int_eq(a->search, b->search);
	ck_assert(slice_eq(a->search_aid, b->search_aid));
	ck_assert(slice_eq(a->tag_list, b->tag_list));
	ck_assert_int_eq(a->immediate_enable, b->immediate_enable);
	ck_assert(slice_eq(a->smdp_oid, b->smdp_oid));
	ck_assert(slice_eq(a->smdp_address, b->smdp_address));
	ck_assert(slice_eq(a->dp_address, b->dp_address));
}

START_TEST(psmo_round_trip_every_kind)
{
	struct eim_pkg p;
	struct eim_pkg_view v;
	struct eim_buf b, again;

	fill_psmos();
	base_pkg(&p);
	p.psmo = all_psmos;
	p.n_ops = 9;
	eim_buf_init(&b);
	ck_assert_int_eq(eim_pkg_encode_signed(&p, &b), 0);
	/* Wrap as BF51 with a dummy signature to use the full decoder. */
	struct eim_buf w;
	uint8_t sig[64] = {0};
	eim_buf_init(&w);
	size_t m = eim_der_open(&w, 0xbf51);
	eim_buf_append(&w, b.p, b.len);
	eim_der_put(&w, 0x5f37, sig, 64);
	eim_der_close(&w, m);
	ck_assert_int_eq(eim_pkg_decode(w.p, w.len, NULL, &v), 0);
	ck_assert_int_eq(v.pkg.n_ops, 9);
	ck_assert(!v.pkg.is_eco);
	ck_assert_uint_eq(v.pkg.counter, 1);
	ck_assert(slice_eq(v.pkg.eim_id, p.eim_id));
	ck_assert(slice_eq(v.pkg.txid, p.txid));
	ck_assert_mem_eq(v.pkg.eid, eid, 16);
	for (int i = 0; i < 9; i++)
		psmo_eq(&v.pkg.psmo[i], &all_psmos[i]);
	ck_assert_uint_eq(v.signed_raw.len, b.len);
	ck_assert_mem_eq(v.signed_raw.p, b.p, b.len);
	/* Re-encoding the decoded package gives the same bytes. */
	eim_buf_init(&again);
	ck_assert_int_eq(eim_pkg_encode_signed(&v.pkg, &again), 0);
	ck_assert_uint_eq(again.len, b.len);
	ck_assert_mem_eq(again.p, b.p, b.len);
	eim_pkg_view_done(&v);
	eim_buf_done(&again);
	eim_buf_done(&b);
	eim_buf_done(&w);
}
END_TEST

START_TEST(psmo_exact_bytes)
{
	struct eim_pkg p;
	struct eim_psmo op;
	struct eim_buf b;
	char hex[512];

	base_pkg(&p);
	p.txid.p = NULL;
	p.eim_id = S("E");
	memset(&op, 0, sizeof(op));
	op.kind = EIM_PSMO_ENABLE;
	memcpy(op.iccid, iccid, 10);
	p.psmo = &op;
	p.n_ops = 1;
	p.counter = 128;
	eim_buf_init(&b);
	ck_assert_int_eq(eim_pkg_encode_signed(&p, &b), 0);
	eim_hex_encode(b.p, b.len, hex);
	ck_assert_str_eq(hex, "3029"
			      "800145"
			      "5a10"
			      "89049032000000000000000000001234"
			      "81020080"
			      "a00e"
			      "a30c"
			      "5a0a98103254769810325"
			      "4f6");
	eim_buf_done(&b);
}
END_TEST

START_TEST(counter_edges)
{
	static const int64_t ok[] = {1, 127, 128, 32767, 32768, 8388607};
	static const char *const enc[] = {"810101",	"81017f",
					  "81020080",	"81027fff",
					  "8103008000", "81037fffff"};
	struct eim_psmo op = {.kind = EIM_PSMO_GET_RAT};
	struct eim_pkg p;
	struct eim_buf b;
	char hex[256];

	base_pkg(&p);
	p.psmo = &op;
	p.n_ops = 1;
	p.txid.p = NULL;
	for (size_t i = 0; i < 6; i++) {
		struct eim_pkg_view v;
		struct eim_buf w;
		uint8_t sig[64] = {0};

		p.counter = ok[i];
		eim_buf_init(&b);
		ck_assert_int_eq(eim_pkg_encode_signed(&p, &b), 0);
		eim_hex_encode(b.p, b.len, hex);
		ck_assert_msg(strstr(hex, enc[i]) != NULL, "%s lacks %s", hex,
			      enc[i]);
		eim_buf_init(&w);
		size_t m = eim_der_open(&w, 0xbf51);
		eim_buf_append(&w, b.p, b.len);
		eim_der_put(&w, 0x5f37, sig, 64);
		eim_der_close(&w, m);
		ck_assert_int_eq(eim_pkg_decode(w.p, w.len, NULL, &v), 0);
		ck_assert(v.pkg.counter == ok[i]);
		eim_pkg_view_done(&v);
		eim_buf_done(&w);
		eim_buf_done(&b);
	}
	eim_buf_init(&b);
	p.counter = 8388608;
	ck_assert_int_eq(eim_pkg_encode_signed(&p, &b), EIM_ERANGE);
	p.counter = 0;
	ck_assert_int_eq(eim_pkg_encode_signed(&p, &b), EIM_ERANGE);
	p.counter = -5;
	ck_assert_int_eq(eim_pkg_encode_signed(&p, &b), EIM_ERANGE);
	ck_assert_uint_eq(b.len, 0);
	eim_buf_done(&b);
}
END_TEST

START_TEST(encode_rejects_bad_input)
{
	struct eim_psmo op = {.kind = EIM_PSMO_GET_RAT};
	struct eim_pkg p;
	struct eim_buf b;
	uint8_t longid[129];

	memset(longid, 'a', sizeof(longid));
	eim_buf_init(&b);
	base_pkg(&p);
	p.psmo = &op;
	ck_assert_int_eq(eim_pkg_encode_signed(&p, &b), EIM_EINVAL); /* 0 ops */
	p.n_ops = 1;
	p.eim_id.p = longid;
	p.eim_id.len = 129;
	ck_assert_int_eq(eim_pkg_encode_signed(&p, &b), EIM_EINVAL);
	p.eim_id.len = 128;
	ck_assert_int_eq(eim_pkg_encode_signed(&p, &b), 0);
	eim_buf_reset(&b);
	p.txid.len = 17;
	ck_assert_int_eq(eim_pkg_encode_signed(&p, &b), EIM_EINVAL);
	p.txid.len = 16;
	op.kind = 99;
	ck_assert_int_eq(eim_pkg_encode_signed(&p, &b), EIM_EINVAL);
	op.kind = EIM_PSMO_SET_DEFAULT_DP; /* dp_address missing */
	ck_assert_int_eq(eim_pkg_encode_signed(&p, &b), EIM_EINVAL);
	eim_buf_done(&b);
}
END_TEST

START_TEST(eco_round_trip_every_kind)
{
	struct eim_sig_key *k = NULL;
	struct eim_buf spki, b, again, w;
	struct eim_eco ecos[4];
	struct eim_pkg p;
	struct eim_pkg_view v;
	static const uint8_t ski[] = {0xf5, 0x41, 0x72, 0xbd};
	static const uint8_t proto[] = {0x03, 0x48}; /* bits 1 and 4 */
	uint8_t sig[64] = {0};

	ck_assert_int_eq(eim_sig_key_generate(EIM_SIG_P256, &k), 0);
	eim_buf_init(&spki);
	ck_assert_int_eq(eim_sig_key_spki(k, &spki), 0);
	memset(ecos, 0, sizeof(ecos));
	ecos[0].kind = EIM_ECO_ADD_EIM;
	ecos[0].cfg.eim_id = S("eim-2");
	ecos[0].cfg.fqdn = S("eim2.example.org");
	ecos[0].cfg.id_type = 2;
	ecos[0].cfg.has_counter = true;
	ecos[0].cfg.counter = 1;
	ecos[0].cfg.has_token = true;
	ecos[0].cfg.token = -1;
	ecos[0].cfg.pk_kind = EIM_KEYDATA_SPKI;
	ecos[0].cfg.pk.p = spki.p;
	ecos[0].cfg.pk.len = spki.len;
	ecos[0].cfg.tls_kind = EIM_KEYDATA_CERT;
	ecos[0].cfg.tls.p =
		spki.p; /* any SEQUENCE: the codec does not parse it */
	ecos[0].cfg.tls.len = spki.len;
	ecos[0].cfg.protocols.p = proto;
	ecos[0].cfg.protocols.len = sizeof(proto);
	ecos[0].cfg.ci_pkid.p = ski;
	ecos[0].cfg.ci_pkid.len = sizeof(ski);
	ecos[0].cfg.indirect_download = true;
	ecos[1].kind = EIM_ECO_DELETE_EIM;
	ecos[1].eim_id = S("old-eim");
	ecos[2].kind = EIM_ECO_UPDATE_EIM;
	ecos[2].cfg.eim_id = S("eim-2");
	ecos[2].cfg.fqdn = S("new.example.org");
	ecos[3].kind = EIM_ECO_LIST_EIM;

	base_pkg(&p);
	p.is_eco = true;
	p.eco = ecos;
	p.n_ops = 4;
	eim_buf_init(&b);
	ck_assert_int_eq(eim_pkg_encode_signed(&p, &b), 0);
	eim_buf_init(&w);
	size_t m = eim_der_open(&w, 0xbf51);
	eim_buf_append(&w, b.p, b.len);
	eim_der_put(&w, 0x5f37, sig, 64);
	eim_der_close(&w, m);
	ck_assert_int_eq(eim_pkg_decode(w.p, w.len, NULL, &v), 0);
	ck_assert(v.pkg.is_eco);
	ck_assert_int_eq(v.pkg.n_ops, 4);
	const struct eim_eim_config *c = &v.pkg.eco[0].cfg;
	ck_assert_int_eq(v.pkg.eco[0].kind, EIM_ECO_ADD_EIM);
	ck_assert(slice_eq(c->eim_id, S("eim-2")));
	ck_assert(slice_eq(c->fqdn, S("eim2.example.org")));
	ck_assert_int_eq(c->id_type, 2);
	ck_assert(c->has_counter && c->counter == 1);
	ck_assert(c->has_token && c->token == -1);
	ck_assert_int_eq(c->pk_kind, EIM_KEYDATA_SPKI);
	ck_assert_int_eq(c->tls_kind, EIM_KEYDATA_CERT);
	ck_assert_uint_eq(c->pk.p[0], 0xa0);
	ck_assert_uint_eq(c->tls.p[0], 0xa1);
	ck_assert(c->indirect_download);
	ck_assert(slice_eq(c->ci_pkid, ecos[0].cfg.ci_pkid));
	ck_assert(slice_eq(c->protocols, ecos[0].cfg.protocols));
	/* The embedded key converts back into a loadable SPKI. */
	struct eim_buf kd;
	struct eim_sig_key *k2 = NULL;
	eim_buf_init(&kd);
	ck_assert_int_eq(eim_pkg_keydata_der(c->pk, &kd), 0);
	ck_assert_uint_eq(kd.len, spki.len);
	ck_assert_mem_eq(kd.p, spki.p, spki.len);
	ck_assert_int_eq(eim_sig_key_load(kd.p, kd.len, &k2), 0);
	eim_sig_key_free(k2);
	eim_buf_done(&kd);
	ck_assert_int_eq(v.pkg.eco[1].kind, EIM_ECO_DELETE_EIM);
	ck_assert(slice_eq(v.pkg.eco[1].eim_id, S("old-eim")));
	ck_assert_int_eq(v.pkg.eco[2].kind, EIM_ECO_UPDATE_EIM);
	ck_assert(!v.pkg.eco[2].cfg.has_counter);
	ck_assert_int_eq(v.pkg.eco[3].kind, EIM_ECO_LIST_EIM);
	eim_buf_init(&again);
	ck_assert_int_eq(eim_pkg_encode_signed(&v.pkg, &again), 0);
	ck_assert_uint_eq(again.len, b.len);
	ck_assert_mem_eq(again.p, b.p, b.len);
	eim_pkg_view_done(&v);
	eim_buf_done(&again);
	eim_buf_done(&w);
	eim_buf_done(&b);
	eim_buf_done(&spki);
	eim_sig_key_free(k);
}
END_TEST

START_TEST(build_sign_verify_with_token)
{
	struct eim_sig_key *k = NULL, *pub = NULL;
	struct eim_psmo op = {.kind = EIM_PSMO_GET_RAT};
	struct eim_pkg p;
	struct eim_pkg_view v;
	struct eim_buf b, spki;

	ck_assert_int_eq(eim_sig_key_generate(EIM_SIG_P256, &k), 0);
	eim_buf_init(&spki);
	ck_assert_int_eq(eim_sig_key_spki(k, &spki), 0);
	ck_assert_int_eq(eim_sig_key_load(spki.p, spki.len, &pub), 0);
	base_pkg(&p);
	p.psmo = &op;
	p.n_ops = 1;
	eim_buf_init(&b);
	eim_buf_append(&b, "x", 1); /* build appends after existing bytes */
	ck_assert_int_eq(eim_pkg_build(&p, 5, k, &b), 0);
	ck_assert_int_eq(eim_pkg_decode(b.p + 1, b.len - 1, NULL, &v), 0);
	ck_assert_uint_eq(v.signature.len, 64);
	ck_assert_int_eq(eim_pkg_verify(&v, 5, pub), 0);
	/* Another token, or none, is another signature input. */
	ck_assert_int_eq(eim_pkg_verify(&v, 0, pub), EIM_EVERIFY);
	ck_assert_int_eq(eim_pkg_verify(&v, 6, pub), EIM_EVERIFY);
	eim_pkg_view_done(&v);
	/* A flipped byte in the signed part fails. */
	b.p[1 + 10] ^= 0x01;
	ck_assert_int_eq(eim_pkg_decode(b.p + 1, b.len - 1, NULL, &v), 0);
	ck_assert_int_eq(eim_pkg_verify(&v, 5, pub), EIM_EVERIFY);
	eim_pkg_view_done(&v);

	/* Out-of-range counter: nothing appended. */
	eim_buf_reset(&b);
	p.counter = 8388608;
	ck_assert_int_eq(eim_pkg_build(&p, 0, k, &b), EIM_ERANGE);
	ck_assert_uint_eq(b.len, 0);
	/* Public key cannot sign. */
	p.counter = 2;
	ck_assert_int_eq(eim_pkg_build(&p, 0, pub, &b), EIM_ESTATE);
	ck_assert_uint_eq(b.len, 0);
	eim_buf_done(&b);
	eim_buf_done(&spki);
	eim_sig_key_free(k);
	eim_sig_key_free(pub);
}
END_TEST

START_TEST(token_do_bytes)
{
	struct eim_buf b;
	char hex[32];

	eim_buf_init(&b);
	eim_pkg_token_do(0, &b);
	eim_pkg_token_do(1, &b);
	eim_pkg_token_do(200, &b);
	eim_hex_encode(b.p, b.len, hex);
	ck_assert_str_eq(hex, "840100840101840200c8");
	eim_buf_done(&b);
}
END_TEST

/* A valid minimal package with known layout, mutated per case. */
static const char *const good_hex =
	"bf5163"
	"301e80014"
	"55a10"
	"89049032000000000000000000001234"
	"810101"
	"a004"
	"a600"
	"a900"
	"5f3740"
	"0000000000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000";

static int decode_hex(const char *hex, struct eim_der_diag *d)
{
	uint8_t buf[256];
	size_t n = 0;
	struct eim_pkg_view v;
	int rc;

	ck_assert_int_eq(eim_hex_decode(hex, strlen(hex), buf, sizeof(buf), &n),
			 0);
	memset(d, 0, sizeof(*d));
	rc = eim_pkg_decode(buf, n, d, &v);
	if (rc == 0)
		eim_pkg_view_done(&v);
	return rc;
}

START_TEST(decode_malformed_twins)
{
	struct eim_der_diag d;
	uint8_t buf[256];
	size_t n = 0;

	ck_assert_int_eq(decode_hex(good_hex, &d), 0);
	ck_assert_int_eq(eim_hex_decode(good_hex, strlen(good_hex), buf,
					sizeof(buf), &n),
			 0);
	/* Truncated at every length: never OK, never out of bounds. */
	for (size_t i = 0; i < n; i++) {
		struct eim_pkg_view v;
		memset(&d, 0, sizeof(d));
		ck_assert_int_lt(eim_pkg_decode(buf, i, &d, &v), 0);
		ck_assert_ptr_nonnull(d.what);
		ck_assert_uint_le(d.off, i);
	}
	/* Wrong outer tag. */
	ck_assert_int_eq(decode_hex("bf5203020100", &d), EIM_ETAG);
	/* Trailing byte after the package. */
	struct eim_pkg_view v;
	buf[n] = 0x00;
	ck_assert_int_eq(eim_pkg_decode(buf, n + 1, &d, &v), EIM_EMALFORMED);
	/* Outer length one too long. */
	buf[2]++;
	ck_assert_int_eq(eim_pkg_decode(buf, n, &d, &v), EIM_ETRUNC);
	buf[2]--;
	/* EID of 15 bytes. */
	ck_assert_int_eq(decode_hex("bf5109"
				    "3007"
				    "800145"
				    "5a020102",
				    &d),
			 EIM_EMALFORMED);
	/* Unknown PSMO tag (AF) in the list. */
	char *bad = eim_strdup(good_hex);
	char *pos = strstr(bad, "a600");
	memcpy(pos, "af", 2);
	ck_assert_int_eq(decode_hex(bad, &d), EIM_ETAG);
	ck_assert_str_eq(d.what, "unknown PSMO");
	/* getRAT with content. */
	strcpy(bad, good_hex);
	pos = strstr(bad, "a004"
			  "a600");
	memcpy(pos, "a004a601", 8);
	ck_assert_int_lt(decode_hex(bad, &d), 0);
	/* Neither psmoList nor ecoList. */
	strcpy(bad, good_hex);
	pos = strstr(bad, "a004");
	memcpy(pos, "a204", 4);
	ck_assert_int_eq(decode_hex(bad, &d), EIM_ETAG);
	/* Signature missing: replace 5F37 by 5F38. */
	strcpy(bad, good_hex);
	pos = strstr(bad, "5f3740");
	memcpy(pos, "5f38", 4);
	ck_assert_int_eq(decode_hex(bad, &d), EIM_ETAG);
	/* Empty eimId. */
	ck_assert_int_eq(decode_hex("bf5104"
				    "3002"
				    "8000",
				    &d),
			 EIM_EMALFORMED);
	eim_free(bad);
}
END_TEST

START_TEST(decode_allocation_failure)
{
	struct eim_pkg_view v;
	uint8_t buf[256];
	size_t n = 0;

	ck_assert_int_eq(eim_hex_decode(good_hex, strlen(good_hex), buf,
					sizeof(buf), &n),
			 0);
	eim_alloc_fail_after(0);
	ck_assert_int_eq(eim_pkg_decode(buf, n, NULL, &v), EIM_ENOMEM);
	eim_alloc_fail_reset();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pkg");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, psmo_round_trip_every_kind);
	tcase_add_test(tc, psmo_exact_bytes);
	tcase_add_test(tc, counter_edges);
	tcase_add_test(tc, encode_rejects_bad_input);
	tcase_add_test(tc, eco_round_trip_every_kind);
	tcase_add_test(tc, build_sign_verify_with_token);
	tcase_add_test(tc, token_do_bytes);
	tcase_add_test(tc, decode_malformed_twins);
	tcase_add_test(tc, decode_allocation_failure);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
