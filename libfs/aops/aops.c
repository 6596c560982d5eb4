/*
 * libfs/aops: read_folio, readahead, write_begin/write_end (block_write_begin and
 * block_write_end semantics), page_mkwrite and the page-cache side of truncate.
 * Calls libfs/pcache, libfs/disk and the inline glue (aops_inline.c).
 * Invariants: BH_New is set only between write_begin and write_end under the page
 * lock; the bytes of a new block outside the write are zero before the page is
 * unlocked, and so are its uncopied bytes after write_end.  (A historical policy,
 * aops_write_end_policy, may break the first two on purpose: that is its bug.)  A cached block run
 * (struct aops_write_ctx) is used only while mapping->map_gen is unchanged:
 * everything that frees or converts blocks bumps it.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include <ext2fs/ext2_fs.h>

#include "libfs/aops/aops_internal.h"
#include "libfs/aops/aops_inline.h"

static unsigned blkbits(const struct disk_inode *inode)
{
	return (unsigned)__builtin_ctz(inode->dfs->block_size);
}

static unsigned bufs_per_page(const struct disk_inode *inode)
{
	return PC_PAGE_SIZE >> blkbits(inode);
}

/* First logical block wholly past i_size. */
static uint64_t eof_block(const struct disk_inode *inode)
{
	unsigned bits = blkbits(inode);

	return (disk_i_size(inode) + (1u << bits) - 1) >> bits;
}

int aops_is_inline(const struct disk_inode *inode)
{
	return !!(inode->raw.i_flags & EXT4_INLINE_DATA_FL);
}

int aops_mapping(struct disk_inode *inode, struct pc_mapping **out)
{
	struct pc_mapping *m;
	int err;

	if (!inode->i_mapping) {
		if (!inode->dfs->pcache)
			return -EINVAL;
		err = pc_mapping_create(inode->dfs->pcache, inode, blkbits(inode), &m);
		if (err)
			return err;
		snprintf(m->label, sizeof(m->label), "ino %u", inode->ino);
		inode->i_mapping = m;
	}
	*out = inode->i_mapping;
	return 0;
}

/*
 * Looks @lblk up in @run, calling disk_map_blocks only when it lies outside the
 * run found last.  @want bounds the length asked for.
 */
static int map_lookup(struct disk_inode *inode, struct disk_map *run, uint64_t lblk,
		      uint64_t want, int create)
{
	int err;

	if (run->len && lblk >= run->lblk && lblk < run->lblk + run->len)
		return 0;
	run->lblk = lblk;
	run->len = want > UINT32_MAX ? UINT32_MAX : (uint32_t)(want ? want : 1);
	run->pblk = 0;
	run->flags = 0;
	err = disk_map_blocks(inode, run, create);
	if (err < 0) {
		run->len = 0;
		return err;
	}
	if (run->len == 0 || (create && !(run->flags & DISK_MAP_MAPPED))) {
		disk_report(inode->dfs, "inode %u: block %llu: mapping returned no run",
			    inode->ino, (unsigned long long)lblk);
		run->len = 0;
		return -EIO;
	}
	return 0;
}

static int run_is_data(const struct disk_map *run)
{
	return (run->flags & DISK_MAP_MAPPED) && !(run->flags & DISK_MAP_UNWRITTEN);
}

static void zero_buffer(struct pc_page *p, unsigned i, unsigned bs)
{
	memset(p->data + (size_t)i * bs, 0, bs);
	p->bufs[i].b_state |= PC_BH_UPTODATE;
}

static void set_uptodate_if_full(struct pc_page *p)
{
	unsigned i;

	for (i = 0; i < p->nr_bufs; i++)
		if (!(p->bufs[i].b_state & PC_BH_UPTODATE))
			return;
	pc_set_page_uptodate(p);	/* every buffer is: only the flag (and the trace note) change */
}

/* ---- reading ---- */

/* Queues the reads that fill page @p's !uptodate buffers; zero-fills the rest. */
static int queue_page_reads(struct disk_inode *inode, struct pc_page *p,
			    struct disk_map *run, uint64_t eof_blk, struct aops_bio *bio)
{
	unsigned i, bs = inode->dfs->block_size, bpp = bufs_per_page(inode);
	int err;

