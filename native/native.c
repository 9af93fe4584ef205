/* In-process helpers for the runtime side (see native/ffi_build.py). */
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int pyrunc_native_abi(void) { return 1; }

static long bpf_call(int cmd, union bpf_attr *attr)
{
    return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

#define PYRUNC_MAX_OLD_PROGS 64

/* Load a BPF_PROG_TYPE_CGROUP_DEVICE program and attach it to the cgroup (BPF_F_ALLOW_MULTI),
 * then detach every other device program that was attached there (an earlier pyrunc create or
 * update): the new filter is in place before the old ones go. Returns 0 or -errno; when the
 * verifier refuses the program its log is copied into log. */
int pyrunc_bpf_device_prog(int cgroup_fd, const void *insns, unsigned n_insns, char *log,
                           unsigned log_len)
{
    union bpf_attr attr;
    uint32_t old_ids[PYRUNC_MAX_OLD_PROGS];
    uint32_t n_old = 0, i;
    int prog_fd, err;

    if (log && log_len)
        log[0] = '\0';

    /* what is attached now; ENOENT/EINVAL-free cgroups simply report zero programs */
    memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = (uint32_t)cgroup_fd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uint64_t)(uintptr_t)old_ids;
    attr.query.prog_cnt = PYRUNC_MAX_OLD_PROGS;
    if (bpf_call(BPF_PROG_QUERY, &attr) == 0)
        n_old = attr.query.prog_cnt;
    else if (errno == ENOSPC)
        return -ENOSPC;
    if (n_old > PYRUNC_MAX_OLD_PROGS)
        n_old = PYRUNC_MAX_OLD_PROGS;

    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)insns;
    attr.insn_cnt = n_insns;
    attr.license = (uint64_t)(uintptr_t)"Apache";
    prog_fd = (int)bpf_call(BPF_PROG_LOAD, &attr);
    if (prog_fd < 0 && log && log_len > 1) {
        /* again with the verifier's log, to say why */
        attr.log_level = 1;
        attr.log_buf = (uint64_t)(uintptr_t)log;
        attr.log_size = log_len;
        prog_fd = (int)bpf_call(BPF_PROG_LOAD, &attr);
    }
    if (prog_fd < 0)
        return -errno;

    memset(&attr, 0, sizeof(attr));
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)prog_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (bpf_call(BPF_PROG_ATTACH, &attr) < 0) {
        err = errno;
        close(prog_fd);
        return -err;
    }
    close(prog_fd); /* the attachment holds its own reference */

    for (i = 0; i < n_old; i++) {
        int old_fd;

        memset(&attr, 0, sizeof(attr));
        attr.prog_id = old_ids[i];
        old_fd = (int)bpf_call(BPF_PROG_GET_FD_BY_ID, &attr);
        if (old_fd < 0)
            continue; /* already gone */
        memset(&attr, 0, sizeof(attr));
        attr.target_fd = (uint32_t)cgroup_fd;
        attr.attach_bpf_fd = (uint32_t)old_fd;
        attr.attach_type = BPF_CGROUP_DEVICE;
        err = bpf_call(BPF_PROG_DETACH, &attr) < 0 ? errno : 0;
        close(old_fd);
        if (err && err != ENOENT)
            return -err;
    }
    return 0;
}
