/*
 * Unit tests for proto/eim_ipadata: IpaEuiccDataResponse (data and error),
 * ProfileDownloadTriggerResult, EimAcknowledgements, AddInitialEim request
 * and response, ProfileInfo (including a real eUICC's BER quirk) and ICCID
 * digits, each with malformed twins.
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "proto/eim_ipadata.h"

#include <check.h>
#include <string.h>

#define S(str) ((struct eim_slice){(const uint8_t *)(str), sizeof(str) - 1})

static int parse(const struct eim_buf *b, struct eim_der_cur *c,
		 struct eim_der_tlv *t, struct eim_der_diag *dg)
{
	memset(dg, 0, sizeof(*dg));
	eim_der_cur_init(c, b->p, b->len, dg);
	return eim_der_read(c, t);
}

START_TEST(ipa_euicc_data_round_trip)
{
	static const uint8_t list[] = {0xa0, 0x00};
	static const uint8_t eprs[] = {0xa2, 0x0e, 0xbf, 0x51, 0x05, 0xa2,
				       0x03, 0x80, 0x01, 0x45, 0xbf, 0x51,
				       0x03, 0xa2, 0x01, 0x00};
	static const uint8_t info1[] = {0xbf, 0x20, 0x00};
	static const uint8_t info2[] = {0xbf, 0x22, 0x00};
	static const uint8_t cert[] = {0xa5, 0x02, 0x30, 0x00};
	static const uint8_t cert2[] = {0xa6, 0x02, 0x30, 0x00};
	static const uint8_t caps[] = {0xa8, 0x04, 0x80, 0x02, 0x02, 0x24};
	static const uint8_t dev[] = {0xa9, 0x00};
	struct eim_ipadata d = {0}, r;
	struct eim_der_cur c;
	struct eim_der_tlv t;
	struct eim_der_diag dg;
	struct eim_buf b;

	d.notifications = (struct eim_slice){list, sizeof(list)};
	d.default_smdp = S("smdp.example.com");
	d.epr_list = (struct eim_slice){eprs, sizeof(eprs)};
	d.euicc_info1 = (struct eim_slice){info1, sizeof(info1)};
	d.euicc_info2 = (struct eim_slice){info2, sizeof(info2)};
	d.root_smds = S("lpa.ds.gsma.com");
	d.has_token = true;
	d.token = 1;
	d.eum_cert = (struct eim_slice){cert, sizeof(cert)};
	d.euicc_cert = (struct eim_slice){cert2, sizeof(cert2)};
	d.txid = S("tx");
	d.ipa_capabilities = (struct eim_slice){caps, sizeof(caps)};
	d.device_info = (struct eim_slice){dev, sizeof(dev)};
	eim_buf_init(&b);
	ck_assert_int_eq(eim_ipadata_encode(&d, &b), 0);
	ck_assert_int_eq(parse(&b, &c, &t, &dg), 0);
	ck_assert_int_eq(eim_ipadata_decode(&c, &t, &r), 0);
	ck_assert(!r.is_error);
	ck_assert_uint_eq(r.default_smdp.len, 16);
	ck_assert_uint_eq(r.epr_list.len, sizeof(eprs));
	ck_assert(r.has_token && r.token == 1);
	ck_assert_uint_eq(r.txid.len, 2);
	ck_assert_mem_eq(r.euicc_cert.p, cert2, sizeof(cert2));
	/* Iterating the stored results. */
	size_t it = 0, count = 0;
	struct eim_der_tlv e;
	int rc;
	while ((rc = eim_ipadata_list_next(r.epr_list, &it, &e)) == 1) {
		ck_assert_uint_eq(e.tag, 0xbf51);
		count++;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(count, 2);
	/* Truncations never decode. */
	for (size_t i = 0; i < b.len; i++) {
		struct eim_buf p = b;
		p.len = i;
		if (parse(&p, &c, &t, &dg) == 0)
			ck_assert_int_lt(eim_ipadata_decode(&c, &t, &r), 0);
	}
	/* Duplicate field. */
	const uint8_t dup[] = {0xbf, 0x52, 0x08, 0xa0, 0x06, 0x84,
			       0x01, 0x01, 0x84, 0x01, 0x02};
	struct eim_buf db = {.p = (uint8_t *)dup, .len = sizeof(dup)};
	ck_assert_int_eq(parse(&db, &c, &t, &dg), 0);
	ck_assert_int_eq(eim_ipadata_decode(&c, &t, &r), EIM_EMALFORMED);
	ck_assert_str_eq(dg.what, "duplicate field");

	/* Error form. */
	memset(&d, 0, sizeof(d));
	d.is_error = true;
	d.err_txid = S("t");
	d.err_code = 5;
	eim_buf_reset(&b);
	ck_assert_int_eq(eim_ipadata_encode(&d, &b), 0);
	ck_assert_int_eq(parse(&b, &c, &t, &dg), 0);
	ck_assert_int_eq(eim_ipadata_decode(&c, &t, &r), 0);
	ck_assert(r.is_error && r.err_code == 5);
	ck_assert_str_eq(eim_ipadata_error_name(5), "euiccCiPKIdNotFound");
	eim_buf_done(&b);
}
END_TEST

