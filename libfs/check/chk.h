/*
 * libfs/check - `e4lab fsck`: a read-only consistency checker with e2fsck's
 * passes plus inline-data and journal-replay checks.  Never writes the image.
 * Calls libfs/blk (the device, a memory overlay for an in-memory journal
 * replay) and libext2fs (superblock parsing, checksums, bitmaps).
 */
#ifndef E4_CHK_H
#define E4_CHK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum chk_verdict {
	CHK_CLEAN = 0,
	CHK_NEEDS_RECOVERY = 1,
	CHK_CORRUPT = 2,
};

/* How a finding weighs on the verdict. */
enum chk_severity {
	CHK_INFO = 0,		/* reported, verdict unchanged */
	CHK_RECOVERY = 1,	/* journal to replay or orphans to process */
	CHK_ERROR = 2,		/* corruption e2fsck would fix */
};

enum chk_where {
	CHK_AT_FS = 0,		/* the whole file system */
	CHK_AT_INODE = 1,
	CHK_AT_BLOCK = 2,
	CHK_AT_GROUP = 3,
};

struct chk_finding {
	const char *code;	/* stable: "BITMAP_BLOCK_DIFF", "EXTENT_BAD_MAGIC" ... */
	enum chk_severity severity;
	enum chk_where where;
	uint64_t num;		/* inode, block or group number */
	char *message;		/* owned */
};

struct chk_report {
	struct chk_finding *findings;
	size_t count, cap;
	size_t dropped;		/* findings past CHK_MAX_FINDINGS, counted only */
	enum chk_verdict verdict;
	int op_error;		/* negative errno: the image could not be read */
};

#define CHK_MAX_FINDINGS 5000
#define CHK_PROGRESS_INODES 65536

struct chk_opts {
	int verbose;		/* per-pass progress lines on @log */
	int progress;		/* 1: a progress bar on stderr for large images
				 * (CHK_PROGRESS_INODES inodes or more), 2: always */
	FILE *log;		/* NULL: stderr */
};

/*
 * Checks the image at @path (plain or .gz).  Fills @rep (free it with
 * chk_report_free).  Returns 0 when the check ran (the verdict is in @rep),
 * or a negative errno when the image could not be opened or read at all.
 */
int chk_image(const char *path, const struct chk_opts *opts, struct chk_report *rep);
void chk_report_free(struct chk_report *rep);

const char *chk_verdict_name(enum chk_verdict v);
/* e2fsck-compatible exit status for a report: 0, 4 or 8. */
int chk_exit_status(const struct chk_report *rep);
void chk_print_text(FILE *out, const struct chk_report *rep);
void chk_print_json(FILE *out, const struct chk_report *rep);

#endif /* E4_CHK_H */
