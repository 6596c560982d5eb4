/*
 * inline/inline.c - inline data of regular files: state, max size, read, the
 * inline write_begin/write_end, conversion to extents, truncate (fs/ext4/inline.c).
 * Calls libfs/disk and libext2fs only.  Every change to the inode runs inside a
 * disk handle and writes the whole inode (raw + ibody) in one piece.
 *
 * The three pieces of state, kept apart as ext4 keeps them:
 *   M  may_inline   in memory (EXT4_STATE_MAY_INLINE_DATA): new writes may go inline
 *   F  INLINE_DATA_FL on disk (raw.i_flags)
 *   C  inline_off/inline_size: the cached location of system.data (i_inline_off)
 *
 * States of a regular file (M F C):
 *   NEW       1 0 0   new inode on an inline_data fs, nothing written yet
 *   INLINE    1 1 1   data in i_block + system.data, i_size <= inline_size
 *   EXTENTS   0 0 0   ordinary block file (also: an old empty file after iget)
 *   EVICTING  0 1 1   conversion under way (ext4's delalloc convert clears M
 *                     before the inline data is destroyed; seed 004's window)
 * Transitions:
 *   iget:                F and system.data found -> INLINE, else EXTENTS
 *   write_begin fits:    NEW -> INLINE (create system.data), INLINE -> INLINE
 *   write_begin too big, fallocate, page_mkwrite, truncate up past inline_size:
 *                        INLINE -> EXTENTS (convert), NEW -> EXTENTS (clear M)
 *   conversion fails:    back to INLINE (data restored, M set again)
 *   truncate down:       INLINE -> INLINE (value shrunk, i_block tail zeroed)
 * EVICTING is never left behind by this code; met on entry (a study forcing
 * seed 004's interleaving), write_begin converts instead of writing inline.
 * Invariants (inl_check_state): C set <=> system.data present, with
 * inline_size = 60 + its length (its offset is re-found on every access, as
 * ext4_write_inline_data_end does: libext2fs may move it when it rewrites the
 * xattrs); F and C => !EXTENTS_FL and i_size <= inline_size; F without C is
 * corruption, reported by name (-EUCLEAN) and never written.
 * Kernel 6.18 facts these follow, measured on loop mounts: 128/384/896 bytes
 * for 256/512/1024-byte inodes; truncate up past the inline size converts,
 * within it stays; fallocate converts; an empty file touched and evicted is
 * never inline again (M is not set at iget without F).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <ext2fs/ext2fs.h>

#include "inline/inline_internal.h"
#include "libfs/task/task.h"

#define INL_CREDITS 16	/* inode, bitmaps, group desc, extent root, data block */

int inl_corrupt(struct disk_inode *inode, const char *what)
{
	disk_report(inode->dfs, "inode %u: corrupt inline data: %s", inode->ino, what);
	return -EUCLEAN;
}

/* ---- the inode location: whole on-disk inode with raw overlaid ---- */

void inl_iloc_release(struct inl_iloc *loc)
{
	free(loc->buf);
	loc->buf = NULL;
}

int inl_iloc_get(struct disk_inode *inode, struct inl_iloc *loc)
{
	ext2_filsys fs = inode->dfs->fs;
	unsigned isize = EXT2_INODE_SIZE(fs->super), extra, head;
	errcode_t err;

	loc->buf = NULL;
	loc->isize = isize;
	extra = isize > EXT2_GOOD_OLD_INODE_SIZE ? inode->raw.i_extra_isize : 0;
	loc->ibody = EXT2_GOOD_OLD_INODE_SIZE + extra;
	if (isize > EXT2_GOOD_OLD_INODE_SIZE &&
	    ((extra & 3) || loc->ibody + 4 > isize))
		return inl_corrupt(inode, "bad i_extra_isize (truncated xattr area)");
	loc->buf = calloc(1, isize);
	if (!loc->buf)
		return -ENOMEM;
	err = ext2fs_read_inode_full(fs, inode->ino, (struct ext2_inode *)loc->buf, isize);
	if (err) {
		inl_iloc_release(loc);
		return disk_err(err);
	}
	head = loc->ibody < sizeof(inode->raw) ? loc->ibody : sizeof(inode->raw);
	memcpy(loc->buf, &inode->raw, head);
	return 0;
}

