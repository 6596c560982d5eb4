/*
 * libfs/disk, directory contents: the per-directory name cache (dcache), parsing
 * of linear directory blocks, adding and removing entries, "..", readdir.
 * Calls libext2fs (inline and htree directories go through ext2fs_link/unlink;
 * linear block directories are appended to and edited here, so adding an entry
 * costs one block read and write however large the directory).
 * Invariant: a directory's dcache, once built, holds exactly its on-disk entries.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "libfs/disk/disk_internal.h"

/* ---- the name cache ---- */

static uint32_t name_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u;	/* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 16777619u;
	}
	return h;
}

static struct dcache *dcache_alloc(void)
{
	struct dcache *dc = calloc(1, sizeof(*dc));

	if (!dc)
		return NULL;
	dc->nbuckets = 64;
	dc->buckets = calloc(dc->nbuckets, sizeof(*dc->buckets));
	if (!dc->buckets) {
		free(dc);
		return NULL;
	}
	return dc;
}

static void dcache_destroy(struct dcache *dc)
{
	struct dcache_ent *e, *next;
	unsigned i;

	if (!dc)
		return;
	for (i = 0; i < dc->nbuckets; i++)
		for (e = dc->buckets[i]; e; e = next) {
			next = e->next;
			free(e);
		}
	free(dc->buckets);
	free(dc);
}

void disk_dcache_free(struct disk_inode *inode)
{
	dcache_destroy(inode->i_dcache);
	inode->i_dcache = NULL;
}

static void dcache_grow(struct dcache *dc)
{
	unsigned n = dc->nbuckets * 4, i;
	struct dcache_ent **nb = calloc(n, sizeof(*nb)), *e, *next;

	if (!nb)
		return;		/* keep the longer chains */
	for (i = 0; i < dc->nbuckets; i++)
		for (e = dc->buckets[i]; e; e = next) {
			uint32_t h = name_hash(e->name, e->name_len) % n;

			next = e->next;
			e->next = nb[h];
			nb[h] = e;
		}
	free(dc->buckets);
	dc->buckets = nb;
	dc->nbuckets = n;
}

struct dcache_ent *disk_dcache_find(struct dcache *dc, const char *name, size_t len)
{
	struct dcache_ent *e;

	for (e = dc->buckets[name_hash(name, len) % dc->nbuckets]; e; e = e->next)
		if (e->name_len == len && memcmp(e->name, name, len) == 0)
			return e;
	return NULL;
}

static int is_subdir(const struct dcache_ent *e)
{
	return e->ftype == EXT2_FT_DIR &&
	       !(e->name_len == 1 && e->name[0] == '.') &&
	       !(e->name_len == 2 && e->name[0] == '.' && e->name[1] == '.');
}

static int dcache_insert(struct dcache *dc, const char *name, size_t len,
			 ext2_ino_t ino, unsigned ftype, uint32_t lblk, uint32_t off)
{
	struct dcache_ent *e;
	uint32_t h;

	if (dc->count >= dc->nbuckets * 2)
		dcache_grow(dc);
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	e->ino = ino;
	e->ftype = ftype;
	e->lblk = lblk;
	e->off = off;
	e->name_len = len;
	memcpy(e->name, name, len);
	e->name[len] = 0;
	h = name_hash(name, len) % dc->nbuckets;
	e->next = dc->buckets[h];
	dc->buckets[h] = e;
	dc->count++;
	if (is_subdir(e))
		dc->ndirs++;
	return 0;
}

static void dcache_delete(struct dcache *dc, struct dcache_ent *victim)
{
	struct dcache_ent **pp;

	pp = &dc->buckets[name_hash(victim->name, victim->name_len) % dc->nbuckets];
	while (*pp && *pp != victim)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = victim->next;
		dc->count--;
		if (is_subdir(victim))
			dc->ndirs--;
		free(victim);
	}
}

/* ---- directory kinds and blocks ---- */

