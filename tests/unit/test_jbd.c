/*
 * tests/unit/test_jbd.c - unit tests of journal/: block sets, the writer
 * (escaping, revokes, nesting, commit triggers, abort) against recovery, and
 * recovery of randomly corrupted logs (no crash, an error or a clean stop).
 * Uses mkfs.ext4 and e2fsck from e2fsprogs; each failure names its seed.
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

#include "journal/jbd_internal.h"

struct env {
	char dir[64];
	char img[96];
	struct blk_dev *image;		/* maybe a failing wrapper */
	struct blk_dev *meta;
	ext2_filsys fs;
	struct jbd_journal *j;
	uint64_t now_ms;
};

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static uint64_t fake_clock(void *arg)
{
	return ((struct env *)arg)->now_ms;
}

/* ---- a device that fails writes on demand (for abort) ---- */

struct failing {
	struct blk_dev *lower;
	int fail;
};

static struct blk_dev *failing_wrap(struct blk_dev *lower);

static int fl_read(struct blk_dev *dev, uint64_t off, void *buf, size_t len)
{
	struct failing *f = dev->private;

	return blk_read(f->lower, off, buf, len);
}

static int fl_write(struct blk_dev *dev, uint64_t off, const void *buf, size_t len)
{
	struct failing *f = dev->private;

	return f->fail ? -EIO : blk_write(f->lower, off, buf, len);
}

static int fl_flush(struct blk_dev *dev)
{
	struct failing *f = dev->private;

	return f->fail ? -EIO : blk_flush(f->lower);
}

static void fl_destroy(struct blk_dev *dev)
{
	free(dev->private);
}

static const struct blk_ops failing_ops = {
	.name = "failing", .read = fl_read, .write = fl_write, .flush = fl_flush,
	.destroy = fl_destroy,
};

/* A failing device that does not own @lower (blk_close leaves it open). */
static struct blk_dev *borrow(struct blk_dev *lower)
{
	struct blk_dev *dev = failing_wrap(lower);

	dev->lower = NULL;
	return dev;
}

static struct blk_dev *failing_wrap(struct blk_dev *lower)
{
	struct blk_dev *dev = calloc(1, sizeof(*dev));
	struct failing *f = calloc(1, sizeof(*f));

	assert_non_null(dev);
	assert_non_null(f);
	f->lower = lower;
	dev->ops = &failing_ops;
	dev->size = lower->size;
	dev->block_size = lower->block_size;
	dev->private = f;
	dev->lower = lower;
	return dev;
}

/* ---- setup: a fresh image, the journal live on it ---- */

