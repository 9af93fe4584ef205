"""The lifecycle on real containers: create, start, run, state, kill, delete, and cleanup."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import REPO, Runtime, busybox_config, cgroup_dirs, pyrunc_cmd


def _wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_readme_quick_start(runtime: Runtime) -> None:
    proc = runtime("run", "-b", str(REPO / "bundles" / "busybox"), "demo")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello from pyrunc: hostname busybox, pid 1, uid 0\n"
    assert runtime.ids() == []  # run deletes the container when it exits


@pytest.mark.parametrize("script,status", [("exit 3", 3), ("kill -9 $$", 137),
                                           ("kill -TERM $$; sleep 5", 143), ("true", 0)])
def test_run_exit_status(runtime: Runtime, make_bundle: Callable[..., Path], script: str,
                         status: int) -> None:
    # pid 1 ignores signals it has no handler for: run the script as a child of pid 1
    bundle = make_bundle(["sh", "-c", f"sh -c '{script}'; exit $?"])
    assert runtime("run", "-b", str(bundle), "c1").returncode == status


def test_create_start_state_delete(runtime: Runtime, make_bundle: Callable[..., Path],
                                   tmp_path: Path) -> None:
    out = tmp_path / "out"
    bundle = make_bundle(["sh", "-c", "echo started; exec sleep 100"])
    pid_file = tmp_path / "pid"
    err = tmp_path / "err"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        # the container keeps create's stdio: files, so nothing waits for their EOF
        proc = subprocess.run([*pyrunc_cmd(), "--root", str(runtime.root), "create", "-b",
                               str(bundle), "--pid-file", str(pid_file), "c1"],
                              stdin=subprocess.PIPE, stdout=stdout, stderr=stderr, timeout=30)
    assert proc.returncode == 0, err.read_text()
    state = runtime.state("c1")
    assert state["status"] == "created"
    assert state["id"] == "c1" and state["bundle"] == str(bundle)
    assert state["rootfs"].endswith("bundles/busybox/rootfs")
    assert state["created"].endswith("Z") and len(state["created"].split(".")[1]) == 10
    assert pid_file.read_text() == str(state["pid"])  # no newline, like runc
    # the waiting init is the C program: no Python interpreter in a created container
    maps = Path(f"/proc/{state['pid']}/maps").read_text()
    assert "python" not in maps.lower()
    assert Path(f"/proc/{state['pid']}/comm").read_text().strip().startswith("pyrunc-init") \
        or "memfd:pyrunc-init" in os.readlink(f"/proc/{state['pid']}/exe")
    assert out.read_text() == ""  # not started yet
    assert runtime("start", "c1").returncode == 0
    assert _wait_for(lambda: out.read_text() == "started\n")
    assert runtime.state("c1")["status"] == "running"
    again = runtime("start", "c1")
    assert again.returncode == 1 and "running" in again.stderr
    refused = runtime("delete", "c1")
    assert refused.returncode == 1 and "not stopped" in refused.stderr
    assert runtime("kill", "c1", "KILL").returncode == 0
    assert _wait_for(lambda: runtime.state("c1")["status"] == "stopped")
    assert runtime.state("c1")["pid"] == 0
    killed = runtime("kill", "c1")
    assert killed.returncode == 1 and "container not running" in killed.stderr
    assert runtime("delete", "c1").returncode == 0
    assert runtime.ids() == []
    assert cgroup_dirs("c1") == []


def test_state_notices_the_init_died(runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    """Nobody calls pyrunc when the init exits: state must still say stopped."""
    bundle = make_bundle(["sleep", "100"])
    assert runtime("run", "-d", "-b", str(bundle), "c1").returncode == 0
    pid = runtime.state("c1")["pid"]
    os.kill(pid, signal.SIGKILL)
    assert _wait_for(lambda: runtime.state("c1")["status"] == "stopped")


def test_used_id_is_refused_and_named(runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    bundle = make_bundle(["sleep", "100"])
    assert runtime("create", "-b", str(bundle), "c1").returncode == 0
    second = runtime("create", "-b", str(bundle), "c1")
    assert second.returncode == 1
    assert second.stderr == 'pyrunc: container with id "c1" already exists\n'
    assert runtime.state("c1")["status"] == "created"  # the first one is untouched


@pytest.mark.parametrize("sig,number", [("TERM", 15), ("SIGUSR1", 10), ("9", 9)])
def test_kill_by_name_and_number(runtime: Runtime, make_bundle: Callable[..., Path],
                                 sig: str, number: int, tmp_path: Path) -> None:
    mark = tmp_path / "mark"
    mark.mkdir()
    trap = f"trap 'echo got > /mark/sig; exit 0' {number}; " if number != 9 else ""
    config = busybox_config(["sh", "-c", f"{trap}touch /mark/ready; "
                                         "while :; do sleep 0.05; done"])
    config["mounts"].append({"destination": "/mark", "type": "bind", "source": str(mark),
                             "options": ["rbind"]})
    bundle = make_bundle(config=config)
    assert runtime("run", "-d", "-b", str(bundle), "c1").returncode == 0
    assert _wait_for(lambda: (mark / "ready").exists())
    assert runtime("kill", "c1", sig).returncode == 0
    assert _wait_for(lambda: runtime.state("c1")["status"] == "stopped")
    if number != 9:
        assert (mark / "sig").read_text() == "got\n"


def test_kill_all(runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    bundle = make_bundle(["sh", "-c", "sleep 100 & sleep 100 & wait"])
    assert runtime("run", "-d", "-b", str(bundle), "c1").returncode == 0
    pid = runtime.state("c1")["pid"]
    ns = os.readlink(f"/proc/{pid}/ns/pid")

    def members() -> list[int]:
        pids = []
        for name in os.listdir("/proc"):
            try:
                if name.isdigit() and os.readlink(f"/proc/{name}/ns/pid") == ns:
                    pids.append(int(name))
            except OSError:
                pass
        return pids

    assert _wait_for(lambda: len(members()) == 3)
    assert runtime("kill", "--all", "c1", "KILL").returncode == 0
    assert _wait_for(lambda: members() == [])


def test_invalid_signal(runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    assert runtime("run", "-d", "-b", str(make_bundle(["sleep", "100"])), "c1").returncode == 0
    proc = runtime("kill", "c1", "SIGNOPE")
    assert proc.returncode == 1 and 'invalid signal "SIGNOPE"' in proc.stderr


def test_delete_force_of_running(runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    assert runtime("run", "-d", "-b", str(make_bundle(["sleep", "100"])), "c1").returncode == 0
    pid = runtime.state("c1")["pid"]
    assert runtime("delete", "--force", "c1").returncode == 0
    assert not Path(f"/proc/{pid}").exists() or \
        Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] in "ZX"
    assert runtime.ids() == [] and cgroup_dirs("c1") == []


def test_delete_of_created_kills_the_waiting_init(runtime: Runtime,
                                                  make_bundle: Callable[..., Path]) -> None:
    assert runtime("create", "-b", str(make_bundle(["true"])), "c1").returncode == 0
    pid = runtime.state("c1")["pid"]
    assert runtime("delete", "c1").returncode == 0
    assert _wait_for(lambda: not Path(f"/proc/{pid}").exists())


def test_failed_create_leaves_nothing(runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    inits_before = _inits()
    proc = runtime("create", "-b", str(make_bundle(["/no/such/binary"])), "c1")
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "/no/such/binary" in proc.stderr
    assert runtime.ids() == []
    assert cgroup_dirs("c1") == []
    assert _inits() - inits_before == set()


def _inits() -> set[int]:
    """Live (non-zombie) pyrunc-init processes."""
    found = set()
    for name in os.listdir("/proc"):
        try:
            if name.isdigit() and "pyrunc-init" in os.readlink(f"/proc/{name}/exe") and \
                    Path(f"/proc/{name}/stat").read_text().rsplit(") ", 1)[1][0] not in "ZX":
                found.add(int(name))
        except OSError:
            continue
    return found


def test_missing_executable_message_like_runc(runtime: Runtime,
                                              make_bundle: Callable[..., Path]) -> None:
    proc = runtime("create", "-b", str(make_bundle(["nosuchcmd"])), "c1")
    assert proc.returncode == 1
    assert 'exec: "nosuchcmd": executable file not found in $PATH' in proc.stderr


def test_start_of_missing_and_stopped(runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    assert runtime("start", "nope").returncode == 1
    assert runtime("run", "-d", "-b", str(make_bundle(["true"])), "c1").returncode == 0
    assert _wait_for(lambda: runtime.state("c1")["status"] == "stopped")
    proc = runtime("start", "c1")
    assert proc.returncode == 1 and "stopped" in proc.stderr


def test_list_formats(runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    assert runtime("create", "-b", str(make_bundle(["true"])), "c1").returncode == 0
    table = runtime("list").stdout.splitlines()
    assert table[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    assert table[1].split()[0] == "c1" and table[1].split()[2] == "created"
    assert table[1].split()[5] == "root"
    entries = json.loads(runtime("list", "--format", "json").stdout)
    assert [e["id"] for e in entries] == ["c1"] and entries[0]["owner"] == "root"
    assert runtime("list", "-q").stdout == "c1\n"


def test_stdio_is_inherited_and_create_returns(runtime: Runtime,
                                               make_bundle: Callable[..., Path]) -> None:
    """conmon and the shims give create pipes: create must return without holding them."""
    bundle = make_bundle(["sh", "-c", "read line; echo got $line; echo err >&2"])
    proc = subprocess.Popen([*pyrunc_cmd(), "--root", str(runtime.root), "create", "-b",
                             str(bundle), "c1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.wait(timeout=30) == 0
    assert runtime("start", "c1").returncode == 0
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(b"hello\n")
    proc.stdin.close()
    assert proc.stdout.read() == b"got hello\n"  # EOF: only the container held the pipe
    assert proc.stderr.read() == b"err\n"


def test_run_detach_and_pid_file(runtime: Runtime, make_bundle: Callable[..., Path],
                                 tmp_path: Path) -> None:
    pid_file = tmp_path / "run.pid"
    proc = runtime("run", "-d", "--pid-file", str(pid_file), "-b",
                   str(make_bundle(["sleep", "100"])), "c1")
    assert proc.returncode == 0, proc.stderr
    assert runtime.state("c1")["status"] == "running"
    assert int(pid_file.read_text()) == runtime.state("c1")["pid"]
