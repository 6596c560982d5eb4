/*
 * libfs/mm/uaccess.c - user memory accesses: copy_from_user / copy_to_user (which
 * fault as a user access would, taking mmap_lock for read in the fault), the atomic
 * copy, fault_in_*, and pagefault_disable.  Calls fault.c and libfs/task.  A copy
 * walks the PTEs with no lock (as the MMU does) and never maps anything itself.
 */
#include <errno.h>
#include <string.h>

#include "libfs/mm/mm.h"

#define MM_USER_RETRIES 16

void mm_pagefault_disable(void)
{
	(*task_pagefault_count())++;
}

void mm_pagefault_enable(void)
{
	(*task_pagefault_count())--;
}

int mm_pagefault_disabled(void)
{
	return *task_pagefault_count() > 0;
}

/*
 * The arch page fault handler (do_user_addr_fault): mmap_lock for read, then
 * handle_mm_fault with FAULT_FLAG_ALLOW_RETRY; on VM_FAULT_RETRY the lock is already
 * gone and the fault is tried again with FAULT_FLAG_TRIED.  Returns 0 or -EFAULT.
 */
static int user_fault(struct mm *mm, uint64_t addr, int write)
{
	unsigned flags = FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE | FAULT_FLAG_USER |
			 (write ? FAULT_FLAG_WRITE : 0);
	int ret;

	for (int tries = 0;; tries++) {
		lock_down_read(&mm->mmap_lock);
		ret = mm_handle_fault(mm, addr, flags);
		if (!(ret & VM_FAULT_RETRY))
			break;
		if (tries == MM_USER_RETRIES)
			task_bug("livelock", "user fault at %#llx retried %d times",
				 (unsigned long long)addr, MM_USER_RETRIES);
		flags |= FAULT_FLAG_TRIED;
	}
	lock_up_read(&mm->mmap_lock);
	return ret & VM_FAULT_ERROR ? -EFAULT : 0;
}

/*
 * Moves up to @len bytes between @buf and user memory at @uaddr.  A page that is
 * not present (or read-only, for a store) faults when @may_fault and page faults are
 * enabled, else the copy stops there.  Returns the bytes done.
 */
static size_t user_access(struct mm *mm, uint64_t uaddr, void *buf, size_t len, int write,
			  int may_fault)
{
	size_t done = 0;

	if (!mm)
		return 0;
	may_fault = may_fault && !mm_pagefault_disabled();
	while (done < len) {
		uint64_t addr = uaddr + done;
		size_t off = addr & (MM_PAGE_SIZE - 1);
		size_t n = MM_PAGE_SIZE - off < len - done ? MM_PAGE_SIZE - off : len - done;
		struct mm_pte *pte = mm_pte_of(mm, addr);

		if (pte && (pte->state == PTE_RW || (!write && pte->state == PTE_RO))) {
			if (write)
				memcpy(pte->data + off, (const char *)buf + done, n);
			else
				memcpy((char *)buf + done, pte->data + off, n);
			done += n;
			continue;
		}
		if (!may_fault || user_fault(mm, addr, write))
			break;
	}
	return done;
}

size_t mm_copy_from_user(struct mm *mm, void *dst, uint64_t src, size_t len)
{
	return len - user_access(mm, src, dst, len, 0, 1);
}

size_t mm_copy_to_user(struct mm *mm, uint64_t dst, const void *src, size_t len)
{
	return len - user_access(mm, dst, (void *)src, len, 1, 1);
}

size_t mm_copy_from_user_atomic(struct mm *mm, void *dst, uint64_t src, size_t len)
{
	return user_access(mm, src, dst, len, 0, 0);
}

/* Touches one byte in each page of the range: reads it, or (as the kernel's
 * fault_in_writeable) stores a zero into it.  Returns the bytes not faulted in. */
static size_t fault_in(struct mm *mm, uint64_t uaddr, size_t len, int write)
{
	uint64_t end = uaddr + len, addr = uaddr;

	while (addr < end) {
		char c = 0;

		if (user_access(mm, addr, &c, 1, write, 1) != 1)
			break;
		addr = (addr & MM_PAGE_MASK) + MM_PAGE_SIZE;
	}
	return addr >= end ? 0 : end - addr;
}

size_t mm_fault_in_readable(struct mm *mm, uint64_t uaddr, size_t len)
{
	return fault_in(mm, uaddr, len, 0);
}

size_t mm_fault_in_writeable(struct mm *mm, uint64_t uaddr, size_t len)
{
	return fault_in(mm, uaddr, len, 1);
}

int mm_fault_in_pages_readable(struct mm *mm, uint64_t uaddr, size_t len)
{
	char c;

	if (!len)
		return 0;
	if (user_access(mm, uaddr, &c, 1, 0, 1) != 1 ||
	    user_access(mm, uaddr + len - 1, &c, 1, 0, 1) != 1)
		return -EFAULT;
	return 0;
}
