/*
 * libfs/disk internals shared by the files of the disk layer: the inode cache,
 * the directory name cache (dcache) and small helpers.  Nothing here is seen
 * above libfs/disk.
 */
#ifndef E4_DISK_INTERNAL_H
#define E4_DISK_INTERNAL_H

#include <et/com_err.h>
#include "libfs/disk/disk.h"

#define DISK_ICACHE_BUCKETS	4096
/* Unreferenced clean inodes without pages are kept up to this many. */
#define DISK_ICACHE_KEEP	16384

/* Where a directory entry lives: block index in the directory and byte offset. */
struct dcache_ent {
	struct dcache_ent *next;
	ext2_ino_t ino;
	uint32_t lblk;
	uint32_t off;
	uint8_t ftype;
	uint8_t name_len;
	char name[];
};

/*
 * The name cache of one directory.  Built on first use from the on-disk blocks;
 * kept in sync by every add and remove of this layer.  @located: lblk/off of
 * every entry are valid (a linear block directory we parsed ourselves and only
 * changed through our own add/remove).  Otherwise libext2fs moved entries
 * (inline or htree directory) and removal goes through ext2fs_unlink.
 */
struct dcache {
	struct dcache_ent **buckets;
	unsigned nbuckets;
	unsigned count;
	unsigned ndirs;		/* entries of type directory, "." and ".." aside */
	int located;
	uint32_t hint_lblk;	/* a block that had free space at the last add */
};

/* inode.c */
int disk_new_inode_rdev(struct disk_fs *dfs, ext2_ino_t dir, mode_t mode,
			uint64_t rdev, struct disk_inode **out);
int disk_write_new_inode(struct disk_inode *inode);
void disk_inc_nlink_dir(struct disk_inode *dir);
void disk_dec_nlink_dir(struct disk_inode *dir);
int disk_inode_flush(struct disk_inode *inode);	/* write raw if dirty */
int disk_is_dir(const struct disk_inode *inode);
/* Frees the dcache of @inode, if any. */
void disk_dcache_free(struct disk_inode *inode);
/* Bytes of the raw inode we may write (128 + i_extra_isize, clamped). */
unsigned disk_raw_size(const struct disk_inode *inode);

/* dir.c */
int disk_dcache_get(struct disk_inode *dir, struct dcache **out);
struct dcache_ent *disk_dcache_find(struct dcache *dc, const char *name, size_t len);
/* Adds an entry @name -> @ino (type @ftype, EXT2_FT_*) to @dir; no duplicate check. */
int disk_add_entry(struct disk_inode *dir, const char *name, size_t len,
		   ext2_ino_t ino, unsigned ftype);
int disk_remove_entry(struct disk_inode *dir, const char *name, size_t len);
/* Points @dir's ".." at @parent. */
int disk_set_dotdot(struct disk_inode *dir, ext2_ino_t parent);
unsigned disk_mode_to_ftype(mode_t mode);

/* orphan.c */
void disk_orphan_add(struct disk_inode *inode);
int disk_orphan_del(struct disk_inode *inode);
int disk_process_orphans(struct disk_fs *dfs);

/* flush.c: the metadata flush writes only the bitmap, descriptor and
 * superblock blocks that changed since the last flush (or since mount). */
/* Read-write mounts, after the bitmaps are loaded. */
int disk_flush_init(struct disk_fs *dfs);
void disk_flush_free(struct disk_fs *dfs);
/* Bitmaps, descriptors, superblock through fs->io; clears libext2fs's dirty
 * flags.  Without disk_flush_init: ext2fs_flush2. */
int disk_flush_changed(struct disk_fs *dfs);

/* freed.c: blocks freed in transactions not yet committed */
/* Journaled mounts: watch libext2fs's frees and the journal's commits. */
void disk_freed_attach(struct disk_fs *dfs);
void disk_freed_detach(struct disk_fs *dfs);
/* Blocks from @start (at most @len) not pending; 0 when @start is, then
 * *skip_to is the first block after its pending extent. */
uint64_t disk_freed_clip(const struct disk_fs *dfs, blk64_t start, uint64_t len,
			 blk64_t *skip_to);
/* While on, libext2fs's own range allocations (ext2fs_fallocate) skip
 * pending blocks too. */
void disk_freed_guard(struct disk_fs *dfs, int on);
/* Forces a commit so that pending frees become usable.  0 when something
 * was released, -ENOSPC when nothing was pending. */
int disk_freed_flush(struct disk_fs *dfs);

/* map.c */
/* One block for directory or symlink contents (marked in use). */
int disk_alloc_meta_block(struct disk_fs *dfs, blk64_t goal, blk64_t *pblk);
int disk_map_one(struct disk_inode *inode, uint64_t lblk, uint64_t *pblk);

#endif /* E4_DISK_INTERNAL_H */
