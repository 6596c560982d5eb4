/*
 * libfs/study/wloop.c - the buffered write loop's history, one function per
 * policy (enum study_write_loop), over world.c's page cache and libfs/mm's user
 * copies.  Calls world.c, libfs/mm, libfs/task.  Every page lock, journal handle and
 * fault is a schedule point; the caller holds i_rwsem.
 */
#include <errno.h>
#include <string.h>

#include "libfs/study/gfs2.h"
#include "libfs/study/world.h"

#define W_MAX_RETRIES 32	/* zero-progress rounds before a livelock is reported */

/* ---- the source of the copy ---- */

static size_t src_atomic(const struct w_src *s, uint64_t off, void *dst, size_t n)
{
	if (s->kbuf) {
		memcpy(dst, s->kbuf + off, n);
		return n;
	}
	return s->mm ? mm_copy_from_user_atomic(s->mm, dst, s->addr + off, n) : 0;
}

/* copy_from_user: may fault.  Returns the bytes NOT copied. */
static size_t src_copy(const struct w_src *s, uint64_t off, void *dst, size_t n)
{
	if (s->kbuf) {
		memcpy(dst, s->kbuf + off, n);
		return 0;
	}
	return s->mm ? mm_copy_from_user(s->mm, dst, s->addr + off, n) : n;
}

/* fault_in_readable: the bytes that could not be faulted in. */
static size_t src_fault_in(const struct w_src *s, uint64_t off, size_t n)
{
	if (s->kbuf)
		return 0;
	return s->mm ? mm_fault_in_readable(s->mm, s->addr + off, n) : n;
}

static int src_fault_in_pages(const struct w_src *s, uint64_t off, size_t n)
{
	if (s->kbuf)
		return 0;
	return s->mm ? mm_fault_in_pages_readable(s->mm, s->addr + off, n) : -EFAULT;
}

/* Idea #42's atomic get_user() of one byte in each source page of the chunk. */
static int src_peek_atomic(const struct w_src *s, uint64_t off, size_t n)
{
	uint64_t a = off;
	char c;

	while (a < off + n) {
		if (src_atomic(s, a, &c, 1) != 1)
			return -EFAULT;
		a = ((s->addr + a) & MM_PAGE_MASK) + MM_PAGE_SIZE - s->addr;
	}
	return 0;
}

/* ---- pieces every loop uses ---- */

static struct w_page *lock_dest(struct w_file *f, uint64_t pos, const char *where)
{
	struct w_page *p = w_page_get(f, pos / W_PAGE);

	if (p)
		lock_page_lock_at(&p->lock, where);
	return p;
}

static void unlock_dest(struct w_page *p, const char *where)
{
	lock_page_unlock_at(&p->lock, where);
}

static void handle_start(struct study_world *w)
{
	lock_down_read_at(&w->handles, "journal_start");
}

static void handle_stop(struct study_world *w)
{
	lock_up_read_at(&w->handles, "journal_stop");
}

/*
 * The filesystem's commit of a copy of @copied of the @bytes prepared at @pos
 * (commit_write, later block_write_end), under the run's short_copy, zero_new
 * and commit_range switches.  Returns the bytes committed.
 */
static unsigned write_end(struct study_world *w, struct w_file *f, struct w_page *p,
			  uint64_t pos, unsigned bytes, unsigned copied)
{
	const struct study_policy *pol = &w->pol;
	unsigned from = pos % W_PAGE;

	if (copied < bytes && !p->uptodate &&
	    (pol->short_copy == SC_COPIED_ZERO_FS || pol->short_copy == SC_COPIED_ZERO_GENERIC))
		copied = 0;
	if (copied < bytes) {
		task_trace_note("short copy: %u of %u", copied, bytes);
		if (pol->zero_new == ZN_ALWAYS || (pol->zero_new == ZN_IF_COPIED && copied))
			w_zero_new(w, p, from + copied, from + bytes, 0);
		else if (pol->zero_new == ZN_PAGE_ONLY)
			w_zero_new(w, p, from + copied, from + bytes, 1);
	}
	if (pol->commit_range == CR_BYTES)
		w_commit(w, f, p, pos, from, from + bytes);
	else
		w_commit(w, f, p, pos, from, from + copied);
	return copied;
}

