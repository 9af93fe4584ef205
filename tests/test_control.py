"""ps, pause/resume, update, events and features on real containers."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import Runtime, busybox_config, official_validator, pyrunc_cmd


def _unique(name: str) -> str:
    return f"{name}-{os.getpid()}"  # the default cgroup is <own cgroup>/<id>


def _wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def running(runtime: Runtime, make_bundle: Callable[..., Path]) -> Iterator[str]:
    container_id = _unique("ctl")
    bundle = make_bundle(["sh", "-c", "sleep 1000 & exec sleep 1001"])
    proc = runtime("run", "-d", "-b", str(bundle), container_id)
    assert proc.returncode == 0, proc.stderr
    yield container_id
    runtime("delete", "-f", container_id)


def _cgroup_file(runtime: Runtime, container_id: str, v1_controller: str, v1_name: str,
                 v2_name: str) -> Path:
    """A file of the container's cgroup, wherever this host keeps that controller."""
    pid = runtime.state(container_id)["pid"]
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if v1_controller in controllers.split(","):
                return Path("/sys/fs/cgroup", v1_controller, path.lstrip("/"), v1_name)
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                return Path("/sys/fs/cgroup", line.split(":", 2)[2].strip().lstrip("/"),
                            v2_name)
    raise AssertionError("no such cgroup")


# ---- ps -------------------------------------------------------------------------------------

def test_ps_json_lists_every_process(runtime: Runtime, running: str) -> None:
    proc = runtime("ps", "--format", "json", running)
    assert proc.returncode == 0, proc.stderr
    pids = json.loads(proc.stdout)
    assert runtime.state(running)["pid"] in pids and len(pids) == 2
    for pid in pids:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert f.read().startswith(b"sleep\x00100")


def test_ps_table_filters_ps_output(runtime: Runtime, running: str) -> None:
    proc = runtime("ps", running)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:2] == ["UID", "PID"]
    assert len(lines) == 3 and all("sleep 100" in line for line in lines[1:])
    proc = runtime("ps", running, "-o", "pid,comm")
    assert proc.stdout.splitlines()[0].split() == ["PID", "COMMAND"]
    assert len(proc.stdout.splitlines()) == 3


def test_ps_table_needs_a_pid_column(runtime: Runtime, running: str) -> None:
    proc = runtime("ps", running, "-o", "comm")
    assert proc.returncode == 1 and "PID" in proc.stderr


# ---- pause / resume -------------------------------------------------------------------------

def test_pause_and_resume(runtime: Runtime, running: str) -> None:
    pid = runtime.state(running)["pid"]
    assert runtime("pause", running).returncode == 0
    assert runtime.state(running)["status"] == "paused"
    with open(f"/proc/{pid}/stat") as f:
        assert f.read().rsplit(")", 1)[1].split()[0] in "DS"  # frozen: not running
    assert runtime("pause", running).returncode == 1  # runc: a paused one is not running
    assert runtime("resume", running).returncode == 0
    assert runtime.state(running)["status"] == "running"
    proc = runtime("resume", running)
    assert proc.returncode == 1 and "not paused" in proc.stderr


def test_delete_force_of_a_paused_container(runtime: Runtime, running: str) -> None:
    assert runtime("pause", running).returncode == 0
    proc = runtime("delete", running)
    assert proc.returncode == 1 and "paused" in proc.stderr
    assert runtime("delete", "-f", running).returncode == 0
    assert running not in runtime.ids()


@pytest.mark.parametrize("all_processes", [False, True])
def test_sigkill_ends_a_paused_container(runtime: Runtime, running: str,
                                         all_processes: bool) -> None:
    """SIGKILL thaws (runc does): a v1 freezer would hold the killed tasks until resume."""
    assert runtime("pause", running).returncode == 0
    proc = runtime("kill", *(["--all"] if all_processes else []), running, "KILL")
    assert proc.returncode == 0, proc.stderr
    assert _wait_for(lambda: runtime.state(running)["status"] == "stopped")
    assert runtime("delete", running).returncode == 0


def test_other_signals_leave_a_paused_container_paused(runtime: Runtime, running: str) -> None:
    assert runtime("pause", running).returncode == 0
    assert runtime("kill", running, "TERM").returncode == 0
    assert runtime.state(running)["status"] == "paused"
    assert runtime("resume", running).returncode == 0