START_TEST(pdt_result_forms)
{
	static const uint8_t pir[] = {0xbf, 0x37, 0x02, 0xbf, 0x27, 0x00};
	struct eim_pdt_result p = {0}, r;
	struct eim_der_cur c;
	struct eim_der_tlv t;
	struct eim_der_diag dg;
	struct eim_buf b;

	p.txid = S("tx");
	p.pir = (struct eim_slice){pir, sizeof(pir)};
	p.pir.len = 4; /* cut inside the value: not one TLV */
	eim_buf_init(&b);
	ck_assert_int_eq(eim_pdt_result_encode(&p, &b), EIM_EINVAL);
	static const uint8_t pir_ok[] = {0xbf, 0x37, 0x03, 0xbf, 0x27, 0x00};
	p.pir = (struct eim_slice){pir_ok, sizeof(pir_ok)};
	eim_buf_reset(&b);
	ck_assert_int_eq(eim_pdt_result_encode(&p, &b), 0);
	ck_assert_int_eq(parse(&b, &c, &t, &dg), 0);
	ck_assert_int_eq(eim_pdt_result_decode(&c, &t, &r), 0);
	ck_assert(!r.is_error);
	ck_assert_uint_eq(r.pir.len, sizeof(pir_ok));

	memset(&p, 0, sizeof(p));
	p.is_error = true;
	p.error_reason = 104;
	p.error_response = S("\x01");
	eim_buf_reset(&b);
	ck_assert_int_eq(eim_pdt_result_encode(&p, &b), 0);
	char hex[64];
	eim_hex_encode(b.p, b.len, hex);
	ck_assert_str_eq(hex, "bf54083006800168040101");
	ck_assert_int_eq(parse(&b, &c, &t, &dg), 0);
	ck_assert_int_eq(eim_pdt_result_decode(&c, &t, &r), 0);
	ck_assert(r.is_error && r.error_reason == 104);
	/* Neither PIR nor error. */
	const uint8_t bad[] = {0xbf, 0x54, 0x02, 0xa1, 0x00};
	struct eim_buf bb = {.p = (uint8_t *)bad, .len = sizeof(bad)};
	ck_assert_int_eq(parse(&bb, &c, &t, &dg), 0);
	ck_assert_int_eq(eim_pdt_result_decode(&c, &t, &r), EIM_ETAG);
	eim_buf_done(&b);
}
END_TEST

START_TEST(add_initial_eim)
{
	struct eim_add_initial_req q = {0}, qd;
	struct eim_add_initial_resp a = {0}, ad;
	struct eim_buf b;
	struct eim_der_diag dg = {0};

	q.n = 2;
	q.cfg[0].eim_id = S("eim-1");
	q.cfg[0].fqdn = S("eim.example.org");
	q.cfg[0].id_type = 2;
	q.cfg[0].has_counter = true;
	q.cfg[0].counter = 1;
	q.cfg[1].eim_id = S("eim-2");
	q.cfg[1].indirect_download = true;
	eim_buf_init(&b);
	ck_assert_int_eq(eim_add_initial_req_encode(&q, &b), 0);
	ck_assert_uint_eq(b.p[0], 0xbf);
	ck_assert_uint_eq(b.p[1], 0x57);
	ck_assert_int_eq(eim_add_initial_req_decode(b.p, b.len, NULL, &qd), 0);
	ck_assert_uint_eq(qd.n, 2);
	ck_assert_uint_eq(qd.cfg[0].fqdn.len, 15);
	ck_assert(qd.cfg[1].indirect_download);
	for (size_t i = 0; i < b.len; i++)
		ck_assert_int_lt(eim_add_initial_req_decode(b.p, i, &dg, &qd),
				 0);

	a.n = 2;
	a.entry[0].has_token = true;
	a.entry[0].token = 1;
	eim_buf_reset(&b);
	ck_assert_int_eq(eim_add_initial_resp_encode(&a, &b), 0);
	char hex[64];
	eim_hex_encode(b.p, b.len, hex);
	ck_assert_str_eq(hex, "bf5707a00584010105"
			      "00");
	ck_assert_int_eq(eim_add_initial_resp_decode(b.p, b.len, NULL, &ad), 0);
	ck_assert(ad.n == 2 && ad.entry[0].has_token && !ad.entry[1].has_token);
	memset(&a, 0, sizeof(a));
	a.is_error = true;
	a.error_code = 2;
	eim_buf_reset(&b);
	ck_assert_int_eq(eim_add_initial_resp_encode(&a, &b), 0);
	ck_assert_int_eq(eim_add_initial_resp_decode(b.p, b.len, NULL, &ad), 0);
	ck_assert(ad.is_error && ad.error_code == 2);
	ck_assert_str_eq(eim_add_initial_error_name(2),
			 "associatedEimAlreadyExists");
	const uint8_t bad[] = {0xbf, 0x57, 0x02, 0x82, 0x00};
	ck_assert_int_eq(eim_add_initial_resp_decode(bad, sizeof(bad), NULL,
						     &ad),
			 EIM_ETAG);
	eim_buf_done(&b);
}
END_TEST