/* prepare_write's half of a chunk: the handle, then the buffers of the range
 * mapped (allocating). */
static void begin_chunk(struct study_world *w, struct w_file *f, struct w_page *p,
			unsigned off, unsigned bytes)
{
	handle_start(w);
	w_prepare(w, f, p, off, off + bytes);
}

/* commit_write's half: write_end, the handle stops, the page is unlocked.
 * Returns the bytes committed. */
static unsigned end_chunk(struct study_world *w, struct w_file *f, struct w_page *p,
			  uint64_t pos, unsigned bytes, unsigned copied)
{
	copied = write_end(w, f, p, pos, bytes, copied);
	handle_stop(w);
	unlock_dest(p, "generic_file_buffered_write");
	return copied;
}

static unsigned chunk(uint64_t pos, uint64_t left)
{
	unsigned bytes = W_PAGE - pos % W_PAGE;

	return bytes > left ? (unsigned)left : bytes;
}

static void check_progress(int *rounds, uint64_t pos)
{
	if (++*rounds > W_MAX_RETRIES)
		task_bug("livelock", "write at %llu made no progress in %d rounds",
			 (unsigned long long)pos, W_MAX_RETRIES);
}

/* ---- the loops ---- */

/* 2.6.19 generic_file_buffered_write: the copy may fault with the page locked. */
static long loop_2619(struct study_world *w, struct w_file *f, uint64_t pos, uint64_t len,
		      const struct w_src *s)
{
	uint64_t done = 0;

	while (done < len) {
		unsigned bytes = chunk(pos + done, len - done), off = (pos + done) % W_PAGE;
		struct w_page *p = lock_dest(f, pos + done, "generic_file_buffered_write");
		unsigned copied;

		if (!p)
			return done ? (long)done : -EFBIG;
		begin_chunk(w, f, p, off, bytes);
		copied = bytes - (unsigned)src_copy(s, done, p->data + off, bytes);
		copied = end_chunk(w, f, p, pos + done, bytes, copied);
		if (!copied)
			return done ? (long)done : -EFAULT;
		done += copied;
	}
	return (long)done;
}

/* -mm of 2006-12 (seed 002): atomic copy; on a short copy the new buffers are zeroed
 * in the page and commit_write covers offset+copied; then fault in and retry. */
static long loop_nick_2006(struct study_world *w, struct w_file *f, uint64_t pos,
			   uint64_t len, const struct w_src *s)
{
	uint64_t done = 0;
	int rounds = 0;

	while (done < len) {
		unsigned bytes = chunk(pos + done, len - done), off = (pos + done) % W_PAGE;
		struct w_page *p = lock_dest(f, pos + done, "generic_file_buffered_write");
		unsigned copied;

		if (!p)
			return done ? (long)done : -EFBIG;
		begin_chunk(w, f, p, off, bytes);
		copied = (unsigned)src_atomic(s, done, p->data + off, bytes);
		copied = end_chunk(w, f, p, pos + done, bytes, copied);
		done += copied;
		if (copied < bytes && src_fault_in(s, done, bytes - copied) == bytes - copied)
			return done ? (long)done : -EFAULT;
		if (!copied)
			check_progress(&rounds, pos + done);
	}
	return (long)done;
}

/* Copies @bytes from pages pinned by get_user_pages through the kernel mapping. */
static void copy_pinned(struct mm_page_ref *refs, uint64_t addr, uint8_t *dst, unsigned n)
{
	for (unsigned done = 0, k = 0; done < n; k++) {
		unsigned o = (addr + done) % MM_PAGE_SIZE, c = MM_PAGE_SIZE - o;

		if (c > n - done)
			c = n - done;
		memmove(dst + done, refs[k].data + o, c);	/* may be the page itself */
		done += c;
	}
}

