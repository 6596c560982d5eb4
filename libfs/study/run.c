/*
 * libfs/study/run.c - the interpreter: turns a parsed study into a libfs/task program
 * (setup: a fresh world, the mms, the prologues, one task per `task`; check: the end
 * oracles; teardown: free without unlocking), explores it, and judges the verdict
 * against the run's expectation.  Calls world.c, wloop.c, libfs/mm and libfs/task.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libfs/study/world.h"

struct study_prog {
	const struct study *st;
	const struct study_run *run;
	struct study_world base;
	struct study_world w;
};

struct step_fail {
	char oracle[16];
	char msg[512];
};

static int step_failed(struct step_fail *sf, const char *oracle, const struct study_step *sp,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int step_failed(struct step_fail *sf, const char *oracle, const struct study_step *sp,
		       const char *fmt, ...)
{
	va_list ap;
	int n;

	snprintf(sf->oracle, sizeof(sf->oracle), "%s", oracle);
	n = snprintf(sf->msg, sizeof(sf->msg), "line %d (%s): ", sp->line, sp->label);
	va_start(ap, fmt);
	vsnprintf(sf->msg + n, sizeof(sf->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- names: mappings and buffers ---- */

static struct w_name *name_in(struct w_task *wt, const char *name)
{
	for (int i = 0; i < wt->nnames; i++)
		if (!strcmp(wt->names[i].name, name))
			return &wt->names[i];
	return NULL;
}

/* A name of @wt's, else of another task of the same mm. */
static struct w_name *name_find(struct w_task *wt, const char *name)
{
	struct study_world *w = wt->w;
	struct w_name *n = name_in(wt, name);

	for (int i = 0; !n && wt->t->mm >= 0 && i < w->st->ntasks; i++)
		if (w->tasks[i].t->mm == wt->t->mm && &w->tasks[i] != wt)
			n = name_in(&w->tasks[i], name);
	return n;
}

static struct w_name *name_add(struct w_task *wt, const char *name)
{
	struct w_name *n;

	if (wt->nnames == W_MAX_NAMES)
		return NULL;
	n = &wt->names[wt->nnames++];
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	return n;
}

static void fill_bytes(uint8_t *buf, uint64_t len, int fill)
{
	for (uint64_t i = 0; i < len; i++)
		buf[i] = fill < 0 ? (uint8_t)((i * 7 + 1) & 0xff) : (uint8_t)fill;
}

/* The bytes a write's source holds, read without faulting (anonymous pages are kept
 * across reclaim, kernel buffers are plain).  Returns 0, or -1 for a file mapping
 * (its contents depend on the schedule: the shadow gives up on that file). */
static int peek_source(struct w_task *wt, const struct w_name *n, uint64_t off, uint8_t *dst,
		       uint64_t len)
{
	if (n->kbuf) {
		memcpy(dst, n->kbuf + off, len);
		return 0;
	}
	for (uint64_t i = 0; i < len; i++) {
		uint64_t a = n->addr + off + i;
		struct mm_vma *vma = mm_find_vma(wt->mm, a);
		struct mm_anon_page *ap;

		if (!vma || vma->ops)
			return -1;
		ap = vma->anon[(a - vma->start) >> MM_PAGE_SHIFT];
		dst[i] = ap ? ap->data[a & (MM_PAGE_SIZE - 1)] : 0;
	}
	return 0;
}

/* ---- steps ---- */

static int check_read(struct step_fail *sf, const struct study_step *sp, const struct w_file *f,
		      const uint8_t *buf, uint64_t off, long n)
{
	size_t at;

	if (w_has_poison(buf, (size_t)n, &at))
		return step_failed(sf, "stale", sp, "read of %s saw a block never written at offset "
				   "%llu", f->path, (unsigned long long)(off + at));
	if (!(sp->flags & SF_NO_ZEROS) || !f)
		return 0;
	for (long i = 0; i < n; i++)
		if (!buf[i] && f->shadow[off + (uint64_t)i])
			return step_failed(sf, "zeros", sp, "read of %s saw a zero at offset %llu that "
					   "no writer stored", f->path,
					   (unsigned long long)(off + (uint64_t)i));
	return 0;
}

static int check_ret(struct step_fail *sf, const struct study_step *sp, long got)
{
	if (!sp->has_expect || got == sp->expect)
		return 0;
	return step_failed(sf, "expect", sp, "returned %ld, expected %ld", got, sp->expect);
}

