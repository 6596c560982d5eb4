/*
 * tools/cmd_get.c - `e4lab get`: copy a file or tree out of an image, mounted
 * read-only, with modes, owners (when permitted), times, symlinks, hard links,
 * xattrs, special files, and holes for all-zero blocks (tools layer; calls
 * e4lab.h and libc).  The first error stops the copy.
 */
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
#define HOLE_UNIT 4096u	/* all-zero runs of this size become holes */

static const char get_usage[] = "usage: e4lab get IMAGE IMAGEPATH LOCALPATH\n";
static const char get_help[] =
	"usage: e4lab get IMAGE IMAGEPATH LOCALPATH\n"
	"\n"
	"Copy the file or directory tree IMAGEPATH out of the image, keeping modes,\n"
	"owners (when permitted), access and modification times, symlinks, hard links,\n"
	"extended attributes and special files; all-zero blocks become holes.\n"
	"Read-only; IMAGE may be gzip-compressed.\n"
	"\n"
	"LOCALPATH names the copy when it does not exist.  An existing directory at\n"
	"LOCALPATH receives a source directory's contents and a source file inside it.\n"
	"An existing file is replaced.\n";

struct get_ctx {
	struct e4_fs *fs;
	struct tool_links links;	/* image inode -> first local copy */
	struct tool_links dirs;		/* directories entered: a corrupt image
					 * may link one into itself */
	struct tool_progress progress;
	char *buf;			/* CHUNK bytes */
	int warned_xattr;
	int depth;			/* of the directory being copied */
};

#define GET_MAX_DEPTH 4096	/* deeper is a crafted or corrupt image */

static int get_entry(struct get_ctx *c, const char *src, const char *local,
		     const struct e4_stat *st);

static int get_fail(const char *path, int err)
{
	tool_fail(path, err);
	return err;
}

/* ---- the image tree ---- */

/* Totals for the progress bar; @depth bounds it on a corrupt image with loops. */
static void image_scan(struct e4_fs *fs, const char *path, struct tool_progress *p,
		       int depth)
{
	struct tool_names names = { 0 };
	struct e4_stat st;

	if (e4_stat(fs, path, &st) < 0)
		return;
	p->total_files++;
	if (S_ISREG(st.mode))
		p->total_bytes += st.size;
	if (!S_ISDIR(st.mode) || depth > 64 || tool_image_list(fs, path, &names) < 0)
		return;
	for (size_t i = 0; i < names.n; i++) {
		char *child = tool_join(path, names.v[i]);

		if (child)
			image_scan(fs, child, p, depth + 1);
		free(child);
	}
	tool_names_free(&names);
}

/* ---- data ---- */

