/*
 * libfs/disk, the orphan list: inodes whose last name is gone but which are
 * still open stay reachable from s_last_orphan (chained through i_dtime), so
 * a crash before their last put leaves e2fsck and the kernel something to
 * free instead of an unattached inode.  Calls inode.c and libext2fs.
 * Invariant: an inode is on the list from its last unlink until it is freed.
 */
#include <errno.h>

#include "libfs/disk/disk_internal.h"

void disk_orphan_add(struct disk_inode *inode)
{
	ext2_filsys fs = inode->dfs->fs;

	inode->raw.i_dtime = fs->super->s_last_orphan;
	fs->super->s_last_orphan = inode->ino;
	ext2fs_mark_super_dirty(fs);
	inode->dirty = 1;
}

/* Unlinks @inode from the chain; -EUCLEAN if the chain is broken. */
int disk_orphan_del(struct disk_inode *inode)
{
	struct disk_fs *dfs = inode->dfs;
	ext2_filsys fs = dfs->fs;
	struct disk_inode *prev;
	ext2_ino_t ino = fs->super->s_last_orphan;
	uint32_t steps;
	int err;

	if (ino == inode->ino) {
		fs->super->s_last_orphan = inode->raw.i_dtime;
		ext2fs_mark_super_dirty(fs);
		goto done;
	}
	for (steps = 0; ino && steps < fs->super->s_inodes_count; steps++) {
		err = disk_iget(dfs, ino, &prev);
		if (err)
			return err;
		ino = prev->raw.i_dtime;
		if (ino == inode->ino) {
			prev->raw.i_dtime = inode->raw.i_dtime;
			prev->dirty = 1;
			disk_iput(prev);
			goto done;
		}
		disk_iput(prev);
	}
	return 0;	/* not on the list */
done:
	inode->raw.i_dtime = 0;
	inode->dirty = 1;
	return 0;
}

/*
 * Mount of an image that crashed with orphans (as the kernel's
 * ext4_orphan_cleanup): unlinked inodes are freed, the others (truncates in
 * flight) lose their blocks past i_size.
 */
int disk_process_orphans(struct disk_fs *dfs)
{
	ext2_filsys fs = dfs->fs;
	struct disk_inode *inode;
	ext2_ino_t ino;
	uint32_t count = 0;
	uint64_t end;
	int err;

	while ((ino = fs->super->s_last_orphan) != 0) {
		if (++count > fs->super->s_inodes_count || ino > fs->super->s_inodes_count) {
			disk_report(dfs, "orphan list is corrupt at inode %u; run e2fsck", ino);
			return -EUCLEAN;
		}
		err = disk_iget(dfs, ino, &inode);
		if (err)
			return err;
		if (inode->raw.i_links_count) {
			end = (disk_i_size(inode) + dfs->block_size - 1) / dfs->block_size;
			err = disk_orphan_del(inode);
			if (!err)
				err = disk_punch(inode, end, ~0ULL);
			disk_iput(inode);
			if (err)
				return err;
			continue;
		}
		disk_iput(inode);	/* frees it, taking it off the list */
		if (fs->super->s_last_orphan == ino) {
			disk_report(dfs, "orphan inode %u could not be freed", ino);
			return -EUCLEAN;
		}
	}
	return 0;
}
