/*
 * libfs/disk, block mapping: logical to physical blocks through the extent tree
 * (or the old indirect map), data-block allocation in contiguous runs that are
 * never zeroed by libext2fs, punch, preallocation, and raw data I/O on data_dev.
 * Calls libext2fs and libfs/blk.  Invariant: the raw inode is written before and
 * re-read after every libext2fs call that rewrites the inode itself.
 */
#include <errno.h>
#include <string.h>

#include "libfs/disk/disk_internal.h"

/* Blocks looked at per call for old block-mapped files. */
#define IND_RUN_MAX	64
/* Largest logical block of an extent-mapped file (32-bit ee_block). */
#define EXT_LBLK_LIMIT	(1ULL << 32)

static int check_pblk(struct disk_inode *inode, uint64_t pblk, uint64_t len)
{
	ext2_filsys fs = inode->dfs->fs;

	if (pblk < fs->super->s_first_data_block || len > ext2fs_blocks_count(fs->super) ||
	    pblk > ext2fs_blocks_count(fs->super) - len) {
		disk_report(inode->dfs, "inode %u: block %llu (+%llu) is outside the "
			    "file system", inode->ino, (unsigned long long)pblk,
			    (unsigned long long)len);
		return -EUCLEAN;
	}
	return 0;
}

/* ---- allocation ---- */

/*
 * Finds up to @want contiguous free blocks at or after @goal (wrapping to the
 * start).  The file system's last block is never handed out: ext2fs_punch in
 * libext2fs 1.47.0 refuses to free it (fixed upstream by 509da989) after it
 * has already unmapped it, which would leak it.
 */
static int find_run(struct disk_fs *dfs, blk64_t goal, uint64_t want,
		    blk64_t *pblk, uint64_t *got)
{
	blk64_t last = ext2fs_blocks_count(dfs->fs->super) - 1, len = 0;
	errcode_t rc;
	int pass;

	if (goal >= last)
		goal = 0;
	for (pass = 0; pass < 2; pass++) {
		rc = ext2fs_new_range(dfs->fs, 0, goal, want, NULL, pblk, &len);
		if (rc)
			return disk_err(rc);
		if (*pblk + len - 1 == last)
			len--;
		if (len)
			break;
		goal = 0;	/* only the last block was free after @goal */
	}
	if (!len)
		return -ENOSPC;
	*got = len;
	return 0;
}

/* Runs skipped per call before giving up (then ENOSPC forces a commit). */
#define FREED_SKIPS	64

/*
 * find_run for file data: the run holds no block freed by a transaction that
 * has not committed (freed.c), so a crash cannot show this file's data inside
 * the file that freed the block.
 */
static int find_data_run(struct disk_fs *dfs, blk64_t goal, uint64_t want,
			 blk64_t *pblk, uint64_t *got)
{
	blk64_t skip_to;
	uint64_t n;
	int i, err;

	for (i = 0; i < FREED_SKIPS; i++) {
		err = find_run(dfs, goal, want, pblk, got);
		if (err || !dfs->freed_count)
			return err;
		n = disk_freed_clip(dfs, *pblk, *got, &skip_to);
		if (n) {
			*got = n;
			return 0;
		}
		goal = skip_to;
	}
	return -ENOSPC;
}

/*
 * Allocates up to @want contiguous blocks at or after @goal, marking them in
 * the bitmap and the free counts.  No I/O: the blocks keep stale contents.
 * @data: for file data (see find_data_run); metadata may reuse any free
 * block, its writes are journaled.
 */
static int alloc_run(struct disk_fs *dfs, blk64_t goal, uint64_t want,
		     blk64_t *pblk, uint64_t *got, int data)
{
	int err;

	err = data ? find_data_run(dfs, goal, want, pblk, got) :
		     find_run(dfs, goal, want, pblk, got);
	if (err)
		return err;
	ext2fs_block_alloc_stats_range(dfs->fs, *pblk, *got, +1);
	dfs->alloc_goal = *pblk + *got;
	return 0;
}

int disk_alloc_meta_block(struct disk_fs *dfs, blk64_t goal, blk64_t *pblk)
{
	uint64_t got;

	return alloc_run(dfs, goal, 1, pblk, &got, 0);
}

static void free_run(struct disk_fs *dfs, blk64_t pblk, uint64_t len)
{
	if (len)
		ext2fs_block_alloc_stats_range(dfs->fs, pblk, len, -1);
}

