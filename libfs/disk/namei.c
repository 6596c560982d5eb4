/*
 * libfs/disk, the namespace: path walk with symlinks, and the operations that
 * change names and link counts (create, mkdir, symlink, link, unlink, rmdir,
 * rename).  Calls dir.c, inode.c and libext2fs.  Invariant: i_links_count counts
 * the entries naming an inode, plus "." and every subdirectory's ".." for
 * directories (1 once past EXT2_LINK_MAX, with dir_nlink).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "libfs/disk/disk_internal.h"

/* ---- path walk ---- */

static int is_dot_name(const char *name, size_t len)
{
	return (len == 1 && name[0] == '.') ||
	       (len == 2 && name[0] == '.' && name[1] == '.');
}

/* Next component of *p: returns its length (0 at the end), advances *p. */
static size_t next_component(const char **p, const char **name)
{
	const char *s = *p;
	size_t len = 0;

	while (*s == '/')
		s++;
	*name = s;
	while (s[len] && s[len] != '/')
		len++;
	*p = s + len;
	return len;
}

static int only_slashes(const char *p)
{
	while (*p == '/')
		p++;
	return *p == 0;
}

static int read_target(struct disk_inode *inode, char **target)
{
	size_t size = disk_i_size(inode);
	ssize_t n;
	char *buf;

	if (size == 0 || size >= inode->dfs->block_size)
		return -EUCLEAN;
	buf = malloc(size + 1);
	if (!buf)
		return -ENOMEM;
	n = disk_readlink(inode, buf, size + 1);
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	buf[size] = 0;
	*target = buf;
	return 0;
}

struct walk {
	struct disk_fs *dfs;
	struct disk_inode *dir;		/* where we are, referenced */
	int links;			/* symlinks followed so far */
};

static int walk_root(struct walk *w)
{
	disk_iput(w->dir);
	w->dir = NULL;
	return disk_iget(w->dfs, EXT2_ROOT_INO, &w->dir);
}

static int walk_path(struct walk *w, const char *path, int follow_last,
		     struct disk_inode **last);

/* Replaces the symlink @link (found in w->dir) by what it points at. */
static int follow_link(struct walk *w, struct disk_inode *link,
		       struct disk_inode **out)
{
	char *target = NULL;
	int err;

	if (++w->links > DISK_MAX_SYMLINKS)
		return -ELOOP;
	err = read_target(link, &target);
	if (err)
		return err;
	if (target[0] == '/') {
		err = walk_root(w);
		if (err)
			goto out;
	}
	err = walk_path(w, target, 1, out);
out:
	free(target);
	return err;
}

/*
 * Walks @path from w->dir.  Intermediate symlinks are followed; the last
 * component only with @follow_last.  *last gets the final inode (referenced).
 */
static int walk_path(struct walk *w, const char *path, int follow_last,
		     struct disk_inode **last)
{
	struct disk_inode *inode = NULL, *next;
	const char *p = path, *name;
	size_t len;
	ext2_ino_t ino;
	int err;

	w->dir->i_count++;
	inode = w->dir;
	while ((len = next_component(&p, &name)) != 0) {
		if (!disk_is_dir(inode)) {
			err = -ENOTDIR;
			goto fail;
		}
		if (len > EXT2_NAME_LEN) {
			err = -ENAMETOOLONG;
			goto fail;
		}
		err = disk_lookup(inode, name, len, &ino, NULL);
		if (err)
			goto fail;
		err = disk_iget(w->dfs, ino, &next);
		if (err)
			goto fail;
		disk_iput(w->dir);
		w->dir = inode;		/* the directory holding @next */
		inode = next;
		if (LINUX_S_ISLNK(inode->raw.i_mode) &&
		    (follow_last || !only_slashes(p))) {
			err = follow_link(w, inode, &next);
			disk_iput(inode);
			inode = next;
			if (err) {
				inode = NULL;
				goto fail;
			}
		}
	}
	*last = inode;
	return 0;
fail:
	disk_iput(inode);
	*last = NULL;
	return err;
}

