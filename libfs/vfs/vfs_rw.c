/*
 * libfs/vfs: the buffered write loop (generic_perform_write) and the read path.
 * Calls libfs/aops and libfs/pcache (and disk for i_size).  Invariants: a page
 * is locked only between write_begin and write_end, and the source is touched
 * only by copy_atomic and fault_in, never while a fault could need that lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libfs/vfs/vfs.h"
#include "libfs/aops/aops.h"
#include "libfs/task/task.h"

#define VFS_RA_MIN_PAGES	32	/* 128 KiB: readahead window floor */
#define VFS_RA_MAX_PAGES	(AOPS_MAX_IO >> PC_PAGE_SHIFT)

/* ---- iovec iterator ---- */

struct vfs_iter {
	const struct iovec *iov;
	int nr;
	int idx;			/* current segment */
	size_t off;			/* offset in it */
	size_t count;			/* bytes left */
};

static void iter_init(struct vfs_iter *it, const struct iovec *iov, int nr)
{
	int i;

	it->iov = iov;
	it->nr = nr;
	it->idx = 0;
	it->off = 0;
	it->count = 0;
	for (i = 0; i < nr; i++)
		it->count += iov[i].iov_len;
	while (it->idx < it->nr && it->iov[it->idx].iov_len == 0)
		it->idx++;
}

static void iter_advance(struct vfs_iter *it, size_t n)
{
	it->count -= n;
	while (n) {
		size_t left = it->iov[it->idx].iov_len - it->off;
		size_t step = n < left ? n : left;

		it->off += step;
		n -= step;
		if (it->off == it->iov[it->idx].iov_len) {
			it->idx++;
			it->off = 0;
		}
	}
	while (it->idx < it->nr && it->iov[it->idx].iov_len == 0)
		it->idx++;
}

/* ---- the source model: plain memory unless a vfs_uaccess_ops is given ---- */

struct vfs_source {
	const struct vfs_uaccess_ops *ops;
	void *arg;
};

/*
 * The walk every source operation shares: @seg is applied to the next @bytes of
 * @it segment by segment, without advancing @it, and returns how much of its
 * segment it managed; a short one ends the walk.  Returns the bytes managed.
 * Inline, so that each caller's @seg is a direct call.
 */
typedef size_t (*vfs_seg_fn)(const struct vfs_source *src, char *dst, const char *from,
			     size_t n);

static inline size_t walk_iter(const struct vfs_source *src, void *dst,
			       const struct vfs_iter *it, size_t bytes, vfs_seg_fn seg)
{
	size_t done = 0, off = it->off;
	int idx = it->idx;

	while (done < bytes && idx < it->nr) {
		const char *from = (const char *)it->iov[idx].iov_base + off;
		size_t n = it->iov[idx].iov_len - off, got;

		if (n > bytes - done)
			n = bytes - done;
		got = n ? seg(src, dst ? (char *)dst + done : NULL, from, n) : 0;
		done += got;
		if (got < n)
			break;
		idx++;
		off = 0;
	}
	return done;
}

static size_t seg_copy_atomic(const struct vfs_source *src, char *dst, const char *from,
			      size_t n)
{
	if (!src->ops) {
		memcpy(dst, from, n);
		return n;
	}
	return src->ops->copy_from_user_atomic(src->arg, dst, from, n);
}

static size_t seg_fault_in(const struct vfs_source *src, char *dst, const char *from, size_t n)
{
	(void)dst;
	return n - src->ops->fault_in_readable(src->arg, from, n);
}

static size_t seg_copy(const struct vfs_source *src, char *dst, const char *from, size_t n)
{
	return n - src->ops->copy_from_user(src->arg, dst, from, n);
}

static size_t seg_pin(const struct vfs_source *src, char *dst, const char *from, size_t n)
{
	(void)dst;
	return src->ops->pin_pages(src->arg, from, n) ? 0 : n;
}

/* copy_page_from_iter_atomic: copies up to @bytes without advancing @it;
 * stops at the first short segment copy. */
static size_t copy_from_iter_atomic(const struct vfs_source *src, void *dst,
				    const struct vfs_iter *it, size_t bytes)
{
	return walk_iter(src, dst, it, bytes, seg_copy_atomic);
}

