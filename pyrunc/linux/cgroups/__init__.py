"""cgroups: placement and resource control for v1, v2 (unified) and hybrid hosts.

The mode is detected at run time from /proc/self/mountinfo: v2 when the only hierarchy with
controllers is a cgroup2 mount, hybrid when v1 controller hierarchies sit beside a cgroup2 mount
(usually /sys/fs/cgroup/unified), else v1. In hybrid mode each controller is used where it lives:
its v1 hierarchy if it has one, else the cgroup2 mount (see docs/cgroups.md).

Paths follow runc: an absolute ``cgroupsPath`` is taken from each hierarchy's root, a relative
one from pyrunc's own cgroup in that hierarchy, an empty one is ``<own cgroup>/<id>``; with
``--systemd-cgroup`` it is ``slice:prefix:name`` laid out as systemd would lay out the unit;
where systemd runs, the unit is made over D-Bus first (_systemd.py), then pyrunc writes the
cgroupfs files in its cgroups as without systemd.

The record kept in state.json: ``{"version": 1|2, "mode": "v1"|"hybrid"|"v2",
"paths": {hierarchy: directory}}`` where a hierarchy is a v1 controller list ("cpu,cpuacct",
"name=systemd") or "" for cgroup2, plus ``"unit": name`` for a systemd unit (records without
it have none).

Only the stdlib is imported here; resource planning, stats and the eBPF device program live in
submodules imported when needed.
"""

from __future__ import annotations

import errno
import os
import time

from pyrunc.errors import PyruncError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["Layout", "add_process", "features", "freeze", "host_hierarchies",
           "is_frozen", "join", "pids", "remove", "start_warming", "stats", "thaw", "update"]


def _mounts(mountinfo: str = "/proc/self/mountinfo") -> dict[str, str]:
    """hierarchy -> mount point, from mountinfo (cgroup and cgroup2 mounts only)."""
    found: dict[str, str] = {}
    with open(mountinfo) as f:
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


class Layout:
    """The cgroup hierarchies to work in: mount points and our own cgroup in each. Detected from
    /proc by default; tests inject a fake tree (a tmp dir standing for a cgroup2 mount).
    (Plain classes in this package: importing dataclasses costs ~10 ms per command.)"""

    __slots__ = ("mounts", "own")

    def __init__(self, mounts: dict[str, str], own: dict[str, str] | None = None) -> None:
        self.mounts = mounts
        self.own: dict[str, str] = own if own is not None else {}

    @classmethod
    def detect(cls) -> Layout:
        return cls(_mounts(), _own_cgroups())

    @property
    def mode(self) -> str:
        v1 = [h for h in self.mounts if h and not all(c.startswith("name=")
                                                      for c in h.split(","))]
        if not v1:
            return "v2"
        return "hybrid" if "" in self.mounts else "v1"


def start_warming(layout: Layout | None = None) -> Callable[[], None]:
    """Begin paying the kernel's wait before a first cgroup migration in the background, while
    the caller does other work; returns ``stop`` (call it after the real migrations).
    See _migration.py."""
    from pyrunc.linux.cgroups._migration import start_warming as start

    return start(layout or Layout.detect())


def _systemd_unit(path: str, container_id: str) -> tuple[str, str]:
    """(parent slice, unit) of a --systemd-cgroup cgroupsPath "slice:prefix:name"."""
    if not path:
        return "system.slice", f"runc-{container_id}.scope"
    parts = path.split(":")
    if len(parts) != 3:
        raise PyruncError(f'linux.cgroupsPath: expected "slice:prefix:name" for systemd cgroups,'
                          f' got "{path}"')
    slice_, prefix, name = parts
    slice_ = slice_ or "system.slice"
    if "/" in slice_ or not slice_.endswith(".slice") or not name or "/" in name:
        raise PyruncError(f'linux.cgroupsPath: "{path}" is not a valid slice:prefix:name')
    unit = name if name.endswith(".slice") else (f"{prefix}-{name}.scope" if prefix
                                                  else f"{name}.scope")
    return slice_, unit


