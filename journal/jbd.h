/*
 * journal/jbd.h - JBD2 journaling for e4lab: recovery (scan, revoke, replay),
 * the log printer, and the write side (transactions, handles, commit,
 * checkpoint) behind a block device that libext2fs writes its metadata through.
 *
 * Layer: above libfs/blk, below libfs/disk.  Returns 0 or a negative errno;
 * on-disk corruption is -EUCLEAN with a message naming the log block.
 *
 * How disk_mount uses it (read-write, has_journal):
 *	jbd_recover(image, 0, stderr, NULL);		replay, clear needs_recovery
 *	dfs->meta_dev = jbd_dev_create(image, &err);	libext2fs opens this
 *	ext2fs_open2("e4blk:<meta_dev>", ...);
 *	jbd_attach(dfs, &opts);				sets dfs->journal, dfs->jops,
 *							dfs->data_dev; goes live
 * Read-only: dfs->meta_dev = dfs->data_dev = jbd_ro_view(image, &err) (the image
 * itself when nothing needs replay, else a replayed in-memory overlay).
 * Unmount: flush libext2fs (ext2fs_flush), dfs->jops->unmount(), ext2fs_close,
 * dfs->jops->destroy(), blk_close(meta_dev) (frees the journal; never
 * blk_close the data device: the journal owns it).
 */
#ifndef E4_JBD_H
#define E4_JBD_H

#include <stdint.h>
#include <stdio.h>
#include <ext2fs/ext2fs.h>

#include "libfs/blk/blk.h"

struct disk_fs;
struct jbd_journal;

/* ---- recovery ---- */

struct jbd_recovery {
	int needed;			/* the log was not empty (s_start != 0) */
	uint32_t start_tid;		/* first transaction in the log */
	uint32_t end_tid;		/* first transaction not replayed */
	uint32_t head_block;		/* log block after the last good commit */
	int failed;			/* a commit failed its checksum ... */
	uint32_t failed_tid;		/* ... this one: replay stopped before it */
	unsigned long transactions;	/* complete transactions found */
	unsigned long replayed;		/* blocks written home */
	unsigned long revokes;		/* revoke records */
	unsigned long revoke_hits;	/* logged blocks skipped as revoked */
	int err;			/* 0 or the error that stopped recovery */
	char stop[200];			/* where the scan stopped and why */
};

#define JBD_RECOVER_DRY		0x1	/* scan only: write nothing */
#define JBD_RECOVER_FORCE	0x2	/* replay even if needs_recovery is clear */
#define JBD_RECOVER_FIX		0x4	/* on a failed replay still mark the log empty
					 * and force a check, as e2fsck does */

/*
 * Replays the journal of the file system on @dev into @dev, then (unless DRY)
 * marks the log empty and clears needs_recovery.  A failed replay leaves the
 * flags alone (the kernel refuses the mount) unless FIX, which clears them as
 * e2fsck does and marks the fs for a check.  A corrupt transaction (bad
 * commit checksum) replays the ones before it and returns -EUCLEAN.  Messages go to
 * @msg (NULL: stderr).  @info (may be NULL) receives what was found.  Returns 0
 * when there was nothing to do or replay succeeded; -ENOENT without a journal;
 * -EOPNOTSUPP for an external journal; -EUCLEAN for a corrupt journal.
 */
int jbd_recover(struct blk_dev *dev, unsigned flags, FILE *msg, struct jbd_recovery *info);

/*
 * A read-only view of @image with the journal replayed in memory.  Returns
 * @image itself when nothing needs replaying (or there is no journal), else a
 * new device the caller closes with blk_close (which leaves @image open).
 * NULL with *err on failure.
 */
struct blk_dev *jbd_ro_view(struct blk_dev *image, FILE *msg, int *err);

/* Prints the journal superblock and the log as recovery would scan it. */
int jbd_dump(struct blk_dev *dev, FILE *out, struct jbd_recovery *info);

/* ---- the write side ---- */

enum jbd_data_mode {
	JBD_DATA_ORDERED = 0,	/* data written and flushed before the commit */
	JBD_DATA_WRITEBACK,	/* no ordering between data and metadata */
	JBD_DATA_JOURNAL,	/* data blocks journaled too */
};

