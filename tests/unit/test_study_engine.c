/*
 * tests/unit/test_study_engine.c - the real engine under the kernel model: a shared
 * mapping of an e4lab file through vfs_mm_file_ops (faults read the page cache,
 * stores go through page_mkwrite), every historical vfs write loop writing right
 * from a mapping, and the 2.6.19 loop deadlocking on the page cache's own page
 * lock when the source is a mapping of the page being written.  Then the
 * historical switches of struct vfs_policy on an image whose free blocks carry a
 * poison stamp (as the studies' "image ... poison"): zero_new=if_copied leaves a
 * stale block readable after -EFAULT, the 2006 loop's clean BH_New buffers
 * expose stale blocks after a crash between its short copy and its retry,
 * commit_range moves i_size, and Anton's PG_noread deadlocks through the fault.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <ext2fs/ext2fs.h>

#include "e4lab.h"
#include "libfs/api/api_internal.h"
#include "libfs/mm/mm.h"
#include "libfs/pcache/pcache.h"
#include "libfs/study/study.h"

#include <fcntl.h>	/* last: with _GNU_SOURCE it defines LOCK_READ/LOCK_WRITE */

struct fixture {
	char image[64];
	struct e4_fs *fs;
	struct e4_file *f;
	struct mm *mm;
	uint64_t addr;
	uint8_t data[8192];
};

/* A fresh 16 MiB image with @bs-byte blocks at x->image. */
static void make_image(struct fixture *x, unsigned bs)
{
	struct e4_mkfs_opts mo;
	int fd;

	snprintf(x->image, sizeof(x->image), "/tmp/e4lab-study-engine.XXXXXX");
	fd = mkstemp(x->image);
	assert_true(fd >= 0);
	close(fd);
	e4_mkfs_opts_init(&mo);
	mo.size = 16 << 20;
	mo.block_size = bs;
	assert_int_equal(e4_mkfs(x->image, &mo), 0);
}

