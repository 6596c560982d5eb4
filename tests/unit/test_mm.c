/*
 * tests/unit/test_mm.c - libfs/mm: anonymous memory with real bytes, shared file
 * mappings over a fake file (page_mkwrite once per write-protect cycle), the
 * VM_FAULT_RETRY protocol for user faults and get_user_pages, the atomic copy's short
 * copy, reclaim and refault, munmap, mlock, and a fault under a page lock.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "libfs/mm/mm.h"

#define PG MM_PAGE_SIZE

/* ---- a fake file: four pages, counters, optional behaviours ---- */

struct ffile {
	uint8_t data[4][MM_PAGE_SIZE];
	int refs[4];
	int size_pages;		/* ->fault past it: SIGBUS */
	int faults, mkwrites, retries, no_retry_faults;
	int retry_mode;		/* ->fault wants to drop mmap_lock once and retry */
	int bad_retry;		/* ->fault returns VM_FAULT_RETRY whatever the flags */
	int lock_in_fault;	/* ->fault takes the page lock, as filemap_fault */
	struct lock_page locks[4];
	unsigned last_flags;
};

static int ffile_fault(struct mm_fault *vmf)
{
	struct ffile *f = vmf->file;
	uint64_t i = vmf->pgoff;

	f->faults++;
	f->last_flags = vmf->flags;
	if (i >= (uint64_t)f->size_pages)
		return VM_FAULT_SIGBUS;
	if (f->bad_retry)
		return VM_FAULT_RETRY;
	if (f->retry_mode && (vmf->flags & FAULT_FLAG_RETRY_NOWAIT)) {
		f->retries++;
		return VM_FAULT_RETRY;		/* may not drop, may not wait */
	}
	if (f->retry_mode && !(vmf->flags & FAULT_FLAG_TRIED) && mm_fault_may_drop_mmap(vmf)) {
		mm_fault_drop_mmap(vmf);	/* e.g. to wait for I/O, or take inode_lock */
		f->retries++;
		return VM_FAULT_RETRY;
	}
	if (f->retry_mode && !(vmf->flags & FAULT_FLAG_ALLOW_RETRY))
		f->no_retry_faults++;		/* the fallback: finish under mmap_lock */
	if (f->lock_in_fault) {
		lock_page_lock(&f->locks[i]);
		lock_page_unlock(&f->locks[i]);
	}
	f->refs[i]++;
	vmf->page = &f->refs[i];
	vmf->data = f->data[i];
	return 0;
}

static int ffile_mkwrite(struct mm_fault *vmf)
{
	struct ffile *f = vmf->file;

	f->mkwrites++;
	return 0;
}

static void ffile_get(void *file, void *page)
{
	(*(int *)page)++;
}

static void ffile_put(void *file, void *page)
{
	(*(int *)page)--;
}

static const struct mm_file_ops ffile_ops = {
	.name = "ffile", .fault = ffile_fault, .page_mkwrite = ffile_mkwrite,
	.get_page = ffile_get, .put_page = ffile_put,
};

static struct ffile *ffile_new(int size_pages)
{
	struct ffile *f = calloc(1, sizeof(*f));

	f->size_pages = size_pages;
	for (int i = 0; i < 4; i++) {
		memset(f->data[i], 'a' + i, MM_PAGE_SIZE);
		lock_page_init(&f->locks[i], "page");
	}
	return f;
}

static uint64_t map_file(struct mm *mm, struct ffile *f, int pages)
{
	uint64_t addr;

	assert_int_equal(mm_mmap(mm, (uint64_t)pages * PG, VM_READ | VM_WRITE | VM_SHARED,
				 &ffile_ops, f, 0, &addr), 0);
	return addr;
}

static uint64_t map_anon(struct mm *mm, int pages)
{
	uint64_t addr;

	assert_int_equal(mm_mmap(mm, (uint64_t)pages * PG, VM_READ | VM_WRITE, NULL, NULL, 0,
				 &addr), 0);
	return addr;
}

/* ---- tests ---- */

static void test_anon_bytes(void **state)
{
	struct mm *mm;
	char buf[16];
	uint64_t a;

	assert_int_equal(mm_create(&mm), 0);
	a = map_anon(mm, 3);
	assert_int_equal(mm_copy_to_user(mm, a + PG - 3, "hello!", 6), 0);
	assert_int_equal(mm->stats.anon_pages, 2);
	assert_int_equal(mm_copy_from_user(mm, buf, a + PG - 3, 6), 0);
	assert_memory_equal(buf, "hello!", 6);
	assert_int_equal(mm_copy_from_user(mm, buf, a + 3 * PG, 1), 1);	/* unmapped */
	assert_false(lock_rwsem_is_locked(&mm->mmap_lock));
	mm_check(mm);
	mm_destroy(mm);
}

