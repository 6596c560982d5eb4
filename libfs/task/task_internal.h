/*
 * libfs/task internals shared by sched.c, strategy.c, lock.c, lockdep.c, trace.c and
 * explore.c.  Not for other layers.
 */
#ifndef E4_TASK_INTERNAL_H
#define E4_TASK_INTERNAL_H

#include <stddef.h>
#include <ucontext.h>

#include "libfs/task/task.h"

enum task_state { TASK_RUNNABLE, TASK_BLOCKED, TASK_DONE };

struct held_lock {
	struct lock_obj *lock;
	int class_id;
	enum lock_mode mode;
	const char *where;
};

struct task {
	int idx;			/* 0-based; shown as T(idx + 1) */
	char name[24];
	enum task_state state;
	struct task_sched *sched;
	task_fn fn;
	void *arg;
	ucontext_t ctx;
	void *stack;
	size_t stack_size;
	void *asan_fake;		/* ASan fake stack while switched out */
	/* while TASK_BLOCKED */
	struct lock_obj *wait_lock;
	enum lock_mode wait_mode;
	const char *wait_where;
	struct task *wait_next;
	/* lockdep's view: locks held, in acquisition order */
	struct held_lock held[TASK_MAX_HELD];
	int nheld;
	const char *point;		/* last schedule point passed */
	/* the mm layer's per-task state */
	void *mm;
	int pagefault_disabled;
	/* PCT */
	int pct_prio;
};

/* One recorded choice of the DFS explorer. */
struct dfs_choice {
	uint64_t enabled;		/* runnable tasks at the point */
	uint64_t tried;			/* choices already explored from here */
	signed char cur;		/* running task if it could continue, else -1 */
	unsigned char chosen;
	int preempts_before;
};

struct task_sched {
	struct task_sched_opts opts;
	struct task *tasks[TASK_MAX];
	int ntasks;
	uint64_t runnable;		/* bit per TASK_RUNNABLE task */
	struct task *current;		/* running, or last to run; NULL at start */
	struct task *next;		/* chosen to run after a switch to main */
	ucontext_t main_ctx;
	void *main_fake;
	const void *main_stack;
	size_t main_stack_size;
	/* result of the run */
	enum task_verdict verdict;
	char oracle[32];
	char message[4096];
	long steps, switches;
	int preempts;
	/* schedule string: chosen id per choice, and whether it was the default */
	char *sched_str;
	unsigned char *sched_default;
	int nchoices, choices_cap;
	char *sched_out;		/* trimmed copy returned to callers */
	/* strategy state */
	int script_pos;
	uint64_t rng;
	long pct_change[8];		/* PCT: steps at which priorities drop */
	int pct_nchange;
	struct dfs_choice *dfs;		/* explorer-owned stack of choices */
	int dfs_len, dfs_cap, dfs_pos;
	/* trace */
	struct task_event *trace;
	int trace_len, trace_cap;
	char **notes;			/* texts of TASK_EV_NOTE events, freed by reset */
	int nnotes, notes_cap;
	/* stacks kept across runs */
	void *stack_pool[TASK_MAX];
	size_t stack_pool_size;
};

/* sched.c */
void sched_point(struct task *t, const char *name);
void sched_block(struct task *t);
void sched_make_runnable(struct task *t);
void sched_check(const struct task_sched *s);
void sched_verdict(struct task_sched *s, enum task_verdict v, const char *oracle,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* strategy.c */
int strategy_pick(struct task_sched *s, uint64_t enabled, int cur);
void strategy_start_run(struct task_sched *s);
uint64_t strategy_next_rand(uint64_t *state);
char strategy_id_char(int idx);
int strategy_char_id(char c);
int strategy_record(struct task_sched *s, int chosen, int was_default);
void strategy_finish_run(struct task_sched *s);

/* lockdep.c */
void lockdep_acquire(struct task *t, struct lock_obj *l, enum lock_mode mode,
		     const char *where);
void lockdep_acquire_try(struct task *t, struct lock_obj *l);
void lockdep_task_exit(struct task *t);
void lockdep_deadlock_report(struct task_sched *s);

/* trace.c */
void trace_event(struct task_sched *s, struct task *t, enum task_event_kind kind,
		 const struct lock_obj *l, enum lock_mode mode, const char *where, int other);

void trace_reset(struct task_sched *s);

/* The basename of a LOCK_SITE path, for reports. */
const char *task_site(const char *where);

#endif /* E4_TASK_INTERNAL_H */
