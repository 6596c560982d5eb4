/*
 * tools/main.c - the e4lab command: global options, then one subcommand from the
 * table below (tools layer; calls tools/cmd_*.c, which call only e4lab.h).
 * Exit statuses: 0 ok, 1 usage, 2 operational error, 3 cut by --crash-after.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cmds.h"
#include "tools/util.h"

/* Built elsewhere; absent until their files are in tools_e4lab_SOURCES. */
#pragma weak cmd_fsck
#pragma weak cmd_journal
#pragma weak cmd_recover
#pragma weak cmd_mount
#pragma weak cmd_umount

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "mkfs", cmd_mkfs, "make an ext4 image" },
	{ "info", cmd_info, "show the superblock summary" },
	{ "ls", cmd_ls, "list a directory" },
	{ "stat", cmd_stat, "show an inode (inline data or not)" },
	{ "cat", cmd_cat, "print a file to stdout" },
	{ "write", cmd_write, "write stdin into a file" },
	{ "put", cmd_put, "copy local files or trees into the image" },
	{ "get", cmd_get, "copy files or trees out of the image" },
	{ "mkdir", cmd_mkdir, "make a directory" },
	{ "rm", cmd_rm, "remove a file or (with -r) a tree" },
	{ "mv", cmd_mv, "rename" },
	{ "truncate", cmd_truncate, "set a file's size" },
	{ "fsck", cmd_fsck, "check an image (read-only)" },
	{ "journal", cmd_journal, "show the journal" },
	{ "recover", cmd_recover, "replay the journal" },
	{ "mount", cmd_mount, "serve the image on a directory through FUSE" },
	{ "umount", cmd_umount, "stop a FUSE mount" },
	{ "demo", cmd_demo, "make, fill, check and read back an image" },
	{ "study", cmd_study, "run the kernel write-path studies (studies/*.e4s)" },
	{ "explore", cmd_explore, "explore the schedules of one scenario file" },
	{ "gentree", cmd_gentree, "generate a test tree (development)" },
	{ "cmptree", cmd_cmptree, "compare two local trees (development)" },
};

static const char usage[] =
	"usage: e4lab [--crash-after=N] [--data=ordered|writeback|journal] "
	"COMMAND [ARGS...]\n";

static int global_help(void)
{
	printf("%s\nCommands (IMAGE always comes first; \"e4lab COMMAND --help\" for each):\n",
	       usage);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-10s %s\n", commands[i].name, commands[i].summary);
	printf("\nGlobal options:\n"
	       "  --crash-after=N   let only the first N block writes reach the image,\n"
	       "                    then exit with status 3 (a simulated crash)\n"
	       "  --data=MODE       journal data mode: ordered (default), writeback, journal\n"
	       "  -h, --help        this help\n"
	       "  --version         print the version\n"
	       "\nExit status: 0 success, 1 usage error, 2 operational error, 3 crash cut.\n");
	return EXIT_OK;
}

static int parse_data_mode(const char *s)
{
	struct tool_globals *g = tool_globals();

	if (!strcmp(s, "ordered"))
		g->data_mode = E4_DATA_ORDERED;
	else if (!strcmp(s, "writeback"))
		g->data_mode = E4_DATA_WRITEBACK;
	else if (!strcmp(s, "journal"))
		g->data_mode = E4_DATA_JOURNAL;
	else
		return -EINVAL;
	g->data_mode_set = 1;
	return 0;
}

static int parse_crash_after(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v == 0)
		return -EINVAL;
	tool_globals()->crash_after = v;
	return 0;
}

/* "--opt=VALUE" or "--opt VALUE": the value, advancing *i for the second form. */
static const char *option_value(int argc, char **argv, int *i, const char *opt)
{
	size_t n = strlen(opt);

	if (strncmp(argv[*i], opt, n))
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] == 0 && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

/* Parses the global options; returns the index of the subcommand, -1 on a usage
 * error, -2 for --help. */
static int parse_globals(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *v;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return -2;
		if ((v = option_value(argc, argv, &i, "--crash-after"))) {
			if (parse_crash_after(v) < 0) {
				tool_msg("--crash-after wants a positive count, not '%s'", v);
				return -1;
			}
		} else if ((v = option_value(argc, argv, &i, "--data"))) {
			if (parse_data_mode(v) < 0) {
				tool_msg("--data wants ordered, writeback or journal, not '%s'", v);
				return -1;
			}
		} else {
			tool_msg("unknown option '%s'", argv[i]);
			return -1;
		}
	}
	return i < argc ? i : -1;
}

int main(int argc, char **argv)
{
	int first;

	if (argc >= 2 && !strcmp(argv[1], "--version")) {
		printf("e4lab %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	first = parse_globals(argc, argv);
	if (first == -2)
		return global_help();
	if (first < 0)
		return tool_usage(usage);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, argv[first]))
			continue;
		if (!commands[i].fn) {
			tool_msg("%s: not built yet in this tree", argv[first]);
			return EXIT_FAIL;
		}
		return commands[i].fn(argc - first, argv + first);
	}
	tool_msg("unknown command '%s'", argv[first]);
	return tool_usage(usage);
}
