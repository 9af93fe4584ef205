/* pyrunc-init: becomes the container's init. Exec'd by the runtime from a sealed memfd copy
 * (so the container can never reach a writable runtime binary, CVE-2019-5736), given:
 *   argv[1] sync socket fd, argv[2] plan fd, argv[3] state dir fd (for `exec`: the container
 *   init's pidfd), argv[4] console socket fd or -1
 *
 * Stage 1 (this process): open the exec fifo (then drop the state dir fd: no host directory
 * fd ever enters the container, CVE-2024-21626), join and create namespaces, let the runtime
 * write the id maps, then clone the container init with CLONE_PARENT, so that it is the
 * runtime's child (the caller's, once `create` exits and it is re-parented to the
 * subreaper), report its pid, exit.
 * Stage 2 (the container init): new session, wait for GO, mounts, createContainer hooks,
 * console, pivot_root, process attributes, READY; block reading the exec fifo until `start`
 * writes to it; startContainer hooks; execve (which closes the fifo: `start` sees that).
 * No Python runs in any of these processes.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <linux/sched.h>
#include <unistd.h>
#include "init.h"
#include "rootfs_parts.h"
#include "sync.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#define KEYCTL_JOIN_SESSION_KEYRING 1

static int sync_fd = -1;

static int send_msg(uint32_t type, const void *data, size_t len)
{
    char buf[8192];
    if (len > sizeof buf - 4) len = sizeof buf - 4;
    memcpy(buf, &type, 4);
    if (len) memcpy(buf + 4, data, len);
    return send(sync_fd, buf, 4 + len, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* Receive one message of `want`; payload into buf (NUL-terminated). */
static int recv_msg(uint32_t want, char *buf, size_t buflen)
{
    ssize_t n;
    do n = recv(sync_fd, buf, buflen - 1, MSG_TRUNC); while (n < 0 && errno == EINTR);
    if (n < 4) return fail("runtime went away");
    if ((size_t)n > buflen - 1) return fail("sync: message %zd bytes long, too long", n);
    uint32_t type;
    memcpy(&type, buf, 4);
    if (type != want) return fail("sync: expected message %u, got %u", want, type);
    memmove(buf, buf + 4, (size_t)n - 4);
    buf[n - 4] = '\0';
    return (int)(n - 4);
}

/* GO carries a memfd (SCM_RIGHTS) holding the createContainer state JSON, NUL, the
 * startContainer state JSON, NUL: a memfd, as state JSON with big annotations would not fit
 * in one socket message. */
static int recv_go(const char **create_state, const char **start_state)
{
    uint32_t type = 0;
    struct iovec iov = { &type, sizeof type };
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } cbuf;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf,
                          .msg_controllen = sizeof cbuf.buf };
    ssize_t n;
    do n = recvmsg(sync_fd, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
    if (n < 4) return fail("runtime went away");
    if (type != SYNC_GO) return fail("sync: expected message %u, got %u", SYNC_GO, type);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    int fd = -1;
    if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < 2) {
        if (fd >= 0) close(fd);
        return fail("sync: GO without states");
    }
    const char *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return fail_errno("sync: map the hook states");
    size_t len = (size_t)st.st_size, first = strnlen(map, len);
    if (map[len - 1] != '\0' || first + 1 >= len) return fail("sync: malformed hook states");
    *create_state = map;
    *start_state = map + first + 1;
    return 0;
}

static void __attribute__((noreturn)) die(void)
{
    send_msg(SYNC_ERROR, init_err, strlen(init_err));
    _exit(1);
}

/* The last step before READY (or the exec): the seccomp filter; its notify listener goes to
 * the runtime (SYNC_SECCOMP, SCM_RIGHTS), which passes it to linux.seccomp.listenerPath. Our
 * copy is closed: it must not reach the container. From here on every syscall we make runs
 * under the filter. */
