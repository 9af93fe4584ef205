"""The launcher and pyrunc-init's core (issue: container init core): the sync protocol, the exec
fifo, clean failure, the sealed init binary, fds, console, pidfd and in-container hooks.

Most tests drive pyrunc.linux.launcher directly (the container init is then this test
process' child); the rest go through the CLI."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from helpers import Runtime, busybox_config, write_bundle

from pyrunc.linux import execfifo, launcher
from pyrunc.linux.launcher import Launched, LaunchError, LaunchRequest


def _children() -> list[int]:
    """Live or zombie children of this test process."""
    me, found = os.getpid(), []
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == me:
            found.append(int(name))
    return found


class Launch:
    """launch() a busybox container as this process' child; reap it when the test ends."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.ready_pids: list[int] = []
        self.states: list[str] = []
        self.pids: list[int] = []
        self.count = 0

    def request(self, config: dict[str, Any], **kwargs: Any) -> LaunchRequest:
        self.count += 1
        state_dir = self.tmp_path / f"state{self.count}"
        state_dir.mkdir(mode=0o711)
        return LaunchRequest(container_id=f"c{self.count}", bundle=str(self.tmp_path),
                             config=config, state_dir=str(state_dir), **kwargs)

    def __call__(self, config: dict[str, Any],
                 on_ready: Callable[[int], None] | None = None, **kwargs: Any
                 ) -> tuple[Launched, LaunchRequest]:
        req = self.request(config, **kwargs)

        def ready(pid: int) -> None:
            self.ready_pids.append(pid)
            if on_ready:
                on_ready(pid)

        def hook_state(status: str) -> str:
            self.states.append(status)
            return json.dumps({"ociVersion": "1.3.0", "id": req.container_id,
                               "status": status, "pid": self.ready_pids[-1],
                               "bundle": req.bundle})

        launched = launcher.launch(req, ready, hook_state)
        self.pids.append(launched.pid)
        return launched, req

    def wait(self, pid: int) -> int:
        _, status = os.waitpid(pid, 0)
        self.pids.remove(pid)
        return os.waitstatus_to_exitcode(status)

    def cleanup(self) -> None:
        for pid in self.pids:
            try:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launch]:
    helper = Launch(tmp_path)
    yield helper
    helper.cleanup()
    assert _children() == [], "the launch left processes behind"


def _config(script: str, **process: Any) -> dict[str, Any]:
    return busybox_config(["sh", "-c", script], **process)


# ---- the sync protocol and the exec fifo ---------------------------------------------