/* Goal for a file with no block before @lblk. */
static blk64_t first_goal(struct disk_inode *inode, uint64_t lblk)
{
	if (inode->dfs->alloc_goal)
		return inode->dfs->alloc_goal;
	return ext2fs_find_inode_goal(inode->dfs->fs, inode->ino,
				      (struct ext2_inode *)&inode->raw, lblk);
}

/* ---- extent-mapped files ---- */

struct ext_lookup {
	int mapped;
	struct ext2fs_extent ext;	/* the extent holding lblk, when mapped */
	uint64_t hole_end;		/* first mapped block after lblk, or ~0 */
	blk64_t goal;			/* physical block after the previous extent */
};

static int ext_lookup(struct disk_inode *inode, ext2_extent_handle_t h,
		      uint64_t lblk, struct ext_lookup *res)
{
	struct ext2fs_extent e;
	errcode_t rc;

	memset(res, 0, sizeof(*res));
	res->hole_end = ~0ULL;
	rc = ext2fs_extent_goto2(h, 0, lblk);
	if (rc == 0) {
		rc = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &res->ext);
		if (rc)
			goto bad;
		res->mapped = 1;
		return check_pblk(inode, res->ext.e_pblk, res->ext.e_len);
	}
	if (rc != EXT2_ET_EXTENT_NOT_FOUND)
		goto bad;
	rc = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &e);
	if (rc == EXT2_ET_NO_CURRENT_NODE)
		return 0;			/* empty tree */
	if (rc)
		goto bad;
	while (e.e_lblk <= lblk) {
		res->goal = e.e_pblk + (lblk - e.e_lblk);
		rc = ext2fs_extent_get(h, EXT2_EXTENT_NEXT_LEAF, &e);
		if (rc == EXT2_ET_EXTENT_NO_NEXT)
			return 0;
		if (rc)
			goto bad;
	}
	res->hole_end = e.e_lblk;
	return 0;
bad:
	disk_report(inode->dfs, "inode %u: extent tree: %s", inode->ino,
		    error_message(rc));
	return disk_err(rc);
}

static void ext_result(const struct ext_lookup *res, struct disk_map *map)
{
	uint64_t off = map->lblk - res->ext.e_lblk;
	uint64_t left = res->ext.e_len - off;

	map->pblk = res->ext.e_pblk + off;
	if (left < map->len)
		map->len = left;
	map->flags = DISK_MAP_MAPPED;
	if (res->ext.e_flags & EXT2_EXTENT_FLAGS_UNINIT)
		map->flags |= DISK_MAP_UNWRITTEN;
}

/* Maps [lblk, lblk+len) to [pblk, ...) as written extents; returns blocks done. */
static uint64_t ext_set_run(ext2_extent_handle_t h, uint64_t lblk, blk64_t pblk,
			    uint64_t len, errcode_t *rc)
{
	uint64_t i;

	*rc = 0;
	for (i = 0; i < len; i++) {
		*rc = ext2fs_extent_set_bmap(h, lblk + i, pblk + i, 0);
		if (*rc)
			break;
	}
	return i;
}

/*
 * Converts the part of the unwritten extent under the handle (res->ext) that
 * starts at map->lblk to written.  The original extent is shortened in place
 * first, then the written piece and the unwritten tail are inserted after it:
 * ext2fs_extent_set_bmap in 1.47.0 inserts before it shortens and then looks
 * the old extent up by a block the new one also covers, which corrupts trees
 * when the insert splits a leaf.
 */
static int ext_convert(struct disk_inode *inode, ext2_extent_handle_t h,
		       struct disk_map *map, const struct ext_lookup *res)
{
	struct ext2fs_extent e = res->ext, piece;
	uint64_t head = map->lblk - e.e_lblk;
	uint64_t n = e.e_len - head, tail;
	errcode_t rc;

