/*
 * tests/unit/test_mkfs.c - e4_mkfs makes file systems e2fsck accepts, for every
 * block size and inode size, with and without a journal, with the features asked.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "e4lab.h"

static char workdir[] = "/tmp/e4lab-test-mkfs-XXXXXX";

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void mkfs_and_check(unsigned bs, unsigned isz, uint64_t size, const char *features,
			   int no_journal)
{
	struct e4_mkfs_opts o;
	char img[256];
	int ret;

	snprintf(img, sizeof(img), "%s/b%u-i%u.img", workdir, bs, isz);
	e4_mkfs_opts_init(&o);
	o.size = size;
	o.block_size = bs;
	o.inode_size = isz;
	o.features = features;
	o.no_journal = no_journal;
	o.label = "e4test";
	ret = e4_mkfs(img, &o);
	if (ret)
		fail_msg("e4_mkfs bs=%u isz=%u: %s", bs, isz, e4_strerror(ret));
	if (run("e2fsck -fn %s >/dev/null 2>&1", img) != 0) {
		run("e2fsck -fn %s", img);
		fail_msg("e2fsck -fn is not clean on bs=%u isz=%u", bs, isz);
	}
	if (!no_journal)
		assert_int_equal(run("dumpe2fs -h %s 2>/dev/null | grep -q 'features:.*has_journal'", img), 0);
	else
		assert_int_not_equal(run("dumpe2fs -h %s 2>/dev/null | grep -q 'features:.*has_journal'", img), 0);
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "dumpe2fs -h %s 2>/dev/null | "
			 "grep -q 'Block size:[[:space:]]*%u$'", img, bs);
		assert_int_equal(system(cmd), 0);
	}
}

static void test_default_layout(void **state)
{
	char img[256];
	struct e4_mkfs_opts o;

	snprintf(img, sizeof(img), "%s/default.img", workdir);
	e4_mkfs_opts_init(&o);
	assert_int_equal(o.block_size, 4096);
	assert_int_equal(o.inode_size, 256);
	o.size = 64 << 20;
	assert_int_equal(e4_mkfs(img, &o), 0);
	assert_int_equal(run("e2fsck -fn %s >/dev/null 2>&1", img), 0);
	/* the defaults the issue names */
	assert_int_equal(run("dumpe2fs -h %s 2>/dev/null | grep 'features:' | "
			     "grep has_journal | grep extent | grep 64bit | "
			     "grep metadata_csum | grep -q inline_data", img), 0);
	assert_int_equal(run("dumpe2fs -h %s 2>/dev/null | grep -q 'Inode size:[[:space:]]*256'", img), 0);
	assert_int_equal(run("dumpe2fs -h %s 2>/dev/null | grep -q 'Block size:[[:space:]]*4096'", img), 0);
	/* lost+found is a block directory, root is there */
	assert_int_equal(run("debugfs -R 'stat /lost+found' %s 2>/dev/null | grep -q EXTENTS", img), 0);
}

static void test_block_and_inode_sizes(void **state)
{
	static const unsigned bss[] = { 1024, 2048, 4096 };
	static const unsigned iszs[] = { 128, 256, 512 };
	unsigned i, j;

	for (i = 0; i < 3; i++)
		for (j = 0; j < 3; j++)
			mkfs_and_check(bss[i], iszs[j], 48 << 20,
				       iszs[j] < 256 ? "^inline_data" : NULL, 0);
}

static void test_no_journal_and_features(void **state)
{
	mkfs_and_check(4096, 256, 32 << 20, "^metadata_csum,^64bit", 1);
	mkfs_and_check(1024, 1024, 32 << 20, NULL, 1);
}

static void test_bad_arguments(void **state)
{
	struct e4_mkfs_opts o;
	char img[256];

	snprintf(img, sizeof(img), "%s/bad.img", workdir);
	e4_mkfs_opts_init(&o);
	o.size = 32 << 20;
	o.block_size = 3000;
	assert_int_equal(e4_mkfs(img, &o), -EINVAL);
	o.block_size = 4096;
	o.inode_size = 100;
	assert_int_equal(e4_mkfs(img, &o), -EINVAL);
	o.inode_size = 256;
	o.features = "no_such_feature";
	assert_int_equal(e4_mkfs(img, &o), -EINVAL);
	o.features = NULL;
	o.size = 4096;
	assert_int_equal(e4_mkfs(img, &o), -EINVAL);
	o.size = 32 << 20;
	assert_int_not_equal(e4_mkfs("/nonexistent-dir/x.img", &o), 0);
	o.size = 32 << 20;
	assert_int_equal(e4_mkfs(workdir, &o), -EINVAL);	/* a directory */
}

static int setup(void **state)
{
	return mkdtemp(workdir) ? 0 : -1;
}

static int teardown(void **state)
{
	return run("rm -rf %s", workdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_layout),
		cmocka_unit_test(test_block_and_inode_sizes),
		cmocka_unit_test(test_no_journal_and_features),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
