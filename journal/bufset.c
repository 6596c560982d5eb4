/*
 * journal/bufset.c - block-number-keyed sets: buffers of whole blocks (a
 * transaction's writes, the checkpoint set) and revoke tables (block -> tid).
 * Calls only libc.  Invariant: a block appears at most once per set; the
 * tables grow so chains stay short, so every operation is O(1) expected.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "journal/jbd_internal.h"

static size_t hash_blk(uint64_t blk, size_t n)
{
	return (size_t)((blk * 0x9E3779B97F4A7C15ull) >> 17) % n;
}

/* ---- buffers ---- */

void jbd_bufset_init(struct jbd_bufset *s, unsigned bsize)
{
	memset(s, 0, sizeof(*s));
	s->bs_bsize = bsize;
}

void jbd_bufset_free(struct jbd_bufset *s)
{
	for (size_t i = 0; i < s->bs_nbuckets; i++) {
		struct jbd_buf *b = s->bs_hash[i], *next;

		for (; b; b = next) {
			next = b->b_hnext;
			free(b);
		}
	}
	free(s->bs_hash);
	s->bs_hash = NULL;
	s->bs_nbuckets = s->bs_count = 0;
}

struct jbd_buf *jbd_bufset_get(const struct jbd_bufset *s, uint64_t blk)
{
	struct jbd_buf *b;

	if (!s->bs_count)
		return NULL;
	for (b = s->bs_hash[hash_blk(blk, s->bs_nbuckets)]; b; b = b->b_hnext)
		if (b->b_blk == blk)
			return b;
	return NULL;
}

static int bufset_grow(struct jbd_bufset *s)
{
	size_t n = s->bs_nbuckets ? s->bs_nbuckets * 2 : 256;
	struct jbd_buf **hash = calloc(n, sizeof(*hash));

	if (!hash)
		return -ENOMEM;
	for (size_t i = 0; i < s->bs_nbuckets; i++) {
		struct jbd_buf *b = s->bs_hash[i], *next;

		for (; b; b = next) {
			size_t h = hash_blk(b->b_blk, n);

			next = b->b_hnext;
			b->b_hnext = hash[h];
			hash[h] = b;
		}
	}
	free(s->bs_hash);
	s->bs_hash = hash;
	s->bs_nbuckets = n;
	return 0;
}

static int bufset_insert(struct jbd_bufset *s, struct jbd_buf *b)
{
	size_t h;

	if (s->bs_count >= s->bs_nbuckets) {
		int ret = bufset_grow(s);

		if (ret)
			return ret;
	}
	h = hash_blk(b->b_blk, s->bs_nbuckets);
	b->b_hnext = s->bs_hash[h];
	s->bs_hash[h] = b;
	s->bs_count++;
	return 0;
}

int jbd_bufset_add(struct jbd_bufset *s, uint64_t blk, struct jbd_buf **out, int *created)
{
	struct jbd_buf *b = jbd_bufset_get(s, blk);
	int ret;

	*created = 0;
	if (b) {
		*out = b;
		return 0;
	}
	b = malloc(sizeof(*b) + s->bs_bsize);
	if (!b)
		return -ENOMEM;
	b->b_blk = blk;
	ret = bufset_insert(s, b);
	if (ret) {
		free(b);
		return ret;
	}
	*created = 1;
	*out = b;
	return 0;
}

/* Unlinks @blk's buffer and returns it (NULL if absent). */
static struct jbd_buf *bufset_unlink(struct jbd_bufset *s, uint64_t blk)
{
	struct jbd_buf **pp, *b;

	if (!s->bs_count)
		return NULL;
	for (pp = &s->bs_hash[hash_blk(blk, s->bs_nbuckets)]; (b = *pp); pp = &b->b_hnext) {
		if (b->b_blk == blk) {
			*pp = b->b_hnext;
			s->bs_count--;
			return b;
		}
	}
	return NULL;
}

int jbd_bufset_del(struct jbd_bufset *s, uint64_t blk)
{
	struct jbd_buf *b = bufset_unlink(s, blk);

	free(b);
	return b ? 1 : 0;
}

int jbd_bufset_move(struct jbd_bufset *dst, struct jbd_bufset *src)
{
	for (size_t i = 0; i < src->bs_nbuckets; i++) {
		struct jbd_buf *b;

		while ((b = src->bs_hash[i])) {
			int ret;

			src->bs_hash[i] = b->b_hnext;
			src->bs_count--;
			free(bufset_unlink(dst, b->b_blk));
			ret = bufset_insert(dst, b);
			if (ret) {
				free(b);
				return ret;
			}
		}
	}
	return 0;
}

