/* Root filesystem setup inside the container's mount namespace (init/rootfs.c).
 * Plan records 0x0100-0x01ff; encoder: pyrunc/linux/mounts.py. */
#ifndef PYRUNC_ROOTFS_H
#define PYRUNC_ROOTFS_H

#include <stddef.h>
#include "plan.h"

struct rootfs_plan;

struct rootfs_plan *rootfs_plan_new(void);
/* Take one record of the rootfs range; -1 with a message in err on a malformed record. */
int rootfs_plan_add(struct rootfs_plan *rp, const struct plan_record *rec, char *err, size_t errlen);
/* In the new mount namespace, before the createContainer hooks: propagation, the rootfs
 * bind, every mount in order, devices, /dev symlinks. */
int rootfs_prepare(struct rootfs_plan *rp, char *err, size_t errlen);
/* Between prepare and finalize, when process.terminal is true: open a pty from the
 * container's devpts, bind its slave onto /dev/console; returns master and slave fds. */
int rootfs_setup_console(struct rootfs_plan *rp, int *master, int *slave, char *err, size_t errlen);
/* After the createContainer hooks: pivot_root (or MS_MOVE + chroot), then masked and
 * readonly paths, root.readonly, sysctl. On return the cwd is the container's "/". */
int rootfs_finalize(struct rootfs_plan *rp, char *err, size_t errlen);

#endif
