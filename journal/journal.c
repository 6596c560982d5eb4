/*
 * journal/journal.c - the journal's lifecycle, handles and commit triggers,
 * and the table the disk layer calls (disk_journal_ops).  Calls the rest of
 * journal/ and libfs/blk; reads struct disk_fs but never calls libfs/disk.
 *
 * States of the journal (j_state):
 *
 *	jbd_dev_create          jbd_start/attach           jbd_unmount
 *	-------------> PASSTHROUGH ---------------> LIVE -------------> PASSTHROUGH
 *	                                              |  \
 *	                       commit/checkpoint fails|   jbd_drop (test crash)
 *	                                              v  /
 *	                                            ABORTED (writes: -EROFS)
 *
 * States of a transaction (t_state): RUNNING --commit--> COMMITTING --commit
 * block flushed--> COMMITTED (its blocks join j_checkpoint; the struct is
 * freed) --checkpoint--> home.
 *
 * Invariants (jbd_invariants_hold):
 *  1. LIVE: there is exactly one running transaction, in state RUNNING.
 *  2. The log ring holds j_used blocks from j_tail to j_head:
 *     j_head == wrap(j_tail + j_used) and j_used <= j_capacity.
 *  3. A committed block not yet home (j_checkpoint) is in the log: j_used > 0.
 *  4. The running transaction never logs and revokes the same block.
 *  5. Handles nest (h_depth >= 0); a commit starts only with no handle open,
 *     except jbd_commit_nested (a forced commit on ENOSPC, at a point the disk
 *     layer vouches is consistent: before it allocates a file's next block).
 *  After each successful commit j_commit_cb(tid) runs: what @tid freed may
 *  now be reused for file data (libfs/disk/freed.c).
 *  6. LIVE: the on-disk fs superblock has needs_recovery and the journal
 *     superblock a non-zero start (set by jbd_start, cleared by jbd_unmount).
 *  7. ABORTED: nothing more is written through the journal.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal/jbd_internal.h"
#include "libfs/disk/disk.h"

#define DEFAULT_INTERVAL_MS 5000

int jbd_invariants_hold(const struct jbd_journal *j)
{
	const struct jbd_txn *t = j->j_running;

	if (j->j_handle.h_depth < 0)
		return 0;
	if (j->j_state != J_LIVE)
		return 1;
	if (!t || t->t_state != T_RUNNING)
		return 0;
	if (j->j_used > j->j_capacity)
		return 0;
	if (j->j_head != jbd_log_wrap(j->j_log, j->j_tail + j->j_used) &&
	    !(j->j_used == j->j_capacity && j->j_head == j->j_tail))
		return 0;
	if (j->j_checkpoint.bs_count && !j->j_used)
		return 0;
	if (t->t_revokes.rt_count < 64) {	/* bounded: cheap enough for every call */
		for (size_t i = 0; i < t->t_revokes.rt_nbuckets; i++)
			for (const struct jbd_rev *r = t->t_revokes.rt_hash[i]; r; r = r->rv_next)
				if (jbd_bufset_get(&t->t_bufs, r->rv_blk))
					return 0;
	}
	return 1;
}

void jbd_options_init(struct jbd_options *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = JBD_DATA_ORDERED;
}

