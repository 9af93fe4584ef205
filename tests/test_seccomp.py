"""linux.seccomp, checked in real containers: actions, errno values, argument rules, the
-ENOSYS stub, where the filter goes in, bad profiles, and SCMP_ACT_NOTIFY with an agent."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import select
import socket
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from helpers import Runtime, busybox_config, write_bundle

from pyrunc.linux.seccomp import FLAGS

# x86_64 syscall numbers the helper is asked to make
NR_SOCKET, NR_PERSONALITY, NR_SYSLOG, NR_MKDIR, NR_MKDIRAT = 41, 135, 103, 83, 258
pytestmark = pytest.mark.skipif(os.uname().machine != "x86_64", reason="x86_64 syscall numbers")

_ids = count()

HELPER_C = r"""
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* sc NR [ARG...]: make syscall NR, print "ok" or "errno N" */
int main(int argc, char **argv)
{
    long a[6] = { 0 };
    for (int i = 2; i < argc && i < 8; i++) a[i - 2] = (long)strtoull(argv[i], NULL, 0);
    long rc = syscall(atol(argv[1]), a[0], a[1], a[2], a[3], a[4], a[5]);
    if (rc < 0) printf("errno %d\n", errno); else printf("ok\n");
    return 0;
}
"""

# moby's default profile (profiles/seccomp/default.json): its unconditional allow list, the
# x86_64 extras, and its clone/clone3/personality rules; names this libseccomp does not know
# are skipped, as runc skips them
_DOCKER_ALLOW = """
accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown
chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime
clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect
copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old
epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit
exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod
fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock
fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate
ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv futex_wake futimesat
getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32
getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority
getrandom getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage
getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr
inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy
io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit ipc
kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32
lgetxattr link linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat
lstat64 madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat
mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open
mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap
msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep
newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2
pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2
prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead
readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages
removexattr rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending
rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam
sched_get_priority_max sched_get_priority_min sched_getscheduler sched_rr_get_interval
sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam
sched_setscheduler sched_yield select semctl semget semop semtimedop semtimedop_time64 send
sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid
setgid32 setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid
setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid
setsockopt set_thread_area set_tid_address setuid setuid32 setxattr shmat shmctl shmdt shmget
shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn socket socketcall socketpair
splice stat stat64 statfs statfs64 statx symlink symlinkat sync sync_file_range syncfs
sysinfo tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime
timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime
timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64
ugetrlimit umask uname unlink unlinkat utime utimensat utimensat_time64 utimes vfork
vmsplice wait4 waitid waitpid write writev arch_prctl modify_ldt
"""
DOCKER_ALLOW = tuple(_DOCKER_ALLOW.split())


def docker_profile(without: tuple[str, ...] = ()) -> dict[str, Any]:
    """A realistic deny-by-default profile, shaped as moby's default."""
    return {
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": errno.EPERM,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": [n for n in DOCKER_ALLOW if n not in without], "action": "SCMP_ACT_ALLOW"},
            # several conditions on one argument: ORed (runc adds a rule for each)
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": v, "op": "SCMP_CMP_EQ"}
                      for v in (0x0, 0x0008, 0x20000, 0x20008, 0xFFFFFFFF)]},
            # no namespace flags (CLONE_NEW*) without CAP_SYS_ADMIN
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 2114060288, "valueTwo": 0,
                       "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ENOSYS},
        ],
    }


