/*
 * libfs/task/strategy.c - who runs next at a schedule point with a choice: scripted,
 * random, PCT, DFS; and the schedule string that records every choice.  Called only
 * by sched.c; deterministic given opts and the previous runs of this scheduler.
 */
#include <stdlib.h>
#include <string.h>

#include "libfs/task/task_internal.h"

static const char id_chars[] =
	"123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

char strategy_id_char(int idx)
{
	return idx >= 0 && idx < (int)sizeof(id_chars) - 1 ? id_chars[idx] : '?';
}

int strategy_char_id(char c)
{
	const char *p = c ? strchr(id_chars, c) : NULL;

	return p ? (int)(p - id_chars) : -1;
}

/* splitmix64: small, good enough, and the same on every machine. */
uint64_t strategy_next_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Keep the running task if it can run, else the lowest runnable id. */
static int default_pick(uint64_t en, int cur)
{
	if (cur >= 0 && (en & (1ull << cur)))
		return cur;
	return __builtin_ctzll(en);
}

static int nth_bit(uint64_t en, int n)
{
	while (n--)
		en &= en - 1;
	return __builtin_ctzll(en);
}

int strategy_record(struct task_sched *s, int chosen, int was_default)
{
	if (s->nchoices + 1 >= s->choices_cap) {
		int cap = s->choices_cap ? 2 * s->choices_cap : 256;
		char *str = realloc(s->sched_str, cap);
		unsigned char *def;

		if (!str)
			return -1;
		s->sched_str = str;
		def = realloc(s->sched_default, cap);
		if (!def)
			return -1;
		s->sched_default = def;
		s->choices_cap = cap;
	}
	s->sched_str[s->nchoices] = strategy_id_char(chosen);
	s->sched_default[s->nchoices] = was_default;
	s->nchoices++;
	return 0;
}

static void runnable_list(const struct task_sched *s, uint64_t en, char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = 0;
	for (int i = 0; i < s->ntasks && len + 4 < n; i++)
		if (en & (1ull << i))
			len += snprintf(buf + len, n - len, "%sT%d", len ? "," : "", i + 1);
}

static int pick_script(struct task_sched *s, uint64_t en, int cur)
{
	const char *str = s->opts.schedule ? s->opts.schedule : "";
	char c, list[128];
	int id;

	while (str[s->script_pos] == ' ' || str[s->script_pos] == ',')
		s->script_pos++;
	c = str[s->script_pos];
	if (!c)
		return default_pick(en, cur);
	s->script_pos++;
	id = strategy_char_id(c);
	if (id >= 0 && (en & (1ull << id)))
		return id;
	runnable_list(s, en, list, sizeof(list));
	sched_verdict(s, TASK_DIVERGED, "replay",
		      "replay diverged at choice %d: '%c' cannot run (runnable: %s)",
		      s->nchoices + 1, c, list);
	return -1;
}

static int pick_random(struct task_sched *s, uint64_t en)
{
	int n = __builtin_popcountll(en);

	return nth_bit(en, (int)(strategy_next_rand(&s->rng) % (uint64_t)n));
}

/*
 * PCT (Burckhardt et al., ASPLOS 2010): distinct random priorities >= d, d - 1 change
 * points among the expected steps; the highest-priority runnable task runs, and at
 * the i-th change point the running task drops to priority d - 1 - i.
 */
static int pick_pct(struct task_sched *s, uint64_t en, int cur)
{
	int best = -1;

	while (s->pct_nchange > 0 && s->steps >= s->pct_change[s->pct_nchange - 1]) {
		struct task *run = cur >= 0 ? s->tasks[cur] : s->current;

		s->pct_nchange--;
		if (run)
			run->pct_prio = s->pct_nchange;
	}
	for (int i = 0; i < s->ntasks; i++)
		if ((en & (1ull << i)) && (best < 0 || s->tasks[i]->pct_prio >
						       s->tasks[best]->pct_prio))
			best = i;
	return best;
}

