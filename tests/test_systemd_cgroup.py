"""The systemd cgroup driver (--systemd-cgroup where systemd runs), against a real systemd.

The host has no systemd, so one is booted as PID 1 of a pyrunc container, and pyrunc runs
inside it (through `pyrunc exec`). That container is built to leave the host alone: its own
rootfs directory under the test's basetemp, the host's /usr and /etc (and the Python and the
checkout pyrunc runs from) bound read-only, fresh tmpfs for /run, /tmp, /var, /root, its own
/proc, /dev and read-only /sys, a cgroup2 mount in a new cgroup namespace (a unified
hierarchy systemd may manage: on the hybrid development VM it has hugetlb only), new pid,
mount, uts, ipc, cgroup and network namespaces, no writable host path, CAP_SYS_TIME,
CAP_SYS_MODULE, CAP_SYS_BOOT and CAP_SYS_RAWIO dropped. systemd starts a one-line target of
its own (bound read-only over /etc/systemd/system, which hides the host's enabled units), so
no getty, udev, networkd or tmpfiles run. It is halted with SIGRTMIN+3 and deleted.

Without systemd (the host) --systemd-cgroup keeps laying the cgroups out itself: the last
tests check that, and the pure conversions to unit properties.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO, Runtime, busybox_config, pyrunc_cmd, write_bundle

from pyrunc.config.default import default_config
from pyrunc.linux.capabilities import CAPABILITIES
from pyrunc.linux.cgroups import _systemd

SYSTEMD = "/lib/systemd/systemd"
PYTHON = str(REPO / ".venv" / "bin" / "python")
INNER_ROOT = "/run/pyrunc-inner"
# what the nested systemd may not have; CAP_SYS_RESOURCE too where the host lacks it
DROPPED = {"CAP_SYS_TIME", "CAP_SYS_MODULE", "CAP_SYS_BOOT", "CAP_SYS_RAWIO"}


def _bounding() -> set[str]:
    with open("/proc/self/status") as f:
        mask = int(next(line for line in f if line.startswith("CapBnd:")).split()[1], 16)
    return {name for number, name in enumerate(CAPABILITIES) if mask >> number & 1}


def _systemd_config(rootfs: Path, units: Path) -> dict[str, Any]:
    caps = sorted(_bounding() - DROPPED)
    ro = ["bind", "ro", "nosuid"]
    prefix = os.path.realpath(sys.base_prefix)  # .venv/bin/python links into it
    tmpfs = ["nosuid", "nodev"]
    return {
        "ociVersion": "1.3.0",
        "process": {
            "terminal": False, "user": {"uid": 0, "gid": 0},
            "args": [SYSTEMD, "--unit=sd-test.target", "--log-target=console"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "container=pyrunc"],
            "cwd": "/",
            "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
        },
        "root": {"path": str(rootfs), "readonly": True},
        "hostname": "sd-systemd",
        "mounts": [
            # pyrunc spec's, but for a writable cgroup2 at /sys/fs/cgroup (systemd's own)
            *(m for m in default_config()["mounts"] if m["destination"] != "/sys/fs/cgroup"),
            {"destination": "/sys/fs/cgroup", "type": "cgroup2", "source": "cgroup2",
             "options": ["nosuid", "noexec", "nodev", "rw"]},
            {"destination": "/usr", "type": "bind", "source": "/usr", "options": ro},
            {"destination": "/etc", "type": "bind", "source": "/etc", "options": ro},
            {"destination": "/etc/systemd/system", "type": "bind", "source": str(units),
             "options": ro},
            # nothing of the host's /run, /tmp or /var: systemd-tmpfiles cleans them
            *({"destination": d, "type": "tmpfs", "source": "tmpfs",
               "options": [*tmpfs, f"mode={mode}"]}
              for d, mode in (("/run", "755"), ("/tmp", "1777"), ("/var", "755"),
                              ("/var/tmp", "1777"), ("/var/log", "755"), ("/root", "700"))),
            {"destination": prefix, "type": "bind", "source": prefix, "options": ro},
            {"destination": str(REPO), "type": "bind", "source": str(REPO),
             "options": ["rbind", "ro", "nosuid"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in
                           ("pid", "network", "ipc", "uts", "mount", "cgroup")],
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
        },
    }


class Box:
    """The running systemd container: run commands in it, and pyrunc inside it."""

    def __init__(self, runtime: Runtime, container_id: str) -> None:
        self.runtime = runtime
        self.id = container_id

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        # output through files inside too: an inner `create` leaves its init holding them
        script = ('out=$(mktemp); "$@" >"$out" 2>&1 </dev/null; rc=$?; cat "$out"; '
                  'rm -f "$out"; exit $rc')
        return self.runtime("exec", self.id, "/bin/sh", "-c", script, "sh", *args,
                            timeout=timeout)

    def pyrunc(self, *args: str, log: str = "") -> subprocess.CompletedProcess[str]:
        debug = ("--debug", "--log", log) if log else ()
        return self.run(PYTHON, "-m", "pyrunc", "--root", INNER_ROOT, "--systemd-cgroup",
                        *debug, *args)

    def bundle(self, name: str, cgroups_path: str | None,
               resources: dict[str, Any] | None = None) -> str:
        config = busybox_config(["sleep", "1000"])
        if cgroups_path is not None:
            config["linux"]["cgroupsPath"] = cgroups_path
        config["linux"]["resources"].update(resources or {})
        directory = f"/tmp/bundles/{name}"
        proc = self.run("/bin/sh", "-c", 'mkdir -p "$1" && printf %s "$2" > "$1/config.json"',
                        "sh", directory, json.dumps(config))
        assert proc.returncode == 0, proc.stdout
        return directory

    def show(self, unit: str, *props: str) -> dict[str, str]:
        proc = self.run("systemctl", "show", "-p", ",".join(props), unit)
        assert proc.returncode == 0, proc.stdout
        return dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)

    def active_units(self) -> str:
        return self.run("systemctl", "list-units", "--all", "--no-legend", "--plain",
                        "--no-pager").stdout

    def exists(self, path: str) -> bool:
        return self.run("test", "-e", path).returncode == 0

    def inner_ids(self) -> list[str]:
        proc = self.run("/bin/sh", "-c", f"ls {INNER_ROOT} 2>/dev/null || true")
        return proc.stdout.split()


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    if not os.path.exists(SYSTEMD):
        pytest.fail(f"{SYSTEMD} is missing: install systemd (the package, not as the init)")
    base = tmp_path_factory.mktemp("sd-systemd")
    rootfs, units = base / "rootfs", base / "units"
    rootfs.mkdir()
    units.mkdir()
    for name in ("bin", "sbin", "lib", "lib64"):  # Debian 12 is merged-/usr
        (rootfs / name).symlink_to(f"usr/{name}")
    (units / "sd-test.target").write_text("[Unit]\nDescription=pyrunc test target\n")
    bundle = write_bundle(base / "bundle", _systemd_config(rootfs, units))
    runtime = Runtime(base / "root")
    box = Box(runtime, f"sd-systemd-{uuid.uuid4().hex[:8]}")
    try:
        with open(base / "systemd.log", "w") as log:
            created = _create(runtime, bundle, box.id, log)
        assert created.returncode == 0, (base / "systemd.log").read_text()
        started = runtime("start", box.id)
        assert started.returncode == 0, started.stderr
        # up once PID 1 listens on its private socket and has reached its target (no
        # failed unit expected: "degraded" fails too)
        listening = box.run("/bin/sh", "-c", "for i in $(seq 300); do "
                            "test -S /run/systemd/private && exit 0; sleep 0.1; done; exit 1")
        assert listening.returncode == 0, (base / "systemd.log").read_text()
        up = box.run("systemctl", "is-system-running", "--wait", timeout=120)
        assert up.stdout.strip() == "running", up.stdout + (base / "systemd.log").read_text()
        yield box
    finally:
        _halt(runtime, box.id)


def _create(runtime: Runtime, bundle: Path, container_id: str, log: Any
            ) -> subprocess.CompletedProcess[str]:
    """create with the container's stdout and stderr on a log file (systemd keeps them)."""
    proc = subprocess.run([*pyrunc_cmd(), "--root", str(runtime.root), "create", "-b",
                           str(bundle), container_id], stdin=subprocess.DEVNULL, stdout=log,
                          stderr=log, timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, "", "see systemd.log")