int disk_namei(struct disk_fs *dfs, const char *path, int follow,
	       struct disk_inode **out)
{
	struct walk w = { .dfs = dfs };
	int err;

	*out = NULL;
	if (!path || path[0] != '/')
		return -EINVAL;
	err = disk_iget(dfs, EXT2_ROOT_INO, &w.dir);
	if (err)
		return err;
	err = walk_path(&w, path, follow, out);
	disk_iput(w.dir);
	return err;
}

int disk_namei_parent(struct disk_fs *dfs, const char *path,
		      struct disk_inode **dirp, const char **name, size_t *len)
{
	const char *end, *start;
	char *dirpath;
	size_t n;
	int err;

	*dirp = NULL;
	if (!path || path[0] != '/')
		return -EINVAL;
	end = path + strlen(path);
	while (end > path && end[-1] == '/')
		end--;
	if (end == path)
		return -EEXIST;		/* "/" itself */
	start = end;
	while (start > path && start[-1] != '/')
		start--;
	n = end - start;
	if (n > EXT2_NAME_LEN)
		return -ENAMETOOLONG;
	dirpath = strndup(path, start - path);
	if (!dirpath)
		return -ENOMEM;
	err = disk_namei(dfs, dirpath, 1, dirp);
	free(dirpath);
	if (err)
		return err;
	if (!disk_is_dir(*dirp)) {
		disk_iput(*dirp);
		*dirp = NULL;
		return -ENOTDIR;
	}
	*name = start;
	*len = n;
	return 0;
}

/* ---- helpers ---- */

static int check_new_name(struct disk_inode *dir, const char *name, size_t len)
{
	ext2_ino_t ino;
	int err;

	if (dir->dfs->read_only)
		return -EROFS;
	if (len == 0)
		return -EINVAL;
	if (len > EXT2_NAME_LEN)
		return -ENAMETOOLONG;
	if (is_dot_name(name, len))
		return -EEXIST;
	if (dir->raw.i_links_count == 0)
		return -ENOENT;		/* removed directory */
	err = disk_lookup(dir, name, len, &ino, NULL);
	if (err == 0)
		return -EEXIST;
	return err == -ENOENT ? 0 : err;
}

/* mtime and ctime of a changed directory; written through at once, as every
 * inode this layer changes (a commit may come at any handle start). */
static void dir_changed(struct disk_inode *dir)
{
	disk_touch(dir);
	if (disk_inode_flush(dir))
		disk_report(dir->dfs, "directory inode %u: cannot write it", dir->ino);
}

/* libext2fs made the inode with second-granularity times: set ours. */
static void set_all_times(struct disk_inode *inode)
{
	struct timespec now;

	disk_now(&now);
	disk_set_time(inode, DISK_ATIME, &now);
	disk_set_time(inode, DISK_MTIME, &now);
	disk_set_time(inode, DISK_CTIME, &now);
	disk_set_time(inode, DISK_CRTIME, &now);
}

/* ---- create ---- */

int disk_create(struct disk_inode *dir, const char *name, size_t len, mode_t mode,
		uint64_t rdev, struct disk_inode **out)
{
	struct disk_inode *inode;
	int err;

	*out = NULL;
	if (LINUX_S_ISDIR(mode) || LINUX_S_ISLNK(mode))
		return -EINVAL;
	if (!(mode & S_IFMT))
		mode |= S_IFREG;
	err = check_new_name(dir, name, len);
	if (err)
		return err;
	err = disk_new_inode_rdev(dir->dfs, dir->ino, mode, rdev, &inode);
	if (err)
		return err;
	inode->raw.i_links_count = 1;
	inode->dirty = 1;
	err = disk_add_entry(dir, name, len, inode->ino, disk_mode_to_ftype(mode));
	if (err) {
		inode->raw.i_links_count = 0;
		disk_iput(inode);
		return err;
	}
	dir_changed(dir);
	*out = inode;
	return 0;
}