static int dir_is_inline(const struct disk_inode *dir)
{
	return !!(dir->raw.i_flags & EXT4_INLINE_DATA_FL);
}

static int dir_is_htree(const struct disk_inode *dir)
{
	return !!(dir->raw.i_flags & EXT2_INDEX_FL);
}

static unsigned csum_size(const struct disk_fs *dfs)
{
	return ext2fs_has_feature_metadata_csum(dfs->fs->super) ?
	       sizeof(struct ext2_dir_entry_tail) : 0;
}

static uint32_t dir_nblocks(const struct disk_inode *dir)
{
	return (uint32_t)(disk_i_size(dir) / dir->dfs->block_size);
}

static int dir_corrupt(struct disk_inode *dir, uint32_t lblk, unsigned off,
		       const char *what)
{
	disk_report(dir->dfs, "directory inode %u, block %u, offset %u: %s",
		    dir->ino, lblk, off, what);
	return -EUCLEAN;
}

static int read_dir_block(struct disk_inode *dir, uint32_t lblk, blk64_t *pblk,
			  char *buf)
{
	uint64_t p;
	errcode_t rc;
	int err;

	err = disk_map_one(dir, lblk, &p);
	if (err)
		return err;
	if (!p)
		return dir_corrupt(dir, lblk, 0, "hole in directory");
	rc = ext2fs_read_dir_block4(dir->dfs->fs, p, buf, 0, dir->ino);
	if (rc) {
		disk_report(dir->dfs, "directory inode %u, block %u (%llu): %s",
			    dir->ino, lblk, (unsigned long long)p, error_message(rc));
		return disk_err(rc);
	}
	*pblk = p;
	return 0;
}

static int write_dir_block(struct disk_inode *dir, blk64_t pblk, char *buf)
{
	errcode_t rc = ext2fs_write_dir_block4(dir->dfs->fs, pblk, buf, 0, dir->ino);

	return rc ? disk_err(rc) : 0;
}

/* One entry of a linear block, validated. */
struct dent {
	struct ext2_dir_entry *de;
	unsigned off, rec_len, name_len;
};

/* Steps @it to the entry at it->off; 0 at the end, 1 with an entry, -EUCLEAN. */
static int next_dent(struct disk_inode *dir, uint32_t lblk, char *buf, struct dent *it)
{
	struct disk_fs *dfs = dir->dfs;
	unsigned limit = dfs->block_size - csum_size(dfs);
	unsigned int rec_len;

	if (it->off >= limit)
		return 0;
	if (it->off + 8 > limit)
		return dir_corrupt(dir, lblk, it->off, "truncated entry");
	it->de = (struct ext2_dir_entry *)(buf + it->off);
	if (ext2fs_get_rec_len(dfs->fs, it->de, &rec_len))
		return dir_corrupt(dir, lblk, it->off, "bad rec_len");
	it->rec_len = rec_len;
	it->name_len = ext2fs_dirent_name_len(it->de);
	if (it->rec_len < 12 || it->rec_len % 4 || it->off + it->rec_len > limit ||
	    (it->de->inode && EXT2_DIR_REC_LEN(it->name_len) > it->rec_len))
		return dir_corrupt(dir, lblk, it->off, "bad rec_len");
	if (it->de->inode > dfs->fs->super->s_inodes_count)
		return dir_corrupt(dir, lblk, it->off, "inode number out of range");
	return 1;
}

/* ---- building the cache ---- */

static int parse_linear(struct disk_inode *dir, struct dcache *dc)
{
	uint32_t lblk, n = dir_nblocks(dir);
	struct dent it;
	blk64_t pblk;
	char *buf;
	int err = 0;

	buf = malloc(dir->dfs->block_size);
	if (!buf)
		return -ENOMEM;
	for (lblk = 0; lblk < n; lblk++) {
		err = read_dir_block(dir, lblk, &pblk, buf);
		if (err)
			break;
		for (it.off = 0; (err = next_dent(dir, lblk, buf, &it)) > 0;
		     it.off += it.rec_len) {
			if (!it.de->inode)
				continue;
			err = dcache_insert(dc, it.de->name, it.name_len, it.de->inode,
					    ext2fs_dirent_file_type(it.de), lblk, it.off);
			if (err)
				break;
		}
		if (err)
			break;
	}
	free(buf);
	dc->located = 1;
	dc->hint_lblk = n ? n - 1 : 0;
	return err;
}

