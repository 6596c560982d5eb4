/*
 * tests/unit/test_api.c - include/e4lab.h end to end on scratch images made by
 * mkfs.ext4: files through the data path, the namespace, attributes, xattrs,
 * ENOSPC, read-only images; e2fsck -fn and debugfs are the oracles.
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
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <linux/falloc.h>
#include <cmocka.h>

#include "e4lab.h"

static char workdir[] = "/tmp/e4lab-test-api-XXXXXX";

struct fixture {
	char img[256];
	struct e4_fs *fs;
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

static void fsck_clean(const char *img)
{
	if (run("e2fsck -fn %s >/dev/null 2>&1", img) != 0) {
		run("e2fsck -fn %s", img);
		fail_msg("e2fsck -fn %s is not clean", img);
	}
}

static void mount_rw(struct fixture *f)
{
	int err = e4_mount(f->img, NULL, &f->fs);

	if (err)
		fail_msg("e4_mount %s: %s", f->img, e4_strerror(err));
}

static void remount(struct fixture *f)
{
	assert_int_equal(e4_unmount(f->fs), 0);
	f->fs = NULL;
	fsck_clean(f->img);
	mount_rw(f);
}

static int setup_img(void **state, const char *opts, const char *size)
{
	struct fixture *f = calloc(1, sizeof(*f));
	static int n;

	snprintf(f->img, sizeof(f->img), "%s/img%d", workdir, n++);
	if (run("mkfs.ext4 -q -F %s %s %s >/dev/null 2>&1", opts, f->img, size))
		fail_msg("mkfs.ext4 %s failed", opts);
	mount_rw(f);
	*state = f;
	return 0;
}

static int setup_std(void **state)
{
	return setup_img(state, "-O inline_data,metadata_csum,64bit -b 4096 -I 256", "64M");
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->fs)
		assert_int_equal(e4_unmount(f->fs), 0);
	fsck_clean(f->img);
	unlink(f->img);
	free(f);
	return 0;
}

static void fill(char *buf, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (char)((i * 31 + seed * 7 + (i >> 12)) & 0xff);
}

static void write_file(struct e4_fs *fs, const char *path, const char *buf, size_t len)
{
	struct e4_file *fp;

	assert_int_equal(e4_open(fs, path, O_CREAT | O_WRONLY | O_TRUNC, 0644, &fp), 0);
	assert_int_equal(e4_pwrite(fp, buf, len, 0), (ssize_t)len);
	assert_int_equal(e4_close(fp), 0);
}

static void check_file(struct e4_fs *fs, const char *path, const char *want, size_t len)
{
	struct e4_file *fp;
	char *got = malloc(len + 16);

	assert_int_equal(e4_open(fs, path, O_RDONLY, 0, &fp), 0);
	assert_int_equal(e4_pread(fp, got, len + 16, 0), (ssize_t)len);
	assert_memory_equal(got, want, len);
	assert_int_equal(e4_close(fp), 0);
	free(got);
}

/* debugfs reads back what we wrote, byte for byte. */
static void check_debugfs(struct fixture *f, const char *path, const char *want, size_t len)
{
	char out[300];
	FILE *fp;
	char *got = malloc(len + 1);

	snprintf(out, sizeof(out), "%s/dump.out", workdir);
	unlink(out);
	assert_int_equal(run("debugfs -R 'dump %s %s' %s >/dev/null 2>&1", path, out, f->img), 0);
	fp = fopen(out, "rb");
	assert_non_null(fp);
	assert_int_equal(fread(got, 1, len + 1, fp), len);
	fclose(fp);
	assert_memory_equal(got, want, len);
	free(got);
}

/* ---- tests ---- */

static void test_info(void **state)
{
	struct fixture *f = *state;
	struct e4_info info;

	assert_int_equal(e4_info(f->fs, &info), 0);
	assert_int_equal(info.block_size, 4096);
	assert_int_equal(info.inode_size, 256);
	assert_int_equal(info.blocks_count, 16384);
	assert_true(info.free_blocks > 0 && info.free_blocks < info.blocks_count);
	assert_int_equal(info.max_inline_size, 128);
	assert_non_null(strstr(info.features, "has_journal"));
	assert_non_null(strstr(info.features, "inline_data"));
	assert_non_null(strstr(info.features, "metadata_csum"));
	assert_non_null(strstr(info.features, "64bit"));
	assert_int_equal(run("dumpe2fs -h %s 2>/dev/null | grep -q '^Filesystem features: *%s$'",
			     f->img, info.features), 0);
	assert_string_equal(e4_strerror(-EUCLEAN),
			    "Structure needs cleaning (corrupt file system)");
	assert_string_equal(e4_strerror(-ENOSPC), strerror(ENOSPC));
}

