/*
 * libfs/task/sched.c - the scheduler: task stacks and contexts, schedule points, block
 * and wake, the end of a run.  Calls strategy.c, lockdep.c, trace.c, libc (ucontext,
 * mmap) and the sanitizer's fiber hooks.  Tasks switch only through the scheduler's
 * main context, one at a time.
 *
 * A task's life:
 *
 *     task_spawn            chosen at a point             lock busy
 *   ------------> RUNNABLE ------------------> running -------------> BLOCKED
 *                   ^  ^     another chosen      |                       |
 *                   |  +-------------------------+                       |
 *                   |            fn returns | task_bug()                 |
 *                   |                       v                            |
 *                   |                     DONE   (task_bug: run ends)    |
 *                   +-------------- lock handed over on release ----------+
 *
 * Invariants (sched_check asserts 1-5 after every switch; 6 is sched_choose's):
 *  1. Bit i of s->runnable is set exactly when tasks[i] is RUNNABLE.
 *  2. A BLOCKED task is queued on exactly the lock in its wait_lock, and that lock is
 *     held: a lock with waiters always has an owner or readers (no lost wake-up).
 *  3. An exclusively owned lock has no readers.
 *  4. Each entry of a task's held[] is a lock that task owns, or a read-held rwsem.
 *  5. A DONE task is on no wait queue.
 *  6. With one runnable task a schedule point costs no context switch; a switch
 *     happens only when a strategy chose a different task or the running one blocked.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libfs/task/task_internal.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TASK_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(TASK_ASAN)
#define TASK_ASAN 1
#endif

#ifdef TASK_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define TASK_STACK_DEFAULT (1024 * 1024)
static void fiber_switch_begin(void **fake, const void *bottom, size_t size)
{
	__sanitizer_start_switch_fiber(fake, bottom, size);
}
static void fiber_switch_end(void *fake, const void **bottom, size_t *size)
{
	__sanitizer_finish_switch_fiber(fake, bottom, size);
}
static void fiber_stack_reuse(void *stack, size_t size)
{
	ASAN_UNPOISON_MEMORY_REGION(stack, size);
}
#else
#define TASK_STACK_DEFAULT (256 * 1024)
static void fiber_switch_begin(void **fake, const void *bottom, size_t size) {}
static void fiber_switch_end(void *fake, const void **bottom, size_t *size) {}
static void fiber_stack_reuse(void *stack, size_t size) {}
#endif

/* The task running on this thread; NULL outside a run (bare mode). */
static __thread struct task *task_cur __attribute__((tls_model("initial-exec")));
/* Bare mode's per-thread state for the mm layer (the thread is the one task). */
static __thread void *bare_mm __attribute__((tls_model("initial-exec")));
static __thread int bare_pagefault __attribute__((tls_model("initial-exec")));

struct task *task_current(void)
{
	return task_cur;
}

int task_id(const struct task *t)
{
	return t ? t->idx + 1 : 0;
}

const char *task_name(const struct task *t)
{
	return t ? t->name : "bare";
}

struct task_sched *task_sched_of(const struct task *t)
{
	return t ? t->sched : NULL;
}

void *task_current_mm(void)
{
	return task_cur ? task_cur->mm : bare_mm;
}

void task_set_mm(struct task *t, void *mm)
{
	if (t)
		t->mm = mm;
	else
		bare_mm = mm;
}

int *task_pagefault_count(void)
{
	return task_cur ? &task_cur->pagefault_disabled : &bare_pagefault;
}

const char *task_site(const char *where)
{
	const char *slash;

	if (!where)
		return "?";
	slash = strrchr(where, '/');
	return slash ? slash + 1 : where;
}

void sched_check(const struct task_sched *s)
{
	for (int i = 0; i < s->ntasks; i++) {
		const struct task *t = s->tasks[i];

		assert(!!(s->runnable & (1ull << i)) == (t->state == TASK_RUNNABLE)); /* 1 */
		if (t->state == TASK_BLOCKED) {						/* 2 */
			const struct task *w = t->wait_lock->wait_head;

			while (w && w != t)
				w = w->wait_next;
			assert(w == t);
			assert(t->wait_lock->owner || t->wait_lock->readers > 0);
		}
		for (int h = 0; h < t->nheld; h++) {					/* 4 */
			const struct held_lock *hl = &t->held[h];

			assert(hl->mode == LOCK_READ ? hl->lock->readers > 0
						     : hl->lock->owner == t);
			assert(!hl->lock->owner || hl->lock->readers == 0);		/* 3 */
		}
		if (t->state == TASK_DONE)						/* 5 */
			assert(!t->wait_lock);
	}
}

/* ---- stacks ---- */

