/*
 * tests/unit/test_disk.c - libfs/disk on scratch images made by mkfs.ext4:
 * mount, inodes, block mapping with allocation, directories (100,000 entries),
 * symlinks, xattrs, ENOSPC, corrupt images; e2fsck -fn must pass after each.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <cmocka.h>

#include "libfs/disk/disk.h"

static char workdir[] = "/tmp/e4lab-test-disk-XXXXXX";

struct fixture {
	char img[256];
	struct blk_dev *dev;
	struct disk_fs *dfs;
};

static int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void make_image(struct fixture *f, const char *name, const char *mkfs_args,
		       const char *size)
{
	snprintf(f->img, sizeof(f->img), "%s/%s", workdir, name);
	if (run("mkfs.ext4 -q -F %s %s %s >/dev/null 2>&1", mkfs_args, f->img, size) != 0)
		fail_msg("mkfs.ext4 %s %s %s failed", mkfs_args, f->img, size);
}

static void do_mount(struct fixture *f)
{
	int err = 0;

	f->dev = blk_open_image(f->img, 0, &err);
	if (!f->dev)
		fail_msg("blk_open_image %s: %d", f->img, err);
	err = disk_mount(f->dev, 0, &f->dfs);
	if (err)
		fail_msg("disk_mount %s: %d", f->img, err);
}

static void do_unmount(struct fixture *f)
{
	assert_int_equal(disk_unmount(f->dfs), 0);
	blk_close(f->dev);
	f->dfs = NULL;
	f->dev = NULL;
}

static void fsck_clean(struct fixture *f)
{
	if (run("e2fsck -fn %s >/dev/null 2>&1", f->img) != 0) {
		run("e2fsck -fn %s", f->img);
		fail_msg("e2fsck -fn %s is not clean", f->img);
	}
}

static int setup_std(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	static int n;
	char name[64];

	snprintf(name, sizeof(name), "std%d.img", n++);
	make_image(f, name, "-O inline_data,metadata_csum,64bit -b 4096", "64M");
	do_mount(f);
	*state = f;
	return 0;
}

static int teardown_std(void **state)
{
	struct fixture *f = *state;

	if (f->dfs)
		do_unmount(f);
	fsck_clean(f);
	unlink(f->img);
	free(f);
	return 0;
}

static struct disk_inode *root(struct fixture *f)
{
	struct disk_inode *r;

	assert_int_equal(disk_iget(f->dfs, EXT2_ROOT_INO, &r), 0);
	return r;
}

static struct disk_inode *lookup_path(struct fixture *f, const char *path)
{
	struct disk_inode *inode;

	assert_int_equal(disk_namei(f->dfs, path, 0, &inode), 0);
	return inode;
}

/* Writes @len bytes of @byte at block @lblk.. of @inode through map + write. */
static void write_blocks(struct disk_inode *inode, uint64_t lblk, uint32_t n, int byte,
			 uint32_t *extents)
{
	struct disk_fs *dfs = inode->dfs;
	char *buf = malloc((size_t)n * dfs->block_size);
	uint32_t done = 0;

	memset(buf, byte, (size_t)n * dfs->block_size);
	*extents = 0;
	while (done < n) {
		struct disk_map m = { .lblk = lblk + done, .len = n - done };

		assert_int_equal(disk_map_blocks(inode, &m, 1), 0);
		assert_true(m.flags & DISK_MAP_MAPPED);
		assert_true(m.len > 0);
		assert_int_equal(disk_write_data(dfs, m.pblk, m.len,
						 buf + (size_t)done * dfs->block_size), 0);
		done += m.len;
		(*extents)++;
	}
	if (disk_i_size(inode) < (lblk + n) * dfs->block_size)
		disk_set_i_size(inode, (lblk + n) * dfs->block_size);
	free(buf);
}

