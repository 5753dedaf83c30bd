/*
 * eim_dtls_client.c - DTLS 1.2 client handshake state machine for PSK
 * suites with extended master secret and Connection ID (RFC 6347 section
 * 4.2, RFC 4279, RFC 7627, RFC 9146). See eim_dtls_client.h.
 *
 *   start:              -> ClientHello                 [C_WAIT_SERVER_HELLO]
 *   HelloVerifyRequest  -> ClientHello(cookie)         [C_WAIT_SERVER_HELLO]
 *   ServerHello         ->                             [C_WAIT_HELLO_DONE]
 *   (ServerKeyExchange: PSK identity hint, ignored)
 *   ServerHelloDone     -> ClientKeyExchange, CCS, Finished     [WAIT_CCS]
 *   ChangeCipherSpec    ->                             [WAIT_FINISHED]
 *   Finished            ->                             [ESTABLISHED]
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/random.h>

#include "transport/eim_dtls_client.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "common/eim_log.h"
#include "transport/eim_dtls_int.h"
#include "transport/eim_dtls_cred.h"
#include "transport/eim_dtls_trust.h"

#include <string.h>

struct eim_dtls_client {
	struct eim_dtls_conn c; /* first: conn callbacks cast back */
	struct eim_dtls_client_config cfg;
	uint16_t suites[16];
	uint8_t psk[EIM_DTLS_PSK_MAX];
	uint16_t suite;
	int alert;
	bool failed, closed;
	uint64_t auth_failures;
	struct eim_dtls_trust *trust; /* NULL without CAs */
	/* server pins (RFC 7250 SPKI / certificate DER SHA-256) and name */
	bool have_cert_pin, have_rpk_pin, server_rpk;
	uint8_t ecdh_pub_len; /* of hs->ecdh_pub: by the server's group */
	uint8_t cert_pin[32], rpk_pin[32];
	char server_name[256];
	struct eim_dtls_cred *cred; /* client credential, or NULL */
	WC_RNG rng;
	uint8_t pt[EIM_DTLS_MAX_CIPHERTEXT];
};

static const uint16_t default_psk_suites[] = {EIM_DTLS_PSK_AES128_CCM8,
					      EIM_DTLS_PSK_AES128_GCM_SHA256};
static const uint16_t default_cert_suites[] = {EIM_DTLS_ECDHE_ECDSA_AES128_CCM8,
					       EIM_DTLS_ECDHE_ECDSA_AES128_GCM};

void eim_dtls_client_config_init(struct eim_dtls_client_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->use_cid = true;
	cfg->offer_ems = true;
	cfg->mtu = 1280;
	cfg->handshake_timeout_ms = 60000;
}

static int conn_out(struct eim_dtls_conn *conn, const uint8_t *d, size_t n)
{
	struct eim_dtls_client *c = (struct eim_dtls_client *)conn;

	c->cfg.send(c->cfg.ctx, d, n);
	return 0;
}

static void fail(struct eim_dtls_client *c, int alert, bool send)
{
	eim_debug("dtls client: handshake failed, alert %d", alert);
	if (send && alert > 0)
		eim_dtls_conn_send_alert(&c->c, 0, (uint8_t)alert);
	c->alert = alert;
	c->failed = true;
	c->c.state = EIM_DTLS_ST_CLOSED;
	eim_dtls_conn_hs_free(&c->c);
}

/* HelloVerifyRequests a client follows in one handshake (see hs_dispatch). */
#define EIM_DTLS_CLIENT_MAX_HVR 4

/* ClientHello with the current cookie (empty at first). */
static int send_client_hello(struct eim_dtls_client *c, uint64_t now)
{
	struct eim_dtls_hs_state *hs = c->c.hs;
	struct eim_buf b;
	uint8_t v[2];
	bool ecc = false, ecdsa = false;
	int rc;

	for (size_t i = 0; i < c->cfg.n_suites; i++) {
		int kx = eim_dtls_suite_kx(c->suites[i]);

		ecc |= kx != EIM_DTLS_KX_PSK;
		ecdsa |= kx == EIM_DTLS_KX_ECDHE_ECDSA;
	}
	eim_buf_init(&b);
	eim_put_be16(v, EIM_DTLS_VERSION_1_2);
	eim_buf_append(&b, v, 2);
	eim_buf_append(&b, hs->crandom, 32);
	eim_buf_append_byte(&b, 0); /* session id */
	eim_buf_append_byte(&b, hs->cookie_len);
	eim_buf_append(&b, hs->cookie, hs->cookie_len);
	eim_put_be16(v, (uint16_t)(2 * c->cfg.n_suites + 2));
	eim_buf_append(&b, v, 2);
	for (size_t i = 0; i < c->cfg.n_suites; i++) {
		eim_put_be16(v, c->suites[i]);
		eim_buf_append(&b, v, 2);
	}
	eim_put_be16(v, EIM_DTLS_EMPTY_RENEGOTIATION_SCSV);
	eim_buf_append(&b, v, 2);
	eim_buf_append_byte(&b, 1);
	eim_buf_append_byte(&b, 0); /* null compression */
	eim_dtls_hs_put_hello_ext(
		&b, &(struct eim_dtls_ext_out){
			    .ems = c->cfg.offer_ems,
			    .groups = ecc,
			    .groups_only = c->cfg.ecdhe_group,
			    .formats = ecc,
			    .sigalgs = ecdsa,
			    .record_size_limit = c->cfg.record_size_limit,
			    .cid = c->cfg.use_cid,
			    .cid_value = c->c.cid,
			    .cid_len = c->cfg.use_cid ? c->cfg.cid_len : 0,
			    .client_ctype = ecdsa && c->cfg.client_rpk,
			    .client_ctype_value = EIM_DTLS_CTYPE_RPK,
			    /* a raw key pin: we take the server's raw key */
			    .server_ctype = ecdsa && c->have_rpk_pin,
			    .server_ctype_value = EIM_DTLS_CTYPE_RPK,
			    .ctype_lists = true,
		    });
	if ((rc = b.err))
		goto out;
	/* the transcript starts with the hello the server answers with a
	 * ServerHello; a HelloVerifyRequest restarts it (RFC 6347 4.2.1) */
	wc_Sha256Free(&hs->transcript);
	if (wc_InitSha256(&hs->transcript) != 0) {
		rc = EIM_ECRYPTO;
		goto out;
	}
	eim_dtls_conn_flight_reset(&c->c);
	eim_dtls_conn_flight_hs(&c->c, 0, EIM_DTLS_HS_CLIENT_HELLO, b.p, b.len);
	rc = eim_dtls_conn_flight_send(&c->c, now, true);
out:
	eim_buf_done(&b);
	return rc;
}

