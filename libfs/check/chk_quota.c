/*
 * libfs/check quota: usage per user, group and project counted in the inode
 * pass (blocks as counted there, one inode each) against the quota files (the
 * v2 format: a 4-level radix tree of 1 KiB blocks over 72-byte records).
 * The tree walk visits each quota block at most once.  Skipped with EA
 * inodes, whose charging this checker does not model.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "libfs/check/chk_internal.h"

#define QT_BLK		1024
#define QT_TREEOFF	1	/* the root of the tree */
#define QT_DEPTH	4
#define QT_HDR		16	/* the data block header */
#define QT_REC		72	/* struct v2r1_disk_dqblk */
#define QT_MAGIC_USR	0xd9c01f11U
#define QT_MAGIC_GRP	0xd9c01927U
#define QT_MAGIC_PRJ	0xd9c03f14U

struct qentry {
	uint32_t id;
	uint8_t used, seen;
	uint64_t space, inodes;
};

struct chk_quota {
	struct qentry *tab;	/* open addressing on id */
	size_t cap, n;
};

static struct qentry *qlookup(struct chk_quota *q, uint32_t id, int create)
{
	size_t i;

	if (create && (q->n + 1) * 2 > q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		struct qentry *t = calloc(cap, sizeof(*t));

		if (!t)
			return NULL;
		for (size_t k = 0; k < q->cap; k++) {
			if (!q->tab[k].used)
				continue;
			for (i = q->tab[k].id * 2654435761U % cap; t[i].used; i = (i + 1) % cap)
				;
			t[i] = q->tab[k];
		}
		free(q->tab);
		q->tab = t;
		q->cap = cap;
	}
	if (!q->cap)
		return NULL;
	for (i = id * 2654435761U % q->cap; q->tab[i].used; i = (i + 1) % q->cap)
		if (q->tab[i].id == id)
			return &q->tab[i];
	if (!create)
		return NULL;
	q->tab[i].used = 1;
	q->tab[i].id = id;
	q->n++;
	return &q->tab[i];
}

static uint32_t quota_inum(const struct chk_ctx *c, int type)
{
	struct ext2_super_block *sb = c->sb;

	if (!ext2fs_has_feature_quota(sb))
		return 0;
	return type == 0 ? sb->s_usr_quota_inum : type == 1 ? sb->s_grp_quota_inum
							    : sb->s_prj_quota_inum;
}

void chk_quota_account(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in,
		       uint64_t blocks)
{
	uint32_t ids[3];

	if (!ext2fs_has_feature_quota(c->sb) || (in->i_flags & EXT4_EA_INODE_FL) ||
	    (ino < c->first_ino && ino != EXT2_ROOT_INO) || ino == c->sb->s_prj_quota_inum)
		return;
	ids[0] = in->i_uid | (uint32_t)in->osd2.linux2.l_i_uid_high << 16;
	ids[1] = in->i_gid | (uint32_t)in->osd2.linux2.l_i_gid_high << 16;
	ids[2] = c->isz > EXT2_GOOD_OLD_INODE_SIZE &&
		 in->i_extra_isize >= offsetof(struct ext2_inode_large, i_projid) + 4 -
				      EXT2_GOOD_OLD_INODE_SIZE ? in->i_projid : 0;
	for (int t = 0; t < 3; t++) {
		struct qentry *e;

		if (!quota_inum(c, t))
			continue;
		if (!c->quota[t] && !(c->quota[t] = calloc(1, sizeof(struct chk_quota))))
			return;
		e = qlookup(c->quota[t], ids[t], 1);
		if (!e)
			return;
		e->space += blocks * c->bs;
		e->inodes++;
	}
}

struct qwalk {
	struct chk_ctx *c;
	uint32_t ino, type;
	struct ext2_inode inode;
	uint32_t nblk;			/* quota blocks in the file */
	uint8_t *visited;
	uint8_t buf[QT_BLK];
	int bad;
};

static int qread(struct qwalk *w, uint32_t qblk, uint8_t *out)
{
	struct chk_ctx *c = w->c;
	uint64_t off = (uint64_t)qblk * QT_BLK;
	blk64_t pblk = 0;

	if (qblk >= w->nblk ||
	    ext2fs_bmap2(c->fs, w->ino, &w->inode, NULL, 0, off / c->bs, NULL, &pblk) || !pblk ||
	    !chk_block_valid(c, pblk, 1))
		return -EUCLEAN;
	return chk_read(c, pblk * c->bs + off % c->bs, out, QT_BLK);
}

