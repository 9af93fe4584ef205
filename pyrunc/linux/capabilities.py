"""Capability names to bit masks, for the five sets of process.capabilities."""

from __future__ import annotations

from pyrunc import log

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]
NUMBERS = {name: number for number, name in enumerate(CAPABILITIES)}
SETS = ("bounding", "effective", "permitted", "inheritable", "ambient")


def last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return len(CAPABILITIES) - 1


def masks(capabilities: dict[str, Any]) -> list[int]:
    """[bounding, effective, permitted, inheritable, ambient] as bit masks.

    An unknown name fails (runtime-tools expects it to); a known one this kernel lacks is
    skipped with a warning, as runc does.
    """
    kernel_last = last_cap()
    result = []
    for set_name in SETS:
        mask = 0
        for i, name in enumerate(capabilities.get(set_name) or []):
            number = NUMBERS.get(name)
            if number is None:
                raise ValueError(
                    f'process.capabilities.{set_name}[{i}]: unknown capability "{name}"')
            if number > kernel_last:
                log.warning(f"{name} is not supported by this kernel: ignored")
                continue
            mask |= 1 << number
        result.append(mask)
    return result