/* fault_in_iov_iter_readable: returns the bytes of the next @bytes that could
 * not be made readable. */
static size_t fault_in_iter(const struct vfs_source *src, const struct vfs_iter *it,
			    size_t bytes)
{
	if (!src->ops)
		return 0;
	return bytes - walk_iter(src, NULL, it, bytes, seg_fault_in);
}

/* ---- write ---- */

static uint64_t max_file_bytes(const struct disk_inode *inode)
{
	return (uint64_t)UINT32_MAX * inode->dfs->block_size;
}

ssize_t vfs_perform_write(struct disk_inode *inode, const struct iovec *iov, int iovcnt,
			  uint64_t pos, const struct vfs_uaccess_ops *ua, void *ua_arg)
{
	struct vfs_source src = { ua, ua_arg };
	struct aops_write_ctx wc;
	struct vfs_iter it;
	ssize_t written = 0;
	int status = 0, finish;
	unsigned retry_bytes = 0;	/* what a refused short copy did copy */

	iter_init(&it, iov, iovcnt);
	if (it.count && pos >= max_file_bytes(inode))
		return -EFBIG;
	if (it.count > max_file_bytes(inode) - pos)
		it.count = max_file_bytes(inode) - pos;
	aops_write_ctx_init(&wc, inode, pos, it.count);
	while (it.count) {
		unsigned offset = pos & (PC_PAGE_SIZE - 1);
		unsigned bytes = PC_PAGE_SIZE - offset;
		struct pc_page *page;
		void *fsdata;
		size_t copied;

		if (bytes > it.count)
			bytes = (unsigned)it.count;
		if (retry_bytes && bytes > retry_bytes)
			bytes = retry_bytes;
		retry_bytes = 0;
		/* Bring the source in first: the copy below runs under the page lock
		 * with faults disabled. */
		if (fault_in_iter(&src, &it, bytes) == bytes) {
			status = -EFAULT;
			break;
		}
		status = aops_write_begin(inode, pos, bytes, &page, &fsdata, &wc);
		if (status)
			break;
		copied = copy_from_iter_atomic(&src, page->data + offset, &it, bytes);
		status = aops_write_end(inode, pos, bytes, (unsigned)copied, page, fsdata);
		if (status < 0)
			break;
		if (status == 0) {
			/*
			 * Zero progress: write_end refused a short copy (a !uptodate
			 * page).  As generic_perform_write, retry with just the bytes
			 * that did copy: the rest of the source may stay unreadable
			 * however often it is faulted in.  Nothing copied: the page is
			 * unlocked now, so faulting the source in cannot deadlock on
			 * it; retry, or give up if nothing can be faulted in.
			 */
			if (copied) {
				retry_bytes = (unsigned)copied;
				continue;
			}
			if (fault_in_iter(&src, &it, bytes) == bytes) {
				status = -EFAULT;
				break;
			}
			continue;
		}
		iter_advance(&it, (size_t)status);
		pos += (uint64_t)status;
		written += status;
		status = 0;
	}
	finish = aops_write_ctx_finish(&wc, inode);
	if (!status)
		status = finish;
	return written ? written : status;
}

/* ---- the historical loops (enum vfs_write_loop) ---- */

/* copy_from_user over the iterator: may fault (ops->copy_from_user); without that
 * op the atomic copy stands in.  Returns the bytes copied, without advancing. */
static size_t copy_from_iter(const struct vfs_source *src, void *dst,
			     const struct vfs_iter *it, size_t bytes)
{
	if (!src->ops || !src->ops->copy_from_user)
		return copy_from_iter_atomic(src, dst, it, bytes);
	return walk_iter(src, dst, it, bytes, seg_copy);
}

/* get_user_pages of the next @bytes of the source (segment by segment). */
static int pin_iter(const struct vfs_source *src, const struct vfs_iter *it, size_t bytes)
{
	size_t want = bytes < it->count ? bytes : it->count;

	if (!src->ops || !src->ops->pin_pages)
		return 0;
	return walk_iter(src, NULL, it, want, seg_pin) < want ? -EFAULT : 0;
}