/* ---- mkdir ---- */

int disk_mkdir(struct disk_inode *dir, const char *name, size_t len, mode_t mode,
	       struct disk_inode **out)
{
	struct disk_fs *dfs = dir->dfs;
	struct disk_inode *inode = NULL;
	unsigned old_links;
	ext2_ino_t ino;
	errcode_t rc;
	int err;

	*out = NULL;
	err = check_new_name(dir, name, len);
	if (err)
		return err;
	rc = ext2fs_new_inode(dfs->fs, dir->ino, LINUX_S_IFDIR | 0755, NULL, &ino);
	if (rc)
		return disk_err(rc);
	err = disk_inode_flush(dir);
	if (err)
		return err;
	old_links = dir->raw.i_links_count;
	/* Makes the inode, its block (or inline data), and bumps the parent. */
	rc = ext2fs_mkdir(dfs->fs, dir->ino, ino, NULL);
	err = disk_inode_reload(dir);
	if (rc)
		return disk_err(rc);
	dir->raw.i_links_count = old_links;
	disk_inc_nlink_dir(dir);
	if (err)
		return err;
	err = disk_iget(dfs, ino, &inode);
	if (err)
		return err;
	inode->raw.i_mode = LINUX_S_IFDIR | (mode & 07777);
	set_all_times(inode);
	err = disk_add_entry(dir, name, len, ino, EXT2_FT_DIR);
	if (err) {
		inode->raw.i_links_count = 0;
		disk_iput(inode);
		disk_dec_nlink_dir(dir);
		return err;
	}
	dir_changed(dir);
	*out = inode;
	return 0;
}

/* ---- symlink ---- */

/* Fast below 60 bytes (target in i_block, no EXTENTS_FL), else one block, as
 * the kernel makes them (never inline). */
static int symlink_init(struct disk_inode *inode, const char *target, size_t tlen)
{
	struct disk_fs *dfs = inode->dfs;
	struct disk_map m = { .lblk = 0, .len = 1 };
	char *buf;
	errcode_t rc;
	int err;

	if (tlen < sizeof(inode->raw.i_block)) {
		inode->raw.i_flags &= ~EXT4_EXTENTS_FL;
		memset(inode->raw.i_block, 0, sizeof(inode->raw.i_block));
		memcpy(inode->raw.i_block, target, tlen);
		disk_set_i_size(inode, tlen);
		return 0;
	}
	err = disk_map_blocks(inode, &m, 1);
	if (err)
		return err;
	buf = calloc(1, dfs->block_size);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, target, tlen);
	rc = io_channel_write_blk64(dfs->fs->io, m.pblk, 1, buf);
	free(buf);
	if (rc)
		return disk_err(rc);
	disk_set_i_size(inode, tlen);
	return 0;
}

int disk_symlink(struct disk_inode *dir, const char *name, size_t len,
		 const char *target, struct disk_inode **out)
{
	struct disk_inode *inode = NULL;
	size_t tlen = strlen(target);
	int err;

	*out = NULL;
	if (tlen == 0)
		return -ENOENT;
	if (tlen >= dir->dfs->block_size)
		return -ENAMETOOLONG;
	err = check_new_name(dir, name, len);
	if (err)
		return err;
	err = disk_new_inode(dir->dfs, dir->ino, LINUX_S_IFLNK | 0777, &inode);
	if (err)
		return err;
	inode->raw.i_links_count = 1;
	inode->dirty = 1;
	err = symlink_init(inode, target, tlen);
	if (!err)
		err = disk_add_entry(dir, name, len, inode->ino, EXT2_FT_SYMLINK);
	if (err) {
		inode->raw.i_links_count = 0;
		disk_iput(inode);
		return err;
	}
	dir_changed(dir);
	*out = inode;
	return 0;
}

