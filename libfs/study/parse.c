/*
 * libfs/study/parse.c - the scenario file parser (format: studies/README.md).  Calls
 * libc only.  Every error names the file, the line and what was expected; nothing
 * of a malformed file is run.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libfs/study/study.h"

#define MAX_WORDS 16
#define WORD_MAX 256

struct parser {
	const char *file;
	int line;
	char *err;
	size_t errsize;
	char words[MAX_WORDS][WORD_MAX];
	int nwords;
	struct study *st;
	struct study_task *task;	/* inside task ... end */
	int section;			/* the last top-level directive's rank */
	int has_explore;
};

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, p->errsize, "%s:%d: ", p->file, p->line);

	if (n < 0 || (size_t)n >= p->errsize)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errsize - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- words ---- */

/* Copies @src into @dst of @size bytes, truncating. */
static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

static int unescape(struct parser *p, const char **sp, char *out)
{
	const char *s = *sp + 1;
	size_t n = 0;

	while (*s && *s != '"') {
		char c = *s++;

		if (c == '\\') {
			c = *s++;
			if (c == 'n')
				c = '\n';
			else if (c == 'x' && isxdigit((unsigned char)s[0]) && isxdigit((unsigned char)s[1])) {
				char hex[3] = { s[0], s[1], 0 };

				c = (char)strtol(hex, NULL, 16);
				s += 2;
			} else if (c != '"' && c != '\\') {
				return fail(p, "unknown escape \"\\%c\" in a string", c ? c : ' ');
			}
		}
		if (n + 1 >= WORD_MAX)
			return fail(p, "string longer than %d bytes", WORD_MAX - 1);
		out[n++] = c;
	}
	if (*s != '"')
		return fail(p, "expected a closing '\"'");
	out[n] = 0;
	*sp = s + 1;
	return 0;
}

/* Splits @line into words (a quoted string is one word, quotes removed). */
static int split(struct parser *p, const char *line)
{
	const char *s = line;

	p->nwords = 0;
	for (;;) {
		size_t n = 0;
		char *w;

		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (!*s || *s == '#' || *s == '\n')
			return 0;
		if (p->nwords == MAX_WORDS)
			return fail(p, "more than %d words on a line", MAX_WORDS);
		w = p->words[p->nwords++];
		if (*s == '"') {
			int err = unescape(p, &s, w);

			if (err)
				return err;
			continue;
		}
		while (*s && !isspace((unsigned char)*s) && *s != '#') {
			if (*s == '"') {	/* key="text" */
				int err;

				if (n + 1 >= WORD_MAX)
					return fail(p, "word too long");
				w[n] = 0;
				err = unescape(p, &s, w + n);
				if (err)
					return err;
				n = strlen(w);
				continue;
			}
			if (n + 1 >= WORD_MAX)
				return fail(p, "word too long");
			w[n++] = *s++;
		}
		w[n] = 0;
	}
}

