/*
 * libfs/study/ext4_inline.c - ext4's inline-data write path (ext4_da_write_begin/_end and
 * their inline halves), conversion, writeback and ext4_page_mkwrite under the seed-004
 * policies, on libfs/study's world.  Calls libfs/study's world, libfs/mm, libfs/task.
 * Invariant: the three pieces of inline state change only under xattr_sem held for
 * write, except where a policy models a kernel that did otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libfs/study/world.h"

/* ---- state, locks, trace ---- */

const char *e4i_state_str(const struct e4i_inode *ei, char *buf, size_t size)
{
	snprintf(buf, size, "may_inline=%d INLINE_DATA=%d i_inline_size=%u", ei->may_inline,
		 ei->inline_flag, ei->inline_size);
	return buf;
}

static void note_state(const struct w_file *f, const char *why)
{
	char s[96];

	task_trace_note("inode %s: %s (%s)", f->path, e4i_state_str(&f->ei, s, sizeof(s)), why);
}

void e4i_init_locks(struct e4i_inode *ei)
{
	lock_rwsem_init(&ei->xattr_sem, "xattr_sem");
	lock_rwsem_init(&ei->i_data_sem, "i_data_sem");
	lock_rwsem_init(&ei->invalidate_lock, "invalidate_lock");
	lock_rwsem_init(&ei->i_inline_rwsem, "i_inline_rwsem");
}

static void page_uptodate(struct study_world *w, struct w_page *p)
{
	for (unsigned i = 0; i < w->bpp; i++)
		p->bh[i] |= BH_UPTODATE;
	p->uptodate = 1;
}

void e4i_build(struct study_world *w, struct w_file *f, const struct study_file *sf)
{
	struct e4i_inode *ei = &f->ei;

	(void)w;
	ei->may_inline = ei->inline_flag = 1;
	ei->inline_size = sf->size > E4I_MIN_INLINE ? (unsigned)sf->size : E4I_MIN_INLINE;
	memcpy(ei->idata, f->shadow, (size_t)sf->size);
	f->durable_size = f->size;
}

void e4i_contents(struct study_world *w, struct w_file *f, uint8_t *buf)
{
	const struct w_page *p = &f->pages[0];

	(void)w;
	memset(buf, 0, (size_t)f->size);
	if (p->cached && p->uptodate)
		memcpy(buf, p->data, f->size < W_PAGE ? (size_t)f->size : W_PAGE);
	else
		memcpy(buf, f->ei.idata, f->size < f->ei.inline_size ? (size_t)f->size
								     : f->ei.inline_size);
}

/* ---- journal handles and allocation ---- */

/* ext4_journal_start: a jbd2 handle (journal=ordered) or the no-journal reference
 * count in current->journal_info (journal=none, as in the syzbot report). */
static void handle_start(struct study_world *w, int *handle, const char *where)
{
	if (!w->pol.nojournal)
		lock_down_read_at(&w->handles, where);
	*handle = 1;
}

/* ext4_journal_stop of current->journal_info.  With no handle, __ext4_journal_stop
 * finds an invalid one and ext4_put_nojournal BUGs (BUG_ON(ref_cnt == 0)). */
static void handle_stop(struct study_world *w, struct w_file *f, int *handle,
			const char *where)
{
	if (!*handle)
		task_bug("BUG", "%s: ext4_journal_stop with no handle (ext4_put_nojournal: "
			 "BUG_ON(ref_cnt == 0)) on %s: write_begin took the block path, which "
			 "starts none", where, f->path);
	if (!w->pol.nojournal)
		lock_up_read_at(&w->handles, where);
	*handle = 0;
}

/* ext4_mb_new_blocks under i_data_sem.  Returns the block + 1, or -errno as the
 * run's alloc= policy demands. */
