/*
 * libfs/study/engine.c - the real engine's write path under the kernel model: the
 * source of a buffered write (struct vfs_uaccess_ops) read through a libfs/mm
 * address space, so vfs_perform_write_policy copies, faults and pins as a user
 * write would; and a kernel thread's source (kernel memory, no mm).  Calls
 * libfs/mm and libfs/task; @arg is the struct mm.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "libfs/mm/mm.h"
#include "libfs/study/study.h"

static uint64_t uaddr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static size_t ua_copy_atomic(void *arg, void *dst, const void *src, size_t n)
{
	return mm_copy_from_user_atomic(arg, dst, uaddr(src), n);
}

static size_t ua_fault_in(void *arg, const void *src, size_t n)
{
	return mm_fault_in_readable(arg, uaddr(src), n);
}

static size_t ua_copy(void *arg, void *dst, const void *src, size_t n)
{
	return mm_copy_from_user(arg, dst, uaddr(src), n);
}

/* get_user_pages under mmap_lock, then the pins are dropped (the copy that
 * follows finds the pages present). */
static int ua_pin(void *arg, const void *src, size_t n)
{
	struct mm *mm = arg;
	struct mm_page_ref refs[2];
	uint64_t a = uaddr(src);
	long nr, got;

	if (!mm)
		return -EFAULT;
	while (n) {
		size_t chunk = MM_PAGE_SIZE - (a & (MM_PAGE_SIZE - 1));

		chunk = chunk > n ? n : chunk;
		nr = 1;
		lock_down_read(&mm->mmap_lock);
		got = mm_get_user_pages(mm, a, nr, 0, refs, NULL);
		lock_up_read(&mm->mmap_lock);
		for (long i = 0; i < got; i++)
			mm_put_user_page(&refs[i]);
		if (got < nr)
			return -EFAULT;
		a += chunk;
		n -= chunk;
	}
	return 0;
}

const struct vfs_uaccess_ops study_mm_uaccess = {
	.copy_from_user_atomic = ua_copy_atomic,
	.fault_in_readable = ua_fault_in,
	.copy_from_user = ua_copy,
	.pin_pages = ua_pin,
};

/* ---- a kernel thread's source: kernel memory, and no mm to pin it with ---- */

static size_t kt_copy_atomic(void *arg, void *dst, const void *src, size_t n)
{
	(void)arg;
	memcpy(dst, src, n);
	return n;
}

static size_t kt_fault_in(void *arg, const void *src, size_t n)
{
	(void)arg;
	(void)src;
	(void)n;
	return 0;
}

static size_t kt_copy(void *arg, void *dst, const void *src, size_t n)
{
	(void)arg;
	memcpy(dst, src, n);
	return 0;
}

/* get_user_pages needs current->mm: "we'd have to special case kernel threads,
 * which don't even have an mm" (seed 003). */
static int kt_pin(void *arg, const void *src, size_t n)
{
	(void)arg;
	(void)src;
	(void)n;
	task_trace_note("get_user_pages: no mm (kernel thread)");
	return -EFAULT;
}

const struct vfs_uaccess_ops study_kthread_uaccess = {
	.copy_from_user_atomic = kt_copy_atomic,
	.fault_in_readable = kt_fault_in,
	.copy_from_user = kt_copy,
	.pin_pages = kt_pin,
};
