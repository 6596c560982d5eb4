/*
 * tools/cmd_journal.c - `e4lab journal IMAGE`: prints the journal superblock
 * and the log as recovery scans it (transactions, tags, revokes, checksums,
 * where the log ends and why).  Tools layer; calls journal/ read-only.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "journal/jbd.h"
#include "tools/cmds.h"
#include "tools/util.h"

static const char journal_usage[] = "usage: e4lab journal IMAGE\n";
static const char journal_help[] =
	"usage: e4lab journal IMAGE\n"
	"\n"
	"Print the journal: its superblock, then every block recovery would read,\n"
	"from the log start: descriptor blocks and their tags, revoke records,\n"
	"commit blocks, with checksums; where the log ends and why; what a\n"
	"replay would write.  Read-only.\n"
	"Exit status: 0 printed (even if the journal needs recovery), 2 error.\n";

int cmd_journal(int argc, char **argv)
{
	struct jbd_recovery info;
	struct blk_dev *dev;
	int err = 0, ret;

	if (tool_wants_help(argc, argv))
		return tool_help(journal_help);
	if (argc != 2)
		return tool_usage(journal_usage);
	dev = blk_open_image(argv[1], 1, &err);
	if (!dev)
		return tool_fail(argv[1], err);
	ret = jbd_dump(dev, stdout, &info);
	blk_close(dev);
	if (ret == -ENOENT) {
		tool_msg("%s: no journal", argv[1]);
		return EXIT_FAIL;
	}
	if (ret && !info.needed)
		return tool_fail(argv[1], ret);
	return EXIT_OK;
}
