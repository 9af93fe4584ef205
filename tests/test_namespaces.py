"""linux.namespaces, user namespace maps, time offsets and netDevices, checked from inside real
containers run through the CLI (issue: container init core). test_container_features.py has
the basic cases (each type new, joining by path, uid maps, lo up); these go further."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import Runtime, busybox_config, write_bundle

Run = Callable[..., subprocess.CompletedProcess[str]]
PROC_NAMES = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt",
              "cgroup": "cgroup", "user": "user", "time": "time"}
USERNS_MAPS = {"uidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}],
               "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}]}


@pytest.fixture
def run_in(runtime: Runtime, tmp_path: Path) -> Run:
    """Run a shell script in a busybox container (config changed by ``edit``)."""
    counter = iter(range(1000))

    def run(script: str, edit: Callable[[dict[str, Any]], None] | None = None,
            ok: bool = True, args: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        config = busybox_config(["sh", "-c", script])
        if edit:
            edit(config)
        n = next(counter)
        # ids of our own: the cgroup is named after the id (no cgroupsPath), and must not be
        # shared with a test run beside this one
        proc = runtime("run", *args, "-b", str(write_bundle(tmp_path / f"b{n}", config)),
                       f"ns-{os.getpid()}-{n}")
        if ok:
            assert proc.returncode == 0, proc.stderr + proc.stdout
        return proc

    return run


@pytest.fixture
def pod(runtime: Runtime, tmp_path: Path) -> Callable[..., int]:
    """Start a detached `sleep` container (config changed by ``edit``); returns its pid."""
    def start(edit: Callable[[dict[str, Any]], None] | None = None) -> int:
        config = busybox_config(["sleep", "100"])
        if edit:
            edit(config)
        cid = f"pod-{os.getpid()}"
        proc = runtime("run", "-d", "-b", str(write_bundle(tmp_path / "pod", config)), cid)
        assert proc.returncode == 0, proc.stderr
        return int(runtime.state(cid)["pid"])

    return start


def userns(config: dict[str, Any]) -> None:
    """A new user namespace, mapped to 200000+, with what the busybox config needs for it."""
    config["linux"]["namespaces"].append({"type": "user"})
    config["linux"].update(USERNS_MAPS)
    config["root"]["readonly"] = False
    config["mounts"] = [m for m in config["mounts"] if not m["destination"].startswith("/sys")]


def ns_of(pid: int | str, kind: str) -> str:
    return os.readlink(f"/proc/{pid}/ns/{PROC_NAMES[kind]}")


def test_all_eight_namespace_types_new_at_once(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        userns(c)
        c["linux"]["namespaces"].append({"type": "time"})
    names = list(PROC_NAMES)
    script = "; ".join(f"readlink /proc/self/ns/{PROC_NAMES[n]}" for n in names)
    out = run_in(script, edit).stdout.split()
    assert len(out) == len(names)
    for kind, inside in zip(names, out, strict=True):
        assert inside != ns_of("self", kind), kind


def test_no_namespaces_but_mount(run_in: Run) -> None:
    """Only a mount namespace: everything else is the host's (and pid 1 is not ours)."""
    def edit(c: dict[str, Any]) -> None:
        c["linux"]["namespaces"] = [{"type": "mount"}]
        del c["hostname"]
    out = run_in("for n in pid net ipc uts cgroup user; do readlink /proc/self/ns/$n; done; "
                 "readlink /proc/self/ns/mnt", edit).stdout.split()
    assert out[:6] == [ns_of("self", k) for k in ("pid", "network", "ipc", "uts", "cgroup",
                                                  "user")]
    assert out[6] != ns_of("self", "mount")


def test_new_network_namespace_has_only_lo_up(run_in: Run) -> None:
    out = run_in("ls /sys/class/net; cat /sys/class/net/lo/operstate; "
                 "nc -l -p 5555 127.0.0.1 & sleep 0.2; echo over-lo | nc 127.0.0.1 5555"
                 ).stdout.split()
    # lo's operstate is "unknown" when up (it has no carrier to speak of), "down" when not
    assert out == ["lo", "unknown", "over-lo"]


def test_cgroup_namespace_root_is_the_containers_cgroup(run_in: Run) -> None:
    out = run_in("cat /proc/self/cgroup").stdout.splitlines()
    assert out, "no cgroups listed"
    # unshared after the init was placed in its cgroups: each path inside is the root
    assert all(line.endswith(":/") for line in out), out


def test_cgroup_namespace_left_out_shows_host_paths(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "cgroup"]
    out = run_in("cat /proc/self/cgroup", edit).stdout.splitlines()
    assert any(not line.endswith(":/") for line in out), out


