/*
 * journal/commit.c - committing the running transaction, in the kernel's
 * order: (1) ordered data written and flushed; (2) revoke blocks, descriptor
 * blocks with tags and (escaped) copies, flush; (3) commit block, flush: the
 * COMMIT POINT.  Calls txn.c, checkpoint.c, log.c and the image device.
 * Invariants: log blocks are written only between head and the tail's ring
 * position (never over an uncheckpointed transaction); any failure aborts.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal/jbd_internal.h"

#define LOGW_BATCH 64		/* log blocks per write when contiguous on disk */

/* Writes log blocks at the head, batching physically contiguous ones. */
struct logw {
	struct jbd_journal *w_j;
	uint8_t *w_buf;
	unsigned w_n;
	uint64_t w_pblk;
	uint32_t w_crc;		/* v1: crc32_be of descriptors and copies */
};

static int logw_flush(struct logw *w)
{
	unsigned bs = w->w_j->j_log->l_bsize;
	int ret = 0;

	if (w->w_n)
		ret = blk_write(w->w_j->j_image, w->w_pblk * bs, w->w_buf, (size_t)w->w_n * bs);
	w->w_n = 0;
	return ret;
}

static int logw_put(struct logw *w, const void *block, int in_v1_sum)
{
	struct jbd_journal *j = w->w_j;
	unsigned bs = j->j_log->l_bsize;
	uint64_t pblk;
	int ret;

	if (jbd_log_bmap(j->j_log, j->j_head, &pblk))
		return -EUCLEAN;
	if (w->w_n && (w->w_n == LOGW_BATCH || pblk != w->w_pblk + w->w_n)) {
		ret = logw_flush(w);
		if (ret)
			return ret;
	}
	if (!w->w_n)
		w->w_pblk = pblk;
	memcpy(w->w_buf + (size_t)w->w_n * bs, block, bs);
	w->w_n++;
	if (in_v1_sum)
		w->w_crc = ext2fs_crc32_be(w->w_crc, block, bs);
	j->j_head = jbd_log_wrap(j->j_log, j->j_head + 1);
	j->j_used++;
	j->j_stats.log_blocks_written++;
	return 0;
}

static void header(void *block, unsigned bs, uint32_t type, uint32_t tid)
{
	memset(block, 0, bs);
	jbd_put32(block, JBD_HDR_MAGIC, JBD_MAGIC);
	jbd_put32(block, JBD_HDR_TYPE, type);
	jbd_put32(block, JBD_HDR_SEQ, tid);
}

/* ---- sizes ---- */

static unsigned tags_per_descriptor(const struct jbd_log *log)
{
	unsigned room = log->l_bsize - JBD_HDR_SIZE - JBD_TAG_UUID_SIZE -
			(jbd_has_csum(log) ? JBD_TAIL_SIZE : 0);

	return room / log->l_tag_bytes;
}

static unsigned revokes_per_block(const struct jbd_log *log)
{
	unsigned rec = (log->l_incompat & JBD_INCOMPAT_64BIT) ? 8 : 4;

	return (log->l_bsize - JBD_REVOKE_HDR_SIZE - (jbd_has_csum(log) ? JBD_TAIL_SIZE : 0)) / rec;
}

static uint32_t log_blocks_needed(const struct jbd_log *log, const struct jbd_txn *t)
{
	size_t nb = t->t_bufs.bs_count, nr = t->t_revokes.rt_count;
	unsigned tpd = tags_per_descriptor(log), rpb = revokes_per_block(log);

	return nb + (nb + tpd - 1) / tpd + (nr + rpb - 1) / rpb + 1;
}

/* ---- the steps ---- */

/*
 * (1) ordered mode: file data reaches the disk before the metadata naming it;
 * journal mode: dirty file data is written into this transaction (the data
 * device journals it) before it commits the metadata naming it;
 * every mode: the metadata the layers above still hold in memory joins the
 * transaction (a commit between top-level handles is then a consistent state).
 */
static int commit_data(struct jbd_journal *j)
{
	const struct jbd_options *o = &j->j_opts;
	int ordered = o->mode == JBD_DATA_ORDERED;
	int with_data = ordered || o->mode == JBD_DATA_JOURNAL;
	int ret = 0;

	if (o->data_flush && (with_data || !o->meta_flush))
		ret = o->data_flush(o->data_flush_arg);
	if (!ret && o->meta_flush)
		ret = o->meta_flush(o->meta_flush_arg);
	if (!ret && ordered)
		ret = blk_flush(j->j_image);
	return ret;
}

