/* Paths inside a container's rootfs, resolved as if the rootfs were "/" (see safepath.c).
 *
 * Every lookup is openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) from an O_PATH fd of
 * the rootfs: symlinks in the image (absolute or with "..") resolve inside it and can never
 * reach the host. Callers act on the returned fds (mount onto /proc/self/fd/N, fstat,
 * *at calls) so nothing can swap the path between the check and the use. All fds are
 * O_CLOEXEC. On error these return -1 with errno set (callers word the message).
 */
#ifndef PYRUNC_SAFEPATH_H
#define PYRUNC_SAFEPATH_H

#include <stddef.h>
#include <sys/types.h>

#define SP_FDPATH 40

/* openat2(rootfd, path, flags | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra). */
int sp_open(int rootfd, const char *path, int flags, unsigned long long extra_resolve);
/* "/proc/self/fd/N" of fd, in buf. */
char *sp_fdpath(int fd, char buf[SP_FDPATH]);
/* 1 when path has a ".." component (refused in destinations, as runc does). */
int sp_has_dotdot(const char *path);
/* 1 when path names the rootfs itself ("", "/", "/./"). */
int sp_is_root(const char *path);
/* Create the missing directories of path (mode) and return an O_PATH fd of it. A component
 * that exists but is a dangling symlink, or not a directory, is an error (ENOENT, ENOTDIR). */
int sp_mkdir_all(int rootfd, const char *path, mode_t mode);
/* An O_PATH fd of path, created when missing: a directory, or with `file` an empty regular
 * file (O_CREAT|O_EXCL|O_NOFOLLOW) whose parents are created as directories. */
int sp_open_or_create(int rootfd, const char *path, int file);
/* The parent directory of path (created when missing) as an O_PATH fd, and the last
 * component in name; for the *at calls (mknodat, symlinkat, unlinkat). */
int sp_open_parent(int rootfd, const char *path, char *name, size_t namelen);

#endif
