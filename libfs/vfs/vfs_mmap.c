/*
 * libfs/vfs/vfs_mmap.c - the file side of shared mappings for libfs/mm (struct
 * mm_file_ops) over the page cache and aops: filemap_fault and page_mkwrite.
 * Calls libfs/pcache, libfs/aops, libfs/mm.  A mapped page holds a page-cache
 * reference for as long as a PTE maps it; the page lock is held only inside a
 * callback, never across a return to libfs/mm.
 */
#include <errno.h>

#include "libfs/vfs/vfs.h"
#include "libfs/aops/aops.h"
#include "libfs/mm/mm.h"

/* filemap_fault, as since Nick Piggin's 2007 series: the page is found or created,
 * locked and read under mmap_lock (no VM_FAULT_RETRY: that came in 2.6.37).
 * Under VFS_WL_READPAGE_FLAG_2007 a flagged page is waited for first. */
static int vfs_fault(struct mm_fault *vmf)
{
	struct disk_inode *inode = vmf->file;
	struct pc_mapping *m;
	struct pc_page *p;
	int err;

	if (vmf->pgoff * PC_PAGE_SIZE >= disk_i_size(inode))
		return VM_FAULT_SIGBUS;
	if (aops_mapping(inode, &m) || pc_grab_page_at(m, vmf->pgoff, 1, &p, "filemap_fault"))
		return VM_FAULT_OOM;
	/* Anton's PG_noread must keep the fault out too (Nick, seed 003), uptodate
	 * or not: the writer's copy is still to land in the page. */
	pc_wait_noread_locked(p);
	err = aops_read_folio(inode, p);
	pc_unlock_page(p);
	if (err) {
		pc_put_page(p);
		return VM_FAULT_SIGBUS;
	}
	vmf->page = p;
	vmf->data = p->data;
	return 0;
}

/* ->page_mkwrite: aops_page_mkwrite under the page lock. */
static int vfs_page_mkwrite(struct mm_fault *vmf)
{
	struct pc_page *p = vmf->page;
	struct disk_inode *inode = vmf->file;
	int err;

	/* ext4_page_mkwrite: a handle around the page lock, as in write_begin */
	err = disk_handle_start_concurrent(inode->dfs, AOPS_WRITE_CREDITS);
	if (err)
		return VM_FAULT_SIGBUS;
	pc_lock_page(p);
	err = aops_page_mkwrite(inode, p);
	pc_unlock_page(p);
	disk_handle_stop_concurrent(inode->dfs);
	if (err == -ENOSPC || err == -ENOMEM)
		return VM_FAULT_OOM;
	return err ? VM_FAULT_SIGBUS : 0;
}

static void vfs_get_page(void *file, void *page)
{
	(void)file;
	pc_get_page(page);
}

static void vfs_put_page(void *file, void *page)
{
	(void)file;
	pc_put_page(page);
}

const struct mm_file_ops vfs_mm_file_ops = {
	.name = "e4lab",
	.fault = vfs_fault,
	.page_mkwrite = vfs_page_mkwrite,
	.get_page = vfs_get_page,
	.put_page = vfs_put_page,
};
