/*
 * libfs/aops: the glue to inline/ for inodes with EXT4_INLINE_DATA_FL.  The
 * page of an inline inode (index 0) has no buffers and is never dirty: the
 * bytes live in the inode, written by write_end.
 */
#ifndef E4_AOPS_INLINE_H
#define E4_AOPS_INLINE_H

#include "libfs/aops/aops.h"

/* Whether write_begin must ask inline/ first: inline data or "may inline". */
int aops_inline_wants_write_begin(struct disk_inode *inode);
/* Fills the locked page from the inode (inl_read_folio). */
int aops_inline_read_folio(struct disk_inode *inode, struct pc_page *p);
/* inl_write_begin; on the inline path the locked page is made uptodate. */
int aops_inline_write_begin(struct disk_inode *inode, struct pc_page *p, uint64_t pos,
			    unsigned len, int *inline_path);
/* inl_write_end from the page bytes; returns copied or -errno.  The page stays
 * clean; it is uptodate (write_begin filled it). */
int aops_inline_write_end(struct disk_inode *inode, struct pc_page *p, uint64_t pos,
			  unsigned len, unsigned copied);
/* inl_truncate (the caller dropped the cached page); -ENODATA: not inline,
 * do the block truncate. */
int aops_inline_truncate(struct disk_inode *inode, uint64_t size);
/* inl_convert_inline_data (page_mkwrite, fallocate): converts inline data to
 * a block, or just clears "may inline". */
int aops_inline_convert(struct disk_inode *inode);

#endif /* E4_AOPS_INLINE_H */
