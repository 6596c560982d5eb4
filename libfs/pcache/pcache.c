/*
 * libfs/pcache: pages, buffers, the per-inode index, the LRU and reclaim.
 * Calls libc, libfs/task (the page lock, trace notes) and the writeback hook of
 * struct pc_ops (the layer above).  Invariants: numbered below and asserted by
 * pc_check(); single-threaded outside libfs/task runs.
 *
 * PAGE STATES
 *
 *   free --pc_grab_page / pc_add_new_page--> cached: locked, !uptodate, no buffers
 *
 *   cached pages:
 *     !uptodate --read_folio, or a write_end that leaves every buffer uptodate--> uptodate
 *     clean --write_end with copied > 0 (pc_mark_buffer_dirty)-------------------> dirty
 *     dirty --pc_clear_page_dirty_for_io + pc_set_page_writeback---------------> writeback
 *     writeback --pc_end_page_writeback (the I/O is done)----------------------> clean
 *     clean, unlocked, unreferenced, not under writeback --reclaim-----------> free
 *     any, locked by the caller --pc_delete_page (truncate, punch, evict)----> free
 *
 *   Reclaim runs when a page is needed and nr_alloc has reached max_pages with the
 *   free list empty.  It walks the LRU from the cold end; a dirty page makes it
 *   call ops->writeback for that page's mapping once (which writes back the whole
 *   mapping in large runs), after which the page is clean and can go.  So the
 *   memory in use is bounded by max_pages, not by the amount written.  If every
 *   page is busy (locked, referenced or under writeback) the allocation goes past
 *   the bound and stats.over_bound counts it.
 *
 * BUFFER STATES (per block of a page with PC_PG_PRIVATE)
 *
 *   none --write_begin maps a hole with create--> NEW|MAPPED (disk bytes stale)
 *   none --read_folio / write_begin maps an allocated block--> MAPPED
 *   --read from disk, or zeroed (hole, unwritten, new outside the write)--> +UPTODATE
 *   --write_end over the copied range--> +UPTODATE +DIRTY; NEW cleared everywhere
 *   DIRTY --writeback submits the block--> clean
 *
 *   Only under a historical write-loop policy (aops_write_end_policy): a short
 *   copy may leave NEW|MAPPED buffers clean and !uptodate after write_end, and
 *   the page is then marked PG_KEPT_NEW (the -mm loop of 2006-12, seed 002).
 *
 * PG_NOREAD (VFS_WL_READPAGE_FLAG_2007 only)
 *
 *   locked, clear --pc_set_page_noread: a slot's lock is taken--> NOREAD
 *   NOREAD, unlocked: pc_lock_page_readable waits on the slot's lock
 *   NOREAD, locked again --pc_clear_page_noread: the slot's lock is dropped--> clear
 *
 * INVARIANTS (pc_check)
 *
 *   1. A page is free (mapping NULL, flags 0, count 0, on the free list) or cached
 *      (in its mapping's hash and page list, and on the LRU).
 *   2. PG_DIRTY => PG_UPTODATE or some buffer is BH_DIRTY.
 *   3. BH_DIRTY => BH_UPTODATE and BH_MAPPED, and the page is PG_DIRTY.
 *   4. BH_NEW => BH_MAPPED and (PG_LOCKED or PG_KEPT_NEW): new buffers live only
 *      between write_begin and write_end, under the page lock; none survives
 *      write_end unless a historical policy kept them (PG_KEPT_NEW).
 *   5. PG_UPTODATE and PG_PRIVATE => every buffer BH_UPTODATE.
 *   6. !PG_PRIVATE => nr_bufs == 0.
 *   7. nr_dirty counts the PG_DIRTY pages (per cache and per mapping); a mapping
 *      is on dirty_mappings iff its nr_dirty > 0; nr_cached + nr_free == nr_alloc.
 *   8. PG_NOREAD => one noread slot of the cache names the page.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libfs/pcache/pcache.h"

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define PC_RECLAIM_BATCH	32

/* ---- intrusive lists ---- */

static void list_init(struct pc_list *h) { h->prev = h->next = h; }
static int list_empty(const struct pc_list *h) { return h->next == h; }

static void list_add(struct pc_list *n, struct pc_list *h)
{
	n->next = h->next;
	n->prev = h;
	h->next->prev = n;
	h->next = n;
}

