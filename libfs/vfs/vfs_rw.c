/*
 * libfs/vfs: the buffered write loop (generic_perform_write) and the read path.
 * Calls libfs/aops and libfs/pcache (and disk for i_size).  Invariants: a page
 * is locked only between write_begin and write_end, and the source is touched
 * only by copy_atomic and fault_in, never while a fault could need that lock.
 */
#include <errno.h>
#include <string.h>

#include "libfs/vfs/vfs.h"
#include "libfs/aops/aops.h"

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

/* copy_page_from_iter_atomic: copies up to @bytes without advancing @it;
 * stops at the first short segment copy. */
static size_t copy_from_iter_atomic(const struct vfs_source *src, void *dst,
				    const struct vfs_iter *it, size_t bytes)
{
	size_t done = 0, off = it->off;
	int idx = it->idx;

	while (done < bytes && idx < it->nr) {
		const char *from = (const char *)it->iov[idx].iov_base + off;
		size_t n = it->iov[idx].iov_len - off, got;

		if (n > bytes - done)
			n = bytes - done;
		if (!n) {
			idx++;
			off = 0;
			continue;
		}
		if (src->ops) {
			got = src->ops->copy_from_user_atomic(src->arg, (char *)dst + done, from, n);
		} else {
			memcpy((char *)dst + done, from, n);
			got = n;
		}
		done += got;
		if (got < n)
			break;
		idx++;
		off = 0;
	}
	return done;
}

/* fault_in_iov_iter_readable: returns the bytes of the next @bytes that could
 * not be made readable. */
static size_t fault_in_iter(const struct vfs_source *src, const struct vfs_iter *it,
			    size_t bytes)
{
	size_t done = 0, off = it->off;
	int idx = it->idx;

	if (!src->ops)
		return 0;
	while (done < bytes && idx < it->nr) {
		const char *from = (const char *)it->iov[idx].iov_base + off;
		size_t n = it->iov[idx].iov_len - off, bad;

		if (n > bytes - done)
			n = bytes - done;
		if (!n) {
			idx++;
			off = 0;
			continue;
		}
		bad = src->ops->fault_in_readable(src->arg, from, n);
		done += n - bad;
		if (bad)
			break;
		idx++;
		off = 0;
	}
	return bytes - done;
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
			 * page).  The page is unlocked now, so faulting the source in
			 * cannot deadlock on it; retry, or give up if nothing can be
			 * faulted in.
			 */
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

static int get_uptodate_page(struct disk_inode *inode, struct pc_mapping *m,
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
		pc_lock_page(p);
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
