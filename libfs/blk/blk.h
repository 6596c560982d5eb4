/*
 * libfs/blk - the block device: an image as a byte-addressed device, built from
 * stackable backends behind one table of operations (as libext2fs's io_managers).
 *
 *   file    pread/pwrite/fdatasync on an image file
 *   mem     a whole image in memory (gzip images are inflated into one)
 *   overlay copy-on-write over a lower device (reads fall through, writes stay)
 *   log     every write and flush recorded, with a crash cut: after the Nth block
 *           write nothing more reaches the lower device and crash_fn runs
 *
 * Calls nothing above it.  All I/O is in bytes; a "block write" for the crash
 * counter is one blk_dev->block_size unit of a write.  Returns 0 or -errno.
 */
#ifndef E4_BLK_H
#define E4_BLK_H

#include <stddef.h>
#include <stdint.h>
#include <ext2fs/ext2fs.h>

struct blk_dev;

struct blk_ops {
	const char *name;
	int (*read)(struct blk_dev *dev, uint64_t off, void *buf, size_t len);
	int (*write)(struct blk_dev *dev, uint64_t off, const void *buf, size_t len);
	int (*flush)(struct blk_dev *dev);
	void (*destroy)(struct blk_dev *dev);	/* frees private state, not lower */
};

struct blk_stats {
	uint64_t reads, writes, flushes;	/* calls */
	uint64_t bytes_read, bytes_written;
};

struct blk_dev {
	const struct blk_ops *ops;
	struct blk_dev *lower;		/* owned: destroyed with this device */
	uint64_t size;			/* bytes */
	unsigned block_size;		/* unit of the crash counter; 4096 until set */
	int read_only;
	struct blk_stats stats;
	void *private;
};

/* Backends.  Each returns a device or NULL with *err set (negative errno). */
struct blk_dev *blk_file_open(const char *path, int read_only, int *err);
struct blk_dev *blk_mem_create(uint64_t size, int *err);
/* Reads a plain or gzip-compressed image wholly into memory (read-only). */
struct blk_dev *blk_mem_load(const char *path, int *err);
/* @data stays the caller's (never written, never freed): under an overlay, many
 * short-lived devices share one base image (libfs/study's engine world). */
struct blk_dev *blk_mem_borrow(const void *data, uint64_t size, int *err);
struct blk_dev *blk_overlay_create(struct blk_dev *lower, int *err);
/* Writes what overlay @src holds into @dst (of the same size): over the same
 * lower contents, @dst then reads as @src does now. */
int blk_overlay_copy(struct blk_dev *dst, const struct blk_dev *src);

/* Opens IMAGE the way every command does: "*.gz" (or gzip magic) in memory and
 * read-only, otherwise the file. */
struct blk_dev *blk_open_image(const char *path, int read_only, int *err);

/* The write log and crash cut.  crash_after = 0 records without cutting. */
struct blk_log_rec {
	uint64_t off;
	uint32_t len;		/* 0 for a flush mark */
};
struct blk_dev *blk_log_create(struct blk_dev *lower, uint64_t crash_after,
			       void (*crash_fn)(void *), void *crash_arg, int *err);
/* Records so far (owned by the device). */
const struct blk_log_rec *blk_log_records(struct blk_dev *dev, size_t *count);
uint64_t blk_log_block_writes(struct blk_dev *dev);

static inline int blk_read(struct blk_dev *dev, uint64_t off, void *buf, size_t len)
{
	return dev->ops->read(dev, off, buf, len);
}
int blk_write(struct blk_dev *dev, uint64_t off, const void *buf, size_t len);
int blk_flush(struct blk_dev *dev);
/* Destroys @dev and every device below it. */
void blk_close(struct blk_dev *dev);

/*
 * The io_manager adapter: libext2fs opens "e4blk:<n>" where <n> came from
 * blk_io_register(); all of libext2fs's I/O then goes through @dev.  The
 * registration holds no reference; unregister after ext2fs_close().
 */
extern io_manager blk_io_manager;
/* Writes the name to pass to ext2fs_open2 into @name (at least 32 bytes). */
void blk_io_name(struct blk_dev *dev, char *name, size_t size);

/* Translate a libext2fs error code into a negative errno. */
int blk_errcode_to_errno(errcode_t err);
errcode_t blk_errno_to_errcode(int err);

#endif /* E4_BLK_H */
