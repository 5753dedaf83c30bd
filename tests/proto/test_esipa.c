/*
 * Unit tests for proto/eim_esipa: every ESipa message both ways (encode then
 * decode), the byte examples of the protocol notes, accepted v1.0/v1.3
 * variants, and malformed twins (truncated at every length, wrong tag,
 * trailing bytes, length too long, unknown CHOICE alternative).
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "proto/eim_esipa.h"
#include "proto/eim_pkg.h"

#include <check.h>
#include <string.h>

#define S(str) ((struct eim_slice){(const uint8_t *)(str), sizeof(str) - 1})

static char hexbuf[4096];

static const char *hex_of(const struct eim_buf *b)
{
	ck_assert_int_eq(b->err, 0);
	ck_assert_uint_lt(2 * b->len, sizeof(hexbuf));
	return eim_hex_encode(b->p, b->len, hexbuf);
}

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = 0;

	ck_assert_int_eq(eim_hex_decode(h, strlen(h), out, cap, &n), 0);
	return n;
}

/* Every strict prefix fails with a diagnostic inside the prefix; one more
 * byte at the end fails as trailing bytes; an outer length one larger
 * than the data fails as truncated. */
static void twins_ipa(const uint8_t *m, size_t n)
{
	struct eim_esipa_from_ipa d;
	struct eim_der_diag dg;
	uint8_t buf[1024];

	for (size_t i = 0; i < n; i++) {
		memset(&dg, 0, sizeof(dg));
		ck_assert_int_lt(eim_esipa_decode_from_ipa(m, i, &dg, &d), 0);
		ck_assert_ptr_nonnull(dg.what);
		ck_assert_uint_le(dg.off, i);
	}
	memcpy(buf, m, n);
	buf[n] = 0;
	ck_assert_int_eq(eim_esipa_decode_from_ipa(buf, n + 1, &dg, &d),
			 EIM_EMALFORMED);
	if (buf[2] < 0x7f) {
		buf[2]++;
		ck_assert_int_eq(eim_esipa_decode_from_ipa(buf, n, &dg, &d),
				 EIM_ETRUNC);
	}
}

static void twins_eim(const uint8_t *m, size_t n)
{
	struct eim_esipa_from_eim d;
	struct eim_der_diag dg;
	uint8_t buf[1024];

	for (size_t i = 0; i < n; i++) {
		memset(&dg, 0, sizeof(dg));
		ck_assert_int_lt(eim_esipa_decode_from_eim(m, i, &dg, &d), 0);
		ck_assert_ptr_nonnull(dg.what);
	}
	memcpy(buf, m, n);
	buf[n] = 0;
	ck_assert_int_eq(eim_esipa_decode_from_eim(buf, n + 1, &dg, &d),
			 EIM_EMALFORMED);
	if (buf[2] < 0x7f) {
		buf[2]++;
		ck_assert_int_eq(eim_esipa_decode_from_eim(buf, n, &dg, &d),
				 EIM_ETRUNC);
	}
}

START_TEST(protocol_examples)
{
	struct eim_buf b;
	const int64_t five = 5;

	eim_buf_init(&b);
	ck_assert_int_eq(eim_esipa_get_pkg_response_error(1, &b), 0);
	ck_assert_str_eq(hex_of(&b), "bf4f03020101");
	eim_buf_reset(&b);
	ck_assert_int_eq(eim_esipa_provide_response_acks(&five, 1, &b), 0);
	ck_assert_str_eq(hex_of(&b), "bf5006bf5303800105");
	eim_buf_reset(&b);
	ck_assert_int_eq(eim_esipa_provide_response_acks(NULL, 0, &b), 0);
	ck_assert_str_eq(hex_of(&b), "bf50023000");
	eim_buf_reset(&b);
	ck_assert_int_eq(eim_esipa_provide_response_error(3, &b), 0);
	ck_assert_str_eq(hex_of(&b), "bf5003020103");

	struct eim_esipa_from_eim d;
	ck_assert_int_eq(eim_esipa_decode_from_eim(b.p, b.len, NULL, &d), 0);
	ck_assert_int_eq(d.provide.kind, EIM_PRESP_ERROR);
	ck_assert_str_eq(eim_esipa_pkg_error_name(1), "noEimPackageAvailable");
	ck_assert_str_eq(eim_esipa_state_change_name(5),
			 "immediateEnableProfile");
	eim_buf_done(&b);
}
END_TEST

