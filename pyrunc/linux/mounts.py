"""The root filesystem's records: rootfs, mounts, devices, masked/read-only paths, sysctl.

Mount options are parsed here the way runc parses them (flags to set and to clear,
propagation, recursive mount attributes, extensions, and everything else as filesystem
data), so native/init/rootfs.c only calls mount(2), mount_setattr(2) and friends. Bind
sources are resolved against the bundle; destinations are resolved by the C side inside
the rootfs, never following symlinks out of it. Record layouts: docs/rootfs.md.
"""

from __future__ import annotations

import os

from pyrunc.linux.devices import device_records
from pyrunc.linux.plan import (
    T_BIND_DEVICES,
    T_DEFAULT_DEVICES,
    T_MASKED_PATH,
    T_MOUNT,
    T_NO_PIVOT,
    T_READONLY_PATH,
    T_ROOT_READONLY,
    T_ROOTFS,
    T_ROOTFS_PROPAGATION,
    T_SYSCTL,
    flag,
    s,
    u32,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

    from pyrunc.linux.plan import (
        Record,
    )

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_SYNCHRONOUS, MS_REMOUNT, MS_MANDLOCK, MS_DIRSYNC = 16, 32, 64, 128
MS_NOSYMFOLLOW, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 256, 1024, 2048, 4096, 16384
MS_SILENT, MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE = 32768, 1 << 17, 1 << 18, 1 << 19
MS_SHARED, MS_RELATIME, MS_IVERSION, MS_STRICTATIME, MS_LAZYTIME = (
    1 << 20, 1 << 21, 1 << 23, 1 << 24, 1 << 25)

MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC = 1, 2, 4, 8
MOUNT_ATTR__ATIME, MOUNT_ATTR_RELATIME, MOUNT_ATTR_NOATIME = 0x70, 0, 0x10
MOUNT_ATTR_STRICTATIME, MOUNT_ATTR_NODIRATIME, MOUNT_ATTR_NOSYMFOLLOW = 0x20, 0x80, 0x200000

# option -> (clears?, MS_* flag), as runc's parseMountOptions
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
    "nosymfollow": (False, MS_NOSYMFOLLOW), "rbind": (False, MS_BIND | MS_REC),
    "relatime": (False, MS_RELATIME), "remount": (False, MS_REMOUNT), "ro": (False, MS_RDONLY),
    "rw": (True, MS_RDONLY), "silent": (False, MS_SILENT), "strictatime": (False, MS_STRICTATIME),
    "suid": (True, MS_NOSUID), "symfollow": (True, MS_NOSYMFOLLOW),
    "sync": (False, MS_SYNCHRONOUS),
}
PROPAGATION = {
    "private": MS_PRIVATE, "rprivate": MS_PRIVATE | MS_REC, "shared": MS_SHARED,
    "rshared": MS_SHARED | MS_REC, "slave": MS_SLAVE, "rslave": MS_SLAVE | MS_REC,
    "unbindable": MS_UNBINDABLE, "runbindable": MS_UNBINDABLE | MS_REC,
}
# recursive attributes (mount_setattr with AT_RECURSIVE): option -> (clears?, MOUNT_ATTR_*)
REC_ATTRS: dict[str, tuple[bool, int]] = {
    "rro": (False, MOUNT_ATTR_RDONLY), "rrw": (True, MOUNT_ATTR_RDONLY),
    "rnosuid": (False, MOUNT_ATTR_NOSUID), "rsuid": (True, MOUNT_ATTR_NOSUID),
    "rnodev": (False, MOUNT_ATTR_NODEV), "rdev": (True, MOUNT_ATTR_NODEV),
    "rnoexec": (False, MOUNT_ATTR_NOEXEC), "rexec": (True, MOUNT_ATTR_NOEXEC),
    "rnodiratime": (False, MOUNT_ATTR_NODIRATIME), "rdiratime": (True, MOUNT_ATTR_NODIRATIME),
    "rrelatime": (False, MOUNT_ATTR_RELATIME), "rnorelatime": (True, MOUNT_ATTR_RELATIME),
    "rnoatime": (False, MOUNT_ATTR_NOATIME), "ratime": (True, MOUNT_ATTR_NOATIME),
    "rstrictatime": (False, MOUNT_ATTR_STRICTATIME),
    "rnostrictatime": (True, MOUNT_ATTR_STRICTATIME),
    "rnosymfollow": (False, MOUNT_ATTR_NOSYMFOLLOW), "rsymfollow": (True, MOUNT_ATTR_NOSYMFOLLOW),
}
ATIME_ATTRS = MOUNT_ATTR_NOATIME | MOUNT_ATTR_STRICTATIME  # | RELATIME, which is 0