	pc_attach_buffers(p);
	for (i = 0; i < p->nr_bufs; i++) {
		struct pc_buf *b = &p->bufs[i];
		uint64_t lblk = p->index * bpp + i;

		if (b->b_state & PC_BH_UPTODATE)
			continue;
		if (lblk >= eof_blk) {
			zero_buffer(p, i, bs);
			continue;
		}
		if (!(b->b_state & PC_BH_MAPPED)) {
			err = map_lookup(inode, run, lblk, eof_blk - lblk, 0);
			if (err)
				return err;
			if (!run_is_data(run)) {
				zero_buffer(p, i, bs);
				continue;
			}
			b->b_blocknr = run->pblk + (lblk - run->lblk);
			b->b_state |= PC_BH_MAPPED;
		}
		aops_bio_add(bio, p, i, b->b_blocknr);
	}
	return 0;
}

int aops_readahead(struct disk_inode *inode, struct pc_page **pages, unsigned n)
{
	struct disk_map run = { 0 };
	struct aops_bio bio;
	uint64_t eof_blk = eof_block(inode);
	unsigned k;
	int err, err2;

	if (aops_is_inline(inode)) {
		for (k = 0, err = 0; k < n && !err; k++)
			err = aops_read_folio(inode, pages[k]);
		return err;
	}
	err = aops_bio_init(&bio, inode, 0);
	if (err)
		return err;
	for (k = 0; k < n && !err; k++)
		err = queue_page_reads(inode, pages[k], &run, eof_blk, &bio);
	err2 = aops_bio_finish(&bio);
	if (!err)
		err = err2;
	for (k = 0; k < n && !err; k++)
		set_uptodate_if_full(pages[k]);
	return err;
}

int aops_read_folio(struct disk_inode *inode, struct pc_page *page)
{
	assert(page->flags & PC_PG_LOCKED);
	if (page->flags & PC_PG_UPTODATE)
		return 0;
	if (aops_is_inline(inode)) {
		int err = aops_inline_read_folio(inode, page);

		if (!err)
			pc_set_page_uptodate(page);
		return err;
	}
	return aops_readahead(inode, &page, 1);
}

/* ---- write_begin / write_end ---- */

/* page_zero_new_buffers: new buffers meeting [from, to) get that part zeroed (if
 * not uptodate), lose BH_New and become dirty. */
static void zero_new_buffers(struct pc_page *p, unsigned bs, unsigned from, unsigned to)
{
	unsigned i;

	for (i = 0; i < p->nr_bufs; i++) {
		unsigned bstart = i * bs, bend = bstart + bs;
		struct pc_buf *b = &p->bufs[i];

		if (!(b->b_state & PC_BH_NEW) || bend <= from || bstart >= to)
			continue;
		if (!(b->b_state & PC_BH_UPTODATE)) {
			unsigned zs = from > bstart ? from : bstart;
			unsigned ze = to < bend ? to : bend;

			memset(p->data + zs, 0, ze - zs);
			b->b_state |= PC_BH_UPTODATE;
		}
		b->b_state &= ~PC_BH_NEW;
		pc_mark_buffer_dirty(p, i);
	}
}

/* ext4_truncate_failed_write: free what a failed or short write allocated past EOF. */
static int truncate_failed_write(struct disk_inode *inode)
{
	uint64_t size = disk_i_size(inode);
	int err;

	err = aops_zero_pagecache_range(inode, size, UINT64_MAX);
	if (err)
		return err;
	return aops_punch_blocks(inode, eof_block(inode), ~0ULL);
}

void aops_blocks_changed(struct disk_inode *inode)
{
	struct pc_mapping *m = inode->i_mapping;

	if (m)
		m->map_gen++;
}

int aops_punch_blocks(struct disk_inode *inode, uint64_t start, uint64_t end)
{
	aops_blocks_changed(inode);
	return disk_punch(inode, start, end);
}