static int write_all(int fd, const char *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int is_zero(const char *p, size_t len)
{
	static const char zeros[HOLE_UNIT];

	return memcmp(p, zeros, len) == 0;
}

/* Writes @len bytes of c->buf at @off, skipping all-zero HOLE_UNIT blocks. */
static int write_sparse(struct get_ctx *c, int fd, size_t len, uint64_t off)
{
	size_t run = 0, i;

	for (i = 0; i < len; i += HOLE_UNIT) {
		size_t n = len - i < HOLE_UNIT ? len - i : HOLE_UNIT;
		int err;

		if (!is_zero(c->buf + i, n))
			continue;
		if (i > run && (err = write_all(fd, c->buf + run, i - run, off + run)) < 0)
			return err;
		run = i + n;
	}
	return len > run ? write_all(fd, c->buf + run, len - run, off + run) : 0;
}

static int get_data(struct get_ctx *c, struct e4_file *f, int fd, const char *src,
		    const char *local, uint64_t size)
{
	uint64_t off = 0;
	int err;

	while (off < size) {
		size_t want = size - off < CHUNK ? size - off : CHUNK;
		ssize_t n = e4_pread(f, c->buf, want, off);

		if (n < 0)
			return get_fail(src, (int)n);
		if (n == 0)
			break;
		err = write_sparse(c, fd, n, off);
		if (err < 0)
			return get_fail(local, err);
		off += n;
		tool_progress_add(&c->progress, n, 0);
	}
	if (ftruncate(fd, off) < 0)
		return get_fail(local, -errno);
	return 0;
}

static int get_regular(struct get_ctx *c, const char *src, const char *local,
		       const struct e4_stat *st)
{
	struct e4_file *f;
	int fd, err;

	err = e4_open(c->fs, src, O_RDONLY | O_NOFOLLOW, 0, &f);
	if (err < 0)
		return get_fail(src, err);
	fd = open(local, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	if (fd < 0) {
		e4_close(f);
		return get_fail(local, -errno);
	}
	err = get_data(c, f, fd, src, local, st->size);
	if (close(fd) < 0 && !err)
		err = get_fail(local, -errno);
	e4_close(f);
	return err;
}

/* ---- attributes ---- */

/* Is a failure to set an xattr locally one to warn about rather than stop on? */
static int xattr_refused(int err)
{
	return err == EPERM || err == ENOTSUP || err == EACCES || err == EINVAL;
}

static int get_xattr(struct get_ctx *c, const char *src, const char *local,
		     const char *name, char *value)
{
	ssize_t n = e4_getxattr(c->fs, src, name, value, 65536);

	if (n < 0)
		return get_fail(src, (int)n);
	if (lsetxattr(local, name, value, n, 0) == 0)
		return 0;
	if (!xattr_refused(errno))
		return get_fail(local, -errno);
	if (!c->warned_xattr++)
		tool_msg("%s: cannot set xattr %s here (%s); skipping such xattrs",
			 local, name, strerror(errno));
	return 0;
}

static int get_xattrs(struct get_ctx *c, const char *src, const char *local)
{
	char *names = NULL, *value = NULL;
	ssize_t len = e4_listxattr(c->fs, src, NULL, 0);
	int err = 0;

	if (len <= 0)
		return len < 0 ? get_fail(src, (int)len) : 0;
	names = malloc(len);
	value = malloc(65536);
	if (!names || !value) {
		err = get_fail(src, -ENOMEM);
		goto out;
	}
	len = e4_listxattr(c->fs, src, names, len);
	if (len < 0)
		err = get_fail(src, (int)len);
	for (ssize_t i = 0; i < len && !err; i += strlen(names + i) + 1) {
		if (!strcmp(names + i, "system.data"))
			continue;	/* inline data is not an attribute */
		err = get_xattr(c, src, local, names + i, value);
	}
out:
	free(value);
	free(names);
	return err;
}

static int get_attrs(struct get_ctx *c, const char *src, const char *local,
		     const struct e4_stat *st)
{
	struct timespec ts[2] = { st->atime, st->mtime };
	int err = get_xattrs(c, src, local);

	if (err)
		return err;
	if (lchown(local, st->uid, st->gid) < 0 && errno != EPERM)
		return get_fail(local, -errno);
	if (!S_ISLNK(st->mode) && chmod(local, st->mode & 07777) < 0)
		return get_fail(local, -errno);
	if (utimensat(AT_FDCWD, local, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return get_fail(local, -errno);
	return 0;
}

/* ---- entries ---- */

/* Makes room for a non-directory at @local: an existing non-directory goes. */
static int get_clear(const char *local)
{
	struct stat lst;

	if (lstat(local, &lst) < 0)
		return errno == ENOENT ? 0 : get_fail(local, -errno);
	if (S_ISDIR(lst.st_mode))
		return get_fail(local, -EISDIR);
	if (unlink(local) < 0)
		return get_fail(local, -errno);
	return 0;
}

static int get_dir(struct get_ctx *c, const char *src, const char *local,
		   const struct e4_stat *st)
{
	struct tool_names names = { 0 };
	struct stat lst;
	int err;

	if (tool_links_find(&c->dirs, 0, st->ino)) {
		tool_msg("%s: directory inode %u seen twice (a loop in a corrupt image)",
			 src, st->ino);
		return -EUCLEAN;
	}
	if (tool_links_add(&c->dirs, 0, st->ino, src) < 0)
		return get_fail(src, -ENOMEM);
	if (mkdir(local, 0700) < 0) {
		if (errno != EEXIST)
			return get_fail(local, -errno);
		if (stat(local, &lst) < 0 || !S_ISDIR(lst.st_mode))
			return get_fail(local, -ENOTDIR);
	}
	if (c->depth >= GET_MAX_DEPTH) {
		tool_msg("%s: directories nested too deep", src);
		return -ELOOP;
	}
	err = tool_image_list(c->fs, src, &names);
	if (err < 0)
		return get_fail(src, err);
	tool_names_sort(&names);
	c->depth++;
	for (size_t i = 0; i < names.n && !err; i++) {
		char *from = tool_join(src, names.v[i]);
		char *to = tool_join(local, names.v[i]);
		struct e4_stat cst;

		if (!from || !to)
			err = get_fail(src, -ENOMEM);
		else if ((err = e4_stat(c->fs, from, &cst)) < 0)
			err = get_fail(from, err);
		else
			err = get_entry(c, from, to, &cst);
		free(to);
		free(from);
	}
	c->depth--;
	tool_names_free(&names);
	return err ? err : get_attrs(c, src, local, st);
}

static int get_symlink(struct get_ctx *c, const char *src, const char *local)
{
	char target[4097];
	ssize_t n = e4_readlink(c->fs, src, target, sizeof(target));

	if (n < 0)
		return get_fail(src, (int)n);
	if ((size_t)n >= sizeof(target))
		return get_fail(src, -ENAMETOOLONG);
	target[n] = 0;
	if (symlink(target, local) < 0)
		return get_fail(local, -errno);
	return 0;
}

static int get_entry(struct get_ctx *c, const char *src, const char *local,
		     const struct e4_stat *st)
{
	const char *first;
	int err;

	if (S_ISDIR(st->mode))
		return get_dir(c, src, local, st);
	err = get_clear(local);
	if (err)
		return err;
	tool_progress_add(&c->progress, 0, 1);
	first = st->nlink > 1 ? tool_links_find(&c->links, 0, st->ino) : NULL;
	if (first)
		return link(first, local) < 0 ? get_fail(local, -errno) : 0;
	if (S_ISREG(st->mode))
		err = get_regular(c, src, local, st);
	else if (S_ISLNK(st->mode))
		err = get_symlink(c, src, local);
	else if (mknod(local, st->mode & (S_IFMT | 07777), st->rdev) < 0)
		err = get_fail(local, -errno);
	if (!err)
		err = get_attrs(c, src, local, st);
	if (!err && st->nlink > 1 && tool_links_add(&c->links, 0, st->ino, local) < 0)
		err = get_fail(local, -ENOMEM);
	return err;
}

/* Where the copy goes: @local, or @local/basename(src) for a non-directory
 * source and an existing local directory.  NULL after a message. */
static char *get_target(const char *src, const struct e4_stat *st, const char *local)
{
	struct stat lst;
	char *base, *out;

	if (lstat(local, &lst) < 0) {
		if (errno == ENOENT)
			return strdup(local);
		tool_fail(local, -errno);
		return NULL;
	}
	if (S_ISDIR(lst.st_mode) == S_ISDIR(st->mode))
		return strdup(local);
	if (!S_ISDIR(lst.st_mode)) {
		tool_fail(local, -ENOTDIR);
		return NULL;
	}
	base = tool_basename(src);
	out = base ? tool_join(local, base) : NULL;
	free(base);
	return out;
}

static int get_run(struct get_ctx *c, const char *src, const char *local)
{
	struct e4_stat st;
	char *target;
	int err = e4_stat(c->fs, src, &st);

	if (err < 0)
		return get_fail(src, err);
	target = get_target(src, &st, local);
	if (!target)
		return -EINVAL;
	if (c->progress.enabled)
		image_scan(c->fs, src, &c->progress, 0);
	err = get_entry(c, src, target, &st);
	tool_progress_done(&c->progress);
	free(target);
	return err;
}

int cmd_get(int argc, char **argv)
{
	struct get_ctx c = { 0 };
	const char *image;
	char *src;
	int ret = EXIT_FAIL;

	if (tool_wants_help(argc, argv))
		return tool_help(get_help);
	if (argc != 4 || argv[1][0] == '-')
		return tool_usage(get_usage);
	image = argv[1];
	tool_progress_init(&c.progress, "get");
	src = tool_image_path(argv[2]);
	c.buf = malloc(CHUNK);
	if (!src || !c.buf) {
		tool_fail("get", -ENOMEM);
		goto out;
	}
	if (tool_mount(image, 1, &c.fs) < 0)
		goto out;
	ret = get_run(&c, src, argv[3]) ? EXIT_FAIL : EXIT_OK;
	if (tool_unmount(c.fs, image) < 0)
		ret = EXIT_FAIL;
out:
	tool_links_free(&c.dirs);
	tool_links_free(&c.links);
	free(c.buf);
	free(src);
	return ret;
}