def test_launch_then_start_runs_the_process(launch: Launch, tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = _config("echo $$ > /data/out")
    config["mounts"].append({"destination": "/data", "type": "bind", "source": str(tmp_path),
                             "options": ["rbind"]})
    launched, req = launch(config)
    assert launch.ready_pids == [launched.pid]
    assert launch.states == ["creating", "created"]
    with open(f"/proc/{launched.pid}/stat") as f:
        assert int(f.read().rsplit(")", 1)[1].split()[19]) == launched.start_time
    fifo = Path(req.state_dir) / execfifo.EXEC_FIFO
    assert stat.S_ISFIFO(fifo.stat().st_mode) and stat.S_IMODE(fifo.stat().st_mode) == 0o600
    assert not out.exists()  # created: the process waits for start
    execfifo.start(req.state_dir, launched.pid)
    assert not fifo.exists()
    assert launch.wait(launched.pid) == 0
    assert out.read_text() == "1\n"  # pid 1 of its own pid namespace


def test_start_returns_once_the_process_is_execd(launch: Launch) -> None:
    launched, req = launch(_config("sleep 100"))
    exe = os.readlink(f"/proc/{launched.pid}/exe")
    assert exe.startswith("/memfd:pyrunc-init")  # not the host's binary (CVE-2019-5736)
    execfifo.start(req.state_dir, launched.pid)
    assert os.readlink(f"/proc/{launched.pid}/exe") == "/bin/busybox"  # no waiting needed


def test_the_init_binary_cannot_be_written_through_proc_exe(launch: Launch) -> None:
    launched, _ = launch(_config("true"))
    with pytest.raises(OSError):
        open(f"/proc/{launched.pid}/exe", "r+b").close()
    # what is there is a sealed copy, not the installed binary
    assert os.stat(f"/proc/{launched.pid}/exe").st_ino != os.stat(launcher.INIT_BINARY).st_ino


def test_waiting_init_holds_no_host_directory(launch: Launch) -> None:
    """CVE-2024-21626: a created container's init must not keep a directory fd of the host
    (a later `exec --cwd /proc/1/fd/N` could walk out of the container from it)."""
    launched, req = launch(_config("true"))
    fd_dir = f"/proc/{launched.pid}/fd"
    kinds = {int(fd): os.stat(f"{fd_dir}/{fd}").st_mode for fd in os.listdir(fd_dir)}
    assert not [fd for fd, mode in kinds.items() if stat.S_ISDIR(mode)]
    assert os.readlink(f"/proc/{launched.pid}/cwd") == "/"  # the container's root
    links = [os.readlink(f"{fd_dir}/{fd}") for fd in kinds]
    assert req.state_dir + "/" + execfifo.EXEC_FIFO in links
    assert not [link for link in links if link.startswith(req.state_dir + "/") and
                not link.endswith(execfifo.EXEC_FIFO)]


def test_start_of_a_dead_init_fails_and_removes_the_fifo(launch: Launch) -> None:
    launched, req = launch(_config("true"))
    os.kill(launched.pid, 9)
    launch.wait(launched.pid)
    with pytest.raises(LaunchError, match="exited before start"):
        execfifo.start(req.state_dir, launched.pid)
    assert not (Path(req.state_dir) / execfifo.EXEC_FIFO).exists()
    with pytest.raises(LaunchError, match="not created"):
        execfifo.start(req.state_dir, launched.pid)


def test_start_fails_when_the_init_dies_before_reading_the_byte(launch: Launch) -> None:
    import fcntl
    import termios

    launched, req = launch(_config("true"))
    os.kill(launched.pid, 19)  # SIGSTOP: it cannot read start's byte
    errors: list[str] = []

    def start() -> None:
        try:
            execfifo.start(req.state_dir, launched.pid)
        except LaunchError as err:
            errors.append(str(err))

    starter = threading.Thread(target=start, daemon=True)
    starter.start()
    fifo = os.path.join(req.state_dir, execfifo.EXEC_FIFO)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # only to look: FIONREAD
    try:
        deadline = time.monotonic() + 10
        while not int.from_bytes(fcntl.ioctl(reader, termios.FIONREAD, b"\0" * 4),
                                 sys.byteorder):
            assert time.monotonic() < deadline, "start never wrote its byte"
            time.sleep(0.01)
    finally:
        os.close(reader)
    os.kill(launched.pid, 9)  # the byte is written and unread: now the init dies
    launch.wait(launched.pid)
    starter.join(10)
    assert errors == [f"the container init ({launched.pid}) exited before start"]
    assert not os.path.exists(fifo)


def test_failure_in_the_init_raises_and_leaves_nothing(launch: Launch) -> None:
    config = _config("true")
    config["linux"]["namespaces"].append({"type": "ipc", "path": "/proc/self/ns/net"})
    config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"]
                                     if n != {"type": "ipc"}]
    req = launch.request(config)
    with pytest.raises(LaunchError, match="join ipc namespace /proc/self/ns/net: Invalid arg"):
        launcher.launch(req, launch.ready_pids.append, lambda status: "{}")
    assert launch.ready_pids == []  # stage 1 failed before any container init existed
    assert os.listdir(req.state_dir) == []