static int parse_number(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'K': v <<= 10; end++; break;
	case 'M': v <<= 20; end++; break;
	case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int valid_name(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (s++; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return 0;
	return 1;
}

/* The value of KEY=... among words [from, nwords), or NULL. */
static const char *value_of(struct parser *p, int from, const char *key)
{
	size_t k = strlen(key);

	for (int i = from; i < p->nwords; i++)
		if (!strncmp(p->words[i], key, k) && p->words[i][k] == '=')
			return p->words[i] + k + 1;
	return NULL;
}

static int has_flag(struct parser *p, int from, const char *flag)
{
	for (int i = from; i < p->nwords; i++)
		if (!strcmp(p->words[i], flag))
			return 1;
	return 0;
}

/* Every word from @from on is one of the comma-separated @allowed keys or flags. */
static int check_words(struct parser *p, int from, const char *what, const char *allowed)
{
	for (int i = from; i < p->nwords; i++) {
		const char *w = p->words[i], *eq = strchr(w, '=');
		size_t n = eq ? (size_t)(eq - w) : strlen(w);
		const char *a = allowed;
		int ok = 0;

		while (*a && !ok) {
			const char *c = strchr(a, ',');
			size_t an = c ? (size_t)(c - a) : strlen(a);
			int is_key = an && a[an - 1] == '=';

			if (is_key ? (eq && an - 1 == n && !strncmp(a, w, n))
				   : (!eq && an == n && !strncmp(a, w, n)))
				ok = 1;
			a = c ? c + 1 : a + an;
		}
		if (!ok)
			return fail(p, "unexpected \"%s\" in %s (expected %s)", w, what, allowed);
	}
	return 0;
}

static int need_number(struct parser *p, int from, const char *key, const char *what,
		       uint64_t *out)
{
	const char *v = value_of(p, from, key);

	if (!v)
		return fail(p, "expected \"%s=NUMBER\" in %s", key, what);
	if (parse_number(v, out))
		return fail(p, "expected a number in \"%s=%s\" (%s)", key, v, what);
	return 0;
}

static int opt_number(struct parser *p, int from, const char *key, const char *what,
		      uint64_t *out)
{
	return value_of(p, from, key) ? need_number(p, from, key, what, out) : 0;
}

/* fill=seq|zero|C|0xHH; absent: @dflt. */
static int parse_fill(struct parser *p, int from, int dflt, int *out)
{
	const char *v = value_of(p, from, "fill");
	uint64_t n;

	*out = dflt;
	if (!v)
		return 0;
	if (!strcmp(v, "seq"))
		*out = -1;
	else if (!strcmp(v, "zero"))
		*out = 0;
	else if (strlen(v) == 1)
		*out = (unsigned char)v[0];
	else if (!parse_number(v, &n) && n < 256)
		*out = (int)n;
	else
		return fail(p, "expected fill=seq|zero|CHAR|0xHH, got \"fill=%s\"", v);
	return 0;
}

/* ---- policy ---- */

static const char *const loop_names[WL_NR] = {
	"prepare_commit_2619", "nick_2006", "gup_pin_2007", "zero_retry_2007",
	"temp_page_2007", "idea42_2007", "readpage_flag_2007", "write_begin_2624", "today",
	"gfs2_iomap",
};
static const char *const short_names[SC_NR] = {
	"default", "commit_as_is", "copied_zero_fs", "copied_zero_generic",
};
static const char *const zero_names[ZN_NR] = { "default", "always", "if_copied", "page_only" };
static const char *const range_names[CR_NR] = { "default", "copied", "bytes" };
static const char *const inline_names[SI_NR] = {
	"off", "no_convert", "mkwrite_xattr", "convert_at_mmap", "mkwrite_inode_lock",
	"retry_evict", "retry_unchecked", "one_lock", "tso_2025",
};
static const char *const alloc_names[SA_NR] = { "ok", "enospc", "bad_bitmap" };
static const char *const inl_lock_names[SL_NR] = { "inode_lock", "xattr_only" };
static const char *const journal_names[2] = { "ordered", "none" };

static int lookup(struct parser *p, const char *key, const char *v, const char *const *names,
		  int n, int *out)
{
	char list[256] = "";

	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], v)) {
			*out = i;
			return 0;
		}
	for (int i = 0; i < n; i++) {
		if (!strcmp(names[i], "default"))
			continue;
		strncat(list, names[i], sizeof(list) - strlen(list) - 1);
		if (i + 1 < n)
			strncat(list, ", ", sizeof(list) - strlen(list) - 1);
	}
	return fail(p, "\"%s=%s\" is not a value of %s (%s)", key, v, key, list);
}

static int parse_policy_word(struct parser *p, const char *w, struct study_policy *pol)
{
	const char *eq = strchr(w, '=');
	char key[32];
	int v, err;

	if (!eq || (size_t)(eq - w) >= sizeof(key))
		return fail(p, "expected KEY=VALUE, got \"%s\"", w);
	memcpy(key, w, (size_t)(eq - w));
	key[eq - w] = 0;
	if (!strcmp(key, "write_loop")) {
		err = lookup(p, key, eq + 1, loop_names, WL_NR, &v);
		pol->write_loop = (enum study_write_loop)v;
	} else if (!strcmp(key, "short_copy")) {
		err = lookup(p, key, eq + 1, short_names, SC_NR, &v);
		pol->short_copy = (enum study_short_copy)v;
	} else if (!strcmp(key, "zero_new")) {
		err = lookup(p, key, eq + 1, zero_names, ZN_NR, &v);
		pol->zero_new = (enum study_zero_new)v;
	} else if (!strcmp(key, "commit_range")) {
		err = lookup(p, key, eq + 1, range_names, CR_NR, &v);
		pol->commit_range = (enum study_commit_range)v;
	} else if (!strcmp(key, "inline")) {
		err = lookup(p, key, eq + 1, inline_names, SI_NR, &v);
		pol->inl = (enum study_inline)v;
	} else if (!strcmp(key, "alloc")) {
		err = lookup(p, key, eq + 1, alloc_names, SA_NR, &v);
		pol->alloc = (enum study_alloc)v;
	} else if (!strcmp(key, "falloc") || !strcmp(key, "truncate")) {
		err = lookup(p, key, eq + 1, inl_lock_names, SL_NR, &v);
		if (key[0] == 'f')
			pol->falloc = (enum study_inl_lock)v;
		else
			pol->trunc = (enum study_inl_lock)v;
	} else if (!strcmp(key, "journal")) {
		err = lookup(p, key, eq + 1, journal_names, 2, &v);
		pol->nojournal = v;
	} else if ((err = iomap_policy_set(&pol->iomap, key, eq + 1)) != -ENOENT) {
		if (err)
			return fail(p, "\"%s\" is not a value of %s (%s)", w, key,
				    iomap_policy_values(key));
	} else {
		return fail(p, "unknown policy key \"%s\" (expected write_loop, short_copy, "
			    "zero_new, commit_range, inline, alloc, falloc, truncate, journal, "
			    "iomap_punch, iomap_truncate, prefault)", key);
	}
	return err;
}

