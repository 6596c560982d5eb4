/*
 * tools/cmd_gentree.c - `e4lab gentree`: a deterministic, seeded local tree for
 * the demo, tests/ and bench/ (tools layer; libc only, no image).  The same
 * profile, seed and file count always give the same names, sizes, bytes, modes
 * and times.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "tools/cmds.h"
#include "tools/util.h"

#define CHUNK (1u << 20)

static const char gentree_usage[] =
	"usage: e4lab gentree [--profile demo|test|bench] [--seed N] [--files N] DIR\n";
static const char gentree_help[] =
	"usage: e4lab gentree [--profile demo|test|bench] [--seed N] [--files N] DIR\n"
	"\n"
	"Generate a deterministic tree in DIR (which must not exist), for the demo,\n"
	"the tests and the benchmarks.\n"
	"\n"
	"  --profile demo    a few hundred varied files (the default)\n"
	"  --profile test    thousands of files from 0 bytes to 4 MiB, sparse files,\n"
	"                    deep and wide directories, symlinks, hard links, xattrs,\n"
	"                    fifos, sockets and (as root) device nodes and owners\n"
	"  --profile bench   10,000 files: 40% 1-59 bytes, 40% 1-16 KiB,\n"
	"                    20% 64-512 KiB, in 100 directories\n"
	"  --seed N          the random seed (default 1)\n"
	"  --files N         the number of regular files (default per profile)\n";

enum profile { PROF_DEMO, PROF_TEST, PROF_BENCH };

/* One thing made, for the final pass that sets modes and times, children
 * before parents (a read-only directory is filled before it is locked). */
struct made {
	char *path;
	mode_t mode;		/* 0: leave (symlinks) */
	struct timespec ts[2];
};

/* What set_attrs may do to an entry. */
enum kind { KIND_PLAIN, KIND_SYMLINK, KIND_SPECIAL };

struct gen {
	uint64_t rng;
	enum profile profile;
	unsigned nfiles;
	int is_root;
	char *buf;		/* CHUNK bytes */
	struct tool_names dirs;	/* every directory made, root first */
	struct tool_names files;	/* regular files (hard-link candidates) */
	struct made *made;
	size_t nmade, capmade;
	uint64_t bytes, nsym, nlink, nsparse, nspecial;
};

/* ---- deterministic randomness (splitmix64) ---- */