/* Seed 003 patch 9/9: an uptodate page takes an atomic copy; a !uptodate one is
 * unlocked while get_user_pages pins the source, then relocked and copied into
 * through the kernel address space.  No mm (a kernel thread): -EFAULT. */
static long loop_gup_pin(struct study_world *w, struct w_file *f, uint64_t pos, uint64_t len,
			 const struct w_src *s)
{
	uint64_t done = 0;
	int rounds = 0;

	while (done < len) {
		unsigned bytes = chunk(pos + done, len - done), off = (pos + done) % W_PAGE;
		struct w_page *p = lock_dest(f, pos + done, "generic_file_buffered_write");
		struct mm_page_ref refs[2];
		uint64_t addr = s->addr + done;
		long nr = (long)(((addr + bytes - 1) >> MM_PAGE_SHIFT) - (addr >> MM_PAGE_SHIFT) + 1);
		unsigned copied;
		long got;

		if (!p)
			return done ? (long)done : -EFBIG;
		if (p->uptodate) {
			begin_chunk(w, f, p, off, bytes);
			copied = (unsigned)src_atomic(s, done, p->data + off, bytes);
			copied = end_chunk(w, f, p, pos + done, bytes, copied);
			done += copied;
			if (!copied && src_fault_in_pages(s, done, bytes))
				return done ? (long)done : -EFAULT;
			if (!copied)
				check_progress(&rounds, pos + done);
			continue;
		}
		unlock_dest(p, "generic_file_buffered_write");
		if (!s->mm) {
			task_trace_note("get_user_pages: no mm (kernel thread)");
			return done ? (long)done : -EFAULT;
		}
		lock_down_read_at(&s->mm->mmap_lock, "get_user_pages");
		got = mm_get_user_pages(s->mm, addr, nr, 0, refs, NULL);
		lock_up_read_at(&s->mm->mmap_lock, "get_user_pages");
		if (got < nr) {
			for (long k = 0; k < got; k++)
				mm_put_user_page(&refs[k]);
			return done ? (long)done : -EFAULT;
		}
		lock_page_lock_at(&p->lock, "generic_file_buffered_write");
		begin_chunk(w, f, p, off, bytes);
		copy_pinned(refs, addr, p->data + off, bytes);
		copied = write_end(w, f, p, pos + done, bytes, bytes);
		handle_stop(w);
		unlock_dest(p, "generic_file_buffered_write");
		for (long k = 0; k < nr; k++)
			mm_put_user_page(&refs[k]);
		done += copied;
	}
	return (long)done;
}

/* Seed 003, the fallback Andrew proposed: atomic copy, zero the uncopied tail,
 * commit the whole range (the page becomes uptodate), unlock, fault in, retry. */
static long loop_zero_retry(struct study_world *w, struct w_file *f, uint64_t pos,
			    uint64_t len, const struct w_src *s)
{
	uint64_t done = 0;
	int rounds = 0;

	while (done < len) {
		unsigned bytes = chunk(pos + done, len - done), off = (pos + done) % W_PAGE;
		struct w_page *p = lock_dest(f, pos + done, "generic_file_buffered_write");
		unsigned copied;

		if (!p)
			return done ? (long)done : -EFBIG;
		begin_chunk(w, f, p, off, bytes);
		copied = (unsigned)src_atomic(s, done, p->data + off, bytes);
		if (copied < bytes) {
			memset(p->data + off + copied, 0, bytes - copied);
			task_trace_note("page %s#%llu: zeroed the uncopied tail [%u, %u)", f->path,
					(unsigned long long)((pos + done) / W_PAGE), off + copied,
					off + bytes);
		}
		w_commit(w, f, p, pos + done, off, off + bytes);
		handle_stop(w);
		unlock_dest(p, "generic_file_buffered_write");
		done += copied;
		if (copied < bytes && src_fault_in(s, done, bytes - copied) == bytes - copied)
			return done ? (long)done : -EFAULT;
		if (!copied)
			check_progress(&rounds, pos + done);
	}
	return (long)done;
}

