/*
 * libfs/vfs - the file data path: the generic write loop (today's
 * generic_perform_write: prefault, write_begin, atomic copy, write_end, retry after
 * a zero-progress write_end) and the read path, over libfs/pcache and libfs/aops.
 *
 * Calls pcache, aops and disk.  The caller (libfs/api) holds a reference on the
 * inode and serialises operations on it (it is our i_rwsem).
 */
#ifndef E4_VFS_H
#define E4_VFS_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "libfs/disk/disk.h"

/* Attaches a page cache bounded by @bytes (0: 64 MiB) to @dfs. */
int vfs_cache_init(struct disk_fs *dfs, size_t bytes);
/* Writes back everything and frees the cache. */
int vfs_cache_destroy(struct disk_fs *dfs);

ssize_t vfs_read_iter(struct disk_inode *inode, const struct iovec *iov, int iovcnt,
		      uint64_t pos);
/* Extends i_size as it writes; marks the inode dirty. */
ssize_t vfs_write_iter(struct disk_inode *inode, const struct iovec *iov, int iovcnt,
		       uint64_t pos);
/* Sets i_size: drops or zeroes cached pages past it, frees blocks past it. */
int vfs_truncate(struct disk_inode *inode, uint64_t size);
/* mode as fallocate(2): 0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE|KEEP_SIZE. */
int vfs_fallocate(struct disk_inode *inode, int mode, uint64_t off, uint64_t len);
/* Writes back the inode's dirty pages (and waits; everything is synchronous). */
int vfs_writeback_inode(struct disk_inode *inode);
/* Writes back all dirty pages of every inode. */
int vfs_writeback_all(struct disk_fs *dfs);
/* Drops every cached page of @inode (it is being deleted: no writeback). */
void vfs_evict_inode(struct disk_inode *inode);

/*
 * Additions (libfs/vfs owner).
 *
 * The page-cache index (inode->i_mapping) points back at the inode, so the
 * inode's memory must outlive it: libfs/disk keeps an inode with an i_mapping in
 * its inode cache after the last disk_iput, calls vfs_evict_inode before freeing
 * a deleted one, and vfs_cache_destroy (before disk_unmount) writes back and
 * releases every index that is left.  vfs_release_inode lets a caller drop one
 * inode's pages earlier.
 */
/* Writes back the inode's dirty pages, then drops its pages and index. */
int vfs_release_inode(struct disk_inode *inode);

/*
 * The source side of a buffered write, for the user-memory model (libfs/mm).
 * NULL ops: plain process memory (a copy is never short, nothing faults).
 *   copy_from_user_atomic: copies up to @bytes from @src with page faults
 *     disabled; returns the bytes copied, possibly fewer (a source page absent).
 *   fault_in_readable: makes [src, src+bytes) readable as far as it can; returns
 *     the bytes it could NOT fault in (0: all readable), as fault_in_readable().
 */
struct vfs_uaccess_ops {
	size_t (*copy_from_user_atomic)(void *arg, void *dst, const void *src, size_t bytes);
	size_t (*fault_in_readable)(void *arg, const void *src, size_t bytes);
	/* Optional, for the historical loops below (NULL: the atomic copy stands in).
	 * copy_from_user: may fault; returns the bytes NOT copied.
	 * pin_pages: get_user_pages of the source range (mmap_lock, page-table walk)
	 *   and their release once the copy is done; 0 or -EFAULT. */
	size_t (*copy_from_user)(void *arg, void *dst, const void *src, size_t bytes);
	int (*pin_pages)(void *arg, const void *src, size_t bytes);
};

/*
 * The write loop's history as a switch (the studies' scenario interpreter models
 * the same variants with tasks and faults in libfs/study/wloop.c; here they run
 * on the real engine, single-task, for bench/study.sh's version of Nick Piggin's
 * table in seed 003).  Each value cites what it models.
 */
enum vfs_write_loop {
	VFS_WL_TODAY = 0,		/* generic_perform_write since 5.16: prefault the chunk,
					 * write_begin, atomic copy, write_end, fault in after a
					 * zero-progress write_end */
	VFS_WL_PREPARE_COMMIT_2619,	/* 2.6.19: copy_from_user (may fault) under the page
					 * lock, no prefault */
	VFS_WL_WRITE_BEGIN_2624,	/* 2.6.24 (afddba49d18f): fault_in_pages_readable,
					 * write_begin, atomic copy, write_end */
	VFS_WL_GUP_PIN_2007,		/* seed 003 patch 9/9: a !uptodate destination page
					 * pins its source with get_user_pages first */
	VFS_WL_ZERO_RETRY_2007,		/* seed 003: atomic copy, zero the tail, retry */
	VFS_WL_TEMP_PAGE_2007,		/* seed 003: copy into a temporary page first, then
					 * into the locked page-cache page */
	VFS_WL_IDEA42_2007,		/* seed 003 idea #42: atomic get_user of the source
					 * after lock_page, then the copy */
	VFS_WL_NICK_2006,		/* -mm 2006-12 (seed 002): atomic copy under the page
					 * lock, zero the new buffers in the page, commit
					 * offset+copied, retry */
	VFS_WL_READPAGE_FLAG_2007,	/* seed 003, Anton: a page flag keeps readpage and
					 * the fault path out while the page is unlocked for
					 * a copy that may fault */
	VFS_WL_NR
};