def _systemd_path(path: str, container_id: str) -> str:
    """slice:prefix:name as the path systemd gives that unit (runc's systemd driver layout).
    Where systemd runs, the unit is made over D-Bus (_systemd.py); elsewhere pyrunc only
    lays the cgroups out this way."""
    slice_, unit = _systemd_unit(path, container_id)
    return _expand_slice(slice_) + "/" + unit


def _expand_slice(slice_: str) -> str:
    """a-b-c.slice lives in /a.slice/a-b.slice/a-b-c.slice; -.slice is the root."""
    stem = slice_[:-len(".slice")]
    if stem == "-":
        return ""
    words = stem.split("-")
    return "".join("/" + "-".join(words[:i + 1]) + ".slice" for i in range(len(words)))


def _cgroup_path(config: dict[str, Any], container_id: str, systemd: bool) -> str:
    path = str((config.get("linux") or {}).get("cgroupsPath") or "")
    if systemd:
        return _systemd_path(path, container_id)
    if not path:
        return container_id
    if ".." in path.split("/"):
        raise PyruncError(f'linux.cgroupsPath: "{path}" must not contain ".."')
    return path


def _paths(layout: Layout, inner: str) -> dict[str, str]:
    paths: dict[str, str] = {}
    for hierarchy, mountpoint in layout.mounts.items():
        base = "/" if inner.startswith("/") else layout.own.get(hierarchy, "/")
        paths[hierarchy] = os.path.normpath(os.path.join(mountpoint, base.lstrip("/"),
                                                         inner.lstrip("/")))
    return paths


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def join(config: dict[str, Any], container_id: str, pid: int | None, systemd: bool = False, *,
         layout: Layout | None = None, rootless: bool = False,
         before_create: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Create the container's cgroups, apply linux.resources (all of it, devices included),
    then move ``pid`` in (None: the init enters them by itself, see LaunchRequest.cgroups;
    not with systemd, whose unit needs the pid). On failure nothing created here is left
    behind. ``before_create``
    gets the record before the first directory is made (so that it can be saved: a runtime
    killed half-way leaves a state whose `delete` finds every cgroup).

    ``rootless`` (runc's rule): with no linux.cgroupsPath, a hierarchy the caller may not
    write is left out, unless a resource needs it (then a one-line error naming it); device
    rules are tried but their failure ignored (they need CAP_SYS_ADMIN in the host's
    namespace). An explicit cgroupsPath must be writable (delegated) as for root."""
    layout = layout or Layout.detect()
    inner = _cgroup_path(config, container_id, systemd)
    mode = layout.mode
    paths = _paths(layout, inner)
    record: dict[str, Any] = {"version": 2 if mode == "v2" else 1, "mode": mode, "paths": paths}
    resources = (config.get("linux") or {}).get("resources") or {}
    unit = ""
    if systemd and not rootless:
        from pyrunc.linux.cgroups import _systemd

        if _systemd.booted():
            slice_, unit = _systemd_unit(str((config.get("linux") or {}).get("cgroupsPath")
                                             or ""), container_id)
            record["unit"] = unit  # saved before the unit is made: `delete` stops it
    if before_create is not None:
        before_create(record)
    if unit:
        assert pid is not None, "a systemd unit is made with its first process"
        _systemd.start_unit(unit, slice_, pid, container_id, resources, mode == "v2", inner)
    try:
        return _join(layout, mode, record, paths, resources, config, pid, rootless)
    except BaseException:
        if unit:
            assert pid is not None
            _stop_failed_unit(unit, pid)
        raise


def _stop_failed_unit(unit: str, pid: int) -> None:
    """Take back the unit of a create that failed (its init killed first, see _systemd._kill);
    the original error is the one to report."""
    from pyrunc.linux.cgroups import _systemd

    _systemd._kill(pid)
    try:
        _systemd.stop_unit(unit)
    except PyruncError:
        pass


def _join(layout: Layout, mode: str, record: dict[str, Any], paths: dict[str, str],
          resources: dict[str, Any], config: dict[str, Any], pid: int | None, rootless: bool
          ) -> dict[str, Any]:
    optional = rootless and not (config.get("linux") or {}).get("cgroupsPath")
    created: dict[str, list[str]] = {}  # hierarchy -> the directories made there
    skipped: dict[str, str] = {}  # hierarchy -> why (rootless)
    where = ""
    try:
        for hierarchy, directory in paths.items():
            where = directory
            mine = created.setdefault(hierarchy, [])
            try:
                _make_dirs(layout.mounts[hierarchy], directory, mine)
                if "cpuset" in hierarchy.split(","):
                    _inherit_cpuset(layout.mounts[hierarchy], directory)
                if hierarchy == "":
                    _enable_controllers(layout, mode, directory, rootless=rootless)
            except OSError as err:
                if not (optional and err.errno in _DENIED):
                    raise
                _undo(created.pop(hierarchy))
                skipped[hierarchy] = f"{directory}: {err.strerror}"
        from pyrunc.linux.cgroups import _resources

        config_devices = (config.get("linux") or {}).get("devices")
        if not rootless:
            _resources.apply(record, resources, defaults=True, config_devices=config_devices)
        else:
            devices = {"devices": resources.get("devices") or []}
            resources = {k: v for k, v in resources.items() if k != "devices"}
            if skipped:
                _check_rootless(record, resources, skipped)
                record["paths"] = paths = {h: d for h, d in paths.items() if h not in skipped}
            _resources.apply(record, resources, defaults=False)
            try:
                _resources.apply(record, devices, defaults=True, config_devices=config_devices)
            except (PyruncError, OSError):
                pass  # runc too: device rules need CAP_SYS_ADMIN in the host's namespace
        for hierarchy, directory in list(paths.items()) if pid is not None else []:
            where = directory
            try:
                _write(os.path.join(directory, "cgroup.procs"), str(pid))
            except OSError as err:
                if not (optional and err.errno in _DENIED):
                    raise
                # a cgroup we could make but not enter (v2: the common ancestor is not ours)
                skipped[hierarchy] = f"{directory}/cgroup.procs: {err.strerror}"
                _check_rootless(record, resources, skipped)
                del paths[hierarchy]
                _undo(created.pop(hierarchy, []))
    except OSError as err:
        _undo_all(created)
        hint = " (rootless: the cgroup must be delegated to this user)" if rootless else ""
        raise PyruncError(f"cgroup {where}: {err.strerror}{hint}") from None
    except BaseException:
        _undo_all(created)
        raise
    return record


_DENIED = (errno.EPERM, errno.EACCES, errno.EROFS)


def _check_rootless(record: dict[str, Any], resources: dict[str, Any],
                    skipped: dict[str, str]) -> None:
    """A resource whose controller is in a hierarchy left out cannot be applied: say which."""
    from pyrunc.linux.cgroups import _resources

    target = _resources.Target(record)
    for write in _resources.plan(resources, target, defaults=False).writes:
        for hierarchy in skipped:
            if (write.controller in hierarchy.split(",") if hierarchy
                    else not target.v1(write.controller)):
                raise PyruncError(f"{write.field}: cannot be applied rootless: cgroup "
                                  f"{skipped[hierarchy]} (delegate it to this user, or drop "
                                  "the limit)")


def _make_dirs(mountpoint: str, directory: str, created: list[str]) -> None:
    """mkdir -p, remembering each level made so a failed join can take exactly those back."""
    missing = []
    current = directory
    while current != mountpoint and not os.path.isdir(current):
        missing.append(current)
        current = os.path.dirname(current)
    for path in reversed(missing):
        try:
            os.mkdir(path)
        except FileExistsError:
            continue  # a concurrent create made it: not ours to remove
        created.append(path)


def _undo_all(created: dict[str, list[str]]) -> None:
    for made in created.values():
        _undo(made)


def _undo(created: list[str]) -> None:
    for path in reversed(created):
        try:
            os.rmdir(path)
        except OSError:
            pass


def _enable_controllers(layout: Layout, mode: str, directory: str, *,
                        rootless: bool = False) -> None:
    """Enable controllers in cgroup.subtree_control of each ancestor, as runc does. In hybrid
    mode only those that no v1 hierarchy has (hugetlb here): the rest are used through v1."""
    mountpoint = layout.mounts[""]
    v1 = {c for h in layout.mounts if h for c in h.split(",")}
    relative = os.path.relpath(directory, mountpoint)
    parent = mountpoint
    for part in relative.split(os.sep)[:-1] if relative != "." else []:
        _enable_in(parent, v1 if mode == "hybrid" else set(), rootless)
        parent = os.path.join(parent, part)
    if relative != ".":
        _enable_in(parent, v1 if mode == "hybrid" else set(), rootless)


def _enable_in(directory: str, skip: set[str], rootless: bool = False) -> None:
    try:
        available = _read(os.path.join(directory, "cgroup.controllers")).split()
        enabled = _read(os.path.join(directory, "cgroup.subtree_control")).split()
    except FileNotFoundError:
        return
    for controller in available:
        if controller in skip or controller in enabled:
            continue
        try:
            _write(os.path.join(directory, "cgroup.subtree_control"), f"+{controller}")
        except OSError as err:
            # EBUSY: the parent holds processes (no internal processes rule). The controller
            # is then missing below, which is an error only if a resource needs it.
            # Rootless, the ancestors above a delegated subtree are not ours: runc goes on
            # too, and only a resource that needs a missing controller fails.
            if err.errno not in (errno.EBUSY, errno.EOPNOTSUPP, errno.ENOTSUP) and not (
                    rootless and err.errno in _DENIED):
                raise


def _inherit_cpuset(mountpoint: str, directory: str) -> None:
    """A new v1 cpuset starts with no cpus or mems and refuses tasks (ENOSPC): copy the
    parent's down each level we created, as runc does."""
    relative = os.path.relpath(directory, mountpoint)
    parent = mountpoint
    for part in relative.split(os.sep):
        current = os.path.join(parent, part)
        for name in ("cpuset.cpus", "cpuset.mems"):
            if _read(os.path.join(current, name)):
                continue
            _write(os.path.join(current, name), _read(os.path.join(parent, name)))
        parent = current


def add_process(record: dict[str, Any], pid: int) -> None:
    """Put ``pid`` (a process of ``pyrunc exec``) into every cgroup of the container."""
    for directory in (record.get("paths") or {}).values():
        try:
            _write(os.path.join(directory, "cgroup.procs"), str(pid))
        except OSError as err:
            raise PyruncError(f"cgroup {directory}: adding process {pid}: {err.strerror}"
                              ) from None


def update(record: dict[str, Any], resources: dict[str, Any]) -> None:
    """Apply a linux.resources-shaped dict to a live container: only the keys present (and,
    in a systemd unit, its properties first, as runc)."""
    from pyrunc.linux.cgroups import _resources

    if record.get("unit"):
        from pyrunc.linux.cgroups import _systemd

        _systemd.set_properties(record["unit"], resources, record.get("mode") == "v2")
    _resources.apply(record, resources, defaults=False, updating=True)


def _primary(record: dict[str, Any]) -> str | None:
    paths: dict[str, str] = record.get("paths") or {}
    for hierarchy in ("", "pids", "freezer", "memory"):
        if hierarchy in paths and (hierarchy or record.get("version") == 2):
            return paths[hierarchy]
    return next(iter(paths.values()), None)


def pids(record: dict[str, Any]) -> list[int]:
    """Every process in the container's cgroup and in the cgroups made below it (a nested
    systemd or runtime makes some), as runc's GetAllPids: `ps`, `kill --all` and `delete`
    reach them all."""
    directory = _primary(record)
    if not directory:
        return []
    found: list[int] = []
    for root, _dirs, _files in os.walk(directory):
        try:
            with open(os.path.join(root, "cgroup.procs")) as f:
                found += [int(line) for line in f if line.strip()]
        except FileNotFoundError:
            continue  # removed while we walked
    return found


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
        return _read(freezer[0]) == freezer[1]
    except FileNotFoundError:
        return False


def _really_frozen(record: dict[str, Any]) -> bool:
    """v2's cgroup.freeze says what was asked; cgroup.events says when it is done. v1's
    freezer.state reads FREEZING until every task has stopped."""
    paths: dict[str, str] = record.get("paths") or {}
    if record.get("version") == 2:
        events = _read(os.path.join(paths[""], "cgroup.events")).splitlines()
        return "frozen 1" in events
    return _read(os.path.join(paths["freezer"], "freezer.state")) == "FROZEN"


def freeze(record: dict[str, Any], timeout: float = 10.0) -> None:
    """Freeze every process of the container and wait until the kernel says they all are."""
    freezer = _freezer(record)
    if freezer is None:
        raise PyruncError("cgroup: no freezer (v1 freezer hierarchy or cgroup2) to pause with")
    deadline = time.monotonic() + timeout
    delay = 0.001
    try:
        _write(freezer[0], freezer[1])
        while not _really_frozen(record):
            if time.monotonic() > deadline:
                _write(freezer[0], freezer[2])
                raise PyruncError(f"cgroup {os.path.dirname(freezer[0])}: processes did not "
                                  f"freeze within {timeout:g}s")
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
            if record.get("version") != 2:
                _write(freezer[0], freezer[1])  # v1 can stall in FREEZING: ask again, as runc
    except OSError as err:
        raise PyruncError(f"cgroup {freezer[0]}: {err.strerror}") from None


def thaw(record: dict[str, Any]) -> None:
    freezer = _freezer(record)
    if freezer is not None and is_frozen(record):
        try:
            _write(freezer[0], freezer[2])
        except OSError as err:
            raise PyruncError(f"cgroup {freezer[0]}: {err.strerror}") from None


def remove(record: dict[str, Any]) -> None:
    """Remove the container's cgroups. A killed process keeps its cgroup busy until it has
    been reaped, which its parent (the caller's subreaper) may do a little later: retry.
    A systemd unit (--systemd-cgroup where systemd runs) is stopped first: systemd removes
    the cgroups it made, and what remains is removed here (a systemd no longer running has
    no unit to stop)."""
    if record.get("unit"):
        from pyrunc.linux.cgroups import _systemd

        if _systemd.booted():
            _systemd.stop_unit(record["unit"])
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
                if _remove_children(directory):
                    continue
                time.sleep(0.01)
        else:  # runc's RemovePath fails too: say so rather than leave it behind unsaid
            raise PyruncError(f"cgroup {directory}: still busy after 5 s (a process in it "
                              "that is not the container's, or not reaped)")


def _remove_children(directory: str) -> bool:
    """The cgroups made inside the container's own, deepest first, as runc's RemovePath: a
    container with a writable cgroup mount (a nested systemd, a nested runtime) leaves some,
    and a cgroup with children cannot be removed. Their processes died with the
    container's; one not reaped yet is retried by the caller's loop on the top directory.
    True when one was removed."""
    removed = False
    for root, dirs, _ in os.walk(directory, topdown=False):
        for name in dirs:
            try:
                os.rmdir(os.path.join(root, name))
                removed = True
            except OSError:
                pass
    return removed


def stats(record: dict[str, Any]) -> dict[str, Any]:
    """runc's ``events --stats`` data for the cgroup parts: cpu, memory, pids, blkio, hugetlb."""
    from pyrunc.linux.cgroups import _stats

    return _stats.collect(record)


def features() -> dict[str, bool]:
    """The linux.cgroup part of ``pyrunc features``. systemd: --systemd-cgroup makes a
    transient unit over D-Bus where systemd runs (_systemd.py); systemdUser is false (no
    rootless units through a user manager)."""
    return {"v1": True, "v2": True, "systemd": True, "systemdUser": False, "rdma": True}