static void test_small_and_large_files(void **state)
{
	struct fixture *f = *state;
	static char big[512 * 1024 + 123], small[100];
	struct e4_stat st;

	fill(big, sizeof(big), 1);
	fill(small, sizeof(small), 2);
	write_file(f->fs, "/small", small, sizeof(small));
	write_file(f->fs, "/big", big, sizeof(big));
	assert_int_equal(e4_stat(f->fs, "/small", &st), 0);
	assert_int_equal(st.size, sizeof(small));
	assert_int_equal(st.is_inline, 1);	/* 100 bytes fit in 128 */
	assert_int_equal(st.inline_size, sizeof(small));
	assert_int_equal(st.blocks, 0);
	assert_true(S_ISREG(st.mode));
	assert_int_equal(st.nlink, 1);
	assert_int_equal(e4_stat(f->fs, "/big", &st), 0);
	assert_int_equal(st.size, sizeof(big));
	check_file(f->fs, "/small", small, sizeof(small));
	check_file(f->fs, "/big", big, sizeof(big));
	remount(f);
	check_file(f->fs, "/small", small, sizeof(small));
	check_file(f->fs, "/big", big, sizeof(big));
	assert_int_equal(e4_stat(f->fs, "/big", &st), 0);
	assert_int_equal(st.blocks, (sizeof(big) + 4095) / 4096 * 8);
	assert_int_equal(e4_unmount(f->fs), 0);
	f->fs = NULL;
	check_debugfs(f, "/big", big, sizeof(big));
	check_debugfs(f, "/small", small, sizeof(small));
	/* one extent for the 512 KiB put (plus at most one for the tail) */
	assert_int_equal(run("test $(debugfs -R 'ex /big' %s 2>/dev/null | grep -c '^ *0/') -le 2",
			     f->img), 0);
	mount_rw(f);
}

static void test_open_flags(void **state)
{
	struct fixture *f = *state;
	struct e4_file *fp, *fp2;
	struct e4_stat st;
	char buf[64];

	assert_int_equal(e4_open(f->fs, "/none", O_RDONLY, 0, &fp), -ENOENT);
	assert_int_equal(e4_open(f->fs, "/a", O_CREAT | O_EXCL | O_RDWR, 0600, &fp), 0);
	assert_int_equal(e4_open(f->fs, "/a", O_CREAT | O_EXCL | O_RDWR, 0600, &fp2), -EEXIST);
	assert_int_equal(e4_pwrite(fp, "hello world", 11, 0), 11);
	assert_int_equal(e4_close(fp), 0);
	/* O_APPEND writes at the end whatever the offset */
	assert_int_equal(e4_open(f->fs, "/a", O_WRONLY | O_APPEND, 0, &fp), 0);
	assert_int_equal(e4_pwrite(fp, "!!", 2, 0), 2);
	assert_int_equal(e4_pread(fp, buf, 2, 0), -EBADF);
	assert_int_equal(e4_close(fp), 0);
	check_file(f->fs, "/a", "hello world!!", 13);
	/* O_TRUNC */
	assert_int_equal(e4_open(f->fs, "/a", O_RDWR | O_TRUNC, 0, &fp), 0);
	assert_int_equal(e4_fstat(fp, &st), 0);
	assert_int_equal(st.size, 0);
	assert_int_equal(st.mode & 07777, 0600);
	assert_int_equal(e4_close(fp), 0);
	/* directories */
	assert_int_equal(e4_open(f->fs, "/", O_RDWR, 0, &fp), -EISDIR);
	assert_int_equal(e4_open(f->fs, "/", O_RDONLY, 0, &fp), 0);
	assert_int_equal(e4_pread(fp, buf, 1, 0), -EISDIR);
	assert_int_equal(e4_close(fp), 0);
	/* read-only open cannot write */
	assert_int_equal(e4_open(f->fs, "/a", O_RDONLY, 0, &fp), 0);
	assert_int_equal(e4_pwrite(fp, "x", 1, 0), -EBADF);
	assert_int_equal(e4_close(fp), 0);
}