ssize_t disk_readlink(struct disk_inode *inode, char *buf, size_t size)
{
	struct disk_fs *dfs = inode->dfs;
	uint64_t len = disk_i_size(inode), pblk;
	char *data = NULL;
	size_t dlen = 0;
	errcode_t rc;
	ssize_t ret;
	int err;

	if (!LINUX_S_ISLNK(inode->raw.i_mode))
		return -EINVAL;
	if (len == 0 || len >= dfs->block_size) {
		disk_report(dfs, "symlink inode %u: bad length %llu", inode->ino,
			    (unsigned long long)len);
		return -EUCLEAN;
	}
	data = malloc(dfs->block_size > len + 1 ? dfs->block_size : len + 1);
	if (!data)
		return -ENOMEM;
	if (inode->raw.i_flags & EXT4_INLINE_DATA_FL) {
		err = disk_inode_flush(inode);
		rc = err ? 0 : ext2fs_inline_data_get(dfs->fs, inode->ino,
						      (struct ext2_inode *)&inode->raw,
						      data, &dlen);
		ret = err ? err : rc ? disk_err(rc) : 0;
		if (!ret && dlen < len)
			ret = -EUCLEAN;
	} else if (ext2fs_is_fast_symlink((struct ext2_inode *)&inode->raw)) {
		memcpy(data, inode->raw.i_block, len);
		ret = 0;
	} else {
		ret = disk_map_one(inode, 0, &pblk);
		if (!ret && !pblk)
			ret = -EUCLEAN;
		if (!ret) {
			rc = io_channel_read_blk64(dfs->fs->io, pblk, 1, data);
			ret = disk_err(rc);
		}
	}
	if (ret == 0) {
		memcpy(buf, data, len < size ? len : size);
		if (len < size)
			buf[len] = 0;
		ret = len;
	} else if (ret == -EUCLEAN) {
		disk_report(dfs, "symlink inode %u: cannot read its target", inode->ino);
	}
	free(data);
	return ret;
}

/* ---- link, unlink ---- */

int disk_link(struct disk_inode *dir, const char *name, size_t len,
	      struct disk_inode *inode)
{
	struct timespec now;
	int err;

	if (disk_is_dir(inode))
		return -EPERM;
	if (inode->raw.i_links_count >= EXT2_LINK_MAX)
		return -EMLINK;
	if (inode->raw.i_links_count == 0)
		return -ENOENT;
	err = check_new_name(dir, name, len);
	if (err)
		return err;
	err = disk_add_entry(dir, name, len, inode->ino,
			     disk_mode_to_ftype(inode->raw.i_mode));
	if (err)
		return err;
	inode->raw.i_links_count++;
	disk_now(&now);
	disk_set_time(inode, DISK_CTIME, &now);
	dir_changed(dir);
	return 0;
}

static int lookup_child(struct disk_inode *dir, const char *name, size_t len,
			struct disk_inode **out)
{
	ext2_ino_t ino;
	int err;

	*out = NULL;
	if (dir->dfs->read_only)
		return -EROFS;
	err = disk_lookup(dir, name, len, &ino, NULL);
	if (err)
		return err;
	return disk_iget(dir->dfs, ino, out);
}

static void drop_link(struct disk_inode *inode)
{
	struct timespec now;

	if (inode->raw.i_links_count > 0 && --inode->raw.i_links_count == 0)
		disk_orphan_add(inode);
	disk_now(&now);
	disk_set_time(inode, DISK_CTIME, &now);
	inode->dirty = 1;
}

int disk_unlink(struct disk_inode *dir, const char *name, size_t len)
{
	struct disk_inode *inode;
	int err;

	if (is_dot_name(name, len))
		return -EINVAL;
	err = lookup_child(dir, name, len, &inode);
	if (err)
		return err;
	if (disk_is_dir(inode)) {
		err = -EISDIR;
		goto out;
	}
	err = disk_remove_entry(dir, name, len);
	if (err)
		goto out;
	drop_link(inode);
	dir_changed(dir);
out:
	disk_iput(inode);
	return err;
}

