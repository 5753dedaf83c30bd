/*
 * Integration tests of `eim submit` on the real binary and a real database:
 * every operation kind, counters, signatures that verify with the identity's
 * public key, --file and --devices, and every error path with its exit code
 * and one-line message. Nothing is queued when anything is wrong.
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "eim_test.h"
#include "proto/eim_pkg.h"
#include "proto/eim_sig.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dir;
static char db[512];

#define EID1 "89049032123451234512345678901235"
#define EID2 "89044045116727494800000004479366"
#define ICCID "89440012345678901234"
#define PSK "000102030405060708090a0b0c0d0e0f"

/* eim WORDS... with EIM_DB set to this test's database */
#define eim(...) eim_test_eim(db, __VA_ARGS__)
/* the same, which must succeed */
#define ok(...)                                                                \
	do {                                                                   \
		struct eim_test_proc p_ = eim(__VA_ARGS__);                    \
		ck_assert_msg(p_.status == 0, "exit %d: %s", p_.status,        \
			      p_.err);                                         \
		eim_test_proc_done(&p_);                                       \
	} while (0)

static int lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

#define EXPECT_ERR(p, code, msg)                                               \
	do {                                                                   \
		ck_assert_msg((p).status == (code), "exit %d, want %d: %s",    \
			      (p).status, (code), (p).err);                    \
		ck_assert_msg(eim_test_contains((p).err, (msg)),               \
			      "stderr '%s' lacks '%s'", (p).err, (msg));       \
		ck_assert_int_eq(lines((p).err), 1);                           \
		eim_test_proc_done(&(p));                                      \
	} while (0)

/* Number of packages in the queue (via eim queue --json). */
static int queue_len(void)
{
	struct eim_test_proc p = eim("queue", "--json", NULL);
	ck_assert_int_eq(p.status, 0);
	cJSON *a = cJSON_Parse(p.out);
	ck_assert_ptr_nonnull(a);
	int n = cJSON_GetArraySize(a);
	cJSON_Delete(a);
	eim_test_proc_done(&p);
	return n;
}

static void setup(void)
{
	dir = eim_test_tmpdir();
	ck_assert_ptr_nonnull(dir);
	snprintf(db, sizeof(db), "%s/eim.db", dir);
	ok("init", "--eim-id", "eim-one", NULL);
	ok("device", "add", EID1, "--psk-identity", "d1", "--psk", PSK, NULL);
	ok("device", "add", EID2, "--psk-identity", "d2", "--psk", PSK,
	   "--counter", "100", "--association-token", "5", NULL);
}

static void teardown(void)
{
	eim_test_rmdir(dir);
}

static struct eim_sig_key *load_key(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t buf[4096];
	struct eim_sig_key *k = NULL;

	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	ck_assert_int_eq(eim_sig_key_load(buf, n, &k), 0);
	return k;
}

