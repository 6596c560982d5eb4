/*
 * journal/jbd_internal.h - the journal's private structures: the log geometry
 * (struct jbd_log, l_), block sets (bs_/rt_), transactions (t_), the journal
 * (j_).  Shared by the files of journal/ only.
 */
#ifndef E4_JBD_INTERNAL_H
#define E4_JBD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "journal/jbd.h"
#include "journal/jbd_format.h"

/* ---- the log: where it is and how to read it (log.c) ---- */

struct jbd_run {		/* log blocks [r_lblk, r_lblk + r_len) at r_pblk */
	uint32_t r_lblk, r_len;
	uint64_t r_pblk;
};

struct jbd_log {
	struct blk_dev *l_dev;		/* the image: log and home blocks */
	FILE *l_msg;
	unsigned l_bsize;
	struct jbd_run *l_runs;
	size_t l_nruns;
	uint32_t l_mapped;		/* log blocks the inode maps */
	uint32_t l_ino;
	uint8_t *l_sb;			/* the superblock block as read */
	int l_sb_v1;
	uint32_t l_maxlen, l_first, l_last;	/* the log ring is [l_first, l_last) */
	uint32_t l_compat, l_incompat, l_rocompat;
	uint32_t l_sequence, l_start;
	int32_t l_errno;
	uint32_t l_seed;		/* crc32c of the uuid */
	unsigned l_tag_bytes;
	int l_sb_csum_ok;		/* -1: no checksum */
	uint64_t l_fs_blocks;
};

int jbd_log_open(struct blk_dev *dev, ext2_filsys fs, FILE *msg, struct jbd_log **out);
void jbd_log_close(struct jbd_log *log);
int jbd_log_read(struct jbd_log *log, uint32_t lblk, void *buf);
int jbd_log_bmap(const struct jbd_log *log, uint32_t lblk, uint64_t *pblk);
/* Writes the superblock fields back (with its checksum) to log block 0. */
int jbd_log_write_sb(struct jbd_log *log);
void jbd_log_set_tag_bytes(struct jbd_log *log);

static inline uint32_t jbd_log_wrap(const struct jbd_log *log, uint32_t blk)
{
	if (blk >= log->l_last)
		blk -= log->l_last - log->l_first;
	return blk;
}

static inline int jbd_has_csum(const struct jbd_log *log)
{
	return !!(log->l_incompat & (JBD_INCOMPAT_CSUM_V2 | JBD_INCOMPAT_CSUM_V3));
}

uint32_t jbd_crc32c(uint32_t seed, const void *buf, size_t len);
/* Descriptor and revoke blocks: the checksum in the last four bytes. */
int jbd_tail_csum_ok(const struct jbd_log *log, const void *buf);
void jbd_tail_csum_set(const struct jbd_log *log, void *buf);
int jbd_commit_csum_ok(const struct jbd_log *log, const void *buf);
/* A commit block torn after its header still checks over the header alone. */
int jbd_commit_csum_partial_ok(const struct jbd_log *log, const void *buf);
void jbd_commit_csum_set(const struct jbd_log *log, void *buf);
uint32_t jbd_block_csum(const struct jbd_log *log, uint32_t tid, const void *data);

/* One descriptor tag, decoded. */
struct jbd_tag {
	uint64_t tg_blk;
	unsigned tg_flags;
	uint32_t tg_csum;
};
/* Decodes the tag at *off and advances past it (and its uuid); returns 0 when
 * no tag fits before the end (or the tail).  The caller stops after LAST_TAG. */
int jbd_tag_next(const struct jbd_log *log, const void *buf, unsigned *off,
		 struct jbd_tag *tag);
int jbd_tag_csum_ok(const struct jbd_log *log, const struct jbd_tag *tag,
		    uint32_t tid, const void *data);

/* The fs superblock (1024 bytes at byte 1024), with its checksum. */
int jbd_fs_sb_read(struct blk_dev *dev, void *sb);
int jbd_fs_sb_write(struct blk_dev *dev, void *sb);
void jbd_fs_sb_csum_set(void *sb);

/* ---- block sets (bufset.c) ---- */

struct jbd_buf {
	uint64_t b_blk;
	struct jbd_buf *b_hnext;
	uint8_t b_data[];
};

struct jbd_bufset {
	struct jbd_buf **bs_hash;
	size_t bs_nbuckets, bs_count;
	unsigned bs_bsize;
};

void jbd_bufset_init(struct jbd_bufset *s, unsigned bsize);
void jbd_bufset_free(struct jbd_bufset *s);
struct jbd_buf *jbd_bufset_get(const struct jbd_bufset *s, uint64_t blk);
/* Finds or adds @blk; a new buffer's data is undefined (*created = 1). */
int jbd_bufset_add(struct jbd_bufset *s, uint64_t blk, struct jbd_buf **out, int *created);
int jbd_bufset_del(struct jbd_bufset *s, uint64_t blk);
/* Moves every buffer of @src into @dst, replacing older copies. */
int jbd_bufset_move(struct jbd_bufset *dst, struct jbd_bufset *src);
/* An array of the buffers sorted by block (caller frees the array only). */
int jbd_bufset_sorted(const struct jbd_bufset *s, struct jbd_buf ***out);

