/*
 * libfs/api, operations by path: stat, namespace changes, attributes, readdir,
 * xattrs.  Calls libfs/disk (names, inodes), libfs/vfs (truncate) and inline/
 * (inline size for stat).  Every change runs inside a disk handle.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "libfs/api/api_internal.h"
#include "libfs/vfs/vfs.h"
#include "inline/inline.h"

int api_begin(struct e4_fs *fs, unsigned credits)
{
	if (fs->read_only)
		return -EROFS;
	return disk_handle_start(fs->dfs, credits);
}

/* Stops the handle; returns @err, or the stop's error if @err was 0. */
int api_end(struct e4_fs *fs, int err)
{
	int err2 = disk_handle_stop(fs->dfs);

	return err ? err : err2;
}

void api_fill_stat(struct disk_inode *inode, struct e4_stat *st)
{
	const struct ext2_inode_large *raw = &inode->raw;
	int isz;

	memset(st, 0, sizeof(*st));
	st->ino = inode->ino;
	st->mode = raw->i_mode;
	st->nlink = raw->i_links_count;
	st->uid = inode_uid(*raw);
	st->gid = inode_gid(*raw);
	st->size = disk_i_size(inode);
	st->blocks = disk_i_blocks(inode);
	st->rdev = disk_i_rdev(inode);
	disk_get_time(inode, DISK_ATIME, &st->atime);
	disk_get_time(inode, DISK_MTIME, &st->mtime);
	disk_get_time(inode, DISK_CTIME, &st->ctime);
	disk_get_time(inode, DISK_CRTIME, &st->crtime);
	st->flags = raw->i_flags;
	st->is_inline = inl_has_inline_data(inode);
	st->may_inline = inl_may_inline(inode);
	if (st->is_inline) {
		isz = inl_inline_size(inode);
		st->inline_size = isz > 0 ? isz : 0;
	}
}

/* ---- lookups ---- */

static int get_inode(struct e4_fs *fs, const char *path, struct disk_inode **out)
{
	return disk_namei(fs->dfs, path, 0, out);
}

int e4_stat(struct e4_fs *fs, const char *path, struct e4_stat *st)
{
	struct disk_inode *inode;
	int err;

	err = get_inode(fs, path, &inode);
	if (err)
		return err;
	api_fill_stat(inode, st);
	disk_iput(inode);
	return 0;
}

/* ---- namespace ---- */

/* Parent directory and last name of @path, inside a handle on success. */
struct ns_op {
	struct disk_inode *dir;
	const char *name;
	size_t len;
};

static int ns_begin(struct e4_fs *fs, const char *path, struct ns_op *op)
{
	int err;

	if (fs->read_only)
		return -EROFS;
	err = disk_namei_parent(fs->dfs, path, &op->dir, &op->name, &op->len);
	if (err)
		return err;
	err = api_begin(fs, API_CREDITS_NS);
	if (err) {
		disk_iput(op->dir);
		op->dir = NULL;
	}
	return err;
}

static int ns_end(struct e4_fs *fs, struct ns_op *op, int err)
{
	disk_iput(op->dir);
	return api_end(fs, err);
}

int e4_unlink(struct e4_fs *fs, const char *path)
{
	struct ns_op op;
	int err;

	err = ns_begin(fs, path, &op);
	if (err)
		return err == -EEXIST ? -EISDIR : err;
	return ns_end(fs, &op, disk_unlink(op.dir, op.name, op.len));
}

int e4_mkdir(struct e4_fs *fs, const char *path, mode_t mode)
{
	struct disk_inode *inode = NULL;
	struct ns_op op;
	int err;

	err = ns_begin(fs, path, &op);
	if (err)
		return err;
	err = disk_mkdir(op.dir, op.name, op.len, mode, &inode);
	disk_iput(inode);
	return ns_end(fs, &op, err);
}

int e4_rmdir(struct e4_fs *fs, const char *path)
{
	struct ns_op op;
	int err;

	err = ns_begin(fs, path, &op);
	if (err)
		return err == -EEXIST ? -EBUSY : err;
	return ns_end(fs, &op, disk_rmdir(op.dir, op.name, op.len));
}

/* rename(2), or with @exchange renameat2's RENAME_EXCHANGE: one handle, both
 * parents looked up the same way. */