struct iter_ctx {
	struct dcache *dc;
	disk_filldir_t fn;
	void *arg;
	int ret;
};

static int cache_one(ext2_ino_t dirino, int entry, struct ext2_dir_entry *de,
		     int offset, int blocksize, char *buf, void *priv)
{
	struct iter_ctx *ctx = priv;

	if (!de->inode)
		return 0;
	ctx->ret = dcache_insert(ctx->dc, de->name, ext2fs_dirent_name_len(de),
				 de->inode, ext2fs_dirent_file_type(de), 0, 0);
	return ctx->ret ? DIRENT_ABORT : 0;
}

static int parse_with_lib(struct disk_inode *dir, struct dcache *dc)
{
	struct iter_ctx ctx = { .dc = dc };
	errcode_t rc;
	int err;

	err = disk_inode_flush(dir);
	if (err)
		return err;
	rc = ext2fs_dir_iterate2(dir->dfs->fs, dir->ino, 0, NULL, cache_one, &ctx);
	if (rc) {
		disk_report(dir->dfs, "directory inode %u: %s", dir->ino,
			    error_message(rc));
		return disk_err(rc);
	}
	dc->located = 0;
	return ctx.ret;
}

static int dcache_build(struct disk_inode *dir)
{
	struct dcache *dc;
	int err;

	dc = dcache_alloc();
	if (!dc)
		return -ENOMEM;
	if (dir_is_inline(dir) || dir_is_htree(dir))
		err = parse_with_lib(dir, dc);
	else
		err = parse_linear(dir, dc);
	if (err) {
		dcache_destroy(dc);
		return err;
	}
	disk_dcache_free(dir);
	dir->i_dcache = dc;
	return 0;
}

int disk_dcache_get(struct disk_inode *dir, struct dcache **out)
{
	int err;

	if (!disk_is_dir(dir))
		return -ENOTDIR;
	if (!dir->i_dcache) {
		err = dcache_build(dir);
		if (err)
			return err;
	}
	*out = dir->i_dcache;
	return 0;
}

/* A linear directory whose entries libext2fs may have moved: re-read it. */
static int dcache_relocate(struct disk_inode *dir, struct dcache **dc)
{
	int err;

	if ((*dc)->located || dir_is_inline(dir) || dir_is_htree(dir))
		return 0;
	err = dcache_build(dir);
	*dc = dir->i_dcache;
	return err;
}

int disk_lookup(struct disk_inode *dir, const char *name, size_t len,
		ext2_ino_t *ino, unsigned *ftype)
{
	struct dcache_ent *e;
	struct dcache *dc;
	int err;

	err = disk_dcache_get(dir, &dc);
	if (err)
		return err;
	e = disk_dcache_find(dc, name, len);
	if (!e)
		return -ENOENT;
	*ino = e->ino;
	if (ftype)
		*ftype = e->ftype;
	return 0;
}

unsigned disk_mode_to_ftype(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return EXT2_FT_REG_FILE;
	case S_IFDIR: return EXT2_FT_DIR;
	case S_IFLNK: return EXT2_FT_SYMLINK;
	case S_IFCHR: return EXT2_FT_CHRDEV;
	case S_IFBLK: return EXT2_FT_BLKDEV;
	case S_IFIFO: return EXT2_FT_FIFO;
	case S_IFSOCK: return EXT2_FT_SOCK;
	default: return EXT2_FT_UNKNOWN;
	}
}

/* ---- adding ---- */

