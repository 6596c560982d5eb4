/*
 * libfs/aops: glue to inline/ (inl_*).  Calls inline/ and libfs/pcache only.
 * Invariant: the page of an inline inode is page 0, has no buffers and is
 * never dirty; it is uptodate from write_begin on, so a short copy into it is
 * committed as far as it went (ext4_write_inline_data_end).
 */
#include <errno.h>

#include "libfs/aops/aops_inline.h"
#include "inline/inline.h"

int aops_inline_wants_write_begin(struct disk_inode *inode)
{
	return inl_has_inline_data(inode) || inl_may_inline(inode);
}

int aops_inline_read_folio(struct disk_inode *inode, struct pc_page *p)
{
	return inl_read_folio(inode, p->data, PC_PAGE_SIZE);
}

int aops_inline_write_begin(struct disk_inode *inode, struct pc_page *p, uint64_t pos,
			    unsigned len, int *inline_path)
{
	int err = inl_write_begin(inode, pos, len, inline_path);

	if (!*inline_path)
		aops_blocks_changed(inode);	/* it may have converted */
	if (err || !*inline_path || (p->flags & PC_PG_UPTODATE))
		return err;
	err = inl_read_folio(inode, p->data, PC_PAGE_SIZE);
	if (!err)
		pc_set_page_uptodate(p);
	return err;
}

int aops_inline_write_end(struct disk_inode *inode, struct pc_page *p, uint64_t pos,
			  unsigned len, unsigned copied)
{
	int err = inl_write_end(inode, pos, copied,
				p->data + (pos & (PC_PAGE_SIZE - 1)));

	return err < 0 ? err : (int)copied;
}

int aops_inline_truncate(struct disk_inode *inode, uint64_t size)
{
	aops_blocks_changed(inode);
	return inl_truncate(inode, size);
}

int aops_inline_convert(struct disk_inode *inode)
{
	int err = inl_convert_inline_data(inode);

	aops_blocks_changed(inode);
	return err;
}
