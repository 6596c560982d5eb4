/*
 * libfs/mm/vma.c - address spaces and VMAs: mmap, munmap (with splitting), mlock,
 * reclaim, unmap_mapping_range and mkclean for one mm.  Calls libfs/task (mmap_lock)
 * and the file ops' get/put_page.  VMAs stay sorted, disjoint and page aligned.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libfs/mm/mm.h"

#define MM_BASE 0x10000000ull	/* the first address handed out */
#define MM_GAP 0x100000ull	/* unmapped gap after each mapping */

static uint64_t vma_pages(const struct mm_vma *vma)
{
	return (vma->end - vma->start) >> MM_PAGE_SHIFT;
}

int mm_create(struct mm **mmp)
{
	struct mm *mm = calloc(1, sizeof(*mm));

	if (!mm)
		return -ENOMEM;
	lock_rwsem_init(&mm->mmap_lock, "mmap_lock");
	mm->next_addr = MM_BASE;
	*mmp = mm;
	return 0;
}

/* Drops what PTE @i maps; anonymous contents stay in vma->anon. */
static void pte_clear(struct mm_vma *vma, uint64_t i)
{
	struct mm_pte *pte = &vma->ptes[i];

	if (pte->state == PTE_NONE)
		return;
	if (vma->ops && vma->ops->put_page)
		vma->ops->put_page(vma->file, pte->page);
	memset(pte, 0, sizeof(*pte));
}

static void anon_put(struct mm_anon_page *p)
{
	if (p && --p->refs == 0)
		free(p);
}

static void vma_free(struct mm_vma *vma)
{
	for (uint64_t i = 0; i < vma_pages(vma); i++) {
		pte_clear(vma, i);
		if (vma->anon)
			anon_put(vma->anon[i]);
	}
	free(vma->ptes);
	free(vma->anon);
	free(vma);
}

void mm_destroy(struct mm *mm)
{
	struct mm_vma *vma, *next;

	if (!mm)
		return;
	for (vma = mm->vmas; vma; vma = next) {
		next = vma->next;
		vma_free(vma);
	}
	free(mm);
}

struct mm_vma *mm_find_vma(struct mm *mm, uint64_t addr)
{
	for (struct mm_vma *vma = mm->vmas; vma; vma = vma->next)
		if (addr >= vma->start && addr < vma->end)
			return vma;
	return NULL;
}

struct mm_pte *mm_pte_of(struct mm *mm, uint64_t addr)
{
	struct mm_vma *vma = mm ? mm_find_vma(mm, addr) : NULL;

	return vma ? &vma->ptes[(addr - vma->start) >> MM_PAGE_SHIFT] : NULL;
}

static struct mm_vma *vma_alloc(uint64_t start, uint64_t end, int anon)
{
	struct mm_vma *vma = calloc(1, sizeof(*vma));
	uint64_t n = (end - start) >> MM_PAGE_SHIFT;

	if (!vma)
		return NULL;
	vma->start = start;
	vma->end = end;
	vma->ptes = calloc(n, sizeof(*vma->ptes));
	vma->anon = anon ? calloc(n, sizeof(*vma->anon)) : NULL;
	if (!vma->ptes || (anon && !vma->anon)) {
		free(vma->ptes);
		free(vma->anon);
		free(vma);
		return NULL;
	}
	return vma;
}

static void vma_link(struct mm *mm, struct mm_vma *vma)
{
	struct mm_vma **pp = &mm->vmas;

	while (*pp && (*pp)->start < vma->start)
		pp = &(*pp)->next;
	vma->next = *pp;
	*pp = vma;
	vma->mm = mm;
}

int mm_mmap(struct mm *mm, uint64_t len, unsigned long vm_flags,
	    const struct mm_file_ops *ops, void *file, uint64_t pgoff, uint64_t *addr)
{
	uint64_t size = (len + MM_PAGE_SIZE - 1) & MM_PAGE_MASK;
	struct mm_vma *vma;
	int err = 0;

	if (!size)
		return -EINVAL;
	if (ops && !(vm_flags & VM_SHARED))
		return -EOPNOTSUPP;
	lock_down_write(&mm->mmap_lock);
	vma = vma_alloc(mm->next_addr, mm->next_addr + size, !ops);
	if (!vma) {
		err = -ENOMEM;
		goto out;
	}
	vma->flags = vm_flags | (ops ? VM_SHARED : 0);
	vma->ops = ops;
	vma->file = file;
	vma->pgoff = pgoff;
	if (ops && ops->mmap && (err = ops->mmap(vma))) {
		vma_free(vma);
		goto out;
	}
	vma_link(mm, vma);
	*addr = vma->start;
	mm->next_addr += size + MM_GAP;
	mm_check(mm);
out:
	lock_up_write(&mm->mmap_lock);
	return err;
}

/* Splits the VMA containing @at so that a VMA starts at @at.  mmap_lock held for
 * write.  Returns 0 or -ENOMEM. */
