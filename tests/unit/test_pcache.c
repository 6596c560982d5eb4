/*
 * Unit tests of libfs/pcache on its own: page and buffer states, the LRU,
 * reclaim under the memory bound (clean pages dropped, dirty ones written back
 * first through the writeback hook), truncation and the invariant checker.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "libfs/pcache/pcache.h"

/* A fake backing store: writeback copies dirty pages here, by page index. */
struct store {
	uint8_t data[512][PC_PAGE_SIZE];
	int written[512];
	int calls;
	int fail;
};

static int store_writeback(void *arg, struct pc_mapping *m)
{
	struct store *s = arg;
	struct pc_page **pages;
	long n, i;
	unsigned b;

	s->calls++;
	if (s->fail)
		return -EIO;
	n = pc_collect_pages(m, 0, UINT64_MAX, PC_PG_DIRTY, &pages);
	assert_true(n >= 0);
	for (i = 0; i < n; i++) {
		struct pc_page *p = pages[i];

		if (pc_trylock_page(p)) {
			pc_clear_page_dirty_for_io(p);
			pc_set_page_writeback(p);
			for (b = 0; b < p->nr_bufs; b++)
				p->bufs[b].b_state &= ~PC_BH_DIRTY;
			memcpy(s->data[p->index], p->data, PC_PAGE_SIZE);
			s->written[p->index]++;
			pc_unlock_page(p);
			pc_end_page_writeback(p);
		}
		pc_put_page(p);
	}
	free(pages);
	return 0;
}

static const struct pc_ops store_ops = { .writeback = store_writeback };

static void check_ok(struct pc_cache *c)
{
	char buf[128];
	const char *msg = pc_check(c, buf, sizeof(buf));

	if (msg)
		fail_msg("pc_check: %s", msg);
}

/* Creates a dirty, uptodate page @index filled with @fill, unlocked, unreferenced. */
static void dirty_page(struct pc_mapping *m, uint64_t index, int fill)
{
	struct pc_page *p;
	unsigned b;

	assert_int_equal(pc_grab_page(m, index, 1, &p), 0);
	pc_attach_buffers(p);
	memset(p->data, fill, PC_PAGE_SIZE);
	for (b = 0; b < p->nr_bufs; b++) {
		p->bufs[b].b_state |= PC_BH_MAPPED;
		p->bufs[b].b_blocknr = index * p->nr_bufs + b;
		pc_mark_buffer_dirty(p, b);
	}
	pc_set_page_uptodate(p);
	pc_unlock_page(p);
	pc_put_page(p);
}

static void clean_page(struct pc_mapping *m, uint64_t index)
{
	struct pc_page *p;

	assert_int_equal(pc_grab_page(m, index, 1, &p), 0);
	memset(p->data, (int)index, PC_PAGE_SIZE);
	pc_set_page_uptodate(p);
	pc_unlock_page(p);
	pc_put_page(p);
}

static void test_page_and_buffer_states(void **state)
{
	struct pc_cache *c;
	struct pc_mapping *m;
	struct pc_page *p, *q;
	char buf[128];

	assert_int_equal(pc_cache_create(1 << 20, NULL, NULL, &c), 0);
	assert_int_equal(pc_mapping_create(c, NULL, 10, &m), 0);
	assert_int_equal(pc_grab_page(m, 7, 1, &p), 0);
	assert_true(p->flags & PC_PG_LOCKED);
	assert_false(p->flags & (PC_PG_UPTODATE | PC_PG_DIRTY | PC_PG_PRIVATE));
	assert_int_equal(p->count, 1);
	check_ok(c);

	pc_attach_buffers(p);
	assert_int_equal(p->nr_bufs, 4);		/* 1 KiB blocks in a 4 KiB page */
	p->bufs[1].b_state = PC_BH_NEW | PC_BH_MAPPED;
	p->bufs[1].b_blocknr = 100;
	check_ok(c);					/* New under the page lock: fine */
	pc_mark_buffer_dirty(p, 1);
	assert_true(p->flags & PC_PG_DIRTY);
	assert_int_equal(c->nr_dirty, 1);
	assert_ptr_equal(pc_next_dirty_mapping(c, NULL), m);
	pc_unlock_page(p);
	/* BH_New surviving write_end is what the checker must catch. */
	assert_non_null(pc_check(c, buf, sizeof(buf)));
	assert_non_null(strstr(pc_check(c, buf, sizeof(buf)), "4:"));
	p->bufs[1].b_state &= ~PC_BH_NEW;
	check_ok(c);
	/* The page is dirty but not uptodate: buffers 0, 2, 3 were never read. */
	assert_false(p->flags & PC_PG_UPTODATE);

	/* Uptodate page with a non-uptodate buffer breaks invariant 5. */
	p->flags |= PC_PG_UPTODATE;
	assert_non_null(strstr(pc_check(c, buf, sizeof(buf)), "5:"));
	pc_set_page_uptodate(p);
	check_ok(c);

	q = pc_find_get_page(m, 7);
	assert_ptr_equal(q, p);
	assert_int_equal(p->count, 2);
	pc_put_page(q);

	assert_true(pc_trylock_page(p));
	assert_false(pc_trylock_page(p));
	assert_int_equal(pc_clear_page_dirty_for_io(p), 1);
	pc_set_page_writeback(p);
	p->bufs[1].b_state &= ~PC_BH_DIRTY;
	pc_unlock_page(p);
	pc_end_page_writeback(p);
	assert_int_equal(c->nr_dirty, 0);
	assert_null(pc_next_dirty_mapping(c, NULL));
	check_ok(c);
	pc_put_page(p);

	assert_null(pc_find_get_page(m, 8));
	assert_int_equal(pc_add_new_page(m, 7, &q), -EEXIST);
	pc_mapping_destroy(m);
	check_ok(c);
	pc_cache_destroy(c);
}

