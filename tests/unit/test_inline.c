/*
 * tests/unit/test_inline.c - inline/ against the kernel's layout and decisions:
 * the in-inode xattr bytes, max inline sizes 128/384/896, growth byte by byte,
 * truncate, conversion, inline dirs and symlinks, and corrupt inline inodes,
 * on images made by mkfs.ext4 and checked by e2fsck -fn.  Deterministic; set
 * INLINE_TEST_KEEP=1 to keep the images a failure names.
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
#include <cmocka.h>

#include "libfs/disk/disk.h"
#include "inline/inline.h"
#include "inline/inline_internal.h"

static char workdir[] = "/tmp/e4lab-test-inline-XXXXXX";

static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* ---- the ibody area alone (no I/O) ---- */

static void iloc_init(struct inl_iloc *loc, uint8_t *buf, unsigned isize)
{
	memset(buf, 0, isize);
	loc->buf = buf;
	loc->isize = isize;
	loc->ibody = 128 + 32;
}

static void test_max_value(void **state)
{
	static const unsigned isizes[] = { 256, 512, 1024 }, expect[] = { 68, 324, 836 };
	struct inl_ibody_scan scan;
	struct inl_iloc loc;
	uint8_t buf[1024];
	const char *why = NULL;
	unsigned i;

	(void)state;
	for (i = 0; i < 3; i++) {
		iloc_init(&loc, buf, isizes[i]);
		assert_int_equal(inl_ibody_scan(&loc, &scan, &why), 0);
		assert_int_equal(inl_ibody_max_value(&loc, &scan), expect[i]);
		/* With system.data present its own value counts as free. */
		assert_int_equal(inl_ibody_set_data(&loc, 10), 0);
		assert_int_equal(inl_ibody_scan(&loc, &scan, &why), 0);
		assert_int_equal(inl_ibody_max_value(&loc, &scan), expect[i]);
		assert_int_equal(inl_ibody_set_data(&loc, expect[i]), 0);
		assert_int_equal(inl_ibody_set_data(&loc, expect[i] + 1), -ENOSPC);
	}
}

/* The bytes kernel 6.18 leaves for a 100-byte file in a 256-byte inode. */
static void test_kernel_layout(void **state)
{
	static const uint8_t entry[] = {
		0x00, 0x00, 0x02, 0xea,				/* magic */
		0x04, 0x07, 0x34, 0x00, 0, 0, 0, 0,		/* len, index, offs 52 */
		0x28, 0, 0, 0, 0, 0, 0, 0, 'd', 'a', 't', 'a',	/* size 40, hash 0 */
		0, 0, 0, 0,					/* end */
	};
	struct inl_ibody_scan scan;
	struct inl_iloc loc;
	uint8_t buf[256], zero[256] = { 0 };
	const char *why = NULL;

	(void)state;
	iloc_init(&loc, buf, 256);
	assert_int_equal(inl_ibody_set_data(&loc, 0), 0);
	assert_int_equal(inl_ibody_set_data(&loc, 40), 0);
	memset(inl_ifirst(&loc) + 52, 'a', 40);
	assert_memory_equal(buf + 160, entry, sizeof(entry));
	assert_memory_equal(buf + 160 + sizeof(entry), zero, 216 - 160 - sizeof(entry));
	/* Growing keeps the prefix and moves the value down. */
	assert_int_equal(inl_ibody_set_data(&loc, 68), 0);
	assert_int_equal(inl_ibody_scan(&loc, &scan, &why), 0);
	assert_int_equal(scan.data_voff, 24);
	assert_int_equal(inl_ifirst(&loc)[24], 'a');
	assert_int_equal(inl_ifirst(&loc)[24 + 39], 'a');
	assert_int_equal(inl_ifirst(&loc)[24 + 40], 0);
	/* Shrinking to 10 bytes. */
	assert_int_equal(inl_ibody_set_data(&loc, 10), 0);
	assert_int_equal(inl_ibody_scan(&loc, &scan, &why), 0);
	assert_int_equal(scan.data_voff, 92 - 12);
	assert_int_equal(inl_ifirst(&loc)[80 + 9], 'a');
	assert_int_equal(inl_ifirst(&loc)[80 + 10], 0);
	assert_memory_equal(buf + 160 + sizeof(entry), zero, 80 - 24);
	/* Removing it leaves nothing, magic included. */
	assert_int_equal(inl_ibody_remove_data(&loc), 0);
	assert_memory_equal(buf + 160, zero, 96);
}