static void test_truncate_fallocate(void **state)
{
	struct fixture *f = *state;
	static char data[40000];
	struct e4_file *fp;
	struct e4_stat st;

	fill(data, sizeof(data), 3);
	write_file(f->fs, "/t", data, sizeof(data));
	assert_int_equal(e4_truncate(f->fs, "/t", 5000), 0);
	assert_int_equal(e4_stat(f->fs, "/t", &st), 0);
	assert_int_equal(st.size, 5000);
	assert_int_equal(st.blocks, 2 * 8);
	check_file(f->fs, "/t", data, 5000);
	assert_int_equal(e4_open(f->fs, "/t", O_RDWR, 0, &fp), 0);
	assert_int_equal(e4_ftruncate(fp, 12000), 0);
	{
		char buf[12000], want[12000];

		memcpy(want, data, 5000);
		memset(want + 5000, 0, 7000);
		assert_int_equal(e4_pread(fp, buf, sizeof(buf), 0), 12000);
		assert_memory_equal(buf, want, sizeof(want));
	}
	assert_int_equal(e4_fallocate(fp, FALLOC_FL_KEEP_SIZE, 0, 1 << 20), 0);
	assert_int_equal(e4_fstat(fp, &st), 0);
	assert_int_equal(st.size, 12000);
	assert_int_equal(st.blocks, (1 << 20) / 512);
	assert_int_equal(e4_fallocate(fp, 0, 0, 2 << 20), 0);
	assert_int_equal(e4_fstat(fp, &st), 0);
	assert_int_equal(st.size, 2 << 20);
	assert_int_equal(e4_fallocate(fp, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				      1 << 20, 1 << 20), 0);
	assert_int_equal(e4_fstat(fp, &st), 0);
	assert_int_equal(st.blocks, (1 << 20) / 512);
	assert_int_equal(e4_close(fp), 0);
}

static int count_cb(void *arg, const char *name, size_t len, uint32_t ino, unsigned dt)
{
	unsigned *n = arg;

	if (len == 3 && memcmp(name, "sub", 3) == 0)
		assert_int_equal(dt, DT_DIR);
	(*n)++;
	return 0;
}

static int stop_cb(void *arg, const char *name, size_t len, uint32_t ino, unsigned dt)
{
	return 42;
}

