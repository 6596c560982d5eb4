/*
 * tools/cmd_cmptree.c - `e4lab cmptree`: compare two local trees entry by entry:
 * names, types, modes, owners, sizes, times with nanoseconds, symlink targets,
 * device numbers, hard-link structure, xattrs and contents (tools layer; libc only).
 * Used by the demo and the tests as the oracle of a round trip.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
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
#define MAX_REPORTS 20

static const char cmptree_usage[] =
	"usage: e4lab cmptree [--atime] [--no-owner] [--ignore NAME]... A B\n";
static const char cmptree_help[] =
	"usage: e4lab cmptree [--atime] [--no-owner] [--ignore NAME]... A B\n"
	"\n"
	"Compare the local trees A and B: names, types, modes, owners, sizes,\n"
	"modification times (nanoseconds), symlink targets, device numbers, hard-link\n"
	"structure, extended attributes and contents.  Exit 0 when they match, 2 when\n"
	"they differ (the first differences are printed).\n"
	"\n"
	"  --atime         compare the access times of regular files too (reading a\n"
	"                  directory or symlink updates its own)\n"
	"  --no-owner      do not compare owners\n"
	"  --ignore NAME   skip entries called NAME directly under A and B\n";

struct cmp {
	int atime, no_owner;
	struct tool_names ignore;
	struct tool_links amap;		/* A's linked inode -> B path of its copy */
	struct tool_links bmap;		/* and B's -> A path */
	unsigned long entries, diffs;
	char *abuf, *bbuf;
};

static void differ(struct cmp *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void differ(struct cmp *c, const char *path, const char *fmt, ...)
{
	va_list ap;

	if (c->diffs++ >= MAX_REPORTS)
		return;
	printf("DIFF %s: ", path);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static int list_dir(const char *dir, struct tool_names *names);

/* ---- contents ---- */

static int read_full(int fd, char *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, off + got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : (int)got;
		got += n;
	}
	return (int)got;
}

static int open_noatime(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOATIME | O_NOFOLLOW);

	return fd >= 0 || errno != EPERM ? fd : open(path, O_RDONLY | O_NOFOLLOW);
}

/* The next offset at or after @off where @fd may hold data (@size if none). */
static uint64_t next_data(int fd, uint64_t off, uint64_t size)
{
	off_t d = lseek(fd, off, SEEK_DATA);

	if (d < 0)
		return errno == ENXIO ? size : off;
	return (uint64_t)d < size ? (uint64_t)d : size;
}

static void cmp_data(struct cmp *c, const char *a, const char *b, uint64_t size)
{
	int fa = open_noatime(a), fb = open_noatime(b);
	uint64_t off = 0;

	if (fa < 0 || fb < 0) {
		differ(c, a, "cannot open for reading: %s", strerror(errno));
		goto out;
	}
	while (off < size) {
		uint64_t da = next_data(fa, off, size), db = next_data(fb, off, size);
		size_t want;
		int na, nb;

		off = da < db ? da : db;	/* a hole in both reads as zeros in both */
		if (off >= size)
			break;
		want = size - off < CHUNK ? size - off : CHUNK;
		na = read_full(fa, c->abuf, want, off);
		nb = read_full(fb, c->bbuf, want, off);
		if (na != (int)want || nb != (int)want) {
			differ(c, a, "short read at %llu", (unsigned long long)off);
			break;
		}
		if (memcmp(c->abuf, c->bbuf, want)) {
			size_t i = 0;

			while (c->abuf[i] == c->bbuf[i])
				i++;
			differ(c, a, "contents differ at byte %llu", (unsigned long long)(off + i));
			break;
		}
		off += want;
	}
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
}

/* ---- xattrs ---- */

static int xattr_names(const char *path, struct tool_names *names)
{
	char list[65536];
	ssize_t len = llistxattr(path, list, sizeof(list));

	if (len < 0)
		return errno == ENOTSUP ? 0 : -errno;
	for (ssize_t i = 0; i < len; i += strlen(list + i) + 1) {
		int err = tool_names_add(names, list + i, strlen(list + i));

		if (err)
			return err;
	}
	tool_names_sort(names);
	return 0;
}

