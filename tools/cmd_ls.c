/*
 * tools/cmd_ls.c - `e4lab ls` and `e4lab stat`: list directories and show inodes
 * of an image mounted read-only (tools layer; calls e4lab.h only).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "tools/cmds.h"
#include "tools/util.h"

static const char ls_usage[] = "usage: e4lab ls [-l] IMAGE [PATH]\n";
static const char ls_help[] =
	"usage: e4lab ls [-l] IMAGE [PATH]\n"
	"\n"
	"List the directory PATH (default /) sorted by name, or PATH itself when it is\n"
	"not a directory.  Read-only; IMAGE may be gzip-compressed.\n"
	"\n"
	"  -l    long format: mode, links, owner, group, size, mtime, name -> target\n";

static const char stat_usage[] = "usage: e4lab stat IMAGE PATH\n";
static const char stat_help[] =
	"usage: e4lab stat IMAGE PATH\n"
	"\n"
	"Show the inode at PATH (not following a final symlink): type, mode, owner,\n"
	"size, blocks, times with nanoseconds, flags, and whether its data is inline\n"
	"(kept in the inode) with the inline size in use.\n";

static char type_char(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return 'd';
	case S_IFLNK: return 'l';
	case S_IFCHR: return 'c';
	case S_IFBLK: return 'b';
	case S_IFIFO: return 'p';
	case S_IFSOCK: return 's';
	default: return '-';
	}
}

static const char *type_name(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return "directory";
	case S_IFLNK: return "symbolic link";
	case S_IFCHR: return "character device";
	case S_IFBLK: return "block device";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	case S_IFREG: return "regular file";
	default: return "unknown";
	}
}

static void mode_string(uint32_t mode, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";

	out[0] = type_char(mode);
	for (int i = 0; i < 9; i++)
		out[i + 1] = (mode & (0400 >> i)) ? rwx[i] : '-';
	if (mode & S_ISUID)
		out[3] = (mode & 0100) ? 's' : 'S';
	if (mode & S_ISGID)
		out[6] = (mode & 0010) ? 's' : 'S';
	if (mode & S_ISVTX)
		out[9] = (mode & 0001) ? 't' : 'T';
	out[10] = 0;
}

static void time_string(const struct timespec *ts, char *buf, size_t size)
{
	struct tm tm;
	time_t t = ts->tv_sec;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M", &tm);
}

/* One line of `ls -l` for @path, shown as @name. */
static int ls_long(struct e4_fs *fs, const char *path, const char *name)
{
	struct e4_stat st;
	char mode[11], when[32], target[4096];
	int err = e4_stat(fs, path, &st);

	if (err < 0)
		return tool_fail(path, err);
	mode_string(st.mode, mode);
	time_string(&st.mtime, when, sizeof(when));
	printf("%s %3u %5u %5u ", mode, st.nlink, st.uid, st.gid);
	if (S_ISCHR(st.mode) || S_ISBLK(st.mode))
		printf("%4u, %4u", major(st.rdev), minor(st.rdev));
	else
		printf("%10llu", (unsigned long long)st.size);
	printf(" %s %s", when, name);
	if (S_ISLNK(st.mode)) {
		ssize_t n = e4_readlink(fs, path, target, sizeof(target));

		if (n >= 0 && (size_t)n < sizeof(target))
			printf(" -> %s", target);
	}
	printf("\n");
	return 0;
}

static int ls_dir(struct e4_fs *fs, const char *path, int longfmt)
{
	struct tool_names names = { 0 };
	int err = tool_image_list(fs, path, &names), ret = 0;

	if (err < 0)
		return tool_fail(path, err);
	tool_names_sort(&names);
	for (size_t i = 0; i < names.n && !ret; i++) {
		char *child;

		if (!longfmt) {
			printf("%s\n", names.v[i]);
			continue;
		}
		child = tool_join(path, names.v[i]);
		if (!child) {
			ret = tool_fail(path, -ENOMEM);
			break;
		}
		ret = ls_long(fs, child, names.v[i]);
		free(child);
	}
	tool_names_free(&names);
	return ret;
}