def test_failure_after_the_namespaces_kills_the_init(launch: Launch) -> None:
    config = busybox_config(["/no/such/program"])
    req = launch.request(config)
    with pytest.raises(LaunchError, match=r'(?i)exec: "/no/such/program": .*no such file'):
        launcher.launch(req, launch.ready_pids.append, lambda status: "{}")
    assert len(launch.ready_pids) == 1
    assert not os.path.exists(f"/proc/{launch.ready_pids[0]}")  # killed and reaped
    assert os.listdir(req.state_dir) == []


def test_error_from_on_namespaces_ready_kills_the_init(launch: Launch) -> None:
    class Refused(Exception):
        pass

    def refuse(pid: int) -> None:
        assert os.readlink(f"/proc/{pid}/ns/pid") != os.readlink("/proc/self/ns/pid")
        raise Refused()

    req = launch.request(_config("true"))
    with pytest.raises(Refused):
        launcher.launch(req, refuse, lambda status: "{}")
    assert os.listdir(req.state_dir) == []


def test_a_dying_runtime_takes_the_half_made_container_with_it(tmp_path: Path) -> None:
    """The init dies with the runtime until READY (PR_SET_PDEATHSIG): a `create` killed in
    on_namespaces_ready (a hanging createRuntime hook, say) leaves no init waiting forever."""
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    pid_file = tmp_path / "pid"
    script = f"""
import json, os, sys, time
sys.path[:0] = {[str(Path(__file__).parent)]!r}
from helpers import busybox_config
from pyrunc.linux import launcher
def ready(pid):
    open({str(pid_file)!r}, "w").write(str(pid))
    time.sleep(100)
req = launcher.LaunchRequest("c1", {str(tmp_path)!r}, busybox_config(["true"]),
                             {str(state_dir)!r})
launcher.launch(req, ready, lambda s: "{{}}")
"""
    # -P: the installed pyrunc, not the source tree in the working directory
    proc = subprocess.Popen([sys.executable, "-P", "-c", script])
    try:
        deadline = time.monotonic() + 20
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        pid = int(pid_file.read_text())
        assert os.path.exists(f"/proc/{pid}")
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{pid}")  # killed, and reaped by init


# ---- fds, console and pidfd -----------------------------------------------------------

@contextmanager
def _fds_at(wanted: dict[int, int]) -> Iterator[None]:
    """Put fds at given numbers for a moment (pytest's own fds there are saved and put back):
    the init inherits this process' fd table as it is."""
    saved = {}
    for number in wanted:
        try:
            saved[number] = os.dup(number)
        except OSError:
            pass
    try:
        for number, fd in wanted.items():
            os.dup2(fd, number)  # inheritable
        yield
    finally:
        for number in wanted:
            if number in saved:
                os.dup2(saved.pop(number), number, inheritable=False)
            else:
                os.close(number)
        for fd in saved.values():
            os.close(fd)


def test_preserved_fds_keep_their_numbers_and_others_close(launch: Launch) -> None:
    r, w = os.pipe()
    r2, w2 = os.pipe()
    try:
        # fd 4 is inheritable too, but beyond the preserved range: it must not get through
        with _fds_at({3: w, 4: w2}):
            launched, req = launch(_config("ls /proc/self/fd >&3"),
                                   preserve_fds=1)
        os.close(w)
        os.close(w2)
        execfifo.start(req.state_dir, launched.pid)
        assert launch.wait(launched.pid) == 0
        # 0-2, 3 (the pipe) and ls' own directory fd (5, had 4 been passed on)
        assert sorted(os.read(r, 1000).decode().split()) == ["0", "1", "2", "3", "4"]
    finally:
        os.close(r)
        os.close(r2)


Received = Callable[[], tuple[bytes, list[int]]]


@pytest.fixture
def fd_receiver(tmp_path: Path) -> Iterator[tuple[str, Received]]:
    """A unix socket that receives one message with fds (conmon's console socket), and a
    function that waits for that message."""
    path = str(tmp_path / "recv.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    got: list[tuple[bytes, list[int]]] = []

    def accept() -> None:
        conn, _ = server.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 1024, 4)
        got.append((msg, fds))
        conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()

    def received() -> tuple[bytes, list[int]]:
        thread.join(10)
        assert got, "nothing was sent to the socket"
        return got[0]

    yield path, received
    server.close()
    for _, fds in got:
        for fd in fds:
            os.close(fd)