static void fill_dent(struct disk_fs *dfs, struct ext2_dir_entry *de,
		      const char *name, size_t len, ext2_ino_t ino, unsigned ftype)
{
	de->inode = ino;
	ext2fs_dirent_set_name_len(de, len);
	ext2fs_dirent_set_file_type(de, ext2fs_has_feature_filetype(dfs->fs->super) ?
				    ftype : 0);
	memcpy(de->name, name, len);
}

/* Puts the entry into free space of @buf; returns 1 and *off, 0 if no room. */
static int block_insert(struct disk_inode *dir, uint32_t lblk, char *buf,
			const char *name, size_t len, ext2_ino_t ino,
			unsigned ftype, unsigned *off)
{
	struct disk_fs *dfs = dir->dfs;
	unsigned need = EXT2_DIR_REC_LEN(len), used;
	struct ext2_dir_entry *nde;
	struct dent it;
	int r;

	for (it.off = 0; (r = next_dent(dir, lblk, buf, &it)) > 0; it.off += it.rec_len) {
		used = it.de->inode ? EXT2_DIR_REC_LEN(it.name_len) : 0;
		if (it.rec_len < used + need)
			continue;
		if (!used) {
			fill_dent(dfs, it.de, name, len, ino, ftype);
			*off = it.off;
			return 1;
		}
		nde = (struct ext2_dir_entry *)(buf + it.off + used);
		memset(nde, 0, need);
		ext2fs_set_rec_len(dfs->fs, it.rec_len - used, nde);
		ext2fs_set_rec_len(dfs->fs, used, it.de);
		fill_dent(dfs, nde, name, len, ino, ftype);
		*off = it.off + used;
		return 1;
	}
	return r;
}

static int try_block(struct disk_inode *dir, struct dcache *dc, uint32_t lblk,
		     char *buf, const char *name, size_t len, ext2_ino_t ino,
		     unsigned ftype)
{
	blk64_t pblk;
	unsigned off;
	int r;

	r = read_dir_block(dir, lblk, &pblk, buf);
	if (r)
		return r;
	r = block_insert(dir, lblk, buf, name, len, ino, ftype, &off);
	if (r <= 0)
		return r;
	r = write_dir_block(dir, pblk, buf);
	if (r)
		return r;
	dc->hint_lblk = lblk;
	r = dcache_insert(dc, name, len, ino, ftype, lblk, off);
	return r ? r : 1;
}

/* Appends a new block holding only this entry. */
static int append_block(struct disk_inode *dir, struct dcache *dc, const char *name,
			size_t len, ext2_ino_t ino, unsigned ftype)
{
	struct disk_fs *dfs = dir->dfs;
	uint32_t lblk = dir_nblocks(dir);
	uint64_t last = 0;
	blk64_t pblk, p;
	char *buf = NULL;
	unsigned off;
	errcode_t rc;
	int err;

	if (lblk && disk_map_one(dir, lblk - 1, &last) == 0 && last)
		last++;
	err = disk_alloc_meta_block(dfs, last, &pblk);
	if (err)
		return err;
	rc = ext2fs_new_dir_block(dfs->fs, 0, 0, &buf);
	if (rc) {
		err = disk_err(rc);
		goto fail;
	}
	err = block_insert(dir, lblk, buf, name, len, ino, ftype, &off);
	if (err <= 0) {
		err = err ? err : -ENAMETOOLONG;
		goto fail;
	}
	err = write_dir_block(dir, pblk, buf);
	if (err)
		goto fail;
	err = disk_inode_flush(dir);
	if (err)
		goto fail;
	p = pblk;
	rc = ext2fs_bmap2(dfs->fs, dir->ino, NULL, NULL, BMAP_SET | BMAP_ALLOC, lblk,
			  NULL, &p);
	err = disk_inode_reload(dir);
	if (rc) {
		err = disk_err(rc);
		goto fail;
	}
	ext2fs_iblk_add_blocks(dfs->fs, (struct ext2_inode *)&dir->raw, 1);
	disk_set_i_size(dir, (uint64_t)(lblk + 1) * dfs->block_size);
	ext2fs_free_mem(&buf);
	dc->hint_lblk = lblk;
	if (err)
		return err;
	return dcache_insert(dc, name, len, ino, ftype, lblk, off);
fail:
	if (buf)
		ext2fs_free_mem(&buf);
	ext2fs_block_alloc_stats2(dfs->fs, pblk, -1);
	return err;
}

