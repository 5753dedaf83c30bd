/*
 * Unit tests for eim/eim_ops: operations from JSON and from command-line
 * words, their validation messages, and the DER proto makes of them.
 */
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "eim/eim_ops.h"
#include "proto/eim_pkg.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#define ICCID "89440012345678901234"

/* Builds ops from argv-style words; returns the rc of the first failure. */
static int from_words(struct eim_ops *ops, const char *line,
		      struct eim_json_err *err)
{
	char buf[1024], *argv[64];
	int argc = 0, rc;
	cJSON *arr = cJSON_CreateArray();

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *t = strtok(buf, " "); t && argc < 64; t = strtok(NULL, " "))
		argv[argc++] = t;
	rc = eim_ops_args_to_json(argc, argv, arr, err);
	for (int i = 0; rc == 0 && i < cJSON_GetArraySize(arr); i++) {
		char where[32];
		snprintf(where, sizeof(where), "operations[%d]", i);
		rc = eim_ops_add_json(ops, cJSON_GetArrayItem(arr, i), where,
				      err);
	}
	cJSON_Delete(arr);
	return rc;
}

/* Encodes ops as euiccPackageSigned and returns the hex of the op list. */
static void encode_hex(const struct eim_ops *ops, char *hex, size_t cap)
{
	struct eim_pkg pkg;
	struct eim_buf b;

	memset(&pkg, 0, sizeof(pkg));
	pkg.eim_id.p = (const uint8_t *)"e";
	pkg.eim_id.len = 1;
	pkg.counter = 1;
	pkg.is_eco = ops->kind == EIM_OPS_ECO;
	pkg.psmo = ops->psmo;
	pkg.eco = ops->eco;
	pkg.n_ops = ops->n;
	eim_buf_init(&b);
	ck_assert_int_eq(eim_pkg_encode_signed(&pkg, &b), 0);
	ck_assert_uint_lt(2 * b.len + 1, cap);
	eim_hex_encode(b.p, b.len, hex);
	eim_buf_done(&b);
}

START_TEST(words_to_psmos)
{
	struct eim_ops ops;
	struct eim_json_err err = {{0}};
	char hex[1024];

	ck_assert_int_eq(eim_ops_init(&ops), 0);
	ck_assert_int_eq(from_words(&ops,
				    "disable --iccid 89440012345678901234 + "
				    "enable --iccid=8944001234567890123 "
				    "--rollback",
				    &err),
			 0);
	ck_assert_int_eq(ops.kind, EIM_OPS_PSMO);
	ck_assert_uint_eq(ops.n, 2);
	ck_assert_int_eq(ops.psmo[0].kind, EIM_PSMO_DISABLE);
	ck_assert_int_eq(ops.psmo[1].kind, EIM_PSMO_ENABLE);
	ck_assert(ops.psmo[1].rollback);
	encode_hex(&ops, hex, sizeof(hex));
	/* A0 { A4 { 5A 10 <iccid> } A3 { 5A <iccid> 05 00 } } */
	ck_assert_msg(strstr(hex, "a0"
				  "1e"
				  "a40c5a0a98440021436587092143"
				  "a30e5a0a984400214365870921f30500"),
		      "%s", hex);
	char *s = cJSON_PrintUnformatted(ops.summary);
	ck_assert_str_eq(s, "[{\"op\":\"disable\",\"iccid\":\"" ICCID "\"},"
			    "{\"op\":\"enable\",\"iccid\":"
			    "\"8944001234567890123\",\"rollback\":true}]");
	cJSON_free(s);
	eim_ops_done(&ops);
}
END_TEST

START_TEST(words_other_psmos)
{
	struct eim_ops ops;
	struct eim_json_err err = {{0}};
	char hex[1024];

	ck_assert_int_eq(eim_ops_init(&ops), 0);
	ck_assert_int_eq(
		from_words(&ops,
			   "list-profiles --tags 5A,4F,9F70 + get-rat + "
			   "set-default-dp smdp.example.com + unset-fallback + "
			   "configure-immediate-enable --enable --smdp-oid "
			   "2.999.3 + set-fallback --iccid " ICCID,
			   &err),
		0);
	ck_assert_uint_eq(ops.n, 6);
	ck_assert_uint_eq(ops.psmo[0].tag_list.len, 4);
	ck_assert_int_eq(ops.psmo[2].kind, EIM_PSMO_SET_DEFAULT_DP);
	ck_assert_uint_eq(ops.psmo[2].dp_address.len, 16);
	ck_assert_uint_eq(ops.psmo[4].smdp_oid.len, 3);
	encode_hex(&ops, hex, sizeof(hex));
	ck_assert_msg(strstr(hex, "5c045a4f9f70"), "%s", hex);
	eim_ops_done(&ops);
}
END_TEST

