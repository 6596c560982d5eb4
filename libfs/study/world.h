/*
 * libfs/study/world.h - one explored run's state: a poisoned disk, files with a
 * small page cache (pages with a page lock, buffers with BH_New/Mapped/Uptodate/
 * Dirty), user address spaces, the shadow copies, and the journal's durable state.
 * Internal to libfs/study.
 */
#ifndef E4_STUDY_WORLD_H
#define E4_STUDY_WORLD_H

#include <stdint.h>
#include <sys/types.h>

#include "libfs/study/ext4_inline.h"
#include "libfs/mm/mm.h"
#include "libfs/study/study.h"

#define W_PAGE 4096u
#define W_MAX_PAGES 4			/* per file: 16 KiB */
#define W_MAX_BUFS 4			/* 1 KiB blocks */
#define W_MAX_LBLK (W_MAX_PAGES * W_MAX_BUFS)
#define W_MAX_NAMES 8			/* mappings and buffers per task */

#define BH_NEW 0x01u
#define BH_MAPPED 0x02u
#define BH_UPTODATE 0x04u
#define BH_DIRTY 0x08u

struct w_page {
	struct lock_page lock;		/* PG_locked */
	struct lock_page noread;	/* Anton's flag (readpage_flag_2007) */
	char lock_name[80], noread_name[80];
	int cached, uptodate, dirty;
	unsigned bh[W_MAX_BUFS];
	uint8_t data[W_PAGE];
};

struct w_file {
	struct study_world *world;
	char path[STUDY_PATH_MAX];
	uint64_t size;			/* i_size */
	uint32_t map[W_MAX_LBLK];	/* physical block + 1; 0: hole */
	struct w_page pages[W_MAX_PAGES];
	struct lock_mutex i_rwsem;
	uint8_t shadow[W_MAX_PAGES * W_PAGE];
	int shadow_valid;		/* 0 once written from a file mapping */
	/* the journal's last commit: what recovery finds */
	uint32_t durable_map[W_MAX_LBLK];
	uint64_t durable_size;
	struct e4i_inode ei;		/* the ext4 inline model's state (libfs/study/ext4_inline.c) */
	struct e4_file *ef;		/* the engine world's open file (eworld.c) */
};

struct w_name {
	char name[STUDY_NAME_MAX];
	uint64_t addr, len;		/* user address (mm) */
	uint8_t *kbuf;			/* kernel buffer (kbuf) */
};

struct w_task {
	const struct study_task *t;
	struct study_world *w;
	struct mm *mm;			/* NULL: kernel thread */
	struct w_name names[W_MAX_NAMES];
	int nnames;
	int index;
};

struct study_world {
	const struct study *st;
	struct study_policy pol;
	unsigned bs, bpp;		/* block size, buffers per page */
	uint32_t nblocks;
	uint8_t *disk;			/* nblocks * bs */
	uint8_t *bitmap;		/* one byte per block */
	struct ew_base *ebase;		/* the engine world's image (eworld.c); NULL: the
					 * model world */
	struct w_file files[STUDY_MAX_FILES];
	int nfiles;
	struct lock_rwsem handles;	/* open journal handles (read) vs commit (write) */
	struct mm *mms[TASK_MAX];
	struct e4_fs *efs;		/* the engine world: this schedule's mount */
	struct ew_journal *ejournal;	/* ... and its handles as task locks */
	struct w_task tasks[TASK_MAX];
	uint32_t flags;			/* signal/wait */
	int crashed;
	char tag[8 + STUDY_NAME_MAX];
};

/* world.c */
int w_build(struct study_world *w, const struct study *st, unsigned bs, int poison);
int w_clone(struct study_world *dst, const struct study_world *base);
void w_free(struct study_world *w);
struct w_file *w_file_of(struct study_world *w, const char *path);
extern const struct mm_file_ops w_file_ops;
int w_readpage(struct study_world *w, struct w_file *f, struct w_page *p);
void w_prepare(struct study_world *w, struct w_file *f, struct w_page *p, unsigned from,
	       unsigned to);
void w_commit(struct study_world *w, struct w_file *f, struct w_page *p, uint64_t pos,
	      unsigned from, unsigned to);
void w_zero_new(struct study_world *w, struct w_page *p, unsigned from, unsigned to,
		int page_only);
ssize_t w_read(struct study_world *w, struct w_file *f, uint64_t off, uint8_t *buf,
	       uint64_t len);
void w_contents(struct study_world *w, struct w_file *f, uint8_t *buf, int durable);
void w_journal_commit(struct study_world *w);
int w_has_poison(const uint8_t *buf, size_t len, size_t *at);
struct w_page *w_page_get(struct w_file *f, uint64_t index);

/* wloop.c: write(2) under the world's policy; returns bytes or -errno. */
struct w_src {
	struct mm *mm;
	uint64_t addr;			/* user source */
	const uint8_t *kbuf;		/* kernel source (a kernel thread's write) */
};
long w_write(struct study_world *w, struct w_file *f, uint64_t pos, uint64_t len,
	     const struct w_src *src);

/*
 * eworld.c: the same steps on the real engine.  ew_build makes the base image
 * (after w_build made the shadows); ew_mount gives a clone its own mount of it.
 */
struct ew_base;
struct ew_journal;
struct e4_fs;
struct e4_file;
int ew_build(struct study_world *w);
void ew_free_base(struct study_world *w);
int ew_mount(struct study_world *w);
void ew_unmount(struct study_world *w);
int ew_policy(const struct study_policy *sp, struct vfs_policy *vp);
long ew_write(struct study_world *w, struct w_file *f, uint64_t pos, uint64_t len,
	      const struct w_src *src);
ssize_t ew_read(struct w_file *f, uint64_t off, uint8_t *buf, uint64_t len);
const struct mm_file_ops *ew_file_ops(void);
void *ew_mapping_file(struct w_file *f);
int ew_commit(struct study_world *w);
long ew_fsync(struct w_file *f);
long ew_truncate(struct w_file *f, uint64_t size);
int ew_contents(struct w_file *f, uint8_t *buf, uint64_t *size);
int ew_crash(struct study_world *w, uint8_t (*bufs)[W_MAX_PAGES * W_PAGE], uint64_t *sizes);

#endif /* E4_STUDY_WORLD_H */
