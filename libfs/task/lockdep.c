/*
 * libfs/task/lockdep.c - the lock checker: classes by name, the order graph between
 * classes (kept across runs, so an inversion is reported even when the run that shows
 * it survived), recursion, and the wait-for cycle of a real deadlock.  Called by
 * lock.c and sched.c.  Each finding is reported once per class pair and kind.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "libfs/task/task_internal.h"

#define LOCKDEP_CLASSES 128

struct lockdep_edge {
	int from, to;
	char *witness;		/* the acquiring task's held stack and the new lock */
};

struct lockdep_report {
	enum lock_report_kind kind;
	int a, b;
	char *text;
};

struct lock_dep {
	char *class_name[LOCKDEP_CLASSES];
	int nclasses;
	uint64_t adj[LOCKDEP_CLASSES][LOCKDEP_CLASSES / 64];
	struct lockdep_edge *edges;
	int nedges, edges_cap;
	struct lockdep_report *reports;
	int nreports, reports_cap;
};

struct lock_dep *lock_dep_create(void)
{
	return calloc(1, sizeof(struct lock_dep));
}

void lock_dep_destroy(struct lock_dep *dep)
{
	if (!dep)
		return;
	for (int i = 0; i < dep->nclasses; i++)
		free(dep->class_name[i]);
	for (int i = 0; i < dep->nedges; i++)
		free(dep->edges[i].witness);
	for (int i = 0; i < dep->nreports; i++)
		free(dep->reports[i].text);
	free(dep->edges);
	free(dep->reports);
	free(dep);
}

int lock_dep_nr_reports(const struct lock_dep *dep)
{
	return dep->nreports;
}

int lock_dep_report(const struct lock_dep *dep, int i, const char **text)
{
	if (i < 0 || i >= dep->nreports)
		return -1;
	*text = dep->reports[i].text;
	return dep->reports[i].kind;
}

int lock_dep_count(const struct lock_dep *dep, enum lock_report_kind kind)
{
	int n = 0;

	for (int i = 0; i < dep->nreports; i++)
		n += dep->reports[i].kind == kind;
	return n;
}

void lock_dep_print(const struct lock_dep *dep, FILE *f)
{
	for (int i = 0; i < dep->nreports; i++)
		fprintf(f, "%s\n", dep->reports[i].text);
}

/* ---- small string builder ---- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p)
			return;
		b->p = p;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += n;
}

static const char *mode_name(enum lock_mode m)
{
	return m == LOCK_READ ? "read" : "write";
}

/* ---- classes and reports ---- */

static int class_of(struct lock_dep *dep, struct lock_obj *l)
{
	if (l->dep == dep)
		return l->class_id;
	l->dep = dep;
	for (int i = 0; i < dep->nclasses; i++)
		if (!strcmp(dep->class_name[i], l->name)) {
			l->class_id = i;
			return i;
		}
	if (dep->nclasses == LOCKDEP_CLASSES)
		task_bug("BUG", "lockdep: more than %d lock classes", LOCKDEP_CLASSES);
	dep->class_name[dep->nclasses] = strdup(l->name);
	l->class_id = dep->nclasses;
	return dep->nclasses++;
}

static int report_seen(const struct lock_dep *dep, enum lock_report_kind kind, int a, int b)
{
	for (int i = 0; i < dep->nreports; i++)
		if (dep->reports[i].kind == kind && dep->reports[i].a == a &&
		    dep->reports[i].b == b)
			return 1;
	return 0;
}

/* Takes ownership of @text. */
static void report_add(struct lock_dep *dep, enum lock_report_kind kind, int a, int b,
		       char *text)
{
	if (dep->nreports == dep->reports_cap) {
		int cap = dep->reports_cap ? 2 * dep->reports_cap : 16;
		struct lockdep_report *r = realloc(dep->reports, cap * sizeof(*r));

		if (!r) {
			free(text);
			return;
		}
		dep->reports = r;
		dep->reports_cap = cap;
	}
	dep->reports[dep->nreports++] = (struct lockdep_report){ kind, a, b, text };
}

