/*
 * libfs/task/lock.c - mutexes, rw-semaphores and page locks.  Calls sched.c (points,
 * block, wake) and lockdep.c.  Outside a run (no current task) every operation is a
 * flag update; inside, acquire is a point then a grant or a FIFO wait, and release
 * hands the lock to the queue's front and is a point.  A lock with waiters is held.
 */
#include <stdlib.h>
#include <string.h>

#include "libfs/task/task_internal.h"

/* The exclusive owner recorded in bare mode: there is no struct task to point at. */
static const char bare_owner_marker;
#define BARE_OWNER ((struct task *)(void *)&bare_owner_marker)

static void lock_obj_init(struct lock_obj *l, const char *name, enum lock_kind kind)
{
	memset(l, 0, sizeof(*l));
	l->name = name;
	l->kind = kind;
	l->class_id = -1;
}

/* Bare mode has one thread of control: waiting on a held lock can never end. */
static void __attribute__((noreturn)) bare_deadlock(const struct lock_obj *l,
						    const char *where)
{
	task_bug("deadlock", "%s taken at %s while already held (since %s) and no other "
		 "task exists to release it", l->name, task_site(where),
		 task_site(l->owner_where));
}

/* Releasing what is not held is a BUG in the kernel too (e.g. unlock_page's
 * VM_BUG_ON of an unlocked folio). */
static void __attribute__((noreturn)) bare_unheld(const struct lock_obj *l, const char *where)
{
	task_bug("BUG", "%s released at %s but not held", l->name, task_site(where));
}

/* ---- held-lock list ---- */

static void held_push(struct task *t, struct lock_obj *l, enum lock_mode mode,
		      const char *where)
{
	struct held_lock *h;

	if (t->nheld == TASK_MAX_HELD)
		task_bug("BUG", "T%d holds more than %d locks", t->idx + 1, TASK_MAX_HELD);
	h = &t->held[t->nheld++];
	h->lock = l;
	h->class_id = l->class_id;
	h->mode = mode;
	h->where = where;
}

static int held_find(const struct task *t, const struct lock_obj *l, enum lock_mode mode)
{
	for (int i = t->nheld - 1; i >= 0; i--)
		if (t->held[i].lock == l && t->held[i].mode == mode)
			return i;
	return -1;
}

static void held_remove(struct task *t, int i)
{
	memmove(&t->held[i], &t->held[i + 1], (t->nheld - i - 1) * sizeof(t->held[0]));
	t->nheld--;
}

/* ---- grant, wait, hand over ---- */

static int can_grant(const struct lock_obj *l, enum lock_mode mode)
{
	if (l->owner || l->wait_head)
		return 0;
	return mode == LOCK_READ || l->readers == 0;
}

static void grant(struct task *t, struct lock_obj *l, enum lock_mode mode, const char *where)
{
	if (mode == LOCK_READ) {
		l->readers++;
	} else {
		l->owner = t;
		l->owner_where = where;
	}
	held_push(t, l, mode, where);
}

static void wait_enqueue(struct task *t, struct lock_obj *l, enum lock_mode mode,
			 const char *where)
{
	t->state = TASK_BLOCKED;
	t->wait_lock = l;
	t->wait_mode = mode;
	t->wait_where = where;
	t->wait_next = NULL;
	if (l->wait_tail)
		l->wait_tail->wait_next = t;
	else
		l->wait_head = t;
	l->wait_tail = t;
}

static struct task *wait_dequeue(struct lock_obj *l)
{
	struct task *w = l->wait_head;

	l->wait_head = w->wait_next;
	if (!l->wait_head)
		l->wait_tail = NULL;
	return w;
}

/* Gives @l to the front of its queue: one writer, or readers up to the next writer. */
static void handoff(struct task *by, struct lock_obj *l)
{
	struct task *w;

	while ((w = l->wait_head)) {
		enum lock_mode mode = w->wait_mode;

		if (l->owner || (mode == LOCK_WRITE && l->readers))
			break;
		wait_dequeue(l);
		grant(w, l, mode, w->wait_where);
		sched_make_runnable(w);
		if (by->sched->opts.trace)
			trace_event(by->sched, by, TASK_EV_HANDOFF, l, mode, NULL, w->idx + 1);
	}
}

static void lock_acquire(struct task *t, struct lock_obj *l, enum lock_mode mode,
			 const char *where)
{
	struct task_sched *s = t->sched;

	if (s->opts.trace)
		trace_event(s, t, TASK_EV_ACQUIRE, l, mode, where, 0);
	sched_point(t, where);
	lockdep_acquire(t, l, mode, where);
	if (can_grant(l, mode)) {
		grant(t, l, mode, where);
	} else {
		wait_enqueue(t, l, mode, where);
		if (s->opts.trace)
			trace_event(s, t, TASK_EV_BLOCK, l, mode, where, 0);
		sched_block(t);		/* returns holding @l */
	}
	if (s->opts.trace)
		trace_event(s, t, TASK_EV_ACQUIRED, l, mode, where, 0);
}

static int lock_try(struct task *t, struct lock_obj *l, enum lock_mode mode,
		    const char *where)
{
	sched_point(t, where);
	if (!can_grant(l, mode))
		return 0;
	lockdep_acquire_try(t, l);
	grant(t, l, mode, where);
	if (t->sched->opts.trace)
		trace_event(t->sched, t, TASK_EV_ACQUIRED, l, mode, where, 0);
	return 1;
}