static long alloc_block(struct study_world *w, struct w_file *f)
{
	long ret = -ENOSPC;

	lock_down_write_at(&f->ei.i_data_sem, "ext4_map_blocks");
	if (w->pol.alloc == SA_BAD_BITMAP)
		ret = -EUCLEAN;	/* ext4_wait_block_bitmap: bitmap and descriptor disagree */
	for (uint32_t b = 1; w->pol.alloc == SA_OK && b < w->nblocks; b++)
		if (!w->bitmap[b]) {
			w->bitmap[b] = 1;
			ret = (long)b + 1;
			break;
		}
	lock_up_write_at(&f->ei.i_data_sem, "ext4_map_blocks");
	if (ret < 0)
		task_trace_note("ext4_mb_new_blocks for %s: %ld", f->path, ret);
	return ret;
}

/* ---- conversion ---- */

/* ext4_convert_inline_data_nolock (7b4cc9787fe35b era): the caller holds xattr_sem
 * for write.  Destroys the inline state first (MAY_INLINE and the flag cleared,
 * i_inline_size 0), allocates the block, and on failure restores all three
 * (ext4_restore_inline_data): the window in which write() sees "not inline". */
static int convert_nolock(struct study_world *w, struct w_file *f)
{
	struct e4i_inode *ei = &f->ei;
	unsigned saved = ei->inline_size;
	long blk;

	ei->may_inline = ei->inline_flag = 0;
	ei->inline_size = 0;
	note_state(f, "ext4_destroy_inline_data_nolock");
	blk = alloc_block(w, f);
	if (blk < 0) {
		ei->may_inline = ei->inline_flag = 1;
		ei->inline_size = saved;
		note_state(f, "ext4_restore_inline_data");
		return (int)blk;
	}
	memset(w->disk + (size_t)(blk - 1) * w->bs, 0, w->bs);
	memcpy(w->disk + (size_t)(blk - 1) * w->bs, ei->idata,
	       f->size < saved ? (size_t)f->size : saved);
	f->map[0] = (uint32_t)blk;
	memcpy(f->durable_map, f->map, sizeof(f->map));
	task_trace_note("inode %s: inline data moved to block %ld", f->path, blk - 1);
	return 0;
}

/* ext4_convert_inline_data: xattr_sem for write around the conversion. */
static int convert_inline_data(struct study_world *w, struct w_file *f, const char *where)
{
	int handle = 0, err = 0;

	if (!f->ei.inline_flag) {
		f->ei.may_inline = 0;
		return 0;
	}
	handle_start(w, &handle, where);
	lock_down_write_at(&f->ei.xattr_sem, where);
	if (f->ei.inline_flag)
		err = convert_nolock(w, f);
	lock_up_write_at(&f->ei.xattr_sem, where);
	handle_stop(w, f, &handle, where);
	return err;
}

/* ---- reading ---- */

/* ext4_read_folio: ext4_readpage_inline (under xattr_sem for read) or the blocks.
 * The caller holds the folio lock; @xattr_held: it holds xattr_sem too. */
static void read_folio(struct study_world *w, struct w_file *f, struct w_page *p,
		       int xattr_held)
{
	struct e4i_inode *ei = &f->ei;
	int inl;

	if (!xattr_held)
		lock_down_read_at(&ei->xattr_sem, "ext4_readpage_inline");
	inl = ei->inline_flag;
	if (inl) {
		memset(p->data, 0, W_PAGE);
		if (p == &f->pages[0])
			memcpy(p->data, ei->idata, f->size < ei->inline_size ? (size_t)f->size
									     : ei->inline_size);
		page_uptodate(w, p);
	}
	if (!xattr_held)
		lock_up_read_at(&ei->xattr_sem, "ext4_readpage_inline");
	if (!inl)
		w_readpage(w, f, p);
}

/* ---- write(2): ext4_da_write_begin / ext4_da_write_end ---- */

struct e4i_wb {
	struct w_page *p;
	int inline_path;		/* write_begin returned an inline folio */
	int handle;			/* current->journal_info */
	int inl_held;			/* one_lock: i_inline_rwsem held across */
};

/* ext4_da_convert_inline_data_to_extent: the write outgrows the inode.  Folio 0
 * takes the inline bytes and delayed buffers; the inode stops being inline. */
