"""Fixtures shared by tests/ and spec-tests/ (each conftest.py imports them): a private pyrunc
root per test, bundles built from the busybox rootfs, and a check that nothing leaks."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Test the pyrunc that install.sh built into .venv (with its compiled init, CLI table and
# validator), never the bare source tree that `python -m pytest` puts first on sys.path.
_REPO = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _REPO]

from helpers import ROOTFS, Runtime, busybox_config, write_bundle  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    if os.geteuid() != 0:
        raise pytest.UsageError("pyrunc's tests create real containers: run them as root")
    if not (ROOTFS / "bin" / "busybox").exists():
        raise pytest.UsageError(f"{ROOTFS} missing: run `sh bundles/install.sh` first")
    import pyrunc

    if Path(pyrunc.__file__).resolve().is_relative_to(_REPO / "pyrunc"):
        raise pytest.UsageError("pyrunc is imported from the source tree: run the tests with "
                                ".venv/bin/python after `sh bundles/install.sh`")


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime(tmp_path / "root")
    yield rt
    # a test that failed half-way must not leak containers into the next one
    for container_id in rt.ids():
        rt("delete", "--force", container_id)
    leftovers = rt.ids()
    assert not leftovers, f"containers left behind: {leftovers}"


@pytest.fixture
def make_bundle(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1_000_000))

    def make(args: list[str] | None = None, config: dict[str, Any] | None = None,
             **process: Any) -> Path:
        cfg = config if config is not None else busybox_config(args, **process)
        return write_bundle(tmp_path / f"bundle{next(counter)}", cfg)

    return make


def _cgroup_dirs() -> set[str]:
    found = set()
    for hierarchy in os.listdir("/sys/fs/cgroup"):
        top = os.path.join("/sys/fs/cgroup", hierarchy)
        for root, dirs, _ in os.walk(top):
            found.update(os.path.join(root, d) for d in dirs)
            if root.count("/") >= top.count("/") + 2:
                dirs[:] = []
    return found


def _container_processes() -> list[int]:
    """Waiting inits of this checkout's pyrunc (not another checkout's or runtime's)."""
    pids = []
    for name in os.listdir("/proc"):
        try:
            exe = os.readlink(f"/proc/{name}/exe") if name.isdigit() else ""
            if "pyrunc-init" in exe and exe.startswith(str(_REPO) + "/"):
                pids.append(int(name))
        except OSError:
            continue
    return pids


def _our_mounts(basetemp: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if str(basetemp) in line or str(ROOTFS) in line]


def _tree(top: Path) -> set[str]:
    """Every path under ``top``, on its own filesystem (what a mount over a part hides)."""
    found = set()
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if not os.path.ismount(os.path.join(root, d))]
        found.update(os.path.join(root, name) for name in dirs + files)
    return found


@pytest.fixture(scope="session", autouse=True)
def shared_rootfs_left_as_found() -> Iterator[None]:
    """Most tests run containers on bundles/busybox/rootfs, the quick start's rootfs too.
    Like runc, pyrunc makes mount points (and, without a /dev tmpfs, device nodes) in the
    rootfs it is given; after the suite, whatever the tests added there is taken away."""
    before = _tree(ROOTFS)
    yield
    for path in sorted(_tree(ROOTFS) - before, key=lambda p: p.count("/"), reverse=True):
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                os.rmdir(path)
            else:
                os.unlink(path)
        except OSError:
            pass  # a directory with something a test meant to keep: leave it


@pytest.fixture(scope="session", autouse=True)
def nothing_leaks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the whole suite: no stray container processes, mounts or cgroups."""
    cgroups_before = _cgroup_dirs()
    yield
    import time

    deadline = time.monotonic() + 10  # killed inits may take a moment to be reaped
    while _container_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _container_processes() == [], "container processes left behind"
    assert _our_mounts(tmp_path_factory.getbasetemp()) == [], "mounts left behind"
    assert sorted(_cgroup_dirs() - cgroups_before) == [], "cgroups left behind"
