/* The container's console: a pty of the container's own devpts, bound onto /dev/console.
 *
 * CVE-2025-52565 (runc): /dev/console and /dev/pts/N were reached by path, so a symlink
 * planted in the image could turn the bind of the pty into a mount over, e.g., a procfs
 * file. Here: ptmx is opened inside the rootfs and must be a real devpts ptmx (5:2 on a
 * devpts mount); the slave comes from TIOCGPTPEER on it (no path at all); /dev must be a
 * real directory reached without symlinks; /dev/console is opened with O_NOFOLLOW, created
 * as a regular file when missing, and must be a regular file or a char device not on
 * procfs or sysfs; the bind goes from fd to fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>
#include "init.h"
#include "safepath.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

static int is_devpts(int fd)
{
    struct statfs sfs;
    return fstatfs(fd, &sfs) == 0 && sfs.f_type == DEVPTS_SUPER_MAGIC;
}

/* The pty slave of master: TIOCGPTPEER, or (kernels < 4.13) /dev/pts/N checked to be it. */
static int pty_peer(int rootfd, int master)
{
    int fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0 || (errno != EINVAL && errno != ENOTTY))
        return fd;
    int n;
    if (ioctl(master, TIOCGPTN, &n) < 0)
        return -1;
    char path[64];
    snprintf(path, sizeof path, "/dev/pts/%d", n);
    fd = sp_open(rootfd, path, O_RDWR | O_NOCTTY, RESOLVE_NO_SYMLINKS);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 136 ||
                    minor(st.st_rdev) != (unsigned)n || !is_devpts(fd))) {
        close(fd);
        errno = EXDEV;
        return -1;
    }
    return fd;
}

/* /dev/console as an O_PATH fd: never through a symlink, never on procfs or sysfs. */
static int open_console(int rootfd)
{
    int devfd = sp_open(rootfd, "/dev", O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS);
    if (devfd < 0 && errno == ENOENT) {
        devfd = sp_mkdir_all(rootfd, "/dev", 0755);
        if (devfd >= 0) {  /* made now: re-open without following anything */
            close(devfd);
            devfd = sp_open(rootfd, "/dev", O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS);
        }
    }
    if (devfd < 0)
        return fail_errno("console: /dev in the container");
    int fd = openat(devfd, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        int f = openat(devfd, "console", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0);
        if (f >= 0) {
            close(f);
            fd = openat(devfd, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
        }
    }
    close(devfd);
    if (fd < 0)
        return fail_errno("console: /dev/console in the container");
    struct stat st;
    struct statfs sfs;
    if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0 ||
        !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)) ||
        sfs.f_type == PROC_SUPER_MAGIC || sfs.f_type == SYSFS_MAGIC) {
        close(fd);
        return fail("console: /dev/console in the container is not a file or a device "
                    "(a symlink or a special file?)");
    }
    return fd;
}

int rootfs_console(const struct plan *p, int *master, int *slave)
{
    char a[SP_FDPATH], b[SP_FDPATH];
    *master = *slave = -1;
    int rootfd = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return fail_errno("console: rootfs %s", p->rootfs);
    int ptmx = -1, pty = -1, cfd = -1;
    ptmx = sp_open(rootfd, "/dev/pts/ptmx", O_RDWR | O_NOCTTY, RESOLVE_NO_SYMLINKS);
    struct stat st;
    if (ptmx < 0) {
        fail_errno("console: open /dev/pts/ptmx in the container (is devpts mounted?)");
        goto err;
    }
    /* the container's own devpts instance, not a node the image planted */
    if (fstat(ptmx, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(5, 2) ||
        !is_devpts(ptmx)) {
        fail("console: /dev/pts/ptmx in the container is not a devpts ptmx");
        goto err;
    }
    int unlock = 0;
    if (ioctl(ptmx, TIOCSPTLCK, &unlock) < 0) {
        fail_errno("console: unlock the pty");
        goto err;
    }
    pty = pty_peer(rootfd, ptmx);
    if (pty < 0) {
        fail_errno("console: open the pty slave");
        goto err;
    }
    cfd = open_console(rootfd);
    if (cfd < 0)
        goto err;
    if (mount(sp_fdpath(pty, a), sp_fdpath(cfd, b), NULL, MS_BIND, NULL) < 0) {
        fail_errno("console: bind the pty onto /dev/console");
        goto err;
    }
    close(cfd);
    close(rootfd);
    *master = ptmx;
    *slave = pty;
    return 0;
err:
    if (cfd >= 0) close(cfd);
    if (pty >= 0) close(pty);
    if (ptmx >= 0) close(ptmx);
    close(rootfd);
    return -1;
}
