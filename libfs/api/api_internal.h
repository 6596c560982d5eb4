/*
 * libfs/api internals: what an e4_fs and an e4_file hold.  Seen only by the
 * files of libfs/api.
 */
#ifndef E4_API_INTERNAL_H
#define E4_API_INTERNAL_H

#include "e4lab.h"
#include "libfs/disk/disk.h"

struct e4_fs {
	struct blk_dev *dev;		/* top of the device stack (log over image) */
	struct disk_fs *dfs;
	struct e4_mount_opts opts;
	int read_only;
};

struct e4_file {
	struct e4_fs *fs;
	struct disk_inode *inode;	/* referenced */
	int flags;			/* open(2) flags */
};

/* Credits for a handle that changes a few inodes, bitmaps and directory
 * blocks (create, unlink, rename...). */
#define API_CREDITS_NS		32
#define API_CREDITS_ATTR	4

/* fs.c: mounts @dev (the e4_fs owns it from here on, and closes it on failure
 * too); @o->crash_after is not applied. */
int api_mount_dev(struct blk_dev *dev, const struct e4_mount_opts *o, struct e4_fs **fsp);

/* path.c */
int api_begin(struct e4_fs *fs, unsigned credits);
int api_end(struct e4_fs *fs, int err);
void api_fill_stat(struct disk_inode *inode, struct e4_stat *st);

#endif /* E4_API_INTERNAL_H */
