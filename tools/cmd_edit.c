/*
 * tools/cmd_edit.c - the small editing subcommands: mkdir [-p], rm [-r], mv,
 * truncate (tools layer; calls e4lab.h only).  Each mounts read-write, makes
 * its change and unmounts, so the image is clean when the command returns.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/cmds.h"
#include "tools/util.h"

static const char mkdir_usage[] = "usage: e4lab mkdir [-p] IMAGE PATH\n";
static const char mkdir_help[] =
	"usage: e4lab mkdir [-p] IMAGE PATH\n"
	"\n"
	"Make the directory PATH (mode 0755).\n"
	"\n"
	"  -p    make missing parents too; no error if PATH is already a directory\n";
static const char rm_usage[] = "usage: e4lab rm [-r] IMAGE PATH\n";
static const char rm_help[] =
	"usage: e4lab rm [-r] IMAGE PATH\n"
	"\n"
	"Remove the file, symlink, special file or empty directory PATH.\n"
	"\n"
	"  -r    remove a directory and everything below it\n";
static const char mv_usage[] = "usage: e4lab mv IMAGE FROM TO\n";
static const char mv_help[] =
	"usage: e4lab mv IMAGE FROM TO\n"
	"\n"
	"Rename FROM to TO, replacing TO if it is a file.  When TO is an existing\n"
	"directory, FROM moves into it (as mv(1) does).\n";
static const char truncate_usage[] = "usage: e4lab truncate IMAGE PATH SIZE\n";
static const char truncate_help[] =
	"usage: e4lab truncate IMAGE PATH SIZE\n"
	"\n"
	"Set the size of the file PATH to SIZE bytes (K, M, G suffixes), cutting or\n"
	"extending it with a hole.\n";

/* Parses one flag letter @flag; returns the first operand index or -1. */
static int parse_flag(int argc, char **argv, int flag, int *set)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char opts[2] = { (char)flag, 0 };
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, opts, longopts, NULL)) != -1) {
		if (c != flag)
			return -1;
		*set = 1;
	}
	return optind;
}

/* Mounts read-write, runs @fn(fs, a, b), unmounts: the exit status. */
static int with_image(const char *image, int (*fn)(struct e4_fs *, const char *, const void *),
		      const char *path, const void *arg)
{
	struct e4_fs *fs;
	int ret;

	if (tool_mount(image, 0, &fs) < 0)
		return EXIT_FAIL;
	ret = fn(fs, path, arg) < 0 ? EXIT_FAIL : EXIT_OK;
	if (tool_unmount(fs, image) < 0)
		ret = EXIT_FAIL;
	return ret;
}

/* ---- mkdir ---- */

static int mkdir_one(struct e4_fs *fs, const char *path, int parents)
{
	struct e4_stat st;
	int err = e4_mkdir(fs, path, 0755);

	if (err == -EEXIST && parents && e4_stat(fs, path, &st) == 0 && S_ISDIR(st.mode))
		return 0;
	if (err < 0)
		tool_fail(path, err);
	return err;
}

static int do_mkdir(struct e4_fs *fs, const char *path, const void *arg)
{
	int parents = *(const int *)arg, err = 0;
	char *p;

	if (!parents)
		return mkdir_one(fs, path, 0);
	p = strdup(path);
	if (!p)
		return tool_fail(path, -ENOMEM), -ENOMEM;
	for (char *s = p + 1; *s && !err; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		err = mkdir_one(fs, p, 1);
		*s = '/';
	}
	if (!err && strcmp(p, "/"))
		err = mkdir_one(fs, p, 1);
	free(p);
	return err;
}

int cmd_mkdir(int argc, char **argv)
{
	int parents = 0, i, ret;
	char *path;

	if (tool_wants_help(argc, argv))
		return tool_help(mkdir_help);
	i = parse_flag(argc, argv, 'p', &parents);
	if (i < 0 || argc - i != 2)
		return tool_usage(mkdir_usage);
	path = tool_image_path(argv[i + 1]);
	if (!path)
		return tool_fail("mkdir", -ENOMEM);
	ret = with_image(argv[i], do_mkdir, path, &parents);
	free(path);
	return ret;
}

/* ---- rm ---- */

#define RM_MAX_DEPTH 4096	/* deeper is a loop in a corrupt image */

static int rm_tree(struct e4_fs *fs, const char *path, int depth);