/* Idea #42's atomic get_user() of the first source byte. */
static int peek_iter(const struct vfs_source *src, const struct vfs_iter *it)
{
	char c;

	return copy_from_iter_atomic(src, &c, it, 1) == 1 ? 0 : -EFAULT;
}

static int page_is_uptodate(struct disk_inode *inode, uint64_t index)
{
	struct pc_mapping *m;
	struct pc_page *p;
	int up;

	if (aops_mapping(inode, &m))
		return 0;
	p = pc_find_get_page(m, index);
	if (!p)
		return 0;
	up = !!(p->flags & PC_PG_UPTODATE);
	pc_put_page(p);
	return up;
}

/*
 * The switches of one historical run, resolved as the model resolves them
 * (libfs/study/wloop.c, resolve_policy): before 2.6.24 a short copy was
 * committed as it was; the -mm loop of 2006-12 zeroed the new buffers in the page
 * only; every loop committed the bytes copied.
 */
struct hist_policy {
	enum vfs_write_loop wl;
	enum vfs_short_copy short_copy;
	struct aops_end_policy end;	/* what write_end is told */
};

static void resolve_policy(const struct vfs_policy *pol, struct hist_policy *hp)
{
	static const enum aops_zero_new zn[VFS_ZN_NR] = {
		[VFS_ZN_ALWAYS] = AOPS_ZN_ALWAYS,
		[VFS_ZN_IF_COPIED] = AOPS_ZN_IF_COPIED,
		[VFS_ZN_PAGE_ONLY] = AOPS_ZN_PAGE_ONLY,
	};
	enum vfs_write_loop wl = pol->write_loop;
	enum vfs_zero_new z = pol->zero_new < VFS_ZN_NR ? pol->zero_new : VFS_ZN_DEFAULT;

	memset(hp, 0, sizeof(*hp));
	hp->wl = wl;
	hp->short_copy = pol->short_copy < VFS_SC_NR ? pol->short_copy : VFS_SC_DEFAULT;
	if (hp->short_copy == VFS_SC_DEFAULT)
		hp->short_copy = wl == VFS_WL_WRITE_BEGIN_2624 || wl == VFS_WL_TODAY ?
				 VFS_SC_COPIED_ZERO_FS : VFS_SC_COMMIT_AS_IS;
	if (z == VFS_ZN_DEFAULT)
		z = wl == VFS_WL_NICK_2006 ? VFS_ZN_PAGE_ONLY : VFS_ZN_ALWAYS;
	hp->end.zero_new = zn[z];
	/* COPIED_ZERO_GENERIC is applied by the loop, before write_end. */
	hp->end.copied_zero = hp->short_copy == VFS_SC_COPIED_ZERO_FS;
	hp->end.commit_bytes = pol->commit_range == VFS_CR_BYTES;
	/* 2.6.19 trimmed blocks past i_size only after a failed prepare_write: the
	 * 2006 loop leaves what a short copy allocated (and maps page by page). */
	hp->end.keep_blocks = wl == VFS_WL_NICK_2006;
}

/* Today's loop and switches as vfs_perform_write runs them. */
static int is_today(const struct hist_policy *hp)
{
	return hp->wl == VFS_WL_TODAY && hp->short_copy == VFS_SC_COPIED_ZERO_FS &&
	       hp->end.zero_new == AOPS_ZN_ALWAYS && !hp->end.commit_bytes;
}

/*
 * Anton's page flag (seed 003): with PG_noread keeping readpage and the fault
 * path out, the locked @page is unlocked for a copy that may fault (into @tmp),
 * then relocked for a kernel memcpy.  A source that maps @page itself makes the
 * fault wait for this very writer: the deadlock Nick predicted.
 */
static int copy_with_noread(const struct vfs_source *src, const struct vfs_iter *it,
			    struct pc_page *page, unsigned offset, unsigned bytes,
			    uint8_t *tmp, size_t *copied)
{
	int err = pc_set_page_noread(page);

	if (err)
		return err;
	pc_unlock_page(page);
	*copied = copy_from_iter(src, tmp, it, bytes);
	pc_lock_page(page);
	memcpy(page->data + offset, tmp, *copied);
	pc_clear_page_noread(page);
	return 0;
}