void aops_write_ctx_init(struct aops_write_ctx *wc, struct disk_inode *inode,
			 uint64_t pos, uint64_t count)
{
	unsigned bits = blkbits(inode);

	memset(wc, 0, sizeof(*wc));
	wc->ahead_from = eof_block(inode);
	wc->ahead_end = (pos + count + (1u << bits) - 1) >> bits;
}

/*
 * The run to allocate from for @lblk: the write's cached run if still valid,
 * else a fresh one of up to @want blocks, or more when @lblk is past the EOF
 * the write started from.
 */
static int map_create(struct disk_inode *inode, struct aops_write_ctx *wc,
		      struct disk_map *local, uint64_t lblk, uint64_t want,
		      struct disk_map **runp)
{
	struct pc_mapping *m = inode->i_mapping;
	struct disk_map *run = wc ? &wc->run : local;
	uint64_t ahead = AOPS_AHEAD_MAX >> blkbits(inode);

	if (wc && wc->gen != m->map_gen)
		wc->run.len = 0;
	if (wc && lblk >= wc->ahead_from && lblk < wc->ahead_end &&
	    !(run->len && lblk >= run->lblk && lblk < run->lblk + run->len)) {
		want = wc->ahead_end - lblk;
		if (want > ahead)
			want = ahead;
	}
	*runp = run;
	if (wc)
		wc->gen = m->map_gen;
	return map_lookup(inode, run, lblk, want, 1);
}

int aops_write_ctx_finish(struct aops_write_ctx *wc, struct disk_inode *inode)
{
	struct pc_mapping *m = inode->i_mapping;

	int err, err2;

	if (!m || !wc->run.len || wc->gen != m->map_gen ||
	    wc->run.lblk + wc->run.len <= eof_block(inode))
		return 0;
	err = disk_handle_start_concurrent(inode->dfs, AOPS_WRITE_CREDITS);
	if (err)
		return err;
	err = truncate_failed_write(inode);
	err2 = disk_handle_stop_concurrent(inode->dfs);
	return err ? err : err2;
}

/* Maps buffer @i of @p with allocation; @last bounds the blocks this page needs. */
static int map_buffer_create(struct disk_inode *inode, struct pc_page *p, unsigned i,
			     unsigned last, struct aops_write_ctx *wc, struct disk_map *local)
{
	struct pc_buf *b = &p->bufs[i];
	uint64_t lblk = p->index * bufs_per_page(inode) + i;
	struct disk_map *run;
	int err;

	if (b->b_state & PC_BH_MAPPED)
		return 0;
	err = map_create(inode, wc, local, lblk, last - i + 1, &run);
	if (err)
		return err;
	b->b_blocknr = run->pblk + (lblk - run->lblk);
	b->b_state |= PC_BH_MAPPED;
	/* A converted unwritten block holds stale bytes just like a new one. */
	if (run->flags & (DISK_MAP_NEW | DISK_MAP_UNWRITTEN))
		b->b_state |= PC_BH_NEW;
	return 0;
}

/* block_write_begin on the locked page @p for page bytes [from, to). */
static int block_prepare(struct disk_inode *inode, struct pc_page *p, unsigned from,
			 unsigned to, struct aops_write_ctx *wc)
{
	unsigned bits = blkbits(inode), bs = 1u << bits;
	unsigned i, first = from >> bits, last = (to - 1) >> bits;
	struct disk_map run = { 0 };
	struct aops_bio bio;
	int err, err2;

	err = aops_bio_init(&bio, inode, 0);
	if (err)
		return err;
	pc_attach_buffers(p);
	for (i = first; i <= last; i++) {
		struct pc_buf *b = &p->bufs[i];
		unsigned bstart = i << bits, bend = bstart + bs;

		err = map_buffer_create(inode, p, i, last, wc, &run);
		if (err)
			break;
		if (p->flags & PC_PG_UPTODATE) {
			b->b_state |= PC_BH_UPTODATE;
			if (b->b_state & PC_BH_NEW) {
				b->b_state &= ~PC_BH_NEW;
				pc_mark_buffer_dirty(p, i);
			}
			continue;
		}
		if (b->b_state & PC_BH_NEW) {
			if (bstart < from)
				memset(p->data + bstart, 0, from - bstart);
			if (to < bend)
				memset(p->data + to, 0, bend - to);
			continue;
		}
		if (!(b->b_state & PC_BH_UPTODATE) && (bstart < from || bend > to))
			aops_bio_add(&bio, p, i, b->b_blocknr);
	}
	err2 = aops_bio_finish(&bio);
	if (!err)
		err = err2;
	if (err)
		zero_new_buffers(p, bs, from, to);
	return err;
}

