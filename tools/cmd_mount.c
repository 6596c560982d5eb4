/*
 * tools/cmd_mount.c - `e4lab mount` and `e4lab umount` (tools layer: calls
 * e4lab.h, libfuse3 and libc).  The server holds an exclusive flock on the image
 * from before e4_mount until after e4_unmount; umount waits for that lock.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "tools/cmds.h"
#include "tools/mount_ops.h"
#include "tools/util.h"

static const char mount_usage[] = "usage: e4lab mount [-f] [-d] [-o OPTIONS] IMAGE DIR\n";
static const char mount_help[] =
	"usage: e4lab mount [-f] [-d] [-o OPTIONS] IMAGE DIR\n"
	"\n"
	"Serve IMAGE at DIR through FUSE, journaled (ordered mode by default).  The\n"
	"command returns once the mount is up and the server runs in the background.\n"
	"\n"
	"  -f           stay in the foreground (Ctrl-C unmounts)\n"
	"  -d           FUSE debug output (implies -f)\n"
	"  -o OPTIONS   comma-separated:\n"
	"       ro, rw            read-only or read-write (default rw)\n"
	"       data=MODE         ordered (default), writeback or journal\n"
	"       commit=SECONDS    journal commit interval (default 5)\n"
	"       cache=SIZE        engine page-cache bound (default 64M)\n"
	"       readahead=SIZE    the kernel's readahead on the mount (default: the\n"
	"                         largest read request, about 1M; root only)\n"
	"       allow_other       let other users in (always on for root)\n"
	"       nosplice          read file data through the engine only, never\n"
	"                         spliced from the image file\n"
	"       max_read=SIZE     largest read request (default: 1M with nosplice,\n"
	"                         else what fits a pipe, 1M - 40K by default)\n"
	"       other options are passed to FUSE (see mount.fuse3(8))\n"
	"\n"
	"Permissions are checked by the kernel (default_permissions) against the\n"
	"modes and owners the image stores.  An image mounted elsewhere (e4lab,\n"
	"fuse2fs, or the kernel through a loop device) is refused.  Unmount with\n"
	"\"e4lab umount DIR\", which returns once the image is complete.\n";

static const char umount_usage[] = "usage: e4lab umount [-t SECONDS] DIR\n";
static const char umount_help[] =
	"usage: e4lab umount [-t SECONDS] DIR\n"
	"\n"
	"Unmount an e4lab mount and wait until its server has written back, committed\n"
	"and checkpointed everything (at most SECONDS, default 120): when this returns\n"
	"0 the image is complete and consistent.\n";

struct mount_req {
	char *image;		/* absolute */
	char *dir;		/* absolute */
	int foreground;
	int debug;
	int allow_other;
	int nosplice;		/* every read through the engine (op_read_buf) */
	uint64_t readahead;	/* bytes, for the kernel's readahead on the mount
				 * (0: one read request) */
	unsigned max_read;	/* bytes, largest read request (0: libfuse's) */
	struct e4_mount_opts eo;
	char *fuse_opts;	/* options passed through to libfuse, or NULL */
};

/* ---- the pid file: /run/e4lab/HASH.pid names a mount point's server ---------- */

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static const char *run_dir(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (geteuid() == 0)
		snprintf(buf, size, "/run/e4lab");
	else if (xdg && *xdg)
		snprintf(buf, size, "%s/e4lab", xdg);
	else
		snprintf(buf, size, "/tmp/e4lab-%u", (unsigned)geteuid());
	return buf;
}

static void pidfile_path(const char *dir, char *buf, size_t size)
{
	char rd[PATH_MAX];

	snprintf(buf, size, "%s/%016llx.pid", run_dir(rd, sizeof(rd)),
		 (unsigned long long)fnv1a(dir));
}

/* "PID IMAGE DIR" lines; a failure only costs umount its pid in messages. */
static void pidfile_write(const struct mount_req *r)
{
	char rd[PATH_MAX], path[PATH_MAX + 32];
	FILE *f;

	mkdir(run_dir(rd, sizeof(rd)), 0755);
	pidfile_path(r->dir, path, sizeof(path));
	f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "%ld\n%s\n%s\n", (long)getpid(), r->image, r->dir);
	fclose(f);
}