static void check_blocks(struct disk_inode *inode, uint64_t lblk, uint32_t n, int byte)
{
	struct disk_fs *dfs = inode->dfs;
	char *buf = malloc(dfs->block_size);
	uint32_t i, j;

	for (i = 0; i < n; i++) {
		struct disk_map m = { .lblk = lblk + i, .len = 1 };

		assert_int_equal(disk_map_blocks(inode, &m, 0), 0);
		assert_true(m.flags & DISK_MAP_MAPPED);
		assert_int_equal(disk_read_data(dfs, m.pblk, 1, buf), 0);
		for (j = 0; j < dfs->block_size; j++)
			if ((unsigned char)buf[j] != byte)
				fail_msg("block %u byte %u: %#x, want %#x", (unsigned)(lblk + i),
					 j, (unsigned char)buf[j], byte);
	}
	free(buf);
}

/* ---- tests ---- */

static void test_mount_root(void **state)
{
	struct fixture *f = *state;
	struct disk_inode *r = root(f), *lf;
	ext2_ino_t ino;

	assert_true(LINUX_S_ISDIR(r->raw.i_mode));
	assert_int_equal(disk_lookup(r, "lost+found", 10, &ino, NULL), 0);
	assert_int_equal(disk_lookup(r, "nope", 4, &ino, NULL), -ENOENT);
	lf = lookup_path(f, "/lost+found/");
	assert_int_equal(lf->ino, ino);
	disk_iput(lf);
	disk_iput(r);
}

static void test_create_write_read(void **state)
{
	struct fixture *f = *state;
	struct disk_inode *r = root(f), *file;
	struct disk_map m = { .lblk = 0, .len = 1000 };
	uint32_t extents;

	assert_int_equal(disk_create(r, "big", 3, S_IFREG | 0644, 0, &file), 0);
	/* 512 KiB in one call: one contiguous run, one extent */
	write_blocks(file, 0, 128, 0x5a, &extents);
	assert_int_equal(extents, 1);
	assert_int_equal(disk_map_blocks(file, &m, 0), 0);
	assert_int_equal(m.len, 128);
	assert_int_equal(disk_i_blocks(file), 128 * 8);
	/* a hole, then more: the hole reads as a hole of the right length */
	write_blocks(file, 200, 8, 0xa5, &extents);
	m.lblk = 128;
	m.len = 1000;
	assert_int_equal(disk_map_blocks(file, &m, 0), 0);
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.len, 72);
	disk_iput(file);
	disk_iput(r);
	do_unmount(f);
	fsck_clean(f);
	do_mount(f);
	file = lookup_path(f, "/big");
	assert_int_equal(disk_i_size(file), 208 * 4096);
	check_blocks(file, 0, 128, 0x5a);
	check_blocks(file, 200, 8, 0xa5);
	assert_int_equal(run("debugfs -R 'dump /big %s/big.out' %s >/dev/null 2>&1",
			     workdir, f->img), 0);
	assert_int_equal(run("test $(stat -c %%s %s/big.out) = %d", workdir, 208 * 4096), 0);
	/* punch the middle, then truncate everything past block 64 */
	assert_int_equal(disk_punch(file, 10, 20), 0);
	m.lblk = 10;
	m.len = 100;
	assert_int_equal(disk_map_blocks(file, &m, 0), 0);
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.len, 10);
	assert_int_equal(disk_punch(file, 64, ~0ULL), 0);
	disk_set_i_size(file, 64 * 4096);
	assert_int_equal(disk_i_blocks(file), 54 * 8);
	disk_iput(file);
}

