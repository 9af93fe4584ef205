"""The cgroup v2 (unified) logic against a fake cgroupfs: a tmp dir standing for the cgroup2
mount, with the files the kernel would create. The layout is injected (cgroups.Layout); the
eBPF device step is replaced by a recorder here (it is tested for real in test_cgroups.py)."""

from __future__ import annotations

import json
import os
import re
import select
from pathlib import Path
from typing import Any

import pytest

from pyrunc.errors import PyruncError
from pyrunc.linux import cgroups
from pyrunc.linux.cgroups import _bpf, _oom

CONTROLLERS = "cpuset cpu io memory hugetlb pids rdma"
LEAF_FILES = ["cgroup.procs", "cgroup.freeze", "memory.max", "memory.swap.max", "memory.low",
              "memory.current", "cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle",
              "cpuset.cpus", "cpuset.mems", "pids.max", "io.weight", "io.max",
              "hugetlb.2MB.max", "hugetlb.2MB.rsvd.max", "rdma.max", "memory.high"]


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text(CONTROLLERS + "\n")
    (root / "cgroup.subtree_control").write_text("")
    leaf = root / "c1"
    leaf.mkdir()
    (leaf / "cgroup.controllers").write_text(CONTROLLERS + "\n")
    for name in LEAF_FILES:
        (leaf / name).write_text("")
    attached: list[tuple[str, list[dict[str, Any]]]] = []
    monkeypatch.setattr(_bpf, "attach_device_filter",
                        lambda d, rules: attached.append((d, rules)))
    layout = cgroups.Layout({"": str(root)}, {"": "/"})
    return {"root": root, "leaf": leaf, "layout": layout, "attached": attached}


def _config(**resources: Any) -> dict[str, Any]:
    return {"linux": {"resources": resources}}


def _file(fake: dict[str, Any], name: str) -> str:
    return Path(fake["leaf"], name).read_text()


def test_layout_mode() -> None:
    assert cgroups.Layout({"": "/sys/fs/cgroup"}).mode == "v2"
    assert cgroups.Layout({"": "/x", "name=systemd": "/y"}).mode == "v2"
    assert cgroups.Layout({"": "/x/unified", "memory": "/x/memory"}).mode == "hybrid"
    assert cgroups.Layout({"memory": "/x/memory", "cpu,cpuacct": "/x/cpu"}).mode == "v1"


