/*
 * libfs/check hashed (htree) directories: the index in block 0 and the
 * interior nodes give each leaf block a hash range; every leaf must be named
 * once and hold only names hashing into its range.  Called by the directory
 * pass block by block for one directory at a time; entry counts are bounded
 * by each node's limit and block numbers by the directory's size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "libfs/check/chk_internal.h"

struct htree_blk {
	uint32_t lo, hi;		/* range from the index; hi inclusive */
	uint32_t min, max;		/* hashes of the names seen in the leaf */
	uint8_t refs, is_node, seen, has_names;
};

struct chk_htree {
	struct chk_ctx *c;
	uint32_t ino;
	int version;			/* hash to use, -1: do not check names */
	uint32_t nblk;			/* blocks in the directory (by i_size) */
	struct htree_blk *b;
	int bad;
};

static void mark_ref(struct chk_htree *h, uint32_t lblk, uint32_t lo, uint32_t hi, int node)
{
	struct htree_blk *b;

	if (lblk == 0 || lblk >= h->nblk) {
		chk_err_ino(h->c, h->ino, "HTREE_BAD_BLOCK", "htree index names block #%u, outside the directory",
			    lblk);
		h->bad = 1;
		return;
	}
	b = &h->b[lblk];
	if (b->refs++) {
		chk_err_ino(h->c, h->ino, "HTREE_BLOCK_TWICE", "htree block #%u is referenced twice", lblk);
		h->bad = 1;
		return;
	}
	b->lo = lo;
	b->hi = hi;
	b->is_node = node;
}

/* Entries at @ent (count/limit in the first slot) covering [lo, hi]. */
static void parse_index(struct chk_htree *h, const uint8_t *ent, size_t room, uint32_t lo,
			uint32_t hi, int child_is_node)
{
	const struct ext2_dx_countlimit *cl = (const void *)ent;
	const struct ext2_dx_entry *e = (const void *)ent;
	unsigned count = cl->count;

	if (count == 0 || count > cl->limit || (size_t)count * 8 > room) {
		chk_err_ino(h->c, h->ino, "HTREE_BAD_LIMIT", "htree node count %u, limit %u", count, cl->limit);
		h->bad = 1;
		return;
	}
	for (unsigned i = 0; i < count; i++) {
		uint32_t elo = i ? e[i].hash : lo;
		uint32_t ehi = i + 1 < count ? e[i + 1].hash : hi;

		if (i && e[i].hash < (i == 1 ? lo : e[i - 1].hash)) {	/* e[0].hash is count/limit */
			chk_err_ino(h->c, h->ino, "HTREE_HASH_ORDER", "htree index hashes are out of order");
			h->bad = 1;
			return;
		}
		mark_ref(h, e[i].block, elo, ehi, child_is_node);
	}
}

struct chk_htree *chk_htree_begin(struct chk_ctx *c, uint32_t ino, uint64_t nblk,
				  const uint8_t *root)
{
	const struct ext2_dx_root_info *ri = (const void *)(root + 24);
	struct chk_htree *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	if (nblk > (1U << 24))
		nblk = 1U << 24;
	h->c = c;
	h->ino = ino;
	h->nblk = (uint32_t)nblk;
	h->b = calloc(nblk ? nblk : 1, sizeof(*h->b));
	if (!h->b) {
		free(h);
		return NULL;
	}
	h->version = ri->hash_version;
	if (h->version <= EXT2_HASH_TEA && (c->sb->s_flags & EXT2_FLAGS_UNSIGNED_HASH))
		h->version += EXT2_HASH_LEGACY_UNSIGNED;
	if (h->version > EXT2_HASH_TEA_UNSIGNED ||
	    (c->ino[ino].state & CHK_I_ENCRYPTED) || ext2fs_has_feature_casefold(c->sb))
		h->version = -1;	/* needs a charset or key: names not checked */
	parse_index(h, root + 32, c->bs - 32, 0, 0xffffffffU, ri->indirect_levels > 0);
	return h;
}

/* A block that is not the root: an interior node (when the index says so) or a leaf. */
int chk_htree_block(struct chk_htree *h, uint32_t lblk, const uint8_t *buf)
{
	struct htree_blk *b;

	if (!h || lblk >= h->nblk)
		return 0;
	b = &h->b[lblk];
	b->seen = 1;
	if (!b->is_node)
		return 0;
	parse_index(h, buf + 8, h->c->bs - 8, b->lo, b->hi, 0);
	return 1;
}

void chk_htree_name(struct chk_htree *h, uint32_t lblk, const char *name, int len)
{
	ext2_dirhash_t hash = 0, minor;
	struct htree_blk *b;

	if (!h || h->version < 0 || lblk >= h->nblk)
		return;
	if (ext2fs_dirhash2(h->version, name, len, NULL, 0, h->c->sb->s_hash_seed, &hash, &minor))
		return;
	b = &h->b[lblk];
	if (!b->has_names || hash < b->min)
		b->min = hash;
	if (!b->has_names || hash > b->max)
		b->max = hash;
	b->has_names = 1;
}

void chk_htree_end(struct chk_htree *h)
{
	if (!h)
		return;
	for (uint32_t l = 1; l < h->nblk && !h->bad; l++) {
		const struct htree_blk *b = &h->b[l];

		if (b->seen && !b->refs) {
			chk_err_ino(h->c, h->ino, "HTREE_BLOCK_UNREFERENCED", "htree block #%u is not referenced", l);
			break;
		}
		if (!b->refs || !b->seen || b->is_node || !b->has_names)
			continue;
		if (b->min < (b->lo & ~1U)) {
			chk_err_ino(h->c, h->ino, "HTREE_BAD_MIN_HASH", "htree block #%u has bad min hash", l);
			break;
		}
		if (b->max > (b->hi | 1U)) {
			chk_err_ino(h->c, h->ino, "HTREE_BAD_MAX_HASH", "htree block #%u has bad max hash", l);
			break;
		}
	}
	free(h->b);
	free(h);
}
