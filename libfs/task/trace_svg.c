/*
 * libfs/task/trace_svg.c - draws a run's trace as an SVG timeline: one lane per task,
 * one column per event (order, not time).  Reads the trace only (trace.c's events);
 * writes a self-contained file.  Deterministic: the same trace gives the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "libfs/task/task_internal.h"

/*
 * A lane, top down: a band of vertical labels (step points, page-state notes, waits),
 * the running/blocked bar, then one row per lock held at once.
 */
#define SVG_LEFT 150		/* room for the lane names */
#define SVG_TOP 30
#define SVG_BAND 110		/* label band: 20 characters of 9px text, vertical */
#define SVG_LABEL 20
#define SVG_BAR 5		/* height of a held-lock bar */
#define SVG_ROWS 4		/* held-lock rows drawn per lane */
#define SVG_LANE (SVG_BAND + 16 + SVG_ROWS * (SVG_BAR + 2) + 12)
#define SVG_MAX_OPEN 64		/* held-lock bars open at once */

static const char *const palette[] = {
	"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
	"#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#d62728",
};

struct svg {
	FILE *f;
	const struct task_sched *s;
	int dx;			/* column width */
};

struct open_bar {
	int task;		/* 1-based holder */
	const char *lock;
	enum lock_mode mode;
	int col;
	int slot;		/* row under the lane */
};

static void xml_text(FILE *f, const char *t)
{
	for (; t && *t; t++) {
		switch (*t) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*t, f);
		}
	}
}

/* Lock classes get palette colours in the order they first appear in the trace. */
static const char *lock_color(const struct task_sched *s, const char *name)
{
	const char *seen[sizeof(palette) / sizeof(palette[0])];
	int n = 0;

	for (int i = 0; i < s->trace_len; i++) {
		const char *l = s->trace[i].lock;
		int k;

		if (!l)
			continue;
		for (k = 0; k < n && strcmp(seen[k], l); k++)
			;
		if (k == n && n < (int)(sizeof(seen) / sizeof(seen[0])))
			seen[n++] = l;
		if (!strcmp(l, name))
			return palette[k % (sizeof(palette) / sizeof(palette[0]))];
	}
	return palette[0];
}

static int col_x(const struct svg *g, int col)
{
	return SVG_LEFT + col * g->dx;
}

/* The top of @task's running bar. */
static int bar_y(int task)
{
	return SVG_TOP + (task - 1) * SVG_LANE + SVG_BAND;
}

/* A vertical label above column @col of @task's bar: @prefix then @text, cut to
 * SVG_LABEL characters (the whole text stays in the tooltip). */
static void band_label(const struct svg *g, int task, int col, const char *prefix,
		       const char *text, const char *color)
{
	char buf[SVG_LABEL + 1];

	snprintf(buf, sizeof(buf), "%s%s", prefix, text ? text : "");
	fprintf(g->f, "<text transform=\"translate(%d,%d) rotate(-90)\" font-size=\"9\" "
		"fill=\"%s\">", col_x(g, col) + g->dx / 2 + 3, bar_y(task) - 3, color);
	xml_text(g->f, buf);
	fputs("<title>", g->f);
	xml_text(g->f, prefix);
	xml_text(g->f, text);
	fputs("</title></text>\n", g->f);
}

static void draw_lanes(const struct svg *g, int ncols)
{
	for (int i = 0; i < g->s->ntasks; i++) {
		int y = bar_y(i + 1);

		fprintf(g->f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ccc\"/>\n",
			SVG_LEFT, y + 6, col_x(g, ncols), y + 6);
		fprintf(g->f, "<text x=\"8\" y=\"%d\" font-size=\"13\">T%d ", y + 11, i + 1);
		xml_text(g->f, g->s->tasks[i]->name);
		fputs("</text>\n", g->f);
	}
}

/* Running: a solid block under every event of the task that ran it. */
static void draw_running(const struct svg *g)
{
	for (int i = 0; i < g->s->trace_len; i++) {
		const struct task_event *e = &g->s->trace[i];

		if (e->task)
			fprintf(g->f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"12\" "
				"fill=\"#4c9a4c\"/>\n", col_x(g, i), bar_y(e->task), g->dx);
	}
}

