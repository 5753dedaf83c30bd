/*
 * eim_coap_client.c - CoAP client engine (RFC 7252 4.2-4.4 reliability and
 * matching, RFC 7959 2.3-2.5 block-wise, RFC 9175 3 Request-Tag).
 *
 * Requests live in a fixed array of slots. A token is the slot index (2
 * bytes) followed by 6 random bytes, so a response finds its request in
 * O(1) and an off-path guess still has to hit 48 random bits (RFC 7252
 * 5.3.1 asks for that when there is no DTLS underneath). Empty ACKs and RSTs
 * carry no token and are matched by message ID over the busy slots.
 */
#include "transport/eim_coap_client.h"

#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "common/eim_log.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#define PATH_MAX_LEN 128

enum rq_state {
	RQ_FREE = 0,
	RQ_WAIT_ACK,  /* a CON is out, retransmitting until ACKed */
	RQ_WAIT_RESP, /* empty ACK seen (or NON sent): waiting for response */
	RQ_DONE,      /* callback running */
};

struct rq {
	enum rq_state state;
	bool non;
	bool block1;	/* body goes out in blocks */
	bool b2_active; /* response comes in blocks */
	bool etag_set;
	uint8_t method;
	uint8_t szx; /* current Block1 size exponent */
	uint8_t b2_szx;
	uint8_t etag_len;
	uint8_t etag[8];
	uint8_t token[EIM_COAP_TOKEN_MAX];
	uint8_t rtag[4];
	uint16_t mid;
	int cf;
	uint32_t b2_next;
	uint32_t retransmits;
	uint32_t timeout_ms;
	uint64_t deadline;
	size_t b1_off;
	size_t b1_len;
	char path[PATH_MAX_LEN];
	struct eim_buf body; /* request body */
	struct eim_buf resp; /* reassembled Block2 body */
	uint8_t *dgram;	     /* last message sent, for retransmission */
	size_t dgram_len;
	size_t dgram_cap;
	eim_coap_client_cb cb;
	void *cb_ctx;
};

struct eim_coap_client {
	struct eim_coap_client_config cfg;
	eim_coap_send_fn send;
	void *send_ctx;
	uint64_t rng;
	uint16_t next_mid;
	uint32_t next_rtag;
	size_t nslots;
	size_t inflight;
	struct rq *slots;
	struct eim_coap_msg msg;
	struct eim_coap_client_stats st;
};

void eim_coap_client_config_default(struct eim_coap_client_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	eim_coap_params_default(&cfg->params);
	cfg->block_szx = 6;
	cfg->max_body = 1u << 20;
	cfg->max_inflight = 64;
}

/* xorshift64*: cheap, and good enough for jitter, IDs and token bits. */
static uint64_t rnd(struct eim_coap_client *c)
{
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * 2685821657736338717ull;
}

int eim_coap_client_new(const struct eim_coap_client_config *cfg,
			eim_coap_send_fn send, void *send_ctx,
			struct eim_coap_client **ret)
{
	struct eim_coap_client *c;

	if (!ret || !send)
		return EIM_EINVAL;
	c = eim_calloc(1, sizeof(*c));
	if (!c)
		return EIM_ENOMEM;
	if (cfg)
		c->cfg = *cfg;
	else
		eim_coap_client_config_default(&c->cfg);
	if (c->cfg.block_szx > 6 || !c->cfg.max_inflight ||
	    c->cfg.max_inflight > 65535 || !c->cfg.params.ack_timeout_ms ||
	    c->cfg.params.ack_random_factor < 1000 ||
	    c->cfg.params.max_retransmit > 20) {
		eim_free(c);
		return EIM_EINVAL;
	}
	c->send = send;
	c->send_ctx = send_ctx;
	c->rng = c->cfg.seed;
	if (!c->rng && getrandom(&c->rng, sizeof(c->rng), 0) != sizeof(c->rng))
		c->rng = 0x9e3779b97f4a7c15ull;
	if (!c->rng)
		c->rng = 1;
	c->next_mid = (uint16_t)rnd(c);
	c->next_rtag = (uint32_t)rnd(c);
	/* One spare slot: a callback may start a new request while its own
	 * slot is still held for the response views. */
	c->nslots = c->cfg.max_inflight + 1;
	c->slots = eim_calloc(c->nslots, sizeof(*c->slots));
	if (!c->slots) {
		eim_free(c);
		return EIM_ENOMEM;
	}
	for (size_t i = 0; i < c->nslots; i++) {
		eim_buf_init(&c->slots[i].body);
		eim_buf_init(&c->slots[i].resp);
	}
	*ret = c;
	return 0;
}