static void setup_fs(struct fixture *x, unsigned bs)
{
	make_image(x, bs);
	assert_int_equal(e4_mount(x->image, NULL, &x->fs), 0);
	assert_int_equal(e4_open(x->fs, "/f", O_CREAT | O_RDWR, 0644, &x->f), 0);
	((struct pc_cache *)x->f->inode->dfs->pcache)->trace_notes = 1;
	for (unsigned i = 0; i < sizeof(x->data); i++)
		x->data[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(e4_pwrite(x->f, x->data, sizeof(x->data), 0), (ssize_t)sizeof(x->data));
	assert_int_equal(mm_create(&x->mm), 0);
	assert_int_equal(mm_mmap(x->mm, 8192, VM_READ | VM_WRITE | VM_SHARED, &vfs_mm_file_ops,
				 x->f->inode, 0, &x->addr), 0);
}

static void teardown_fs(struct fixture *x)
{
	mm_destroy(x->mm);
	assert_int_equal(e4_close(x->f), 0);
	assert_int_equal(e4_unmount(x->fs), 0);
	unlink(x->image);
}

/* Loads fault the page cache in; a store goes through page_mkwrite to the file. */
static void test_mapping(void **state)
{
	for (unsigned bs = 1024; bs <= 4096; bs *= 4) {
		struct fixture x;
		uint8_t buf[8192];

		(void)state;
		setup_fs(&x, bs);
		assert_int_equal(mm_copy_from_user(x.mm, buf, x.addr, sizeof(buf)), 0);
		assert_memory_equal(buf, x.data, sizeof(buf));
		assert_int_equal(mm_copy_to_user(x.mm, x.addr + 100, "MAPPED", 6), 0);
		assert_int_equal(x.mm->stats.mkwrite, 1);
		assert_int_equal(e4_pread(x.f, buf, 6, 100), 6);
		assert_memory_equal(buf, "MAPPED", 6);
		teardown_fs(&x);
	}
}

/* Every loop writes page 0 from a mapping of page 1 of the same file. */
static void test_loops_from_mapping(void **state)
{
	(void)state;
	for (int wl = 0; wl < VFS_WL_NR; wl++) {
		struct vfs_policy pol = { (enum vfs_write_loop)wl };
		struct fixture x;
		struct iovec iov;
		uint8_t buf[4096];

		setup_fs(&x, 1024);
		mm_reclaim(x.mm, x.addr, 8192);
		iov.iov_base = (void *)(uintptr_t)(x.addr + 4096);
		iov.iov_len = 4096;
		assert_int_equal(vfs_perform_write_policy(x.f->inode, &iov, 1, 0, &study_mm_uaccess,
							  x.mm, &pol), 4096);
		assert_int_equal(e4_pread(x.f, buf, 4096, 0), 4096);
		if (memcmp(buf, x.data + 4096, 4096))
			fail_msg("write loop %d copied the wrong bytes", wl);
		teardown_fs(&x);
	}
}

struct same_page {
	struct fixture *x;
	struct vfs_policy pol;
	ssize_t ret;
};

static void same_page_writer(void *arg)
{
	struct same_page *sp = arg;
	struct iovec iov = { (void *)(uintptr_t)sp->x->addr, 4096 };

	sp->ret = vfs_perform_write_policy(sp->x->f->inode, &iov, 1, 0, &study_mm_uaccess,
					   sp->x->mm, &sp->pol);
}

static int same_page_setup(struct task_sched *s, void *arg)
{
	return task_spawn(s, "writer", same_page_writer, arg) < 0 ? -1 : 0;
}

/* After a deadlock the abandoned writer still holds page 0's lock and its
 * references (write_begin's, and its fault's, blocked in lock_page): give them
 * back so that the file system can be unmounted. */
static void release_abandoned_page(struct fixture *x)
{
	struct pc_page *p = pc_find_get_page(x->f->inode->i_mapping, 0);

	assert_non_null(p);
	assert_true(p->flags & PC_PG_LOCKED);
	assert_int_equal(p->count, 3);
	pc_forget_holders(x->f->inode->dfs->pcache);
	assert_false(p->flags & PC_PG_LOCKED);
}

/* The 2.6.19 loop on the real page cache: a recursive page lock; today's: fine. */
static void test_same_page_deadlock(void **state)
{
	(void)state;
	for (int k = 0; k < 2; k++) {
		struct fixture x;
		struct same_page sp = { &x, { k ? VFS_WL_TODAY : VFS_WL_PREPARE_COMMIT_2619 }, 0 };
		struct task_program prog = { same_page_setup, NULL, NULL, &sp };
		struct task_explore_opts o = { .sched = { .strategy = TASK_DFS, .preempt_bound = 1 } };
		struct task_explore_result r;

		setup_fs(&x, 4096);
		assert_int_equal(task_explore(&prog, &o, &r), 0);
		if (!k) {
			assert_int_equal(r.verdict, TASK_DEADLOCK);
			assert_non_null(strstr(r.message, "page"));
			release_abandoned_page(&x);
		} else {
			assert_int_equal(r.verdict, TASK_OK);
			assert_int_equal(sp.ret, 4096);
		}
		teardown_fs(&x);
	}
}

/* The page cache reports its page-state changes in a traced run. */
static void test_page_notes(void **state)
{
	struct fixture x;
	struct same_page sp = { &x, { VFS_WL_TODAY }, 0 };
	struct task_sched_opts so = { .strategy = TASK_SCRIPT, .schedule = "", .trace = 1 };
	struct task_sched *s;
	int notes = 0;

	(void)state;
	setup_fs(&x, 4096);
	assert_int_equal(e4_close(x.f), 0);
	assert_int_equal(e4_open(x.fs, "/g", O_CREAT | O_RDWR, 0644, &x.f), 0);
	((struct pc_cache *)x.f->inode->dfs->pcache)->trace_notes = 1;
	mm_destroy(x.mm);
	assert_int_equal(mm_create(&x.mm), 0);
	assert_int_equal(mm_mmap(x.mm, 8192, VM_READ | VM_WRITE, NULL, NULL, 0, &x.addr), 0);
	assert_int_equal(task_sched_create(&s, &so), 0);
	assert_int_equal(same_page_setup(s, &sp), 0);
	assert_int_equal(task_sched_run(s), TASK_OK);
	assert_int_equal(sp.ret, 4096);
	for (int i = 0; i < task_trace_len(s); i++) {
		const struct task_event *e = task_trace_event(s, i);

		notes += e->kind == TASK_EV_NOTE && strstr(e->where, "page #0");
	}
	assert_true(notes >= 2);	/* uptodate, dirty */
	task_sched_destroy(s);
	teardown_fs(&x);
}

/* ---- the historical switches on the real engine ---- */

#define STALE_STAMP	"STALE-BLOCK-e4l!"	/* 16 bytes, repeated over a free block */

/* Stamps every block the freshly made @image does not use. */
static void poison_free_blocks(const char *image)
{
	ext2_filsys fs;
	uint8_t *buf;
	blk64_t b;

	assert_int_equal(ext2fs_open(image, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0,
				     unix_io_manager, &fs), 0);
	assert_int_equal(ext2fs_read_bitmaps(fs), 0);
	buf = malloc(fs->blocksize);
	assert_non_null(buf);
	for (unsigned i = 0; i < fs->blocksize; i += 16)
		memcpy(buf + i, STALE_STAMP, 16);
	for (b = fs->super->s_first_data_block; b < ext2fs_blocks_count(fs->super); b++)
		if (!ext2fs_test_block_bitmap2(fs->block_map, b))
			assert_int_equal(io_channel_write_blk64(fs->io, b, 1, buf), 0);
	free(buf);
	assert_int_equal(ext2fs_close_free(&fs), 0);
}

static int has_stale(const uint8_t *buf, size_t len)
{
	return memmem(buf, len, STALE_STAMP, 16) != NULL;
}

static int all_bytes(const uint8_t *buf, size_t len, uint8_t c)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != c)
			return 0;
	return 1;
}

