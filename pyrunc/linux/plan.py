"""The launch plan: config.json resolved into the records pyrunc-init reads.

Record tags mirror native/include/plan.h. Each subsystem module encodes its own records
(namespaces.py, mounts.py, process.py); this module frames them and adds the core ones.
Encoders raise ValueError("<json path>: <why>") for a field they cannot honour.
"""

from __future__ import annotations

import struct

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

MAGIC = b"PRPL"
VERSION = 1

# core
T_NS_NEW = 0x01
T_NS_JOIN = 0x02
T_HOSTNAME = 0x03
T_DOMAINNAME = 0x04
T_HOOK_CREATE_CONTAINER = 0x05
T_HOOK_START_CONTAINER = 0x06
T_TERMINAL = 0x07
T_PRESERVE_FDS = 0x08
T_TIME_OFFSETS = 0x09
T_NEW_KEYRING = 0x0A
T_USERNS_MAPS = 0x0B
T_EXEC = 0x0C
T_CGROUP_TASKS = 0x0D
T_CGROUP2_DIR = 0x0E
# root filesystem
T_ROOTFS = 0x100
T_ROOTFS_PROPAGATION = 0x101
T_MOUNT = 0x102
T_MASKED_PATH = 0x103
T_READONLY_PATH = 0x104
T_ROOT_READONLY = 0x105
T_SYSCTL = 0x106
T_DEVICE = 0x107
T_NO_PIVOT = 0x108
T_DEFAULT_DEVICES = 0x109
T_BIND_DEVICES = 0x10A
# process
T_ARG = 0x200
T_ENV = 0x201
T_CWD = 0x202
T_USER = 0x203
T_ADDITIONAL_GID = 0x204
T_CAPS = 0x205
T_RLIMIT = 0x206
T_NO_NEW_PRIVS = 0x207
T_SCHEDULER = 0x208
T_IOPRIO = 0x209
T_PERSONALITY = 0x20A
T_LSM_EXEC = 0x20B
T_SECCOMP = 0x20C

Record = tuple[int, bytes]


def s(*strings: str) -> bytes:
    """NUL-terminated strings, as the C side reads them."""
    return b"".join(x.encode() + b"\0" for x in strings)


def u32(*values: int) -> bytes:
    return struct.pack(f"={len(values)}I", *values)


def u64(*values: int) -> bytes:
    return struct.pack(f"={len(values)}Q", *values)


def flag(tag: int, value: bool) -> Record:
    return (tag, u32(1 if value else 0))


def _hook(hook: dict[str, Any]) -> bytes:
    args = hook.get("args") or []
    env = hook.get("env")
    # the schema sets no maximum: beyond u32 seconds (136 years) is as good as none
    return (u32(min(int(hook.get("timeout") or 0), 0xFFFFFFFF), len(args),
                0xFFFFFFFF if env is None else len(env))
            + s(hook["path"], *args, *(env or [])))


def core_records(config: dict[str, Any], *, preserve_fds: int, no_new_keyring: bool,
                 has_userns_maps: bool) -> list[Record]:
    records: list[Record] = []
    if "hostname" in config:
        records.append((T_HOSTNAME, s(config["hostname"])))
    if "domainname" in config:
        records.append((T_DOMAINNAME, s(config["domainname"])))
    hooks = config.get("hooks") or {}
    records += [(T_HOOK_CREATE_CONTAINER, _hook(h)) for h in hooks.get("createContainer") or []]
    records += [(T_HOOK_START_CONTAINER, _hook(h)) for h in hooks.get("startContainer") or []]
    records.append(flag(T_TERMINAL, bool((config.get("process") or {}).get("terminal"))))
    records.append((T_PRESERVE_FDS, u32(preserve_fds)))
    records.append(flag(T_NEW_KEYRING, not no_new_keyring))
    records.append(flag(T_USERNS_MAPS, has_userns_maps))
    return records


def encode(records: list[Record]) -> bytes:
    out = [MAGIC, u32(VERSION)]
    for tag, payload in records:
        out.append(struct.pack("=II", tag, len(payload)))
        out.append(payload)
    return b"".join(out)