int inl_iloc_put(struct disk_inode *inode, struct inl_iloc *loc)
{
	size_t n = loc->isize < sizeof(inode->raw) ? loc->isize : sizeof(inode->raw);
	errcode_t err;

	err = ext2fs_write_inode_full(inode->dfs->fs, inode->ino,
				      (struct ext2_inode *)loc->buf, loc->isize);
	if (err)
		return disk_err(err);
	memcpy(&inode->raw, loc->buf, n);
	inode->dirty = 0;
	return 0;
}

/* ---- the cached state ---- */

static int has_ibody(const struct disk_inode *inode)
{
	return EXT2_INODE_SIZE(inode->dfs->fs->super) > EXT2_GOOD_OLD_INODE_SIZE &&
	       inode->raw.i_extra_isize != 0;
}

/* ext4_iget's part: find system.data, set the cache, validate the inode. */
static int info_load(struct disk_inode *inode, struct inl_info *info)
{
	struct inl_ibody_scan scan;
	struct inl_iloc loc;
	const char *why = NULL;
	int flag = !!(inode->raw.i_flags & EXT4_INLINE_DATA_FL);
	int err;

	info->inline_off = 0;
	info->inline_size = 0;
	info->has_xattr = 0;
	info->may_inline = 0;
	if (!has_ibody(inode)) {
		if (flag)
			return inl_corrupt(inode, "INLINE_DATA_FL without in-inode xattr space");
		info->loaded = 1;
		return 0;
	}
	err = inl_iloc_get(inode, &loc);
	if (err)
		return err;
	err = inl_ibody_scan(&loc, &scan, &why);
	if (err) {
		if (flag)
			err = inl_corrupt(inode, why);
		else
			err = 0;	/* not ours to judge: no inline data here */
		goto out;
	}
	info->has_xattr = scan.has_magic;
	if (scan.data_off != INL_NONE) {
		info->inline_off = (uint16_t)(loc.ibody + 4 + scan.data_off);
		info->inline_size = INL_MIN_SIZE + scan.data_len;
	}
	if (flag) {
		err = -EUCLEAN;
		if (!ext2fs_has_feature_inline_data(inode->dfs->fs->super))
			inl_corrupt(inode, "INLINE_DATA_FL on a file system without inline_data");
		else if (inode->raw.i_flags & EXT4_EXTENTS_FL)
			inl_corrupt(inode, "INLINE_DATA_FL together with EXTENTS_FL");
		else if (!info->inline_off)
			inl_corrupt(inode, "INLINE_DATA_FL set but the system.data xattr is missing");
		else if (disk_i_size(inode) > info->inline_size)
			inl_corrupt(inode, "i_size is past the inline size");
		else
			err = 0;
		if (err)
			goto out;
		info->may_inline = 1;
	}
	info->loaded = 1;
out:
	inl_iloc_release(&loc);
	return err;
}

struct inl_info *inl_info_get(struct disk_inode *inode, int *err)
{
	struct inl_info *info = inode->i_private;

	*err = 0;
	if (!info) {
		info = calloc(1, sizeof(*info));
		if (!info) {
			*err = -ENOMEM;
			return NULL;
		}
		inode->i_private = info;
	}
	if (!info->loaded) {
		*err = info_load(inode, info);
		if (*err)
			return NULL;
	}
	return info;
}

void inl_init_new_inode(struct disk_inode *inode)
{
	struct inl_info *info = inode->i_private;

	if (!info) {
		info = calloc(1, sizeof(*info));
		if (!info)
			return;		/* no state: the file simply never goes inline */
		inode->i_private = info;
	}
	memset(info, 0, sizeof(*info));
	info->loaded = 1;
	info->may_inline = ext2fs_has_feature_inline_data(inode->dfs->fs->super) &&
			   has_ibody(inode);
}