static int do_write(struct w_task *wt, const struct study_step *sp, struct step_fail *sf)
{
	struct study_world *w = wt->w;
	struct w_file *f = w_file_of(w, sp->path);
	struct w_name *n = name_find(wt, sp->addr);
	struct w_src src;
	uint8_t tmp[W_MAX_PAGES * W_PAGE];
	long ret;

	if (!n)
		return step_failed(sf, "expect", sp, "\"%s\" was not made", sp->addr);
	src = (struct w_src){ wt->mm, n->addr + sp->addr_off,
			      n->kbuf ? n->kbuf + sp->addr_off : NULL };

	if (sp->off + sp->len > sizeof(tmp))
		return step_failed(sf, "expect", sp, "write past the 16K a study file may hold");
	lock_mutex_lock_at(&f->i_rwsem, sp->label);
	if (w->pol.inl)
		ret = e4i_write(w, f, sp->off, sp->len, &src);
	else if (w->ebase)
		ret = ew_write(w, f, sp->off, sp->len, &src);
	else
		ret = w_write(w, f, sp->off, sp->len, &src);
	lock_mutex_unlock_at(&f->i_rwsem, sp->label);
	task_trace_note("write %s returned %ld", f->path, ret);
	if (ret > 0 && f->shadow_valid) {
		if (peek_source(wt, n, sp->addr_off, tmp, (uint64_t)ret))
			f->shadow_valid = 0;
		else
			memcpy(f->shadow + sp->off, tmp, (size_t)ret);
	}
	return check_ret(sf, sp, ret);
}

static int do_read(struct w_task *wt, const struct study_step *sp, struct step_fail *sf)
{
	struct w_file *f = w_file_of(wt->w, sp->path);
	uint8_t buf[W_MAX_PAGES * W_PAGE];
	long n;

	if (sp->off + sp->len > sizeof(buf))
		return step_failed(sf, "expect", sp, "read past the 16K a study file may hold");
	n = wt->w->ebase ? ew_read(f, sp->off, buf, sp->len) : w_read(wt->w, f, sp->off, buf, sp->len);
	if (n < 0)
		return check_ret(sf, sp, n);
	if (check_read(sf, sp, f, buf, sp->off, n))
		return -1;
	return check_ret(sf, sp, n);
}

static int do_mmap(struct w_task *wt, const struct study_step *sp, struct step_fail *sf)
{
	struct study_world *w = wt->w;
	struct w_file *f = w_file_of(w, sp->path);
	const struct mm_file_ops *ops = w->pol.inl ? &e4i_file_ops : &w_file_ops;
	void *file = f;
	struct w_name *n;
	unsigned long flags = VM_READ | VM_SHARED | ((sp->flags & SF_RW) ? VM_WRITE : 0);
	int err;

	if (!wt->mm)
		return step_failed(sf, "expect", sp, "mmap in a task with no mm");
	n = name_add(wt, sp->name);
	if (!n)
		return step_failed(sf, "expect", sp, "too many mappings");
	n->len = sp->len;
	if (w->ebase) {
		ops = ew_file_ops();
		file = ew_mapping_file(f);
	}
	err = mm_mmap(wt->mm, sp->len, flags, ops, file, sp->off / W_PAGE, &n->addr);
	return err ? step_failed(sf, "expect", sp, "mmap failed: %d", err) : 0;
}

static int do_buf(struct w_task *wt, const struct study_step *sp, struct step_fail *sf)
{
	struct w_name *n = name_add(wt, sp->name);
	uint8_t tmp[16384];
	int err;

	if (!n)
		return step_failed(sf, "expect", sp, "too many buffers");
	n->len = sp->len;
	fill_bytes(tmp, sp->len, sp->fill);
	if (sp->verb == SV_KBUF) {
		n->kbuf = malloc(sp->len);
		if (!n->kbuf)
			return step_failed(sf, "expect", sp, "out of memory");
		memcpy(n->kbuf, tmp, sp->len);
		return 0;
	}
	if (!wt->mm)
		return step_failed(sf, "expect", sp, "buf in a task with no mm (use kbuf)");
	err = mm_mmap(wt->mm, sp->len, VM_READ | VM_WRITE, NULL, NULL, 0, &n->addr);
	if (!err && mm_copy_to_user(wt->mm, n->addr, tmp, sp->len))
		err = -EFAULT;
	return err ? step_failed(sf, "expect", sp, "buf failed: %d", err) : 0;
}