static void test_page_mkwrite_once(void **state)
{
	struct ffile *f = ffile_new(4);
	struct mm *mm;
	char c;
	uint64_t a;

	assert_int_equal(mm_create(&mm), 0);
	a = map_file(mm, f, 2);
	assert_int_equal(mm_copy_from_user(mm, &c, a + 5, 1), 0);		/* read fault */
	assert_int_equal(c, 'a');
	assert_int_equal(f->faults, 1);
	assert_int_equal(f->mkwrites, 0);
	assert_int_equal(mm_pte_of(mm, a)->state, PTE_RO);
	assert_int_equal(mm_copy_to_user(mm, a + 10, "xy", 2), 0);		/* RO -> RW */
	assert_int_equal(mm_copy_to_user(mm, a + 100, "z", 1), 0);		/* no fault */
	assert_int_equal(f->mkwrites, 1);
	assert_int_equal(f->faults, 1);
	assert_memory_equal(f->data[0] + 10, "xy", 2);
	assert_int_equal(f->data[0][100], 'z');
	/* writeback write-protects: the next store calls page_mkwrite again */
	assert_int_equal(mm_mkclean_file(mm, f, 0), 1);
	assert_int_equal(mm_copy_to_user(mm, a + 11, "q", 1), 0);
	assert_int_equal(f->mkwrites, 2);
	/* a store to a page never mapped: ->fault then ->page_mkwrite, once each */
	assert_int_equal(mm_copy_to_user(mm, a + PG, "w", 1), 0);
	assert_int_equal(f->faults, 2);
	assert_int_equal(f->mkwrites, 3);
	assert_int_equal(mm->stats.mkwrite, 3);
	assert_int_equal(f->refs[0], 1);		/* the PTEs' references */
	assert_int_equal(f->refs[1], 1);
	mm_check(mm);
	mm_destroy(mm);
	assert_int_equal(f->refs[0], 0);
	free(f);
}

static void test_fault_retry_user_access(void **state)
{
	struct ffile *f = ffile_new(4);
	struct mm *mm;
	char c;
	uint64_t a;

	assert_int_equal(mm_create(&mm), 0);
	a = map_file(mm, f, 1);
	f->retry_mode = 1;
	assert_int_equal(mm_copy_from_user(mm, &c, a, 1), 0);
	assert_int_equal(c, 'a');
	assert_int_equal(f->faults, 2);			/* dropped mmap_lock, then TRIED */
	assert_int_equal(f->retries, 1);
	assert_true(f->last_flags & FAULT_FLAG_TRIED);
	assert_int_equal(mm->stats.retries, 1);
	assert_false(lock_rwsem_is_locked(&mm->mmap_lock));
	mm_destroy(mm);
	free(f);
}

static void test_gup_with_and_without_retry(void **state)
{
	struct ffile *f = ffile_new(4);
	struct mm_page_ref ref;
	struct mm *mm;
	uint64_t a;
	int locked = 1;

	assert_int_equal(mm_create(&mm), 0);
	a = map_file(mm, f, 2);
	f->retry_mode = 1;

	/* no retry permission: the fault must finish under mmap_lock */
	lock_down_read(&mm->mmap_lock);
	assert_int_equal(mm_get_user_pages(mm, a, 1, 0, &ref, NULL), 1);
	assert_true(lock_rwsem_is_locked(&mm->mmap_lock));
	assert_false(f->last_flags & FAULT_FLAG_ALLOW_RETRY);
	assert_int_equal(f->no_retry_faults, 1);
	assert_int_equal(f->retries, 0);
	assert_int_equal(ref.data[0], 'a');
	assert_int_equal(f->refs[0], 2);		/* PTE + pin */
	mm_put_user_page(&ref);
	assert_int_equal(f->refs[0], 1);

	/* FOLL_UNLOCKABLE: the fault drops mmap_lock, gup takes it again and retries */
	assert_int_equal(mm_get_user_pages(mm, a + PG, 1, FOLL_UNLOCKABLE | FOLL_WRITE, &ref,
					   &locked), 1);
	assert_int_equal(locked, 1);
	assert_true(lock_rwsem_is_locked(&mm->mmap_lock));
	assert_int_equal(f->retries, 1);
	assert_int_equal(f->no_retry_faults, 1);
	assert_int_equal(f->mkwrites, 1);
	assert_int_equal(mm_pte_of(mm, a + PG)->state, PTE_RW);
	mm_put_user_page(&ref);

	/* RETRY_NOWAIT: VM_FAULT_RETRY comes back with mmap_lock still held */
	assert_int_equal(mm_reclaim(mm, a, PG), 1);
	assert_int_equal(mm_handle_fault(mm, a, FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_RETRY_NOWAIT),
			 VM_FAULT_RETRY);
	assert_true(lock_rwsem_is_locked(&mm->mmap_lock));
	/* FOLL_NOFAULT stops at a page that is not present */
	assert_int_equal(mm_get_user_pages(mm, a, 1, FOLL_NOFAULT, &ref, NULL), -EFAULT);
	lock_up_read(&mm->mmap_lock);
	mm_destroy(mm);
	free(f);
}