START_TEST(profile_info)
{
	struct eim_profile_info p, r;
	struct eim_der_cur c;
	struct eim_der_tlv t;
	struct eim_der_diag dg;
	struct eim_buf b;
	char digits[21];

	memset(&p, 0, sizeof(p));
	p.has_iccid = true;
	ck_assert_int_eq(eim_iccid_parse("8944123456789012345", p.iccid), 0);
	eim_iccid_format(p.iccid, digits);
	ck_assert_str_eq(digits, "8944123456789012345");
	ck_assert_uint_eq(p.iccid[9], 0xf5);
	ck_assert_int_eq(eim_iccid_parse("89x4", p.iccid), EIM_EMALFORMED);
	p.state = 1;
	p.name = S("Test profile");
	p.sp_name = S("Operator");
	p.icon_type = -1;
	p.profile_class = 2;
	p.ecall = 0;
	p.fallback = true;
	p.fallback_allowed = 1;
	eim_buf_init(&b);
	ck_assert_int_eq(eim_profile_info_encode(&p, &b), 0);
	ck_assert_int_eq(parse(&b, &c, &t, &dg), 0);
	ck_assert_int_eq(eim_profile_info_decode(&c, &t, &r), 0);
	ck_assert(r.has_iccid && r.state == 1 && r.profile_class == 2);
	ck_assert(r.fallback && r.fallback_allowed == 1 && r.ecall == 0);
	ck_assert_int_eq(r.icon_type, -1);
	ck_assert_uint_eq(r.name.len, 12);
	/* A real eUICC sends fallbackAttribute = its DEFAULT (BER). */
	const uint8_t ber[] = {0xe3, 0x04, 0x9f, 0x26, 0x01, 0x00};
	struct eim_buf bb = {.p = (uint8_t *)ber, .len = sizeof(ber)};
	ck_assert_int_eq(parse(&bb, &c, &t, &dg), 0);
	ck_assert_int_eq(eim_profile_info_decode(&c, &t, &r), 0);
	ck_assert(!r.fallback);
	const uint8_t badiccid[] = {0xe3, 0x03, 0x5a, 0x01, 0x00};
	bb.p = (uint8_t *)badiccid;
	bb.len = sizeof(badiccid);
	ck_assert_int_eq(parse(&bb, &c, &t, &dg), 0);
	ck_assert_int_eq(eim_profile_info_decode(&c, &t, &r), EIM_EMALFORMED);
	eim_buf_done(&b);
}
END_TEST

START_TEST(acks_limits)
{
	struct eim_acks a = {0}, r;
	struct eim_der_cur c;
	struct eim_der_tlv t;
	struct eim_der_diag dg;
	struct eim_buf b;

	a.n = EIM_ACKS_MAX;
	for (size_t i = 0; i < a.n; i++)
		a.seq[i] = (int64_t)i * 1000;
	eim_buf_init(&b);
	ck_assert_int_eq(eim_acks_encode(&a, &b), 0);
	ck_assert_int_eq(parse(&b, &c, &t, &dg), 0);
	ck_assert_int_eq(eim_acks_decode(&c, &t, &r), 0);
	ck_assert_uint_eq(r.n, EIM_ACKS_MAX);
	ck_assert(r.seq[63] == 63000);
	a.n = EIM_ACKS_MAX + 1;
	ck_assert_int_eq(eim_acks_encode(&a, &b), EIM_EINVAL);
	/* 65 entries on the wire. */
	eim_buf_reset(&b);
	size_t m = eim_der_open(&b, 0xbf53);
	for (int i = 0; i < 65; i++)
		eim_der_put_int(&b, 0x80, i);
	eim_der_close(&b, m);
	ck_assert_int_eq(parse(&b, &c, &t, &dg), 0);
	ck_assert_int_eq(eim_acks_decode(&c, &t, &r), EIM_ETOOBIG);
	eim_buf_done(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ipadata");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, ipa_euicc_data_round_trip);
	tcase_add_test(tc, pdt_result_forms);
	tcase_add_test(tc, add_initial_eim);
	tcase_add_test(tc, profile_info);
	tcase_add_test(tc, acks_limits);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
