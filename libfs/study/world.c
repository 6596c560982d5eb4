/*
 * libfs/study/world.c - the state a study runs on: a disk whose free blocks carry the
 * stale-data stamp, files with a page cache of buffer-head pages, readpage, the block
 * side of prepare_write/commit_write, the file side of mappings (struct mm_file_ops:
 * 2.6.19's filemap_nopage takes the page lock), and ordered-mode commit and crash.
 * Calls libfs/task and libfs/mm.  Invariants: BH_New only on a mapped buffer; a
 * page is uptodate iff every buffer is; the disk changes only at journal commit.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libfs/study/world.h"

/* ---- the disk ---- */

static void poison_block(struct study_world *w, uint32_t b)
{
	uint8_t *d = w->disk + (size_t)b * w->bs;
	char unit[17];

	for (unsigned i = 0; i < w->bs; i += 16) {
		snprintf(unit, sizeof(unit), "STALE%08x!!!", b);
		memcpy(d + i, unit, 16);
	}
}

int w_has_poison(const uint8_t *buf, size_t len, size_t *at)
{
	for (size_t i = 0; i + 16 <= len; i++) {
		if (buf[i] == 'S' && !memcmp(buf + i, "STALE", 5) && !memcmp(buf + i + 13, "!!!", 3)) {
			if (at)
				*at = i;
			return 1;
		}
	}
	return 0;
}

/* ext4_map_blocks with create: the first free block.  Returns block + 1, or 0. */
static uint32_t alloc_block(struct study_world *w)
{
	for (uint32_t b = 1; b < w->nblocks; b++)
		if (!w->bitmap[b]) {
			w->bitmap[b] = 1;
			return b + 1;
		}
	return 0;
}

static uint8_t fill_byte(int fill, uint64_t i)
{
	return fill < 0 ? (uint8_t)((i * 7 + 1) & 0xff) : (uint8_t)fill;
}

/* ---- files and pages ---- */

static void init_locks(struct study_world *w, struct w_file *f)
{
	f->world = w;
	lock_mutex_init(&f->i_rwsem, "i_rwsem");
	for (unsigned i = 0; i < W_MAX_PAGES; i++) {
		struct w_page *p = &f->pages[i];

		snprintf(p->lock_name, sizeof(p->lock_name), "page %s#%u", f->path, i);
		snprintf(p->noread_name, sizeof(p->noread_name), "PG_noread %s#%u", f->path, i);
		lock_page_init(&p->lock, p->lock_name);
		lock_page_init(&p->noread, p->noread_name);
	}
	e4i_init_locks(&f->ei);
}

static int build_file(struct study_world *w, struct w_file *f, const struct study_file *sf)
{
	uint64_t nblk = (sf->size + w->bs - 1) / w->bs;

	snprintf(f->path, sizeof(f->path), "%s", sf->path);
	f->size = sf->size;
	f->shadow_valid = 1;
	for (uint64_t i = 0; i < sf->size; i++)
		f->shadow[i] = sf->sparse ? 0 : fill_byte(sf->fill, i);
	if (sf->inline_data) {
		init_locks(w, f);
		e4i_build(w, f, sf);
		return 0;
	}
	for (uint64_t l = 0; l < nblk && !sf->sparse; l++) {
		uint32_t b = alloc_block(w);

		if (!b)
			return -ENOSPC;
		f->map[l] = b;
		memcpy(w->disk + (size_t)(b - 1) * w->bs, f->shadow + l * w->bs, w->bs);
	}
	memcpy(f->durable_map, f->map, sizeof(f->map));
	f->durable_size = f->size;
	init_locks(w, f);
	return 0;
}

int w_build(struct study_world *w, const struct study *st, unsigned bs, int poison)
{
	int err;

	memset(w, 0, sizeof(*w));
	w->st = st;
	w->bs = bs;
	w->bpp = W_PAGE / bs;
	w->nblocks = (uint32_t)(st->image_size / bs);
	w->disk = calloc(w->nblocks, bs);
	w->bitmap = calloc(w->nblocks, 1);
	if (!w->disk || !w->bitmap) {
		w_free(w);
		return -ENOMEM;
	}
	w->bitmap[0] = 1;		/* the superblock */
	for (uint32_t b = 1; b < w->nblocks && poison; b++)
		poison_block(w, b);
	for (int i = 0; i < st->nfiles; i++) {
		err = build_file(w, &w->files[i], &st->files[i]);
		if (err) {
			w_free(w);
			return err;
		}
	}
	w->nfiles = st->nfiles;
	lock_rwsem_init(&w->handles, "jbd2_handle");
	return 0;
}