static void test_namespace(void **state)
{
	struct fixture *f = *state;
	struct e4_stat st, st2;
	char buf[256];
	unsigned n = 0;

	assert_int_equal(e4_mkdir(f->fs, "/d", 0750), 0);
	assert_int_equal(e4_mkdir(f->fs, "/d", 0750), -EEXIST);
	assert_int_equal(e4_mkdir(f->fs, "/d/sub", 0755), 0);
	assert_int_equal(e4_stat(f->fs, "/d", &st), 0);
	assert_true(S_ISDIR(st.mode));
	assert_int_equal(st.mode & 07777, 0750);
	assert_int_equal(st.nlink, 3);
	write_file(f->fs, "/d/sub/file", "content", 7);
	assert_int_equal(e4_rmdir(f->fs, "/d/sub"), -ENOTEMPTY);
	assert_int_equal(e4_link(f->fs, "/d/sub/file", "/hard"), 0);
	assert_int_equal(e4_stat(f->fs, "/hard", &st), 0);
	assert_int_equal(st.nlink, 2);
	assert_int_equal(e4_symlink(f->fs, "d/sub/file", "/sym"), 0);
	assert_int_equal(e4_readlink(f->fs, "/sym", buf, sizeof(buf)), 10);
	assert_string_equal(buf, "d/sub/file");
	assert_int_equal(e4_stat(f->fs, "/sym", &st), 0);
	assert_true(S_ISLNK(st.mode));
	check_file(f->fs, "/sym", "content", 7);	/* e4_open follows */
	assert_int_equal(e4_rename(f->fs, "/d/sub", "/moved"), 0);
	assert_int_equal(e4_stat(f->fs, "/d", &st), 0);
	assert_int_equal(st.nlink, 2);
	assert_int_equal(e4_stat(f->fs, "/sym", &st), 0);
	check_file(f->fs, "/moved/file", "content", 7);
	assert_int_equal(e4_rename(f->fs, "/hard", "/moved/file"), 0);	/* same inode */
	assert_int_equal(e4_unlink(f->fs, "/moved/file"), 0);
	assert_int_equal(e4_stat(f->fs, "/hard", &st), 0);
	assert_int_equal(st.nlink, 1);
	assert_int_equal(e4_rmdir(f->fs, "/moved"), 0);
	assert_int_equal(e4_stat(f->fs, "/moved", &st), -ENOENT);
	assert_int_equal(e4_mknod(f->fs, "/tty", S_IFCHR | 0620, makedev(4, 1)), 0);
	assert_int_equal(e4_stat(f->fs, "/tty", &st), 0);
	assert_int_equal(st.rdev, makedev(4, 1));
	assert_int_equal(e4_mknod(f->fs, "/fifo", S_IFIFO | 0600, 0), 0);
	assert_int_equal(e4_readdir(f->fs, "/", count_cb, &n), 0);
	/* . .. lost+found d sym hard tty fifo */
	assert_int_equal(n, 8);
	assert_int_equal(e4_readdir(f->fs, "/", stop_cb, NULL), 42);
	/* attributes */
	assert_int_equal(e4_chmod(f->fs, "/hard", 04711), 0);
	assert_int_equal(e4_chown(f->fs, "/hard", 100000, 7), 0);
	{
		struct timespec ts[2] = { { 1000000000, 123 }, { 2000000000, 456789 } };

		assert_int_equal(e4_utimens(f->fs, "/hard", ts), 0);
	}
	remount(f);
	assert_int_equal(e4_stat(f->fs, "/hard", &st2), 0);
	assert_int_equal(st2.mode, S_IFREG | 04711);
	assert_int_equal(st2.uid, 100000);
	assert_int_equal(st2.gid, 7);
	assert_int_equal(st2.atime.tv_sec, 1000000000);
	assert_int_equal(st2.atime.tv_nsec, 123);
	assert_int_equal(st2.mtime.tv_sec, 2000000000);
	assert_int_equal(st2.mtime.tv_nsec, 456789);
	assert_true(st2.ctime.tv_sec > 2000000000 || st2.ctime.tv_sec > 1600000000);
	check_file(f->fs, "/hard", "content", 7);
	assert_int_equal(e4_rmdir(f->fs, "/"), -EBUSY);
	assert_int_equal(e4_unlink(f->fs, "/d"), -EISDIR);
}

static void test_xattrs(void **state)
{
	struct fixture *f = *state;
	char list[128], val[16];

	write_file(f->fs, "/x", "x", 1);
	assert_int_equal(e4_setxattr(f->fs, "/x", "user.color", "blue", 4, 0), 0);
	assert_int_equal(e4_setxattr(f->fs, "/x", "user.color", "red", 3, XATTR_CREATE), -EEXIST);
	assert_int_equal(e4_setxattr(f->fs, "/x", "user.color", "red", 3, XATTR_REPLACE), 0);
	assert_int_equal(e4_getxattr(f->fs, "/x", "user.color", val, sizeof(val)), 3);
	assert_memory_equal(val, "red", 3);
	assert_int_equal(e4_listxattr(f->fs, "/x", list, sizeof(list)), 11);
	assert_string_equal(list, "user.color");
	remount(f);
	assert_int_equal(e4_getxattr(f->fs, "/x", "user.color", NULL, 0), 3);
	assert_int_equal(e4_removexattr(f->fs, "/x", "user.color"), 0);
	assert_int_equal(e4_getxattr(f->fs, "/x", "user.color", NULL, 0), -ENODATA);
}

static void test_unlink_open_file(void **state)
{
	struct fixture *f = *state;
	static char data[100000];
	struct e4_info a, b;
	struct e4_file *fp;

	fill(data, sizeof(data), 5);
	assert_int_equal(e4_info(f->fs, &a), 0);
	write_file(f->fs, "/u", data, sizeof(data));
	assert_int_equal(e4_open(f->fs, "/u", O_RDONLY, 0, &fp), 0);
	assert_int_equal(e4_unlink(f->fs, "/u"), 0);
	{
		char buf[sizeof(data)];

		assert_int_equal(e4_pread(fp, buf, sizeof(buf), 0), sizeof(buf));
		assert_memory_equal(buf, data, sizeof(data));
	}
	assert_int_equal(e4_close(fp), 0);
	assert_int_equal(e4_info(f->fs, &b), 0);
	assert_int_equal(a.free_blocks, b.free_blocks);
	assert_int_equal(a.free_inodes, b.free_inodes);
}

