/*
 * tests/unit/crash_workload.c - the workload and the checker of
 * tests/journal_crash_points.sh.  Uses include/e4lab.h only.  Invariant: the
 * plan (every op, path, size and byte) is a function of a fixed seed, so the
 * checker rebuilds it and needs from the log only how far the run got and
 * which fsyncs returned.
 *
 *   crash_workload IMAGE CRASH_AFTER LOGFILE   run it (0: no cut); a cut exits 3
 *   crash_workload --count IMAGE               block writes of a whole run (on
 *                                              copies of IMAGE), and about where
 *                                              each fsync's commit falls
 *   crash_workload --check TREE LOGFILE        check a recovered tree
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e4lab.h"

enum { MAXIDS = 1024, MAXOPS = 1200, MAXPATHS = 4096, MAXSIZE = 24576, NOPS = 900,
       MAXVER = 64, BLK = 1024 };
enum op_kind { OP_MKDIR, OP_CREATE, OP_WRITE, OP_TRUNC, OP_RENAME, OP_UNLINK, OP_FSYNC };
static const char *const kind_name[] = { "mkdir", "create", "write", "truncate", "rename",
					 "unlink", "fsync" };

struct op {
	enum op_kind kind;
	int id;			/* the file (or -1) */
	int path, path2;	/* indexes in paths[]; path2: rename target */
	int victim;		/* rename: id replaced at path2, or -1 */
	uint64_t off, len;	/* write; truncate: off = new size */
	int version;		/* the file's version after the op */
};

struct version {
	int op;			/* op that made it */
	uint64_t size;
	uint8_t *data;		/* materialized by the checker */
};

struct file {
	int nver;
	struct version ver[MAXVER];
	int path;		/* where it is now (plan time), -1 dead */
	int frozen;		/* never touched again */
};

static struct op ops[MAXOPS];
static int nops;
static struct file files[MAXIDS];
static int nids;
static char *paths[MAXPATHS];
static int npaths;
static int path_holder[MAXPATHS];	/* plan time: id at the path, -1 */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned rnd(unsigned n)
{
	return n ? (unsigned)(next_rand() % n) : 0;
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The byte at @off written by version @ver of file @id: tags both. */
static uint8_t pattern(int id, int ver, uint64_t off)
{
	return (uint8_t)(mix(((uint64_t)id << 40) ^ ((uint64_t)ver << 32) ^ (off / 8)) >>
			 ((off % 8) * 8));
}

static int add_path(const char *s)
{
	if (npaths == MAXPATHS)
		abort();
	paths[npaths] = strdup(s);
	path_holder[npaths] = -1;
	return npaths++;
}

/* ---- the plan ---- */

static int ndirs;
static int dirs[16];

static struct op *new_op(enum op_kind k, int id)
{
	struct op *o = &ops[nops++];

	memset(o, 0, sizeof(*o));
	o->kind = k;
	o->id = id;
	o->victim = -1;
	o->path2 = -1;
	return o;
}

static void new_version(int id, uint64_t size)
{
	struct file *f = &files[id];

	f->ver[f->nver].op = nops - 1;
	f->ver[f->nver].size = size;
	ops[nops - 1].version = f->nver;
	f->nver++;
}

static int pick_live(int want_unfrozen)
{
	int tries, id;

	if (nids == 0)
		return -1;
	for (tries = 0; tries < 50; tries++) {
		id = (int)rnd((unsigned)nids);
		if (files[id].path >= 0 && files[id].nver < MAXVER - 1 &&
		    (!want_unfrozen || !files[id].frozen))
			return id;
	}
	return -1;
}

static int new_file_path(void)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%s/f%d", paths[dirs[rnd((unsigned)ndirs)]], npaths);
	return add_path(buf);
}