/* The task's held locks and the one it is taking, as report lines. */
static void held_stack(struct sbuf *b, const struct task *t, const struct lock_obj *l,
		       enum lock_mode mode, const char *where)
{
	sb_printf(b, "    T%d (%s) holds:\n", t->idx + 1, t->name);
	for (int i = 0; i < t->nheld; i++)
		sb_printf(b, "      %s (%s) taken at %s\n", t->held[i].lock->name,
			  mode_name(t->held[i].mode), task_site(t->held[i].where));
	sb_printf(b, "    and takes %s (%s) at %s\n", l->name, mode_name(mode),
		  task_site(where));
}

static void report_recursion(struct lock_dep *dep, const struct task *t,
			     const struct held_lock *h, struct lock_obj *l,
			     enum lock_mode mode, const char *where)
{
	enum lock_report_kind kind = h->lock == l ? LOCK_REPORT_RECURSION
						  : LOCK_REPORT_SAME_CLASS;
	struct sbuf b = { 0 };

	if (report_seen(dep, kind, h->class_id, h->class_id))
		return;
	sb_printf(&b, "%s: T%d takes %s (%s) at %s while holding %s%s (%s) since %s\n",
		  kind == LOCK_REPORT_RECURSION ? "recursive locking"
						: "possible recursive locking (same class)",
		  t->idx + 1, l->name, mode_name(mode), task_site(where),
		  h->lock == l ? "it" : "another ", h->lock == l ? "" : h->lock->name,
		  mode_name(h->mode), task_site(h->where));
	held_stack(&b, t, l, mode, where);
	report_add(dep, kind, h->class_id, h->class_id, b.p);
}

static int has_edge(const struct lock_dep *dep, int a, int b)
{
	return !!(dep->adj[a][b / 64] & (1ull << (b % 64)));
}

static const struct lockdep_edge *edge_find(const struct lock_dep *dep, int a, int b)
{
	for (int i = 0; i < dep->nedges; i++)
		if (dep->edges[i].from == a && dep->edges[i].to == b)
			return &dep->edges[i];
	return NULL;
}

static void edge_add(struct lock_dep *dep, int a, int b, char *witness)
{
	if (dep->nedges == dep->edges_cap) {
		int cap = dep->edges_cap ? 2 * dep->edges_cap : 64;
		struct lockdep_edge *e = realloc(dep->edges, cap * sizeof(*e));

		if (!e) {
			free(witness);
			return;
		}
		dep->edges = e;
		dep->edges_cap = cap;
	}
	dep->edges[dep->nedges++] = (struct lockdep_edge){ a, b, witness };
	dep->adj[a][b / 64] |= 1ull << (b % 64);
}

/* Breadth-first path @from ->* @to in the order graph; fills @path (classes, from
 * first) and returns its length, or 0 when there is none. */
static int find_path(const struct lock_dep *dep, int from, int to, int *path)
{
	int prev[LOCKDEP_CLASSES], queue[LOCKDEP_CLASSES], head = 0, tail = 0, n = 0;

	for (int i = 0; i < dep->nclasses; i++)
		prev[i] = -2;
	prev[from] = -1;
	queue[tail++] = from;
	while (head < tail) {
		int c = queue[head++];

		if (c == to)
			break;
		for (int d = 0; d < dep->nclasses; d++)
			if (prev[d] == -2 && has_edge(dep, c, d)) {
				prev[d] = c;
				queue[tail++] = d;
			}
	}
	if (prev[to] == -2)
		return 0;
	for (int c = to; c != -1; c = prev[c])
		path[n++] = c;
	for (int i = 0; i < n / 2; i++) {
		int tmp = path[i];

		path[i] = path[n - 1 - i];
		path[n - 1 - i] = tmp;
	}
	return n;
}

static void report_inversion(struct lock_dep *dep, const struct task *t,
			     const struct held_lock *h, struct lock_obj *l,
			     enum lock_mode mode, const char *where)
{
	int path[LOCKDEP_CLASSES], n, c = l->class_id, a = h->class_id;
	int lo = a < c ? a : c, hi = a < c ? c : a;
	struct sbuf b = { 0 };

