"""cgroup placement: v1, v2 (unified) and hybrid, detected from /proc/self/mountinfo.

This module places a container's init in its cgroups and removes them; resource limits
(linux.resources) are applied by the resource-control layer built on it. Paths follow runc's
cgroupfs driver: an absolute ``cgroupsPath`` is taken from each hierarchy's root, a relative
one from pyrunc's own cgroup in that hierarchy, an empty one is ``<own cgroup>/<id>``.

The record kept in state.json: ``{"version": 1|2, "paths": {hierarchy: directory}}`` where
a hierarchy is a v1 controller list ("cpu,cpuacct", "name=systemd") or "" for cgroup2.
"""

from __future__ import annotations

import errno
import os
import time
from typing import Any

from pyrunc.errors import PyruncError


def _mounts() -> dict[str, str]:
    """hierarchy -> mount point, from mountinfo (cgroup and cgroup2 mounts only)."""
    found: dict[str, str] = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            fstype, _source, superopts = post.split()[:3]
            if fstype not in ("cgroup", "cgroup2"):
                continue
            root, mountpoint = pre.split()[3:5]
            if root != "/":
                continue  # a bind of a sub-cgroup: not a hierarchy's root
            if fstype == "cgroup2":
                found.setdefault("", mountpoint)
                continue
            controllers = [o for o in superopts.split(",")
                           if o not in ("rw", "ro") and not o.startswith(("release_agent=",
                                                                          "clone_children"))]
            found.setdefault(",".join(controllers), mountpoint)
    return found


def host_hierarchies() -> list[tuple[str, str]]:
    """(directory name under the cgroup root, mount data) of each hierarchy; "" for cgroup2.

    The data is what mounting that hierarchy again takes: its controllers ("cpu,cpuacct",
    "name=systemd"), or "" for cgroup2.
    """
    found = []
    for hierarchy, mountpoint in _mounts().items():
        found.append((os.path.basename(mountpoint) if hierarchy else
                      ("" if mountpoint == "/sys/fs/cgroup" else os.path.basename(mountpoint)),
                      hierarchy))
    return sorted(found)


def _own_cgroups() -> dict[str, str]:
    """hierarchy -> pyrunc's own cgroup path in it, from /proc/self/cgroup."""
    own: dict[str, str] = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            own[controllers] = path
    return own


def _cgroup_path(config: dict[str, Any], container_id: str, systemd: bool) -> str:
    path = str((config.get("linux") or {}).get("cgroupsPath") or "")
    if systemd and path.count(":") == 2:
        # slice:prefix:name, laid out the way systemd would without talking to it
        slice_, prefix, name = path.split(":")
        slice_ = slice_ or "system.slice"
        return f"/{slice_}/{prefix}-{name}.scope" if prefix else f"/{slice_}/{name}"
    if not path:
        return container_id
    if ".." in path.split("/"):
        raise PyruncError(f'linux.cgroupsPath: "{path}" must not contain ".."')
    return path


def join(config: dict[str, Any], container_id: str, pid: int, systemd: bool = False
         ) -> dict[str, Any]:
    """Create the container's cgroups and move ``pid`` into them."""
    inner = _cgroup_path(config, container_id, systemd)
    mounts, own = _mounts(), _own_cgroups()
    unified_only = set(mounts) == {""}
    paths: dict[str, str] = {}
    for hierarchy, mountpoint in mounts.items():
        base = "/" if inner.startswith("/") else own.get(hierarchy, "/")
        paths[hierarchy] = os.path.normpath(os.path.join(mountpoint, base.lstrip("/"),
                                                         inner.lstrip("/")))
    record = {"version": 2 if unified_only else 1, "paths": paths}
    try:
        for hierarchy, directory in paths.items():
            os.makedirs(directory, exist_ok=True)
            if "cpuset" in hierarchy.split(","):
                _inherit_cpuset(mounts[hierarchy], directory)
            with open(os.path.join(directory, "cgroup.procs"), "w") as f:
                f.write(str(pid))
    except OSError as err:
        remove(record)
        raise PyruncError(f"cgroup {directory}: {err.strerror}") from None
    return record


def _inherit_cpuset(mountpoint: str, directory: str) -> None:
    """A new v1 cpuset starts with no cpus or mems and refuses tasks (ENOSPC): copy the
    parent's down each level we created, as runc does."""
    relative = os.path.relpath(directory, mountpoint)
    parent = mountpoint
    for part in relative.split(os.sep):
        current = os.path.join(parent, part)
        for name in ("cpuset.cpus", "cpuset.mems"):
            with open(os.path.join(current, name)) as f:
                if f.read().strip():
                    continue
            with open(os.path.join(parent, name)) as f:
                value = f.read().strip()
            with open(os.path.join(current, name), "w") as f:
                f.write(value)
        parent = current


def _primary(record: dict[str, Any]) -> str | None:
    paths: dict[str, str] = record.get("paths") or {}
    for hierarchy in ("", "pids", "freezer", "memory"):
        if hierarchy in paths and (hierarchy or record.get("version") == 2):
            return paths[hierarchy]
    return next(iter(paths.values()), None)


def pids(record: dict[str, Any]) -> list[int]:
    directory = _primary(record)
    if not directory:
        return []
    try:
        with open(os.path.join(directory, "cgroup.procs")) as f:
            return [int(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def _freezer(record: dict[str, Any]) -> tuple[str, str, str] | None:
    """(file, frozen value, thawed value) of this layout's freezer."""
    paths: dict[str, str] = record.get("paths") or {}
    if record.get("version") == 2 and "" in paths:
        return os.path.join(paths[""], "cgroup.freeze"), "1", "0"
    if "freezer" in paths:
        return os.path.join(paths["freezer"], "freezer.state"), "FROZEN", "THAWED"
    return None


def is_frozen(record: dict[str, Any]) -> bool:
    freezer = _freezer(record)
    if freezer is None:
        return False
    try:
        with open(freezer[0]) as f:
            return f.read().strip() == freezer[1]
    except FileNotFoundError:
        return False


def thaw(record: dict[str, Any]) -> None:
    freezer = _freezer(record)
    if freezer is not None and is_frozen(record):
        with open(freezer[0], "w") as f:
            f.write(freezer[2])


def remove(record: dict[str, Any]) -> None:
    """Remove the container's cgroups. A killed process keeps its cgroup busy until it has
    been reaped, which its parent (the caller's subreaper) may do a little later: retry."""
    for directory in (record.get("paths") or {}).values():
        for _ in range(500):
            try:
                os.rmdir(directory)
                break
            except FileNotFoundError:
                break
            except OSError as err:
                if err.errno != errno.EBUSY:
                    raise PyruncError(f"cgroup {directory}: {err.strerror}") from None
                time.sleep(0.01)
