"""Hostile bundles and runc's CVE history (docs/security.md).

The image and the container process are the attackers here: each test plants something in a
private copy of the busybox rootfs (symlinks out of it, absolute and through ``../``, paths
swapped while pyrunc works, files posing as /proc) or acts from inside a container, and
checks that a "canary" on the host, outside the rootfs, is untouched: not written, not
mounted on, nothing created in it. The container either runs with the effect confined to
its rootfs, or create fails with one clean line and leaves nothing behind.

Each docstring names the attack and what a naive runtime (one that joins the rootfs path and
the config's path and calls mount/mknod/open/chdir on the result) would do.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOTFS, Runtime, busybox_config, cgroup_dirs, write_bundle

from pyrunc.container import read_proc_stat
from pyrunc.linux import launcher
from pyrunc.linux.capabilities import CAPABILITIES

HOW = ["abs", "rel"]   # a symlink to the host path itself, or through ../../..
MARKER = "image-root-marker"  # a file at the root of every rootfs copy, not on the host's /

# runc's full list up to CAP_SETFCAP, but CAP_SYS_RESOURCE: the test VM's bounding set lacks it
ALL_CAPS = [c for c in CAPABILITIES[:CAPABILITIES.index("CAP_SETFCAP") + 1]
            if c != "CAP_SYS_RESOURCE"]


def cid(name: str) -> str:
    # the default cgroup is <own cgroup>/<id>: ids unique per run keep parallel runs apart
    return f"hostile-{name}-{os.getpid()}"


def escape_link(target: Path, how: str) -> str:
    """A symlink text that leads to ``target`` on the host when followed from anywhere
    in the rootfs by a naive runtime."""
    return str(target) if how == "abs" else "../" * 24 + str(target).lstrip("/")


def inside(rootfs: Path, host_path: Path) -> Path:
    """Where an absolute path lands when it is resolved inside the rootfs."""
    return rootfs / str(host_path).lstrip("/")


def host_mounts(path: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if str(path) in line]


class Canary:
    """A host directory, outside every rootfs, holding a secret file: what the attacks aim at."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir()
        self.file = self.dir / "secret"
        self.file.write_text("host-secret\n")
        self.before = self.snapshot()

    def snapshot(self) -> dict[str, tuple[int, int, int, int, str]]:
        found = {}
        for root, dirs, files in os.walk(self.dir):
            for name in dirs + files:
                path = os.path.join(root, name)
                st = os.lstat(path)
                body = (os.readlink(path) if stat.S_ISLNK(st.st_mode) else
                        Path(path).read_text() if stat.S_ISREG(st.st_mode) else "")
                found[os.path.relpath(path, self.dir)] = (st.st_mode, st.st_uid, st.st_gid,
                                                          st.st_rdev, body)
        return found

    def assert_untouched(self) -> None:
        assert self.snapshot() == self.before
        assert not os.path.ismount(self.dir) and not os.path.ismount(self.file)
        assert host_mounts(self.dir) == []


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[Canary]:
    c = Canary(tmp_path / "canary")
    yield c
    c.assert_untouched()


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    """This test's own copy of the busybox rootfs: what is planted in it stays in it."""
    copy = tmp_path / "rootfs"
    subprocess.run(["cp", "-a", str(ROOTFS), str(copy)], check=True)
    (copy / MARKER).write_text("")
    return copy


def hostile_config(rootfs: Path, args: list[str], **process: Any) -> dict[str, Any]:
    config = busybox_config(args, **process)
    config["root"] = {"path": str(rootfs), "readonly": False}
    return config


def image_dev(config: dict[str, Any], keep_devpts: bool = True) -> None:
    """Use the image's own /dev: no tmpfs over it hides what the image planted there."""
    config["mounts"] = [m for m in config["mounts"] if not m["destination"].startswith("/dev")
                        or (keep_devpts and m["destination"] == "/dev/pts")]


def all_caps(config: dict[str, Any]) -> None:
    """The strongest container process: every capability, no no_new_privs."""
    config["process"]["capabilities"] = {k: ALL_CAPS for k in
                                         ("bounding", "effective", "permitted")}
    config["process"]["noNewPrivileges"] = False


def run(runtime: Runtime, tmp_path: Path, config: dict[str, Any], name: str,
        *args: str) -> subprocess.CompletedProcess[str]:
    bundle = write_bundle(tmp_path / f"bundle-{name}", config)
    return runtime("run", *args, "-b", str(bundle), cid(name))


def assert_ran(proc: subprocess.CompletedProcess[str], runtime: Runtime) -> None:
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert runtime.ids() == []


def assert_clean_failure(proc: subprocess.CompletedProcess[str], runtime: Runtime, name: str,
                         *words: str) -> None:
    """Exit status 1, one line naming the problem, and nothing left: no state, no cgroup."""
    assert proc.returncode == 1, proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pyrunc: "), proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert runtime.ids() == []
    assert cgroup_dirs(cid(name)) == []


ROOT_LISTING = "ls -a " + "../" * 16  # from the cwd, up to the root it is confined to


# ---- mount destinations ------------------------------------------------------------------

@pytest.mark.parametrize("how", HOW)
def test_bind_destination_symlink_lands_inside_the_rootfs(runtime: Runtime, tmp_path: Path,
                                                          rootfs: Path, canary: Canary,
                                                          how: str) -> None:
    """CVE-2021-30465 and kin: /vol in the image is a symlink to a host directory. A naive
    runtime binds the volume over the host directory (in its mount namespace: the container
    then sees the volume where the host's files were, and the next mount through it writes
    to the host). pyrunc resolves the destination inside the rootfs."""
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "payload").write_text("")
    inside(rootfs, canary.dir).mkdir(parents=True)
    (rootfs / "hostile-vol").symlink_to(escape_link(canary.dir, how))
    config = hostile_config(rootfs, ["sh", "-c", f"ls /hostile-vol; ls {canary.dir}; "
                                     "touch /hostile-vol/x"])
    config["mounts"].append({"destination": "/hostile-vol", "type": "bind", "source": str(volume),
                             "options": ["rbind"]})
    proc = run(runtime, tmp_path, config, "bind")
    assert_ran(proc, runtime)
    assert proc.stdout.split() == ["payload", "payload"]  # the same place, inside the rootfs
    assert (volume / "x").exists()


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("kind", ["bind", "tmpfs"])
def test_missing_components_are_never_created_on_the_host(runtime: Runtime, tmp_path: Path,
                                                          rootfs: Path, canary: Canary,
                                                          how: str, kind: str) -> None:
    """A destination /vol/a/b whose /vol is a symlink to a host directory with no counterpart
    in the rootfs: a naive runtime's MkdirAll creates a/b in the host directory and mounts
    there. pyrunc resolves /vol inside the rootfs, finds it dangling, and fails."""
    volume = tmp_path / "volume"
    volume.mkdir()
    (rootfs / "hostile-vol").symlink_to(escape_link(canary.dir, how))
    config = hostile_config(rootfs, ["true"])
    config["mounts"].append({"destination": "/hostile-vol/a/b", "type": kind,
                             "source": str(volume) if kind == "bind" else "tmpfs",
                             "options": ["rbind"] if kind == "bind" else []})
    proc = run(runtime, tmp_path, config, "mkdir")
    assert_clean_failure(proc, runtime, "mkdir", "create destination /hostile-vol/a/b",
                         "No such file or directory")


