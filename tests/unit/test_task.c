/*
 * tests/unit/test_task.c - libfs/task: the scheduler, strategies, schedule counts,
 * replay, rw-semaphore writer fairness, lockdep and deadlock reports.  A failing test
 * prints the schedule string that replays it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "libfs/task/task.h"

/* ---- ABBA: two tasks, two mutexes in opposite order ---- */

struct abba {
	struct lock_mutex a, b;
};

static void abba_t1(void *arg)
{
	struct abba *x = arg;

	lock_mutex_lock(&x->a);
	lock_mutex_lock(&x->b);
	lock_mutex_unlock(&x->b);
	lock_mutex_unlock(&x->a);
}

static void abba_t2(void *arg)
{
	struct abba *x = arg;

	lock_mutex_lock(&x->b);
	lock_mutex_lock(&x->a);
	lock_mutex_unlock(&x->a);
	lock_mutex_unlock(&x->b);
}

static int abba_setup(struct task_sched *s, void *arg)
{
	struct abba *x = arg;

	lock_mutex_init(&x->a, "lock_A");
	lock_mutex_init(&x->b, "lock_B");
	assert_int_equal(task_spawn(s, "t1", abba_t1, x), 1);
	assert_int_equal(task_spawn(s, "t2", abba_t2, x), 2);
	return 0;
}

/* Prints the schedule that replays @r when it is not what the test expects. */
static void print_unexpected(const struct task_explore_result *r, enum task_verdict expect)
{
	if (r->verdict != expect)
		fprintf(stderr, "unexpected verdict %d at run %ld; replay with schedule "
			"\"%s\":\n%s\n", r->verdict, r->first_fail_run, r->schedule, r->message);
}

static void test_abba_dfs_finds_deadlock(void **state)
{
	struct abba x;
	struct task_program p = { abba_setup, NULL, NULL, &x };
	struct task_explore_opts o = { .sched = { .strategy = TASK_DFS, .preempt_bound = 2 } };
	struct task_explore_result r, replay;
	struct lock_dep *dep = lock_dep_create();

	o.sched.dep = dep;
	assert_int_equal(task_explore(&p, &o, &r), 0);
	print_unexpected(&r, TASK_DEADLOCK);
	assert_int_equal(r.verdict, TASK_DEADLOCK);
	assert_string_equal(r.oracle, "deadlock");
	assert_non_null(strstr(r.message, "T1 (t1) waits for lock_B"));
	assert_non_null(strstr(r.message, "T2 (t2) waits for lock_A"));
	assert_non_null(strstr(r.message, "held by T2 (write), taken at test_task.c:"));
	assert_true(strstr(r.message, "cycle: T1 lock_B -> T2 lock_A -> T1") ||
		    strstr(r.message, "cycle: T2 lock_A -> T1 lock_B -> T2"));
	assert_int_equal(lock_dep_count(dep, LOCK_REPORT_INVERSION), 1);

	/* iterating the bound finds it with the fewest preemptions: one */
	o.iterate_bound = 1;
	assert_int_equal(task_explore(&p, &o, &r), 0);
	assert_int_equal(r.verdict, TASK_DEADLOCK);
	assert_int_equal(r.bound, 1);

	/* the reported string replays the very same deadlock */
	o.sched.strategy = TASK_SCRIPT;
	o.sched.schedule = r.schedule;
	assert_int_equal(task_explore(&p, &o, &replay), 0);
	assert_int_equal(replay.verdict, TASK_DEADLOCK);
	assert_string_equal(replay.message, r.message);
	assert_string_equal(replay.schedule, r.schedule);
	lock_dep_destroy(dep);
}