static void test_ibody_corrupt(void **state)
{
	struct inl_ibody_scan scan;
	struct inl_iloc loc;
	uint8_t buf[256];
	const char *why = NULL;

	(void)state;
	iloc_init(&loc, buf, 256);
	assert_int_equal(inl_ibody_set_data(&loc, 40), 0);
	buf[164 + 8] = 0xff;	/* e_value_size 255 */
	assert_int_equal(inl_ibody_scan(&loc, &scan, &why), -EUCLEAN);
	assert_non_null(strstr(why, "value"));
	buf[164 + 8] = 40;
	buf[164] = 200;		/* e_name_len */
	assert_int_equal(inl_ibody_scan(&loc, &scan, &why), -EUCLEAN);
	assert_int_equal(inl_ibody_set_data(&loc, 10), -EUCLEAN);
}

/* ---- through libfs/disk on mkfs.ext4 images ---- */

struct img {
	char path[256];
	struct blk_dev *dev;
	struct disk_fs *dfs;
	struct disk_inode *root;
};

static void img_make(struct img *im, const char *name, unsigned isize)
{
	snprintf(im->path, sizeof(im->path), "%s/%s.img", workdir, name);
	assert_int_equal(sh("rm -f %s && truncate -s 16M %s && mkfs.ext4 -q -F -b 4096 "
			    "-O inline_data,^has_journal -I %u -N 512 %s", im->path,
			    im->path, isize, im->path), 0);
}

static void img_mount(struct img *im)
{
	int err = 0;

	im->dev = blk_open_image(im->path, 0, &err);
	assert_non_null(im->dev);
	assert_int_equal(disk_mount(im->dev, 0, &im->dfs), 0);
	assert_int_equal(disk_iget(im->dfs, EXT2_ROOT_INO, &im->root), 0);
}

static void img_umount(struct img *im)
{
	disk_iput(im->root);
	assert_int_equal(disk_unmount(im->dfs), 0);
	blk_close(im->dev);
}

static void img_fsck(struct img *im)
{
	if (sh("e2fsck -fn %s >/dev/null 2>&1", im->path) != 0) {
		sh("e2fsck -fn %s", im->path);
		fail_msg("e2fsck -fn is not clean on %s", im->path);
	}
}

static struct disk_inode *create(struct img *im, const char *name)
{
	struct disk_inode *inode = NULL;

	assert_int_equal(disk_create(im->root, name, strlen(name), LINUX_S_IFREG | 0644,
				     0, &inode), 0);
	inl_init_new_inode(inode);
	return inode;
}

/* The write path of the data layer, reduced to what inline/ decides. */
static void write_at(struct disk_inode *inode, const void *buf, unsigned len, uint64_t pos)
{
	int inline_path = 0;

	if (inl_may_inline(inode) || inl_has_inline_data(inode))
		assert_int_equal(inl_write_begin(inode, pos, len, &inline_path), 0);
	if (inline_path) {
		assert_int_equal(inl_write_end(inode, pos, len, buf), 0);
		assert_true(inl_check_state(inode));
		return;
	}
	/* Block path: one block files are enough here. */
	{
		struct disk_map map = { .lblk = 0, .len = 1 };
		uint8_t blk[4096];

		assert_true(pos + len <= 4096);
		assert_int_equal(disk_map_blocks(inode, &map, 1), 0);
		if (map.flags & DISK_MAP_NEW)
			memset(blk, 0, sizeof(blk));
		else
			assert_int_equal(disk_read_data(inode->dfs, map.pblk, 1, blk), 0);
		memcpy(blk + pos, buf, len);
		assert_int_equal(disk_write_data(inode->dfs, map.pblk, 1, blk), 0);
		if (pos + len > disk_i_size(inode))
			disk_set_i_size(inode, pos + len);
		assert_int_equal(disk_write_inode(inode), 0);
	}
}

