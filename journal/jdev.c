/*
 * journal/jdev.c - the journal's two block devices over the image.  The meta
 * device (libext2fs's) puts every write into the running transaction, block
 * by block, and reads see the running and committed copies before the image.
 * The data device (file data) writes home directly, except a block the
 * journal still holds a copy of (a freed metadata block reused for data), or
 * every block in data=journal mode: those are journaled so a replay can never
 * write stale metadata over them.  Calls txn.c and libfs/blk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "journal/jbd_internal.h"

static int live(const struct jbd_journal *j)
{
	return j->j_state != J_PASSTHROUGH;
}

int jbd_meta_read(struct jbd_journal *j, uint64_t off, void *buf, size_t len)
{
	unsigned bs;
	uint64_t blk, end;
	int ret = blk_read(j->j_image, off, buf, len);

	if (ret || !live(j) || !len)
		return ret;
	if (!j->j_checkpoint.bs_count && (!j->j_running || !j->j_running->t_bufs.bs_count))
		return 0;
	bs = j->j_log->l_bsize;
	end = (off + len - 1) / bs;
	for (blk = off / bs; blk <= end; blk++) {
		const uint8_t *data = jbd_lookup(j, blk);
		uint64_t lo, hi;

		if (!data)
			continue;
		lo = blk * bs > off ? blk * bs : off;
		hi = (blk + 1) * bs < off + len ? (blk + 1) * bs : off + len;
		memcpy((uint8_t *)buf + (lo - off), data + (lo - blk * bs), hi - lo);
	}
	return 0;
}

int jbd_meta_write(struct jbd_journal *j, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	unsigned bs;

	if (j->j_state == J_ABORTED)
		return -EROFS;
	if (!live(j))
		return blk_write(j->j_image, off, buf, len);
	bs = j->j_log->l_bsize;
	while (len) {
		uint64_t blk = off / bs;
		unsigned in = off % bs, n = bs - in;
		int ret;

		if (n > len)
			n = len;
		ret = jbd_txn_write(j, blk, in, p, n);
		if (ret)
			return ret;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int meta_read(struct blk_dev *dev, uint64_t off, void *buf, size_t len)
{
	return jbd_meta_read(dev->private, off, buf, len);
}

static int meta_write(struct blk_dev *dev, uint64_t off, const void *buf, size_t len)
{
	return jbd_meta_write(dev->private, off, buf, len);
}

/* Durability of metadata is the commit's business: a flush here is a no-op
 * while live. */
static int meta_flush(struct blk_dev *dev)
{
	struct jbd_journal *j = dev->private;

	return live(j) ? 0 : blk_flush(j->j_image);
}

static void meta_destroy(struct blk_dev *dev)
{
	struct jbd_journal *j = dev->private;

	j->j_meta_dev = NULL;
	jbd_put(j);
}

static const struct blk_ops jbd_meta_ops = {
	.name = "journal",
	.read = meta_read,
	.write = meta_write,
	.flush = meta_flush,
	.destroy = meta_destroy,
};

/* ---- the data device ---- */

/* Writes the blocks of [off, off+len) the journal does not hold straight home. */
static int data_write_direct(struct jbd_journal *j, uint64_t off, const uint8_t *p, size_t len)
{
	return len ? blk_write(j->j_image, off, p, len) : 0;
}

/*
 * data=journal: may this write join the running transaction?  A commit
 * cannot start here (we are inside writeback, maybe inside a handle), so once
 * the transaction holds half the log the data goes home directly, as in
 * ordered mode: the file system stays consistent, only that data loses the
 * journal's atomicity (counted in data_blocks_direct); the next handle start
 * commits on pressure.  Returns 1 to journal, 0 to write home.
 */
static int journal_room(const struct jbd_journal *j)
{
	return j->j_running->t_bufs.bs_count < j->j_capacity / 2;
}

static int data_write(struct blk_dev *dev, uint64_t off, const void *buf, size_t len)
{
	struct jbd_journal *j = dev->private;
	const uint8_t *p = buf, *run = buf;
	uint64_t run_off = off;
	unsigned bs;
	int ret = 0;

	if (j->j_state == J_ABORTED)
		return -EROFS;
	if (!live(j))
		return blk_write(j->j_image, off, buf, len);
	if (j->j_opts.mode == JBD_DATA_JOURNAL) {
		unsigned long blocks = (len + j->j_log->l_bsize - 1) / j->j_log->l_bsize;

		if (journal_room(j)) {
			j->j_stats.data_blocks_journaled += blocks;
			return jbd_meta_write(j, off, buf, len);
		}
		j->j_stats.data_blocks_direct += blocks;
	}
	bs = j->j_log->l_bsize;
	while (len) {
		uint64_t blk = off / bs;
		unsigned in = off % bs, n = bs - in;

		if (n > len)
			n = len;
		if (jbd_lookup(j, blk)) {
			ret = data_write_direct(j, run_off, run, p - run);
			if (!ret)
				ret = jbd_txn_write(j, blk, in, p, n);
			if (ret)
				return ret;
			j->j_stats.data_blocks_journaled++;
			run = p + n;
			run_off = off + n;
		}
		p += n;
		off += n;
		len -= n;
	}
	return data_write_direct(j, run_off, run, p - run);
}

static int data_flush(struct blk_dev *dev)
{
	struct jbd_journal *j = dev->private;

	return blk_flush(j->j_image);
}

static const struct blk_ops jbd_data_ops = {
	.name = "journal-data",
	.read = meta_read,
	.write = data_write,
	.flush = data_flush,
};

static struct blk_dev *dev_alloc(struct jbd_journal *j, const struct blk_ops *ops)
{
	struct blk_dev *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	dev->ops = ops;
	dev->size = j->j_image->size;
	dev->block_size = j->j_image->block_size;
	dev->read_only = j->j_image->read_only;
	dev->private = j;
	return dev;
}

struct blk_dev *jbd_dev_create(struct blk_dev *image, int *err)
{
	struct jbd_journal *j = calloc(1, sizeof(*j));

	if (!j)
		goto nomem;
	j->j_image = image;
	j->j_state = J_PASSTHROUGH;
	j->j_refs = 1;
	jbd_options_init(&j->j_opts);
	j->j_msg = stderr;
	j->j_meta_dev = dev_alloc(j, &jbd_meta_ops);
	j->j_data_dev = dev_alloc(j, &jbd_data_ops);
	if (!j->j_meta_dev || !j->j_data_dev)
		goto nomem;
	return j->j_meta_dev;
nomem:
	if (j) {
		free(j->j_meta_dev);
		free(j->j_data_dev);
	}
	free(j);
	*err = -ENOMEM;
	return NULL;
}

struct jbd_journal *jbd_from_dev(struct blk_dev *meta)
{
	return meta && meta->ops == &jbd_meta_ops ? meta->private : NULL;
}