def _halt(runtime: Runtime, container_id: str) -> None:
    """SIGRTMIN+3 asks systemd to halt (it stops its units and exits); then delete."""
    if container_id in runtime.ids():
        runtime("kill", container_id, "37")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            state = runtime("state", container_id)
            if state.returncode != 0 or json.loads(state.stdout)["status"] == "stopped":
                break
            time.sleep(0.2)
        runtime("delete", "--force", container_id)
    assert container_id not in runtime.ids()


def _name() -> str:
    """Unique per test run: another run may use the same cgroups at the same time."""
    return uuid.uuid4().hex[:10]


def _init_cgroup(box: Box, container_id: str) -> str:
    state = json.loads(box.pyrunc("state", container_id).stdout)
    proc = box.run("cat", f"/proc/{state['pid']}/cgroup")
    return next(line[3:] for line in proc.stdout.splitlines() if line.startswith("0::"))


def test_create_makes_a_delegated_scope_and_delete_stops_it(box: Box) -> None:
    name = f"sd-{_name()}"
    unit = f"pyrunc-{name}.scope"
    cgroup = f"/system.slice/{unit}"
    bundle = box.bundle(name, f"system.slice:pyrunc:{name}")
    created = box.pyrunc("create", "-b", bundle, name, log=f"/tmp/{name}.log")
    assert created.returncode == 0, created.stdout
    try:
        # no dbus-daemon in this container: the manager's own socket, as go-systemd for root
        assert "systemd: connected through /run/systemd/private" in \
            box.run("cat", f"/tmp/{name}.log").stdout
        shown = box.show(unit, "ActiveState", "ControlGroup", "Delegate", "Slice",
                         "Description")
        assert shown == {"ActiveState": "active", "ControlGroup": cgroup, "Delegate": "yes",
                         "Slice": "system.slice", "Description": f"pyrunc container {name}"}
        assert _init_cgroup(box, name) == cgroup
        record = json.loads(box.run("cat", f"{INNER_ROOT}/{name}/state.json").stdout)
        assert record["cgroup"]["unit"] == unit
        assert record["cgroup"]["paths"] == {"": f"/sys/fs/cgroup{cgroup}"}
        assert box.pyrunc("start", name).returncode == 0
        assert json.loads(box.pyrunc("state", name).stdout)["status"] == "running"
        # the rest goes through cgroupfs in the unit's cgroup, as without systemd
        assert box.pyrunc("pause", name).returncode == 0
        assert box.run("cat", f"/sys/fs/cgroup{cgroup}/cgroup.freeze").stdout.strip() == "1"
        assert json.loads(box.pyrunc("state", name).stdout)["status"] == "paused"
        assert box.pyrunc("resume", name).returncode == 0
        assert json.loads(box.pyrunc("state", name).stdout)["status"] == "running"
        execed = box.pyrunc("exec", "--detach", name, "sleep", "1000")
        assert execed.returncode == 0, execed.stdout
        procs = box.run("cat", f"/sys/fs/cgroup{cgroup}/cgroup.procs").stdout.split()
        assert len(procs) == 2  # the init and the exec'd process, in the unit's cgroup
        assert box.pyrunc("kill", name, "KILL").returncode == 0
        deadline = time.monotonic() + 10
        while json.loads(box.pyrunc("state", name).stdout)["status"] != "stopped":
            assert time.monotonic() < deadline, "the killed container did not stop"
            time.sleep(0.1)
        deleted = box.pyrunc("delete", name)
        assert deleted.returncode == 0, deleted.stdout
    finally:
        box.pyrunc("delete", "--force", name)
    assert box.show(unit, "LoadState", "ActiveState") == {"LoadState": "not-found",
                                                         "ActiveState": "inactive"}
    assert not box.exists(f"/sys/fs/cgroup{cgroup}")
    assert name not in box.inner_ids()


