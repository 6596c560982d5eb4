/*
 * Unit tests of libfs/vfs over a fake disk (test_aops_fakedisk.c): the write
 * loop with short copies and an unfaultable source, truncate and punch, and a
 * random-operation test against a shadow copy (fsx style) with a small cache so
 * that reclaim runs all the time.  Replay a failure with E4LAB_SEED=<seed>.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>
#include <linux/falloc.h>

#include "libfs/aops/aops.h"
#include "libfs/vfs/vfs.h"
#include "tests/unit/test_aops_fakedisk.h"

/* ---- a source model: short copies, optionally unfaultable past a budget ---- */

struct src_model {
	uint64_t rng;
	int short_copies;	/* copies stop at random points */
	int bounded;		/* only @budget bytes can ever be copied */
	size_t budget;
	unsigned short_count, fault_ins;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t model_copy(void *arg, void *dst, const void *src, size_t bytes)
{
	struct src_model *sm = arg;
	size_t n = bytes;

	if (sm->short_copies && rnd(&sm->rng) % 3 == 0)
		n = rnd(&sm->rng) % (bytes + 1);
	if (sm->bounded && n > sm->budget)
		n = sm->budget;
	if (sm->bounded)
		sm->budget -= n;
	if (n < bytes)
		sm->short_count++;
	memcpy(dst, src, n);
	return n;
}

static size_t model_fault_in(void *arg, const void *src, size_t bytes)
{
	struct src_model *sm = arg;

	sm->fault_ins++;
	if (sm->bounded && sm->budget == 0)
		return bytes;
	return 0;
}

static const struct vfs_uaccess_ops model_ops = {
	.copy_from_user_atomic = model_copy,
	.fault_in_readable = model_fault_in,
};

/* ---- helpers ---- */

static void check_cache(struct fake_disk *fd)
{
	char buf[160];
	const char *msg = pc_check(fd->dfs.pcache, buf, sizeof(buf));

	if (msg)
		fail_msg("pc_check: %s", msg);
	assert_int_equal(fd->bad_io, 0);
}

static ssize_t write_buf(struct disk_inode *inode, const void *b, size_t len, uint64_t pos,
			 struct src_model *sm)
{
	struct iovec v = { (void *)b, len };

	return vfs_perform_write(inode, &v, 1, pos, sm ? &model_ops : NULL, sm);
}

/* No written block past EOF (unwritten preallocation is allowed). */
static int blocks_past_eof(struct disk_inode *inode)
{
	struct fake_inode *fi = (struct fake_inode *)inode;
	unsigned bs = inode->dfs->block_size;
	uint64_t l = (disk_i_size(inode) + bs - 1) / bs;
	int n = 0;

	for (; l < fi->nmap; l++)
		n += fi->map[l] && !fi->unwritten[l];
	return n;
}

/* ---- the write loop ---- */

static void test_short_copies_retry(void **state)
{
	struct fake_disk *fd = fake_disk_create(1024, 4096, 64 << 10);
	struct disk_inode *inode = fake_inode_create(fd, 12);
	struct src_model sm = { .rng = 99, .short_copies = 1 };
	size_t len = 300000, i;
	uint8_t *b = malloc(len), *r = malloc(len);
	struct iovec v = { r, len };

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)(i * 31 + 7);
	assert_int_equal(write_buf(inode, b, len, 1234, &sm), (ssize_t)len);
	assert_true(sm.short_count > 10);
	assert_int_equal(disk_i_size(inode), 1234 + len);
	assert_int_equal(vfs_release_inode(inode), 0);
	assert_int_equal(vfs_read_iter(inode, &v, 1, 1234), (ssize_t)len);
	assert_memory_equal(b, r, len);
	assert_int_equal(blocks_past_eof(inode), 0);
	check_cache(fd);
	free(b);
	free(r);
	fake_inode_destroy(inode);
	fake_disk_destroy(fd);
}

