/*
 * journal/txn.c - the running transaction: a set of whole-block copies keyed
 * by fs block number, plus the blocks it revokes.  Calls bufset.c and the
 * image device.  Invariants: a block is never both logged and revoked by the
 * same transaction (logging it again cancels the revoke); a buffer always holds
 * the complete newest contents of its block.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "journal/jbd_internal.h"

int jbd_txn_new(struct jbd_journal *j, uint32_t tid)
{
	struct jbd_txn *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->t_tid = tid;
	t->t_state = T_RUNNING;
	jbd_bufset_init(&t->t_bufs, j->j_log->l_bsize);
	jbd_revtab_init(&t->t_revokes);
	t->t_start_ms = jbd_now_ms(j);
	j->j_running = t;
	return 0;
}

void jbd_txn_free(struct jbd_txn *t)
{
	if (!t)
		return;
	jbd_bufset_free(&t->t_bufs);
	jbd_revtab_free(&t->t_revokes);
	free(t);
}

int jbd_txn_empty(const struct jbd_txn *t)
{
	return !t->t_bufs.bs_count && !t->t_revokes.rt_count;
}

const uint8_t *jbd_lookup(const struct jbd_journal *j, uint64_t blk)
{
	const struct jbd_buf *b = NULL;

	if (j->j_running)
		b = jbd_bufset_get(&j->j_running->t_bufs, blk);
	if (!b)
		b = jbd_bufset_get(&j->j_checkpoint, blk);
	return b ? b->b_data : NULL;
}

/* Fills a new buffer with the block's current contents: committed copy or home. */
static int txn_fill(struct jbd_journal *j, uint64_t blk, uint8_t *data)
{
	const struct jbd_buf *b = jbd_bufset_get(&j->j_checkpoint, blk);
	unsigned bs = j->j_log->l_bsize;

	if (b) {
		memcpy(data, b->b_data, bs);
		return 0;
	}
	return blk_read(j->j_image, blk * bs, data, bs);
}

/*
 * libext2fs rewrites whole tables (every group descriptor block, bitmaps) on
 * each flush: a block written with the contents it already has stays out of
 * the transaction, so a commit costs the blocks that changed, not the size
 * of the file system.
 */
static int txn_unchanged(struct jbd_journal *j, uint64_t blk, const void *buf)
{
	unsigned bs = j->j_log->l_bsize;

	if (txn_fill(j, blk, j->j_scratch))
		return 0;
	return !memcmp(j->j_scratch, buf, bs);
}

/*
 * The fs superblock copy in a transaction always says needs_recovery: the
 * in-memory superblock of libext2fs does not, and checkpointing its copy home
 * must not clear the flag while the log may hold transactions.  The checksum
 * is recomputed on every write (libext2fs may write just a few bytes).
 */
static void patch_fs_sb(struct jbd_journal *j, uint8_t *sb)
{
	sb[0x60] |= EXT3_FEATURE_INCOMPAT_RECOVER;
	jbd_fs_sb_csum_set(sb);		/* libext2fs summed it without the flag */
}

int jbd_txn_write(struct jbd_journal *j, uint64_t blk, unsigned in, const void *buf,
		  unsigned len)
{
	struct jbd_txn *t = j->j_running;
	unsigned bs = j->j_log->l_bsize;
	struct jbd_buf *b;
	uint32_t rtid;
	int created, ret;

	/* A block revoked in @t must be logged again even when unchanged: the
	 * revoke would otherwise hide its committed copy from replay. */
	if (len == bs && !jbd_bufset_get(&t->t_bufs, blk) &&
	    !jbd_revtab_get(&t->t_revokes, blk, &rtid) && txn_unchanged(j, blk, buf))
		return 0;
	ret = jbd_bufset_add(&t->t_bufs, blk, &b, &created);
	if (ret)
		return ret;
	if (created && len < bs) {
		ret = txn_fill(j, blk, b->b_data);
		if (ret) {
			jbd_bufset_del(&t->t_bufs, blk);
			return ret;
		}
	}
	memcpy(b->b_data + in, buf, len);
	jbd_revtab_del(&t->t_revokes, blk);
	if (blk == j->j_sb_blk)
		patch_fs_sb(j, b->b_data + j->j_sb_off);
	return 0;
}