static void check_record(struct qwalk *w, const uint8_t *r)
{
	static const uint8_t zero[QT_REC];
	struct qentry *e;
	uint32_t id;
	uint64_t inodes, space;

	if (!memcmp(r, zero, QT_REC))
		return;
	memcpy(&id, r, 4);
	memcpy(&inodes, r + 24, 8);
	memcpy(&space, r + 48, 8);
	e = qlookup(w->c->quota[w->type], id, 1);
	if (!e)
		return;
	e->seen = 1;
	if (e->space != space || e->inodes != inodes) {
		chk_err_ino(w->c, w->ino, "QUOTA_USAGE",
			    "%s quota for id %u says (%llu bytes, %llu inodes), counted (%llu, %llu)",
			    w->type == 0 ? "user" : w->type == 1 ? "group" : "project", id,
			    (unsigned long long)space, (unsigned long long)inodes,
			    (unsigned long long)e->space, (unsigned long long)e->inodes);
		w->bad = 1;
	}
}

static void walk_tree(struct qwalk *w, uint32_t qblk, int depth)
{
	uint8_t *buf;
	uint32_t refs[QT_BLK / 4];

	if (w->bad || qblk >= w->nblk || w->visited[qblk]++)
		return;
	buf = malloc(QT_BLK);
	if (!buf)
		return;
	if (qread(w, qblk, buf)) {
		chk_err_ino(w->c, w->ino, "QUOTA_FILE_BAD", "quota block %u cannot be read", qblk);
		w->bad = 1;
	} else if (depth == QT_DEPTH) {
		for (unsigned off = QT_HDR; off + QT_REC <= QT_BLK && !w->bad; off += QT_REC)
			check_record(w, buf + off);
	} else {
		memcpy(refs, buf, sizeof(refs));
		for (unsigned i = 0; i < QT_BLK / 4 && !w->bad; i++)
			if (refs[i])
				walk_tree(w, refs[i], depth + 1);
	}
	free(buf);
}

static void check_file(struct chk_ctx *c, int t)
{
	static const uint32_t magic[3] = { QT_MAGIC_USR, QT_MAGIC_GRP, QT_MAGIC_PRJ };
	struct qwalk w = { .c = c, .ino = quota_inum(c, t), .type = (uint32_t)t };
	struct chk_quota *q = c->quota[t];
	uint32_t hdr[2];

	if (ext2fs_read_inode(c->fs, w.ino, &w.inode) || EXT2_I_SIZE(&w.inode) < 2 * QT_BLK ||
	    EXT2_I_SIZE(&w.inode) > (1ULL << 32)) {
		chk_err_ino(c, w.ino, "QUOTA_FILE_BAD", "quota inode is unusable");
		return;
	}
	w.nblk = (uint32_t)(EXT2_I_SIZE(&w.inode) / QT_BLK);
	if (qread(&w, 0, w.buf) || (memcpy(hdr, w.buf, 8), hdr[0] != magic[t])) {
		chk_err_ino(c, w.ino, "QUOTA_FILE_BAD", "quota file header is bad");
		return;
	}
	w.visited = calloc(w.nblk, 1);
	if (!w.visited)
		return;
	walk_tree(&w, QT_TREEOFF, 0);
	free(w.visited);
	for (size_t i = 0; q && i < q->cap && !w.bad; i++) {
		const struct qentry *e = &q->tab[i];

		if (e->used && !e->seen && (e->space || e->inodes)) {
			chk_err_ino(c, w.ino, "QUOTA_USAGE", "quota file has no record for id %u (counted %llu bytes, %llu inodes)",
				    e->id, (unsigned long long)e->space, (unsigned long long)e->inodes);
			break;
		}
	}
}

void chk_quota_free(struct chk_ctx *c)
{
	for (int t = 0; t < 3; t++) {
		if (c->quota[t])
			free(c->quota[t]->tab);
		free(c->quota[t]);
		c->quota[t] = NULL;
	}
}

int chk_quota(struct chk_ctx *c)
{
	for (int t = 0; t < 3; t++)
		if (quota_inum(c, t) && !ext2fs_has_feature_ea_inode(c->sb))
			check_file(c, t);
	chk_quota_free(c);
	return 0;
}
