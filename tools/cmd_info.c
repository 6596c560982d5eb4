/*
 * tools/cmd_info.c - `e4lab info`: the superblock summary of an image, mounted
 * read-only (tools layer; calls e4lab.h only).  IMAGE.gz is read in memory.
 */
#include <stdio.h>

#include "tools/cmds.h"
#include "tools/util.h"

static const char info_usage[] = "usage: e4lab info IMAGE\n";
static const char info_help[] =
	"usage: e4lab info IMAGE\n"
	"\n"
	"Print the file system's size, block and inode counts, features, label, UUID\n"
	"and the largest inline file.  Read-only; IMAGE may be gzip-compressed.\n";

static void print_info(const char *image, const struct e4_info *in)
{
	char h[32];

	printf("image:           %s\n", image);
	printf("label:           %s\n", in->volume_name[0] ? in->volume_name : "<none>");
	printf("uuid:            ");
	for (int i = 0; i < 16; i++)
		printf("%02x%s", in->uuid[i], (i == 3 || i == 5 || i == 7 || i == 9) ? "-" : "");
	printf("\n");
	printf("size:            %s\n",
	       tool_human(in->blocks_count * in->block_size, h, sizeof(h)));
	printf("block size:      %u\n", in->block_size);
	printf("blocks:          %llu (%llu free)\n", (unsigned long long)in->blocks_count,
	       (unsigned long long)in->free_blocks);
	printf("inode size:      %u\n", in->inode_size);
	printf("inodes:          %u (%u free)\n", in->inodes_count, in->free_inodes);
	printf("groups:          %u\n", in->groups);
	printf("features:        %s\n", in->features);
	printf("max inline size: %u\n", in->max_inline_size);
	printf("needs recovery:  %s\n", in->needs_recovery ? "yes" : "no");
}

int cmd_info(int argc, char **argv)
{
	struct e4_fs *fs;
	struct e4_info in;
	int err;

	if (tool_wants_help(argc, argv))
		return tool_help(info_help);
	if (argc != 2 || argv[1][0] == '-')
		return tool_usage(info_usage);
	if (tool_mount(argv[1], 1, &fs) < 0)
		return EXIT_FAIL;
	err = e4_info(fs, &in);
	if (err < 0)
		tool_fail(argv[1], err);
	else
		print_info(argv[1], &in);
	if (tool_unmount(fs, argv[1]) < 0)
		err = -1;
	return err < 0 ? EXIT_FAIL : EXIT_OK;
}
