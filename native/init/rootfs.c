/* The container's root filesystem, inside its new mount namespace.
 *
 * Every destination is resolved with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
 * relative to the rootfs, so a symlink planted in the image resolves inside it and never
 * reaches the host, and the mount is made onto /proc/self/fd/N of that resolved O_PATH fd,
 * so nothing can swap the path between the check and the mount. See docs/native.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>
#include "init.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

static int openat2_in(int dirfd, const char *path, int flags)
{
    struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
                            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
    while (*path == '/') path++;
    if (!*path) path = ".";
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

static char *fdpath(int fd, char buf[64])
{
    snprintf(buf, 64, "/proc/self/fd/%d", fd);
    return buf;
}

/* Open `path` inside the root `rootfd`, creating missing directories (and, when `file`
 * is set, an empty regular file as the last component). Returns an O_PATH fd. Each prefix
 * is resolved again from the root, so symlinks met on the way resolve inside the rootfs. */
static int open_or_create(int rootfd, const char *path, int file)
{
    int fd = openat2_in(rootfd, path, O_PATH);
    if (fd >= 0 || errno != ENOENT)
        return fd;
    char prefix[4096] = "";
    size_t plen = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/') p++;
        const char *end = strchrnul(p, '/');
        size_t clen = (size_t)(end - p);
        if (clen == 0) break;
        if (plen + clen + 2 >= sizeof prefix) { errno = ENAMETOOLONG; return -1; }
        char comp[256];
        if (clen >= sizeof comp) { errno = ENAMETOOLONG; return -1; }
        memcpy(comp, p, clen);
        comp[clen] = '\0';
        int parent = openat2_in(rootfd, plen ? prefix : "/", O_PATH | O_DIRECTORY);
        if (parent < 0) return -1;
        prefix[plen++] = '/';
        memcpy(prefix + plen, comp, clen + 1);
        plen += clen;
        int last = *end == '\0' || end[strspn(end, "/")] == '\0';
        fd = openat2_in(rootfd, prefix, O_PATH);
        if (fd < 0 && errno == ENOENT) {
            if (last && file) {
                int f = openat(parent, comp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (f >= 0) close(f);
            } else {
                mkdirat(parent, comp, 0755);
            }
            fd = openat2_in(rootfd, prefix, O_PATH);
        }
        close(parent);
        if (fd < 0) return -1;
        if (last) return fd;
        close(fd);
        p = end;
    }
    return openat2_in(rootfd, path, O_PATH);
}

/* ".." inside the rootfs is clamped by RESOLVE_IN_ROOT, but a destination with ".." is a
 * config mistake at best: refuse it, as runc does. */
static int dest_has_dotdot(const char *path)
{
    const char *p = path;
    while ((p = strstr(p, "..")) != NULL) {
        if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return 1;
        p += 2;
    }
    return 0;
}