void inl_evict_inode(struct disk_inode *inode)
{
	free(inode->i_private);
	inode->i_private = NULL;
}

int inl_has_inline_data(const struct disk_inode *inode)
{
	return !!(inode->raw.i_flags & EXT4_INLINE_DATA_FL);
}

int inl_may_inline(struct disk_inode *inode)
{
	int err;
	struct inl_info *info = inl_info_get(inode, &err);

	return info ? info->may_inline : 0;
}

int inl_inline_size(struct disk_inode *inode)
{
	int err;
	struct inl_info *info = inl_info_get(inode, &err);

	if (!info)
		return err;
	return info->inline_off ? (int)info->inline_size : 0;
}

/* ext4_has_inline_data: the flag and a located system.data. */
static int has_inline(struct disk_inode *inode, struct inl_info *info)
{
	return inl_has_inline_data(inode) && info->inline_off;
}

/* Scan @loc and check it still agrees with the cache. */
int inl_scan_loc(struct disk_inode *inode, struct inl_iloc *loc,
		    struct inl_ibody_scan *scan)
{
	const char *why = NULL;

	if (inl_ibody_scan(loc, scan, &why))
		return inl_corrupt(inode, why);
	return 0;
}

unsigned inl_max_inline_size(struct disk_inode *inode)
{
	struct inl_ibody_scan scan;
	struct inl_iloc loc;
	unsigned max = 0;

	if (!has_ibody(inode) || inl_iloc_get(inode, &loc))
		return 0;
	if (inl_scan_loc(inode, &loc, &scan) == 0) {
		max = inl_ibody_max_value(&loc, &scan);
		if (max)
			max += INL_MIN_SIZE;
	}
	inl_iloc_release(&loc);
	return max;
}

unsigned inl_fs_max_inline_size(struct disk_fs *dfs)
{
	ext2_filsys fs = dfs->fs;
	unsigned isize = EXT2_INODE_SIZE(fs->super);
	unsigned extra = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
	struct inl_iloc loc = { .isize = isize, .ibody = EXT2_GOOD_OLD_INODE_SIZE + extra };
	struct inl_ibody_scan empty = { .has_magic = 0 };
	unsigned max;

	if (!ext2fs_has_feature_inline_data(fs->super) || loc.ibody + 4 > isize)
		return 0;
	max = inl_ibody_max_value(&loc, &empty);
	return max ? max + INL_MIN_SIZE : 0;
}

int inl_check_state(struct disk_inode *inode)
{
	struct inl_info *info = inode->i_private;
	struct inl_ibody_scan scan;
	struct inl_iloc loc;
	int ok = 1;

	if (!info || !info->loaded)
		return 1;
	if (info->inline_off) {
		if (inl_iloc_get(inode, &loc))
			return 0;
		ok = inl_scan_loc(inode, &loc, &scan) == 0 && scan.data_off != INL_NONE &&
		     info->inline_size == INL_MIN_SIZE + scan.data_len;
		inl_iloc_release(&loc);
	}
	if (ok && has_inline(inode, info))
		ok = !(inode->raw.i_flags & EXT4_EXTENTS_FL) &&
		     disk_i_size(inode) <= info->inline_size;
	return ok;
}

/* ---- copying between the inline area and memory ---- */

void inl_copy_out(const struct inl_iloc *loc, const struct inl_ibody_scan *scan,
		  uint8_t *dst, unsigned pos, unsigned len)
{
	const uint8_t *iblock = loc->buf + offsetof(struct ext2_inode, i_block);

	for (; len && pos < INL_MIN_SIZE; len--)
		*dst++ = iblock[pos++];
	if (len)
		memcpy(dst, inl_ifirst(loc) + scan->data_voff + (pos - INL_MIN_SIZE), len);
}

