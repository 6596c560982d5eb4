/*
 * tests/unit/test_reuse.c - blocks freed by a transaction that has not
 * committed are not reused for file data (ordered mode), ENOSPC forces a
 * commit when only such blocks are free, and freed journaled metadata is
 * revoked.  Oracles: e4lab recover, e2fsck -fy / -fn, debugfs dump and logdump.
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

#include "e4lab.h"
#include "libfs/api/api_internal.h"
#include "libfs/vfs/vfs.h"

#define FILE_BYTES	(64 * 1024)

static char workdir[] = "/tmp/e4lab-test-reuse-XXXXXX";

static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* A journaled image whose free blocks hold 0xee (mkfs does not discard). */
static void make_image(const char *img, const char *size)
{
	if (run("python3 -c \"import sys; sys.stdout.buffer.write(b'\\xee' * (%s))\" > %s",
		size, img) ||
	    run("mkfs.ext4 -q -F -E nodiscard -O metadata_csum,64bit,^inline_data -b 4096 "
		"%s >/dev/null 2>&1", img))
		fail_msg("cannot make %s", img);
}

/* With E4LAB_REUSE_KEEP=DIR, crashed images are copied to DIR/@name for
 * tests/journal_reuse_kernel.sh (the kernel's replay). */
static void keep(const char *img, const char *name)
{
	const char *dir = getenv("E4LAB_REUSE_KEEP");

	if (dir && run("cp %s %s/%s.img", img, dir, name))
		fail_msg("cannot keep %s in %s", img, dir);
}

static struct e4_fs *mount_img(const char *img)
{
	struct e4_mount_opts o;
	struct e4_fs *fs;
	int err;

	e4_mount_opts_init(&o);
	o.commit_interval_ms = 3600 * 1000;	/* commits only when asked */
	err = e4_mount(img, &o, &fs);
	if (err)
		fail_msg("e4_mount %s: %s", img, e4_strerror(err));
	return fs;
}

/* @flags: PUT_FSYNC after the write, PUT_FALLOC: fallocate the range first. */
#define PUT_FSYNC	0x1
#define PUT_FALLOC	0x2

static void put(struct e4_fs *fs, const char *path, int byte, size_t len, unsigned flags)
{
	struct e4_file *fp;
	char *buf = malloc(len);

	memset(buf, byte, len);
	assert_int_equal(e4_open(fs, path, O_CREAT | O_WRONLY | O_TRUNC, 0644, &fp), 0);
	if (flags & PUT_FALLOC)
		assert_int_equal(e4_fallocate(fp, 0, 0, len), 0);
	assert_int_equal(e4_pwrite(fp, buf, len, 0), (ssize_t)len);
	if (flags & PUT_FSYNC)
		assert_int_equal(e4_fsync(fp), 0);
	assert_int_equal(e4_close(fp), 0);
	free(buf);
}

/* Appends 64 KiB chunks of @byte to @path until the file system is full. */
static void fill_up(struct e4_fs *fs, const char *path, int byte)
{
	static char chunk[65536];
	struct e4_file *fp;
	uint64_t off = 0;
	ssize_t n;

	memset(chunk, byte, sizeof(chunk));
	assert_int_equal(e4_open(fs, path, O_CREAT | O_WRONLY, 0644, &fp), 0);
	while ((n = e4_pwrite(fp, chunk, sizeof(chunk), off)) == (ssize_t)sizeof(chunk))
		off += n;
	assert_true(n == -ENOSPC || (n >= 0 && n < (ssize_t)sizeof(chunk)));
	assert_int_equal(e4_fsync(fp), 0);
	assert_int_equal(e4_close(fp), 0);
}

/*
 * @path in @img (after recovery) must be absent or hold exactly @len bytes of
 * @byte; in particular never a byte of another file.
 */
static void check_file(const char *img, const char *path, int byte, size_t len,
		       const char *how)
{
	char out[300];
	unsigned char *got = malloc(len + 1);
	size_t n, i;
	FILE *fp;

	snprintf(out, sizeof(out), "%s/dump.out", workdir);
	unlink(out);
	run("debugfs -R 'dump %s %s' %s >/dev/null 2>&1", path, out, img);
	fp = fopen(out, "rb");
	if (!fp) {
		free(got);
		return;				/* gone: allowed */
	}
	n = fread(got, 1, len + 1, fp);
	fclose(fp);
	if (n != len)
		fail_msg("%s: %s has %zu bytes, not %zu (image %s)", how, path, n, len, img);
	for (i = 0; i < len; i++)
		if (got[i] != (unsigned char)byte)
			fail_msg("%s: %s byte %zu is 0x%02x, not 0x%02x: another file's "
				 "data (image %s)", how, path, i, got[i], byte, img);
	free(got);
}

static void fsck_clean(const char *img, const char *how)
{
	if (run("e2fsck -fn %s >/dev/null 2>&1", img) != 0) {
		run("e2fsck -fn %s", img);
		fail_msg("%s: e2fsck -fn %s is not clean", how, img);
	}
}

/*
 * A is committed; F0 after it is deleted and committed, so that free space
 * exists elsewhere; the rest is full.  A is deleted (not committed) and B
 * written (@bflags: fallocated first): the allocator, wrapping from the end,
 * meets A's blocks first.  B's data is written home, then the image is copied
 * (the crash).  Recovered by e4lab and by e2fsck, A is back with A's bytes
 * (its deletion never committed), never with B's.
 */