static int do_user(struct w_task *wt, const struct study_step *sp, struct step_fail *sf)
{
	struct w_name *n = name_find(wt, sp->addr);
	uint64_t addr;
	uint8_t buf[16384];
	size_t left;

	if (!n)
		return step_failed(sf, "expect", sp, "\"%s\" was not made", sp->addr);
	addr = n->addr + sp->addr_off;
	if (sp->len > sizeof(buf))
		return step_failed(sf, "expect", sp, "more than 16K");
	if (sp->verb == SV_FAULT_IN)
		return check_ret(sf, sp, (long)mm_fault_in_readable(wt->mm, addr, sp->len));
	if (sp->verb == SV_STORE) {
		fill_bytes(buf, sp->len, sp->fill);
		left = mm_copy_to_user(wt->mm, addr, buf, sp->len);
		return check_ret(sf, sp, left ? -EFAULT : (long)sp->len);
	}
	left = mm_copy_from_user(wt->mm, buf, addr, sp->len);
	if (check_read(sf, sp, NULL, buf, 0, (long)(sp->len - left)))
		return -1;
	return check_ret(sf, sp, left ? -EFAULT : (long)sp->len);
}

static int do_gup(struct w_task *wt, const struct study_step *sp, struct step_fail *sf)
{
	struct w_name *n = name_find(wt, sp->addr);
	struct mm_page_ref refs[4];
	long got;

	if (!wt->mm || !n)
		return check_ret(sf, sp, -EFAULT);
	lock_down_read_at(&wt->mm->mmap_lock, sp->label);
	got = mm_get_user_pages(wt->mm, n->addr + sp->addr_off, sp->pages,
				(sp->flags & SF_RW) ? FOLL_WRITE : 0, refs, NULL);
	lock_up_read_at(&wt->mm->mmap_lock, sp->label);
	for (long i = 0; i < got; i++)
		mm_put_user_page(&refs[i]);
	return check_ret(sf, sp, got);
}

static int do_vm(struct w_task *wt, const struct study_step *sp, struct step_fail *sf)
{
	struct w_name *n = sp->flags & SF_ALL ? NULL : name_find(wt, sp->name);
	int err = 0;

	if (!n && !(sp->flags & SF_ALL))
		return step_failed(sf, "expect", sp, "\"%s\" was not made", sp->name);
	uint64_t addr = n ? n->addr + sp->off : 0;
	uint64_t len = !n ? UINT64_MAX / 2 : sp->len ? sp->len : n->len - sp->off;

	if (!wt->mm)
		return step_failed(sf, "expect", sp, "no mm");
	if (sp->verb == SV_RECLAIM)
		mm_reclaim(wt->mm, addr, len);
	else if (sp->verb == SV_MUNMAP)
		err = mm_munmap(wt->mm, addr, len);
	else
		err = mm_mlock(wt->mm, addr, len);
	return err ? step_failed(sf, "expect", sp, "failed: %d", err) : 0;
}

/* The engine's crash: the device as it is now, recovered by a fresh mount. */
static int crash_engine(struct study_world *w, const struct study_step *sp,
			struct step_fail *sf)
{
	uint8_t (*bufs)[W_MAX_PAGES * W_PAGE] = malloc(sizeof(*bufs) * STUDY_MAX_FILES);
	uint64_t sizes[STUDY_MAX_FILES];
	size_t at;
	int err = bufs ? ew_crash(w, bufs, sizes) : -ENOMEM, ret = 0;

	if (err)
		ret = step_failed(sf, "crash", sp, "recovery of the crashed image failed: %s",
				  strerror(-err));
	for (int i = 0; !err && !ret && i < w->nfiles; i++)
		if (w_has_poison(bufs[i], (size_t)sizes[i], &at))
			ret = step_failed(sf, "stale", sp, "after crash recovery %s shows a block "
					  "never written at offset %zu", w->files[i].path, at);
	free(bufs);
	return ret;
}

