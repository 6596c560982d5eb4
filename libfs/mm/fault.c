/*
 * libfs/mm/fault.c - the fault path: handle_mm_fault for anonymous and shared file
 * pages, page_mkwrite, the VM_FAULT_RETRY protocol, and get_user_pages.  Calls
 * libfs/task (mmap_lock, task_bug) and the engine's mm_file_ops.
 *
 * A PTE's states:
 *
 *               read fault (file: ->fault)
 *     NONE ------------------------------------> RO
 *       |                                         |  write fault
 *       |  write fault                            |  (shared file: ->page_mkwrite)
 *       |  (file: ->fault, then ->page_mkwrite;   v
 *       |   anon: a zeroed page)                 RW
 *       +-----------------------------------------^
 *     RO, RW --- reclaim, munmap, unmap_file_range ---> NONE
 *     RW     --- mkclean (after writeback) ----------> RO
 *
 * Invariants (mm_check asserts 1-4; mm_handle_fault enforces 5-7 with task_bug):
 *  1. VMAs are sorted, disjoint, page aligned and non-empty.
 *  2. A present PTE is in a VMA that allows the access: RW only with VM_WRITE.
 *  3. An anonymous VMA's present PTE maps its own anon[] page; a file VMA has no
 *     anon[] and every present PTE has a page and its data.
 *  4. File VMAs are VM_SHARED (private file mappings are not modelled).
 *  5. A shared file page becomes RW only after ->page_mkwrite succeeded for it since
 *     it was last NONE or RO (so page_mkwrite runs exactly once per such write).
 *  6. VM_FAULT_RETRY comes back only if the caller set FAULT_FLAG_ALLOW_RETRY.  Then
 *     mmap_lock is released, unless FAULT_FLAG_RETRY_NOWAIT was set, in which case it
 *     is still held.  Without VM_FAULT_RETRY, mmap_lock is held on return.
 *  7. After mmap_lock was dropped, the fault touches neither the VMA nor its PTEs.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libfs/mm/mm.h"

#define MM_MAX_RETRIES 16	/* a fault retried more often is reported as a livelock */

void mm_check(const struct mm *mm)
{
	uint64_t prev_end = 0;

	for (const struct mm_vma *vma = mm->vmas; vma; vma = vma->next) {
		uint64_t n = (vma->end - vma->start) >> MM_PAGE_SHIFT;

		assert(vma->start >= prev_end && vma->start < vma->end);		/* 1 */
		assert(!(vma->start & ~MM_PAGE_MASK) && !(vma->end & ~MM_PAGE_MASK));
		assert(!vma->ops || (vma->flags & VM_SHARED));				/* 4 */
		assert(!vma->ops == !!vma->anon);					/* 3 */
		for (uint64_t i = 0; i < n; i++) {
			const struct mm_pte *pte = &vma->ptes[i];

			if (pte->state == PTE_NONE)
				continue;
			assert(pte->state != PTE_RW || (vma->flags & VM_WRITE));	/* 2 */
			assert(pte->page && pte->data);					/* 3 */
			assert(vma->ops || pte->page == vma->anon[i]);
		}
		prev_end = vma->end;
	}
}

int mm_fault_may_drop_mmap(const struct mm_fault *vmf)
{
	return (vmf->flags & FAULT_FLAG_ALLOW_RETRY) && !(vmf->flags & FAULT_FLAG_RETRY_NOWAIT);
}

void mm_fault_drop_mmap(struct mm_fault *vmf)
{
	if (!mm_fault_may_drop_mmap(vmf))
		task_bug("BUG", "%s drops mmap_lock in a fault without FAULT_FLAG_ALLOW_RETRY "
			 "or with RETRY_NOWAIT", vmf->ops ? vmf->ops->name : "anon");
	vmf->mmap_dropped = 1;
	vmf->vma = NULL;
	lock_up_read(&vmf->mm->mmap_lock);
}

/* ---- anonymous ---- */

static int anon_fault(struct mm_fault *vmf, struct mm_pte *pte, uint64_t i)
{
	struct mm_vma *vma = vmf->vma;
	struct mm_anon_page *p = vma->anon[i];

	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return VM_FAULT_OOM;
		p->refs = 1;
		vma->anon[i] = p;
		vmf->mm->stats.anon_pages++;
	}
	pte->page = p;
	pte->data = p->data;
	pte->state = (vmf->flags & FAULT_FLAG_WRITE) ? PTE_RW : PTE_RO;
	return 0;
}

