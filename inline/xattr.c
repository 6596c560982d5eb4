/*
 * inline/xattr.c - the in-inode xattr area ("ibody") of one inode buffer, where
 * system.data lives.  Pure functions on an inl_iloc: no I/O, no disk_* calls.
 * Layout as ext4 writes it: entries from IFIRST upward ending in a zero word,
 * values packed downward from the end of the inode, 4-byte padded, e_hash 0
 * for in-inode entries; a new entry goes last; freed space is zeroed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <ext2fs/ext2fs.h>

#include "inline/inline_internal.h"

/* Offsets inside struct ext2_ext_attr_entry (little endian on disk). */
#define E_NAME_LEN	0
#define E_NAME_INDEX	1
#define E_VALUE_OFFS	2
#define E_VALUE_INUM	4
#define E_VALUE_SIZE	8
#define E_HASH		12

#define XSIZE(n)	(((n) + 3u) & ~3u)		/* EXT4_XATTR_SIZE */
#define XLEN(namelen)	(((namelen) + 3u + INL_ENTRY_SIZE) & ~3u)	/* EXT4_XATTR_LEN */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static void put16(uint8_t *p, uint16_t v) { p[0] = v & 0xff; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; p[2] = (v >> 16) & 0xff; p[3] = v >> 24;
}

static int is_system_data(const uint8_t *e)
{
	return e[E_NAME_INDEX] == INL_XATTR_SYSTEM && e[E_NAME_LEN] == INL_XATTR_NAME_LEN &&
	       memcmp(e + INL_ENTRY_SIZE, INL_XATTR_NAME, INL_XATTR_NAME_LEN) == 0;
}

/* A value kept in the ibody (not in an EA inode) and not empty. */
static int has_local_value(const uint8_t *e)
{
	return get32(e + E_VALUE_INUM) == 0 && get32(e + E_VALUE_SIZE) != 0;
}

int inl_ibody_scan(const struct inl_iloc *loc, struct inl_ibody_scan *scan,
		   const char **why)
{
	const uint8_t *first = inl_ifirst(loc);
	unsigned room = inl_ibody_room(loc), off = 0;

	memset(scan, 0, sizeof(*scan));
	scan->min_offs = room;
	scan->data_off = INL_NONE;
	scan->has_magic = get32(loc->buf + loc->ibody) == EXT2_EXT_ATTR_MAGIC;
	if (!scan->has_magic)
		return 0;	/* no xattrs: the area is free */
	for (;;) {
		const uint8_t *e = first + off;

		if (off + 4 > room) {
			*why = "xattr entries run past the end of the inode";
			return -EUCLEAN;
		}
		if (get32(e) == 0)
			break;
		if (off + XLEN(e[E_NAME_LEN]) + 4 > room) {
			*why = "xattr entry runs past the end of the inode";
			return -EUCLEAN;
		}
		if (has_local_value(e)) {
			unsigned voff = get16(e + E_VALUE_OFFS);
			uint32_t vlen = get32(e + E_VALUE_SIZE);

			if (vlen > room || voff > room - XSIZE(vlen)) {
				*why = "xattr value runs past the end of the inode";
				return -EUCLEAN;
			}
			if (voff < scan->min_offs)
				scan->min_offs = voff;
		}
		if (is_system_data(e)) {
			scan->data_off = off;
			scan->data_len = get32(e + E_VALUE_SIZE);
			scan->data_voff = get16(e + E_VALUE_OFFS);
			if (get32(e + E_VALUE_INUM)) {
				*why = "system.data is in an EA inode";
				return -EUCLEAN;
			}
		}
		off += XLEN(e[E_NAME_LEN]);
	}
	scan->end_off = off;
	if (scan->min_offs < off + 4) {
		*why = "xattr values overlap the entries";
		return -EUCLEAN;
	}
	return 0;
}

unsigned inl_ibody_max_value(const struct inl_iloc *loc,
			     const struct inl_ibody_scan *scan)
{
	int free;

	if (!scan->has_magic) {
		free = (int)inl_ibody_room(loc) - (int)XLEN(INL_XATTR_NAME_LEN) - 3 - 4;
		return free > 0 ? XSIZE((unsigned)free) : 0;
	}
	free = (int)scan->min_offs - (int)scan->end_off - 4;
	if (scan->data_off != INL_NONE)
		return (unsigned)free + XSIZE(scan->data_len);
	free -= (int)XLEN(INL_XATTR_NAME_LEN);
	return free > 3 ? XSIZE((unsigned)(free - 3)) : 0;
}

/*
 * Takes the value of the entry at @eoff out of the value region: the values
 * below it move up by its padded size, their offsets follow, the space freed
 * at the bottom is zeroed.  The entry itself is left with no value.
 */
