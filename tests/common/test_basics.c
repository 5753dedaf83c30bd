/* Unit tests for common/: error table, logger, allocation wrapper. */
#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "common/eim_log.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

START_TEST(err_messages_and_names)
{
	ck_assert_str_eq(eim_strerror(0), "success");
	ck_assert_str_eq(eim_strerror(EIM_ENOMEM), "out of memory");
	ck_assert_str_eq(eim_errname(EIM_EMALFORMED), "EIM_EMALFORMED");
	ck_assert_str_eq(eim_strerror(-9999), "unknown error");
	ck_assert_str_eq(eim_errname(12345), "EIM_EUNKNOWN");
}
END_TEST

START_TEST(err_codes_unique)
{
	/* Every code has its own message: the table has no duplicate values. */
	static const int codes[] = {
#define ROW(name, value, msg) value,
		EIM_ERRORS(ROW)
#undef ROW
	};
	size_t n = sizeof(codes) / sizeof(codes[0]);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			ck_assert_int_ne(codes[i], codes[j]);
}
END_TEST

struct captured {
	int calls;
	enum eim_log_level level;
	char msg[256];
};

static void capture_sink(void *ctx, enum eim_log_level level, const char *msg)
{
	struct captured *c = ctx;
	c->calls++;
	c->level = level;
	snprintf(c->msg, sizeof(c->msg), "%s", msg);
}

START_TEST(log_levels_and_sink)
{
	struct captured c = {0};
	enum eim_log_level lvl;

	eim_log_set_sink(capture_sink, &c);
	eim_log_set_level(EIM_LOG_WARN);
	eim_info("not shown %d", 1);
	ck_assert_int_eq(c.calls, 0);
	eim_warn("shown %d", 2);
	ck_assert_int_eq(c.calls, 1);
	ck_assert_int_eq(c.level, EIM_LOG_WARN);
	ck_assert_str_eq(c.msg, "shown 2");
	eim_log_set_level(EIM_LOG_DEBUG);
	eim_debug("dbg %s", "x");
	ck_assert_int_eq(c.calls, 2);
	ck_assert_str_eq(c.msg, "dbg x");
	eim_log_set_sink(NULL, NULL);
	eim_log_set_level(EIM_LOG_INFO);

	ck_assert_int_eq(eim_log_level_parse("debug", &lvl), 0);
	ck_assert_int_eq(lvl, EIM_LOG_DEBUG);
	ck_assert_int_eq(eim_log_level_parse("loud", &lvl), EIM_EINVAL);
	ck_assert_str_eq(eim_log_level_name(EIM_LOG_ERROR), "error");
}
END_TEST

START_TEST(alloc_fail_after_n)
{
	void *a, *b, *c;

	eim_alloc_fail_after(2);
	a = eim_malloc(8);
	b = eim_calloc(2, 8);
	c = eim_malloc(8);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_null(c);
	ck_assert_ptr_null(eim_strdup("x"));
	ck_assert_ptr_null(eim_realloc(NULL, 4));
	ck_assert_uint_eq(eim_alloc_failed_count(), 3);
	eim_alloc_fail_reset();
	c = eim_strdup("hello");
	ck_assert_str_eq(c, "hello");
	eim_free(a);
	eim_free(b);
	eim_free(c);
	eim_free(NULL);
}
END_TEST

START_TEST(alloc_memdup_and_wipe)
{
	char secret[8] = "s3cr3t!";
	char *d = eim_memdup(secret, sizeof(secret));

	ck_assert_mem_eq(d, secret, sizeof(secret));
	eim_wipe(secret, sizeof(secret));
	for (size_t i = 0; i < sizeof(secret); i++)
		ck_assert_int_eq(secret[i], 0);
	eim_free_secret(d, sizeof(secret));
	eim_wipe(NULL, 4); /* tolerated */
}
END_TEST

static Suite *basics_suite(void)
{
	Suite *s = suite_create("common");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, err_messages_and_names);
	tcase_add_test(tc, err_codes_unique);
	tcase_add_test(tc, log_levels_and_sink);
	tcase_add_test(tc, alloc_fail_after_n);
	tcase_add_test(tc, alloc_memdup_and_wipe);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(basics_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
