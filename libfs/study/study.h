/*
 * libfs/study - scenario files (studies/NAME.e4s): the parser, the write-path model the
 * scenarios run on (a small page cache with buffer states, block allocation over a
 * poisoned disk, an ordered-mode commit and crash), the write loops of 2006-2015 as
 * policies, and the interpreter that runs every study under libfs/task's explorer.
 *
 * Calls libfs/task and libfs/mm (engine.c also gives libfs/vfs a libfs/mm source).  Nothing global: a struct study is the parsed
 * file, a struct study_world one run's state (rebuilt for every explored schedule).
 */
#ifndef E4_STUDY_H
#define E4_STUDY_H

#include <stdint.h>
#include <stdio.h>

#include "libfs/aops/iomap.h"
#include "libfs/task/task.h"
#include "libfs/vfs/vfs.h"

/* ---- policies: the kernel's history as switches ----------------------------- */

/* The buffered write loop.  Each value cites what it models (see wloop.c). */
enum study_write_loop {
	WL_PREPARE_COMMIT_2619,	/* 2.6.19 generic_file_buffered_write: lock_page,
				 * prepare_write, copy_from_user that may fault, commit_write */
	WL_NICK_2006,		/* -mm 2006-12 (seed 002): atomic copy, zero the new buffers
				 * in the page, commit_write(offset+copied), retry */
	WL_GUP_PIN_2007,	/* seed 003 patch 9/9: !uptodate page: unlock, pin the source
				 * with get_user_pages, relock, copy through the kernel map */
	WL_ZERO_RETRY_2007,	/* seed 003, Andrew's fallback: atomic copy, zero the
				 * uncopied tail, commit the whole range, retry */
	WL_TEMP_PAGE_2007,	/* seed 003, Nick's temporary page: copy (may fault) into a
				 * temporary page with no lock held, then lock and commit */
	WL_IDEA42_2007,		/* seed 003, Andrew's "idea #42": lock, atomic get_user of
				 * the source, then a copy that may fault */
	WL_READPAGE_FLAG_2007,	/* seed 003, Anton: a page flag keeps readpage (and the
				 * fault path, as Nick said it must) out while the page is
				 * unlocked for a copy that may fault */
	WL_WRITE_BEGIN_2624,	/* 2.6.24 (afddba49d18f): fault_in_pages_readable, write_begin,
				 * atomic copy, write_end; zero progress retries */
	WL_TODAY,		/* generic_perform_write since 5.16 (a6294593e8a1 and
				 * fault_in_iov_iter_readable): prefault, copy, fault in after a
				 * zero-progress write_end */
	WL_GFS2_IOMAP,		/* gfs2 on iomap (5.16-5.18, seed 001): iomap_begin allocates
				 * the whole range, atomic copy, iomap_end punches what a
				 * short write left; keys iomap_punch=, iomap_truncate=,
				 * prefault= (libfs/aops/iomap.h, libfs/study/gfs2.c) */
	WL_NR
};

/* A short copy into a !uptodate page. */
enum study_short_copy {
	SC_DEFAULT,		/* what the write loop of the run implies */
	SC_COMMIT_AS_IS,	/* commit the copied bytes (2.6.19 commit_write) */
	SC_COPIED_ZERO_FS,	/* block_write_end sets copied = 0 (2.6.24..4.3) */
	SC_COPIED_ZERO_GENERIC,	/* generic_perform_write does it (seed 000, Linus 2015) */
	SC_NR
};

/* New buffers in the range write_begin prepared but the copy did not reach. */
enum study_zero_new {
	ZN_DEFAULT,
	ZN_ALWAYS,		/* page_zero_new_buffers: zero, uptodate, dirty, clear BH_New */
	ZN_IF_COPIED,		/* only when copied != 0 (the ext4 patch Linus doubted, 000) */
	ZN_PAGE_ONLY,		/* zero the page bytes only; the buffers stay BH_New and clean
				 * (the -mm stale-holes fix Mark Fasheh reviewed, 002) */
	ZN_NR
};

/* How much a short copy commits. */
enum study_commit_range {
	CR_DEFAULT,
	CR_COPIED,		/* commit_write(offset, offset + copied) (002, the bug) */
	CR_BYTES,		/* commit_write(offset, offset + bytes) (Mark's proposal) */
	CR_NR
};

