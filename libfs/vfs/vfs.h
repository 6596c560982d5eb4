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

#endif /* E4_VFS_H */