/* Room in the log for @t, checkpointing everything older when there is not. */
static int commit_reserve(struct jbd_journal *j, struct jbd_txn *t)
{
	uint32_t need = log_blocks_needed(j->j_log, t);

	if (need > j->j_capacity) {
		fprintf(j->j_msg, "journal: transaction %u needs %u log blocks, the log has %u\n",
			t->t_tid, need, j->j_capacity);
		return -ENOSPC;
	}
	if (need > j->j_capacity - j->j_used)
		return jbd_checkpoint_all(j, t->t_tid);
	return 0;
}

/* The running transaction becomes the committing one; a new one runs. */
static int commit_switch(struct jbd_journal *j, struct jbd_txn *t)
{
	t->t_state = T_COMMITTING;
	return jbd_txn_new(j, t->t_tid + 1);
}

static int write_revokes(struct logw *w, struct jbd_txn *t, uint8_t *block)
{
	struct jbd_log *log = w->w_j->j_log;
	unsigned rec = (log->l_incompat & JBD_INCOMPAT_64BIT) ? 8 : 4;
	unsigned per = revokes_per_block(log), n = 0;
	uint64_t *blks = NULL;
	size_t count = t->t_revokes.rt_count;
	int ret = jbd_revtab_sorted(&t->t_revokes, &blks);

	for (size_t i = 0; !ret && i < count; i++) {
		unsigned off;

		if (!n)
			header(block, log->l_bsize, JBD_REVOKE, t->t_tid);
		off = JBD_REVOKE_HDR_SIZE + n * rec;
		if (rec == 8)
			jbd_put64(block, off, blks[i]);
		else
			jbd_put32(block, off, (uint32_t)blks[i]);
		n++;
		if (n == per || i + 1 == count) {
			jbd_put32(block, JBD_REVOKE_COUNT, JBD_REVOKE_HDR_SIZE + n * rec);
			jbd_tail_csum_set(log, block);
			ret = logw_put(w, block, 0);
			w->w_j->j_stats.revokes_logged += n;
			n = 0;
		}
	}
	free(blks);
	return ret;
}

/* Fills one tag at *off for @b; the copy to log goes to @copy (escaped). */
static void put_tag(const struct jbd_log *log, uint8_t *desc, unsigned *off, int first,
		    int last, const struct jbd_buf *b, uint8_t *copy, uint32_t tid)
{
	unsigned o = *off, flags = 0;
	uint32_t csum;

	memcpy(copy, b->b_data, log->l_bsize);
	if (jbd_get32(copy, 0) == JBD_MAGIC) {
		jbd_put32(copy, 0, 0);
		flags |= JBD_FLAG_ESCAPE;
	}
	if (!first)
		flags |= JBD_FLAG_SAME_UUID;
	if (last)
		flags |= JBD_FLAG_LAST_TAG;
	memset(desc + o, 0, log->l_tag_bytes);
	jbd_put32(desc, o + JBD_TAG_BLOCKNR, (uint32_t)b->b_blk);
	if (log->l_incompat & JBD_INCOMPAT_64BIT)
		jbd_put32(desc, o + JBD_TAG_BLOCKNR_HIGH, (uint32_t)(b->b_blk >> 32));
	jbd_put16(desc, o + JBD_TAG_FLAGS, flags);
	if (jbd_has_csum(log)) {
		csum = jbd_block_csum(log, tid, copy);
		if (log->l_incompat & JBD_INCOMPAT_CSUM_V3)
			jbd_put32(desc, o + JBD_TAG_CSUM32, csum);
		else
			jbd_put16(desc, o + JBD_TAG_CSUM16, csum & 0xffff);
	}
	o += log->l_tag_bytes;
	if (first) {
		memcpy(desc + o, log->l_sb + JSB_UUID, JBD_TAG_UUID_SIZE);
		o += JBD_TAG_UUID_SIZE;
	}
	*off = o;
}

/* One descriptor block for bufs[0..n) followed by their copies. */
static int write_chunk(struct logw *w, struct jbd_txn *t, struct jbd_buf **bufs, unsigned n,
		       uint8_t *desc, uint8_t *copies)
{
	struct jbd_log *log = w->w_j->j_log;
	unsigned off = JBD_HDR_SIZE, bs = log->l_bsize;
	int ret;

	header(desc, bs, JBD_DESCRIPTOR, t->t_tid);
	for (unsigned i = 0; i < n; i++)
		put_tag(log, desc, &off, i == 0, i + 1 == n, bufs[i], copies + (size_t)i * bs,
			t->t_tid);
	jbd_tail_csum_set(log, desc);
	ret = logw_put(w, desc, 1);
	for (unsigned i = 0; !ret && i < n; i++)
		ret = logw_put(w, copies + (size_t)i * bs, 1);
	w->w_j->j_stats.blocks_logged += n;
	return ret;
}