@pytest.mark.parametrize("via", ["/proc/self/root", "/proc/self/cwd", "/proc/1/root"])
def test_destination_through_a_proc_magic_link(runtime: Runtime, tmp_path: Path, rootfs: Path,
                                               canary: Canary, via: str) -> None:
    """A destination the image links to /proc/self/root/<host path>: once the container's
    /proc is mounted (it comes first in the mounts), a naive runtime resolving later
    destinations by path follows the magic link to its own root, the host's, and mounts on
    the host path. pyrunc resolves with RESOLVE_NO_MAGICLINKS: a clean error."""
    volume = tmp_path / "volume"
    volume.mkdir()
    (rootfs / "hostile-vol").symlink_to(via + str(canary.dir))
    config = hostile_config(rootfs, ["true"])
    config["mounts"].append({"destination": "/hostile-vol", "type": "bind",
                             "source": str(volume), "options": ["rbind"]})
    proc = run(runtime, tmp_path, config, "magic")
    assert_clean_failure(proc, runtime, "magic", "/hostile-vol",
                         "Too many levels of symbolic links")


@pytest.mark.parametrize("how", HOW)
def test_file_bind_destination_symlink_to_a_host_file(runtime: Runtime, tmp_path: Path,
                                                      rootfs: Path, canary: Canary,
                                                      how: str) -> None:
    """A file bind mount (e.g. an engine's /etc/resolv.conf) whose destination in the image is
    a symlink to a host file: a naive runtime binds over the host's file, or creates it. pyrunc
    never follows the link out: the destination is dangling inside the rootfs, an error."""
    source = tmp_path / "resolv.conf"
    source.write_text("nameserver 192.0.2.1\n")
    (rootfs / "etc" / "resolv.conf").unlink(missing_ok=True)
    (rootfs / "etc" / "resolv.conf").symlink_to(escape_link(canary.file, how))
    config = hostile_config(rootfs, ["cat", "/etc/resolv.conf"])
    config["mounts"].append({"destination": "/etc/resolv.conf", "type": "bind",
                             "source": str(source), "options": ["rbind", "ro"]})
    proc = run(runtime, tmp_path, config, "filebind")
    assert_clean_failure(proc, runtime, "filebind", "create destination /etc/resolv.conf")


# ---- masked and read-only paths ------------------------------------------------------------

@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("target", ["file", "dir"])
def test_masked_path_symlink_masks_inside_the_rootfs(runtime: Runtime, tmp_path: Path,
                                                     rootfs: Path, canary: Canary, how: str,
                                                     target: str) -> None:
    """A maskedPaths entry that the image made a symlink to a host file or directory: a naive
    runtime binds /dev/null (or a tmpfs) over the host's file. pyrunc masks the path the link
    resolves to inside the rootfs."""
    host = canary.file if target == "file" else canary.dir
    inside(rootfs, canary.dir).mkdir(parents=True)
    inside(rootfs, canary.file).write_text("image-secret\n")
    (rootfs / "hostile-masked").symlink_to(escape_link(host, how))
    config = hostile_config(rootfs, ["sh", "-c", "cat /hostile-masked/secret "
                                     "/hostile-masked 2>/dev/null; "
                                     f"ls -A {canary.dir} | wc -l"])
    config["linux"]["maskedPaths"] = ["/hostile-masked"]
    proc = run(runtime, tmp_path, config, "mask")
    assert_ran(proc, runtime)
    assert proc.stdout.split() == ["0" if target == "dir" else "1"]  # masked, not exposed
    assert "secret" not in proc.stdout


@pytest.mark.parametrize("how", HOW)
def test_readonly_path_symlink_is_read_only_inside_the_rootfs(runtime: Runtime, tmp_path: Path,
                                                              rootfs: Path, canary: Canary,
                                                              how: str) -> None:
    """A readonlyPaths entry that is a symlink to a host directory: a naive runtime remounts
    the host's directory read-only (bind over it in the container's namespace). pyrunc makes
    the path it resolves to inside the rootfs read-only; the host's stays as it was."""
    inside(rootfs, canary.dir).mkdir(parents=True)
    (rootfs / "hostile-data").symlink_to(escape_link(canary.dir, how))
    config = hostile_config(rootfs, ["sh", "-c",
                                     "touch /hostile-data/x 2>&1; touch /ok && echo rw"])
    config["linux"]["readonlyPaths"] = ["/hostile-data"]
    proc = run(runtime, tmp_path, config, "ro")
    assert_ran(proc, runtime)
    assert "Read-only file system" in proc.stdout and "rw" in proc.stdout.split()
    assert os.access(canary.dir, os.W_OK)


# ---- /dev ----------------------------------------------------------------------------------

