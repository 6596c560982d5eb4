/*
 * tests/unit/test_iomap.c - the iomap write path (libfs/aops/iomap.c) on the real engine:
 * a short gfs2 write into a sparse file leaves the last, partly requested new block
 * allocated under gfs2's punch range and frees it under d031a8866e70's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "e4lab.h"
#include "libfs/aops/iomap.h"
#include "libfs/api/api_internal.h"
#include "libfs/mm/mm.h"

#include <fcntl.h>	/* last: with _GNU_SOURCE it defines LOCK_READ/LOCK_WRITE */

#define FILE_SIZE (16u << 10)
#define WRITE_POS 2048u
#define WRITE_LEN 10952u	/* ends at 13000, inside a block at 1 and 4 KiB */

struct src {
	struct mm *mm;
	uint64_t addr;
};

static size_t src_copy(void *arg, uint64_t off, void *dst, size_t n)
{
	struct src *s = arg;

	return mm_copy_from_user_atomic(s->mm, dst, s->addr + off, n);
}

static size_t src_fault_in(void *arg, uint64_t off, size_t n)
{
	struct src *s = arg;

	return mm_fault_in_readable(s->mm, s->addr + off, n);
}

static const struct iomap_source_ops src_ops = {
	.copy_atomic = src_copy,
	.fault_in = src_fault_in,
	.pagefault_disable = mm_pagefault_disable,
	.pagefault_enable = mm_pagefault_enable,
};

/* Is logical block @lblk of @f allocated? */
static int block_mapped(struct e4_file *f, uint64_t lblk)
{
	struct disk_map run = { .lblk = lblk, .len = 1 };

	assert_int_equal(disk_map_blocks(f->inode, &run, 0), 0);
	return (run.flags & DISK_MAP_MAPPED) && !(run.flags & DISK_MAP_UNWRITTEN);
}

/* The write from a buffer 100 bytes into a page whose later pages are gone: it stops
 * after the first source page (3996 bytes); returns whether the block holding the
 * write's last byte is still allocated. */
static int short_write_leaves_block(unsigned bs, enum iomap_punch_end punch)
{
	struct iomap_policy pol = { .punch = punch, .trunc = IOMAP_TRUNC_POS_LEN_1,
				    .prefault = IOMAP_PREFAULT_PART };
	char image[] = "/tmp/e4lab-test-iomap.XXXXXX";
	static uint8_t head[WRITE_POS], fill[FILE_SIZE];
	struct e4_mkfs_opts mo;
	struct e4_fs *fs;
	struct e4_file *f;
	struct src s;
	long ret;
	int fd = mkstemp(image), leaked;

	assert_true(fd >= 0);
	close(fd);
	e4_mkfs_opts_init(&mo);
	mo.size = 16 << 20;
	mo.block_size = bs;
	assert_int_equal(e4_mkfs(image, &mo), 0);
	assert_int_equal(e4_mount(image, NULL, &fs), 0);
	assert_int_equal(e4_open(fs, "/f", O_CREAT | O_RDWR, 0644, &f), 0);
	memset(head, 'D', sizeof(head));
	memset(fill, 'W', sizeof(fill));
	assert_int_equal(e4_pwrite(f, head, sizeof(head), 0), (ssize_t)sizeof(head));
	assert_int_equal(e4_ftruncate(f, FILE_SIZE), 0);

	assert_int_equal(mm_create(&s.mm), 0);
	assert_int_equal(mm_mmap(s.mm, FILE_SIZE, VM_READ | VM_WRITE, NULL, NULL, 0, &s.addr), 0);
	assert_int_equal(mm_copy_to_user(s.mm, s.addr, fill, sizeof(fill)), 0);
	assert_int_equal(mm_munmap(s.mm, s.addr + 4096, FILE_SIZE - 4096), 0);
	s.addr += 100;

	assert_int_equal(api_begin(fs, 64), 0);
	ret = aops_iomap_write(f->inode, WRITE_POS, WRITE_LEN, &pol, &src_ops, &s);
	assert_int_equal(api_end(fs, disk_write_inode(f->inode)), 0);
	assert_int_equal(ret, 4096 - 100);
	assert_int_equal(disk_i_size(f->inode), FILE_SIZE);
	assert_true(block_mapped(f, 0));
	leaked = block_mapped(f, (WRITE_POS + WRITE_LEN - 1) / bs);
	assert_int_equal(e4_pread(f, fill, WRITE_POS + ret, 0), (ssize_t)(WRITE_POS + ret));
	for (long i = 0; i < WRITE_POS + ret; i++)
		assert_int_equal(fill[i], i < WRITE_POS ? 'D' : 'W');

	mm_destroy(s.mm);
	assert_int_equal(e4_close(f), 0);
	assert_int_equal(e4_unmount(fs), 0);
	unlink(image);
	return leaked;
}

static void test_gfs2_punch_leaks_last_block(void **state)
{
	(void)state;
	assert_true(short_write_leaves_block(1024, IOMAP_PUNCH_GFS2));
	assert_true(short_write_leaves_block(4096, IOMAP_PUNCH_GFS2));
}

static void test_alloc_end_punch_frees_it(void **state)
{
	(void)state;
	assert_false(short_write_leaves_block(1024, IOMAP_PUNCH_ALLOC_END));
	assert_false(short_write_leaves_block(4096, IOMAP_PUNCH_ALLOC_END));
}

static void test_policy_keys(void **state)
{
	struct iomap_policy p = { 0 };
	char buf[128];

	(void)state;
	assert_int_equal(iomap_policy_set(&p, "iomap_punch", "alloc_end"), 0);
	assert_int_equal(iomap_policy_set(&p, "iomap_truncate", "pos_len_1"), 0);
	assert_int_equal(iomap_policy_set(&p, "prefault", "trim"), 0);
	assert_int_equal(iomap_policy_set(&p, "prefault", "some"), -EINVAL);
	assert_int_equal(iomap_policy_set(&p, "write_loop", "today"), -ENOENT);
	iomap_policy_str(&p, buf, sizeof(buf));
	assert_string_equal(buf, ",iomap_punch=alloc_end,iomap_truncate=pos_len_1,prefault=trim");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_keys),
		cmocka_unit_test(test_gfs2_punch_leaks_last_block),
		cmocka_unit_test(test_alloc_end_punch_frees_it),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