/* A copy of the live image after fsync is a crash at that point: after journal
 * replay (e2fsck -E journal_only) it is clean and holds the data. */
static void test_fsync_live_image(void **state)
{
	struct fixture *f = *state;
	static char data[70000];
	struct fixture copy;
	struct e4_file *fp;

	fill(data, sizeof(data), 6);
	assert_int_equal(e4_open(f->fs, "/synced", O_CREAT | O_RDWR, 0644, &fp), 0);
	assert_int_equal(e4_pwrite(fp, data, sizeof(data), 0), sizeof(data));
	assert_int_equal(e4_fsync(fp), 0);
	snprintf(copy.img, sizeof(copy.img), "%s/crashed.img", workdir);
	assert_int_equal(run("cp %s %s", f->img, copy.img), 0);
	run("e2fsck -y -E journal_only %s >/dev/null 2>&1", copy.img);
	fsck_clean(copy.img);
	check_debugfs(&copy, "/synced", data, sizeof(data));
	assert_int_equal(e4_close(fp), 0);
	assert_int_equal(e4_sync(f->fs), 0);
	unlink(copy.img);
}

static int setup_tiny(void **state)
{
	return setup_img(state, "-O inline_data,metadata_csum,64bit,^has_journal -b 1024 -N 64",
			 "2M");
}

static void test_enospc(void **state)
{
	struct fixture *f = *state;
	static char chunk[65536];
	struct e4_file *fp;
	uint64_t off = 0;
	ssize_t n = 0;
	int i, err = 0;

	fill(chunk, sizeof(chunk), 7);
	assert_int_equal(e4_open(f->fs, "/fill", O_CREAT | O_RDWR, 0644, &fp), 0);
	for (i = 0; i < 100; i++) {
		n = e4_pwrite(fp, chunk, sizeof(chunk), off);
		if (n < (ssize_t)sizeof(chunk))
			break;
		off += n;
	}
	assert_true(n == -ENOSPC || (n >= 0 && n < (ssize_t)sizeof(chunk)));
	if (n > 0)
		off += n;
	assert_int_equal(e4_close(fp), 0);
	for (i = 0; i < 200 && !err; i++) {
		char name[32];

		snprintf(name, sizeof(name), "/n%d", i);
		err = e4_mkdir(f->fs, name, 0755);
	}
	assert_int_equal(err, -ENOSPC);
	remount(f);
	{
		struct e4_stat st;

		assert_int_equal(e4_stat(f->fs, "/fill", &st), 0);
		assert_int_equal(st.size, off);
	}
	assert_int_equal(e4_unlink(f->fs, "/fill"), 0);
}

static void test_read_only_gz(void **state)
{
	struct fixture f;
	struct e4_fs *fs;
	struct e4_file *fp;
	char gz[300], buf[16];

	snprintf(f.img, sizeof(f.img), "%s/ro.img", workdir);
	assert_int_equal(run("mkfs.ext4 -q -F -O inline_data %s 16M >/dev/null 2>&1", f.img), 0);
	f.fs = NULL;
	mount_rw(&f);
	write_file(f.fs, "/hello", "hello, gz", 9);
	assert_int_equal(e4_unmount(f.fs), 0);
	snprintf(gz, sizeof(gz), "%s.gz", f.img);
	assert_int_equal(run("gzip -kf %s", f.img), 0);
	assert_int_equal(e4_mount(gz, NULL, &fs), 0);
	check_file(fs, "/hello", "hello, gz", 9);
	assert_int_equal(e4_mkdir(fs, "/nope", 0755), -EROFS);
	assert_int_equal(e4_open(fs, "/hello", O_RDWR, 0, &fp), -EROFS);
	assert_int_equal(e4_open(fs, "/hello", O_RDONLY, 0, &fp), 0);
	assert_int_equal(e4_pread(fp, buf, sizeof(buf), 0), 9);
	assert_int_equal(e4_close(fp), 0);
	assert_int_equal(e4_unmount(fs), 0);
	fsck_clean(f.img);
}


/* ---- crash cuts: the image after any cut is consistent once replayed ---- */

static void note_crash(void *arg)
{
	*(int *)arg = 1;
}

