/*
 * inline/ - ext4 inline data (the inline_data feature), as the kernel does it:
 * the first 60 bytes in i_block, the rest in the in-inode xattr "system.data".
 *
 * Calls libfs/disk only.  Three pieces of state are kept apart, as ext4 keeps
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
 * inode, updates i_size.  The page stays clean. */
int inl_write_end(struct disk_inode *inode, uint64_t pos, unsigned copied,
		  const void *src);
/* Moves the inline bytes to a newly allocated block; clears the flag. */
int inl_convert_to_extents(struct disk_inode *inode);
/* Truncate of an inline inode: shrink stays inline, growth past the max converts. */
int inl_truncate(struct disk_inode *inode, uint64_t size);
/* A new regular file on an inline_data file system: set the "may inline" state. */
void inl_init_new_inode(struct disk_inode *inode);

#endif /* E4_INLINE_H */
