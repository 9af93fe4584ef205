/* The container's root filesystem, inside its new mount namespace (docs/rootfs.md).
 *
 * rootfs_prepare: "/" rslave, the rootfs bound on itself, every entry of `mounts` in order,
 * devices and the /dev symlinks. rootfs_console (console.c) after the createContainer hooks.
 * rootfs_finalize: sysctl, the delayed read-only remounts, maskedPaths, readonlyPaths,
 * pivot_root (or MS_MOVE + chroot), the root's propagation, root.readonly.
 *
 * Every destination is resolved inside the rootfs (safepath.c: openat2 RESOLVE_IN_ROOT) and
 * mounted onto /proc/self/fd/N of the resolved O_PATH fd, so neither a symlink in the image
 * nor a rename between the check and the mount can point it at the host.
 *
 * Records (tags 0x0100-0x01ff, written by pyrunc/linux/mounts.py; host byte order):
 *   T_ROOTFS              absolute path (realpath'd by the runtime)
 *   T_ROOTFS_PROPAGATION  u32 MS_* propagation for "/"
 *   T_MOUNT               u32 flags (MS_*), u32 propagation (MS_*, old records only),
 *                         u32 kind, source, dest, fstype, data; when kind & MK_EXT the
 *                         extension follows the data string:
 *                           u32 ext flags (EXT_*), u32 cleared MS_* flags,
 *                           u32 attr_set, u32 attr_clr (mount_setattr, AT_RECURSIVE),
 *                           u32 n, n x u32 propagation (applied in order),
 *                           u32 n_uid, u32 n_gid, (n_uid + n_gid) x (u32 container, host, size),
 *                           userns path (idmap with a joined user namespace) or "",
 *                           fallback bind source (EXT_CGROUP_FALLBACK) or ""
 *                         kind: MK_FS 0, MK_BIND 1, MK_SYMLINK 2 (source = link text);
 *                         with EXT_OWN_CGROUP the cgroup hierarchy's name ("cpu,cpuacct",
 *                         "name=systemd", "" for cgroup2) is in fstype for a bind mount, and
 *                         taken from data (cgroup) or "" (cgroup2) for a cgroup mount
 *   T_MASKED_PATH, T_READONLY_PATH   path
 *   T_ROOT_READONLY, T_NO_PIVOT, T_DEFAULT_DEVICES, T_BIND_DEVICES   u32 0/1
 *   T_SYSCTL              key, value: the key dotted, a "/" standing for a "." inside a
 *                         component (net.ipv4.conf.eth0/100.forwarding)
 *   T_DEVICE              u32 mode (S_IF* | perms), u32 major, u32 minor, u32 uid, u32 gid, path
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include "init.h"
#include "rootfs_parts.h"
#include "safepath.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000
#endif

#define ATIME_FLAGS (MS_NOATIME | MS_RELATIME | MS_STRICTATIME | MS_NODIRATIME)
/* flags the kernel locks on mounts inherited into a less privileged user namespace */
#define LOCK_FLAGS (MS_RDONLY | MS_NODEV | MS_NOEXEC | MS_NOSUID | ATIME_FLAGS)

static int idmap_fds[MAX_ITEMS];     /* detached idmapped mounts from rootfs_early, or -1 */
static int early_done;
static int delayed_ro[MAX_ITEMS];    /* mounts to remount read-only in rootfs_finalize */
static int n_delayed;

/* ---- records --------------------------------------------------------------------------- */

static uint32_t rd32(const uint8_t **p)
{
    uint32_t v;
    memcpy(&v, *p, 4);
    *p += 4;
    return v;
}

void mount_ext_of(const struct mount_entry *m, struct mount_ext *x)
{
    memset(x, 0, sizeof *x);
    x->userns_path = x->fallback = "";
    if (!(m->kind & MK_EXT)) {
        /* an old-style record: the propagation bits, least to most "open" */
        for (uint32_t bit = MS_UNBINDABLE; bit <= MS_SHARED; bit <<= 1)
            if (m->propagation & bit)
                x->prop[x->n_prop++] = bit | (m->propagation & MS_REC);
        return;
    }
    /* the extension follows the data string in the plan buffer (util.c's strings point
     * into it); the runtime wrote it, so it is trusted to be well-formed */
    const uint8_t *p = (const uint8_t *)m->data + strlen(m->data) + 1;
    x->flags = rd32(&p);
    x->clear = rd32(&p);
    x->attr_set = rd32(&p);
    x->attr_clr = rd32(&p);
    uint32_t n = rd32(&p);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t v = rd32(&p);
        if (x->n_prop < 8) x->prop[x->n_prop++] = v;
    }
    x->n_uid = rd32(&p);
    x->n_gid = rd32(&p);
    x->maps = p;
    p += (size_t)(x->n_uid + x->n_gid) * 12;
    x->userns_path = (const char *)p;
    x->fallback = x->userns_path + strlen(x->userns_path) + 1;
}