static int rename_names(struct e4_fs *fs, const char *from, const char *to, int exchange)
{
	struct ns_op a, b;
	int err;

	err = ns_begin(fs, from, &a);
	if (err)
		return err == -EEXIST ? -EBUSY : err;
	err = disk_namei_parent(fs->dfs, to, &b.dir, &b.name, &b.len);
	if (err)
		return ns_end(fs, &a, err == -EEXIST ? -EBUSY : err);
	if (exchange)
		err = disk_rename_exchange(a.dir, a.name, a.len, b.dir, b.name, b.len);
	else
		err = disk_rename(a.dir, a.name, a.len, b.dir, b.name, b.len);
	disk_iput(b.dir);
	return ns_end(fs, &a, err);
}

int e4_rename(struct e4_fs *fs, const char *from, const char *to)
{
	return rename_names(fs, from, to, 0);
}

int e4_rename_exchange(struct e4_fs *fs, const char *a, const char *b)
{
	return rename_names(fs, a, b, 1);
}

int e4_link(struct e4_fs *fs, const char *existing, const char *newpath)
{
	struct disk_inode *inode;
	struct ns_op op;
	int err;

	err = get_inode(fs, existing, &inode);
	if (err)
		return err;
	err = ns_begin(fs, newpath, &op);
	if (err) {
		disk_iput(inode);
		return err;
	}
	err = disk_link(op.dir, op.name, op.len, inode);
	disk_iput(inode);
	return ns_end(fs, &op, err);
}

int e4_symlink(struct e4_fs *fs, const char *target, const char *linkpath)
{
	struct disk_inode *inode = NULL;
	struct ns_op op;
	int err;

	err = ns_begin(fs, linkpath, &op);
	if (err)
		return err;
	err = disk_symlink(op.dir, op.name, op.len, target, &inode);
	disk_iput(inode);
	return ns_end(fs, &op, err);
}

ssize_t e4_readlink(struct e4_fs *fs, const char *path, char *buf, size_t size)
{
	struct disk_inode *inode;
	ssize_t ret;
	int err;

	err = get_inode(fs, path, &inode);
	if (err)
		return err;
	ret = disk_readlink(inode, buf, size);
	disk_iput(inode);
	return ret;
}

int e4_mknod(struct e4_fs *fs, const char *path, mode_t mode, uint64_t rdev)
{
	struct disk_inode *inode = NULL;
	struct ns_op op;
	int err;

	switch (mode & S_IFMT) {
	case S_IFCHR: case S_IFBLK: case S_IFIFO: case S_IFSOCK: case S_IFREG:
		break;
	case 0:
		mode |= S_IFREG;
		break;
	default:
		return -EINVAL;
	}
	err = ns_begin(fs, path, &op);
	if (err)
		return err;
	err = disk_create(op.dir, op.name, op.len, mode, rdev, &inode);
	disk_iput(inode);
	return ns_end(fs, &op, err);
}

/* ---- attributes ---- */

typedef void (*attr_fn)(struct disk_inode *inode, const void *arg);

static int change_attr(struct e4_fs *fs, const char *path, attr_fn fn, const void *arg)
{
	struct disk_inode *inode;
	struct timespec now;
	int err;

	err = api_begin(fs, API_CREDITS_ATTR);
	if (err)
		return err;
	err = get_inode(fs, path, &inode);
	if (err)
		return api_end(fs, err);
	fn(inode, arg);
	disk_now(&now);
	disk_set_time(inode, DISK_CTIME, &now);
	disk_mark_inode_dirty(inode);
	disk_iput(inode);
	return api_end(fs, 0);
}

static void set_mode(struct disk_inode *inode, const void *arg)
{
	mode_t mode = *(const mode_t *)arg;

	inode->raw.i_mode = (inode->raw.i_mode & S_IFMT) | (mode & 07777);
}

int e4_chmod(struct e4_fs *fs, const char *path, mode_t mode)
{
	return change_attr(fs, path, set_mode, &mode);
}

static void set_owner(struct disk_inode *inode, const void *arg)
{
	const uint32_t *ids = arg;

	if (ids[0] != (uint32_t)-1) {
		inode->raw.i_uid = ids[0] & 0xffff;
		ext2fs_set_i_uid_high(inode->raw, ids[0] >> 16);
	}
	if (ids[1] != (uint32_t)-1) {
		inode->raw.i_gid = ids[1] & 0xffff;
		ext2fs_set_i_gid_high(inode->raw, ids[1] >> 16);
	}
}

int e4_chown(struct e4_fs *fs, const char *path, uint32_t uid, uint32_t gid)
{
	const uint32_t ids[2] = { uid, gid };

	return change_attr(fs, path, set_owner, ids);
}

