/* Device nodes (linux.devices and the default ones) and the /dev symlinks.
 *
 * A node is made with mknodat in its parent directory (resolved inside the rootfs), then
 * re-opened O_PATH|O_NOFOLLOW and checked to be the node just made before its owner and
 * mode are set through that fd. In a user namespace mknod is not allowed: the host's node
 * is bind-mounted over an empty regular file instead (as runc does, also on EPERM).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "init.h"
#include "rootfs_parts.h"
#include "safepath.h"

/* Bind the host's node `hostpath` over parent/name, created as an empty file if missing. */
static int bind_node(int parent, const char *name, const char *hostpath)
{
    char src[SP_FDPATH], dst[SP_FDPATH];
    int dfd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (dfd >= 0 && fstat(dfd, &st) == 0 && S_ISLNK(st.st_mode)) {
        close(dfd);
        dfd = -1;
        if (unlinkat(parent, name, 0) < 0)
            return fail_errno("device %s: remove the symlink in its place", hostpath);
        errno = ENOENT;
    }
    if (dfd < 0 && errno == ENOENT) {
        /* never open an existing node for real: O_EXCL, and the fd is closed at once */
        int f = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0);
        if (f < 0)
            return fail_errno("device %s: create the mount point", hostpath);
        close(f);
        dfd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    if (dfd < 0)
        return fail_errno("device %s", hostpath);
    if (fstat(dfd, &st) < 0 || S_ISDIR(st.st_mode)) {
        close(dfd);
        return fail("device %s: a directory is in its place", hostpath);
    }
    int sfd = open(hostpath, O_PATH | O_CLOEXEC);
    if (sfd < 0) {
        close(dfd);
        return fail_errno("device %s: bind from the host", hostpath);
    }
    int rc = mount(sp_fdpath(sfd, src), sp_fdpath(dfd, dst), NULL, MS_BIND, NULL);
    close(sfd);
    close(dfd);
    return rc < 0 ? fail_errno("device %s: bind from the host", hostpath) : 0;
}

static int make_node(int rootfd, const struct device *d, int bind)
{
    char name[256], fdp[SP_FDPATH];
    if (sp_has_dotdot(d->path) || sp_is_root(d->path))
        return fail("linux.devices: invalid path \"%s\"", d->path);
    int parent = sp_open_parent(rootfd, d->path, name, sizeof name);
    if (parent < 0)
        return fail_errno("device %s: parent directory", d->path);
    int rc;
    if (bind) {
        rc = bind_node(parent, name, d->path);
        close(parent);
        return rc;
    }
    dev_t dev = makedev(d->major, d->minor);
    /* replace what the image has there (a stale node, a file, a symlink), never a dir */
    if (unlinkat(parent, name, 0) < 0 && errno != ENOENT) {
        if (errno == EBUSY) {  /* a mount of the config is there: it wins, as with runc */
            close(parent);
            return 0;
        }
        close(parent);
        return fail_errno("device %s: remove what is in its place", d->path);
    }
    if (mknodat(parent, name, d->mode, dev) < 0) {
        if (errno == EPERM) {  /* no CAP_MKNOD here (user namespace): bind it */
            rc = bind_node(parent, name, d->path);
            close(parent);
            return rc;
        }
        close(parent);
        return fail_errno("mknod %s", d->path);
    }
    int fd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    close(parent);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0) close(fd);
        return fail_errno("device %s: open the new node", d->path);
    }
    if ((st.st_mode & S_IFMT) != (d->mode & S_IFMT) || (!S_ISFIFO(st.st_mode) && st.st_rdev != dev)) {
        close(fd);
        return fail("device %s: the new node was replaced", d->path);
    }
    /* chown before chmod: chown may clear set-id bits the mode asks for */
    rc = fchownat(fd, "", d->uid, d->gid, AT_EMPTY_PATH);
    if (rc == 0)
        rc = chmod(sp_fdpath(fd, fdp), d->mode & 07777);
    close(fd);
    return rc < 0 ? fail_errno("device %s: set owner and mode", d->path) : 0;
}

int devices_create(int rootfd, const struct plan *p)
{
    for (int i = 0; i < p->n_devices; i++) {
        /* /dev/ptmx is a symlink to the container's devpts (devices_symlinks), as runc */
        if (strcmp(p->devices[i].path, "/dev/ptmx") == 0)
            continue;
        if (make_node(rootfd, &p->devices[i], p->bind_devices) < 0)
            return -1;
    }
    return 0;
}

int devices_symlinks(int rootfd)
{
    static const char *links[][2] = {
        { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" },
        { "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
        { "/proc/kcore", "core" }, { "pts/ptmx", "ptmx" },
    };
    int devfd = sp_mkdir_all(rootfd, "/dev", 0755);
    if (devfd < 0)
        return fail_errno("create /dev");
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        const char *target = links[i][0], *name = links[i][1];
        /* kcore exists only with CONFIG_PROC_KCORE */
        if (strcmp(name, "core") == 0 && access("/proc/kcore", F_OK) < 0)
            continue;
        /* /dev/ptmx must be the container's devpts' ptmx, whatever the image had */
        if (strcmp(name, "ptmx") == 0 && unlinkat(devfd, name, 0) < 0 && errno != ENOENT) {
            close(devfd);
            return fail_errno("remove /dev/ptmx");
        }
        if (symlinkat(target, devfd, name) < 0 && errno != EEXIST) {
            close(devfd);
            return fail_errno("symlink /dev/%s -> %s", name, target);
        }
    }
    close(devfd);
    return 0;
}
