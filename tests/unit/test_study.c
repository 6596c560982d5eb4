/*
 * tests/unit/test_study.c - libfs/study: the scenario parser (good files and every
 * kind of malformed line, reported with its line number) and one small run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "libfs/study/study.h"

static const char good[] =
	"study s\n"
	"title \"a \\\"quoted\\\" title\"\n"
	"image size=64K block=1024,4096 poison\n"
	"file /f size=4096 fill=seq\n"
	"task T1 writer\n"
	"  mmap m /f off=0 len=4096 r\n"
	"  race\n"
	"  write /f off=0 src=m+0 len=4096 expect=4096   # a comment\n"
	"end\n"
	"run bug write_loop=prepare_commit_2619 expect=deadlock\n"
	"run fixed write_loop=write_begin_2624 expect=clean\n"
	"explore dfs bound=2 iterate\n";

static void test_parse_good(void **state)
{
	struct study *st = calloc(1, sizeof(*st));
	char err[256];

	(void)state;
	assert_int_equal(study_parse_text("s.e4s", good, st, err, sizeof(err)), 0);
	assert_string_equal(st->name, "s");
	assert_string_equal(st->title, "a \"quoted\" title");
	assert_int_equal(st->nblock, 2);
	assert_int_equal(st->block[1], 4096);
	assert_int_equal(st->ntasks, 1);
	assert_int_equal(st->tasks[0].race, 1);
	assert_int_equal(st->tasks[0].nsteps, 2);
	assert_int_equal(st->tasks[0].steps[1].verb, SV_WRITE);
	assert_int_equal(st->tasks[0].steps[1].expect, 4096);
	assert_int_equal(st->nruns, 2);
	assert_int_equal(st->runs[1].pol.write_loop, WL_WRITE_BEGIN_2624);
	assert_int_equal(st->strategy, TASK_DFS);
	free(st);
}

/* Replaces line @line (1-based) of good[] with @repl and expects @want in the error. */
static void expect_error(int line, const char *repl, const char *want)
{
	struct study *st = calloc(1, sizeof(*st));
	char text[2048] = "", err[512];
	const char *s = good;

	for (int n = 1; *s; n++) {
		size_t len = strcspn(s, "\n") + 1;

		if (n == line)
			strcat(text, repl);
		else
			strncat(text, s, len);
		s += len;
	}
	assert_int_equal(study_parse_text("x.e4s", text, st, err, sizeof(err)), -22);
	if (!strstr(err, want)) {
		fprintf(stderr, "line %d: error \"%s\" lacks \"%s\"\n", line, err, want);
		fail();
	}
	free(st);
}

static void test_parse_errors(void **state)
{
	(void)state;
	expect_error(3, "imgae size=64K\n", "x.e4s:3: unknown directive \"imgae\"");
	expect_error(6, "  mmap m /f off=0 length=4096\n", "x.e4s:6: unexpected \"length=4096\"");
	expect_error(8, "  write /f off=0 src=q+0 len=4096\n",
		     "x.e4s:8: \"q\" is not a mapping or buffer of task T1");
	expect_error(10, "run bug write_loop=today2 expect=deadlock\n",
		     "x.e4s:10: \"write_loop=today2\" is not a value of write_loop");
	expect_error(12, "explore random seed=1 runs=10\n",
		     "x.e4s:11: expect=clean needs an exhaustive strategy");
	expect_error(10, "run bug write_loop=today\n", "x.e4s:10: expected \"expect=VERDICT\"");
	expect_error(3, "image size=64K block=512\n", "x.e4s:3: expected a block size");
	expect_error(9, "\n", "x.e4s:10: unknown step \"run\"");
	expect_error(5, "task T2 writer\n", "x.e4s:5: expected \"task T1 NAME");
	expect_error(2, "title \"unterminated\n", "x.e4s:2: expected a closing");
	expect_error(4, "file /f size=lots\n", "x.e4s:4: expected a number in \"size=lots\"");
	expect_error(8, "  wirte /f\n", "x.e4s:8: unknown step \"wirte\"");
	expect_error(10, "run bug expect=sad\n", "x.e4s:10: \"expect=sad\" is not a verdict");
	expect_error(10, "file /g size=4096\n", "x.e4s:10: \"file\" out of order");
}

static void test_parse_missing(void **state)
{
	struct study *st = calloc(1, sizeof(*st));
	char err[256];

	(void)state;
	assert_int_equal(study_parse_text("y.e4s", "study y\nimage size=64K block=1024\n"
					  "task T1 t\nend\n", st, err, sizeof(err)), -22);
	assert_string_equal(err, "y.e4s: no run line");
	assert_int_equal(study_parse_text("z.e4s", "title \"t\"\n", st, err, sizeof(err)), -22);
	assert_non_null(strstr(err, "z.e4s:1: expected \"study NAME\" first"));
	free(st);
}

/* The good scenario: the bug run deadlocks, the fixed run is clean, and replaying
 * the reported schedule gives the same verdict. */
static void test_run_and_replay(void **state)
{
	struct study *st = calloc(1, sizeof(*st));
	struct study_opts o = { .bound = -1, .world = -1 };
	struct study_result r, again;
	char err[256];

	(void)state;
	assert_int_equal(study_parse_text("s.e4s", good, st, err, sizeof(err)), 0);
	for (int b = 0; b < 2; b++) {
		assert_int_equal(study_run_one(st, 0, st->block[b], &o, &r), 0);
		assert_string_equal(r.verdict, "deadlock");
		assert_true(r.ok);
		o.replay = r.schedule;
		assert_int_equal(study_run_one(st, 0, st->block[b], &o, &again), 0);
		assert_string_equal(again.verdict, "deadlock");
		o.replay = NULL;
		assert_int_equal(study_run_one(st, 1, st->block[b], &o, &r), 0);
		assert_string_equal(r.verdict, "clean");
		assert_true(r.complete);
	}
	free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_missing),
		cmocka_unit_test(test_run_and_replay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
