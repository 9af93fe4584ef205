/* pyrunc-init: the C program that becomes a container's init (see docs/native.md). */
#ifndef PYRUNC_INIT_H
#define PYRUNC_INIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "plan.h"

#define MAX_ITEMS 256

struct strlist { const char *v[MAX_ITEMS + 1]; int n; };

struct hook { uint32_t timeout; const char *path; struct strlist args, env; int inherit_env; };
struct hooklist { struct hook v[32]; int n; };

struct mount_entry {
    uint32_t flags, propagation, kind;
    const char *source, *dest, *fstype, *data;
};
enum mount_kind { MK_FS = 0, MK_BIND = 1 };

struct device { uint32_t mode, major, minor, uid, gid; const char *path; };
struct rlimit_entry { uint32_t resource; uint64_t soft, hard; };

struct plan {
    /* core */
    uint32_t ns_new;                         /* CLONE_NEW* to create */
    struct { uint32_t flag; const char *path; } ns_join[16]; int n_join;
    const char *hostname, *domainname, *time_offsets;
    struct hooklist create_container, start_container;
    int terminal, new_keyring, userns_maps;
    uint32_t preserve_fds;
    int exec_mode; uint32_t exec_ns;         /* `pyrunc exec`: namespaces to join via pidfd */
    struct strlist cgroup_tasks;             /* v1 `tasks` files stage 1 joins itself */
    const char *cgroup2_dir;                 /* the init is cloned into this cgroup2 dir */
    /* root filesystem */
    const char *rootfs;
    uint32_t rootfs_propagation;
    struct mount_entry mounts[MAX_ITEMS]; int n_mounts;
    struct strlist masked, readonly;
    struct { const char *key, *value; } sysctl[MAX_ITEMS]; int n_sysctl;
    struct device devices[MAX_ITEMS]; int n_devices;
    int root_readonly, no_pivot, default_devices, bind_devices;
    /* process */
    struct strlist args, env;
    const char *cwd;
    uint32_t uid, gid, umask;
    uint32_t additional_gids[MAX_ITEMS]; int n_gids;
    int has_caps; uint64_t caps[5];
    struct rlimit_entry rlimits[64]; int n_rlimits;
    int no_new_privs;
    const void *sched_attr; uint32_t sched_len;
    int has_ioprio; uint32_t ioprio;
    int has_personality; uint32_t personality;
    const char *lsm_file, *lsm_label;
    uint32_t seccomp_flags; const void *seccomp_prog; uint32_t seccomp_len;
};

/* util.c */
extern char init_err[512];
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));    /* sets init_err, returns -1 */
int fail_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* appends strerror */
int write_file(const char *path, const char *data, size_t len);
int parse_plan(struct plan *p, const uint8_t *buf, size_t len);
/* hooks.c */
int run_hooks(const char *kind, const struct hooklist *hooks, const char *state_json);
/* rootfs.c */
int rootfs_prepare(const struct plan *p);
int rootfs_console(const struct plan *p, int *master, int *slave);
int rootfs_finalize(const struct plan *p);
/* process.c */
int process_check_executable(const struct plan *p, char *path, size_t pathlen);
int process_apply(const struct plan *p);
int process_exec(const struct plan *p, const char *path);
/* Load the seccomp filter if process_apply has not (call it last, after process_apply);
 * *listener: its SECCOMP_FILTER_FLAG_NEW_LISTENER fd, for the runtime, or -1. */
int process_seccomp(const struct plan *p, int *listener);

#endif