static void env_mkfs(struct env *e, const char *features)
{
	snprintf(e->dir, sizeof(e->dir), "/tmp/test_jbd.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->img, sizeof(e->img), "%s/img", e->dir);
	assert_int_equal(run("mkfs.ext4 -q -F -O %s %s 64M >/dev/null 2>&1", features, e->img), 0);
}

static void env_open(struct env *e, enum jbd_data_mode mode, int failing)
{
	struct jbd_options o;
	char name[64];
	int err = 0;

	e->image = blk_file_open(e->img, 0, &err);
	assert_non_null(e->image);
	if (failing)
		e->image = failing_wrap(e->image);
	assert_int_equal(jbd_recover(e->image, 0, NULL, NULL), 0);
	e->meta = jbd_dev_create(e->image, &err);
	assert_non_null(e->meta);
	blk_io_name(e->meta, name, sizeof(name));
	assert_int_equal(ext2fs_open2(name, NULL, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0,
				      blk_io_manager, &e->fs), 0);
	assert_int_equal(ext2fs_read_bitmaps(e->fs), 0);
	jbd_options_init(&o);
	o.mode = mode;
	o.clock_ms = fake_clock;
	o.clock_arg = e;
	assert_int_equal(jbd_start(e->meta, e->fs, &o, &e->j), 0);
}

/* A power cut: nothing more is written; the image keeps what was flushed. */
static void env_crash(struct env *e)
{
	jbd_drop(e->j);
	ext2fs_free(e->fs);
	jbd_destroy(e->j);
	blk_close(e->meta);
	blk_close(e->image);
	e->fs = NULL;
}

static void env_unmount(struct env *e)
{
	assert_int_equal(ext2fs_flush(e->fs), 0);
	assert_int_equal(jbd_unmount(e->j), 0);
	ext2fs_close_free(&e->fs);
	jbd_destroy(e->j);
	blk_close(e->meta);
	blk_close(e->image);
}

static void env_rm(struct env *e)
{
	run("rm -rf %s", e->dir);
}

static void mkdir_txn(struct env *e, const char *name)
{
	assert_int_equal(jbd_handle_start(e->j, 8), 0);
	assert_int_equal(ext2fs_mkdir(e->fs, EXT2_ROOT_INO, 0, name), 0);
	assert_int_equal(ext2fs_flush(e->fs), 0);
	assert_int_equal(jbd_handle_stop(e->j), 0);
}

static int image_has(const char *img, const char *path)
{
	return run("debugfs -R 'stat %s' %s 2>&1 | grep -q '^Inode:'", path, img) == 0;
}

/* ---- block sets ---- */

static void test_bufset(void **state)
{
	struct jbd_bufset s, d;
	struct jbd_buf *b, **v;
	int created;

	jbd_bufset_init(&s, 1024);
	jbd_bufset_init(&d, 1024);
	for (uint64_t i = 0; i < 1000; i++) {
		assert_int_equal(jbd_bufset_add(&s, i * 7919 % 100003, &b, &created), 0);
		assert_true(created);
		memset(b->b_data, (int)i, 1024);
	}
	assert_int_equal(jbd_bufset_add(&s, 7919, &b, &created), 0);
	assert_false(created);
	assert_int_equal(s.bs_count, 1000);
	assert_int_equal(jbd_bufset_del(&s, 7919), 1);
	assert_null(jbd_bufset_get(&s, 7919));
	assert_int_equal(jbd_bufset_sorted(&s, &v), 0);
	for (size_t i = 1; i < s.bs_count; i++)
		assert_true(v[i - 1]->b_blk < v[i]->b_blk);
	free(v);
	assert_int_equal(jbd_bufset_add(&d, 0, &b, &created), 0);
	memset(b->b_data, 0xaa, 1024);
	assert_int_equal(jbd_bufset_move(&d, &s), 0);
	assert_int_equal(s.bs_count, 0);
	assert_int_equal(d.bs_count, 999);
	assert_int_equal(jbd_bufset_get(&d, 0)->b_data[0], 0);	/* newer copy won */
	jbd_bufset_free(&s);
	jbd_bufset_free(&d);
}

static void test_revtab(void **state)
{
	struct jbd_revtab rt;
	uint32_t tid;

	jbd_revtab_init(&rt);
	for (uint64_t i = 0; i < 600; i++)
		assert_int_equal(jbd_revtab_set(&rt, i << 33, 10), 0);
	assert_int_equal(jbd_revtab_set(&rt, 5ull << 33, 0xfffffff0u), 0);	/* older */
	assert_true(jbd_revtab_get(&rt, 5ull << 33, &tid));
	assert_int_equal(tid, 10);
	assert_int_equal(jbd_revtab_set(&rt, 5ull << 33, 12), 0);
	assert_true(jbd_revtab_get(&rt, 5ull << 33, &tid));
	assert_int_equal(tid, 12);
	jbd_revtab_del(&rt, 5ull << 33);
	assert_false(jbd_revtab_get(&rt, 5ull << 33, &tid));
	assert_int_equal(rt.rt_count, 599);
	jbd_revtab_free(&rt);
}

/* ---- the writer against recovery and e2fsck ---- */

static void check_roundtrip(const char *features)
{
	struct env e = { 0 };
	struct jbd_recovery info;
	char copy[128];
	int err = 0;
	struct blk_dev *dev;

	env_mkfs(&e, features);
	env_open(&e, JBD_DATA_ORDERED, 0);
	mkdir_txn(&e, "one");
	assert_int_equal(jbd_commit(e.j), 0);
	mkdir_txn(&e, "two");
	assert_int_equal(jbd_commit(e.j), 0);
	mkdir_txn(&e, "lost");		/* never committed */
	env_crash(&e);

	/* e2fsck sees a journal to replay; with -y it replays it. */
	assert_int_equal(run("e2fsck -fn %s 2>&1 | grep -q 'skipping journal recovery'", e.img), 0);
	assert_int_equal(run("debugfs -R logdump %s 2>&1 | grep -q 'Found expected sequence'",
			     e.img), 0);
	snprintf(copy, sizeof(copy), "%s/copy", e.dir);
	assert_int_equal(run("cp %s %s && e2fsck -fy %s >/dev/null 2>&1; "
			     "e2fsck -fn %s >/dev/null 2>&1", e.img, copy, copy, copy), 0);
	assert_true(image_has(copy, "/one") && image_has(copy, "/two"));
	assert_false(image_has(copy, "/lost"));

	dev = blk_file_open(e.img, 0, &err);
	assert_non_null(dev);
	assert_int_equal(jbd_recover(dev, 0, NULL, &info), 0);
	assert_int_equal(info.transactions, 2);
	blk_close(dev);
	assert_int_equal(run("e2fsck -fn %s >/dev/null 2>&1", e.img), 0);
	assert_true(image_has(e.img, "/one") && image_has(e.img, "/two"));
	assert_false(image_has(e.img, "/lost"));
	env_rm(&e);
}

static void test_roundtrip_csum64(void **state)
{
	check_roundtrip("metadata_csum,64bit");
}

static void test_roundtrip_csum32(void **state)
{
	check_roundtrip("metadata_csum,^64bit");
}

static void test_roundtrip_nocsum(void **state)
{
	check_roundtrip("^metadata_csum,^64bit");
}

static void test_unmount_clean(void **state)
{
	struct env e = { 0 };

	env_mkfs(&e, "metadata_csum,64bit");
	env_open(&e, JBD_DATA_ORDERED, 0);
	for (int i = 0; i < 20; i++) {
		char name[16];

		snprintf(name, sizeof(name), "d%d", i);
		mkdir_txn(&e, name);
		assert_int_equal(jbd_commit(e.j), 0);
	}
	env_unmount(&e);
	assert_int_equal(run("e2fsck -fn %s >/dev/null 2>&1", e.img), 0);
	assert_int_equal(run("dumpe2fs -h %s 2>/dev/null | grep -q needs_recovery", e.img), 1);
	assert_int_equal(run("dumpe2fs -h %s 2>/dev/null | grep -q 'Journal start: *0$'", e.img), 0);
	assert_true(image_has(e.img, "/d19"));
	env_rm(&e);
}

/* A block starting with the journal magic is logged escaped and restored. */
static void test_escape(void **state)
{
	struct env e = { 0 };
	uint8_t buf[1024], back[1024];
	uint64_t blk = 30000;		/* a free block of the 64M image */
	int err = 0;
	struct jbd_recovery info;
	struct blk_dev *dev;

	env_mkfs(&e, "metadata_csum,64bit");
	env_open(&e, JBD_DATA_ORDERED, 0);
	memset(buf, 0x5a, sizeof(buf));
	jbd_put32(buf, 0, JBD_MAGIC);
	assert_int_equal(jbd_handle_start(e.j, 1), 0);
	assert_int_equal(blk_write(e.meta, blk * 1024, buf, sizeof(buf)), 0);
	assert_int_equal(jbd_handle_stop(e.j), 0);
	assert_int_equal(jbd_commit(e.j), 0);
	env_crash(&e);
	dev = blk_file_open(e.img, 0, &err);
	assert_non_null(dev);
	{
		char *text = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&text, &len);

		assert_int_equal(jbd_dump(dev, out, NULL), 0);
		fclose(out);
		assert_non_null(strstr(text, "fs block 30000 in log block 2, escaped"));
		free(text);
	}
	assert_int_equal(blk_read(dev, blk * 1024, back, sizeof(back)), 0);
	assert_memory_not_equal(back, buf, sizeof(buf));	/* not home before replay */
	assert_int_equal(jbd_recover(dev, 0, NULL, &info), 0);
	assert_int_equal(blk_read(dev, blk * 1024, back, sizeof(back)), 0);
	assert_memory_equal(back, buf, sizeof(buf));
	blk_close(dev);
	env_rm(&e);
}

