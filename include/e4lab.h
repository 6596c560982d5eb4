/*
 * e4lab.h - the public API of libe4lab, a userspace ext4 engine over image files.
 *
 * Every function returns 0 (or a count) on success and a negative errno value on
 * failure: -ENOSPC, -EIO, -EUCLEAN for on-disk corruption, -EROFS after the journal
 * aborted.  e4_strerror() names any of them.  libext2fs error codes never leak out.
 *
 * Paths are absolute inside the image ("/a/b"); "/" is the root directory.  The
 * final component of a path is not followed when it is a symlink (lstat semantics),
 * except by e4_open().
 */
#ifndef E4LAB_H
#define E4LAB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

struct e4_fs;
struct e4_file;

/* ---- making an image ------------------------------------------------------ */

struct e4_mkfs_opts {
	uint64_t size;		/* bytes; the image file is created or resized to it */
	unsigned block_size;	/* 1024, 2048 or 4096 (default 4096) */
	unsigned inode_size;	/* 128..block_size, power of two (default 256) */
	uint32_t inode_ratio;	/* bytes per inode (default 16384) */
	const char *features;	/* mke2fs -O syntax, applied after the defaults:
				 * "^inline_data,^metadata_csum" ... */
	int no_journal;		/* 1: no has_journal */
	uint32_t journal_blocks;/* 0: the size mke2fs would choose */
	const char *label;
	const uint8_t *uuid;	/* 16 bytes, NULL for a random one */
};

/* Fill @o with the defaults: 4 KiB blocks, 256-byte inodes, extents, 64bit,
 * metadata_csum, inline_data, has_journal. */
void e4_mkfs_opts_init(struct e4_mkfs_opts *o);
int e4_mkfs(const char *image, const struct e4_mkfs_opts *o);

/* ---- mounting ------------------------------------------------------------- */

enum e4_data_mode {
	E4_DATA_ORDERED = 0,	/* default, as ext4's data=ordered */
	E4_DATA_WRITEBACK,
	E4_DATA_JOURNAL,
};

struct e4_mount_opts {
	int read_only;		/* images named *.gz are always read-only, in memory */
	enum e4_data_mode data_mode;
	size_t pcache_bytes;	/* page-cache bound; 0: 64 MiB */
	unsigned commit_interval_ms; /* 0: 5000 */
	int no_recovery;	/* read-only: do not even replay in memory */
	uint64_t crash_after;	/* 0: off.  Otherwise the Nth block write is the last
				 * that reaches the image; then crash_fn is called. */
	void (*crash_fn)(void *arg);	/* NULL: _exit(3) */
	void *crash_arg;
};

void e4_mount_opts_init(struct e4_mount_opts *o);
int e4_mount(const char *image, const struct e4_mount_opts *o, struct e4_fs **fsp);
/* Write back everything, commit and checkpoint, close.  @fs is freed even on error. */
int e4_unmount(struct e4_fs *fs);
/* Write back all dirty pages and inodes; commit. */
int e4_sync(struct e4_fs *fs);

struct e4_info {
	uint64_t blocks_count, free_blocks;
	uint32_t inodes_count, free_inodes;
	unsigned block_size, inode_size;
	uint32_t groups;
	char volume_name[17];
	uint8_t uuid[16];
	char features[512];	/* space-separated, as dumpe2fs lists them */
	int needs_recovery;
	unsigned max_inline_size;	/* for a new file with no other xattrs; 0 if none */
};
int e4_info(struct e4_fs *fs, struct e4_info *info);

/* ---- files ---------------------------------------------------------------- */

struct e4_stat {
	uint32_t ino;
	uint32_t mode;
	uint32_t nlink;
	uint32_t uid, gid;
	uint64_t size;
	uint64_t blocks;	/* 512-byte units, as st_blocks */
	uint64_t rdev;
	struct timespec atime, mtime, ctime, crtime;
	uint32_t flags;		/* i_flags (EXT4_*_FL) */
	int is_inline;		/* data kept in the inode (inline_data) */
	unsigned inline_size;	/* bytes of inline storage in use (i_block + system.data) */
	int may_inline;		/* EXT4_STATE_MAY_INLINE_DATA, the in-memory third piece */
};