static uint64_t rnd(struct gen *g)
{
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static uint64_t rnd_range(struct gen *g, uint64_t lo, uint64_t hi)
{
	return lo + rnd(g) % (hi - lo + 1);
}

static void fill(struct gen *g, char *p, size_t len)
{
	uint64_t v = 0;

	for (size_t i = 0; i < len; i++) {
		if ((i & 7) == 0)
			v = rnd(g);
		p[i] = (char)(v >> ((i & 7) * 8));
	}
}

/* ---- bookkeeping ---- */

static int gen_fail(const char *path, int err)
{
	tool_fail(path, err);
	return err;
}

static int remember(struct gen *g, const char *path, mode_t mode)
{
	struct made *m;

	if (g->nmade == g->capmade) {
		size_t cap = g->capmade ? g->capmade * 2 : 1024;
		struct made *v = realloc(g->made, cap * sizeof(*v));

		if (!v)
			return gen_fail(path, -ENOMEM);
		g->made = v;
		g->capmade = cap;
	}
	m = &g->made[g->nmade];
	m->path = strdup(path);
	if (!m->path)
		return gen_fail(path, -ENOMEM);
	m->mode = mode;
	/* 2001..2033, with nanoseconds; the bench keeps round seconds */
	m->ts[0].tv_sec = 1000000000 + rnd(g) % 1000000000;
	m->ts[0].tv_nsec = g->profile == PROF_BENCH ? 0 : rnd(g) % 1000000000;
	m->ts[1].tv_sec = 1000000000 + rnd(g) % 1000000000;
	m->ts[1].tv_nsec = g->profile == PROF_BENCH ? 0 : rnd(g) % 1000000000;
	g->nmade++;
	return 0;
}

static int set_modes_and_times(struct gen *g)
{
	for (size_t i = g->nmade; i-- > 0;) {
		struct made *m = &g->made[i];

		if (m->mode && chmod(m->path, m->mode) < 0)
			return gen_fail(m->path, -errno);
		if (utimensat(AT_FDCWD, m->path, m->ts, AT_SYMLINK_NOFOLLOW) < 0)
			return gen_fail(m->path, -errno);
	}
	return 0;
}

static mode_t pick_mode(struct gen *g, int dir)
{
	static const mode_t file_modes[] = { 0644, 0644, 0644, 0600, 0755, 0640, 0444,
					     0664, 04755, 02755, 0700, 0604 };
	static const mode_t dir_modes[] = { 0755, 0755, 0700, 0750, 0775, 01777, 0555 };

	if (g->profile == PROF_BENCH)
		return dir ? 0755 : 0644;
	if (dir)
		return dir_modes[rnd(g) % (sizeof(dir_modes) / sizeof(dir_modes[0]))];
	return file_modes[rnd(g) % (sizeof(file_modes) / sizeof(file_modes[0]))];
}

/* Owner and xattrs of a fresh entry; its mode and times come last. */
static int set_attrs(struct gen *g, const char *path, mode_t mode, enum kind kind)
{
	static const uid_t ids[] = { 0, 0, 1000, 1001, 65534, 123456 };
	char value[256], name[32];
	unsigned nx;
	uid_t uid, gid;

	if (g->profile != PROF_BENCH) {	/* drawn as any user: same tree for all */
		uid = ids[rnd(g) % 6];
		gid = ids[rnd(g) % 6];
		if (g->is_root && lchown(path, uid, gid) < 0)
			return gen_fail(path, -errno);
	}
	if (kind != KIND_PLAIN || g->profile == PROF_BENCH || rnd(g) % 100 >= 8)
		return remember(g, path, kind == KIND_SYMLINK ? 0 : mode);
	nx = (unsigned)rnd_range(g, 1, 3);
	for (unsigned i = 0; i < nx; i++) {
		size_t len = rnd_range(g, 0, sizeof(value));

		fill(g, value, len);
		snprintf(name, sizeof(name), "user.e4lab.%u", i);
		if (lsetxattr(path, name, value, len, 0) < 0 && errno != ENOTSUP)
			return gen_fail(path, -errno);
	}
	return remember(g, path, mode);
}

/* ---- names and directories ---- */

static void make_name(struct gen *g, char *out, size_t size, const char *prefix, unsigned n)
{
	static const char extra[] = "abcdefghijklmnopqrstuvwxyz0123456789-_ .,+=";
	size_t len = snprintf(out, size, "%s%05u", prefix, n);
	size_t want = 0;

	if (g->profile != PROF_BENCH && rnd(g) % 10 == 0)
		want = rnd_range(g, 1, rnd(g) % 4 == 0 ? 240 : 30);
	for (size_t i = 0; i < want && len + 1 < size && len < 255; i++)
		out[len++] = extra[rnd(g) % (sizeof(extra) - 1)];
	out[len] = 0;
}

static const char *pick_dir(struct gen *g)
{
	return g->dirs.v[rnd(g) % g->dirs.n];
}

static int make_dir(struct gen *g, const char *parent, const char *name)
{
	char *path = tool_join(parent, name);
	int err;

	if (!path)
		return gen_fail(parent, -ENOMEM);
	if (mkdir(path, 0700) < 0)
		err = gen_fail(path, -errno);
	else
		err = set_attrs(g, path, pick_mode(g, 1), KIND_PLAIN);
	if (!err)
		err = tool_names_add(&g->dirs, path, strlen(path));
	free(path);
	return err;
}

/* The directory skeleton: random nesting, one deep chain, one wide directory. */
static int make_dirs(struct gen *g)
{
	unsigned ndirs, deep;
	char name[300];
	int err = 0;

	if (g->profile == PROF_BENCH) {
		for (unsigned i = 0; i < 10 && !err; i++) {
			size_t top = g->dirs.n;

			snprintf(name, sizeof(name), "d%02u", i);
			err = make_dir(g, g->dirs.v[0], name);
			for (unsigned j = 0; j < 10 && !err; j++) {
				snprintf(name, sizeof(name), "s%02u", j);
				err = make_dir(g, g->dirs.v[top], name);
			}
		}
		return err;
	}
	ndirs = g->nfiles / 15 + 3;
	for (unsigned i = 0; i < ndirs && !err; i++) {
		make_name(g, name, sizeof(name), "dir", i);
		err = make_dir(g, pick_dir(g), name);
	}
	deep = g->profile == PROF_TEST ? 40 : 10;
	for (unsigned i = 0; i < deep && !err; i++) {
		snprintf(name, sizeof(name), "deep%02u", i);
		err = make_dir(g, i ? g->dirs.v[g->dirs.n - 1] : g->dirs.v[0], name);
	}
	if (!err)
		err = make_dir(g, g->dirs.v[0], "wide");
	return err;
}

/* ---- files ---- */

static uint64_t pick_size(struct gen *g)
{
	unsigned r = (unsigned)(rnd(g) % 1000);

	if (g->profile == PROF_BENCH) {
		if (r < 400)
			return rnd_range(g, 1, 59);
		if (r < 800)
			return rnd_range(g, 1024, 16384);
		return rnd_range(g, 65536, 524288);
	}
	if (r < 30)
		return 0;
	if (r < 300)
		return rnd_range(g, 1, 60);
	if (r < 420)
		return rnd_range(g, 61, 256);	/* around the inline limit */
	if (r < 770)
		return rnd_range(g, 257, 16384);
	if (r < 950)
		return rnd_range(g, 16385, 131072);
	if (r < 995)
		return rnd_range(g, 131073, 1 << 20);
	return rnd_range(g, (1 << 20) + 1, 4 << 20);
}

static int write_at(int fd, const char *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0)
			return -errno;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int write_dense(struct gen *g, int fd, uint64_t size)
{
	for (uint64_t off = 0; off < size;) {
		size_t n = size - off < CHUNK ? size - off : CHUNK;
		int err;

		fill(g, g->buf, n);
		err = write_at(fd, g->buf, n, off);
		if (err)
			return err;
		off += n;
	}
	g->bytes += size;
	return 0;
}

/* A sparse file: a large size with a few data regions, some unaligned. */
static int write_sparse(struct gen *g, int fd)
{
	uint64_t size = rnd_range(g, 1 << 20, (g->profile == PROF_TEST ? 16 : 8) << 20);
	unsigned regions = (unsigned)rnd_range(g, 0, 4);

	if (ftruncate(fd, size) < 0)
		return -errno;
	for (unsigned i = 0; i < regions; i++) {
		uint64_t len = rnd_range(g, 1, 128 << 10);
		uint64_t off = rnd(g) % (size - len);
		int err;

		if (rnd(g) % 2)
			off &= ~4095ULL;
		fill(g, g->buf, len);
		err = write_at(fd, g->buf, len, off);
		if (err)
			return err;
		g->bytes += len;
	}
	g->nsparse++;
	return 0;
}

static int make_file(struct gen *g, const char *dir, unsigned n)
{
	char name[300], *path;
	int fd, err, sparse = g->profile != PROF_BENCH && rnd(g) % 100 < 3;

	make_name(g, name, sizeof(name), "f", n);
	path = tool_join(dir, name);
	if (!path)
		return gen_fail(dir, -ENOMEM);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		err = gen_fail(path, -errno);
		goto out;
	}
	err = sparse ? write_sparse(g, fd) : write_dense(g, fd, pick_size(g));
	if (close(fd) < 0 && !err)
		err = -errno;
	if (err)
		gen_fail(path, err);
	else
		err = set_attrs(g, path, pick_mode(g, 0), KIND_PLAIN);
	if (!err)
		err = tool_names_add(&g->files, path, strlen(path));
out:
	free(path);
	return err;
}