static int buf_cmp(const void *a, const void *b)
{
	const struct jbd_buf *x = *(struct jbd_buf *const *)a, *y = *(struct jbd_buf *const *)b;

	return x->b_blk < y->b_blk ? -1 : x->b_blk > y->b_blk;
}

int jbd_bufset_sorted(const struct jbd_bufset *s, struct jbd_buf ***out)
{
	struct jbd_buf **v = malloc((s->bs_count + 1) * sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < s->bs_nbuckets; i++)
		for (struct jbd_buf *b = s->bs_hash[i]; b; b = b->b_hnext)
			v[n++] = b;
	qsort(v, n, sizeof(*v), buf_cmp);
	*out = v;
	return 0;
}

/* ---- revoke tables ---- */

void jbd_revtab_init(struct jbd_revtab *rt)
{
	memset(rt, 0, sizeof(*rt));
}

void jbd_revtab_free(struct jbd_revtab *rt)
{
	for (size_t i = 0; i < rt->rt_nbuckets; i++) {
		struct jbd_rev *r = rt->rt_hash[i], *next;

		for (; r; r = next) {
			next = r->rv_next;
			free(r);
		}
	}
	free(rt->rt_hash);
	memset(rt, 0, sizeof(*rt));
}

static struct jbd_rev **revtab_slot(const struct jbd_revtab *rt, uint64_t blk)
{
	struct jbd_rev **pp = &rt->rt_hash[hash_blk(blk, rt->rt_nbuckets)];

	while (*pp && (*pp)->rv_blk != blk)
		pp = &(*pp)->rv_next;
	return pp;
}

static int revtab_grow(struct jbd_revtab *rt)
{
	size_t n = rt->rt_nbuckets ? rt->rt_nbuckets * 2 : 256;
	struct jbd_rev **hash = calloc(n, sizeof(*hash));

	if (!hash)
		return -ENOMEM;
	for (size_t i = 0; i < rt->rt_nbuckets; i++) {
		struct jbd_rev *r = rt->rt_hash[i], *next;

		for (; r; r = next) {
			size_t h = hash_blk(r->rv_blk, n);

			next = r->rv_next;
			r->rv_next = hash[h];
			hash[h] = r;
		}
	}
	free(rt->rt_hash);
	rt->rt_hash = hash;
	rt->rt_nbuckets = n;
	return 0;
}

int jbd_revtab_set(struct jbd_revtab *rt, uint64_t blk, uint32_t tid)
{
	struct jbd_rev *r;

	if (rt->rt_count >= rt->rt_nbuckets) {
		int ret = revtab_grow(rt);

		if (ret)
			return ret;
	}
	r = *revtab_slot(rt, blk);
	if (r) {
		if (jbd_tid_gt(tid, r->rv_tid))
			r->rv_tid = tid;
		return 0;
	}
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->rv_blk = blk;
	r->rv_tid = tid;
	r->rv_next = rt->rt_hash[hash_blk(blk, rt->rt_nbuckets)];
	rt->rt_hash[hash_blk(blk, rt->rt_nbuckets)] = r;
	rt->rt_count++;
	return 0;
}

int jbd_revtab_get(const struct jbd_revtab *rt, uint64_t blk, uint32_t *tid)
{
	struct jbd_rev *r;

	if (!rt->rt_count)
		return 0;
	r = *revtab_slot(rt, blk);
	if (!r)
		return 0;
	*tid = r->rv_tid;
	return 1;
}

void jbd_revtab_del(struct jbd_revtab *rt, uint64_t blk)
{
	struct jbd_rev **pp, *r;

	if (!rt->rt_count)
		return;
	pp = revtab_slot(rt, blk);
	r = *pp;
	if (r) {
		*pp = r->rv_next;
		rt->rt_count--;
		free(r);
	}
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int jbd_revtab_sorted(const struct jbd_revtab *rt, uint64_t **out)
{
	uint64_t *v = malloc((rt->rt_count + 1) * sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < rt->rt_nbuckets; i++)
		for (struct jbd_rev *r = rt->rt_hash[i]; r; r = r->rv_next)
			v[n++] = r->rv_blk;
	qsort(v, n, sizeof(*v), u64_cmp);
	*out = v;
	return 0;
}
