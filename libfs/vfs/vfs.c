/*
 * libfs/vfs: the page cache's lifetime, writeback, truncate and fallocate.
 * Calls libfs/aops, libfs/pcache, inline/ (through aops) and libfs/disk.
 * Invariants: the cached pages past i_size are dropped before the blocks behind
 * them are freed, and the partial page at a cut is zeroed through the cache so
 * the zeros reach the block that stays.
 */
#include <errno.h>
#include <stdlib.h>
#include <linux/falloc.h>

#include "libfs/vfs/vfs.h"
#include "libfs/aops/aops.h"
#include "libfs/aops/aops_inline.h"

/* ---- the cache ---- */

/* Reclaim found a dirty page of @m: write back the whole inode. */
static int reclaim_writeback(void *arg, struct pc_mapping *m)
{
	return aops_writepages(m->host);
}

static const struct pc_ops vfs_pc_ops = { .writeback = reclaim_writeback };

int vfs_cache_init(struct disk_fs *dfs, size_t bytes)
{
	struct pc_cache *c;
	int err;

	if (dfs->pcache)
		return -EBUSY;
	err = pc_cache_create(bytes, &vfs_pc_ops, dfs, &c);
	if (err)
		return err;
	dfs->pcache = c;
	dfs->evict_pages = vfs_evict_inode;
	return 0;
}

static void release_mapping(struct pc_mapping *m)
{
	struct disk_inode *inode = m->host;

	inode->i_mapping = NULL;
	pc_mapping_destroy(m);
}

int vfs_cache_destroy(struct disk_fs *dfs)
{
	struct pc_cache *c = dfs->pcache;
	int err;

	if (!c)
		return 0;
	err = vfs_writeback_all(dfs);
	while (c->mappings.next != &c->mappings) {
		struct pc_mapping *m = (struct pc_mapping *)((char *)c->mappings.next -
							     offsetof(struct pc_mapping, link));

		release_mapping(m);
	}
	pc_cache_destroy(c);
	dfs->pcache = NULL;
	dfs->evict_pages = NULL;
	return err;
}

/* ---- writeback ---- */

int vfs_writeback_inode(struct disk_inode *inode)
{
	struct pc_mapping *m = inode->i_mapping;
	int err;

	if (!m)
		return 0;
	err = aops_writepages(inode);
	/* As fsync: report (once) an error met by earlier, background writeback. */
	if (!err)
		err = m->wb_err;
	m->wb_err = 0;
	return err;
}

int vfs_writeback_all(struct disk_fs *dfs)
{
	struct pc_cache *c = dfs->pcache;
	struct pc_mapping *m, **v;
	size_t n = 0, i;
	int err = 0, e;

	if (!c || !c->nr_dirty)
		return 0;
	for (m = pc_next_dirty_mapping(c, NULL); m; m = pc_next_dirty_mapping(c, m))
		n++;
	v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = 0;
	for (m = pc_next_dirty_mapping(c, NULL); m; m = pc_next_dirty_mapping(c, m))
		v[n++] = m;
	/* A failed write redirties its mapping: the snapshot keeps this one pass. */
	for (i = 0; i < n; i++) {
		e = vfs_writeback_inode(v[i]->host);
		if (e && !err)
			err = e;
	}
	free(v);
	return err;
}

void vfs_evict_inode(struct disk_inode *inode)
{
	if (inode->i_mapping)
		release_mapping(inode->i_mapping);
}

int vfs_release_inode(struct disk_inode *inode)
{
	int err;

	if (!inode->i_mapping)
		return 0;
	err = vfs_writeback_inode(inode);
	release_mapping(inode->i_mapping);
	return err;
}

/* ---- truncate ---- */

static uint64_t blocks_up(const struct disk_inode *inode, uint64_t bytes)
{
	unsigned bs = inode->dfs->block_size;

	return bytes / bs + !!(bytes % bs);
}

/* The cached page holds the inline bytes; inline/ rewrites them (and may
 * convert to a block), so the page goes first.  -ENODATA: not inline. */
static int inline_truncate(struct disk_inode *inode, uint64_t size)
{
	if (inode->i_mapping)
		pc_truncate_pages(inode->i_mapping, 0, UINT64_MAX);
	return aops_inline_truncate(inode, size);
}

int vfs_truncate(struct disk_inode *inode, uint64_t size)
{
	uint64_t old = disk_i_size(inode);
	int err;

	if (size > (uint64_t)UINT32_MAX * inode->dfs->block_size)
		return -EFBIG;
	if (aops_is_inline(inode)) {
		err = inline_truncate(inode, size);
		if (err != -ENODATA)
			return err;
	}
	if (size < old) {
		/* Zero the cut page's tail while the old size still covers it. */
		err = aops_zero_pagecache_range(inode, size, UINT64_MAX);
		if (err)
			return err;
	}
	if (size != old) {
		disk_set_i_size(inode, size);
		disk_mark_inode_dirty(inode);
	}
	if (size < old)
		return aops_punch_blocks(inode, blocks_up(inode, size), ~0ULL);
	return 0;
}

/* ---- fallocate ---- */

static int punch_hole(struct disk_inode *inode, uint64_t off, uint64_t end)
{
	uint64_t isize = disk_i_size(inode), first, last;
	uint64_t page_end = (isize + PC_PAGE_SIZE - 1) & ~(uint64_t)(PC_PAGE_SIZE - 1);
	unsigned bs = inode->dfs->block_size;
	int err;

	if (off >= isize)
		return 0;
	if (end > page_end)
		end = page_end;
	err = aops_zero_pagecache_range(inode, off, end);
	if (err)
		return err;
	first = blocks_up(inode, off);
	last = end / bs;
	if (first >= last)
		return 0;
	return aops_punch_blocks(inode, first, last);
}

int vfs_fallocate(struct disk_inode *inode, int mode, uint64_t off, uint64_t len)
{
	unsigned bs = inode->dfs->block_size;
	uint64_t end = off + len, first, last;
	int err;

	if (!len || end < off)
		return -EINVAL;
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (end > (uint64_t)UINT32_MAX * bs)
		return -EFBIG;
	if (aops_inline_wants_write_begin(inode)) {
		err = aops_inline_convert(inode);
		if (err)
			return err;
	}
	if (mode & FALLOC_FL_PUNCH_HOLE)
		return punch_hole(inode, off, end);
	first = off / bs;
	last = blocks_up(inode, end);
	err = disk_prealloc(inode, first, last - first);
	aops_blocks_changed(inode);
	if (err)
		return err;
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > disk_i_size(inode)) {
		disk_set_i_size(inode, end);
		disk_mark_inode_dirty(inode);
	}
	return 0;
}
