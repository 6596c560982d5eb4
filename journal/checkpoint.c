/*
 * journal/checkpoint.c - writing committed blocks home and moving the log
 * tail.  Calls bufset.c, log.c and the image device.  Invariant: the journal
 * superblock's tail moves only after every block of the transactions it
 * drops is home and flushed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "journal/jbd_internal.h"

#define HOME_BATCH 64		/* blocks per write when contiguous */

/* Writes the sorted buffers home, merging runs of consecutive blocks. */
static int write_home(struct jbd_journal *j, struct jbd_buf **bufs, size_t count)
{
	unsigned bs = j->j_log->l_bsize;
	uint8_t *batch = malloc((size_t)HOME_BATCH * bs);
	size_t i = 0;
	int ret = 0;

	if (!batch)
		return -ENOMEM;
	while (!ret && i < count) {
		uint64_t first = bufs[i]->b_blk;
		unsigned n = 0;

		while (i < count && n < HOME_BATCH && bufs[i]->b_blk == first + n) {
			memcpy(batch + (size_t)n * bs, bufs[i]->b_data, bs);
			n++;
			i++;
		}
		ret = blk_write(j->j_image, first * bs, batch, (size_t)n * bs);
	}
	free(batch);
	return ret;
}

/* The journal superblock says where the log starts (0: empty, clean). */
static int write_tail(struct jbd_journal *j, uint32_t start, uint32_t tid)
{
	struct jbd_log *log = j->j_log;
	int ret;

	log->l_start = start;
	log->l_sequence = tid;
	ret = jbd_log_write_sb(log);
	if (!ret)
		ret = blk_flush(j->j_image);
	return ret;
}

/*
 * Every committed block home, then the tail at the head: the log is empty.
 * @next_tid is the transaction the next commit will write.
 */
int jbd_checkpoint_all(struct jbd_journal *j, uint32_t next_tid)
{
	struct jbd_buf **bufs = NULL;
	size_t count = j->j_checkpoint.bs_count;
	int ret = 0;

	if (!j->j_used && !count)
		return 0;
	if (count) {
		ret = jbd_bufset_sorted(&j->j_checkpoint, &bufs);
		if (!ret)
			ret = write_home(j, bufs, count);
		free(bufs);
		if (!ret)
			ret = blk_flush(j->j_image);
		if (ret)
			return ret;
	}
	jbd_bufset_free(&j->j_checkpoint);
	jbd_bufset_init(&j->j_checkpoint, j->j_log->l_bsize);
	j->j_tail = j->j_head;
	j->j_tail_tid = next_tid;
	j->j_used = 0;
	j->j_stats.checkpoints++;
	return write_tail(j, j->j_tail, next_tid);
}

/* After the last checkpoint of a clean unmount: s_start 0. */
int jbd_mark_empty(struct jbd_journal *j)
{
	return write_tail(j, 0, j->j_running ? j->j_running->t_tid : j->j_tail_tid);
}