/* The replayed deadlock, traced and drawn. */
static void test_trace_and_svg(void **state)
{
	struct task_sched_opts o = { .strategy = TASK_SCRIPT, .schedule = "112", .trace = 1 };
	struct task_sched *s;
	struct abba x;
	char *buf;
	size_t len;
	FILE *f;

	assert_int_equal(task_sched_create(&s, &o), 0);
	abba_setup(s, &x);
	assert_int_equal(task_sched_run(s), TASK_DEADLOCK);
	f = open_memstream(&buf, &len);
	task_trace_print(s, f);
	fclose(f);
	assert_non_null(strstr(buf, "T1   acquired  lock_A (write) at test_task.c:"));
	assert_non_null(strstr(buf, "T2   block     lock_A (write)"));
	assert_non_null(strstr(buf, "--   deadlock"));
	free(buf);

	f = open_memstream(&buf, &len);
	task_trace_svg(s, f, "abba");
	fclose(f);
	assert_true(!strncmp(buf, "<svg ", 5));
	assert_non_null(strstr(buf, "abba -- verdict: deadlock schedule &quot;112&quot;") ||
			strstr(buf, "abba -- verdict: deadlock schedule \"112\""));
	assert_non_null(strstr(buf, ">T1 t1</text>"));
	assert_non_null(strstr(buf, ">T2 t2</text>"));
	assert_non_null(strstr(buf, "<title>waits for lock_B (write)</title>"));
	assert_non_null(strstr(buf, "<title>lock_A (write)</title>"));
	assert_non_null(strstr(buf, "cycle: T1 lock_B -&gt; T2 lock_A -&gt; T1"));
	assert_string_equal(buf + len - 7, "</svg>\n");
	free(buf);
	task_sched_destroy(s);
}

static void test_abba_lockdep_on_surviving_schedule(void **state)
{
	struct abba x;
	struct task_program p = { abba_setup, NULL, NULL, &x };
	struct task_explore_opts o = { .sched = { .strategy = TASK_SCRIPT, .schedule = "" } };
	struct task_explore_result r;
	struct lock_dep *dep = lock_dep_create();
	const char *text;

	o.sched.dep = dep;
	/* default choices: T1 runs to its end, then T2: no deadlock */
	assert_int_equal(task_explore(&p, &o, &r), 0);
	assert_int_equal(r.verdict, TASK_OK);
	assert_int_equal(lock_dep_nr_reports(dep), 1);
	assert_int_equal(lock_dep_report(dep, 0, &text), LOCK_REPORT_INVERSION);
	assert_non_null(strstr(text, "lock_B -> lock_A now, but lock_A -> lock_B was seen"));
	/* both stacks: T2 now holds B and takes A; T1 before held A and took B */
	assert_non_null(strstr(text, "T2 (t2) holds:\n      lock_B (write) taken at test_task.c:"));
	assert_non_null(strstr(text, "T1 (t1) holds:\n      lock_A (write) taken at test_task.c:"));
	assert_non_null(strstr(text, "and takes lock_A (write) at test_task.c:"));
	lock_dep_destroy(dep);
}

/* ---- Jan Kara's three tasks: rwsem writer fairness ---- */

struct mmap_inode {
	struct lock_rwsem mmap_lock;
	struct lock_mutex inode_lock;
	int with_writer;
};

static void fault_task(void *arg)	/* page fault: mmap_lock, then inode_lock */
{
	struct mmap_inode *x = arg;

	lock_down_read(&x->mmap_lock);
	lock_mutex_lock(&x->inode_lock);
	lock_mutex_unlock(&x->inode_lock);
	lock_up_read(&x->mmap_lock);
}

static void write_task(void *arg)	/* write(): inode_lock, then a fault in the copy */
{
	struct mmap_inode *x = arg;

	lock_mutex_lock(&x->inode_lock);
	lock_down_read(&x->mmap_lock);
	lock_up_read(&x->mmap_lock);
	lock_mutex_unlock(&x->inode_lock);
}

static void munmap_task(void *arg)	/* munmap: mmap_lock for write */
{
	struct mmap_inode *x = arg;

	lock_down_write(&x->mmap_lock);
	lock_up_write(&x->mmap_lock);
}

