/*
 * libfs/pcache - the page cache: 4 KiB pages with buffer states, a per-inode
 * index, one LRU and a memory bound with reclaim.
 *
 * Pages are PC_PAGE_SIZE bytes whatever the block size; a page with buffers has
 * PC_PAGE_SIZE >> blkbits of them (4 with 1 KiB blocks).  The cache never does
 * I/O itself: to reclaim a dirty page it calls the writeback hook that the layer
 * above (libfs/vfs, over libfs/aops) registered.  Single-threaded, except under
 * the kernel model: each page embeds a libfs/task page lock, so under a scheduler
 * run lock_page is a schedule point and may wait (outside a run it is a flag
 * update), and page-state changes are reported with task_trace_note.
 * The states, transitions and invariants are documented at the top of pcache.c
 * and asserted by pc_check().
 */
#ifndef E4_PCACHE_H
#define E4_PCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "libfs/task/task.h"

#define PC_PAGE_SHIFT	12
#define PC_PAGE_SIZE	(1u << PC_PAGE_SHIFT)
#define PC_MAX_BUFS	4		/* PC_PAGE_SIZE / smallest block (1 KiB) */

/* Page flags (struct pc_page.flags). */
#define PC_PG_LOCKED	0x01u
#define PC_PG_UPTODATE	0x02u
#define PC_PG_DIRTY	0x04u
#define PC_PG_WRITEBACK	0x08u
#define PC_PG_PRIVATE	0x10u		/* buffers attached (bufs[] is valid) */
#define PC_PG_KEPT_NEW	0x20u		/* a historical write_end left BH_New buffers
					 * behind, clean (the -mm loop of 2006-12, seed
					 * 002): invariant 4 lets them outlive the lock */
#define PC_PG_NOREAD	0x40u		/* Anton's PG_noread (seed 003): readpage and
					 * the fault path wait while a writer has the
					 * page unlocked for a copy that may fault */

/* Buffer states (struct pc_buf.b_state), the BH_* bits of a buffer head. */
#define PC_BH_NEW	0x01u		/* allocated by this write: disk bytes are stale */
#define PC_BH_MAPPED	0x02u		/* b_blocknr is valid */
#define PC_BH_UPTODATE	0x04u		/* the page bytes of this block are valid */
#define PC_BH_DIRTY	0x08u		/* the page bytes must reach b_blocknr */

struct pc_list {
	struct pc_list *prev, *next;
};

struct pc_buf {
	uint64_t b_blocknr;		/* physical block, when PC_BH_MAPPED */
	unsigned b_state;
};

struct pc_mapping;

struct pc_page {
	struct pc_cache *cache;
	struct pc_mapping *mapping;	/* NULL while free or deleted */
	uint64_t index;			/* file offset >> PC_PAGE_SHIFT */
	unsigned flags;			/* PC_PG_* */
	int count;			/* references held by callers */
	uint8_t *data;			/* PC_PAGE_SIZE bytes, page aligned */
	struct pc_page *hash_next;	/* mapping hash chain; free-list link */
	struct pc_list lru;		/* the cache's LRU, most recent first */
	struct pc_list m_list;		/* the mapping's pages, unordered */
	unsigned nr_bufs;		/* PC_PAGE_SIZE >> blkbits */
	struct pc_buf bufs[PC_MAX_BUFS];
	struct lock_page lock;		/* PG_locked: PC_PG_LOCKED mirrors it */
	char *lock_name;		/* "page LABEL#INDEX" once named in a traced run */
};

/* The per-inode index (an address_space).  disk_inode.i_mapping points here. */
struct pc_mapping {
	struct pc_cache *cache;
	void *host;			/* struct disk_inode *, opaque here */
	char label[32];			/* names its pages' locks in a traced run */
	unsigned blkbits;		/* log2 of the file system block size */
	struct pc_page **hash;		/* chained by index */
	size_t hash_size;		/* power of two */
	size_t nr_pages, nr_dirty;
	struct pc_list pages;		/* every cached page of this mapping */
	struct pc_list dirty_link;	/* on cache->dirty_mappings iff nr_dirty > 0 */
	struct pc_list link;		/* on cache->mappings */
	int wb_err;			/* first writeback error since the last fsync */
	uint64_t map_gen;		/* bumped by the layer above when blocks are
					 * freed: its cached block runs are stale */
};