def test_pause_stopped_container_fails(runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    container_id = _unique("ps")
    assert runtime("run", "-d", "-b", str(make_bundle(["true"])), container_id).returncode == 0
    assert _wait_for(lambda: runtime.state(container_id)["status"] == "stopped")
    proc = runtime("pause", container_id)
    assert proc.returncode == 1 and "container not running" in proc.stderr
    runtime("delete", container_id)


# ---- update ---------------------------------------------------------------------------------

def test_update_flags(runtime: Runtime, running: str) -> None:
    proc = runtime("update", "--memory", "64m", "--pids-limit", "42", running)
    assert proc.returncode == 0, proc.stderr
    memory = _cgroup_file(runtime, running, "memory", "memory.limit_in_bytes", "memory.max")
    assert memory.read_text().strip() == str(64 << 20)
    pids = _cgroup_file(runtime, running, "pids", "pids.max", "pids.max")
    assert pids.read_text().strip() == "42"


def test_update_resources_from_stdin(runtime: Runtime, running: str) -> None:
    resources = {"cpu": {"shares": 512, "quota": 20000, "period": 100000}}
    proc = runtime("update", "-r", "-", running, input=json.dumps(resources))
    assert proc.returncode == 0, proc.stderr
    quota = _cgroup_file(runtime, running, "cpu", "cpu.cfs_quota_us", "cpu.max")
    assert quota.read_text().split()[0] == "20000"


def test_update_bad_resources_is_one_line(runtime: Runtime, running: str) -> None:
    proc = runtime("update", "-r", "-", running, input='{"memory": {"limit": "lots"}}')
    assert proc.returncode == 1 and "memory.limit" in proc.stderr
    assert proc.stderr.count("\n") == 1
    proc = runtime("update", "--memory", "lots", running)
    assert proc.returncode == 1 and "--memory" in proc.stderr


# ---- events ---------------------------------------------------------------------------------

def test_events_stats(runtime: Runtime, running: str) -> None:
    proc = runtime("events", "--stats", running)
    assert proc.returncode == 0, proc.stderr
    event = json.loads(proc.stdout)
    assert (event["type"], event["id"]) == ("stats", running)
    data = event["data"]
    assert data["pids"]["current"] == 2
    assert data["memory"]["usage"]["usage"] > 0
    assert data["cpu"]["usage"]["total"] > 0


def test_events_reports_an_oom_kill(runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    container_id = _unique("oom")
    config = busybox_config(["sh", "-c", "sleep 1; x=$(head -c 67108864 /dev/zero | tr '\\0' a);"
                                         " echo survived; sleep 100"])
    config["linux"]["resources"] = {"memory": {"limit": 32 << 20, "swap": 32 << 20}}
    bundle = make_bundle(config=config)
    assert runtime("run", "-d", "-b", str(bundle), container_id).returncode == 0
    events = subprocess.Popen([*pyrunc_cmd(), "--root", str(runtime.root), "events",
                               "--interval", "1h", container_id],
                              stdout=subprocess.PIPE, text=True)
    try:
        found: list[dict[str, Any]] = []
        assert events.stdout is not None
        for line in events.stdout:
            found.append(json.loads(line))
            if found[-1]["type"] == "oom":
                break
        assert {"type": "oom", "id": container_id} in found
    finally:
        events.kill()
        events.wait()
        runtime("delete", "-f", container_id)


def test_events_of_a_missing_container(runtime: Runtime) -> None:
    proc = runtime("events", "--stats", "nope")
    assert proc.returncode == 1 and "does not exist" in proc.stderr


# ---- features -------------------------------------------------------------------------------

def test_features_valid_against_the_spec_schema(runtime: Runtime) -> None:
    proc = runtime("features")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    errors = list(official_validator("features-schema.json").iter_errors(doc))
    assert errors == []
    assert doc["ociVersionMax"] == "1.3.0"
    linux = doc["linux"]
    assert set(linux["namespaces"]) == {"cgroup", "ipc", "mount", "network", "pid", "time",
                                        "user", "uts"}
    assert linux["seccomp"]["enabled"] is True
    assert "SCMP_ACT_NOTIFY" in linux["seccomp"]["actions"]
    assert {"rro", "idmap", "bind", "nosymfollow"} <= set(doc["mountOptions"])


def test_features_mount_options_are_accepted(runtime: Runtime,
                                             make_bundle: Callable[..., Path]) -> None:
    """Every mount option features lists is one create accepts (no false claims)."""
    doc = json.loads(runtime("features").stdout)
    options = [o for o in doc["mountOptions"]
               if o not in ("idmap", "ridmap", "tmpcopyup", "remount", "bind", "rbind")]
    config = busybox_config(["true"])
    config["mounts"].append({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs",
                             "options": []})
    for option in options:
        config["mounts"][-1]["options"] = [option]
        bundle = make_bundle(config=config)
        proc = runtime("create", "-b", str(bundle), _unique("fo"))
        assert "unknown" not in proc.stderr and "not supported" not in proc.stderr, option
        runtime("delete", "-f", _unique("fo"))