static void test_prealloc_unwritten(void **state)
{
	struct fixture *f = *state;
	struct disk_inode *r = root(f), *file;
	struct disk_map m = { .lblk = 0, .len = 16 };

	assert_int_equal(disk_create(r, "fa", 2, S_IFREG | 0600, 0, &file), 0);
	assert_int_equal(disk_prealloc(file, 0, 16), 0);
	assert_int_equal(disk_map_blocks(file, &m, 0), 0);
	assert_int_equal(m.flags, DISK_MAP_MAPPED | DISK_MAP_UNWRITTEN);
	assert_int_equal(m.len, 16);
	m.lblk = 4;
	m.len = 2;
	assert_int_equal(disk_map_blocks(file, &m, 1), 0);
	assert_int_equal(m.flags, DISK_MAP_MAPPED | DISK_MAP_NEW);
	assert_int_equal(m.len, 2);
	m.lblk = 4;
	m.len = 16;
	assert_int_equal(disk_map_blocks(file, &m, 0), 0);
	assert_int_equal(m.flags, DISK_MAP_MAPPED);
	assert_int_equal(m.len, 2);
	disk_set_i_size(file, 6 * 4096);
	disk_iput(file);
	disk_iput(r);
}

static void test_namespace(void **state)
{
	struct fixture *f = *state;
	struct disk_inode *r = root(f), *d, *d2, *file, *ln, *x;
	char buf[300], longt[200];
	ext2_ino_t ino;

	assert_int_equal(disk_mkdir(r, "d", 1, 0755, &d), 0);
	assert_int_equal(r->raw.i_links_count, 4);	/* ., .., lost+found, d */
	assert_int_equal(d->raw.i_links_count, 2);
	assert_int_equal(disk_mkdir(r, "d", 1, 0755, &x), -EEXIST);
	assert_int_equal(disk_mkdir(d, "e", 1, 0700, &d2), 0);
	assert_int_equal(d->raw.i_links_count, 3);
	assert_int_equal(disk_create(d2, "f", 1, S_IFREG | 0644, 0, &file), 0);
	/* enough entries to push the inline directory into a block */
	for (int i = 0; i < 40; i++) {
		char n[32];

		snprintf(n, sizeof(n), "entry-number-%d", i);
		assert_int_equal(disk_link(d2, n, strlen(n), file), 0);
	}
	assert_int_equal(file->raw.i_links_count, 41);
	for (int i = 0; i < 40; i += 2) {
		char n[32];

		snprintf(n, sizeof(n), "entry-number-%d", i);
		assert_int_equal(disk_unlink(d2, n, strlen(n)), 0);
	}
	assert_int_equal(file->raw.i_links_count, 21);
	disk_iput(file);
	x = lookup_path(f, "/d/e/entry-number-7");
	assert_int_equal(x->raw.i_links_count, 21);
	disk_iput(x);
	assert_int_equal(disk_namei(f->dfs, "/d/e/entry-number-8", 0, &x), -ENOENT);

	/* symlinks: fast and long; followed in the middle of a path */
	assert_int_equal(disk_symlink(r, "s", 1, "/d/e", &ln), 0);
	assert_true(ln->raw.i_size == 4);
	disk_iput(ln);
	memset(longt, 'x', sizeof(longt) - 1);
	longt[sizeof(longt) - 1] = 0;
	assert_int_equal(disk_symlink(r, "long", 4, longt, &ln), 0);
	assert_int_equal(disk_readlink(ln, buf, sizeof(buf)), 199);
	assert_string_equal(buf, longt);
	disk_iput(ln);
	x = lookup_path(f, "/s/entry-number-9");
	assert_int_equal(x->raw.i_links_count, 21);
	disk_iput(x);
	assert_int_equal(disk_namei(f->dfs, "/s", 1, &x), 0);
	assert_int_equal(x->ino, d2->ino);
	disk_iput(x);

	/* rmdir refuses a non-empty directory */
	assert_int_equal(disk_rmdir(d, "e", 1), -ENOTEMPTY);
	/* rename a directory across parents: ".." and link counts follow */
	assert_int_equal(disk_rename(d, "e", 1, r, "e2", 2), 0);
	assert_int_equal(d->raw.i_links_count, 2);
	assert_int_equal(r->raw.i_links_count, 5);
	assert_int_equal(disk_lookup(d2, "..", 2, &ino, NULL), 0);
	assert_int_equal(ino, EXT2_ROOT_INO);
	/* a directory cannot move below itself */
	assert_int_equal(disk_rename(r, "e2", 2, d2, "x", 1), -EINVAL);
	/* rename over an existing file replaces it */
	assert_int_equal(disk_create(r, "a", 1, S_IFREG | 0644, 0, &file), 0);
	disk_iput(file);
	assert_int_equal(disk_rename(d2, "entry-number-1", 14, r, "a", 1), 0);
	x = lookup_path(f, "/a");
	assert_int_equal(x->raw.i_links_count, 21);	/* one name gone, one added */
	disk_iput(x);
	/* rename a directory over an empty one */
	assert_int_equal(disk_rename(r, "d", 1, r, "e2", 2), -ENOTEMPTY);
	assert_int_equal(disk_mkdir(r, "empty", 5, 0755, &x), 0);
	disk_iput(x);
	assert_int_equal(disk_rename(r, "d", 1, r, "empty", 5), 0);
	assert_int_equal(r->raw.i_links_count, 5);
	disk_iput(d);
	disk_iput(d2);
	disk_iput(r);
	do_unmount(f);
	fsck_clean(f);
	do_mount(f);
	r = root(f);
	assert_int_equal(disk_lookup(r, "d", 1, &ino, NULL), -ENOENT);
	assert_int_equal(disk_rmdir(r, "empty", 5), 0);
	assert_int_equal(r->raw.i_links_count, 4);
	assert_int_equal(disk_unlink(r, "e2", 2), -EISDIR);
	disk_iput(r);
}

