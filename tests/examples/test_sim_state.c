/*
 * test_sim_state.c - the simulated eUICC survives a "reboot" through its
 * JSON state file: counters, tokens, profiles, the rollback grant and the
 * unacknowledged results come back, replays stay refused, and a damaged
 * file is refused with a message naming the member.
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "examples/eim_sim_euicc.h"
#include "examples/eim_sim_pki.h"
#include "examples/eim_sim_state.h"
#include "proto/eim_epr.h"
#include "proto/eim_ids.h"
#include "proto/eim_pkg.h"
#include "eim_test.h"

#include <cjson/cJSON.h>
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define A "eim-a.example"
#define S(str) ((struct eim_slice){(const uint8_t *)(str), strlen(str)})

static struct eim_sim_pki pki;
static struct eim_sim_cred cred;
static struct eim_sig_key *key_a, *euicc_pub;
static uint8_t eid[EIM_EID_LEN], P1[EIM_ICCID_LEN], P2[EIM_ICCID_LEN];
static struct eim_sim_euicc *e;
static char dir[512], path[600];

static void setup(void)
{
	struct eim_sim_profile p;
	struct eim_eim_config cfg;
	struct eim_buf pk;
	bool has;
	int64_t tok;

	ck_assert_int_eq(eim_sim_euicc_new(eid, cred.key, cred.key_len,
					   cred.cert, cred.cert_len,
					   pki.eum.cert, pki.eum.cert_len, &e),
			 0);
	memset(&p, 0, sizeof(p));
	memcpy(p.iccid, P1, EIM_ICCID_LEN);
	strcpy(p.name, "One");
	p.profile_class = EIM_SIM_CLASS_OPERATIONAL;
	ck_assert_int_eq(eim_sim_euicc_add_profile(e, &p), 0);
	memcpy(p.iccid, P2, EIM_ICCID_LEN);
	strcpy(p.name, "Two");
	p.fallback_allowed = true;
	ck_assert_int_eq(eim_sim_euicc_add_profile(e, &p), 0);
	eim_buf_init(&pk);
	ck_assert_int_eq(eim_sig_key_spki(key_a, &pk), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.eim_id = S(A);
	cfg.fqdn = S("a.example");
	cfg.pk_kind = EIM_KEYDATA_SPKI;
	cfg.pk = (struct eim_slice){pk.p, pk.len};
	cfg.has_token = true;
	cfg.token = -1;
	ck_assert_int_eq(eim_sim_euicc_add_eim(e, &cfg, &has, &tok), 0);
	ck_assert(has);
	eim_buf_done(&pk);
	snprintf(dir, sizeof(dir), "%s", eim_test_tmpdir());
	snprintf(path, sizeof(path), "%s/device.json", dir);
}

static void teardown(void)
{
	eim_sim_euicc_free(e);
	eim_test_rmdir(dir);
}

/* Sends one PSMO package from A; returns the decoded result kind/code. */
static int64_t send(struct eim_sim_euicc *to, int64_t counter,
		    struct eim_psmo o, struct eim_epr *res, struct eim_buf *out)
{
	struct eim_pkg pkg;
	struct eim_buf b;

	memset(&pkg, 0, sizeof(pkg));
	pkg.eim_id = S(A);
	memcpy(pkg.eid, eid, EIM_EID_LEN);
	pkg.counter = counter;
	pkg.psmo = &o;
	pkg.n_ops = 1;
	eim_buf_init(&b);
	ck_assert_int_eq(eim_pkg_build(&pkg, 1, key_a, &b), 0);
	eim_buf_reset(out);
	ck_assert_int_eq(eim_sim_euicc_load_package(to, b.p, b.len, out, NULL),
			 0);
	eim_buf_done(&b);
	ck_assert_int_eq(eim_epr_decode(out->p, out->len, NULL, res), 0);
	ck_assert_int_eq(eim_epr_verify(res, 1, euicc_pub), 0);
	return res->kind == EIM_EPR_RESULT_SIGNED ? res->results[0].code
						  : res->error_code;
}