static void da_convert(struct study_world *w, struct w_file *f)
{
	struct e4i_inode *ei = &f->ei;
	struct w_page *p0 = w_page_get(f, 0);

	lock_page_lock_at(&p0->lock, "ext4_da_convert_inline_data_to_extent");
	lock_down_write_at(&ei->xattr_sem, "ext4_da_convert_inline_data_to_extent");
	if (ei->inline_flag) {
		if (!p0->uptodate)
			read_folio(w, f, p0, 1);
		ei->bufs[0] = 1;
		p0->dirty = 1;
		ei->may_inline = ei->inline_flag = 0;
		ei->inline_size = 0;
		note_state(f, "ext4_da_convert_inline_data_to_extent");
	}
	lock_up_write_at(&ei->xattr_sem, "ext4_da_convert_inline_data_to_extent");
	lock_page_unlock_at(&p0->lock, "ext4_da_convert_inline_data_to_extent");
}

/* ext4_da_write_inline_data_begin.  Returns 1 with the folio locked and a handle
 * open (inline path), or 0: take the block path. */
static int inline_begin(struct study_world *w, struct w_file *f, uint64_t pos, unsigned len,
			struct e4i_wb *wb)
{
	struct e4i_inode *ei = &f->ei;
	struct w_page *p;

	handle_start(w, &wb->handle, "ext4_da_write_inline_data_begin");
	if (pos + len > E4I_MAX_INLINE) {	/* ext4_prepare_inline_data: -ENOSPC */
		handle_stop(w, f, &wb->handle, "ext4_da_write_inline_data_begin");
		da_convert(w, f);
		return 0;
	}
	if (pos + len > ei->inline_size) {	/* ext4_update_inline_data */
		lock_down_write_at(&ei->xattr_sem, "ext4_prepare_inline_data");
		if (ei->inline_flag)
			ei->inline_size = (unsigned)(pos + len);
		lock_up_write_at(&ei->xattr_sem, "ext4_prepare_inline_data");
	}
	p = w_page_get(f, pos / W_PAGE);
	lock_page_lock_at(&p->lock, "ext4_da_write_inline_data_begin");
	lock_down_read_at(&ei->xattr_sem, "ext4_da_write_inline_data_begin");
	if (!ei->inline_flag) {		/* converted meanwhile: the block path */
		lock_up_read_at(&ei->xattr_sem, "ext4_da_write_inline_data_begin");
		lock_page_unlock_at(&p->lock, "ext4_da_write_inline_data_begin");
		handle_stop(w, f, &wb->handle, "ext4_da_write_inline_data_begin");
		return 0;
	}
	if (!p->uptodate)
		read_folio(w, f, p, 1);
	lock_up_read_at(&ei->xattr_sem, "ext4_da_write_inline_data_begin");
	task_trace_note("write_begin %s: inline folio, no buffers", f->path);
	wb->p = p;
	wb->inline_path = 1;
	return 1;
}

static int write_begin(struct study_world *w, struct w_file *f, uint64_t pos, unsigned len,
		       struct e4i_wb *wb)
{
	struct e4i_inode *ei = &f->ei;
	uint64_t idx = pos / W_PAGE;
	struct w_page *p;

	if (w->pol.inl == SI_ONE_LOCK) {
		lock_down_read_at(&ei->i_inline_rwsem, "ext4_da_write_begin (one lock)");
		wb->inl_held = 1;
	}
	if (ei->may_inline && inline_begin(w, f, pos, len, wb))
		return 0;
	p = w_page_get(f, idx);
	if (!p) {
		if (wb->inl_held)
			lock_up_read_at(&ei->i_inline_rwsem, "ext4_da_write_begin (one lock)");
		wb->inl_held = 0;
		return -EFBIG;
	}
	lock_page_lock_at(&p->lock, "ext4_da_write_begin");
	if (!p->uptodate)
		read_folio(w, f, p, 0);
	if (idx < E4I_PAGES && !ei->bufs[idx])
		task_trace_note("write_begin %s: block path, buffers attached to folio %llu",
				f->path, (unsigned long long)idx);
	ei->bufs[idx] = 1;		/* create_empty_buffers, delayed allocation */
	wb->p = p;
	return 0;
}

