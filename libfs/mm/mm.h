/*
 * libfs/mm - user memory of the kernel model: per-task address spaces (struct mm) with
 * anonymous and shared file-backed VMAs, a PTE per 4 KiB page (none, read-only,
 * writable), mmap_lock (a libfs/task rw-semaphore), the fault path (read and write
 * faults, page_mkwrite, VM_FAULT_RETRY under FAULT_FLAG_ALLOW_RETRY / RETRY_NOWAIT),
 * get_user_pages, fault_in_readable, pagefault_disable, copy_from_user and its atomic
 * form, munmap, mlock and reclaim.
 *
 * Calls libfs/task only.  File pages come from the engine through struct mm_file_ops
 * (the page cache is not ours).  User addresses are plain numbers in a simulated
 * space; anonymous pages hold real bytes, so copies move real data.
 *
 * Return conventions follow the kernel where its names are used: handle_mm_fault
 * returns VM_FAULT_* bits, copy_from_user / copy_to_user / fault_in_* return the
 * bytes NOT done, copy_from_user_atomic returns the bytes copied (as the 2007
 * filemap_copy_from_user_atomic did), get_user_pages the number of pages pinned or
 * -errno; everything else 0 or -errno.
 */
#ifndef E4_MM_H
#define E4_MM_H

#include <stddef.h>
#include <stdint.h>

#include "libfs/task/task.h"

#define MM_PAGE_SHIFT 12
#define MM_PAGE_SIZE (1u << MM_PAGE_SHIFT)
#define MM_PAGE_MASK (~(uint64_t)(MM_PAGE_SIZE - 1))

/* vm_flags (the kernel's values) */
#define VM_READ 0x00000001ul
#define VM_WRITE 0x00000002ul
#define VM_SHARED 0x00000008ul
#define VM_LOCKED 0x00002000ul

/* vm_fault_t bits (the kernel's values) */
#define VM_FAULT_OOM 0x0001
#define VM_FAULT_SIGBUS 0x0002
#define VM_FAULT_SIGSEGV 0x0040
#define VM_FAULT_NOPAGE 0x0100	/* nothing mapped; the access is simply retried */
#define VM_FAULT_RETRY 0x0400	/* mmap_lock dropped (unless RETRY_NOWAIT): retry */
#define VM_FAULT_ERROR (VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV)

/* fault flags (the kernel's values) */
#define FAULT_FLAG_WRITE 0x01
#define FAULT_FLAG_ALLOW_RETRY 0x04	/* the caller handles VM_FAULT_RETRY */
#define FAULT_FLAG_RETRY_NOWAIT 0x08	/* ... but mmap_lock must not be dropped */
#define FAULT_FLAG_KILLABLE 0x10
#define FAULT_FLAG_TRIED 0x20		/* this is a retry */
#define FAULT_FLAG_USER 0x40

/* get_user_pages flags */
#define FOLL_WRITE 0x01
#define FOLL_NOFAULT 0x02	/* never fault: pin what is mapped, stop at the rest */
/* The caller passes @locked and tolerates mmap_lock being dropped and re-taken: the
 * faults get FAULT_FLAG_ALLOW_RETRY (the old "int *locked" API; FOLL_UNLOCKABLE in
 * Linux 6.3+).  Without it, faults must finish under mmap_lock. */
#define FOLL_UNLOCKABLE 0x04

enum mm_pte_state { PTE_NONE, PTE_RO, PTE_RW };

struct mm_pte {
	unsigned char state;
	void *page;		/* file: the engine's page; anon: the mm_anon_page */
	uint8_t *data;		/* its MM_PAGE_SIZE bytes */
};

struct mm_anon_page {
	int refs;		/* the VMA's backing reference + get_user_pages pins */
	uint8_t data[MM_PAGE_SIZE];
};

struct mm_file_ops;
struct mm;

