/*
 * tests/unit/test_inline_e2e.c - inline data through the public API: a file
 * grown byte by byte from 0 to 300 bytes and a directory from 0 to 50 entries,
 * with e2fsck -fn clean and, where this machine may loop-mount, the kernel
 * reading the same bytes and names after the steps (sampled: see STEP_*).
 * Also truncate and fallocate on inline files.  Kernel checks are skipped with
 * a message where mount is not permitted; e2fsck checks always run.
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

#define FILE_MAX	300
#define DIR_MAX		50
#define STEP_FILE_KERNEL 3	/* kernel mount every 3rd byte (and at the edges) */
#define STEP_DIR	5	/* e2fsck and kernel every 5th entry */

static char workdir[] = "/tmp/e4lab-test-inline-e2e-XXXXXX";
static char image[300], mnt[300];
static int kernel_ok;
static int kernel_checks;	/* how many kernel mounts compared something */

static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void fsck_clean(const char *what, int step)
{
	if (sh("e2fsck -fn %s >/dev/null 2>&1", image) != 0) {
		sh("e2fsck -fn %s 2>&1 | head -30", image);
		fail_msg("%s, step %d: e2fsck -fn is not clean (image %s)", what, step,
			 image);
	}
}

/* Mounts read-only, runs @check (a shell command using $M), unmounts. */
static int kernel_check(const char *check)
{
	kernel_checks++;
	return sh("M=%s; mount -t ext4 -o loop,ro %s $M 2>/dev/null || exit 2; "
		  "(%s); rc=$?; umount $M || umount -l $M; exit $rc", mnt, image, check);
}

static void make_image(void)
{
	struct e4_mkfs_opts o;

	e4_mkfs_opts_init(&o);
	o.size = 32 << 20;
	assert_int_equal(e4_mkfs(image, &o), 0);
}

static struct e4_fs *mount_rw(void)
{
	struct e4_mount_opts mo;
	struct e4_fs *fs = NULL;

	e4_mount_opts_init(&mo);
	assert_int_equal(e4_mount(image, &mo, &fs), 0);
	return fs;
}

static void append_byte(const char *path, uint64_t off, char c)
{
	struct e4_fs *fs = mount_rw();
	struct e4_file *f = NULL;

	assert_int_equal(e4_open(fs, path, O_WRONLY | O_CREAT, 0644, &f), 0);
	assert_int_equal(e4_pwrite(f, &c, 1, off), 1);
	assert_int_equal(e4_close(f), 0);
	assert_int_equal(e4_unmount(fs), 0);
}

static void stat_of(const char *path, struct e4_stat *st)
{
	struct e4_mount_opts mo;
	struct e4_fs *fs = NULL;

	e4_mount_opts_init(&mo);
	mo.read_only = 1;
	assert_int_equal(e4_mount(image, &mo, &fs), 0);
	assert_int_equal(e4_stat(fs, path, st), 0);
	assert_int_equal(e4_unmount(fs), 0);
}

static void test_file_grows(void **state)
{
	char local[300], data[FILE_MAX];
	struct e4_stat st;
	unsigned max, n;
	FILE *fp;

	(void)state;
	make_image();
	{
		struct e4_fs *fs = mount_rw();
		struct e4_info info;

		assert_int_equal(e4_info(fs, &info), 0);
		max = info.max_inline_size;
		assert_int_equal(e4_unmount(fs), 0);
	}
	assert_int_equal(max, 128);
	snprintf(local, sizeof(local), "%s/expect", workdir);
	for (n = 0; n < FILE_MAX; n++) {
		data[n] = (char)('a' + n % 26);
		append_byte("/f", n, data[n]);
		stat_of("/f", &st);
		assert_int_equal(st.size, n + 1);
		if (st.is_inline != (n + 1 <= max))
			fail_msg("size %u: inline %d, the kernel says %d", n + 1, st.is_inline,
				 n + 1 <= max);
		if (st.is_inline)
			assert_int_equal(st.inline_size, n + 1 < 60 ? 60 : n + 1);
		fsck_clean("file", (int)n + 1);
		if (!kernel_ok || !(n % STEP_FILE_KERNEL == 0 || n + 1 == FILE_MAX ||
				    (n + 2 >= 60 && n <= 61) || (n + 2 >= max && n <= max)))
			continue;
		fp = fopen(local, "wb");
		assert_non_null(fp);
		assert_int_equal(fwrite(data, 1, n + 1, fp), n + 1);
		fclose(fp);
		{
			char cmd[400];

			snprintf(cmd, sizeof(cmd), "cmp -s $M/f %s", local);
			if (kernel_check(cmd) != 0)
				fail_msg("size %u: the kernel reads other bytes (image %s)", n + 1,
					 image);
		}
	}
}