def test_mounts_parsed_from_mountinfo(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(
        "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n"
        "50 31 0:38 /sub /mnt/x rw - cgroup2 cgroup2 rw\n")
    from pyrunc.linux.cgroups import _mounts

    assert _mounts(str(info)) == {"cpu,cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
                                  "": "/sys/fs/cgroup/unified"}


def test_join_writes_v2_files_with_conversions(fake: dict[str, Any]) -> None:
    config = _config(
        memory={"limit": 100 << 20, "swap": 150 << 20, "reservation": 50 << 20,
                "kernel": 1, "kernelTCP": 1},
        cpu={"shares": 1024, "quota": 50000, "period": 100000, "burst": 1000, "idle": 1,
             "cpus": "0-1", "mems": "0"},
        pids={"limit": -1},
        blockIO={"weight": 500,
                 "weightDevice": [{"major": 8, "minor": 0, "weight": 1000}],
                 "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}],
                 "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 10}]},
        hugepageLimits=[{"pageSize": "2MB", "limit": 4 << 20}],
        rdma={"mlx5_0": {"hcaHandles": 3, "hcaObjects": 100}},
        unified={"memory.high": "90000000"})
    record = cgroups.join(config, "c1", 4242, layout=fake["layout"])
    assert record == {"version": 2, "mode": "v2", "paths": {"": str(fake["leaf"])}}
    expected = {
        "memory.max": str(100 << 20), "memory.swap.max": str(50 << 20),
        "memory.low": str(50 << 20), "cpu.weight": "39", "cpu.max": "50000 100000",
        "cpu.max.burst": "1000", "cpu.idle": "1", "cpuset.cpus": "0-1", "cpuset.mems": "0",
        "pids.max": "max", "hugetlb.2MB.max": str(4 << 20),
        "hugetlb.2MB.rsvd.max": str(4 << 20), "rdma.max": "mlx5_0 hca_handle=3 hca_object=100",
        "memory.high": "90000000", "cgroup.procs": "4242",
        # one write per line: the fake file keeps the last one
        "io.max": "8:0 wiops=10", "io.weight": "8:0 10000",
    }
    assert {k: _file(fake, k) for k in expected} == expected
    # every controller the parent offers is enabled for the children, as runc does
    assert Path(fake["root"], "cgroup.subtree_control").read_text().startswith("+")
    # devices: runc's defaults go into an eBPF program on the container's cgroup
    (directory, rules), = fake["attached"]
    assert directory == str(fake["leaf"]) and rules[0] == {
        "allow": True, "type": "c", "major": -1, "minor": -1, "access": "m"}


def test_io_weight_plain_and_bfq(fake: dict[str, Any]) -> None:
    record = cgroups.join(_config(blockIO={"weight": 500}), "c1", 1, layout=fake["layout"])
    assert _file(fake, "io.weight") == "4950"
    Path(fake["leaf"], "io.bfq.weight").write_text("")
    cgroups.update(record, {"blockIO": {"weight": 500}})
    assert _file(fake, "io.bfq.weight") == "500"  # bfq takes the v1 scale


def test_cpu_quota_unlimited_and_period_only(fake: dict[str, Any]) -> None:
    record = cgroups.join(_config(cpu={"quota": -1}), "c1", 1, layout=fake["layout"])
    assert _file(fake, "cpu.max") == "max"
    cgroups.update(record, {"cpu": {"period": 250000}})
    assert _file(fake, "cpu.max") == "max 250000"


@pytest.mark.parametrize("resources,message", [
    ({"memory": {"swap": 100}}, "linux.resources.memory.swap: cannot set a swap limit"),
    ({"memory": {"limit": 200, "swap": 100}}, "must be >= the memory limit"),
    ({"memory": {"swappiness": 10}}, "linux.resources.memory.swappiness: not supported"),
    ({"cpu": {"realtimeRuntime": 10}}, "linux.resources.cpu.realtimeRuntime: realtime"),
    ({"blockIO": {"leafWeight": 10}}, "linux.resources.blockIO.leafWeight: not supported"),
    ({"network": {"classID": 1}}, "linux.resources.network.classID: net_cls controller not "
                                  "available (cgroup v2 has none)"),
    ({"hugepageLimits": [{"pageSize": "1GB", "limit": 1}]},
     "linux.resources.hugepageLimits[0].pageSize: hugetlb.1GB.max not available"),
    ({"unified": {"misc.max": "1"}}, "linux.resources.unified.misc.max: misc controller"),
    ({"unified": {"../x": "1"}}, 'linux.resources.unified: "../x" is not a cgroup file name'),
])
def test_v2_errors_name_the_field(fake: dict[str, Any], resources: dict[str, Any],
                                  message: str) -> None:
    with pytest.raises(PyruncError, match=re.escape(message)):
        cgroups.join(_config(**resources), "c1", 1, layout=fake["layout"])
    assert _file(fake, "cgroup.procs") == ""  # nothing moved in


def test_failed_join_removes_what_it_created(fake: dict[str, Any]) -> None:
    # a new cgroup below our own: join makes a/ and a/b/, finds no memory controller there
    # (the fake kernel populates nothing) and must take both back
    with pytest.raises(PyruncError, match=re.escape(
            "linux.resources.memory: memory controller not available")):
        cgroups.join({"linux": {"cgroupsPath": "/a/b", "resources": {"memory": {"limit": 1}}}},
                     "x", 1, layout=fake["layout"])
    assert not Path(fake["root"], "a").exists()


def test_v1_on_v2_only_fields(fake: dict[str, Any]) -> None:
    record = cgroups.join(_config(), "c1", 1, layout=fake["layout"])
    with pytest.raises(PyruncError, match=re.escape("memory.disableOOMKiller")):
        cgroups.update(record, {"memory": {"disableOOMKiller": True}})


def test_unified_on_pure_v1_is_an_error(tmp_path: Path) -> None:
    from pyrunc.linux.cgroups import _resources

    target = _resources.Target({"version": 1, "mode": "v1",
                                "paths": {"memory": str(tmp_path)}})
    with pytest.raises(PyruncError, match=re.escape("unified: cgroup v2 is not mounted")):
        _resources.plan({"unified": {"memory.max": "1"}}, target, defaults=False)


def test_update_replaces_device_program(fake: dict[str, Any]) -> None:
    record = cgroups.join(_config(), "c1", 1, layout=fake["layout"])
    cgroups.update(record, {"devices": [{"allow": False, "access": "rwm"}]})
    assert len(fake["attached"]) == 2
    assert fake["attached"][1][1] == [{"allow": False, "type": "a", "major": -1, "minor": -1,
                                       "access": "rwm"}]  # update: no defaults appended


def test_freeze_thaw_v2(fake: dict[str, Any]) -> None:
    record = cgroups.join(_config(), "c1", 1, layout=fake["layout"])
    Path(fake["leaf"], "cgroup.events").write_text("populated 1\nfrozen 1\n")
    cgroups.freeze(record)
    assert _file(fake, "cgroup.freeze") == "1" and cgroups.is_frozen(record)
    cgroups.thaw(record)
    assert _file(fake, "cgroup.freeze") == "0" and not cgroups.is_frozen(record)


def test_freeze_times_out_when_never_frozen(fake: dict[str, Any]) -> None:
    record = cgroups.join(_config(), "c1", 1, layout=fake["layout"])
    Path(fake["leaf"], "cgroup.events").write_text("populated 1\nfrozen 0\n")
    with pytest.raises(PyruncError, match="did not freeze"):
        cgroups.freeze(record, timeout=0.1)
    assert _file(fake, "cgroup.freeze") == "0"  # given back thawed


def test_stats_v2_shape(fake: dict[str, Any]) -> None:
    record = cgroups.join(_config(), "c1", 1, layout=fake["layout"])
    leaf = fake["leaf"]
    (leaf / "cpu.stat").write_text("usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n"
                                   "nr_periods 4\nnr_throttled 1\nthrottled_usec 7\n")
    (leaf / "memory.current").write_text("4096\n")
    (leaf / "memory.max").write_text("max\n")
    (leaf / "memory.stat").write_text("anon 1024\nfile 2048\n")
    (leaf / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    (leaf / "memory.swap.current").write_text("10\n")
    (leaf / "memory.swap.max").write_text("max\n")
    (leaf / "pids.current").write_text("2\n")
    (leaf / "pids.max").write_text("max\n")
    (leaf / "io.stat").write_text("8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n")
    data = cgroups.stats(record)
    assert data["cpu"] == {"usage": {"total": 1_500_000, "kernel": 500_000, "user": 1_000_000},
                           "throttling": {"periods": 4, "throttledPeriods": 1,
                                          "throttledTime": 7000}}
    assert data["memory"]["cache"] == 2048 and data["memory"]["raw"]["anon"] == 1024
    assert data["memory"]["usage"] == {"limit": (1 << 64) - 1, "usage": 4096, "failcnt": 3}
    assert data["memory"]["swap"]["usage"] == 4106
    assert data["pids"] == {"current": 2}
    assert data["blkio"]["ioServiceBytesRecursive"] == [
        {"major": 8, "op": "Read", "value": 100}, {"major": 8, "op": "Write", "value": 200}]
    json.dumps(data)


def test_oom_watcher_v2(fake: dict[str, Any]) -> None:
    record = cgroups.join(_config(), "c1", 1, layout=fake["layout"])
    events = fake["leaf"] / "memory.events"
    events.write_text("oom 0\noom_kill 0\n")
    with _oom.OomWatcher(record) as watcher:
        assert watcher.read() == 0
        assert select.select([watcher], [], [], 0)[0] == []
        events.write_text("oom 2\noom_kill 2\n")
        assert select.select([watcher], [], [], 5)[0] == [watcher]
        assert watcher.read() == 2
        assert watcher.read() == 0


def test_add_process_and_pids(fake: dict[str, Any]) -> None:
    record = cgroups.join(_config(), "c1", 1, layout=fake["layout"])
    cgroups.add_process(record, 77)
    assert _file(fake, "cgroup.procs") == "77"
    assert cgroups.pids(record) == [77]


def test_features() -> None:
    assert cgroups.features() == {"v1": True, "v2": True, "systemd": True,
                                  "systemdUser": False, "rdma": True}


def test_hybrid_enables_only_controllers_v1_lacks(tmp_path: Path) -> None:
    unified = tmp_path / "unified"
    unified.mkdir()
    (unified / "cgroup.controllers").write_text("memory hugetlb\n")
    (unified / "cgroup.subtree_control").write_text("")
    memory = tmp_path / "memory"
    memory.mkdir()
    layout = cgroups.Layout({"": str(unified), "memory": str(memory)}, {"": "/", "memory": "/"})
    from pyrunc.linux.cgroups import _enable_controllers

    os.mkdir(unified / "c1")
    _enable_controllers(layout, "hybrid", str(unified / "c1"))
    assert (unified / "cgroup.subtree_control").read_text() == "+hugetlb"
