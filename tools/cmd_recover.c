/*
 * tools/cmd_recover.c - `e4lab recover IMAGE`: replays the journal into the
 * image and clears needs_recovery, as e2fsck's journal step does.  Tools
 * layer; calls journal/ and libfs/blk.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "journal/jbd.h"
#include "tools/cmds.h"
#include "tools/util.h"

static const char recover_usage[] = "usage: e4lab recover [-n] IMAGE\n";
static const char recover_help[] =
	"usage: e4lab recover [-n] IMAGE\n"
	"\n"
	"Replay the journal into IMAGE (scan, revoke, replay as the kernel does),\n"
	"then mark the log empty and clear needs_recovery.  A corrupt transaction\n"
	"stops the replay before it, as in the kernel; like e2fsck, the image is\n"
	"then marked for a check.\n"
	"  -n   scan only: report what would be replayed, write nothing\n"
	"Exit status: 0 replayed or nothing to do, 2 error or corrupt journal.\n";

static void report(const char *image, const struct jbd_recovery *info, int dry)
{
	if (!info->needed) {
		printf("%s: journal clean, nothing to replay\n", image);
		return;
	}
	printf("%s: %s %lu block%s from %lu transaction%s", image,
	       dry ? "would replay" : "replayed", info->replayed,
	       info->replayed == 1 ? "" : "s", info->transactions,
	       info->transactions == 1 ? "" : "s");
	if (info->transactions)
		printf(" (%u..%u)", info->start_tid, info->end_tid - 1);
	printf(", %lu revoked\n", info->revoke_hits);
	if (info->stop[0])
		printf("%s: log ends: %s\n", image, info->stop);
}

int cmd_recover(int argc, char **argv)
{
	struct jbd_recovery info;
	struct blk_dev *dev;
	const char *image;
	int dry = 0, err = 0, ret;

	if (tool_wants_help(argc, argv))
		return tool_help(recover_help);
	if (argc == 3 && !strcmp(argv[1], "-n"))
		dry = 1;
	else if (argc != 2)
		return tool_usage(recover_usage);
	image = argv[argc - 1];
	dev = blk_open_image(image, dry, &err);
	if (!dev)
		return tool_fail(image, err);
	if (!dry && dev->read_only) {
		blk_close(dev);
		tool_msg("%s: read-only image (gzip?): use -n", image);
		return EXIT_FAIL;
	}
	ret = jbd_recover(dev, dry ? JBD_RECOVER_DRY : JBD_RECOVER_FIX, stderr, &info);
	blk_close(dev);
	if (ret == -ENOENT) {
		printf("%s: no journal\n", image);
		return EXIT_OK;
	}
	report(image, &info, dry);
	if (ret)
		return tool_fail(image, ret);
	return EXIT_OK;
}
