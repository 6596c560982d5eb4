/*
 * libfs/study/gfs2.c - the study world as an iomap host: block map, punch_hole, page cache with
 * per-block uptodate; calls world.c, libfs/aops/iomap.c, libfs/mm, libfs/task.  Invariant: a
 * block iomap_begin flagged new is never read from disk (its bytes there are stale).
 */
#include <errno.h>
#include <string.h>

#include "libfs/aops/iomap.h"
#include "libfs/study/gfs2.h"

struct gfs2_host {
	struct study_world *w;
	struct w_file *f;
};

struct gfs2_src {
	const struct w_src *s;
};

static uint64_t page_index(const struct w_file *f, const struct w_page *p)
{
	return (uint64_t)(p - f->pages);
}

/* ---- the block map ---- */

static uint32_t alloc_block(struct study_world *w)
{
	for (uint32_t b = 1; b < w->nblocks; b++)
		if (!w->bitmap[b]) {
			w->bitmap[b] = 1;
			return b + 1;
		}
	return 0;
}

static int h_iomap_begin(void *host, uint64_t pos, uint64_t len, struct iomap *im)
{
	struct gfs2_host *h = host;
	struct w_file *f = h->f;
	uint64_t bs = h->w->bs, first = pos / bs, end = (pos + len + bs - 1) / bs, l;
	int mapped;

	if (end > W_MAX_LBLK)
		end = W_MAX_LBLK;
	if (first >= end)
		return -EFBIG;
	mapped = f->map[first] != 0;
	for (l = first; l < end && (f->map[l] != 0) == mapped; l++)
		;
	im->offset = first * bs;
	im->length = (l - first) * bs;
	im->type = IOMAP_MAPPED;
	im->flags = 0;
	im->addr = 0;		/* the world's blocks need not be contiguous: see read_block */
	if (mapped)
		return 0;
	for (uint64_t k = first; k < l; k++)
		if (!(f->map[k] = alloc_block(h->w)))
			return -ENOSPC;
	im->flags = IOMAP_F_NEW;
	task_trace_note("iomap_begin: %s blocks %llu..%llu allocated (IOMAP_F_NEW)", f->path,
			(unsigned long long)first, (unsigned long long)(l - 1));
	return 0;
}

static void h_punch_hole(void *host, uint64_t start, uint64_t end)
{
	struct gfs2_host *h = host;
	struct w_file *f = h->f;
	uint64_t bs = h->w->bs;

	for (uint64_t l = start / bs; l < end / bs && l < W_MAX_LBLK; l++) {
		if (!f->map[l])
			continue;
		h->w->bitmap[f->map[l] - 1] = 0;
		f->map[l] = 0;
	}
	task_trace_note("punch_hole: %s blocks %llu..%llu freed", f->path,
			(unsigned long long)(start / bs), (unsigned long long)(end / bs - 1));
}

/* ---- the page cache ---- */

static void drop_page(struct w_file *f, struct w_page *p)
{
	if (!p->cached)
		return;
	p->cached = p->uptodate = p->dirty = 0;
	memset(p->bh, 0, sizeof(p->bh));
	memset(p->data, 0, sizeof(p->data));
	task_trace_note("page %s#%llu: dropped from the page cache", f->path,
			(unsigned long long)page_index(f, p));
}

/*
 * truncate_pagecache_range over single pages, as truncate_inode_pages_range treats
 * order-0 folios: pages wholly inside [lstart, lend] (lend inclusive) are dropped,
 * dirty or not; the partial pages at either end have their bytes in the range zeroed
 * and stay.  Large folios are not modelled: gfs2 of 5.16-5.18 never enabled them and
 * iomap_write_begin then created single pages.
 */
static void h_truncate_pagecache_range(void *host, uint64_t lstart, uint64_t lend)
{
	struct gfs2_host *h = host;
	struct w_file *f = h->f;

	for (uint64_t i = lstart / W_PAGE; i <= lend / W_PAGE && i < W_MAX_PAGES; i++) {
		struct w_page *p = &f->pages[i];
		uint64_t ps = i * W_PAGE, pe = ps + W_PAGE - 1;
		uint64_t zs = lstart > ps ? lstart : ps, ze = lend < pe ? lend : pe;

		if (!p->cached)
			continue;
		if (zs == ps && ze == pe) {
			drop_page(f, p);
			continue;
		}
		memset(p->data + (zs - ps), 0, (size_t)(ze - zs + 1));
		task_trace_note("page %s#%llu: bytes [%llu, %llu] zeroed by truncate", f->path,
				(unsigned long long)i, (unsigned long long)(zs - ps),
				(unsigned long long)(ze - ps));
	}
}

static int h_grab_page(void *host, uint64_t pos, void **page)
{
	struct gfs2_host *h = host;
	struct w_page *p = w_page_get(h->f, pos / W_PAGE);

	if (!p)
		return -EFBIG;
	lock_page_lock_at(&p->lock, "iomap_write_begin");
	*page = p;
	return 0;
}