/* Zero progress and nothing more to fault in: -EFAULT, or the bytes done. */
static void test_unfaultable_source(void **state)
{
	struct fake_disk *fd = fake_disk_create(4096, 1024, 1 << 20);
	struct disk_inode *inode = fake_inode_create(fd, 12);
	struct src_model sm = { .bounded = 1, .budget = 0 };
	uint8_t b[10000];

	memset(b, 'q', sizeof(b));
	assert_int_equal(write_buf(inode, b, sizeof(b), 0, &sm), -EFAULT);
	assert_int_equal(disk_i_size(inode), 0);
	assert_int_equal(fake_inode_blocks(inode), 0);

	sm.budget = 5000;		/* page 0 whole, page 1 short and !uptodate */
	assert_int_equal(write_buf(inode, b, sizeof(b), 0, &sm), 4096);
	assert_int_equal(disk_i_size(inode), 4096);
	assert_int_equal(fake_inode_blocks(inode), 1);	/* page 1's block freed */
	assert_int_equal(blocks_past_eof(inode), 0);
	check_cache(fd);

	/* Into an uptodate page a short copy commits what it copied. */
	sm.budget = 100;
	assert_int_equal(write_buf(inode, b, 1000, 50, &sm), 100);
	assert_int_equal(disk_i_size(inode), 4096);
	check_cache(fd);
	fake_inode_destroy(inode);
	fake_disk_destroy(fd);
}

static void test_iovecs(void **state)
{
	struct fake_disk *fd = fake_disk_create(2048, 1024, 1 << 20);
	struct disk_inode *inode = fake_inode_create(fd, 12);
	char a[3000], b[1], c[7000], r[10001];
	struct iovec w[4] = { { a, sizeof(a) }, { NULL, 0 }, { b, 1 }, { c, sizeof(c) } };
	struct iovec rv[2] = { { r, 5000 }, { r + 5000, 5001 } };

	memset(a, 'a', sizeof(a));
	b[0] = 'b';
	memset(c, 'c', sizeof(c));
	assert_int_equal(vfs_write_iter(inode, w, 4, 100), 10001);
	assert_int_equal(vfs_read_iter(inode, rv, 2, 100), 10001);
	assert_memory_equal(r, a, 3000);
	assert_int_equal(r[3000], 'b');
	assert_memory_equal(r + 3001, c, 7000);
	assert_int_equal(vfs_read_iter(inode, rv, 2, 10101), 0);	/* at EOF */
	check_cache(fd);
	fake_inode_destroy(inode);
	fake_disk_destroy(fd);
}

/* ---- truncate and punch ---- */

static void expect_range(struct disk_inode *inode, uint64_t pos, size_t len, int c)
{
	uint8_t *b = malloc(len);
	struct iovec v = { b, len };
	size_t i;

	assert_int_equal(vfs_read_iter(inode, &v, 1, pos), (ssize_t)len);
	for (i = 0; i < len; i++)
		if (b[i] != (uint8_t)c)
			fail_msg("byte %llu: 0x%02x, expected 0x%02x",
				 (unsigned long long)(pos + i), b[i], (uint8_t)c);
	free(b);
}

