"""Device nodes and /dev, checked from inside real containers: the default devices, the
/dev symlinks, linux.devices of each type, devices in a user namespace (bind-mounted from
the host), /dev bind-mounted from the host, and the encoder's refusals."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOTFS, Runtime, busybox_config, write_bundle

from pyrunc.linux import devices

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_in(runtime: Runtime, tmp_path: Path) -> Run:
    counter = iter(range(1000))

    def run(script: str, edit: Callable[[dict[str, Any]], None] | None = None,
            ok: bool = True) -> subprocess.CompletedProcess[str]:
        config = busybox_config(["sh", "-c", script])
        if edit:
            edit(config)
        bundle = write_bundle(tmp_path / f"b{next(counter)}", config)
        proc = runtime("run", "-b", str(bundle), f"c{next(counter)}")
        if ok:
            assert proc.returncode == 0, proc.stderr + proc.stdout
        return proc

    return run


def user_namespace(c: dict[str, Any]) -> None:
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    c["root"]["readonly"] = False
    c["mounts"] = [m for m in c["mounts"] if m["destination"] not in ("/sys", "/sys/fs/cgroup")]


STAT = "stat -c '%n %F %t %T %a %u %g'"


def test_default_devices(run_in: Run) -> None:
    out = run_in(f"for d in null zero full random urandom tty; do {STAT} /dev/$d; done; "
                 "head -c 4 /dev/zero | od -An -tx1").stdout.splitlines()
    assert out[:6] == [f"/dev/{name} character special file {major:x} {minor:x} 666 0 0"
                       for name, major, minor in (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7),
                                                  ("random", 1, 8), ("urandom", 1, 9),
                                                  ("tty", 5, 0))]
    assert out[6].split() == ["00", "00", "00", "00"]


def test_dev_symlinks(run_in: Run) -> None:
    out = run_in("for l in fd stdin stdout stderr ptmx core; do echo $l $(readlink /dev/$l); "
                 "done; ls /dev/fd/ | head -1").stdout.splitlines()
    links = dict(line.split(" ", 1) if " " in line else (line, "") for line in out[:6])
    assert links["fd"] == "/proc/self/fd"
    assert links["stdin"] == "/proc/self/fd/0"
    assert links["stdout"] == "/proc/self/fd/1"
    assert links["stderr"] == "/proc/self/fd/2"
    assert links["ptmx"] == "pts/ptmx"
    assert links["core"] == ("/proc/kcore" if os.path.exists("/proc/kcore") else "")
    assert out[6] == "0"   # /dev/fd works through /proc


def test_linux_devices_of_each_type(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["linux"]["devices"] = [
            # st_mode with the file type bits, as podman sends it: runc drops those
            {"path": "/dev/net/tun", "type": "c", "major": 10, "minor": 200,
             "fileMode": 0o020600, "uid": 7, "gid": 8},
            {"path": "/dev/loop-test", "type": "b", "major": 7, "minor": 99, "fileMode": 0o640},
            {"path": "/dev/unbuffered", "type": "u", "major": 1, "minor": 3},
            {"path": "/dev/fifo0", "type": "p", "fileMode": 0o620, "gid": 5},
            {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600},
        ]
    out = run_in(f"{STAT} /dev/net/tun /dev/loop-test /dev/unbuffered /dev/fifo0 /dev/null",
                 edit).stdout.splitlines()
    assert out == ["/dev/net/tun character special file a c8 600 7 8",
                   "/dev/loop-test block special file 7 63 640 0 0",
                   "/dev/unbuffered character special file 1 3 666 0 0",
                   "/dev/fifo0 fifo 0 0 620 0 5",
                   "/dev/null character special file 1 3 600 0 0"]   # overrides the default


def test_a_mount_on_a_device_path_wins(run_in: Run, tmp_path: Path) -> None:
    """`podman run -v file:/dev/null`: the config's bind mount stays (runc keeps what is
    there), rather than failing to remove a mount point (EBUSY)."""
    (tmp_path / "fake-null").write_text("not the null device\n")

    def edit(c: dict[str, Any]) -> None:
        c["mounts"].append({"destination": "/dev/null", "type": "bind",
                            "source": str(tmp_path / "fake-null"), "options": ["rbind"]})
        c["linux"].pop("maskedPaths", None)
    out = run_in("cat /dev/null; stat -c %F /dev/zero", edit).stdout
    assert out.splitlines() == ["not the null device", "character special file"]

    def edit_masked(c: dict[str, Any]) -> None:
        edit(c)
        c["linux"]["maskedPaths"] = ["/proc/kcore"]
    # pyrunc masks with the container's /dev/null, and will not with something else
    proc = run_in("true", edit_masked, ok=False)
    assert (proc.returncode, proc.stderr) == (1, "pyrunc: linux.maskedPaths: /dev/null in the "
                                                 "container is not the null device (1:3)\n")


def test_devices_are_bound_from_the_host_in_a_user_namespace(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        user_namespace(c)
        c["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]
    if not os.path.exists("/dev/fuse"):
        pytest.skip("the host has no /dev/fuse")
    out = run_in("stat -c '%t %T' /dev/null /dev/fuse; echo x > /dev/null && echo null-ok; "
                 "grep -c ' /dev/null ' /proc/self/mountinfo", edit).stdout.splitlines()
    assert out[:3] == ["1 3", "a e5", "null-ok"]
    assert out[3] == "1"   # a bind mount, not a node (mknod is not allowed there)


def test_no_devices_when_dev_is_bound_from_the_host(run_in: Run, tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    dev.mkdir()
    os.mknod(dev / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))

    def edit(c: dict[str, Any]) -> None:
        c["mounts"] = [m for m in c["mounts"] if not m["destination"].startswith("/dev")]
        c["mounts"].append({"destination": "/dev", "type": "bind", "source": str(dev),
                            "options": ["rbind"]})
        c["linux"]["devices"] = [{"path": "/dev/zero", "type": "c", "major": 1, "minor": 5}]
    out = run_in("ls -A /dev", edit).stdout.split()
    assert out == ["null"]                 # no default devices, no symlinks, as runc
    assert sorted(os.listdir(dev)) == ["null"]


def test_planted_nodes_in_the_image_are_replaced(runtime: Runtime, tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    subprocess.run(["cp", "-a", str(ROOTFS), str(rootfs)], check=True)
    (rootfs / "dev").mkdir(exist_ok=True)
    for name in ("null", "ptmx"):
        (rootfs / "dev" / name).unlink(missing_ok=True)
        (rootfs / "dev" / name).symlink_to("/etc/passwd")
    config = busybox_config(["sh", "-c", f"{STAT} /dev/null; readlink /dev/ptmx"])
    config["root"] = {"path": str(rootfs)}
    config["mounts"] = [m for m in config["mounts"] if m["destination"] != "/dev"]
    proc = runtime("run", "-b", str(write_bundle(tmp_path / "b", config)), "c1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["/dev/null character special file 1 3 666 0 0",
                                        "pts/ptmx"]


@pytest.mark.parametrize("device,message", [
    ({"path": "/dev/x", "type": "x", "major": 1, "minor": 1},
     'linux.devices[0].type: unknown device type "x"'),
    ({"path": "/dev/x", "type": "c"}, "linux.devices[0]: major and minor are required"),
    ({"path": "dev/x", "type": "c", "major": 1, "minor": 1},
     "linux.devices[0].path: must be an absolute path"),
    ({"path": "/dev/../etc/x", "type": "c", "major": 1, "minor": 1},
     'linux.devices[0].path: must not contain ".."'),
    ({"path": "/dev/x", "type": "c", "major": 1, "minor": 1, "fileMode": 2**32},
     "linux.devices[0].fileMode: must be an integer from 0 to 4294967295"),
    ({"path": "/dev/x", "type": "c", "major": 1, "minor": 1, "fileMode": 0o1000600},
     "linux.devices[0].fileMode: 262528 has bits beyond the permission bits"),
])
def test_encoder_refuses_bad_devices(device: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as err:
        devices.device_records({"linux": {"devices": [device]}})
    assert str(err.value).startswith(message), str(err.value)


def test_failed_device_fails_create(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        user_namespace(c)   # bound from the host, where it does not exist
        c["linux"]["devices"] = [{"path": "/dev/no-such-device-here", "type": "c",
                                  "major": 1, "minor": 3}]
    proc = run_in("true", edit, ok=False)
    assert proc.returncode == 1
    assert "device /dev/no-such-device-here: bind from the host: No such file or directory" \
        in proc.stderr