def test_empty_cgroups_path_is_runc_scope_in_system_slice(box: Box) -> None:
    name = f"sd-{_name()}"
    unit = f"runc-{name}.scope"
    bundle = box.bundle(name, None)
    created = box.pyrunc("create", "-b", bundle, name)
    assert created.returncode == 0, created.stdout
    try:
        assert box.show(unit, "ActiveState", "ControlGroup") == {
            "ActiveState": "active", "ControlGroup": f"/system.slice/{unit}"}
        assert _init_cgroup(box, name) == f"/system.slice/{unit}"
    finally:
        deleted = box.pyrunc("delete", "--force", name)
    assert deleted.returncode == 0, deleted.stdout
    assert box.show(unit, "LoadState")["LoadState"] == "not-found"
    assert not box.exists(f"/sys/fs/cgroup/system.slice/{unit}")


def test_parent_slice_that_does_not_exist_yet(box: Box) -> None:
    """systemd loads a parent slice named in Slice= itself (runc relies on that too): the
    scope lands in /sdX.slice/sdX-y.slice/. The slices stay, as with runc (systemd keeps an
    active slice until it is stopped)."""
    name = f"sd-{_name()}"
    parent = f"sd{name[3:]}-inner.slice"
    unit = f"pyrunc-{name}.scope"
    cgroup = f"/sd{name[3:]}.slice/{parent}/{unit}"
    created = box.pyrunc("create", "-b", box.bundle(name, f"{parent}:pyrunc:{name}"), name)
    assert created.returncode == 0, created.stdout
    try:
        assert box.show(unit, "ActiveState", "ControlGroup", "Slice") == {
            "ActiveState": "active", "ControlGroup": cgroup, "Slice": parent}
        assert _init_cgroup(box, name) == cgroup
    finally:
        deleted = box.pyrunc("delete", "--force", name)
        box.run("systemctl", "stop", parent, f"sd{name[3:]}.slice")
    assert deleted.returncode == 0, deleted.stdout
    assert box.show(unit, "LoadState")["LoadState"] == "not-found"
    assert not box.exists(f"/sys/fs/cgroup{cgroup}")


