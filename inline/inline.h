/*
 * inline/ - ext4 inline data (the inline_data feature), as the kernel does it:
 * the first 60 bytes in i_block, the rest in the in-inode xattr "system.data".
 *
 * Calls libfs/disk and libext2fs (inode I/O, ext2fs_link); system.data is
 * edited in place, laid out byte for byte as the kernel lays it out.  The
 * disk layer reaches inl_dir_link through dfs->inline_dir_link, set by
 * libfs/api.  Three pieces of state are kept apart, as ext4 keeps
 * them: the in-memory "may inline" state (EXT4_STATE_MAY_INLINE_DATA), the
 * on-disk EXT4_INLINE_DATA_FL flag, and the cached inline size (i_inline_size).
 * Returns 0 or a negative errno; -EUCLEAN (with a message naming the inode)
 * for a corrupt inline inode, which is never written back worse.
 */
#ifndef E4_INLINE_H
#define E4_INLINE_H

#include <stdint.h>
#include "libfs/disk/disk.h"

/* The largest inline size this inode can have now (i_block + free in-inode
 * xattr space), as ext4_get_max_inline_size computes it; 0 if none. */
unsigned inl_max_inline_size(struct disk_inode *inode);
int inl_has_inline_data(const struct disk_inode *inode);	/* on-disk flag */
/* The max inline size of a new file with no other xattrs on @dfs (e4_info):
 * 128 / 384 / 896 for 256 / 512 / 1024-byte inodes; 0 without inline_data. */
unsigned inl_fs_max_inline_size(struct disk_fs *dfs);
/* Bytes stored inline (60 + the system.data value length), -EUCLEAN if corrupt. */
int inl_inline_size(struct disk_inode *inode);

/* Copies inline bytes [pos, pos+len) clipped to i_size into @buf; returns bytes. */
ssize_t inl_read(struct disk_inode *inode, void *buf, size_t len, uint64_t pos);
/* Fills a whole page-cache page (index 0) from inline data, zeroing the rest. */
int inl_read_folio(struct disk_inode *inode, void *page, size_t page_size);

/*
 * ext4_write_begin for an inline inode (ext4_try_to_write_inline_data): if
 * [pos, pos+len) fits within the maximum, *inline_path = 1 and the system.data
 * xattr is sized for it; otherwise the inode is converted to extents first
 * (ext4_convert_inline_data_to_extent) and *inline_path = 0.
 */
int inl_write_begin(struct disk_inode *inode, uint64_t pos, unsigned len,
		    int *inline_path);
/* ext4_write_inline_data_end: copies @copied bytes at @pos from @src into the
 * inode, updates i_size.  The page stays clean.  @src points at the byte for
 * @pos (page + pos for a page-cache caller).  pos + copied past the inline
 * size is the kernel's BUG_ON: reported, -EIO (in a libfs/task run: task_bug). */
int inl_write_end(struct disk_inode *inode, uint64_t pos, unsigned copied,
		  const void *src);
/* Moves the inline bytes to a newly allocated block; clears the flag. */
int inl_convert_to_extents(struct disk_inode *inode);
/* Truncate of an inline inode, sets i_size: shrinking stays inline, growth past
 * the inline size converts (kernel 6.18: 100 -> 101 bytes converts, 10 -> 60
 * stays).  -ENODATA if the inode is not inline: do the block truncate. */
int inl_truncate(struct disk_inode *inode, uint64_t size);
/* A new regular file on an inline_data file system: set the "may inline" state. */
void inl_init_new_inode(struct disk_inode *inode);

/* EXT4_STATE_MAY_INLINE_DATA.  The data path calls inl_write_begin when this
 * or inl_has_inline_data() is true, the block path otherwise. */
int inl_may_inline(struct disk_inode *inode);
/* ext4_convert_inline_data: fallocate and page_mkwrite on an inline file.
 * Converts when there is inline data, else only clears "may inline". */
int inl_convert_inline_data(struct disk_inode *inode);
/* Frees the per-inode state (i_private); the last disk_iput calls it, or
 * free(i_private): the state is one plain allocation. */
void inl_evict_inode(struct disk_inode *inode);
/* The invariants of inline.c's state diagram; 1 when they hold. */
int inl_check_state(struct disk_inode *inode);
/* Sets an empty extent root in i_block and EXTENTS_FL (ext4_ext_tree_init). */
void inl_set_extent_root(ext2_filsys fs, struct ext2_inode_large *ri);

/* ---- inline directories ---- */
/* Call when adding an entry to an inline dir found no room (ext2fs_link's
 * EXT2_ET_DIR_NO_SPACE): grows the dir into system.data the first time (as
 * ext4_try_add_inline_entry), converts it to a block dir after that.  Then
 * retry the link.  -ENODATA if @dir is not inline. */
int inl_dir_grow(struct disk_inode *dir);
/* ext2fs_link with the kernel's growth order for inline dirs: i_block, then
 * system.data grown to the maximum, then a block.  @name NUL-terminated.
 * Writes @dir first if dirty, re-reads it after. */
int inl_dir_link(struct disk_inode *dir, const char *name, ext2_ino_t ino,
		 unsigned ftype);

/* ---- symlinks ---- */
/* Target of a fast, inline or block symlink; returns its length, @buf is
 * NUL-terminated when it fits. */
ssize_t inl_readlink(struct disk_inode *inode, char *buf, size_t size);
/* 1 when a target of @len bytes is a fast symlink (kernel: len < 60). */
int inl_symlink_is_fast(size_t len);
/* Writes @target into a new symlink inode as the kernel does: fast in i_block
 * (no EXTENTS_FL) below 60 bytes, else block 0 (EXTENTS_FL); sets i_size. */
int inl_symlink_init(struct disk_inode *inode, const char *target, size_t len);

#endif /* E4_INLINE_H */
