/*
 * journal/log.c - finding the log and reading its format: the journal inode's
 * block map (through libext2fs, read-only), the journal superblock, checksums
 * and descriptor tags.  Calls libfs/blk and libext2fs only.  Invariant: every
 * offset taken from disk is bounds-checked before use.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "journal/jbd_internal.h"

#define FS_SB_OFF		1024
#define FS_SB_SIZE		1024
#define FS_SB_MAGIC		0x38
#define FS_SB_LOG_BSIZE		0x18
#define FS_SB_BLOCKS_LO		0x04
#define FS_SB_BLOCKS_HI		0x150
#define FS_SB_COMPAT		0x5c
#define FS_SB_INCOMPAT		0x60
#define FS_SB_ROCOMPAT		0x64
#define FS_SB_JOURNAL_INUM	0xe0
#define FS_SB_CHECKSUM		0x3fc

static uint32_t le32_at(const void *buf, unsigned off)
{
	const uint8_t *p = (const uint8_t *)buf + off;

	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

uint32_t jbd_crc32c(uint32_t seed, const void *buf, size_t len)
{
	return ext2fs_crc32c_le(seed, buf, len);
}

/* ---- the fs superblock ---- */

int jbd_fs_sb_read(struct blk_dev *dev, void *sb)
{
	int ret = blk_read(dev, FS_SB_OFF, sb, FS_SB_SIZE);

	if (ret)
		return ret;
	if (jbd_get16(sb, FS_SB_MAGIC) != 0x53ef)	/* 0xef53 little-endian */
		return -EUCLEAN;
	return 0;
}

void jbd_fs_sb_csum_set(void *sb)
{
	uint8_t *p = sb;
	uint32_t c;

	if (!(le32_at(sb, FS_SB_ROCOMPAT) & EXT4_FEATURE_RO_COMPAT_METADATA_CSUM))
		return;
	c = jbd_crc32c(~0u, sb, FS_SB_CHECKSUM);
	p[FS_SB_CHECKSUM] = c;
	p[FS_SB_CHECKSUM + 1] = c >> 8;
	p[FS_SB_CHECKSUM + 2] = c >> 16;
	p[FS_SB_CHECKSUM + 3] = c >> 24;
}

int jbd_fs_sb_write(struct blk_dev *dev, void *sb)
{
	jbd_fs_sb_csum_set(sb);
	return blk_write(dev, FS_SB_OFF, sb, FS_SB_SIZE);
}

/* ---- the map of the journal inode ---- */

struct map_walk {
	struct jbd_log *log;
	size_t cap;
	int err;
};

static int map_add(struct map_walk *w, uint32_t lblk, uint64_t pblk)
{
	struct jbd_log *log = w->log;
	struct jbd_run *r = log->l_nruns ? &log->l_runs[log->l_nruns - 1] : NULL;

	if (r && r->r_lblk + r->r_len == lblk && r->r_pblk + r->r_len == pblk) {
		r->r_len++;
		return 0;
	}
	if (log->l_nruns == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		struct jbd_run *runs = realloc(log->l_runs, cap * sizeof(*runs));

		if (!runs)
			return -ENOMEM;
		log->l_runs = runs;
		w->cap = cap;
	}
	r = &log->l_runs[log->l_nruns++];
	r->r_lblk = lblk;
	r->r_len = 1;
	r->r_pblk = pblk;
	return 0;
}

static int map_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt,
		     blk64_t ref_blk, int ref_offset, void *priv)
{
	struct map_walk *w = priv;

	if (blockcnt < 0 || blockcnt >= UINT32_MAX || *blocknr >= ext2fs_blocks_count(fs->super)) {
		w->err = -EUCLEAN;
		return BLOCK_ABORT;
	}
	w->err = map_add(w, (uint32_t)blockcnt, *blocknr);
	return w->err ? BLOCK_ABORT : 0;
}

/*
 * e2fsck's fallback when the journal inode is unusable: the superblock keeps a
 * copy of its i_block array and size (s_jnl_blocks, backup type 1).  Maps the
 * log through that copy with ext2fs_bmap2, which takes an inode in memory.
 */
