/*
 * inline/ internals: the per-inode inline state and the in-inode ("ibody")
 * extended-attribute area, which holds system.data.  Shared by the inline/ sources only.
 */
#ifndef E4_INLINE_INTERNAL_H
#define E4_INLINE_INTERNAL_H

#include <stdint.h>
#include "inline/inline.h"

#define INL_MIN_SIZE		60	/* EXT4_MIN_INLINE_DATA_SIZE: all of i_block */
#define INL_DOTDOT_SIZE		4	/* inline dir: parent inode number first */
#define INL_XATTR_SYSTEM	7	/* EXT4_XATTR_INDEX_SYSTEM */
#define INL_XATTR_NAME		"data"
#define INL_XATTR_NAME_LEN	4
#define INL_ENTRY_SIZE		16	/* struct ext2_ext_attr_entry without name */

/*
 * The in-memory inline state of one inode, kept in disk_inode->i_private.
 * Plain data (free() releases it).  The three pieces of state of inline.c's
 * header comment: may_inline, the on-disk flag (in raw.i_flags, not here),
 * and the cached location/size of system.data (inline_off/inline_size).
 */
struct inl_info {
	unsigned loaded : 1;	/* inline_off/size/has_xattr read from disk */
	unsigned may_inline : 1;/* EXT4_STATE_MAY_INLINE_DATA */
	unsigned has_xattr : 1;	/* EXT4_STATE_XATTR: ibody header has the magic */
	uint16_t inline_off;	/* i_inline_off: system.data entry, bytes from
				 * the start of the inode; 0 = none */
	uint32_t inline_size;	/* i_inline_size: 60 + system.data value length */
};

/*
 * A whole on-disk inode (inode_size bytes) whose first part is the in-memory
 * raw inode: what the kernel calls the inode location (iloc).
 */
struct inl_iloc {
	uint8_t *buf;
	unsigned isize;		/* s_inode_size */
	unsigned ibody;		/* 128 + i_extra_isize: the ibody header */
};

/* What a walk over the ibody entries found. */
struct inl_ibody_scan {
	int has_magic;
	unsigned end_off;	/* the 4-byte end marker, from IFIRST */
	unsigned min_offs;	/* lowest value offset, from IFIRST */
	unsigned data_off;	/* system.data entry from IFIRST; ~0u if absent */
	uint32_t data_len;	/* its value length */
	unsigned data_voff;	/* its value offset from IFIRST */
};

#define INL_NONE (~0u)

static inline uint32_t inl_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* ---- xattr.c: the ibody area, laid out as ext4_xattr_set_entry lays it ---- */
/* Bytes after the ibody header: the entries and values region. */
static inline unsigned inl_ibody_room(const struct inl_iloc *loc)
{
	return loc->isize - loc->ibody - 4;
}
static inline uint8_t *inl_ifirst(const struct inl_iloc *loc)
{
	return loc->buf + loc->ibody + 4;
}
/* Walks and validates the entries; *why names the defect on -EUCLEAN. */
int inl_ibody_scan(const struct inl_iloc *loc, struct inl_ibody_scan *scan,
		   const char **why);
/* get_max_inline_xattr_value_size: room for the system.data value. */
unsigned inl_ibody_max_value(const struct inl_iloc *loc,
			     const struct inl_ibody_scan *scan);
/* Sets the system.data value to @len bytes, keeping the old prefix and zero
 * filling the rest; creates the entry at the end if absent.  -ENOSPC. */
int inl_ibody_set_data(struct inl_iloc *loc, uint32_t len);
/* Removes system.data (entry and value); clears the magic if none is left. */
int inl_ibody_remove_data(struct inl_iloc *loc);

/* ---- inline.c ---- */
struct inl_info *inl_info_get(struct disk_inode *inode, int *err);
int inl_iloc_get(struct disk_inode *inode, struct inl_iloc *loc);
int inl_iloc_put(struct disk_inode *inode, struct inl_iloc *loc);	/* writes */
void inl_iloc_release(struct inl_iloc *loc);
/* Copies [pos, pos+len) of the inline area (i_block then value) into @dst. */
void inl_copy_out(const struct inl_iloc *loc, const struct inl_ibody_scan *scan,
		  uint8_t *dst, unsigned pos, unsigned len);
void inl_copy_in(struct inl_iloc *loc, const struct inl_ibody_scan *scan,
		 const uint8_t *src, unsigned pos, unsigned len);
int inl_corrupt(struct disk_inode *inode, const char *what);

/* ---- dir.c ---- */
/* The block an inline dir of @len bytes converts to (ext4_finish_convert_inline_dir). */
int inl_dir_build_block(struct disk_inode *dir, const uint8_t *inl, unsigned len,
			uint8_t *blk);
/* Inline state bookkeeping shared with dir.c. */
int inl_prepare_inline(struct disk_inode *inode, struct inl_info *info, unsigned len);
int inl_destroy_inline(struct disk_inode *inode, struct inl_info *info);
int inl_scan_loc(struct disk_inode *inode, struct inl_iloc *loc,
		 struct inl_ibody_scan *scan);

#endif /* E4_INLINE_INTERNAL_H */
