/*
 * tools/util.c - helpers for the e4lab subcommands (tools layer: calls only the
 * public API in e4lab.h and libc).  The one static is the parsed global options,
 * written once by main() before any subcommand runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "tools/util.h"

static struct tool_globals globals;

struct tool_globals *tool_globals(void)
{
	return &globals;
}

/* The crash cut: the image holds only the first N block writes; stop as a power
 * cut would, without unmounting. */
static void tool_crash(void *arg)
{
	static const char msg[] = "e4lab: --crash-after: the crash point was reached; "
				  "exiting with status 3\n";

	ssize_t n = write(STDERR_FILENO, msg, sizeof(msg) - 1);

	(void)n;	/* nothing to do if stderr is gone */
	_exit(EXIT_CRASH);
}

int tool_mount(const char *image, int read_only, struct e4_fs **fsp)
{
	struct e4_mount_opts o;
	int err;

	e4_mount_opts_init(&o);
	o.read_only = read_only;
	o.crash_after = globals.crash_after;
	o.crash_fn = tool_crash;
	if (globals.data_mode_set)
		o.data_mode = globals.data_mode;
	err = e4_mount(image, &o, fsp);
	if (err < 0)
		tool_fail(image, err);
	return err;
}

int tool_unmount(struct e4_fs *fs, const char *image)
{
	int err = e4_unmount(fs);

	if (err < 0)
		tool_fail(image, err);
	return err;
}

void tool_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("e4lab: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int tool_fail(const char *what, int err)
{
	tool_msg("%s: %s", what, e4_strerror(err));
	return EXIT_FAIL;
}

int tool_usage(const char *usage)
{
	fprintf(stderr, "%s(Try --help.)\n", usage);
	return EXIT_USAGE;
}

int tool_help(const char *help)
{
	fputs(help, stdout);
	return EXIT_OK;
}

int tool_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	}
	return 0;
}

int tool_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (*end == 'i' && shift)	/* "MiB" */
		end++;
	if ((*end == 'B' || *end == 'b') && shift)
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

const char *tool_human(uint64_t bytes, char *buf, size_t size)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, size, "%.1f %s", v, units[u]);
	return buf;
}

char *tool_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	char *p;

	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	p = malloc(dl + strlen(name) + 2);
	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	if (dl == 0 || dir[dl - 1] != '/')
		p[dl++] = '/';
	strcpy(p + dl, name);
	return p;
}

char *tool_basename(const char *path)
{
	size_t end = strlen(path), start;

	while (end > 0 && path[end - 1] == '/')
		end--;
	start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	return strndup(path + start, end - start);
}

char *tool_image_path(const char *path)
{
	char *out = malloc(strlen(path) + 2);
	size_t n = 0;

	if (!out)
		return NULL;
	out[n++] = '/';
	for (const char *s = path; *s; s++) {
		if (*s == '/' && out[n - 1] == '/')
			continue;
		out[n++] = *s;
	}
	if (n > 1 && out[n - 1] == '/')
		n--;
	out[n] = 0;
	return out;
}

double tool_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- progress bar ---- */

void tool_progress_init(struct tool_progress *p, const char *verb)
{
	memset(p, 0, sizeof(*p));
	p->verb = verb;
	p->enabled = isatty(STDERR_FILENO);
	p->start = tool_now();
}

static void progress_draw(struct tool_progress *p)
{
	char done[32], total[32], bar[31];
	unsigned pct = 0, fill;

	if (p->total_bytes)
		pct = (unsigned)(p->bytes * 100 / p->total_bytes);
	else if (p->total_files)
		pct = (unsigned)(p->files * 100 / p->total_files);
	if (pct > 100)
		pct = 100;
	fill = pct * 30 / 100;
	memset(bar, '#', fill);
	memset(bar + fill, '.', 30 - fill);
	bar[30] = 0;
	fprintf(stderr, "\r%s [%s] %3u%%  %llu/%llu files  %s/%s ", p->verb, bar, pct,
		(unsigned long long)p->files, (unsigned long long)p->total_files,
		tool_human(p->bytes, done, sizeof(done)),
		tool_human(p->total_bytes, total, sizeof(total)));
}

void tool_progress_add(struct tool_progress *p, uint64_t bytes, uint64_t files)
{
	double now;

	p->bytes += bytes;
	p->files += files;
	if (!p->enabled)
		return;
	now = tool_now();
	if (now - p->start < 0.5 || now - p->last_draw < 0.1)
		return;
	p->last_draw = now;
	progress_draw(p);
}

void tool_progress_done(struct tool_progress *p)
{
	if (p->enabled && p->last_draw > 0)
		fprintf(stderr, "\r%*s\r", 79, "");
}

/* ---- names ---- */