static void pidfile_remove(const char *dir)
{
	char path[PATH_MAX + 32];

	pidfile_path(dir, path, sizeof(path));
	unlink(path);
}

static long pidfile_read(const char *dir)
{
	char path[PATH_MAX + 32];
	long pid = 0;
	FILE *f;

	pidfile_path(dir, path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid;
}

/* ---- who else holds the image ----------------------------------------------- */

/* Undoes mountinfo's octal escapes ("\040" for a space) in place. */
static void unescape_octal(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = 0;
}

struct mount_entry {
	char *dev, *mnt_point, *fstype, *source;	/* point into the line */
};

/* Splits one /proc/self/mountinfo line; 0 or -EINVAL. */
static int parse_mountinfo(char *line, struct mount_entry *e)
{
	char *field[5], *save, *dash;
	int i;

	dash = strstr(line, " - ");
	if (!dash)
		return -EINVAL;
	*dash = 0;
	field[0] = strtok_r(line, " ", &save);
	for (i = 1; i < 5 && field[i - 1]; i++)
		field[i] = strtok_r(NULL, " ", &save);
	if (i < 5 || !field[4])
		return -EINVAL;
	e->dev = field[2];
	e->mnt_point = field[4];
	e->fstype = strtok_r(dash + 3, " ", &save);
	e->source = strtok_r(NULL, " \n", &save);
	if (!e->fstype || !e->source)
		return -EINVAL;
	unescape_octal(e->mnt_point);
	unescape_octal(e->source);
	return 0;
}

static int same_file(const struct stat *a, const char *path)
{
	struct stat b;

	return stat(path, &b) == 0 && a->st_dev == b.st_dev && a->st_ino == b.st_ino;
}

/* Is the block device @dev the image itself, or a loop device backed by it? */
static int device_holds(const struct stat *img, const char *dev)
{
	char path[PATH_MAX], backing[PATH_MAX];
	struct stat ds;
	FILE *f;
	int held = 0;

	if (stat(dev, &ds) < 0 || !S_ISBLK(ds.st_mode))
		return 0;
	if (S_ISBLK(img->st_mode))
		return ds.st_rdev == img->st_rdev;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/loop/backing_file",
		 major(ds.st_rdev), minor(ds.st_rdev));
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(backing, sizeof(backing), f)) {
		backing[strcspn(backing, "\n")] = 0;
		held = same_file(img, backing);
	}
	fclose(f);
	return held;
}

/* Does mount @e serve the image (fuse2fs names it as its source, e4lab as
 * "e4lab:IMAGE", the kernel through a loop device)? */
static int mount_holds(const struct stat *img, const struct mount_entry *e)
{
	if (!strncmp(e->source, "e4lab:", 6) && same_file(img, e->source + 6))
		return 1;
	if (same_file(img, e->source) && !S_ISBLK(img->st_mode))
		return 1;
	return device_holds(img, e->source);
}

/* -EBUSY (with a message naming the mount point) if a mount holds @image. */
static int check_not_mounted(const char *image)
{
	char *line = NULL;
	size_t cap = 0;
	struct stat img;
	int err = 0;
	FILE *f;

	if (stat(image, &img) < 0)
		return -errno;
	f = fopen("/proc/self/mountinfo", "r");
	if (!f)
		return 0;
	while (!err && getline(&line, &cap, f) > 0) {
		struct mount_entry e;

		if (parse_mountinfo(line, &e) == 0 && mount_holds(&img, &e)) {
			tool_msg("%s: already mounted at %s (%s)", image, e.mnt_point, e.fstype);
			err = -EBUSY;
		}
	}
	free(line);
	fclose(f);
	return err;
}

/* The exclusive lock that says "an e4lab server owns this image"; returns the
 * locked descriptor or -errno (-EBUSY when another holds it). */