@pytest.fixture(scope="module")
def helper_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with the static `sc` helper, bound at /opt in the containers."""
    directory = tmp_path_factory.mktemp("helper")
    (directory / "sc.c").write_text(HELPER_C)
    subprocess.run(["cc", "-static", "-O2", "-o", str(directory / "sc"),
                    str(directory / "sc.c")], check=True)
    return directory


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_sc(runtime: Runtime, tmp_path: Path, helper_dir: Path) -> Run:
    """Run a shell script in a container with ``seccomp`` as linux.seccomp (a writable /tmp,
    the helper at /opt/sc); ``edit`` changes the config further."""
    def run(script: str, seccomp: dict[str, Any] | None,
            edit: Callable[[dict[str, Any]], None] | None = None,
            args: list[str] | None = None) -> subprocess.CompletedProcess[str]:
        config = busybox_config(args or ["sh", "-c", script])
        config["mounts"] += [
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"},
            {"destination": "/opt", "type": "bind", "source": str(helper_dir),
             "options": ["rbind", "ro"]},
        ]
        if seccomp is not None:
            config["linux"]["seccomp"] = seccomp
        if edit:
            edit(config)
        n = next(_ids)
        bundle = write_bundle(tmp_path / f"b{n}", config)
        return runtime("run", "-b", str(bundle), f"sc-{os.getpid()}-{n}")

    return run


def deny(names: list[str], action: str = "SCMP_ACT_ERRNO", **fields: Any) -> dict[str, Any]:
    return {"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": names, "action": action, **fields}]}


MKDIR = ["mkdir", "mkdirat"]


# ---- actions -----------------------------------------------------------------------------

def test_errno_action_makes_mkdir_fail(run_sc: Run) -> None:
    proc = run_sc("mkdir /tmp/x; echo rc=$?; ls /tmp", deny(MKDIR))
    assert proc.returncode == 0, proc.stderr
    assert "Operation not permitted" in proc.stderr
    assert proc.stdout.strip() == "rc=1"
    # without the profile, the same script works
    assert run_sc("mkdir /tmp/x && ls /tmp", None).stdout.strip() == "x"


def test_errno_ret(run_sc: Run) -> None:
    proc = run_sc("mkdir /tmp/x", deny(MKDIR, errnoRet=errno.EROFS))
    assert proc.returncode == 1
    assert "Read-only file system" in proc.stderr, proc.stderr


def test_default_errno_ret(run_sc: Run) -> None:
    profile = docker_profile(without=("mkdir", "mkdirat"))
    profile["defaultErrnoRet"] = errno.EACCES
    proc = run_sc("mkdir /tmp/x", profile)
    assert proc.returncode == 1
    assert "Permission denied" in proc.stderr, proc.stderr


def test_errno_zero_is_a_fake_success(run_sc: Run) -> None:
    proc = run_sc("mkdir /tmp/x && echo made; ls /tmp | wc -l", deny(MKDIR, errnoRet=0))
    assert proc.stdout.split() == ["made", "0"], proc.stderr


def test_docker_like_allow_list(run_sc: Run) -> None:
    """Deny by default with moby's allow list: a shell and its tools work; what the list
    leaves out (syslog, unshare, mkdir here) fails with EPERM; clone with a namespace flag
    fails (the MASKED_EQ rule)."""
    script = ("echo hi | tr a-z A-Z; ls / >/dev/null && echo ls-ok; "
              "/opt/sc 103; mkdir /tmp/d 2>&1; unshare -n true 2>&1; "
              "/opt/sc 56 0x40000000; /opt/sc 56 17")  # clone(CLONE_NEWNET), clone(SIGCHLD)
    proc = run_sc(script, docker_profile(without=("mkdir", "mkdirat")))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:3] == ["HI", "ls-ok", f"errno {errno.EPERM}"], proc.stdout
    assert "Operation not permitted" in lines[3] and "Operation not permitted" in lines[4]
    assert lines[5] == f"errno {errno.EPERM}"
    assert lines[6] == "ok"


def test_enosys_for_syscalls_newer_than_the_profile(run_sc: Run) -> None:
    """runc's -ENOSYS stub: a syscall number above every one the profile names gets ENOSYS
    (libc then falls back), one below that is not allowed gets the default errno."""
    proc = run_sc("/opt/sc 1000; /opt/sc 103", docker_profile())
    assert proc.stdout.split() == ["errno", str(errno.ENOSYS), "errno", str(errno.EPERM)], \
        proc.stderr
    # an allowing default action needs no stub: an unknown number reaches the kernel (ENOSYS)
    # and a denied one answers its errno
    proc = run_sc("/opt/sc 1000; /opt/sc 103", deny(["syslog"], errnoRet=errno.EXDEV))
    assert proc.stdout.split() == ["errno", str(errno.ENOSYS), "errno", str(errno.EXDEV)]


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL",
                                    "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP"])
def test_kill_actions(run_sc: Run, action: str) -> None:
    proc = run_sc("", deny(MKDIR, action), args=["mkdir", "/tmp/x"])
    assert proc.returncode == 128 + 31, (proc.returncode, proc.stderr)  # SIGSYS


def test_trace_without_a_tracer_is_enosys(run_sc: Run) -> None:
    proc = run_sc("mkdir /tmp/x", deny(MKDIR, "SCMP_ACT_TRACE", errnoRet=7))
    assert proc.returncode == 1 and "Function not implemented" in proc.stderr, proc.stderr


def test_log_action_allows_and_logs(run_sc: Run) -> None:
    before = subprocess.run(["dmesg"], capture_output=True, text=True).stdout.count(
        "code=0x7ffc0000")
    proc = run_sc("mkdir /tmp/logged && ls /tmp", deny(MKDIR, "SCMP_ACT_LOG"))
    assert proc.stdout.strip() == "logged", proc.stderr
    after = subprocess.run(["dmesg"], capture_output=True, text=True).stdout.count(
        "code=0x7ffc0000")
    assert after > before


def test_unknown_syscall_names_are_skipped(run_sc: Run) -> None:
    proc = run_sc("mkdir /tmp/x", deny(["no_such_syscall", *MKDIR, "another_one"]))
    assert proc.returncode == 1 and "Operation not permitted" in proc.stderr, proc.stderr


def test_rule_with_the_default_action_is_skipped(run_sc: Run) -> None:
    profile = deny(MKDIR)
    profile["syscalls"].append({"names": ["mkdir"], "action": "SCMP_ACT_ALLOW"})
    proc = run_sc("mkdir /tmp/x", profile)
    assert "Operation not permitted" in proc.stderr, proc.stderr


@pytest.mark.parametrize("flags", [[], ["SECCOMP_FILTER_FLAG_TSYNC"],
                                   ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                                   ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]])
def test_flags_are_accepted(run_sc: Run, flags: list[str]) -> None:
    proc = run_sc("mkdir /tmp/x", {**deny(MKDIR), "flags": flags})
    assert proc.returncode == 1 and "Operation not permitted" in proc.stderr, proc.stderr


def test_log_flag_logs_errno_actions(run_sc: Run) -> None:
    def logged() -> int:
        out = subprocess.run(["dmesg"], capture_output=True, text=True).stdout
        return out.count(f"syscall={NR_MKDIR} compat=0 ip=") - out.count("code=0x7ffc0000")
    before = logged()
    proc = run_sc("mkdir /tmp/x", {**deny(MKDIR), "flags": ["SECCOMP_FILTER_FLAG_LOG"]})
    assert "Operation not permitted" in proc.stderr, proc.stderr
    assert logged() > before


# ---- argument rules ----------------------------------------------------------------------

def test_argument_rules(run_sc: Run) -> None:
    """socket(AF_INET=2, SOCK_DGRAM=2) denied when both conditions hold (ANDed); AF_INET6=10
    denied outright (a second rule); the rest allowed."""
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
                  {"index": 1, "value": 0xF, "valueTwo": 2, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EAFNOSUPPORT,
         "args": [{"index": 0, "value": 10, "op": "SCMP_CMP_EQ"}]},
    ]}
    script = "; ".join(f"/opt/sc {NR_SOCKET} {a}" for a in
                       ("2 2 0", "2 1 0", "10 1 0", "1 1 0", f"2 {2 | 0x80000} 0"))
    proc = run_sc(script, profile)
    assert proc.stdout.split("\n")[:5] == [f"errno {errno.EPERM}", "ok",
                                           f"errno {errno.EAFNOSUPPORT}", "ok",
                                           f"errno {errno.EPERM}"], proc.stdout + proc.stderr


@pytest.mark.parametrize("op,value,two,denied", [
    ("SCMP_CMP_NE", 8, 0, [0, 16, 0xFFFFFFFF]),
    ("SCMP_CMP_LT", 8, 0, [0]),
    ("SCMP_CMP_LE", 8, 0, [0, 8]),
    ("SCMP_CMP_EQ", 8, 0, [8]),
    ("SCMP_CMP_GE", 16, 0, [16, 0xFFFFFFFF]),
    ("SCMP_CMP_GT", 16, 0, [0xFFFFFFFF]),
    ("SCMP_CMP_MASKED_EQ", 0xF0, 0x10, [16]),
])
def test_operators(run_sc: Run, op: str, value: int, two: int, denied: list[int]) -> None:
    """personality(x) with x in 0, 8, 16, 0xffffffff (the query: changes nothing)."""
    values = [0, 8, 16, 0xFFFFFFFF]
    profile = deny(["personality"], args=[{"index": 0, "value": value, "valueTwo": two,
                                           "op": op}])
    # each call is undone by the query that follows: a bare personality(0) would stay in force
    script = "; ".join(f"/opt/sc {NR_PERSONALITY} {v}" for v in values)
    proc = run_sc(script, profile)
    got = [line == f"errno {errno.EPERM}" for line in proc.stdout.splitlines()]
    assert got == [v in denied for v in values], proc.stdout + proc.stderr


# ---- where the filter goes in -------------------------------------------------------------

# what pyrunc-init calls to set the process up (not prctl and prlimit64: busybox sh calls
# them too)
INIT_SYSCALLS = ["capset", "setgroups", "setresuid", "setresgid", "setrlimit",
                 "sethostname", "chroot", "pivot_root", "mount", "umount2", "personality"]


def test_filter_goes_in_after_the_process_setup(run_sc: Run) -> None:
    """With noNewPrivileges the filter is loaded after capabilities, user and no_new_privs:
    denying the syscalls of that setup does not break the start."""
    def edit(c: dict[str, Any]) -> None:
        c["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [5]}
    proc = run_sc("id -u; mkdir /tmp/x", deny([*INIT_SYSCALLS, *MKDIR], "SCMP_ACT_KILL_PROCESS"),
                  edit)
    assert proc.stdout.strip() == "1000", proc.stderr
    assert proc.returncode == 128 + 31  # mkdir is killed: the filter is in force


def test_without_no_new_privs_the_filter_needs_cap_sys_admin(run_sc: Run) -> None:
    """Without no_new_privs loading needs CAP_SYS_ADMIN: as runc, the filter goes in before the
    capabilities are dropped, so their syscalls run under it; unless the process keeps
    CAP_SYS_ADMIN, then it goes in last."""
    def no_nnp(c: dict[str, Any]) -> None:
        c["process"]["noNewPrivileges"] = False
    proc = run_sc("mkdir /tmp/x", deny(MKDIR), no_nnp)
    assert proc.returncode == 1 and "Operation not permitted" in proc.stderr, proc.stderr
    proc = run_sc("true", deny(["capset"]), no_nnp)
    assert proc.returncode == 1 and "set capabilities" in proc.stderr, proc.stderr

    def keeps_sys_admin(c: dict[str, Any]) -> None:
        no_nnp(c)
        for kind in ("bounding", "effective", "permitted"):
            c["process"]["capabilities"][kind].append("CAP_SYS_ADMIN")
    proc = run_sc("grep NoNewPrivs /proc/self/status; mkdir /tmp/x",
                  deny(["capset", *MKDIR]), keeps_sys_admin)
    assert proc.stdout.split() == ["NoNewPrivs:", "0"], proc.stderr
    assert "Operation not permitted" in proc.stderr


def test_seccomp_status_in_the_container(run_sc: Run) -> None:
    proc = run_sc("grep Seccomp /proc/self/status", deny(MKDIR))
    assert proc.stdout.split()[:2] == ["Seccomp:", "2"], proc.stderr


def test_exec_gets_the_filter(runtime: Runtime, tmp_path: Path) -> None:
    config = busybox_config(["sleep", "60"])
    config["linux"]["seccomp"] = deny(MKDIR)
    config["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"})
    cid = f"sc-{os.getpid()}-{next(_ids)}"
    assert runtime("run", "-d", "-b", str(write_bundle(tmp_path / "b", config)),
                   cid).returncode == 0
    proc = runtime("exec", cid, "mkdir", "/tmp/x")
    assert proc.returncode == 1 and "Operation not permitted" in proc.stderr, proc.stderr
    runtime("delete", "-f", cid)


# ---- bad profiles ---------------------------------------------------------------------------

@pytest.mark.parametrize("change,field", [
    ({"defaultAction": "SCMP_ACT_NOPE"}, "linux.seccomp.defaultAction"),
    ({"architectures": ["SCMP_ARCH_Z80"]}, "linux.seccomp.architectures[0]"),
    ({"flags": ["SECCOMP_FILTER_FLAG_NOPE"]}, "linux.seccomp.flags[0]"),
    ({"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_X"}]},
     "linux.seccomp.syscalls[0].action"),
    ({"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                    "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_NOPE"}]}]},
     "linux.seccomp.syscalls[0].args[0].op"),
    ({"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                    "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]},
     "linux.seccomp.syscalls[0].args[0].index"),
    ({"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]},
     "linux.seccomp.syscalls[0].errnoRet"),
    ({"defaultAction": "SCMP_ACT_KILL", "defaultErrnoRet": 1}, "linux.seccomp.defaultErrnoRet"),
    ({"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]},
     "linux.seccomp.listenerPath"),
    ({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/x"}, "linux.seccomp.defaultAction"),
    ({"syscalls": [{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}], "listenerPath": "/x"},
     "linux.seccomp.syscalls[0]"),
])
def test_bad_profile_is_a_one_line_error(runtime: Runtime, run_sc: Run,
                                         change: dict[str, Any], field: str) -> None:
    profile: dict[str, Any] = {"defaultAction": "SCMP_ACT_ALLOW", **change}
    proc = run_sc("true", profile)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and field in proc.stderr, proc.stderr
    assert runtime.ids() == []


# ---- SCMP_ACT_NOTIFY ---------------------------------------------------------------------

NOTIF_RECV, NOTIF_SEND = 0xC0502100, 0xC0182101  # SECCOMP_IOCTL_NOTIF_{RECV,SEND}


class Agent:
    """A seccomp agent: receives runc's ContainerProcessState and the listener over a unix
    socket, then answers every notification: ``reply(nr) -> (val, error)``."""

    def __init__(self, path: Path, reply: Callable[[int], tuple[int, int]]) -> None:
        self.path, self.reply = path, reply
        self.states: list[dict[str, Any]] = []
        self.calls: list[int] = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            if not select.select([self.server], [], [], 0.2)[0]:
                continue
            conn, _ = self.server.accept()
            with conn:
                data, fds, _, _ = socket.recv_fds(conn, 65536, 4)
            self.states.append(json.loads(data))
            thread = threading.Thread(target=self._serve, args=(fds[0],), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _serve(self, fd: int) -> None:
        try:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            while not self.stop.is_set():
                events = poller.poll(200)
                if not events:
                    continue
                if events[0][1] & select.POLLHUP:
                    return  # every process under the filter has gone
                notif = bytearray(80)
                try:
                    fcntl.ioctl(fd, NOTIF_RECV, notif)
                except OSError:
                    continue
                notif_id, _pid, _flags, nr = struct.unpack_from("=QIIi", notif)
                self.calls.append(nr)
                val, error = self.reply(nr)
                resp = bytearray(struct.pack("=Qqii", notif_id, val, -error, 0))
                try:
                    fcntl.ioctl(fd, NOTIF_SEND, resp)
                except OSError:
                    pass  # the caller was killed meanwhile
        finally:
            os.close(fd)

    def close(self) -> None:
        self.stop.set()
        self.acceptor.join()
        for thread in self.threads:
            thread.join()
        self.server.close()


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Callable[..., Agent]]:
    agents: list[Agent] = []

    def make(reply: Callable[[int], tuple[int, int]]) -> Agent:
        agents.append(Agent(tmp_path / f"agent{len(agents)}.sock", reply))
        return agents[-1]

    yield make
    for a in agents:
        a.close()


def notify_profile(path: Path) -> dict[str, Any]:
    profile = deny(MKDIR, "SCMP_ACT_NOTIFY")
    profile["listenerPath"] = str(path)
    profile["listenerMetadata"] = "meta data"
    return profile


def test_notify_agent_answers_for_the_container(run_sc: Run, runtime: Runtime,
                                                agent: Callable[..., Agent]) -> None:
    # mkdir "succeeds" (the agent says so) but nothing is made
    a = agent(lambda nr: (0, 0))
    proc = run_sc("mkdir /tmp/a && echo made; ls /tmp | wc -l; grep Seccomp: /proc/self/status",
                  notify_profile(a.path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["made", "0", "Seccomp:", "2"]
    assert a.calls and set(a.calls) <= {NR_MKDIR, NR_MKDIRAT}
    (state,) = a.states
    assert state["ociVersion"] == "1.3.0" and state["fds"] == ["seccompFd"]
    assert state["metadata"] == "meta data"
    assert state["state"]["status"] == "creating"
    assert state["state"]["id"].startswith(f"sc-{os.getpid()}-")
    assert state["pid"] == state["state"]["pid"] > 0


def test_notify_listener_never_reaches_the_container(run_sc: Run,
                                                    agent: Callable[..., Agent]) -> None:
    """The init's copy of the notify listener is closed once the runtime has it: a process in
    the container holding it could answer its own filtered syscalls (docs/security.md)."""
    a = agent(lambda nr: (0, 0))
    proc = run_sc("ls -l /proc/self/fd/ /proc/1/fd/", notify_profile(a.path))
    assert proc.returncode == 0, proc.stderr
    links = re.findall(r" (\d+) -> (.*)", proc.stdout)
    assert links and not [link for _, link in links if "seccomp" in link], proc.stdout
    assert {fd for fd, _ in links} <= {"0", "1", "2"}, proc.stdout


def test_notify_agent_gets_the_running_state_for_exec(runtime: Runtime, tmp_path: Path,
                                                      agent: Callable[..., Agent]) -> None:
    """`exec` sends the agent a second listener, with the container's state as `running`."""
    a = agent(lambda nr: (0, errno.EROFS))
    config = busybox_config(["sleep", "60"])
    config["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"})
    config["linux"]["seccomp"] = notify_profile(a.path)
    container_id = f"sc-exec-{os.getpid()}"
    runtime("run", "-d", "-b", str(write_bundle(tmp_path / "bx", config)), container_id,
            check=True)
    proc = runtime("exec", container_id, "mkdir", "/tmp/x")
    assert proc.returncode == 1 and "Read-only file system" in proc.stderr, proc.stderr
    assert [s["state"]["status"] for s in a.states] == ["creating", "running"]
    assert a.states[1]["state"]["pid"] == runtime.state(container_id)["pid"]
    assert a.states[1]["pid"] != a.states[1]["state"]["pid"]  # the exec'd process


