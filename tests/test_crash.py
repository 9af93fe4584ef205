"""Crash safety: `create` SIGKILLed at each of its steps, a container init that dies at any
point, and pid reuse (docs/robustness.md).

Each step is hit exactly through PYRUNC_TEST_PAUSE_AT (pyrunc/testpoint.py): create stops
itself there, the test SIGKILLs it. Whatever it left must read as a clean answer (`state`:
stopped, or does not exist) and `delete --force` must remove all of it: processes, cgroups in
every hierarchy, mounts and the state directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import Runtime, busybox_config, cgroup_dirs, pyrunc_cmd

STEPS = ("claimed", "fifo", "spawned", "cloned", "recorded", "cgroup", "hooks", "ready",
         "created")


def _wait(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Poll until ``condition`` holds; the timeout only guards against a hang."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _proc_state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return "gone"
    return data[data.rindex(b")") + 2:].split()[0].decode()


def _holders(path: Path) -> list[int]:
    """Live processes with an fd under ``path`` (a container's state dir or exec fifo: every
    pyrunc-init of that container holds one)."""
    found = []
    prefix = str(path) + "/"
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{name}/fd")
            if any(os.readlink(f"/proc/{name}/fd/{fd}").startswith(prefix) for fd in fds):
                found.append(int(name))
        except OSError:
            continue
    return found


def _mounts_of(path: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if str(path) in line]


class Creator:
    """`pyrunc create` as a child process, stdio in files (the container keeps them)."""

    def __init__(self, runtime: Runtime, bundle: Path, container_id: str, out: Path,
                 env: dict[str, str] | None = None) -> None:
        self.out = out
        with open(out, "w") as stdio:
            self.proc = subprocess.Popen(
                [*pyrunc_cmd(), "--root", str(runtime.root), "create", "-b", str(bundle),
                 container_id],
                stdin=subprocess.DEVNULL, stdout=stdio, stderr=stdio,
                env={**os.environ, **(env or {})})

    def wait_stopped(self) -> None:
        assert _wait(lambda: _proc_state(self.proc.pid) in ("T", "gone")), "create never paused"
        assert _proc_state(self.proc.pid) == "T", f"create exited: {self.out.read_text()}"

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)


@pytest.fixture
def unique_id(request: pytest.FixtureRequest) -> str:
    # cgroups are named after the id and shared by every checkout on this machine
    name = request.node.name.replace("[", "-").replace("]", "").replace("_", "-")
    return f"{name[:40]}-{os.getpid()}"


@pytest.fixture
def hooked_bundle(make_bundle: Callable[..., Path], tmp_path: Path) -> Path:
    """sleep, with a runtime hook (so the hooks step does something)."""
    config = busybox_config(["sleep", "100"])
    config["hooks"] = {"createRuntime": [{"path": "/bin/sh",
                                          "args": ["sh", "-c", f"echo x >> {tmp_path}/hooks"]}]}
    return make_bundle(config=config)


def _state_is_clean(runtime: Runtime, container_id: str) -> str:
    """`state` answers stopped (or does not exist), on one line, without a traceback."""
    proc = runtime("state", container_id)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    if proc.returncode == 1:
        assert proc.stderr == f'pyrunc: container "{container_id}" does not exist\n'
        return "gone"
    assert proc.returncode == 0, proc.stderr
    status: str = json.loads(proc.stdout)["status"]
    return status


def _assert_all_gone(runtime: Runtime, container_id: str, pids: list[int],
                     tmp_path: Path) -> None:
    assert runtime.ids() == [], f"left in --root: {runtime.ids()}"
    assert _wait(lambda: all(_proc_state(p) in ("gone", "Z") for p in pids)), \
        f"processes left: {[(p, _proc_state(p)) for p in pids]}"
    assert _wait(lambda: _holders(runtime.root) == []), f"processes left: {_holders(runtime.root)}"
    assert cgroup_dirs(container_id) == []
    assert _mounts_of(tmp_path) == []


def _recorded_pid(runtime: Runtime, container_id: str) -> int:
    try:
        doc: dict[str, Any] = json.loads((runtime.root / container_id / "state.json").read_text())
    except FileNotFoundError:
        return 0
    return int(doc["pid"])


@pytest.mark.parametrize("step", STEPS)
def test_create_killed_at_each_step(runtime: Runtime, hooked_bundle: Path, tmp_path: Path,
                                    unique_id: str, step: str) -> None:
    creator = Creator(runtime, hooked_bundle, unique_id, tmp_path / "create.out",
                      {"PYRUNC_TEST_PAUSE_AT": step})
    try:
        creator.wait_stopped()
        pids = [p for p in [_recorded_pid(runtime, unique_id), *_holders(runtime.root)] if p]
    finally:
        creator.kill()
    # whatever is left reads as a container that is not there or not running (after the
    # last step the container was complete: only --pid-file and the exit were left to do)
    expected = ("created",) if step == "created" else ("stopped", "gone")
    assert _state_is_clean(runtime, unique_id) in expected
    listed = runtime("list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert all(c["status"] in expected for c in json.loads(listed.stdout))
    if step != "created":
        started = runtime("start", unique_id)  # a half-made container cannot be started
        assert started.returncode == 1 and len(started.stderr.splitlines()) == 1, \
            started.stderr
    deleted = runtime("delete", "--force", unique_id)
    assert deleted.returncode == 0, deleted.stderr
    _assert_all_gone(runtime, unique_id, pids, tmp_path)
    # and the id can be used again
    again = runtime("create", "-b", str(hooked_bundle), unique_id)
    assert again.returncode == 0, again.stderr
    assert runtime.state(unique_id)["status"] == "created"
    assert runtime("delete", "--force", unique_id).returncode == 0
    assert cgroup_dirs(unique_id) == []


def test_create_killed_during_mounts(runtime: Runtime, make_bundle: Callable[..., Path],
                                     tmp_path: Path, unique_id: str) -> None:
    """Killed while the init is inside its mount namespace, mid-setup: a createContainer
    hook (run by the init after the mounts, before pivot_root) signals, then blocks."""
    marker = tmp_path / "in-mounts"
    config = busybox_config(["sleep", "100"])
    config["hooks"] = {"createContainer": [{"path": "/bin/sh", "args": [
        "sh", "-c", f"touch {marker}; exec sleep 100"]}]}
    creator = Creator(runtime, make_bundle(config=config), unique_id, tmp_path / "out")
    try:
        assert _wait(marker.exists), (tmp_path / "out").read_text()
        pid = _recorded_pid(runtime, unique_id)
        assert pid > 0
    finally:
        creator.kill()
    assert _state_is_clean(runtime, unique_id) in ("stopped", "gone")
    assert runtime("delete", "--force", unique_id).returncode == 0
    _assert_all_gone(runtime, unique_id, [pid], tmp_path)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated process, the stand-in for whatever reuses a container's pid."""
    proc = subprocess.Popen(["sleep", "1000"])
    yield proc
    proc.kill()
    proc.wait()