static void apply_seccomp(const struct plan *p)
{
    int listener = -1;
    if (process_seccomp(p, &listener) < 0) die();
    if (listener < 0) return;
    uint32_t type = SYNC_SECCOMP;
    struct iovec iov = { &type, sizeof type };
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } cbuf;
    memset(&cbuf, 0, sizeof cbuf);
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf,
                          .msg_controllen = sizeof cbuf.buf };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &listener, sizeof(int));
    if (sendmsg(sync_fd, &msg, MSG_NOSIGNAL) < 0) {
        fail_errno("send the seccomp listener to the runtime");
        close(listener);
        die();
    }
    close(listener);
}

static void reset_signals(void)
{
    /* the runtime (Python) ignores SIGPIPE; an ignored signal would stay ignored across exec */
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static int loopback_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return fail_errno("lo: socket");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    close(s);
    return rc < 0 ? fail_errno("bring lo up") : 0;
}

static const char *ns_name(uint32_t flag)
{
    switch (flag) {
    case CLONE_NEWUSER: return "user"; case CLONE_NEWNS: return "mount";
    case CLONE_NEWPID: return "pid"; case CLONE_NEWNET: return "network";
    case CLONE_NEWUTS: return "uts"; case CLONE_NEWIPC: return "ipc";
    case CLONE_NEWCGROUP: return "cgroup"; case CLONE_NEWTIME: return "time";
    }
    return "?";
}

/* Join the namespaces given by path. Returns whether a user namespace was joined. */
static int join_namespaces(const struct plan *p)
{
    int fds[16], joined_user = 0;
    /* open every path first: joining the mount namespace changes how paths resolve */
    for (int i = 0; i < p->n_join; i++) {
        fds[i] = open(p->ns_join[i].path, O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0) {
            fail_errno("linux.namespaces: %s namespace path %s", ns_name(p->ns_join[i].flag),
                       p->ns_join[i].path);
            die();
        }
    }
    /* the user namespace first: it grants the rights to join the others */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < p->n_join; i++) {
            int is_user = p->ns_join[i].flag == CLONE_NEWUSER;
            if (is_user != (pass == 0)) continue;
            /* setns checks the file is a namespace of that type (EINVAL otherwise) */
            if (setns(fds[i], (int)p->ns_join[i].flag) < 0) {
                fail_errno("linux.namespaces: join %s namespace %s", ns_name(p->ns_join[i].flag),
                           p->ns_join[i].path);
                die();
            }
            close(fds[i]);
            joined_user |= is_user;
        }
    return joined_user;
}

/* Root of a user namespace just entered (created or joined), as runc's init is: so mounts,
 * hooks and files made from here on belong to the namespace's root. */
static void become_userns_root(void)
{
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
        fail_errno("become root in the user namespace (is 0 mapped?)");
        die();
    }
}

/* The payload is the pty's name, "/dev/pts/N" (the slave's path inside the container). */
static void send_console(int console_fd, int master)
{
    int ptn = 0;
    char name[64];
    ioctl(master, TIOCGPTN, &ptn);
    snprintf(name, sizeof name, "/dev/pts/%d", ptn);
    struct iovec iov = { name, strlen(name) };
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                          .msg_controllen = sizeof cbuf };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &master, sizeof(int));
    if (sendmsg(console_fd, &msg, MSG_NOSIGNAL) < 0) {
        fail_errno("send the pty master to --console-socket");
        die();
    }
}

/* A pty from the ptmx we can see: the host's without a mount namespace (as runc; no
 * /dev/console is bound then, that would change the host's), the container's for `exec`.
 * The ptmx must be the real one (char 5:2, no symlink followed at the last component). */