static void test_truncate_and_punch(void **state)
{
	static const unsigned sizes[] = { 1024, 2048, 4096 };
	unsigned s;

	for (s = 0; s < 3; s++) {
		unsigned bs = sizes[s];
		struct fake_disk *fd = fake_disk_create(bs, 8192, 1 << 20);
		struct disk_inode *inode = fake_inode_create(fd, 12);
		uint8_t b[40000];

		memset(b, 'z', sizeof(b));
		assert_int_equal(write_buf(inode, b, sizeof(b), 0, NULL), 40000);
		assert_int_equal(vfs_writeback_inode(inode), 0);

		/* Shrink mid-block, then grow again: the cut tail reads as zeros,
		 * from the cache and from the disk. */
		assert_int_equal(vfs_truncate(inode, 10001), 0);
		assert_int_equal(fake_inode_blocks(inode), (10001 + bs - 1) / bs);
		assert_int_equal(vfs_truncate(inode, 30000), 0);
		expect_range(inode, 0, 10001, 'z');
		expect_range(inode, 10001, 30000 - 10001, 0);
		assert_int_equal(vfs_release_inode(inode), 0);
		expect_range(inode, 10001, 30000 - 10001, 0);
		expect_range(inode, 0, 10001, 'z');

		/* Punch an unaligned hole: whole blocks freed, edges zeroed. */
		assert_int_equal(vfs_fallocate(inode, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					       1000, 7000), 0);
		expect_range(inode, 0, 1000, 'z');
		expect_range(inode, 1000, 7000, 0);
		expect_range(inode, 8000, 2001, 'z');
		assert_int_equal(vfs_release_inode(inode), 0);
		expect_range(inode, 0, 1000, 'z');
		expect_range(inode, 1000, 7000, 0);
		expect_range(inode, 8000, 2001, 'z');
		assert_int_equal(fake_inode_blocks(inode),
				 (10001 + bs - 1) / bs - ((8000 / bs) - (1000 + bs - 1) / bs));
		assert_int_equal(disk_i_size(inode), 30000);
		assert_int_equal(blocks_past_eof(inode), 0);
		check_cache(fd);
		fake_inode_destroy(inode);
		fake_disk_destroy(fd);
	}
}

/* ---- fsx ---- */

#define FSX_MAX		(512u << 10)
#define FSX_OPS		10000

struct fsx {
	uint64_t rng, seed;
	unsigned bs;
	struct fake_disk *fd;
	struct disk_inode *inode;
	uint8_t *shadow, *buf;
	uint64_t size;
	unsigned op;
};

static int fsx_trace = -1;

static void trace(struct fsx *x, const char *what, uint64_t a, uint64_t b, long r)
{
	if (fsx_trace < 0)
		fsx_trace = getenv("E4LAB_FSX_TRACE") != NULL;
	if (fsx_trace)
		fprintf(stderr, "%u %s %llu %llu -> %ld (size %llu)\n", x->op, what,
			(unsigned long long)a, (unsigned long long)b, r,
			(unsigned long long)x->size);
}

static uint64_t fsx_rand(struct fsx *x, uint64_t n)
{
	return n ? rnd(&x->rng) % n : 0;
}

#define FSX_ASSERT(x, cond, ...) do {						\
	if (!(cond)) {								\
		print_error("fsx: seed %llu block size %u op %u: ",			\
			    (unsigned long long)(x)->seed, (x)->bs, (x)->op);	\
		fail_msg(__VA_ARGS__);						\
	}									\
} while (0)

static void fsx_compare(struct fsx *x, uint64_t pos, uint64_t len)
{
	struct iovec v = { x->buf, len };
	ssize_t r = vfs_read_iter(x->inode, &v, 1, pos);
	uint64_t want = pos >= x->size ? 0 : (len < x->size - pos ? len : x->size - pos), i;

	FSX_ASSERT(x, r == (ssize_t)want, "read at %llu len %llu returned %zd, want %llu",
		   (unsigned long long)pos, (unsigned long long)len, r,
		   (unsigned long long)want);
	for (i = 0; i < want; i++)
		FSX_ASSERT(x, x->buf[i] == x->shadow[pos + i],
			   "byte %llu is 0x%02x, want 0x%02x", (unsigned long long)(pos + i),
			   x->buf[i], x->shadow[pos + i]);
}

/*
 * After a write that stopped at @done of @len bytes: an uncommitted short copy
 * may have left source bytes in the cache past @done (as in the kernel), so each
 * byte there must be the old one or the new one, never anything else (zeros,
 * stale blocks).  Then the application retries with a good buffer.
 */
