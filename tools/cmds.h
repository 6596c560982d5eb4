/*
 * tools/cmds.h - the e4lab subcommands.  Each takes the arguments after the
 * global options (argv[0] is the subcommand's name) and returns the exit status:
 * 0 ok, 1 usage error, 2 operational error (see tools/util.h).
 */
#ifndef E4_TOOLS_CMDS_H
#define E4_TOOLS_CMDS_H

int cmd_mkfs(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_write(int argc, char **argv);
int cmd_put(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_mkdir(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_mv(int argc, char **argv);
int cmd_truncate(int argc, char **argv);
int cmd_demo(int argc, char **argv);
/* The kernel-model studies (tools/cmd_study.c). */
int cmd_study(int argc, char **argv);
int cmd_explore(int argc, char **argv);

/* Development helpers used by the demo, tests/ and bench/. */
int cmd_gentree(int argc, char **argv);
int cmd_cmptree(int argc, char **argv);

/* Written in their own files by other parts of the project (libfs/check,
 * journal/, the FUSE mount); main.c links without them and says so when they
 * are missing. */
int cmd_fsck(int argc, char **argv);
int cmd_journal(int argc, char **argv);
int cmd_recover(int argc, char **argv);
/* The FUSE mount (tools/cmd_mount.c), built only with libfuse3. */
int cmd_mount(int argc, char **argv);
int cmd_umount(int argc, char **argv);

#endif /* E4_TOOLS_CMDS_H */