/* ext4_write_inline_data_end: the bytes go into the inode; the folio stays clean. */
static unsigned inline_end(struct study_world *w, struct w_file *f, uint64_t pos,
			   unsigned copied, struct e4i_wb *wb)
{
	struct e4i_inode *ei = &f->ei;
	struct w_page *p = wb->p;

	if (copied) {
		lock_down_write_at(&ei->xattr_sem, "ext4_write_inline_data_end");
		if (!ei->inline_flag)
			task_bug("BUG", "ext4_write_inline_data_end: BUG_ON(!ext4_has_inline_data"
				 "(inode)) on %s: converted after write_end chose the inline path",
				 f->path);
		if (pos + copied > ei->inline_size)
			task_bug("BUG", "ext4_write_inline_data: BUG_ON(pos + len > "
				 "i_inline_size): %llu + %u > %u on %s (fs/ext4/inline.c)",
				 (unsigned long long)pos, copied, ei->inline_size, f->path);
		memcpy(ei->idata + pos, p->data + pos % W_PAGE, copied);
		page_uptodate(w, p);
		p->dirty = 0;		/* folio_clear_dirty: writeback must not see it */
		lock_up_write_at(&ei->xattr_sem, "ext4_write_inline_data_end");
	}
	if (pos + copied > f->size)
		f->size = pos + copied;
	lock_page_unlock_at(&p->lock, "ext4_write_inline_data_end");
	handle_stop(w, f, &wb->handle, "ext4_write_inline_data_end");
	return copied;
}

/* generic_write_end -> block_write_end: commits through the folio's buffers. */
static unsigned block_end(struct study_world *w, struct w_file *f, uint64_t pos,
			  unsigned copied, struct e4i_wb *wb)
{
	struct w_page *p = wb->p;
	uint64_t idx = pos / W_PAGE;

	if (!f->ei.bufs[idx])
		task_bug("BUG", "block_write_end on %s folio %llu with no buffers: NULL "
			 "pointer dereference in block_commit_write (write_begin prepared an "
			 "inline folio)", f->path, (unsigned long long)idx);
	if (copied) {
		for (unsigned i = 0; i < w->bpp; i++)
			p->bh[i] |= BH_DIRTY;
		if (!p->dirty)
			task_trace_note("page %s#%llu: dirty", f->path, (unsigned long long)idx);
		p->dirty = 1;
	}
	if (pos + copied > f->size)
		f->size = pos + copied;
	lock_page_unlock_at(&p->lock, "ext4_da_write_end");
	if (wb->handle)
		handle_stop(w, f, &wb->handle, "ext4_da_write_end");
	return copied;
}

static unsigned write_end(struct study_world *w, struct w_file *f, uint64_t pos,
			  unsigned copied, struct e4i_wb *wb)
{
	struct e4i_inode *ei = &f->ei;
	unsigned ret;

	if (ei->may_inline && ei->inline_flag) {
		if (!wb->inline_path)
			task_trace_note("write_end %s: inline path after a block write_begin",
					f->path);
		ret = inline_end(w, f, pos, copied, wb);
	} else {
		ret = block_end(w, f, pos, copied, wb);
	}
	if (wb->inl_held)
		lock_up_read_at(&ei->i_inline_rwsem, "ext4_da_write_end (one lock)");
	wb->inl_held = 0;
	return ret;
}

static size_t src_fault_in(const struct w_src *s, uint64_t off, size_t n)
{
	if (s->kbuf)
		return 0;
	return s->mm ? mm_fault_in_readable(s->mm, s->addr + off, n) : n;
}

static size_t src_atomic(const struct w_src *s, uint64_t off, void *dst, size_t n)
{
	if (s->kbuf) {
		memcpy(dst, s->kbuf + off, n);
		return n;
	}
	return s->mm ? mm_copy_from_user_atomic(s->mm, dst, s->addr + off, n) : 0;
}

