/*
 * journal/recover.c - recovery as the kernel's jbd2 does it: pass SCAN finds the
 * end of the log (sequence numbers, commit checksums, stale blocks), pass
 * REVOKE collects revoke records, pass REPLAY writes every unrevoked logged
 * block home.  Calls journal/log.c and libfs/blk.  Invariant: nothing read from
 * the log is trusted before it is bounds- or checksum-checked; corrupt input
 * stops the scan with a message, never a crash.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal/jbd_internal.h"

enum pass { PASS_SCAN, PASS_REVOKE, PASS_REPLAY };

static const char *const pass_names[] = { "scan", "revoke", "replay" };

struct scan {
	struct jbd_log *s_log;
	struct jbd_recovery *s_info;
	struct jbd_revtab s_revoked;	/* block -> newest revoking tid */
	enum pass s_pass;
	FILE *s_out;			/* the log printer (SCAN pass only) */
	int s_dry;
	uint8_t *s_buf, *s_data;
	uint32_t s_tid;			/* the transaction expected next */
	uint32_t s_blk;			/* the next log block to read */
	uint32_t s_cur;			/* the block just read */
	uint32_t s_head;		/* after the last good commit */
	uint32_t s_crc;			/* v1 checksum of the transaction so far */
	int s_need_check_time;		/* a bad descriptor/revoke checksum was seen */
	uint64_t s_last_time;
	int s_end_set, s_head_set;
	int s_result;			/* error to report when the pass ends */
};

