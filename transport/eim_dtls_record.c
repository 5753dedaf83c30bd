/*
 * eim_dtls_record.c - DTLS 1.2 record parsing, AEAD protection (plain and
 * RFC 9146 CID records) and the anti-replay window. Formats are drawn in
 * eim_dtls_record.h.
 */
#include "transport/eim_dtls_record.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"

#include <string.h>

static bool known_type(uint8_t t)
{
	return t == EIM_DTLS_CT_CCS || t == EIM_DTLS_CT_ALERT ||
	       t == EIM_DTLS_CT_HANDSHAKE || t == EIM_DTLS_CT_APP_DATA;
}

int eim_dtls_record_parse(const uint8_t *p, size_t len, size_t cid_len,
			  struct eim_dtls_record *rec, size_t *ret_used)
{
	struct eim_dtls_record r;
	size_t hdr = EIM_DTLS_HDR_LEN, flen;

	if ((!p && len) || !rec || !ret_used || cid_len > EIM_DTLS_MAX_CID)
		return EIM_EINVAL;
	if (len < 1)
		return EIM_ETRUNC;
	memset(&r, 0, sizeof(r));
	r.type = p[0];
	if (r.type == EIM_DTLS_CT_TLS12_CID) {
		if (cid_len == 0)
			return EIM_ETAG;
		hdr += cid_len;
	} else if (!known_type(r.type)) {
		return EIM_ETAG;
	}
	if (len < hdr)
		return EIM_ETRUNC;
	r.version = eim_get_be16(p + 1);
	if (r.version != EIM_DTLS_VERSION_1_2 &&
	    r.version != EIM_DTLS_VERSION_1_0)
		return EIM_EVERSION;
	r.epoch = eim_get_be16(p + 3);
	r.seq = eim_get_be48(p + 5);
	if (r.type == EIM_DTLS_CT_TLS12_CID) {
		r.cid.p = p + 11;
		r.cid.len = cid_len;
	}
	flen = eim_get_be16(p + hdr - 2);
	if (flen > EIM_DTLS_MAX_CIPHERTEXT)
		return EIM_ETOOBIG;
	if (flen > len - hdr)
		return EIM_EMALFORMED;
	r.fragment.p = p + hdr;
	r.fragment.len = flen;
	*rec = r;
	*ret_used = hdr + flen;
	return 0;
}

size_t eim_dtls_record_put_header(uint8_t *out, uint8_t type, uint16_t version,
				  uint16_t epoch, uint64_t seq, uint16_t len)
{
	out[0] = type;
	eim_put_be16(out + 1, version);
	eim_put_be16(out + 3, epoch);
	eim_put_be48(out + 5, seq);
	eim_put_be16(out + 11, len);
	return EIM_DTLS_HDR_LEN;
}

void eim_dtls_aad_plain(uint8_t out[13], uint8_t type, uint16_t version,
			uint16_t epoch, uint64_t seq, uint16_t plain_len)
{
	/* seq_num (epoch || sequence) || type || version || length */
	eim_put_be16(out, epoch);
	eim_put_be48(out + 2, seq);
	out[8] = type;
	eim_put_be16(out + 9, version);
	eim_put_be16(out + 11, plain_len);
}

size_t eim_dtls_aad_cid(uint8_t *out, uint16_t version, uint16_t epoch,
			uint64_t seq, const uint8_t *cid, size_t cid_len,
			uint16_t inner_len)
{
	size_t o = 0;

	memset(out, 0xff, 8); /* seq_num_placeholder */
	o = 8;
	out[o++] = EIM_DTLS_CT_TLS12_CID;
	out[o++] = (uint8_t)cid_len;
	out[o++] = EIM_DTLS_CT_TLS12_CID;
	eim_put_be16(out + o, version);
	o += 2;
	eim_put_be16(out + o, epoch);
	o += 2;
	eim_put_be48(out + o, seq);
	o += 6;
	if (cid_len)
		memcpy(out + o, cid, cid_len);
	o += cid_len;
	eim_put_be16(out + o, inner_len);
	return o + 2;
}

void eim_dtls_nonce(const struct eim_dtls_aead_key *k, uint16_t epoch,
		    uint64_t seq, uint8_t out[EIM_DTLS_NONCE_LEN])
{
	if (k->info->alg == EIM_DTLS_AEAD_CHACHA20_POLY1305) {
		/* RFC 7905: IV XOR left-padded 64-bit (epoch || seq) */
		uint8_t s[8];

		eim_put_be16(s, epoch);
		eim_put_be48(s + 2, seq);
		memcpy(out, k->iv, 12);
		for (int i = 0; i < 8; i++)
			out[4 + i] ^= s[i];
		return;
	}
	/* RFC 6655/5288: salt || explicit nonce; we send epoch || seq as the
	 * explicit part, which is unique per key. */
	memcpy(out, k->iv, 4);
	eim_put_be16(out + 4, epoch);
	eim_put_be48(out + 6, seq);
}