/* Blocked: from BLOCK until the HANDOFF to the task (or the end), hatched. */
static void draw_blocked(const struct svg *g)
{
	const struct task_sched *s = g->s;

	for (int i = 0; i < s->trace_len; i++) {
		const struct task_event *e = &s->trace[i];
		int end = s->trace_len;

		if (e->kind != TASK_EV_BLOCK)
			continue;
		for (int j = i + 1; j < s->trace_len; j++)
			if (s->trace[j].kind == TASK_EV_HANDOFF && s->trace[j].other == e->task) {
				end = j;
				break;
			}
		fprintf(g->f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"12\" "
			"fill=\"url(#hatch)\" stroke=\"#c33\"><title>waits for ",
			col_x(g, i + 1), bar_y(e->task), (end - i - 1) * g->dx + g->dx / 2);
		xml_text(g->f, e->lock);
		fprintf(g->f, " (%s)</title></rect>\n", e->mode == LOCK_READ ? "read" : "write");
		band_label(g, e->task, i, e->mode == LOCK_READ ? "waits (r) " : "waits ", e->lock,
			   "#c33");
	}
}

static void bar_close(const struct svg *g, const struct open_bar *b, int col)
{
	int y = bar_y(b->task) + 16 + (b->slot % SVG_ROWS) * (SVG_BAR + 2);

	fprintf(g->f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"%s>"
		"<title>", col_x(g, b->col), y, (col - b->col) * g->dx + g->dx / 2, SVG_BAR,
		lock_color(g->s, b->lock), b->mode == LOCK_READ ? " fill-opacity=\"0.5\"" : "");
	xml_text(g->f, b->lock);
	fprintf(g->f, " (%s)</title></rect>\n", b->mode == LOCK_READ ? "read" : "write");
	fprintf(g->f, "<text x=\"%d\" y=\"%d\" font-size=\"8\">", col_x(g, b->col) + 1, y + 5);
	xml_text(g->f, b->lock);
	fputs("</text>\n", g->f);
}

static int free_slot(const struct open_bar *open, int n, int task)
{
	for (int slot = 0;; slot++) {
		int used = 0;

		for (int i = 0; i < n; i++)
			used |= open[i].task == task && open[i].slot == slot;
		if (!used)
			return slot;
	}
}

/* Held locks: a bar per lock from ACQUIRED (or HANDOFF) to its RELEASE. */
static void draw_held(const struct svg *g)
{
	const struct task_sched *s = g->s;
	struct open_bar open[SVG_MAX_OPEN];
	int n = 0;

	for (int i = 0; i < s->trace_len; i++) {
		const struct task_event *e = &s->trace[i];
		int holder = e->kind == TASK_EV_HANDOFF ? e->other : e->task;
		int k;

		if ((e->kind == TASK_EV_ACQUIRED || e->kind == TASK_EV_HANDOFF) && n < SVG_MAX_OPEN) {
			int dup = 0;

			for (k = 0; k < n; k++)		/* ACQUIRED after a HANDOFF: same bar */
				dup |= open[k].task == holder && !strcmp(open[k].lock, e->lock) &&
				       open[k].mode == e->mode;
			if (!dup) {
				open[n] = (struct open_bar){ holder, e->lock, e->mode, i,
							     free_slot(open, n, holder) };
				n++;
			}
		} else if (e->kind == TASK_EV_RELEASE) {
			/* the releaser's own bar, else (a page lock) the oldest holder's */
			for (k = 0; k < n; k++)
				if (open[k].task == e->task && !strcmp(open[k].lock, e->lock))
					break;
			for (int m = 0; k == n && m < n; m++)
				if (!strcmp(open[m].lock, e->lock))
					k = m;
			if (k < n) {
				bar_close(g, &open[k], i);
				open[k] = open[--n];
			}
		}
	}
	for (int k = 0; k < n; k++)
		bar_close(g, &open[k], s->trace_len);
}