static int dir_is_empty(struct disk_inode *dir)
{
	struct dcache *dc;
	int err;

	err = disk_dcache_get(dir, &dc);
	if (err)
		return err;
	return dc->count <= 2;
}

/* The directory @child (an entry of @dir) loses its names: "." and the entry. */
static void drop_dir(struct disk_inode *dir, struct disk_inode *child)
{
	struct timespec now;

	child->raw.i_links_count = 0;
	disk_orphan_add(child);
	disk_now(&now);
	disk_set_time(child, DISK_CTIME, &now);
	child->dirty = 1;
	disk_dec_nlink_dir(dir);
}

int disk_rmdir(struct disk_inode *dir, const char *name, size_t len)
{
	struct disk_inode *child;
	int err;

	if (len == 1 && name[0] == '.')
		return -EINVAL;
	if (len == 2 && name[0] == '.' && name[1] == '.')
		return -ENOTEMPTY;
	err = lookup_child(dir, name, len, &child);
	if (err)
		return err;
	if (!disk_is_dir(child)) {
		err = -ENOTDIR;
		goto out;
	}
	if (child->ino == EXT2_ROOT_INO) {
		err = -EBUSY;
		goto out;
	}
	err = dir_is_empty(child);
	if (err <= 0) {
		err = err ? err : -ENOTEMPTY;
		goto out;
	}
	err = disk_remove_entry(dir, name, len);
	if (err)
		goto out;
	drop_dir(dir, child);
	dir_changed(dir);
out:
	disk_iput(child);
	return err;
}

/* ---- rename ---- */

/* -EINVAL when @dir is @ancestor or lies below it. */
static int check_not_below(struct disk_inode *dir, ext2_ino_t ancestor)
{
	struct disk_inode *cur = dir, *up;
	ext2_ino_t ino;
	int err, depth = 0;

	cur->i_count++;
	for (;;) {
		if (cur->ino == ancestor) {
			err = -EINVAL;
			break;
		}
		if (cur->ino == EXT2_ROOT_INO) {
			err = 0;
			break;
		}
		if (++depth > 65536) {
			err = -EUCLEAN;
			break;
		}
		err = disk_lookup(cur, "..", 2, &ino, NULL);
		if (err == 0)
			err = disk_iget(cur->dfs, ino, &up);
		if (err)
			break;
		disk_iput(cur);
		cur = up;
	}
	disk_iput(cur);
	return err;
}

/* Checks the target of a replacing rename; *victim referenced or NULL. */
static int rename_target(struct disk_inode *ndir, const char *nname, size_t nlen,
			 struct disk_inode *src, struct disk_inode **victim)
{
	ext2_ino_t ino;
	int err;

	*victim = NULL;
	err = disk_lookup(ndir, nname, nlen, &ino, NULL);
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	err = disk_iget(ndir->dfs, ino, victim);
	if (err)
		return err;
	if (disk_is_dir(*victim)) {
		if (!disk_is_dir(src))
			return -EISDIR;
		err = dir_is_empty(*victim);
		if (err <= 0)
			return err ? err : -ENOTEMPTY;
	} else if (disk_is_dir(src)) {
		return -ENOTDIR;
	}
	return 0;
}

int disk_rename(struct disk_inode *odir, const char *oname, size_t olen,
		struct disk_inode *ndir, const char *nname, size_t nlen)
{
	struct disk_inode *src = NULL, *victim = NULL;
	struct timespec now;
	int err, is_dir;