/* One chunk under a historical loop: the source work before write_begin, the copy
 * inside it.  *raw gets what the copy itself got.  Returns the bytes write_end
 * accepted or -errno. */
/* 2.6.24's fault_in_pages_readable: the first and the last byte of the range
 * must be readable.  Returns 0 or -EFAULT. */
static int fault_in_ends(const struct vfs_source *src, const struct vfs_iter *it,
			 size_t bytes)
{
	struct vfs_iter last = *it;

	if (fault_in_iter(src, it, 1))
		return -EFAULT;
	iter_advance(&last, bytes - 1);
	return fault_in_iter(src, &last, 1) ? -EFAULT : 0;
}

/* Andrew's fallback (seed 003): the uncopied tail is zeroed and the whole range
 * committed, so the page is uptodate whatever the copy did. */
static int write_end_zero_tail(struct disk_inode *inode, const struct hist_policy *hp,
			       uint64_t pos, unsigned bytes, size_t copied,
			       struct pc_page *page, void *fsdata)
{
	struct aops_end_policy ep = hp->end;
	unsigned offset = pos & (PC_PAGE_SIZE - 1);

	if (copied < bytes)
		task_trace_note("page #%llu: zeroed the uncopied tail [%zu, %u)",
				(unsigned long long)page->index, offset + copied, offset + bytes);
	memset(page->data + offset + copied, 0, bytes - copied);
	ep.copied_zero = 0;
	ep.commit_bytes = 1;
	return aops_write_end_policy(inode, pos, bytes, (unsigned)copied, page, fsdata, &ep);
}

static int write_chunk_hist(struct disk_inode *inode, const struct hist_policy *hp,
			    const struct vfs_source *src, const struct vfs_iter *it,
			    uint64_t pos, unsigned bytes, struct aops_write_ctx *wc, uint8_t *tmp,
			    size_t *raw)
{
	enum vfs_write_loop wl = hp->wl;
	unsigned offset = pos & (PC_PAGE_SIZE - 1);
	struct pc_page *page;
	void *fsdata;
	size_t copied = 0;
	int status;

	*raw = 0;
	if (wl == VFS_WL_WRITE_BEGIN_2624 && fault_in_ends(src, it, bytes))
		return -EFAULT;
	if (wl == VFS_WL_TODAY && fault_in_iter(src, it, bytes) == bytes)
		return -EFAULT;
	if (wl == VFS_WL_TEMP_PAGE_2007) {
		copied = copy_from_iter(src, tmp, it, bytes);
		if (!copied)
			return -EFAULT;
		bytes = (unsigned)copied;
	}
	if (wl == VFS_WL_GUP_PIN_2007 && !page_is_uptodate(inode, pos >> PC_PAGE_SHIFT) &&
	    pin_iter(src, it, bytes))
		return -EFAULT;
	/* prepare_write mapped page by page before write_begin's time */
	status = aops_write_begin(inode, pos, bytes, &page, &fsdata,
				 wl == VFS_WL_NICK_2006 ? NULL : wc);
	if (status)
		return status;
	switch (wl) {
	case VFS_WL_TEMP_PAGE_2007:
		memcpy(page->data + offset, tmp, copied);
		break;
	case VFS_WL_PREPARE_COMMIT_2619:
		copied = copy_from_iter(src, page->data + offset, it, bytes);
		break;
	case VFS_WL_IDEA42_2007:
		if (peek_iter(src, it))
			break;
		/* another CPU (kswapd) may unmap the source between the two */
		task_yield_point("idea42: get_user done");
		copied = copy_from_iter(src, page->data + offset, it, bytes);
		break;
	case VFS_WL_READPAGE_FLAG_2007:
		status = copy_with_noread(src, it, page, offset, bytes, tmp, &copied);
		break;
	default:
		copied = copy_from_iter_atomic(src, page->data + offset, it, bytes);
		break;
	}
	*raw = copied;
	/* Seed 000: generic_perform_write refuses the short copy itself. */
	if (hp->short_copy == VFS_SC_COPIED_ZERO_GENERIC && copied < bytes &&
	    !(page->flags & PC_PG_UPTODATE))
		copied = 0;
	if (status) {
		aops_write_end_policy(inode, pos, bytes, 0, page, fsdata, &hp->end);
		return status;
	}
	if (wl == VFS_WL_ZERO_RETRY_2007)
		return write_end_zero_tail(inode, hp, pos, bytes, copied, page, fsdata);
	return aops_write_end_policy(inode, pos, bytes, (unsigned)copied, page, fsdata, &hp->end);
}