static void read_all(struct disk_inode *inode, uint8_t *buf, unsigned len)
{
	if (inl_has_inline_data(inode)) {
		assert_int_equal(inl_read(inode, buf, len, 0), (ssize_t)len);
	} else {
		struct disk_map map = { .lblk = 0, .len = 1 };
		uint8_t blk[4096];

		assert_true(len <= 4096);
		assert_int_equal(disk_map_blocks(inode, &map, 0), 0);
		assert_true(map.flags & DISK_MAP_MAPPED);
		assert_int_equal(disk_read_data(inode->dfs, map.pblk, 1, blk), 0);
		memcpy(buf, blk, len);
	}
}

/* What debugfs reads for @path equals @data. */
static int file_matches(struct img *im, const char *path, const uint8_t *data, size_t len)
{
	char out[300];
	uint8_t back[8192];
	FILE *fp;
	size_t n;

	snprintf(out, sizeof(out), "%s/dump.out", workdir);
	if (sh("rm -f %s; debugfs -R 'dump %s %s' %s >/dev/null 2>&1", out, path, out,
	       im->path) != 0)
		return 0;
	fp = fopen(out, "rb");
	if (!fp)
		return 0;
	n = fread(back, 1, sizeof(back), fp);
	fclose(fp);
	return n == len && memcmp(back, data, len) == 0;
}

static void grow_byte_by_byte(unsigned isize, unsigned max)
{
	struct disk_inode *f;
	struct img im;
	uint8_t data[301], back[301];
	unsigned n;

	img_make(&im, "grow", isize);
	img_mount(&im);
	f = create(&im, "f");
	for (n = 0; n < 300; n++) {
		data[n] = (uint8_t)('A' + n % 26);
		write_at(f, data + n, 1, n);
		assert_int_equal(inl_has_inline_data(f), n + 1 <= max);
		if (n + 1 <= max)
			assert_int_equal(inl_inline_size(f), n + 1 < 60 ? 60 : n + 1);
		assert_int_equal(disk_i_size(f), n + 1);
		read_all(f, back, n + 1);
		assert_memory_equal(back, data, n + 1);
	}
	disk_iput(f);
	img_umount(&im);
	img_fsck(&im);
	assert_int_equal(file_matches(&im, "/f", data, 300), 1);
}

static void test_grow_256(void **state) { (void)state; grow_byte_by_byte(256, 128); }
static void test_grow_512(void **state) { (void)state; grow_byte_by_byte(512, 384); }

static void test_max_sizes(void **state)
{
	static const unsigned isizes[] = { 256, 512, 1024 }, expect[] = { 128, 384, 896 };
	struct disk_inode *f;
	struct img im;
	unsigned i;

	(void)state;
	for (i = 0; i < 3; i++) {
		img_make(&im, "max", isizes[i]);
		img_mount(&im);
		f = create(&im, "f");
		assert_int_equal(inl_max_inline_size(f), expect[i]);
		assert_int_equal(inl_fs_max_inline_size(im.dfs), expect[i]);
		disk_iput(f);
		img_umount(&im);
	}
}

/* Kernel 6.18: 100 -> 70 stays (value 10), -> 10 stays (value 0), 10 -> 60 stays,
 * 60 -> 61 converts; write of 129 at once never goes inline. */