/* generic_perform_write (5.16+): fault the source in, write_begin, an atomic copy,
 * write_end; a zero-progress round faults in again. */
long e4i_write(struct study_world *w, struct w_file *f, uint64_t pos, uint64_t len,
	       const struct w_src *s)
{
	uint64_t done = 0;
	int rounds = 0;

	while (done < len) {
		uint64_t at = pos + done;
		unsigned off = (unsigned)(at % W_PAGE), bytes = W_PAGE - off;
		struct e4i_wb wb = { 0 };
		unsigned copied;
		int err;

		if (bytes > len - done)
			bytes = (unsigned)(len - done);
		if (src_fault_in(s, done, bytes) == bytes)
			return done ? (long)done : -EFAULT;
		err = write_begin(w, f, at, bytes, &wb);
		if (err)
			return done ? (long)done : err;
		task_yield_point("copy_folio_from_iter_atomic");
		mm_pagefault_disable();
		copied = (unsigned)src_atomic(s, done, wb.p->data + off, bytes);
		mm_pagefault_enable();
		if (copied < bytes && !wb.p->uptodate)
			copied = 0;
		copied = write_end(w, f, at, copied, &wb);
		done += copied;
		if (!copied && ++rounds > 32)
			task_bug("livelock", "write to %s made no progress", f->path);
	}
	return (long)done;
}

/* ---- writeback and fsync ---- */

static void mkclean_all(struct study_world *w, struct w_file *f, uint64_t idx)
{
	for (int i = 0; i < TASK_MAX; i++) {
		int dup = 0;

		for (int j = 0; j < i && w->mms[i]; j++)
			dup |= w->mms[j] == w->mms[i];
		if (w->mms[i] && !dup)
			mm_mkclean_file(w->mms[i], f, idx);
	}
}

/* A writable PTE maps folio @idx: the mapping may have stored into it (the dirty
 * PTE bit folio_mkclean finds, which keeps the folio dirty for writeback). */
static int mapped_writable(struct study_world *w, struct w_file *f, uint64_t idx)
{
	for (int i = 0; i < TASK_MAX; i++) {
		if (!w->mms[i])
			continue;
		for (struct mm_vma *v = w->mms[i]->vmas; v; v = v->next) {
			uint64_t n = (v->end - v->start) >> MM_PAGE_SHIFT;

			if (v->file == f && idx >= v->pgoff && idx < v->pgoff + n &&
			    v->ptes[idx - v->pgoff].state == PTE_RW)
				return 1;
		}
	}
	return 0;
}

/* ext4_writepages for one dirty folio; the caller holds its lock. */
static int writepage(struct study_world *w, struct w_file *f, uint64_t idx)
{
	struct w_page *p = &f->pages[idx];

	if (f->ei.inline_flag)
		task_bug("BUG", "ext4_writepages: dirty folio %llu of %s, an inode with inline "
			 "data (writeback expects ext4_write_inline_data_end to have copied it "
			 "into the inode; 7b4cc9787fe35b)", (unsigned long long)idx, f->path);
	for (unsigned b = 0; b < w->bpp; b++) {
		uint64_t l = idx * w->bpp + b;
		long blk;

		if (l * w->bs >= f->size)
			break;
		if (!f->map[l]) {
			blk = alloc_block(w, f);
			if (blk < 0)
				return (int)blk;
			f->map[l] = (uint32_t)blk;
		}
		memcpy(w->disk + (size_t)(f->map[l] - 1) * w->bs, p->data + (size_t)b * w->bs,
		       w->bs);
		p->bh[b] &= ~BH_DIRTY;
	}
	p->dirty = 0;
	task_trace_note("page %s#%llu: written back", f->path, (unsigned long long)idx);
	return 0;
}

/* Whether what fsync left on disk (inode or blocks) equals clean folio @idx; the
 * caller holds its lock. */