const char *study_policy_str(const struct study_policy *p, char *buf, size_t size)
{
	int n = p->inl ? snprintf(buf, size, "inline=%s", inline_names[p->inl])
		       : snprintf(buf, size, "write_loop=%s", loop_names[p->write_loop]);

	if (p->short_copy && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, ",short_copy=%s", short_names[p->short_copy]);
	if (p->zero_new && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, ",zero_new=%s", zero_names[p->zero_new]);
	if (p->commit_range && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, ",commit_range=%s", range_names[p->commit_range]);
	if (p->alloc && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, ",alloc=%s", alloc_names[p->alloc]);
	if (p->falloc && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, ",falloc=%s", inl_lock_names[p->falloc]);
	if (p->trunc && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, ",truncate=%s", inl_lock_names[p->trunc]);
	if (p->nojournal && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, ",journal=none");
	if (p->write_loop == WL_GFS2_IOMAP && n >= 0 && (size_t)n < size)
		iomap_policy_str(&p->iomap, buf + n, size - (size_t)n);
	return buf;
}

/* ---- header, image, files ---- */

enum { SEC_STUDY, SEC_HEADER, SEC_IMAGE, SEC_FILE, SEC_TASK, SEC_POLICY, SEC_RUN, SEC_EXPLORE };

static int order(struct parser *p, int rank, const char *what)
{
	if (rank < p->section)
		return fail(p, "\"%s\" out of order (expected: study, title/cite, image, file, "
			    "task, policy, run, explore)", what);
	p->section = rank;
	return 0;
}

static int parse_image(struct parser *p)
{
	struct study *st = p->st;
	const char *b = value_of(p, 1, "block");
	const char *world = value_of(p, 1, "world");
	int err = check_words(p, 1, "image", "size=,block=,poison,world=");

	if (err)
		return err;
	err = need_number(p, 1, "size", "image", &st->image_size);
	if (err)
		return err;
	if (!b)
		return fail(p, "expected \"block=B[,B...]\" in image");
	while (*b) {
		char tmp[16];
		size_t n = strcspn(b, ",");
		uint64_t v;

		if (n >= sizeof(tmp) || st->nblock == STUDY_MAX_BLOCKS)
			return fail(p, "expected at most %d block sizes", STUDY_MAX_BLOCKS);
		memcpy(tmp, b, n);
		tmp[n] = 0;
		if (parse_number(tmp, &v) || (v != 1024 && v != 2048 && v != 4096))
			return fail(p, "expected a block size of 1024, 2048 or 4096, got \"%s\"", tmp);
		st->block[st->nblock++] = (unsigned)v;
		b += n + (b[n] == ',');
	}
	if (st->image_size < 16 * 4096 || st->image_size > (64u << 20))
		return fail(p, "expected an image size between 64K and 64M");
	st->poison = has_flag(p, 1, "poison");
	if (world && strcmp(world, "model") && strcmp(world, "engine"))
		return fail(p, "expected \"world=model\" or \"world=engine\", got \"%s\"", world);
	st->engine = world && !strcmp(world, "engine");
	return 0;
}

