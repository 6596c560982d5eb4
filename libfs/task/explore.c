/*
 * libfs/task/explore.c - runs a program under a strategy again and again: once for a
 * script, N times for random and PCT, and for DFS every schedule with at most
 * preempt_bound preemptions, by re-execution from the root (stateless model checking:
 * the recorded choice stack is the only state kept between runs).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libfs/task/task_internal.h"

/*
 * Moves the DFS stack to the next unexplored schedule: the deepest choice with an
 * untried runnable task whose preemption count stays within @bound.  Choosing another
 * task where the running one could have continued costs one preemption.  Returns 0
 * when the bounded space is exhausted.
 */
static int dfs_backtrack(struct task_sched *s, int bound)
{
	while (s->dfs_len > 0) {
		struct dfs_choice *c = &s->dfs[s->dfs_len - 1];
		uint64_t left = c->enabled & ~c->tried;

		while (left) {
			int id = __builtin_ctzll(left);
			int cost = c->cur >= 0 && id != c->cur;

			left &= left - 1;
			c->tried |= 1ull << id;
			if (c->preempts_before + cost <= bound) {
				c->chosen = (unsigned char)id;
				return 1;
			}
		}
		s->dfs_len--;
	}
	return 0;
}

static void note_run(struct task_explore_result *r, const struct task_sched *s,
		     enum task_verdict v)
{
	if (v != TASK_OK) {
		r->failed++;
		if (r->first_fail_run >= 0)
			return;
		r->first_fail_run = r->runs - 1;
		r->verdict = v;
		snprintf(r->oracle, sizeof(r->oracle), "%s", task_sched_oracle(s));
		snprintf(r->message, sizeof(r->message), "%s", task_sched_message(s));
	} else if (r->first_fail_run >= 0) {
		return;
	}
	snprintf(r->schedule, sizeof(r->schedule), "%s", task_sched_schedule(s));
}

static int explore_one(const struct task_program *p, struct task_sched *s,
		       enum task_verdict *v)
{
	int err;

	task_sched_reset(s);
	err = p->setup(s, p->arg);
	if (err) {
		if (p->teardown)
			p->teardown(p->arg);
		return err;
	}
	*v = task_sched_run(s);
	if (*v == TASK_OK && p->check)
		p->check(s, p->arg);
	*v = task_sched_verdict(s);
	if (p->teardown)
		p->teardown(p->arg);
	return 0;
}

/* One exploration with the strategy of @o; @r accumulates runs across calls. */
static int explore_space(const struct task_program *p, const struct task_explore_opts *o,
			 struct task_explore_result *r)
{
	struct task_sched *s;
	long max = o->max_runs > 0 ? o->max_runs : 1000000;
	int err;

	r->complete = 0;
	r->bound = o->sched.preempt_bound;
	err = task_sched_create(&s, &o->sched);
	if (err)
		return err;
	for (;;) {
		enum task_verdict v;

		err = explore_one(p, s, &v);
		if (err)
			break;
		r->runs++;
		note_run(r, s, v);
		if (s->opts.strategy == TASK_PCT && task_sched_steps(s) > s->opts.pct_steps)
			s->opts.pct_steps = task_sched_steps(s);
		if ((v != TASK_OK && !o->keep_going) || s->opts.strategy == TASK_SCRIPT ||
		    r->runs >= max)
			break;
		if (s->opts.strategy == TASK_DFS && !dfs_backtrack(s, o->sched.preempt_bound)) {
			r->complete = 1;
			break;
		}
	}
	task_sched_destroy(s);
	return err;
}

int task_explore(const struct task_program *p, const struct task_explore_opts *o,
		 struct task_explore_result *r)
{
	struct task_explore_opts one = *o;
	int err = 0;

	memset(r, 0, sizeof(*r));
	r->first_fail_run = -1;
	if (o->sched.strategy != TASK_DFS || !o->iterate_bound)
		return explore_space(p, o, r);
	for (int b = 0; b <= o->sched.preempt_bound && !err; b++) {
		one.sched.preempt_bound = b;
		err = explore_space(p, &one, r);
		if (r->failed)
			break;
	}
	return err;
}