/* A ->fault that returns VM_FAULT_RETRY to a caller that did not allow it is a BUG
 * (Jan Kara's objection in seed 004): checked inside a one-task run. */
struct bad_retry_ctx {
	struct mm *mm;
	uint64_t addr;
};

static void gup_task(void *arg)
{
	struct bad_retry_ctx *x = arg;
	struct mm_page_ref ref;

	lock_down_read(&x->mm->mmap_lock);
	mm_get_user_pages(x->mm, x->addr, 1, 0, &ref, NULL);
	lock_up_read(&x->mm->mmap_lock);
}

static void test_retry_without_permission_is_bug(void **state)
{
	struct ffile *f = ffile_new(4);
	struct task_sched_opts o = { .strategy = TASK_SCRIPT };
	struct bad_retry_ctx x;
	struct task_sched *s;

	assert_int_equal(mm_create(&x.mm), 0);
	x.addr = map_file(x.mm, f, 1);
	f->bad_retry = 1;
	assert_int_equal(task_sched_create(&s, &o), 0);
	task_spawn(s, "gup", gup_task, &x);
	assert_int_equal(task_sched_run(s), TASK_BUG);
	assert_non_null(strstr(task_sched_message(s),
			       "ffile returned VM_FAULT_RETRY but the caller did not set "
			       "FAULT_FLAG_ALLOW_RETRY"));
	task_sched_destroy(s);
	lock_rwsem_init(&x.mm->mmap_lock, "mmap_lock");	/* the aborted task held it */
	mm_destroy(x.mm);
	free(f);
}

static void test_atomic_copy_short(void **state)
{
	static char src[3 * MM_PAGE_SIZE], dst[3 * MM_PAGE_SIZE];
	struct mm *mm;
	uint64_t a;

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (char)(i * 7 + 1);
	assert_int_equal(mm_create(&mm), 0);
	a = map_anon(mm, 3);
	assert_int_equal(mm_copy_to_user(mm, a, src, sizeof(src)), 0);
	assert_int_equal(mm_reclaim(mm, a + PG, PG), 1);		/* page 1 not present */

	memset(dst, 0, sizeof(dst));
	assert_int_equal(mm_copy_from_user_atomic(mm, dst, a, sizeof(dst)), PG);
	assert_memory_equal(dst, src, PG);
	assert_int_equal(mm_copy_from_user_atomic(mm, dst, a + PG - 96, 200), 96);
	/* copy_from_user with page faults disabled is just as short */
	mm_pagefault_disable();
	assert_int_equal(mm_copy_from_user(mm, dst, a, sizeof(dst)), 2 * PG);
	mm_pagefault_enable();
	assert_int_equal(mm->stats.faults, 3);		/* the first-touch faults only */
	/* faults enabled: the page comes back with its contents */
	assert_int_equal(mm_copy_from_user(mm, dst, a, sizeof(dst)), 0);
	assert_memory_equal(dst, src, sizeof(src));
	mm_destroy(mm);
}