struct jbd_rev {
	uint64_t rv_blk;
	uint32_t rv_tid;
	struct jbd_rev *rv_next;
};

struct jbd_revtab {
	struct jbd_rev **rt_hash;
	size_t rt_nbuckets, rt_count;
};

void jbd_revtab_init(struct jbd_revtab *rt);
void jbd_revtab_free(struct jbd_revtab *rt);
/* Records @blk revoked by @tid, keeping the newest tid. */
int jbd_revtab_set(struct jbd_revtab *rt, uint64_t blk, uint32_t tid);
int jbd_revtab_get(const struct jbd_revtab *rt, uint64_t blk, uint32_t *tid);
void jbd_revtab_del(struct jbd_revtab *rt, uint64_t blk);
int jbd_revtab_sorted(const struct jbd_revtab *rt, uint64_t **out);

/* ---- transactions and the journal (txn.c, commit.c, checkpoint.c, journal.c) ---- */

enum jbd_txn_state {
	T_RUNNING,		/* takes writes */
	T_COMMITTING,		/* being written to the log */
	T_COMMITTED,		/* durable; its blocks moved to j_checkpoint */
};

struct jbd_txn {
	uint32_t t_tid;
	enum jbd_txn_state t_state;
	struct jbd_bufset t_bufs;
	struct jbd_revtab t_revokes;
	unsigned t_credits;
	uint64_t t_start_ms;
};

struct jbd_handle {
	int h_depth;		/* nesting of open handles */
	unsigned h_credits;	/* credits asked by the open handles */
};

enum jbd_state {
	J_PASSTHROUGH,		/* not live: devices pass I/O to the image */
	J_LIVE,			/* metadata writes go to the running transaction */
	J_ABORTED,		/* a commit failed: writes fail with -EROFS */
};

struct jbd_journal {
	enum jbd_state j_state;
	int j_err;			/* the error that aborted the journal */
	struct blk_dev *j_image;	/* borrowed */
	struct blk_dev *j_meta_dev;	/* the device libext2fs writes through */
	struct blk_dev *j_data_dev;	/* file data (disk_write_data); owned */
	struct jbd_log *j_log;
	struct jbd_options j_opts;
	FILE *j_msg;

	struct jbd_txn *j_running;
	struct jbd_bufset j_checkpoint;	/* committed blocks not yet home */
	struct jbd_handle j_handle;
	int j_in_commit;
	int j_commit_requested;		/* a commit asked for inside a handle */
	jbd_commit_cb j_commit_cb;	/* after each commit (jbd_set_commit_callback) */
	void *j_commit_cb_arg;

	uint32_t j_tail;		/* first log block of the oldest transaction */
	uint32_t j_tail_tid;
	uint32_t j_head;		/* next log block to write */
	uint32_t j_used;		/* log blocks from tail to head */
	uint32_t j_capacity;		/* l_last - l_first */
	uint32_t j_max_txn_blocks;	/* pressure: commit beyond this */

	uint64_t j_sb_blk;		/* fs block holding the fs superblock */
	unsigned j_sb_off;		/* its offset in that block */
	int j_fs_csum;			/* metadata_csum */

	uint8_t *j_scratch;		/* one block, for comparisons */
	int j_refs;			/* the meta device + jbd_attach */
	struct jbd_stats j_stats;
};

/* journal.c */
int jbd_invariants_hold(const struct jbd_journal *j);
uint64_t jbd_now_ms(struct jbd_journal *j);
void jbd_abort(struct jbd_journal *j, int err, const char *what);
void jbd_put(struct jbd_journal *j);

/* txn.c */
int jbd_txn_new(struct jbd_journal *j, uint32_t tid);
void jbd_txn_free(struct jbd_txn *t);
/* Copies @len bytes at @in into the running transaction's copy of @blk
 * (reading the rest of the block through the journal first). */
int jbd_txn_write(struct jbd_journal *j, uint64_t blk, unsigned in, const void *buf,
		  unsigned len);
/* The newest copy of @blk the journal holds, or NULL. */
const uint8_t *jbd_lookup(const struct jbd_journal *j, uint64_t blk);
int jbd_txn_empty(const struct jbd_txn *t);

/* commit.c */
int jbd_commit_running(struct jbd_journal *j);

/* checkpoint.c */
int jbd_checkpoint_all(struct jbd_journal *j, uint32_t next_tid);
int jbd_mark_empty(struct jbd_journal *j);

/* jdev.c */
int jbd_meta_read(struct jbd_journal *j, uint64_t off, void *buf, size_t len);
int jbd_meta_write(struct jbd_journal *j, uint64_t off, const void *buf, size_t len);
struct jbd_journal *jbd_from_dev(struct blk_dev *meta);

#endif /* E4_JBD_INTERNAL_H */