static bool offered(const struct eim_dtls_client *c, uint16_t suite)
{
	for (size_t i = 0; i < c->cfg.n_suites; i++)
		if (c->suites[i] == suite)
			return true;
	return false;
}

static int on_server_hello(struct eim_dtls_client *c, const uint8_t *body,
			   size_t len)
{
	struct eim_dtls_hs_state *hs = c->c.hs;
	struct eim_dtls_server_hello sh;

	if (eim_dtls_hs_parse_server_hello(body, len, &sh))
		return EIM_DTLS_ALERT_DECODE_ERROR;
	if (sh.version != EIM_DTLS_VERSION_1_2)
		return EIM_DTLS_ALERT_PROTOCOL_VERSION;
	if (!offered(c, sh.suite) || sh.compression != 0 ||
	    (sh.ext.ems && !c->cfg.offer_ems) ||
	    (sh.ext.cid && !c->cfg.use_cid))
		return EIM_DTLS_ALERT_ILLEGAL_PARAMETER;
	if (c->cfg.require_ems && !sh.ext.ems)
		return EIM_DTLS_ALERT_HANDSHAKE_FAILURE;
	/* RFC 7250: only what we offered (X.509 when not negotiated) */
	if ((sh.ext.client_ctype &&
	     (!c->cfg.client_rpk ||
	      sh.ext.client_ctypes.p[0] != EIM_DTLS_CTYPE_RPK)) ||
	    (sh.ext.server_ctype &&
	     sh.ext.server_ctypes.p[0] != (c->have_rpk_pin
						   ? EIM_DTLS_CTYPE_RPK
						   : EIM_DTLS_CTYPE_X509)))
		return EIM_DTLS_ALERT_UNSUPPORTED_CERTIFICATE;
	/* a server that ignores server_certificate_type sends X.509, which
	 * a client configured with a raw key pin only cannot judge */
	c->server_rpk = sh.ext.server_ctype &&
			sh.ext.server_ctypes.p[0] == EIM_DTLS_CTYPE_RPK;
	if (eim_dtls_suite_kx(sh.suite) == EIM_DTLS_KX_ECDHE_ECDSA &&
	    !c->server_rpk && !c->trust && !c->have_cert_pin)
		return EIM_DTLS_ALERT_UNSUPPORTED_CERTIFICATE;
	hs->client_ctype =
		sh.ext.client_ctype ? EIM_DTLS_CTYPE_RPK : EIM_DTLS_CTYPE_X509;
	if (sh.ext.record_size_limit && !c->cfg.record_size_limit)
		return EIM_DTLS_ALERT_ILLEGAL_PARAMETER; /* not offered */
	c->c.peer_rsl = sh.ext.record_size_limit ? sh.ext.record_size_limit
						 : EIM_DTLS_MAX_PLAINTEXT;
	c->suite = sh.suite;
	hs->suite = sh.suite;
	hs->kx = (uint8_t)eim_dtls_suite_kx(sh.suite);
	hs->aead = eim_dtls_suite_aead(sh.suite);
	hs->ems = sh.ext.ems;
	memcpy(hs->srandom, sh.random, 32);
	if (sh.ext.cid) {
		c->c.cid_on = true;
		c->c.cid_len = (uint8_t)c->cfg.cid_len;
		memcpy(c->c.peer_cid, sh.ext.cid_value.p, sh.ext.cid_value.len);
		c->c.peer_cid_len = (uint8_t)sh.ext.cid_value.len;
	}
	return 0;
}

/*
 * The server's Certificate (RFC 5246 7.4.2, RFC 7250 section 3): a raw
 * key must hash to our pin; a chain must pass eim_dtls_trust_chain()
 * against our CAs (with the server name when set) and/or hash to our
 * certificate pin. Returns 0 or the alert.
 */
