/*
 * tools/mount_ops.c - FUSE path operations over e4lab.h (tools layer: calls only
 * the public API and libfuse3).  An open file's struct e4_file lives in fi->fh from
 * open/create to release; every operation returns 0, a count, or -errno.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <dirent.h>
#include <linux/falloc.h>

#include "tools/mount_ops.h"

static struct mount_server *server(void)
{
	return fuse_get_context()->private_data;
}

static struct e4_fs *cur_fs(void)
{
	return server()->fs;
}

static struct e4_file *file_of(const struct fuse_file_info *fi)
{
	return (struct e4_file *)(uintptr_t)fi->fh;
}

static void stat_from_e4(struct stat *st, const struct e4_stat *es)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = es->ino;
	st->st_mode = es->mode;
	st->st_nlink = es->nlink;
	st->st_uid = es->uid;
	st->st_gid = es->gid;
	st->st_size = es->size;
	st->st_blocks = es->blocks;
	st->st_rdev = es->rdev;
	st->st_blksize = server()->block_size;
	st->st_atim = es->atime;
	st->st_mtim = es->mtime;
	st->st_ctim = es->ctime;
}

/* Sets the mount's readahead once, from the first request after INIT (before
 * it, the kernel's INIT reply handling would cap it again). */
static void apply_readahead(struct mount_server *srv)
{
	FILE *f = fopen(srv->ra_path, "w");

	if (f) {
		fputs(srv->ra_kib, f);
		fclose(f);
	}
	srv->ra_path[0] = 0;
}

/* Prefers the open file when the kernel names one (fstat on an unlinked file). */
static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct e4_stat es;
	int err;

	if (server()->ra_path[0])
		apply_readahead(server());
	if (fi && fi->fh)
		err = e4_fstat(file_of(fi), &es);
	else if (path)
		err = e4_stat(cur_fs(), path, &es);
	else
		err = -ENOENT;
	if (err < 0)
		return err;
	stat_from_e4(st, &es);
	return 0;
}

/* FUSE wants a NUL-terminated target, truncated to @size - 1 if need be. */
static int op_readlink(const char *path, char *buf, size_t size)
{
	ssize_t n;

	if (size == 0)
		return -EINVAL;
	n = e4_readlink(cur_fs(), path, buf, size);
	if (n < 0)
		return (int)n;
	buf[(size_t)n < size ? (size_t)n : size - 1] = 0;
	return 0;
}

/* The directory holding @path ("/a/b" -> "/a", "/b" -> "/"), into @buf. */
static int parent_of(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash && slash != path ? (size_t)(slash - path) : 1;

	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(buf, path, n);
	buf[n] = 0;
	return 0;
}

/*
 * Gives a new inode the caller's ownership, as the kernel would: the caller's
 * uid; the parent's gid when the parent is set-group-ID (new directories then
 * inherit the bit), else the caller's gid.
 */
static int set_owner(const char *path)
{
	const struct fuse_context *ctx = fuse_get_context();
	char parent[4096];
	struct e4_stat ps, st;
	uint32_t gid = ctx->gid;
	int err;

	err = parent_of(path, parent, sizeof(parent));
	if (!err)
		err = e4_stat(cur_fs(), parent, &ps);
	if (!err)
		err = e4_stat(cur_fs(), path, &st);
	if (err < 0)
		return err;
	if (ps.mode & S_ISGID) {
		gid = ps.gid;
		if (S_ISDIR(st.mode) && !(st.mode & S_ISGID))
			err = e4_chmod(cur_fs(), path, (st.mode & 07777) | S_ISGID);
	}
	if (!err && (st.uid != ctx->uid || st.gid != gid))
		err = e4_chown(cur_fs(), path, ctx->uid, gid);
	return err;
}

/* Open flags for the engine: no O_CREAT/O_EXCL unless creating; write-only opens
 * read too, since the kernel may read pages through any open file of the inode;
 * O_APPEND is the kernel's business (it sends the end-of-file offset). */
static int engine_flags(int flags)
{
	int acc = flags & O_ACCMODE;

	if (acc == O_WRONLY)
		acc = O_RDWR;
	return acc | (flags & O_TRUNC);
}

static int open_file(const char *path, int flags, mode_t mode, struct fuse_file_info *fi)
{
	struct e4_file *f;
	int err;

	err = e4_open(cur_fs(), path, flags, mode, &f);
	if (err < 0)
		return err;
	fi->fh = (uintptr_t)f;
	return 0;
}

