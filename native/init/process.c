/* The container process: its executable, rlimits, scheduling, LSM label, user and groups,
 * capabilities, no_new_privs, working directory, seccomp and, last, execve. The order
 * follows runc (docs/native.md): privileged work first, then the user switch with
 * PR_SET_KEEPCAPS so the configured capabilities survive it, seccomp last (process_seccomp,
 * called by main.c, which hands the notify listener to the runtime; docs/seccomp.md). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "init.h"

/* /proc/self/setgroups says "deny": an unprivileged gid map was written (user_namespaces(7)) */
static int setgroups_denied(void)
{
    char buf[16] = {0};
    int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    return n >= 4 && strncmp(buf, "deny", 4) == 0;
}

static const char *env_get(const struct plan *p, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < p->env.n; i++)
        if (strncmp(p->env.v[i], name, n) == 0 && p->env.v[i][n] == '=')
            return p->env.v[i] + n + 1;
    return NULL;
}

static int is_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

/* Go's exec.LookPath, as runc uses it: names with a '/' are taken as they are. */
int process_check_executable(const struct plan *p, char *out, size_t outlen)
{
    const char *name = p->args.v[0];
    if (strchr(name, '/')) {
        snprintf(out, outlen, "%s", name);
        if (is_executable(out)) return 0;
        return fail_errno("exec: \"%s\"", name);
    }
    const char *path = env_get(p, "PATH");
    for (const char *dir = path; dir && *dir;) {
        const char *end = strchrnul(dir, ':');
        int len = (int)(end - dir);
        snprintf(out, outlen, "%.*s/%s", len ? len : 1, len ? dir : ".", name);
        if (is_executable(out)) return 0;
        dir = *end ? end + 1 : end;
    }
    return fail("exec: \"%s\": executable file not found in $PATH", name);
}

static int last_cap(void)
{
    int last = CAP_LAST_CAP;
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
    if (f) { if (fscanf(f, "%d", &last) != 1) last = CAP_LAST_CAP; fclose(f); }
    return last;
}

