/*
 * tools/cmd_put.c - `e4lab put`: copy a local file or tree into an image with
 * modes, owners, times, symlinks, hard links, xattrs, special files and holes
 * (tools layer; calls e4lab.h and libc).  The first error stops the copy; the
 * image is unmounted cleanly either way.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "tools/cmds.h"
#include "tools/util.h"

#define CHUNK (1u << 20)

static const char put_usage[] = "usage: e4lab put IMAGE LOCALPATH IMAGEPATH\n";
static const char put_help[] =
	"usage: e4lab put IMAGE LOCALPATH IMAGEPATH\n"
	"\n"
	"Copy the local file or directory tree LOCALPATH into the image, keeping modes,\n"
	"owners, access and modification times (with nanoseconds), symlinks, hard links\n"
	"within the tree, extended attributes, device nodes, fifos, sockets and holes.\n"
	"\n"
	"IMAGEPATH names the copy when it does not exist.  An existing directory at\n"
	"IMAGEPATH receives a source directory's contents (so \"put IMAGE tree /\" fills\n"
	"the root) and a source file inside it.  An existing file is replaced.\n";

struct put_ctx {
	struct e4_fs *fs;
	struct tool_links links;
	struct tool_progress progress;
	char *buf;		/* CHUNK bytes */
};

static int put_entry(struct put_ctx *c, const char *local, const char *dst,
		     const struct stat *st);

/* Prints "e4lab: PATH: error" and passes the error through. */
static int put_fail(const char *path, int err)
{
	tool_fail(path, err);
	return err;
}

/* ---- reading the local tree ---- */

static int local_list(const char *dir, struct tool_names *names)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int err = 0;

	if (!d)
		return -errno;
	while (!err && (errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		err = tool_names_add(names, de->d_name, strlen(de->d_name));
	}
	if (!err && errno)
		err = -errno;
	closedir(d);
	if (err)
		tool_names_free(names);
	else
		tool_names_sort(names);
	return err;
}