static int check_server_cert(struct eim_dtls_client *c, const uint8_t *body,
			     size_t len)
{
	uint8_t fp[32];
	unsigned flags = EIM_DTLS_TRUST_SERVER;
	int rc;

	if (c->cfg.pinned_allow_expired)
		flags |= EIM_DTLS_TRUST_ALLOW_EXPIRED;
	if (c->server_rpk) {
		rc = eim_dtls_trust_rpk(body, len, fp, c->c.hs->peer_pub);
		if (!rc && !eim_ct_equal(fp, c->rpk_pin, 32))
			rc = EIM_EPERM;
	} else {
		rc = eim_dtls_trust_chain(c->trust, flags,
					  c->server_name[0] ? c->server_name
							    : NULL,
					  body, len, fp, c->c.hs->peer_pub);
		if (!rc && c->have_cert_pin &&
		    !eim_ct_equal(fp, c->cert_pin, 32))
			rc = EIM_EPERM;
	}
	if (!rc)
		return 0;
	eim_debug("dtls client: server certificate refused: %s",
		  eim_strerror(rc));
	/* an empty list: the server has no certificate for us */
	return rc == EIM_ENOTFOUND ? EIM_DTLS_ALERT_BAD_CERTIFICATE
				   : eim_dtls_trust_alert(rc);
}

/*
 * ECDHE_ECDSA ServerKeyExchange signature (RFC 8422 section 5.4) over
 * SHA-256(client_random || server_random || params), with the key of the
 * certificate checked before.
 */
static int check_signature(struct eim_dtls_client *c, const uint8_t *params,
			   size_t plen, const uint8_t *p, size_t n)
{
	struct eim_dtls_hs_state *hs = c->c.hs;
	uint8_t h[32];
	wc_Sha256 sha;
	int ok;

	if (n < 4 || eim_get_be16(p + 2) != n - 4)
		return EIM_DTLS_ALERT_DECODE_ERROR;
	if (eim_get_be16(p) != EIM_DTLS_SIG_ECDSA_SHA256)
		return EIM_DTLS_ALERT_ILLEGAL_PARAMETER;
	if (wc_InitSha256(&sha) != 0)
		return EIM_DTLS_ALERT_INTERNAL_ERROR;
	ok = wc_Sha256Update(&sha, hs->crandom, 32) == 0 &&
	     wc_Sha256Update(&sha, hs->srandom, 32) == 0 &&
	     wc_Sha256Update(&sha, params, (word32)plen) == 0 &&
	     wc_Sha256Final(&sha, h) == 0;
	wc_Sha256Free(&sha);
	if (!ok)
		return EIM_DTLS_ALERT_INTERNAL_ERROR;
	return eim_dtls_ecdsa_verify(hs->peer_pub, h, p + 4, n - 4)
		       ? EIM_DTLS_ALERT_DECRYPT_ERROR
		       : 0;
}

/*
 * ServerKeyExchange: psk_identity_hint<0..2^16-1> (RFC 4279, ignored), and
 * for ECDHE_PSK ServerECDHParams (RFC 5489 / RFC 8422 section 5.4):
 * curve_type named_curve (3), secp256r1, point<1..255>. Computes the ECDH
 * secret at once so the ephemeral key can go.
 */
static int on_server_key_exchange(struct eim_dtls_client *c,
				  const uint8_t *body, size_t len)
{
	struct eim_dtls_hs_state *hs = c->c.hs;
	size_t hint, o = 0, plen, end, ours;
	uint16_t group;
	int rc;

	if (hs->kx != EIM_DTLS_KX_ECDHE_ECDSA) {
		if (len < 2 || eim_get_be16(body) > len - 2)
			return EIM_DTLS_ALERT_DECODE_ERROR;
		hint = eim_get_be16(body);
		o = 2 + hint;
		if (hs->kx == EIM_DTLS_KX_PSK)
			return o == len ? 0 : EIM_DTLS_ALERT_DECODE_ERROR;
	}
	if (len - o < 4 || body[o + 3] > len - o - 4)
		return EIM_DTLS_ALERT_DECODE_ERROR;
	/* named_curve (3) and one of the groups we offered */
	group = eim_get_be16(body + o + 1);
	if (body[o] != 3 ||
	    (group != EIM_DTLS_GROUP_P256 && group != EIM_DTLS_GROUP_X25519) ||
	    (c->cfg.ecdhe_group && group != c->cfg.ecdhe_group))
		return EIM_DTLS_ALERT_ILLEGAL_PARAMETER;
	plen = body[o + 3];
	end = o + 4 + plen;
	if (hs->kx == EIM_DTLS_KX_ECDHE_ECDSA) {
		/* signed params: algorithm, signature<0..2^16-1> */
		if ((rc = check_signature(c, body + o, end - o, body + end,
					  len - end)))
			return rc;
	} else if (end != len) {
		return EIM_DTLS_ALERT_DECODE_ERROR;
	}
	rc = eim_dtls_ecdhe_new_group(&c->rng, group, &hs->ecdhe, hs->ecdh_pub,
				      &ours);
	if (rc)
		return EIM_DTLS_ALERT_INTERNAL_ERROR;
	c->ecdh_pub_len = (uint8_t)ours;
	rc = eim_dtls_ecdhe_shared(hs->ecdhe, body + o + 4, plen, hs->ecdh_z);
	eim_dtls_ecdhe_free(hs->ecdhe);
	hs->ecdhe = NULL;
	if (rc)
		return rc == EIM_EMALFORMED ? EIM_DTLS_ALERT_ILLEGAL_PARAMETER
					    : EIM_DTLS_ALERT_INTERNAL_ERROR;
	return 0;
}

/*
 * CertificateRequest (RFC 5246 7.4.4): certificate_types<1..2^8-1>,
 * supported_signature_algorithms<2..2^16-2>,
 * certificate_authorities<0..2^16-1>, nothing after. We can only answer
 * with ecdsa_sign and ecdsa_secp256r1_sha256.
 */