static int mmap_inode_setup(struct task_sched *s, void *arg)
{
	struct mmap_inode *x = arg;

	lock_rwsem_init(&x->mmap_lock, "mmap_lock");
	lock_mutex_init(&x->inode_lock, "inode_lock");
	task_spawn(s, "fault", fault_task, x);
	task_spawn(s, "write", write_task, x);
	if (x->with_writer)
		task_spawn(s, "munmap", munmap_task, x);
	return 0;
}

static void test_rwsem_three_task_inversion(void **state)
{
	struct mmap_inode x = { .with_writer = 0 };
	struct task_program p = { mmap_inode_setup, NULL, NULL, &x };
	struct task_explore_opts o = { .sched = { .strategy = TASK_DFS, .preempt_bound = 3 } };
	struct task_explore_result r, replay;
	struct lock_dep *dep = lock_dep_create();

	/* two readers of mmap_lock cannot deadlock: the whole space is clean ... */
	o.sched.dep = dep;
	assert_int_equal(task_explore(&p, &o, &r), 0);
	print_unexpected(&r, TASK_OK);
	assert_int_equal(r.verdict, TASK_OK);
	assert_true(r.complete);
	/* ... yet lockdep reports the inversion, as the kernel's does */
	assert_int_equal(lock_dep_count(dep, LOCK_REPORT_INVERSION), 1);

	/* a queued writer blocks the second reader: three-task deadlock */
	x.with_writer = 1;
	assert_int_equal(task_explore(&p, &o, &r), 0);
	assert_int_equal(r.verdict, TASK_DEADLOCK);
	assert_non_null(strstr(r.message, "waits for mmap_lock (read)"));
	assert_non_null(strstr(r.message, "behind T3 queued for write"));
	assert_non_null(strstr(r.message, "T3 (munmap) waits for mmap_lock (write)"));
	assert_non_null(strstr(r.message, "held by T1 (read)"));
	/* the cycle goes through the queued writer: a reader does not wait for readers */
	assert_non_null(strstr(r.message, "T2 mmap_lock -> T3 mmap_lock -> T1"));

	o.sched.strategy = TASK_SCRIPT;
	o.sched.schedule = r.schedule;
	assert_int_equal(task_explore(&p, &o, &replay), 0);
	assert_int_equal(replay.verdict, TASK_DEADLOCK);
	assert_string_equal(replay.message, r.message);
	lock_dep_destroy(dep);
}

/* Queue order on one rwsem: W1 holds it; R1, R2, W2, R3 queue in that order. */
struct queue_order {
	struct lock_rwsem sem;
	char log[64];
};

static void qo_log(struct queue_order *x, const char *who)
{
	char buf[8];

	snprintf(buf, sizeof(buf), "%s%d ", who, x->sem.l.readers);
	strcat(x->log, buf);
}

static void qo_writer(void *arg)
{
	struct queue_order *x = arg;

	lock_down_write(&x->sem);
	qo_log(x, task_name(task_current()));
	task_yield_point("hold");
	lock_up_write(&x->sem);
}

static void qo_reader(void *arg)
{
	struct queue_order *x = arg;

	lock_down_read(&x->sem);
	qo_log(x, task_name(task_current()));
	lock_up_read(&x->sem);
}

static void test_rwsem_queue_order(void **state)
{
	struct task_sched *s;
	/* start W1, W1 takes it, preempt at "hold" to R1, which queues; then R2, W2, R3 */
	struct task_sched_opts o = { .strategy = TASK_SCRIPT, .schedule = "1122334455" };
	struct queue_order x = { .log = "" };

	assert_int_equal(task_sched_create(&s, &o), 0);
	lock_rwsem_init(&x.sem, "i_rwsem");
	task_spawn(s, "W1", qo_writer, &x);
	task_spawn(s, "R1", qo_reader, &x);
	task_spawn(s, "R2", qo_reader, &x);
	task_spawn(s, "W2", qo_writer, &x);
	task_spawn(s, "R3", qo_reader, &x);
	assert_int_equal(task_sched_run(s), TASK_OK);
	/* R1 and R2 are handed the lock together (2 readers); R3 waits behind W2 */
	assert_string_equal(x.log, "W10 R12 R21 W20 R31 ");
	/* the last '5' (R3 keeps running at its own point) is a default: trimmed */
	assert_string_equal(task_sched_schedule(s), "112233445");
	task_sched_destroy(s);
}

