/*
 * libfs/api, the image under a range of an open file (e4_image_runs), for a
 * reader that reads the image file itself.  Calls libfs/disk, libfs/aops (the
 * page-cache mapping), libfs/pcache and journal/.  Invariant: a range is handed
 * out only when the image file holds its current bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "libfs/api/api_internal.h"
#include "libfs/aops/aops.h"
#include "journal/jbd.h"

/* After the engine's headers: with _GNU_SOURCE it defines LOCK_READ and
 * LOCK_WRITE, names libfs/task uses. */
#include <fcntl.h>

/* Does file data come straight from the image file (the file backend, under
 * nothing but the journal's data device, whose only addition is jbd_holds)? */
static int image_is_plain(const struct e4_fs *fs)
{
	const struct disk_fs *dfs = fs->dfs;

	if (fs->opts.crash_after || strcmp(dfs->dev->ops->name, "file"))
		return 0;
	if (dfs->data_dev == dfs->dev)
		return 1;
	return dfs->journal && dfs->data_dev == jbd_data_dev(dfs->journal);
}

/* Is any page of [first, last] in the page cache (clean or dirty)? */
static int range_cached(struct disk_inode *inode, uint64_t first, uint64_t last)
{
	struct pc_mapping *m = inode->i_mapping;
	uint64_t idx;

	if (!m || !m->nr_pages)
		return 0;
	for (idx = first; idx <= last; idx++) {
		struct pc_page *p = pc_find_get_page(m, idx);

		if (p) {
			pc_put_page(p);
			return 1;
		}
	}
	return 0;
}

/* Appends [image_off, +len) to @runs, merging with the last run when they meet;
 * 0 when @max runs are not enough. */
static int add_run(struct e4_image_run *runs, int *n, int max, uint64_t image_off,
		   uint64_t len)
{
	if (*n && runs[*n - 1].image_off + runs[*n - 1].len == image_off) {
		runs[*n - 1].len += len;
		return 1;
	}
	if (*n == max)
		return 0;
	runs[*n].image_off = image_off;
	runs[*n].len = len;
	(*n)++;
	return 1;
}

int e4_image_runs(struct e4_file *f, uint64_t off, size_t len, struct e4_image_run *runs,
		  int max)
{
	struct disk_inode *inode = f->inode;
	struct disk_fs *dfs = inode->dfs;
	uint64_t isize = disk_i_size(inode), bs = dfs->block_size, end;
	int n = 0, err;

	if ((f->flags & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	if (!LINUX_S_ISREG(inode->raw.i_mode))
		return -EINVAL;
	if (off >= isize || !len || max <= 0 || !image_is_plain(f->fs) || aops_is_inline(inode))
		return 0;
	end = len > isize - off ? isize : off + len;
	if (range_cached(inode, off >> PC_PAGE_SHIFT, (end - 1) >> PC_PAGE_SHIFT))
		return 0;
	while (off < end) {
		uint64_t want = (end - 1) / bs - off / bs + 1, bytes;
		struct disk_map map = { .lblk = off / bs };

		map.len = want > UINT32_MAX ? UINT32_MAX : (uint32_t)want;
		err = disk_map_blocks(inode, &map, 0);
		if (err < 0)
			return err;
		if (!(map.flags & DISK_MAP_MAPPED) || (map.flags & DISK_MAP_UNWRITTEN) || !map.len)
			return 0;	/* a hole or an unwritten extent reads as zeros */
		if (map.len > want)
			map.len = (uint32_t)want;
		if (dfs->journal && jbd_holds(dfs->journal, map.pblk, map.len))
			return 0;
		bytes = (map.lblk + map.len) * bs - off;
		if (bytes > end - off)
			bytes = end - off;
		if (!add_run(runs, &n, max, map.pblk * bs + off % bs, bytes))
			return 0;
		off += bytes;
	}
	return n;
}
