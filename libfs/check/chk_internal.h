/*
 * libfs/check internals: the context every pass shares.  Passes run in order
 * (super, journal, inodes, dirs, links, bitmaps); each reads only what earlier
 * passes computed.  All on-disk reads go through chk_read_block/chk_read, which
 * refuse offsets outside the device.
 */
#ifndef E4_CHK_INTERNAL_H
#define E4_CHK_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>
#include <ext2fs/ext2fs.h>
#include "libfs/blk/blk.h"
#include "libfs/check/chk.h"

/* Per-inode facts gathered by the inode pass, used by the later passes. */
struct chk_inode {
	uint16_t mode;
	uint16_t links;		/* i_links_count */
	uint32_t refs;		/* directory entries naming it ('.' and '..' too) */
	uint32_t parent;	/* dirs: the directory whose entry names it */
	uint32_t dotdot;	/* dirs: what its '..' says */
	uint16_t state;		/* CHK_I_* */
	uint8_t ftype;		/* EXT2_FT_* expected from the mode */
};

#define CHK_I_USED	0x01	/* in use (links_count != 0, or reserved) */
#define CHK_I_DIR	0x02
#define CHK_I_BAD	0x04	/* too broken to trust its contents */
#define CHK_I_ORPHAN	0x08	/* on the orphan list or in the orphan file */
#define CHK_I_EA_INODE	0x10	/* holds an xattr value; no directory entry */
#define CHK_I_INLINE	0x20
#define CHK_I_DOTDOT	0x40	/* its '..' was seen */
#define CHK_I_HTREE	0x80	/* directory with INDEX_FL */
#define CHK_I_HAS_BLOCKS 0x100	/* directory: block 0 or inline data seen */
#define CHK_I_ENCRYPTED	0x200

/* A directory block found by the inode pass, read by the directory pass. */
struct chk_dblock {
	uint32_t ino;
	uint32_t lblk;
	uint64_t pblk;
};

/* An xattr block and the number of inodes that point to it. */
struct chk_eablock {
	uint64_t blk;
	uint32_t refs;
	uint32_t first_ino;
};

struct chk_ctx {
	struct blk_dev *dev;		/* what the passes read: the image or a replay overlay */
	ext2_filsys fs;
	struct ext2_super_block *sb;
	const struct chk_opts *opts;
	struct chk_report *rep;

	unsigned bs;			/* block size */
	uint64_t nblocks;
	uint64_t first_data;
	uint32_t ninodes, ngroups, ipg, first_ino;
	unsigned isz;			/* on-disk inode size */
	int csum;			/* metadata_csum */
	int gdt_csum;			/* metadata_csum or uninit_bg */

	int progress;			/* draw the progress bar */
	int needs_recovery;		/* the journal has transactions to replay */
	int replayed;			/* they were replayed into the overlay */
	int bad_groups;			/* descriptors point outside the fs */

	ext2fs_block_bitmap used;	/* blocks found in use */
	ext2fs_block_bitmap meta;	/* fixed metadata: sb, gdt, bitmaps, tables */
	ext2fs_inode_bitmap iused;	/* inodes found in use */
	struct chk_inode *ino;		/* [ninodes + 1] */
	uint8_t *group_ok;		/* [ngroups]: its inode table lies inside the fs */

	struct chk_dblock *dblk;
	size_t ndblk, dblk_cap;
	int dblk_overflow;
	struct chk_eablock *ea;
	size_t nea, ea_cap;
	uint8_t *inl;			/* raw inodes of inline directories */
	uint32_t *inl_ino;
	size_t ninl, inl_cap;

	uint64_t dup_reports;		/* cap on duplicate-block findings */
	uint32_t ndirs;
	uint32_t lost_found;		/* inode of /lost+found, 0 when none */
	struct chk_quota *quota[3];	/* usage counted per user, group, project */
};