def _create(runtime: Runtime, bundle: Path, container_id: str, start: bool = False) -> int:
    proc = runtime("create", "-b", str(bundle), container_id)
    assert proc.returncode == 0, proc.stderr
    if start:
        started = runtime("start", container_id)
        assert started.returncode == 0, started.stderr
    return int(runtime.state(container_id)["pid"])


@pytest.mark.parametrize("start", [False, True], ids=["created", "running"])
def test_init_killed_reads_stopped(runtime: Runtime, make_bundle: Callable[..., Path],
                                   tmp_path: Path, unique_id: str, start: bool) -> None:
    pid = _create(runtime, make_bundle(["sleep", "100"]), unique_id, start=start)
    os.kill(pid, signal.SIGKILL)
    assert _wait(lambda: runtime.state(unique_id)["status"] == "stopped")
    assert runtime.state(unique_id)["pid"] == 0
    for command in (["start", unique_id], ["kill", unique_id, "KILL"], ["pause", unique_id]):
        proc = runtime(*command)
        assert proc.returncode == 1 and len(proc.stderr.splitlines()) == 1, (command, proc)
    assert runtime("delete", unique_id).returncode == 0  # stopped: no --force needed
    _assert_all_gone(runtime, unique_id, [pid], tmp_path)


def test_init_killed_during_create(runtime: Runtime, hooked_bundle: Path, tmp_path: Path,
                                   unique_id: str) -> None:
    """The init dies while create works on it (here: after the cgroup join): create fails
    with one line and takes everything back."""
    creator = Creator(runtime, hooked_bundle, unique_id, tmp_path / "out",
                      {"PYRUNC_TEST_PAUSE_AT": "cgroup"})
    try:
        creator.wait_stopped()
        pid = _recorded_pid(runtime, unique_id)
        assert pid > 0  # (kill(0) would signal this test's own process group)
        os.kill(pid, signal.SIGKILL)
        assert _state_is_clean(runtime, unique_id) in ("stopped", "gone")
        creator.proc.send_signal(signal.SIGCONT)
        assert creator.proc.wait(timeout=30) == 1
    finally:
        if creator.proc.poll() is None:
            creator.kill()
    lines = (tmp_path / "out").read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pyrunc: "), lines
    assert "Traceback" not in lines[0] and "internal error" not in lines[0]
    _assert_all_gone(runtime, unique_id, [pid], tmp_path)