static int add_linear(struct disk_inode *dir, struct dcache *dc, const char *name,
		      size_t len, ext2_ino_t ino, unsigned ftype)
{
	uint32_t n = dir_nblocks(dir);
	char *buf;
	int r = 0;

	buf = malloc(dir->dfs->block_size);
	if (!buf)
		return -ENOMEM;
	if (dc->hint_lblk < n)
		r = try_block(dir, dc, dc->hint_lblk, buf, name, len, ino, ftype);
	if (r == 0 && n && dc->hint_lblk != n - 1)
		r = try_block(dir, dc, n - 1, buf, name, len, ino, ftype);
	free(buf);
	if (r < 0)
		return r;
	if (r > 0)
		return 0;
	return append_block(dir, dc, name, len, ino, ftype);
}

/* Inline and htree directories: libext2fs knows their layout. */
static int add_with_lib(struct disk_inode *dir, struct dcache *dc, const char *name,
			size_t len, ext2_ino_t ino, unsigned ftype)
{
	ext2_filsys fs = dir->dfs->fs;
	char namez[EXT2_NAME_LEN + 1];
	errcode_t rc;
	int err;

	memcpy(namez, name, len);
	namez[len] = 0;
	if (dir_is_inline(dir) && dir->dfs->inline_dir_link) {
		err = dir->dfs->inline_dir_link(dir, namez, ino, ftype);
		if (err)
			return err;
		dc->located = 0;
		return dcache_insert(dc, name, len, ino, ftype, 0, 0);
	}
	err = disk_inode_flush(dir);
	if (err)
		return err;
	rc = ext2fs_link(fs, dir->ino, namez, ino, ftype);
	if (rc == EXT2_ET_DIR_NO_SPACE) {
		rc = ext2fs_expand_dir(fs, dir->ino);
		if (!rc)
			rc = ext2fs_link(fs, dir->ino, namez, ino, ftype);
	}
	err = disk_inode_reload(dir);
	if (rc)
		return disk_err(rc);
	if (err)
		return err;
	dc->located = 0;
	return dcache_insert(dc, name, len, ino, ftype, 0, 0);
}

int disk_add_entry(struct disk_inode *dir, const char *name, size_t len,
		   ext2_ino_t ino, unsigned ftype)
{
	struct dcache *dc;
	int err;

	if (len == 0 || len > EXT2_NAME_LEN)
		return len ? -ENAMETOOLONG : -EINVAL;
	err = disk_dcache_get(dir, &dc);
	if (err)
		return err;
	if (dir_is_inline(dir) || dir_is_htree(dir))
		return add_with_lib(dir, dc, name, len, ino, ftype);
	err = dcache_relocate(dir, &dc);
	if (err)
		return err;
	return add_linear(dir, dc, name, len, ino, ftype);
}

/* ---- removing ---- */

static int remove_located(struct disk_inode *dir, struct dcache *dc,
			  struct dcache_ent *e)
{
	struct dent it, prev = { 0 };
	blk64_t pblk;
	char *buf;
	int r, found = 0;

	buf = malloc(dir->dfs->block_size);
	if (!buf)
		return -ENOMEM;
	r = read_dir_block(dir, e->lblk, &pblk, buf);
	if (r)
		goto out;
	for (it.off = 0; (r = next_dent(dir, e->lblk, buf, &it)) > 0;
	     prev = it, it.off += it.rec_len) {
		if (it.off == e->off) {
			found = 1;
			break;
		}
	}
	if (r < 0)
		goto out;
	if (!found || it.de->inode != e->ino || it.name_len != e->name_len ||
	    memcmp(it.de->name, e->name, e->name_len)) {
		r = dir_corrupt(dir, e->lblk, e->off, "entry moved under the cache");
		goto out;
	}
	if (prev.de)
		ext2fs_set_rec_len(dir->dfs->fs, prev.rec_len + it.rec_len, prev.de);
	else
		it.de->inode = 0;
	r = write_dir_block(dir, pblk, buf);
	if (r)
		goto out;
	dc->hint_lblk = e->lblk;
	dcache_delete(dc, e);
out:
	free(buf);
	return r;
}