static void drop_value(struct inl_iloc *loc, struct inl_ibody_scan *scan,
		       unsigned eoff)
{
	uint8_t *first = inl_ifirst(loc), *e = first + eoff;
	unsigned voff = get16(e + E_VALUE_OFFS);
	unsigned size = XSIZE(get32(e + E_VALUE_SIZE));
	unsigned off;

	if (!has_local_value(e))
		return;
	memmove(first + scan->min_offs + size, first + scan->min_offs,
		voff - scan->min_offs);
	memset(first + scan->min_offs, 0, size);
	for (off = 0; get32(first + off) != 0; off += XLEN(first[off + E_NAME_LEN])) {
		uint8_t *o = first + off;

		if (o != e && has_local_value(o) && get16(o + E_VALUE_OFFS) < voff)
			put16(o + E_VALUE_OFFS, (uint16_t)(get16(o + E_VALUE_OFFS) + size));
	}
	scan->min_offs += size;
	put16(e + E_VALUE_OFFS, 0);
	put32(e + E_VALUE_SIZE, 0);
}

/* Appends an empty system.data entry before the end marker. */
static void add_entry(struct inl_iloc *loc, struct inl_ibody_scan *scan)
{
	uint8_t *first = inl_ifirst(loc), *e = first + scan->end_off;
	unsigned len = XLEN(INL_XATTR_NAME_LEN);

	if (!scan->has_magic) {
		memset(loc->buf + loc->ibody, 0, loc->isize - loc->ibody);
		put32(loc->buf + loc->ibody, EXT2_EXT_ATTR_MAGIC);
		scan->has_magic = 1;
	}
	memset(e, 0, len + 4);
	e[E_NAME_LEN] = INL_XATTR_NAME_LEN;
	e[E_NAME_INDEX] = INL_XATTR_SYSTEM;
	memcpy(e + INL_ENTRY_SIZE, INL_XATTR_NAME, INL_XATTR_NAME_LEN);
	scan->data_off = scan->end_off;
	scan->data_len = 0;
	scan->data_voff = 0;
	scan->end_off += len;
}

int inl_ibody_set_data(struct inl_iloc *loc, uint32_t len)
{
	struct inl_ibody_scan scan;
	const char *why = NULL;
	uint8_t *first = inl_ifirst(loc), *e, *keep = NULL;
	unsigned new_size = XSIZE(len), old_size, nkeep;
	int room, err;

	err = inl_ibody_scan(loc, &scan, &why);
	if (err)
		return err;
	old_size = scan.data_off != INL_NONE ? XSIZE(scan.data_len) : 0;
	room = scan.has_magic ? (int)scan.min_offs - (int)scan.end_off - 4
			      : (int)inl_ibody_room(loc) - 4;
	room += scan.data_off != INL_NONE ? (int)old_size : -(int)XLEN(INL_XATTR_NAME_LEN);
	if (room < (int)new_size)
		return -ENOSPC;

	nkeep = 0;		/* bytes of the old value that survive */
	if (scan.data_off != INL_NONE)
		nkeep = scan.data_len < len ? scan.data_len : len;
	if (nkeep) {
		keep = malloc(nkeep);
		if (!keep)
			return -ENOMEM;
		memcpy(keep, first + scan.data_voff, nkeep);
	}
	if (scan.data_off == INL_NONE)
		add_entry(loc, &scan);
	e = first + scan.data_off;
	if (old_size && old_size == new_size) {
		/* Same padded size: replace in place. */
		memset(first + scan.data_voff + nkeep, 0, new_size - nkeep);
	} else {
		drop_value(loc, &scan, scan.data_off);
		if (new_size) {
			scan.data_voff = scan.min_offs - new_size;
			memset(first + scan.data_voff, 0, new_size);
			if (nkeep)
				memcpy(first + scan.data_voff, keep, nkeep);
			put16(e + E_VALUE_OFFS, (uint16_t)scan.data_voff);
		}
	}
	put32(e + E_VALUE_SIZE, len);
	put32(e + E_VALUE_INUM, 0);
	put32(e + E_HASH, 0);
	free(keep);
	return 0;
}

int inl_ibody_remove_data(struct inl_iloc *loc)
{
	struct inl_ibody_scan scan;
	const char *why = NULL;
	uint8_t *first = inl_ifirst(loc);
	unsigned len = XLEN(INL_XATTR_NAME_LEN), tail;
	int err;

	err = inl_ibody_scan(loc, &scan, &why);
	if (err)
		return err;
	if (scan.data_off == INL_NONE)
		return 0;
	drop_value(loc, &scan, scan.data_off);
	tail = scan.end_off + 4 - (scan.data_off + len);
	memmove(first + scan.data_off, first + scan.data_off + len, tail);
	memset(first + scan.data_off + tail, 0, len);
	if (get32(first) == 0)
		put32(loc->buf + loc->ibody, 0);
	return 0;
}
