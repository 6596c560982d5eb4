/*
 * libfs/blk/blk.c - the block-device core and its plain backends: file, mem,
 * overlay.  Bottom layer: calls only libc and zlib.  Invariant: no backend ever
 * reads or writes outside [0, dev->size); a read-only device refuses writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "libfs/blk/blk.h"

static struct blk_dev *blk_alloc(const struct blk_ops *ops, uint64_t size, void *private)
{
	struct blk_dev *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	dev->ops = ops;
	dev->size = size;
	dev->block_size = 4096;
	dev->private = private;
	return dev;
}

static int blk_check_range(struct blk_dev *dev, uint64_t off, size_t len)
{
	if (off > dev->size || len > dev->size - off)
		return -EIO;
	return 0;
}

int blk_write(struct blk_dev *dev, uint64_t off, const void *buf, size_t len)
{
	if (dev->read_only)
		return -EROFS;
	return dev->ops->write(dev, off, buf, len);
}

int blk_flush(struct blk_dev *dev)
{
	if (dev->read_only)
		return 0;
	return dev->ops->flush(dev);
}

void blk_close(struct blk_dev *dev)
{
	while (dev) {
		struct blk_dev *lower = dev->lower;

		if (dev->ops->destroy)
			dev->ops->destroy(dev);
		free(dev);
		dev = lower;
	}
}

/* ---- file backend ---- */

struct blk_file {
	int fd;
};

