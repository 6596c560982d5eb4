/*
 * libfs/aops/iomap.h - the iomap-style buffered write path, beside the buffer-head
 * model of aops.h: iomap_begin maps or allocates the whole requested range (new blocks
 * flagged IOMAP_F_NEW), iomap_write_iter copies page by page with an atomic copy after
 * fault_in_iov_iter_readable, __iomap_write_end refuses a short copy into a !uptodate
 * page, iomap_write_failed truncates the page cache past the write, and gfs2's
 * iomap_end punches the new blocks a short write did not use.  gfs2's buffered write
 * (pagefault_disable around the iomap write, fault in and retry) drives it.
 *
 * The path is generic over its host: the page cache, block map and user source are
 * reached through struct iomap_host_ops / iomap_source_ops (libfs/study/gfs2.c is
 * the host the studies run on).  Returns 0 or -errno unless said otherwise.
 */
#ifndef E4_AOPS_IOMAP_H
#define E4_AOPS_IOMAP_H

#include <stddef.h>
#include <stdint.h>

/* ---- policies: each value cites the kernel commit it models ---- */

/* gfs2_iomap_end: where the punch of unused new blocks ends after a short write. */
enum iomap_punch_end {
	IOMAP_PUNCH_GFS2,	/* 64bc06bb32ee "gfs2: iomap buffered write support":
				 * (pos + length) rounded DOWN to a block: the last
				 * partly requested new block is never freed */
	IOMAP_PUNCH_ALLOC_END,	/* d031a8866e70 "gfs2: Fix filesystem block deallocation
				 * for short writes": iomap->offset + iomap->length */
	IOMAP_PUNCH_NR
};

/* iomap_write_failed: the inclusive end handed to truncate_pagecache_range. */
enum iomap_trunc_end {
	IOMAP_TRUNC_POS_LEN,	/* ae259a9c8593 "fs: introduce iomap infrastructure":
				 * pos + len, one byte past the failed write */
	IOMAP_TRUNC_POS_LEN_1,	/* b71450e2cc4b "iomap: iomap_write_failed fix":
				 * pos + len - 1, the last byte of the failed write */
	IOMAP_TRUNC_NR
};

/* How iomap_write_iter brings the source in before write_begin. */
enum iomap_prefault {
	IOMAP_PREFAULT_PART,	/* 00bfe02f4796 "gfs2: Fix mmap + page fault deadlocks for
				 * buffered I/O": gfs2 runs the write with page faults
				 * disabled, so fault_in_iov_iter_readable only finds what is
				 * resident, and the chunk goes ahead if any of it is */
	IOMAP_PREFAULT_WHOLE,	/* before 00bfe02f4796: page faults enabled, the whole chunk
				 * is faulted in before the copy */
	IOMAP_PREFAULT_TRIM,	/* Linus's test patch in seed 001 (faults still disabled):
				 * bytes -= fault_in_iov_iter_readable(i, bytes); no bytes
				 * left is -EFAULT */
	IOMAP_PREFAULT_NR
};

struct iomap_policy {
	enum iomap_punch_end punch;	/* key iomap_punch=gfs2|alloc_end */
	enum iomap_trunc_end trunc;	/* key iomap_truncate=pos_len|pos_len_1 */
	enum iomap_prefault prefault;	/* key prefault=part|whole|trim */
};

/* Sets @key=@val: 0, -ENOENT (not an iomap key), -EINVAL (not one of its values). */
int iomap_policy_set(struct iomap_policy *p, const char *key, const char *val);
/* "a|b|c": the values of @key, for error messages ("" if not an iomap key). */
const char *iomap_policy_values(const char *key);
/* Appends ",iomap_punch=...,iomap_truncate=...,prefault=..." to @buf (size @size);
 * returns the characters written, as snprintf. */
int iomap_policy_str(const struct iomap_policy *p, char *buf, size_t size);

/* ---- the mapping ---- */

#define IOMAP_HOLE	0
#define IOMAP_MAPPED	1
#define IOMAP_F_NEW	0x01u	/* blocks allocated by this iomap_begin: disk bytes stale */

struct iomap {
	uint64_t offset, length;	/* bytes, block aligned */
	uint64_t addr;			/* IOMAP_MAPPED: physical block of @offset */
	int type;			/* IOMAP_HOLE, IOMAP_MAPPED */
	unsigned flags;			/* IOMAP_F_* */
};