static int on_certificate_request(struct eim_dtls_client *c,
				  const uint8_t *body, size_t len)
{
	size_t o = 0, nt, ns, nc;
	bool ecdsa = false, sha256 = false;

	if (len < 1 || (nt = body[0]) < 1 || nt > len - 1)
		return EIM_DTLS_ALERT_DECODE_ERROR;
	for (size_t i = 0; i < nt; i++)
		ecdsa |= body[1 + i] == 64; /* ecdsa_sign */
	o = 1 + nt;
	if (len - o < 2 || (ns = eim_get_be16(body + o)) < 2 || ns % 2 ||
	    ns > len - o - 2)
		return EIM_DTLS_ALERT_DECODE_ERROR;
	for (size_t i = 0; i < ns; i += 2)
		sha256 |= eim_get_be16(body + o + 2 + i) ==
			  EIM_DTLS_SIG_ECDSA_SHA256;
	o += 2 + ns;
	if (len - o < 2 || (nc = eim_get_be16(body + o)) != len - o - 2)
		return EIM_DTLS_ALERT_DECODE_ERROR;
	/* without a usable pair we send no certificate; the server decides */
	c->c.hs->cert_req = true;
	c->c.hs->have_cert_usable = ecdsa && sha256;
	return 0;
}

/* Signs the transcript so far: the CertificateVerify body (RFC 5246
 * 7.4.8) into out (capacity 4 + EIM_DTLS_ECDSA_SIG_MAX). */
static int certificate_verify(struct eim_dtls_client *c, uint8_t *out,
			      size_t *len)
{
	uint8_t h[32];
	size_t sig_len;
	int rc;

	if ((rc = eim_dtls_conn_transcript_hash(&c->c, h)) ||
	    (rc = eim_dtls_cred_sign(c->cred, &c->rng, h, out + 4, &sig_len)))
		return rc;
	eim_put_be16(out, EIM_DTLS_SIG_ECDSA_SHA256);
	eim_put_be16(out + 2, (uint16_t)sig_len);
	*len = 4 + sig_len;
	return 0;
}

/* Flight 3: [Certificate], ClientKeyExchange, [CertificateVerify],
 * ChangeCipherSpec, Finished. */
static int client_key_flight(struct eim_dtls_client *c, uint64_t now)
{
	struct eim_dtls_hs_state *hs = c->c.hs;
	uint8_t cke[2 + EIM_DTLS_IDENTITY_MAX + 1 + EIM_DTLS_P256_POINT_LEN];
	uint8_t pms[4 + 2 * EIM_DTLS_PSK_MAX], h[32], vd[EIM_DTLS_VERIFY_LEN];
	size_t pms_len, n;
	bool ecdhe = hs->kx == EIM_DTLS_KX_ECDHE_PSK;
	bool ecdsa = hs->kx == EIM_DTLS_KX_ECDHE_ECDSA;
	bool auth = hs->cert_req && c->cred && hs->have_cert_usable;
	uint8_t cv[4 + EIM_DTLS_ECDSA_SIG_MAX];
	size_t cv_len = 0;
	int rc;

	eim_dtls_conn_flight_reset(&c->c);
	if (hs->cert_req) {
		static const uint8_t none[3] = {0, 0, 0};
		const uint8_t *body = none;
		size_t blen = sizeof(none);

		if (auth)
			body = hs->client_ctype == EIM_DTLS_CTYPE_RPK
				       ? eim_dtls_cred_rpk(c->cred, &blen)
				       : eim_dtls_cred_chain(c->cred, &blen);
		if (!body) {
			/* a raw-key-only credential but X.509 agreed */
			body = none;
			blen = sizeof(none);
			auth = false;
		}
		eim_dtls_conn_flight_hs(&c->c, 0, EIM_DTLS_HS_CERTIFICATE, body,
					blen);
	}
	n = 0;
	if (!ecdsa) {
		eim_put_be16(cke, (uint16_t)c->cfg.psk_identity_len);
		memcpy(cke + 2, c->c.identity, c->cfg.psk_identity_len);
		n = 2 + c->cfg.psk_identity_len;
	}
	if (ecdhe || ecdsa) {
		cke[n++] = c->ecdh_pub_len;
		memcpy(cke + n, hs->ecdh_pub, c->ecdh_pub_len);
		n += c->ecdh_pub_len;
	}
	eim_dtls_conn_flight_hs(&c->c, 0, EIM_DTLS_HS_CLIENT_KEY_EXCHANGE, cke,
				n);
	if (ecdsa) {
		/* RFC 8422 5.10: the ECDH secret is the pre-master secret */
		memcpy(pms, hs->ecdh_z, EIM_DTLS_P256_SECRET_LEN);
		pms_len = EIM_DTLS_P256_SECRET_LEN;
	} else {
		pms_len = eim_dtls_psk_pms(ecdhe ? hs->ecdh_z : NULL,
					   EIM_DTLS_P256_SECRET_LEN, c->psk,
					   c->cfg.psk_len, pms);
	}
	rc = eim_dtls_conn_derive(&c->c, pms, pms_len);
	eim_wipe(pms, sizeof(pms));
	if (rc)
		return rc;
	/* after the EMS session hash (which ends with the key exchange) */
	if (auth) {
		if ((rc = certificate_verify(c, cv, &cv_len)))
			return rc;
		eim_dtls_conn_flight_hs(&c->c, 0,
					EIM_DTLS_HS_CERTIFICATE_VERIFY, cv,
					cv_len);
	}
	if ((rc = eim_dtls_conn_transcript_hash(&c->c, h)) ||
	    (rc = eim_dtls_verify_data(hs->master, 1, h, vd)))
		return rc;
	eim_dtls_conn_flight_ccs(&c->c);
	eim_dtls_conn_flight_hs(&c->c, 1, EIM_DTLS_HS_FINISHED, vd, sizeof(vd));
	return eim_dtls_conn_flight_send(&c->c, now, true);
}