int w_clone(struct study_world *dst, const struct study_world *base)
{
	size_t dsize = (size_t)base->nblocks * base->bs;

	/* only the files in use: a whole world is mostly empty file slots */
	memcpy(dst, base, offsetof(struct study_world, files));
	memcpy(dst->files, base->files, sizeof(base->files[0]) * (size_t)base->nfiles);
	dst->nfiles = base->nfiles;
	dst->disk = malloc(dsize);
	dst->bitmap = malloc(base->nblocks);
	memset(dst->mms, 0, sizeof(*dst) - offsetof(struct study_world, mms));
	if (!dst->disk || !dst->bitmap) {
		w_free(dst);
		return -ENOMEM;
	}
	memcpy(dst->disk, base->disk, dsize);
	memcpy(dst->bitmap, base->bitmap, base->nblocks);
	for (int i = 0; i < dst->nfiles; i++)
		init_locks(dst, &dst->files[i]);
	lock_rwsem_init(&dst->handles, "jbd2_handle");
	return 0;
}

void w_free(struct study_world *w)
{
	for (int i = 0; i < TASK_MAX; i++) {
		struct mm *mm = w->mms[i];

		if (!mm)
			continue;
		for (int j = i; j < TASK_MAX; j++)
			if (w->mms[j] == mm)
				w->mms[j] = NULL;
		mm_destroy(mm);
	}
	ew_unmount(w);
	for (int i = 0; i < TASK_MAX; i++)
		for (int j = 0; j < w->tasks[i].nnames; j++)
			free(w->tasks[i].names[j].kbuf);
	free(w->disk);
	free(w->bitmap);
	w->disk = NULL;
	w->bitmap = NULL;
}

struct w_file *w_file_of(struct study_world *w, const char *path)
{
	for (int i = 0; i < w->nfiles; i++)
		if (!strcmp(w->files[i].path, path))
			return &w->files[i];
	return NULL;
}

struct w_page *w_page_get(struct w_file *f, uint64_t index)
{
	if (index >= W_MAX_PAGES)
		return NULL;
	f->pages[index].cached = 1;
	return &f->pages[index];
}

static uint64_t page_index(const struct w_file *f, const struct w_page *p)
{
	return (uint64_t)(p - f->pages);
}

static void note_page(const struct w_file *f, const struct w_page *p, const char *what)
{
	task_trace_note("page %s#%llu: %s", f->path, (unsigned long long)page_index(f, p), what);
}

static void update_uptodate(struct study_world *w, struct w_file *f, struct w_page *p)
{
	for (unsigned i = 0; i < w->bpp; i++)
		if (!(p->bh[i] & BH_UPTODATE))
			return;
	if (!p->uptodate)
		note_page(f, p, "!uptodate -> uptodate");
	p->uptodate = 1;
}

/* ext4_readpage / block_read_full_page: fills the !uptodate buffers from disk (holes
 * and blocks past EOF as zeros).  The caller holds the page lock. */
int w_readpage(struct study_world *w, struct w_file *f, struct w_page *p)
{
	uint64_t first = page_index(f, p) * w->bpp;

	for (unsigned i = 0; i < w->bpp; i++) {
		uint64_t l = first + i;
		uint8_t *d = p->data + (size_t)i * w->bs;

		if (p->bh[i] & BH_UPTODATE)
			continue;
		if (l * w->bs >= f->size || !f->map[l]) {
			memset(d, 0, w->bs);
		} else {
			memcpy(d, w->disk + (size_t)(f->map[l] - 1) * w->bs, w->bs);
			p->bh[i] |= BH_MAPPED;
			if (w_has_poison(d, w->bs, NULL))
				note_page(f, p, "readpage read a block never written (stale)");
		}
		p->bh[i] |= BH_UPTODATE;
	}
	update_uptodate(w, f, p);
	return 0;
}

/* __block_write_begin: maps (allocating: BH_New) every buffer meeting [from, to);
 * new buffers get the parts outside the range zeroed, old !uptodate buffers only
 * partly covered are read. */