/* After the cut every write fails: nothing here may assert. */
static void try_write_file(struct e4_fs *fs, const char *path, const char *buf, size_t len)
{
	struct e4_file *fp;

	if (e4_open(fs, path, O_CREAT | O_WRONLY | O_TRUNC, 0644, &fp) != 0)
		return;
	e4_pwrite(fp, buf, len, 0);
	e4_close(fp);
}

static void crash_workload(struct e4_fs *fs)
{
	static char data[20000];
	char path[64];
	int i;

	fill(data, sizeof(data), 9);
	e4_mkdir(fs, "/w", 0755);
	for (i = 0; i < 12; i++) {
		snprintf(path, sizeof(path), "/w/f%d", i);
		try_write_file(fs, path, data, (size_t)(i * 1700) % sizeof(data));
	}
	e4_rename(fs, "/w/f3", "/w/renamed");
	e4_unlink(fs, "/w/f4");
	e4_symlink(fs, "/w/renamed", "/w/link");
	e4_sync(fs);
	e4_mkdir(fs, "/w/sub", 0700);
	e4_rename(fs, "/w/f5", "/w/sub/f5");
}

/*
 * Cut the image after block write 1, 1+step, ... until the workload runs to
 * the end.  A 1 ms commit interval makes the journal commit at nearly every
 * handle start, so most cuts land inside or between commits it chose itself.
 * After replaying the journal only (no repairs), e2fsck -fn must be clean.
 * @every: cut after every block write (with commits never by time, so the
 * writes are the same from run to run and each cut is reproducible).
 */
static void crash_cuts(enum e4_data_mode mode, int every)
{
	char img[300], cut[300];
	unsigned runs = 0, ncrashed = 0;
	uint64_t n;

	snprintf(img, sizeof(img), "%s/crash.img", workdir);
	snprintf(cut, sizeof(cut), "%s/cut.img", workdir);
	assert_int_equal(run("mkfs.ext4 -q -F -O inline_data,metadata_csum,64bit %s 32M "
			     ">/dev/null 2>&1", img), 0);
	for (n = 1; runs < (every ? 400u : 60u); n += every ? 1 : 1 + n / 4, runs++) {
		struct e4_mount_opts o;
		struct e4_fs *fs;
		int crashed = 0;

		assert_int_equal(run("cp --sparse=always %s %s", img, cut), 0);
		e4_mount_opts_init(&o);
		o.crash_after = n;
		o.crash_fn = note_crash;
		o.crash_arg = &crashed;
		o.commit_interval_ms = every ? ~0u : 1;
		o.data_mode = mode;
		if (e4_mount(cut, &o, &fs) == 0) {
			crash_workload(fs);
			e4_unmount(fs);	/* writes after the cut fail with EIO */
		}
		run("e2fsck -y -E journal_only %s >/dev/null 2>&1", cut);
		if (run("e2fsck -fn %s >/dev/null 2>&1", cut) != 0) {
			run("e2fsck -fn %s", cut);
			fail_msg("data mode %d, crash after block write %llu: not clean after "
				 "journal replay (replay: test_api %s)", mode,
				 (unsigned long long)n,
				 every ? "test_crash_cuts_every" : "test_crash_cuts");
		}
		ncrashed += crashed;
		if (!crashed)
			break;
	}
	print_message("data mode %d: %u cuts, the last at block write %llu\n", mode,
		      runs + 1, (unsigned long long)n);
	assert_true(ncrashed >= 5);
	assert_true(runs < (every ? 400u : 60u));	/* the workload ended within the cuts */
}

static void test_crash_cuts(void **state)
{
	crash_cuts(E4_DATA_ORDERED, 0);
	crash_cuts(E4_DATA_WRITEBACK, 0);
	crash_cuts(E4_DATA_JOURNAL, 0);
}

/*
 * Every cut, including the last few writes of the unmount: after the journal
 * is gone libext2fs rewrites the superblock (s_kbytes_written), and a cut
 * inside that update must not leave it torn (a checksum that does not match
 * sends e2fsck to the stale backup superblock and descriptors).
 */
static void test_crash_cuts_every(void **state)
{
	crash_cuts(E4_DATA_ORDERED, 1);
	crash_cuts(E4_DATA_WRITEBACK, 1);
	crash_cuts(E4_DATA_JOURNAL, 1);
}