static int map_backup(struct jbd_log *log, ext2_filsys fs, uint64_t *size)
{
	struct ext2_super_block *sb = fs->super;
	struct map_walk w = { .log = log };
	struct ext2_inode inode;
	uint32_t n;

	if (sb->s_jnl_backup_type != EXT3_JNL_BACKUP_BLOCKS)
		return -EUCLEAN;
	memset(&inode, 0, sizeof(inode));
	memcpy(inode.i_block, sb->s_jnl_blocks, sizeof(inode.i_block));
	inode.i_size_high = sb->s_jnl_blocks[15];
	inode.i_size = sb->s_jnl_blocks[16];
	inode.i_links_count = 1;
	inode.i_mode = LINUX_S_IFREG | 0600;
	if (ext2fs_has_feature_extents(sb) && (inode.i_block[0] & 0xffff) == EXT3_EXT_MAGIC)
		inode.i_flags |= EXT4_EXTENTS_FL;
	*size = EXT2_I_SIZE(&inode);
	n = *size / log->l_bsize;
	for (uint32_t i = 0; i < n; i++) {
		blk64_t pblk = 0;

		if (ext2fs_bmap2(fs, log->l_ino, &inode, NULL, 0, i, NULL, &pblk) || !pblk ||
		    pblk >= ext2fs_blocks_count(sb))
			return -EUCLEAN;
		if (map_add(&w, i, pblk))
			return -ENOMEM;
	}
	fprintf(log->l_msg, "journal inode %u is unusable: using the superblock's backup "
		"of its block map, as e2fsck does\n", log->l_ino);
	return 0;
}

static int map_inode(struct jbd_log *log, ext2_filsys fs)
{
	struct map_walk w = { .log = log };
	struct ext2_inode inode;
	errcode_t err;
	uint64_t size;

	err = ext2fs_read_inode(fs, log->l_ino, &inode);
	if (err) {
		fprintf(log->l_msg, "journal inode %u: cannot read it\n", log->l_ino);
		return -EUCLEAN;
	}
	size = EXT2_I_SIZE(&inode);
	err = ext2fs_block_iterate3(fs, log->l_ino, BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY,
				    NULL, map_block, &w);
	if (err || w.err || !LINUX_S_ISREG(inode.i_mode) || !log->l_nruns ||
	    log->l_runs[0].r_lblk != 0) {
		free(log->l_runs);
		log->l_runs = NULL;
		log->l_nruns = 0;
		if (w.err == -ENOMEM)
			return -ENOMEM;
		if (map_backup(log, fs, &size)) {
			fprintf(log->l_msg, "journal inode %u: no usable block map\n", log->l_ino);
			return -EUCLEAN;
		}
	}
	/* Count the contiguous logical prefix: a hole ends the usable log. */
	log->l_mapped = 0;
	for (size_t i = 0; i < log->l_nruns && log->l_runs[i].r_lblk == log->l_mapped; i++)
		log->l_mapped += log->l_runs[i].r_len;
	if ((uint64_t)log->l_mapped * log->l_bsize > size + log->l_bsize - 1)
		log->l_mapped = size / log->l_bsize;
	return 0;
}

int jbd_log_bmap(const struct jbd_log *log, uint32_t lblk, uint64_t *pblk)
{
	size_t lo = 0, hi = log->l_nruns;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct jbd_run *r = &log->l_runs[mid];

		if (lblk < r->r_lblk)
			hi = mid;
		else if (lblk >= r->r_lblk + r->r_len)
			lo = mid + 1;
		else {
			*pblk = r->r_pblk + (lblk - r->r_lblk);
			return 0;
		}
	}
	return -EUCLEAN;
}

int jbd_log_read(struct jbd_log *log, uint32_t lblk, void *buf)
{
	uint64_t pblk;

	if (lblk >= log->l_maxlen || jbd_log_bmap(log, lblk, &pblk)) {
		fprintf(log->l_msg, "journal: log block %u is outside the journal\n", lblk);
		return -EUCLEAN;
	}
	return blk_read(log->l_dev, pblk * log->l_bsize, buf, log->l_bsize);
}

/* ---- checksums ---- */

int jbd_tail_csum_ok(const struct jbd_log *log, const void *buf)
{
	uint8_t tmp[4] = { 0 };
	unsigned off = log->l_bsize - JBD_TAIL_SIZE;
	uint32_t c;

	if (!jbd_has_csum(log))
		return 1;
	c = jbd_crc32c(log->l_seed, buf, off);
	c = jbd_crc32c(c, tmp, sizeof(tmp));
	return c == jbd_get32(buf, off);
}

void jbd_tail_csum_set(const struct jbd_log *log, void *buf)
{
	unsigned off = log->l_bsize - JBD_TAIL_SIZE;

	if (!jbd_has_csum(log))
		return;
	jbd_put32(buf, off, 0);
	jbd_put32(buf, off, jbd_crc32c(log->l_seed, buf, log->l_bsize));
}