@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("dev_mount", [True, False], ids=["tmpfs-dev", "image-dev"])
def test_dev_directory_symlink_to_the_host(runtime: Runtime, tmp_path: Path, rootfs: Path,
                                           canary: Canary, how: str, dev_mount: bool) -> None:
    """The image's /dev is a symlink to a host directory: a naive runtime mounts its tmpfs
    there, or mknods null, zero, tty... and links ptmx, fd, stdin in the host directory.
    pyrunc finds /dev dangling inside the rootfs and fails; nothing is made on the host."""
    subprocess.run(["rm", "-rf", str(rootfs / "dev")], check=True)
    (rootfs / "dev").symlink_to(escape_link(canary.dir, how))
    config = hostile_config(rootfs, ["true"])
    if not dev_mount:
        image_dev(config, keep_devpts=False)
    proc = run(runtime, tmp_path, config, "devdir")
    assert_clean_failure(proc, runtime, "devdir", "/dev", "No such file or directory")


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("name", ["null", "tty", "ptmx"])
def test_dev_node_symlink_to_a_host_file_is_replaced(runtime: Runtime, tmp_path: Path,
                                                     rootfs: Path, canary: Canary, how: str,
                                                     name: str) -> None:
    """The image's /dev/null (tty, ptmx) is a symlink to a host file: a naive runtime chowns
    and chmods the host's file through it (or opens it as the device, or binds it over the
    masked paths: CVE-2025-31133). pyrunc replaces what the image had with the real node
    (ptmx: the link to the container's devpts), the host file untouched. Cf.
    tests/test_devices.py::test_planted_nodes_in_the_image_are_replaced (in-image targets)."""
    (rootfs / "dev").mkdir(exist_ok=True)
    (rootfs / "dev" / name).unlink(missing_ok=True)
    (rootfs / "dev" / name).symlink_to(escape_link(canary.file, how))
    config = hostile_config(rootfs, ["sh", "-c", f"stat -L -c '%F %t:%T' /dev/{name}; "
                                     f"readlink /dev/{name}; cat /proc/kcore | wc -c"])
    image_dev(config)
    proc = run(runtime, tmp_path, config, "devnode")
    assert_ran(proc, runtime)
    lines = proc.stdout.splitlines()
    if name == "ptmx":
        assert lines[:2] == ["character special file 5:2", "pts/ptmx"]
    else:
        assert lines[0] == f"character special file {'1:3' if name == 'null' else '5:0'}"
    assert lines[-1].strip() == "0"   # the masked /proc/kcore reads as the real /dev/null


@pytest.mark.parametrize("how", HOW)
def test_dev_console_symlink_to_a_host_file_is_refused(runtime: Runtime, tmp_path: Path,
                                                       rootfs: Path, canary: Canary,
                                                       how: str) -> None:
    """CVE-2025-52565 aimed at the host: /dev/console a symlink to a host file. A naive
    runtime binds the pty over the host's file (or creates it). Cf.
    tests/test_rootfs.py::test_planted_dev_console_symlink_is_refused (a procfs target)."""
    (rootfs / "dev" / "console").unlink(missing_ok=True)
    (rootfs / "dev" / "console").symlink_to(escape_link(canary.file, how))
    config = hostile_config(rootfs, ["true"], terminal=True)
    image_dev(config)
    proc = run(runtime, tmp_path, config, "console")
    assert_clean_failure(proc, runtime, "console",
                         "/dev/console in the container is not a file or a device")


@pytest.mark.parametrize("how", HOW)
def test_device_path_through_a_symlinked_directory(runtime: Runtime, tmp_path: Path,
                                                   rootfs: Path, canary: Canary,
                                                   how: str) -> None:
    """linux.devices at /dev/disk/node, the image's /dev/disk a symlink to a host directory:
    a naive runtime mknods a device node on the host (a block device of the host's disk,
    owned by the container's user). pyrunc resolves the parent inside the rootfs: dangling,
    an error."""
    (rootfs / "dev" / "disk").unlink(missing_ok=True)
    (rootfs / "dev" / "disk").symlink_to(escape_link(canary.dir, how))
    config = hostile_config(rootfs, ["true"])
    image_dev(config)
    config["linux"]["devices"] = [{"path": "/dev/disk/node", "type": "c", "major": 1,
                                   "minor": 3, "fileMode": 0o666}]
    proc = run(runtime, tmp_path, config, "devpath")
    assert_clean_failure(proc, runtime, "devpath", "device /dev/disk/node: parent directory")


@pytest.mark.parametrize("how", HOW)
def test_device_path_that_is_a_symlink_to_a_host_file(runtime: Runtime, tmp_path: Path,
                                                      rootfs: Path, canary: Canary,
                                                      how: str) -> None:
    """linux.devices at a path the image made a symlink to a host file: a naive runtime's
    mknod fails with EEXIST and it chowns/chmods what is there, i.e. the host's file. pyrunc
    replaces the link with the node, checked on a re-opened fd before chown and chmod."""
    (rootfs / "dev" / "fuse").unlink(missing_ok=True)
    (rootfs / "dev" / "fuse").symlink_to(escape_link(canary.file, how))
    config = hostile_config(rootfs, ["stat", "-c", "%F %t:%T %a %u", "/dev/fuse"])
    image_dev(config)
    config["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 1, "minor": 3,
                                   "fileMode": 0o600, "uid": 1000}]
    proc = run(runtime, tmp_path, config, "devlink")
    assert_ran(proc, runtime)
    assert proc.stdout.strip() == "character special file 1:3 600 1000"


# ---- the working directory -----------------------------------------------------------------

@pytest.mark.parametrize("link", ["/", "../../../../../../../..", "/proc/1/root/..",
                                  "/proc/self/cwd/../.."])
def test_cwd_symlink_stays_in_the_container(runtime: Runtime, tmp_path: Path, rootfs: Path,
                                            link: str) -> None:
    """process.cwd is a symlink in the image to / or ../../..: a naive runtime that resolves
    it before pivot_root (or chroot) leaves the process in the host's root. pyrunc chdirs
    after pivot_root: the link resolves in the container's root."""
    (rootfs / "hostile-work").symlink_to(link)
    config = hostile_config(rootfs, ["sh", "-c", f"readlink /proc/self/cwd; {ROOT_LISTING}"],
                            cwd="/hostile-work")
    proc = run(runtime, tmp_path, config, "cwd")
    assert_ran(proc, runtime)
    listing = proc.stdout.split()
    assert listing[0] == "/" and MARKER in listing and "hostile-work" in listing


