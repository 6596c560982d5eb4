/*
 * libfs/vfs + aops + pcache over the real libfs/disk on scratch images made by
 * mkfs.ext4 (block sizes 1024, 2048, 4096): random operations against a shadow
 * copy with a small cache, a large sequential write with merged I/O, and after
 * each image `e2fsck -fn` must exit 0 and debugfs must dump the same bytes.
 * Replay a failure with E4LAB_SEED=<seed>.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <linux/falloc.h>

#include "libfs/blk/blk.h"
#include "libfs/disk/disk.h"
#include "libfs/pcache/pcache.h"
#include "libfs/vfs/vfs.h"
#include "libfs/aops/aops.h"
#include "inline/inline.h"

struct img {
	char dir[64], path[128];
	struct blk_dev *dev;
	struct disk_fs *dfs;
	struct disk_inode *root;
};

static int run(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = system(cmd);
	return r == -1 ? -1 : WEXITSTATUS(r);
}

static void img_create_opts(struct img *im, unsigned bs, const char *size,
			    const char *opts)
{
	strcpy(im->dir, "/tmp/e4vfsXXXXXX");
	assert_non_null(mkdtemp(im->dir));
	snprintf(im->path, sizeof(im->path), "%s/img", im->dir);
	if (run("mkfs.ext4 -q -F -b %u %s %s %s >/dev/null 2>&1", bs, opts, im->path, size))
		fail_msg("mkfs.ext4 -b %u %s failed", bs, opts);
}

static void img_create(struct img *im, unsigned bs, const char *size)
{
	img_create_opts(im, bs, size, "");
}

static void img_mount(struct img *im, size_t cache_bytes)
{
	int err = 0;

	im->dev = blk_open_image(im->path, 0, &err);
	assert_non_null(im->dev);
	assert_int_equal(disk_mount(im->dev, 0, &im->dfs), 0);
	assert_int_equal(vfs_cache_init(im->dfs, cache_bytes), 0);
	assert_int_equal(disk_iget(im->dfs, EXT2_ROOT_INO, &im->root), 0);
}

static void img_unmount(struct img *im)
{
	disk_iput(im->root);
	assert_int_equal(vfs_cache_destroy(im->dfs), 0);
	assert_int_equal(disk_unmount(im->dfs), 0);
	blk_close(im->dev);
}

static void img_fsck_and_remove(struct img *im)
{
	int r = run("e2fsck -fn %s >%s/fsck.out 2>&1", im->path, im->dir);

	if (r != 0) {
		run("cat %s/fsck.out >&2", im->dir);
		fail_msg("e2fsck -fn %s exited %d (image kept)", im->path, r);
	}
	run("rm -rf %s", im->dir);
}

static struct disk_inode *img_create_file(struct img *im, const char *name)
{
	struct disk_inode *inode;

	assert_int_equal(disk_create(im->root, name, strlen(name), S_IFREG | 0644, 0,
				     &inode), 0);
	return inode;
}

/* debugfs's view of /name must equal @want (@size bytes). */
static void expect_debugfs(struct img *im, const char *name, const uint8_t *want,
			   uint64_t size)
{
	char out[160];
	struct stat st;
	uint8_t *got;
	FILE *f;

	snprintf(out, sizeof(out), "%s/dump", im->dir);
	if (run("debugfs -R 'dump /%s %s' %s >/dev/null 2>&1", name, out, im->path))
		fail_msg("debugfs dump failed");
	assert_int_equal(stat(out, &st), 0);
	assert_int_equal((uint64_t)st.st_size, size);
	got = malloc(size + 1);
	f = fopen(out, "rb");
	assert_int_equal(fread(got, 1, size, f), size);
	fclose(f);
	if (size && memcmp(got, want, size)) {
		uint64_t i = 0;

		while (got[i] == want[i])
			i++;
		fail_msg("debugfs: byte %llu is 0x%02x, want 0x%02x", (unsigned long long)i,
			 got[i], want[i]);
	}
	free(got);
}