static int op_mknod(const char *path, mode_t mode, dev_t rdev)
{
	struct e4_file *f;
	int err;

	if (S_ISREG(mode)) {
		err = e4_open(cur_fs(), path, O_CREAT | O_EXCL | O_RDWR, mode & 07777, &f);
		if (err == 0)
			err = e4_close(f);
	} else {
		err = e4_mknod(cur_fs(), path, mode, rdev);
	}
	return err < 0 ? err : set_owner(path);
}

static int op_mkdir(const char *path, mode_t mode)
{
	int err = e4_mkdir(cur_fs(), path, mode);

	return err < 0 ? err : set_owner(path);
}

static int op_unlink(const char *path)
{
	return e4_unlink(cur_fs(), path);
}

static int op_rmdir(const char *path)
{
	return e4_rmdir(cur_fs(), path);
}

static int op_symlink(const char *target, const char *linkpath)
{
	int err = e4_symlink(cur_fs(), target, linkpath);

	return err < 0 ? err : set_owner(linkpath);
}

/* RENAME_NOREPLACE is checked here (one request at a time, so nothing can
 * create @to in between); RENAME_EXCHANGE is the engine's. */
static int op_rename(const char *from, const char *to, unsigned int flags)
{
	struct e4_stat st;
	int err;

	if (flags == RENAME_EXCHANGE)
		return e4_rename_exchange(cur_fs(), from, to);
	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL;
	if (flags & RENAME_NOREPLACE) {
		err = e4_stat(cur_fs(), to, &st);
		if (err == 0)
			return -EEXIST;
		if (err != -ENOENT)
			return err;
	}
	return e4_rename(cur_fs(), from, to);
}

static int op_link(const char *existing, const char *newpath)
{
	return e4_link(cur_fs(), existing, newpath);
}

/* The path is there even for an unlinked open file (its .fuse_hidden name);
 * NULL only if libfuse lost the node, and the API has no descriptor form. */
static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)fi;
	return path ? e4_chmod(cur_fs(), path, mode) : -ENOENT;
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	struct e4_stat st;
	int err;

	(void)fi;
	if (!path)
		return -ENOENT;
	if (uid == (uid_t)-1 || gid == (gid_t)-1) {
		err = e4_stat(cur_fs(), path, &st);
		if (err < 0)
			return err;
		if (uid == (uid_t)-1)
			uid = st.uid;
		if (gid == (gid_t)-1)
			gid = st.gid;
	}
	return e4_chown(cur_fs(), path, uid, gid);
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	if (size < 0)
		return -EINVAL;
	if (fi && fi->fh)
		return e4_ftruncate(file_of(fi), (uint64_t)size);
	return path ? e4_truncate(cur_fs(), path, (uint64_t)size) : -ENOENT;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	return open_file(path, engine_flags(fi->flags), 0, fi);
}

/* Whole requests: FUSE takes a short read as end of file.  Returns the bytes
 * read or -errno. */
static int read_into(struct e4_file *f, char *buf, size_t size, off_t off)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = e4_pread(f, buf + done, size - done, (uint64_t)off + done);

		if (n < 0)
			return done ? (int)done : (int)n;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (int)done;
}

/* The reply as pieces of the image file, which libfuse splices from the image's
 * page cache into /dev/fuse; NULL when out of memory. */
static struct fuse_bufvec *image_bufvec(int fd, const struct e4_image_run *runs, int n)
{
	struct fuse_bufvec *bv = malloc(sizeof(*bv) + (size_t)(n - 1) * sizeof(bv->buf[0]));

	if (!bv)
		return NULL;
	memset(bv, 0, sizeof(*bv));
	bv->count = (size_t)n;
	for (int i = 0; i < n; i++) {
		bv->buf[i] = (struct fuse_buf){
			.size = runs[i].len,
			.flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK,
			.fd = fd,
			.pos = (off_t)runs[i].image_off,
		};
	}
	return bv;
}

/* The reply read through the engine, in memory; NULL with *err set. */
static struct fuse_bufvec *engine_bufvec(struct e4_file *f, size_t size, off_t off, int *err)
{
	struct fuse_bufvec *bv = malloc(sizeof(*bv));
	char *mem = malloc(size ? size : 1);
	int n = -ENOMEM;

	if (!bv || !mem)
		goto fail;
	n = read_into(f, mem, size, off);
	if (n < 0)
		goto fail;
	*bv = (struct fuse_bufvec)FUSE_BUFVEC_INIT((size_t)n);
	bv->buf[0].mem = mem;
	return bv;
fail:
	free(mem);
	free(bv);
	*err = n;
	return NULL;
}

