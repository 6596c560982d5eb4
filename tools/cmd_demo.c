/*
 * tools/cmd_demo.c - `e4lab demo`: the main job on a built-in default, as a
 * list of steps (make a tree, mkfs, put, info, e2fsck, get, compare), each timed
 * (tools layer; runs the other subcommands and e2fsck).  Later work appends steps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "tools/cmds.h"
#include "tools/util.h"

static const char demo_usage[] = "usage: e4lab demo [DIR]\n";
static const char demo_help[] =
	"usage: e4lab demo [DIR]\n"
	"\n"
	"Make a 256 MiB image, generate a small varied tree (tiny inline files, KiB and\n"
	"MiB files, sparse files, symlinks, hard links, nested directories, xattrs),\n"
	"put it into the image, check the image with e2fsck -fn (when installed), get\n"
	"the tree back and compare it with the original, printing each step and its\n"
	"time.  Everything is kept in DIR (empty or new; default: a fresh directory\n"
	"under $TMPDIR or /tmp).  Exit status 0 when every step succeeded, else 2.\n";

struct demo {
	char *dir, *image, *tree, *out, *fsck_log;
};

struct demo_step {
	const char *title;
	int (*run)(struct demo *d);	/* an exit status */
};

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })
#define ARGC(v) ((int)(sizeof(v) / sizeof(char *)) - 1)
#define CALL(fn, ...) fn(ARGC(ARGV(__VA_ARGS__)), ARGV(__VA_ARGS__))

static int step_gentree(struct demo *d)
{
	return CALL(cmd_gentree, "gentree", "--profile", "demo", "--seed", "42", d->tree);
}

static int step_mkfs(struct demo *d)
{
	return CALL(cmd_mkfs, "mkfs", "-L", "e4lab-demo", d->image, "256M");
}

static int step_put(struct demo *d)
{
	return CALL(cmd_put, "put", d->image, d->tree, "/");
}

static int step_info(struct demo *d)
{
	int ret = CALL(cmd_info, "info", d->image);

	if (ret == EXIT_OK)
		ret = CALL(cmd_ls, "ls", "-l", d->image, "/");
	return ret;
}

static int step_e2fsck(struct demo *d)
{
	int st = tool_run(ARGV("e2fsck", "-fn", d->image), d->fsck_log);
	char line[512];
	FILE *f;

	if (st == 127) {
		printf("e2fsck is not installed: check skipped\n");
		return EXIT_OK;
	}
	printf("e2fsck -fn exit status %d: %s (log: %s)\n", st,
	       st == 0 ? "clean" : "PROBLEMS FOUND", d->fsck_log);
	if (st == 0)
		return EXIT_OK;
	f = fopen(d->fsck_log, "r");
	while (f && fgets(line, sizeof(line), f))
		fputs(line, stdout);
	if (f)
		fclose(f);
	return EXIT_FAIL;
}

static int step_get(struct demo *d)
{
	return CALL(cmd_get, "get", d->image, "/", d->out);
}

static int step_compare(struct demo *d)
{
	return CALL(cmd_cmptree, "cmptree", "--ignore", "lost+found", d->tree, d->out);
}

static const struct demo_step steps[] = {
	{ "generate a varied tree (seed 42)", step_gentree },
	{ "make a 256 MiB image", step_mkfs },
	{ "put the tree into the image root", step_put },
	{ "show the image", step_info },
	{ "check the image with e2fsck -fn", step_e2fsck },
	{ "get the tree back out", step_get },
	{ "compare the copy with the original", step_compare },
};

/* Makes the work directory: @arg (new or empty) or a fresh one under TMPDIR. */
static char *demo_dir(const char *arg)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;

	if (!arg) {
		if (asprintf(&dir, "%s/e4lab-demo.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
			return NULL;
		if (mkdtemp(dir))
			return dir;
		tool_fail(dir, -errno);
		free(dir);
		return NULL;
	}
	if (mkdir(arg, 0755) < 0 && errno != EEXIST) {
		tool_fail(arg, -errno);
		return NULL;
	}
	return strdup(arg);
}

static int demo_paths(struct demo *d)
{
	d->image = tool_join(d->dir, "demo.img");
	d->tree = tool_join(d->dir, "tree");
	d->out = tool_join(d->dir, "copy");
	d->fsck_log = tool_join(d->dir, "e2fsck.log");
	if (!d->image || !d->tree || !d->out || !d->fsck_log)
		return -ENOMEM;
	if (access(d->tree, F_OK) == 0 || access(d->out, F_OK) == 0) {
		tool_msg("%s: already holds a demo; give an empty or new DIR", d->dir);
		return -EEXIST;
	}
	return 0;
}

static int demo_run(struct demo *d)
{
	size_t n = sizeof(steps) / sizeof(steps[0]);
	double start = tool_now();

	printf("e4lab demo in %s\n", d->dir);
	for (size_t i = 0; i < n; i++) {
		double t0 = tool_now();
		int ret;

		printf("\n== step %zu/%zu: %s\n", i + 1, n, steps[i].title);
		fflush(stdout);
		ret = steps[i].run(d);
		fflush(stdout);
		if (ret != EXIT_OK) {
			printf("== step %zu FAILED (exit status %d) after %.2f s\n", i + 1, ret,
			       tool_now() - t0);
			printf("\nThe demo failed; its files are in %s\n", d->dir);
			return EXIT_FAIL;
		}
		printf("== ok (%.2f s)\n", tool_now() - t0);
	}
	printf("\nAll %zu steps passed in %.2f s.\n", n, tool_now() - start);
	printf("image: %s\ntree:  %s\ncopy:  %s\n(remove with: rm -rf %s)\n",
	       d->image, d->tree, d->out, d->dir);
	return EXIT_OK;
}

int cmd_demo(int argc, char **argv)
{
	struct demo d = { 0 };
	int ret = EXIT_FAIL, err;

	if (tool_wants_help(argc, argv))
		return tool_help(demo_help);
	if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
		return tool_usage(demo_usage);
	d.dir = demo_dir(argc == 2 ? argv[1] : NULL);
	if (!d.dir)
		goto out;
	err = demo_paths(&d);
	if (err == -ENOMEM)
		tool_fail("demo", err);
	if (!err)
		ret = demo_run(&d);
out:
	free(d.fsck_log);
	free(d.out);
	free(d.tree);
	free(d.image);
	free(d.dir);
	return ret;
}
