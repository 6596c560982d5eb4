/*
 * bench/fsync_loop.c - N x (create a 4 KiB file, write, fsync, close), timed:
 * through libe4lab on an image, or through the kernel on a mounted directory.
 * Prints "MODE N SECONDS OPS_PER_SECOND".  Used by bench/fsync.sh.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e4lab.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int loop_e4lab(const char *image, int n, const char *buf)
{
	struct e4_mount_opts mo;
	struct e4_fs *fs;
	char path[64];
	int i, ret;

	e4_mount_opts_init(&mo);
	ret = e4_mount(image, &mo, &fs);
	if (ret) {
		fprintf(stderr, "fsync_loop: %s: %s\n", image, e4_strerror(ret));
		return 1;
	}
	for (i = 0; i < n && !ret; i++) {
		struct e4_file *f;

		snprintf(path, sizeof(path), "/f%06d", i);
		ret = e4_open(fs, path, O_CREAT | O_WRONLY | O_TRUNC, 0644, &f);
		if (ret)
			break;
		if (e4_pwrite(f, buf, 4096, 0) != 4096)
			ret = -5;
		if (!ret)
			ret = e4_fsync(f);
		e4_close(f);
	}
	if (ret)
		fprintf(stderr, "fsync_loop: file %d: %s\n", i, e4_strerror(ret));
	return e4_unmount(fs) || ret ? 1 : 0;
}

static int loop_posix(const char *dir, int n, const char *buf)
{
	char path[4096];
	int i;

	for (i = 0; i < n; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/f%06d", dir, i);
		fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
		if (fd < 0 || write(fd, buf, 4096) != 4096 || fsync(fd) < 0) {
			perror(path);
			return 1;
		}
		close(fd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char buf[4096];
	double t0, t;
	int n, ret;

	if (argc != 4 || (strcmp(argv[1], "e4lab") && strcmp(argv[1], "kernel"))) {
		fprintf(stderr, "usage: fsync_loop e4lab IMAGE N | kernel DIR N\n");
		return 1;
	}
	n = atoi(argv[3]);
	memset(buf, 'e', sizeof(buf));
	t0 = now();
	if (!strcmp(argv[1], "e4lab"))
		ret = loop_e4lab(argv[2], n, buf);
	else
		ret = loop_posix(argv[2], n, buf);
	t = now() - t0;
	if (ret)
		return 2;
	printf("%s %d %.3f %.0f\n", argv[1], n, t, n / t);
	return 0;
}