static void test_dir_grows(void **state)
{
	struct e4_stat st;
	char path[64], expect[300];
	int n;
	FILE *fp;

	(void)state;
	make_image();
	{
		struct e4_fs *fs = mount_rw();

		assert_int_equal(e4_mkdir(fs, "/d", 0755), 0);
		assert_int_equal(e4_unmount(fs), 0);
	}
	stat_of("/d", &st);
	assert_true(st.is_inline);
	assert_int_equal(st.size, 60);
	fsck_clean("dir", 0);
	snprintf(expect, sizeof(expect), "%s/names", workdir);
	for (n = 1; n <= DIR_MAX; n++) {
		struct e4_fs *fs = mount_rw();
		struct e4_file *f = NULL;

		snprintf(path, sizeof(path), "/d/entry%02d", n);
		assert_int_equal(e4_open(fs, path, O_WRONLY | O_CREAT, 0644, &f), 0);
		assert_int_equal(e4_close(f), 0);
		assert_int_equal(e4_unmount(fs), 0);
		if (n % STEP_DIR && n != 4 && n != 5 && n != 9 && n != 10)
			continue;
		fsck_clean("dir", n);
		if (!kernel_ok)
			continue;
		fp = fopen(expect, "w");
		assert_non_null(fp);
		for (int i = 1; i <= n; i++)
			fprintf(fp, "entry%02d\n", i);
		fclose(fp);
		{
			char cmd[400];

			snprintf(cmd, sizeof(cmd), "ls $M/d | LC_ALL=C sort | cmp -s - %s", expect);
			if (kernel_check(cmd) != 0)
				fail_msg("%d entries: the kernel lists other names (image %s)", n,
					 image);
		}
	}
	stat_of("/d", &st);
	assert_false(st.is_inline);
}

/* Kernel 6.18 on a 100-byte inline file: truncate to 70 stays inline (70), to
 * 10 stays (60), growth to 60 stays, to 61 converts; fallocate converts. */
static void test_truncate_fallocate(void **state)
{
	struct e4_fs *fs;
	struct e4_file *f = NULL;
	struct e4_stat st;
	char buf[100];

	(void)state;
	make_image();
	memset(buf, 'q', sizeof(buf));
	fs = mount_rw();
	assert_int_equal(e4_open(fs, "/t", O_RDWR | O_CREAT, 0644, &f), 0);
	assert_int_equal(e4_pwrite(f, buf, 100, 0), 100);
	assert_int_equal(e4_ftruncate(f, 70), 0);
	assert_int_equal(e4_fstat(f, &st), 0);
	assert_true(st.is_inline);
	assert_int_equal(st.inline_size, 70);
	assert_int_equal(e4_ftruncate(f, 10), 0);
	assert_int_equal(e4_fstat(f, &st), 0);
	assert_int_equal(st.inline_size, 60);
	assert_int_equal(e4_ftruncate(f, 60), 0);
	assert_int_equal(e4_fstat(f, &st), 0);
	assert_true(st.is_inline);
	assert_int_equal(e4_ftruncate(f, 61), 0);
	assert_int_equal(e4_fstat(f, &st), 0);
	assert_false(st.is_inline);
	assert_int_equal(e4_close(f), 0);
	assert_int_equal(e4_open(fs, "/a", O_RDWR | O_CREAT, 0644, &f), 0);
	assert_int_equal(e4_pwrite(f, buf, 50, 0), 50);
	assert_int_equal(e4_fallocate(f, 0, 0, 50), 0);
	assert_int_equal(e4_fstat(f, &st), 0);
	assert_false(st.is_inline);
	assert_int_equal(e4_pread(f, buf, 100, 0), 50);
	assert_int_equal(buf[49], 'q');
	assert_int_equal(e4_close(f), 0);
	assert_int_equal(e4_unmount(fs), 0);
	fsck_clean("truncate", 0);
	if (kernel_ok)
		assert_int_equal(kernel_check("[ $(stat -c %s $M/t) = 61 ] && "
					      "[ \"$(head -c 10 $M/t)\" = qqqqqqqqqq ] && "
					      "[ $(tr -d '\\0' < $M/t | wc -c) = 10 ] && "
					      "[ $(tr -d q < $M/a | wc -c) = 0 ]"), 0);
}