int aops_write_begin(struct disk_inode *inode, uint64_t pos, unsigned len,
		     struct pc_page **pagep, void **fsdata, struct aops_write_ctx *wc)
{
	unsigned from = pos & (PC_PAGE_SIZE - 1);
	struct pc_mapping *m;
	struct pc_page *p;
	int err, inline_path = 0;

	assert(len > 0 && from + len <= PC_PAGE_SIZE);
	*fsdata = NULL;
	err = aops_mapping(inode, &m);
	if (err)
		return err;
	/* ext4_write_begin: the handle first, then the page lock; write_end stops it */
	err = disk_handle_start_concurrent(inode->dfs, AOPS_WRITE_CREDITS);
	if (err)
		return err;
	err = pc_grab_page_at(m, pos >> PC_PAGE_SHIFT, 1, &p, "write_begin");
	if (err) {
		disk_handle_stop_concurrent(inode->dfs);
		return err;
	}
	if (aops_inline_wants_write_begin(inode)) {
		err = aops_inline_write_begin(inode, p, pos, len, &inline_path);
		if (err)
			goto fail;
		if (inline_path) {
			*fsdata = AOPS_FS_INLINE;
			*pagep = p;
			return 0;
		}
	}
	err = block_prepare(inode, p, from, from + len, wc);
	if (err)
		goto fail;
	*pagep = p;
	return 0;

fail:
	pc_unlock_page(p);
	pc_put_page(p);
	if (pos + len > disk_i_size(inode) && !aops_is_inline(inode))
		truncate_failed_write(inode);
	disk_handle_stop_concurrent(inode->dfs);
	return err;
}

/* __block_commit_write: the copied range becomes uptodate and dirty; BH_New is
 * cleared everywhere (@range_only: only in the range, as 2.6.19's
 * block_commit_write did, and an empty range commits nothing); the page is
 * uptodate when every buffer is. */
static void commit_buffers(struct pc_page *p, unsigned bs, unsigned from, unsigned to,
			   int range_only)
{
	unsigned i;
	int partial = 0;

	if (range_only && to <= from)
		return;
	for (i = 0; i < p->nr_bufs; i++) {
		unsigned bstart = i * bs, bend = bstart + bs;
		struct pc_buf *b = &p->bufs[i];

		if (bend <= from || bstart >= to) {
			if (!(b->b_state & PC_BH_UPTODATE))
				partial = 1;
			if (range_only)
				continue;
		} else {
			pc_mark_buffer_dirty(p, i);
		}
		b->b_state &= ~PC_BH_NEW;
	}
	if (!partial)
		pc_set_page_uptodate(p);
}

/*
 * Both write_ends' last steps: the page goes back, a write that ended short of
 * its range past EOF frees what it allocated there (unless @keep_blocks), and
 * write_begin's handle stops.  Returns @copied or -errno.
 */
static int write_end_finish(struct disk_inode *inode, struct pc_page *p, uint64_t pos,
			    unsigned len, unsigned copied, int keep_blocks)
{
	int ret = 0;

	pc_unlock_page(p);
	pc_put_page(p);
	if (!keep_blocks && pos + len > disk_i_size(inode))
		ret = truncate_failed_write(inode);
	disk_handle_stop_concurrent(inode->dfs);
	return ret < 0 ? ret : (int)copied;
}

int aops_write_end(struct disk_inode *inode, uint64_t pos, unsigned len, unsigned copied,
		   struct pc_page *p, void *fsdata)
{
	unsigned bs = inode->dfs->block_size, from = pos & (PC_PAGE_SIZE - 1);
	int ret;

