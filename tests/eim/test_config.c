/* Unit tests for eim/eim_config and eim/eim_json: defaults, file, errors. */
#include "common/eim_err.h"
#include "eim/eim_config.h"
#include "eim_test.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

static int load(struct eim_config *c, const char *json, struct eim_json_err *e)
{
	return eim_config_load_json(c, json, strlen(json), e);
}

START_TEST(defaults)
{
	struct eim_config c;

	ck_assert_int_eq(eim_config_init(&c), 0);
	ck_assert_str_eq(c.db_path, "./eim.db");
	ck_assert_str_eq(c.listen, "[::]:5684");
	ck_assert_ptr_null(c.coap);
	ck_assert(c.sync_full);
	ck_assert_int_eq(c.dtls.cid_length, 8);
	ck_assert_int_eq(c.counter_warning, 8000000);
	ck_assert_int_eq(c.stats_interval_s, 300);
	eim_config_done(&c);
}
END_TEST

START_TEST(full_file_applies)
{
	struct eim_config c;
	struct eim_json_err e = {{0}};
	const char *json =
		"{\"db\": \"/tmp/x.db\", \"coap\": \"127.0.0.1:5683\",\n"
		" \"listen\": \"[::1]:15684\", \"log_level\": \"debug\",\n"
		" \"synchronous\": \"normal\", \"require_verified_results\": "
		"true,\n"
		" \"default_validity\": 3600, \"counter_warning\": 100,\n"
		" \"refresh_on_state_change\": false, \"stats_interval\": 0,\n"
		" \"dtls\": {\"cid_length\": 4, \"cid_node_id\": \"0a\","
		" \"max_sessions\": 10, \"keylog_file\": \"k.log\","
		" \"require_extended_master_secret\": true,"
		" \"prefer_x25519\": true, \"suites\":"
		" [\"TLS_PSK_WITH_AES_128_GCM_SHA256\","
		" \"TLS_PSK_WITH_AES_128_CCM_8\"]}}";

	ck_assert_int_eq(eim_config_init(&c), 0);
	ck_assert_int_eq(load(&c, json, &e), 0);
	ck_assert_str_eq(c.db_path, "/tmp/x.db");
	ck_assert_str_eq(c.coap, "127.0.0.1:5683");
	ck_assert_str_eq(c.listen, "[::1]:15684");
	ck_assert_int_eq(c.log_level, EIM_LOG_DEBUG);
	ck_assert(!c.sync_full);
	ck_assert(c.require_verified_results);
	ck_assert_int_eq(c.default_validity_s, 3600);
	ck_assert_int_eq(c.counter_warning, 100);
	ck_assert(!c.refresh_on_state_change);
	ck_assert_int_eq(c.stats_interval_s, 0);
	ck_assert_int_eq(c.dtls.cid_length, 4);
	ck_assert_str_eq(c.dtls.cid_node_id, "0a");
	ck_assert_int_eq(c.dtls.max_sessions, 10);
	ck_assert(c.dtls.prefer_x25519);
	ck_assert_uint_eq(c.dtls.n_suites, 2);
	ck_assert_uint_eq(c.dtls.suites[0], 0x00a8);
	ck_assert_uint_eq(c.dtls.suites[1], 0xc0a8);
	ck_assert_str_eq(c.dtls.keylog_file, "k.log");
	ck_assert(c.dtls.require_ems);
	eim_config_done(&c);
}
END_TEST