static int make_files(struct gen *g)
{
	int err = 0;

	for (unsigned i = 0; i < g->nfiles && !err; i++) {
		const char *dir;

		if (g->profile == PROF_BENCH)
			dir = g->dirs.v[1 + i % (g->dirs.n - 1)];
		else if (rnd(g) % 4 == 0)
			dir = g->dirs.v[g->dirs.n - 1];	/* "wide" */
		else
			dir = pick_dir(g);
		err = make_file(g, dir, i);
	}
	return err;
}

/* ---- links and special files ---- */

static int make_symlink(struct gen *g, unsigned n)
{
	char name[300], target[600], *path;
	unsigned kind = (unsigned)(rnd(g) % 4);
	int err;

	if (kind == 0 && g->files.n)	/* absolute, as the tree would be mounted at / */
		snprintf(target, sizeof(target), "%s",
			 g->files.v[rnd(g) % g->files.n] + strlen(g->dirs.v[0]));
	else if (kind == 1)		/* relative */
		snprintf(target, sizeof(target), "../f%05u", (unsigned)(rnd(g) % (g->nfiles + 1)));
	else if (kind == 2)		/* dangling */
		snprintf(target, sizeof(target), "no/such/file-%u", n);
	else {				/* long: not a fast symlink */
		size_t len = rnd_range(g, 61, 500);

		for (size_t i = 0; i < len; i++)
			target[i] = (i % 8 == 7) ? '/' : (char)('a' + rnd(g) % 26);
		target[len] = 0;
	}
	make_name(g, name, sizeof(name), "sym", n);
	path = tool_join(pick_dir(g), name);
	if (!path)
		return gen_fail(name, -ENOMEM);
	if (symlink(target, path) < 0)
		err = gen_fail(path, -errno);
	else
		err = set_attrs(g, path, 0, KIND_SYMLINK);
	free(path);
	g->nsym++;
	return err;
}