/* ---- random operations ---- */

#define RND_MAX		(768u << 10)
#define RND_OPS		3000

struct rnd {
	uint64_t s, seed;
	unsigned bs, op;
	struct disk_inode *inode;
	uint8_t *shadow, *buf;
	uint64_t size;
};

static uint64_t next(struct rnd *r, uint64_t n)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return n ? r->s % n : 0;
}

#define R_ASSERT(r, cond, ...) do {						\
	if (!(cond)) {								\
		print_error("image fsx: seed %llu block size %u op %u: ",		\
			    (unsigned long long)(r)->seed, (r)->bs, (r)->op);	\
		fail_msg(__VA_ARGS__);						\
	}									\
} while (0)

/* A source whose atomic copies stop short a third of the time (a page of the
 * user buffer not present); faulting in always succeeds, so the loop retries. */
static size_t short_copy(void *arg, void *dst, const void *src, size_t bytes)
{
	uint64_t *s = arg;
	size_t n = bytes;

	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	if (*s % 3 == 0)
		n = (*s >> 8) % (bytes + 1);
	memcpy(dst, src, n);
	return n;
}

static size_t fault_in_ok(void *arg, const void *src, size_t bytes)
{
	return 0;
}

static const struct vfs_uaccess_ops short_ops = {
	.copy_from_user_atomic = short_copy,
	.fault_in_readable = fault_in_ok,
};

static void r_compare(struct rnd *r, uint64_t pos, uint64_t len)
{
	struct iovec v = { r->buf, len };
	ssize_t got = vfs_read_iter(r->inode, &v, 1, pos);
	uint64_t want = pos >= r->size ? 0 : (len < r->size - pos ? len : r->size - pos), i;

	R_ASSERT(r, got == (ssize_t)want, "read %llu+%llu: %zd, want %llu",
		 (unsigned long long)pos, (unsigned long long)len, got,
		 (unsigned long long)want);
	for (i = 0; i < want; i++)
		R_ASSERT(r, r->buf[i] == r->shadow[pos + i], "byte %llu: 0x%02x, want 0x%02x",
			 (unsigned long long)(pos + i), r->buf[i], r->shadow[pos + i]);
}

static void r_step(struct rnd *r)
{
	uint64_t k = next(r, 100), pos = next(r, RND_MAX), len, i;
	int err;

	len = 1 + next(r, k < 10 ? 64 << 10 : 3 * 4096 + 100);
	if (pos + len > RND_MAX)
		len = RND_MAX - pos;
	if (k < 45) {
		struct iovec v = { r->buf, len };
		ssize_t w;

		for (i = 0; i < len; i++)
			r->buf[i] = (uint8_t)next(r, 255) + 1;
		if (k & 1)
			w = vfs_perform_write(r->inode, &v, 1, pos, &short_ops, &r->s);
		else
			w = vfs_write_iter(r->inode, &v, 1, pos);
		R_ASSERT(r, w == (ssize_t)len, "write %llu+%llu: %zd", (unsigned long long)pos,
			 (unsigned long long)len, w);
		memcpy(r->shadow + pos, r->buf, len);
		if (pos + len > r->size)
			r->size = pos + len;
	} else if (k < 65) {
		r_compare(r, pos, len);
	} else if (k < 73) {
		uint64_t size = next(r, 3) ? next(r, r->size + 1) : next(r, RND_MAX + 1);

		R_ASSERT(r, vfs_truncate(r->inode, size) == 0, "truncate %llu",
			 (unsigned long long)size);
		if (size < r->size)
			memset(r->shadow + size, 0, r->size - size);
		r->size = size;
	} else if (k < 81) {
		err = vfs_fallocate(r->inode, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, pos, len);
		R_ASSERT(r, err == 0, "punch %llu+%llu: %d", (unsigned long long)pos,
			 (unsigned long long)len, err);
		if (pos < r->size)
			memset(r->shadow + pos, 0, (pos + len < r->size ? pos + len : r->size) - pos);
	} else if (k < 86) {
		int mode = next(r, 2) ? FALLOC_FL_KEEP_SIZE : 0;

		err = vfs_fallocate(r->inode, mode, pos, len);
		R_ASSERT(r, err == 0, "fallocate %d %llu+%llu: %d", mode,
			 (unsigned long long)pos, (unsigned long long)len, err);
		if (!mode && pos + len > r->size)
			r->size = pos + len;
	} else if (k < 93) {
		R_ASSERT(r, vfs_writeback_inode(r->inode) == 0, "writeback");
	} else {
		R_ASSERT(r, vfs_release_inode(r->inode) == 0, "release");
	}
	R_ASSERT(r, disk_i_size(r->inode) == r->size, "i_size %llu, want %llu",
		 (unsigned long long)disk_i_size(r->inode), (unsigned long long)r->size);
}

