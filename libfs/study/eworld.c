/*
 * libfs/study/eworld.c - the engine world: a study's files live on a real ext4
 * image, written through the engine's own write loops (libfs/vfs), page cache
 * with its page locks (libfs/pcache), buffer heads and block allocation
 * (libfs/aops, libfs/disk) and JBD2 journal (journal/), with user memory from
 * libfs/mm.  The model world (world.c) is the reference it is checked against.
 *
 * One base image per study run and block size: mkfs, the files, then every free
 * block stamped with the stale-data poison.  Every explored schedule mounts a
 * copy-on-write overlay of it, so no schedule sees another's writes.  A crash
 * copies what has reached the device, mounts the copy (the journal replays) and
 * reads the files back.  Calls libfs/api, libfs/vfs, libfs/pcache, libfs/blk.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libfs/api/api_internal.h"
#include "libfs/aops/aops.h"
#include "libfs/pcache/pcache.h"
#include "libfs/study/world.h"

#include <fcntl.h>	/* last: with _GNU_SOURCE it defines LOCK_READ/LOCK_WRITE */

struct ew_base {
	uint8_t *data;			/* the poisoned image */
	uint64_t size;
};

/*
 * jbd2's side of the tasks: a handle is a read hold of "jbd2_handle" (taken
 * at the outermost level), and kjournald's commit takes it for write, so it
 * waits for every open handle and no handle opens while it runs.
 */
struct ew_journal {
	struct lock_rwsem handles;
	int depth[TASK_MAX];		/* per task: handles open */
	struct task *committer;		/* holds it for write: its handles are free */
};

/* ---- the base image ---- */

/* Room for the journal's minimum of 1024 blocks: mke2fs wants 2048 in all. */
static uint64_t image_bytes(const struct study *st, unsigned bs)
{
	uint64_t need = 2304ull * bs;

	return st->image_size > need ? st->image_size : need;
}

static int make_files(struct e4_fs *fs, const struct study_world *w)
{
	for (int i = 0; i < w->nfiles; i++) {
		const struct study_file *sf = &w->st->files[i];
		const struct w_file *f = &w->files[i];
		struct e4_file *ef;
		ssize_t n;
		int err;

		if (sf->inline_data)
			return -EOPNOTSUPP;
		err = e4_open(fs, sf->path, O_CREAT | O_RDWR, 0644, &ef);
		if (err)
			return err;
		if (sf->sparse) {
			err = e4_ftruncate(ef, sf->size);
		} else {
			n = e4_pwrite(ef, f->shadow, sf->size, 0);
			err = n < 0 ? (int)n : n != (ssize_t)sf->size ? -EIO : 0;
		}
		e4_close(ef);
		if (err)
			return err;
	}
	return e4_sync(fs);
}

/* Every block the file system does not use carries w_has_poison's stamp. */
static int poison_free_blocks(struct e4_fs *fs)
{
	ext2_filsys e2 = fs->dfs->fs;
	unsigned bs = fs->dfs->block_size;
	uint8_t *buf = malloc(bs);
	int err = 0;

	if (!buf)
		return -ENOMEM;
	for (blk64_t b = e2->super->s_first_data_block; b < ext2fs_blocks_count(e2->super) && !err;
	     b++) {
		if (ext2fs_test_block_bitmap2(e2->block_map, b))
			continue;
		for (unsigned i = 0; i < bs; i += 16) {
			char unit[17];

			snprintf(unit, sizeof(unit), "STALE%08x!!!", (unsigned)b);
			memcpy(buf + i, unit, 16);
		}
		err = blk_write(fs->dev, b * bs, buf, bs);
	}
	free(buf);
	return err;
}

static int slurp(const char *path, uint64_t size, uint8_t **out)
{
	uint8_t *data = malloc(size);
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (!data || fd < 0)
		err = data ? -errno : -ENOMEM;
	else if (pread(fd, data, size, 0) != (ssize_t)size)
		err = -EIO;
	if (fd >= 0)
		close(fd);
	if (err)
		free(data);
	else
		*out = data;
	return err;
}

static int build_image(struct study_world *w, const char *path, uint64_t size)
{
	struct e4_mkfs_opts mo;
	struct e4_fs *fs;
	int err, err2;

	e4_mkfs_opts_init(&mo);
	mo.size = size;
	mo.block_size = w->bs;
	mo.features = "^inline_data";
	mo.journal_blocks = 1024;
	err = e4_mkfs(path, &mo);
	if (err)
		return err;
	err = e4_mount(path, NULL, &fs);
	if (err)
		return err;
	err = make_files(fs, w);
	if (!err && w->st->poison)
		err = poison_free_blocks(fs);
	err2 = e4_unmount(fs);
	return err ? err : err2;
}

int ew_build(struct study_world *w)
{
	const char *tmp = getenv("TMPDIR");
	struct ew_base *b = calloc(1, sizeof(*b));
	char path[512];
	int fd, err;

	if (!b)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/e4lab-study.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd < 0) {
		free(b);
		return -errno;
	}
	close(fd);
	b->size = image_bytes(w->st, w->bs);
	err = build_image(w, path, b->size);
	if (!err)
		err = slurp(path, b->size, &b->data);
	unlink(path);
	if (err) {
		free(b);
		return err;
	}
	w->ebase = b;
	return 0;
}