static void test_lru_reclaims_clean_pages(void **state)
{
	struct pc_cache *c;
	struct pc_mapping *m;
	struct pc_page *p;
	uint64_t i;

	assert_int_equal(pc_cache_create(16 * PC_PAGE_SIZE, NULL, NULL, &c), 0);
	assert_int_equal(c->max_pages, 16);
	assert_int_equal(pc_mapping_create(c, NULL, 12, &m), 0);
	for (i = 0; i < 16; i++)
		clean_page(m, i);
	/* Touch page 0: it becomes the most recently used. */
	p = pc_find_get_page(m, 0);
	assert_non_null(p);
	pc_put_page(p);
	for (i = 16; i < 200; i++) {
		clean_page(m, i);
		check_ok(c);
		assert_true(c->nr_alloc <= 16);
	}
	assert_int_equal(c->stats.peak_pages, 16);
	assert_int_equal(c->stats.over_bound, 0);
	assert_true(c->stats.reclaimed >= 184);
	/* The most recent pages are still cached with their contents. */
	p = pc_find_get_page(m, 199);
	assert_non_null(p);
	assert_int_equal(p->data[100], 199);
	pc_put_page(p);
	assert_null(pc_find_get_page(m, 1));
	pc_mapping_destroy(m);
	pc_cache_destroy(c);
}

static void test_reclaim_writes_back_dirty_pages(void **state)
{
	struct store *s = calloc(1, sizeof(*s));
	struct pc_cache *c;
	struct pc_mapping *m;
	uint64_t i;

	assert_int_equal(pc_cache_create(16 * PC_PAGE_SIZE, &store_ops, s, &c), 0);
	assert_int_equal(pc_mapping_create(c, NULL, 11, &m), 0);
	for (i = 0; i < 500; i++) {
		dirty_page(m, i, (int)(i * 7 + 1));
		assert_true(c->nr_alloc <= 16);
	}
	check_ok(c);
	assert_int_equal(c->stats.peak_pages, 16);
	assert_int_equal(c->stats.over_bound, 0);
	/* Reclaim wrote whole batches, not one page per call. */
	assert_true(s->calls > 0 && s->calls <= 500 / 8);
	assert_int_equal(store_writeback(s, m), 0);
	for (i = 0; i < 500; i++) {
		assert_int_equal(s->written[i], 1);
		assert_int_equal(s->data[i][0], (uint8_t)(i * 7 + 1));
		assert_int_equal(s->data[i][PC_PAGE_SIZE - 1], (uint8_t)(i * 7 + 1));
	}
	assert_int_equal(c->nr_dirty, 0);
	pc_mapping_destroy(m);
	pc_cache_destroy(c);
	free(s);
}

static void test_writeback_error_fails_allocation(void **state)
{
	struct store *s = calloc(1, sizeof(*s));
	struct pc_cache *c;
	struct pc_mapping *m;
	struct pc_page *p;
	uint64_t i;

	assert_int_equal(pc_cache_create(8 * PC_PAGE_SIZE, &store_ops, s, &c), 0);
	assert_int_equal(pc_mapping_create(c, NULL, 12, &m), 0);
	for (i = 0; i < 8; i++)
		dirty_page(m, i, 1);
	s->fail = 1;
	assert_int_equal(pc_grab_page(m, 8, 1, &p), -EIO);
	assert_int_equal(c->nr_dirty, 8);		/* nothing lost */
	check_ok(c);
	s->fail = 0;
	assert_int_equal(pc_grab_page(m, 8, 1, &p), 0);
	pc_unlock_page(p);
	pc_put_page(p);
	check_ok(c);
	pc_mapping_destroy(m);
	pc_cache_destroy(c);
	free(s);
}