/* A crash while an unlinked file is still open: the copy of the live image is
 * repaired by our own mount (journal replay, then the orphan list) with no
 * e2fsck -y at all. */
static void test_orphan_after_crash(void **state)
{
	struct fixture *f = *state;
	static char data[50000];
	struct e4_info a, b;
	struct fixture copy;
	struct e4_file *fp;
	struct e4_fs *fs;

	fill(data, sizeof(data), 11);
	assert_int_equal(e4_info(f->fs, &a), 0);
	write_file(f->fs, "/doomed", data, sizeof(data));
	assert_int_equal(e4_mkdir(f->fs, "/dir", 0755), 0);
	assert_int_equal(e4_open(f->fs, "/doomed", O_RDONLY, 0, &fp), 0);
	assert_int_equal(e4_unlink(f->fs, "/doomed"), 0);
	assert_int_equal(e4_rmdir(f->fs, "/dir"), 0);
	assert_int_equal(e4_sync(f->fs), 0);
	snprintf(copy.img, sizeof(copy.img), "%s/orphan-crash.img", workdir);
	assert_int_equal(run("cp %s %s", f->img, copy.img), 0);
	assert_int_equal(e4_close(fp), 0);
	/* e2fsck agrees the crashed copy only needs its journal and orphans */
	assert_int_equal(run("cp %s %s.fsck", copy.img, copy.img), 0);
	assert_true(run("e2fsck -fy %s.fsck >/dev/null 2>&1", copy.img) >> 8 <= 1);
	{
		char p[320];

		snprintf(p, sizeof(p), "%s.fsck", copy.img);
		fsck_clean(p);
		unlink(p);
	}
	/* read-only, the journal is replayed in memory only */
	{
		struct e4_mount_opts o;
		struct e4_stat st;

		e4_mount_opts_init(&o);
		o.read_only = 1;
		assert_int_equal(e4_mount(copy.img, &o, &fs), 0);
		assert_int_equal(e4_info(fs, &b), 0);
		assert_int_equal(b.needs_recovery, 1);
		assert_int_equal(e4_stat(fs, "/dir", &st), -ENOENT);
		assert_int_equal(e4_stat(fs, "/doomed", &st), -ENOENT);
		assert_int_equal(e4_mkdir(fs, "/x", 0755), -EROFS);
		assert_int_equal(e4_unmount(fs), 0);
	}
	/* and our mount does the same */
	assert_int_equal(e4_mount(copy.img, NULL, &fs), 0);
	assert_int_equal(e4_info(fs, &b), 0);
	assert_int_equal(b.free_blocks, a.free_blocks);
	assert_int_equal(b.free_inodes, a.free_inodes);
	assert_int_equal(e4_unmount(fs), 0);
	fsck_clean(copy.img);
	assert_int_equal(run("dumpe2fs -h %s 2>/dev/null | grep -q needs_recovery", copy.img), 256);
	unlink(copy.img);
}


/* fio's pattern that broke libext2fs's set_bmap: preallocated files written at
 * random, interleaved, so unwritten extents are split at leaf boundaries of
 * two-level trees.  Data and e2fsck must both be right. */
static void test_unwritten_random(void **state)
{
	struct fixture *f = *state;
	enum { FILES = 3, SIZE = 6 << 20, BLOCKS = SIZE / 4096 };
	static unsigned char shadow[FILES][BLOCKS];
	unsigned long long x = 88172645463325253ULL;
	struct e4_file *fp[FILES];
	char buf[4096], got[4096], path[32];
	int i, j;

	for (j = 0; j < FILES; j++) {
		snprintf(path, sizeof(path), "/u%d", j);
		assert_int_equal(e4_open(f->fs, path, O_CREAT | O_RDWR, 0644, &fp[j]), 0);
		assert_int_equal(e4_fallocate(fp[j], 0, 0, SIZE), 0);
	}
	for (i = 0; i < FILES * BLOCKS; i++) {
		unsigned blk;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		j = i % FILES;
		blk = x % BLOCKS;
		shadow[j][blk] = (unsigned char)(1 + i % 255);
		memset(buf, shadow[j][blk], sizeof(buf));
		assert_int_equal(e4_pwrite(fp[j], buf, sizeof(buf), (uint64_t)blk * 4096), 4096);
	}
	for (j = 0; j < FILES; j++)
		assert_int_equal(e4_close(fp[j]), 0);
	remount(f);
	for (j = 0; j < FILES; j++) {
		snprintf(path, sizeof(path), "/u%d", j);
		assert_int_equal(e4_open(f->fs, path, O_RDONLY, 0, &fp[j]), 0);
		for (i = 0; i < BLOCKS; i++) {
			assert_int_equal(e4_pread(fp[j], got, sizeof(got), (uint64_t)i * 4096), 4096);
			memset(buf, shadow[j][i], sizeof(buf));
			if (memcmp(got, buf, sizeof(buf)))
				fail_msg("file %d block %d: %#x, want %#x", j, i,
					 (unsigned char)got[0], shadow[j][i]);
		}
		assert_int_equal(e4_close(fp[j]), 0);
	}
}