	assert(copied <= len);
	if (fsdata == AOPS_FS_INLINE) {
		ret = aops_inline_write_end(inode, p, pos, len, copied);
		pc_unlock_page(p);
		pc_put_page(p);
		disk_handle_stop_concurrent(inode->dfs);
		return ret;
	}
	/* block_write_end: a short copy into a !uptodate page may have left holes in
	 * blocks we did not read; commit nothing and let the caller retry. */
	if (copied < len && !(p->flags & PC_PG_UPTODATE))
		copied = 0;
	zero_new_buffers(p, bs, from + copied, from + len);
	commit_buffers(p, bs, from, from + copied, 0);
	assert(!pc_check_page(p));
	if (copied && pos + copied > disk_i_size(inode)) {
		disk_set_i_size(inode, pos + copied);
		disk_mark_inode_dirty(inode);
	}
	return write_end_finish(inode, p, pos, len, copied, 0);
}

/* ---- write_end under a historical policy ---- */

/* The -mm fix of 2006-12 (seed 002): the uncopied bytes of new buffers meeting
 * [from, to) are zeroed in the page, but the buffers keep BH_New and stay clean
 * and !uptodate, so neither writeback nor an ordered commit writes their blocks. */
static void zero_new_page_only(struct pc_page *p, unsigned bs, unsigned from, unsigned to)
{
	unsigned i;

	for (i = 0; i < p->nr_bufs; i++) {
		unsigned bstart = i * bs, bend = bstart + bs;
		unsigned zs = from > bstart ? from : bstart, ze = to < bend ? to : bend;

		if ((p->bufs[i].b_state & PC_BH_NEW) && zs < ze)
			memset(p->data + zs, 0, ze - zs);
	}
}

static void zero_uncopied(struct pc_page *p, unsigned bs, unsigned from, unsigned to,
			  unsigned copied, enum aops_zero_new zn)
{
	switch (zn) {
	case AOPS_ZN_IF_COPIED:
		if (!copied)
			break;
		/* fall through */
	case AOPS_ZN_ALWAYS:
		zero_new_buffers(p, bs, from, to);
		break;
	case AOPS_ZN_PAGE_ONLY:
		zero_new_page_only(p, bs, from, to);
		break;
	}
}

int aops_write_end_policy(struct disk_inode *inode, uint64_t pos, unsigned len,
			  unsigned copied, struct pc_page *p, void *fsdata,
			  const struct aops_end_policy *ep)
{
	unsigned bs = inode->dfs->block_size, from = pos & (PC_PAGE_SIZE - 1), end;

	if (fsdata == AOPS_FS_INLINE)
		return aops_write_end(inode, pos, len, copied, p, fsdata);
	assert(copied <= len);
	if (ep->copied_zero && copied < len && !(p->flags & PC_PG_UPTODATE))
		copied = 0;
	if (copied < len)
		zero_uncopied(p, bs, from + copied, from + len, copied, ep->zero_new);
	end = ep->commit_bytes ? len : copied;
	commit_buffers(p, bs, from, from + end, 1);
	pc_note_kept_new(p);
	assert(!pc_check_page(p));
	if (end && pos + end > disk_i_size(inode)) {
		disk_set_i_size(inode, pos + end);
		disk_mark_inode_dirty(inode);
	}
	return write_end_finish(inode, p, pos, len, copied, ep->keep_blocks);
}

/* ---- page_mkwrite ---- */

int aops_page_mkwrite(struct disk_inode *inode, struct pc_page *p)
{
	uint64_t eof_blk;
	struct disk_map run = { 0 };
	unsigned i, nr, bpp = bufs_per_page(inode);
	int err;

	assert(p->flags & PC_PG_LOCKED);
	if (aops_inline_wants_write_begin(inode)) {
		err = aops_inline_convert(inode);
		aops_blocks_changed(inode);
		if (err)
			return err;
	}
	err = aops_read_folio(inode, p);
	if (err)
		return err;
	pc_attach_buffers(p);
	eof_blk = eof_block(inode);
	if (p->index * bpp >= eof_blk)
		return -EFAULT;		/* wholly past EOF: SIGBUS in the kernel */
	nr = eof_blk - p->index * bpp < bpp ? (unsigned)(eof_blk - p->index * bpp) : bpp;
	for (i = 0; i < nr; i++) {
		err = map_buffer_create(inode, p, i, nr - 1, NULL, &run);
		if (err)
			return err;
		/* The page is uptodate: its bytes, not the stale block, are the data. */
		p->bufs[i].b_state &= ~PC_BH_NEW;
		pc_mark_buffer_dirty(p, i);
	}
	return 0;
}