/* ---- shared file ---- */

static void file_put(struct mm_fault *vmf)
{
	if (vmf->ops->put_page)
		vmf->ops->put_page(vmf->file, vmf->page);
}

static int do_page_mkwrite(struct mm_fault *vmf)
{
	vmf->mm->stats.mkwrite++;
	return vmf->ops->page_mkwrite(vmf);
}

#define FAULT_STOP (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)

/* NONE -> RO (read) or NONE -> RW (write, after page_mkwrite). */
static int file_fault(struct mm_fault *vmf, uint64_t i)
{
	int write = vmf->flags & FAULT_FLAG_WRITE;
	int ret;

	vmf->mm->stats.file_faults++;
	ret = vmf->ops->fault(vmf);
	if (ret & FAULT_STOP)
		return ret;
	if (write && vmf->ops->page_mkwrite) {
		ret = do_page_mkwrite(vmf);
		if (ret & FAULT_STOP) {
			file_put(vmf);
			return ret;
		}
	}
	/* mmap_lock was held throughout (invariant 7): the VMA is still there */
	if (vmf->vma->ptes[i].state != PTE_NONE) {
		file_put(vmf);		/* another task mapped it meanwhile */
		return 0;
	}
	vmf->vma->ptes[i] = (struct mm_pte){ write ? PTE_RW : PTE_RO, vmf->page, vmf->data };
	return 0;
}

/* RO -> RW on a shared file page: wp_page_shared. */
static int file_wp_fault(struct mm_fault *vmf, uint64_t i)
{
	struct mm_pte *pte = &vmf->vma->ptes[i];
	int ret;

	if (!vmf->ops->page_mkwrite) {
		pte->state = PTE_RW;
		return 0;
	}
	vmf->page = pte->page;
	vmf->data = pte->data;
	if (vmf->ops->get_page)
		vmf->ops->get_page(vmf->file, vmf->page);	/* reclaim may unmap it */
	ret = do_page_mkwrite(vmf);
	if (!(ret & FAULT_STOP)) {
		pte = &vmf->vma->ptes[i];
		if (pte->state == PTE_RO && pte->page == vmf->page)
			pte->state = PTE_RW;	/* else: unmapped meanwhile; the access refaults */
	}
	if (vmf->ops->get_page)
		file_put(vmf);
	return ret;
}

/* ---- handle_mm_fault ---- */

static void fault_check_retry(const struct mm_fault *vmf, int ret)
{
	const char *who = vmf->ops ? vmf->ops->name : "anon";

	if (ret & VM_FAULT_RETRY) {
		if (!(vmf->flags & FAULT_FLAG_ALLOW_RETRY))
			task_bug("BUG", "%s returned VM_FAULT_RETRY but the caller did not set "
				 "FAULT_FLAG_ALLOW_RETRY", who);
		if ((vmf->flags & FAULT_FLAG_RETRY_NOWAIT) && vmf->mmap_dropped)
			task_bug("BUG", "%s dropped mmap_lock under FAULT_FLAG_RETRY_NOWAIT", who);
		if (!(vmf->flags & FAULT_FLAG_RETRY_NOWAIT) && !vmf->mmap_dropped)
			task_bug("BUG", "%s returned VM_FAULT_RETRY holding mmap_lock", who);
	} else if (vmf->mmap_dropped) {
		task_bug("BUG", "%s dropped mmap_lock without returning VM_FAULT_RETRY", who);
	}
}

