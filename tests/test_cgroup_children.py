"""delete and the cgroups a container makes inside its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from typing import Any

import pytest
from helpers import Runtime, busybox_config

from pyrunc.linux import cgroups


def _name() -> str:
    """Unique per test run: another run may use the same cgroups at the same time."""
    return uuid.uuid4().hex[:10]


def test_delete_removes_cgroups_made_inside_the_container(runtime: Runtime,
                                                          make_bundle: Any) -> None:
    """A container with a writable cgroup2 mount in its cgroup namespace (a nested systemd,
    a nested runtime) makes cgroups of its own inside its cgroup: delete removes them, deepest
    first, and then its own (a cgroup with children cannot be removed)."""
    name = f"sd-{_name()}"
    config = busybox_config(["sleep", "1000"])
    config["mounts"] = [m for m in config["mounts"] if m["destination"] != "/sys/fs/cgroup"]
    config["mounts"].append({"destination": "/sys/fs/cgroup", "type": "cgroup2",
                             "source": "cgroup2", "options": ["nosuid", "noexec", "nodev"]})
    created = runtime("create", "-b", str(make_bundle(config=config)), name)
    assert created.returncode == 0, created.stderr
    directory = json.loads((runtime.root / name / "state.json").read_text()
                           )["cgroup"]["paths"][""]
    assert runtime("start", name).returncode == 0
    made = runtime("exec", name, "mkdir", "-p", "/sys/fs/cgroup/a/b", "/sys/fs/cgroup/c")
    assert made.returncode == 0, made.stderr
    assert os.path.isdir(os.path.join(directory, "a", "b"))
    deleted = runtime("delete", "--force", name)
    assert deleted.returncode == 0, deleted.stderr
    assert not os.path.exists(directory)


def _record(runtime: Runtime, name: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((runtime.root / name / "state.json").read_text()
                                        )["cgroup"]
    return record


def _move(pid: int, directory: str) -> None:
    with open(os.path.join(directory, "cgroup.procs"), "w") as f:
        f.write(str(pid))


def test_processes_in_cgroups_below_are_the_containers(runtime: Runtime,
                                                       make_bundle: Any) -> None:
    """As runc's GetAllPids: a process in a cgroup made below the container's (here a
    stand-in moved there) is listed by `ps` and reached by `kill --all`."""
    name = f"sub-{_name()}"
    created = runtime("create", "-b", str(make_bundle(["sleep", "1000"])), name)
    assert created.returncode == 0, created.stderr
    below = os.path.join(cgroups._primary(_record(runtime, name)) or "", "below")
    os.mkdir(below)
    stand_in = subprocess.Popen(["sleep", "1000"])
    try:
        _move(stand_in.pid, below)
        listed = runtime("ps", "--format", "json", name)
        assert listed.returncode == 0, listed.stderr
        assert stand_in.pid in json.loads(listed.stdout)
        assert runtime("kill", "--all", name, "KILL").returncode == 0
        assert stand_in.wait(timeout=10) == -signal.SIGKILL
    finally:
        stand_in.kill()
        stand_in.wait()
    deleted = runtime("delete", "--force", name)
    assert deleted.returncode == 0, deleted.stderr
    assert not os.path.exists(below)


def test_delete_says_when_a_cgroup_cannot_be_removed(runtime: Runtime,
                                                     make_bundle: Any) -> None:
    """A process that is not the container's sits in one of its cgroups (not the one pyrunc
    reads the container's processes from): delete cannot remove that cgroup. It says so in
    one line and keeps the container, so that `delete --force` can be run again."""
    name = f"busy-{_name()}"
    created = runtime("create", "-b", str(make_bundle(["sleep", "1000"])), name)
    assert created.returncode == 0, created.stderr
    record = _record(runtime, name)
    others = [d for d in record["paths"].values() if d != cgroups._primary(record)]
    if not others:
        pytest.skip("a single hierarchy: every process in it is the container's")
    stand_in = subprocess.Popen(["sleep", "1000"])
    try:
        own = os.path.dirname(others[0])
        _move(stand_in.pid, others[0])
        deleted = runtime("delete", "--force", name)
        assert deleted.returncode == 1
        assert deleted.stderr.splitlines() == [
            f"pyrunc: cgroup {others[0]}: still busy after 5 s (a process in it that is not "
            "the container's, or not reaped)"], deleted.stderr
        assert runtime.state(name)["status"] == "stopped"
        _move(stand_in.pid, own)
    finally:
        stand_in.kill()
        stand_in.wait()
    deleted = runtime("delete", "--force", name)
    assert deleted.returncode == 0, deleted.stderr
    assert runtime.ids() == []
    assert all(not os.path.exists(d) for d in record["paths"].values())
