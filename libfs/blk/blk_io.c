/*
 * libfs/blk/blk_io.c - the io_manager adapter: libext2fs opens "e4blk:<address>"
 * and every read, write, write_byte and flush it makes goes to that blk_dev.
 * Calls only the blk_dev below.  The channel owns nothing but its name; the
 * device outlives it (the caller closes the device after ext2fs_close).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libfs/blk/blk.h"

#define E4BLK_PREFIX "e4blk:"

struct blk_chan {
	struct blk_dev *dev;
	struct struct_io_stats stats;
};

errcode_t blk_errno_to_errcode(int err)
{
	if (err == 0)
		return 0;
	if (err == -ENOSPC)
		return EXT2_ET_BLOCK_ALLOC_FAIL;
	return (errcode_t)(err < 0 ? -err : err);
}

int blk_errcode_to_errno(errcode_t err)
{
	if (err == 0)
		return 0;
	if (err > 0 && err < 4096)	/* a plain errno carried as an errcode */
		return -(int)err;
	switch (err) {
	case EXT2_ET_NO_MEMORY:
		return -ENOMEM;
	case EXT2_ET_BLOCK_ALLOC_FAIL:
	case EXT2_ET_INODE_ALLOC_FAIL:
	case EXT2_ET_DIR_NO_SPACE:
	case EXT2_ET_TOOSMALL:
		return -ENOSPC;
	case EXT2_ET_RO_FILSYS:
		return -EROFS;
	case EXT2_ET_SHORT_READ:
	case EXT2_ET_SHORT_WRITE:
		return -EIO;
	case EXT2_ET_UNIMPLEMENTED:
		return -EOPNOTSUPP;
	default:
		return -EUCLEAN;
	}
}

void blk_io_name(struct blk_dev *dev, char *name, size_t size)
{
	snprintf(name, size, E4BLK_PREFIX "%p", (void *)dev);
}

static struct blk_chan *chan_of(io_channel channel)
{
	return channel->private_data;
}

static errcode_t bio_open(const char *name, int flags, io_channel *channel)
{
	struct struct_io_channel *io;
	struct blk_chan *bc;
	void *addr = NULL;

	if (!name || strncmp(name, E4BLK_PREFIX, strlen(E4BLK_PREFIX)) ||
	    sscanf(name + strlen(E4BLK_PREFIX), "%p", &addr) != 1 || !addr)
		return EXT2_ET_BAD_DEVICE_NAME;
	io = calloc(1, sizeof(*io));
	bc = calloc(1, sizeof(*bc));
	if (io)
		io->name = strdup(name);
	if (!io || !bc || !io->name) {
		if (io)
			free(io->name);
		free(io);
		free(bc);
		return EXT2_ET_NO_MEMORY;
	}
	bc->dev = addr;
	bc->stats.num_fields = 2;
	io->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	io->manager = blk_io_manager;
	io->block_size = 1024;
	io->refcount = 1;
	io->private_data = bc;
	if ((flags & IO_FLAG_RW) && bc->dev->read_only) {
		free(io->name);
		free(io);
		free(bc);
		return EXT2_ET_RO_FILSYS;
	}
	*channel = io;
	return 0;
}

static errcode_t bio_close(io_channel channel)
{
	if (--channel->refcount > 0)
		return 0;
	free(channel->private_data);
	free(channel->name);
	free(channel);
	return 0;
}

static errcode_t bio_set_blksize(io_channel channel, int blksize)
{
	channel->block_size = blksize;
	return 0;
}

/* count < 0 means -count bytes, as in every io_manager. */
static size_t io_bytes(io_channel channel, int count)
{
	return count < 0 ? (size_t)-(long)count : (size_t)count * (size_t)channel->block_size;
}

static errcode_t bio_read_blk64(io_channel channel, unsigned long long block,
				int count, void *data)
{
	struct blk_chan *bc = chan_of(channel);
	size_t len = io_bytes(channel, count);
	int ret = blk_read(bc->dev, block * (uint64_t)channel->block_size, data, len);

	if (ret) {
		if (channel->read_error)
			return channel->read_error(channel, block, count, data, len, 0,
						   blk_errno_to_errcode(ret));
		return ret == -EIO ? EXT2_ET_SHORT_READ : blk_errno_to_errcode(ret);
	}
	bc->stats.bytes_read += len;
	return 0;
}

static errcode_t bio_write_blk64(io_channel channel, unsigned long long block,
				 int count, const void *data)
{
	struct blk_chan *bc = chan_of(channel);
	size_t len = io_bytes(channel, count);
	int ret = blk_write(bc->dev, block * (uint64_t)channel->block_size, data, len);

	if (ret) {
		if (channel->write_error)
			return channel->write_error(channel, block, count, data, len, 0,
						    blk_errno_to_errcode(ret));
		return ret == -EIO ? EXT2_ET_SHORT_WRITE : blk_errno_to_errcode(ret);
	}
	bc->stats.bytes_written += len;
	return 0;
}

static errcode_t bio_read_blk(io_channel channel, unsigned long block, int count, void *data)
{
	return bio_read_blk64(channel, block, count, data);
}

static errcode_t bio_write_blk(io_channel channel, unsigned long block, int count,
			       const void *data)
{
	return bio_write_blk64(channel, block, count, data);
}

/* A partial write at a byte offset (libext2fs updates superblock fields so). */
static errcode_t bio_write_byte(io_channel channel, unsigned long offset, int count,
				const void *data)
{
	struct blk_chan *bc = chan_of(channel);
	int ret;

	if (count < 0)
		return EXT2_ET_INVALID_ARGUMENT;
	ret = blk_write(bc->dev, offset, data, (size_t)count);
	if (ret)
		return blk_errno_to_errcode(ret);
	bc->stats.bytes_written += (unsigned long long)count;
	return 0;
}

static errcode_t bio_flush(io_channel channel)
{
	return blk_errno_to_errcode(blk_flush(chan_of(channel)->dev));
}

static errcode_t bio_set_option(io_channel channel, const char *option, const char *arg)
{
	return EXT2_ET_INVALID_ARGUMENT;
}

static errcode_t bio_get_stats(io_channel channel, io_stats *stats)
{
	*stats = &chan_of(channel)->stats;
	return 0;
}

static errcode_t bio_zeroout(io_channel channel, unsigned long long block,
			     unsigned long long count)
{
	static const char zeros[65536];
	uint64_t off = block * (uint64_t)channel->block_size;
	uint64_t len = count * (uint64_t)channel->block_size;
	struct blk_dev *dev = chan_of(channel)->dev;

	while (len) {
		size_t n = len > sizeof(zeros) ? sizeof(zeros) : (size_t)len;
		int ret = blk_write(dev, off, zeros, n);

		if (ret)
			return blk_errno_to_errcode(ret);
		off += n;
		len -= n;
	}
	return 0;
}

static errcode_t bio_discard(io_channel channel, unsigned long long block,
			     unsigned long long count)
{
	return EXT2_ET_UNIMPLEMENTED;
}

static struct struct_io_manager blk_io_manager_table = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "e4lab blk_dev",
	.open = bio_open,
	.close = bio_close,
	.set_blksize = bio_set_blksize,
	.read_blk = bio_read_blk,
	.write_blk = bio_write_blk,
	.flush = bio_flush,
	.write_byte = bio_write_byte,
	.set_option = bio_set_option,
	.get_stats = bio_get_stats,
	.read_blk64 = bio_read_blk64,
	.write_blk64 = bio_write_blk64,
	.discard = bio_discard,
	.zeroout = bio_zeroout,
};

io_manager blk_io_manager = &blk_io_manager_table;