static int lock_image(const char *image)
{
	int fd = open(image, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* ---- options ---------------------------------------------------------------- */

static int append_opt(char **list, const char *opt)
{
	size_t old = *list ? strlen(*list) : 0;
	char *p = realloc(*list, old + strlen(opt) + 2);

	if (!p)
		return -ENOMEM;
	if (old)
		p[old++] = ',';
	strcpy(p + old, opt);
	*list = p;
	return 0;
}

static int parse_data_mode(const char *s, enum e4_data_mode *mode)
{
	if (!strcmp(s, "ordered"))
		*mode = E4_DATA_ORDERED;
	else if (!strcmp(s, "writeback"))
		*mode = E4_DATA_WRITEBACK;
	else if (!strcmp(s, "journal"))
		*mode = E4_DATA_JOURNAL;
	else
		return -EINVAL;
	return 0;
}

/*
 * The largest read request when replies are spliced from the image: a reply
 * must fit the pipe libfuse splices through, which it can grow only to
 * /proc/sys/fs/pipe-max-size (1 MiB by default; more needs CAP_SYS_RESOURCE,
 * which it does not try for) and which must hold the data, the header and, as
 * libfuse reckons, a page per piece plus one.  Otherwise libfuse falls back to
 * reading the image into memory and writing that.  At most 1 MiB, the kernel's
 * largest request (256 pages).
 */
static unsigned splice_max_read(void)
{
	long page = sysconf(_SC_PAGESIZE), pipe_max = 1 << 20;
	FILE *f = fopen("/proc/sys/fs/pipe-max-size", "r");

	if (f) {
		if (fscanf(f, "%ld", &pipe_max) != 1)
			pipe_max = 1 << 20;
		fclose(f);
	}
	if (pipe_max > (1 << 20))
		pipe_max = 1 << 20;
	pipe_max -= (MOUNT_READ_RUNS_MAX + 2) * page;
	return pipe_max < 32 * page ? (unsigned)(32 * page) : (unsigned)(pipe_max / page * page);
}

/* One -o option: ours, or kept for libfuse. */
static int parse_one_opt(struct mount_req *r, const char *o)
{
	uint64_t v;

	if (!strcmp(o, "ro"))
		r->eo.read_only = 1;
	else if (!strcmp(o, "rw"))
		r->eo.read_only = 0;
	else if (!strncmp(o, "data=", 5))
		return parse_data_mode(o + 5, &r->eo.data_mode);
	else if (!strncmp(o, "commit=", 7)) {
		char *end;

		errno = 0;
		v = strtoull(o + 7, &end, 10);
		if (errno || end == o + 7 || *end || v == 0 || v > 86400)
			return -EINVAL;
		r->eo.commit_interval_ms = (unsigned)(v * 1000);
	} else if (!strncmp(o, "cache=", 6)) {
		if (tool_parse_size(o + 6, &v) < 0 || v < (1u << 20))
			return -EINVAL;
		r->eo.pcache_bytes = (size_t)v;
	} else if (!strncmp(o, "readahead=", 10)) {
		if (tool_parse_size(o + 10, &v) < 0 || v > (1u << 30))
			return -EINVAL;
		r->readahead = v;
	} else if (!strncmp(o, "max_read=", 9)) {
		if (tool_parse_size(o + 9, &v) < 0 || v < 4096 || v > (1u << 20))
			return -EINVAL;
		r->max_read = (unsigned)v;
	} else if (!strcmp(o, "allow_other"))
		r->allow_other = 1;
	else if (!strcmp(o, "nosplice"))
		r->nosplice = 1;
	else if (!strcmp(o, "default_permissions"))
		return 0;
	else if (!strncmp(o, "fsname=", 7) || !strncmp(o, "subtype=", 8))
		return -EINVAL;
	else
		return append_opt(&r->fuse_opts, o);
	return 0;
}

static int parse_opts(struct mount_req *r, const char *list)
{
	char *copy = strdup(list), *save, *o;
	int err = copy ? 0 : -ENOMEM;

	for (o = copy ? strtok_r(copy, ",", &save) : NULL; o && !err;
	     o = strtok_r(NULL, ",", &save)) {
		err = parse_one_opt(r, o);
		if (err == -EINVAL)
			tool_msg("mount: bad option '%s'", o);
	}
	free(copy);
	return err;
}

/* Fills @r from the command line; returns 0, or EXIT_USAGE / EXIT_FAIL. */
static int parse_mount_args(int argc, char **argv, struct mount_req *r)
{
	const struct tool_globals *g = tool_globals();
	const char *pos[2];
	struct stat st;
	int npos = 0;

	e4_mount_opts_init(&r->eo);
	r->eo.crash_after = g->crash_after;
	if (g->data_mode_set)
		r->eo.data_mode = g->data_mode;
	r->allow_other = geteuid() == 0;
	r->readahead = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-f"))
			r->foreground = 1;
		else if (!strcmp(a, "-d"))
			r->debug = r->foreground = 1;
		else if (!strncmp(a, "-o", 2)) {
			const char *list = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);

			if (!list || parse_opts(r, list) < 0)
				return tool_usage(mount_usage);
		} else if (a[0] == '-' || npos == 2)
			return tool_usage(mount_usage);
		else
			pos[npos++] = a;
	}
	if (npos != 2)
		return tool_usage(mount_usage);
	if (!r->nosplice && !r->max_read)
		r->max_read = splice_max_read();
	r->image = realpath(pos[0], NULL);
	if (!r->image)
		return tool_fail(pos[0], -errno);
	r->dir = realpath(pos[1], NULL);
	if (!r->dir)
		return tool_fail(pos[1], -errno);
	if (stat(r->dir, &st) < 0)
		return tool_fail(pos[1], -errno);
	if (!S_ISDIR(st.st_mode))
		return tool_fail(pos[1], -ENOTDIR);
	return 0;
}

