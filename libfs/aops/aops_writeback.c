/*
 * libfs/aops: writepages.  Calls libfs/pcache and libfs/disk (through aops_bio).
 * Invariants: a page is written under PG_writeback with PG_dirty cleared first,
 * so a redirty during the I/O is not lost; bytes past i_size in the EOF page are
 * zero before they reach the disk; blocks wholly past i_size are not written.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libfs/aops/aops_internal.h"

/* Queues the dirty buffers of @p (locked, PG_dirty just cleared). */
static void write_page(struct pc_page *p, uint64_t isize, unsigned bs, struct aops_bio *bio)
{
	uint64_t pstart = p->index << PC_PAGE_SHIFT;
	unsigned i, any = 0;

	if (isize > pstart && isize < pstart + PC_PAGE_SIZE)
		memset(p->data + (isize - pstart), 0, PC_PAGE_SIZE - (isize - pstart));
	for (i = 0; i < p->nr_bufs; i++)
		any |= p->bufs[i].b_state & PC_BH_DIRTY;
	for (i = 0; i < p->nr_bufs; i++) {
		struct pc_buf *b = &p->bufs[i];
		int wanted = any ? !!(b->b_state & PC_BH_DIRTY)
				 : (b->b_state & PC_BH_MAPPED) && (b->b_state & PC_BH_UPTODATE);

		b->b_state &= ~PC_BH_DIRTY;
		if (!wanted || pstart + (uint64_t)i * bs >= isize)
			continue;
		aops_bio_add(bio, p, i, b->b_blocknr);
	}
}

int aops_writepages(struct disk_inode *inode)
{
	struct pc_mapping *m = inode->i_mapping;
	struct pc_page **v;
	struct aops_bio bio;
	uint64_t isize;
	long n, k;
	int err, err2;

	if (!m || !m->nr_dirty)
		return 0;
	n = pc_collect_pages(m, 0, UINT64_MAX, PC_PG_DIRTY, &v);
	if (n < 0)
		return (int)n;
	err = aops_bio_init(&bio, inode, 1);
	if (err)
		goto out;
	isize = disk_i_size(inode);
	for (k = 0; k < n; k++) {
		struct pc_page *p = v[k];

		if (!pc_trylock_page(p))
			continue;	/* under write_begin: written next time */
		if (aops_is_inline(inode) || !(p->flags & PC_PG_PRIVATE)) {
			/* ext4 BUGs here (a dirty page of an inline inode). */
			disk_report(inode->dfs, "inode %u: dirty page %llu without buffers",
				    inode->ino, (unsigned long long)p->index);
			err = -EIO;
			pc_unlock_page(p);
			continue;
		}
		if (pc_clear_page_dirty_for_io(p)) {
			pc_set_page_writeback(p);
			write_page(p, isize, bio.bs, &bio);
		}
		pc_unlock_page(p);
	}
	err2 = aops_bio_finish(&bio);
	if (!err)
		err = err2;
out:
	for (k = 0; k < n; k++) {
		if (v[k]->flags & PC_PG_WRITEBACK)
			pc_end_page_writeback(v[k]);
		pc_put_page(v[k]);
	}
	free(v);
	if (err && !m->wb_err)
		m->wb_err = err;
	return err;
}
