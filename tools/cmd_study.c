/*
 * tools/cmd_study.c - `e4lab study` (the studies in studies/NAME.e4s, with their
 * expectations) and `e4lab explore FILE` (one scenario with the strategy, bound or
 * replay from the command line).  Tools layer; calls libfs/study.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libfs/study/study.h"
#include "tools/cmds.h"
#include "tools/util.h"

#define EXIT_EXPECT 1	/* some expectation did not hold */

struct cli {
	struct study_opts o;
	int json, list, all;
	const char *dir, *run, *svg_path, *operand;
	FILE *svg_file;		/* closed at the end (o.svg is cleared once drawn) */
	unsigned block;
	int nfirst;		/* JSON: a study was printed already */
};

/* ---- where the studies are ---- */

static int is_dir(const char *p)
{
	DIR *d = opendir(p);

	if (d)
		closedir(d);
	return d != NULL;
}

/* --dir, $E4LAB_STUDIES, $E4LAB_SRCDIR/studies, ./studies, or next to the binary. */
static const char *studies_dir(const char *opt, char *buf, size_t size)
{
	const char *env = getenv("E4LAB_STUDIES"), *src = getenv("E4LAB_SRCDIR");
	ssize_t n;

	if (opt)
		return opt;
	if (env)
		return env;
	if (src) {
		snprintf(buf, size, "%s/studies", src);
		if (is_dir(buf))
			return buf;
	}
	if (is_dir("studies"))
		return "studies";
	n = readlink("/proc/self/exe", buf, size - 16);
	if (n > 0) {
		buf[n] = 0;
		snprintf(buf + strlen(dirname(buf)), 16, "/../studies");
		if (is_dir(buf))
			return buf;
	}
	return "studies";
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted base names (without .e4s) in @dir; returns the count or -errno. */
static int list_studies(const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char **grown;

		if (len < 5 || strcmp(e->d_name + len - 4, ".e4s"))
			continue;
		grown = realloc(names, sizeof(*names) * (size_t)(n + 1));
		if (!grown)
			break;
		names = grown;
		names[n] = strndup(e->d_name, len - 4);
		if (names[n])
			n++;
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(*names), name_cmp);
	*out = names;
	return n;
}

/* ---- output ---- */

static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_line(const struct study *st, const struct study_result *r)
{
	printf("%s block=%u %s: %s expect=%s got=%s", st->name, r->block, r->label,
	       r->ok ? "ok" : "FAIL", r->expect, r->verdict);
	if (strcmp(r->verdict, "clean"))
		printf(" oracle=%s schedule=\"%s\"", r->verdict, r->schedule);
	printf(" explored=%ld%s %.3fs  [%s] world=%s\n", r->explored,
	       r->complete ? " complete" : "", r->seconds, r->policy, r->world);
	if (r->message[0]) {
		char *copy = strdup(r->message), *line, *save = NULL;

		for (line = copy ? strtok_r(copy, "\n", &save) : NULL; line;
		     line = strtok_r(NULL, "\n", &save))
			printf("    %s\n", line);
		free(copy);
	}
	if (!r->ok)
		printf("    replay: e4lab explore %s --run %s --block %u --replay \"%s\" --trace\n",
		       st->file, r->label, r->block, r->schedule);
}

static void print_json_run(const struct study_result *r, int first)
{
	int clean = !strcmp(r->verdict, "clean");

	printf("%s{\"policy\": ", first ? "" : ", ");
	print_json_string(r->policy);
	printf(", \"label\": ");
	print_json_string(r->label);
	printf(", \"world\": \"%s\"", r->world);
	printf(", \"block\": %u, \"expect\": \"%s\", \"verdict\": ", r->block,
	       strcmp(r->expect, "clean") ? "bug" : "clean");
	print_json_string(r->verdict);
	printf(", \"oracle\": ");
	if (clean)
		printf("null");
	else
		print_json_string(r->verdict);
	printf(", \"schedule\": ");
	if (clean)
		printf("null");
	else
		print_json_string(r->schedule);
	printf(", \"schedules_explored\": %ld, \"seconds\": %.6f, \"ok\": %s}", r->explored,
	       r->seconds, r->ok ? "true" : "false");
}

/* ---- running ---- */

/* Runs every (block, run) of @st that the filters select.  Returns 0 when every
 * expectation held, 1 when some did not, 2 on an operational error. */