void eim_coap_client_free(struct eim_coap_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nslots; i++) {
		eim_buf_done(&c->slots[i].body);
		eim_buf_done(&c->slots[i].resp);
		eim_free(c->slots[i].dgram);
	}
	eim_free(c->slots);
	eim_free(c);
}

/* MAX_TRANSMIT_WAIT (RFC 7252 4.8.2): how long a response may take. */
static uint64_t max_transmit_wait(const struct eim_coap_client *c)
{
	const struct eim_coap_params *p = &c->cfg.params;
	uint64_t span = ((uint64_t)2 << p->max_retransmit) - 1;
	return span * p->ack_timeout_ms * p->ack_random_factor / 1000;
}

static void transmit(struct eim_coap_client *c, struct rq *r)
{
	c->send(c->send_ctx, r->dgram, r->dgram_len);
	c->st.sent++;
}

/* Builds the next message of r (a body block, a Block2 follow-up or the
 * whole request) with a fresh message ID, sends it and arms its timer. */
static int send_next(struct eim_coap_client *c, struct rq *r, uint64_t now)
{
	struct eim_coap_writer w;
	const uint8_t *payload = NULL;
	size_t plen = 0, need;
	int rc;

	need = 64 + strlen(r->path) + EIM_COAP_TOKEN_MAX +
	       eim_coap_szx_size(r->szx);
	if (!r->block1 && !r->b2_active)
		need += r->body.len;
	if (r->dgram_cap < need) {
		uint8_t *nb = eim_realloc(r->dgram, need);
		if (!nb)
			return EIM_ENOMEM;
		r->dgram = nb;
		r->dgram_cap = need;
	}
	r->mid = c->next_mid++;
	eim_coap_writer_init(&w, r->dgram, r->dgram_cap,
			     r->non ? EIM_COAP_NON : EIM_COAP_CON, r->method,
			     r->mid, r->token, EIM_COAP_TOKEN_MAX);
	eim_coap_writer_opt_path(&w, EIM_COAP_OPT_URI_PATH, r->path);
	if (r->b2_active) {
		/* Block2 follow-up: no body (RFC 7959 2.5). */
		eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_BLOCK2,
					 eim_coap_block_encode(r->b2_next,
							       false,
							       r->b2_szx));
	} else if (r->block1) {
		size_t bs = eim_coap_szx_size(r->szx);
		bool more;

		plen = r->body.len - r->b1_off;
		if (plen > bs)
			plen = bs;
		more = r->b1_off + plen < r->body.len;
		r->b1_len = plen;
		payload = r->body.p + r->b1_off;
		if (r->cf >= 0)
			eim_coap_writer_opt_uint(&w,
						 EIM_COAP_OPT_CONTENT_FORMAT,
						 (uint32_t)r->cf);
		eim_coap_writer_opt_uint(
			&w, EIM_COAP_OPT_BLOCK1,
			eim_coap_block_encode((uint32_t)(r->b1_off / bs), more,
					      r->szx));
		if (r->b1_off == 0)
			eim_coap_writer_opt_uint(&w, EIM_COAP_OPT_SIZE1,
						 (uint32_t)r->body.len);
		eim_coap_writer_opt(&w, EIM_COAP_OPT_REQUEST_TAG, r->rtag,
				    sizeof(r->rtag));
	} else {
		if (r->cf >= 0)
			eim_coap_writer_opt_uint(&w,
						 EIM_COAP_OPT_CONTENT_FORMAT,
						 (uint32_t)r->cf);
		/* Early negotiation of a smaller response block size. */
		if (c->cfg.block_szx < 6)
			eim_coap_writer_opt_uint(
				&w, EIM_COAP_OPT_BLOCK2,
				eim_coap_block_encode(0, false,
						      c->cfg.block_szx));
		payload = r->body.p;
		plen = r->body.len;
	}
	eim_coap_writer_payload(&w, payload, plen);
	rc = eim_coap_writer_finish(&w, &r->dgram_len);
	if (rc)
		return rc;
	r->retransmits = 0;
	if (r->non) {
		r->state = RQ_WAIT_RESP;
		r->deadline = now + max_transmit_wait(c);
	} else {
		const struct eim_coap_params *p = &c->cfg.params;
		uint64_t span = (uint64_t)p->ack_timeout_ms *
				(p->ack_random_factor - 1000) / 1000;
		r->timeout_ms = p->ack_timeout_ms +
				(uint32_t)(span ? rnd(c) % (span + 1) : 0);
		r->state = RQ_WAIT_ACK;
		r->deadline = now + r->timeout_ms;
	}
	transmit(c, r);
	return 0;
}

