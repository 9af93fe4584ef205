"""Start a container: build the plan, spawn pyrunc-init, drive it through the sync protocol.

    runtime (this module)                  pyrunc-init (native/init/main.c)
    ---------------------                  --------------------------------
    spawn init from a sealed memfd  --->   join/create namespaces
                                    <---   USERNS (if a new user namespace)
    write uid_map / gid_map         --->   MAPS_DONE
                                    <---   PID: the container init's host pid (stage 1 exits)
    on_namespaces_ready(pid):              (container init waits)
      cgroups, prestart and createRuntime hooks
    GO + hook state JSON            --->   mounts, createContainer hooks, console,
                                           pivot_root, process attributes
                                    <---   READY, or ERROR "<reason>"
    return; `create` exits                 blocks opening the exec fifo until `start`

No Python runs in the container's processes: the init is a C program (docs/native.md).
"""

from __future__ import annotations

import os
import select
import signal
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyrunc.linux import namespaces, plan, process, rootfs

EXEC_FIFO = "exec.fifo"
INIT_BINARY = os.path.join(os.path.dirname(os.path.dirname(__file__)), "_libexec", "pyrunc-init")

SYNC_USERNS, SYNC_MAPS_DONE, SYNC_PID, SYNC_GO, SYNC_READY, SYNC_ERROR = 1, 2, 3, 4, 5, 6
F_ADD_SEALS, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE = 1033, 1, 2, 4, 8


class LaunchError(Exception):
    """The container could not be set up; str() is the one-line reason."""


@dataclass
class LaunchRequest:
    container_id: str
    bundle: str
    config: dict[str, Any]
    state_dir: str
    console_socket: str | None = None
    pidfd_socket: str | None = None
    preserve_fds: int = 0
    no_pivot: bool = False
    no_new_keyring: bool = False
    extra_env: list[str] = field(default_factory=list)


@dataclass
class Launched:
    pid: int
    start_time: int


def build_plan(req: LaunchRequest, preserve_fds: int) -> bytes:
    config = req.config
    ns = namespaces.namespace_types(config)
    new_userns = ns.get("user", "host") is None
    if config.get("process", {}).get("terminal") and not req.console_socket:
        raise LaunchError("cannot allocate a pseudo-TTY without --console-socket "
                          "(process.terminal is true)")
    records = namespaces.records(config)
    records += plan.core_records(config, preserve_fds=preserve_fds,
                                 no_new_keyring=req.no_new_keyring, has_userns_maps=new_userns)
    records += rootfs.records(config, req.bundle, ns, no_pivot=req.no_pivot)
    records += process.records(config)
    records += [(plan.T_ENV, plan.s(e)) for e in req.extra_env]
    return plan.encode(records)


def _listen_fds() -> int:
    """Socket-activation fds passed to us (LISTEN_FDS for our pid), forwarded like runc."""
    try:
        if int(os.environ.get("LISTEN_PID", "0")) not in (0, os.getpid()):
            return 0
        return int(os.environ.get("LISTEN_FDS", "0"))
    except ValueError:
        return 0


