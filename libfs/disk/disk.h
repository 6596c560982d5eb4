/*
 * libfs/disk - on-disk objects through libext2fs: mount, inodes, block mapping
 * with allocation, punch, directories, xattrs, symlinks, mkfs.
 *
 * Calls libfs/blk (and, once journaled, journal/) and libext2fs; nothing above.
 * libext2fs does all *metadata* I/O through blk_io_manager on fs->meta_dev; file
 * *data* goes to fs->data_dev directly (disk_read_data/disk_write_data), so the
 * journal can tell the two apart.  errcode_t never leaves this layer: every
 * function returns 0 or a negative errno (-EUCLEAN for corruption, with a message
 * through disk_report naming the inode or block).
 */
#ifndef E4_DISK_H
#define E4_DISK_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <ext2fs/ext2fs.h>

#include "libfs/blk/blk.h"

struct disk_inode;
struct disk_freed_ext;
struct disk_flush;

/*
 * What the journal (journal/) plugs into the disk layer.  Without a journal
 * dfs->jops is NULL and the disk_handle_* calls below do nothing.
 */
struct disk_journal_ops {
	int (*handle_start)(void *journal, unsigned credits);	/* nests */
	int (*handle_stop)(void *journal);
	int (*commit)(void *journal);		/* force a commit and wait (fsync) */
	int (*unmount)(void *journal);		/* commit, checkpoint, clear needs_recovery */
	void (*destroy)(void *journal);
};

/*
 * Set by a caller that runs the engine under libfs/task (libfs/study's engine
 * world): called around every handle, so that a commit can wait for the open
 * ones as jbd2 does.  Handles nest; the hooks see every level.
 */
struct disk_task_hooks {
	void (*handle_start)(void *arg);
	void (*handle_stop)(void *arg);
};

struct disk_fs {
	ext2_filsys fs;
	struct blk_dev *dev;		/* the image (bottom of the stack) */
	struct blk_dev *meta_dev;	/* what libext2fs writes through */
	struct blk_dev *data_dev;	/* where file data goes */
	unsigned block_size;
	int read_only;
	void *pcache;			/* the page cache, owned by libfs/pcache */
	/* Set by the layer that owns the page cache: drops an inode's cached
	 * pages before the inode is freed (the kernel's truncate_inode_pages in
	 * evict).  NULL: no page cache. */
	void (*evict_pages)(struct disk_inode *inode);
	void *journal;			/* journal/ state, NULL without a journal */
	const struct disk_journal_ops *jops;
	const struct disk_task_hooks *task_hooks;	/* NULL: a single thread */
	void *task_hooks_arg;
	struct disk_inode **icache;	/* open inodes, hashed by number */
	unsigned icache_size;
	blk64_t alloc_goal;		/* next-block hint for data allocation */
	unsigned icache_count;		/* inodes in icache */
	/* Blocks freed by transactions not yet committed (freed.c): never
	 * handed out as file data until the journal says they are durable. */
	struct disk_freed_ext *freed;
	size_t freed_count, freed_cap;
	struct disk_flush *flush;	/* what the metadata flush last wrote (flush.c) */
	/* Set by a higher layer (libfs/api: inl_dir_link) to add an entry to an
	 * inline directory the way the kernel grows it; NULL: ext2fs_link. */
	int (*inline_dir_link)(struct disk_inode *dir, const char *name,
			       ext2_ino_t ino, unsigned ftype);
};

/*
 * An in-memory inode.  Counted: disk_iget takes a reference, disk_iput drops it;
 * the last put of an unlinked inode frees its blocks and the inode.  Whoever
 * changes raw sets dirty (disk_mark_inode_dirty): the disk layer re-reads raw
 * from disk after libext2fs calls that rewrite the inode, and writes it out
 * first only when it is dirty.
 */
struct disk_inode {
	struct disk_fs *dfs;
	ext2_ino_t ino;
	struct ext2_inode_large raw;	/* the on-disk inode, in host byte order */
	int i_count;
	int dirty;			/* raw differs from disk */
	void *i_mapping;		/* the page-cache index, owned by libfs/pcache */
	void *i_private;		/* per-inode state of higher layers (inline/) */
	struct disk_inode *hash_next;
	void *i_dcache;			/* directories: the name cache (libfs/disk) */
};