static int on_finished(struct eim_dtls_client *c, const uint8_t *body,
		       size_t len)
{
	uint8_t h[32], vd[EIM_DTLS_VERIFY_LEN];

	if (len != EIM_DTLS_VERIFY_LEN)
		return EIM_DTLS_ALERT_DECODE_ERROR;
	if (eim_dtls_conn_transcript_hash(&c->c, h) ||
	    eim_dtls_verify_data(c->c.hs->master, 0, h, vd))
		return EIM_DTLS_ALERT_INTERNAL_ERROR;
	return eim_ct_equal(vd, body, sizeof(vd))
		       ? 0
		       : EIM_DTLS_ALERT_DECRYPT_ERROR;
}

/* The client dispatcher: one complete handshake message in order. Returns
 * 0 or the alert to fail with. */
static int hs_dispatch(struct eim_dtls_client *c, uint16_t epoch, uint8_t type,
		       const uint8_t *body, size_t len, uint16_t msg_seq,
		       uint64_t now)
{
	struct eim_dtls_hs_state *hs = c->c.hs;
	struct eim_slice cookie;
	int rc;

	switch (c->c.state) {
	case EIM_DTLS_ST_C_WAIT_SERVER_HELLO:
		if (epoch != 0)
			return EIM_DTLS_ALERT_UNEXPECTED_MESSAGE;
		if (type == EIM_DTLS_HS_HELLO_VERIFY_REQUEST) {
			if (eim_dtls_hs_parse_hvr(body, len, &cookie))
				return EIM_DTLS_ALERT_DECODE_ERROR;
			/*
			 * A later HelloVerifyRequest (a new message, not a
			 * repeat: those never get here) means the server did
			 * not take our cookie: it rotated its secret, or a
			 * NAT moved us between our two hellos. Follow it with
			 * the new cookie, as RFC 6347 4.2.1's exchange allows;
			 * a few times at most, against a server that never
			 * stops asking.
			 */
			if (cookie.len == 0 ||
			    hs->hvr_count >= EIM_DTLS_CLIENT_MAX_HVR)
				return EIM_DTLS_ALERT_ILLEGAL_PARAMETER;
			hs->hvr_count++;
			memcpy(hs->cookie, cookie.p, cookie.len);
			hs->cookie_len = (uint8_t)cookie.len;
			return send_client_hello(c, now)
				       ? EIM_DTLS_ALERT_INTERNAL_ERROR
				       : 0;
		}
		if (type != EIM_DTLS_HS_SERVER_HELLO)
			return EIM_DTLS_ALERT_UNEXPECTED_MESSAGE;
		if ((rc = on_server_hello(c, body, len)))
			return rc;
		eim_dtls_conn_transcript_msg(&c->c, type, msg_seq, body, len);
		hs->rtx_at_ms = 0; /* the server has our hello */
		c->c.state = EIM_DTLS_ST_C_WAIT_HELLO_DONE;
		return 0;
	case EIM_DTLS_ST_C_WAIT_HELLO_DONE:
		if (epoch != 0)
			return EIM_DTLS_ALERT_UNEXPECTED_MESSAGE;
		if (type == EIM_DTLS_HS_CERTIFICATE) {
			if (hs->kx != EIM_DTLS_KX_ECDHE_ECDSA || hs->have_cert)
				return EIM_DTLS_ALERT_UNEXPECTED_MESSAGE;
			rc = check_server_cert(c, body, len);
			if (rc)
				return rc;
			hs->have_cert = true;
			eim_dtls_conn_transcript_msg(&c->c, type, msg_seq, body,
						     len);
			return 0;
		}
		if (type == EIM_DTLS_HS_SERVER_KEY_EXCHANGE) {
			if (hs->have_ske ||
			    (hs->kx == EIM_DTLS_KX_ECDHE_ECDSA &&
			     !hs->have_cert))
				return EIM_DTLS_ALERT_UNEXPECTED_MESSAGE;
			if ((rc = on_server_key_exchange(c, body, len)))
				return rc;
			hs->have_ske = true;
			eim_dtls_conn_transcript_msg(&c->c, type, msg_seq, body,
						     len);
			return 0;
		}
		if (type == EIM_DTLS_HS_CERTIFICATE_REQUEST) {
			if (hs->kx != EIM_DTLS_KX_ECDHE_ECDSA ||
			    !hs->have_ske || hs->cert_req)
				return EIM_DTLS_ALERT_UNEXPECTED_MESSAGE;
			if ((rc = on_certificate_request(c, body, len)))
				return rc;
			eim_dtls_conn_transcript_msg(&c->c, type, msg_seq, body,
						     len);
			return 0;
		}
		if (type != EIM_DTLS_HS_SERVER_HELLO_DONE)
			return EIM_DTLS_ALERT_UNEXPECTED_MESSAGE;
		if (len != 0)
			return EIM_DTLS_ALERT_DECODE_ERROR;
		if (hs->kx != EIM_DTLS_KX_PSK && !hs->have_ske)
			return EIM_DTLS_ALERT_UNEXPECTED_MESSAGE;
		eim_dtls_conn_transcript_msg(&c->c, type, msg_seq, body, len);
		if (client_key_flight(c, now))
			return EIM_DTLS_ALERT_INTERNAL_ERROR;
		c->c.state = EIM_DTLS_ST_WAIT_CCS;
		return 0;
	case EIM_DTLS_ST_WAIT_FINISHED:
		if (type != EIM_DTLS_HS_FINISHED || epoch != 1)
			return EIM_DTLS_ALERT_UNEXPECTED_MESSAGE;
		if ((rc = on_finished(c, body, len)))
			return rc;
		c->c.state = EIM_DTLS_ST_ESTABLISHED;
		/* the server's Finished proves it has our last flight */
		eim_dtls_conn_hs_free(&c->c);
		if (c->cfg.on_established)
			c->cfg.on_established(c->cfg.ctx);
		return 0;
	default:
		return EIM_DTLS_ALERT_UNEXPECTED_MESSAGE;
	}
}