void ew_free_base(struct study_world *w)
{
	if (!w->ebase)
		return;
	free(w->ebase->data);
	free(w->ebase);
	w->ebase = NULL;
}

/* ---- one schedule's mount ---- */

static int *handle_depth(struct ew_journal *ej)
{
	struct task *t = task_current();

	if (!t || t == ej->committer)
		return NULL;		/* setup and checks, or the commit itself */
	return &ej->depth[task_id(t)];
}

static void hook_handle_start(void *arg)
{
	struct ew_journal *ej = arg;
	int *depth = handle_depth(ej);

	if (depth && !(*depth)++)
		lock_down_read_at(&ej->handles, "jbd2_journal_start");
}

static void hook_handle_stop(void *arg)
{
	struct ew_journal *ej = arg;
	int *depth = handle_depth(ej);

	if (depth && !--(*depth))
		lock_up_read_at(&ej->handles, "jbd2_journal_stop");
}

static const struct disk_task_hooks ew_hooks = {
	.handle_start = hook_handle_start,
	.handle_stop = hook_handle_stop,
};

/* The base image under a fresh overlay; @now: what this overlay holds, if any. */
static int mount_copy(const struct ew_base *b, const struct blk_dev *now, struct e4_fs **fsp)
{
	struct blk_dev *lower, *top;
	struct e4_mount_opts o;
	int err = 0;

	lower = blk_mem_borrow(b->data, b->size, &err);
	if (!lower)
		return err;
	top = blk_overlay_create(lower, &err);
	if (!top) {
		blk_close(lower);
		return err;
	}
	if (now && (err = blk_overlay_copy(top, now))) {
		blk_close(top);
		return err;
	}
	e4_mount_opts_init(&o);
	o.pcache_bytes = 1u << 20;
	o.commit_interval_ms = ~0u;	/* commits only where the study says */
	return api_mount_dev(top, &o, fsp);
}

int ew_mount(struct study_world *w)
{
	int err = mount_copy(w->ebase, NULL, &w->efs);

	if (err)
		return err;
	w->ejournal = calloc(1, sizeof(*w->ejournal));
	if (!w->ejournal)
		return -ENOMEM;
	lock_rwsem_init(&w->ejournal->handles, "jbd2_handle");
	w->efs->dfs->task_hooks = &ew_hooks;
	w->efs->dfs->task_hooks_arg = w->ejournal;
	((struct pc_cache *)w->efs->dfs->pcache)->trace_notes = 1;
	for (int i = 0; i < w->nfiles; i++) {
		struct pc_mapping *m;

		err = e4_open(w->efs, w->files[i].path, O_RDWR, 0, &w->files[i].ef);
		if (!err)
			err = aops_mapping(w->files[i].ef->inode, &m);
		if (err)
			return err;
		snprintf(m->label, sizeof(m->label), "%s", w->files[i].path);
	}
	return 0;
}

/* After the mms are gone (they hold page references of their own). */
void ew_unmount(struct study_world *w)
{
	if (!w->efs)
		return;
	pc_forget_holders(w->efs->dfs->pcache);
	w->efs->dfs->task_hooks = NULL;
	for (int t = 0; t < TASK_MAX; t++)	/* an abandoned task's handles */
		for (; w->ejournal->depth[t] > 0; w->ejournal->depth[t]--)
			disk_handle_stop(w->efs->dfs);
	for (int i = 0; i < w->nfiles; i++) {
		e4_close(w->files[i].ef);
		w->files[i].ef = NULL;
	}
	e4_unmount(w->efs);
	w->efs = NULL;
	free(w->ejournal);
	w->ejournal = NULL;
}

/* ---- the steps ---- */

static const enum vfs_write_loop loop_of[WL_NR] = {
	[WL_PREPARE_COMMIT_2619] = VFS_WL_PREPARE_COMMIT_2619,
	[WL_NICK_2006] = VFS_WL_NICK_2006,
	[WL_GUP_PIN_2007] = VFS_WL_GUP_PIN_2007,
	[WL_ZERO_RETRY_2007] = VFS_WL_ZERO_RETRY_2007,
	[WL_TEMP_PAGE_2007] = VFS_WL_TEMP_PAGE_2007,
	[WL_IDEA42_2007] = VFS_WL_IDEA42_2007,
	[WL_READPAGE_FLAG_2007] = VFS_WL_READPAGE_FLAG_2007,
	[WL_WRITE_BEGIN_2624] = VFS_WL_WRITE_BEGIN_2624,
	[WL_TODAY] = VFS_WL_TODAY,
	[WL_GFS2_IOMAP] = VFS_WL_NR,
};

/* The study's short-copy switches and the engine's list the same values in one
 * order, so ew_policy converts them by value. */