static void random_ops(unsigned bs, uint64_t seed)
{
	struct rnd r = { .s = seed * 0x9E3779B97F4A7C15ull + bs, .seed = seed, .bs = bs };
	struct img im;
	char msg[160];
	const char *bad;

	img_create(&im, bs, "64M");
	img_mount(&im, 64 * 4096);
	r.inode = img_create_file(&im, "f");
	r.shadow = calloc(1, RND_MAX);
	r.buf = malloc(RND_MAX);
	for (r.op = 0; r.op < RND_OPS; r.op++) {
		r_step(&r);
		bad = pc_check(im.dfs->pcache, msg, sizeof(msg));
		R_ASSERT(&r, !bad, "pc_check: %s", bad);
		if (r.op % 250 == 249)
			r_compare(&r, 0, RND_MAX);
	}
	R_ASSERT(&r, vfs_release_inode(r.inode) == 0, "final release");
	r_compare(&r, 0, RND_MAX);
	disk_iput(r.inode);
	img_unmount(&im);
	expect_debugfs(&im, "f", r.shadow, r.size);
	img_fsck_and_remove(&im);
	free(r.shadow);
	free(r.buf);
}

static void test_random_ops(void **state)
{
	const char *env = getenv("E4LAB_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 4242;

	random_ops(1024, seed);
	random_ops(2048, seed);
	random_ops(4096, seed);
}

/* ---- sequential I/O ---- */

/* A pass-through device in front of data_dev: counts file-data I/O alone. */
static int count_read(struct blk_dev *d, uint64_t off, void *buf, size_t len)
{
	d->stats.reads++;
	d->stats.bytes_read += len;
	return blk_read(d->lower, off, buf, len);
}

static int count_write(struct blk_dev *d, uint64_t off, const void *buf, size_t len)
{
	d->stats.writes++;
	d->stats.bytes_written += len;
	return d->lower->ops->write(d->lower, off, buf, len);
}

static int count_flush(struct blk_dev *d)
{
	return blk_flush(d->lower);
}

static void count_destroy(struct blk_dev *d)
{
}

static const struct blk_ops count_ops = {
	.name = "count", .read = count_read, .write = count_write,
	.flush = count_flush, .destroy = count_destroy,
};

static void count_attach(struct blk_dev *cd, struct disk_fs *dfs)
{
	memset(cd, 0, sizeof(*cd));
	cd->ops = &count_ops;
	cd->lower = dfs->data_dev;
	cd->size = dfs->data_dev->size;
	cd->block_size = dfs->data_dev->block_size;
	dfs->data_dev = cd;
}

static void count_detach(struct blk_dev *cd, struct disk_fs *dfs)
{
	dfs->data_dev = cd->lower;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 48 MiB through a 4 MiB cache: reclaim writes back in large runs. */
static void test_sequential_merge(void **state)
{
	const size_t total = 48u << 20, chunk = 1u << 20;
	uint8_t *b = malloc(chunk), *r = malloc(chunk);
	struct disk_inode *inode;
	struct blk_dev cd;
	struct pc_cache *c;
	struct img im;
	double t0, tw, tr;
	uint64_t meta0;
	size_t off, i;

	img_create(&im, 4096, "64M");
	img_mount(&im, 4u << 20);
	c = im.dfs->pcache;
	inode = img_create_file(&im, "big");
	count_attach(&cd, im.dfs);
	meta0 = im.dev->stats.writes;
	t0 = now();
	for (off = 0; off < total; off += chunk) {
		struct iovec v = { b, chunk };

		for (i = 0; i < chunk; i += 4096)
			memset(b + i, (int)((off + i) / 4096 % 251) + 1, 4096);
		assert_int_equal(vfs_write_iter(inode, &v, 1, off), (ssize_t)chunk);
	}
	assert_int_equal(vfs_writeback_inode(inode), 0);
	tw = now() - t0;
	print_message("sequential 48 MiB, 4 MiB cache: write %.0f MB/s, %llu data writes "
		      "(%llu bytes), %llu other device writes\n", total / tw / 1e6,
		      (unsigned long long)cd.stats.writes,
		      (unsigned long long)cd.stats.bytes_written,
		      (unsigned long long)(im.dev->stats.writes - meta0 - cd.stats.writes));
	assert_true(c->stats.peak_pages <= (4u << 20) / 4096);
	assert_int_equal(cd.stats.bytes_written, total);
	/* 1 MiB writes, a few cut short where a reclaim batch ended. */
	assert_true(cd.stats.writes <= 2 * total / AOPS_MAX_IO);
	assert_int_equal(vfs_release_inode(inode), 0);
	t0 = now();
	for (off = 0; off < total; off += chunk) {
		struct iovec v = { r, chunk };

		assert_int_equal(vfs_read_iter(inode, &v, 1, off), (ssize_t)chunk);
		for (i = 0; i < chunk; i += 4096)
			if (r[i] != (uint8_t)((off + i) / 4096 % 251 + 1) ||
			    r[i + 4095] != r[i])
				fail_msg("read back: page at %zu wrong", off + i);
	}
	tr = now() - t0;
	print_message("read %.0f MB/s, %llu data reads\n", total / tr / 1e6,
		      (unsigned long long)cd.stats.reads);
	assert_int_equal(cd.stats.bytes_read, total);
	assert_true(cd.stats.reads <= 2 * total / AOPS_MAX_IO);
	count_detach(&cd, im.dfs);
	disk_iput(inode);
	img_unmount(&im);
	img_fsck_and_remove(&im);
	free(b);
	free(r);
}

/* Many small files, as a tree copy does, then all read back after a remount. */
static void test_many_files(void **state)
{
	struct img im;
	char name[32];
	uint8_t b[9000];
	int i;

	img_create(&im, 1024, "64M");
	img_mount(&im, 256u << 10);
	for (i = 0; i < 300; i++) {
		struct disk_inode *inode;
		struct iovec v = { b, (size_t)(i * 29) % sizeof(b) };

		memset(b, i + 1, sizeof(b));
		snprintf(name, sizeof(name), "f%d", i);
		inode = img_create_file(&im, name);
		assert_int_equal(vfs_write_iter(inode, &v, 1, 0), (ssize_t)v.iov_len);
		disk_iput(inode);	/* pages stay cached; reclaim writes them */
	}
	img_unmount(&im);
	img_mount(&im, 256u << 10);
	for (i = 0; i < 300; i++) {
		struct disk_inode *inode;
		size_t len = (size_t)(i * 29) % sizeof(b), k;
		uint8_t r[9000];
		struct iovec v = { r, sizeof(r) };

		snprintf(name, sizeof(name), "/f%d", i);
		assert_int_equal(disk_namei(im.dfs, name, 0, &inode), 0);
		assert_int_equal(vfs_read_iter(inode, &v, 1, 0), (ssize_t)len);
		for (k = 0; k < len; k++)
			if (r[k] != (uint8_t)(i + 1))
				fail_msg("%s: byte %zu is %u", name, k, r[k]);
		disk_iput(inode);
	}
	img_unmount(&im);
	img_fsck_and_remove(&im);
}

/* Inline data: small writes stay in the inode with a clean page; a write past
 * the inline maximum converts, and everything reads back, also via debugfs. */
static void test_inline_file(void **state)
{
	uint8_t want[6000], got[6000];
	struct iovec v = { got, sizeof(got) };
	struct disk_inode *inode;
	struct pc_page *p;
	struct img im;
	int n;

	memset(want, 0, sizeof(want));
	img_create_opts(&im, 4096, "64M", "-I 256 -O inline_data");
	img_mount(&im, 1u << 20);
	inode = img_create_file(&im, "small");
	inl_init_new_inode(inode);
	memset(want, 'i', 40);
	n = (int)vfs_write_iter(inode, &(struct iovec){ want, 40 }, 1, 0);
	assert_int_equal(n, 40);
	assert_true(inl_has_inline_data(inode));
	p = pc_find_get_page(inode->i_mapping, 0);
	assert_non_null(p);
	assert_true(p->flags & PC_PG_UPTODATE);
	assert_false(p->flags & (PC_PG_DIRTY | PC_PG_PRIVATE));	/* the inode has it */
	pc_put_page(p);
	memcpy(want + 30, "tail", 4);
	assert_int_equal(vfs_write_iter(inode, &(struct iovec){ want + 30, 4 }, 1, 30), 4);
	assert_int_equal(vfs_release_inode(inode), 0);
	assert_int_equal(vfs_read_iter(inode, &v, 1, 0), 40);
	assert_memory_equal(got, want, 40);

	/* Past the inline maximum: converted to a block, contents kept. */
	memset(want + 5000, 'j', 1000);
	assert_int_equal(vfs_write_iter(inode, &(struct iovec){ want + 5000, 1000 }, 1, 5000),
			 1000);
	assert_false(inl_has_inline_data(inode));
	assert_int_equal(vfs_read_iter(inode, &v, 1, 0), 6000);
	assert_memory_equal(got, want, 6000);
	assert_int_equal(vfs_release_inode(inode), 0);
	assert_int_equal(vfs_read_iter(inode, &v, 1, 0), 6000);
	assert_memory_equal(got, want, 6000);
	disk_iput(inode);

	/* An inline file truncated, then punched (which converts it). */
	inode = img_create_file(&im, "t");
	inl_init_new_inode(inode);
	memset(want, 'k', 100);
	assert_int_equal(vfs_write_iter(inode, &(struct iovec){ want, 100 }, 1, 0), 100);
	assert_true(inl_has_inline_data(inode));
	assert_int_equal(vfs_truncate(inode, 50), 0);
	assert_int_equal(vfs_read_iter(inode, &v, 1, 0), 50);
	assert_memory_equal(got, want, 50);
	assert_int_equal(vfs_fallocate(inode, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				       10, 20), 0);
	memset(want + 10, 0, 20);
	assert_int_equal(vfs_read_iter(inode, &v, 1, 0), 50);
	assert_memory_equal(got, want, 50);
	disk_iput(inode);
	img_unmount(&im);
	memset(want, 0, sizeof(want));
	memset(want, 'i', 40);
	memcpy(want + 30, "tail", 4);
	memset(want + 5000, 'j', 1000);
	expect_debugfs(&im, "small", want, 6000);
	memset(want, 'k', 50);
	memset(want + 10, 0, 20);
	expect_debugfs(&im, "t", want, 50);
	img_fsck_and_remove(&im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_ops),
		cmocka_unit_test(test_sequential_merge),
		cmocka_unit_test(test_many_files),
		cmocka_unit_test(test_inline_file),
	};

	if (run("command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null")) {
		fprintf(stderr, "test_vfs_image: mkfs.ext4 or e2fsck missing\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