def test_notify_with_every_flag(run_sc: Run, agent: Callable[..., Agent]) -> None:
    """TSYNC and WAIT_KILLABLE_RECV with a listener (TSYNC then needs TSYNC_ESRCH)."""
    a = agent(lambda nr: (0, errno.ENOSPC))
    proc = run_sc("mkdir /tmp/a", {**notify_profile(a.path), "flags": sorted(FLAGS)})
    assert proc.returncode == 1 and "No space left on device" in proc.stderr, proc.stderr


def test_notify_agent_errno(run_sc: Run, agent: Callable[..., Agent]) -> None:
    a = agent(lambda nr: (0, errno.ENOSPC))
    proc = run_sc("mkdir /tmp/a", notify_profile(a.path))
    assert proc.returncode == 1 and "No space left on device" in proc.stderr, proc.stderr


def test_notify_for_exec(runtime: Runtime, tmp_path: Path, agent: Callable[..., Agent]) -> None:
    a = agent(lambda nr: (0, errno.EXDEV))
    config = busybox_config(["sleep", "60"])
    config["linux"]["seccomp"] = notify_profile(a.path)
    cid = f"sc-{os.getpid()}-{next(_ids)}"
    assert runtime("run", "-d", "-b", str(write_bundle(tmp_path / "b", config)),
                   cid).returncode == 0
    init = runtime.state(cid)["pid"]
    proc = runtime("exec", cid, "mkdir", "/tmp/x")
    assert proc.returncode == 1 and "Invalid cross-device link" in proc.stderr, proc.stderr
    assert len(a.states) == 2
    assert a.states[1]["state"]["pid"] == init and a.states[1]["pid"] != init
    runtime("delete", "-f", cid)


