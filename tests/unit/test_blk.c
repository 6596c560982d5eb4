/*
 * tests/unit/test_blk.c - libfs/blk: backends, overlay copy-on-write, the write
 * log's crash cut, and libext2fs reading and writing through blk_io_manager.
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

#include "libfs/blk/blk.h"

static char workdir[] = "/tmp/e4lab-test-blk-XXXXXX";

static void path_in(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", workdir, name);
}

static void make_file(const char *path, size_t size, unsigned char fill)
{
	FILE *f = fopen(path, "wb");
	unsigned char *buf = malloc(size);

	assert_non_null(f);
	memset(buf, fill, size);
	assert_int_equal(fwrite(buf, 1, size, f), size);
	fclose(f);
	free(buf);
}

static void test_file_roundtrip(void **state)
{
	char path[256];
	unsigned char buf[8192], back[8192];
	struct blk_dev *dev;
	int err = 0;

	path_in(path, sizeof(path), "file.img");
	make_file(path, 1 << 20, 0);
	dev = blk_file_open(path, 0, &err);
	assert_non_null(dev);
	assert_int_equal(dev->size, 1 << 20);
	memset(buf, 0xab, sizeof(buf));
	assert_int_equal(blk_write(dev, 4096 + 17, buf, sizeof(buf)), 0);
	assert_int_equal(blk_flush(dev), 0);
	assert_int_equal(blk_read(dev, 4096 + 17, back, sizeof(back)), 0);
	assert_memory_equal(buf, back, sizeof(buf));
	/* out of range is an error, not a silent extension */
	assert_int_equal(blk_write(dev, (1 << 20) - 10, buf, 11), -EIO);
	assert_int_equal(blk_read(dev, 1 << 20, back, 1), -EIO);
	blk_close(dev);

	dev = blk_file_open(path, 1, &err);
	assert_non_null(dev);
	assert_int_equal(blk_write(dev, 0, buf, 1), -EROFS);
	blk_close(dev);

	assert_null(blk_file_open("/nonexistent/e4lab", 1, &err));
	assert_int_equal(err, -ENOENT);
}

static void test_gzip_image(void **state)
{
	char path[256];
	unsigned char buf[4096];
	struct blk_dev *dev;
	gzFile gz;
	int i, err = 0;

	path_in(path, sizeof(path), "image.gz");
	gz = gzopen(path, "wb");
	assert_non_null(gz);
	for (i = 0; i < 64; i++) {
		memset(buf, i, sizeof(buf));
		assert_int_equal(gzwrite(gz, buf, sizeof(buf)), sizeof(buf));
	}
	gzclose(gz);

	dev = blk_open_image(path, 1, &err);
	assert_non_null(dev);
	assert_int_equal(dev->size, 64 * 4096);
	assert_true(dev->read_only);
	assert_int_equal(blk_read(dev, 10 * 4096, buf, sizeof(buf)), 0);
	assert_int_equal(buf[0], 10);
	assert_int_equal(buf[4095], 10);
	blk_close(dev);

	/* a gzip image cannot be opened for writing */
	assert_null(blk_open_image(path, 0, &err));
	assert_int_equal(err, -EROFS);
}

static void test_overlay_cow(void **state)
{
	unsigned char buf[10000], back[10000];
	struct blk_dev *base, *ovl;
	int err = 0;

	base = blk_mem_create(1 << 20, &err);
	assert_non_null(base);
	memset(buf, 0x11, sizeof(buf));
	assert_int_equal(blk_write(base, 0, buf, sizeof(buf)), 0);
	ovl = blk_overlay_create(base, &err);
	assert_non_null(ovl);

	memset(buf, 0x22, 100);
	assert_int_equal(blk_write(ovl, 4000, buf, 100), 0);
	assert_int_equal(blk_read(ovl, 0, back, sizeof(back)), 0);
	assert_int_equal(back[3999], 0x11);
	assert_int_equal(back[4000], 0x22);
	assert_int_equal(back[4099], 0x22);
	assert_int_equal(back[4100], 0x11);
	/* the lower device is untouched */
	assert_int_equal(blk_read(base, 4000, back, 100), 0);
	assert_int_equal(back[0], 0x11);
	assert_int_equal(back[99], 0x11);
	blk_close(ovl);	/* closes base too */
}