/* chk_report.c */
void chk_add(struct chk_ctx *c, enum chk_severity sev, const char *code,
	     enum chk_where where, uint64_t num, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
#define chk_err_ino(c, ino, code, ...) \
	chk_add(c, CHK_ERROR, code, CHK_AT_INODE, ino, __VA_ARGS__)
#define chk_err_blk(c, blk, code, ...) \
	chk_add(c, CHK_ERROR, code, CHK_AT_BLOCK, blk, __VA_ARGS__)
#define chk_err_grp(c, g, code, ...) \
	chk_add(c, CHK_ERROR, code, CHK_AT_GROUP, g, __VA_ARGS__)
#define chk_err_fs(c, code, ...) \
	chk_add(c, CHK_ERROR, code, CHK_AT_FS, 0, __VA_ARGS__)
void chk_verbose(struct chk_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void chk_progress(struct chk_ctx *c, const char *what, uint64_t done, uint64_t total);

/* chk_main.c: bounded reads */
int chk_read(struct chk_ctx *c, uint64_t off, void *buf, size_t len);
int chk_read_block(struct chk_ctx *c, uint64_t blk, void *buf);
int chk_block_valid(const struct chk_ctx *c, uint64_t blk, uint64_t len);

/* the passes, in order */
int chk_super(struct chk_ctx *c);		/* chk_super.c */
int chk_journal(struct chk_ctx *c, struct blk_dev **replay);	/* chk_journal.c */
int chk_orphans(struct chk_ctx *c);		/* chk_orphan.c */
int chk_inodes(struct chk_ctx *c);		/* chk_inodes.c */
int chk_dirs(struct chk_ctx *c);		/* chk_dirs.c */
int chk_links(struct chk_ctx *c);		/* chk_links.c */
int chk_quota(struct chk_ctx *c);		/* chk_quota.c */
void chk_quota_free(struct chk_ctx *c);
int chk_bitmaps(struct chk_ctx *c);		/* chk_bitmaps.c */
void chk_quota_account(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in,
		       uint64_t blocks);				/* chk_quota.c */

/* helpers shared by the inode pass's files */
struct chk_blocks;	/* what a block walk found for one inode (chk_inodes.c) */
int chk_extent_tree(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in,
		    struct chk_blocks *b);			/* chk_extent.c */
int chk_blockmap(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in,
		 struct chk_blocks *b);				/* chk_blockmap.c */
void chk_xattrs(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in,
		struct chk_blocks *b);				/* chk_xattr.c */
void chk_xattr_blocks(struct chk_ctx *c);			/* chk_xattr.c */
/* Finds system.data in the in-inode xattrs; returns its length or -ENODATA,
 * and its bytes in *val (pointing into @in). */
int chk_inline_data_xattr(struct chk_ctx *c, struct ext2_inode_large *in,
			  const uint8_t **val);			/* chk_xattr.c */
struct chk_htree;						/* chk_htree.c */
struct chk_htree *chk_htree_begin(struct chk_ctx *c, uint32_t ino, uint64_t nblk,
				  const uint8_t *root);
int chk_htree_block(struct chk_htree *h, uint32_t lblk, const uint8_t *buf);
void chk_htree_name(struct chk_htree *h, uint32_t lblk, const char *name, int len);
void chk_htree_end(struct chk_htree *h);
void chk_inline(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in,
		struct chk_blocks *b);				/* chk_inline.c */

struct chk_blocks {
	uint64_t nblocks;	/* blocks counted for i_blocks (data + tree + EA) */
	int64_t last_lblk;	/* last mapped logical block, -1 when none */
	int64_t last_init;	/* last initialized (written) logical block */
	int is_dir;
	int bad;		/* the map is broken: skip size checks */
	uint64_t first_pblk;	/* physical block of lblk 0 (symlinks), 0 when none */
	uint32_t nmapped;
	int ea_inode_refs;	/* xattr values in EA inodes: i_blocks includes them */
	int orphan;		/* pending truncate: size checks wait for it */
};

/* Marks [blk, blk+len) used by @ino: reports blocks outside the fs, over fixed
 * metadata, or already claimed.  Returns 0, or -EUCLEAN when the range is bad. */
int chk_claim(struct chk_ctx *c, uint32_t ino, uint64_t blk, uint64_t len,
	      const char *what);
int chk_add_dblock(struct chk_ctx *c, uint32_t ino, uint64_t lblk, uint64_t pblk);

#endif /* E4_CHK_INTERNAL_H */
