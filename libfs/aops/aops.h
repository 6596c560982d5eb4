/*
 * libfs/aops - the address-space operations, ext4 buffer-head model: read_folio,
 * readahead, write_begin/write_end with block_write_begin/block_write_end
 * semantics, writepages (large merged writes), page_mkwrite, and the page-cache
 * side of truncate and punch.
 *
 * Calls libfs/pcache, inline/ and libfs/disk.  Pages passed in and out are
 * referenced; "locked" is said where it applies.  Returns 0 or -errno.
 */
#ifndef E4_AOPS_H
#define E4_AOPS_H

#include <stdint.h>

#include "libfs/disk/disk.h"
#include "libfs/pcache/pcache.h"

/* Most bytes one merged disk_read_data/disk_write_data call moves. */
#define AOPS_MAX_IO	(1u << 20)

/* The inode's page-cache index, created on first use (dfs->pcache must be set). */
int aops_mapping(struct disk_inode *inode, struct pc_mapping **out);
int aops_is_inline(const struct disk_inode *inode);

/*
 * Fills every !uptodate buffer of the locked @page: holes, unwritten blocks and
 * blocks past EOF read as zeros, mapped blocks are read (contiguous ones in one
 * call).  Buffers already uptodate (possibly dirty) are left alone.  The page is
 * uptodate on success and stays locked.
 */
int aops_read_folio(struct disk_inode *inode, struct pc_page *page);
/* The same for @n locked pages at consecutive indices, merging reads across them. */
int aops_readahead(struct disk_inode *inode, struct pc_page **pages, unsigned n);

/*
 * Prepares [pos, pos+len) (within one page) for a copy: returns the page locked
 * and referenced in *pagep.  Block path: every block the range touches is mapped
 * with allocation; new blocks (BH_New) have the parts outside the range zeroed;
 * blocks only partly covered are read if the page is not uptodate.  Inline path
 * (*fsdata set to AOPS_FS_INLINE): inl_write_begin kept the data in the inode.
 */
#define AOPS_FS_INLINE	((void *)1)
/* A page's blocks, their extent-tree path, bitmaps, descriptors, the inode. */
#define AOPS_WRITE_CREDITS	16

/*
 * One buffered write of several pages may allocate ahead: blocks at or past the
 * EOF the write started from, up to its end, are allocated in runs of up to
 * AOPS_AHEAD_MAX bytes by one disk_map_blocks call and handed out page by page
 * as BH_New.  aops_write_ctx_finish frees what a write that stopped early
 * allocated past the new EOF.  @wc NULL: map page by page.
 */
#define AOPS_AHEAD_MAX	(8u << 20)
struct aops_write_ctx {
	uint64_t ahead_from, ahead_end;	/* logical blocks */
	uint64_t gen;			/* mapping->map_gen when run was found */
	struct disk_map run;		/* the last run allocated */
};
void aops_write_ctx_init(struct aops_write_ctx *wc, struct disk_inode *inode,
			 uint64_t pos, uint64_t count);
int aops_write_ctx_finish(struct aops_write_ctx *wc, struct disk_inode *inode);

int aops_write_begin(struct disk_inode *inode, uint64_t pos, unsigned len,
		     struct pc_page **pagep, void **fsdata, struct aops_write_ctx *wc);
/*
 * Commits @copied of the @len bytes write_begin prepared (block_write_end): a short
 * copy into a !uptodate page commits nothing (copied becomes 0); new buffers in
 * the uncopied range are zeroed and BH_New is cleared on every buffer; the copied
 * buffers become uptodate and dirty; i_size grows to pos + copied.  A write that
 * fell short at EOF frees the blocks it allocated past i_size.  Unlocks and puts
 * the page.  Returns the bytes committed or -errno.
 */
int aops_write_end(struct disk_inode *inode, uint64_t pos, unsigned len, unsigned copied,
		   struct pc_page *page, void *fsdata);

/*
 * write_end as the kernel's history had it, for the historical write loops of
 * libfs/vfs (struct vfs_policy, resolved there).  Today's aops_write_end is the
 * policy { copied_zero, AOPS_ZN_ALWAYS, commit copied, blocks trimmed }, kept as
 * its own function so that the plain write path pays nothing for the switches.
 */
enum aops_zero_new {
	AOPS_ZN_ALWAYS,		/* page_zero_new_buffers: zero, uptodate, dirty, !BH_New */
	AOPS_ZN_IF_COPIED,	/* the same, only when copied != 0 (seed 000's ext4 patch) */
	AOPS_ZN_PAGE_ONLY,	/* zero the page bytes only: the buffers stay BH_New,
				 * clean and !uptodate (-mm 2006-12, seed 002) */
};

struct aops_end_policy {
	unsigned copied_zero:1;	/* a short copy into a !uptodate page commits nothing
				 * (block_write_end, 2.6.24..4.3); 0: as is (2.6.19) */
	unsigned commit_bytes:1;	/* commit [from, from+len), not [from, from+copied)
					 * (Mark Fasheh's proposal, seed 002) */
	unsigned keep_blocks:1;	/* a short copy frees nothing past i_size: 2.6.19
				 * trimmed blocks only after a failed prepare_write */
	enum aops_zero_new zero_new;
};

/*
 * Commits a copy of @copied of the @len bytes write_begin prepared under @ep:
 * new buffers in [from+copied, from+len) are handled as @ep->zero_new says (none
 * when copied == len), then the buffers meeting the commit range become uptodate
 * and dirty and lose BH_New (others keep it: the page is then PG_KEPT_NEW), and
 * i_size grows to the end of the commit.  Unlocks and puts the page.  Returns
 * @copied as write_end saw it (0 if copied_zero applied), or -errno.
 */
int aops_write_end_policy(struct disk_inode *inode, uint64_t pos, unsigned len,
			  unsigned copied, struct pc_page *page, void *fsdata,
			  const struct aops_end_policy *ep);

/* Writes back every dirty page of @inode that is not locked, merging physically
 * contiguous blocks across pages into calls of up to AOPS_MAX_IO bytes. */
int aops_writepages(struct disk_inode *inode);
/* Single-task page_mkwrite: the locked @page gets all its blocks inside i_size
 * mapped (an inline inode is converted first) and becomes dirty. */
int aops_page_mkwrite(struct disk_inode *inode, struct pc_page *page);

/*
 * The page-cache side of truncate and punch (truncate_pagecache_range): bytes
 * [start, end) of the file are zeroed in partial pages (read first, then dirtied
 * so the zeros reach the blocks that stay), buffers wholly inside the range lose
 * their mapping, and whole pages are dropped, dirty or not.  end = UINT64_MAX: to
 * the end of the file.  Call before freeing the blocks.
 */
int aops_zero_pagecache_range(struct disk_inode *inode, uint64_t start, uint64_t end);

/* Frees blocks [start, end) (disk_punch) and invalidates cached block runs. */
int aops_punch_blocks(struct disk_inode *inode, uint64_t start, uint64_t end);
/* Tells the data path that blocks were allocated or converted behind its back
 * (disk_prealloc, inline conversion): cached runs are stale. */
void aops_blocks_changed(struct disk_inode *inode);

#endif /* E4_AOPS_H */