int eim_coap_client_request(struct eim_coap_client *c,
			    const struct eim_coap_client_request *rq,
			    uint64_t now)
{
	struct rq *r = NULL;
	uint64_t t;
	size_t i;
	int rc;

	if (!c || !rq || !rq->cb || !rq->path ||
	    strlen(rq->path) >= PATH_MAX_LEN || (rq->body_len && !rq->body) ||
	    rq->method == 0 || rq->method > 31 || rq->content_format > 65535)
		return EIM_EINVAL;
	/* Block1 numbers are 20 bits (RFC 7959 2.2). */
	if (rq->body_len >
	    ((size_t)1 << 20) * eim_coap_szx_size(c->cfg.block_szx))
		return EIM_ETOOBIG;
	if (c->inflight >= c->cfg.max_inflight)
		return EIM_EBUSY;
	for (i = 0; i < c->nslots; i++) {
		if (c->slots[i].state == RQ_FREE) {
			r = &c->slots[i];
			break;
		}
	}
	if (!r)
		return EIM_EBUSY;
	eim_buf_reset(&r->body);
	eim_buf_append(&r->body, rq->body, rq->body_len);
	if (r->body.err)
		return EIM_ENOMEM;
	eim_buf_reset(&r->resp);
	r->resp.max = c->cfg.max_body;
	r->non = rq->non;
	r->method = rq->method;
	r->cf = rq->content_format;
	r->szx = c->cfg.block_szx;
	r->block1 = rq->body_len > eim_coap_szx_size(r->szx);
	r->b1_off = 0;
	r->b2_active = false;
	r->b2_next = 0;
	r->etag_set = false;
	snprintf(r->path, sizeof(r->path), "%s", rq->path);
	eim_put_be16(r->token, (uint16_t)i);
	t = rnd(c);
	eim_put_be48(r->token + 2, t & 0xffffffffffffull);
	eim_put_be32(r->rtag, c->next_rtag++);
	r->cb = rq->cb;
	r->cb_ctx = rq->cb_ctx;
	rc = send_next(c, r, now);
	if (rc) {
		r->state = RQ_FREE;
		return rc;
	}
	c->inflight++;
	return 0;
}

static void finish(struct eim_coap_client *c, struct rq *r, int status,
		   const struct eim_coap_client_response *resp)
{
	r->state = RQ_DONE;
	c->inflight--;
	if (status == 0)
		c->st.completed++;
	else
		c->st.failed++;
	r->cb(r->cb_ctx, status, resp);
	r->state = RQ_FREE;
}

static void send_empty(struct eim_coap_client *c, uint8_t type, uint16_t mid)
{
	uint8_t b[4];
	struct eim_coap_writer w;
	size_t n;

	eim_coap_writer_init(&w, b, sizeof(b), type, EIM_COAP_EMPTY, mid, NULL,
			     0);
	if (eim_coap_writer_finish(&w, &n) == 0)
		c->send(c->send_ctx, b, n);
}