/* ---- idmapped mounts (stage 1, host namespaces) ---------------------------------------- */

static int write_map(pid_t pid, const char *file, const uint8_t *maps, uint32_t n)
{
    char path[64], text[4096];
    size_t len = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = maps + (size_t)i * 12;
        uint32_t c = rd32(&e), h = rd32(&e), s = rd32(&e);
        int k = snprintf(text + len, sizeof text - len, "%u %u %u\n", c, h, s);
        if (k < 0 || (size_t)k >= sizeof text - len) { errno = E2BIG; return -1; }
        len += (size_t)k;
    }
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t w = write(fd, text, len);
    int saved = errno;
    close(fd);
    errno = saved;
    return w == (ssize_t)len ? 0 : -1;
}

/* A user namespace with the mount's mappings: a child parked in a new one while we write
 * its maps, then its /proc/PID/ns/user. */
static int mapping_userns(const struct mount_ext *x)
{
    if (*x->userns_path)
        return open(x->userns_path, O_RDONLY | O_CLOEXEC);
    int park[2];
    if (pipe2(park, O_CLOEXEC) < 0) return -1;
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (pid < 0) { close(park[0]); close(park[1]); return -1; }
    if (pid == 0) {
        char c;
        close(park[1]);
        while (read(park[0], &c, 1) < 0 && errno == EINTR) {}
        _exit(0);
    }
    close(park[0]);
    int fd = -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
    if (write_map(pid, "uid_map", x->maps, x->n_uid) == 0 &&
        write_map(pid, "gid_map", x->maps + (size_t)x->n_uid * 12, x->n_gid) == 0)
        fd = open(path, O_RDONLY | O_CLOEXEC);
    int saved = errno;
    close(park[1]);  /* the child's read returns: it exits */
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    errno = saved;
    return fd;
}

int rootfs_early(const struct plan *p)
{
    if (early_done) return 0;
    early_done = 1;
    for (int i = 0; i < MAX_ITEMS; i++) idmap_fds[i] = -1;
    for (int i = 0; i < p->n_mounts; i++) {
        const struct mount_entry *m = &p->mounts[i];
        struct mount_ext x;
        mount_ext_of(m, &x);
        if (!(x.flags & EXT_IDMAP)) continue;
        int ns = mapping_userns(&x);
        if (ns < 0)
            return fail_errno("mounts[%d] (%s): idmap: user namespace for the mapping", i, m->dest);
        int fd = (int)syscall(SYS_open_tree, AT_FDCWD, m->source,
                              OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((m->flags & MS_REC) ? AT_RECURSIVE : 0));
        if (fd < 0) {
            close(ns);
            return fail_errno("mounts[%d] (%s): idmap: open_tree %s", i, m->dest, m->source);
        }
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)ns };
        int rc = (int)syscall(SYS_mount_setattr, fd, "",
                              AT_EMPTY_PATH | ((x.flags & EXT_IDMAP_REC) ? AT_RECURSIVE : 0),
                              &attr, sizeof attr);
        close(ns);
        if (rc < 0) {
            close(fd);
            return fail_errno("mounts[%d] (%s): idmap: mount_setattr(MOUNT_ATTR_IDMAP) on %s "
                              "(does its filesystem support idmapped mounts?)", i, m->dest, m->source);
        }
        idmap_fds[i] = fd;
    }
    return 0;
}

/* ---- one mount ---------------------------------------------------------------------- */