def _read_until(fd: int, marker: bytes) -> bytes:
    out = b""
    while marker not in out:
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # EIO: the pty's last user is gone
            break
        if not chunk:
            break
        out += chunk
    return out


def test_console_is_the_controlling_tty_of_a_session_leader(
        launch: Launch, fd_receiver: tuple[str, Received]) -> None:
    path, received = fd_receiver
    script = "tty; cut -d' ' -f6,7 /proc/self/stat; echo done"
    launched, req = launch(_config(script, terminal=True), console_socket=path)
    execfifo.start(req.state_dir, launched.pid)
    name, fds = received()
    out = _read_until(fds[0], b"done").decode().split()
    assert launch.wait(launched.pid) == 0
    assert out[0] == name.decode()
    # session id = our pid (1): setsid; tty_nr = the pty (major 136)
    assert out[1] == "1" and int(out[2]) >> 8 == 136


def test_console_without_a_mount_namespace(
        launch: Launch, fd_receiver: tuple[str, Received]) -> None:
    path, received = fd_receiver
    config = _config("echo on-a-host-pty", terminal=True)
    config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"]
                                     if n["type"] != "mount"]
    config["mounts"] = []
    config["linux"]["maskedPaths"] = config["linux"]["readonlyPaths"] = []
    launched, req = launch(config, console_socket=path)
    execfifo.start(req.state_dir, launched.pid)
    assert b"on-a-host-pty" in _read_until(received()[1][0], b"on-a-host-pty")
    assert launch.wait(launched.pid) == 0


def test_terminal_needs_a_console_socket(launch: Launch) -> None:
    req = launch.request(_config("true", terminal=True))
    with pytest.raises(LaunchError, match="--console-socket"):
        launcher.launch(req, launch.ready_pids.append, lambda s: "{}")


def test_pidfd_socket_gets_the_inits_pidfd_like_runc(
        launch: Launch, fd_receiver: tuple[str, Received]) -> None:
    path, received = fd_receiver
    launched, _ = launch(_config("true"), pidfd_socket=path)
    msg, fds = received()
    assert msg == b"standard"  # runc's payload for a container's init
    assert f"Pid:\t{launched.pid}" in Path(f"/proc/self/fdinfo/{fds[0]}").read_text()


# ---- hooks run by the init --------------------------------------------------------------

def _hook_config(tmp_path: Path, kind: str, script: str, **hook: Any) -> dict[str, Any]:
    config = _config("true")
    config["root"]["readonly"] = False
    config["mounts"].append({"destination": str(tmp_path), "type": "bind",
                             "source": str(tmp_path), "options": ["rbind"]})
    config["hooks"] = {kind: [{"path": "/bin/sh", "args": ["sh", "-c", script], **hook}]}
    return config


def test_create_container_hook_state_namespaces_and_output(launch: Launch,
                                                           tmp_path: Path) -> None:
    log = tmp_path / "log"
    script = (f"cat > {log}; echo >> {log}; readlink /proc/self/ns/mnt /proc/self/ns/net >> {log}; "
              f"echo to-stdout; echo $HOOKVAR >> {log}; umask >> {log}")
    config = _hook_config(tmp_path, "createContainer", script, env=["HOOKVAR=set"])
    launched, _ = launch(config)
    lines = log.read_text().splitlines()
    state = json.loads(lines[0])
    assert state["status"] == "creating" and state["pid"] == launched.pid
    assert lines[1:3] == [os.readlink(f"/proc/{launched.pid}/ns/{n}") for n in ("mnt", "net")]
    assert lines[3:] == ["set", "0022"]


