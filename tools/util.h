/*
 * tools/util.h - helpers shared by the e4lab subcommands: the global options,
 * mounting with them, sizes, paths, errors and exit statuses, the progress bar.
 */
#ifndef E4_TOOLS_UTIL_H
#define E4_TOOLS_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "e4lab.h"

/* Exit statuses of every subcommand. */
enum {
	EXIT_OK = 0,
	EXIT_USAGE = 1,		/* wrong arguments: usage printed */
	EXIT_FAIL = 2,		/* an operation failed: message names the path */
	EXIT_CRASH = 3,		/* --crash-after cut the image (the library exits) */
};

/* Options given before the subcommand; set once by main(). */
struct tool_globals {
	uint64_t crash_after;
	enum e4_data_mode data_mode;
	int data_mode_set;
};
struct tool_globals *tool_globals(void);

/* Mounts @image with the global options; prints "e4lab: IMAGE: error" on failure. */
int tool_mount(const char *image, int read_only, struct e4_fs **fsp);
/* Unmounts; prints the error naming @image.  Returns 0 or a negative errno. */
int tool_unmount(struct e4_fs *fs, const char *image);

/* "e4lab: " + formatted message + "\n" on stderr. */
void tool_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "e4lab: WHAT: strerror(-err)" on stderr; returns EXIT_FAIL. */
int tool_fail(const char *what, int err);
/* Prints @usage to stderr (with a pointer to --help) and returns EXIT_USAGE. */
int tool_usage(const char *usage);
/* Prints @help to stdout and returns EXIT_OK. */
int tool_help(const char *help);

/* 1 when argv has --help or -h anywhere before "--" (the caller prints help). */
int tool_wants_help(int argc, char **argv);

/* "512M", "1G", "4096", "10K": bytes.  Returns 0 or -EINVAL. */
int tool_parse_size(const char *s, uint64_t *out);
/* "1.5 MiB" style, into @buf. */
const char *tool_human(uint64_t bytes, char *buf, size_t size);

/* Joins @dir and @name with one '/', allocated; NULL on ENOMEM. */
char *tool_join(const char *dir, const char *name);
/* The last component of @path ("a/b/" -> "b", "/" -> ""), allocated. */
char *tool_basename(const char *path);
/* Normalises an image path: leading '/', no repeated or trailing '/'. */
char *tool_image_path(const char *path);

/* Seconds on the monotonic clock. */
double tool_now(void);

/*
 * A progress bar on stderr, drawn only when stderr is a terminal and the job has
 * run for half a second, then at most ten times a second.  tool_progress_done
 * erases it.
 */
struct tool_progress {
	int enabled;
	const char *verb;
	uint64_t total_bytes, total_files;
	uint64_t bytes, files;
	double start, last_draw;
};
void tool_progress_init(struct tool_progress *p, const char *verb);
void tool_progress_add(struct tool_progress *p, uint64_t bytes, uint64_t files);
void tool_progress_done(struct tool_progress *p);

/* A growable array of strings (for directory listings). */
struct tool_names {
	char **v;
	size_t n, cap;
};
int tool_names_add(struct tool_names *names, const char *name, size_t len);
void tool_names_sort(struct tool_names *names);
void tool_names_free(struct tool_names *names);
/* Reads the entries of image directory @path without "." and ".."; a name that
 * is empty or holds '/' (corruption) fails with -EUCLEAN after a message. */
int tool_image_list(struct e4_fs *fs, const char *path, struct tool_names *names);

/*
 * A set of hard-linked inodes already copied: key (dev, ino) to the path of the
 * first copy.  Used by put (local dev/ino) and get (image ino, dev 0).
 */
struct tool_links {
	struct tool_link *tab;
	size_t n, cap;
};
struct tool_link {
	uint64_t dev, ino;
	char *path;
};
/* The path the key was first copied to, or NULL. */
const char *tool_links_find(const struct tool_links *l, uint64_t dev, uint64_t ino);
int tool_links_add(struct tool_links *l, uint64_t dev, uint64_t ino, const char *path);
void tool_links_free(struct tool_links *l);

/* Runs @argv (argv[0] found by tool_which); returns its exit status, 127 if it
 * cannot run, 128+signal if killed.  @out: file for stdout and stderr, or NULL to
 * inherit ours. */
int tool_run(char *const argv[], const char *out);
/* The full path of a program in PATH, /usr/sbin or /sbin (allocated), or NULL. */
char *tool_which(const char *prog);

#endif /* E4_TOOLS_UTIL_H */
