/*
 * libfs/check extended attributes: the in-inode area after i_extra_isize and
 * the shared xattr blocks (magic, h_blocks, checksum, entries, values, hashes,
 * reference counts).  Every entry is bounds-checked against its area before
 * it is read; entry walks stop at the end of the area.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "libfs/check/chk_internal.h"

#define XATTR_INDEX_SYSTEM	7
#define XATTR_END_LEN		4	/* the zero word ending the entries */

struct xa_area {
	const uint8_t *first;		/* first entry */
	const uint8_t *end;		/* end of the area */
	const uint8_t *vbase;		/* what e_value_offs counts from */
	int in_inode;
};

struct xa_range { uint32_t start, end; };

static int ranges_overlap(const struct xa_range *r, int n, struct xa_range x)
{
	for (int i = 0; i < n; i++)
		if (x.start < r[i].end && r[i].start < x.end)
			return 1;
	return 0;
}

static int hash_ok(const struct ext2_ext_attr_entry *e, const uint8_t *value)
{
	/* the hash functions read the name that follows the entry */
	struct ext2_ext_attr_entry *ent = (struct ext2_ext_attr_entry *)e;

	if (e->e_value_inum)
		return 1;	/* an EA inode's hash covers the inode, not checked here */
	return ext2fs_ext_attr_hash_entry(ent, (void *)value) == e->e_hash ||
	       ext2fs_ext_attr_hash_entry_signed(ent, (void *)value) == e->e_hash;
}

/* One entry; returns its value range within the area, or -EUCLEAN. */
static int check_entry(struct chk_ctx *c, uint32_t ino, const struct xa_area *a,
		       const struct ext2_ext_attr_entry *e, struct xa_range *val, int *ea_inode)
{
	const uint8_t *v = a->vbase + e->e_value_offs;

	val->start = val->end = 0;
	if (e->e_value_inum) {
		*ea_inode = 1;
		if (!ext2fs_has_feature_ea_inode(c->sb))
			chk_err_ino(c, ino, "XATTR_EA_INODE_NO_FEATURE",
				    "xattr value in inode %u but the ea_inode feature is off", e->e_value_inum);
		if (e->e_value_inum == ino || e->e_value_inum > c->ninodes || e->e_value_inum < c->first_ino ||
		    e->e_value_size == 0) {
			chk_err_ino(c, ino, "XATTR_BAD_EA_INODE", "xattr refers to bad EA inode %u (size %u)",
				    e->e_value_inum, e->e_value_size);
			return -EUCLEAN;
		}
		return 0;
	}
	if (e->e_value_size == 0)
		return 0;
	if (v < a->vbase || v > a->end || e->e_value_size > (size_t)(a->end - v)) {
		chk_err_ino(c, ino, "XATTR_BAD_VALUE", "xattr value at offset %u size %u is outside its area",
			    e->e_value_offs, e->e_value_size);
		return -EUCLEAN;
	}
	val->start = (uint32_t)(v - a->vbase);
	val->end = val->start + ((e->e_value_size + 3) & ~3U);
	if (e->e_hash && !hash_ok(e, v)) {
		chk_err_ino(c, ino, "XATTR_BAD_HASH", "xattr has a hash (%u) that does not match", e->e_hash);
		return -EUCLEAN;
	}
	if (!a->in_inode && !e->e_hash && !hash_ok(e, v))
		chk_err_ino(c, ino, "XATTR_BAD_HASH", "xattr block entry has no hash");
	return 0;
}

/* Walks the entries of @a; returns 0 or -EUCLEAN (reported). */
static int walk_entries(struct chk_ctx *c, uint32_t ino, const struct xa_area *a, int *ea_inode)
{
	struct xa_range vals[256];
	int nvals = 0;
	const uint8_t *p = a->first;
	uint32_t entries_end;

	while ((size_t)(a->end - p) >= XATTR_END_LEN && *(const uint32_t *)p != 0) {
		const struct ext2_ext_attr_entry *e = (const void *)p;
		struct xa_range r;

		if ((size_t)(a->end - p) < sizeof(*e) + XATTR_END_LEN ||
		    EXT2_EXT_ATTR_LEN(e->e_name_len) > (size_t)(a->end - p) - XATTR_END_LEN) {
			chk_err_ino(c, ino, "XATTR_BAD_ENTRY", "xattr entry runs past the end of its area");
			return -EUCLEAN;
		}
		if (check_entry(c, ino, a, e, &r, ea_inode))
			return -EUCLEAN;
		if (r.end > r.start) {
			if (ranges_overlap(vals, nvals, r) || nvals == 256) {
				chk_err_ino(c, ino, "XATTR_COLLISION", "xattr values overlap (allocation collision)");
				return -EUCLEAN;
			}
			vals[nvals++] = r;
		}
		p += EXT2_EXT_ATTR_LEN(e->e_name_len);
	}
	if ((size_t)(a->end - p) < XATTR_END_LEN && p != a->end) {
		chk_err_ino(c, ino, "XATTR_BAD_ENTRY", "xattr entries are not terminated");
		return -EUCLEAN;
	}
	entries_end = (uint32_t)(p - a->vbase) + (p < a->end ? XATTR_END_LEN : 0);
	for (int i = 0; i < nvals; i++) {
		if (vals[i].start < entries_end) {
			chk_err_ino(c, ino, "XATTR_COLLISION", "xattr value overlaps the entry table (allocation collision)");
			return -EUCLEAN;
		}
	}
	return 0;
}

