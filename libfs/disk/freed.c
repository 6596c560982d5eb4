/*
 * libfs/disk, blocks freed in transactions that are not yet durable.  Calls
 * libext2fs (its alloc-stats callbacks report every free) and journal/
 * (revokes, the commit callback, forced commits).  Invariant: without a
 * journal the set stays empty; a block in it is never handed out as file data.
 *
 * Why (ordered mode): if block X freed by file A in transaction T were given
 * to file B and B's data written home before T commits, a crash would bring A
 * back pointing at B's bytes.  ext4 keeps per-transaction freed-extent lists
 * that mballoc skips and the commit callback releases; this is the same idea.
 */
#include <errno.h>
#include <stdlib.h>

#include "libfs/disk/disk_internal.h"
#include "journal/jbd.h"

struct disk_freed_ext {
	blk64_t fe_start;
	uint64_t fe_len;
	uint32_t fe_tid;		/* the transaction that freed it */
};

/* Is @a at or before @b in tid order (tids wrap)? */
static int tid_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

static int journal_live(const struct disk_fs *dfs)
{
	return dfs->jops == &jbd_disk_ops && dfs->journal;
}

/* Adds [start, start+len) freed by @tid, extending the last extent when it
 * continues it.  Out of memory, the blocks are simply not protected. */
static void freed_add(struct disk_fs *dfs, blk64_t start, uint64_t len, uint32_t tid)
{
	struct disk_freed_ext *e, *grown;
	size_t cap;

	if (dfs->freed_count) {
		e = &dfs->freed[dfs->freed_count - 1];
		if (e->fe_tid == tid && e->fe_start + e->fe_len == start) {
			e->fe_len += len;
			return;
		}
	}
	if (dfs->freed_count == dfs->freed_cap) {
		cap = dfs->freed_cap ? dfs->freed_cap * 2 : 64;
		grown = realloc(dfs->freed, cap * sizeof(*grown));
		if (!grown) {
			disk_report(dfs, "blocks %llu (+%llu): no memory to keep them "
				    "from reuse until commit", (unsigned long long)start,
				    (unsigned long long)len);
			return;
		}
		dfs->freed = grown;
		dfs->freed_cap = cap;
	}
	e = &dfs->freed[dfs->freed_count++];
	e->fe_start = start;
	e->fe_len = len;
	e->fe_tid = tid;
}

/* Every free: remember it and revoke journaled copies of the blocks (the
 * kernel's ext4_free_blocks with FORGET; jbd_revoke ignores blocks with no
 * committed copy in the log, so data blocks cost a lookup only). */
static void on_free(struct disk_fs *dfs, blk64_t blk, uint64_t n)
{
	int err;

	if (!journal_live(dfs))
		return;
	freed_add(dfs, blk, n, jbd_running_tid(dfs->journal));
	err = jbd_revoke(dfs->journal, blk, (uint32_t)n);
	if (err && err != -EROFS)	/* aborted: the journal said so already */
		disk_report(dfs, "blocks %llu (+%llu): revoke failed (%d)",
			    (unsigned long long)blk, (unsigned long long)n, err);
}

static void stats_cb(ext2_filsys fs, blk64_t blk, int inuse)
{
	if (inuse < 0)
		on_free(fs->priv_data, blk, 1);
}

static void stats_range_cb(ext2_filsys fs, blk64_t blk, blk_t num, int inuse)
{
	if (inuse < 0 && num)
		on_free(fs->priv_data, blk, num);
}

/* The journal's commit callback: what @tid and older freed is now free on
 * disk too, and may hold anyone's data. */
static void release(void *arg, uint32_t tid)
{
	struct disk_fs *dfs = arg;
	size_t i, kept = 0;

	for (i = 0; i < dfs->freed_count; i++)
		if (!tid_le(dfs->freed[i].fe_tid, tid))
			dfs->freed[kept++] = dfs->freed[i];
	dfs->freed_count = kept;
}

void disk_freed_attach(struct disk_fs *dfs)
{
	if (!journal_live(dfs))
		return;
	dfs->fs->priv_data = dfs;
	ext2fs_set_block_alloc_stats_callback(dfs->fs, stats_cb, NULL);
	ext2fs_set_block_alloc_stats_range_callback(dfs->fs, stats_range_cb, NULL);
	jbd_set_commit_callback(dfs->journal, release, dfs);
}

void disk_freed_detach(struct disk_fs *dfs)
{
	free(dfs->freed);
	dfs->freed = NULL;
	dfs->freed_count = dfs->freed_cap = 0;
}

uint64_t disk_freed_clip(const struct disk_fs *dfs, blk64_t start, uint64_t len,
			 blk64_t *skip_to)
{
	const struct disk_freed_ext *e;
	uint64_t n = len;
	size_t i;

	*skip_to = start;
	for (i = 0; i < dfs->freed_count; i++) {
		e = &dfs->freed[i];
		if (e->fe_start <= start && start < e->fe_start + e->fe_len &&
		    e->fe_start + e->fe_len > *skip_to)
			*skip_to = e->fe_start + e->fe_len;
	}
	if (*skip_to != start)
		return 0;		/* @start itself is pending */
	for (i = 0; i < dfs->freed_count; i++) {
		e = &dfs->freed[i];
		if (e->fe_start > start && e->fe_start - start < n)
			n = e->fe_start - start;
	}
	return n;
}

/*
 * libext2fs's new_range hook while disk_freed_guard is on (ext2fs_fallocate
 * allocates through ext2fs_new_range): the same skipping as map.c's data
 * allocation.  A run that must start at @goal or be @len long fails when
 * pending blocks are in the way.
 */
static errcode_t guarded_new_range(ext2_filsys fs, int flags, blk64_t goal,
				   blk64_t len, blk64_t *pblk, blk64_t *plen)
{
	struct disk_fs *dfs = fs->priv_data;
	blk64_t skip_to;
	uint64_t n;
	errcode_t rc;
	int i;

	for (i = 0; i < 64; i++) {
		rc = ext2fs_new_range(fs, flags, goal, len, fs->block_map, pblk, plen);
		if (rc)
			return rc;
		n = disk_freed_clip(dfs, *pblk, *plen, &skip_to);
		if (n && (n >= len || !(flags & EXT2_NEWRANGE_MIN_LENGTH))) {
			*plen = n;
			return 0;
		}
		if (flags & EXT2_NEWRANGE_FIXED_GOAL)
			break;
		goal = n ? *pblk + n : skip_to;
		if (goal >= ext2fs_blocks_count(fs->super))
			goal = fs->super->s_first_data_block;
	}
	return EXT2_ET_BLOCK_ALLOC_FAIL;
}

void disk_freed_guard(struct disk_fs *dfs, int on)
{
	if (journal_live(dfs))
		ext2fs_set_new_range_callback(dfs->fs, on ? guarded_new_range : NULL, NULL);
}

int disk_freed_flush(struct disk_fs *dfs)
{
	int err;

	if (!dfs->freed_count || !journal_live(dfs))
		return -ENOSPC;
	err = jbd_commit_nested(dfs->journal);	/* its meta_flush writes ours */
	if (err == -EBUSY)
		return -ENOSPC;		/* inside a commit: cannot wait for one */
	return err;
}
