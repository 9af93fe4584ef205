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
                                    <---   SECCOMP + notify listener fd (if any):
    pass it to linux.seccomp.listenerPath
                                    <---   READY, or ERROR "<reason>"
    return; `create` exits                 blocks reading the exec fifo (opened read-write
                                           by stage 1, before it joined any namespace)
  start: write "0" into the fifo    --->   startContainer hooks, execve (closes the fifo)
         wait for the last reader to go (POLLERR): the process runs

No Python runs in the container's processes: the init is a C program (docs/native.md).
"""

from __future__ import annotations

import os
import select
import struct

from pyrunc import SPEC_VERSION, jsonio
from pyrunc.errors import LaunchError as LaunchError  # re-exported: callers catch it here
from pyrunc.linux import mounts, namespaces, plan, process, unixsock
from pyrunc.linux.execfifo import EXEC_FIFO
from pyrunc.linux.execfifo import unlink as _unlink
from pyrunc.testpoint import pause_at

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

INIT_BINARY = os.path.join(os.path.dirname(os.path.dirname(__file__)), "_libexec", "pyrunc-init")

SYNC_USERNS, SYNC_MAPS_DONE, SYNC_PID, SYNC_GO, SYNC_READY, SYNC_ERROR = 1, 2, 3, 4, 5, 6
SYNC_SECCOMP = 7
_GONE = "the container init exited before it was set up"
F_ADD_SEALS, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE = 1033, 1, 2, 4, 8


class LaunchRequest:
    """A container to create. (A plain class, as the others here: importing dataclasses
    costs `create` ~10 ms, docs/performance.md.)"""

    __slots__ = ("bundle", "cgroups", "config", "console_socket", "container_id", "extra_env",
                 "no_new_keyring", "no_pivot", "pidfd_socket", "preserve_fds", "state_dir")

    def __init__(self, container_id: str, bundle: str, config: dict[str, Any], state_dir: str,
                 console_socket: str | None = None, pidfd_socket: str | None = None,
                 preserve_fds: int = 0, no_pivot: bool = False, no_new_keyring: bool = False,
                 extra_env: list[str] | None = None) -> None:
        self.container_id, self.bundle, self.config = container_id, bundle, config
        self.state_dir = state_dir
        self.console_socket, self.pidfd_socket = console_socket, pidfd_socket
        self.preserve_fds, self.no_pivot, self.no_new_keyring = (preserve_fds, no_pivot,
                                                                  no_new_keyring)
        self.extra_env: list[str] = extra_env if extra_env is not None else []
        # hierarchy -> the container's cgroup, made already, that the init enters by itself
        # (join_v1_cgroups and clone_init in native/init/main.c); empty: the runtime moves it in
        self.cgroups: dict[str, str] = {}


class Launched:
    """The container's init, waiting for `start`."""

    __slots__ = ("pid", "start_time")

    def __init__(self, pid: int, start_time: int) -> None:
        self.pid, self.start_time = pid, start_time


def build_plan(req: LaunchRequest, preserve_fds: int) -> bytes:
    config = req.config
    ns = namespaces.namespace_types(config)
    new_userns = ns.get("user", "host") is None
    _check_terminal(config, req.console_socket)
    records = namespaces.records(config)
    records += plan.core_records(config, preserve_fds=preserve_fds,
                                 no_new_keyring=req.no_new_keyring, has_userns_maps=new_userns)
    records += mounts.rootfs_records(config, req.bundle, no_pivot=req.no_pivot)
    records += process.records(config)
    records += [(plan.T_ENV, plan.s(e)) for e in req.extra_env]
    records += _cgroup_records(req.cgroups)
    return plan.encode(records)


def _cgroup_records(cgroups: dict[str, str]) -> list[plan.Record]:
    """The cgroups the process enters by itself (join_v1_cgroups and clone_init in
    native/init/main.c)."""
    return [(plan.T_CGROUP_TASKS, plan.s(os.path.join(directory, "tasks"))) if hierarchy
            else (plan.T_CGROUP2_DIR, plan.s(directory))
            for hierarchy, directory in sorted(cgroups.items())]


