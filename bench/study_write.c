/*
 * bench/study_write.c - dd-like buffered writes into a page cache big enough to
 * hold the file (Nick Piggin's tmpfs table in seed 003, scaled): a new file, then
 * an overwrite of its cached pages, with 4 KiB and 64 KiB writes.
 *   study_write pwrite IMAGE SIZE_MIB [ROUNDS]   through e4_pwrite (plain memory)
 *   study_write loops IMAGE SIZE_MIB [ROUNDS]    every vfs write loop (enum
 *       vfs_write_loop) with the source in a libfs/mm address space, interleaved
 *       round by round; prints seconds and the percentage against today's loop.
 *   study_write one LOOP WRITE_KIB IMAGE SIZE_MIB  one loop, one write size, one
 *       round: for counting instructions under valgrind --tool=callgrind
 *       --toggle-collect=dd_new --toggle-collect=dd_over (bench/study.sh does).
 * Best of ROUNDS (default 3) for each case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e4lab.h"
#include "libfs/api/api_internal.h"
#include "libfs/mm/mm.h"
#include "libfs/study/study.h"

#include <fcntl.h>	/* last: with _GNU_SOURCE it defines LOCK_READ/LOCK_WRITE */

static const char *const loop_names[VFS_WL_NR] = {
	[VFS_WL_TODAY] = "today",
	[VFS_WL_PREPARE_COMMIT_2619] = "prepare_commit_2619",
	[VFS_WL_WRITE_BEGIN_2624] = "write_begin_2624",
	[VFS_WL_GUP_PIN_2007] = "gup_pin_2007",
	[VFS_WL_ZERO_RETRY_2007] = "zero_retry_2007",
	[VFS_WL_TEMP_PAGE_2007] = "temp_page_2007",
	[VFS_WL_IDEA42_2007] = "idea42_2007",
	[VFS_WL_NICK_2006] = "nick_2006",
	[VFS_WL_READPAGE_FLAG_2007] = "readpage_flag_2007",
};

struct bench {
	const char *image;
	uint64_t total;
	struct mm *mm;
	uint64_t uaddr;		/* a 64 KiB anonymous buffer in mm */
	char *buf;		/* the same bytes in plain memory */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes b->total bytes in @bs-byte writes with loop @wl (-1: e4_pwrite). */
static double dd(struct bench *b, struct e4_file *f, size_t bs, int wl)
{
	struct vfs_policy pol = { (enum vfs_write_loop)(wl < 0 ? 0 : wl) };
	struct iovec iov = { (void *)(uintptr_t)b->uaddr, bs };
	double t0 = now();

	for (uint64_t off = 0; off < b->total; off += bs) {
		ssize_t n = wl < 0 ? e4_pwrite(f, b->buf, bs, off)
				   : vfs_perform_write_policy(f->inode, &iov, 1, off, &study_mm_uaccess,
							      b->mm, &pol);
		if (n != (ssize_t)bs)
			return -1;
	}
	return now() - t0;
}

/* The two timed phases, apart so that callgrind can count each. */
__attribute__((noinline)) double dd_new(struct bench *b, struct e4_file *f, size_t bs, int wl);
__attribute__((noinline)) double dd_over(struct bench *b, struct e4_file *f, size_t bs, int wl);

double dd_new(struct bench *b, struct e4_file *f, size_t bs, int wl)
{
	volatile double t = dd(b, f, bs, wl);	/* no tail call: callgrind sees the frame */

	return t;
}

double dd_over(struct bench *b, struct e4_file *f, size_t bs, int wl)
{
	volatile double t = dd(b, f, bs, wl);

	return t;
}

/* One mount: new file then overwrite with @bs-byte writes; t[0], t[1]. */
static int one(struct bench *b, size_t bs, int wl, double t[2])
{
	struct e4_mount_opts o;
	struct e4_fs *fs;
	struct e4_file *f;

	e4_mount_opts_init(&o);
	o.pcache_bytes = (size_t)b->total + (32u << 20);
	if (e4_mount(b->image, &o, &fs))
		return -1;
	if (e4_open(fs, "/f", O_CREAT | O_RDWR, 0644, &f)) {
		e4_unmount(fs);
		return -1;
	}
	t[0] = dd_new(b, f, bs, wl);
	t[1] = dd_over(b, f, bs, wl);
	e4_close(f);
	e4_unlink(fs, "/f");
	e4_unmount(fs);
	return t[0] < 0 || t[1] < 0 ? -1 : 0;
}

static void keep_best(double *best, double t)
{
	if (*best == 0 || t < *best)
		*best = t;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 4096, 65536 };
	double best[VFS_WL_NR + 1][2][2] = { { { 0 } } };	/* [loop+1][size][new/over] */
	struct e4_mkfs_opts mo;
	struct bench b = { 0 };
	int rounds = argc > 4 ? atoi(argv[4]) : 3, loops;