uint64_t jbd_now_ms(struct jbd_journal *j)
{
	struct timespec ts;

	if (j->j_opts.clock_ms)
		return j->j_opts.clock_ms(j->j_opts.clock_arg);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void jbd_abort(struct jbd_journal *j, int err, const char *what)
{
	if (j->j_state == J_ABORTED)
		return;
	fprintf(j->j_msg, "journal aborted: %s failed: %s; later writes fail with EROFS\n",
		what, strerror(-err));
	j->j_state = J_ABORTED;
	j->j_err = err;
	/* Best effort, as jbd2 does: record the error in the journal superblock. */
	j->j_log->l_errno = err;
	if (!jbd_log_write_sb(j->j_log))
		blk_flush(j->j_image);
}

static void free_state(struct jbd_journal *j)
{
	jbd_txn_free(j->j_running);
	j->j_running = NULL;
	jbd_bufset_free(&j->j_checkpoint);
	jbd_log_close(j->j_log);
	j->j_log = NULL;
	free(j->j_scratch);
	j->j_scratch = NULL;
}

void jbd_put(struct jbd_journal *j)
{
	if (--j->j_refs)
		return;
	free_state(j);
	free(j->j_meta_dev);
	free(j->j_data_dev);
	free(j);
}

/* ---- going live ---- */

/* The features the kernel sets on mount: checksum v3 on metadata_csum file
 * systems (replacing v1/v2), 64-bit tags on 64bit ones. */
static int set_features(struct jbd_journal *j, ext2_filsys fs)
{
	struct jbd_log *log = j->j_log;

	if (log->l_sb_v1) {
		fprintf(j->j_msg, "journal: version 1 journal superblock: not supported for writing\n");
		return -EOPNOTSUPP;
	}
	if (ext2fs_has_feature_metadata_csum(fs->super)) {
		log->l_incompat |= JBD_INCOMPAT_CSUM_V3;
		log->l_incompat &= ~JBD_INCOMPAT_CSUM_V2;
		log->l_compat &= ~JBD_COMPAT_CHECKSUM;
	}
	if (ext2fs_has_feature_64bit(fs->super))
		log->l_incompat |= JBD_INCOMPAT_64BIT;
	if (!(log->l_incompat & JBD_INCOMPAT_64BIT) && ext2fs_blocks_count(fs->super) > UINT32_MAX)
		return -EOPNOTSUPP;
	log->l_seed = jbd_crc32c(~0u, log->l_sb + JSB_UUID, 16);
	jbd_log_set_tag_bytes(log);
	return 0;
}

/* needs_recovery in the fs superblock, in place, before any transaction. */
static int set_needs_recovery(struct jbd_journal *j, int on)
{
	uint8_t sb[1024];
	int ret = jbd_fs_sb_read(j->j_image, sb);

	if (ret)
		return ret;
	if (on)
		sb[0x60] |= EXT3_FEATURE_INCOMPAT_RECOVER;
	else
		sb[0x60] &= ~EXT3_FEATURE_INCOMPAT_RECOVER;
	ret = jbd_fs_sb_write(j->j_image, sb);
	if (!ret)
		ret = blk_flush(j->j_image);
	return ret;
}

static int go_live(struct jbd_journal *j, ext2_filsys fs)
{
	struct jbd_log *log = j->j_log;
	uint32_t tid;
	int ret;

	if (log->l_start) {
		fprintf(j->j_msg, "journal: the log needs recovery; run jbd_recover first\n");
		return -EUCLEAN;
	}
	ret = set_features(j, fs);
	if (ret)
		return ret;
	tid = log->l_sequence + 1;	/* never reuse the last tid of the old log */
	j->j_capacity = log->l_last - log->l_first;
	j->j_max_txn_blocks = j->j_capacity / 4;
	j->j_head = j->j_tail = log->l_first;
	j->j_tail_tid = tid;
	j->j_used = 0;
	j->j_sb_blk = 1024 / log->l_bsize;
	j->j_sb_off = 1024 % log->l_bsize;
	j->j_fs_csum = ext2fs_has_feature_metadata_csum(fs->super);
	jbd_bufset_init(&j->j_checkpoint, log->l_bsize);
	j->j_scratch = malloc(log->l_bsize);
	if (!j->j_scratch)
		return -ENOMEM;
	ret = jbd_txn_new(j, tid);
	if (ret)
		return ret;
	ret = set_needs_recovery(j, 1);
	if (!ret) {
		log->l_start = j->j_tail;
		log->l_sequence = tid;
		ret = jbd_log_write_sb(log);
	}
	if (!ret)
		ret = blk_flush(j->j_image);
	if (!ret)
		j->j_state = J_LIVE;
	return ret;
}

int jbd_start(struct blk_dev *meta, ext2_filsys fs, const struct jbd_options *o,
	      struct jbd_journal **out)
{
	struct jbd_journal *j = jbd_from_dev(meta);
	int ret;

	if (!j || j->j_state != J_PASSTHROUGH || j->j_log)
		return -EINVAL;
	if (o)
		j->j_opts = *o;
	j->j_msg = j->j_opts.msg ? j->j_opts.msg : stderr;
	if (!j->j_opts.commit_interval_ms)
		j->j_opts.commit_interval_ms = DEFAULT_INTERVAL_MS;
	ret = jbd_log_open(j->j_image, fs, j->j_msg, &j->j_log);
	if (!ret)
		ret = go_live(j, fs);
	if (ret) {
		free_state(j);
		return ret;
	}
	fs->flags |= EXT2_FLAG_MASTER_SB_ONLY;
	j->j_refs++;		/* the attach reference, dropped by jbd_destroy */
	*out = j;
	return 0;
}

struct blk_dev *jbd_data_dev(struct jbd_journal *j)
{
	return j->j_data_dev;
}

int jbd_holds(const struct jbd_journal *j, uint64_t blk, uint64_t count)
{
	uint64_t i;

	if (j->j_state == J_PASSTHROUGH)
		return 0;
	if (!j->j_checkpoint.bs_count && (!j->j_running || !j->j_running->t_bufs.bs_count))
		return 0;
	for (i = 0; i < count; i++)
		if (jbd_lookup(j, blk + i))
			return 1;
	return 0;
}

int jbd_attach(struct disk_fs *dfs, const struct jbd_options *o)
{
	struct jbd_journal *j;
	int ret = jbd_start(dfs->meta_dev, dfs->fs, o, &j);

	if (ret)
		return ret;
	dfs->journal = j;
	dfs->jops = &jbd_disk_ops;
	dfs->data_dev = j->j_data_dev;
	return 0;
}

/* ---- handles and commit triggers ---- */

static int should_commit(struct jbd_journal *j)
{
	const struct jbd_txn *t = j->j_running;

	if (jbd_txn_empty(t))
		return 0;
	if (j->j_commit_requested || t->t_bufs.bs_count >= j->j_max_txn_blocks)
		return 1;
	return j->j_opts.commit_interval_ms != ~0u &&
	       jbd_now_ms(j) - t->t_start_ms >= j->j_opts.commit_interval_ms;
}

int jbd_handle_start(struct jbd_journal *j, unsigned credits)
{
	int ret;

	if (j->j_state == J_ABORTED)
		return -EROFS;
	if (j->j_state != J_LIVE)
		return 0;
	if (!j->j_handle.h_depth) {	/* nested ones (write_begin's) stay cheap */
		assert(jbd_invariants_hold(j));
		if (!j->j_in_commit && should_commit(j)) {
			ret = jbd_commit_running(j);
			if (ret)
				return ret;
		}
	}
	j->j_handle.h_depth++;
	j->j_handle.h_credits += credits;
	j->j_running->t_credits += credits;
	return 0;
}

int jbd_handle_stop(struct jbd_journal *j)
{
	if (j->j_state == J_PASSTHROUGH)
		return 0;
	if (j->j_handle.h_depth <= 0)
		return -EINVAL;
	if (--j->j_handle.h_depth)
		return 0;
	j->j_handle.h_credits = 0;
	if (j->j_state == J_ABORTED)
		return -EROFS;
	if (j->j_commit_requested && !j->j_in_commit)
		return jbd_commit_running(j);
	return 0;
}

int jbd_commit(struct jbd_journal *j)
{
	if (j->j_state == J_ABORTED)
		return -EROFS;
	if (j->j_state != J_LIVE)
		return blk_flush(j->j_image);
	if (j->j_handle.h_depth || j->j_in_commit) {
		j->j_commit_requested = 1;
		return 0;
	}
	return jbd_commit_running(j);
}

int jbd_commit_nested(struct jbd_journal *j)
{
	int depth = j->j_handle.h_depth, ret;

	if (j->j_state == J_ABORTED)
		return -EROFS;
	if (j->j_state != J_LIVE)
		return 0;
	if (j->j_in_commit)
		return -EBUSY;
	j->j_handle.h_depth = 0;	/* the caller's handles resume in the next tid */
	ret = jbd_commit_running(j);
	j->j_handle.h_depth = depth;
	if (j->j_state == J_LIVE)
		j->j_running->t_credits += j->j_handle.h_credits;
	return ret;
}

uint32_t jbd_running_tid(const struct jbd_journal *j)
{
	return j->j_state == J_LIVE ? j->j_running->t_tid : 0;
}

void jbd_set_commit_callback(struct jbd_journal *j, jbd_commit_cb fn, void *arg)
{
	j->j_commit_cb = fn;
	j->j_commit_cb_arg = arg;
}

int jbd_checkpoint(struct jbd_journal *j)
{
	int ret;

	if (j->j_state != J_LIVE)
		return j->j_state == J_ABORTED ? -EROFS : 0;
	ret = jbd_checkpoint_all(j, j->j_running->t_tid);
	if (ret)
		jbd_abort(j, ret, "checkpoint");
	return ret;
}

int jbd_revoke(struct jbd_journal *j, uint64_t blk, uint32_t count)
{
	struct jbd_txn *t = j->j_running;
	int ret;

	if (j->j_state == J_ABORTED)
		return -EROFS;
	if (j->j_state != J_LIVE)
		return 0;
	for (uint64_t b = blk; b < blk + count; b++) {
		jbd_bufset_del(&t->t_bufs, b);
		if (!jbd_bufset_get(&j->j_checkpoint, b))
			continue;	/* never committed: nothing in the log to revoke */
		if (!(j->j_log->l_incompat & JBD_INCOMPAT_REVOKE)) {
			j->j_log->l_incompat |= JBD_INCOMPAT_REVOKE;
			ret = jbd_log_write_sb(j->j_log);
			if (ret)
				return ret;
		}
		ret = jbd_revtab_set(&t->t_revokes, b, t->t_tid);
		if (ret)
			return ret;
	}
	return 0;
}

int jbd_unmount(struct jbd_journal *j)
{
	int ret;

	if (j->j_state == J_ABORTED)
		return j->j_err ? j->j_err : -EROFS;
	if (j->j_state != J_LIVE)
		return 0;
	if (j->j_handle.h_depth)
		return -EBUSY;
	ret = jbd_commit_running(j);
	if (!ret)
		ret = jbd_checkpoint(j);
	if (!ret)
		ret = jbd_mark_empty(j);
	if (!ret)
		ret = set_needs_recovery(j, 0);
	if (ret) {
		jbd_abort(j, ret, "unmount");
		return ret;
	}
	jbd_txn_free(j->j_running);
	j->j_running = NULL;
	j->j_state = J_PASSTHROUGH;
	return 0;
}

void jbd_drop(struct jbd_journal *j)
{
	j->j_state = J_ABORTED;
	j->j_err = -EIO;
}

void jbd_destroy(struct jbd_journal *j)
{
	if (!j)
		return;
	if (j->j_state == J_LIVE)
		fprintf(j->j_msg, "journal: destroyed while live: committed transactions stay "
			"in the log for recovery\n");
	jbd_txn_free(j->j_running);
	j->j_running = NULL;
	jbd_bufset_free(&j->j_checkpoint);
	j->j_state = J_ABORTED;		/* the devices must not write any more */
	j->j_err = -EIO;
	jbd_put(j);
}

void jbd_get_stats(const struct jbd_journal *j, struct jbd_stats *st)
{
	*st = j->j_stats;
	st->log_capacity = j->j_capacity;
	st->log_used = j->j_used;
	st->next_tid = j->j_running ? j->j_running->t_tid : j->j_tail_tid;
	st->aborted = j->j_state == J_ABORTED ? j->j_err : 0;
}

/* ---- the disk layer's table ---- */

static int ops_handle_start(void *journal, unsigned credits)
{
	return jbd_handle_start(journal, credits);
}

static int ops_handle_stop(void *journal)
{
	return jbd_handle_stop(journal);
}

static int ops_commit(void *journal)
{
	return jbd_commit(journal);
}

static int ops_unmount(void *journal)
{
	return jbd_unmount(journal);
}

static void ops_destroy(void *journal)
{
	jbd_destroy(journal);
}

const struct disk_journal_ops jbd_disk_ops = {
	.handle_start = ops_handle_start,
	.handle_stop = ops_handle_stop,
	.commit = ops_commit,
	.unmount = ops_unmount,
	.destroy = ops_destroy,
};