/* ---- mount ---- */
struct jbd_options;
struct disk_mount_opts {
	int read_only;
	int no_journal;		/* read-write: write in place even with has_journal */
	int no_recovery;	/* read-only: do not replay the journal in memory */
	const struct jbd_options *jopts;	/* NULL: jbd_options_init's */
};
void disk_mount_opts_init(struct disk_mount_opts *o);
/*
 * Read-write with has_journal: replays the journal into @dev, then libext2fs
 * writes through the journal's device (dfs->meta_dev) and data goes to its data
 * device.  Read-only: the journal is replayed in memory only.  @dev stays the
 * caller's; disk_unmount closes what disk_mount stacked on it.
 */
int disk_mount_opts(struct blk_dev *dev, const struct disk_mount_opts *o,
		    struct disk_fs **out);
/* disk_mount_opts with the defaults (journaled when the image has a journal). */
int disk_mount(struct blk_dev *dev, int read_only, struct disk_fs **out);
/* Writes dirty inodes, bitmaps, descriptors and superblock; closes; frees @dfs.
 * Does not close dev. */
int disk_unmount(struct disk_fs *dfs);
/* Dirty inodes, bitmaps, group descriptors, superblock to meta_dev; flush. */
int disk_sync_metadata(struct disk_fs *dfs);
/* The same writes without the device flush: with a journal they land in the
 * running transaction.  A commit must be preceded by this (libext2fs keeps
 * bitmaps and the superblock in memory, we keep inodes). */
int disk_write_metadata(struct disk_fs *dfs);

/* ---- inodes ---- */
int disk_iget(struct disk_fs *dfs, ext2_ino_t ino, struct disk_inode **out);
void disk_iput(struct disk_inode *inode);
int disk_write_inode(struct disk_inode *inode);
static inline void disk_mark_inode_dirty(struct disk_inode *inode) { inode->dirty = 1; }
uint64_t disk_i_size(const struct disk_inode *inode);
void disk_set_i_size(struct disk_inode *inode, uint64_t size);
/* New inode of @mode in directory @dir (not yet linked). */
int disk_new_inode(struct disk_fs *dfs, ext2_ino_t dir, mode_t mode,
		   struct disk_inode **out);

/* ---- block mapping ---- */
#define DISK_MAP_MAPPED	0x1	/* pblk is valid */
#define DISK_MAP_NEW	0x2	/* allocated by this call: contents are stale */
#define DISK_MAP_UNWRITTEN 0x4	/* preallocated, reads as zeros */

struct disk_map {
	uint64_t lblk;		/* in: first logical block */
	uint32_t len;		/* in: blocks wanted; out: length of the run found */
	uint64_t pblk;		/* out: first physical block, when MAPPED */
	unsigned flags;		/* out: DISK_MAP_* */
};
/*
 * Maps map->lblk.  Without @create a hole reports flags 0 and the length of the
 * hole (bounded by map->len).  With @create a hole is allocated (contiguously
 * where possible, near the inode's last block), the new run is marked NEW and the
 * inode's block count updated; unwritten extents are converted to written.
 */
int disk_map_blocks(struct disk_inode *inode, struct disk_map *map, int create);
/* Frees the blocks of [start, end) (end = ~0ULL: to the end). */
int disk_punch(struct disk_inode *inode, uint64_t start_lblk, uint64_t end_lblk);
/* Allocates [start, start+len) as unwritten extents (fallocate). */
int disk_prealloc(struct disk_inode *inode, uint64_t start_lblk, uint64_t len);

/* ---- file data, bypassing libext2fs ---- */
int disk_read_data(struct disk_fs *dfs, uint64_t pblk, uint32_t count, void *buf);
int disk_write_data(struct disk_fs *dfs, uint64_t pblk, uint32_t count, const void *buf);

/* ---- transactions: every modifying operation runs inside a handle ---- */
int disk_handle_start(struct disk_fs *dfs, unsigned credits);
int disk_handle_stop(struct disk_fs *dfs);
/*
 * The handle ext4's write_begin opens and write_end closes (page_mkwrite's too).
 * A single-threaded caller (libfs/api) holds one across the whole operation, so
 * only a run under libfs/task (task_hooks set), where another task may commit in
 * between, opens it: one task pays nothing for it.
 */
int disk_handle_start_concurrent(struct disk_fs *dfs, unsigned credits);
int disk_handle_stop_concurrent(struct disk_fs *dfs);
int disk_commit(struct disk_fs *dfs);