/* ---- the server --------------------------------------------------------------- */

/* fsname=e4lab:IMAGE (escaped for libfuse's option parser), subtype, the
 * kernel's permission checks, then the user's pass-through options. */
static int build_fuse_args(const struct mount_req *r, struct fuse_args *args)
{
	char *opts = NULL, *fsname, maxread[32] = "";
	int err = -ENOMEM;

	if (r->max_read)
		snprintf(maxread, sizeof(maxread), "max_read=%u", r->max_read);

	if (asprintf(&fsname, "fsname=e4lab:%s", r->image) < 0)
		return -ENOMEM;
	if (fuse_opt_add_arg(args, "e4lab") ||
	    fuse_opt_add_opt_escaped(&opts, fsname) ||
	    fuse_opt_add_opt(&opts, "subtype=e4lab,default_permissions") ||
	    (r->allow_other && fuse_opt_add_opt(&opts, "allow_other")) ||
	    (r->eo.read_only && fuse_opt_add_opt(&opts, "ro")) ||
	    (maxread[0] && fuse_opt_add_opt(&opts, maxread)) ||
	    (r->fuse_opts && fuse_opt_add_opt(&opts, r->fuse_opts)) ||
	    fuse_opt_add_arg(args, "-o") || fuse_opt_add_arg(args, opts) ||
	    (r->debug && fuse_opt_add_arg(args, "-d")))
		goto out;
	err = 0;
out:
	free(opts);
	free(fsname);
	return err;
}

/*
 * The kernel reads ahead on a FUSE mount by the mount's own bdi read_ahead_kb
 * (128 KiB by default), which is also the size of its read requests: larger
 * requests mean fewer round trips.  Only root may raise it; failing costs only
 * speed.  Finds the sysfs file now (the device number from mountinfo: a stat of
 * the mount point would wait for this server), writes it after INIT.
 */
static void plan_readahead(const char *dir, uint64_t bytes, struct mount_server *srv)
{
	char *line = NULL, dev[32] = "";
	size_t cap = 0;
	FILE *f;

	if (bytes == 0 || geteuid() != 0 || !(f = fopen("/proc/self/mountinfo", "r")))
		return;
	while (getline(&line, &cap, f) > 0) {
		struct mount_entry e;

		if (parse_mountinfo(line, &e) == 0 && !strcmp(e.mnt_point, dir) &&
		    !strcmp(e.fstype, "fuse.e4lab"))
			snprintf(dev, sizeof(dev), "%s", e.dev);
	}
	free(line);
	fclose(f);
	if (!dev[0])
		return;
	snprintf(srv->ra_path, sizeof(srv->ra_path), "/sys/class/bdi/%s/read_ahead_kb", dev);
	snprintf(srv->ra_kib, sizeof(srv->ra_kib), "%llu\n", (unsigned long long)(bytes >> 10));
}