int mm_handle_fault(struct mm *mm, uint64_t addr, unsigned flags)
{
	struct mm_vma *vma = mm_find_vma(mm, addr);
	int write = flags & FAULT_FLAG_WRITE;
	struct mm_fault vmf = { .mm = mm, .vma = vma, .address = addr & MM_PAGE_MASK,
				.flags = flags };
	struct mm_pte *pte;
	uint64_t i;
	int ret;

	if (!lock_rwsem_held(&mm->mmap_lock))
		task_bug("BUG", "handle_mm_fault at %#llx without mmap_lock",
			 (unsigned long long)addr);
	mm->stats.faults++;
	if (!vma || !(vma->flags & (write ? VM_WRITE : VM_READ)))
		return VM_FAULT_SIGSEGV;
	i = (addr - vma->start) >> MM_PAGE_SHIFT;
	pte = &vma->ptes[i];
	vmf.pgoff = vma->pgoff + i;
	vmf.ops = vma->ops;
	vmf.file = vma->file;
	if (!vma->ops)
		ret = pte->state == PTE_NONE || write ? anon_fault(&vmf, pte, i) : 0;
	else if (pte->state == PTE_NONE)
		ret = file_fault(&vmf, i);
	else if (write && pte->state == PTE_RO)
		ret = file_wp_fault(&vmf, i);
	else
		ret = 0;	/* spurious: mapped by another task meanwhile */
	fault_check_retry(&vmf, ret);
	if (ret & VM_FAULT_RETRY)
		mm->stats.retries++;
	return ret;
}

/* ---- get_user_pages ---- */

static void pin(struct mm_vma *vma, uint64_t i, struct mm_page_ref *ref)
{
	const struct mm_pte *pte = &vma->ptes[i];

	memset(ref, 0, sizeof(*ref));
	ref->page = pte->page;
	ref->data = pte->data;
	if (!vma->ops) {
		ref->anon = pte->page;
		ref->anon->refs++;
		return;
	}
	ref->ops = vma->ops;
	ref->file = vma->file;
	if (vma->ops->get_page)
		vma->ops->get_page(vma->file, pte->page);
}

void mm_put_user_page(struct mm_page_ref *ref)
{
	if (ref->anon && --ref->anon->refs == 0)
		free(ref->anon);
	else if (!ref->anon && ref->ops && ref->ops->put_page)
		ref->ops->put_page(ref->file, ref->page);
	memset(ref, 0, sizeof(*ref));
}

/* Faults @addr in for gup.  Returns 0 (look again), or -EFAULT. */
static int gup_fault(struct mm *mm, uint64_t addr, unsigned gup_flags, int *locked,
		     int *tries)
{
	unsigned flags = (gup_flags & FOLL_WRITE) ? FAULT_FLAG_WRITE : 0;
	int ret;

	if (gup_flags & FOLL_UNLOCKABLE)
		flags |= FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE;
	if (*tries)
		flags |= FAULT_FLAG_TRIED;
	ret = mm_handle_fault(mm, addr, flags);
	if (ret & VM_FAULT_RETRY) {
		/* only reachable with FOLL_UNLOCKABLE (invariant 6): re-take the lock */
		*locked = 0;
		if (++*tries > MM_MAX_RETRIES)
			task_bug("livelock", "get_user_pages at %#llx retried %d times",
				 (unsigned long long)addr, MM_MAX_RETRIES);
		lock_down_read(&mm->mmap_lock);
		*locked = 1;
		return 0;
	}
	return ret & VM_FAULT_ERROR ? -EFAULT : 0;
}

long mm_get_user_pages(struct mm *mm, uint64_t start, long nr, unsigned gup_flags,
		       struct mm_page_ref *pages, int *locked)
{
	int dummy = 1;
	long n;

	if (!mm)
		return -EFAULT;
	if (!locked)
		locked = &dummy;
	if ((gup_flags & FOLL_UNLOCKABLE) && locked == &dummy)
		return -EINVAL;
	for (n = 0; n < nr; n++) {
		uint64_t addr = (start & MM_PAGE_MASK) + ((uint64_t)n << MM_PAGE_SHIFT);
		int tries = 0;

		for (;;) {
			struct mm_vma *vma = mm_find_vma(mm, addr);
			struct mm_pte *pte = mm_pte_of(mm, addr);

			if (!vma)
				return n ? n : -EFAULT;
			if (pte->state == PTE_RW ||
			    (pte->state == PTE_RO && !(gup_flags & FOLL_WRITE))) {
				pin(vma, (addr - vma->start) >> MM_PAGE_SHIFT, &pages[n]);
				break;
			}
			if ((gup_flags & FOLL_NOFAULT) ||
			    gup_fault(mm, addr, gup_flags, locked, &tries))
				return n ? n : -EFAULT;
		}
	}
	return n;
}
