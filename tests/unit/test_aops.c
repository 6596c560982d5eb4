/*
 * Unit tests of libfs/aops over a fake disk (test_aops_fakedisk.c): the
 * write_begin/write_end contract (short copies, BH_New, zeroing of new blocks),
 * sub-page block sizes, reads of holes, merged reads and writes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>
#include <linux/falloc.h>

#include "libfs/aops/aops.h"
#include "libfs/vfs/vfs.h"
#include "tests/unit/test_aops_fakedisk.h"

static void check_cache(struct fake_disk *fd)
{
	char buf[160];
	const char *msg = pc_check(fd->dfs.pcache, buf, sizeof(buf));

	if (msg)
		fail_msg("pc_check: %s", msg);
	assert_int_equal(fd->bad_io, 0);
}

static ssize_t pwrite_fill(struct disk_inode *inode, uint64_t pos, size_t len, int c)
{
	uint8_t *b = malloc(len);
	struct iovec v = { b, len };
	ssize_t r;

	memset(b, c, len);
	r = vfs_write_iter(inode, &v, 1, pos);
	free(b);
	return r;
}

/* Asserts file bytes [pos, pos+len) all equal @c, reading through the cache. */
static void expect_bytes(struct disk_inode *inode, uint64_t pos, size_t len, int c)
{
	uint8_t *b = malloc(len);
	struct iovec v = { b, len };
	size_t i;

	assert_int_equal(vfs_read_iter(inode, &v, 1, pos), (ssize_t)len);
	for (i = 0; i < len; i++)
		if (b[i] != (uint8_t)c)
			fail_msg("byte %llu is 0x%02x, expected 0x%02x",
				 (unsigned long long)(pos + i), b[i], (uint8_t)c);
	free(b);
}

/* The on-disk bytes of file block @lblk. */
static const uint8_t *disk_block(struct fake_disk *fd, struct disk_inode *inode,
				 uint64_t lblk)
{
	struct fake_inode *fi = (struct fake_inode *)inode;

	assert_true(lblk < fi->nmap && fi->map[lblk]);
	return fd->dev + (fi->map[lblk] - 1) * fd->dfs.block_size;
}

/*
 * Seed 000: a short copy into a !uptodate page commits nothing, but the new
 * blocks it allocated are zeroed (not left stale) and lose BH_New.
 */