def test_notify_without_agent_fails_cleanly(run_sc: Run, runtime: Runtime,
                                            tmp_path: Path) -> None:
    proc = run_sc("true", notify_profile(tmp_path / "nobody.sock"))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "linux.seccomp.listenerPath" in proc.stderr
    assert runtime.ids() == []


# ---- the compiled-filter cache ------------------------------------------------------------

_COMPILE = """
import json, sys
from pyrunc.linux import seccomp
profile = json.loads(sys.argv[1])
flags, program = seccomp.cached_compile(profile)
print(json.dumps({"cffi": "cffi" in sys.modules, "flags": flags, "program": program.hex(),
                  "key": seccomp._cache_key(profile)}))
"""


def _compile_fresh(profile: dict[str, Any]) -> dict[str, Any]:
    """cached_compile in a fresh interpreter (the installed pyrunc)."""
    import sys

    out = subprocess.run([sys.executable, "-P", "-c", _COMPILE, json.dumps(profile)],
                         capture_output=True, text=True, check=True, cwd="/").stdout
    result: dict[str, Any] = json.loads(out)
    return result


def test_a_compiled_filter_is_reused_and_a_tampered_one_is_not() -> None:
    from pyrunc.linux import seccomp

    profile = deny(MKDIR, errnoRet=os.getpid() % 4000 + 1)  # a profile of this run's own
    first = _compile_fresh(profile)
    path = Path(seccomp.CACHE_DIR) / first["key"]
    try:
        assert first["cffi"] and path.exists()  # compiled with libseccomp, then kept
        assert (path.stat().st_mode & 0o777, path.parent.stat().st_mode & 0o777) == (0o600, 0o700)
        again = _compile_fresh(profile)
        assert not again["cffi"]  # from the cache: neither cffi nor libseccomp loaded
        assert (again["flags"], again["program"]) == (first["flags"], first["program"])
        other = _compile_fresh(deny(MKDIR, errnoRet=os.getpid() % 4000 + 2))
        assert other["key"] != first["key"]
        Path(seccomp.CACHE_DIR, other["key"]).unlink()
        # a file others could have written is not trusted: compiled again (and replaced)
        path.write_bytes(path.read_bytes()[:4] + b"\0" * 8)
        path.chmod(0o666)
        tampered = _compile_fresh(profile)
        assert tampered["cffi"] and tampered["program"] == first["program"]
        assert path.stat().st_mode & 0o777 == 0o600
    finally:
        path.unlink(missing_ok=True)