/* Each bad document gives its own specific message. */
static const struct {
	const char *json;
	int rc;
	const char *msg;
} bad[] = {
	{"{\"db\": 5}", EIM_EINVAL, "db: must be a string"},
	{"{\"db\": \"\"}", EIM_EINVAL, "db: must not be empty"},
	{"{\"dbb\": \"x\"}", EIM_EINVAL, "dbb: unknown setting"},
	{"{\"dtls\": {\"cid_lenght\": 2}}", EIM_EINVAL,
	 "dtls.cid_lenght: unknown setting"},
	{"{\"dtls\": {\"cid_length\": 21}}", EIM_EINVAL,
	 "dtls.cid_length: must be an integer from 0 to 20"},
	{"{\"dtls\": {\"cid_length\": 2.5}}", EIM_EINVAL,
	 "dtls.cid_length: must be an integer"},
	{"{\"dtls\": {\"cid_node_id\": \"zz\"}}", EIM_EINVAL,
	 "dtls.cid_node_id: must be hex"},
	{"{\"dtls\": {\"cid_length\": 2, \"cid_node_id\": \"0a0b\"}}",
	 EIM_EINVAL, "dtls.cid_node_id"},
	{"{\"dtls\": []}", EIM_EINVAL, "dtls: must be an object"},
	{"{\"coap\": \"localhost:5683\"}", EIM_EINVAL,
	 "coap: 'localhost:5683' is not ADDRESS:PORT"},
	{"{\"coap\": \"127.0.0.1:-1\"}", EIM_EINVAL, "coap: '127.0.0.1:-1'"},
	{"{\"coap\": \"127.0.0.1:70000\"}", EIM_EINVAL, "coap:"},
	{"{\"coap\": \"[::1:5683\"}", EIM_EINVAL, "coap:"},
	{"{\"log_level\": \"loud\"}", EIM_EINVAL,
	 "log_level: 'loud' is not one of"},
	{"{\"synchronous\": \"off\"}", EIM_EINVAL, "synchronous: 'off'"},
	{"{\"dtls\": {\"suites\": []}}", EIM_EINVAL,
	 "dtls.suites: must be a list of 1 to 6 cipher suite names"},
	{"{\"dtls\": {\"suites\": \"TLS_PSK_WITH_AES_128_CCM_8\"}}", EIM_EINVAL,
	 "dtls.suites: must be a list"},
	{"{\"dtls\": {\"suites\": [\"TLS_PSK_WITH_AES_128_CCM_8\", "
	 "\"TLS_RSA_WITH_NULL_MD5\"]}}",
	 EIM_EINVAL, "dtls.suites[1]: not one of TLS_PSK_WITH_AES_128_CCM_8"},
	{"{\"dtls\": {\"suites\": [7]}}", EIM_EINVAL,
	 "dtls.suites[0]: not one"},
	{"{\"dtls\": {\"suites\": [\"TLS_PSK_WITH_AES_128_CCM_8\", "
	 "\"TLS_PSK_WITH_AES_128_CCM_8\"]}}",
	 EIM_EINVAL, "dtls.suites[1]: TLS_PSK_WITH_AES_128_CCM_8 twice"},
	{"{\"stats_interval\": -1}", EIM_EINVAL,
	 "stats_interval: must be an integer from 0 to 86400"},
	{"{\"counter_warning\": 8388608}", EIM_EINVAL,
	 "counter_warning: must be an integer from 1 to 8388607"},
	{"{\"require_verified_results\": 1}", EIM_EINVAL,
	 "require_verified_results: must be true or false"},
	{"[1, 2]", EIM_EINVAL, "document: must be an object"},
	{"{\"db\": \"x\",\n \"coap\" \"1\"}", EIM_EMALFORMED,
	 "line 2, column 9: JSON syntax error near '\"1\"}'"},
	{"{\"db\": \"x\"", EIM_EMALFORMED,
	 "line 1, column 10: JSON syntax error"},
	{"{} {}", EIM_EMALFORMED,
	 "line 1, column 4: unexpected text after the JSON document"},
	{"", EIM_EMALFORMED, "line 1, column 1: unexpected end of JSON"},
};

START_TEST(bad_documents)
{
	struct eim_config c;
	struct eim_json_err e = {{0}};

	ck_assert_int_eq(eim_config_init(&c), 0);
	int rc = load(&c, bad[_i].json, &e);
	ck_assert_msg(rc == bad[_i].rc, "%s: rc %d, want %d (%s)", bad[_i].json,
		      rc, bad[_i].rc, e.msg);
	ck_assert_msg(strstr(e.msg, bad[_i].msg), "%s: message '%s' lacks '%s'",
		      bad[_i].json, e.msg, bad[_i].msg);
	eim_config_done(&c);
}
END_TEST

START_TEST(deep_nesting_refused)
{
	char doc[400];
	struct eim_json_err e = {{0}};
	cJSON *root = NULL;

	memset(doc, '[', 200);
	memset(doc + 200, ']', 200);
	ck_assert_int_eq(eim_json_parse(doc, sizeof(doc), &root, &e),
			 EIM_EMALFORMED);
	ck_assert(strstr(e.msg, "nested deeper"));
	ck_assert_int_eq(eim_json_parse("{\"a\":\"\0\"}", 9, &root, &e),
			 EIM_EMALFORMED);
}
END_TEST

START_TEST(file_errors_name_the_file)
{
	const char *dir = eim_test_tmpdir();
	char path[512];
	struct eim_config c;
	struct eim_json_err e = {{0}};
	FILE *f;

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/eim.json", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\n  \"dtls\": {\n    \"cid_length\": -1\n  }\n}\n", f);
	fclose(f);
	ck_assert_int_eq(eim_config_init(&c), 0);
	ck_assert_int_eq(eim_config_load_file(&c, path, &e), EIM_EINVAL);
	ck_assert(
		strstr(e.msg, "eim.json: dtls.cid_length: must be an integer"));
	ck_assert_int_eq(eim_config_load_file(&c, "/nonexistent/x.json", &e),
			 EIM_EIO);
	ck_assert(strstr(e.msg, "/nonexistent/x.json: No such file"));

	f = fopen(path, "w");
	fputs("{\"db\": \"a.db\", \"coap\": \"[::1]:5683\"}\n", f);
	fclose(f);
	ck_assert_int_eq(eim_config_load_file(&c, path, &e), 0);
	ck_assert_str_eq(c.db_path, "a.db");
	ck_assert_str_eq(c.coap, "[::1]:5683");
	eim_config_done(&c);
	eim_test_rmdir(dir);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("eim_config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, full_file_applies);
	tcase_add_loop_test(tc, bad_documents, 0,
			    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, deep_nesting_refused);
	tcase_add_test(tc, file_errors_name_the_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