START_TEST(every_kind_counters_and_signatures)
{
	ok("submit", EID1, "enable", "--iccid", ICCID, "--rollback", NULL);
	ok("submit", EID1, "disable", "--iccid", ICCID, "+", "delete",
	   "--iccid", ICCID, NULL);
	ok("submit", EID1, "list-profiles", "--tags", "5A,4F", NULL);
	ok("submit", EID1, "get-rat", "+", "unset-fallback", "+",
	   "set-fallback", "--iccid", ICCID, "+", "set-default-dp",
	   "smdp.example.com", "+", "configure-immediate-enable", "--enable",
	   NULL);
	ok("submit", EID1, "list-eim", "+", "delete-eim", "--eim-id", "old",
	   NULL);
	ok("identity", "add", "--eim-id", "eim-two", NULL);
	ok("submit", EID1, "add-eim", "--identity", "eim-two", "--counter", "0",
	   "--protocols", "retrieve-coaps", NULL);
	ok("submit", EID1, "update-eim", "--eim-id", "eim-two", "--fqdn",
	   "eim.example.com", NULL);
	ok("submit", EID1, "download", "--activation-code",
	   "LPA:1$smdp.example.com$MATCH", NULL);
	ok("submit", EID1, "get-euicc-data", "--tags",
	   "euicc-certificate,eum-certificate", NULL);
	/* the second device starts at counter 100 with token 5 */
	ok("submit", EID2, "get-rat", NULL);

	struct eim_test_proc p = eim("queue", "--json", NULL);
	ck_assert_int_eq(p.status, 0);
	cJSON *arr = cJSON_Parse(p.out);
	eim_test_proc_done(&p);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 10);

	char keypath[600];
	snprintf(keypath, sizeof(keypath), "%s/eim-one.key.pem", dir);
	struct eim_sig_key *key = load_key(keypath);
	int verified = 0;
	for (int i = 0; i < 10; i++) {
		cJSON *pk = cJSON_GetArrayItem(arr, i);
		int id = cJSON_GetObjectItem(pk, "id")->valueint;
		int counter = cJSON_GetObjectItem(pk, "counter")->valueint;
		const char *eid = cJSON_GetObjectItem(pk, "eid")->valuestring;
		const char *kind = cJSON_GetObjectItem(pk, "kind")->valuestring;
		ck_assert_str_eq(cJSON_GetObjectItem(pk, "state")->valuestring,
				 "queued");
		/* counters increase by one per package, per device */
		ck_assert_int_eq(counter, strcmp(eid, EID1) == 0 ? i + 1 : 101);

		char ids[16];
		snprintf(ids, sizeof(ids), "%d", id);
		struct eim_test_proc s = eim("show", ids, "--json", NULL);
		ck_assert_int_eq(s.status, 0);
		cJSON *sj = cJSON_Parse(s.out);
		const char *hex = cJSON_GetObjectItem(sj, "bytes")->valuestring;
		uint8_t bytes[4096];
		size_t n = 0;
		ck_assert_int_eq(eim_hex_decode(hex, strlen(hex), bytes,
						sizeof(bytes), &n),
				 0);
		if (strcmp(kind, "psmo") == 0 || strcmp(kind, "eco") == 0) {
			struct eim_pkg_view v;
			ck_assert_int_eq(eim_pkg_decode(bytes, n, NULL, &v), 0);
			ck_assert_int_eq(v.pkg.counter, counter);
			ck_assert_uint_eq(v.pkg.txid.len, 16);
			int64_t token = strcmp(eid, EID2) == 0 ? 5 : 0;
			ck_assert_int_eq(eim_pkg_verify(&v, token, key), 0);
			/* the wrong token must not verify */
			ck_assert_int_ne(eim_pkg_verify(&v, token + 1, key), 0);
			eim_pkg_view_done(&v);
			verified++;
		} else if (strcmp(kind, "download") == 0) {
			ck_assert_uint_eq(bytes[0], 0xBF);
			ck_assert_uint_eq(bytes[1], 0x54);
		} else {
			ck_assert_str_eq(kind, "euicc-data");
			ck_assert_uint_eq(bytes[0], 0xBF);
			ck_assert_uint_eq(bytes[1], 0x52);
		}
		cJSON_Delete(sj);
		eim_test_proc_done(&s);
	}
	ck_assert_int_eq(verified, 8);
	eim_sig_key_free(key);
	cJSON_Delete(arr);
}
END_TEST