static void fsx_finish_bounded(struct fsx *x, uint64_t pos, uint64_t len, uint64_t done)
{
	uint8_t *seen = malloc(len);
	struct iovec v = { seen, len - done };
	uint64_t i, end = pos + len, visible;
	ssize_t r;

	visible = x->size > pos + done ? (x->size < end ? x->size : end) - pos - done : 0;
	r = vfs_read_iter(x->inode, &v, 1, pos + done);
	FSX_ASSERT(x, r == (ssize_t)visible, "read after bounded write: %zd", r);
	for (i = 0; i < visible; i++)
		FSX_ASSERT(x, seen[i] == x->shadow[pos + done + i] || seen[i] == x->buf[done + i],
			   "byte %llu after a failed copy is 0x%02x: neither old 0x%02x nor new 0x%02x",
			   (unsigned long long)(pos + done + i), seen[i],
			   x->shadow[pos + done + i], x->buf[done + i]);
	free(seen);
	if (done == len)
		return;
	r = write_buf(x->inode, x->buf + done, len - done, pos + done, NULL);
	trace(x, "write-retry", pos + done, len - done, r);
	FSX_ASSERT(x, r == (ssize_t)(len - done), "retry write returned %zd", r);
	memcpy(x->shadow + pos + done, x->buf + done, len - done);
	if (end > x->size)
		x->size = end;
}

static void fsx_write(struct fsx *x, int model)
{
	uint64_t pos = fsx_rand(x, FSX_MAX), len = 1 + fsx_rand(x, 3 * PC_PAGE_SIZE + 100), i;
	struct src_model sm = { .rng = x->rng | 1, .short_copies = model == 1,
				.bounded = model == 2, .budget = fsx_rand(x, len + 1) };
	size_t budget;
	ssize_t r;

	if (fsx_rand(x, 4) == 0)
		len = 1 + fsx_rand(x, 16);
	if (pos + len > FSX_MAX)
		len = FSX_MAX - pos;
	for (i = 0; i < len; i++)
		x->buf[i] = (uint8_t)rnd(&x->rng) | 1;	/* never zero: holes show */
	budget = sm.budget;
	r = write_buf(x->inode, x->buf, len, pos, model ? &sm : NULL);
	trace(x, model == 0 ? "write" : model == 1 ? "write-short" : "write-bounded", pos, len, r);
	if (model == 2)
		FSX_ASSERT(x, r == -EFAULT || (r > 0 && (uint64_t)r <= budget),
			   "bounded write returned %zd", r);
	else
		FSX_ASSERT(x, r == (ssize_t)len, "write returned %zd, want %llu", r,
			   (unsigned long long)len);
	if (r > 0) {
		memcpy(x->shadow + pos, x->buf, (size_t)r);
		if (pos + (uint64_t)r > x->size)
			x->size = pos + (uint64_t)r;
	}
	if (model == 2)
		fsx_finish_bounded(x, pos, len, r < 0 ? 0 : (uint64_t)r);
}

static void fsx_truncate(struct fsx *x)
{
	uint64_t size = fsx_rand(x, FSX_MAX + 1);

	if (fsx_rand(x, 3) == 0)
		size = x->size ? fsx_rand(x, x->size) : 0;
	trace(x, "truncate", size, 0, 0);
	FSX_ASSERT(x, vfs_truncate(x->inode, size) == 0, "truncate %llu failed",
		   (unsigned long long)size);
	if (size < x->size)
		memset(x->shadow + size, 0, x->size - size);
	x->size = size;
}

static void fsx_fallocate(struct fsx *x, int punch)
{
	uint64_t off = fsx_rand(x, FSX_MAX), len = 1 + fsx_rand(x, 5 * PC_PAGE_SIZE), end;
	int mode = punch ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
			 : (fsx_rand(x, 2) ? FALLOC_FL_KEEP_SIZE : 0);
	int err;

	if (off + len > FSX_MAX)
		len = FSX_MAX - off;
	if (!len)
		return;
	end = off + len;
	err = vfs_fallocate(x->inode, mode, off, len);
	trace(x, punch ? "punch" : mode ? "falloc-keep" : "falloc", off, len, err);
	FSX_ASSERT(x, err == 0, "fallocate mode %d %llu+%llu: %d", mode,
		   (unsigned long long)off, (unsigned long long)len, err);
	if (punch && off < x->size)
		memset(x->shadow + off, 0, (end < x->size ? end : x->size) - off);
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > x->size)
		x->size = end;
}