static unsigned long statfs_flags(const char *path)
{
    struct statvfs st;
    unsigned long f = 0;
    if (statvfs(path, &st) < 0) return 0;
    static const unsigned long map[][2] = {
        { ST_RDONLY, MS_RDONLY }, { ST_NOSUID, MS_NOSUID }, { ST_NODEV, MS_NODEV },
        { ST_NOEXEC, MS_NOEXEC }, { ST_SYNCHRONOUS, MS_SYNCHRONOUS }, { ST_MANDLOCK, MS_MANDLOCK },
        { ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
        { ST_NOSYMFOLLOW, MS_NOSYMFOLLOW },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (st.f_flag & map[i][0]) f |= map[i][1];
    if (!(f & (MS_NOATIME | MS_RELATIME))) f |= MS_STRICTATIME;
    return f;
}

/* The flags of a bind mount: "mount --bind -o ...", and where the kernel refuses to drop a
 * flag locked by a user namespace, "-o remount,..." on top of the locked ones, as runc. */
static int bind_remount(const char *target, unsigned long flags, unsigned long clear)
{
    flags |= MS_BIND | MS_REMOUNT;
    if (mount("", target, NULL, flags, NULL) == 0)
        return 0;
    int saved = errno;
    unsigned long have = statfs_flags(target);
    if ((have & clear & LOCK_FLAGS) || ((flags & ATIME_FLAGS) && (flags & ATIME_FLAGS) != (have & ATIME_FLAGS))) {
        errno = saved;
        return -1;
    }
    return mount("", target, NULL, flags | (have & LOCK_FLAGS), NULL);
}

/* The top mount at dest again (fd names what was covered), checked to be the same path. */
static int reopen_top(int rootfd, const char *dest, int oldfd)
{
    char a[SP_FDPATH], b[SP_FDPATH], was[4096], now[4096];
    int fd = sp_open(rootfd, dest, O_PATH, 0);
    if (fd < 0) return -1;
    ssize_t n1 = readlink(sp_fdpath(oldfd, a), was, sizeof was - 1);
    ssize_t n2 = readlink(sp_fdpath(fd, b), now, sizeof now - 1);
    if (n1 < 0 || n2 < 0 || n1 != n2 || memcmp(was, now, (size_t)n1) != 0) {
        close(fd);
        errno = EXDEV;  /* moved while we mounted */
        return -1;
    }
    return fd;
}

/* runc's checkProcMount: nothing may be mounted inside /proc but a few files lxcfs
 * emulates, and only procfs onto /proc itself (CVE-2019-16884, CVE-2019-19921). */
static int check_proc_dest(const char *rootfs, int dfd, const struct mount_entry *m, int srcfd)
{
    static const char *allowed[] = {
        "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps",
        "/proc/uptime", "/proc/loadavg", "/proc/slabinfo", "/proc/sys/kernel/ns_last_pid",
        "/proc/sys/crypto/fips_enabled",
    };
    char fdp[SP_FDPATH], real[4096];
    ssize_t n = readlink(sp_fdpath(dfd, fdp), real, sizeof real - 1);
    if (n < 0) return fail_errno("mount %s: where is it", m->dest);
    real[n] = '\0';
    size_t rl = strlen(rootfs);
    if (strcmp(rootfs, "/") == 0) rl = 0;
    if (strncmp(real, rootfs, rl) != 0 || (real[rl] != '/' && real[rl] != '\0'))
        return fail("mount %s: destination resolved outside the rootfs (%s)", m->dest, real);
    const char *in = real + rl;
    if (strncmp(in, "/proc", 5) != 0 || (in[5] != '/' && in[5] != '\0'))
        return 0;
    if (in[5] == '\0') {
        struct statfs sfs;
        if ((m->kind & MK_KIND_MASK) == MK_FS && strcmp(m->fstype, "proc") == 0)
            return 0;
        if (srcfd >= 0 && fstatfs(srcfd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC)
            return 0;
        return fail("mount %s: /proc cannot be mounted because it is not of type proc", m->dest);
    }
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (strcmp(in, allowed[i]) == 0)
            return 0;
    return fail("mount %s: %s cannot be mounted because it is inside /proc", m->dest, in);
}

/* This process' cgroup in `hierarchy` ("" for cgroup2), from /proc/self/cgroup. */
static int own_cgroup(const char *hierarchy, char *out, size_t outlen)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f) return -1;
    char line[4096];
    int found = -1;
    while (found < 0 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c = strchr(line, ':');
        char *path = c ? strchr(c + 1, ':') : NULL;
        if (!path) continue;
        *path++ = '\0';
        if (strcmp(c + 1, hierarchy) == 0) {
            snprintf(out, outlen, "%s", path);
            found = 0;
        }
    }
    fclose(f);
    return found;
}

/* tmpcopyup: copy dir `from` (the directory the tmpfs now covers) into `to` (the tmpfs). */
static int copy_tree(int from, int to, int depth)
{
    if (depth > 64) { errno = ELOOP; return -1; }
    int dup = openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
    if (!d) { if (dup >= 0) close(dup); return -1; }
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
        struct stat st;
        if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0) { rc = -1; break; }
        if (S_ISDIR(st.st_mode)) {
            int s = -1, t = -1;
            rc = mkdirat(to, name, 0700);
            if (rc == 0) s = openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (s >= 0) t = openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            rc = (s < 0 || t < 0) ? -1 : copy_tree(s, t, depth + 1);
            if (s >= 0) close(s);
            if (t >= 0) close(t);
        } else if (S_ISREG(st.st_mode)) {
            int s = openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            int t = s < 0 ? -1 : openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            char buf[65536];
            ssize_t n = 0;
            while (t >= 0 && (n = read(s, buf, sizeof buf)) > 0)
                if (write(t, buf, (size_t)n) != n) { n = -1; break; }
            rc = (s < 0 || t < 0 || n < 0) ? -1 : 0;
            if (s >= 0) close(s);
            if (t >= 0) close(t);
        } else if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t n = readlinkat(from, name, target, sizeof target - 1);
            if (n < 0) { rc = -1; break; }
            target[n] = '\0';
            rc = symlinkat(target, to, name);
        } else {
            rc = mknodat(to, name, st.st_mode, st.st_rdev);
        }
        if (rc == 0) rc = fchownat(to, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
        if (rc == 0 && !S_ISLNK(st.st_mode)) rc = fchmodat(to, name, st.st_mode & 07777, 0);
        if (rc == 0) {
            struct timespec ts[2] = { st.st_atim, st.st_mtim };
            rc = utimensat(to, name, ts, AT_SYMLINK_NOFOLLOW);
        }
    }
    closedir(d);
    return rc;
}