static void test_reclaim_then_fault_again(void **state)
{
	struct ffile *f = ffile_new(4);
	struct mm *mm;
	char c;
	uint64_t a, b;

	assert_int_equal(mm_create(&mm), 0);
	a = map_file(mm, f, 2);
	assert_int_equal(mm_copy_from_user(mm, &c, a, 1), 0);
	assert_int_equal(f->faults, 1);
	assert_int_equal(f->refs[0], 1);
	assert_int_equal(mm_reclaim(mm, a, 2 * PG), 1);
	assert_int_equal(mm_pte_of(mm, a)->state, PTE_NONE);
	assert_int_equal(f->refs[0], 0);			/* the page may now go */
	assert_int_equal(mm_copy_from_user(mm, &c, a, 1), 0);
	assert_int_equal(f->faults, 2);
	/* mlock: every page faulted in under mmap_lock (write), no retry; not reclaimable */
	f->retry_mode = 1;
	b = map_file(mm, f, 2);
	assert_int_equal(mm_mlock(mm, b, 2 * PG), 0);
	assert_int_equal(f->no_retry_faults, 2);
	assert_int_equal(f->retries, 0);
	assert_int_equal(mm_reclaim(mm, b, 2 * PG), 0);
	assert_int_equal(mm_pte_of(mm, b + PG)->state, PTE_RO);
	assert_int_equal(mm_unmap_file_range(mm, f, 1, 1), 1);	/* truncate does unmap */
	mm_check(mm);
	mm_destroy(mm);
	free(f);
}

static void test_fault_in_and_munmap(void **state)
{
	struct ffile *f = ffile_new(2);		/* page 2 is past EOF */
	struct mm *mm;
	char buf[8];
	uint64_t a, b;

	assert_int_equal(mm_create(&mm), 0);
	a = map_file(mm, f, 3);
	assert_int_equal(mm_fault_in_readable(mm, a + 100, 3 * PG - 100), PG);
	assert_int_equal(f->faults, 3);
	assert_int_equal(mm_fault_in_readable(mm, a + 100, PG), 0);	/* partial range */
	assert_int_equal(mm_fault_in_pages_readable(mm, a + 2 * PG - 4, 8), -EFAULT);
	assert_int_equal(mm_fault_in_pages_readable(mm, a, 2 * PG), 0);

	b = map_anon(mm, 3);
	assert_int_equal(mm_fault_in_writeable(mm, b, 3 * PG), 0);
	assert_int_equal(mm_munmap(mm, b + PG, PG), 0);
	mm_check(mm);
	assert_null(mm_find_vma(mm, b + PG));
	assert_non_null(mm_find_vma(mm, b + 2 * PG));
	assert_int_equal(mm_copy_from_user(mm, buf, b + PG - 4, 8), 4);
	assert_int_equal(mm_copy_from_user(mm, buf, b + 2 * PG, 8), 0);
	assert_int_equal(mm_munmap(mm, a, 3 * PG), 0);
	assert_int_equal(f->refs[0] + f->refs[1], 0);
	mm_destroy(mm);
	free(f);
}

static void test_no_mm(void **state)
{
	struct mm_page_ref ref;
	char buf[4];

	assert_int_equal(mm_copy_from_user(NULL, buf, 0x10000000, 4), 4);
	assert_int_equal(mm_get_user_pages(NULL, 0x10000000, 1, 0, &ref, NULL), -EFAULT);
}

/*
 * Seed 003, deadlock (a) in miniature: write() locks the page cache page, then copies
 * from a user buffer that maps that very page; the fault's lock_page waits forever.
 * With page faults disabled the copy comes back short instead.
 */
struct same_page {
	struct ffile *f;
	struct mm *mm;
	uint64_t addr;
	int atomic;
	size_t left;
};

static void writer_task(void *arg)
{
	struct same_page *x = arg;
	char buf[16];

	lock_page_lock(&x->f->locks[0]);
	if (x->atomic) {
		mm_pagefault_disable();
		x->left = sizeof(buf) - mm_copy_from_user_atomic(x->mm, buf, x->addr, sizeof(buf));
		mm_pagefault_enable();
	} else {
		x->left = mm_copy_from_user(x->mm, buf, x->addr, sizeof(buf));
	}
	lock_page_unlock(&x->f->locks[0]);
}