/* A block logged in T1 and revoked in T2 is not replayed; a data write over a
 * block the journal still holds is journaled, not written home early. */
static void test_revoke(void **state)
{
	struct env e = { 0 };
	uint8_t meta[1024], data[1024], back[1024], orig[1024];
	struct jbd_recovery info;
	struct blk_dev *dev;
	int err = 0;

	env_mkfs(&e, "metadata_csum,64bit");
	env_open(&e, JBD_DATA_ORDERED, 0);
	assert_int_equal(blk_read(e.image, 30000 * 1024, orig, 1024), 0);
	memset(meta, 'M', sizeof(meta));
	memset(data, 'D', sizeof(data));
	assert_int_equal(jbd_handle_start(e.j, 2), 0);
	assert_int_equal(blk_write(e.meta, 30000 * 1024, meta, 1024), 0);
	assert_int_equal(blk_write(e.meta, 30001 * 1024, meta, 1024), 0);
	assert_int_equal(jbd_handle_stop(e.j), 0);
	assert_int_equal(jbd_commit(e.j), 0);
	/* T2: 30000 freed (revoked); 30001 reused for data */
	assert_int_equal(jbd_handle_start(e.j, 2), 0);
	assert_int_equal(jbd_revoke(e.j, 30000, 1), 0);
	assert_int_equal(blk_write(jbd_data_dev(e.j), 30001 * 1024, data, 1024), 0);
	assert_int_equal(jbd_handle_stop(e.j), 0);
	assert_int_equal(blk_read(e.image, 30001 * 1024, back, 1024), 0);
	assert_memory_not_equal(back, data, 1024);		/* journaled, not home */
	assert_int_equal(blk_read(jbd_data_dev(e.j), 30001 * 1024, back, 1024), 0);
	assert_memory_equal(back, data, 1024);			/* but visible */
	assert_int_equal(jbd_commit(e.j), 0);
	env_crash(&e);
	dev = blk_file_open(e.img, 0, &err);
	assert_non_null(dev);
	assert_int_equal(jbd_recover(dev, 0, NULL, &info), 0);
	assert_int_equal(info.revokes, 1);
	assert_int_equal(info.revoke_hits, 1);
	assert_int_equal(blk_read(dev, 30000 * 1024, back, 1024), 0);
	assert_memory_equal(back, orig, 1024);
	assert_int_equal(blk_read(dev, 30001 * 1024, back, 1024), 0);
	assert_memory_equal(back, data, 1024);
	blk_close(dev);
	assert_int_equal(run("e2fsck -fn %s >/dev/null 2>&1", e.img), 0);
	env_rm(&e);
}