static int durable_matches(struct study_world *w, struct w_file *f, uint64_t idx)
{
	const struct w_page *p = &f->pages[idx];
	uint64_t end = (idx + 1) * W_PAGE < f->size ? (idx + 1) * W_PAGE : f->size;

	if (!p->cached || !p->uptodate || p->dirty)
		return 1;
	for (uint64_t off = idx * W_PAGE; off < end; off++) {
		uint64_t l = off / w->bs;
		uint8_t disk;

		if (f->ei.inline_flag)
			disk = off < f->ei.inline_size ? f->ei.idata[off] : 0;
		else
			disk = f->map[l] ? w->disk[(size_t)(f->map[l] - 1) * w->bs + off % w->bs] : 0;
		if (disk != p->data[off % W_PAGE]) {
			task_trace_note("fsync %s: offset %llu is 0x%02x on disk, 0x%02x in the page",
					f->path, (unsigned long long)off, disk, p->data[off % W_PAGE]);
			return 0;
		}
	}
	return 1;
}

/* file_write_and_wait_range + ext4_sync_file: every dirty folio written, then each
 * clean folio must match the disk (-ENODATA: data lost). */
int e4i_fsync(struct study_world *w, struct w_file *f)
{
	for (uint64_t idx = 0; idx < E4I_PAGES; idx++) {
		struct w_page *p = &f->pages[idx];
		int err = 0, same = 1;

		if (!p->cached || idx * W_PAGE >= f->size)
			continue;
		lock_page_lock_at(&p->lock, "ext4_writepages");
		/* the inline/extent state is stable under xattr_sem (conversion holds it
		 * for write from destroy to map or restore) */
		lock_down_read_at(&f->ei.xattr_sem, "ext4_writepages");
		if (!p->dirty && mapped_writable(w, f, idx))
			p->dirty = 1;
		if (p->dirty) {		/* folio_clear_dirty_for_io: mkclean, then write */
			mkclean_all(w, f, idx);
			err = writepage(w, f, idx);
		}
		if (!err)
			same = durable_matches(w, f, idx);
		lock_up_read_at(&f->ei.xattr_sem, "ext4_writepages");
		lock_page_unlock_at(&p->lock, "ext4_writepages");
		if (err)
			return err;
		if (!same)
			return -ENODATA;
	}
	memcpy(f->durable_map, f->map, sizeof(f->map));
	f->durable_size = f->size;
	/* e2fsck pass 1: an INLINE_DATA inode's i_size must be its inline data size */
	if (f->ei.inline_flag && f->size > f->ei.inline_size) {
		task_trace_note("fsync %s: INLINE_DATA with i_size %llu > %u inline bytes",
				f->path, (unsigned long long)f->size, f->ei.inline_size);
		return -EUCLEAN;
	}
	return 0;
}

/* ---- truncate and fallocate ---- */

/* ext4_setattr growing i_size.  truncate=inode_lock converts an inline inode the
 * new size does not fit (as kernels do today); xattr_only keeps the flag. */
int e4i_truncate(struct study_world *w, struct w_file *f, uint64_t size)
{
	int err = 0;

	if (size > (uint64_t)E4I_PAGES * W_PAGE)
		return -EFBIG;
	lock_mutex_lock_at(&f->i_rwsem, "ext4_setattr");
	lock_down_write_at(&f->ei.invalidate_lock, "ext4_setattr");
	if (f->ei.inline_flag && size > E4I_MAX_INLINE && w->pol.trunc == SL_INODE_LOCK)
		err = convert_inline_data(w, f, "ext4_setattr");
	if (!err) {
		f->size = size;
		note_state(f, "ext4_setattr");
	}
	lock_up_write_at(&f->ei.invalidate_lock, "ext4_setattr");
	lock_mutex_unlock_at(&f->i_rwsem, "ext4_setattr");
	return err;
}

/* ext4_fallocate (mode 0): converts an inline inode first.  falloc=xattr_only does
 * it outside inode_lock (before the fix of CVE-2022-49414); inode_lock: under it. */
