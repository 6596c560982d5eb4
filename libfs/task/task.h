/*
 * libfs/task - the kernel model's tasks and locks: deterministic cooperative tasks
 * (ucontext, one stack each), a scheduler for which every lock acquire, release and
 * wait is a schedule point, mutexes, rw-semaphores with the kernel's writer fairness,
 * page locks, a lockdep-style order checker, schedule strategies (scripted, random,
 * PCT, exhaustive DFS with a preemption bound) and an event trace.
 *
 * Calls only libc: it is the bottom of the kernel model (pcache and mm call it).
 * Nothing here is global except thread-local state: the task running on this thread
 * (NULL outside a scheduler run), which lock functions read to find their scheduler,
 * and, for bare mode, the thread's current->mm and pagefault_disable count.  In bare
 * mode (no run: the engine used as a plain library) a lock operation is a flag update
 * and nothing else; a lock taken in bare mode must be released in bare mode.
 *
 * Schedule strings: one character per schedule point at which more than one task
 * could run, naming the task chosen ('1'..'9' for T1..T9, then 'a'..'z', 'A'..'Z').
 * Trailing default choices (keep the running task, else the lowest runnable id) are
 * left off; a replay falls back to the default past the end of its string, so a
 * string reproduces its run exactly.
 */
#ifndef E4_TASK_H
#define E4_TASK_H

#include <stdint.h>
#include <stdio.h>

#define TASK_MAX 32		/* tasks per run */
#define TASK_MAX_HELD 16	/* locks one task holds at once */

struct task;
struct task_sched;
struct lock_dep;

/* ---- locks ---------------------------------------------------------------- */

enum lock_kind { LOCK_MUTEX, LOCK_RWSEM, LOCK_PAGE };
enum lock_mode { LOCK_WRITE, LOCK_READ };	/* exclusive (mutex, page, down_write), shared */

/*
 * The state every lock shares.  @name is the lockdep class: all locks with the same
 * name are one class (every mm's mmap_lock is "mmap_lock").  The string must outlive
 * the lock.  Waiters queue FIFO and are handed the lock on release.
 */
struct lock_obj {
	const char *name;
	struct task *owner;		/* exclusive holder; bare mode: a marker */
	const char *owner_where;	/* where the exclusive holder took it */
	int readers;			/* rwsem: read holders */
	struct task *wait_head, *wait_tail;
	const struct lock_dep *dep;	/* lockdep that class_id belongs to */
	int class_id;
	unsigned char kind;
};

struct lock_mutex { struct lock_obj l; };
struct lock_rwsem { struct lock_obj l; };
struct lock_page { struct lock_obj l; };

#define LOCK_STR2(x) #x
#define LOCK_STR(x) LOCK_STR2(x)
/* Where a lock is taken: "file.c:123".  Scenario steps pass their own names to _at. */
#define LOCK_SITE __FILE__ ":" LOCK_STR(__LINE__)

void lock_mutex_init(struct lock_mutex *m, const char *name);
void lock_mutex_lock_at(struct lock_mutex *m, const char *where);
void lock_mutex_unlock_at(struct lock_mutex *m, const char *where);
/* Returns 1 when taken, 0 when held by someone. */
int lock_mutex_trylock_at(struct lock_mutex *m, const char *where);
int lock_mutex_is_locked(const struct lock_mutex *m);
#define lock_mutex_lock(m) lock_mutex_lock_at((m), LOCK_SITE)
#define lock_mutex_unlock(m) lock_mutex_unlock_at((m), LOCK_SITE)
#define lock_mutex_trylock(m) lock_mutex_trylock_at((m), LOCK_SITE)

/*
 * rw-semaphore.  Writer fairness as the kernel's: a reader does not join current
 * readers while any task is queued, so a queued writer blocks new readers (this is
 * what turns two read-side holders into Jan Kara's three-task deadlock).  Release
 * hands the lock to the queue's front: one writer, or every reader up to the next
 * queued writer.
 */
void lock_rwsem_init(struct lock_rwsem *s, const char *name);
void lock_down_read_at(struct lock_rwsem *s, const char *where);
void lock_down_write_at(struct lock_rwsem *s, const char *where);
void lock_up_read_at(struct lock_rwsem *s, const char *where);
void lock_up_write_at(struct lock_rwsem *s, const char *where);
int lock_down_read_trylock_at(struct lock_rwsem *s, const char *where);
int lock_rwsem_is_locked(const struct lock_rwsem *s);
/* In a run: the current task holds @s (either mode).  Bare: @s is held at all. */
int lock_rwsem_held(const struct lock_rwsem *s);
#define lock_down_read(s) lock_down_read_at((s), LOCK_SITE)
#define lock_down_write(s) lock_down_write_at((s), LOCK_SITE)
#define lock_up_read(s) lock_up_read_at((s), LOCK_SITE)
#define lock_up_write(s) lock_up_write_at((s), LOCK_SITE)
#define lock_down_read_trylock(s) lock_down_read_trylock_at((s), LOCK_SITE)