	int only = -1;
	size_t only_bs = 0;

	if (argc == 6 && !strcmp(argv[1], "one")) {
		for (int i = 0; i < VFS_WL_NR; i++)
			if (!strcmp(argv[2], loop_names[i]))
				only = i;
		only_bs = strtoul(argv[3], NULL, 10) << 10;
		argv += 2;
		rounds = 1;
		if (only < 0 || (only_bs != 4096 && only_bs != 65536)) {
			fprintf(stderr, "study_write one: unknown loop or size\n");
			return 1;
		}
	} else if (argc < 4 || (strcmp(argv[1], "pwrite") && strcmp(argv[1], "loops"))) {
		fprintf(stderr, "usage: study_write pwrite|loops IMAGE SIZE_MIB [ROUNDS]\n"
			"       study_write one LOOP WRITE_KIB IMAGE SIZE_MIB\n");
		return 1;
	}
	loops = !strcmp(argv[1], "loops") || only >= 0;
	b.image = argv[2];
	b.total = strtoull(argv[3], NULL, 10) << 20;
	b.buf = malloc(65536);
	if (!b.buf || mm_create(&b.mm) ||
	    mm_mmap(b.mm, 65536, VM_READ | VM_WRITE, NULL, NULL, 0, &b.uaddr))
		return 2;
	memset(b.buf, 'x', 65536);
	mm_copy_to_user(b.mm, b.uaddr, b.buf, 65536);
	e4_mkfs_opts_init(&mo);
	mo.size = b.total * 2 + (64u << 20);
	if (e4_mkfs(b.image, &mo)) {
		fprintf(stderr, "mkfs %s failed\n", b.image);
		return 2;
	}
	for (int r = 0; r < rounds; r++)
		for (size_t k = 0; k < 2; k++)
			for (int wl = loops ? 0 : -1; wl < (loops ? VFS_WL_NR : 0); wl++) {
				double t[2];

				if (only >= 0 && (wl != only || sizes[k] != only_bs))
					continue;
				if (one(&b, sizes[k], wl, t)) {
					fprintf(stderr, "write failed (loop %d)\n", wl);
					return 2;
				}
				keep_best(&best[wl + 1][k][0], t[0]);
				keep_best(&best[wl + 1][k][1], t[1]);
			}
	if (only >= 0) {
		printf("%s %zuK new %.4f s overwrite %.4f s\n", loop_names[only], only_bs >> 10,
		       best[only + 1][only_bs == 65536][0], best[only + 1][only_bs == 65536][1]);
		return 0;
	}
	if (!loops) {
		for (size_t k = 0; k < 2; k++)
			printf("pwrite new-file %zuK %.4f s\npwrite overwrite %zuK %.4f s\n",
			       sizes[k] >> 10, best[0][k][0], sizes[k] >> 10, best[0][k][1]);
		return 0;
	}
	printf("%-20s %14s %14s %14s %14s\n", "loop", "new 4K", "new 64K", "overwrite 4K",
	       "overwrite 64K");
	for (int wl = 0; wl < VFS_WL_NR; wl++) {
		printf("%-20s", loop_names[wl]);
		for (int m = 0; m < 2; m++)
			for (size_t k = 0; k < 2; k++) {
				double t = best[wl + 1][k][m], t0 = best[1][k][m];

				printf(" %7.3fs %+5.1f%%", t, (t / t0 - 1) * 100);
			}
		printf("\n");
	}
	mm_destroy(b.mm);
	free(b.buf);
	return 0;
}