static void test_truncate(void **state)
{
	struct disk_inode *f, *g;
	struct img im;
	uint8_t data[100], back[100];

	(void)state;
	memset(data, 'a', sizeof(data));
	img_make(&im, "trunc", 256);
	img_mount(&im);
	f = create(&im, "f");
	write_at(f, data, 100, 0);
	assert_int_equal(inl_inline_size(f), 100);
	assert_int_equal(inl_truncate(f, 70), 0);
	assert_int_equal(inl_inline_size(f), 70);
	assert_int_equal(inl_truncate(f, 10), 0);
	assert_int_equal(inl_inline_size(f), 60);
	assert_int_equal(inl_truncate(f, 60), 0);
	assert_true(inl_has_inline_data(f));
	read_all(f, back, 60);
	assert_memory_equal(back, data, 10);
	assert_int_equal(back[10], 0);
	assert_int_equal(back[59], 0);
	assert_int_equal(inl_truncate(f, 61), 0);
	assert_false(inl_has_inline_data(f));
	assert_int_equal(disk_i_size(f), 61);
	assert_int_equal(inl_truncate(f, 10), -ENODATA);
	assert_true(inl_check_state(f));
	disk_iput(f);
	g = create(&im, "g");
	{
		uint8_t big[129];

		memset(big, 'b', sizeof(big));
		write_at(g, big, 129, 0);
		assert_false(inl_has_inline_data(g));
		assert_false(inl_may_inline(g));
	}
	disk_iput(g);
	img_umount(&im);
	img_fsck(&im);
}

/* fallocate: an inline file converts; a new empty one only loses "may inline". */
static void test_convert(void **state)
{
	struct disk_inode *f, *g;
	struct img im;
	uint8_t data[90], back[90];

	(void)state;
	memset(data, 'c', sizeof(data));
	img_make(&im, "conv", 256);
	img_mount(&im);
	f = create(&im, "f");
	write_at(f, data, 90, 0);
	assert_int_equal(inl_convert_inline_data(f), 0);
	assert_false(inl_has_inline_data(f));
	assert_true(f->raw.i_flags & EXT4_EXTENTS_FL);
	read_all(f, back, 90);
	assert_memory_equal(back, data, 90);
	g = create(&im, "g");
	assert_int_equal(inl_convert_inline_data(g), 0);
	assert_false(inl_may_inline(g));
	write_at(g, data, 10, 0);
	assert_false(inl_has_inline_data(g));
	disk_iput(f);
	disk_iput(g);
	img_umount(&im);
	img_fsck(&im);
	assert_int_equal(sh("debugfs -R 'cat /f' %s 2>/dev/null | grep -q '^c\\{90\\}$'",
			    im.path), 0);
}

/* An inline dir grows into system.data once, then converts; e2fsck clean. */
static void test_dir(void **state)
{
	struct disk_inode *d = NULL, *c = NULL;
	struct img im;
	char name[32];
	int i, grew_at = -1, converted_at = -1;

	(void)state;
	img_make(&im, "dir", 256);
	img_mount(&im);
	assert_int_equal(disk_mkdir(im.root, "d", 1, 0755, &d), 0);
	assert_true(inl_has_inline_data(d));
	assert_int_equal(inl_inline_size(d), 60);
	assert_int_equal(disk_i_size(d), 60);
	assert_int_equal(inl_get32((uint8_t *)d->raw.i_block), EXT2_ROOT_INO);
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		assert_int_equal(disk_new_inode(im.dfs, d->ino, LINUX_S_IFREG | 0644, &c), 0);
		c->raw.i_links_count = 1;
		disk_mark_inode_dirty(c);
		assert_int_equal(disk_write_inode(c), 0);
		assert_int_equal(inl_dir_link(d, name, c->ino, EXT2_FT_REG_FILE), 0);
		disk_iput(c);
		if (grew_at < 0 && inl_has_inline_data(d) && inl_inline_size(d) > 60) {
			grew_at = i;
			assert_int_equal(inl_inline_size(d), 128);
			assert_int_equal(disk_i_size(d), 128);
		}
		if (converted_at < 0 && !inl_has_inline_data(d))
			converted_at = i;
	}
	/* Kernel 6.18: entries 1-4 in i_block, 5-9 in system.data, 10th converts. */
	assert_int_equal(grew_at, 4);
	assert_int_equal(converted_at, 9);
	assert_int_equal(disk_i_size(d), 4096);
	disk_iput(d);
	img_umount(&im);
	img_fsck(&im);
}