/*
 * A range the image file holds as it is (e4_image_runs: mapped, written, not in
 * the engine's page cache nor in the journal) goes back as pieces of the image
 * file: one copy, from the image's page cache into the FUSE file's, instead of
 * four (image page cache -> the engine's read buffer -> its page -> the reply
 * buffer -> the kernel).  The rest goes through e4_pread.  libfuse splices the
 * reply before it reads the next request, and nothing runs in between (one
 * request at a time), so e4_image_runs's answer still holds then.  libfuse
 * frees the vector and its memory.
 */
/*
 * A sequential reader's next request most likely continues where this run ends
 * in the image: start reading that much more of it now, asynchronously, so that
 * the splice of the next reply does not wait for the disk (the image file's own
 * readahead sees only one synchronous 1 MiB splice at a time).
 */
static void prefetch_after(int image_fd, const struct e4_image_run *last, size_t size)
{
	posix_fadvise(image_fd, (off_t)(last->image_off + last->len), (off_t)size * 2,
		      POSIX_FADV_WILLNEED);
}

static int op_read_buf(const char *path, struct fuse_bufvec **bufp, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct mount_server *srv = server();
	struct e4_image_run runs[MOUNT_READ_RUNS_MAX];
	int n = 0;

	(void)path;
	if (off < 0)
		return -EINVAL;
	if (srv->image_fd >= 0)
		n = e4_image_runs(file_of(fi), (uint64_t)off, size, runs, MOUNT_READ_RUNS_MAX);
	if (n < 0)
		return n;
	if (n > 0) {
		prefetch_after(srv->image_fd, &runs[n - 1], size);
		*bufp = image_bufvec(srv->image_fd, runs, n);
		return *bufp ? 0 : -ENOMEM;
	}
	*bufp = engine_bufvec(file_of(fi), size, off, &n);
	return *bufp ? 0 : n;
}

static int op_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	size_t done = 0;

	(void)path;
	while (done < size) {
		ssize_t n = e4_pwrite(file_of(fi), buf + done, size - done, (uint64_t)off + done);

		if (n < 0)
			return done ? (int)done : (int)n;
		if (n == 0)
			return done ? (int)done : -EIO;
		done += (size_t)n;
	}
	return (int)done;
}

static int op_statfs(const char *path, struct statvfs *sv)
{
	struct e4_info in;
	int err;

	(void)path;
	err = e4_info(cur_fs(), &in);
	if (err < 0)
		return err;
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = in.block_size;
	sv->f_frsize = in.block_size;
	sv->f_blocks = in.blocks_count;
	sv->f_bfree = in.free_blocks;
	sv->f_bavail = in.free_blocks;
	sv->f_files = in.inodes_count;
	sv->f_ffree = in.free_inodes;
	sv->f_favail = in.free_inodes;
	sv->f_namemax = 255;
	return 0;
}

/* close(2) of one descriptor: nothing to do, data is written by write() and made
 * durable by fsync or unmount. */
static int op_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	return 0;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	return e4_close(file_of(fi));
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	(void)datasync;
	return e4_fsync(file_of(fi));
}

static int op_setxattr(const char *path, const char *name, const char *value,
		       size_t size, int flags)
{
	return e4_setxattr(cur_fs(), path, name, value, size, flags);
}

static int op_getxattr(const char *path, const char *name, char *value, size_t size)
{
	return (int)e4_getxattr(cur_fs(), path, name, value, size);
}

static int op_listxattr(const char *path, char *list, size_t size)
{
	return (int)e4_listxattr(cur_fs(), path, list, size);
}

static int op_removexattr(const char *path, const char *name)
{
	return e4_removexattr(cur_fs(), path, name);
}

struct fill_ctx {
	void *buf;
	fuse_fill_dir_t filler;
};

/* One directory entry to libfuse; a full buffer stops the walk with -ENOMEM. */
static int fill_one(void *arg, const char *name, size_t namelen, uint32_t ino,
		    unsigned dtype)
{
	struct fill_ctx *c = arg;
	char nm[256];
	struct stat st;

	if (namelen >= sizeof(nm))
		return -ENAMETOOLONG;
	memcpy(nm, name, namelen);
	nm[namelen] = 0;
	memset(&st, 0, sizeof(st));
	st.st_ino = ino;
	st.st_mode = DTTOIF(dtype);
	return c->filler(c->buf, nm, &st, 0, 0) ? -ENOMEM : 0;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct fill_ctx c = { buf, filler };

	(void)off;
	(void)fi;
	(void)flags;
	return e4_readdir(cur_fs(), path, fill_one, &c);
}