/* Commits wait for the outermost handle; time and pressure trigger them. */
static void test_triggers(void **state)
{
	struct env e = { 0 };
	struct jbd_stats st;
	uint8_t buf[1024] = { 1 };

	env_mkfs(&e, "metadata_csum,64bit");
	env_open(&e, JBD_DATA_ORDERED, 0);
	assert_int_equal(jbd_handle_start(e.j, 1), 0);
	assert_int_equal(jbd_handle_start(e.j, 1), 0);
	assert_int_equal(blk_write(e.meta, 30000 * 1024, buf, 1024), 0);
	assert_int_equal(jbd_commit(e.j), 0);			/* deferred */
	jbd_get_stats(e.j, &st);
	assert_int_equal(st.commits, 0);
	assert_int_equal(jbd_handle_stop(e.j), 0);
	jbd_get_stats(e.j, &st);
	assert_int_equal(st.commits, 0);
	assert_int_equal(jbd_handle_stop(e.j), 0);		/* outermost: commits */
	jbd_get_stats(e.j, &st);
	assert_int_equal(st.commits, 1);
	assert_int_equal(jbd_handle_stop(e.j), -EINVAL);

	/* time: 4.9 s no commit, 5 s commit */
	assert_int_equal(jbd_handle_start(e.j, 1), 0);
	assert_int_equal(blk_write(e.meta, 30001 * 1024, buf, 1024), 0);
	assert_int_equal(jbd_handle_stop(e.j), 0);
	e.now_ms += 4900;
	assert_int_equal(jbd_handle_start(e.j, 1), 0);
	assert_int_equal(jbd_handle_stop(e.j), 0);
	jbd_get_stats(e.j, &st);
	assert_int_equal(st.commits, 1);
	e.now_ms += 100;
	assert_int_equal(jbd_handle_start(e.j, 1), 0);
	assert_int_equal(jbd_handle_stop(e.j), 0);
	jbd_get_stats(e.j, &st);
	assert_int_equal(st.commits, 2);

	/* pressure: a quarter of the log */
	assert_int_equal(jbd_handle_start(e.j, 1), 0);
	for (uint64_t b = 0; b < st.log_capacity / 4; b++)
		assert_int_equal(blk_write(e.meta, (31000 + b) * 1024, buf, 1024), 0);
	assert_int_equal(jbd_handle_stop(e.j), 0);
	assert_int_equal(jbd_handle_start(e.j, 1), 0);
	assert_int_equal(jbd_handle_stop(e.j), 0);
	jbd_get_stats(e.j, &st);
	assert_int_equal(st.commits, 3);
	env_unmount(&e);
	env_rm(&e);
}