/*
 * The host: one file's page cache and block map.  @page is the host's page, locked
 * between write_begin and unlock_put.  Blocks are numbered within the page
 * (0 .. PAGE/blocksize - 1).
 */
struct iomap_host_ops {
	uint64_t (*i_size)(void *host);
	void (*set_i_size)(void *host, uint64_t size);
	unsigned (*blocksize)(void *host);
	/* gfs2_iomap_begin for a write at @pos of @len bytes: the extent at @pos,
	 * mapped, or a hole up to the next mapped block (at most the requested range
	 * rounded up to a block) that it allocates, flagged IOMAP_F_NEW. */
	int (*iomap_begin)(void *host, uint64_t pos, uint64_t len, struct iomap *im);
	/* punch_hole: frees the blocks of [start, end) (block aligned). */
	void (*punch_hole)(void *host, uint64_t start, uint64_t end);
	/* truncate_pagecache_range: @lend is inclusive.  Cached pages wholly inside
	 * are dropped, the bytes of partial pages inside the range zeroed. */
	void (*truncate_pagecache_range)(void *host, uint64_t lstart, uint64_t lend);
	/* Finds or creates the page of @pos and locks it (a schedule point). */
	int (*grab_page)(void *host, uint64_t pos, void **page);
	void (*unlock_put)(void *host, void *page);
	uint8_t *(*page_data)(void *page);
	int (*page_uptodate)(void *page);
	int (*block_uptodate)(void *page, unsigned blk);
	/* Marks @blk uptodate (the page too once every block is). */
	void (*set_block_uptodate)(void *host, void *page, unsigned blk);
	/* Reads block @blk of the page from the disk block @im maps it to. */
	void (*read_block)(void *host, void *page, unsigned blk, const struct iomap *im);
	void (*mark_dirty)(void *host, void *page, unsigned from, unsigned to);
};

/* The user source of the write: byte @off of the write's source. */
struct iomap_source_ops {
	/* copy_page_from_iter_atomic: stops at a page that is not present; returns
	 * the bytes copied. */
	size_t (*copy_atomic)(void *src, uint64_t off, void *dst, size_t n);
	/* fault_in_iov_iter_readable: returns the bytes NOT faulted in.  With page
	 * faults disabled it only finds what is resident. */
	size_t (*fault_in)(void *src, uint64_t off, size_t n);
	void (*pagefault_disable)(void);
	void (*pagefault_enable)(void);
};

struct iomap_write {
	const struct iomap_host_ops *h;
	void *host;
	const struct iomap_source_ops *s;
	void *src;
	struct iomap_policy pol;
	unsigned page_size;
};

/*
 * gfs2_file_buffered_write: the iomap write of [pos, pos + len) with page faults
 * disabled (unless the prefault policy is WHOLE); after a short write the source is
 * faulted in with faults enabled and the rest retried.  The caller holds i_rwsem.
 * Returns the bytes written, or -errno if none were.
 */
long gfs2_file_buffered_write(const struct iomap_write *iw, uint64_t pos, uint64_t len);

/* iomap_file_buffered_write: one pass over [pos, pos + len), iomap_begin /
 * iomap_write_iter / gfs2_iomap_end per extent; source byte 0 is file byte @pos of
 * the original write, so @src_off says where this pass starts in the source. */
long iomap_file_buffered_write(const struct iomap_write *iw, uint64_t pos, uint64_t len,
			       uint64_t src_off);

/* ---- the real engine as host (iomap_engine.c) ---- */

struct disk_inode;
/*
 * The gfs2 iomap write of [pos, pos + len) on an e4lab inode: libfs/disk's block map
 * (disk_map_blocks with create, disk_punch) and libfs/pcache pages, whose buffer
 * states stand for iomap's per-block uptodate bits.  Source byte 0 is file byte
 * @pos.  The caller holds the inode (our i_rwsem) and a journal handle.  Returns the
 * bytes written, or -errno if none were.
 */
long aops_iomap_write(struct disk_inode *inode, uint64_t pos, uint64_t len,
		      const struct iomap_policy *pol, const struct iomap_source_ops *s,
		      void *src);

#endif /* E4_AOPS_IOMAP_H */