static int parse_file(struct parser *p)
{
	struct study_file *f;
	int err;

	if (p->nwords < 2 || p->words[1][0] != '/')
		return fail(p, "expected \"file /PATH size=SIZE\"");
	if (p->st->nfiles == STUDY_MAX_FILES)
		return fail(p, "more than %d files", STUDY_MAX_FILES);
	err = check_words(p, 2, "file", "size=,fill=,sparse,inline");
	if (err)
		return err;
	f = &p->st->files[p->st->nfiles];
	copy_str(f->path, sizeof(f->path), p->words[1]);
	err = need_number(p, 2, "size", "file", &f->size);
	if (!err && f->size > 16384)
		err = fail(p, "file sizes go up to 16K in a study (4 pages)");
	if (!err)
		err = parse_fill(p, 2, -1, &f->fill);
	f->sparse = has_flag(p, 2, "sparse");
	f->inline_data = has_flag(p, 2, "inline");
	if (!err && f->inline_data && (f->sparse || f->size > 100))
		err = fail(p, "an inline file holds at most 100 bytes (256-byte inodes) and no hole");
	if (!err)
		p->st->nfiles++;
	return err;
}

/* ---- tasks and steps ---- */

static const char *const verb_names[SV_NR] = {
	"mmap", "buf", "kbuf", "store", "load", "write", "read", "munmap", "mlock",
	"reclaim", "gup", "fault-in", "commit", "crash", "point", "signal", "wait",
	"fsync", "truncate", "fallocate",
};

static int task_index(const struct study *st, const char *id)
{
	for (int i = 0; i < st->ntasks; i++)
		if (!strcmp(st->tasks[i].id, id))
			return i;
	return -1;
}

static int makes_name(const struct study_task *t, const char *name)
{
	for (int i = 0; i < t->nsteps; i++)
		if ((t->steps[i].verb == SV_MMAP || t->steps[i].verb == SV_BUF ||
		     t->steps[i].verb == SV_KBUF) && !strcmp(t->steps[i].name, name))
			return 1;
	return 0;
}

/* NAME was made by an earlier mmap/buf/kbuf step of @t or of a task sharing its mm
 * (the names of one address space are shared, as its mappings are). */
static int name_defined(const struct study *st, const struct study_task *t, const char *name)
{
	if (makes_name(t, name))
		return 1;
	for (int i = 0; i < st->ntasks && t->mm >= 0; i++)
		if (&st->tasks[i] != t && st->tasks[i].mm == t->mm && makes_name(&st->tasks[i], name))
			return 1;
	return 0;
}

/* ADDR = NAME[+OFFSET] */
static int parse_addr(struct parser *p, const char *s, struct study_step *sp)
{
	const char *plus = strchr(s, '+');
	size_t n = plus ? (size_t)(plus - s) : strlen(s);

	if (!n || n >= sizeof(sp->addr))
		return fail(p, "expected an address NAME+OFFSET, got \"%s\"", s);
	memcpy(sp->addr, s, n);
	sp->addr[n] = 0;
	sp->addr_off = 0;
	if (plus && parse_number(plus + 1, &sp->addr_off))
		return fail(p, "expected an offset after '+' in \"%s\"", s);
	if (!name_defined(p->st, p->task, sp->addr))
		return fail(p, "\"%s\" is not a mapping or buffer of task %s", sp->addr, p->task->id);
	return 0;
}

static int parse_expect(struct parser *p, int from, struct study_step *sp)
{
	const char *v = value_of(p, from, "expect");
	uint64_t n;

	if (!v)
		return 0;
	sp->has_expect = 1;
	if (!strcmp(v, "-EFAULT"))
		sp->expect = -EFAULT;
	else if (!strcmp(v, "-ENOSPC"))
		sp->expect = -ENOSPC;
	else if (!parse_number(v, &n))
		sp->expect = (long)n;
	else
		return fail(p, "expected expect=BYTES|-EFAULT|-ENOSPC, got \"expect=%s\"", v);
	return 0;
}

static int need_name(struct parser *p, const char *verb, char *out)
{
	if (p->nwords < 2 || strchr(p->words[1], '=') || !valid_name(p->words[1]))
		return fail(p, "expected a name after %s", verb);
	copy_str(out, STUDY_NAME_MAX, p->words[1]);
	return 0;
}

static int need_path(struct parser *p, const char *verb, char *out)
{
	if (p->nwords < 2 || p->words[1][0] != '/')
		return fail(p, "expected a /PATH after %s", verb);
	for (int i = 0; i < p->st->nfiles; i++)
		if (!strcmp(p->st->files[i].path, p->words[1])) {
			copy_str(out, STUDY_PATH_MAX, p->words[1]);
			return 0;
		}
	return fail(p, "\"%s\" is not a file of this study (add a file line)", p->words[1]);
}