static void pct_start_run(struct task_sched *s)
{
	int d = s->opts.pct_depth > 0 ? s->opts.pct_depth : 1;
	long k = s->opts.pct_steps > 0 ? s->opts.pct_steps : 64;
	int perm[TASK_MAX];

	if (d > (int)(sizeof(s->pct_change) / sizeof(s->pct_change[0])) + 1)
		d = sizeof(s->pct_change) / sizeof(s->pct_change[0]) + 1;
	for (int i = 0; i < s->ntasks; i++)
		perm[i] = i;
	for (int i = s->ntasks - 1; i > 0; i--) {
		int j = (int)(strategy_next_rand(&s->rng) % (uint64_t)(i + 1));
		int tmp = perm[i];

		perm[i] = perm[j];
		perm[j] = tmp;
	}
	for (int i = 0; i < s->ntasks; i++)
		s->tasks[i]->pct_prio = d + perm[i];
	/* change points, kept sorted descending so the next one is at the end */
	s->pct_nchange = d - 1;
	for (int i = 0; i < s->pct_nchange; i++)
		s->pct_change[i] = 1 + (long)(strategy_next_rand(&s->rng) % (uint64_t)k);
	for (int i = 1; i < s->pct_nchange; i++)
		for (int j = i; j > 0 && s->pct_change[j - 1] < s->pct_change[j]; j--) {
			long tmp = s->pct_change[j];

			s->pct_change[j] = s->pct_change[j - 1];
			s->pct_change[j - 1] = tmp;
		}
}

/* DFS: follow the explorer's recorded prefix, then take defaults and record them. */
static int pick_dfs(struct task_sched *s, uint64_t en, int cur)
{
	struct dfs_choice *c;
	int id;

	if (s->dfs_pos < s->dfs_len) {
		c = &s->dfs[s->dfs_pos++];
		if (c->enabled != en) {
			sched_verdict(s, TASK_DIVERGED, "replay",
				      "DFS prefix diverged at choice %d: the program is not "
				      "deterministic", s->dfs_pos);
			return -1;
		}
		return c->chosen;
	}
	if (s->dfs_len == s->dfs_cap) {
		int cap = s->dfs_cap ? 2 * s->dfs_cap : 256;
		struct dfs_choice *n = realloc(s->dfs, cap * sizeof(*n));

		if (!n) {
			sched_verdict(s, TASK_DIVERGED, "ENOMEM", "out of memory");
			return -1;
		}
		s->dfs = n;
		s->dfs_cap = cap;
	}
	id = default_pick(en, cur);
	c = &s->dfs[s->dfs_len++];
	c->enabled = en;
	c->tried = 1ull << id;
	c->cur = (signed char)cur;
	c->chosen = (unsigned char)id;
	c->preempts_before = s->preempts;
	s->dfs_pos++;
	return id;
}

int strategy_pick(struct task_sched *s, uint64_t en, int cur)
{
	int id;

	switch (s->opts.strategy) {
	case TASK_RANDOM:
		id = pick_random(s, en);
		break;
	case TASK_PCT:
		id = pick_pct(s, en, cur);
		break;
	case TASK_DFS:
		id = pick_dfs(s, en, cur);
		break;
	case TASK_SCRIPT:
	default:
		id = pick_script(s, en, cur);
		break;
	}
	if (id >= 0 && strategy_record(s, id, id == default_pick(en, cur))) {
		sched_verdict(s, TASK_DIVERGED, "ENOMEM", "out of memory");
		return -1;
	}
	return id;
}

void strategy_start_run(struct task_sched *s)
{
	s->script_pos = 0;
	s->dfs_pos = 0;
	s->nchoices = 0;
	if (s->opts.strategy == TASK_PCT)
		pct_start_run(s);
}

const char *task_sched_schedule(const struct task_sched *s)
{
	return s->sched_out ? s->sched_out : "";
}

/* Freezes the run's schedule string, without its trailing default choices. */
void strategy_finish_run(struct task_sched *s)
{
	int len = s->nchoices;
	char *out;

	while (len > 0 && s->sched_default[len - 1])
		len--;
	out = realloc(s->sched_out, len + 1);
	if (!out)
		return;
	if (len)
		memcpy(out, s->sched_str, len);
	out[len] = 0;
	s->sched_out = out;
}