static int do_mount(const struct plan *p, int rootfd, int index)
{
    const struct mount_entry *m = &p->mounts[index];
    struct mount_ext x;
    mount_ext_of(m, &x);
    uint32_t kind = m->kind & MK_KIND_MASK;
    char dst[SP_FDPATH], src[SP_FDPATH], name[256];
    int srcfd = -1, dfd = -1, top = -1, rc = -1;
    const char *what = kind == MK_BIND ? "bind" : m->fstype;

    if (sp_has_dotdot(m->dest))
        return fail("mount %s: destination must not contain \"..\"", m->dest);
    if (sp_is_root(m->dest))
        return fail("mount %s: mounting over the rootfs itself is not supported", m->dest);

    if (kind == MK_SYMLINK) {
        int parent = sp_open_parent(rootfd, m->dest, name, sizeof name);
        if (parent < 0) return fail_errno("symlink %s: parent directory", m->dest);
        rc = symlinkat(m->source, parent, name);
        close(parent);
        return rc < 0 && errno != EEXIST ? fail_errno("symlink %s -> %s", m->dest, m->source) : 0;
    }

    /* the source: a host path (or a detached idmapped tree from rootfs_early) */
    if (kind == MK_BIND) {
        if (idmap_fds[index] >= 0) {
            srcfd = idmap_fds[index];
            idmap_fds[index] = -1;
        } else {
            char path[8192];
            snprintf(path, sizeof path, "%s", m->source);
            if (x.flags & EXT_OWN_CGROUP) {
                char own[4096];
                if (own_cgroup(m->fstype, own, sizeof own) == 0 && strcmp(own, "/") != 0)
                    snprintf(path, sizeof path, "%s%s", m->source, own);
            }
            srcfd = open(path, O_PATH | O_CLOEXEC);
            if (srcfd < 0)
                return fail_errno("mount %s to %s: source", path, m->dest);
        }
    }

    /* the destination, resolved (and created) inside the rootfs */
    int existed = 1;
    if (kind == MK_FS && (strcmp(m->fstype, "proc") == 0 || strcmp(m->fstype, "sysfs") == 0)) {
        /* never through a symlink: procfs and sysfs go onto a plain directory */
        int fd = sp_open(rootfd, m->dest, O_PATH | O_NOFOLLOW, 0);
        struct stat st;
        if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))) {
            close(fd);
            rc = fail("mount %s: %s must be mounted on an ordinary directory", m->dest, m->fstype);
            goto out;
        }
        if (fd >= 0) close(fd);
        dfd = sp_mkdir_all(rootfd, m->dest, 0755);
    } else {
        int is_file = 0;
        struct stat st;
        if (kind == MK_BIND && fstat(srcfd, &st) == 0 && !S_ISDIR(st.st_mode))
            is_file = 1;
        dfd = sp_open(rootfd, m->dest, O_PATH, 0);
        if (dfd < 0 && errno == ENOENT) {
            existed = 0;
            dfd = sp_open_or_create(rootfd, m->dest, is_file);
        }
    }
    if (dfd < 0) {
        /* a missing file inside procfs cannot be made: say why, as runc, rather than ENOENT
           (which podman reports as "command not found") */
        const char *d = m->dest;
        while (*d == '/') d++;
        if (!existed && strncmp(d, "proc/", 5) == 0 && d[5 + strspn(d + 5, "/")] != '\0')
            rc = fail("mount %s: %s cannot be mounted because it is inside /proc", m->dest, m->dest);
        else
            rc = fail_errno("mount %s: create destination %s", kind == MK_BIND ? m->source : what, m->dest);
        goto out;
    }
    if (check_proc_dest(p->rootfs, dfd, m, srcfd) < 0)
        goto out;

    unsigned long settable = m->flags & ~(unsigned long)(MS_BIND | MS_REC | MS_REMOUNT);
    if (kind == MK_BIND) {
        if (srcfd >= 0 && (x.flags & EXT_IDMAP))
            rc = (int)syscall(SYS_move_mount, srcfd, "", dfd, "",
                              MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
        else
            rc = mount(sp_fdpath(srcfd, src), sp_fdpath(dfd, dst), NULL, MS_BIND | (m->flags & MS_REC), NULL);
        if (rc < 0) {
            fail_errno("mount %s to %s (bind)", m->source, m->dest);
            goto out;
        }
        top = reopen_top(rootfd, m->dest, dfd);
        if (top < 0) { rc = fail_errno("mount %s: reopen after mount", m->dest); goto out; }
        if ((settable || x.clear) &&
            bind_remount(sp_fdpath(top, dst), m->flags & ~(unsigned long)MS_REMOUNT, x.clear) < 0) {
            rc = fail_errno("mount %s: set the bind mount's flags", m->dest);
            goto out;
        }
    } else {
        unsigned long flags = m->flags & ~(unsigned long)(MS_BIND | MS_REC);
        if (x.flags & EXT_DELAY_RO) flags &= ~(unsigned long)MS_RDONLY;
        char data[4096];
        snprintf(data, sizeof data, "%s", m->data);
        struct stat st;
        /* a tmpfs takes the mode of the directory it covers unless told otherwise (runc) */
        if (strcmp(m->fstype, "tmpfs") == 0 && existed && fstat(dfd, &st) == 0)
            snprintf(data, sizeof data, "mode=%04o%s%s", st.st_mode & 07777, *m->data ? "," : "", m->data);
        int covered = -1;
        if (x.flags & EXT_COPYUP)  /* still names the directory once the tmpfs covers it */
            covered = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        rc = mount(m->source, sp_fdpath(dfd, dst), m->fstype, flags, *data ? data : NULL);
        if (rc < 0 && (errno == EPERM || errno == EBUSY) &&
            ((x.flags & EXT_CGROUP_FALLBACK) || (strcmp(m->fstype, "sysfs") == 0 && errno == EPERM))) {
            /* no new sysfs without owning the network namespace, no cgroup fs from a user
             * namespace (v1) or without a cgroup namespace (v2): bind the host's instead,
             * our own cgroup of it where a cgroup namespace would have shown only that */
            char host[8192] = "/sys", own[4096];
            if (x.flags & EXT_CGROUP_FALLBACK) {
                const char *name = strcmp(m->fstype, "cgroup2") == 0 ? "" : m->data;
                snprintf(host, sizeof host, "%s", x.fallback);
                if ((x.flags & EXT_OWN_CGROUP) && own_cgroup(name, own, sizeof own) == 0 &&
                    strcmp(own, "/") != 0)
                    snprintf(host, sizeof host, "%s%s", x.fallback, own);
            }
            rc = mount(host, dst, NULL, MS_BIND | MS_REC, NULL);
            if (rc == 0) {
                top = reopen_top(rootfd, m->dest, dfd);
                unsigned long ro = strcmp(m->fstype, "sysfs") == 0 ? MS_RDONLY : 0;
                rc = top < 0 ? -1 : bind_remount(sp_fdpath(top, dst), (flags & ~(unsigned long)MS_REMOUNT) | ro, x.clear);
            }
        }
        if (rc == 0 && top < 0) {
            top = reopen_top(rootfd, m->dest, dfd);
            if (top < 0) rc = -1;
        }
        if (rc == 0 && covered >= 0) {
            int into = openat(top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            rc = into < 0 ? -1 : copy_tree(covered, into, 0);
            if (into >= 0) close(into);
            if (rc < 0) {
                fail_errno("mount %s: tmpcopyup", m->dest);
                close(covered);
                goto out;
            }
        }
        if (covered >= 0) close(covered);
        if (rc < 0) {
            fail_errno("mount %s to %s (type %s)", m->source, m->dest, m->fstype);
            goto out;
        }
        if ((x.flags & EXT_DELAY_RO) && (m->flags & MS_RDONLY) && n_delayed < MAX_ITEMS)
            delayed_ro[n_delayed++] = index;
    }
    if ((x.attr_set | x.attr_clr) != 0) {
        struct mount_attr attr = { .attr_set = x.attr_set, .attr_clr = x.attr_clr };
        if (syscall(SYS_mount_setattr, top, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) {
            rc = fail_errno("mount %s: recursive mount attributes", m->dest);
            goto out;
        }
    }
    for (uint32_t i = 0; i < x.n_prop; i++) {
        if (mount("", sp_fdpath(top, dst), NULL, x.prop[i], NULL) < 0) {
            rc = fail_errno("mount %s: set propagation", m->dest);
            goto out;
        }
    }
    rc = 0;
out:
    if (top >= 0) close(top);
    if (dfd >= 0) close(dfd);
    if (srcfd >= 0) close(srcfd);
    return rc;
}

/* ---- prepare ------------------------------------------------------------------------- */

int rootfs_prepare(const struct plan *p)
{
    if (rootfs_early(p) < 0) return -1;
    /* Our mounts must never propagate back to the host: everything rslave first (so the
     * rootfs' parent mount is not shared either, as pivot_root wants). The configured
     * rootfsPropagation is set on the container's own "/" after pivot_root. */
    if (mount("", "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return fail_errno("make / rslave");
    /* pivot_root needs the new root to be a mount point */
    if (mount(p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return fail_errno("bind rootfs %s", p->rootfs);
    int rootfd = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) return fail_errno("rootfs %s", p->rootfs);
    int rc = 0;
    n_delayed = 0;
    for (int i = 0; i < p->n_mounts && rc == 0; i++)
        rc = do_mount(p, rootfd, i);
    if (rc == 0)
        rc = devices_create(rootfd, p);
    if (rc == 0 && p->default_devices)
        rc = devices_symlinks(rootfd);
    close(rootfd);
    return rc;
}

/* ---- finalize ------------------------------------------------------------------------ */

/* /proc/sys of a procfs nobody else can touch: a fresh detached instance (fsopen), or else
 * a detached clone of our /proc checked to be procfs' root (CVE-2025-52881: a /proc the
 * container controls could redirect the writes). */
static int private_proc_sys(void)
{
    int mnt = -1;
    int fs = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC);
    if (fs >= 0) {
        if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
            mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        close(fs);
    }
    if (mnt < 0)
        mnt = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    struct statfs sfs;
    struct stat st;
    if (mnt < 0 || fstatfs(mnt, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC ||
        fstat(mnt, &st) < 0 || st.st_ino != 1) {
        if (mnt >= 0) close(mnt);
        errno = EXDEV;
        return -1;
    }
    struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                            .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV };
    int fd = (int)syscall(SYS_openat2, mnt, "sys", &how, sizeof how);
    close(mnt);
    return fd;
}

static int write_sysctls(const struct plan *p)
{
    if (p->n_sysctl == 0) return 0;
    int sys = private_proc_sys();
    if (sys < 0) return fail_errno("linux.sysctl: open a procfs");
    for (int i = 0; i < p->n_sysctl; i++) {
        char rel[512];
        snprintf(rel, sizeof rel, "%s", p->sysctl[i].key);
        /* dotted name to path; a "/" in the name is a "." in a component (eth0.100) */
        for (char *c = rel; *c; c++) *c = *c == '.' ? '/' : *c == '/' ? '.' : *c;
        struct open_how how = { .flags = O_WRONLY | O_TRUNC | O_CLOEXEC,
                                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
                                           RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV };
        int fd = (int)syscall(SYS_openat2, sys, rel, &how, sizeof how);
        struct statfs sfs;
        if (fd < 0 || fstatfs(fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC) {
            fail_errno("linux.sysctl: %s", p->sysctl[i].key);
            if (fd >= 0) close(fd);
            close(sys);
            return -1;
        }
        size_t len = strlen(p->sysctl[i].value);
        ssize_t n = write(fd, p->sysctl[i].value, len);
        close(fd);
        if (n != (ssize_t)len) {
            fail_errno("linux.sysctl: write %s=%s", p->sysctl[i].key, p->sysctl[i].value);
            close(sys);
            return -1;
        }
    }
    close(sys);
    return 0;
}

/* tmpfs mounts and /dev were mounted read-write so that files could be made in them. */
static int remount_delayed(int rootfd, const struct plan *p)
{
    char b[SP_FDPATH];
    for (int i = 0; i < n_delayed; i++) {
        const struct mount_entry *m = &p->mounts[delayed_ro[i]];
        int fd = sp_open(rootfd, m->dest, O_PATH, 0), rc = -1;
        unsigned long flags = (m->flags & ~(unsigned long)(MS_BIND | MS_REC | MS_REMOUNT)) | MS_RDONLY;
        /* a file still open for writing makes it EBUSY for a moment (runc retries too) */
        for (int tries = 0; fd >= 0 && tries < 5; tries++) {
            rc = bind_remount(sp_fdpath(fd, b), flags, 0);
            if (rc == 0 || errno != EBUSY) break;
            usleep(100 * 1000);
        }
        if (rc < 0) {
            fail_errno("mount %s: remount read-only", m->dest);
            if (fd >= 0) close(fd);
            return -1;
        }
        close(fd);
    }
    return 0;
}

static int mask_dir(const char *target)
{
    /* as small as a tmpfs gets; some kernels want 2 inodes */
    if (mount("tmpfs", target, "tmpfs", MS_RDONLY, "nr_blocks=1,nr_inodes=1") == 0 ||
        mount("tmpfs", target, "tmpfs", MS_RDONLY, "nr_blocks=1,nr_inodes=2") == 0)
        return 0;
    return mount("tmpfs", target, "tmpfs", MS_RDONLY, NULL);
}

static int mask_paths(int rootfd, const struct plan *p)
{
    char a[SP_FDPATH], b[SP_FDPATH];
    if (p->masked.n == 0) return 0;
    /* CVE-2025-31133: bind only the container's real null device, checked on the very fd
     * that is bound (a /dev/null swapped for a symlink or a file would expose, not mask) */
    int nullfd = sp_open(rootfd, "/dev/null", O_PATH, 0);
    struct stat st;
    if (nullfd >= 0 && (fstat(nullfd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))) {
        close(nullfd);
        return fail("linux.maskedPaths: /dev/null in the container is not the null device (1:3)");
    }
    for (int i = 0; i < p->masked.n; i++) {
        const char *path = p->masked.v[i];
        int dup = 0;
        for (int j = 0; j < i; j++) dup |= strcmp(p->masked.v[j], path) == 0;
        if (dup || sp_has_dotdot(path)) continue;
        int fd = sp_open(rootfd, path, O_PATH, 0);
        if (fd < 0) {
            if (errno == ENOENT) continue;
            fail_errno("linux.maskedPaths: %s", path);
            goto err;
        }
        int rc;
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
            rc = mask_dir(sp_fdpath(fd, b));
        else if (nullfd >= 0)
            rc = mount(sp_fdpath(nullfd, a), sp_fdpath(fd, b), NULL, MS_BIND, NULL);
        else {  /* a file to mask and no /dev/null to mask it with */
            close(fd);
            fail("linux.maskedPaths: mask %s: no /dev/null in the container", path);
            goto err;
        }
        close(fd);
        if (rc < 0) {
            fail_errno("linux.maskedPaths: mask %s", path);
            goto err;
        }
    }
    if (nullfd >= 0) close(nullfd);
    return 0;
err:
    if (nullfd >= 0) close(nullfd);
    return -1;
}

static int readonly_paths(int rootfd, const struct plan *p)
{
    char b[SP_FDPATH];
    for (int i = 0; i < p->readonly.n; i++) {
        const char *path = p->readonly.v[i];
        if (sp_has_dotdot(path)) continue;
        int fd = sp_open(rootfd, path, O_PATH, 0);
        if (fd < 0) {
            if (errno == ENOENT) continue;
            return fail_errno("linux.readonlyPaths: %s", path);
        }
        int rc = mount(sp_fdpath(fd, b), b, NULL, MS_BIND | MS_REC, NULL);
        int top = rc == 0 ? reopen_top(rootfd, path, fd) : -1;
        close(fd);
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
        rc = top < 0 ? -1 : (int)syscall(SYS_mount_setattr, top, "", AT_EMPTY_PATH | AT_RECURSIVE,
                                        &attr, sizeof attr);
        if (top >= 0) close(top);
        if (rc < 0)
            return fail_errno("linux.readonlyPaths: %s", path);
    }
    return 0;
}

/* mountinfo's octal escapes (\040 for a space) */
static void unescape(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] && s[3]) {
            *o++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
            s += 3;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
}

/* --no-pivot: the host's /proc and /sys stay in the mount namespace under the new root,
 * and the kernel would let the container mount a new procfs because they are fully
 * visible there: detach them (or cover them) first, as runc does. */
static int hide_host_proc_sys(const char *rootfs)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f) return fail_errno("read mountinfo");
    static char targets[64][4096];
    int n = 0;
    char line[8192];
    size_t rl = strlen(rootfs);
    while (n < 64 && fgets(line, sizeof line, f)) {
        char root[4096], mp[4096], type[256];
        char *sep = strstr(line, " - ");
        if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mp) != 2 ||
            sscanf(sep + 3, "%255s", type) != 1)
            continue;
        unescape(root);
        unescape(mp);
        if (strcmp(root, "/") != 0 || (strcmp(type, "proc") != 0 && strcmp(type, "sysfs") != 0))
            continue;
        if (strncmp(mp, rootfs, rl) == 0 && (mp[rl] == '/' || mp[rl] == '\0'))
            continue;
        snprintf(targets[n++], sizeof targets[0], "%s", mp);
    }
    fclose(f);
    for (int i = 0; i < n; i++) {
        if (mount("", targets[i], NULL, MS_SLAVE | MS_REC, NULL) < 0) {
            if (errno == ENOENT) continue;  /* gone with a parent already */
            return fail_errno("--no-pivot: make %s a slave", targets[i]);
        }
        if (umount2(targets[i], MNT_DETACH) < 0 &&
            ((errno != EINVAL && errno != EPERM) || mount("tmpfs", targets[i], "tmpfs", 0, NULL) < 0))
            return fail_errno("--no-pivot: hide the host's %s", targets[i]);
    }
    return 0;
}

