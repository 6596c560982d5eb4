/*
 * libfs/check journal: the journal inode and its superblock, then a read-only
 * walk of the log from s_start/s_sequence (descriptor, commit and revoke
 * blocks, checksums v2/v3) that says whether and where replay would stop.
 * When the journal needs recovery the committed transactions are replayed
 * into a memory overlay, never into the image; the walk visits at most
 * s_maxlen blocks.  Independent of journal/: a small scan of its own.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "libfs/check/chk_internal.h"

/* JBD2 on-disk format (big-endian), from the published format. */
#define JBD2_MAGIC		0xc03b3998U
#define JBD2_DESCRIPTOR		1
#define JBD2_COMMIT		2
#define JBD2_SB_V1		3
#define JBD2_SB_V2		4
#define JBD2_REVOKE		5
#define JBD2_FLAG_ESCAPE	1
#define JBD2_FLAG_SAME_UUID	2
#define JBD2_FLAG_LAST_TAG	8
#define JBD2_INCOMPAT_REVOKE	0x1
#define JBD2_INCOMPAT_64BIT	0x2
#define JBD2_INCOMPAT_ASYNC	0x4
#define JBD2_INCOMPAT_CSUM_V2	0x8
#define JBD2_INCOMPAT_CSUM_V3	0x10
#define JBD2_INCOMPAT_FAST_COMMIT 0x20
#define JBD2_KNOWN_INCOMPAT	0x3f
#define JBD2_SB_SIZE		1024

struct jbd_header {
	uint32_t magic, blocktype, sequence;
};

struct jbd_sb {
	struct jbd_header h;
	uint32_t blocksize, maxlen, first;
	uint32_t sequence, start;
	int32_t errno_;
	uint32_t feature_compat, feature_incompat, feature_ro_compat;
	uint8_t uuid[16];
	uint32_t nr_users, dynsuper, max_transaction, max_trans_data;
	uint8_t checksum_type, pad2[3];
	uint32_t num_fc_blks, head;
	uint32_t padding[40];
	uint32_t checksum;
	uint8_t users[16 * 48];
};

struct jbd_tagrec {		/* one logged block of a transaction */
	uint64_t fsblk;
	uint32_t logblk;	/* index in the journal */
	uint32_t seq;
	uint32_t csum;
	int escape;
};

struct jbd_revoke {
	uint64_t fsblk;
	uint32_t seq;
};

struct jscan {
	struct chk_ctx *c;
	uint32_t jino;
	struct ext2_inode inode;
	struct jbd_sb jsb;
	uint32_t incompat, maxlen, first, tag_bytes, seed;
	uint8_t *buf;
	struct jbd_tagrec *tags;
	size_t ntags, tags_cap;
	struct jbd_revoke *rev;
	size_t nrev, rev_cap;
	uint32_t end_seq;		/* first transaction that is not complete */
	uint32_t end_block;
};

static int csum_on(const struct jscan *j)
{
	return j->incompat & (JBD2_INCOMPAT_CSUM_V2 | JBD2_INCOMPAT_CSUM_V3);
}

/* Reads journal block @lblk through the journal inode's map. */
static int jread(struct jscan *j, uint32_t lblk, void *buf, uint64_t *pblk_out)
{
	struct chk_ctx *c = j->c;
	blk64_t pblk = 0;

	if (ext2fs_bmap2(c->fs, j->jino, &j->inode, NULL, 0, lblk, NULL, &pblk) || !pblk ||
	    !chk_block_valid(c, pblk, 1))
		return -EUCLEAN;
	if (pblk_out)
		*pblk_out = pblk;
	return chk_read_block(c, pblk, buf);
}

static void check_backup(struct chk_ctx *c, const struct ext2_inode *in)
{
	const struct ext2_super_block *sb = c->sb;

	if (c->sb->s_journal_inum != EXT2_JOURNAL_INO)
		return;
	if (sb->s_jnl_backup_type != EXT3_JNL_BACKUP_BLOCKS ||
	    memcmp(sb->s_jnl_blocks, in->i_block, sizeof(in->i_block)) != 0 ||
	    sb->s_jnl_blocks[15] != in->i_size_high || sb->s_jnl_blocks[16] != in->i_size)
		chk_err_fs(c, "JOURNAL_BACKUP_MISSING", "superblock lacks a backup of the journal inode's blocks");
}

