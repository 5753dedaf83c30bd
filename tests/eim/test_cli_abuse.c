/*
 * Abuse through the `eim` command line (issue 10): input that names the
 * wrong device, the wrong eIM identity or a package that is not there, and
 * input from files someone else wrote (operation files, fleet lists,
 * device imports) carrying control characters or too many bytes.
 *
 * The CLI runs with the operator's rights (SECURITY.md: whoever can open
 * the database can do everything), so what is checked here is that every
 * such input is refused with one clear line, that the refusal changes
 * nothing in the store (a fingerprint of every row of every table, audit
 * trail included, is the same before and after), and that no refusal
 * echoes a control byte to the operator's terminal or log.
 */
#include "eim_test.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EID_A "89049032123451234512345678901235" /* eim-one */
#define EID_B "89044045116727494800000004479366" /* eim-two */
#define EID_U "89049032123451234512345678901332" /* valid, not added */
#define PSK "000102030405060708090a0b0c0d0e0f"
#define ICCID "89440012345678901234"

static const char *dir;
static char db[600];

#define eim(...) eim_test_eim(db, __VA_ARGS__, NULL)

static void ok(struct eim_test_proc p)
{
	ck_assert_msg(p.status == 0, "eim: %s", p.err);
	eim_test_proc_done(&p);
}

/* Every row of every table, in a fixed order, as one string (owned). */
static char *fingerprint(void)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *tables = NULL;
	size_t len = 0, cap = 1 << 16;
	char *out = malloc(cap);

	ck_assert_ptr_nonnull(out);
	out[0] = 0;
	ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(
		sqlite3_prepare_v2(h,
				   "SELECT name FROM sqlite_master "
				   "WHERE type = 'table' ORDER BY name",
				   -1, &tables, NULL),
		SQLITE_OK);
	while (sqlite3_step(tables) == SQLITE_ROW) {
		char sql[256];
		sqlite3_stmt *rows = NULL;

		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" ORDER BY 1",
			 (const char *)sqlite3_column_text(tables, 0));
		ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &rows, NULL),
				 SQLITE_OK);
		while (sqlite3_step(rows) == SQLITE_ROW) {
			for (int c = 0; c < sqlite3_column_count(rows); c++) {
				const void *b = sqlite3_column_blob(rows, c);
				size_t n =
					(size_t)sqlite3_column_bytes(rows, c);

				while (len + n + 4 > cap) {
					cap *= 2;
					out = realloc(out, cap);
					ck_assert_ptr_nonnull(out);
				}
				if (n)
					memcpy(out + len, b, n);
				len += n;
				memcpy(out + len, "|", 1);
				len++;
			}
			out[len++] = '\n';
		}
		sqlite3_finalize(rows);
	}
	sqlite3_finalize(tables);
	sqlite3_close(h);
	out[len] = 0;
	return out;
}

static char *before;

/* A refused command: its exit code, one line on stderr naming the
 * problem, no control byte in it (only line ends), and the store exactly
 * as before. */
static void refused(struct eim_test_proc p, int code, const char *msg)
{
	char *after;
	size_t lines = 0;

	ck_assert_msg(p.status == code, "exit %d, want %d: %s", p.status, code,
		      p.err);
	ck_assert_msg(eim_test_contains(p.err, msg), "stderr '%s' lacks '%s'",
		      p.err, msg);
	for (size_t i = 0; i < p.err_len; i++) {
		unsigned char c = (unsigned char)p.err[i];

		if (c == '\n') {
			lines++;
			continue;
		}
		ck_assert_msg(c >= 0x20 && c != 0x7f,
			      "control byte %02x at %zu in '%s'", c, i, p.err);
		ck_assert_msg(!(c == 0xc2 && i + 1 < p.err_len &&
				(unsigned char)p.err[i + 1] >= 0x80 &&
				(unsigned char)p.err[i + 1] <= 0x9f),
			      "C1 control at %zu in '%s'", i, p.err);
	}
	/* one line; a fleet submit adds how many were queued (none) */
	ck_assert_msg(lines == 1 ||
			      (lines == 2 && eim_test_contains(p.err, "0 of ")),
		      "%zu lines: '%s'", lines, p.err);
	after = fingerprint();
	ck_assert_msg(strcmp(before, after) == 0,
		      "the store changed after a refused command: %s", msg);
	free(after);
	eim_test_proc_done(&p);
}

