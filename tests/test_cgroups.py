"""cgroups on this host (hybrid: v1 controllers, hugetlb in the cgroup2 mount at
/sys/fs/cgroup/unified), checked with real containers through the CLI, plus the eBPF device
program on the real cgroup2 hierarchy and the value conversions.

Container ids are unique per run: the default cgroup path <own cgroup>/<id> is shared by
concurrent test runs."""

from __future__ import annotations

import errno
import itertools
import json
import os
import select
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import Runtime, busybox_config, cgroup_dirs, pyrunc_cmd

from pyrunc.errors import PyruncError
from pyrunc.linux import cgroups
from pyrunc.linux.cgroups import _bpf, _oom, _resources

_counter = itertools.count()
UNIFIED = "/sys/fs/cgroup/unified"
MODE = cgroups.Layout.detect().mode


def _id() -> str:
    return f"cg-{os.getpid()}-{next(_counter)}"


def _record(runtime: Runtime, container_id: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((runtime.root / container_id / "state.json").read_text())
    return doc["cgroup"]


def _read(directory: str, name: str) -> str:
    return Path(directory, name).read_text().strip()


def _config(script: str, **resources: Any) -> dict[str, Any]:
    config = busybox_config(["sh", "-c", script])
    config["linux"]["resources"].update(resources)
    return config


@pytest.fixture
def created(runtime: Runtime, make_bundle: Callable[..., Path]
            ) -> Iterator[Callable[..., tuple[str, dict[str, Any]]]]:
    """create a container (sleeping) with the given resources; its id and cgroup record."""
    made: list[str] = []

    def create(config: dict[str, Any] | None = None, **resources: Any
               ) -> tuple[str, dict[str, Any]]:
        container_id = _id()
        bundle = make_bundle(config=config or _config("exec sleep 100", **resources))
        proc = runtime("create", "-b", str(bundle), container_id)
        assert proc.returncode == 0, proc.stderr
        made.append(container_id)
        return container_id, _record(runtime, container_id)

    yield create
    for container_id in made:
        runtime("delete", "--force", container_id)
        assert cgroup_dirs(container_id) == []


needs_hybrid = pytest.mark.skipif(MODE != "hybrid", reason="written for this hybrid host")


# -- real containers -----------------------------------------------------------------------

@needs_hybrid
def test_mode_and_paths(created: Callable[..., tuple[str, dict[str, Any]]]) -> None:
    container_id, record = created()
    assert record["mode"] == "hybrid" and record["version"] == 1
    own = dict(line.split(":", 2)[1:] for line in
               Path("/proc/self/cgroup").read_text().splitlines())
    assert record["paths"]["memory"] == os.path.normpath(
        f"/sys/fs/cgroup/memory/{own['memory']}/{container_id}")
    assert record["paths"][""] == f"{UNIFIED}/{container_id}"


@pytest.mark.parametrize("userns", [False, True], ids=["init-joins-itself", "user-namespace"])
def test_init_is_in_every_cgroup_of_its_record(
        created: Callable[..., tuple[str, dict[str, Any]]], runtime: Runtime,
        userns: bool) -> None:
    """Whoever moves it (the init itself, by `tasks` and CLONE_INTO_CGROUP; or, with a user
    namespace, pyrunc by cgroup.procs), the waiting init is in each of its cgroups, v1 and
    v2 alike, before create returns."""
    config = _config("exec sleep 100")
    if userns:
        config["linux"]["namespaces"].append({"type": "user"})
        config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    container_id, record = created(config)
    pid = runtime.state(container_id)["pid"]
    assert record["paths"]
    for directory in record["paths"].values():
        assert str(pid) in _read(directory, "cgroup.procs").split(), directory


# Runs a command under a seccomp filter that answers clone3 with ENOSYS, as older container
# engines' default profiles do (and as a kernel before 5.3 would).
NO_CLONE3 = """
import ctypes, os, sys
lib = ctypes.CDLL("libseccomp.so.2")
lib.seccomp_init.restype = ctypes.c_void_p
lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
lib.seccomp_load.argtypes = [ctypes.c_void_p]
ctx = lib.seccomp_init(0x7fff0000)  # SCMP_ACT_ALLOW
nr = lib.seccomp_syscall_resolve_name(b"clone3")
assert nr > 0 and lib.seccomp_rule_add(ctx, 0x00050000 | 38, nr, 0) == 0  # ERRNO(ENOSYS)
assert lib.seccomp_load(ctx) == 0
os.execv(sys.argv[1], sys.argv[1:])
"""


@needs_hybrid
def test_init_enters_its_cgroup2_cgroup_without_clone3(runtime: Runtime, tmp_path: Path,
                                                       make_bundle: Callable[..., Path]) -> None:
    """Where clone3 is refused, the init is cloned the old way and enters its cgroup2 cgroup
    itself: create still works, and the init is in every cgroup of its record."""
    import sys

    container_id = f"noclone3-{os.getpid()}"
    bundle = make_bundle(["sleep", "100"])
    with open(tmp_path / "create.err", "w+") as err:
        created = subprocess.run(
            [sys.executable, "-c", NO_CLONE3, *pyrunc_cmd(), "--root", str(runtime.root),
             "create", "-b", str(bundle), container_id],
            stdin=subprocess.DEVNULL, stdout=err, stderr=err, timeout=60)
        err.seek(0)
        assert created.returncode == 0, err.read()
    try:
        record = _record(runtime, container_id)
        pid = str(runtime.state(container_id)["pid"])
        for directory in record["paths"].values():
            assert pid in _read(directory, "cgroup.procs").split(), directory
    finally:
        assert runtime("delete", "--force", container_id).returncode == 0
    assert cgroup_dirs(container_id) == []


@pytest.mark.parametrize("case", ["itself", "user-namespace", "paused"])
def test_exec_process_is_in_every_cgroup_of_the_container(
        created: Callable[..., tuple[str, dict[str, Any]]], runtime: Runtime, tmp_path: Path,
        case: str) -> None:
    """exec's process enters the container's cgroups by itself, or, with a user namespace or
    into a paused container (--ignore-paused), pyrunc moves it in by pid. Into a paused
    container the process is frozen until `resume`, and exec waits for it, as runc's."""
    config = _config("exec sleep 100")
    if case == "user-namespace":
        config["linux"]["namespaces"].append({"type": "user"})
        config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    container_id, record = created(config)
    assert runtime("start", container_id).returncode == 0
    flags = []
    if case == "paused":
        assert runtime("pause", container_id).returncode == 0
        flags = ["--ignore-paused"]
    pid_file = tmp_path / "exec.pid"
    args = ["exec", "--detach", "--pid-file", str(pid_file), *flags, container_id,
            "sleep", "100"]
    with open(tmp_path / "exec.err", "w+") as err:
        execing = subprocess.Popen([*pyrunc_cmd(), "--root", str(runtime.root), *args],
                                   stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        if case == "paused":
            assert runtime("resume", container_id).returncode == 0
        assert execing.wait(timeout=30) == 0, err.seek(0) or err.read()
    pid = pid_file.read_text().strip()
    for directory in record["paths"].values():
        assert pid in _read(directory, "cgroup.procs").split(), directory


def test_memory_limit_oom_kills(runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    # the shell holds 64 MiB in a variable: more than the 32 MiB limit (no swap either)
    script = 'x=$(head -c 67108864 /dev/zero | tr "\\0" a); echo survived ${#x}'
    limit = 32 << 20
    bundle = make_bundle(config=_config(script, memory={"limit": limit, "swap": limit}))
    proc = runtime("run", "-b", str(bundle), _id())
    assert "survived" not in proc.stdout
    assert proc.returncode == 137, proc.stderr  # SIGKILL from the OOM killer


def test_memory_limit_too_low_for_the_init_names_the_oom_killer(
        runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    # the init is OOM-killed in its new cgroup before it is set up: say so, not just "exited"
    container_id = _id()
    bundle = make_bundle(config=_config("true", memory={"limit": 4096}))
    proc = runtime("create", "-b", str(bundle), container_id)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "pyrunc: the container init exited before it was set up: the OOM killer killed it "
        "(linux.resources.memory.limit is 4096 bytes)")
    assert runtime.ids() == []
    assert cgroup_dirs(container_id) == []


def test_memory_small_allocation_survives(runtime: Runtime,
                                          make_bundle: Callable[..., Path]) -> None:
    script = 'x=$(head -c 1048576 /dev/zero | tr "\\0" a); echo survived ${#x}'
    bundle = make_bundle(config=_config(script, memory={"limit": 32 << 20}))
    proc = runtime("run", "-b", str(bundle), _id())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "survived 1048576\n"


def test_oom_watcher_counts_kills(runtime: Runtime,
                                  created: Callable[..., tuple[str, dict[str, Any]]]) -> None:
    limit = 32 << 20
    script = 'sleep 1; sh -c \'x=$(head -c 67108864 /dev/zero | tr "\\0" a)\'; exec sleep 100'
    container_id, record = created(_config(script, memory={"limit": limit, "swap": limit}))
    with _oom.OomWatcher(record) as watcher:
        assert watcher.read() == 0
        assert runtime("start", container_id).returncode == 0
        ready, _, _ = select.select([watcher], [], [], 20)
        assert ready, "no OOM notification"
        time.sleep(0.2)
        assert watcher.read() >= 1
    data = cgroups.stats(record)
    assert data["memory"]["usage"]["limit"] == limit
    assert data["memory"]["usage"]["max"] >= limit - (1 << 20)  # it reached the limit


def test_pids_limit_stops_fork_bomb(runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    # the inner shell dies at the first failed fork; the outer one reads with builtins only
    script = ("sh -c 'i=0; while [ $i -lt 30 ]; do sleep 30 & i=$((i+1)); done'; "
              "read c < /sys/fs/cgroup/pids/pids.current; "
              "read m < /sys/fs/cgroup/pids/pids.max; echo $c $m")
    bundle = make_bundle(config=_config(script, pids={"limit": 10}))
    proc = runtime("run", "-b", str(bundle), _id())
    current, maximum = proc.stdout.split()
    assert maximum == "10" and int(current) <= 10
    assert "fork" in proc.stderr.lower() or "resource temporarily" in proc.stderr.lower()


def test_pids_limit_of_one_is_the_container_process_alone(
        runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    """Only the init is ever in the container's cgroups, never pyrunc-init's stage 1 beside
    it: a pids limit of 1 leaves room for exactly the container's process (as with runc)."""
    script = "read c < /sys/fs/cgroup/pids/pids.current; echo $c; exec sh -c 'sleep 1 &'"
    proc = runtime("run", "-b", str(make_bundle(config=_config(script, pids={"limit": 1}))),
                   _id())
    assert proc.stdout.split() == ["1"], (proc.stdout, proc.stderr)
    assert "can't fork" in proc.stderr  # and the limit holds


def test_cpu_and_cpuset_files(created: Callable[..., tuple[str, dict[str, Any]]]) -> None:
    _, record = created(cpu={"shares": 512, "quota": 50000, "period": 200000, "burst": 1000,
                             "cpus": "0", "mems": "0", "idle": 0})
    cpu = _resources.Target(record).directory("cpu")
    assert _read(cpu, "cpu.shares") == "512"
    assert _read(cpu, "cpu.cfs_quota_us") == "50000"
    assert _read(cpu, "cpu.cfs_period_us") == "200000"
    assert _read(cpu, "cpu.cfs_burst_us") == "1000"
    cpuset = _resources.Target(record).directory("cpuset")
    assert _read(cpuset, "cpuset.cpus") == "0" and _read(cpuset, "cpuset.mems") == "0"


def test_cpu_shares_out_of_range(runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    container_id = _id()
    bundle = make_bundle(config=_config("true", cpu={"shares": 1 << 20}))
    proc = runtime("create", "-b", str(bundle), container_id)
    assert proc.returncode == 1
    assert "linux.resources.cpu.shares" in proc.stderr and "262144" in proc.stderr
    assert cgroup_dirs(container_id) == [] and runtime.ids() == []


@pytest.mark.skipif(not os.path.exists("/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device"),
                    reason="no v1 blkio")
def test_blkio_weight_and_throttle(created: Callable[..., tuple[str, dict[str, Any]]]) -> None:
    major, minor = (int(x) for x in Path("/sys/block/vda/dev").read_text().split(":"))
    _, record = created(blockIO={
        "weight": 300,
        "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1048576}],
        "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 100}]})
    blkio = _resources.Target(record).directory("blkio")
    weight_file = "blkio.weight" if os.path.exists(f"{blkio}/blkio.weight") else \
        "blkio.bfq.weight"
    assert "300" in _read(blkio, weight_file)
    assert _read(blkio, "blkio.throttle.read_bps_device") == f"{major}:{minor} 1048576"
    assert _read(blkio, "blkio.throttle.write_iops_device") == f"{major}:{minor} 100"


@needs_hybrid
def test_hugetlb_in_unified_hierarchy(
        created: Callable[..., tuple[str, dict[str, Any]]]) -> None:
    _, record = created(hugepageLimits=[{"pageSize": "2MB", "limit": 4 << 20}])
    assert _read(record["paths"][""], "hugetlb.2MB.max") == str(4 << 20)
    assert "2MB" in cgroups.stats(record)["hugetlb"]


def test_devices_denied_inside(runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    config = _config("head -c1 /dev/kmsg; echo kmsg=$?; head -c1 /dev/null; echo null=$?; "
                     "head -c1 /dev/zero >/dev/null; echo zero=$?")
    # /dev/zero redefined in linux.devices: runc's default allow rule for it is dropped, so the
    # deny-all of the bundle applies; /dev/kmsg has no rule at all
    config["linux"]["devices"] = [
        {"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11},
        {"path": "/dev/zero", "type": "c", "major": 1, "minor": 5}]
    proc = runtime("run", "-b", str(make_bundle(config=config)), _id())
    assert "kmsg=1" in proc.stdout and "null=0" in proc.stdout and "zero=1" in proc.stdout
    assert proc.stderr.count("Operation not permitted") == 2, proc.stderr


def test_devices_allow_rule_read_only(runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    config = _config("head -c1 /dev/full >/dev/null; echo read=$?; "
                     "echo x > /dev/full; echo write=$?")
    config["linux"]["devices"] = [{"path": "/dev/full", "type": "c", "major": 1, "minor": 7}]
    config["linux"]["resources"]["devices"].append(
        {"allow": True, "type": "c", "major": 1, "minor": 7, "access": "r"})
    proc = runtime("run", "-b", str(make_bundle(config=config)), _id())
    assert "read=0" in proc.stdout and "write=1" in proc.stdout
    assert "Operation not permitted" in proc.stderr


@pytest.mark.parametrize("resources,message", [
    ({"network": {"classID": 1}}, "linux.resources.network.classID: net_cls controller"),
    ({"network": {"priorities": [{"name": "lo", "priority": 1}]}},
     "linux.resources.network.priorities: net_prio controller"),
    ({"rdma": {"mlx5_0": {"hcaHandles": 3}}}, "linux.resources.rdma: rdma controller"),
    ({"hugepageLimits": [{"pageSize": "3MB", "limit": 1}]},
     "linux.resources.hugepageLimits[0].pageSize: hugetlb.3MB"),
    ({"unified": {"memory.max": "1000000"}},
     "linux.resources.unified.memory.max: memory controller not available in cgroup v2"),
    ({"memory": {"swappiness": 101}}, "linux.resources.memory.swappiness: 101 is out of range"),
    ({"devices": [{"allow": True, "access": "x"}]}, "linux.resources.devices[0].access"),
])
def test_unavailable_or_invalid_is_one_line_and_leaves_nothing(
        runtime: Runtime, make_bundle: Callable[..., Path], resources: dict[str, Any],
        message: str) -> None:
    if MODE != "hybrid" and "unified" in resources:
        pytest.skip("hybrid host only")
    container_id = _id()
    config = _config("true", memory={"limit": 64 << 20})
    config["linux"]["resources"].update(resources)
    proc = runtime("create", "-b", str(make_bundle(config=config)), container_id)
    assert proc.returncode == 1
    assert message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert cgroup_dirs(container_id) == [] and runtime.ids() == []


def test_update_pause_resume_stats(runtime: Runtime, tmp_path: Path,
                                   created: Callable[..., tuple[str, dict[str, Any]]]) -> None:
    container_id, record = created(memory={"limit": 64 << 20}, pids={"limit": 20})
    assert runtime("start", container_id).returncode == 0
    new = tmp_path / "resources.json"
    new.write_text(json.dumps({"memory": {"limit": 48 << 20, "swap": 48 << 20},
                               "pids": {"limit": 15}, "cpu": {"shares": 256}}))
    proc = runtime("update", "--resources", str(new), container_id)
    assert proc.returncode == 0, proc.stderr
    memory = _resources.Target(record).directory("memory")
    assert _read(memory, "memory.limit_in_bytes") == str(48 << 20)
    assert _read(memory, "memory.memsw.limit_in_bytes") == str(48 << 20)
    assert _read(_resources.Target(record).directory("pids"), "pids.max") == "15"
    assert _read(_resources.Target(record).directory("cpu"), "cpu.shares") == "256"

    assert runtime("pause", container_id).returncode == 0
    assert cgroups.is_frozen(record) and runtime.state(container_id)["status"] == "paused"
    assert runtime("resume", container_id).returncode == 0
    assert not cgroups.is_frozen(record)

    data = cgroups.stats(record)
    assert set(data) == {"cpu", "memory", "pids", "blkio", "hugetlb"}
    assert data["pids"] == {"current": 1, "limit": 15}
    assert data["memory"]["usage"]["limit"] == 48 << 20
    assert data["memory"]["usage"]["usage"] > 0 and data["memory"]["raw"]
    assert data["cpu"]["usage"]["total"] > 0 and "kernel" in data["cpu"]["usage"]
    assert len(data["cpu"]["usage"]["percpu"]) == os.cpu_count()
    json.dumps(data)


def test_update_check_before_update(created: Callable[..., tuple[str, dict[str, Any]]]) -> None:
    _, record = created(memory={"limit": 64 << 20})
    with pytest.raises(PyruncError, match="checkBeforeUpdate"):
        cgroups.update(record, {"memory": {"limit": 1, "checkBeforeUpdate": True}})


def test_add_process(created: Callable[..., tuple[str, dict[str, Any]]]) -> None:
    import subprocess

    _, record = created()
    child = subprocess.Popen(["sleep", "30"])
    try:
        cgroups.add_process(record, child.pid)
        assert child.pid in cgroups.pids(record)
        for directory in record["paths"].values():
            assert str(child.pid) in Path(directory, "cgroup.procs").read_text().split()
    finally:
        child.kill()
        child.wait()


# -- the eBPF device program on the real cgroup2 hierarchy ---------------------------------

def _attach(directory: str, rules: list[dict[str, Any]]) -> None:
    """Attach through the installed pyrunc: pyrunc._native is compiled there, not in the source
    tree the tests import."""
    import subprocess
    import sys

    code = ("import json, sys; from pyrunc.linux.cgroups import _bpf; "
            "_bpf.attach_device_filter(sys.argv[1], json.loads(sys.argv[2]))")
    proc = subprocess.run([sys.executable, "-c", code, directory, json.dumps(rules)], cwd="/",
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


def _open_in(directory: str, devices: list[str]) -> dict[str, int]:
    """Fork a child into the cgroup, open each device there: 0 or the errno."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(r)
            Path(directory, "cgroup.procs").write_text(str(os.getpid()))
            result = {}
            for dev in devices:
                try:
                    os.close(os.open(dev, os.O_RDONLY))
                    result[dev] = 0
                except OSError as err:
                    result[dev] = err.errno
            os.write(w, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        data = f.read()
    os.waitpid(pid, 0)
    out: dict[str, int] = json.loads(data)
    return out


@pytest.mark.skipif(not os.path.exists(f"{UNIFIED}/cgroup.procs")
                    and MODE != "v2", reason="no cgroup2 hierarchy")
def test_bpf_device_program_real_cgroup2() -> None:
    root = UNIFIED if os.path.exists(f"{UNIFIED}/cgroup.procs") else "/sys/fs/cgroup"
    directory = f"{root}/pyrunc-bpf-{os.getpid()}"
    os.mkdir(directory)
    try:
        rules = _resources.device_rules([{"allow": False, "access": "rwm"},
                                         {"allow": True, "type": "c", "major": 1, "minor": 3,
                                          "access": "r"}], defaults=False)
        _attach(directory, rules)
        opened = _open_in(directory, ["/dev/null", "/dev/zero"])
        assert opened == {"/dev/null": 0, "/dev/zero": errno.EPERM}
        # an update replaces the program: /dev/zero allowed now, so the old one is gone
        rules.append({"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"})
        _attach(directory, rules)
        assert _open_in(directory, ["/dev/null", "/dev/zero"]) == {"/dev/null": 0,
                                                                   "/dev/zero": 0}
        # runc's defaults with a deny-all: a device outside them is refused
        _attach(directory, _resources.device_rules(
            [{"allow": False, "access": "rwm"}], defaults=True))
        assert _open_in(directory, ["/dev/zero", "/dev/kmsg"]) == {"/dev/zero": 0,
                                                                   "/dev/kmsg": errno.EPERM}
    finally:
        os.rmdir(directory)


def test_bpf_program_shape() -> None:
    allow_all = _bpf.program([{"allow": True, "type": "a", "major": -1, "minor": -1,
                               "access": "rwm"}])
    assert len(allow_all) % 8 == 0 and len(allow_all) // 8 == 6 + 2  # nothing after it
    deny = _bpf.program([])
    assert deny[-16:] == bytes([0xB4, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0])


# -- conversions and plans (pure logic) ----------------------------------------------------

def test_conversions() -> None:
    assert _resources.cpu_shares_to_weight(2) == 1
    assert _resources.cpu_shares_to_weight(1024) == 39
    assert _resources.cpu_shares_to_weight(262144) == 10000
    assert _resources.cpu_shares_to_weight(0) == 0
    assert _resources.blkio_weight_to_io_weight(10) == 1
    assert _resources.blkio_weight_to_io_weight(500) == 4950
    assert _resources.blkio_weight_to_io_weight(1000) == 10000
    assert _resources.swap_v2(-1, 100) == -1
    assert _resources.swap_v2(300, 100) == 200
    assert _resources.swap_v2(100, 100) == 0
    with pytest.raises(ValueError):
        _resources.swap_v2(50, 100)
    with pytest.raises(ValueError):
        _resources.swap_v2(50, None)
    assert _resources.v2_value(-1) == "max"


def test_v1_device_lines_and_defaults() -> None:
    rules = _resources.device_rules(
        [{"allow": False, "access": "rwm"}, {"allow": True, "type": "b", "major": 8,
                                             "access": "rw"}],
        defaults=True, config_devices=[{"path": "/dev/zero"}])
    lines = [("allow " if r["allow"] else "deny ") + _resources.v1_device_line(r)
             for r in rules]
    assert lines[:4] == ["deny a", "allow b 8:* rw", "allow c *:* m", "allow b *:* m"]
    assert "allow c 1:3 rwm" in lines and "allow c 1:5 rwm" not in lines
    assert lines[-3:] == ["allow c 136:* rwm", "allow c 5:2 rwm", "allow c 10:200 rwm"]


def test_systemd_paths() -> None:
    from pyrunc.linux.cgroups import _systemd_path

    assert _systemd_path("", "abc") == "/system.slice/runc-abc.scope"
    assert _systemd_path("system.slice:docker:abc", "x") == "/system.slice/docker-abc.scope"
    assert _systemd_path("machine-web.slice:crio:1", "x") == \
        "/machine.slice/machine-web.slice/crio-1.scope"
    assert _systemd_path(":pfx:n", "x") == "/system.slice/pfx-n.scope"
    with pytest.raises(PyruncError, match="slice:prefix:name"):
        _systemd_path("/a/b", "x")


def _own_cgroup_fds() -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.endswith("/cgroup.procs"):
            found.append(target)
    return found


def test_warming_moves_nothing_and_stops() -> None:
    """The background writes of create's first-migration warm-up (cgroups/_migration.py) put
    pyrunc where it already is, and stop leaves no thread writing and no fd open."""
    with open("/proc/self/cgroup") as f:
        before = f.read()
    stop = cgroups.start_warming()
    time.sleep(0.05)  # several periods of writes
    assert _own_cgroup_fds(), "no cgroup.procs of our own cgroup was opened"
    stop()
    stop()  # a second call (create's finally after _launch's) does nothing
    assert _own_cgroup_fds() == []
    with open("/proc/self/cgroup") as f:
        assert f.read() == before


def test_warming_repeats_until_stopped(tmp_path: Path) -> None:
    """The loop itself, on a plain file standing for cgroup.procs: the pid is written again
    and again while the caller works, and not after stop."""
    from pyrunc.linux.cgroups import _migration

    procs = tmp_path / "cg" / "cgroup.procs"
    procs.parent.mkdir()
    procs.write_text("")
    stop = _migration.start_warming(cgroups.Layout({"pids": str(tmp_path)}, {"pids": "/cg"}))
    time.sleep(0.1)
    stop()
    writes = procs.read_text().count(str(os.getpid()))
    assert writes >= 2
    time.sleep(0.02)
    assert procs.read_text().count(str(os.getpid())) == writes


def test_warming_without_a_cgroup_to_write_does_nothing(tmp_path: Path) -> None:
    from pyrunc.linux.cgroups import _migration

    stop = _migration.start_warming(cgroups.Layout({"pids": str(tmp_path)}, {"pids": "/gone"}))
    assert stop is _migration._nothing
    assert _migration.start_warming(cgroups.Layout({}, {})) is _migration._nothing