_Static_assert(SC_COPIED_ZERO_GENERIC == (int)VFS_SC_COPIED_ZERO_GENERIC && SC_NR == (int)VFS_SC_NR,
	       "enum study_short_copy and enum vfs_short_copy differ");
_Static_assert(ZN_PAGE_ONLY == (int)VFS_ZN_PAGE_ONLY && ZN_NR == (int)VFS_ZN_NR,
	       "enum study_zero_new and enum vfs_zero_new differ");
_Static_assert(CR_BYTES == (int)VFS_CR_BYTES && CR_NR == (int)VFS_CR_NR,
	       "enum study_commit_range and enum vfs_commit_range differ");

/* -EOPNOTSUPP for what only the model has: the ext4 inline and gfs2 models, and
 * journal=none (the engine world's image always has its journal). */
int ew_policy(const struct study_policy *sp, struct vfs_policy *vp)
{
	if (sp->inl != SI_OFF || sp->nojournal || sp->write_loop >= WL_NR ||
	    loop_of[sp->write_loop] == VFS_WL_NR)
		return -EOPNOTSUPP;
	vp->write_loop = loop_of[sp->write_loop];
	vp->short_copy = (enum vfs_short_copy)sp->short_copy;
	vp->zero_new = (enum vfs_zero_new)sp->zero_new;
	vp->commit_range = (enum vfs_commit_range)sp->commit_range;
	return 0;
}

long ew_write(struct study_world *w, struct w_file *f, uint64_t pos, uint64_t len,
	      const struct w_src *src)
{
	struct iovec iov = { .iov_len = len };
	struct vfs_policy vp;
	ssize_t ret;

	if (ew_policy(&w->pol, &vp))
		return -EOPNOTSUPP;
	iov.iov_base = src->kbuf ? (void *)src->kbuf : (void *)(uintptr_t)src->addr;
	ret = vfs_perform_write_policy(f->ef->inode, &iov, 1, pos,
				       src->kbuf ? &study_kthread_uaccess : &study_mm_uaccess,
				       src->mm, &vp);
	f->size = disk_i_size(f->ef->inode);
	return ret;
}

ssize_t ew_read(struct w_file *f, uint64_t off, uint8_t *buf, uint64_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	return vfs_read_iter(f->ef->inode, &iov, 1, off);
}

const struct mm_file_ops *ew_file_ops(void)
{
	return &vfs_mm_file_ops;
}

void *ew_mapping_file(struct w_file *f)
{
	return f->ef->inode;
}

/* kjournald: wait for the open handles, write back ordered data, commit. */
int ew_commit(struct study_world *w)
{
	struct ew_journal *ej = w->ejournal;
	int err;

	lock_down_write_at(&ej->handles, "jbd2_journal_commit_transaction");
	ej->committer = task_current();
	err = disk_commit(w->efs->dfs);
	ej->committer = NULL;
	lock_up_write_at(&ej->handles, "jbd2_journal_commit_transaction");
	return err;
}

long ew_fsync(struct w_file *f)
{
	int err = vfs_writeback_inode(f->ef->inode);

	return err ? err : disk_commit(f->ef->fs->dfs);
}

long ew_truncate(struct w_file *f, uint64_t size)
{
	struct disk_fs *dfs = f->ef->fs->dfs;
	int err = disk_handle_start(dfs, 64);

	if (err)
		return err;
	err = vfs_truncate(f->ef->inode, size);
	disk_handle_stop(dfs);
	f->size = disk_i_size(f->ef->inode);
	return err;
}

/* The file as every reader sees it now (page cache over disk); its i_size in *size. */
int ew_contents(struct w_file *f, uint8_t *buf, uint64_t *size)
{
	ssize_t n;

	*size = disk_i_size(f->ef->inode);
	if (*size > W_MAX_PAGES * W_PAGE)
		return -EFBIG;
	n = ew_read(f, 0, buf, *size);
	if (n < 0)
		return (int)n;
	memset(buf + n, 0, *size - (uint64_t)n);
	return 0;
}

/*
 * The power fails now: what reached the device is mounted on its own (the
 * journal replays) and each file is read back into @bufs[i] (size in @sizes[i]).
 */
int ew_crash(struct study_world *w, uint8_t (*bufs)[W_MAX_PAGES * W_PAGE], uint64_t *sizes)
{
	struct e4_fs *fs = NULL;
	int err = mount_copy(w->ebase, w->efs->dev, &fs);

	for (int i = 0; !err && i < w->nfiles; i++) {
		struct e4_file *ef;
		struct e4_stat st;
		ssize_t n;

		err = e4_open(fs, w->files[i].path, O_RDONLY, 0, &ef);
		if (err)
			break;
		err = e4_fstat(ef, &st);
		sizes[i] = st.size < sizeof(bufs[i]) ? st.size : sizeof(bufs[i]);
		n = err ? 0 : e4_pread(ef, bufs[i], sizes[i], 0);
		if (!err && n != (ssize_t)sizes[i])
			err = n < 0 ? (int)n : -EIO;
		e4_close(ef);
	}
	if (fs)
		e4_unmount(fs);
	return err;
}