	if (is_dot_name(oname, olen) || is_dot_name(nname, nlen))
		return -EINVAL;
	if (nlen > EXT2_NAME_LEN)
		return -ENAMETOOLONG;
	if (ndir->raw.i_links_count == 0)
		return -ENOENT;
	err = lookup_child(odir, oname, olen, &src);
	if (err)
		return err;
	is_dir = disk_is_dir(src);
	err = rename_target(ndir, nname, nlen, src, &victim);
	if (err)
		goto out;
	if (victim == src) {
		err = 0;		/* two names of one inode: nothing to do */
		goto out;
	}
	if (is_dir && odir != ndir) {
		err = check_not_below(ndir, src->ino);
		if (err)
			goto out;
	}
	if (victim) {
		err = disk_remove_entry(ndir, nname, nlen);
		if (err)
			goto out;
		if (disk_is_dir(victim))
			drop_dir(ndir, victim);
		else
			drop_link(victim);
	}
	err = disk_add_entry(ndir, nname, nlen, src->ino,
			     disk_mode_to_ftype(src->raw.i_mode));
	if (err)
		goto out;
	err = disk_remove_entry(odir, oname, olen);
	if (err)
		goto out;
	if (is_dir && odir != ndir) {
		err = disk_set_dotdot(src, ndir->ino);
		if (err)
			goto out;
		disk_dec_nlink_dir(odir);
		disk_inc_nlink_dir(ndir);
	}
	disk_now(&now);
	disk_set_time(src, DISK_CTIME, &now);
	dir_changed(odir);
	if (ndir != odir)
		dir_changed(ndir);
out:
	disk_iput(victim);
	disk_iput(src);
	return err;
}

/*
 * One side of an exchange: @inode, leaving @from for @to where it takes the
 * name of the other.  A directory moving to another parent (already checked
 * not to be above it) gets its ".." and the link counts of both parents follow.
 */
static int exchange_move(struct disk_inode *inode, struct disk_inode *from,
			 struct disk_inode *to)
{
	int err;

	if (from == to || !disk_is_dir(inode))
		return 0;
	err = disk_set_dotdot(inode, to->ino);
	if (err)
		return err;
	disk_dec_nlink_dir(from);
	disk_inc_nlink_dir(to);
	return 0;
}

int disk_rename_exchange(struct disk_inode *adir, const char *aname, size_t alen,
			 struct disk_inode *bdir, const char *bname, size_t blen)
{
	struct disk_inode *a = NULL, *b = NULL;
	struct timespec now;
	int err;

	if (is_dot_name(aname, alen) || is_dot_name(bname, blen))
		return -EINVAL;
	err = lookup_child(adir, aname, alen, &a);
	if (!err)
		err = lookup_child(bdir, bname, blen, &b);
	if (err || a == b)
		goto out;		/* two names of one inode: nothing to do */
	/* both checks before anything changes */
	if (disk_is_dir(a) && adir != bdir)
		err = check_not_below(bdir, a->ino);
	if (!err && disk_is_dir(b) && adir != bdir)
		err = check_not_below(adir, b->ino);
	if (err)
		goto out;
	/* The names stay where they are, so each add reuses the room its remove
	 * just freed (same name, same length). */
	err = disk_remove_entry(adir, aname, alen);
	if (!err)
		err = disk_remove_entry(bdir, bname, blen);
	if (!err)
		err = disk_add_entry(adir, aname, alen, b->ino, disk_mode_to_ftype(b->raw.i_mode));
	if (!err)
		err = disk_add_entry(bdir, bname, blen, a->ino, disk_mode_to_ftype(a->raw.i_mode));
	if (!err)
		err = exchange_move(a, adir, bdir);
	if (!err)
		err = exchange_move(b, bdir, adir);
	if (err)
		goto out;
	disk_now(&now);
	disk_set_time(a, DISK_CTIME, &now);
	disk_set_time(b, DISK_CTIME, &now);
	a->dirty = b->dirty = 1;
	dir_changed(adir);
	if (bdir != adir)
		dir_changed(bdir);
out:
	disk_iput(b);
	disk_iput(a);
	return err;
}