static void hs_records(struct eim_dtls_client *c, uint16_t epoch,
		       const uint8_t *p, size_t n, uint64_t now)
{
	while (n > 0 && c->c.hs) {
		struct eim_dtls_hs_frag f;
		struct eim_slice msg;
		const uint8_t *raw = p;
		size_t used;
		int rc, alert;

		if (eim_dtls_hs_parse_frag(p, n, &f, &used))
			return;
		p += used;
		n -= used;
		/* the first server message may carry any message_seq: 0
		 * without a cookie exchange, the hello's otherwise */
		if (c->c.state == EIM_DTLS_ST_C_WAIT_SERVER_HELLO &&
		    f.msg_seq > c->c.hs->rx_seq)
			c->c.hs->rx_seq = f.msg_seq;
		if (f.msg_seq > c->c.hs->rx_seq) {
			/* e.g. the ServerKeyExchange overtook the
			 * Certificate: kept (bounded), else resent */
			(void)eim_dtls_conn_keep_future(&c->c, epoch, &f, raw,
							used);
			continue;
		}
		if (f.msg_seq != c->c.hs->rx_seq)
			continue; /* old (retransmitted) */
		rc = eim_dtls_reasm_add(&c->c.hs->reasm, &f,
					EIM_DTLS_HS_MSG_MAX, &msg);
		if (rc < 0) {
			fail(c, EIM_DTLS_ALERT_DECODE_ERROR, true);
			return;
		}
		if (rc == 0)
			continue;
		alert = hs_dispatch(c, epoch, f.type, msg.p, msg.len, f.msg_seq,
				    now);
		if (c->c.hs)
			eim_dtls_reasm_done(&c->c.hs->reasm);
		if (alert) {
			fail(c, alert, true);
			return;
		}
		if (c->c.hs)
			c->c.hs->rx_seq++;
	}
	/* kept fragments whose turn has come (depth bounded by
	 * EIM_DTLS_FUTURE_AHEAD) */
	if (c->c.hs && c->c.hs->future.len) {
		uint8_t more[EIM_DTLS_FUTURE_MAX];
		uint16_t ep = 0;
		size_t k = eim_dtls_conn_take_future(&c->c, &ep, more);

		if (k)
			hs_records(c, ep, more, k, now);
	}
}

static void record(struct eim_dtls_client *c, const struct eim_dtls_record *r,
		   uint64_t now)
{
	uint8_t type;
	size_t len;
	bool newest;
	int rc;

	if (r->epoch == 0) {
		switch (r->type) {
		case EIM_DTLS_CT_HANDSHAKE:
			hs_records(c, 0, r->fragment.p, r->fragment.len, now);
			return;
		case EIM_DTLS_CT_CCS:
			if (c->c.state == EIM_DTLS_ST_WAIT_CCS &&
			    r->fragment.len == 1 && r->fragment.p[0] == 1) {
				c->c.r_epoch = 1;
				memset(&c->c.replay, 0, sizeof(c->c.replay));
				c->c.state = EIM_DTLS_ST_WAIT_FINISHED;
			}
			return;
		case EIM_DTLS_CT_ALERT:
			if (c->c.state != EIM_DTLS_ST_ESTABLISHED &&
			    r->fragment.len == 2)
				fail(c, r->fragment.p[1], false);
			return;
		default:
			return;
		}
	}
	if (c->c.cid_len && r->type != EIM_DTLS_CT_TLS12_CID)
		return;
	rc = eim_dtls_conn_open(&c->c, r, c->pt, sizeof(c->pt), &type, &len,
				&newest);
	if (rc) {
		if (rc == EIM_EVERIFY)
			c->auth_failures++;
		return;
	}
	switch (type) {
	case EIM_DTLS_CT_HANDSHAKE:
		hs_records(c, 1, c->pt, len, now);
		return;
	case EIM_DTLS_CT_APP_DATA:
		if (c->c.state == EIM_DTLS_ST_ESTABLISHED && c->cfg.on_app_data)
			c->cfg.on_app_data(c->cfg.ctx, c->pt, len);
		return;
	case EIM_DTLS_CT_ALERT:
		if (len == 2 && (c->pt[0] == 2 || c->pt[1] == 0)) {
			c->alert = c->pt[1];
			c->closed = c->pt[1] == 0;
			c->failed = !c->closed;
			c->c.state = EIM_DTLS_ST_CLOSED;
			eim_dtls_conn_hs_free(&c->c);
		}
		return;
	default:
		return;
	}
}

