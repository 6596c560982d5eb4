/*
 * tests/unit/test_check.c - libfs/check: verdicts and exit statuses, findings
 * naming the inode, JSON output, and robustness on inputs that are not file
 * systems (garbage, truncated images).  Corpus images come from
 * $E4LAB_SRCDIR/../shared/corpus/e2fsprogs; those tests skip without it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <zlib.h>

#include "libfs/check/chk.h"

static char workdir[] = "/tmp/e4lab-test-check-XXXXXX";
static const struct chk_opts quiet = { 0, 0, NULL };

/* The corpus image of test @name, or NULL (the test then skips). */
static const char *corpus(const char *name, char *buf, size_t size)
{
	const char *src = getenv("E4LAB_SRCDIR");

	snprintf(buf, size, "%s/../shared/corpus/e2fsprogs/%s/image.gz", src ? src : ".", name);
	return access(buf, R_OK) == 0 ? buf : NULL;
}

static const struct chk_finding *find_code(const struct chk_report *r, const char *code)
{
	for (size_t i = 0; i < r->count; i++)
		if (!strcmp(r->findings[i].code, code))
			return &r->findings[i];
	return NULL;
}

static void test_missing_file_is_operational_error(void **state)
{
	struct chk_report r;

	assert_true(chk_image("/nonexistent/e4lab.img", &quiet, &r) < 0);
	assert_int_equal(chk_exit_status(&r), 8);
	chk_report_free(&r);
}

static void test_garbage_is_not_a_file_system(void **state)
{
	char path[256];
	FILE *f;
	struct chk_report r;

	snprintf(path, sizeof(path), "%s/garbage.img", workdir);
	f = fopen(path, "wb");
	assert_non_null(f);
	for (unsigned i = 0; i < 1 << 20; i++)
		fputc((int)((i * 2654435761U) >> 13), f);
	fclose(f);
	chk_image(path, &quiet, &r);
	assert_int_equal(chk_exit_status(&r), 8);
	chk_report_free(&r);
}

static void test_clean_image(void **state)
{
	char buf[512];
	const char *img = corpus("f_16384_block", buf, sizeof(buf));
	struct chk_report r;

	if (!img)
		skip();
	assert_int_equal(chk_image(img, &quiet, &r), 0);
	assert_int_equal(r.verdict, CHK_CLEAN);
	assert_int_equal(chk_exit_status(&r), 0);
	chk_report_free(&r);
}

static void test_zeroed_extent_header_names_inode(void **state)
{
	char buf[512];
	const char *img = corpus("f_zeroed_ext_header", buf, sizeof(buf));
	const struct chk_finding *f;
	struct chk_report r;

	if (!img)
		skip();
	assert_int_equal(chk_image(img, &quiet, &r), 0);
	assert_int_equal(r.verdict, CHK_CORRUPT);
	assert_int_equal(chk_exit_status(&r), 4);
	f = find_code(&r, "EXTENT_BAD_MAGIC");
	assert_non_null(f);
	assert_int_equal(f->where, CHK_AT_INODE);
	assert_int_equal(f->num, 12);
	chk_report_free(&r);
}

static void test_journal_replay_needs_recovery(void **state)
{
	char buf[512];
	const char *img = corpus("f_journal", buf, sizeof(buf));
	struct chk_report r;

	if (!img)
		skip();
	assert_int_equal(chk_image(img, &quiet, &r), 0);
	assert_int_equal(r.verdict, CHK_NEEDS_RECOVERY);
	assert_int_equal(chk_exit_status(&r), 0);
	assert_non_null(find_code(&r, "JOURNAL_NEEDS_RECOVERY"));
	assert_non_null(find_code(&r, "JOURNAL_REPLAY_END"));
	chk_report_free(&r);
}

/* Every prefix length of a real image: no crash, no hang, some verdict. */
static void test_truncated_images(void **state)
{
	char buf[512], path[256];
	const char *img = corpus("f_h_normal", buf, sizeof(buf));
	static unsigned char data[1 << 20];
	gzFile g;
	int n;

	if (!img)
		skip();
	g = gzopen(img, "rb");
	assert_non_null(g);
	n = gzread(g, data, sizeof(data));
	gzclose(g);
	assert_true(n > 0);
	snprintf(path, sizeof(path), "%s/cut.img", workdir);
	for (int len = 1024; len <= n; len += n / 7) {
		FILE *f = fopen(path, "wb");
		struct chk_report r;

		assert_non_null(f);
		assert_int_equal(fwrite(data, 1, (size_t)len, f), (size_t)len);
		fclose(f);
		chk_image(path, &quiet, &r);
		assert_true(chk_exit_status(&r) == 4 || chk_exit_status(&r) == 8);
		chk_report_free(&r);
	}
}

static void test_json_escapes(void **state)
{
	struct chk_finding f = { "DIR_BAD_NAME", CHK_ERROR, CHK_AT_INODE, 12, (char *)"a\"b\\c\n" };
	struct chk_report r = { &f, 1, 1, 0, CHK_CORRUPT, 0 };
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);

	chk_print_json(m, &r);
	fclose(m);
	assert_non_null(strstr(out, "\"verdict\": \"corrupt\""));
	assert_non_null(strstr(out, "\"inode\": 12"));
	assert_non_null(strstr(out, "a\\\"b\\\\c\\u000a"));
	free(out);
}

static void test_exit_status_mapping(void **state)
{
	struct chk_report r = { 0 };

	r.verdict = CHK_NEEDS_RECOVERY;
	assert_int_equal(chk_exit_status(&r), 0);
	r.verdict = CHK_CORRUPT;
	assert_int_equal(chk_exit_status(&r), 4);
	r.op_error = -EIO;
	assert_int_equal(chk_exit_status(&r), 8);
	assert_string_equal(chk_verdict_name(CHK_NEEDS_RECOVERY), "needs-recovery");
}

static int setup(void **state)
{
	return mkdtemp(workdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", workdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_file_is_operational_error),
		cmocka_unit_test(test_garbage_is_not_a_file_system),
		cmocka_unit_test(test_clean_image),
		cmocka_unit_test(test_zeroed_extent_header_names_inode),
		cmocka_unit_test(test_journal_replay_needs_recovery),
		cmocka_unit_test(test_truncated_images),
		cmocka_unit_test(test_json_escapes),
		cmocka_unit_test(test_exit_status_mapping),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
