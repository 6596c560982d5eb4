/*
 * libfs/aops/iomap.c - the iomap buffered write (5.16-5.18 fs/iomap/buffered-io.c) and gfs2's
 * side (gfs2_iomap_end, gfs2_file_buffered_write); calls libfs/task and iomap_host_ops only.
 * Invariants: a page is locked only from grab_page to unlock_put; i_size grows only in write_end.
 */
#include <errno.h>
#include <string.h>

#include "libfs/aops/iomap.h"
#include "libfs/task/task.h"

/* ---- policies ---- */

static const char *const punch_names[IOMAP_PUNCH_NR] = { "gfs2", "alloc_end" };
static const char *const trunc_names[IOMAP_TRUNC_NR] = { "pos_len", "pos_len_1" };
static const char *const prefault_names[IOMAP_PREFAULT_NR] = { "part", "whole", "trim" };

static int name_index(const char *const *names, int n, const char *val)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], val))
			return i;
	return -1;
}

int iomap_policy_set(struct iomap_policy *p, const char *key, const char *val)
{
	int v;

	if (!strcmp(key, "iomap_punch")) {
		v = name_index(punch_names, IOMAP_PUNCH_NR, val);
		if (v >= 0)
			p->punch = (enum iomap_punch_end)v;
	} else if (!strcmp(key, "iomap_truncate")) {
		v = name_index(trunc_names, IOMAP_TRUNC_NR, val);
		if (v >= 0)
			p->trunc = (enum iomap_trunc_end)v;
	} else if (!strcmp(key, "prefault")) {
		v = name_index(prefault_names, IOMAP_PREFAULT_NR, val);
		if (v >= 0)
			p->prefault = (enum iomap_prefault)v;
	} else {
		return -ENOENT;
	}
	return v < 0 ? -EINVAL : 0;
}

const char *iomap_policy_values(const char *key)
{
	if (!strcmp(key, "iomap_punch"))
		return "gfs2, alloc_end";
	if (!strcmp(key, "iomap_truncate"))
		return "pos_len, pos_len_1";
	if (!strcmp(key, "prefault"))
		return "part, whole, trim";
	return "";
}

int iomap_policy_str(const struct iomap_policy *p, char *buf, size_t size)
{
	return snprintf(buf, size, ",iomap_punch=%s,iomap_truncate=%s,prefault=%s",
			punch_names[p->punch], trunc_names[p->trunc], prefault_names[p->prefault]);
}

/* ---- __iomap_write_begin / __iomap_write_end ---- */

static uint64_t round_down_to(uint64_t x, uint64_t a)
{
	return x - x % a;
}

static uint64_t round_up_to(uint64_t x, uint64_t a)
{
	return round_down_to(x + a - 1, a);
}

/* iomap_block_needs_zeroing: a block that is not mapped data, was just allocated, or
 * lies at or past EOF is zeroed, never read. */
static int block_needs_zeroing(const struct iomap_write *iw, const struct iomap *im,
			       uint64_t block_start)
{
	return im->type != IOMAP_MAPPED || (im->flags & IOMAP_F_NEW) ||
	       block_start >= iw->h->i_size(iw->host);
}

/*
 * __iomap_write_begin on the locked @page for [pos, pos + len): every block the
 * range only partly covers that is not uptodate is zeroed outside the range or read;
 * blocks wholly covered are left for the copy.
 */
static void iomap_prepare_blocks(const struct iomap_write *iw, const struct iomap *im,
				 void *page, uint64_t pos, unsigned len)
{
	unsigned bs = iw->h->blocksize(iw->host), ps = iw->page_size;
	unsigned from = (unsigned)(pos % ps), to = from + len;
	uint64_t page_pos = pos - from;
	uint8_t *data = iw->h->page_data(page);

	if (iw->h->page_uptodate(page))
		return;
	for (unsigned b = from / bs; b * bs < to; b++) {
		unsigned bstart = b * bs, bend = bstart + bs;

		if (iw->h->block_uptodate(page, b) || (from <= bstart && to >= bend))
			continue;
		if (block_needs_zeroing(iw, im, page_pos + bstart)) {
			if (from > bstart)
				memset(data + bstart, 0, from - bstart);
			if (to < bend)
				memset(data + to, 0, bend - to);
		} else {
			iw->h->read_block(iw->host, page, b, im);
		}
		iw->h->set_block_uptodate(iw->host, page, b);
	}
}