int eim_dtls_client_new(const struct eim_dtls_client_config *cfg,
			struct eim_dtls_client **ret)
{
	struct eim_dtls_client *c;

	bool has_psk = cfg && cfg->psk_identity;
	/* anything that can authenticate a server's ECDSA key */
	bool srv_auth = cfg && (cfg->ca_pem || cfg->server_cert_sha256 ||
				cfg->server_rpk_sha256);

	if (!cfg || !ret || !cfg->send || (!has_psk && !srv_auth) ||
	    (cfg->server_name &&
	     (!cfg->server_name[0] ||
	      strlen(cfg->server_name) >= sizeof(c->server_name))) ||
	    (cfg->cert_pem && !cfg->key_pem) ||
	    (cfg->client_rpk && !cfg->key_pem) ||
	    (has_psk &&
	     (cfg->psk_identity_len == 0 ||
	      cfg->psk_identity_len > EIM_DTLS_IDENTITY_MAX || !cfg->psk ||
	      cfg->psk_len == 0 || cfg->psk_len > EIM_DTLS_PSK_MAX)) ||
	    cfg->cid_len > EIM_DTLS_MAX_CID || cfg->n_suites > 15 ||
	    (cfg->record_size_limit &&
	     (cfg->record_size_limit < 64 ||
	      cfg->record_size_limit > EIM_DTLS_MAX_PLAINTEXT)) ||
	    (cfg->n_suites && !cfg->suites))
		return EIM_EINVAL;
	for (size_t i = 0; i < cfg->n_suites; i++) {
		int kx = eim_dtls_suite_kx(cfg->suites[i]);

		if (!kx || (kx == EIM_DTLS_KX_ECDHE_ECDSA && !srv_auth) ||
		    (kx != EIM_DTLS_KX_ECDHE_ECDSA && !has_psk))
			return EIM_EINVAL;
	}
	c = eim_calloc(1, sizeof(*c));
	if (!c)
		return EIM_ENOMEM;
	c->cfg = *cfg;
	if (cfg->n_suites) {
		memcpy(c->suites, cfg->suites, 2 * cfg->n_suites);
	} else {
		size_t n = 0;

		if (has_psk) {
			memcpy(c->suites, default_psk_suites,
			       sizeof(default_psk_suites));
			n += 2;
		}
		if (srv_auth) {
			memcpy(c->suites + n, default_cert_suites,
			       sizeof(default_cert_suites));
			n += 2;
		}
		c->cfg.n_suites = n;
	}
	c->cfg.suites = c->suites;
	c->cfg.ca_pem = c->cfg.cert_pem = c->cfg.key_pem = NULL; /* not kept */
	c->cfg.server_name = NULL;
	c->cfg.server_cert_sha256 = c->cfg.server_rpk_sha256 = NULL;
	if (cfg->server_name)
		memcpy(c->server_name, cfg->server_name,
		       strlen(cfg->server_name) + 1);
	if ((c->have_cert_pin = cfg->server_cert_sha256 != NULL))
		memcpy(c->cert_pin, cfg->server_cert_sha256, 32);
	if ((c->have_rpk_pin = cfg->server_rpk_sha256 != NULL))
		memcpy(c->rpk_pin, cfg->server_rpk_sha256, 32);
	if (cfg->ca_pem) {
		int rc = eim_dtls_trust_from_pem(cfg->ca_pem, cfg->ca_pem_len,
						 &c->trust);

		if (rc) {
			eim_free_secret(c, sizeof(*c));
			return rc;
		}
	}
	if (cfg->key_pem) {
		int rc = eim_dtls_cred_from_pem(cfg->cert_pem,
						cfg->cert_pem_len, cfg->key_pem,
						cfg->key_pem_len, &c->cred);

		if (rc) {
			eim_dtls_trust_free(c->trust);
			eim_free_secret(c, sizeof(*c));
			return rc;
		}
	}
	if (has_psk) {
		memcpy(c->psk, cfg->psk, cfg->psk_len);
		c->cfg.psk = c->psk;
		/* + 1 for the NUL: never read past the caller's bytes */
		c->c.identity = eim_malloc(cfg->psk_identity_len + 1);
		if (!c->c.identity) {
			eim_dtls_cred_free(c->cred);
			eim_dtls_trust_free(c->trust);
			eim_free_secret(c, sizeof(*c));
			return EIM_ENOMEM;
		}
		memcpy(c->c.identity, cfg->psk_identity, cfg->psk_identity_len);
		c->c.identity[cfg->psk_identity_len] = 0;
		c->c.identity_len = (uint16_t)cfg->psk_identity_len;
		c->cfg.psk_identity = c->c.identity;
	}
	c->c.out = conn_out;
	c->c.keylog = cfg->keylog;
	c->c.keylog_ctx = cfg->ctx;
	c->c.mtu = cfg->mtu ? cfg->mtu : 1280;
	if (wc_InitRng(&c->rng) != 0) {
		eim_dtls_conn_done(&c->c);
		eim_dtls_cred_free(c->cred);
		eim_dtls_trust_free(c->trust);
		eim_free_secret(c, sizeof(*c));
		return EIM_ECRYPTO;
	}
	*ret = c;
	return 0;
}