struct crash_state {
	int crashed;
};

static void note_crash(void *arg)
{
	((struct crash_state *)arg)->crashed++;
}

static void test_log_crash_cut(void **state)
{
	unsigned char buf[4 * 4096], back[4 * 4096];
	struct crash_state cs = { 0 };
	struct blk_dev *base, *log;
	const struct blk_log_rec *recs;
	size_t nrecs;
	int err = 0;

	base = blk_mem_create(1 << 20, &err);
	log = blk_log_create(base, 3, note_crash, &cs, &err);
	assert_non_null(log);
	memset(buf, 0x5a, sizeof(buf));

	assert_int_equal(blk_write(log, 0, buf, 4096), 0);		/* write 1 */
	assert_int_equal(blk_flush(log), 0);
	/* writes 2, 3 reach the device; 4 and 5 do not */
	assert_int_equal(blk_write(log, 8192, buf, sizeof(buf)), -EIO);
	assert_int_equal(cs.crashed, 1);
	assert_int_equal(blk_log_block_writes(log), 3);
	assert_int_equal(blk_write(log, 0, buf, 1), -EIO);		/* stays cut */
	assert_int_equal(blk_flush(log), -EIO);

	assert_int_equal(blk_read(base, 8192, back, sizeof(back)), 0);
	assert_int_equal(back[0], 0x5a);
	assert_int_equal(back[2 * 4096 - 1], 0x5a);
	assert_int_equal(back[2 * 4096], 0);
	assert_int_equal(back[4 * 4096 - 1], 0);

	recs = blk_log_records(log, &nrecs);
	assert_int_equal(nrecs, 3);		/* write, flush mark, partial write */
	assert_int_equal(recs[1].len, 0);
	assert_int_equal(recs[2].off, 8192);
	assert_int_equal(recs[2].len, 2 * 4096);
	blk_close(log);
}

/* libext2fs opens, reads and writes an image made by mkfs.ext4 through us. */
static void test_ext2fs_through_blk(void **state)
{
	char path[256], cmd[512], name[64];
	struct blk_dev *dev;
	ext2_filsys fs;
	errcode_t ret;
	int err = 0;

	path_in(path, sizeof(path), "ext4.img");
	snprintf(cmd, sizeof(cmd),
		 "mkfs.ext4 -q -F -O metadata_csum,64bit,inline_data %s 32M >/dev/null 2>&1",
		 path);
	if (system(cmd) != 0)
		skip();
	dev = blk_file_open(path, 0, &err);
	assert_non_null(dev);
	blk_io_name(dev, name, sizeof(name));
	ret = ext2fs_open2(name, NULL, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0,
			   blk_io_manager, &fs);
	assert_int_equal(ret, 0);
	assert_int_equal(fs->super->s_magic, EXT2_SUPER_MAGIC);
	assert_int_equal(ext2fs_read_bitmaps(fs), 0);
	/* a write through write_byte/superblock: set a label and close */
	strcpy((char *)fs->super->s_volume_name, "e4blk");
	ext2fs_mark_super_dirty(fs);
	assert_int_equal(ext2fs_close_free(&fs), 0);
	assert_true(dev->stats.bytes_written > 0);
	blk_close(dev);

	snprintf(cmd, sizeof(cmd), "e2fsck -fn %s >/dev/null 2>&1", path);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "dumpe2fs -h %s 2>/dev/null | grep -q 'volume name:.*e4blk'",
		 path);
	assert_int_equal(system(cmd), 0);

	/* bad names are refused, not dereferenced */
	ret = ext2fs_open2("e4blk:0", NULL, 0, 0, 0, blk_io_manager, &fs);
	assert_int_not_equal(ret, 0);
}

static int setup(void **state)
{
	return mkdtemp(workdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", workdir);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_roundtrip),
		cmocka_unit_test(test_gzip_image),
		cmocka_unit_test(test_overlay_cow),
		cmocka_unit_test(test_log_crash_cut),
		cmocka_unit_test(test_ext2fs_through_blk),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
