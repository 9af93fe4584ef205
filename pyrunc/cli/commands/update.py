"""pyrunc update: change a running container's resource limits.

Either ``--resources FILE`` (``-`` for stdin: a LinuxResources JSON object, as in config.json's
linux.resources) or runc's single-value flags; like runc, the file wins when both are given.
"""

from __future__ import annotations

import re
import sys

from pyrunc import jsonio
from pyrunc.errors import PyruncError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

    from pyrunc.cli.invoke import GlobalOptions

# flag -> (section, key) in linux.resources
FLAG_FIELDS = {
    "blkio_weight": ("blockIO", "weight"),
    "cpu_period": ("cpu", "period"),
    "cpu_quota": ("cpu", "quota"),
    "cpu_burst": ("cpu", "burst"),
    "cpu_share": ("cpu", "shares"),
    "cpu_rt_period": ("cpu", "realtimePeriod"),
    "cpu_rt_runtime": ("cpu", "realtimeRuntime"),
    "cpuset_cpus": ("cpu", "cpus"),
    "cpuset_mems": ("cpu", "mems"),
    "memory": ("memory", "limit"),
    "memory_reservation": ("memory", "reservation"),
    "memory_swap": ("memory", "swap"),
    "pids_limit": ("pids", "limit"),
}
MEMORY_FLAGS = {"memory", "memory_reservation", "memory_swap"}
UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def main(opts: GlobalOptions, container_id: str, resources: str | None, **flags: Any) -> int:
    from pyrunc import lifecycle

    wanted = read_resources(resources) if resources else resources_from_flags(flags)
    lifecycle.update(opts, container_id, wanted)
    return 0


def read_resources(source: str) -> dict[str, Any]:
    try:
        if source == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(source, "rb") as f:
                data = f.read()
        doc = jsonio.loads(data)  # deep nesting: ValueError, not RecursionError
    except OSError as err:
        raise PyruncError(f"--resources {source}: {err.strerror}") from None
    except ValueError as err:
        raise PyruncError(f"--resources {source}: invalid JSON: {err}") from None
    from pyrunc.config.validate import problems

    # the schema of config.json's linux.resources: one definition of valid resources
    found = problems({"ociVersion": "1.0.0", "linux": {"resources": doc}})
    if found:
        raise PyruncError(f"--resources {source}: {found[0]}")
    resources: dict[str, Any] = doc
    return resources


def resources_from_flags(flags: dict[str, Any]) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    for name, value in flags.items():
        if value is None or name not in FLAG_FIELDS:
            continue
        if name in MEMORY_FLAGS:
            value = ram_in_bytes(f"--{name.replace('_', '-')}", str(value))
        section, key = FLAG_FIELDS[name]
        resources.setdefault(section, {})[key] = value
    if not resources:
        raise PyruncError("update: nothing to update: give --resources or a resource flag")
    return resources


def ram_in_bytes(flag: str, text: str) -> int:
    """runc's (go-units') RAMInBytes: 512, 512k, 1.5g, 10MB, 10MiB; -1 is unlimited."""
    if text.strip() == "-1":
        return -1
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgtpb]?)(?:i?b)?\s*", text, re.IGNORECASE)
    if not match:
        raise PyruncError(f'{flag}: invalid size "{text}"')
    return int(float(match.group(1)) * UNITS[match.group(2).lower()])
