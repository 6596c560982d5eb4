/*
 * tests/unit/test_study_engine.c - the real engine under the kernel model: a shared
 * mapping of an e4lab file through vfs_mm_file_ops (faults read the page cache,
 * stores go through page_mkwrite), every historical vfs write loop writing right
 * from a mapping, and the 2.6.19 loop deadlocking on the page cache's own page
 * lock when the source is a mapping of the page being written.
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

static void setup_fs(struct fixture *x, unsigned bs)
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

/* After a deadlock the abandoned writer still holds write_begin's journal
 * handle, page 0's lock and its references (write_begin's, and its fault's,
 * blocked in lock_page): give them back so that the file system can be
 * unmounted. */
static void release_abandoned_page(struct fixture *x)
{
	struct pc_page *p = pc_find_get_page(x->f->inode->i_mapping, 0);

	assert_non_null(p);
	assert_true(p->flags & PC_PG_LOCKED);
	lock_page_init(&p->lock, "page");
	p->flags &= ~PC_PG_LOCKED;
	assert_int_equal(p->count, 3);
	while (p->count)
		pc_put_page(p);
	assert_int_equal(disk_handle_stop(x->f->inode->dfs), 0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mapping),
		cmocka_unit_test(test_loops_from_mapping),
		cmocka_unit_test(test_same_page_deadlock),
		cmocka_unit_test(test_page_notes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