/* (2) revokes, descriptors and copies, then a flush. */
static int commit_write_log(struct logw *w, struct jbd_txn *t)
{
	struct jbd_log *log = w->w_j->j_log;
	unsigned tpd = tags_per_descriptor(log), bs = log->l_bsize;
	size_t count = t->t_bufs.bs_count;
	struct jbd_buf **bufs = NULL;
	uint8_t *desc = malloc(bs), *copies = malloc((size_t)tpd * bs);
	int ret = -ENOMEM;

	if (!desc || !copies)
		goto out;
	ret = write_revokes(w, t, desc);
	if (!ret)
		ret = jbd_bufset_sorted(&t->t_bufs, &bufs);
	for (size_t i = 0; !ret && i < count; i += tpd) {
		unsigned n = count - i < tpd ? count - i : tpd;

		ret = write_chunk(w, t, bufs + i, n, desc, copies);
	}
	if (!ret)
		ret = logw_flush(w);
	if (!ret)
		ret = blk_flush(w->w_j->j_image);
out:
	free(bufs);
	free(copies);
	free(desc);
	return ret;
}

/* (3) the commit block. */
static int commit_write_commit(struct logw *w, struct jbd_txn *t)
{
	struct jbd_log *log = w->w_j->j_log;
	uint8_t *block = malloc(log->l_bsize);
	struct timespec now;
	int ret;

	if (!block)
		return -ENOMEM;
	clock_gettime(CLOCK_REALTIME, &now);
	header(block, log->l_bsize, JBD_COMMIT, t->t_tid);
	jbd_put64(block, JBD_COMMIT_SEC, (uint64_t)now.tv_sec);
	jbd_put32(block, JBD_COMMIT_NSEC, (uint32_t)now.tv_nsec);
	if (jbd_has_csum(log)) {
		jbd_commit_csum_set(log, block);
	} else if (log->l_compat & JBD_COMPAT_CHECKSUM) {
		block[JBD_COMMIT_CSUM_TYPE] = JBD_CSUM_TYPE_CRC32;
		block[JBD_COMMIT_CSUM_SIZE] = 4;
		jbd_put32(block, JBD_COMMIT_CSUM, w->w_crc);
	}
	ret = logw_put(w, block, 0);
	if (!ret)
		ret = logw_flush(w);
	if (!ret)
		ret = blk_flush(w->w_j->j_image);
	/* COMMIT POINT: once this flush returns, the transaction survives a crash. */
	free(block);
	return ret;
}

/* After the commit point: the blocks wait in the checkpoint set. */
static int commit_finish(struct jbd_journal *j, struct jbd_txn *t)
{
	struct jbd_rev *r;
	int ret;

	for (size_t i = 0; i < t->t_revokes.rt_nbuckets; i++)
		for (r = t->t_revokes.rt_hash[i]; r; r = r->rv_next)
			jbd_bufset_del(&j->j_checkpoint, r->rv_blk);
	ret = jbd_bufset_move(&j->j_checkpoint, &t->t_bufs);
	t->t_state = T_COMMITTED;
	j->j_stats.commits++;
	return ret;
}

static int commit_log(struct jbd_journal *j, struct jbd_txn *t)
{
	struct logw w = { .w_j = j, .w_crc = ~0u };
	int ret;

	w.w_buf = malloc((size_t)LOGW_BATCH * j->j_log->l_bsize);
	if (!w.w_buf)
		return -ENOMEM;
	ret = commit_write_log(&w, t);
	if (!ret)
		ret = commit_write_commit(&w, t);
	free(w.w_buf);
	return ret;
}

int jbd_commit_running(struct jbd_journal *j)
{
	struct jbd_txn *t = j->j_running;
	uint32_t tid = t->t_tid;
	int ret;

	assert(jbd_invariants_hold(j) && j->j_handle.h_depth == 0 && !j->j_in_commit);
	j->j_in_commit = 1;
	j->j_commit_requested = 0;
	ret = commit_data(j);
	if (ret || jbd_txn_empty(t))
		goto out;
	ret = commit_reserve(j, t);
	if (!ret)
		ret = commit_switch(j, t);
	if (ret)
		goto out;
	ret = commit_log(j, t);
	if (!ret)
		ret = commit_finish(j, t);
	jbd_txn_free(t);
out:
	j->j_in_commit = 0;
	if (ret)
		jbd_abort(j, ret, "commit");
	else if (j->j_commit_cb)
		j->j_commit_cb(j->j_commit_cb_arg, tid);	/* @tid is durable */
	assert(jbd_invariants_hold(j));
	return ret;
}