/* A poisoned image with /g of @size bytes (a hole when @sparse) and an anonymous
 * 8 KiB source in x->mm at x->addr, filled with 'W'. */
static void setup_poisoned(struct fixture *x, unsigned bs, uint64_t size)
{
	uint8_t w[8192];

	make_image(x, bs);
	poison_free_blocks(x->image);
	assert_int_equal(e4_mount(x->image, NULL, &x->fs), 0);
	assert_int_equal(e4_open(x->fs, "/g", O_CREAT | O_RDWR, 0644, &x->f), 0);
	assert_int_equal(e4_ftruncate(x->f, size), 0);
	assert_int_equal(e4_sync(x->fs), 0);
	assert_int_equal(mm_create(&x->mm), 0);
	assert_int_equal(mm_mmap(x->mm, 8192, VM_READ | VM_WRITE, NULL, NULL, 0, &x->addr), 0);
	memset(w, 'W', sizeof(w));
	assert_int_equal(mm_copy_to_user(x->mm, x->addr, w, sizeof(w)), 0);
}

static ssize_t write_policy(struct fixture *x, uint64_t pos, uint64_t src, size_t len,
			    const struct vfs_uaccess_ops *ua, void *arg,
			    const struct vfs_policy *pol)
{
	struct iovec iov = { (void *)(uintptr_t)src, len };

	return vfs_perform_write_policy(x->f->inode, &iov, 1, pos, ua, arg, pol);
}

static void check_pcache(struct fixture *x)
{
	char buf[160];
	const char *msg = pc_check(x->f->inode->dfs->pcache, buf, sizeof(buf));

	if (msg)
		fail_msg("pc_check: %s", msg);
}

/* The unmapper of studies/copied-zero-stale-2015.e4s, at the one point that
 * matters: the source goes away after the prefault, before the atomic copy. */
static size_t unmap_copy_atomic(void *arg, void *dst, const void *src, size_t n)
{
	struct fixture *x = arg;

	if (mm_find_vma(x->mm, x->addr))
		assert_int_equal(mm_munmap(x->mm, x->addr, 8192), 0);
	return study_mm_uaccess.copy_from_user_atomic(x->mm, dst, src, n);
}

static size_t unmap_fault_in(void *arg, const void *src, size_t n)
{
	struct fixture *x = arg;

	return study_mm_uaccess.fault_in_readable(x->mm, src, n);
}

static const struct vfs_uaccess_ops unmap_uaccess = {
	.copy_from_user_atomic = unmap_copy_atomic,
	.fault_in_readable = unmap_fault_in,
};

/*
 * Seed 000: a write into a hole whose copy gets nothing (the source is unmapped
 * after the prefault) ends in -EFAULT.  Zeroing the new buffers only when copied != 0 leaves the
 * block allocated and never written: a read shows the stale stamp.  Zeroing them
 * always (today) reads zeros.
 */
static void test_zero_new_if_copied(void **state)
{
	(void)state;
	for (int always = 0; always < 2; always++) {
		struct vfs_policy pol = { VFS_WL_TODAY, VFS_SC_DEFAULT,
					  always ? VFS_ZN_ALWAYS : VFS_ZN_IF_COPIED,
					  VFS_CR_DEFAULT };
		struct fixture x;
		uint8_t buf[4096];

		setup_poisoned(&x, 1024, 8192);
		assert_int_equal(write_policy(&x, 0, x.addr, 4096, &unmap_uaccess, &x, &pol),
				 -EFAULT);
		assert_null(mm_find_vma(x.mm, x.addr));
		check_pcache(&x);
		assert_int_equal(e4_pread(x.f, buf, 4096, 0), 4096);
		if (always != !has_stale(buf, sizeof(buf)))
			fail_msg("zero_new=%s: %s", always ? "always" : "if_copied",
				 always ? "stale block readable" : "no stale block: the bug is gone");
		if (always)
			assert_true(all_bytes(buf, sizeof(buf), 0));
		teardown_fs(&x);
	}
}