static void cmp_xattrs(struct cmp *c, const char *a, const char *b)
{
	struct tool_names na = { 0 }, nb = { 0 };

	if (xattr_names(a, &na) < 0 || xattr_names(b, &nb) < 0) {
		differ(c, a, "cannot list xattrs");
		goto out;
	}
	if (na.n != nb.n) {
		differ(c, a, "%zu xattrs, copy has %zu", na.n, nb.n);
		goto out;
	}
	for (size_t i = 0; i < na.n; i++) {
		ssize_t la, lb;

		if (strcmp(na.v[i], nb.v[i])) {
			differ(c, a, "xattr %s, copy has %s", na.v[i], nb.v[i]);
			break;
		}
		la = lgetxattr(a, na.v[i], c->abuf, CHUNK);
		lb = lgetxattr(b, nb.v[i], c->bbuf, CHUNK);
		if (la != lb || (la > 0 && memcmp(c->abuf, c->bbuf, la))) {
			differ(c, a, "xattr %s has a different value", na.v[i]);
			break;
		}
	}
out:
	tool_names_free(&na);
	tool_names_free(&nb);
}

/* ---- entries ---- */

static int same_ts(const struct timespec *x, const struct timespec *y)
{
	return x->tv_sec == y->tv_sec && x->tv_nsec == y->tv_nsec;
}

/*
 * Hard links: names that share an inode in A must share one in B and the other
 * way round, within the compared trees (links to outside them do not count).
 */
static void link_check(struct cmp *c, struct tool_links *map, const char *name,
		       const struct stat *from, const char *other, const struct stat *to)
{
	const char *seen = tool_links_find(map, from->st_dev, from->st_ino);
	struct stat sc;

	if (!seen) {
		tool_links_add(map, from->st_dev, from->st_ino, other);
		return;
	}
	if (lstat(seen, &sc) < 0 || sc.st_ino != to->st_ino || sc.st_dev != to->st_dev)
		differ(c, name, "hard links differ: not the same inode as %s", seen);
}

static void cmp_links(struct cmp *c, const char *a, const char *b, const struct stat *sa,
		      const struct stat *sb)
{
	if (S_ISDIR(sa->st_mode))
		return;
	if (sa->st_nlink > 1)
		link_check(c, &c->amap, a, sa, b, sb);
	if (sb->st_nlink > 1)
		link_check(c, &c->bmap, b, sb, a, sa);
}

static void cmp_target(struct cmp *c, const char *a, const char *b)
{
	char ta[4097], tb[4097];
	ssize_t la = readlink(a, ta, sizeof(ta) - 1), lb = readlink(b, tb, sizeof(tb) - 1);

	if (la < 0 || lb < 0 || la != lb || memcmp(ta, tb, la))
		differ(c, a, "symlink target differs");
}

static int cmp_entry(struct cmp *c, const char *a, const char *b, int top);

static int ignored(const struct cmp *c, const char *name, int top)
{
	for (size_t k = 0; top && k < c->ignore.n; k++)
		if (!strcmp(name, c->ignore.v[k]))
			return 1;
	return 0;
}

static int cmp_dirs(struct cmp *c, const char *a, const char *b, int top)
{
	struct tool_names na = { 0 }, nb = { 0 };
	size_t i = 0, j = 0;
	int err;

	err = list_dir(a, &na);
	if (!err)
		err = list_dir(b, &nb);
	while (!err && (i < na.n || j < nb.n)) {
		int d = i == na.n ? 1 : j == nb.n ? -1 : strcmp(na.v[i], nb.v[j]);
		const char *name = d <= 0 ? na.v[i] : nb.v[j];

		if (ignored(c, name, top)) {
			/* skipped */
		} else if (d < 0) {
			differ(c, a, "%s is missing from the copy", name);
		} else if (d > 0) {
			differ(c, b, "%s is only in the copy", name);
		} else {
			char *ca = tool_join(a, name), *cb = tool_join(b, name);

			err = ca && cb ? cmp_entry(c, ca, cb, 0) : -ENOMEM;
			free(ca);
			free(cb);
		}
		i += d <= 0;
		j += d >= 0;
	}
	tool_names_free(&na);
	tool_names_free(&nb);
	return err;
}

/* Compares one entry (and, for a directory, everything below it); @top says
 * its children are the ones --ignore applies to. */