/*
 * The loop around write_chunk_hist.  Zero progress faults the source in and
 * retries (today's loop under switches first retries with what the short copy
 * got, as the model's does).  The 2006 loop faults the rest of the chunk in
 * after any short copy and stops if that fails.
 */
static ssize_t perform_write_hist(struct disk_inode *inode, const struct iovec *iov,
				  int iovcnt, uint64_t pos, const struct vfs_source *src,
				  const struct hist_policy *hp)
{
	struct aops_write_ctx wc;
	struct vfs_iter it;
	ssize_t written = 0;
	uint8_t *tmp = NULL;
	unsigned limit = 0;
	int status = 0, finish, rounds = 0;

	iter_init(&it, iov, iovcnt);
	if (it.count && pos >= max_file_bytes(inode))
		return -EFBIG;
	if (it.count > max_file_bytes(inode) - pos)
		it.count = max_file_bytes(inode) - pos;
	if ((hp->wl == VFS_WL_TEMP_PAGE_2007 || hp->wl == VFS_WL_READPAGE_FLAG_2007) &&
	    !(tmp = malloc(PC_PAGE_SIZE)))
		return -ENOMEM;
	aops_write_ctx_init(&wc, inode, pos, it.count);
	while (it.count) {
		unsigned bytes = PC_PAGE_SIZE - (pos & (PC_PAGE_SIZE - 1));
		size_t raw;

		if (bytes > it.count)
			bytes = (unsigned)it.count;
		if (limit && bytes > limit)
			bytes = limit;
		limit = 0;
		status = write_chunk_hist(inode, hp, src, &it, pos, bytes, &wc, tmp, &raw);
		if (status < 0)
			break;
		if (status == 0) {
			/* zero progress: fault the source in (outside the page lock) */
			if (++rounds > 32) {
				status = -EFAULT;
				break;
			}
			if (hp->wl == VFS_WL_TODAY && raw) {
				limit = (unsigned)raw;
				continue;
			}
			if (hp->wl == VFS_WL_WRITE_BEGIN_2624)
				continue;	/* its prefault decides */
			if (fault_in_iter(src, &it, bytes) == bytes) {
				status = -EFAULT;
				break;
			}
			continue;
		}
		rounds = 0;
		iter_advance(&it, (size_t)status);
		pos += (uint64_t)status;
		written += status;
		if ((hp->wl == VFS_WL_NICK_2006 || hp->wl == VFS_WL_ZERO_RETRY_2007) &&
		    (unsigned)status < bytes &&
		    fault_in_iter(src, &it, bytes - status) == bytes - (unsigned)status) {
			status = -EFAULT;
			break;
		}
		status = 0;
	}
	finish = aops_write_ctx_finish(&wc, inode);
	if (!status)
		status = finish;
	free(tmp);
	return written ? written : status;
}

ssize_t vfs_perform_write_policy(struct disk_inode *inode, const struct iovec *iov,
				 int iovcnt, uint64_t pos, const struct vfs_uaccess_ops *ua,
				 void *ua_arg, const struct vfs_policy *pol)
{
	struct vfs_source src = { ua, ua_arg };
	struct hist_policy hp;

	if (!pol || pol->write_loop >= VFS_WL_NR)
		return vfs_perform_write(inode, iov, iovcnt, pos, ua, ua_arg);
	resolve_policy(pol, &hp);
	if (is_today(&hp))
		return vfs_perform_write(inode, iov, iovcnt, pos, ua, ua_arg);
	return perform_write_hist(inode, iov, iovcnt, pos, &src, &hp);
}

