/*
 * store_fixture.h - helpers shared by the store/ tests: EIDs, a signer that
 * produces recognisable bytes, a fake clock, and a fresh database file in a
 * temporary directory (always a real file: WAL needs one).
 */
#ifndef STORE_FIXTURE_H
#define STORE_FIXTURE_H

#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "store/eim_store.h"

#include "eim_test.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

/* EID number n: 89049032 + 24 digits of n (all decimal). */
static inline void fx_eid(unsigned n, uint8_t eid[EIM_STORE_EID_LEN])
{
	char text[40];

	snprintf(text, sizeof(text), "89049032%024u", n);
	ck_assert_int_eq(eim_store_eid_parse(text, eid), 0);
}

struct fx_clock {
	int64_t now;
};

static inline int64_t fx_clock_fn(void *ctx)
{
	return ((struct fx_clock *)ctx)->now;
}

/* What the signer saw last, and how it should behave. */
struct fx_signer {
	int calls;
	int fail; /* return this error instead of signing */
	bool make_txid;
	struct eim_store_sign_in last;
	char last_eim_id[EIM_STORE_EIM_ID_MAX + 1];
	size_t pad; /* extra bytes to make packages realistic in size */
};

/* Bytes: "pkg|<eimId>|<eid hex>|<counter>|tok=<token>" + pad bytes. */
static inline int fx_sign(void *ctx, const struct eim_store_sign_in *in,
			  struct eim_store_sign_out *out)
{
	struct fx_signer *sg = ctx;
	char text[256], hex[33];
	int n;

	if (sg) {
		sg->calls++;
		sg->last = *in;
		snprintf(sg->last_eim_id, sizeof(sg->last_eim_id), "%s",
			 in->eim_id);
		if (sg->fail)
			return sg->fail;
	}
	n = snprintf(text, sizeof(text), "pkg|%s|%s|%u|tok=%lld", in->eim_id,
		     eim_hex_encode(in->eid, EIM_STORE_EID_LEN, hex),
		     in->counter,
		     in->has_association_token
			     ? (long long)in->association_token
			     : -1LL);
	eim_buf_append(out->bytes, text, (size_t)n);
	for (size_t i = 0; sg && i < sg->pad; i++)
		eim_buf_append_byte(out->bytes, (uint8_t)(i * 7 + in->counter));
	if (sg && sg->make_txid && out->txid_len == 0) {
		memset(out->txid, 0xA5, 16);
		out->txid[15] = (uint8_t)in->counter;
		out->txid_len = 16;
	}
	return 0;
}

struct fx {
	char dir[256];
	char path[300];
	struct fx_clock clock;
	struct eim_store_options opt;
	struct eim_store *s;
};

static inline struct eim_store *fx_reopen(struct fx *f)
{
	int err;

	eim_store_close(f->s);
	f->s = NULL;
	err = eim_store_open(f->path, &f->opt, &f->s);
	ck_assert_msg(err == 0, "open: %s", eim_store_open_errmsg());
	return f->s;
}

static inline void fx_setup(struct fx *f)
{
	const char *d = eim_test_tmpdir();

	memset(f, 0, sizeof(*f));
	ck_assert_ptr_nonnull(d);
	snprintf(f->dir, sizeof(f->dir), "%s", d);
	snprintf(f->path, sizeof(f->path), "%s/eim.db", d);
	f->clock.now = 1700000000000;
	eim_store_options_init(&f->opt);
	f->opt.synchronous = EIM_STORE_SYNC_NORMAL; /* faster tests */
	f->opt.clock = fx_clock_fn;
	f->opt.clock_ctx = &f->clock;
	f->opt.actor = "test";
	fx_reopen(f);
}

static inline void fx_teardown(struct fx *f)
{
	eim_store_close(f->s);
	f->s = NULL;
	eim_test_rmdir(f->dir);
}

/* An identity "eim-1" and `n` devices 1..n managed by it (PSK "dev<i>"). */
static inline void fx_fleet(struct fx *f, unsigned n, uint32_t counter)
{
	struct eim_store_identity id = {.eim_id = "eim-1",
					.key_ref = "keys/eim-1.pem"};
	char psk_id[32];
	uint8_t key[16];
	int err;

	err = eim_store_identity_add(f->s, &id);
	ck_assert_msg(err == 0 || err == EIM_EEXIST, "%s",
		      eim_store_errmsg(f->s));
	for (unsigned i = 1; i <= n; i++) {
		struct eim_store_device_new d = {0};

		fx_eid(i, d.eid);
		d.eim_id = "eim-1";
		snprintf(psk_id, sizeof(psk_id), "dev%u", i);
		memset(key, (int)i, sizeof(key));
		d.psk_identity = (const uint8_t *)psk_id;
		d.psk_identity_len = strlen(psk_id);
		d.psk_key = key;
		d.psk_key_len = sizeof(key);
		d.initial_counter = counter;
		err = eim_store_device_add(f->s, &d);
		ck_assert_msg(err == 0, "%s", eim_store_errmsg(f->s));
	}
}

static inline struct eim_store_enqueue_req fx_req(unsigned dev,
						  const char *summary)
{
	struct eim_store_enqueue_req r = {0};

	fx_eid(dev, r.eid);
	r.kind = "psmo";
	r.summary = summary;
	return r;
}

/* A verified result of device `dev` for eim-1's package with `counter`. */
static inline struct eim_store_result_in
fx_result(unsigned dev, uint32_t counter, const char *bytes)
{
	struct eim_store_result_in in = {0};

	fx_eid(dev, in.eid);
	in.eim_id = "eim-1";
	in.counter = counter;
	in.bytes = (const uint8_t *)bytes;
	in.len = strlen(bytes);
	in.summary = "ok";
	in.verified = true;
	in.seq_number = -1;
	return in;
}

struct fx_audit_count {
	const char *action; /* NULL: every entry */
	int n;
};

static inline int fx_audit_cb(void *ctx, const struct eim_store_audit *a)
{
	struct fx_audit_count *c = ctx;

	if (!c->action || strcmp(a->action, c->action) == 0)
		c->n++;
	return 0;
}

/* How many audit entries `s` holds with that action (NULL: all). */
static inline int fx_n_audit(struct eim_store *s, const char *action)
{
	struct fx_audit_count c = {action, 0};
	struct eim_store_filter f;

	eim_store_filter_init(&f);
	ck_assert_int_eq(eim_store_audit_list(s, &f, fx_audit_cb, &c), 0);
	return c.n;
}

static inline int fx_run(SRunner *sr)
{
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

#endif
