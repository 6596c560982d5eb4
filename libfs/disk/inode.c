/*
 * libfs/disk, inodes: the inode cache (hashed by number, counted), reading and
 * writing the raw inode, allocation of new inodes and deletion at the last put.
 * Calls libext2fs, and dfs->evict_pages (set by the page cache's owner) for an
 * inode about to be freed.
 * Invariant: one disk_inode per inode number; raw is the truth while cached.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "libfs/disk/disk_internal.h"

static unsigned ihash(const struct disk_fs *dfs, ext2_ino_t ino)
{
	return (ino * 2654435761u) % dfs->icache_size;
}

static struct disk_inode *icache_find(struct disk_fs *dfs, ext2_ino_t ino)
{
	struct disk_inode *inode;

	for (inode = dfs->icache[ihash(dfs, ino)]; inode; inode = inode->hash_next)
		if (inode->ino == ino)
			return inode;
	return NULL;
}

static void icache_insert(struct disk_inode *inode)
{
	struct disk_fs *dfs = inode->dfs;
	unsigned h = ihash(dfs, inode->ino);

	inode->hash_next = dfs->icache[h];
	dfs->icache[h] = inode;
	dfs->icache_count++;
}

static void icache_remove(struct disk_inode *inode)
{
	struct disk_fs *dfs = inode->dfs;
	struct disk_inode **pp = &dfs->icache[ihash(dfs, inode->ino)];

	while (*pp && *pp != inode)
		pp = &(*pp)->hash_next;
	if (*pp) {
		*pp = inode->hash_next;
		dfs->icache_count--;
	}
}

unsigned disk_raw_size(const struct disk_inode *inode)
{
	unsigned isize = EXT2_INODE_SIZE(inode->dfs->fs->super);
	unsigned n = EXT2_GOOD_OLD_INODE_SIZE;

	if (isize > EXT2_GOOD_OLD_INODE_SIZE)
		n += inode->raw.i_extra_isize;
	if (n > sizeof(inode->raw))
		n = sizeof(inode->raw);
	if (n > isize)
		n = isize;
	return n;
}

int disk_is_dir(const struct disk_inode *inode)
{
	return LINUX_S_ISDIR(inode->raw.i_mode);
}

static int read_raw(struct disk_inode *inode)
{
	struct disk_fs *dfs = inode->dfs;
	errcode_t rc;

	memset(&inode->raw, 0, sizeof(inode->raw));
	rc = ext2fs_read_inode_full(dfs->fs, inode->ino,
				    (struct ext2_inode *)&inode->raw,
				    sizeof(inode->raw));
	if (rc) {
		disk_report(dfs, "inode %u: cannot read: %s", inode->ino,
			    error_message(rc));
		return disk_err(rc);
	}
	if (EXT2_INODE_SIZE(dfs->fs->super) > EXT2_GOOD_OLD_INODE_SIZE &&
	    EXT2_GOOD_OLD_INODE_SIZE + inode->raw.i_extra_isize >
	    EXT2_INODE_SIZE(dfs->fs->super)) {
		disk_report(dfs, "inode %u: i_extra_isize %u is too large",
			    inode->ino, inode->raw.i_extra_isize);
		return -EUCLEAN;
	}
	return 0;
}

int disk_iget(struct disk_fs *dfs, ext2_ino_t ino, struct disk_inode **out)
{
	struct disk_inode *inode;
	int err;

	*out = NULL;
	if (ino == 0 || ino > dfs->fs->super->s_inodes_count) {
		disk_report(dfs, "inode number %u is out of range", ino);
		return -EUCLEAN;
	}
	inode = icache_find(dfs, ino);
	if (inode) {
		inode->i_count++;
		*out = inode;
		return 0;
	}
	inode = calloc(1, sizeof(*inode));
	if (!inode)
		return -ENOMEM;
	inode->dfs = dfs;
	inode->ino = ino;
	err = read_raw(inode);
	if (err) {
		free(inode);
		return err;
	}
	inode->i_count = 1;
	icache_insert(inode);
	*out = inode;
	return 0;
}

int disk_write_inode(struct disk_inode *inode)
{
	struct disk_fs *dfs = inode->dfs;
	errcode_t rc;

	if (dfs->read_only)
		return -EROFS;
	rc = ext2fs_write_inode_full(dfs->fs, inode->ino,
				     (struct ext2_inode *)&inode->raw,
				     disk_raw_size(inode));
	if (rc) {
		disk_report(dfs, "inode %u: cannot write: %s", inode->ino,
			    error_message(rc));
		return disk_err(rc);
	}
	inode->dirty = 0;
	return 0;
}

int disk_inode_flush(struct disk_inode *inode)
{
	if (!inode->dirty || inode->dfs->read_only)
		return 0;
	return disk_write_inode(inode);
}

int disk_inode_reload(struct disk_inode *inode)
{
	int err;

	err = disk_inode_flush(inode);
	if (err)
		return err;
	return read_raw(inode);
}

/* A freshly allocated inode: the whole on-disk slot is rewritten, so nothing of
 * a previous owner (in-inode xattrs) survives. */