static void test_mknod(void **state)
{
	struct fixture *f = *state;
	struct disk_inode *r = root(f), *n;

	assert_int_equal(disk_create(r, "null", 4, S_IFCHR | 0666, makedev(1, 3), &n), 0);
	assert_int_equal(disk_i_rdev(n), makedev(1, 3));
	disk_iput(n);
	assert_int_equal(disk_create(r, "big", 3, S_IFBLK | 0600, makedev(259, 70000), &n), 0);
	assert_int_equal(disk_i_rdev(n), makedev(259, 70000));
	disk_iput(n);
	assert_int_equal(disk_create(r, "fifo", 4, S_IFIFO | 0600, 0, &n), 0);
	disk_iput(n);
	disk_iput(r);
}

static void test_xattr(void **state)
{
	struct fixture *f = *state;
	struct disk_inode *r = root(f), *file;
	char val[3000], out[3000], list[256];
	ssize_t n;

	assert_int_equal(disk_create(r, "x", 1, S_IFREG | 0644, 0, &file), 0);
	assert_int_equal(disk_setxattr(file, "user.a", "hello", 5, 0), 0);
	assert_int_equal(disk_setxattr(file, "user.a", "hello", 5, XATTR_CREATE), -EEXIST);
	assert_int_equal(disk_setxattr(file, "user.b", "x", 1, XATTR_REPLACE), -ENODATA);
	memset(val, 'v', sizeof(val));
	assert_int_equal(disk_setxattr(file, "trusted.big", val, sizeof(val), 0), 0);
	assert_int_equal(disk_setxattr(file, "bogus.x", "1", 1, 0), -EOPNOTSUPP);
	assert_int_equal(disk_getxattr(file, "user.a", NULL, 0), 5);
	assert_int_equal(disk_getxattr(file, "user.a", out, 2), -ERANGE);
	assert_int_equal(disk_getxattr(file, "user.a", out, sizeof(out)), 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(disk_getxattr(file, "trusted.big", out, sizeof(out)), sizeof(val));
	assert_memory_equal(out, val, sizeof(val));
	n = disk_listxattr(file, list, sizeof(list));
	assert_int_equal(n, sizeof("user.a") + sizeof("trusted.big"));
	assert_int_equal(disk_removexattr(file, "user.a"), 0);
	assert_int_equal(disk_getxattr(file, "user.a", NULL, 0), -ENODATA);
	assert_int_equal(disk_removexattr(file, "user.a"), -ENODATA);
	disk_iput(file);
	disk_iput(r);
}

static void test_unlink_frees(void **state)
{
	struct fixture *f = *state;
	struct disk_inode *r = root(f), *file;
	blk64_t free_before = ext2fs_free_blocks_count(f->dfs->fs->super);
	uint32_t inodes_before = f->dfs->fs->super->s_free_inodes_count;
	uint32_t extents;

	assert_int_equal(disk_create(r, "gone", 4, S_IFREG | 0644, 0, &file), 0);
	write_blocks(file, 0, 300, 1, &extents);
	assert_int_equal(disk_setxattr(file, "user.k", "v", 1, 0), 0);
	assert_int_equal(disk_unlink(r, "gone", 4), 0);
	/* still open: blocks stay until the last put */
	assert_true(ext2fs_free_blocks_count(f->dfs->fs->super) < free_before);
	disk_iput(file);
	assert_int_equal(ext2fs_free_blocks_count(f->dfs->fs->super), free_before);
	assert_int_equal(f->dfs->fs->super->s_free_inodes_count, inodes_before);
	disk_iput(r);
}

/* ---- big directory ---- */

static int setup_many(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	make_image(f, "many.img", "-O inline_data,metadata_csum,64bit -N 110000 -b 4096",
		   "256M");
	do_mount(f);
	*state = f;
	return 0;
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int count_entry(void *arg, const char *name, size_t len, ext2_ino_t ino,
		       unsigned ftype)
{
	(*(unsigned *)arg)++;
	return 0;
}

static void test_100k_entries(void **state)
{
	struct fixture *f = *state;
	struct disk_inode *r = root(f), *d, *file;
	unsigned i, count = 0;
	double t0 = now_sec(), t;
	char name[64];
	ext2_ino_t ino;

	assert_int_equal(disk_mkdir(r, "big", 3, 0755, &d), 0);
	for (i = 0; i < 100000; i++) {
		snprintf(name, sizeof(name), "file-%06u", i);
		assert_int_equal(disk_handle_start(f->dfs, 32), 0);
		assert_int_equal(disk_create(d, name, strlen(name), S_IFREG | 0644, 0, &file), 0);
		disk_iput(file);
		assert_int_equal(disk_handle_stop(f->dfs), 0);
	}
	t = now_sec() - t0;
	print_message("100000 creates: %.2f s\n", t);
	assert_true(t < 30);
	assert_int_equal(disk_create(d, "file-050000", 11, S_IFREG | 0644, 0, &file), -EEXIST);
	assert_int_equal(disk_lookup(d, "file-099999", 11, &ino, NULL), 0);
	for (i = 0; i < 100000; i += 2) {
		snprintf(name, sizeof(name), "file-%06u", i);
		assert_int_equal(disk_handle_start(f->dfs, 32), 0);
		assert_int_equal(disk_unlink(d, name, strlen(name)), 0);
		assert_int_equal(disk_handle_stop(f->dfs), 0);
	}
	t = now_sec() - t0;
	print_message("+ 50000 unlinks: %.2f s\n", t);
	assert_true(t < 50);
	assert_int_equal(disk_readdir(d, count_entry, &count), 0);
	assert_int_equal(count, 50000 + 2);
	disk_iput(d);
	disk_iput(r);
	do_unmount(f);
	fsck_clean(f);
	do_mount(f);
	d = lookup_path(f, "/big");
	assert_int_equal(disk_lookup(d, "file-000001", 11, &ino, NULL), 0);
	assert_int_equal(disk_lookup(d, "file-000002", 11, &ino, NULL), -ENOENT);
	disk_iput(d);
}

/* ---- ENOSPC ---- */

static int setup_tiny(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	make_image(f, "tiny.img", "-O inline_data,metadata_csum,64bit,^has_journal "
		   "-b 1024 -N 64", "1M");
	do_mount(f);
	*state = f;
	return 0;
}

static void test_enospc(void **state)
{
	struct fixture *f = *state;
	struct disk_inode *r = root(f), *file;
	int err = 0, i;
	char name[32];

	assert_int_equal(disk_create(r, "fill", 4, S_IFREG | 0644, 0, &file), 0);
	for (i = 0; i < 100000 && !err; i++) {
		struct disk_map m = { .lblk = i, .len = 1 };

		err = disk_map_blocks(file, &m, 1);
		if (!err)
			disk_set_i_size(file, (uint64_t)(i + 1) * 1024);
	}
	assert_int_equal(err, -ENOSPC);
	disk_iput(file);
	for (i = 0, err = 0; i < 1000 && !err; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		err = disk_create(r, name, strlen(name), S_IFREG | 0644, 0, &file);
		if (!err)
			disk_iput(file);
	}
	assert_int_equal(err, -ENOSPC);
	disk_iput(r);
}

/* ---- corrupt images ---- */

static void test_corrupt_super(void **state)
{
	struct fixture f;
	int err = 0;

	make_image(&f, "bad.img", "-O metadata_csum", "8M");
	/* break the superblock checksum */
	run("printf '\\x77' | dd of=%s bs=1 seek=%d conv=notrunc 2>/dev/null", f.img, 1024 + 0x78);
	f.dev = blk_open_image(f.img, 0, &err);
	assert_non_null(f.dev);
	err = disk_mount(f.dev, 0, &f.dfs);
	assert_int_equal(err, -EUCLEAN);
	blk_close(f.dev);
	/* a bad magic */
	run("dd if=/dev/zero of=%s bs=1 seek=%d count=2 conv=notrunc 2>/dev/null",
	    f.img, 1024 + 0x38);
	f.dev = blk_open_image(f.img, 1, &err);
	assert_non_null(f.dev);
	assert_int_equal(disk_mount(f.dev, 1, &f.dfs), -EUCLEAN);
	blk_close(f.dev);
}

static void test_corrupt_dir(void **state)
{
	struct fixture f;
	struct disk_inode *r, *x;
	int err = 0;

	make_image(&f, "baddir.img", "-O ^metadata_csum,^inline_data -b 1024", "8M");
	/* root's first block: make "." rec_len absurd */
	run("blk=$(debugfs -R 'bmap / 0' %s 2>/dev/null); "
	    "printf '\\xff\\x7f' | dd of=%s bs=1 seek=$((blk*1024+4)) conv=notrunc 2>/dev/null",
	    f.img, f.img);
	f.dev = blk_open_image(f.img, 0, &err);
	assert_int_equal(disk_mount(f.dev, 0, &f.dfs), 0);
	assert_int_equal(disk_iget(f.dfs, EXT2_ROOT_INO, &r), 0);
	assert_int_equal(disk_namei(f.dfs, "/lost+found", 0, &x), -EUCLEAN);
	disk_iput(r);
	disk_unmount(f.dfs);
	blk_close(f.dev);
}

static void test_refuse_features(void **state)
{
	struct fixture f;
	struct disk_fs *dfs;
	int err = 0;

	make_image(&f, "bigalloc.img", "-O bigalloc -C 16384", "32M");
	f.dev = blk_open_image(f.img, 0, &err);
	assert_int_equal(disk_mount(f.dev, 0, &dfs), -EINVAL);
	assert_int_equal(disk_mount(f.dev, 1, &dfs), 0);
	assert_int_equal(disk_unmount(dfs), 0);
	blk_close(f.dev);
}


/* ---- old block-mapped files (ext3) ---- */

static void test_blockmap_files(void **state)
{
	struct fixture f;
	struct disk_inode *file, *r;
	uint32_t extents;
	char src[300];
	int i;

	make_image(&f, "ext3.img", "-t ext3 -O ^extents,^metadata_csum -b 1024", "16M");
	snprintf(src, sizeof(src), "%s/src300k", workdir);
	assert_int_equal(run("head -c 307200 /dev/urandom > %s", src), 0);
	assert_int_equal(run("debugfs -w -R 'write %s old' %s >/dev/null 2>&1", src, f.img), 0);
	do_mount(&f);
	file = lookup_path(&f, "/old");
	assert_false(file->raw.i_flags & EXT4_EXTENTS_FL);
	assert_int_equal(disk_i_size(file), 307200);
	/* read every block through the indirect map and compare with the source */
	{
		FILE *fp = fopen(src, "rb");
		char want[1024], got[1024];

		assert_non_null(fp);
		for (i = 0; i < 300; i++) {
			struct disk_map m = { .lblk = i, .len = 1 };

			assert_int_equal(fread(want, 1, 1024, fp), 1024);
			assert_int_equal(disk_map_blocks(file, &m, 0), 0);
			assert_true(m.flags & DISK_MAP_MAPPED);
			assert_int_equal(disk_read_data(f.dfs, m.pblk, 1, got), 0);
			assert_memory_equal(got, want, 1024);
		}
		fclose(fp);
	}
	/* grow it into the double-indirect range, and a new block-mapped file */
	write_blocks(file, 300, 40, 0x3c, &extents);
	disk_iput(file);
	r = root(&f);
	assert_int_equal(disk_create(r, "new", 3, S_IFREG | 0644, 0, &file), 0);
	file->raw.i_flags &= ~EXT4_EXTENTS_FL;	/* an ext3 file system: no extents */
	disk_mark_inode_dirty(file);
	write_blocks(file, 0, 20, 0x11, &extents);
	disk_iput(file);
	disk_iput(r);
	do_unmount(&f);
	fsck_clean(&f);
	do_mount(&f);
	file = lookup_path(&f, "/old");
	check_blocks(file, 300, 40, 0x3c);
	disk_iput(file);
	file = lookup_path(&f, "/new");
	check_blocks(file, 0, 20, 0x11);
	disk_iput(file);
	r = root(&f);
	assert_int_equal(disk_unlink(r, "old", 3), 0);
	disk_iput(r);
	do_unmount(&f);
	fsck_clean(&f);
}

/* ---- htree directories (indexed by e2fsck -D) ---- */

static void test_htree_dir(void **state)
{
	struct fixture f;
	struct disk_inode *d;
	char name[64];
	ext2_ino_t ino;
	int i;

	snprintf(f.img, sizeof(f.img), "%s/htree-src", workdir);
	assert_int_equal(run("rm -rf %s && mkdir -p %s/big && cd %s/big && "
			     "for i in $(seq 1 1500); do : > name-$i; done", f.img, f.img, f.img), 0);
	{
		char srcdir[256];

		snprintf(srcdir, sizeof(srcdir), "%s", f.img);
		snprintf(f.img, sizeof(f.img), "%s/htree.img", workdir);
		assert_int_equal(run("mkfs.ext4 -q -F -O metadata_csum,64bit,^inline_data -b 1024 "
				     "-d %s %s 32M >/dev/null 2>&1", srcdir, f.img), 0);
	}
	run("e2fsck -fyD %s >/dev/null 2>&1", f.img);
	fsck_clean(&f);
	assert_int_equal(run("debugfs -R 'stat /big' %s 2>/dev/null | grep -q 'Flags: 0x.*1...'",
			     f.img), 0);
	do_mount(&f);
	d = lookup_path(&f, "/big");
	assert_true(d->raw.i_flags & EXT2_INDEX_FL);
	assert_int_equal(disk_lookup(d, "name-777", 8, &ino, NULL), 0);
	for (i = 1; i <= 1500; i += 3) {
		struct disk_inode *x;

		snprintf(name, sizeof(name), "name-%d", i);
		assert_int_equal(disk_unlink(d, name, strlen(name)), 0);
		snprintf(name, sizeof(name), "added-with-a-longer-name-%d", i);
		assert_int_equal(disk_create(d, name, strlen(name), S_IFREG | 0600, 0, &x), 0);
		disk_iput(x);
	}
	disk_iput(d);
	do_unmount(&f);
	fsck_clean(&f);
	do_mount(&f);
	d = lookup_path(&f, "/big");
	assert_int_equal(disk_lookup(d, "name-1", 6, &ino, NULL), -ENOENT);
	assert_int_equal(disk_lookup(d, "name-2", 6, &ino, NULL), 0);
	assert_int_equal(disk_lookup(d, "added-with-a-longer-name-1498", 29, &ino, NULL), 0);
	disk_iput(d);
	do_unmount(&f);
	assert_int_equal(run("debugfs -R 'ls -l /big' %s 2>/dev/null | grep -c added-with > %s/cnt && "
			     "test $(cat %s/cnt) = 500", f.img, workdir, workdir), 0);
}


/* ---- dir_nlink: more than 65000 subdirectories ---- */

static void test_dir_nlink(void **state)
{
	struct fixture *f = *state;
	struct disk_inode *r = root(f), *d, *sub;
	double t0 = now_sec();
	char name[32];
	unsigned i;

	assert_int_equal(disk_mkdir(r, "many", 4, 0755, &d), 0);
	for (i = 0; i < 65010; i++) {
		snprintf(name, sizeof(name), "d%u", i);
		assert_int_equal(disk_handle_start(f->dfs, 32), 0);
		assert_int_equal(disk_mkdir(d, name, strlen(name), 0755, &sub), 0);
		disk_iput(sub);
		assert_int_equal(disk_handle_stop(f->dfs), 0);
		if (i == 64997)
			assert_int_equal(d->raw.i_links_count, 65000);
	}
	print_message("65010 mkdirs: %.2f s\n", now_sec() - t0);
	assert_int_equal(d->raw.i_links_count, 1);
	assert_true(ext2fs_has_feature_dir_nlink(f->dfs->fs->super));
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "d%u", i);
		assert_int_equal(disk_rmdir(d, name, strlen(name)), 0);
		/* exact again once at or below EXT2_LINK_MAX */
		assert_int_equal(d->raw.i_links_count, 65010 - i - 1 + 2 > EXT2_LINK_MAX ? 1 : 65010 - i - 1 + 2);
	}
	disk_iput(d);
	disk_iput(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mount_root, setup_std, teardown_std),
		cmocka_unit_test_setup_teardown(test_create_write_read, setup_std, teardown_std),
		cmocka_unit_test_setup_teardown(test_prealloc_unwritten, setup_std, teardown_std),
		cmocka_unit_test_setup_teardown(test_namespace, setup_std, teardown_std),
		cmocka_unit_test_setup_teardown(test_mknod, setup_std, teardown_std),
		cmocka_unit_test_setup_teardown(test_xattr, setup_std, teardown_std),
		cmocka_unit_test_setup_teardown(test_unlink_frees, setup_std, teardown_std),
		cmocka_unit_test_setup_teardown(test_100k_entries, setup_many, teardown_std),
		cmocka_unit_test_setup_teardown(test_dir_nlink, setup_many, teardown_std),
		cmocka_unit_test_setup_teardown(test_enospc, setup_tiny, teardown_std),
		cmocka_unit_test(test_corrupt_super),
		cmocka_unit_test(test_corrupt_dir),
		cmocka_unit_test(test_refuse_features),
		cmocka_unit_test(test_blockmap_files),
		cmocka_unit_test(test_htree_dir),
	};
	int ret;

	if (!mkdtemp(workdir)) {
		perror("mkdtemp");
		return 1;
	}
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	run("rm -rf %s", workdir);
	return ret;
}