static unsigned long locked_flags(const char *path)
{
    struct statvfs st;
    unsigned long f = 0;
    if (statvfs(path, &st) < 0) return 0;
    if (st.f_flag & ST_NOSUID) f |= MS_NOSUID;
    if (st.f_flag & ST_NODEV) f |= MS_NODEV;
    if (st.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
    if (st.f_flag & ST_NOATIME) f |= MS_NOATIME;
    if (st.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
    if (st.f_flag & ST_RELATIME) f |= MS_RELATIME;
    if (st.f_flag & ST_RDONLY) f |= MS_RDONLY;
    return f;
}

static int remount_bind(const char *target, unsigned long flags)
{
    if (mount("", target, NULL, MS_BIND | MS_REMOUNT | flags, NULL) == 0)
        return 0;
    if (errno != EPERM)
        return -1;
    /* in a user namespace the flags of the source mount are locked: keep them */
    return mount("", target, NULL, MS_BIND | MS_REMOUNT | flags | locked_flags(target), NULL);
}

static int do_mount(int rootfd, const struct mount_entry *m)
{
    char dst[64], src[64];
    const unsigned long settable = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS |
        MS_DIRSYNC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_MANDLOCK | MS_LAZYTIME;
    if (dest_has_dotdot(m->dest))
        return fail("mount %s: destination must not contain \"..\"", m->dest);
    int srcfd = -1, is_file = 0;
    if (m->kind == MK_BIND) {
        srcfd = open(m->source, O_PATH | O_CLOEXEC);
        if (srcfd < 0)
            return fail_errno("mount %s to %s: source", m->source, m->dest);
        struct stat st;
        if (fstat(srcfd, &st) == 0 && !S_ISDIR(st.st_mode)) is_file = 1;
    }
    int dfd = open_or_create(rootfd, m->dest, is_file);
    if (dfd < 0) {
        fail_errno("mount %s: create destination %s", m->source, m->dest);
        goto out;
    }
    int rc;
    if (m->kind == MK_BIND) {
        rc = mount(fdpath(srcfd, src), fdpath(dfd, dst), NULL, MS_BIND | (m->flags & MS_REC), NULL);
        if (rc == 0 && (m->flags & settable)) {
            close(dfd);  /* re-resolve: the old fd names the covered directory */
            dfd = openat2_in(rootfd, m->dest, O_PATH);
            rc = dfd < 0 ? -1 : remount_bind(fdpath(dfd, dst), m->flags & settable);
        }
    } else {
        rc = mount(m->source, fdpath(dfd, dst), m->fstype, m->flags & ~MS_REC, *m->data ? m->data : NULL);
        if (rc < 0 && errno == EPERM && strcmp(m->fstype, "sysfs") == 0) {
            /* no new sysfs without owning the network namespace: bind the host's, as runc */
            rc = mount("/sys", dst, NULL, MS_BIND | MS_REC, NULL);
            if (rc == 0) {
                close(dfd);
                dfd = openat2_in(rootfd, m->dest, O_PATH);
                rc = dfd < 0 ? -1 : remount_bind(fdpath(dfd, dst), (m->flags & settable) | MS_RDONLY);
            }
        }
    }
    if (rc < 0) {
        fail_errno("mount %s to %s (type %s)", m->source, m->dest, m->kind == MK_BIND ? "bind" : m->fstype);
        goto out;
    }
    if (m->propagation) {
        close(dfd);
        dfd = openat2_in(rootfd, m->dest, O_PATH);
        for (unsigned long bit = MS_UNBINDABLE; bit <= MS_SHARED; bit <<= 1) {
            if ((m->propagation & bit) &&
                (dfd < 0 || mount("", fdpath(dfd, dst), NULL, bit | (m->propagation & MS_REC), NULL) < 0)) {
                fail_errno("mount %s: set propagation", m->dest);
                goto out;
            }
        }
    }
    close(dfd);
    if (srcfd >= 0) close(srcfd);
    return 0;
out:
    if (dfd >= 0) close(dfd);
    if (srcfd >= 0) close(srcfd);
    return -1;
}

static int make_device(int rootfd, const struct device *d, int bind)
{
    char dst[64];
    if (dest_has_dotdot(d->path))
        return fail("device %s: path must not contain \"..\"", d->path);
    if (bind) {
        /* a user namespace cannot mknod: bind the host's node over an empty file */
        int dfd = open_or_create(rootfd, d->path, 1);
        if (dfd < 0) return fail_errno("device %s", d->path);
        int rc = mount(d->path, fdpath(dfd, dst), NULL, MS_BIND, NULL);
        close(dfd);
        return rc < 0 ? fail_errno("bind device %s", d->path) : 0;
    }
    char parent[4096], *slash;
    snprintf(parent, sizeof parent, "%s", d->path);
    slash = strrchr(parent, '/');
    const char *name = slash ? slash + 1 : parent;
    if (slash) *slash = '\0';
    int pfd = open_or_create(rootfd, slash && *parent ? parent : "/", 0);
    if (pfd < 0) return fail_errno("device %s: parent", d->path);
    int dirfd = openat(pfd, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);  /* mknodat needs a real dir fd */
    close(pfd);
    if (dirfd < 0) return fail_errno("device %s: parent", d->path);
    unlinkat(dirfd, name, 0);
    int rc = mknodat(dirfd, name, d->mode, makedev(d->major, d->minor));
    if (rc == 0)
        rc = fchownat(dirfd, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW);
    if (rc == 0)
        rc = fchmodat(dirfd, name, d->mode & 07777, 0);
    close(dirfd);
    return rc < 0 ? fail_errno("device %s", d->path) : 0;
}

static int dev_symlinks(int rootfd)
{
    static const char *links[][2] = {
        { "/proc/self/fd", "dev/fd" }, { "/proc/self/fd/0", "dev/stdin" },
        { "/proc/self/fd/1", "dev/stdout" }, { "/proc/self/fd/2", "dev/stderr" },
        { "pts/ptmx", "dev/ptmx" },
    };
    int devfd = openat2_in(rootfd, "/dev", O_DIRECTORY | O_RDONLY);
    if (devfd < 0) return 0;  /* no /dev at all: nothing to link */
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        const char *name = links[i][1] + 4;
        if (strcmp(name, "ptmx") == 0) unlinkat(devfd, name, 0);
        if (symlinkat(links[i][0], devfd, name) < 0 && errno != EEXIST) {
            close(devfd);
            return fail_errno("symlink /%s", links[i][1]);
        }
    }
    if (access("/proc/kcore", F_OK) == 0)
        symlinkat("/proc/kcore", devfd, "core");
    close(devfd);
    return 0;
}

static int root_fd(const struct plan *p)
{
    int fd = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail_errno("rootfs %s", p->rootfs);
    return fd;
}

static int write_sysctls(const struct plan *p)
{
    for (int i = 0; i < p->n_sysctl; i++) {
        char path[512];
        snprintf(path, sizeof path, "/proc/sys/%s", p->sysctl[i].key);
        for (char *c = path + 10; *c; c++) if (*c == '.') *c = '/';
        int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
        struct statfs sfs;
        /* the file must really be on procfs (CVE-2025-52881: redirected /proc writes) */
        if (fd < 0 || fstatfs(fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC) {
            if (fd >= 0) close(fd);
            return fail_errno("sysctl %s", p->sysctl[i].key);
        }
        size_t len = strlen(p->sysctl[i].value);
        ssize_t n = write(fd, p->sysctl[i].value, len);
        close(fd);
        if (n != (ssize_t)len)
            return fail_errno("sysctl %s=%s", p->sysctl[i].key, p->sysctl[i].value);
    }
    return 0;
}

int rootfs_prepare(const struct plan *p)
{
    /* Our mounts must not propagate back to the host: everything rslave first. The
     * configured rootfsPropagation is set on the container's root after pivot_root (a
     * shared or unbindable parent would make the rootfs bind or pivot_root fail). */
    if (mount("", "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return fail_errno("make / rslave");
    /* pivot_root needs the new root to be a mount point */
    if (mount(p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return fail_errno("bind rootfs %s", p->rootfs);
    int rootfd = root_fd(p);
    if (rootfd < 0) return -1;
    int rc = 0;
    for (int i = 0; i < p->n_mounts && rc == 0; i++)
        rc = do_mount(rootfd, &p->mounts[i]);
    for (int i = 0; i < p->n_devices && rc == 0; i++)
        rc = make_device(rootfd, &p->devices[i], p->bind_devices);
    if (rc == 0 && p->default_devices)
        rc = dev_symlinks(rootfd);
    if (rc == 0)
        rc = write_sysctls(p);
    close(rootfd);
    return rc;
}

int rootfs_console(const struct plan *p, int *master, int *slave)
{
    char a[64], b[64];
    *master = *slave = -1;
    int rootfd = root_fd(p);
    if (rootfd < 0) return -1;
    int ptmx = openat2_in(rootfd, "/dev/pts/ptmx", O_RDWR | O_NOCTTY);
    if (ptmx < 0) { close(rootfd); return fail_errno("console: open /dev/pts/ptmx in the container"); }
    int unlock = 0;
    if (ioctl(ptmx, TIOCSPTLCK, &unlock) < 0) { close(rootfd); close(ptmx); return fail_errno("console: unlockpt"); }
    int pty = ioctl(ptmx, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (pty < 0) { close(rootfd); close(ptmx); return fail_errno("console: open pty slave"); }
    /* /dev/console: created as a regular file, never through a symlink (CVE-2025-52565) */
    int cfd = open_or_create(rootfd, "/dev/console", 1);
    struct stat st;
    if (cfd < 0 || fstat(cfd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)) ||
        mount(fdpath(pty, a), fdpath(cfd, b), NULL, MS_BIND, NULL) < 0) {
        fail_errno("console: bind the pty onto /dev/console");
        if (cfd >= 0) close(cfd);
        close(rootfd); close(ptmx); close(pty);
        return -1;
    }
    close(cfd);
    close(rootfd);
    *master = ptmx;
    *slave = pty;
    return 0;
}

static int mask_paths(int rootfd, const struct plan *p)
{
    char a[64], b[64];
    int nullfd = openat2_in(rootfd, "/dev/null", O_PATH);
    struct stat st;
    /* bind only the real null device (CVE-2025-31133: a /dev/null swapped for a symlink
     * or a file would turn masking into exposure) */
    if (nullfd >= 0 && (fstat(nullfd, &st) < 0 || !S_ISCHR(st.st_mode) ||
                        st.st_rdev != makedev(1, 3))) {
        close(nullfd);
        return fail("maskedPaths: /dev/null in the container is not the null device");
    }
    for (int i = 0; i < p->masked.n; i++) {
        int fd = openat2_in(rootfd, p->masked.v[i], O_PATH | O_NOFOLLOW);
        if (fd < 0) {
            if (errno == ENOENT) continue;
            return fail_errno("maskedPaths: %s", p->masked.v[i]);
        }
        int rc;
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
            rc = mount("tmpfs", fdpath(fd, b), "tmpfs", MS_RDONLY, NULL);
        else if (nullfd >= 0)
            rc = mount(fdpath(nullfd, a), fdpath(fd, b), NULL, MS_BIND, NULL);
        else
            rc = -1, errno = ENODEV;  /* a file to mask but no /dev/null to mask it with */
        close(fd);
        if (rc < 0) {
            if (nullfd >= 0) close(nullfd);
            return fail_errno("maskedPaths: %s", p->masked.v[i]);
        }
    }
    if (nullfd >= 0) close(nullfd);
    return 0;
}

static int readonly_paths(int rootfd, const struct plan *p)
{
    char b[64];
    for (int i = 0; i < p->readonly.n; i++) {
        int fd = openat2_in(rootfd, p->readonly.v[i], O_PATH | O_NOFOLLOW);
        if (fd < 0) {
            if (errno == ENOENT) continue;
            return fail_errno("readonlyPaths: %s", p->readonly.v[i]);
        }
        int rc = mount(fdpath(fd, b), b, NULL, MS_BIND | MS_REC, NULL);
        close(fd);
        if (rc == 0) {
            fd = openat2_in(rootfd, p->readonly.v[i], O_PATH | O_NOFOLLOW);
            struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
            rc = fd < 0 ? -1 : (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE,
                                            &attr, sizeof attr);
            if (fd >= 0) close(fd);
        }
        if (rc < 0)
            return fail_errno("readonlyPaths: %s", p->readonly.v[i]);
    }
    return 0;
}

int rootfs_finalize(const struct plan *p)
{
    int rootfd = root_fd(p);
    if (rootfd < 0) return -1;
    if (mask_paths(rootfd, p) < 0 || readonly_paths(rootfd, p) < 0) {
        close(rootfd);
        return -1;
    }
    close(rootfd);
    if (chdir(p->rootfs) < 0)
        return fail_errno("chdir %s", p->rootfs);
    if (p->no_pivot) {
        if (mount(p->rootfs, "/", NULL, MS_MOVE, NULL) < 0)
            return fail_errno("move rootfs onto /");
        if (chroot(".") < 0)
            return fail_errno("chroot");
    } else {
        int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (oldroot < 0) return fail_errno("open /");
        /* pivot_root(".", "."): the old root ends up stacked under the new one; detach it */
        if (syscall(SYS_pivot_root, ".", ".") < 0) { close(oldroot); return fail_errno("pivot_root"); }
        if (fchdir(oldroot) < 0 || mount("", ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
            umount2(".", MNT_DETACH) < 0) {
            close(oldroot);
            return fail_errno("detach the old root");
        }
        close(oldroot);
    }
    if (chdir("/") < 0)
        return fail_errno("chdir /");
    /* rootfsPropagation is the propagation of the container's root: set it on the new "/" */
    if (p->rootfs_propagation && mount("", "/", NULL, p->rootfs_propagation, NULL) < 0)
        return fail_errno("set rootfsPropagation on /");
    if (p->root_readonly && remount_bind("/", MS_RDONLY) < 0)
        return fail_errno("remount / read-only");
    return 0;
}
