/*
 * A fake libfs/disk for the aops and vfs unit tests: a device in memory, one
 * block map per inode, allocation that fills new blocks with a poison byte (so
 * stale data is recognisable), unwritten extents, and fault injection.  It
 * defines the disk_* functions the data path calls, so the tests link
 * pcache + aops + vfs against it instead of libe4lab.
 */
#ifndef TEST_AOPS_FAKEDISK_H
#define TEST_AOPS_FAKEDISK_H

#include <stdint.h>
#include "libfs/disk/disk.h"

#define FAKE_POISON	0xA5

struct fake_disk {
	struct disk_fs dfs;
	uint8_t *dev;
	uint64_t nblocks;
	uint8_t *used;			/* per physical block: owned by a file */
	uint64_t goal;
	uint64_t free_blocks;
	int fail_write_after;		/* >0: the Nth later write call fails (-EIO) */
	int fail_read_after;
	uint64_t write_calls, write_blocks, read_calls, read_blocks;
	uint64_t max_write_blocks;
	uint64_t bad_io;		/* I/O to a block no file owns: a bug */
};

struct fake_inode {
	struct disk_inode inode;
	uint64_t *map;			/* lblk -> pblk + 1, 0 = hole */
	uint8_t *unwritten;
	uint64_t nmap;
};

struct fake_disk *fake_disk_create(unsigned block_size, uint64_t nblocks, size_t cache_bytes);
void fake_disk_destroy(struct fake_disk *fd);
struct disk_inode *fake_inode_create(struct fake_disk *fd, ext2_ino_t ino);
void fake_inode_destroy(struct disk_inode *inode);
uint64_t fake_inode_blocks(struct disk_inode *inode);	/* allocated blocks */

/* Handles open now (aops opens one from write_begin to write_end). */
extern int fake_handle_depth;

#endif