static int parse_step_args(struct parser *p, struct study_step *sp)
{
	const char *src;
	int err;

	switch (sp->verb) {
	case SV_MMAP:
		err = need_name(p, "mmap", sp->name);
		if (err)
			return err;
		if (p->nwords < 3 || p->words[2][0] != '/')
			return fail(p, "expected \"mmap NAME /PATH off=OFF len=LEN [r|rw]\"");
		memmove(p->words[1], p->words[2], WORD_MAX);
		err = need_path(p, "mmap NAME", sp->path);
		if (!err)
			err = check_words(p, 3, "mmap", "off=,len=,r,rw,shared");
		if (!err)
			err = need_number(p, 3, "off", "mmap", &sp->off);
		if (!err)
			err = need_number(p, 3, "len", "mmap", &sp->len);
		if (!err && (sp->off % 4096 || !sp->len))
			err = fail(p, "expected a page-aligned off= and a non-zero len= in mmap");
		sp->flags = has_flag(p, 3, "rw") ? SF_RW : 0;
		return err;
	case SV_BUF:
	case SV_KBUF:
		err = need_name(p, verb_names[sp->verb], sp->name);
		if (!err)
			err = check_words(p, 2, verb_names[sp->verb], "len=,fill=");
		if (!err)
			err = need_number(p, 2, "len", verb_names[sp->verb], &sp->len);
		if (!err)
			err = parse_fill(p, 2, 'W', &sp->fill);
		if (!err && (sp->len == 0 || sp->len > 16384))
			err = fail(p, "expected a buffer length between 1 and 16K");
		return err;
	case SV_WRITE:
		err = need_path(p, "write", sp->path);
		if (!err)
			err = check_words(p, 2, "write", "off=,src=,len=,expect=");
		if (!err)
			err = need_number(p, 2, "off", "write", &sp->off);
		if (!err)
			err = need_number(p, 2, "len", "write", &sp->len);
		if (!err && !(src = value_of(p, 2, "src")))
			err = fail(p, "expected \"src=ADDR\" in write");
		if (!err)
			err = parse_addr(p, src, sp);
		if (!err)
			err = parse_expect(p, 2, sp);
		return err;
	case SV_READ:
		err = need_path(p, "read", sp->path);
		if (!err)
			err = check_words(p, 2, "read", "off=,len=,expect=,no-zeros,no-stale");
		if (!err)
			err = need_number(p, 2, "off", "read", &sp->off);
		if (!err)
			err = need_number(p, 2, "len", "read", &sp->len);
		if (!err)
			err = parse_expect(p, 2, sp);
		sp->flags = (has_flag(p, 2, "no-zeros") ? SF_NO_ZEROS : 0) |
			    (has_flag(p, 2, "no-stale") ? SF_NO_STALE : 0);
		return err;
	case SV_LOAD:
	case SV_STORE:
	case SV_FAULT_IN:
		if (p->nwords < 2)
			return fail(p, "expected an address after %s", verb_names[sp->verb]);
		err = parse_addr(p, p->words[1], sp);
		if (!err)
			err = check_words(p, 2, verb_names[sp->verb], "len=,fill=,no-zeros,no-stale,expect=");
		if (!err)
			err = need_number(p, 2, "len", verb_names[sp->verb], &sp->len);
		if (!err)
			err = parse_fill(p, 2, 'S', &sp->fill);
		if (!err)
			err = parse_expect(p, 2, sp);
		sp->flags = (has_flag(p, 2, "no-zeros") ? SF_NO_ZEROS : 0) |
			    (has_flag(p, 2, "no-stale") ? SF_NO_STALE : 0);
		return err;
	case SV_GUP:
		if (p->nwords < 2)
			return fail(p, "expected an address after gup");
		err = parse_addr(p, p->words[1], sp);
		if (!err)
			err = check_words(p, 2, "gup", "pages=,expect=,write");
		sp->flags = has_flag(p, 2, "write") ? SF_RW : 0;
		sp->pages = 1;
		if (!err) {
			uint64_t n = 1;

			err = opt_number(p, 2, "pages", "gup", &n);
			sp->pages = (long)n;
			if (!err && (n < 1 || n > 4))
				err = fail(p, "expected pages=1..4 in gup");
		}
		if (!err)
			err = parse_expect(p, 2, sp);
		return err;
	case SV_MUNMAP:
	case SV_MLOCK:
	case SV_RECLAIM:
		if (sp->verb == SV_RECLAIM && p->nwords == 2 && !strcmp(p->words[1], "all")) {
			sp->flags = SF_ALL;
			return 0;
		}
		err = need_name(p, verb_names[sp->verb], sp->name);
		if (!err && !name_defined(p->st, p->task, sp->name))
			err = fail(p, "\"%s\" is not a mapping or buffer of task %s", sp->name,
				   p->task->id);
		if (!err)
			err = check_words(p, 2, verb_names[sp->verb],
					  sp->verb == SV_MLOCK ? "" : "off=,len=");
		if (!err)
			err = opt_number(p, 2, "off", verb_names[sp->verb], &sp->off);
		if (!err)
			err = opt_number(p, 2, "len", verb_names[sp->verb], &sp->len);
		if (!err && sp->off % 4096)
			err = fail(p, "expected a page-aligned off= in %s", verb_names[sp->verb]);
		return err;
	case SV_SIGNAL:
	case SV_WAIT:
		return fail(p, "%s is reserved and not implemented (order tasks with locks "
			    "and the explorer instead)", verb_names[sp->verb]);
	case SV_POINT:
		err = need_name(p, verb_names[sp->verb], sp->name);
		if (!err)
			err = check_words(p, 2, verb_names[sp->verb], "");
		return err;
	case SV_COMMIT:
	case SV_CRASH:
		return check_words(p, 1, verb_names[sp->verb], "");
	case SV_FSYNC:
	case SV_TRUNCATE:
	case SV_FALLOCATE:
		err = need_path(p, verb_names[sp->verb], sp->path);
		if (!err)
			err = check_words(p, 2, verb_names[sp->verb], "off=,len=,size=,expect=");
		if (!err && sp->verb == SV_TRUNCATE)
			err = need_number(p, 2, "size", "truncate", &sp->len);
		if (!err && sp->verb == SV_FALLOCATE)
			err = need_number(p, 2, "off", "fallocate", &sp->off);
		if (!err && sp->verb == SV_FALLOCATE)
			err = need_number(p, 2, "len", "fallocate", &sp->len);
		if (!err)
			err = parse_expect(p, 2, sp);
		return err;
	case SV_NR:
		break;
	}
	return fail(p, "internal: unknown verb");
}

