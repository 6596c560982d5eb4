/*
 * libfs/disk, extended attributes by full name ("user.x"), through libext2fs's
 * xattr handles (in-inode area, EA block, POSIX ACL translation).  Calls
 * libext2fs only.  Invariant: "system.data" (inline data) is never visible or
 * writable here; the raw inode is written before and re-read after each change.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "libfs/disk/disk_internal.h"

#define XATTR_NAME_MAX_LEN 255
#define XATTR_VALUE_MAX (64 * 1024)

static const char *const known_prefixes[] = {
	"user.", "trusted.", "security.",
	"system.posix_acl_access", "system.posix_acl_default",
};

/* 0 for a name Linux would store on ext4, else -EOPNOTSUPP / -ERANGE. */
static int check_name(const char *name)
{
	size_t i, len = strlen(name), plen;

	if (len == 0 || len > XATTR_NAME_MAX_LEN)
		return -ERANGE;
	for (i = 0; i < sizeof(known_prefixes) / sizeof(known_prefixes[0]); i++) {
		plen = strlen(known_prefixes[i]);
		if (strncmp(name, known_prefixes[i], plen) != 0)
			continue;
		if (known_prefixes[i][plen - 1] == '.')
			return len > plen ? 0 : -EINVAL;
		return len == plen ? 0 : -EOPNOTSUPP;
	}
	return -EOPNOTSUPP;
}

static int hidden_name(const char *name)
{
	return strcmp(name, "system.data") == 0;
}

/* Opens and reads the inode's xattrs (after writing out our raw copy). */
static int xattrs_open(struct disk_inode *inode, struct ext2_xattr_handle **h)
{
	errcode_t rc;
	int err;

	err = disk_inode_flush(inode);
	if (err)
		return err;
	rc = ext2fs_xattrs_open(inode->dfs->fs, inode->ino, h);
	if (rc)
		return disk_err(rc);
	rc = ext2fs_xattrs_read(*h);
	if (rc) {
		ext2fs_xattrs_close(h);
		disk_report(inode->dfs, "inode %u: cannot read xattrs: %s", inode->ino,
			    error_message(rc));
		return disk_err(rc);
	}
	return 0;
}

ssize_t disk_getxattr(struct disk_inode *inode, const char *name, void *value,
		      size_t size)
{
	struct ext2_xattr_handle *h;
	void *buf = NULL;
	size_t len = 0;
	errcode_t rc;
	ssize_t ret;

	ret = check_name(name);
	if (ret)
		return ret;
	ret = xattrs_open(inode, &h);
	if (ret)
		return ret;
	rc = ext2fs_xattr_get(h, name, &buf, &len);
	ext2fs_xattrs_close(&h);
	if (rc)
		return rc == EXT2_ET_EA_KEY_NOT_FOUND ? -ENODATA : disk_err(rc);
	ret = len;
	if (size) {
		if (len > size)
			ret = -ERANGE;
		else
			memcpy(value, buf, len);
	}
	ext2fs_free_mem(&buf);
	return ret;
}

static int key_exists(struct ext2_xattr_handle *h, const char *name, int *exists)
{
	void *buf = NULL;
	size_t len;
	errcode_t rc;

	rc = ext2fs_xattr_get(h, name, &buf, &len);
	if (rc == EXT2_ET_EA_KEY_NOT_FOUND) {
		*exists = 0;
		return 0;
	}
	if (rc)
		return disk_err(rc);
	ext2fs_free_mem(&buf);
	*exists = 1;
	return 0;
}

static int xattr_change(struct disk_inode *inode, const char *name,
			const void *value, size_t size, int flags, int remove)
{
	struct ext2_xattr_handle *h;
	struct timespec now;
	int err, exists;
	errcode_t rc;

	if (inode->dfs->read_only)
		return -EROFS;
	err = xattrs_open(inode, &h);
	if (err)
		return err;
	err = key_exists(h, name, &exists);
	if (err)
		goto out;
	if ((flags & XATTR_CREATE) && exists) {
		err = -EEXIST;
		goto out;
	}
	if (((flags & XATTR_REPLACE) || remove) && !exists) {
		err = -ENODATA;
		goto out;
	}
	if (remove)
		rc = ext2fs_xattr_remove(h, name);
	else
		rc = ext2fs_xattr_set(h, name, value, size);
	err = disk_err(rc);
out:
	ext2fs_xattrs_close(&h);
	if (disk_inode_reload(inode) && !err)
		err = -EIO;
	if (!err) {
		disk_now(&now);
		disk_set_time(inode, DISK_CTIME, &now);
	}
	return err;
}

int disk_setxattr(struct disk_inode *inode, const char *name, const void *value,
		  size_t size, int flags)
{
	int err = check_name(name);

	if (err)
		return err;
	if (size > XATTR_VALUE_MAX)
		return -E2BIG;
	return xattr_change(inode, name, value ? value : "", size, flags, 0);
}

int disk_removexattr(struct disk_inode *inode, const char *name)
{
	int err = check_name(name);

	if (err)
		return err;
	return xattr_change(inode, name, NULL, 0, 0, 1);
}

struct list_ctx {
	char *list;
	size_t size, used;
};

static int list_one(char *name, char *value, size_t value_len, void *data)
{
	struct list_ctx *ctx = data;
	size_t n = strlen(name) + 1;

	if (hidden_name(name))
		return 0;
	if (ctx->size && ctx->used + n <= ctx->size)
		memcpy(ctx->list + ctx->used, name, n);
	ctx->used += n;
	return 0;
}

ssize_t disk_listxattr(struct disk_inode *inode, char *list, size_t size)
{
	struct list_ctx ctx = { .list = list, .size = size };
	struct ext2_xattr_handle *h;
	errcode_t rc;
	int err;

	err = xattrs_open(inode, &h);
	if (err)
		return err;
	rc = ext2fs_xattrs_iterate(h, list_one, &ctx);
	ext2fs_xattrs_close(&h);
	if (rc)
		return disk_err(rc);
	if (size && ctx.used > size)
		return -ERANGE;
	return ctx.used;
}