START_TEST(get_eim_package_request)
{
	struct eim_esipa_from_ipa m, d;
	struct eim_buf b;
	uint8_t v10[64];
	size_t n;

	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_GET_EIM_PACKAGE;
	memset(m.get.eid, 0x89, 16);
	eim_buf_init(&b);
	ck_assert_int_eq(eim_esipa_encode_from_ipa(&m, &b), 0);
	ck_assert_str_eq(hex_of(&b),
			 "bf4f125a1089898989898989898989898989898989");
	m.get.notify_state_change = true;
	m.get.has_cause = true;
	m.get.cause = 1;
	m.get.has_rplmn = true;
	memcpy(m.get.rplmn, "\x62\xf2\x10", 3);
	eim_buf_reset(&b);
	ck_assert_int_eq(eim_esipa_encode_from_ipa(&m, &b), 0);
	ck_assert_int_eq(eim_esipa_decode_from_ipa(b.p, b.len, NULL, &d), 0);
	ck_assert_uint_eq(d.tag, EIM_ESIPA_GET_EIM_PACKAGE);
	ck_assert(d.get.notify_state_change && d.get.has_cause &&
		  d.get.cause == 1 && d.get.has_rplmn);
	ck_assert_mem_eq(d.get.rplmn, "\x62\xf2\x10", 3);
	ck_assert_mem_eq(d.get.eid, m.get.eid, 16);
	ck_assert_uint_eq(d.raw.len, b.len);
	twins_ipa(b.p, b.len);

	/* v1.0: rPLMN was [1]. */
	n = unhex("bf4f175a1000000000000000000000000000000001"
		  "810362f210",
		  v10, sizeof(v10));
	ck_assert_int_eq(eim_esipa_decode_from_ipa(v10, n, NULL, &d), 0);
	ck_assert(d.get.has_rplmn && !d.get.has_cause);
	/* EID of the wrong size. */
	struct eim_der_diag dg = {0};
	n = unhex("bf4f035a0101", v10, sizeof(v10));
	ck_assert_int_eq(eim_esipa_decode_from_ipa(v10, n, &dg, &d),
			 EIM_EMALFORMED);
	ck_assert_uint_eq(dg.off, 3);
	/* Unknown function tag. */
	n = unhex("bf4c00", v10, sizeof(v10));
	ck_assert_int_eq(eim_esipa_decode_from_ipa(v10, n, NULL, &d), EIM_ETAG);
	/* A primitive top-level element. */
	n = unhex("9f4f00", v10, sizeof(v10));
	ck_assert_int_eq(eim_esipa_decode_from_ipa(v10, n, NULL, &d),
			 EIM_EMALFORMED);
	eim_buf_done(&b);
}
END_TEST

static const char epr_hex[] = "bf5105a203800145";