static int ls_path(struct e4_fs *fs, const char *path, int longfmt)
{
	struct e4_stat st;
	int err = e4_stat(fs, path, &st);

	if (err < 0)
		return tool_fail(path, err);
	if (S_ISDIR(st.mode))
		return ls_dir(fs, path, longfmt);
	if (longfmt)
		return ls_long(fs, path, path);
	printf("%s\n", path);
	return 0;
}

int cmd_ls(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct e4_fs *fs;
	char *path;
	int c, longfmt = 0, ret;

	if (tool_wants_help(argc, argv))
		return tool_help(ls_help);
	optind = 0;
	while ((c = getopt_long(argc, argv, "l", longopts, NULL)) != -1) {
		if (c != 'l')
			return tool_usage(ls_usage);
		longfmt = 1;
	}
	if (argc - optind < 1 || argc - optind > 2)
		return tool_usage(ls_usage);
	path = tool_image_path(argc - optind == 2 ? argv[optind + 1] : "/");
	if (!path)
		return tool_fail("ls", -ENOMEM);
	ret = EXIT_FAIL;
	if (tool_mount(argv[optind], 1, &fs) == 0) {
		ret = ls_path(fs, path, longfmt) ? EXIT_FAIL : EXIT_OK;
		if (tool_unmount(fs, argv[optind]) < 0)
			ret = EXIT_FAIL;
	}
	free(path);
	return ret;
}

static void print_time(const char *label, const struct timespec *ts)
{
	char buf[64];
	struct tm tm;
	time_t t = ts->tv_sec;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%-7s %s.%09ld UTC (%lld)\n", label, buf, ts->tv_nsec, (long long)ts->tv_sec);
}

static void print_stat(struct e4_fs *fs, const char *path, const struct e4_stat *st)
{
	char mode[11], target[4096];

	mode_string(st->mode, mode);
	printf("path:   %s\n", path);
	printf("type:   %s\n", type_name(st->mode));
	if (S_ISLNK(st->mode)) {
		ssize_t n = e4_readlink(fs, path, target, sizeof(target));

		if (n >= 0 && (size_t)n < sizeof(target))
			printf("target: %s\n", target);
	}
	printf("inode:  %u\n", st->ino);
	printf("mode:   %04o (%s)\n", st->mode & 07777, mode);
	printf("links:  %u\n", st->nlink);
	printf("uid:    %u\n", st->uid);
	printf("gid:    %u\n", st->gid);
	printf("size:   %llu\n", (unsigned long long)st->size);
	printf("blocks: %llu (512-byte units)\n", (unsigned long long)st->blocks);
	if (S_ISCHR(st->mode) || S_ISBLK(st->mode))
		printf("device: %u,%u\n", major(st->rdev), minor(st->rdev));
	printf("flags:  0x%08x\n", st->flags);
	printf("inline: %s", st->is_inline ? "yes" : "no");
	if (st->is_inline)
		printf(" (%u bytes of inline storage in use)", st->inline_size);
	printf("\n");
	/* the three pieces of inline state, kept apart as the kernel keeps them */
	printf("inline state: may_inline=%d INLINE_DATA=%d i_inline_size=%u\n",
	       st->may_inline, !!(st->flags & 0x10000000u), st->is_inline ? st->inline_size : 0);
	print_time("atime:", &st->atime);
	print_time("mtime:", &st->mtime);
	print_time("ctime:", &st->ctime);
	print_time("crtime:", &st->crtime);
}

int cmd_stat(int argc, char **argv)
{
	struct e4_fs *fs;
	struct e4_stat st;
	char *path;
	int err, ret = EXIT_FAIL;

	if (tool_wants_help(argc, argv))
		return tool_help(stat_help);
	if (argc != 3 || argv[1][0] == '-')
		return tool_usage(stat_usage);
	path = tool_image_path(argv[2]);
	if (!path)
		return tool_fail("stat", -ENOMEM);
	if (tool_mount(argv[1], 1, &fs) == 0) {
		err = e4_stat(fs, path, &st);
		if (err < 0) {
			tool_fail(path, err);
		} else {
			print_stat(fs, path, &st);
			ret = EXIT_OK;
		}
		if (tool_unmount(fs, argv[1]) < 0)
			ret = EXIT_FAIL;
	}
	free(path);
	return ret;
}