static int make_hardlink(struct gen *g, unsigned n)
{
	char name[300], *path;
	const char *first = g->files.v[rnd(g) % g->files.n];
	int err = 0;

	make_name(g, name, sizeof(name), "hl", n);
	path = tool_join(pick_dir(g), name);
	if (!path)
		return gen_fail(name, -ENOMEM);
	if (link(first, path) < 0)
		err = gen_fail(path, -errno);
	free(path);
	g->nlink++;
	return err;
}

static int make_special(struct gen *g, const char *dir)
{
	static const struct { const char *name; mode_t mode; int root; } sp[] = {
		{ "fifo", S_IFIFO | 0644, 0 },
		{ "socket", S_IFSOCK | 0755, 0 },
		{ "chardev", S_IFCHR | 0600, 1 },
		{ "blockdev", S_IFBLK | 0660, 1 },
	};
	int err = 0;

	for (unsigned i = 0; i < 4 && !err; i++) {
		char *path;

		if (sp[i].root && !g->is_root)
			continue;
		path = tool_join(dir, sp[i].name);
		if (!path)
			return gen_fail(dir, -ENOMEM);
		if (mknod(path, sp[i].mode, makedev(10 + i, 200 + i)) < 0)
			err = gen_fail(path, -errno);
		else
			err = set_attrs(g, path, sp[i].mode & 07777, KIND_SPECIAL);
		free(path);
		g->nspecial++;
	}
	return err;
}

static int make_extras(struct gen *g)
{
	unsigned nsym = g->nfiles / 30 + 2, nlink = g->nfiles / 30 + 2;
	int err = 0;

	if (g->profile == PROF_BENCH)
		return 0;
	for (unsigned i = 0; i < nsym && !err; i++)
		err = make_symlink(g, i);
	for (unsigned i = 0; i < nlink && !err && g->files.n; i++)
		err = make_hardlink(g, i);
	if (!err)
		err = make_special(g, g->dirs.v[0]);
	return err;
}

/* ---- the command ---- */

static int gen_run(struct gen *g, const char *root)
{
	int err;

	if (mkdir(root, 0755) < 0)
		return gen_fail(root, -errno);
	err = tool_names_add(&g->dirs, root, strlen(root));
	if (!err)
		err = remember(g, root, 0755);
	if (!err)
		err = make_dirs(g);
	if (!err)
		err = make_files(g);
	if (!err)
		err = make_extras(g);
	if (!err)
		err = set_modes_and_times(g);
	return err;
}

static void gen_free(struct gen *g)
{
	for (size_t i = 0; i < g->nmade; i++)
		free(g->made[i].path);
	free(g->made);
	tool_names_free(&g->dirs);
	tool_names_free(&g->files);
	free(g->buf);
}

static int gen_parse(int argc, char **argv, struct gen *g)
{
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 's' },
		{ "files", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const unsigned default_files[] = { 250, 2000, 10000 };
	long files = -1;
	int c;

	g->rng = 1;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!strcmp(optarg, "demo"))
				g->profile = PROF_DEMO;
			else if (!strcmp(optarg, "test"))
				g->profile = PROF_TEST;
			else if (!strcmp(optarg, "bench"))
				g->profile = PROF_BENCH;
			else
				return -1;
			break;
		case 's': g->rng = strtoull(optarg, NULL, 0); break;
		case 'n':
			files = strtol(optarg, NULL, 10);
			if (files < 1 || files > 10000000)
				return -1;
			break;
		default: return -1;
		}
	}
	g->nfiles = files > 0 ? (unsigned)files : default_files[g->profile];
	return argc - optind == 1 ? optind : -1;
}

int cmd_gentree(int argc, char **argv)
{
	struct gen g = { 0 };
	char h[32];
	int i, err;

	if (tool_wants_help(argc, argv))
		return tool_help(gentree_help);
	i = gen_parse(argc, argv, &g);
	if (i < 0)
		return tool_usage(gentree_usage);
	g.is_root = geteuid() == 0;
	g.buf = malloc(CHUNK);
	err = g.buf ? gen_run(&g, argv[i]) : gen_fail("gentree", -ENOMEM);
	if (!err)
		printf("%s: %u files (%s of data, %llu sparse), %zu directories, "
		       "%llu symlinks, %llu hard links, %llu special files\n",
		       argv[i], g.nfiles, tool_human(g.bytes, h, sizeof(h)),
		       (unsigned long long)g.nsparse, g.dirs.n, (unsigned long long)g.nsym,
		       (unsigned long long)g.nlink, (unsigned long long)g.nspecial);
	gen_free(&g);
	return err ? EXIT_FAIL : EXIT_OK;
}
