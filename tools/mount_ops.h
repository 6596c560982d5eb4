/*
 * tools/mount_ops.h - the FUSE operations of `e4lab mount`: libfuse3's high-level
 * (path) API mapped onto e4lab.h.  One request at a time: the engine is not
 * thread-safe, so the server runs fuse_loop(), never the multi-threaded loop.
 */
#ifndef E4_TOOLS_MOUNT_OPS_H
#define E4_TOOLS_MOUNT_OPS_H

#define FUSE_USE_VERSION 35
#include <fuse.h>

#include "e4lab.h"

/*
 * What the operations share; handed to fuse_new() as its user data.  @fs is
 * owned by the server until the destroy callback unmounts it (then it is NULL
 * and @unmount_err holds e4_unmount's result).
 */
struct mount_server {
	struct e4_fs *fs;
	unsigned block_size;
	/* The image file, read-only, for replies spliced from it (op_read_buf);
	 * -1: every read goes through e4_pread.  Not owned. */
	int image_fd;
	/* The largest read request (conn->max_read, also passed as max_read=),
	 * 0 for libfuse's default. */
	unsigned max_read;
	int unmount_err;
	/* Written to once the kernel has processed INIT (which caps the mount's
	 * readahead at what it offered): sysfs file and value, or "" for none. */
	char ra_path[64];
	char ra_kib[24];
};

/* Pieces of the image file one read reply may have (more: read through the
 * engine).  A spliced reply must fit the pipe libfuse splices through: the
 * data, the header, and a page per piece as libfuse reckons it. */
#define MOUNT_READ_RUNS_MAX	8

/* The operations table (constant; all state lives in struct mount_server). */
const struct fuse_operations *mount_ops(void);

/* Unmounts the engine if the destroy callback has not; returns e4_unmount's
 * result (0 when it already ran without error). */
int mount_server_finish(struct mount_server *srv);

#endif /* E4_TOOLS_MOUNT_OPS_H */