int disk_write_new_inode(struct disk_inode *inode)
{
	struct disk_fs *dfs = inode->dfs;
	unsigned isize = EXT2_INODE_SIZE(dfs->fs->super);
	unsigned char *buf;
	errcode_t rc;

	buf = calloc(1, isize);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, &inode->raw, disk_raw_size(inode));
	rc = ext2fs_write_inode_full(dfs->fs, inode->ino, (struct ext2_inode *)buf,
				     isize);
	free(buf);
	if (rc)
		return disk_err(rc);
	inode->dirty = 0;
	return 0;
}

uint64_t disk_i_size(const struct disk_inode *inode)
{
	return EXT2_I_SIZE(&inode->raw);
}

void disk_set_i_size(struct disk_inode *inode, uint64_t size)
{
	ext2fs_inode_size_set(inode->dfs->fs, (struct ext2_inode *)&inode->raw, size);
	inode->dirty = 1;
}

uint64_t disk_i_blocks(const struct disk_inode *inode)
{
	return ext2fs_get_stat_i_blocks(inode->dfs->fs,
					(struct ext2_inode *)&inode->raw);
}

/* Device numbers: the old 16-bit encoding in i_block[0] when it fits, the new
 * 32-bit one in i_block[1] otherwise (as Linux stores them). */
uint64_t disk_i_rdev(const struct disk_inode *inode)
{
	uint32_t old = inode->raw.i_block[0], enc = inode->raw.i_block[1];

	if (!LINUX_S_ISCHR(inode->raw.i_mode) && !LINUX_S_ISBLK(inode->raw.i_mode))
		return 0;
	if (old)
		return makedev((old >> 8) & 0xff, old & 0xff);
	return makedev((enc & 0xfff00) >> 8, (enc & 0xff) | ((enc >> 12) & 0xfff00));
}

static void set_rdev(struct ext2_inode_large *raw, uint64_t rdev)
{
	unsigned maj = major(rdev), min = minor(rdev);

	if (maj < 256 && min < 256) {
		raw->i_block[0] = (maj << 8) | min;
		raw->i_block[1] = 0;
	} else {
		raw->i_block[0] = 0;
		raw->i_block[1] = (min & 0xff) | (maj << 8) | ((min & ~0xffu) << 12);
	}
}

/* ---- timestamps: seconds in the base inode, nanoseconds and epoch bits in the
 * extra fields when i_extra_isize covers them ---- */

#define EXTRA_FITS(raw, field) \
	(offsetof(struct ext2_inode_large, field) + 4 <= \
	 (size_t)EXT2_GOOD_OLD_INODE_SIZE + (raw)->i_extra_isize)

void disk_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

static void time_fields(struct ext2_inode_large *raw, enum disk_time which,
			uint32_t **sec, uint32_t **extra, int *has_sec)
{
	*has_sec = 1;
	*extra = NULL;
	switch (which) {
	case DISK_ATIME:
		*sec = &raw->i_atime;
		if (EXTRA_FITS(raw, i_atime_extra))
			*extra = &raw->i_atime_extra;
		break;
	case DISK_MTIME:
		*sec = &raw->i_mtime;
		if (EXTRA_FITS(raw, i_mtime_extra))
			*extra = &raw->i_mtime_extra;
		break;
	case DISK_CTIME:
		*sec = &raw->i_ctime;
		if (EXTRA_FITS(raw, i_ctime_extra))
			*extra = &raw->i_ctime_extra;
		break;
	case DISK_CRTIME:
	default:
		*sec = &raw->i_crtime;
		*has_sec = EXTRA_FITS(raw, i_crtime);
		if (EXTRA_FITS(raw, i_crtime_extra))
			*extra = &raw->i_crtime_extra;
		break;
	}
}

void disk_get_time(const struct disk_inode *inode, enum disk_time which,
		   struct timespec *ts)
{
	struct ext2_inode_large *raw = (struct ext2_inode_large *)&inode->raw;
	uint32_t *sec, *extra;
	int has_sec;

	time_fields(raw, which, &sec, &extra, &has_sec);
	ts->tv_sec = 0;
	ts->tv_nsec = 0;
	if (!has_sec)
		return;
	ts->tv_sec = (int32_t)*sec;
	if (extra) {
		ts->tv_sec += (int64_t)(*extra & 3) << 32;
		ts->tv_nsec = *extra >> 2;
		if (ts->tv_nsec >= 1000000000)
			ts->tv_nsec = 0;
	}
}

