/*
 * libfs/check passes 3 and 4: connectivity (every directory reaches the root
 * through the entries naming it, '..' agrees, lost+found exists) and reference
 * counts (i_links_count against the entries counted in pass 2).  Walks up the
 * parent chain at most once per directory, so the pass is linear.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "libfs/check/chk_internal.h"

#define LINK_MAX_DIR	65000	/* beyond it dir_nlink keeps i_links_count at 1 */

static int skip_inode(const struct chk_ctx *c, uint32_t ino)
{
	const struct chk_inode *ci = &c->ino[ino];
	const struct ext2_super_block *sb = c->sb;

	if (!(ci->state & CHK_I_USED) || (ci->state & (CHK_I_BAD | CHK_I_EA_INODE)))
		return 1;
	if (ino < c->first_ino && ino != EXT2_ROOT_INO)
		return 1;
	if ((ci->state & CHK_I_ORPHAN) && ci->links == 0)
		return 1;
	return ino == sb->s_journal_inum || ino == sb->s_usr_quota_inum ||
	       ino == sb->s_grp_quota_inum || ino == sb->s_prj_quota_inum ||
	       ino == sb->s_orphan_file_inum;
}

/* Follows parents from @ino; marks the chain reached when it ends at the root. */
static void connect_dir(struct chk_ctx *c, uint32_t ino, uint8_t *reached)
{
	uint32_t cur = ino, steps = 0;

	while (!reached[cur]) {
		uint32_t p = c->ino[cur].parent;

		if (!p) {
			chk_err_ino(c, cur, "DIR_UNCONNECTED", "directory is not connected to the root");
			break;
		}
		if (++steps > c->ndirs + 1) {
			chk_err_ino(c, ino, "DIR_LOOP", "directory is in a loop of parents");
			break;
		}
		cur = p;
	}
	/* mark the whole chain, reachable or not, so no chain is walked twice */
	for (uint32_t d = ino, n = 0; d && !reached[d] && n <= steps; d = c->ino[d].parent, n++)
		reached[d] = 1;
}

static void check_dotdot(struct chk_ctx *c, uint32_t ino)
{
	const struct chk_inode *ci = &c->ino[ino];
	uint32_t want = ino == EXT2_ROOT_INO ? EXT2_ROOT_INO : ci->parent;

	if (!(ci->state & CHK_I_DOTDOT) || !want)
		return;
	if (ci->dotdot != want)
		chk_err_ino(c, ino, "DIR_BAD_DOTDOT", "'..' is %u, should be %u", ci->dotdot, want);
}

static void check_links(struct chk_ctx *c, uint32_t ino)
{
	const struct chk_inode *ci = &c->ino[ino];

	if (ci->refs == 0) {
		if (!(ci->state & CHK_I_DIR))
			chk_err_ino(c, ino, "INODE_UNATTACHED", "inode is in use but no directory entry names it");
		return;
	}
	if ((ci->state & CHK_I_DIR) && ci->refs > LINK_MAX_DIR && ci->links == 1 &&
	    ext2fs_has_feature_dir_nlink(c->sb))
		return;
	if (ci->links != ci->refs)
		chk_err_ino(c, ino, "INODE_LINK_COUNT", "link count is %u, should be %u",
			    ci->links, ci->refs);
}

int chk_links(struct chk_ctx *c)
{
	struct chk_inode *root = &c->ino[EXT2_ROOT_INO];
	uint8_t *reached = calloc((size_t)c->ninodes + 1, 1);

	if (!reached)
		return -ENOMEM;
	if (!(root->state & CHK_I_USED) || !(root->state & CHK_I_DIR)) {
		chk_err_ino(c, EXT2_ROOT_INO, "ROOT_MISSING", "root directory is missing or not a directory");
	} else {
		reached[EXT2_ROOT_INO] = 1;
		if (!c->lost_found)
			chk_err_fs(c, "LOST_FOUND_MISSING", "/lost+found not found");
	}
	for (uint32_t ino = 1; ino <= c->ninodes; ino++) {
		if (skip_inode(c, ino) || !(c->ino[ino].state & CHK_I_DIR))
			continue;
		if (reached[EXT2_ROOT_INO])
			connect_dir(c, ino, reached);
		check_dotdot(c, ino);
	}
	for (uint32_t ino = 1; ino <= c->ninodes; ino++)
		if (!skip_inode(c, ino))
			check_links(c, ino);
	free(reached);
	return 0;
}
