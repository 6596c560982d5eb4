/*
 * tools: `e4lab fsck [--json] [-v] [--progress|--no-progress] IMAGE`, read-only.
 * The progress bar is on by default when stderr is a terminal and the image
 * is large; --progress forces it, --no-progress turns it off.
 * Calls libfs/check only.  Exit status as e2fsck's: 0 clean (also when the
 * journal only needs recovery), 4 errors left, 8 operational error, 16 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "libfs/check/chk.h"

static void help(FILE *out)
{
	fprintf(out,
		"usage: e4lab fsck [--json] [-v] [--progress|--no-progress] IMAGE\n"
		"\n"
		"Check IMAGE (plain or .gz) read-only, with e2fsck's passes plus the journal's\n"
		"replayability and inline-data checks.  One finding per line (inode, block or\n"
		"group, a stable code, what is wrong), then the verdict: clean, needs-recovery\n"
		"(a journal to replay or orphans to process) or corrupt.\n"
		"\n"
		"  --json         {\"verdict\": ..., \"findings\": [{\"code\", \"inode\"|\"block\"|\"group\",\n"
		"                 \"severity\", \"message\"}]}\n"
		"  -v             per-pass progress on stderr\n"
		"  --progress     a progress bar on stderr (default: on a terminal, large images)\n"
		"\n"
		"Exit status as e2fsck -n: 0 clean or needs-recovery, 4 corrupt, 8 the image\n"
		"could not be read, 16 usage.\n");
}

static int usage(void)
{
	help(stderr);
	return 16;
}

int cmd_fsck(int argc, char **argv)
{
	struct chk_opts opts = { .verbose = 0, .progress = isatty(2), .log = stderr };
	struct chk_report rep;
	const char *image = NULL;
	int json = 0, ret, status;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			help(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
			opts.verbose = 1;
		else if (!strcmp(argv[i], "--progress"))
			opts.progress = 2;
		else if (!strcmp(argv[i], "--no-progress"))
			opts.progress = 0;
		else if (!strcmp(argv[i], "-n") || !strcmp(argv[i], "-f") || !strcmp(argv[i], "-fn"))
			;	/* e2fsck habits: always read-only and forced */
		else if (argv[i][0] == '-' || image)
			return usage();
		else
			image = argv[i];
	}
	if (!image)
		return usage();
	ret = chk_image(image, &opts, &rep);
	if (ret && rep.count == 0) {
		fprintf(stderr, "e4lab fsck: %s: %s\n", image, strerror(-ret));
		if (json)
			printf("{\"verdict\": \"error\", \"error\": \"%s\", \"findings\": []}\n", strerror(-ret));
		chk_report_free(&rep);
		return 8;
	}
	if (json)
		chk_print_json(stdout, &rep);
	else
		chk_print_text(stdout, &rep);
	status = chk_exit_status(&rep);
	chk_report_free(&rep);
	return status;
}