START_TEST(round_trip_and_reboot)
{
	struct eim_sim_euicc *back = NULL;
	struct eim_psmo o;
	struct eim_epr res;
	struct eim_buf out;
	struct stat st;
	char err[256];
	char *a, *b;

	eim_buf_init(&out);
	memset(&o, 0, sizeof(o));
	o.kind = EIM_PSMO_ENABLE;
	memcpy(o.iccid, P1, EIM_ICCID_LEN);
	ck_assert_int_eq(send(e, 1, o, &res, &out), 0);
	eim_epr_done(&res);
	o.rollback = true;
	memcpy(o.iccid, P2, EIM_ICCID_LEN);
	ck_assert_int_eq(send(e, 2, o, &res, &out), 0);
	eim_epr_done(&res);
	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(eim_sim_euicc_execute_fallback(e), 6);
	strcpy(e->default_smdp, "dp.example");
	/* Every optional part of the state, so the round trip covers it. */
	e->immediate_enable = true;
	memcpy(e->immediate_smdp_oid, "\x2b\x06\x01", 3);
	e->immediate_smdp_oid_len = 3;
	strcpy(e->immediate_smdp_address, "smdp.example");
	strcpy(e->root_smds, "smds.example");
	e->eims[0].id_type = 2;
	memcpy(e->eims[0].protocols, "\x05\x60", 2);
	e->eims[0].protocols_len = 2;
	e->eims[0].indirect_download = true;
	e->eims[0].tls_kind = EIM_KEYDATA_SPKI;
	memcpy(e->eims[0].tls_data, e->eims[0].key_data,
	       e->eims[0].key_data_len);
	e->eims[0].tls_data_len = e->eims[0].key_data_len;
	e->fallback_active = true;
	memcpy(e->fallback_return, P1, EIM_ICCID_LEN);
	e->profiles[1].fallback = true;
	e->state_change_cause = 1;
	e->profiles[0].aid_len = 16;
	memset(e->profiles[0].aid, 0xa0, 16);
	ck_assert_int_eq(eim_sim_state_save(e, path), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(eim_sim_state_load(path, &back, err, sizeof(err)), 0);
	/* Same state: its JSON is identical. */
	a = eim_sim_state_to_json(e);
	b = eim_sim_state_to_json(back);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a, b);
	ck_assert(eim_test_contains(a, "BEGIN EC PRIVATE KEY"));
	eim_free_secret(a, strlen(a));
	eim_free_secret(b, strlen(b));
	ck_assert_int_eq(back->eims[0].counter, 2);
	ck_assert_int_eq(back->eims[0].token, 1);
	ck_assert_uint_eq(back->n_results, 2);
	ck_assert_mem_eq(back->results[1].der, e->results[1].der,
			 e->results[1].len);
	ck_assert(back->profiles[1].enabled);
	ck_assert(back->rollback.granted);
	ck_assert(back->fallback_active);
	ck_assert_uint_eq(back->eims[0].tls_data_len, e->eims[0].key_data_len);
	ck_assert_str_eq(back->immediate_smdp_address, "smdp.example");
	/* After the reboot: the old counter is a replay, rollback works. */
	memset(&o, 0, sizeof(o));
	o.kind = EIM_PSMO_GET_RAT;
	ck_assert_int_eq(send(back, 2, o, &res, &out), 4);
	eim_epr_done(&res);
	eim_buf_reset(&out);
	ck_assert_int_eq(eim_sim_euicc_rollback(back, &out), 0);
	ck_assert(back->profiles[0].enabled);
	ck_assert_int_eq(send(back, 3, o, &res, &out), -1);
	ck_assert_int_eq(res.seq, 4); /* 1, 2, the rollback's 3, then 4 */
	eim_epr_done(&res);
	/* Saving again replaces the file. */
	ck_assert_int_eq(eim_sim_state_save(back, path), 0);
	eim_sim_euicc_free(back);
	ck_assert_int_eq(eim_sim_state_load(path, &back, err, sizeof(err)), 0);
	ck_assert_int_eq(back->next_seq, 5);
	eim_sim_euicc_free(back);
	eim_buf_done(&out);
}
END_TEST

/* Rewrites one member of the saved JSON and loads it back. */
static int load_modified(const char *obj, const char *name, cJSON *value,
			 char *err, size_t cap)
{
	char *text = eim_sim_state_to_json(e), *mod;
	cJSON *root = cJSON_Parse(text), *o = root;
	struct eim_sim_euicc *back = NULL;
	int rc;

	ck_assert_ptr_nonnull(root);
	if (obj) {
		o = cJSON_GetObjectItemCaseSensitive(root, obj);
		if (cJSON_IsArray(o))
			o = cJSON_GetArrayItem(o, 0);
	}
	if (value)
		cJSON_ReplaceItemInObjectCaseSensitive(o, name, value);
	else
		cJSON_AddNumberToObject(o, name, 1);
	mod = cJSON_PrintUnformatted(root);
	rc = eim_sim_state_from_json(mod, strlen(mod), &back, err, cap);
	ck_assert_ptr_null(rc == 0 ? NULL : back);
	eim_sim_euicc_free(back);
	cJSON_free(mod);
	cJSON_Delete(root);
	eim_free_secret(text, strlen(text));
	return rc;
}