struct mm_vma {
	struct mm_vma *next;	/* sorted by start */
	struct mm *mm;
	uint64_t start, end;	/* page aligned, [start, end) */
	unsigned long flags;	/* VM_* */
	const struct mm_file_ops *ops;	/* NULL: anonymous */
	void *file;
	uint64_t pgoff;		/* file page of start */
	struct mm_pte *ptes;	/* one per page */
	/* anonymous: the pages' contents, kept when reclaim clears a PTE (our swap) */
	struct mm_anon_page **anon;
};

/* One fault, as the kernel's struct vm_fault. */
struct mm_fault {
	struct mm *mm;
	struct mm_vma *vma;	/* not to be used after mmap_lock was dropped */
	uint64_t address;	/* page aligned */
	uint64_t pgoff;		/* file page index */
	unsigned flags;		/* FAULT_FLAG_* */
	const struct mm_file_ops *ops;
	void *file;
	void *page;		/* ->fault sets it (with a reference); ->page_mkwrite gets it */
	uint8_t *data;		/* the page's bytes */
	int mmap_dropped;	/* set by mm_fault_drop_mmap() */
};

/*
 * The file side of a shared mapping, implemented by the engine (aops/vfs).
 *
 * ->fault: find or read the page at vmf->pgoff and set vmf->page and vmf->data,
 *   holding a reference the PTE keeps until ->put_page.  Returns 0, VM_FAULT_ERROR
 *   bits, VM_FAULT_NOPAGE, or VM_FAULT_RETRY (see below).  Return with the page
 *   unlocked.
 * ->page_mkwrite: the first write to vmf->page through this mapping since it was
 *   mapped or cleaned; make it writable (allocate blocks, dirty it).  Same returns.
 * VM_FAULT_RETRY is allowed only when vmf->flags has FAULT_FLAG_ALLOW_RETRY.  Then,
 *   unless FAULT_FLAG_RETRY_NOWAIT is set, the callback must drop mmap_lock with
 *   mm_fault_drop_mmap() before returning it (it may then sleep, take inode_lock...);
 *   with RETRY_NOWAIT it must return at once holding mmap_lock.  Anything else is
 *   reported as a BUG.
 *   Which ->fault the engine offers is a policy: 2.6.19's filemap_nopage takes the
 *   page lock under mmap_lock; since 2.6.37 ("mm: retry page fault when blocking on
 *   disk transfer") a fault that finds the page locked and may retry drops
 *   mmap_lock, waits for the page and returns VM_FAULT_RETRY.
 * ->get_page / ->put_page: reference counting (NULL: none).
 * ->mmap: optional, called under mmap_lock held for write when the VMA is created.
 */
struct mm_file_ops {
	const char *name;
	int (*fault)(struct mm_fault *vmf);
	int (*page_mkwrite)(struct mm_fault *vmf);
	void (*get_page)(void *file, void *page);
	void (*put_page)(void *file, void *page);
	int (*mmap)(struct mm_vma *vma);
};

struct mm_stats {
	long faults;		/* handle_mm_fault calls */
	long file_faults;	/* ->fault calls */
	long mkwrite;		/* ->page_mkwrite calls */
	long retries;		/* VM_FAULT_RETRY returned */
	long anon_pages;	/* anonymous pages allocated */
	long reclaimed;		/* PTEs cleared by reclaim */
};

struct mm {
	struct lock_rwsem mmap_lock;
	struct mm_vma *vmas;
	uint64_t next_addr;
	struct mm_stats stats;
};

/* A pinned page from get_user_pages; release with mm_put_user_page(). */
struct mm_page_ref {
	void *page;
	uint8_t *data;
	struct mm_anon_page *anon;
	const struct mm_file_ops *ops;
	void *file;
};

/* ---- address spaces (vma.c) ---- */
int mm_create(struct mm **mmp);
/* Unmaps everything and frees @mm; no task may use it any more. */
void mm_destroy(struct mm *mm);
/* Maps @len bytes (rounded up to pages) at a fresh address.  @ops NULL: anonymous;
 * else a shared file mapping (VM_SHARED is implied; private file mappings are not
 * modelled: -EOPNOTSUPP).  Takes mmap_lock for write. */