struct jbd_options {
	enum jbd_data_mode mode;
	unsigned commit_interval_ms;	/* 0: 5000; ~0u: never by time */
	/*
	 * Called at the start of every commit, with no handle open:
	 * data_flush (ordered mode only) writes back the dirty file data
	 * (vfs_writeback_all); meta_flush (every mode) writes what libext2fs
	 * and the inode cache still hold in memory (bitmaps, descriptors,
	 * superblock, dirty inodes) into the running transaction, so that it
	 * commits a consistent state.  Without meta_flush, data_flush is called
	 * in every mode and must do both.
	 */
	int (*data_flush)(void *arg);
	void *data_flush_arg;
	int (*meta_flush)(void *arg);
	void *meta_flush_arg;
	/* Milliseconds on a monotonic clock (NULL: CLOCK_MONOTONIC). */
	uint64_t (*clock_ms)(void *arg);
	void *clock_arg;
	FILE *msg;			/* NULL: stderr */
};
void jbd_options_init(struct jbd_options *o);

/*
 * The journal device over @image, passing everything through until the
 * journal goes live.  Owned by the caller (blk_close); closing it frees the
 * journal but not @image.
 */
struct blk_dev *jbd_dev_create(struct blk_dev *image, int *err);

/*
 * Goes live on a read-write mount: dfs->meta_dev must come from
 * jbd_dev_create and dfs->fs be open on it.  Sets the journal's features as the
 * kernel would, needs_recovery in place, dfs->journal, dfs->jops and
 * dfs->data_dev (a device of the journal's own).
 */
int jbd_attach(struct disk_fs *dfs, const struct jbd_options *o);

/* The same without a disk_fs (tests): @meta from jbd_dev_create, @fs open on it. */
int jbd_start(struct blk_dev *meta, ext2_filsys fs, const struct jbd_options *o,
	      struct jbd_journal **out);
struct blk_dev *jbd_data_dev(struct jbd_journal *j);
/* Does the journal hold a copy of any block of [blk, blk + count) (running
 * transaction or not yet checkpointed)?  Those blocks' home locations are stale;
 * a reader that bypasses the journal's devices must not use them. */
int jbd_holds(const struct jbd_journal *j, uint64_t blk, uint64_t count);

/* Handles nest; a commit happens only when no handle is open. */
int jbd_handle_start(struct jbd_journal *j, unsigned credits);
int jbd_handle_stop(struct jbd_journal *j);
/* Commits the running transaction now (or, inside a handle, at the last stop). */
int jbd_commit(struct jbd_journal *j);
/* Writes every committed block home and empties the log. */
int jbd_checkpoint(struct jbd_journal *j);
/* Records that @count blocks from @blk were freed: journaled copies of them in
 * the log are revoked so replay cannot write over their next use. */
int jbd_revoke(struct jbd_journal *j, uint64_t blk, uint32_t count);
/*
 * Commits now although handles are open: the kernel's forced commit when an
 * allocation fails while blocks freed by uncommitted transactions wait
 * (ext4_should_retry_alloc).  The caller vouches that the state it holds is
 * consistent at this point.  -EBUSY when called from inside a commit.
 */
int jbd_commit_nested(struct jbd_journal *j);
/* The tid of the running transaction (0 when not live). */
uint32_t jbd_running_tid(const struct jbd_journal *j);
/*
 * @fn(@arg, tid) is called after every successful commit, with no handle
 * state changed: everything transaction @tid (and older ones) did is durable.
 * Also called when the transaction had nothing to log (then the durable state
 * already holds its changes).  The disk layer uses it to release blocks freed
 * by @tid for reuse as data (ext4's per-transaction freed-extent lists).
 */
typedef void (*jbd_commit_cb)(void *arg, uint32_t tid);
void jbd_set_commit_callback(struct jbd_journal *j, jbd_commit_cb fn, void *arg);
/* Commit, checkpoint, mark the log empty, clear needs_recovery; the devices
 * pass through afterwards. */
int jbd_unmount(struct jbd_journal *j);
/* Simulates a crash for tests: stop without writing anything more. */
void jbd_drop(struct jbd_journal *j);
/* Frees the transaction state (not the devices). */
void jbd_destroy(struct jbd_journal *j);

struct jbd_stats {
	unsigned long commits, checkpoints;
	unsigned long blocks_logged, revokes_logged, log_blocks_written;
	unsigned long data_blocks_journaled;
	unsigned long data_blocks_direct;	/* data=journal overflow, written home */
	uint32_t log_capacity, log_used, next_tid;
	int aborted;			/* 0 or the error that aborted the journal */
};
void jbd_get_stats(const struct jbd_journal *j, struct jbd_stats *st);

extern const struct disk_journal_ops jbd_disk_ops;

#endif /* E4_JBD_H */
