"""The root filesystem: mounts, devices, masked and read-only paths, sysctl, pivot_root.

Mount options are parsed here, the way runc parses them (flags, flags to clear,
propagation, and everything else as filesystem data), so the C side only calls mount(2).
Bind sources are resolved against the bundle; destinations are resolved by the C side
inside the rootfs (native/init/rootfs.c), never following symlinks out of it.
"""

from __future__ import annotations

import os
from typing import Any

from pyrunc.linux.plan import (
    T_BIND_DEVICES,
    T_DEFAULT_DEVICES,
    T_DEVICE,
    T_MASKED_PATH,
    T_MOUNT,
    T_NO_PIVOT,
    T_READONLY_PATH,
    T_ROOT_READONLY,
    T_ROOTFS,
    T_ROOTFS_PROPAGATION,
    T_SYSCTL,
    Record,
    flag,
    s,
    u32,
)

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_SYNCHRONOUS, MS_REMOUNT, MS_MANDLOCK, MS_DIRSYNC = 16, 32, 64, 128
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 1024, 2048, 4096, 16384
MS_SILENT, MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE = 32768, 1 << 17, 1 << 18, 1 << 19
MS_SHARED, MS_RELATIME, MS_IVERSION, MS_STRICTATIME, MS_LAZYTIME = (
    1 << 20, 1 << 21, 1 << 23, 1 << 24, 1 << 25)

# option -> (clear?, flag), as runc's parseMountOptions
FLAGS: dict[str, tuple[bool, int]] = {
    "async": (True, MS_SYNCHRONOUS), "atime": (True, MS_NOATIME), "bind": (False, MS_BIND),
    "defaults": (False, 0), "dev": (True, MS_NODEV), "diratime": (True, MS_NODIRATIME),
    "dirsync": (False, MS_DIRSYNC), "exec": (True, MS_NOEXEC), "iversion": (False, MS_IVERSION),
    "lazytime": (False, MS_LAZYTIME), "loud": (True, MS_SILENT), "mand": (False, MS_MANDLOCK),
    "noatime": (False, MS_NOATIME), "nodev": (False, MS_NODEV),
    "nodiratime": (False, MS_NODIRATIME), "noexec": (False, MS_NOEXEC),
    "noiversion": (True, MS_IVERSION), "nolazytime": (True, MS_LAZYTIME),
    "nomand": (True, MS_MANDLOCK), "norelatime": (True, MS_RELATIME),
    "nostrictatime": (True, MS_STRICTATIME), "nosuid": (False, MS_NOSUID),
    "rbind": (False, MS_BIND | MS_REC), "relatime": (False, MS_RELATIME),
    "remount": (False, MS_REMOUNT), "ro": (False, MS_RDONLY), "rw": (True, MS_RDONLY),
    "silent": (False, MS_SILENT), "strictatime": (False, MS_STRICTATIME),
    "suid": (True, MS_NOSUID), "sync": (False, MS_SYNCHRONOUS),
}
PROPAGATION = {
    "private": MS_PRIVATE, "rprivate": MS_PRIVATE | MS_REC, "shared": MS_SHARED,
    "rshared": MS_SHARED | MS_REC, "slave": MS_SLAVE, "rslave": MS_SLAVE | MS_REC,
    "unbindable": MS_UNBINDABLE, "runbindable": MS_UNBINDABLE | MS_REC,
}
UNSUPPORTED = {"idmap", "ridmap", "tmpcopyup"} | {
    f"r{o}" for o in ("ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec",
                      "noatime", "atime", "nodiratime", "diratime", "relatime", "norelatime",
                      "strictatime", "nostrictatime", "nosymfollow", "symfollow")}
KIND_FS, KIND_BIND = 0, 1

S_IFCHR, S_IFBLK, S_IFIFO = 0o020000, 0o060000, 0o010000
DEVICE_TYPES = {"c": S_IFCHR, "u": S_IFCHR, "b": S_IFBLK, "p": S_IFIFO}
DEFAULT_DEVICES = [("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7),
                   ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0)]

IPC_SYSCTLS = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
               "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}


def parse_options(options: list[str], where: str) -> tuple[int, int, str]:
    """(flags, propagation, data) from a mount's options."""
    flags = propagation = 0
    data: list[str] = []
    for i, option in enumerate(options):
        if option in FLAGS:
            clear, bit = FLAGS[option]
            flags = flags & ~bit if clear else flags | bit
        elif option in PROPAGATION:
            propagation |= PROPAGATION[option]
        elif option in UNSUPPORTED:
            raise ValueError(f'{where}.options[{i}]: "{option}" is not supported by pyrunc yet')
        else:
            data.append(option)
    return flags, propagation, ",".join(data)


def _host_cgroup_hierarchies() -> list[tuple[str, str]]:
    """(name under /sys/fs/cgroup, mount data) of the host's cgroup hierarchies."""
    from pyrunc.linux.cgroups import host_hierarchies

    return host_hierarchies()