int mm_mmap(struct mm *mm, uint64_t len, unsigned long vm_flags,
	    const struct mm_file_ops *ops, void *file, uint64_t pgoff, uint64_t *addr);
int mm_munmap(struct mm *mm, uint64_t addr, uint64_t len);
/* Sets VM_LOCKED and faults every page in under mmap_lock held for write, without
 * FAULT_FLAG_ALLOW_RETRY (2.6.19's sys_mlock -> make_pages_present). */
int mm_mlock(struct mm *mm, uint64_t addr, uint64_t len);
/* Clears the PTEs of [addr, addr + len) outside VM_LOCKED VMAs, as page reclaim
 * does (anonymous contents are kept, as if swapped).  No mmap_lock (reclaim uses
 * the rmap).  Returns the number of PTEs cleared. */
long mm_reclaim(struct mm *mm, uint64_t addr, uint64_t len);
/* unmap_mapping_range for one mm: clears PTEs of @file pages [pgoff, pgoff + n). */
long mm_unmap_file_range(struct mm *mm, const void *file, uint64_t pgoff, uint64_t n);
/* Write-protects @file's page @pgoff (after writeback): the next store calls
 * page_mkwrite again. */
long mm_mkclean_file(struct mm *mm, const void *file, uint64_t pgoff);
struct mm_vma *mm_find_vma(struct mm *mm, uint64_t addr);
/* The PTE of @addr, or NULL when no VMA covers it. */
struct mm_pte *mm_pte_of(struct mm *mm, uint64_t addr);
void mm_check(const struct mm *mm);

/* ---- the fault path (fault.c) ---- */
/* handle_mm_fault: the caller holds mmap_lock (read or write).  On VM_FAULT_RETRY
 * without FAULT_FLAG_RETRY_NOWAIT it no longer does. */
int mm_handle_fault(struct mm *mm, uint64_t addr, unsigned flags);
/* For ->fault and ->page_mkwrite: may this fault drop mmap_lock and retry? */
int mm_fault_may_drop_mmap(const struct mm_fault *vmf);
void mm_fault_drop_mmap(struct mm_fault *vmf);
/* The caller holds mmap_lock for read; with FOLL_UNLOCKABLE, *locked is 1 and the
 * lock may be dropped and re-taken inside (it is held again on return).  Returns the
 * number of pages pinned (fewer at an unmapped or failing page) or -EFAULT. */
long mm_get_user_pages(struct mm *mm, uint64_t start, long nr, unsigned gup_flags,
		       struct mm_page_ref *pages, int *locked);
void mm_put_user_page(struct mm_page_ref *ref);

/* ---- user access (uaccess.c) ---- */
void mm_pagefault_disable(void);
void mm_pagefault_enable(void);
int mm_pagefault_disabled(void);
/* May fault (mmap_lock read in the fault); with page faults disabled it stops at
 * the first page not present.  @mm NULL (a kernel thread): nothing is copied. */
size_t mm_copy_from_user(struct mm *mm, void *dst, uint64_t src, size_t len);
size_t mm_copy_to_user(struct mm *mm, uint64_t dst, const void *src, size_t len);
/* Never faults: copies up to the first page that is not present. */
size_t mm_copy_from_user_atomic(struct mm *mm, void *dst, uint64_t src, size_t len);
/* Touches every page of the range (Linux 5.16+ fault_in_readable); a partial
 * prefault passes a shorter @len.  Returns the bytes not faulted in. */
size_t mm_fault_in_readable(struct mm *mm, uint64_t uaddr, size_t len);
size_t mm_fault_in_writeable(struct mm *mm, uint64_t uaddr, size_t len);
/* 2.6.24's fault_in_pages_readable: the first and last byte only; 0 or -EFAULT. */
int mm_fault_in_pages_readable(struct mm *mm, uint64_t uaddr, size_t len);

#endif /* E4_MM_H */