/*
 * What the cache asks of the layer above.  writeback() writes back dirty pages
 * of @m (at least every dirty page that is neither locked nor referenced) and
 * returns 0 or -errno; reclaim calls it for the mapping of the coldest dirty
 * page.  It must not add or remove pages.
 */
struct pc_ops {
	int (*writeback)(void *arg, struct pc_mapping *m);
};

/*
 * The wait side of PG_noread.  A page flag has no lock to sleep on, so the cache
 * lends one of these to each flagged page (the kernel's wait_on_bit hashes into a
 * table of wait queues the same way): struct pc_page stays as small as without the
 * flag.  The writer that set the flag holds @lock until it clears it; a waiter
 * takes and drops @lock, a libfs/task schedule point.  A slot is free when @page
 * is NULL and no waiter still refers to it.
 */
#define PC_NOREAD_SLOTS	TASK_MAX	/* one flagged page per writing task */

struct pc_noread {
	const struct pc_page *page;
	int waiters;
	struct lock_page lock;
};

struct pc_stats {
	uint64_t hits, misses;		/* pc_find_get_page / pc_grab_page lookups */
	uint64_t reclaimed;		/* pages taken back by reclaim */
	uint64_t reclaim_writebacks;	/* writeback() calls made by reclaim */
	size_t peak_pages;		/* most pages ever allocated */
	size_t over_bound;		/* allocations past the bound (all pages busy) */
};

struct pc_cache {
	size_t max_pages;		/* the memory bound, in pages */
	size_t nr_alloc;		/* pages allocated: cached + free */
	size_t nr_cached, nr_dirty, nr_free;
	size_t nr_detached;		/* deleted but still referenced */
	struct pc_list lru;		/* cached pages; head = most recently used */
	struct pc_page *free_list;
	struct pc_list dirty_mappings;
	struct pc_list mappings;	/* every mapping */
	const struct pc_ops *ops;
	void *ops_arg;
	int in_reclaim;
	int trace_notes;		/* report page-state changes with task_trace_note
					 * (the kernel model sets it; 0 costs one test) */
	struct pc_chunk *chunks;	/* page memory, carved PC_CHUNK_PAGES at a time */
	size_t chunk_left;		/* pages not yet handed out of chunks */
	uint8_t *scratch;		/* I/O merge buffer lent to the layer above */
	size_t scratch_size;
	int scratch_busy;
	struct pc_stats stats;
	struct pc_noread noread[PC_NOREAD_SLOTS];
};

#define PC_DEFAULT_BYTES	(64u << 20)
#define PC_MIN_PAGES		8

/* ---- the cache ---- */
/* @bytes 0: PC_DEFAULT_BYTES.  @ops may be NULL (dirty pages then never reclaim). */
int pc_cache_create(size_t bytes, const struct pc_ops *ops, void *ops_arg,
		    struct pc_cache **out);
/* Every mapping must have been freed. */
void pc_cache_destroy(struct pc_cache *c);
/* Drops every page lock and reference callers hold (tasks a study abandoned). */
void pc_forget_holders(struct pc_cache *c);

/* Lends the cache's @size-byte scratch buffer (allocated once); NULL if it is
 * lent already or memory is short: the caller then allocates its own. */
void *pc_scratch_get(struct pc_cache *c, size_t size);
void pc_scratch_put(struct pc_cache *c, void *buf);

/* ---- mappings ---- */
int pc_mapping_create(struct pc_cache *c, void *host, unsigned blkbits,
		      struct pc_mapping **out);
/* Drops every page (dirty ones are discarded: write back first) and frees @m. */
void pc_mapping_destroy(struct pc_mapping *m);
/* The next mapping with dirty pages after @m (NULL: the first); NULL at the end. */
struct pc_mapping *pc_next_dirty_mapping(struct pc_cache *c, struct pc_mapping *m);

/* ---- pages ---- */
/* A referenced page, or NULL.  Counts as a use for the LRU. */
struct pc_page *pc_find_get_page(struct pc_mapping *m, uint64_t index);
/*
 * Finds or creates the page at @index and returns it referenced (and locked if
 * @lock).  A new page is !uptodate, has no buffers and may have cost a reclaim,
 * which can call ops->writeback.  Returns 0 or -errno (-ENOMEM, a writeback error).
 */