def test_time_namespace_monotonic_and_boottime_offsets(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["linux"]["namespaces"].append({"type": "time"})
        c["linux"]["timeOffsets"] = {"monotonic": {"secs": 7 * 86400, "nanosecs": 5},
                                     "boottime": {"secs": 3 * 86400}}
    out = run_in("cat /proc/self/timens_offsets; cut -d' ' -f1 /proc/uptime", edit).stdout
    lines = out.splitlines()
    assert lines[0].split() == ["monotonic", str(7 * 86400), "5"]
    assert lines[1].split() == ["boottime", str(3 * 86400), "0"]
    host_uptime = float(Path("/proc/uptime").read_text().split()[0])
    assert 3 * 86400 - 1 <= float(lines[2]) - host_uptime < 3 * 86400 + 60


def test_time_offsets_need_a_new_time_namespace(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["linux"]["timeOffsets"] = {"boottime": {"secs": 10}}
    proc = run_in("true", edit, ok=False)
    assert proc.returncode == 1 and "linux.timeOffsets" in proc.stderr


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory that a user namespace's root can reach (pytest's tmp dirs are 0700)."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="pyrunc-userns-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path)


def test_user_namespace_several_ranges_and_ownership(run_in: Run, shared_dir: Path) -> None:
    shared = shared_dir

    def edit(c: dict[str, Any]) -> None:
        userns(c)
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 1000},
                                     {"containerID": 1000, "hostID": 300000, "size": 10}]
        # onto a directory the rootfs has: its root (host 200000) could not create one there
        c["mounts"].append({"destination": "/home", "type": "bind", "source": str(shared),
                            "options": ["rbind"]})
    out = run_in("cat /proc/self/uid_map; id -u; touch /home/by-root; "
                 "cat /proc/self/status | grep CapEff", edit).stdout.split()
    assert out[:7] == ["0", "200000", "1000", "1000", "300000", "10", "0"]
    assert (shared / "by-root").stat().st_uid == 200000  # container root is host 200000
    assert out[-1] != "0000000000000000"  # root of its namespace, with its capabilities


def test_user_namespace_root_cannot_create_a_mount_point_it_may_not(run_in: Run,
                                                                    shared_dir: Path) -> None:
    """The reason, not a misleading ENOENT: the mapped root cannot write a host-owned rootfs."""
    missing = f"/missing-{os.getpid()}"

    def edit(c: dict[str, Any]) -> None:
        userns(c)
        c["mounts"].append({"destination": missing, "type": "bind", "source": str(shared_dir),
                            "options": ["rbind"]})
    proc = run_in("true", edit, ok=False)
    assert proc.returncode == 1
    assert f"create destination {missing}: Permission denied" in proc.stderr, proc.stderr


def test_user_namespace_process_user_is_mapped(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        userns(c)
        c["process"]["user"] = {"uid": 1000, "gid": 1000}
    assert run_in("cat /proc/self/status | grep -E '^(Uid|Gid)'", edit).stdout.split() == [
        "Uid:", "1000", "1000", "1000", "1000", "Gid:", "1000", "1000", "1000", "1000"]


def test_join_a_user_namespace_and_its_network_by_path(run_in: Run, pod: Callable[..., int]
                                                       ) -> None:
    """A second container joins the first's user and network namespaces (a pod with a user
    namespace) and creates its own mount, pid, ipc and uts namespaces inside that user ns."""
    pid = pod(userns)

    def edit(c: dict[str, Any]) -> None:
        userns(c)
        for ns in c["linux"]["namespaces"]:
            if ns["type"] in ("user", "network"):
                ns["path"] = f"/proc/{pid}/ns/{PROC_NAMES[ns['type']]}"
        for key in USERNS_MAPS:
            del c["linux"][key]  # the joined namespace has its maps
    out = run_in("for n in user net mnt; do readlink /proc/self/ns/$n; done; "
                 "cat /proc/self/uid_map; id -u; touch /dev/shm/f && stat -c %u /dev/shm/f",
                 edit).stdout.split()
    assert out[:2] == [ns_of(pid, "user"), ns_of(pid, "network")]
    assert out[2] not in (ns_of(pid, "mount"), ns_of("self", "mount"))
    assert out[3:] == ["0", "200000", "65536", "0", "0"]


def test_join_a_pid_namespace(run_in: Run, pod: Callable[..., int]) -> None:
    pid = pod()

    def edit(c: dict[str, Any]) -> None:
        for ns in c["linux"]["namespaces"]:
            if ns["type"] == "pid":
                ns["path"] = f"/proc/{pid}/ns/pid"
    out = run_in("readlink /proc/self/ns/pid; echo $$", edit).stdout.split()
    assert out[0] == ns_of(pid, "pid")
    assert out[1] != "1"  # the pod's init is pid 1 there


def test_join_an_ip_netns(run_in: Run) -> None:
    """A namespace made by `ip netns add` (a bind mount under /run/netns)."""
    name = f"pyrunc-test-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"],
                       check=True)

        def edit(c: dict[str, Any]) -> None:
            for ns in c["linux"]["namespaces"]:
                if ns["type"] == "network":
                    ns["path"] = f"/run/netns/{name}"
        out = run_in("readlink /proc/self/ns/net", edit).stdout.strip()
        assert out == f"net:[{os.stat(f'/run/netns/{name}').st_ino}]"
    finally:
        subprocess.run(["ip", "netns", "del", name], check=True)