int jbd_commit_csum_ok(const struct jbd_log *log, const void *buf)
{
	uint8_t zero[4] = { 0 };
	uint32_t c;

	if (!jbd_has_csum(log))
		return 1;
	c = jbd_crc32c(log->l_seed, buf, JBD_COMMIT_CSUM);
	c = jbd_crc32c(c, zero, 4);
	c = jbd_crc32c(c, (const uint8_t *)buf + JBD_COMMIT_CSUM + 4,
		       log->l_bsize - JBD_COMMIT_CSUM - 4);
	return c == jbd_get32(buf, JBD_COMMIT_CSUM);
}

int jbd_commit_csum_partial_ok(const struct jbd_log *log, const void *buf)
{
	uint8_t *tmp = calloc(1, log->l_bsize);
	int ok;

	if (!tmp)
		return 0;
	memcpy(tmp, buf, JBD_COMMIT_HDR_SIZE);
	ok = jbd_commit_csum_ok(log, tmp);
	free(tmp);
	return ok;
}

void jbd_commit_csum_set(const struct jbd_log *log, void *buf)
{
	if (!jbd_has_csum(log))
		return;
	jbd_put32(buf, JBD_COMMIT_CSUM, 0);
	jbd_put32(buf, JBD_COMMIT_CSUM, jbd_crc32c(log->l_seed, buf, log->l_bsize));
}

uint32_t jbd_block_csum(const struct jbd_log *log, uint32_t tid, const void *data)
{
	uint8_t seq[4];

	jbd_put32(seq, 0, tid);
	return jbd_crc32c(jbd_crc32c(log->l_seed, seq, 4), data, log->l_bsize);
}

/* ---- tags ---- */

void jbd_log_set_tag_bytes(struct jbd_log *log)
{
	unsigned n;

	if (log->l_incompat & JBD_INCOMPAT_CSUM_V3) {
		log->l_tag_bytes = 16;
		return;
	}
	n = 12;
	if (log->l_incompat & JBD_INCOMPAT_CSUM_V2)
		n += 2;
	if (!(log->l_incompat & JBD_INCOMPAT_64BIT))
		n -= 4;
	log->l_tag_bytes = n;
}

int jbd_tag_next(const struct jbd_log *log, const void *buf, unsigned *off,
		 struct jbd_tag *tag)
{
	unsigned end = log->l_bsize - (jbd_has_csum(log) ? JBD_TAIL_SIZE : 0);
	unsigned o = *off;

	if (o + log->l_tag_bytes > end)
		return 0;
	tag->tg_blk = jbd_get32(buf, o + JBD_TAG_BLOCKNR);
	if (log->l_incompat & JBD_INCOMPAT_64BIT)
		tag->tg_blk |= (uint64_t)jbd_get32(buf, o + JBD_TAG_BLOCKNR_HIGH) << 32;
	tag->tg_flags = jbd_get16(buf, o + JBD_TAG_FLAGS);
	if (log->l_incompat & JBD_INCOMPAT_CSUM_V3)
		tag->tg_csum = jbd_get32(buf, o + JBD_TAG_CSUM32);
	else
		tag->tg_csum = jbd_get16(buf, o + JBD_TAG_CSUM16);
	o += log->l_tag_bytes;
	if (!(tag->tg_flags & JBD_FLAG_SAME_UUID))
		o += JBD_TAG_UUID_SIZE;
	*off = o;
	return 1;
}

int jbd_tag_csum_ok(const struct jbd_log *log, const struct jbd_tag *tag,
		    uint32_t tid, const void *data)
{
	uint32_t c;

	if (!jbd_has_csum(log))
		return 1;
	c = jbd_block_csum(log, tid, data);
	if (log->l_incompat & JBD_INCOMPAT_CSUM_V3)
		return tag->tg_csum == c;
	return tag->tg_csum == (c & 0xffff);
}

/* ---- the journal superblock ---- */

static int sb_csum_ok(const struct jbd_log *log)
{
	uint8_t zero[4] = { 0 };
	uint32_t c;

	c = jbd_crc32c(~0u, log->l_sb, JSB_CHECKSUM);
	c = jbd_crc32c(c, zero, 4);
	c = jbd_crc32c(c, log->l_sb + JSB_CHECKSUM + 4, JSB_SIZE - JSB_CHECKSUM - 4);
	return c == jbd_get32(log->l_sb, JSB_CHECKSUM);
}