/* ext4 inline data under page_mkwrite (seed 004; libfs/study/ext4_inline.c models each).
 * SI_OFF: the file is not run through the ext4 inline model. */
enum study_inline {
	SI_OFF,
	SI_NO_CONVERT,		/* before 7b4cc9787fe35b: page_mkwrite leaves the inode
				 * inline; its dirty folio reaches ext4_writepages */
	SI_MKWRITE_XATTR,	/* 7b4cc9787fe35b: ext4_page_mkwrite converts under
				 * xattr_sem only; write() tests MAY_INLINE without it */
	SI_CONVERT_AT_MMAP,	/* Baokun Li 2023-05 v1/v2 "fix race condition between
				 * buffer write and page_mkwrite": convert in ext4_file_mmap
				 * under inode_lock (mmap_lock held for write) */
	SI_MKWRITE_INODE_LOCK,	/* inode_lock taken in ext4_page_mkwrite under the fault's
				 * mmap_lock: Jan Kara's three-CPU deadlock in that thread
				 * (2023-06), which writer fairness on mmap_lock completes */
	SI_RETRY_EVICT,		/* Baokun Li 2024-04 (seed 004): drop mmap_lock, convert
				 * under inode_lock, VM_FAULT_RETRY; SIGBUS when the caller
				 * did not set FAULT_FLAG_ALLOW_RETRY (Jan Kara's objection) */
	SI_RETRY_UNCHECKED,	/* the same as first posted (2024-04-15): VM_FAULT_RETRY
				 * whatever the caller allowed */
	SI_ONE_LOCK,		/* proposed fix: every MAY_INLINE decision of write() under
				 * xattr_sem held from write_begin to write_end */
	SI_TSO_2025,		/* Ted Ts'o 2025: under the folio lock allocate the block,
				 * write the data, switch the inode in one handle; no
				 * write_begin/write_end, nothing to restore on failure */
	SI_NR
};

/* Block allocation for the inline model: conversion can fail on demand. */
enum study_alloc {
	SA_OK,
	SA_ENOSPC,		/* ext4_mb_new_blocks: no free cluster */
	SA_BAD_BITMAP,		/* a group whose bitmap and descriptor disagree:
				 * ext4_wait_block_bitmap -EFSCORRUPTED (the syzbot report) */
	SA_NR
};

/* Who serialises fallocate/truncate against write() on an inline inode. */
enum study_inl_lock {
	SL_INODE_LOCK,		/* inode_lock (the fix of CVE-2022-49414; truncate: convert) */
	SL_XATTR_ONLY,		/* xattr_sem only (before that fix); truncate: keep inline */
	SL_NR
};

struct study_policy {
	enum study_write_loop write_loop;
	enum study_short_copy short_copy;
	enum study_zero_new zero_new;
	enum study_commit_range commit_range;
	enum study_inline inl;		/* key inline= */
	enum study_alloc alloc;		/* key alloc= */
	enum study_inl_lock falloc;	/* key falloc= */
	enum study_inl_lock trunc;	/* key truncate= */
	int nojournal;			/* key journal=none|ordered */
	struct iomap_policy iomap;	/* write_loop=gfs2_iomap: iomap_punch=, iomap_truncate=,
					 * prefault= */
};

/* "write_loop=today,zero_new=always": the keys set; returns @buf. */
const char *study_policy_str(const struct study_policy *p, char *buf, size_t size);

/* ---- the parsed scenario ------------------------------------------------------ */

enum study_verb {
	SV_MMAP, SV_BUF, SV_KBUF, SV_STORE, SV_LOAD, SV_WRITE, SV_READ, SV_MUNMAP, SV_MLOCK,
	SV_RECLAIM, SV_GUP, SV_FAULT_IN, SV_COMMIT, SV_CRASH, SV_POINT, SV_SIGNAL, SV_WAIT,
	SV_FSYNC, SV_TRUNCATE, SV_FALLOCATE,	/* the ext4 inline model (libfs/study/ext4_inline.c) */
	SV_NR
};

#define STUDY_NAME_MAX 48
#define STUDY_PATH_MAX 64
#define STUDY_MAX_FILES 8
#define STUDY_MAX_RUNS 8
#define STUDY_MAX_STEPS 16
#define STUDY_MAX_BLOCKS 4

