/*
 * libfs/study/gfs2.h - write_loop=gfs2_iomap: gfs2's buffered write on the iomap path
 * (libfs/aops/iomap.c) over the study world's files.  Internal to libfs/study.
 */
#ifndef E4_STUDY_GFS2_H
#define E4_STUDY_GFS2_H

#include "libfs/study/world.h"

/* write(2) of @len bytes at @pos from @src under w->pol.iomap; the caller holds
 * i_rwsem.  Returns the bytes written or -errno. */
long gfs2_w_write(struct study_world *w, struct w_file *f, uint64_t pos, uint64_t len,
		  const struct w_src *src);

#endif /* E4_STUDY_GFS2_H */