void inl_copy_in(struct inl_iloc *loc, const struct inl_ibody_scan *scan,
		 const uint8_t *src, unsigned pos, unsigned len)
{
	uint8_t *iblock = loc->buf + offsetof(struct ext2_inode, i_block);

	for (; len && pos < INL_MIN_SIZE; len--)
		iblock[pos++] = *src++;
	if (len)
		memcpy(inl_ifirst(loc) + scan->data_voff + (pos - INL_MIN_SIZE), src, len);
}

/* ---- read ---- */

ssize_t inl_read(struct disk_inode *inode, void *buf, size_t len, uint64_t pos)
{
	struct inl_ibody_scan scan;
	struct inl_iloc loc;
	struct inl_info *info;
	uint64_t size = disk_i_size(inode);
	unsigned stored, n;
	int err;

	info = inl_info_get(inode, &err);
	if (!info)
		return err;
	if (!has_inline(inode, info))
		return -ENODATA;
	if (pos >= size)
		return 0;
	if (len > size - pos)
		len = size - pos;
	err = inl_iloc_get(inode, &loc);
	if (err)
		return err;
	err = inl_scan_loc(inode, &loc, &scan);
	if (err)
		goto out;
	memset(buf, 0, len);
	stored = INL_MIN_SIZE + scan.data_len;
	if (pos < stored) {
		n = len < stored - pos ? (unsigned)len : stored - (unsigned)pos;
		inl_copy_out(&loc, &scan, buf, (unsigned)pos, n);
	}
	err = (int)len;
out:
	inl_iloc_release(&loc);
	return err;
}

int inl_read_folio(struct disk_inode *inode, void *page, size_t page_size)
{
	uint64_t size = disk_i_size(inode);
	size_t len = size < page_size ? (size_t)size : page_size;
	ssize_t n;

	memset(page, 0, page_size);
	n = inl_read(inode, page, len, 0);
	return n < 0 ? (int)n : 0;
}

/* ---- creating and growing system.data (ext4_prepare_inline_data) ---- */

/*
 * Makes the inline area at least @len bytes: creates system.data (zeroing
 * i_block, setting the flag, clearing EXTENTS_FL) or grows its value.
 * Caller holds a handle.  -ENOSPC when it does not fit.
 */
int inl_prepare_inline(struct disk_inode *inode, struct inl_info *info,
			  unsigned len)
{
	struct inl_ibody_scan scan;
	struct inl_iloc loc;
	int creating = !info->inline_off, err;

	if (!info->may_inline || inl_max_inline_size(inode) < len)
		return -ENOSPC;
	if (!creating && len <= info->inline_size)
		return 0;
	err = inl_iloc_get(inode, &loc);
	if (err)
		return err;
	err = inl_ibody_set_data(&loc, len > INL_MIN_SIZE ? len - INL_MIN_SIZE : 0);
	if (err == -ENOSPC && creating)
		info->may_inline = 0;
	if (err)
		goto out;
	if (creating) {
		struct ext2_inode_large *ri = (struct ext2_inode_large *)loc.buf;

		memset(ri->i_block, 0, sizeof(ri->i_block));
		ri->i_flags &= ~EXT4_EXTENTS_FL;
		ri->i_flags |= EXT4_INLINE_DATA_FL;
	}
	err = inl_scan_loc(inode, &loc, &scan);
	if (err)
		goto out;
	err = inl_iloc_put(inode, &loc);
	if (err)
		goto out;
	info->has_xattr = 1;
	info->inline_off = (uint16_t)(loc.ibody + 4 + scan.data_off);
	info->inline_size = INL_MIN_SIZE + scan.data_len;
	info->may_inline = 1;
out:
	inl_iloc_release(&loc);
	return err;
}

/* ---- conversion to extents ---- */