ssize_t vfs_write_iter(struct disk_inode *inode, const struct iovec *iov, int iovcnt,
		       uint64_t pos)
{
	return vfs_perform_write(inode, iov, iovcnt, pos, NULL, NULL);
}

/* ---- read ---- */

/* Creates and reads up to @want pages from @index on (stopping at a cached one);
 * returns the first page referenced and uptodate in *out. */
static int readahead(struct disk_inode *inode, struct pc_mapping *m, uint64_t index,
		     uint64_t want, struct pc_page **out)
{
	struct pc_page *pages[VFS_RA_MAX_PAGES];
	unsigned n = 0, k;
	int err = 0;

	if (want > VFS_RA_MAX_PAGES)
		want = VFS_RA_MAX_PAGES;
	if (want > m->cache->max_pages / 4)
		want = m->cache->max_pages / 4;
	if (!want)
		want = 1;
	while (n < want) {
		err = pc_add_new_page(m, index + n, &pages[n]);
		if (err)
			break;
		n++;
	}
	if (!n)
		return err;
	err = aops_readahead(inode, pages, n);
	for (k = 0; k < n; k++) {
		pc_unlock_page(pages[k]);
		if (k)
			pc_put_page(pages[k]);
	}
	if (err) {
		pc_put_page(pages[0]);
		return err;
	}
	*out = pages[0];
	return 0;
}

static int find_uptodate_page(struct disk_inode *inode, struct pc_mapping *m,
			      uint64_t index, uint64_t last_index, struct pc_page **out)
{
	struct pc_page *p = pc_find_get_page(m, index);
	uint64_t want;
	int err;

	if (p && (p->flags & PC_PG_UPTODATE)) {
		*out = p;
		return 0;
	}
	if (p) {
		pc_lock_page_readable(p);	/* PG_noread keeps readpage out */
		err = aops_read_folio(inode, p);
		pc_unlock_page(p);
		if (err) {
			pc_put_page(p);
			return err;
		}
		*out = p;
		return 0;
	}
	want = last_index - index + 1;
	if (want < VFS_RA_MIN_PAGES)
		want = VFS_RA_MIN_PAGES;
	if (want > (disk_i_size(inode) + PC_PAGE_SIZE - 1) / PC_PAGE_SIZE - index)
		want = (disk_i_size(inode) + PC_PAGE_SIZE - 1) / PC_PAGE_SIZE - index;
	return readahead(inode, m, index, want, out);
}

static int get_uptodate_page(struct disk_inode *inode, struct pc_mapping *m,
			     uint64_t index, uint64_t last_index, struct pc_page **out)
{
	int err;

	do	/* -EEXIST: another task added the page while readahead locked its own */
		err = find_uptodate_page(inode, m, index, last_index, out);
	while (err == -EEXIST);
	return err;
}

ssize_t vfs_read_iter(struct disk_inode *inode, const struct iovec *iov, int iovcnt,
		      uint64_t pos)
{
	uint64_t isize = disk_i_size(inode), end;
	struct pc_mapping *m;
	struct vfs_iter it;
	ssize_t done = 0;
	int err;

	iter_init(&it, iov, iovcnt);
	if (pos >= isize || !it.count)
		return 0;
	if (it.count > isize - pos)
		it.count = isize - pos;
	err = aops_mapping(inode, &m);
	if (err)
		return err;
	end = pos + it.count;
	while (it.count) {
		unsigned offset = pos & (PC_PAGE_SIZE - 1), n = PC_PAGE_SIZE - offset;
		struct pc_page *p;
		size_t left;

		if (n > it.count)
			n = (unsigned)it.count;
		err = get_uptodate_page(inode, m, pos >> PC_PAGE_SHIFT,
					(end - 1) >> PC_PAGE_SHIFT, &p);
		if (err)
			break;
		for (left = n; left;) {
			const struct iovec *v = &it.iov[it.idx];
			size_t step = v->iov_len - it.off < left ? v->iov_len - it.off : left;

			memcpy((char *)v->iov_base + it.off, p->data + offset + (n - left), step);
			iter_advance(&it, step);
			left -= step;
		}
		pc_put_page(p);
		pos += n;
		done += n;
	}
	return done ? done : err;
}
