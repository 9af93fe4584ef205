/* STUB: replaced by the rootfs implementation. Keeps the init linkable meanwhile. */
#include <stdlib.h>
#include "rootfs.h"
struct rootfs_plan { int unused; };
struct rootfs_plan *rootfs_plan_new(void) { return calloc(1, sizeof(struct rootfs_plan)); }
int rootfs_plan_add(struct rootfs_plan *rp, const struct plan_record *rec, char *err, size_t errlen) { return 0; }
int rootfs_prepare(struct rootfs_plan *rp, char *err, size_t errlen) { return 0; }
int rootfs_setup_console(struct rootfs_plan *rp, int *master, int *slave, char *err, size_t errlen) { *master = *slave = -1; return 0; }
int rootfs_finalize(struct rootfs_plan *rp, char *err, size_t errlen) { return 0; }