void eim_dtls_client_free(struct eim_dtls_client *c)
{
	if (!c)
		return;
	eim_dtls_conn_done(&c->c);
	eim_dtls_cred_free(c->cred);
	eim_dtls_trust_free(c->trust);
	wc_FreeRng(&c->rng);
	eim_free_secret(c, sizeof(*c));
}

int eim_dtls_client_start(struct eim_dtls_client *c, uint64_t now_ms)
{
	int rc;

	if (!c)
		return EIM_EINVAL;
	if (c->c.state != EIM_DTLS_ST_NONE)
		return EIM_ESTATE;
	if ((rc = eim_dtls_conn_hs_new(&c->c, now_ms)))
		return rc;
	if (wc_RNG_GenerateBlock(&c->rng, c->c.hs->crandom, 32) != 0 ||
	    (c->cfg.cid_len &&
	     wc_RNG_GenerateBlock(&c->rng, c->c.cid, (word32)c->cfg.cid_len)))
		return EIM_ECRYPTO;
	c->c.state = EIM_DTLS_ST_C_WAIT_SERVER_HELLO;
	return send_client_hello(c, now_ms);
}

int eim_dtls_client_input(struct eim_dtls_client *c, const uint8_t *dgram,
			  size_t len, uint64_t now_ms)
{
	size_t off = 0;

	if (!c || (!dgram && len))
		return EIM_EINVAL;
	while (off < len && c->c.state != EIM_DTLS_ST_CLOSED &&
	       c->c.state != EIM_DTLS_ST_NONE) {
		struct eim_dtls_record r;
		size_t used;

		if (eim_dtls_record_parse(dgram + off, len - off, c->c.cid_len,
					  &r, &used))
			break;
		off += used;
		record(c, &r, now_ms);
	}
	return 0;
}

int eim_dtls_client_send(struct eim_dtls_client *c, const uint8_t *data,
			 size_t len)
{
	if (!c || (!data && len))
		return EIM_EINVAL;
	if (c->c.state != EIM_DTLS_ST_ESTABLISHED)
		return EIM_ESTATE;
	if (len > c->c.peer_rsl)
		return EIM_ETOOBIG;
	return eim_dtls_conn_send_record(&c->c, 1, EIM_DTLS_CT_APP_DATA, data,
					 len);
}

void eim_dtls_client_close(struct eim_dtls_client *c)
{
	if (!c || c->c.state == EIM_DTLS_ST_CLOSED)
		return;
	if (c->c.state == EIM_DTLS_ST_ESTABLISHED)
		eim_dtls_conn_send_alert(&c->c, 1, EIM_DTLS_ALERT_CLOSE_NOTIFY);
	c->closed = true;
	c->c.state = EIM_DTLS_ST_CLOSED;
	eim_dtls_conn_hs_free(&c->c);
}

uint64_t eim_dtls_client_next_timeout(const struct eim_dtls_client *c)
{
	uint64_t t;

	if (!c || !c->c.hs || c->c.state == EIM_DTLS_ST_CLOSED)
		return UINT64_MAX;
	t = c->c.hs->started_ms + c->cfg.handshake_timeout_ms;
	if (c->c.hs->rtx_at_ms && c->c.hs->rtx_at_ms < t)
		t = c->c.hs->rtx_at_ms;
	return t;
}

void eim_dtls_client_tick(struct eim_dtls_client *c, uint64_t now_ms)
{
	struct eim_dtls_hs_state *hs;

	if (!c || !(hs = c->c.hs) || c->c.state == EIM_DTLS_ST_CLOSED)
		return;
	if (now_ms >= hs->started_ms + c->cfg.handshake_timeout_ms) {
		fail(c, 0, false);
		return;
	}
	if (hs->rtx_at_ms && now_ms >= hs->rtx_at_ms) {
		if (++hs->rtx_count > EIM_DTLS_RTX_MAX_COUNT) {
			fail(c, 0, false);
			return;
		}
		hs->rtx_ms = hs->rtx_ms * 2 > EIM_DTLS_RTX_MAX_MS
				     ? EIM_DTLS_RTX_MAX_MS
				     : hs->rtx_ms * 2;
		eim_dtls_conn_flight_send(&c->c, now_ms, true);
	}
}

enum eim_dtls_client_state
eim_dtls_client_state(const struct eim_dtls_client *c)
{
	if (!c)
		return EIM_DTLS_CLIENT_FAILED;
	if (c->failed)
		return EIM_DTLS_CLIENT_FAILED;
	if (c->closed)
		return EIM_DTLS_CLIENT_CLOSED;
	switch (c->c.state) {
	case EIM_DTLS_ST_NONE:
		return EIM_DTLS_CLIENT_IDLE;
	case EIM_DTLS_ST_ESTABLISHED:
		return EIM_DTLS_CLIENT_ESTABLISHED;
	default:
		return EIM_DTLS_CLIENT_HANDSHAKING;
	}
}

int eim_dtls_client_alert(const struct eim_dtls_client *c)
{
	return c ? c->alert : 0;
}

uint16_t eim_dtls_client_suite(const struct eim_dtls_client *c)
{
	return c && c->c.state == EIM_DTLS_ST_ESTABLISHED ? c->suite : 0;
}

const uint8_t *eim_dtls_client_peer_cid(const struct eim_dtls_client *c,
					size_t *len)
{
	if (!c || !len || !c->c.cid_on)
		return NULL;
	*len = c->c.peer_cid_len;
	return c->c.peer_cid;
}

uint64_t eim_dtls_client_auth_failures(const struct eim_dtls_client *c)
{
	return c ? c->auth_failures : 0;
}
