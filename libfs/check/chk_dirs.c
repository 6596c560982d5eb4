/*
 * libfs/check pass 2: directory blocks (sorted by inode and logical block,
 * contiguous runs read at once) and inline directories.  Checks entries
 * (rec_len, name_len, inode numbers, file types, '.' and '..'), leaf and
 * htree checksums, the htree root, holes; counts references for pass 3/4.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "libfs/check/chk_internal.h"

#define DIRENT_MIN		12	/* header plus a 4-byte name slot */
#define TAIL_LEN		12
#define RUN_MAX			64	/* blocks read at once */

struct dir_state {
	uint32_t ino;
	uint32_t lblk;
	uint32_t nblk;			/* blocks of this directory in the list */
	int htree;			/* INDEX_FL and the root looked sane */
	struct chk_htree *h;		/* its index, when the root parsed */
	uint64_t *names;		/* hashes of the names, for duplicates */
	size_t nnames, names_cap;
};

static uint64_t name_hash(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
	return h;
}

static void note_name(struct dir_state *ds, const struct ext2_dir_entry_2 *de)
{
	if (ds->nnames == ds->names_cap) {
		size_t cap = ds->names_cap ? ds->names_cap * 2 : 64;
		uint64_t *n = realloc(ds->names, cap * sizeof(*n));

		if (!n)
			return;
		ds->names = n;
		ds->names_cap = cap;
	}
	ds->names[ds->nnames++] = name_hash(de->name, de->name_len);
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* Finishes the directory @ds was walking: duplicate names, the htree. */
static void end_dir(struct chk_ctx *c, struct dir_state *ds)
{
	if (ds->nnames)
		qsort(ds->names, ds->nnames, sizeof(*ds->names), cmp_u64);
	for (size_t i = 1; i < ds->nnames; i++) {
		if (ds->names[i] == ds->names[i - 1]) {
			chk_err_ino(c, ds->ino, "DIR_DUP_ENTRY", "directory has duplicate entries");
			break;
		}
	}
	ds->nnames = 0;
	chk_htree_end(ds->h);
	ds->h = NULL;
}

static int cmp_dblock(const void *x, const void *y)
{
	const struct chk_dblock *a = x, *b = y;

	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	return a->lblk < b->lblk ? -1 : a->lblk > b->lblk;
}

/* One entry naming @target from directory @dir. */
static void check_target(struct chk_ctx *c, uint32_t dir, const struct ext2_dir_entry_2 *de,
			 int is_dotdot)
{
	uint32_t t = de->inode;
	struct chk_inode *ti;
	int filetype = ext2fs_has_feature_filetype(c->sb);

	if ((t != EXT2_ROOT_INO && t < c->first_ino) || t > c->ninodes) {
		chk_err_ino(c, dir, "DIR_BAD_INODE", "entry '%.*s' has bad inode #%u",
			    de->name_len, de->name, t);
		return;
	}
	ti = &c->ino[t];
	if (!(ti->state & CHK_I_USED) || (ti->state & CHK_I_ORPHAN && !ti->links)) {
		chk_err_ino(c, dir, "DIR_ENTRY_UNUSED_INODE", "entry '%.*s' names deleted/unused inode %u",
			    de->name_len, de->name, t);
		return;
	}
	if (ti->state & CHK_I_BAD) {
		chk_err_ino(c, dir, "DIR_ENTRY_BAD_INODE", "entry '%.*s' names broken inode %u",
			    de->name_len, de->name, t);
		return;
	}
	if (ti->state & CHK_I_EA_INODE)
		chk_err_ino(c, dir, "DIR_REFS_EA_INODE", "entry '%.*s' names EA inode %u",
			    de->name_len, de->name, t);
	if (filetype && de->file_type != ti->ftype)
		chk_err_ino(c, dir, "DIR_BAD_FILETYPE", "entry '%.*s' (inode %u) has file type %u, should be %u",
			    de->name_len, de->name, t, de->file_type, ti->ftype);
	else if (!filetype && de->file_type)
		chk_err_ino(c, dir, "DIR_BAD_FILETYPE", "entry '%.*s' has a file type without the filetype feature",
			    de->name_len, de->name);
	ti->refs++;
	if (dir == EXT2_ROOT_INO && de->name_len == 10 && !memcmp(de->name, "lost+found", 10) &&
	    (ti->state & CHK_I_DIR))
		c->lost_found = t;
	if (is_dotdot || !(ti->state & CHK_I_DIR))
		return;
	if (t == EXT2_ROOT_INO) {
		chk_err_ino(c, dir, "DIR_LINK_ROOT", "entry '%.*s' is a link to the root directory",
			    de->name_len, de->name);
		return;
	}
	if (ti->parent)
		chk_err_ino(c, dir, "DIR_HARD_LINK", "entry '%.*s' links directory %u, already in directory %u",
			    de->name_len, de->name, t, ti->parent);
	else
		ti->parent = dir;
}

static int is_dot(const struct ext2_dir_entry_2 *de, int n)
{
	return de->name_len == n && de->name[0] == '.' && (n == 1 || de->name[1] == '.');
}

/* '.' and '..' are the first two entries of block 0; later ones are others. */
static void check_entry(struct chk_ctx *c, struct dir_state *ds, const struct ext2_dir_entry_2 *de,
			int index)
{
	uint32_t dir = ds->ino;

	if (index == 0) {
		if (!is_dot(de, 1)) {
			chk_err_ino(c, dir, "DIR_NO_DOT", "missing '.' in directory");
		} else if (de->inode != dir) {
			chk_err_ino(c, dir, "DIR_BAD_DOT", "'.' names inode %u", de->inode);
			return;
		} else {
			c->ino[dir].refs++;
			return;
		}
	}
	if (index == 1) {
		if (!is_dot(de, 2)) {
			chk_err_ino(c, dir, "DIR_NO_DOTDOT", "missing '..' in directory");
		} else {
			c->ino[dir].dotdot = de->inode;
			c->ino[dir].state |= CHK_I_DOTDOT;
			if (de->inode)
				check_target(c, dir, de, 1);
			return;
		}
	}
	if (!de->inode)
		return;
	if (ds->h)
		chk_htree_name(ds->h, ds->lblk, de->name, de->name_len);
	if (de->name_len == 0) {
		chk_err_ino(c, dir, "DIR_NULL_NAME", "entry with inode %u has an empty name", de->inode);
		return;
	}
	if (is_dot(de, 1) || is_dot(de, 2)) {
		chk_err_ino(c, dir, "DIR_DUP_DOT", "extra '%.*s' entry", de->name_len, de->name);
		return;
	}
	if (de->inode == dir) {
		chk_err_ino(c, dir, "DIR_LINK_DOT", "entry '%.*s' is a link to the directory itself",
			    de->name_len, de->name);
		return;
	}
	if ((c->ino[dir].state & CHK_I_ENCRYPTED) && de->name_len < 16)
		chk_err_ino(c, dir, "DIR_ENCRYPTED_NAME_SHORT", "encrypted entry '%.*s' is too short",
			    de->name_len, de->name);
	note_name(ds, de);
	if (!(c->ino[dir].state & CHK_I_ENCRYPTED) && (memchr(de->name, '/', de->name_len) || memchr(de->name, '\0', de->name_len)))
		chk_err_ino(c, dir, "DIR_BAD_NAME", "entry '%.*s' has an illegal character in its name",
			    de->name_len, de->name);
	check_target(c, dir, de, 0);
}

/* Parses the entries in buf[0, len); returns the number of entries or -EUCLEAN. */
static int parse_entries(struct chk_ctx *c, struct dir_state *ds, const uint8_t *buf,
			 size_t len, int first_index)
{
	size_t off = 0;
	int n = 0;

	while (off < len) {
		const struct ext2_dir_entry_2 *de = (const void *)(buf + off);
		unsigned rec_len;

		if (len - off < 8) {
			chk_err_ino(c, ds->ino, "DIR_CORRUPT", "block %u offset %zu: entry header cut off",
				    ds->lblk, off);
			return -EUCLEAN;
		}
		rec_len = de->rec_len;
		if (c->bs >= 65536 && (rec_len == 65535 || rec_len == 0))
			rec_len = 65536;
		else if (c->bs >= 65536)
			rec_len = (rec_len & 65532) | ((rec_len & 3) << 16);
		if (rec_len < 8 || rec_len % 4 || rec_len > len - off ||
		    (size_t)de->name_len + 8 > rec_len) {
			chk_err_ino(c, ds->ino, "DIR_CORRUPT",
				    "block %u offset %zu: bad entry (rec_len %u, name_len %u)",
				    ds->lblk, off, rec_len, de->name_len);
			return -EUCLEAN;
		}
		check_entry(c, ds, de, first_index + n);
		n++;
		off += rec_len;
	}
	return n;
}

static int has_tail(const struct chk_ctx *c, const uint8_t *buf)
{
	const struct ext2_dir_entry_tail *t = (const void *)(buf + c->bs - TAIL_LEN);

	return t->det_reserved_zero1 == 0 && t->det_rec_len == TAIL_LEN &&
	       t->det_reserved_name_len == 0xDE00;
}

/* The htree root (block 0 of an INDEX_FL directory). */
static void check_dx_root(struct chk_ctx *c, struct dir_state *ds, const uint8_t *buf)
{
	const struct ext2_dx_root_info *ri = (const void *)(buf + 24);
	const struct ext2_dx_countlimit *cl = (const void *)(buf + 32);
	unsigned limit = (c->bs - 32 - (c->csum ? 8 : 0)) / 8;
	unsigned max_levels = ext2fs_has_feature_largedir(c->sb) ? 3 : 2;

	if (ri->reserved_zero || ri->info_length != 8 || ri->indirect_levels >= max_levels ||
	    ri->hash_version > EXT2_HASH_SIPHASH) {
		chk_err_ino(c, ds->ino, "HTREE_BAD_ROOT", "htree root is invalid (hash %u, info %u, levels %u)",
			    ri->hash_version, ri->info_length, ri->indirect_levels);
		return;
	}
	if (cl->limit != limit || cl->count > cl->limit || cl->count == 0) {
		chk_err_ino(c, ds->ino, "HTREE_BAD_LIMIT", "htree root count %u / limit %u, limit should be %u",
			    cl->count, cl->limit, limit);
		return;
	}
	if (c->csum && !ext2fs_dir_block_csum_verify(c->fs, ds->ino, (void *)buf))
		chk_err_ino(c, ds->ino, "HTREE_ROOT_CSUM", "htree root node fails checksum");
	ds->htree = 1;
}

/* An htree interior node: a fake empty entry spanning the block, then count/limit. */
static int is_dx_node(const struct chk_ctx *c, const uint8_t *buf)
{
	const struct ext2_dir_entry_2 *de = (const void *)buf;
	const struct ext2_dx_countlimit *cl = (const void *)(buf + 8);

	return de->inode == 0 && (de->rec_len == c->bs || (c->bs == 65536 && de->rec_len == 0)) &&
	       cl->limit == (c->bs - 8 - (c->csum ? 8 : 0)) / 8;
}

static void check_block(struct chk_ctx *c, struct dir_state *ds, const uint8_t *buf)
{
	size_t len = c->bs;
	int n;

	if (ds->lblk == 0 && (c->ino[ds->ino].state & CHK_I_HTREE)) {
		check_dx_root(c, ds, buf);
		if (ds->htree) {
			ds->h = chk_htree_begin(c, ds->ino, ds->nblk, buf);
			parse_entries(c, ds, buf, 12, 0);		/* '.' */
			check_entry(c, ds, (const void *)(buf + 12), 1);	/* '..' spans the root */
			return;
		}
	}
	if (ds->h ? chk_htree_block(ds->h, ds->lblk, buf) : ds->htree && is_dx_node(c, buf)) {
		if (c->csum && !ext2fs_dir_block_csum_verify(c->fs, ds->ino, (void *)buf))
			chk_err_ino(c, ds->ino, "HTREE_NODE_CSUM", "htree internal node (block %u) fails checksum",
				    ds->lblk);
		return;
	}
	if (c->csum) {
		if (!has_tail(c, buf)) {
			chk_err_ino(c, ds->ino, "DIR_NO_CSUM_TAIL", "directory block %u has no checksum tail",
				    ds->lblk);
		} else {
			len -= TAIL_LEN;
			if (!ext2fs_dirent_csum_verify(c->fs, ds->ino, (void *)buf))
				chk_err_ino(c, ds->ino, "DIR_BLOCK_CSUM", "directory block %u fails checksum",
					    ds->lblk);
		}
	}
	n = parse_entries(c, ds, buf, len, ds->lblk == 0 ? 0 : 2);
	if (ds->lblk == 0 && n >= 0 && n < 2)
		chk_err_ino(c, ds->ino, n == 0 ? "DIR_NO_DOT" : "DIR_NO_DOTDOT",
			    "directory block 0 has only %d entries", n);
}

static void begin_dir(struct chk_ctx *c, struct dir_state *ds, size_t i)
{
	uint32_t ino = c->dblk[i].ino, first_lblk = c->dblk[i].lblk;
	size_t j = i;

	while (j + 1 < c->ndblk && c->dblk[j + 1].ino == ino)
		j++;
	if (ds->ino)
		end_dir(c, ds);
	ds->ino = ino;
	ds->nblk = c->dblk[j].lblk + 1;
	ds->htree = 0;
	c->ino[ino].state |= CHK_I_HAS_BLOCKS;
	if (first_lblk != 0)
		chk_err_ino(c, ino, "DIR_HOLE", "directory has an unallocated block #0");
}

/* An orphan with no links is deleted once orphans are processed: its entries
 * name nothing. */
static int deleted_orphan(const struct chk_ctx *c, uint32_t ino)
{
	return (c->ino[ino].state & CHK_I_ORPHAN) && c->ino[ino].links == 0;
}

static int read_dir_blocks(struct chk_ctx *c)
{
	uint8_t *run = malloc((size_t)RUN_MAX * c->bs);
	struct dir_state ds = { 0 };
	size_t i = 0;

	if (!run)
		return -ENOMEM;
	while (i < c->ndblk) {
		size_t n = 1;

		while (i + n < c->ndblk && n < RUN_MAX && c->dblk[i + n].pblk == c->dblk[i].pblk + n)
			n++;
		if (chk_read(c, c->dblk[i].pblk * c->bs, run, n * c->bs)) {
			chk_err_blk(c, c->dblk[i].pblk, "DIR_BLOCK_READ", "directory block cannot be read");
			i += n;
			continue;
		}
		for (size_t k = 0; k < n; k++, i++) {
			const struct chk_dblock *d = &c->dblk[i];

			if (i == 0 || d->ino != ds.ino)
				begin_dir(c, &ds, i);
			else if (d->lblk != ds.lblk + 1)
				chk_err_ino(c, d->ino, "DIR_HOLE", "directory has an unallocated block #%u",
					    ds.lblk + 1);
			ds.lblk = d->lblk;
			if (!deleted_orphan(c, d->ino))
				check_block(c, &ds, run + k * c->bs);
			chk_progress(c, "dirs", i, c->ndblk);
		}
	}
	if (ds.ino)
		end_dir(c, &ds);
	free(ds.names);
	chk_progress(c, "dirs", c->ndblk, c->ndblk);
	free(run);
	return 0;
}

/* An inline directory: i_block holds the parent inode, then entries; the
 * system.data value holds more entries. */
static void check_inline_dir(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in)
{
	struct dir_state ds = { .ino = ino };
	struct dir_state *dsp = &ds;
	struct ext2_dir_entry_2 dotdot = { .inode = in->i_block[0], .name_len = 2, .name = ".." };
	const uint8_t *val;
	int vlen;

	dotdot.file_type = EXT2_FT_DIR;
	c->ino[ino].refs++;			/* its implied '.' */
	check_entry(c, &ds, &dotdot, 1);
	vlen = chk_inline_data_xattr(c, in, &val);
	if (parse_entries(c, &ds, (const uint8_t *)in->i_block + 4, sizeof(in->i_block) - 4, 2) >= 0 &&
	    vlen > 0) {
		ds.lblk = 1;
		parse_entries(c, &ds, val, (size_t)vlen, 2);
	}
	end_dir(c, dsp);
	free(ds.names);
}

/* Inline directories, from the copies the inode pass kept (no re-reads). */
static int inline_dirs(struct chk_ctx *c)
{
	size_t insz = c->isz > sizeof(struct ext2_inode_large) ? c->isz : sizeof(struct ext2_inode_large);
	struct ext2_inode_large *in = malloc(insz);

	if (!in)
		return -ENOMEM;
	for (size_t i = 0; i < c->ninl; i++) {
		uint32_t ino = c->inl_ino[i];

		if ((c->ino[ino].state & CHK_I_BAD) || deleted_orphan(c, ino))
			continue;
		c->ino[ino].state |= CHK_I_HAS_BLOCKS;
		memset(in, 0, insz);
		memcpy(in, c->inl + i * c->isz, c->isz);
		check_inline_dir(c, ino, in);
	}
	free(in);
	return 0;
}

int chk_dirs(struct chk_ctx *c)
{
	int ret;

	if (c->ndblk)
		qsort(c->dblk, c->ndblk, sizeof(*c->dblk), cmp_dblock);
	ret = read_dir_blocks(c);
	if (!ret)
		ret = inline_dirs(c);
	for (uint32_t ino = 1; ino <= c->ninodes && !ret; ino++) {
		const struct chk_inode *ci = &c->ino[ino];

		if ((ci->state & (CHK_I_USED | CHK_I_DIR | CHK_I_BAD | CHK_I_HAS_BLOCKS)) ==
		    (CHK_I_USED | CHK_I_DIR) && !(ci->state & CHK_I_ORPHAN))
			chk_err_ino(c, ino, "DIR_EMPTY", "directory has no blocks (zero-length directory)");
	}
	return ret;
}