def _check_terminal(config: dict[str, Any], console_socket: str | None) -> None:
    if (config.get("process") or {}).get("terminal") and not console_socket:
        raise LaunchError("cannot allocate a pseudo-TTY without --console-socket "
                          "(process.terminal is true)")


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


def _recv(sock: unixsock.Socket, timeout: float | None = None) -> tuple[int, bytes]:
    if timeout is not None and not select.select([sock], [], [], timeout)[0]:
        raise LaunchError("timed out waiting for the container init")
    data = sock.recv(16384)
    if len(data) < 4:
        raise LaunchError(_GONE)
    kind = struct.unpack("=I", data[:4])[0]
    if kind == SYNC_ERROR:
        raise LaunchError(data[4:].decode(errors="replace"))
    return kind, data[4:]


def _expect(sock: unixsock.Socket, kind: int) -> bytes:
    got, payload = _recv(sock)
    if got != kind:
        raise LaunchError(f"sync: expected message {kind}, got {got}")
    return payload


def _send(sock: unixsock.Socket, kind: int, payload: bytes = b"") -> None:
    try:
        sock.send(struct.pack("=I", kind) + payload)
    except (BrokenPipeError, ConnectionResetError):  # it died (killed, OOM): say so, once
        raise LaunchError(_GONE) from None