START_TEST(file_and_fleet)
{
	char path[600], devs[600], cmd[1500];
	FILE *f;

	snprintf(path, sizeof(path), "%s/ops.json", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s/examples/ops.json' '%s'",
		 getenv("EIM_SOURCE_ROOT"), path);
	ck_assert_int_eq(system(cmd), 0);
	struct eim_test_proc p = eim("submit", "--file", path, "--json", NULL);
	ck_assert_msg(p.status == 0, "%s", p.err);
	cJSON *a = cJSON_Parse(p.out);
	ck_assert_int_eq(cJSON_GetArraySize(a), 4);
	cJSON_Delete(a);
	eim_test_proc_done(&p);

	/* 200 devices, then the same package for all of them */
	snprintf(devs, sizeof(devs), "%s/eids.txt", dir);
	f = fopen(devs, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "# fleet\n");
	for (int i = 0; i < 200; i++) {
		char prefix[31], eid[33];
		snprintf(prefix, sizeof(prefix), "8904903200000000000000%08d",
			 i);
		/* check digits: 98 - (N*100 mod 97) */
		unsigned r = 0;
		for (int k = 0; k < 30; k++)
			r = (r * 10 + (unsigned)(prefix[k] - '0')) % 97;
		r = (r * 100) % 97;
		snprintf(eid, sizeof(eid), "%s%02u", prefix, 98 - r);
		fprintf(f, "%s\n", eid);
		char psk_id[16];
		snprintf(psk_id, sizeof(psk_id), "fleet%d", i);
		ok("device", "add", eid, "--psk-identity", psk_id, "--psk", PSK,
		   NULL);
	}
	fclose(f);
	p = eim("submit", "--devices", devs, "list-profiles", NULL);
	ck_assert_msg(p.status == 0, "%s", p.err);
	ck_assert(eim_test_contains(p.out, "queued 200 packages (psmo) for 200 "
					   "devices"));
	eim_test_proc_done(&p);
	ck_assert_int_eq(queue_len(), 204);

	/* listings by state; cancel only what is still queued */
	p = eim("queue", "--state", "sent", "--json", NULL);
	ck_assert_str_eq(p.out, "[]\n");
	eim_test_proc_done(&p);
	p = eim("queue", "--state", "queued", "--limit", "3", NULL);
	ck_assert_int_eq(lines(p.out), 3);
	eim_test_proc_done(&p);
	p = eim("queue", "--state", "lost", NULL);
	EXPECT_ERR(p, 2, "--state 'lost' is not one of queued, sent");
	ok("cancel", "1", NULL);
	p = eim("cancel", "1", NULL);
	EXPECT_ERR(p, 1, "package 1 was already sent or finished");
	p = eim("cancel", "99999", NULL);
	EXPECT_ERR(p, 1, "no package 99999");
	p = eim("show", "1", "--json", NULL);
	ck_assert(eim_test_contains(p.out, "\"state\":\"cancelled\""));
	eim_test_proc_done(&p);
	p = eim("audit", "--json", "--limit", "1000", NULL);
	ck_assert(eim_test_contains(p.out, "\"action\":\"cancel\""));
	eim_test_proc_done(&p);
}
END_TEST

START_TEST(errors_change_nothing)
{
	char path[600];
	FILE *f;

	struct eim_test_proc p = eim("submit", EID1, NULL);
	EXPECT_ERR(p, 2, "give an EID and an operation");
	p = eim("submit", "1234", "get-rat", NULL);
	EXPECT_ERR(p, 2, "'1234' is not an EID");
	p = eim("submit", "89049032123451234512345678901234", "get-rat", NULL);
	EXPECT_ERR(p, 2, "check digits do not match");
	p = eim("submit", "89033023426200000000000000000028", "get-rat", NULL);
	EXPECT_ERR(p, 1, "89033023426200000000000000000028");
	p = eim("submit", EID1, "enable", "--iccid", "12AB", NULL);
	EXPECT_ERR(p, 2, "'12AB' is not an ICCID");
	p = eim("submit", EID1, "frobnicate", NULL);
	EXPECT_ERR(p, 2, "unknown operation 'frobnicate'");
	p = eim("submit", EID1, "get-rat", "--eim", "nobody", NULL);
	EXPECT_ERR(p, 1, "nobody");
	p = eim("submit", EID1, "get-rat", "--valid-for", "soon", NULL);
	EXPECT_ERR(p, 2, "--valid-for 'soon' is not a duration");

	/* bad JSON: the line and what is wrong */
	snprintf(path, sizeof(path), "%s/bad.json", dir);
	f = fopen(path, "w");
	fputs("{\"packages\": [\n  {\"eid\": \"" EID1 "\",\n"
	      "   \"operations\": [{\"op\": \"get-rat\"},]}\n]}\n",
	      f);
	fclose(f);
	p = eim("submit", "--file", path, NULL);
	EXPECT_ERR(p, 1, "bad.json: line 3, column");
	f = fopen(path, "w");
	fputs("[{\"eid\": \"" EID1
	      "\", \"operations\": [{\"op\": \"get-rat\"}]},"
	      " {\"eid\": \"" EID1 "\", \"operations\": "
	      "[{\"op\": \"enable\", \"iccid\": \"8944\"}]}]",
	      f);
	fclose(f);
	p = eim("submit", "--file", path, NULL);
	EXPECT_ERR(p, 1,
		   "packages[1].operations[0].iccid: '8944' is not an ICCID");
	/* the valid first package of that file was not queued either */
	ck_assert_int_eq(queue_len(), 0);
}
END_TEST