/*
 * Appends and truncates, compared with the kernel byte for byte: file aN grown
 * by N appends of one byte, tN truncated from 128 bytes to N, uN truncated
 * from 10 bytes up to N; on a kernel loop mount and through inline/; the
 * flags, the inline size, i_block (of inline files: an extent's block number
 * depends on the allocator) and the in-inode xattr area must be equal for
 * every N (256-byte inodes).  Skipped where mount is not permitted.
 */
static void test_appends_match_kernel(void **state)
{
	struct img kim, im;
	char mnt[300], kdump[300], edump[300];
	unsigned n, k;

	(void)state;
	snprintf(mnt, sizeof(mnt), "%s/mnt", workdir);
	img_make(&kim, "kapp", 256);
	if (geteuid() != 0 ||
	    sh("mkdir -p %s && mount -t ext4 -o loop %s %s 2>/dev/null", mnt, kim.path, mnt)) {
		print_message("kernel comparison skipped: cannot loop-mount ext4 here\n");
		skip();
	}
	if (sh("cd %s && for n in $(seq 1 %d); do : > a$n; for k in $(seq 1 $n); do "
	       "printf %%s $((k %% 10)) >> a$n; done; done && "
	       "for n in $(seq 0 128); do head -c 128 /dev/zero | tr '\\0' z > t$n; truncate -s $n t$n; done && "
	       "for n in $(seq 0 70); do printf 0123456789 > u$n; truncate -s $n u$n; done; "
	       "cd /; umount %s", mnt, 200, mnt)) {
		sh("umount %s 2>/dev/null", mnt);
		fail_msg("appending on the kernel mount failed");
	}
	img_make(&im, "eapp", 256);
	img_mount(&im);
	for (n = 1; n <= 200; n++) {
		struct disk_inode *f;
		char name[16];

		snprintf(name, sizeof(name), "a%u", n);
		f = create(&im, name);
		for (k = 1; k <= n; k++) {
			char c = (char)('0' + k % 10);

			write_at(f, &c, 1, k - 1);
		}
		disk_iput(f);
	}
	/* Truncates down from 128 bytes, and up from 10 bytes. */
	for (n = 0; n <= 128 + 71; n++) {
		struct disk_inode *f;
		uint8_t z[128];
		char name[16];
		unsigned size = n <= 128 ? n : n - 129;

		snprintf(name, sizeof(name), "%c%u", n <= 128 ? 't' : 'u', size);
		f = create(&im, name);
		memset(z, 'z', sizeof(z));
		if (n <= 128)
			write_at(f, z, 128, 0);
		else
			write_at(f, "0123456789", 10, 0);
		assert_int_equal(inl_truncate(f, size), 0);
		disk_iput(f);
	}
	img_umount(&im);
	img_fsck(&im);
	snprintf(kdump, sizeof(kdump), "%s/k.dump", workdir);
	snprintf(edump, sizeof(edump), "%s/e.dump", workdir);
	/* One line per file: flags, inline size, i_block and xattr area in hex. */
	assert_int_equal(sh("for img in %s:%s %s:%s; do i=${img%%%%:*}; o=${img#*:}; "
			    ": > $o.cmds; for f in $(seq -f a%%g 1 200) $(seq -f t%%g 0 128) $(seq -f u%%g 0 70); do "
			    "echo \"stat /$f\"; case $f in a129|a1[3-9]?|a2??|u6[1-9]|u70) ;; "
			    "*) echo \"inode_dump -b /$f\";; esac; echo \"inode_dump -e /$f\"; "
			    "done >> $o.cmds; "
			    "debugfs -f $o.cmds $i 2>/dev/null | grep -E '^Inode:|Size of inline|^[0-9]{4}  |^\\*|EXTENTS|system.data' > $o; done",
			    kim.path, kdump, im.path, edump), 0);
	/* 400 files, 128 + 129 + 61 inline (u61..u70 converted). */
	assert_int_equal(sh("[ $(grep -c 'Flags: 0x' %s) = 400 ] && [ $(grep -c 'Size of inline' %s) = 318 ]",
			    kdump, kdump), 0);
	if (sh("cmp -s %s %s", kdump, edump) != 0) {
		sh("diff %s %s | head -20", kdump, edump);
		fail_msg("appends: e4lab's inodes differ from the kernel's (images %s %s)",
			 kim.path, im.path);
	}
}