def test_slice_name_makes_a_slice_unit(box: Box) -> None:
    name = f"sd-{_name()}"
    unit = f"system-sd{name[3:]}.slice"  # a dash nests: system-X.slice sits in system.slice
    bundle = box.bundle(name, f"system.slice:pyrunc:{unit}")
    created = box.pyrunc("create", "-b", bundle, name)
    assert created.returncode == 0, created.stdout
    try:
        assert box.show(unit, "ActiveState", "ControlGroup", "Wants") == {
            "ActiveState": "active", "ControlGroup": f"/system.slice/{unit}",
            "Wants": "system.slice"}
        assert _init_cgroup(box, name) == f"/system.slice/{unit}"
    finally:
        deleted = box.pyrunc("delete", "--force", name)
    assert deleted.returncode == 0, deleted.stdout
    assert unit not in box.active_units()
    assert not box.exists(f"/sys/fs/cgroup/system.slice/{unit}")


def test_slice_systemd_places_elsewhere_fails_and_leaves_nothing(box: Box) -> None:
    """sdX.slice is /sdX.slice to systemd, not /system.slice/sdX.slice as the path says:
    the ControlGroup check refuses it and the unit it made is stopped."""
    name = f"sd-{_name()}"
    unit = f"sd{name[3:]}.slice"
    bundle = box.bundle(name, f"system.slice:pyrunc:{unit}")
    created = box.pyrunc("create", "-b", bundle, name)
    assert created.returncode == 1
    assert created.stdout.splitlines() == [
        f"pyrunc: systemd unit {unit}: systemd placed it in /{unit}, not in "
        f"/system.slice/{unit} as --systemd-cgroup lays it out"]
    assert name not in box.inner_ids()
    assert unit not in box.active_units()
    assert not box.exists(f"/sys/fs/cgroup/{unit}")