#define SF_NO_ZEROS 0x01
#define SF_NO_STALE 0x02
#define SF_RW 0x04
#define SF_ALL 0x08

struct study_step {
	int line;
	enum study_verb verb;
	char name[STUDY_NAME_MAX];	/* mapping/buffer/flag/point name */
	char path[STUDY_PATH_MAX];
	char addr[STUDY_NAME_MAX];	/* ADDR's mapping or buffer */
	uint64_t addr_off;
	uint64_t off, len;
	long pages;
	int flags;			/* SF_* */
	int fill;			/* byte; -1: seq */
	int has_expect;
	long expect;			/* bytes, or -errno */
	char label[64];			/* "T1:3 write": the schedule point's name */
};

struct study_task {
	char id[8];			/* T1, T2, ... */
	char name[STUDY_NAME_MAX];
	int mm;				/* -1: none (kernel thread); else the task index whose
					 * mm it uses (itself: its own) */
	struct study_step steps[STUDY_MAX_STEPS];
	int nsteps;
	int race;			/* index of the first body step */
};

struct study_file {
	char path[STUDY_PATH_MAX];
	uint64_t size;
	int fill;			/* byte; -1: seq */
	int sparse;			/* no blocks: a hole of @size bytes */
	int inline_data;		/* `inline`: the bytes live in the inode (ext4 model) */
};

struct study_run {
	char label[STUDY_NAME_MAX];
	struct study_policy pol;
	char expect[16];		/* "clean" or an oracle */
	uint32_t tasks;			/* bit i: task i takes part (default all) */
	int line;
};

struct study {
	char file[256];
	char name[STUDY_NAME_MAX];
	char title[160];
	uint64_t image_size;
	unsigned block[STUDY_MAX_BLOCKS];
	int nblock;
	int poison;
	int engine;			/* image ... world=engine: run on the real engine
					 * (libfs/study/eworld.c), not the model */
	struct study_file files[STUDY_MAX_FILES];
	int nfiles;
	struct study_task tasks[TASK_MAX];
	int ntasks;
	struct study_run runs[STUDY_MAX_RUNS];
	int nruns;
	struct study_policy common;
	enum task_strategy strategy;
	int bound, iterate, depth;
	uint64_t seed;
	long max_runs;
};

/* Parses @path.  On a malformed file returns -EINVAL with "FILE:LINE: what was
 * expected" in @err; -errno when the file cannot be read. */
int study_parse_file(const char *path, struct study *st, char *err, size_t errsize);
int study_parse_text(const char *name, const char *text, struct study *st, char *err,
		     size_t errsize);

/* ---- running ------------------------------------------------------------------ */

struct study_opts {
	int has_strategy;		/* override the file's explore line */
	enum task_strategy strategy;
	int bound;			/* -1: the file's */
	uint64_t seed;
	long runs;
	int depth;
	const char *replay;		/* one schedule (TASK_SCRIPT) */
	FILE *trace;			/* print the reported/replayed schedule's trace */
	FILE *svg;			/* draw it, for a replay or a verdict other than clean */
	int world;			/* -1: the file's; 0: the model; 1: the engine */
};

struct study_result {
	char label[STUDY_NAME_MAX];
	char policy[160];
	char world[8];			/* "model" or "engine" */
	unsigned block;
	char expect[16];
	char verdict[32];		/* "clean", an oracle, "incomplete", "diverged" */
	char schedule[512];
	char message[4096];
	long explored;
	int complete;
	int ok;
	int svg_written;		/* the SVG of this run's schedule went to opts.svg */
	double seconds;
};

/* Runs @run of @st at block size @block.  Returns 0 or -errno. */
int study_run_one(const struct study *st, int run, unsigned block,
		  const struct study_opts *o, struct study_result *r);

/* ---- the real engine under the kernel model (engine.c) ---- */

/* A write source read through a libfs/mm address space (@ua_arg: the struct mm),
 * for vfs_perform_write_policy: the engine's own write loop, pages and page locks
 * then run under libfs/task exactly as the model's do. */
extern const struct vfs_uaccess_ops study_mm_uaccess;
/* A kernel thread's kernel buffer: copies never fault, get_user_pages fails. */
extern const struct vfs_uaccess_ops study_kthread_uaccess;

#endif /* E4_STUDY_H */