/* flags: O_RDONLY/O_WRONLY/O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_NOFOLLOW. */
int e4_open(struct e4_fs *fs, const char *path, int flags, mode_t mode, struct e4_file **fp);
int e4_close(struct e4_file *f);
ssize_t e4_pread(struct e4_file *f, void *buf, size_t len, uint64_t off);
ssize_t e4_pwrite(struct e4_file *f, const void *buf, size_t len, uint64_t off);
ssize_t e4_preadv(struct e4_file *f, const struct iovec *iov, int iovcnt, uint64_t off);
ssize_t e4_pwritev(struct e4_file *f, const struct iovec *iov, int iovcnt, uint64_t off);
int e4_ftruncate(struct e4_file *f, uint64_t size);
/* mode: 0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE */
int e4_fallocate(struct e4_file *f, int mode, uint64_t off, uint64_t len);
int e4_fsync(struct e4_file *f);
int e4_fstat(struct e4_file *f, struct e4_stat *st);

/*
 * Where the bytes [off, off + len) of @f (clipped at end of file) lie in the
 * image file, for a reader that reads the image itself instead of calling
 * e4_pread: byte ranges of the image in file order.  Only when the image file
 * holds the current data of every byte: each block mapped and written, no page
 * of the range in the engine's page cache (a cached page may be newer), no block
 * held by the journal (its copy is newer than the home location), and the mount
 * reading a plain image file directly (not gzip, not a read-only replay view, no
 * crash cut).  Returns the number of runs stored in @runs (at most @max), 0 when
 * the range must go through e4_pread instead, or -errno.  The answer holds until
 * the next call into the engine for this file system.
 */
struct e4_image_run {
	uint64_t image_off;	/* bytes from the start of the image */
	uint64_t len;		/* bytes */
};
int e4_image_runs(struct e4_file *f, uint64_t off, size_t len, struct e4_image_run *runs,
		  int max);

int e4_stat(struct e4_fs *fs, const char *path, struct e4_stat *st);
int e4_truncate(struct e4_fs *fs, const char *path, uint64_t size);
int e4_unlink(struct e4_fs *fs, const char *path);
int e4_mkdir(struct e4_fs *fs, const char *path, mode_t mode);
int e4_rmdir(struct e4_fs *fs, const char *path);
/* Replaces @to if it exists, as rename(2). */
int e4_rename(struct e4_fs *fs, const char *from, const char *to);
/* renameat2(RENAME_EXCHANGE): atomically swaps what @a and @b name; both must exist. */
int e4_rename_exchange(struct e4_fs *fs, const char *a, const char *b);
int e4_link(struct e4_fs *fs, const char *existing, const char *newpath);
int e4_symlink(struct e4_fs *fs, const char *target, const char *linkpath);
/* Returns the target's length; @buf is NUL-terminated when it fits. */
ssize_t e4_readlink(struct e4_fs *fs, const char *path, char *buf, size_t size);
/* Character and block devices, fifos and sockets. */
int e4_mknod(struct e4_fs *fs, const char *path, mode_t mode, uint64_t rdev);
int e4_chmod(struct e4_fs *fs, const char *path, mode_t mode);
int e4_chown(struct e4_fs *fs, const char *path, uint32_t uid, uint32_t gid);
/* ts[0] atime, ts[1] mtime; ctime becomes now. */
int e4_utimens(struct e4_fs *fs, const char *path, const struct timespec ts[2]);

/* Calls @fn for every entry, "." and ".." included, in on-disk order; a non-zero
 * return from @fn stops the walk and is returned. */
typedef int (*e4_filldir_t)(void *arg, const char *name, size_t namelen,
			    uint32_t ino, unsigned dtype);
int e4_readdir(struct e4_fs *fs, const char *path, e4_filldir_t fn, void *arg);

/* Extended attributes, full names ("user.x", "trusted.y", "security.z",
 * "system.posix_acl_access").  flags: XATTR_CREATE / XATTR_REPLACE. */
int e4_setxattr(struct e4_fs *fs, const char *path, const char *name,
		const void *value, size_t size, int flags);
/* Returns the value's size; with @size 0 only the size. */
ssize_t e4_getxattr(struct e4_fs *fs, const char *path, const char *name,
		    void *value, size_t size);
/* NUL-separated names, as listxattr(2). */
ssize_t e4_listxattr(struct e4_fs *fs, const char *path, char *list, size_t size);
int e4_removexattr(struct e4_fs *fs, const char *path, const char *name);

const char *e4_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif /* E4LAB_H */
