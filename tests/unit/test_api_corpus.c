/*
 * tests/unit/test_api_corpus.c - every image of e2fsprogs' test corpus
 * (shared/corpus/e2fsprogs, many of them corrupt on purpose) is mounted
 * read-only and walked through the public API: readdir, stat, readlink, read,
 * xattrs.  Errors are fine; a crash, a hang or a sanitizer report is not.  Then
 * a read-write mount of a copy takes a few changes and must not crash either.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "e4lab.h"

#define MAX_DEPTH	8
#define MAX_ENTRIES	400	/* per image: corrupt directories can loop */

struct walk {
	struct e4_fs *fs;
	unsigned entries;
	unsigned errors;
	char names[64][256];
	unsigned nnames;
};

static int collect(void *arg, const char *name, size_t len, uint32_t ino, unsigned dt)
{
	struct walk *w = arg;

	if ((len == 1 && name[0] == '.') || (len == 2 && !memcmp(name, "..", 2)))
		return 0;
	if (w->nnames < 64 && len < 255) {
		memcpy(w->names[w->nnames], name, len);
		w->names[w->nnames][len] = 0;
		w->nnames++;
	}
	return 0;
}

static void visit_file(struct walk *w, const char *path)
{
	struct e4_file *fp;
	char buf[8192], list[1024];
	ssize_t n;
	uint64_t off = 0;
	int i;

	if (e4_open(w->fs, path, O_RDONLY | O_NOFOLLOW, 0, &fp) == 0) {
		for (i = 0; i < 64; i++) {
			n = e4_pread(fp, buf, sizeof(buf), off);
			if (n <= 0)
				break;
			off += n;
		}
		e4_close(fp);
	}
	n = e4_listxattr(w->fs, path, list, sizeof(list));
	if (n > 0 && n <= (ssize_t)sizeof(list))
		e4_getxattr(w->fs, path, list, buf, sizeof(buf));
}

static void walk_dir(struct walk *w, const char *path, int depth)
{
	struct walk sub;
	struct e4_stat st;
	char child[2048], buf[4096];
	unsigned i;

	memset(&sub, 0, sizeof(sub));
	sub.fs = w->fs;
	if (e4_readdir(w->fs, path, collect, &sub) < 0) {
		w->errors++;
		return;
	}
	for (i = 0; i < sub.nnames && w->entries < MAX_ENTRIES; i++) {
		w->entries++;
		snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") ? path : "", sub.names[i]);
		if (e4_stat(w->fs, child, &st) < 0) {
			w->errors++;
			continue;
		}
		if (S_ISLNK(st.mode))
			e4_readlink(w->fs, child, buf, sizeof(buf));
		else if (S_ISREG(st.mode))
			visit_file(w, child);
		else if (S_ISDIR(st.mode) && depth < MAX_DEPTH)
			walk_dir(w, child, depth + 1);
	}
}

/* A few changes on a read-write copy; any error is acceptable. */
static void poke(const char *img)
{
	struct e4_mount_opts o;
	struct e4_file *fp;
	struct e4_fs *fs;
	char data[5000];

	e4_mount_opts_init(&o);
	if (e4_mount(img, &o, &fs) != 0)
		return;
	memset(data, 'p', sizeof(data));
	e4_mkdir(fs, "/e4poke", 0755);
	if (e4_open(fs, "/e4poke/f", O_CREAT | O_RDWR, 0644, &fp) == 0) {
		e4_pwrite(fp, data, sizeof(data), 0);
		e4_pwrite(fp, data, 10, 1 << 20);
		e4_close(fp);
	}
	e4_symlink(fs, "/e4poke/f", "/e4poke/l");
	e4_rename(fs, "/e4poke/f", "/e4poke/g");
	e4_unlink(fs, "/e4poke/g");
	e4_unlink(fs, "/e4poke/l");
	e4_rmdir(fs, "/e4poke");
	e4_unmount(fs);
}

static void test_corpus(void **state)
{
	const char *srcdir = getenv("E4LAB_SRCDIR");
	char corpus[1024], img[1400], tmpimg[] = "/tmp/e4lab-corpus-XXXXXX";
	struct dirent *de;
	unsigned images = 0, mounted = 0;
	DIR *d;
	int fd;

	snprintf(corpus, sizeof(corpus), "%s/../shared/corpus/e2fsprogs",
		 srcdir ? srcdir : ".");
	d = opendir(corpus);
	if (!d) {
		snprintf(corpus, sizeof(corpus), "/work/shared/corpus/e2fsprogs");
		d = opendir(corpus);
	}
	if (!d)
		skip();
	fd = mkstemp(tmpimg);
	assert_true(fd >= 0);
	close(fd);
	while ((de = readdir(d)) != NULL) {
		struct walk w = { 0 };
		char cmd[3000];

		if (de->d_name[0] == '.')
			continue;
		snprintf(img, sizeof(img), "%s/%s/image.gz", corpus, de->d_name);
		if (access(img, R_OK) != 0)
			continue;
		images++;
		if (e4_mount(img, NULL, &w.fs) != 0)
			continue;
		mounted++;
		walk_dir(&w, "/", 0);
		assert_int_equal(e4_unmount(w.fs), 0);
		snprintf(cmd, sizeof(cmd), "gzip -dc %s > %s", img, tmpimg);
		if (system(cmd) == 0)
			poke(tmpimg);
	}
	closedir(d);
	unlink(tmpimg);
	print_message("%u images, %u mounted read-only and walked\n", images, mounted);
	assert_true(images > 50);
	assert_true(mounted > images / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
