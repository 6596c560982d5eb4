/*
 * A fake libfs/disk for the data-path unit tests (see test_aops_fakedisk.h).
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/test_aops_fakedisk.h"
#include "libfs/vfs/vfs.h"

#define FI(inode) ((struct fake_inode *)(inode))
#define FD(dfs) ((struct fake_disk *)(dfs))

struct fake_disk *fake_disk_create(unsigned block_size, uint64_t nblocks, size_t cache_bytes)
{
	struct fake_disk *fd = calloc(1, sizeof(*fd));

	fd->dfs.block_size = block_size;
	fd->nblocks = nblocks;
	fd->dev = malloc(nblocks * block_size);
	memset(fd->dev, 0x5A, nblocks * block_size);
	fd->used = calloc(nblocks, 1);
	fd->free_blocks = nblocks - 1;
	fd->used[0] = 1;		/* block 0 is never data */
	fd->goal = 1;
	if (vfs_cache_init(&fd->dfs, cache_bytes))
		abort();
	return fd;
}

void fake_disk_destroy(struct fake_disk *fd)
{
	vfs_cache_destroy(&fd->dfs);
	free(fd->dev);
	free(fd->used);
	free(fd);
}

struct disk_inode *fake_inode_create(struct fake_disk *fd, ext2_ino_t ino)
{
	struct fake_inode *fi = calloc(1, sizeof(*fi));

	fi->inode.dfs = &fd->dfs;
	fi->inode.ino = ino;
	fi->inode.i_count = 1;
	fi->inode.raw.i_flags = EXT4_EXTENTS_FL;
	return &fi->inode;
}

void fake_inode_destroy(struct disk_inode *inode)
{
	struct fake_inode *fi = FI(inode);

	vfs_evict_inode(inode);
	disk_punch(inode, 0, ~0ULL);
	free(fi->map);
	free(fi->unwritten);
	free(fi);
}

uint64_t fake_inode_blocks(struct disk_inode *inode)
{
	struct fake_inode *fi = FI(inode);
	uint64_t i, n = 0;

	for (i = 0; i < fi->nmap; i++)
		n += fi->map[i] != 0;
	return n;
}

static void grow_map(struct fake_inode *fi, uint64_t n)
{
	if (n <= fi->nmap)
		return;
	fi->map = realloc(fi->map, n * sizeof(*fi->map));
	fi->unwritten = realloc(fi->unwritten, n);
	memset(fi->map + fi->nmap, 0, (n - fi->nmap) * sizeof(*fi->map));
	memset(fi->unwritten + fi->nmap, 0, n - fi->nmap);
	fi->nmap = n;
}

static int alloc_block(struct fake_disk *fd, uint64_t *pblk)
{
	uint64_t i, b;

	if (!fd->free_blocks)
		return -ENOSPC;
	for (i = 0; i < fd->nblocks; i++) {
		b = (fd->goal + i) % fd->nblocks;
		if (!fd->used[b]) {
			fd->used[b] = 1;
			fd->free_blocks--;
			fd->goal = b + 1;
			memset(fd->dev + b * fd->dfs.block_size, FAKE_POISON, fd->dfs.block_size);
			*pblk = b;
			return 0;
		}
	}
	return -ENOSPC;
}

uint64_t disk_i_size(const struct disk_inode *inode)
{
	return inode->raw.i_size | ((uint64_t)inode->raw.i_size_high << 32);
}

void disk_set_i_size(struct disk_inode *inode, uint64_t size)
{
	inode->raw.i_size = (uint32_t)size;
	inode->raw.i_size_high = (uint32_t)(size >> 32);
}

int disk_map_blocks(struct disk_inode *inode, struct disk_map *map, int create)
{
	struct fake_inode *fi = FI(inode);
	struct fake_disk *fd = FD(inode->dfs);
	uint64_t l = map->lblk, n;
	int err;

	if (!map->len)
		return -EINVAL;
	if (l < fi->nmap && fi->map[l]) {
		uint64_t p = fi->map[l] - 1;
		int unw = fi->unwritten[l];

		for (n = 1; n < map->len && l + n < fi->nmap && fi->map[l + n] == p + n + 1 &&
			    fi->unwritten[l + n] == unw; n++)
			;
		map->pblk = p;
		map->len = (uint32_t)n;
		map->flags = DISK_MAP_MAPPED;
		if (unw && create) {
			memset(fi->unwritten + l, 0, n);
			map->flags |= DISK_MAP_NEW;	/* converted: contents stale */
		} else if (unw) {
			map->flags |= DISK_MAP_UNWRITTEN;
		}
		return 0;
	}
	for (n = 1; n < map->len && !(l + n < fi->nmap && fi->map[l + n]); n++)
		;
	if (!create) {
		map->len = (uint32_t)n;
		map->flags = 0;
		return 0;
	}
	grow_map(fi, l + n);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t p;

		err = alloc_block(fd, &p);
		if (err) {
			if (i == 0)
				return err;
			n = i;
			break;
		}
		if (i && p != map->pblk + i) {
			/* not contiguous: give it back and end the run */
			fd->used[p] = 0;
			fd->free_blocks++;
			n = i;
			break;
		}
		if (!i)
			map->pblk = p;
		fi->map[l + i] = p + 1;
		fi->unwritten[l + i] = 0;
	}
	map->len = (uint32_t)n;
	map->flags = DISK_MAP_MAPPED | DISK_MAP_NEW;
	return 0;
}