static int parse_step(struct parser *p)
{
	struct study_task *t = p->task;
	struct study_step *sp;
	int v;

	if (!strcmp(p->words[0], "race")) {
		if (t->race >= 0)
			return fail(p, "a second \"race\" in task %s", t->id);
		if (p->nwords != 1)
			return fail(p, "expected nothing after race");
		t->race = t->nsteps;
		return 0;
	}
	for (v = 0; v < SV_NR; v++)
		if (!strcmp(p->words[0], verb_names[v]))
			break;
	if (v == SV_NR)
		return fail(p, "unknown step \"%s\" (expected mmap, buf, kbuf, store, load, write, "
			    "read, munmap, mlock, reclaim, gup, fault-in, commit, crash, point, "
			    "fsync, truncate, fallocate, race or end)", p->words[0]);
	if (t->nsteps == STUDY_MAX_STEPS)
		return fail(p, "more than %d steps in task %s", STUDY_MAX_STEPS, t->id);
	sp = &t->steps[t->nsteps];
	memset(sp, 0, sizeof(*sp));
	sp->line = p->line;
	sp->verb = (enum study_verb)v;
	sp->fill = -1;
	{
		char id[sizeof(t->id)];

		memcpy(id, t->id, sizeof(id));
		snprintf(sp->label, sizeof(sp->label), "%s:%d %s", id, t->nsteps + 1, verb_names[v]);
	}
	if (parse_step_args(p, sp))
		return -EINVAL;
	t->nsteps++;
	return 0;
}

static int parse_task(struct parser *p)
{
	struct study *st = p->st;
	struct study_task *t;
	char want[16];
	const char *mm;

	if (st->ntasks == TASK_MAX)
		return fail(p, "more than %d tasks", TASK_MAX);
	snprintf(want, sizeof(want), "T%d", st->ntasks + 1);
	if (p->nwords < 3 || strcmp(p->words[1], want) || !valid_name(p->words[2]))
		return fail(p, "expected \"task %s NAME [mm=own|none|Tn]\"", want);
	if (check_words(p, 3, "task", "mm="))
		return -EINVAL;
	t = &st->tasks[st->ntasks];
	memset(t, 0, sizeof(*t));
	copy_str(t->id, sizeof(t->id), want);
	copy_str(t->name, sizeof(t->name), p->words[2]);
	t->race = -1;
	t->mm = st->ntasks;
	mm = value_of(p, 3, "mm");
	if (mm && !strcmp(mm, "none")) {
		t->mm = -1;
	} else if (mm && strcmp(mm, "own")) {
		int i = task_index(st, mm);

		if (i < 0 || st->tasks[i].mm != i)
			return fail(p, "expected mm=own, none or an earlier task with its own mm, "
				    "got \"mm=%s\"", mm);
		t->mm = i;
	}
	st->ntasks++;
	p->task = t;
	return 0;
}

