/*
 * libfs/aops internals: the I/O merger shared by the read and write paths.
 * A bio collects blocks at consecutive physical addresses and moves them with one
 * disk_read_data/disk_write_data call through a bounce buffer of AOPS_MAX_IO bytes.
 */
#ifndef E4_AOPS_INTERNAL_H
#define E4_AOPS_INTERNAL_H

#include "libfs/aops/aops.h"

#define AOPS_BIO_MAX_BLOCKS	(AOPS_MAX_IO >> 10)	/* 1 KiB blocks */

struct aops_bio {
	struct disk_fs *dfs;
	struct pc_cache *cache;
	int write;
	unsigned bs;
	uint8_t *buf;			/* bounce, cap blocks */
	uint32_t cap;
	uint64_t pblk;			/* first block of the pending run */
	uint32_t count;			/* blocks pending */
	struct pc_page *page[AOPS_BIO_MAX_BLOCKS];
	uint16_t bidx[AOPS_BIO_MAX_BLOCKS];	/* buffer index in page */
	int err;			/* first error */
	uint64_t calls, blocks;		/* statistics */
};

int aops_bio_init(struct aops_bio *bio, struct disk_inode *inode, int write);
/* Queues buffer @i of @page at physical @pblk: for a read, the buffer becomes
 * uptodate when its run has been read; for a write, its bytes are copied now and
 * the buffer is redirtied if the run fails. */
void aops_bio_add(struct aops_bio *bio, struct pc_page *page, unsigned i, uint64_t pblk);
/* Submits the pending run; returns bio->err. */
int aops_bio_submit(struct aops_bio *bio);
/* Submits and releases the bounce buffer; returns the first error. */
int aops_bio_finish(struct aops_bio *bio);

#endif /* E4_AOPS_INTERNAL_H */