@pytest.mark.parametrize("how", HOW)
def test_missing_cwd_is_made_inside_the_rootfs_only(runtime: Runtime, tmp_path: Path,
                                                    rootfs: Path, canary: Canary,
                                                    how: str) -> None:
    """A missing process.cwd is created, as runc does; here /vol/new/dir with the image's /vol
    a symlink to a host directory. A naive runtime's MkdirAll before pivot_root makes new/dir
    on the host. pyrunc makes it after pivot_root, resolved in the new root: /vol dangles
    there, so create fails cleanly; a plain missing cwd is made in the rootfs."""
    (rootfs / "hostile-vol").symlink_to(escape_link(canary.dir, how))
    config = hostile_config(rootfs, ["true"], cwd="/hostile-vol/new/dir")
    proc = run(runtime, tmp_path, config, "mkcwd")
    assert_clean_failure(proc, runtime, "mkcwd", "mkdir /hostile-vol/new/dir (process.cwd)")
    config = hostile_config(rootfs, ["readlink", "/proc/self/cwd"], cwd="/hostile-brand/new")
    proc = run(runtime, tmp_path, config, "mkcwd2")
    assert_ran(proc, runtime)
    assert proc.stdout == "/hostile-brand/new\n" and (rootfs / "hostile-brand" / "new").is_dir()


@pytest.mark.parametrize("fd", range(3, 10))
def test_cwd_through_an_inherited_fd(runtime: Runtime, tmp_path: Path, rootfs: Path,
                                     fd: int) -> None:
    """CVE-2024-21626: process.cwd "/proc/self/fd/N" where N is a host directory fd the
    runtime leaked into the init (runc leaked /sys/fs/cgroup as fd 7): the process starts in
    the host's filesystem. pyrunc's init holds no host directory fd, and enters the cwd
    before READY, checking getcwd: create fails with one line (the exec fifo is not a
    directory, other numbers are not open), or the cwd is inside."""
    config = hostile_config(rootfs, ["sh", "-c", f"readlink /proc/self/cwd; {ROOT_LISTING}"],
                            cwd=f"/proc/self/fd/{fd}")
    proc = run(runtime, tmp_path, config, "cwdfd")
    if proc.returncode == 0:
        assert MARKER in proc.stdout.split()
    else:
        assert_clean_failure(proc, runtime, "cwdfd", f"/proc/self/fd/{fd}")


# ---- exec ----------------------------------------------------------------------------------

@pytest.fixture
def created(runtime: Runtime, tmp_path: Path, rootfs: Path) -> Iterator[str]:
    """A created (not started) container, all capabilities: its pid 1 is pyrunc's waiting init,
    and an exec'd process may ptrace it (the strongest attacker the config allows)."""
    (rootfs / "hostile-escape").symlink_to("../../../../../../../..")
    (rootfs / "hostile-escape-abs").symlink_to("/")
    config = hostile_config(rootfs, ["sleep", "1000"])
    all_caps(config)
    name = cid("created")
    proc = runtime("create", "-b", str(write_bundle(tmp_path / "bundle-created", config)), name)
    assert proc.returncode == 0, proc.stderr
    yield name
    runtime("delete", "-f", name)


@pytest.mark.parametrize("cwd", ["/hostile-escape", "/hostile-escape-abs", "/proc/1/cwd",
                                 "/proc/1/root",
                                 "/proc/1/cwd/../..", "/proc/self/fd/3", "/proc/1/fd/3",
                                 "/proc/1/fd/4"])
def test_exec_cwd_never_leaves_the_container(runtime: Runtime, created: str, cwd: str) -> None:
    """`exec --cwd` through a symlink escaping the root, or through the waiting init's fds or
    cwd (CVE-2024-21626's second form: `runc exec --cwd /proc/1/fd/N`): a naive runtime chdirs
    before it joins the container's mount namespace and root, or with a host fd open. pyrunc
    chdirs after setns into the init's namespaces, where the init holds no directory fd, and
    checks getcwd."""
    proc = runtime("exec", "--cwd", cwd, created, "sh", "-c",
                   f"readlink /proc/self/cwd; {ROOT_LISTING}")
    if proc.returncode == 0:
        assert MARKER in proc.stdout.split(), proc.stdout
    else:
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("pyrunc: ") and "cwd" in lines[0], lines


def test_waiting_init_exposes_no_host_fd_to_exec(runtime: Runtime, created: str) -> None:
    """CVE-2024-21626 from inside: a process exec'd into a created container looks at the
    waiting init's fds (pid 1). A naive runtime's init holds the state directory, the
    runtime's cgroup directory or its binary: /proc/1/fd/N leads out. pyrunc's holds stdio
    and the exec fifo, a fifo that leads nowhere (cf. tests/test_launch.py::
    test_waiting_init_holds_no_host_directory, seen from the host)."""
    proc = runtime("exec", created, "sh", "-c",
                   "for f in $(ls /proc/1/fd); do echo $f $(stat -L -c %F /proc/1/fd/$f); done;"
                   " ls /proc/1/fd/3/.. 2>&1 | head -1")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    fds = dict(line.split(" ", 1) for line in lines[:-1])
    assert set(fds) - {"0", "1", "2"} == {"3"}, fds
    assert fds["3"] == "fifo"
    assert "Not a directory" in lines[-1]


def test_fds_the_caller_leaks_never_reach_the_waiting_init(runtime: Runtime, tmp_path: Path,
                                                           rootfs: Path,
                                                           canary: Canary) -> None:
    """CVE-2024-21626 through the caller: an engine lets a host directory fd leak (not
    close-on-exec) into `create`. A naive runtime's init keeps it open while it waits for
    `start` (close-on-exec only takes effect at the exec), so a process exec'd into the
    created container opens /proc/1/fd/N/ and walks the host's filesystem. pyrunc-init closes
    every fd but stdio, the preserved ones and its own when it starts."""
    config = hostile_config(rootfs, ["sleep", "1000"])
    all_caps(config)  # CAP_SYS_PTRACE: /proc/1/fd is readable, what matters is what is there
    name = cid("leak")
    leaked = os.open(canary.dir, os.O_RDONLY | os.O_DIRECTORY)  # inheritable
    try:
        proc = runtime("create", "-b", str(write_bundle(tmp_path / "bundle-leak", config)),
                       name, pass_fds=(leaked,))
    finally:
        os.close(leaked)
    assert proc.returncode == 0, proc.stderr
    try:
        proc = runtime("exec", name, "sh", "-c", f"ls /proc/1/fd; ls /proc/1/fd/{leaked}/")
        escape = runtime("exec", "--cwd", f"/proc/1/fd/{leaked}", name, "ls")
    finally:
        runtime("delete", "-f", name)
    assert proc.stdout.split() == ["0", "1", "2", "3"], proc.stdout  # stdio and the fifo
    assert "secret" not in proc.stdout and "secret" not in escape.stdout
    assert escape.returncode != 0