def test_start_container_hook_runs_in_the_container_before_start_returns(
        launch: Launch, tmp_path: Path) -> None:
    log = tmp_path / "log"
    # the hook's path is resolved in the container: /bin/sh is busybox's
    config = _hook_config(tmp_path, "startContainer",
                          f"cat > {log}; echo >> {log}; "
                          f"test -e /bin/busybox && echo in-rootfs >> {log}")
    launched, req = launch(config)
    assert not log.exists()
    execfifo.start(req.state_dir, launched.pid)
    lines = log.read_text().splitlines()  # already there: start waited for the exec
    assert json.loads(lines[0])["status"] == "created"
    assert lines[-1] == "in-rootfs"
    assert launch.wait(launched.pid) == 0


def test_failing_hook_reports_its_stderr(launch: Launch, tmp_path: Path) -> None:
    config = _hook_config(tmp_path, "createContainer",
                          "echo noise; echo 'bad thing\nhappened' >&2; exit 4")
    req = launch.request(config)
    with pytest.raises(LaunchError) as err:
        launcher.launch(req, launch.ready_pids.append, lambda s: "{}")
    assert str(err.value) == ("createContainer hook #0 (/bin/sh) failed: exit status 4: "
                              "bad thing happened")


def test_hook_that_cannot_run(launch: Launch, tmp_path: Path) -> None:
    config = _hook_config(tmp_path, "createContainer", "true")
    config["hooks"]["createContainer"].insert(0, {"path": "/no/such/hook"})
    req = launch.request(config)
    with pytest.raises(LaunchError, match=r"^createContainer hook #0 \(/no/such/hook\) failed: "
                                          "No such file or directory$"):
        launcher.launch(req, launch.ready_pids.append, lambda s: "{}")


def test_hook_timeout_kills_it(launch: Launch, tmp_path: Path) -> None:
    config = _hook_config(tmp_path, "createContainer", "exec sleep 30", timeout=1)
    req = launch.request(config)
    began = time.monotonic()
    with pytest.raises(LaunchError, match=r"createContainer hook #0 \(/bin/sh\) timed out "
                                          "after 1s"):
        launcher.launch(req, launch.ready_pids.append, lambda s: "{}")
    assert time.monotonic() - began < 10


def test_hook_that_ignores_stdin_and_a_big_state(launch: Launch, tmp_path: Path) -> None:
    config = _hook_config(tmp_path, "createContainer", "exit 0")
    req = launch.request(config)
    big = json.dumps({"status": "creating", "annotations": {"x": "y" * 200_000}})
    launched = launcher.launch(req, launch.ready_pids.append, lambda s: big)
    launch.pids.append(launched.pid)


# ---- through the CLI -----------------------------------------------------------------------

def test_create_start_through_the_cli(runtime: Runtime, tmp_path: Path) -> None:
    # an id of our own: with no cgroupsPath, the cgroup is named after the id, and a "c1" of
    # a test run beside this one would share (and kill) it
    cid = f"launch-{os.getpid()}"
    bundle = write_bundle(tmp_path / "b", _config("sleep 100"))
    assert runtime("create", "-b", str(bundle), cid).returncode == 0
    pid = runtime.state(cid)["pid"]
    assert runtime.state(cid)["status"] == "created"
    assert runtime("start", cid).returncode == 0
    assert runtime.state(cid)["status"] == "running"
    assert os.readlink(f"/proc/{pid}/exe") == "/bin/busybox"
    assert runtime("delete", "-f", cid).returncode == 0


# ---- exec_process: a process in a running container ------------------------------------

def _exec(launched: Launched, config: dict[str, Any], script: str,
          on_started: Callable[[int], None] | None = None, **kwargs: Any) -> tuple[int, str]:
    """exec_process ``sh -c script`` with fd 3 a pipe; returns (exit status, its output)."""
    config = dict(config, process=dict(config["process"], args=["sh", "-c", script]))
    r, w = os.pipe()
    pidfd = os.pidfd_open(launched.pid)
    try:
        with _fds_at({3: w}):
            pid = launcher.exec_process(
                launcher.ExecRequest(pidfd, config, preserve_fds=1, **kwargs),
                on_started or (lambda pid: None))
        os.close(w)
        w = -1
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        return status, os.read(r, 10000).decode()
    finally:
        os.close(pidfd)
        os.close(r)
        if w >= 0:
            os.close(w)


