"""Namespaces: which to create, which to join by path, and the user namespace's id maps."""

from __future__ import annotations

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
    """Write the uid/gid maps of ``pid``'s new user namespace (from the parent side)."""
    linux = config.get("linux") or {}
    uid_map = id_map_text(linux.get("uidMappings") or [])
    gid_map = id_map_text(linux.get("gidMappings") or [])
    for name, text in (("uid_map", uid_map), ("gid_map", gid_map)):
        if not text:
            continue
        fd = os.open(f"/proc/{pid}/{name}", os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, text.encode())
        except OSError as err:
            field = "uidMappings" if name == "uid_map" else "gidMappings"
            raise ValueError(f"linux.{field}: cannot write {name}: {err.strerror}") from None
        finally:
            os.close(fd)
