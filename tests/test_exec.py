"""`pyrunc exec` on real containers: namespaces, cgroups, process fields, tty, detach."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import Runtime, pyrunc_cmd


def _unique(name: str) -> str:
    # the default cgroup is <own cgroup>/<id>: ids unique per run keep parallel runs apart
    return f"{name}-{os.getpid()}"


@pytest.fixture
def running(runtime: Runtime, make_bundle: Callable[..., Path]) -> Iterator[str]:
    """A running container (hostname "busybox") whose init sleeps."""
    container_id = _unique("ex")
    bundle = make_bundle(["sleep", "1000"])
    proc = runtime("run", "-d", "-b", str(bundle), container_id)
    assert proc.returncode == 0, proc.stderr
    yield container_id
    runtime("delete", "-f", container_id)


def test_exec_output_and_exit_status(runtime: Runtime, running: str) -> None:
    proc = runtime("exec", running, "echo", "hi")
    assert (proc.returncode, proc.stdout) == (0, "hi\n"), proc.stderr
    assert runtime("exec", running, "sh", "-c", "exit 7").returncode == 7
    # the command's own flags are not pyrunc's
    assert runtime("exec", running, "ls", "-d", "/").stdout == "/\n"


def test_exec_joins_namespaces_and_cgroups(runtime: Runtime, running: str) -> None:
    init = runtime.state(running)["pid"]
    # busybox readlink takes one file at a time
    script = ("hostname; for ns in pid mnt net ipc uts; do readlink /proc/self/ns/$ns; done; "
              "cat /proc/self/cgroup; echo --; cat /proc/1/cgroup")
    proc = runtime("exec", running, "sh", "-c", script)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "busybox"
    for line, kind in zip(lines[1:6], ("pid", "mnt", "net", "ipc", "uts"), strict=True):
        assert line == os.readlink(f"/proc/{init}/ns/{kind}")
    # both read through the container's cgroup namespace: a process outside init's
    # cgroups would show as "/.." paths
    mine, inits = "\n".join(lines[6:]).split("\n--\n")
    assert sorted(mine.splitlines()) == sorted(inits.splitlines())
    assert "/.." not in mine


def test_exec_process_fields_from_flags(runtime: Runtime, running: str) -> None:
    proc = runtime("exec", "-u", "1000:1001", "-g", "1002", "--cwd", "/tmp", "-e", "FOO=bar",
                   "--no-new-privs", running, "sh", "-c",
                   "id -u; id -g; id -G; pwd; echo $FOO; grep NoNewPrivs /proc/self/status")
    assert proc.returncode == 0, proc.stderr
    uid, gid, groups, cwd, foo, nnp = proc.stdout.splitlines()
    assert (uid, gid, cwd, foo) == ("1000", "1001", "/tmp", "bar")
    assert "1002" in groups.split()
    assert nnp.split() == ["NoNewPrivs:", "1"]


def test_exec_cap_flag_adds_a_capability(runtime: Runtime, running: str) -> None:
    def cap_eff(*flags: str) -> int:
        proc = runtime("exec", *flags, running, "grep", "CapEff", "/proc/self/status")
        assert proc.returncode == 0, proc.stderr
        return int(proc.stdout.split()[1], 16)

    sys_admin = 1 << 21
    assert not cap_eff() & sys_admin  # the busybox bundle's default set lacks it
    assert cap_eff("--cap", "CAP_SYS_ADMIN") & sys_admin


def test_exec_process_file(runtime: Runtime, running: str, tmp_path: Path) -> None:
    process = {"args": ["sh", "-c", "echo $A; pwd; id -u"], "cwd": "/etc",
               "env": ["PATH=/bin:/usr/bin", "A=from-file"], "user": {"uid": 5, "gid": 5}}
    path = tmp_path / "process.json"
    path.write_text(json.dumps(process))
    proc = runtime("exec", "--process", str(path), running)
    assert (proc.returncode, proc.stdout) == (0, "from-file\n/etc\n5\n"), proc.stderr


def test_exec_bad_process_file_is_one_line(runtime: Runtime, running: str,
                                           tmp_path: Path) -> None:
    path = tmp_path / "process.json"
    path.write_text(json.dumps({"args": "not a list", "cwd": "/"}))
    proc = runtime("exec", "--process", str(path), running)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "process.args" in proc.stderr, proc.stderr


def test_exec_detach_and_pid_file(runtime: Runtime, running: str, tmp_path: Path) -> None:
    pid_file = tmp_path / "exec.pid"
    proc = runtime("exec", "-d", "--pid-file", str(pid_file), running, "sleep", "77")
    assert proc.returncode == 0, proc.stderr
    pid = int(pid_file.read_text())
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read() == b"sleep\x0077\x00"
    assert json.loads(runtime("ps", "--format", "json", running).stdout).count(pid) == 1


def test_exec_preserve_fds(runtime: Runtime, running: str) -> None:
    r, w = os.pipe()
    proc = subprocess.run(["bash", "-c", f'exec 3>&{w} {w}>&-; exec "$@"', "bash", *pyrunc_cmd(),
                           "--root", str(runtime.root), "exec", "--preserve-fds", "1", running,
                           "sh", "-c", "echo via-3 >&3"],
                          pass_fds=(w,), capture_output=True, text=True, timeout=30)
    os.close(w)
    assert proc.returncode == 0, proc.stderr
    assert os.read(r, 100) == b"via-3\n"
    os.close(r)


def test_exec_only_stdio_reaches_the_process(runtime: Runtime, running: str) -> None:
    proc = runtime("exec", running, "ls", "/proc/self/fd")
    assert sorted(proc.stdout.split()) == ["0", "1", "2", "3"]


def test_exec_tty_through_console_socket(runtime: Runtime, running: str,
                                         tmp_path: Path) -> None:
    path = str(tmp_path / "console.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    got: list[Any] = []

    def accept() -> None:
        conn, _ = server.accept()
        got.append(socket.recv_fds(conn, 1024, 4))
        conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    proc = runtime("exec", "-t", "-d", "--console-socket", path, running,
                   "sh", "-c", "tty; echo on-the-pty; sleep 1")
    assert proc.returncode == 0, proc.stderr
    thread.join(10)
    server.close()
    msg, fds, _, _ = got[0]
    assert msg.startswith(b"/dev/pts/")
    output = b""
    while b"on-the-pty" not in output:
        chunk = os.read(fds[0], 1024)
        if not chunk:
            break
        output += chunk
    os.close(fds[0])
    assert output.decode().split()[0] == msg.decode()


def test_exec_tty_without_console_socket_relays(runtime: Runtime, running: str) -> None:
    proc = runtime("exec", "-t", running, "sh", "-c", "tty >/dev/null && echo is-a-tty")
    assert proc.returncode == 0, proc.stderr
    assert "is-a-tty" in proc.stdout


def test_exec_refuses_detached_tty_without_socket(runtime: Runtime, running: str) -> None:
    proc = runtime("exec", "-t", "-d", running, "true")
    assert proc.returncode == 1 and "console-socket" in proc.stderr


def test_exec_in_a_created_container(runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    container_id = _unique("cr")
    bundle = make_bundle(["true"])
    assert runtime("create", "-b", str(bundle), container_id).returncode == 0
    proc = runtime("exec", container_id, "hostname")
    assert (proc.returncode, proc.stdout) == (0, "busybox\n"), proc.stderr
    assert runtime.state(container_id)["status"] == "created"
    runtime("delete", "-f", container_id)


def test_exec_in_a_stopped_container_fails(runtime: Runtime,
                                           make_bundle: Callable[..., Path]) -> None:
    container_id = _unique("st")
    bundle = make_bundle(["true"])
    assert runtime("run", "-d", "-b", str(bundle), container_id).returncode == 0
    deadline = time.monotonic() + 10
    while runtime.state(container_id)["status"] != "stopped" and time.monotonic() < deadline:
        time.sleep(0.05)
    proc = runtime("exec", container_id, "true")
    assert proc.returncode == 1 and "cannot exec in a stopped container" in proc.stderr
    runtime("delete", container_id)


def test_exec_missing_container_and_command(runtime: Runtime, running: str) -> None:
    proc = runtime("exec", "nope", "true")
    assert proc.returncode == 1 and "does not exist" in proc.stderr
    proc = runtime("exec", running)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    proc = runtime("exec", running, "/no/such/binary")
    assert proc.returncode == 1 and "/no/such/binary" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_exec_into_paused_container(runtime: Runtime, running: str) -> None:
    assert runtime("pause", running).returncode == 0
    proc = runtime("exec", running, "true")
    assert proc.returncode == 1 and "--ignore-paused" in proc.stderr
    assert runtime("resume", running).returncode == 0
    assert runtime("exec", running, "true").returncode == 0
