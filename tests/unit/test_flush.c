/*
 * tests/unit/test_flush.c - the metadata flush of libfs/disk (flush.c): it
 * writes what libext2fs's full flush would, but only the changed blocks, so a
 * one-file commit costs the same on a small and a large image; crash cuts
 * around its commits recover clean.  Works through the public API, with
 * libfs/api's internals for the disk layer underneath.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <cmocka.h>

#include "libfs/api/api_internal.h"
#include "journal/jbd.h"

static char workdir[] = "/tmp/e4lab-test-flush-XXXXXX";

static int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void fsck_clean(const char *img, const char *what)
{
	if (run("e2fsck -fn %s >/dev/null 2>&1", img) != 0) {
		run("e2fsck -fn %s", img);
		fail_msg("e2fsck -fn %s is not clean (%s)", img, what);
	}
}

static void fill(char *buf, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (char)((i * 13 + seed * 101 + (i >> 11)) & 0xff);
}

/* Errors are tolerated (crash cuts): the checks are on the image. */
static void put_file(struct e4_fs *fs, const char *path, size_t len, unsigned seed,
		     int do_fsync)
{
	static char buf[300000];
	struct e4_file *fp;

	if (len > sizeof(buf))
		len = sizeof(buf);
	fill(buf, len, seed);
	if (e4_open(fs, path, O_CREAT | O_WRONLY | O_TRUNC, 0644, &fp) != 0)
		return;
	e4_pwrite(fp, buf, len, 0);
	if (do_fsync)
		e4_fsync(fp);
	e4_close(fp);
}

/*
 * Files in many directories (spread over the groups), large enough to fill
 * groups, then deletes, truncates and renames; @round varies the shape.
 */
static void workload(struct e4_fs *fs, unsigned round)
{
	char path[64], to[64];
	unsigned i;

	for (i = 0; i < 12; i++) {
		snprintf(path, sizeof(path), "/d%u", i);
		e4_mkdir(fs, path, 0755);
		snprintf(path, sizeof(path), "/d%u/r%u", i, round);
		put_file(fs, path, 1000 + (size_t)((i * 7919 + round * 104729) % 290000),
			 i + round, i % 3 == 0);
		snprintf(path, sizeof(path), "/d%u/s%u", i, round);
		put_file(fs, path, 30 + i, i, 0);
	}
	for (i = 0; i < 12; i += 2) {
		snprintf(path, sizeof(path), "/d%u/r%u", i, round ? round - 1 : 0);
		e4_unlink(fs, path);
		snprintf(path, sizeof(path), "/d%u/r%u", i + 1, round);
		e4_truncate(fs, path, 5000);
		snprintf(to, sizeof(to), "/d%u/m%u", (i + 5) % 12, round);
		snprintf(path, sizeof(path), "/d%u/s%u", i, round);
		e4_rename(fs, path, to);
	}
	e4_sync(fs);
}

static void mount_img(const char *img, struct e4_fs **fs)
{
	int err = e4_mount(img, NULL, fs);

	if (err)
		fail_msg("e4_mount %s: %s", img, e4_strerror(err));
}

/* ---- the incremental flush writes what the full one would ---- */

/*
 * After our flush, libext2fs's full flush (every bitmap and descriptor) must
 * not change a byte of the image: no journal, so both write in place.
 */
static void check_full_flush_is_noop(struct e4_fs *fs, const char *img, const char *what)
{
	ext2_filsys xfs = fs->dfs->fs;

	xfs->now = 1700000000 + xfs->super->s_free_blocks_count % 1000;
	assert_int_equal(disk_write_metadata(fs->dfs), 0);
	assert_int_equal(blk_flush(fs->dfs->dev), 0);
	assert_int_equal(run("cp --sparse=always %s %s.snap", img, img), 0);
	xfs->flags |= EXT2_FLAG_BB_DIRTY | EXT2_FLAG_IB_DIRTY | EXT2_FLAG_DIRTY;
	assert_int_equal(ext2fs_flush2(xfs, 0), 0);
	assert_int_equal(blk_flush(fs->dfs->dev), 0);
	if (run("cmp %s %s.snap >/dev/null", img, img) != 0) {
		run("cmp -l %s %s.snap | head -5", img, img);
		fail_msg("%s: libext2fs's full flush changed the image after ours", what);
	}
	xfs->now = 0;
}

