/*
 * bench/commit_time.c - times one-file transactions through the public API:
 * create a file, write 4 KiB, fsync, close; N times on one mount.  Prints the
 * median and the minimum in microseconds.  With FILL (percent), a file is
 * first fallocated over that share of the image, so every group is in use.
 * Run by bench/commit.sh.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e4lab.h"

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One transaction: returns its duration in microseconds, or 0 on error. */
static uint64_t one_file(struct e4_fs *fs, unsigned i, const char *buf)
{
	struct e4_file *fp;
	char path[64];
	uint64_t t0 = now_us();
	int err;

	snprintf(path, sizeof(path), "/commit-%u", i);
	err = e4_open(fs, path, O_CREAT | O_WRONLY | O_TRUNC, 0644, &fp);
	if (err) {
		fprintf(stderr, "commit_time: open %s: %s\n", path, e4_strerror(err));
		return 0;
	}
	if (e4_pwrite(fp, buf, 4096, 0) != 4096 || e4_fsync(fp) != 0) {
		fprintf(stderr, "commit_time: write or fsync %s failed\n", path);
		e4_close(fp);
		return 0;
	}
	if (e4_close(fp))
		return 0;
	return now_us() - t0;
}

/* Unwritten extents over @percent of the image, committed before timing. */
static int fill_image(struct e4_fs *fs, unsigned percent)
{
	struct e4_info info;
	struct e4_file *fp;
	int err;

	err = e4_info(fs, &info);
	if (!err)
		err = e4_open(fs, "/fill", O_CREAT | O_WRONLY, 0644, &fp);
	if (err)
		return err;
	err = e4_fallocate(fp, 0, 0, info.blocks_count / 100 * percent * info.block_size);
	if (!err)
		err = e4_fsync(fp);
	e4_close(fp);
	return err;
}

int main(int argc, char **argv)
{
	struct e4_fs *fs;
	uint64_t *t;
	char buf[4096];
	unsigned n, i;
	int err;

	if (argc < 3 || argc > 4 || (n = (unsigned)atoi(argv[2])) == 0) {
		fprintf(stderr, "usage: commit_time IMAGE N [FILL_PERCENT]\n");
		return 2;
	}
	memset(buf, 'c', sizeof(buf));
	t = calloc(n, sizeof(*t));
	err = t ? e4_mount(argv[1], NULL, &fs) : -1;
	if (err) {
		fprintf(stderr, "commit_time: mount %s: %s\n", argv[1], e4_strerror(err));
		return 1;
	}
	if (argc == 4 && (err = fill_image(fs, (unsigned)atoi(argv[3])))) {
		fprintf(stderr, "commit_time: fill: %s\n", e4_strerror(err));
		return 1;
	}
	for (i = 0; i < n; i++)
		if ((t[i] = one_file(fs, i, buf)) == 0)
			break;
	err = e4_unmount(fs);
	if (i < n || err) {
		fprintf(stderr, "commit_time: failed after %u transactions\n", i);
		return 1;
	}
	qsort(t, n, sizeof(*t), cmp_u64);
	printf("%llu %llu\n", (unsigned long long)t[n / 2], (unsigned long long)t[0]);
	free(t);
	return 0;
}