/*
 * Symlinks of 1..300 bytes made as kernel 6.18 makes them (fast below 60
 * bytes with flags 0, else one block with EXTENTS_FL), read back, e2fsck
 * clean; an inline symlink made by debugfs reads back too.
 */
static void test_symlinks(void **state)
{
	struct disk_inode *l = NULL;
	struct img im;
	char target[301], back[400], name[32];
	unsigned n;

	(void)state;
	img_make(&im, "sym", 256);
	assert_int_equal(sh("debugfs -w -R 'symlink /inl %080d' %s >/dev/null 2>&1", 0,
			    im.path), 0);
	img_mount(&im);
	for (n = 1; n <= 300; n++) {
		memset(target, 'a' + n % 26, n);
		target[n] = 0;
		snprintf(name, sizeof(name), "s%u", n);
		assert_int_equal(disk_new_inode(im.dfs, EXT2_ROOT_INO, LINUX_S_IFLNK | 0777, &l), 0);
		l->raw.i_links_count = 1;
		disk_mark_inode_dirty(l);
		assert_int_equal(inl_symlink_init(l, target, n), 0);
		assert_int_equal(inl_dir_link(im.root, name, l->ino, EXT2_FT_SYMLINK), 0);
		assert_int_equal(l->raw.i_flags & (EXT4_EXTENTS_FL | EXT4_INLINE_DATA_FL),
				 n < 60 ? 0 : EXT4_EXTENTS_FL);
		assert_int_equal(inl_readlink(l, back, sizeof(back)), n);
		assert_string_equal(back, target);
		disk_iput(l);
	}
	assert_int_equal(disk_namei(im.dfs, "/inl", 0, &l), 0);
	assert_true(inl_has_inline_data(l));
	assert_int_equal(inl_readlink(l, back, sizeof(back)), 80);
	memset(target, '0', 80);
	target[80] = 0;
	assert_string_equal(back, target);
	/* A short buffer gets a prefix and the full length. */
	assert_int_equal(inl_readlink(l, back, 10), 80);
	assert_memory_equal(back, target, 10);
	disk_iput(l);
	img_umount(&im);
	img_fsck(&im);
	assert_int_equal(sh("[ \"$(debugfs -R 'stat /s59' %s 2>/dev/null | grep -o 'Flags: 0x[0-9a-f]*')\" = 'Flags: 0x0' ] && "
			    "[ \"$(debugfs -R 'stat /s60' %s 2>/dev/null | grep -o 'Flags: 0x[0-9a-f]*')\" = 'Flags: 0x80000' ] && "
			    "[ \"$(debugfs -R 'stat /s300' %s 2>/dev/null | grep -o 'Fast link dest')\" = '' ]",
			    im.path, im.path, im.path), 0);
}

/*
 * Corrupt inline inodes made with debugfs: each is reported by name (inode
 * number and defect), every entry point returns -EUCLEAN, and the inode's
 * bytes on disk are the same afterwards.
 */