int pc_grab_page(struct pc_mapping *m, uint64_t index, int lock, struct pc_page **out);
/* The same, with the kernel function that locks the page named in the trace. */
int pc_grab_page_at(struct pc_mapping *m, uint64_t index, int lock, struct pc_page **out,
		    const char *where);
/* Only creates: -EEXIST if the page is cached (readahead).  Locked, referenced. */
int pc_add_new_page(struct pc_mapping *m, uint64_t index, struct pc_page **out);
void pc_get_page(struct pc_page *p);
void pc_put_page(struct pc_page *p);
/* lock_page: under a libfs/task run a schedule point that may wait (lockdep class
 * "page"); outside a run the page must not be locked already. */
void pc_lock_page(struct pc_page *p);
void pc_lock_page_at(struct pc_page *p, const char *where);
int pc_trylock_page(struct pc_page *p);
void pc_unlock_page(struct pc_page *p);
/*
 * PG_noread (VFS_WL_READPAGE_FLAG_2007 only, Anton's proposal in seed 003).
 * pc_set_page_noread flags the locked page @p before its writer unlocks it for a
 * copy that may fault; -EBUSY if every slot is taken.  pc_clear_page_noread (the
 * page locked again) wakes the waiters.  pc_lock_page_readable is lock_page for
 * readpage and the fault path: while the flag is set it drops the page lock,
 * waits for the flag (a schedule point) and relocks.  With the flag clear they
 * cost one test and no schedule point, so other runs' schedules are unchanged.
 */
int pc_set_page_noread(struct pc_page *p);
void pc_clear_page_noread(struct pc_page *p);
void pc_lock_page_readable(struct pc_page *p);
/* The same for a page the caller has locked already (pc_grab_page). */
void pc_wait_noread_locked(struct pc_page *p);
/*
 * Removes a locked page from the cache (truncate): its dirty state is dropped.
 * The caller's reference stays valid until pc_put_page; the page is unlocked.
 */
void pc_delete_page(struct pc_page *p);
/* Deletes every cached page with index in [start, end): none may be locked or
 * referenced.  end = UINT64_MAX: to the end. */
void pc_truncate_pages(struct pc_mapping *m, uint64_t start, uint64_t end);

void pc_set_page_uptodate(struct pc_page *p);
/* Sets PC_PG_DIRTY (accounting, dirty-mapping list).  Page must be uptodate or
 * have a dirty buffer. */
void pc_set_page_dirty(struct pc_page *p);
/* Clears PC_PG_DIRTY before writeback; returns whether it was set. */
int pc_clear_page_dirty_for_io(struct pc_page *p);
void pc_set_page_writeback(struct pc_page *p);
void pc_end_page_writeback(struct pc_page *p);

/* ---- buffers ---- */
/* Attaches nr_bufs empty buffers (uptodate if the page is): create_empty_buffers. */
void pc_attach_buffers(struct pc_page *p);
/* Buffer uptodate + dirty, and the page dirty. */
void pc_mark_buffer_dirty(struct pc_page *p, unsigned i);
/* Sets PG_KEPT_NEW iff a buffer of the locked @p is still BH_New: called by a
 * historical write_end that leaves new buffers behind (invariant 4). */
void pc_note_kept_new(struct pc_page *p);
static inline unsigned pc_blocksize(const struct pc_mapping *m) { return 1u << m->blkbits; }

/*
 * Every cached page of @m whose flags include all of @flags,
 * in index order with index in [start, end), each referenced (put them).
 * *pages is malloc'd (free it); returns the count or -ENOMEM.
 */
long pc_collect_pages(struct pc_mapping *m, uint64_t start, uint64_t end,
		      unsigned flags, struct pc_page ***pages);

/* ---- invariants ---- */
/* Checks one page; returns NULL or a static message naming the broken rule. */
const char *pc_check_page(const struct pc_page *p);
/* Checks every invariant of the cache; NULL or a message (in @buf). */
const char *pc_check(struct pc_cache *c, char *buf, size_t size);

#endif /* E4_PCACHE_H */