static void *stack_get(struct task_sched *s, int idx)
{
	void *p = s->stack_pool[idx];

	if (p) {
		fiber_stack_reuse(p, s->stack_pool_size);
		return p;
	}
	p = mmap(NULL, s->stack_pool_size + 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	mprotect(p, 4096, PROT_NONE);		/* guard page below the stack */
	s->stack_pool[idx] = (char *)p + 4096;
	return s->stack_pool[idx];
}

/* ---- creation ---- */

int task_sched_create(struct task_sched **sp, const struct task_sched_opts *opts)
{
	struct task_sched *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->opts = *opts;
	s->stack_pool_size = opts->stack_size ? opts->stack_size : TASK_STACK_DEFAULT;
	s->rng = opts->seed;
	*sp = s;
	return 0;
}

void task_sched_reset(struct task_sched *s)
{
	for (int i = 0; i < s->ntasks; i++)
		free(s->tasks[i]);
	s->ntasks = 0;
	s->runnable = 0;
	s->current = s->next = NULL;
	s->verdict = TASK_OK;
	s->oracle[0] = s->message[0] = 0;
	s->steps = s->switches = 0;
	s->preempts = 0;
	s->nchoices = 0;
	s->script_pos = 0;
	s->dfs_pos = 0;
	trace_reset(s);
}

void task_sched_destroy(struct task_sched *s)
{
	if (!s)
		return;
	task_sched_reset(s);
	for (int i = 0; i < TASK_MAX; i++)
		if (s->stack_pool[i])
			munmap((char *)s->stack_pool[i] - 4096, s->stack_pool_size + 4096);
	free(s->sched_str);
	free(s->sched_default);
	free(s->sched_out);
	free(s->dfs);
	free(s->trace);
	free(s->notes);
	free(s);
}

static void task_entry(void);

int task_spawn(struct task_sched *s, const char *name, task_fn fn, void *arg)
{
	struct task *t;

	if (s->ntasks == TASK_MAX)
		return -EMFILE;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->idx = s->ntasks;
	snprintf(t->name, sizeof(t->name), "%s", name ? name : "task");
	t->sched = s;
	t->fn = fn;
	t->arg = arg;
	t->stack_size = s->stack_pool_size;
	t->stack = stack_get(s, t->idx);
	if (!t->stack || getcontext(&t->ctx)) {
		free(t);
		return -ENOMEM;
	}
	t->ctx.uc_stack.ss_sp = t->stack;
	t->ctx.uc_stack.ss_size = t->stack_size;
	t->ctx.uc_link = NULL;
	makecontext(&t->ctx, task_entry, 0);
	t->state = TASK_RUNNABLE;
	s->tasks[s->ntasks++] = t;
	s->runnable |= 1ull << t->idx;
	return t->idx + 1;
}

/* ---- switching ---- */

/* Main context -> @t; returns when a task switches back to main. */
static void switch_to_task(struct task_sched *s, struct task *t)
{
	s->current = t;
	task_cur = t;
	s->switches++;
	fiber_switch_begin(&s->main_fake, t->stack, t->stack_size);
	swapcontext(&s->main_ctx, &t->ctx);
	fiber_switch_end(s->main_fake, NULL, NULL);
	task_cur = NULL;
}

/* @t -> main context.  A @dying task (ended, or abandoned by task_bug) is never
 * resumed. */
static void switch_to_main(struct task_sched *s, struct task *t, int dying)
{
	fiber_switch_begin(dying ? NULL : &t->asan_fake, s->main_stack, s->main_stack_size);
	swapcontext(&t->ctx, &s->main_ctx);
	fiber_switch_end(t->asan_fake, NULL, NULL);
}

/* Picks the task to run after a point of @cur (NULL at the start of a run).
 * Returns NULL when nothing can run or the strategy diverged. */
static struct task *sched_choose(struct task_sched *s, struct task *cur)
{
	uint64_t en = s->runnable;
	int cur_idx = cur && cur->state == TASK_RUNNABLE ? cur->idx : -1;
	int idx;

	if (++s->steps > (s->opts.max_steps > 0 ? s->opts.max_steps : 10000000)) {
		sched_verdict(s, TASK_BUG, "livelock", "no end after %ld schedule points",
			      s->steps - 1);
		return NULL;
	}
	if (!en)
		return NULL;
	if (!(en & (en - 1)))
		return s->tasks[__builtin_ctzll(en)];
	idx = strategy_pick(s, en, cur_idx);
	if (idx < 0)
		return NULL;
	if (cur_idx >= 0 && idx != cur_idx)
		s->preempts++;
	return s->tasks[idx];
}

static void sched_go(struct task_sched *s, struct task *t, struct task *next, int dying)
{
	if (next != t && s->opts.trace && next)
		trace_event(s, t, TASK_EV_SWITCH, NULL, LOCK_WRITE, t->point, next->idx + 1);
	s->next = next;
	switch_to_main(s, t, dying);
}

void sched_point(struct task *t, const char *name)
{
	struct task_sched *s = t->sched;
	struct task *next;

	t->point = name;
	next = sched_choose(s, t);
	if (next != t)
		sched_go(s, t, next, next == NULL);
}

void task_yield_point(const char *name)
{
	struct task *t = task_cur;

	if (!t)
		return;
	if (t->sched->opts.trace)
		trace_event(t->sched, t, TASK_EV_POINT, NULL, LOCK_WRITE, name, 0);
	sched_point(t, name);
}

/* The caller queued @t on a lock and marked it TASK_BLOCKED.  Returns once the lock
 * was handed to @t and @t was chosen again. */
void sched_block(struct task *t)
{
	struct task_sched *s = t->sched;

	s->runnable &= ~(1ull << t->idx);
	sched_go(s, t, sched_choose(s, t), 0);
}

void sched_make_runnable(struct task *t)
{
	t->state = TASK_RUNNABLE;
	t->wait_lock = NULL;
	t->wait_next = NULL;
	t->sched->runnable |= 1ull << t->idx;
}

static void task_exit(struct task *t)
{
	struct task_sched *s = t->sched;

	if (s->opts.trace)
		trace_event(s, t, TASK_EV_EXIT, NULL, LOCK_WRITE, NULL, 0);
	lockdep_task_exit(t);
	t->state = TASK_DONE;
	s->runnable &= ~(1ull << t->idx);
	sched_go(s, t, sched_choose(s, t), 1);
}

static void task_entry(void)
{
	struct task *t = task_cur;
	struct task_sched *s = t->sched;

	fiber_switch_end(NULL, &s->main_stack, &s->main_stack_size);
	if (s->opts.trace)
		trace_event(s, t, TASK_EV_START, NULL, LOCK_WRITE, t->name, 0);
	t->fn(t->arg);
	task_exit(t);
	abort();		/* a DONE task is never resumed */
}

/* ---- a run ---- */

enum task_verdict task_sched_run(struct task_sched *s)
{
	strategy_start_run(s);
	s->next = sched_choose(s, NULL);
	while (s->next && s->verdict == TASK_OK) {
		switch_to_task(s, s->next);
		sched_check(s);
	}
	if (s->verdict == TASK_OK) {
		for (int i = 0; i < s->ntasks; i++)
			if (s->tasks[i]->state == TASK_BLOCKED) {
				lockdep_deadlock_report(s);
				break;
			}
	}
	strategy_finish_run(s);
	return s->verdict;
}

static void sched_set_fail(struct task_sched *s, enum task_verdict v, const char *oracle,
			   const char *fmt, va_list ap)
{
	if (s->verdict != TASK_OK)
		return;
	s->verdict = v;
	snprintf(s->oracle, sizeof(s->oracle), "%s", oracle);
	vsnprintf(s->message, sizeof(s->message), fmt, ap);
}

void task_sched_fail(struct task_sched *s, const char *oracle, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sched_set_fail(s, TASK_BUG, oracle, fmt, ap);
	va_end(ap);
}

/* Used by lockdep.c and strategy.c: sets the verdict with a formatted report. */
void sched_verdict(struct task_sched *s, enum task_verdict v, const char *oracle,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sched_set_fail(s, v, oracle, fmt, ap);
	va_end(ap);
}

void task_bug(const char *oracle, const char *fmt, ...)
{
	struct task *t = task_cur;
	va_list ap;

	va_start(ap, fmt);
	if (!t) {
		fprintf(stderr, "%s: ", oracle);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		abort();
	}
	sched_set_fail(t->sched, TASK_BUG, oracle, fmt, ap);
	va_end(ap);
	if (t->sched->opts.trace)
		trace_event(t->sched, t, TASK_EV_BUG, NULL, LOCK_WRITE, t->sched->message, 0);
	sched_go(t->sched, t, NULL, 1);
	abort();
}

enum task_verdict task_sched_verdict(const struct task_sched *s)
{
	return s->verdict;
}

const char *task_sched_message(const struct task_sched *s)
{
	return s->message;
}

const char *task_sched_oracle(const struct task_sched *s)
{
	return s->oracle;
}

long task_sched_steps(const struct task_sched *s)
{
	return s->steps;
}

long task_sched_switches(const struct task_sched *s)
{
	return s->switches;
}

int task_sched_preemptions(const struct task_sched *s)
{
	return s->preempts;
}