/* The source of the 2006 crash test: the journal commits and the machine crashes
 * (a copy of the image is taken) on the fault-in after the first short copy, that
 * is between the loop's commit of offset+copied and its retry. */
struct crash_src {
	struct fixture *x;
	char image[80];
	int shorts, crashed;
};

static size_t crash_copy_atomic(void *arg, void *dst, const void *src, size_t n)
{
	struct crash_src *cs = arg;
	size_t got = study_mm_uaccess.copy_from_user_atomic(cs->x->mm, dst, src, n);

	cs->shorts += got < n;
	return got;
}

static void copy_image(const char *from, const char *to)
{
	static uint8_t buf[1 << 16];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t n;

	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	close(out);
}

static size_t crash_fault_in(void *arg, const void *src, size_t n)
{
	struct crash_src *cs = arg;

	if (cs->shorts && !cs->crashed) {
		cs->crashed = 1;
		assert_int_equal(e4_sync(cs->x->fs), 0);	/* kjournald: ordered commit */
		snprintf(cs->image, sizeof(cs->image), "%s.crash", cs->x->image);
		copy_image(cs->x->image, cs->image);		/* crash right after it */
	}
	return study_mm_uaccess.fault_in_readable(cs->x->mm, src, n);
}

static const struct vfs_uaccess_ops crash_uaccess = {
	.copy_from_user_atomic = crash_copy_atomic,
	.fault_in_readable = crash_fault_in,
};

/* What the crashed image holds at file bytes [4096, 8192) of /g. */
static void read_after_crash(const char *image, uint8_t *buf)
{
	struct e4_fs *fs;
	struct e4_file *f;

	assert_int_equal(e4_mount(image, NULL, &fs), 0);	/* replays the journal */
	assert_int_equal(e4_open(fs, "/g", O_RDONLY, 0, &f), 0);
	assert_int_equal(e4_pread(f, buf, 4096, 4096), 4096);
	assert_int_equal(e4_close(f), 0);
	assert_int_equal(e4_unmount(fs), 0);
}

/*
 * Seed 002 (studies/ordered-short-commit-2006.e4s) on the real engine: the 2006
 * loop's short copy into page 1 zeroes its new buffers in the page only and
 * commits offset+copied, so they stay BH_New and clean; the ordered commit
 * records their allocation but writes no data for them.  After the crash the
 * file shows the stale blocks.  commit_range=bytes (Mark's proposal) and
 * zero_new=always make the zeros reach the disk first.
 */
static void test_nick_2006_crash(void **state)
{
	static const struct { enum vfs_commit_range cr; enum vfs_zero_new zn; int stale; } runs[] = {
		{ VFS_CR_DEFAULT, VFS_ZN_DEFAULT, 1 },
		{ VFS_CR_BYTES, VFS_ZN_DEFAULT, 0 },
		{ VFS_CR_DEFAULT, VFS_ZN_ALWAYS, 0 },
	};

	(void)state;
	for (unsigned bs = 1024; bs <= 4096; bs *= 4) {
		for (unsigned k = 0; k < sizeof(runs) / sizeof(runs[0]); k++) {
			struct vfs_policy pol = { VFS_WL_NICK_2006, VFS_SC_DEFAULT, runs[k].zn,
						  runs[k].cr };
			struct fixture x;
			struct crash_src cs = { &x, "", 0, 0 };
			uint8_t buf[4096];

			setup_poisoned(&x, bs, 8192);
			mm_reclaim(x.mm, x.addr + 4096, 4096);
			assert_int_equal(write_policy(&x, 0, x.addr, 8192, &crash_uaccess, &cs, &pol),
					 8192);
			assert_int_equal(cs.crashed, 1);
			check_pcache(&x);
			assert_int_equal(e4_pread(x.f, buf, 4096, 4096), 4096);
			assert_true(all_bytes(buf, sizeof(buf), 'W'));	/* the retry landed */
			read_after_crash(cs.image, buf);
			if (runs[k].stale != has_stale(buf, sizeof(buf)))
				fail_msg("bs %u, run %u: after the crash page 1 %s", bs, k,
					 runs[k].stale ? "shows no stale block" : "shows a stale block");
			if (!runs[k].stale)
				assert_true(all_bytes(buf, sizeof(buf), 0));
			unlink(cs.image);
			teardown_fs(&x);
		}
	}
}