static void fsx_run(unsigned bs, uint64_t seed)
{
	struct fsx x = { .rng = seed * 2654435761u + bs, .seed = seed, .bs = bs };
	char msg[160];
	const char *bad;

	x.fd = fake_disk_create(bs, 4 * FSX_MAX / bs + 64, 32 * PC_PAGE_SIZE);
	x.inode = fake_inode_create(x.fd, 12);
	x.shadow = calloc(1, FSX_MAX + 4 * PC_PAGE_SIZE);
	x.buf = malloc(FSX_MAX + 4 * PC_PAGE_SIZE);
	for (x.op = 0; x.op < FSX_OPS; x.op++) {
		uint64_t k = fsx_rand(&x, 100);

		if (k < 35)
			fsx_write(&x, 0);
		else if (k < 45)
			fsx_write(&x, 1);
		else if (k < 50)
			fsx_write(&x, 2);
		else if (k < 70)
			fsx_compare(&x, fsx_rand(&x, FSX_MAX), 1 + fsx_rand(&x, 4 * PC_PAGE_SIZE));
		else if (k < 78)
			fsx_truncate(&x);
		else if (k < 85)
			fsx_fallocate(&x, 1);
		else if (k < 90)
			fsx_fallocate(&x, 0);
		else if (k < 95 && (trace(&x, "writeback", 0, 0, 0), 1))
			FSX_ASSERT(&x, vfs_writeback_inode(x.inode) == 0, "writeback failed");
		else if ((trace(&x, "release", 0, 0, 0), 1))
			FSX_ASSERT(&x, vfs_release_inode(x.inode) == 0, "release failed");
		FSX_ASSERT(&x, disk_i_size(x.inode) == x.size, "i_size %llu, want %llu",
			   (unsigned long long)disk_i_size(x.inode),
			   (unsigned long long)x.size);
		bad = pc_check(x.fd->dfs.pcache, msg, sizeof(msg));
		FSX_ASSERT(&x, !bad, "pc_check: %s", bad);
		FSX_ASSERT(&x, x.fd->bad_io == 0, "I/O to a block no file owns");
		if (x.op % 200 == 199)
			fsx_compare(&x, 0, FSX_MAX);
	}
	/* Everything on disk, nothing cached: the file must still match. */
	FSX_ASSERT(&x, vfs_release_inode(x.inode) == 0, "final release failed");
	fsx_compare(&x, 0, FSX_MAX);
	FSX_ASSERT(&x, blocks_past_eof(x.inode) == 0, "written blocks past EOF");
	FSX_ASSERT(&x, x.fd->dfs.pcache &&
		   ((struct pc_cache *)x.fd->dfs.pcache)->stats.peak_pages <= 32,
		   "cache went past its bound");
	FSX_ASSERT(&x, ((struct pc_cache *)x.fd->dfs.pcache)->stats.reclaimed > 100,
		   "reclaim never ran");
	free(x.shadow);
	free(x.buf);
	fake_inode_destroy(x.inode);
	fake_disk_destroy(x.fd);
}

static void test_fsx(void **state)
{
	const char *env = getenv("E4LAB_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 20261121;

	fsx_run(1024, seed);
	fsx_run(2048, seed);
	fsx_run(4096, seed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_copies_retry),
		cmocka_unit_test(test_unfaultable_source),
		cmocka_unit_test(test_iovecs),
		cmocka_unit_test(test_truncate_and_punch),
		cmocka_unit_test(test_fsx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