def test_waiting_init_cannot_be_inspected_by_the_container(runtime: Runtime, tmp_path: Path,
                                                            rootfs: Path) -> None:
    """CVE-2016-9962: pyrunc's init enters the container's namespaces holding the runtime's
    fds and, until it applies the process' settings, more privileges than the container's
    processes. A naive (dumpable) init can be ptraced, and its /proc files (fd, exe, mem,
    environ) opened, by a container process with the same uid. pyrunc-init is not dumpable
    until its execve: only CAP_SYS_PTRACE in the host's user namespace reaches it."""
    config = hostile_config(rootfs, ["sleep", "1000"])  # the default, few capabilities
    name = cid("dumpable")
    bundle = write_bundle(tmp_path / "bundle-dumpable", config)
    assert runtime("create", "-b", str(bundle), name).returncode == 0
    try:
        proc = runtime("exec", name, "sh", "-c",
                       "readlink /proc/1/exe || echo DENIED-EXE; "
                       "readlink /proc/1/fd/3 || echo DENIED-FD; readlink /proc/self/exe")
    finally:
        runtime("delete", "-f", name)
    assert proc.stdout.split() == ["DENIED-EXE", "DENIED-FD", "/bin/busybox"], \
        proc.stdout + proc.stderr


def test_init_binary_is_not_writable_from_the_container(runtime: Runtime, created: str,
                                                        tmp_path: Path) -> None:
    """CVE-2019-5736: a process in the container (here with every capability, CAP_SYS_PTRACE
    included) opens the init's /proc/1/exe for writing and overwrites the runtime's binary on
    the host. pyrunc's init runs from a sealed memfd copy: no write reaches any file, and the
    installed pyrunc-init is unchanged."""
    before = hashlib.sha256(Path(launcher.INIT_BINARY).read_bytes()).hexdigest()
    pid = runtime.state(created)["pid"]
    exe_before = Path(f"/proc/{pid}/exe").read_bytes()
    proc = runtime("exec", created, "sh", "-c",
                   "readlink /proc/1/exe; echo pwned >> /proc/1/exe && echo WROTE-APPEND; "
                   "echo pwned 1<> /proc/1/exe && echo WROTE-RW; "
                   "for p in /proc/[0-9]*; do readlink $p/exe; done")
    assert proc.returncode == 0, proc.stderr
    assert "WROTE" not in proc.stdout
    exes = proc.stdout.splitlines()
    assert exes[0].startswith("/memfd:pyrunc-init")
    # every process in the container runs the image's binary or the sealed copy
    assert {e for e in exes if not e.startswith("/memfd:pyrunc-init")} <= {"/bin/busybox"}
    assert Path(f"/proc/{pid}/exe").read_bytes() == exe_before
    assert hashlib.sha256(Path(launcher.INIT_BINARY).read_bytes()).hexdigest() == before
    # and the container still starts: nothing was damaged
    assert runtime("start", created).returncode == 0


def test_exec_init_binary_is_not_writable_while_it_joins(runtime: Runtime, tmp_path: Path,
                                                         rootfs: Path) -> None:
    """CVE-2019-5736, the original race: a container process watches /proc for the runtime's
    process that `exec` puts in its pid namespace, and writes through its /proc/PID/exe
    before it execs. pyrunc's exec init runs from a sealed memfd: whatever the watcher
    catches, no write lands, and the installed binary is unchanged."""
    before = hashlib.sha256(Path(launcher.INIT_BINARY).read_bytes()).hexdigest()
    watcher = ("while [ ! -e /stop ]; do for p in /proc/[0-9]*; do case $(readlink $p/exe) in "
               "/bin/busybox|'') ;; *) echo seen; echo pwned >> $p/exe 2>/dev/null && "
               "echo WROTE;; esac; done; done > /result 2>&1; sleep 1000")
    config = hostile_config(rootfs, ["sh", "-c", watcher])
    all_caps(config)
    name = cid("race-exe")
    proc = runtime("run", "-d", "-b", str(write_bundle(tmp_path / "bundle-exe", config)), name)
    assert proc.returncode == 0, proc.stderr
    try:
        for _ in range(20):
            assert runtime("exec", name, "true").returncode == 0
        runtime("exec", name, "touch", "/stop")
        assert runtime("exec", name, "sh", "-c",
                       "while [ ! -e /result ]; do sleep 0.1; done").returncode == 0
        result = (rootfs / "result").read_text()
    finally:
        runtime("delete", "-f", name)
    assert "WROTE" not in result
    assert hashlib.sha256(Path(launcher.INIT_BINARY).read_bytes()).hexdigest() == before


@pytest.mark.parametrize("how", ["run", "exec"])
def test_only_stdio_reaches_the_process(runtime: Runtime, tmp_path: Path, rootfs: Path,
                                        how: str) -> None:
    """CVE-2024-21626 and every fd leak before it: the process (at start, and through exec)
    must hold only stdio: no fd of the runtime (state dir, sync socket, plan, console socket,
    the init's memfd) survives the execve. A naive runtime leaks what it forgot to mark
    close-on-exec. Here `ls` is the process: its only other fd is the directory it lists.
    (--preserve-fds: tests/test_container_features.py::test_preserve_fds.)"""
    listing = ["ls", "-l", "/proc/self/fd/", "/proc/1/fd/"]  # at start, ls is pid 1
    if how == "run":
        proc = run(runtime, tmp_path, hostile_config(rootfs, listing), "fds")
    else:
        name = cid("fds")
        config = hostile_config(rootfs, ["sleep", "1000"])
        bundle = write_bundle(tmp_path / "bundle-fds", config)
        assert runtime("run", "-d", "-b", str(bundle), name).returncode == 0
        try:
            proc = runtime("exec", name, *listing)
        finally:
            runtime("delete", "-f", name)
    assert proc.returncode == 0, proc.stderr
    links = re.findall(r" (\d+) -> (.*)", proc.stdout)
    assert {fd for fd, _ in links} >= {"0", "1", "2"}, proc.stdout
    # besides stdio, at most ls's own directory fd (busybox closes it before it lists)
    extra = [(fd, link) for fd, link in links
             if fd not in ("0", "1", "2") and not re.fullmatch(r"/proc/\d+/fd", link)]
    assert extra == [], proc.stdout