static int run_study(struct cli *c, const struct study *st)
{
	int ok = 1, first = 1;

	if (c->json)
		printf("%s{\"study\": \"%s\", \"runs\": [", c->nfirst++ ? ", " : "", st->name);
	for (int b = 0; b < st->nblock; b++) {
		if (c->block && st->block[b] != c->block)
			continue;
		for (int i = 0; i < st->nruns; i++) {
			struct study_result r;
			int err;

			if (c->run && strcmp(c->run, st->runs[i].label))
				continue;
			err = study_run_one(st, i, st->block[b], &c->o, &r);
			if (err) {
				if (r.message[0])
					fprintf(stderr, "%s: %s\n", st->file, r.message);
				tool_fail(st->file, err);
				return EXIT_FAIL;
			}
			ok &= r.ok;
			if (r.svg_written)
				c->o.svg = NULL;	/* one picture: the first run with a bug */
			if (c->json) {
				print_json_run(&r, first);
				first = 0;
			} else {
				print_line(st, &r);
			}
			fflush(stdout);
		}
	}
	if (c->json)
		printf("], \"ok\": %s}", ok ? "true" : "false");
	return ok ? EXIT_OK : EXIT_EXPECT;
}

static int load(const char *path, struct study *st)
{
	char err[512];
	int ret = study_parse_file(path, st, err, sizeof(err));

	if (ret) {
		fprintf(stderr, "%s\n", err);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int parse_strategy(struct cli *c, const char *v)
{
	c->o.has_strategy = 1;
	if (!strcmp(v, "exhaustive") || !strcmp(v, "dfs"))
		c->o.strategy = TASK_DFS;
	else if (!strcmp(v, "random"))
		c->o.strategy = TASK_RANDOM;
	else if (!strcmp(v, "pct"))
		c->o.strategy = TASK_PCT;
	else if (!strcmp(v, "scripted"))
		c->o.strategy = TASK_SCRIPT;
	else
		return -EINVAL;
	return 0;
}

/* Options common to both commands, anywhere on the line; the one operand goes to
 * c->operand.  Returns 0, or -1 on a usage error. */
static int parse_opts(struct cli *c, int argc, char **argv)
{
	int i;

	c->o.bound = -1;
	c->o.world = -1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (a[0] != '-' || !a[1]) {
			if (c->operand) {
				tool_msg("one operand only, not '%s'", a);
				return -1;
			}
			c->operand = a;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			continue;
		} else if (!strcmp(a, "--json")) {
			c->json = 1;
		} else if (!strcmp(a, "--list")) {
			c->list = 1;
		} else if (!strcmp(a, "--all")) {
			c->all = 1;
		} else if (!strcmp(a, "--trace")) {
			c->o.trace = stdout;
		} else if (!v) {
			tool_msg("%s needs a value", a);
			return -1;
		} else if (!strcmp(a, "--svg")) {
			c->svg_path = argv[++i];
		} else if (!strcmp(a, "--dir")) {
			c->dir = argv[++i];
		} else if (!strcmp(a, "--run")) {
			c->run = argv[++i];
		} else if (!strcmp(a, "--block")) {
			c->block = (unsigned)strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(a, "--strategy")) {
			if (parse_strategy(c, argv[++i])) {
				tool_msg("--strategy wants exhaustive, random, pct or scripted");
				return -1;
			}
		} else if (!strcmp(a, "--bound")) {
			c->o.bound = atoi(argv[++i]);
		} else if (!strcmp(a, "--seed")) {
			c->o.seed = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(a, "--runs")) {
			c->o.runs = atol(argv[++i]);
		} else if (!strcmp(a, "--depth")) {
			c->o.depth = atoi(argv[++i]);
		} else if (!strcmp(a, "--replay")) {
			c->o.replay = argv[++i];
		} else if (!strcmp(a, "--world")) {
			c->o.world = !strcmp(v, "engine") ? 1 : !strcmp(v, "model") ? 0 : -2;
			i++;
			if (c->o.world == -2) {
				tool_msg("--world wants model or engine, not '%s'", v);
				return -1;
			}
		} else {
			tool_msg("unknown option '%s'", a);
			return -1;
		}
	}
	if (c->o.has_strategy && c->o.strategy == TASK_SCRIPT && !c->o.replay)
		c->o.replay = "";
	return 0;
}

static int open_svg(struct cli *c)
{
	if (!c->svg_path)
		return 0;
	c->o.svg = c->svg_file = fopen(c->svg_path, "w");
	if (!c->o.svg)
		return tool_fail(c->svg_path, -errno);
	return 0;
}

static int finish(struct cli *c, int ret)
{
	if (c->svg_file)
		fclose(c->svg_file);
	return ret;
}

static const char study_usage[] =
	"usage: e4lab study --list | --all | NAME [--json] [--trace] [--svg OUT.svg] "
	"[--run LABEL] [--block N] [--world model|engine] [--dir DIR]\n";
static const char explore_usage[] =
	"usage: e4lab explore FILE [--run LABEL] [--block N] "
	"[--strategy exhaustive|random|pct|scripted] [--bound N] [--seed N] [--runs N] "
	"[--depth D] [--replay SCHEDULE] [--world model|engine] [--trace] [--svg OUT.svg] "
	"[--json]\n";

static int study_list(const char *dir, char **names, int n)
{
	for (int i = 0; i < n; i++) {
		char path[1024];
		struct study st;
		char err[512];

		snprintf(path, sizeof(path), "%s/%s.e4s", dir, names[i]);
		if (study_parse_file(path, &st, err, sizeof(err)))
			printf("%-28s (malformed: %s)\n", names[i], err);
		else
			printf("%-28s %s\n", names[i], st.title);
	}
	return EXIT_OK;
}

/* Runs @names (all parsed first: a malformed file runs nothing). */
static int study_names(struct cli *c, const char *dir, char **names, int n)
{
	struct study *sts = calloc((size_t)n, sizeof(*sts));
	int ret = EXIT_OK;

	if (!sts)
		return tool_fail("study", -ENOMEM);
	for (int i = 0; i < n && ret == EXIT_OK; i++) {
		char path[1024];

		snprintf(path, sizeof(path), "%s/%s.e4s", dir, names[i]);
		ret = load(path, &sts[i]);
		if (!ret && strcmp(sts[i].name, names[i])) {
			fprintf(stderr, "%s: the study line says \"%s\", expected \"%s\"\n", path,
				sts[i].name, names[i]);
			ret = EXIT_FAIL;
		}
	}
	if (ret == EXIT_OK) {
		if (c->json)
			printf("{\"studies\": [");
		for (int i = 0; i < n; i++) {
			int r = run_study(c, &sts[i]);

			if (r == EXIT_FAIL) {
				ret = r;
				break;
			}
			if (r)
				ret = r;
		}
		if (c->json)
			printf("]}\n");
	}
	free(sts);
	return ret;
}

int cmd_study(int argc, char **argv)
{
	struct cli c = { 0 };
	char buf[1024], **names = NULL, *one[1];
	const char *dir;
	int n, ret;

	if (tool_wants_help(argc, argv))
		return tool_help(study_usage);
	if (parse_opts(&c, argc, argv) || (!c.list && !c.all && !c.operand) ||
	    ((c.list || c.all) && c.operand))
		return tool_usage(study_usage);
	dir = studies_dir(c.dir, buf, sizeof(buf));
	if (c.list || c.all) {
		n = list_studies(dir, &names);
		if (n < 0)
			return tool_fail(dir, n);
		ret = c.list ? study_list(dir, names, n) : study_names(&c, dir, names, n);
		for (int i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return ret;
	}
	if (open_svg(&c))
		return EXIT_FAIL;
	one[0] = (char *)c.operand;
	return finish(&c, study_names(&c, dir, one, 1));
}

int cmd_explore(int argc, char **argv)
{
	struct cli c = { 0 };
	struct study *st;
	int ret;

	if (tool_wants_help(argc, argv))
		return tool_help(explore_usage);
	if (parse_opts(&c, argc, argv) || !c.operand)
		return tool_usage(explore_usage);
	st = calloc(1, sizeof(*st));
	if (!st)
		return tool_fail("explore", -ENOMEM);
	ret = load(c.operand, st);
	if (!ret && !open_svg(&c)) {
		if (c.json)
			printf("{\"studies\": [");
		ret = run_study(&c, st);
		if (c.json)
			printf("]}\n");
	} else if (!ret) {
		ret = EXIT_FAIL;
	}
	free(st);
	return finish(&c, ret);
}