def _sealed_init() -> int:
    """A sealed in-memory copy of pyrunc-init: whatever the container does to the binary it
    runs as (/proc/self/exe), it cannot reach the host's file (CVE-2019-5736)."""
    with open(INIT_BINARY, "rb") as f:
        data = f.read()
    fd = os.memfd_create("pyrunc-init", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.write(fd, data)
    import fcntl

    fcntl.fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
    return fd


def _recv(sock: socket.socket, timeout: float | None = None) -> tuple[int, bytes]:
    if timeout is not None and not select.select([sock], [], [], timeout)[0]:
        raise LaunchError("timed out waiting for the container init")
    data = sock.recv(16384)
    if len(data) < 4:
        raise LaunchError("the container init exited before it was set up")
    kind = struct.unpack("=I", data[:4])[0]
    if kind == SYNC_ERROR:
        raise LaunchError(data[4:].decode(errors="replace"))
    return kind, data[4:]


def _expect(sock: socket.socket, kind: int) -> bytes:
    got, payload = _recv(sock)
    if got != kind:
        raise LaunchError(f"sync: expected message {kind}, got {got}")
    return payload


def _send(sock: socket.socket, kind: int, payload: bytes = b"") -> None:
    sock.send(struct.pack("=I", kind) + payload)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    _reap(pid)


def launch(req: LaunchRequest, on_namespaces_ready: Callable[[int], None],
           hook_state: Callable[[str], str]) -> Launched:
    listen_fds = _listen_fds()
    if listen_fds:
        req.extra_env += [f"LISTEN_FDS={listen_fds}", "LISTEN_PID=1"]
    preserve = req.preserve_fds + listen_fds
    data = build_plan(req, preserve)

    fifo = os.path.join(req.state_dir, EXEC_FIFO)
    os.mkfifo(fifo, 0o622)
    os.chmod(fifo, 0o622)  # not narrowed by our umask: the container user writes it
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    plan_fd = os.memfd_create("pyrunc-plan", os.MFD_CLOEXEC)
    os.write(plan_fd, data)
    os.lseek(plan_fd, 0, os.SEEK_SET)
    state_dir_fd = os.open(req.state_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    console = None
    init_fd = stage1 = pid = -1
    try:
        if req.console_socket:
            console = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                console.connect(req.console_socket)
            except OSError as err:
                raise LaunchError(f"--console-socket {req.console_socket}: {err.strerror}"
                                  ) from None
        init_fd = _sealed_init()
        passed = [child.fileno(), plan_fd, state_dir_fd] + ([console.fileno()] if console else [])
        for fd in passed:
            os.set_inheritable(fd, True)
        argv = ["pyrunc-init", str(child.fileno()), str(plan_fd), str(state_dir_fd),
                str(console.fileno()) if console else "-1"]
        stage1 = os.posix_spawn(f"/proc/self/fd/{init_fd}", argv, {})
        child.close()
        os.close(plan_fd)
        plan_fd = -1

        kind, payload = _recv(parent)
        if kind == SYNC_USERNS:
            try:
                namespaces.write_id_maps(req.config, stage1)
            except ValueError as err:
                raise LaunchError(str(err)) from None
            _send(parent, SYNC_MAPS_DONE)
            kind, payload = _recv(parent)
        if kind != SYNC_PID:
            raise LaunchError(f"sync: expected the container's pid, got message {kind}")
        pid = struct.unpack("=I", payload[:4])[0]
        _reap(stage1)
        stage1 = -1
        _set_oom_score_adj(req.config, pid)
        if (req.config.get("linux") or {}).get("netDevices"):
            from pyrunc.linux import network

            network.move_devices(req.config, pid)
        on_namespaces_ready(pid)
        _send(parent, SYNC_GO, plan.s(hook_state("creating"), hook_state("created")))
        _expect(parent, SYNC_READY)
        from pyrunc.container import read_proc_stat

        stat = read_proc_stat(pid)
        if req.pidfd_socket:
            _send_pidfd(req.pidfd_socket, pid)
        return Launched(pid, stat[1] if stat else 0)
    except BaseException:
        if pid > 0:
            _kill(pid)
        if stage1 > 0:
            _kill(stage1)
        try:
            os.unlink(fifo)
        except FileNotFoundError:
            pass
        raise
    finally:
        parent.close()
        child.close()
        for fd in (plan_fd, init_fd, state_dir_fd):
            if fd >= 0:
                os.close(fd)
        if console:
            console.close()


def _set_oom_score_adj(config: dict[str, Any], pid: int) -> None:
    value = (config.get("process") or {}).get("oomScoreAdj")
    if value is None:
        return
    try:
        with open(f"/proc/{pid}/oom_score_adj", "w") as f:
            f.write(str(value))
    except OSError as err:
        raise LaunchError(f"process.oomScoreAdj: {err.strerror}") from None


def _send_pidfd(path: str, pid: int) -> None:
    pidfd = os.pidfd_open(pid)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(path)
            socket.send_fds(sock, [b"pidfd"], [pidfd])
    except OSError as err:
        raise LaunchError(f"--pidfd-socket {path}: {err.strerror}") from None
    finally:
        os.close(pidfd)


def start(state_dir: str, pid: int) -> None:
    """Let a created container's init exec its process: read the byte it writes into the
    exec fifo. Non-blocking open + poll, so a dead init fails instead of hanging."""
    fifo = os.path.join(state_dir, EXEC_FIFO)
    try:
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise LaunchError("cannot start a container that is not created") from None
    try:
        from pyrunc.container import read_proc_stat

        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while not poller.poll(100):
            stat = read_proc_stat(pid)
            if stat is None or stat[0] in "ZX":
                raise LaunchError("the container init exited before start")
        if os.read(fd, 1) != b"0":
            raise LaunchError("the container init exited before start")
    finally:
        os.close(fd)
        try:
            os.unlink(fifo)
        except FileNotFoundError:
            pass