void w_prepare(struct study_world *w, struct w_file *f, struct w_page *p, unsigned from,
	       unsigned to)
{
	uint64_t first = page_index(f, p) * w->bpp;

	for (unsigned i = 0; i < w->bpp; i++) {
		unsigned bstart = i * w->bs, bend = bstart + w->bs;
		uint64_t l = first + i;

		if (bend <= from || bstart >= to)
			continue;
		if (!(p->bh[i] & BH_MAPPED)) {
			if (!f->map[l]) {
				f->map[l] = alloc_block(w);
				p->bh[i] |= BH_NEW;
				task_trace_note("page %s#%llu: buffer %u BH_New (block %u)", f->path,
						(unsigned long long)page_index(f, p), i, f->map[l] - 1);
			}
			p->bh[i] |= BH_MAPPED;
		}
		if (p->bh[i] & BH_UPTODATE)
			continue;
		if (p->bh[i] & BH_NEW) {
			if (p->uptodate) {
				p->bh[i] |= BH_UPTODATE;
				continue;
			}
			if (from > bstart)
				memset(p->data + bstart, 0, from - bstart);
			if (to < bend)
				memset(p->data + to, 0, bend - to);
		} else if (from > bstart || to < bend) {
			memcpy(p->data + bstart, w->disk + (size_t)(f->map[l] - 1) * w->bs, w->bs);
			p->bh[i] |= BH_UPTODATE;
		}
	}
}

/* block_commit_write: buffers meeting [from, to) become uptodate and dirty and lose
 * BH_New; i_size grows to cover the commit. */
void w_commit(struct study_world *w, struct w_file *f, struct w_page *p, uint64_t pos,
	      unsigned from, unsigned to)
{
	uint64_t end = page_index(f, p) * W_PAGE + to;

	(void)pos;
	if (to <= from)
		return;
	for (unsigned i = 0; i < w->bpp; i++) {
		unsigned bstart = i * w->bs, bend = bstart + w->bs;

		if (bend <= from || bstart >= to)
			continue;
		p->bh[i] = (p->bh[i] | BH_UPTODATE | BH_DIRTY) & ~BH_NEW;
	}
	if (!p->dirty)
		note_page(f, p, "dirty");
	p->dirty = 1;
	update_uptodate(w, f, p);
	if (end > f->size)
		f->size = end;
}

/* page_zero_new_buffers over [from, to); @page_only: the bytes only (002's -mm). */
void w_zero_new(struct study_world *w, struct w_page *p, unsigned from, unsigned to,
		int page_only)
{
	for (unsigned i = 0; i < w->bpp; i++) {
		unsigned bstart = i * w->bs, bend = bstart + w->bs;
		unsigned s = from > bstart ? from : bstart, e = to < bend ? to : bend;

		if (!(p->bh[i] & BH_NEW) || s >= e)
			continue;
		memset(p->data + s, 0, e - s);
		if (page_only)
			continue;
		p->bh[i] = (p->bh[i] | BH_UPTODATE | BH_DIRTY) & ~BH_NEW;
		p->dirty = 1;
	}
}

/* ---- reading ---- */

/* Anton's flag: a page some writer left unlocked for its copy may not be read in. */
static int wait_noread(struct study_world *w, struct w_page *p, const char *where)
{
	if (w->pol.write_loop != WL_READPAGE_FLAG_2007 || !lock_page_is_locked(&p->noread))
		return 0;
	lock_page_unlock_at(&p->lock, where);
	lock_page_lock_at(&p->noread, where);	/* wait_on_bit */
	lock_page_unlock_at(&p->noread, where);
	return 1;
}

/* Locks @p and brings it uptodate (do_generic_file_read's slow path). */
static void lock_and_read(struct study_world *w, struct w_file *f, struct w_page *p,
			  const char *where)
{
	for (;;) {
		lock_page_lock_at(&p->lock, where);
		if (!wait_noread(w, p, where))
			break;
	}
	if (!p->uptodate)
		w_readpage(w, f, p);
}

ssize_t w_read(struct study_world *w, struct w_file *f, uint64_t off, uint8_t *buf,
	       uint64_t len)
{
	uint64_t done = 0;

	if (off >= f->size)
		return 0;
	if (len > f->size - off)
		len = f->size - off;
	while (done < len) {
		uint64_t pos = off + done;
		unsigned o = pos % W_PAGE, n = W_PAGE - o;
		struct w_page *p = w_page_get(f, pos / W_PAGE);

		if (!p)
			return -EFBIG;
		if (n > len - done)
			n = (unsigned)(len - done);
		if (!p->uptodate) {
			lock_and_read(w, f, p, "do_generic_file_read");
			lock_page_unlock_at(&p->lock, "do_generic_file_read");
		}
		memcpy(buf + done, p->data + o, n);
		done += n;
	}
	return (ssize_t)done;
}