START_TEST(damaged_files_refused)
{
	struct eim_sim_euicc *back = NULL;
	char err[256];
	FILE *f;
	char *text;

	ck_assert_int_eq(load_modified("eims", "counter",
				       cJSON_CreateNumber(8388608), err,
				       sizeof(err)),
			 EIM_EMALFORMED);
	ck_assert_str_eq(err, "eims[0].counter: not an integer in 0..8388607");
	ck_assert_int_eq(load_modified("eims", "counter",
				       cJSON_CreateString("7"), err,
				       sizeof(err)),
			 EIM_EMALFORMED);
	ck_assert_str_eq(err, "eims[0].counter: missing or not a number");
	ck_assert_int_eq(load_modified("eims", "countr", NULL, err,
				       sizeof(err)),
			 EIM_EMALFORMED);
	ck_assert_str_eq(err, "eims[0]: unknown member 'countr'");
	ck_assert_int_eq(load_modified(NULL, "format",
				       cJSON_CreateString("eim-sim-euicc/2"),
				       err, sizeof(err)),
			 EIM_EVERSION);
	ck_assert_int_eq(
		load_modified(NULL, "eid",
			      cJSON_CreateString(
				      "89049032123451234512345678901234"),
			      err, sizeof(err)),
		EIM_EMALFORMED);
	ck_assert(eim_test_contains(err, "not a valid EID"));
	ck_assert_int_eq(load_modified("profiles", "iccid",
				       cJSON_CreateString("12ab"), err,
				       sizeof(err)),
			 EIM_EMALFORMED);
	ck_assert_str_eq(err, "profiles[0].iccid: '12ab' is not an ICCID");
	ck_assert_int_eq(load_modified("eims", "key",
				       cJSON_CreateString("3001"), err,
				       sizeof(err)),
			 EIM_EMALFORMED);
	ck_assert_str_eq(err, "eims[0].key: not a public key or certificate");
	ck_assert_int_eq(load_modified(NULL, "key",
				       cJSON_CreateString("no pem here"), err,
				       sizeof(err)),
			 EIM_EMALFORMED);
	ck_assert_str_eq(err, "key: not PEM");
	/* A truncated file, and a missing one. */
	ck_assert_int_eq(eim_sim_state_save(e, path), 0);
	text = eim_sim_state_to_json(e);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fwrite(text, 1, strlen(text) / 2, f);
	fclose(f);
	eim_free_secret(text, strlen(text));
	ck_assert_int_eq(eim_sim_state_load(path, &back, err, sizeof(err)),
			 EIM_EMALFORMED);
	ck_assert(eim_test_contains(err, "not JSON"));
	ck_assert_int_eq(eim_sim_state_load("/nonexistent/x.json", &back, err,
					    sizeof(err)),
			 EIM_EIO);
	ck_assert(eim_test_contains(err, "No such file"));
	ck_assert_int_eq(eim_sim_state_save(e, "/nonexistent/x.json"), EIM_EIO);
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
	Suite *s = suite_create("sim_state");
	TCase *tc = tcase_create("state");
	SRunner *sr;
	char text[33];
	int failed;

	MUST_EQ(eim_sim_pki_generate(&pki), 0);
	MUST_EQ(eim_eid_complete("890490321234512345123456789012", text), 0);
	MUST_EQ(eim_eid_parse(text, eid), 0);
	MUST_EQ(eim_sim_pki_issue_euicc(&pki, text, &cred), 0);
	MUST_EQ(eim_sig_key_generate(EIM_SIG_P256, &key_a), 0);
	MUST_EQ(eim_sig_key_load(cred.cert, cred.cert_len, &euicc_pub), 0);
	MUST_EQ(eim_iccid_parse("89440000000000000011", P1), 0);
	MUST_EQ(eim_iccid_parse("89440000000000000029", P2), 0);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, round_trip_and_reboot);
	tcase_add_test(tc, damaged_files_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	eim_sim_cred_done(&cred);
	eim_sim_pki_done(&pki);
	eim_sig_key_free(key_a);
	eim_sig_key_free(euicc_pub);
	return failed ? 1 : 0;
}
