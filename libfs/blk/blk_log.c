/*
 * libfs/blk/blk_log.c - the write log and the crash cut, as dm-log-writes does:
 * every write and flush below is recorded; with crash_after = N, the Nth block
 * write (counted in dev->block_size units) is the last that reaches the lower
 * device, then crash_fn runs (default: _exit(3), a power cut for a command).
 * Invariant: once cut, nothing more is written below, ever.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "libfs/blk/blk.h"

struct blk_log {
	struct blk_log_rec *recs;
	size_t nrecs, cap;
	uint64_t block_writes;		/* blocks that reached the lower device */
	uint64_t crash_after;		/* 0: never */
	int cut;
	void (*crash_fn)(void *);
	void *crash_arg;
};

static int log_append(struct blk_log *l, uint64_t off, uint32_t len)
{
	if (l->nrecs == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct blk_log_rec *recs = realloc(l->recs, cap * sizeof(*recs));

		if (!recs)
			return -ENOMEM;
		l->recs = recs;
		l->cap = cap;
	}
	l->recs[l->nrecs].off = off;
	l->recs[l->nrecs].len = len;
	l->nrecs++;
	return 0;
}

static void log_crash(struct blk_log *l)
{
	l->cut = 1;
	if (l->crash_fn)
		l->crash_fn(l->crash_arg);
	else
		_exit(3);
}

static int log_read(struct blk_dev *dev, uint64_t off, void *buf, size_t len)
{
	return blk_read(dev->lower, off, buf, len);
}

/*
 * Splits the write at the cut: blocks up to and including the crash_after-th
 * reach the device, the rest do not.  Partial blocks count as one block write.
 */
static int log_write(struct blk_dev *dev, uint64_t off, const void *buf, size_t len)
{
	struct blk_log *l = dev->private;
	uint64_t bs = dev->block_size, first = off / bs, last = (off + len - 1) / bs;
	uint64_t blocks = len ? last - first + 1 : 0, room;
	size_t allowed = len;
	int ret;

	if (l->cut)
		return -EIO;
	room = l->crash_after ? l->crash_after - l->block_writes : blocks;
	if (blocks > room) {
		uint64_t end = (first + room) * bs;

		allowed = end > off ? (size_t)(end - off) : 0;
		blocks = room;
	}
	if (allowed) {
		ret = blk_write(dev->lower, off, buf, allowed);
		if (ret)
			return ret;
		ret = log_append(l, off, (uint32_t)allowed);
		if (ret)
			return ret;
	}
	l->block_writes += blocks;
	dev->stats.writes++;
	dev->stats.bytes_written += allowed;
	if (l->crash_after && l->block_writes >= l->crash_after) {
		log_crash(l);
		return -EIO;
	}
	return 0;
}

static int log_flush(struct blk_dev *dev)
{
	struct blk_log *l = dev->private;
	int ret;

	if (l->cut)
		return -EIO;
	ret = blk_flush(dev->lower);
	if (ret)
		return ret;
	dev->stats.flushes++;
	return log_append(l, 0, 0);
}

static void log_destroy(struct blk_dev *dev)
{
	struct blk_log *l = dev->private;

	free(l->recs);
	free(l);
}

static const struct blk_ops log_ops = {
	.name = "log",
	.read = log_read,
	.write = log_write,
	.flush = log_flush,
	.destroy = log_destroy,
};

struct blk_dev *blk_log_create(struct blk_dev *lower, uint64_t crash_after,
			       void (*crash_fn)(void *), void *crash_arg, int *err)
{
	struct blk_log *l = calloc(1, sizeof(*l));
	struct blk_dev *dev;

	if (!l) {
		*err = -ENOMEM;
		return NULL;
	}
	l->crash_after = crash_after;
	l->crash_fn = crash_fn;
	l->crash_arg = crash_arg;
	dev = calloc(1, sizeof(*dev));
	if (!dev) {
		free(l);
		*err = -ENOMEM;
		return NULL;
	}
	dev->ops = &log_ops;
	dev->lower = lower;
	dev->size = lower->size;
	dev->block_size = lower->block_size;
	dev->read_only = lower->read_only;
	dev->private = l;
	return dev;
}

const struct blk_log_rec *blk_log_records(struct blk_dev *dev, size_t *count)
{
	struct blk_log *l = dev->private;

	*count = l->nrecs;
	return l->recs;
}

uint64_t blk_log_block_writes(struct blk_dev *dev)
{
	struct blk_log *l = dev->private;

	return l->block_writes;
}