/* Before the user switch: dropping from the bounding set needs CAP_SETPCAP in effect. */
static int drop_bounding(const struct plan *p)
{
    int last = last_cap();
    for (int cap = 0; cap <= last; cap++)
        if (!(p->caps[0] & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            return fail_errno("drop capability %d from the bounding set", cap);
    return 0;
}

/* After the user switch (PR_SET_KEEPCAPS kept the permitted set): the configured sets. */
static int set_capabilities(const struct plan *p)
{
    /* caps[]: bounding, effective, permitted, inheritable, ambient */
    int last = last_cap();
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    for (int i = 0; i < 2; i++) {
        data[i].effective = (uint32_t)(p->caps[1] >> (32 * i));
        data[i].permitted = (uint32_t)(p->caps[2] >> (32 * i));
        data[i].inheritable = (uint32_t)(p->caps[3] >> (32 * i));
    }
    if (syscall(SYS_capset, &hdr, data) < 0)
        return fail_errno("set capabilities");
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    for (int cap = 0; cap <= last; cap++)
        if ((p->caps[4] & (1ULL << cap)) &&
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
            /* like runc: an ambient cap not also permitted and inheritable is skipped */
            continue;
    return 0;
}

/* The filter's listener (SECCOMP_FILTER_FLAG_NEW_LISTENER), until process_seccomp hands it
 * over; whether the filter is in. */
static int seccomp_listener = -1, seccomp_loaded;

static int load_seccomp(const struct plan *p)
{
    if (!p->seccomp_prog || seccomp_loaded)
        return 0;
    if (p->seccomp_len == 0 || p->seccomp_len % sizeof(struct sock_filter) ||
        p->seccomp_len / sizeof(struct sock_filter) > BPF_MAXINSNS)
        return fail("plan: malformed seccomp filter (%u bytes)", p->seccomp_len);
    struct sock_fprog prog = { (unsigned short)(p->seccomp_len / sizeof(struct sock_filter)),
                               (struct sock_filter *)p->seccomp_prog };
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->seccomp_flags, &prog);
    if (rc < 0)
        return fail_errno("load the seccomp filter (linux.seccomp)");
    seccomp_loaded = 1;
    /* the kernel makes the listener O_CLOEXEC */
    if (p->seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)
        seccomp_listener = (int)rc;
    return 0;
}

/* Loading a filter needs no_new_privs or CAP_SYS_ADMIN. Without no_new_privs, load it before
 * the user switch and capability drop unless the final capabilities keep CAP_SYS_ADMIN (runc
 * always loads it there; later means fewer of our syscalls run under the filter). */
static int seccomp_before_user_switch(const struct plan *p)
{
    if (p->no_new_privs)
        return 0;
    if (p->has_caps)
        return !(p->caps[1] & (1ULL << CAP_SYS_ADMIN));
    return p->uid != 0;  /* without capabilities in the plan, only uid 0 keeps its own */
}

int process_seccomp(const struct plan *p, int *listener)
{
    if (load_seccomp(p) < 0)
        return -1;
    *listener = seccomp_listener;
    seccomp_listener = -1;
    return 0;
}

/* process.cwd is entered here, before READY (as runc does), so that a bad one fails
 * `create`, not the process after `start`. Returns 1 when root may not enter it but the
 * process' user may (a volume chowned to that user): process_apply tries again after the
 * user switch. Then getcwd must name a path under our root: a cwd reached through an fd of
 * the host (/proc/self/fd/N, CVE-2024-21626) is "(unreachable)", ENOENT from glibc. */
static int enter_cwd(const struct plan *p, int last_try)
{
    const char *cwd = p->cwd ? p->cwd : "/";
    if (chdir(cwd) < 0) {
        if (!last_try && (errno == EACCES || errno == EPERM))
            return 1;
        return fail_errno("chdir to cwd (\"%s\") set in config.json", cwd);
    }
    char here[4096];
    if (!getcwd(here, sizeof here) && errno == ENOENT)
        return fail("process.cwd \"%s\": the working directory is outside the container's "
                    "root (a host fd?)", cwd);
    return 0;
}

int process_apply(const struct plan *p)
{
    int cwd_later = enter_cwd(p, 0);
    if (cwd_later < 0)
        return -1;
    for (int i = 0; i < p->n_rlimits; i++) {
        struct rlimit rl = { p->rlimits[i].soft, p->rlimits[i].hard };
        if (setrlimit((int)p->rlimits[i].resource, &rl) < 0)
            return fail_errno("set rlimit %u (soft %llu, hard %llu)", p->rlimits[i].resource,
                              (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
    }
    if (p->has_personality && personality(p->personality) < 0)
        return fail_errno("personality 0x%x", p->personality);
    if (p->sched_attr && syscall(SYS_sched_setattr, 0, p->sched_attr, 0) < 0)
        return fail_errno("process.scheduler");
    if (p->has_ioprio && syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, p->ioprio) < 0)
        return fail_errno("process.ioPriority");
    if (p->lsm_file && write_file(p->lsm_file, p->lsm_label, strlen(p->lsm_label)) < 0)
        return -1;
    if (seccomp_before_user_switch(p) && load_seccomp(p) < 0)
        return -1;
    if (p->has_caps) {
        if (drop_bounding(p) < 0)
            return -1;
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
            return fail_errno("keep capabilities");
    }
    gid_t groups[MAX_ITEMS];
    for (int i = 0; i < p->n_gids; i++) groups[i] = p->additional_gids[i];
    if (setgroups((size_t)p->n_gids, groups) < 0 && !(errno == EPERM && p->n_gids == 0)) {
        if (errno == EPERM && setgroups_denied())
            return fail("process.user.additionalGids: setgroups is denied in this user "
                        "namespace (rootless, with a gid map of one id)");
        return fail_errno("setgroups");
    }
    /* EINVAL: the id has no mapping in the user namespace (a rootless one maps only the
       caller's own unless newuidmap/newgidmap gave it more) */
    if (setresgid(p->gid, p->gid, p->gid) < 0)
        return errno == EINVAL ? fail("process.user.gid: %u is not mapped in the user "
                                      "namespace", p->gid)
                               : fail_errno("setgid %u", p->gid);
    if (setresuid(p->uid, p->uid, p->uid) < 0)
        return errno == EINVAL ? fail("process.user.uid: %u is not mapped in the user "
                                      "namespace", p->uid)
                               : fail_errno("setuid %u", p->uid);
    if (cwd_later && enter_cwd(p, 1) < 0)
        return -1;
    if (p->has_caps && set_capabilities(p) < 0)
        return -1;
    if (p->has_caps) prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return fail_errno("set no_new_privs");
    umask(p->umask == UINT32_MAX ? 022 : p->umask);
    return 0;
}

/* HOME from the container's /etc/passwd when process.env lacks it, like runc ("/" if none). */
static const char *home_for(uid_t uid, char *buf, size_t len)
{
    snprintf(buf, len, "HOME=/");
    FILE *f = fopen("/etc/passwd", "re");
    if (!f) return buf;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *fields[7] = { 0 }, *save = NULL, *tok = strtok_r(line, ":", &save);
        for (int i = 0; tok && i < 7; i++, tok = strtok_r(NULL, ":", &save)) fields[i] = tok;
        if (fields[2] && fields[5] && (uid_t)atol(fields[2]) == uid) {
            snprintf(buf, len, "HOME=%s", fields[5]);
            break;
        }
    }
    fclose(f);
    return buf;
}

int process_exec(const struct plan *p, const char *path)
{
    static const char *env[MAX_ITEMS + 2];
    static char home[1100];
    int n = 0;
    for (; n < p->env.n; n++) env[n] = p->env.v[n];
    if (!env_get(p, "HOME")) env[n++] = home_for(p->uid, home, sizeof home);
    env[n] = NULL;
    /* the cwd was entered by process_apply, before READY */
    execve(path, (char *const *)p->args.v, (char *const *)env);
    return fail_errno("exec %s", path);
}