int e4i_fallocate(struct study_world *w, struct w_file *f, uint64_t off, uint64_t len)
{
	int locked = w->pol.falloc == SL_INODE_LOCK;
	int err;

	if (off + len > (uint64_t)E4I_PAGES * W_PAGE)
		return -EFBIG;
	if (locked)
		lock_mutex_lock_at(&f->i_rwsem, "ext4_fallocate");
	err = convert_inline_data(w, f, "ext4_fallocate");
	if (!err && off + len > f->size) {
		if (!locked)
			lock_mutex_lock_at(&f->i_rwsem, "ext4_alloc_file_blocks");
		f->size = off + len;
		if (!locked)
			lock_mutex_unlock_at(&f->i_rwsem, "ext4_alloc_file_blocks");
	}
	if (locked)
		lock_mutex_unlock_at(&f->i_rwsem, "ext4_fallocate");
	return err;
}

/* ---- mappings: ext4_file_mmap, filemap_fault, ext4_page_mkwrite ---- */

static int e4i_mmap(struct mm_vma *vma)
{
	struct w_file *f = vma->file;
	struct study_world *w = f->world;
	int err;

	if (w->pol.inl != SI_CONVERT_AT_MMAP || !(vma->flags & VM_WRITE))
		return 0;
	/* Baokun Li v1/v2: inode_lock under the mmap_lock mmap() holds for write */
	lock_mutex_lock_at(&f->i_rwsem, "ext4_file_mmap");
	err = convert_inline_data(w, f, "ext4_file_mmap");
	lock_mutex_unlock_at(&f->i_rwsem, "ext4_file_mmap");
	return err;
}

static int e4i_fault(struct mm_fault *vmf)
{
	struct w_file *f = vmf->file;
	struct w_page *p = w_page_get(f, vmf->pgoff);

	if (!p)
		return VM_FAULT_SIGBUS;
	if (!p->uptodate) {		/* invalidate_lock, then the folio lock */
		lock_down_read_at(&f->ei.invalidate_lock, "filemap_fault");
		lock_page_lock_at(&p->lock, "filemap_fault");
		if (!p->uptodate)
			read_folio(f->world, f, p, 0);
		lock_page_unlock_at(&p->lock, "filemap_fault");
		lock_up_read_at(&f->ei.invalidate_lock, "filemap_fault");
	}
	vmf->page = p;
	vmf->data = p->data;
	return 0;
}

/* Ted Ts'o 2025: with the folio locked (and the handle the caller started before
 * locking it, ext4's handle -> folio lock order), allocate the block, write the
 * data, then switch the inode to the block.  Nothing changes on failure. */
static int tso_switch(struct study_world *w, struct w_file *f, struct w_page *p)
{
	struct e4i_inode *ei = &f->ei;
	long blk;

	if (!p->uptodate)
		read_folio(w, f, p, 0);
	blk = alloc_block(w, f);
	if (blk < 0)
		return (int)blk;
	memcpy(w->disk + (size_t)(blk - 1) * w->bs, p->data, w->bs);
	lock_down_write_at(&ei->xattr_sem, "ext4_page_mkwrite (switch)");
	f->map[0] = (uint32_t)blk;
	ei->bufs[0] = 1;
	ei->may_inline = ei->inline_flag = 0;
	ei->inline_size = 0;
	note_state(f, "switched to block");
	lock_up_write_at(&ei->xattr_sem, "ext4_page_mkwrite (switch)");
	return 0;
}

/* Baokun Li 2024-04: drop mmap_lock, convert under inode_lock, VM_FAULT_RETRY.
 * Returns 0 when the fault may go on (not inline), else the fault's result. */