static void h_unlock_put(void *host, void *page)
{
	(void)host;
	lock_page_unlock_at(&((struct w_page *)page)->lock, "iomap_write_end");
}

static uint8_t *h_page_data(void *page)
{
	return ((struct w_page *)page)->data;
}

static int h_page_uptodate(void *page)
{
	return ((struct w_page *)page)->uptodate;
}

static int h_block_uptodate(void *page, unsigned blk)
{
	return !!(((struct w_page *)page)->bh[blk] & BH_UPTODATE);
}

static void h_set_block_uptodate(void *host, void *page, unsigned blk)
{
	struct gfs2_host *h = host;
	struct w_page *p = page;
	unsigned i;

	p->bh[blk] |= BH_UPTODATE;
	for (i = 0; i < h->w->bpp && (p->bh[i] & BH_UPTODATE); i++)
		;
	if (i == h->w->bpp && !p->uptodate) {
		p->uptodate = 1;
		task_trace_note("page %s#%llu: !uptodate -> uptodate", h->f->path,
				(unsigned long long)page_index(h->f, p));
	}
}

static void h_read_block(void *host, void *page, unsigned blk, const struct iomap *im)
{
	struct gfs2_host *h = host;
	struct w_page *p = page;
	uint64_t l = page_index(h->f, p) * h->w->bpp + blk;
	uint8_t *d = p->data + (size_t)blk * h->w->bs;

	(void)im;
	memcpy(d, h->w->disk + (size_t)(h->f->map[l] - 1) * h->w->bs, h->w->bs);
	p->bh[blk] |= BH_MAPPED;
	if (w_has_poison(d, h->w->bs, NULL))
		task_trace_note("page %s#%llu: block %llu read from disk: never written (stale)",
				h->f->path, (unsigned long long)page_index(h->f, p),
				(unsigned long long)l);
}

static void h_mark_dirty(void *host, void *page, unsigned from, unsigned to)
{
	struct gfs2_host *h = host;
	struct w_page *p = page;

	for (unsigned i = from / h->w->bs; i * h->w->bs < to; i++)
		p->bh[i] |= BH_DIRTY | BH_MAPPED;
	if (!p->dirty)
		task_trace_note("page %s#%llu: dirty", h->f->path,
				(unsigned long long)page_index(h->f, p));
	p->dirty = 1;
}

static uint64_t h_i_size(void *host)
{
	return ((struct gfs2_host *)host)->f->size;
}

static void h_set_i_size(void *host, uint64_t size)
{
	((struct gfs2_host *)host)->f->size = size;
}

static unsigned h_blocksize(void *host)
{
	return ((struct gfs2_host *)host)->w->bs;
}

static const struct iomap_host_ops gfs2_host_ops = {
	.i_size = h_i_size,
	.set_i_size = h_set_i_size,
	.blocksize = h_blocksize,
	.iomap_begin = h_iomap_begin,
	.punch_hole = h_punch_hole,
	.truncate_pagecache_range = h_truncate_pagecache_range,
	.grab_page = h_grab_page,
	.unlock_put = h_unlock_put,
	.page_data = h_page_data,
	.page_uptodate = h_page_uptodate,
	.block_uptodate = h_block_uptodate,
	.set_block_uptodate = h_set_block_uptodate,
	.read_block = h_read_block,
	.mark_dirty = h_mark_dirty,
};

/* ---- the source: libfs/mm, or a kernel buffer ---- */

static size_t s_copy_atomic(void *src, uint64_t off, void *dst, size_t n)
{
	const struct w_src *s = ((struct gfs2_src *)src)->s;

	if (s->kbuf) {
		memcpy(dst, s->kbuf + off, n);
		return n;
	}
	return s->mm ? mm_copy_from_user_atomic(s->mm, dst, s->addr + off, n) : 0;
}

static size_t s_fault_in(void *src, uint64_t off, size_t n)
{
	const struct w_src *s = ((struct gfs2_src *)src)->s;

	if (s->kbuf)
		return 0;
	return s->mm ? mm_fault_in_readable(s->mm, s->addr + off, n) : n;
}

static const struct iomap_source_ops gfs2_source_ops = {
	.copy_atomic = s_copy_atomic,
	.fault_in = s_fault_in,
	.pagefault_disable = mm_pagefault_disable,
	.pagefault_enable = mm_pagefault_enable,
};

long gfs2_w_write(struct study_world *w, struct w_file *f, uint64_t pos, uint64_t len,
		  const struct w_src *src)
{
	struct gfs2_host host = { w, f };
	struct gfs2_src gsrc = { src };
	struct iomap_write iw = {
		.h = &gfs2_host_ops, .host = &host, .s = &gfs2_source_ops, .src = &gsrc,
		.pol = w->pol.iomap, .page_size = W_PAGE,
	};

	return gfs2_file_buffered_write(&iw, pos, len);
}