/* A failed commit aborts: every later write fails with EROFS. */
static void test_abort(void **state)
{
	struct env e = { 0 };
	uint8_t buf[1024] = { 7 };
	struct failing *f;

	env_mkfs(&e, "metadata_csum,64bit");
	env_open(&e, JBD_DATA_ORDERED, 1);
	f = e.image->private;
	assert_int_equal(jbd_handle_start(e.j, 1), 0);
	assert_int_equal(blk_write(e.meta, 30000 * 1024, buf, 1024), 0);
	assert_int_equal(jbd_handle_stop(e.j), 0);
	f->fail = 1;
	assert_int_equal(jbd_commit(e.j), -EIO);
	f->fail = 0;
	assert_int_equal(blk_write(e.meta, 30000 * 1024, buf, 1024), -EROFS);
	assert_int_equal(blk_write(jbd_data_dev(e.j), 30000 * 1024, buf, 1024), -EROFS);
	assert_int_equal(jbd_handle_start(e.j, 1), -EROFS);
	assert_int_equal(jbd_commit(e.j), -EROFS);
	assert_int_equal(jbd_unmount(e.j), -EIO);
	env_crash(&e);
	env_rm(&e);
}

/* Random corruption of a log of three transactions: recovery never crashes,
 * and replays a prefix of the transactions or stops with an error. */
static void test_fuzz(void **state)
{
	struct env e = { 0 };
	struct blk_dev *file, *mem;
	uint64_t seed;
	int err = 0;
	FILE *devnull = fopen("/dev/null", "w");

	env_mkfs(&e, "metadata_csum,64bit");
	env_open(&e, JBD_DATA_ORDERED, 0);
	mkdir_txn(&e, "a");
	assert_int_equal(jbd_commit(e.j), 0);
	mkdir_txn(&e, "b");
	assert_int_equal(jbd_commit(e.j), 0);
	mkdir_txn(&e, "c");
	assert_int_equal(jbd_commit(e.j), 0);
	env_crash(&e);
	file = blk_mem_load(e.img, &err);
	assert_non_null(file);
	for (seed = 1; seed <= 300; seed++) {
		struct jbd_recovery info;
		uint64_t x = seed * 0x9E3779B97F4A7C15ull;
		uint64_t jstart = 0;
		int ret, n = 1 + (int)(seed % 4);

		mem = blk_overlay_create(borrow(file), &err);	/* copy-on-write over the crash */
		assert_non_null(mem);
		{	/* the log's physical start: the journal inode's first block */
			struct jbd_log *log;

			assert_int_equal(jbd_log_open(mem, NULL, devnull, &log), 0);
			assert_int_equal(jbd_log_bmap(log, 0, &jstart), 0);
			jbd_log_close(log);
		}
		for (int k = 0; k < n; k++) {
			uint8_t v;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* log blocks 0..60 hold the superblock and the three transactions */
			v = (uint8_t)(x >> 56);
			assert_int_equal(blk_write(mem, jstart * 1024 + (x % (61 * 1024)), &v, 1), 0);
		}
		ret = jbd_recover(mem, JBD_RECOVER_FIX, devnull, &info);
		if (ret != 0 && ret != -EUCLEAN && ret != -EIO && ret != -EOPNOTSUPP)
			fail_msg("seed %llu: recovery returned %d", (unsigned long long)seed, ret);
		if (info.transactions > 3)
			fail_msg("seed %llu: %lu transactions", (unsigned long long)seed,
				 info.transactions);
		blk_close(mem);
	}
	blk_close(file);
	fclose(devnull);
	env_rm(&e);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bufset),
		cmocka_unit_test(test_revtab),
		cmocka_unit_test(test_roundtrip_csum64),
		cmocka_unit_test(test_roundtrip_csum32),
		cmocka_unit_test(test_roundtrip_nocsum),
		cmocka_unit_test(test_unmount_clean),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_revoke),
		cmocka_unit_test(test_triggers),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_fuzz),
	};

	char path[4096];

	snprintf(path, sizeof(path), "%s:/usr/sbin:/sbin", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