/* A response for r arrived: continue the block-wise transfer or finish. */
static void on_response(struct eim_coap_client *c, struct rq *r,
			const struct eim_coap_msg *m, uint64_t now)
{
	const struct eim_coap_opt *o;
	struct eim_coap_block b;
	struct eim_coap_client_response resp = {
		.code = m->code,
		.content_format = -1,
		.body = m->payload,
		.body_len = m->payload_len,
		.msg = m,
	};
	uint32_t cf;
	int rc;

	if (r->block1 && !r->b2_active && m->code == EIM_COAP_CONTINUE) {
		o = eim_coap_msg_opt(m, EIM_COAP_OPT_BLOCK1);
		if (!o || eim_coap_block_decode(o, &b) ||
		    r->b1_off + r->b1_len >= r->body.len) {
			finish(c, r, EIM_EMALFORMED, NULL);
			return;
		}
		/* The server may ask for smaller blocks: what was sent so far
		 * is a multiple of any smaller power of two. */
		if (b.szx < r->szx)
			r->szx = b.szx;
		r->b1_off += r->b1_len;
		rc = send_next(c, r, now);
		if (rc)
			finish(c, r, rc, NULL);
		return;
	}
	o = eim_coap_msg_opt(m, EIM_COAP_OPT_BLOCK2);
	if (o && EIM_COAP_CODE_CLASS(m->code) == 2) {
		const struct eim_coap_opt *et;
		size_t bs;

		if (eim_coap_block_decode(o, &b) || b.num != r->b2_next) {
			finish(c, r, EIM_EMALFORMED, NULL);
			return;
		}
		bs = eim_coap_szx_size(b.szx);
		et = eim_coap_msg_opt(m, EIM_COAP_OPT_ETAG);
		if (b.num == 0) {
			eim_buf_reset(&r->resp);
			r->etag_set = et && et->len <= sizeof(r->etag);
			if (r->etag_set) {
				r->etag_len = (uint8_t)et->len;
				memcpy(r->etag, et->val, et->len);
			}
		} else if (r->etag_set != (et != NULL) ||
			   (et && (et->len != r->etag_len ||
				   memcmp(et->val, r->etag, et->len) != 0))) {
			finish(c, r, EIM_EMALFORMED, NULL);
			return;
		}
		/* The block must start where the body so far ends, and a
		 * non-final block must be exactly one block long. */
		if ((size_t)b.num * bs != r->resp.len ||
		    (b.more && m->payload_len != bs)) {
			finish(c, r, EIM_EMALFORMED, NULL);
			return;
		}
		eim_buf_append(&r->resp, m->payload, m->payload_len);
		if (r->resp.err) {
			finish(c, r,
			       r->resp.err == EIM_ETOOBIG ? EIM_ETOOBIG
							  : EIM_ENOMEM,
			       NULL);
			return;
		}
		if (b.more) {
			r->b2_active = true;
			r->b2_next = b.num + 1;
			r->b2_szx = b.szx;
			rc = send_next(c, r, now);
			if (rc)
				finish(c, r, rc, NULL);
			return;
		}
		resp.body = r->resp.p;
		resp.body_len = r->resp.len;
	}
	o = eim_coap_msg_opt(m, EIM_COAP_OPT_CONTENT_FORMAT);
	if (o && eim_coap_opt_uint(o, 2, &cf) == 0)
		resp.content_format = (int)cf;
	finish(c, r, 0, &resp);
}

static struct rq *by_token(struct eim_coap_client *c,
			   const struct eim_coap_msg *m)
{
	struct rq *r;
	uint16_t idx;

	if (m->tkl != EIM_COAP_TOKEN_MAX)
		return NULL;
	idx = eim_get_be16(m->token);
	if (idx >= c->nslots)
		return NULL;
	r = &c->slots[idx];
	if ((r->state != RQ_WAIT_ACK && r->state != RQ_WAIT_RESP) ||
	    !eim_ct_equal(r->token, m->token, EIM_COAP_TOKEN_MAX))
		return NULL;
	return r;
}