/* ---- policy, run, explore ---- */

static int parse_run(struct parser *p)
{
	struct study *st = p->st;
	struct study_run *r;
	const char *e, *tasks;

	if (st->nruns == STUDY_MAX_RUNS)
		return fail(p, "more than %d run lines", STUDY_MAX_RUNS);
	if (p->nwords < 2 || strchr(p->words[1], '=') || !valid_name(p->words[1]))
		return fail(p, "expected \"run LABEL KEY=VALUE... expect=VERDICT\"");
	r = &st->runs[st->nruns];
	memset(r, 0, sizeof(*r));
	copy_str(r->label, sizeof(r->label), p->words[1]);
	r->pol = st->common;
	r->line = p->line;
	r->tasks = 0xffffffffu;
	for (int i = 2; i < p->nwords; i++) {
		if (!strncmp(p->words[i], "expect=", 7) || !strncmp(p->words[i], "tasks=", 6))
			continue;
		if (parse_policy_word(p, p->words[i], &r->pol))
			return -EINVAL;
	}
	e = value_of(p, 2, "expect");
	if (!e)
		return fail(p, "expected \"expect=VERDICT\" in run %s", r->label);
	{
		static const char *const verdicts[] = { "clean", "deadlock", "BUG", "lockorder",
			"stale", "zeros", "lost", "crash", "expect", "livelock" };
		int ok = 0;

		for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++)
			ok |= !strcmp(verdicts[i], e);
		if (!ok)
			return fail(p, "\"expect=%s\" is not a verdict (clean, deadlock, BUG, "
				    "lockorder, stale, zeros, lost, crash, expect, livelock)", e);
	}
	copy_str(r->expect, sizeof(r->expect), e);
	tasks = value_of(p, 2, "tasks");
	if (tasks) {
		r->tasks = 0;
		while (*tasks) {
			char id[8];
			size_t n = strcspn(tasks, ",");
			int i;

			if (n >= sizeof(id))
				return fail(p, "expected tasks=T1,T2,...");
			memcpy(id, tasks, n);
			id[n] = 0;
			i = task_index(st, id);
			if (i < 0)
				return fail(p, "\"%s\" in tasks= is not a task of this study", id);
			r->tasks |= 1u << i;
			tasks += n + (tasks[n] == ',');
		}
	}
	st->nruns++;
	return 0;
}

static int parse_explore(struct parser *p)
{
	struct study *st = p->st;
	uint64_t n = 0;
	int err;

	if (p->has_explore)
		return fail(p, "a second explore line");
	p->has_explore = 1;
	if (p->nwords < 2)
		return fail(p, "expected \"explore dfs|random|pct ...\"");
	if (!strcmp(p->words[1], "dfs")) {
		st->strategy = TASK_DFS;
		err = check_words(p, 2, "explore dfs", "bound=,max=,iterate");
		if (!err && !(err = need_number(p, 2, "bound", "explore dfs", &n)))
			st->bound = (int)n;
		n = 0;
		if (!err && !(err = opt_number(p, 2, "max", "explore dfs", &n)))
			st->max_runs = (long)n;
		st->iterate = has_flag(p, 2, "iterate");
		return err;
	}
	if (!strcmp(p->words[1], "random") || !strcmp(p->words[1], "pct")) {
		int pct = p->words[1][0] == 'p';

		st->strategy = pct ? TASK_PCT : TASK_RANDOM;
		err = check_words(p, 2, p->words[1], pct ? "seed=,runs=,depth=" : "seed=,runs=");
		if (!err)
			err = need_number(p, 2, "seed", p->words[1], &st->seed);
		if (!err && !(err = need_number(p, 2, "runs", p->words[1], &n)))
			st->max_runs = (long)n;
		if (!err && pct && !(err = need_number(p, 2, "depth", "pct", &n)))
			st->depth = (int)n;
		return err;
	}
	return fail(p, "expected dfs, random or pct after explore, got \"%s\"", p->words[1]);
}

/* ---- top level ---- */

