/*
 * libfs/aops/iomap_engine.c - the real engine as an iomap host: libfs/disk's block map and
 * libfs/pcache pages (buffer states as iomap's per-block uptodate bits).  Calls libfs/disk,
 * libfs/pcache and aops.c.  Invariant: a dirty buffer is mapped to the block it goes to.
 */
#include <errno.h>
#include <string.h>

#include "libfs/aops/aops.h"
#include "libfs/aops/iomap.h"

struct eng_host {
	struct disk_inode *inode;
	struct pc_mapping *m;
	int err;		/* first error of a callback that cannot return one */
};

static unsigned e_blocksize(void *host)
{
	return ((struct eng_host *)host)->inode->dfs->block_size;
}

static uint64_t e_i_size(void *host)
{
	return disk_i_size(((struct eng_host *)host)->inode);
}

static void e_set_i_size(void *host, uint64_t size)
{
	struct disk_inode *inode = ((struct eng_host *)host)->inode;

	disk_set_i_size(inode, size);
	disk_mark_inode_dirty(inode);
}

/* gfs2_iomap_begin for a write: the run at @pos; a hole is allocated up to the end of
 * the request rounded up to a block (or as far as the allocator made it contiguous). */
static int e_iomap_begin(void *host, uint64_t pos, uint64_t len, struct iomap *im)
{
	struct eng_host *h = host;
	uint64_t bs = e_blocksize(host), lblk = pos / bs, end = (pos + len + bs - 1) / bs;
	struct disk_map run = { .lblk = lblk };
	int err;

	run.len = end - lblk > UINT32_MAX ? UINT32_MAX : (uint32_t)(end - lblk);
	err = disk_map_blocks(h->inode, &run, 0);
	if (err < 0)
		return err;
	im->type = IOMAP_MAPPED;
	im->flags = 0;
	if (!(run.flags & DISK_MAP_MAPPED) || (run.flags & DISK_MAP_UNWRITTEN)) {
		err = disk_map_blocks(h->inode, &run, 1);
		if (err < 0)
			return err;
		aops_blocks_changed(h->inode);
		im->flags = IOMAP_F_NEW;
	}
	if (!run.len || !(run.flags & DISK_MAP_MAPPED))
		return -EIO;
	im->offset = lblk * bs;
	im->length = (uint64_t)run.len * bs;
	im->addr = run.pblk;
	return 0;
}

static void e_punch_hole(void *host, uint64_t start, uint64_t end)
{
	struct eng_host *h = host;
	uint64_t bs = e_blocksize(host);
	int err = aops_punch_blocks(h->inode, start / bs, end / bs);

	if (err && !h->err)
		h->err = err;
}

/* truncate_pagecache_range, @lend inclusive: whole pages dropped, partial ones zeroed. */
static void e_truncate_pagecache_range(void *host, uint64_t lstart, uint64_t lend)
{
	struct eng_host *h = host;

	for (uint64_t i = lstart >> PC_PAGE_SHIFT; i <= lend >> PC_PAGE_SHIFT; i++) {
		uint64_t ps = i << PC_PAGE_SHIFT, pe = ps + PC_PAGE_SIZE - 1;
		uint64_t zs = lstart > ps ? lstart : ps, ze = lend < pe ? lend : pe;
		struct pc_page *p = pc_find_get_page(h->m, i);

		if (!p)
			continue;
		pc_lock_page(p);
		if (zs == ps && ze == pe)
			pc_delete_page(p);
		else {
			memset(p->data + (zs - ps), 0, (size_t)(ze - zs + 1));
			pc_unlock_page(p);
		}
		pc_put_page(p);
	}
}

static int e_grab_page(void *host, uint64_t pos, void **page)
{
	struct eng_host *h = host;
	struct pc_page *p;
	int err = pc_grab_page(h->m, pos >> PC_PAGE_SHIFT, 1, &p);

	if (err)
		return err;
	pc_attach_buffers(p);
	*page = p;
	return 0;
}

static void e_unlock_put(void *host, void *page)
{
	(void)host;
	pc_unlock_page(page);
	pc_put_page(page);
}