START_TEST(json_ecos)
{
	struct eim_ops ops;
	struct eim_json_err err = {{0}};
	const char *doc =
		"[{\"op\":\"delete-eim\",\"eim_id\":\"old\"},"
		"{\"op\":\"list-eim\"},"
		"{\"op\":\"update-eim\",\"eim_id\":\"x\","
		"\"counter\":100,\"protocols\":[\"retrieve-coaps\"]}]";
	cJSON *arr = cJSON_Parse(doc);
	char hex[1024];

	ck_assert_int_eq(eim_ops_init(&ops), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(eim_ops_add_json(&ops,
						  cJSON_GetArrayItem(arr, i),
						  "op", &err),
				 0);
	ck_assert_int_eq(ops.kind, EIM_OPS_ECO);
	/* retrieve-coaps is bit 1: one byte, 6 unused bits, 0100 0000 */
	ck_assert_uint_eq(ops.eco[2].cfg.protocols.len, 2);
	ck_assert_uint_eq(ops.eco[2].cfg.protocols.p[0], 6);
	ck_assert_uint_eq(ops.eco[2].cfg.protocols.p[1], 0x40);
	encode_hex(&ops, hex, sizeof(hex));
	ck_assert_msg(strstr(hex, "a90580036f6c64"), "%s", hex); /* deleteEim */
	eim_ops_done(&ops);
	cJSON_Delete(arr);
}
END_TEST

START_TEST(download_and_data_alone)
{
	struct eim_ops ops;
	struct eim_json_err err = {{0}};

	ck_assert_int_eq(eim_ops_init(&ops), 0);
	ck_assert_int_eq(from_words(&ops,
				    "get-euicc-data --tags "
				    "euicc-info2,euicc-certificate,A5",
				    &err),
			 0);
	ck_assert_int_eq(ops.kind, EIM_OPS_EUICC_DATA);
	ck_assert_uint_eq(ops.data_tags.len, 4);
	ck_assert_uint_eq(ops.data_tags.p[0], 0xBF);
	ck_assert_uint_eq(ops.data_tags.p[1], 0x22);
	ck_assert_uint_eq(ops.data_tags.p[2], 0xA6);
	eim_ops_done(&ops);

	ck_assert_int_eq(eim_ops_init(&ops), 0);
	ck_assert_int_eq(from_words(&ops,
				    "download --activation-code "
				    "LPA:1$smdp.example.com$ABC + get-rat",
				    &err),
			 EIM_EINVAL);
	ck_assert_msg(strstr(err.msg, "cannot share a package"), "%s", err.msg);
	ck_assert_str_eq(ops.activation_code, "LPA:1$smdp.example.com$ABC");
	eim_ops_done(&ops);
}
END_TEST

static const struct {
	const char *words;
	const char *msg;
} bad_words[] = {
	{"enabel --iccid " ICCID, "unknown operation 'enabel'"},
	{"enable --iccd " ICCID, "enable: unknown option '--iccd'"},
	{"enable --iccid", "enable: option '--iccid' needs a value"},
	{"enable", "operations[0].iccid: is required"},
	{"enable --iccid 8944", "operations[0].iccid: '8944' is not an ICCID"},
	{"enable --iccid " ICCID " --rollback=yes",
	 "enable: option '--rollback' takes no value"},
	{"enable --iccid " ICCID " --iccid " ICCID,
	 "enable: option '--iccid' given twice"},
	{"get-rat extra", "get-rat: unexpected argument 'extra'"},
	{"get-rat + list-eim", "operations[1]: 'list-eim' cannot share"},
	{"list-profiles --tags ZZ",
	 "operations[0].tags: 'ZZ' is not a hex tag"},
	{"list-profiles --tags 9F", "'9F' is not a hex tag"},
	{"list-profiles --iccid " ICCID " --profile-class test",
	 "give at most one of iccid, aid, profile_class"},
	{"list-profiles --profile-class prod",
	 "'prod' is not test, provisioning or operational"},
	{"configure-immediate-enable --smdp-oid 1.99",
	 "smdp_oid: '1.99' is not a dotted OID"},
	{"delete-eim", "operations[0].eim_id: is required"},
	{"add-eim --eim-id x", "add-eim needs the new eIM's key"},
	{"add-eim --identity x", "local identities are not available here"},
	{"update-eim --eim-id x", "update-eim changes nothing"},
	{"update-eim --eim-id x --counter 8388608",
	 "counter: must be an integer from 0 to 8388607"},
	{"update-eim --eim-id x --counter ten",
	 "option '--counter' must be an integer, not 'ten'"},
	{"update-eim --eim-id x --protocols retrieve-http",
	 "'retrieve-http' is not one of"},
	{"update-eim --eim-id x --association-token maybe",
	 "'maybe' is not an integer or 'request'"},
	{"update-eim --eim-id x --public-key /nonexistent.pem",
	 "public_key: cannot read '/nonexistent.pem'"},
	{"get-euicc-data", "operations[0].tags: is required"},
	{"get-euicc-data --tags everything",
	 "'everything' is not a tag name or hex tag"},
	{"download --activation-code=", "activation_code: must be 1 to 255"},
};

START_TEST(bad_word_lists)
{
	struct eim_ops ops;
	struct eim_json_err err = {{0}};

	ck_assert_int_eq(eim_ops_init(&ops), 0);
	ck_assert_int_ne(from_words(&ops, bad_words[_i].words, &err), 0);
	ck_assert_msg(strstr(err.msg, bad_words[_i].msg),
		      "'%s': message '%s' lacks '%s'", bad_words[_i].words,
		      err.msg, bad_words[_i].msg);
	eim_ops_done(&ops);
}
END_TEST

START_TEST(bad_json_members)
{
	static const struct {
		const char *json;
		const char *msg;
	} v[] = {
		{"{\"iccid\":\"" ICCID "\"}", "x.op: is required"},
		{"{\"op\":\"enable\",\"iccid\":5}",
		 "x.iccid: must be a string"},
		{"{\"op\":\"enable\",\"iccid\":\"" ICCID "\",\"rollback\":1}",
		 "x.rollback: must be true or false"},
		{"{\"op\":\"enable\",\"iccid\":\"" ICCID "\",\"force\":true}",
		 "x.force: not a parameter of 'enable'"},
		{"[1]", "x: an operation must be an object"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct eim_ops ops;
		struct eim_json_err err = {{0}};
		cJSON *j = cJSON_Parse(v[i].json);
		ck_assert_int_eq(eim_ops_init(&ops), 0);
		ck_assert_int_eq(eim_ops_add_json(&ops, j, "x", &err),
				 EIM_EINVAL);
		ck_assert_msg(strstr(err.msg, v[i].msg), "%s: '%s'", v[i].json,
			      err.msg);
		ck_assert_uint_eq(ops.n, 0);
		eim_ops_done(&ops);
		cJSON_Delete(j);
	}
}
END_TEST

START_TEST(too_many_ops)
{
	struct eim_ops ops;
	struct eim_json_err err = {{0}};
	char line[1024] = "get-rat";

	for (int i = 0; i < EIM_OPS_MAX; i++)
		strcat(line, " + get-rat");
	ck_assert_int_eq(eim_ops_init(&ops), 0);
	ck_assert_int_eq(from_words(&ops, line, &err), EIM_ETOOBIG);
	ck_assert(strstr(err.msg, "more than 16 operations"));
	eim_ops_done(&ops);
}
END_TEST

static Suite *ops_suite(void)
{
	Suite *s = suite_create("eim_ops");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, words_to_psmos);
	tcase_add_test(tc, words_other_psmos);
	tcase_add_test(tc, json_ecos);
	tcase_add_test(tc, download_and_data_alone);
	tcase_add_loop_test(tc, bad_word_lists, 0,
			    (int)(sizeof(bad_words) / sizeof(bad_words[0])));
	tcase_add_test(tc, bad_json_members);
	tcase_add_test(tc, too_many_ops);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ops_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