def _mount_records(i: int, mount: dict[str, Any], bundle: str) -> list[Record]:
    where = f"mounts[{i}]"
    dest = mount["destination"]
    if not dest.startswith("/"):
        dest = "/" + dest  # runtime-spec: relative destinations are relative to "/"
    fstype = mount.get("type") or ""
    source = mount.get("source") or ""
    flags, propagation, data = parse_options(mount.get("options") or [], where)
    if fstype == "bind" or flags & MS_BIND:
        if not source:
            raise ValueError(f"{where}.source: a bind mount needs a source")
        source = os.path.normpath(os.path.join(bundle, source))
        return [(T_MOUNT, u32(flags | MS_BIND, propagation, KIND_BIND)
                 + s(source, dest, "", data))]
    if fstype == "cgroup":
        hierarchies = _host_cgroup_hierarchies()
        if [n for n, _ in hierarchies] == [""]:  # cgroup v2 only: mount it directly
            return [(T_MOUNT, u32(flags, propagation, KIND_FS)
                     + s("cgroup2", dest, "cgroup2", data))]
        # v1 and hybrid, as runc: a tmpfs holding one mount per hierarchy
        records: list[Record] = [(T_MOUNT, u32(flags & ~MS_RDONLY, propagation, KIND_FS)
                                  + s("tmpfs", dest, "tmpfs", "mode=755"))]
        for name, opts in hierarchies:
            sub_type = "cgroup2" if opts == "" else "cgroup"
            records.append((T_MOUNT, u32(flags, 0, KIND_FS)
                            + s("cgroup", f"{dest}/{name or 'unified'}", sub_type, opts)))
        return records
    if not fstype:
        raise ValueError(f"{where}.type: required for a mount that is not a bind mount")
    return [(T_MOUNT, u32(flags, propagation, KIND_FS) + s(source, dest, fstype, data))]


def _sysctl_records(config: dict[str, Any], namespaces: dict[str, str | None]) -> list[Record]:
    records: list[Record] = []
    for key, value in ((config.get("linux") or {}).get("sysctl") or {}).items():
        name = key.replace("/", ".")
        if name in IPC_SYSCTLS or name.startswith("fs.mqueue."):
            needed = "ipc"
        elif name.startswith("net."):
            needed = "network"
        elif name in ("kernel.hostname", "kernel.domainname"):
            needed = "uts"
        else:
            raise ValueError(f'linux.sysctl: "{key}" is not namespaced: cannot be set in a '
                             "container")
        if needed not in namespaces:
            raise ValueError(f'linux.sysctl: "{key}" needs a {needed} namespace')
        records.append((T_SYSCTL, s(name, str(value))))
    return records


def _device_records(config: dict[str, Any], default_devices: bool) -> list[Record]:
    devices = (config.get("linux") or {}).get("devices") or []
    configured = {d.get("path") for d in devices}
    records: list[Record] = []
    if default_devices:
        for path, major, minor in DEFAULT_DEVICES:
            if path not in configured:
                records.append((T_DEVICE, u32(S_IFCHR | 0o666, major, minor, 0, 0) + s(path)))
    for i, dev in enumerate(devices):
        kind = dev.get("type")
        if kind not in DEVICE_TYPES:
            raise ValueError(f'linux.devices[{i}].type: unknown device type "{kind}"')
        if kind != "p" and ("major" not in dev or "minor" not in dev):
            raise ValueError(f"linux.devices[{i}]: major and minor are required for type {kind}")
        mode = DEVICE_TYPES[kind] | (int(dev.get("fileMode", 0o666)) & 0o7777)
        records.append((T_DEVICE, u32(mode, int(dev.get("major", 0)), int(dev.get("minor", 0)),
                                      int(dev.get("uid", 0)), int(dev.get("gid", 0)))
                        + s(dev["path"])))
    return records


def records(config: dict[str, Any], bundle: str, namespaces: dict[str, str | None], *,
            no_pivot: bool) -> list[Record]:
    root = config["root"]
    rootfs = os.path.realpath(os.path.join(bundle, root["path"]))
    found: list[Record] = [(T_ROOTFS, s(rootfs))]
    linux = config.get("linux") or {}
    propagation = linux.get("rootfsPropagation")
    if propagation:
        if propagation not in PROPAGATION:
            raise ValueError(f'linux.rootfsPropagation: unknown propagation "{propagation}"')
        found.append((T_ROOTFS_PROPAGATION, u32(PROPAGATION[propagation])))
    mounts = config.get("mounts") or []
    for i, mount in enumerate(mounts):
        found += _mount_records(i, mount, bundle)
    # as runc: no device nodes when /dev itself comes from the host
    dev_from_host = any(m.get("destination") == "/dev" and
                        (m.get("type") == "bind" or "bind" in (m.get("options") or []) or
                         "rbind" in (m.get("options") or [])) for m in mounts)
    found += _device_records(config, not dev_from_host)
    found.append(flag(T_DEFAULT_DEVICES, not dev_from_host))
    found.append(flag(T_BIND_DEVICES, namespaces.get("user", "host") is None))
    found += [(T_MASKED_PATH, s(p)) for p in linux.get("maskedPaths") or []]
    found += [(T_READONLY_PATH, s(p)) for p in linux.get("readonlyPaths") or []]
    found += _sysctl_records(config, namespaces)
    found.append(flag(T_ROOT_READONLY, bool(root.get("readonly"))))
    found.append(flag(T_NO_PIVOT, no_pivot))
    return found