static int retry_evict(struct mm_fault *vmf, struct w_file *f, int checked)
{
	struct study_world *w = f->world;

	if (!f->ei.inline_flag)
		return 0;
	if (checked && !mm_fault_may_drop_mmap(vmf)) {
		task_trace_note("ext4_page_mkwrite %s: inline and no FAULT_FLAG_ALLOW_RETRY: "
				"SIGBUS", f->path);
		return VM_FAULT_SIGBUS;
	}
	if (mm_fault_may_drop_mmap(vmf))
		mm_fault_drop_mmap(vmf);
	lock_mutex_lock_at(&f->i_rwsem, "ext4_page_mkwrite (retry eviction)");
	convert_inline_data(w, f, "ext4_page_mkwrite (retry eviction)");
	lock_mutex_unlock_at(&f->i_rwsem, "ext4_page_mkwrite (retry eviction)");
	return VM_FAULT_RETRY;
}

/* The policy's step before the folio is locked; 0 to go on. */
static int mkwrite_inline(struct mm_fault *vmf, struct w_file *f)
{
	(void)vmf;
	struct study_world *w = f->world;

	int err;

	switch (w->pol.inl) {
	case SI_MKWRITE_XATTR:
		return convert_inline_data(w, f, "ext4_page_mkwrite") ? VM_FAULT_SIGBUS : 0;
	case SI_MKWRITE_INODE_LOCK:
		lock_mutex_lock_at(&f->i_rwsem, "ext4_page_mkwrite (inode_lock)");
		err = convert_inline_data(w, f, "ext4_page_mkwrite");
		lock_mutex_unlock_at(&f->i_rwsem, "ext4_page_mkwrite (inode_lock)");
		return err ? VM_FAULT_SIGBUS : 0;
	case SI_ONE_LOCK:
		lock_down_write_at(&f->ei.i_inline_rwsem, "ext4_page_mkwrite (one lock)");
		err = convert_inline_data(w, f, "ext4_page_mkwrite");
		lock_up_write_at(&f->ei.i_inline_rwsem, "ext4_page_mkwrite (one lock)");
		return err ? VM_FAULT_SIGBUS : 0;
	default:
		return 0;
	}
}

static int e4i_page_mkwrite(struct mm_fault *vmf)
{
	struct w_file *f = vmf->file;
	struct study_world *w = f->world;
	struct w_page *p = vmf->page;
	uint64_t idx = (uint64_t)(p - f->pages);
	int ret, handle = 0;

	task_trace_note("sb_start_pagefault");
	if (w->pol.inl == SI_RETRY_EVICT || w->pol.inl == SI_RETRY_UNCHECKED) {
		ret = retry_evict(vmf, f, w->pol.inl == SI_RETRY_EVICT);
		if (ret)
			return ret;	/* before invalidate_lock: nothing else is held */
	}
	lock_down_read_at(&f->ei.invalidate_lock, "ext4_page_mkwrite");
	ret = mkwrite_inline(vmf, f);
	if (w->pol.inl == SI_TSO_2025)
		handle_start(w, &handle, "ext4_page_mkwrite");
	if (!ret) {
		lock_page_lock_at(&p->lock, "ext4_page_mkwrite");
		if (w->pol.inl == SI_TSO_2025 && f->ei.inline_flag && tso_switch(w, f, p))
			ret = VM_FAULT_SIGBUS;
		if (!ret) {
			if (!p->uptodate)
				read_folio(w, f, p, 0);
			f->ei.bufs[idx] = 1;	/* block_page_mkwrite: delayed buffers */
			for (unsigned i = 0; i < w->bpp; i++)
				p->bh[i] |= BH_DIRTY;
			p->dirty = 1;
			f->shadow_valid = 0;	/* the mapping writes it now */
			task_trace_note("page %s#%llu: dirty (page_mkwrite)", f->path,
					(unsigned long long)idx);
		}
		lock_page_unlock_at(&p->lock, "ext4_page_mkwrite");
	}
	if (handle)
		handle_stop(w, f, &handle, "ext4_page_mkwrite");
	lock_up_read_at(&f->ei.invalidate_lock, "ext4_page_mkwrite");
	return ret;
}

const struct mm_file_ops e4i_file_ops = {
	.name = "ext4",
	.fault = e4i_fault,
	.page_mkwrite = e4i_page_mkwrite,
	.mmap = e4i_mmap,
};