static int vma_split(struct mm *mm, uint64_t at)
{
	struct mm_vma *vma = mm_find_vma(mm, at), *tail;
	uint64_t head_n, tail_n;

	if (!vma || vma->start == at)
		return 0;
	tail = vma_alloc(at, vma->end, vma->anon != NULL);
	if (!tail)
		return -ENOMEM;
	head_n = (at - vma->start) >> MM_PAGE_SHIFT;
	tail_n = vma_pages(tail);
	memcpy(tail->ptes, vma->ptes + head_n, tail_n * sizeof(*tail->ptes));
	if (vma->anon)
		memcpy(tail->anon, vma->anon + head_n, tail_n * sizeof(*tail->anon));
	tail->flags = vma->flags;
	tail->ops = vma->ops;
	tail->file = vma->file;
	tail->pgoff = vma->pgoff + head_n;
	vma->end = at;			/* the arrays keep their (larger) allocation */
	vma_link(mm, tail);
	return 0;
}

static int vma_split_range(struct mm *mm, uint64_t start, uint64_t end)
{
	int err = vma_split(mm, start);

	return err ? err : vma_split(mm, end);
}

static int range_valid(uint64_t addr, uint64_t len)
{
	return !(addr & ~MM_PAGE_MASK) && len && addr + len > addr;
}

int mm_munmap(struct mm *mm, uint64_t addr, uint64_t len)
{
	uint64_t end = (addr + len + MM_PAGE_SIZE - 1) & MM_PAGE_MASK;
	struct mm_vma **pp, *vma;
	int err;

	if (!range_valid(addr, len))
		return -EINVAL;
	lock_down_write(&mm->mmap_lock);
	err = vma_split_range(mm, addr, end);
	if (err)
		goto out;
	for (pp = &mm->vmas; (vma = *pp);) {
		if (vma->start >= addr && vma->end <= end) {
			*pp = vma->next;
			vma_free(vma);
		} else {
			pp = &vma->next;
		}
	}
	mm_check(mm);
out:
	lock_up_write(&mm->mmap_lock);
	return err;
}

int mm_mlock(struct mm *mm, uint64_t addr, uint64_t len)
{
	uint64_t end = (addr + len + MM_PAGE_SIZE - 1) & MM_PAGE_MASK;
	int err;

	if (!range_valid(addr, len))
		return -EINVAL;
	lock_down_write(&mm->mmap_lock);
	err = vma_split_range(mm, addr, end);
	for (struct mm_vma *vma = mm->vmas; !err && vma; vma = vma->next)
		if (vma->start >= addr && vma->end <= end)
			vma->flags |= VM_LOCKED;
	/* make_pages_present: fault everything in, mmap_lock held, no retry */
	for (uint64_t a = addr; !err && a < end; a += MM_PAGE_SIZE) {
		struct mm_vma *vma = mm_find_vma(mm, a);
		unsigned flags = vma && (vma->flags & VM_WRITE) && !vma->ops ? FAULT_FLAG_WRITE : 0;
		struct mm_pte *pte = mm_pte_of(mm, a);

		if (!vma)
			err = -ENOMEM;
		else if (pte->state == PTE_NONE && (mm_handle_fault(mm, a, flags) & VM_FAULT_ERROR))
			err = -EFAULT;
	}
	mm_check(mm);
	lock_up_write(&mm->mmap_lock);
	return err;
}

long mm_reclaim(struct mm *mm, uint64_t addr, uint64_t len)
{
	long n = 0;

	task_yield_point("reclaim");
	for (struct mm_vma *vma = mm->vmas; vma; vma = vma->next) {
		if (vma->flags & VM_LOCKED)
			continue;
		for (uint64_t i = 0; i < vma_pages(vma); i++) {
			uint64_t a = vma->start + (i << MM_PAGE_SHIFT);

			if (a < addr || a >= addr + len || vma->ptes[i].state == PTE_NONE)
				continue;
			pte_clear(vma, i);
			n++;
		}
	}
	mm->stats.reclaimed += n;
	return n;
}

/* Calls @fn on every PTE mapping @file page in [pgoff, pgoff + n). */
static long for_file_ptes(struct mm *mm, const void *file, uint64_t pgoff, uint64_t n,
			  void (*fn)(struct mm_vma *vma, uint64_t i))
{
	long done = 0;

	for (struct mm_vma *vma = mm->vmas; vma; vma = vma->next) {
		if (!vma->ops || vma->file != file)
			continue;
		for (uint64_t i = 0; i < vma_pages(vma); i++) {
			uint64_t p = vma->pgoff + i;

			if (p >= pgoff && p < pgoff + n && vma->ptes[i].state != PTE_NONE) {
				fn(vma, i);
				done++;
			}
		}
	}
	return done;
}

long mm_unmap_file_range(struct mm *mm, const void *file, uint64_t pgoff, uint64_t n)
{
	return for_file_ptes(mm, file, pgoff, n, pte_clear);
}

static void pte_wrprotect(struct mm_vma *vma, uint64_t i)
{
	if (vma->ptes[i].state == PTE_RW)
		vma->ptes[i].state = PTE_RO;
}

long mm_mkclean_file(struct mm *mm, const void *file, uint64_t pgoff)
{
	return for_file_ptes(mm, file, pgoff, 1, pte_wrprotect);
}