static int check_jsb(struct jscan *j)
{
	struct chk_ctx *c = j->c;
	struct jbd_sb *s = &j->jsb;
	uint32_t type = be32toh(s->h.blocktype);

	if (be32toh(s->h.magic) != JBD2_MAGIC || (type != JBD2_SB_V1 && type != JBD2_SB_V2)) {
		chk_err_ino(c, j->jino, "JOURNAL_BAD_SUPER", "journal superblock has bad magic or type");
		return -EUCLEAN;
	}
	if (be32toh(s->blocksize) != c->bs) {
		chk_err_ino(c, j->jino, "JOURNAL_BAD_SUPER", "journal block size %u differs from the fs's %u",
			    be32toh(s->blocksize), c->bs);
		return -EUCLEAN;
	}
	j->maxlen = be32toh(s->maxlen);
	j->first = be32toh(s->first);
	if (j->maxlen < 1024 || (uint64_t)j->maxlen * c->bs > EXT2_I_SIZE(&j->inode) ||
	    j->first == 0 || j->first >= j->maxlen) {
		chk_err_ino(c, j->jino, "JOURNAL_BAD_SUPER", "journal superblock geometry is invalid (maxlen %u, first %u)",
			    j->maxlen, j->first);
		return -EUCLEAN;
	}
	if (type == JBD2_SB_V1) {
		static const uint8_t zero[JBD2_SB_SIZE];

		if (memcmp(&s->feature_compat, zero, JBD2_SB_SIZE - offsetof(struct jbd_sb, feature_compat)))
			chk_err_ino(c, j->jino, "JOURNAL_V1_JUNK", "V1 journal superblock has V2 fields set");
		return 0;
	}
	j->incompat = be32toh(s->feature_incompat);
	if (j->incompat & ~JBD2_KNOWN_INCOMPAT) {
		chk_err_ino(c, j->jino, "JOURNAL_UNKNOWN_FEATURE", "journal has unknown incompatible features 0x%x",
			    j->incompat);
		return -EUCLEAN;
	}
	if ((j->incompat & JBD2_INCOMPAT_CSUM_V2) && (j->incompat & JBD2_INCOMPAT_CSUM_V3))
		chk_err_ino(c, j->jino, "JOURNAL_BAD_SUPER", "journal has both checksum v2 and v3");
	if (csum_on(j)) {
		struct jbd_sb copy = *s;
		uint32_t want = be32toh(s->checksum);

		copy.checksum = 0;
		if (ext2fs_crc32c_le(~0U, (const void *)&copy, JBD2_SB_SIZE) != want)
			chk_err_ino(c, j->jino, "JOURNAL_SUPER_CSUM", "journal superblock checksum does not match");
		j->seed = ext2fs_crc32c_le(~0U, s->uuid, sizeof(s->uuid));
	}
	return 0;
}

static void set_tag_bytes(struct jscan *j)
{
	if (j->incompat & JBD2_INCOMPAT_CSUM_V3)
		j->tag_bytes = 16;
	else
		j->tag_bytes = 12 + ((j->incompat & JBD2_INCOMPAT_CSUM_V2) ? 2 : 0) -
			       ((j->incompat & JBD2_INCOMPAT_64BIT) ? 0 : 4);
}

/* Checksum of a descriptor or revoke block: crc32c over it with the tail zeroed. */
static int block_tail_ok(struct jscan *j, uint8_t *buf)
{
	uint32_t *tail = (uint32_t *)(buf + j->c->bs - 4), want = be32toh(*tail), got;

	if (!csum_on(j))
		return 1;
	*tail = 0;
	got = ext2fs_crc32c_le(j->seed, buf, j->c->bs);
	*tail = htobe32(want);
	return got == want;
}

static int commit_ok(struct jscan *j, uint8_t *buf)
{
	uint32_t *sum = (uint32_t *)(buf + 16), want = be32toh(*sum), got;

	if (!csum_on(j))
		return 1;
	*sum = 0;
	got = ext2fs_crc32c_le(j->seed, buf, j->c->bs);
	*sum = htobe32(want);
	return got == want;
}

static uint32_t next_block(const struct jscan *j, uint32_t b)
{
	return b + 1 >= j->maxlen ? j->first : b + 1;
}