/* ---- schedule counts by hand ---- */

struct points {
	int npoints;
};

static void points_task(void *arg)
{
	const struct points *x = arg;

	for (int i = 0; i < x->npoints; i++)
		task_yield_point("p");
}

static int points_setup2(struct task_sched *s, void *arg)
{
	task_spawn(s, "a", points_task, arg);
	task_spawn(s, "b", points_task, arg);
	return 0;
}

static int points_setup3(struct task_sched *s, void *arg)
{
	points_setup2(s, arg);
	task_spawn(s, "c", points_task, arg);
	return 0;
}

static long count_schedules(int (*setup)(struct task_sched *, void *), int npoints,
			    int bound)
{
	struct points x = { npoints };
	struct task_program p = { setup, NULL, NULL, &x };
	struct task_explore_opts o = { .sched = { .strategy = TASK_DFS, .preempt_bound = bound } };
	struct task_explore_result r;

	assert_int_equal(task_explore(&p, &o, &r), 0);
	assert_true(r.complete);
	assert_int_equal(r.verdict, TASK_OK);
	return r.runs;
}

/*
 * Two tasks with two points each run three segments each: A0 A1 A2, B0 B1 B2.  A
 * schedule is a merge of the two; with k blocks it has k - 2 preemptions (the switch
 * after a task's last segment is free).  Merges with 2, 3, 4, 5, 6 blocks: 2, 4, 8,
 * 4, 2 (20 = C(6,3) in all).  So bound 0: 2, bound 1: 6, bound 2: 14, unbounded: 20.
 */
static void test_schedule_counts(void **state)
{
	assert_int_equal(count_schedules(points_setup2, 2, 0), 2);
	assert_int_equal(count_schedules(points_setup2, 2, 1), 6);
	assert_int_equal(count_schedules(points_setup2, 2, 2), 14);
	assert_int_equal(count_schedules(points_setup2, 2, 10), 20);
	/* three tasks without points: every order is free of preemptions: 3! */
	assert_int_equal(count_schedules(points_setup3, 0, 0), 6);
	/* one point each, bound 0: the 3! orders only */
	assert_int_equal(count_schedules(points_setup3, 1, 0), 6);
}

/* ---- a seeded bug for random and PCT: a lost update ---- */

struct counter {
	int value;
};

static void incr_task(void *arg)
{
	struct counter *c = arg;
	int v;

	for (int i = 0; i < 6; i++)
		task_yield_point("work");
	v = c->value;
	task_yield_point("between load and store");
	c->value = v + 1;
	for (int i = 0; i < 6; i++)
		task_yield_point("work");
}

static int counter_setup(struct task_sched *s, void *arg)
{
	struct counter *c = arg;

	c->value = 0;
	task_spawn(s, "inc1", incr_task, c);
	task_spawn(s, "inc2", incr_task, c);
	task_spawn(s, "inc3", incr_task, c);
	return 0;
}

static void counter_check(struct task_sched *s, void *arg)
{
	struct counter *c = arg;

	if (c->value != 3)
		task_sched_fail(s, "lost update", "counter is %d, expected 3", c->value);
}

static void find_lost_update(enum task_strategy strategy, uint64_t seed,
			     struct task_explore_result *r)
{
	struct counter c;
	struct task_program p = { counter_setup, counter_check, NULL, &c };
	struct task_explore_opts o = {
		.sched = { .strategy = strategy, .seed = seed, .pct_depth = 3 },
		.max_runs = 2000,
	};