# ---- hooks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer",
                                  "startContainer", "poststart", "poststop"])
def test_relative_hook_path_is_refused(runtime: Runtime, tmp_path: Path, rootfs: Path,
                                       kind: str) -> None:
    """A hook path is a host program the runtime runs as root: that is by design, as the
    config author is trusted. A relative path resolves against whatever the runtime's cwd is
    (runc 1.1.5 runs it: it chdirs into the bundle first, so an image unpacked into the bundle
    could supply it); the spec says it MUST be absolute, and pyrunc refuses it before anything
    is made."""
    config = hostile_config(rootfs, ["true"])
    config["hooks"] = {kind: [{"path": "bin/true"}]}
    proc = run(runtime, tmp_path, config, "hookrel")
    assert_clean_failure(proc, runtime, "hookrel", f"hooks.{kind}[0].path: must be absolute")


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_missing_hook_binary_fails_create_cleanly(runtime: Runtime, tmp_path: Path,
                                                  rootfs: Path, kind: str) -> None:
    """A hook whose binary does not exist: create fails with one line naming the hook, and
    leaves no state, cgroup or process (runc: "error running hook ... no such file")."""
    config = hostile_config(rootfs, ["true"])
    config["hooks"] = {kind: [{"path": str(tmp_path / "no-such-hook")}]}
    bundle = write_bundle(tmp_path / "bundle-hook", config)
    proc = runtime("create", "-b", str(bundle), cid("hookmissing"))
    assert_clean_failure(proc, runtime, "hookmissing", f"{kind} hook #0", "no-such-hook",
                         "No such file or directory")


def test_start_container_hook_path_resolves_in_the_container(runtime: Runtime, tmp_path: Path,
                                                             rootfs: Path) -> None:
    """The startContainer hook's path resolves in the container (runtime-spec). The image
    makes that path a symlink to a host program: a naive runtime that runs it before
    pivot_root (or from the host) runs the host's program. pyrunc runs it after pivot_root:
    the link resolves inside, to nothing, and start fails cleanly."""
    ran = tmp_path / "host-program-ran"
    program = tmp_path / "host-program"
    program.write_text(f"#!/bin/sh\ntouch {ran}\n")
    program.chmod(0o755)
    (rootfs / "hostile-hook").symlink_to(str(program))
    config = hostile_config(rootfs, ["true"])
    config["hooks"] = {"startContainer": [{"path": "/hostile-hook"}]}
    proc = run(runtime, tmp_path, config, "hookstart")
    # runc alike: the init reports it after `start` ("error running hook #0: ...")
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "startContainer hook #0 (/hostile-hook)" in lines[0], lines
    assert "No such file or directory" in lines[0]
    assert not ran.exists()
    assert runtime.ids() == [] and cgroup_dirs(cid("hookstart")) == []


# ---- /proc redirection ---------------------------------------------------------------------

@pytest.mark.parametrize("plant", ["file", "symlink", "proc-symlink"])
def test_sysctl_is_written_to_the_real_procfs(runtime: Runtime, tmp_path: Path, rootfs: Path,
                                              canary: Canary, plant: str) -> None:
    """CVE-2025-52881: sysctls written by path through the container's /proc, which the image
    (or a racing mount) controls: with no procfs on /proc, the image's own
    proc/sys/net/ipv4/ip_forward (a file, or a symlink to a host file) takes the write, and the
    real setting is never made. pyrunc writes through a private procfs instance, checked with
    fstatfs: the image's files and the host file are untouched, and the setting is made.
    An image whose /proc itself is a symlink to the host never gets a procfs mounted there.
    (A tmpfs or bind over /proc/sys is refused outright: tests/test_rootfs.py::
    test_nothing_is_mounted_inside_proc_but_lxcfs_files.)"""
    planted = rootfs / "proc" / "sys" / "net" / "ipv4" / "ip_forward"
    if plant == "proc-symlink":
        # /proc itself a symlink to the host: the procfs is never mounted through it
        (canary.dir / "sys").mkdir()
        canary.before = canary.snapshot()
        os.rmdir(rootfs / "proc")
        (rootfs / "proc").symlink_to(escape_link(canary.dir, "abs"))
        config = hostile_config(rootfs, ["true"])
        config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
        proc = run(runtime, tmp_path, config, "procsym")
        assert_clean_failure(proc, runtime, "procsym",
                             "proc must be mounted on an ordinary directory")
        return
    planted.parent.mkdir(parents=True)
    if plant == "file":
        planted.write_text("image-file\n")
    else:
        planted.symlink_to(escape_link(canary.file, "abs"))
    config = hostile_config(rootfs, ["sleep", "1000"])
    config["mounts"] = [m for m in config["mounts"] if m["destination"] != "/proc"]
    config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    name = cid("sysctl")
    proc = runtime("create", "-b", str(write_bundle(tmp_path / "bundle-sysctl", config)), name)
    assert proc.returncode == 0, proc.stderr
    try:
        pid = runtime.state(name)["pid"]
        real = subprocess.run(["nsenter", "-t", str(pid), "-n", "cat",
                               "/proc/sys/net/ipv4/ip_forward"],
                              capture_output=True, text=True, check=True).stdout
    finally:
        runtime("delete", "-f", name)
    assert real == "1\n"
    if plant == "file":
        assert planted.read_text() == "image-file\n"
    else:
        assert os.readlink(planted) == str(canary.file)


# ---- races ---------------------------------------------------------------------------------

RENAME_EXCHANGE = 2
AT_FDCWD = -100


class Swapper:
    """A thread that keeps exchanging two paths (renameat2 RENAME_EXCHANGE: atomic, so at
    every instant one of them is the real thing and the other the symlink out). Paused
    between tries, so that each try can start from a freshly planted image."""

    def __init__(self, a: Path, b: Path) -> None:
        self.a, self.b = bytes(a), bytes(b)
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.running = threading.Event()
        self.done = False
        self.lock = threading.Lock()
        self.swaps = 0
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self) -> None:
        while self.running.wait() and not self.done:
            with self.lock:
                if self.libc.renameat2(AT_FDCWD, self.a, AT_FDCWD, self.b,
                                       RENAME_EXCHANGE) == 0:
                    self.swaps += 1

    def pause(self) -> None:
        self.running.clear()
        with self.lock:  # the call in flight, if any, is over
            pass

    def __enter__(self) -> Swapper:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done = True
        self.running.set()
        self.thread.join()