	n = find_path(dep, c, a, path);
	if (!n || report_seen(dep, LOCK_REPORT_INVERSION, lo, hi))
		return;
	sb_printf(&b, "lock order inversion: %s -> %s now, but %s", h->lock->name, l->name,
		  dep->class_name[path[0]]);
	for (int i = 1; i < n; i++)
		sb_printf(&b, " -> %s", dep->class_name[path[i]]);
	sb_printf(&b, " was seen before\n  now:\n");
	held_stack(&b, t, l, mode, where);
	sb_printf(&b, "  before:\n");
	for (int i = 0; i + 1 < n; i++) {
		const struct lockdep_edge *e = edge_find(dep, path[i], path[i + 1]);

		sb_printf(&b, "%s", e && e->witness ? e->witness : "    (no witness)\n");
	}
	report_add(dep, LOCK_REPORT_INVERSION, lo, hi, b.p);
}

void lockdep_acquire_try(struct task *t, struct lock_obj *l)
{
	if (t->sched->opts.dep)
		class_of(t->sched->opts.dep, l);
}

/* Before @t waits for or takes @l: recursion, order edges from every held class. */
void lockdep_acquire(struct task *t, struct lock_obj *l, enum lock_mode mode,
		     const char *where)
{
	struct lock_dep *dep = t->sched->opts.dep;
	int c;

	if (!dep)
		return;
	c = class_of(dep, l);
	for (int i = 0; i < t->nheld; i++) {
		const struct held_lock *h = &t->held[i];
		struct sbuf w = { 0 };

		if (h->lock == l || h->class_id == c) {
			/* PG_locked has no lockdep map in the kernel: readahead and
			 * writeback hold several pages of one class in index order.
			 * Taking the same page twice still deadlocks, and is found so. */
			if (h->lock != l && l->kind == LOCK_PAGE)
				continue;
			report_recursion(dep, t, h, l, mode, where);
			continue;
		}
		if (h->class_id < 0 || has_edge(dep, h->class_id, c))
			continue;
		report_inversion(dep, t, h, l, mode, where);
		held_stack(&w, t, l, mode, where);
		edge_add(dep, h->class_id, c, w.p);
	}
}

void lockdep_task_exit(struct task *t)
{
	struct lock_dep *dep = t->sched->opts.dep;

	if (!dep)
		return;
	for (int i = 0; i < t->nheld; i++) {
		const struct held_lock *h = &t->held[i];
		struct sbuf b = { 0 };

		if (h->lock->kind == LOCK_PAGE || h->class_id < 0 ||
		    report_seen(dep, LOCK_REPORT_HELD_AT_EXIT, h->class_id, h->class_id))
			continue;
		sb_printf(&b, "lock held at task exit: T%d (%s) ends holding %s (%s) taken "
			  "at %s\n", t->idx + 1, t->name, h->lock->name, mode_name(h->mode),
			  task_site(h->where));
		report_add(dep, LOCK_REPORT_HELD_AT_EXIT, h->class_id, h->class_id, b.p);
	}
}

/* ---- deadlock: the wait-for graph ---- */

static int is_task_of(const struct task_sched *s, const struct task *t)
{
	return t && t->idx >= 0 && t->idx < s->ntasks && s->tasks[t->idx] == t;
}

/* The tasks blocked task @w waits for: holders of its lock in a conflicting mode
 * (readers do not block a reader) and conflicting tasks queued ahead of it. */
static uint64_t waits_for(const struct task_sched *s, const struct task *w)
{
	const struct lock_obj *l = w->wait_lock;
	uint64_t m = 0;

	if (is_task_of(s, l->owner))
		m |= 1ull << l->owner->idx;
	for (int i = 0; l->readers && w->wait_mode == LOCK_WRITE && i < s->ntasks; i++)
		for (int h = 0; h < s->tasks[i]->nheld; h++)
			if (s->tasks[i]->held[h].lock == l && s->tasks[i]->held[h].mode == LOCK_READ)
				m |= 1ull << i;
	for (const struct task *q = l->wait_head; q && q != w; q = q->wait_next)
		if (w->wait_mode == LOCK_WRITE || q->wait_mode == LOCK_WRITE)
			m |= 1ull << q->idx;
	return m;
}