START_TEST(provide_result_every_kind)
{
	uint8_t epr[16], pdt[] = {0xbf, 0x54, 0x03, 0x30, 0x01, 0x00};
	uint8_t ipad[] = {0xbf, 0x52, 0x02, 0xa0, 0x00};
	uint8_t list[] = {0xa0, 0x00};
	size_t en = unhex(epr_hex, epr, sizeof(epr));
	struct eim_esipa_from_ipa m, d;
	struct eim_buf b;
	static const enum eim_esipa_result_kind kinds[] =
		{EIM_RESULT_EPR, EIM_RESULT_EPR_AND_NOTIFS, EIM_RESULT_IPA_DATA,
		 EIM_RESULT_PDT, EIM_RESULT_ERROR};

	eim_buf_init(&b);
	for (size_t i = 0; i < 5; i++) {
		memset(&m, 0, sizeof(m));
		m.tag = EIM_ESIPA_PROVIDE_EIM_PACKAGE_RESULT;
		m.result.kind = kinds[i];
		m.result.has_eid = i % 2 == 0;
		memset(m.result.eid, 0x11, 16);
		switch (kinds[i]) {
		case EIM_RESULT_EPR:
			m.result.body.p = epr;
			m.result.body.len = en;
			break;
		case EIM_RESULT_EPR_AND_NOTIFS:
			m.result.body.p = epr;
			m.result.body.len = en;
			m.result.notifs.p = list;
			m.result.notifs.len = sizeof(list);
			break;
		case EIM_RESULT_IPA_DATA:
			m.result.body.p = ipad;
			m.result.body.len = sizeof(ipad);
			break;
		case EIM_RESULT_PDT:
			m.result.body.p = pdt;
			m.result.body.len = sizeof(pdt);
			break;
		case EIM_RESULT_ERROR:
			m.result.err_txid = S("tx");
			m.result.err_code = 2;
			break;
		}
		eim_buf_reset(&b);
		ck_assert_int_eq(eim_esipa_encode_from_ipa(&m, &b), 0);
		ck_assert_int_eq(eim_esipa_decode_from_ipa(b.p, b.len, NULL,
							   &d),
				 0);
		ck_assert_int_eq(d.result.kind, kinds[i]);
		ck_assert_int_eq(d.result.has_eid, m.result.has_eid);
		if (m.result.body.p) {
			ck_assert_uint_eq(d.result.body.len, m.result.body.len);
			ck_assert_mem_eq(d.result.body.p, m.result.body.p,
					 m.result.body.len);
		}
		if (kinds[i] == EIM_RESULT_ERROR) {
			ck_assert(d.result.err_code == 2);
			ck_assert_uint_eq(d.result.err_txid.len, 2);
		}
		twins_ipa(b.p, b.len);
	}
	/* Wrong CHOICE alternative inside BF50. */
	uint8_t bad[32];
	struct eim_der_diag dg = {0};
	size_t n = unhex("bf5002a900", bad, sizeof(bad));
	ck_assert_int_eq(eim_esipa_decode_from_ipa(bad, n, &dg, &d), EIM_ETAG);
	ck_assert_str_eq(dg.what, "unknown EimPackageResult alternative");
	/* v1.0 ePRAndNotifications with notificationList BF2B. */
	n = unhex("bf500d300bbf5105a203800145bf2b00", bad, sizeof(bad));
	ck_assert_int_eq(eim_esipa_decode_from_ipa(bad, n, NULL, &d), 0);
	ck_assert(d.result.v10);
	eim_buf_done(&b);
}
END_TEST

START_TEST(handle_notification_forms)
{
	struct eim_esipa_from_ipa m, d;
	struct eim_buf b;
	uint8_t epr[16], raw[64];
	size_t en = unhex(epr_hex, epr, sizeof(epr)), n;

	/* A PendingNotification is relayed as opaque bytes. */
	uint8_t pir_ok[] = {0xbf, 0x37, 0x03, 0xbf, 0x27, 0x00};
	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_HANDLE_NOTIFICATION;
	m.notification.kind = EIM_NOTIF_PENDING;
	m.notification.pending.p = pir_ok;
	m.notification.pending.len = sizeof(pir_ok);
	eim_buf_init(&b);
	ck_assert_int_eq(eim_esipa_encode_from_ipa(&m, &b), 0);
	ck_assert_str_eq(hex_of(&b), "bf3d08a006bf3703bf2700");
	ck_assert_int_eq(eim_esipa_decode_from_ipa(b.p, b.len, NULL, &d), 0);
	ck_assert_int_eq(d.notification.kind, EIM_NOTIF_PENDING);
	ck_assert_uint_eq(d.notification.pending.len, sizeof(pir_ok));
	twins_ipa(b.p, b.len);

	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_HANDLE_NOTIFICATION;
	m.notification.kind = EIM_NOTIF_PROVIDE_RESULT;
	m.notification.result.kind = EIM_RESULT_EPR;
	m.notification.result.body.p = epr;
	m.notification.result.body.len = en;
	eim_buf_reset(&b);
	ck_assert_int_eq(eim_esipa_encode_from_ipa(&m, &b), 0);
	ck_assert_int_eq(eim_esipa_decode_from_ipa(b.p, b.len, NULL, &d), 0);
	ck_assert_int_eq(d.notification.kind, EIM_NOTIF_PROVIDE_RESULT);
	ck_assert_int_eq(d.notification.result.kind, EIM_RESULT_EPR);
	twins_ipa(b.p, b.len);

	/* v1.0: A1 around the bare result; lenient: 30 directly. */
	n = unhex("bf3d0aa108bf5105a203800145", raw, sizeof(raw));
	ck_assert_int_eq(eim_esipa_decode_from_ipa(raw, n, NULL, &d), 0);
	ck_assert(d.notification.result.v10);
	n = unhex("bf3d04300280"
		  "00",
		  raw, sizeof(raw));
	ck_assert_int_eq(eim_esipa_decode_from_ipa(raw, n, NULL, &d), 0);
	ck_assert_int_eq(d.notification.kind, EIM_NOTIF_PENDING);
	/* Unknown notification inside A0. */
	n = unhex("bf3d04a002a200", raw, sizeof(raw));
	ck_assert_int_eq(eim_esipa_decode_from_ipa(raw, n, NULL, &d), EIM_ETAG);
	eim_buf_done(&b);
}
END_TEST

