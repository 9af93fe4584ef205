/* Path resolution inside the rootfs that never leaves it (see safepath.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "safepath.h"

int sp_open(int rootfd, const char *path, int flags, unsigned long long extra_resolve)
{
    struct open_how how = { .flags = (unsigned long long)(flags | O_CLOEXEC),
                            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra_resolve };
    while (*path == '/') path++;
    if (!*path) path = ".";
    int fd, tries = 0;
    do fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
    while (fd < 0 && errno == EAGAIN && ++tries < 64);  /* a concurrent rename: retry */
    return fd;
}

char *sp_fdpath(int fd, char buf[SP_FDPATH])
{
    snprintf(buf, SP_FDPATH, "/proc/self/fd/%d", fd);
    return buf;
}

int sp_has_dotdot(const char *path)
{
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2)
        if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return 1;
    return 0;
}

int sp_is_root(const char *path)
{
    return path[strspn(path, "/.")] == '\0' && !sp_has_dotdot(path);
}

/* Next component of *p (skipping slashes and "."), copied into comp. 0 at the end. */
static int next_component(const char **p, char *comp, size_t complen)
{
    for (;;) {
        while (**p == '/') (*p)++;
        if (!**p) return 0;
        size_t len = strcspn(*p, "/");
        if (len >= complen) { errno = ENAMETOOLONG; return -1; }
        memcpy(comp, *p, len);
        comp[len] = '\0';
        *p += len;
        if (strcmp(comp, ".") != 0) return 1;
    }
}

static int is_last(const char *rest)
{
    for (;;) {
        rest += strspn(rest, "/");
        if (rest[0] == '.' && (rest[1] == '/' || rest[1] == '\0')) { rest++; continue; }
        return *rest == '\0';
    }
}

/* Walk path from the root, re-resolving each prefix from the root (so a symlink met on
 * the way resolves inside it), creating what is missing: directories, and with `file` an
 * empty regular file as the last component. Returns an O_PATH fd of the last component. */
static int walk_create(int rootfd, const char *path, int file, mode_t mode)
{
    char prefix[4096] = "/", comp[256];
    size_t plen = 0;
    const char *p = path;
    int parent = sp_open(rootfd, "/", O_PATH | O_DIRECTORY, 0);
    if (parent < 0) return -1;
    int rc;
    while ((rc = next_component(&p, comp, sizeof comp)) == 1) {
        int last = is_last(p);
        size_t clen = strlen(comp);
        if (plen + 1 + clen + 1 > sizeof prefix) { close(parent); errno = ENAMETOOLONG; return -1; }
        prefix[plen++] = '/';
        memcpy(prefix + plen, comp, clen + 1);
        plen += clen;
        int fd = sp_open(rootfd, prefix, O_PATH, 0);
        if (fd < 0 && errno == ENOENT) {
            int made;
            if (last && file) {
                made = openat(parent, comp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (made >= 0) close(made);
            } else {
                made = mkdirat(parent, comp, mode);
            }
            /* EEXIST from either means a dangling symlink or a race: the re-open decides;
             * any other error (EACCES: a user namespace's root on a rootfs it does not own,
             * EROFS...) is the reason, not the re-open's ENOENT */
            if (made < 0 && errno != EEXIST) { close(parent); return -1; }
            fd = sp_open(rootfd, prefix, O_PATH, 0);
        }
        close(parent);
        if (fd < 0) return -1;
        if (last) return fd;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
            close(fd);
            errno = ENOTDIR;
            return -1;
        }
        parent = fd;
    }
    if (rc < 0) { close(parent); return -1; }
    return parent;  /* the path named the root itself */
}

int sp_mkdir_all(int rootfd, const char *path, mode_t mode)
{
    int fd = walk_create(rootfd, path, 0, mode);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))) {
        close(fd);
        errno = ENOTDIR;
        return -1;
    }
    return fd;
}

int sp_open_or_create(int rootfd, const char *path, int file)
{
    int fd = sp_open(rootfd, path, O_PATH, 0);
    if (fd >= 0 || errno != ENOENT)
        return fd;
    return walk_create(rootfd, path, file, 0755);
}

int sp_open_parent(int rootfd, const char *path, char *name, size_t namelen)
{
    char parent[4096];
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') len--;
    if (len >= sizeof parent) { errno = ENAMETOOLONG; return -1; }
    memcpy(parent, path, len);
    parent[len] = '\0';
    char *slash = strrchr(parent, '/');
    const char *last = slash ? slash + 1 : parent;
    if (!*last || strcmp(last, ".") == 0 || strcmp(last, "..") == 0 || strlen(last) >= namelen) {
        errno = EINVAL;
        return -1;
    }
    snprintf(name, namelen, "%s", last);
    if (slash) *slash = '\0'; else parent[0] = '\0';
    return sp_mkdir_all(rootfd, parent, 0755);
}