def test_unit_that_exists_fails_create_and_is_left_alone(box: Box) -> None:
    first, second = f"sd-{_name()}", f"sd-{_name()}"
    path = f"system.slice:pyrunc:{first}"
    unit = f"pyrunc-{first}.scope"
    assert box.pyrunc("create", "-b", box.bundle(first, path), first).returncode == 0
    try:
        failed = box.pyrunc("create", "-b", box.bundle(second, path), second)
        assert failed.returncode == 1
        lines = failed.stdout.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"pyrunc: systemd unit {unit}: "), lines
        assert "already" in lines[0]  # systemd's own words: "was already loaded"
        assert second not in box.inner_ids()
        # the first container's unit is not the failed create's to stop
        assert box.show(unit, "ActiveState")["ActiveState"] == "active"
        assert _init_cgroup(box, first) == f"/system.slice/{unit}"
    finally:
        assert box.pyrunc("delete", "--force", first).returncode == 0
    assert box.show(unit, "LoadState")["LoadState"] == "not-found"


def test_through_the_system_bus(box: Box) -> None:
    """With a dbus-daemon running, the driver goes through the system bus (its JobRemoved
    signals are routed by the daemon, to subscribers only)."""
    started = box.run("systemctl", "start", "dbus.service")
    assert started.returncode == 0, started.stdout
    name = f"sd-{_name()}"
    unit = f"pyrunc-{name}.scope"
    try:
        bundle = box.bundle(name, f"system.slice:pyrunc:{name}")
        created = box.pyrunc("create", "-b", bundle, name, log=f"/tmp/{name}.log")
        assert created.returncode == 0, created.stdout
        assert "systemd: connected through the system bus" in \
            box.run("cat", f"/tmp/{name}.log").stdout
        assert box.show(unit, "ActiveState")["ActiveState"] == "active"
        assert _init_cgroup(box, name) == f"/system.slice/{unit}"
        deleted = box.pyrunc("delete", "--force", name)
        assert deleted.returncode == 0, deleted.stdout
        assert box.show(unit, "LoadState")["LoadState"] == "not-found"
    finally:
        box.pyrunc("delete", "--force", name)
        box.run("systemctl", "stop", "dbus.socket", "dbus.service")


def test_failed_cgroupfs_step_stops_the_unit(box: Box) -> None:
    """pids.limit goes to systemd (TasksMax) and then to pids.max, which this cgroup2 has
    not (on the hybrid VM the pids controller is v1's): create fails naming the field, and
    the unit it made is stopped."""
    name = f"sd-{_name()}"
    unit = f"pyrunc-{name}.scope"
    controllers = box.run("cat", "/sys/fs/cgroup/cgroup.controllers").stdout.split()
    if "pids" in controllers:
        pytest.skip("this cgroup2 has the pids controller: pids.limit would succeed")
    bundle = box.bundle(name, f"system.slice:pyrunc:{name}", {"pids": {"limit": 10}})
    created = box.pyrunc("create", "-b", bundle, name)
    assert created.returncode == 1
    assert created.stdout.splitlines() == [
        "pyrunc: linux.resources.pids: pids controller not available"]
    assert name not in box.inner_ids()
    assert box.show(unit, "LoadState")["LoadState"] == "not-found"
    assert not box.exists(f"/sys/fs/cgroup/system.slice/{unit}")


_START_WITH_RESOURCES = """
import json, subprocess, sys
from pyrunc.linux.cgroups import _systemd
unit, resources = sys.argv[1], json.loads(sys.argv[2])
sleeper = subprocess.Popen(["sleep", "1000"])
try:
    _systemd.start_unit(unit, "system.slice", sleeper.pid, "props", resources, True,
                        "/system.slice/" + unit)
    shown = subprocess.run(["systemctl", "show", "-p", sys.argv[3], unit],
                           capture_output=True, text=True).stdout
    _systemd.set_properties(unit, {"pids": {"limit": 20}}, True)  # what `update` does
    updated = subprocess.run(["systemctl", "show", "-p", "TasksMax", unit],
                             capture_output=True, text=True).stdout
    with open(f"/proc/{sleeper.pid}/cgroup") as f:
        print(json.dumps({"show": shown, "updated": updated, "cgroup": f.read()}))
finally:
    sleeper.kill()
    sleeper.wait()
    _systemd.stop_unit(unit)
"""