/* A kernel-made inline file, appended to through the API: within the max it
 * stays inline, across it converts; e2fsck clean, the kernel reads it. */
static void test_kernel_image_append(void **state)
{
	struct e4_fs *fs;
	struct e4_file *f = NULL;
	struct e4_stat st;
	char buf[64];

	(void)state;
	if (!kernel_ok)
		skip();
	assert_int_equal(sh("rm -f %s && truncate -s 32M %s && mkfs.ext4 -q -F -b 4096 -I 256 "
			    "-O inline_data %s && mount -o loop %s %s && "
			    "head -c 100 /dev/zero | tr '\\0' k > %s/k; umount %s",
			    image, image, image, image, mnt, mnt, mnt), 0);
	memset(buf, 'e', sizeof(buf));
	fs = mount_rw();
	assert_int_equal(e4_open(fs, "/k", O_WRONLY | O_APPEND, 0, &f), 0);
	assert_int_equal(e4_fstat(f, &st), 0);
	assert_true(st.is_inline);
	assert_int_equal(st.inline_size, 100);
	assert_int_equal(e4_pwrite(f, buf, 28, 100), 28);
	assert_int_equal(e4_fstat(f, &st), 0);
	assert_true(st.is_inline);
	assert_int_equal(st.inline_size, 128);
	assert_int_equal(e4_pwrite(f, buf, 1, 128), 1);
	assert_int_equal(e4_fstat(f, &st), 0);
	assert_false(st.is_inline);
	assert_int_equal(e4_close(f), 0);
	assert_int_equal(e4_unmount(fs), 0);
	fsck_clean("kernel image append", 0);
	assert_int_equal(kernel_check("[ \"$(head -c 100 $M/k | tr -d k)\" = '' ] && "
				      "[ \"$(tail -c 29 $M/k)\" = eeeeeeeeeeeeeeeeeeeeeeeeeeeee ] && "
				      "[ $(stat -c %s $M/k) = 129 ]"), 0);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(workdir))
		return -1;
	snprintf(image, sizeof(image), "%s/img", workdir);
	snprintf(mnt, sizeof(mnt), "%s/mnt", workdir);
	if (sh("mkdir -p %s", mnt))
		return -1;
	kernel_ok = geteuid() == 0 &&
		    sh("truncate -s 8M %s/trial && mkfs.ext4 -q -F %s/trial >/dev/null 2>&1 && "
		       "mount -o loop,ro %s/trial %s 2>/dev/null && umount %s",
		       workdir, workdir, workdir, mnt, mnt) == 0;
	if (!kernel_ok)
		print_message("kernel checks skipped: cannot loop-mount ext4 here "
			      "(not root or mount refused); e2fsck checks still run\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	print_message("kernel mount checks run: %d\n", kernel_checks);
	sh("umount %s 2>/dev/null; rm -rf %s", mnt, workdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_grows),
		cmocka_unit_test(test_dir_grows),
		cmocka_unit_test(test_truncate_fallocate),
		cmocka_unit_test(test_kernel_image_append),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