static void draw_marks(const struct svg *g)
{
	const struct task_sched *s = g->s;

	for (int i = 0; i < s->trace_len; i++) {
		const struct task_event *e = &s->trace[i];
		int x = col_x(g, i) + g->dx / 2, y = e->task ? bar_y(e->task) : 0;

		switch (e->kind) {
		case TASK_EV_POINT:
			fprintf(g->f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
				"stroke=\"#333\"/>\n", x, y - 2, x, y + 12);
			band_label(g, e->task, i, "", e->where, "#333");
			break;
		case TASK_EV_NOTE:
			fprintf(g->f, "<path d=\"M%d %d l4 4 l-4 4 l-4 -4 z\" fill=\"#e8a000\"/>\n",
				x, y + 2);
			band_label(g, e->task, i, "", e->where, "#b07000");
			break;
		case TASK_EV_HANDOFF:
			fprintf(g->f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#555\" "
				"marker-end=\"url(#arrow)\"><title>", x, y + 6, x, bar_y(e->other) + 6);
			xml_text(g->f, e->lock);
			fprintf(g->f, " to T%d</title></line>\n", e->other);
			break;
		case TASK_EV_BUG:
			fprintf(g->f, "<text x=\"%d\" y=\"%d\" fill=\"#d00\" font-size=\"16\">X<title>",
				x - 5, y + 12);
			xml_text(g->f, s->message);
			fputs("</title></text>\n", g->f);
			band_label(g, e->task, i, "", s->oracle, "#d00");
			break;
		case TASK_EV_DEADLOCK:
			fprintf(g->f, "<rect x=\"%d\" y=\"%d\" width=\"4\" height=\"%d\" fill=\"#d00\"/>\n",
				x, SVG_TOP, s->ntasks * SVG_LANE);
			break;
		default:
			break;
		}
	}
}

/* The verdict's report, one <text> per line, under the lanes. */
static void draw_caption(const struct svg *g, int y)
{
	const char *p = g->s->verdict == TASK_OK ? "" : g->s->message;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = strndup(p, len);

		fprintf(g->f, "<text x=\"8\" y=\"%d\" font-size=\"11\" font-family=\"monospace\" "
			"xml:space=\"preserve\">", y);
		xml_text(g->f, line);
		fputs("</text>\n", g->f);
		free(line);
		y += 14;
		p += len + (nl ? 1 : 0);
	}
}

/* Lines of the caption; *longest gets the longest line's length. */
static int caption_lines(const struct task_sched *s, int *longest)
{
	int n = 0, len = 0;

	*longest = 0;
	if (s->verdict == TASK_OK)
		return 0;
	for (const char *p = s->message; *p; p++) {
		len = *p == '\n' ? 0 : len + 1;
		n += *p == '\n';
		if (len > *longest)
			*longest = len;
	}
	return n + 1;
}

void task_trace_svg(const struct task_sched *s, FILE *f, const char *title)
{
	struct svg g = { f, s, s->trace_len > 400 ? 4 : 14 };
	int ncols = s->trace_len + 1, longest;
	int lanes_end = SVG_TOP + s->ntasks * SVG_LANE;
	int height = lanes_end + 20 + 14 * caption_lines(s, &longest) + 10;
	int width = col_x(&g, ncols) + 20;

	if (width < 16 + 7 * longest)
		width = 16 + 7 * longest;	/* 11px monospace: under 7px a character */

	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"font-family=\"sans-serif\">\n", width, height);
	fputs("<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\">"
	      "<path d=\"M0 6 L6 0\" stroke=\"#c33\"/></pattern>"
	      "<marker id=\"arrow\" markerWidth=\"8\" markerHeight=\"8\" refX=\"4\" refY=\"4\" "
	      "orient=\"auto\"><path d=\"M0 0 L8 4 L0 8 z\" fill=\"#555\"/></marker></defs>\n", f);
	fputs("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n", f);
	fputs("<text x=\"8\" y=\"20\" font-size=\"14\" font-weight=\"bold\">", f);
	xml_text(f, title);
	fprintf(f, " -- %s%s schedule \"", s->verdict == TASK_OK ? "ok" : "verdict: ",
		s->verdict == TASK_OK ? "" : s->oracle);
	xml_text(f, task_sched_schedule(s));
	fputs("\"</text>\n", f);
	draw_lanes(&g, ncols);
	draw_running(&g);
	draw_blocked(&g);
	draw_held(&g);
	draw_marks(&g);
	draw_caption(&g, lanes_end + 20);
	fputs("</svg>\n", f);
}