int tool_names_add(struct tool_names *names, const char *name, size_t len)
{
	if (names->n == names->cap) {
		size_t cap = names->cap ? names->cap * 2 : 64;
		char **v = realloc(names->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		names->v = v;
		names->cap = cap;
	}
	names->v[names->n] = strndup(name, len);
	if (!names->v[names->n])
		return -ENOMEM;
	names->n++;
	return 0;
}

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void tool_names_sort(struct tool_names *names)
{
	if (names->n)
		qsort(names->v, names->n, sizeof(*names->v), names_cmp);
}

void tool_names_free(struct tool_names *names)
{
	for (size_t i = 0; i < names->n; i++)
		free(names->v[i]);
	free(names->v);
	memset(names, 0, sizeof(*names));
}

#define LIST_BAD_NAME 1	/* positive: e4_readdir passes it back as is */

static int list_one(void *arg, const char *name, size_t len, uint32_t ino, unsigned dtype)
{
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	/* A corrupt entry must not name a path elsewhere ("../x", "a/b"). */
	if (len == 0 || memchr(name, '/', len) || memchr(name, 0, len))
		return LIST_BAD_NAME;
	return tool_names_add(arg, name, len);
}

int tool_image_list(struct e4_fs *fs, const char *path, struct tool_names *names)
{
	int err = e4_readdir(fs, path, list_one, names);

	if (err == LIST_BAD_NAME) {
		tool_msg("%s: a directory entry has an invalid name", path);
		err = -EUCLEAN;
	}
	if (err < 0)
		tool_names_free(names);
	return err;
}

/* ---- hard-link map: a small open-addressing hash table ---- */

static size_t link_slot(const struct tool_links *l, uint64_t dev, uint64_t ino)
{
	uint64_t h = (ino * 0x9e3779b97f4a7c15ULL) ^ (dev * 0xc2b2ae3d27d4eb4fULL);

	return (size_t)(h >> 17) & (l->cap - 1);
}

const char *tool_links_find(const struct tool_links *l, uint64_t dev, uint64_t ino)
{
	if (!l->cap)
		return NULL;
	for (size_t i = link_slot(l, dev, ino);; i = (i + 1) & (l->cap - 1)) {
		if (!l->tab[i].path)
			return NULL;
		if (l->tab[i].dev == dev && l->tab[i].ino == ino)
			return l->tab[i].path;
	}
}

static int links_grow(struct tool_links *l)
{
	struct tool_links big = { .cap = l->cap ? l->cap * 2 : 256 };

	big.tab = calloc(big.cap, sizeof(*big.tab));
	if (!big.tab)
		return -ENOMEM;
	for (size_t i = 0; i < l->cap; i++) {
		struct tool_link *e = &l->tab[i];
		size_t j;

		if (!e->path)
			continue;
		for (j = link_slot(&big, e->dev, e->ino); big.tab[j].path;
		     j = (j + 1) & (big.cap - 1))
			;
		big.tab[j] = *e;
	}
	big.n = l->n;
	free(l->tab);
	*l = big;
	return 0;
}

int tool_links_add(struct tool_links *l, uint64_t dev, uint64_t ino, const char *path)
{
	size_t i;

	if ((l->n + 1) * 2 > l->cap && links_grow(l) < 0)
		return -ENOMEM;
	for (i = link_slot(l, dev, ino); l->tab[i].path; i = (i + 1) & (l->cap - 1))
		;
	l->tab[i].path = strdup(path);
	if (!l->tab[i].path)
		return -ENOMEM;
	l->tab[i].dev = dev;
	l->tab[i].ino = ino;
	l->n++;
	return 0;
}

void tool_links_free(struct tool_links *l)
{
	for (size_t i = 0; i < l->cap; i++)
		free(l->tab[i].path);
	free(l->tab);
	memset(l, 0, sizeof(*l));
}

/* ---- running other programs ---- */

char *tool_which(const char *prog)
{
	const char *path = getenv("PATH");
	char *dirs, *save = NULL, *out = NULL;

	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0 ? strdup(prog) : NULL;
	if (asprintf(&dirs, "%s:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin") < 0)
		return NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *p = tool_join(d, prog);

		if (p && access(p, X_OK) == 0) {
			out = p;
			break;
		}
		free(p);
	}
	free(dirs);
	return out;
}

int tool_run(char *const argv[], const char *out)
{
	char *prog = tool_which(argv[0]);
	int status;
	pid_t pid;

	if (!prog)
		return 127;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (out) {
			int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

			if (fd >= 0) {
				dup2(fd, STDOUT_FILENO);
				dup2(fd, STDERR_FILENO);
			}
		}
		execv(prog, argv);
		_exit(127);
	}
	free(prog);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return 127;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