static void test_short_copy_not_uptodate(void **state)
{
	struct fake_disk *fd = fake_disk_create(1024, 4096, 1 << 20);
	struct disk_inode *inode = fake_inode_create(fd, 12);
	struct pc_page *p;
	void *fsdata;
	unsigned i;

	assert_int_equal(vfs_truncate(inode, 8192), 0);	/* sparse, no blocks */
	assert_int_equal(aops_write_begin(inode, 1000, 2000, &p, &fsdata, NULL), 0);
	assert_true(p->flags & PC_PG_LOCKED);
	assert_false(p->flags & PC_PG_UPTODATE);
	assert_int_equal(p->nr_bufs, 4);
	for (i = 0; i < 3; i++)
		assert_int_equal(p->bufs[i].b_state & (PC_BH_NEW | PC_BH_MAPPED),
				 PC_BH_NEW | PC_BH_MAPPED);
	assert_false(p->bufs[3].b_state & PC_BH_MAPPED);	/* untouched block */
	/* New blocks: the parts outside the write are zero already. */
	for (i = 0; i < 1000; i++)
		assert_int_equal(p->data[i], 0);
	for (i = 3000; i < 3072; i++)
		assert_int_equal(p->data[i], 0);
	assert_int_equal(fd->read_calls, 0);	/* nothing to read: all new */
	check_cache(fd);

	memset(p->data + 1000, 'X', 500);	/* the copy faulted after 500 */
	assert_int_equal(aops_write_end(inode, 1000, 2000, 500, p, fsdata), 0);
	p = pc_find_get_page(inode->i_mapping, 0);
	assert_non_null(p);
	for (i = 0; i < 4; i++)
		assert_false(p->bufs[i].b_state & PC_BH_NEW);
	for (i = 0; i < 3; i++)
		assert_int_equal(p->bufs[i].b_state & (PC_BH_UPTODATE | PC_BH_DIRTY),
				 PC_BH_UPTODATE | PC_BH_DIRTY);
	for (i = 0; i < 3072; i++)
		assert_int_equal(p->data[i], 0);	/* the 'X's were not committed */
	assert_false(p->flags & PC_PG_UPTODATE);	/* block 3 never read */
	pc_put_page(p);
	assert_int_equal(disk_i_size(inode), 8192);
	check_cache(fd);

	/* The allocated blocks reach the disk as zeros, not as stale poison. */
	assert_int_equal(vfs_writeback_inode(inode), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(disk_block(fd, inode, i)[17], 0);
	expect_bytes(inode, 0, 8192, 0);
	fake_inode_destroy(inode);
	fake_disk_destroy(fd);
}

/* A short copy at EOF: nothing committed and the blocks past i_size freed. */
static void test_short_copy_at_eof_frees_blocks(void **state)
{
	struct fake_disk *fd = fake_disk_create(4096, 1024, 1 << 20);
	struct disk_inode *inode = fake_inode_create(fd, 12);
	struct pc_page *p;
	void *fsdata;

	assert_int_equal(pwrite_fill(inode, 0, 5000, 'a'), 5000);
	assert_int_equal(fake_inode_blocks(inode), 2);
	assert_int_equal(aops_write_begin(inode, 9000, 3000, &p, &fsdata, NULL), 0);
	assert_int_equal(fake_handle_depth, 1);		/* ext4's: write_begin to write_end */
	assert_int_equal(fake_inode_blocks(inode), 3);
	assert_int_equal(aops_write_end(inode, 9000, 3000, 10, p, fsdata), 0);
	assert_int_equal(fake_handle_depth, 0);
	assert_int_equal(disk_i_size(inode), 5000);
	assert_int_equal(fake_inode_blocks(inode), 2);
	assert_null(pc_find_get_page(inode->i_mapping, 2));
	check_cache(fd);
	expect_bytes(inode, 0, 5000, 'a');
	assert_int_equal(vfs_writeback_inode(inode), 0);
	check_cache(fd);
	fake_inode_destroy(inode);
	fake_disk_destroy(fd);
}

/* On an uptodate page a short copy is committed as far as it went. */
static void test_short_copy_uptodate_commits(void **state)
{
	struct fake_disk *fd = fake_disk_create(2048, 1024, 1 << 20);
	struct disk_inode *inode = fake_inode_create(fd, 12);
	struct pc_page *p;
	void *fsdata;
	unsigned i;

	assert_int_equal(pwrite_fill(inode, 0, 4096, 'a'), 4096);
	assert_int_equal(aops_write_begin(inode, 4000, 96, &p, &fsdata, NULL), 0);
	assert_true(p->flags & PC_PG_UPTODATE);
	memset(p->data + 4000, 'b', 30);
	assert_int_equal(aops_write_end(inode, 4000, 96, 30, p, fsdata), 30);
	expect_bytes(inode, 0, 4000, 'a');
	expect_bytes(inode, 4000, 30, 'b');
	expect_bytes(inode, 4030, 66, 'a');
	/* A new page past EOF is not uptodate: a short copy commits nothing. */
	assert_int_equal(aops_write_begin(inode, 4096, 4096, &p, &fsdata, NULL), 0);
	assert_false(p->flags & PC_PG_UPTODATE);
	for (i = 0; i < 2; i++)
		assert_true(p->bufs[i].b_state & PC_BH_NEW);
	assert_int_equal(aops_write_end(inode, 4096, 4096, 4095, p, fsdata), 0);
	assert_int_equal(disk_i_size(inode), 4096);
	check_cache(fd);
	fake_inode_destroy(inode);
	fake_disk_destroy(fd);
}

/* block_write_begin reads only blocks the write covers partly, on !uptodate pages. */
static void test_write_begin_reads_partial_blocks_only(void **state)
{
	struct fake_disk *fd = fake_disk_create(1024, 4096, 1 << 20);
	struct disk_inode *inode = fake_inode_create(fd, 12);
	struct pc_page *p;
	void *fsdata;

	assert_int_equal(pwrite_fill(inode, 0, 4096, 'a'), 4096);
	assert_int_equal(vfs_release_inode(inode), 0);	/* cache dropped */
	fd->read_calls = 0;

	/* Covers block 1 fully and block 2 partly: only block 2 is read. */
	assert_int_equal(aops_write_begin(inode, 1024, 1500, &p, &fsdata, NULL), 0);
	assert_int_equal(fd->read_calls, 1);
	assert_int_equal(fd->read_blocks, 1);
	assert_true(p->bufs[2].b_state & PC_BH_UPTODATE);
	assert_false(p->bufs[1].b_state & PC_BH_UPTODATE);
	assert_false(p->bufs[0].b_state & (PC_BH_UPTODATE | PC_BH_MAPPED));
	memset(p->data + 1024, 'b', 1500);
	assert_int_equal(aops_write_end(inode, 1024, 1500, 1500, p, fsdata), 1500);
	p = pc_find_get_page(inode->i_mapping, 0);
	assert_false(p->flags & PC_PG_UPTODATE);	/* blocks 0 and 3 unread */
	pc_put_page(p);
	/* A read fills the rest without touching the dirty blocks. */
	expect_bytes(inode, 0, 1024, 'a');
	expect_bytes(inode, 1024, 1500, 'b');
	expect_bytes(inode, 2524, 4096 - 2524, 'a');
	p = pc_find_get_page(inode->i_mapping, 0);
	assert_true(p->flags & (PC_PG_UPTODATE | PC_PG_DIRTY));
	pc_put_page(p);
	check_cache(fd);

	/* A whole-page write on a dropped cache reads nothing. */
	assert_int_equal(vfs_release_inode(inode), 0);
	fd->read_calls = 0;
	assert_int_equal(pwrite_fill(inode, 0, 4096, 'c'), 4096);
	assert_int_equal(fd->read_calls, 0);
	expect_bytes(inode, 0, 4096, 'c');
	check_cache(fd);
	fake_inode_destroy(inode);
	fake_disk_destroy(fd);
}

/* Holes and unwritten extents read as zeros; sub-page blocks in a sparse file. */
static void test_holes_read_as_zero(void **state)
{
	static const unsigned sizes[] = { 1024, 2048, 4096 };
	unsigned s;

	for (s = 0; s < 3; s++) {
		struct fake_disk *fd = fake_disk_create(sizes[s], 8192, 1 << 20);
		struct disk_inode *inode = fake_inode_create(fd, 12);

		assert_int_equal(pwrite_fill(inode, 1500, 100, 'x'), 100);
		assert_int_equal(pwrite_fill(inode, 1 << 20, 10, 'y'), 10);
		assert_int_equal(vfs_fallocate(inode, FALLOC_FL_KEEP_SIZE, 40000, 9000), 0);
		assert_int_equal(vfs_writeback_inode(inode), 0);
		assert_int_equal(vfs_release_inode(inode), 0);
		expect_bytes(inode, 0, 1500, 0);
		expect_bytes(inode, 1500, 100, 'x');
		expect_bytes(inode, 1600, (1 << 20) - 1600, 0);
		expect_bytes(inode, 1 << 20, 10, 'y');
		/* Only the written blocks (and the preallocated ones) exist. */
		assert_true(fake_inode_blocks(inode) <= 2 + 2 + 9000 / sizes[s] + 2);
		check_cache(fd);
		fake_inode_destroy(inode);
		fake_disk_destroy(fd);
	}
}

/* Writeback merges contiguous blocks across pages; reads merge too. */
static void test_writeback_and_read_merge(void **state)
{
	struct fake_disk *fd = fake_disk_create(4096, 8192, 16 << 20);
	struct disk_inode *inode = fake_inode_create(fd, 12);
	size_t len = 8 << 20;

	assert_int_equal(pwrite_fill(inode, 0, len, 'm'), (ssize_t)len);
	assert_int_equal(fd->write_calls, 0);
	assert_int_equal(vfs_writeback_inode(inode), 0);
	assert_int_equal(fd->write_blocks, len / 4096);
	assert_int_equal(fd->max_write_blocks, AOPS_MAX_IO / 4096);
	assert_true(fd->write_calls <= len / AOPS_MAX_IO + 1);
	assert_int_equal(vfs_release_inode(inode), 0);
	fd->read_calls = 0;
	expect_bytes(inode, 0, len, 'm');
	assert_true(fd->read_calls <= len / AOPS_MAX_IO + 2);
	check_cache(fd);
	fake_inode_destroy(inode);
	fake_disk_destroy(fd);
}

/* A write error is reported by the next writeback and the data stays dirty. */
static void test_writeback_error(void **state)
{
	struct fake_disk *fd = fake_disk_create(4096, 1024, 1 << 20);
	struct disk_inode *inode = fake_inode_create(fd, 12);
	struct pc_mapping *m;

	assert_int_equal(pwrite_fill(inode, 0, 20000, 'e'), 20000);
	fd->fail_write_after = 1;
	assert_int_equal(vfs_writeback_inode(inode), -EIO);
	m = inode->i_mapping;
	assert_int_equal(m->nr_dirty, 5);
	check_cache(fd);
	assert_int_equal(vfs_writeback_inode(inode), 0);
	assert_int_equal(m->nr_dirty, 0);
	assert_int_equal(vfs_release_inode(inode), 0);
	expect_bytes(inode, 0, 20000, 'e');
	fake_inode_destroy(inode);
	fake_disk_destroy(fd);
}

/* writeback_all visits every dirty inode once, even when one fails. */
static void test_writeback_all(void **state)
{
	struct fake_disk *fd = fake_disk_create(4096, 1024, 1 << 20);
	struct disk_inode *a = fake_inode_create(fd, 12), *b = fake_inode_create(fd, 13);
	struct pc_cache *c = fd->dfs.pcache;

	assert_int_equal(pwrite_fill(a, 0, 8192, 'a'), 8192);
	assert_int_equal(pwrite_fill(b, 0, 8192, 'b'), 8192);
	assert_int_equal(c->nr_dirty, 4);
	fd->fail_write_after = 1;
	assert_int_equal(vfs_writeback_all(&fd->dfs), -EIO);
	assert_int_equal(c->nr_dirty, 2);		/* one inode's pages redirtied */
	check_cache(fd);
	assert_int_equal(vfs_writeback_all(&fd->dfs), 0);
	assert_int_equal(c->nr_dirty, 0);
	assert_int_equal(vfs_release_inode(a), 0);
	assert_int_equal(vfs_release_inode(b), 0);
	expect_bytes(a, 0, 8192, 'a');
	expect_bytes(b, 0, 8192, 'b');
	fake_inode_destroy(a);
	fake_inode_destroy(b);
	fake_disk_destroy(fd);
}

/* page_mkwrite maps every block inside EOF and dirties the page. */
static void test_page_mkwrite(void **state)
{
	struct fake_disk *fd = fake_disk_create(1024, 1024, 1 << 20);
	struct disk_inode *inode = fake_inode_create(fd, 12);
	struct pc_mapping *m;
	struct pc_page *p;
	unsigned i;

	assert_int_equal(vfs_truncate(inode, 3000), 0);
	assert_int_equal(aops_mapping(inode, &m), 0);
	assert_int_equal(pc_grab_page(m, 0, 1, &p), 0);
	assert_int_equal(aops_page_mkwrite(inode, p), 0);
	assert_true(p->flags & PC_PG_DIRTY);
	for (i = 0; i < 3; i++)
		assert_true(p->bufs[i].b_state & PC_BH_MAPPED);
	assert_false(p->bufs[3].b_state & PC_BH_MAPPED);
	memset(p->data, 'k', 3000);		/* a store through the mapping */
	pc_unlock_page(p);
	pc_put_page(p);
	assert_int_equal(vfs_release_inode(inode), 0);
	expect_bytes(inode, 0, 3000, 'k');
	assert_int_equal(fake_inode_blocks(inode), 3);
	fake_inode_destroy(inode);
	fake_disk_destroy(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_copy_not_uptodate),
		cmocka_unit_test(test_short_copy_at_eof_frees_blocks),
		cmocka_unit_test(test_short_copy_uptodate_commits),
		cmocka_unit_test(test_write_begin_reads_partial_blocks_only),
		cmocka_unit_test(test_holes_read_as_zero),
		cmocka_unit_test(test_writeback_and_read_merge),
		cmocka_unit_test(test_writeback_error),
		cmocka_unit_test(test_writeback_all),
		cmocka_unit_test(test_page_mkwrite),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
