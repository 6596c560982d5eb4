/*
 * inline/dir.c - inline directories as ext4 keeps them: the parent's inode
 * number in the first 4 bytes of i_block, entries in the other 56, then in the
 * system.data value once that has been grown to the maximum (all at once, when
 * i_block is full); when that is full too, one block directory.
 * Calls libfs/disk and libext2fs; entry insertion itself is libext2fs's
 * (ext2fs_link walks both parts of an inline dir).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <ext2fs/ext2fs.h>

#include "inline/inline_internal.h"

#define DIRENT_MIN	12	/* ext4_dir_rec_len(1): the smallest entry */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static void put16(uint8_t *p, uint16_t v) { p[0] = v & 0xff; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; p[2] = (v >> 16) & 0xff; p[3] = v >> 24;
}

/*
 * ext4_update_final_de: the entries in buf[0, old_size) end exactly at
 * old_size; the last one is stretched to end at new_size.  With old_size 0
 * an empty entry covering [0, new_size) is made.  -EUCLEAN on a bad rec_len.
 */
static int stretch_last_entry(uint8_t *buf, unsigned old_size, unsigned new_size)
{
	unsigned off = 0, last = 0, rec;

	if (!old_size) {
		memset(buf, 0, 8);
		put16(buf + 4, (uint16_t)new_size);
		return 0;
	}
	while (off < old_size) {
		rec = get16(buf + off + 4);
		if (rec < 8 || (rec & 3) || off + rec > old_size)
			return -EUCLEAN;
		last = off;
		off += rec;
	}
	put16(buf + last + 4, (uint16_t)(get16(buf + last + 4) + new_size - old_size));
	return 0;
}

static void make_dirent(uint8_t *p, uint32_t ino, unsigned rec, const char *name,
			int ft)
{
	size_t n = strlen(name);

	memset(p, 0, rec);
	put32(p, ino);
	put16(p + 4, (uint16_t)rec);
	p[6] = (uint8_t)n;
	p[7] = (uint8_t)ft;
	memcpy(p + 8, name, n);
}

int inl_dir_build_block(struct disk_inode *dir, const uint8_t *inl, unsigned len,
			uint8_t *blk)
{
	ext2_filsys fs = dir->dfs->fs;
	unsigned bs = dir->dfs->block_size, head = 2 * DIRENT_MIN;
	unsigned csum = ext2fs_has_feature_metadata_csum(fs->super) ?
			sizeof(struct ext2_dir_entry_tail) : 0;
	int ft = ext2fs_has_feature_filetype(fs->super) ? EXT2_FT_DIR : 0;
	uint32_t parent;

	if (len < INL_MIN_SIZE || head + len - INL_DOTDOT_SIZE > bs - csum)
		return inl_corrupt(dir, "inline directory size");
	parent = inl_get32(inl);
	memset(blk, 0, bs);
	make_dirent(blk, dir->ino, DIRENT_MIN, ".", ft);
	make_dirent(blk + DIRENT_MIN, parent, DIRENT_MIN, "..", ft);
	memcpy(blk + head, inl + INL_DOTDOT_SIZE, len - INL_DOTDOT_SIZE);
	/* The i_block part and the value part each end at their own end. */
	if (stretch_last_entry(blk + head, INL_MIN_SIZE - INL_DOTDOT_SIZE,
			       INL_MIN_SIZE - INL_DOTDOT_SIZE) ||
	    stretch_last_entry(blk + head + INL_MIN_SIZE - INL_DOTDOT_SIZE,
			       len - INL_MIN_SIZE, len - INL_MIN_SIZE))
		return inl_corrupt(dir, "bad rec_len in inline directory");
	if (stretch_last_entry(blk, head + len - INL_DOTDOT_SIZE, bs - csum))
		return inl_corrupt(dir, "bad rec_len in inline directory");
	if (csum)
		ext2fs_initialize_dirent_tail(fs, EXT2_DIRENT_TAIL(blk, bs));
	return 0;
}

/*
 * ext4_update_inline_dir: the value part is created at its maximum size, as
 * one empty entry, and i_size follows.  Caller holds a handle.
 */
static int grow_into_xattr(struct disk_inode *dir, struct inl_info *info,
			   unsigned new_value)
{
	struct inl_ibody_scan scan;
	struct inl_iloc loc;
	uint64_t old_size = disk_i_size(dir);
	int err;

	err = inl_prepare_inline(dir, info, INL_MIN_SIZE + new_value);
	if (err)
		return err;
	disk_set_i_size(dir, INL_MIN_SIZE + new_value);
	err = inl_iloc_get(dir, &loc);
	if (err)
		goto undo;
	err = inl_scan_loc(dir, &loc, &scan);
	if (!err)
		err = stretch_last_entry(inl_ifirst(&loc) + scan.data_voff, 0, new_value);
	if (!err)
		err = inl_iloc_put(dir, &loc);
	inl_iloc_release(&loc);
undo:
	if (err)
		disk_set_i_size(dir, old_size);
	return err;
}

int inl_dir_grow(struct disk_inode *dir)
{
	struct inl_ibody_scan scan;
	struct inl_iloc loc;
	struct inl_info *info;
	unsigned room;
	int err, err2;

	/* libext2fs edits inline dirs behind our back: look again. */
	if (dir->i_private)
		((struct inl_info *)dir->i_private)->loaded = 0;
	info = inl_info_get(dir, &err);
	if (!info)
		return err;
	if (!inl_has_inline_data(dir) || !info->inline_off)
		return -ENODATA;
	err = inl_iloc_get(dir, &loc);
	if (err)
		return err;
	err = inl_scan_loc(dir, &loc, &scan);
	room = err ? 0 : inl_ibody_max_value(&loc, &scan);
	inl_iloc_release(&loc);
	if (err)
		return err;
	if (info->inline_size > INL_MIN_SIZE || !info->may_inline || room <= DIRENT_MIN)
		return inl_convert_to_extents(dir);
	err = disk_handle_start(dir->dfs, 1);
	if (err)
		return err;
	err = grow_into_xattr(dir, info, room);
	err2 = disk_handle_stop(dir->dfs);
	if (err == -ENOSPC)
		return inl_convert_to_extents(dir);
	return err ? err : err2;
}

int inl_dir_link(struct disk_inode *dir, const char *name, ext2_ino_t ino,
		 unsigned ftype)
{
	ext2_filsys fs = dir->dfs->fs;
	errcode_t rc;
	int err = 0, tries;

	if (dir->dirty) {
		err = disk_write_inode(dir);
		if (err)
			return err;
	}
	for (tries = 0; tries < 3; tries++) {
		rc = ext2fs_link(fs, dir->ino, name, ino, (int)ftype);
		if (rc != EXT2_ET_DIR_NO_SPACE)
			break;
		err = disk_inode_reload(dir);
		if (!err)
			err = inl_dir_grow(dir);
		if (err == -ENODATA)	/* a block dir: libext2fs adds a block */
			err = disk_err(ext2fs_expand_dir(fs, dir->ino));
		if (err)
			break;
	}
	if (!err && rc)
		err = disk_err(rc);
	if (dir->i_private)
		((struct inl_info *)dir->i_private)->loaded = 0;
	rc = disk_inode_reload(dir);
	return err ? err : (int)rc;
}