def test_reused_pid_is_not_the_container(runtime: Runtime, make_bundle: Callable[..., Path],
                                         tmp_path: Path, unique_id: str,
                                         sleeper: subprocess.Popen[bytes]) -> None:
    """The init died and its pid now names an unrelated process (faked by pointing the state
    at our own `sleep`, with the init's start time kept): pyrunc must see a stopped
    container, and neither kill nor delete --force may signal that process."""
    pid = _create(runtime, make_bundle(["sleep", "100"]), unique_id, start=True)
    os.kill(pid, signal.SIGKILL)
    assert _wait(lambda: runtime.state(unique_id)["status"] == "stopped")
    state_file = runtime.root / unique_id / "state.json"
    doc = json.loads(state_file.read_text())
    doc["pid"] = sleeper.pid
    state_file.write_text(json.dumps(doc))
    state = runtime.state(unique_id)
    assert state["status"] == "stopped" and state["pid"] == 0
    for args in (["kill", unique_id, "KILL"], ["kill", "--all", unique_id, "KILL"]):
        proc = runtime(*args)
        assert proc.returncode == 1 and "not running" in proc.stderr, proc.stderr
    assert runtime("delete", "--force", unique_id).returncode == 0
    assert sleeper.poll() is None, "delete --force killed an unrelated process"
    assert _proc_state(sleeper.pid) in ("S", "R")
    _assert_all_gone(runtime, unique_id, [pid], tmp_path)


def test_reused_pid_while_creating(runtime: Runtime, hooked_bundle: Path, tmp_path: Path,
                                   unique_id: str, sleeper: subprocess.Popen[bytes]) -> None:
    """The same during create: a "creating" state whose pid is now someone else's."""
    creator = Creator(runtime, hooked_bundle, unique_id, tmp_path / "out",
                      {"PYRUNC_TEST_PAUSE_AT": "hooks"})
    try:
        creator.wait_stopped()
        pid = _recorded_pid(runtime, unique_id)
    finally:
        creator.kill()
    assert _wait(lambda: _proc_state(pid) in ("gone", "Z"))  # PDEATHSIG took the init
    state_file = runtime.root / unique_id / "state.json"
    doc = json.loads(state_file.read_text())
    doc["pid"] = sleeper.pid
    state_file.write_text(json.dumps(doc))
    assert _state_is_clean(runtime, unique_id) == "stopped"
    assert runtime("delete", "--force", unique_id).returncode == 0
    assert sleeper.poll() is None, "delete --force killed an unrelated process"
    _assert_all_gone(runtime, unique_id, [pid], tmp_path)