static struct rq *by_mid(struct eim_coap_client *c, uint16_t mid)
{
	for (size_t i = 0; i < c->nslots; i++)
		if (c->slots[i].state == RQ_WAIT_ACK && c->slots[i].mid == mid)
			return &c->slots[i];
	return NULL;
}

int eim_coap_client_input(struct eim_coap_client *c, const uint8_t *dgram,
			  size_t len, uint64_t now)
{
	struct eim_coap_msg *m;
	struct rq *r;
	uint8_t type, code;
	uint16_t mid;

	if (!c || (len && !dgram))
		return EIM_EINVAL;
	if (eim_coap_msg_peek(dgram, len, &type, &code, &mid))
		return 0;
	m = &c->msg;
	if (eim_coap_msg_parse(dgram, len, m)) {
		if (type == EIM_COAP_CON)
			send_empty(c, EIM_COAP_RST, mid);
		return 0;
	}
	if (m->code == EIM_COAP_EMPTY) {
		/* Empty ACK: separate response follows. RST: rejected. A
		 * CON ping gets RST (RFC 7252 4.3). */
		if (m->type == EIM_COAP_CON) {
			send_empty(c, EIM_COAP_RST, m->mid);
			return 0;
		}
		r = by_mid(c, m->mid);
		if (!r)
			return 0;
		if (m->type == EIM_COAP_RST) {
			finish(c, r, EIM_ECLOSED, NULL);
		} else if (m->type == EIM_COAP_ACK) {
			r->state = RQ_WAIT_RESP;
			r->deadline = now + max_transmit_wait(c);
		}
		return 0;
	}
	if (EIM_COAP_CODE_CLASS(m->code) < 2 || m->type == EIM_COAP_RST) {
		/* A request to a client, or a non-empty RST: not for us. */
		if (m->type == EIM_COAP_CON)
			send_empty(c, EIM_COAP_RST, m->mid);
		return 0;
	}
	r = by_token(c, m);
	if (m->type == EIM_COAP_ACK && r &&
	    (r->state != RQ_WAIT_ACK || r->mid != m->mid))
		r = NULL; /* a piggybacked answer to an older message */
	if (!r) {
		if (m->type == EIM_COAP_CON)
			send_empty(c, EIM_COAP_RST, m->mid);
		return 0;
	}
	if (m->type == EIM_COAP_CON)
		send_empty(c, EIM_COAP_ACK, m->mid);
	on_response(c, r, m, now);
	return 0;
}

void eim_coap_client_tick(struct eim_coap_client *c, uint64_t now)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nslots; i++) {
		struct rq *r = &c->slots[i];

		if ((r->state != RQ_WAIT_ACK && r->state != RQ_WAIT_RESP) ||
		    now < r->deadline)
			continue;
		if (r->state == RQ_WAIT_ACK &&
		    r->retransmits < c->cfg.params.max_retransmit) {
			r->retransmits++;
			r->timeout_ms *= 2;
			r->deadline = now + r->timeout_ms;
			c->st.retransmits++;
			transmit(c, r);
			continue;
		}
		finish(c, r, EIM_ETIMEOUT, NULL);
	}
}

uint64_t eim_coap_client_next_deadline(const struct eim_coap_client *c)
{
	uint64_t t = UINT64_MAX;

	if (!c || !c->inflight)
		return t;
	for (size_t i = 0; i < c->nslots; i++) {
		const struct rq *r = &c->slots[i];
		if ((r->state == RQ_WAIT_ACK || r->state == RQ_WAIT_RESP) &&
		    r->deadline < t)
			t = r->deadline;
	}
	return t;
}

size_t eim_coap_client_inflight(const struct eim_coap_client *c)
{
	return c ? c->inflight : 0;
}

void eim_coap_client_stats(const struct eim_coap_client *c,
			   struct eim_coap_client_stats *ret)
{
	if (c && ret)
		*ret = c->st;
}