void inl_set_extent_root(ext2_filsys fs, struct ext2_inode_large *ri)
{
	struct ext3_extent_header *eh = (struct ext3_extent_header *)ri->i_block;

	(void)fs;
	memset(ri->i_block, 0, sizeof(ri->i_block));
	eh->eh_magic = ext2fs_cpu_to_le16(EXT3_EXT_MAGIC);
	eh->eh_max = ext2fs_cpu_to_le16((sizeof(ri->i_block) - sizeof(*eh)) /
					sizeof(struct ext3_extent));
	ri->i_flags |= EXT4_EXTENTS_FL;
}

/* Removes system.data, zeroes i_block, sets EXTENTS_FL with an empty extent
 * root, clears the flag and the cache (ext4_destroy_inline_data_nolock). */
int inl_destroy_inline(struct disk_inode *inode, struct inl_info *info)
{
	ext2_filsys fs = inode->dfs->fs;
	struct ext2_inode_large *ri;
	struct inl_iloc loc;
	mode_t mode = inode->raw.i_mode;
	int err;

	err = inl_iloc_get(inode, &loc);
	if (err)
		return err;
	err = inl_ibody_remove_data(&loc);
	if (err)
		goto out;
	ri = (struct ext2_inode_large *)loc.buf;
	memset(ri->i_block, 0, sizeof(ri->i_block));
	if (ext2fs_has_feature_extents(fs->super) &&
	    (LINUX_S_ISREG(mode) || LINUX_S_ISDIR(mode) || LINUX_S_ISLNK(mode)))
		inl_set_extent_root(fs, ri);
	ri->i_flags &= ~EXT4_INLINE_DATA_FL;
	err = inl_iloc_put(inode, &loc);
	if (err)
		goto out;
	info->inline_off = 0;
	info->inline_size = 0;
	info->may_inline = 0;
	info->has_xattr = inl_get32(loc.buf + loc.ibody) == EXT2_EXT_ATTR_MAGIC;
out:
	inl_iloc_release(&loc);
	return err;
}

/* Puts @len saved bytes back inline after a failed conversion
 * (ext4_restore_inline_data). */
static int restore_inline(struct disk_inode *inode, struct inl_info *info,
			  const uint8_t *data, unsigned len)
{
	struct inl_ibody_scan scan;
	struct inl_iloc loc;
	int err;

	info->may_inline = 1;
	err = inl_prepare_inline(inode, info, len);
	if (err)
		return err;
	err = inl_iloc_get(inode, &loc);
	if (err)
		return err;
	err = inl_scan_loc(inode, &loc, &scan);
	if (!err) {
		inl_copy_in(&loc, &scan, data, 0, len);
		err = inl_iloc_put(inode, &loc);
	}
	inl_iloc_release(&loc);
	return err;
}

/* Saves the inline bytes [0, inline_size) clipped to i_size into @buf. */
static int save_inline(struct disk_inode *inode, struct inl_info *info,
		       uint8_t *buf, unsigned *len)
{
	uint64_t size = disk_i_size(inode);
	ssize_t n;

	*len = size < info->inline_size ? (unsigned)size : info->inline_size;
	n = inl_read(inode, buf, *len, 0);
	return n < 0 ? (int)n : 0;
}

/*
 * Fills block 0 from the saved inline bytes: regular files and symlinks get
 * the bytes zero padded, directories a block directory (dir.c).
 */
static int fill_block(struct disk_inode *inode, const uint8_t *data,
		      unsigned len, uint8_t *blk)
{
	if (LINUX_S_ISDIR(inode->raw.i_mode))
		return inl_dir_build_block(inode, data, len, blk);
	memcpy(blk, data, len);
	return 0;
}

static int write_block(struct disk_inode *inode, uint64_t pblk, uint8_t *blk)
{
	ext2_filsys fs = inode->dfs->fs;

	if (!LINUX_S_ISDIR(inode->raw.i_mode))
		return disk_write_data(inode->dfs, pblk, 1, blk);
	/* Directory blocks are metadata: through libext2fs, checksummed. */
	disk_set_i_size(inode, inode->dfs->block_size);
	return disk_err(ext2fs_write_dir_block4(fs, pblk, blk, 0, inode->ino));
}