/* process.cwd made when missing, as runc does (before the read-only remount of the root),
 * resolved inside the new root without magic links: a cwd through /proc/self/fd/N is not
 * created here, process_apply's chdir reports it. */
static int make_cwd(const char *cwd)
{
    int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) return fail_errno("open /");
    int fd = sp_open(root, cwd, O_PATH, 0);
    if (fd < 0 && errno == ENOENT) {
        fd = sp_mkdir_all(root, cwd, 0755);
        if (fd < 0) {
            close(root);
            return fail_errno("mkdir %s (process.cwd)", cwd);
        }
    }
    if (fd >= 0) close(fd);
    close(root);
    return 0;
}

int rootfs_finalize(const struct plan *p)
{
    int rootfd = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) return fail_errno("rootfs %s", p->rootfs);
    if (write_sysctls(p) < 0 || remount_delayed(rootfd, p) < 0 ||
        mask_paths(rootfd, p) < 0 || readonly_paths(rootfd, p) < 0) {
        close(rootfd);
        return -1;
    }
    if (fchdir(rootfd) < 0) {
        close(rootfd);
        return fail_errno("chdir %s", p->rootfs);
    }
    close(rootfd);
    if (p->no_pivot) {
        if (hide_host_proc_sys(p->rootfs) < 0) return -1;
        if (mount(p->rootfs, "/", NULL, MS_MOVE, NULL) < 0)
            return fail_errno("--no-pivot: move the rootfs onto /");
        if (chroot(".") < 0)
            return fail_errno("--no-pivot: chroot");
    } else {
        int oldroot = open("/", O_DIRECTORY | O_PATH | O_CLOEXEC);
        if (oldroot < 0) return fail_errno("open /");
        /* pivot_root(".", "."): the old root is stacked under the new one; detach it,
         * slave first so that the unmounts never propagate to the host */
        if (syscall(SYS_pivot_root, ".", ".") < 0) { close(oldroot); return fail_errno("pivot_root"); }
        if (fchdir(oldroot) < 0 || mount("", ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
            umount2(".", MNT_DETACH) < 0) {
            close(oldroot);
            return fail_errno("pivot_root: detach the old root");
        }
        close(oldroot);
    }
    if (chdir("/") < 0)
        return fail_errno("chdir /");
    /* rootfsPropagation is the propagation of the container's root: set on the new "/" */
    if (p->rootfs_propagation && mount("", "/", NULL, p->rootfs_propagation, NULL) < 0)
        return fail_errno("linux.rootfsPropagation: set the propagation of the new /");
    if (p->cwd && make_cwd(p->cwd) < 0)
        return -1;
    if (p->root_readonly && bind_remount("/", MS_RDONLY, 0) < 0)
        return fail_errno("root.readonly: remount / read-only");
    return 0;
}