static int sb_bad(struct jbd_log *log, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int sb_bad(struct jbd_log *log, const char *fmt, ...)
{
	va_list ap;

	fprintf(log->l_msg, "journal superblock (inode %u, log block 0): ", log->l_ino);
	va_start(ap, fmt);
	vfprintf(log->l_msg, fmt, ap);
	va_end(ap);
	fputc('\n', log->l_msg);
	return -EUCLEAN;
}

static int sb_features(struct jbd_log *log)
{
	const uint8_t *sb = log->l_sb;

	if (log->l_sb_v1)
		return 0;
	log->l_compat = jbd_get32(sb, JSB_COMPAT);
	log->l_incompat = jbd_get32(sb, JSB_INCOMPAT);
	log->l_rocompat = jbd_get32(sb, JSB_ROCOMPAT);
	if (log->l_incompat & ~JBD_INCOMPAT_KNOWN) {
		fprintf(log->l_msg, "journal superblock: unknown incompatible features 0x%x\n",
			log->l_incompat & ~JBD_INCOMPAT_KNOWN);
		return -EOPNOTSUPP;
	}
	if ((log->l_incompat & JBD_INCOMPAT_CSUM_V2) && (log->l_incompat & JBD_INCOMPAT_CSUM_V3))
		return sb_bad(log, "checksum v2 and v3 both set");
	if (jbd_has_csum(log)) {
		if (sb[JSB_CSUM_TYPE] != JBD_CSUM_TYPE_CRC32C)
			return sb_bad(log, "unknown checksum type %u", sb[JSB_CSUM_TYPE]);
		log->l_sb_csum_ok = sb_csum_ok(log);
		if (!log->l_sb_csum_ok)
			return sb_bad(log, "checksum 0x%08x does not match", jbd_get32(sb, JSB_CHECKSUM));
	}
	return 0;
}

static int sb_parse(struct jbd_log *log)
{
	const uint8_t *sb = log->l_sb;
	uint32_t type = jbd_get32(sb, JBD_HDR_TYPE);
	uint32_t fc = 0;
	int ret;

	if (jbd_get32(sb, JBD_HDR_MAGIC) != JBD_MAGIC)
		return sb_bad(log, "bad magic 0x%08x", jbd_get32(sb, JBD_HDR_MAGIC));
	if (type != JBD_SB_V1 && type != JBD_SB_V2)
		return sb_bad(log, "bad block type %u", type);
	log->l_sb_v1 = type == JBD_SB_V1;
	if (jbd_get32(sb, JSB_BLOCKSIZE) != log->l_bsize)
		return sb_bad(log, "block size %u, the file system's is %u",
			      jbd_get32(sb, JSB_BLOCKSIZE), log->l_bsize);
	log->l_maxlen = jbd_get32(sb, JSB_MAXLEN);
	log->l_first = jbd_get32(sb, JSB_FIRST);
	log->l_sequence = jbd_get32(sb, JSB_SEQUENCE);
	log->l_start = jbd_get32(sb, JSB_START);
	log->l_errno = (int32_t)jbd_get32(sb, JSB_ERRNO);
	log->l_sb_csum_ok = -1;
	if (log->l_maxlen > log->l_mapped)
		return sb_bad(log, "%u blocks long but the inode maps %u",
			      log->l_maxlen, log->l_mapped);
	if (log->l_first == 0 || log->l_first >= log->l_maxlen)
		return sb_bad(log, "first log block %u outside 1..%u", log->l_first, log->l_maxlen);
	ret = sb_features(log);
	if (ret)
		return ret;
	log->l_seed = jbd_crc32c(~0u, sb + JSB_UUID, 16);
	log->l_last = log->l_maxlen;
	if (log->l_incompat & JBD_INCOMPAT_FAST_COMMIT) {
		fc = jbd_get32(sb, JSB_NUM_FC);
		if (!fc)
			fc = JBD_DEFAULT_FC_BLOCKS;
		if (fc >= log->l_maxlen - log->l_first)
			return sb_bad(log, "fast-commit area of %u blocks leaves no log", fc);
		log->l_last = log->l_maxlen - fc;
	}
	if (log->l_start && (log->l_start < log->l_first || log->l_start >= log->l_last))
		return sb_bad(log, "log start %u outside the log ring (ends at %u)",
			      log->l_start, log->l_last);
	jbd_log_set_tag_bytes(log);
	return 0;
}

int jbd_log_write_sb(struct jbd_log *log)
{
	uint8_t *sb = log->l_sb;
	uint64_t pblk;

	jbd_put32(sb, JSB_SEQUENCE, log->l_sequence);
	jbd_put32(sb, JSB_START, log->l_start);
	jbd_put32(sb, JSB_ERRNO, (uint32_t)log->l_errno);
	if (!log->l_sb_v1) {
		jbd_put32(sb, JSB_COMPAT, log->l_compat);
		jbd_put32(sb, JSB_INCOMPAT, log->l_incompat);
		jbd_put32(sb, JSB_ROCOMPAT, log->l_rocompat);
		if (jbd_has_csum(log)) {
			sb[JSB_CSUM_TYPE] = JBD_CSUM_TYPE_CRC32C;
			jbd_put32(sb, JSB_CHECKSUM, 0);
			jbd_put32(sb, JSB_CHECKSUM, jbd_crc32c(~0u, sb, JSB_SIZE));
		}
	}
	if (jbd_log_bmap(log, 0, &pblk))
		return -EUCLEAN;
	return blk_write(log->l_dev, pblk * log->l_bsize, sb, log->l_bsize);
}

/* ---- opening ---- */

static int fs_open(struct blk_dev *dev, ext2_filsys *out)
{
	char name[64];
	errcode_t err;

	blk_io_name(dev, name, sizeof(name));
	err = ext2fs_open2(name, NULL, EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS |
			   EXT2_FLAG_SKIP_MMP, 0, 0, blk_io_manager, out);
	return err ? blk_errcode_to_errno(err) : 0;
}

/* Checks the fs superblock: a journal inode we can read, no external journal. */
static int locate(struct jbd_log *log, const uint8_t *fsb)
{
	uint32_t compat = le32_at(fsb, FS_SB_COMPAT), incompat = le32_at(fsb, FS_SB_INCOMPAT);

	if (!(compat & EXT3_FEATURE_COMPAT_HAS_JOURNAL))
		return -ENOENT;
	if (incompat & EXT3_FEATURE_INCOMPAT_JOURNAL_DEV) {
		fprintf(log->l_msg, "journal: this image is an external journal device; not supported\n");
		return -EOPNOTSUPP;
	}
	log->l_ino = le32_at(fsb, FS_SB_JOURNAL_INUM);
	if (!log->l_ino) {
		fprintf(log->l_msg, "journal: external journals are not supported\n");
		return -EOPNOTSUPP;
	}
	log->l_bsize = 1024u << le32_at(fsb, FS_SB_LOG_BSIZE);
	log->l_fs_blocks = le32_at(fsb, FS_SB_BLOCKS_LO);
	if (incompat & EXT4_FEATURE_INCOMPAT_64BIT)
		log->l_fs_blocks |= (uint64_t)le32_at(fsb, FS_SB_BLOCKS_HI) << 32;
	if (log->l_bsize > 65536 || log->l_bsize < 1024)
		return -EUCLEAN;
	return 0;
}

static int log_map(struct jbd_log *log, ext2_filsys fs)
{
	ext2_filsys own = NULL;
	int ret;

	if (!fs) {
		ret = fs_open(log->l_dev, &own);
		if (ret) {
			fprintf(log->l_msg, "journal: cannot open the file system: %s\n",
				strerror(-ret));
			return ret;
		}
		fs = own;
	}
	ret = map_inode(log, fs);
	if (own)
		ext2fs_close_free(&own);
	return ret;
}

int jbd_log_open(struct blk_dev *dev, ext2_filsys fs, FILE *msg, struct jbd_log **out)
{
	struct jbd_log *log = calloc(1, sizeof(*log));
	uint8_t fsb[FS_SB_SIZE];
	int ret;

	if (!log)
		return -ENOMEM;
	log->l_dev = dev;
	log->l_msg = msg ? msg : stderr;
	ret = jbd_fs_sb_read(dev, fsb);
	if (ret) {
		fprintf(log->l_msg, "journal: no ext4 superblock\n");
		goto fail;
	}
	ret = locate(log, fsb);
	if (ret)
		goto fail;
	ret = log_map(log, fs);
	if (ret)
		goto fail;
	ret = -ENOMEM;
	log->l_sb = malloc(log->l_bsize);
	if (!log->l_sb)
		goto fail;
	log->l_maxlen = log->l_mapped;
	ret = jbd_log_read(log, 0, log->l_sb);
	if (ret)
		goto fail;
	ret = sb_parse(log);
	if (ret)
		goto fail;
	*out = log;
	return 0;
fail:
	jbd_log_close(log);
	return ret;
}

void jbd_log_close(struct jbd_log *log)
{
	if (!log)
		return;
	free(log->l_runs);
	free(log->l_sb);
	free(log);
}