/*
 * Page lock (PG_locked): exclusive like a mutex, but any task may unlock it (I/O
 * completion does in the kernel).  The page cache embeds one per page.
 */
void lock_page_init(struct lock_page *p, const char *name);
void lock_page_lock_at(struct lock_page *p, const char *where);
void lock_page_unlock_at(struct lock_page *p, const char *where);
int lock_page_trylock_at(struct lock_page *p, const char *where);
int lock_page_is_locked(const struct lock_page *p);
#define lock_page_lock(p) lock_page_lock_at((p), LOCK_SITE)
#define lock_page_unlock(p) lock_page_unlock_at((p), LOCK_SITE)
#define lock_page_trylock(p) lock_page_trylock_at((p), LOCK_SITE)

/* ---- lockdep: lives across runs ------------------------------------------- */

enum lock_report_kind {
	LOCK_REPORT_RECURSION,	/* a task takes a lock it already holds */
	LOCK_REPORT_SAME_CLASS,	/* a task nests two locks of one class */
	LOCK_REPORT_INVERSION,	/* A then B seen, now B then A (or a longer cycle) */
	LOCK_REPORT_HELD_AT_EXIT,	/* a task ended holding a mutex or rwsem */
};

struct lock_dep *lock_dep_create(void);
void lock_dep_destroy(struct lock_dep *dep);
int lock_dep_nr_reports(const struct lock_dep *dep);
/* The report's kind, or -1 past the end; *text gets the printable report. */
int lock_dep_report(const struct lock_dep *dep, int i, const char **text);
/* Number of reports of @kind. */
int lock_dep_count(const struct lock_dep *dep, enum lock_report_kind kind);
void lock_dep_print(const struct lock_dep *dep, FILE *f);

/* ---- tasks and one run ------------------------------------------------------ */

enum task_strategy {
	TASK_SCRIPT,	/* follow opts.schedule, then the default choice */
	TASK_RANDOM,	/* uniform among runnable tasks, from opts.seed */
	TASK_PCT,	/* probabilistic concurrency testing, depth opts.pct_depth */
	TASK_DFS,	/* exhaustive, at most opts.preempt_bound preemptions (explorer) */
};

enum task_verdict {
	TASK_OK,	/* every task ran to its end */
	TASK_DEADLOCK,	/* every live task blocked */
	TASK_BUG,	/* task_bug() or the program's check failed */
	TASK_DIVERGED,	/* a replayed choice named a task that could not run */
};

struct task_sched_opts {
	enum task_strategy strategy;
	const char *schedule;	/* TASK_SCRIPT */
	uint64_t seed;		/* TASK_RANDOM, TASK_PCT */
	int pct_depth;		/* TASK_PCT: d >= 1 (d - 1 priority change points) */
	long pct_steps;		/* TASK_PCT: expected schedule points per run (0: 64) */
	int preempt_bound;	/* TASK_DFS */
	long max_steps;		/* a run past this many points ends as "livelock" (0: 10^7) */
	int trace;		/* record the event trace */
	size_t stack_size;	/* per task; 0: 256 KiB (1 MiB under ASan) */
	struct lock_dep *dep;	/* NULL: no lock-order checking */
};

typedef void (*task_fn)(void *arg);

/* Returns 0 or -ENOMEM.  @dep is borrowed. */
int task_sched_create(struct task_sched **sp, const struct task_sched_opts *opts);
void task_sched_destroy(struct task_sched *s);
/* Forgets the tasks and the per-run state of the last run; keeps the stacks, the
 * strategy's state (random stream, DFS stack) and the lockdep. */
