/* The root filesystem's parts: rootfs.c (mounts, paths, pivot), devices.c, console.c.
 * Record layouts: docs/rootfs.md and the comment at the top of rootfs.c. */
#ifndef PYRUNC_ROOTFS_PARTS_H
#define PYRUNC_ROOTFS_PARTS_H

#include <stdint.h>
#include "init.h"

/* T_MOUNT kind: MK_FS, MK_BIND (init.h), and: */
#define MK_SYMLINK 2          /* a symlink: source = link text, dest = link path */
#define MK_KIND_MASK 0xff
#define MK_EXT 0x100          /* the extension below follows the data string */

/* Extension flags */
#define EXT_DELAY_RO 0x01     /* mount rw, remount read-only in rootfs_finalize (tmpfs, /dev) */
#define EXT_COPYUP 0x02       /* tmpcopyup: copy the destination's contents into the tmpfs */
#define EXT_IDMAP 0x04        /* idmapped bind mount (MOUNT_ATTR_IDMAP) */
#define EXT_IDMAP_REC 0x08    /* ... applied recursively (ridmap) */
#define EXT_CGROUP_FALLBACK 0x10 /* cgroup fs refused (EPERM/EBUSY): bind `fallback` instead */
#define EXT_OWN_CGROUP 0x20   /* bind source + this process' cgroup in that hierarchy */

struct mount_ext {
    uint32_t flags, clear, attr_set, attr_clr;
    uint32_t n_prop, prop[8];
    uint32_t n_uid, n_gid;
    const uint8_t *maps;      /* (n_uid + n_gid) x (u32 container, u32 host, u32 size) */
    const char *userns_path;  /* idmap with a joined user namespace's mapping, or "" */
    const char *fallback;     /* EXT_CGROUP_FALLBACK: the host's mount of the hierarchy */
};

/* rootfs.c: decode a T_MOUNT's extension (an empty one for records without it). */
void mount_ext_of(const struct mount_entry *m, struct mount_ext *x);

/* Stage 1, in the host's namespaces: create the idmapped mounts (detached, O_CLOEXEC fds
 * kept for rootfs_prepare). Called by main() before joining namespaces; rootfs_prepare
 * calls it if main() did not (then only works without a new user namespace). */
int rootfs_early(const struct plan *p);

/* devices.c */
int devices_create(int rootfd, const struct plan *p);
int devices_symlinks(int rootfd);

#endif