/*
 * The conversion proper (ext4_convert_inline_data_nolock and the write_begin
 * form): save the bytes, destroy the inline data, map block 0, write it.
 * Caller holds a handle and has checked has_inline().  On failure before the
 * inode is written the inline data is restored and may_inline set again.
 */
static int convert_locked(struct disk_inode *inode, struct inl_info *info)
{
	unsigned bs = inode->dfs->block_size, len = 0;
	struct disk_map map = { .lblk = 0, .len = 1 };
	uint64_t old_size = disk_i_size(inode);
	uint8_t *saved, *blk;
	int err, err2;

	saved = calloc(2, bs);
	if (!saved)
		return -ENOMEM;
	blk = saved + bs;
	err = save_inline(inode, info, saved, &len);
	if (!err)
		err = fill_block(inode, saved, len, blk);
	if (err)
		goto out;
	err = inl_destroy_inline(inode, info);
	if (err)
		goto out;
	err = disk_map_blocks(inode, &map, 1);
	if (!err && !(map.flags & DISK_MAP_MAPPED))
		err = -EIO;
	if (!err)
		err = write_block(inode, map.pblk, blk);
	if (!err)
		err = disk_write_inode(inode);
	if (err) {
		/* Not committed: give the bytes back to the inode. */
		disk_punch(inode, 0, ~0ULL);
		disk_set_i_size(inode, old_size);
		err2 = restore_inline(inode, info, saved, len);
		if (err2)
			disk_report(inode->dfs, "inode %u: inline data lost: restore failed (%d)",
				    inode->ino, err2);
	}
out:
	free(saved);
	return err;
}

int inl_convert_to_extents(struct disk_inode *inode)
{
	struct inl_info *info;
	int err, err2;

	info = inl_info_get(inode, &err);
	if (!info)
		return err;
	if (!has_inline(inode, info)) {
		info->may_inline = 0;	/* no new write will come back here */
		return 0;
	}
	err = disk_handle_start(inode->dfs, INL_CREDITS);
	if (err)
		return err;
	err = convert_locked(inode, info);
	err2 = disk_handle_stop(inode->dfs);
	return err ? err : err2;
}

int inl_convert_inline_data(struct disk_inode *inode)
{
	return inl_convert_to_extents(inode);
}

/* ---- write_begin / write_end ---- */

int inl_write_begin(struct disk_inode *inode, uint64_t pos, unsigned len,
		    int *inline_path)
{
	struct inl_info *info;
	int err, err2;

	*inline_path = 0;
	info = inl_info_get(inode, &err);
	if (!info)
		return err;
	if (!info->may_inline && !has_inline(inode, info))
		return 0;
	if (!info->may_inline || pos + len > inl_max_inline_size(inode))
		return inl_convert_to_extents(inode);
	err = disk_handle_start(inode->dfs, 1);
	if (err)
		return err;
	err = inl_prepare_inline(inode, info, (unsigned)(pos + len));
	err2 = disk_handle_stop(inode->dfs);
	if (err == -ENOSPC)
		return inl_convert_to_extents(inode);
	if (err || err2)
		return err ? err : err2;
	*inline_path = 1;
	return 0;
}