/*
 * commit_range on an extending write whose copy stops 1000 bytes into page 1
 * (the source's second page is gone): commit_write(offset+copied) sets i_size to
 * the bytes copied, commit_write(offset+bytes) to the whole chunk, with zeros
 * past the copy.  The 2006 loop keeps the blocks it allocated past i_size.
 */
static void test_commit_range_isize(void **state)
{
	(void)state;
	for (int bytes = 0; bytes < 2; bytes++) {
		struct vfs_policy pol = { VFS_WL_NICK_2006, VFS_SC_DEFAULT, VFS_ZN_DEFAULT,
					  bytes ? VFS_CR_BYTES : VFS_CR_COPIED };
		struct disk_map map = { .lblk = 6, .len = 1 };
		struct fixture x;
		uint8_t buf[7000];

		setup_poisoned(&x, 1024, 0);
		assert_int_equal(mm_munmap(x.mm, x.addr + 4096, 4096), 0);
		assert_int_equal(write_policy(&x, 1000, x.addr, 6000, &study_mm_uaccess, x.mm, &pol),
				 4096);
		check_pcache(&x);
		assert_int_equal(disk_i_size(x.f->inode), bytes ? 7000 : 5096);
		assert_int_equal(e4_pread(x.f, buf, sizeof(buf), 0), bytes ? 7000 : 5096);
		assert_true(all_bytes(buf, 1000, 0));
		assert_true(all_bytes(buf + 1000, 4096, 'W'));
		if (bytes)
			assert_true(all_bytes(buf + 5096, 7000 - 5096, 0));
		/* block 6 holds bytes [6144, 7000): allocated by the short round */
		assert_int_equal(disk_map_blocks(x.f->inode, &map, 0), 0);
		assert_true(map.flags & DISK_MAP_MAPPED);
		teardown_fs(&x);
	}
}

/* After the deadlock the writer is abandoned holding the PG_noread slot and a
 * reference on page 0 (write_begin's); its fault holds another.  Give them back. */
static void release_noread_page(struct fixture *x)
{
	struct pc_cache *c = x->f->inode->dfs->pcache;
	struct pc_page *p = pc_find_get_page(x->f->inode->i_mapping, 0);
	unsigned i;

	assert_non_null(p);
	assert_true(p->flags & PC_PG_NOREAD);
	assert_false(p->flags & PC_PG_LOCKED);
	for (i = 0; i < PC_NOREAD_SLOTS && c->noread[i].page != p; i++)
		;
	assert_true(i < PC_NOREAD_SLOTS);
	assert_int_equal(c->noread[i].waiters, 1);
	assert_int_equal(p->count, 3);
	pc_forget_holders(c);
	assert_false(p->flags & PC_PG_NOREAD);
	assert_null(c->noread[i].page);
}

/* Seed 003 (studies/fix-readpage-flag-2007.e4s): Anton's flag must keep the fault
 * path out too, so a write from a mapping of the same page waits for itself. */
static void test_readpage_flag_deadlock(void **state)
{
	(void)state;
	for (int k = 0; k < 2; k++) {
		struct fixture x;
		struct same_page sp = { &x, { k ? VFS_WL_WRITE_BEGIN_2624
						: VFS_WL_READPAGE_FLAG_2007 }, 0 };
		struct task_program prog = { same_page_setup, NULL, NULL, &sp };
		struct task_explore_opts o = { .sched = { .strategy = TASK_DFS, .preempt_bound = 1 } };
		struct task_explore_result r;
		uint8_t buf[4096];

		setup_fs(&x, 4096);
		mm_reclaim(x.mm, x.addr, 8192);
		assert_int_equal(task_explore(&prog, &o, &r), 0);
		if (!k) {
			assert_int_equal(r.verdict, TASK_DEADLOCK);
			assert_non_null(strstr(r.message, "PG_noread"));
			release_noread_page(&x);
		} else {
			assert_int_equal(r.verdict, TASK_OK);
			assert_int_equal(sp.ret, 4096);
			assert_int_equal(e4_pread(x.f, buf, 4096, 0), 4096);
			assert_memory_equal(buf, x.data, 4096);
		}
		teardown_fs(&x);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mapping),
		cmocka_unit_test(test_loops_from_mapping),
		cmocka_unit_test(test_same_page_deadlock),
		cmocka_unit_test(test_page_notes),
		cmocka_unit_test(test_zero_new_if_copied),
		cmocka_unit_test(test_nick_2006_crash),
		cmocka_unit_test(test_commit_range_isize),
		cmocka_unit_test(test_readpage_flag_deadlock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