/* __iomap_write_end: a short copy into a page that is not uptodate may have left
 * holes in blocks nobody read, so it commits nothing (returns 0); otherwise the
 * range becomes uptodate and dirty.  Returns the bytes committed. */
static unsigned iomap_commit(const struct iomap_write *iw, void *page, uint64_t pos,
			     unsigned len, unsigned copied)
{
	unsigned bs = iw->h->blocksize(iw->host), from = (unsigned)(pos % iw->page_size);

	if (copied < len && !iw->h->page_uptodate(page)) {
		task_trace_note("__iomap_write_end: short copy %u of %u into a !uptodate page: 0",
				copied, len);
		return 0;
	}
	for (unsigned b = from / bs; b * bs < from + len; b++)
		iw->h->set_block_uptodate(iw->host, page, b);
	if (copied)
		iw->h->mark_dirty(iw->host, page, from, from + copied);
	return copied;
}

/*
 * iomap_write_failed: drop what a failed write put in the page cache past EOF, from
 * max(pos, i_size) through an inclusive end (truncate_pagecache_range's lend is the
 * last byte: whole pages in the range are dropped, partial ones zeroed).  The end is
 * the policy: pos + len (ae259a9c8593) or pos + len - 1 (b71450e2cc4b).  Nothing is
 * done unless pos + len > i_size, so the extra byte at pos + len always lies past
 * EOF; both ends give the same file contents.  The patch's own review says so
 * ("we're punching beyond the end of the file", Matthew Wilcox, 3 May 2022).
 * Callers: iomap_write_begin's failure path and iomap_write_end.
 */
static void iomap_write_failed(const struct iomap_write *iw, uint64_t pos, unsigned len)
{
	uint64_t i_size = iw->h->i_size(iw->host);
	uint64_t start = pos > i_size ? pos : i_size;
	uint64_t lend = iw->pol.trunc == IOMAP_TRUNC_POS_LEN ? pos + len : pos + len - 1;

	if (pos + len <= i_size)
		return;
	task_trace_note("iomap_write_failed: truncate_pagecache_range(%llu, %llu)",
			(unsigned long long)start, (unsigned long long)lend);
	iw->h->truncate_pagecache_range(iw->host, start, lend);
}

/* iomap_write_end (5.16-5.18): commit, grow i_size, unlock; a write_end that took
 * less than @len calls iomap_write_failed for the whole chunk [pos, pos + len), not
 * just the failed tail (d74999c8c060 narrowed it later).  i_size already covers what
 * was committed, so the truncate starts after it.  Returns the bytes committed. */
static unsigned iomap_write_end(const struct iomap_write *iw, void *page, uint64_t pos,
				unsigned len, unsigned copied)
{
	unsigned ret = iomap_commit(iw, page, pos, len, copied);

	if (pos + ret > iw->h->i_size(iw->host))
		iw->h->set_i_size(iw->host, pos + ret);
	iw->h->unlock_put(iw->host, page);
	if (ret < len)
		iomap_write_failed(iw, pos, len);
	return ret;
}

/* ---- iomap_write_iter ---- */

#define IOMAP_MAX_RETRIES 32	/* zero-progress rounds before a livelock is reported */

/* fault_in_iov_iter_readable under the prefault policy: the bytes the chunk keeps,
 * 0 for -EFAULT. */
static size_t prefault_chunk(const struct iomap_write *iw, uint64_t src_off, size_t bytes)
{
	size_t missed = iw->s->fault_in(iw->src, src_off, bytes);

	if (missed == bytes) {
		if (iw->pol.prefault == IOMAP_PREFAULT_TRIM)
			task_trace_note("WARN_ON_ONCE(!bytes) of Linus's test patch: nothing "
					"of the chunk is resident");
		return 0;
	}
	if (iw->pol.prefault == IOMAP_PREFAULT_TRIM)
		return bytes - missed;
	return bytes;
}

/*
 * iomap_write_iter over the extent @im from @pos, @length bytes: per page, prefault,
 * write_begin, atomic copy, write_end; a zero-progress write_end retries the chunk
 * cut to what was copied.  Returns the bytes written, or -errno if none were.
 */