/* Adds up the files and bytes below @path for the progress bar. */
static void local_scan(const char *path, struct tool_progress *p)
{
	struct tool_names names = { 0 };
	struct stat st;

	if (lstat(path, &st) < 0)
		return;
	p->total_files++;
	if (S_ISREG(st.st_mode))	/* what will be copied: holes are not */
		p->total_bytes += (uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size ?
				  (uint64_t)st.st_blocks * 512 : (uint64_t)st.st_size;
	if (!S_ISDIR(st.st_mode) || local_list(path, &names) < 0)
		return;
	for (size_t i = 0; i < names.n; i++) {
		char *child = tool_join(path, names.v[i]);

		if (child)
			local_scan(child, p);
		free(child);
	}
	tool_names_free(&names);
}

/* ---- data ---- */

static int put_write(struct put_ctx *c, struct e4_file *f, const char *dst,
		     size_t len, uint64_t off)
{
	const char *p = c->buf;

	while (len) {
		ssize_t n = e4_pwrite(f, p, len, off);

		if (n < 0)
			return put_fail(dst, (int)n);
		if (n == 0)
			return put_fail(dst, -EIO);
		p += n;
		off += n;
		len -= n;
		tool_progress_add(&c->progress, n, 0);
	}
	return 0;
}

/* Copies [start, end) of @fd in CHUNK pieces. */
static int put_range(struct put_ctx *c, int fd, struct e4_file *f, const char *local,
		     const char *dst, uint64_t start, uint64_t end)
{
	while (start < end) {
		size_t want = end - start < CHUNK ? end - start : CHUNK;
		ssize_t n = pread(fd, c->buf, want, start);
		int err;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return put_fail(local, -errno);
		if (n == 0)	/* the file shrank under us */
			return 0;
		err = put_write(c, f, dst, n, start);
		if (err)
			return err;
		start += n;
	}
	return 0;
}

/* Copies only the data regions of @fd (SEEK_DATA/SEEK_HOLE), then sets the size. */
static int put_data(struct put_ctx *c, int fd, struct e4_file *f, const char *local,
		    const char *dst, uint64_t size)
{
	uint64_t off = 0, end = 0;
	int err;

	while (off < size) {
		off_t data = lseek(fd, off, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0) {		/* no SEEK_DATA here: copy everything */
			data = off;
			hole = size;
		} else {
			hole = lseek(fd, data, SEEK_HOLE);
			if (hole < 0 || (uint64_t)hole > size)
				hole = size;
		}
		err = put_range(c, fd, f, local, dst, data, hole);
		if (err)
			return err;
		off = hole;
		end = hole;
	}
	if (end == size)
		return 0;
	err = e4_ftruncate(f, size);	/* a trailing hole */
	return err < 0 ? put_fail(dst, err) : 0;
}

static int put_regular(struct put_ctx *c, const char *local, const char *dst,
		       const struct stat *st)
{
	struct e4_file *f;
	int fd, err;

	fd = open(local, O_RDONLY | O_NOFOLLOW | O_NOATIME);	/* keep atimes */
	if (fd < 0 && errno == EPERM)
		fd = open(local, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		return put_fail(local, -errno);
	err = e4_open(c->fs, dst, O_WRONLY | O_CREAT | O_EXCL, 0600, &f);
	if (err < 0) {
		close(fd);
		return err == -EEXIST ? err : put_fail(dst, err);
	}
	err = put_data(c, fd, f, local, dst, st->st_size);
	if (e4_close(f) < 0 && !err)
		err = put_fail(dst, -EIO);
	close(fd);
	return err;
}

/* ---- attributes ---- */

static int put_xattrs(const char *local, struct e4_fs *fs, const char *dst)
{
	char *names = NULL, *value = NULL;
	ssize_t len = llistxattr(local, NULL, 0);
	int err = 0;

	if (len <= 0)
		return 0;	/* none, or not supported here */
	names = malloc(len);
	value = malloc(65536);
	if (!names || !value) {
		err = put_fail(local, -ENOMEM);
		goto out;
	}
	len = llistxattr(local, names, len);
	for (ssize_t i = 0; i < len && !err; i += strlen(names + i) + 1) {
		ssize_t n = lgetxattr(local, names + i, value, 65536);

		if (n < 0)
			continue;	/* vanished, or not ours to read */
		err = e4_setxattr(fs, dst, names + i, value, n, 0);
		if (err < 0)
			tool_msg("%s: xattr %s: %s", dst, names + i, e4_strerror(err));
	}
out:
	free(value);
	free(names);
	return err;
}

/* Owner, mode, xattrs and times of @dst from @st (ctime cannot be set). */
static int put_attrs(struct put_ctx *c, const char *local, const char *dst,
		     const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	int err;

	err = put_xattrs(local, c->fs, dst);
	if (err)
		return err;
	err = e4_chown(c->fs, dst, st->st_uid, st->st_gid);
	if (!err && !S_ISLNK(st->st_mode))
		err = e4_chmod(c->fs, dst, st->st_mode & 07777);
	if (!err)
		err = e4_utimens(c->fs, dst, ts);
	return err < 0 ? put_fail(dst, err) : 0;
}

/* ---- entries ---- */

/* Makes room for a non-directory at @dst: an existing non-directory goes. */
static int put_clear(struct put_ctx *c, const char *dst)
{
	struct e4_stat est;
	int err = e4_stat(c->fs, dst, &est);

	if (err == -ENOENT)
		return 0;
	if (err == 0 && S_ISDIR(est.mode))
		err = -EISDIR;
	else if (err == 0)
		err = e4_unlink(c->fs, dst);
	return err < 0 ? put_fail(dst, err) : 0;
}

static int put_dir(struct put_ctx *c, const char *local, const char *dst,
		   const struct stat *st)
{
	struct tool_names names = { 0 };
	struct e4_stat est;
	int err = e4_mkdir(c->fs, dst, 0700);

	if (err == -EEXIST && e4_stat(c->fs, dst, &est) == 0 && !S_ISDIR(est.mode))
		err = -ENOTDIR;
	else if (err == -EEXIST)
		err = 0;	/* merge into the existing directory */
	if (err < 0)
		return put_fail(dst, err);
	err = local_list(local, &names);
	if (err < 0)
		return put_fail(local, err);
	for (size_t i = 0; i < names.n && !err; i++) {
		char *from = tool_join(local, names.v[i]);
		char *to = tool_join(dst, names.v[i]);
		struct stat cst;

		if (!from || !to)
			err = put_fail(local, -ENOMEM);
		else if (lstat(from, &cst) < 0)
			err = put_fail(from, -errno);
		else
			err = put_entry(c, from, to, &cst);
		free(to);
		free(from);
	}
	tool_names_free(&names);
	return err ? err : put_attrs(c, local, dst, st);
}

static int put_symlink(struct put_ctx *c, const char *local, const char *dst)
{
	char target[4097];
	ssize_t n = readlink(local, target, sizeof(target) - 1);
	int err;

	if (n < 0)
		return put_fail(local, -errno);
	target[n] = 0;
	err = e4_symlink(c->fs, target, dst);
	return err < 0 && err != -EEXIST ? put_fail(dst, err) : err;
}

/* A second name of an inode already copied becomes a hard link. */
static int put_hardlink(struct put_ctx *c, const char *first, const char *dst)
{
	int err = put_clear(c, dst);

	if (err)
		return err;
	err = e4_link(c->fs, first, dst);
	if (err < 0)
		tool_msg("link %s -> %s: %s", dst, first, e4_strerror(err));
	return err;
}

/* Creates the non-directory @dst from @local: -EEXIST (silently) when a name is
 * in the way, other errors after a message. */
static int put_make(struct put_ctx *c, const char *local, const char *dst,
		    const struct stat *st)
{
	int err;

	if (S_ISREG(st->st_mode))
		return put_regular(c, local, dst, st);
	if (S_ISLNK(st->st_mode))
		return put_symlink(c, local, dst);
	err = e4_mknod(c->fs, dst, st->st_mode, st->st_rdev);
	return err < 0 && err != -EEXIST ? put_fail(dst, err) : err;
}

static int put_entry(struct put_ctx *c, const char *local, const char *dst,
		     const struct stat *st)
{
	const char *first;
	int err;

	if (S_ISDIR(st->st_mode))
		return put_dir(c, local, dst, st);
	tool_progress_add(&c->progress, 0, 1);
	first = st->st_nlink > 1 ? tool_links_find(&c->links, st->st_dev, st->st_ino) : NULL;
	if (first)
		return put_hardlink(c, first, dst);
	err = put_make(c, local, dst, st);
	if (err == -EEXIST) {	/* replace what is there (not a directory) */
		err = put_clear(c, dst);
		if (!err)
			err = put_make(c, local, dst, st);
		if (err == -EEXIST)
			err = put_fail(dst, err);
	}
	if (!err)
		err = put_attrs(c, local, dst, st);
	if (!err && st->st_nlink > 1 &&
	    tool_links_add(&c->links, st->st_dev, st->st_ino, dst) < 0)
		err = put_fail(dst, -ENOMEM);
	return err;
}

/*
 * Where the copy of @local goes: @dst itself, or @dst/basename(local) when @dst
 * is an existing directory and @local is not one.  NULL after a message.
 */
static char *put_target(struct e4_fs *fs, const char *local, const struct stat *st,
			const char *dst)
{
	struct e4_stat est;
	char *base, *out;
	int err = e4_stat(fs, dst, &est);

	if (err == -ENOENT || (err == 0 && !S_ISDIR(est.mode) && !S_ISDIR(st->st_mode)))
		return strdup(dst);
	if (err == 0 && !S_ISDIR(est.mode))
		err = -ENOTDIR;
	if (err < 0) {
		tool_fail(dst, err);
		return NULL;
	}
	if (S_ISDIR(st->st_mode))
		return strdup(dst);
	base = tool_basename(local);
	out = base ? tool_join(dst, base) : NULL;
	free(base);
	return out;
}

static int put_run(struct put_ctx *c, const char *local, const char *dst)
{
	struct stat st;
	char *target;
	int err;

	if (lstat(local, &st) < 0)
		return put_fail(local, -errno);
	target = put_target(c->fs, local, &st, dst);
	if (!target)
		return -EINVAL;
	if (c->progress.enabled)
		local_scan(local, &c->progress);
	err = put_entry(c, local, target, &st);
	tool_progress_done(&c->progress);
	free(target);
	return err;
}

int cmd_put(int argc, char **argv)
{
	struct put_ctx c = { 0 };
	const char *image;
	char *dst;
	int ret = EXIT_FAIL;

	if (tool_wants_help(argc, argv))
		return tool_help(put_help);
	if (argc != 4 || argv[1][0] == '-')
		return tool_usage(put_usage);
	image = argv[1];
	tool_progress_init(&c.progress, "put");
	dst = tool_image_path(argv[3]);
	c.buf = malloc(CHUNK);
	if (!dst || !c.buf) {
		tool_fail("put", -ENOMEM);
		goto out;
	}
	if (tool_mount(image, 0, &c.fs) < 0)
		goto out;
	ret = put_run(&c, argv[2], dst) ? EXIT_FAIL : EXIT_OK;
	if (tool_unmount(c.fs, image) < 0)
		ret = EXIT_FAIL;
out:
	tool_links_free(&c.links);
	free(c.buf);
	free(dst);
	return ret;
}