static int file_read(struct blk_dev *dev, uint64_t off, void *buf, size_t len)
{
	struct blk_file *f = dev->private;
	char *p = buf;
	int ret = blk_check_range(dev, off, len);

	if (ret)
		return ret;
	while (len) {
		ssize_t n = pread(f->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {		/* past EOF of a short file: zeros */
			memset(p, 0, len);
			break;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	dev->stats.reads++;
	dev->stats.bytes_read += (uint64_t)(p - (char *)buf);
	return 0;
}

static int file_write(struct blk_dev *dev, uint64_t off, const void *buf, size_t len)
{
	struct blk_file *f = dev->private;
	const char *p = buf;
	int ret = blk_check_range(dev, off, len);

	if (ret)
		return ret;
	dev->stats.writes++;
	dev->stats.bytes_written += len;
	while (len) {
		ssize_t n = pwrite(f->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int file_flush(struct blk_dev *dev)
{
	struct blk_file *f = dev->private;

	dev->stats.flushes++;
	if (fdatasync(f->fd) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

static void file_destroy(struct blk_dev *dev)
{
	struct blk_file *f = dev->private;

	close(f->fd);
	free(f);
}

static const struct blk_ops file_ops = {
	.name = "file",
	.read = file_read,
	.write = file_write,
	.flush = file_flush,
	.destroy = file_destroy,
};

struct blk_dev *blk_file_open(const char *path, int read_only, int *err)
{
	struct blk_file *f;
	struct blk_dev *dev;
	struct stat st;
	int fd;

	fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		*err = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out_close;
	}
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(fd, 0, SEEK_END);

		st.st_size = end < 0 ? 0 : end;
	}
	f = malloc(sizeof(*f));
	if (!f) {
		*err = -ENOMEM;
		goto out_close;
	}
	f->fd = fd;
	dev = blk_alloc(&file_ops, (uint64_t)st.st_size, f);
	if (!dev) {
		free(f);
		*err = -ENOMEM;
		goto out_close;
	}
	dev->read_only = read_only;
	return dev;

out_close:
	close(fd);
	return NULL;
}

/* ---- mem backend: the whole image in one buffer ---- */

struct blk_mem {
	unsigned char *data;
};

static int mem_read(struct blk_dev *dev, uint64_t off, void *buf, size_t len)
{
	struct blk_mem *m = dev->private;
	int ret = blk_check_range(dev, off, len);

	if (ret)
		return ret;
	memcpy(buf, m->data + off, len);
	dev->stats.reads++;
	dev->stats.bytes_read += len;
	return 0;
}

static int mem_write(struct blk_dev *dev, uint64_t off, const void *buf, size_t len)
{
	struct blk_mem *m = dev->private;
	int ret = blk_check_range(dev, off, len);

	if (ret)
		return ret;
	memcpy(m->data + off, buf, len);
	dev->stats.writes++;
	dev->stats.bytes_written += len;
	return 0;
}

static int mem_flush(struct blk_dev *dev)
{
	dev->stats.flushes++;
	return 0;
}

static void mem_destroy(struct blk_dev *dev)
{
	struct blk_mem *m = dev->private;

	free(m->data);
	free(m);
}

static const struct blk_ops mem_ops = {
	.name = "mem",
	.read = mem_read,
	.write = mem_write,
	.flush = mem_flush,
	.destroy = mem_destroy,
};

static struct blk_dev *blk_mem_adopt(unsigned char *data, uint64_t size, int *err)
{
	struct blk_mem *m = malloc(sizeof(*m));
	struct blk_dev *dev;

	if (!m)
		goto nomem;
	m->data = data;
	dev = blk_alloc(&mem_ops, size, m);
	if (!dev) {
		free(m);
		goto nomem;
	}
	return dev;
nomem:
	free(data);
	*err = -ENOMEM;
	return NULL;
}

struct blk_dev *blk_mem_create(uint64_t size, int *err)
{
	unsigned char *data = size == (size_t)size ? calloc(1, size ? size : 1) : NULL;

	if (!data) {
		*err = -ENOMEM;
		return NULL;
	}
	return blk_mem_adopt(data, size, err);
}

/* A read-only window on memory the caller keeps: its bytes are not freed. */
static void borrow_destroy(struct blk_dev *dev)
{
	free(dev->private);
}

static const struct blk_ops borrow_ops = {
	.name = "borrow",
	.read = mem_read,
	.write = mem_write,
	.flush = mem_flush,
	.destroy = borrow_destroy,
};

struct blk_dev *blk_mem_borrow(const void *data, uint64_t size, int *err)
{
	struct blk_mem *m = malloc(sizeof(*m));
	struct blk_dev *dev = m ? blk_alloc(&borrow_ops, size, m) : NULL;

	if (!dev) {
		free(m);
		*err = -ENOMEM;
		return NULL;
	}
	m->data = (unsigned char *)data;
	dev->read_only = 1;
	return dev;
}

/* Inflates a gzip file (or copies a plain one) into one growing buffer. */
static int gz_slurp(const char *path, unsigned char **out, uint64_t *out_size)
{
	size_t cap = 1 << 20, used = 0;
	unsigned char *buf = malloc(cap);
	gzFile gz;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	gz = gzopen(path, "rb");
	if (!gz) {
		free(buf);
		return errno ? -errno : -ENOMEM;
	}
	gzbuffer(gz, 1 << 17);
	for (;;) {
		int n;

		if (cap - used < (1 << 20)) {
			unsigned char *bigger = realloc(buf, cap * 2);

			if (!bigger) {
				ret = -ENOMEM;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		n = gzread(gz, buf + used, (unsigned)(cap - used));
		if (n < 0) {
			int zerr;

			gzerror(gz, &zerr);
			ret = zerr == Z_ERRNO ? -errno : -EIO;
			break;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	gzclose(gz);
	if (ret) {
		free(buf);
		return ret;
	}
	*out = buf;
	*out_size = used;
	return 0;
}

struct blk_dev *blk_mem_load(const char *path, int *err)
{
	unsigned char *data;
	struct blk_dev *dev;
	uint64_t size;
	int ret = gz_slurp(path, &data, &size);

	if (ret) {
		*err = ret;
		return NULL;
	}
	dev = blk_mem_adopt(data, size, err);
	if (dev)
		dev->read_only = 1;
	return dev;
}

static int is_gzip(const char *path)
{
	unsigned char magic[2];
	size_t len = strlen(path);
	int fd, gz = 0;

	if (len > 3 && strcmp(path + len - 3, ".gz") == 0)
		return 1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (read(fd, magic, 2) == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
		gz = 1;
	close(fd);
	return gz;
}

struct blk_dev *blk_open_image(const char *path, int read_only, int *err)
{
	if (is_gzip(path)) {
		if (!read_only) {
			*err = -EROFS;
			return NULL;
		}
		return blk_mem_load(path, err);
	}
	return blk_file_open(path, read_only, err);
}

/* ---- overlay: copy-on-write over a lower device, in 4 KiB chunks ---- */

#define OVL_CHUNK 4096u

struct ovl_chunk {
	uint64_t index;
	struct ovl_chunk *next;
	unsigned char data[OVL_CHUNK];
};

struct blk_overlay {
	struct ovl_chunk **hash;
	size_t nbuckets, nchunks;
};

static struct ovl_chunk **ovl_slot(struct blk_overlay *o, uint64_t index)
{
	struct ovl_chunk **pp = &o->hash[(index * 0x9E3779B97F4A7C15ull) % o->nbuckets];

	while (*pp && (*pp)->index != index)
		pp = &(*pp)->next;
	return pp;
}

static int ovl_grow(struct blk_overlay *o)
{
	size_t n = o->nbuckets * 2, i;
	struct ovl_chunk **hash = calloc(n, sizeof(*hash));

	if (!hash)
		return -ENOMEM;
	for (i = 0; i < o->nbuckets; i++) {
		struct ovl_chunk *c = o->hash[i], *next;

		for (; c; c = next) {
			struct ovl_chunk **pp = &hash[(c->index * 0x9E3779B97F4A7C15ull) % n];

			next = c->next;
			c->next = *pp;
			*pp = c;
		}
	}
	free(o->hash);
	o->hash = hash;
	o->nbuckets = n;
	return 0;
}

static int ovl_read(struct blk_dev *dev, uint64_t off, void *buf, size_t len)
{
	struct blk_overlay *o = dev->private;
	unsigned char *p = buf;
	int ret = blk_check_range(dev, off, len);

	while (!ret && len) {
		uint64_t index = off / OVL_CHUNK;
		size_t in = off % OVL_CHUNK, n = OVL_CHUNK - in;
		struct ovl_chunk *c;

		if (n > len)
			n = len;
		c = *ovl_slot(o, index);
		if (c)
			memcpy(p, c->data + in, n);
		else
			ret = blk_read(dev->lower, off, p, n);
		p += n;
		off += n;
		len -= n;
	}
	return ret;
}

static int ovl_write(struct blk_dev *dev, uint64_t off, const void *buf, size_t len)
{
	struct blk_overlay *o = dev->private;
	const unsigned char *p = buf;
	int ret = blk_check_range(dev, off, len);

	while (!ret && len) {
		uint64_t index = off / OVL_CHUNK;
		size_t in = off % OVL_CHUNK, n = OVL_CHUNK - in;
		struct ovl_chunk **pp = ovl_slot(o, index), *c = *pp;

		if (n > len)
			n = len;
		if (!c) {
			uint64_t base = index * OVL_CHUNK;
			size_t have = dev->size - base < OVL_CHUNK ? dev->size - base : OVL_CHUNK;

			c = calloc(1, sizeof(*c));
			if (!c)
				return -ENOMEM;
			c->index = index;
			ret = blk_read(dev->lower, base, c->data, have);
			if (ret) {
				free(c);
				return ret;
			}
			*pp = c;
			if (++o->nchunks > o->nbuckets * 2)
				ret = ovl_grow(o);
		}
		memcpy(c->data + in, p, n);
		p += n;
		off += n;
		len -= n;
	}
	return ret;
}

static int ovl_flush(struct blk_dev *dev)
{
	return 0;
}

static void ovl_destroy(struct blk_dev *dev)
{
	struct blk_overlay *o = dev->private;
	size_t i;

	for (i = 0; i < o->nbuckets; i++) {
		struct ovl_chunk *c = o->hash[i], *next;

		for (; c; c = next) {
			next = c->next;
			free(c);
		}
	}
	free(o->hash);
	free(o);
}

static const struct blk_ops overlay_ops = {
	.name = "overlay",
	.read = ovl_read,
	.write = ovl_write,
	.flush = ovl_flush,
	.destroy = ovl_destroy,
};

int blk_overlay_copy(struct blk_dev *dst, const struct blk_dev *src)
{
	const struct blk_overlay *o = src->private;
	int ret = 0;

	if (src->ops != &overlay_ops || dst->size != src->size)
		return -EINVAL;
	for (size_t i = 0; i < o->nbuckets && !ret; i++)
		for (const struct ovl_chunk *c = o->hash[i]; c && !ret; c = c->next) {
			uint64_t off = c->index * OVL_CHUNK;
			size_t n = src->size - off < OVL_CHUNK ? (size_t)(src->size - off) : OVL_CHUNK;

			ret = blk_write(dst, off, c->data, n);
		}
	return ret;
}

struct blk_dev *blk_overlay_create(struct blk_dev *lower, int *err)
{
	struct blk_overlay *o = calloc(1, sizeof(*o));
	struct blk_dev *dev;

	if (!o)
		goto nomem;
	o->nbuckets = 1024;
	o->hash = calloc(o->nbuckets, sizeof(*o->hash));
	if (!o->hash)
		goto nomem;
	dev = blk_alloc(&overlay_ops, lower->size, o);
	if (!dev)
		goto nomem;
	dev->lower = lower;
	dev->block_size = lower->block_size;
	return dev;
nomem:
	if (o)
		free(o->hash);
	free(o);
	*err = -ENOMEM;
	return NULL;
}
