/*
 * bench/task_overhead.c - what the kernel model costs a single task: 10 million
 * uncontended mutex lock/unlock pairs in bare mode (no scheduler: flag updates), then
 * the same inside a one-task scheduler run (schedule points with no choice, no
 * context switch), and rwsem read pairs, in thread CPU time.  Run by hand:
 * bench/task_overhead [N].
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "libfs/task/task.h"

struct bench {
	long n;
	struct lock_mutex m;
	struct lock_rwsem s;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);	/* CPU time: steadier on a busy box */
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void mutex_pairs(void *arg)
{
	struct bench *b = arg;

	for (long i = 0; i < b->n; i++) {
		lock_mutex_lock(&b->m);
		lock_mutex_unlock(&b->m);
	}
}

static void rwsem_pairs(void *arg)
{
	struct bench *b = arg;

	for (long i = 0; i < b->n; i++) {
		lock_down_read(&b->s);
		lock_up_read(&b->s);
	}
}

static void report(const char *what, long n, double secs)
{
	printf("%-44s %10ld pairs %8.3f s %7.2f ns/pair\n", what, n, secs, secs * 1e9 / n);
}

static void in_run(const char *what, struct bench *b, task_fn fn)
{
	struct task_sched_opts o = { .strategy = TASK_SCRIPT, .max_steps = LONG_MAX };
	struct task_sched *s;
	double t;

	if (task_sched_create(&s, &o))
		exit(1);
	task_spawn(s, "bench", fn, b);
	t = now();
	if (task_sched_run(s) != TASK_OK) {
		fprintf(stderr, "%s\n", task_sched_message(s));
		exit(1);
	}
	report(what, b->n, now() - t);
	printf("%44s %10ld switches\n", "", task_sched_switches(s));
	task_sched_destroy(s);
}

int main(int argc, char **argv)
{
	struct bench b = { .n = argc > 1 ? atol(argv[1]) : 10000000 };
	double t;

	lock_mutex_init(&b.m, "bench_mutex");
	lock_rwsem_init(&b.s, "bench_rwsem");
	t = now();
	mutex_pairs(&b);
	report("bare mode: mutex lock/unlock", b.n, now() - t);
	t = now();
	rwsem_pairs(&b);
	report("bare mode: down_read/up_read", b.n, now() - t);
	in_run("one task in a run: mutex lock/unlock", &b, mutex_pairs);
	in_run("one task in a run: down_read/up_read", &b, rwsem_pairs);
	return 0;
}