START_TEST(transfer_response_every_kind)
{
	static const enum eim_esipa_transfer_resp_kind kinds[] =
		{EIM_TRESP_EPR,		 EIM_TRESP_EPR_AND_NOTIFS,
		 EIM_TRESP_IPA_DATA,	 EIM_TRESP_RECEIVED,
		 EIM_TRESP_RECEIVED_CID, EIM_TRESP_ERROR,
		 EIM_TRESP_ERROR_CID};
	uint8_t epr[16], ipad[] = {0xbf, 0x52, 0x02, 0xa0, 0x00};
	uint8_t list[] = {0xa0, 0x00}, eid[16];
	size_t en = unhex(epr_hex, epr, sizeof(epr));
	struct eim_esipa_from_ipa m, d;
	struct eim_buf b;

	memset(eid, 0x42, sizeof(eid));
	eim_buf_init(&b);
	for (size_t i = 0; i < 7; i++) {
		memset(&m, 0, sizeof(m));
		m.tag = EIM_ESIPA_TRANSFER_EIM_PACKAGE;
		m.transfer.kind = kinds[i];
		m.transfer.body.p = kinds[i] == EIM_TRESP_IPA_DATA ? ipad : epr;
		m.transfer.body.len =
			kinds[i] == EIM_TRESP_IPA_DATA ? sizeof(ipad) : en;
		m.transfer.notifs.p = list;
		m.transfer.notifs.len = sizeof(list);
		m.transfer.err_code = 2;
		m.transfer.cid_kind = i == 4 ? EIM_CID_TXID : EIM_CID_EID;
		m.transfer.cid = i == 4 ? S("t1") : (struct eim_slice){eid, 16};
		eim_buf_reset(&b);
		ck_assert_int_eq(eim_esipa_encode_from_ipa(&m, &b), 0);
		ck_assert_int_eq(eim_esipa_decode_from_ipa(b.p, b.len, NULL,
							   &d),
				 0);
		ck_assert_int_eq(d.transfer.kind, kinds[i]);
		if (kinds[i] == EIM_TRESP_ERROR ||
		    kinds[i] == EIM_TRESP_ERROR_CID)
			ck_assert(d.transfer.err_code == 2);
		if (kinds[i] == EIM_TRESP_RECEIVED_CID ||
		    kinds[i] == EIM_TRESP_ERROR_CID)
			ck_assert_int_eq(d.transfer.cid_kind,
					 m.transfer.cid_kind);
		twins_ipa(b.p, b.len);
	}
	eim_buf_done(&b);
}
END_TEST