/* Records where and why the scan stopped (first reason wins). */
static void scan_stop(struct scan *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void scan_stop(struct scan *s, const char *fmt, ...)
{
	va_list ap;

	if (s->s_pass != PASS_SCAN || s->s_info->stop[0])
		return;
	va_start(ap, fmt);
	vsnprintf(s->s_info->stop, sizeof(s->s_info->stop), fmt, ap);
	va_end(ap);
	if (s->s_out)
		fprintf(s->s_out, "end of log at block %u: %s\n", s->s_cur, s->s_info->stop);
}

static int scan_error(struct scan *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int scan_error(struct scan *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (!s->s_info->stop[0])
		vsnprintf(s->s_info->stop, sizeof(s->s_info->stop), fmt, ap);
	va_end(ap);
	fprintf(s->s_log->l_msg, "journal: %s (pass %s)\n", s->s_info->stop,
		pass_names[s->s_pass]);
	return err;
}

static const char *ok_str(int ok)
{
	return ok ? "ok" : "BAD";
}

/* ---- descriptor blocks ---- */

static int revoked(const struct scan *s, uint64_t blk)
{
	uint32_t rtid;

	return jbd_revtab_get(&s->s_revoked, blk, &rtid) && !jbd_tid_gt(s->s_tid, rtid);
}

static int replay_one(struct scan *s, const struct jbd_tag *tag, uint32_t lblk)
{
	struct jbd_log *log = s->s_log;
	int ret;

	if (revoked(s, tag->tg_blk)) {
		s->s_info->revoke_hits++;
		return 0;
	}
	if (!jbd_tag_csum_ok(log, tag, s->s_tid, s->s_data)) {
		fprintf(log->l_msg, "journal: bad checksum of fs block %llu in log block %u "
			"(transaction %u): not replayed\n",
			(unsigned long long)tag->tg_blk, lblk, s->s_tid);
		s->s_result = -EUCLEAN;
		return 0;
	}
	if (tag->tg_blk >= log->l_fs_blocks) {
		fprintf(log->l_msg, "journal: log block %u targets block %llu beyond the file "
			"system: not replayed\n", lblk, (unsigned long long)tag->tg_blk);
		s->s_result = -EUCLEAN;
		return 0;
	}
	if (tag->tg_flags & JBD_FLAG_ESCAPE)
		jbd_put32(s->s_data, 0, JBD_MAGIC);
	s->s_info->replayed++;
	if (s->s_dry)
		return 0;
	ret = blk_write(log->l_dev, tag->tg_blk * log->l_bsize, s->s_data, log->l_bsize);
	if (ret) {
		fprintf(log->l_msg, "journal: writing fs block %llu: %s\n",
			(unsigned long long)tag->tg_blk, strerror(-ret));
		s->s_result = ret;
	}
	return 0;
}

static void print_tag(struct scan *s, const struct jbd_tag *tag, uint32_t lblk, int nr)
{
	struct jbd_log *log = s->s_log;
	int csum = -1;

	if (jbd_has_csum(log) && !jbd_log_read(log, lblk, s->s_data))
		csum = jbd_tag_csum_ok(log, tag, s->s_tid, s->s_data);
	fprintf(s->s_out, "  tag %d: fs block %llu in log block %u%s%s%s%s\n", nr,
		(unsigned long long)tag->tg_blk, lblk,
		tag->tg_flags & JBD_FLAG_ESCAPE ? ", escaped" : "",
		tag->tg_flags & JBD_FLAG_LAST_TAG ? ", last" : "",
		csum < 0 ? "" : ", checksum ", csum < 0 ? "" : ok_str(csum));
}

/* Walks the tags of the descriptor in s_buf: prints, checksums (v1) or
 * replays the blocks they describe, advancing s_blk past them. */
static int walk_tags(struct scan *s, int v1_sum)
{
	struct jbd_log *log = s->s_log;
	unsigned off = JBD_HDR_SIZE;
	struct jbd_tag tag;
	int nr = 0, ret = 0;

	if (v1_sum)
		s->s_crc = ext2fs_crc32_be(s->s_crc, s->s_buf, log->l_bsize);
	while (jbd_tag_next(log, s->s_buf, &off, &tag)) {
		uint32_t lblk = s->s_blk;

		s->s_blk = jbd_log_wrap(log, s->s_blk + 1);
		if (s->s_out)
			print_tag(s, &tag, lblk, nr);
		if (v1_sum || s->s_pass == PASS_REPLAY) {
			ret = jbd_log_read(log, lblk, s->s_data);
			if (ret) {
				fprintf(log->l_msg, "journal: cannot read log block %u\n", lblk);
				if (v1_sum)
					return 0;
				s->s_result = ret;
			} else if (v1_sum) {
				s->s_crc = ext2fs_crc32_be(s->s_crc, s->s_data, log->l_bsize);
			} else {
				replay_one(s, &tag, lblk);
			}
		}
		nr++;
		if (tag.tg_flags & JBD_FLAG_LAST_TAG)
			break;
	}
	return 0;
}

static int on_descriptor(struct scan *s)
{
	struct jbd_log *log = s->s_log;
	int ok = jbd_tail_csum_ok(log, s->s_buf);

	if (s->s_out)
		fprintf(s->s_out, "block %u: descriptor, transaction %u%s%s\n", s->s_cur,
			s->s_tid, jbd_has_csum(log) ? ", checksum " : "",
			jbd_has_csum(log) ? ok_str(ok) : "");
	if (!ok) {
		if (s->s_pass != PASS_SCAN)
			return scan_error(s, -EUCLEAN, "bad checksum of descriptor block %u "
					  "(transaction %u)", s->s_cur, s->s_tid);
		s->s_need_check_time = 1;
	}
	return walk_tags(s, s->s_pass == PASS_SCAN && (log->l_compat & JBD_COMPAT_CHECKSUM) &&
			 !s->s_end_set);
}

/* ---- commit blocks ---- */

/* The v1 (compat) checksum of the whole transaction: 1 ok, 0 bad. */
static int commit_v1_ok(struct scan *s)
{
	const uint8_t *b = s->s_buf;
	uint32_t found = jbd_get32(b, JBD_COMMIT_CSUM);
	int ok = (s->s_crc == found && b[JBD_COMMIT_CSUM_TYPE] == JBD_CSUM_TYPE_CRC32 &&
		  b[JBD_COMMIT_CSUM_SIZE] == 4) ||
		 (!b[JBD_COMMIT_CSUM_TYPE] && !b[JBD_COMMIT_CSUM_SIZE] && !found);

	s->s_crc = ~0u;
	return ok;
}

static void print_commit(struct scan *s, uint64_t sec, const char *csum)
{
	char when[64] = "";
	time_t t = (time_t)sec;
	struct tm tm;

	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(s->s_out, "block %u: commit, transaction %u, %s%s%s\n", s->s_cur, s->s_tid,
		when, csum[0] ? ", checksum " : "", csum);
}

/* Returns 1 when the log ends here, 0 to go on, or a negative errno. */
static int on_commit(struct scan *s)
{
	struct jbd_log *log = s->s_log;
	uint64_t sec = jbd_get64(s->s_buf, JBD_COMMIT_SEC);
	int ok;

	if (s->s_pass != PASS_SCAN) {
		s->s_tid++;
		return 0;
	}
	if (s->s_need_check_time) {
		if (sec >= s->s_last_time)
			return scan_error(s, -EUCLEAN, "invalid checksum in transaction %u "
					  "(a descriptor or revoke block before block %u)",
					  s->s_tid, s->s_cur);
		scan_stop(s, "transaction %u is older than the one before: stale blocks "
			  "with a bad checksum, ignored", s->s_tid);
		return 1;
	}
	if (log->l_compat & JBD_COMPAT_CHECKSUM) {
		if (s->s_end_set) {
			/* As the kernel: a later v1 commit after an async failure ends it. */
			s->s_info->failed = 1;
			s->s_info->failed_tid = s->s_info->end_tid;
			return 0;
		}
		ok = commit_v1_ok(s);
		if (s->s_out)
			print_commit(s, sec, ok ? "ok (v1)" : "BAD (v1)");
	} else {
		ok = jbd_commit_csum_ok(log, s->s_buf);
		if (!ok && jbd_commit_csum_partial_ok(log, s->s_buf)) {
			fprintf(log->l_msg, "journal: incomplete commit block in transaction %u "
				"(log block %u), accepted\n", s->s_tid, s->s_cur);
			ok = 1;
		}
		if (s->s_out)
			print_commit(s, sec, jbd_has_csum(log) ? ok_str(ok) : "");
	}
	if (!ok) {
		if (sec < s->s_last_time) {
			scan_stop(s, "commit of transaction %u has a bad checksum and is older "
				  "than the one before: stale, ignored", s->s_tid);
			return 1;
		}
		s->s_info->end_tid = s->s_tid;
		s->s_end_set = 1;
		s->s_info->head_block = s->s_head;
		s->s_head_set = 1;
		if (!(log->l_incompat & JBD_INCOMPAT_ASYNC)) {
			s->s_info->failed = 1;
			s->s_info->failed_tid = s->s_tid;
			scan_stop(s, "commit block of transaction %u has a bad checksum: "
				  "transaction corrupt, replay stops before it", s->s_tid);
			return 0;	/* the next block's sequence ends the log */
		}
	}
	s->s_last_time = sec;
	s->s_head = s->s_blk;
	s->s_tid++;
	if (!s->s_end_set)
		s->s_info->transactions++;
	return 0;
}

/* ---- revoke blocks ---- */

static int on_revoke(struct scan *s)
{
	struct jbd_log *log = s->s_log;
	uint32_t count = jbd_get32(s->s_buf, JBD_REVOKE_COUNT);
	unsigned max = log->l_bsize - (jbd_has_csum(log) ? JBD_TAIL_SIZE : 0);
	unsigned rec = (log->l_incompat & JBD_INCOMPAT_64BIT) ? 8 : 4;
	int ok = 1;

	if (s->s_pass == PASS_REPLAY)
		return 0;
	if (s->s_pass == PASS_SCAN) {
		ok = jbd_tail_csum_ok(log, s->s_buf);
		if (!ok)
			s->s_need_check_time = 1;
	}
	if (count > max)
		return scan_error(s, -EUCLEAN, "revoke block %u (transaction %u): record bytes "
				  "%u exceed the block (invalid argument)", s->s_cur, s->s_tid, count);
	if (s->s_pass == PASS_SCAN) {
		unsigned n = count > JBD_REVOKE_HDR_SIZE ? (count - JBD_REVOKE_HDR_SIZE) / rec : 0;

		s->s_info->revokes += n;
		if (s->s_out)
			fprintf(s->s_out, "block %u: revoke, transaction %u, %u records%s%s\n",
				s->s_cur, s->s_tid, n, jbd_has_csum(log) ? ", checksum " : "",
				jbd_has_csum(log) ? ok_str(ok) : "");
	}
	for (unsigned off = JBD_REVOKE_HDR_SIZE; off + rec <= count; off += rec) {
		uint64_t blk = rec == 8 ? jbd_get64(s->s_buf, off) : jbd_get32(s->s_buf, off);
		int ret;

		if (s->s_out)
			fprintf(s->s_out, "  revoke fs block %llu\n", (unsigned long long)blk);
		if (s->s_pass != PASS_REVOKE)
			continue;
		ret = jbd_revtab_set(&s->s_revoked, blk, s->s_tid);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- the passes ---- */

static void pass_init(struct scan *s, enum pass pass)
{
	s->s_pass = pass;
	s->s_tid = s->s_log->l_sequence;
	s->s_blk = s->s_log->l_start;
	s->s_head = s->s_blk;
	s->s_crc = ~0u;
	s->s_need_check_time = 0;
	s->s_last_time = 0;
	s->s_result = 0;
	if (pass == PASS_SCAN)
		s->s_info->start_tid = s->s_tid;
}

/* Reads the next log block; 1 if it belongs to the expected transaction. */
static int next_block(struct scan *s)
{
	struct jbd_log *log = s->s_log;
	uint32_t seq;
	int ret;

	s->s_cur = s->s_blk;
	ret = jbd_log_read(log, s->s_blk, s->s_buf);
	if (ret)
		return scan_error(s, ret, "cannot read log block %u", s->s_cur);
	s->s_blk = jbd_log_wrap(log, s->s_blk + 1);
	if (jbd_get32(s->s_buf, JBD_HDR_MAGIC) != JBD_MAGIC) {
		scan_stop(s, "no journal magic (transaction %u would start here)", s->s_tid);
		return 0;
	}
	seq = jbd_get32(s->s_buf, JBD_HDR_SEQ);
	if (seq != s->s_tid) {
		scan_stop(s, "block of transaction %u, expected %u", seq, s->s_tid);
		return 0;
	}
	return 1;
}

static int pass_end(struct scan *s)
{
	struct jbd_recovery *info = s->s_info;

	if (s->s_pass == PASS_SCAN) {
		if (!s->s_end_set)
			info->end_tid = s->s_tid;
		if (!s->s_head_set)
			info->head_block = s->s_head;
		s->s_end_set = s->s_head_set = 1;
	} else if (info->end_tid != s->s_tid && !s->s_result) {
		s->s_result = scan_error(s, -EIO, "pass ended at transaction %u, expected %u",
					 s->s_tid, info->end_tid);
	}
	return s->s_result;
}

static int one_pass(struct scan *s, enum pass pass)
{
	int ret;

	pass_init(s, pass);
	for (;;) {
		if (pass != PASS_SCAN && jbd_tid_geq(s->s_tid, s->s_info->end_tid))
			break;
		ret = next_block(s);
		if (ret < 0)
			return ret;
		if (!ret)
			break;
		switch (jbd_get32(s->s_buf, JBD_HDR_TYPE)) {
		case JBD_DESCRIPTOR:
			ret = on_descriptor(s);
			break;
		case JBD_COMMIT:
			ret = on_commit(s);
			break;
		case JBD_REVOKE:
			ret = on_revoke(s);
			break;
		default:
			scan_stop(s, "unknown block type %u", jbd_get32(s->s_buf, JBD_HDR_TYPE));
			ret = 1;
		}
		if (ret < 0)
			return ret;
		if (ret)
			break;
	}
	return pass_end(s);
}

static int run_passes(struct scan *s)
{
	int ret = one_pass(s, PASS_SCAN);

	s->s_out = NULL;
	if (!ret)
		ret = one_pass(s, PASS_REVOKE);
	if (!ret)
		ret = one_pass(s, PASS_REPLAY);
	return ret;
}

/* ---- after replay: the journal and fs superblocks ---- */

static int mark_recovered(struct jbd_log *log, const struct jbd_recovery *info, int err)
{
	uint8_t fsb[1024];
	int ret;

	log->l_start = 0;
	if (!err && info->needed)
		log->l_sequence = info->end_tid + 1;
	if (info->failed)
		log->l_errno = -EINVAL;
	ret = jbd_log_write_sb(log);
	if (!ret)
		ret = blk_flush(log->l_dev);
	if (!ret)
		ret = jbd_fs_sb_read(log->l_dev, fsb);
	if (ret)
		return ret;
	fsb[0x60] &= ~EXT3_FEATURE_INCOMPAT_RECOVER;	/* s_feature_incompat, low byte */
	if (err) {
		fsb[0x3a] &= ~EXT2_VALID_FS;		/* s_state: force a check */
		fsb[0x3a] |= EXT2_ERROR_FS;
	}
	ret = jbd_fs_sb_write(log->l_dev, fsb);
	if (!ret)
		ret = blk_flush(log->l_dev);
	return ret;
}

static int scan_setup(struct scan *s, struct jbd_log *log, struct jbd_recovery *info)
{
	memset(s, 0, sizeof(*s));
	memset(info, 0, sizeof(*info));
	s->s_log = log;
	s->s_info = info;
	jbd_revtab_init(&s->s_revoked);
	s->s_buf = malloc(log->l_bsize);
	s->s_data = malloc(log->l_bsize);
	return s->s_buf && s->s_data ? 0 : -ENOMEM;
}

static void scan_cleanup(struct scan *s)
{
	jbd_revtab_free(&s->s_revoked);
	free(s->s_buf);
	free(s->s_data);
}

static int needs_recovery(struct jbd_log *log, unsigned flags, FILE *msg)
{
	uint8_t fsb[1024];
	int flag;

	if (jbd_fs_sb_read(log->l_dev, fsb))
		return 0;
	flag = !!(fsb[0x60] & EXT3_FEATURE_INCOMPAT_RECOVER);
	if (!flag && log->l_start && !(flags & JBD_RECOVER_FORCE)) {
		fprintf(msg, "journal: needs_recovery is clear but the log is not empty: "
			"ignoring the log, as the kernel does\n");
		return 0;
	}
	return flag || (flags & JBD_RECOVER_FORCE);
}

int jbd_recover(struct blk_dev *dev, unsigned flags, FILE *msg, struct jbd_recovery *info)
{
	struct jbd_recovery local;
	struct jbd_log *log = NULL;
	struct scan s;
	int ret;

	msg = msg ? msg : stderr;
	info = info ? info : &local;
	memset(info, 0, sizeof(*info));
	ret = jbd_log_open(dev, NULL, msg, &log);
	if (ret)
		return ret;
	ret = scan_setup(&s, log, info);
	if (ret)
		goto out;
	s.s_dry = !!(flags & JBD_RECOVER_DRY);
	if (!needs_recovery(log, flags, msg))
		goto out;
	info->needed = log->l_start != 0;
	if (info->needed)
		ret = run_passes(&s);
	info->err = ret;
	if (info->needed && (log->l_incompat & JBD_INCOMPAT_FAST_COMMIT))
		fprintf(msg, "journal: fast-commit blocks are not replayed (only full "
			"transactions)\n");
	if (info->failed)
		fprintf(msg, "journal: transaction %u was corrupt, replay was aborted\n",
			info->failed_tid);
	if (!s.s_dry && (!ret || (flags & JBD_RECOVER_FIX))) {
		int ret2 = mark_recovered(log, info, ret);

		ret = ret ? ret : ret2;
	}
	if (!ret && info->failed)
		ret = -EUCLEAN;
out:
	scan_cleanup(&s);
	jbd_log_close(log);
	return ret;
}

/* ---- the printer ---- */

static void print_sb(FILE *out, const struct jbd_log *log)
{
	static const char *const names[] = { "revoke", "64bit", "async_commit", "csum_v2",
					     "csum_v3", "fast_commit" };

	fprintf(out, "journal: inode %u, %u blocks of %u bytes, log ring %u..%u\n",
		log->l_ino, log->l_maxlen, log->l_bsize, log->l_first, log->l_last - 1);
	fprintf(out, "superblock: v%d, sequence %u, start %u, errno %d\n",
		log->l_sb_v1 ? 1 : 2, log->l_sequence, log->l_start, log->l_errno);
	fprintf(out, "features:");
	if (log->l_compat & JBD_COMPAT_CHECKSUM)
		fprintf(out, " checksum_v1");
	for (unsigned i = 0; i < 6; i++)
		if (log->l_incompat & (1u << i))
			fprintf(out, " %s", names[i]);
	if (!log->l_compat && !log->l_incompat)
		fprintf(out, " (none)");
	fprintf(out, "; tag size %u", log->l_tag_bytes);
	if (log->l_sb_csum_ok >= 0)
		fprintf(out, "; superblock checksum %s", ok_str(log->l_sb_csum_ok));
	fputc('\n', out);
}

static void print_summary(FILE *out, const struct jbd_recovery *info, int ret)
{
	if (!info->needed) {
		fprintf(out, "log is empty: nothing to replay\n");
		return;
	}
	fprintf(out, "summary: %lu complete transaction%s", info->transactions,
		info->transactions == 1 ? "" : "s");
	if (info->transactions)
		fprintf(out, " (%u..%u)", info->start_tid, info->end_tid - 1);
	fprintf(out, ", %lu block%s to replay, %lu revoke record%s, %lu logged block%s revoked\n",
		info->replayed, info->replayed == 1 ? "" : "s", info->revokes,
		info->revokes == 1 ? "" : "s", info->revoke_hits,
		info->revoke_hits == 1 ? "" : "s");
	if (info->failed)
		fprintf(out, "transaction %u is corrupt: replay stops before it\n", info->failed_tid);
	fprintf(out, "log ends: %s\n", info->stop[0] ? info->stop : "(end of transactions)");
	if (ret)
		fprintf(out, "recovery would fail: %s\n", strerror(-ret));
}

int jbd_dump(struct blk_dev *dev, FILE *out, struct jbd_recovery *info)
{
	struct jbd_recovery local;
	struct jbd_log *log = NULL;
	struct scan s;
	int ret;

	info = info ? info : &local;
	memset(info, 0, sizeof(*info));
	ret = jbd_log_open(dev, NULL, out, &log);
	if (ret)
		return ret;
	ret = scan_setup(&s, log, info);
	if (ret)
		goto out;
	s.s_dry = 1;
	s.s_out = out;
	print_sb(out, log);
	info->needed = log->l_start != 0;
	if (info->needed)
		ret = run_passes(&s);
	info->err = ret;
	print_summary(out, info, ret);
out:
	scan_cleanup(&s);
	jbd_log_close(log);
	return ret;
}

/* ---- a read-only view with the journal replayed in memory ---- */

static int shim_read(struct blk_dev *dev, uint64_t off, void *buf, size_t len)
{
	return blk_read(dev->private, off, buf, len);
}

static int shim_write(struct blk_dev *dev, uint64_t off, const void *buf, size_t len)
{
	return -EROFS;
}

static int shim_flush(struct blk_dev *dev)
{
	return 0;
}

static const struct blk_ops shim_ops = {
	.name = "borrowed",
	.read = shim_read,
	.write = shim_write,
	.flush = shim_flush,
};

struct blk_dev *jbd_ro_view(struct blk_dev *image, FILE *msg, int *err)
{
	struct blk_dev *shim = calloc(1, sizeof(*shim)), *ovl;
	struct jbd_recovery info;
	int ret;

	if (!shim) {
		*err = -ENOMEM;
		return NULL;
	}
	shim->ops = &shim_ops;
	shim->size = image->size;
	shim->block_size = image->block_size;
	shim->read_only = 1;
	shim->private = image;
	ovl = blk_overlay_create(shim, err);
	if (!ovl) {
		free(shim);
		return NULL;
	}
	ret = jbd_recover(ovl, 0, msg, &info);
	if (ret == -EUCLEAN && info.failed && !info.err)
		ret = 0;	/* replayed up to the corrupt transaction: show that */
	if (ret == -ENOENT || (!ret && !info.needed)) {
		blk_close(ovl);
		return image;
	}
	if (ret) {
		blk_close(ovl);
		*err = ret;
		return NULL;
	}
	return ovl;
}