/* What the file holds now (page cache over disk), or after a crash (@durable). */
void w_contents(struct study_world *w, struct w_file *f, uint8_t *buf, int durable)
{
	uint64_t size = durable ? f->durable_size : f->size;
	const uint32_t *map = durable ? f->durable_map : f->map;

	if (!durable && f->ei.inline_flag) {
		e4i_contents(w, f, buf);
		return;
	}
	for (uint64_t l = 0; l * w->bs < size; l++) {
		const struct w_page *p = &f->pages[l / w->bpp];
		unsigned i = (unsigned)(l % w->bpp);
		uint8_t *d = buf + l * w->bs;

		if (!durable && p->cached && (p->bh[i] & BH_UPTODATE))
			memcpy(d, p->data + (size_t)i * w->bs, w->bs);
		else if (map[l])
			memcpy(d, w->disk + (size_t)(map[l] - 1) * w->bs, w->bs);
		else
			memset(d, 0, w->bs);
	}
}

/* ---- the journal (ordered mode) ---- */

/* jbd2 commit in ordered mode: lock out new handles and wait for open ones (the
 * transaction closes: its block maps and sizes are the metadata it carries), write
 * the dirty data of the pages (each under its page lock), then the commit block: the
 * transaction is durable. */
void w_journal_commit(struct study_world *w)
{
	uint32_t maps[STUDY_MAX_FILES][W_MAX_LBLK];
	uint64_t sizes[STUDY_MAX_FILES];

	lock_down_write_at(&w->handles, "jbd2_journal_commit_transaction");
	for (int i = 0; i < w->nfiles; i++) {
		memcpy(maps[i], w->files[i].map, sizeof(maps[i]));
		sizes[i] = w->files[i].size;
	}
	task_trace_note("transaction closed");
	lock_up_write_at(&w->handles, "jbd2_journal_commit_transaction");
	for (int i = 0; i < w->nfiles; i++) {
		struct w_file *f = &w->files[i];

		for (unsigned pi = 0; pi < W_MAX_PAGES; pi++) {
			struct w_page *p = &f->pages[pi];

			if (!p->cached || !p->dirty)
				continue;
			lock_page_lock_at(&p->lock, "journal_submit_data_buffers");
			for (unsigned b = 0; b < w->bpp; b++) {
				uint32_t blk = f->map[pi * w->bpp + b];

				if (!(p->bh[b] & BH_DIRTY) || !blk)
					continue;
				memcpy(w->disk + (size_t)(blk - 1) * w->bs, p->data + (size_t)b * w->bs,
				       w->bs);
				p->bh[b] &= ~BH_DIRTY;
			}
			p->dirty = 0;
			note_page(f, p, "written back (ordered data)");
			lock_page_unlock_at(&p->lock, "journal_submit_data_buffers");
		}
	}
	for (int i = 0; i < w->nfiles; i++) {
		memcpy(w->files[i].durable_map, maps[i], sizeof(maps[i]));
		w->files[i].durable_size = sizes[i];
	}
	task_trace_note("commit block written: transaction durable");
}

/* ---- the file side of a mapping ---- */

/* filemap_nopage as Nick's 2007 series made it: the page is locked while it is
 * found and read (the "8 lock_page (filemap_nopage)" of patch 9/9), under the
 * mmap_lock the fault holds.  Never returns VM_FAULT_RETRY (before 2.6.37). */
static int w_fault(struct mm_fault *vmf)
{
	struct w_file *f = vmf->file;
	struct w_page *p = w_page_get(f, vmf->pgoff);

	if (!p)
		return VM_FAULT_SIGBUS;
	lock_and_read(f->world, f, p, "filemap_nopage");
	lock_page_unlock_at(&p->lock, "filemap_nopage");
	vmf->page = p;
	vmf->data = p->data;
	return 0;
}

/* page_mkwrite: under the page lock, dirty every buffer inside i_size. */
static int w_page_mkwrite(struct mm_fault *vmf)
{
	struct w_file *f = vmf->file;
	struct w_page *p = vmf->page;
	struct study_world *w = f->world;

	lock_page_lock_at(&p->lock, "page_mkwrite");
	w_prepare(w, f, p, 0, W_PAGE);
	w_commit(w, f, p, 0, 0, W_PAGE);
	lock_page_unlock_at(&p->lock, "page_mkwrite");
	return 0;
}

const struct mm_file_ops w_file_ops = {
	.name = "e4lab-study",
	.fault = w_fault,
	.page_mkwrite = w_page_mkwrite,
};
