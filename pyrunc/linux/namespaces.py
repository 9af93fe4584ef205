"""Namespaces: which to create, which to join by path, and the user namespace's id maps."""

from __future__ import annotations

import errno
import os

from pyrunc.linux.plan import T_NS_JOIN, T_NS_NEW, T_TIME_OFFSETS, s, u32

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

    from pyrunc.linux.plan import Record

# CLONE_NEW* flags
FLAGS = {
    "mount": 0x00020000, "uts": 0x04000000, "ipc": 0x08000000, "user": 0x10000000,
    "pid": 0x20000000, "network": 0x40000000, "cgroup": 0x02000000, "time": 0x00000080,
}
PROC_NAMES = {"mount": "mnt", "uts": "uts", "ipc": "ipc", "user": "user", "pid": "pid",
              "network": "net", "cgroup": "cgroup", "time": "time"}


def namespace_types(config: dict[str, Any]) -> dict[str, str | None]:
    """type -> path (None: a new namespace)."""
    return {ns["type"]: ns.get("path") or None
            for ns in (config.get("linux") or {}).get("namespaces") or []}


def records(config: dict[str, Any]) -> list[Record]:
    found: list[Record] = []
    namespaces = namespace_types(config)
    linux = config.get("linux") or {}
    for i, ns in enumerate(linux.get("namespaces") or []):
        kind, path = ns["type"], ns.get("path")
        if path:
            if not os.path.isabs(path):
                raise ValueError(f'linux.namespaces[{i}].path: must be absolute, got "{path}"')
            found.append((T_NS_JOIN, u32(FLAGS[kind]) + s(path)))
        else:
            found.append((T_NS_NEW, u32(FLAGS[kind])))
    offsets = linux.get("timeOffsets")
    if offsets:
        if namespaces.get("time", "joined") is not None:
            raise ValueError("linux.timeOffsets: needs a new time namespace")
        clocks = {"monotonic": "monotonic", "boottime": "boottime"}
        lines = [f"{clocks[name]} {int(v.get('secs', 0))} {int(v.get('nanosecs', 0))}\n"
                 for name, v in offsets.items() if name in clocks]
        found.append((T_TIME_OFFSETS, s("".join(lines))))
    if "user" in namespaces and namespaces["user"] is None:
        for key in ("uidMappings", "gidMappings"):
            if not linux.get(key):
                raise ValueError(f"linux.{key}: a new user namespace needs uidMappings and "
                                 "gidMappings")
    if config.get("hostname") and "uts" not in namespaces:
        raise ValueError("hostname: needs a UTS namespace (add one to linux.namespaces)")
    return found


def id_map_text(mappings: list[dict[str, int]]) -> str:
    return "".join(f"{m['containerID']} {m['hostID']} {m['size']}\n" for m in mappings)


def write_id_maps(config: dict[str, Any], pid: int) -> None:
    """Write the uid/gid maps of ``pid``'s new user namespace (from the parent side).

    As non-root (rootless), like runc: a gid map of just our own egid is written directly,
    after setgroups is denied (the kernel's condition for an unprivileged gid_map); any
    other map, and a uid map we may not write, goes through newuidmap/newgidmap (shadow's
    setuid helpers, which check /etc/subuid and /etc/subgid)."""
    linux = config.get("linux") or {}
    rootless = os.geteuid() != 0
    for name, key in (("uid_map", "uidMappings"), ("gid_map", "gidMappings")):
        mappings = linux.get(key) or []
        if not mappings:
            continue
        if rootless and name == "gid_map":
            own = [{"containerID": m["containerID"], "hostID": m["hostID"], "size": m["size"]}
                   for m in mappings] == [{"containerID": 0, "hostID": os.getegid(), "size": 1}]
            if not own:
                _run_map_tool(key, "newgidmap", pid, mappings)
                continue
            _deny_setgroups(pid)
        try:
            _write_proc(pid, name, id_map_text(mappings))
        except OSError as err:
            if not (rootless and err.errno == errno.EPERM):  # not ours to map
                raise ValueError(f"linux.{key}: cannot write {name}: {err.strerror}"
                                 ) from None
            _run_map_tool(key, "newuidmap" if name == "uid_map" else "newgidmap", pid,
                          mappings)


def _write_proc(pid: int, name: str, text: str) -> None:
    fd = os.open(f"/proc/{pid}/{name}", os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _deny_setgroups(pid: int) -> None:
    """Deny setgroups in ``pid``'s user namespace. Where the kernel refuses, the gid_map
    write that follows fails too and falls back to newgidmap."""
    try:
        _write_proc(pid, "setgroups", "deny")
    except OSError:
        pass


def _run_map_tool(key: str, tool: str, pid: int, mappings: list[dict[str, int]]) -> None:
    """Map ids we do not own through shadow's setuid helper (its own error, one line)."""
    import shutil
    import subprocess

    path = shutil.which(tool)
    if path is None:
        raise ValueError(f"linux.{key}: maps ids other than the caller's own, which needs "
                         f"{tool} (package uidmap) and an entry in /etc/sub"
                         f"{'uid' if tool == 'newuidmap' else 'gid'}")
    args = [path, str(pid)]
    for m in mappings:
        args += [str(m["containerID"]), str(m["hostID"]), str(m["size"])]
    proc = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        why = proc.stderr.decode(errors="replace").strip().splitlines()
        raise ValueError(f"linux.{key}: {tool} failed: "
                         f"{why[-1] if why else f'exit status {proc.returncode}'}")