START_TEST(relay_messages_opaque)
{
	uint8_t raw[] = {0xbf, 0x39, 0x12, 0x81, 0x10, 1,  2,  3,  4,  5, 6,
			 7,    8,    9,	   10,	 11,   12, 13, 14, 15, 16};
	struct eim_esipa_from_ipa d;
	struct eim_esipa_from_eim e;
	struct eim_buf b;

	ck_assert_int_eq(eim_esipa_decode_from_ipa(raw, sizeof(raw), NULL, &d),
			 0);
	ck_assert_uint_eq(d.tag, EIM_ESIPA_INITIATE_AUTH);
	ck_assert_uint_eq(d.raw.len, sizeof(raw));
	eim_buf_init(&b);
	ck_assert_int_eq(eim_esipa_encode_from_ipa(&d, &b), 0);
	ck_assert_mem_eq(b.p, raw, sizeof(raw));
	ck_assert_int_eq(eim_esipa_decode_from_eim(raw, sizeof(raw), NULL, &e),
			 0);
	eim_buf_reset(&b);
	ck_assert_int_eq(eim_esipa_encode_from_eim(&e, &b), 0);
	ck_assert_mem_eq(b.p, raw, sizeof(raw));
	ck_assert_str_eq(eim_esipa_from_ipa_name(0xbf41),
			 "cancelSessionRequestEsipa");
	/* The eIM never receives HandleNotification responses. */
	uint8_t hn[] = {0xbf, 0x3d, 0x00};
	ck_assert_int_eq(eim_esipa_decode_from_eim(hn, sizeof(hn), NULL, &e),
			 EIM_ETAG);
	eim_buf_done(&b);
}
END_TEST

START_TEST(get_response_every_kind)
{
	struct eim_sig_key *k = NULL;
	struct eim_psmo op = {.kind = EIM_PSMO_GET_RAT};
	struct eim_pkg p = {0};
	struct eim_buf pkg, b;
	struct eim_esipa_from_eim m, d;
	static const uint8_t tags[] = {0xbf, 0x20, 0xa6};

	ck_assert_int_eq(eim_sig_key_generate(EIM_SIG_P256, &k), 0);
	p.eim_id = S("eim");
	p.counter = 1;
	p.psmo = &op;
	p.n_ops = 1;
	eim_buf_init(&pkg);
	ck_assert_int_eq(eim_pkg_build(&p, 0, k, &pkg), 0);
	eim_buf_init(&b);
	ck_assert_int_eq(eim_esipa_get_pkg_response_package(pkg.p, pkg.len, &b),
			 0);
	ck_assert_int_eq(eim_esipa_decode_from_eim(b.p, b.len, NULL, &d), 0);
	ck_assert_int_eq(d.package.kind, EIM_EPKG_EUICC_PACKAGE);
	ck_assert_uint_eq(d.package.euicc_package.len, pkg.len);
	ck_assert_mem_eq(d.package.euicc_package.p, pkg.p, pkg.len);
	twins_eim(b.p, b.len);

	/* IpaEuiccDataRequest with every optional field. */
	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_GET_EIM_PACKAGE;
	m.package.kind = EIM_EPKG_IPA_DATA;
	m.package.ipa_data.tag_list.p = tags;
	m.package.ipa_data.tag_list.len = sizeof(tags);
	m.package.ipa_data.ci_pkid = S("\x81\x37");
	m.package.ipa_data.notif_search = EIM_NOTIF_SEARCH_SEQ;
	m.package.ipa_data.notif_seq = 7;
	m.package.ipa_data.has_epr_seq = true;
	m.package.ipa_data.epr_seq = 9;
	m.package.ipa_data.txid = S("txid");
	eim_buf_reset(&b);
	ck_assert_int_eq(eim_esipa_encode_from_eim(&m, &b), 0);
	ck_assert_int_eq(eim_esipa_decode_from_eim(b.p, b.len, NULL, &d), 0);
	ck_assert_int_eq(d.package.kind, EIM_EPKG_IPA_DATA);
	ck_assert_uint_eq(d.package.ipa_data.tag_list.len, 3);
	ck_assert(d.package.ipa_data.notif_seq == 7);
	ck_assert(d.package.ipa_data.has_epr_seq &&
		  d.package.ipa_data.epr_seq == 9);
	ck_assert_uint_eq(d.package.ipa_data.txid.len, 4);
	twins_eim(b.p, b.len);

	/* ProfileDownloadTriggerRequest, each ProfileDownloadData form. */
	for (int kind = EIM_PDT_NONE; kind <= EIM_PDT_SMDS; kind++) {
		memset(&m, 0, sizeof(m));
		m.tag = kind == EIM_PDT_SMDS ? EIM_ESIPA_TRANSFER_EIM_PACKAGE
					     : EIM_ESIPA_GET_EIM_PACKAGE;
		m.package.kind = EIM_EPKG_PDT;
		m.package.pdt.kind = kind;
		m.package.pdt.activation_code = S("1$smdp.example.com$ABC");
		m.package.pdt.smds_address = S("lpa.ds.gsma.com");
		m.package.pdt.txid = S("t");
		eim_buf_reset(&b);
		ck_assert_int_eq(eim_esipa_encode_from_eim(&m, &b), 0);
		ck_assert_int_eq(eim_esipa_decode_from_eim(b.p, b.len, NULL,
							   &d),
				 0);
		ck_assert_int_eq(d.package.pdt.kind, kind);
		if (kind == EIM_PDT_ACTIVATION_CODE)
			ck_assert_uint_eq(d.package.pdt.activation_code.len,
					  22);
		if (kind == EIM_PDT_SMDS)
			ck_assert_uint_eq(d.package.pdt.smds_address.len, 15);
		twins_eim(b.p, b.len);
	}
	/* Transfer of acknowledgements; not allowed in GetEimPackageResponse.
	 */
	memset(&m, 0, sizeof(m));
	m.tag = EIM_ESIPA_TRANSFER_EIM_PACKAGE;
	m.package.kind = EIM_EPKG_ACKS;
	m.package.acks.n = 2;
	m.package.acks.seq[0] = 1;
	m.package.acks.seq[1] = 300;
	eim_buf_reset(&b);
	ck_assert_int_eq(eim_esipa_encode_from_eim(&m, &b), 0);
	ck_assert_str_eq(hex_of(&b), "bf4e0abf53078001018002012c");
	ck_assert_int_eq(eim_esipa_decode_from_eim(b.p, b.len, NULL, &d), 0);
	ck_assert(d.package.acks.n == 2 && d.package.acks.seq[1] == 300);
	b.p[1] = 0x4f; /* same bytes as GetEimPackageResponse: refused */
	ck_assert_int_eq(eim_esipa_decode_from_eim(b.p, b.len, NULL, &d),
			 EIM_ETAG);
	m.tag = EIM_ESIPA_GET_EIM_PACKAGE;
	eim_buf_reset(&b);
	ck_assert_int_eq(eim_esipa_encode_from_eim(&m, &b), EIM_EINVAL);
	ck_assert_uint_eq(b.len, 0);
	eim_buf_done(&b);
	eim_buf_done(&pkg);
	eim_sig_key_free(k);
}
END_TEST