static void list_del(struct pc_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

/* ---- the cache ---- */

int pc_cache_create(size_t bytes, const struct pc_ops *ops, void *ops_arg,
		    struct pc_cache **out)
{
	struct pc_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	if (!bytes)
		bytes = PC_DEFAULT_BYTES;
	c->max_pages = bytes >> PC_PAGE_SHIFT;
	if (c->max_pages < PC_MIN_PAGES)
		c->max_pages = PC_MIN_PAGES;
	list_init(&c->lru);
	list_init(&c->dirty_mappings);
	list_init(&c->mappings);
	c->ops = ops;
	c->ops_arg = ops_arg;
	for (unsigned i = 0; i < PC_NOREAD_SLOTS; i++)
		lock_page_init(&c->noread[i].lock, "PG_noread");
	*out = c;
	return 0;
}

/*
 * Page data comes from chunks of PC_CHUNK_PAGES pages, never returned before
 * pc_cache_destroy: one aligned allocation per page would cost the allocator
 * about half a page of padding each (a third of the cache's memory).
 */
#define PC_CHUNK_PAGES 64

struct pc_chunk {
	struct pc_chunk *next;
	uint8_t *mem;
};

static uint8_t *page_data_alloc(struct pc_cache *c)
{
	struct pc_chunk *chunk = c->chunks;

	if (!c->chunk_left) {
		chunk = malloc(sizeof(*chunk));
		if (!chunk)
			return NULL;
		chunk->mem = aligned_alloc(PC_PAGE_SIZE, (size_t)PC_CHUNK_PAGES * PC_PAGE_SIZE);
		if (!chunk->mem) {
			free(chunk);
			return NULL;
		}
		chunk->next = c->chunks;
		c->chunks = chunk;
		c->chunk_left = PC_CHUNK_PAGES;
	}
	c->chunk_left--;
	return chunk->mem + (PC_CHUNK_PAGES - 1 - c->chunk_left) * (size_t)PC_PAGE_SIZE;
}

static void page_chunks_free(struct pc_cache *c)
{
	struct pc_chunk *chunk;

	while ((chunk = c->chunks)) {
		c->chunks = chunk->next;
		free(chunk->mem);
		free(chunk);
	}
}

void pc_cache_destroy(struct pc_cache *c)
{
	struct pc_page *p;

	if (!c)
		return;
	assert(c->nr_cached == 0);
	while ((p = c->free_list)) {
		c->free_list = p->hash_next;
		free(p->lock_name);
		free(p);
	}
	page_chunks_free(c);
	assert(!c->scratch_busy);
	free(c->scratch);
	free(c);
}

void *pc_scratch_get(struct pc_cache *c, size_t size)
{
	if (c->scratch_busy)
		return NULL;
	if (c->scratch_size < size) {
		free(c->scratch);
		c->scratch_size = 0;
		c->scratch = aligned_alloc(PC_PAGE_SIZE, size);
		if (!c->scratch)
			return NULL;
		c->scratch_size = size;
	}
	c->scratch_busy = 1;
	return c->scratch;
}

void pc_scratch_put(struct pc_cache *c, void *buf)
{
	if (buf == c->scratch)
		c->scratch_busy = 0;
	else
		free(buf);
}

/* ---- the per-mapping hash ---- */

static size_t hash_slot(const struct pc_mapping *m, uint64_t index)
{
	return (size_t)((index * 0x9E3779B97F4A7C15ull) >> 32) & (m->hash_size - 1);
}

static int hash_grow(struct pc_mapping *m)
{
	size_t old_size = m->hash_size, i;
	struct pc_page **old = m->hash, **nh;

	nh = calloc(old_size * 2, sizeof(*nh));
	if (!nh)
		return -ENOMEM;
	m->hash = nh;
	m->hash_size = old_size * 2;
	for (i = 0; i < old_size; i++) {
		struct pc_page *p = old[i], *next;

		for (; p; p = next) {
			size_t s = hash_slot(m, p->index);

			next = p->hash_next;
			p->hash_next = nh[s];
			nh[s] = p;
		}
	}
	free(old);
	return 0;
}

static struct pc_page *hash_find(const struct pc_mapping *m, uint64_t index)
{
	struct pc_page *p = m->hash[hash_slot(m, index)];

	while (p && p->index != index)
		p = p->hash_next;
	return p;
}

static void hash_remove(struct pc_mapping *m, struct pc_page *p)
{
	struct pc_page **pp = &m->hash[hash_slot(m, p->index)];

	while (*pp != p)
		pp = &(*pp)->hash_next;
	*pp = p->hash_next;
	p->hash_next = NULL;
}

int pc_mapping_create(struct pc_cache *c, void *host, unsigned blkbits,
		      struct pc_mapping **out)
{
	struct pc_mapping *m;

	if (blkbits < 10 || blkbits > PC_PAGE_SHIFT)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->hash_size = 16;
	m->hash = calloc(m->hash_size, sizeof(*m->hash));
	if (!m->hash) {
		free(m);
		return -ENOMEM;
	}
	m->cache = c;
	m->host = host;
	m->blkbits = blkbits;
	list_init(&m->pages);
	list_init(&m->dirty_link);
	list_add(&m->link, &c->mappings);
	*out = m;
	return 0;
}

void pc_mapping_destroy(struct pc_mapping *m)
{
	if (!m)
		return;
	pc_truncate_pages(m, 0, UINT64_MAX);
	assert(m->nr_pages == 0 && m->nr_dirty == 0);
	list_del(&m->link);
	free(m->hash);
	free(m);
}

struct pc_mapping *pc_next_dirty_mapping(struct pc_cache *c, struct pc_mapping *m)
{
	struct pc_list *n = m ? m->dirty_link.next : c->dirty_mappings.next;

	if (n == &c->dirty_mappings)
		return NULL;
	return container_of(n, struct pc_mapping, dirty_link);
}

/* ---- dirty accounting ---- */

static void account_dirty(struct pc_mapping *m, int delta)
{
	struct pc_cache *c = m->cache;

	if (delta > 0) {
		if (m->nr_dirty++ == 0)
			list_add(&m->dirty_link, c->dirty_mappings.prev);
		c->nr_dirty++;
	} else {
		assert(m->nr_dirty > 0 && c->nr_dirty > 0);
		if (--m->nr_dirty == 0)
			list_del(&m->dirty_link);
		c->nr_dirty--;
	}
}

/* A page-state change for the kernel model's trace (free outside a traced run). */
static void page_note(const struct pc_page *p, const char *what)
{
	if (p->cache->trace_notes)
		task_trace_note("page #%llu: %s", (unsigned long long)p->index, what);
}

void pc_set_page_dirty(struct pc_page *p)
{
	if (p->flags & PC_PG_DIRTY)
		return;
	p->flags |= PC_PG_DIRTY;
	account_dirty(p->mapping, +1);
	page_note(p, "clean -> dirty");
}

int pc_clear_page_dirty_for_io(struct pc_page *p)
{
	if (!(p->flags & PC_PG_DIRTY))
		return 0;
	p->flags &= ~PC_PG_DIRTY;
	account_dirty(p->mapping, -1);
	page_note(p, "dirty -> clean (for I/O)");
	return 1;
}

void pc_set_page_uptodate(struct pc_page *p)
{
	unsigned i;

	if (!(p->flags & PC_PG_UPTODATE))
		page_note(p, "!uptodate -> uptodate");
	p->flags |= PC_PG_UPTODATE;
	for (i = 0; i < p->nr_bufs; i++)
		p->bufs[i].b_state |= PC_BH_UPTODATE;
}

void pc_set_page_writeback(struct pc_page *p)
{
	assert(!(p->flags & PC_PG_WRITEBACK));
	p->flags |= PC_PG_WRITEBACK;
}

void pc_end_page_writeback(struct pc_page *p)
{
	assert(p->flags & PC_PG_WRITEBACK);
	p->flags &= ~PC_PG_WRITEBACK;
}

/* ---- buffers ---- */

void pc_attach_buffers(struct pc_page *p)
{
	unsigned i, state = (p->flags & PC_PG_UPTODATE) ? PC_BH_UPTODATE : 0;

	if (p->flags & PC_PG_PRIVATE)
		return;
	p->nr_bufs = PC_PAGE_SIZE >> p->mapping->blkbits;
	for (i = 0; i < p->nr_bufs; i++) {
		p->bufs[i].b_blocknr = 0;
		p->bufs[i].b_state = state;
	}
	p->flags |= PC_PG_PRIVATE;
}

void pc_mark_buffer_dirty(struct pc_page *p, unsigned i)
{
	assert(i < p->nr_bufs);
	assert(p->bufs[i].b_state & PC_BH_MAPPED);
	p->bufs[i].b_state |= PC_BH_UPTODATE | PC_BH_DIRTY;
	pc_set_page_dirty(p);
}

void pc_note_kept_new(struct pc_page *p)
{
	unsigned i;

	assert(p->flags & PC_PG_LOCKED);
	p->flags &= ~PC_PG_KEPT_NEW;
	for (i = 0; i < p->nr_bufs; i++)
		if (p->bufs[i].b_state & PC_BH_NEW)
			p->flags |= PC_PG_KEPT_NEW;
}

/* ---- page lock and references ---- */

void pc_lock_page_at(struct pc_page *p, const char *where)
{
	lock_page_lock_at(&p->lock, where);
	p->flags |= PC_PG_LOCKED;
}

void pc_lock_page(struct pc_page *p)
{
	pc_lock_page_at(p, "lock_page");
}

int pc_trylock_page(struct pc_page *p)
{
	if (!lock_page_trylock_at(&p->lock, "trylock_page"))
		return 0;
	p->flags |= PC_PG_LOCKED;
	return 1;
}

void pc_unlock_page(struct pc_page *p)
{
	assert(p->flags & PC_PG_LOCKED);
	p->flags &= ~PC_PG_LOCKED;
	lock_page_unlock_at(&p->lock, "unlock_page");
}

/* ---- PG_noread (Anton's flag, seed 003) ---- */

static struct pc_noread *noread_slot(const struct pc_page *p)
{
	struct pc_cache *c = p->cache;

	for (unsigned i = 0; i < PC_NOREAD_SLOTS; i++)
		if (c->noread[i].page == p)
			return &c->noread[i];
	return NULL;
}

int pc_set_page_noread(struct pc_page *p)
{
	struct pc_cache *c = p->cache;

	assert(p->flags & PC_PG_LOCKED);
	assert(!(p->flags & PC_PG_NOREAD));
	for (unsigned i = 0; i < PC_NOREAD_SLOTS; i++) {
		struct pc_noread *s = &c->noread[i];

		/* A slot some waiter still sleeps on stays with its old page. */
		if (s->page || s->waiters)
			continue;
		lock_page_lock_at(&s->lock, "SetPageNoRead");
		s->page = p;
		p->flags |= PC_PG_NOREAD;
		return 0;
	}
	return -EBUSY;
}

void pc_clear_page_noread(struct pc_page *p)
{
	struct pc_noread *s = noread_slot(p);

	assert(s && (p->flags & PC_PG_NOREAD));
	p->flags &= ~PC_PG_NOREAD;
	s->page = NULL;
	lock_page_unlock_at(&s->lock, "ClearPageNoRead");
}

void pc_lock_page_readable(struct pc_page *p)
{
	pc_lock_page(p);
	pc_wait_noread_locked(p);
}

void pc_wait_noread_locked(struct pc_page *p)
{
	while (p->flags & PC_PG_NOREAD) {
		struct pc_noread *s = noread_slot(p);

		/* Counted before the page lock goes, so the slot cannot be lent to
		 * another page while this task is on its way to sleep on it. */
		s->waiters++;
		pc_unlock_page(p);
		lock_page_lock_at(&s->lock, "wait_on_page_noread");	/* wait_on_bit */
		lock_page_unlock_at(&s->lock, "wait_on_page_noread");
		s->waiters--;
		pc_lock_page(p);
	}
}

void pc_get_page(struct pc_page *p)
{
	p->count++;
}

static void page_to_free_list(struct pc_cache *c, struct pc_page *p)
{
	p->flags = 0;
	p->nr_bufs = 0;
	p->hash_next = c->free_list;
	c->free_list = p;
	c->nr_free++;
}

/* A deleted page's memory outlives its last reference. */
void pc_put_page(struct pc_page *p)
{
	assert(p->count > 0);
	if (--p->count == 0 && !p->mapping) {
		p->cache->nr_detached--;
		page_to_free_list(p->cache, p);
	}
}

/* ---- insertion, deletion, reclaim ---- */

/* Takes a cached page out of its mapping and off the LRU. */
static void page_detach(struct pc_page *p)
{
	struct pc_mapping *m = p->mapping;
	struct pc_cache *c = m->cache;

	if (p->flags & PC_PG_DIRTY)
		account_dirty(m, -1);
	hash_remove(m, p);
	list_del(&p->m_list);
	list_del(&p->lru);
	m->nr_pages--;
	c->nr_cached--;
	p->mapping = NULL;
}

static void page_release(struct pc_cache *c, struct pc_page *p)
{
	if (p->flags & PC_PG_LOCKED)
		lock_page_unlock_at(&p->lock, "delete_from_page_cache");
	page_detach(p);
	if (p->count == 0) {
		page_to_free_list(c, p);
	} else {
		p->flags = 0;
		p->nr_bufs = 0;
		c->nr_detached++;
	}
}

void pc_delete_page(struct pc_page *p)
{
	struct pc_cache *c = p->mapping->cache;

	assert(p->flags & PC_PG_LOCKED);
	assert(!(p->flags & (PC_PG_WRITEBACK | PC_PG_NOREAD)));
	page_release(c, p);
}

void pc_truncate_pages(struct pc_mapping *m, uint64_t start, uint64_t end)
{
	struct pc_list *n, *next;

	for (n = m->pages.next; n != &m->pages; n = next) {
		struct pc_page *p = container_of(n, struct pc_page, m_list);

		next = n->next;
		if (p->index < start || p->index >= end)
			continue;
		assert(!(p->flags & (PC_PG_LOCKED | PC_PG_WRITEBACK)));
		assert(p->count == 0);
		page_release(m->cache, p);
	}
}

static int page_busy(const struct pc_page *p)
{
	return p->count > 0 || (p->flags & (PC_PG_LOCKED | PC_PG_WRITEBACK));
}

/*
 * Frees up to PC_RECLAIM_BATCH cold pages.  A dirty page costs one writeback
 * of its mapping per pass.  Returns pages freed (>= 0) or a writeback error.
 */
static long reclaim(struct pc_cache *c)
{
	struct pc_list *n, *prev;
	struct pc_mapping *written = NULL;
	long freed = 0;
	int err;

	if (c->in_reclaim)
		return 0;
	c->in_reclaim = 1;
	for (n = c->lru.prev; n != &c->lru && freed < PC_RECLAIM_BATCH; n = prev) {
		struct pc_page *p = container_of(n, struct pc_page, lru);

		prev = n->prev;
		if (page_busy(p))
			continue;
		if ((p->flags & PC_PG_DIRTY) && c->ops && p->mapping != written) {
			written = p->mapping;
			c->stats.reclaim_writebacks++;
			err = c->ops->writeback(c->ops_arg, p->mapping);
			if (err < 0) {
				c->in_reclaim = 0;
				return err;
			}
			prev = n->prev;		/* writeback adds and removes nothing */
		}
		if (page_busy(p) || (p->flags & PC_PG_DIRTY))
			continue;
		page_release(c, p);
		c->stats.reclaimed++;
		freed++;
	}
	c->in_reclaim = 0;
	return freed;
}

static int page_alloc(struct pc_cache *c, struct pc_page **out)
{
	struct pc_page *p;
	long r;

	if (!c->free_list && c->nr_alloc >= c->max_pages) {
		r = reclaim(c);
		if (r < 0)
			return (int)r;
	}
	if ((p = c->free_list)) {
		c->free_list = p->hash_next;
		c->nr_free--;
		p->hash_next = NULL;
		*out = p;
		return 0;
	}
	if (c->nr_alloc >= c->max_pages)
		c->stats.over_bound++;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->data = page_data_alloc(c);
	if (!p->data) {
		free(p);
		return -ENOMEM;
	}
	list_init(&p->lru);
	list_init(&p->m_list);
	lock_page_init(&p->lock, "page");
	p->cache = c;
	c->nr_alloc++;
	if (c->nr_alloc > c->stats.peak_pages)
		c->stats.peak_pages = c->nr_alloc;
	*out = p;
	return 0;
}

/* In a traced run each page lock is its own lockdep class, named as the model
 * names them, so that reports and pictures say which page. */
static void name_page_lock(struct pc_page *p, const struct pc_mapping *m, uint64_t index)
{
	enum { NAME_MAX_LEN = 64 };

	if (!p->lock_name && !(p->lock_name = malloc(NAME_MAX_LEN)))
		return;
	snprintf(p->lock_name, NAME_MAX_LEN, "page %s#%llu", m->label, (unsigned long long)index);
	lock_page_init(&p->lock, p->lock_name);
}

static int page_insert(struct pc_mapping *m, uint64_t index, struct pc_page **out)
{
	struct pc_cache *c = m->cache;
	struct pc_page *p;
	size_t s;
	int err;

	if (m->nr_pages >= 2 * m->hash_size) {
		err = hash_grow(m);
		if (err)
			return err;
	}
	err = page_alloc(c, &p);
	if (err)
		return err;
	p->index = index;
	p->flags = 0;
	if (c->trace_notes)
		name_page_lock(p, m, index);
	pc_lock_page(p);	/* a new page: never contended, but a schedule point */
	if (hash_find(m, index)) {
		/* another task added this index meanwhile (add_to_page_cache's -EEXIST) */
		pc_unlock_page(p);
		page_to_free_list(c, p);
		return -EEXIST;
	}
	p->mapping = m;
	p->count = 1;
	p->nr_bufs = 0;
	s = hash_slot(m, index);
	p->hash_next = m->hash[s];
	m->hash[s] = p;
	list_add(&p->m_list, &m->pages);
	list_add(&p->lru, &c->lru);
	m->nr_pages++;
	c->nr_cached++;
	*out = p;
	return 0;
}

static void mark_page_accessed(struct pc_page *p)
{
	struct pc_cache *c = p->mapping->cache;

	if (c->lru.next != &p->lru) {
		list_del(&p->lru);
		list_add(&p->lru, &c->lru);
	}
}

struct pc_page *pc_find_get_page(struct pc_mapping *m, uint64_t index)
{
	struct pc_page *p = hash_find(m, index);

	if (!p) {
		m->cache->stats.misses++;
		return NULL;
	}
	m->cache->stats.hits++;
	p->count++;
	mark_page_accessed(p);
	return p;
}

int pc_grab_page(struct pc_mapping *m, uint64_t index, int lock, struct pc_page **out)
{
	return pc_grab_page_at(m, index, lock, out, "lock_page");
}

int pc_grab_page_at(struct pc_mapping *m, uint64_t index, int lock, struct pc_page **out,
		    const char *where)
{
	struct pc_page *p;
	int err;

	do {
		p = pc_find_get_page(m, index);
		if (p) {
			if (lock)
				pc_lock_page_at(p, where);
			*out = p;
			return 0;
		}
		err = page_insert(m, index, &p);
	} while (err == -EEXIST);
	if (err)
		return err;
	if (!lock)
		pc_unlock_page(p);
	*out = p;
	return 0;
}

int pc_add_new_page(struct pc_mapping *m, uint64_t index, struct pc_page **out)
{
	if (hash_find(m, index))
		return -EEXIST;
	m->cache->stats.misses++;
	return page_insert(m, index, out);
}

static int cmp_index(const void *a, const void *b)
{
	const struct pc_page *x = *(struct pc_page *const *)a;
	const struct pc_page *y = *(struct pc_page *const *)b;

	return x->index < y->index ? -1 : x->index > y->index;
}

long pc_collect_pages(struct pc_mapping *m, uint64_t start, uint64_t end,
		      unsigned flags, struct pc_page ***pages)
{
	size_t want = flags == PC_PG_DIRTY ? m->nr_dirty : m->nr_pages, n = 0;
	struct pc_page **v;
	struct pc_list *l;

	*pages = NULL;
	if (want == 0)
		return 0;
	v = malloc(want * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (l = m->pages.next; l != &m->pages && n < want; l = l->next) {
		struct pc_page *p = container_of(l, struct pc_page, m_list);

		if (p->index < start || p->index >= end || (p->flags & flags) != flags)
			continue;
		p->count++;
		v[n++] = p;
	}
	qsort(v, n, sizeof(*v), cmp_index);
	*pages = v;
	return (long)n;
}

/* ---- invariants ---- */

const char *pc_check_page(const struct pc_page *p)
{
	unsigned i, dirty_bufs = 0;

	if (!p->mapping)
		return (p->flags || p->count) ? "1: free page with flags or references" : NULL;
	if (!(p->flags & PC_PG_PRIVATE) && p->nr_bufs)
		return "6: buffers without PG_private";
	if (p->nr_bufs > PC_MAX_BUFS)
		return "6: too many buffers";
	for (i = 0; i < p->nr_bufs; i++) {
		unsigned s = p->bufs[i].b_state;

		if ((s & PC_BH_DIRTY) && !(s & PC_BH_UPTODATE))
			return "3: dirty buffer not uptodate";
		if ((s & PC_BH_DIRTY) && !(s & PC_BH_MAPPED))
			return "3: dirty buffer not mapped";
		if ((s & PC_BH_DIRTY) && !(p->flags & PC_PG_DIRTY))
			return "3: dirty buffer on a clean page";
		if ((s & PC_BH_NEW) && !(s & PC_BH_MAPPED))
			return "4: new buffer not mapped";
		if ((s & PC_BH_NEW) && !(p->flags & (PC_PG_LOCKED | PC_PG_KEPT_NEW)))
			return "4: new buffer on an unlocked page (BH_New after write_end)";
		if ((p->flags & PC_PG_UPTODATE) && !(s & PC_BH_UPTODATE))
			return "5: uptodate page with a buffer not uptodate";
		if (s & PC_BH_DIRTY)
			dirty_bufs++;
	}
	if ((p->flags & PC_PG_DIRTY) && !(p->flags & PC_PG_UPTODATE) && !dirty_bufs)
		return "2: dirty page neither uptodate nor with dirty buffers";
	if ((p->flags & PC_PG_NOREAD) && !noread_slot(p))
		return "8: PG_noread without a wait slot";
	return NULL;
}

static const char *check_mapping(struct pc_mapping *m, size_t *dirty, char *buf, size_t size)
{
	size_t n = 0, nd = 0;
	struct pc_list *l;
	const char *msg;

	for (l = m->pages.next; l != &m->pages; l = l->next) {
		struct pc_page *p = container_of(l, struct pc_page, m_list);

		if (p->mapping != m || hash_find(m, p->index) != p) {
			snprintf(buf, size, "1: page %llu not indexed",
				 (unsigned long long)p->index);
			return buf;
		}
		if ((msg = pc_check_page(p))) {
			snprintf(buf, size, "page %llu: %s", (unsigned long long)p->index, msg);
			return buf;
		}
		n++;
		nd += !!(p->flags & PC_PG_DIRTY);
	}
	if (n != m->nr_pages || nd != m->nr_dirty)
		return "7: mapping page or dirty count wrong";
	if ((nd > 0) == list_empty(&m->dirty_link))
		return "7: dirty-mapping list membership wrong";
	*dirty += nd;
	return NULL;
}

const char *pc_check(struct pc_cache *c, char *buf, size_t size)
{
	size_t n = 0, nfree = 0, dirty = 0;
	struct pc_list *l;
	struct pc_page *p;
	const char *msg;

	for (l = c->lru.next; l != &c->lru; l = l->next) {
		p = container_of(l, struct pc_page, lru);
		if (!p->mapping)
			return "1: page on the LRU without a mapping";
		n++;
	}
	for (p = c->free_list; p; p = p->hash_next) {
		if (p->mapping || p->flags || p->count)
			return "1: free page in use";
		nfree++;
	}
	if (n != c->nr_cached || nfree != c->nr_free ||
	    n + nfree + c->nr_detached != c->nr_alloc)
		return "7: page counts wrong";
	n = 0;
	for (l = c->mappings.next; l != &c->mappings; l = l->next) {
		struct pc_mapping *m = container_of(l, struct pc_mapping, link);

		if ((msg = check_mapping(m, &dirty, buf, size)))
			return msg;
		n += m->nr_pages;
	}
	if (dirty != c->nr_dirty || n != c->nr_cached)
		return "7: cache dirty or cached count wrong";
	return NULL;
}

/*
 * A study run the explorer abandoned (a deadlock) leaves tasks that will never
 * run again holding page locks and references.  Forget them, so that the cache
 * can be written back and torn down as usual.
 */
void pc_forget_holders(struct pc_cache *c)
{
	struct pc_list *ml, *pl;

	for (unsigned i = 0; i < PC_NOREAD_SLOTS; i++) {
		c->noread[i].page = NULL;
		c->noread[i].waiters = 0;
		lock_page_init(&c->noread[i].lock, "PG_noread");
	}

	for (ml = c->mappings.next; ml != &c->mappings; ml = ml->next) {
		struct pc_mapping *m = container_of(ml, struct pc_mapping, link);

		for (pl = m->pages.next; pl != &m->pages; pl = pl->next) {
			struct pc_page *p = container_of(pl, struct pc_page, m_list);

			if (p->flags & PC_PG_LOCKED) {
				lock_page_init(&p->lock, p->lock_name ? p->lock_name : "page");
				p->flags &= ~PC_PG_LOCKED;
			}
			p->flags &= ~PC_PG_NOREAD;
			p->count = 0;
		}
	}
}