/* Releases @l held in @mode.  For a page lock the holder may be another task. */
static void lock_release(struct task *t, struct lock_obj *l, enum lock_mode mode,
			 const char *where)
{
	struct task *holder = mode == LOCK_READ ? t : l->owner;
	int i = holder && holder != BARE_OWNER ? held_find(holder, l, mode) : -1;

	if (i < 0 || (l->kind != LOCK_PAGE && holder != t))
		task_bug("BUG", "T%d releases %s (%s) at %s without holding it", t->idx + 1,
			 l->name, mode == LOCK_READ ? "read" : "write", task_site(where));
	held_remove(holder, i);
	if (mode == LOCK_READ)
		l->readers--;
	else
		l->owner = NULL;
	if (t->sched->opts.trace)
		trace_event(t->sched, t, TASK_EV_RELEASE, l, mode, where, 0);
	handoff(t, l);
	sched_point(t, where);
}

/* ---- mutex ---- */

void lock_mutex_init(struct lock_mutex *m, const char *name)
{
	lock_obj_init(&m->l, name, LOCK_MUTEX);
}

void lock_mutex_lock_at(struct lock_mutex *m, const char *where)
{
	struct task *t = task_current();

	if (!t) {
		if (m->l.owner)
			bare_deadlock(&m->l, where);
		m->l.owner = BARE_OWNER;
		m->l.owner_where = where;
		return;
	}
	lock_acquire(t, &m->l, LOCK_WRITE, where);
}

void lock_mutex_unlock_at(struct lock_mutex *m, const char *where)
{
	struct task *t = task_current();

	if (!t) {
		if (!m->l.owner)
			bare_unheld(&m->l, where);
		m->l.owner = NULL;
		return;
	}
	lock_release(t, &m->l, LOCK_WRITE, where);
}

int lock_mutex_trylock_at(struct lock_mutex *m, const char *where)
{
	struct task *t = task_current();

	if (!t) {
		if (m->l.owner)
			return 0;
		m->l.owner = BARE_OWNER;
		m->l.owner_where = where;
		return 1;
	}
	return lock_try(t, &m->l, LOCK_WRITE, where);
}

int lock_mutex_is_locked(const struct lock_mutex *m)
{
	return m->l.owner != NULL;
}

/* ---- rw-semaphore ---- */

void lock_rwsem_init(struct lock_rwsem *s, const char *name)
{
	lock_obj_init(&s->l, name, LOCK_RWSEM);
}

void lock_down_read_at(struct lock_rwsem *s, const char *where)
{
	struct task *t = task_current();

	if (!t) {
		if (s->l.owner)
			bare_deadlock(&s->l, where);
		s->l.readers++;
		return;
	}
	lock_acquire(t, &s->l, LOCK_READ, where);
}

void lock_down_write_at(struct lock_rwsem *s, const char *where)
{
	struct task *t = task_current();

	if (!t) {
		if (s->l.owner || s->l.readers)
			bare_deadlock(&s->l, where);
		s->l.owner = BARE_OWNER;
		s->l.owner_where = where;
		return;
	}
	lock_acquire(t, &s->l, LOCK_WRITE, where);
}

void lock_up_read_at(struct lock_rwsem *s, const char *where)
{
	struct task *t = task_current();

	if (!t) {
		if (s->l.readers <= 0)
			bare_unheld(&s->l, where);
		s->l.readers--;
		return;
	}
	lock_release(t, &s->l, LOCK_READ, where);
}

void lock_up_write_at(struct lock_rwsem *s, const char *where)
{
	struct task *t = task_current();

	if (!t) {
		if (!s->l.owner)
			bare_unheld(&s->l, where);
		s->l.owner = NULL;
		return;
	}
	lock_release(t, &s->l, LOCK_WRITE, where);
}

int lock_down_read_trylock_at(struct lock_rwsem *s, const char *where)
{
	struct task *t = task_current();

	if (!t) {
		if (s->l.owner)
			return 0;
		s->l.readers++;
		return 1;
	}
	return lock_try(t, &s->l, LOCK_READ, where);
}

int lock_rwsem_is_locked(const struct lock_rwsem *s)
{
	return s->l.owner || s->l.readers;
}

int lock_rwsem_held(const struct lock_rwsem *s)
{
	const struct task *t = task_current();

	if (!t)
		return lock_rwsem_is_locked(s);
	return held_find(t, &s->l, LOCK_READ) >= 0 || held_find(t, &s->l, LOCK_WRITE) >= 0;
}

/* ---- page lock ---- */

void lock_page_init(struct lock_page *p, const char *name)
{
	lock_obj_init(&p->l, name, LOCK_PAGE);
}

void lock_page_lock_at(struct lock_page *p, const char *where)
{
	struct task *t = task_current();

	if (!t) {
		if (p->l.owner)
			bare_deadlock(&p->l, where);
		p->l.owner = BARE_OWNER;
		p->l.owner_where = where;
		return;
	}
	lock_acquire(t, &p->l, LOCK_WRITE, where);
}

void lock_page_unlock_at(struct lock_page *p, const char *where)
{
	struct task *t = task_current();

	if (!t) {
		if (!p->l.owner)
			bare_unheld(&p->l, where);
		p->l.owner = NULL;
		return;
	}
	lock_release(t, &p->l, LOCK_WRITE, where);
}

int lock_page_trylock_at(struct lock_page *p, const char *where)
{
	struct task *t = task_current();

	if (!t) {
		if (p->l.owner)
			return 0;
		p->l.owner = BARE_OWNER;
		p->l.owner_where = where;
		return 1;
	}
	return lock_try(t, &p->l, LOCK_WRITE, where);
}

int lock_page_is_locked(const struct lock_page *p)
{
	return p->l.owner != NULL;
}