/* Seed 003, Nick's temporary page: the copy that may fault goes into a private page
 * with no lock held; the page-cache page is locked only for a kernel memcpy. */
static long loop_temp_page(struct study_world *w, struct w_file *f, uint64_t pos,
			   uint64_t len, const struct w_src *s)
{
	uint8_t tmp[W_PAGE];
	uint64_t done = 0;

	while (done < len) {
		unsigned bytes = chunk(pos + done, len - done), off = (pos + done) % W_PAGE;
		unsigned copied = bytes - (unsigned)src_copy(s, done, tmp, bytes);
		struct w_page *p;

		if (!copied)
			return done ? (long)done : -EFAULT;
		p = lock_dest(f, pos + done, "generic_file_buffered_write");
		if (!p)
			return done ? (long)done : -EFBIG;
		handle_start(w);
		w_prepare(w, f, p, off, off + copied);
		memcpy(p->data + off, tmp, copied);
		copied = write_end(w, f, p, pos + done, copied, copied);
		handle_stop(w);
		unlock_dest(p, "generic_file_buffered_write");
		done += copied;
	}
	return (long)done;
}

/* Seed 003, Andrew's idea #42: after locking the page, an atomic get_user() of the
 * source; if it faults, unlock, fault in and start over; else a copy that may
 * fault (the source can be unmapped again in between: Hugh's ABBA). */
static long loop_idea42(struct study_world *w, struct w_file *f, uint64_t pos, uint64_t len,
			const struct w_src *s)
{
	uint64_t done = 0;
	int rounds = 0;

	while (done < len) {
		unsigned bytes = chunk(pos + done, len - done), off = (pos + done) % W_PAGE;
		struct w_page *p = lock_dest(f, pos + done, "generic_file_buffered_write");
		unsigned copied;

		if (!p)
			return done ? (long)done : -EFBIG;
		if (src_peek_atomic(s, done, bytes)) {
			unlock_dest(p, "generic_file_buffered_write");
			if (src_fault_in(s, done, bytes) == bytes)
				return done ? (long)done : -EFAULT;
			check_progress(&rounds, pos + done);
			continue;
		}
		begin_chunk(w, f, p, off, bytes);
		copied = bytes - (unsigned)src_copy(s, done, p->data + off, bytes);
		copied = end_chunk(w, f, p, pos + done, bytes, copied);
		if (!copied)
			return done ? (long)done : -EFAULT;
		done += copied;
	}
	return (long)done;
}

/* Seed 003, Anton's page flag: prepare, set the flag, unlock the page, copy (may
 * fault) into a temporary page, relock, copy in, commit, clear the flag.  Readers
 * and, as Nick pointed out they must, faults wait for the flag. */
static long loop_readpage_flag(struct study_world *w, struct w_file *f, uint64_t pos,
			       uint64_t len, const struct w_src *s)
{
	uint8_t tmp[W_PAGE];
	uint64_t done = 0;

	while (done < len) {
		unsigned bytes = chunk(pos + done, len - done), off = (pos + done) % W_PAGE;
		struct w_page *p = lock_dest(f, pos + done, "generic_file_buffered_write");
		unsigned copied;

		if (!p)
			return done ? (long)done : -EFBIG;
		begin_chunk(w, f, p, off, bytes);
		handle_stop(w);
		lock_page_lock_at(&p->noread, "SetPageNoRead");
		unlock_dest(p, "generic_file_buffered_write");
		copied = bytes - (unsigned)src_copy(s, done, tmp, bytes);
		lock_page_lock_at(&p->lock, "generic_file_buffered_write");
		memcpy(p->data + off, tmp, copied);
		handle_start(w);
		copied = write_end(w, f, p, pos + done, bytes, copied);
		handle_stop(w);
		lock_page_unlock_at(&p->noread, "ClearPageNoRead");
		unlock_dest(p, "generic_file_buffered_write");
		if (!copied)
			return done ? (long)done : -EFAULT;
		done += copied;
	}
	return (long)done;
}

