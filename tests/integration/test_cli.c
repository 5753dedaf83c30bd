/*
 * Integration tests of the `eim` binary's command-line contract: the
 * subcommand table, --help everywhere, exit codes 0/1/2 and one-line errors.
 */
#include "eim_test.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

static struct eim_test_proc run_eim(const char *a1, const char *a2,
				    const char *a3)
{
	char *argv[5] = {(char *)eim_test_bin(), (char *)a1, (char *)a2,
			 (char *)a3, NULL};
	struct eim_test_proc p;

	ck_assert_int_eq(eim_test_run(argv, NULL, NULL, 0, &p), 0);
	return p;
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

START_TEST(help_lists_commands)
{
	struct eim_test_proc p = run_eim("help", NULL, NULL);

	ck_assert_int_eq(p.status, 0);
	ck_assert(eim_test_contains(p.out, "usage: eim COMMAND"));
	ck_assert(eim_test_contains(p.out, "  version"));
	ck_assert(eim_test_contains(p.out, "  help"));
	ck_assert_uint_eq(p.err_len, 0);
	eim_test_proc_done(&p);
}
END_TEST

START_TEST(no_arguments_is_usage_error)
{
	struct eim_test_proc p = run_eim(NULL, NULL, NULL);

	ck_assert_int_eq(p.status, 2);
	ck_assert(eim_test_contains(p.out, "commands:"));
	eim_test_proc_done(&p);
}
END_TEST

START_TEST(version_flag_and_command)
{
	struct eim_test_proc p = run_eim("--version", NULL, NULL);

	ck_assert_int_eq(p.status, 0);
	ck_assert(strncmp(p.out, "eim ", 4) == 0);
	ck_assert(eim_test_contains(p.out, "wolfSSL"));
	eim_test_proc_done(&p);

	p = run_eim("version", "--json", NULL);
	ck_assert_int_eq(p.status, 0);
	ck_assert(eim_test_contains(p.out, "\"eim\":\""));
	ck_assert(eim_test_contains(p.out, "\"sqlite\":\"3."));
	eim_test_proc_done(&p);
}
END_TEST

START_TEST(every_command_has_help)
{
	/* `eim help` names each command; each answers --help with exit 0. */
	struct eim_test_proc list = run_eim("help", NULL, NULL);
	const char *line = strstr(list.out, "commands:\n");
	int seen = 0;

	ck_assert_ptr_nonnull(line);
	line = strchr(line, '\n') + 1;
	while (strncmp(line, "  ", 2) == 0) {
		char name[64] = {0};
		ck_assert_int_eq(sscanf(line, " %63s", name), 1);
		struct eim_test_proc p = run_eim(name, "--help", NULL);
		ck_assert_msg(p.status == 0, "eim %s --help exited %d", name,
			      p.status);
		ck_assert_msg(eim_test_contains(p.out, "usage: eim "),
			      "eim %s --help printed no usage", name);
		eim_test_proc_done(&p);
		p = run_eim("help", name, NULL);
		ck_assert_int_eq(p.status, 0);
		eim_test_proc_done(&p);
		seen++;
		line = strchr(line, '\n') + 1;
	}
	ck_assert_int_ge(seen, 2);
	eim_test_proc_done(&list);
}
END_TEST

START_TEST(unknown_command_is_one_line_usage_error)
{
	struct eim_test_proc p = run_eim("frobnicate", NULL, NULL);

	ck_assert_int_eq(p.status, 2);
	ck_assert(eim_test_contains(p.err, "unknown command 'frobnicate'"));
	ck_assert_int_eq(count_lines(p.err), 1);
	ck_assert_uint_eq(p.out_len, 0);
	eim_test_proc_done(&p);
}
END_TEST

START_TEST(bad_option_names_the_option)
{
	struct eim_test_proc p = run_eim("version", "--yaml", NULL);

	ck_assert_int_eq(p.status, 2);
	ck_assert(eim_test_contains(p.err,
				    "eim version: unknown argument '--yaml'"));
	ck_assert_int_eq(count_lines(p.err), 1);
	eim_test_proc_done(&p);

	p = run_eim("help", "nosuch", NULL);
	ck_assert_int_eq(p.status, 2);
	ck_assert(eim_test_contains(p.err, "unknown command 'nosuch'"));
	eim_test_proc_done(&p);
}
END_TEST

static Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("contract");

	tcase_add_test(tc, help_lists_commands);
	tcase_add_test(tc, no_arguments_is_usage_error);
	tcase_add_test(tc, version_flag_and_command);
	tcase_add_test(tc, every_command_has_help);
	tcase_add_test(tc, unknown_command_is_one_line_usage_error);
	tcase_add_test(tc, bad_option_names_the_option);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cli_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
