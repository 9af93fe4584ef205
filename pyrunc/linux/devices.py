"""Device nodes for the container's /dev: the default ones and ``linux.devices``.

Encoded as T_DEVICE records for native/init/devices.c, which makes them with mknod, or
bind-mounts the host's nodes when the container has a user namespace (where mknod is not
allowed), as runc does.
"""

from __future__ import annotations

from pyrunc.linux.plan import T_DEVICE, s, u32

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

    from pyrunc.linux.plan import Record

S_IFCHR, S_IFBLK, S_IFIFO, S_IFMT = 0o020000, 0o060000, 0o010000, 0o170000
DEVICE_TYPES = {"c": S_IFCHR, "u": S_IFCHR, "b": S_IFBLK, "p": S_IFIFO}

# what runc gives every container (libcontainer/specconv AllowedDevices with a path)
DEFAULT_DEVICES = [("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7),
                   ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0)]


def _device_path(i: int, path: Any) -> str:
    where = f"linux.devices[{i}].path"
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"{where}: must be an absolute path, got {path!r}")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts or "\0" in path:
        raise ValueError(f'{where}: must not contain ".." (got "{path}")')
    if not parts:
        raise ValueError(f'{where}: "{path}" is not a file')
    return "/" + "/".join(parts)


def _number(i: int, dev: dict[str, Any], key: str, default: int, limit: int) -> int:
    value = dev.get(key, default)
    if value is None:
        value = default
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limit:
        raise ValueError(f"linux.devices[{i}].{key}: must be an integer from 0 to {limit}, "
                         f"got {value!r}")
    return value


def device_records(config: dict[str, Any]) -> list[Record]:
    """The default devices, then ``linux.devices`` (which override defaults on the same
    path). The caller leaves these out when /dev is bind-mounted from the host."""
    devices = (config.get("linux") or {}).get("devices") or []
    records: list[Record] = []
    configured: set[str] = set()
    for i, dev in enumerate(devices):
        kind = dev.get("type")
        if kind not in DEVICE_TYPES:
            raise ValueError(f'linux.devices[{i}].type: unknown device type "{kind}" '
                             "(c, b, u or p)")
        path = _device_path(i, dev.get("path"))
        if kind != "p" and ("major" not in dev or "minor" not in dev):
            raise ValueError(f"linux.devices[{i}]: major and minor are required for type {kind}")
        major = _number(i, dev, "major", 0, 0xFFFFFFFF)
        minor = _number(i, dev, "minor", 0, 0xFFFFFFFF)
        # podman passes the host node's st_mode, file type bits included: runc drops them
        mode = _number(i, dev, "fileMode", 0o666, 0xFFFFFFFF) & ~S_IFMT
        if mode > 0o7777:
            raise ValueError(f"linux.devices[{i}].fileMode: {dev['fileMode']} has bits beyond "
                             "the permission bits (0 to 4095) and the file type")
        uid = _number(i, dev, "uid", 0, 0xFFFFFFFF)
        gid = _number(i, dev, "gid", 0, 0xFFFFFFFF)
        configured.add(path)
        records.append((T_DEVICE, u32(DEVICE_TYPES[kind] | mode, major, minor, uid, gid)
                        + s(path)))
    defaults: list[Record] = [
        (T_DEVICE, u32(S_IFCHR | 0o666, major, minor, 0, 0) + s(path))
        for path, major, minor in DEFAULT_DEVICES if path not in configured]
    return defaults + records