def run_racing(runtime: Runtime, tmp_path: Path, config: dict[str, Any], name: str,
               swapper: Swapper, plant: Callable[[], None],
               check: Callable[[subprocess.CompletedProcess[str]], None], tries: int = 12
               ) -> list[subprocess.CompletedProcess[str]]:
    """`run` the container `tries` times, each from a freshly planted image while the swapper
    runs: each succeeds (then `check` looks at its output) or fails cleanly."""
    bundle = write_bundle(tmp_path / f"bundle-{name}", config)
    results = []
    for i in range(tries):
        plant()
        swapper.running.set()
        proc = runtime("run", "-b", str(bundle), cid(f"{name}{i}"))
        swapper.pause()
        if proc.returncode == 0:
            check(proc)
        else:
            assert_clean_failure(proc, runtime, f"{name}{i}")
        assert runtime.ids() == []
        results.append(proc)
    assert swapper.swaps > 0
    return results


def test_mount_destination_swapped_for_a_symlink_while_creating(runtime: Runtime,
                                                                tmp_path: Path, rootfs: Path,
                                                                canary: Canary) -> None:
    """CVE-2021-30465: the image (through a volume it shares with another container) swaps a
    mount destination's directory for a symlink to the host between the runtime's check and
    its mount. A naive runtime checks the path, then mounts by path: the mount, and the
    directories it creates on the way, land on the host. pyrunc mounts onto the O_PATH fd it
    resolved inside the rootfs: every create succeeds inside it or fails cleanly."""
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "payload").write_text("")

    def plant() -> None:
        if (rootfs / "hostile-mnt").is_symlink():
            os.rename(rootfs / "hostile-mnt", rootfs / "hostile-mnt-old")
            os.rename(rootfs / "hostile-swap", rootfs / "hostile-mnt")
            os.rename(rootfs / "hostile-mnt-old", rootfs / "hostile-swap")
        (rootfs / "hostile-mnt").mkdir(exist_ok=True)
        if not (rootfs / "hostile-swap").is_symlink():
            (rootfs / "hostile-swap").symlink_to(escape_link(canary.dir, "abs"))
    config = hostile_config(rootfs, ["cat", "/proc/self/mountinfo"])
    config["mounts"] += [
        {"destination": "/hostile-mnt/a/b", "type": "bind", "source": str(volume),
         "options": ["rbind"]},
        {"destination": "/hostile-mnt/t", "type": "tmpfs", "source": "tmpfs"},
    ]

    def check(proc: subprocess.CompletedProcess[str]) -> None:
        # both mounts are in the container (the swapper goes on after create, and the mounts
        # move with the directory: under /mnt or /swap); a mount made outside the rootfs
        # would have gone with the old root
        points = [line.split()[4] for line in proc.stdout.splitlines()]
        assert len([p for p in points if re.fullmatch("/hostile-(mnt|swap)/a/b", p)]) == 1, points
        assert len([p for p in points if re.fullmatch("/hostile-(mnt|swap)/t", p)]) == 1, points

    with Swapper(rootfs / "hostile-mnt", rootfs / "hostile-swap") as swapper:
        run_racing(runtime, tmp_path, config, "swapmnt", swapper, plant, check)
    assert not (canary.dir / "a").exists() and not (canary.dir / "t").exists()
    assert host_mounts(tmp_path) == []


def test_dev_null_swapped_for_a_symlink_while_masking(runtime: Runtime, tmp_path: Path,
                                                      rootfs: Path, canary: Canary) -> None:
    """CVE-2025-31133: /dev/null swapped for a symlink to a host file while the runtime masks
    paths with it: a naive runtime binds the host file over the masked paths, exposing it
    (here the container would read "host-secret" at /etc/hostile-masked). pyrunc binds only a
    /dev/null it checked on the very fd it binds: the masked file always reads empty, or
    create fails cleanly."""
    (rootfs / "etc" / "hostile-masked").write_text("image-secret\n")

    def plant() -> None:  # pyrunc replaces /dev/null: plant both again for every try
        for name in ("null", "null-evil"):
            (rootfs / "dev" / name).unlink(missing_ok=True)
        (rootfs / "dev" / "null").write_text("")
        (rootfs / "dev" / "null-evil").symlink_to(escape_link(canary.file, "abs"))
    config = hostile_config(rootfs, ["sh", "-c", "cat /etc/hostile-masked; echo END"])
    image_dev(config)
    config["linux"]["maskedPaths"] = ["/etc/hostile-masked"]

    def check(proc: subprocess.CompletedProcess[str]) -> None:
        assert proc.stdout == "END\n", proc.stdout

    with Swapper(rootfs / "dev" / "null", rootfs / "dev" / "null-evil") as swapper:
        run_racing(runtime, tmp_path, config, "swapnull", swapper, plant, check)


def test_dev_console_swapped_for_a_symlink_while_binding_the_pty(runtime: Runtime,
                                                                 tmp_path: Path, rootfs: Path,
                                                                 canary: Canary) -> None:
    """CVE-2025-52565: /dev/console swapped for a symlink to a host file while the runtime
    binds the pty onto it: a naive runtime binds the pty over the host's file. pyrunc binds
    onto an O_NOFOLLOW fd checked to be a file or device: the console is the pty, or create
    fails cleanly."""

    def plant() -> None:
        for name in ("console", "console-evil"):
            (rootfs / "dev" / name).unlink(missing_ok=True)
        (rootfs / "dev" / "console").write_text("")
        (rootfs / "dev" / "console-evil").symlink_to(escape_link(canary.file, "abs"))

    config = hostile_config(rootfs, ["cat", "/proc/self/mountinfo"], terminal=True)
    image_dev(config)

    def check(proc: subprocess.CompletedProcess[str]) -> None:
        # the pty is bound in the container: on the file that was /dev/console (which the
        # swapper may since have renamed), never on the host's file
        points = [line.split()[4] for line in proc.stdout.splitlines()
                  if " - devpts " in line]
        assert len([p for p in points if p in ("/dev/console", "/dev/console-evil")]) == 1, \
            proc.stdout

    with Swapper(rootfs / "dev" / "console", rootfs / "dev" / "console-evil") as swapper:
        run_racing(runtime, tmp_path, config, "swapcons", swapper, plant, check)