def test_exec_joins_every_namespace_of_the_container(launch: Launch) -> None:
    config = _config("sleep 100")
    launched, req = launch(config)
    execfifo.start(req.state_dir, launched.pid)
    names = ["pid", "net", "ipc", "uts", "mnt", "cgroup"]
    status, out = _exec(launched, config, "for n in " + " ".join(names) +
                        "; do readlink /proc/self/ns/$n; done >&3; echo $$ >&3; hostname >&3;"
                        " cut -d' ' -f6 /proc/self/stat >&3; exit 7")
    assert status == 7  # our child: we reap it and get its status
    lines = out.split()
    assert lines[:6] == [os.readlink(f"/proc/{launched.pid}/ns/{n}") for n in names]
    assert lines[6] != "1" and lines[7] == "busybox"
    assert lines[8] == lines[6]  # a session of its own


def test_exec_applies_the_process_user_and_caps(launch: Launch) -> None:
    config = _config("sleep 100")
    launched, req = launch(config)
    execfifo.start(req.state_dir, launched.pid)
    config["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [5]}
    config["process"]["capabilities"] = {"bounding": ["CAP_KILL"]}
    status, out = _exec(launched, config, "id >&3; grep -E 'CapBnd|CapEff' /proc/self/status >&3")
    assert status == 0
    assert "uid=1000 gid=1000 groups=5" in out
    assert "CapBnd:\t0000000000000020" in out and "CapEff:\t0000000000000000" in out


def test_exec_in_a_user_namespace(launch: Launch) -> None:
    config = _config("sleep 100")
    config["linux"]["namespaces"].append({"type": "user"})
    config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    config["root"]["readonly"] = False
    config["mounts"] = [m for m in config["mounts"] if not m["destination"].startswith("/sys")]
    launched, req = launch(config)
    execfifo.start(req.state_dir, launched.pid)
    status, out = _exec(launched, config, "readlink /proc/self/ns/user >&3; id -u >&3")
    assert status == 0
    assert out.split() == [os.readlink(f"/proc/{launched.pid}/ns/user"), "0"]


def test_exec_failure_leaves_nothing(launch: Launch) -> None:
    config = _config("sleep 100")
    launched, req = launch(config)
    execfifo.start(req.state_dir, launched.pid)
    before = set(_children())
    bad = dict(config, process=dict(config["process"], args=["/no/such/program"]))
    pidfd = os.pidfd_open(launched.pid)
    try:
        with pytest.raises(LaunchError, match="/no/such/program"):
            launcher.exec_process(launcher.ExecRequest(pidfd, bad), lambda pid: None)

        def refuse(pid: int) -> None:
            raise LaunchError("refused by on_started")
        with pytest.raises(LaunchError, match="refused by on_started"):
            launcher.exec_process(launcher.ExecRequest(pidfd, config), refuse)
    finally:
        os.close(pidfd)
    assert set(_children()) == before


def test_exec_with_a_terminal(launch: Launch, fd_receiver: tuple[str, Received]) -> None:
    path, received = fd_receiver
    config = _config("sleep 100")
    launched, req = launch(config)
    execfifo.start(req.state_dir, launched.pid)
    tty_config = dict(config, process=dict(config["process"], terminal=True,
                                           args=["sh", "-c", "tty; echo exec-done"]))
    pidfd = os.pidfd_open(launched.pid)
    try:
        pid = launcher.exec_process(launcher.ExecRequest(pidfd, tty_config, console_socket=path),
                                    lambda pid: None)
    finally:
        os.close(pidfd)
    name, fds = received()
    out = _read_until(fds[0], b"exec-done").decode().split()
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    assert out[0] == name.decode() and out[0].startswith("/dev/pts/")
