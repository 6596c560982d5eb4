/*
 * libfs/api, open files: open/create, positional reads and writes through the
 * vfs data path, truncate, fallocate, fsync, fstat.  Calls libfs/vfs,
 * libfs/disk and inline/.  Invariant: an e4_file holds one inode reference.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <linux/falloc.h>

#include "libfs/api/api_internal.h"
#include "libfs/vfs/vfs.h"
#include "inline/inline.h"

#define API_CREDITS_WRITE_MAX	2048

static int can_read(const struct e4_file *f)
{
	return (f->flags & O_ACCMODE) != O_WRONLY;
}

static int can_write(const struct e4_file *f)
{
	return (f->flags & O_ACCMODE) != O_RDONLY;
}

/* Creates @path as a regular file; *out referenced. */
static int create_file(struct e4_fs *fs, const char *path, mode_t mode,
		       struct disk_inode **out)
{
	struct disk_inode *dir;
	const char *name;
	size_t len;
	int err;

	err = disk_namei_parent(fs->dfs, path, &dir, &name, &len);
	if (err)
		return err == -EEXIST ? -EISDIR : err;
	err = api_begin(fs, API_CREDITS_NS);
	if (!err) {
		err = disk_create(dir, name, len, S_IFREG | (mode & 07777), 0, out);
		if (!err)
			inl_init_new_inode(*out);
		err = api_end(fs, err);
	}
	disk_iput(dir);
	return err;
}

static int open_checks(struct e4_fs *fs, struct disk_inode *inode, int flags)
{
	int acc = flags & O_ACCMODE;

	if ((flags & O_NOFOLLOW) && LINUX_S_ISLNK(inode->raw.i_mode))
		return -ELOOP;
	if (LINUX_S_ISDIR(inode->raw.i_mode) &&
	    (acc != O_RDONLY || (flags & (O_TRUNC | O_CREAT))))
		return -EISDIR;
	if (acc != O_RDONLY && fs->read_only)
		return -EROFS;
	return 0;
}

static int open_truncate(struct e4_fs *fs, struct disk_inode *inode)
{
	int err;

	if (!LINUX_S_ISREG(inode->raw.i_mode) || disk_i_size(inode) == 0)
		return 0;
	err = api_begin(fs, API_CREDITS_NS);
	if (err)
		return err;
	err = vfs_truncate(inode, 0);
	if (!err) {
		disk_touch(inode);
		err = disk_write_inode(inode);
	}
	return api_end(fs, err);
}

int e4_open(struct e4_fs *fs, const char *path, int flags, mode_t mode,
	    struct e4_file **fp)
{
	struct disk_inode *inode = NULL;
	struct e4_file *f;
	int err;

	*fp = NULL;
	if ((flags & O_CREAT) && fs->read_only)
		return -EROFS;
	err = disk_namei(fs->dfs, path, !(flags & O_NOFOLLOW), &inode);
	if (err == -ENOENT && (flags & O_CREAT))
		err = create_file(fs, path, mode, &inode);
	else if (!err && (flags & O_CREAT) && (flags & O_EXCL))
		err = -EEXIST;
	if (!err)
		err = open_checks(fs, inode, flags);
	if (!err && (flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY)
		err = open_truncate(fs, inode);
	if (err)
		goto fail;
	f = calloc(1, sizeof(*f));
	if (!f) {
		err = -ENOMEM;
		goto fail;
	}
	f->fs = fs;
	f->inode = inode;
	f->flags = flags;
	*fp = f;
	return 0;
fail:
	disk_iput(inode);
	return err;
}

/* The last put of an unlinked inode frees it, in a handle of its own. */
int e4_close(struct e4_file *f)
{
	if (!f)
		return 0;
	disk_iput(f->inode);
	free(f);
	return 0;
}

ssize_t e4_preadv(struct e4_file *f, const struct iovec *iov, int iovcnt, uint64_t off)
{
	if (!can_read(f))
		return -EBADF;
	if (LINUX_S_ISDIR(f->inode->raw.i_mode))
		return -EISDIR;
	if (!LINUX_S_ISREG(f->inode->raw.i_mode))
		return -EINVAL;
	if (iovcnt < 0)
		return -EINVAL;
	return vfs_read_iter(f->inode, iov, iovcnt, off);
}

ssize_t e4_pread(struct e4_file *f, void *buf, size_t len, uint64_t off)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	return e4_preadv(f, &iov, 1, off);
}