	assert_int_equal(task_explore(&p, &o, r), 0);
	print_unexpected(r, TASK_BUG);
}

static void test_random_and_pct_deterministic(void **state)
{
	static const enum task_strategy strategies[] = { TASK_RANDOM, TASK_PCT };

	for (unsigned i = 0; i < 2; i++) {
		struct task_explore_result r1, r2, replay;
		struct counter c;
		struct task_program p = { counter_setup, counter_check, NULL, &c };
		struct task_explore_opts o = { .sched = { .strategy = TASK_SCRIPT } };

		find_lost_update(strategies[i], 42, &r1);
		find_lost_update(strategies[i], 42, &r2);
		assert_int_equal(r1.verdict, TASK_BUG);
		assert_string_equal(r1.oracle, "lost update");
		assert_int_equal(r1.first_fail_run, r2.first_fail_run);
		assert_string_equal(r1.schedule, r2.schedule);
		o.sched.schedule = r1.schedule;
		assert_int_equal(task_explore(&p, &o, &replay), 0);
		assert_int_equal(replay.verdict, TASK_BUG);
		assert_string_equal(replay.message, r1.message);
	}
}

/* ---- smaller properties ---- */

struct rec {
	struct lock_mutex m;
	struct lock_page page;
	int step;
};

static void recursive_task(void *arg)
{
	struct rec *x = arg;

	lock_mutex_lock(&x->m);
	lock_mutex_lock(&x->m);
}

static void test_recursion_deadlocks(void **state)
{
	struct task_sched *s;
	struct task_sched_opts o = { .strategy = TASK_SCRIPT, .dep = lock_dep_create() };
	struct rec x;
	const char *text;

	assert_int_equal(task_sched_create(&s, &o), 0);
	lock_mutex_init(&x.m, "i_rwsem");
	task_spawn(s, "writer", recursive_task, &x);
	assert_int_equal(task_sched_run(s), TASK_DEADLOCK);
	assert_non_null(strstr(task_sched_message(s), "cycle: T1 i_rwsem -> T1"));
	assert_int_equal(lock_dep_report(o.dep, 0, &text), LOCK_REPORT_RECURSION);
	assert_non_null(strstr(text, "recursive locking: T1 takes i_rwsem"));
	task_sched_destroy(s);
	lock_dep_destroy(o.dep);
}

static void page_locker(void *arg)
{
	struct rec *x = arg;

	lock_page_lock(&x->page);
	x->step = 1;
	lock_page_lock(&x->page);	/* waits until the other task unlocks it */
	x->step = 3;
	lock_page_unlock(&x->page);
}

static void page_unlocker(void *arg)
{
	struct rec *x = arg;

	while (x->step != 1)
		task_yield_point("wait for the lock");
	x->step = 2;
	task_trace_note("page %d: read I/O done", 0);
	lock_page_unlock(&x->page);	/* as I/O completion would */
}

static void test_page_lock_unlocked_by_other_task(void **state)
{
	struct task_sched *s;
	struct task_sched_opts o = { .strategy = TASK_SCRIPT, .trace = 1 };
	struct rec x = { .step = 0 };
	char *buf;
	size_t len;
	FILE *f;

	assert_int_equal(task_sched_create(&s, &o), 0);
	lock_page_init(&x.page, "page");
	task_spawn(s, "reader", page_locker, &x);
	task_spawn(s, "io", page_unlocker, &x);
	assert_int_equal(task_sched_run(s), TASK_OK);
	assert_int_equal(x.step, 3);
	assert_false(lock_page_is_locked(&x.page));
	f = open_memstream(&buf, &len);
	task_trace_print(s, f);
	fclose(f);
	assert_non_null(strstr(buf, "T1   block     page (write)"));
	assert_non_null(strstr(buf, "T2   handoff   page (write) to T1"));
	assert_non_null(strstr(buf, "T2   note      page 0: read I/O done"));
	free(buf);
	task_sched_destroy(s);
}