static void full_equals_incremental(const char *mkfs_args, const char *size)
{
	char img[300];
	struct e4_fs *fs;
	unsigned round;

	snprintf(img, sizeof(img), "%s/eq.img", workdir);
	if (run("mkfs.ext4 -q -F -O ^has_journal %s %s %s >/dev/null 2>&1",
		mkfs_args, img, size))
		fail_msg("mkfs.ext4 %s failed", mkfs_args);
	for (round = 0; round < 4; round++) {
		mount_img(img, &fs);
		workload(fs, round);
		check_full_flush_is_noop(fs, img, mkfs_args);
		workload(fs, round + 10);
		check_full_flush_is_noop(fs, img, mkfs_args);
		assert_int_equal(e4_unmount(fs), 0);
		fsck_clean(img, mkfs_args);
	}
	unlink(img);
}

static void test_full_equals_incremental(void **state)
{
	(void)state;
	/* 16 groups of 2 MiB, flex_bg, 64-bit descriptors, bitmap checksums */
	full_equals_incremental("-b 1024 -g 2048 -O 64bit,metadata_csum,flex_bg", "32M");
	/* 1 KiB blocks, 32-byte descriptors: several descriptor blocks */
	full_equals_incremental("-b 1024 -g 1024 -N 2048 -O ^64bit,metadata_csum", "72M");
	/* uninit_bg (crc16 descriptors), no flex_bg, a short last group */
	full_equals_incremental("-b 4096 -O ^metadata_csum,uninit_bg,^flex_bg", "300M");
	/* no descriptor checksums at all: every group initialized */
	full_equals_incremental("-b 4096 -O ^metadata_csum,^uninit_bg", "200M");
}

/* ---- a one-file commit costs the same on a small and a large image ---- */

struct cost {
	unsigned long flushed;		/* blocks libext2fs's io channel wrote */
	unsigned long logged;		/* blocks the journal committed */
};

static unsigned long long io_bytes_written(struct e4_fs *fs)
{
	io_channel io = fs->dfs->fs->io;
	io_stats st = NULL;

	assert_non_null(io->manager->get_stats);
	assert_int_equal(io->manager->get_stats(io, &st), 0);
	return st->bytes_written;
}

static unsigned long logged(struct e4_fs *fs)
{
	struct jbd_stats st;

	assert_non_null(fs->dfs->journal);
	jbd_get_stats(fs->dfs->journal, &st);
	return st.blocks_logged;
}

/*
 * An image of @size whose every group is in use (a fallocated file over most
 * of it, directories spread around), then one transaction: create a 4 KiB
 * file and fsync it.
 */