/* ---- truncate and punch ---- */

/* Buffer @i of @p gets its mapping looked up (no allocation); returns whether
 * it holds written data on disk. */
static int buffer_has_data(struct disk_inode *inode, struct pc_page *p, unsigned i,
			   int *err)
{
	struct pc_buf *b = &p->bufs[i];
	struct disk_map run = { 0 };

	*err = 0;
	if (b->b_state & PC_BH_MAPPED)
		return 1;
	*err = map_lookup(inode, &run, p->index * bufs_per_page(inode) + i, 1, 0);
	if (*err || !run_is_data(&run))
		return 0;
	b->b_blocknr = run.pblk;
	b->b_state |= PC_BH_MAPPED;
	return 1;
}

/* Zeroes file bytes [zs, ze) inside page @index; see aops_zero_pagecache_range. */
static int zero_partial_page(struct disk_inode *inode, struct pc_mapping *m,
			     uint64_t index, uint64_t zs, uint64_t ze)
{
	uint64_t pstart = index << PC_PAGE_SHIFT;
	unsigned i, bs = inode->dfs->block_size, dirty = 0;
	struct pc_page *p = pc_find_get_page(m, index);
	int err = 0;

	if (!p) {
		if (pstart >= disk_i_size(inode))
			return 0;	/* nothing cached, nothing on disk to keep */
		err = pc_grab_page(m, index, 1, &p);
		if (err)
			return err;
	} else {
		pc_lock_page(p);
	}
	err = aops_read_folio(inode, p);
	if (err)
		goto out;
	pc_attach_buffers(p);
	memset(p->data + (zs - pstart), 0, ze - zs);
	for (i = 0; i < p->nr_bufs; i++) {
		uint64_t bstart = pstart + (uint64_t)i * bs, bend = bstart + bs;
		struct pc_buf *b = &p->bufs[i];

		if (bstart >= zs && bend <= ze) {
			/* The block goes away: forget it (block_invalidate_folio). */
			b->b_state &= ~(PC_BH_MAPPED | PC_BH_DIRTY | PC_BH_NEW);
			b->b_blocknr = 0;
		} else if (bend > zs && bstart < ze) {
			if (buffer_has_data(inode, p, i, &err))
				pc_mark_buffer_dirty(p, i);
			if (err)
				goto out;
		}
		dirty |= b->b_state & PC_BH_DIRTY;
	}
	if (!dirty)
		pc_clear_page_dirty_for_io(p);
out:
	pc_unlock_page(p);
	pc_put_page(p);
	return err;
}

int aops_zero_pagecache_range(struct disk_inode *inode, uint64_t start, uint64_t end)
{
	const uint64_t mask = PC_PAGE_SIZE - 1;
	uint64_t first_full, end_full, sidx = start >> PC_PAGE_SHIFT;
	struct pc_mapping *m;
	int err;

	if (start >= end)
		return 0;
	err = aops_mapping(inode, &m);
	if (err)
		return err;
	first_full = (start + mask) >> PC_PAGE_SHIFT;
	end_full = end == UINT64_MAX ? UINT64_MAX : end >> PC_PAGE_SHIFT;
	if (start & mask) {
		uint64_t pend = (sidx + 1) << PC_PAGE_SHIFT;

		err = zero_partial_page(inode, m, sidx, start, end < pend ? end : pend);
		if (err)
			return err;
	}
	if (end != UINT64_MAX && (end & mask) &&
	    ((end >> PC_PAGE_SHIFT) != sidx || !(start & mask))) {
		uint64_t eidx = end >> PC_PAGE_SHIFT, pstart = eidx << PC_PAGE_SHIFT;

		err = zero_partial_page(inode, m, eidx, start > pstart ? start : pstart, end);
		if (err)
			return err;
	}
	if (first_full < end_full)
		pc_truncate_pages(m, first_full, end_full);
	return 0;
}
