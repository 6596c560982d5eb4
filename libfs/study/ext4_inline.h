/*
 * libfs/study/ext4_inline.h - ext4's inline-data write path and page_mkwrite as the kernel
 * runs them, for the studies of seed 004 (studies/ext4-inline-*.e4s): the three
 * pieces of inline state kept apart, ext4's locks, and the page_mkwrite policies.
 * Runs on libfs/study's world (world.h embeds struct e4i_inode in each file).
 */
#ifndef E4_STUDY_EXT4_INLINE_H
#define E4_STUDY_EXT4_INLINE_H

#include <stdint.h>
#include <sys/types.h>

#include "libfs/task/task.h"

#define E4I_MIN_INLINE 60u	/* i_block */
#define E4I_MAX_INLINE 100u	/* ext4_get_max_inline_size, 256-byte inodes */
#define E4I_PAGES 4

/*
 * The inline state of one inode, three pieces the kernel keeps apart and this model
 * keeps apart too (the bugs live in their disagreement):
 *   may_inline    EXT4_STATE_MAY_INLINE_DATA, in memory: write() may take the inline
 *                 path (tested by ext4_da_write_begin and ext4_da_write_end);
 *   inline_flag   EXT4_INODE_INLINE_DATA, on disk: ext4_has_inline_data();
 *   inline_size   EXT4_I(inode)->i_inline_size, cached: the bytes the inode can
 *                 hold now (BUG_ON(pos + len > i_inline_size) in the inline write).
 * Locks: xattr_sem (EXT4_I->xattr_sem), i_data_sem, invalidate_lock
 * (mapping->invalidate_lock); i_rwsem (inode_lock) and the folio locks are the
 * study file's.  bufs[i]: folio i has buffer heads (folio_buffers() != NULL).
 */
struct e4i_inode {
	int may_inline, inline_flag;
	unsigned inline_size;
	uint8_t idata[E4I_MAX_INLINE];
	int bufs[E4I_PAGES];
	struct lock_rwsem xattr_sem, i_data_sem, invalidate_lock;
	/* the proposed fix's lock (inline=one_lock): write() holds it for read from
	 * write_begin's MAY_INLINE test to write_end's, conversion for write; ordered
	 * above the jbd2 handle and xattr_sem, below i_rwsem and mmap_lock */
	struct lock_rwsem i_inline_rwsem;
};

struct study_world;
struct w_file;
struct w_src;
struct study_file;
struct mm_file_ops;

/* "may_inline=1 INLINE_DATA=1 i_inline_size=60": the three pieces side by side. */
const char *e4i_state_str(const struct e4i_inode *ei, char *buf, size_t size);
void e4i_init_locks(struct e4i_inode *ei);
/* Makes @f an inline file holding @sf's bytes (build time). */
void e4i_build(struct study_world *w, struct w_file *f, const struct study_file *sf);
/* What @f holds now: the page cache over the inline area or the blocks. */
void e4i_contents(struct study_world *w, struct w_file *f, uint8_t *buf);

/* write(2) through ext4_da_write_begin/ext4_da_write_end; the caller holds i_rwsem.
 * Returns bytes or -errno. */
long e4i_write(struct study_world *w, struct w_file *f, uint64_t pos, uint64_t len,
	       const struct w_src *s);
/* fsync: ext4_writepages of every dirty folio, then the durability check.  Returns 0,
 * -errno; a dirty folio of an inline inode is the BUG of 7b4cc9787fe35b. */
int e4i_fsync(struct study_world *w, struct w_file *f);
/* ftruncate growing or shrinking; fallocate(0) of [off, off + len). */
int e4i_truncate(struct study_world *w, struct w_file *f, uint64_t size);
int e4i_fallocate(struct study_world *w, struct w_file *f, uint64_t off, uint64_t len);

/* The file side of shared mappings of inline-model files (ext4_file_mmap,
 * filemap_fault, ext4_page_mkwrite under the run's inline= policy). */
extern const struct mm_file_ops e4i_file_ops;

#endif /* E4_STUDY_EXT4_INLINE_H */