static int remove_with_lib(struct disk_inode *dir, struct dcache *dc,
			   struct dcache_ent *e)
{
	errcode_t rc;
	int err;

	err = disk_inode_flush(dir);
	if (err)
		return err;
	rc = ext2fs_unlink(dir->dfs->fs, dir->ino, e->name, e->ino, 0);
	err = disk_inode_reload(dir);
	if (rc)
		return disk_err(rc);
	dcache_delete(dc, e);
	return err;
}

int disk_remove_entry(struct disk_inode *dir, const char *name, size_t len)
{
	struct dcache_ent *e;
	struct dcache *dc;
	int err;

	err = disk_dcache_get(dir, &dc);
	if (err)
		return err;
	err = dcache_relocate(dir, &dc);
	if (err)
		return err;
	e = disk_dcache_find(dc, name, len);
	if (!e)
		return -ENOENT;
	if (dc->located)
		return remove_located(dir, dc, e);
	return remove_with_lib(dir, dc, e);
}

/* ---- ".." ---- */

int disk_set_dotdot(struct disk_inode *dir, ext2_ino_t parent)
{
	struct dcache_ent *e;
	struct dcache *dc;
	struct dent it;
	blk64_t pblk;
	char *buf;
	int r;

	r = disk_dcache_get(dir, &dc);
	if (r)
		return r;
	e = disk_dcache_find(dc, "..", 2);
	if (dir_is_inline(dir)) {
		dir->raw.i_block[0] = ext2fs_cpu_to_le32(parent);
		dir->dirty = 1;
		goto done;
	}
	buf = malloc(dir->dfs->block_size);
	if (!buf)
		return -ENOMEM;
	r = read_dir_block(dir, 0, &pblk, buf);
	it.off = 0;
	if (!r && (r = next_dent(dir, 0, buf, &it)) > 0) {
		it.off += it.rec_len;
		r = next_dent(dir, 0, buf, &it);
	}
	if (r == 0 || (r > 0 && (it.name_len != 2 || memcmp(it.de->name, "..", 2))))
		r = dir_corrupt(dir, 0, it.off, "no '..' entry");
	if (r > 0) {
		it.de->inode = parent;
		r = write_dir_block(dir, pblk, buf);
	}
	free(buf);
	if (r)
		return r;
done:
	if (e)
		e->ino = parent;
	return 0;
}

/* ---- readdir ---- */

static int fill_one(ext2_ino_t dirino, int entry, struct ext2_dir_entry *de,
		    int offset, int blocksize, char *buf, void *priv)
{
	struct iter_ctx *ctx = priv;

	if (!de->inode)
		return 0;
	ctx->ret = ctx->fn(ctx->arg, de->name, ext2fs_dirent_name_len(de), de->inode,
			   ext2fs_dirent_file_type(de));
	return ctx->ret ? DIRENT_ABORT : 0;
}

int disk_readdir(struct disk_inode *dir, disk_filldir_t fn, void *arg)
{
	struct iter_ctx ctx = { .fn = fn, .arg = arg };
	errcode_t rc;
	int err;

	if (!disk_is_dir(dir))
		return -ENOTDIR;
	err = disk_inode_flush(dir);
	if (err)
		return err;
	rc = ext2fs_dir_iterate2(dir->dfs->fs, dir->ino, 0, NULL, fill_one, &ctx);
	if (rc) {
		disk_report(dir->dfs, "directory inode %u: %s", dir->ino,
			    error_message(rc));
		return disk_err(rc);
	}
	return ctx.ret;
}