/* The crash: what recovery of the last commit finds must show no stale block. */
static int do_crash(struct w_task *wt, const struct study_step *sp, struct step_fail *sf)
{
	struct study_world *w = wt->w;
	uint8_t buf[W_MAX_PAGES * W_PAGE];
	size_t at;

	w->crashed = 1;
	task_trace_note("crash: the image as of the last commit");
	if (w->ebase)
		return crash_engine(w, sp, sf);
	for (int i = 0; i < w->nfiles; i++) {
		struct w_file *f = &w->files[i];

		w_contents(w, f, buf, 1);
		if (w_has_poison(buf, (size_t)f->durable_size, &at))
			return step_failed(sf, "stale", sp, "after crash recovery %s shows a block "
					   "never written at offset %zu", f->path, at);
	}
	return 0;
}

/* kjournald's commit of the running transaction. */
static int do_commit(struct w_task *wt, const struct study_step *sp, struct step_fail *sf)
{
	int err;

	if (!wt->w->ebase) {
		w_journal_commit(wt->w);
		return 0;
	}
	err = ew_commit(wt->w);
	return err ? step_failed(sf, "expect", sp, "commit failed: %s", strerror(-err)) : 0;
}

/* fsync, truncate, fallocate: the ext4 inline model's (libfs/study/ext4_inline.c),
 * or the engine's. */
static int do_ext4(struct w_task *wt, const struct study_step *sp, struct step_fail *sf)
{
	struct study_world *w = wt->w;
	struct w_file *f = w_file_of(w, sp->path);
	long ret;

	if (w->ebase && sp->verb == SV_FSYNC)
		ret = ew_fsync(f);
	else if (w->ebase && sp->verb == SV_TRUNCATE)
		ret = ew_truncate(f, sp->len);
	else if (w->ebase)
		return step_failed(sf, "expect", sp, "fallocate is not a step of the engine world");
	else if (sp->verb == SV_FSYNC)
		ret = e4i_fsync(w, f);
	else if (sp->verb == SV_TRUNCATE)
		ret = e4i_truncate(w, f, sp->len);
	else
		ret = e4i_fallocate(w, f, sp->off, sp->len);
	if (ret == -ENODATA)
		return step_failed(sf, "lost", sp, "fsync: %s on disk differs from what was "
				   "written", f->path);
	if (ret == -EUCLEAN && sp->verb == SV_FSYNC)
		return step_failed(sf, "crash", sp, "fsync: e2fsck pass 1 would report %s: "
				   "INLINE_DATA_FL with i_size %llu, larger than its inline data "
				   "(\"i_size is %llu, should be %u\")", f->path,
				   (unsigned long long)f->size, (unsigned long long)f->size,
				   f->ei.inline_size);
	return check_ret(sf, sp, ret);
}

static int exec_step(struct w_task *wt, const struct study_step *sp, struct step_fail *sf)
{
	switch (sp->verb) {
	case SV_MMAP: return do_mmap(wt, sp, sf);
	case SV_BUF:
	case SV_KBUF: return do_buf(wt, sp, sf);
	case SV_WRITE: return do_write(wt, sp, sf);
	case SV_READ: return do_read(wt, sp, sf);
	case SV_STORE:
	case SV_LOAD:
	case SV_FAULT_IN: return do_user(wt, sp, sf);
	case SV_GUP: return do_gup(wt, sp, sf);
	case SV_MUNMAP:
	case SV_MLOCK:
	case SV_RECLAIM: return do_vm(wt, sp, sf);
	case SV_COMMIT: return do_commit(wt, sp, sf);
	case SV_CRASH: return do_crash(wt, sp, sf);
	case SV_POINT: task_yield_point(sp->name); return 0;
	case SV_FSYNC:
	case SV_TRUNCATE:
	case SV_FALLOCATE: return do_ext4(wt, sp, sf);
	case SV_SIGNAL:
	case SV_WAIT:
	case SV_NR: break;
	}
	return step_failed(sf, "expect", sp, "step not supported by this interpreter");
}

/* ---- the program ---- */

static void task_body(void *arg)
{
	struct w_task *wt = arg;
	struct step_fail sf;

	for (int i = wt->t->race; i < wt->t->nsteps; i++) {
		const struct study_step *sp = &wt->t->steps[i];

		task_yield_point(sp->label);
		if (exec_step(wt, sp, &sf))
			task_bug(sf.oracle, "%s", sf.msg);
	}
}