void disk_set_time(struct disk_inode *inode, enum disk_time which,
		   const struct timespec *ts)
{
	uint32_t *sec, *extra;
	int has_sec;
	int64_t s = ts->tv_sec;

	time_fields(&inode->raw, which, &sec, &extra, &has_sec);
	if (!has_sec)
		return;
	*sec = (uint32_t)s;
	if (extra)
		*extra = ((uint32_t)((s - (int32_t)s) >> 32) & 3) |
			 ((uint32_t)ts->tv_nsec << 2);
	inode->dirty = 1;
}

void disk_touch(struct disk_inode *inode)
{
	struct timespec now;

	disk_now(&now);
	disk_set_time(inode, DISK_MTIME, &now);
	disk_set_time(inode, DISK_CTIME, &now);
}

/* ---- link counts of directories (dir_nlink: past EXT2_LINK_MAX it is 1) ---- */

void disk_inc_nlink_dir(struct disk_inode *dir)
{
	ext2_filsys fs = dir->dfs->fs;

	if (dir->raw.i_links_count == 1)
		return;
	dir->raw.i_links_count++;
	if (dir->raw.i_links_count > EXT2_LINK_MAX) {
		dir->raw.i_links_count = 1;
		if (!ext2fs_has_feature_dir_nlink(fs->super)) {
			ext2fs_set_feature_dir_nlink(fs->super);
			ext2fs_mark_super_dirty(fs);
		}
	}
	dir->dirty = 1;
}

/*
 * Call after the subdirectory's entry is gone.  Below EXT2_LINK_MAX again, a
 * directory at 1 gets its exact count back from the name cache (e2fsck wants
 * it exact there), when the entries carry file types.
 */
void disk_dec_nlink_dir(struct disk_inode *dir)
{
	const struct dcache *dc = dir->i_dcache;
	ext2_filsys fs = dir->dfs->fs;

	if (dir->raw.i_links_count > 2)
		dir->raw.i_links_count--;
	else if (dir->raw.i_links_count == 1 && dc &&
		 ext2fs_has_feature_filetype(fs->super) &&
		 dc->ndirs + 2 <= EXT2_LINK_MAX)
		dir->raw.i_links_count = dc->ndirs + 2;
	dir->dirty = 1;
}

/* ---- new inodes ---- */

static void init_extent_header(struct ext2_inode_large *raw)
{
	struct ext3_extent_header *eh = (struct ext3_extent_header *)raw->i_block;

	memset(raw->i_block, 0, sizeof(raw->i_block));
	eh->eh_magic = ext2fs_cpu_to_le16(EXT3_EXT_MAGIC);
	eh->eh_entries = 0;
	eh->eh_max = ext2fs_cpu_to_le16((sizeof(raw->i_block) - sizeof(*eh)) /
					sizeof(struct ext3_extent));
	eh->eh_depth = 0;
	raw->i_flags |= EXT4_EXTENTS_FL;
}

static void init_raw(struct disk_inode *inode, mode_t mode, uint64_t rdev)
{
	ext2_filsys fs = inode->dfs->fs;
	struct ext2_inode_large *raw = &inode->raw;
	struct timespec now;

	memset(raw, 0, sizeof(*raw));
	raw->i_mode = mode;
	if (EXT2_INODE_SIZE(fs->super) > EXT2_GOOD_OLD_INODE_SIZE) {
		unsigned want = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;

		if (EXT2_GOOD_OLD_INODE_SIZE + want > EXT2_INODE_SIZE(fs->super))
			want = EXT2_INODE_SIZE(fs->super) - EXT2_GOOD_OLD_INODE_SIZE;
		raw->i_extra_isize = want;
	}
	disk_now(&now);
	disk_set_time(inode, DISK_ATIME, &now);
	disk_set_time(inode, DISK_MTIME, &now);
	disk_set_time(inode, DISK_CTIME, &now);
	disk_set_time(inode, DISK_CRTIME, &now);
	if (LINUX_S_ISCHR(mode) || LINUX_S_ISBLK(mode))
		set_rdev(raw, rdev);
	else if ((LINUX_S_ISREG(mode) || LINUX_S_ISDIR(mode) || LINUX_S_ISLNK(mode)) &&
		 ext2fs_has_feature_extents(fs->super))
		init_extent_header(raw);
}