int eim_dtls_record_seal(const struct eim_dtls_aead_key *k, uint8_t type,
			 uint16_t epoch, uint64_t seq, const uint8_t *cid,
			 size_t cid_len, size_t pad, const uint8_t *content,
			 size_t content_len, uint8_t *out, size_t out_cap,
			 size_t *ret_len)
{
	uint8_t aad[23 + EIM_DTLS_MAX_CID];
	uint8_t nonce[EIM_DTLS_NONCE_LEN];
	size_t hdr, aad_len, inner, total, xl, tl;
	uint8_t *body;
	int rc;

	if (!k || !k->info || !out || !ret_len || (!content && content_len) ||
	    (cid_len && !cid) || cid_len > EIM_DTLS_MAX_CID ||
	    !known_type(type) || seq > EIM_DTLS_SEQ_MAX)
		return EIM_EINVAL;
	if (content_len > EIM_DTLS_MAX_PLAINTEXT || pad > 255)
		return EIM_ETOOBIG;
	xl = k->info->explicit_len;
	tl = k->info->tag_len;
	hdr = EIM_DTLS_HDR_LEN + cid_len;
	inner = content_len + (cid_len ? 1 + pad : 0);
	total = hdr + xl + inner + tl;
	if (inner > EIM_DTLS_MAX_PLAINTEXT + 256 || total > out_cap)
		return EIM_ETOOBIG;

	out[0] = cid_len ? EIM_DTLS_CT_TLS12_CID : type;
	eim_put_be16(out + 1, EIM_DTLS_VERSION_1_2);
	eim_put_be16(out + 3, epoch);
	eim_put_be48(out + 5, seq);
	if (cid_len)
		memcpy(out + 11, cid, cid_len);
	eim_put_be16(out + hdr - 2, (uint16_t)(xl + inner + tl));

	eim_dtls_nonce(k, epoch, seq, nonce);
	if (xl)
		memcpy(out + hdr, nonce + 4, xl);
	body = out + hdr + xl;
	if (content_len)
		memmove(body, content, content_len);
	if (cid_len) {
		body[content_len] = type;
		memset(body + content_len + 1, 0, pad);
		aad_len = eim_dtls_aad_cid(aad, EIM_DTLS_VERSION_1_2, epoch,
					   seq, cid, cid_len, (uint16_t)inner);
	} else {
		eim_dtls_aad_plain(aad, type, EIM_DTLS_VERSION_1_2, epoch, seq,
				   (uint16_t)inner);
		aad_len = 13;
	}
	rc = eim_dtls_aead_seal(k, nonce, aad, aad_len, body, inner,
				body + inner);
	if (rc)
		return rc;
	*ret_len = total;
	return 0;
}

int eim_dtls_record_open(const struct eim_dtls_aead_key *k,
			 const struct eim_dtls_record *rec, uint8_t *out,
			 size_t out_cap, uint8_t *ret_type, size_t *ret_len)
{
	uint8_t aad[23 + EIM_DTLS_MAX_CID];
	uint8_t nonce[EIM_DTLS_NONCE_LEN];
	size_t xl, tl, clen, aad_len, n;
	const uint8_t *f;
	uint8_t type;
	int rc;

	if (!k || !k->info || !rec || !out || !ret_type || !ret_len ||
	    rec->cid.len > EIM_DTLS_MAX_CID)
		return EIM_EINVAL;
	xl = k->info->explicit_len;
	tl = k->info->tag_len;
	f = rec->fragment.p;
	if (rec->fragment.len < xl + tl)
		return EIM_EMALFORMED;
	clen = rec->fragment.len - xl - tl;
	if (clen > out_cap)
		return EIM_ETOOBIG;
	if (rec->type == EIM_DTLS_CT_TLS12_CID) {
		if (clen < 1)
			return EIM_EMALFORMED;
		aad_len = eim_dtls_aad_cid(aad, rec->version, rec->epoch,
					   rec->seq, rec->cid.p, rec->cid.len,
					   (uint16_t)clen);
	} else {
		eim_dtls_aad_plain(aad, rec->type, rec->version, rec->epoch,
				   rec->seq, (uint16_t)clen);
		aad_len = 13;
	}
	if (xl) {
		/* the salt is ours; the explicit part comes from the record */
		memcpy(nonce, k->iv, 4);
		memcpy(nonce + 4, f, xl);
	} else {
		eim_dtls_nonce(k, rec->epoch, rec->seq, nonce);
	}
	memcpy(out, f + xl, clen);
	rc = eim_dtls_aead_open(k, nonce, aad, aad_len, out, clen,
				f + xl + clen);
	if (rc)
		return rc;
	type = rec->type;
	n = clen;
	if (type == EIM_DTLS_CT_TLS12_CID) {
		/* strip zero padding; the last non-zero byte is the type */
		while (n > 0 && out[n - 1] == 0)
			n--;
		if (n == 0)
			return EIM_EMALFORMED;
		type = out[--n];
		if (!known_type(type))
			return EIM_ETAG;
	}
	if (n > EIM_DTLS_MAX_PLAINTEXT)
		return EIM_ETOOBIG;
	*ret_type = type;
	*ret_len = n;
	return 0;
}

int eim_dtls_replay_check(const struct eim_dtls_replay *w, uint64_t seq)
{
	if (seq > EIM_DTLS_SEQ_MAX)
		return EIM_ERANGE;
	if (seq > w->top)
		return 0;
	if (w->top - seq >= 64)
		return EIM_ERANGE;
	return (w->bits >> (w->top - seq)) & 1 ? EIM_EEXIST : 0;
}

void eim_dtls_replay_mark(struct eim_dtls_replay *w, uint64_t seq)
{
	if (seq > w->top) {
		uint64_t shift = seq - w->top;

		w->bits = shift >= 64 ? 1 : (w->bits << shift) | 1;
		w->top = seq;
	} else if (w->top - seq < 64) {
		w->bits |= (uint64_t)1 << (w->top - seq);
	}
}