static int add_tag(struct jscan *j, const struct jbd_tagrec *t)
{
	if (j->ntags == j->tags_cap) {
		size_t cap = j->tags_cap ? j->tags_cap * 2 : 256;
		struct jbd_tagrec *n = realloc(j->tags, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		j->tags = n;
		j->tags_cap = cap;
	}
	j->tags[j->ntags++] = *t;
	return 0;
}

static int add_revoke(struct jscan *j, uint64_t blk, uint32_t seq)
{
	if (j->nrev == j->rev_cap) {
		size_t cap = j->rev_cap ? j->rev_cap * 2 : 256;
		struct jbd_revoke *n = realloc(j->rev, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		j->rev = n;
		j->rev_cap = cap;
	}
	j->rev[j->nrev].fsblk = blk;
	j->rev[j->nrev].seq = seq;
	j->nrev++;
	return 0;
}

/* Parses descriptor tags; advances *b past the data blocks.  -EUCLEAN: stop. */
static int scan_descriptor(struct jscan *j, uint32_t seq, uint32_t *b, uint32_t *visited)
{
	size_t end = j->c->bs - (csum_on(j) ? 4 : 0), off = sizeof(struct jbd_header);
	uint8_t *buf = j->buf;

	if (!block_tail_ok(j, buf))
		return -EUCLEAN;
	while (off + j->tag_bytes <= end) {
		const uint8_t *t = buf + off;
		struct jbd_tagrec r = { .seq = seq };
		uint32_t flags;

		r.fsblk = be32toh(*(const uint32_t *)t);
		if (j->incompat & JBD2_INCOMPAT_CSUM_V3) {
			flags = be32toh(*(const uint32_t *)(t + 4));
			r.csum = be32toh(*(const uint32_t *)(t + 12));
		} else {
			flags = be16toh(*(const uint16_t *)(t + 6));
			r.csum = be16toh(*(const uint16_t *)(t + 4));
		}
		if (j->incompat & JBD2_INCOMPAT_64BIT)
			r.fsblk |= (uint64_t)be32toh(*(const uint32_t *)(t + 8)) << 32;
		*b = next_block(j, *b);
		if (++*visited > j->maxlen)
			return -EUCLEAN;
		r.logblk = *b;
		r.escape = flags & JBD2_FLAG_ESCAPE;
		if (add_tag(j, &r))
			return -ENOMEM;
		off += j->tag_bytes + ((flags & JBD2_FLAG_SAME_UUID) ? 0 : 16);
		if (flags & JBD2_FLAG_LAST_TAG)
			break;
	}
	return 0;
}

static int scan_revoke(struct jscan *j, uint32_t seq)
{
	uint32_t count = be32toh(*(const uint32_t *)(j->buf + 12));
	size_t rec = (j->incompat & JBD2_INCOMPAT_64BIT) ? 8 : 4;
	size_t limit = j->c->bs - (csum_on(j) ? 4 : 0);

	if (count > limit || count < 16) {
		chk_add(j->c, CHK_RECOVERY, "JOURNAL_REPLAY_WOULD_FAIL", CHK_AT_INODE, j->jino,
			"revoke block of transaction %u has an invalid count %u", seq, count);
		return -EINVAL;
	}
	if (!block_tail_ok(j, j->buf))
		return -EUCLEAN;
	for (size_t off = 16; off + rec <= count; off += rec) {
		uint64_t blk = rec == 8 ? be64toh(*(const uint64_t *)(j->buf + off))
					: be32toh(*(const uint32_t *)(j->buf + off));

		if (add_revoke(j, blk, seq))
			return -ENOMEM;
	}
	return 0;
}

/* Walks the log; sets end_seq to the first incomplete transaction.  Returns
 * 0, -EINVAL when replay would fail, -ENOMEM. */
static int scan_log(struct jscan *j)
{
	uint32_t b = be32toh(j->jsb.start), seq = be32toh(j->jsb.sequence), visited = 0;
	size_t tx_tags = j->ntags, tx_revs = j->nrev;
	const char *why = "end of log";
	int ret = 0;

	while (visited++ < j->maxlen) {
		const struct jbd_header *h = (const void *)j->buf;

		if (jread(j, b, j->buf, NULL)) {
			why = "unreadable journal block";
			break;
		}
		if (be32toh(h->magic) != JBD2_MAGIC || be32toh(h->sequence) != seq)
			break;
		switch (be32toh(h->blocktype)) {
		case JBD2_DESCRIPTOR:
			ret = scan_descriptor(j, seq, &b, &visited);
			break;
		case JBD2_REVOKE:
			ret = scan_revoke(j, seq);
			break;
		case JBD2_COMMIT:
			if (!commit_ok(j, j->buf)) {
				why = "commit block checksum mismatch";
				ret = -EUCLEAN;
				break;
			}
			seq++;
			tx_tags = j->ntags;
			tx_revs = j->nrev;
			break;
		default:
			why = "unknown block type";
			ret = -EUCLEAN;
		}
		if (ret == -EUCLEAN && !strcmp(why, "end of log"))
			why = "descriptor checksum mismatch or overlong log";
		if (ret)
			break;
		b = next_block(j, b);
	}
	j->ntags = tx_tags;		/* drop the incomplete transaction */
	j->nrev = tx_revs;
	j->end_seq = seq;
	j->end_block = b;
	chk_add(j->c, CHK_INFO, "JOURNAL_REPLAY_END", CHK_AT_INODE, j->jino,
		"replay would apply transactions %u..%u and stop at journal block %u (sequence %u): %s",
		be32toh(j->jsb.sequence), seq ? seq - 1 : 0, b, seq, why);
	return ret == -EUCLEAN ? 0 : ret;
}

static int cmp_revoke(const void *x, const void *y)
{
	const struct jbd_revoke *a = x, *b = y;

	return a->fsblk < b->fsblk ? -1 : a->fsblk > b->fsblk;
}

/* Revoked when a revoke record for @blk is in transaction @seq or later;
 * j->rev is sorted by block. */
static int revoked(const struct jscan *j, uint64_t blk, uint32_t seq)
{
	size_t lo = 0, hi = j->nrev;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (j->rev[mid].fsblk < blk)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < j->nrev && j->rev[lo].fsblk == blk; lo++)
		if ((int32_t)(j->rev[lo].seq - seq) >= 0)
			return 1;
	return 0;
}

static int data_csum_ok(struct jscan *j, const struct jbd_tagrec *t, const uint8_t *data)
{
	uint32_t seq = htobe32(t->seq), sum;

	if (!csum_on(j))
		return 1;
	sum = ext2fs_crc32c_le(j->seed, (const void *)&seq, sizeof(seq));
	sum = ext2fs_crc32c_le(sum, data, j->c->bs);
	if (j->incompat & JBD2_INCOMPAT_CSUM_V3)
		return sum == t->csum;
	return (sum & 0xffff) == (t->csum & 0xffff);
}

/* Writes every committed, unrevoked block into @ovl, in log order. */
static int replay(struct jscan *j, struct blk_dev *ovl)
{
	struct chk_ctx *c = j->c;
	uint32_t bad = 0;

	if (j->nrev)
		qsort(j->rev, j->nrev, sizeof(*j->rev), cmp_revoke);
	for (size_t i = 0; i < j->ntags; i++) {
		const struct jbd_tagrec *t = &j->tags[i];

		if (t->fsblk >= c->nblocks || revoked(j, t->fsblk, t->seq))
			continue;
		if (jread(j, t->logblk, j->buf, NULL))
			return -EUCLEAN;
		if (!data_csum_ok(j, t, j->buf)) {
			bad++;
			continue;
		}
		if (t->escape)
			*(uint32_t *)j->buf = htobe32(JBD2_MAGIC);
		if (blk_write(ovl, t->fsblk * c->bs, j->buf, c->bs))
			return -EIO;
	}
	if (bad)
		chk_add(c, CHK_INFO, "JOURNAL_BLOCK_CSUM", CHK_AT_INODE, j->jino,
			"%u logged blocks fail their checksum; replay would skip them", bad);
	return 0;
}

static int inode_ok(const struct chk_ctx *c, const struct ext2_inode *in)
{
	return LINUX_S_ISREG(in->i_mode) && EXT2_I_SIZE(in) >= 1024ULL * c->bs;
}

/* The superblock's copy of the journal inode's i_block and size, which
 * e2fsck uses when the inode itself is damaged. */
static int inode_from_backup(const struct chk_ctx *c, struct ext2_inode *in)
{
	const struct ext2_super_block *sb = c->sb;

	if (sb->s_jnl_backup_type != EXT3_JNL_BACKUP_BLOCKS)
		return -ENOENT;
	memset(in, 0, sizeof(*in));
	in->i_mode = LINUX_S_IFREG | 0600;
	in->i_links_count = 1;
	memcpy(in->i_block, sb->s_jnl_blocks, sizeof(in->i_block));
	in->i_size_high = sb->s_jnl_blocks[15];
	in->i_size = sb->s_jnl_blocks[16];
	if (((const struct ext3_extent_header *)in->i_block)->eh_magic == EXT3_EXT_MAGIC)
		in->i_flags |= EXT4_EXTENTS_FL;
	return inode_ok(c, in) ? 0 : -EUCLEAN;
}

static int load_journal(struct jscan *j)
{
	struct chk_ctx *c = j->c;

	j->jino = c->sb->s_journal_inum;
	if (j->jino == 0 || j->jino > c->ninodes ||
	    ext2fs_read_inode(c->fs, j->jino, &j->inode) || !inode_ok(c, &j->inode)) {
		if (!ext2fs_has_feature_journal_needs_recovery(c->sb) || inode_from_backup(c, &j->inode)) {
			chk_err_fs(c, "JOURNAL_INODE_BAD", "superblock has an invalid journal (inode %u)", j->jino);
			return -EUCLEAN;
		}
		chk_add(c, CHK_INFO, "JOURNAL_INODE_FROM_BACKUP", CHK_AT_INODE, j->jino,
			"journal inode is damaged; replaying through the superblock's backup of its blocks");
	} else {
		check_backup(c, &j->inode);
	}
	if (j->jino != EXT2_JOURNAL_INO)
		chk_add(c, CHK_INFO, "JOURNAL_VISIBLE", CHK_AT_INODE, j->jino, "journal is a visible file");
	if (jread(j, 0, j->buf, NULL)) {
		chk_err_ino(c, j->jino, "JOURNAL_INODE_BAD", "journal superblock cannot be read");
		return -EUCLEAN;
	}
	memcpy(&j->jsb, j->buf, sizeof(j->jsb));
	if (check_jsb(j))
		return -EUCLEAN;
	set_tag_bytes(j);
	return 0;
}

/* Scans and, when there is something to replay, builds the overlay. */
static int recover(struct jscan *j, struct blk_dev **replay_dev)
{
	struct chk_ctx *c = j->c;
	struct blk_dev *ovl;
	int err = 0, ret;

	ret = scan_log(j);
	if (ret == -EINVAL)
		return 0;		/* reported: e2fsck's replay fails; check as is */
	if (ret || j->ntags == 0)
		return ret;
	ovl = blk_overlay_create(c->dev, &err);
	if (!ovl)
		return err ? err : -ENOMEM;
	ret = replay(j, ovl);
	if (ret) {
		/* the overlay owns the image below it: detach before freeing */
		ovl->lower = NULL;
		blk_close(ovl);
		return ret == -EUCLEAN ? 0 : ret;
	}
	*replay_dev = ovl;
	return 0;
}

int chk_journal(struct chk_ctx *c, struct blk_dev **replay_dev)
{
	struct jscan j = { .c = c };
	int nr = ext2fs_has_feature_journal_needs_recovery(c->sb);
	int ret = 0;

	*replay_dev = NULL;
	if (!ext2fs_has_feature_journal(c->sb)) {
		if (nr)
			chk_err_fs(c, "JOURNAL_RECOVER_NO_JOURNAL", "needs_recovery is set but there is no journal");
		return 0;
	}
	if (c->sb->s_journal_inum == 0) {
		if (nr)
			chk_add(c, CHK_RECOVERY, "JOURNAL_NEEDS_RECOVERY", CHK_AT_FS, 0,
				"external journal needs recovery (not checked)");
		return 0;
	}
	j.buf = malloc(c->bs);
	if (!j.buf)
		return -ENOMEM;
	if (load_journal(&j))
		goto out;
	if (nr) {
		c->needs_recovery = 1;
		chk_add(c, CHK_RECOVERY, "JOURNAL_NEEDS_RECOVERY", CHK_AT_INODE, j.jino,
			"journal needs recovery (starts at block %u, sequence %u)",
			be32toh(j.jsb.start), be32toh(j.jsb.sequence));
		if (j.jsb.start)
			ret = recover(&j, replay_dev);
	} else if (j.jsb.start) {
		chk_err_ino(c, j.jino, "JOURNAL_DATA_NO_RECOVERY_FLAG",
			    "needs_recovery is clear but the journal has data");
	}
out:
	free(j.buf);
	free(j.tags);
	free(j.rev);
	return ret;
}