START_TEST(provide_response_variants)
{
	uint8_t raw[32];
	size_t n;
	struct eim_esipa_from_eim d;
	struct eim_der_diag dg = {0};

	n = unhex("bf5000", raw, sizeof(raw)); /* v1.0 empty SEQUENCE */
	ck_assert_int_eq(eim_esipa_decode_from_eim(raw, n, NULL, &d), 0);
	ck_assert_int_eq(d.provide.kind, EIM_PRESP_EMPTY);
	n = unhex("bf5006bf5303800105", raw, sizeof(raw));
	ck_assert_int_eq(eim_esipa_decode_from_eim(raw, n, NULL, &d), 0);
	ck_assert(d.provide.kind == EIM_PRESP_ACKS && d.provide.acks.n == 1 &&
		  d.provide.acks.seq[0] == 5);
	twins_eim(raw, n);
	n = unhex("bf5006bf5303810105", raw, sizeof(raw)); /* 81 not 80 */
	ck_assert_int_eq(eim_esipa_decode_from_eim(raw, n, &dg, &d), EIM_ETAG);
	ck_assert_uint_eq(dg.off, 6);
	n = unhex("bf5003040100", raw, sizeof(raw));
	ck_assert_int_eq(eim_esipa_decode_from_eim(raw, n, NULL, &d), EIM_ETAG);
	n = unhex("bf50043002"
		  "0500",
		  raw, sizeof(raw)); /* non-empty 30 */
	ck_assert_int_eq(eim_esipa_decode_from_eim(raw, n, NULL, &d),
			 EIM_EMALFORMED);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("esipa");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, protocol_examples);
	tcase_add_test(tc, get_eim_package_request);
	tcase_add_test(tc, provide_result_every_kind);
	tcase_add_test(tc, handle_notification_forms);
	tcase_add_test(tc, transfer_response_every_kind);
	tcase_add_test(tc, relay_messages_opaque);
	tcase_add_test(tc, get_response_every_kind);
	tcase_add_test(tc, provide_response_variants);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