/* The in-inode area: [128 + i_extra_isize, inode size), when it has the magic. */
static int ibody_area(struct chk_ctx *c, struct ext2_inode_large *in, struct xa_area *a)
{
	const uint8_t *raw = (const uint8_t *)in;
	unsigned start;

	if (c->isz <= EXT2_GOOD_OLD_INODE_SIZE)
		return -ENODATA;
	start = EXT2_GOOD_OLD_INODE_SIZE + in->i_extra_isize;
	if (in->i_extra_isize & 3 || start + XATTR_END_LEN > c->isz)
		return -EUCLEAN;
	if (*(const uint32_t *)(raw + start) != EXT2_EXT_ATTR_MAGIC)
		return -ENODATA;
	a->first = raw + start + 4;
	a->vbase = a->first;
	a->end = raw + c->isz;
	a->in_inode = 1;
	return 0;
}

static void check_extra_isize(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in)
{
	unsigned min = 4, max = c->isz - EXT2_GOOD_OLD_INODE_SIZE;

	if (c->isz <= EXT2_GOOD_OLD_INODE_SIZE || in->i_extra_isize == 0)
		return;
	if (in->i_extra_isize < min || in->i_extra_isize > max || (in->i_extra_isize & 3))
		chk_err_ino(c, ino, "INODE_EXTRA_ISIZE", "i_extra_isize %u is invalid", in->i_extra_isize);
}

static void check_encryption(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in,
			     uint64_t acl);

