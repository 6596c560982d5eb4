/*
 * journal/jbd_format.h - the JBD2 on-disk format as byte offsets: every field is
 * big-endian and read or written with the helpers below, never through a struct
 * overlay, so a corrupt block can never be misread past its end.
 */
#ifndef E4_JBD_FORMAT_H
#define E4_JBD_FORMAT_H

#include <stdint.h>

#define JBD_MAGIC		0xC03B3998u

/* Block types (header word 1). */
#define JBD_DESCRIPTOR		1
#define JBD_COMMIT		2
#define JBD_SB_V1		3
#define JBD_SB_V2		4
#define JBD_REVOKE		5

/* Common header: magic, type, sequence. */
#define JBD_HDR_MAGIC		0
#define JBD_HDR_TYPE		4
#define JBD_HDR_SEQ		8
#define JBD_HDR_SIZE		12

/* Journal superblock. */
#define JSB_BLOCKSIZE		12
#define JSB_MAXLEN		16
#define JSB_FIRST		20
#define JSB_SEQUENCE		24
#define JSB_START		28
#define JSB_ERRNO		32
#define JSB_COMPAT		36
#define JSB_INCOMPAT		40
#define JSB_ROCOMPAT		44
#define JSB_UUID		48
#define JSB_NR_USERS		64
#define JSB_CSUM_TYPE		80	/* one byte */
#define JSB_NUM_FC		84
#define JSB_CHECKSUM		252
#define JSB_SIZE		1024	/* what the superblock checksum covers */

#define JBD_COMPAT_CHECKSUM	0x1	/* v1: crc32_be in the commit block */
#define JBD_INCOMPAT_REVOKE	0x1
#define JBD_INCOMPAT_64BIT	0x2
#define JBD_INCOMPAT_ASYNC	0x4
#define JBD_INCOMPAT_CSUM_V2	0x8
#define JBD_INCOMPAT_CSUM_V3	0x10
#define JBD_INCOMPAT_FAST_COMMIT 0x20
#define JBD_INCOMPAT_KNOWN	0x3f

#define JBD_CSUM_TYPE_CRC32	1
#define JBD_CSUM_TYPE_CRC32C	4
#define JBD_DEFAULT_FC_BLOCKS	256

/* Descriptor block tags.  Flags are a big-endian u16 at byte 6 in every tag
 * layout (in the v3 tag it is the low half of a u32 at byte 4). */
#define JBD_TAG_BLOCKNR		0
#define JBD_TAG_CSUM16		4	/* v2 tags */
#define JBD_TAG_FLAGS		6
#define JBD_TAG_BLOCKNR_HIGH	8
#define JBD_TAG_CSUM32		12	/* v3 tags */
#define JBD_TAG_UUID_SIZE	16

#define JBD_FLAG_ESCAPE		0x1
#define JBD_FLAG_SAME_UUID	0x2
#define JBD_FLAG_DELETED	0x4
#define JBD_FLAG_LAST_TAG	0x8

#define JBD_TAIL_SIZE		4	/* checksum tail of descriptor/revoke blocks */

/* Commit block. */
#define JBD_COMMIT_CSUM_TYPE	12	/* one byte */
#define JBD_COMMIT_CSUM_SIZE	13	/* one byte */
#define JBD_COMMIT_CSUM		16	/* u32[8]; [0] used */
#define JBD_COMMIT_SEC		48	/* u64 */
#define JBD_COMMIT_NSEC		56
#define JBD_COMMIT_HDR_SIZE	60

/* Revoke block. */
#define JBD_REVOKE_COUNT	12	/* bytes used, header included */
#define JBD_REVOKE_HDR_SIZE	16

static inline uint32_t jbd_get32(const void *buf, unsigned off)
{
	const uint8_t *p = (const uint8_t *)buf + off;

	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint16_t jbd_get16(const void *buf, unsigned off)
{
	const uint8_t *p = (const uint8_t *)buf + off;

	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint64_t jbd_get64(const void *buf, unsigned off)
{
	return (uint64_t)jbd_get32(buf, off) << 32 | jbd_get32(buf, off + 4);
}

static inline void jbd_put32(void *buf, unsigned off, uint32_t v)
{
	uint8_t *p = (uint8_t *)buf + off;

	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static inline void jbd_put16(void *buf, unsigned off, uint16_t v)
{
	uint8_t *p = (uint8_t *)buf + off;

	p[0] = v >> 8;
	p[1] = v;
}

static inline void jbd_put64(void *buf, unsigned off, uint64_t v)
{
	jbd_put32(buf, off, v >> 32);
	jbd_put32(buf, off + 4, (uint32_t)v);
}

/* Transaction ids wrap: compare them as the kernel does, by signed difference. */
static inline int jbd_tid_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static inline int jbd_tid_geq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

#endif /* E4_JBD_FORMAT_H */