static void set_times(struct disk_inode *inode, const void *arg)
{
	const struct timespec *ts = arg;
	const enum disk_time which[2] = { DISK_ATIME, DISK_MTIME };
	struct timespec now;
	int i;

	disk_now(&now);
	for (i = 0; i < 2; i++) {
		if (ts && ts[i].tv_nsec == UTIME_OMIT)
			continue;
		if (!ts || ts[i].tv_nsec == UTIME_NOW)
			disk_set_time(inode, which[i], &now);
		else
			disk_set_time(inode, which[i], &ts[i]);
	}
}

int e4_utimens(struct e4_fs *fs, const char *path, const struct timespec ts[2])
{
	int i;

	for (i = 0; ts && i < 2; i++)
		if (ts[i].tv_nsec != UTIME_NOW && ts[i].tv_nsec != UTIME_OMIT &&
		    (ts[i].tv_nsec < 0 || ts[i].tv_nsec >= 1000000000))
			return -EINVAL;
	return change_attr(fs, path, set_times, ts);
}

int e4_truncate(struct e4_fs *fs, const char *path, uint64_t size)
{
	struct disk_inode *inode;
	int err;

	err = get_inode(fs, path, &inode);
	if (err)
		return err;
	if (LINUX_S_ISDIR(inode->raw.i_mode))
		err = -EISDIR;
	else if (!LINUX_S_ISREG(inode->raw.i_mode))
		err = -EINVAL;
	else
		err = api_begin(fs, API_CREDITS_NS);
	if (!err) {
		err = vfs_truncate(inode, size);
		if (!err)
			disk_touch(inode);
		err = api_end(fs, err);
	}
	disk_iput(inode);
	return err;
}

/* ---- readdir ---- */

struct readdir_ctx {
	e4_filldir_t fn;
	void *arg;
};

static int readdir_one(void *arg, const char *name, size_t len, ext2_ino_t ino,
		       unsigned ftype)
{
	static const unsigned char dtypes[] = {
		[EXT2_FT_UNKNOWN] = DT_UNKNOWN, [EXT2_FT_REG_FILE] = DT_REG,
		[EXT2_FT_DIR] = DT_DIR, [EXT2_FT_CHRDEV] = DT_CHR,
		[EXT2_FT_BLKDEV] = DT_BLK, [EXT2_FT_FIFO] = DT_FIFO,
		[EXT2_FT_SOCK] = DT_SOCK, [EXT2_FT_SYMLINK] = DT_LNK,
	};
	struct readdir_ctx *ctx = arg;
	unsigned dt = ftype < sizeof(dtypes) ? dtypes[ftype] : DT_UNKNOWN;

	return ctx->fn(ctx->arg, name, len, ino, dt);
}

int e4_readdir(struct e4_fs *fs, const char *path, e4_filldir_t fn, void *arg)
{
	struct readdir_ctx ctx = { .fn = fn, .arg = arg };
	struct disk_inode *dir;
	int err;

	err = get_inode(fs, path, &dir);
	if (err)
		return err;
	err = disk_readdir(dir, readdir_one, &ctx);
	disk_iput(dir);
	return err;
}

/* ---- xattrs ---- */

int e4_setxattr(struct e4_fs *fs, const char *path, const char *name,
		const void *value, size_t size, int flags)
{
	struct disk_inode *inode;
	int err;

	err = api_begin(fs, API_CREDITS_NS);
	if (err)
		return err;
	err = get_inode(fs, path, &inode);
	if (!err) {
		err = disk_setxattr(inode, name, value, size, flags);
		disk_iput(inode);
	}
	return api_end(fs, err);
}

ssize_t e4_getxattr(struct e4_fs *fs, const char *path, const char *name,
		    void *value, size_t size)
{
	struct disk_inode *inode;
	ssize_t ret;
	int err;

	err = get_inode(fs, path, &inode);
	if (err)
		return err;
	ret = disk_getxattr(inode, name, value, size);
	disk_iput(inode);
	return ret;
}

ssize_t e4_listxattr(struct e4_fs *fs, const char *path, char *list, size_t size)
{
	struct disk_inode *inode;
	ssize_t ret;
	int err;

	err = get_inode(fs, path, &inode);
	if (err)
		return err;
	ret = disk_listxattr(inode, list, size);
	disk_iput(inode);
	return ret;
}

int e4_removexattr(struct e4_fs *fs, const char *path, const char *name)
{
	struct disk_inode *inode;
	int err;

	err = api_begin(fs, API_CREDITS_NS);
	if (err)
		return err;
	err = get_inode(fs, path, &inode);
	if (!err) {
		err = disk_removexattr(inode, name);
		disk_iput(inode);
	}
	return api_end(fs, err);
}