def test_resources_become_unit_properties(box: Box) -> None:
    """What StartTransientUnit gets from linux.resources, read back from systemd. (Through
    the driver's start_unit: `create` would then fail writing pids.max and cpu.weight, which
    this cgroup2 has not, see above.)"""
    unit = f"pyrunc-sd-{_name()}.scope"
    resources = {"pids": {"limit": 10}, "cpu": {"shares": 1024, "quota": 25000,
                                                "period": 100000, "cpus": "0"},
                 "memory": {"limit": 64 << 20}}
    props = "TasksMax,CPUWeight,CPUQuotaPerSecUSec,CPUQuotaPeriodUSec,MemoryMax,AllowedCPUs," \
            "Delegate,ActiveState"
    proc = box.run(PYTHON, "-c", _START_WITH_RESOURCES, unit, json.dumps(resources), props)
    assert proc.returncode == 0, proc.stdout
    result = json.loads(proc.stdout)
    shown = dict(line.split("=", 1) for line in result["show"].splitlines())
    assert shown == {"TasksMax": "10", "CPUWeight": str(1 + (1024 - 2) * 9999 // 262142),
                     "CPUQuotaPerSecUSec": "250ms", "CPUQuotaPeriodUSec": "100ms",
                     "MemoryMax": str(64 << 20), "AllowedCPUs": "0", "Delegate": "yes",
                     "ActiveState": "active"}
    assert f"0::/system.slice/{unit}\n" in result["cgroup"]
    assert result["updated"] == "TasksMax=20\n"
    assert box.show(unit, "LoadState")["LoadState"] == "not-found"


# --- the host: no systemd --------------------------------------------------------------------

def test_pure_cgroup2_the_init_is_cloned_into_its_cgroup(box: Box) -> None:
    """Inside the box pyrunc sees a pure cgroup2 host. Without --systemd-cgroup (the cgroupfs
    driver, as most engines run pyrunc) the init is cloned straight into its cgroup
    (clone3 CLONE_INTO_CGROUP), and start, pause and delete work on it."""
    name = f"v2-{_name()}"
    cgroup = f"/pyrunc-v2/{name}"
    bundle = box.bundle(name, cgroup)

    def pyrunc(*args: str) -> subprocess.CompletedProcess[str]:
        return box.run(PYTHON, "-m", "pyrunc", "--root", INNER_ROOT, *args)

    created = pyrunc("create", "-b", bundle, name)
    assert created.returncode == 0, created.stdout
    try:
        record = json.loads(box.run("cat", f"{INNER_ROOT}/{name}/state.json").stdout)
        assert record["cgroup"]["mode"] == "v2"
        assert record["cgroup"]["paths"] == {"": f"/sys/fs/cgroup{cgroup}"}
        assert _init_cgroup(box, name) == cgroup
        assert pyrunc("start", name).returncode == 0
        assert pyrunc("pause", name).returncode == 0
        assert box.run("cat", f"/sys/fs/cgroup{cgroup}/cgroup.freeze").stdout.strip() == "1"
        assert pyrunc("resume", name).returncode == 0
        deleted = pyrunc("delete", "--force", name)
        assert deleted.returncode == 0, deleted.stdout
    finally:
        pyrunc("delete", "--force", name)
        box.run("rmdir", "/sys/fs/cgroup/pyrunc-v2")
    assert not box.exists(f"/sys/fs/cgroup{cgroup}")
    assert name not in box.inner_ids()


def test_host_without_systemd_lays_out_the_path(runtime: Runtime, make_bundle: Any) -> None:
    """No /run/systemd/system here: --systemd-cgroup writes the unit's cgroups itself, and
    the record names no unit (so `delete` never talks D-Bus)."""
    assert not _systemd.booted(), "this test is for a host without systemd"
    name = f"sd-{_name()}"
    config = busybox_config(["sleep", "1000"])
    config["linux"]["cgroupsPath"] = f"system.slice:pyrunc:{name}"
    bundle = make_bundle(config=config)
    created = runtime("create", "-b", str(bundle), name, global_args=("--systemd-cgroup",))
    assert created.returncode == 0, created.stderr
    record = json.loads((runtime.root / name / "state.json").read_text())["cgroup"]
    assert "unit" not in record
    dirs = list(record["paths"].values())
    assert dirs and all(d.endswith(f"/system.slice/pyrunc-{name}.scope") for d in dirs)
    assert all(os.path.isdir(d) for d in dirs)
    assert runtime("delete", "--force", name).returncode == 0
    assert not any(os.path.exists(d) for d in dirs)


def test_unit_properties_v2() -> None:
    props = _systemd.unit_properties("pyrunc-x.scope", "system.slice", 42, "x", {
        "memory": {"limit": 1 << 30, "reservation": 1 << 20, "swap": 2 << 30},
        "cpu": {"shares": 2, "quota": 1001, "period": 10000, "cpus": "0-2,9", "mems": "0"},
        "pids": {"limit": -1}}, v2=True, version=252)
    assert props == [
        ("Description", "s", "pyrunc container x"), ("Slice", "s", "system.slice"),
        ("Delegate", "b", True), ("PIDs", "au", [42]),
        ("MemoryAccounting", "b", True), ("CPUAccounting", "b", True),
        ("IOAccounting", "b", True), ("TasksAccounting", "b", True),
        ("DefaultDependencies", "b", False),
        ("MemoryMax", "t", 1 << 30), ("MemoryLow", "t", 1 << 20),
        ("MemorySwapMax", "t", 1 << 30), ("CPUWeight", "t", 1),
        ("CPUQuotaPeriodUSec", "t", 10000),
        ("CPUQuotaPerSecUSec", "t", 110000),  # 100.1 ms a second, up to whole 10 ms
        ("TasksMax", "t", 2**64 - 1),
        ("AllowedCPUs", "ay", bytes([0b111, 0b10])), ("AllowedMemoryNodes", "ay", b"\x01")]


def test_unit_properties_v1_slice_and_old_systemd() -> None:
    props = _systemd.unit_properties("a-b.slice", "a.slice", 42, "x", {
        "memory": {"limit": -1}, "cpu": {"shares": 512, "quota": -1, "period": 50000,
                                          "cpus": "1"}}, v2=False, version=240)
    assert props == [
        ("Description", "s", "pyrunc container x"), ("Wants", "as", ["a.slice"]),
        ("MemoryAccounting", "b", True), ("CPUAccounting", "b", True),
        ("BlockIOAccounting", "b", True), ("TasksAccounting", "b", True),
        ("DefaultDependencies", "b", False),
        ("MemoryLimit", "t", 2**64 - 1), ("CPUShares", "t", 512),
        ("CPUQuotaPerSecUSec", "t", 2**64 - 1)]  # no period property before 242, cpus 244


def test_bad_cpuset_list_names_the_field() -> None:
    with pytest.raises(Exception, match=re.escape('linux.resources.cpu.cpus: "3-1" is not')):
        _systemd.resource_properties({"cpu": {"cpus": "3-1"}}, True, 252)


def test_hot_commands_stay_off_cffi_without_a_unit() -> None:
    """delete/state of a record without "unit" must not import the driver (cffi)."""
    code = ("import sys; from pyrunc.linux import cgroups; "
            "cgroups.remove({'paths': {}}); "
            "print('_systemd' in str(sorted(sys.modules)), 'cffi' in sys.modules)")
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]



def test_cpuset_lists_become_bitmasks() -> None:
    assert _systemd._bits("f", "0") == b"\x01"
    assert _systemd._bits("f", "1-3, 8") == bytes([0b1110, 0b1])
    assert _systemd._bits("f", "15,0-0") == bytes([1, 0x80])
    for bad in ("", "a", "-1", "2-1", "0-70000", ","):
        with pytest.raises(Exception, match=f'f: "{re.escape(bad)}" '):
            _systemd._bits("f", bad)


def test_delete_of_a_unit_record_without_systemd(tmp_path: Path) -> None:
    """A record naming a unit, read where systemd no longer runs (the host): nothing to stop
    over D-Bus, the cgroup directories are still removed."""
    assert not _systemd.booted(), "this test is for a host without systemd"
    from pyrunc.linux import cgroups

    directory = tmp_path / "cg"  # stands for the unit's cgroup (rmdir is all remove does)
    directory.mkdir()
    cgroups.remove({"version": 2, "mode": "v2", "paths": {"": str(directory)},
                    "unit": "pyrunc-gone.scope"})
    assert not directory.exists()
