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
#include <ext2fs/ext2fs.h>

#include "libfs/blk/blk.h"

struct disk_inode;

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

struct disk_fs {
	ext2_filsys fs;
	struct blk_dev *dev;		/* the image (bottom of the stack) */
	struct blk_dev *meta_dev;	/* what libext2fs writes through */
	struct blk_dev *data_dev;	/* where file data goes */
	unsigned block_size;
	int read_only;
	void *pcache;			/* the page cache, owned by libfs/pcache */
	void *journal;			/* journal/ state, NULL without a journal */
	const struct disk_journal_ops *jops;
	struct disk_inode **icache;	/* open inodes, hashed by number */
	unsigned icache_size;
	blk64_t alloc_goal;		/* next-block hint for data allocation */
};

/*
 * An in-memory inode.  Counted: disk_iget takes a reference, disk_iput drops it;
 * the last put of an unlinked inode frees its blocks and the inode.
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
};

/* ---- mount ---- */
int disk_mount(struct blk_dev *dev, int read_only, struct disk_fs **out);
/* Writes dirty inodes, bitmaps, descriptors and superblock; closes; frees @dfs.
 * Does not close dev. */
int disk_unmount(struct disk_fs *dfs);
/* Dirty inodes, bitmaps, group descriptors, superblock to meta_dev; flush. */
int disk_sync_metadata(struct disk_fs *dfs);

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
int disk_commit(struct disk_fs *dfs);

/* ---- errors ---- */
int disk_err(errcode_t err);	/* libext2fs code -> negative errno */
/* A corruption or operational message (stderr unless redirected). */
void disk_report(struct disk_fs *dfs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* E4_DISK_H */