static int add_ea_ref(struct chk_ctx *c, uint32_t ino, uint64_t blk)
{
	if (c->nea == c->ea_cap) {
		size_t cap = c->ea_cap ? c->ea_cap * 2 : 256;
		struct chk_eablock *n = realloc(c->ea, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->ea = n;
		c->ea_cap = cap;
	}
	c->ea[c->nea].blk = blk;
	c->ea[c->nea].refs = 1;
	c->ea[c->nea].first_ino = ino;
	c->nea++;
	return 0;
}

void chk_xattrs(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in,
		struct chk_blocks *b)
{
	struct xa_area a;
	uint64_t acl = in->i_file_acl;

	check_extra_isize(c, ino, in);
	if (ibody_area(c, in, &a) == 0)
		walk_entries(c, ino, &a, &b->ea_inode_refs);
	if (ext2fs_has_feature_64bit(c->sb))
		acl |= (uint64_t)in->osd2.linux2.l_i_file_acl_high << 32;
	else if (in->osd2.linux2.l_i_file_acl_high)
		chk_err_ino(c, ino, "INODE_FILE_ACL_HIGH", "i_file_acl_hi is %u, should be zero",
			    in->osd2.linux2.l_i_file_acl_high);
	if (in->i_flags & EXT4_ENCRYPT_FL)
		check_encryption(c, ino, in, acl);
	if (!acl)
		return;
	if (!ext2fs_has_feature_xattr(c->sb)) {
		chk_err_ino(c, ino, "XATTR_BLOCK_NO_FEATURE", "xattr block %llu without the ext_attr feature",
			    (unsigned long long)acl);
		return;
	}
	if (!chk_block_valid(c, acl, 1)) {
		chk_err_ino(c, ino, "XATTR_BLOCK_ILLEGAL", "xattr block %llu is outside the file system",
			    (unsigned long long)acl);
		b->bad = 1;
		return;
	}
	b->nblocks++;
	add_ea_ref(c, ino, acl);
}

/* Finds the entry @index/@name in @a; returns its value length or -ENODATA. */
static int find_xattr(const struct xa_area *a, int index, const char *name, const uint8_t **val)
{
	size_t nlen = strlen(name);
	const uint8_t *p;

	for (p = a->first; (size_t)(a->end - p) >= sizeof(struct ext2_ext_attr_entry) + XATTR_END_LEN &&
	     *(const uint32_t *)p != 0;) {
		const struct ext2_ext_attr_entry *e = (const void *)p;

		if (EXT2_EXT_ATTR_LEN(e->e_name_len) > (size_t)(a->end - p))
			break;
		if (e->e_name_index == index && e->e_name_len == nlen &&
		    memcmp(p + sizeof(*e), name, nlen) == 0 && !e->e_value_inum) {
			const uint8_t *v = a->vbase + e->e_value_offs;

			if (v > a->end || e->e_value_size > (size_t)(a->end - v))
				return -EUCLEAN;
			*val = v;
			return (int)e->e_value_size;
		}
		p += EXT2_EXT_ATTR_LEN(e->e_name_len);
	}
	return -ENODATA;
}

#define XATTR_INDEX_ENCRYPTION	9
#define FSCRYPT_V1_SIZE		28
#define FSCRYPT_V2_SIZE		40

/* An encrypted inode needs its policy ("c" in the encryption index). */
static void check_encryption(struct chk_ctx *c, uint32_t ino, struct ext2_inode_large *in,
			     uint64_t acl)
{
	struct xa_area a;
	const uint8_t *v = NULL;
	uint8_t *buf = NULL;
	int len = -ENODATA;

	if (ibody_area(c, in, &a) == 0)
		len = find_xattr(&a, XATTR_INDEX_ENCRYPTION, "c", &v);
	if (len == -ENODATA && acl && chk_block_valid(c, acl, 1) && (buf = malloc(c->bs)) &&
	    chk_read_block(c, acl, buf) == 0 && *(uint32_t *)buf == EXT2_EXT_ATTR_MAGIC) {
		struct xa_area blk = { buf + sizeof(struct ext2_ext_attr_header), buf + c->bs, buf, 0 };

		len = find_xattr(&blk, XATTR_INDEX_ENCRYPTION, "c", &v);
	}
	if (len < 0)
		chk_err_ino(c, ino, "ENCRYPT_NO_POLICY", "encrypt flag set but no encryption xattr");
	else if (!((len == FSCRYPT_V1_SIZE && v[0] == 1) || (len == FSCRYPT_V2_SIZE && v[0] == 2)))
		chk_err_ino(c, ino, "ENCRYPT_BAD_POLICY", "encryption xattr is corrupt (size %d)", len);
	free(buf);
}

int chk_inline_data_xattr(struct chk_ctx *c, struct ext2_inode_large *in,
			  const uint8_t **val)
{
	struct xa_area a;

	if (ibody_area(c, in, &a))
		return -ENODATA;
	return find_xattr(&a, XATTR_INDEX_SYSTEM, "data", val);
}

static int cmp_ea(const void *x, const void *y)
{
	const struct chk_eablock *a = x, *b = y;

	return a->blk < b->blk ? -1 : a->blk > b->blk;
}

static void check_ea_block(struct chk_ctx *c, const struct chk_eablock *e, uint8_t *buf)
{
	const struct ext2_ext_attr_header *h = (const void *)buf;
	struct xa_area a = { buf + sizeof(*h), buf + c->bs, buf, 0 };
	int ea_inode = 0;

	if (chk_claim(c, e->first_ino, e->blk, 1, "xattr") == -EEXIST)
		return;
	if (chk_read_block(c, e->blk, buf))
		return;
	if (h->h_magic != EXT2_EXT_ATTR_MAGIC && h->h_magic != EXT2_EXT_ATTR_MAGIC_v1) {
		chk_err_blk(c, e->blk, "XATTR_BLOCK_BAD_MAGIC", "xattr block of inode %u has bad magic 0x%08x",
			    e->first_ino, h->h_magic);
		return;
	}
	if (h->h_blocks != 1)
		chk_err_blk(c, e->blk, "XATTR_BLOCK_BAD_HEADER", "xattr block says h_blocks %u", h->h_blocks);
	if (c->csum && !ext2fs_ext_attr_block_csum_verify(c->fs, e->first_ino, e->blk, (void *)h))
		chk_err_blk(c, e->blk, "XATTR_BLOCK_CSUM", "xattr block checksum does not match (inode %u)",
			    e->first_ino);
	if (walk_entries(c, e->first_ino, &a, &ea_inode))
		return;
	if (h->h_refcount != e->refs)
		chk_err_blk(c, e->blk, "XATTR_BLOCK_REFCOUNT", "xattr block reference count is %u, should be %u",
			    h->h_refcount, e->refs);
}

/* After the inode scan: each shared xattr block once, with its reference count. */
void chk_xattr_blocks(struct chk_ctx *c)
{
	uint8_t *buf = malloc(c->bs);
	size_t i, j;

	if (!buf)
		return;
	if (c->nea)
		qsort(c->ea, c->nea, sizeof(*c->ea), cmp_ea);
	for (i = 0; i < c->nea; i = j) {
		struct chk_eablock e = c->ea[i];

		for (j = i + 1; j < c->nea && c->ea[j].blk == e.blk; j++)
			e.refs++;
		check_ea_block(c, &e, buf);
	}
	free(buf);
}