static int cycle_dfs(const struct task_sched *s, int i, int *color, int *stack, int depth,
		     int *cycle)
{
	uint64_t m;

	color[i] = 1;
	stack[depth] = i;
	if (s->tasks[i]->state != TASK_BLOCKED) {
		color[i] = 2;
		return 0;
	}
	m = waits_for(s, s->tasks[i]);
	for (int j = 0; j < s->ntasks; j++) {
		int n;

		if (!(m & (1ull << j)))
			continue;
		if (color[j] == 1) {
			for (n = 0; stack[n] != j; n++)
				;
			memcpy(cycle, stack + n, (depth - n + 1) * sizeof(int));
			return depth - n + 1;
		}
		if (color[j] == 0 && (n = cycle_dfs(s, j, color, stack, depth + 1, cycle)))
			return n;
	}
	color[i] = 2;
	return 0;
}

static void describe_wait(struct sbuf *b, const struct task_sched *s, const struct task *w)
{
	const struct lock_obj *l = w->wait_lock;

	sb_printf(b, "  T%d (%s) waits for %s (%s) at %s\n", w->idx + 1, w->name, l->name,
		  mode_name(w->wait_mode), task_site(w->wait_where));
	if (l->owner && !is_task_of(s, l->owner))
		sb_printf(b, "      held outside the run, taken at %s\n",
			  task_site(l->owner_where));
	else if (l->owner)
		sb_printf(b, "      held by T%d (write), taken at %s\n", l->owner->idx + 1,
			  task_site(l->owner_where));
	for (int i = 0; l->readers && w->wait_mode == LOCK_WRITE && i < s->ntasks; i++)
		for (int h = 0; h < s->tasks[i]->nheld; h++)
			if (s->tasks[i]->held[h].lock == l && s->tasks[i]->held[h].mode == LOCK_READ)
				sb_printf(b, "      held by T%d (read), taken at %s\n", i + 1,
					  task_site(s->tasks[i]->held[h].where));
	for (const struct task *q = l->wait_head; q && q != w; q = q->wait_next)
		if (w->wait_mode == LOCK_WRITE || q->wait_mode == LOCK_WRITE)
			sb_printf(b, "      behind T%d queued for %s at %s\n", q->idx + 1,
				  mode_name(q->wait_mode), task_site(q->wait_where));
}

void lockdep_deadlock_report(struct task_sched *s)
{
	int color[TASK_MAX] = { 0 }, stack[TASK_MAX + 1], cycle[TASK_MAX + 1], n = 0;
	struct sbuf b = { 0 };

	for (int i = 0; i < s->ntasks && !n; i++)
		if (s->tasks[i]->state == TASK_BLOCKED && !color[i])
			n = cycle_dfs(s, i, color, stack, 0, cycle);
	sb_printf(&b, "deadlock: every live task is blocked\n");
	for (int i = 0; i < s->ntasks; i++)
		if (s->tasks[i]->state == TASK_BLOCKED)
			describe_wait(&b, s, s->tasks[i]);
	if (n) {
		sb_printf(&b, "  cycle:");
		for (int i = 0; i < n; i++)
			sb_printf(&b, " T%d %s ->", cycle[i] + 1,
				  s->tasks[cycle[i]]->wait_lock->name);
		sb_printf(&b, " T%d\n", cycle[0] + 1);
	} else {
		sb_printf(&b, "  no cycle: a lock is held by a task that ended or outside "
			  "the run\n");
	}
	sched_verdict(s, TASK_DEADLOCK, "deadlock", "%s", b.p ? b.p : "deadlock");
	if (s->opts.trace)
		trace_event(s, NULL, TASK_EV_DEADLOCK, NULL, LOCK_WRITE, NULL, 0);
	free(b.p);
}