void task_sched_reset(struct task_sched *s);
/* Adds a runnable task; returns its id (1-based, T1 first) or -errno. */
int task_spawn(struct task_sched *s, const char *name, task_fn fn, void *arg);
/* Runs the tasks to the end, a deadlock or a bug.  Returns the verdict. */
enum task_verdict task_sched_run(struct task_sched *s);
enum task_verdict task_sched_verdict(const struct task_sched *s);
/* The replayable schedule string of the last run. */
const char *task_sched_schedule(const struct task_sched *s);
/* The verdict's report ("" when TASK_OK) and its oracle ("deadlock", "BUG", ...). */
const char *task_sched_message(const struct task_sched *s);
const char *task_sched_oracle(const struct task_sched *s);
long task_sched_steps(const struct task_sched *s);	/* schedule points */
long task_sched_switches(const struct task_sched *s);	/* context switches */
int task_sched_preemptions(const struct task_sched *s);
/* Marks the run failed from outside a task (a check after the run). */
void task_sched_fail(struct task_sched *s, const char *oracle, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The running task, or NULL outside a run. */
struct task *task_current(void);
int task_id(const struct task *t);
const char *task_name(const struct task *t);
struct task_sched *task_sched_of(const struct task *t);

/* An explicit schedule point, named for the trace.  A no-op outside a run. */
void task_yield_point(const char *name);
/*
 * A modelled kernel assertion failed (BUG/WARN or any other oracle): in a run, the
 * run ends with TASK_BUG and this call does not return.  Outside a run the message
 * is printed and the process aborts.
 */
void task_bug(const char *oracle, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* Per-task state the mm layer keeps: current->mm and the pagefault_disable count.
 * Outside a run they belong to the thread (it is the one task). */
void *task_current_mm(void);
void task_set_mm(struct task *t, void *mm);
int *task_pagefault_count(void);

/* ---- trace ------------------------------------------------------------------ */

enum task_event_kind {
	TASK_EV_START, TASK_EV_POINT, TASK_EV_ACQUIRE, TASK_EV_ACQUIRED, TASK_EV_BLOCK,
	TASK_EV_HANDOFF, TASK_EV_RELEASE, TASK_EV_SWITCH, TASK_EV_EXIT, TASK_EV_DEADLOCK,
	TASK_EV_BUG, TASK_EV_NOTE,
};

struct task_event {
	long step;			/* schedule points before this event */
	int task;			/* 1-based id; 0: the scheduler */
	int other;			/* HANDOFF: the task given the lock; SWITCH: the next task */
	enum task_event_kind kind;
	enum lock_mode mode;
	const char *lock;		/* lock class name, or NULL */
	const char *where;		/* site or point name */
};

int task_trace_len(const struct task_sched *s);
const struct task_event *task_trace_event(const struct task_sched *s, int i);
const char *task_event_name(enum task_event_kind kind);
void task_trace_print(const struct task_sched *s, FILE *f);
/* Draws the trace as a self-contained SVG: one lane per task, one column per event;
 * running and blocked spans, held locks as bars, points, notes, handoff arrows, and
 * the verdict's report as the caption.  @title heads the picture. */
void task_trace_svg(const struct task_sched *s, FILE *f, const char *title);
/* Records a free-text event of the running task, e.g. a page-state change
 * ("page 3: !uptodate -> uptodate").  The text is copied.  A no-op outside a run or
 * when the run does not trace. */
void task_trace_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- exploration ------------------------------------------------------------- */

/*
 * A program the explorer runs again and again.  setup() builds fresh shared state and
 * spawns the tasks (task_spawn), check() may fail the finished run with
 * task_sched_fail(), teardown() frees the state (also after a deadlock: blocked
 * tasks are abandoned, never resumed, so what they allocated is the program's to
 * free).  Runs must be deterministic given the schedule.
 */
struct task_program {
	int (*setup)(struct task_sched *s, void *arg);
	void (*check)(struct task_sched *s, void *arg);
	void (*teardown)(void *arg);
	void *arg;
};

struct task_explore_opts {
	struct task_sched_opts sched;
	long max_runs;		/* RANDOM, PCT: runs; DFS: a cap (0: 1000000) */
	int keep_going;		/* do not stop at the first failing run */
	/* DFS: explore with bound 0, 1, ... up to sched.preempt_bound and stop at the
	 * first bound with a failure, so the schedule found has the fewest preemptions */
	int iterate_bound;
};

struct task_explore_result {
	long runs;		/* schedules run */
	long failed;		/* runs whose verdict was not TASK_OK */
	int complete;		/* DFS: the whole bounded space was explored */
	int bound;		/* DFS: the preemption bound of the last space explored */
	enum task_verdict verdict;	/* of the first failing run, else TASK_OK */
	long first_fail_run;	/* 0-based index of that run, -1 if none */
	char oracle[32];
	char schedule[512];	/* of the first failing run (else of the last run) */
	char message[4096];
};

/* Returns 0 (the result says what was found) or -errno (setup failed, no memory). */
int task_explore(const struct task_program *p, const struct task_explore_opts *o,
		 struct task_explore_result *r);

#endif /* E4_TASK_H */
