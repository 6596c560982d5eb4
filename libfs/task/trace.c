/*
 * libfs/task/trace.c - the event trace of a run: task, schedule point, lock and state
 * events in the order they happened, and its text form.  Called by sched.c, lock.c
 * and lockdep.c only when opts.trace is set; strings are borrowed (sites, names).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "libfs/task/task_internal.h"

static const char *const event_names[] = {
	[TASK_EV_START] = "start",	[TASK_EV_POINT] = "point",
	[TASK_EV_ACQUIRE] = "acquire",	[TASK_EV_ACQUIRED] = "acquired",
	[TASK_EV_BLOCK] = "block",	[TASK_EV_HANDOFF] = "handoff",
	[TASK_EV_RELEASE] = "release",	[TASK_EV_SWITCH] = "switch",
	[TASK_EV_EXIT] = "exit",	[TASK_EV_DEADLOCK] = "deadlock",
	[TASK_EV_BUG] = "bug",		[TASK_EV_NOTE] = "note",
};

const char *task_event_name(enum task_event_kind kind)
{
	return kind <= TASK_EV_NOTE ? event_names[kind] : "?";
}

void trace_event(struct task_sched *s, struct task *t, enum task_event_kind kind,
		 const struct lock_obj *l, enum lock_mode mode, const char *where, int other)
{
	struct task_event *e;

	if (s->trace_len == s->trace_cap) {
		int cap = s->trace_cap ? 2 * s->trace_cap : 256;
		struct task_event *n = realloc(s->trace, cap * sizeof(*n));

		if (!n)
			return;		/* the trace is best effort; the run goes on */
		s->trace = n;
		s->trace_cap = cap;
	}
	e = &s->trace[s->trace_len++];
	e->step = s->steps;
	e->task = t ? t->idx + 1 : 0;
	e->other = other;
	e->kind = kind;
	e->mode = mode;
	e->lock = l ? l->name : NULL;
	e->where = where;
}

void trace_reset(struct task_sched *s)
{
	for (int i = 0; i < s->nnotes; i++)
		free(s->notes[i]);
	s->nnotes = 0;
	s->trace_len = 0;
}

void task_trace_note(const char *fmt, ...)
{
	struct task *t = task_current();
	struct task_sched *s = t ? t->sched : NULL;
	char *text;
	va_list ap;
	int n;

	if (!s || !s->opts.trace)
		return;
	if (s->nnotes == s->notes_cap) {
		int cap = s->notes_cap ? 2 * s->notes_cap : 64;
		char **p = realloc(s->notes, cap * sizeof(*p));

		if (!p)
			return;
		s->notes = p;
		s->notes_cap = cap;
	}
	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	s->notes[s->nnotes++] = text;
	trace_event(s, t, TASK_EV_NOTE, NULL, LOCK_WRITE, text, 0);
}

int task_trace_len(const struct task_sched *s)
{
	return s->trace_len;
}

const struct task_event *task_trace_event(const struct task_sched *s, int i)
{
	return i >= 0 && i < s->trace_len ? &s->trace[i] : NULL;
}

void task_trace_print(const struct task_sched *s, FILE *f)
{
	for (int i = 0; i < s->trace_len; i++) {
		const struct task_event *e = &s->trace[i];

		fprintf(f, "%5ld  ", e->step);
		if (e->task)
			fprintf(f, "T%-3d", e->task);
		else
			fprintf(f, "--  ");
		fprintf(f, " %s%*s", task_event_name(e->kind),
			e->kind == TASK_EV_DEADLOCK ? 0 : 9 - (int)strlen(task_event_name(e->kind)), "");
		if (e->lock)
			fprintf(f, " %s (%s)", e->lock, e->mode == LOCK_READ ? "read" : "write");
		if (e->kind == TASK_EV_HANDOFF)
			fprintf(f, " to T%d", e->other);
		if (e->kind == TASK_EV_SWITCH)
			fprintf(f, " -> T%d", e->other);
		if (e->kind == TASK_EV_NOTE || e->kind == TASK_EV_POINT ||
		    e->kind == TASK_EV_START)
			fprintf(f, " %s", e->where);
		else if (e->where && e->kind != TASK_EV_BUG)
			fprintf(f, " at %s", task_site(e->where));
		fputc('\n', f);
	}
	if (s->verdict != TASK_OK)
		fprintf(f, "verdict: %s\n%s", s->oracle, s->message);
}