static const char *file(const char *name, const char *text)
{
	static char path[8][700];
	static unsigned k;
	char *at = path[k++ % 8];
	FILE *f;

	snprintf(at, sizeof(path[0]), "%s/%s", dir, name);
	f = fopen(at, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return at;
}

static void setup(void)
{
	dir = eim_test_tmpdir();
	snprintf(db, sizeof(db), "%s/eim.db", dir);
	ok(eim("init", "--eim-id", "eim-one"));
	ok(eim("identity", "add", "--eim-id", "eim-two"));
	ok(eim("device", "add", EID_A, "--psk-identity", "sensor-a", "--psk",
	       PSK, "--eim", "eim-one"));
	ok(eim("device", "add", EID_B, "--psk-identity", "sensor-b", "--psk",
	       PSK, "--eim", "eim-two"));
	ok(eim("submit", EID_A, "enable", "--iccid", ICCID));
	ok(eim("submit", EID_B, "disable", "--iccid", ICCID));
	before = fingerprint();
}

static void teardown(void)
{
	free(before);
	before = NULL;
	eim_test_rmdir(dir);
}

/* An eIM identity cannot sign for a device it is not associated with,
 * neither on the command line nor in an operation file, and renewing
 * through an eIM the device does not know is refused. */
START_TEST(foreign_eim_identity_is_refused)
{
	refused(eim("submit", EID_A, "enable", "--iccid", ICCID, "--eim",
		    "eim-two"),
		1, "has no association with eIM 'eim-two'");
	refused(eim("submit", EID_B, "enable", "--iccid", ICCID, "--eim",
		    "eim-one"),
		1, "has no association with eIM 'eim-one'");
	refused(eim("submit", EID_A, "enable", "--iccid", ICCID, "--eim",
		    "eim-three"),
		1, "eim-three");
	refused(eim("renew", EID_A, "--eim", "eim-one", "--via", "eim-two"), 1,
		"is not associated with " EID_A);
}
END_TEST

/* A file whose last package names another fleet's device, an unknown
 * device or a foreign eIM queues nothing at all, not even the packages
 * before it. */
START_TEST(file_naming_a_wrong_device_queues_nothing)
{
	const char *unknown =
		file("unknown.json",
		     "{\"packages\": [{\"eid\": \"" EID_A "\", \"operations\": "
		     "[{\"op\": \"disable\", \"iccid\": \"" ICCID "\"}]},"
		     "{\"eid\": \"" EID_U "\", \"operations\": [{\"op\": "
		     "\"disable\", \"iccid\": \"" ICCID "\"}]}]}");
	const char *foreign =
		file("foreign.json",
		     "[{\"eid\": \"" EID_A "\", \"operations\": [{\"op\": "
		     "\"disable\", \"iccid\": \"" ICCID "\"}]},"
		     "{\"eid\": \"" EID_B "\", \"eim_id\": \"eim-one\", "
		     "\"operations\": [{\"op\": \"disable\", \"iccid\": "
		     "\"" ICCID "\"}]}]");
	const char *devices =
		file("devices.txt", EID_A "\n" EID_U "\n" EID_B "\n");

	refused(eim("submit", "--file", unknown), 1,
		"packages[1]: device " EID_U ": no such device");
	refused(eim("submit", "--file", foreign), 1,
		"[1]: device " EID_B " has no association with eIM 'eim-one'");
	refused(eim("submit", "--devices", devices, "disable", "--iccid",
		    ICCID),
		1, EID_U);
}
END_TEST

/* Package ids that do not exist, or are not ids, change nothing. */
START_TEST(bad_package_ids_are_refused)
{
	refused(eim("cancel", "999"), 1, "no package 999");
	refused(eim("show", "999"), 1, "no package 999");
	refused(eim("cancel", "0"), 2, "must be an integer from 1");
	refused(eim("cancel", "--", "-1"), 2, "must be an integer from 1");
	refused(eim("cancel", "1x"), 2, "must be an integer from 1");
	refused(eim("cancel", "1 OR 1=1"), 2, "must be an integer from 1");
	refused(eim("cancel", "99999999999999999999999"), 2,
		"must be an integer from 1");
	refused(eim("cancel", "1", "2"), 2, "exactly one package id");
	refused(eim("queue", EID_U), 1, "no device " EID_U);
	refused(eim("results", EID_U), 1, "no device " EID_U);
	refused(eim("audit", EID_U), 1, "no device " EID_U);
	refused(eim("device", "show", EID_U), 1, EID_U);
}
END_TEST

/* Control characters in names, EIDs, ICCIDs and files are refused, and
 * the refusal shows them escaped. */
START_TEST(control_characters_are_refused_and_escaped)
{
	refused(eim("identity", "add", "--eim-id", "bad\nid"), 2,
		"eimId 'bad\\x0aid'");
	refused(eim("identity", "add", "--eim-id", "bad\x1b[31mid"), 2,
		"eimId 'bad\\x1b[31mid'");
	refused(eim("identity", "add", "--eim-id", "bad\x7fid"), 2,
		"eimId 'bad\\x7fid'");
	refused(eim("identity", "add", "--eim-id", "bad\xc2\x9bid"), 2,
		"eimId 'bad\\u009bid'");
	refused(eim("identity", "add", "--eim-id", "bad\xc0\xafid"), 2,
		"printable characters");
	refused(eim("device", "add", EID_U, "--psk-identity", "id\nforged",
		    "--psk", PSK, "--eim", "eim-one"),
		2, "--psk-identity must be 1 to 128 bytes");
	refused(eim("device", "add", EID_U, "--psk-identity", "id\xc2\x85x",
		    "--psk", PSK, "--eim", "eim-one"),
		2, "no control characters");
	refused(eim("device", "import",
		    file("fleet.csv", EID_U ",ev\x1bil," PSK "\n"), "--eim",
		    "eim-one"),
		1, "line 1: bad PSK identity");
	refused(eim("queue", "8904903212345123451234567890123\x1b"), 2,
		"'8904903212345123451234567890123\\x1b' is not an EID");
	refused(eim("submit", EID_A, "enable", "--iccid",
		    "8944001234567890123\n"),
		2, "1.iccid: must be UTF-8 without control characters");
	refused(eim("submit", "--devices",
		    file("devs.txt", "8904903212345123451234567890123"
				     "\x1b]0;pwned\x07\n"),
		    "disable", "--iccid", ICCID),
		1, "\\x1b]0;pwned\\x07");
	refused(eim("submit", "--file",
		    file("op.json", "[{\"eid\": \"" EID_A "\", \"operations\": "
				    "[{\"op\": \"en\\u001babl\\ne\"}]}]")),
		1, "unknown operation 'en\\x1babl\\x0ae'");
	/* the hint ends the line once */
	refused(eim("submit", EID_A, "en\033able"), 2,
		"unknown operation 'en\\x1bable' (see 'eim submit "
		"--help')\n");
	refused(eim("submit", EID_A, "set-default-dp", "--address",
		    "smdp.example\r\nX-Forged: 1"),
		2, "must be UTF-8 without control characters");
	refused(eim("submit", "--file",
		    file("addr.json",
			 "[{\"eid\": \"" EID_A "\", \"operations\": [{\"op\": "
			 "\"set-default-dp\", \"address\": "
			 "\"a\\u009b2Jb\"}]}]")),
		1, "must be UTF-8 without control characters");
}
END_TEST

/* Files are read up to a bound, and a file over it is refused whole.
 * (--devices lists are read line by line up to 10,000,000 EIDs:
 * tests/eim/test_cli_submit.) */
START_TEST(oversized_files_are_refused)
{
	char *big = malloc((2u << 20) + 1);
	char path[700];
	FILE *f;

	ck_assert_ptr_nonnull(big);
	for (size_t i = 0; i < (2u << 20); i += 33)
		memcpy(big + i, EID_A "\n",
		       i + 33 <= (2u << 20) ? 33 : (2u << 20) - i);
	big[2u << 20] = 0;
	refused(eim("device", "import", file("big.csv", big)), 1,
		"larger than 1 MiB");
	free(big);
	/* operation files: 16 MiB, and 64 levels of nesting */
	snprintf(path, sizeof(path), "%s/huge.json", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputc('[', f);
	for (size_t i = 0; i < (17u << 20) / 4; i++)
		fputs("1,  ", f);
	fputs("1]", f);
	fclose(f);
	refused(eim("submit", "--file", path), 1, "larger than");
	char deep[300] = {0};

	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	refused(eim("submit", "--file", file("deep.json", deep)), 1,
		"nested deeper than 64 levels");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli_abuse");
	TCase *tc = tcase_create("cli");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, foreign_eim_identity_is_refused);
	tcase_add_test(tc, file_naming_a_wrong_device_queues_nothing);
	tcase_add_test(tc, bad_package_ids_are_refused);
	tcase_add_test(tc, control_characters_are_refused_and_escaped);
	tcase_add_test(tc, oversized_files_are_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