static int in_run(const struct study_prog *pr, int i)
{
	return !!(pr->run->tasks & (1u << i));
}

static int prog_setup(struct task_sched *s, void *arg)
{
	struct study_prog *pr = arg;
	struct study_world *w = &pr->w;
	const struct study *st = pr->st;
	struct step_fail sf;
	int err = w_clone(w, &pr->base);

	if (!err && w->ebase)
		err = ew_mount(w);
	if (err)
		return err;
	w->pol = pr->run->pol;
	for (int i = 0; i < st->ntasks; i++) {
		const struct study_task *t = &st->tasks[i];

		if (t->mm == i && (err = mm_create(&w->mms[i])))
			return err;
		w->tasks[i] = (struct w_task){ .t = t, .w = w, .index = i,
					       .mm = t->mm >= 0 ? w->mms[t->mm] : NULL };
	}
	for (int i = 0; i < st->ntasks; i++) {
		struct w_task *wt = &w->tasks[i];

		/* every prologue runs (a thread in the run may use its parent's names) */
		for (int k = 0; k < wt->t->race; k++)
			if (exec_step(wt, &wt->t->steps[k], &sf)) {
				fprintf(stderr, "%s: prologue: %s\n", st->file, sf.msg);
				return -EINVAL;
			}
	}
	for (int i = 0; i < st->ntasks; i++) {
		if (!in_run(pr, i))
			continue;
		err = task_spawn(s, st->tasks[i].name, task_body, &w->tasks[i]);
		if (err < 0)
			return err;
	}
	return 0;
}

/* The end oracles: every file equals its shadow and shows no stale block. */
static void prog_check(struct task_sched *s, void *arg)
{
	struct study_prog *pr = arg;
	struct study_world *w = &pr->w;
	uint8_t buf[W_MAX_PAGES * W_PAGE];
	size_t at;

	for (int i = 0; i < w->nfiles; i++) {
		struct w_file *f = &w->files[i];

		if (w->ebase) {
			int err = ew_contents(f, buf, &f->size);

			if (err) {
				task_sched_fail(s, "expect", "%s cannot be read: %s", f->path,
						strerror(-err));
				return;
			}
		} else {
			w_contents(w, f, buf, 0);
		}
		if (w_has_poison(buf, (size_t)f->size, &at)) {
			task_sched_fail(s, "stale", "%s shows a block never written at offset %zu",
					f->path, at);
			return;
		}
		if (!f->shadow_valid)
			continue;
		for (uint64_t b = 0; b < f->size; b++)
			if (buf[b] != f->shadow[b]) {
				task_sched_fail(s, "lost", "%s differs from its shadow at offset %llu: "
						"0x%02x, expected 0x%02x", f->path,
						(unsigned long long)b, buf[b], f->shadow[b]);
				return;
			}
	}
}

static void prog_teardown(void *arg)
{
	struct study_prog *pr = arg;

	w_free(&pr->w);
}

/* ---- one run of a study ---- */

static void fill_opts(const struct study *st, const struct study_opts *o, struct lock_dep *dep,
		      struct task_explore_opts *eo)
{
	memset(eo, 0, sizeof(*eo));
	eo->sched.strategy = o->has_strategy ? o->strategy : st->strategy;
	eo->sched.preempt_bound = o->bound >= 0 ? o->bound : st->bound;
	eo->sched.seed = o->has_strategy ? o->seed : st->seed;
	eo->sched.pct_depth = o->has_strategy ? o->depth : st->depth;
	if (eo->sched.pct_depth < 1)
		eo->sched.pct_depth = 2;
	eo->sched.max_steps = 100000;
	eo->sched.dep = dep;
	eo->max_runs = o->has_strategy ? o->runs : st->max_runs;
	if (eo->sched.strategy != TASK_DFS && eo->max_runs <= 0)
		eo->max_runs = 1000;
	eo->iterate_bound = st->iterate && !o->has_strategy;
	if (o->replay) {
		eo->sched.strategy = TASK_SCRIPT;
		eo->sched.schedule = o->replay;
	}
}

/* Runs @schedule once more with the trace on and prints it. */
static int trace_run(struct study_prog *pr, const char *schedule, const struct study_opts *o,
		     struct study_result *r)
{
	struct task_sched_opts so = { .strategy = TASK_SCRIPT, .schedule = schedule, .trace = 1,
				      .max_steps = 100000 };
	struct task_sched *s;
	char title[1024];
	int err = task_sched_create(&s, &so);