static void corrupt_case(const char *what, const char *cmds, const char *expect)
{
	struct disk_inode *f = NULL;
	struct img im;
	char before[300], after[300], errf[300], src[300];
	uint8_t buf[128];
	int inline_path = 0, saved_fd, fd, found, rc[5], i;

	img_make(&im, "bad", 256);
	snprintf(src, sizeof(src), "%s/x100", workdir);
	snprintf(before, sizeof(before), "%s/before", workdir);
	snprintf(after, sizeof(after), "%s/after", workdir);
	snprintf(errf, sizeof(errf), "%s/stderr", workdir);
	assert_int_equal(sh("printf '%%100s' x > %s && debugfs -w -R 'write %s f' %s >/dev/null 2>&1",
			    src, src, im.path), 0);
	assert_int_equal(sh(cmds, im.path, im.path, im.path, im.path), 0);
	assert_int_equal(sh("debugfs -R 'inode_dump /f' %s > %s 2>/dev/null", im.path, before), 0);

	fflush(stderr);
	saved_fd = dup(2);
	fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(saved_fd >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	img_mount(&im);
	found = disk_namei(im.dfs, "/f", 0, &f);
	if (!found) {
		rc[0] = (int)inl_read(f, buf, sizeof(buf), 0);
		rc[1] = inl_write_begin(f, 0, 10, &inline_path);
		rc[2] = inl_truncate(f, 10);
		rc[3] = inl_convert_inline_data(f);
		rc[4] = inl_inline_size(f);
		disk_iput(f);
	}
	img_umount(&im);
	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	if (found) {
		sh("cat %s", errf);
		fail_msg("%s: lookup of /f failed: %d", what, found);
	}
	for (i = 0; i < 5; i++)
		if (rc[i] != -EUCLEAN)
			fail_msg("%s: call %d returned %d, not -EUCLEAN", what, i, rc[i]);
	assert_int_equal(inline_path, 0);

	assert_int_equal(sh("debugfs -R 'inode_dump /f' %s > %s 2>/dev/null", im.path, after), 0);
	if (sh("cmp -s %s %s", before, after) != 0)
		fail_msg("%s: the inode was written back", what);
	if (sh("grep -q 'inode 12: corrupt inline data: .*%s' %s", expect, errf) != 0) {
		sh("cat %s", errf);
		fail_msg("%s: no report naming inode 12 and '%s'", what, expect);
	}
}

static void test_corrupt(void **state)
{
	(void)state;
	corrupt_case("missing system.data",
		     "debugfs -w -R 'ea_rm /f system.data' %s >/dev/null 2>&1", "missing");
	corrupt_case("inline + extents",
		     "debugfs -w -R 'sif /f flags 0x10080000' %s >/dev/null 2>&1",
		     "EXTENTS_FL");
	corrupt_case("size past the max",
		     "debugfs -w -R 'sif /f size 200' %s >/dev/null 2>&1", "i_size");
	/* e_value_size of system.data (inode 12 at block 35 + 0xb00) = 0x200. */
	corrupt_case("truncated xattr area",
		     "off=$(debugfs -R 'imap /f' %s 2>/dev/null | sed -n 's/.*block \\([0-9]*\\), offset \\(0x[0-9a-f]*\\).*/\\1 \\2/p');"
		     " set -- $off; printf '\\000\\002' | dd of=%s bs=1 seek=$(($1 * 4096 + $2 + 172))"
		     " conv=notrunc 2>/dev/null && debugfs -n -w -R 'sif /f checksum calc' %s >/dev/null 2>&1",
		     "past the end");
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(workdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	if (!getenv("INLINE_TEST_KEEP"))
		sh("rm -rf %s", workdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_max_value),
		cmocka_unit_test(test_kernel_layout),
		cmocka_unit_test(test_ibody_corrupt),
		cmocka_unit_test(test_max_sizes),
		cmocka_unit_test(test_grow_256),
		cmocka_unit_test(test_grow_512),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_convert),
		cmocka_unit_test(test_dir),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_symlinks),
		cmocka_unit_test(test_appends_match_kernel),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
