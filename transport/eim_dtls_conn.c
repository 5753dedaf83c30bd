/*
 * eim_dtls_conn.c - what the DTLS server and client share: flights and
 * their retransmission (RFC 6347 section 4.2.4), fragmentation of outgoing
 * handshake messages (section 4.2.3), the handshake transcript, record
 * output at epochs 0 and 1, record input with the epoch check and replay
 * window (section 4.1.2.6), and the key schedule (RFC 5246 section 8.1,
 * RFC 7627, RFC 4279 section 2).
 */
#include "transport/eim_dtls_int.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"

#include <assert.h>
#include <string.h>

static const struct {
	uint16_t suite;
	enum eim_dtls_aead_alg alg;
	enum eim_dtls_kx kx;
	const char *name; /* IANA TLS Cipher Suites registry */
} suite_table[] = {
	{EIM_DTLS_PSK_AES128_CCM8, EIM_DTLS_AEAD_AES128_CCM8, EIM_DTLS_KX_PSK,
	 "TLS_PSK_WITH_AES_128_CCM_8"},
	{EIM_DTLS_PSK_AES128_GCM_SHA256, EIM_DTLS_AEAD_AES128_GCM,
	 EIM_DTLS_KX_PSK, "TLS_PSK_WITH_AES_128_GCM_SHA256"},
	{EIM_DTLS_ECDHE_PSK_CHACHA20, EIM_DTLS_AEAD_CHACHA20_POLY1305,
	 EIM_DTLS_KX_ECDHE_PSK, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256"},
	{EIM_DTLS_ECDHE_ECDSA_AES128_CCM8, EIM_DTLS_AEAD_AES128_CCM8,
	 EIM_DTLS_KX_ECDHE_ECDSA, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"},
	{EIM_DTLS_ECDHE_ECDSA_AES128_GCM, EIM_DTLS_AEAD_AES128_GCM,
	 EIM_DTLS_KX_ECDHE_ECDSA, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
	{EIM_DTLS_ECDHE_ECDSA_CHACHA20, EIM_DTLS_AEAD_CHACHA20_POLY1305,
	 EIM_DTLS_KX_ECDHE_ECDSA,
	 "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
};

const char *eim_dtls_suite_name(uint16_t suite)
{
	for (size_t i = 0; i < sizeof(suite_table) / sizeof(suite_table[0]);
	     i++)
		if (suite_table[i].suite == suite)
			return suite_table[i].name;
	return NULL;
}

int eim_dtls_suite_by_name(const char *name, uint16_t *ret)
{
	for (size_t i = 0; i < sizeof(suite_table) / sizeof(suite_table[0]);
	     i++)
		if (strcmp(suite_table[i].name, name) == 0) {
			*ret = suite_table[i].suite;
			return 0;
		}
	return EIM_ENOTFOUND;
}

int eim_dtls_suite_kx(uint16_t suite)
{
	for (size_t i = 0; i < sizeof(suite_table) / sizeof(suite_table[0]);
	     i++)
		if (suite_table[i].suite == suite)
			return (int)suite_table[i].kx;
	return 0;
}

const struct eim_dtls_aead_info *eim_dtls_suite_aead(uint16_t suite)
{
	for (size_t i = 0; i < sizeof(suite_table) / sizeof(suite_table[0]);
	     i++)
		if (suite_table[i].suite == suite)
			return eim_dtls_aead_info(suite_table[i].alg);
	return NULL;
}

int eim_dtls_conn_hs_new(struct eim_dtls_conn *c, uint64_t now_ms)
{
	struct eim_dtls_hs_state *hs = eim_calloc(1, sizeof(*hs));

	if (!hs)
		return EIM_ENOMEM;
	if (wc_InitSha256(&hs->transcript) != 0) {
		eim_free(hs);
		return EIM_ECRYPTO;
	}
	eim_buf_init(&hs->flight);
	hs->flight.max = 8 * EIM_DTLS_HS_MSG_MAX;
	hs->started_ms = now_ms;
	hs->rtx_ms = EIM_DTLS_RTX_INITIAL_MS;
	c->hs = hs;
	return 0;
}

void eim_dtls_conn_hs_free(struct eim_dtls_conn *c)
{
	struct eim_dtls_hs_state *hs = c->hs;

	if (!hs)
		return;
	wc_Sha256Free(&hs->transcript);
	eim_dtls_reasm_done(&hs->reasm);
	eim_dtls_ecdhe_free(hs->ecdhe);
	if (hs->flight.p)
		eim_wipe(hs->flight.p, hs->flight.cap);
	eim_buf_done(&hs->flight);
	eim_buf_done(&hs->future);
	eim_free_secret(hs, sizeof(*hs));
	c->hs = NULL;
}

int eim_dtls_conn_keep_future(struct eim_dtls_conn *c, uint16_t epoch,
			      const struct eim_dtls_hs_frag *f,
			      const uint8_t *raw, size_t used)
{
	struct eim_dtls_hs_state *hs = c->hs;
	uint8_t h[4];

	if (!hs || f->msg_seq <= hs->rx_seq ||
	    f->msg_seq - hs->rx_seq > EIM_DTLS_FUTURE_AHEAD ||
	    used > EIM_DTLS_FUTURE_MAX - 4 ||
	    hs->future.len > EIM_DTLS_FUTURE_MAX - 4 - used)
		return EIM_ETOOBIG;
	eim_put_be16(h, epoch);
	eim_put_be16(h + 2, (uint16_t)used);
	eim_buf_append(&hs->future, h, 4);
	eim_buf_append(&hs->future, raw, used);
	if (hs->future.err) {
		int rc = hs->future.err;

		eim_buf_done(&hs->future);
		return rc;
	}
	return 0;
}

size_t eim_dtls_conn_take_future(struct eim_dtls_conn *c, uint16_t *epoch,
				 uint8_t out[EIM_DTLS_FUTURE_MAX])
{
	struct eim_dtls_hs_state *hs = c->hs;
	size_t r = 0, w = 0, n = 0;
	bool have_epoch = false;

	if (!hs)
		return 0;
	/* entries are [epoch 2][len 2][fragment], len >= 12 (a header) */
	while (r + 4 <= hs->future.len) {
		uint8_t *e = hs->future.p + r;
		uint16_t ep = eim_get_be16(e), len = eim_get_be16(e + 2);
		uint16_t seq = eim_get_be16(e + 4 + 4);
		size_t total = 4u + len;

		if (seq == hs->rx_seq && (!have_epoch || ep == *epoch)) {
			*epoch = ep;
			have_epoch = true;
			memcpy(out + n, e + 4, len);
			n += len;
		} else if (seq > hs->rx_seq) {
			memmove(hs->future.p + w, e, total);
			w += total;
		}
		r += total;
	}
	hs->future.len = w;
	return n;
}

void eim_dtls_conn_done(struct eim_dtls_conn *c)
{
	eim_dtls_conn_hs_free(c);
	if (c->identity)
		eim_free_secret(c->identity, c->identity_len + 1u);
	c->identity = NULL;
	eim_dtls_aead_cache_forget(&c->rkey);
	eim_dtls_aead_cache_forget(&c->wkey);
	eim_wipe(&c->rkey, sizeof(c->rkey));
	eim_wipe(&c->wkey, sizeof(c->wkey));
}

static void flight_entry(struct eim_dtls_conn *c, uint16_t epoch, uint8_t kind,
			 const uint8_t *a, size_t alen, const uint8_t *b,
			 size_t blen)
{
	uint8_t h[6];

	eim_put_be16(h, epoch);
	h[2] = kind;
	eim_put_be24(h + 3, (uint32_t)(alen + blen));
	eim_buf_append(&c->hs->flight, h, sizeof(h));
	eim_buf_append(&c->hs->flight, a, alen);
	if (blen)
		eim_buf_append(&c->hs->flight, b, blen);
}

void eim_dtls_conn_flight_reset(struct eim_dtls_conn *c)
{
	eim_buf_reset(&c->hs->flight);
	c->hs->rtx_count = 0;
	c->hs->rtx_ms = EIM_DTLS_RTX_INITIAL_MS;
	c->hs->rtx_at_ms = 0;
}

void eim_dtls_conn_transcript_msg(struct eim_dtls_conn *c, uint8_t type,
				  uint16_t msg_seq, const uint8_t *body,
				  size_t len)
{
	uint8_t h[EIM_DTLS_HS_HDR_LEN];

	/* RFC 6347 4.2.6: hashed as if sent unfragmented */
	h[0] = type;
	eim_put_be24(h + 1, (uint32_t)len);
	eim_put_be16(h + 4, msg_seq);
	eim_put_be24(h + 6, 0);
	eim_put_be24(h + 9, (uint32_t)len);
	wc_Sha256Update(&c->hs->transcript, h, sizeof(h));
	if (len)
		wc_Sha256Update(&c->hs->transcript, body, (word32)len);
}

int eim_dtls_conn_transcript_hash(struct eim_dtls_conn *c, uint8_t out[32])
{
	wc_Sha256 copy;
	int rc = EIM_ECRYPTO;

	if (wc_Sha256Copy(&c->hs->transcript, &copy) == 0 &&
	    wc_Sha256Final(&copy, out) == 0)
		rc = 0;
	wc_Sha256Free(&copy);
	return rc;
}

void eim_dtls_conn_flight_hs(struct eim_dtls_conn *c, uint16_t epoch,
			     uint8_t type, const uint8_t *body, size_t len)
{
	uint8_t h[EIM_DTLS_HS_HDR_LEN];
	uint16_t seq = c->hs->tx_seq++;

	eim_dtls_conn_transcript_msg(c, type, seq, body, len);
	h[0] = type;
	eim_put_be24(h + 1, (uint32_t)len);
	eim_put_be16(h + 4, seq);
	eim_put_be24(h + 6, 0);
	eim_put_be24(h + 9, (uint32_t)len);
	flight_entry(c, epoch, 0, h, sizeof(h), body, len);
}

void eim_dtls_conn_flight_ccs(struct eim_dtls_conn *c)
{
	static const uint8_t one = 1;

	flight_entry(c, 0, 1, &one, 1, NULL, 0);
}

/* Appends one record to dgram (plain at epoch 0, sealed at epoch 1). */
static int put_record(struct eim_dtls_conn *c, uint16_t epoch, uint8_t type,
		      const uint8_t *data, size_t len, uint8_t *dgram,
		      size_t cap, size_t *used)
{
	uint64_t seq = c->w_seq[epoch ? 1 : 0];
	size_t n = 0;
	int rc;

	if (seq > EIM_DTLS_SEQ_MAX)
		return EIM_EEXHAUSTED;
	if (epoch == 0) {
		if (EIM_DTLS_HDR_LEN + len > cap - *used)
			return EIM_ETOOBIG;
		eim_dtls_record_put_header(dgram + *used, type,
					   EIM_DTLS_VERSION_1_2, 0, seq,
					   (uint16_t)len);
		memcpy(dgram + *used + EIM_DTLS_HDR_LEN, data, len);
		n = EIM_DTLS_HDR_LEN + len;
	} else {
		rc = eim_dtls_record_seal(&c->wkey, type, epoch, seq,
					  c->peer_cid, c->peer_cid_len, 0, data,
					  len, dgram + *used, cap - *used, &n);
		if (rc)
			return rc;
	}
	c->w_seq[epoch ? 1 : 0]++;
	*used += n;
	return 0;
}

int eim_dtls_conn_send_record(struct eim_dtls_conn *c, uint16_t epoch,
			      uint8_t type, const uint8_t *data, size_t len)
{
	uint8_t dgram[EIM_DTLS_MAX_PLAINTEXT + EIM_DTLS_RECORD_OVERHEAD];
	size_t used = 0;
	int rc = put_record(c, epoch, type, data, len, dgram, sizeof(dgram),
			    &used);

	if (rc)
		return rc;
	return c->out(c, dgram, used);
}

void eim_dtls_conn_send_alert(struct eim_dtls_conn *c, uint16_t epoch,
			      uint8_t desc)
{
	bool warning = desc == EIM_DTLS_ALERT_CLOSE_NOTIFY ||
		       desc == EIM_DTLS_ALERT_NO_RENEGOTIATION;
	uint8_t a[2] = {warning ? 1 : 2, desc};

	(void)eim_dtls_conn_send_record(c, epoch, EIM_DTLS_CT_ALERT, a, 2);
}

/* Worst-case bytes a protected record adds to its content. */
static size_t record_overhead(const struct eim_dtls_conn *c, uint16_t epoch)
{
	if (epoch == 0)
		return EIM_DTLS_HDR_LEN;
	return EIM_DTLS_HDR_LEN + c->peer_cid_len + 1 +
	       c->wkey.info->explicit_len + c->wkey.info->tag_len;
}

int eim_dtls_conn_flight_send(struct eim_dtls_conn *c, uint64_t now_ms,
			      bool arm)
{
	struct eim_dtls_hs_state *hs = c->hs;
	int rc;

	if (hs->flight.err)
		return hs->flight.err;
	rc = eim_dtls_conn_entries_send(c, hs->flight.p, hs->flight.len);
	if (rc)
		return rc;
	hs->last_flight_ms = now_ms;
	hs->rtx_at_ms = arm ? now_ms + hs->rtx_ms : 0;
	return 0;
}

int eim_dtls_conn_entries_send(struct eim_dtls_conn *c, const uint8_t *fl,
			       size_t fl_len)
{
	uint8_t dgram[2048];
	size_t mtu = c->mtu < 256	      ? 256
		     : c->mtu > sizeof(dgram) ? sizeof(dgram)
					      : c->mtu;
	size_t off = 0, used = 0;
	int rc = 0;

	while (off + 6 <= fl_len) {
		const uint8_t *e = fl + off;
		uint16_t epoch = eim_get_be16(e);
		uint8_t kind = e[2];
		size_t len = eim_get_be24(e + 3);
		const uint8_t *m = e + 6;
		size_t ovh = record_overhead(c, epoch);

		off += 6 + len;
		if (kind == 1) {
			if (used + ovh + 1 > mtu) {
				if ((rc = c->out(c, dgram, used)))
					return rc;
				used = 0;
			}
			rc = put_record(c, 0, EIM_DTLS_CT_CCS, m, 1, dgram, mtu,
					&used);
			if (rc)
				return rc;
			continue;
		}
		/* handshake message: header m[0..12), body after it */
		size_t body_len = len - EIM_DTLS_HS_HDR_LEN, sent = 0;
		do {
			uint8_t frag[2048];
			size_t room, n;

			if (used + ovh + EIM_DTLS_HS_HDR_LEN + 1 > mtu) {
				if ((rc = c->out(c, dgram, used)))
					return rc;
				used = 0;
			}
			room = mtu - used - ovh - EIM_DTLS_HS_HDR_LEN;
			/* RFC 8449: protected records stay within the peer's
			 * record_size_limit */
			if (epoch && c->peer_rsl &&
			    room > (size_t)c->peer_rsl - EIM_DTLS_HS_HDR_LEN)
				room = (size_t)c->peer_rsl -
				       EIM_DTLS_HS_HDR_LEN;
			n = body_len - sent < room ? body_len - sent : room;
			memcpy(frag, m, 6); /* type, length, message_seq */
			eim_put_be24(frag + 6, (uint32_t)sent);
			eim_put_be24(frag + 9, (uint32_t)n);
			memcpy(frag + EIM_DTLS_HS_HDR_LEN,
			       m + EIM_DTLS_HS_HDR_LEN + sent, n);
			rc = put_record(c, epoch, EIM_DTLS_CT_HANDSHAKE, frag,
					EIM_DTLS_HS_HDR_LEN + n, dgram, mtu,
					&used);
			if (rc)
				return rc;
			sent += n;
		} while (sent < body_len);
	}
	if (used && (rc = c->out(c, dgram, used)))
		return rc;
	return 0;
}

int eim_dtls_conn_open(struct eim_dtls_conn *c, const struct eim_dtls_record *r,
		       uint8_t *out, size_t out_cap, uint8_t *ret_type,
		       size_t *ret_len, bool *ret_newest)
{
	bool newest;
	int rc;

	if (r->epoch == 0 || r->epoch != c->r_epoch)
		return EIM_ERANGE;
	rc = eim_dtls_replay_check(&c->replay, r->seq);
	if (rc)
		return rc;
	/* Before anything was accepted the window is empty; seq 0 is then
	 * the newest too. */
	newest = r->seq > c->replay.top || c->replay.bits == 0;
	rc = eim_dtls_record_open(&c->rkey, r, out, out_cap, ret_type, ret_len);
	if (rc)
		return rc;
	eim_dtls_replay_mark(&c->replay, r->seq);
	*ret_newest = newest;
	return 0;
}

size_t eim_dtls_psk_pms(const uint8_t *z, size_t z_len, const uint8_t *psk,
			size_t psk_len, uint8_t *out)
{
	if (!z)
		z_len = psk_len;
	eim_put_be16(out, (uint16_t)z_len);
	if (z)
		memcpy(out + 2, z, z_len);
	else
		memset(out + 2, 0, z_len);
	eim_put_be16(out + 2 + z_len, (uint16_t)psk_len);
	memcpy(out + 4 + z_len, psk, psk_len);
	return 4 + z_len + psk_len;
}

int eim_dtls_conn_derive(struct eim_dtls_conn *c, const uint8_t *pms,
			 size_t pms_len)
{
	struct eim_dtls_hs_state *hs = c->hs;
	struct eim_dtls_aead_key ck, sk;
	uint8_t h[32];
	int rc;

	if (hs->ems) {
		/* session_hash: transcript up to and including the CKE */
		if ((rc = eim_dtls_conn_transcript_hash(c, h)))
			return rc;
		rc = eim_dtls_master_secret(pms, pms_len, 1, h, NULL,
					    hs->master);
	} else {
		rc = eim_dtls_master_secret(pms, pms_len, 0, hs->crandom,
					    hs->srandom, hs->master);
	}
	if (rc)
		return rc;
	if (c->keylog) {
		/* NSS key log line for Wireshark; an explicit debug opt-in */
		char line[14 + 2 * 32 + 1 + 2 * 48 + 1];

		memcpy(line, "CLIENT_RANDOM ", 14);
		eim_hex_encode(hs->crandom, 32, line + 14);
		line[14 + 64] = ' ';
		eim_hex_encode(hs->master, 48, line + 14 + 64 + 1);
		c->keylog(c->keylog_ctx, line);
		eim_wipe(line, sizeof(line));
	}
	rc = eim_dtls_key_block(hs->aead, hs->master, hs->crandom, hs->srandom,
				&ck, &sk);
	if (rc)
		return rc;
	c->rkey = c->is_server ? ck : sk;
	c->wkey = c->is_server ? sk : ck;
	eim_wipe(&ck, sizeof(ck));
	eim_wipe(&sk, sizeof(sk));
	return 0;
}