static void test_fault_under_page_lock(void **state)
{
	struct task_sched_opts o = { .strategy = TASK_SCRIPT, .dep = lock_dep_create() };
	struct same_page x = { .f = ffile_new(1) };
	struct task_sched *s;

	assert_int_equal(mm_create(&x.mm), 0);
	x.addr = map_file(x.mm, x.f, 1);
	x.f->lock_in_fault = 1;
	assert_int_equal(task_sched_create(&s, &o), 0);
	task_spawn(s, "write", writer_task, &x);
	assert_int_equal(task_sched_run(s), TASK_DEADLOCK);
	assert_non_null(strstr(task_sched_message(s), "cycle: T1 page -> T1"));
	assert_int_equal(lock_dep_count(o.dep, LOCK_REPORT_RECURSION), 1);
	task_sched_destroy(s);

	lock_page_init(&x.f->locks[0], "page");
	lock_rwsem_init(&x.mm->mmap_lock, "mmap_lock");
	x.atomic = 1;
	assert_int_equal(task_sched_create(&s, &o), 0);
	task_spawn(s, "write", writer_task, &x);
	assert_int_equal(task_sched_run(s), TASK_OK);
	assert_int_equal(x.left, 16);			/* nothing copied: short copy */
	task_sched_destroy(s);
	mm_destroy(x.mm);
	free(x.f);
	lock_dep_destroy(o.dep);
}

/*
 * Every interleaving of a user copy whose fault drops mmap_lock (VM_FAULT_RETRY) with
 * munmap and reclaim of the same page: the copy is whole or nothing, the fault never
 * touches the freed VMA (invariant 7; ASan would see it), references balance.
 */
struct race {
	struct ffile *f;
	struct mm *mm;
	uint64_t addr;
	size_t left;
	char buf[8];
	long whole, nothing;	/* outcomes over all runs */
};

static void race_copy(void *arg)
{
	struct race *x = arg;

	x->left = mm_copy_from_user(x->mm, x->buf, x->addr + 8, sizeof(x->buf));
}

static void race_munmap(void *arg)
{
	struct race *x = arg;

	mm_munmap(x->mm, x->addr, PG);
}

static void race_reclaim(void *arg)
{
	struct race *x = arg;

	mm_reclaim(x->mm, x->addr, PG);
}

static int race_setup(struct task_sched *s, void *arg)
{
	struct race *x = arg;

	x->f = ffile_new(1);
	x->f->retry_mode = 1;
	if (mm_create(&x->mm))
		return -ENOMEM;
	x->addr = map_file(x->mm, x->f, 1);
	x->left = 99;
	task_spawn(s, "copy", race_copy, x);
	task_spawn(s, "munmap", race_munmap, x);
	task_spawn(s, "reclaim", race_reclaim, x);
	return 0;
}

static void race_check(struct task_sched *s, void *arg)
{
	struct race *x = arg;

	mm_check(x->mm);
	if (x->left != 0 && x->left != sizeof(x->buf))
		task_sched_fail(s, "expect", "copy left %zu bytes", x->left);
	else if (!x->left && memcmp(x->buf, x->f->data[0] + 8, sizeof(x->buf)))
		task_sched_fail(s, "lost", "copied bytes differ");
	else if (x->f->refs[0] != 0)
		task_sched_fail(s, "expect", "page references: %d", x->f->refs[0]);
	x->whole += !x->left;
	x->nothing += !!x->left;
}

static void race_teardown(void *arg)
{
	struct race *x = arg;

	mm_destroy(x->mm);
	free(x->f);
}

static void test_fault_retry_races_munmap(void **state)
{
	struct race x = { .whole = 0 };
	struct task_program p = { race_setup, race_check, race_teardown, &x };
	struct task_explore_opts o = { .sched = { .strategy = TASK_DFS, .preempt_bound = 3 } };
	struct task_explore_result r;

	o.sched.dep = lock_dep_create();
	assert_int_equal(task_explore(&p, &o, &r), 0);
	if (r.verdict != TASK_OK)
		fprintf(stderr, "schedule \"%s\": %s\n", r.schedule, r.message);
	assert_int_equal(r.verdict, TASK_OK);
	assert_true(r.complete);
	assert_true(r.runs > 100);
	assert_true(x.whole > 0 && x.nothing > 0);	/* both outcomes were reached */
	assert_int_equal(x.whole + x.nothing, r.runs);
	assert_int_equal(lock_dep_nr_reports(o.sched.dep), 0);
	lock_dep_destroy(o.sched.dep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anon_bytes),
		cmocka_unit_test(test_page_mkwrite_once),
		cmocka_unit_test(test_fault_retry_user_access),
		cmocka_unit_test(test_gup_with_and_without_retry),
		cmocka_unit_test(test_retry_without_permission_is_bug),
		cmocka_unit_test(test_atomic_copy_short),
		cmocka_unit_test(test_reclaim_then_fault_again),
		cmocka_unit_test(test_fault_in_and_munmap),
		cmocka_unit_test(test_no_mm),
		cmocka_unit_test(test_fault_under_page_lock),
		cmocka_unit_test(test_fault_retry_races_munmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