static void plan(void)
{
	int i;

	for (i = 0; i < 4; i++) {
		char buf[32];
		struct op *o;

		snprintf(buf, sizeof(buf), "/d%d", i);
		dirs[ndirs++] = add_path(buf);
		o = new_op(OP_MKDIR, -1);
		o->path = dirs[ndirs - 1];
	}
	while (nops < NOPS) {
		unsigned r = rnd(100);
		struct op *o;
		int id;

		if (r < 34 && nids < MAXIDS) {		/* create */
			unsigned c = rnd(100);
			uint64_t size;

			if (c < 40)
				size = 1 + rnd(100);		/* stays inline */
			else if (c < 65)
				size = 150 + rnd(850);		/* crosses the inline maximum */
			else
				size = 1500 + rnd(18000);	/* several blocks */
			id = nids++;
			files[id].path = new_file_path();
			path_holder[files[id].path] = id;
			o = new_op(OP_CREATE, id);
			o->path = files[id].path;
			o->len = size;
			files[id].ver[0].op = nops - 1;		/* empty, just created */
			files[id].ver[0].size = 0;
			files[id].nver = 1;
			new_version(id, size);
		} else if (r < 54) {			/* write */
			uint64_t size, off, len;
			unsigned w = rnd(3);

			if ((id = pick_live(1)) < 0)
				continue;
			size = files[id].ver[files[id].nver - 1].size;
			if (w == 0 || size == 0) {		/* append */
				off = size;
				len = 1 + rnd(3000);
			} else if (w == 1) {			/* overwrite */
				off = rnd((unsigned)size);
				len = 1 + rnd((unsigned)(size - off < 4000 ? size - off : 4000));
			} else {				/* past the end: a hole */
				off = size + 1 + rnd(3000);
				len = 1 + rnd(1000);
			}
			if (off + len > MAXSIZE)
				continue;
			o = new_op(OP_WRITE, id);
			o->path = files[id].path;
			o->off = off;
			o->len = len;
			new_version(id, off + len > size ? off + len : size);
		} else if (r < 64) {			/* truncate, shrink or grow */
			uint64_t size, to;

			if ((id = pick_live(1)) < 0)
				continue;
			size = files[id].ver[files[id].nver - 1].size;
			to = (rnd(2) && size) ? rnd((unsigned)size) : size + 1 + rnd(4000);
			if (to > MAXSIZE)
				continue;
			o = new_op(OP_TRUNC, id);
			o->path = files[id].path;
			o->off = to;
			new_version(id, to);
		} else if (r < 75) {			/* rename */
			int to, victim = -1;

			if ((id = pick_live(1)) < 0)
				continue;
			if (rnd(2)) {
				victim = pick_live(1);
				if (victim == id || victim < 0)
					continue;
				to = files[victim].path;
			} else {
				to = new_file_path();
			}
			o = new_op(OP_RENAME, id);
			o->path = files[id].path;
			o->path2 = to;
			o->victim = victim;
			path_holder[o->path] = -1;
			if (victim >= 0)
				files[victim].path = -1;
			path_holder[to] = id;
			files[id].path = to;
		} else if (r < 81) {			/* unlink */
			if ((id = pick_live(1)) < 0)
				continue;
			o = new_op(OP_UNLINK, id);
			o->path = files[id].path;
			path_holder[o->path] = -1;
			files[id].path = -1;
		} else if (r < 83) {			/* mkdir */
			char buf[128];

			if (ndirs == 16)
				continue;
			snprintf(buf, sizeof(buf), "%s/s%d", paths[dirs[rnd((unsigned)ndirs)]],
				 npaths);
			o = new_op(OP_MKDIR, -1);
			o->path = add_path(buf);
			dirs[ndirs++] = o->path;
		} else {				/* fsync; half of them stay as they are */
			if ((id = pick_live(1)) < 0)
				continue;
			o = new_op(OP_FSYNC, id);
			o->path = files[id].path;
			o->version = files[id].nver - 1;
			if (rnd(2))
				files[id].frozen = 1;
		}
	}
}

/* ---- running it ---- */

static int logfd = -1;
static int cur_op = -1;