# T_MOUNT kinds and extension flags (native/include/rootfs_parts.h)
KIND_FS, KIND_BIND, KIND_SYMLINK, MK_EXT = 0, 1, 2, 0x100
EXT_DELAY_RO, EXT_COPYUP, EXT_IDMAP, EXT_IDMAP_REC = 0x01, 0x02, 0x04, 0x08
EXT_CGROUP_FALLBACK, EXT_OWN_CGROUP = 0x10, 0x20

IPC_SYSCTLS = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
               "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}
CGROUP_V1_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC


class MountOptions:
    """A mount's options, sorted the way runc sorts them. (Plain classes here and in the
    launcher: importing dataclasses costs `create` ~10 ms, docs/performance.md.)"""

    __slots__ = ("attr_clr", "attr_set", "clear", "copyup", "data", "flags", "idmap",
                 "propagation", "ridmap")

    def __init__(self, flags: int = 0, clear: int = 0,
                 propagation: list[int] | None = None) -> None:
        self.flags = flags
        self.clear = clear               # MS_* flags an option explicitly turned off
        self.propagation: list[int] = propagation if propagation is not None else []
        self.attr_set = 0
        self.attr_clr = 0
        self.copyup = False
        self.idmap = False
        self.ridmap = False
        self.data: list[str] = []


def parse_options(options: list[str], where: str = "mounts[0]") -> MountOptions:
    """Sort ``options`` into flags, propagation, recursive attributes, extensions and data."""
    o = MountOptions()
    for i, option in enumerate(options):
        if not isinstance(option, str) or "\0" in option:
            raise ValueError(f"{where}.options[{i}]: not a valid option: {option!r}")
        if option in FLAGS:
            clears, bit = FLAGS[option]
            if clears:
                o.flags &= ~bit
                o.clear |= bit
            else:
                o.flags |= bit
                o.clear &= ~bit
        elif option in PROPAGATION:
            o.propagation.append(PROPAGATION[option])
        elif option in REC_ATTRS:
            clears, attr = REC_ATTRS[option]
            if clears:
                o.attr_clr |= attr
                o.attr_set &= ~attr
            else:
                o.attr_set |= attr
                o.attr_clr &= ~attr
            if option in ("rrelatime", "rnorelatime", "rnoatime", "ratime", "rstrictatime",
                          "rnostrictatime"):
                # mount_setattr(2): an atime mode is set with MOUNT_ATTR__ATIME in attr_clr
                o.attr_clr |= MOUNT_ATTR__ATIME
        elif option == "tmpcopyup":
            o.copyup = True
        elif option == "idmap":
            o.idmap = True
        elif option == "ridmap":
            o.idmap = o.ridmap = True
        else:
            o.data.append(option)
    return o