static int cmp_entry(struct cmp *c, const char *a, const char *b, int top)
{
	struct stat sa, sb;

	c->entries++;
	if (lstat(a, &sa) < 0)
		return tool_fail(a, -errno), -errno;
	if (lstat(b, &sb) < 0)
		return tool_fail(b, -errno), -errno;
	if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT)) {
		differ(c, a, "type 0%o, copy has 0%o", sa.st_mode & S_IFMT, sb.st_mode & S_IFMT);
		return 0;
	}
	if (!S_ISLNK(sa.st_mode) && sa.st_mode != sb.st_mode)
		differ(c, a, "mode 0%o, copy has 0%o", sa.st_mode & 07777, sb.st_mode & 07777);
	if (!c->no_owner && (sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid))
		differ(c, a, "owner %u:%u, copy has %u:%u", sa.st_uid, sa.st_gid,
		       sb.st_uid, sb.st_gid);
	if (!same_ts(&sa.st_mtim, &sb.st_mtim))
		differ(c, a, "mtime %lld.%09ld, copy has %lld.%09ld", (long long)sa.st_mtim.tv_sec,
		       sa.st_mtim.tv_nsec, (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
	if (c->atime && S_ISREG(sa.st_mode) && !same_ts(&sa.st_atim, &sb.st_atim))
		differ(c, a, "atime %lld.%09ld, copy has %lld.%09ld", (long long)sa.st_atim.tv_sec,
		       sa.st_atim.tv_nsec, (long long)sb.st_atim.tv_sec, sb.st_atim.tv_nsec);
	if ((S_ISCHR(sa.st_mode) || S_ISBLK(sa.st_mode)) && sa.st_rdev != sb.st_rdev)
		differ(c, a, "device number differs");
	cmp_links(c, a, b, &sa, &sb);
	if (!S_ISLNK(sa.st_mode))
		cmp_xattrs(c, a, b);
	if (S_ISLNK(sa.st_mode))
		cmp_target(c, a, b);
	if (S_ISREG(sa.st_mode) && sa.st_size != sb.st_size)
		differ(c, a, "size %lld, copy has %lld", (long long)sa.st_size,
		       (long long)sb.st_size);
	else if (S_ISREG(sa.st_mode))
		cmp_data(c, a, b, sa.st_size);
	if (S_ISDIR(sa.st_mode))
		return cmp_dirs(c, a, b, top);
	return 0;
}

static int list_dir(const char *dir, struct tool_names *names)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return tool_fail(dir, -errno), -errno;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			tool_names_add(names, de->d_name, strlen(de->d_name));
	}
	closedir(d);
	tool_names_sort(names);
	return 0;
}

static int cmp_parse(int argc, char **argv, struct cmp *c)
{
	static const struct option longopts[] = {
		{ "atime", no_argument, NULL, 'a' },
		{ "no-owner", no_argument, NULL, 'o' },
		{ "ignore", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch == 'a')
			c->atime = 1;
		else if (ch == 'o')
			c->no_owner = 1;
		else if (ch == 'i')
			tool_names_add(&c->ignore, optarg, strlen(optarg));
		else
			return -1;
	}
	return argc - optind == 2 ? optind : -1;
}

int cmd_cmptree(int argc, char **argv)
{
	struct cmp c = { 0 };
	int i, err = -ENOMEM;

	if (tool_wants_help(argc, argv))
		return tool_help(cmptree_help);
	i = cmp_parse(argc, argv, &c);
	if (i < 0) {
		tool_names_free(&c.ignore);
		return tool_usage(cmptree_usage);
	}
	c.abuf = malloc(CHUNK);
	c.bbuf = malloc(CHUNK);
	if (c.abuf && c.bbuf) {
		err = cmp_entry(&c, argv[i], argv[i + 1], 1);
	}
	if (err == -ENOMEM)
		tool_fail("cmptree", err);
	printf("%lu entries compared, %lu difference%s\n", c.entries, c.diffs,
	       c.diffs == 1 ? "" : "s");
	tool_links_free(&c.amap);
	tool_links_free(&c.bmap);
	tool_names_free(&c.ignore);
	free(c.abuf);
	free(c.bbuf);
	return err || c.diffs ? EXIT_FAIL : EXIT_OK;
}