START_TEST(counter_exhausted)
{
	ok("device", "add", "89044045116727494800000000000003",
	   "--psk-identity", "d3", "--psk", PSK, "--counter", "8388606", NULL);
	struct eim_test_proc p =
		eim("submit", "89044045116727494800000000000003", "get-rat",
		    "--json", NULL);
	ck_assert_msg(p.status == 0, "%s", p.err);
	ck_assert(eim_test_contains(p.out, "\"counter\":8388607"));
	ck_assert(eim_test_contains(p.out, "\"counter_warning\":true"));
	ck_assert(eim_test_contains(p.err, "warning"));
	eim_test_proc_done(&p);
	p = eim("submit", "89044045116727494800000000000003", "get-rat", NULL);
	EXPECT_ERR(p, 1, "renew the association");
	ck_assert_int_eq(queue_len(), 1);
}
END_TEST

/*
 * --devices on several signing threads: 300 devices, three packages each
 * (--jobs 3, 1 and the default), every package signed over its own counter
 * and verifying with the identity's key, counters 1, 2, 3 per device in
 * queue order, and the --json lines matching the database.
 */
START_TEST(fleet_on_signing_threads)
{
	char devs[600], csv[600], keypath[600], dbq[700];
	FILE *f, *g;

	snprintf(devs, sizeof(devs), "%s/eids.txt", dir);
	snprintf(csv, sizeof(csv), "%s/fleet.csv", dir);
	f = fopen(devs, "w");
	g = fopen(csv, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(g);
	for (int i = 0; i < 300; i++) {
		char prefix[31];
		snprintf(prefix, sizeof(prefix), "8904903200000000000000%08d",
			 i + 1000);
		unsigned r = 0;
		for (int k = 0; k < 30; k++)
			r = (r * 10 + (unsigned)(prefix[k] - '0')) % 97;
		r = (r * 100) % 97;
		fprintf(f, "%s%02u\n", prefix, 98 - r);
		fprintf(g, "%s%02u,jobs%d,%s\n", prefix, 98 - r, i, PSK);
	}
	fclose(f);
	fclose(g);
	ok("device", "import", csv, NULL);

	struct eim_test_proc p = eim("submit", "--devices", devs, "--jobs", "3",
				     "list-profiles", "--json", NULL);
	ck_assert_msg(p.status == 0, "%s", p.err);
	cJSON *a = cJSON_Parse(p.out);
	ck_assert_int_eq(cJSON_GetArraySize(a), 300);
	for (int i = 0; i < 300; i++)
		ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(a, i),
						     "counter")
					 ->valueint,
				 1);
	cJSON_Delete(a);
	eim_test_proc_done(&p);
	ok("submit", "--devices", devs, "--jobs", "1", "get-rat", NULL);
	ok("submit", "--devices", devs, "enable", "--iccid", ICCID, NULL);
	p = eim("submit", EID1, "--jobs", "2", "get-rat", NULL);
	EXPECT_ERR(p, 2, "--jobs applies to --devices only");
	p = eim("submit", "--devices", devs, "--jobs", "0", "get-rat", NULL);
	EXPECT_ERR(p, 2, "--jobs '0' is not a number of threads in 1..256");
	p = eim("submit", "--devices", devs, "--jobs", "2x", "get-rat", NULL);
	EXPECT_ERR(p, 2, "--jobs '2x' is not a number of threads");
	ck_assert_int_eq(queue_len(), 900);

	/* an EID list is not bound by the 1 MiB of other input files */
	char big[600];
	snprintf(big, sizeof(big), "%s/big.txt", dir);
	f = fopen(big, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%s\n", EID1);
	for (int i = 0; i < 12000; i++)
		fprintf(f, "# %0100d\n", i);
	ck_assert_int_gt(ftell(f), 1 << 20);
	fprintf(f, "1234\n");
	fclose(f);
	p = eim("submit", "--devices", big, "get-rat", NULL);
	EXPECT_ERR(p, 1, "big.txt: line 12002: '1234' is not an EID");
	f = fopen(big, "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 12000; i++)
		fprintf(f, "# %0100d\n", i);
	fclose(f);
	p = eim("submit", "--devices", big, "get-rat", NULL);
	EXPECT_ERR(p, 1, "big.txt: no EIDs in the file");
	f = fopen(big, "a");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "  %s , trailing words\n", EID1);
	fclose(f);
	ok("submit", "--devices", big, "get-rat", NULL);
	ck_assert_int_eq(queue_len(), 901);

	/* every package, straight from the database, in queue order */
	snprintf(keypath, sizeof(keypath), "%s/eim-one.key.pem", dir);
	struct eim_sig_key *key = load_key(keypath);
	sqlite3 *db3 = NULL;
	sqlite3_stmt *st = NULL;
	snprintf(dbq, sizeof(dbq), "%s", db);
	ck_assert_int_eq(sqlite3_open_v2(dbq, &db3, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(
		sqlite3_prepare_v2(db3,
				   "SELECT d.eid, p.counter, p.bytes, p.txid"
				   " FROM package p JOIN device d ON d.id ="
				   " p.device_id ORDER BY p.id LIMIT 900",
				   -1, &st, NULL),
		SQLITE_OK);
	int n = 0, per[300] = {0};
	uint8_t prev_txid[16] = {0};
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct eim_pkg_view v;
		const uint8_t *eid = sqlite3_column_blob(st, 0);
		int counter = sqlite3_column_int(st, 1);
		ck_assert_int_eq(eim_pkg_decode(sqlite3_column_blob(st, 2),
						(size_t)sqlite3_column_bytes(st,
									     2),
						NULL, &v),
				 0);
		ck_assert_int_eq(v.pkg.counter, counter);
		ck_assert_mem_eq(v.pkg.eid, eid, 16);
		ck_assert_int_eq(eim_pkg_verify(&v, 0, key), 0);
		ck_assert_uint_eq(v.pkg.txid.len, 16);
		ck_assert_mem_eq(v.pkg.txid.p, sqlite3_column_blob(st, 3), 16);
		ck_assert(memcmp(v.pkg.txid.p, prev_txid, 16) != 0);
		memcpy(prev_txid, v.pkg.txid.p, 16);
		eim_pkg_view_done(&v);
		/* the devices are the last 300 rows of the device table */
		int dev = n % 300;
		per[dev]++;
		ck_assert_int_eq(counter, per[dev]);
		n++;
	}
	ck_assert_int_eq(n, 900);
	ck_assert_int_eq(sqlite3_finalize(st), SQLITE_OK);
	st = NULL;
	/* no two packages share a transaction id */
	ck_assert_int_eq(sqlite3_prepare_v2(db3,
					    "SELECT count(DISTINCT txid) FROM"
					    " package",
					    -1, &st, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 901);
	sqlite3_finalize(st);
	sqlite3_close(db3);
	eim_sig_key_free(key);
}
END_TEST

static Suite *submit_suite(void)
{
	Suite *s = suite_create("cli_submit");
	TCase *tc = tcase_create("submit");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, every_kind_counters_and_signatures);
	tcase_add_test(tc, file_and_fleet);
	tcase_add_test(tc, errors_change_nothing);
	tcase_add_test(tc, counter_exhausted);
	tcase_add_test(tc, fleet_on_signing_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(submit_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