def _send_go(sock: unixsock.Socket, states: bytes) -> None:
    """GO, with the hook states in a memfd: state JSON with big annotations would not fit in
    one SOCK_SEQPACKET message."""
    fd = os.memfd_create("pyrunc-states", os.MFD_CLOEXEC)
    try:
        os.write(fd, states)
        unixsock.send_fds(sock, struct.pack("=I", SYNC_GO), [fd])
    except (BrokenPipeError, ConnectionResetError):  # it died while we set it up
        raise LaunchError(_GONE) from None
    finally:
        os.close(fd)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _kill(pid: int) -> None:
    try:
        os.kill(pid, 9)  # SIGKILL (the signal module would import enum: ~5 ms)
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
    # only root opens it: stage 1 does, before it leaves the host's user namespace
    os.mkfifo(fifo, 0o600)
    pause_at("fifo")
    state_dir_fd = os.open(req.state_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    init = _Init()
    try:
        init.spawn(data, state_dir_fd, req.console_socket)
        os.close(state_dir_fd)
        state_dir_fd = -1
        pause_at("spawned")
        kind, payload = _recv(init.sock)
        if kind == SYNC_USERNS:
            try:
                namespaces.write_id_maps(req.config, init.stage1)
            except ValueError as err:
                raise LaunchError(str(err)) from None
            _send(init.sock, SYNC_MAPS_DONE)
            kind, payload = _recv(init.sock)
        pid = init.got_pid(kind, payload)
        pause_at("cloned")
        _set_oom_score_adj(req.config, pid)
        if (req.config.get("linux") or {}).get("netDevices"):
            from pyrunc.linux import network

            try:
                network.move_devices(req.config, pid)
            except ValueError as err:
                raise LaunchError(str(err)) from None
        on_namespaces_ready(pid)
        pause_at("hooks")
        _send_go(init.sock, plan.s(hook_state("creating"), hook_state("created")))
        kind, _ = _recv_after_listener(
            init.sock, lambda fd: _send_listener(req.config, fd, pid,
                                                 jsonio.loads(hook_state("creating"))))
        if kind != SYNC_READY:
            raise LaunchError(_GONE if kind == 0
                              else f"sync: expected message {SYNC_READY}, got {kind}")
        from pyrunc.container import read_proc_stat

        stat = read_proc_stat(pid)
        if req.pidfd_socket:
            _send_pidfd(req.pidfd_socket, pid, b"standard")
        return Launched(pid, stat[1] if stat else 0)
    except BaseException:
        init.kill()
        _unlink(fifo)
        raise
    finally:
        init.close()
        if state_dir_fd >= 0:
            os.close(state_dir_fd)


class _Init:
    """One pyrunc-init: spawned from the sealed copy, with its end of the sync socket, the
    plan (a memfd), one more fd (state dir, or the init's pidfd for exec) and the connected
    --console-socket."""

    def __init__(self) -> None:
        self.sock, self._child = unixsock.seqpacket_pair()
        self._console: unixsock.Socket | None = None
        self.stage1 = self.pid = -1

    def spawn(self, data: bytes, fd3: int, console_socket: str | None) -> None:
        if console_socket:
            try:
                self._console = unixsock.connect(console_socket)
            except OSError as err:
                raise LaunchError(f"--console-socket {console_socket}: {err.strerror}"
                                  ) from None
        plan_fd = os.memfd_create("pyrunc-plan", os.MFD_CLOEXEC)
        init_fd = -1
        try:
            os.write(plan_fd, data)
            init_fd = _sealed_init()
            console = self._console.fileno() if self._console else -1
            fds = [self._child.fileno(), plan_fd, fd3, console]
            for fd in fds:
                if fd >= 0:
                    os.set_inheritable(fd, True)
            self.stage1 = os.posix_spawn(f"/proc/self/fd/{init_fd}",
                                         ["pyrunc-init", *map(str, fds)], {})
        finally:
            os.close(plan_fd)
            if init_fd >= 0:
                os.close(init_fd)
            self._child.close()
            if self._console:
                self._console.close()

    def got_pid(self, kind: int, payload: bytes) -> int:
        """Stage 1's PID message: the pid it cloned; stage 1 is then reaped."""
        if kind != SYNC_PID:
            raise LaunchError(f"sync: expected the container's pid, got message {kind}")
        self.pid = struct.unpack("=I", payload[:4])[0]
        _reap(self.stage1)
        self.stage1 = -1
        return self.pid

    def kill(self) -> None:
        for pid in (self.pid, self.stage1):
            if pid > 0:
                _kill(pid)

    def close(self) -> None:
        self.sock.close()
        self._child.close()
        if self._console:
            self._console.close()


class ExecRequest:
    """A process to start in a running container (`pyrunc exec`)."""

    __slots__ = ("cgroups", "config", "console_socket", "init_pidfd", "pidfd_socket",
                 "preserve_fds", "state")

    def __init__(self, init_pidfd: int, config: dict[str, Any],
                 console_socket: str | None = None, pidfd_socket: str | None = None,
                 preserve_fds: int = 0, state: dict[str, Any] | None = None) -> None:
        self.init_pidfd = init_pidfd  # pidfd of the container's init, checked by the caller
        self.config = config  # the container's config.json, its "process" the one to run
        self.console_socket, self.pidfd_socket = console_socket, pidfd_socket
        self.preserve_fds = preserve_fds
        self.state = state  # the container's state, for a seccomp agent
        self.cgroups: dict[str, str] = {}  # as LaunchRequest.cgroups: entered by the process


def exec_process(req: ExecRequest, on_started: Callable[[int], None]) -> int:
    """Start ``req.config["process"]`` in the namespaces of the container's init. The process
    is this process' child. ``on_started(pid)`` (joining the container's cgroups) runs before
    it becomes the process; returns its pid once it has exec'd. Raises LaunchError (or what
    ``on_started`` raised) after killing what it started."""
    config = req.config
    _check_terminal(config, req.console_socket)
    init_pid = _pidfd_pid(req.init_pidfd)
    flags = 0
    for kind in namespaces.namespace_types(config):
        proc_name = namespaces.PROC_NAMES[kind]
        try:  # only those that are not ours already (setns into one's own user ns fails)
            theirs = os.stat(f"/proc/{init_pid}/ns/{proc_name}").st_ino
            if theirs != os.stat(f"/proc/self/ns/{proc_name}").st_ino:
                flags |= namespaces.FLAGS[kind]
        except FileNotFoundError:
            raise LaunchError("the container's init is gone") from None
    records = [(plan.T_EXEC, plan.u32(flags))]
    records += plan.core_records({"process": config.get("process")},
                                 preserve_fds=req.preserve_fds, no_new_keyring=True,
                                 has_userns_maps=False)
    try:
        records += process.records(config)
    except ValueError as err:
        raise LaunchError(str(err)) from None
    records += _cgroup_records(req.cgroups)
    init = _Init()
    try:
        init.spawn(plan.encode(records), req.init_pidfd, req.console_socket)
        pid = init.got_pid(*_recv(init.sock))
        on_started(pid)
        _send_go(init.sock, plan.s("", ""))
        # the sync socket is close-on-exec: EOF once the process runs, else an ERROR
        state = req.state or {"ociVersion": SPEC_VERSION, "id": "", "status": "running",
                              "pid": init_pid, "bundle": ""}
        got, _payload = _recv_after_listener(init.sock,
                                             lambda fd: _send_listener(config, fd, pid, state))
        if got:
            raise LaunchError(f"sync: unexpected message {got}")
        if req.pidfd_socket:
            _send_pidfd(req.pidfd_socket, pid, b"setns")
        return pid
    except BaseException:
        init.kill()
        raise
    finally:
        init.close()


def _recv_after_listener(sock: unixsock.Socket, hand_over: Callable[[int], None]
                         ) -> tuple[int, bytes]:
    """The next message (kind 0: EOF), after passing on the seccomp notify listener
    (SYNC_SECCOMP) if the init sends one first. ERROR raises its reason."""
    data, fds = unixsock.recv_fds(sock, 16384, 1, unixsock.MSG_CMSG_CLOEXEC)
    kind = struct.unpack("=I", data[:4])[0] if len(data) >= 4 else 0
    if kind == SYNC_SECCOMP and fds:
        hand_over(fds[0])  # closes it
        return _recv_after_listener(sock, hand_over)
    for fd in fds:
        os.close(fd)
    if kind == SYNC_ERROR:
        raise LaunchError(data[4:].decode(errors="replace"))
    return kind, data[4:]


def _send_listener(config: dict[str, Any], listener: int, pid: int,
                   state: dict[str, Any]) -> None:
    """runc's ContainerProcessState with the listener fd (SCM_RIGHTS) to the seccomp agent at
    linux.seccomp.listenerPath; our copy of the fd is closed."""
    seccomp = config["linux"]["seccomp"]
    path = seccomp.get("listenerPath") or ""
    message: dict[str, Any] = {"ociVersion": SPEC_VERSION, "fds": ["seccompFd"], "pid": pid}
    if seccomp.get("listenerMetadata"):
        message["metadata"] = seccomp["listenerMetadata"]
    message["state"] = state
    try:
        unixsock.send_fds_to(path, jsonio.dumps(message).encode(), [listener])
    except OSError as err:
        raise LaunchError(f"linux.seccomp.listenerPath: {path}: {err.strerror}") from None
    finally:
        os.close(listener)


def _pidfd_pid(pidfd: int) -> int:
    with open(f"/proc/self/fdinfo/{pidfd}") as f:
        for line in f:
            if line.startswith("Pid:"):
                pid = int(line.split()[1])
                if pid > 0:
                    return pid
    raise LaunchError("the container's init is gone")


def _set_oom_score_adj(config: dict[str, Any], pid: int) -> None:
    value = (config.get("process") or {}).get("oomScoreAdj")
    if value is None:
        return
    try:
        with open(f"/proc/{pid}/oom_score_adj", "w") as f:
            f.write(str(value))
    except OSError as err:
        raise LaunchError(f"process.oomScoreAdj: {err.strerror}") from None


def _send_pidfd(path: str, pid: int, payload: bytes) -> None:
    pidfd = os.pidfd_open(pid)
    try:
        # runc's payload: "standard", "setns" for exec
        unixsock.send_fds_to(path, payload, [pidfd])
    except OSError as err:
        raise LaunchError(f"--pidfd-socket {path}: {err.strerror}") from None
    finally:
        os.close(pidfd)