def _clean_dest(where: str, dest: Any) -> str:
    if not isinstance(dest, str) or not dest or "\0" in dest:
        raise ValueError(f"{where}.destination: must be a path, got {dest!r}")
    parts = [p for p in dest.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValueError(f'{where}.destination: must not contain ".." (got "{dest}")')
    if not parts:
        raise ValueError(f'{where}.destination: "{dest}" is the root itself; mounting over '
                         "the rootfs is not supported")
    # runtime-spec: a relative destination is relative to "/"
    return "/" + "/".join(parts)


def _id_maps(where: str, maps: Any) -> list[tuple[int, int, int]]:
    found = []
    for j, m in enumerate(maps or []):
        try:
            triple = (int(m["containerID"]), int(m["hostID"]), int(m["size"]))
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{where}[{j}]: needs containerID, hostID and size") from None
        if not all(0 <= v <= 0xFFFFFFFF for v in triple) or triple[2] == 0:
            raise ValueError(f"{where}[{j}]: out of range: {triple}")
        found.append(triple)
    return found


class _Context:
    __slots__ = ("bundle", "config", "hierarchies", "namespaces")

    def __init__(self, config: dict[str, Any], bundle: str,
                 namespaces: dict[str, str | None]) -> None:
        self.config = config
        self.bundle = bundle
        self.namespaces = namespaces  # type -> path (None: a new namespace)
        self.hierarchies: list[tuple[str, str, str]] | None = None

    def cgroup_hierarchies(self) -> list[tuple[str, str, str]]:
        if self.hierarchies is None:
            self.hierarchies = host_cgroup_hierarchies()
        return self.hierarchies


def _ext(o: MountOptions, flags: int = 0, uid_maps: list[tuple[int, int, int]] | None = None,
         gid_maps: list[tuple[int, int, int]] | None = None, userns_path: str = "",
         fallback: str = "") -> bytes:
    uid_maps, gid_maps = uid_maps or [], gid_maps or []
    maps = [v for triple in uid_maps + gid_maps for v in triple]
    return (u32(flags | (EXT_COPYUP if o.copyup else 0), o.clear, o.attr_set, o.attr_clr,
                len(o.propagation), *o.propagation, len(uid_maps), len(gid_maps), *maps)
            + s(userns_path, fallback))


def _record(flags: int, kind: int, source: str, dest: str, fstype: str, data: str,
            ext: bytes) -> Record:
    return (T_MOUNT, u32(flags, 0, kind | MK_EXT) + s(source, dest, fstype, data) + ext)


def _idmap_ext(ctx: _Context, where: str, mount: dict[str, Any], o: MountOptions) -> bytes:
    """The extension of an idmapped bind mount: its mappings, or the user namespace's."""
    uid_maps = _id_maps(f"{where}.uidMappings", mount.get("uidMappings"))
    gid_maps = _id_maps(f"{where}.gidMappings", mount.get("gidMappings"))
    flags = EXT_IDMAP | (EXT_IDMAP_REC if o.ridmap else 0)
    if uid_maps or gid_maps:
        if not (uid_maps and gid_maps):
            raise ValueError(f"{where}: an idmapped mount needs both uidMappings and "
                             "gidMappings")
        return _ext(o, flags, uid_maps, gid_maps)
    if "user" not in ctx.namespaces:
        raise ValueError(f"{where}.options: idmap needs the mount's uidMappings and gidMappings "
                         "or a user namespace")
    path = ctx.namespaces["user"]
    if path:
        return _ext(o, flags, userns_path=path)
    linux = ctx.config.get("linux") or {}
    uid_maps = _id_maps("linux.uidMappings", linux.get("uidMappings"))
    gid_maps = _id_maps("linux.gidMappings", linux.get("gidMappings"))
    if not (uid_maps and gid_maps):
        raise ValueError(f"{where}.options: idmap needs linux.uidMappings and linux.gidMappings")
    return _ext(o, flags, uid_maps, gid_maps)


def host_cgroup_hierarchies() -> list[tuple[str, str, str]]:
    """(mount point, name in /proc/self/cgroup, fstype) of each of the host's cgroup
    hierarchies: the name is the controller list ("cpu,cpuacct", "name=systemd"), or ""
    for cgroup2."""
    own = []
    with open("/proc/self/cgroup") as f:
        for line in f:
            parts = line.rstrip("\n").split(":", 2)
            if len(parts) == 3 and parts[1]:
                own.append(parts[1])
    found: dict[str, tuple[str, str, str]] = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            fields = post.split()
            if len(fields) < 3 or fields[0] not in ("cgroup", "cgroup2"):
                continue
            root, mountpoint = pre.split()[3:5]
            mountpoint = mountpoint.replace("\\040", " ")
            if root != "/":
                continue  # a bind of a sub-cgroup, not a hierarchy's root
            if fields[0] == "cgroup2":
                found.setdefault("", (mountpoint, "", "cgroup2"))
                continue
            opts = set(fields[2].split(","))
            name = next((n for n in own if set(n.split(",")) <= opts), None)
            if name is not None:
                found.setdefault(name, (mountpoint, name, "cgroup"))
    return sorted(found.values())


def _cgroup_records(ctx: _Context, where: str, dest: str, o: MountOptions) -> list[Record]:
    cgroupns = "cgroup" in ctx.namespaces
    hierarchies = ctx.cgroup_hierarchies()
    data = ",".join(o.data)
    if not hierarchies or [h[2] for h in hierarchies] == ["cgroup2"]:
        # cgroup v2 only: mount it; where the kernel refuses (a user namespace without a
        # cgroup namespace) bind the host's, as runc
        host = hierarchies[0][0] if hierarchies else "/sys/fs/cgroup"
        ext = _ext(o, EXT_CGROUP_FALLBACK | (EXT_OWN_CGROUP if cgroupns else 0), fallback=host)
        return [_record(o.flags, KIND_FS, "cgroup2", dest, "cgroup2", data, ext)]
    # v1 and hybrid, as runc: a tmpfs holding one mount per hierarchy, own cgroups bound in
    # (or, in a cgroup namespace, the hierarchies mounted), symlinks for co-mounted ones
    ro = o.flags & MS_RDONLY
    records = [_record(CGROUP_V1_FLAGS | ro, KIND_FS, "tmpfs", dest, "tmpfs", "mode=755",
                       _ext(MountOptions(propagation=o.propagation),
                            EXT_DELAY_RO if ro else 0))]
    for mountpoint, name, fstype in hierarchies:
        base = os.path.basename(mountpoint)
        sub = f"{dest}/{base}"
        if cgroupns:
            # (a v1 hierarchy cannot be mounted from a user namespace: then our own cgroup
            # of the host's is bound, which is what the cgroup namespace would show)
            records.append(_record(CGROUP_V1_FLAGS | ro, KIND_FS, "cgroup", sub, fstype,
                                   name if fstype == "cgroup" else "",
                                   _ext(MountOptions(), EXT_CGROUP_FALLBACK | EXT_OWN_CGROUP,
                                        fallback=mountpoint)))
        else:
            bind = MountOptions(flags=MS_BIND | MS_REC | o.flags, clear=o.clear,
                                propagation=o.propagation)
            records.append(_record(bind.flags, KIND_BIND, mountpoint, sub, name,
                                   "", _ext(bind, EXT_OWN_CGROUP)))
        if "," in base:
            for part in base.split(","):
                records.append(_record(0, KIND_SYMLINK, base, f"{dest}/{part}", "", "",
                                       _ext(MountOptions())))
    return records


def _mount_records(ctx: _Context, i: int, mount: dict[str, Any]) -> list[Record]:
    where = f"mounts[{i}]"
    if not isinstance(mount, dict):
        raise ValueError(f"{where}: must be an object")
    dest = _clean_dest(where, mount.get("destination"))
    fstype = mount.get("type") or ""
    source = mount.get("source") or ""
    if "\0" in fstype or "\0" in source:
        raise ValueError(f"{where}: type and source must not contain NUL bytes")
    o = parse_options(mount.get("options") or [], where)
    data = ",".join(o.data)
    idmapped = o.idmap or "uidMappings" in mount or "gidMappings" in mount
    if fstype == "bind" or o.flags & MS_BIND:
        if not source:
            raise ValueError(f"{where}.source: a bind mount needs a source")
        # filesystem options (mode=, size=) mean nothing to a bind mount: the kernel ignores
        # them, and so do runc and pyrunc (runtime-tools' mounts test sends such a config)
        source = os.path.normpath(os.path.join(ctx.bundle, source))
        flags = o.flags | MS_BIND
        ext = _idmap_ext(ctx, where, mount, o) if idmapped else _ext(o)
        return [_record(flags, KIND_BIND, source, dest, "", "", ext)]
    if idmapped:
        raise ValueError(f"{where}.options: idmapped mounts are only supported for bind mounts")
    if fstype == "cgroup":
        return _cgroup_records(ctx, where, dest, o)
    if not fstype:
        raise ValueError(f"{where}.type: required for a mount that is not a bind mount")
    ext_flags = EXT_DELAY_RO if fstype == "tmpfs" or dest == "/dev" else 0
    if o.copyup and fstype != "tmpfs":
        raise ValueError(f"{where}.options: tmpcopyup is only for tmpfs mounts")
    return [_record(o.flags, KIND_FS, source, dest, fstype, data, _ext(o, ext_flags))]


def _sysctl_name(key: str) -> str:
    """runc's convertSysctlVariableToDotsSeparator: "net/ipv4/conf/eth0.100/forwarding"
    becomes "net.ipv4.conf.eth0/100.forwarding" (the C side swaps them back for the path)."""
    first = next((c for c in key if c in "./"), ".")
    if first == ".":
        return key
    return key.translate(str.maketrans("./", "/."))


def _is_host_netns(path: str) -> bool:
    try:
        a, b = os.stat("/proc/self/ns/net"), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _sysctl_records(ctx: _Context) -> list[Record]:
    records: list[Record] = []
    sysctl = (ctx.config.get("linux") or {}).get("sysctl") or {}
    ns = ctx.namespaces
    for key, value in sysctl.items():
        name = _sysctl_name(str(key))
        # the file's path components: each "/" inside a dotted component is a "."
        components = [p.replace("/", ".") for p in name.split(".")]
        if "\0" in name or any(c in ("", ".", "..") for c in components):
            raise ValueError(f'linux.sysctl: "{key}" is not a valid sysctl name')
        if name in IPC_SYSCTLS or name.startswith("fs.mqueue."):
            if "ipc" not in ns:
                raise ValueError(f'linux.sysctl: "{key}" needs an ipc namespace')
        elif name.startswith("net."):
            if "network" not in ns or (ns["network"] and _is_host_netns(str(ns["network"]))):
                raise ValueError(f'linux.sysctl: "{key}" needs a network namespace '
                                 "(not the host's)")
        elif name == "kernel.domainname" and "uts" in ns:
            pass
        elif name == "kernel.hostname" and "uts" in ns:
            raise ValueError(f'linux.sysctl: "{key}" conflicts with the "hostname" field')
        elif name.startswith("user.") and "user" in ns:
            pass
        else:
            raise ValueError(f'linux.sysctl: "{key}" is not namespaced: cannot be set in a '
                             "container")
        if "\0" in str(value):
            raise ValueError(f'linux.sysctl: "{key}": the value must not contain NUL bytes')
        records.append((T_SYSCTL, s(name, str(value))))
    return records


def _paths(config: dict[str, Any], key: str, tag: int) -> list[Record]:
    records: list[Record] = []
    for i, path in enumerate((config.get("linux") or {}).get(key) or []):
        if not isinstance(path, str) or not path.startswith("/") or "\0" in path:
            raise ValueError(f"linux.{key}[{i}]: must be an absolute path, got {path!r}")
        if ".." in path.split("/"):
            raise ValueError(f'linux.{key}[{i}]: must not contain ".." (got "{path}")')
        records.append((tag, s(path)))
    return records


def _is_bind(mount: dict[str, Any]) -> bool:
    options = mount.get("options") or []
    return mount.get("type") == "bind" or "bind" in options or "rbind" in options


def namespace_types(config: dict[str, Any]) -> dict[str, str | None]:
    """type -> path (None: a new namespace)."""
    return {ns["type"]: ns.get("path") or None
            for ns in (config.get("linux") or {}).get("namespaces") or []}


def rootfs_records(config: dict[str, Any], bundle: str, *, no_pivot: bool) -> list[Record]:
    """Everything native/init/rootfs.c needs, from config.json (raises ValueError naming the
    field that cannot work)."""
    ctx = _Context(config, bundle, namespace_types(config))
    root = config.get("root") or {}
    if not root.get("path"):
        raise ValueError("root.path: required")
    rootfs = os.path.realpath(os.path.join(bundle, root["path"]))
    if not os.path.isdir(rootfs):
        raise ValueError(f"root.path: {rootfs} is not a directory")
    found: list[Record] = [(T_ROOTFS, s(rootfs))]
    linux = config.get("linux") or {}
    propagation = linux.get("rootfsPropagation")
    if propagation:
        if propagation not in PROPAGATION:
            raise ValueError(f'linux.rootfsPropagation: unknown propagation "{propagation}"')
        if no_pivot and PROPAGATION[propagation] & MS_PRIVATE:
            raise ValueError(f'linux.rootfsPropagation: "{propagation}" is not safe without '
                             "pivot_root (--no-pivot)")
        found.append((T_ROOTFS_PROPAGATION, u32(PROPAGATION[propagation])))
    mounts = config.get("mounts") or []
    for i, mount in enumerate(mounts):
        found += _mount_records(ctx, i, mount)
    # as runc: no device nodes nor /dev symlinks when /dev itself comes from the host
    dev_from_host = any(isinstance(m, dict) and _is_bind(m) and
                        [p for p in str(m.get("destination")).split("/") if p not in ("", ".")]
                        == ["dev"] for m in mounts)
    if not dev_from_host:
        found += device_records(config)
    found.append(flag(T_DEFAULT_DEVICES, not dev_from_host))
    found.append(flag(T_BIND_DEVICES, "user" in ctx.namespaces))
    found += _paths(config, "maskedPaths", T_MASKED_PATH)
    found += _paths(config, "readonlyPaths", T_READONLY_PATH)
    found += _sysctl_records(ctx)
    found.append(flag(T_ROOT_READONLY, bool(root.get("readonly"))))
    found.append(flag(T_NO_PIVOT, no_pivot))
    return found
