/*
 * tools/cmd_cat.c - `e4lab cat` (file to stdout) and `e4lab write` (stdin to a
 * file), in 1 MiB chunks (tools layer; calls e4lab.h only).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tools/cmds.h"
#include "tools/util.h"

#define CHUNK (1u << 20)

static const char cat_usage[] = "usage: e4lab cat IMAGE PATH\n";
static const char cat_help[] =
	"usage: e4lab cat IMAGE PATH\n"
	"\n"
	"Write the contents of the file PATH to stdout.  Read-only; IMAGE may be\n"
	"gzip-compressed.\n";

static const char write_usage[] = "usage: e4lab write IMAGE PATH\n";
static const char write_help[] =
	"usage: e4lab write IMAGE PATH\n"
	"\n"
	"Replace the contents of the file PATH with stdin, creating it (mode 0644)\n"
	"when it does not exist.\n";

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Copies the open image file @f to stdout. */
static int cat_file(struct e4_file *f, const char *path, char *buf)
{
	uint64_t off = 0;

	for (;;) {
		ssize_t n = e4_pread(f, buf, CHUNK, off);
		int err;

		if (n < 0)
			return tool_fail(path, (int)n);
		if (n == 0)
			return 0;
		err = write_all(STDOUT_FILENO, buf, n);
		if (err < 0)
			return tool_fail("stdout", err);
		off += n;
	}
}

/* Copies stdin into the open image file @f. */
static int write_file(struct e4_file *f, const char *path, char *buf)
{
	uint64_t off = 0;

	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, CHUNK), w;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return tool_fail("stdin", -errno);
		if (n == 0)
			return 0;
		w = e4_pwrite(f, buf, n, off);
		if (w < 0)
			return tool_fail(path, (int)w);
		if (w != n)
			return tool_fail(path, -EIO);
		off += n;
	}
}

/* How one of the two commands opens its file and what it copies. */
struct stream_cmd {
	const char *name, *usage, *help;
	int read_only, oflags;
	int (*copy)(struct e4_file *f, const char *path, char *buf);
};

/* The frame both commands share: arguments, mount, open, copy, close, unmount. */
static int stream_file(const struct stream_cmd *c, int argc, char **argv)
{
	struct e4_fs *fs;
	struct e4_file *f;
	char *path = NULL, *buf = NULL;
	int err, ret = EXIT_FAIL;

	if (tool_wants_help(argc, argv))
		return tool_help(c->help);
	if (argc != 3 || argv[1][0] == '-')
		return tool_usage(c->usage);
	path = tool_image_path(argv[2]);
	buf = malloc(CHUNK);
	if (!path || !buf) {
		tool_fail(c->name, -ENOMEM);
		goto out;
	}
	if (tool_mount(argv[1], c->read_only, &fs) < 0)
		goto out;
	err = e4_open(fs, path, c->oflags, 0644, &f);
	if (err < 0) {
		tool_fail(path, err);
	} else {
		ret = c->copy(f, path, buf) ? EXIT_FAIL : EXIT_OK;
		err = e4_close(f);
		if (err < 0 && ret == EXIT_OK)
			ret = tool_fail(path, err);
	}
	if (tool_unmount(fs, argv[1]) < 0)
		ret = EXIT_FAIL;
out:
	free(buf);
	free(path);
	return ret;
}

int cmd_cat(int argc, char **argv)
{
	static const struct stream_cmd cat = {
		"cat", cat_usage, cat_help, 1, O_RDONLY, cat_file,
	};

	return stream_file(&cat, argc, argv);
}

int cmd_write(int argc, char **argv)
{
	static const struct stream_cmd wr = {
		"write", write_usage, write_help, 0, O_WRONLY | O_CREAT | O_TRUNC, write_file,
	};

	return stream_file(&wr, argc, argv);
}