static int op_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	(void)datasync;
	(void)fi;
	return e4_sync(cur_fs());
}

/* Permissions are the kernel's (default_permissions); the engine never checks. */
static int op_access(const char *path, int mask)
{
	(void)path;
	(void)mask;
	return 0;
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int err = open_file(path, engine_flags(fi->flags) | O_CREAT, mode & 07777, fi);

	if (err < 0)
		return err;
	err = set_owner(path);
	if (err < 0) {
		e4_close(file_of(fi));
		fi->fh = 0;
	}
	return err;
}

/* Resolves UTIME_NOW and UTIME_OMIT into times the engine stores as given. */
static int op_utimens(const char *path, const struct timespec tv[2],
		      struct fuse_file_info *fi)
{
	struct timespec ts[2], now;
	struct e4_stat st;
	int err;

	(void)fi;
	if (!path)
		return -ENOENT;
	err = e4_stat(cur_fs(), path, &st);
	if (err < 0)
		return err;
	clock_gettime(CLOCK_REALTIME, &now);
	ts[0] = tv ? tv[0] : now;
	ts[1] = tv ? tv[1] : now;
	for (int i = 0; i < 2; i++) {
		if (ts[i].tv_nsec == UTIME_NOW)
			ts[i] = now;
		else if (ts[i].tv_nsec == UTIME_OMIT)
			ts[i] = i ? st.mtime : st.atime;
	}
	return e4_utimens(cur_fs(), path, ts);
}

static int op_fallocate(const char *path, int mode, off_t off, off_t len,
			struct fuse_file_info *fi)
{
	(void)path;
	if (mode != 0 && mode != FALLOC_FL_KEEP_SIZE &&
	    mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (off < 0 || len <= 0)
		return -EINVAL;
	return e4_fallocate(file_of(fi), mode, (uint64_t)off, (uint64_t)len);
}

/*
 * Kernel caching.  libfuse's path API gives every name its own node, so the
 * kernel takes two hard links for two inodes: attributes are not cached
 * (attr_timeout 0, or a link count would go stale) and the page cache is
 * dropped at each open (no kernel_cache), so data written through one name is
 * what the next open of another name reads.  Nothing else writes the image, so
 * reads need not check attributes first (no auto_inval_data: with attributes
 * never cached it would cost a GETATTR per read(2)).  st_ino is the inode number.
 * Unlinking an open file renames it to .fuse_hiddenNNN until its last release
 * (hard_remove off): fstat(2) comes without the file handle, so it needs a path.
 */
static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct mount_server *srv = fuse_get_context()->private_data;

	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;	/* no one else changes the image */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;	/* the kernel clears set-ID bits */
	/* Replies from the image file.  libfuse then also sends a reply from memory
	 * through its pipe when it fits, which costs a copy more than writev: a
	 * price only the reads op_read_buf cannot take from the image pay. */
	if (srv->image_fd >= 0 && (conn->capable & FUSE_CAP_SPLICE_WRITE))
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	if (srv->max_read)
		conn->max_read = srv->max_read;	/* must equal the max_read= option */
	cfg->use_ino = 1;
	cfg->kernel_cache = 0;
	cfg->hard_remove = 0;
	cfg->nullpath_ok = 0;
	cfg->entry_timeout = 1.0;
	cfg->attr_timeout = 0.0;
	cfg->negative_timeout = 0.0;
	return srv;
}

/* Runs from fuse_destroy() after the kernel let go of the mount. */
static void op_destroy(void *private_data)
{
	struct mount_server *srv = private_data;

	mount_server_finish(srv);
}

int mount_server_finish(struct mount_server *srv)
{
	if (srv->fs) {
		srv->unmount_err = e4_unmount(srv->fs);
		srv->fs = NULL;
	}
	return srv->unmount_err;
}

static const struct fuse_operations ops = {
	.getattr = op_getattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.chmod = op_chmod,
	.chown = op_chown,
	.truncate = op_truncate,
	.open = op_open,
	.read_buf = op_read_buf,
	.write = op_write,
	.statfs = op_statfs,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.readdir = op_readdir,
	.fsyncdir = op_fsyncdir,
	.init = op_init,
	.destroy = op_destroy,
	.access = op_access,
	.create = op_create,
	.utimens = op_utimens,
	.fallocate = op_fallocate,
};

const struct fuse_operations *mount_ops(void)
{
	return &ops;
}