int disk_punch(struct disk_inode *inode, uint64_t start, uint64_t end)
{
	struct fake_inode *fi = FI(inode);
	struct fake_disk *fd = FD(inode->dfs);
	uint64_t l;

	for (l = start; l < end && l < fi->nmap; l++) {
		if (!fi->map[l])
			continue;
		fd->used[fi->map[l] - 1] = 0;
		fd->free_blocks++;
		memset(fd->dev + (fi->map[l] - 1) * fd->dfs.block_size, FAKE_POISON,
		       fd->dfs.block_size);
		fi->map[l] = 0;
		fi->unwritten[l] = 0;
	}
	return 0;
}

int disk_prealloc(struct disk_inode *inode, uint64_t start, uint64_t len)
{
	struct fake_inode *fi = FI(inode);
	struct fake_disk *fd = FD(inode->dfs);
	uint64_t l, p;
	int err;

	grow_map(fi, start + len);
	for (l = start; l < start + len; l++) {
		if (fi->map[l])
			continue;
		err = alloc_block(fd, &p);
		if (err)
			return err;
		fi->map[l] = p + 1;
		fi->unwritten[l] = 1;
	}
	return 0;
}

static int check_owned(struct fake_disk *fd, uint64_t pblk, uint32_t count)
{
	uint32_t i;

	if (pblk + count > fd->nblocks)
		return -EIO;
	for (i = 0; i < count; i++)
		if (!fd->used[pblk + i])
			fd->bad_io++;
	return 0;
}

int disk_read_data(struct disk_fs *dfs, uint64_t pblk, uint32_t count, void *buf)
{
	struct fake_disk *fd = FD(dfs);

	if (fd->fail_read_after > 0 && --fd->fail_read_after == 0)
		return -EIO;
	if (check_owned(fd, pblk, count))
		return -EIO;
	fd->read_calls++;
	fd->read_blocks += count;
	memcpy(buf, fd->dev + pblk * dfs->block_size, (size_t)count * dfs->block_size);
	return 0;
}

int disk_write_data(struct disk_fs *dfs, uint64_t pblk, uint32_t count, const void *buf)
{
	struct fake_disk *fd = FD(dfs);

	if (fd->fail_write_after > 0 && --fd->fail_write_after == 0)
		return -EIO;
	if (check_owned(fd, pblk, count))
		return -EIO;
	fd->write_calls++;
	fd->write_blocks += count;
	if (count > fd->max_write_blocks)
		fd->max_write_blocks = count;
	memcpy(fd->dev + pblk * dfs->block_size, buf, (size_t)count * dfs->block_size);
	return 0;
}

void disk_report(struct disk_fs *dfs, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* No journal: handles are only counted, so that a test can see them balanced. */
int fake_handle_depth;

int disk_handle_start(struct disk_fs *dfs, unsigned credits)
{
	(void)dfs;
	(void)credits;
	fake_handle_depth++;
	return 0;
}

int disk_handle_stop(struct disk_fs *dfs)
{
	(void)dfs;
	assert(fake_handle_depth > 0);
	fake_handle_depth--;
	return 0;
}

int disk_handle_start_concurrent(struct disk_fs *dfs, unsigned credits)
{
	return disk_handle_start(dfs, credits);
}

int disk_handle_stop_concurrent(struct disk_fs *dfs)
{
	return disk_handle_stop(dfs);
}

/* inline/: the fake file system has no inline data. */
int inl_has_inline_data(const struct disk_inode *inode)
{
	return !!(inode->raw.i_flags & EXT4_INLINE_DATA_FL);
}

int inl_may_inline(struct disk_inode *inode) { return 0; }
int inl_read_folio(struct disk_inode *inode, void *page, size_t size) { return -EOPNOTSUPP; }
int inl_write_end(struct disk_inode *inode, uint64_t pos, unsigned copied, const void *src)
{
	return -EOPNOTSUPP;
}
int inl_truncate(struct disk_inode *inode, uint64_t size) { return -ENODATA; }
int inl_convert_inline_data(struct disk_inode *inode) { return 0; }

int inl_write_begin(struct disk_inode *inode, uint64_t pos, unsigned len, int *inline_path)
{
	*inline_path = 0;
	return 0;
}