static uint8_t *e_page_data(void *page)
{
	return ((struct pc_page *)page)->data;
}

static int e_page_uptodate(void *page)
{
	return !!(((struct pc_page *)page)->flags & PC_PG_UPTODATE);
}

static int e_block_uptodate(void *page, unsigned blk)
{
	return !!(((struct pc_page *)page)->bufs[blk].b_state & PC_BH_UPTODATE);
}

static void e_set_block_uptodate(void *host, void *page, unsigned blk)
{
	struct pc_page *p = page;
	unsigned i;

	(void)host;
	p->bufs[blk].b_state |= PC_BH_UPTODATE;
	for (i = 0; i < p->nr_bufs && (p->bufs[i].b_state & PC_BH_UPTODATE); i++)
		;
	if (i == p->nr_bufs && !(p->flags & PC_PG_UPTODATE))
		pc_set_page_uptodate(p);
}

static uint64_t page_lblk(void *host, const struct pc_page *p, unsigned blk)
{
	return p->index * (PC_PAGE_SIZE / e_blocksize(host)) + blk;
}

static void e_read_block(void *host, void *page, unsigned blk, const struct iomap *im)
{
	struct eng_host *h = host;
	struct pc_page *p = page;
	unsigned bs = e_blocksize(host);
	uint64_t pblk = im->addr + (page_lblk(host, p, blk) - im->offset / bs);
	int err = disk_read_data(h->inode->dfs, pblk, 1, p->data + (size_t)blk * bs);

	if (err && !h->err)
		h->err = err;
	p->bufs[blk].b_blocknr = pblk;
	p->bufs[blk].b_state |= PC_BH_MAPPED;
}

/* The copied blocks become dirty, mapped to the blocks iomap_begin found for them. */
static void e_mark_dirty(void *host, void *page, unsigned from, unsigned to)
{
	struct eng_host *h = host;
	struct pc_page *p = page;
	unsigned bs = e_blocksize(host);

	for (unsigned i = from / bs; i * bs < to; i++) {
		struct disk_map run = { .lblk = page_lblk(host, p, i), .len = 1 };
		int err = disk_map_blocks(h->inode, &run, 0);

		if (err < 0 || !(run.flags & DISK_MAP_MAPPED)) {
			if (!h->err)
				h->err = err < 0 ? err : -EIO;
			continue;
		}
		p->bufs[i].b_blocknr = run.pblk;
		p->bufs[i].b_state |= PC_BH_MAPPED;
		pc_mark_buffer_dirty(p, i);
	}
}

static const struct iomap_host_ops eng_host_ops = {
	.i_size = e_i_size,
	.set_i_size = e_set_i_size,
	.blocksize = e_blocksize,
	.iomap_begin = e_iomap_begin,
	.punch_hole = e_punch_hole,
	.truncate_pagecache_range = e_truncate_pagecache_range,
	.grab_page = e_grab_page,
	.unlock_put = e_unlock_put,
	.page_data = e_page_data,
	.page_uptodate = e_page_uptodate,
	.block_uptodate = e_block_uptodate,
	.set_block_uptodate = e_set_block_uptodate,
	.read_block = e_read_block,
	.mark_dirty = e_mark_dirty,
};

long aops_iomap_write(struct disk_inode *inode, uint64_t pos, uint64_t len,
		      const struct iomap_policy *pol, const struct iomap_source_ops *s,
		      void *src)
{
	struct eng_host h = { .inode = inode };
	struct iomap_write iw = {
		.h = &eng_host_ops, .host = &h, .s = s, .src = src, .pol = *pol,
		.page_size = PC_PAGE_SIZE,
	};
	long ret;
	int err = aops_mapping(inode, &h.m);

	if (err)
		return err;
	if (aops_is_inline(inode))
		return -EOPNOTSUPP;	/* gfs2 stuffed inodes are not modelled */
	ret = gfs2_file_buffered_write(&iw, pos, len);
	return h.err && ret <= 0 ? h.err : ret;
}