/* Tells the waiting parent the mount is up (or failed with @status), detaches
 * from the terminal.  @ready_fd < 0 in the foreground. */
static void report_ready(int *ready_fd, unsigned char status)
{
	int null;

	if (*ready_fd < 0)
		return;
	if (write(*ready_fd, &status, 1) != 1)
		status = EXIT_FAIL;
	close(*ready_fd);
	*ready_fd = -1;
	if (status != EXIT_OK)
		return;
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (chdir("/") < 0)
		return;
}

/* The FUSE session over a mounted engine: mount, loop until unmounted or
 * signalled, unmount (the destroy callback runs e4_unmount).  Returns an exit status. */
static int run_fuse(const struct mount_req *r, struct mount_server *srv, int *ready_fd)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse *fuse;
	int err, status = EXIT_FAIL;

	if (build_fuse_args(r, &args) < 0) {
		tool_fail("mount", -ENOMEM);
		goto out_args;
	}
	fuse = fuse_new(&args, mount_ops(), sizeof(struct fuse_operations), srv);
	if (!fuse)
		goto out_args;
	if (fuse_mount(fuse, r->dir) != 0)
		goto out_destroy;
	if (fuse_set_signal_handlers(fuse_get_session(fuse)) != 0)
		goto out_unmount;
	plan_readahead(r->dir, r->readahead ? r->readahead : r->max_read ? r->max_read : 1 << 20,
		       srv);
	pidfile_write(r);
	report_ready(ready_fd, EXIT_OK);
	err = fuse_loop(fuse);	/* 0 unmounted, a signal number, or -errno */
	status = err < 0 ? tool_fail(r->dir, err) : EXIT_OK;
	fuse_remove_signal_handlers(fuse_get_session(fuse));
	pidfile_remove(r->dir);
out_unmount:
	fuse_unmount(fuse);
out_destroy:
	fuse_destroy(fuse);
out_args:
	fuse_opt_free_args(&args);
	return status;
}

/* Lock, check, mount the engine, serve, unmount, unlock.  Returns an exit status. */
static int serve(const struct mount_req *r, int *ready_fd)
{
	struct mount_server srv = { .image_fd = -1 };
	struct e4_info in;
	int lock_fd, err, status;

	lock_fd = lock_image(r->image);
	if (lock_fd == -EBUSY) {
		tool_msg("%s: in use by another e4lab (mounted?)", r->image);
		return EXIT_FAIL;
	}
	if (lock_fd < 0)
		return tool_fail(r->image, lock_fd);
	status = EXIT_FAIL;
	if (check_not_mounted(r->image) < 0)
		goto out_unlock;
	err = e4_mount(r->image, &r->eo, &srv.fs);
	if (err < 0) {
		tool_fail(r->image, err);
		goto out_unlock;
	}
	err = e4_info(srv.fs, &in);
	srv.block_size = err < 0 ? 4096 : in.block_size;
	if (!r->nosplice)
		srv.image_fd = lock_fd;	/* the same file, read-only */
	srv.max_read = r->max_read;
	status = run_fuse(r, &srv, ready_fd);
	err = mount_server_finish(&srv);
	if (err < 0) {
		tool_fail(r->image, err);
		status = EXIT_FAIL;
	}
out_unlock:
	close(lock_fd);
	return status;
}

/*
 * Background mode: the child serves, the parent waits for one status byte
 * (sent once the mount is up, or on failure) and exits with it, so the shell
 * sees the mount the moment `e4lab mount` returns.
 */
static int serve_in_background(const struct mount_req *r)
{
	unsigned char status = EXIT_FAIL;
	int pfd[2], ready_fd;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return tool_fail("pipe", -errno);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return tool_fail("fork", -errno);
	}
	if (pid > 0) {
		close(pfd[1]);
		if (read(pfd[0], &status, 1) != 1)
			status = EXIT_FAIL;
		close(pfd[0]);
		return status;
	}
	close(pfd[0]);
	ready_fd = pfd[1];
	setsid();
	status = (unsigned char)serve(r, &ready_fd);
	report_ready(&ready_fd, status);
	_exit(status);
}