	if (n > map->len)
		n = map->len;
	tail = e.e_len - head - n;
	piece = e;
	if (head) {
		piece.e_len = head;		/* stays unwritten */
	} else {
		piece.e_len = n;
		piece.e_flags &= ~EXT2_EXTENT_FLAGS_UNINIT;
	}
	rc = ext2fs_extent_replace(h, 0, &piece);
	if (!rc && head) {
		piece.e_lblk = e.e_lblk + head;
		piece.e_pblk = e.e_pblk + head;
		piece.e_len = n;
		piece.e_flags = e.e_flags & ~EXT2_EXTENT_FLAGS_UNINIT;
		rc = ext2fs_extent_insert(h, EXT2_EXTENT_INSERT_AFTER, &piece);
		if (!rc)
			rc = ext2fs_extent_fix_parents(h);
	}
	if (!rc && tail) {
		piece.e_lblk = e.e_lblk + head + n;
		piece.e_pblk = e.e_pblk + head + n;
		piece.e_len = tail;
		piece.e_flags = e.e_flags;	/* unwritten */
		rc = ext2fs_extent_insert(h, EXT2_EXTENT_INSERT_AFTER, &piece);
		if (!rc)
			rc = ext2fs_extent_fix_parents(h);
	}
	if (rc) {
		disk_report(inode->dfs, "inode %u: converting unwritten blocks at %llu: %s",
			    inode->ino, (unsigned long long)map->lblk, error_message(rc));
		return disk_err(rc);
	}
	map->pblk = e.e_pblk + head;
	map->len = n;
	map->flags = DISK_MAP_MAPPED | DISK_MAP_NEW;
	return 0;
}

static int ext_create(struct disk_inode *inode, ext2_extent_handle_t h,
		      struct disk_map *map, const struct ext_lookup *res,
		      uint64_t *added)
{
	struct disk_fs *dfs = inode->dfs;
	uint64_t want = map->len, got = 0, done;
	blk64_t pblk, goal;
	errcode_t rc;
	int err;

	if (res->mapped)		/* unwritten: convert in place */
		return ext_convert(inode, h, map, res);
	if (res->hole_end - map->lblk < want)
		want = res->hole_end - map->lblk;
	if (map->lblk + want > EXT_LBLK_LIMIT)
		want = EXT_LBLK_LIMIT - map->lblk;
	goal = res->goal ? res->goal : first_goal(inode, map->lblk);
	err = alloc_run(dfs, goal, want, &pblk, &got, 1);
	if (err)
		return err;
	done = ext_set_run(h, map->lblk, pblk, got, &rc);
	free_run(dfs, pblk + done, got - done);
	if (done == 0)
		return disk_err(rc);
	map->pblk = pblk;
	map->len = done;
	map->flags = DISK_MAP_MAPPED | DISK_MAP_NEW;
	*added = done;
	return 0;
}

static int ext_open(struct disk_inode *inode, int from_disk, ext2_extent_handle_t *h)
{
	errcode_t rc;

	rc = ext2fs_extent_open2(inode->dfs->fs, inode->ino,
				 from_disk ? NULL : (struct ext2_inode *)&inode->raw, h);
	if (rc) {
		disk_report(inode->dfs, "inode %u: bad extent tree: %s", inode->ino,
			    error_message(rc));
		return disk_err(rc);
	}
	return 0;
}

/* Lookup only, on the in-memory inode.  1: nothing to allocate or convert. */
static int ext_map_existing(struct disk_inode *inode, struct disk_map *map, int create)
{
	ext2_extent_handle_t h;
	struct ext_lookup res;
	int err;

	err = ext_open(inode, 0, &h);
	if (err)
		return err;
	err = ext_lookup(inode, h, map->lblk, &res);
	ext2fs_extent_free(h);
	if (err)
		return err;
	if (res.mapped && (!create || !(res.ext.e_flags & EXT2_EXTENT_FLAGS_UNINIT))) {
		ext_result(&res, map);
		return 1;
	}
	if (create)
		return 0;
	map->flags = 0;
	if (res.hole_end - map->lblk < map->len)
		map->len = res.hole_end - map->lblk;
	return 1;
}

/* Allocation or conversion: libext2fs rewrites the inode, so it works on the
 * on-disk copy (ours written first) and we read it back after. */
static int ext_map_create(struct disk_inode *inode, struct disk_map *map)
{
	ext2_extent_handle_t h;
	struct ext_lookup res;
	uint64_t added = 0;
	int err, err2;

	err = disk_inode_flush(inode);
	if (err)
		return err;
	err = ext_open(inode, 1, &h);
	if (err)
		return err;
	err = ext_lookup(inode, h, map->lblk, &res);
	if (!err)
		err = ext_create(inode, h, map, &res, &added);
	ext2fs_extent_free(h);
	err2 = disk_inode_reload(inode);
	if (!err)
		err = err2;
	if (added) {
		/* left dirty: written before the next libext2fs call or commit */
		ext2fs_iblk_add_blocks(inode->dfs->fs, (struct ext2_inode *)&inode->raw, added);
		inode->dirty = 1;
	}
	return err;
}