static void test_busy_pages_are_not_reclaimed(void **state)
{
	struct pc_cache *c;
	struct pc_mapping *m;
	struct pc_page *held[8], *p;
	int i;

	assert_int_equal(pc_cache_create(8 * PC_PAGE_SIZE, NULL, NULL, &c), 0);
	assert_int_equal(pc_mapping_create(c, NULL, 12, &m), 0);
	for (i = 0; i < 8; i++)
		assert_int_equal(pc_grab_page(m, (uint64_t)i, i & 1, &held[i]), 0);
	assert_int_equal(pc_grab_page(m, 8, 1, &p), 0);
	assert_int_equal(c->stats.over_bound, 1);
	assert_int_equal(c->stats.reclaimed, 0);
	for (i = 0; i < 8; i++) {
		if (i & 1)
			pc_unlock_page(held[i]);
		pc_put_page(held[i]);
	}
	pc_unlock_page(p);
	pc_put_page(p);
	check_ok(c);
	pc_mapping_destroy(m);
	pc_cache_destroy(c);
}

static void test_truncate_and_delete(void **state)
{
	struct store *s = calloc(1, sizeof(*s));
	struct pc_cache *c;
	struct pc_mapping *m, *m2;
	struct pc_page *p, **v;
	long n;
	uint64_t i;

	assert_int_equal(pc_cache_create(1 << 20, &store_ops, s, &c), 0);
	assert_int_equal(pc_mapping_create(c, NULL, 12, &m), 0);
	assert_int_equal(pc_mapping_create(c, NULL, 12, &m2), 0);
	for (i = 0; i < 40; i++) {
		dirty_page(m, i * 3, 5);
		clean_page(m2, i);
	}
	pc_truncate_pages(m, 30, 60);		/* pages 30..57 step 3 */
	assert_int_equal(m->nr_pages, 30);
	assert_int_equal(m->nr_dirty, 30);
	assert_null(pc_find_get_page(m, 30));
	check_ok(c);
	n = pc_collect_pages(m, 0, UINT64_MAX, PC_PG_DIRTY, &v);
	assert_int_equal(n, 30);
	for (i = 1; i < (uint64_t)n; i++)
		assert_true(v[i - 1]->index < v[i]->index);
	for (i = 0; i < (uint64_t)n; i++)
		pc_put_page(v[i]);
	free(v);

	/* Deleting a referenced page: its memory returns at the last put. */
	p = pc_find_get_page(m, 0);
	pc_lock_page(p);
	pc_delete_page(p);
	assert_null(p->mapping);
	assert_int_equal(c->nr_detached, 1);
	check_ok(c);
	pc_put_page(p);
	assert_int_equal(c->nr_detached, 0);
	check_ok(c);

	pc_truncate_pages(m2, 0, UINT64_MAX);
	assert_int_equal(m2->nr_pages, 0);
	pc_mapping_destroy(m2);
	pc_mapping_destroy(m);
	check_ok(c);
	assert_int_equal(c->nr_cached, 0);
	assert_int_equal(c->nr_dirty, 0);
	pc_cache_destroy(c);
	free(s);
}

static void test_many_pages_hash_growth(void **state)
{
	struct pc_cache *c;
	struct pc_mapping *m;
	struct pc_page *p;
	uint64_t i;

	assert_int_equal(pc_cache_create(64 << 20, NULL, NULL, &c), 0);
	assert_int_equal(pc_mapping_create(c, NULL, 12, &m), 0);
	for (i = 0; i < 5000; i++)
		clean_page(m, i * 1000003);
	for (i = 0; i < 5000; i++) {
		p = pc_find_get_page(m, i * 1000003);
		assert_non_null(p);
		assert_int_equal(p->index, i * 1000003);
		pc_put_page(p);
	}
	assert_true(m->hash_size >= 2048);
	check_ok(c);
	pc_mapping_destroy(m);
	pc_cache_destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_and_buffer_states),
		cmocka_unit_test(test_lru_reclaims_clean_pages),
		cmocka_unit_test(test_reclaim_writes_back_dirty_pages),
		cmocka_unit_test(test_writeback_error_fails_allocation),
		cmocka_unit_test(test_busy_pages_are_not_reclaimed),
		cmocka_unit_test(test_truncate_and_delete),
		cmocka_unit_test(test_many_pages_hash_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