/* ---- inode attributes (inode.c) ---- */
/* Re-reads raw from disk after libext2fs changed the on-disk inode itself;
 * writes raw out first if it is dirty. */
int disk_inode_reload(struct disk_inode *inode);
enum disk_time { DISK_ATIME, DISK_MTIME, DISK_CTIME, DISK_CRTIME };
void disk_now(struct timespec *ts);
void disk_get_time(const struct disk_inode *inode, enum disk_time which,
		   struct timespec *ts);
void disk_set_time(struct disk_inode *inode, enum disk_time which,
		   const struct timespec *ts);
/* mtime = ctime = now; marks the inode dirty. */
void disk_touch(struct disk_inode *inode);
/* st_blocks (512-byte units) and st_rdev as Linux reports them. */
uint64_t disk_i_blocks(const struct disk_inode *inode);
uint64_t disk_i_rdev(const struct disk_inode *inode);

/* ---- directories and names (dir.c, namei.c) ---- */
#define DISK_MAX_SYMLINKS 40
typedef int (*disk_filldir_t)(void *arg, const char *name, size_t len,
			      ext2_ino_t ino, unsigned ftype);
/* -ENOENT when @dir has no entry @name; *ftype may be NULL. */
int disk_lookup(struct disk_inode *dir, const char *name, size_t len,
		ext2_ino_t *ino, unsigned *ftype);
/* Resolves absolute @path; symlinks in the middle are always followed, the last
 * component only with @follow.  Returns a referenced inode. */
int disk_namei(struct disk_fs *dfs, const char *path, int follow,
	       struct disk_inode **out);
/* Resolves all but the last component: *dirp (referenced, a directory) and the
 * last name (pointing into @path, not NUL-terminated).  "/" gives -EEXIST. */
int disk_namei_parent(struct disk_fs *dfs, const char *path,
		      struct disk_inode **dirp, const char **name, size_t *len);
/* Regular files, devices, fifos, sockets (type in @mode); owner 0:0. */
int disk_create(struct disk_inode *dir, const char *name, size_t len, mode_t mode,
		uint64_t rdev, struct disk_inode **out);
int disk_mkdir(struct disk_inode *dir, const char *name, size_t len, mode_t mode,
	       struct disk_inode **out);
int disk_symlink(struct disk_inode *dir, const char *name, size_t len,
		 const char *target, struct disk_inode **out);
int disk_link(struct disk_inode *dir, const char *name, size_t len,
	      struct disk_inode *inode);
int disk_unlink(struct disk_inode *dir, const char *name, size_t len);
int disk_rmdir(struct disk_inode *dir, const char *name, size_t len);
/* rename(2): replaces an existing target. */
int disk_rename(struct disk_inode *odir, const char *oname, size_t olen,
		struct disk_inode *ndir, const char *nname, size_t nlen);
/* renameat2(RENAME_EXCHANGE): both names exist; each then names the other's
 * inode (directories included: their ".." and the parents' link counts follow). */
int disk_rename_exchange(struct disk_inode *adir, const char *aname, size_t alen,
			 struct disk_inode *bdir, const char *bname, size_t blen);
/* Returns the target's length; copies at most @size bytes, NUL-terminated if room. */
ssize_t disk_readlink(struct disk_inode *inode, char *buf, size_t size);
/* Every entry, "." and ".." included, in on-disk order; a non-zero return from
 * @fn stops the walk and is returned. */
int disk_readdir(struct disk_inode *dir, disk_filldir_t fn, void *arg);

/* ---- extended attributes (xattr.c), full names "user.x" ---- */
ssize_t disk_getxattr(struct disk_inode *inode, const char *name, void *value,
		      size_t size);
/* flags: XATTR_CREATE / XATTR_REPLACE */
int disk_setxattr(struct disk_inode *inode, const char *name, const void *value,
		  size_t size, int flags);
ssize_t disk_listxattr(struct disk_inode *inode, char *list, size_t size);
int disk_removexattr(struct disk_inode *inode, const char *name);

/* ---- errors ---- */
int disk_err(errcode_t err);	/* libext2fs code -> negative errno */
/* A corruption or operational message (stderr unless redirected). */
void disk_report(struct disk_fs *dfs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* E4_DISK_H */