int cmd_mount(int argc, char **argv)
{
	struct mount_req r = { 0 };
	int no_pipe = -1, status;

	if (tool_wants_help(argc, argv))
		return tool_help(mount_help);
	status = parse_mount_args(argc, argv, &r);
	if (status == 0) {
		fflush(NULL);
		status = r.foreground ? serve(&r, &no_pipe) : serve_in_background(&r);
	}
	free(r.fuse_opts);
	free(r.dir);
	free(r.image);
	return status;
}

/* ---- umount --------------------------------------------------------------------- */

/* An absolute, '/'-normalised @path without touching the file system beyond
 * getcwd (a dead FUSE mount point cannot be resolved with realpath). */
static char *absolute_path(const char *path)
{
	char cwd[PATH_MAX], *joined, *norm;

	if (path[0] == '/')
		return tool_image_path(path);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	joined = tool_join(cwd, path);
	if (!joined)
		return NULL;
	norm = tool_image_path(joined);
	free(joined);
	return norm;
}

/* The image of the e4lab mount at @dir (allocated), or NULL with a message. */
static char *find_e4lab_mount(const char *dir)
{
	char *line = NULL, *image = NULL;
	size_t cap = 0;
	int found = 0;
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f) {
		tool_fail("/proc/self/mountinfo", -errno);
		return NULL;
	}
	while (getline(&line, &cap, f) > 0) {
		struct mount_entry e;

		if (parse_mountinfo(line, &e) < 0 || strcmp(e.mnt_point, dir))
			continue;
		found = 1;	/* the last mount on @dir is the visible one */
		free(image);
		image = NULL;
		if (!strcmp(e.fstype, "fuse.e4lab") && !strncmp(e.source, "e4lab:", 6))
			image = strdup(e.source + 6);
	}
	free(line);
	fclose(f);
	if (!image)
		tool_msg("%s: %s", dir, found ? "not an e4lab mount" : "not a mount point");
	return image;
}

static int unmount_dir(const char *dir)
{
	char *argv[] = { "fusermount3", "-u", (char *)dir, NULL };
	int rc;

	if (geteuid() == 0) {
		if (umount2(dir, 0) == 0)
			return 0;
		if (errno == EBUSY)
			tool_msg("%s: busy (files open or a process inside it)", dir);
		else
			tool_fail(dir, -errno);
		return -1;
	}
	rc = tool_run(argv, NULL);
	if (rc != 0)
		tool_msg("%s: fusermount3 -u failed (status %d)", dir, rc);
	return rc ? -1 : 0;
}

/* Polls the image lock: the server drops it when e4_unmount has finished. */
static int wait_for_server(const char *image, double timeout)
{
	double end = tool_now() + timeout;
	struct timespec nap = { 0, 20 * 1000 * 1000 };

	for (;;) {
		int fd = lock_image(image);

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (fd != -EBUSY)
			return fd;
		if (tool_now() > end)
			return -ETIMEDOUT;
		nanosleep(&nap, NULL);
	}
}

int cmd_umount(int argc, char **argv)
{
	double timeout = 120;
	char *dir, *image;
	const char *arg = NULL;
	long pid;
	int err;

	if (tool_wants_help(argc, argv))
		return tool_help(umount_help);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-t") && i + 1 < argc)
			timeout = atof(argv[++i]);
		else if (argv[i][0] == '-' || arg)
			return tool_usage(umount_usage);
		else
			arg = argv[i];
	}
	if (!arg || timeout <= 0)
		return tool_usage(umount_usage);
	dir = absolute_path(arg);
	if (!dir)
		return tool_fail(arg, -ENOMEM);
	image = find_e4lab_mount(dir);
	err = image ? 0 : -1;
	pid = image ? pidfile_read(dir) : 0;
	if (!err)
		err = unmount_dir(dir);
	if (!err) {
		err = wait_for_server(image, timeout);
		if (err == -ETIMEDOUT)
			tool_msg("%s: the server (pid %ld) is still writing the image after %.0f s; "
				 "it is complete only once that process exits", image, pid, timeout);
		else if (err < 0)
			tool_fail(image, err);
		else
			pidfile_remove(dir);	/* left behind if the server was killed */
	}
	free(image);
	free(dir);
	return err ? EXIT_FAIL : EXIT_OK;
}
