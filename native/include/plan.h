/* The launch plan: everything Python resolved from config.json, handed to pyrunc-init.
 *
 * Wire format (little-endian, host order): the 8-byte header "PRPL" + u32 version, then
 * records: u32 tag, u32 length, `length` bytes of payload. Strings are NUL-terminated
 * inside their payload. Tag ranges belong to one subsystem each, so each module parses
 * only its own records:
 *   0x0000-0x00ff  core: namespaces, id maps, sync, hooks, console, fds, hostname (init/main.c)
 *   0x0100-0x01ff  rootfs: mounts, devices, masked/readonly paths, pivot, sysctl (init/rootfs.c)
 *   0x0200-0x02ff  process: user, caps, rlimits, nnp, scheduler, ioprio, LSM, seccomp (init/process.c)
 * The Python encoders live in pyrunc/linux/plan.py, mounts.py and process.py respectively.
 */
#ifndef PYRUNC_PLAN_H
#define PYRUNC_PLAN_H

#include <stdint.h>

#define PLAN_MAGIC "PRPL"
#define PLAN_VERSION 1

#define PLAN_TAG_CORE_FIRST 0x0000u
#define PLAN_TAG_ROOTFS_FIRST 0x0100u
#define PLAN_TAG_PROCESS_FIRST 0x0200u
#define PLAN_TAG_LAST 0x02ffu

struct plan_record {
    uint32_t tag;
    uint32_t len;
    const uint8_t *data;
};

#endif