/* fsx in small: writes, punches, preallocation and truncates at random against
 * a shadow copy; contents and e2fsck are checked after a remount. */
static void test_random_ops_shadow(void **state)
{
	struct fixture *f = *state;
	enum { MAX = 3 << 20 };
	static char shadow[MAX], buf[65536], got[MAX];
	unsigned long long x = 0x9e3779b97f4a7c15ULL;
	uint64_t size = 0;
	struct e4_file *fp;
	int i;

	assert_int_equal(e4_open(f->fs, "/fsx", O_CREAT | O_RDWR, 0644, &fp), 0);
	for (i = 0; i < 1500; i++) {
		uint64_t off, len;
		int op;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		op = x % 10;
		off = (x >> 8) % (MAX - 1);
		len = 1 + (x >> 32) % sizeof(buf);
		if (off + len > MAX)
			len = MAX - off;
		if (op < 5) {
			memset(buf, 'A' + i % 26, len);
			assert_int_equal(e4_pwrite(fp, buf, len, off), (ssize_t)len);
			memcpy(shadow + off, buf, len);
			if (off + len > size)
				size = off + len;
		} else if (op < 7) {
			assert_int_equal(e4_fallocate(fp, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
						      off, len), 0);
			if (off < size)
				memset(shadow + off, 0, (off + len > size ? size : off + len) - off);
		} else if (op < 9) {
			assert_int_equal(e4_fallocate(fp, op == 7 ? FALLOC_FL_KEEP_SIZE : 0,
						      off, len), 0);
			if (op == 8 && off + len > size)
				size = off + len;
		} else {
			uint64_t nsize = off;

			assert_int_equal(e4_ftruncate(fp, nsize), 0);
			if (nsize < size)
				memset(shadow + nsize, 0, size - nsize);
			size = nsize;
		}
	}
	assert_int_equal(e4_close(fp), 0);
	remount(f);
	assert_int_equal(e4_open(f->fs, "/fsx", O_RDONLY, 0, &fp), 0);
	assert_int_equal(e4_pread(fp, got, MAX, 0), (ssize_t)size);
	for (i = 0; i < (int)size; i++)
		if (got[i] != shadow[i])
			fail_msg("byte %d: %#x, want %#x (size %llu)", i, (unsigned char)got[i],
				 (unsigned char)shadow[i], (unsigned long long)size);
	assert_int_equal(e4_close(fp), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_info, setup_std, teardown),
		cmocka_unit_test_setup_teardown(test_small_and_large_files, setup_std, teardown),
		cmocka_unit_test_setup_teardown(test_open_flags, setup_std, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_fallocate, setup_std, teardown),
		cmocka_unit_test_setup_teardown(test_namespace, setup_std, teardown),
		cmocka_unit_test_setup_teardown(test_unwritten_random, setup_std, teardown),
		cmocka_unit_test_setup_teardown(test_random_ops_shadow, setup_std, teardown),
		cmocka_unit_test_setup_teardown(test_xattrs, setup_std, teardown),
		cmocka_unit_test_setup_teardown(test_unlink_open_file, setup_std, teardown),
		cmocka_unit_test_setup_teardown(test_fsync_live_image, setup_std, teardown),
		cmocka_unit_test_setup_teardown(test_orphan_after_crash, setup_std, teardown),
		cmocka_unit_test_setup_teardown(test_enospc, setup_tiny, teardown),
		cmocka_unit_test(test_read_only_gz),
		cmocka_unit_test(test_crash_cuts),
		cmocka_unit_test(test_crash_cuts_every),
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