int inl_write_end(struct disk_inode *inode, uint64_t pos, unsigned copied,
		  const void *src)
{
	struct inl_ibody_scan scan;
	struct inl_iloc loc;
	struct inl_info *info;
	uint64_t old_size;
	int err, err2;

	info = inl_info_get(inode, &err);
	if (!info)
		return err;
	/* The kernel's BUG_ONs: under libfs/task (a study or an exploration) they end
	 * the run with the BUG oracle; as a plain library, a report and -EIO. */
	if (!has_inline(inode, info)) {
		if (task_current())
			task_bug("BUG", "inode %u: ext4_write_inline_data_end: BUG_ON("
				 "!ext4_has_inline_data(inode))", inode->ino);
		disk_report(inode->dfs, "BUG: inode %u: ext4_write_inline_data_end "
			    "without inline data", inode->ino);
		return -EIO;
	}
	if (pos + copied > info->inline_size) {
		if (task_current())
			task_bug("BUG", "inode %u: ext4_write_inline_data: BUG_ON(pos + len > "
				 "i_inline_size): %llu > %u", inode->ino,
				 (unsigned long long)(pos + copied), info->inline_size);
		disk_report(inode->dfs, "BUG: inode %u: ext4_write_inline_data: pos + len "
			    "%llu > i_inline_size %u", inode->ino,
			    (unsigned long long)(pos + copied), info->inline_size);
		return -EIO;
	}
	if (!copied)
		return 0;
	err = disk_handle_start(inode->dfs, 1);
	if (err)
		return err;
	old_size = disk_i_size(inode);
	if (pos + copied > old_size)
		disk_set_i_size(inode, pos + copied);	/* ext4_update_inode_size */
	err = inl_iloc_get(inode, &loc);
	if (err)
		goto stop;
	err = inl_scan_loc(inode, &loc, &scan);
	if (err)
		goto release;
	inl_copy_in(&loc, &scan, src, (unsigned)pos, copied);
	err = inl_iloc_put(inode, &loc);
release:
	inl_iloc_release(&loc);
stop:
	if (err)
		disk_set_i_size(inode, old_size);
	err2 = disk_handle_stop(inode->dfs);
	return err ? err : err2;
}

/* ---- truncate (ext4_inline_data_truncate, and ext4_setattr's growth) ---- */

static int shrink_locked(struct disk_inode *inode, struct inl_info *info,
			 uint64_t size)
{
	struct inl_ibody_scan scan;
	struct inl_iloc loc;
	struct ext2_inode_large *ri;
	uint64_t old_size = disk_i_size(inode);
	int err;

	disk_set_i_size(inode, size);
	err = inl_iloc_get(inode, &loc);
	if (err)
		goto undo;
	if (size < info->inline_size && info->inline_size > INL_MIN_SIZE) {
		err = inl_ibody_set_data(&loc, size > INL_MIN_SIZE ?
					 (uint32_t)size - INL_MIN_SIZE : 0);
		if (err)
			goto out;
	}
	ri = (struct ext2_inode_large *)loc.buf;
	if (size < INL_MIN_SIZE)
		memset((uint8_t *)ri->i_block + size, 0, INL_MIN_SIZE - size);
	err = inl_scan_loc(inode, &loc, &scan);
	if (err)
		goto out;
	err = inl_iloc_put(inode, &loc);
	if (err)
		goto out;
	info->inline_size = INL_MIN_SIZE + scan.data_len;
out:
	inl_iloc_release(&loc);
undo:
	if (err)
		disk_set_i_size(inode, old_size);
	return err;
}

/* Growth past the inline size converts first (ext4_setattr), the rest stays. */
static int truncate_locked(struct disk_inode *inode, struct inl_info *info,
			   uint64_t size)
{
	int err;

	if (size <= info->inline_size)
		return shrink_locked(inode, info, size);
	err = convert_locked(inode, info);
	if (err)
		return err;
	disk_set_i_size(inode, size);
	return disk_write_inode(inode);
}

int inl_truncate(struct disk_inode *inode, uint64_t size)
{
	struct inl_info *info;
	int err, err2;

	info = inl_info_get(inode, &err);
	if (!info)
		return err;
	if (!has_inline(inode, info))
		return -ENODATA;
	err = disk_handle_start(inode->dfs, INL_CREDITS);
	if (err)
		return err;
	err = truncate_locked(inode, info, size);
	err2 = disk_handle_stop(inode->dfs);
	return err ? err : err2;
}