/* 2.6.24 (write_begin/write_end) and today's generic_perform_write: prefault, then
 * write_begin, an atomic copy with page faults disabled, write_end; zero progress
 * retries after faulting in (today) or from the prefault at the top (2.6.24). */
static long loop_write_begin(struct study_world *w, struct w_file *f, uint64_t pos,
			     uint64_t len, const struct w_src *s, int today)
{
	uint64_t done = 0;
	unsigned limit = 0;
	int rounds = 0;

	while (done < len) {
		unsigned bytes = chunk(pos + done, len - done), off = (pos + done) % W_PAGE;
		struct w_page *p;
		unsigned copied, raw;

		if (limit && bytes > limit)
			bytes = limit;	/* today: retry with what the short copy got */
		limit = 0;

		if (today ? src_fault_in(s, done, bytes) == bytes : !!src_fault_in_pages(s, done, bytes))
			return done ? (long)done : -EFAULT;
		handle_start(w);
		p = lock_dest(f, pos + done, "write_begin");
		if (!p) {
			handle_stop(w);
			return done ? (long)done : -EFBIG;
		}
		w_prepare(w, f, p, off, off + bytes);
		mm_pagefault_disable();
		copied = raw = (unsigned)src_atomic(s, done, p->data + off, bytes);
		mm_pagefault_enable();
		if (copied < bytes && !p->uptodate && w->pol.short_copy == SC_COPIED_ZERO_GENERIC)
			copied = 0;	/* seed 000: decided in generic_perform_write */
		copied = write_end(w, f, p, pos + done, bytes, copied);
		unlock_dest(p, "write_end");
		handle_stop(w);
		done += copied;
		if (copied)
			continue;
		check_progress(&rounds, pos + done);
		if (today && raw)
			limit = raw;
		else if (today && src_fault_in(s, done, bytes) == bytes)
			return done ? (long)done : -EFAULT;
	}
	return (long)done;
}

/* The defaults a loop implies for the switches the run left unset. */
static void resolve_policy(struct study_policy *p)
{
	if (p->short_copy == SC_DEFAULT)
		p->short_copy = p->write_loop < WL_WRITE_BEGIN_2624 ? SC_COMMIT_AS_IS
								    : SC_COPIED_ZERO_FS;
	if (p->zero_new == ZN_DEFAULT)
		p->zero_new = p->write_loop == WL_NICK_2006 ? ZN_PAGE_ONLY : ZN_ALWAYS;
	if (p->commit_range == CR_DEFAULT)
		p->commit_range = CR_COPIED;
}

long w_write(struct study_world *w, struct w_file *f, uint64_t pos, uint64_t len,
	     const struct w_src *s)
{
	resolve_policy(&w->pol);
	switch (w->pol.write_loop) {
	case WL_PREPARE_COMMIT_2619: return loop_2619(w, f, pos, len, s);
	case WL_NICK_2006: return loop_nick_2006(w, f, pos, len, s);
	case WL_GUP_PIN_2007: return loop_gup_pin(w, f, pos, len, s);
	case WL_ZERO_RETRY_2007: return loop_zero_retry(w, f, pos, len, s);
	case WL_TEMP_PAGE_2007: return loop_temp_page(w, f, pos, len, s);
	case WL_IDEA42_2007: return loop_idea42(w, f, pos, len, s);
	case WL_READPAGE_FLAG_2007: return loop_readpage_flag(w, f, pos, len, s);
	case WL_WRITE_BEGIN_2624: return loop_write_begin(w, f, pos, len, s, 0);
	case WL_TODAY: return loop_write_begin(w, f, pos, len, s, 1);
	case WL_GFS2_IOMAP: return gfs2_w_write(w, f, pos, len, s);
	case WL_NR: break;
	}
	return -EINVAL;
}