static int new_inode_rdev(struct disk_fs *dfs, ext2_ino_t dir, mode_t mode,
			  uint64_t rdev, struct disk_inode **out)
{
	struct disk_inode *inode;
	ext2_ino_t ino;
	errcode_t rc;
	int err;

	*out = NULL;
	if (dfs->read_only)
		return -EROFS;
	rc = ext2fs_new_inode(dfs->fs, dir, mode, NULL, &ino);
	if (rc)
		return disk_err(rc);
	if (icache_find(dfs, ino)) {
		disk_report(dfs, "inode %u: free in the bitmap but still in use", ino);
		return -EUCLEAN;
	}
	inode = calloc(1, sizeof(*inode));
	if (!inode)
		return -ENOMEM;
	inode->dfs = dfs;
	inode->ino = ino;
	init_raw(inode, mode, rdev);
	err = disk_write_new_inode(inode);
	if (err) {
		free(inode);
		return err;
	}
	ext2fs_inode_alloc_stats2(dfs->fs, ino, +1, LINUX_S_ISDIR(mode));
	inode->i_count = 1;
	icache_insert(inode);
	*out = inode;
	return 0;
}

int disk_new_inode(struct disk_fs *dfs, ext2_ino_t dir, mode_t mode,
		   struct disk_inode **out)
{
	return new_inode_rdev(dfs, dir, mode, 0, out);
}

int disk_new_inode_rdev(struct disk_fs *dfs, ext2_ino_t dir, mode_t mode,
			uint64_t rdev, struct disk_inode **out)
{
	return new_inode_rdev(dfs, dir, mode, rdev, out);
}

/* ---- the last put ---- */

static int has_data(const struct disk_inode *inode)
{
	ext2_filsys fs = inode->dfs->fs;

	if (inode->raw.i_flags & EXT4_INLINE_DATA_FL)
		return 1;
	return ext2fs_inode_has_valid_blocks2(fs, (struct ext2_inode *)&inode->raw);
}

/* Frees the blocks, xattrs and the inode itself; @inode has no links left. */
static int delete_inode(struct disk_inode *inode)
{
	struct disk_fs *dfs = inode->dfs;
	struct timespec now;
	errcode_t rc;
	int err, is_dir = disk_is_dir(inode);

	err = disk_orphan_del(inode);
	if (err)
		return err;
	err = disk_inode_flush(inode);
	if (err)
		return err;
	if (has_data(inode)) {
		rc = ext2fs_punch(dfs->fs, inode->ino, NULL, NULL, 0, ~0ULL);
		if (rc) {
			disk_report(dfs, "inode %u: cannot free blocks: %s", inode->ino,
				    error_message(rc));
			return disk_err(rc);
		}
		err = read_raw(inode);
		if (err)
			return err;
	}
	rc = ext2fs_free_ext_attr(dfs->fs, inode->ino, &inode->raw);
	if (rc) {
		disk_report(dfs, "inode %u: cannot free the xattr block: %s",
			    inode->ino, error_message(rc));
		return disk_err(rc);
	}
	disk_now(&now);
	inode->raw.i_dtime = (uint32_t)now.tv_sec;
	inode->raw.i_links_count = 0;
	disk_set_i_size(inode, 0);
	err = disk_write_inode(inode);
	if (err)
		return err;
	ext2fs_inode_alloc_stats2(dfs->fs, inode->ino, -1, is_dir);
	return 0;
}

static void free_inode_mem(struct disk_inode *inode)
{
	icache_remove(inode);
	disk_dcache_free(inode);
	free(inode->i_private);		/* inline/'s state: one plain allocation */
	free(inode);
}

/* Keeps the cache bounded: a clean unreferenced inode nobody above holds state
 * for may go; directories stay for their name cache. */
static int may_drop(const struct disk_inode *inode)
{
	return inode->dfs->icache_count > DISK_ICACHE_KEEP && !inode->i_mapping &&
	       !inode->i_private && !disk_is_dir(inode);
}

void disk_iput(struct disk_inode *inode)
{
	struct disk_fs *dfs;
	int err;

	if (!inode)
		return;
	dfs = inode->dfs;
	if (--inode->i_count > 0)
		return;
	if (inode->raw.i_links_count == 0 && !dfs->read_only) {
		if (dfs->evict_pages)
			dfs->evict_pages(inode);
		err = disk_handle_start(dfs, 32);
		if (!err) {
			err = delete_inode(inode);
			disk_handle_stop(dfs);
		}
		if (err)
			disk_report(dfs, "inode %u: not freed (%d); e2fsck will "
				    "find it", inode->ino, err);
		free_inode_mem(inode);
		return;
	}
	if (inode->dirty && !dfs->read_only && disk_inode_flush(inode))
		disk_report(dfs, "inode %u: cannot write it", inode->ino);
	if (may_drop(inode) && !inode->dirty)
		free_inode_mem(inode);
}