# ---- the host's view -----------------------------------------------------------------------

@pytest.fixture
def shared_mount(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs on the host with shared propagation (as / is under systemd)."""
    path = tmp_path / "shared"
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(path)], check=True)
    subprocess.run(["mount", "--make-shared", str(path)], check=True)
    yield path
    subprocess.run(["umount", "-l", str(path)], check=False)


def test_container_mounts_never_propagate_to_the_host(runtime: Runtime, tmp_path: Path,
                                                      shared_mount: Path) -> None:
    """The rootfs under a shared mount: a naive runtime that mounts in its new namespace
    without first making / a slave propagates the rootfs bind, /proc, /dev, every volume to
    the host (and on delete, unmounts from it). pyrunc makes / rslave before its first mount:
    the host sees none of the container's mounts, during its life or after."""
    rootfs = shared_mount / "rootfs"
    subprocess.run(["cp", "-a", str(ROOTFS), str(rootfs)], check=True)
    config = hostile_config(rootfs, ["sleep", "1000"])
    config["mounts"].append({"destination": "/hostile-x", "type": "tmpfs", "source": "tmpfs"})
    name = cid("propagation")
    bundle = write_bundle(tmp_path / "bundle-propagation", config)
    assert runtime("create", "-b", str(bundle), name).returncode == 0
    try:
        assert runtime("start", name).returncode == 0
        assert [line.split()[4] for line in host_mounts(shared_mount)] == [str(shared_mount)]
    finally:
        runtime("delete", "-f", name)
    assert [line.split()[4] for line in host_mounts(shared_mount)] == [str(shared_mount)]


def test_signals_never_reach_a_reused_pid(runtime: Runtime, tmp_path: Path,
                                          rootfs: Path) -> None:
    """The init died and its pid was reused by an unrelated host process: a naive runtime's
    `kill` (or `delete`) signals whatever has that pid now. pyrunc signals through a pidfd
    checked against the recorded start time. (The reuse is simulated: the state's pid is
    pointed at a host process that started later.)"""
    config = hostile_config(rootfs, ["sleep", "1000"])
    name = cid("reuse")
    assert runtime("create", "-b", str(write_bundle(tmp_path / "bundle-reuse", config)),
                   name).returncode == 0
    state_file = runtime.root / name / "state.json"
    doc = json.loads(state_file.read_text())
    # a reused pid belongs to a process that started later: in a later clock tick (start
    # times have 10 ms ticks, and create is quicker than that)
    time.sleep(0.02)
    victim = subprocess.Popen(["sleep", "1000"])
    try:
        assert read_proc_stat(victim.pid)[1] != doc["start_time"]
        doc["pid"] = victim.pid  # start_time stays the init's
        state_file.write_text(json.dumps(doc))
        runtime("kill", name, "KILL")
        runtime("delete", "-f", name)
        assert victim.poll() is None, "the host process was signalled"
    finally:
        victim.kill()
        victim.wait()
    assert runtime.ids() == []


def test_planted_fifo_at_a_device_path_is_never_opened(runtime: Runtime, tmp_path: Path,
                                                       rootfs: Path) -> None:
    """In a user namespace the devices are the host's, bound over files in the image's /dev.
    The image planted a fifo at /dev/null: a naive runtime opens it to make the mount point
    (O_CREAT without O_EXCL) and hangs forever (a tape device would rewind, a watchdog
    fire). pyrunc only ever opens it O_PATH: create goes on, /dev/null is the host's."""
    (rootfs / "dev" / "null").unlink(missing_ok=True)
    os.mkfifo(rootfs / "dev" / "null")
    os.chown(rootfs / "dev", 100000, 100000)  # the container's root makes the other nodes
    # and may reach the rootfs: pytest makes its temp dirs 0700, up to /tmp/pytest-of-<user>
    # (pytest takes the others' bits back off that one at its next run)
    for up in (tmp_path, *tmp_path.parents):
        if up == Path(tempfile.gettempdir()) or up == Path("/"):
            break
        up.chmod(up.stat().st_mode | 0o711)
    config = hostile_config(rootfs, ["stat", "-c", "%F %t:%T", "/dev/null"])
    image_dev(config)
    config["linux"]["namespaces"].append({"type": "user"})
    config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    config["mounts"] = [m for m in config["mounts"]
                        if m["destination"] not in ("/sys", "/sys/fs/cgroup")]
    proc = run(runtime, tmp_path, config, "fifo")
    assert_ran(proc, runtime)
    assert proc.stdout.strip() == "character special file 1:3"
    assert stat.S_ISFIFO(os.lstat(rootfs / "dev" / "null").st_mode)  # bound over, not replaced


def test_device_node_swapped_for_a_symlink_before_chown(runtime: Runtime, tmp_path: Path,
                                                        rootfs: Path, canary: Canary) -> None:
    """A device node swapped for a symlink to a host file between mknod and chown/chmod: a
    naive runtime chowns (to the container's user) and chmods the host's file through the
    link. pyrunc re-opens the node O_NOFOLLOW, checks type and numbers, and sets owner and
    mode through that fd: the node is right, or create fails cleanly. The canary (checked
    for owner and mode on teardown) is untouched either way."""
    config = hostile_config(rootfs, ["stat", "-c", "%F %t:%T %a %u", "/dev/hostile-node"])
    image_dev(config)
    config["linux"]["devices"] = [{"path": "/dev/hostile-node", "type": "c", "major": 1,
                                   "minor": 3, "fileMode": 0o666, "uid": 1000}]

    def plant() -> None:
        for name in ("hostile-node", "hostile-node-evil"):
            (rootfs / "dev" / name).unlink(missing_ok=True)
        (rootfs / "dev" / "hostile-node").write_text("")
        (rootfs / "dev" / "hostile-node-evil").symlink_to(escape_link(canary.file, "abs"))

    def check(proc: subprocess.CompletedProcess[str]) -> None:
        # the process sees whatever the swapper left at the path by then (the node, the
        # planted file, or the link, dangling in the container); the node is right
        out = proc.stdout.strip()
        assert not out.startswith("character") or out == "character special file 1:3 666 1000"

    with Swapper(rootfs / "dev" / "hostile-node",
                 rootfs / "dev" / "hostile-node-evil") as swapper:
        run_racing(runtime, tmp_path, config, "swapnode", swapper, plant, check)