static unsigned write_credits(struct e4_file *f, const struct iovec *iov, int iovcnt)
{
	size_t bytes = 0;
	uint64_t blocks;
	int i;

	for (i = 0; i < iovcnt; i++)
		bytes += iov[i].iov_len;
	blocks = bytes / f->inode->dfs->block_size + 2;
	blocks = 16 + blocks / 8;
	return blocks > API_CREDITS_WRITE_MAX ? API_CREDITS_WRITE_MAX : (unsigned)blocks;
}

ssize_t e4_pwritev(struct e4_file *f, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct e4_fs *fs = f->fs;
	ssize_t ret;
	int err;

	if (!can_write(f))
		return -EBADF;
	if (!LINUX_S_ISREG(f->inode->raw.i_mode))
		return -EINVAL;
	if (iovcnt < 0)
		return -EINVAL;
	err = api_begin(fs, write_credits(f, iov, iovcnt));
	if (err)
		return err;
	if (f->flags & O_APPEND)
		off = disk_i_size(f->inode);
	ret = vfs_write_iter(f->inode, iov, iovcnt, off);
	if (ret > 0)
		disk_touch(f->inode);
	err = api_end(fs, disk_write_inode(f->inode));
	return ret < 0 || !err ? ret : err;
}

ssize_t e4_pwrite(struct e4_file *f, const void *buf, size_t len, uint64_t off)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return e4_pwritev(f, &iov, 1, off);
}

int e4_ftruncate(struct e4_file *f, uint64_t size)
{
	int err;

	if (!can_write(f))
		return -EBADF;
	if (!LINUX_S_ISREG(f->inode->raw.i_mode))
		return -EINVAL;
	err = api_begin(f->fs, API_CREDITS_NS);
	if (err)
		return err;
	err = vfs_truncate(f->inode, size);
	if (!err) {
		disk_touch(f->inode);
		err = disk_write_inode(f->inode);
	}
	return api_end(f->fs, err);
}

int e4_fallocate(struct e4_file *f, int mode, uint64_t off, uint64_t len)
{
	int err;

	if (!can_write(f))
		return -EBADF;
	if (mode != 0 && mode != FALLOC_FL_KEEP_SIZE &&
	    mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (!LINUX_S_ISREG(f->inode->raw.i_mode))
		return LINUX_S_ISDIR(f->inode->raw.i_mode) ? -EISDIR : -ENODEV;
	if (len == 0)
		return -EINVAL;
	err = api_begin(f->fs, API_CREDITS_NS);
	if (err)
		return err;
	err = vfs_fallocate(f->inode, mode, off, len);
	if (!err) {
		disk_touch(f->inode);
		err = disk_write_inode(f->inode);
	}
	return api_end(f->fs, err);
}

int e4_fsync(struct e4_file *f)
{
	struct e4_fs *fs = f->fs;
	int err;

	if (fs->read_only)
		return 0;
	err = vfs_writeback_inode(f->inode);
	if (err)
		return err;
	err = api_begin(fs, API_CREDITS_ATTR);
	if (err)
		return err;
	if (f->inode->dirty)
		err = disk_write_inode(f->inode);
	err = api_end(fs, err);
	if (err)
		return err;
	return disk_commit(fs->dfs);
}

int e4_fstat(struct e4_file *f, struct e4_stat *st)
{
	api_fill_stat(f->inode, st);
	return 0;
}