static int parse_directive(struct parser *p)
{
	const char *d = p->words[0];
	struct study *st = p->st;

	if (p->task) {
		if (!strcmp(d, "end")) {
			if (p->task->race < 0)
				p->task->race = 0;
			p->task = NULL;
			return 0;
		}
		return parse_step(p);
	}
	if (p->section == SEC_STUDY && strcmp(d, "study"))
		return fail(p, "expected \"study NAME\" first, got \"%s\"", d);
	if (!strcmp(d, "study")) {
		if (p->section != SEC_STUDY || st->name[0])
			return fail(p, "\"study\" must be the first directive, once");
		if (p->nwords != 2 || !valid_name(p->words[1]))
			return fail(p, "expected \"study NAME\"");
		copy_str(st->name, sizeof(st->name), p->words[1]);
		p->section = SEC_HEADER;
		return 0;
	}
	if (!strcmp(d, "title") || !strcmp(d, "cite")) {
		if (order(p, SEC_HEADER, d))
			return -EINVAL;
		if (d[0] == 't' && p->nwords != 2)
			return fail(p, "expected title \"TEXT\"");
		if (d[0] == 't')
			copy_str(st->title, sizeof(st->title), p->words[1]);
		else if (p->nwords != 3)
			return fail(p, "expected cite SEED \"QUOTE\"");
		return 0;
	}
	if (!strcmp(d, "image"))
		return order(p, SEC_IMAGE, d) ? -EINVAL : (st->nblock ? fail(p, "a second image line")
								       : parse_image(p));
	if (!strcmp(d, "file"))
		return order(p, SEC_FILE, d) ? -EINVAL : parse_file(p);
	if (!strcmp(d, "task"))
		return order(p, SEC_TASK, d) ? -EINVAL : parse_task(p);
	if (!strcmp(d, "policy")) {
		if (order(p, SEC_POLICY, d))
			return -EINVAL;
		for (int i = 1; i < p->nwords; i++)
			if (parse_policy_word(p, p->words[i], &st->common))
				return -EINVAL;
		return 0;
	}
	if (!strcmp(d, "run"))
		return order(p, SEC_RUN, d) ? -EINVAL : parse_run(p);
	if (!strcmp(d, "explore"))
		return order(p, SEC_EXPLORE, d) ? -EINVAL : parse_explore(p);
	if (!strcmp(d, "end"))
		return fail(p, "\"end\" outside a task");
	return fail(p, "unknown directive \"%s\" (expected study, title, cite, image, file, task, "
		    "policy, run, explore)", d);
}

/* What only the whole file can tell. */
static int finish(struct parser *p)
{
	struct study *st = p->st;

	if (p->task)
		return fail(p, "task %s has no \"end\"", p->task->id);
	p->line = 0;
	if (!st->name[0])
		return snprintf(p->err, p->errsize, "%s: no study line", p->file), -EINVAL;
	if (!st->nblock)
		return snprintf(p->err, p->errsize, "%s: no image line", p->file), -EINVAL;
	if (!st->ntasks)
		return snprintf(p->err, p->errsize, "%s: no task", p->file), -EINVAL;
	if (!st->nruns)
		return snprintf(p->err, p->errsize, "%s: no run line", p->file), -EINVAL;
	for (int i = 0; i < st->nruns; i++)
		if (!strcmp(st->runs[i].expect, "clean") && st->strategy != TASK_DFS) {
			p->line = st->runs[i].line;
			return fail(p, "expect=clean needs an exhaustive strategy (explore dfs ...)");
		}
	return 0;
}

int study_parse_text(const char *name, const char *text, struct study *st, char *err,
		     size_t errsize)
{
	struct parser p = { .file = name, .err = err, .errsize = errsize, .st = st };
	const char *s = text;
	char line[1024];

	memset(st, 0, sizeof(*st));
	copy_str(st->file, sizeof(st->file), name);
	st->strategy = TASK_DFS;
	st->bound = 2;
	st->iterate = 1;
	err[0] = 0;
	while (*s) {
		size_t n = strcspn(s, "\n");

		p.line++;
		if (n >= sizeof(line))
			return fail(&p, "line longer than %zu bytes", sizeof(line) - 1);
		memcpy(line, s, n);
		line[n] = 0;
		s += n + (s[n] == '\n');
		if (split(&p, line))
			return -EINVAL;
		if (p.nwords && parse_directive(&p))
			return -EINVAL;
	}
	return finish(&p);
}

int study_parse_file(const char *path, struct study *st, char *err, size_t errsize)
{
	FILE *f = fopen(path, "r");
	char *text;
	long n;
	int ret;

	if (!f) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -errno;
	}
	text = malloc(1 << 20);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	n = (long)fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	text[n] = 0;
	ret = study_parse_text(path, text, st, err, errsize);
	free(text);
	return ret;
}