static int map_extents(struct disk_inode *inode, struct disk_map *map, int create)
{
	int r;

	if (map->lblk >= EXT_LBLK_LIMIT)
		return create ? -EFBIG : 0;
	r = ext_map_existing(inode, map, create);
	if (r)
		return r < 0 ? r : 0;
	return ext_map_create(inode, map);
}

/* ---- block-mapped (indirect) files ---- */

static int ind_bmap(struct disk_inode *inode, uint64_t lblk, blk64_t *pblk)
{
	errcode_t rc;

	rc = ext2fs_bmap2(inode->dfs->fs, inode->ino, (struct ext2_inode *)&inode->raw,
			  NULL, 0, lblk, NULL, pblk);
	if (rc == EXT2_ET_FILE_TOO_BIG) {
		*pblk = 0;
		return 0;
	}
	if (rc) {
		disk_report(inode->dfs, "inode %u: block map: %s", inode->ino,
			    error_message(rc));
		return disk_err(rc);
	}
	return *pblk ? check_pblk(inode, *pblk, 1) : 0;
}

static int ind_create(struct disk_inode *inode, struct disk_map *map)
{
	struct disk_fs *dfs = inode->dfs;
	blk64_t pblk, goal = 0, p;
	uint64_t got, i;
	errcode_t rc = 0;
	int err;

	if (map->lblk > 0 && ind_bmap(inode, map->lblk - 1, &goal) == 0 && goal)
		goal++;
	if (!goal)
		goal = first_goal(inode, map->lblk);
	err = disk_inode_flush(inode);
	if (err)
		return err;
	err = alloc_run(dfs, goal, map->len, &pblk, &got, 1);
	if (err)
		return err;
	for (i = 0; i < got; i++) {
		p = pblk + i;
		rc = ext2fs_bmap2(dfs->fs, inode->ino, NULL, NULL, BMAP_SET | BMAP_ALLOC,
				  map->lblk + i, NULL, &p);
		if (rc)
			break;
	}
	free_run(dfs, pblk + i, got - i);
	err = disk_inode_reload(inode);
	if (i) {
		ext2fs_iblk_add_blocks(dfs->fs, (struct ext2_inode *)&inode->raw, i);
		inode->dirty = 1;
	}
	if (i == 0)
		return rc ? disk_err(rc) : err;
	map->pblk = pblk;
	map->len = i;
	map->flags = DISK_MAP_MAPPED | DISK_MAP_NEW;
	return err;
}

static int map_indirect(struct disk_inode *inode, struct disk_map *map, int create)
{
	blk64_t first, p;
	uint32_t n, max = map->len < IND_RUN_MAX ? map->len : IND_RUN_MAX;
	int err;

	err = ind_bmap(inode, map->lblk, &first);
	if (err)
		return err;
	for (n = 1; n < max; n++) {
		err = ind_bmap(inode, map->lblk + n, &p);
		if (err)
			return err;
		if (first ? p != first + n : p != 0)
			break;
	}
	map->len = n;
	if (first) {
		map->pblk = first;
		map->flags = DISK_MAP_MAPPED;
		return 0;
	}
	map->flags = 0;
	if (!create)
		return 0;
	return ind_create(inode, map);
}

static int map_blocks(struct disk_inode *inode, struct disk_map *map, int create)
{
	if (map->len == 0)
		map->len = 1;
	map->flags = 0;
	map->pblk = 0;
	if (create && inode->dfs->read_only)
		return -EROFS;
	if (inode->raw.i_flags & EXT4_INLINE_DATA_FL) {
		disk_report(inode->dfs, "inode %u: block mapping asked of an inline "
			    "inode", inode->ino);
		return -EINVAL;
	}
	if (inode->raw.i_flags & EXT4_EXTENTS_FL)
		return map_extents(inode, map, create);
	return map_indirect(inode, map, create);
}

/*
 * On ENOSPC while blocks freed by uncommitted transactions wait, commits (the
 * kernel's ext4_should_retry_alloc) and tries once more.  Called between two
 * blocks of an operation, with no libext2fs handle open: a consistent point.
 */
int disk_map_blocks(struct disk_inode *inode, struct disk_map *map, int create)
{
	struct disk_map in = *map;
	int err;

	err = map_blocks(inode, map, create);
	if (err != -ENOSPC || !create || disk_freed_flush(inode->dfs))
		return err;
	*map = in;
	return map_blocks(inode, map, create);
}