static void logf_line(int sync, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_line(int sync, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	if (logfd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (write(logfd, buf, (size_t)n) != n)
		abort();
	if (sync)
		fsync(logfd);
}

static void fill(uint8_t *buf, int id, int ver, uint64_t off, uint64_t len)
{
	uint64_t i;

	for (i = 0; i < len; i++)
		buf[i] = pattern(id, ver, off + i);
}

/* Runs op @i; a negative errno on failure (expected only after a cut). */
static int run_op(struct e4_fs *fs, int i)
{
	static uint8_t buf[MAXSIZE];
	struct op *o = &ops[i];
	struct e4_file *f = NULL;
	int err = 0;
	ssize_t n;

	cur_op = i;
	logf_line(0, "op %d %s id %d %s%s%s off %llu len %llu version %d\n", i,
		  kind_name[o->kind], o->id, paths[o->path], o->path2 >= 0 ? " -> " : "",
		  o->path2 >= 0 ? paths[o->path2] : "", (unsigned long long)o->off,
		  (unsigned long long)o->len, o->version);
	switch (o->kind) {
	case OP_MKDIR:
		return e4_mkdir(fs, paths[o->path], 0755);
	case OP_RENAME:
		return e4_rename(fs, paths[o->path], paths[o->path2]);
	case OP_UNLINK:
		return e4_unlink(fs, paths[o->path]);
	case OP_TRUNC:
		return e4_truncate(fs, paths[o->path], o->off);
	case OP_CREATE:
		err = e4_open(fs, paths[o->path], O_CREAT | O_EXCL | O_WRONLY, 0644, &f);
		if (err)
			return err;
		fill(buf, o->id, o->version, 0, o->len);
		n = e4_pwrite(f, buf, o->len, 0);
		err = n < 0 ? (int)n : n != (ssize_t)o->len ? -EIO : 0;
		break;
	case OP_WRITE:
		err = e4_open(fs, paths[o->path], O_WRONLY, 0, &f);
		if (err)
			return err;
		fill(buf, o->id, o->version, o->off, o->len);
		n = e4_pwrite(f, buf, o->len, o->off);
		err = n < 0 ? (int)n : n != (ssize_t)o->len ? -EIO : 0;
		break;
	case OP_FSYNC:
		err = e4_open(fs, paths[o->path], O_RDWR, 0, &f);
		if (err)
			return err;
		err = e4_fsync(f);
		if (!err)
			logf_line(1, "fsynced %s %d %d %llu %d\n", paths[o->path], o->id,
				  o->version,
				  (unsigned long long)files[o->id].ver[o->version].size, i);
		break;
	}
	if (f) {
		int e = e4_close(f);

		if (!err)
			err = e;
	}
	return err;
}

/* E4LAB_CRASH_DATA=writeback|journal: another data mode (ordered by default). */
static enum e4_data_mode data_mode(void)
{
	const char *m = getenv("E4LAB_CRASH_DATA");

	if (m && !strcmp(m, "writeback"))
		return E4_DATA_WRITEBACK;
	if (m && !strcmp(m, "journal"))
		return E4_DATA_JOURNAL;
	return E4_DATA_ORDERED;
}

/* The whole workload on IMAGE; 0, or the first error (after a cut: expected). */
static int workload(const char *image, uint64_t crash_after, void (*crash_fn)(void *),
		    void *arg, int verbose)
{
	struct e4_mount_opts mo;
	struct e4_fs *fs;
	int i, err;

	e4_mount_opts_init(&mo);
	mo.crash_after = crash_after;
	mo.crash_fn = crash_fn;
	mo.crash_arg = arg;
	mo.commit_interval_ms = ~0u;	/* commits on fsync, pressure, unmount only */
	mo.data_mode = data_mode();
	err = e4_mount(image, &mo, &fs);
	if (err) {
		if (verbose)
			fprintf(stderr, "mount %s: %s\n", image, e4_strerror(err));
		return err;
	}
	for (i = 0; i < nops; i++) {
		err = run_op(fs, i);
		if (err) {
			if (verbose)
				fprintf(stderr, "op %d (%s %s): %s\n", i, kind_name[ops[i].kind],
					paths[ops[i].path], e4_strerror(err));
			e4_unmount(fs);
			return err;
		}
	}
	logf_line(0, "unmount\n");
	err = e4_unmount(fs);
	if (err && verbose)
		fprintf(stderr, "unmount: %s\n", e4_strerror(err));
	if (!err)
		logf_line(1, "done\n");
	return err;
}

/* ---- counting block writes (the library keeps no public counter) ---- */

static void note_cut(void *arg)
{
	*(int *)arg = 1;
}

static int cut_lands(const char *base, const char *copy, uint64_t n)
{
	char cmd[2048];
	int cut = 0;

	snprintf(cmd, sizeof(cmd), "cp --sparse=always '%s' '%s'", base, copy);
	if (system(cmd) != 0) {
		fprintf(stderr, "%s failed\n", cmd);
		exit(2);
	}
	workload(copy, n, note_cut, &cut, 0);
	return cut;
}

static uint64_t proc_syscw(void)
{
	char line[128];
	uint64_t v = 0;
	FILE *f = fopen("/proc/self/io", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "syscw: %llu", (unsigned long long *)&v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * The total by doubling and bisection (a cut at the last write still lands,
 * one past it does not).  Where fsyncs commit comes from counting write(2)
 * calls of one uncut run and scaling: an estimate, for placing cuts only.
 */
static int count(const char *base)
{
	static uint64_t fs_before[MAXOPS], fs_after[MAXOPS];
	char copy[1024], cmd[2048];
	uint64_t lo = 0, hi = 1, mid, s0, send, total_sys;
	struct e4_mount_opts mo;
	struct e4_fs *fs;
	int i, nf = 0, err;

	snprintf(copy, sizeof(copy), "%s.count", base);
	while (cut_lands(base, copy, hi)) {
		lo = hi;
		hi *= 2;
	}
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (cut_lands(base, copy, mid))
			lo = mid;
		else
			hi = mid;
	}
	printf("total %llu\n", (unsigned long long)lo);
	snprintf(cmd, sizeof(cmd), "cp --sparse=always '%s' '%s'", base, copy);
	if (system(cmd) != 0)
		return 2;
	e4_mount_opts_init(&mo);
	mo.commit_interval_ms = ~0u;
	mo.data_mode = data_mode();
	s0 = proc_syscw();
	err = e4_mount(copy, &mo, &fs);
	if (err)
		return 2;
	for (i = 0; i < nops; i++) {
		if (ops[i].kind == OP_FSYNC)
			fs_before[nf] = proc_syscw() - s0;
		if (run_op(fs, i))
			return 2;
		if (ops[i].kind == OP_FSYNC)
			fs_after[nf++] = proc_syscw() - s0;
	}
	fs_before[nf] = proc_syscw() - s0;	/* the unmount */
	if (e4_unmount(fs))
		return 2;
	send = proc_syscw() - s0;
	fs_after[nf++] = send;
	total_sys = send ? send : 1;
	for (i = 0; i < nf; i++)
		printf("commit %llu %llu\n",
		       (unsigned long long)(fs_before[i] * lo / total_sys),
		       (unsigned long long)(fs_after[i] * lo / total_sys));
	unlink(copy);
	return 0;
}

/* ---- checking a recovered tree ---- */

static int last_op = -1;		/* the op under way at the cut */
static int done;
static int nfail;
static int ever[MAXPATHS][8];		/* ids a path held up to the cut */
static int never[MAXPATHS];
static int found_at[MAXIDS];		/* path index where the check met the id, -1 */

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bad(const char *fmt, ...)
{
	va_list ap;

	if (nfail++ >= 20)
		return;
	va_start(ap, fmt);
	fputs("crash_workload: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void note_ever(int p, int id)
{
	int k;

	for (k = 0; k < never[p]; k++)
		if (ever[p][k] == id)
			return;
	if (never[p] < 8)
		ever[p][never[p]++] = id;
}

/* The versions of file @id, byte by byte (made once, when first needed). */
static void materialize(int id)
{
	struct file *f = &files[id];
	int v;

	if (f->nver == 0 || f->ver[0].data)
		return;
	for (v = 0; v < f->nver; v++) {
		struct op *o = &ops[f->ver[v].op];
		uint64_t keep;

		f->ver[v].data = calloc(1, MAXSIZE);
		if (!f->ver[v].data)
			abort();
		if (v == 0)
			continue;
		keep = f->ver[v - 1].size;
		if (o->kind == OP_TRUNC && o->off < keep)
			keep = o->off;
		memcpy(f->ver[v].data, f->ver[v - 1].data, keep);
		if (o->kind != OP_TRUNC)
			fill(f->ver[v].data + o->off, id, v, o->off, o->len);
	}
}

/* Versions of @id made by ops up to the cut. */
static int nver_at_cut(int id)
{
	int v = 0;

	while (v < files[id].nver && files[id].ver[v].op <= last_op)
		v++;
	return v;
}

/* Block @b of @data (@size bytes) equals block @b of a version of @id. */
static int block_matches(int id, const uint8_t *data, uint64_t size, uint64_t b)
{
	uint64_t off = b * BLK, len = size - off < BLK ? size - off : BLK;
	int v, n = nver_at_cut(id);

	materialize(id);
	for (v = 0; v < n; v++)
		if (!memcmp(files[id].ver[v].data + off, data + off, len))
			return 1;
	return 0;
}

/* What a block that fits none of its files holds, for the report. */
static void describe_block(const uint8_t *data, uint64_t size, uint64_t b, char *out,
			   size_t outsz)
{
	uint64_t off = b * BLK, len = size - off < BLK ? size - off : BLK, i;
	int id, v;

	for (i = 0; i + 4 <= len; i++)
		if (!memcmp(data + off + i, "\xe4\xe4\xe4\xe4", 4)) {
			snprintf(out, outsz, "poison at byte %llu (stale data: a block it never "
				 "wrote)", (unsigned long long)(off + i));
			return;
		}
	for (id = 0; id < nids; id++)
		for (materialize(id), v = 0; v < files[id].nver; v++)
			if (!memcmp(files[id].ver[v].data + off, data + off, len)) {
				snprintf(out, outsz, "the bytes of file id %d version %d", id, v);
				return;
			}
	for (i = 0; i < len && !data[off + i]; i++)
		;
	snprintf(out, outsz, i == len ? "zeros" : "bytes of no file and version");
}

static int path_index(const char *rel)
{
	int p;

	for (p = 0; p < npaths; p++)
		if (!strcmp(paths[p], rel))
			return p;
	return -1;
}

static uint8_t *read_file(const char *name, uint64_t *sizep)
{
	struct stat st;
	uint8_t *buf;
	ssize_t n;
	int fd = open(name, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	buf = calloc(1, (size_t)st.st_size + 1);
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		return NULL;
	}
	*sizep = (uint64_t)st.st_size;
	return buf;
}

static void check_file(const char *tree, const char *rel)
{
	char name[4096], what[160];
	uint64_t size, b, nb;
	uint8_t *data;
	int p = path_index(rel), k, id, ok = 0, firstbad = -1, bestid = -1;

	if (p < 0 || never[p] == 0) {
		bad("%s: a file the workload never had there", rel);
		return;
	}
	snprintf(name, sizeof(name), "%s%s", tree, rel);
	data = read_file(name, &size);
	if (!data) {
		bad("%s: cannot read it", rel);
		return;
	}
	if (size > MAXSIZE) {
		bad("%s: %llu bytes, more than any version had", rel, (unsigned long long)size);
		free(data);
		return;
	}
	nb = (size + BLK - 1) / BLK;
	for (k = 0; k < never[p] && !ok; k++) {
		id = ever[p][k];
		for (b = 0; b < nb; b++)
			if (!block_matches(id, data, size, b))
				break;
		if (b == nb) {
			ok = 1;
			if (size > 0) {
				if (found_at[id] >= 0)
					bad("file id %d is at both %s and %s", id,
					    paths[found_at[id]], rel);
				found_at[id] = p;
			} else if (never[p] == 1 && found_at[id] < 0) {
				found_at[id] = p;
			}
		} else if ((int)b > firstbad) {
			/* report the file that matches longest */
			firstbad = (int)b;
			bestid = id;
		}
	}
	if (!ok) {
		describe_block(data, size, (uint64_t)firstbad, what, sizeof(what));
		bad("%s (%llu bytes, file id %d, %d versions by the cut%s): block %d holds %s",
		    rel, (unsigned long long)size, bestid, nver_at_cut(bestid),
		    never[p] > 1 ? ", or another id the path held" : "", firstbad, what);
	}
	free(data);
}

static void walk(const char *tree, const char *rel)
{
	char name[4096], sub[4096];
	struct dirent *de;
	struct stat st;
	DIR *d;

	snprintf(name, sizeof(name), "%s%s", tree, rel);
	d = opendir(name);
	if (!d) {
		bad("cannot open directory %s", name);
		return;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    (!*rel && !strcmp(de->d_name, "lost+found")))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", rel, de->d_name);
		snprintf(name, sizeof(name), "%s%s", tree, sub);
		if (lstat(name, &st) < 0) {
			bad("%s: lstat failed", sub);
			continue;
		}
		if (S_ISDIR(st.st_mode))
			walk(tree, sub);
		else if (S_ISREG(st.st_mode))
			check_file(tree, sub);
		else
			bad("%s: not a file or directory", sub);
	}
	closedir(d);
}

/* What the log says: the op under way at the cut, and the fsyncs that returned. */
struct synced {
	int id, version, op;
};

static int check(const char *tree, const char *logname)
{
	static struct synced syn[MAXOPS];
	static int lastsync[MAXIDS];
	char line[1024], pbuf[512];
	int nsyn = 0, nstrict = 0, i, id;
	FILE *lf = fopen(logname, "r");

	if (!lf) {
		perror(logname);
		return 2;
	}
	while (fgets(line, sizeof(line), lf)) {
		int a, v, opi;
		unsigned long long sz;

		if (sscanf(line, "op %d", &a) == 1)
			last_op = a;
		else if (sscanf(line, "fsynced %511s %d %d %llu %d", pbuf, &a, &v, &sz,
				&opi) == 5) {
			syn[nsyn].id = a;
			syn[nsyn].version = v;
			syn[nsyn++].op = opi;
		} else if (!strncmp(line, "done", 4)) {
			done = 1;
		}
	}
	fclose(lf);
	/* which ids each path may hold: every one it held up to the cut */
	for (i = 0; i <= last_op && i < nops; i++) {
		struct op *o = &ops[i];

		if (o->kind == OP_CREATE)
			note_ever(o->path, o->id);
		else if (o->kind == OP_RENAME)
			note_ever(o->path2, o->id);
	}
	for (id = 0; id < MAXIDS; id++) {
		found_at[id] = -1;
		lastsync[id] = -1;
	}
	walk(tree, "");
	/* fsynced files: there, and as synced unless an op since changed them */
	for (i = 0; i < nsyn; i++)
		lastsync[syn[i].id] = i;
	for (id = 0; id < nids; id++) {
		struct synced *s;
		int changed = 0, dead = 0, k, np, held, where[64];
		char name[4096];
		uint64_t size, want;
		uint8_t *data;

		if (lastsync[id] < 0)
			continue;
		s = &syn[lastsync[id]];
		/* where it may be: where it was synced, or where a rename since put it */
		np = 0;
		where[np++] = ops[s->op].path;
		for (k = s->op + 1; k <= last_op && k < nops; k++) {
			if (ops[k].id == id && (ops[k].kind == OP_WRITE || ops[k].kind == OP_TRUNC))
				changed = 1;
			if ((ops[k].id == id && ops[k].kind == OP_UNLINK) || ops[k].victim == id)
				dead = 1;
			if (ops[k].id == id && ops[k].kind == OP_RENAME && np < 64)
				where[np++] = ops[k].path2;
		}
		if (dead || changed)
			continue;
		materialize(id);
		nstrict++;
		want = files[id].ver[s->version].size;
		for (k = 0, held = 0; k < np && !held; k++) {
			snprintf(name, sizeof(name), "%s%s", tree, paths[where[k]]);
			data = read_file(name, &size);
			if (!data)
				continue;
			held = size == want && !memcmp(data, files[id].ver[s->version].data, size);
			free(data);
		}
		if (!held)
			bad("%s: fsynced as id %d version %d (%llu bytes, op %d); not there%s "
			    "with those bytes", paths[where[0]], id, s->version,
			    (unsigned long long)want, s->op,
			    np > 1 ? " nor where it was renamed to since" : "");
	}
	printf("checked %s: cut in op %d of %d%s, %d fsyncs returned, %d files held to "
	       "their fsynced bytes, %d problems\n", tree, last_op, nops,
	       done ? " (finished)" : "", nsyn, nstrict, nfail);
	return nfail ? 1 : 0;
}

int main(int argc, char **argv)
{
	int err;

	plan();
	if (argc == 3 && !strcmp(argv[1], "--count"))
		return count(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "--check"))
		return check(argv[2], argv[3]);
	if (argc != 4) {
		fprintf(stderr, "usage: crash_workload IMAGE CRASH_AFTER LOGFILE\n"
			"       crash_workload --count IMAGE\n"
			"       crash_workload --check TREE LOGFILE\n");
		return 1;
	}
	logfd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (logfd < 0) {
		perror(argv[3]);
		return 2;
	}
	err = workload(argv[1], strtoull(argv[2], NULL, 0), NULL, NULL, 1);
	close(logfd);
	return err ? 2 : 0;
}
