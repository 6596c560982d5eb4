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
};

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