@pytest.mark.parametrize("path,why", [
    ("/proc/self/ns/pid", "join network namespace /proc/self/ns/pid: Invalid argument"),
    ("/etc/hostname", "join network namespace /etc/hostname: Invalid argument"),
    ("relative/ns", "linux.namespaces[1].path: must be absolute"),
])
def test_wrong_namespace_path_fails_cleanly(run_in: Run, runtime: Runtime, path: str,
                                            why: str) -> None:
    def edit(c: dict[str, Any]) -> None:
        assert c["linux"]["namespaces"][1]["type"] == "network"
        c["linux"]["namespaces"][1]["path"] = path
    proc = run_in("true", edit, ok=False)
    assert proc.returncode == 1 and why in proc.stderr, proc.stderr
    assert runtime.ids() == []


# ---- netDevices ------------------------------------------------------------------------

@pytest.fixture
def veth() -> Iterator[str]:
    name = f"pyrv{os.getpid() % 100000}"
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", f"{name}p"],
                   check=True)
    yield name
    subprocess.run(["ip", "link", "del", name], capture_output=True)
    subprocess.run(["ip", "link", "del", f"{name}p"], capture_output=True)


def test_net_device_keeps_its_name_and_global_addresses_only(run_in: Run, veth: str) -> None:
    subprocess.run(["ip", "addr", "add", "10.198.0.1/24", "dev", veth], check=True)
    subprocess.run(["ip", "addr", "add", "fd00:198::1/64", "dev", veth, "nodad"], check=True)
    subprocess.run(["ip", "addr", "add", "10.197.0.1/24", "scope", "link", "dev", veth],
                   check=True)

    def edit(c: dict[str, Any]) -> None:
        c["linux"]["netDevices"] = {veth: {}}
    out = run_in(f"ip -o addr show dev {veth}; cat /sys/class/net/{veth}/flags", edit).stdout
    assert "10.198.0.1/24" in out and "fd00:198::1/64" in out
    assert "10.197.0.1" not in out  # link scope: not copied, as runc
    assert int(out.split()[-1], 16) & 1  # IFF_UP


def test_net_device_missing_on_the_host(run_in: Run, runtime: Runtime) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["linux"]["netDevices"] = {"pyrnosuch0": {"name": "eth0"}}
    proc = run_in("true", edit, ok=False)
    assert proc.returncode == 1
    assert 'linux.netDevices["pyrnosuch0"]: no such interface on the host' in proc.stderr
    assert runtime.ids() == []


def test_net_device_name_taken_inside(run_in: Run, runtime: Runtime, veth: str) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["linux"]["netDevices"] = {veth: {"name": "lo"}}
    proc = run_in("true", edit, ok=False)
    assert proc.returncode == 1 and f'linux.netDevices["{veth}"]: ' in proc.stderr
    assert "as lo: File exists" in proc.stderr
    assert runtime.ids() == []
    # (the kernel moves the device before it fails the rename: a veth then dies with the
    # container's namespace, a physical device returns to the host, as with runc)


def test_new_user_namespace_needs_maps(run_in: Run, runtime: Runtime) -> None:
    def edit(c: dict[str, Any]) -> None:
        userns(c)
        del c["linux"]["gidMappings"]
    proc = run_in("true", edit, ok=False)
    assert proc.returncode == 1
    assert "linux.gidMappings: a new user namespace needs uidMappings and gidMappings" in (
        proc.stderr)
    assert runtime.ids() == []


def test_user_namespace_without_root_mapped_fails_cleanly(run_in: Run, runtime: Runtime) -> None:
    def edit(c: dict[str, Any]) -> None:
        userns(c)
        c["linux"]["uidMappings"] = [{"containerID": 1, "hostID": 200000, "size": 10}]
    proc = run_in("true", edit, ok=False)
    assert proc.returncode == 1 and "become root in the user namespace" in proc.stderr
    assert runtime.ids() == []