static int open_pty(int *master, int *slave)
{
    static const char *const paths[] = { "/dev/pts/ptmx", "/dev/ptmx" };
    int unlock = 0;
    struct stat st;
    *master = *slave = -1;
    for (size_t i = 0; i < 2 && *master < 0; i++) {
        *master = open(paths[i], O_RDWR | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
        if (*master >= 0 && (fstat(*master, &st) < 0 || !S_ISCHR(st.st_mode) ||
                             st.st_rdev != makedev(5, 2))) {
            close(*master);
            *master = -1;
            errno = ENODEV;
        }
    }
    if (*master < 0) return fail_errno("console: open ptmx");
    if (ioctl(*master, TIOCSPTLCK, &unlock) < 0 ||
        (*slave = ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
        fail_errno("console: open the pty");
        close(*master);
        return -1;
    }
    return 0;
}

/* The pty as controlling terminal and stdio; its master to --console-socket. */
static void setup_console(const struct plan *p, int in_rootfs, int console_fd)
{
    int master = -1, slave = -1;
    if ((in_rootfs ? rootfs_console(p, &master, &slave) : open_pty(&master, &slave)) < 0)
        die();
    if (master < 0 || slave < 0) {
        fail("console: no pty was allocated");
        die();
    }
    if (ioctl(slave, TIOCSCTTY, 0) < 0) {
        fail_errno("make the pty the controlling terminal");
        die();
    }
    for (int fd = 0; fd < 3; fd++)
        if (dup2(slave, fd) < 0) {
            fail_errno("make the pty stdio");
            die();
        }
    close(slave);
    send_console(console_fd, master);
    close(master);
}

/* Stdio that is a terminal or other device (not /dev/null) is handed to the container's user,
 * so it can reopen its own tty; as runc does. Failures (a read-only or foreign file) are not
 * fatal: the open fds keep working. */
static void chown_stdio(const struct plan *p)
{
    for (int fd = 0; fd < 3; fd++) {
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev == makedev(1, 3))
            continue;
        if (st.st_uid != p->uid || st.st_gid != p->gid)
            (void)!fchown(fd, p->uid, p->gid);
    }
}

static void container_init(const struct plan *p, int exec_fd, int console_fd)
{
    /* if the runtime dies before READY, so do we: nothing half-made survives (had it died
     * before the prctl took effect, the recv of GO below finds the socket closed) */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* a session of our own, as runc's init: signals for the caller's terminal or process group
     * do not reach the container */
    if (setsid() < 0) { fail_errno("setsid"); die(); }
    const char *create_state = "", *start_state = "";
    if (recv_go(&create_state, &start_state) < 0) die();
    if ((p->ns_new & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0) {
        fail_errno("unshare the cgroup namespace");
        die();
    }
    if (p->new_keyring)  /* a fresh session keyring, so keys never leak between containers */
        syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL);
    /* Without a mount namespace of its own the container shares the runtime's filesystem,
     * as runc does: no mounts, no pivot_root (those would change the host's view), only
     * a chroot. */
    int own_mounts = (p->ns_new & CLONE_NEWNS) != 0;
    for (int i = 0; i < p->n_join; i++)
        own_mounts |= p->ns_join[i].flag == CLONE_NEWNS;
    if (own_mounts && rootfs_prepare(p) < 0) die();
    if (run_hooks("createContainer", &p->create_container, create_state) < 0) die();
    if (p->terminal) setup_console(p, own_mounts, console_fd);
    if (console_fd >= 0) close(console_fd);
    if (own_mounts && rootfs_finalize(p) < 0) die();
    if (!own_mounts && (chdir(p->rootfs) < 0 || chroot(".") < 0 || chdir("/") < 0)) {
        fail_errno("chroot to %s", p->rootfs);  /* only this process' view changes */
        die();
    }
    if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0) {
        fail_errno("set hostname");
        die();
    }
    if (p->domainname && setdomainname(p->domainname, strlen(p->domainname)) < 0) {
        fail_errno("set domainname");
        die();
    }
    static char exe[4096];
    if (process_check_executable(p, exe, sizeof exe) < 0) die();
    chown_stdio(p);
    if (process_apply(p) < 0) die();
    prctl(PR_SET_PDEATHSIG, 0);  /* from here on we outlive `create`, as we must */
    apply_seccomp(p);
    /* a failed send: the runtime is gone (and no PDEATHSIG any more), so go too */
    if (send_msg(SYNC_READY, NULL, 0) < 0) _exit(1);
    close(sync_fd);

    /* Wait for `start`: it writes one byte into the fifo. Our fd is read-write, so the read
     * blocks (never EOF) until then; execve closes it (O_CLOEXEC), which tells `start` the
     * process has been exec'd. */
    char go = 0;
    ssize_t got;
    do got = read(exec_fd, &go, 1); while (got < 0 && errno == EINTR);
    if (got != 1 || go != '0') {
        fprintf(stderr, "pyrunc-init: exec fifo: %s\n", got < 0 ? strerror(errno) : "bad data");
        _exit(1);
    }
    if (run_hooks("startContainer", &p->start_container, start_state) < 0) {
        fprintf(stderr, "pyrunc-init: %s\n", init_err);
        _exit(1);
    }
    /* only stdio and the preserved fds cross into the container (CVE-2024-21626) */
    syscall(SYS_close_range, 3 + p->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
    process_exec(p, exe);
    fprintf(stderr, "pyrunc-init: %s\n", init_err);
    _exit(127);
}

/* `pyrunc exec`: a process in a running container. Stage 1 has joined the container init's
 * namespaces; this, its child, is placed in the container's cgroups by the runtime (GO),
 * then becomes the process. The sync socket is close-on-exec: the runtime reads its EOF as
 * "exec'd", an ERROR as the reason it was not. */
static void __attribute__((noreturn)) exec_init(const struct plan *p, int console_fd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (setsid() < 0) { fail_errno("setsid"); die(); }
    const char *unused1, *unused2;
    if (recv_go(&unused1, &unused2) < 0) die();
    if (p->terminal) setup_console(p, 0, console_fd);
    if (console_fd >= 0) close(console_fd);
    static char exe[4096];
    if (process_check_executable(p, exe, sizeof exe) < 0) die();
    chown_stdio(p);
    if (process_apply(p) < 0) die();
    syscall(SYS_close_range, 3 + p->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
    prctl(PR_SET_PDEATHSIG, 0);  /* the process outlives a detached `exec` */
    apply_seccomp(p);
    process_exec(p, exe);
    die();
}

/* Stage 1 of `exec`: all the namespaces at once through the init's pidfd (atomic; and the pid
 * cannot have been reused, the runtime checked the pidfd against the state). */
static void join_v1_cgroups(const struct plan *p);
static int open_cgroup2(const struct plan *p);
static pid_t clone_init(int cgroup2_fd);

static void __attribute__((noreturn)) exec_stage1(const struct plan *p, int pidfd,
                                                  int console_fd)
{
    /* before setns, as the host's root with the host's paths; stage 1 moves itself (not its
     * child, as `create` does: the container's /sys/fs/cgroup is all its child could see);
     * the pids limit counts the two of us for a moment, as runc's exec */
    join_v1_cgroups(p);
    int cgroup2_fd = open_cgroup2(p);
    if (p->exec_ns && setns(pidfd, (int)p->exec_ns) < 0) {
        fail_errno("join the container's namespaces");
        die();
    }
    close(pidfd);
    if (p->exec_ns & CLONE_NEWUSER) become_userns_root();
    pid_t child = clone_init(cgroup2_fd);
    if (child < 0) { fail_errno("clone the process"); die(); }
    if (child == 0)
        exec_init(p, console_fd);
    uint32_t pid = (uint32_t)child;
    send_msg(SYNC_PID, &pid, 4);
    _exit(0);
}

/* The exec fifo, opened read-write while we are still the host's root (the fifo is the
 * runtime's, mode 0600). The state dir fd is closed right after: only the fifo itself, which
 * leads nowhere, stays open in the container's init until `start`. */
static int open_exec_fifo(int state_dir_fd)
{
    int fd = openat(state_dir_fd, "exec.fifo", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
        fail_errno("open the exec fifo");
        die();
    }
    close(state_dir_fd);
    return fd;
}

/* Only stdio, the preserved fds (3 .. first-1) and our own go on: any other fd the caller let
 * the runtime inherit would stay open in the waiting init until the exec, reachable from the
 * container through /proc/1/fd/N (a host directory there is CVE-2024-21626 again). */
static void close_inherited_fds(unsigned int first, int a, int b, int c)
{
    int keep[3] = { a, b, c };
    for (int i = 0; i < 3; i++)  /* sort the three */
        for (int j = i + 1; j < 3; j++)
            if (keep[j] < keep[i]) { int t = keep[i]; keep[i] = keep[j]; keep[j] = t; }
    for (int i = 0; i < 3; i++) {
        if (keep[i] < 0 || (unsigned int)keep[i] < first) continue;
        if ((unsigned int)keep[i] > first)
            syscall(SYS_close_range, first, (unsigned int)keep[i] - 1, 0);
        first = (unsigned int)keep[i] + 1;
    }
    syscall(SYS_close_range, first, ~0U, 0);
}

/* Enter the container's cgroups without the kernel's global cgroup lock. Moving a process
 * by pid (a write to cgroup.procs, what the runtime would do) takes cgroup_threadgroup_rwsem
 * for writing, and the first such write after a quiet spell waits for an RCU grace period:
 * 7-27 ms here, the largest wait in `create`. Two ways around it, both for a process that
 * places itself: in a v1 hierarchy a single-threaded process writes "0" (itself) to `tasks`,
 * which the kernel does without that lock (join_v1_cgroups); in cgroup2 the process is
 * cloned straight into its cgroup (clone3 CLONE_INTO_CGROUP, as crun does, with the fd from
 * open_cgroup2), so it never migrates. The cgroup files are opened as the host's root in the
 * host's mount namespace (the runtime does not ask for this with a user namespace: there the
 * cgroup files are not ours to write). */
static void join_v1_cgroups(const struct plan *p)
{
    for (int i = 0; i < p->cgroup_tasks.n; i++) {
        const char *path = p->cgroup_tasks.v[i];
        int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || write(fd, "0", 1) != 1) {
            fail_errno("join cgroup %s", path);
            die();
        }
        close(fd);
    }
}

static int open_cgroup2(const struct plan *p)
{
    if (!p->cgroup2_dir) return -1;
    int fd = open(p->cgroup2_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) { fail_errno("open cgroup %s", p->cgroup2_dir); die(); }
    return fd;
}

/* Clone the container init (or exec's process) as the runtime's child (CLONE_PARENT), into
 * cgroup2_fd if it is not -1. Without clone3 or its CLONE_INTO_CGROUP (before Linux 5.7:
 * ENOSYS, or EINVAL for the flag; or a seccomp filter of our caller's refusing it: EPERM)
 * the child enters that cgroup itself, the slow way. */
static pid_t clone_init(int cgroup2_fd)
{
    if (cgroup2_fd >= 0) {
        struct clone_args args;
        memset(&args, 0, sizeof args);
        /* no exit_signal: with CLONE_PARENT the child gets ours (SIGCHLD), as clone does */
        args.flags = CLONE_PARENT | CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)cgroup2_fd;
        pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
        if (pid >= 0 || (errno != ENOSYS && errno != EPERM && errno != E2BIG &&
                         errno != EINVAL)) {
            if (pid == 0) close(cgroup2_fd);
            return pid;
        }
    }
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0 && cgroup2_fd >= 0) {
        int procs = openat(cgroup2_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (procs < 0 || write(procs, "0", 1) != 1) {
            fail_errno("join cgroup %s", "cgroup.procs");
            die();
        }
        close(procs);
        close(cgroup2_fd);
    }
    return pid;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "pyrunc-init: run by pyrunc only\n");
        return 2;
    }
    sync_fd = atoi(argv[1]);
    int plan_fd = atoi(argv[2]), state_dir_fd = atoi(argv[3]), console_fd = atoi(argv[4]);
    /* Not dumpable until the execve (which resets it), as runc's init: processes of the
     * container (or of a pid namespace it joins) may not ptrace us, nor open our /proc
     * files (fds, exe, mem) while we hold the runtime's fds and, before process_apply,
     * more privileges than they have; only CAP_SYS_PTRACE in the host's user namespace
     * overrides it. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    reset_signals();
    umask(0);
    fcntl(sync_fd, F_SETFD, FD_CLOEXEC);
    fcntl(state_dir_fd, F_SETFD, FD_CLOEXEC);
    if (console_fd >= 0) fcntl(console_fd, F_SETFD, FD_CLOEXEC);

    struct stat st;
    if (fstat(plan_fd, &st) < 0) { fail_errno("plan"); die(); }
    uint8_t *buf = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, plan_fd, 0);
    close(plan_fd);
    if (buf == MAP_FAILED) { fail_errno("plan"); die(); }
    static struct plan plan;
    if (parse_plan(&plan, buf, (size_t)st.st_size) < 0) die();
    const struct plan *p = &plan;
    close_inherited_fds(3 + p->preserve_fds, sync_fd, state_dir_fd, console_fd);
    if (p->exec_mode)  /* argv[3] is the container init's pidfd */
        exec_stage1(p, state_dir_fd, console_fd);
    int exec_fd = open_exec_fifo(state_dir_fd);
    int cgroup2_fd = open_cgroup2(p);
    /* idmapped mounts are made while we are still in the host's user namespace */
    if (rootfs_early(p) < 0) die();

    int joined_user = join_namespaces(p);
    if (p->ns_new & CLONE_NEWUSER) {
        if (unshare(CLONE_NEWUSER) < 0) { fail_errno("unshare the user namespace"); die(); }
        char buf2[64];
        /* Dumpable only while the runtime writes our id maps: a non-dumpable process's
         * /proc files belong to root, and a rootless runtime could not open our uid_map
         * (runc does the same). Nothing of the container runs yet. */
        if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) { fail_errno("set dumpable"); die(); }
        if (send_msg(SYNC_USERNS, NULL, 0) < 0 || recv_msg(SYNC_MAPS_DONE, buf2, sizeof buf2) < 0)
            die();
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) { fail_errno("set dumpable"); die(); }
        become_userns_root();
    } else if (joined_user) {
        become_userns_root();
    }
    uint32_t now = p->ns_new & (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |
                                CLONE_NEWPID | CLONE_NEWTIME);
    if (now && unshare((int)now) < 0) {
        fail_errno("unshare namespaces 0x%x", now);
        die();
    }
    /* before any process enters the new time namespace (the clone below): later writes fail */
    if ((p->ns_new & CLONE_NEWTIME) && p->time_offsets &&
        write_file("/proc/self/timens_offsets", p->time_offsets, strlen(p->time_offsets)) < 0)
        die();
    if ((p->ns_new & CLONE_NEWNET) && loopback_up() < 0) die();

    /* The init, not stage 1, enters the v1 cgroups: alone in them, a pids limit of 1 holds
     * (as with runc, whose limits come after its setup processes are gone). Its pid is
     * reported once it is in: the runtime's hooks may look at its cgroups. */
    int joined[2] = { -1, -1 };
    if (p->cgroup_tasks.n && pipe2(joined, O_CLOEXEC) < 0) { fail_errno("pipe"); die(); }
    pid_t child = clone_init(cgroup2_fd);
    if (child < 0) { fail_errno("clone the container init"); die(); }
    if (child == 0) {
        if (joined[1] >= 0) {
            join_v1_cgroups(p);  /* on failure it reports and exits: stage 1 reads EOF */
            close(joined[0]);
            (void)!write(joined[1], "j", 1);
            close(joined[1]);
        }
        container_init(p, exec_fd, console_fd);
    }
    if (joined[0] >= 0) {
        char byte;
        close(joined[1]);
        if (read(joined[0], &byte, 1) != 1) _exit(1);  /* the init said why */
    }
    uint32_t pid = (uint32_t)child;
    send_msg(SYNC_PID, &pid, 4);
    _exit(0);
}
