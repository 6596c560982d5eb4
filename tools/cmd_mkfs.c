/*
 * tools/cmd_mkfs.c - `e4lab mkfs`: make an ext4 image through e4_mkfs (tools
 * layer; calls e4lab.h only).  The image file is created or resized to SIZE.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cmds.h"
#include "tools/util.h"

static const char mkfs_usage[] =
	"usage: e4lab mkfs [-b BLOCKSIZE] [-I INODESIZE] [-i BYTES-PER-INODE]\n"
	"                  [-O FEATURE,...] [-L LABEL] [-J BLOCKS] [--no-journal] IMAGE SIZE\n";

static const char mkfs_help[] =
	"usage: e4lab mkfs [-b BLOCKSIZE] [-I INODESIZE] [-i BYTES-PER-INODE]\n"
	"                  [-O FEATURE,...] [-L LABEL] [-J BLOCKS] [--no-journal] IMAGE SIZE\n"
	"\n"
	"Make an ext4 file system in IMAGE (created, or resized to SIZE).  SIZE takes\n"
	"K, M, G, T suffixes (powers of 1024).  Defaults: 4096-byte blocks, 256-byte\n"
	"inodes, features extents, 64bit, metadata_csum, inline_data, has_journal.\n"
	"\n"
	"  -b BLOCKSIZE      1024, 2048 or 4096\n"
	"  -I INODESIZE      128 up to the block size, a power of two\n"
	"  -i BYTES          bytes per inode (default 16384)\n"
	"  -O FEATURE,...    features as mke2fs -O: \"^inline_data\" turns one off\n"
	"  -L LABEL          volume label (16 bytes at most)\n"
	"  -J BLOCKS         journal size in blocks (default: as mke2fs chooses)\n"
	"  --no-journal      no has_journal\n";

/* Parses a number option; 0 or -1 with a message. */
static int parse_uint(const char *opt, const char *s, uint32_t *out)
{
	uint64_t v;

	if (tool_parse_size(s, &v) < 0 || v > UINT32_MAX) {
		tool_msg("mkfs: %s wants a number, not '%s'", opt, s);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/* Fills @o from argv; returns the index of IMAGE or -1 on a usage error. */
static int mkfs_parse(int argc, char **argv, struct e4_mkfs_opts *o)
{
	static const struct option longopts[] = {
		{ "no-journal", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t v;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "b:I:i:O:L:J:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (parse_uint("-b", optarg, &v) < 0)
				return -1;
			o->block_size = v;
			break;
		case 'I':
			if (parse_uint("-I", optarg, &v) < 0)
				return -1;
			o->inode_size = v;
			break;
		case 'i':
			if (parse_uint("-i", optarg, &o->inode_ratio) < 0)
				return -1;
			break;
		case 'J':
			if (parse_uint("-J", optarg, &o->journal_blocks) < 0)
				return -1;
			break;
		case 'O': o->features = optarg; break;
		case 'L': o->label = optarg; break;
		case 'n': o->no_journal = 1; break;
		default: return -1;
		}
	}
	return optind;
}

static int mkfs_check(const struct e4_mkfs_opts *o)
{
	if (o->block_size != 1024 && o->block_size != 2048 && o->block_size != 4096) {
		tool_msg("mkfs: block size must be 1024, 2048 or 4096");
		return -1;
	}
	if (o->inode_size < 128 || o->inode_size > o->block_size ||
	    (o->inode_size & (o->inode_size - 1))) {
		tool_msg("mkfs: inode size must be a power of two from 128 to the block size");
		return -1;
	}
	if (o->label && strlen(o->label) > 16) {
		tool_msg("mkfs: label is longer than 16 bytes");
		return -1;
	}
	return 0;
}

int cmd_mkfs(int argc, char **argv)
{
	struct e4_mkfs_opts o;
	const char *image;
	int i, err;

	if (tool_wants_help(argc, argv))
		return tool_help(mkfs_help);
	e4_mkfs_opts_init(&o);
	i = mkfs_parse(argc, argv, &o);
	if (i < 0 || argc - i != 2)
		return tool_usage(mkfs_usage);
	image = argv[i];
	if (tool_parse_size(argv[i + 1], &o.size) < 0 || o.size == 0) {
		tool_msg("mkfs: bad size '%s'", argv[i + 1]);
		return tool_usage(mkfs_usage);
	}
	if (mkfs_check(&o) < 0)
		return tool_usage(mkfs_usage);
	err = e4_mkfs(image, &o);
	if (err < 0)
		return tool_fail(image, err);
	return EXIT_OK;
}
