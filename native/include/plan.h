/* The launch plan: everything Python resolved from config.json, handed to pyrunc-init.
 *
 * Wire format (host byte order): the 8-byte header "PRPL" + u32 version, then records:
 * u32 tag, u32 length, `length` bytes of payload. Strings are NUL-terminated inside their
 * payload; numbers are u32/u64 in host order. Tag ranges belong to one subsystem each:
 *   0x0000-0x00ff  core: namespaces, hooks, console, fds, hostname      (init/main.c, hooks.c)
 *   0x0100-0x01ff  root filesystem: mounts, devices, paths, sysctl      (init/rootfs.c)
 *   0x0200-0x02ff  process: args, env, user, caps, rlimits, seccomp     (init/process.c)
 * The Python side writing each range: pyrunc/linux/plan.py (core), rootfs.py, process.py.
 * Keep the numbers here and in pyrunc/linux/plan.py in step (tests/test_plan.py checks).
 */
#ifndef PYRUNC_PLAN_H
#define PYRUNC_PLAN_H

#include <stdint.h>

#define PLAN_MAGIC "PRPL"
#define PLAN_VERSION 1

enum plan_tag {
    /* core */
    T_NS_NEW = 0x01,          /* u32 CLONE_NEW* flag */
    T_NS_JOIN = 0x02,         /* u32 CLONE_NEW* flag, path */
    T_HOSTNAME = 0x03,        /* string */
    T_DOMAINNAME = 0x04,      /* string */
    T_HOOK_CREATE_CONTAINER = 0x05, /* u32 timeout, u32 nargs, u32 nenv (~0: inherit), path, args, env */
    T_HOOK_START_CONTAINER = 0x06,
    T_TERMINAL = 0x07,        /* u32 0/1 */
    T_PRESERVE_FDS = 0x08,    /* u32: fds 3..3+n-1 stay open */
    T_TIME_OFFSETS = 0x09,    /* string written to /proc/self/timens_offsets */
    T_NEW_KEYRING = 0x0a,     /* u32 0/1: join a fresh session keyring */
    T_USERNS_MAPS = 0x0b,     /* u32 0/1: the runtime writes id maps, wait for it */
    T_EXEC = 0x0c,            /* u32 CLONE_NEW* flags: `exec` mode, join these namespaces of the
                               * container init (pidfd in argv[3]); no rootfs records */
    T_CGROUP_TASKS = 0x0d,    /* path of a v1 hierarchy's `tasks` file, repeated: stage 1
                               * joins by writing "0" there (no global lock, see main.c) */
    T_CGROUP2_DIR = 0x0e,     /* path of the cgroup2 directory: the init is cloned into it */
    /* root filesystem */
    T_ROOTFS = 0x100,         /* absolute path */
    T_ROOTFS_PROPAGATION = 0x101, /* u32 MS_* propagation flags for / */
    T_MOUNT = 0x102,          /* u32 flags, u32 propagation, u32 kind, source, dest, fstype, data */
    T_MASKED_PATH = 0x103,    /* path */
    T_READONLY_PATH = 0x104,  /* path */
    T_ROOT_READONLY = 0x105,  /* u32 0/1 */
    T_SYSCTL = 0x106,         /* key, value */
    T_DEVICE = 0x107,         /* u32 mode (S_IF* | perms), u32 major, u32 minor, u32 uid, u32 gid, path */
    T_NO_PIVOT = 0x108,       /* u32 0/1 */
    T_DEFAULT_DEVICES = 0x109, /* u32 0/1: create null, zero, ... and /dev symlinks */
    T_BIND_DEVICES = 0x10a,   /* u32 0/1: bind devices from the host (user namespace) */
    /* process */
    T_ARG = 0x200,            /* string, repeated */
    T_ENV = 0x201,            /* string, repeated */
    T_CWD = 0x202,            /* string */
    T_USER = 0x203,           /* u32 uid, u32 gid, u32 umask (~0: unset) */
    T_ADDITIONAL_GID = 0x204, /* u32, repeated */
    T_CAPS = 0x205,           /* 5 x u64: bounding, effective, permitted, inheritable, ambient */
    T_RLIMIT = 0x206,         /* u32 resource, u64 soft, u64 hard */
    T_NO_NEW_PRIVS = 0x207,   /* u32 0/1 */
    T_SCHEDULER = 0x208,      /* struct sched_attr (kernel layout, 56 bytes) */
    T_IOPRIO = 0x209,         /* u32 ioprio value */
    T_PERSONALITY = 0x20a,    /* u32 persona */
    T_LSM_EXEC = 0x20b,       /* attr file path, label */
    T_SECCOMP = 0x20c,        /* u32 flags, struct sock_filter[] */
};

#endif
