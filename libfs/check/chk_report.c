/*
 * libfs/check reporting: findings, the verdict they imply, text and JSON output,
 * verbose lines and the progress bar.  Calls only libc.  A report holds at most
 * CHK_MAX_FINDINGS findings; the rest are counted in ->dropped.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "libfs/check/chk_internal.h"

void chk_add(struct chk_ctx *c, enum chk_severity sev, const char *code,
	     enum chk_where where, uint64_t num, const char *fmt, ...)
{
	struct chk_report *r = c->rep;
	struct chk_finding *f;
	va_list ap;

	if (sev == CHK_ERROR)
		r->verdict = CHK_CORRUPT;
	else if (sev == CHK_RECOVERY && r->verdict == CHK_CLEAN)
		r->verdict = CHK_NEEDS_RECOVERY;
	if (r->count >= CHK_MAX_FINDINGS) {
		r->dropped++;
		return;
	}
	if (r->count == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct chk_finding *n = realloc(r->findings, cap * sizeof(*n));

		if (!n) {
			r->dropped++;
			return;
		}
		r->findings = n;
		r->cap = cap;
	}
	f = &r->findings[r->count];
	f->code = code;
	f->severity = sev;
	f->where = where;
	f->num = num;
	va_start(ap, fmt);
	if (vasprintf(&f->message, fmt, ap) < 0)
		f->message = NULL;
	va_end(ap);
	r->count++;
}

void chk_verbose(struct chk_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->opts || !c->opts->verbose)
		return;
	va_start(ap, fmt);
	vfprintf(c->opts->log ? c->opts->log : stderr, fmt, ap);
	va_end(ap);
	fputc('\n', c->opts->log ? c->opts->log : stderr);
}

/* Redraws at most every 1/64th of the way; clears the line when done. */
void chk_progress(struct chk_ctx *c, const char *what, uint64_t done, uint64_t total)
{
	const int width = 40;
	int fill;

	if (!c->progress || total == 0)
		return;
	if (done != total && done % ((total + 63) / 64) != 0)
		return;
	if (done >= total) {
		fprintf(stderr, "\r%*s\r", width + 24, "");
		return;
	}
	fill = (int)(done * width / total);
	fprintf(stderr, "\r%-10s [%.*s%*s] %3d%%", what, fill,
		"========================================", width - fill, "",
		(int)(done * 100 / total));
}

void chk_report_free(struct chk_report *rep)
{
	for (size_t i = 0; i < rep->count; i++)
		free(rep->findings[i].message);
	free(rep->findings);
	memset(rep, 0, sizeof(*rep));
}

const char *chk_verdict_name(enum chk_verdict v)
{
	switch (v) {
	case CHK_CLEAN: return "clean";
	case CHK_NEEDS_RECOVERY: return "needs-recovery";
	default: return "corrupt";
	}
}

/*
 * As e2fsck: 8 when the image could not be read, 4 when errors are left.
 * needs-recovery gives 0: measured with e2fsck 1.47.0, `e2fsck -fn` on a
 * kernel image copied after sync but before unmount skips the replay,
 * reports the stale summary counts as "Fix? no" and exits 0.
 */
int chk_exit_status(const struct chk_report *rep)
{
	if (rep->op_error)
		return 8;
	return rep->verdict == CHK_CORRUPT ? 4 : 0;
}

static const char *where_name(enum chk_where w)
{
	switch (w) {
	case CHK_AT_INODE: return "inode";
	case CHK_AT_BLOCK: return "block";
	case CHK_AT_GROUP: return "group";
	default: return NULL;
	}
}

static const char *sev_name(enum chk_severity s)
{
	switch (s) {
	case CHK_ERROR: return "error";
	case CHK_RECOVERY: return "recovery";
	default: return "info";
	}
}

/* "error" when the image could not be checked at all (exit status 8). */
static const char *report_verdict(const struct chk_report *rep)
{
	return rep->op_error ? "error" : chk_verdict_name(rep->verdict);
}

void chk_print_text(FILE *out, const struct chk_report *rep)
{
	for (size_t i = 0; i < rep->count; i++) {
		const struct chk_finding *f = &rep->findings[i];
		const char *w = where_name(f->where);

		if (w)
			fprintf(out, "%s %llu: %s: %s (%s)\n", w,
				(unsigned long long)f->num, f->code,
				f->message ? f->message : "", sev_name(f->severity));
		else
			fprintf(out, "fs: %s: %s (%s)\n", f->code,
				f->message ? f->message : "", sev_name(f->severity));
	}
	if (rep->dropped)
		fprintf(out, "... and %zu more findings\n", rep->dropped);
	fprintf(out, "verdict: %s\n", report_verdict(rep));
}

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

void chk_print_json(FILE *out, const struct chk_report *rep)
{
	fprintf(out, "{\"verdict\": \"%s\", \"findings\": [", report_verdict(rep));
	for (size_t i = 0; i < rep->count; i++) {
		const struct chk_finding *f = &rep->findings[i];
		const char *w = where_name(f->where);

		fprintf(out, "%s\n  {\"code\": ", i ? "," : "");
		json_string(out, f->code);
		if (w)
			fprintf(out, ", \"%s\": %llu", w, (unsigned long long)f->num);
		fprintf(out, ", \"severity\": \"%s\", \"message\": ", sev_name(f->severity));
		json_string(out, f->message);
		fputc('}', out);
	}
	fprintf(out, "%s], \"dropped\": %zu}\n", rep->count ? "\n" : "", rep->dropped);
}
