/*
 * tests/unit/test_jbd_tool.c - a test driver for journal/ without the rest of the
 * engine: libext2fs edits an image through the journal device, then the
 * image is left committed-but-not-checkpointed (a crash) or unmounted.
 *
 *   test_jbd_tool write IMG N crash|unmount|cut [ordered|writeback|journal]
 *	N transactions, each making directory /dNNN and a 3-block file /fNNN
 *	(libext2fs file I/O, so its data goes through the journal device too);
 *	"crash" stops after the last commit, "cut" stops after committing all
 *	but leaving the last transaction uncommitted in memory.
 *   test_jbd_tool dump IMG          print the log (jbd_dump)
 *   test_jbd_tool recover IMG       replay (jbd_recover, e2fsck-style on errors)
 *   test_jbd_tool stats IMG N       like write ... unmount, printing journal stats
 *
 * With JBD_CUT=K in the environment, writes go through blk_log and the Kth
 * block write is the last to reach the image (then exit 3: a power cut);
 * JBD_CUT=0 records only and prints the number of block writes.  "committed
 * I" is printed (and flushed) after each commit returns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <et/com_err.h>

#include "journal/jbd.h"

static int fail(const char *what, long err)
{
	fprintf(stderr, "test_jbd_tool: %s: %ld\n", what, err);
	return 2;
}

static int add_file(ext2_filsys fs, const char *name, unsigned seed)
{
	ext2_ino_t ino;
	ext2_file_t file;
	struct ext2_inode inode;
	char buf[3 * 1024];
	unsigned got;
	errcode_t err;

	err = ext2fs_new_inode(fs, EXT2_ROOT_INO, LINUX_S_IFREG | 0644, NULL, &ino);
	if (!err)
		err = ext2fs_link(fs, EXT2_ROOT_INO, name, ino, EXT2_FT_REG_FILE);
	if (err == EXT2_ET_DIR_NO_SPACE && !ext2fs_expand_dir(fs, EXT2_ROOT_INO))
		err = ext2fs_link(fs, EXT2_ROOT_INO, name, ino, EXT2_FT_REG_FILE);
	if (err)
		return (int)err;
	ext2fs_inode_alloc_stats2(fs, ino, +1, 0);
	memset(&inode, 0, sizeof(inode));
	inode.i_mode = LINUX_S_IFREG | 0644;
	inode.i_links_count = 1;
	if (ext2fs_has_feature_extents(fs->super))
		inode.i_flags |= EXT4_EXTENTS_FL;
	err = ext2fs_write_new_inode(fs, ino, &inode);
	if (!err && (inode.i_flags & EXT4_EXTENTS_FL)) {
		ext2_extent_handle_t h;

		err = ext2fs_extent_open2(fs, ino, &inode, &h);
		if (!err)
			ext2fs_extent_free(h);
	}
	if (!err)
		err = ext2fs_file_open(fs, ino, EXT2_FILE_WRITE, &file);
	if (err)
		return (int)err;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)('a' + (seed + i / 1024) % 26);
	err = ext2fs_file_write(file, buf, sizeof(buf), &got);
	if (!err)
		err = ext2fs_file_close(file);
	else
		ext2fs_file_close(file);
	return (int)err;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int one_txn(struct jbd_journal *j, ext2_filsys fs, unsigned i, int commit,
		   double *commit_us)
{
	char name[32];
	errcode_t err;
	int ret;

	ret = jbd_handle_start(j, 16);
	if (ret)
		return ret;
	snprintf(name, sizeof(name), "d%03u", i);
	err = ext2fs_mkdir(fs, EXT2_ROOT_INO, 0, name);
	if (err == EXT2_ET_DIR_NO_SPACE && !ext2fs_expand_dir(fs, EXT2_ROOT_INO))
		err = ext2fs_mkdir(fs, EXT2_ROOT_INO, 0, name);
	if (!err) {
		snprintf(name, sizeof(name), "f%03u", i);
		err = add_file(fs, name, i);
	}
	if (!err)
		err = ext2fs_flush(fs);
	ret = jbd_handle_stop(j);
	if (err) {
		fprintf(stderr, "test_jbd_tool: transaction %u: %s\n", i, error_message(err));
		return -EIO;
	}
	if (!ret && commit) {
		double t0 = now_us();

		ret = jbd_commit(j);
		*commit_us += now_us() - t0;
	}
	return ret;
}

static enum jbd_data_mode parse_mode(const char *s)
{
	if (s && !strcmp(s, "writeback"))
		return JBD_DATA_WRITEBACK;
	if (s && !strcmp(s, "journal"))
		return JBD_DATA_JOURNAL;
	return JBD_DATA_ORDERED;
}

static int do_write(const char *img, unsigned n, const char *how, const char *mode, int stats)
{
	struct jbd_options o;
	struct jbd_journal *j;
	struct blk_dev *image, *meta;
	ext2_filsys fs = NULL;
	char name[64];
	double commit_us = 0;
	int err = 0, ret;

	image = blk_file_open(img, 0, &err);
	if (!image)
		return fail("open", err);
	if (getenv("JBD_CUT")) {
		image = blk_log_create(image, strtoull(getenv("JBD_CUT"), NULL, 0), NULL, NULL, &err);
		if (!image)
			return fail("blk_log_create", err);
	}
	ret = jbd_recover(image, 0, stderr, NULL);
	if (ret)
		return fail("recover", ret);
	meta = jbd_dev_create(image, &err);
	if (!meta)
		return fail("jbd_dev_create", err);
	blk_io_name(meta, name, sizeof(name));
	if (ext2fs_open2(name, NULL, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0, blk_io_manager, &fs))
		return fail("ext2fs_open2", 0);
	if (ext2fs_read_bitmaps(fs))
		return fail("read_bitmaps", 0);
	jbd_options_init(&o);
	o.mode = parse_mode(mode);
	o.commit_interval_ms = ~0u;
	ret = jbd_start(meta, fs, &o, &j);
	if (ret)
		return fail("jbd_start", ret);
	for (unsigned i = 0; i < n; i++) {
		int last = i + 1 == n;

		int commit = !(last && !strcmp(how, "cut"));

		ret = one_txn(j, fs, i, commit, &commit_us);
		if (ret)
			return fail("transaction", ret);
		if (commit) {
			printf("committed %u\n", i);
			fflush(stdout);
		}
	}
	if (!strcmp(how, "unmount")) {
		ret = jbd_unmount(j);
		if (ret)
			return fail("jbd_unmount", ret);
		if (stats) {
			struct jbd_stats st;

			jbd_get_stats(j, &st);
			printf("commits %lu checkpoints %lu blocks_logged %lu log_blocks_written %lu "
			       "revokes %lu capacity %u commit_us_avg %.0f\n", st.commits,
			       st.checkpoints, st.blocks_logged, st.log_blocks_written,
			       st.revokes_logged, st.log_capacity, commit_us / (n ? n : 1));
		}
		ext2fs_close_free(&fs);
	} else {
		jbd_drop(j);		/* the power cut: nothing more reaches the image */
		ext2fs_free(fs);
	}
	jbd_destroy(j);
	blk_close(meta);
	if (getenv("JBD_CUT"))
		printf("block writes: %llu\n", (unsigned long long)blk_log_block_writes(image));
	blk_close(image);
	return 0;
}