int disk_map_one(struct disk_inode *inode, uint64_t lblk, uint64_t *pblk)
{
	struct disk_map map = { .lblk = lblk, .len = 1 };
	int err;

	err = disk_map_blocks(inode, &map, 0);
	if (err)
		return err;
	*pblk = (map.flags & DISK_MAP_MAPPED) ? map.pblk : 0;
	return 0;
}

/* ---- punch and preallocation ---- */

int disk_punch(struct disk_inode *inode, uint64_t start_lblk, uint64_t end_lblk)
{
	struct disk_fs *dfs = inode->dfs;
	errcode_t rc;
	int err;

	if (dfs->read_only)
		return -EROFS;
	if (start_lblk >= end_lblk || (inode->raw.i_flags & EXT4_INLINE_DATA_FL))
		return 0;
	if (!ext2fs_inode_has_valid_blocks2(dfs->fs, (struct ext2_inode *)&inode->raw))
		return 0;
	err = disk_inode_flush(inode);
	if (err)
		return err;
	rc = ext2fs_punch(dfs->fs, inode->ino, NULL, NULL, start_lblk,
			  end_lblk == ~0ULL ? ~0ULL : end_lblk - 1);
	err = disk_inode_reload(inode);
	if (rc) {
		disk_report(dfs, "inode %u: punch [%llu, %llu): %s", inode->ino,
			    (unsigned long long)start_lblk,
			    (unsigned long long)end_lblk, error_message(rc));
		return disk_err(rc);
	}
	return err;
}

/* ext2fs_fallocate with blocks freed by uncommitted transactions out of reach:
 * unwritten extents get written later, in place. */
static int fallocate_guarded(struct disk_inode *inode, uint64_t start_lblk, uint64_t len)
{
	struct disk_fs *dfs = inode->dfs;
	errcode_t rc;
	int err;

	err = disk_inode_flush(inode);
	if (err)
		return err;
	disk_freed_guard(dfs, 1);
	rc = ext2fs_fallocate(dfs->fs, EXT2_FALLOCATE_FORCE_UNINIT, inode->ino, NULL,
			      first_goal(inode, start_lblk), start_lblk, len);
	disk_freed_guard(dfs, 0);
	err = disk_inode_reload(inode);
	if (rc)
		return disk_err(rc);
	return err;
}

int disk_prealloc(struct disk_inode *inode, uint64_t start_lblk, uint64_t len)
{
	struct disk_fs *dfs = inode->dfs;
	int err;

	if (dfs->read_only)
		return -EROFS;
	if (!(inode->raw.i_flags & EXT4_EXTENTS_FL) ||
	    (inode->raw.i_flags & EXT4_INLINE_DATA_FL))
		return -EOPNOTSUPP;
	if (len == 0)
		return 0;
	if (start_lblk >= EXT_LBLK_LIMIT || len > EXT_LBLK_LIMIT - start_lblk)
		return -EFBIG;
	err = fallocate_guarded(inode, start_lblk, len);
	if (err != -ENOSPC || disk_freed_flush(dfs))
		return err;
	return fallocate_guarded(inode, start_lblk, len);	/* after the commit */
}

/* ---- data I/O ---- */

static int data_range_ok(struct disk_fs *dfs, uint64_t pblk, uint32_t count)
{
	uint64_t total = ext2fs_blocks_count(dfs->fs->super);

	if (pblk == 0 || pblk >= total || count > total - pblk) {
		disk_report(dfs, "data block %llu (+%u) is outside the file system",
			    (unsigned long long)pblk, count);
		return -EUCLEAN;
	}
	return 0;
}

int disk_read_data(struct disk_fs *dfs, uint64_t pblk, uint32_t count, void *buf)
{
	int err = data_range_ok(dfs, pblk, count);

	if (err)
		return err;
	return blk_read(dfs->data_dev, pblk * dfs->block_size, buf,
			(size_t)count * dfs->block_size);
}

int disk_write_data(struct disk_fs *dfs, uint64_t pblk, uint32_t count,
		    const void *buf)
{
	int err = data_range_ok(dfs, pblk, count);

	if (err)
		return err;
	if (dfs->read_only)
		return -EROFS;
	return blk_write(dfs->data_dev, pblk * dfs->block_size, buf,
			 (size_t)count * dfs->block_size);
}