/* A short copy into a !uptodate page: where copied = 0 is decided (seeds 000, 002). */
enum vfs_short_copy {
	VFS_SC_DEFAULT,			/* what the write loop implies */
	VFS_SC_COMMIT_AS_IS,		/* commit the copied bytes (2.6.19 commit_write) */
	VFS_SC_COPIED_ZERO_FS,		/* block_write_end sets copied = 0 (2.6.24..4.3) */
	VFS_SC_COPIED_ZERO_GENERIC,	/* generic_perform_write does (Linus 2015, seed 000) */
	VFS_SC_NR
};

/* New buffers write_begin prepared that the copy did not reach. */
enum vfs_zero_new {
	VFS_ZN_DEFAULT,			/* page_zero_new_buffers as today (always) */
	VFS_ZN_ALWAYS,			/* zero, uptodate, dirty, clear BH_New */
	VFS_ZN_IF_COPIED,		/* only when copied != 0 (the ext4 patch of seed 000) */
	VFS_ZN_PAGE_ONLY,		/* zero the page bytes; buffers stay BH_New and clean
					 * (the -mm fix Mark Fasheh reviewed, seed 002) */
	VFS_ZN_NR
};

/* How much of a short copy is committed. */
enum vfs_commit_range {
	VFS_CR_DEFAULT,			/* what the write loop implies */
	VFS_CR_COPIED,			/* commit_write(offset, offset + copied) (002) */
	VFS_CR_BYTES,			/* commit_write(offset, offset + bytes) (Mark's) */
	VFS_CR_NR
};

struct vfs_policy {
	enum vfs_write_loop write_loop;
	enum vfs_short_copy short_copy;
	enum vfs_zero_new zero_new;
	enum vfs_commit_range commit_range;
};

/* vfs_perform_write under @pol (NULL: today's loop, the same code as
 * vfs_perform_write).  A DEFAULT switch resolves as the model's do
 * (libfs/study/wloop.c): short_copy COMMIT_AS_IS before VFS_WL_WRITE_BEGIN_2624's
 * time and COPIED_ZERO_FS from then on; zero_new PAGE_ONLY for VFS_WL_NICK_2006,
 * ALWAYS otherwise; commit_range COPIED.  VFS_WL_TODAY with switches that resolve
 * to today's runs vfs_perform_write itself; with others, a copy of today's loop
 * over aops_write_end_policy.  VFS_WL_NICK_2006 maps page by page and frees no
 * block a short copy leaves past i_size (2.6.19).  VFS_WL_READPAGE_FLAG_2007 sets
 * PG_noread (libfs/pcache) across its copy; vfs_read_iter and the ->fault of
 * vfs_mm_file_ops wait for it. */
ssize_t vfs_perform_write_policy(struct disk_inode *inode, const struct iovec *iov,
				 int iovcnt, uint64_t pos, const struct vfs_uaccess_ops *ua,
				 void *ua_arg, const struct vfs_policy *pol);

/* The engine's side of shared file mappings for libfs/mm (vfs_mmap.c): ->fault
 * finds or reads the page under its page lock (filemap_fault), ->page_mkwrite is
 * aops_page_mkwrite under the page lock, get_page/put_page are the page cache's
 * references.  The mapping's file pointer is the struct disk_inode. */
struct mm_file_ops;
extern const struct mm_file_ops vfs_mm_file_ops;

/*
 * generic_perform_write with a pluggable source: per page chunk, fault in the
 * source, write_begin, atomic copy, write_end; a zero-progress write_end (a short
 * copy into a !uptodate page) faults the source in and retries the chunk, and
 * -EFAULT ends the write when nothing more can be faulted in.  Returns the bytes
 * written, or -errno if none were.
 */
ssize_t vfs_perform_write(struct disk_inode *inode, const struct iovec *iov, int iovcnt,
			  uint64_t pos, const struct vfs_uaccess_ops *ua, void *ua_arg);

#endif /* E4_VFS_H */