static int do_read(const char *img, int dump)
{
	struct jbd_recovery info;
	struct blk_dev *dev;
	int err = 0, ret;

	dev = blk_open_image(img, dump, &err);
	if (!dev)
		return fail("open", err);
	if (dump)
		ret = jbd_dump(dev, stdout, &info);
	else
		ret = jbd_recover(dev, JBD_RECOVER_FIX, stderr, &info);
	if (!dump)
		printf("replayed %lu blocks, %lu transactions, revoked %lu; %s\n", info.replayed,
		       info.transactions, info.revoke_hits, info.stop);
	blk_close(dev);
	return ret ? 2 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "write"))
		return do_write(argv[2], atoi(argv[3]), argv[4], argc > 5 ? argv[5] : NULL, 0);
	if (argc == 4 && !strcmp(argv[1], "stats"))
		return do_write(argv[2], atoi(argv[3]), "unmount", NULL, 1);
	if (argc == 3 && !strcmp(argv[1], "dump"))
		return do_read(argv[2], 1);
	if (argc == 3 && !strcmp(argv[1], "recover"))
		return do_read(argv[2], 0);
	fprintf(stderr, "usage: test_jbd_tool write IMG N crash|unmount|cut [MODE] | dump IMG | "
		"recover IMG | stats IMG N\n");
	return 1;
}