static void bug_task(void *arg)
{
	int *after = arg;

	task_yield_point("before");
	task_bug("BUG", "BUG_ON(pos + len > i_inline_size) at %s", "ext4_write_inline_data_end");
	*after = 1;
}

static void test_task_bug_ends_run(void **state)
{
	struct task_sched *s;
	struct task_sched_opts o = { .strategy = TASK_SCRIPT };
	int after = 0;

	assert_int_equal(task_sched_create(&s, &o), 0);
	task_spawn(s, "w", bug_task, &after);
	task_spawn(s, "w2", bug_task, &after);
	assert_int_equal(task_sched_run(s), TASK_BUG);
	assert_string_equal(task_sched_oracle(s), "BUG");
	assert_non_null(strstr(task_sched_message(s), "i_inline_size"));
	assert_int_equal(after, 0);
	task_sched_destroy(s);
}

static void test_replay_divergence(void **state)
{
	struct points x = { 2 };
	struct task_program p = { points_setup2, NULL, NULL, &x };
	struct task_explore_opts o = { .sched = { .strategy = TASK_SCRIPT, .schedule = "17" } };
	struct task_explore_result r;

	assert_int_equal(task_explore(&p, &o, &r), 0);
	assert_int_equal(r.verdict, TASK_DIVERGED);
	assert_non_null(strstr(r.message, "choice 2: '7' cannot run"));
}

static void spin_task(void *arg)
{
	const int *flag = arg;

	while (!*flag)
		task_yield_point("spin");
}

static void test_livelock_is_reported(void **state)
{
	struct task_sched *s;
	struct task_sched_opts o = { .strategy = TASK_SCRIPT, .max_steps = 1000 };
	int flag = 0;

	assert_int_equal(task_sched_create(&s, &o), 0);
	task_spawn(s, "spin", spin_task, &flag);
	assert_int_equal(task_sched_run(s), TASK_BUG);
	assert_string_equal(task_sched_oracle(s), "livelock");
	task_sched_destroy(s);
}

/* One task: every lock operation is a point with no choice: no context switch past
 * the first entry into the task. */
static void many_locks(void *arg)
{
	struct rec *x = arg;

	for (int i = 0; i < 1000; i++) {
		lock_mutex_lock(&x->m);
		lock_mutex_unlock(&x->m);
	}
}

static void test_single_task_no_switches(void **state)
{
	struct task_sched *s;
	struct task_sched_opts o = { .strategy = TASK_RANDOM, .seed = 1 };
	struct rec x;

	assert_int_equal(task_sched_create(&s, &o), 0);
	lock_mutex_init(&x.m, "m");
	task_spawn(s, "only", many_locks, &x);
	assert_int_equal(task_sched_run(s), TASK_OK);
	assert_int_equal(task_sched_switches(s), 1);
	assert_string_equal(task_sched_schedule(s), "");
	task_sched_destroy(s);

	/* bare mode: no scheduler at all, plain flag updates */
	lock_mutex_lock(&x.m);
	assert_true(lock_mutex_is_locked(&x.m));
	lock_mutex_unlock(&x.m);
	assert_false(lock_mutex_is_locked(&x.m));
	assert_null(task_current());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abba_dfs_finds_deadlock),
		cmocka_unit_test(test_abba_lockdep_on_surviving_schedule),
		cmocka_unit_test(test_trace_and_svg),
		cmocka_unit_test(test_rwsem_three_task_inversion),
		cmocka_unit_test(test_rwsem_queue_order),
		cmocka_unit_test(test_schedule_counts),
		cmocka_unit_test(test_random_and_pct_deterministic),
		cmocka_unit_test(test_recursion_deadlocks),
		cmocka_unit_test(test_page_lock_unlocked_by_other_task),
		cmocka_unit_test(test_task_bug_ends_run),
		cmocka_unit_test(test_replay_divergence),
		cmocka_unit_test(test_livelock_is_reported),
		cmocka_unit_test(test_single_task_no_switches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
