/*
 * libfs/aops: the I/O merger.  Calls libfs/disk (disk_read_data, disk_write_data)
 * and libfs/pcache (buffer states).  Invariant: the pending run is physically
 * contiguous and at most cap blocks; a read buffer is marked uptodate only after
 * its run was read without error.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>
#include <stdlib.h>

#include "libfs/aops/aops_internal.h"

int aops_bio_init(struct aops_bio *bio, struct disk_inode *inode, int write)
{
	struct disk_fs *dfs = inode->dfs;

	bio->dfs = dfs;
	bio->cache = dfs->pcache;
	bio->write = write;
	bio->bs = dfs->block_size;
	bio->cap = AOPS_MAX_IO / bio->bs;
	bio->count = 0;
	bio->err = 0;
	bio->calls = bio->blocks = 0;
	bio->buf = pc_scratch_get(bio->cache, AOPS_MAX_IO);
	if (!bio->buf)
		bio->buf = aligned_alloc(PC_PAGE_SIZE, AOPS_MAX_IO);
	return bio->buf ? 0 : -ENOMEM;
}

static void complete_read(struct aops_bio *bio)
{
	uint32_t i;

	for (i = 0; i < bio->count; i++) {
		struct pc_page *p = bio->page[i];
		unsigned b = bio->bidx[i];

		memcpy(p->data + (size_t)b * bio->bs, bio->buf + (size_t)i * bio->bs, bio->bs);
		p->bufs[b].b_state |= PC_BH_UPTODATE;
	}
}

static void fail_write(struct aops_bio *bio)
{
	uint32_t i;

	for (i = 0; i < bio->count; i++)
		pc_mark_buffer_dirty(bio->page[i], bio->bidx[i]);
}

int aops_bio_submit(struct aops_bio *bio)
{
	int err;

	if (!bio->count)
		return bio->err;
	bio->calls++;
	bio->blocks += bio->count;
	if (bio->write)
		err = disk_write_data(bio->dfs, bio->pblk, bio->count, bio->buf);
	else
		err = disk_read_data(bio->dfs, bio->pblk, bio->count, bio->buf);
	if (err < 0) {
		if (bio->write)
			fail_write(bio);
		if (!bio->err)
			bio->err = err;
	} else if (!bio->write) {
		complete_read(bio);
	}
	bio->count = 0;
	return bio->err;
}

void aops_bio_add(struct aops_bio *bio, struct pc_page *page, unsigned i, uint64_t pblk)
{
	if (bio->count && (pblk != bio->pblk + bio->count || bio->count == bio->cap))
		aops_bio_submit(bio);
	if (!bio->count)
		bio->pblk = pblk;
	if (bio->write)
		memcpy(bio->buf + (size_t)bio->count * bio->bs,
		       page->data + (size_t)i * bio->bs, bio->bs);
	bio->page[bio->count] = page;
	bio->bidx[bio->count] = (uint16_t)i;
	bio->count++;
}

int aops_bio_finish(struct aops_bio *bio)
{
	aops_bio_submit(bio);
	pc_scratch_put(bio->cache, bio->buf);
	bio->buf = NULL;
	return bio->err;
}