static void one_file_cost(const char *size_arg, uint64_t size, struct cost *c)
{
	struct e4_mkfs_opts mo;
	struct e4_file *fp;
	struct e4_fs *fs;
	char img[300], buf[4096];
	unsigned long long b0;
	unsigned long l0;

	snprintf(img, sizeof(img), "%s/cost-%s.img", workdir, size_arg);
	e4_mkfs_opts_init(&mo);
	mo.size = size;
	assert_int_equal(e4_mkfs(img, &mo), 0);
	mount_img(img, &fs);
	assert_int_equal(e4_open(fs, "/big", O_CREAT | O_WRONLY, 0644, &fp), 0);
	assert_int_equal(e4_fallocate(fp, 0, 0, size / 4 * 3), 0);
	assert_int_equal(e4_close(fp), 0);
	workload(fs, 0);
	assert_int_equal(e4_sync(fs), 0);

	memset(buf, 'x', sizeof(buf));
	b0 = io_bytes_written(fs);
	l0 = logged(fs);
	assert_int_equal(e4_open(fs, "/one", O_CREAT | O_WRONLY, 0644, &fp), 0);
	assert_int_equal(e4_pwrite(fp, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	assert_int_equal(e4_fsync(fp), 0);
	c->flushed = (unsigned long)((io_bytes_written(fs) - b0) / 4096);
	c->logged = logged(fs) - l0;
	assert_int_equal(e4_close(fp), 0);
	assert_int_equal(e4_unmount(fs), 0);
	fsck_clean(img, size_arg);
	unlink(img);
}

static void test_commit_cost(void **state)
{
	struct cost small, large;

	(void)state;
	one_file_cost("64M", 64ULL << 20, &small);
	one_file_cost("4G", 4ULL << 30, &large);
	print_message("one-file commit: 64M image %lu blocks flushed, %lu logged; "
		      "4G image %lu flushed, %lu logged\n",
		      small.flushed, small.logged, large.flushed, large.logged);
	assert_true(small.flushed > 0 && small.logged > 0);
	assert_true(large.flushed <= small.flushed + 2);
	assert_true(large.logged <= small.logged + 2);
	assert_true(large.flushed < 16);
}

/* ---- crash cuts around the commits of a multi-group workload ---- */

static void note_crash(void *arg)
{
	*(int *)arg = 1;
}

/*
 * Cut after block write 1, 1 + step, ... until the workload ends; a 1 ms
 * commit interval makes commits at nearly every handle.  After e2fsck's
 * journal replay only, e2fsck -fn must be clean.
 */
static void test_crash_cuts(void **state)
{
	char img[300], cut[300];
	unsigned runs = 0, ncrashed = 0;
	uint64_t n;

	(void)state;
	snprintf(img, sizeof(img), "%s/crash.img", workdir);
	snprintf(cut, sizeof(cut), "%s/cut.img", workdir);
	assert_int_equal(run("mkfs.ext4 -q -F -b 1024 -g 2048 -O 64bit,metadata_csum,"
			     "inline_data %s 32M >/dev/null 2>&1", img), 0);
	for (n = 1; runs < 80; n += 1 + n / 8, runs++) {
		struct e4_mount_opts o;
		struct e4_fs *fs;
		int crashed = 0;

		assert_int_equal(run("cp --sparse=always %s %s", img, cut), 0);
		e4_mount_opts_init(&o);
		o.crash_after = n;
		o.crash_fn = note_crash;
		o.crash_arg = &crashed;
		o.commit_interval_ms = 1;
		if (e4_mount(cut, &o, &fs) == 0) {
			workload(fs, 0);
			workload(fs, 1);
			e4_unmount(fs);	/* writes after the cut fail */
		}
		run("e2fsck -fy -E journal_only %s >/dev/null 2>&1", cut);
		if (run("e2fsck -fn %s >/dev/null 2>&1", cut) != 0) {
			run("e2fsck -fn %s", cut);
			fail_msg("crash after block write %llu: not clean after journal "
				 "replay (replay: test_flush test_crash_cuts)",
				 (unsigned long long)n);
		}
		ncrashed += crashed;
		if (!crashed)
			break;
	}
	print_message("%u cuts, the last at block write %llu\n", runs + 1,
		      (unsigned long long)n);
	assert_true(ncrashed >= 5);
	assert_true(runs < 80);		/* the workload ended within the cuts */
	unlink(cut);
	unlink(img);
}

static int group_setup(void **state)
{
	(void)state;
	if (!mkdtemp(workdir))
		return -1;
	if (run("command -v e2fsck >/dev/null && command -v mkfs.ext4 >/dev/null") != 0) {
		fprintf(stderr, "test_flush: e2fsck or mkfs.ext4 missing\n");
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	run("rm -rf %s", workdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_equals_incremental),
		cmocka_unit_test(test_commit_cost),
		cmocka_unit_test(test_crash_cuts),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