static void reuse_case(const char *name, unsigned bflags)
{
	char img[400], copy[300];
	struct e4_fs *fs;

	snprintf(img, sizeof(img), "%s/%s.img", workdir, name);
	snprintf(copy, sizeof(copy), "%s/%s-copy.img", workdir, name);
	make_image(img, "16 << 20");
	fs = mount_img(img);
	put(fs, "/A", 0xaa, FILE_BYTES, PUT_FSYNC);
	put(fs, "/F0", 0xf0, FILE_BYTES, PUT_FSYNC);
	fill_up(fs, "/fill", 0x11);
	assert_int_equal(e4_unlink(fs, "/F0"), 0);
	assert_int_equal(e4_sync(fs), 0);

	assert_int_equal(e4_unlink(fs, "/A"), 0);
	put(fs, "/B", 0xbb, FILE_BYTES, bflags);
	assert_int_equal(vfs_writeback_all(fs->dfs), 0);	/* data home, no commit */
	assert_int_equal(run("cp --sparse=never %s %s", img, copy), 0);	/* the crash */
	assert_int_equal(e4_unmount(fs), 0);
	keep(copy, name);

	assert_int_equal(run("cp %s %s.fsck", copy, copy), 0);
	assert_int_equal(run("%s/tools/e4lab recover %s >/dev/null 2>&1",
			     getenv("E4LAB_BUILDDIR") ? getenv("E4LAB_BUILDDIR") : ".",
			     copy), 0);
	fsck_clean(copy, "after e4lab recover");
	check_file(copy, "/A", 0xaa, FILE_BYTES, "e4lab recover");
	run("e2fsck -fy %s.fsck >/dev/null 2>&1", copy);
	snprintf(img, sizeof(img), "%s.fsck", copy);
	fsck_clean(img, "after e2fsck -fy");
	check_file(img, "/A", 0xaa, FILE_BYTES, "e2fsck -fy");
}

static void test_no_reuse_before_commit(void **state)
{
	(void)state;
	reuse_case("reuse", 0);
}

/* The same when B's blocks come from fallocate (libext2fs's allocator). */
static void test_no_reuse_by_fallocate(void **state)
{
	(void)state;
	reuse_case("reuse-falloc", PUT_FALLOC);
}

/* Full but for the blocks of a deleted, uncommitted file: the write succeeds
 * after the forced commit, and the image is clean. */
static void test_enospc_forces_commit(void **state)
{
	char img[300];
	struct e4_fs *fs;

	(void)state;
	snprintf(img, sizeof(img), "%s/enospc.img", workdir);
	make_image(img, "16 << 20");
	fs = mount_img(img);
	put(fs, "/A", 0xaa, 4 * FILE_BYTES, PUT_FSYNC);
	fill_up(fs, "/fill", 0x11);
	assert_int_equal(e4_unlink(fs, "/A"), 0);
	put(fs, "/B", 0xbb, 4 * FILE_BYTES, 0);
	assert_int_equal(e4_unmount(fs), 0);
	fsck_clean(img, "enospc");
	check_file(img, "/B", 0xbb, 4 * FILE_BYTES, "enospc");
}

/*
 * A directory's blocks are journaled (committed, not yet checkpointed), then
 * the directory is removed and that committed: the log holds revoke records
 * for them, and e2fsck replays it to a clean image.
 */
static void test_revoke_freed_metadata(void **state)
{
	char img[300], copy[300], path[64];
	struct e4_fs *fs;
	int i;

	(void)state;
	snprintf(img, sizeof(img), "%s/revoke.img", workdir);
	snprintf(copy, sizeof(copy), "%s/revoke-copy.img", workdir);
	make_image(img, "16 << 20");
	fs = mount_img(img);
	assert_int_equal(e4_mkdir(fs, "/d", 0755), 0);
	for (i = 0; i < 200; i++) {	/* a few directory blocks */
		snprintf(path, sizeof(path), "/d/a-rather-long-name-%04d", i);
		assert_int_equal(e4_mknod(fs, path, 0100644, 0), 0);
	}
	assert_int_equal(e4_sync(fs), 0);
	for (i = 0; i < 200; i++) {
		snprintf(path, sizeof(path), "/d/a-rather-long-name-%04d", i);
		assert_int_equal(e4_unlink(fs, path), 0);
	}
	assert_int_equal(e4_rmdir(fs, "/d"), 0);
	assert_int_equal(e4_sync(fs), 0);
	assert_int_equal(run("cp --sparse=never %s %s", img, copy), 0);	/* the crash */
	assert_int_equal(e4_unmount(fs), 0);
	keep(copy, "revoke");

	if (run("debugfs -R logdump %s 2>/dev/null | grep -q 'revoke table'", copy) != 0) {
		run("debugfs -R logdump %s", copy);
		fail_msg("no revoke record in the log of %s", copy);
	}
	run("e2fsck -fy -E journal_only %s >/dev/null 2>&1", copy);
	fsck_clean(copy, "revoke replay");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_reuse_before_commit),
		cmocka_unit_test(test_no_reuse_by_fallocate),
		cmocka_unit_test(test_enospc_forces_commit),
		cmocka_unit_test(test_revoke_freed_metadata),
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