	if (err)
		return err;
	err = prog_setup(s, pr);
	if (!err) {
		if (task_sched_run(s) == TASK_OK)
			prog_check(s, pr);
		snprintf(title, sizeof(title), "%s block=%u %s: %s schedule=\"%s\"",
			 pr->st->name, r->block, r->label, r->verdict, schedule);
		if (o->trace) {
			fprintf(o->trace, "# %s\n", title);
			task_trace_print(s, o->trace);
		}
		if (o->svg && (o->replay || strcmp(r->verdict, "clean"))) {
			task_trace_svg(s, o->svg, title);
			r->svg_written = 1;
		}
	}
	prog_teardown(pr);
	task_sched_destroy(s);
	return err;
}

static void judge(const struct task_explore_result *er, const struct lock_dep *dep,
		  enum task_strategy strategy, struct study_result *r)
{
	const char *text = "";

	snprintf(r->schedule, sizeof(r->schedule), "%s", er->schedule);
	r->explored = er->runs;
	r->complete = er->complete;
	if (er->failed) {
		snprintf(r->verdict, sizeof(r->verdict), "%s",
			 er->verdict == TASK_DIVERGED ? "diverged" : er->oracle);
		snprintf(r->message, sizeof(r->message), "%s", er->message);
	} else if (lock_dep_nr_reports(dep) > 0) {
		lock_dep_report(dep, 0, &text);
		snprintf(r->verdict, sizeof(r->verdict), "lockorder");
		snprintf(r->message, sizeof(r->message), "%s", text);
	} else if (strategy == TASK_DFS && !er->complete) {
		snprintf(r->verdict, sizeof(r->verdict), "incomplete");
	} else {
		snprintf(r->verdict, sizeof(r->verdict), "clean");
		r->schedule[0] = 0;
	}
	r->ok = !strcmp(r->verdict, r->expect) ||
		(!strcmp(r->expect, "lockorder") && lock_dep_nr_reports(dep) > 0);
}

/* The model world, or the engine's: the study's choice unless @o overrides it. */
static int build_world(struct study_prog *pr, const struct study_opts *o,
		       struct study_result *r)
{
	int engine = o->world >= 0 ? o->world : pr->st->engine;
	struct vfs_policy vp;
	int err;

	snprintf(r->world, sizeof(r->world), "%s", engine ? "engine" : "model");
	if (engine && ew_policy(&pr->run->pol, &vp)) {
		snprintf(r->message, sizeof(r->message), "policy %s has no engine version",
			 r->policy);
		return -EOPNOTSUPP;
	}
	err = w_build(&pr->base, pr->st, r->block, pr->st->poison);
	if (!err && engine)
		err = ew_build(&pr->base);
	return err;
}

int study_run_one(const struct study *st, int run, unsigned block,
		  const struct study_opts *o, struct study_result *r)
{
	struct study_prog *pr = calloc(1, sizeof(*pr));
	struct task_explore_result *er = calloc(1, sizeof(*er));
	struct task_program prog = { prog_setup, prog_check, prog_teardown, pr };
	struct lock_dep *dep = lock_dep_create();
	struct task_explore_opts eo;
	struct timespec t0, t1;
	int err = -ENOMEM;

	memset(r, 0, sizeof(*r));
	if (!pr || !er || !dep)
		goto out;
	pr->st = st;
	pr->run = &st->runs[run];
	snprintf(r->label, sizeof(r->label), "%s", pr->run->label);
	snprintf(r->expect, sizeof(r->expect), "%s", pr->run->expect);
	study_policy_str(&pr->run->pol, r->policy, sizeof(r->policy));
	r->block = block;
	err = build_world(pr, o, r);
	if (err)
		goto out;
	fill_opts(st, o, dep, &eo);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = task_explore(&prog, &eo, er);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (!err) {
		judge(er, dep, eo.sched.strategy, r);
		if (o->trace || o->svg)
			err = trace_run(pr, o->replay ? o->replay : r->schedule, o, r);
	}
	w_free(&pr->base);
	ew_free_base(&pr->base);
out:
	if (dep)
		lock_dep_destroy(dep);
	free(er);
	free(pr);
	return err;
}
