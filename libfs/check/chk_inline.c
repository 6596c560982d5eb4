/*
 * libfs/check inline data: an INLINE_DATA inode keeps its first 60 bytes in
 * i_block and the rest in the system.data xattr, which must exist even when
 * empty.  Not with EXTENTS; a directory's size is i_block plus the xattr value.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "libfs/check/chk_internal.h"

#define INLINE_IBLOCK_SIZE	60	/* sizeof(i_block) */

/* The directory pass parses inline directories from these copies. */
static void keep_inline_dir(struct chk_ctx *c, uint32_t ino, const struct ext2_inode_large *in)
{
	if (c->ninl == c->inl_cap) {
		size_t cap = c->inl_cap ? c->inl_cap * 2 : 64;
		uint8_t *raw = realloc(c->inl, cap * c->isz);
		uint32_t *nums;

		if (!raw)
			return;
		c->inl = raw;
		nums = realloc(c->inl_ino, cap * sizeof(*nums));
		if (!nums)
			return;
		c->inl_ino = nums;
		c->inl_cap = cap;
	}
	memcpy(c->inl + c->ninl * c->isz, in, c->isz);
	c->inl_ino[c->ninl++] = ino;
	c->ino[ino].state |= CHK_I_INLINE;
}

void chk_inline(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in,
		struct chk_blocks *b)
{
	const uint8_t *val;
	uint64_t size = EXT2_I_SIZE(in);
	int vlen;

	b->bad = 1;		/* no block map: skip the block-based size checks */
	if (!ext2fs_has_feature_inline_data(c->sb)) {
		chk_err_ino(c, ino, "INLINE_NO_FEATURE", "inline data flag set but the inline_data feature is off");
		return;
	}
	if (in->i_flags & EXT4_EXTENTS_FL) {
		chk_err_ino(c, ino, "INLINE_AND_EXTENTS", "both INLINE_DATA and EXTENTS flags are set");
		return;
	}
	vlen = chk_inline_data_xattr(c, in, &val);
	if (vlen < 0) {
		chk_err_ino(c, ino, "INLINE_NO_XATTR", "inline data flag set but the system.data xattr is %s",
			    vlen == -ENODATA ? "missing" : "corrupt");
		return;
	}
	/* a regular file may be longer than its inline data: a sparse tail */
	if (LINUX_S_ISDIR(in->i_mode) && size != (uint64_t)INLINE_IBLOCK_SIZE + vlen)
		chk_err_ino(c, ino, "INLINE_DIR_SIZE", "inline directory i_size %llu, should be %d",
			    (unsigned long long)size, INLINE_IBLOCK_SIZE + vlen);
	if (LINUX_S_ISDIR(in->i_mode))
		keep_inline_dir(c, ino, in);
}