static long iomap_write_iter(const struct iomap_write *iw, const struct iomap *im,
			     uint64_t pos, uint64_t length, uint64_t src_off)
{
	unsigned ps = iw->page_size;
	long written = 0, status = 0;
	int rounds = 0;

	while (length) {
		unsigned offset = (unsigned)(pos % ps);
		size_t bytes = ps - offset, copied;
		void *page;

		if (bytes > length)
			bytes = length;
again:
		if (!(bytes = prefault_chunk(iw, src_off, bytes))) {
			status = -EFAULT;
			break;
		}
		status = iw->h->grab_page(iw->host, pos, &page);
		if (status) {
			iomap_write_failed(iw, pos, (unsigned)bytes);
			break;
		}
		iomap_prepare_blocks(iw, im, page, pos, (unsigned)bytes);
		copied = iw->s->copy_atomic(iw->src, src_off, iw->h->page_data(page) + offset, bytes);
		status = iomap_write_end(iw, page, pos, (unsigned)bytes, (unsigned)copied);
		if (status == 0) {
			if (++rounds > IOMAP_MAX_RETRIES)
				task_bug("livelock", "iomap write at %llu made no progress in %d rounds",
					 (unsigned long long)pos, IOMAP_MAX_RETRIES);
			if (copied)
				bytes = copied;
			goto again;
		}
		rounds = 0;
		pos += (uint64_t)status;
		src_off += (uint64_t)status;
		written += status;
		length -= (uint64_t)status;
	}
	return written ? written : status;
}

/* ---- gfs2 ---- */

/*
 * gfs2_iomap_end: after a short write into new blocks, the blocks from the end of
 * what was written to the end of the allocation are punched (and dropped from the
 * page cache).  Where that end lies is the policy (d031a8866e70).
 */
static void gfs2_iomap_end(const struct iomap_write *iw, const struct iomap *im,
			   uint64_t pos, uint64_t length, uint64_t written)
{
	uint64_t bs = iw->h->blocksize(iw->host), hstart, hend;

	if (written == length || !(im->flags & IOMAP_F_NEW))
		return;
	hstart = round_up_to(pos + written, bs);
	if (iw->pol.punch == IOMAP_PUNCH_GFS2)
		hend = round_down_to(pos + length, bs);
	else
		hend = im->offset + im->length;
	task_trace_note("gfs2_iomap_end: wrote %llu of %llu, allocation [%llu, %llu), punch "
			"[%llu, %llu)", (unsigned long long)written, (unsigned long long)length,
			(unsigned long long)im->offset,
			(unsigned long long)(im->offset + im->length),
			(unsigned long long)hstart, (unsigned long long)(hstart < hend ? hend : hstart));
	if (hstart >= hend)
		return;
	iw->h->truncate_pagecache_range(iw->host, hstart, hend - 1);
	iw->h->punch_hole(iw->host, hstart, hend);
}

long iomap_file_buffered_write(const struct iomap_write *iw, uint64_t pos, uint64_t len,
			       uint64_t src_off)
{
	uint64_t start = pos;
	long ret = 0;

	while (len) {
		struct iomap im;
		uint64_t length;

		ret = iw->h->iomap_begin(iw->host, pos, len, &im);
		if (ret)
			break;
		length = im.offset + im.length - pos;
		if (length > len)
			length = len;	/* iomap_length: clipped to the request */
		ret = iomap_write_iter(iw, &im, pos, length, src_off + (pos - start));
		gfs2_iomap_end(iw, &im, pos, length, ret > 0 ? (uint64_t)ret : 0);
		if (ret <= 0)
			break;
		pos += (uint64_t)ret;
		len -= (uint64_t)ret;
	}
	return pos > start ? (long)(pos - start) : ret;
}

/* gfs2's fault-in-and-retry rounds before a write gives up (should_fault_in_pages). */
#define GFS2_MAX_RETRIES 8

long gfs2_file_buffered_write(const struct iomap_write *iw, uint64_t pos, uint64_t len)
{
	int disable = iw->pol.prefault != IOMAP_PREFAULT_WHOLE;
	uint64_t done = 0;
	long ret = 0;

	for (int round = 0; done < len && round < GFS2_MAX_RETRIES; round++) {
		if (disable)
			iw->s->pagefault_disable();
		ret = iomap_file_buffered_write(iw, pos + done, len - done, done);
		if (disable)
			iw->s->pagefault_enable();
		if (ret > 0)
			done += (uint64_t)ret;
		if (done == len || !disable)
			break;
		/* gfs2_holder_allow_demote; fault in with faults enabled; retry */
		task_trace_note("gfs2: short write (%llu of %llu): fault in and retry",
				(unsigned long long)done, (unsigned long long)len);
		if (iw->s->fault_in(iw->src, done, len - done) == len - done)
			break;
	}
	return done ? (long)done : ret;
}