static int rm_children(struct e4_fs *fs, const char *path, int depth)
{
	struct tool_names names = { 0 };
	int err = tool_image_list(fs, path, &names);

	if (err < 0)
		return tool_fail(path, err), err;
	for (size_t i = 0; i < names.n && !err; i++) {
		char *child = tool_join(path, names.v[i]);

		err = child ? rm_tree(fs, child, depth + 1) : -ENOMEM;
		free(child);
	}
	tool_names_free(&names);
	return err;
}

static int rm_tree(struct e4_fs *fs, const char *path, int depth)
{
	struct e4_stat st;
	int err = e4_stat(fs, path, &st);

	if (depth > RM_MAX_DEPTH) {
		tool_msg("%s: directories nested too deep (a loop?)", path);
		return -ELOOP;
	}
	if (err == 0 && S_ISDIR(st.mode)) {
		err = rm_children(fs, path, depth);
		if (err < 0)
			return err;
		err = e4_rmdir(fs, path);
	} else if (err == 0) {
		err = e4_unlink(fs, path);
	}
	if (err < 0)
		tool_fail(path, err);
	return err;
}

static int do_rm(struct e4_fs *fs, const char *path, const void *arg)
{
	int recursive = *(const int *)arg, err;
	struct e4_stat st;

	if (!strcmp(path, "/")) {
		tool_msg("rm: refusing to remove /");
		return -EINVAL;
	}
	if (recursive)
		return rm_tree(fs, path, 0);
	err = e4_stat(fs, path, &st);
	if (err == 0)
		err = S_ISDIR(st.mode) ? e4_rmdir(fs, path) : e4_unlink(fs, path);
	if (err < 0)
		tool_fail(path, err);
	return err;
}

int cmd_rm(int argc, char **argv)
{
	int recursive = 0, i, ret;
	char *path;

	if (tool_wants_help(argc, argv))
		return tool_help(rm_help);
	i = parse_flag(argc, argv, 'r', &recursive);
	if (i < 0 || argc - i != 2)
		return tool_usage(rm_usage);
	path = tool_image_path(argv[i + 1]);
	if (!path)
		return tool_fail("rm", -ENOMEM);
	ret = with_image(argv[i], do_rm, path, &recursive);
	free(path);
	return ret;
}

/* ---- mv ---- */

static int do_mv(struct e4_fs *fs, const char *from, const void *arg)
{
	const char *to = arg;
	char *into = NULL, *base;
	struct e4_stat st;
	int err;

	if (e4_stat(fs, to, &st) == 0 && S_ISDIR(st.mode)) {
		base = tool_basename(from);
		into = base ? tool_join(to, base) : NULL;
		free(base);
		if (!into)
			return tool_fail(from, -ENOMEM), -ENOMEM;
		to = into;
	}
	err = e4_rename(fs, from, to);
	if (err < 0)
		tool_msg("%s -> %s: %s", from, to, e4_strerror(err));
	free(into);
	return err;
}

int cmd_mv(int argc, char **argv)
{
	char *from, *to;
	int ret = EXIT_FAIL;

	if (tool_wants_help(argc, argv))
		return tool_help(mv_help);
	if (argc != 4 || argv[1][0] == '-')
		return tool_usage(mv_usage);
	from = tool_image_path(argv[2]);
	to = tool_image_path(argv[3]);
	if (from && to)
		ret = with_image(argv[1], do_mv, from, to);
	else
		tool_fail("mv", -ENOMEM);
	free(to);
	free(from);
	return ret;
}

/* ---- truncate ---- */

static int do_truncate(struct e4_fs *fs, const char *path, const void *arg)
{
	int err = e4_truncate(fs, path, *(const uint64_t *)arg);

	if (err < 0)
		tool_fail(path, err);
	return err;
}

int cmd_truncate(int argc, char **argv)
{
	uint64_t size;
	char *path;
	int ret;

	if (tool_wants_help(argc, argv))
		return tool_help(truncate_help);
	if (argc != 4 || argv[1][0] == '-')
		return tool_usage(truncate_usage);
	if (tool_parse_size(argv[3], &size) < 0) {
		tool_msg("truncate: bad size '%s'", argv[3]);
		return tool_usage(truncate_usage);
	}
	path = tool_image_path(argv[2]);
	if (!path)
		return tool_fail("truncate", -ENOMEM);
	ret = with_image(argv[1], do_truncate, path, &size);
	free(path);
	return ret;
}
